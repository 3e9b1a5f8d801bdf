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
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#define SECTION(name) __attribute__((section(name), used))

SECTION("tc")
int stack_guard(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_SHOT;
}

char LICENSE[] SECTION("license") = "Dual BSD/GPL";
