/* offload_decide.h - the fast path's one decision (see offload.bpf.c),
 * compiled into every program that must agree on it: the tc program that
 * forwards, the afpacket socket filter that refuses what tc forwards, and
 * the afxdp XDP program that passes it to tc instead of its socket. The
 * includer defines OFFLOAD_CTX (the context type), OFFLOAD_LOAD(ctx, off,
 * buf, len) (bytes from the Ethernet header on: bpf_skb_load_bytes or
 * bpf_xdp_load_bytes) and OFFLOAD_IFINDEX(ctx) (the receiving interface).
 * The maps are declared here, the same in every object: user space creates
 * them once and hands the same fds to each (bpf_map__reuse_fd).
 *
 * Whose a WAN frame is comes first (claim_decide.h, shared uplink mode):
 * the host's frames are never the fast path's (verdict HOST).
 */
#ifndef RSSNAT_OFFLOAD_DECIDE_H
#define RSSNAT_OFFLOAD_DECIDE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../../offload/offload_maps.h"

#define CLAIM_CTX		       OFFLOAD_CTX
#define CLAIM_LOAD(ctx, off, buf, len) OFFLOAD_LOAD(ctx, off, buf, len)
#include "claim_decide.h"

#ifndef SECTION
#define SECTION(name) __attribute__((section(name), used))
#endif

/* A shared hash: one copy of each direction, read whole by user space in
 * one lookup. bench/mapcost.sh builds the program with the per-CPU and LRU
 * kinds instead (OFFLOAD_FLOWS_TYPE) to measure what each costs. */
#ifndef OFFLOAD_FLOWS_TYPE
#define OFFLOAD_FLOWS_TYPE BPF_MAP_TYPE_HASH
#endif

struct {
	__uint(type, OFFLOAD_FLOWS_TYPE);
	__uint(max_entries, OFFLOAD_FLOWS_MAX);
	__type(key, struct offload_key);
	__type(value, struct offload_flow);
} offload_flows SECTION(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFLOAD_NEIGHS_MAX);
	__type(key, struct offload_neigh_key);
	__type(value, struct offload_neigh);
} offload_neighs SECTION(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offload_conf);
} offload_conf SECTION(".maps");

enum {
	L3 = ETH_HLEN,
	L4 = ETH_HLEN + 20, /* no IP options: those go up */
	TCP_FLAGS_OFF = 13,
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	ICMP_ECHO_REPLY = 0,
	ICMP_ECHO = 8,
};

enum verdict { FORWARD, UP_NO_FLOW, UP_OTHER, UP_DISABLED, HOST };

struct seen {
	enum claim_owner owner; /* whose the frame is (claim_decide.h) */
	struct iphdr ip;
	struct offload_key key;
	struct offload_flow *flow;
	struct offload_neigh *neigh;
};

/* The transport half of the key; false: not a flow this path forwards. */
static __always_inline int read_l4(OFFLOAD_CTX *ctx, struct seen *s)
{
	__u8 b[14];

	switch (s->ip.protocol) {
	case IPPROTO_TCP:
		if (OFFLOAD_LOAD(ctx, L4, b, 14) ||
		    (b[TCP_FLAGS_OFF] & (TCP_SYN | TCP_FIN | TCP_RST)))
			return 0;
		break;
	case IPPROTO_UDP:
		if (OFFLOAD_LOAD(ctx, L4, b, 4))
			return 0;
		break;
	case IPPROTO_ICMP:
		if (OFFLOAD_LOAD(ctx, L4, b, 6) || (b[0] != ICMP_ECHO && b[0] != ICMP_ECHO_REPLY) ||
		    b[1])
			return 0;
		__builtin_memcpy(&s->key.sport, b + 4, 2); /* the identifier */
		s->key.dport = b[0];			   /* the type */
		return 1;
	default:
		return 0;
	}
	__builtin_memcpy(&s->key.sport, b, 2);
	__builtin_memcpy(&s->key.dport, b + 2, 2);
	return 1;
}

static __always_inline int neigh_fresh(struct seen *s, const struct offload_conf *conf)
{
	struct offload_neigh_key nk = {.ifindex = s->flow->out_ifindex, .addr = s->flow->next_hop};

	s->neigh = bpf_map_lookup_elem(&offload_neighs, &nk);
	return s->neigh && bpf_ktime_get_ns() - s->neigh->published_ns < conf->neigh_fresh_ns;
}

/* The one decision both programs take (see the top of the file). */
static __always_inline enum verdict offload_decide(OFFLOAD_CTX *ctx, struct seen *s)
{
	__u32 zero = 0;
	__u16 type;
	struct offload_conf *conf;

	s->owner = claim_decide(ctx, OFFLOAD_IFINDEX(ctx));
	if (s->owner == CLAIM_HOST)
		return HOST;
	conf = bpf_map_lookup_elem(&offload_conf, &zero);
	if (!conf || !conf->enabled)
		return UP_DISABLED;
	if (OFFLOAD_LOAD(ctx, 12, &type, 2) || type != bpf_htons(ETH_P_IP))
		return UP_NO_FLOW;
	if (OFFLOAD_LOAD(ctx, L3, &s->ip, sizeof(s->ip)) || s->ip.version != 4 || s->ip.ihl != 5 ||
	    (s->ip.frag_off & bpf_htons(0x3fff)))
		return UP_OTHER;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	if (!read_l4(ctx, s))
		return UP_OTHER;
	s->key.ifindex = OFFLOAD_IFINDEX(ctx);
	s->key.saddr = s->ip.saddr;
	s->key.daddr = s->ip.daddr;
	s->key.proto = s->ip.protocol;
	s->flow = bpf_map_lookup_elem(&offload_flows, &s->key);
	if (!s->flow)
		return UP_NO_FLOW;
	if (s->ip.ttl <= 1 || bpf_ntohs(s->ip.tot_len) > s->flow->mtu || !neigh_fresh(s, conf))
		return UP_OTHER;
	return FORWARD;
}

#endif
