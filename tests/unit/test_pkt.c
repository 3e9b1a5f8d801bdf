/* test_pkt.c - the packet descriptor: every field parsed, every drop reason
 * produced, RFC 1624 incremental checksums equal to full recomputation, ICMP
 * error quotes, and random byte flips that must never crash. */
#include "test.h"
#include "../../src/pkt/pkt.h"
#include "../../src/pkt/build.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum {
	BUF = 2048,
	ETH = PKT_ETH_LEN,
	IP0 = PKT_ETH_LEN, /* IPv4 header offset in an untagged frame */
	RANDOM_REWRITES = 100000,
	RANDOM_FLIPS = 200000,
};

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t wire16(const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, 2);
	return v;
}

static void set_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static struct pkt_spec spec_of(uint8_t proto)
{
	struct pkt_spec s = {
	    .saddr = pkt_ipv4(10, 0, 0, 1),
	    .daddr = pkt_ipv4(192, 0, 2, 7),
	    .proto = proto,
	    .ip_id = 0x1234,
	    .sport = 40000,
	    .dport = 80,
	    .tcp_flags = PKT_TCP_SYN,
	    .seq = 1000,
	    .icmp_type = PKT_ICMP_ECHO,
	    .icmp_id = 0x4242,
	    .icmp_seq = 7,
	};

	memcpy(s.src_mac, mac_a, 6);
	memcpy(s.dst_mac, mac_b, 6);
	return s;
}

static size_t build(uint8_t *buf, const struct pkt_spec *s)
{
	size_t n = pkt_build(buf, BUF, s);

	CHECK(n > 0);
	return n;
}

static enum pkt_drop parse(struct pkt *p, uint8_t *buf, size_t len)
{
	return pkt_parse(p, buf, (uint16_t)len, BUF);
}

/* After editing an IPv4 header by hand, so that only the edit is wrong. */
static void fix_ip_csum(uint8_t *ip)
{
	uint16_t c = csum_ipv4_header(ip, (size_t)(ip[0] & 0x0f) * 4);

	memcpy(ip + PKT_IP_CSUM, &c, 2);
}

/* ---- valid frames ------------------------------------------------------- */

TEST(pkt_parse_tcp_fills_every_field)
{
	uint8_t buf[BUF], payload[10] = "0123456789";
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	struct pkt p;
	size_t n;

	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK | 0xc0; /* CWR|ECE are not ours */
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.df = true;
	n = build(buf, &s);
	memset(&p, 0xa5, sizeof(p));
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(n, 14 + 20 + 20 + 10);
	CHECK(p.data == buf);
	CHECK_EQ(p.len, n);
	CHECK_EQ(p.cap, BUF);
	CHECK_EQ(p.l3_off, 14);
	CHECK_EQ(p.l4_off, 34);
	CHECK_EQ(p.l3_len, 50);
	CHECK_EQ(p.l4_len, 30);
	CHECK_EQ(p.flags, PKT_F_L4 | PKT_F_DF);
	CHECK_EQ(p.proto, PKT_PROTO_TCP);
	CHECK_EQ(p.ttl, 64);
	CHECK_EQ(p.ip_id, 0x1234);
	CHECK_EQ(p.frag_off, 0);
	CHECK_EQ(p.saddr, pkt_ipv4(10, 0, 0, 1));
	CHECK_EQ(p.daddr, pkt_ipv4(192, 0, 2, 7));
	CHECK_EQ(p.sport, 40000);
	CHECK_EQ(p.dport, 80);
	CHECK_EQ(p.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	CHECK_EQ(p.vlan_tci, 0);
	CHECK_EQ(p.side + p.hops + p.verdict + p.drop + p.to_worker, 0);
	CHECK_EQ(p.inner.proto + p.inner.l3_off, 0);
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_parse_udp_fills_ports_and_lengths)
{
	uint8_t buf[BUF], payload[5] = "hello";
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n;

	s.sport = 5353;
	s.dport = 53;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.ttl = 3;
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_L4);
	CHECK_EQ(p.proto, PKT_PROTO_UDP);
	CHECK_EQ(p.ttl, 3);
	CHECK_EQ(p.sport, 5353);
	CHECK_EQ(p.dport, 53);
	CHECK_EQ(p.l4_len, 13);
	CHECK_EQ(be16(buf + p.l4_off + PKT_UDP_LEN), 13);
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_parse_icmp_echo_puts_identifier_in_both_ports)
{
	uint8_t buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_ICMP);
	struct pkt p;
	size_t n;

	s.icmp_type = PKT_ICMP_ECHO_REPLY;
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_L4 | PKT_F_ICMP_QUERY);
	CHECK_EQ(p.icmp_type, PKT_ICMP_ECHO_REPLY);
	CHECK_EQ(p.icmp_code, 0);
	CHECK_EQ(p.sport, 0x4242);
	CHECK_EQ(p.dport, 0x4242);
	CHECK(pkt_checksums_ok(&p));

	/* Other ICMP messages are described without a "port". */
	s.icmp_type = 13; /* timestamp */
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_L4);
	CHECK_EQ(p.sport + p.dport, 0);
}

TEST(pkt_parse_vlan_tag_moves_l3_and_sets_tci)
{
	uint8_t buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n;

	s.vlan_tci = 0x2064; /* PCP 1, VID 100 */
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_L4 | PKT_F_VLAN);
	CHECK_EQ(p.vlan_tci, 0x2064);
	CHECK_EQ(p.l3_off, 18);
	CHECK_EQ(p.l4_off, 38);
	CHECK_EQ(p.sport, 40000);

	/* A second tag (QinQ) is not IPv4 to us. */
	set_be16(buf + PKT_VLAN_TYPE, PKT_ETHERTYPE_VLAN);
	CHECK_EQ(parse(&p, buf, n), PKT_DROP_NOT_IPV4);
}

TEST(pkt_parse_other_l4_protocols_are_described_at_l3)
{
	uint8_t buf[BUF], gre[8] = {0, 0, 0x08, 0};
	struct pkt_spec s = spec_of(47); /* GRE */
	struct pkt p;
	size_t n;

	s.payload = gre;
	s.payload_len = sizeof(gre);
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, 0);
	CHECK_EQ(p.proto, 47);
	CHECK_EQ(p.l4_len, 8);
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_parse_accepts_well_formed_ip_options)
{
	static const uint8_t nop_eol[] = {1, 1, 1, 0};
	/* Record route (type 7, RFC 791) with room for 2 addresses, then EOL. */
	static const uint8_t rr[] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	/* After EOL the rest is padding, whatever it holds. */
	static const uint8_t eol_junk[] = {0, 0xff, 0x01, 0x99};
	/* An option filling the header exactly. */
	static const uint8_t exact[] = {1, 0x44, 7, 5, 0, 0, 0, 0};
	const uint8_t *opts[] = {nop_eol, rr, eol_junk, exact};
	const uint8_t lens[] = {sizeof(nop_eol), sizeof(rr), sizeof(eol_junk), sizeof(exact)};
	uint8_t buf[BUF];
	struct pkt p;

	for (unsigned i = 0; i < 4; i++) {
		struct pkt_spec s = spec_of(PKT_PROTO_TCP);
		size_t n;

		s.ip_options = opts[i];
		s.ip_options_len = lens[i];
		n = build(buf, &s);
		CHECK_EQ(parse(&p, buf, n), PKT_OK);
		CHECK_EQ(p.l4_off, 14 + 20 + lens[i]);
		CHECK_EQ(p.sport, 40000);
		CHECK(pkt_checksums_ok(&p));
	}
}

TEST(pkt_parse_rejects_malformed_ip_options)
{
	static const uint8_t bad[][8] = {
	    {7, 1, 0, 0},		 /* length below 2 */
	    {7, 0, 0, 0},		 /* length 0 would loop forever */
	    {1, 1, 7, 6, 0, 0, 0, 0},	 /* control: ends exactly at the header end */
	    {1, 1, 1, 1, 1, 1, 1, 0x44}, /* type with no room for its length */
	    {7, 9, 4, 0, 0, 0, 0, 0},	 /* runs past the header */
	};
	const uint8_t lens[] = {4, 4, 8, 8, 8};
	const enum pkt_drop want[] = {PKT_DROP_IP_OPTIONS, PKT_DROP_IP_OPTIONS, PKT_OK,
				      PKT_DROP_IP_OPTIONS, PKT_DROP_IP_OPTIONS};
	uint8_t buf[BUF];
	struct pkt p;

	for (unsigned i = 0; i < sizeof(lens); i++) {
		struct pkt_spec s = spec_of(PKT_PROTO_UDP);
		size_t n;

		s.ip_options = bad[i];
		s.ip_options_len = lens[i];
		n = build(buf, &s);
		CHECK_EQ(parse(&p, buf, n), want[i]);
	}
}

TEST(pkt_parse_ignores_trailing_ethernet_padding)
{
	uint8_t buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n = build(buf, &s);

	CHECK_EQ(n, 42);
	memset(buf + n, 0xee, 60 - n); /* minimum Ethernet frame, junk padding */
	CHECK_EQ(parse(&p, buf, 60), PKT_OK);
	CHECK_EQ(p.len, 60);
	CHECK_EQ(p.l3_len, 28);
	CHECK_EQ(p.l4_len, 8); /* the UDP length check would fail on padding */
	CHECK(pkt_checksums_ok(&p));
	pkt_set_src(&p, pkt_ipv4(203, 0, 113, 5), 1234);
	CHECK(pkt_checksums_ok(&p));
	CHECK_EQ(buf[59], 0xee);
}

TEST(pkt_at_refuses_ranges_outside_the_frame)
{
	uint8_t buf[BUF] = {0};
	struct pkt p;

	pkt_parse(&p, buf, 20, BUF);
	CHECK(pkt_at(&p, 0, 20) == buf);
	CHECK(pkt_at(&p, 20, 0) == buf + 20);
	CHECK(pkt_at(&p, 19, 2) == NULL);
	CHECK(pkt_at(&p, 21, 0) == NULL);
	CHECK(pkt_at(&p, 1, SIZE_MAX) == NULL);
	CHECK(pkt_at(&p, SIZE_MAX, 1) == NULL);
}

/* ---- every drop reason from a hand-made frame -------------------------- */

/* Each maker edits a valid TCP, UDP or ICMP frame into one bad in one way;
 * returns the new length. */
typedef size_t (*make_bad_fn)(uint8_t *buf);

static size_t valid(uint8_t *buf, uint8_t proto)
{
	struct pkt_spec s = spec_of(proto);
	uint8_t payload[24] = {0};

	s.payload = payload;
	s.payload_len = sizeof(payload);
	return pkt_build(buf, BUF, &s);
}

static size_t bad_eth(uint8_t *buf)
{
	valid(buf, PKT_PROTO_TCP);
	return 13;
}

static size_t bad_vlan(uint8_t *buf)
{
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);

	s.vlan_tci = 5;
	pkt_build(buf, BUF, &s);
	return 17;
}

static size_t bad_arp(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	set_be16(buf + PKT_ETH_TYPE, PKT_ETHERTYPE_ARP);
	return n;
}

static size_t bad_ip_short(uint8_t *buf)
{
	valid(buf, PKT_PROTO_TCP);
	return ETH + 19;
}

static size_t bad_ip_short_options(uint8_t *buf)
{
	valid(buf, PKT_PROTO_TCP);
	buf[IP0] = 0x4f; /* 60-byte header in a 40-byte frame */
	fix_ip_csum(buf + IP0);
	return ETH + 40;
}

static size_t bad_version(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	buf[IP0] = 0x65;
	return n;
}

static size_t bad_ihl(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	buf[IP0] = 0x44;
	return n;
}

static size_t bad_totlen_long(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	set_be16(buf + IP0 + PKT_IP_TOTLEN, (uint16_t)(n - ETH + 1));
	fix_ip_csum(buf + IP0);
	return n;
}

static size_t bad_totlen_short(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	set_be16(buf + IP0 + PKT_IP_TOTLEN, 19);
	fix_ip_csum(buf + IP0);
	return n;
}

static size_t bad_ip_csum(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	buf[IP0 + PKT_IP_CSUM] ^= 1;
	return n;
}

static size_t bad_options(uint8_t *buf)
{
	static const uint8_t opt[4] = {0x83, 1, 0, 0};
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);

	s.ip_options = opt;
	s.ip_options_len = sizeof(opt);
	return pkt_build(buf, BUF, &s);
}

static size_t bad_frag(uint8_t *buf)
{
	uint8_t payload[16] = {0};
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);

	s.frag_off = 65528; /* the largest offset; 16 bytes end past 65535 */
	s.payload = payload;
	s.payload_len = sizeof(payload);
	return pkt_build(buf, BUF, &s);
}

/* Cut the IP datagram to @l4 bytes of L4. */
static size_t cut_l4(uint8_t *buf, uint8_t proto, size_t l4)
{
	valid(buf, proto);
	set_be16(buf + IP0 + PKT_IP_TOTLEN, (uint16_t)(20 + l4));
	fix_ip_csum(buf + IP0);
	return ETH + 20 + l4;
}

static size_t bad_tcp_short(uint8_t *buf)
{
	return cut_l4(buf, PKT_PROTO_TCP, 19);
}

static size_t bad_udp_short(uint8_t *buf)
{
	return cut_l4(buf, PKT_PROTO_UDP, 7);
}

static size_t bad_icmp_short(uint8_t *buf)
{
	return cut_l4(buf, PKT_PROTO_ICMP, 7);
}

static size_t bad_doff_low(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP);

	buf[IP0 + 20 + PKT_TCP_DOFF] = 4 << 4;
	return n;
}

static size_t bad_doff_high(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_TCP); /* 44 bytes of TCP */

	buf[IP0 + 20 + PKT_TCP_DOFF] = 12 << 4;
	return n;
}

static size_t bad_udp_len_low(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_UDP);

	set_be16(buf + IP0 + 20 + PKT_UDP_LEN, 7);
	return n;
}

static size_t bad_udp_len_mismatch(uint8_t *buf)
{
	size_t n = valid(buf, PKT_PROTO_UDP);

	set_be16(buf + IP0 + 20 + PKT_UDP_LEN, 8 + 23);
	return n;
}

static size_t bad_quote(uint8_t *buf)
{
	uint8_t orig[BUF];

	valid(orig, PKT_PROTO_UDP);
	return pkt_build_icmp_error(buf, BUF, mac_a, mac_b, pkt_ipv4(192, 0, 2, 1),
				    pkt_ipv4(10, 0, 0, 1), PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_PORT,
				    orig + ETH, 20 + 7);
}

TEST(pkt_parse_produces_every_drop_reason)
{
	static const struct {
		make_bad_fn make;
		enum pkt_drop want;
	} cases[] = {
	    {bad_eth, PKT_DROP_ETH_TRUNCATED},
	    {bad_vlan, PKT_DROP_VLAN_TRUNCATED},
	    {bad_arp, PKT_DROP_NOT_IPV4},
	    {bad_ip_short, PKT_DROP_IP_TRUNCATED},
	    {bad_ip_short_options, PKT_DROP_IP_TRUNCATED},
	    {bad_version, PKT_DROP_IP_VERSION},
	    {bad_ihl, PKT_DROP_IP_IHL},
	    {bad_totlen_long, PKT_DROP_IP_TOTLEN},
	    {bad_totlen_short, PKT_DROP_IP_TOTLEN},
	    {bad_ip_csum, PKT_DROP_IP_CHECKSUM},
	    {bad_options, PKT_DROP_IP_OPTIONS},
	    {bad_frag, PKT_DROP_IP_FRAGMENT},
	    {bad_tcp_short, PKT_DROP_L4_TRUNCATED},
	    {bad_udp_short, PKT_DROP_L4_TRUNCATED},
	    {bad_icmp_short, PKT_DROP_L4_TRUNCATED},
	    {bad_doff_low, PKT_DROP_TCP_DOFF},
	    {bad_doff_high, PKT_DROP_TCP_DOFF},
	    {bad_udp_len_low, PKT_DROP_UDP_LENGTH},
	    {bad_udp_len_mismatch, PKT_DROP_UDP_LENGTH},
	    {bad_quote, PKT_DROP_ICMP_INNER},
	};
	uint32_t seen = 0;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *buf = calloc(1, BUF);
		size_t n = cases[i].make(buf);
		/* Exactly n bytes on the heap: ASan sees any read beyond. */
		uint8_t *frame = malloc(n);
		struct pkt p;

		memcpy(frame, buf, n);
		if (!CHECK_EQ(pkt_parse(&p, frame, (uint16_t)n, (uint16_t)n), cases[i].want))
			printf("  case %u\n", i);
		seen |= 1u << cases[i].want;
		free(frame);
		free(buf);
	}
	CHECK_EQ(seen, (1u << PKT_DROP_COUNT) - 2); /* all but PKT_OK */
}

TEST(pkt_parse_not_ipv4_still_describes_the_frame)
{
	uint8_t buf[BUF];
	struct pkt p;
	size_t n = bad_arp(buf);

	CHECK_EQ(pkt_parse(&p, buf, (uint16_t)n, 100), PKT_DROP_NOT_IPV4);
	CHECK(p.data == buf);
	CHECK_EQ(p.len, n);
	CHECK_EQ(p.cap, 100);
	CHECK_EQ(p.l3_off, 14); /* where the ARP payload starts */
}

TEST(pkt_drop_names_are_the_list_in_lower_case)
{
	static const char *const upper[] = {"OK",
#define UPPER(name, text) #name,
					    PKT_DROP_REASONS(UPPER)
#undef UPPER
	};

	CHECK_EQ(sizeof(upper) / sizeof(upper[0]), PKT_DROP_COUNT);
	for (int r = 0; r < PKT_DROP_COUNT; r++) {
		const char *name = pkt_drop_name((enum pkt_drop)r);
		char want[32];
		size_t i;

		for (i = 0; upper[r][i] && i + 1 < sizeof(want); i++)
			want[i] = (char)tolower((unsigned char)upper[r][i]);
		want[i] = '\0';
		if (!CHECK(!strcmp(name, want)))
			printf("  %s vs %s\n", name, want);
		CHECK(strlen(pkt_drop_text((enum pkt_drop)r)) > 5);
	}
	CHECK(!strcmp(pkt_drop_name(PKT_DROP_COUNT), "unknown"));
	CHECK(!strcmp(pkt_drop_text((enum pkt_drop) - 1), "unknown reason"));
}

/* ---- fragments ---------------------------------------------------------- */

TEST(pkt_parse_first_fragment_has_ports)
{
	uint8_t buf[BUF], payload[32] = {0};
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n;

	s.more_frags = true;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.udp_len = 1480; /* the whole datagram's */
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_FRAG | PKT_F_L4);
	CHECK_EQ(p.frag_off, 0);
	CHECK_EQ(p.sport, 40000);

	/* UDP length below what this fragment already carries. */
	s.udp_len = 39;
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_DROP_UDP_LENGTH);
	s.udp_len = 40;
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
}

TEST(pkt_parse_later_fragment_has_no_l4)
{
	uint8_t buf[BUF], payload[16];
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	struct pkt p;
	size_t n;

	memset(payload, 0x11, sizeof(payload));
	s.frag_off = 1480;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	n = build(buf, &s);
	CHECK_EQ(n, 14 + 20 + 16);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_FRAG);
	CHECK_EQ(p.frag_off, 1480);
	CHECK_EQ(p.l4_len, 16);
	CHECK_EQ(p.sport + p.dport, 0);
	CHECK(pkt_checksums_ok(&p));

	/* Only the address changes: the bytes where a port would be are data. */
	pkt_set_src(&p, pkt_ipv4(198, 51, 100, 9), 999);
	CHECK_EQ(p.saddr, pkt_ipv4(198, 51, 100, 9));
	CHECK_EQ(p.sport, 0);
	CHECK(!memcmp(buf + 34, payload, sizeof(payload)));
	CHECK(pkt_checksums_ok(&p));
	CHECK_EQ(parse(&p, buf, n), PKT_OK);

	/* Last fragment (MF clear) ending exactly at 65535 is fine. */
	s.frag_off = 65528;
	s.payload_len = 7;
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	s.payload_len = 8;
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_DROP_IP_FRAGMENT);
}

/* The L4 checksum of a first fragment covers the whole datagram; the
 * incremental update is still right. */
TEST(pkt_set_src_first_fragment_keeps_datagram_checksum)
{
	uint8_t whole[BUF], frag[BUF], payload[100];
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	struct pkt pw, pf;
	size_t nw, nf;

	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	s.payload = payload;
	s.payload_len = sizeof(payload);
	nw = build(whole, &s);
	s.more_frags = true;
	s.payload_len = 36; /* 56 bytes of TCP: a multiple of 8 */
	s.l4_csum_given = true;
	memcpy(&s.l4_csum, whole + 34 + PKT_TCP_CSUM, 2);
	nf = build(frag, &s);
	CHECK_EQ(parse(&pw, whole, nw), PKT_OK);
	CHECK_EQ(parse(&pf, frag, nf), PKT_OK);
	CHECK(pf.flags & PKT_F_L4);
	pkt_set_src(&pw, pkt_ipv4(100, 64, 0, 1), 61000);
	pkt_set_src(&pf, pkt_ipv4(100, 64, 0, 1), 61000);
	pkt_set_dst(&pw, pkt_ipv4(8, 8, 4, 4), 443);
	pkt_set_dst(&pf, pkt_ipv4(8, 8, 4, 4), 443);
	CHECK(pkt_checksums_ok(&pw));
	CHECK(pkt_checksums_ok(&pf));
	CHECK_EQ(wire16(frag + 34 + PKT_TCP_CSUM), wire16(whole + 34 + PKT_TCP_CSUM));
}

/* ---- ICMP errors -------------------------------------------------------- */

/* An ICMP error from 192.0.2.1 quoting @quote_len bytes of the packet s. */
static size_t error_quoting(uint8_t *buf, const struct pkt_spec *s, size_t quote_len)
{
	uint8_t orig[BUF];
	size_t n = build(orig, s), l2 = s->vlan_tci ? ETH + PKT_VLAN_LEN : ETH;

	if (quote_len > n - l2)
		quote_len = n - l2;
	return pkt_build_icmp_error(buf, BUF, mac_b, mac_a, pkt_ipv4(192, 0, 2, 1), s->saddr,
				    PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_PORT, orig + l2, quote_len);
}

TEST(pkt_parse_icmp_error_quoting_tcp_udp_and_echo)
{
	static const uint8_t protos[] = {PKT_PROTO_TCP, PKT_PROTO_UDP, PKT_PROTO_ICMP};
	uint8_t buf[BUF];
	struct pkt p;

	for (unsigned i = 0; i < 3; i++) {
		struct pkt_spec s = spec_of(protos[i]);
		size_t n = error_quoting(buf, &s, 28);
		uint16_t port = protos[i] == PKT_PROTO_ICMP ? 0x4242 : 40000;

		CHECK_EQ(n, 14 + 20 + 8 + 28);
		CHECK_EQ(parse(&p, buf, n), PKT_OK);
		CHECK_EQ(p.flags, PKT_F_L4 | PKT_F_ICMP_ERROR);
		CHECK_EQ(p.icmp_type, PKT_ICMP_UNREACH);
		CHECK_EQ(p.icmp_code, PKT_ICMP_UNREACH_PORT);
		CHECK_EQ(p.saddr, pkt_ipv4(192, 0, 2, 1));
		CHECK_EQ(p.daddr, pkt_ipv4(10, 0, 0, 1));
		CHECK_EQ(p.inner.l3_off, 42);
		CHECK_EQ(p.inner.l4_off, 62);
		CHECK_EQ(p.inner.l4_len, 8);
		CHECK_EQ(p.inner.proto, protos[i]);
		CHECK_EQ(p.inner.saddr, pkt_ipv4(10, 0, 0, 1));
		CHECK_EQ(p.inner.daddr, pkt_ipv4(192, 0, 2, 7));
		CHECK_EQ(p.inner.sport, port);
		CHECK_EQ(p.inner.dport, protos[i] == PKT_PROTO_ICMP ? 0x4242 : 80);
		CHECK_EQ(p.inner.icmp_type, protos[i] == PKT_PROTO_ICMP ? PKT_ICMP_ECHO : 0);
		CHECK(pkt_checksums_ok(&p));
	}
}

TEST(pkt_parse_icmp_error_with_long_quote_counts_quoted_bytes)
{
	uint8_t buf[BUF], payload[100] = {0};
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	struct pkt p;
	size_t n;

	s.payload = payload;
	s.payload_len = sizeof(payload);
	n = error_quoting(buf, &s, 20 + 60); /* RFC 1812: as much as fits in 576 */
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.inner.l4_len, 60);
	/* Time exceeded and parameter problem are errors too. */
	buf[IP0 + 20] = PKT_ICMP_TIME_EXCEEDED;
	buf[IP0 + 21] = 0;
	{
		uint16_t c = csum_icmp(buf + IP0 + 20, p.l4_len);
		memcpy(buf + IP0 + 20 + PKT_ICMP_CSUM, &c, 2);
	}
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK(p.flags & PKT_F_ICMP_ERROR);
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_parse_icmp_error_about_an_icmp_error_is_described)
{
	uint8_t first[BUF], second[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n;

	CHECK_EQ(error_quoting(first, &s, 28), 70);
	n = pkt_build_icmp_error(second, BUF, mac_a, mac_b, pkt_ipv4(10, 0, 0, 1),
				 pkt_ipv4(192, 0, 2, 1), PKT_ICMP_TIME_EXCEEDED, 0, first + ETH,
				 28);
	CHECK_EQ(parse(&p, second, n), PKT_OK);
	CHECK(p.flags & PKT_F_ICMP_ERROR);
	CHECK_EQ(p.inner.proto, PKT_PROTO_ICMP);
	CHECK_EQ(p.inner.icmp_type, PKT_ICMP_UNREACH);
	CHECK_EQ(p.inner.sport + p.inner.dport, 0);
}

TEST(pkt_parse_rejects_truncated_or_malformed_quote)
{
	uint8_t orig[BUF], buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	struct pkt p;
	uint8_t *q = orig + ETH;
	uint32_t from_addr = pkt_ipv4(192, 0, 2, 1);

	build(orig, &s);
#define ERR(len) pkt_build_icmp_error(buf, BUF, mac_a, mac_b, from_addr, s.saddr, 3, 1, q, len)
	CHECK_EQ(parse(&p, buf, ERR(28)), PKT_OK);
	CHECK_EQ(parse(&p, buf, ERR(27)), PKT_DROP_ICMP_INNER); /* 7 bytes of L4 */
	CHECK_EQ(parse(&p, buf, ERR(19)), PKT_DROP_ICMP_INNER); /* part of a header */
	CHECK_EQ(parse(&p, buf, ERR(0)), PKT_DROP_ICMP_INNER);
	q[0] = 0x65;
	CHECK_EQ(parse(&p, buf, ERR(28)), PKT_DROP_ICMP_INNER); /* version 6 */
	q[0] = 0x44;
	CHECK_EQ(parse(&p, buf, ERR(28)), PKT_DROP_ICMP_INNER); /* IHL 4 */
	q[0] = 0x46;
	CHECK_EQ(parse(&p, buf, ERR(28)), PKT_DROP_ICMP_INNER); /* 24-byte header, 4 of L4 */
	CHECK_EQ(parse(&p, buf, ERR(32)), PKT_OK);
	q[0] = 0x45;
	/* Neither the quoted checksum nor the quoted total length is checked. */
	q[PKT_IP_CSUM] ^= 0xff;
	set_be16(q + PKT_IP_TOTLEN, 1500);
	CHECK_EQ(parse(&p, buf, ERR(28)), PKT_OK);
	CHECK(!pkt_checksums_ok(&p)); /* ...but the test helper sees it */
#undef ERR
}

TEST(pkt_icmp_error_quoting_a_later_fragment_has_no_inner_ports)
{
	uint8_t buf[BUF], before[BUF], payload[16];
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n;

	memset(payload, 0x5a, sizeof(payload));
	s.frag_off = 8;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	n = error_quoting(buf, &s, 36);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(p.flags, PKT_F_L4 | PKT_F_ICMP_ERROR | PKT_F_INNER_FRAG);
	CHECK_EQ(p.inner.sport + p.inner.dport, 0);
	memcpy(before, buf, n);
	pkt_set_inner_src(&p, pkt_ipv4(100, 64, 1, 1), 7);
	CHECK(!memcmp(buf + p.inner.l4_off, payload, 16)); /* data, not ports */
	CHECK(memcmp(buf, before, n) != 0);
	CHECK(pkt_checksums_ok(&p));
}

/* ---- RFC 1624 ----------------------------------------------------------- */

/* RFC 1624 eqn. 2, HC' = HC - ~m - m', the one that goes wrong. */
static uint16_t eqn2(uint16_t hc, uint16_t m, uint16_t m2)
{
	return csum_fold((uint32_t)hc + m + (uint16_t)~m2);
}

TEST(csum_update16_is_rfc1624_eqn3_section4_example)
{
	/* RFC 1624 section 4: other octets sum to 0xCD7A, m 0x5555 -> 0x3285.
	 * Full recomputation gives ~(0xCD7A + 0x3285) = 0x0000. */
	uint16_t hc = htons(0xdd2f);

	CHECK_EQ(ntohs(csum_update16(hc, htons(0x5555), htons(0x3285))), 0x0000);
	CHECK_EQ(eqn2(0xdd2f, 0x5555, 0x3285), 0xffff); /* eqn. 2 would say this */
	CHECK_EQ((uint16_t)~csum_fold(0xcd7a + 0x3285), 0x0000);
	/* And back. */
	CHECK_EQ(ntohs(csum_update16(htons(0), htons(0x3285), htons(0x5555))), 0xdd2f);
}

TEST(csum_add_pads_odd_byte_and_folds)
{
	static const uint8_t rfc1071[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[] = {0x12, 0x34, 0x56};

	/* RFC 1071 section 3 example: the sum is 0xddf2. */
	CHECK_EQ(csum_fold(csum_add(0, rfc1071, sizeof(rfc1071))), 0xddf2);
	CHECK_EQ(csum_fold(csum_add(0, odd, 3)), 0x1234 + 0x5600);
	CHECK_EQ(csum_fold(0xffff + 0xffff), 0xffff);
	CHECK_EQ(csum_fold(0x2ffff), 0x0002);
}

TEST(pkt_set_src_ip_checksum_result_zero_uses_eqn3)
{
	uint8_t buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_ICMP);
	struct pkt p;
	size_t n = build(buf, &s);
	uint8_t *ip = buf + IP0, new_src[4];
	uint32_t sum, addr;
	uint16_t w, old_hc, old_low;

	/* Choose the low word of the new source so that the other header
	 * words plus it sum to 0xffff: the right checksum is then 0x0000. */
	sum = csum_add(0, ip, 10);
	sum = csum_add(sum, ip + 12, 2);
	sum = csum_add(sum, ip + 16, 4);
	w = (uint16_t)(0xffff - csum_fold(sum));
	memcpy(new_src, ip + 12, 2);
	new_src[2] = (uint8_t)(w >> 8);
	new_src[3] = (uint8_t)w;
	memcpy(&addr, new_src, 4);

	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	old_hc = be16(ip + PKT_IP_CSUM);
	old_low = be16(ip + PKT_IP_SADDR + 2);
	pkt_set_src(&p, addr, 0x4242);
	CHECK_EQ(be16(ip + PKT_IP_CSUM), 0x0000);
	CHECK_EQ(wire16(ip + PKT_IP_CSUM), csum_ipv4_header(ip, 20));
	/* Only the low word changed; eqn. 2 would have stored 0xffff. */
	CHECK_EQ(eqn2(old_hc, old_low, w), 0xffff);
	CHECK(pkt_checksums_ok(&p));
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
}

/* Source port making the UDP sum all ones, so the computed checksum is 0. */
static uint16_t port_for_zero_csum(const uint8_t *frame, size_t n)
{
	const uint8_t *ip = frame + IP0, *udp = ip + 20;
	uint8_t ph[12] = {0};
	uint32_t sum;

	memcpy(ph, ip + PKT_IP_SADDR, 8);
	ph[9] = PKT_PROTO_UDP;
	set_be16(ph + 10, (uint16_t)(n - IP0 - 20));
	sum = csum_add(0, ph, sizeof(ph));
	sum = csum_add(sum, udp + 2, 4); /* dport, length; checksum as zero */
	sum = csum_add(sum, udp + 8, n - IP0 - 28);
	return (uint16_t)(0xffff - csum_fold(sum));
}

TEST(pkt_set_src_udp_checksum_zero_result_is_sent_as_ffff)
{
	uint8_t buf[BUF], payload[6] = "abcdef";
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n;
	uint16_t port;

	s.payload = payload;
	s.payload_len = sizeof(payload);
	n = build(buf, &s);
	port = port_for_zero_csum(buf, n);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	pkt_set_src(&p, s.saddr, port);
	CHECK_EQ(p.sport, port);
	CHECK_EQ(be16(buf + 34 + PKT_UDP_CSUM), 0xffff); /* RFC 768 */
	CHECK_EQ(csum_ipv4_l4(s.saddr, s.daddr, PKT_PROTO_UDP, buf + 34, 14), 0xffff);
	CHECK(pkt_checksums_ok(&p));

	/* The builder agrees, and a rewrite away from 0xffff is right too. */
	s.sport = port;
	CHECK_EQ(build(buf, &s), n);
	CHECK_EQ(be16(buf + 34 + PKT_UDP_CSUM), 0xffff);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	pkt_set_src(&p, s.saddr, 1);
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_set_src_tcp_checksum_zero_result_stays_zero)
{
	uint8_t buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	struct pkt p;
	size_t n = build(buf, &s);
	uint8_t *tcp = buf + 34;
	uint32_t sum;
	uint16_t port;
	uint8_t ph[12] = {0};

	memcpy(ph, buf + IP0 + PKT_IP_SADDR, 8);
	ph[9] = PKT_PROTO_TCP;
	set_be16(ph + 10, 20);
	sum = csum_add(0, ph, 12);
	sum = csum_add(sum, tcp + 2, 14);
	sum = csum_add(sum, tcp + 18, 2);
	port = (uint16_t)(0xffff - csum_fold(sum));
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	pkt_set_src(&p, s.saddr, port);
	CHECK_EQ(be16(tcp + PKT_TCP_CSUM), 0x0000); /* TCP has no "none" value */
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_set_ttl_fixes_ip_checksum)
{
	uint8_t buf[BUF];
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n = build(buf, &s);

	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	for (int ttl = 64; ttl >= 0; ttl--) {
		pkt_set_ttl(&p, (uint8_t)ttl);
		CHECK_EQ(wire16(buf + IP0 + PKT_IP_CSUM), csum_ipv4_header(buf + IP0, 20));
	}
	CHECK_EQ(p.ttl, 0);
	CHECK_EQ(buf[IP0 + PKT_IP_PROTO], PKT_PROTO_UDP);
	CHECK(pkt_checksums_ok(&p));
}

/* ---- random rewrites against fresh builds ------------------------------- */

enum kind { K_TCP, K_UDP, K_UDP_NOCSUM, K_ECHO, K_ERR_TCP, K_ERR_UDP, K_ERR_ECHO, K_KINDS };

static uint32_t rand_addr(void)
{
	return (uint32_t)test_rand();
}

static uint16_t rand_port(void)
{
	return (uint16_t)test_rand();
}

/* A random packet of the kind; payload written to @payload. */
static struct pkt_spec random_spec(enum kind k, uint8_t *payload)
{
	static const uint8_t protos[K_KINDS] = {PKT_PROTO_TCP,	PKT_PROTO_UDP, PKT_PROTO_UDP,
						PKT_PROTO_ICMP, PKT_PROTO_TCP, PKT_PROTO_UDP,
						PKT_PROTO_ICMP};
	static const uint8_t rr[8] = {1, 7, 7, 4, 0, 0, 0, 0};
	struct pkt_spec s = spec_of(protos[k]);
	uint64_t r = test_rand();

	s.saddr = rand_addr();
	s.daddr = rand_addr();
	s.sport = rand_port();
	s.dport = rand_port();
	s.icmp_id = rand_port();
	s.icmp_seq = rand_port();
	s.icmp_type = r & 1 ? PKT_ICMP_ECHO : PKT_ICMP_ECHO_REPLY;
	s.ip_id = (uint16_t)(r >> 8);
	s.ttl = (uint8_t)(r >> 24);
	s.seq = (uint32_t)test_rand();
	s.udp_no_checksum = k == K_UDP_NOCSUM;
	s.vlan_tci = r & 2 ? (uint16_t)(r >> 32) & 0xfff : 0;
	s.payload_len = (uint16_t)((r >> 40) % 65);
	for (unsigned i = 0; i < s.payload_len; i++)
		payload[i] = (uint8_t)test_rand();
	s.payload = payload;
	if (r & 4) {
		s.ip_options = rr;
		s.ip_options_len = sizeof(rr);
	}
	return s;
}

static void apply_ends(struct pkt_spec *s, uint64_t which, uint32_t sa, uint16_t sp, uint32_t da,
		       uint16_t dp)
{
	if (which & 1) {
		s->saddr = sa;
		s->sport = sp;
		s->icmp_id = sp;
	}
	if (which & 2) {
		s->daddr = da;
		s->dport = dp;
		s->icmp_id = dp;
	}
}

/* Rewrite the outer packet and compare with a packet built that way. */
static bool random_outer_rewrite(enum kind k)
{
	uint8_t payload[64], got[BUF], want[BUF];
	struct pkt_spec s = random_spec(k, payload);
	uint64_t which = test_rand() % 3 + 1;
	uint32_t sa = rand_addr(), da = rand_addr();
	uint16_t sp = rand_port(), dp = rand_port();
	size_t n = pkt_build(got, BUF, &s);
	struct pkt p, again;
	bool ok;

	if (pkt_parse(&p, got, (uint16_t)n, BUF) != PKT_OK)
		return false;
	if (which & 1)
		pkt_set_src(&p, sa, sp);
	if (which & 2)
		pkt_set_dst(&p, da, dp);
	apply_ends(&s, which, sa, sp, da, dp);
	ok = pkt_build(want, BUF, &s) == n && !memcmp(got, want, n) && pkt_checksums_ok(&p);
	ok = ok && pkt_parse(&again, got, (uint16_t)n, BUF) == PKT_OK;
	ok = ok && again.saddr == p.saddr && again.daddr == p.daddr && again.sport == p.sport &&
	     again.dport == p.dport;
	if (k == K_UDP_NOCSUM)
		ok = ok && wire16(got + p.l4_off + PKT_UDP_CSUM) == 0;
	return ok;
}

/* Rewrite a quoted packet (and the error's destination, as the NAT does on
 * the way in) and compare with an error built around the rewritten packet. */
static bool random_inner_rewrite(enum kind k)
{
	uint8_t payload[64], orig[BUF], got[BUF], want[BUF];
	struct pkt_spec s = random_spec(k, payload);
	uint64_t which = test_rand() % 3 + 1;
	uint32_t sa = rand_addr(), da = rand_addr(), from = rand_addr();
	uint16_t sp = rand_port(), dp = rand_port();
	size_t on = pkt_build(orig, BUF, &s), ihl = 20 + s.ip_options_len;
	size_t l2 = s.vlan_tci ? ETH + PKT_VLAN_LEN : ETH;
	size_t quote = ihl + 8 + test_rand() % (on - l2 - ihl - 7);
	/* A quote ending inside the TCP checksum leaves half of it: no
	 * rewrite can make that byte right, and none is expected to. */
	if (k == K_ERR_TCP && quote == ihl + PKT_TCP_CSUM + 1)
		quote++;
	size_t n =
	    pkt_build_icmp_error(got, BUF, mac_a, mac_b, from, s.saddr, 11, 0, orig + l2, quote);
	struct pkt p, again;
	uint32_t new_to = rand_addr();
	bool ok;

	if (pkt_parse(&p, got, (uint16_t)n, BUF) != PKT_OK)
		return false;
	if (which & 1)
		pkt_set_inner_src(&p, sa, sp);
	if (which & 2)
		pkt_set_inner_dst(&p, da, dp);
	pkt_set_dst(&p, new_to, 0);
	apply_ends(&s, which, sa, sp, da, dp);
	pkt_build(orig, BUF, &s);
	ok = pkt_build_icmp_error(want, BUF, mac_a, mac_b, from, new_to, 11, 0, orig + l2, quote) ==
		 n &&
	     !memcmp(got, want, n) && pkt_checksums_ok(&p);
	ok = ok && pkt_parse(&again, got, (uint16_t)n, BUF) == PKT_OK;
	ok = ok && !memcmp(&again.inner, &p.inner, sizeof(p.inner)) && again.daddr == new_to;
	return ok;
}

TEST(pkt_rewrites_equal_full_recomputation_100k)
{
	unsigned bad[K_KINDS] = {0};

	for (unsigned i = 0; i < RANDOM_REWRITES; i++) {
		enum kind k = (enum kind)(test_rand() % K_KINDS);
		bool ok = k >= K_ERR_TCP ? random_inner_rewrite(k) : random_outer_rewrite(k);

		bad[k] += !ok;
	}
	for (unsigned k = 0; k < K_KINDS; k++)
		if (!CHECK_EQ(bad[k], 0))
			printf("  kind %u\n", k);
}

/* ---- ICMP error replies ------------------------------------------------- */

TEST(pkt_reply_icmp_error_quotes_the_original)
{
	uint8_t buf[BUF], orig[BUF], payload[40] = {1, 2, 3};
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);
	const uint32_t gw = pkt_ipv4(203, 0, 113, 1);
	struct pkt p;
	size_t n;

	s.vlan_tci = 42;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	n = build(buf, &s);
	memcpy(orig, buf, n);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	p.side = PKT_SIDE_WAN;
	p.verdict = PKT_DROP;
	CHECK_EQ(pkt_reply_icmp_error(&p, PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_ADMIN, gw), 0);
	CHECK_EQ(p.len, 18 + 20 + 8 + 28);
	CHECK_EQ(p.flags, PKT_F_VLAN | PKT_F_L4 | PKT_F_ICMP_ERROR);
	CHECK_EQ(p.vlan_tci, 42);
	CHECK_EQ(p.side, PKT_SIDE_WAN);
	CHECK_EQ(p.verdict, PKT_DROP); /* the caller's to change */
	CHECK_EQ(p.proto, PKT_PROTO_ICMP);
	CHECK_EQ(p.ttl, 64);
	CHECK_EQ(p.icmp_type, PKT_ICMP_UNREACH);
	CHECK_EQ(p.icmp_code, PKT_ICMP_UNREACH_ADMIN);
	CHECK_EQ(p.saddr, gw);
	CHECK_EQ(p.daddr, s.saddr);
	CHECK(!memcmp(buf + PKT_ETH_DST, mac_a, 6));
	CHECK(!memcmp(buf + PKT_ETH_SRC, mac_b, 6));
	CHECK_EQ(p.inner.saddr, s.saddr);
	CHECK_EQ(p.inner.daddr, s.daddr);
	CHECK_EQ(p.inner.sport, 40000);
	CHECK_EQ(p.inner.dport, 80);
	CHECK_EQ(p.inner.l4_len, 8);
	CHECK(!memcmp(buf + p.inner.l3_off, orig + 18, 28));
	CHECK(pkt_checksums_ok(&p));
}

TEST(pkt_reply_icmp_error_refuses_errors_fragments_and_no_room)
{
	uint8_t buf[BUF], before[BUF], payload[16] = {0};
	struct pkt_spec s = spec_of(PKT_PROTO_UDP);
	struct pkt p;
	size_t n = error_quoting(buf, &s, 28);

	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(pkt_reply_icmp_error(&p, 3, 13, 1), -1); /* RFC 1122 3.2.2 */

	s.frag_off = 16;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	n = build(buf, &s);
	CHECK_EQ(parse(&p, buf, n), PKT_OK);
	CHECK_EQ(pkt_reply_icmp_error(&p, 3, 13, 1), -1);

	/* A bare UDP header needs 14 + 28 + 28 = 70 bytes of buffer. */
	s = spec_of(PKT_PROTO_UDP);
	n = build(buf, &s);
	memcpy(before, buf, n);
	CHECK_EQ(pkt_parse(&p, buf, (uint16_t)n, 69), PKT_OK);
	CHECK_EQ(pkt_reply_icmp_error(&p, 3, 13, 1), -1);
	CHECK(!memcmp(buf, before, n));
	CHECK_EQ(p.len, n);
	CHECK_EQ(pkt_parse(&p, buf, (uint16_t)n, 70), PKT_OK);
	CHECK_EQ(pkt_reply_icmp_error(&p, 3, 13, 1), 0);
	CHECK_EQ(p.len, 70);
}

TEST(pkt_build_rejects_invalid_specs)
{
	uint8_t buf[BUF], opts[4] = {1, 1, 1, 0};
	struct pkt_spec s = spec_of(PKT_PROTO_TCP);

	CHECK_EQ(pkt_build(buf, 53, &s), 0);
	CHECK_EQ(pkt_build(buf, 54, &s), 54);
	s.ip_options = opts;
	s.ip_options_len = 3;
	CHECK_EQ(pkt_build(buf, BUF, &s), 0);
	s.ip_options_len = 4;
	CHECK_EQ(pkt_build(buf, BUF, &s), 58);
	s.frag_off = 12;
	CHECK_EQ(pkt_build(buf, BUF, &s), 0);
}

/* ---- robustness --------------------------------------------------------- */

static size_t seed_frames(uint8_t frames[][256], size_t *lens)
{
	static const uint8_t rr[8] = {1, 7, 7, 4, 0, 0, 0, 0};
	uint8_t payload[40];
	size_t n = 0;

	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13);
	for (unsigned k = 0; k < K_KINDS; k++) {
		struct pkt_spec s = spec_of(k == K_ECHO	 ? PKT_PROTO_ICMP
					    : k == K_UDP ? PKT_PROTO_UDP
							 : PKT_PROTO_TCP);
		s.payload = payload;
		s.payload_len = (uint16_t)(k * 5);
		s.vlan_tci = k & 1 ? 7 : 0;
		if (k & 2) {
			s.ip_options = rr;
			s.ip_options_len = sizeof(rr);
		}
		if (k >= K_ERR_TCP) {
			s.proto = k == K_ERR_TCP   ? PKT_PROTO_TCP
				  : k == K_ERR_UDP ? PKT_PROTO_UDP
						   : PKT_PROTO_ICMP;
			lens[n] = error_quoting(frames[n], &s, 28 + k);
		} else {
			lens[n] = pkt_build(frames[n], 256, &s);
		}
		n++;
	}
	{
		struct pkt_spec s = spec_of(PKT_PROTO_UDP);
		s.more_frags = true;
		s.payload = payload;
		s.payload_len = 16;
		s.udp_len = 300;
		lens[n] = pkt_build(frames[n], 256, &s);
		n++;
		s.frag_off = 24;
		lens[n] = pkt_build(frames[n], 256, &s);
		n++;
	}
	return n;
}

/* Parse a mutated frame held in exactly @n heap bytes; when it parses, use
 * every reader and writer on it. */
static bool survive(uint8_t *frame, size_t n)
{
	struct pkt p, again;
	bool was_ok;

	if (pkt_parse(&p, frame, (uint16_t)n, (uint16_t)n) != PKT_OK)
		return true;
	was_ok = pkt_checksums_ok(&p);
	pkt_set_src(&p, 0x01020304, 1);
	pkt_set_dst(&p, 0x05060708, 2);
	pkt_set_ttl(&p, 9);
	if (p.flags & PKT_F_ICMP_ERROR) {
		pkt_set_inner_src(&p, 0x0a0b0c0d, 3);
		pkt_set_inner_dst(&p, 0x0e0f1011, 4);
	}
	if (pkt_parse(&again, frame, (uint16_t)n, (uint16_t)n) != PKT_OK)
		return false;
	return !was_ok || pkt_checksums_ok(&again);
}

TEST(pkt_parse_survives_200k_random_byte_flips)
{
	uint8_t frames[16][256];
	size_t lens[16], count = seed_frames(frames, lens);
	unsigned ok = 0, broken = 0;

	for (unsigned i = 0; i < RANDOM_FLIPS; i++) {
		uint64_t r = test_rand();
		size_t f = r % count, n = lens[f];
		uint8_t *frame;

		if ((r >> 8) % 4 == 0)
			n = (r >> 16) % (n + 1); /* truncated too, sometimes */
		frame = malloc(n ? n : 1);
		memcpy(frame, frames[f], n);
		for (unsigned flips = 1 + (r >> 32) % 4; flips && n; flips--) {
			uint64_t q = test_rand();
			frame[q % n] = (uint8_t)(q >> 32);
		}
		/* Half the time make the IP header checksum right again so that
		 * the flips reach the deeper layers. */
		if ((r >> 40) & 1 && n >= IP0 + 20 && frame[IP0] >> 4 == 4 &&
		    (size_t)(frame[IP0] & 0xf) * 4 <= n - IP0 && (frame[IP0] & 0xf) >= 5)
			fix_ip_csum(frame + IP0);
		broken += !survive(frame, n);
		ok += pkt_parse(&(struct pkt){0}, frame, (uint16_t)n, (uint16_t)n) == PKT_OK;
		free(frame);
	}
	CHECK_EQ(broken, 0);
	CHECK(ok > RANDOM_FLIPS / 20); /* the deep paths were reached */
}

/* RFC 1624 eqn. 3 yields 0x0000 where a message that sums to +0 (all bytes
 * zero) needs 0xffff. An ICMP echo reply is the one message a rewrite can
 * make all zero: type 0, code 0, identifier rewritten to 0, sequence 0, no
 * data. Found by fuzz_pkt. */
TEST(pkt_rewrite_echo_reply_to_all_zero_keeps_a_valid_checksum)
{
	for (unsigned old_id = 0; old_id < 3; old_id++) {
		uint8_t buf[128];
		struct pkt_spec s = {.saddr = pkt_ipv4(203, 0, 113, 80),
				     .daddr = pkt_ipv4(198, 51, 100, 2),
				     .proto = PKT_PROTO_ICMP,
				     .icmp_type = PKT_ICMP_ECHO_REPLY,
				     .icmp_id = (uint16_t)(old_id * 5)};
		struct pkt p;
		size_t len = pkt_build(buf, sizeof(buf), &s);

		CHECK(len > 0 && pkt_parse(&p, buf, (uint16_t)len, sizeof(buf)) == PKT_OK);
		CHECK(pkt_checksums_ok(&p));
		pkt_set_dst(&p, pkt_ipv4(192, 168, 137, 10), 0);
		CHECK(pkt_parse(&p, buf, (uint16_t)len, sizeof(buf)) == PKT_OK);
		CHECK_EQ(p.sport, 0);
		CHECK(pkt_checksums_ok(&p));
	}
}
