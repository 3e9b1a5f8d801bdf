/* stack_guard.bpf.c - a tc ingress (clsact) program that keeps the kernel's
 * own IP stack off an interface rssnat owns.
 *
 * The afpacket backend's sockets are packet taps: the kernel delivers each
 * received frame to them and then carries on with it itself. Once the
 * gateway gives the kernel its LAN address on the host interface (host.c),
 * the kernel would also accept, answer or reject (ICMP port unreachable)
 * what LAN hosts send to that address on the LAN interface, and answer ARP
 * for it on both sides. Taps on the device run before the ingress hook
 * (__netif_receive_skb_core() delivers ptype_all, then runs
 * sch_handle_ingress()), so dropping every frame here leaves rssnat's
 * sockets all they had and the kernel nothing. Frames the afxdp backend
 * redirects never reach this hook.
 *
 * In shared uplink mode (issue 11) the kernel keeps the WAN interface: on
 * it the guard shoots only rssnat's frames and passes the host's, counted,
 * as claim_decide.h decides (the afxdp backend's XDP program passes the
 * host's frames, so they come here too, and are counted here once). On
 * the LAN, and in dedicated mode, it still shoots every frame.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#define SECTION(name)		       __attribute__((section(name), used))
#define CLAIM_CTX		       struct __sk_buff
#define CLAIM_LOAD(ctx, off, buf, len) bpf_skb_load_bytes(ctx, off, buf, len)
#include "claim_decide.h"

SECTION("tc")
int stack_guard(struct __sk_buff *skb)
{
	enum claim_owner who = claim_decide(skb, skb->ifindex);

	if (who == CLAIM_OURS)
		return TC_ACT_SHOT;
	if (who == CLAIM_HOST)
		claim_count_host();
	return TC_ACT_UNSPEC; /* on to the kernel, as if no guard were there */
}

char LICENSE[] SECTION("license") = "Dual BSD/GPL";
