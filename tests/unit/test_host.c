/* test_host.c - which packets the workers pass to the gateway host's own
 * stack (src/gw/host.c, gw_host_wants()): from the LAN, everything sent to
 * the LAN address but DHCP, and the groups the host listens to (SSDP, mDNS);
 * from the WAN, only the translated answers to the host's own flows
 * (issue 11: the host is a member of its LAN). */
#include "test.h"
#include "nat_env.h"
#include "../../src/gw/gw_internal.h"

#include <stdatomic.h>
#include <string.h>

#define LAN_ADDR pkt_ipv4(192, 168, 137, 1)
#define LAN_HOST pkt_ipv4(192, 168, 137, 10)
#define REMOTE	 pkt_ipv4(203, 0, 113, 80)
#define WAN_ADDR pkt_ipv4(198, 51, 100, 2)

static struct gw gw; /* big: static, zeroed */

static void gateway(bool tun, bool dhcp)
{
	memset(&gw, 0, sizeof(gw));
	gw.cfg.lan_addr = LAN_ADDR;
	gw.cfg.lan_mask = pkt_ipv4(255, 255, 255, 0);
	gw.cfg.svc.dhcp = dhcp;
	gw.tun = tun ? 3 : -1; /* only compared, never used */
}

static struct pkt packet(int side, uint8_t proto, uint32_t src, uint32_t dst, uint16_t dport)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.side = (uint8_t)side;
	p.flags = PKT_F_L4;
	p.proto = proto;
	p.saddr = src;
	p.daddr = dst;
	p.sport = 40000;
	p.dport = dport;
	return p;
}

static bool wants(int side, uint8_t proto, uint32_t src, uint32_t dst, uint16_t dport)
{
	struct pkt p = packet(side, proto, src, dst, dport);

	return gw_host_wants(&gw, &p);
}

TEST(host_takes_everything_the_lan_sends_to_its_address)
{
	struct pkt frag = packet(GW_LAN, PKT_PROTO_UDP, LAN_HOST, LAN_ADDR, 0);

	gateway(true, true);
	CHECK(wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, LAN_ADDR, 22));
	CHECK(wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, LAN_ADDR, 80));
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, LAN_ADDR, 53));
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, LAN_ADDR, 5351)); /* NAT-PMP */
	CHECK(wants(GW_LAN, PKT_PROTO_ICMP, LAN_HOST, LAN_ADDR, 0));   /* the kernel pings back */
	frag.flags = PKT_F_FRAG; /* a later fragment: the host reassembles */
	CHECK(gw_host_wants(&gw, &frag));
}

TEST(host_dhcp_stays_rssnats)
{
	gateway(true, true);
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, 0, UINT32_MAX, 67)); /* DHCPDISCOVER */
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, LAN_ADDR, 67));
	gateway(true, false); /* served by nobody: not the host's either */
	CHECK(!wants(GW_LAN, PKT_PROTO_UDP, 0, UINT32_MAX, 67));
	CHECK(!wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, LAN_ADDR, 67));
}

TEST(host_takes_its_groups_only)
{
	gateway(true, true);
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, pkt_ipv4(239, 255, 255, 250), 1900));
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, pkt_ipv4(224, 0, 0, 251), 5353));
	CHECK(!wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, pkt_ipv4(239, 255, 255, 250), 1901));
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, pkt_ipv4(239, 255, 255, 250), 1900));
	CHECK(!wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, pkt_ipv4(239, 1, 2, 3), 1900));
	CHECK(!wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, UINT32_MAX, 137)); /* a broadcast */
}

TEST(host_takes_nothing_forwarded_or_foreign)
{
	gateway(true, true);
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, REMOTE, 80)); /* forwarded */
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, REMOTE, LAN_ADDR, 22)); /* not a LAN source */
	CHECK(!wants(GW_WAN, PKT_PROTO_TCP, REMOTE, pkt_ipv4(198, 51, 100, 2), 22));
	CHECK(wants(GW_WAN, PKT_PROTO_UDP, REMOTE, LAN_ADDR, 40000)); /* translated answer */
	gateway(false, true); /* no host interface: nothing but DHCP */
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, LAN_ADDR, 22));
	CHECK(!wants(GW_WAN, PKT_PROTO_UDP, REMOTE, LAN_ADDR, 40000));
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, 0, UINT32_MAX, 67));
}

TEST(host_takes_what_the_lan_sends_its_kernels_wan_address_in_shared_mode)
{
	struct pkt echo = packet(GW_LAN, PKT_PROTO_ICMP, LAN_HOST, WAN_ADDR, 0);
	struct nat_static_map sm;
	const char *why;
	struct env e;

	env_open(&e, 2, NULL, NULL);
	CHECK_EQ(nat_static_parse("tcp:8080=192.168.137.11:8000", true, &sm, &why), 0);
	CHECK_EQ(nat_static_add(e.nat, &sm, &why), 0);
	echo.icmp_type = PKT_ICMP_ECHO;
	gateway(true, true);
	gw.nat = e.nat;
	gw.cfg.wan_shared = true;
	atomic_store(&gw.wan.addr, WAN_ADDR);
	CHECK(gw_host_wants(&gw, &echo));
	CHECK(wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, WAN_ADDR, 22)); /* the host's sshd */
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, WAN_ADDR, 5000));
	/* A mapped port is the NAT's: hairpinned to its LAN host. */
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, WAN_ADDR, 8080));
	CHECK(wants(GW_LAN, PKT_PROTO_UDP, LAN_HOST, WAN_ADDR, 8080)); /* TCP's only */
	atomic_store(&gw.wan.addr, 0);				       /* no address now */
	CHECK(!gw_host_wants(&gw, &echo));
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, WAN_ADDR, 22));
	gw.cfg.wan_shared = false; /* dedicated: the address is rssnat's */
	atomic_store(&gw.wan.addr, WAN_ADDR);
	CHECK(!gw_host_wants(&gw, &echo));
	CHECK(!wants(GW_LAN, PKT_PROTO_TCP, LAN_HOST, WAN_ADDR, 22));
	env_close(&e);
}
