/* arp_wire.c - ARP frames (RFC 826): parsing and validating what comes in,
 * building what goes out, and the names of the drop reasons. The cache and
 * its state machine are in arp.c.
 */
#include "arp.h"
#include "arp_internal.h"
#include "../pkt/pkt.h"
#include "../pkt/wire.h"

#include <string.h>

const uint8_t arp_mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static const char *const drop_names[ARP_DROP_COUNT] = {[ARP_OK] = "OK",
#define ARP_DROP_NAME(name, text) [ARP_DROP_##name] = #name,
						       ARP_DROP_REASONS(ARP_DROP_NAME)
#undef ARP_DROP_NAME
};

static const char *const drop_texts[ARP_DROP_COUNT] = {[ARP_OK] = "not dropped",
#define ARP_DROP_TEXT(name, text) [ARP_DROP_##name] = text,
						       ARP_DROP_REASONS(ARP_DROP_TEXT)
#undef ARP_DROP_TEXT
};

const char *arp_drop_name(enum arp_drop reason)
{
	return (unsigned)reason < ARP_DROP_COUNT ? drop_names[reason] : "?";
}

const char *arp_drop_text(enum arp_drop reason)
{
	return (unsigned)reason < ARP_DROP_COUNT ? drop_texts[reason] : "?";
}

/* IEEE 802: the group bit is the low bit of the first byte. */
bool arp_mac_unicast(const uint8_t *m)
{
	static const uint8_t zero[6];

	return !(m[0] & 1) && memcmp(m, zero, PKT_MAC_LEN) != 0;
}

static uint32_t get_addr(const uint8_t *b)
{
	uint32_t a;

	memcpy(&a, b, 4);
	return a;
}

/* Parsing ------------------------------------------------------------------ */

enum arp_drop arp_parse(struct arp_msg *m, const uint8_t *frame, size_t len)
{
	size_t l3 = PKT_ETH_LEN;
	const uint8_t *a;
	uint16_t type;

	memset(m, 0, sizeof(*m));
	if (len < PKT_ETH_LEN)
		return ARP_DROP_ETH_TRUNCATED;
	type = wire_get16(frame + PKT_ETH_TYPE);
	if (type == PKT_ETHERTYPE_VLAN) {
		if (len < PKT_ETH_LEN + PKT_VLAN_LEN)
			return ARP_DROP_VLAN_TRUNCATED;
		m->vlan = true;
		m->vlan_tci = wire_get16(frame + PKT_VLAN_TCI);
		type = wire_get16(frame + PKT_VLAN_TYPE);
		l3 += PKT_VLAN_LEN;
	}
	if (type != PKT_ETHERTYPE_ARP)
		return ARP_DROP_NOT_ARP;
	if (len - l3 < ARP_PKT_LEN)
		return ARP_DROP_TRUNCATED;
	a = frame + l3;
	/* RFC 826: hardware type, protocol type and both lengths must be ours
	 * before the addresses can even be located. */
	if (wire_get16(a + ARP_HTYPE) != ARP_HTYPE_ETHER)
		return ARP_DROP_HTYPE;
	if (wire_get16(a + ARP_PTYPE) != ARP_PTYPE_IPV4)
		return ARP_DROP_PTYPE;
	if (a[ARP_HLEN] != ARP_HLEN_ETHER)
		return ARP_DROP_HLEN;
	if (a[ARP_PLEN] != ARP_PLEN_IPV4)
		return ARP_DROP_PLEN;
	m->op = wire_get16(a + ARP_OP);
	if (m->op != ARP_OP_REQUEST && m->op != ARP_OP_REPLY)
		return ARP_DROP_OP;
	m->l3_off = (uint16_t)l3;
	memcpy(m->eth_dst, frame + PKT_ETH_DST, PKT_MAC_LEN);
	memcpy(m->eth_src, frame + PKT_ETH_SRC, PKT_MAC_LEN);
	memcpy(m->sha, a + ARP_SHA, PKT_MAC_LEN);
	memcpy(m->tha, a + ARP_THA, PKT_MAC_LEN);
	m->spa = get_addr(a + ARP_SPA);
	m->tpa = get_addr(a + ARP_TPA);
	/* RFC 1812 3.3.2: never believe a broadcast or multicast MAC. */
	if (!arp_mac_unicast(m->sha))
		return ARP_DROP_BAD_SHA;
	/* 0.0.0.0 is a probe's sender (RFC 5227 2.1.1), only in a request. */
	if (m->spa == 0 ? m->op != ARP_OP_REQUEST : !wire_ip_is_host(m->spa))
		return ARP_DROP_BAD_SPA;
	return ARP_OK;
}

/* Building ----------------------------------------------------------------- */

size_t arp_build(uint8_t *buf, size_t cap, uint16_t vlan_tci, uint16_t op, const uint8_t eth_dst[6],
		 const uint8_t sha[6], uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	size_t l2 = vlan_tci ? PKT_ETH_LEN + PKT_VLAN_LEN : PKT_ETH_LEN;
	size_t n = l2 + ARP_PKT_LEN;
	uint8_t *a = buf + l2;

	if (n < ARP_FRAME_MIN)
		n = ARP_FRAME_MIN;
	if (cap < n)
		return 0;
	memset(buf, 0, n);
	memcpy(buf + PKT_ETH_DST, eth_dst, PKT_MAC_LEN);
	memcpy(buf + PKT_ETH_SRC, sha, PKT_MAC_LEN);
	if (vlan_tci) {
		wire_put16(buf + PKT_ETH_TYPE, PKT_ETHERTYPE_VLAN);
		wire_put16(buf + PKT_VLAN_TCI, vlan_tci);
		wire_put16(buf + PKT_VLAN_TYPE, PKT_ETHERTYPE_ARP);
	} else {
		wire_put16(buf + PKT_ETH_TYPE, PKT_ETHERTYPE_ARP);
	}
	wire_put16(a + ARP_HTYPE, ARP_HTYPE_ETHER);
	wire_put16(a + ARP_PTYPE, ARP_PTYPE_IPV4);
	a[ARP_HLEN] = ARP_HLEN_ETHER;
	a[ARP_PLEN] = ARP_PLEN_IPV4;
	wire_put16(a + ARP_OP, op);
	memcpy(a + ARP_SHA, sha, PKT_MAC_LEN);
	memcpy(a + ARP_SPA, &spa, 4);
	if (tha)
		memcpy(a + ARP_THA, tha, PKT_MAC_LEN);
	memcpy(a + ARP_TPA, &tpa, 4);
	return n;
}

size_t arp_build_request(uint8_t *buf, size_t cap, uint16_t vlan_tci, const uint8_t sha[6],
			 uint32_t spa, uint32_t tpa, const uint8_t *dst_mac)
{
	return arp_build(buf, cap, vlan_tci, ARP_OP_REQUEST, dst_mac ? dst_mac : arp_mac_broadcast,
			 sha, spa, NULL, tpa);
}
