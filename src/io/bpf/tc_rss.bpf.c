/* tc_rss.bpf.c - a tc egress (clsact) program that emulates a NIC's RSS on a
 * veth pair: on the peer that sends into the gateway it computes the queue
 * the engine computes for the frame and records it in skb->queue_mapping,
 * so that the veth delivers the frame on that receive queue of the other
 * end, where the afxdp backend's per-queue AF_XDP socket reads it.
 *
 * Theory of operation
 * -------------------
 * The hash is rss_fanout.bpf.c's, compiled from the same source: this file
 * includes it, so the parser (Ethernet, one 802.1Q tag, IPv4, fragments on
 * addresses only, TCP/UDP ports, ICMP echo identifier as both ports when
 * icmp_id_as_port), the field set, the Toeplitz tables, the indirection
 * table and the two maps (rss_state, rss_active: rss_maps.h) are the
 * fanout program's. Its socket program rss_fanout() comes along in the
 * object; the loader does not load it.
 *
 * After the egress hook the kernel picks the transmit queue with
 * skb_tx_hash(), which takes a recorded receive queue as queue_mapping - 1:
 * the program stores queue + 1, the veth transmits on queue `queue` and its
 * peer receives on the receive queue of that number (veth_xmit()). A socket
 * that caches its own transmit queue (TCP) may override it; the gateway's
 * handoff covers such frames.
 */
#include "rss_fanout.bpf.c"

#include <linux/pkt_cls.h>

enum {
	QUEUE_MAPPING_BIAS = 1, /* skb_tx_hash(): recorded rx queue + 1 */
};

SECTION("tc")
int tc_rss(struct __sk_buff *skb)
{
	const struct io_rss_state *st;
	int b = rss_bucket(skb, &st);
	__u32 queue = QUEUE_SLOW;

	if (b >= 0)
		queue = st->table[(__u32)b & (IO_RSS_TABLE_MAX - 1)];
	skb->queue_mapping = queue + QUEUE_MAPPING_BIAS;
	return TC_ACT_OK;
}
