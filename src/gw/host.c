/* host.c - the gateway host's own interface, and the LAN services behind it.
 *
 * Theory of operation
 * -------------------
 * The kernel holds none of the addresses rssnat serves on the LAN and WAN
 * interfaces (gw_check() refuses to start otherwise, and a tc ingress guard
 * keeps the kernel's IP stack off both, io_stack_guard_attach()). The host
 * is still a member of its LAN, as with Windows ICS (issue 11): its own
 * stack is reached through a TUN device, "the host interface" (rssnat0),
 * which holds the LAN address. The kernel sees exactly what the workers
 * pass it:
 *
 *   LAN host -> 192.168.137.1, anything but DHCP    into the TUN: SSH, a web
 *                                                   server, ping (the kernel
 *                                                   answers), the DNS proxy's
 *                                                   sockets; the host's own
 *                                                   firewall judges it there
 *   LAN host -> a group the host listens to         into the TUN (SSDP,
 *                                                   mDNS: host_groups[])
 *   the kernel's packets out of the TUN:
 *     to a LAN host, the LAN broadcast or a group   resolved with ARP (a
 *                                                   group's MAC by RFC 1112
 *                                                   6.4), sent out of the LAN
 *     to anywhere else (the proxy asking upstream)  injected into the NAT as
 *                                                   if LAN host 192.168.137.1
 *                                                   had sent it: translated
 *                                                   like any other flow
 *   the answers from beyond the NAT                 back through the NAT to
 *                                                   192.168.137.1: into the TUN
 *
 * The other way considered, the LAN address on the LAN interface itself,
 * would let the kernel see every LAN frame the afpacket taps see (the stack
 * guard would have to let some through, the afxdp program pass some) and
 * answer ARP beside rssnat; the TUN keeps one owner for each frame and
 * leaves the forwarding path as it is. Measured on veths (2 CPUs, iperf3
 * LAN host -> 192.168.137.1): the kernel on the LAN interface 4.7 Gbit/s,
 * through the TUN 2.0 Gbit/s (the control thread copies each packet), far
 * above what a LAN host asks of its gateway's own services; forwarding
 * 3.6-4.3 Gbit/s with the guard, 3.2-3.9 without it (the kernel seeing
 * every LAN frame): no gain for the forwarding path, and more to get right.
 *
 * Nothing from the WAN reaches the TUN except answers on flows the host
 * opened (the NAT drops the rest), so the proxy is never an open resolver.
 * Each upstream resolver gets a host route on the TUN: the proxy's queries
 * leave there, and the kernel's reverse-path check accepts the answers.
 *
 * DHCP needs no stack (clients have no address yet): the server works on
 * whole frames (svc/dhcp.c) and its replies are sent as they are.
 *
 * Everything here runs on the control thread; the workers only call
 * gw_host_wants().
 */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/route.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/ring.h"
#include "../nat/nat.h"
#include "../pkt/wire.h"
#include "../svc/dhcp.h"
#include "../svc/dns_proxy.h"

enum {
	ETH_HLEN_ = 14,
	ETHERTYPE_IPV4_ = 0x0800,
	PORT_DHCP_SERVER = 67,
	PORT_SSDP = 1900,
	PORT_MDNS = 5353,
};

/* The LAN groups the host takes in, beside what is sent to its address:
 * SSDP for UPnP (UDA 1.1 1.1.2) and mDNS (RFC 6762 3). A router forwards
 * neither (both are scoped to the link or the site): nothing else needs them. */
static const struct {
	uint8_t a, b, c, d;
	uint16_t port;
} host_groups[] = {
    {239, 255, 255, 250, PORT_SSDP},
    {224, 0, 0, 251, PORT_MDNS},
};

/* ---- the workers' question ---- */

static bool dhcp_to_server(const struct pkt *p)
{
	return (p->flags & PKT_F_L4) && p->proto == PKT_PROTO_UDP && p->dport == PORT_DHCP_SERVER;
}

static bool to_host_group(const struct pkt *p)
{
	if (!(p->flags & PKT_F_L4) || p->proto != PKT_PROTO_UDP)
		return false;
	for (size_t i = 0; i < sizeof(host_groups) / sizeof(host_groups[0]); i++)
		if (p->daddr == pkt_ipv4(host_groups[i].a, host_groups[i].b, host_groups[i].c,
					 host_groups[i].d) &&
		    p->dport == host_groups[i].port)
			return true;
	return false;
}

/* Shared uplink mode: the WAN address is the kernel's, and what a LAN host
 * sends it is the host's, as on the host's own LAN (rssnat answers no ping
 * for an address the kernel owns): ping, and TCP or UDP to a port no
 * mapping holds. A mapped port is the NAT's, hairpinned to its LAN host
 * (RFC 4787 REQ-9); so are fragments without ports. */
static bool to_kernel_wan(const struct gw *gw, const struct pkt *p)
{
	uint32_t wan = gw_wan_addr(gw);

	if (!gw->cfg.wan_shared || !wan || p->daddr != wan || !(p->flags & PKT_F_L4))
		return false;
	if (p->proto == PKT_PROTO_ICMP)
		return p->icmp_type == PKT_ICMP_ECHO;
	return (p->proto == PKT_PROTO_TCP || p->proto == PKT_PROTO_UDP) &&
	       !nat_port_mapped(gw->nat, p->proto, p->dport);
}

bool gw_host_wants(const struct gw *gw, const struct pkt *p)
{
	if (p->side == GW_WAN) /* translated: an answer to the host's own flow */
		return gw->tun >= 0 && (p->flags & PKT_F_L4) && p->daddr == gw->cfg.lan_addr;
	if (dhcp_to_server(p)) /* RFC 2131 4.1: from 0.0.0.0 or a bound client */
		return gw->cfg.svc.dhcp;
	if (gw->tun < 0 || !gw_in_lan(gw, p->saddr))
		return false;
	/* Everything else to the host's LAN address is the host's, fragments
	 * too (its stack reassembles them), under its own firewall. */
	return p->daddr == gw->cfg.lan_addr || to_host_group(p) || to_kernel_wan(gw, p);
}

/* ---- the control thread's frames ---- */

void gw_ctl_buf_home(struct gw *gw, struct gw_buf *b)
{
	gw->ctl_free[gw->n_ctl_free++] = b;
}

static struct gw_buf *ctl_buf_take(struct gw *gw)
{
	return gw->n_ctl_free ? gw->ctl_free[--gw->n_ctl_free] : NULL;
}

/* A packet the kernel sent toward the WAN: into the NAT as a LAN packet of
 * 192.168.137.1. Worker 0 takes it; the NAT hands it to its owner. */
static void inject(struct gw *gw, const uint8_t *ip, size_t len)
{
	struct gw_buf *b = ctl_buf_take(gw);
	void *obj = b;

	if (!b || len > GW_FRAME - ETH_HLEN_) {
		gw->host.from_host_dropped++;
		if (b)
			gw_ctl_buf_home(gw, b);
		return;
	}
	memcpy(b->data, gw->mac[GW_LAN], 6);
	memcpy(b->data + 6, gw->mac[GW_LAN], 6);
	wire_put16(b->data + 12, ETHERTYPE_IPV4_);
	memcpy(b->data + ETH_HLEN_, ip, len);
	if (pkt_parse(&b->p, b->data, (uint16_t)(len + ETH_HLEN_), GW_FRAME) != PKT_OK) {
		gw->host.from_host_dropped++;
		gw_ctl_buf_home(gw, b);
		return;
	}
	b->p.side = GW_LAN; /* before the push: from then on the frame is the worker's */
	b->p.hops = 0;
	b->p.flags |= PKT_F_FROM_HOST; /* may come from the gateway's own address */
	if (ring_push(&gw->inject[0], &obj, 1) != 1) {
		gw->host.from_host_dropped++;
		gw_ctl_buf_home(gw, b);
		return;
	}
	gw->host.from_host_to_nat++;
}

/* A packet the kernel sent to a LAN host, the LAN's broadcast or a group:
 * an Ethernet header, then ARP (a group's MAC needs none, RFC 1112 6.4). */
static void to_lan(struct gw *gw, const uint8_t *ip, size_t len, uint32_t hop, uint32_t now)
{
	uint8_t frame[GW_FRAME];

	if (len > sizeof(frame) - ETH_HLEN_) {
		gw->host.from_host_dropped++;
		return;
	}
	memset(frame, 0, 6);
	memcpy(frame + 6, gw->mac[GW_LAN], 6);
	wire_put16(frame + 12, ETHERTYPE_IPV4_);
	memcpy(frame + ETH_HLEN_, ip, len);
	gw->host.from_host_to_lan++;
	gw_send_resolved(gw, GW_LAN, hop, frame, len + ETH_HLEN_, now);
}

static bool ip_multicast(uint32_t addr)
{
	return (ntohl(addr) >> 28) == 0xe; /* 224/4, RFC 5771 */
}

static void from_host(struct gw *gw, const uint8_t *ip, size_t len, uint32_t now)
{
	uint32_t dst, lan_bcast = gw->cfg.lan_addr | ~gw->cfg.lan_mask;

	gw->host.from_host++;
	if (len < 20 || (ip[0] >> 4) != 4) { /* IPv6 is off on the TUN; be sure */
		gw->host.from_host_dropped++;
		return;
	}
	memcpy(&dst, ip + 16, 4);
	if (dst == lan_bcast || dst == UINT32_MAX)
		to_lan(gw, ip, len, UINT32_MAX, now); /* RFC 919: all ones on the wire */
	else if (gw_in_lan(gw, dst) || ip_multicast(dst))
		to_lan(gw, ip, len, dst, now);
	else
		inject(gw, ip, len);
}

static void read_host(struct gw *gw, uint32_t now)
{
	uint8_t ip[GW_FRAME];

	for (unsigned i = 0; i < GW_HOST_BURST; i++) {
		ssize_t n = read(gw->tun, ip, sizeof(ip));
		if (n <= 0)
			break;
		from_host(gw, ip, (size_t)n, now);
	}
}

/* ---- the services ---- */

/* DHCP's clock is the wall clock (leases on disk outlive the process);
 * the DNS proxy's the monotonic one. */
static uint64_t wall_ms(void)
{
	return gw_clock_ms(CLOCK_REALTIME);
}

static uint64_t mono_ms(void)
{
	return gw_clock_ms(CLOCK_MONOTONIC);
}

static void send_dhcp_frames(struct gw *gw, uint64_t now)
{
	uint8_t out[DHCP_FRAME_MAX];
	char line[256];
	size_t len;

	for (unsigned i = 0;
	     i < GW_HOST_BURST && (len = dhcp_poll(gw->dhcp, now, out, sizeof(out))); i++) {
		gw_raw_send(gw, GW_LAN, out, len);
		gw->host.dhcp_out++;
	}
	/* Unserved new clients: one line a minute at most, never one a packet. */
	if (dhcp_take_log(gw->dhcp, now, line, sizeof(line)))
		fprintf(stderr, "rssnat: dhcp: %s\n", line);
}

static void dhcp_frame(struct gw *gw, const uint8_t *frame, size_t len)
{
	uint8_t out[DHCP_FRAME_MAX];
	size_t n;

	if (!gw->dhcp)
		return;
	gw->host.dhcp_in++;
	if ((n = dhcp_input(gw->dhcp, frame, len, wall_ms(), out, sizeof(out)))) {
		gw_raw_send(gw, GW_LAN, out, n);
		gw->host.dhcp_out++;
	}
}

void gw_host_arp_seen(struct gw *gw, int side, uint32_t ip, const uint8_t mac[6])
{
	if (side == GW_LAN && gw->dhcp)
		dhcp_address_seen(gw->dhcp, ip, mac, wall_ms());
}

/* ---- frames the workers passed ---- */

static void to_host(struct gw *gw, const struct gw_buf *b)
{
	if (write(gw->tun, b->data + b->p.l3_off, b->p.l3_len) == (ssize_t)b->p.l3_len)
		gw->host.to_host++;
	else
		gw->host.to_host_failed++;
}

void gw_host_punted(struct gw *gw, struct gw_buf *b)
{
	if (b->p.side == GW_LAN && b->p.proto == PKT_PROTO_UDP && b->p.dport == PORT_DHCP_SERVER) {
		dhcp_frame(gw, b->data, b->p.len);
		return;
	}
	if (gw->tun >= 0)
		to_host(gw, b);
}

/* ---- the TUN device ---- */

static int sysctl_write(const char *dev, const char *name, const char *value)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s",
		 strcmp(name, "disable_ipv6") ? "ipv4" : "ipv6", dev, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok ? 0 : -EIO;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = addr};

	memcpy(sa, &sin, sizeof(sin));
}

/* The LAN address on the TUN, up, with the LAN MTU; IPv6 off. */
static int configure_tun(struct gw *gw, int sock, const char **why)
{
	struct ifreq ifr = {0};
	const char *name = gw->cfg.svc.host_if;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	set_sin(&ifr.ifr_addr, gw->cfg.lan_addr);
	if (ioctl(sock, SIOCSIFADDR, &ifr)) {
		*why = "cannot give the host interface the LAN address";
		return -errno;
	}
	set_sin(&ifr.ifr_netmask, gw->cfg.lan_mask);
	if (ioctl(sock, SIOCSIFNETMASK, &ifr)) {
		*why = "cannot set the host interface's netmask";
		return -errno;
	}
	ifr.ifr_mtu = gw->mtu[GW_LAN] < gw->mtu[GW_WAN] ? gw->mtu[GW_LAN] : gw->mtu[GW_WAN];
	(void)ioctl(sock, SIOCSIFMTU, &ifr); /* the default 1500 is fine too */
	(void)sysctl_write(name, "disable_ipv6", "1");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(sock, SIOCSIFFLAGS, &ifr) == 0)
			return 0;
	}
	*why = "cannot bring the host interface up";
	return -errno;
}

/* A host route to @addr on the TUN. */
static int route_to(struct gw *gw, int sock, uint32_t addr)
{
	struct rtentry rt = {0};
	char dev[IF_NAMESIZE];

	snprintf(dev, sizeof(dev), "%s", gw->cfg.svc.host_if);
	set_sin(&rt.rt_dst, addr);
	set_sin(&rt.rt_genmask, UINT32_MAX);
	rt.rt_flags = RTF_UP | RTF_HOST;
	rt.rt_dev = dev;
	if (ioctl(sock, SIOCADDRT, &rt) && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_tun(struct gw *gw, const char **why)
{
	struct ifreq ifr = {.ifr_flags = IFF_TUN | IFF_NO_PI};
	int sock, err;

	gw->tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (gw->tun < 0) {
		*why = "cannot open /dev/net/tun for the host interface (modprobe tun?)";
		return -errno;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", gw->cfg.svc.host_if);
	if (ioctl(gw->tun, TUNSETIFF, &ifr)) {
		*why = "cannot create the host interface (--host-if in use?)";
		return -errno;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		*why = "socket() failed";
		return -errno;
	}
	err = configure_tun(gw, sock, why);
	for (unsigned i = 0; !err && i < gw->cfg.svc.n_upstream; i++)
		if ((err = route_to(gw, sock, gw->cfg.svc.upstream[i].addr)))
			*why = "cannot add a route to a DNS upstream on the host interface";
	close(sock);
	return err;
}

/* ---- the DNS proxy ---- */

/* The local zone of the DNS proxy: names the DHCP clients gave. */
static int name_to_addr(void *ctx, const char *host, uint32_t *addr)
{
	struct gw *gw = ctx;

	return gw->dhcp ? dhcp_lookup_name(gw->dhcp, host, wall_ms(), addr) : -ENOENT;
}

static int addr_to_name(void *ctx, uint32_t addr, char *host, size_t size)
{
	struct gw *gw = ctx;

	if (addr == gw->cfg.lan_addr) { /* the gateway itself, as ICS names it */
		snprintf(host, size, "gateway");
		return 0;
	}
	return gw->dhcp ? dhcp_lookup_addr(gw->dhcp, addr, wall_ms(), host, size) : -ENOENT;
}

unsigned gw_host_pollfds(struct gw *gw, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;

	if (gw->tun >= 0 && max > 0)
		fds[n++] = (struct pollfd){.fd = gw->tun, .events = POLLIN};
	gw->n_dns_fds = gw->dns ? dns_proxy_pollfds(gw->dns, fds + n, max - n) : 0;
	n += gw->n_dns_fds;
	n += gw_portctl_pollfds(gw, fds + n, max - n);
	return n;
}

void gw_host_run(struct gw *gw, const struct pollfd *fds, unsigned n, uint32_t now)
{
	unsigned first = 0;

	if (gw->tun >= 0 && n > 0) {
		if (fds[0].revents & POLLIN)
			read_host(gw, now);
		first = 1;
	}
	unsigned n_dns = gw->n_dns_fds; /* as gw_host_pollfds() laid them out */
	if (gw->dns)
		dns_proxy_run(gw->dns, fds + first, n_dns, mono_ms());
	gw_portctl_run(gw, fds + first + n_dns, n - first - n_dns);
	if (gw->dhcp)
		send_dhcp_frames(gw, wall_ms());
}

/* ---- set-up ---- */

/* The ICS pool: .2 up to the last host of the LAN subnet, unless given. */
static void dhcp_settings(const struct gw *gw, struct dhcp_config *dc)
{
	const struct gw_services *svc = &gw->cfg.svc;
	uint32_t net = ntohl(gw->cfg.lan_addr & gw->cfg.lan_mask), mask = ntohl(gw->cfg.lan_mask);

	dhcp_config_default(dc);
	dc->server_addr = dc->router = dc->dns = gw->cfg.lan_addr;
	dc->netmask = gw->cfg.lan_mask;
	memcpy(dc->server_mac, gw->mac[GW_LAN], 6);
	dc->pool_first = svc->pool_first ? svc->pool_first : htonl(net + 2);
	dc->pool_last = svc->pool_last ? svc->pool_last : htonl((net | ~mask) - 1);
	dc->lease_secs = svc->lease_secs;
	dc->rate_new = svc->dhcp_new_rate;
	snprintf(dc->domain, sizeof(dc->domain), "%s", svc->domain);
	snprintf(dc->lease_file, sizeof(dc->lease_file), "%s", svc->leases);
	for (unsigned i = 0; i < svc->n_reserve && i < DHCP_RESERVED_MAX; i++) {
		memcpy(dc->reserved[i].mac, svc->reserve[i].mac, 6);
		dc->reserved[i].addr = svc->reserve[i].addr;
	}
	dc->n_reserved = svc->n_reserve;
}

/* The lease file's directory, as systemd's StateDirectory= would make it. */
static void make_state_dir(const char *file)
{
	char dir[256];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
}

static int open_dhcp(struct gw *gw, const char **why)
{
	struct dhcp_config dc;
	char warning[300];
	int err;

	dhcp_settings(gw, &dc);
	if (dc.lease_file[0])
		make_state_dir(dc.lease_file);
	if ((err = dhcp_create(&dc, wall_ms(), &gw->dhcp, why, warning, sizeof(warning))))
		return err;
	if (warning[0])
		fprintf(stderr, "rssnat: dhcp: %s\n", warning);
	return 0;
}

/* Upstream resolvers: as given, else the host's (systemd-resolved's list
 * of real servers first: its stub 127.0.0.53 is not reachable from here). */
static void find_upstreams(struct gw *gw)
{
	static const char *const files[] = {"/run/systemd/resolve/resolv.conf", "/etc/resolv.conf"};
	struct gw_services *svc = &gw->cfg.svc;
	struct dns_upstream found[GW_UPSTREAM_MAX];

	for (size_t f = 0; !svc->n_upstream && f < sizeof(files) / sizeof(files[0]); f++) {
		int n = dns_read_resolv_conf(files[f], found, GW_UPSTREAM_MAX);
		for (int i = 0; i < n; i++) {
			svc->upstream[i].addr = found[i].addr;
			svc->upstream[i].port = found[i].port;
		}
		svc->n_upstream = n > 0 ? (unsigned)n : 0;
	}
	if (!svc->n_upstream)
		fprintf(stderr, "rssnat: dns: no upstream resolver (--dns-upstream, or a "
				"nameserver in /etc/resolv.conf): only LAN names resolve\n");
}

static int open_dns(struct gw *gw, const char **why)
{
	const struct gw_services *svc = &gw->cfg.svc;
	struct dns_proxy_config pc;
	int err;

	dns_proxy_config_default(&pc);
	pc.listen_addr = gw->cfg.lan_addr;
	snprintf(pc.listen_dev, sizeof(pc.listen_dev), "%s", svc->host_if);
	snprintf(pc.upstream_dev, sizeof(pc.upstream_dev), "%s", svc->host_if);
	pc.allow_net = gw->cfg.lan_addr & gw->cfg.lan_mask;
	pc.allow_mask = gw->cfg.lan_mask;
	for (unsigned i = 0; i < svc->n_upstream && i < DNS_UPSTREAM_MAX; i++) {
		pc.upstream[i].addr = svc->upstream[i].addr;
		pc.upstream[i].port = svc->upstream[i].port;
	}
	pc.n_upstream = svc->n_upstream < DNS_UPSTREAM_MAX ? svc->n_upstream : DNS_UPSTREAM_MAX;
	snprintf(pc.domain, sizeof(pc.domain), "%s", svc->domain);
	pc.cache_entries = svc->dns_cache;
	pc.name_to_addr = name_to_addr;
	pc.addr_to_name = addr_to_name;
	pc.ctx = gw;
	if ((err = dns_proxy_create(&pc, &gw->dns, why))) {
		static char msg[300];
		snprintf(msg, sizeof(msg),
			 "the DNS proxy cannot listen on port 53 of the LAN address (%s); is "
			 "another DNS server bound to 0.0.0.0:53 here? (--dns off)",
			 *why);
		*why = msg;
	}
	return err;
}

int gw_host_open(struct gw *gw, const char **why)
{
	int err;

	if (gw->cfg.svc.dhcp && (err = open_dhcp(gw, why)))
		return err;
	if (gw->cfg.svc.dns)
		find_upstreams(gw);
	/* The host interface always: the host is a member of its LAN. */
	if ((err = open_tun(gw, why)))
		return err;
	if (gw->cfg.svc.dns && (err = open_dns(gw, why)))
		return err;
	return gw_portctl_open(gw, why);
}

void gw_host_close(struct gw *gw)
{
	gw_portctl_close(gw);
	/* What the services said on their way out (SSDP byebye, UDA 1.1
	 * 1.2.3) leaves the TUN before the TUN goes: the ports are still up. */
	if (gw->tun >= 0)
		read_host(gw, gw_now_ms());
	dns_proxy_destroy(gw->dns);
	gw->dns = NULL;
	dhcp_destroy(gw->dhcp);
	gw->dhcp = NULL;
	if (gw->tun >= 0)
		close(gw->tun); /* the kernel removes the device, its address and routes */
	gw->tun = -1;
}
