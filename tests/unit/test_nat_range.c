/* test_nat_range.c - the NAT's external port range (nat_config port_lo,
 * port_hi): in shared uplink mode the host's kernel picks its own
 * ephemeral ports from net.ipv4.ip_local_port_range on the same address,
 * so every port the NAT hands out must stay in a range of its own, and
 * steering must still find ports there (issue 11). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "nat_env.h"
#include "test.h"

static void frame_echo_req(struct frame *f, uint32_t sa, uint32_t da, uint16_t id)
{
	static const uint8_t payload[] = "ping";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_ICMP,
			     .icmp_type = PKT_ICMP_ECHO,
			     .icmp_id = id,
			     .icmp_seq = 1,
			     .payload = payload,
			     .payload_len = sizeof(payload)};

	frame_from_spec(f, PKT_SIDE_LAN, &s);
}

/* One new flow out: its external port (or identifier), or -1 if dropped. */
static int flow_out(struct env *e, int kind, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	struct frame f;

	if (kind == 0)
		frame_udp(&f, PKT_SIDE_LAN, la, lp, ra, rp);
	else if (kind == 1)
		frame_tcp(&f, PKT_SIDE_LAN, la, lp, ra, rp, PKT_TCP_SYN);
	else
		frame_echo_req(&f, la, ra, lp);
	if (route(e, &f, 0) != PKT_TO_WAN)
		return -1;
	struct pkt q = reparse(&f);
	return q.sport;
}

/* @n flows of every kind from internal ports all over 0-65535 (below
 * 1024, inside the range, above it): every external port in [lo, hi]. */
static unsigned outside_range(struct env *e, unsigned n, uint16_t lo, uint16_t hi)
{
	unsigned outside = 0;

	for (unsigned k = 0; k < n; k++) {
		uint16_t lp = (uint16_t)(k % 3 == 0 ? 1 + test_rand() % 1023 : test_rand());
		int ext = flow_out(e, (int)(k % 3), lan(10 + k % 50), lp, remote(1 + k % 200),
				   (uint16_t)(1000 + k));
		if (!CHECK(ext >= 0))
			continue;
		outside += ext < lo || ext > hi;
	}
	return outside;
}

TEST(nat_range_dynamic_ports_stay_inside)
{
	static const uint16_t ranges[][2] = {{1024, 32767}, {61000, 65535}, {40000, 40999}};

	for (unsigned r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		struct nat_config nc;
		struct env e;
		nat_config_default(&nc, wan());
		nc.port_lo = ranges[r][0];
		nc.port_hi = ranges[r][1];
		env_open(&e, 4, &nc, NULL);
		CHECK_EQ(outside_range(&e, 900, ranges[r][0], ranges[r][1]), 0);
		env_close(&e);
	}
}

/* Not steering, the NAT keeps a free internal port (RFC 4787 REQ-1's
 * preservation): not when it lies outside the range. */
TEST(nat_range_no_port_kept_outside)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.steering = NAT_STEER_HANDOFF;
	nc.port_lo = 61000;
	nc.port_hi = 65535;
	env_open(&e, 2, &nc, NULL);
	CHECK_EQ(flow_out(&e, 0, lan(10), 61234, remote(1), 53), 61234); /* inside: kept */
	int ext = flow_out(&e, 0, lan(10), 40000, remote(1), 53);
	CHECK(ext >= 61000 && ext <= 65535);
	ext = flow_out(&e, 1, lan(11), 22, remote(1), 80);
	CHECK(ext >= 61000 && ext <= 65535);
	env_close(&e);
}

/* A range of one port: one mapping, then exhaustion (a counted drop). */
TEST(nat_range_of_one_port_is_exhausted)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.port_lo = nc.port_hi = 50000;
	env_open(&e, 1, &nc, NULL);
	CHECK_EQ(flow_out(&e, 0, lan(10), 1234, remote(1), 53), 50000);
	CHECK_EQ(flow_out(&e, 0, lan(11), 1234, remote(1), 53), -1);
	CHECK_EQ(TOTAL(&e, drop[NAT_DROP_PORTS_EXHAUSTED]), 1);
	env_close(&e);
}

TEST(nat_range_inverted_is_refused)
{
	struct rss_config rc;
	struct rss_snapshot *snap;
	struct nat_config nc;
	struct nat *nat = NULL;
	const char *why = NULL;

	rss_config_default(&rc, 1);
	CHECK_EQ(rss_snapshot_create(&rc, 1, &snap, &why), 0);
	nat_config_default(&nc, wan());
	nc.port_lo = 5000;
	nc.port_hi = 4000;
	CHECK(nat_create(&nc, snap, 1, &nat, &why) == -EINVAL);
	CHECK(why && strstr(why, "port range"));
	rss_snapshot_destroy(snap);
}

/* The default: the full range, as before (dedicated mode). */
TEST(nat_range_default_is_everything)
{
	struct nat_config nc;

	nat_config_default(&nc, wan());
	CHECK_EQ(nc.port_lo, 0);
	CHECK_EQ(nc.port_hi, 65535);
}

/* The shared-mode default: the larger block outside the kernel's range,
 * above the well-known ports. */
TEST(nat_range_outside_kernel)
{
	uint16_t lo = 0, hi = 0;

	CHECK_EQ(nat_port_range_outside(32768, 60999, &lo, &hi), 0);
	CHECK_EQ(lo, 1024); /* 1024-32767: 31744 ports, more than 61000-65535's 4536 */
	CHECK_EQ(hi, 32767);
	CHECK_EQ(nat_port_range_outside(1024, 50000, &lo, &hi), 0);
	CHECK_EQ(lo, 50001);
	CHECK_EQ(hi, 65535);
	CHECK_EQ(nat_port_range_outside(10000, 65535, &lo, &hi), 0);
	CHECK_EQ(lo, 1024);
	CHECK_EQ(hi, 9999);
	CHECK(nat_port_range_outside(1024, 65535, &lo, &hi) < 0); /* nothing left */
	CHECK(nat_port_range_overlaps(1024, 32767, 32768, 60999) == false);
	CHECK(nat_port_range_overlaps(30000, 40000, 32768, 60999) == true);
	CHECK(nat_port_range_overlaps(60999, 65535, 32768, 60999) == true);
	CHECK(nat_port_range_overlaps(61000, 65535, 32768, 60999) == false);
}

/* Steering with a smaller range: fewer candidates per bucket, the same
 * share of steered ports. Prints the share measured (issue 11 asks). */
static double steered_share(uint16_t lo, uint16_t hi, unsigned n)
{
	struct nat_config nc;
	struct env e;
	double share;

	nat_config_default(&nc, wan());
	nc.port_lo = lo;
	nc.port_hi = hi;
	env_open(&e, 4, &nc, NULL);
	for (unsigned k = 0; k < n; k++)
		CHECK(flow_out(&e, (int)(k & 1), lan(10 + k % 200), (uint16_t)(20000 + k),
			       remote(1 + k % 100), (uint16_t)(1000 + k % 7)) >= 0);
	share = (double)(TOTAL(&e, port_steered) + TOTAL(&e, port_kept)) / n;
	printf("  steered share %u-%u (%u ports), %u flows: %.4f (unsteered %llu)\n", lo, hi,
	       hi - lo + 1u, n, share, (unsigned long long)TOTAL(&e, port_unsteered));
	env_close(&e);
	return share;
}

TEST(nat_range_steering_still_finds_ports)
{
	CHECK(steered_share(0, 65535, 4000) >= 0.999);
	CHECK(steered_share(1024, 32767, 4000) >= 0.999);
	CHECK(steered_share(61000, 65535, 4000) >= 0.99);
}

/* ---- ports_live: what the NAT's live mappings hold, published ---- */

enum { LIVE_WORDS = 3 * 65536 / 64 }; /* TCP's, UDP's, ICMP's (claim_maps.h) */

static _Atomic uint64_t live_bits[LIVE_WORDS];

/* @kind as flow_out(): 0 UDP, 1 TCP, 2 ICMP; the word base in ports_live. */
static bool is_live(int kind, int port)
{
	unsigned base = kind == 1 ? 0 : kind == 0 ? 1024 : 2048;

	return (atomic_load(&live_bits[base + ((unsigned)port >> 6)]) >> (port & 63)) & 1;
}

static unsigned live_count(void)
{
	unsigned set = 0;

	for (unsigned i = 0; i < LIVE_WORDS; i++)
		set += (unsigned)__builtin_popcountll(atomic_load(&live_bits[i]));
	return set;
}

static void live_open(struct env *e, unsigned workers, uint32_t host_quota)
{
	struct nat_config nc;

	for (unsigned i = 0; i < LIVE_WORDS; i++)
		atomic_init(&live_bits[i], 0);
	nat_config_default(&nc, wan());
	nc.port_lo = 1024;
	nc.port_hi = 32767;
	nc.host_mappings = host_quota;
	nc.ports_live = live_bits;
	env_open(e, workers, &nc, NULL);
}

/* The external ports and identifiers of dynamic mappings, of every
 * protocol, published while they live (shared mode: the rest of the NAT's
 * range is the host's, src/io/bpf/claim_decide.h), and cleared when the
 * janitor frees them. */
TEST(nat_live_ports_published_while_live)
{
	struct env e;
	int port[3];

	live_open(&e, 2, 0);
	for (int kind = 0; kind < 3; kind++) {
		port[kind] = flow_out(&e, kind, lan(10), (uint16_t)(5000 + kind), remote(1), 53);
		CHECK(port[kind] >= 1024 && port[kind] <= 32767);
		CHECK(is_live(kind, port[kind]));
	}
	CHECK_EQ(live_count(), 3); /* nothing else, and each in its protocol's part */
	CHECK(!is_live(0, port[1]) || port[0] == port[1]);
	tick(&e, 100000); /* past every timeout: the mappings end */
	tick(&e, 100001);
	CHECK_EQ(TOTAL(&e, mappings_freed), 3);
	CHECK_EQ(live_count(), 0);
	env_close(&e);
}

/* A mapping refused (the host's quota, RFC 6888 REQ-4) leaves no bit. */
TEST(nat_live_ports_none_for_refused_mappings)
{
	struct env e;
	unsigned ok = 0;

	live_open(&e, 2, 4);
	for (unsigned k = 0; k < 10; k++)
		ok += flow_out(&e, (int)(k % 2), lan(10), (uint16_t)(6000 + k), remote(1), 53) >= 0;
	CHECK_EQ(ok, 4);
	CHECK(TOTAL(&e, drop[NAT_DROP_HOST_QUOTA]) >= 6);
	CHECK_EQ(live_count(), 4);
	env_close(&e);
}

/* Renumbered (the WAN address changed): the old mappings end, their bits
 * with them; the new address's mappings publish theirs. */
TEST(nat_live_ports_cleared_on_renumbering)
{
	struct env e;
	int p;

	live_open(&e, 2, 0);
	for (unsigned k = 0; k < 6; k++)
		CHECK(flow_out(&e, (int)(k % 3), lan(10 + k), 7000, remote(1), 53) >= 0);
	CHECK_EQ(live_count(), 6);
	CHECK_EQ(nat_set_wan_addr(e.nat, pkt_ipv4(198, 51, 100, 3)), 0);
	for (unsigned i = 0; i < e.workers; i++)
		nat_worker_sync(wk(&e, i));
	tick(&e, 2);
	tick(&e, 3);
	CHECK_EQ(live_count(), 0);
	p = flow_out(&e, 1, lan(10), 7001, remote(1), 80);
	CHECK(p >= 0 && is_live(1, p));
	CHECK_EQ(live_count(), 1);
	env_close(&e);
}
