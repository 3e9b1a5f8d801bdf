/* test_ratelimit.c - the ICMP error limiter (src/core/ratelimit.c): bursts,
 * rates, per-destination and global buckets, the bounded table; then each
 * generator of ICMP errors asks it (RFC 1812 4.3.2.8): the router's Time
 * Exceeded and Fragmentation Needed, the NAT's 3/13 on exhaustion. A flood
 * of N packets that each earn an error must earn a bounded number. */
#include "test.h"
#include "../../src/core/ratelimit.h"
#include "../../src/nat/nat.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/rss/rss.h"
#include "../../src/router/router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

enum {
	BUF = 2048,
	FLOOD = 1000, /* packets that each earn an error */
	KEY_BURST = 6,
	BURST = 50,
};

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

#define GW_LAN ip4(192, 168, 137, 1)
#define GW_WAN ip4(198, 51, 100, 2)
#define REMOTE ip4(203, 0, 113, 80)

static uint32_t host(unsigned i)
{
	return ip4(192, 168, 137, (uint8_t)(10 + i));
}

/* Ask @n times for @key; how many were allowed. */
static unsigned ask(struct ratelimit *rl, uint32_t key, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += ratelimit_allow(rl, key);
	return ok;
}

static void init_icmp(struct ratelimit *rl, uint32_t now_ms)
{
	struct ratelimit_config cfg;

	ratelimit_config_icmp(&cfg);
	ratelimit_init(rl, &cfg, now_ms);
}

/* ---- the limiter ---- */

TEST(ratelimit_icmp_defaults_are_linux_s)
{
	struct ratelimit_config cfg;
	const char *why = NULL;

	ratelimit_config_icmp(&cfg);
	CHECK_EQ(cfg.per_sec, 1000);
	CHECK_EQ(cfg.burst, BURST);
	CHECK_EQ(cfg.key_interval_ms, 1000);
	CHECK_EQ(cfg.key_burst, KEY_BURST);
	CHECK_EQ(cfg.shares, 1);
	CHECK_EQ(ratelimit_check(&cfg, &why), 0);
}

TEST(ratelimit_one_destination_gets_its_burst_then_one_per_interval)
{
	static struct ratelimit rl;
	uint32_t now = 5000;

	init_icmp(&rl, now);
	CHECK_EQ(ask(&rl, host(0), 100), KEY_BURST);
	CHECK_EQ(rl.c.allowed, KEY_BURST);
	CHECK_EQ(rl.c.refused_dest, 100 - KEY_BURST);
	CHECK_EQ(rl.c.refused_global, 0);
	ratelimit_advance(&rl, now += 999);
	CHECK_EQ(ask(&rl, host(0), 10), 0);
	ratelimit_advance(&rl, now += 1);
	CHECK_EQ(ask(&rl, host(0), 10), 1);
	/* Ten seconds of a flood: ten more. */
	for (unsigned ms = 0; ms < 10000; ms += 10) {
		ratelimit_advance(&rl, now += 10);
		ask(&rl, host(0), 5);
	}
	CHECK_EQ(rl.c.allowed, KEY_BURST + 1 + 10);
	/* Idle long enough: the whole burst again. */
	ratelimit_advance(&rl, now += 6000);
	CHECK_EQ(ask(&rl, host(0), 100), KEY_BURST);
}

TEST(ratelimit_destinations_have_their_own_buckets)
{
	static struct ratelimit rl;

	init_icmp(&rl, 0);
	CHECK_EQ(ask(&rl, host(0), 100), KEY_BURST);
	/* A flooded destination does not use up another's. */
	CHECK_EQ(ask(&rl, host(1), 100), KEY_BURST);
	CHECK_EQ(ask(&rl, host(2), 1), 1);
}

TEST(ratelimit_global_bucket_bounds_many_destinations)
{
	static struct ratelimit rl;
	unsigned key = 0, ok = 0;

	init_icmp(&rl, 0);
	/* 100,000 distinct destinations at once: the global burst, no more. */
	for (unsigned i = 0; i < 100000; i++)
		ok += ratelimit_allow(&rl, htonl(0x0a000000u + key++));
	CHECK_EQ(ok, BURST);
	CHECK_EQ(rl.c.refused_global, 100000 - BURST);
	/* Three seconds of it, 1 ms at a time: 1000 per second. */
	for (uint32_t ms = 1; ms <= 3000; ms++) {
		ratelimit_advance(&rl, ms);
		for (unsigned i = 0; i < 20; i++)
			ok += ratelimit_allow(&rl, htonl(0x0a000000u + key++));
	}
	CHECK_EQ(ok, BURST + 3000);
	/* The table stayed its size; the keys of the flood pushed out live ones. */
	CHECK(rl.c.dests_evicted > 0);
}

TEST(ratelimit_refused_by_one_bucket_takes_nothing_from_the_other)
{
	static struct ratelimit rl;
	struct ratelimit_config cfg;

	ratelimit_config_icmp(&cfg);
	cfg.burst = 3;
	ratelimit_init(&rl, &cfg, 0);
	/* The global bucket refuses the fourth: host 3 keeps its burst. */
	CHECK_EQ(ask(&rl, host(0), 1) + ask(&rl, host(1), 1) + ask(&rl, host(2), 1), 3);
	CHECK_EQ(ask(&rl, host(3), 1), 0);
	CHECK_EQ(rl.c.refused_global, 1);
	ratelimit_advance(&rl, 100); /* 100 tokens back in the global bucket, 3 fit */
	CHECK_EQ(ask(&rl, host(3), 10), 3);
	/* A per-destination refusal takes no global token. */
	ratelimit_init(&rl, &cfg, 0);
	CHECK_EQ(ask(&rl, host(0), 1), 1);
	cfg.key_burst = 1;
	ratelimit_init(&rl, &cfg, 0);
	CHECK_EQ(ask(&rl, host(0), 50), 1);
	CHECK_EQ(rl.c.refused_dest, 49);
	CHECK_EQ(ask(&rl, host(1), 1) + ask(&rl, host(2), 1), 2);
}

TEST(ratelimit_shares_split_the_global_rate_and_burst)
{
	static struct ratelimit rl;
	struct ratelimit_config cfg;
	unsigned ok = 0;

	ratelimit_config_icmp(&cfg);
	cfg.key_interval_ms = 0; /* no per-destination limit */
	cfg.shares = 4;
	ratelimit_init(&rl, &cfg, 0);
	CHECK_EQ(ask(&rl, host(0), 1000), BURST / 4);
	for (uint32_t ms = 1; ms <= 2000; ms++) {
		ratelimit_advance(&rl, ms);
		ok += ask(&rl, host(0), 5);
	}
	CHECK_EQ(ok, 2 * 1000 / 4);
	CHECK_EQ(rl.c.refused_dest, 0);
	/* Fewer than one per share: still one each. */
	cfg.burst = 2;
	ratelimit_init(&rl, &cfg, 0);
	CHECK_EQ(ask(&rl, host(0), 10), 1);
}

TEST(ratelimit_zero_rate_refuses_everything)
{
	static struct ratelimit rl;
	struct ratelimit_config cfg;

	ratelimit_config_icmp(&cfg);
	cfg.per_sec = 0;
	ratelimit_init(&rl, &cfg, 0);
	CHECK_EQ(ask(&rl, host(0), 10), 0);
	ratelimit_advance(&rl, 100000);
	CHECK_EQ(ask(&rl, host(1), 10), 0);
	CHECK_EQ(rl.c.refused_global, 20);
}

TEST(ratelimit_clock_wraps_and_never_goes_back)
{
	static struct ratelimit rl;
	uint32_t now = UINT32_MAX - 500;

	init_icmp(&rl, now);
	CHECK_EQ(ask(&rl, host(0), 10), KEY_BURST);
	ratelimit_advance(&rl, now += 1000); /* past 2^32 */
	CHECK_EQ(ask(&rl, host(0), 10), 1);
	/* A step back is no step: nothing refills. */
	ratelimit_advance(&rl, now - 100000);
	CHECK_EQ(ask(&rl, host(0), 10), 0);
}

TEST(ratelimit_check_refuses_what_cannot_work)
{
	struct ratelimit_config cfg;
	const char *why = NULL;

	ratelimit_config_icmp(&cfg);
	cfg.per_sec = RATELIMIT_RATE_MAX + 1;
	CHECK_EQ(ratelimit_check(&cfg, &why), -EINVAL);
	CHECK(why != NULL);
	ratelimit_config_icmp(&cfg);
	cfg.key_interval_ms = RATELIMIT_INTERVAL_MAX_MS + 1;
	CHECK_EQ(ratelimit_check(&cfg, &why), -EINVAL);
	ratelimit_config_icmp(&cfg);
	cfg.key_burst = 0;
	CHECK_EQ(ratelimit_check(&cfg, &why), -EINVAL);
	ratelimit_config_icmp(&cfg);
	cfg.shares = 0;
	CHECK_EQ(ratelimit_check(&cfg, &why), -EINVAL);
	ratelimit_config_icmp(&cfg);
	cfg.per_sec = 0;
	cfg.key_interval_ms = 0;
	CHECK_EQ(ratelimit_check(&cfg, &why), 0);
}

/* ---- the router: Time Exceeded, Fragmentation Needed ---- */

struct frame {
	uint8_t buf[BUF];
	struct pkt p;
};

static void frame_udp(struct frame *f, uint32_t sa, uint16_t sp, uint32_t da, uint8_t ttl,
		      uint16_t payload_len, bool df)
{
	static const uint8_t payload[1500];
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_UDP,
			     .ttl = ttl,
			     .df = df,
			     .sport = sp,
			     .dport = 53,
			     .payload = payload,
			     .payload_len = payload_len};
	size_t len;

	s.src_mac[0] = s.dst_mac[0] = 2;
	s.dst_mac[5] = 1;
	len = pkt_build(f->buf, BUF, &s);
	CHECK(len > 0);
	CHECK_EQ(pkt_parse(&f->p, f->buf, (uint16_t)len, BUF), PKT_OK);
	f->p.side = PKT_SIDE_LAN;
}

/* @n packets with TTL 1 from @src: how many became Time Exceeded. */
static unsigned ttl_flood(struct router_counters *cnt, struct ratelimit *rl, uint32_t src,
			  unsigned n)
{
	static struct frame f;
	unsigned sent = 0;

	for (unsigned i = 0; i < n; i++) {
		frame_udp(&f, src, (uint16_t)(1024 + i), REMOTE, 1, 32, false);
		sent += router_forward_ttl(cnt, rl, &f.p, GW_LAN) == ROUTER_REPLIED;
	}
	return sent;
}

TEST(router_time_exceeded_flood_is_rate_limited)
{
	static struct ratelimit rl;
	struct router_counters cnt = {0};

	init_icmp(&rl, 0);
	CHECK_EQ(ttl_flood(&cnt, &rl, host(0), FLOOD), KEY_BURST);
	CHECK_EQ(cnt.ttl_expired, FLOOD);
	CHECK_EQ(cnt.time_exceeded_sent, KEY_BURST);
	CHECK_EQ(cnt.drop[ROUTER_DROP_ERROR_RATE_LIMITED], FLOOD - KEY_BURST);
	/* Another host (a traceroute) still gets its answers. */
	CHECK_EQ(ttl_flood(&cnt, &rl, host(1), 3), 3);
	/* One second on: one more for the flooding host. */
	ratelimit_advance(&rl, 1000);
	CHECK_EQ(ttl_flood(&cnt, &rl, host(0), FLOOD), 1);
}

TEST(router_refused_error_leaves_the_packet_and_names_the_reason)
{
	static struct ratelimit rl;
	struct router_counters cnt = {0};
	struct ratelimit_config cfg;
	static struct frame f;
	uint8_t orig[BUF];

	ratelimit_config_icmp(&cfg);
	cfg.per_sec = 0;
	ratelimit_init(&rl, &cfg, 0);
	frame_udp(&f, host(0), 4000, REMOTE, 1, 32, false);
	memcpy(orig, f.buf, f.p.len);
	CHECK_EQ(router_forward_ttl(&cnt, &rl, &f.p, GW_LAN), ROUTER_DROP);
	CHECK_EQ(f.p.drop, ROUTER_DROP_ERROR_RATE_LIMITED);
	CHECK(!memcmp(f.buf, orig, f.p.len));
	CHECK(!strcmp(router_drop_name(ROUTER_DROP_ERROR_RATE_LIMITED), "ERROR_RATE_LIMITED"));
	/* A packet that may get no error at all is refused for that, first:
	 * it takes nothing from the limiter. */
	init_icmp(&rl, 0);
	frame_udp(&f, host(0), 4000, ip4(224, 0, 0, 9), 1, 32, false);
	CHECK_EQ(router_forward_ttl(&cnt, &rl, &f.p, GW_LAN), ROUTER_DROP);
	CHECK_EQ(f.p.drop, ROUTER_DROP_ERROR_TO_GROUP);
	CHECK_EQ(rl.c.allowed + rl.c.refused_dest + rl.c.refused_global, 0);
}

TEST(router_frag_needed_flood_is_rate_limited)
{
	static struct ratelimit rl;
	static struct frame f;
	struct router_counters cnt = {0};
	unsigned sent = 0;

	init_icmp(&rl, 0);
	for (unsigned i = 0; i < FLOOD; i++) {
		frame_udp(&f, host(0), (uint16_t)(1024 + i), REMOTE, 64, 1400, true);
		sent += router_check_mtu(&cnt, &rl, &f.p, 576, GW_WAN) == ROUTER_REPLIED;
	}
	CHECK_EQ(sent, KEY_BURST);
	CHECK_EQ(cnt.frag_needed_sent, KEY_BURST);
	CHECK_EQ(cnt.drop[ROUTER_DROP_ERROR_RATE_LIMITED], FLOOD - KEY_BURST);
}

/* ---- the NAT: 3/13 on exhaustion (RFC 5508 REQ-8) ---- */

struct nat_env {
	struct rss_snapshot *snap;
	struct nat *nat;
	struct nat_worker *w;
};

/* One worker with room for one session. */
static void nat_env_open(struct nat_env *e)
{
	struct rss_config rc;
	struct nat_config nc;
	const char *why = NULL;

	nat_config_default(&nc, ip4(198, 51, 100, 2));
	nc.sessions_per_worker = 1;
	rss_config_default(&rc, 1);
	CHECK_EQ(rss_snapshot_create(&rc, 1, &e->snap, &why), 0);
	CHECK_EQ(nat_create(&nc, e->snap, 1, &e->nat, &why), 0);
	e->w = nat_worker(e->nat, 0);
}

static void nat_env_close(struct nat_env *e)
{
	nat_destroy(e->nat);
	rss_snapshot_destroy(e->snap);
}

/* @n new flows from @src: how many came back as 3/13. */
static unsigned exhaustion_flood(struct nat_env *e, uint32_t src, unsigned n)
{
	static struct frame f;
	struct pkt *p = &f.p;
	unsigned sent = 0;

	for (unsigned i = 0; i < n; i++) {
		frame_udp(&f, src, (uint16_t)(1024 + i), REMOTE, 64, 32, false);
		nat_process(e->w, &p, 1, 0);
		if (p->verdict != PKT_TO_LAN)
			continue;
		CHECK_EQ(p->icmp_type, PKT_ICMP_UNREACH);
		CHECK_EQ(p->icmp_code, PKT_ICMP_UNREACH_ADMIN);
		sent++;
	}
	return sent;
}

TEST(nat_exhaustion_3_13_flood_is_rate_limited)
{
	static struct ratelimit rl;
	const struct nat_counters *c;
	struct nat_env e;

	nat_env_open(&e);
	c = nat_worker_counters(e.w);
	init_icmp(&rl, 0);
	nat_worker_set_error_limit(e.w, &rl);
	CHECK_EQ(exhaustion_flood(&e, host(0), 1), 0); /* takes the one session */
	CHECK_EQ(c->sessions, 1);
	CHECK_EQ(exhaustion_flood(&e, host(1), FLOOD), KEY_BURST);
	CHECK_EQ(c->drop[NAT_DROP_SESSIONS_FULL], FLOOD);
	CHECK_EQ(c->icmp_unreach_sent, KEY_BURST);
	CHECK_EQ(c->icmp_unreach_rate_limited, FLOOD - KEY_BURST);
	/* Another host is told, once it asks. */
	CHECK_EQ(exhaustion_flood(&e, host(2), 1), 1);
	nat_env_close(&e);
}

TEST(nat_without_a_limiter_answers_every_exhaustion)
{
	struct nat_env e;

	/* The simulator's NAT sends nothing anywhere: no limiter given. */
	nat_env_open(&e);
	exhaustion_flood(&e, host(0), 1);
	CHECK_EQ(exhaustion_flood(&e, host(1), 100), 100);
	nat_env_close(&e);
}
