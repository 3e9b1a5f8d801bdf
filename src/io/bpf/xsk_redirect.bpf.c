/* xsk_redirect.bpf.c - the XDP program of the afxdp backend: every frame goes
 * to the AF_XDP socket of the receive queue it arrived on, except those of
 * flows on the kernel fast path (offload.bpf.c): XDP_PASS takes them to tc
 * ingress, where offload_tc forwards them. Its maps are the fast path's
 * (the backend reuses their fds); without them (offload unavailable) the
 * configuration says disabled and every frame goes to the socket.
 * In shared uplink mode the host's WAN frames, and ARP, are passed to the
 * kernel (claim_decide.h, through offload_decide()).
 *
 * The backend puts queue q's socket at index q of the XSKMAP. A frame on a
 * queue without a socket (the interface has more queues than the port) is
 * passed to the kernel stack, as the low bits of the flags ask.
 *
 * Each frame for a socket is stamped: bpf_ktime_get_ns() in 8 bytes of metadata
 * before it, which AF_XDP hands to user space with the frame, so the worker
 * knows how long the frame waited in the rings (CoDel, RFC 8289; afxdp.c).
 * A driver without metadata support refuses the adjustment: no stamp.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* bpf_helpers.h's SEC(), spelled out as in rss_fanout.bpf.c. */
#define SECTION(name)			 __attribute__((section(name), used))
#define OFFLOAD_CTX			 struct xdp_md
#define OFFLOAD_LOAD(ctx, off, buf, len) bpf_xdp_load_bytes(ctx, off, buf, len)
#define OFFLOAD_IFINDEX(ctx)		 ((ctx)->ingress_ifindex)
#include "offload_decide.h"

enum {
	XSK_QUEUES_MAX = 64, /* = RSS_QUEUES_MAX */
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSK_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SECTION(".maps");

static __attribute__((always_inline)) void stamp(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)))
		return;
	__u64 *meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return; /* the verifier's bounds check */
	*meta = bpf_ktime_get_ns();
}

SECTION("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	struct seen s;

	if (offload_decide(ctx, &s) == FORWARD)
		return XDP_PASS; /* the fast path's tc program takes it */
	/* The host's frames, and ARP, to the kernel (shared mode): an XDP
	 * program cannot give a frame to both; the kernel answers ARP for its
	 * address, and rssnat reads the gateway's MAC from the kernel's
	 * neighbour table instead (src/uplink). */
	if (s.owner != CLAIM_OURS)
		return XDP_PASS;
	stamp(ctx); /* only what goes to a socket waits in a ring */
	return (int)bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SECTION("license") = "Dual BSD/GPL";
