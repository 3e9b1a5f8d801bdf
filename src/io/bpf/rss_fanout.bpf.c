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
#include "rss_hash.h"

SECTION("socket")
int rss_fanout(struct __sk_buff *skb)
{
	const struct io_rss_state *st;
	int b = rss_bucket(skb, &st);
	__u32 bucket;
	__u64 *frames;

	if (b < 0)
		return QUEUE_SLOW;
	bucket = (__u32)b & (IO_RSS_TABLE_MAX - 1);
	frames = bpf_map_lookup_elem(&rss_bucket_frames, &bucket);
	if (frames)
		(*frames)++; /* this CPU's own slot: no atomic needed */
	/* Masked again: the verifier may lose the bound across the helper call. */
	return (int)st->table[bucket & (IO_RSS_TABLE_MAX - 1)];
}

/* No GPL-only helper is used; the tag only has to be one the kernel knows. */
char LICENSE[] SECTION("license") = "Dual BSD/GPL";
