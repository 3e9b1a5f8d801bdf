/* wan_owner.c - shared uplink mode: which WAN frames are rssnat's and
 * which the host's (issue 11). The decision is the eBPF programs'
 * (src/io/bpf/claim_decide.h); this file gives them what they decide by
 * and keeps it current:
 *   - the NAT's port range, apart from the kernel's ephemeral range
 *     (net.ipv4.ip_local_port_range, read in rssnat's network namespace):
 *     a reply to a port in both would be the host's and rssnat's at once;
 *   - the external ports of port mappings, refused for a port a host
 *     socket listens on (whose would its connections be?);
 *   - the WAN address the kernel holds;
 *   - the LAN subnet, whose frames from the WAN are rssnat's (dropped),
 *     never the host stack's.
 * In dedicated mode nothing here runs: the maps are never created, every
 * program has all-zero maps of its own, and every frame is rssnat's.
 */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../io/io.h"
#include "../io/wan_claim.h"
#include "../nat/nat.h"

#define KERNEL_PORT_RANGE "/proc/sys/net/ipv4/ip_local_port_range"

enum { ARP_TAP_BURST = 32 }; /* frames read per turn of the control loop */

static char why_buf[300];

/* The kernel's ephemeral port range in this network namespace. */
static int kernel_range(uint16_t *lo, uint16_t *hi, const char **why)
{
	FILE *f = fopen(KERNEL_PORT_RANGE, "re");
	unsigned a = 0, b = 0;
	int n = f ? fscanf(f, "%u %u", &a, &b) : 0;

	if (f)
		fclose(f);
	if (n != 2 || !a || a > b || b > 65535) {
		*why = "cannot read the kernel's ephemeral port range (" KERNEL_PORT_RANGE ")";
		return -EIO;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* The NAT's range: the one configured, if it keeps clear of the kernel's,
 * else the larger free block beside it (nat_port_range_outside()). */
static int choose_range(struct gw_config *cfg, const char **why)
{
	uint16_t klo, khi;
	int err;

	if ((err = kernel_range(&klo, &khi, why)))
		return err;
	if (cfg->nat.port_lo) { /* --nat-ports given (it starts at 1 at least) */
		if (!nat_port_range_overlaps(cfg->nat.port_lo, cfg->nat.port_hi, klo, khi))
			return 0;
		snprintf(why_buf, sizeof(why_buf),
			 "--nat-ports %u-%u overlaps the kernel's ephemeral ports %u-%u "
			 "(net.ipv4.ip_local_port_range): the host's own connections would take "
			 "rssnat's replies; choose ports outside it",
			 cfg->nat.port_lo, cfg->nat.port_hi, klo, khi);
		*why = why_buf;
		return -EINVAL;
	}
	if (nat_port_range_outside(klo, khi, &cfg->nat.port_lo, &cfg->nat.port_hi)) {
		snprintf(why_buf, sizeof(why_buf),
			 "the kernel's ephemeral ports %u-%u (net.ipv4.ip_local_port_range) "
			 "leave no port above 1023 for the NAT: narrow them or give --nat-ports",
			 klo, khi);
		*why = why_buf;
		return -ENOSPC;
	}
	return 0;
}

/* Might the socket of this /proc/net line receive the WAN's frames? Not
 * if bound to loopback or to the LAN address @lan (network order): those
 * never see a frame from the WAN. Any other address counts, the WAN's
 * among them (known or not yet: this runs before the uplink is read at
 * start, and the address may change). /proc prints each 32-bit word of an
 * address as it sits in memory, so a word compares with network-order
 * values as is. IPv6: only :: (which takes IPv4 too unless IPV6_V6ONLY,
 * which /proc does not say) and v4-mapped addresses can take IPv4. */
static bool v4_may_take_wan(uint32_t addr, uint32_t lan)
{
	return (ntohl(addr) >> 24) != 127 && (!addr || addr != lan);
}

static bool may_take_wan(const uint32_t *w, bool v6, uint32_t lan)
{
	if (!v6)
		return v4_may_take_wan(w[0], lan);
	if (w[0] || w[1])
		return false;
	if (!w[2] && !w[3])
		return true; /* :: */
	return w[2] == htonl(0xffff) && v4_may_take_wan(w[3], lan);
}

bool gw_proc_net_line_listens(const char *line, bool v6, uint16_t port, unsigned state,
			      uint32_t lan)
{
	uint32_t w[4] = {0};
	unsigned local_port, st;
	int n;

	/* "  sl: ADDR:PORT ADDR:PORT ST ..." */
	if (v6)
		n = sscanf(line, "%*u: %8x%8x%8x%8x:%x %*[0-9A-Fa-f]:%*x %x", &w[0], &w[1], &w[2],
			   &w[3], &local_port, &st) == 6;
	else
		n = sscanf(line, "%*u: %8x:%x %*[0-9A-Fa-f]:%*x %x", &w[0], &local_port, &st) == 3;
	return n && local_port == port && st == state && may_take_wan(w, v6, lan);
}

/* Does a socket of this host that may take the WAN's frames listen on
 * @proto @port (TCP: LISTEN; UDP: bound and unconnected), IPv4 or IPv6?
 * /proc/net/{tcp,udp}{,6} of this network namespace. A socket on loopback
 * or the LAN address only never sees a WAN frame: its port stays free for
 * a port mapping (a LAN host's game must not lose its port to a local
 * database on 127.0.0.1). */
static bool host_listens(const struct gw *gw, uint8_t proto, uint16_t port)
{
	static const char *const tcp[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	static const char *const udp[] = {"/proc/net/udp", "/proc/net/udp6"};
	const char *const *files = proto == PKT_PROTO_TCP ? tcp : udp;
	unsigned want_state = proto == PKT_PROTO_TCP ? 0x0a : 0x07; /* TCP_LISTEN, TCP_CLOSE */
	bool found = false;
	char line[512];

	for (int i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(files[i], "re");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f))
			found = gw_proc_net_line_listens(line, i == 1, port, want_state,
							 gw->cfg.lan_addr);
		fclose(f);
	}
	return found;
}

bool gw_wan_owner_port_is_hosts(const struct gw *gw, uint8_t proto, uint16_t port)
{
	uint16_t klo, khi;
	const char *why;

	if (!gw->cfg.wan_shared)
		return false;
	/* A port in the kernel's ephemeral range may be the source port of a
	 * connection the host opens at any moment: its replies are the host's. */
	if (!kernel_range(&klo, &khi, &why) && port >= klo && port <= khi)
		return true;
	return host_listens(gw, proto, port);
}

int gw_wan_owner_check_mapping(const struct gw *gw, const struct nat_static_map *sm,
			       const char **why)
{
	if (!gw->cfg.wan_shared || !host_listens(gw, sm->proto, sm->ext_port))
		return 0;
	snprintf(why_buf, sizeof(why_buf),
		 "a socket of this host listens on %s port %u: the port is the host's, not "
		 "for a port mapping (stop the service or choose another port)",
		 sm->proto == PKT_PROTO_TCP ? "tcp" : "udp", sm->ext_port);
	*why = why_buf;
	return -EADDRINUSE;
}

/* afxdp: ARP goes to the kernel only (an XDP program cannot give a frame
 * to two), so a packet socket for ARP on the WAN reads the copy every
 * packet tap gets of what the kernel receives. */
static int open_arp_tap(struct gw *gw, const char **why)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = gw->ifindex[GW_WAN]};

	gw->arp_tap = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (gw->arp_tap < 0 || bind(gw->arp_tap, (struct sockaddr *)&sll, sizeof(sll))) {
		*why = "cannot open a packet socket for the WAN's ARP";
		return -errno;
	}
	return 0;
}

void gw_wan_owner_arp_tap(struct gw *gw, uint32_t now)
{
	uint8_t frame[GW_FRAME];
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	for (int i = 0; gw->arp_tap > 0 && i < ARP_TAP_BURST; i++) {
		n = recvfrom(gw->arp_tap, frame, sizeof(frame), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return;
		if (from.sll_pkttype != PACKET_OUTGOING) /* not what this host sent */
			gw_control_arp(gw, GW_WAN, frame, (size_t)n, now);
		fl = sizeof(from);
	}
}

int gw_wan_owner_check(struct gw *gw, const char **why)
{
	struct gw_config *cfg = &gw->cfg;
	int err;

	if (!cfg->wan_shared)
		return 0;
	if ((err = choose_range(cfg, why)))
		return err;
	for (unsigned i = 0; i < cfg->nat.n_static; i++)
		if ((err = gw_wan_owner_check_mapping(gw, &cfg->nat.statics[i], why)))
			return err;
	return 0;
}

int gw_wan_owner_open(struct gw *gw, const char **why)
{
	struct gw_config *cfg = &gw->cfg;
	int err;

	if (!cfg->wan_shared)
		return 0;
	if ((err = io_wan_claim_open(&gw->wan_claim, why)))
		return err;
	cfg->nat.ports_live = io_wan_claim_live(gw->wan_claim);
	if ((err = io_wan_claim_share(gw->wan_claim, gw->ifindex[GW_WAN], gw_wan_addr(gw),
				      cfg->nat.port_lo, cfg->nat.port_hi)) ||
	    (err = io_wan_claim_set_lan(gw->wan_claim, cfg->lan_addr, cfg->lan_mask))) {
		*why = "cannot write the WAN claim's configuration map";
		return err;
	}
	for (unsigned i = 0; i < cfg->nat.n_static; i++)
		gw_wan_owner_mapped(gw, cfg->nat.statics[i].proto, cfg->nat.statics[i].ext_port,
				    true);
	io_claim_share(gw->claim[GW_WAN], gw->wan_claim);
	if (!strcmp(cfg->backend, "afxdp") && (err = open_arp_tap(gw, why)))
		return err;
	fprintf(stderr,
		"rssnat: shared uplink: NAT ports %u-%u, the rest of the WAN's frames are the "
		"host's\n",
		cfg->nat.port_lo, cfg->nat.port_hi);
	return 0;
}

void gw_wan_owner_close(struct gw *gw)
{
	if (gw->arp_tap > 0)
		close(gw->arp_tap);
	gw->arp_tap = -1;
	io_wan_claim_close(gw->wan_claim);
	gw->wan_claim = NULL;
}

/* Take @proto/@port off the pending list; true if it was there. */
static bool pending_take(struct gw *gw, uint8_t proto, uint16_t port)
{
	for (unsigned i = 0; i < gw->n_unmap_pending; i++)
		if (gw->unmap_pending[i].proto == proto && gw->unmap_pending[i].port == port) {
			gw->unmap_pending[i] = gw->unmap_pending[--gw->n_unmap_pending];
			return true;
		}
	return false;
}

void gw_wan_owner_mapped(struct gw *gw, uint8_t proto, uint16_t port, bool mapped)
{
	if (mapped)
		(void)pending_take(gw, proto, port); /* mapped again: no longer leaving */
	if (gw->wan_claim && io_wan_claim_map_port(gw->wan_claim, proto, port, mapped))
		fprintf(stderr, "rssnat: cannot update the WAN claim for %s port %u\n",
			proto == PKT_PROTO_TCP ? "tcp" : "udp", port);
}

void gw_wan_owner_unmapped(struct gw *gw, uint8_t proto, uint16_t port)
{
	struct nat_mapping_info m;

	if (!gw->wan_claim)
		return;
	/* Its port stays rssnat's while a connection of it lives on (the NAT
	 * still holds the port, nat.h): the tick gives it back after. */
	if (!nat_find_mapping(gw->nat, proto, 0, port, &m)) {
		gw_wan_owner_mapped(gw, proto, port, false);
		return;
	}
	(void)pending_take(gw, proto, port); /* in the list once */
	if (gw->n_unmap_pending < NAT_PORT_MAPS_MAX)
		gw->unmap_pending[gw->n_unmap_pending++] = (struct gw_port_ref){proto, port};
}

void gw_wan_owner_tick(struct gw *gw)
{
	struct nat_mapping_info m;

	for (unsigned i = 0; i < gw->n_unmap_pending;) {
		struct gw_port_ref r = gw->unmap_pending[i];
		if (nat_find_mapping(gw->nat, r.proto, 0, r.port, &m)) {
			i++;
			continue;
		}
		gw->unmap_pending[i] = gw->unmap_pending[--gw->n_unmap_pending];
		gw_wan_owner_mapped(gw, r.proto, r.port, false);
	}
}

void gw_wan_owner_addr(struct gw *gw, uint32_t addr)
{
	if (gw->wan_claim && io_wan_claim_set_addr(gw->wan_claim, addr))
		fprintf(stderr, "rssnat: cannot give the WAN claim the new address\n");
}

bool gw_wan_owner_is_host(const struct gw *gw, const struct pkt *p)
{
	return p->side == GW_WAN &&
	       io_wan_claim_is_host(gw->wan_claim, p->proto, p->daddr, p->dport);
}

void gw_wan_owner_stats(const struct gw *gw, FILE *out, bool json)
{
	uint64_t n = io_wan_claim_host_frames(gw->wan_claim);

	if (json)
		fprintf(out,
			",\"wan\":{\"shared\":%s,\"nat_ports\":\"%u-%u\",\"left_to_host\":%llu}",
			gw->wan_claim ? "true" : "false", gw->cfg.nat.port_lo, gw->cfg.nat.port_hi,
			(unsigned long long)n);
	else
		fprintf(out, "wan shared=%s nat_ports=%u-%u left_to_host=%llu\n",
			gw->wan_claim ? "yes" : "no", gw->cfg.nat.port_lo, gw->cfg.nat.port_hi,
			(unsigned long long)n);
}

void gw_wan_owner_global(const struct gw *gw, FILE *out, bool json)
{
	const struct nat_config *nc = &gw->cfg.nat;
	const char *why = "";
	uint16_t klo = 0, khi = 0;

	if (json) {
		fprintf(out, ",\"nat_ports\":\"%u-%u\"", nc->port_lo, nc->port_hi);
		return;
	}
	if (gw->wan_claim && !kernel_range(&klo, &khi, &why))
		fprintf(out,
			"NAT Port Range                      : %u-%u (the kernel's own: %u-%u; the "
			"rest of the WAN's frames are the host's)\n",
			nc->port_lo, nc->port_hi, klo, khi);
	else
		fprintf(out, "NAT Port Range                      : %u-%u\n", nc->port_lo,
			nc->port_hi);
}
