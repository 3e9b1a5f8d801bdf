/* build.c - frame builders: pkt_build() from a spec, ICMP errors quoting a
 * given packet, and the in-place ICMP error reply the NAT sends when it has
 * to refuse a packet (RFC 5508 REQ-8). */
#include "build.h"
#include "pkt.h"
#include "wire.h"

#include <arpa/inet.h>
#include <assert.h>
#include <string.h>

enum {
	IP_VHL_V4 = 0x40, /* version 4; IHL is or-ed in */
	IP_TTL_DEFAULT = 64,
	IP_OPTS_MAX = 40,
	FRAG_UNIT = 8,
	TCP_DOFF_WORDS = 5 << 4, /* 20-byte header, no options */
	TCP_WINDOW = 0xffff,
	ICMP_SOURCE_QUENCH = 4, /* RFC 1122 3.2.2: these two are errors too */
	ICMP_REDIRECT = 5,
	ICMP_ERROR_LEN = PKT_IP_MIN + PKT_ICMP_HLEN, /* headers put before a quote */
};

/* The variable part of an IPv4 header we write. */
struct ip_fields {
	uint32_t saddr, daddr;
	uint16_t totlen, id, frag;
	uint8_t ttl, proto;
	const uint8_t *opts;
	uint8_t opts_len;
};

static void put_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put_be32(uint8_t *b, uint32_t v)
{
	put_be16(b, (uint16_t)(v >> 16));
	put_be16(b + 2, (uint16_t)v);
}

/* Ethernet II, with an 802.1Q tag when @tci is non-zero. Returns its length. */
static size_t put_eth(uint8_t *b, const uint8_t *dst, const uint8_t *src, uint16_t tci)
{
	memcpy(b + PKT_ETH_DST, dst, PKT_MAC_LEN);
	memcpy(b + PKT_ETH_SRC, src, PKT_MAC_LEN);
	if (!tci) {
		put_be16(b + PKT_ETH_TYPE, PKT_ETHERTYPE_IPV4);
		return PKT_ETH_LEN;
	}
	put_be16(b + PKT_ETH_TYPE, PKT_ETHERTYPE_VLAN);
	put_be16(b + PKT_VLAN_TCI, tci);
	put_be16(b + PKT_VLAN_TYPE, PKT_ETHERTYPE_IPV4);
	return PKT_ETH_LEN + PKT_VLAN_LEN;
}

static void put_ipv4(uint8_t *ip, const struct ip_fields *f)
{
	size_t ihl = PKT_IP_MIN + f->opts_len;
	uint16_t csum;

	ip[PKT_IP_VHL] = (uint8_t)(IP_VHL_V4 | ihl / 4);
	ip[PKT_IP_TOS] = 0;
	put_be16(ip + PKT_IP_TOTLEN, f->totlen);
	put_be16(ip + PKT_IP_ID, f->id);
	put_be16(ip + PKT_IP_FRAG, f->frag);
	ip[PKT_IP_TTL] = f->ttl;
	ip[PKT_IP_PROTO] = f->proto;
	memcpy(ip + PKT_IP_SADDR, &f->saddr, 4);
	memcpy(ip + PKT_IP_DADDR, &f->daddr, 4);
	if (f->opts_len)
		memcpy(ip + PKT_IP_OPTS, f->opts, f->opts_len);
	csum = csum_ipv4_header(ip, ihl);
	memcpy(ip + PKT_IP_CSUM, &csum, 2);
}

/* Bytes of L4 header pkt_build() writes before the payload. */
static size_t l4_header_len(const struct pkt_spec *s)
{
	if (s->frag_off)
		return 0;
	switch (s->proto) {
	case PKT_PROTO_TCP:
		return PKT_TCP_MIN;
	case PKT_PROTO_UDP:
		return PKT_UDP_HLEN;
	case PKT_PROTO_ICMP:
		return PKT_ICMP_HLEN;
	default:
		return 0;
	}
}

static bool spec_ok(const struct pkt_spec *s)
{
	return s->ip_options_len % 4 == 0 && s->ip_options_len <= IP_OPTS_MAX &&
	       (!s->ip_options_len || s->ip_options) && (!s->payload_len || s->payload) &&
	       s->frag_off % FRAG_UNIT == 0;
}

static void put_tcp(uint8_t *l4, const struct pkt_spec *s)
{
	put_be16(l4 + PKT_TCP_SPORT, s->sport);
	put_be16(l4 + PKT_TCP_DPORT, s->dport);
	put_be32(l4 + PKT_TCP_SEQ, s->seq);
	put_be32(l4 + PKT_TCP_ACK_NO, s->ack);
	l4[PKT_TCP_DOFF] = TCP_DOFF_WORDS;
	l4[PKT_TCP_FLAGS] = s->tcp_flags;
	put_be16(l4 + PKT_TCP_WINDOW, TCP_WINDOW);
	put_be16(l4 + PKT_TCP_CSUM, 0);
	put_be16(l4 + PKT_TCP_URG, 0);
}

static void put_udp(uint8_t *l4, const struct pkt_spec *s)
{
	put_be16(l4 + PKT_UDP_SPORT, s->sport);
	put_be16(l4 + PKT_UDP_DPORT, s->dport);
	put_be16(l4 + PKT_UDP_LEN,
		 s->udp_len ? s->udp_len : (uint16_t)(PKT_UDP_HLEN + s->payload_len));
	put_be16(l4 + PKT_UDP_CSUM, 0);
}

static void put_icmp(uint8_t *l4, const struct pkt_spec *s)
{
	l4[PKT_ICMP_TYPE] = s->icmp_type;
	l4[PKT_ICMP_CODE] = s->icmp_code;
	put_be16(l4 + PKT_ICMP_CSUM, 0);
	put_be16(l4 + PKT_ICMP_ID, s->icmp_id);
	put_be16(l4 + PKT_ICMP_SEQ, s->icmp_seq);
}

/* The L4 header (payload already in place after it) and its checksum. */
static void put_l4(uint8_t *l4, size_t n, const struct pkt_spec *s)
{
	uint16_t csum;
	size_t field;

	switch (s->proto) {
	case PKT_PROTO_TCP:
		put_tcp(l4, s);
		field = PKT_TCP_CSUM;
		csum = csum_ipv4_l4(s->saddr, s->daddr, s->proto, l4, n);
		break;
	case PKT_PROTO_UDP:
		put_udp(l4, s);
		field = PKT_UDP_CSUM;
		csum = s->udp_no_checksum ? 0 : csum_ipv4_l4(s->saddr, s->daddr, s->proto, l4, n);
		break;
	case PKT_PROTO_ICMP:
		put_icmp(l4, s);
		field = PKT_ICMP_CSUM;
		csum = csum_icmp(l4, n);
		break;
	default:
		return;
	}
	if (s->l4_csum_given)
		csum = s->l4_csum;
	memcpy(l4 + field, &csum, 2);
}

size_t pkt_build(uint8_t *buf, size_t cap, const struct pkt_spec *s)
{
	size_t l2 = s->vlan_tci ? PKT_ETH_LEN + PKT_VLAN_LEN : PKT_ETH_LEN;
	size_t ihl = PKT_IP_MIN + (size_t)s->ip_options_len;
	size_t l4h = l4_header_len(s);
	size_t totlen = ihl + l4h + s->payload_len;
	struct ip_fields f = {
	    .saddr = s->saddr,
	    .daddr = s->daddr,
	    .totlen = (uint16_t)totlen,
	    .id = s->ip_id,
	    .frag = (uint16_t)(s->frag_off / FRAG_UNIT | (s->df ? PKT_IP_DF : 0) |
			       (s->more_frags ? PKT_IP_MF : 0)),
	    .ttl = s->ttl ? s->ttl : IP_TTL_DEFAULT,
	    .proto = s->proto,
	    .opts = s->ip_options,
	    .opts_len = s->ip_options_len,
	};
	uint8_t *ip;

	if (!spec_ok(s) || totlen > PKT_IP_MAXLEN || l2 + totlen > cap)
		return 0;
	ip = buf + l2;
	put_eth(buf, s->dst_mac, s->src_mac, s->vlan_tci);
	if (s->payload_len)
		memcpy(ip + ihl + l4h, s->payload, s->payload_len);
	if (l4h)
		put_l4(ip + ihl, l4h + s->payload_len, s);
	put_ipv4(ip, &f);
	return l2 + totlen;
}

/* IPv4 + ICMP error header at @ip in front of @quote_len bytes already at
 * ip + ICMP_ERROR_LEN. */
static void put_icmp_error(uint8_t *ip, uint32_t saddr, uint32_t daddr, uint8_t type, uint8_t code,
			   size_t quote_len)
{
	struct ip_fields f = {
	    .saddr = saddr,
	    .daddr = daddr,
	    .totlen = (uint16_t)(ICMP_ERROR_LEN + quote_len),
	    .ttl = IP_TTL_DEFAULT,
	    .proto = PKT_PROTO_ICMP,
	};
	uint8_t *icmp = ip + PKT_IP_MIN;
	uint16_t csum;

	put_ipv4(ip, &f);
	/* Bytes 4-7 unused (0); for 3/4 that means no next-hop MTU (RFC 1191). */
	memset(icmp, 0, PKT_ICMP_HLEN);
	icmp[PKT_ICMP_TYPE] = type;
	icmp[PKT_ICMP_CODE] = code;
	csum = csum_icmp(icmp, PKT_ICMP_HLEN + quote_len);
	memcpy(icmp + PKT_ICMP_CSUM, &csum, 2);
}

size_t pkt_build_icmp_error(uint8_t *buf, size_t cap, const uint8_t src_mac[6],
			    const uint8_t dst_mac[6], uint32_t saddr, uint32_t daddr, uint8_t type,
			    uint8_t code, const uint8_t *quoted, size_t quote_len)
{
	size_t totlen = ICMP_ERROR_LEN + quote_len;
	uint8_t *ip;

	if (totlen > PKT_IP_MAXLEN || PKT_ETH_LEN + totlen > cap)
		return 0;
	ip = buf + PKT_ETH_LEN;
	put_eth(buf, dst_mac, src_mac, 0);
	memcpy(ip + ICMP_ERROR_LEN, quoted, quote_len);
	put_icmp_error(ip, saddr, daddr, type, code, quote_len);
	return PKT_ETH_LEN + totlen;
}

/* RFC 1122 3.2.2: no error is sent about an ICMP error or a non-initial
 * fragment (whose quote would hold no L4 header anyway). */
static bool may_answer(const struct pkt *p)
{
	if (p->frag_off || (p->flags & PKT_F_ICMP_ERROR))
		return false;
	if (p->proto != PKT_PROTO_ICMP)
		return true;
	switch (p->icmp_type) {
	case PKT_ICMP_UNREACH:
	case ICMP_SOURCE_QUENCH:
	case ICMP_REDIRECT:
	case PKT_ICMP_TIME_EXCEEDED:
	case PKT_ICMP_PARAM_PROBLEM:
		return false;
	default:
		return true;
	}
}

int pkt_reply_icmp_error(struct pkt *p, uint8_t type, uint8_t code, uint32_t from_addr)
{
	size_t ihl = (size_t)p->l4_off - p->l3_off;
	size_t quote_len = ihl + PKT_ICMP_QUOTE_L4;
	size_t len = (size_t)p->l3_off + ICMP_ERROR_LEN + quote_len;
	uint8_t *ip = p->data + p->l3_off;
	struct pkt keep = *p; /* the data path's own fields survive the re-parse */
	enum pkt_drop r;

	if (!may_answer(p) || p->l4_len < PKT_ICMP_QUOTE_L4 || len > p->cap)
		return -1;
	/* RFC 792: the offending IP header and the first 64 bits of its data. */
	memmove(ip + ICMP_ERROR_LEN, ip, quote_len);
	wire_swap_macs(p->data);
	put_icmp_error(ip, from_addr, p->saddr, type, code, quote_len);
	r = pkt_parse(p, p->data, (uint16_t)len, p->cap);
	assert(r == PKT_OK); /* our own headers around a quote that parsed */
	(void)r;
	p->side = keep.side;
	p->hops = keep.hops;
	p->verdict = keep.verdict;
	p->drop = keep.drop;
	p->to_worker = keep.to_worker;
	return 0;
}
