/* gw_internal.h - shared between the files of the gateway only: the
 * worker (worker.c), the control thread (control.c), its commands
 * (commands.c) and the set-up (gw.c). */
#ifndef RSSNAT_GW_INTERNAL_H
#define RSSNAT_GW_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/ring.h"
#include "../pkt/pkt.h"
#include "../svc/router.h"
#include "gw.h"
#include "neigh.h"

struct io_ops;
struct io_port;
struct rss_snapshot;
struct arp_cache;
struct ctl_server;
struct ctl_command;

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

static inline uint32_t gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* worker.c */
void *gw_worker_main(void *arg);

/* control.c */
void gw_control_loop(struct gw *gw, int sigfd);

/* commands.c: what the control socket answers */
extern const struct ctl_command *const gw_ctl_commands;

#endif
