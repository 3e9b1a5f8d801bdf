/* test_nat.c - the NAT engine end to end: frames built with pkt_build(),
 * parsed, pushed through nat_process() on the worker a NIC would pick, and
 * the translated frames parsed again and checked field by field and
 * checksum by checksum. Test names cite the requirement they prove
 * (RFC 4787 UDP, RFC 5382 TCP, RFC 5508 ICMP, RFC 7857 updates). */
#include "test.h"
#include "nat_env.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- addresses, beyond nat_env.h's ---- */

static uint32_t gw_lan(void)
{
	return pkt_ipv4(192, 168, 137, 1);
}

static uint32_t router(void)
{
	return pkt_ipv4(198, 18, 0, 1);
}

static void tick_each_second(struct env *e, uint32_t from, uint32_t to)
{
	for (uint32_t t = from; t <= to; t++)
		tick(e, t);
}

/* ---- frames, beyond nat_env.h's ---- */

static void frame_echo(struct frame *f, uint8_t side, uint32_t sa, uint32_t da, uint8_t type,
		       uint16_t id)
{
	static const uint8_t payload[] = "ping ping ping ping";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_ICMP,
			     .icmp_type = type,
			     .icmp_id = id,
			     .icmp_seq = 7,
			     .payload = payload,
			     .payload_len = sizeof(payload)};

	frame_from_spec(f, side, &s);
}

/* An ICMP error from @sa to @da quoting the IP packet of @quoted (the whole
 * datagram, or only its IP header and 8 bytes when @short_quote). */
static void frame_icmp_error(struct frame *f, uint8_t side, uint32_t sa, uint32_t da, uint8_t type,
			     uint8_t code, const struct frame *quoted, bool short_quote)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	const struct pkt *q = &quoted->p;
	size_t qlen = short_quote ? (size_t)(q->l4_off - q->l3_off) + 8 : q->l3_len;
	size_t len = pkt_build_icmp_error(f->buf, BUF, mac, mac, sa, da, type, code,
					  q->data + q->l3_off, qlen);

	CHECK(len > 0);
	CHECK_EQ(pkt_parse(&f->p, f->buf, (uint16_t)len, BUF), PKT_OK);
	CHECK(f->p.flags & PKT_F_ICMP_ERROR);
	f->p.side = side;
}

static unsigned nic_bucket(const struct env *e, const struct pkt *p)
{
	return rss_bucket(e->snap, nat_packet_hash(e->snap, p));
}

/* The quoted datagram of an ICMP error carries its whole L4 part: check its
 * L4 checksum as its receiver would (pkt_checksums_ok() does not). */
static bool inner_l4_checksum_ok(const struct pkt *q)
{
	const struct pkt_inner *in = &q->inner;
	const uint8_t *l4 = q->data + in->l4_off;
	uint16_t got;

	switch (in->proto) {
	case PKT_PROTO_UDP:
		memcpy(&got, l4 + 6, 2);
		return got == 0 ||
		       got == csum_ipv4_l4(in->saddr, in->daddr, in->proto, l4, in->l4_len);
	case PKT_PROTO_TCP:
		memcpy(&got, l4 + 16, 2);
		return got == csum_ipv4_l4(in->saddr, in->daddr, in->proto, l4, in->l4_len);
	case PKT_PROTO_ICMP:
		memcpy(&got, l4 + 2, 2);
		return got == csum_icmp(l4, in->l4_len);
	}
	return false;
}

/* ---- sessions ---- */

struct found {
	unsigned n;
	struct nat_session_info last;
	uint8_t proto;
	uint32_t lan_addr;
	uint16_t lan_port;
	uint32_t rem_addr;
	uint16_t rem_port;
};

static void visit_match(void *ctx, const struct nat_session_info *s)
{
	struct found *f = ctx;

	if (s->proto == f->proto && s->lan_addr == f->lan_addr && s->lan_port == f->lan_port &&
	    s->rem_addr == f->rem_addr && s->rem_port == f->rem_port) {
		f->n++;
		f->last = *s;
	}
}

/* The session (on any worker), or NULL info with n == 0. */
static struct found find_session(struct env *e, uint8_t proto, uint32_t lan_addr, uint16_t lan_port,
				 uint32_t rem_addr, uint16_t rem_port)
{
	struct found f = {.proto = proto,
			  .lan_addr = lan_addr,
			  .lan_port = lan_port,
			  .rem_addr = rem_addr,
			  .rem_port = rem_port};

	for (unsigned i = 0; i < e->workers; i++)
		nat_worker_sessions(wk(e, i), visit_match, &f);
	return f;
}

static const char *tcp_state(struct env *e, uint32_t lan_addr, uint16_t lan_port, uint32_t rem_addr,
			     uint16_t rem_port)
{
	struct found f = find_session(e, PKT_PROTO_TCP, lan_addr, lan_port, rem_addr, rem_port);

	return f.n == 1 ? nat_tcp_state_name(f.last.tcp_state) : "none";
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

#define CHECK_STATE(e, la, lp, ra, rp, want)                                                       \
	do {                                                                                       \
		const char *got_ = tcp_state((e), (la), (lp), (ra), (rp));                         \
		if (!CHECK(streq(got_, (want))))                                                   \
			printf("    state %s, want %s\n", got_, (want));                           \
	} while (0)

/* ---- common exchanges ---- */

/* LAN endpoint -> remote, UDP, routed; returns the external port (0 if not
 * sent to the WAN). */
static uint16_t udp_out(struct env *e, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp,
			uint32_t now)
{
	struct frame f;

	frame_udp(&f, PKT_SIDE_LAN, la, lp, ra, rp);
	if (route(e, &f, now) != PKT_TO_WAN)
		return 0;
	struct pkt q = reparse(&f);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.daddr, ra);
	CHECK_EQ(q.dport, rp);
	return q.sport;
}

/* Remote -> WAN address:@ext, UDP, routed; returns the verdict, and checks a
 * delivery reaches @la:@lp. */
static uint8_t udp_in(struct env *e, uint32_t ra, uint16_t rp, uint16_t ext, uint32_t la,
		      uint16_t lp, uint32_t now)
{
	struct frame f;
	uint8_t v;

	frame_udp(&f, PKT_SIDE_WAN, ra, rp, wan(), ext);
	v = route(e, &f, now);
	if (v == PKT_TO_LAN) {
		struct pkt q = reparse(&f);
		CHECK_EQ(q.saddr, ra);
		CHECK_EQ(q.sport, rp);
		CHECK_EQ(q.daddr, la);
		CHECK_EQ(q.dport, lp);
	}
	return v;
}

static uint16_t tcp_out(struct env *e, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp,
			uint8_t flags, uint32_t now)
{
	struct frame f;

	frame_tcp(&f, PKT_SIDE_LAN, la, lp, ra, rp, flags);
	if (route(e, &f, now) != PKT_TO_WAN)
		return 0;
	struct pkt q = reparse(&f);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.daddr, ra);
	CHECK_EQ(q.dport, rp);
	CHECK_EQ(q.tcp_flags, flags);
	return q.sport;
}

static uint8_t tcp_in(struct env *e, uint32_t ra, uint16_t rp, uint16_t ext, uint32_t la,
		      uint16_t lp, uint8_t flags, uint32_t now)
{
	struct frame f;
	uint8_t v;

	frame_tcp(&f, PKT_SIDE_WAN, ra, rp, wan(), ext, flags);
	v = route(e, &f, now);
	if (v == PKT_TO_LAN) {
		struct pkt q = reparse(&f);
		CHECK_EQ(q.saddr, ra);
		CHECK_EQ(q.sport, rp);
		CHECK_EQ(q.daddr, la);
		CHECK_EQ(q.dport, lp);
	}
	return v;
}

/* ======================================================================
 * RFC 4787 REQ-1, RFC 5382 REQ-1, RFC 5508 REQ-1: endpoint-independent
 * mapping.
 * ====================================================================== */

TEST(rfc4787_req1_udp_endpoint_independent_mapping)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext1 = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	uint16_t ext2 = udp_out(&e, lan(10), 5000, remote(2), 1234, 1);
	uint16_t ext3 = udp_out(&e, lan(10), 5000, remote(1), 54, 2);
	CHECK(ext1 != 0);
	CHECK_EQ(ext2, ext1);
	CHECK_EQ(ext3, ext1);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 1);
	CHECK_EQ(cnt(&e, 0)->sessions_created, 3);
	CHECK_EQ(cnt(&e, 0)->sessions, 3);
	/* Both remotes reach the internal endpoint through it. */
	CHECK_EQ(udp_in(&e, remote(1), 53, ext1, lan(10), 5000, 3), PKT_TO_LAN);
	CHECK_EQ(udp_in(&e, remote(2), 1234, ext1, lan(10), 5000, 3), PKT_TO_LAN);
	/* Another internal endpoint gets another mapping. */
	uint16_t other = udp_out(&e, lan(10), 5001, remote(1), 53, 4);
	CHECK(other != 0 && other != ext1);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 2);
	CHECK_EQ(cnt(&e, 0)->tx_wan, 4);
	CHECK_EQ(cnt(&e, 0)->tx_lan, 2);
	CHECK_EQ(cnt(&e, 0)->dropped, 0);
	env_close(&e);
}

TEST(rfc5382_req1_tcp_endpoint_independent_mapping)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext1 = tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_SYN, 0);
	uint16_t ext2 = tcp_out(&e, lan(10), 40000, remote(2), 443, PKT_TCP_SYN, 0);
	CHECK(ext1 != 0);
	CHECK_EQ(ext2, ext1);
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext1, lan(10), 40000, PKT_TCP_SYN | PKT_TCP_ACK, 1),
		 PKT_TO_LAN);
	CHECK_EQ(tcp_in(&e, remote(2), 443, ext1, lan(10), 40000, PKT_TCP_SYN | PKT_TCP_ACK, 1),
		 PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 1);
	CHECK_EQ(cnt(&e, 0)->sessions_created, 2);
	env_close(&e);
}

/* Echo request out, with its identifier as the "port"; must be sent. */
static uint16_t echo_out(struct env *e, uint32_t la, uint32_t ra, uint16_t id, uint32_t now)
{
	struct frame f;

	frame_echo(&f, PKT_SIDE_LAN, la, ra, PKT_ICMP_ECHO, id);
	if (!CHECK_EQ(route(e, &f, now), PKT_TO_WAN)) /* 0 is a valid identifier */
		return 0;
	struct pkt q = reparse(&f);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.daddr, ra);
	CHECK_EQ(q.icmp_type, PKT_ICMP_ECHO);
	CHECK_EQ(q.sport, q.dport);
	return q.sport;
}

static uint8_t echo_reply_in(struct env *e, uint32_t ra, uint16_t ext_id, uint32_t la, uint16_t id,
			     uint32_t now)
{
	struct frame f;
	uint8_t v;

	frame_echo(&f, PKT_SIDE_WAN, ra, wan(), PKT_ICMP_ECHO_REPLY, ext_id);
	v = route(e, &f, now);
	if (v == PKT_TO_LAN) {
		struct pkt q = reparse(&f);
		CHECK_EQ(q.saddr, ra);
		CHECK_EQ(q.daddr, la);
		CHECK_EQ(q.icmp_type, PKT_ICMP_ECHO_REPLY);
		CHECK_EQ(q.sport, id);
	}
	return v;
}

TEST(rfc5508_req1_icmp_query_endpoint_independent_mapping)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext1 = echo_out(&e, lan(10), remote(1), 0x1234, 0);
	uint16_t ext2 = echo_out(&e, lan(10), remote(2), 0x1234, 0);
	CHECK_EQ(ext2, ext1);
	CHECK_EQ(echo_reply_in(&e, remote(1), ext1, lan(10), 0x1234, 1), PKT_TO_LAN);
	CHECK_EQ(echo_reply_in(&e, remote(2), ext1, lan(10), 0x1234, 1), PKT_TO_LAN);
	/* Another identifier from the same host is another mapping. */
	uint16_t ext3 = echo_out(&e, lan(10), remote(1), 0x1235, 2);
	CHECK(ext3 != ext1);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 2);
	/* An echo reply nobody asked for is refused. */
	CHECK_EQ(echo_reply_in(&e, remote(3), ext1, lan(10), 0x1234, 2), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FILTERED], 1);
	env_close(&e);
}

/* ======================================================================
 * RFC 4787 REQ-3: no port overloading, port range kept.
 * ====================================================================== */

TEST(rfc4787_req3_no_port_overloading)
{
	enum { N = 3000 };
	struct env e;
	static uint16_t ext_of[256][64]; /* [host][port index] */
	static uint8_t owner_host[65536];
	static uint8_t owner_port[65536];
	unsigned mapped = 0, clashes = 0, moved = 0;

	memset(ext_of, 0, sizeof(ext_of));
	memset(owner_host, 0, sizeof(owner_host));
	env_open(&e, 4, NULL, NULL);
	for (unsigned k = 0; k < N; k++) {
		unsigned host = 2 + (unsigned)(test_rand() % 250);
		unsigned pi = (unsigned)(test_rand() % 64);
		uint16_t lp = (uint16_t)(1024 + pi * 997);
		uint32_t ra = pkt_ipv4(203, 0, (unsigned)(test_rand() % 256),
				       1 + (unsigned)(test_rand() % 254));
		uint16_t ext =
		    udp_out(&e, lan(host), lp, ra, (uint16_t)(1 + test_rand() % 65535), 0);
		if (!CHECK(ext != 0))
			continue;
		if (ext_of[host][pi]) {
			moved += ext_of[host][pi] != ext; /* REQ-1 again */
			continue;
		}
		ext_of[host][pi] = ext;
		if (owner_host[ext])
			clashes++;
		owner_host[ext] = (uint8_t)host;
		owner_port[ext] = (uint8_t)pi;
		mapped++;
	}
	CHECK_EQ(clashes, 0);
	CHECK_EQ(moved, 0);
	CHECK_EQ(TOTAL(&e, mappings_created), mapped);
	CHECK(mapped > N / 2);
	/* Every external port still leads back to its one internal endpoint. */
	unsigned wrong = 0;
	for (unsigned ext = 1; ext < 65536; ext++) {
		if (!owner_host[ext])
			continue;
		/* a reply from a remote the endpoint never contacted is filtered,
		 * so ask with endpoint-independent lookups: send out again. */
		uint16_t again = udp_out(&e, lan(owner_host[ext]),
					 (uint16_t)(1024 + owner_port[ext] * 997), remote(9), 9, 1);
		wrong += again != ext;
	}
	CHECK_EQ(wrong, 0);
	env_close(&e);
}

TEST(rfc4787_req3_port_range_kept)
{
	enum { N = 600 };
	struct env e;
	unsigned bad = 0;

	env_open(&e, 2, NULL, NULL);
	for (unsigned k = 0; k < N; k++) {
		bool low = k % 2;
		uint16_t lp = low ? (uint16_t)(1 + test_rand() % 1023)
				  : (uint16_t)(1024 + test_rand() % (65536 - 1024));
		unsigned host = 2 + k % 250;
		uint16_t ext = udp_out(&e, lan(host), lp, remote(1 + k % 200), 4000, 0);
		if (!CHECK(ext != 0))
			continue;
		if (low ? !(ext >= 1 && ext < 1024) : ext < 1024)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* TCP too, and a well-known source port keeps a well-known port. */
	uint16_t ext = tcp_out(&e, lan(20), 22, remote(3), 22, PKT_TCP_SYN, 1);
	CHECK(ext >= 1 && ext < 1024);
	env_close(&e);
}

/* ======================================================================
 * Timeouts: RFC 4787 REQ-5/6, RFC 5382 REQ-5, RFC 5508 REQ-2.
 * ====================================================================== */

TEST(rfc4787_req5_udp_timeout_300s)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 1000);
	tick_each_second(&e, 1000, 1299);
	CHECK_EQ(cnt(&e, 0)->sessions, 1); /* 299 s idle: still there */
	CHECK_EQ(find_session(&e, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53).n, 1);
	tick_each_second(&e, 1300, 1301);
	CHECK_EQ(cnt(&e, 0)->sessions, 0); /* 300 s idle: gone */
	CHECK_EQ(cnt(&e, 0)->sessions_expired, 1);
	CHECK_EQ(cnt(&e, 0)->mappings_freed, 1);
	CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), 5000, 1301), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_NO_MAPPING] + cnt(&e, 0)->drop[NAT_DROP_FILTERED], 1);

	/* An inbound reply at 299 s is delivered (and keeps it alive). */
	ext = udp_out(&e, lan(10), 5000, remote(1), 53, 2000);
	tick_each_second(&e, 1302, 2299);
	CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), 5000, 2299), PKT_TO_LAN);
	env_close(&e);
}

TEST(rfc4787_req6_outbound_refresh)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	tick_each_second(&e, 0, 200);
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 200), ext); /* refresh */
	tick_each_second(&e, 201, 499);
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), 5000, 499), PKT_TO_LAN);
	/* That inbound packet refreshed it too (allowed by REQ-6); now idle. */
	tick_each_second(&e, 500, 798);
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	tick_each_second(&e, 799, 800);
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	env_close(&e);
}

TEST(rfc5382_req5_tcp_established_7440s_and_transitory_240s)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	/* Established: 2 h 4 min. */
	uint16_t ext = tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_SYN, 0);
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext, lan(10), 40000, PKT_TCP_SYN | PKT_TCP_ACK, 0),
		 PKT_TO_LAN);
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_ACK, 0), ext);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "established");
	/* Transitory: a SYN never answered. */
	CHECK(tcp_out(&e, lan(11), 40000, remote(1), 80, PKT_TCP_SYN, 0) != 0);
	CHECK_STATE(&e, lan(11), 40000, remote(1), 80, "lan-syn");
	tick(&e, 239);
	CHECK_STATE(&e, lan(11), 40000, remote(1), 80, "lan-syn");
	tick(&e, 240);
	CHECK_STATE(&e, lan(11), 40000, remote(1), 80, "none");
	tick(&e, 7439);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "established");
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	tick(&e, 7440);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "none");
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext, lan(10), 40000, PKT_TCP_ACK, 7441), PKT_DROP);
	env_close(&e);
}

TEST(rfc5508_req2_icmp_timeout_60s)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = echo_out(&e, lan(10), remote(1), 77, 100);
	tick_each_second(&e, 100, 159);
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	tick_each_second(&e, 160, 161);
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	CHECK_EQ(echo_reply_in(&e, remote(1), ext, lan(10), 77, 161), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_NO_MAPPING], 1);
	env_close(&e);
}

TEST(configurable_timeouts)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.timeouts.udp = 30;
	nc.timeouts.icmp = 5;
	nc.timeouts.tcp_opening = 7;
	nc.timeouts.tcp_established = 100;
	env_open(&e, 1, &nc, NULL);
	udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	echo_out(&e, lan(10), remote(1), 9, 0);
	tcp_out(&e, lan(10), 6000, remote(1), 80, PKT_TCP_SYN, 0);
	uint16_t ext = tcp_out(&e, lan(10), 6001, remote(1), 80, PKT_TCP_SYN, 0);
	tcp_in(&e, remote(1), 80, ext, lan(10), 6001, PKT_TCP_SYN | PKT_TCP_ACK, 0);
	CHECK_EQ(cnt(&e, 0)->sessions, 4);
	tick(&e, 4);
	CHECK_EQ(cnt(&e, 0)->sessions, 4);
	tick(&e, 5);
	CHECK_EQ(cnt(&e, 0)->sessions, 3); /* icmp */
	tick(&e, 7);
	CHECK_EQ(cnt(&e, 0)->sessions, 2); /* tcp opening */
	tick(&e, 29);
	CHECK_EQ(cnt(&e, 0)->sessions, 2);
	tick(&e, 30);
	CHECK_EQ(cnt(&e, 0)->sessions, 1); /* udp */
	tick(&e, 99);
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	tick(&e, 100);
	CHECK_EQ(cnt(&e, 0)->sessions, 0); /* tcp established */
	env_close(&e);

	/* Zero is refused. */
	const char *why = NULL;
	struct nat *nat = NULL;
	struct rss_config rc;
	struct rss_snapshot *snap;
	rss_config_default(&rc, 1);
	CHECK_EQ(rss_snapshot_create(&rc, 1, &snap, &why), 0);
	nc.timeouts.udp = 0;
	CHECK(nat_create(&nc, snap, 1, &nat, &why) < 0);
	CHECK(why != NULL);
	rss_snapshot_destroy(snap);
}

/* ======================================================================
 * RFC 4787 REQ-8: filtering.
 * ====================================================================== */

TEST(rfc4787_req8_address_dependent_filtering)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	/* A host never contacted: refused. */
	CHECK_EQ(udp_in(&e, remote(2), 53, ext, lan(10), 5000, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FILTERED], 1);
	/* The contacted host, from another port: allowed (address-dependent,
	 * not address-and-port-dependent). */
	CHECK_EQ(udp_in(&e, remote(1), 9999, ext, lan(10), 5000, 1), PKT_TO_LAN);
	CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), 5000, 1), PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FILTERED], 1);
	/* A port nobody mapped. */
	CHECK_EQ(udp_in(&e, remote(1), 53, (uint16_t)(ext ^ 0x100), lan(10), 5000, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_NO_MAPPING], 1);
	/* TCP alike: a SYN from a stranger to a mapped port is refused. */
	uint16_t text = tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_SYN, 1);
	CHECK_EQ(tcp_in(&e, remote(3), 80, text, lan(10), 40000, PKT_TCP_SYN, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FILTERED], 2);
	CHECK_EQ(tcp_in(&e, remote(1), 81, text, lan(10), 40000, PKT_TCP_SYN, 1), PKT_TO_LAN);
	/* Once the LAN host contacts the stranger, it may come in. */
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(2), 123, 2), ext);
	CHECK_EQ(udp_in(&e, remote(2), 53, ext, lan(10), 5000, 2), PKT_TO_LAN);
	env_close(&e);
}

TEST(endpoint_independent_filtering_option)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	env_open(&e, 1, &nc, NULL);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	CHECK_EQ(udp_in(&e, remote(2), 53, ext, lan(10), 5000, 1), PKT_TO_LAN);
	CHECK_EQ(udp_in(&e, remote(200), 7, ext, lan(10), 5000, 1), PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FILTERED], 0);
	CHECK_EQ(cnt(&e, 0)->sessions, 3);
	/* Still no mapping, no entry. */
	CHECK_EQ(udp_in(&e, remote(2), 53, (uint16_t)(ext ^ 0x100), lan(10), 5000, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_NO_MAPPING], 1);
	env_close(&e);
}

/* ======================================================================
 * RFC 4787 REQ-9, RFC 5382 REQ-8, RFC 5508 REQ-5: hairpinning.
 * ====================================================================== */

/* LAN @la:@lp -> WAN address:@ext, UDP; on delivery checks it reached
 * @to:@to_port from WAN address:@from_ext. */
static uint8_t udp_hairpin(struct env *e, uint32_t la, uint16_t lp, uint16_t ext, uint32_t to,
			   uint16_t to_port, uint16_t from_ext, uint32_t now)
{
	struct frame f;
	uint8_t v;

	frame_udp(&f, PKT_SIDE_LAN, la, lp, wan(), ext);
	v = route(e, &f, now);
	if (v == PKT_TO_LAN) {
		struct pkt q = reparse(&f);
		CHECK_EQ(q.saddr, wan());
		CHECK_EQ(q.sport, from_ext);
		CHECK_EQ(q.daddr, to);
		CHECK_EQ(q.dport, to_port);
	}
	return v;
}

TEST(rfc4787_req9_hairpinning_udp)
{
	struct nat_config nc;
	struct env e;

	/* Endpoint-independent filtering: A reaches B's mapping at once. */
	nat_config_default(&nc, wan());
	nc.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	env_open(&e, 1, &nc, NULL);
	uint16_t ext_a = udp_out(&e, lan(10), 5000, remote(1), 3478, 0);
	uint16_t ext_b = udp_out(&e, lan(20), 6000, remote(1), 3478, 0);
	CHECK(ext_a && ext_b && ext_a != ext_b);
	CHECK_EQ(udp_hairpin(&e, lan(10), 5000, ext_b, lan(20), 6000, ext_a, 1), PKT_TO_LAN);
	CHECK_EQ(udp_hairpin(&e, lan(20), 6000, ext_a, lan(10), 5000, ext_b, 1), PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->hairpinned, 2);
	CHECK_EQ(cnt(&e, 0)->tx_wan, 2);
	env_close(&e);

	/* Address-dependent filtering (the default): as with any remote, B's
	 * mapping lets the hairpinned packet in once B has sent to A's
	 * external endpoint - the usual hole punching. */
	env_open(&e, 1, NULL, NULL);
	ext_a = udp_out(&e, lan(10), 5000, remote(1), 3478, 0);
	ext_b = udp_out(&e, lan(20), 6000, remote(1), 3478, 0);
	CHECK_EQ(udp_hairpin(&e, lan(10), 5000, ext_b, lan(20), 6000, ext_a, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FILTERED], 1);
	CHECK_EQ(udp_hairpin(&e, lan(20), 6000, ext_a, lan(10), 5000, ext_b, 2), PKT_TO_LAN);
	CHECK_EQ(udp_hairpin(&e, lan(10), 5000, ext_b, lan(20), 6000, ext_a, 3), PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->hairpinned, 3);
	env_close(&e);

	/* With several workers the hairpinned packet finds B's owner. */
	nc.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	env_open(&e, 4, &nc, NULL);
	unsigned delivered = 0;
	for (unsigned k = 0; k < 20; k++) {
		uint16_t a = udp_out(&e, lan(10 + k), 5000, remote(1), 3478, 0);
		uint16_t b = udp_out(&e, lan(100 + k), 6000, remote(2), 3478, 0);
		delivered +=
		    udp_hairpin(&e, lan(10 + k), 5000, b, lan(100 + k), 6000, a, 1) == PKT_TO_LAN;
	}
	CHECK_EQ(delivered, 20);
	CHECK_EQ(TOTAL(&e, hairpinned), 20);
	env_close(&e);
}

TEST(rfc4787_req9_hairpinning_tcp)
{
	struct nat_config nc;
	struct env e;

	/* B serves on a static port mapping; A connects to WAN:8080. */
	nat_config_default(&nc, wan());
	nc.n_static = 1;
	nc.statics[0] = (struct nat_static_map){PKT_PROTO_TCP, 8080, lan(20), 80};
	env_open(&e, 1, &nc, NULL);
	struct frame f;
	frame_tcp(&f, PKT_SIDE_LAN, lan(10), 40000, wan(), 8080, PKT_TCP_SYN);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	struct pkt q = reparse(&f);
	uint16_t ext_a = q.sport;
	CHECK_EQ(q.saddr, wan());
	CHECK(ext_a != 0);
	CHECK_EQ(q.daddr, lan(20));
	CHECK_EQ(q.dport, 80);
	CHECK_EQ(q.tcp_flags, PKT_TCP_SYN);
	/* B answers to what it saw: WAN:ext_a. */
	frame_tcp(&f, PKT_SIDE_LAN, lan(20), 80, wan(), ext_a, PKT_TCP_SYN | PKT_TCP_ACK);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	q = reparse(&f);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.sport, 8080);
	CHECK_EQ(q.daddr, lan(10));
	CHECK_EQ(q.dport, 40000);
	frame_tcp(&f, PKT_SIDE_LAN, lan(10), 40000, wan(), 8080, PKT_TCP_ACK);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40000, wan(), 8080, "established");
	CHECK_STATE(&e, lan(20), 80, wan(), ext_a, "established");
	CHECK_EQ(cnt(&e, 0)->hairpinned, 3);
	env_close(&e);
}

TEST(rfc5508_req5_hairpinned_icmp_error)
{
	struct nat_config nc;
	struct env e;
	struct frame f, err;

	nat_config_default(&nc, wan());
	nc.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	env_open(&e, 1, &nc, NULL);
	uint16_t ext_a = udp_out(&e, lan(10), 5000, remote(1), 3478, 0);
	uint16_t ext_b = udp_out(&e, lan(20), 6000, remote(1), 3478, 0);
	/* A -> B through the hairpin; B gets WAN:ext_a -> B:6000. */
	frame_udp(&f, PKT_SIDE_LAN, lan(10), 5000, wan(), ext_b);
	CHECK_EQ(route(&e, &f, 1), PKT_TO_LAN);
	/* B's port is closed: B answers Port Unreachable to WAN (the source
	 * it saw), quoting the datagram as it received it. */
	frame_icmp_error(&err, PKT_SIDE_LAN, lan(20), wan(), PKT_ICMP_UNREACH,
			 PKT_ICMP_UNREACH_PORT, &f, false);
	CHECK_EQ(route(&e, &err, 2), PKT_TO_LAN);
	struct pkt q = reparse(&err);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.daddr, lan(10));
	CHECK(q.flags & PKT_F_ICMP_ERROR);
	CHECK_EQ(q.icmp_type, PKT_ICMP_UNREACH);
	CHECK_EQ(q.icmp_code, PKT_ICMP_UNREACH_PORT);
	/* The quote is now what A sent: A:5000 -> WAN:ext_b. */
	CHECK_EQ(q.inner.proto, PKT_PROTO_UDP);
	CHECK_EQ(q.inner.saddr, lan(10));
	CHECK_EQ(q.inner.sport, 5000);
	CHECK_EQ(q.inner.daddr, wan());
	CHECK_EQ(q.inner.dport, ext_b);
	CHECK(inner_l4_checksum_ok(&q));
	CHECK_EQ(find_session(&e, PKT_PROTO_UDP, lan(20), 6000, wan(), ext_a).n, 1);
	CHECK_EQ(cnt(&e, 0)->icmp_errors_translated, 2);
	CHECK_EQ(cnt(&e, 0)->hairpinned, 2);
	env_close(&e);
}

/* ======================================================================
 * RFC 4787 REQ-14: fragments.
 * ====================================================================== */

enum { FRAG_PAYLOAD = 64, FRAG_FIRST = 24 /* payload bytes in the first */ };

struct dgram {
	uint8_t payload[FRAG_PAYLOAD];
	uint16_t csum; /* of the whole datagram */
};

/* The two fragments of a UDP (or ICMP echo) datagram: first with the L4
 * header and FRAG_FIRST payload bytes, then the rest at its offset. */
static void frame_frag(struct frame *f, uint8_t side, uint8_t proto, uint32_t sa, uint16_t sp,
		       uint32_t da, uint16_t dp, uint16_t ip_id, bool first, struct dgram *d)
{
	uint8_t whole[BUF];
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = proto,
			     .sport = sp,
			     .dport = dp,
			     .ip_id = ip_id,
			     .icmp_type = PKT_ICMP_ECHO,
			     .icmp_id = sp,
			     .payload = d->payload,
			     .payload_len = FRAG_PAYLOAD};
	struct pkt wp;
	size_t len;

	for (unsigned i = 0; i < FRAG_PAYLOAD; i++)
		d->payload[i] = (uint8_t)(i * 7 + 3);
	len = pkt_build(whole, BUF, &s);
	CHECK_EQ(pkt_parse(&wp, whole, (uint16_t)len, BUF), PKT_OK);
	memcpy(&d->csum, whole + wp.l4_off + (proto == PKT_PROTO_UDP ? 6 : 2), 2);
	if (first) {
		s.payload_len = FRAG_FIRST;
		s.more_frags = true;
		s.l4_csum_given = true;
		s.l4_csum = d->csum;
		s.udp_len = 8 + FRAG_PAYLOAD;
	} else {
		s.frag_off = 8 + FRAG_FIRST;
		s.payload = d->payload + FRAG_FIRST;
		s.payload_len = FRAG_PAYLOAD - FRAG_FIRST;
	}
	frame_from_spec(f, side, &s);
	CHECK(f->p.flags & PKT_F_FRAG);
	CHECK_EQ(!!(f->p.flags & PKT_F_L4), first);
}

/* Reassemble two translated fragments and check the datagram's L4
 * checksum against its new addresses, as the receiver will. */
static void check_reassembled(const struct frame *first, const struct frame *later)
{
	uint8_t l4[BUF];
	struct pkt a = reparse(first), b = reparse(later);
	size_t n1 = a.l4_len, n2 = b.l4_len;
	uint16_t got;

	CHECK_EQ(a.saddr, b.saddr);
	CHECK_EQ(a.daddr, b.daddr);
	CHECK_EQ(a.ip_id, b.ip_id);
	CHECK_EQ(b.frag_off, n1);
	memcpy(l4, a.data + a.l3_off + (a.l3_len - a.l4_len), n1);
	memcpy(l4 + n1, b.data + b.l3_off + (b.l3_len - b.l4_len), n2);
	if (a.proto == PKT_PROTO_UDP) {
		memcpy(&got, l4 + 6, 2);
		CHECK_EQ(got, csum_ipv4_l4(a.saddr, a.daddr, a.proto, l4, n1 + n2));
	} else {
		memcpy(&got, l4 + 2, 2);
		CHECK_EQ(got, csum_icmp(l4, n1 + n2));
	}
}

TEST(rfc4787_req14_fragments_in_order)
{
	struct env e;
	struct frame f1, f2;
	struct dgram d;

	env_open(&e, 1, NULL, NULL);
	frame_frag(&f1, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 77, true, &d);
	frame_frag(&f2, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 77, false, &d);
	CHECK_EQ(route(&e, &f1, 0), PKT_TO_WAN);
	CHECK_EQ(route(&e, &f2, 0), PKT_TO_WAN);
	struct pkt q = reparse(&f1);
	uint16_t ext = q.sport;
	CHECK_EQ(q.saddr, wan());
	check_reassembled(&f1, &f2);
	CHECK_EQ(cnt(&e, 0)->frags_translated, 2);
	CHECK_EQ(cnt(&e, 0)->frags_held, 0);

	/* The reply, fragmented too, comes in. */
	frame_frag(&f1, PKT_SIDE_WAN, PKT_PROTO_UDP, remote(1), 53, wan(), ext, 99, true, &d);
	frame_frag(&f2, PKT_SIDE_WAN, PKT_PROTO_UDP, remote(1), 53, wan(), ext, 99, false, &d);
	CHECK_EQ(route(&e, &f1, 1), PKT_TO_LAN);
	CHECK_EQ(route(&e, &f2, 1), PKT_TO_LAN);
	q = reparse(&f2);
	CHECK_EQ(q.daddr, lan(10));
	q = reparse(&f1);
	CHECK_EQ(q.dport, 5000);
	check_reassembled(&f1, &f2);
	CHECK_EQ(cnt(&e, 0)->frags_translated, 4);
	CHECK_EQ(cnt(&e, 0)->dropped, 0);
	env_close(&e);
}

TEST(rfc4787_req14_fragments_out_of_order)
{
	struct env e;
	struct frame f1, f2, f3;
	struct dgram d;
	struct pkt *out[8], *pp;

	env_open(&e, 1, NULL, NULL);
	frame_frag(&f1, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 77, true, &d);
	frame_frag(&f2, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 77, false, &d);
	pp = &f2.p;
	CHECK_EQ(nat_process(wk(&e, 0), &pp, 1, 0), 0);
	CHECK_EQ(f2.p.verdict, PKT_PENDING);
	CHECK_EQ(cnt(&e, 0)->frags_held, 1);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	pp = &f1.p;
	CHECK_EQ(nat_process(wk(&e, 0), &pp, 1, 1), 1);
	CHECK_EQ(f1.p.verdict, PKT_TO_WAN);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 1);
	CHECK(out[0] == &f2.p);
	CHECK_EQ(f2.p.verdict, PKT_TO_WAN);
	check_reassembled(&f1, &f2);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	CHECK_EQ(cnt(&e, 0)->frags_translated, 2);

	/* A later fragment whose first never comes: dropped on timeout. */
	frame_frag(&f3, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 78, false, &d);
	pp = &f3.p;
	CHECK_EQ(nat_process(wk(&e, 0), &pp, 1, 10), 0);
	CHECK_EQ(f3.p.verdict, PKT_PENDING);
	tick(&e, 39);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	tick(&e, 40); /* 30 s fragment timeout */
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 1);
	CHECK(out[0] == &f3.p);
	CHECK_EQ(f3.p.verdict, PKT_DROP);
	CHECK_EQ(f3.p.drop, NAT_DROP_FRAG_TIMEOUT);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_FRAG_TIMEOUT], 1);
	env_close(&e);
}

/* How often @p is in @a[0..n). */
static unsigned count_of(struct pkt *const *a, unsigned n, const struct pkt *p)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		k += a[i] == p;
	return k;
}

/* Every buffer has one owner: in one burst, a later fragment held and then
 * released by its first fragment is the caller's exactly once, through
 * nat_released() and not also through the burst (the remote crash of a
 * buffer sent or freed twice). From the LAN with a session to be made, and
 * from the WAN with no mapping at all (its datagram is dropped, once). */
TEST(fragments_out_of_order_in_one_burst_have_one_owner)
{
	struct env e;
	struct frame lan_first, lan_later, wan_first, wan_later;
	struct dgram d;
	struct pkt *burst[4], *out[8];
	unsigned kept, rel;

	env_open(&e, 1, NULL, NULL);
	frame_frag(&lan_first, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 77, true,
		   &d);
	frame_frag(&lan_later, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53, 77, false,
		   &d);
	frame_frag(&wan_first, PKT_SIDE_WAN, PKT_PROTO_UDP, remote(2), 53, wan(), 40000, 9, true,
		   &d);
	frame_frag(&wan_later, PKT_SIDE_WAN, PKT_PROTO_UDP, remote(2), 53, wan(), 40000, 9, false,
		   &d);
	burst[0] = &lan_later.p;
	burst[1] = &wan_later.p;
	burst[2] = &lan_first.p;
	burst[3] = &wan_first.p;
	kept = nat_process(wk(&e, 0), burst, 4, 0);
	rel = nat_released(wk(&e, 0), out, 8);
	CHECK_EQ(kept, 2);
	CHECK_EQ(rel, 2);
	struct pkt *all[4] = {&lan_first.p, &lan_later.p, &wan_first.p, &wan_later.p};
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(count_of(burst, kept, all[i]) + count_of(out, rel, all[i]), 1);
	CHECK_EQ(lan_later.p.verdict, PKT_TO_WAN);
	check_reassembled(&lan_first, &lan_later);
	CHECK_EQ(wan_later.p.verdict, PKT_DROP);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	env_close(&e);
}

/* Across bursts the same: held in one, released in the next, and the
 * second burst's array holds only what it received. */
TEST(fragments_out_of_order_across_bursts_have_one_owner)
{
	struct env e;
	struct frame first, later;
	struct dgram d;
	struct pkt *burst[2], *out[8];

	env_open(&e, 1, NULL, NULL);
	frame_frag(&first, PKT_SIDE_WAN, PKT_PROTO_UDP, remote(2), 53, wan(), 40000, 9, true, &d);
	frame_frag(&later, PKT_SIDE_WAN, PKT_PROTO_UDP, remote(2), 53, wan(), 40000, 9, false, &d);
	burst[0] = &later.p;
	CHECK_EQ(nat_process(wk(&e, 0), burst, 1, 0), 0);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 0);
	burst[0] = &first.p;
	CHECK_EQ(nat_process(wk(&e, 0), burst, 1, 0), 1);
	CHECK(burst[0] == &first.p);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 1);
	CHECK(out[0] == &later.p);
	env_close(&e);
}

/* A big ping (ping -s 3000) is fragmented like any datagram. */
TEST(rfc4787_req14_fragmented_icmp_echo)
{
	struct env e;
	struct frame f1, f2;
	struct dgram d;
	struct pkt *out[8], *pp;

	env_open(&e, 1, NULL, NULL);
	frame_frag(&f1, PKT_SIDE_LAN, PKT_PROTO_ICMP, lan(10), 0x4242, remote(1), 0x4242, 5, true,
		   &d);
	frame_frag(&f2, PKT_SIDE_LAN, PKT_PROTO_ICMP, lan(10), 0x4242, remote(1), 0x4242, 5, false,
		   &d);
	CHECK_EQ(route(&e, &f1, 0), PKT_TO_WAN);
	CHECK_EQ(route(&e, &f2, 0), PKT_TO_WAN);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_ICMP_TYPE], 0);
	check_reassembled(&f1, &f2);
	uint16_t ext = reparse(&f1).sport;

	/* Out of order, the reply. */
	frame_frag(&f1, PKT_SIDE_WAN, PKT_PROTO_ICMP, remote(1), ext, wan(), ext, 6, true, &d);
	f1.buf[f1.p.l4_off] = PKT_ICMP_ECHO_REPLY; /* and fix the checksum by hand */
	{
		uint16_t c;
		memcpy(&c, f1.buf + f1.p.l4_off + 2, 2);
		c = csum_update16(c, htons(PKT_ICMP_ECHO << 8), htons(PKT_ICMP_ECHO_REPLY << 8));
		memcpy(f1.buf + f1.p.l4_off + 2, &c, 2);
		CHECK_EQ(pkt_parse(&f1.p, f1.buf, f1.p.len, BUF), PKT_OK);
		f1.p.side = PKT_SIDE_WAN;
	}
	frame_frag(&f2, PKT_SIDE_WAN, PKT_PROTO_ICMP, remote(1), ext, wan(), ext, 6, false, &d);
	pp = &f2.p;
	CHECK_EQ(nat_process(wk(&e, 0), &pp, 1, 1), 0);
	CHECK_EQ(route(&e, &f1, 1), PKT_TO_LAN);
	CHECK_EQ(nat_released(wk(&e, 0), out, 8), 1);
	CHECK_EQ(f2.p.verdict, PKT_TO_LAN);
	CHECK_EQ(reparse(&f2).daddr, lan(10));
	CHECK_EQ(reparse(&f1).sport, 0x4242);
	CHECK_EQ(cnt(&e, 0)->frags_translated, 4);
	CHECK_EQ(cnt(&e, 0)->dropped, 0);
	env_close(&e);
}

/* RFC 4787 REQ-9 with REQ-14: a fragmented datagram hairpinned from A to
 * B arrives whole at B, later fragments included. */
TEST(rfc4787_req14_hairpinned_fragments)
{
	struct nat_config nc;
	struct env e;
	struct frame f1, f2;
	struct dgram d;

	nat_config_default(&nc, wan());
	nc.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	env_open(&e, 1, &nc, NULL);
	uint16_t ext_a = udp_out(&e, lan(10), 5000, remote(1), 3478, 0);
	uint16_t ext_b = udp_out(&e, lan(20), 6000, remote(1), 3478, 0);
	frame_frag(&f1, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, wan(), ext_b, 42, true, &d);
	frame_frag(&f2, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), 5000, wan(), ext_b, 42, false, &d);
	CHECK_EQ(route(&e, &f1, 1), PKT_TO_LAN);
	CHECK_EQ(route(&e, &f2, 1), PKT_TO_LAN);
	struct pkt q = reparse(&f1);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.sport, ext_a);
	CHECK_EQ(q.daddr, lan(20));
	CHECK_EQ(q.dport, 6000);
	q = reparse(&f2);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.daddr, lan(20));
	check_reassembled(&f1, &f2);
	CHECK_EQ(cnt(&e, 0)->hairpinned, 2);
	CHECK_EQ(cnt(&e, 0)->dropped, 0);
	env_close(&e);
}

/* Fragments hash on addresses only, so under 4-tuple hashing a datagram's
 * fragments reach one worker while its flow is owned by another: all of
 * them must be handed off to the owner, not only the first. */
TEST(rfc4787_req14_fragments_handed_off_to_owner)
{
	struct env e;
	struct frame f1, f2, f3, f4;
	struct dgram d;
	unsigned tried = 0, done = 0;
	struct pkt *out[8], *pp;

	env_open(&e, 4, NULL, NULL);
	for (uint16_t lp = 5000; done < 5 && tried < 400; lp++, tried++) {
		struct frame probe;
		frame_udp(&probe, PKT_SIDE_LAN, lan(10), lp, remote(1), 53);
		unsigned owner = nic_worker(&e, &probe.p);
		frame_frag(&f1, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), lp, remote(1), 53, lp, true,
			   &d);
		unsigned fw = nic_worker(&e, &f1.p);
		if (owner == fw)
			continue;
		/* The flow exists, owned by `owner`. */
		uint16_t ext = udp_out(&e, lan(10), lp, remote(1), 53, 0);
		CHECK(ext != 0);
		/* In order. */
		frame_frag(&f2, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), lp, remote(1), 53, lp, false,
			   &d);
		CHECK_EQ(nic_worker(&e, &f2.p), fw);
		CHECK_EQ(route(&e, &f1, 1), PKT_TO_WAN);
		CHECK_EQ(f1.worker, owner);
		CHECK_EQ(route(&e, &f2, 1), PKT_TO_WAN);
		CHECK_EQ(f2.worker, owner);
		CHECK_EQ(TOTAL(&e, drop[NAT_DROP_NO_MAPPING]), 0);
		check_reassembled(&f1, &f2);
		CHECK_EQ(reparse(&f1).sport, ext);
		/* Out of order: the later one is held on fw, released with the
		 * first, and handed off like it. */
		frame_frag(&f3, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), lp, remote(1), 53,
			   (uint16_t)(lp + 1), true, &d);
		frame_frag(&f4, PKT_SIDE_LAN, PKT_PROTO_UDP, lan(10), lp, remote(1), 53,
			   (uint16_t)(lp + 1), false, &d);
		pp = &f4.p;
		CHECK_EQ(nat_process(wk(&e, fw), &pp, 1, 2), 0);
		CHECK_EQ(route(&e, &f3, 2), PKT_TO_WAN);
		CHECK_EQ(nat_released(wk(&e, fw), out, 8), 1);
		CHECK_EQ(f4.p.verdict, PKT_HANDOFF);
		if (f4.p.verdict == PKT_HANDOFF) {
			CHECK_EQ(f4.p.to_worker, owner);
			nat_process(wk(&e, owner), &pp, 1, 2);
			CHECK_EQ(f4.p.verdict, PKT_TO_WAN);
			check_reassembled(&f3, &f4);
		}
		done++;
	}
	CHECK_EQ(done, 5);
	CHECK_EQ(TOTAL(&e, drop[NAT_DROP_NO_MAPPING]), 0);
	env_close(&e);
}

/* ======================================================================
 * TCP: RFC 5382 REQ-2 simultaneous open, the state machine (RFC 6146
 * 3.5.2, RFC 7857 2.2).
 * ====================================================================== */

TEST(rfc5382_req2_tcp_simultaneous_open)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = tcp_out(&e, lan(10), 40000, remote(1), 50000, PKT_TCP_SYN, 0);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 50000, "lan-syn");
	/* The peer's own SYN (no ACK) crosses ours. */
	CHECK_EQ(tcp_in(&e, remote(1), 50000, ext, lan(10), 40000, PKT_TCP_SYN, 1), PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 50000, "established");
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 50000, PKT_TCP_SYN | PKT_TCP_ACK, 1), ext);
	CHECK_EQ(tcp_in(&e, remote(1), 50000, ext, lan(10), 40000, PKT_TCP_SYN | PKT_TCP_ACK, 1),
		 PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 50000, "established");
	/* Established: it lives past the transitory timeout. */
	tick(&e, 1 + 300);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 50000, "established");
	CHECK_EQ(cnt(&e, 0)->dropped, 0);
	env_close(&e);
}

static uint16_t tcp_handshake(struct env *e, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp,
			      uint32_t now)
{
	uint16_t ext = tcp_out(e, la, lp, ra, rp, PKT_TCP_SYN, now);
	CHECK_STATE(e, la, lp, ra, rp, "lan-syn");
	CHECK_EQ(tcp_in(e, ra, rp, ext, la, lp, PKT_TCP_SYN | PKT_TCP_ACK, now), PKT_TO_LAN);
	CHECK_STATE(e, la, lp, ra, rp, "established");
	CHECK_EQ(tcp_out(e, la, lp, ra, rp, PKT_TCP_ACK, now), ext);
	CHECK_STATE(e, la, lp, ra, rp, "established");
	return ext;
}

static uint32_t session_expires(struct env *e, uint8_t proto, uint32_t la, uint16_t lp, uint32_t ra,
				uint16_t rp)
{
	struct found f = find_session(e, proto, la, lp, ra, rp);

	CHECK_EQ(f.n, 1);
	return f.last.expires;
}

TEST(tcp_state_machine_fin_fin_closing_timeout)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = tcp_handshake(&e, lan(10), 40000, remote(1), 80, 0);
	CHECK_EQ(session_expires(&e, PKT_PROTO_TCP, lan(10), 40000, remote(1), 80), 7440);
	tick_each_second(&e, 0, 1000); /* past its opening-time slot */
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_FIN | PKT_TCP_ACK, 1000), ext);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "lan-fin");
	CHECK_EQ(session_expires(&e, PKT_PROTO_TCP, lan(10), 40000, remote(1), 80), 1000 + 7440);
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext, lan(10), 40000, PKT_TCP_FIN | PKT_TCP_ACK, 1000),
		 PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "both-fin");
	CHECK_EQ(session_expires(&e, PKT_PROTO_TCP, lan(10), 40000, remote(1), 80), 1000 + 240);
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_ACK, 1000), ext);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "both-fin");
	/* The closing timeout must hold, not the established one it had. */
	tick_each_second(&e, 1001, 1239);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "both-fin");
	tick_each_second(&e, 1240, 1241);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "none");
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	CHECK_EQ(cnt(&e, 0)->mappings_freed, 1);

	/* FIN from the WAN first. */
	ext = tcp_handshake(&e, lan(10), 40001, remote(1), 80, 1300);
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext, lan(10), 40001, PKT_TCP_FIN | PKT_TCP_ACK, 1300),
		 PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "wan-fin");
	CHECK_EQ(tcp_out(&e, lan(10), 40001, remote(1), 80, PKT_TCP_FIN | PKT_TCP_ACK, 1301), ext);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "both-fin");
	tick(&e, 1301 + 239);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "both-fin");
	tick(&e, 1301 + 240);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "none");
	env_close(&e);
}

TEST(tcp_state_machine_rst_rfc7857_2_2)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.timeouts.tcp_rst = 40; /* its own setting, distinct from the rest */
	env_open(&e, 1, &nc, NULL);
	uint16_t ext = tcp_handshake(&e, lan(10), 40000, remote(1), 80, 0);
	tick_each_second(&e, 0, 10);
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext, lan(10), 40000, PKT_TCP_RST, 10), PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "rst");
	CHECK_EQ(session_expires(&e, PKT_PROTO_TCP, lan(10), 40000, remote(1), 80), 50);
	/* Kept for tcp_rst seconds, then gone. */
	tick_each_second(&e, 11, 49);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "rst");
	tick_each_second(&e, 50, 51);
	CHECK_STATE(&e, lan(10), 40000, remote(1), 80, "none");
	CHECK_EQ(cnt(&e, 0)->sessions, 0);

	/* A segment after the RST: the connection lives on (RFC 7857 2.2). */
	ext = tcp_handshake(&e, lan(10), 40001, remote(1), 80, 100);
	CHECK_EQ(tcp_out(&e, lan(10), 40001, remote(1), 80, PKT_TCP_RST | PKT_TCP_ACK, 101), ext);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "rst");
	CHECK_EQ(tcp_in(&e, remote(1), 80, ext, lan(10), 40001, PKT_TCP_ACK, 102), PKT_TO_LAN);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "established");
	tick_each_second(&e, 102, 102 + 200);
	CHECK_STATE(&e, lan(10), 40001, remote(1), 80, "established");
	env_close(&e);
}

TEST(tcp_state_machine_non_syn_without_session_dropped)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	/* From the LAN: an ACK, a FIN, a RST of no known connection. */
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_ACK, 0), 0);
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_FIN | PKT_TCP_ACK, 0), 0);
	CHECK_EQ(tcp_out(&e, lan(10), 40000, remote(1), 80, PKT_TCP_SYN | PKT_TCP_RST, 0), 0);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_TCP_NO_SESSION], 3);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 0);
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	/* From the WAN, through an existing mapping, from the contacted host
	 * but a new port: not a SYN, no session. */
	uint16_t ext = tcp_handshake(&e, lan(10), 40000, remote(1), 80, 1);
	CHECK_EQ(tcp_in(&e, remote(1), 81, ext, lan(10), 40000, PKT_TCP_ACK, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_TCP_NO_SESSION], 4);
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	env_close(&e);
}

/* ======================================================================
 * ICMP errors: RFC 5508 REQ-3, 4, 6.
 * ====================================================================== */

/* The translated outbound frame of a new flow of each kind. */
enum flow_kind { FLOW_UDP, FLOW_TCP, FLOW_ECHO };

static uint16_t flow_out(struct env *e, enum flow_kind k, struct frame *f, uint32_t la, uint16_t lp,
			 uint32_t ra, uint16_t rp)
{
	if (k == FLOW_UDP)
		frame_udp(f, PKT_SIDE_LAN, la, lp, ra, rp);
	else if (k == FLOW_TCP)
		frame_tcp(f, PKT_SIDE_LAN, la, lp, ra, rp, PKT_TCP_SYN);
	else
		frame_echo(f, PKT_SIDE_LAN, la, ra, PKT_ICMP_ECHO, lp);
	CHECK_EQ(route(e, f, 0), PKT_TO_WAN);
	return reparse(f).sport;
}

static const uint8_t kind_proto[] = {PKT_PROTO_UDP, PKT_PROTO_TCP, PKT_PROTO_ICMP};

TEST(rfc5508_req3_icmp_error_from_wan_translated)
{
	static const struct {
		uint8_t type, code;
		bool from_router;
	} errs[] = {
	    {PKT_ICMP_TIME_EXCEEDED, 0, true},
	    {PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_PORT, false},
	    {PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_NEEDFRAG, true},
	};
	struct env e;
	struct frame out, err;
	unsigned translated = 0;

	env_open(&e, 1, NULL, NULL);
	for (int k = FLOW_UDP; k <= FLOW_ECHO; k++) {
		uint16_t lp = (uint16_t)(5000 + k), rp = k == FLOW_ECHO ? 0 : 53;
		uint16_t ext = flow_out(&e, (enum flow_kind)k, &out, lan(10), lp, remote(1), rp);
		for (unsigned i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
			for (int shrt = 0; shrt < 2; shrt++) {
				uint32_t from = errs[i].from_router ? router() : remote(1);
				frame_icmp_error(&err, PKT_SIDE_WAN, from, wan(), errs[i].type,
						 errs[i].code, &out, shrt);
				CHECK_EQ(err.p.inner.sport, ext);
				if (!CHECK_EQ(route(&e, &err, 1), PKT_TO_LAN))
					continue;
				translated++;
				struct pkt q = reparse(&err);
				CHECK_EQ(q.saddr, from);
				CHECK_EQ(q.daddr, lan(10));
				CHECK_EQ(q.icmp_type, errs[i].type);
				CHECK_EQ(q.icmp_code, errs[i].code);
				CHECK_EQ(q.inner.proto, kind_proto[k]);
				CHECK_EQ(q.inner.saddr, lan(10));
				CHECK_EQ(q.inner.sport, lp);
				CHECK_EQ(q.inner.daddr, remote(1));
				if (k != FLOW_ECHO)
					CHECK_EQ(q.inner.dport, rp);
				/* The whole quote's L4 checksum, when it is all there. */
				if (!shrt)
					CHECK(inner_l4_checksum_ok(&q));
				if (shrt && k == FLOW_UDP) {
					/* 8 bytes: the UDP checksum is in them and must
					 * still match the (whole) datagram we sent. */
					uint16_t got, want;
					memcpy(&got, q.data + q.inner.l4_off + 6, 2);
					struct frame orig;
					frame_udp(&orig, PKT_SIDE_LAN, lan(10), lp, remote(1), rp);
					memcpy(&want, orig.buf + orig.p.l4_off + 6, 2);
					CHECK_EQ(got, want);
				}
			}
		}
	}
	CHECK_EQ(translated, 18);
	CHECK_EQ(cnt(&e, 0)->icmp_errors_translated, 18);
	CHECK_EQ(cnt(&e, 0)->dropped, 0);
	env_close(&e);
}

TEST(rfc5508_req4_icmp_error_from_lan_translated)
{
	struct env e;
	struct frame in, err;

	env_open(&e, 1, NULL, NULL);
	for (int k = FLOW_UDP; k <= FLOW_TCP; k++) {
		uint16_t lp = (uint16_t)(5000 + k);
		uint16_t ext = flow_out(&e, (enum flow_kind)k, &in, lan(10), lp, remote(1), 53);
		/* The remote's packet comes in and is delivered... */
		if (k == FLOW_UDP)
			frame_udp(&in, PKT_SIDE_WAN, remote(1), 53, wan(), ext);
		else
			frame_tcp(&in, PKT_SIDE_WAN, remote(1), 53, wan(), ext,
				  PKT_TCP_SYN | PKT_TCP_ACK);
		CHECK_EQ(route(&e, &in, 1), PKT_TO_LAN);
		/* ...and the LAN host refuses it. */
		frame_icmp_error(&err, PKT_SIDE_LAN, lan(10), remote(1), PKT_ICMP_UNREACH,
				 PKT_ICMP_UNREACH_PORT, &in, false);
		CHECK_EQ(route(&e, &err, 2), PKT_TO_WAN);
		struct pkt q = reparse(&err);
		CHECK_EQ(q.saddr, wan());
		CHECK_EQ(q.daddr, remote(1));
		CHECK_EQ(q.inner.saddr, remote(1));
		CHECK_EQ(q.inner.sport, 53);
		CHECK_EQ(q.inner.daddr, wan());
		CHECK_EQ(q.inner.dport, ext);
		CHECK(inner_l4_checksum_ok(&q));
	}
	/* An echo request to a LAN host is the gateway's, so: an echo reply
	 * delivered to the LAN host, which answers with an error. */
	uint16_t ext = flow_out(&e, FLOW_ECHO, &in, lan(10), 0x77, remote(1), 0);
	frame_echo(&in, PKT_SIDE_WAN, remote(1), wan(), PKT_ICMP_ECHO_REPLY, ext);
	CHECK_EQ(route(&e, &in, 3), PKT_TO_LAN);
	frame_icmp_error(&err, PKT_SIDE_LAN, lan(10), remote(1), PKT_ICMP_UNREACH,
			 PKT_ICMP_UNREACH_PORT, &in, false);
	CHECK_EQ(route(&e, &err, 3), PKT_TO_WAN);
	struct pkt q = reparse(&err);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.inner.daddr, wan());
	CHECK_EQ(q.inner.dport, ext);
	CHECK(inner_l4_checksum_ok(&q));
	CHECK_EQ(cnt(&e, 0)->icmp_errors_translated, 3);
	env_close(&e);
}

TEST(rfc5508_req4_icmp_error_without_session_dropped)
{
	struct env e;
	struct frame pkt, err;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	/* From the WAN, quoting a port nobody mapped. */
	frame_udp(&pkt, PKT_SIDE_LAN, wan(), (uint16_t)(ext ^ 0x100), remote(1), 53);
	frame_icmp_error(&err, PKT_SIDE_WAN, router(), wan(), PKT_ICMP_TIME_EXCEEDED, 0, &pkt,
			 false);
	CHECK_EQ(route(&e, &err, 1), PKT_DROP);
	CHECK_EQ(err.p.drop, NAT_DROP_ICMP_UNKNOWN);
	/* Quoting our mapping but another remote: no session, no error. */
	frame_udp(&pkt, PKT_SIDE_LAN, wan(), ext, remote(2), 53);
	frame_icmp_error(&err, PKT_SIDE_WAN, router(), wan(), PKT_ICMP_TIME_EXCEEDED, 0, &pkt,
			 false);
	CHECK_EQ(route(&e, &err, 1), PKT_DROP);
	/* Quoting something not sent from our address. */
	frame_udp(&pkt, PKT_SIDE_LAN, remote(7), ext, remote(1), 53);
	frame_icmp_error(&err, PKT_SIDE_WAN, router(), wan(), PKT_ICMP_TIME_EXCEEDED, 0, &pkt,
			 false);
	CHECK_EQ(route(&e, &err, 1), PKT_DROP);
	/* From the LAN, about a packet of no session. */
	frame_udp(&pkt, PKT_SIDE_WAN, remote(3), 53, lan(10), 7777);
	frame_icmp_error(&err, PKT_SIDE_LAN, lan(10), remote(3), PKT_ICMP_UNREACH,
			 PKT_ICMP_UNREACH_PORT, &pkt, false);
	CHECK_EQ(route(&e, &err, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_ICMP_UNKNOWN], 4);
	/* An error about an error (RFC 1122 3.2.2). */
	struct frame inner_err;
	frame_udp(&pkt, PKT_SIDE_LAN, wan(), ext, remote(1), 53);
	frame_icmp_error(&inner_err, PKT_SIDE_LAN, wan(), remote(1), PKT_ICMP_UNREACH,
			 PKT_ICMP_UNREACH_PORT, &pkt, false);
	frame_icmp_error(&err, PKT_SIDE_WAN, router(), wan(), PKT_ICMP_TIME_EXCEEDED, 0, &inner_err,
			 false);
	CHECK_EQ(route(&e, &err, 1), PKT_DROP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_ICMP_ERROR_IN_ERROR], 1);
	CHECK_EQ(cnt(&e, 0)->icmp_errors_translated, 0);
	env_close(&e);
}

TEST(rfc5508_req6_icmp_error_does_not_refresh_session)
{
	struct env e;
	struct frame out, err;

	env_open(&e, 1, NULL, NULL);
	uint16_t ext = flow_out(&e, FLOW_UDP, &out, lan(10), 5000, remote(1), 53);
	tick_each_second(&e, 0, 298);
	frame_icmp_error(&err, PKT_SIDE_WAN, router(), wan(), PKT_ICMP_UNREACH,
			 PKT_ICMP_UNREACH_NEEDFRAG, &out, false);
	CHECK_EQ(route(&e, &err, 299), PKT_TO_LAN);
	CHECK_EQ(session_expires(&e, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53), 300);
	tick_each_second(&e, 299, 300);
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), 5000, 300), PKT_DROP);
	/* Nor does an error from the LAN. */
	ext = udp_out(&e, lan(10), 5000, remote(1), 53, 1000);
	struct frame in;
	frame_udp(&in, PKT_SIDE_WAN, remote(1), 53, wan(), ext);
	CHECK_EQ(route(&e, &in, 1000), PKT_TO_LAN);
	frame_icmp_error(&err, PKT_SIDE_LAN, lan(10), remote(1), PKT_ICMP_UNREACH,
			 PKT_ICMP_UNREACH_PORT, &in, false);
	CHECK_EQ(route(&e, &err, 1299), PKT_TO_WAN);
	CHECK_EQ(session_expires(&e, PKT_PROTO_UDP, lan(10), 5000, remote(1), 53), 1300);
	env_close(&e);
}

/* ======================================================================
 * RFC 5508 REQ-8: exhaustion.
 * ====================================================================== */

/* The frame was turned into ICMP 3/13 from the gateway to the LAN host,
 * quoting the original packet's header and first 8 bytes. */
static void check_3_13(const struct frame *f, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp,
		       uint8_t proto)
{
	CHECK_EQ(f->p.verdict, PKT_TO_LAN);
	struct pkt q = reparse(f);
	CHECK(q.flags & PKT_F_ICMP_ERROR);
	CHECK_EQ(q.icmp_type, PKT_ICMP_UNREACH);
	CHECK_EQ(q.icmp_code, PKT_ICMP_UNREACH_ADMIN);
	CHECK_EQ(q.saddr, gw_lan());
	CHECK_EQ(q.daddr, la);
	CHECK_EQ(q.inner.proto, proto);
	CHECK_EQ(q.inner.saddr, la);
	CHECK_EQ(q.inner.sport, lp);
	CHECK_EQ(q.inner.daddr, ra);
	CHECK_EQ(q.inner.dport, rp);
}

TEST(rfc5508_req8_exhaustion_sends_icmp_3_13)
{
	struct nat_config nc;
	struct env e;
	struct frame f;

	/* One session per worker. */
	nat_config_default(&nc, wan());
	nc.sessions_per_worker = 1;
	env_open(&e, 1, &nc, NULL);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	CHECK(ext != 0);
	frame_udp(&f, PKT_SIDE_LAN, lan(11), 5001, remote(2), 53);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	check_3_13(&f, lan(11), 5001, remote(2), 53, PKT_PROTO_UDP);
	/* A second session of the existing mapping: same. */
	frame_tcp(&f, PKT_SIDE_LAN, lan(10), 5000, remote(3), 80, PKT_TCP_SYN);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	check_3_13(&f, lan(10), 5000, remote(3), 80, PKT_PROTO_TCP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_SESSIONS_FULL], 2);
	CHECK_EQ(cnt(&e, 0)->icmp_unreach_sent, 2);
	/* The failed flows left no mapping behind, and the first still works. */
	CHECK_EQ(cnt(&e, 0)->mappings_created - cnt(&e, 0)->mappings_freed, 1);
	CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), 5000, 1), PKT_TO_LAN);
	/* Once the first expires there is room again. */
	tick_each_second(&e, 1, 302);
	CHECK(udp_out(&e, lan(11), 5001, remote(2), 53, 302) != 0);
	env_close(&e);

	/* One mapping. */
	nat_config_default(&nc, wan());
	nc.mappings = 1;
	env_open(&e, 1, &nc, NULL);
	echo_out(&e, lan(10), remote(1), 1, 0);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 1);
	frame_echo(&f, PKT_SIDE_LAN, lan(10), remote(1), PKT_ICMP_ECHO, 2);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_MAPPINGS_FULL], 1);
	{
		struct pkt q = reparse(&f);
		CHECK_EQ(q.icmp_type, PKT_ICMP_UNREACH);
		CHECK_EQ(q.icmp_code, PKT_ICMP_UNREACH_ADMIN);
		CHECK_EQ(q.inner.proto, PKT_PROTO_ICMP);
		CHECK_EQ(q.inner.icmp_type, PKT_ICMP_ECHO);
		CHECK_EQ(q.inner.sport, 2);
	}
	env_close(&e);

	/* Ports: 1023 below 1024 (RFC 4787 REQ-3 keeps the range), so the
	 * 1024th low-port endpoint finds none. */
	nat_config_default(&nc, wan());
	env_open(&e, 1, &nc, NULL);
	unsigned ok = 0;
	for (unsigned k = 0; k < 1023; k++)
		ok += udp_out(&e, lan(2 + k / 200), (uint16_t)(1 + k % 200), remote(1), 53, 0) != 0;
	CHECK_EQ(ok, 1023);
	frame_udp(&f, PKT_SIDE_LAN, lan(100), 999, remote(1), 53);
	CHECK_EQ(route(&e, &f, 0), PKT_TO_LAN);
	check_3_13(&f, lan(100), 999, remote(1), 53, PKT_PROTO_UDP);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_PORTS_EXHAUSTED], 1);
	/* High ports are another range. */
	CHECK(udp_out(&e, lan(100), 1999, remote(1), 53, 0) >= 1024);
	env_close(&e);

	/* Switched off: a plain drop. */
	nat_config_default(&nc, wan());
	nc.sessions_per_worker = 1;
	nc.icmp_on_exhaustion = false;
	env_open(&e, 1, &nc, NULL);
	udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	frame_udp(&f, PKT_SIDE_LAN, lan(11), 5001, remote(2), 53);
	CHECK_EQ(route(&e, &f, 0), PKT_DROP);
	CHECK_EQ(f.p.drop, NAT_DROP_SESSIONS_FULL);
	CHECK_EQ(cnt(&e, 0)->icmp_unreach_sent, 0);
	env_close(&e);
}

TEST(exhaustion_never_evicts_live_mapping)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.mappings = 2;
	nc.sessions_per_worker = 8;
	env_open(&e, 1, &nc, NULL);
	uint16_t a = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	uint16_t b = tcp_out(&e, lan(11), 6000, remote(1), 80, PKT_TCP_SYN, 0);
	CHECK(a && b);
	for (unsigned k = 0; k < 200; k++)
		CHECK_EQ(
		    udp_out(&e, lan(20 + k % 100), (uint16_t)(7000 + k), remote(2), 53, k % 50), 0);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_MAPPINGS_FULL], 200);
	/* Both live mappings still translate, both ways, on their ports, and
	 * can take new sessions. */
	CHECK_EQ(udp_in(&e, remote(1), 53, a, lan(10), 5000, 50), PKT_TO_LAN);
	CHECK_EQ(tcp_in(&e, remote(1), 80, b, lan(11), 6000, PKT_TCP_SYN | PKT_TCP_ACK, 50),
		 PKT_TO_LAN);
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(3), 53, 50), a);
	CHECK_EQ(cnt(&e, 0)->mappings_freed, 0);
	CHECK_EQ(cnt(&e, 0)->sessions, 3);
	/* Sessions full too: still nothing is evicted. */
	for (unsigned k = 0; k < 20; k++)
		udp_out(&e, lan(10), 5000, remote(100 + k), 53, 60);
	CHECK_EQ(cnt(&e, 0)->sessions, 8);
	CHECK(cnt(&e, 0)->drop[NAT_DROP_SESSIONS_FULL] > 0);
	CHECK_EQ(udp_in(&e, remote(1), 53, a, lan(10), 5000, 60), PKT_TO_LAN);
	CHECK_EQ(cnt(&e, 0)->sessions_expired, 0);
	env_close(&e);
}

/* ======================================================================
 * Static port mappings.
 * ====================================================================== */

TEST(static_port_mapping_reaches_lan_service)
{
	struct nat_config nc;
	struct env e;

	nat_config_default(&nc, wan());
	nc.n_static = 2;
	nc.statics[0] = (struct nat_static_map){PKT_PROTO_TCP, 8080, lan(10), 80};
	nc.statics[1] = (struct nat_static_map){PKT_PROTO_UDP, 5353, lan(11), 53};
	for (unsigned workers = 1; workers <= 4; workers += 3) {
		env_open(&e, workers, &nc, NULL);
		for (unsigned k = 0; k < 30; k++) {
			uint32_t ra = pkt_ipv4(203, 0, (unsigned)(test_rand() % 256), 1 + k);
			uint16_t rp = (uint16_t)(1024 + test_rand() % 60000);
			/* Any host may open a connection; no prior contact. */
			CHECK_EQ(tcp_in(&e, ra, rp, 8080, lan(10), 80, PKT_TCP_SYN, 0), PKT_TO_LAN);
			CHECK_EQ(tcp_out(&e, lan(10), 80, ra, rp, PKT_TCP_SYN | PKT_TCP_ACK, 0),
				 8080);
			/* The rest of the connection, wherever RSS puts it: a segment
			 * without SYN on a non-owner worker is handed off, not dropped. */
			CHECK_EQ(tcp_in(&e, ra, rp, 8080, lan(10), 80, PKT_TCP_ACK, 0), PKT_TO_LAN);
			CHECK_EQ(tcp_out(&e, lan(10), 80, ra, rp, PKT_TCP_ACK | PKT_TCP_PSH, 0),
				 8080);
			CHECK_EQ(tcp_out(&e, lan(10), 80, ra, rp, PKT_TCP_FIN | PKT_TCP_ACK, 0),
				 8080);
			CHECK_EQ(udp_in(&e, ra, rp, 5353, lan(11), 53, 0), PKT_TO_LAN);
			CHECK_EQ(udp_out(&e, lan(11), 53, ra, rp, 0), 5353);
		}
		CHECK_EQ(TOTAL(&e, drop[NAT_DROP_FILTERED]), 0);
		/* The mapping outlives its sessions. */
		tick(&e, 7440); /* TCP established, UDP: all gone */
		CHECK_EQ(TOTAL(&e, sessions), 0);
		CHECK_EQ(tcp_in(&e, remote(9), 999, 8080, lan(10), 80, PKT_TCP_SYN, 7440),
			 PKT_TO_LAN);
		/* Outbound from the service's endpoint uses the static port. */
		CHECK_EQ(tcp_out(&e, lan(10), 80, remote(8), 443, PKT_TCP_SYN, 7440), 8080);
		/* Other ports stay closed. */
		CHECK_EQ(tcp_in(&e, remote(9), 999, 8081, lan(10), 80, PKT_TCP_SYN, 7440),
			 PKT_DROP);
		env_close(&e);
	}

	/* Bad port mappings are refused at creation. */
	struct rss_config rc;
	struct rss_snapshot *snap;
	struct nat *nat = NULL;
	const char *why = NULL;
	rss_config_default(&rc, 1);
	CHECK_EQ(rss_snapshot_create(&rc, 1, &snap, &why), 0);
	nc.statics[1] = (struct nat_static_map){PKT_PROTO_TCP, 8080, lan(12), 81};
	CHECK(nat_create(&nc, snap, 1, &nat, &why) < 0);
	nc.statics[1] = (struct nat_static_map){PKT_PROTO_ICMP, 1, lan(12), 1};
	CHECK(nat_create(&nc, snap, 1, &nat, &why) < 0);
	rss_snapshot_destroy(snap);
}

/* ======================================================================
 * Steering (DESIGN.md): the reply hashes into the outbound packet's bucket.
 * ====================================================================== */

static void frame_reply_of(struct frame *r, const struct pkt *out_translated)
{
	const struct pkt *o = out_translated;

	if (o->proto == PKT_PROTO_UDP)
		frame_udp(r, PKT_SIDE_WAN, o->daddr, o->dport, o->saddr, o->sport);
	else if (o->proto == PKT_PROTO_TCP)
		frame_tcp(r, PKT_SIDE_WAN, o->daddr, o->dport, o->saddr, o->sport,
			  PKT_TCP_SYN | PKT_TCP_ACK);
	else
		frame_echo(r, PKT_SIDE_WAN, o->daddr, o->saddr, PKT_ICMP_ECHO_REPLY, o->sport);
}

/* @n random new flows (UDP, TCP, and ICMP echo if @icmp); each reply's bucket must be its outbound
 * packet's, and the reply must be translated where it lands. */
static void check_steering(struct env *e, unsigned n, bool icmp)
{
	unsigned wrong_bucket = 0, not_home = 0;

	for (unsigned k = 0; k < n; k++) {
		struct frame f, r;
		uint32_t la = lan(2 + (unsigned)(test_rand() % 250));
		uint32_t ra =
		    pkt_ipv4(1 + (unsigned)(test_rand() % 223), (unsigned)(test_rand() % 256),
			     (unsigned)(test_rand() % 256), 1 + (unsigned)(test_rand() % 254));
		uint16_t lp = (uint16_t)(1024 + test_rand() % 64512);
		uint16_t rp = (uint16_t)(1 + test_rand() % 65535);
		int kind = icmp ? (int)(test_rand() % 3) : (int)(test_rand() % 2);
		if (kind == 0)
			frame_udp(&f, PKT_SIDE_LAN, la, lp, ra, rp);
		else if (kind == 1)
			frame_tcp(&f, PKT_SIDE_LAN, la, lp, ra, rp, PKT_TCP_SYN);
		else
			frame_echo(&f, PKT_SIDE_LAN, la, ra, PKT_ICMP_ECHO, lp);
		unsigned bucket = nic_bucket(e, &f.p), w = nic_worker(e, &f.p);
		if (!CHECK_EQ(run_on(e, w, &f, 0), PKT_TO_WAN))
			continue;
		CHECK_EQ(f.worker, w); /* a new flow is made where it lands */
		struct pkt q = reparse(&f);
		frame_reply_of(&r, &q);
		wrong_bucket += nic_bucket(e, &r.p) != bucket;
		uint64_t handoffs = TOTAL(e, handoff);
		CHECK_EQ(route(e, &r, 0), PKT_TO_LAN);
		not_home += TOTAL(e, handoff) != handoffs;
		q = reparse(&r);
		CHECK_EQ(q.daddr, la);
		CHECK_EQ(q.dport, lp);
	}
	CHECK_EQ(wrong_bucket, 0);
	CHECK_EQ(not_home, 0);
}

TEST(steering_reply_lands_in_home_bucket)
{
	enum { N = 600 };
	struct env e;

	/* 4-tuple hashing, as NICs do: TCP and UDP are steered. */
	env_open(&e, 4, NULL, NULL);
	check_steering(&e, N, false);
	CHECK_EQ(TOTAL(&e, port_steered) + TOTAL(&e, port_kept), N);
	CHECK_EQ(TOTAL(&e, port_unsteered), 0);
	CHECK_EQ(TOTAL(&e, handoff), 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK(cnt(&e, i)->mappings_created > N / 8); /* all workers used */
	env_close(&e);

	/* Endpoint field sets: ICMP echo too, and every remote of a mapping. */
	struct rss_config rc;
	rss_config_default(&rc, 4);
	rc.fields_lan = RSS_F_SRC_ADDR | RSS_F_SRC_PORT;
	rc.fields_wan = RSS_F_DST_ADDR | RSS_F_DST_PORT;
	rc.icmp_id_as_port = true;
	env_open(&e, 4, NULL, &rc);
	check_steering(&e, N, true);
	CHECK_EQ(TOTAL(&e, port_unsteered), 0);
	CHECK_EQ(TOTAL(&e, handoff), 0);
	/* Another remote of a mapping: both ways land on the owner. */
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 1);
	for (unsigned k = 2; k < 40; k++) {
		CHECK_EQ(udp_out(&e, lan(10), 5000, remote(k), (uint16_t)(100 + k), 1), ext);
		CHECK_EQ(udp_in(&e, remote(k), (uint16_t)(100 + k), ext, lan(10), 5000, 1),
			 PKT_TO_LAN);
	}
	uint16_t id_ext = echo_out(&e, lan(10), remote(1), 0x99, 1);
	for (unsigned k = 2; k < 40; k++) {
		CHECK_EQ(echo_out(&e, lan(10), remote(k), 0x99, 1), id_ext);
		CHECK_EQ(echo_reply_in(&e, remote(k), id_ext, lan(10), 0x99, 1), PKT_TO_LAN);
	}
	CHECK_EQ(TOTAL(&e, handoff), 0);
	env_close(&e);
}

TEST(steering_port_kept_when_it_already_steers)
{
	struct env e;
	unsigned found = 0;

	env_open(&e, 4, NULL, NULL);
	/* Find internal ports whose own reply lands in the outbound bucket. */
	for (uint16_t lp = 20000; found < 3 && lp < 30000; lp++) {
		struct frame f, r;
		frame_udp(&f, PKT_SIDE_LAN, lan(10), lp, remote(1), 53);
		frame_udp(&r, PKT_SIDE_WAN, remote(1), 53, wan(), lp);
		if (nic_bucket(&e, &f.p) != nic_bucket(&e, &r.p))
			continue;
		uint64_t kept = TOTAL(&e, port_kept);
		CHECK_EQ(udp_out(&e, lan(10), lp, remote(1), 53, 0), lp);
		CHECK_EQ(TOTAL(&e, port_kept), kept + 1);
		found++;
	}
	CHECK_EQ(found, 3);
	/* A port that does not steer is not kept. */
	for (uint16_t lp = 40000;; lp++) {
		struct frame f, r;
		frame_udp(&f, PKT_SIDE_LAN, lan(10), lp, remote(1), 53);
		frame_udp(&r, PKT_SIDE_WAN, remote(1), 53, wan(), lp);
		if (nic_bucket(&e, &f.p) == nic_bucket(&e, &r.p))
			continue;
		CHECK(udp_out(&e, lan(10), lp, remote(1), 53, 0) != lp);
		break;
	}
	CHECK_EQ(TOTAL(&e, port_kept), 3);
	CHECK_EQ(TOTAL(&e, port_steered), 1);
	env_close(&e);
}

/* ======================================================================
 * Handoff: packets that cannot be steered reach the owner.
 * ====================================================================== */

TEST(handoff_second_destination_reaches_owner)
{
	struct env e;
	unsigned tested = 0;

	env_open(&e, 4, NULL, NULL);
	struct frame f;
	frame_udp(&f, PKT_SIDE_LAN, lan(10), 5000, remote(1), 53);
	unsigned owner = nic_worker(&e, &f.p);
	uint16_t ext = udp_out(&e, lan(10), 5000, remote(1), 53, 0);
	CHECK_EQ(cnt(&e, owner)->mappings_created, 1);
	for (unsigned k = 2; k < 60; k++) {
		frame_udp(&f, PKT_SIDE_LAN, lan(10), 5000, remote(k), 53);
		unsigned w = nic_worker(&e, &f.p);
		struct pkt *pp = &f.p;
		nat_process(wk(&e, w), &pp, 1, 1);
		if (w == owner) {
			CHECK_EQ(f.p.verdict, PKT_TO_WAN);
		} else {
			tested++;
			CHECK_EQ(f.p.verdict, PKT_HANDOFF);
			CHECK_EQ(f.p.to_worker, owner);
			CHECK_EQ(f.p.hops, 1);
			nat_process(wk(&e, owner), &pp, 1, 1);
			CHECK_EQ(f.p.verdict, PKT_TO_WAN);
		}
		struct pkt q = reparse(&f);
		CHECK_EQ(q.sport, ext);
		/* The reply is steered to the bucket of that LAN packet, not the
		 * owner's: it may need a handoff too, and gets one. */
		CHECK_EQ(udp_in(&e, remote(k), 53, ext, lan(10), 5000, 1), PKT_TO_LAN);
	}
	CHECK(tested > 20);
	CHECK_EQ(cnt(&e, owner)->rx_handoff, TOTAL(&e, handoff));
	CHECK_EQ(TOTAL(&e, mappings_created), 1);
	CHECK_EQ(cnt(&e, owner)->sessions, 59);
	CHECK_EQ(TOTAL(&e, sessions), 59);
	CHECK_EQ(TOTAL(&e, dropped), 0);
	/* A packet is handed off NAT_HOPS_MAX times at most under one view (a
	 * move may take that many): once more is a loop. */
	frame_udp(&f, PKT_SIDE_LAN, lan(10), 5000, remote(200), 53);
	unsigned other = (owner + 1) % 4;
	struct pkt *pp = &f.p;
	nat_process(wk(&e, other), &pp, 1, 1);
	CHECK_EQ(f.p.verdict, PKT_HANDOFF);
	f.p.hops = NAT_HOPS_MAX;
	nat_process(wk(&e, (owner + 2) % 4), &pp, 1, 1);
	CHECK_EQ(f.p.verdict, PKT_DROP);
	CHECK_EQ(f.p.drop, NAT_DROP_HANDOFF_STALE);
	env_close(&e);
}

TEST(steering_none_drops_wrong_core)
{
	struct nat_config nc;
	struct env e;
	unsigned wrong = 0, right = 0;

	nat_config_default(&nc, wan());
	nc.steering = NAT_STEER_NONE;
	env_open(&e, 4, &nc, NULL);
	for (unsigned k = 0; k < 40; k++) {
		uint16_t lp = (uint16_t)(10000 + k);
		struct frame f, r;
		frame_udp(&f, PKT_SIDE_LAN, lan(10), lp, remote(1), 53);
		unsigned owner = nic_worker(&e, &f.p);
		uint16_t ext = udp_out(&e, lan(10), lp, remote(1), 53, 0);
		CHECK_EQ(ext, lp); /* not steered: the port is kept */
		frame_udp(&r, PKT_SIDE_WAN, remote(1), 53, wan(), ext);
		if (nic_worker(&e, &r.p) == owner) {
			CHECK_EQ(route(&e, &r, 0), PKT_TO_LAN);
			right++;
		} else {
			CHECK_EQ(route(&e, &r, 0), PKT_DROP); /* KB927168 */
			CHECK_EQ(r.p.drop, NAT_DROP_WRONG_CORE);
			wrong++;
		}
	}
	CHECK(wrong > 10);
	CHECK_EQ(TOTAL(&e, drop[NAT_DROP_WRONG_CORE]), wrong);
	CHECK_EQ(TOTAL(&e, handoff), 0);
	CHECK_EQ(TOTAL(&e, port_kept), 40);
	env_close(&e);

	/* NAT_STEER_HANDOFF: the same replies all arrive, by handoff. */
	nc.steering = NAT_STEER_HANDOFF;
	env_open(&e, 4, &nc, NULL);
	for (unsigned k = 0; k < 40; k++) {
		uint16_t lp = (uint16_t)(10000 + k);
		uint16_t ext = udp_out(&e, lan(10), lp, remote(1), 53, 0);
		CHECK_EQ(udp_in(&e, remote(1), 53, ext, lan(10), lp, 0), PKT_TO_LAN);
	}
	CHECK_EQ(TOTAL(&e, handoff), wrong);
	CHECK_EQ(TOTAL(&e, dropped), 0);
	env_close(&e);
}

/* ======================================================================
 * Shared mappings: races and recycling.
 * ====================================================================== */

TEST(mapping_race_two_workers_agree)
{
	struct env e;

	/* In turn: the second worker finds the first one's mapping. */
	env_open(&e, 4, NULL, NULL);
	unsigned pairs = 0;
	for (unsigned k = 0; k < 50; k++) {
		uint16_t lp = (uint16_t)(20000 + k);
		struct frame f1, f2;
		frame_udp(&f1, PKT_SIDE_LAN, lan(10), lp, remote(1), 53);
		unsigned w1 = nic_worker(&e, &f1.p), w2 = w1;
		unsigned r = 2;
		for (; r < 200 && w2 == w1; r++) {
			frame_udp(&f2, PKT_SIDE_LAN, lan(10), lp, remote(r), 53);
			w2 = nic_worker(&e, &f2.p);
		}
		if (w2 == w1)
			continue;
		pairs++;
		CHECK_EQ(run_on(&e, w1, &f1, 0), PKT_TO_WAN);
		CHECK_EQ(run_on(&e, w2, &f2, 0), PKT_TO_WAN);
		CHECK_EQ(reparse(&f1).sport, reparse(&f2).sport);
	}
	CHECK(pairs > 40);
	CHECK_EQ(TOTAL(&e, mappings_created), pairs);
	env_close(&e);
}

/* Two threads, two workers, the same endpoints at the same time. */
struct racer {
	struct env *e;
	unsigned worker;
	struct frame *frames;
	unsigned n;
	pthread_barrier_t *start;
};

static void *race_run(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	for (unsigned i = 0; i < r->n; i++) {
		struct pkt *pp = &r->frames[i].p;
		nat_process(wk(r->e, r->worker), &pp, 1, 0);
	}
	return NULL;
}

TEST(mapping_race_two_workers_agree_threads)
{
	enum { N = 2000 };
	struct env e;
	struct frame *fa = calloc(N, sizeof(*fa)), *fb = calloc(N, sizeof(*fb));
	pthread_barrier_t start;
	pthread_t ta, tb;
	unsigned n = 0, live_set = 0, live_ok = 0;
	static _Atomic uint64_t live[3 * 65536 / 64]; /* nat.h ports_live */
	struct nat_config nc;

	nat_config_default(&nc, wan());
	nc.ports_live = live;
	env_open(&e, 2, &nc, NULL);
	/* Endpoint k: remote A hashes to worker 0, remote B to worker 1. */
	for (unsigned k = 0; n < N && k < 20 * N; k++) {
		uint32_t la = lan(2 + k % 250);
		uint16_t lp = (uint16_t)(1024 + k / 250);
		unsigned r = 1;
		bool have_a = false, have_b = false;
		for (; r < 64 && !(have_a && have_b); r++) {
			struct frame f;
			frame_udp(&f, PKT_SIDE_LAN, la, lp, remote(r), 53);
			unsigned w = nic_worker(&e, &f.p);
			if (w == 0 && !have_a) {
				fa[n] = f;
				have_a = true;
			} else if (w == 1 && !have_b) {
				fb[n] = f;
				have_b = true;
			}
		}
		if (have_a && have_b) {
			fa[n].p.data = fa[n].buf; /* the copies' own buffers */
			fb[n].p.data = fb[n].buf;
			n++;
		}
	}
	CHECK_EQ(n, N);
	pthread_barrier_init(&start, NULL, 2);
	struct racer ra = {&e, 0, fa, n, &start}, rb = {&e, 1, fb, n, &start};
	pthread_create(&ta, NULL, race_run, &ra);
	pthread_create(&tb, NULL, race_run, &rb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&start);
	/* Finish the handoffs, then compare ports. */
	unsigned disagree = 0;
	for (unsigned i = 0; i < n; i++) {
		struct frame *pair[2] = {&fa[i], &fb[i]};
		for (int j = 0; j < 2; j++) {
			struct pkt *pp = &pair[j]->p;
			if (pp->verdict == PKT_HANDOFF)
				nat_process(wk(&e, pp->to_worker), &pp, 1, 0);
			CHECK_EQ(pp->verdict, PKT_TO_WAN);
		}
		disagree += reparse(&fa[i]).sport != reparse(&fb[i]).sport;
	}
	CHECK_EQ(disagree, 0);
	/* Every endpoint ended with one live mapping; the losers were
	 * counted and retired. */
	CHECK_EQ(TOTAL(&e, mappings_created), n);
	CHECK(TOTAL(&e, mapping_race_lost) <= n);
	/* The winners' ports published (UDP's part), the losers' cleared. */
	for (unsigned i = 0; i < 3 * 65536 / 64; i++)
		live_set += (unsigned)__builtin_popcountll(atomic_load(&live[i]));
	for (unsigned i = 0; i < n; i++) {
		uint16_t port = reparse(&fa[i]).sport;
		live_ok += (atomic_load(&live[1024 + (port >> 6)]) >> (port & 63)) & 1;
	}
	CHECK_EQ(live_set, n);
	CHECK_EQ(live_ok, n);
	printf("  races lost: %llu, live bits %u for %u mappings\n",
	       (unsigned long long)TOTAL(&e, mapping_race_lost), live_set, n);
	tick(&e, 1);
	tick(&e, 2);
	env_close(&e);
	free(fa);
	free(fb);
}

TEST(reclaim_recycles_mappings)
{
	enum { MAPS = 16, ROUNDS = 12 };
	struct nat_config nc;
	struct env e;
	uint32_t t = 0;

	nat_config_default(&nc, wan());
	nc.mappings = MAPS;
	env_open(&e, 2, &nc, NULL);
	unsigned made = 0;
	for (unsigned round = 0; round < ROUNDS; round++) {
		/* Fill both workers' shares of the table. */
		unsigned ok = 0;
		for (unsigned k = 0; k < 200 && ok < MAPS; k++) {
			uint32_t la = lan(2 + (round * 7 + k) % 250);
			uint16_t lp = (uint16_t)(2000 + round * 200 + k);
			struct frame f;
			frame_udp(&f, PKT_SIDE_LAN, la, lp, remote(1), 53);
			uint8_t v = route(&e, &f, t);
			ok += v == PKT_TO_WAN;
		}
		CHECK_EQ(ok, MAPS);
		made += ok;
		/* Let them all expire; the janitor runs every second. */
		tick_each_second(&e, t, t + 302);
		CHECK_EQ(TOTAL(&e, sessions), 0);
		t += 303;
	}
	CHECK_EQ(TOTAL(&e, mappings_created), made);
	CHECK_EQ(TOTAL(&e, mappings_freed), made);
	CHECK_EQ(made, MAPS * ROUNDS);
	env_close(&e);

	/* Janitor called rarely: one pass unlinks, the next recycles. */
	nc.mappings = 4;
	env_open(&e, 1, &nc, NULL);
	for (unsigned round = 0; round < 6; round++) {
		uint32_t base = round * 1000;
		for (unsigned k = 0; k < 4; k++)
			CHECK(udp_out(&e, lan(2 + k), (uint16_t)(3000 + round), remote(1), 53,
				      base) != 0);
		CHECK_EQ(udp_out(&e, lan(9), 9, remote(1), 53, base), 0); /* full */
		tick(&e, base + 400);
		tick(&e, base + 401);
	}
	CHECK_EQ(cnt(&e, 0)->mappings_created, 24);
	CHECK_EQ(cnt(&e, 0)->drop[NAT_DROP_MAPPINGS_FULL], 6);
	env_close(&e);
}

/* Every malformed frame is a counted drop under its parse reason's name. */
TEST(parse_drops_counted_by_reason)
{
	struct rss_config rc;
	struct rss_snapshot *snap = NULL;
	struct nat_config nc;
	struct nat *nat = NULL;
	const char *why = NULL;
	uint8_t frame[64] = {0};
	struct pkt p;

	rss_config_default(&rc, 1);
	CHECK(rss_snapshot_create(&rc, 1, &snap, &why) == 0);
	nat_config_default(&nc, 0x02643377); /* 119.51.100.2 as bytes; any address */
	nc.sessions_per_worker = 16;
	nc.mappings = 16;
	CHECK(nat_create(&nc, snap, 1, &nat, &why) == 0);
	struct nat_worker *w = nat_worker(nat, 0);
	enum pkt_drop r1 = pkt_parse(&p, frame, 10, sizeof(frame));
	nat_parse_drop(w, r1);
	frame[12] = 0x08; /* IPv4 EtherType, version 0 */
	enum pkt_drop r2 = pkt_parse(&p, frame, 60, sizeof(frame));
	nat_parse_drop(w, r2);
	CHECK_EQ(r1, PKT_DROP_ETH_TRUNCATED);
	CHECK_EQ(r2, PKT_DROP_IP_VERSION);
	const struct nat_counters *c = nat_worker_counters(w);
	CHECK_EQ(c->parse_drop[PKT_DROP_ETH_TRUNCATED], 1);
	CHECK_EQ(c->parse_drop[PKT_DROP_IP_VERSION], 1);
	CHECK_EQ(c->drop[NAT_DROP_PARSE], 2);
	CHECK_EQ(c->dropped, 2);
	CHECK(!strcmp(pkt_drop_name(PKT_DROP_IP_VERSION), "ip_version"));
	nat_destroy(nat);
	rss_snapshot_destroy(snap);
}
