/* gw.c - the live gateway's set-up, workers and control thread (see gw.h). */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/ring.h"
#include "../ctl/ctl.h"
#include "../io/io.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"
#include "../svc/arp.h"
#include "../svc/router.h"
#include "neigh.h"

enum {
	GW_BURST = 32,
	GW_POOL = 4096, /* frames per worker */
	GW_FRAME = 2048,
	GW_RING = 4096,		/* >= GW_POOL: a buffer-return ring can never be full */
	GW_IDLE_MS = 1,		/* a worker with nothing to do sleeps in poll() this long:
				 * handed-off frames arrive on rings poll() cannot see */
	GW_TX_MAX = 128,	/* frames gathered per side before one send call */
	GW_RING_FRAMES = 16384, /* receive ring per queue: 32 MiB of 2 KiB frames */
	GW_TICK_MS = 100,
	GW_LAN = PKT_SIDE_LAN,
	GW_WAN = PKT_SIDE_WAN,
};

/* A ring that returns buffers to their pool holds at most the whole pool. */
_Static_assert(GW_RING >= GW_POOL, "buffer-return rings must never fill");

/* Counters of the glue itself, per worker (the NAT's are in struct nat_counters). */
#define GW_COUNTERS(X)                                                                             \
	X(rx_lan, "frames received on the LAN")                                                    \
	X(rx_wan, "frames received on the WAN")                                                    \
	X(tx_lan, "frames sent to the LAN")                                                        \
	X(tx_wan, "frames sent to the WAN")                                                        \
	X(tx_failed, "frames the backend did not take")                                            \
	X(punted_arp, "ARP frames passed to the control thread")                                   \
	X(punted_neigh, "frames passed to the control thread to resolve their next hop")           \
	X(punt_ring_full, "frames dropped: control thread's ring full")                            \
	X(handoff_ring_full, "frames dropped: owner's handoff ring full")                          \
	X(pings_answered, "pings to the gateway answered")                                         \
	X(router_replied, "ICMP errors sent by the router rules (TTL, MTU)")                       \
	X(router_dropped, "frames dropped by the router rules")                                    \
	X(host_unhandled, "frames for the gateway that nothing here serves")                       \
	X(no_buffer, "receive bursts cut short: no free frame buffer")

struct gw_counters {
#define GW_COUNTER_FIELD(name, text) uint64_t name;
	GW_COUNTERS(GW_COUNTER_FIELD)
#undef GW_COUNTER_FIELD
};

struct gw_buf {
	struct pkt p;
	uint16_t owner;	   /* the worker whose pool it belongs to */
	uint8_t out_side;  /* for a punted frame: where it is going */
	uint8_t is_arp;	   /* for a punted frame: an ARP frame received on out_side */
	uint32_t next_hop; /* for a punted frame: whom to resolve */
	uint8_t data[GW_FRAME];
};

struct gw;

struct gw_worker {
	struct gw *gw;
	unsigned q;
	pthread_t thread;
	struct nat_worker *nat;
	struct gw_buf *pool;
	struct gw_buf **free;
	unsigned n_free;
	uint32_t now_ms, last_tick;
	struct pkt *tx[2][GW_TX_MAX]; /* frames to send, per side, this round */
	unsigned n_tx[2];
	struct router_counters router;
	struct gw_counters c;
};

struct gw {
	struct gw_config cfg;
	const struct io_ops *io;
	struct io_port *port[2];
	struct rss_snapshot *snap;
	struct nat *nat;
	unsigned n;
	struct gw_worker *w;
	struct ring *handoff; /* [from * n + to]: frames for their owner */
	struct ring *ret;     /* [from * n + to]: buffers going home */
	struct ring *punt;    /* [worker]: to the control thread */
	struct ring *back;    /* [worker]: buffers the control thread returns */
	void **slots;
	struct neigh_table neigh[2];
	struct arp_cache *arp[2];
	int raw[2], ifindex[2];
	uint16_t mtu[2];
	uint8_t mac[2][6];
	struct ctl_server *ctl;
	_Atomic int stop;
};

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

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
	return (dst & gw->cfg.wan_mask) == (gw->cfg.wan_addr & gw->cfg.wan_mask)
		   ? dst
		   : gw->cfg.wan_gateway;
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
	if (!neigh_lookup(&gw->neigh[side], hop, w->now_ms, mac)) {
		b->out_side = (uint8_t)side;
		b->is_arp = 0;
		b->next_hop = hop;
		w->c.punted_neigh++;
		punt(w, b);
		return;
	}
	router_set_eth_dst(&b->p, mac);
	transmit(w, b, side);
}

/* ---- the worker ---- */

static void handle_verdict(struct gw_worker *w, struct gw_buf *b)
{
	struct gw *gw = w->gw;
	void *obj = b;

	switch (b->p.verdict) {
	case PKT_TO_LAN:
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
	case PKT_TO_HOST: {
		uint32_t ours[2] = {gw->cfg.lan_addr, gw->cfg.wan_addr};
		int side = b->p.side;
		if (router_answer_echo(&w->router, &b->p, ours, 2) == 0) {
			w->c.pings_answered++;
			transmit(w, b, side); /* MACs already swapped */
		} else {
			w->c.host_unhandled++; /* DHCP and DNS come with the LAN services */
			buf_home(w, b);
		}
		break;
	}
	case PKT_PENDING:
		break; /* a fragment the NAT holds; it comes back released */
	default:
		buf_home(w, b);
	}
}

/* The router rules before translation (RFC 1812 5.3.1): a forwarded packet
 * whose TTL runs out becomes Time Exceeded from the address of the side it
 * came in on. Returns true if the packet goes on to the NAT. */
static bool route_in(struct gw_worker *w, struct gw_buf *b)
{
	struct gw *gw = w->gw;
	struct pkt *p = &b->p;
	uint32_t self = p->side == GW_LAN ? gw->cfg.lan_addr : gw->cfg.wan_addr;

	if (p->daddr == gw->cfg.lan_addr || p->daddr == gw->cfg.wan_addr || p->daddr == UINT32_MAX)
		return true; /* for the gateway itself, not forwarded */
	/* WAN to LAN: the TTL is decremented after translation (below). */
	enum router_verdict v = p->side == GW_WAN && p->ttl > 1
				    ? ROUTER_FORWARD
				    : router_forward_ttl(&w->router, p, self);
	/* Before translation, so that Fragmentation Needed quotes what the
	 * sender sent (RFC 1191); the egress is the other side. */
	if (v == ROUTER_FORWARD)
		v = router_check_mtu(&w->router, p, gw->mtu[!p->side], self);
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
			b->is_arp = 1;
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
	return n;
}

static void translate(struct gw_worker *w, struct pkt **batch, unsigned n)
{
	struct pkt *released[64];
	unsigned r;

	nat_process(w->nat, batch, n, w->now_ms / 1000);
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

static void idle_wait(struct gw_worker *w)
{
	struct gw *gw = w->gw;
	struct pollfd fds[2] = {
	    {.fd = gw->io->fd(gw->port[GW_LAN], w->q), .events = POLLIN},
	    {.fd = gw->io->fd(gw->port[GW_WAN], w->q), .events = POLLIN},
	};

	poll(fds, 2, GW_IDLE_MS);
}

static void *worker_main(void *arg)
{
	struct gw_worker *w = arg;
	struct pkt *batch[3 * GW_BURST];

	while (!atomic_load_explicit(&w->gw->stop, memory_order_relaxed)) {
		unsigned n = 0;
		w->now_ms = now_ms();
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
		if (!n)
			idle_wait(w);
	}
	return NULL;
}

/* ---- the control thread ---- */

static void raw_send(struct gw *gw, int side, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_ifindex = gw->ifindex[side], .sll_halen = 6};

	memcpy(sll.sll_addr, frame, 6);
	(void)sendto(gw->raw[side], frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
}

/* Send what the ARP cache released or asked for, and publish what it knows. */
static void flush_arp(struct gw *gw, int side, uint32_t now)
{
	uint8_t frame[GW_FRAME];
	size_t len;

	while ((len = arp_release_next(gw->arp[side], frame, sizeof(frame))) > 0)
		raw_send(gw, side, frame, len);
	while ((len = arp_poll(gw->arp[side], now, frame, sizeof(frame))) > 0)
		raw_send(gw, side, frame, len);
}

static void publish(struct gw *gw, int side, uint32_t ip, uint32_t now)
{
	uint8_t mac[6];
	enum arp_state st = arp_lookup(gw->arp[side], ip, now, mac);

	if (st == ARP_REACHABLE || st == ARP_STALE)
		neigh_publish(&gw->neigh[side], ip, mac, now);
}

static void control_arp_frame(struct gw *gw, struct gw_buf *b, uint32_t now)
{
	int side = b->out_side;
	size_t reply = 0;
	struct arp_msg m;

	if (arp_parse(&m, b->data, b->p.len) == ARP_OK) {
		arp_input(gw->arp[side], b->data, b->p.len, GW_FRAME, now, &reply);
		if (reply)
			raw_send(gw, side, b->data, reply);
		publish(gw, side, m.spa, now);
	} else {
		arp_input(gw->arp[side], b->data, b->p.len, GW_FRAME, now, &reply); /* counted */
	}
	flush_arp(gw, side, now);
}

static void control_resolve(struct gw *gw, struct gw_buf *b, uint32_t now)
{
	int side = b->out_side;
	uint8_t mac[6], req[ARP_FRAME_MIN + 8];
	unsigned r = arp_resolve(gw->arp[side], b->next_hop, now, b->data, b->p.len, mac);

	if (r & ARP_RESOLVED) {
		raw_send(gw, side, b->data, b->p.len);
		neigh_publish(&gw->neigh[side], b->next_hop, mac, now);
	}
	if (r & ARP_SEND_REQUEST) {
		size_t len = arp_request_for(gw->arp[side], b->next_hop, req, sizeof(req));
		if (len)
			raw_send(gw, side, req, len);
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
				if (b->is_arp)
					control_arp_frame(gw, b, now);
				else
					control_resolve(gw, b, now);
				ring_push(&gw->back[b->owner], &obj, 1); /* sized never to fill */
			}
}

/* ---- `rssnat show stats` ---- */

/* Frames the kernel dropped because a queue's receive ring was full: the
 * backend counts them, the workers never see them. */
static void print_ring_drops(struct gw *gw, unsigned q, FILE *out, bool json)
{
	struct io_queue_stats lan = {0}, wan = {0};

	gw->io->stats(gw->port[GW_LAN], q, &lan);
	gw->io->stats(gw->port[GW_WAN], q, &wan);
	fprintf(out,
		json ? "\"ring_dropped_lan\":%llu,\"ring_dropped_wan\":%llu,"
		     : " ring_dropped_lan=%llu ring_dropped_wan=%llu\n",
		(unsigned long long)lan.rx_dropped, (unsigned long long)wan.rx_dropped);
}

static void stats_text(struct gw *gw, FILE *out)
{
	for (unsigned q = 0; q < gw->n; q++) {
		const struct gw_counters *c = &gw->w[q].c;
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		fprintf(out, "queue=%u", q);
#define GW_PRINT(name, text) fprintf(out, " " #name "=%llu", (unsigned long long)c->name);
		GW_COUNTERS(GW_PRINT)
#undef GW_PRINT
		fprintf(out, " local=%llu handoff=%llu handoff_in=%llu dropped=%llu sessions=%llu",
			(unsigned long long)n->local, (unsigned long long)n->handoff,
			(unsigned long long)n->rx_handoff, (unsigned long long)n->dropped,
			(unsigned long long)n->sessions);
		print_ring_drops(gw, q, out, false);
		for (int d = 0; d < NAT_DROP_COUNT; d++)
			if (n->drop[d])
				fprintf(out, "drop queue=%u reason=%s count=%llu\n", q,
					nat_drop_name((enum nat_drop)d),
					(unsigned long long)n->drop[d]);
		for (int d = 1; d < ROUTER_DROP_COUNT; d++)
			if (gw->w[q].router.drop[d])
				fprintf(out, "drop queue=%u reason=ROUTER_%s count=%llu\n", q,
					router_drop_name((enum router_drop)d),
					(unsigned long long)gw->w[q].router.drop[d]);
	}
}

static void stats_json(struct gw *gw, FILE *out)
{
	fprintf(out, "{\"queues\":[");
	for (unsigned q = 0; q < gw->n; q++) {
		const struct gw_counters *c = &gw->w[q].c;
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		fprintf(out, "%s{\"queue\":%u", q ? "," : "", q);
#define GW_JSON(name, text) fprintf(out, ",\"" #name "\":%llu", (unsigned long long)c->name);
		GW_COUNTERS(GW_JSON)
#undef GW_JSON
		fprintf(out,
			",\"local\":%llu,\"handoff\":%llu,\"handoff_in\":%llu,\"dropped\":%llu,"
			"\"sessions\":%llu,",
			(unsigned long long)n->local, (unsigned long long)n->handoff,
			(unsigned long long)n->rx_handoff, (unsigned long long)n->dropped,
			(unsigned long long)n->sessions);
		print_ring_drops(gw, q, out, true);
		fprintf(out, "\"drops\":{");
		int first = 1;
		for (int d = 0; d < NAT_DROP_COUNT; d++)
			if (n->drop[d]) {
				fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
					nat_drop_name((enum nat_drop)d),
					(unsigned long long)n->drop[d]);
				first = 0;
			}
		fprintf(out, "}}");
	}
	fprintf(out, "]}\n");
}

static int ctl_show_stats(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	bool json = argc == 1 && !strcmp(argv[0], "--json");

	if (argc > 1 || (argc == 1 && !json))
		return ctl_fail(reply, 2, "show stats takes only --json");
	if (json)
		stats_json(ctx, reply->body);
	else
		stats_text(ctx, reply->body);
	return 0;
}

static const struct ctl_command ctl_commands[] = {
    {"show stats", ctl_show_stats},
    {0},
};

static void control_loop(struct gw *gw, int sigfd)
{
	uint32_t last_tick = now_ms();

	while (!atomic_load(&gw->stop)) {
		struct pollfd fds[2] = {{.fd = sigfd, .events = POLLIN},
					{.fd = ctl_server_fd(gw->ctl), .events = POLLIN}};
		poll(fds, 2, 2);
		uint32_t now = now_ms();
		if (fds[0].revents & POLLIN) {
			atomic_store(&gw->stop, 1);
			break;
		}
		control_punts(gw, now);
		if (fds[1].revents & POLLIN)
			ctl_server_serve(gw->ctl, ctl_commands, gw);
		if (now - last_tick >= GW_TICK_MS) {
			last_tick = now;
			flush_arp(gw, GW_LAN, now);
			flush_arp(gw, GW_WAN, now);
			nat_reclaim(gw->nat);
		}
	}
}

/* ---- set-up ---- */

void gw_config_default(struct gw_config *cfg)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->lan_addr = pkt_ipv4(192, 168, 137, 1);
	cfg->lan_mask = pkt_ipv4(255, 255, 255, 0);
	cfg->queues = cores > 0 && cores <= RSS_QUEUES_MAX ? (unsigned)cores : 1;
	cfg->backend = "afpacket";
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", CTL_DEFAULT_SOCKET);
	nat_config_default(&cfg->nat, 0);
}

static char why_buf[256];

static int fail(const char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	*why = why_buf;
	return -EINVAL;
}

static int check_iface(const char *name, const char *role, const char **why)
{
	struct ifreq ifr = {0};
	int fd, up;

	if (!if_nametoindex(name))
		return fail(why, "%s interface '%s' does not exist", role, name);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	if (fd >= 0)
		close(fd);
	if (!up)
		return fail(why, "%s interface '%s' is down (ip link set %s up)", role, name, name);
	return 0;
}

/* The kernel must not own the addresses we answer for: it would answer ARP
 * and ping for them too, and reset our TCP sessions. */
static int check_kernel_addrs(const struct gw_config *cfg, const char **why)
{
	struct ifaddrs *all, *a;
	char text[INET_ADDRSTRLEN];
	int err = 0;

	if (getifaddrs(&all))
		return 0; /* cannot tell: the run will show */
	for (a = all; a && !err; a = a->ifa_next) {
		const struct sockaddr_in *sin = (const void *)a->ifa_addr;
		if (!sin || sin->sin_family != AF_INET)
			continue;
		bool on_lan = !strcmp(a->ifa_name, cfg->lan_if);
		bool on_wan = !strcmp(a->ifa_name, cfg->wan_if);
		uint32_t ip = sin->sin_addr.s_addr;
		if ((on_lan || on_wan) && (ip == cfg->lan_addr || ip == cfg->wan_addr)) {
			inet_ntop(AF_INET, &ip, text, sizeof(text));
			err = fail(why,
				   "the kernel holds %s on %s; rssnat answers for it itself "
				   "(ip addr flush dev %s)",
				   text, a->ifa_name, a->ifa_name);
		}
	}
	freeifaddrs(all);
	return err;
}

int gw_check(const struct gw_config *cfg, const char **why)
{
	int err;

	if (!cfg->lan_if[0] || !cfg->wan_if[0])
		return fail(why, "both --lan and --wan are needed");
	if (!strcmp(cfg->lan_if, cfg->wan_if))
		return fail(why, "--lan and --wan must be different interfaces");
	if ((err = check_iface(cfg->lan_if, "LAN", why)) ||
	    (err = check_iface(cfg->wan_if, "WAN", why)))
		return err;
	if (!cfg->wan_addr)
		return fail(why, "--wan-addr is needed");
	if (!cfg->wan_gateway ||
	    (cfg->wan_gateway & cfg->wan_mask) != (cfg->wan_addr & cfg->wan_mask))
		return fail(why, "--wan-gateway must be an address on the WAN subnet");
	if ((cfg->lan_addr & cfg->lan_mask) == (cfg->wan_addr & cfg->lan_mask))
		return fail(why, "the LAN and WAN subnets overlap");
	if (cfg->queues < 1 || cfg->queues > RSS_QUEUES_MAX)
		return fail(why, "--queues must be from 1 to 64");
	if (!io_backend(cfg->backend))
		return fail(why, "backend '%s' is not built in", cfg->backend);
	return check_kernel_addrs(cfg, why);
}

/* The interface's MAC address and MTU. */
static int iface_info(const char *name, uint8_t mac[6], uint16_t *mtu)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	err = fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr);
	if (!err)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	err = err || ioctl(fd, SIOCGIFMTU, &ifr);
	if (!err)
		*mtu = ifr.ifr_mtu >= 68 && ifr.ifr_mtu <= 65535 ? (uint16_t)ifr.ifr_mtu : 1500;
	if (fd >= 0)
		close(fd);
	return err ? -errno : 0;
}

static int open_raw(struct gw *gw, int side)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = gw->ifindex[side]};

	gw->raw[side] = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* send only */
	if (gw->raw[side] < 0 || bind(gw->raw[side], (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

static int make_arp(struct gw *gw, int side, const char **why)
{
	struct arp_config ac;

	arp_config_default(&ac);
	ac.seed = (uint64_t)now_ms() * 2654435761u + (unsigned)side;
	ac.n_addrs = 1;
	ac.addrs[0].ip = side == GW_LAN ? gw->cfg.lan_addr : gw->cfg.wan_addr;
	memcpy(ac.addrs[0].mac, gw->mac[side], 6);
	ac.addrs[0].prefix_len =
	    (uint8_t)__builtin_popcount(side == GW_LAN ? gw->cfg.lan_mask : gw->cfg.wan_mask);
	return arp_create(&ac, &gw->arp[side], why);
}

static struct ring *make_rings(struct gw *gw, size_t count, size_t *used)
{
	struct ring *r = calloc(count, sizeof(*r));

	for (size_t i = 0; r && i < count; i++, (*used)++)
		ring_init(&r[i], gw->slots + *used * GW_RING, GW_RING);
	return r;
}

static int alloc_workers(struct gw *gw)
{
	size_t rings = 2 * (size_t)gw->n * gw->n + 2 * gw->n, used = 0;

	gw->slots = malloc(rings * GW_RING * sizeof(void *));
	gw->w = calloc(gw->n, sizeof(*gw->w));
	if (!gw->slots || !gw->w)
		return -ENOMEM;
	gw->handoff = make_rings(gw, (size_t)gw->n * gw->n, &used);
	gw->ret = make_rings(gw, (size_t)gw->n * gw->n, &used);
	gw->punt = make_rings(gw, gw->n, &used);
	gw->back = make_rings(gw, gw->n, &used);
	if (!gw->handoff || !gw->ret || !gw->punt || !gw->back)
		return -ENOMEM;
	for (unsigned q = 0; q < gw->n; q++) {
		struct gw_worker *w = &gw->w[q];
		w->gw = gw;
		w->q = q;
		w->nat = nat_worker(gw->nat, q);
		w->pool = calloc(GW_POOL, sizeof(*w->pool));
		w->free = malloc(GW_POOL * sizeof(*w->free));
		if (!w->pool || !w->free)
			return -ENOMEM;
		for (unsigned i = 0; i < GW_POOL; i++) {
			w->pool[i].owner = (uint16_t)q;
			w->free[w->n_free++] = &w->pool[i];
		}
	}
	return 0;
}

static void free_workers(struct gw *gw)
{
	for (unsigned q = 0; gw->w && q < gw->n; q++) {
		free(gw->w[q].pool);
		free(gw->w[q].free);
	}
	free(gw->w);
	free(gw->handoff);
	free(gw->ret);
	free(gw->punt);
	free(gw->back);
	free(gw->slots);
}

static int open_ports(struct gw *gw, const char **why)
{
	const char *names[2] = {gw->cfg.lan_if, gw->cfg.wan_if};
	int err;

	for (int side = 0; side < 2; side++) {
		/* Deep rings: a worker that shares its core with other work must not
		 * lose a burst while it is off the CPU (TCP pays with a
		 * retransmission for every frame the kernel drops here). */
		struct io_params prm = {.ifname = names[side],
					.queues = gw->n,
					.side = (unsigned)side,
					.snap = gw->snap,
					.ring_frames = GW_RING_FRAMES};
		gw->ifindex[side] = (int)if_nametoindex(names[side]);
		if ((err = gw->io->open(&prm, &gw->port[side], why)))
			return err;
		if ((err = iface_info(names[side], gw->mac[side], &gw->mtu[side])) ||
		    (err = open_raw(gw, side))) {
			*why = "cannot read the interface's MAC and MTU or open a raw socket on it";
			return err;
		}
		if ((err = make_arp(gw, side, why)))
			return err;
	}
	return 0;
}

static int build(struct gw *gw, const char **why)
{
	struct rss_config rc;
	struct nat_config nc = gw->cfg.nat;
	int err;

	gw->io = io_backend(gw->cfg.backend);
	gw->n = gw->cfg.queues;
	rss_config_default(&rc, gw->n);
	if ((err = rss_snapshot_create(&rc, 1, &gw->snap, why)))
		return err;
	nc.wan_addr = gw->cfg.wan_addr;
	nc.lan_addr = gw->cfg.lan_addr;
	nc.lan_mask = gw->cfg.lan_mask;
	nc.lan_net = gw->cfg.lan_addr & gw->cfg.lan_mask;
	if ((err = nat_create(&nc, gw->snap, gw->n, &gw->nat, why)))
		return err;
	if ((err = open_ports(gw, why)))
		return err;
	if ((err = alloc_workers(gw))) {
		*why = "out of memory";
		return err;
	}
	return ctl_server_open(gw->cfg.socket_path, &gw->ctl, why);
}

static void teardown(struct gw *gw)
{
	ctl_server_close(gw->ctl);
	free_workers(gw);
	for (int side = 0; side < 2; side++) {
		if (gw->port[side])
			gw->io->close(gw->port[side]);
		if (gw->raw[side] > 0)
			close(gw->raw[side]);
		arp_destroy(gw->arp[side]);
	}
	nat_destroy(gw->nat);
	rss_snapshot_destroy(gw->snap);
}

int gw_run(const struct gw_config *cfg, const char **why)
{
	struct gw *gw = calloc(1, sizeof(*gw));
	sigset_t sigs;
	int err, sigfd = -1;
	unsigned started = 0;

	if (!gw) {
		*why = "out of memory";
		return -ENOMEM;
	}
	gw->cfg = *cfg;
	gw->raw[0] = gw->raw[1] = -1;
	/* Signals go to the control thread's signalfd, not to a worker. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	err = build(gw, why);
	if (!err && (sigfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		err = -errno;
		*why = "signalfd failed";
	}
	for (; !err && started < gw->n; started++)
		if (pthread_create(&gw->w[started].thread, NULL, worker_main, &gw->w[started])) {
			err = -EAGAIN;
			*why = "cannot start a worker thread";
			break;
		}
	if (!err) {
		fprintf(stderr,
			"rssnat: forwarding %s <-> %s with %u queues (%s); control socket %s\n",
			cfg->lan_if, cfg->wan_if, gw->n, cfg->backend, cfg->socket_path);
		control_loop(gw, sigfd);
		fprintf(stderr, "rssnat: stopping\n");
	}
	atomic_store(&gw->stop, 1);
	for (unsigned q = 0; q < started; q++)
		pthread_join(gw->w[q].thread, NULL);
	if (sigfd >= 0)
		close(sigfd);
	teardown(gw);
	free(gw);
	return err;
}
