/* test_nat_floods.c - the NAT under state floods (issue 14, item 4): a
 * per-host mapping quota (RFC 6888 REQ-4), LAN ingress filtering (RFC
 * 2827), timeout changes that reach existing sessions, and a fragment cache
 * that a flood of lone fragments cannot keep full (per-source limit,
 * eviction of the oldest entry). */
#include "test.h"
#include "nat_env.h"

#include <string.h>

static uint64_t drops(struct env *e, enum nat_drop why)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < e->workers; i++)
		sum += cnt(e, i)->drop[why];
	return sum;
}

/* One fragment of a UDP datagram: the first (UDP header and 16 bytes,
 * more to come) or the last (the other 16 bytes at offset 24). */
static void frame_frag(struct frame *f, uint8_t side, uint32_t sa, uint16_t sp, uint32_t da,
		       uint16_t dp, uint16_t ip_id, bool first)
{
	static const uint8_t payload[32] = "0123456789abcdef0123456789abcde";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_UDP,
			     .sport = sp,
			     .dport = dp,
			     .ip_id = ip_id,
			     .payload = payload,
			     .payload_len = 16};

	if (first) {
		s.more_frags = true;
		s.l4_csum_given = true;
		s.udp_len = 8 + sizeof(payload);
	} else {
		s.frag_off = 8 + 16;
		s.payload = payload + 16;
	}
	frame_from_spec(f, side, &s);
	CHECK(f->p.flags & PKT_F_FRAG);
}

static uint8_t udp_out(struct env *e, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp,
		       uint32_t now)
{
	struct frame f;

	frame_udp(&f, PKT_SIDE_LAN, sa, sp, da, dp);
	return route(e, &f, now);
}

static struct nat_config config(void)
{
	struct nat_config nc;

	nat_config_default(&nc, wan());
	nc.seed = 1; /* replayable: the same hashing every run */
	return nc;
}

/* ======================================================================
 * RFC 6888 REQ-4: a per-host mapping quota.
 * ====================================================================== */

TEST(rfc6888_req4_host_quota_default)
{
	struct nat_config nc = config();

	CHECK_EQ(nc.host_mappings, NAT_HOST_MAPPINGS_DEFAULT);
	CHECK(NAT_HOST_MAPPINGS_DEFAULT < nc.mappings);
}

/* One host's new ports stop at its quota; other hosts are not touched. */
TEST(rfc6888_req4_host_quota_stops_one_host)
{
	struct nat_config nc = config();
	struct env e;

	nc.host_mappings = 8;
	env_open(&e, 4, &nc, NULL);
	for (uint16_t port = 1; port <= 8; port++)
		CHECK_EQ(udp_out(&e, lan(10), (uint16_t)(2000 + port), remote(1), 53, 0),
			 PKT_TO_WAN);
	/* 3/13 to the host (RFC 5508 REQ-8), and the packet goes no further. */
	CHECK(udp_out(&e, lan(10), 3000, remote(1), 53, 0) != PKT_TO_WAN);
	CHECK(udp_out(&e, lan(10), 3001, remote(2), 53, 0) != PKT_TO_WAN);
	CHECK_EQ(drops(&e, NAT_DROP_HOST_QUOTA), 2);
	/* TCP counts against the same quota. */
	struct frame f;
	frame_tcp(&f, PKT_SIDE_LAN, lan(10), 4000, remote(1), 80, PKT_TCP_SYN);
	CHECK(route(&e, &f, 0) != PKT_TO_WAN);
	CHECK_EQ(drops(&e, NAT_DROP_HOST_QUOTA), 3);
	/* An existing mapping still opens sessions to new remotes. */
	CHECK_EQ(udp_out(&e, lan(10), 2001, remote(9), 53, 0), PKT_TO_WAN);
	/* Another host is not affected. */
	for (uint16_t port = 1; port <= 8; port++)
		CHECK_EQ(udp_out(&e, lan(11), (uint16_t)(2000 + port), remote(1), 53, 0),
			 PKT_TO_WAN);
	/* Raised at run time: room at once. */
	nat_set_host_mappings(e.nat, 9);
	CHECK_EQ(nat_get_host_mappings(e.nat), 9);
	CHECK_EQ(udp_out(&e, lan(10), 3000, remote(1), 53, 1), PKT_TO_WAN);
	CHECK(udp_out(&e, lan(10), 3002, remote(1), 53, 1) != PKT_TO_WAN);
	/* Mappings that end give their share back, whichever worker owned
	 * them. */
	for (uint32_t t = 2; t <= 310; t++)
		tick(&e, t);
	CHECK_EQ(TOTAL(&e, sessions), 0);
	for (uint16_t port = 1; port <= 9; port++)
		CHECK_EQ(udp_out(&e, lan(10), (uint16_t)(5000 + port), remote(1), 53, 311),
			 PKT_TO_WAN);
	CHECK(udp_out(&e, lan(10), 6000, remote(1), 53, 311) != PKT_TO_WAN);
	/* 0: no quota. */
	nat_set_host_mappings(e.nat, 0);
	CHECK_EQ(udp_out(&e, lan(10), 6000, remote(1), 53, 311), PKT_TO_WAN);
	env_close(&e);
}

/* The quota's count is per host across protocols and survives a lost race
 * and a mapping that never got a session. */
TEST(rfc6888_req4_host_quota_mapping_without_session_gives_back)
{
	struct nat_config nc = config();
	struct env e;

	nc.host_mappings = 2;
	nc.sessions_per_worker = 1;
	env_open(&e, 1, &nc, NULL);
	CHECK_EQ(udp_out(&e, lan(10), 2000, remote(1), 53, 0), PKT_TO_WAN);
	/* No session left: the mapping made for it is abandoned. */
	for (int i = 0; i < 5; i++)
		CHECK(udp_out(&e, lan(10), (uint16_t)(2001 + i), remote(1), 53, 0) != PKT_TO_WAN);
	CHECK_EQ(drops(&e, NAT_DROP_SESSIONS_FULL), 5);
	CHECK_EQ(drops(&e, NAT_DROP_HOST_QUOTA), 0);
	env_close(&e);
}

/* ======================================================================
 * RFC 2827: the LAN side takes only sources a LAN host may have.
 * ====================================================================== */

TEST(rfc2827_lan_sources_outside_the_prefix_dropped)
{
	struct nat_config nc = config();
	struct env e;

	env_open(&e, 1, &nc, NULL);
	CHECK_EQ(udp_out(&e, pkt_ipv4(10, 1, 2, 3), 2000, remote(1), 53, 0), PKT_DROP);
	CHECK_EQ(udp_out(&e, pkt_ipv4(192, 168, 138, 5), 2000, remote(1), 53, 0), PKT_DROP);
	/* The subnet's own address, its broadcast and the gateway's address
	 * are no host's source either. */
	CHECK_EQ(udp_out(&e, lan(0), 2000, remote(1), 53, 0), PKT_DROP);
	CHECK_EQ(udp_out(&e, lan(255), 2000, remote(1), 53, 0), PKT_DROP);
	CHECK_EQ(udp_out(&e, lan(1), 2000, remote(1), 53, 0), PKT_DROP);
	CHECK_EQ(drops(&e, NAT_DROP_SRC_NOT_LAN), 5);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 0);
	CHECK_EQ(udp_out(&e, lan(254), 2000, remote(1), 53, 0), PKT_TO_WAN);
	env_close(&e);
}

/* The gateway host's own traffic (the DNS proxy asking upstream, a ping
 * from the host) comes from the gateway's LAN address, injected by the
 * control thread and marked so: it is translated like a LAN host's. The
 * same source from the LAN wire is a forgery and stays dropped. */
TEST(rfc2827_gateway_address_only_from_the_host_itself)
{
	struct nat_config nc = config();
	struct env e;
	struct frame f;

	env_open(&e, 1, &nc, NULL);
	frame_udp(&f, PKT_SIDE_LAN, lan(1), 2000, remote(1), 53);
	f.p.flags |= PKT_F_FROM_HOST;
	CHECK_EQ(route(&e, &f, 0), PKT_TO_WAN);
	CHECK_EQ(udp_out(&e, lan(1), 2001, remote(1), 53, 0), PKT_DROP);
	CHECK_EQ(drops(&e, NAT_DROP_SRC_NOT_LAN), 1);
	env_close(&e);
}

/* ======================================================================
 * Timeout changes reach existing sessions.
 * ====================================================================== */

TEST(timeout_change_shortens_existing_sessions)
{
	struct nat_config nc = config();
	struct nat_timeouts t;
	struct env e;

	env_open(&e, 2, &nc, NULL);
	for (uint16_t port = 0; port < 40; port++)
		CHECK_EQ(udp_out(&e, lan(10), (uint16_t)(2000 + port), remote(1), 53, 0),
			 PKT_TO_WAN);
	CHECK_EQ(udp_out(&e, lan(11), 2000, remote(1), 53, 8), PKT_TO_WAN);
	tick(&e, 10);
	CHECK_EQ(TOTAL(&e, sessions), 41);
	nat_get_timeouts(e.nat, &t);
	t.udp = 5;
	CHECK_EQ(nat_set_timeouts(e.nat, &t), 0);
	/* Idle since 0: due at 5, already past. The one seen at 8 lives to
	 * 13. */
	tick(&e, 11);
	CHECK_EQ(TOTAL(&e, sessions), 1);
	tick(&e, 12);
	CHECK_EQ(TOTAL(&e, sessions), 1);
	tick(&e, 13);
	CHECK_EQ(TOTAL(&e, sessions), 0);
	uint64_t retimed = cnt(&e, 0)->sessions_retimed + cnt(&e, 1)->sessions_retimed;
	CHECK_EQ(retimed, 41);
	env_close(&e);
}

TEST(timeout_change_lengthens_existing_sessions)
{
	struct nat_config nc = config();
	struct nat_timeouts t;
	struct frame f;
	struct env e;

	env_open(&e, 1, &nc, NULL);
	frame_tcp(&f, PKT_SIDE_LAN, lan(10), 4000, remote(1), 80, PKT_TCP_SYN);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_WAN);
	CHECK_EQ(udp_out(&e, lan(10), 2000, remote(1), 53, 0), PKT_TO_WAN);
	nat_get_timeouts(e.nat, &t);
	t.udp = 1000;
	t.tcp_opening = 600;
	CHECK_EQ(nat_set_timeouts(e.nat, &t), 0);
	for (uint32_t now = 1; now < 600; now++)
		tick(&e, now);
	CHECK_EQ(TOTAL(&e, sessions), 2);
	tick(&e, 600);
	CHECK_EQ(TOTAL(&e, sessions), 1); /* TCP opening */
	for (uint32_t now = 601; now <= 1000; now++)
		tick(&e, now);
	CHECK_EQ(TOTAL(&e, sessions), 0);
	env_close(&e);
}

/* ======================================================================
 * The fragment cache under a flood of lone fragments.
 * ====================================================================== */

/* A full cache makes room for a new datagram by evicting its oldest entry;
 * a fragment held for that entry is dropped, released exactly once. */
TEST(frag_table_full_evicts_oldest)
{
	struct nat_config nc = config();
	struct pkt *out[8], *pp;
	struct frame lone[4], f1, f2;
	struct env e;

	nc.frags_per_worker = 4;
	env_open(&e, 1, &nc, NULL);
	for (unsigned i = 0; i < 4; i++) {
		frame_frag(&lone[i], PKT_SIDE_WAN, remote(100 + i), 53, wan(), 7000,
			   (uint16_t)(10 + i), false);
		pp = &lone[i].p;
		CHECK_EQ(nat_process(wk(&e, 0), &pp, 1, i), 0);
		CHECK_EQ(lone[i].p.verdict, PKT_PENDING);
	}
	/* A LAN host's fragmented datagram: the first lone one makes room. */
	frame_frag(&f1, PKT_SIDE_LAN, lan(10), 5000, remote(1), 53, 77, true);
	frame_frag(&f2, PKT_SIDE_LAN, lan(10), 5000, remote(1), 53, 77, false);
	CHECK_EQ(route(&e, &f1, 5), PKT_TO_WAN);
	CHECK_EQ(route(&e, &f2, 5), PKT_TO_WAN);
	CHECK_EQ(cnt(&e, 0)->frag_entries_evicted, 1);
	/* Not in the burst that evicted: between bursts, from nat_expire(). */
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	tick(&e, 5);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 1);
	CHECK(out[0] == &lone[0].p);
	CHECK_EQ(lone[0].p.verdict, PKT_DROP);
	CHECK_EQ(lone[0].p.drop, NAT_DROP_FRAG_EVICTED);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	CHECK_EQ(drops(&e, NAT_DROP_FRAG_TABLE_FULL), 0);
	/* The others time out once each, as before. */
	tick(&e, 40);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 3);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(out[i]->drop, NAT_DROP_FRAG_TIMEOUT);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	CHECK_EQ(drops(&e, NAT_DROP_FRAG_EVICTED), 1);
	env_close(&e);
}

/* Eviction under a sustained flood, in one burst: every held frame comes
 * back once, and the legitimate datagram still goes through. */
TEST(frag_flood_in_one_burst_each_frame_once)
{
	struct nat_config nc = config();
	enum { N = 40 };
	static struct frame lone[N];
	struct pkt *burst[N], *out[64];
	struct frame f1, f2;
	unsigned seen[N] = {0}, got;
	struct env e;

	nc.frags_per_worker = 8;
	env_open(&e, 1, &nc, NULL);
	for (unsigned i = 0; i < N; i++) {
		frame_frag(&lone[i], PKT_SIDE_WAN, remote(1 + i), 53, wan(), 7000, (uint16_t)i,
			   false);
		burst[i] = &lone[i].p;
	}
	nat_process(wk(&e, 0), burst, N, 1);
	/* Nothing held in this burst comes back with it. */
	CHECK_EQ(nat_released(wk(&e, 0), out, 64), 0);
	for (unsigned i = 0; i < N; i++)
		CHECK(lone[i].p.verdict == PKT_PENDING ||
		      (lone[i].p.verdict == PKT_DROP &&
		       lone[i].p.drop == NAT_DROP_FRAG_SOURCE_LIMIT));
	tick(&e, 1);
	got = nat_released(wk(&e, 0), out, 64);
	for (unsigned k = 0; k < got; k++)
		for (unsigned i = 0; i < N; i++)
			seen[i] += out[k] == &lone[i].p;
	for (unsigned k = 0; k < got; k++)
		CHECK_EQ(out[k]->drop, NAT_DROP_FRAG_EVICTED);
	for (unsigned i = 0; i < N; i++)
		CHECK(seen[i] <= 1);
	/* 8 still held; each of the others evicted once, released once (or
	 * refused at once where two sources share a limit's slot). */
	CHECK_EQ(got + drops(&e, NAT_DROP_FRAG_SOURCE_LIMIT), N - 8);
	CHECK_EQ(drops(&e, NAT_DROP_FRAG_EVICTED), got);
	CHECK(got >= N / 2);
	CHECK_EQ(drops(&e, NAT_DROP_FRAG_TABLE_FULL), 0);
	frame_frag(&f1, PKT_SIDE_LAN, lan(10), 5000, remote(1), 53, 77, true);
	frame_frag(&f2, PKT_SIDE_LAN, lan(10), 5000, remote(1), 53, 77, false);
	CHECK_EQ(route(&e, &f1, 2), PKT_TO_WAN);
	CHECK_EQ(route(&e, &f2, 2), PKT_TO_WAN);
	tick(&e, 2);
	CHECK_EQ(nat_released(wk(&e, 0), out, 64), 1);
	env_close(&e);
}

/* One source's datagrams that wait for a first fragment may hold only a
 * share of the cache. */
TEST(frag_per_source_limit)
{
	struct nat_config nc = config();
	unsigned limit = 32 / NAT_FRAG_SOURCE_SHARE;
	struct frame lone[8], other, first;
	struct pkt *pp, *out[8];
	struct env e;

	nc.frags_per_worker = 32;
	env_open(&e, 1, &nc, NULL);
	for (unsigned i = 0; i <= limit; i++) {
		frame_frag(&lone[i], PKT_SIDE_WAN, remote(5), 53, wan(), 7000, (uint16_t)i, false);
		pp = &lone[i].p;
		nat_process(wk(&e, 0), &pp, 1, 1);
	}
	for (unsigned i = 0; i < limit; i++)
		CHECK_EQ(lone[i].p.verdict, PKT_PENDING);
	CHECK_EQ(lone[limit].p.verdict, PKT_DROP);
	CHECK_EQ(lone[limit].p.drop, NAT_DROP_FRAG_SOURCE_LIMIT);
	CHECK_EQ(drops(&e, NAT_DROP_FRAG_SOURCE_LIMIT), 1);
	/* Another source is not limited by it. */
	frame_frag(&other, PKT_SIDE_WAN, remote(6), 53, wan(), 7000, 1, false);
	pp = &other.p;
	nat_process(wk(&e, 0), &pp, 1, 1);
	CHECK_EQ(other.p.verdict, PKT_PENDING);
	CHECK_EQ(other.p.drop, 0);
	/* A first fragment arriving takes its datagram off the source's count
	 * (the held one is released, dropped: no mapping for port 7000). */
	frame_frag(&first, PKT_SIDE_WAN, remote(5), 53, wan(), 7000, 0, true);
	pp = &first.p;
	nat_process(wk(&e, 0), &pp, 1, 1);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 1);
	frame_frag(&lone[limit], PKT_SIDE_WAN, remote(5), 53, wan(), 7000, 99, false);
	pp = &lone[limit].p;
	nat_process(wk(&e, 0), &pp, 1, 1);
	CHECK_EQ(lone[limit].p.verdict, PKT_PENDING);
	/* And expiry gives the rest back. */
	tick(&e, 40);
	CHECK(nat_released(wk(&e, 0), out, 8) == limit + 1);
	for (unsigned i = 0; i < limit; i++) {
		frame_frag(&lone[i], PKT_SIDE_WAN, remote(5), 53, wan(), 7000, (uint16_t)(200 + i),
			   false);
		pp = &lone[i].p;
		nat_process(wk(&e, 0), &pp, 1, 41);
		CHECK_EQ(lone[i].p.verdict, PKT_PENDING);
	}
	tick(&e, 80);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), limit);
	env_close(&e);
}

/* The oldest entry has a fragment held from an earlier burst; a second
 * fragment of that datagram is held in this burst, and a new datagram
 * later in the same burst evicts the entry. Neither held fragment may get
 * a verdict in this burst (the caller would send or free it here and get
 * it back from nat_released() too): both come back once, after it. */
TEST(frag_evicted_in_the_burst_that_held_it)
{
	struct nat_config nc = config();
	struct frame a, b, c, fill[3];
	struct pkt *pp, *burst[2], *out[8];
	struct env e;

	nc.frags_per_worker = 4;
	env_open(&e, 1, &nc, NULL);
	frame_frag(&a, PKT_SIDE_WAN, remote(1), 53, wan(), 7000, 500, false);
	pp = &a.p;
	nat_process(wk(&e, 0), &pp, 1, 1);
	for (unsigned i = 0; i < 3; i++) {
		frame_frag(&fill[i], PKT_SIDE_WAN, remote(10 + i), 53, wan(), 7000,
			   (uint16_t)(600 + i), false);
		pp = &fill[i].p;
		nat_process(wk(&e, 0), &pp, 1, 1);
	}
	/* b: a second later fragment of a's datagram (another offset). */
	struct pkt_spec s = {.saddr = remote(1),
			     .daddr = wan(),
			     .proto = PKT_PROTO_UDP,
			     .ip_id = 500,
			     .frag_off = 48,
			     .more_frags = true,
			     .payload = (const uint8_t *)"0123456789abcdef",
			     .payload_len = 16};
	frame_from_spec(&b, PKT_SIDE_WAN, &s);
	frame_frag(&c, PKT_SIDE_WAN, remote(20), 53, wan(), 7000, 700, false);
	burst[0] = &b.p;
	burst[1] = &c.p;
	nat_process(wk(&e, 0), burst, 2, 2);
	CHECK_EQ(cnt(&e, 0)->frag_entries_evicted, 1);
	CHECK_EQ(b.p.verdict, PKT_PENDING);
	CHECK_EQ(c.p.verdict, PKT_PENDING);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	tick(&e, 2);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 2);
	CHECK((out[0] == &a.p && out[1] == &b.p) || (out[0] == &b.p && out[1] == &a.p));
	CHECK_EQ(a.p.drop, NAT_DROP_FRAG_EVICTED);
	CHECK_EQ(b.p.drop, NAT_DROP_FRAG_EVICTED);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	env_close(&e);
}
