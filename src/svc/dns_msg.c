/* dns_msg.c - the DNS wire format: the validating parser, the builders, and
 * the rewrites a caching forwarder makes (id, question case, TTLs, OPT).
 * The rules every read follows are listed in dns_msg.h; this file is fuzzed
 * by fuzz/fuzz_dns.c.
 */
#include "dns_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const err_names[DNS_MSG_ERR_COUNT] = {[DNS_MSG_OK] = "OK",
#define DNS_MSG_ERR_NAME(name, text) [DNS_MSG_ERR_##name] = #name,
							 DNS_MSG_ERRORS(DNS_MSG_ERR_NAME)
#undef DNS_MSG_ERR_NAME
};

static const char *const err_texts[DNS_MSG_ERR_COUNT] = {[DNS_MSG_OK] = "valid",
#define DNS_MSG_ERR_TEXT(name, text) [DNS_MSG_ERR_##name] = text,
							 DNS_MSG_ERRORS(DNS_MSG_ERR_TEXT)
#undef DNS_MSG_ERR_TEXT
};

const char *dns_msg_err_name(enum dns_msg_err err)
{
	return (unsigned)err < DNS_MSG_ERR_COUNT ? err_names[err] : "?";
}

const char *dns_msg_err_text(enum dns_msg_err err)
{
	return (unsigned)err < DNS_MSG_ERR_COUNT ? err_texts[err] : "?";
}

enum {
	PTR_BITS = 0xc0, /* RFC 1035 4.1.4: a pointer's two top bits */
	TTL_TOP = 0x80000000u,
};

/* ---- names ---- */

enum dns_msg_err dns_name_read(const uint8_t *msg, size_t len, size_t off, uint8_t *out,
			       size_t *out_len, size_t *next)
{
	size_t pos = off, floor = off, wire = 0, end = 0;
	unsigned hops = 0;

	/* Each turn either adds a label (wire grows, capped at 255) or follows
	 * a pointer (hops capped, and floor strictly decreases): bounded. */
	for (;;) {
		uint8_t b;

		if (pos >= len)
			return DNS_MSG_ERR_NAME_TRUNCATED;
		b = msg[pos];
		if ((b & PTR_BITS) == PTR_BITS) {
			size_t target;

			if (len - pos < 2)
				return DNS_MSG_ERR_NAME_TRUNCATED;
			target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
			if (!hops)
				end = pos + 2;
			if (++hops > DNS_PTR_HOPS_MAX)
				return DNS_MSG_ERR_POINTER_HOPS;
			if (target < DNS_HDR_LEN)
				return DNS_MSG_ERR_POINTER_HEADER;
			if (target >= floor)
				return DNS_MSG_ERR_POINTER_FORWARD;
			pos = floor = target;
			continue;
		}
		if (b & PTR_BITS)
			return DNS_MSG_ERR_LABEL_TYPE;
		if (wire + 1 + b > DNS_NAME_MAX)
			return DNS_MSG_ERR_NAME_TOO_LONG;
		if (b > len - pos - 1)
			return DNS_MSG_ERR_NAME_TRUNCATED;
		if (out) {
			out[wire] = b;
			memcpy(out + wire + 1, msg + pos + 1, b);
		}
		wire += 1 + (size_t)b;
		pos += 1 + (size_t)b;
		if (!b)
			break;
	}
	*out_len = wire;
	*next = hops ? end : pos;
	return DNS_MSG_OK;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

void dns_name_lower(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t l = name[i++];

		for (size_t k = 0; k < l && i < len; k++, i++)
			name[i] = lower(name[i]);
	}
}

bool dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	/* Length bytes are below 'A' (at most 63), so lowering them is a no-op
	 * and a byte-wise comparison is exact. */
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

int dns_name_from_text(const char *text, uint8_t *out, size_t *out_len)
{
	size_t n = strlen(text), w = 0, i = 0;

	if (n && text[n - 1] == '.')
		n--; /* the final dot is optional; "." alone is the root */
	while (i < n) {
		size_t l = 0;

		while (i + l < n && text[i + l] != '.')
			l++;
		if (!l || l > DNS_LABEL_MAX || w + 1 + l + 1 > DNS_NAME_MAX)
			return -EINVAL;
		out[w++] = (uint8_t)l;
		for (size_t k = 0; k < l; k++)
			out[w++] = lower((uint8_t)text[i + k]);
		i += l;
		if (i < n && ++i == n)
			return -EINVAL; /* "a.." (one final dot was cut above) */
	}
	out[w++] = 0;
	*out_len = w;
	return 0;
}

static bool plain(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

size_t dns_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < 2)
		return 0;
	if (len <= 1) {
		memcpy(out, ".", 2);
		return 1;
	}
	for (size_t i = 0; i < len && name[i];) {
		size_t l = name[i++];

		if (o) {
			if (o + 1 >= cap)
				return 0;
			out[o++] = '.';
		}
		for (size_t k = 0; k < l && i < len; k++, i++) {
			uint8_t c = name[i];

			if (plain(c)) {
				if (o + 1 >= cap)
					return 0;
				out[o++] = (char)c;
			} else {
				if (o + 5 > cap)
					return 0;
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			}
		}
	}
	out[o] = '\0';
	return o;
}

const char *dns_type_name(uint16_t type, char buf[16])
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
	    {DNS_T_A, "A"},	  {DNS_T_NS, "NS"},	  {DNS_T_CNAME, "CNAME"},
	    {DNS_T_SOA, "SOA"},	  {DNS_T_PTR, "PTR"},	  {DNS_T_MX, "MX"},
	    {DNS_T_TXT, "TXT"},	  {DNS_T_AAAA, "AAAA"},	  {DNS_T_SRV, "SRV"},
	    {DNS_T_OPT, "OPT"},	  {DNS_T_HTTPS, "HTTPS"}, {DNS_T_IXFR, "IXFR"},
	    {DNS_T_AXFR, "AXFR"}, {DNS_T_MAILB, "MAILB"}, {DNS_T_MAILA, "MAILA"},
	    {DNS_T_ANY, "ANY"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, 16, "TYPE%u", type);
	return buf;
}

/* ---- parsing ---- */

static uint32_t rfc2181_ttl(uint32_t ttl)
{
	return ttl & TTL_TOP ? 0 : ttl;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The SOA RDATA at [off, rd_end): MNAME, RNAME, then exactly 20 bytes. The
 * names may point backwards anywhere, but their own bytes stay inside. */
static bool soa_minimum(const uint8_t *buf, size_t off, size_t rd_end, uint32_t *minimum)
{
	size_t nl;

	for (int i = 0; i < 2; i++)
		if (dns_name_read(buf, rd_end, off, NULL, &nl, &off) != DNS_MSG_OK)
			return false;
	if (rd_end - off != DNS_SOA_FIXED)
		return false;
	*minimum = rfc2181_ttl(dns_rd32(buf + off + 16));
	return true;
}

static enum dns_msg_err parse_rr(struct dns_msg *m, const uint8_t *buf, size_t len, size_t *off,
				 enum dns_section sec)
{
	size_t start = *off, nl, pos;
	uint16_t type, rdlen;
	uint32_t ttl;
	enum dns_msg_err err = dns_name_read(buf, len, start, NULL, &nl, &pos);

	if (err)
		return err;
	if (len - pos < DNS_RR_FIXED)
		return DNS_MSG_ERR_RR_TRUNCATED;
	type = dns_rd16(buf + pos);
	ttl = dns_rd32(buf + pos + 4);
	rdlen = dns_rd16(buf + pos + 8);
	pos += DNS_RR_FIXED;
	if (rdlen > len - pos)
		return DNS_MSG_ERR_RDATA_TRUNCATED;
	if (type == DNS_T_OPT) {
		if (sec != DNS_SEC_AR || nl != 1 || m->edns)
			return DNS_MSG_ERR_BAD_OPT;
		m->edns = true;
		m->edns_payload = dns_rd16(buf + pos - 8);
		m->edns_ext_rcode = (uint8_t)(ttl >> 24);
		m->edns_version = (uint8_t)(ttl >> 16);
		m->edns_do = ttl & 0x8000;
		m->opt_off = (uint16_t)start;
		m->opt_last = true;
	} else {
		m->opt_last = false;
		ttl = rfc2181_ttl(ttl);
		m->min_ttl = min32(m->min_ttl, ttl);
		if (type == DNS_T_SOA && sec == DNS_SEC_NS && !m->soa) {
			uint32_t minimum;

			if (!soa_minimum(buf, pos, pos + rdlen, &minimum))
				return DNS_MSG_ERR_BAD_SOA;
			m->soa = true;
			m->soa_neg_ttl = min32(ttl, minimum);
		}
	}
	*off = pos + rdlen;
	return DNS_MSG_OK;
}

enum dns_msg_err dns_msg_parse(struct dns_msg *m, const uint8_t *buf, size_t len)
{
	size_t off, total, nl;
	enum dns_msg_err err;

	memset(m, 0, sizeof(*m));
	if (len < DNS_HDR_LEN)
		return DNS_MSG_ERR_HEADER;
	m->id = dns_rd16(buf + DNS_OFF_ID);
	m->flags = dns_rd16(buf + DNS_OFF_FLAGS);
	m->qdcount = dns_rd16(buf + DNS_OFF_QDCOUNT);
	m->ancount = dns_rd16(buf + DNS_OFF_ANCOUNT);
	m->nscount = dns_rd16(buf + DNS_OFF_NSCOUNT);
	m->arcount = dns_rd16(buf + DNS_OFF_ARCOUNT);
	m->min_ttl = UINT32_MAX;
	if (len > DNS_MSG_MAX)
		return DNS_MSG_ERR_TOO_LONG;
	if (m->qdcount != 1)
		return DNS_MSG_ERR_QDCOUNT;
	err = dns_name_read(buf, len, DNS_HDR_LEN, m->qname, &nl, &off);
	if (err)
		return err;
	m->qname_len = (uint8_t)nl;
	if (len - off < 4)
		return DNS_MSG_ERR_QUESTION_TRUNCATED;
	m->qtype = dns_rd16(buf + off);
	m->qclass = dns_rd16(buf + off + 2);
	off += 4;
	m->question_end = (uint16_t)off;
	total = (size_t)m->ancount + m->nscount + m->arcount;
	if (total > DNS_RR_MAX)
		return DNS_MSG_ERR_TOO_MANY_RRS;
	for (size_t i = 0; i < total; i++) {
		enum dns_section sec = i < m->ancount			     ? DNS_SEC_AN
				       : i < (size_t)m->ancount + m->nscount ? DNS_SEC_NS
									     : DNS_SEC_AR;

		err = parse_rr(m, buf, len, &off, sec);
		if (err)
			return err;
	}
	m->end = (uint16_t)off;
	return DNS_MSG_OK;
}

bool dns_msg_same_question(const struct dns_msg *a, const struct dns_msg *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass &&
	       dns_name_equal(a->qname, a->qname_len, b->qname, b->qname_len);
}

/* ---- building ---- */

static void put_header(uint8_t *buf, uint16_t id, uint16_t flags, uint16_t qd)
{
	memset(buf, 0, DNS_HDR_LEN);
	dns_wr16(buf + DNS_OFF_ID, id);
	dns_wr16(buf + DNS_OFF_FLAGS, flags);
	dns_wr16(buf + DNS_OFF_QDCOUNT, qd);
}

static size_t put_question(uint8_t *buf, size_t cap, const uint8_t *qname, size_t qname_len,
			   uint16_t qtype, uint16_t qclass)
{
	size_t len = DNS_HDR_LEN + qname_len + 4;

	if (len > cap)
		return 0;
	memcpy(buf + DNS_HDR_LEN, qname, qname_len);
	dns_wr16(buf + DNS_HDR_LEN + qname_len, qtype);
	dns_wr16(buf + DNS_HDR_LEN + qname_len + 2, qclass);
	return len;
}

size_t dns_msg_build_query(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
			   const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass,
			   uint16_t edns_payload)
{
	size_t len;

	if (cap < DNS_HDR_LEN)
		return 0;
	put_header(buf, id, flags & (uint16_t) ~(DNS_QR | DNS_OPCODE_MASK | DNS_RCODE_MASK), 1);
	len = put_question(buf, cap, qname, qname_len, qtype, qclass);
	if (len && edns_payload)
		len = dns_msg_append_opt(buf, len, cap, edns_payload, 0);
	return len;
}

size_t dns_msg_build_reply(uint8_t *buf, size_t cap, const struct dns_msg *q, uint16_t flags,
			   unsigned rcode)
{
	uint16_t f = (uint16_t)(DNS_QR | DNS_RA | (q->flags & (DNS_OPCODE_MASK | DNS_RD | DNS_CD)) |
				(flags & (DNS_AA | DNS_TC | DNS_AD)) | (rcode & DNS_RCODE_MASK));

	if (cap < DNS_HDR_LEN)
		return 0;
	put_header(buf, q->id, f, 1);
	return put_question(buf, cap, q->qname, q->qname_len, q->qtype, q->qclass);
}

size_t dns_msg_build_formerr(uint8_t *buf, size_t cap, const uint8_t *query, size_t len)
{
	uint16_t f;

	if (cap < DNS_HDR_LEN || len < DNS_HDR_LEN)
		return 0;
	f = dns_rd16(query + DNS_OFF_FLAGS);
	f = (uint16_t)(DNS_QR | DNS_RA | (f & (DNS_OPCODE_MASK | DNS_RD)) | DNS_RCODE_FORMERR);
	put_header(buf, dns_rd16(query + DNS_OFF_ID), f, 0);
	return DNS_HDR_LEN;
}

static void count_add(uint8_t *buf, size_t off, int delta)
{
	dns_wr16(buf + off, (uint16_t)(dns_rd16(buf + off) + delta));
}

size_t dns_msg_append_rr(uint8_t *buf, size_t len, size_t cap, enum dns_section section,
			 const uint8_t *owner, size_t owner_len, uint16_t type, uint16_t rclass,
			 uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	static const size_t count_off[] = {DNS_OFF_ANCOUNT, DNS_OFF_NSCOUNT, DNS_OFF_ARCOUNT};
	size_t need = owner_len + DNS_RR_FIXED + rdlen;

	if (len < DNS_HDR_LEN || len > cap || need > cap - len || rdlen > UINT16_MAX ||
	    dns_rd16(buf + count_off[section]) == UINT16_MAX)
		return 0;
	memcpy(buf + len, owner, owner_len);
	len += owner_len;
	dns_wr16(buf + len, type);
	dns_wr16(buf + len + 2, rclass);
	dns_wr32(buf + len + 4, ttl);
	dns_wr16(buf + len + 8, (uint16_t)rdlen);
	if (rdlen)
		memcpy(buf + len + DNS_RR_FIXED, rdata, rdlen);
	count_add(buf, count_off[section], 1);
	return len + DNS_RR_FIXED + rdlen;
}

size_t dns_msg_append_opt(uint8_t *buf, size_t len, size_t cap, uint16_t payload, uint8_t ext_rcode)
{
	static const uint8_t root = 0;

	return dns_msg_append_rr(buf, len, cap, DNS_SEC_AR, &root, 1, DNS_T_OPT, payload,
				 (uint32_t)ext_rcode << 24, NULL, 0);
}

size_t dns_msg_strip_opt(uint8_t *buf, const struct dns_msg *m)
{
	if (!m->edns || !m->opt_last)
		return m->end;
	count_add(buf, DNS_OFF_ARCOUNT, -1);
	return m->opt_off;
}

/* ---- rewriting ---- */

int dns_msg_rewrite_ttls(uint8_t *buf, size_t len, uint32_t age, uint32_t cap)
{
	struct dns_msg m;
	size_t off, total;

	if (dns_msg_parse(&m, buf, len) != DNS_MSG_OK)
		return -EINVAL;
	off = m.question_end;
	total = (size_t)m.ancount + m.nscount + m.arcount;
	/* Validated above: every read below is in bounds. */
	for (size_t i = 0; i < total; i++) {
		size_t nl, pos;
		uint32_t ttl;

		dns_name_read(buf, len, off, NULL, &nl, &pos);
		if (dns_rd16(buf + pos) != DNS_T_OPT) {
			ttl = rfc2181_ttl(dns_rd32(buf + pos + 4));
			ttl = ttl > age ? ttl - age : 0;
			dns_wr32(buf + pos + 4, min32(ttl, cap));
		}
		off = pos + DNS_RR_FIXED + dns_rd16(buf + pos + 8);
	}
	return 0;
}

bool dns_msg_cache_ttl(const struct dns_msg *m, uint32_t cap, uint32_t neg_cap, uint32_t *ttl,
		       bool *negative)
{
	unsigned rcode = dns_msg_rcode(m);

	if (!(m->flags & DNS_QR) || (m->flags & DNS_TC) || dns_msg_opcode(m) != DNS_OPCODE_QUERY ||
	    (m->edns && m->edns_ext_rcode))
		return false;
	if (rcode == DNS_RCODE_NOERROR && m->ancount) {
		*negative = false;
		*ttl = min32(m->min_ttl, cap);
	} else if (rcode == DNS_RCODE_NXDOMAIN || rcode == DNS_RCODE_NOERROR) {
		if (!m->soa)
			return false; /* RFC 2308 5: no SOA, no negative caching */
		*negative = true;
		*ttl = min32(m->soa_neg_ttl, neg_cap);
	} else {
		return false;
	}
	return *ttl > 0;
}

size_t dns_msg_for_client(uint8_t *out, size_t cap, const uint8_t *ans, size_t len,
			  const struct dns_msg *q, uint32_t age, size_t limit)
{
	struct dns_msg a;
	uint16_t f;
	size_t n;

	if (dns_msg_parse(&a, ans, len) != DNS_MSG_OK || a.edns || !dns_msg_same_question(&a, q) ||
	    a.end > cap)
		return 0;
	n = a.end;
	memcpy(out, ans, n);
	dns_wr16(out + DNS_OFF_ID, q->id);
	f = (uint16_t)((a.flags & (uint16_t) ~(DNS_RD | DNS_CD)) | (q->flags & (DNS_RD | DNS_CD)));
	dns_wr16(out + DNS_OFF_FLAGS, f);
	/* The question is the first name, so never compressed: same length. */
	memcpy(out + DNS_HDR_LEN, q->qname, q->qname_len);
	if (age && dns_msg_rewrite_ttls(out, n, age, UINT32_MAX))
		return 0;
	if (q->edns)
		n = dns_msg_append_opt(out, n, cap, DNS_EDNS_PAYLOAD, 0);
	if (n && n <= limit)
		return n;
	/* Too long for the client: question only, TC=1 (RFC 1035 4.2.1). */
	n = a.question_end;
	if (n > cap)
		return 0;
	dns_wr16(out + DNS_OFF_FLAGS, f | DNS_TC);
	dns_wr16(out + DNS_OFF_ANCOUNT, 0);
	dns_wr16(out + DNS_OFF_NSCOUNT, 0);
	dns_wr16(out + DNS_OFF_ARCOUNT, 0);
	if (q->edns)
		n = dns_msg_append_opt(out, n, cap, DNS_EDNS_PAYLOAD, 0);
	return n;
}
