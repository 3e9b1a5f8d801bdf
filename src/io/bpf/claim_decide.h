/* claim_decide.h - whose a frame that arrives on the WAN is, rssnat's or
 * the host stack's, in shared uplink mode (issue 11): the one decision,
 * compiled into every program that must agree on it. The stack guard
 * (stack_guard.bpf.c) shoots rssnat's frames and passes the host's to the
 * kernel; the afpacket socket filter (offload.bpf.c's offload_sock) keeps
 * only rssnat's for its sockets; the afxdp XDP program (xsk_redirect.bpf.c)
 * passes the host's and redirects rssnat's; the fast path's tc program
 * (offload.bpf.c) leaves the host's alone.
 *
 * rssnat's frames, to the WAN address:
 *   - TCP or UDP to a port a live mapping of that protocol holds
 *     (claim_live, written by the NAT as for ICMP below) or a port
 *     mapping's. The rest of the NAT's range is the host's: a host service
 *     listening there is reached, unless a LAN flow holds that very port
 *     at that moment (the NAT picks among its range's ~31k ports);
 *   - an ICMP echo reply whose identifier one of rssnat's mappings holds
 *     (claim_live, which the NAT writes as mappings come and go: the
 *     host's ping picks identifiers anywhere in 0-65535, a range cannot
 *     keep them apart); echo requests are the host's: the kernel answers
 *     ping for its address;
 *   - an ICMP error quoting a datagram whose source port a live mapping
 *     holds or is mapped, or an echo request whose identifier rssnat holds: the
 *     datagram was rssnat's;
 *   - a fragment of one of its datagrams: the first fragment decides by
 *     port and the decision is kept in claim_frags for the rest. A later
 *     fragment with no decision (it overtook its first, or the entry was
 *     evicted) goes to rssnat, whose fragment cache holds it until its
 *     first arrives: what that costs the host is a reordered fragmented
 *     datagram of its own, lost (its first fragment then goes to the
 *     kernel without the rest; the sender retransmits or PMTUD avoids
 *     fragments). The other way round would lose rssnat's instead.
 * rssnat's too: every frame to the LAN subnet. The kernel holds the LAN
 * address on the host interface and, by the weak host model (RFC 1122
 * 3.3.4.2), would accept it from the WAN; rssnat forwards none of it.
 * ARP is both's: the kernel answers for its address and rssnat learns the
 * gateway's MAC. Everything else (IPv6, other addresses, other protocols)
 * is the host's. On any other interface, or in dedicated mode (the conf
 * all zero), every frame is rssnat's.
 *
 * The includer defines CLAIM_CTX (the context type) and CLAIM_LOAD(ctx,
 * off, buf, len) (bytes from the Ethernet header on). The maps are
 * declared here, the same in every object: user space creates them once
 * and hands the same fds to each (wan_claim.c, bpf_map__reuse_fd).
 */
#ifndef RSSNAT_CLAIM_DECIDE_H
#define RSSNAT_CLAIM_DECIDE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../claim_maps.h"

#ifndef SECTION
#define SECTION(name) __attribute__((section(name), used))
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct claim_conf);
} claim_conf SECTION(".maps");

/* The external ports of port mappings: bit p of TCP's or UDP's half. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CLAIM_PORT_WORDS *CLAIM_PORT_PROTOS);
	__type(key, __u32);
	__type(value, __u64);
} claim_ports SECTION(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CLAIM_FRAGS_MAX);
	__type(key, struct claim_frag_key);
	__type(value, __u32);
} claim_frags SECTION(".maps");

/* The external ports and identifiers rssnat's live mappings hold, a bit
 * each (claim_maps.h CLAIM_LIVE_*): user space maps the array
 * (BPF_F_MMAPABLE) and the NAT's workers set and clear bits with atomic
 * operations, no system call (nat.h ports_live). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CLAIM_LIVE_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} claim_live SECTION(".maps");

/* Frames left to the host, per CPU: counted where they go to the kernel
 * (the stack guard), once each. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} claim_host SECTION(".maps");

enum {
	CLAIM_L3 = ETH_HLEN,
	CLAIM_IP_MF = 0x2000,
	CLAIM_IP_OFFMASK = 0x1fff,
	CLAIM_ICMP_ECHO_REPLY = 0,
	CLAIM_ICMP_UNREACH = 3,
	CLAIM_ICMP_ECHO = 8,
	CLAIM_ICMP_TIME_EXCEEDED = 11,
	CLAIM_ICMP_PARAMPROB = 12,
};

/* The 20 bytes of an IPv4 header this decision reads. */
struct claim_ip {
	__u8 vhl, tos;
	__u16 tot_len, id, frag_off;
	__u8 ttl, proto;
	__u16 check;
	__u32 saddr, daddr;
};

static __always_inline int claim_port_mapped(__u8 proto, __u16 port)
{
	__u32 key = (proto == IPPROTO_UDP ? CLAIM_PORT_WORDS : 0) + (port >> 6);
	__u64 *word = bpf_map_lookup_elem(&claim_ports, &key);

	return word && (*word >> (port & 63)) & 1;
}

/* Does a live mapping hold @port (TCP, UDP) or identifier (ICMP), @base
 * the protocol's part of claim_live? */
static __always_inline int claim_live_holds(__u32 base, __u16 port)
{
	__u32 key = base + (port >> 6);
	__u64 *word = bpf_map_lookup_elem(&claim_live, &key);

	return word && (*word >> (port & 63)) & 1;
}

/* TCP or UDP port of rssnat's? A port mapping's, or one a live mapping
 * holds: the rest of the NAT's range is the host's, so that a host
 * service listening there is reached while no LAN flow holds its port. */
static __always_inline enum claim_owner claim_port(__u8 proto, __u16 port)
{
	__u32 base = proto == IPPROTO_UDP ? CLAIM_LIVE_UDP : CLAIM_LIVE_TCP;

	if (claim_live_holds(base, port) || claim_port_mapped(proto, port))
		return CLAIM_OURS;
	return CLAIM_HOST;
}

/* An ICMP echo identifier one of rssnat's mappings holds? */
static __always_inline enum claim_owner claim_icmp_id(__u16 id)
{
	return claim_live_holds(CLAIM_LIVE_ICMP, id) ? CLAIM_OURS : CLAIM_HOST;
}

/* An ICMP error (RFC 792): whose the quoted datagram was, by its source
 * port or echo identifier (it was sent from the WAN address). */
static __always_inline enum claim_owner claim_quoted(CLAIM_CTX *ctx, __u32 off)
{
	struct claim_ip in;
	__u8 l4[6];
	__u32 l4_off;

	if (CLAIM_LOAD(ctx, off, &in, sizeof(in)) || (in.vhl >> 4) != 4 || (in.vhl & 0xf) < 5)
		return CLAIM_HOST;
	l4_off = off + (__u32)(in.vhl & 0xf) * 4;
	if (CLAIM_LOAD(ctx, l4_off, l4, sizeof(l4)))
		return CLAIM_HOST;
	if (in.proto == IPPROTO_TCP || in.proto == IPPROTO_UDP)
		return claim_port(in.proto, (__u16)(l4[0] << 8 | l4[1]));
	if (in.proto == IPPROTO_ICMP && l4[0] == CLAIM_ICMP_ECHO)
		return claim_icmp_id((__u16)(l4[4] << 8 | l4[5]));
	return CLAIM_HOST;
}

/* The transport header of an unfragmented datagram or a first fragment. */
static __always_inline enum claim_owner claim_l4(CLAIM_CTX *ctx, __u8 proto, __u32 l4_off)
{
	__u8 b[8];

	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (CLAIM_LOAD(ctx, l4_off, b, 4))
			return CLAIM_HOST;
		return claim_port(proto, (__u16)(b[2] << 8 | b[3]));
	case IPPROTO_ICMP:
		if (CLAIM_LOAD(ctx, l4_off, b, 8))
			return CLAIM_HOST;
		if (b[0] == CLAIM_ICMP_ECHO_REPLY)
			return claim_icmp_id((__u16)(b[4] << 8 | b[5]));
		if (b[0] == CLAIM_ICMP_UNREACH || b[0] == CLAIM_ICMP_TIME_EXCEEDED ||
		    b[0] == CLAIM_ICMP_PARAMPROB)
			return claim_quoted(ctx, l4_off + 8);
		return CLAIM_HOST; /* echo requests and the rest: the kernel's */
	}
	return CLAIM_HOST;
}

static __always_inline enum claim_owner claim_ipv4(CLAIM_CTX *ctx, const struct claim_conf *c)
{
	struct claim_frag_key fk = {};
	struct claim_ip ip;
	enum claim_owner who;
	__u32 *seen;
	__u16 frag;

	if (CLAIM_LOAD(ctx, CLAIM_L3, &ip, sizeof(ip)) || (ip.vhl >> 4) != 4 || (ip.vhl & 0xf) < 5)
		return CLAIM_HOST;
	/* To the LAN from the WAN: rssnat's (it forwards none of it), so that
	 * the host's stack, which holds the LAN address, never accepts it. */
	if (c->lan_mask && (ip.daddr & c->lan_mask) == c->lan_net)
		return CLAIM_OURS;
	if (!c->wan_addr || ip.daddr != c->wan_addr)
		return CLAIM_HOST;
	frag = bpf_ntohs(ip.frag_off);
	fk.saddr = ip.saddr;
	fk.daddr = ip.daddr;
	fk.id = ip.id;
	fk.proto = ip.proto;
	if (frag & CLAIM_IP_OFFMASK) {
		seen = bpf_map_lookup_elem(&claim_frags, &fk);
		return seen ? (enum claim_owner) * seen : CLAIM_OURS; /* see the top */
	}
	who = claim_l4(ctx, ip.proto, CLAIM_L3 + (__u32)(ip.vhl & 0xf) * 4);
	if (frag & CLAIM_IP_MF) {
		__u32 v = who;
		bpf_map_update_elem(&claim_frags, &fk, &v, BPF_ANY);
	}
	return who;
}

/* The one decision (see the top of the file), for a frame that arrived on
 * interface @ifindex. */
static __always_inline enum claim_owner claim_decide(CLAIM_CTX *ctx, __u32 ifindex)
{
	__u32 zero = 0;
	__u16 type;
	const struct claim_conf *c = bpf_map_lookup_elem(&claim_conf, &zero);

	if (!c || !c->wan_ifindex || ifindex != c->wan_ifindex)
		return CLAIM_OURS;
	if (CLAIM_LOAD(ctx, 12, &type, 2))
		return CLAIM_HOST;
	if (type == bpf_htons(ETH_P_ARP))
		return CLAIM_BOTH;
	if (type != bpf_htons(ETH_P_IP))
		return CLAIM_HOST;
	return claim_ipv4(ctx, c);
}

/* A frame left to the host, counted (per CPU: no other writer). */
static __always_inline void claim_count_host(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&claim_host, &zero);

	if (n)
		*n += 1;
}

#endif
