/* rss_hash.h - the engine's RSS for IPv4 as eBPF: the parser, the
 * Toeplitz hash and the indirection table, exactly as nat_packet_hash() and
 * rss_queue() compute them (rss_fanout.bpf.c says what is hashed and why).
 * Included by every program that must steer as the engine does: the
 * afpacket fanout (rss_fanout.bpf.c), the veth RSS emulation (tc_rss.bpf.c)
 * and the fast path's spreading over CPUs (spread.bpf.c), so that they
 * cannot disagree.
 *
 * The includer says how to read its context: RSS_CTX (the context type)
 * and RSS_LOAD(ctx, off, to, len) (0 or a negative errno), offsets from the
 * MAC header. Without them, the socket/tc flavour (struct __sk_buff).
 */
#ifndef RSSNAT_RSS_HASH_H
#define RSSNAT_RSS_HASH_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../rss_maps.h"

/* bpf_helpers.h's SEC(), spelled out so that cppcheck, which does not read
 * system headers, can parse this file. */
#define SECTION(name) __attribute__((section(name), used))

/* Wire layout (IEEE 802.3, 802.1Q, RFC 791, 792), as in pkt.h. */
enum {
	ETH_TYPE_OFF = 12,
	VLAN_TYPE_OFF = 16,
	VLAN_TAG_LEN = 4,
	IP_MIN_LEN = 20,
	IP_FRAG_OFF = 6,
	IP_PROTO_OFF = 9,
	IP_SADDR_OFF = 12,
	IP_DADDR_OFF = 16,
	IP_MF = 0x2000,
	IP_OFFMASK = 0x1fff,
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	ICMP_ECHO_REPLY = 0,
	ICMP_ECHO = 8,
	ICMP_ID_OFF = 4,
	QUEUE_SLOW = 0, /* where frames the hash does not cover go */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IO_RSS_SLOTS);
	__type(key, __u32);
	__type(value, struct io_rss_state);
} rss_state SECTION(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rss_active SECTION(".maps");

/* Frames per bucket, per CPU: the load each bucket brings, which the
 * gateway reads to rebalance the table (`rssnat set rss rebalance=on`,
 * after RSS++). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IO_RSS_TABLE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rss_bucket_frames SECTION(".maps");

/* The hashable fields of one IPv4 frame. */
struct v4_tuple {
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 ports[4]; /* source then destination, network byte order */
	__u32 has_ports;
};

#ifndef RSS_CTX
#define RSS_CTX struct __sk_buff
#define RSS_LOAD(ctx, off, to, len)                                                                \
	bpf_skb_load_bytes_relative(ctx, off, to, len, BPF_HDR_START_MAC)
#endif

static __always_inline int load(RSS_CTX *skb, __u32 off, void *to, __u32 len)
{
	return RSS_LOAD(skb, off, to, len);
}

/* The IPv4 header's offset from the MAC header, or 0 for other frames. */
static __always_inline __u32 l3_offset(RSS_CTX *skb)
{
	__be16 type;

	if (load(skb, ETH_TYPE_OFF, &type, sizeof(type)))
		return 0;
	if (type == bpf_htons(ETH_P_IP))
		return ETH_HLEN;
	/* A tag the device did not strip into skb metadata (one only). */
	if (type != bpf_htons(ETH_P_8021Q) || load(skb, VLAN_TYPE_OFF, &type, sizeof(type)) ||
	    type != bpf_htons(ETH_P_IP))
		return 0;
	return ETH_HLEN + VLAN_TAG_LEN;
}

/* Ports as nat_packet_hash() sees them: TCP/UDP ports, or an echo
 * identifier in both slots when the state says so. */
static __always_inline void read_ports(RSS_CTX *skb, const struct io_rss_state *st, __u32 l4,
				       __u8 proto, struct v4_tuple *t)
{
	__u8 icmp[ICMP_ID_OFF + 2];

	if (proto == PROTO_TCP || proto == PROTO_UDP) {
		t->has_ports = !load(skb, l4, t->ports, sizeof(t->ports));
		return;
	}
	if (proto != PROTO_ICMP || !st->icmp_id_as_port || load(skb, l4, icmp, sizeof(icmp)))
		return;
	if (icmp[0] != ICMP_ECHO && icmp[0] != ICMP_ECHO_REPLY)
		return;
	t->ports[0] = t->ports[2] = icmp[ICMP_ID_OFF];
	t->ports[1] = t->ports[3] = icmp[ICMP_ID_OFF + 1];
	t->has_ports = 1;
}

/* 0 and @t filled, or -1 for a frame that is not IPv4. */
static __always_inline int parse(RSS_CTX *skb, const struct io_rss_state *st, struct v4_tuple *t)
{
	__u8 ip[IP_MIN_LEN];
	__u32 l3 = l3_offset(skb), ihl;
	__u16 frag;

	if (!l3 || load(skb, l3, ip, sizeof(ip)) || ip[0] >> 4 != 4)
		return -1;
	ihl = (__u32)(ip[0] & 0x0f) * 4;
	if (ihl < IP_MIN_LEN)
		return -1;
	__builtin_memcpy(t->saddr, ip + IP_SADDR_OFF, 4);
	__builtin_memcpy(t->daddr, ip + IP_DADDR_OFF, 4);
	frag = (__u16)(ip[IP_FRAG_OFF] << 8 | ip[IP_FRAG_OFF + 1]);
	if (frag & (IP_MF | IP_OFFMASK))
		return 0; /* a fragment hashes its addresses only, even the first */
	read_ports(skb, st, l3 + ihl, ip[IP_PROTO_OFF], t);
	return 0;
}

/* XOR of the contributions of @n bytes laid out from input position @pos. */
static __always_inline __u32 hash_bytes(const struct io_rss_state *st, __u32 pos, const __u8 *b,
					__u32 n)
{
	__u32 h = 0;

	for (__u32 i = 0; i < n; i++) {
		__u32 p = pos + i;
		if (p < IO_RSS_V4_INPUT) /* bounds proof for the verifier */
			h ^= st->tab[p][b[i]];
	}
	return h;
}

/* The Toeplitz hash of the selected fields in the order s, d, f, n. */
static __always_inline __u32 toeplitz(const struct io_rss_state *st, const struct v4_tuple *t)
{
	__u32 fields = st->fields, pos = 0, h = 0;

	if (!t->has_ports)
		fields &= IO_RSS_F_ADDRS; /* as NICs hash fragments and non-TCP/UDP */
	if (fields & IO_RSS_F_SRC_ADDR) {
		h ^= hash_bytes(st, pos, t->saddr, 4);
		pos += 4;
	}
	if (fields & IO_RSS_F_DST_ADDR) {
		h ^= hash_bytes(st, pos, t->daddr, 4);
		pos += 4;
	}
	if (fields & IO_RSS_F_SRC_PORT) {
		h ^= hash_bytes(st, pos, t->ports, 2);
		pos += 2;
	}
	if (fields & IO_RSS_F_DST_PORT)
		h ^= hash_bytes(st, pos, t->ports + 2, 2);
	return h;
}

/* The bucket of the frame in @ctx by the active state (*st set), or -1:
 * not IPv4, or no state yet. */
static __always_inline int rss_bucket(RSS_CTX *ctx, const struct io_rss_state **st)
{
	struct v4_tuple t = {};
	__u32 zero = 0, *active, slot;

	active = bpf_map_lookup_elem(&rss_active, &zero);
	if (!active)
		return -1;
	slot = *active & (IO_RSS_SLOTS - 1);
	*st = bpf_map_lookup_elem(&rss_state, &slot);
	if (!*st || parse(ctx, *st, &t))
		return -1;
	return (int)(toeplitz(*st, &t) & (*st)->bucket_mask & (IO_RSS_TABLE_MAX - 1));
}

#endif
