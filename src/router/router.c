/* router.c - the IPv4 router's duties toward packets it forwards or that
 * are addressed to it (RFC 1812): echo replies, TTL and Time Exceeded,
 * Fragmentation Needed with the next-hop MTU, TCP MSS clamping.
 *
 * Everything works in place on a parsed packet and keeps every checksum
 * right: small changes by RFC 1624 eqn. 3, rebuilt headers by full
 * recomputation; ICMP errors are built by pkt_reply_icmp_error() (build.c).
 * The rules for when an error must not be sent (RFC 1122 3.2.2, RFC 1812
 * 4.3.2.7) are checked here first, so that each refusal has its own counter;
 * then the caller's rate limit (RFC 1812 4.3.2.8).
 */
#include "router.h"
#include "../core/ratelimit.h"
#include "../pkt/pkt.h"
#include "../pkt/build.h"
#include "../pkt/wire.h"

#include <arpa/inet.h>
#include <assert.h>
#include <string.h>

enum {
	IP_VHL_NOOPTS = 0x45, /* version 4, 20-byte header */
	IP_TTL_REPLY = 64,    /* RFC 1700 / RFC 1122 3.2.1.7 default TTL */
	IP_MTU_MIN = 68,      /* RFC 791: every IPv4 link carries 68 bytes */
	IPOPT_EOL = 0,	      /* RFC 791 option kinds */
	IPOPT_NOP = 1,
	IPOPT_LSRR = 131,
	IPOPT_SSRR = 137,
	OPT_HDR = 2,	     /* kind and length bytes of IP and TCP options */
	IPOPT_WALK_MAX = 40, /* each step eats >= 1 of at most 40 option bytes */
	TCPOPT_EOL = 0,	     /* RFC 9293 3.1 */
	TCPOPT_NOP = 1,
	TCPOPT_MSS = 2,
	TCPOPT_MSS_LEN = 4,
	TCPOPT_WALK_MAX = 40,	/* as for IP: 40 option bytes at most */
	ICMP_SOURCE_QUENCH = 4, /* RFC 1122 3.2.2: errors too */
	ICMP_REDIRECT = 5,
	ICMP_NEXTHOP_MTU = 6, /* RFC 1191 4: low 16 bits of the second word */
};

static const char *const drop_names[ROUTER_DROP_COUNT] = {[ROUTER_OK] = "OK",
#define ROUTER_DROP_NAME(name, text) [ROUTER_DROP_##name] = #name,
							  ROUTER_DROP_REASONS(ROUTER_DROP_NAME)
#undef ROUTER_DROP_NAME
};

static const char *const drop_texts[ROUTER_DROP_COUNT] = {[ROUTER_OK] = "not dropped",
#define ROUTER_DROP_TEXT(name, text) [ROUTER_DROP_##name] = text,
							  ROUTER_DROP_REASONS(ROUTER_DROP_TEXT)
#undef ROUTER_DROP_TEXT
};

const char *router_drop_name(enum router_drop reason)
{
	return (unsigned)reason < ROUTER_DROP_COUNT ? drop_names[reason] : "?";
}

const char *router_drop_text(enum router_drop reason)
{
	return (unsigned)reason < ROUTER_DROP_COUNT ? drop_texts[reason] : "?";
}

static bool ip_group(uint32_t ip) /* multicast, class E, 255.255.255.255 */
{
	return ntohl(ip) >> 28 >= 0xe;
}

static enum router_verdict drop(struct router_counters *cnt, struct pkt *p, enum router_drop r)
{
	cnt->drop[r]++;
	p->drop = (uint8_t)r;
	return ROUTER_DROP;
}

/* After rewriting the frame ourselves: describe it again, keeping the data
 * path's own fields (as pkt_reply_icmp_error() does). */
static void reparse(struct pkt *p, uint16_t len)
{
	struct pkt keep = *p;
	enum pkt_drop r = pkt_parse(p, p->data, len, keep.cap);

	assert(r == PKT_OK); /* our own headers around bytes that parsed */
	(void)r;
	p->side = keep.side;
	p->hops = keep.hops;
	p->verdict = keep.verdict;
	p->drop = keep.drop;
	p->to_worker = keep.to_worker;
}

/* Echo ----------------------------------------------------------------------- */

/* RFC 791 options, already validated by pkt_parse(); walked again with a cap. */
static bool has_source_route(const uint8_t *opt, size_t n)
{
	size_t i = 0;

	for (unsigned step = 0; i < n && step < IPOPT_WALK_MAX; step++) {
		if (opt[i] == IPOPT_EOL)
			return false;
		if (opt[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		if (n - i < OPT_HDR || opt[i + 1] < OPT_HDR)
			return true; /* cannot happen after pkt_parse(); refuse if it does */
		if (opt[i] == IPOPT_LSRR || opt[i] == IPOPT_SSRR)
			return true;
		i += opt[i + 1];
	}
	return false;
}

static bool is_ours(uint32_t addr, const uint32_t *ours, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (ours[i] == addr)
			return true;
	return false;
}

int router_answer_echo(struct router_counters *cnt, struct pkt *p, const uint32_t *ours, unsigned n)
{
	uint8_t *ip = p->data + p->l3_off;
	uint8_t *icmp = p->data + p->l4_off;
	size_t ihl = (size_t)p->l4_off - p->l3_off;
	size_t optlen = ihl - PKT_IP_MIN;
	uint16_t old, csum;

	if (!(p->flags & PKT_F_L4) || (p->flags & PKT_F_FRAG) || p->proto != PKT_PROTO_ICMP ||
	    p->icmp_type != PKT_ICMP_ECHO) {
		p->drop = ROUTER_DROP_NOT_ECHO;
		return -1;
	}
	if (!is_ours(p->daddr, ours, n)) {
		p->drop = ROUTER_DROP_NOT_OURS;
		return -1;
	}
	/* RFC 1122 3.2.1.3: we may not send to a source that names no host. */
	if (!wire_ip_is_host(p->saddr)) {
		drop(cnt, p, ROUTER_DROP_BAD_SOURCE);
		return -1;
	}
	/* RFC 1122 3.2.2: a bad checksum is silently discarded. Either zero
	 * representation is right (RFC 1071). */
	if (csum_fold(csum_add(0, icmp, p->l4_len)) != 0xffff) {
		drop(cnt, p, ROUTER_DROP_ECHO_CHECKSUM);
		return -1;
	}
	/* RFC 1122 3.2.2.6 would have us reverse a source route; RFC 7126
	 * 4.3-4.4 says drop source-routed packets, which we do. */
	if (has_source_route(ip + PKT_IP_OPTS, optlen)) {
		drop(cnt, p, ROUTER_DROP_SOURCE_ROUTE);
		return -1;
	}

	/* ICMP: type 8 -> 0, code 0; the word is type and code together. */
	old = wire_rd16(icmp + PKT_ICMP_TYPE);
	icmp[PKT_ICMP_TYPE] = PKT_ICMP_ECHO_REPLY;
	icmp[PKT_ICMP_CODE] = 0;
	csum = csum_update16(wire_rd16(icmp + PKT_ICMP_CSUM), old, wire_rd16(icmp + PKT_ICMP_TYPE));
	wire_wr16(icmp + PKT_ICMP_CSUM, csum_icmp_zero_fixup(csum, icmp, p->l4_len));

	/* IP: a new header without options, addresses swapped, fresh TTL; the
	 * ICMP message (and any Ethernet padding) moves up behind it. */
	memcpy(ip + PKT_IP_SADDR, &p->daddr, 4);
	memcpy(ip + PKT_IP_DADDR, &p->saddr, 4);
	ip[PKT_IP_TTL] = IP_TTL_REPLY;
	if (optlen) {
		memmove(ip + PKT_IP_MIN, icmp, (size_t)p->len - p->l4_off);
		ip[PKT_IP_VHL] = IP_VHL_NOOPTS;
		ip[PKT_IP_TOTLEN] = (uint8_t)((p->l3_len - optlen) >> 8);
		ip[PKT_IP_TOTLEN + 1] = (uint8_t)(p->l3_len - optlen);
	}
	csum = csum_ipv4_header(ip, PKT_IP_MIN);
	wire_wr16(ip + PKT_IP_CSUM, csum);
	wire_swap_macs(p->data);
	reparse(p, (uint16_t)(p->len - optlen));
	cnt->echo_replied++;
	return 0;
}

/* ICMP errors -------------------------------------------------------------- */

static bool is_icmp_error(const struct pkt *p)
{
	if (p->proto != PKT_PROTO_ICMP || !(p->flags & PKT_F_L4))
		return false;
	switch (p->icmp_type) {
	case PKT_ICMP_UNREACH:
	case ICMP_SOURCE_QUENCH:
	case ICMP_REDIRECT:
	case PKT_ICMP_TIME_EXCEEDED:
	case PKT_ICMP_PARAM_PROBLEM:
		return true;
	default:
		return false;
	}
}

/* RFC 1122 3.2.2 and RFC 1812 4.3.2.7: when no ICMP error may be sent. */
static enum router_drop error_forbidden(const struct pkt *p)
{
	if (p->frag_off)
		return ROUTER_DROP_ERROR_IN_FRAGMENT;
	if (is_icmp_error(p))
		return ROUTER_DROP_ERROR_IN_ERROR;
	if (!wire_ip_is_host(p->saddr))
		return ROUTER_DROP_BAD_SOURCE;
	/* IP broadcast or multicast destination (RFC 1812 5.3.1 for TTL), or
	 * sent as a link-layer broadcast or multicast (IEEE 802 group bit). */
	if (ip_group(p->daddr) || (p->data[PKT_ETH_DST] & 1))
		return ROUTER_DROP_ERROR_TO_GROUP;
	if (p->l4_len < PKT_ICMP_QUOTE_L4)
		return ROUTER_DROP_ERROR_SHORT;
	return ROUTER_OK;
}

/* Turn @p into ICMP @type/@code back to its sender; @mtu non-zero goes in
 * the Next-Hop MTU field (RFC 1191 4). */
static enum router_verdict send_error(struct router_counters *cnt, struct ratelimit *limit,
				      struct pkt *p, uint8_t type, uint8_t code, uint32_t from_addr,
				      uint16_t mtu)
{
	enum router_drop why = error_forbidden(p);
	uint8_t *icmp;
	uint16_t old, val;

	if (why != ROUTER_OK)
		return drop(cnt, p, why);
	/* RFC 1812 4.3.2.8: a flood of packets that each earn an error must
	 * not earn a flood of errors. Asked last: only for an error we would
	 * send, and before it is built. */
	if (limit && !ratelimit_allow(limit, p->saddr))
		return drop(cnt, p, ROUTER_DROP_ERROR_RATE_LIMITED);
	if (pkt_reply_icmp_error(p, type, code, from_addr) != 0)
		return drop(cnt, p, ROUTER_DROP_ERROR_NO_ROOM);
	if (mtu) {
		icmp = p->data + p->l4_off;
		old = wire_rd16(icmp + ICMP_NEXTHOP_MTU);
		val = htons(mtu);
		wire_wr16(icmp + ICMP_NEXTHOP_MTU, val);
		wire_wr16(icmp + PKT_ICMP_CSUM,
			  csum_update16(wire_rd16(icmp + PKT_ICMP_CSUM), old, val));
	}
	return ROUTER_REPLIED;
}

enum router_verdict router_forward_ttl(struct router_counters *cnt, struct ratelimit *limit,
				       struct pkt *p, uint32_t from_addr)
{
	enum router_verdict v;

	/* RFC 1812 5.3.1: decrement; at zero, discard and tell the source. */
	if (p->ttl > 1) {
		pkt_set_ttl(p, (uint8_t)(p->ttl - 1));
		cnt->ttl_decremented++;
		return ROUTER_FORWARD;
	}
	cnt->ttl_expired++;
	v = send_error(cnt, limit, p, PKT_ICMP_TIME_EXCEEDED, 0, from_addr, 0);
	if (v == ROUTER_REPLIED)
		cnt->time_exceeded_sent++;
	return v;
}

enum router_verdict router_check_mtu(struct router_counters *cnt, struct ratelimit *limit,
				     struct pkt *p, uint16_t mtu, uint32_t from_addr)
{
	enum router_verdict v;

	assert(mtu >= IP_MTU_MIN);
	if (p->l3_len <= mtu)
		return ROUTER_FORWARD;
	cnt->too_big++;
	if (!(p->flags & PKT_F_DF))
		return drop(cnt, p, ROUTER_DROP_MUST_FRAGMENT);
	v = send_error(cnt, limit, p, PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_NEEDFRAG, from_addr, mtu);
	if (v == ROUTER_REPLIED)
		cnt->frag_needed_sent++;
	return v;
}

/* MSS clamping ------------------------------------------------------------- */

/* Replace the 16-bit value at @tcp + @off, TCP checksum by RFC 1624. A word
 * at an odd offset straddles two checksum words, so it counts byte-swapped
 * (RFC 1071 2.(B)). */
static void tcp_put16(uint8_t *tcp, size_t off, uint16_t host_val)
{
	uint8_t wire[2] = {(uint8_t)(host_val >> 8), (uint8_t)host_val};
	uint16_t old = wire_rd16(tcp + off), val = wire_rd16(wire);
	uint16_t csum = wire_rd16(tcp + PKT_TCP_CSUM);

	if (off & 1)
		csum = csum_update16(csum, wire_bswap16(old), wire_bswap16(val));
	else
		csum = csum_update16(csum, old, val);
	wire_wr16(tcp + PKT_TCP_CSUM, csum);
	wire_wr16(tcp + off, val);
}

bool router_clamp_mss(struct router_counters *cnt, struct pkt *p, uint16_t mss_max)
{
	const uint8_t *hdr;
	uint8_t *tcp;
	size_t hlen, i = PKT_TCP_MIN;
	bool changed = false;

	if (!(p->flags & PKT_F_L4) || p->proto != PKT_PROTO_TCP || !(p->tcp_flags & PKT_TCP_SYN))
		return false;
	hdr = pkt_at(p, p->l4_off, PKT_TCP_MIN);
	if (!hdr)
		return false;
	hlen = (size_t)(hdr[PKT_TCP_DOFF] >> 4) * 4;
	/* pkt_parse() vouched for this; the walk trusts only what is checked here. */
	if (hlen < PKT_TCP_MIN || hlen > p->l4_len || !pkt_at(p, p->l4_off, hlen))
		return false;
	tcp = p->data + p->l4_off;
	for (unsigned step = 0; i < hlen && step < TCPOPT_WALK_MAX; step++) {
		uint8_t kind = tcp[i], len;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		/* RFC 9293 3.1: every other option has a length >= 2 that fits. */
		if (hlen - i < OPT_HDR || tcp[i + 1] < OPT_HDR || tcp[i + 1] > hlen - i) {
			cnt->mss_malformed++;
			break;
		}
		len = tcp[i + 1];
		if (kind == TCPOPT_MSS) {
			if (len != TCPOPT_MSS_LEN) {
				cnt->mss_malformed++;
				break;
			}
			if ((uint16_t)(tcp[i + 2] << 8 | tcp[i + 3]) > mss_max) {
				tcp_put16(tcp, i + 2, mss_max);
				changed = true;
			}
		}
		i += len;
	}
	if (changed)
		cnt->mss_clamped++;
	return changed;
}

/* Ethernet ------------------------------------------------------------------- */

void router_set_eth_src(struct pkt *p, const uint8_t mac[6])
{
	uint8_t *eth = pkt_at(p, 0, PKT_ETH_LEN);

	if (eth)
		memcpy(eth + PKT_ETH_SRC, mac, PKT_MAC_LEN);
}

void router_set_eth_dst(struct pkt *p, const uint8_t mac[6])
{
	uint8_t *eth = pkt_at(p, 0, PKT_ETH_LEN);

	if (eth)
		memcpy(eth + PKT_ETH_DST, mac, PKT_MAC_LEN);
}
