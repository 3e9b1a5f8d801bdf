/* dns_local.c - the DNS proxy's local zone: HOST.<domain> from the DHCP
 * leases (name_to_addr()), the domain's SOA, and the reverse names of
 * allow_net (addr_to_name()); answered authoritatively, never forwarded.
 */
#include "dns_internal.h"
#include "dns_msg.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	SOA_RDATA_MAX = 2 + 1 + 10 + 2 + DNS_SOA_FIXED,
	PTR_RDATA_MAX = DNS_NAME_MAX,
	HOST_MAX = 64, /* a label and its NUL */
};

/* Local zone SOA timers (RFC 1912 2.2 style values). */
enum {
	SOA_SERIAL = 1,
	SOA_REFRESH = 3600,
	SOA_RETRY = 600,
	SOA_EXPIRE = 86400,
};

/* ---- the local zone ---- */

static bool host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A DHCP host name as one lower-case label; false if it cannot be one. */
static bool host_label(const char *host, uint8_t *label, size_t *len)
{
	size_t n = strnlen(host, HOST_MAX);

	if (!n || n > DNS_LABEL_MAX)
		return false;
	label[0] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)host[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		if (!host_char(c))
			return false;
		label[1 + i] = c;
	}
	*len = n + 1;
	return true;
}

/* Where the local domain starts in the lower-cased @name, or -1. */
static int domain_suffix(const struct dns_proxy *p, const uint8_t *name, size_t len)
{
	if (!p->domain_len)
		return -1;
	for (size_t off = 0; off < len && len - off >= p->domain_len; off += 1 + name[off]) {
		if (len - off == p->domain_len && !memcmp(name + off, p->domain, p->domain_len))
			return (int)off;
		if (!name[off])
			break;
	}
	return -1;
}

/* One decimal label of a reverse name: 0..255, no leading zero. */
static bool octet_label(const uint8_t *l, unsigned *v)
{
	unsigned n = l[0], x = 0;

	if (n < 1 || n > 3 || (n > 1 && l[1] == '0'))
		return false;
	for (unsigned i = 1; i <= n; i++) {
		if (l[i] < '0' || l[i] > '9')
			return false;
		x = x * 10 + (unsigned)(l[i] - '0');
	}
	*v = x;
	return x <= 255;
}

/* "d.c.b.a.in-addr.arpa" (lower-cased) -> a.b.c.d in network order. */
static bool reverse_addr(const uint8_t *name, size_t len, uint32_t *addr)
{
	static const uint8_t tail[] = "\7in-addr\4arpa";
	unsigned o[4];
	size_t off = 0;

	for (int i = 0; i < 4; i++) {
		if (off >= len || !octet_label(name + off, &o[i]))
			return false;
		off += 1 + name[off];
	}
	if (len - off != sizeof(tail) || memcmp(name + off, tail, sizeof(tail)))
		return false;
	*addr = htonl((uint32_t)o[3] << 24 | o[2] << 16 | o[1] << 8 | o[0]);
	return true;
}

/* The local zone's SOA RDATA, names compressed against the domain at
 * offset @dom in the answer. */
static size_t soa_rdata(uint8_t *rd, uint16_t dom)
{
	static const uint8_t hostmaster[] = "\12hostmaster";
	size_t n = 0;

	dns_wr16(rd, (uint16_t)(0xc000 | dom)); /* MNAME: the domain */
	n += 2;
	memcpy(rd + n, hostmaster, sizeof(hostmaster) - 1); /* RNAME: hostmaster.<domain> */
	n += sizeof(hostmaster) - 1;
	dns_wr16(rd + n, (uint16_t)(0xc000 | dom));
	n += 2;
	dns_wr32(rd + n, SOA_SERIAL);
	dns_wr32(rd + n + 4, SOA_REFRESH);
	dns_wr32(rd + n + 8, SOA_RETRY);
	dns_wr32(rd + n + 12, SOA_EXPIRE);
	dns_wr32(rd + n + 16, DNS_LOCAL_TTL);
	return n + DNS_SOA_FIXED;
}

/* HOST.<domain>, the domain itself and anything under it: answered here,
 * never forwarded. @suffix is where the domain starts in @name. */
static void answer_zone(struct dns_proxy *p, const struct dns_msg *q,
			const struct dns_client_ref *to, const uint8_t *name, size_t suffix)
{
	uint8_t *buf = dns_answer_buf(p), rd[SOA_RDATA_MAX], owner[2], dom[2];
	uint16_t dom_off = (uint16_t)(DNS_HDR_LEN + suffix);
	bool any = q->qtype == DNS_T_ANY, known = false, answered = false;
	unsigned rcode = DNS_RCODE_NXDOMAIN;
	uint32_t addr = 0;
	size_t len, rdlen;

	dns_wr16(owner, 0xc000 | DNS_HDR_LEN);
	dns_wr16(dom, (uint16_t)(0xc000 | dom_off));
	if (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY) {
		dns_reply_rcode(p, q, to, DNS_RCODE_REFUSED);
		p->cnt.refused_sent++;
		return;
	}
	if (suffix == 0) {
		known = true; /* the apex exists: SOA, else NODATA */
	} else if (name[0] + 1u == suffix) {
		char host[HOST_MAX];
		bool plain = true;

		for (size_t i = 1; i <= name[0]; i++)
			plain &= host_char(name[i]);
		memcpy(host, name + 1, name[0]);
		host[name[0]] = '\0';
		known = plain && p->cfg.name_to_addr &&
			p->cfg.name_to_addr(p->cfg.ctx, host, &addr) == 0;
	}
	if (known)
		rcode = DNS_RCODE_NOERROR;
	len = dns_msg_build_reply(buf, DNS_MSG_MAX, q, DNS_AA, rcode);
	if (known && suffix && (q->qtype == DNS_T_A || any)) {
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_AN, owner, 2, DNS_T_A,
					DNS_C_IN, DNS_LOCAL_TTL, (const uint8_t *)&addr, 4);
		answered = true;
	}
	rdlen = soa_rdata(rd, dom_off);
	if (known && !suffix && (q->qtype == DNS_T_SOA || any)) {
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_AN, owner, 2, DNS_T_SOA,
					DNS_C_IN, DNS_LOCAL_TTL, rd, rdlen);
		answered = true;
	}
	if (!answered && len) /* NXDOMAIN or NODATA: the SOA (RFC 2308 3) */
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_NS, dom, 2, DNS_T_SOA,
					DNS_C_IN, DNS_LOCAL_TTL, rd, rdlen);
	dns_reply_built(p, q, to, len, 0);
}

/* The reverse name of an address in allow_net: answered here. */
static void answer_reverse(struct dns_proxy *p, const struct dns_msg *q,
			   const struct dns_client_ref *to, uint32_t addr)
{
	uint8_t *buf = dns_answer_buf(p), rd[PTR_RDATA_MAX], owner[2];
	char host[HOST_MAX] = "";
	size_t len, rdlen = 0;
	bool known;

	dns_wr16(owner, 0xc000 | DNS_HDR_LEN);
	known = p->cfg.addr_to_name && p->cfg.addr_to_name(p->cfg.ctx, addr, host, HOST_MAX) == 0;
	host[HOST_MAX - 1] = '\0';
	known = known && host_label(host, rd, &rdlen);
	if (known && rdlen + (p->domain_len ? p->domain_len : 1) <= PTR_RDATA_MAX) {
		if (p->domain_len)
			memcpy(rd + rdlen, p->domain, p->domain_len);
		else
			rd[rdlen] = 0;
		rdlen += p->domain_len ? p->domain_len : 1;
	} else {
		known = false;
	}
	len = dns_msg_build_reply(buf, DNS_MSG_MAX, q, DNS_AA,
				  known ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN);
	if (known && (q->qtype == DNS_T_PTR || q->qtype == DNS_T_ANY) &&
	    (q->qclass == DNS_C_IN || q->qclass == DNS_C_ANY))
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_AN, owner, 2, DNS_T_PTR,
					DNS_C_IN, DNS_LOCAL_TTL, rd, rdlen);
	dns_reply_built(p, q, to, len, 0);
}

bool dns_answer_local(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to)
{
	uint8_t name[DNS_NAME_MAX];
	uint32_t addr;
	int suffix;

	memcpy(name, q->qname, q->qname_len);
	dns_name_lower(name, q->qname_len);
	suffix = domain_suffix(p, name, q->qname_len);
	if (suffix >= 0)
		answer_zone(p, q, to, name, (size_t)suffix);
	else if (reverse_addr(name, q->qname_len, &addr) && dns_allowed(p, addr))
		answer_reverse(p, q, to, addr);
	else
		return false;
	p->cnt.answered_local++;
	return true;
}
