/* parse.c - pkt_parse(): one pass from the Ethernet header to the L4 header
 * (and the packet quoted by an ICMP error), every length checked.
 *
 * Each layer gets the bytes its parent vouched for, never more: IPv4 is
 * bounded by the frame, L4 by the IPv4 total length (so Ethernet padding is
 * never taken for payload), the ICMP quote by the ICMP message. All reads go
 * through pkt_at() or happen after an explicit length check.
 */
#include "pkt.h"
#include "wire.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	IP_VERSION_4 = 4,
	IP_IHL_MIN = 5,
	IPOPT_EOL = 0,	     /* RFC 791: end of option list */
	IPOPT_NOP = 1,	     /* RFC 791: no operation */
	IPOPT_HDR = 2,	     /* type and length bytes of every other option */
	IPOPT_MAX_WALK = 40, /* every step eats >= 1 of at most 40 option bytes */
	FRAG_UNIT = 8,
	TCP_DOFF_MIN = 5,
	TCP_FLAGS_MASK = 0x3f, /* the RFC 793 six; ECN bits are not ours */
};

static const char *const drop_text[PKT_DROP_COUNT] = {[PKT_OK] = "not dropped",
#define PKT_DROP_TEXT(name, text) [PKT_DROP_##name] = text,
						      PKT_DROP_REASONS(PKT_DROP_TEXT)
#undef PKT_DROP_TEXT
};

/* Counter names: the X-list names in lower case. The preprocessor cannot
 * lower-case, so they are spelt out; designated initialisers catch a renamed
 * reason at compile time and test_pkt.c checks the spelling against the list. */
static const char *const drop_name[PKT_DROP_COUNT] = {
    [PKT_OK] = "ok",
    [PKT_DROP_ETH_TRUNCATED] = "eth_truncated",
    [PKT_DROP_VLAN_TRUNCATED] = "vlan_truncated",
    [PKT_DROP_NOT_IPV4] = "not_ipv4",
    [PKT_DROP_IP_TRUNCATED] = "ip_truncated",
    [PKT_DROP_IP_VERSION] = "ip_version",
    [PKT_DROP_IP_IHL] = "ip_ihl",
    [PKT_DROP_IP_TOTLEN] = "ip_totlen",
    [PKT_DROP_IP_CHECKSUM] = "ip_checksum",
    [PKT_DROP_IP_OPTIONS] = "ip_options",
    [PKT_DROP_IP_FRAGMENT] = "ip_fragment",
    [PKT_DROP_L4_TRUNCATED] = "l4_truncated",
    [PKT_DROP_TCP_DOFF] = "tcp_doff",
    [PKT_DROP_UDP_LENGTH] = "udp_length",
    [PKT_DROP_ICMP_INNER] = "icmp_inner",
};

const char *pkt_drop_name(enum pkt_drop reason)
{
	if ((unsigned)reason >= PKT_DROP_COUNT || !drop_name[reason])
		return "unknown";
	return drop_name[reason];
}

const char *pkt_drop_text(enum pkt_drop reason)
{
	if ((unsigned)reason >= PKT_DROP_COUNT || !drop_text[reason])
		return "unknown reason";
	return drop_text[reason];
}

static uint32_t get_addr(const uint8_t *b)
{
	uint32_t a;

	memcpy(&a, b, 4);
	return a;
}

/* Ethernet II and at most one 802.1Q tag; sets l3_off. */
static enum pkt_drop parse_l2(struct pkt *p)
{
	const uint8_t *eth = pkt_at(p, 0, PKT_ETH_LEN);
	const uint8_t *tag;
	uint16_t type;

	if (!eth)
		return PKT_DROP_ETH_TRUNCATED;
	type = wire_get16(eth + PKT_ETH_TYPE);
	p->l3_off = PKT_ETH_LEN;
	if (type == PKT_ETHERTYPE_VLAN) {
		tag = pkt_at(p, 0, PKT_ETH_LEN + PKT_VLAN_LEN);
		if (!tag)
			return PKT_DROP_VLAN_TRUNCATED;
		p->flags |= PKT_F_VLAN;
		p->vlan_tci = wire_get16(tag + PKT_VLAN_TCI);
		type = wire_get16(tag + PKT_VLAN_TYPE);
		p->l3_off = PKT_ETH_LEN + PKT_VLAN_LEN;
	}
	return type == PKT_ETHERTYPE_IPV4 ? PKT_OK : PKT_DROP_NOT_IPV4;
}

/* RFC 791 options: EOL ends the list, NOP is one byte, every other option
 * carries a length (>= 2) that must stay inside the header. */
static bool ip_options_ok(const uint8_t *opt, size_t n)
{
	size_t i = 0;

	for (unsigned step = 0; i < n && step < IPOPT_MAX_WALK; step++) {
		if (opt[i] == IPOPT_EOL)
			return true;
		if (opt[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		if (n - i < IPOPT_HDR || opt[i + 1] < IPOPT_HDR || opt[i + 1] > n - i)
			return false;
		i += opt[i + 1];
	}
	return i == n; /* false only if the walk cap were ever reached */
}

/* RFC 791 fragments: flags, offset, and the end of this piece within 64 KiB. */
static enum pkt_drop parse_frag(struct pkt *p, const uint8_t *ip)
{
	uint16_t fo = wire_get16(ip + PKT_IP_FRAG);

	p->frag_off = (uint16_t)((fo & PKT_IP_OFFMASK) * FRAG_UNIT);
	if (fo & PKT_IP_DF)
		p->flags |= PKT_F_DF;
	if ((fo & PKT_IP_MF) || p->frag_off)
		p->flags |= PKT_F_FRAG;
	if ((uint32_t)p->frag_off + p->l4_len > PKT_IP_MAXLEN)
		return PKT_DROP_IP_FRAGMENT;
	return PKT_OK;
}

static enum pkt_drop parse_ipv4(struct pkt *p)
{
	const uint8_t *ip = pkt_at(p, p->l3_off, PKT_IP_MIN);
	size_t avail = (size_t)p->len - p->l3_off;
	size_t ihl, totlen;

	if (!ip)
		return PKT_DROP_IP_TRUNCATED;
	if (ip[PKT_IP_VHL] >> 4 != IP_VERSION_4)
		return PKT_DROP_IP_VERSION;
	ihl = (size_t)(ip[PKT_IP_VHL] & 0x0f) * 4;
	if (ihl < PKT_IP_MIN)
		return PKT_DROP_IP_IHL;
	if (ihl > avail)
		return PKT_DROP_IP_TRUNCATED;
	totlen = wire_get16(ip + PKT_IP_TOTLEN);
	if (totlen < ihl || totlen > avail)
		return PKT_DROP_IP_TOTLEN;
	/* RFC 1071: a correct header sums to all ones, whichever of the two
	 * representations of zero the sender stored. */
	if (csum_fold(csum_add(0, ip, ihl)) != 0xffff)
		return PKT_DROP_IP_CHECKSUM;
	if (!ip_options_ok(ip + PKT_IP_OPTS, ihl - PKT_IP_MIN))
		return PKT_DROP_IP_OPTIONS;

	p->l3_len = (uint16_t)totlen;
	p->l4_off = (uint16_t)(p->l3_off + ihl);
	p->l4_len = (uint16_t)(totlen - ihl);
	p->ip_id = wire_get16(ip + PKT_IP_ID);
	p->ttl = ip[PKT_IP_TTL];
	p->proto = ip[PKT_IP_PROTO];
	p->saddr = get_addr(ip + PKT_IP_SADDR);
	p->daddr = get_addr(ip + PKT_IP_DADDR);
	return parse_frag(p, ip);
}

static enum pkt_drop parse_tcp(struct pkt *p, const uint8_t *l4)
{
	size_t doff;

	if (p->l4_len < PKT_TCP_MIN)
		return PKT_DROP_L4_TRUNCATED;
	doff = (size_t)(l4[PKT_TCP_DOFF] >> 4);
	if (doff < TCP_DOFF_MIN || doff * 4 > p->l4_len)
		return PKT_DROP_TCP_DOFF;
	p->sport = wire_get16(l4 + PKT_TCP_SPORT);
	p->dport = wire_get16(l4 + PKT_TCP_DPORT);
	p->tcp_flags = l4[PKT_TCP_FLAGS] & TCP_FLAGS_MASK;
	return PKT_OK;
}

/* The UDP length is checked both ways (as WireGuard's receive path does):
 * equal to the IP payload when whole; for a first fragment it must cover at
 * least the bytes that came in this fragment. */
static enum pkt_drop parse_udp(struct pkt *p, const uint8_t *l4)
{
	uint16_t ulen;

	if (p->l4_len < PKT_UDP_HLEN)
		return PKT_DROP_L4_TRUNCATED;
	ulen = wire_get16(l4 + PKT_UDP_LEN);
	if (ulen < PKT_UDP_HLEN)
		return PKT_DROP_UDP_LENGTH;
	if (p->flags & PKT_F_FRAG ? ulen < p->l4_len : ulen != p->l4_len)
		return PKT_DROP_UDP_LENGTH;
	p->sport = wire_get16(l4 + PKT_UDP_SPORT);
	p->dport = wire_get16(l4 + PKT_UDP_DPORT);
	return PKT_OK;
}

static bool icmp_is_echo(uint8_t type)
{
	return type == PKT_ICMP_ECHO || type == PKT_ICMP_ECHO_REPLY;
}

static bool icmp_is_error(uint8_t type)
{
	return type == PKT_ICMP_UNREACH || type == PKT_ICMP_TIME_EXCEEDED ||
	       type == PKT_ICMP_PARAM_PROBLEM;
}

/* The quoted L4 header: ports for TCP and UDP (both carry them in the first
 * 4 bytes), the identifier for echo. A quoted later fragment has none. */
static void parse_inner_l4(struct pkt *p, const uint8_t *qip, const uint8_t *ql4)
{
	struct pkt_inner *in = &p->inner;

	if (wire_get16(qip + PKT_IP_FRAG) & PKT_IP_OFFMASK) {
		p->flags |= PKT_F_INNER_FRAG;
		return;
	}
	switch (in->proto) {
	case PKT_PROTO_TCP:
	case PKT_PROTO_UDP:
		in->sport = wire_get16(ql4 + PKT_UDP_SPORT);
		in->dport = wire_get16(ql4 + PKT_UDP_DPORT);
		break;
	case PKT_PROTO_ICMP:
		in->icmp_type = ql4[PKT_ICMP_TYPE];
		if (icmp_is_echo(in->icmp_type))
			in->sport = in->dport = wire_get16(ql4 + PKT_ICMP_ID);
		break;
	default:
		break;
	}
}

/* RFC 792: an error carries the offending IP header and at least 8 bytes of
 * what followed it. The quoted checksum and total length are not checked:
 * routers quote what they received, possibly truncated (RFC 1812 4.3.2.3). */
static enum pkt_drop parse_icmp_inner(struct pkt *p)
{
	size_t qoff = (size_t)p->l4_off + PKT_ICMP_HLEN;
	size_t qlen = (size_t)p->l4_len - PKT_ICMP_HLEN;
	const uint8_t *qip = pkt_at(p, qoff, qlen);
	size_t ihl;

	if (!qip || qlen < PKT_IP_MIN || qip[PKT_IP_VHL] >> 4 != IP_VERSION_4)
		return PKT_DROP_ICMP_INNER;
	ihl = (size_t)(qip[PKT_IP_VHL] & 0x0f) * 4;
	if (ihl < PKT_IP_MIN || ihl > qlen || qlen - ihl < PKT_ICMP_QUOTE_L4)
		return PKT_DROP_ICMP_INNER;
	p->inner.l3_off = (uint16_t)qoff;
	p->inner.l4_off = (uint16_t)(qoff + ihl);
	p->inner.l4_len = (uint16_t)(qlen - ihl);
	p->inner.proto = qip[PKT_IP_PROTO];
	p->inner.saddr = get_addr(qip + PKT_IP_SADDR);
	p->inner.daddr = get_addr(qip + PKT_IP_DADDR);
	parse_inner_l4(p, qip, qip + ihl);
	p->flags |= PKT_F_ICMP_ERROR;
	return PKT_OK;
}

static enum pkt_drop parse_icmp(struct pkt *p, const uint8_t *l4)
{
	if (p->l4_len < PKT_ICMP_HLEN)
		return PKT_DROP_L4_TRUNCATED;
	p->icmp_type = l4[PKT_ICMP_TYPE];
	p->icmp_code = l4[PKT_ICMP_CODE];
	if (icmp_is_echo(p->icmp_type)) {
		p->flags |= PKT_F_ICMP_QUERY;
		p->sport = p->dport = wire_get16(l4 + PKT_ICMP_ID);
	} else if (icmp_is_error(p->icmp_type)) {
		/* An error about an error is described too; dropping it is the
		 * NAT's call (RFC 1122 3.2.2). */
		return parse_icmp_inner(p);
	}
	return PKT_OK;
}

/* Only an unfragmented datagram or a first fragment has an L4 header. */
static enum pkt_drop parse_l4(struct pkt *p)
{
	const uint8_t *l4 = p->data + p->l4_off; /* l4_len bytes, inside the frame */
	enum pkt_drop r;

	switch (p->proto) {
	case PKT_PROTO_TCP:
		r = parse_tcp(p, l4);
		break;
	case PKT_PROTO_UDP:
		r = parse_udp(p, l4);
		break;
	case PKT_PROTO_ICMP:
		r = parse_icmp(p, l4);
		break;
	default:
		return PKT_OK; /* GRE, ESP, ...: described at L3 only */
	}
	if (r == PKT_OK)
		p->flags |= PKT_F_L4;
	return r;
}

enum pkt_drop pkt_parse(struct pkt *p, uint8_t *frame, uint16_t len, uint16_t cap)
{
	enum pkt_drop r;

	memset(p, 0, sizeof(*p));
	p->data = frame;
	p->len = len;
	p->cap = cap < len ? len : cap;
	r = parse_l2(p);
	if (r != PKT_OK)
		return r;
	r = parse_ipv4(p);
	if (r != PKT_OK)
		return r;
	return p->frag_off ? PKT_OK : parse_l4(p);
}
