/* rewrite.c - change addresses, ports, ICMP identifiers and TTL in a parsed
 * packet, keeping every checksum right without recomputing any.
 *
 * Every change is a 16-bit word replaced on the wire, and every checksum
 * that covers the word is adjusted by RFC 1624 eqn. 3: the IPv4 header
 * checksum for addresses and TTL, the TCP/UDP checksum for ports and (via
 * the pseudo-header, RFC 793 3.1, RFC 768) addresses, the ICMP checksum for
 * an echo identifier (ICMP has no pseudo-header, RFC 792). Inside an ICMP
 * error's quote the same rules apply to the quoted headers, and each changed
 * quoted word is also folded into the error's own ICMP checksum, which covers
 * the quote as payload (RFC 5508 REQ-4). Nothing here allocates.
 */
#include "pkt.h"
#include "wire.h"

#include <arpa/inet.h>
#include <string.h>

/* What follows the IP header, as far as rewriting is concerned. */
enum l4_kind {
	L4_NONE, /* later fragment, other protocol, ICMP other than echo */
	L4_TCP,
	L4_UDP,
	L4_ECHO, /* ICMP echo request/reply: the identifier is the port */
};

/* Where the bytes live: in the packet itself (icmp NULL), or inside the quote
 * of the ICMP error at icmp, whose checksum must follow every change. */
struct site {
	uint8_t *icmp;
};

/* Replace the 16-bit word at @at (network order @val). Inside a quote, the
 * enclosing ICMP checksum is adjusted too; a word at an odd offset from the
 * ICMP header straddles two checksum words and so counts byte-swapped
 * (RFC 1071 2.(B)). With the quote at ICMP offset 8 and IHL a multiple of 4,
 * every field we touch is at an even offset, but nothing relies on that. */
static void put16(const struct site *s, uint8_t *at, uint16_t val)
{
	uint16_t old = wire_rd16(at);
	uint8_t *csum;

	if (s->icmp) {
		csum = s->icmp + PKT_ICMP_CSUM;
		if ((at - s->icmp) & 1)
			wire_wr16(csum, csum_update16(wire_rd16(csum), wire_bswap16(old),
						      wire_bswap16(val)));
		else
			wire_wr16(csum, csum_update16(wire_rd16(csum), old, val));
	}
	wire_wr16(at, val);
}

/* Write an IPv4 address (network order) at @ip + @field and fix the header
 * checksum. Returns the old address for the pseudo-header update. */
static uint32_t put_addr(const struct site *s, uint8_t *ip, size_t field, uint32_t addr)
{
	uint8_t wire[4];
	uint32_t old;
	uint16_t csum = wire_rd16(ip + PKT_IP_CSUM);

	memcpy(&old, ip + field, 4);
	memcpy(wire, &addr, 4);
	put16(s, ip + field, wire_rd16(wire));
	put16(s, ip + field + 2, wire_rd16(wire + 2));
	put16(s, ip + PKT_IP_CSUM, csum_update32(csum, old, addr));
	return old;
}

/* TCP or UDP: the port and the checksum, which covers the port and, through
 * the pseudo-header, the address. A quoted header may not carry its checksum
 * (TCP's is at offset 16, beyond the 8 bytes RFC 792 promises). */
static void put_port(const struct site *s, uint8_t *l4, size_t l4_len, enum l4_kind kind,
		     size_t port_field, uint32_t old_addr, uint32_t addr, uint16_t port)
{
	size_t csum_field = kind == L4_TCP ? PKT_TCP_CSUM : PKT_UDP_CSUM;
	uint16_t nport = htons(port);
	uint16_t csum;

	if (csum_field + 2 <= l4_len) {
		csum = wire_rd16(l4 + csum_field);
		/* RFC 768: zero means the sender computed none; keep it so. */
		if (kind == L4_TCP || csum != 0) {
			csum = csum_update32(csum, old_addr, addr);
			csum = csum_update16(csum, wire_rd16(l4 + port_field), nport);
			/* RFC 768: a computed zero is sent as all ones. */
			if (kind == L4_UDP && csum == 0)
				csum = 0xffff;
			put16(s, l4 + csum_field, csum);
		}
	}
	put16(s, l4 + port_field, nport);
}

/* ICMP echo: the identifier and the ICMP checksum (no pseudo-header). */
static void put_echo_id(const struct site *s, uint8_t *icmp, uint16_t id)
{
	uint16_t nid = htons(id);
	uint16_t csum = wire_rd16(icmp + PKT_ICMP_CSUM);

	put16(s, icmp + PKT_ICMP_CSUM, csum_update16(csum, wire_rd16(icmp + PKT_ICMP_ID), nid));
	put16(s, icmp + PKT_ICMP_ID, nid);
}

/* One end (source or destination) of an IPv4 packet and its L4 header. */
struct endpoint {
	uint8_t *ip;
	uint8_t *l4;
	size_t l4_len; /* bytes of L4 header available */
	enum l4_kind kind;
	bool dst;
};

static void rewrite_endpoint(const struct site *s, const struct endpoint *e, uint32_t addr,
			     uint16_t port)
{
	size_t addr_field = e->dst ? PKT_IP_DADDR : PKT_IP_SADDR;
	size_t port_field = e->dst ? PKT_UDP_DPORT : PKT_UDP_SPORT; /* same in TCP */
	uint32_t old = put_addr(s, e->ip, addr_field, addr);

	switch (e->kind) {
	case L4_TCP:
	case L4_UDP:
		put_port(s, e->l4, e->l4_len, e->kind, port_field, old, addr, port);
		break;
	case L4_ECHO:
		put_echo_id(s, e->l4, port);
		break;
	case L4_NONE:
		break;
	}
}

static enum l4_kind outer_kind(const struct pkt *p)
{
	if (!(p->flags & PKT_F_L4))
		return L4_NONE;
	if (p->proto == PKT_PROTO_TCP)
		return L4_TCP;
	if (p->proto == PKT_PROTO_UDP)
		return L4_UDP;
	return p->flags & PKT_F_ICMP_QUERY ? L4_ECHO : L4_NONE;
}

static enum l4_kind inner_kind(const struct pkt *p)
{
	const struct pkt_inner *in = &p->inner;

	if (p->flags & PKT_F_INNER_FRAG)
		return L4_NONE;
	if (in->proto == PKT_PROTO_TCP)
		return L4_TCP;
	if (in->proto == PKT_PROTO_UDP)
		return L4_UDP;
	if (in->proto == PKT_PROTO_ICMP &&
	    (in->icmp_type == PKT_ICMP_ECHO || in->icmp_type == PKT_ICMP_ECHO_REPLY))
		return L4_ECHO;
	return L4_NONE;
}

/* RFC 1624 eqn. 3 cannot produce 0xffff, the checksum of bytes that sum to
 * +0 (all zero): it yields 0x0000, which fails verification. An IPv4 header
 * (version), a TCP or UDP pseudo-header (protocol) and an ICMP error (type)
 * are never all zero; an ICMP echo reply can be (type 0, code 0, identifier
 * rewritten to 0, sequence 0, no data). So a 0x0000 echo checksum after a
 * rewrite is recomputed over the whole message: one update in 65536, and
 * only when the message is all here (not a fragment). */
static void fix_zero_echo_csum(const struct pkt *p)
{
	uint8_t *icmp = p->data + p->l4_off;

	if (!(p->flags & PKT_F_FRAG) && wire_rd16(icmp + PKT_ICMP_CSUM) == 0)
		wire_wr16(icmp + PKT_ICMP_CSUM, csum_icmp(icmp, p->l4_len));
}

static void set_outer(struct pkt *p, bool dst, uint32_t addr, uint16_t port)
{
	const struct site plain = {NULL};
	struct endpoint e = {
	    .ip = p->data + p->l3_off,
	    .l4 = p->data + p->l4_off,
	    .l4_len = p->l4_len,
	    .kind = outer_kind(p),
	    .dst = dst,
	};

	rewrite_endpoint(&plain, &e, addr, port);
	*(dst ? &p->daddr : &p->saddr) = addr;
	if (e.kind == L4_ECHO) {
		fix_zero_echo_csum(p);
		p->sport = p->dport = port;
	} else if (e.kind != L4_NONE)
		*(dst ? &p->dport : &p->sport) = port;
}

void pkt_set_src(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_outer(p, false, addr, port);
}

void pkt_set_dst(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_outer(p, true, addr, port);
}

static void set_inner(struct pkt *p, bool dst, uint32_t addr, uint16_t port)
{
	struct pkt_inner *in = &p->inner;
	const struct site quote = {p->data + p->l4_off};
	struct endpoint e = {
	    .ip = p->data + in->l3_off,
	    .l4 = p->data + in->l4_off,
	    .l4_len = in->l4_len,
	    .kind = inner_kind(p),
	    .dst = dst,
	};

	rewrite_endpoint(&quote, &e, addr, port);
	*(dst ? &in->daddr : &in->saddr) = addr;
	if (e.kind == L4_ECHO)
		in->sport = in->dport = port;
	else if (e.kind != L4_NONE)
		*(dst ? &in->dport : &in->sport) = port;
}

void pkt_set_inner_src(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_inner(p, false, addr, port);
}

void pkt_set_inner_dst(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_inner(p, true, addr, port);
}

void pkt_set_ttl(struct pkt *p, uint8_t ttl)
{
	uint8_t *ip = p->data + p->l3_off;
	uint16_t old = wire_rd16(ip + PKT_IP_TTL); /* TTL and protocol: one word */

	ip[PKT_IP_TTL] = ttl;
	wire_wr16(ip + PKT_IP_CSUM,
		  csum_update16(wire_rd16(ip + PKT_IP_CSUM), old, wire_rd16(ip + PKT_IP_TTL)));
	p->ttl = ttl;
}

/* Where the IPv4 header of a raw Ethernet frame (one 802.1Q tag at most)
 * starts, or 0 if it carries no whole one. */
static size_t frame_ipv4(const uint8_t *frame, size_t len)
{
	size_t off = PKT_ETH_LEN;
	uint16_t type = len >= PKT_ETH_LEN ? ntohs(wire_rd16(frame + PKT_ETH_TYPE)) : 0;

	if (type == PKT_ETHERTYPE_VLAN && len >= PKT_ETH_LEN + PKT_VLAN_LEN) {
		type = ntohs(wire_rd16(frame + PKT_VLAN_TYPE));
		off += PKT_VLAN_LEN;
	}
	if (type != PKT_ETHERTYPE_IPV4 || len < off + PKT_IP_MIN)
		return 0;
	const uint8_t *ip = frame + off;
	if ((ip[PKT_IP_VHL] >> 4) != 4 || (ip[PKT_IP_VHL] & 0xf) * 4u < PKT_IP_MIN)
		return 0;
	return off;
}

bool pkt_mark_ce(uint8_t *frame, size_t len)
{
	size_t off = frame_ipv4(frame, len);
	uint8_t *ip = frame + off;

	if (!off || !(ip[PKT_IP_TOS] & PKT_ECN_MASK))
		return false; /* not IPv4, or Not-ECT: the sender cannot hear a mark */
	uint16_t old = wire_rd16(ip + PKT_IP_VHL); /* version, IHL and the TOS byte: one word */
	ip[PKT_IP_TOS] |= PKT_ECN_CE;
	wire_wr16(ip + PKT_IP_CSUM,
		  csum_update16(wire_rd16(ip + PKT_IP_CSUM), old, wire_rd16(ip + PKT_IP_VHL)));
	return true;
}

bool pkt_congestion_controlled(const uint8_t *frame, size_t len)
{
	size_t off = frame_ipv4(frame, len);

	return off && (frame[off + PKT_IP_PROTO] == PKT_PROTO_TCP ||
		       frame[off + PKT_IP_PROTO] == PKT_PROTO_UDP);
}
