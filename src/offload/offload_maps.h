/* offload_maps.h - the fast path's maps as both sides see them: the eBPF
 * programs (bpf/offload.bpf.c) and user space (offload.c). Fixed-width
 * fields only, laid out the same by clang -target bpf and the host
 * compiler. Addresses and ports in network byte order, as on the wire.
 */
#ifndef RSSNAT_OFFLOAD_MAPS_H
#define RSSNAT_OFFLOAD_MAPS_H

#include <linux/types.h>

enum {
	OFFLOAD_FLOWS_MAX = 65536, /* flow directions: 32768 sessions */
	OFFLOAD_NEIGHS_MAX = 2048, /* NEIGH_SLOTS per side, both sides */
};

/* One direction of an offloaded session as it arrives: the interface it
 * arrives on, and its IPv4 5-tuple. ICMP echo: sport is the identifier,
 * dport the type (8 from the LAN, 0 from the WAN: what user space
 * translates). */
struct offload_key {
	__u32 ifindex;
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto;
	__u8 pad[3];
};

/* What it becomes, where it goes, and what the program saw of it. */
struct offload_flow {
	__u32 saddr, daddr; /* after translation */
	__u16 sport, dport; /* ICMP echo: sport is the new identifier */
	__u32 out_ifindex;
	__u32 next_hop; /* whose MAC (offload_neigh) the frame is sent to */
	__u8 smac[6];	/* the gateway's own on the output interface */
	__u16 mtu;	/* the output interface's: larger goes up (ICMP 3/4) */
	/* Written by the program: counters (atomic adds) and the last time
	 * it forwarded one (bpf_ktime_get_ns(): CLOCK_MONOTONIC). */
	__u64 packets, bytes;
	__u64 last_ns;
	/* To 64 bytes: the kernel's hash element puts 64 bytes of its header
	 * and this key before the value, so each element is two cache lines
	 * of its own. At 56, the two directions of a session (installed one
	 * after the other: neighbours in the element pool) share a line, and
	 * the counters written by two CPUs bounce it: bench/mapcost.sh, 2
	 * CPUs, split_ns 218 -> 142 with the pad (one CPU per entry: 133). */
	__u64 pad;
};

struct offload_neigh_key {
	__u32 ifindex;
	__u32 addr;
};

/* A neighbour as the control thread last resolved it: too old (conf's
 * neigh_fresh_ns) and the frame goes up, where the worker asks again. */
struct offload_neigh {
	__u8 mac[6];
	__u8 pad[2];
	__u64 published_ns;
};

/* Entry 0 of the one-slot array: read first by both programs. */
struct offload_conf {
	__u32 enabled;
	__u32 pad;
	__u64 neigh_fresh_ns;
};

/* The tc program's counters, per CPU. */
#define OFFLOAD_STATS(X)                                                                           \
	X(forwarded, "frames translated and forwarded by the kernel fast path")                    \
	X(forwarded_bytes, "bytes forwarded by the kernel fast path")                              \
	X(up_no_flow, "frames passed to user space: no offloaded flow")                            \
	X(up_other, "frames passed to user space: TTL, TCP flags, size, fragment, neighbour")      \
	X(up_disabled, "frames passed to user space: offload disabled")

enum offload_stat {
#define OFFLOAD_STAT_ENUM(name, text) OFFLOAD_STAT_##name,
	OFFLOAD_STATS(OFFLOAD_STAT_ENUM)
#undef OFFLOAD_STAT_ENUM
	    OFFLOAD_STAT_COUNT
};

#endif
