/* afpacket.c - the afpacket backend: one TPACKET_V2 socket per queue, all in
 * one fanout group whose eBPF program computes the engine's RSS.
 *
 * Theory of operation
 * -------------------
 * open() builds the port so that steering is complete before the first frame
 * is accepted (first everything that can fail, then the commit):
 *   1. per queue q: an AF_PACKET SOCK_RAW socket with a classic "drop all"
 *      filter, TPACKET_V2, its RX ring mmap'ed, PACKET_QDISC_BYPASS,
 *      PACKET_IGNORE_OUTGOING, bound to the interface for ETH_P_ALL;
 *   2. promiscuous mode (the gateway answers for addresses the kernel does
 *      not own), the eBPF program loaded, its maps filled from the snapshot;
 *   3. the sockets join the fanout group in queue order - the kernel
 *      delivers a frame to member (program's return value % members) and
 *      members are numbered in join order, so the return value is the queue.
 *      Queue 0 creates the group with PACKET_FANOUT_FLAG_UNIQUEID, so the
 *      kernel picks an id no other group in the namespace has (an id made up
 *      from pid and ifindex could collide and silently join someone else's
 *      group); the others join by that id;
 *   4. the program is attached to the group (PACKET_FANOUT_DATA), then the
 *      drop-all filters are removed.
 *
 * Receive: the ring is a circle of AFP_FRAME_SIZE slots; the kernel hands
 * each frame over on its own (TP_STATUS_USER) and wakes poll() for it.
 * rx_burst() copies frames out in ring order and gives each slot back at
 * once. TPACKET_V2, not V3: V3 hands over whole blocks, when full or when
 * its retire timer (1 ms at least) fires, so a frame of a quiet flow waited
 * up to that long in each direction (an idle ping through the gateway took
 * 1.9 ms instead of about 0.5); V3's batching saved little here, where
 * every frame is copied out anyway. A frame longer than a slot holds
 * arrives cut short and is dropped and counted (MTU up to about 1900).
 * A VLAN tag the device stripped into metadata is put back into the copy,
 * so the caller sees the frame as it was on the wire.
 *
 * The ring is deep (a worker that shares its core must not lose a burst),
 * so it must not become a standing queue: rx_burst() applies CoDel (RFC
 * 8289, src/core/codel.h) to each frame it takes, by the time the frame
 * waited, from the slot's timestamp (tp_sec, tp_nsec) to the burst's clock.
 * The kernel stamps a slot with the skb's timestamp if it has one, else
 * with the time it fills the slot, in CLOCK_REALTIME; but a TCP segment
 * from a local sender keeps its departure time in CLOCK_MONOTONIC (EDT,
 * skb->tstamp, kept across veth and namespaces), and the slot does not say
 * which. A stamp no later than the monotonic clock plus a second is taken
 * as monotonic (the realtime clock is decades ahead of it), else as
 * realtime. A frame CoDel would drop is forwarded marked CE instead if it is
 * ECN-capable IPv4 (RFC 3168 section 5; counted rx_codel_marked), else
 * dropped uncopied (rx_codel).
 *
 * Transmit: sendmmsg() on the queue's own socket, MSG_DONTWAIT, with the
 * qdisc bypassed. The contract copies frames out anyway, and one sendmmsg()
 * per burst costs what a TX ring's send() kick costs, without a second
 * ring's status bookkeeping. The kernel never shows a fanout group the
 * frames its own members send; PACKET_FANOUT_FLAG_IGNORE_OUTGOING (Linux
 * 6.2) keeps out what other local senders transmit - the socket option
 * PACKET_IGNORE_OUTGOING is set too, but it only acts on a socket outside
 * a group.
 *
 * Counters have one writer each (the queue's worker, or stats() for the
 * kernel's drops), read with relaxed atomics from the control thread.
 */
#include "io.h"
#include "io_internal.h"
#include "rss_maps.h"

#include "../core/codel.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000 /* Linux 6.2; older uapi headers lack it */
#endif

enum {
	AFP_BLOCK_SIZE = 1 << 16, /* 64 KiB: a multiple of the page size and a slot */
	AFP_FRAME_SIZE = 2048,	  /* a ring slot: header, padding and frame */
	AFP_SLOTS_PER_BLOCK = AFP_BLOCK_SIZE / AFP_FRAME_SIZE,
	AFP_RING_FRAMES_DEFAULT = 2048, /* 4 MiB of ring per queue */
	AFP_RING_FRAMES_MIN = 64,
	AFP_RING_FRAMES_MAX = 1 << 16,	/* 128 MiB per queue */
	AFP_TX_BATCH = 64,		/* frames per sendmmsg() */
	AFP_VERIFIER_LOG = 1 << 16,	/* the log keeps its tail, where the error is */
	AFP_MAC_PAIR = 2 * PKT_MAC_LEN, /* destination and source address */
	AFP_GROUP_ID_MASK = 0xffff,	/* PACKET_FANOUT's id bits */
	AFP_FANOUT_FLAGS_SHIFT = 16,	/* type and flags above the id */
	AFP_NO_FD = -1,
	AFP_STAMP_AHEAD_NS = 1000000000, /* a monotonic stamp is at most this ahead */
};

struct afp_queue {
	int fd;
	uint8_t *ring; /* frame_nr slots of AFP_FRAME_SIZE bytes */
	size_t ring_len;
	unsigned frame_nr;
	unsigned head;	      /* the slot of the next frame to read */
	struct mmsghdr *msgs; /* AFP_TX_BATCH of each, for sendmmsg() */
	struct iovec *iov;
	struct codel codel;				  /* the worker's */
	_Atomic uint64_t rx, tx, rx_oversize, tx_dropped; /* the worker writes */
	_Atomic uint64_t rx_codel, rx_codel_marked;	  /* the worker writes */
	_Atomic uint64_t kernel_drops;			  /* stats() writes */
};

struct afp_port {
	unsigned queues;
	unsigned side; /* enum pkt_side: which field set the program hashes */
	int ifindex;
	struct bpf_object *obj;
	int prog_fd, state_fd, active_fd, frames_fd;
	unsigned active;	    /* the slot of rss_state the program reads */
	struct io_rss_state *stage; /* set_rss() builds the next state here */
	struct afp_queue q[];
};

static struct afp_port *port_of(struct io_port *io)
{
	return (struct afp_port *)(void *)io;
}

/* Close ------------------------------------------------------------------ */

static void queue_close(struct afp_queue *q)
{
	if (q->ring && q->ring != MAP_FAILED)
		munmap(q->ring, q->ring_len);
	if (q->fd != AFP_NO_FD)
		close(q->fd); /* leaves the group; the last one frees it */
	free(q->msgs);
	free(q->iov);
}

/* Undoes any prefix of open(): every field starts out "not set up". */
static void port_destroy(struct afp_port *p)
{
	for (unsigned i = 0; i < p->queues; i++)
		queue_close(&p->q[i]);
	if (p->obj)
		bpf_object__close(p->obj); /* the group keeps its own reference */
	free(p->stage);
	free(p);
}

static void afp_close(struct io_port *io)
{
	if (io)
		port_destroy(port_of(io));
}

/* Open: sockets and rings ------------------------------------------------ */

static int sockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, level, name, val, len) ? -errno : 0;
}

static int sockopt_int(int fd, int name, int val)
{
	return sockopt(fd, SOL_PACKET, name, &val, sizeof(val));
}

/* Classic BPF "ret #0": the socket accepts nothing until open() commits. */
static int drop_all(int fd)
{
	static struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog prog = {.len = 1, .filter = drop};

	return sockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* Slots for @ring_frames (0: the default), bounded, a whole number of
 * blocks. */
static unsigned ring_slots(unsigned ring_frames)
{
	unsigned frames = ring_frames ? ring_frames : AFP_RING_FRAMES_DEFAULT;

	if (frames > AFP_RING_FRAMES_MAX)
		frames = AFP_RING_FRAMES_MAX; /* a typo must not map gigabytes per queue */
	if (frames < AFP_RING_FRAMES_MIN)
		frames = AFP_RING_FRAMES_MIN;
	return (frames + AFP_SLOTS_PER_BLOCK - 1) / AFP_SLOTS_PER_BLOCK * AFP_SLOTS_PER_BLOCK;
}

static int ring_setup(struct afp_queue *q, unsigned ring_frames, const char **why)
{
	unsigned slots = ring_slots(ring_frames);
	struct tpacket_req req = {
	    .tp_block_size = AFP_BLOCK_SIZE,
	    .tp_block_nr = slots / AFP_SLOTS_PER_BLOCK,
	    .tp_frame_size = AFP_FRAME_SIZE,
	    .tp_frame_nr = slots,
	};
	int err;

	if ((err = sockopt_int(q->fd, PACKET_VERSION, TPACKET_V2))) {
		*why = "the kernel does not support TPACKET_V2";
		return err;
	}
	if ((err = sockopt(q->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))) {
		*why = "cannot set up the receive ring (PACKET_RX_RING)";
		return err;
	}
	q->frame_nr = slots;
	q->ring_len = (size_t)slots * AFP_FRAME_SIZE;
	q->ring =
	    mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, q->fd, 0);
	if (q->ring == MAP_FAILED) {
		err = -errno;
		q->ring = NULL;
		*why = "cannot map the receive ring (out of memory?)";
		return err;
	}
	return 0;
}

static int tx_setup(struct afp_queue *q, const char **why)
{
	q->msgs = calloc(AFP_TX_BATCH, sizeof(*q->msgs));
	q->iov = calloc(AFP_TX_BATCH, sizeof(*q->iov));
	if (!q->msgs || !q->iov) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (unsigned i = 0; i < AFP_TX_BATCH; i++) {
		/* No address: the socket's bound interface and protocol. */
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

static int bind_iface(int fd, int ifindex, const char **why)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_protocol = htons(ETH_P_ALL),
	    .sll_ifindex = ifindex,
	};

	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		*why = "cannot bind to the interface";
		return -errno;
	}
	return 0;
}

static int queue_open(struct afp_queue *q, int ifindex, unsigned ring_frames, const char **why)
{
	int err;

	/* Protocol 0: receive nothing until bound to the one interface. */
	q->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q->fd < 0) {
		err = -errno;
		q->fd = AFP_NO_FD;
		*why = err == -EPERM || err == -EACCES
			   ? "AF_PACKET sockets need CAP_NET_RAW (run as root)"
			   : "cannot create an AF_PACKET socket";
		return err;
	}
	if ((err = drop_all(q->fd))) {
		*why = "cannot attach the start-up filter";
		return err;
	}
	if ((err = ring_setup(q, ring_frames, why)) || (err = tx_setup(q, why)))
		return err;
	if ((err = sockopt_int(q->fd, PACKET_QDISC_BYPASS, 1)) ||
	    (err = sockopt_int(q->fd, PACKET_IGNORE_OUTGOING, 1))) {
		*why = "cannot set PACKET_QDISC_BYPASS or PACKET_IGNORE_OUTGOING";
		return err;
	}
	return bind_iface(q->fd, ifindex, why);
}

/* Open: the eBPF program -------------------------------------------------- */

static bool log_line_is_summary(const char *line, size_t len)
{
	static const char *const summaries[] = {"processed ", "verification time", "stack depth"};

	for (size_t i = 0; i < sizeof(summaries) / sizeof(summaries[0]); i++)
		if (len >= strlen(summaries[i]) &&
		    !strncmp(line, summaries[i], strlen(summaries[i])))
			return true;
	return len == 0;
}

/* The verifier states its objection last, before its statistics. */
static const char *verifier_error(const char *log)
{
	const char *best = NULL, *line = log;
	size_t best_len = 0;

	while (*line) {
		size_t len = strcspn(line, "\n");
		if (!log_line_is_summary(line, len)) {
			best = line;
			best_len = len;
		}
		line += len + (line[len] == '\n');
	}
	if (!best)
		return io_why_fmt("eBPF fanout program rejected (no verifier log)");
	return io_why_fmt("eBPF fanout program rejected by the verifier: %.*s", (int)best_len,
			  best);
}

static int bpf_find_maps(struct afp_port *p, const char **why)
{
	struct bpf_map *state = bpf_object__find_map_by_name(p->obj, "rss_state");
	struct bpf_map *active = bpf_object__find_map_by_name(p->obj, "rss_active");
	struct bpf_map *frames = bpf_object__find_map_by_name(p->obj, "rss_bucket_frames");

	if (!state || !active || !frames) {
		*why = "eBPF fanout object lacks its maps (rss_state, rss_active, "
		       "rss_bucket_frames)";
		return -ENOENT;
	}
	p->state_fd = bpf_map__fd(state);
	p->active_fd = bpf_map__fd(active);
	p->frames_fd = bpf_map__fd(frames);
	return 0;
}

static int bpf_load(struct afp_port *p, const char **why)
{
	struct bpf_object_open_opts opts;
	struct bpf_program *prog;
	char *log;
	int err;

	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "rss_fanout");
	p->obj = bpf_object__open_mem(io_rss_fanout_bpf, io_rss_fanout_bpf_len, &opts);
	if (!p->obj) {
		*why = "the embedded eBPF fanout object is unreadable";
		return -errno ? -errno : -EINVAL;
	}
	prog = bpf_object__find_program_by_name(p->obj, "rss_fanout");
	log = calloc(1, AFP_VERIFIER_LOG);
	if (!prog || !log) {
		free(log);
		*why = prog ? "out of memory" : "eBPF fanout object lacks rss_fanout()";
		return prog ? -ENOMEM : -ENOENT;
	}
	/* Log level 0 with a buffer: libbpf reloads with a log only on failure. */
	bpf_program__set_log_buf(prog, log, AFP_VERIFIER_LOG);
	if (bpf_object__load(p->obj)) {
		err = -errno;
		*why = err == -EPERM ? "loading eBPF needs CAP_BPF and CAP_NET_ADMIN (run as root)"
				     : verifier_error(log);
		free(log);
		return err ? err : -EINVAL;
	}
	free(log);
	p->prog_fd = bpf_program__fd(prog);
	return bpf_find_maps(p, why);
}

/* Steering ----------------------------------------------------------------- */

/* Fill the idle slot, then flip: the program reads one whole state. */
static int afp_set_rss(struct io_port *io, const struct rss_snapshot *snap, const char **why)
{
	struct afp_port *p = port_of(io);

	return io_rss_maps_flip(p->state_fd, p->active_fd, &p->active, p->stage, snap, p->side,
				p->queues, why);
}

/* Frames the fanout program counted per bucket since it was loaded, all
 * CPUs summed. */
static int afp_bucket_frames(struct io_port *io, uint64_t *out, unsigned n)
{
	struct afp_port *p = port_of(io);
	int cpus = libbpf_num_possible_cpus();
	uint64_t per_cpu[IO_CPUS_MAX];

	if (cpus <= 0 || cpus > IO_CPUS_MAX || p->frames_fd == AFP_NO_FD)
		return -ENOTSUP;
	for (__u32 b = 0; b < n && b < IO_RSS_TABLE_MAX; b++) {
		out[b] = 0;
		if (bpf_map_lookup_elem(p->frames_fd, &b, per_cpu))
			return -errno;
		for (int c = 0; c < cpus; c++)
			out[b] += per_cpu[c];
	}
	return 0;
}

/* Steps 3 and 4 of the theory of operation. */
static int fanout_commit(struct afp_port *p, const char **why)
{
	int type = PACKET_FANOUT_EBPF | PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	int arg = (type | PACKET_FANOUT_FLAG_UNIQUEID) << AFP_FANOUT_FLAGS_SHIFT, err;
	socklen_t len = sizeof(arg);

	if ((err = sockopt(p->q[0].fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg))) ||
	    getsockopt(p->q[0].fd, SOL_PACKET, PACKET_FANOUT, &arg, &len)) {
		*why = err == -EINVAL
			   ? "the kernel lacks eBPF fanout with ignore-outgoing (Linux 6.2)"
			   : "cannot create the fanout group";
		return err ? err : -errno;
	}
	arg = (arg & AFP_GROUP_ID_MASK) | type << AFP_FANOUT_FLAGS_SHIFT;
	for (unsigned i = 1; i < p->queues; i++)
		if ((err = sockopt(p->q[i].fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)))) {
			*why = "cannot join the fanout group";
			return err;
		}
	if ((err = sockopt(p->q[0].fd, SOL_PACKET, PACKET_FANOUT_DATA, &p->prog_fd,
			   sizeof(p->prog_fd)))) {
		*why = "cannot attach the eBPF program to the fanout group";
		return err;
	}
	int unused = 0; /* SOL_SOCKET options take at least an int */
	for (unsigned i = 0; i < p->queues; i++)
		if ((err = sockopt(p->q[i].fd, SOL_SOCKET, SO_DETACH_FILTER, &unused,
				   sizeof(unused)))) {
			*why = "cannot remove the start-up filter";
			return err;
		}
	return 0;
}

static struct afp_port *port_alloc(const struct io_params *params, int ifindex)
{
	struct afp_port *p = calloc(1, sizeof(*p) + params->queues * sizeof(p->q[0]));

	if (!p)
		return NULL;
	p->queues = params->queues;
	p->side = params->side;
	p->ifindex = ifindex;
	p->prog_fd = p->state_fd = p->active_fd = p->frames_fd = AFP_NO_FD;
	p->active = 1; /* the first set_rss() fills slot 0 */
	for (unsigned i = 0; i < p->queues; i++)
		p->q[i].fd = AFP_NO_FD;
	p->stage = malloc(sizeof(*p->stage));
	if (!p->stage) {
		free(p);
		return NULL;
	}
	return p;
}

static int afp_open(const struct io_params *params, struct io_port **out, const char **why)
{
	struct afp_port *p;
	int ifindex = 0, err;

	if ((err = io_check_params(params, &ifindex, why)))
		return err;
	if (!(p = port_alloc(params, ifindex))) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (unsigned i = 0; i < p->queues; i++) {
		if ((err = queue_open(&p->q[i], ifindex, params->ring_frames, why)))
			goto fail;
		codel_init(&p->q[i].codel, params->codel_target_ns, params->codel_interval_ns);
	}
	if ((err = io_iface_check_up(p->q[0].fd, params->ifname, why)) ||
	    (err = io_promisc_on(p->q[0].fd, ifindex, why)) || (err = bpf_load(p, why)) ||
	    (err = afp_set_rss((struct io_port *)(void *)p, params->snap, why)) ||
	    (err = fanout_commit(p, why)))
		goto fail;
	*out = (struct io_port *)(void *)p;
	return 0;
fail:
	port_destroy(p);
	return err;
}

/* Receive ------------------------------------------------------------------ */

static struct tpacket2_hdr *slot_at(const struct afp_queue *q, unsigned i)
{
	return (struct tpacket2_hdr *)(void *)(q->ring + (size_t)i * AFP_FRAME_SIZE);
}

/* Copy one frame out, with a metadata VLAN tag put back in; false if it
 * does not fit the buffer, was cut short, or the kernel's offsets leave
 * the slot. */
static bool frame_copy(const struct tpacket2_hdr *h, struct pkt *p)
{
	const uint8_t *frame = (const uint8_t *)h + h->tp_mac;
	bool vlan = h->tp_status & TP_STATUS_VLAN_VALID;
	size_t len = h->tp_snaplen, total = len + (vlan ? PKT_VLAN_LEN : 0);
	uint16_t tpid, tci;

	if (h->tp_mac > AFP_FRAME_SIZE || len > (size_t)AFP_FRAME_SIZE - h->tp_mac)
		return false;
	if (len < h->tp_len || total > p->cap || len < PKT_ETH_LEN)
		return false;
	if (!vlan) {
		memcpy(p->data, frame, len);
	} else {
		tpid = htons(h->tp_status & TP_STATUS_VLAN_TPID_VALID ? h->tp_vlan_tpid
								      : PKT_ETHERTYPE_VLAN);
		tci = htons(h->tp_vlan_tci);
		memcpy(p->data, frame, AFP_MAC_PAIR);
		memcpy(p->data + AFP_MAC_PAIR, &tpid, sizeof(tpid));
		memcpy(p->data + AFP_MAC_PAIR + sizeof(tpid), &tci, sizeof(tci));
		memcpy(p->data + AFP_MAC_PAIR + PKT_VLAN_LEN, frame + AFP_MAC_PAIR,
		       len - AFP_MAC_PAIR);
	}
	p->len = (uint16_t)total;
	return true;
}

/* How long the frame in @h waited, by the clock its stamp is in (the
 * theory of operation says why there are two); 0 if it has none. */
static uint64_t sojourn(const struct tpacket2_hdr *h, uint64_t mono, uint64_t real)
{
	uint64_t ts = (uint64_t)h->tp_sec * 1000000000u + h->tp_nsec;

	if (!ts)
		return 0;
	if (ts <= mono + AFP_STAMP_AHEAD_NS)
		return mono > ts ? mono - ts : 0;
	return real > ts ? real - ts : 0;
}

static bool slot_ready(const struct afp_queue *q, unsigned i)
{
	return __atomic_load_n(&slot_at(q, i)->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER;
}

/* CoDel's verdict on the frame in slot q->head: drop it? "Last" if at most
 * one more frame waits behind it (RFC 8289's bytes() <= maxpacket). */
static bool codel_says_drop(struct afp_queue *q, const struct tpacket2_hdr *h, uint64_t mono,
			    uint64_t real)
{
	unsigned two_ahead = (q->head + 2) % q->frame_nr;

	return codel_drop(&q->codel, mono, sojourn(h, mono, real), !slot_ready(q, two_ahead));
}

static unsigned afp_rx_burst(struct io_port *io, unsigned qi, struct pkt **pkts, unsigned max)
{
	struct afp_queue *q = &port_of(io)->q[qi];
	unsigned n = 0, bad = 0, late = 0, marked = 0;
	uint64_t mono = 0, real = 0;

	if (q->codel.target) {
		mono = io_clock_ns(CLOCK_MONOTONIC);
		real = io_clock_ns(CLOCK_REALTIME);
	}
	/* Each pass consumes a slot or stops: at most max + the ring's size. */
	for (unsigned seen = 0; n < max && seen < q->frame_nr; seen++) {
		struct tpacket2_hdr *h = slot_at(q, q->head);
		if (!slot_ready(q, q->head)) {
			codel_empty(&q->codel);
			break;
		}
		if (q->codel.target && codel_says_drop(q, h, mono, real)) {
			n += io_codel_keep(pkts[n], frame_copy(h, pkts[n]), &marked, &late);
		} else if (frame_copy(h, pkts[n]))
			n++;
		else
			bad++;
		/* Our reads of the slot happen before the kernel may refill it. */
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		q->head = q->head + 1 == q->frame_nr ? 0 : q->head + 1;
	}
	io_counter_add(&q->rx, n);
	if (bad)
		io_counter_add(&q->rx_oversize, bad);
	if (late)
		io_counter_add(&q->rx_codel, late);
	if (marked)
		io_counter_add(&q->rx_codel_marked, marked);
	return n;
}

/* Transmit ----------------------------------------------------------------- */

static unsigned afp_tx_burst(struct io_port *io, unsigned qi, struct pkt **pkts, unsigned n)
{
	struct afp_queue *q = &port_of(io)->q[qi];
	unsigned sent = 0;

	while (sent < n) {
		unsigned batch = n - sent < AFP_TX_BATCH ? n - sent : AFP_TX_BATCH;
		for (unsigned i = 0; i < batch; i++) {
			q->iov[i].iov_base = pkts[sent + i]->data;
			q->iov[i].iov_len = pkts[sent + i]->len;
		}
		int done = sendmmsg(q->fd, q->msgs, batch, MSG_DONTWAIT);
		if (done <= 0)
			break; /* EAGAIN, ENOBUFS: the device is busy; the rest is dropped */
		sent += (unsigned)done;
		if ((unsigned)done < batch)
			break;
	}
	io_counter_add(&q->tx, sent);
	if (sent < n)
		io_counter_add(&q->tx_dropped, n - sent);
	return sent;
}

/* Control ------------------------------------------------------------------ */

static int afp_fd(struct io_port *io, unsigned qi)
{
	return port_of(io)->q[qi].fd;
}

/* PACKET_STATISTICS resets the kernel's counters on every read: add them up.
 * Call for one queue from one thread at a time. */
static void afp_stats(struct io_port *io, unsigned qi, struct io_queue_stats *out)
{
	struct afp_queue *q = &port_of(io)->q[qi];
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (!getsockopt(q->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len))
		io_counter_add(&q->kernel_drops, st.tp_drops);
	out->rx = io_counter(&q->rx);
	out->tx = io_counter(&q->tx);
	out->rx_dropped = io_counter(&q->kernel_drops) + io_counter(&q->rx_oversize);
	out->tx_dropped = io_counter(&q->tx_dropped);
	out->rx_codel = io_counter(&q->rx_codel);
	out->rx_codel_marked = io_counter(&q->rx_codel_marked);
}

/* The sockets are taps: each sees a frame before tc ingress does, so the
 * fast path's filter (bpf/offload.bpf.c) takes back what tc will forward.
 * packet_rcv()/tpacket_rcv() run it on the member the fanout chose. */
static int afp_set_filter(struct io_port *io, int prog_fd, const char **why)
{
	struct afp_port *p = port_of(io);
	int err;

	for (unsigned i = 0; i < p->queues; i++)
		if ((err = sockopt(p->q[i].fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd,
				   sizeof(prog_fd)))) {
			*why = "cannot attach the fast path's socket filter";
			return err;
		}
	return 0;
}

const struct io_ops afpacket_ops = {
    .name = "afpacket",
    .open = afp_open,
    .rx_burst = afp_rx_burst,
    .tx_burst = afp_tx_burst,
    .set_rss = afp_set_rss,
    .bucket_frames = afp_bucket_frames,
    .set_filter = afp_set_filter,
    .fd = afp_fd,
    .stats = afp_stats,
    .close = afp_close,
};
