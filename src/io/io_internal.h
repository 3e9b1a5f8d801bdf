/* io_internal.h - what the io module's files share: the backends' ops tables
 * (io.c lists them) and the embedded eBPF object (generated at build time
 * from bpf/rss_fanout.bpf.c, see the Makefile). */
#ifndef RSSNAT_IO_INTERNAL_H
#define RSSNAT_IO_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "io.h"

enum {
	IO_CPUS_MAX = 1024, /* possible CPUs a per-CPU map is read for */
};

extern const struct io_ops afpacket_ops;
extern const struct io_ops afxdp_ops;

/* The ELF object clang built for the BPF target, as bytes. */
extern const unsigned char io_rss_fanout_bpf[];
extern const size_t io_rss_fanout_bpf_len;
/* The afxdp backend's XDP program, and the tc RSS emulation for veth peers. */
extern const unsigned char io_xsk_redirect_bpf[];
extern const size_t io_xsk_redirect_bpf_len;
extern const unsigned char io_tc_rss_bpf[];
extern const size_t io_tc_rss_bpf_len;
extern const unsigned char io_stack_guard_bpf[];
extern const size_t io_stack_guard_bpf_len;
extern const unsigned char io_offload_bpf[];
extern const size_t io_offload_bpf_len;
extern const unsigned char io_spread_bpf[];
extern const size_t io_spread_bpf_len;

/* Helpers both backends use (io.c). */

/* io_why_fmt() - a formatted reason that outlives the call (a thread-local
 * buffer): for messages with details, like the verifier's. */
const char *io_why_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* io_check_params() - queues, snapshot and interface name; *ifindex set. */
int io_check_params(const struct io_params *params, int *ifindex, const char **why);
/* io_iface_check_up() - the interface exists and is up (@fd: any socket). */
int io_iface_check_up(int fd, const char *ifname, const char **why);
/* io_promisc_on() - promiscuous mode, tied to @fd (an AF_PACKET socket):
 * closing it gives our share back. */
int io_promisc_on(int fd, int ifindex, const char **why);
/* io_libbpf_quiet() - libbpf's print callback that prints nothing: open()
 * reports one reason instead. */
int io_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap);

/* libbpf rejects an options struct whose bytes past the fields it knows
 * are not zero, tail padding included, which a designated initializer does
 * not promise: these zero the whole struct, then fill it. */
void io_open_opts(struct bpf_object_open_opts *opts, const char *object_name);
void io_tc_hook(struct bpf_tc_hook *hook, int ifindex, enum bpf_tc_attach_point point);
void io_tc_opts(struct bpf_tc_opts *opts, int prog_fd, __u32 flags, __u32 handle, __u32 priority);

/* Counters written by one thread (the queue's worker) and read by another:
 * a plain load and store, no locked instruction. */
static inline uint64_t io_counter(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static inline void io_counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, io_counter(c) + n, memory_order_relaxed);
}

/* io_codel_keep() - what becomes of a frame CoDel would drop, copied into
 * @p (@copied false: it could not be, and is dropped): an ECN-capable one
 * is marked CE and forwarded (RFC 3168 section 5; *marked counts it); one
 * whose sender would not slow down for a loss (ARP, ICMP:
 * pkt_congestion_controlled()) is forwarded as it is; the rest (TCP, UDP)
 * is dropped (*dropped counts it). Returns 1 if the frame stays, else 0. */
unsigned io_codel_keep(struct pkt *p, bool copied, unsigned *marked, unsigned *dropped);

/* A clock in nanoseconds, for the receive rings' CoDel (a vDSO call). */
static inline uint64_t io_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
