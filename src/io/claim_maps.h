/* claim_maps.h - whose a WAN frame is, as the eBPF programs
 * (bpf/claim_decide.h) and user space (wan_claim.c) both see it. Fixed-width
 * fields only, laid out the same by clang -target bpf and the host
 * compiler. Addresses in network byte order, ports in host order.
 *
 * All zero (a map just created) means dedicated mode: no WAN interface is
 * shared, every frame is rssnat's, as before shared mode existed.
 */
#ifndef RSSNAT_CLAIM_MAPS_H
#define RSSNAT_CLAIM_MAPS_H

#include <linux/types.h>

enum {
	CLAIM_PORT_WORDS = 65536 / 64, /* one bit per port, per protocol */
	CLAIM_PORT_PROTOS = 2,	       /* TCP at word 0, UDP at CLAIM_PORT_WORDS */
	CLAIM_FRAGS_MAX = 1024,	       /* datagrams whose first fragment decided */
	/* claim_live: one bit per external port (TCP, UDP) or identifier
	 * (ICMP) a live NAT mapping holds, TCP's, UDP's then ICMP's; the
	 * order of the NAT's protocol index (nat_internal.h NAT_PI_*). */
	CLAIM_LIVE_TCP = 0,
	CLAIM_LIVE_UDP = CLAIM_PORT_WORDS,
	CLAIM_LIVE_ICMP = 2 * CLAIM_PORT_WORDS,
	CLAIM_LIVE_WORDS = 3 * CLAIM_PORT_WORDS,
};

/* Entry 0 of the one-slot array claim_conf. */
struct claim_conf {
	__u32 wan_ifindex; /* the shared WAN interface; 0: dedicated mode */
	__u32 wan_addr;	   /* the address the kernel holds there; 0: none */
	__u16 port_lo;	   /* the NAT's dynamic ports and ICMP identifiers */
	__u16 port_hi;
	/* The LAN behind rssnat: the kernel holds its address on the host
	 * interface and, as any Linux host, would accept a WAN frame sent to
	 * it; such frames are rssnat's, which forwards none of them. */
	__u32 lan_net, lan_mask; /* lan_mask 0: none */
	__u32 pad;
};

/* A datagram whose first fragment was seen (RFC 791: source, destination,
 * protocol and identification name it). */
struct claim_frag_key {
	__u32 saddr, daddr;
	__u16 id;
	__u8 proto;
	__u8 pad;
};

/* The value of claim_frags: whose the datagram is. */
enum claim_owner {
	CLAIM_OURS = 0, /* rssnat's: its NAT range, a port mapping, its flow's error */
	CLAIM_HOST = 1, /* the host stack's */
	CLAIM_BOTH = 2, /* ARP: the kernel answers for its address, rssnat learns MACs */
};

#endif
