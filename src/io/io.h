/* io.h - packet I/O backends behind one ops table, one file per backend.
 *
 * A port is one interface opened with N queues. Queue q is read and written
 * by worker q only. Receive copies frames into buffers the caller owns (so a
 * frame can be handed to another worker and outlive the backend's ring);
 * transmit copies them out. Which frame reaches which queue is the backend's
 * RSS: afpacket joins the queue sockets into a fanout group whose eBPF
 * program computes the same Toeplitz hash, field sets and indirection table
 * as the engine, from maps filled from the RSS snapshot (io_set_rss());
 * afxdp programs the NIC through ethtool.
 */
#ifndef RSSNAT_IO_H
#define RSSNAT_IO_H

#include <stdbool.h>
#include <stdint.h>

struct pkt;
struct rss_snapshot;
struct rss_config;
struct io_port;
struct io_offload;
struct io_wan_claim;

struct io_params {
	const char *ifname;
	unsigned queues;		 /* 1..64 */
	unsigned side;			 /* enum pkt_side: which field set to hash with */
	const struct rss_snapshot *snap; /* initial RSS; io_set_rss() changes it */
	unsigned ring_frames;		 /* per queue and direction; 0: backend default */
	/* The kernel fast path whose maps the backend's own eBPF program
	 * shares (afxdp: its XDP program passes the fast path's frames to
	 * tc); NULL: none. */
	struct io_offload *offload;
	/* Whose WAN frames are in shared uplink mode (wan_claim.h), whose maps
	 * the backend's own eBPF program shares (afxdp: it passes the host's
	 * frames to the kernel); NULL: every frame is rssnat's. */
	const struct io_wan_claim *wan_claim;
	/* CoDel (RFC 8289) on each receive ring, by the time each frame waited
	 * in it (src/core/codel.h): the ring must not become a standing queue.
	 * Target 0: off. */
	uint64_t codel_target_ns, codel_interval_ns;
};

struct io_queue_stats {
	uint64_t rx, tx;
	uint64_t rx_dropped;	  /* by the kernel: ring full (tp_drops) */
	uint64_t rx_codel;	  /* by CoDel: waited in the ring too long (RFC 8289) */
	uint64_t rx_codel_marked; /* ... and ECN-capable: marked CE instead (RFC 3168) */
	uint64_t tx_dropped;	  /* TX ring full or send error */
};

struct io_ops {
	const char *name;
	/* open() - the interface exists and is up; everything the queues will
	 * use is allocated here. 0, or a negative errno with *why. */
	int (*open)(const struct io_params *params, struct io_port **out, const char **why);
	/* rx_burst() - copy up to @max received frames of queue @q into
	 * pkts[i]->data (pkts[i]->cap bytes), set pkts[i]->len; never blocks. */
	unsigned (*rx_burst)(struct io_port *port, unsigned q, struct pkt **pkts, unsigned max);
	/* tx_burst() - send @n frames from queue @q; returns how many were
	 * accepted (the rest are the caller's counted drop). Never blocks. */
	unsigned (*tx_burst)(struct io_port *port, unsigned q, struct pkt **pkts, unsigned n);
	/* set_rss() - steer by this snapshot from now on. */
	int (*set_rss)(struct io_port *port, const struct rss_snapshot *snap, const char **why);
	/* device_rss() - where the device steers by RSS of its own that
	 * set_rss() could not program but could read back (key and table):
	 * 0 and @out filled, for the engine to follow (io_rss_from_device());
	 * -ENOENT when the device follows the engine or has no RSS to follow.
	 * NULL for backends that compute RSS themselves. */
	int (*device_rss)(struct io_port *port, struct rss_config *out);
	/* bucket_frames() - frames received per indirection-table bucket since
	 * the port opened (@n buckets into @out), for rebalancing by load;
	 * NULL where the backend cannot count them (a NIC's own RSS). */
	int (*bucket_frames)(struct io_port *port, uint64_t *out, unsigned n);
	/* set_filter() - a socket filter program (eBPF, BPF_PROG_TYPE_SOCKET_FILTER)
	 * on every queue's socket: frames it refuses never reach rx_burst()
	 * (the kernel fast path's, src/offload/offload.h). NULL where the backend's
	 * receive is not a tap. */
	int (*set_filter)(struct io_port *port, int prog_fd, const char **why);
	/* fd() - a descriptor to poll for queue @q's input. */
	int (*fd)(struct io_port *port, unsigned q);
	void (*stats)(struct io_port *port, unsigned q, struct io_queue_stats *out);
	void (*close)(struct io_port *port);
};

/* io_tc_rss_attach() - a veth has no RSS: make @ifname's egress choose the
 * transmit queue (and so the peer's receive queue) the engine computes with
 * @snap for @side over @queues queues (a tc program; stays attached after
 * the caller exits). For afxdp tests. 0 or -errno with *why. */
int io_tc_rss_attach(const char *ifname, const struct rss_snapshot *snap, unsigned side,
		     unsigned queues, const char **why);

/* io_stack_guard_attach() - drop every frame @ifname receives before the
 * kernel's IP stack sees it (tc ingress), after the backend's sockets got
 * it: rssnat owns the interface (bpf/stack_guard.bpf.c says why); with
 * @wc, only the frames that are rssnat's on the interface @wc shares
 * (shared uplink mode, wan_claim.h), the rest pass. *out
 * names the filter this call installed, and only it. 0 or -errno with *why.
 * io_stack_guard_detach() removes that filter if it still runs that
 * program (true if it did), never another process's: any tc ingress
 * filter so named (the fast path's too, offload.h). */
struct io_guard {
	int ifindex;
	uint32_t handle, priority, prog_id; /* as the kernel answered the attach */
};
int io_stack_guard_attach(const char *ifname, const struct io_wan_claim *wc, struct io_guard *out,
			  const char **why);
bool io_stack_guard_detach(const struct io_guard *g);

/* One rssnat per interface (claim.c says how and why).
 * io_claim_take() - claim @ifname for this process before anything touches
 * it: -EBUSY with *why naming the interface and the holder's PID if a live
 * process holds it; what a dead holder left attached (its stack guard) is
 * removed. io_claim_guard() - attach the stack guard, recorded in the
 * claim. io_claim_release() - remove this process's guard, then let go. */
struct io_claim;
int io_claim_take(const char *ifname, struct io_claim **out, const char **why);
int io_claim_guard(struct io_claim *c, const char **why);
/* io_claim_offload() - record the fast path's filter on the interface
 * (offload.h), removed with the claim, or by the next holder if this
 * process dies. */
void io_claim_offload(struct io_claim *c, const struct io_guard *filter);
/* io_claim_share() - the stack guard io_claim_guard() attaches decides by
 * @wc (shared uplink mode, wan_claim.h); it must outlive the claim. */
void io_claim_share(struct io_claim *c, const struct io_wan_claim *wc);
void io_claim_release(struct io_claim *c);

/* io_rss_from_device() - the engine configuration that computes what a
 * device computes: Toeplitz with @key (@key_len bytes) and the indirection
 * table @indir (@indir_size entries) over @queues queues, the field sets
 * and the rest taken from @base. Refuses (-EINVAL with *why) what the
 * engine cannot follow: a hash function other than Toeplitz (@toeplitz
 * false), a key not 40 to 52 bytes, a table size that is not a power of
 * two up to 512, or an entry naming a queue the port does not read. */
int io_rss_from_device(const struct rss_config *base, bool toeplitz, const uint8_t *key,
		       unsigned key_len, const uint32_t *indir, unsigned indir_size,
		       unsigned queues, struct rss_config *out, const char **why);

/* io_backend() - the ops of a backend by name ("afpacket"), or NULL. */
const struct io_ops *io_backend(const char *name);

#endif
