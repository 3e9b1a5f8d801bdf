/* worker.c - one worker per queue: receive, parse, route, translate, send,
 * hand off (see gw.h). Nothing here allocates, locks or blocks beyond a
 * 1 ms poll(), or a 50 us nap, when a round finds nothing to do. */
#include "gw_internal.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../io/io.h"
#include "../nat/nat.h"
#include "../pkt/wire.h"

/* ---- buffers ---- */

static struct gw_buf *buf_of(struct pkt *p)
{
	return (struct gw_buf *)(void *)((char *)p - offsetof(struct gw_buf, p));
}

static void buf_home(struct gw_worker *w, struct gw_buf *b)
{
	struct gw *gw = w->gw;
	void *obj = b;

	if (b->owner == w->q)
		w->free[w->n_free++] = b;
	else if (b->owner == GW_OWNER_CTL)
		ring_push(&gw->ctl_ret[w->q], &obj, 1); /* sized never to fill */
	else
		ring_push(&gw->ret[w->q * gw->n + b->owner], &obj, 1); /* sized never to fill */
}

static void take_returns(struct gw_worker *w)
{
	struct gw *gw = w->gw;
	void *objs[GW_BURST];
	unsigned got;

	for (unsigned from = 0; from < gw->n; from++)
		while ((got = ring_pop(&gw->ret[from * gw->n + w->q], objs, GW_BURST)) > 0)
			for (unsigned i = 0; i < got; i++)
				w->free[w->n_free++] = objs[i];
	while ((got = ring_pop(&gw->back[w->q], objs, GW_BURST)) > 0)
		for (unsigned i = 0; i < got; i++)
			w->free[w->n_free++] = objs[i];
}

/* ---- sending ---- */

static uint32_t next_hop(const struct gw *gw, int side, uint32_t dst)
{
	if (side == GW_LAN)
		return dst;
	return gw_wan_next_hop(gw, dst);
}

static void punt(struct gw_worker *w, struct gw_buf *b)
{
	void *obj = b;

	if (ring_push(&w->gw->punt[w->q], &obj, 1) == 1)
		return;
	w->c.punt_ring_full++;
	buf_home(w, b);
}

/* Send what was gathered for @side in one call (one sendmmsg, or one TX
 * kick), then give the buffers back. */
static void flush_tx(struct gw_worker *w, int side)
{
	unsigned n = w->n_tx[side], sent;

	if (!n)
		return;
	sent = w->gw->io->tx_burst(w->gw->port[side], w->q, w->tx[side], n);
	if (side == GW_LAN)
		w->c.tx_lan += sent;
	else
		w->c.tx_wan += sent;
	w->c.tx_failed += n - sent;
	for (unsigned i = 0; i < n; i++)
		buf_home(w, buf_of(w->tx[side][i]));
	w->n_tx[side] = 0;
}

static void transmit(struct gw_worker *w, struct gw_buf *b, int side)
{
	if (w->n_tx[side] == GW_TX_MAX)
		flush_tx(w, side);
	w->tx[side][w->n_tx[side]++] = &b->p;
}

/* Out of @side towards the packet's destination: MACs from the neighbour
 * table, or to the control thread to resolve them. */
static void send_out(struct gw_worker *w, struct gw_buf *b, int side)
{
	struct gw *gw = w->gw;
	uint8_t mac[6];
	uint32_t hop = next_hop(gw, side, b->p.daddr);

	if (gw->cfg.mss_clamp && b->p.proto == PKT_PROTO_TCP)
		router_clamp_mss(&w->router, &b->p, gw->cfg.mss_clamp);
	router_set_eth_src(&b->p, gw->mac[side]);
	enum neigh_state ns = neigh_lookup(&gw->neigh[side], hop, w->now_ms, mac);
	if (ns == NEIGH_NONE) {
		b->out_side = (uint8_t)side;
		b->punt = GW_PUNT_RESOLVE;
		b->next_hop = hop;
		w->c.punted_neigh++;
		punt(w, b);
		return;
	}
	w->c.neigh_stale += ns == NEIGH_STALE; /* used while its refresh is late */
	router_set_eth_dst(&b->p, mac);
	transmit(w, b, side);
}

/* ---- the worker ---- */

static void punt_host(struct gw_worker *w, struct gw_buf *b)
{
	b->out_side = b->p.side;
	b->punt = GW_PUNT_HOST;
	w->c.punted_host++;
	punt(w, b);
}

/* A packet for the gateway itself: the host's stack takes what it wants
 * (host.c); rssnat answers ping for its own addresses (in shared mode the
 * WAN address is the kernel's, which answers); the rest is counted. */
static void for_the_gateway(struct gw_worker *w, struct gw_buf *b)
{
	struct gw *gw = w->gw;
	uint32_t ours[2] = {gw->cfg.lan_addr, gw->cfg.wan_addr};
	int side = b->p.side;

	if (gw_host_wants(gw, &b->p)) {
		punt_host(w, b);
	} else if (router_answer_echo(&w->router, &b->p, ours, gw->cfg.wan_shared ? 1 : 2) == 0) {
		w->c.pings_answered++;
		transmit(w, b, side); /* MACs already swapped */
	} else {
		w->c.host_unhandled++;
		buf_home(w, b);
	}
}

/* A LAN host's ping of the WAN address is the gateway's own, answered on
 * the LAN, not hairpinned through the NAT (whose echo would leave on the
 * WAN, from the WAN address to itself); so is, in shared mode, what the
 * host's stack takes there (gw_host_wants()). */
static bool lan_ping_of_wan(const struct pkt *p, uint32_t wan)
{
	return p->side == GW_LAN && wan && p->daddr == wan && (p->flags & PKT_F_L4) &&
	       p->proto == PKT_PROTO_ICMP && p->icmp_type == PKT_ICMP_ECHO;
}

static void handle_verdict(struct gw_worker *w, struct gw_buf *b)
{
	struct gw *gw = w->gw;
	void *obj = b;

	switch (b->p.verdict) {
	case PKT_TO_LAN:
		if (b->p.daddr == gw->cfg.lan_addr && gw_host_wants(gw, &b->p))
			punt_host(w, b); /* a reply to the host's own traffic */
		else
			send_out(w, b, GW_LAN);
		break;
	case PKT_TO_WAN:
		send_out(w, b, GW_WAN);
		break;
	case PKT_HANDOFF:
		if (ring_push(&gw->handoff[w->q * gw->n + b->p.to_worker], &obj, 1) != 1) {
			w->c.handoff_ring_full++;
			buf_home(w, b);
		}
		break;
	case PKT_TO_HOST:
		for_the_gateway(w, b);
		break;
	default: /* PKT_DROP; a held fragment (PKT_PENDING) never comes here */
		buf_home(w, b);
	}
}

/* A LAN packet to a group (or class E) address: a router without multicast
 * routing forwards none (RFC 1812 5.3.5, RFC 5771); the host may listen. */
static void to_the_segment(struct gw_worker *w, struct gw_buf *b)
{
	if (gw_host_wants(w->gw, &b->p)) {
		punt_host(w, b);
		return;
	}
	w->c.host_unhandled++;
	buf_home(w, b);
}

/* The router rules before translation (RFC 1812 5.3.1): a forwarded packet
 * whose TTL runs out becomes Time Exceeded from the address of the side it
 * came in on. Returns true if the packet goes on to the NAT. */
static bool route_in(struct gw_worker *w, struct gw_buf *b)
{
	struct gw *gw = w->gw;
	struct pkt *p = &b->p;
	uint32_t wan = gw_wan_addr(gw);
	uint32_t self = p->side == GW_LAN ? gw->cfg.lan_addr : wan;

	if (p->side == GW_LAN && wan && p->daddr == wan &&
	    (lan_ping_of_wan(p, wan) || gw_host_wants(gw, &b->p))) {
		for_the_gateway(w, b);
		return false;
	}
	if (p->daddr == gw->cfg.lan_addr || (p->daddr == wan && wan) || p->daddr == UINT32_MAX)
		return true; /* for the gateway itself, not forwarded */
	if (p->side == GW_LAN && !wire_ip_is_host(p->daddr)) {
		to_the_segment(w, b); /* a group: never forwarded, never translated */
		return false;
	}
	/* WAN to LAN: the TTL is decremented after translation (below). */
	enum router_verdict v = p->side == GW_WAN && p->ttl > 1
				    ? ROUTER_FORWARD
				    : router_forward_ttl(&w->router, &w->icmp_limit, p, self);
	/* Before translation, so that Fragmentation Needed quotes what the
	 * sender sent (RFC 1191); the egress is the other side. */
	if (v == ROUTER_FORWARD)
		v = router_check_mtu(&w->router, &w->icmp_limit, p, gw->mtu[!p->side], self);
	switch (v) {
	case ROUTER_FORWARD:
		return true;
	case ROUTER_REPLIED:
		w->c.router_replied++;
		transmit(w, b, p->side);
		return false;
	default:
		w->c.router_dropped++;
		buf_home(w, b);
		return false;
	}
}

static unsigned receive(struct gw_worker *w, int side, struct pkt **batch, unsigned n)
{
	struct gw *gw = w->gw;
	struct pkt *rx[GW_BURST];
	unsigned want = w->n_free < GW_BURST ? w->n_free : GW_BURST, got;

	if (!want) {
		w->c.no_buffer++;
		return n;
	}
	for (unsigned i = 0; i < want; i++) {
		struct gw_buf *b = w->free[w->n_free - 1 - i];
		b->p.data = b->data;
		b->p.cap = GW_FRAME;
		rx[i] = &b->p;
	}
	got = gw->io->rx_burst(gw->port[side], w->q, rx, want);
	w->n_free -= got;
	if (side == GW_LAN)
		w->c.rx_lan += got;
	else
		w->c.rx_wan += got;
	for (unsigned i = 0; i < got; i++) {
		struct gw_buf *b = buf_of(rx[i]);
		enum pkt_drop why = pkt_parse(&b->p, b->data, b->p.len, GW_FRAME);
		if (why == PKT_DROP_NOT_IPV4 && b->p.len >= 14 &&
		    ((b->data[12] == 0x08 && b->data[13] == 0x06) ||
		     (b->data[12] == 0x81 && b->data[13] == 0x00))) {
			b->out_side = (uint8_t)side;
			b->punt = GW_PUNT_ARP;
			w->c.punted_arp++;
			punt(w, b);
			continue;
		}
		if (why != PKT_OK) {
			nat_parse_drop(w->nat, why);
			buf_home(w, b);
			continue;
		}
		b->p.side = (uint8_t)side;
		if (route_in(w, b))
			batch[n++] = &b->p;
	}
	return n;
}

static unsigned take_handoffs(struct gw_worker *w, struct pkt **batch, unsigned n, unsigned cap)
{
	struct gw *gw = w->gw;

	for (unsigned from = 0; from < gw->n && n < cap; from++)
		n += ring_pop(&gw->handoff[from * gw->n + w->q], (void **)(batch + n), cap - n);
	if (n < cap) /* the host's own traffic, parsed by the control thread */
		n += ring_pop(&gw->inject[w->q], (void **)(batch + n), cap - n);
	return n;
}

static void translate(struct gw_worker *w, struct pkt **batch, unsigned n)
{
	struct pkt *released[64];
	unsigned r;

	n = nat_process(w->nat, batch, n, w->now_ms / 1000); /* held fragments leave the batch */
	for (unsigned i = 0; i < n; i++) {
		/* RFC 1812 5.3.1 for what came from the WAN (the LAN side was done
		 * before translation, where Time Exceeded can still name the host). */
		if (batch[i]->verdict == PKT_TO_LAN && batch[i]->side == GW_WAN)
			pkt_set_ttl(batch[i], (uint8_t)(batch[i]->ttl - 1));
		handle_verdict(w, buf_of(batch[i]));
	}
	while ((r = nat_released(w->nat, released, 64)) > 0)
		for (unsigned i = 0; i < r; i++)
			handle_verdict(w, buf_of(released[i]));
}

/* Nothing to do this round. Busy lately: a nap of GW_NAP_US, so that the
 * next round finds a batch, rather than a wakeup for every frame (what
 * interrupt moderation does for a NIC). Quiet: poll() wakes at the first
 * frame, so a lone packet is not held back. */
static void idle_wait(struct gw_worker *w)
{
	struct gw *gw = w->gw;

	if (w->now_ms - w->last_work_ms <= GW_BUSY_MS) {
		struct timespec nap = {.tv_nsec = GW_NAP_US * 1000};
		nanosleep(&nap, NULL);
		return;
	}
	struct pollfd fds[2] = {
	    {.fd = gw->io->fd(gw->port[GW_LAN], w->q), .events = POLLIN},
	    {.fd = gw->io->fd(gw->port[GW_WAN], w->q), .events = POLLIN},
	};
	poll(fds, 2, GW_IDLE_MS);
}

void *gw_worker_main(void *arg)
{
	struct gw_worker *w = arg;
	struct pkt *batch[3 * GW_BURST];

	/* Best effort (CAP_SYS_NICE); gw_internal.h says why. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), GW_WORKER_NICE);

	while (!atomic_load_explicit(&w->gw->stop, memory_order_relaxed)) {
		unsigned n = 0;
		w->now_ms = gw_now_ms();
		ratelimit_advance(&w->icmp_limit, w->now_ms);
		take_returns(w);
		n = take_handoffs(w, batch, n, GW_BURST);
		n = receive(w, GW_LAN, batch, n);
		n = receive(w, GW_WAN, batch, n);
		if (n)
			translate(w, batch, n);
		if (w->now_ms - w->last_tick >= GW_TICK_MS) {
			struct pkt *released[64];
			unsigned r;
			w->last_tick = w->now_ms;
			nat_expire(w->nat, w->now_ms / 1000);
			while ((r = nat_released(w->nat, released, 64)) > 0)
				for (unsigned i = 0; i < r; i++)
					handle_verdict(w, buf_of(released[i]));
		}
		flush_tx(w, GW_LAN);
		flush_tx(w, GW_WAN);
		if (n) {
			w->last_work_ms = w->now_ms;
		} else {
			idle_wait(w);
			nat_worker_sync(w->nat); /* a move or a dump may wait for us */
		}
	}
	return NULL;
}
