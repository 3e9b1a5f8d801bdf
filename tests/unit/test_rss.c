/* test_rss.c - the RSS engine against the published vectors, the reference
 * against every fast implementation, the solver against brute force. */
#include "test.h"
#include "../../src/rss/rss.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* ---- published vectors (tests/data/rss-ms.txt, Microsoft's RSS verification suite) ---- */

struct vector {
	struct rss_tuple t;
	uint32_t hash4, hash2;
};

enum { MAX_VECTORS = 32 };

static const char *vectors_path(void)
{
	const char *env = getenv("RSSNAT_VECTORS");
	return env ? env : "tests/data/rss-ms.txt"; /* from the repository root */
}

/* Returns how many vectors were read, and the key from the file. */
static int load_vectors(struct vector *v, struct rss_key *key)
{
	FILE *f = fopen(vectors_path(), "r");
	char line[512];
	int n = 0;
	bool have_key = false;

	if (!CHECK(f != NULL))
		return 0;
	while (fgets(line, sizeof(line), f) && n < MAX_VECTORS) {
		char fam[8], src[64], dst[64];
		unsigned sport, dport, h4, h2;
		const char *why;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		if (!have_key) {
			CHECK(rss_key_parse(line, key, &why) == 0);
			have_key = true;
			continue;
		}
		if (!CHECK(sscanf(line, "%7s %63s %u %63s %u %x %x", fam, src, &sport, dst, &dport,
				  &h4, &h2) == 7))
			continue;
		memset(&v[n], 0, sizeof(v[n]));
		int af = strcmp(fam, "ipv6") ? AF_INET : AF_INET6;
		v[n].t.family = af == AF_INET ? 4 : 6;
		CHECK(inet_pton(af, src, v[n].t.src) == 1);
		CHECK(inet_pton(af, dst, v[n].t.dst) == 1);
		v[n].t.sport = (uint16_t)sport;
		v[n].t.dport = (uint16_t)dport;
		v[n].hash4 = h4;
		v[n].hash2 = h2;
		n++;
	}
	fclose(f);
	return n;
}

static void check_vector_all_impls(const struct rss_key *key, const struct vector *v,
				   unsigned fields, uint32_t want)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	uint8_t in[RSS_INPUT_MAX];
	size_t len = rss_input(&v->t, fields, in);

	CHECK_EQ(rss_hash_ref(key, in, len), want);
	rss_hasher_init(h, key, RSS_IMPL_TABLE);
	CHECK_EQ(rss_hash_table(h, in, len), want);
	CHECK_EQ(rss_hash_tuple(h, &v->t, fields), want);
	if (v->t.family == 4 && fields == RSS_F_4TUPLE)
		CHECK_EQ(rss_hash_v4(h, v->t.src, v->t.dst, v->t.sport, v->t.dport), want);
	if (rss_impl_available(RSS_IMPL_GFNI)) {
		CHECK_EQ(rss_hash_gfni(h, in, len), want);
		rss_hasher_init(h, key, -1);
		CHECK_EQ(rss_hash(h, in, len), want);
	}
	free(h);
}

TEST(rss_published_vectors_4tuple_and_2tuple_every_impl)
{
	struct vector v[MAX_VECTORS];
	struct rss_key key, ms;
	int n = load_vectors(v, &key);

	CHECK(n >= 8); /* 5 IPv4 + 3 IPv6 rows in the specification */
	rss_key_microsoft(&ms);
	CHECK(key.len == ms.len && !memcmp(key.bytes, ms.bytes, ms.len));
	for (int i = 0; i < n; i++) {
		check_vector_all_impls(&key, &v[i], RSS_F_4TUPLE, v[i].hash4);
		check_vector_all_impls(&key, &v[i], RSS_F_ADDRS, v[i].hash2);
	}
}

/* ---- fast == reference ---- */

static void random_key(struct rss_key *key)
{
	key->len =
	    (uint8_t)(RSS_KEY_LEN_MIN + test_rand() % (RSS_KEY_LEN_MAX - RSS_KEY_LEN_MIN + 1));
	for (unsigned i = 0; i < key->len; i++)
		key->bytes[i] = (uint8_t)test_rand();
}

static void random_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)test_rand();
}

/* 16 keys x 65536 inputs = 1,048,576 random inputs of one family. */
static void fast_equals_reference(size_t len)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	bool gfni = rss_impl_available(RSS_IMPL_GFNI);
	unsigned mismatches = 0;

	for (int k = 0; k < 16; k++) {
		struct rss_key key;
		k == 0	 ? rss_key_microsoft(&key)
		: k == 1 ? rss_key_symmetric(&key)
			 : random_key(&key);
		rss_hasher_init(h, &key, RSS_IMPL_TABLE);
		for (int i = 0; i < 65536; i++) {
			uint8_t in[RSS_INPUT_MAX];
			random_bytes(in, len);
			uint32_t want = rss_hash_ref(&key, in, len);
			mismatches += rss_hash_table(h, in, len) != want;
			if (gfni)
				mismatches += rss_hash_gfni(h, in, len) != want;
			if (len == 12)
				mismatches +=
				    rss_hash_v4(h, in, in + 4, (uint16_t)(in[8] << 8 | in[9]),
						(uint16_t)(in[10] << 8 | in[11])) != want;
		}
	}
	CHECK_EQ(mismatches, 0);
	free(h);
}

TEST(rss_fast_equals_reference_ipv4_2tuple_1m)
{
	fast_equals_reference(8);
}
TEST(rss_fast_equals_reference_ipv4_4tuple_1m)
{
	fast_equals_reference(12);
}
TEST(rss_fast_equals_reference_ipv6_2tuple_1m)
{
	fast_equals_reference(32);
}
TEST(rss_fast_equals_reference_ipv6_4tuple_1m)
{
	fast_equals_reference(36);
}

/* Every input length, including the ethtool subsets (sf = 6 bytes, sd = 8...). */
TEST(rss_fast_equals_reference_every_length)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	struct rss_key key;

	for (size_t len = 0; len <= RSS_INPUT_MAX; len++) {
		random_key(&key);
		rss_hasher_init(h, &key, -1);
		for (int i = 0; i < 2000; i++) {
			uint8_t in[RSS_INPUT_MAX];
			random_bytes(in, len);
			uint32_t want = rss_hash_ref(&key, in, len);
			CHECK_EQ(rss_hash(h, in, len), want);
			CHECK_EQ(rss_hash_table(h, in, len), want);
			if (rss_impl_available(RSS_IMPL_GFNI))
				CHECK_EQ(rss_hash_gfni(h, in, len), want);
		}
	}
	free(h);
}

TEST(rss_hash_is_linear_over_gf2)
{
	struct rss_key key;

	for (int i = 0; i < 10000; i++) {
		uint8_t a[RSS_INPUT_MAX], b[RSS_INPUT_MAX], x[RSS_INPUT_MAX];
		random_key(&key);
		random_bytes(a, sizeof(a));
		random_bytes(b, sizeof(b));
		for (size_t j = 0; j < sizeof(x); j++)
			x[j] = a[j] ^ b[j];
		CHECK_EQ(rss_hash_ref(&key, x, 36),
			 rss_hash_ref(&key, a, 36) ^ rss_hash_ref(&key, b, 36));
	}
}

static void random_tuple(struct rss_tuple *t, unsigned family)
{
	memset(t, 0, sizeof(*t));
	t->family = (uint8_t)family;
	random_bytes(t->src, family == 6 ? 16 : 4);
	random_bytes(t->dst, family == 6 ? 16 : 4);
	t->sport = (uint16_t)test_rand();
	t->dport = (uint16_t)test_rand();
}

TEST(rss_symmetric_key_hashes_both_directions_alike)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	struct rss_key key;

	rss_key_symmetric(&key);
	rss_hasher_init(h, &key, -1);
	for (int i = 0; i < 20000; i++) {
		struct rss_tuple t, r;
		random_tuple(&t, i % 2 ? 6 : 4);
		r = t;
		memcpy(r.src, t.dst, 16);
		memcpy(r.dst, t.src, 16);
		r.sport = t.dport;
		r.dport = t.sport;
		CHECK_EQ(rss_hash_tuple(h, &t, RSS_F_4TUPLE), rss_hash_tuple(h, &r, RSS_F_4TUPLE));
		CHECK_EQ(rss_hash_tuple(h, &t, RSS_F_ADDRS), rss_hash_tuple(h, &r, RSS_F_ADDRS));
	}
	free(h);
}

/* ---- input layout ---- */

TEST(rss_input_lays_out_fields_in_specification_order)
{
	struct rss_tuple t = {.family = 4,
			      .src = {1, 2, 3, 4},
			      .dst = {5, 6, 7, 8},
			      .sport = 0x0a0b,
			      .dport = 0x0c0d};
	uint8_t in[RSS_INPUT_MAX];
	static const uint8_t four[] = {1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d};
	static const uint8_t sf[] = {1, 2, 3, 4, 0x0a, 0x0b};
	static const uint8_t dn[] = {5, 6, 7, 8, 0x0c, 0x0d};

	CHECK(rss_input(&t, RSS_F_4TUPLE, in) == 12 && !memcmp(in, four, 12));
	CHECK(rss_input(&t, RSS_F_SRC_ADDR | RSS_F_SRC_PORT, in) == 6 && !memcmp(in, sf, 6));
	CHECK(rss_input(&t, RSS_F_DST_ADDR | RSS_F_DST_PORT, in) == 6 && !memcmp(in, dn, 6));
	t.family = 6;
	CHECK_EQ(rss_input(&t, RSS_F_4TUPLE, in), 36);
	CHECK_EQ(rss_input_port_offset(RSS_F_4TUPLE, 4, RSS_F_SRC_PORT), 8);
	CHECK_EQ(rss_input_port_offset(RSS_F_4TUPLE, 4, RSS_F_DST_PORT), 10);
	CHECK_EQ(rss_input_port_offset(RSS_F_4TUPLE, 6, RSS_F_DST_PORT), 34);
	CHECK_EQ(rss_input_port_offset(RSS_F_DST_ADDR | RSS_F_DST_PORT, 4, RSS_F_DST_PORT), 4);
	CHECK_EQ(rss_input_port_offset(RSS_F_ADDRS, 4, RSS_F_DST_PORT), -1);
}

TEST(rss_fields_parse_ethtool_letters)
{
	unsigned f = 0;
	char buf[8];

	CHECK(rss_fields_parse("sdfn", &f) == 0 && f == RSS_F_4TUPLE);
	CHECK(rss_fields_parse("nfds", &f) == 0 && f == RSS_F_4TUPLE);
	CHECK(rss_fields_parse("sf", &f) == 0 && f == (RSS_F_SRC_ADDR | RSS_F_SRC_PORT));
	CHECK(rss_fields_parse("2tuple", &f) == 0 && f == RSS_F_ADDRS);
	CHECK(rss_fields_parse("", &f) != 0);
	CHECK(rss_fields_parse("ss", &f) != 0);
	CHECK(rss_fields_parse("sx", &f) != 0);
	rss_fields_format(RSS_F_DST_ADDR | RSS_F_DST_PORT, buf, sizeof(buf));
	CHECK(!strcmp(buf, "dn"));
}

/* ---- keys ---- */

TEST(rss_key_parse_names_hex_and_errors)
{
	struct rss_key k;
	const char *why = NULL;
	char hex[2 * RSS_KEY_LEN_MAX + 8], colon[3 * RSS_KEY_LEN_MAX + 1] = "";

	CHECK(rss_key_parse("microsoft", &k, &why) == 0 && !strcmp(rss_key_name(&k), "microsoft"));
	CHECK(rss_key_parse("symmetric", &k, &why) == 0 && !strcmp(rss_key_name(&k), "symmetric"));
	rss_key_format(&k, hex, sizeof(hex));
	CHECK(!strncmp(hex, "6d5a6d5a", 8) && strlen(hex) == 80);
	rss_key_microsoft(&k);
	for (unsigned i = 0; i < k.len; i++)
		snprintf(colon + strlen(colon), 4, "%s%02X", i ? ":" : "", k.bytes[i]);
	struct rss_key parsed;
	CHECK(rss_key_parse(colon, &parsed, &why) == 0 && parsed.len == 40 &&
	      !memcmp(parsed.bytes, k.bytes, 40));
	memset(hex, 'a', 104);
	hex[104] = '\0';
	CHECK(rss_key_parse(hex, &parsed, &why) == 0 && parsed.len == 52);
	memset(hex, 'a', 106);
	hex[106] = '\0';
	CHECK(rss_key_parse(hex, &parsed, &why) != 0); /* 53 bytes */
	hex[79] = '\0';
	CHECK(rss_key_parse(hex, &parsed, &why) != 0 && strstr(why, "odd"));
	hex[78] = '\0';
	CHECK(rss_key_parse(hex, &parsed, &why) != 0 && strstr(why, "shorter"));
	CHECK(rss_key_parse("6d5g", &parsed, &why) != 0);
	CHECK(rss_key_parse("6d::5a", &parsed, &why) != 0);
	CHECK(rss_key_parse(":6d", &parsed, &why) != 0);
}

/* ---- indirection table ---- */

TEST(rss_table_round_robin_and_weights)
{
	uint16_t t[RSS_TABLE_MAX];
	unsigned w[3] = {3, 1, 0};

	CHECK(rss_table_fill(t, 128, 4, NULL) == 0);
	for (unsigned i = 0; i < 128; i++)
		CHECK_EQ(t[i], i % 4);
	CHECK(rss_table_fill(t, 128, 3, w) == 0);
	unsigned count[3] = {0};
	for (unsigned i = 0; i < 128; i++)
		count[t[i]]++;
	CHECK_EQ(count[0], 96);
	CHECK_EQ(count[1], 32);
	CHECK_EQ(count[2], 0);
	/* interleaved: every 4 consecutive entries hold 3 of queue 0, 1 of queue 1 */
	for (unsigned i = 0; i < 128; i += 4)
		CHECK_EQ((t[i] == 0) + (t[i + 1] == 0) + (t[i + 2] == 0) + (t[i + 3] == 0), 3);
	CHECK(rss_table_fill(t, 1, 1, NULL) == 0 && t[0] == 0);
	CHECK(rss_table_fill(t, 512, 64, NULL) == 0 && t[511] == 63);
	CHECK(rss_table_fill(t, 100, 2, NULL) != 0);
	CHECK(rss_table_fill(t, 1024, 2, NULL) != 0);
	CHECK(rss_table_fill(t, 0, 2, NULL) != 0);
	CHECK(rss_table_fill(t, 128, 0, NULL) != 0);
	CHECK(rss_table_fill(t, 128, 65, NULL) != 0);
	unsigned zero[2] = {0, 0};
	CHECK(rss_table_fill(t, 128, 2, zero) != 0);
}

TEST(rss_table_weights_exact_for_random_weights)
{
	uint16_t t[RSS_TABLE_MAX];

	for (int round = 0; round < 500; round++) {
		unsigned queues = 1 + (unsigned)(test_rand() % 16), w[16], total = 0;
		unsigned size = 1u << (test_rand() % 10), count[16] = {0};
		for (unsigned q = 0; q < queues; q++)
			total += w[q] = (unsigned)(test_rand() % 10);
		if (!total)
			w[0] = total = 1;
		CHECK(rss_table_fill(t, size, queues, w) == 0);
		for (unsigned i = 0; i < size; i++)
			count[t[i]]++;
		/* largest remainder: each count within one of the exact share */
		for (unsigned q = 0; q < queues; q++) {
			double share = (double)size * w[q] / total;
			CHECK(count[q] + 1 > share && count[q] < share + 1);
		}
	}
}

/* ---- snapshot ---- */

TEST(rss_snapshot_disabled_puts_every_bucket_on_queue_0)
{
	struct rss_config cfg;
	struct rss_snapshot *s = NULL;
	const char *why = NULL;

	rss_config_default(&cfg, 4);
	CHECK(rss_snapshot_create(&cfg, 7, &s, &why) == 0);
	CHECK_EQ(s->version, 7);
	CHECK_EQ(s->bucket_mask, 127);
	CHECK_EQ(rss_queue(s, 0x51ccc178), 120 % 4);
	rss_snapshot_destroy(s);
	cfg.enabled = false;
	CHECK(rss_snapshot_create(&cfg, 8, &s, &why) == 0);
	for (unsigned b = 0; b < 128; b++)
		CHECK_EQ(s->table[b], 0);
	rss_snapshot_destroy(s);
}

TEST(rss_config_check_rejects_each_bad_setting)
{
	struct rss_config cfg;
	struct rss_snapshot *s = NULL;
	const char *why = NULL;

	rss_config_default(&cfg, 2);
	cfg.table_size = 96;
	CHECK(rss_snapshot_create(&cfg, 1, &s, &why) != 0 && strstr(why, "power of two"));
	rss_config_default(&cfg, 0);
	CHECK(rss_config_check(&cfg, &why) != 0 && strstr(why, "queues"));
	rss_config_default(&cfg, 2);
	cfg.weights[3] = 1;
	CHECK(rss_config_check(&cfg, &why) != 0 && strstr(why, "beyond"));
	rss_config_default(&cfg, 2);
	cfg.fields_wan = 0;
	CHECK(rss_config_check(&cfg, &why) != 0 && strstr(why, "field"));
	rss_config_default(&cfg, 2);
	cfg.key.len = 16;
	CHECK(rss_config_check(&cfg, &why) != 0 && strstr(why, "key"));
	CHECK(s == NULL);
}

/* ---- solver ---- */

/* The solver's set must equal the brute-force set over all 65536 ports. */
static void check_solver_case(const struct rss_hasher *h, const struct rss_tuple *t0,
			      unsigned fields, unsigned which, unsigned table_size, unsigned bucket)
{
	struct rss_port_set set;
	uint8_t in[RSS_INPUT_MAX];
	static uint8_t in_set[65536];
	struct rss_tuple t = *t0;
	size_t len = rss_input(&t, fields, in);
	int off = rss_input_port_offset(fields, t.family, which);
	unsigned bits = rss_log2(table_size), brute = 0, agree = 0;

	rss_solve_port(h, in, len, (size_t)off, bits, bucket, &set);
	memset(in_set, 0, sizeof(in_set));
	for (uint32_t i = 0; i < rss_port_set_count(&set); i++)
		in_set[rss_port_set_at(&set, i)]++;
	for (uint32_t port = 0; port < 65536; port++) {
		if (which == RSS_F_SRC_PORT)
			t.sport = (uint16_t)port;
		else
			t.dport = (uint16_t)port;
		bool lands = (rss_hash_tuple(h, &t, fields) & (table_size - 1)) == bucket;
		brute += lands;
		agree += lands == (in_set[port] == 1);
	}
	CHECK_EQ(rss_port_set_count(&set), brute);
	CHECK_EQ(agree, 65536);
}

TEST(rss_solver_equals_brute_force_random_keys_tuples_tables)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	static const unsigned field_sets[][2] = {
	    {RSS_F_4TUPLE, RSS_F_DST_PORT},
	    {RSS_F_4TUPLE, RSS_F_SRC_PORT},
	    {RSS_F_DST_ADDR | RSS_F_DST_PORT, RSS_F_DST_PORT}, /* WAN side, endpoint */
	    {RSS_F_SRC_ADDR | RSS_F_SRC_PORT, RSS_F_SRC_PORT}, /* LAN side, endpoint */
	    {RSS_F_DST_PORT, RSS_F_DST_PORT},
	};

	for (int c = 0; c < 300; c++) {
		struct rss_key key;
		struct rss_tuple t;
		c % 10 == 0   ? rss_key_symmetric(&key)
		: c % 10 == 1 ? rss_key_microsoft(&key)
			      : random_key(&key);
		rss_hasher_init(h, &key, -1);
		random_tuple(&t, c % 3 ? 4 : 6);
		unsigned size = 1u << (test_rand() % 10);
		const unsigned *fs = field_sets[test_rand() % 5];
		check_solver_case(h, &t, fs[0], fs[1], size, (unsigned)(test_rand() % size));
	}
	free(h);
}

/* With the symmetric key the port's contribution has rank 16 at most but
 * repeats every 16 bits; check every bucket of a 512-entry table, where the
 * solver must also say "no port" exactly when brute force finds none. */
TEST(rss_solver_symmetric_key_every_bucket)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	struct rss_key key;
	struct rss_tuple t;

	rss_key_symmetric(&key);
	rss_hasher_init(h, &key, -1);
	random_tuple(&t, 4);
	for (unsigned b = 0; b < 512; b += 7)
		check_solver_case(h, &t, RSS_F_4TUPLE, RSS_F_DST_PORT, 512, b);
	free(h);
}

/* A low-rank key: only zero bits where the port sits, so no port moves the
 * bucket; all buckets but one must be unreachable. */
TEST(rss_solver_reports_unreachable_buckets)
{
	struct rss_hasher *h = malloc(sizeof(*h));
	struct rss_key key = {.len = 40};
	struct rss_tuple t;
	struct rss_port_set set;
	uint8_t in[RSS_INPUT_MAX];
	unsigned reachable = 0;

	key.bytes[0] = 0x80; /* only the first address bits hash at all */
	rss_hasher_init(h, &key, -1);
	random_tuple(&t, 4);
	size_t len = rss_input(&t, RSS_F_4TUPLE, in);
	for (unsigned b = 0; b < 128; b++) {
		rss_solve_port(h, in, len, 10, 7, b, &set);
		reachable += !set.empty;
		if (!set.empty)
			CHECK_EQ(rss_port_set_count(&set), 65536);
	}
	CHECK_EQ(reachable, 1);
	free(h);
}
