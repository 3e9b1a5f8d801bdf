/* rss_fanout.bpf.c - the PACKET_FANOUT_EBPF program of the afpacket backend:
 * returns the receive queue of a frame exactly as nat_packet_hash() and
 * rss_queue() compute it for IPv4.
 *
 * Theory of operation
 * -------------------
 * The kernel runs this socket filter program once per frame for the whole
 * fanout group and delivers the frame to member (return value % members);
 * the backend joins queue q's socket q-th, so the value is the queue.
 * What is hashed follows nat_packet_hash(): a TCP or UDP datagram that is
 * not a fragment hashes the side's field set; an ICMP echo request or reply
 * too, with its identifier as both ports, when icmp_id_as_port is set;
 * fragments (MF or an offset) and everything else hash only the address
 * fields of that set. The input is laid out in the order s, d, f, n
 * (rss_input()) and hashed with the snapshot's per-byte Toeplitz tables:
 * tab[p][v] is the contribution of byte value v at input position p, so the
 * hash is the XOR of one table entry per input byte. Non-IPv4 frames (ARP,
 * IPv6, ...) go to queue 0, where the slow path is.
 *
 * Every byte is read with bpf_skb_load_bytes_relative() from the MAC header,
 * which works wherever skb->data points when the fanout runs (at the
 * network header on receive); it needs the headers in the skb's linear part,
 * which the stack and drivers provide (a frame whose L4 header cannot be
 * read hashes as if it had no ports, like one pkt_parse() rejects).
 */
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

static __always_inline int load(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	return bpf_skb_load_bytes_relative(skb, off, to, len, BPF_HDR_START_MAC);
}

/* The IPv4 header's offset from the MAC header, or 0 for other frames. */
static __always_inline __u32 l3_offset(struct __sk_buff *skb)
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
static __always_inline void read_ports(struct __sk_buff *skb, const struct io_rss_state *st,
				       __u32 l4, __u8 proto, struct v4_tuple *t)
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
static __always_inline int parse(struct __sk_buff *skb, const struct io_rss_state *st,
				 struct v4_tuple *t)
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

SECTION("socket")
int rss_fanout(struct __sk_buff *skb)
{
	struct v4_tuple t = {};
	const struct io_rss_state *st;
	__u32 zero = 0, *active, slot, bucket;
	__u64 *frames;

	active = bpf_map_lookup_elem(&rss_active, &zero);
	if (!active)
		return QUEUE_SLOW;
	slot = *active & (IO_RSS_SLOTS - 1);
	st = bpf_map_lookup_elem(&rss_state, &slot);
	if (!st || parse(skb, st, &t))
		return QUEUE_SLOW;
	bucket = toeplitz(st, &t) & st->bucket_mask & (IO_RSS_TABLE_MAX - 1);
	frames = bpf_map_lookup_elem(&rss_bucket_frames, &bucket);
	if (frames)
		(*frames)++; /* this CPU's own slot: no atomic needed */
	/* Masked again: the verifier may lose the bound across the helper call. */
	return (int)st->table[bucket & (IO_RSS_TABLE_MAX - 1)];
}

/* No GPL-only helper is used; the tag only has to be one the kernel knows. */
char LICENSE[] SECTION("license") = "Dual BSD/GPL";
