/* test_dns.c - the DNS proxy: the parser on hand-made good and bad messages
 * (every compression pointer rule, label and name limits, counts, RDATA
 * bounds), the cache (TTL expiry and rewrite, RFC 2308 negative caching,
 * LRU and byte bounds), and the proxy end to end on loopback: fake
 * upstreams (UDP, and TCP for TC=1) in this thread, the proxy driven by
 * dns_proxy_pollfds()/poll()/dns_proxy_run() in bounded loops. */
#include "test.h"
#include "../../src/svc/dns_internal.h"
#include "../../src/svc/dns_msg.h"
#include "../../src/svc/dns_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	BUF = 4096,
	SEC = 1000,
	LOOP_MS = 2000, /* every end-to-end wait is bounded by this */
};

/* ---- building messages by hand ---- */

struct w {
	uint8_t b[BUF];
	size_t n;
};

static void w8(struct w *w, unsigned v)
{
	w->b[w->n++] = (uint8_t)v;
}

static void w16(struct w *w, unsigned v)
{
	w8(w, v >> 8);
	w8(w, v);
}

static void w32(struct w *w, uint32_t v)
{
	w16(w, v >> 16);
	w16(w, v & 0xffff);
}

static void wname(struct w *w, const char *text)
{
	size_t len;

	if (!CHECK_EQ(dns_name_from_text(text, w->b + w->n, &len), 0))
		return;
	w->n += len;
}

static void whdr(struct w *w, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
		 unsigned ar)
{
	w->n = 0;
	w16(w, id);
	w16(w, flags);
	w16(w, qd);
	w16(w, an);
	w16(w, ns);
	w16(w, ar);
}

/* Header, then the question @name A IN. */
static void wquery(struct w *w, const char *name, unsigned an, unsigned ns, unsigned ar)
{
	whdr(w, 0x1234, DNS_RD, 1, an, ns, ar);
	wname(w, name);
	w16(w, DNS_T_A);
	w16(w, DNS_C_IN);
}

static enum dns_msg_err parse(const struct w *w)
{
	struct dns_msg m;

	return dns_msg_parse(&m, w->b, w->n);
}

/* An SOA record owned by the name at @owner_off: TTL @ttl, MINIMUM @min. */
static void wsoa(struct w *w, unsigned owner_off, uint32_t ttl, uint32_t min)
{
	w16(w, 0xc000 | owner_off);
	w16(w, DNS_T_SOA);
	w16(w, DNS_C_IN);
	w32(w, ttl);
	w16(w, 2 + 2 + 20);
	w16(w, 0xc000 | owner_off); /* MNAME */
	w16(w, 0xc000 | owner_off); /* RNAME */
	w32(w, 1);
	w32(w, 3600);
	w32(w, 600);
	w32(w, 86400);
	w32(w, min);
}

static void wa(struct w *w, uint32_t ttl, uint32_t addr)
{
	w16(w, 0xc00c);
	w16(w, DNS_T_A);
	w16(w, DNS_C_IN);
	w32(w, ttl);
	w16(w, 4);
	w32(w, addr);
}

/* ---- the parser ---- */

TEST(dns_parse_query)
{
	uint8_t buf[BUF], name[DNS_NAME_MAX];
	struct dns_msg m;
	size_t nl, len;

	CHECK_EQ(dns_name_from_text("WWW.Example.com.", name, &nl), 0);
	CHECK_EQ(nl, 17);
	CHECK(!memcmp(name, "\3www\7example\3com", 17)); /* lower-cased */
	len = dns_msg_build_query(buf, sizeof(buf), 0xbeef, DNS_RD, name, nl, DNS_T_AAAA, DNS_C_IN,
				  1232);
	CHECK_EQ(len, 12 + 17 + 4 + 11);
	CHECK_EQ(dns_msg_parse(&m, buf, len), DNS_MSG_OK);
	CHECK_EQ(m.id, 0xbeef);
	CHECK_EQ(m.flags, DNS_RD);
	CHECK_EQ(m.qname_len, 17);
	CHECK_EQ(m.qtype, DNS_T_AAAA);
	CHECK_EQ(m.question_end, 12 + 17 + 4);
	CHECK_EQ(m.end, len);
	CHECK(m.edns && m.opt_last);
	CHECK_EQ(m.edns_payload, 1232);
	CHECK_EQ(m.edns_version, 0);
	/* Trailing bytes are ignored, m.end says where the message ends. */
	CHECK_EQ(dns_msg_parse(&m, buf, len + 5), DNS_MSG_OK);
	CHECK_EQ(m.end, len);
	CHECK_EQ(dns_name_from_text("a..b", name, &nl), -EINVAL);
	CHECK_EQ(dns_name_from_text("a..", name, &nl), -EINVAL);
	CHECK_EQ(dns_name_from_text(".", name, &nl), 0);
	CHECK_EQ(nl, 1);
	CHECK_EQ(dns_name_from_text("", name, &nl), 0);
	CHECK_EQ(nl, 1);
}

TEST(dns_parse_truncated_header)
{
	struct w w;

	wquery(&w, "example.com", 0, 0, 0);
	for (size_t n = 0; n < DNS_HDR_LEN; n++) {
		struct dns_msg m;

		CHECK_EQ(dns_msg_parse(&m, w.b, n), DNS_MSG_ERR_HEADER);
	}
	/* Header fine, question cut anywhere. */
	for (size_t n = DNS_HDR_LEN; n < w.n; n++) {
		struct dns_msg m;
		enum dns_msg_err e = dns_msg_parse(&m, w.b, n);

		CHECK(e == DNS_MSG_ERR_NAME_TRUNCATED || e == DNS_MSG_ERR_QUESTION_TRUNCATED);
		CHECK_EQ(m.id, 0x1234); /* the header stays readable: FORMERR possible */
	}
	CHECK_EQ(parse(&w), DNS_MSG_OK);
}

TEST(dns_parse_qdcount)
{
	struct w w;

	wquery(&w, "example.com", 0, 0, 0);
	w.b[DNS_OFF_QDCOUNT + 1] = 0;
	CHECK_EQ(parse(&w), DNS_MSG_ERR_QDCOUNT);
	w.b[DNS_OFF_QDCOUNT + 1] = 2;
	CHECK_EQ(parse(&w), DNS_MSG_ERR_QDCOUNT);
	w.b[DNS_OFF_QDCOUNT + 1] = 1;
	CHECK_EQ(parse(&w), DNS_MSG_OK);
}

TEST(dns_parse_pointer_self_and_forward)
{
	struct w w;

	/* The question's name is a pointer to itself. */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	w16(&w, 0xc00c);
	w16(&w, 1);
	w16(&w, 1);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_POINTER_FORWARD);
	/* A label, then a pointer back to the start of the same name: loop. */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	w8(&w, 1);
	w8(&w, 'a');
	w16(&w, 0xc00c);
	w16(&w, 1);
	w16(&w, 1);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_POINTER_FORWARD);
	/* Pointing forward, to a valid name further on. */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	w16(&w, 0xc000 | 18);
	w16(&w, 1);
	w16(&w, 1);
	w8(&w, 0);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_POINTER_FORWARD);
	/* Into the header. */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	w16(&w, 0xc004);
	w16(&w, 1);
	w16(&w, 1);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_POINTER_HEADER);
	/* Two records pointing at each other (A -> B -> A). */
	wquery(&w, "a", 2, 0, 0);
	{
		size_t a = w.n, b;

		w16(&w, 0xc000 | (unsigned)(a + 2 + 10 + 0)); /* to B, forward */
		w16(&w, 1);
		w16(&w, 1);
		w32(&w, 1);
		w16(&w, 0);
		b = w.n;
		w16(&w, 0xc000 | (unsigned)a); /* B to A */
		w16(&w, 1);
		w16(&w, 1);
		w32(&w, 1);
		w16(&w, 0);
		CHECK_EQ(b, a + 12);
	}
	CHECK_EQ(parse(&w), DNS_MSG_ERR_POINTER_FORWARD);
	/* A pointer cut in half. */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	w8(&w, 0xc0);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_NAME_TRUNCATED);
}

/* A message whose second answer's owner follows @hops pointers: the first
 * answer's TXT RDATA is a chain of pointers, each to the one before, the
 * first to the question name. */
static void pointer_chain(struct w *w, unsigned hops, size_t *owner_off)
{
	size_t chain, rd = DNS_PTR_HOPS_MAX + 2;

	wquery(w, "a", 2, 0, 0);
	w16(w, 0xc00c);
	w16(w, DNS_T_TXT);
	w16(w, DNS_C_IN);
	w32(w, 60);
	w16(w, (unsigned)(2 * rd));
	chain = w->n;
	for (size_t i = 0; i < rd; i++)
		w16(w, 0xc000 | (unsigned)(i ? chain + 2 * (i - 1) : DNS_HDR_LEN));
	/* owner -> chain[hops - 2] -> ... -> chain[0] -> question: hops. */
	*owner_off = w->n;
	w16(w, 0xc000 | (unsigned)(chain + 2 * (hops - 2)));
	w16(w, DNS_T_A);
	w16(w, DNS_C_IN);
	w32(w, 60);
	w16(w, 4);
	w32(w, 0x0a000001);
}

TEST(dns_parse_pointer_chain_cap)
{
	struct w w;
	uint8_t name[DNS_NAME_MAX];
	size_t owner, nl, next;

	pointer_chain(&w, DNS_PTR_HOPS_MAX, &owner);
	CHECK_EQ(parse(&w), DNS_MSG_OK);
	CHECK_EQ(dns_name_read(w.b, w.n, owner, name, &nl, &next), DNS_MSG_OK);
	CHECK_EQ(nl, 3);
	CHECK(!memcmp(name, "\1a", 3));
	CHECK_EQ(next, owner + 2);
	pointer_chain(&w, DNS_PTR_HOPS_MAX + 1, &owner);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_POINTER_HOPS);
	CHECK_EQ(dns_name_read(w.b, w.n, owner, name, &nl, &next), DNS_MSG_ERR_POINTER_HOPS);
}

TEST(dns_parse_label_and_name_length)
{
	struct w w;
	char text[400];

	/* A length byte of 64 is no label (0x40: extended label type). */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	w8(&w, 64);
	for (int i = 0; i < 64; i++)
		w8(&w, 'a');
	w8(&w, 0);
	w16(&w, 1);
	w16(&w, 1);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_LABEL_TYPE);
	w.b[DNS_HDR_LEN] = 0x80;
	CHECK_EQ(parse(&w), DNS_MSG_ERR_LABEL_TYPE);
	/* 63 is fine. */
	memset(text, 'a', 63);
	text[63] = '\0';
	wquery(&w, text, 0, 0, 0);
	CHECK_EQ(parse(&w), DNS_MSG_OK);
	/* 255 wire bytes exactly: 3 x 63 + 61, with length bytes and root. */
	memset(text, 'b', sizeof(text));
	text[63] = text[127] = text[191] = '.';
	text[253] = '\0';
	wquery(&w, text, 0, 0, 0);
	CHECK_EQ(w.n, DNS_HDR_LEN + 255 + 4);
	CHECK_EQ(parse(&w), DNS_MSG_OK);
	/* 256: by hand, since dns_name_from_text() refuses it. */
	whdr(&w, 1, 0, 1, 0, 0, 0);
	for (int l = 0; l < 4; l++) {
		w8(&w, l < 3 ? 63 : 62);
		for (int i = 0; i < (l < 3 ? 63 : 62); i++)
			w8(&w, 'c');
	}
	w8(&w, 0);
	w16(&w, 1);
	w16(&w, 1);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_NAME_TOO_LONG);
	/* Over 255 through compression: a 200-byte name, then 100 more. */
	{
		size_t first;

		whdr(&w, 1, 0x8000, 1, 1, 0, 0);
		wname(&w, "a");
		w16(&w, 1);
		w16(&w, 1);
		first = w.n;
		for (int l = 0; l < 4; l++) {
			w8(&w, 49);
			for (int i = 0; i < 49; i++)
				w8(&w, 'd');
		}
		w8(&w, 0); /* owner: 201 bytes */
		w16(&w, DNS_T_TXT);
		w16(&w, 1);
		w32(&w, 1);
		w16(&w, 0);
		CHECK_EQ(parse(&w), DNS_MSG_OK);
		w.b[DNS_OFF_ANCOUNT + 1] = 2;
		for (int l = 0; l < 2; l++) {
			w8(&w, 49);
			for (int i = 0; i < 49; i++)
				w8(&w, 'e');
		}
		w16(&w, 0xc000 | (unsigned)first); /* 100 + 201 > 255 */
		w16(&w, DNS_T_TXT);
		w16(&w, 1);
		w32(&w, 1);
		w16(&w, 0);
		CHECK_EQ(parse(&w), DNS_MSG_ERR_NAME_TOO_LONG);
	}
}

TEST(dns_parse_records)
{
	struct w w;
	struct dns_msg m;
	size_t good;

	wquery(&w, "example.com", 1, 0, 0);
	wa(&w, 300, 0x0a000001);
	good = w.n;
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK_EQ(m.min_ttl, 300);
	/* RDLENGTH past the end. */
	w.b[good - 5] = 10;
	CHECK_EQ(parse(&w), DNS_MSG_ERR_RDATA_TRUNCATED);
	w.b[good - 5] = 4;
	/* Fixed part cut. */
	for (size_t n = good - 14 + 2; n < good - 4; n++) {
		w.n = n;
		CHECK_EQ(parse(&w), DNS_MSG_ERR_RR_TRUNCATED);
	}
	w.n = good;
	/* More records announced than present. */
	w.b[DNS_OFF_ANCOUNT + 1] = 2;
	CHECK_EQ(parse(&w), DNS_MSG_ERR_NAME_TRUNCATED);
	/* Counts over the cap. */
	w.b[DNS_OFF_ANCOUNT] = 0xff;
	CHECK_EQ(parse(&w), DNS_MSG_ERR_TOO_MANY_RRS);
	w.b[DNS_OFF_ANCOUNT] = 0;
	w.b[DNS_OFF_ANCOUNT + 1] = 1;
	/* A TTL with its top bit set counts as 0 (RFC 2181 8). */
	w.b[good - 10] = 0x80;
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK_EQ(m.min_ttl, 0);
}

TEST(dns_parse_opt_and_soa)
{
	struct w w;
	struct dns_msg m;
	size_t opt;

	/* OPT in the answer section. */
	wquery(&w, "x", 1, 0, 0);
	w8(&w, 0);
	w16(&w, DNS_T_OPT);
	w16(&w, 1232);
	w32(&w, 0);
	w16(&w, 0);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_BAD_OPT);
	/* Two OPT records. */
	wquery(&w, "x", 0, 0, 2);
	for (int i = 0; i < 2; i++) {
		w8(&w, 0);
		w16(&w, DNS_T_OPT);
		w16(&w, 1232);
		w32(&w, 0);
		w16(&w, 0);
	}
	CHECK_EQ(parse(&w), DNS_MSG_ERR_BAD_OPT);
	/* An OPT owned by another name than the root. */
	wquery(&w, "x", 0, 0, 1);
	w16(&w, 0xc00c);
	w16(&w, DNS_T_OPT);
	w16(&w, 1232);
	w32(&w, 0);
	w16(&w, 0);
	CHECK_EQ(parse(&w), DNS_MSG_ERR_BAD_OPT);
	/* OPT then another additional record: valid, not last. */
	wquery(&w, "x", 0, 0, 2);
	opt = w.n;
	w8(&w, 0);
	w16(&w, DNS_T_OPT);
	w16(&w, 4096);
	w32(&w, 0x00008000); /* DO */
	w16(&w, 0);
	wa(&w, 5, 1);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(m.edns && m.edns_do && !m.opt_last);
	CHECK_EQ(m.opt_off, opt);
	CHECK_EQ(dns_msg_strip_opt(w.b, &m), w.n); /* not removed */
	/* A good SOA in the authority section; then one with RDATA cut. */
	whdr(&w, 7, DNS_QR | DNS_RCODE_NXDOMAIN, 1, 0, 1, 0);
	wname(&w, "nx.example");
	w16(&w, DNS_T_A);
	w16(&w, DNS_C_IN);
	wsoa(&w, 15, 3600, 300);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(m.soa);
	CHECK_EQ(m.soa_neg_ttl, 300);
	w.b[w.n - 24 - 1] = 2 + 2 + 19; /* RDLENGTH one short of the 20 fixed bytes */
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n - 1), DNS_MSG_ERR_BAD_SOA);
}

TEST(dns_name_text)
{
	static const uint8_t odd[] = "\3a.b\4x\"\\y";
	char out[DNS_NAME_TEXT_MAX], tb[16];

	CHECK_EQ(dns_name_to_text((const uint8_t *)"\3www\7example\3com", 17, out, sizeof(out)),
		 15);
	CHECK(!strcmp(out, "www.example.com"));
	CHECK_EQ(dns_name_to_text((const uint8_t *)"", 1, out, sizeof(out)), 1);
	CHECK(!strcmp(out, "."));
	CHECK(dns_name_to_text(odd, sizeof(odd), out, sizeof(out)) > 0);
	CHECK(!strcmp(out, "a\\046b.x\\034\\092y"));
	CHECK_EQ(dns_name_to_text(odd, sizeof(odd), out, 6), 0);
	CHECK(!strcmp(dns_type_name(DNS_T_AAAA, tb), "AAAA"));
	CHECK(!strcmp(dns_type_name(4242, tb), "TYPE4242"));
	CHECK(dns_name_equal((const uint8_t *)"\1A\0", 3, (const uint8_t *)"\1a\0", 3));
	CHECK(!dns_name_equal((const uint8_t *)"\1A\0", 3, (const uint8_t *)"\1b\0", 3));
}

/* ---- answers, TTLs and the cache ---- */

/* An answer to "example.com A": @n A records of TTL @ttl, and an OPT. */
static size_t answer_msg(struct w *w, unsigned n, uint32_t ttl)
{
	whdr(w, 0x4242, DNS_QR | DNS_RD | DNS_RA, 1, n, 0, 1);
	wname(w, "example.com");
	w16(w, DNS_T_A);
	w16(w, DNS_C_IN);
	for (unsigned i = 0; i < n; i++)
		wa(w, ttl + i, 0x0a000000 + i);
	w8(w, 0);
	w16(w, DNS_T_OPT);
	w16(w, 1232);
	w32(w, 0);
	w16(w, 0);
	return w->n;
}

static uint32_t first_ttl(const uint8_t *msg, size_t len, unsigned *ancount)
{
	struct dns_msg m;
	size_t nl, pos;

	if (dns_msg_parse(&m, msg, len) != DNS_MSG_OK || !m.ancount)
		return UINT32_MAX;
	if (ancount)
		*ancount = m.ancount;
	dns_name_read(msg, len, m.question_end, NULL, &nl, &pos);
	return dns_rd32(msg + pos + 4);
}

TEST(dns_cache_ttl_expiry_and_rewrite)
{
	struct dns_counters cnt = {0};
	struct dns_cache *c = NULL;
	struct dns_msg a, q;
	struct w w;
	uint8_t out[BUF], got[BUF], name[DNS_NAME_MAX];
	struct dns_key k = {.name = name, .qtype = DNS_T_A, .qclass = DNS_C_IN};
	size_t len, n, qlen;
	uint32_t ttl, age;
	bool neg;

	CHECK_EQ(dns_name_from_text("example.com", name, &k.name_len), 0);
	answer_msg(&w, 3, 300);
	CHECK_EQ(dns_msg_parse(&a, w.b, w.n), DNS_MSG_OK);
	len = dns_msg_strip_opt(w.b, &a);
	CHECK_EQ(len, w.n - 11);
	CHECK_EQ(dns_msg_parse(&a, w.b, len), DNS_MSG_OK);
	CHECK(!a.edns);
	CHECK(dns_msg_cache_ttl(&a, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	CHECK_EQ(ttl, 300);
	CHECK(!neg);
	CHECK_EQ(dns_cache_create(16, 64 * 1024, 1, &cnt, &c), 0);
	CHECK(dns_cache_insert(c, &k, w.b, len, ttl, neg, 1000));
	CHECK_EQ(cnt.cache_inserts, 1);
	CHECK_EQ(cnt.cache_entries, 1);
	CHECK_EQ(cnt.cache_bytes, len);
	/* 100.5 s later: 100 s old; served with TTLs lowered by 100. */
	n = dns_cache_lookup(c, &k, 1000 + 100500, got, sizeof(got), &age);
	CHECK_EQ(n, len);
	CHECK_EQ(age, 100);
	qlen = dns_msg_build_query(out, sizeof(out), 0x7777, DNS_RD,
				   (const uint8_t *)"\7EXAMPLE\3Com", 13, DNS_T_A, DNS_C_IN, 0);
	CHECK_EQ(dns_msg_parse(&q, out, qlen), DNS_MSG_OK);
	n = dns_msg_for_client(out, sizeof(out), got, n, &q, age, 512);
	CHECK(n > 0);
	CHECK_EQ(dns_rd16(out), 0x7777);			 /* the client's id */
	CHECK(!memcmp(out + DNS_HDR_LEN, "\7EXAMPLE\3Com", 13)); /* its spelling */
	CHECK_EQ(first_ttl(out, n, NULL), 200);
	/* Case-insensitive key: the caller lower-cases. A wrong type misses. */
	k.qtype = DNS_T_AAAA;
	CHECK_EQ(dns_cache_lookup(c, &k, 2000, got, sizeof(got), &age), 0);
	k.qtype = DNS_T_A;
	/* At 300 s it has expired and is removed. */
	CHECK_EQ(dns_cache_lookup(c, &k, 1000 + 300000, got, sizeof(got), &age), 0);
	CHECK_EQ(cnt.cache_expired, 1);
	CHECK_EQ(cnt.cache_entries, 0);
	CHECK_EQ(cnt.cache_bytes, 0);
	/* TTL rewrite caps and floors. */
	CHECK_EQ(dns_msg_rewrite_ttls(w.b, len, 0, 250), 0);
	CHECK_EQ(first_ttl(w.b, len, NULL), 250);
	CHECK_EQ(dns_msg_rewrite_ttls(w.b, len, 1000, 250), 0);
	CHECK_EQ(first_ttl(w.b, len, NULL), 0);
	/* The sweep removes what expired without a lookup. */
	CHECK(dns_cache_insert(c, &k, w.b, len, 10, false, 0));
	dns_cache_sweep(c, 5000, 100);
	CHECK_EQ(cnt.cache_entries, 1);
	dns_cache_sweep(c, 10000, 100);
	CHECK_EQ(cnt.cache_entries, 0);
	CHECK_EQ(cnt.cache_expired, 2);
	dns_cache_destroy(c);
}

TEST(dns_cache_negative)
{
	struct dns_msg m;
	struct w w;
	uint32_t ttl;
	bool neg;

	/* NXDOMAIN with SOA: min(SOA TTL, MINIMUM) (RFC 2308 5). */
	whdr(&w, 1, DNS_QR | DNS_RCODE_NXDOMAIN, 1, 0, 1, 0);
	wname(&w, "nx.example");
	w16(&w, DNS_T_A);
	w16(&w, DNS_C_IN);
	wsoa(&w, 15, 3600, 900);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	CHECK(neg);
	CHECK_EQ(ttl, 900);
	/* SOA TTL smaller than MINIMUM. */
	whdr(&w, 1, DNS_QR | DNS_RCODE_NXDOMAIN, 1, 0, 1, 0);
	wname(&w, "nx.example");
	w16(&w, DNS_T_A);
	w16(&w, DNS_C_IN);
	wsoa(&w, 15, 120, 900);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	CHECK_EQ(ttl, 120);
	/* NODATA (NOERROR, no answer) with SOA; capped. */
	whdr(&w, 1, DNS_QR, 1, 0, 1, 0);
	wname(&w, "nx.example");
	w16(&w, DNS_T_AAAA);
	w16(&w, DNS_C_IN);
	wsoa(&w, 15, 86400, 86400);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	CHECK(neg);
	CHECK_EQ(ttl, DNS_NEG_TTL_CAP);
	/* Without SOA: not cached. SERVFAIL: not cached. TC: not cached. */
	whdr(&w, 1, DNS_QR | DNS_RCODE_NXDOMAIN, 1, 0, 0, 0);
	wname(&w, "nx.example");
	w16(&w, DNS_T_A);
	w16(&w, DNS_C_IN);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(!dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	w.b[3] = DNS_RCODE_NOERROR;
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(!dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	answer_msg(&w, 1, 60);
	w.b[3] = DNS_RA | DNS_RCODE_SERVFAIL;
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(!dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	w.b[3] = DNS_RA;
	w.b[2] |= DNS_TC >> 8;
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(!dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
	/* A TTL of 0: not cached either. */
	answer_msg(&w, 1, 0);
	CHECK_EQ(dns_msg_parse(&m, w.b, w.n), DNS_MSG_OK);
	CHECK(!dns_msg_cache_ttl(&m, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &neg));
}

TEST(dns_cache_lru_bound)
{
	struct dns_counters cnt = {0};
	struct dns_cache *c = NULL;
	uint8_t names[6][DNS_NAME_MAX], got[BUF], big[2048] = {0};
	struct dns_key k[6];
	uint32_t age;
	struct w w;
	size_t len = answer_msg(&w, 1, 600);

	CHECK_EQ(dns_cache_create(4, 4096, 99, &cnt, &c), 0);
	for (int i = 0; i < 6; i++) {
		char text[32];

		snprintf(text, sizeof(text), "h%d.example", i);
		k[i] = (struct dns_key){.name = names[i], .qtype = DNS_T_A, .qclass = DNS_C_IN};
		CHECK_EQ(dns_name_from_text(text, names[i], &k[i].name_len), 0);
	}
	for (int i = 0; i < 4; i++)
		CHECK(dns_cache_insert(c, &k[i], w.b, len, 600, false, 0));
	CHECK_EQ(cnt.cache_entries, 4);
	/* Use h0: h1 is now the least recently used. */
	CHECK_EQ(dns_cache_lookup(c, &k[0], 10, got, sizeof(got), &age), len);
	CHECK(dns_cache_insert(c, &k[4], w.b, len, 600, false, 20));
	CHECK_EQ(cnt.cache_entries, 4);
	CHECK_EQ(cnt.cache_evictions, 1);
	CHECK_EQ(dns_cache_lookup(c, &k[1], 30, got, sizeof(got), &age), 0);
	CHECK_EQ(dns_cache_lookup(c, &k[0], 30, got, sizeof(got), &age), len);
	/* Replacing an entry is not an eviction. */
	CHECK(dns_cache_insert(c, &k[4], w.b, len, 600, false, 40));
	CHECK_EQ(cnt.cache_evictions, 1);
	CHECK_EQ(cnt.cache_entries, 4);
	/* Bytes: at most a quarter of 4096 per answer... */
	CHECK(!dns_cache_insert(c, &k[5], big, 1025, 600, false, 50));
	CHECK_EQ(cnt.cache_too_big, 1);
	/* ... and 4096 in all: four of 1024 fit, only after evicting. */
	for (int i = 0; i < 4; i++)
		CHECK(dns_cache_insert(c, &k[i], big, 1024, 600, false, 60));
	CHECK(cnt.cache_bytes <= 4096);
	CHECK_EQ(cnt.cache_entries, 4);
	CHECK(dns_cache_insert(c, &k[5], big, 100, 600, false, 70));
	CHECK_EQ(cnt.cache_entries, 4);
	CHECK_EQ(dns_cache_lookup(c, &k[0], 80, got, sizeof(got), &age), 0); /* LRU went */
	CHECK_EQ(dns_cache_lookup(c, &k[5], 80, got, sizeof(got), &age), 100);
	dns_cache_destroy(c);
}

TEST(dns_for_client_truncates)
{
	struct dns_msg a, q;
	struct w w;
	uint8_t out[BUF], qb[512];
	size_t len, n, qlen;

	answer_msg(&w, 40, 300); /* 12 + 17 + 40 * 16 + 11 = 680 bytes */
	CHECK_EQ(dns_msg_parse(&a, w.b, w.n), DNS_MSG_OK);
	len = dns_msg_strip_opt(w.b, &a);
	qlen = dns_msg_build_query(qb, sizeof(qb), 9, DNS_RD, (const uint8_t *)"\7example\3com", 13,
				   DNS_T_A, DNS_C_IN, 0);
	CHECK_EQ(dns_msg_parse(&q, qb, qlen), DNS_MSG_OK);
	n = dns_msg_for_client(out, sizeof(out), w.b, len, &q, 0, 512);
	CHECK_EQ(n, 12 + 17);
	CHECK(dns_rd16(out + 2) & DNS_TC);
	CHECK_EQ(dns_rd16(out + DNS_OFF_ANCOUNT), 0);
	/* With EDNS0 and 1232 bytes it fits, and gets an OPT back. */
	qlen = dns_msg_build_query(qb, sizeof(qb), 9, DNS_RD, (const uint8_t *)"\7example\3com", 13,
				   DNS_T_A, DNS_C_IN, 1232);
	CHECK_EQ(dns_msg_parse(&q, qb, qlen), DNS_MSG_OK);
	n = dns_msg_for_client(out, sizeof(out), w.b, len, &q, 0, 1232);
	CHECK_EQ(n, len + 11);
	CHECK_EQ(dns_msg_parse(&a, out, n), DNS_MSG_OK);
	CHECK(a.edns && !(a.flags & DNS_TC));
	CHECK_EQ(a.ancount, 40);
	/* Another question: refused. */
	q.qtype = DNS_T_AAAA;
	CHECK_EQ(dns_msg_for_client(out, sizeof(out), w.b, len, &q, 0, 1232), 0);
}

TEST(dns_resolv_conf)
{
	char path[] = "/tmp/test_dns_resolv_XXXXXX";
	struct dns_upstream up[4];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!CHECK(f != NULL))
		return;
	fprintf(f, "# generated\nsearch lan\nnameserver 127.0.0.53\nnameserver ::1\n"
		   "nameserver 2001:db8::1\nnameserver 1.1.1.1\n  nameserver\t9.9.9.9  # x\n"
		   "nameserver 1.1.1.1\nnameserver 0.0.0.0\nnameserver junk\nnameserver\n"
		   "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 4.4.4.4\n");
	fclose(f);
	CHECK_EQ(dns_read_resolv_conf(path, up, 4), 4);
	CHECK_EQ(up[0].addr, htonl(0x01010101));
	CHECK_EQ(up[0].port, 53);
	CHECK_EQ(up[1].addr, htonl(0x09090909));
	CHECK_EQ(up[2].addr, htonl(0x08080808));
	CHECK_EQ(up[3].addr, htonl(0x08080404));
	unlink(path);
	CHECK_EQ(dns_read_resolv_conf(path, up, 4), -ENOENT);
}

/* ---- end to end on loopback ---- */

#define LOOPBACK htonl(INADDR_LOOPBACK)

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int udp_bound(uint16_t port, uint16_t *got)
{
	struct sockaddr_in sin = {
	    .sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK, .sin_port = htons(port)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (got)
		*got = ntohs(sin.sin_port);
	return fd;
}

enum up_mode {
	UP_ANSWER,
	UP_SILENT,
	UP_TC,	  /* UDP: TC=1; TCP: 40 records */
	UP_SPOOF, /* wrong port, wrong id, wrong question, then the answer */
};

struct fake_up {
	enum up_mode mode;
	int udp, spoof, tcp_l, tcp_c;
	uint16_t port;
	uint32_t addr; /* the A record answered, network order */
	unsigned udp_queries, tcp_queries;
	uint16_t last_id;
	bool last_edns;
	uint8_t in[1024];
	size_t in_len;
};

static bool fake_open(struct fake_up *u, enum up_mode mode, uint32_t addr)
{
	memset(u, 0, sizeof(*u));
	u->mode = mode;
	u->addr = addr;
	u->spoof = u->tcp_l = u->tcp_c = -1;
	/* UDP and TCP on one port (the TCP fallback asks the same one). */
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK};

		u->udp = udp_bound(0, &u->port);
		if (u->udp < 0)
			return false;
		sin.sin_port = htons(u->port);
		u->tcp_l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (u->tcp_l >= 0 && !bind(u->tcp_l, (struct sockaddr *)&sin, sizeof(sin)) &&
		    !listen(u->tcp_l, 4))
			break;
		close(u->udp);
		if (u->tcp_l >= 0)
			close(u->tcp_l);
		u->udp = u->tcp_l = -1;
	}
	u->spoof = udp_bound(0, NULL);
	return u->udp >= 0 && u->spoof >= 0;
}

static void fake_close(struct fake_up *u)
{
	int fds[] = {u->udp, u->spoof, u->tcp_l, u->tcp_c};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The answer to the query @q: @n A records (addr, addr + 1, ...). */
static size_t fake_answer(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, uint32_t addr,
			  unsigned n, uint16_t flags)
{
	struct dns_msg m;
	size_t len;

	if (dns_msg_parse(&m, q, qlen) != DNS_MSG_OK)
		return 0;
	len = dns_msg_build_reply(out, cap, &m, flags, 0);
	for (unsigned i = 0; i < n && len; i++) {
		uint32_t a = htonl(ntohl(addr) + i);

		len = dns_msg_append_rr(out, len, cap, DNS_SEC_AN, (const uint8_t *)"\300\014", 2,
					DNS_T_A, DNS_C_IN, 300, (const uint8_t *)&a, 4);
	}
	if (len && m.edns)
		len = dns_msg_append_opt(out, len, cap, 1232, 0);
	return len;
}

static void fake_serve(struct fake_up *u)
{
	uint8_t q[1024], a[BUF];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	size_t len;

	while ((n = recvfrom(u->udp, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >
	       0) {
		struct dns_msg m;

		u->udp_queries++;
		u->last_id = dns_rd16(q);
		u->last_edns = dns_msg_parse(&m, q, (size_t)n) == DNS_MSG_OK && m.edns;
		if (u->mode == UP_SILENT)
			continue;
		if (u->mode == UP_SPOOF) {
			uint32_t evil = htonl(0x06060606);

			len = fake_answer(q, (size_t)n, a, sizeof(a), evil, 1, 0);
			sendto(u->spoof, a, len, 0, (struct sockaddr *)&from, fl);
			a[0] ^= 0x5a;
			sendto(u->udp, a, len, 0, (struct sockaddr *)&from, fl);
			a[0] ^= 0x5a;
			a[DNS_HDR_LEN + 1] ^= 0x01; /* another name, same length */
			sendto(u->udp, a, len, 0, (struct sockaddr *)&from, fl);
		}
		len = fake_answer(q, (size_t)n, a, sizeof(a), u->addr, u->mode == UP_TC ? 0 : 1,
				  u->mode == UP_TC ? DNS_TC : 0);
		sendto(u->udp, a, len, 0, (struct sockaddr *)&from, fl);
	}
	if (u->tcp_l >= 0 && u->tcp_c < 0)
		u->tcp_c = accept4(u->tcp_l, NULL, NULL, SOCK_NONBLOCK);
	if (u->tcp_c < 0)
		return;
	n = recv(u->tcp_c, u->in + u->in_len, sizeof(u->in) - u->in_len, MSG_DONTWAIT);
	if (n > 0)
		u->in_len += (size_t)n;
	if (u->in_len >= 2 && u->in_len >= 2u + dns_rd16(u->in)) {
		u->tcp_queries++;
		len = fake_answer(u->in + 2, dns_rd16(u->in), a + 2, sizeof(a) - 2, u->addr, 40, 0);
		dns_wr16(a, (uint16_t)len);
		send(u->tcp_c, a, len + 2, MSG_NOSIGNAL);
		close(u->tcp_c);
		u->tcp_c = -1;
		u->in_len = 0;
	}
}

struct rig {
	struct dns_proxy *p;
	struct fake_up up[2];
	unsigned n_up;
	int client; /* UDP */
};

static int local_name(void *ctx, const char *host, uint32_t *addr)
{
	(void)ctx;
	if (strcmp(host, "printer"))
		return -1;
	*addr = htonl(0x7f000032); /* 127.0.0.50 */
	return 0;
}

static int local_addr(void *ctx, uint32_t addr, char *host, size_t size)
{
	(void)ctx;
	if (addr != htonl(0x7f000032))
		return -1;
	snprintf(host, size, "Printer");
	return 0;
}

static void rig_config(struct rig *r, struct dns_proxy_config *cfg)
{
	dns_proxy_config_default(cfg);
	cfg->listen_addr = LOOPBACK;
	cfg->listen_port = 0;
	cfg->allow_net = htonl(0x7f000000);
	cfg->allow_mask = htonl(0xff000000);
	cfg->timeout_ms = 100;
	cfg->name_to_addr = local_name;
	cfg->addr_to_name = local_addr;
	cfg->n_upstream = r->n_up;
	for (unsigned i = 0; i < r->n_up; i++)
		cfg->upstream[i] = (struct dns_upstream){.addr = LOOPBACK, .port = r->up[i].port};
}

static bool rig_start(struct rig *r, const struct dns_proxy_config *cfg)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK};
	const char *why = NULL;

	r->p = NULL;
	if (!CHECK_EQ(dns_proxy_create(cfg, &r->p, &why), 0)) {
		printf("  dns_proxy_create: %s\n", why ? why : "?");
		return false;
	}
	r->client = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	sin.sin_port = htons(dns_proxy_port(r->p));
	return CHECK(r->client >= 0) &&
	       CHECK(!connect(r->client, (struct sockaddr *)&sin, sizeof(sin)));
}

/* Proxy and fake upstreams, both modes given; up[i] answers 10.0.0.(i+1). */
static bool rig_open(struct rig *r, unsigned n_up, enum up_mode m0, enum up_mode m1)
{
	struct dns_proxy_config cfg;

	memset(r, 0, sizeof(*r));
	r->client = -1;
	for (unsigned i = 0; i < n_up; i++) {
		r->n_up = i + 1; /* rig_close() closes what fake_open() began */
		if (!CHECK(fake_open(&r->up[i], i ? m1 : m0, htonl(0x0a000001 + i))))
			return false;
	}
	rig_config(r, &cfg);
	return rig_start(r, &cfg);
}

static void rig_close(struct rig *r)
{
	dns_proxy_destroy(r->p);
	for (unsigned i = 0; i < r->n_up; i++)
		fake_close(&r->up[i]);
	if (r->client >= 0)
		close(r->client);
}

/* One round: poll the proxy (5 ms at most), run it, serve the fakes. */
static void rig_step(struct rig *r)
{
	struct pollfd fds[64];
	unsigned n = dns_proxy_pollfds(r->p, fds, 64);
	int t = dns_proxy_timeout_ms(r->p, mono_ms());

	poll(fds, n, t < 5 ? t : 5);
	dns_proxy_run(r->p, fds, n, mono_ms());
	for (unsigned i = 0; i < r->n_up; i++)
		fake_serve(&r->up[i]);
}

/* Run until a datagram arrives on @fd (returned, or 0 after @ms). */
static size_t rig_wait(struct rig *r, int fd, uint8_t *buf, size_t cap, unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	while (mono_ms() < end) {
		ssize_t n;

		rig_step(r);
		n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n > 0)
			return (size_t)n;
	}
	return 0;
}

static bool ask_send(struct rig *r, uint16_t id, const char *name, uint16_t qtype, uint16_t edns)
{
	uint8_t q[512], wire[DNS_NAME_MAX];
	size_t nl = 0, len;

	/* Keep the caller's case: build the wire name by hand. */
	for (const char *s = name; *s;) {
		size_t l = strcspn(s, ".");

		wire[nl++] = (uint8_t)l;
		memcpy(wire + nl, s, l);
		nl += l;
		s += l + (s[l] == '.');
	}
	wire[nl++] = 0;
	len = dns_msg_build_query(q, sizeof(q), id, DNS_RD, wire, nl, qtype, DNS_C_IN, edns);
	return CHECK(send(r->client, q, len, 0) == (ssize_t)len);
}

/* Ask @name (case kept) over UDP; the answer, or 0 after LOOP_MS. */
static size_t ask(struct rig *r, uint16_t id, const char *name, uint16_t qtype, uint16_t edns,
		  uint8_t *ans, size_t cap)
{
	if (!ask_send(r, id, name, qtype, edns))
		return 0;
	return rig_wait(r, r->client, ans, cap, LOOP_MS);
}

/* The address of the first A record of @msg, or 0. */
static uint32_t first_a(const uint8_t *msg, size_t len)
{
	struct dns_msg m;
	size_t nl, pos;

	if (dns_msg_parse(&m, msg, len) != DNS_MSG_OK || !m.ancount)
		return 0;
	dns_name_read(msg, len, m.question_end, NULL, &nl, &pos);
	if (dns_rd16(msg + pos) != DNS_T_A)
		return 0;
	return htonl(dns_rd32(msg + pos + DNS_RR_FIXED));
}

TEST(dns_e2e_forward_and_cache)
{
	const struct dns_counters *k;
	uint8_t ans[BUF];
	struct dns_msg m;
	struct rig r;
	size_t n;

	if (!rig_open(&r, 1, UP_ANSWER, UP_ANSWER))
		goto out;
	k = dns_proxy_counters(r.p);
	n = ask(&r, 0x1111, "www.example.com", DNS_T_A, 0, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 0x1111); /* the client's id back */
	CHECK_EQ(first_a(ans, n), htonl(0x0a000001));
	CHECK(!m.edns); /* the client sent no OPT: none back */
	CHECK_EQ(r.up[0].udp_queries, 1);
	CHECK(r.up[0].last_id != 0x1111); /* a fresh id upstream */
	CHECK(r.up[0].last_edns);
	CHECK_EQ(k->forwarded, 1);
	CHECK_EQ(k->upstream_answers, 1);
	CHECK_EQ(k->cache_misses, 1);
	CHECK_EQ(k->cache_inserts, 1);
	/* Again, spelled otherwise: from the cache, the upstream not asked. */
	n = ask(&r, 0x2222, "WwW.Example.COM", DNS_T_A, 1232, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 0x2222);
	CHECK(!memcmp(m.qname, "\3WwW\7Example\3COM", 17));
	CHECK(m.edns);
	CHECK_EQ(first_a(ans, n), htonl(0x0a000001));
	CHECK(first_ttl(ans, n, NULL) <= 300);
	CHECK_EQ(k->cache_hits, 1);
	CHECK_EQ(r.up[0].udp_queries, 1);
	CHECK_EQ(k->queries_udp, 2);
	CHECK_EQ(k->pending, 0);
	/* CD=1 (RFC 4035 3.2.2): past the cache, CD passed upstream. */
	{
		uint8_t q[512];
		size_t ql = dns_msg_build_query(q, sizeof(q), 0x2323, DNS_RD | DNS_CD,
						(const uint8_t *)"\3www\7example\3com", 17, DNS_T_A,
						DNS_C_IN, 0);

		CHECK(send(r.client, q, ql, 0) == (ssize_t)ql);
		n = rig_wait(&r, r.client, ans, sizeof(ans), LOOP_MS);
		CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
		CHECK_EQ(m.id, 0x2323);
		CHECK(m.flags & DNS_CD);
		CHECK_EQ(r.up[0].udp_queries, 2);
		CHECK_EQ(k->cache_hits, 1);
		CHECK_EQ(k->cache_inserts, 1);
	}
	/* `rssnat show dns`, both forms. */
	{
		char *text = NULL;
		size_t tl = 0;
		FILE *f = open_memstream(&text, &tl);

		dns_proxy_write_stats(r.p, f, false, mono_ms());
		fclose(f);
		CHECK(strstr(text, "cache_hits=1 ") != NULL);
		CHECK(strstr(text, "entry=www.example.com type=A class=1 ttl=") != NULL);
		CHECK(strstr(text, "upstream=127.0.0.1:") != NULL);
		free(text);
		f = open_memstream(&text, &tl);
		dns_proxy_write_stats(r.p, f, true, mono_ms());
		fclose(f);
		CHECK(text[0] == '{' && !strcmp(text + tl - 2, "}\n"));
		CHECK(strstr(text, "\"name\":\"www.example.com\",\"type\":\"A\"") != NULL);
		CHECK(strstr(text, "\"cache_hits\":1,") != NULL);
		free(text);
	}
out:
	rig_close(&r);
}

TEST(dns_e2e_failover)
{
	const struct dns_counters *k;
	uint8_t ans[BUF];
	struct rig r;
	size_t n;

	if (!rig_open(&r, 2, UP_SILENT, UP_ANSWER))
		goto out;
	k = dns_proxy_counters(r.p);
	n = ask(&r, 0x3333, "fail.example", DNS_T_A, 0, ans, sizeof(ans));
	CHECK_EQ(first_a(ans, n), htonl(0x0a000002)); /* from upstream 2 */
	CHECK_EQ(r.up[0].udp_queries, 1);
	CHECK_EQ(r.up[1].udp_queries, 1);
	CHECK_EQ(k->upstream_timeouts, 1);
	CHECK_EQ(k->failovers, 1);
	/* Sticky: the next query goes to upstream 2 first. */
	n = ask(&r, 0x3334, "fail2.example", DNS_T_A, 0, ans, sizeof(ans));
	CHECK_EQ(first_a(ans, n), htonl(0x0a000002));
	CHECK_EQ(r.up[0].udp_queries, 1);
	CHECK_EQ(r.up[1].udp_queries, 2);
out:
	rig_close(&r);
}

TEST(dns_e2e_all_silent_servfail)
{
	const struct dns_counters *k;
	uint8_t ans[BUF];
	struct dns_msg m;
	struct rig r;
	size_t n;

	if (!rig_open(&r, 2, UP_SILENT, UP_SILENT))
		goto out;
	k = dns_proxy_counters(r.p);
	n = ask(&r, 0x4444, "dead.example", DNS_T_A, 0, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 0x4444);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_SERVFAIL);
	CHECK_EQ(k->servfail_sent, 1);
	CHECK_EQ(k->upstream_timeouts, 3); /* tries = 3 */
	CHECK_EQ(r.up[0].udp_queries + r.up[1].udp_queries, 3);
	CHECK_EQ(k->pending, 0);
	CHECK_EQ(k->cache_inserts, 0); /* SERVFAIL is not cached */
out:
	rig_close(&r);
}

TEST(dns_e2e_spoofed_reply_ignored)
{
	const struct dns_counters *k;
	uint8_t ans[BUF];
	struct rig r;
	size_t n;

	if (!rig_open(&r, 1, UP_SPOOF, UP_ANSWER))
		goto out;
	k = dns_proxy_counters(r.p);
	n = ask(&r, 0x5555, "bank.example", DNS_T_A, 0, ans, sizeof(ans));
	CHECK_EQ(first_a(ans, n), htonl(0x0a000001));
	CHECK_EQ(k->drop[DNS_DROP_WRONG_SOURCE], 1);
	CHECK_EQ(k->drop[DNS_DROP_WRONG_ID], 1);
	CHECK_EQ(k->drop[DNS_DROP_WRONG_QUESTION], 1);
	CHECK_EQ(k->upstream_answers, 1);
	/* Nothing else arrives for the client. */
	CHECK_EQ(rig_wait(&r, r.client, ans, sizeof(ans), 50), 0);
out:
	rig_close(&r);
}

static int tcp_client(struct rig *r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = LOOPBACK,
				  .sin_port = htons(dns_proxy_port(r->p))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* Loopback: the kernel completes the handshake before accept(). */
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one length-prefixed message from @fd while running the proxy. */
static size_t tcp_read_msg(struct rig *r, int fd, uint8_t *buf, size_t cap)
{
	uint64_t end = mono_ms() + LOOP_MS;
	size_t got = 0;

	while (mono_ms() < end) {
		ssize_t n;

		rig_step(r);
		n = recv(fd, buf + got, (got < 2 ? 2 : 2u + dns_rd16(buf)) - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return 0; /* closed (FIN or RST) */
		if (n > 0)
			got += (size_t)n;
		if (got >= 2 && got == 2u + dns_rd16(buf) && got <= cap) {
			memmove(buf, buf + 2, got - 2);
			return got - 2;
		}
	}
	return 0;
}

static size_t tcp_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t nl, len;

	dns_name_from_text(name, wire, &nl);
	len = dns_msg_build_query(buf + 2, 510, id, DNS_RD, wire, nl, qtype, DNS_C_IN, 0);
	dns_wr16(buf, (uint16_t)len);
	return len + 2;
}

TEST(dns_e2e_tc_tcp_fallback)
{
	const struct dns_counters *k;
	uint8_t ans[BUF], q[1024];
	struct dns_msg m;
	struct rig r;
	size_t n, ql;
	int fd;

	if (!rig_open(&r, 1, UP_TC, UP_ANSWER))
		goto out;
	k = dns_proxy_counters(r.p);
	/* No EDNS0: the 680-byte answer does not fit 512: TC=1, question only. */
	n = ask(&r, 0x6666, "big.example", DNS_T_A, 0, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 0x6666);
	CHECK(m.flags & DNS_TC);
	CHECK_EQ(m.ancount, 0);
	CHECK_EQ(k->tcp_fallbacks, 1);
	CHECK_EQ(k->truncated_sent, 1);
	CHECK_EQ(r.up[0].udp_queries, 1);
	CHECK_EQ(r.up[0].tcp_queries, 1);
	CHECK_EQ(k->cache_inserts, 1);
	/* The client asks again over TCP: the whole answer, from the cache. */
	fd = tcp_client(&r);
	if (!CHECK(fd >= 0))
		goto out;
	ql = tcp_query(q, 0x6667, "big.example", DNS_T_A);
	CHECK(send(fd, q, ql, 0) == (ssize_t)ql);
	n = tcp_read_msg(&r, fd, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 0x6667);
	CHECK(!(m.flags & DNS_TC));
	CHECK_EQ(m.ancount, 40);
	CHECK_EQ(k->cache_hits, 1);
	CHECK_EQ(k->queries_tcp, 1);
	CHECK_EQ(r.up[0].udp_queries, 1);
	close(fd);
	/* And over UDP with a large enough EDNS0 buffer. */
	n = ask(&r, 0x6668, "big.example", DNS_T_A, 1232, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.ancount, 40);
	CHECK_EQ(k->cache_hits, 2);
out:
	rig_close(&r);
}

TEST(dns_e2e_not_lan)
{
	struct dns_proxy_config cfg;
	uint8_t ans[BUF];
	struct rig r;
	int fd;

	memset(&r, 0, sizeof(r));
	r.client = -1;
	r.n_up = 1;
	if (!CHECK(fake_open(&r.up[0], UP_ANSWER, htonl(0x0a000001))))
		goto out;
	rig_config(&r, &cfg);
	cfg.allow_net = htonl(0xc0a88900); /* 127.0.0.1 is not in 192.168.137.0/24 */
	cfg.allow_mask = htonl(0xffffff00);
	if (!rig_start(&r, &cfg))
		goto out;
	CHECK(ask_send(&r, 0x7777, "www.example.com", DNS_T_A, 0));
	CHECK_EQ(rig_wait(&r, r.client, ans, sizeof(ans), 200), 0);
	CHECK_EQ(dns_proxy_counters(r.p)->refused_not_lan, 1);
	CHECK_EQ(dns_proxy_counters(r.p)->queries_udp, 0);
	CHECK_EQ(r.up[0].udp_queries, 0);
	/* TCP too: accepted by the kernel, closed by the proxy. */
	fd = tcp_client(&r);
	if (CHECK(fd >= 0)) {
		CHECK_EQ(tcp_read_msg(&r, fd, ans, sizeof(ans)), 0);
		close(fd);
	}
	CHECK_EQ(dns_proxy_counters(r.p)->refused_not_lan, 2);
	/* An open resolver is refused at create. */
	cfg.allow_mask = 0;
	{
		struct dns_proxy *p = NULL;
		const char *why = NULL;

		CHECK_EQ(dns_proxy_create(&cfg, &p, &why), -EINVAL);
		CHECK(why != NULL);
	}
out:
	rig_close(&r);
}

static size_t ask_local(struct rig *r, const char *name, uint16_t qtype, uint8_t *ans,
			struct dns_msg *m)
{
	size_t n = ask(r, 0x0101, name, qtype, 0, ans, BUF);

	if (!CHECK_EQ(dns_msg_parse(m, ans, n), DNS_MSG_OK))
		memset(m, 0, sizeof(*m));
	return n;
}

TEST(dns_e2e_local_names)
{
	const struct dns_counters *k;
	uint8_t ans[BUF], name[DNS_NAME_MAX];
	struct dns_msg m;
	struct rig r;
	size_t n, nl, pos;

	if (!rig_open(&r, 1, UP_ANSWER, UP_ANSWER))
		goto out;
	k = dns_proxy_counters(r.p);
	/* Forward: HOST.<domain>, any case; authoritative, TTL 60. */
	n = ask_local(&r, "PRINTER.MsHome.net", DNS_T_A, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NOERROR);
	CHECK(m.flags & DNS_AA);
	CHECK_EQ(first_a(ans, n), htonl(0x7f000032));
	CHECK_EQ(first_ttl(ans, n, NULL), DNS_LOCAL_TTL);
	CHECK(!memcmp(m.qname, "\7PRINTER\6MsHome\3net", 20));
	/* Known name, other type: NODATA with the zone's SOA. */
	ask_local(&r, "printer.mshome.net", DNS_T_AAAA, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NOERROR);
	CHECK_EQ(m.ancount, 0);
	CHECK(m.soa);
	CHECK_EQ(m.soa_neg_ttl, DNS_LOCAL_TTL);
	/* Unknown, and deeper: NXDOMAIN with SOA, never forwarded. */
	ask_local(&r, "laptop.mshome.net", DNS_T_A, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NXDOMAIN);
	CHECK(m.soa && (m.flags & DNS_AA));
	ask_local(&r, "a.printer.mshome.net", DNS_T_A, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NXDOMAIN);
	/* The apex: its SOA. */
	ask_local(&r, "mshome.net", DNS_T_SOA, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NOERROR);
	CHECK_EQ(m.ancount, 1);
	/* Reverse, for an address in allow_net. */
	n = ask_local(&r, "50.0.0.127.in-addr.arpa", DNS_T_PTR, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NOERROR);
	CHECK_EQ(m.ancount, 1);
	if (m.ancount) {
		dns_name_read(ans, n, m.question_end, NULL, &nl, &pos);
		CHECK_EQ(dns_rd16(ans + pos), DNS_T_PTR);
		CHECK_EQ(dns_name_read(ans, n, pos + DNS_RR_FIXED, name, &nl, &pos), DNS_MSG_OK);
		CHECK_EQ(nl, 20);
		CHECK(!memcmp(name, "\7printer\6mshome\3net", 20));
	}
	ask_local(&r, "51.0.0.127.in-addr.arpa", DNS_T_PTR, ans, &m);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_NXDOMAIN);
	CHECK_EQ(k->answered_local, 7);
	CHECK_EQ(r.up[0].udp_queries, 0); /* nothing leaked upstream */
	/* Reverse outside allow_net: forwarded. */
	ask_local(&r, "8.8.8.8.in-addr.arpa", DNS_T_PTR, ans, &m);
	CHECK_EQ(r.up[0].udp_queries, 1);
out:
	rig_close(&r);
}

TEST(dns_e2e_malformed_query)
{
	const struct dns_counters *k;
	uint8_t ans[BUF];
	struct dns_msg m;
	struct rig r;
	struct w w;
	ssize_t n;

	if (!rig_open(&r, 1, UP_ANSWER, UP_ANSWER))
		goto out;
	k = dns_proxy_counters(r.p);
	/* QDCOUNT 2: FORMERR, id kept. */
	wquery(&w, "x.example", 0, 0, 0);
	w.b[DNS_OFF_QDCOUNT + 1] = 2;
	CHECK(send(r.client, w.b, w.n, 0) == (ssize_t)w.n);
	n = (ssize_t)rig_wait(&r, r.client, ans, sizeof(ans), LOOP_MS);
	CHECK_EQ(n, DNS_HDR_LEN);
	CHECK_EQ(dns_rd16(ans), 0x1234);
	CHECK_EQ(dns_rd16(ans + 2) & DNS_RCODE_MASK, DNS_RCODE_FORMERR);
	CHECK_EQ(k->formerr_sent, 1);
	CHECK_EQ(k->malformed[DNS_MSG_ERR_QDCOUNT], 1);
	/* Too short for a header: silence. A response: silence. */
	CHECK(send(r.client, w.b, 5, 0) == 5);
	CHECK_EQ(rig_wait(&r, r.client, ans, sizeof(ans), 50), 0);
	CHECK_EQ(k->malformed[DNS_MSG_ERR_HEADER], 1);
	wquery(&w, "x.example", 0, 0, 0);
	w.b[2] |= DNS_QR >> 8;
	CHECK(send(r.client, w.b, w.n, 0) == (ssize_t)w.n);
	CHECK_EQ(rig_wait(&r, r.client, ans, sizeof(ans), 50), 0);
	CHECK_EQ(k->drop[DNS_DROP_NOT_QUERY], 1);
	/* AXFR: REFUSED. */
	n = (ssize_t)ask(&r, 9, "example.com", DNS_T_AXFR, 0, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, (size_t)n), DNS_MSG_OK);
	CHECK_EQ(dns_msg_rcode(&m), DNS_RCODE_REFUSED);
	CHECK_EQ(r.up[0].udp_queries, 0);
out:
	rig_close(&r);
}

TEST(dns_e2e_lan_tcp)
{
	const struct dns_counters *k;
	struct dns_proxy_config cfg;
	uint8_t ans[BUF], q[1024];
	struct dns_msg m;
	struct rig r;
	size_t ql, ql2, n;
	int fd, fd2;

	memset(&r, 0, sizeof(r));
	r.client = -1;
	rig_config(&r, &cfg);
	cfg.max_tcp_clients = 1;
	cfg.tcp_idle_ms = 200;
	if (!rig_start(&r, &cfg))
		goto out;
	k = dns_proxy_counters(r.p);
	fd = tcp_client(&r);
	if (!CHECK(fd >= 0))
		goto out;
	/* Two pipelined queries, the first written in two pieces. */
	ql = tcp_query(q, 1, "printer.mshome.net", DNS_T_A);
	ql2 = tcp_query(q + ql, 2, "50.0.0.127.in-addr.arpa", DNS_T_PTR);
	CHECK(send(fd, q, 3, 0) == 3);
	for (int i = 0; i < 5; i++)
		rig_step(&r);
	CHECK_EQ(k->queries_tcp, 0);
	CHECK(send(fd, q + 3, ql + ql2 - 3, 0) == (ssize_t)(ql + ql2 - 3));
	n = tcp_read_msg(&r, fd, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 1);
	CHECK_EQ(first_a(ans, n), htonl(0x7f000032));
	n = tcp_read_msg(&r, fd, ans, sizeof(ans));
	CHECK_EQ(dns_msg_parse(&m, ans, n), DNS_MSG_OK);
	CHECK_EQ(m.id, 2);
	CHECK_EQ(m.qtype, DNS_T_PTR);
	CHECK_EQ(k->queries_tcp, 2);
	CHECK_EQ(k->tcp_accepted, 1);
	/* A second connection is over max_tcp_clients: closed. */
	fd2 = tcp_client(&r);
	if (CHECK(fd2 >= 0)) {
		CHECK_EQ(tcp_read_msg(&r, fd2, ans, sizeof(ans)), 0);
		close(fd2);
	}
	CHECK_EQ(k->tcp_rejected, 1);
	/* Idle: closed after tcp_idle_ms. */
	CHECK_EQ(tcp_read_msg(&r, fd, ans, sizeof(ans)), 0);
	CHECK_EQ(k->tcp_idle_closed, 1);
	CHECK_EQ(k->tcp_clients, 0);
	close(fd);
	/* A length of 0 closes the connection. */
	fd = tcp_client(&r);
	if (CHECK(fd >= 0)) {
		CHECK(send(fd, "\0\0", 2, 0) == 2);
		CHECK_EQ(tcp_read_msg(&r, fd, ans, sizeof(ans)), 0);
		CHECK_EQ(k->drop[DNS_DROP_TCP_QUERY_SIZE], 1);
		close(fd);
	}
out:
	rig_close(&r);
}
