/* offload.bpf.c - the fast path in the kernel: established flows translated
 * and forwarded at tc ingress, everything else left to user space.
 *
 * User space (src/io/offload.c, the workers) is the one authority: it puts
 * one entry per direction of an established session into offload_flows and
 * takes it out when the session ends. Here, a frame of such a flow has its
 * addresses and ports rewritten with incremental checksum updates (RFC 1624),
 * its TTL decremented (RFC 1812 5.3.1), its MACs set from offload_neighs,
 * and is redirected to the other interface: no copy, no trip to user space.
 *
 * Two programs, one decision. With the afpacket backend the worker's socket
 * is a tap that sees each frame BEFORE tc ingress (__netif_receive_skb_core()
 * delivers ptype_all, then runs sch_handle_ingress()), so a forwarded frame
 * would also be translated by the worker. offload_sock is attached to each
 * fanout member socket (packet_rcv()/tpacket_rcv() run it after the fanout
 * chose the member) and refuses exactly the frames offload_tc will forward:
 * both call offload_decide(). A map change between the two runs can let one
 * frame through both (a duplicate, at an install) or neither (a loss, at a
 * removal or a disable): TCP and UDP tolerate both, and such changes happen
 * once per session.
 *
 * Anything not fully understood goes up: non-IPv4, IP options, fragments,
 * TTL <= 1 (Time Exceeded is user space's), TCP SYN, FIN or RST (session
 * state is user space's), ICMP other than echo and echo reply (errors quote
 * packets user space must translate), larger than the output MTU
 * (Fragmentation Needed), no flow, no fresh neighbour, offload disabled.
 * "Up" at tc means TC_ACT_UNSPEC: the next filter (the stack guard) drops
 * the frame the tap already delivered.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../offload_maps.h"

#define SECTION(name) __attribute__((section(name), used))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OFFLOAD_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} offload_stats SECTION(".maps");

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

enum verdict { FORWARD, UP_NO_FLOW, UP_OTHER, UP_DISABLED };

struct seen {
	struct iphdr ip;
	struct offload_key key;
	struct offload_flow *flow;
	struct offload_neigh *neigh;
};

/* The transport half of the key; false: not a flow this path forwards. */
static __always_inline int read_l4(struct __sk_buff *skb, struct seen *s)
{
	__u8 b[14];

	switch (s->ip.protocol) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, L4, b, 14) ||
		    (b[TCP_FLAGS_OFF] & (TCP_SYN | TCP_FIN | TCP_RST)))
			return 0;
		break;
	case IPPROTO_UDP:
		if (bpf_skb_load_bytes(skb, L4, b, 4))
			return 0;
		break;
	case IPPROTO_ICMP:
		if (bpf_skb_load_bytes(skb, L4, b, 6) ||
		    (b[0] != ICMP_ECHO && b[0] != ICMP_ECHO_REPLY) || b[1])
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
static __always_inline enum verdict offload_decide(struct __sk_buff *skb, struct seen *s)
{
	__u32 zero = 0;
	__u16 type;
	struct offload_conf *conf = bpf_map_lookup_elem(&offload_conf, &zero);

	if (!conf || !conf->enabled)
		return UP_DISABLED;
	if (bpf_skb_load_bytes(skb, 12, &type, 2) || type != bpf_htons(ETH_P_IP))
		return UP_NO_FLOW;
	if (bpf_skb_load_bytes(skb, L3, &s->ip, sizeof(s->ip)) || s->ip.version != 4 ||
	    s->ip.ihl != 5 || (s->ip.frag_off & bpf_htons(0x3fff)))
		return UP_OTHER;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	if (!read_l4(skb, s))
		return UP_OTHER;
	s->key.ifindex = skb->ifindex;
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

/* ---- the socket filter: the tap keeps what tc will not forward ---- */

SECTION("socket")
int offload_sock(struct __sk_buff *skb)
{
	struct seen s;

	return offload_decide(skb, &s) == FORWARD ? 0 : (int)skb->len;
}

/* ---- the tc program: rewrite and redirect ---- */

static __always_inline void count(__u32 stat, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&offload_stats, &stat);

	if (c)
		*c += n; /* per CPU: no other writer */
}

/* One 32-bit address at @off: the IP checksum, and TCP's or UDP's over the
 * pseudo-header (UDP's 0, "no checksum", stays 0). */
static __always_inline void set_addr(struct __sk_buff *skb, __u32 off, __u32 old, __u32 new,
				     __u32 l4_csum, __u64 l4_flags)
{
	if (old == new)
		return;
	if (l4_csum)
		bpf_l4_csum_replace(skb, l4_csum, old, new, l4_flags | BPF_F_PSEUDO_HDR | 4);
	bpf_l3_csum_replace(skb, L3 + 10, old, new, 4);
	bpf_skb_store_bytes(skb, off, &new, 4, 0);
}

static __always_inline void set_port(struct __sk_buff *skb, __u32 off, __u16 old, __u16 new,
				     __u32 l4_csum, __u64 l4_flags)
{
	if (old == new)
		return;
	bpf_l4_csum_replace(skb, l4_csum, old, new, l4_flags | 2);
	bpf_skb_store_bytes(skb, off, &new, 2, 0);
}

static __always_inline void rewrite(struct __sk_buff *skb, struct seen *s)
{
	const struct offload_flow *f = s->flow;
	__u32 csum = s->ip.protocol == IPPROTO_TCP   ? L4 + 16
		     : s->ip.protocol == IPPROTO_UDP ? L4 + 6
						     : L4 + 2;
	__u64 flags = s->ip.protocol == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u16 ttl_old, ttl_new;
	__u8 ttl = (__u8)(s->ip.ttl - 1);

	/* ICMP's checksum has no pseudo-header: addresses are not in it. */
	set_addr(skb, L3 + 12, s->ip.saddr, f->saddr, s->ip.protocol == IPPROTO_ICMP ? 0 : csum,
		 flags);
	set_addr(skb, L3 + 16, s->ip.daddr, f->daddr, s->ip.protocol == IPPROTO_ICMP ? 0 : csum,
		 flags);
	if (s->ip.protocol == IPPROTO_ICMP) {
		set_port(skb, L4 + 4, s->key.sport, f->sport, csum, 0);
	} else {
		set_port(skb, L4, s->key.sport, f->sport, csum, flags);
		set_port(skb, L4 + 2, s->key.dport, f->dport, csum, flags);
	}
	/* RFC 1812 5.3.1; the checksum over the TTL/protocol word (RFC 1624). */
	ttl_old = bpf_htons((__u16)(s->ip.ttl << 8 | s->ip.protocol));
	ttl_new = bpf_htons((__u16)(ttl << 8 | s->ip.protocol));
	bpf_l3_csum_replace(skb, L3 + 10, ttl_old, ttl_new, 2);
	bpf_skb_store_bytes(skb, L3 + 8, &ttl, 1, 0);
	bpf_skb_store_bytes(skb, 0, s->neigh->mac, 6, 0);
	bpf_skb_store_bytes(skb, 6, f->smac, 6, 0);
}

SECTION("tc")
int offload_tc(struct __sk_buff *skb)
{
	struct seen s;
	enum verdict v = offload_decide(skb, &s);
	struct offload_flow *f;

	if (v != FORWARD) {
		count(v == UP_NO_FLOW ? OFFLOAD_STAT_up_no_flow
		      : v == UP_OTHER ? OFFLOAD_STAT_up_other
				      : OFFLOAD_STAT_up_disabled,
		      1);
		return TC_ACT_UNSPEC; /* on to the next filter: the stack guard */
	}
	f = s.flow;
	rewrite(skb, &s);
	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, skb->len);
	f->last_ns = bpf_ktime_get_ns(); /* any writer's recent time will do */
	count(OFFLOAD_STAT_forwarded, 1);
	count(OFFLOAD_STAT_forwarded_bytes, skb->len);
	return (int)bpf_redirect(f->out_ifindex, 0);
}

char LICENSE[] SECTION("license") = "Dual BSD/GPL";
