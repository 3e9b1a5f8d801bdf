/* gw_internal.h - shared between the files of the gateway only: the
 * worker (worker.c), the control thread (control.c), its commands
 * (commands.c) and the set-up (gw.c). */
#ifndef RSSNAT_GW_INTERNAL_H
#define RSSNAT_GW_INTERNAL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../core/ratelimit.h"
#include "../core/ring.h"
#include "../ctl/ctl.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"
#include "../router/router.h"
#include "gw.h"
#include "neigh.h"

struct io_ops;
struct io_port;
struct rss_snapshot;
struct arp_cache;
struct ctl_server;
struct ctl_command;
struct pollfd;
struct dhcp_server;
struct dns_proxy;
struct portmap;
struct pm_server;
struct igd;

enum {
	GW_BURST = 32,
	GW_POOL = 4096, /* frames per worker */
	GW_FRAME = 2048,
	GW_RING = 4096,		/* >= GW_POOL: a buffer-return ring can never be full */
	GW_IDLE_MS = 1,		/* a worker with nothing to do sleeps in poll() this long:
				 * handed-off frames arrive on rings poll() cannot see */
	GW_BUSY_MS = 1,		/* work this recently: the worker naps instead */
	GW_NAP_US = 50,		/* a busy worker's nap when a round found nothing */
	GW_TX_MAX = 128,	/* frames gathered per side before one send call */
	GW_RING_FRAMES = 16384, /* receive ring per queue: 32 MiB of 2 KiB frames */
	/* CoDel on the receive rings (RFC 8289): a deep ring absorbs a burst,
	 * but what stays longer than the target for an interval is dropped.
	 * The interval is this many targets (the RFC: a target of 5 to 10% of
	 * the interval). */
	GW_CODEL_INTERVAL_TARGETS = 20,
	/* The workers' nice value. The kernel forwards in softirq, ahead of
	 * every process; a worker at nice 0 waits behind the processes it
	 * shares a CPU with, for a scheduler slice at a time, with its frames
	 * in the rings: under iperf3 -P 4 on 2 cores that was 7 ms of round
	 * trip (0.5 ms at nice -15), which no CoDel in the rings can remove.
	 * A weight, not a real-time policy: ahead of ordinary processes,
	 * never starving them. */
	GW_WORKER_NICE = -10,
	GW_TICK_MS = 100,
	GW_LAN = PKT_SIDE_LAN,
	GW_WAN = PKT_SIDE_WAN,
	GW_CTL_POOL = 512,     /* frames the control thread injects (host.c) */
	GW_OWNER_CTL = 0xffff, /* gw_buf.owner of the control thread's frames */
	GW_HOST_BURST = 64,    /* packets read from the host interface per round */
	/* descriptors the control thread polls: its signals, the control
	 * socket's (ctl.h CTL_POLL_MAX), the host interface, the DNS proxy's */
	GW_CTL_POLL_MAX = 320 + CTL_POLL_MAX,
};

/* A ring that returns buffers to their pool holds at most the whole pool. */
_Static_assert(GW_RING >= GW_POOL, "buffer-return rings must never fill");
_Static_assert(GW_RING >= GW_CTL_POOL, "buffer-return rings must never fill");

/* Counters of the glue itself, per worker (the NAT's are in struct nat_counters). */
#define GW_COUNTERS(X)                                                                             \
	X(rx_lan, "frames received on the LAN")                                                    \
	X(rx_wan, "frames received on the WAN")                                                    \
	X(tx_lan, "frames sent to the LAN")                                                        \
	X(tx_wan, "frames sent to the WAN")                                                        \
	X(tx_failed, "frames the backend did not take")                                            \
	X(punted_arp, "ARP frames passed to the control thread")                                   \
	X(punted_neigh, "frames passed to the control thread to resolve their next hop")           \
	X(neigh_stale, "frames sent to a next hop whose confirmation is late (neigh.h STALE)")     \
	X(punt_ring_full, "frames dropped: control thread's ring full")                            \
	X(handoff_ring_full, "frames dropped: owner's handoff ring full")                          \
	X(pings_answered, "pings to the gateway answered")                                         \
	X(router_replied, "ICMP errors sent by the router rules (TTL, MTU)")                       \
	X(router_dropped, "frames dropped by the router rules")                                    \
	X(host_unhandled, "frames for the gateway that nothing here serves")                       \
	X(punted_host, "frames for the gateway's services passed to the control thread")           \
	X(no_buffer, "receive bursts cut short: no free frame buffer")

struct gw_counters {
#define GW_COUNTER_FIELD(name, text) uint64_t name;
	GW_COUNTERS(GW_COUNTER_FIELD)
#undef GW_COUNTER_FIELD
};

/* Why a frame went to the control thread. */
enum gw_punt {
	GW_PUNT_RESOLVE, /* its next hop on out_side has no published MAC */
	GW_PUNT_ARP,	 /* an ARP frame received on out_side */
	GW_PUNT_HOST,	 /* for the gateway's own services (DHCP, DNS, the host) */
};

struct gw_buf {
	struct pkt p;
	uint16_t owner;	   /* the worker whose pool it belongs to, or GW_OWNER_CTL */
	uint8_t out_side;  /* for a punted frame: where it is going or came from */
	uint8_t punt;	   /* for a punted frame: enum gw_punt */
	uint32_t next_hop; /* for a punted frame: whom to resolve */
	uint8_t data[GW_FRAME];
};

/* Counters of the host interface and services glue (control thread only). */
#define GW_HOST_COUNTERS(X)                                                                        \
	X(to_host, "packets written to the host interface")                                        \
	X(to_host_failed, "packets the host interface did not take")                               \
	X(from_host, "packets read from the host interface")                                       \
	X(from_host_to_lan, "of those, sent to a LAN host")                                        \
	X(from_host_to_nat, "of those, injected into the NAT toward the WAN")                      \
	X(from_host_dropped, "of those, dropped: not IPv4, malformed, or no buffer")               \
	X(dhcp_in, "DHCP frames given to the server")                                              \
	X(dhcp_out, "frames the DHCP server sent")                                                 \
	X(ctl_send_failed, "frames the control thread could not send (raw socket full)")

struct gw_host_counters {
#define GW_HOST_FIELD(name, text) uint64_t name;
	GW_HOST_COUNTERS(GW_HOST_FIELD)
#undef GW_HOST_FIELD
};

struct gw_worker {
	struct gw *gw;
	unsigned q;
	int cpu; /* the CPU it is pinned to, or -1 */
	pthread_t thread;
	struct nat_worker *nat;
	struct gw_buf *pool;
	struct gw_buf **free;
	unsigned n_free;
	uint32_t now_ms, last_tick;
	uint32_t last_work_ms;	      /* the last round that found something to do */
	struct pkt *tx[2][GW_TX_MAX]; /* frames to send, per side, this round */
	unsigned n_tx[2];
	struct router_counters router;
	struct ratelimit icmp_limit; /* every ICMP error this worker sends (RFC 1812 4.3.2.8) */
	struct gw_counters c;
};

struct io_offload;
struct io_spread;
struct io_wan_claim;

struct uplink;

/* The WAN address, its mask and the default gateway in use now (wan.c),
 * network byte order: written by the control thread, read by the workers
 * with gw_wan_addr() and the like. */
struct gw_wan {
	_Atomic uint32_t addr, mask, gateway;
	bool ready;	       /* the gateway is built: kernel neighbours can be published */
	uint64_t kernel_neigh; /* neighbours published from the kernel's table */
};

struct gw {
	struct gw_config cfg;
	const struct io_ops *io;
	struct io_port *port[2];
	struct rss_snapshot *snap;	/* the current one (live.c) */
	struct rss_config rss_cfg;	/* what it was built from */
	struct rss_snapshot *prev_snap; /* the NAT may still be moving away from it */
	const char *table_origin;	/* of an explicit table: read back, or rebalanced */
	/* rebalance.c (control thread) */
	bool rebalance;
	uint32_t rebalance_ms;
	unsigned rebalance_size, rebalances;
	uint64_t rebalance_last[RSS_TABLE_MAX];
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
	/* This process's hold on each interface, and the stack guard it
	 * attached there (io_claim_take(), io_claim_guard()). */
	struct io_claim *claim[2];
	struct io_offload *offload;  /* the kernel fast path (offload.c); NULL: none */
	struct io_spread *spread[2]; /* the fast path over the workers' CPUs; NULL: not */
	/* Shared uplink mode: whose WAN frames are (wan_owner.c); NULL in
	 * dedicated mode, where every frame is rssnat's. */
	struct io_wan_claim *wan_claim;
	int arp_tap; /* shared mode on afxdp: the WAN's ARP as the kernel gets it; -1: none */
	/* Ports of deleted port mappings whose connections still run: given
	 * back to the host once the NAT lets them go (wan_owner.c). */
	struct gw_port_ref {
		uint8_t proto;
		uint16_t port;
	} unmap_pending[NAT_PORT_MAPS_MAX];
	unsigned n_unmap_pending;
	uint16_t mtu[2];
	uint8_t mac[2][6];
	struct ctl_server *ctl;
	/* the control thread's frames, injected into the NAT (host.c) */
	struct ring *inject;  /* [worker]: control thread -> worker */
	struct ring *ctl_ret; /* [worker]: those frames going back */
	struct gw_buf *ctl_pool;
	struct gw_buf **ctl_free;
	unsigned n_ctl_free;
	/* the LAN services (host.c) */
	int tun;
	struct dhcp_server *dhcp;
	struct dns_proxy *dns;
	unsigned n_dns_fds;	  /* the DNS proxy's share of the last poll set */
	struct portmap *portmap;  /* port control's mappings (portctl.c); NULL: none */
	struct pm_server *pm_srv; /* NAT-PMP and PCP; NULL: off */
	struct igd *igd;	  /* UPnP IGD (upnp.c); NULL: off */
	unsigned n_pm_fds;	  /* pm_srv's in the last gw_portctl_pollfds() */
	struct gw_host_counters host;
	/* the uplink (wan.c): shared mode follows the kernel's through @uplink */
	struct gw_wan wan;
	struct uplink *uplink;
	_Atomic int stop;
};

static inline uint64_t gw_clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The data path's clock: monotonic milliseconds, wrapping (compared by
 * unsigned difference). */
static inline uint32_t gw_now_ms(void)
{
	return (uint32_t)gw_clock_ms(CLOCK_MONOTONIC);
}

/* The WAN address (0: none, shared mode only), its mask and the default
 * gateway now: any thread (wan.c). */
static inline uint32_t gw_wan_addr(const struct gw *gw)
{
	return atomic_load_explicit(&gw->wan.addr, memory_order_relaxed);
}

static inline uint32_t gw_wan_mask(const struct gw *gw)
{
	return atomic_load_explicit(&gw->wan.mask, memory_order_relaxed);
}

static inline uint32_t gw_wan_gateway(const struct gw *gw)
{
	return atomic_load_explicit(&gw->wan.gateway, memory_order_relaxed);
}

/* gw_wan_next_hop() - whom a frame to @dst goes to on the WAN: @dst on
 * the WAN subnet, else the default gateway. */
static inline uint32_t gw_wan_next_hop(const struct gw *gw, uint32_t dst)
{
	uint32_t mask = gw_wan_mask(gw);

	return mask && (dst & mask) == (gw_wan_addr(gw) & mask) ? dst : gw_wan_gateway(gw);
}

/* gw_in_lan() - @addr (network order) is on the LAN subnet. */
static inline bool gw_in_lan(const struct gw *gw, uint32_t addr)
{
	return (addr & gw->cfg.lan_mask) == (gw->cfg.lan_addr & gw->cfg.lan_mask);
}

/* wan_owner.c: shared uplink mode, which WAN frames are rssnat's (the rest
 * are the host's). gw_wan_owner_check() - first of all: the NAT's port
 * range apart from the kernel's (a configured overlap refused with one
 * line), port mappings checked against the host's listening sockets.
 * gw_wan_owner_open() - before the NAT and the programs: their maps
 * created and filled. Nothing in dedicated mode. 0 or -errno with *why. */
int gw_wan_owner_check(struct gw *gw, const char **why);
int gw_wan_owner_open(struct gw *gw, const char **why);
void gw_wan_owner_close(struct gw *gw);
/* gw_wan_owner_check_mapping() - shared mode: -EADDRINUSE with *why if a
 * host socket listens on the port mapping's external port. */
int gw_wan_owner_check_mapping(const struct gw *gw, const struct nat_static_map *sm,
			       const char **why);
/* gw_wan_owner_port_is_hosts() - shared mode: is @port the host's, for a
 * dynamic port mapping to keep clear of (a host socket listens on it, or
 * it is in the kernel's ephemeral range)? false in dedicated mode. */
bool gw_wan_owner_port_is_hosts(const struct gw *gw, uint8_t proto, uint16_t port);
/* gw_proc_net_line_listens() - one line of /proc/net/{tcp,udp}{,6} (@v6:
 * the 6 files): a socket in @state on @port that may take the WAN's frames
 * (bound to neither loopback nor the LAN address @lan, network order)? */
bool gw_proc_net_line_listens(const char *line, bool v6, uint16_t port, unsigned state,
			      uint32_t lan);
/* gw_wan_owner_mapped() - a port mapping's external port, added or gone:
 * its frames are rssnat's, or no longer. gw_wan_owner_addr() - the
 * kernel's WAN address changed (0: none). Control thread; never block. */
void gw_wan_owner_mapped(struct gw *gw, uint8_t proto, uint16_t port, bool mapped);
void gw_wan_owner_addr(struct gw *gw, uint32_t addr);
/* gw_wan_owner_unmapped() - a port mapping deleted: its port the host's
 * again once the NAT no longer holds it. */
void gw_wan_owner_unmapped(struct gw *gw, uint8_t proto, uint16_t port);
/* gw_wan_owner_tick() - the control thread's tick: ports of deleted port
 * mappings the NAT has let go of are the host's again. */
void gw_wan_owner_tick(struct gw *gw);
/* gw_wan_owner_is_host() - would the programs leave the WAN frame @p
 * describes to the host? (explain) */
bool gw_wan_owner_is_host(const struct gw *gw, const struct pkt *p);
void gw_wan_owner_stats(const struct gw *gw, FILE *out, bool json);
/* gw_wan_owner_global() - show global's NAT port range line (JSON: field). */
void gw_wan_owner_global(const struct gw *gw, FILE *out, bool json);
/* gw_wan_owner_arp_tap() - shared mode on afxdp: the WAN's ARP frames read
 * so far (the XDP program passes ARP to the kernel, which answers for its
 * address; rssnat learns the neighbours' MACs from a copy). Control thread;
 * never blocks. */
void gw_wan_owner_arp_tap(struct gw *gw, uint32_t now);

/* control.c: an ARP frame received on @side (@frame holds GW_FRAME bytes:
 * a reply is written in place and sent). */
void gw_control_arp(struct gw *gw, int side, uint8_t *frame, size_t len, uint32_t now);

/* gw.c */
/* gw_wan_guard_attach() - set-up: what keeps the kernel's stack off the
 * WAN frames that are rssnat's: in dedicated mode all of them; in shared
 * mode those claim_decide.h says are rssnat's (issue 11), the rest pass to
 * the host. 0, or -errno with *why. */
int gw_wan_guard_attach(struct gw *gw, const char **why);

/* worker.c */
void *gw_worker_main(void *arg);

/* wan.c: the uplink's address and gateway (gw.h "Uplink modes").
 * gw_wan_open() - set-up, before the NAT: the configured ones, or the
 * kernel's (read over rtnetlink); 0 or -errno with *why. gw_wan_ready() -
 * everything is built: the kernel's neighbours may be published. The
 * rest: control thread. gw_wan_run() follows the kernel's changes (after
 * poll() on gw_wan_pollfds()'s descriptors). */
int gw_wan_open(struct gw *gw, const char **why);
void gw_wan_ready(struct gw *gw);
void gw_wan_close(struct gw *gw);
unsigned gw_wan_pollfds(struct gw *gw, struct pollfd *fds, unsigned max);
void gw_wan_run(struct gw *gw, const struct pollfd *fds, unsigned n);
/* `show global` lines (or JSON members, each led by a comma) and the
 * `show stats` uplink line (or "uplink" object). */
void gw_wan_global(struct gw *gw, FILE *out, bool json);
void gw_wan_stats(struct gw *gw, FILE *out, bool json);

/* control.c */
void gw_control_loop(struct gw *gw, int sigfd);
/* gw_raw_send() - a whole frame out of @side, from the control thread. */
void gw_raw_send(struct gw *gw, int side, const uint8_t *frame, size_t len);
/* gw_send_resolved() - control thread: send @frame (Ethernet, destination
 * MAC to be filled) to next hop @hop on @side, resolving it with ARP (the
 * frame may wait for the answer). @frame NULL: only resolve (and publish). */
void gw_send_resolved(struct gw *gw, int side, uint32_t hop, uint8_t *frame, size_t len,
		      uint32_t now);

/* live.c: the RSS settings, changed while running */
int gw_live_init(struct gw *gw, const char **why);
void gw_live_free(struct gw *gw);
/* gw_rss_commit() - control thread: switch to @next (checked, then
 * committed: NAT first, then the backends' steering). 0, or -errno with
 * *why and nothing changed. @note gets a line if a backend could not steer
 * by it (the change still holds: handoff covers). */
int gw_rss_commit(struct gw *gw, const struct rss_config *next, char *note, size_t note_size,
		  const char **why);

/* rebalance.c: `set rss rebalance=on` */
bool gw_rebalance_possible(const struct gw *gw);
/* gw_rebalance_tick() - control thread, often: every GW_REBALANCE_MS, move
 * buckets from busy queues to idle ones by measured load (when on). */
void gw_rebalance_tick(struct gw *gw, uint32_t now);

/* gw_reload() - control thread, on SIGHUP: read the settings again, check
 * them whole, then apply what can change live (RSS, NAT timeouts, port
 * mappings); log what waits for a restart. Nothing changes on an error. */
void gw_reload(struct gw *gw);

/* offload.c: the kernel fast path. gw_offload_load() - its programs and
 * maps, before the ports open (the afxdp backend's XDP program shares the
 * maps); gw_offload_open() - attached and enabled, after the ports are
 * open. On any refusal one line on stderr, and user space forwards
 * everything as before. The rest: control thread. */
void gw_offload_load(struct gw *gw);
/* gw_queue_cpu() - queue q's CPU: the q-th of @allowed, wrapping around;
 * -1 if none. Where a pinned worker runs (gw.c) and where the spread fast
 * path sends queue q's frames (offload.c): the same CPU by construction. */
int gw_queue_cpu(const cpu_set_t *allowed, unsigned q);
/* gw_offload_set_rss() - the spreading follows a new snapshot (live.c). */
void gw_offload_set_rss(struct gw *gw, const struct rss_snapshot *snap);
void gw_offload_open(struct gw *gw);
void gw_offload_close(struct gw *gw);
bool gw_offload_available(const struct gw *gw);
bool gw_offload_enabled(const struct gw *gw);
int gw_offload_set(struct gw *gw, bool on, const char **why);
/* gw_offload_neigh() - a neighbour just published to the workers. */
void gw_offload_neigh(struct gw *gw, int side, uint32_t ip, const uint8_t mac[6]);
/* gw_offload_neigh_withdraw() - a neighbour the workers must no longer use
 * (beside neigh_withdraw()): the fast path stops using it at once. */
void gw_offload_neigh_withdraw(struct gw *gw, int side, uint32_t ip);
void gw_offload_stats(struct gw *gw, FILE *out, bool json);
/* gw_offload_has() - is the frame @p describes (side, proto, addresses,
 * ports) on the fast path now? gw_offload_packets() - frames of session
 * @s the fast path forwarded, both ways. */
bool gw_offload_has(struct gw *gw, const struct pkt *p);
uint64_t gw_offload_packets(struct gw *gw, const struct nat_session_info *s);

/* host.c: the host interface and the LAN services */
int gw_host_open(struct gw *gw, const char **why);
void gw_host_close(struct gw *gw);
/* gw_host_wants() - worker: does the host take this packet for the gateway
 * (DHCP; from the LAN, anything to the LAN address and the groups the host
 * listens to; from the WAN, a reply to the host's own traffic)? */
bool gw_host_wants(const struct gw *gw, const struct pkt *p);
/* gw_host_punted() - control thread: a frame the workers passed with
 * GW_PUNT_HOST. */
void gw_host_punted(struct gw *gw, struct gw_buf *b);
/* gw_host_arp_seen() - control thread: an ARP frame's sender on @side. */
void gw_host_arp_seen(struct gw *gw, int side, uint32_t ip, const uint8_t mac[6]);
/* gw_host_pollfds() / gw_host_run() - the services' sockets in the control
 * thread's poll() set, and their work after it (timers too). */
unsigned gw_host_pollfds(struct gw *gw, struct pollfd *fds, unsigned max);
void gw_host_run(struct gw *gw, const struct pollfd *fds, unsigned n, uint32_t now);
/* portctl.c: port control (src/portctl/) in the gateway, control thread.
 * gw_portctl_open() after the TUN (host.c), gw_portctl_close() before it. */
bool gw_portctl_wants_tun(const struct gw *gw);
int gw_portctl_open(struct gw *gw, const char **why);
void gw_portctl_close(struct gw *gw);
unsigned gw_portctl_pollfds(struct gw *gw, struct pollfd *fds, unsigned max);
void gw_portctl_run(struct gw *gw, const struct pollfd *fds, unsigned n);
/* gw_portctl_wan_changed() - the WAN address changed (shared mode, issue
 * 11): NAT-PMP/PCP announce it with a new epoch. */
void gw_portctl_wan_changed(struct gw *gw, uint32_t wan_addr);
void gw_portctl_reload(struct gw *gw, const struct pm_config *next);
void gw_portctl_stats(struct gw *gw, FILE *out, bool json);
/* gw_portctl_explain() - who asked for the mapping of external
 * @proto/@port, in @buf ("" if none). */
void gw_portctl_explain(struct gw *gw, uint8_t proto, uint16_t port, char *buf, size_t size);
/* gw_portctl_is_dynamic() - external @proto/@port is port control's. */
bool gw_portctl_is_dynamic(struct gw *gw, uint8_t proto, uint16_t port);
/* upnp.c: the UPnP IGD (portctl/igd.h) beside NAT-PMP/PCP, control thread;
 * gw_upnp_open() after the mapping service, gw_upnp_close() before it. */
int gw_upnp_open(struct gw *gw, const char **why);
void gw_upnp_close(struct gw *gw);
unsigned gw_upnp_pollfds(struct gw *gw, struct pollfd *fds, unsigned max);
void gw_upnp_run(struct gw *gw, const struct pollfd *fds, unsigned n);
void gw_upnp_stats(struct gw *gw, FILE *out, bool json);

/* gw_ctl_buf_home() - control thread: one of its frames came back. */
void gw_ctl_buf_home(struct gw *gw, struct gw_buf *b);

/* commands.c: what the control socket answers (the table), and the
 * handlers kept beside what they show (ctl.h's ctl_handler) */
extern const struct ctl_command *const gw_ctl_commands;
struct ctl_reply;
int gw_ctl_show_global(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_set_global(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_show_rss(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_set_rss(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_show_dhcp(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_show_dns(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_show_sessions(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_explain(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_add_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_delete_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_show_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply);
int gw_ctl_set_nat(void *ctx, int argc, char **argv, struct ctl_reply *reply);

#endif
