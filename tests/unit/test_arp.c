/* test_arp.c - ARP: replies byte for byte, every parse reason, RFC 826's
 * merge rule, gratuitous ARP and probes, the neighbour state machine and its
 * timers, the bounded pending queue, the request rate limit. Time in ms. */
#include "test.h"
#include "../../src/pkt/pkt.h"
#include "../../src/router/arp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

enum {
	BUF = 2048,
	A = PKT_ETH_LEN, /* ARP header offset in an untagged frame */
	SEC = 1000,
};

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t alias_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

#define OUR_IP	 ip4(192, 168, 137, 1)
#define ALIAS_IP ip4(10, 9, 9, 1)
#define HOST_A	 ip4(192, 168, 137, 10)
#define HOST_B	 ip4(192, 168, 137, 11)

static struct arp_cache *cache_with(uint32_t capacity, uint32_t pending)
{
	struct arp_config cfg;
	struct arp_cache *c = NULL;
	const char *why = NULL;

	arp_config_default(&cfg);
	cfg.capacity = capacity;
	cfg.pending_max = pending;
	cfg.frame_max = 256;
	cfg.seed = 0x1234;
	cfg.n_addrs = 2;
	cfg.addrs[0] = (struct arp_addr){.ip = OUR_IP, .prefix_len = 24};
	memcpy(cfg.addrs[0].mac, our_mac, 6);
	cfg.addrs[1] = (struct arp_addr){.ip = ALIAS_IP, .prefix_len = 24};
	memcpy(cfg.addrs[1].mac, alias_mac, 6);
	CHECK_EQ(arp_create(&cfg, &c, &why), 0);
	return c;
}

static struct arp_cache *cache(void)
{
	return cache_with(64, 16);
}

/* who-has @tpa tell @spa from @sha, broadcast. */
static size_t request(uint8_t *buf, const uint8_t *sha, uint32_t spa, uint32_t tpa)
{
	return arp_build_request(buf, BUF, 0, sha, spa, tpa, NULL);
}

static size_t reply(uint8_t *buf, const uint8_t *sha, uint32_t spa, const uint8_t *tha,
		    uint32_t tpa)
{
	return arp_build(buf, BUF, 0, ARP_OP_REPLY, tha, sha, spa, tha, tpa);
}

static enum arp_drop input(struct arp_cache *c, uint8_t *buf, size_t len, uint32_t now,
			   size_t *reply_len)
{
	return arp_input(c, buf, len, BUF, now, reply_len);
}

/* Learn @mac for @ip at @now through a request it sends us. */
static void learn(struct arp_cache *c, const uint8_t *mac, uint32_t ip, uint32_t now)
{
	uint8_t buf[BUF];
	size_t rl;

	CHECK_EQ(input(c, buf, request(buf, mac, ip, OUR_IP), now, &rl), ARP_OK);
	CHECK_EQ(rl, ARP_FRAME_MIN);
}

/* A small IPv4-looking frame to hold, tagged with @tag in its payload. */
static size_t frame(uint8_t *buf, uint8_t tag)
{
	memset(buf, 0, 64);
	memcpy(buf + PKT_ETH_SRC, our_mac, 6);
	buf[PKT_ETH_TYPE] = 0x08;
	buf[40] = tag;
	return 64;
}

/* ---- replies ---- */

TEST(arp_request_for_us_is_answered_byte_exact)
{
	static const uint8_t want[ARP_FRAME_MIN] = {
	    0x02, 0,	0,    0,    0, 0x0a, /* Ethernet dst: the requester */
	    0x02, 0,	0,    0,    0, 0x01, /* Ethernet src: us */
	    0x08, 0x06,			     /* ARP */
	    0x00, 0x01, 0x08, 0x00,	     /* Ethernet, IPv4 */
	    6,	  4,	0x00, 0x02,	     /* lengths, op reply */
	    0x02, 0,	0,    0,    0, 0x01, /* sha: us */
	    192,  168,	137,  1,	     /* spa: the address asked for */
	    0x02, 0,	0,    0,    0, 0x0a, /* tha: the requester */
	    192,  168,	137,  10,	     /* tpa: the requester */
	};				     /* and 18 bytes of zero padding */
	struct arp_cache *c = cache();
	uint8_t buf[BUF], mac[6];
	size_t len = request(buf, mac_a, HOST_A, OUR_IP), rl = 99;

	CHECK_EQ(len, ARP_FRAME_MIN);
	memset(buf + A + ARP_PKT_LEN, 0xee, ARP_FRAME_MIN - A - ARP_PKT_LEN); /* dirty padding */
	CHECK_EQ(input(c, buf, len, 0, &rl), ARP_OK);
	CHECK_EQ(rl, ARP_FRAME_MIN);
	CHECK(!memcmp(buf, want, sizeof(want)));
	/* RFC 826: the requester targeted us, so it is learned. */
	CHECK_EQ(arp_lookup(c, HOST_A, 0, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_a, 6));
	CHECK_EQ(arp_counters(c)->requests_answered, 1);
	CHECK_EQ(arp_counters(c)->learned, 1);
	arp_destroy(c);
}

TEST(arp_request_for_alias_answered_with_its_mac)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl;

	CHECK_EQ(input(c, buf, request(buf, mac_b, ip4(10, 9, 9, 7), ALIAS_IP), 0, &rl), ARP_OK);
	CHECK_EQ(rl, ARP_FRAME_MIN);
	CHECK(!memcmp(buf + PKT_ETH_SRC, alias_mac, 6));
	CHECK(!memcmp(buf + A + ARP_SHA, alias_mac, 6));
	CHECK(!memcmp(buf + A + ARP_SPA, (const uint8_t[]){10, 9, 9, 1}, 4));
	arp_destroy(c);
}

TEST(arp_request_with_vlan_tag_keeps_it)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t len = arp_build_request(buf, BUF, 0x0064, mac_a, HOST_A, OUR_IP, NULL), rl;
	struct arp_msg m;

	CHECK_EQ(input(c, buf, len, 0, &rl), ARP_OK);
	CHECK_EQ(rl, ARP_FRAME_MIN);
	CHECK_EQ(arp_parse(&m, buf, rl), ARP_OK);
	CHECK(m.vlan);
	CHECK_EQ(m.vlan_tci, 0x0064);
	CHECK_EQ(m.l3_off, 18);
	CHECK_EQ(m.op, ARP_OP_REPLY);
	CHECK(!memcmp(m.eth_dst, mac_a, 6));
	CHECK(!memcmp(m.tha, mac_a, 6));
	CHECK_EQ(m.tpa, HOST_A);
	CHECK_EQ(m.spa, OUR_IP);
	arp_destroy(c);
}

TEST(arp_unpadded_request_in_exact_buffer_gets_unpadded_reply)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl;

	request(buf, mac_a, HOST_A, OUR_IP);
	CHECK_EQ(arp_input(c, buf, 42, 42, 0, &rl), ARP_OK);
	CHECK_EQ(rl, 42);
	CHECK_EQ(buf[A + ARP_OP + 1], ARP_OP_REPLY);
	arp_destroy(c);
}

TEST(arp_request_not_for_us_is_ignored)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], copy[BUF];
	size_t len = request(buf, mac_a, HOST_A, HOST_B), rl = 99;

	memcpy(copy, buf, len);
	CHECK_EQ(input(c, buf, len, 0, &rl), ARP_DROP_NOT_FOR_US);
	CHECK_EQ(rl, 0);
	CHECK(!memcmp(buf, copy, len));
	/* RFC 826: not addressed to us, not known: not added. */
	CHECK_EQ(arp_lookup(c, HOST_A, 0, NULL), ARP_NONE);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_NOT_FOR_US], 1);
	arp_destroy(c);
}

TEST(arp_request_not_for_us_still_merges_a_known_sender)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], mac[6];
	size_t rl;

	/* (Past the lock time: a MAC heard lately is verified first, below.) */
	learn(c, mac_a, HOST_A, 0);
	CHECK_EQ(input(c, buf, request(buf, mac_b, HOST_A, HOST_B), 65 * SEC, &rl),
		 ARP_DROP_NOT_FOR_US);
	CHECK_EQ(arp_lookup(c, HOST_A, 65 * SEC, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_b, 6));
	CHECK_EQ(arp_counters(c)->mac_changed, 1);
	arp_destroy(c);
}

TEST(arp_probe_is_answered_but_not_learned)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl;
	struct arp_msg m;

	/* RFC 5227 2.1.1: sender 0.0.0.0, asking whether our address is used. */
	CHECK_EQ(input(c, buf, request(buf, mac_a, 0, OUR_IP), 0, &rl), ARP_OK);
	CHECK_EQ(arp_parse(&m, buf, rl), ARP_OK);
	CHECK_EQ(m.op, ARP_OP_REPLY);
	CHECK_EQ(m.tpa, 0);
	CHECK(!memcmp(m.eth_dst, mac_a, 6));
	CHECK_EQ(arp_counters(c)->probes_answered, 1);
	CHECK_EQ(arp_counters(c)->entries, 0);
	arp_destroy(c);
}

TEST(arp_reply_to_us_is_learned_and_not_answered)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl = 99;

	CHECK_EQ(input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 0, &rl), ARP_OK);
	CHECK_EQ(rl, 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 0, NULL), ARP_REACHABLE);
	arp_destroy(c);
}

TEST(arp_someone_claiming_our_address_is_a_conflict)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl;

	CHECK_EQ(input(c, buf, request(buf, mac_a, OUR_IP, HOST_B), 0, &rl), ARP_DROP_CONFLICT);
	CHECK_EQ(input(c, buf, request(buf, mac_a, OUR_IP, OUR_IP), 0, &rl), ARP_DROP_CONFLICT);
	CHECK_EQ(rl, 0);
	CHECK_EQ(input(c, buf, request(buf, our_mac, OUR_IP, HOST_A), 0, &rl), ARP_DROP_LOOPED);
	CHECK_EQ(arp_lookup(c, OUR_IP, 0, NULL), ARP_NONE);
	arp_destroy(c);
}

TEST(arp_unicast_to_another_mac_is_dropped)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl;

	arp_build_request(buf, BUF, 0, mac_a, HOST_A, OUR_IP, mac_b);
	CHECK_EQ(input(c, buf, ARP_FRAME_MIN, 0, &rl), ARP_DROP_ETH_DST);
	/* A unicast poll to our MAC is fine (RFC 1122 2.3.2.1). */
	arp_build_request(buf, BUF, 0, mac_a, HOST_A, OUR_IP, our_mac);
	CHECK_EQ(input(c, buf, ARP_FRAME_MIN, 0, &rl), ARP_OK);
	CHECK_EQ(rl, ARP_FRAME_MIN);
	arp_destroy(c);
}

/* ---- parsing ---- */

struct malformed {
	const char *what;
	size_t off; /* from the ARP header; SIZE_MAX: set nothing */
	uint8_t val[2];
	size_t n;
	size_t len;
	enum arp_drop want;
};

TEST(arp_parse_rejects_malformed_frames_with_their_reasons)
{
	static const struct malformed cases[] = {
	    {"ethernet short", SIZE_MAX, {0}, 0, 13, ARP_DROP_ETH_TRUNCATED},
	    {"arp short", SIZE_MAX, {0}, 0, 41, ARP_DROP_TRUNCATED},
	    {"htype 6", ARP_HTYPE, {0, 6}, 2, 60, ARP_DROP_HTYPE},
	    {"ptype ipv6", ARP_PTYPE, {0x86, 0xdd}, 2, 60, ARP_DROP_PTYPE},
	    {"hlen 8", ARP_HLEN, {8}, 1, 60, ARP_DROP_HLEN},
	    {"plen 16", ARP_PLEN, {16}, 1, 60, ARP_DROP_PLEN},
	    {"op 0", ARP_OP, {0, 0}, 2, 60, ARP_DROP_OP},
	    {"op rarp 3", ARP_OP, {0, 3}, 2, 60, ARP_DROP_OP},
	    {"sha broadcast", ARP_SHA, {0xff, 0xff}, 1, 60, ARP_DROP_BAD_SHA},
	    {"sha multicast", ARP_SHA, {0x01}, 1, 60, ARP_DROP_BAD_SHA},
	    {"spa multicast", ARP_SPA, {224}, 1, 60, ARP_DROP_BAD_SPA},
	    {"spa loopback", ARP_SPA, {127}, 1, 60, ARP_DROP_BAD_SPA},
	    {"spa class e", ARP_SPA, {250}, 1, 60, ARP_DROP_BAD_SPA},
	};
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	struct arp_msg m;
	size_t rl;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct malformed *t = &cases[i];

		request(buf, mac_a, HOST_A, OUR_IP);
		if (t->off != SIZE_MAX)
			memcpy(buf + A + t->off, t->val, t->n);
		if (!CHECK_EQ(arp_parse(&m, buf, t->len), t->want))
			printf("  case: %s\n", t->what);
		CHECK_EQ(input(c, buf, t->len, 0, &rl), t->want);
		CHECK_EQ(rl, 0);
		CHECK(arp_counters(c)->drop[t->want] >= 1);
	}
	CHECK_EQ(arp_counters(c)->entries, 0);
	arp_destroy(c);
}

TEST(arp_parse_rejects_zero_sha_vlan_truncation_other_ethertypes_and_reply_from_zero)
{
	uint8_t buf[BUF];
	struct arp_msg m;
	static const uint8_t zero[6];

	request(buf, zero, HOST_A, OUR_IP);
	CHECK_EQ(arp_parse(&m, buf, 60), ARP_DROP_BAD_SHA);
	reply(buf, mac_a, 0, our_mac, OUR_IP);
	CHECK_EQ(arp_parse(&m, buf, 60), ARP_DROP_BAD_SPA);
	request(buf, mac_a, HOST_A, OUR_IP);
	buf[PKT_ETH_TYPE + 1] = 0x00; /* 0x0800 */
	CHECK_EQ(arp_parse(&m, buf, 60), ARP_DROP_NOT_ARP);
	arp_build_request(buf, BUF, 7, mac_a, HOST_A, OUR_IP, NULL);
	CHECK_EQ(arp_parse(&m, buf, 17), ARP_DROP_VLAN_TRUNCATED);
	CHECK_EQ(arp_parse(&m, buf, 45), ARP_DROP_TRUNCATED);
	CHECK_EQ(arp_parse(&m, buf, 46), ARP_OK);
	CHECK_EQ(arp_parse(&m, buf, 0), ARP_DROP_ETH_TRUNCATED);
}

TEST(arp_drop_names_and_texts_cover_every_reason)
{
	CHECK(!strcmp(arp_drop_name(ARP_DROP_HTYPE), "HTYPE"));
	CHECK(!strcmp(arp_drop_name(ARP_DROP_QUEUE_FULL), "QUEUE_FULL"));
	for (int r = 0; r < ARP_DROP_COUNT; r++) {
		CHECK(arp_drop_name((enum arp_drop)r) != NULL);
		CHECK(strlen(arp_drop_text((enum arp_drop)r)) > 5);
	}
	CHECK(!strcmp(arp_drop_name(ARP_DROP_COUNT), "?"));
}

TEST(arp_create_rejects_bad_configs)
{
	struct arp_config cfg;
	struct arp_cache *c = NULL;
	const char *why = NULL;

	arp_config_default(&cfg);
	CHECK_EQ(arp_create(&cfg, &c, &why), -EINVAL); /* no address */
	CHECK(why != NULL);
	cfg.n_addrs = 1;
	cfg.addrs[0].ip = OUR_IP;
	memcpy(cfg.addrs[0].mac, bcast, 6);
	CHECK_EQ(arp_create(&cfg, &c, &why), -EINVAL);
	memcpy(cfg.addrs[0].mac, our_mac, 6);
	cfg.capacity = 0;
	CHECK_EQ(arp_create(&cfg, &c, &why), -EINVAL);
	cfg.capacity = 1;
	cfg.retry_ms = 0;
	CHECK_EQ(arp_create(&cfg, &c, &why), -EINVAL);
	cfg.retry_ms = 1000;
	CHECK_EQ(arp_create(&cfg, &c, &why), 0);
	arp_destroy(c);
}

/* ---- gratuitous ARP ---- */

TEST(arp_gratuitous_updates_a_known_entry_and_is_never_answered)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], mac[6];
	size_t rl = 99;

	learn(c, mac_a, HOST_A, 0);
	/* Announcement (RFC 5227 3): request with sender = target, new MAC,
	 * once the old one has been silent for the lock time. */
	CHECK_EQ(input(c, buf, request(buf, mac_b, HOST_A, HOST_A), 61 * SEC, &rl), ARP_OK);
	CHECK_EQ(rl, 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 61 * SEC, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_b, 6));
	/* The gratuitous reply form too. */
	CHECK_EQ(input(c, buf, reply(buf, mac_a, HOST_A, bcast, HOST_A), 122 * SEC, &rl), ARP_OK);
	CHECK_EQ(rl, 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 122 * SEC, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_a, 6));
	CHECK_EQ(arp_counters(c)->gratuitous, 2);
	CHECK_EQ(arp_counters(c)->mac_changed, 2);
	CHECK_EQ(arp_counters(c)->requests_answered, 1); /* only learn()'s */
	arp_destroy(c);
}

TEST(arp_gratuitous_for_unknown_host_adds_nothing)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	size_t rl = 99;

	CHECK_EQ(input(c, buf, request(buf, mac_b, HOST_B, HOST_B), 0, &rl), ARP_OK);
	CHECK_EQ(rl, 0);
	CHECK_EQ(arp_lookup(c, HOST_B, 0, NULL), ARP_NONE);
	CHECK_EQ(arp_counters(c)->entries, 0);
	arp_destroy(c);
}

/* ---- resolution, pending queue ---- */

TEST(arp_resolve_miss_queues_requests_and_releases_on_reply)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF], out[BUF], mac[6];
	struct arp_msg m;
	size_t rl, n;

	CHECK_EQ(arp_resolve(c, HOST_A, 0, f, frame(f, 1), mac), ARP_QUEUED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_lookup(c, HOST_A, 0, NULL), ARP_INCOMPLETE);
	/* The request: broadcast, from our address on A's subnet. */
	n = arp_request_for(c, HOST_A, buf, sizeof(buf));
	CHECK_EQ(n, ARP_FRAME_MIN);
	CHECK_EQ(arp_parse(&m, buf, n), ARP_OK);
	CHECK_EQ(m.op, ARP_OP_REQUEST);
	CHECK(!memcmp(m.eth_dst, bcast, 6));
	CHECK(!memcmp(m.eth_src, our_mac, 6));
	CHECK(!memcmp(m.sha, our_mac, 6));
	CHECK_EQ(m.spa, OUR_IP);
	CHECK_EQ(m.tpa, HOST_A);
	CHECK(!memcmp(m.tha, "\0\0\0\0\0\0", 6));
	/* Rate limit: more traffic within retry_ms asks for no request. */
	CHECK_EQ(arp_resolve(c, HOST_A, 100, f, frame(f, 2), mac), ARP_QUEUED);
	CHECK_EQ(arp_resolve(c, HOST_A, 999, f, frame(f, 3), mac), ARP_QUEUED);
	CHECK_EQ(arp_counters(c)->requests_sent, 1);
	CHECK_EQ(arp_release_next(c, out, sizeof(out)), 0);

	CHECK_EQ(input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 1200, &rl), ARP_OK);
	CHECK_EQ(arp_lookup(c, HOST_A, 1200, mac), ARP_REACHABLE);
	for (uint8_t tag = 1; tag <= 3; tag++) {
		CHECK_EQ(arp_release_next(c, out, sizeof(out)), 64);
		CHECK(!memcmp(out + PKT_ETH_DST, mac_a, 6));
		CHECK(!memcmp(out + PKT_ETH_SRC, our_mac, 6));
		CHECK_EQ(out[40], tag);
	}
	CHECK_EQ(arp_release_next(c, out, sizeof(out)), 0);
	CHECK_EQ(arp_counters(c)->released, 3);
	CHECK_EQ(arp_counters(c)->resolved, 1);
	CHECK_EQ(arp_counters(c)->pending, 0);
	/* Now a hit: destination written into the frame. */
	CHECK_EQ(arp_resolve(c, HOST_A, 1300, f, frame(f, 4), mac), ARP_RESOLVED);
	CHECK(!memcmp(f + PKT_ETH_DST, mac_a, 6));
	CHECK(!memcmp(mac, mac_a, 6));
	arp_destroy(c);
}

TEST(arp_request_from_the_host_we_resolve_also_releases)
{
	struct arp_cache *c = cache();
	uint8_t f[BUF], out[BUF];

	arp_resolve(c, HOST_B, 0, f, frame(f, 9), NULL);
	learn(c, mac_b, HOST_B, 10); /* merge into the INCOMPLETE entry */
	CHECK_EQ(arp_release_next(c, out, sizeof(out)), 64);
	CHECK(!memcmp(out, mac_b, 6));
	CHECK_EQ(arp_counters(c)->learned, 0);
	CHECK_EQ(arp_counters(c)->updated, 1);
	arp_destroy(c);
}

TEST(arp_pending_per_entry_bound_keeps_the_latest)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF], out[BUF];
	size_t rl;

	for (uint8_t tag = 1; tag <= 6; tag++)
		CHECK(arp_resolve(c, HOST_A, tag, f, frame(f, tag), NULL) & ARP_QUEUED);
	/* RFC 1122 2.3.2.2: the latest are kept; 1 and 2 made room. */
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_ENTRY_QUEUE_FULL], 2);
	CHECK_EQ(arp_counters(c)->pending, ARP_PENDING_PER_ENTRY);
	input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 100, &rl);
	for (uint8_t tag = 3; tag <= 6; tag++) {
		CHECK_EQ(arp_release_next(c, out, sizeof(out)), 64);
		CHECK_EQ(out[40], tag);
	}
	CHECK_EQ(arp_release_next(c, out, sizeof(out)), 0);
	arp_destroy(c);
}

TEST(arp_pending_global_bound)
{
	struct arp_cache *c = cache_with(16, 5);
	uint8_t f[BUF];
	uint32_t host_c = ip4(192, 168, 137, 12);

	for (uint8_t tag = 1; tag <= 4; tag++)
		arp_resolve(c, HOST_A, 0, f, frame(f, tag), NULL);
	CHECK_EQ(arp_resolve(c, HOST_B, 0, f, frame(f, 5), NULL), ARP_QUEUED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_counters(c)->pending, 5);
	/* Pool full: B's own oldest makes room for its newest. */
	CHECK_EQ(arp_resolve(c, HOST_B, 1, f, frame(f, 6), NULL), ARP_QUEUED);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_QUEUE_FULL], 1);
	/* A third neighbour has nothing to give up: its frame is dropped. */
	CHECK_EQ(arp_resolve(c, host_c, 1, f, frame(f, 7), NULL), ARP_DROPPED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_QUEUE_FULL], 2);
	CHECK_EQ(arp_counters(c)->pending, 5);
	arp_destroy(c);
}

TEST(arp_frames_too_big_or_small_are_dropped)
{
	struct arp_cache *c = cache();
	uint8_t f[BUF], out[8];
	uint8_t buf[BUF];
	size_t rl;

	CHECK_EQ(arp_resolve(c, HOST_A, 0, f, 257, NULL), ARP_DROPPED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_resolve(c, HOST_A, 0, f, 10, NULL), ARP_DROPPED);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_FRAME_SIZE], 2);
	/* A release buffer too small drops the frame rather than blocking. */
	arp_resolve(c, HOST_A, 0, f, frame(f, 1), NULL);
	input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 10, &rl);
	CHECK_EQ(arp_release_next(c, out, sizeof(out)), 0);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_FRAME_SIZE], 3);
	CHECK_EQ(arp_counters(c)->pending, 0);
	arp_destroy(c);
}

TEST(arp_resolve_groups_and_bad_targets)
{
	struct arp_cache *c = cache();
	uint8_t f[BUF], mac[6];
	static const uint8_t mdns[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
	static const uint8_t high[6] = {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfe};

	/* RFC 1112 6.4: low 23 bits of the group into 01:00:5e. */
	CHECK_EQ(arp_resolve(c, ip4(224, 0, 0, 251), 0, f, frame(f, 1), mac), ARP_RESOLVED);
	CHECK(!memcmp(mac, mdns, 6));
	CHECK(!memcmp(f, mdns, 6));
	CHECK_EQ(arp_resolve(c, ip4(239, 255, 255, 254), 0, NULL, 0, mac), ARP_RESOLVED);
	CHECK(!memcmp(mac, high, 6));
	CHECK_EQ(arp_resolve(c, ip4(255, 255, 255, 255), 0, NULL, 0, mac), ARP_RESOLVED);
	CHECK(!memcmp(mac, bcast, 6));
	CHECK_EQ(arp_resolve(c, 0, 0, f, 64, mac), ARP_DROPPED);
	CHECK_EQ(arp_resolve(c, ip4(127, 0, 0, 1), 0, f, 64, mac), ARP_DROPPED);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_BAD_TARGET], 2);
	CHECK_EQ(arp_counters(c)->entries, 0);
	arp_destroy(c);
}

TEST(arp_request_source_follows_the_subnet)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	struct arp_msg m;

	CHECK_EQ(arp_parse(&m, buf, arp_request_for(c, ip4(10, 9, 9, 50), buf, BUF)), ARP_OK);
	CHECK_EQ(m.spa, ALIAS_IP);
	CHECK(!memcmp(m.sha, alias_mac, 6));
	CHECK_EQ(arp_parse(&m, buf, arp_request_for(c, ip4(172, 16, 0, 1), buf, BUF)), ARP_OK);
	CHECK_EQ(m.spa, OUR_IP); /* off-subnet: the primary */
	CHECK_EQ(arp_request_for(c, HOST_A, buf, 59), 0);
	arp_destroy(c);
}

/* ---- timers and states ---- */

TEST(arp_incomplete_retries_every_second_then_fails_for_20s)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF], out[BUF];
	struct arp_msg m;
	size_t n;

	CHECK_EQ(arp_resolve(c, HOST_A, 0, f, frame(f, 1), NULL), ARP_QUEUED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_poll(c, 500, buf, BUF), 0);
	n = arp_poll(c, 1000, buf, BUF);
	CHECK_EQ(n, ARP_FRAME_MIN);
	CHECK_EQ(arp_parse(&m, buf, n), ARP_OK);
	CHECK_EQ(m.tpa, HOST_A);
	CHECK_EQ(arp_poll(c, 1000, buf, BUF), 0); /* once per retry_ms */
	CHECK_EQ(arp_poll(c, 1999, buf, BUF), 0);
	/* Traffic may also trigger the retry; it shares the rate limit. */
	CHECK_EQ(arp_resolve(c, HOST_A, 2000, f, frame(f, 2), NULL), ARP_QUEUED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_poll(c, 2000, buf, BUF), 0);
	CHECK_EQ(arp_counters(c)->requests_sent, 3);
	CHECK_EQ(arp_poll(c, 2999, buf, BUF), 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 2999, NULL), ARP_INCOMPLETE);
	/* Third request unanswered for retry_ms: FAILED, frames dropped. */
	CHECK_EQ(arp_poll(c, 3000, buf, BUF), 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 3000, NULL), ARP_FAILED);
	CHECK_EQ(arp_counters(c)->failed, 1);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_RESOLVE_TIMEOUT], 2);
	CHECK_EQ(arp_counters(c)->pending, 0);
	CHECK_EQ(arp_release_next(c, out, sizeof(out)), 0);
	/* FAILED: dropped at once, no request, for failed_ms. */
	CHECK_EQ(arp_resolve(c, HOST_A, 10000, f, frame(f, 3), NULL), ARP_DROPPED);
	CHECK_EQ(arp_resolve(c, HOST_A, 22999, f, frame(f, 3), NULL), ARP_DROPPED);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_UNREACHABLE], 2);
	CHECK_EQ(arp_poll(c, 22999, buf, BUF), 0);
	CHECK_EQ(arp_poll(c, 23000, buf, BUF), 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 23000, NULL), ARP_NONE);
	CHECK_EQ(arp_counters(c)->expired, 1);
	CHECK_EQ(arp_counters(c)->entries, 0);
	/* Then resolution starts over. */
	CHECK_EQ(arp_resolve(c, HOST_A, 23000, f, frame(f, 4), NULL),
		 ARP_QUEUED | ARP_SEND_REQUEST);
	arp_destroy(c);
}

TEST(arp_failed_entry_comes_back_when_the_host_speaks)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF];

	arp_resolve(c, HOST_A, 0, NULL, 0, NULL);
	for (uint32_t t = 1000; t <= 3000; t += 1000)
		while (arp_poll(c, t, buf, BUF))
			;
	CHECK_EQ(arp_lookup(c, HOST_A, 3000, NULL), ARP_FAILED);
	learn(c, mac_a, HOST_A, 4000);
	CHECK_EQ(arp_resolve(c, HOST_A, 4000, f, frame(f, 1), NULL), ARP_RESOLVED);
	arp_destroy(c);
}

TEST(arp_reachable_goes_stale_after_30s_and_is_probed_by_unicast)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF], mac[6];
	struct arp_msg m;
	size_t rl;

	learn(c, mac_a, HOST_A, 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 29999, NULL), ARP_REACHABLE);
	CHECK_EQ(arp_resolve(c, HOST_A, 29999, f, frame(f, 1), mac), ARP_RESOLVED);
	CHECK_EQ(arp_lookup(c, HOST_A, 30000, NULL), ARP_STALE);
	/* Used while STALE: sent anyway, and a probe asked for. */
	CHECK_EQ(arp_resolve(c, HOST_A, 30000, f, frame(f, 2), mac),
		 ARP_RESOLVED | ARP_SEND_REQUEST);
	CHECK(!memcmp(f, mac_a, 6));
	CHECK_EQ(arp_counters(c)->went_stale, 1);
	CHECK_EQ(arp_parse(&m, buf, arp_request_for(c, HOST_A, buf, BUF)), ARP_OK);
	CHECK(!memcmp(m.eth_dst, mac_a, 6)); /* RFC 1122 2.3.2.1 unicast poll */
	CHECK_EQ(m.tpa, HOST_A);
	CHECK_EQ(arp_resolve(c, HOST_A, 30500, f, frame(f, 3), mac), ARP_RESOLVED);
	/* The answer makes it REACHABLE again. */
	CHECK_EQ(input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 30600, &rl), ARP_OK);
	CHECK_EQ(arp_lookup(c, HOST_A, 30600, NULL), ARP_REACHABLE);
	CHECK_EQ(arp_poll(c, 31600, buf, BUF), 0); /* no more probes */
	CHECK_EQ(arp_counters(c)->requests_sent, 1);
	arp_destroy(c);
}

TEST(arp_stale_probe_unanswered_fails)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF];

	learn(c, mac_a, HOST_A, 0);
	CHECK_EQ(arp_resolve(c, HOST_A, 40000, f, frame(f, 1), NULL),
		 ARP_RESOLVED | ARP_SEND_REQUEST);
	CHECK_EQ(arp_poll(c, 41000, buf, BUF), ARP_FRAME_MIN);
	CHECK(!memcmp(buf, mac_a, 6));
	CHECK_EQ(arp_poll(c, 42000, buf, BUF), ARP_FRAME_MIN);
	CHECK_EQ(arp_lookup(c, HOST_A, 42999, NULL), ARP_STALE);
	CHECK_EQ(arp_poll(c, 43000, buf, BUF), 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 43000, NULL), ARP_FAILED);
	CHECK_EQ(arp_resolve(c, HOST_A, 43000, f, frame(f, 2), NULL), ARP_DROPPED);
	arp_destroy(c);
}

TEST(arp_stale_entry_not_used_is_not_probed)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];

	learn(c, mac_a, HOST_A, 0);
	CHECK_EQ(arp_poll(c, 31000, buf, BUF), 0);
	CHECK_EQ(arp_counters(c)->went_stale, 1);
	CHECK_EQ(arp_poll(c, 100000, buf, BUF), 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 100000, NULL), ARP_STALE);
	CHECK_EQ(arp_counters(c)->requests_sent, 0);
	arp_destroy(c);
}

TEST(arp_time_may_wrap)
{
	struct arp_cache *c = cache();
	uint32_t t0 = 0xffffff00u;

	learn(c, mac_a, HOST_A, t0);
	CHECK_EQ(arp_lookup(c, HOST_A, t0 + 1000, NULL), ARP_REACHABLE); /* wrapped */
	CHECK_EQ(arp_lookup(c, HOST_A, t0 + 30000, NULL), ARP_STALE);
	arp_destroy(c);
}

TEST(arp_poll_asks_once_per_due_entry)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF];
	unsigned sent = 0;

	for (uint8_t i = 0; i < 10; i++)
		arp_resolve(c, ip4(192, 168, 137, (uint8_t)(100 + i)), 0, NULL, 0, NULL);
	while (arp_poll(c, 1000, buf, BUF))
		sent++;
	CHECK_EQ(sent, 10);
	CHECK_EQ(arp_counters(c)->requests_sent, 20);
	arp_destroy(c);
}

/* ---- table full ---- */

TEST(arp_table_full_evicts_by_rank_never_incomplete)
{
	struct arp_cache *c = cache_with(2, 8);
	uint8_t buf[BUF], f[BUF];
	size_t rl;

	learn(c, mac_a, HOST_A, 0);
	learn(c, mac_b, HOST_B, 1000);
	/* A learned sender may not push out REACHABLE entries; still answered. */
	CHECK_EQ(input(c, buf, request(buf, mac_a, ip4(192, 168, 137, 50), OUR_IP), 2000, &rl),
		 ARP_OK);
	CHECK_EQ(rl, ARP_FRAME_MIN);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_LEARN_FULL], 1);
	/* A resolution may: the oldest (A) goes. */
	CHECK(arp_resolve(c, ip4(192, 168, 137, 60), 2000, f, frame(f, 1), NULL) & ARP_QUEUED);
	CHECK_EQ(arp_lookup(c, HOST_A, 2000, NULL), ARP_NONE);
	CHECK_EQ(arp_lookup(c, HOST_B, 2000, NULL), ARP_REACHABLE);
	CHECK_EQ(arp_counters(c)->evicted, 1);
	/* Now B; then only INCOMPLETE entries: nothing may go. */
	CHECK(arp_resolve(c, ip4(192, 168, 137, 61), 2000, NULL, 0, NULL) & ARP_SEND_REQUEST);
	CHECK_EQ(arp_resolve(c, ip4(192, 168, 137, 62), 2000, f, frame(f, 2), NULL), ARP_DROPPED);
	CHECK_EQ(arp_counters(c)->drop[ARP_DROP_TABLE_FULL], 1);
	CHECK_EQ(arp_counters(c)->entries, 2);
	arp_destroy(c);
}

TEST(arp_table_prefers_to_evict_stale_over_reachable)
{
	struct arp_cache *c = cache_with(2, 8);
	uint8_t buf[BUF];
	size_t rl;

	learn(c, mac_a, HOST_A, 0);
	arp_poll(c, 30000, buf, BUF); /* A goes STALE */
	learn(c, mac_b, HOST_B, 30000);
	CHECK_EQ(input(c, buf, request(buf, mac_a, ip4(192, 168, 137, 50), OUR_IP), 30001, &rl),
		 ARP_OK);
	CHECK_EQ(arp_lookup(c, HOST_A, 30001, NULL), ARP_NONE);
	CHECK_EQ(arp_lookup(c, ip4(192, 168, 137, 50), 30001, NULL), ARP_REACHABLE);
	CHECK_EQ(arp_lookup(c, HOST_B, 30001, NULL), ARP_REACHABLE);
	arp_destroy(c);
}

TEST(arp_many_hosts_churn_keeps_counts_consistent)
{
	struct arp_cache *c = cache_with(32, 16);
	uint8_t buf[BUF], f[BUF], out[BUF], mac[6] = {0x02, 0, 0, 0, 0, 0};
	uint32_t now = 0;
	size_t rl;

	for (unsigned i = 0; i < 20000; i++) {
		uint8_t h = (uint8_t)(2 + test_rand() % 200);
		uint32_t ip = ip4(192, 168, 137, h);

		now += (uint32_t)(test_rand() % 300);
		mac[5] = h;
		switch (test_rand() % 4) {
		case 0:
			arp_resolve(c, ip, now, f, frame(f, h), NULL);
			break;
		case 1:
			input(c, buf, reply(buf, mac, ip, our_mac, OUR_IP), now, &rl);
			break;
		case 2:
			input(c, buf, request(buf, mac, ip, OUR_IP), now, &rl);
			break;
		default:
			while (arp_poll(c, now, buf, BUF))
				;
			break;
		}
		while ((rl = arp_release_next(c, out, sizeof(out)))) {
			CHECK_EQ(rl, 64);
			CHECK_EQ(out[5], out[40]); /* released to the right host */
		}
		CHECK(arp_counters(c)->entries <= 32);
		CHECK(arp_counters(c)->pending <= 16);
	}
	arp_destroy(c);
}

/* ---- the lock on a known neighbour's MAC (issue 14) ---- */

/* Forged: one gratuitous ARP claims HOST_A, known at mac_a, for mac_b. */
static void forge(struct arp_cache *c, uint32_t now)
{
	uint8_t buf[BUF];
	size_t rl = 99;

	CHECK_EQ(input(c, buf, request(buf, mac_b, HOST_A, HOST_A), now, &rl), ARP_OK);
	CHECK_EQ(rl, 0);
}

TEST(arp_forged_change_within_locktime_is_probed_not_believed)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF], mac[6];
	struct arp_msg m;
	size_t rl;

	learn(c, mac_a, HOST_A, 0);
	forge(c, 5 * SEC);
	CHECK_EQ(arp_lookup(c, HOST_A, 5 * SEC, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_a, 6));
	CHECK_EQ(arp_resolve(c, HOST_A, 5 * SEC, f, frame(f, 1), mac) & ARP_RESOLVED, ARP_RESOLVED);
	CHECK(!memcmp(f, mac_a, 6)); /* traffic still goes to the known MAC */
	/* The known MAC is asked, by unicast, at once. */
	CHECK_EQ(arp_parse(&m, buf, arp_poll(c, 5 * SEC, buf, BUF)), ARP_OK);
	CHECK_EQ(m.op, ARP_OP_REQUEST);
	CHECK_EQ(m.tpa, HOST_A);
	CHECK(!memcmp(m.eth_dst, mac_a, 6));
	/* It answers: it stays, and the forger is not believed even if it repeats. */
	CHECK_EQ(input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 5 * SEC + 10, &rl),
		 ARP_OK);
	forge(c, 5 * SEC + 20);
	CHECK_EQ(arp_lookup(c, HOST_A, 6 * SEC, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_a, 6));
	CHECK_EQ(arp_poll(c, 5 * SEC + 20, buf, BUF), ARP_FRAME_MIN); /* verified again */
	CHECK_EQ(input(c, buf, reply(buf, mac_a, HOST_A, our_mac, OUR_IP), 5 * SEC + 30, &rl),
		 ARP_OK);
	CHECK_EQ(arp_counters(c)->mac_locked, 2);
	CHECK_EQ(arp_counters(c)->lock_kept, 2);
	CHECK_EQ(arp_counters(c)->mac_changed, 0);
	CHECK_EQ(arp_poll(c, 10 * SEC, buf, BUF), 0); /* nothing left to ask */
	arp_destroy(c);
}

TEST(arp_real_change_is_believed_once_the_known_mac_stays_silent)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], mac[6];
	struct arp_msg m;
	size_t rl;

	learn(c, mac_a, HOST_A, 0);
	forge(c, 5 * SEC); /* the host really moved to mac_b */
	CHECK_EQ(arp_poll(c, 5 * SEC, buf, BUF), ARP_FRAME_MIN); /* unicast to mac_a */
	CHECK(!memcmp(buf, mac_a, 6));
	CHECK_EQ(arp_poll(c, 5 * SEC + 999, buf, BUF), 0);
	/* No answer within retry_ms: asked by broadcast, the answer is believed. */
	CHECK_EQ(arp_parse(&m, buf, arp_poll(c, 6 * SEC, buf, BUF)), ARP_OK);
	CHECK(!memcmp(m.eth_dst, bcast, 6));
	CHECK_EQ(input(c, buf, reply(buf, mac_b, HOST_A, our_mac, OUR_IP), 6 * SEC + 10, &rl),
		 ARP_OK);
	CHECK_EQ(arp_lookup(c, HOST_A, 6 * SEC + 10, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_b, 6));
	CHECK_EQ(arp_counters(c)->lock_released, 1);
	CHECK_EQ(arp_counters(c)->mac_changed, 0); /* INCOMPLETE in between: resolved */
	CHECK_EQ(arp_counters(c)->resolved, 1);
	arp_destroy(c);
}

TEST(arp_locktime_zero_is_the_plain_rfc826_merge)
{
	struct arp_config cfg;
	struct arp_cache *c = NULL;
	uint8_t mac[6];

	arp_config_default(&cfg);
	CHECK_EQ(cfg.locktime_ms, ARP_LOCKTIME_MS_DEFAULT);
	cfg.locktime_ms = 0;
	cfg.n_addrs = 1;
	cfg.addrs[0] = (struct arp_addr){.ip = OUR_IP, .prefix_len = 24};
	memcpy(cfg.addrs[0].mac, our_mac, 6);
	CHECK_EQ(arp_create(&cfg, &c, NULL), 0);
	learn(c, mac_a, HOST_A, 0);
	forge(c, 10);
	CHECK_EQ(arp_lookup(c, HOST_A, 10, mac), ARP_REACHABLE);
	CHECK(!memcmp(mac, mac_b, 6));
	CHECK_EQ(arp_counters(c)->mac_locked, 0);
	arp_destroy(c);
	cfg.locktime_ms = ARP_LOCKTIME_MS_MAX + 1;
	CHECK_EQ(arp_create(&cfg, &c, NULL), -EINVAL);
}

TEST(arp_stale_entry_used_while_locked_is_verified_by_unicast)
{
	struct arp_cache *c = cache();
	uint8_t buf[BUF], f[BUF], mac[6];

	learn(c, mac_a, HOST_A, 0);
	forge(c, 40 * SEC); /* STALE, heard 40 s ago: still locked */
	CHECK_EQ(arp_lookup(c, HOST_A, 40 * SEC, mac), ARP_STALE);
	CHECK(!memcmp(mac, mac_a, 6));
	CHECK(arp_resolve(c, HOST_A, 40 * SEC, f, frame(f, 1), NULL) & ARP_RESOLVED);
	CHECK(!memcmp(f, mac_a, 6));
	CHECK_EQ(arp_request_for(c, HOST_A, buf, BUF), ARP_FRAME_MIN);
	CHECK(!memcmp(buf, mac_a, 6));
	arp_destroy(c);
}

/* Shared uplink mode: the kernel owns the address and answers for it; the
 * silent cache only resolves, from the kernel's address, which it follows. */
static struct arp_cache *silent_cache(uint32_t ip)
{
	struct arp_config cfg;
	struct arp_cache *c = NULL;
	const char *why = NULL;

	arp_config_default(&cfg);
	cfg.seed = 0x1234;
	cfg.silent = true;
	cfg.n_addrs = 1;
	cfg.addrs[0] = (struct arp_addr){.ip = ip, .prefix_len = ip ? 24 : 0};
	memcpy(cfg.addrs[0].mac, our_mac, 6);
	CHECK_EQ(arp_create(&cfg, &c, &why), 0);
	return c;
}

TEST(arp_silent_never_answers_but_learns_and_resolves)
{
	struct arp_cache *c = silent_cache(OUR_IP);
	uint8_t buf[BUF], mac[6];
	size_t rl = 99;

	CHECK_EQ(input(c, buf, request(buf, mac_a, HOST_A, OUR_IP), 0, &rl), ARP_OK);
	CHECK_EQ(rl, 0); /* the kernel answers, not us */
	CHECK_EQ(arp_counters(c)->requests_answered, 0);
	CHECK_EQ(arp_lookup(c, HOST_A, 0, mac), ARP_REACHABLE);
	/* Our own requests come from the kernel's address, and follow it. */
	CHECK_EQ(arp_resolve(c, HOST_B, 0, NULL, 0, mac), ARP_SEND_REQUEST); /* nothing to hold */
	CHECK(arp_request_for(c, HOST_B, buf, sizeof(buf)) > 0);
	CHECK(!memcmp(buf + A + ARP_SPA, (const uint8_t[]){192, 168, 137, 1}, 4));
	CHECK_EQ(arp_set_primary(c, ip4(192, 168, 137, 99), 24), 0);
	CHECK(arp_request_for(c, HOST_B, buf, sizeof(buf)) > 0);
	CHECK(!memcmp(buf + A + ARP_SPA, (const uint8_t[]){192, 168, 137, 99}, 4));
	CHECK_EQ(arp_set_primary(c, 0, 24), -EINVAL);
	arp_destroy(c);
}

TEST(arp_silent_may_start_without_an_address_loud_may_not)
{
	struct arp_config cfg;
	struct arp_cache *c = silent_cache(0);
	const char *why = NULL;

	CHECK(c != NULL);
	arp_destroy(c);
	arp_config_default(&cfg);
	cfg.n_addrs = 1;
	memcpy(cfg.addrs[0].mac, our_mac, 6);
	c = NULL;
	CHECK_EQ(arp_create(&cfg, &c, &why), -EINVAL);
	CHECK(c == NULL);
}
