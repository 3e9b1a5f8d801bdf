/* csum.c - the Internet checksum (RFC 1071): full sums, incremental updates
 * (RFC 1624 eqn. 3) and the check of every checksum in a parsed packet.
 *
 * The one's complement sum does not depend on byte order (RFC 1071 2.(B)),
 * so the incremental helpers work directly on 16-bit words as they sit in
 * memory (network byte order) and never swap. Full sums are taken over
 * big-endian words in host arithmetic and byte-swapped once at the end.
 */
#include "pkt.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	CSUM_PSEUDO_LEN = 12, /* saddr, daddr, zero, protocol, L4 length (RFC 793 3.1) */
};

uint32_t csum_add(uint32_t sum, const void *data, size_t n)
{
	const uint8_t *b = data;
	uint64_t acc = sum;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		acc += (uint32_t)b[n - 1] << 8; /* RFC 1071: pad the odd byte with zero */
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never turns a
 * correct 0x0000 into 0xffff (RFC 1624 section 4): the sum inside is a
 * non-zero one's complement sum, so its fold is the same representative a
 * full recomputation would produce - for every message but an all-zero one
 * (see csum_icmp_zero_fixup()). */
uint16_t csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old_word;
	sum += new_word;
	return (uint16_t)~csum_fold(sum);
}

/* Eqn. 3 never gives 0xffff, the one right checksum of a message whose
 * every other byte is zero (its words add up to +0, RFC 1071). Only ICMP,
 * with no pseudo-header, has such messages (an echo reply with identifier,
 * sequence and data all 0); the scan runs only when the update gave 0. */
uint16_t csum_icmp_zero_fixup(uint16_t check, const uint8_t *icmp, size_t n)
{
	if (check != 0)
		return check;
	for (size_t i = 0; i < n; i++)
		if (icmp[i] && (i < PKT_ICMP_CSUM || i > PKT_ICMP_CSUM + 1))
			return check;
	return 0xffff;
}

uint16_t csum_update32(uint16_t check, uint32_t old_val, uint32_t new_val)
{
	uint32_t sum = (uint16_t)~check;

	/* The two halves are the two wire words, whatever the host order. */
	sum += (uint16_t)~old_val + (uint16_t) ~(old_val >> 16);
	sum += (new_val & 0xffff) + (new_val >> 16);
	return (uint16_t)~csum_fold(sum);
}

/* Sum of @n bytes with the 16-bit field at even offset @skip read as zero. */
static uint32_t sum_skipping(uint32_t sum, const uint8_t *b, size_t n, size_t skip)
{
	if (skip + 2 > n)
		return csum_add(sum, b, n);
	sum = csum_add(sum, b, skip);
	return csum_add(sum, b + skip + 2, n - skip - 2);
}

uint16_t csum_ipv4_header(const uint8_t *ip, size_t ihl)
{
	return htons((uint16_t)~csum_fold(sum_skipping(0, ip, ihl, PKT_IP_CSUM)));
}

static uint32_t pseudo_header_sum(uint32_t saddr, uint32_t daddr, uint8_t proto, size_t n)
{
	uint8_t ph[CSUM_PSEUDO_LEN];
	uint16_t len = htons((uint16_t)n);

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	memcpy(ph + 10, &len, 2);
	return csum_add(0, ph, sizeof(ph));
}

/* The checksum field (TCP offset 16, UDP offset 6) is skipped, so callers
 * need not zero it first. */
uint16_t csum_ipv4_l4(uint32_t saddr, uint32_t daddr, uint8_t proto, const uint8_t *l4, size_t n)
{
	size_t skip = proto == PKT_PROTO_UDP ? PKT_UDP_CSUM : PKT_TCP_CSUM;
	uint32_t sum = pseudo_header_sum(saddr, daddr, proto, n);
	uint16_t c = (uint16_t)~csum_fold(sum_skipping(sum, l4, n, skip));

	/* RFC 768: a computed zero is sent as all ones; zero means "none". */
	if (proto == PKT_PROTO_UDP && c == 0)
		c = 0xffff;
	return htons(c);
}

uint16_t csum_icmp(const uint8_t *icmp, size_t n)
{
	return htons((uint16_t)~csum_fold(sum_skipping(0, icmp, n, PKT_ICMP_CSUM)));
}

static uint16_t field16(const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, 2);
	return v;
}

static bool ip_header_ok(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[PKT_IP_VHL] & 0x0f) * 4;

	return field16(ip + PKT_IP_CSUM) == csum_ipv4_header(ip, ihl);
}

static bool l4_ok(const struct pkt *p)
{
	const uint8_t *l4 = p->data + p->l4_off;
	uint16_t got;

	switch (p->proto) {
	case PKT_PROTO_TCP:
		got = field16(l4 + PKT_TCP_CSUM);
		return got == csum_ipv4_l4(p->saddr, p->daddr, p->proto, l4, p->l4_len);
	case PKT_PROTO_UDP:
		got = field16(l4 + PKT_UDP_CSUM);
		return got == 0 || got == csum_ipv4_l4(p->saddr, p->daddr, p->proto, l4, p->l4_len);
	case PKT_PROTO_ICMP:
		return field16(l4 + PKT_ICMP_CSUM) == csum_icmp(l4, p->l4_len);
	default:
		return true;
	}
}

bool pkt_checksums_ok(const struct pkt *p)
{
	if (!ip_header_ok(p->data + p->l3_off))
		return false;
	if ((p->flags & PKT_F_L4) && !(p->flags & PKT_F_FRAG) && !l4_ok(p))
		return false;
	if ((p->flags & PKT_F_ICMP_ERROR) && !ip_header_ok(p->data + p->inner.l3_off))
		return false;
	return true;
}
