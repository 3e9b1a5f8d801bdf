/* fuzz_pkt.c - libFuzzer harness for the packet descriptor: pkt_parse() on
 * any bytes, then every rewrite on what parses, which must still parse and
 * keep checksums that were right before (this is what catches incremental
 * checksum bugs, RFC 1624), then the in-place ICMP error reply; and the
 * router rules (src/router/router.c) on a repaired copy, in the order the
 * gateway applies them: echo to us, TTL, MTU, MSS clamp - whatever they
 * leave or build must parse, and keep checksums that were right. */
#include "../src/pkt/build.h"
#include "../src/pkt/pkt.h"
#include "../src/router/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum { FUZZ_BUF = 2048 };

/* New addresses and ports from the input itself, so the fuzzer steers them. */
struct ends {
	uint32_t saddr, daddr, inner_saddr, inner_daddr;
	uint16_t sport, dport, inner_sport, inner_dport;
	uint8_t ttl;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct ends ends_from(const uint8_t *d, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull, a, b;
	struct ends e;

	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 0x100000001b3ull; /* FNV-1a */
	a = mix(h);
	b = mix(a + 1);
	e.saddr = (uint32_t)a;
	e.daddr = (uint32_t)(a >> 32);
	e.inner_saddr = (uint32_t)b;
	e.inner_daddr = (uint32_t)(b >> 32);
	a = mix(b + 1);
	e.sport = (uint16_t)a;
	e.dport = (uint16_t)(a >> 16);
	e.inner_sport = (uint16_t)(a >> 32);
	e.inner_dport = (uint16_t)(a >> 48);
	e.ttl = (uint8_t)h;
	return e;
}

static void rewrite(struct pkt *p, const struct ends *e)
{
	pkt_set_src(p, e->saddr, e->sport);
	pkt_set_dst(p, e->daddr, e->dport);
	pkt_set_ttl(p, e->ttl);
	if (p->flags & PKT_F_ICMP_ERROR) {
		pkt_set_inner_src(p, e->inner_saddr, e->inner_sport);
		pkt_set_inner_dst(p, e->inner_daddr, e->inner_dport);
	}
}

/* The rewritten frame must parse the same way, with the new values. */
static void check_rewrite(const struct pkt *p, bool csum_was_ok)
{
	struct pkt q;

	if (pkt_parse(&q, p->data, p->len, p->cap) != PKT_OK)
		abort();
	if (q.flags != p->flags || q.saddr != p->saddr || q.daddr != p->daddr ||
	    q.sport != p->sport || q.dport != p->dport || q.ttl != p->ttl)
		abort();
	if ((p->flags & PKT_F_ICMP_ERROR) && memcmp(&q.inner, &p->inner, sizeof(q.inner)))
		abort();
	if (csum_was_ok && !pkt_checksums_ok(&q))
		abort();
}

/* Checksums of the reply are exact only if the quoted header's was. */
static void check_reply(struct pkt *p, bool csum_was_ok)
{
	bool was_error = p->flags & PKT_F_ICMP_ERROR;

	if (pkt_reply_icmp_error(p, PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_ADMIN, 0x010000c0) != 0)
		return;
	if (was_error || !(p->flags & PKT_F_ICMP_ERROR))
		abort();
	if (csum_was_ok && !pkt_checksums_ok(p))
		abort();
}

/* A heap copy of exactly @n bytes, so that ASan sees any read past the end
 * (the 2048-byte buffer below would hide it). */
static void parse_exact(const uint8_t *d, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct pkt p;

	if (!copy)
		return;
	memcpy(copy, d, n);
	if (pkt_parse(&p, copy, (uint16_t)n, (uint16_t)n) == PKT_OK)
		(void)pkt_checksums_ok(&p);
	free(copy);
}

static void put_csum(uint8_t *at, uint16_t c)
{
	memcpy(at, &c, 2);
}

/* Make every checksum right, so that random inputs get past the IP header
 * check and reach the "right before, right after" assertion. A zero UDP
 * checksum stays zero (RFC 768: none). */
static void repair(uint8_t *buf, size_t n)
{
	struct pkt p;
	uint8_t *l4, *ip;
	size_t l3 = n >= PKT_ETH_LEN + PKT_VLAN_LEN && buf[PKT_ETH_TYPE] == 0x81 ? 18 : 14;

	if (n < l3 + PKT_IP_MIN || (size_t)(buf[l3] & 0x0f) * 4 > n - l3)
		return;
	put_csum(buf + l3 + PKT_IP_CSUM, csum_ipv4_header(buf + l3, (size_t)(buf[l3] & 0x0f) * 4));
	if (pkt_parse(&p, buf, (uint16_t)n, FUZZ_BUF) != PKT_OK || !(p.flags & PKT_F_L4) ||
	    (p.flags & PKT_F_FRAG))
		return;
	l4 = buf + p.l4_off;
	if (p.flags & PKT_F_ICMP_ERROR) {
		ip = buf + p.inner.l3_off;
		put_csum(ip + PKT_IP_CSUM, csum_ipv4_header(ip, p.inner.l4_off - p.inner.l3_off));
	}
	if (p.proto == PKT_PROTO_TCP)
		put_csum(l4 + PKT_TCP_CSUM, csum_ipv4_l4(p.saddr, p.daddr, p.proto, l4, p.l4_len));
	else if (p.proto == PKT_PROTO_UDP && memcmp(l4 + PKT_UDP_CSUM, "\0\0", 2))
		put_csum(l4 + PKT_UDP_CSUM, csum_ipv4_l4(p.saddr, p.daddr, p.proto, l4, p.l4_len));
	else if (p.proto == PKT_PROTO_ICMP)
		put_csum(l4 + PKT_ICMP_CSUM, csum_icmp(l4, p.l4_len));
}

/* Parse buf; when it parses, rewrite it and check the result. With @repaired
 * every checksum must be right to begin with. */
static void run(uint8_t *buf, size_t n, const struct ends *e, bool repaired)
{
	struct pkt p;
	bool csum_ok;

	if (pkt_parse(&p, buf, (uint16_t)n, FUZZ_BUF) != PKT_OK)
		return;
	csum_ok = pkt_checksums_ok(&p);
	if (repaired && !(p.flags & PKT_F_FRAG) && !csum_ok)
		abort();
	rewrite(&p, e);
	check_rewrite(&p, csum_ok);
	check_reply(&p, csum_ok);
}

/* After a router rule: the frame parses (a reply was re-parsed by the
 * rule itself: it must agree), and its checksums are right if they were. */
static void check_routed(struct pkt *p, enum router_verdict v, bool csum_was_ok)
{
	struct pkt q;

	if (v == ROUTER_DROP) {
		if (p->drop <= ROUTER_OK || p->drop >= ROUTER_DROP_COUNT)
			abort();
		return;
	}
	if (pkt_parse(&q, p->data, p->len, p->cap) != PKT_OK)
		abort();
	if (v == ROUTER_REPLIED && (q.saddr != p->saddr || q.daddr != p->daddr))
		abort();
	if (csum_was_ok && !pkt_checksums_ok(&q))
		abort();
}

/* The rules a forwarded packet (or one to us) meets, one after another
 * while it is still forwarded; the input's hash picks our addresses, the
 * egress MTU and the MSS ceiling. */
static void route(uint8_t *buf, size_t n, const struct ends *e)
{
	static struct router_counters cnt;
	struct pkt p;
	uint32_t ours[2] = {e->daddr, e->inner_daddr};
	enum router_verdict v;
	bool csum_ok;

	if (pkt_parse(&p, buf, (uint16_t)n, FUZZ_BUF) != PKT_OK)
		return;
	csum_ok = pkt_checksums_ok(&p);
	if (e->ttl & 1) { /* half the time the packet is for us */
		ours[0] = p.daddr;
		if (router_answer_echo(&cnt, &p, ours, 2) == 0) {
			check_routed(&p, ROUTER_REPLIED, csum_ok);
			return;
		}
	}
	v = router_forward_ttl(&cnt, NULL, &p, e->saddr); /* no limit: every verdict replays */
	check_routed(&p, v, csum_ok);
	if (v != ROUTER_FORWARD)
		return;
	v = router_check_mtu(&cnt, NULL, &p, (uint16_t)(68 + e->sport % 1500), e->saddr);
	check_routed(&p, v, csum_ok);
	if (v != ROUTER_FORWARD)
		return;
	(void)router_clamp_mss(&cnt, &p, (uint16_t)(e->dport % 1500));
	check_routed(&p, ROUTER_FORWARD, csum_ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint8_t buf[FUZZ_BUF];
	struct ends e;

	if (n > FUZZ_BUF)
		n = FUZZ_BUF;
	parse_exact(d, n);
	e = ends_from(d, n);
	memcpy(buf, d, n);
	run(buf, n, &e, false);
	memcpy(buf, d, n);
	repair(buf, n);
	run(buf, n, &e, true);
	memcpy(buf, d, n);
	repair(buf, n);
	route(buf, n, &e);
	return 0;
}
