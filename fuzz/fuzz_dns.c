/* fuzz_dns.c - libFuzzer harness for the DNS proxy's wire format and cache:
 * dns_msg_parse() on any bytes (an exact heap copy, so ASan sees any read
 * past the end), dns_name_read() from every offset, the FORMERR builder;
 * then the input taken as an upstream answer to its own question: OPT
 * stripped, TTLs capped, cached, looked up later, and rewritten into the
 * answer for a client query (id, question case, TTL ageing, OPT, TC).
 * Asserts what must always hold: parsed offsets are in bounds, names are
 * at most 255 bytes, what we build parses, a client answer is either
 * within the client's limit or TC with the question only, carries the
 * client's id and question, and the cache keeps its bounds. */
#include "../src/svc/dns_internal.h"
#include "../src/svc/dns_msg.h"
#include "../src/svc/dns_proxy.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum {
	MAX_IN = 8192,
	CACHE_ENTRIES = 4,
	CACHE_BYTES = 4096,
};

static void check_parsed(const struct dns_msg *m, const uint8_t *buf, size_t n)
{
	char text[DNS_NAME_TEXT_MAX];

	if (m->qname_len < 1 || m->question_end > m->end || m->end > n ||
	    m->question_end != DNS_HDR_LEN + m->qname_len + 4 || m->qname[m->qname_len - 1] != 0)
		abort();
	if (m->edns && (m->opt_off < m->question_end || m->opt_off >= m->end))
		abort();
	if (!dns_name_to_text(m->qname, m->qname_len, text, sizeof(text)))
		abort();
	(void)buf;
}

/* Parse an exact heap copy; names from every offset. */
static void parse_exact(const uint8_t *d, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1), name[DNS_NAME_MAX], out[DNS_HDR_LEN];
	struct dns_msg m;
	size_t nl, next;

	if (!copy)
		return;
	memcpy(copy, d, n);
	if (dns_msg_parse(&m, copy, n) == DNS_MSG_OK)
		check_parsed(&m, copy, n);
	for (size_t off = 0; off < n; off++)
		if (dns_name_read(copy, n, off, name, &nl, &next) == DNS_MSG_OK &&
		    (nl < 1 || nl > DNS_NAME_MAX || next <= off || next > n || name[nl - 1]))
			abort();
	if (dns_msg_build_formerr(out, sizeof(out), copy, n) !=
	    (n >= DNS_HDR_LEN ? DNS_HDR_LEN : 0))
		abort();
	free(copy);
}

/* The client's query for the question of @a: id, case flips, EDNS0 from
 * the fuzzer's control byte. */
static bool client_query(const struct dns_msg *a, uint8_t ctl, uint8_t *buf, size_t cap,
			 struct dns_msg *q)
{
	uint8_t name[DNS_NAME_MAX];
	size_t len;

	memcpy(name, a->qname, a->qname_len);
	if (ctl & 1)
		dns_name_lower(name, a->qname_len);
	len = dns_msg_build_query(buf, cap, (uint16_t)(0xa500 | ctl), DNS_RD, name, a->qname_len,
				  a->qtype, a->qclass, (ctl & 2) ? (uint16_t)(512u + ctl * 8u) : 0);
	return len && dns_msg_parse(q, buf, len) == DNS_MSG_OK;
}

static void check_client_answer(const uint8_t *out, size_t len, const struct dns_msg *q,
				size_t limit, bool upstream_tc)
{
	struct dns_msg m;

	if (dns_msg_parse(&m, out, len) != DNS_MSG_OK || m.id != q->id || m.qtype != q->qtype ||
	    m.qclass != q->qclass || m.qname_len != q->qname_len ||
	    memcmp(m.qname, q->qname, q->qname_len) || m.edns != q->edns)
		abort();
	if (len > limit && !(m.flags & DNS_TC))
		abort();
	if ((m.flags & DNS_TC) && !upstream_tc && (m.ancount || m.nscount || m.arcount > 1))
		abort();
}

static void as_upstream_answer(const uint8_t *d, size_t n, uint8_t ctl)
{
	static uint8_t buf[MAX_IN], got[MAX_IN], out[DNS_MSG_MAX], qb[512];
	struct dns_counters cnt = {0};
	struct dns_cache *c = NULL;
	struct dns_msg a, q;
	uint8_t name[DNS_NAME_MAX];
	struct dns_key k;
	uint32_t ttl = 0, age = 0;
	size_t len, limit, olen;
	bool neg = false;

	memcpy(buf, d, n);
	if (dns_msg_parse(&a, buf, n) != DNS_MSG_OK || !client_query(&a, ctl, qb, sizeof(qb), &q))
		return;
	len = dns_msg_strip_opt(buf, &a);
	if (dns_msg_parse(&a, buf, len) != DNS_MSG_OK)
		abort(); /* stripping the last record keeps it valid */
	if (a.edns)
		return; /* OPT not last: the proxy does not use it */
	limit = (ctl & 4) ? DNS_MSG_MAX : q.edns ? q.edns_payload : DNS_UDP_MIN;
	/* Straight from upstream. */
	olen = dns_msg_for_client(out, sizeof(out), buf, len, &q, 0, limit);
	if (!olen)
		abort();
	check_client_answer(out, olen, &q, limit, a.flags & DNS_TC);
	/* Through the cache. */
	if (dns_cache_create(CACHE_ENTRIES, CACHE_BYTES, 42, &cnt, &c))
		abort();
	memcpy(name, a.qname, a.qname_len);
	dns_name_lower(name, a.qname_len);
	k = (struct dns_key){
	    .name = name, .name_len = a.qname_len, .qtype = a.qtype, .qclass = a.qclass};
	if (dns_msg_cache_ttl(&a, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg)) {
		uint64_t later = (uint64_t)(ctl >> 3) * 997;

		if (!ttl || ttl > DNS_TTL_CAP || dns_msg_rewrite_ttls(buf, len, 0, DNS_TTL_CAP))
			abort();
		for (int i = 0; i < CACHE_ENTRIES + 1; i++) {
			/* Fill and overflow it: the LRU and byte bounds. */
			name[1] ^= (uint8_t)i;
			dns_cache_insert(c, &k, buf, len, ttl, neg, (uint64_t)i);
			name[1] ^= (uint8_t)i;
			if (cnt.cache_entries > CACHE_ENTRIES || cnt.cache_bytes > CACHE_BYTES)
				abort();
		}
		dns_cache_insert(c, &k, buf, len, ttl, neg, 10);
		olen = dns_cache_lookup(c, &k, 10 + later, got, sizeof(got), &age);
		if (olen && (olen != len || memcmp(got, buf, len) || age != later / 1000))
			abort();
		if (olen) {
			olen = dns_msg_for_client(out, sizeof(out), got, olen, &q, age, limit);
			if (!olen)
				abort();
			check_client_answer(out, olen, &q, limit, false);
		}
		dns_cache_sweep(c, UINT64_MAX / 2, CACHE_ENTRIES);
		if (cnt.cache_entries)
			abort();
	}
	dns_cache_destroy(c);
}

/* A well-formed answer from fuzzed fields (gets deep fast): RCODE, record
 * counts, TTLs, SOA TIMERS and where the OPT record goes come from @d. */
static size_t template_answer(const uint8_t *d, size_t n, uint8_t *out, size_t cap)
{
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_CNAME, DNS_T_TXT};
	uint8_t name[DNS_NAME_MAX], rd[64], q[512];
	size_t nl, len, at = 8;
	struct dns_msg m;
	unsigned an, ns, ar;

	if (n < 8)
		return 0;
	nl = 1 + (d[0] & 15);
	name[0] = (uint8_t)(nl - 1);
	for (size_t i = 1; i < nl; i++)
		name[i] = (uint8_t)('A' + (d[1] + i) % 58);
	memcpy(name + nl, "\7example\0", 9);
	nl += 9;
	len = dns_msg_build_query(q, sizeof(q), 1, DNS_RD, name, nl, types[d[2] & 3], DNS_C_IN, 0);
	if (dns_msg_parse(&m, q, len) != DNS_MSG_OK)
		abort();
	len = dns_msg_build_reply(out, cap, &m, 0, d[3] % 6);
	an = d[4] & 3;
	ns = (d[4] >> 2) & 3;
	ar = (d[4] >> 4) & 3;
	/* Up to 255 A records first: answers over 512 bytes (TC=1 to the
	 * client) and over the cache's per-entry limit. */
	for (unsigned i = 0; i < d[7] && len; i++)
		len = dns_msg_append_rr(out, len, cap, DNS_SEC_AN, (const uint8_t *)"\300\014", 2,
					DNS_T_A, DNS_C_IN, dns_rd32(d + 4) >> (i & 15), d, 4);
	for (unsigned i = 0; i < an + ns + ar && len && at + 4 <= n; i++, at += 4) {
		enum dns_section sec = i < an ? DNS_SEC_AN : i < an + ns ? DNS_SEC_NS : DNS_SEC_AR;
		uint32_t ttl = dns_rd32(d + at);

		if (sec == DNS_SEC_NS && !(d[at] & 1)) {
			dns_wr16(rd, 0xc00c);
			dns_wr16(rd + 2, 0xc00c);
			for (int k = 0; k < 5; k++)
				dns_wr32(rd + 4 + 4 * k, ttl >> (k * 3));
			len = dns_msg_append_rr(out, len, cap, sec, (const uint8_t *)"\300\014", 2,
						DNS_T_SOA, DNS_C_IN, ttl >> (d[5] & 31), rd, 24);
		} else if (sec == DNS_SEC_AR && (d[at] & 2)) {
			len = dns_msg_append_opt(out, len, cap, (uint16_t)ttl, 0);
		} else {
			len = dns_msg_append_rr(out, len, cap, sec, (const uint8_t *)"\300\014", 2,
						DNS_T_A, DNS_C_IN, ttl, d + at, 4);
		}
	}
	if (len && (d[6] & 1))
		dns_wr16(out + DNS_OFF_FLAGS, dns_rd16(out + DNS_OFF_FLAGS) | DNS_TC);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint8_t t[MAX_IN];
	size_t tl;

	if (n > MAX_IN)
		n = MAX_IN;
	parse_exact(d, n);
	if (n < 1)
		return 0;
	/* The last byte steers the client side; the rest is the answer. */
	as_upstream_answer(d, n - 1, d[n - 1]);
	tl = template_answer(d, n, t, sizeof(t));
	if (tl) {
		struct dns_msg m;

		/* Two OPT records (when the bytes ask for it) is the only way
		 * a template fails to parse. */
		if (dns_msg_parse(&m, t, tl) != DNS_MSG_OK &&
		    dns_msg_parse(&m, t, tl) != DNS_MSG_ERR_BAD_OPT)
			abort();
		as_upstream_answer(t, tl, d[n - 1]);
	}
	return 0;
}
