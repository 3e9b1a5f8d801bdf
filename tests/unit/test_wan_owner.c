/* test_wan_owner.c - shared uplink mode (issue 11): which host sockets make
 * a WAN port the host's (src/gw/wan_owner.c, gw_proc_net_line_listens()).
 * Only a socket that can receive the WAN's frames counts: bound to the
 * wildcard address or to the WAN address (IPv4, or IPv6 :: and the
 * v4-mapped WAN address); one on loopback or on the LAN address does not,
 * and must not cost a LAN host its port mapping (issue 13). */
#include "test.h"
#include "../../src/gw/gw_internal.h"

#include <arpa/inet.h>

#define WAN    pkt_ipv4(198, 51, 100, 2)
#define LAN    pkt_ipv4(192, 168, 137, 1)
#define LISTEN 0x0a /* TCP_LISTEN */

/* /proc/net/tcp prints an address as the 32-bit word it is in memory. */
static const char *v4_line(char *buf, size_t n, uint32_t addr_be, unsigned port, unsigned st)
{
	snprintf(buf, n, "   0: %08X:%04X 00000000:0000 %02X 00000000:00000000 00:00000000 0",
		 addr_be, port, st);
	return buf;
}

static bool v4_listens(uint32_t addr, unsigned port, unsigned st)
{
	char b[200];

	return gw_proc_net_line_listens(v4_line(b, sizeof(b), addr, port, st), false, 62090, LISTEN,
					LAN);
}

TEST(wan_owner_v4_sockets_that_take_wan_frames)
{
	CHECK(v4_listens(0, 62090, LISTEN));
	CHECK(v4_listens(WAN, 62090, LISTEN));
	CHECK(v4_listens(pkt_ipv4(172, 17, 0, 1), 62090, LISTEN)); /* another interface: counts */
	/* Another port, another state (an established connection). */
	CHECK(!v4_listens(0, 62091, LISTEN));
	CHECK(!v4_listens(0, 62090, 0x01));
	/* Loopback and the LAN address: never the WAN's. */
	CHECK(!v4_listens(pkt_ipv4(127, 0, 0, 1), 62090, LISTEN));
	CHECK(!v4_listens(pkt_ipv4(127, 0, 0, 53), 62090, LISTEN));
	CHECK(!v4_listens(LAN, 62090, LISTEN));
	CHECK(!gw_proc_net_line_listens("  sl  local_address rem_address   st", false, 62090,
					LISTEN, LAN));
}

static const char *v6_line(char *buf, size_t n, const uint32_t w[4], unsigned port, unsigned st)
{
	snprintf(buf, n,
		 "   0: %08X%08X%08X%08X:%04X 00000000000000000000000000000000:0000 %02X "
		 "00000000:00000000 00:00000000 0",
		 w[0], w[1], w[2], w[3], port, st);
	return buf;
}

static bool v6_listens(const uint32_t w[4])
{
	char b[300];

	return gw_proc_net_line_listens(v6_line(b, sizeof(b), w, 5000, 0x07), true, 5000, 0x07,
					LAN);
}

TEST(wan_owner_v6_sockets_that_take_wan_frames)
{
	const uint32_t any[4] = {0, 0, 0, 0};
	const uint32_t mapped_wan[4] = {0, 0, htonl(0xffff), WAN};
	const uint32_t mapped_lo[4] = {0, 0, htonl(0xffff), pkt_ipv4(127, 0, 0, 1)};
	const uint32_t mapped_lan[4] = {0, 0, htonl(0xffff), LAN};
	const uint32_t lo6[4] = {0, 0, 0, htonl(1)};
	const uint32_t global6[4] = {htonl(0x20010db8), 0, 0, htonl(1)}; /* takes no IPv4 */

	CHECK(v6_listens(any));
	CHECK(v6_listens(mapped_wan));
	CHECK(!v6_listens(mapped_lo));
	CHECK(!v6_listens(mapped_lan));
	CHECK(!v6_listens(lo6));
	CHECK(!v6_listens(global6));
}
