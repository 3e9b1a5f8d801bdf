/* xsk_redirect.bpf.c - the XDP program of the afxdp backend: every frame goes
 * to the AF_XDP socket of the receive queue it arrived on.
 *
 * The backend puts queue q's socket at index q of the XSKMAP. A frame on a
 * queue without a socket (the interface has more queues than the port) is
 * passed to the kernel stack, as the low bits of the flags ask.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* bpf_helpers.h's SEC(), spelled out as in rss_fanout.bpf.c. */
#define SECTION(name) __attribute__((section(name), used))

enum {
	XSK_QUEUES_MAX = 64, /* = RSS_QUEUES_MAX */
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSK_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SECTION(".maps");

SECTION("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	return (int)bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SECTION("license") = "Dual BSD/GPL";
