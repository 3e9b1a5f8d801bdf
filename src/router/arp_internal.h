/* arp_internal.h - what arp.c (the neighbour cache) and arp_wire.c (ARP
 * frames in and out) share. Not for other modules. */
#ifndef RSSNAT_ARP_INTERNAL_H
#define RSSNAT_ARP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

enum {
	ARP_PTYPE_IPV4 = 0x0800, /* ar$pro: the IPv4 EtherType */
	ARP_HLEN_ETHER = 6,
	ARP_PLEN_IPV4 = 4,
};

extern const uint8_t arp_mac_broadcast[6];

/* arp_mac_unicast() - whether the 6-byte @m is neither zero nor a group
 * address (IEEE 802). */
bool arp_mac_unicast(const uint8_t *m);

#endif
