/* test_router.c - the router's duties: echo replies, TTL and Time Exceeded,
 * Fragmentation Needed, MSS clamping; every result re-parsed and its
 * checksums checked exactly (pkt_checksums_ok), every refusal by reason. */
#include "test.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/router/router.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	BUF = 2048,
	IP0 = PKT_ETH_LEN,
	L4 = PKT_ETH_LEN + PKT_IP_MIN, /* L4 offset without options or tag */
	RANDOM_OPTIONS = 20000,
};

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

#define OUR_IP ip4(192, 168, 137, 1)
#define WAN_IP ip4(203, 0, 113, 5)
#define HOST_A ip4(192, 168, 137, 10)
#define REMOTE ip4(198, 51, 100, 7)

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static const uint8_t payload32[32] = "0123456789abcdefghijklmnopqrstu";

static struct pkt_spec echo_spec(void)
{
	struct pkt_spec s = {
	    .saddr = HOST_A,
	    .daddr = OUR_IP,
	    .proto = PKT_PROTO_ICMP,
	    .ttl = 57,
	    .ip_id = 0x4321,
	    .icmp_type = PKT_ICMP_ECHO,
	    .icmp_id = 0x1234,
	    .icmp_seq = 7,
	    .payload = payload32,
	    .payload_len = sizeof(payload32),
	};

	memcpy(s.src_mac, mac_a, 6);
	memcpy(s.dst_mac, our_mac, 6);
	return s;
}

static struct pkt_spec udp_spec(uint8_t ttl, uint16_t payload_len)
{
	static uint8_t data[BUF];
	struct pkt_spec s = {
	    .saddr = HOST_A,
	    .daddr = REMOTE,
	    .proto = PKT_PROTO_UDP,
	    .ttl = ttl,
	    .ip_id = 0x0101,
	    .sport = 40000,
	    .dport = 53,
	    .payload = data,
	    .payload_len = payload_len,
	};

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	memcpy(s.src_mac, mac_a, 6);
	memcpy(s.dst_mac, our_mac, 6);
	return s;
}

/* Build @s into @buf and parse it with @cap bytes of room. */
static size_t build(struct pkt *p, uint8_t *buf, size_t cap, const struct pkt_spec *s)
{
	size_t n = pkt_build(buf, BUF, s);

	CHECK(n > 0);
	CHECK_EQ(pkt_parse(p, buf, (uint16_t)n, (uint16_t)cap), PKT_OK);
	return n;
}

/* Re-parse @p's frame from scratch: it must parse with exact checksums. */
static void reparse_ok(const struct pkt *p, struct pkt *q)
{
	CHECK_EQ(pkt_parse(q, p->data, p->len, p->cap), PKT_OK);
	CHECK(pkt_checksums_ok(q));
}

static void set_ours(uint32_t *o)
{
	o[0] = WAN_IP;
	o[1] = OUR_IP;
}

/* ---- echo ---- */

TEST(router_echo_request_becomes_the_reply)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = echo_spec();
	uint8_t buf[BUF], orig[BUF];
	uint32_t o[2];
	struct pkt p, q;
	size_t n = build(&p, buf, BUF, &s);

	set_ours(o);
	memcpy(orig, buf, n);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), 0);
	reparse_ok(&p, &q);
	CHECK_EQ(q.len, n);
	CHECK_EQ(q.proto, PKT_PROTO_ICMP);
	CHECK_EQ(q.icmp_type, PKT_ICMP_ECHO_REPLY);
	CHECK_EQ(q.icmp_code, 0);
	CHECK_EQ(q.saddr, OUR_IP);
	CHECK_EQ(q.daddr, HOST_A);
	CHECK_EQ(q.ttl, 64);
	CHECK_EQ(q.sport, 0x1234);
	CHECK_EQ(be16(buf + L4 + PKT_ICMP_SEQ), 7);
	CHECK(!memcmp(buf + L4 + PKT_ICMP_HLEN, payload32, sizeof(payload32)));
	CHECK(!memcmp(buf + PKT_ETH_DST, mac_a, 6));
	CHECK(!memcmp(buf + PKT_ETH_SRC, our_mac, 6));
	/* The descriptor was refreshed too. */
	CHECK_EQ(p.icmp_type, PKT_ICMP_ECHO_REPLY);
	CHECK_EQ(p.saddr, OUR_IP);
	CHECK_EQ(cnt.echo_replied, 1);
}

TEST(router_echo_with_vlan_and_data_path_fields_kept)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = echo_spec();
	uint8_t buf[BUF];
	uint32_t o[2];
	struct pkt p, q;

	set_ours(o);
	s.vlan_tci = 42;
	build(&p, buf, BUF, &s);
	p.side = PKT_SIDE_LAN;
	p.hops = 1;
	p.verdict = PKT_TO_HOST;
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), 0);
	CHECK_EQ(p.hops, 1);
	CHECK_EQ(p.verdict, PKT_TO_HOST);
	reparse_ok(&p, &q);
	CHECK(q.flags & PKT_F_VLAN);
	CHECK_EQ(q.vlan_tci, 42);
	CHECK_EQ(q.icmp_type, PKT_ICMP_ECHO_REPLY);
}

TEST(router_echo_with_ip_options_answered_without_them)
{
	static const uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0}; /* Record Route, EOL */
	struct router_counters cnt = {0};
	struct pkt_spec s = echo_spec();
	uint8_t buf[BUF];
	uint32_t o[2];
	struct pkt p, q;
	size_t n;

	set_ours(o);
	s.ip_options = rr;
	s.ip_options_len = sizeof(rr);
	n = build(&p, buf, BUF, &s);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), 0);
	reparse_ok(&p, &q);
	CHECK_EQ(q.len, n - sizeof(rr));
	CHECK_EQ(q.l4_off, L4);
	CHECK_EQ(q.l3_len, PKT_IP_MIN + PKT_ICMP_HLEN + sizeof(payload32));
	CHECK_EQ(q.icmp_type, PKT_ICMP_ECHO_REPLY);
	CHECK(!memcmp(buf + L4 + PKT_ICMP_HLEN, payload32, sizeof(payload32)));
}

TEST(router_echo_refusals)
{
	static const uint8_t lsrr[8] = {131, 7, 4, 10, 0, 0, 1, 0};
	struct router_counters cnt = {0};
	struct pkt_spec s;
	uint8_t buf[BUF], orig[BUF];
	uint32_t o[2];
	struct pkt p;
	size_t n;

	set_ours(o);
	/* An echo reply, or a request for someone else: not ours to answer. */
	s = echo_spec();
	s.icmp_type = PKT_ICMP_ECHO_REPLY;
	n = build(&p, buf, BUF, &s);
	memcpy(orig, buf, n);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(p.drop, ROUTER_DROP_NOT_ECHO);
	CHECK(!memcmp(buf, orig, n));
	s = echo_spec();
	s.daddr = REMOTE;
	build(&p, buf, BUF, &s);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(p.drop, ROUTER_DROP_NOT_OURS);
	/* A fragment (no reassembly). */
	s = echo_spec();
	s.more_frags = true;
	build(&p, buf, BUF, &s);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(p.drop, ROUTER_DROP_NOT_ECHO);
	/* Bad checksum. */
	s = echo_spec();
	n = build(&p, buf, BUF, &s);
	buf[n - 1] ^= 0x40;
	memcpy(orig, buf, n);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(p.drop, ROUTER_DROP_ECHO_CHECKSUM);
	CHECK(!memcmp(buf, orig, n));
	/* Source that names no host. */
	s = echo_spec();
	s.saddr = ip4(255, 255, 255, 255);
	build(&p, buf, BUF, &s);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(p.drop, ROUTER_DROP_BAD_SOURCE);
	/* Source routed. */
	s = echo_spec();
	s.ip_options = lsrr;
	s.ip_options_len = sizeof(lsrr);
	n = build(&p, buf, BUF, &s);
	memcpy(orig, buf, n);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(p.drop, ROUTER_DROP_SOURCE_ROUTE);
	CHECK(!memcmp(buf, orig, n));
	/* A UDP packet. */
	s = udp_spec(64, 10);
	s.daddr = OUR_IP;
	build(&p, buf, BUF, &s);
	CHECK_EQ(router_answer_echo(&cnt, &p, o, 2), -1);
	CHECK_EQ(router_answer_echo(&cnt, &p, NULL, 0), -1); /* no addresses */
	CHECK_EQ(cnt.echo_replied, 0);
	CHECK_EQ(cnt.drop[ROUTER_DROP_ECHO_CHECKSUM], 1);
	CHECK_EQ(cnt.drop[ROUTER_DROP_BAD_SOURCE], 1);
	CHECK_EQ(cnt.drop[ROUTER_DROP_SOURCE_ROUTE], 1);
	CHECK_EQ(cnt.drop[ROUTER_DROP_NOT_ECHO], 0); /* not ours to count */
}

/* ---- TTL ---- */

TEST(router_ttl_64_becomes_63_with_valid_checksum)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = udp_spec(64, 100);
	uint8_t buf[BUF], orig[BUF];
	struct pkt p, q;
	size_t n = build(&p, buf, BUF, &s);

	memcpy(orig, buf, n);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_FORWARD);
	reparse_ok(&p, &q);
	CHECK_EQ(q.ttl, 63);
	CHECK_EQ(p.ttl, 63);
	/* Only the TTL and the header checksum changed. */
	orig[IP0 + PKT_IP_TTL] = 63;
	memcpy(orig + IP0 + PKT_IP_CSUM, buf + IP0 + PKT_IP_CSUM, 2);
	CHECK(!memcmp(buf, orig, n));
	CHECK_EQ(cnt.ttl_decremented, 1);
}

TEST(router_ttl_2_becomes_1_and_is_forwarded)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = udp_spec(2, 10);
	uint8_t buf[BUF];
	struct pkt p, q;

	build(&p, buf, BUF, &s);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_FORWARD);
	reparse_ok(&p, &q);
	CHECK_EQ(q.ttl, 1);
}

/* Set the TTL of the frame in @buf and fix the header checksum. */
static void force_ttl(uint8_t *buf, uint8_t ttl)
{
	uint16_t c;

	buf[IP0 + PKT_IP_TTL] = ttl;
	c = csum_ipv4_header(buf + IP0, PKT_IP_MIN);
	memcpy(buf + IP0 + PKT_IP_CSUM, &c, 2);
}

static void check_time_exceeded(uint8_t ttl)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = udp_spec(1, 100);
	uint8_t buf[BUF], orig[BUF];
	struct pkt p, q;
	size_t n = build(&p, buf, BUF, &s);

	force_ttl(buf, ttl); /* a spec's TTL 0 means the default */
	CHECK_EQ(pkt_parse(&p, buf, (uint16_t)n, BUF), PKT_OK);
	CHECK_EQ(p.ttl, ttl);
	memcpy(orig, buf, n);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_REPLIED);
	reparse_ok(&p, &q);
	CHECK_EQ(q.proto, PKT_PROTO_ICMP);
	CHECK_EQ(q.icmp_type, PKT_ICMP_TIME_EXCEEDED);
	CHECK_EQ(q.icmp_code, 0);
	CHECK_EQ(q.saddr, OUR_IP);
	CHECK_EQ(q.daddr, HOST_A);
	CHECK(q.flags & PKT_F_ICMP_ERROR);
	/* RFC 792: the original IP header and the first 8 bytes of its data. */
	CHECK_EQ(q.l3_len, PKT_IP_MIN + PKT_ICMP_HLEN + PKT_IP_MIN + 8);
	CHECK_EQ(q.inner.l3_off, L4 + PKT_ICMP_HLEN);
	CHECK(!memcmp(buf + q.inner.l3_off, orig + IP0, PKT_IP_MIN + 8));
	CHECK_EQ(q.inner.saddr, HOST_A);
	CHECK_EQ(q.inner.daddr, REMOTE);
	CHECK_EQ(q.inner.sport, 40000);
	CHECK_EQ(be16(buf + L4 + PKT_ICMP_ID), 0); /* unused, zero */
	CHECK_EQ(be16(buf + L4 + PKT_ICMP_SEQ), 0);
	CHECK(!memcmp(buf + PKT_ETH_DST, mac_a, 6));
	CHECK(!memcmp(buf + PKT_ETH_SRC, our_mac, 6));
	CHECK_EQ(cnt.ttl_expired, 1);
	CHECK_EQ(cnt.time_exceeded_sent, 1);
}

TEST(router_ttl_1_becomes_time_exceeded_quoting_the_original)
{
	check_time_exceeded(1);
}

TEST(router_ttl_0_becomes_time_exceeded)
{
	check_time_exceeded(0);
}

TEST(router_ttl_1_echo_request_gets_time_exceeded)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = echo_spec();
	uint8_t buf[BUF];
	struct pkt p, q;

	s.ttl = 1;
	s.daddr = REMOTE;
	build(&p, buf, BUF, &s);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_REPLIED);
	reparse_ok(&p, &q);
	CHECK_EQ(q.icmp_type, PKT_ICMP_TIME_EXCEEDED);
	CHECK_EQ(q.inner.proto, PKT_PROTO_ICMP);
	CHECK_EQ(q.inner.sport, 0x1234);
}

/* Expect @buf (@n bytes, TTL 1) to be dropped by @why, untouched. */
static void check_no_error(uint8_t *buf, size_t n, enum router_drop why)
{
	struct router_counters cnt = {0};
	uint8_t orig[BUF];
	struct pkt p;

	CHECK_EQ(pkt_parse(&p, buf, (uint16_t)n, BUF), PKT_OK);
	memcpy(orig, buf, n);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_DROP);
	CHECK_EQ(p.drop, why);
	CHECK_EQ(cnt.drop[why], 1);
	CHECK_EQ(cnt.ttl_expired, 1);
	CHECK_EQ(cnt.time_exceeded_sent, 0);
	CHECK(!memcmp(buf, orig, n));
}

TEST(router_no_time_exceeded_about_an_icmp_error)
{
	uint8_t buf[BUF], quoted[BUF];
	struct pkt_spec s = udp_spec(64, 8);
	size_t qn = pkt_build(quoted, BUF, &s), n;

	n = pkt_build_icmp_error(buf, BUF, our_mac, mac_a, REMOTE, HOST_A, PKT_ICMP_UNREACH,
				 PKT_ICMP_UNREACH_PORT, quoted + IP0, qn - IP0);
	force_ttl(buf, 1);
	check_no_error(buf, n, ROUTER_DROP_ERROR_IN_ERROR);
	/* Time Exceeded about a Time Exceeded neither. */
	n = pkt_build_icmp_error(buf, BUF, our_mac, mac_a, REMOTE, HOST_A, PKT_ICMP_TIME_EXCEEDED,
				 0, quoted + IP0, qn - IP0);
	force_ttl(buf, 0);
	check_no_error(buf, n, ROUTER_DROP_ERROR_IN_ERROR);
}

TEST(router_no_time_exceeded_about_fragments_groups_or_bad_sources)
{
	uint8_t buf[BUF];
	struct pkt_spec s;
	struct router_counters cnt = {0};
	struct pkt p;

	s = udp_spec(1, 64);
	s.frag_off = 8;
	check_no_error(buf, pkt_build(buf, BUF, &s), ROUTER_DROP_ERROR_IN_FRAGMENT);
	s = udp_spec(1, 64);
	s.daddr = ip4(224, 0, 0, 5);
	check_no_error(buf, pkt_build(buf, BUF, &s), ROUTER_DROP_ERROR_TO_GROUP);
	s = udp_spec(1, 64);
	memcpy(s.dst_mac, bcast, 6);
	check_no_error(buf, pkt_build(buf, BUF, &s), ROUTER_DROP_ERROR_TO_GROUP);
	s = udp_spec(1, 64);
	s.saddr = 0;
	check_no_error(buf, pkt_build(buf, BUF, &s), ROUTER_DROP_BAD_SOURCE);
	s = udp_spec(1, 64);
	s.saddr = ip4(127, 0, 0, 1);
	check_no_error(buf, pkt_build(buf, BUF, &s), ROUTER_DROP_BAD_SOURCE);
	/* Under 8 bytes after the IP header: nothing to quote (RFC 792). */
	s = udp_spec(1, 0);
	s.proto = 47;
	s.payload_len = 4;
	check_no_error(buf, pkt_build(buf, BUF, &s), ROUTER_DROP_ERROR_SHORT);
	/* A first fragment is answered. */
	s = udp_spec(1, 64);
	s.more_frags = true;
	s.udp_len = 200;
	build(&p, buf, BUF, &s);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_REPLIED);
}

TEST(router_time_exceeded_needs_room)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = udp_spec(1, 8);
	uint8_t buf[BUF], orig[BUF];
	struct pkt p;
	size_t n = build(&p, buf, 0, &s); /* cap = len: no room to grow */

	memcpy(orig, buf, n);
	CHECK_EQ(router_forward_ttl(&cnt, NULL, &p, OUR_IP), ROUTER_DROP);
	CHECK_EQ(p.drop, ROUTER_DROP_ERROR_NO_ROOM);
	CHECK(!memcmp(buf, orig, n));
}

/* ---- MTU ---- */

TEST(router_too_big_with_df_gets_frag_needed_with_the_mtu)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = udp_spec(64, 1472); /* 1500-byte datagram */
	uint8_t buf[BUF], orig[BUF];
	struct pkt p, q;
	size_t n;

	s.df = true;
	n = build(&p, buf, BUF, &s);
	memcpy(orig, buf, n);
	CHECK_EQ(router_check_mtu(&cnt, NULL, &p, 1500, WAN_IP), ROUTER_FORWARD);
	CHECK_EQ(router_check_mtu(&cnt, NULL, &p, 1400, WAN_IP), ROUTER_REPLIED);
	reparse_ok(&p, &q);
	CHECK_EQ(q.icmp_type, PKT_ICMP_UNREACH);
	CHECK_EQ(q.icmp_code, PKT_ICMP_UNREACH_NEEDFRAG);
	CHECK_EQ(q.saddr, WAN_IP);
	CHECK_EQ(q.daddr, HOST_A);
	/* RFC 1191 4: bytes 4-5 unused, 6-7 the next-hop MTU. */
	CHECK_EQ(be16(buf + L4 + 4), 0);
	CHECK_EQ(be16(buf + L4 + 6), 1400);
	CHECK(!memcmp(buf + q.inner.l3_off, orig + IP0, PKT_IP_MIN + 8));
	CHECK_EQ(cnt.too_big, 1);
	CHECK_EQ(cnt.frag_needed_sent, 1);
}

TEST(router_too_big_without_df_must_fragment)
{
	struct router_counters cnt = {0};
	struct pkt_spec s = udp_spec(64, 1472);
	uint8_t buf[BUF], orig[BUF];
	struct pkt p;
	size_t n = build(&p, buf, BUF, &s);

	memcpy(orig, buf, n);
	CHECK_EQ(router_check_mtu(&cnt, NULL, &p, 576, WAN_IP), ROUTER_DROP);
	CHECK_EQ(p.drop, ROUTER_DROP_MUST_FRAGMENT);
	CHECK_EQ(cnt.drop[ROUTER_DROP_MUST_FRAGMENT], 1);
	CHECK(!memcmp(buf, orig, n));
}

TEST(router_too_big_icmp_error_gets_no_frag_needed)
{
	struct router_counters cnt = {0};
	uint8_t buf[BUF], quoted[BUF];
	struct pkt_spec s = udp_spec(64, 8);
	size_t qn = pkt_build(quoted, BUF, &s), n;
	struct pkt p;
	uint16_t c;

	/* Frag Needed about an ICMP error with DF set and a long quote. */
	memset(quoted + qn, 0, 600);
	n = pkt_build_icmp_error(buf, BUF, our_mac, mac_a, REMOTE, HOST_A, PKT_ICMP_UNREACH,
				 PKT_ICMP_UNREACH_PORT, quoted + IP0, qn - IP0 + 600);
	buf[IP0 + PKT_IP_FRAG] |= PKT_IP_DF >> 8;
	c = csum_ipv4_header(buf + IP0, PKT_IP_MIN);
	memcpy(buf + IP0 + PKT_IP_CSUM, &c, 2);
	CHECK_EQ(pkt_parse(&p, buf, (uint16_t)n, BUF), PKT_OK);
	CHECK(p.flags & PKT_F_DF);
	CHECK_EQ(router_check_mtu(&cnt, NULL, &p, 576, WAN_IP), ROUTER_DROP);
	CHECK_EQ(p.drop, ROUTER_DROP_ERROR_IN_ERROR);
}

/* ---- MSS ---- */

/* A TCP segment with @opts (a multiple of 4 bytes) and @extra payload bytes
 * that look like an MSS option, to catch a walk past the header. */
static size_t tcp_with_options(struct pkt *p, uint8_t *buf, uint8_t flags, const uint8_t *opts,
			       size_t optlen, size_t extra)
{
	uint8_t data[128];
	struct pkt_spec s = udp_spec(64, 0);
	size_t n;
	uint16_t c;

	memcpy(data, opts, optlen);
	for (size_t i = 0; i < extra; i += 4)
		memcpy(data + optlen + i, (const uint8_t[]){2, 4, 0x05, 0xb4}, 4);
	s.proto = PKT_PROTO_TCP;
	s.tcp_flags = flags;
	s.payload = data;
	s.payload_len = (uint16_t)(optlen + extra);
	n = pkt_build(buf, BUF, &s);
	buf[L4 + PKT_TCP_DOFF] = (uint8_t)((PKT_TCP_MIN + optlen) / 4 << 4);
	c = csum_ipv4_l4(s.saddr, s.daddr, PKT_PROTO_TCP, buf + L4, n - L4);
	memcpy(buf + L4 + PKT_TCP_CSUM, &c, 2);
	CHECK_EQ(pkt_parse(p, buf, (uint16_t)n, BUF), PKT_OK);
	CHECK(pkt_checksums_ok(p));
	return n;
}

/* Clamp to 1400; returns what router_clamp_mss() said, checks checksums
 * and that nothing but MSS values and the checksum changed. */
static bool clamp(const uint8_t *opts, size_t optlen, size_t extra, uint8_t flags,
		  struct router_counters *cnt, uint8_t *buf)
{
	uint8_t orig[BUF];
	struct pkt p, q;
	size_t n = tcp_with_options(&p, buf, flags, opts, optlen, extra);
	bool changed;

	memcpy(orig, buf, n);
	changed = router_clamp_mss(cnt, &p, 1400);
	reparse_ok(&p, &q);
	CHECK(!memcmp(buf, orig, L4 + PKT_TCP_CSUM));
	CHECK(!memcmp(buf + L4 + PKT_TCP_MIN + optlen, orig + L4 + PKT_TCP_MIN + optlen, extra));
	if (!changed)
		CHECK(!memcmp(buf, orig, n));
	return changed;
}

enum { O = L4 + PKT_TCP_MIN }; /* first option byte */

TEST(router_mss_1460_clamped_to_1400_with_valid_checksum)
{
	static const uint8_t opts[] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2}; /* MSS, NOP NOP SACKOK */
	struct router_counters cnt = {0};
	uint8_t buf[BUF];

	CHECK(clamp(opts, sizeof(opts), 8, PKT_TCP_SYN, &cnt, buf));
	CHECK_EQ(be16(buf + O + 2), 1400);
	CHECK_EQ(cnt.mss_clamped, 1);
	/* SYN-ACK too. */
	CHECK(clamp(opts, sizeof(opts), 0, PKT_TCP_SYN | PKT_TCP_ACK, &cnt, buf));
	CHECK_EQ(be16(buf + O + 2), 1400);
}

TEST(router_mss_smaller_or_not_syn_or_absent_untouched)
{
	static const uint8_t small[] = {2, 4, 0x05, 0x14}; /* 1300 */
	static const uint8_t big[] = {2, 4, 0x05, 0xb4};
	static const uint8_t none[] = {1, 1, 1, 0};
	static const uint8_t exact[] = {2, 4, 0x05, 0x78}; /* 1400 */
	struct router_counters cnt = {0};
	uint8_t buf[BUF];

	CHECK(!clamp(small, sizeof(small), 0, PKT_TCP_SYN, &cnt, buf));
	CHECK(!clamp(exact, sizeof(exact), 0, PKT_TCP_SYN, &cnt, buf));
	CHECK(!clamp(big, sizeof(big), 0, PKT_TCP_ACK, &cnt, buf));
	CHECK(!clamp(none, sizeof(none), 8, PKT_TCP_SYN, &cnt, buf));
	CHECK(!clamp(none, 0, 8, PKT_TCP_SYN, &cnt, buf)); /* no options at all */
	CHECK_EQ(cnt.mss_clamped, 0);
	CHECK_EQ(cnt.mss_malformed, 0);
}

TEST(router_mss_at_an_odd_offset)
{
	/* NOP puts the MSS value at TCP offset 23: it straddles two checksum
	 * words and must be folded in byte-swapped (RFC 1071 2.(B)). */
	static const uint8_t opts[] = {1, 2, 4, 0xff, 0xff, 1, 1, 1};
	struct router_counters cnt = {0};
	uint8_t buf[BUF];

	CHECK(clamp(opts, sizeof(opts), 0, PKT_TCP_SYN, &cnt, buf));
	CHECK_EQ(be16(buf + O + 3), 1400);
}

TEST(router_mss_option_at_the_end_of_the_header)
{
	static const uint8_t last[] = {1, 1, 1, 1, 3, 3, 7, 1, 2, 4, 0x05, 0xb4};
	/* Kind 2 in the last header byte: its length would be payload. */
	static const uint8_t cut[] = {1, 1, 1, 1, 1, 1, 1, 2};
	struct router_counters cnt = {0};
	uint8_t buf[BUF];

	CHECK(clamp(last, sizeof(last), 8, PKT_TCP_SYN, &cnt, buf));
	CHECK_EQ(be16(buf + O + 10), 1400);
	CHECK(!clamp(cut, sizeof(cut), 8, PKT_TCP_SYN, &cnt, buf));
	CHECK_EQ(cnt.mss_malformed, 1);
}

TEST(router_mss_malformed_options_stop_the_walk)
{
	static const struct {
		uint8_t opts[8];
		bool malformed;
	} cases[] = {
	    {{3, 0, 2, 4, 0x05, 0xb4, 0, 0}, true},  /* length 0 */
	    {{3, 1, 2, 4, 0x05, 0xb4, 0, 0}, true},  /* length 1 */
	    {{3, 30, 2, 4, 0x05, 0xb4, 0, 0}, true}, /* beyond the header */
	    {{2, 3, 0x05, 0xb4, 1, 1, 1, 1}, true},  /* MSS of length 3 */
	    {{2, 6, 0x05, 0xb4, 0, 0, 1, 1}, true},  /* MSS of length 6 */
	    {{0, 2, 4, 0x05, 0xb4, 0, 0, 0}, false}, /* after End of Option List */
	};
	struct router_counters cnt = {0};
	uint8_t buf[BUF];
	uint64_t bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(!clamp(cases[i].opts, 8, 8, PKT_TCP_SYN, &cnt, buf));
		bad += cases[i].malformed;
		CHECK_EQ(cnt.mss_malformed, bad);
	}
}

TEST(router_mss_every_mss_option_clamped_and_long_nop_runs_bounded)
{
	static const uint8_t two[] = {2, 4, 0x05, 0xb4, 2, 4, 0x23, 0x28};
	uint8_t nops[40];
	struct router_counters cnt = {0};
	uint8_t buf[BUF];

	CHECK(clamp(two, sizeof(two), 0, PKT_TCP_SYN, &cnt, buf));
	CHECK_EQ(be16(buf + O + 2), 1400);
	CHECK_EQ(be16(buf + O + 6), 1400);
	memset(nops, 1, sizeof(nops));
	CHECK(!clamp(nops, sizeof(nops), 8, PKT_TCP_SYN, &cnt, buf));
	nops[36] = 2;
	nops[37] = 4;
	nops[38] = 0xff;
	nops[39] = 0xff;
	CHECK(clamp(nops, sizeof(nops), 8, PKT_TCP_SYN, &cnt, buf));
	CHECK_EQ(be16(buf + O + 38), 1400);
}

TEST(router_mss_random_options_keep_checksums_and_bounds)
{
	struct router_counters cnt = {0};
	uint8_t buf[BUF], opts[40];

	for (unsigned i = 0; i < RANDOM_OPTIONS; i++) {
		size_t optlen = (size_t)(test_rand() % 11) * 4;

		for (size_t j = 0; j < optlen; j++) {
			uint64_t r = test_rand();
			/* Mostly plausible kinds and lengths, so walks get far. */
			opts[j] = (uint8_t)(r % 3 ? r % 5 : r >> 8);
		}
		clamp(opts, optlen, 8, PKT_TCP_SYN, &cnt, buf);
	}
	CHECK(cnt.mss_clamped > 0);
	CHECK(cnt.mss_malformed > 0);
}

/* ---- Ethernet, names ---- */

TEST(router_ethernet_helpers)
{
	struct pkt_spec s = udp_spec(64, 10);
	uint8_t buf[BUF];
	struct pkt p;

	build(&p, buf, BUF, &s);
	router_set_eth_src(&p, mac_a);
	router_set_eth_dst(&p, bcast);
	CHECK(!memcmp(buf + PKT_ETH_SRC, mac_a, 6));
	CHECK(!memcmp(buf + PKT_ETH_DST, bcast, 6));
}

TEST(router_drop_names_cover_every_reason)
{
	CHECK(!strcmp(router_drop_name(ROUTER_DROP_MUST_FRAGMENT), "MUST_FRAGMENT"));
	for (int r = 0; r < ROUTER_DROP_COUNT; r++)
		CHECK(strlen(router_drop_text((enum router_drop)r)) > 5);
	CHECK(!strcmp(router_drop_name(ROUTER_DROP_COUNT), "?"));
}
