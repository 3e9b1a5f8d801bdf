/* offload.bpf.c - the fast path in the kernel: established flows translated
 * and forwarded at tc ingress, everything else left to user space.
 *
 * User space (src/offload/offload.c, the workers) is the one authority: it puts
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
#include <linux/pkt_cls.h>

#define SECTION(name)			 __attribute__((section(name), used))
#define OFFLOAD_CTX			 struct __sk_buff
#define OFFLOAD_LOAD(ctx, off, buf, len) bpf_skb_load_bytes(ctx, off, buf, len)
#define OFFLOAD_IFINDEX(ctx)		 ((ctx)->ifindex)
#include "offload_decide.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OFFLOAD_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} offload_stats SECTION(".maps");

/* ---- the socket filter: the tap keeps what tc will not forward ---- */

SECTION("socket")
int offload_sock(struct __sk_buff *skb)
{
	struct seen s;

	enum verdict v = offload_decide(skb, &s);

	/* Neither what tc forwards nor the host's (shared mode) is ours. */
	return v == FORWARD || v == HOST ? 0 : (int)skb->len;
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

	if (v == HOST)
		return TC_ACT_UNSPEC; /* the host's: the stack guard passes it */
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
