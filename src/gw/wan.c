/* wan.c - the WAN address, mask and gateway in use now: the configured
 * ones (dedicated uplink mode), or the kernel's, followed live over
 * rtnetlink (shared mode, src/uplink/; gw.h "Uplink modes").
 *
 * The control thread publishes them in struct gw_wan (workers read each
 * word on its own, relaxed: a packet that meets a half-changed pair during
 * a renumbering goes to a stale next hop at worst, and the NAT ends that
 * address's sessions anyway), gives the address to the NAT
 * (nat_set_wan_addr(): workers adopt it between bursts) and to the WAN's
 * ARP cache (its requests' sender). The kernel's neighbour table feeds
 * the workers' one for the next hops they use (the gateway first), so the
 * gateway's MAC is known without an ARP of ours when the kernel knows it;
 * otherwise rssnat's own ARP, silent (it never answers for the kernel's
 * address), resolves it from the kernel's address. */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>

#include "../nat/nat.h"
#include "../router/arp.h"
#include "../uplink/uplink.h"

static const char *ip_str(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static uint8_t prefix_of(uint32_t mask)
{
	return (uint8_t)__builtin_popcount(mask);
}

/* A kernel neighbour of the WAN: published if the workers use it (the
 * gateway, or a next hop already in their table). A neighbour the kernel
 * lost or failed is left to our own ARP's confirmation (control.c). */
static void kernel_neigh(void *ctx, uint32_t ip, const uint8_t mac[6], bool usable)
{
	struct gw *gw = ctx;
	uint32_t now = gw_now_ms();
	uint8_t known[6];

	if (!usable || !gw->wan.ready)
		return;
	if (ip != gw_wan_gateway(gw) &&
	    neigh_lookup(&gw->neigh[GW_WAN], ip, now, known) == NEIGH_NONE)
		return;
	neigh_publish(&gw->neigh[GW_WAN], ip, mac, now);
	gw_offload_neigh(gw, GW_WAN, ip, mac);
	gw->wan.kernel_neigh++;
}

static void log_addr(const struct gw *gw, uint32_t old)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	uint32_t now = gw_wan_addr(gw);

	if (!now)
		fprintf(stderr,
			"rssnat: %s has no IPv4 address: LAN traffic to the internet is dropped "
			"(NO_WAN_ADDR) until the kernel has one\n",
			gw->cfg.wan_if);
	else if (!old)
		fprintf(stderr, "rssnat: %s: WAN address %s/%u (from the kernel)\n", gw->cfg.wan_if,
			ip_str(now, a), prefix_of(gw_wan_mask(gw)));
	else
		fprintf(stderr,
			"rssnat: %s: WAN address %s -> %s/%u (from the kernel); the sessions on %s "
			"end (sessions_renumbered)\n",
			gw->cfg.wan_if, ip_str(old, a), ip_str(now, b), prefix_of(gw_wan_mask(gw)),
			ip_str(old, a));
}

static void log_gateway(const struct gw *gw)
{
	char a[INET_ADDRSTRLEN];
	uint32_t hop = gw_wan_gateway(gw);

	if (hop)
		fprintf(stderr, "rssnat: %s: default gateway %s (from the kernel)\n",
			gw->cfg.wan_if, ip_str(hop, a));
	else
		fprintf(stderr,
			"rssnat: %s: no default route through it: only its own subnet is "
			"reachable\n",
			gw->cfg.wan_if);
}

/* The kernel's address is usable unless it lies on the LAN subnet. */
static uint32_t usable_addr(const struct gw *gw, const struct uplink_state *st)
{
	if (st->addr && gw_in_lan(gw, st->addr)) {
		char a[INET_ADDRSTRLEN];
		fprintf(stderr,
			"rssnat: %s: the kernel's address %s is on the LAN subnet: unused\n",
			gw->cfg.wan_if, ip_str(st->addr, a));
		return 0;
	}
	return st->addr;
}

/* Publish what the kernel says now: to the workers, the NAT, the ARP. */
static void apply(struct gw *gw, unsigned changed, bool quiet)
{
	const struct uplink_state *st = uplink_state(gw->uplink);

	if (changed & UPLINK_ADDR) {
		uint32_t old = gw_wan_addr(gw), addr = usable_addr(gw, st);
		atomic_store_explicit(&gw->wan.mask, addr ? st->mask : 0, memory_order_relaxed);
		atomic_store_explicit(&gw->wan.addr, addr, memory_order_relaxed);
		if (gw->nat)
			nat_set_wan_addr(gw->nat, addr);
		gw_wan_owner_addr(gw, addr); /* whose WAN frames are (wan_owner.c) */
		if (gw->portmap && old != addr)
			gw_portctl_wan_changed(gw, addr); /* NAT-PMP and PCP announce it */
		if (gw->arp[GW_WAN] && addr)
			arp_set_primary(gw->arp[GW_WAN], addr, st->prefix_len);
		if (!quiet && old != addr)
			log_addr(gw, old);
	}
	if (changed & UPLINK_GATEWAY) {
		uint32_t old = gw_wan_gateway(gw);
		atomic_store_explicit(&gw->wan.gateway, st->gateway, memory_order_relaxed);
		/* The old gateway's MAC goes from the workers' table and the fast
		 * path's: the flows offloaded through it come up, where the
		 * workers send them to the new one (a neighbour still used on
		 * the subnet is resolved again when a frame needs it). */
		if (old && old != st->gateway && gw->wan.ready) {
			neigh_withdraw(&gw->neigh[GW_WAN], old);
			gw_offload_neigh_withdraw(gw, GW_WAN, old);
		}
		if (!quiet)
			log_gateway(gw);
	}
}

int gw_wan_open(struct gw *gw, const char **why)
{
	int err;

	if (!gw->cfg.wan_shared) {
		atomic_store(&gw->wan.addr, gw->cfg.wan_addr);
		atomic_store(&gw->wan.mask, gw->cfg.wan_mask);
		atomic_store(&gw->wan.gateway, gw->cfg.wan_gateway);
		return 0;
	}
	err = uplink_open((int)if_nametoindex(gw->cfg.wan_if), kernel_neigh, gw, &gw->uplink, why);
	if (err)
		return err;
	apply(gw, UPLINK_ADDR | UPLINK_GATEWAY, true);
	log_addr(gw, 0);
	log_gateway(gw);
	return 0;
}

void gw_wan_ready(struct gw *gw)
{
	gw->wan.ready = true;
	if (gw->uplink)
		uplink_refresh(gw->uplink); /* the kernel's neighbours, now that they can be used */
}

void gw_wan_close(struct gw *gw)
{
	uplink_close(gw->uplink);
	gw->uplink = NULL;
}

unsigned gw_wan_pollfds(struct gw *gw, struct pollfd *fds, unsigned max)
{
	if (!gw->uplink || !max)
		return 0;
	fds[0] = (struct pollfd){.fd = uplink_fd(gw->uplink), .events = POLLIN};
	return 1;
}

void gw_wan_run(struct gw *gw, const struct pollfd *fds, unsigned n)
{
	if (!gw->uplink || (n && !(fds[0].revents & POLLIN) && !uplink_pending(gw->uplink)))
		return;
	apply(gw, uplink_run(gw->uplink), false);
}

/* ---- what `show global` and `show stats` say ---- */

void gw_wan_global(struct gw *gw, FILE *out, bool json)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	uint32_t addr = gw_wan_addr(gw), hop = gw_wan_gateway(gw);
	const char *mode = gw->cfg.wan_shared ? "shared" : "dedicated";
	const char *source = gw->cfg.wan_shared ? "kernel" : "configured";

	ip_str(addr, a);
	ip_str(hop, g);
	if (json) {
		fprintf(out,
			",\"uplink_mode\":\"%s\",\"wan_if\":\"%s\",\"wan_addr\":\"%s\","
			"\"wan_prefix\":%u,\"wan_addr_source\":\"%s\",\"wan_gateway\":\"%s\"",
			mode, gw->cfg.wan_if, addr ? a : "", prefix_of(gw_wan_mask(gw)), source,
			hop ? g : "");
		return;
	}
	fprintf(out, "Uplink Mode                         : %s (%s)\n", mode,
		gw->cfg.wan_shared ? "the kernel keeps the WAN interface and its address"
				   : "rssnat owns the WAN interface");
	if (addr)
		fprintf(out, "WAN Address                         : %s/%u on %s (%s)\n", a,
			prefix_of(gw_wan_mask(gw)), gw->cfg.wan_if, source);
	else
		fprintf(out,
			"WAN Address                         : none on %s (waiting for the %s)\n",
			gw->cfg.wan_if, source);
	fprintf(out, "WAN Gateway                         : %s (%s)\n", hop ? g : "none", source);
}

void gw_wan_stats(struct gw *gw, FILE *out, bool json)
{
	static const struct uplink_counters none;
	const struct uplink_counters *c = gw->uplink ? uplink_counters(gw->uplink) : &none;
	uint64_t renumbered = 0;

	for (unsigned q = 0; q < gw->n; q++)
		renumbered += nat_worker_counters(gw->w[q].nat)->sessions_renumbered;
	fprintf(out,
		json ? ",\"uplink\":{\"mode\":\"%s\",\"sessions_renumbered\":%llu"
		     : "uplink mode=%s sessions_renumbered=%llu",
		gw->cfg.wan_shared ? "shared" : "dedicated", (unsigned long long)renumbered);
	fprintf(out, json ? ",\"kernel_neigh_published\":%llu" : " kernel_neigh_published=%llu",
		(unsigned long long)gw->wan.kernel_neigh);
#define GW_UPLINK_PRINT(name, text)                                                                \
	fprintf(out, json ? ",\"" #name "\":%llu" : " " #name "=%llu", (unsigned long long)c->name);
	UPLINK_COUNTERS(GW_UPLINK_PRINT)
#undef GW_UPLINK_PRINT
	fprintf(out, json ? "}" : "\n");
}
