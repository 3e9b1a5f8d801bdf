/* test_ecn.c - pkt_mark_ce() (src/pkt/rewrite.c): what CoDel marks instead
 * of dropping (RFC 3168 section 5, RFC 8289 section 5): ECT(0) and ECT(1)
 * become CE with a header checksum a receiver accepts; CE stays CE;
 * Not-ECT, non-IPv4 and short frames are left alone; one VLAN tag is
 * looked through; only TCP and UDP are dropped as a congestion signal. */
#include "test.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"

#include <string.h>

enum {
	FRAME = 128,
	TOS = PKT_ETH_LEN + PKT_IP_TOS,
};

/* A TCP/IPv4 frame with TOS @tos and a right header checksum. */
static size_t tcp_frame(uint8_t *f, uint8_t tos)
{
	uint8_t *ip = f + PKT_ETH_LEN;

	memset(f, 0, FRAME);
	f[PKT_ETH_TYPE] = 0x08;
	ip[PKT_IP_VHL] = 0x45;
	ip[PKT_IP_TOS] = tos;
	ip[PKT_IP_TOTLEN + 1] = 40;
	ip[PKT_IP_TTL] = 64;
	ip[PKT_IP_PROTO] = 6;
	memcpy(ip + PKT_IP_SADDR, (uint8_t[]){192, 168, 137, 10}, 4);
	memcpy(ip + PKT_IP_DADDR, (uint8_t[]){203, 0, 113, 80}, 4);
	uint16_t c = csum_ipv4_header(ip, PKT_IP_MIN);
	memcpy(ip + PKT_IP_CSUM, &c, 2);
	return PKT_ETH_LEN + 40;
}

static bool header_csum_ok(const uint8_t *ip)
{
	uint16_t stored, want = csum_ipv4_header(ip, PKT_IP_MIN);

	memcpy(&stored, ip + PKT_IP_CSUM, 2);
	return stored == want;
}

TEST(ecn_ect_becomes_ce_with_a_right_checksum)
{
	uint8_t f[FRAME];

	for (uint8_t ect = 1; ect <= 2; ect++) {		  /* ECT(1), ECT(0) */
		size_t len = tcp_frame(f, (uint8_t)(0xb8 | ect)); /* DSCP EF kept */
		CHECK(pkt_mark_ce(f, len));
		CHECK_EQ(f[TOS], 0xb8 | PKT_ECN_CE);
		CHECK(header_csum_ok(f + PKT_ETH_LEN));
	}
	size_t len = tcp_frame(f, PKT_ECN_CE);
	CHECK(pkt_mark_ce(f, len)); /* already CE: forwarded as it is */
	CHECK_EQ(f[TOS], PKT_ECN_CE);
	CHECK(header_csum_ok(f + PKT_ETH_LEN));
}

TEST(ecn_not_ect_and_other_frames_are_left_alone)
{
	uint8_t f[FRAME], before[FRAME];
	size_t len = tcp_frame(f, 0xb8); /* Not-ECT */

	memcpy(before, f, FRAME);
	CHECK(!pkt_mark_ce(f, len));
	CHECK(!memcmp(f, before, FRAME));
	tcp_frame(f, 2);
	f[PKT_ETH_TYPE + 1] = 0x06; /* ARP */
	memcpy(before, f, FRAME);
	CHECK(!pkt_mark_ce(f, len));
	CHECK(!memcmp(f, before, FRAME));
	tcp_frame(f, 2);
	CHECK(!pkt_mark_ce(f, PKT_ETH_LEN + PKT_IP_MIN - 1)); /* cut short */
	f[PKT_ETH_LEN] = 0x65; /* IPv6's version in an IPv4 EtherType */
	CHECK(!pkt_mark_ce(f, len));
}

TEST(ecn_looks_through_one_vlan_tag)
{
	uint8_t f[FRAME], g[FRAME];
	size_t len = tcp_frame(g, 2);

	memcpy(f, g, PKT_ETH_TYPE);
	f[PKT_ETH_TYPE] = 0x81;
	f[PKT_ETH_TYPE + 1] = 0x00;
	f[PKT_VLAN_TCI] = 0x00;
	f[PKT_VLAN_TCI + 1] = 0x05;
	memcpy(f + PKT_VLAN_TYPE, g + PKT_ETH_TYPE, len - PKT_ETH_TYPE);
	CHECK(pkt_mark_ce(f, len + PKT_VLAN_LEN));
	CHECK_EQ(f[TOS + PKT_VLAN_LEN], 2 | PKT_ECN_CE);
	CHECK(header_csum_ok(f + PKT_ETH_LEN + PKT_VLAN_LEN));
}

TEST(ecn_only_tcp_and_udp_are_dropped_as_a_congestion_signal)
{
	uint8_t f[FRAME];
	size_t len = tcp_frame(f, 0);

	CHECK(pkt_congestion_controlled(f, len)); /* TCP */
	f[PKT_ETH_LEN + PKT_IP_PROTO] = 17;
	CHECK(pkt_congestion_controlled(f, len)); /* UDP: QUIC and the like */
	f[PKT_ETH_LEN + PKT_IP_PROTO] = 1;
	CHECK(!pkt_congestion_controlled(f, len)); /* ICMP: ping does not slow down */
	tcp_frame(f, 0);
	f[PKT_ETH_TYPE + 1] = 0x06;
	CHECK(!pkt_congestion_controlled(f, len)); /* ARP: neighbours must resolve */
	CHECK(!pkt_congestion_controlled(f, 10));
}
