/* control.c - the control thread: ARP for both sides, frames punted by the
 * workers, the NAT's janitor, signals and the control socket (see gw.h). */
#include "gw_internal.h"

#include <linux/if_packet.h>
#include <poll.h>
#include <string.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../ctl/ctl.h"
#include "../nat/nat.h"
#include "../pkt/wire.h"
#include "../router/arp.h"

void gw_raw_send(struct gw *gw, int side, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_ifindex = gw->ifindex[side], .sll_halen = 6};

	memcpy(sll.sll_addr, frame, 6);
	if (sendto(gw->raw[side], frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) !=
	    (ssize_t)len)
		gw->host.ctl_send_failed++;
}

/* Send what the ARP cache released or asked for, and publish what it knows. */
static void flush_arp(struct gw *gw, int side, uint32_t now)
{
	uint8_t frame[GW_FRAME];
	size_t len;

	while ((len = arp_release_next(gw->arp[side], frame, sizeof(frame))) > 0)
		gw_raw_send(gw, side, frame, len);
	while ((len = arp_poll(gw->arp[side], now, frame, sizeof(frame))) > 0)
		gw_raw_send(gw, side, frame, len);
}

static void publish(struct gw *gw, int side, uint32_t ip, uint32_t now)
{
	uint8_t mac[6];
	enum arp_state st = arp_lookup(gw->arp[side], ip, now, mac);

	if (st == ARP_REACHABLE || st == ARP_STALE) {
		neigh_publish(&gw->neigh[side], ip, mac, now);
		gw_offload_neigh(gw, side, ip, mac);
	}
}

void gw_control_arp(struct gw *gw, int side, uint8_t *frame, size_t len, uint32_t now)
{
	size_t reply = 0;
	struct arp_msg m;

	if (arp_parse(&m, frame, len) == ARP_OK) {
		arp_input(gw->arp[side], frame, len, GW_FRAME, now, &reply);
		if (reply)
			gw_raw_send(gw, side, frame, reply);
		publish(gw, side, m.spa, now);
		gw_host_arp_seen(gw, side, m.spa, m.sha);
	} else {
		arp_input(gw->arp[side], frame, len, GW_FRAME, now, &reply); /* counted */
	}
	flush_arp(gw, side, now);
}

static void control_arp_frame(struct gw *gw, struct gw_buf *b, uint32_t now)
{
	gw_control_arp(gw, b->out_side, b->data, b->p.len, now);
}

void gw_send_resolved(struct gw *gw, int side, uint32_t hop, uint8_t *frame, size_t len,
		      uint32_t now)
{
	uint8_t mac[6], req[ARP_FRAME_MIN + 8];
	unsigned r = arp_resolve(gw->arp[side], hop, now, frame, len, mac);

	if (r & ARP_RESOLVED) {
		if (frame)
			gw_raw_send(gw, side, frame, len);
		if (!wire_ip_is_host(hop)) /* a group or broadcast: no neighbour */
			return;
		neigh_publish(&gw->neigh[side], hop, mac, now);
		gw_offload_neigh(gw, side, hop, mac);
	}
	if (r & ARP_SEND_REQUEST) {
		size_t n = arp_request_for(gw->arp[side], hop, req, sizeof(req));
		if (n)
			gw_raw_send(gw, side, req, n);
	}
}

static void control_punts(struct gw *gw, uint32_t now)
{
	void *objs[GW_BURST];
	unsigned got;

	for (unsigned q = 0; q < gw->n; q++)
		while ((got = ring_pop(&gw->punt[q], objs, GW_BURST)) > 0)
			for (unsigned i = 0; i < got; i++) {
				struct gw_buf *b = objs[i];
				void *obj = b;
				if (b->punt == GW_PUNT_ARP)
					control_arp_frame(gw, b, now);
				else if (b->punt == GW_PUNT_HOST)
					gw_host_punted(gw, b);
				else
					gw_send_resolved(gw, b->out_side, b->next_hop, b->data,
							 b->p.len, now);
				if (b->owner == GW_OWNER_CTL)
					gw_ctl_buf_home(gw, b);
				else /* sized never to fill */
					ring_push(&gw->back[b->owner], &obj, 1);
			}
}

/* Neighbours the workers use are confirmed (ARP probes a STALE one) and
 * published again well before NEIGH_FRESH_MS: past it the workers count
 * them stale (and keep using them). A neighbour that stops answering goes
 * FAILED and is withdrawn: the workers then pass its frames here, where
 * ARP drops them with a counted reason until it answers again. */
struct refresh {
	struct gw *gw;
	int side;
	uint32_t now;
};

static void refresh_one(void *arg, uint32_t ip)
{
	struct refresh *r = arg;

	if (arp_lookup(r->gw->arp[r->side], ip, r->now, NULL) == ARP_FAILED) {
		neigh_withdraw(&r->gw->neigh[r->side], ip);
		gw_offload_neigh_withdraw(r->gw, r->side, ip); /* the fast path's copy too */
	} else
		gw_send_resolved(r->gw, r->side, ip, NULL, 0, r->now);
}

static void refresh_neighbours(struct gw *gw, uint32_t now)
{
	for (int side = GW_LAN; side <= GW_WAN; side++) {
		struct refresh r = {.gw = gw, .side = side, .now = now};
		neigh_foreach_aging(&gw->neigh[side], now, NEIGH_FRESH_MS / 2, refresh_one, &r);
	}
}

/* The control thread's own frames that the workers are done with. */
static void take_ctl_returns(struct gw *gw)
{
	void *objs[GW_BURST];
	unsigned got;

	for (unsigned q = 0; q < gw->n; q++)
		while ((got = ring_pop(&gw->ctl_ret[q], objs, GW_BURST)) > 0)
			for (unsigned i = 0; i < got; i++)
				gw_ctl_buf_home(gw, objs[i]);
}

/* SIGHUP reloads; anything else stops (returns false). */
static bool take_signal(struct gw *gw, int sigfd)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo == SIGHUP) {
		gw_reload(gw);
		return true;
	}
	atomic_store(&gw->stop, 1);
	return false;
}

void gw_control_loop(struct gw *gw, int sigfd)
{
	uint32_t last_tick = gw_now_ms();

	while (!atomic_load(&gw->stop)) {
		struct pollfd fds[GW_CTL_POLL_MAX] = {{.fd = sigfd, .events = POLLIN}};
		unsigned n_ctl = ctl_server_pollfds(gw->ctl, fds + 1, CTL_POLL_MAX);
		unsigned n = 1 + n_ctl, n_host, n_wan;
		n += n_host = gw_host_pollfds(gw, fds + n, GW_CTL_POLL_MAX - n);
		n += n_wan = gw_wan_pollfds(gw, fds + n, GW_CTL_POLL_MAX - n);
		poll(fds, n, 2);
		uint32_t now = gw_now_ms();
		if ((fds[0].revents & POLLIN) && !take_signal(gw, sigfd))
			break;
		take_ctl_returns(gw);
		control_punts(gw, now);
		gw_wan_owner_arp_tap(gw, now);
		/* Never blocks: each client has its own buffers and deadlines. */
		ctl_server_run(gw->ctl, fds + 1, n_ctl, now, gw_ctl_commands, gw);
		gw_host_run(gw, fds + 1 + n_ctl, n_host, now);
		gw_wan_run(gw, fds + 1 + n_ctl + n_host, n_wan); /* never blocks */
		if (now - last_tick >= GW_TICK_MS) {
			last_tick = now;
			refresh_neighbours(gw, now);
			gw_rebalance_tick(gw, now);
			flush_arp(gw, GW_LAN, now);
			flush_arp(gw, GW_WAN, now);
			nat_reclaim(gw->nat);
			gw_wan_owner_tick(gw);
		}
	}
}
