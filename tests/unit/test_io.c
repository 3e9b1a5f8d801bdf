/* test_io.c - io_rss_from_device(): the engine follows a NIC's own RSS.
 * No NIC here can be read back (veth has no RSS), so the conversion is
 * tested alone: a snapshot built from a device's key and table must give
 * every packet the queue the device's table gives its hash. */
#include "test.h"
#include "../../src/io/io.h"
#include "../../src/rss/rss.h"

#include <errno.h>
#include <string.h>

static void device(uint8_t key[52], unsigned key_len, uint32_t *indir, unsigned size,
		   unsigned queues)
{
	for (unsigned i = 0; i < key_len; i++)
		key[i] = (uint8_t)test_rand();
	for (unsigned b = 0; b < size; b++)
		indir[b] = (uint32_t)(test_rand() % queues);
}

TEST(io_engine_follows_a_explicit_table_and_key)
{
	static const unsigned sizes[] = {64, 128, 512};
	struct rss_config base, cfg;
	struct rss_snapshot *snap;
	uint32_t indir[512];
	uint8_t key[52];
	const char *why = "";

	rss_config_default(&base, 4);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned key_len = s == 2 ? 52 : 40; /* i40e's key is 52 bytes */
		device(key, key_len, indir, sizes[s], 4);
		CHECK_EQ(
		    io_rss_from_device(&base, true, key, key_len, indir, sizes[s], 4, &cfg, &why),
		    0);
		CHECK(cfg.explicit_table && cfg.table_size == sizes[s] && cfg.key.len == key_len);
		if (!CHECK_EQ(rss_snapshot_create(&cfg, 1, &snap, &why), 0))
			continue;
		for (unsigned i = 0; i < 2000; i++) {
			struct rss_tuple t = {.family = 4,
					      .sport = (uint16_t)test_rand(),
					      .dport = (uint16_t)test_rand()};
			uint32_t a = (uint32_t)test_rand(), b = (uint32_t)test_rand();
			memcpy(t.src, &a, 4);
			memcpy(t.dst, &b, 4);
			uint8_t in[RSS_INPUT_MAX];
			size_t n = rss_input(&t, RSS_F_4TUPLE, in);
			uint32_t h = rss_hash_ref(&cfg.key, in, n); /* what the NIC computes */
			CHECK_EQ(rss_queue(snap, h), indir[h & (sizes[s] - 1)]);
		}
		rss_snapshot_destroy(snap);
	}
}

TEST(io_engine_refuses_what_it_cannot_follow)
{
	struct rss_config base, cfg;
	uint32_t indir[512] = {0};
	uint8_t key[52] = {0};
	const char *why = "";

	rss_config_default(&base, 2);
	CHECK_EQ(io_rss_from_device(&base, false, key, 40, indir, 128, 2, &cfg, &why), -EINVAL);
	CHECK(strstr(why, "Toeplitz") != NULL);
	CHECK_EQ(io_rss_from_device(&base, true, key, 16, indir, 128, 2, &cfg, &why), -EINVAL);
	CHECK_EQ(io_rss_from_device(&base, true, key, 40, indir, 100, 2, &cfg, &why), -EINVAL);
	CHECK_EQ(io_rss_from_device(&base, true, key, 40, indir, 1024, 2, &cfg, &why), -EINVAL);
	indir[7] = 2; /* a queue the port does not read */
	CHECK_EQ(io_rss_from_device(&base, true, key, 40, indir, 128, 2, &cfg, &why), -EINVAL);
	CHECK(strstr(why, "queue") != NULL);
}
