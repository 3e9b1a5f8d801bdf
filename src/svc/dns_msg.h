/* dns_msg.h - the DNS wire format (RFC 1035 4, RFC 6891 EDNS0) as the LAN's
 * DNS proxy needs it: parse a message once into a validated descriptor,
 * build queries and answers, rewrite TTLs of a cached answer.
 *
 * This is the proxy's attack surface: LAN hosts send queries, upstream
 * servers (and anyone spoofing them) send answers. Rules kept everywhere:
 *
 *   - every read is bounds-checked against the message length, and a
 *     message is at most DNS_MSG_MAX bytes, so offsets fit in 16 bits;
 *   - a name is read label by label, each label at most 63 bytes (length
 *     bytes 0x40..0xbf are refused: RFC 6891 retired extended labels), the
 *     whole name at most 255 bytes uncompressed (RFC 1035 2.3.4);
 *   - a compression pointer (RFC 1035 4.1.4) must point strictly before
 *     the start of the name segment being read (the name's first byte, or
 *     the previous pointer's target), never into the header: targets
 *     strictly decrease, so no loop is possible; DNS_PTR_HOPS_MAX pointers
 *     per name is the explicit cap besides;
 *   - QDCOUNT must be 1 (queries, and the answers we accept to them);
 *   - at most DNS_RR_MAX records are walked; each record's RDLENGTH must fit;
 *   - at most one OPT record, in the additional section, owned by the root.
 * Each failure is a named enum dns_msg_err (the proxy counts them).
 * Trailing bytes after the last record are ignored (m->end says where the
 * message really ends; the proxy never copies past it).
 *
 * Nothing here allocates, reads a clock or keeps state.
 */
#ifndef RSSNAT_DNS_MSG_H
#define RSSNAT_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MSG_ERRORS(X)                                                                          \
	X(HEADER, "shorter than the 12-byte header")                                               \
	X(TOO_LONG, "longer than 65535 bytes")                                                     \
	X(QDCOUNT, "question count is not 1")                                                      \
	X(NAME_TRUNCATED, "a name runs past the end of the message (or of its RDATA)")             \
	X(LABEL_TYPE, "label length byte 0x40..0xbf: neither a label of <= 63 nor a pointer")      \
	X(NAME_TOO_LONG, "name over 255 bytes uncompressed (RFC 1035 2.3.4)")                      \
	X(POINTER_FORWARD, "compression pointer not strictly before the name segment it ends "     \
			   "(loop, self or forward reference)")                                    \
	X(POINTER_HEADER, "compression pointer into the 12-byte header")                           \
	X(POINTER_HOPS, "more than DNS_PTR_HOPS_MAX compression pointers in one name")             \
	X(QUESTION_TRUNCATED, "question type and class past the end")                              \
	X(TOO_MANY_RRS, "more than DNS_RR_MAX records announced")                                  \
	X(RR_TRUNCATED, "record type/class/TTL/RDLENGTH past the end")                             \
	X(RDATA_TRUNCATED, "RDLENGTH past the end of the message")                                 \
	X(BAD_OPT, "OPT record outside the additional section, not owned by the root, or "         \
		   "more than one (RFC 6891 6.1.1)")                                               \
	X(BAD_SOA, "SOA record in the authority section with malformed RDATA")

enum dns_msg_err {
	DNS_MSG_OK = 0,
#define DNS_MSG_ERR_ENUM(name, text) DNS_MSG_ERR_##name,
	DNS_MSG_ERRORS(DNS_MSG_ERR_ENUM)
#undef DNS_MSG_ERR_ENUM
	    DNS_MSG_ERR_COUNT
};

/* "POINTER_HOPS" etc., for counters; and one sentence for people. */
const char *dns_msg_err_name(enum dns_msg_err err);
const char *dns_msg_err_text(enum dns_msg_err err);

enum {
	DNS_HDR_LEN = 12,
	DNS_NAME_MAX = 255,	  /* wire bytes, uncompressed, root label included */
	DNS_LABEL_MAX = 63,	  /* RFC 1035 2.3.4 */
	DNS_NAME_TEXT_MAX = 1024, /* dns_name_to_text(): 255 bytes as \DDD, dots, NUL */
	DNS_PTR_HOPS_MAX = 16,	  /* pointers followed in one name */
	DNS_RR_MAX = 1024,	  /* records walked in one message */
	DNS_MSG_MAX = 65535,	  /* TCP length prefix; also the offset range */
	DNS_UDP_MIN = 512,	  /* RFC 1035 4.2.1: the UDP limit without EDNS0 */
	DNS_EDNS_PAYLOAD = 1232,  /* what we advertise upstream (DNS flag day 2020) */
	DNS_OPT_RR_LEN = 11,	  /* an OPT record without options */
	DNS_RR_FIXED = 10,	  /* type, class, TTL, RDLENGTH */
	DNS_SOA_FIXED = 20,	  /* serial, refresh, retry, expire, minimum */
};

/* Header layout (RFC 1035 4.1.1). */
enum dns_hdr_off {
	DNS_OFF_ID = 0,
	DNS_OFF_FLAGS = 2,
	DNS_OFF_QDCOUNT = 4,
	DNS_OFF_ANCOUNT = 6,
	DNS_OFF_NSCOUNT = 8,
	DNS_OFF_ARCOUNT = 10,
};

enum dns_flag {
	DNS_QR = 0x8000,
	DNS_OPCODE_MASK = 0x7800,
	DNS_AA = 0x0400,
	DNS_TC = 0x0200,
	DNS_RD = 0x0100,
	DNS_RA = 0x0080,
	DNS_AD = 0x0020, /* RFC 4035 3.2.3 */
	DNS_CD = 0x0010, /* RFC 4035 3.2.2 */
	DNS_RCODE_MASK = 0x000f,
};

enum dns_opcode {
	DNS_OPCODE_QUERY = 0,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended (RFC 6891 9): needs an OPT record */
};

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_OPT = 41,
	DNS_T_HTTPS = 65,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_MAILB = 253,
	DNS_T_MAILA = 254,
	DNS_T_ANY = 255,
};

enum dns_class {
	DNS_C_IN = 1,
	DNS_C_ANY = 255,
};

enum dns_section {
	DNS_SEC_AN = 0,
	DNS_SEC_NS,
	DNS_SEC_AR,
};

/* A parsed message. Offsets are from the first header byte. */
struct dns_msg {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount;
	/* The question, its name uncompressed as written (case kept). */
	uint8_t qname[DNS_NAME_MAX];
	uint8_t qname_len; /* wire bytes, root label included: 1..255 */
	uint16_t qtype, qclass;
	uint16_t question_end; /* first byte after the question */
	uint16_t end;	       /* first byte after the last record */
	/* EDNS0 (RFC 6891 6.1.3), when an OPT record is present. */
	bool edns, edns_do;
	uint8_t edns_version, edns_ext_rcode;
	uint16_t edns_payload; /* its CLASS: the sender's UDP limit */
	uint16_t opt_off;      /* where the OPT record starts */
	bool opt_last;	       /* it ends at m->end */
	/* For caching (RFC 2181 8: a TTL with the top bit set counts as 0). */
	uint32_t min_ttl;     /* over all records but OPT; UINT32_MAX when none */
	bool soa;	      /* an SOA record in the authority section ... */
	uint32_t soa_neg_ttl; /* ... and min(its TTL, its MINIMUM): RFC 2308 5 */
};

static inline unsigned dns_msg_rcode(const struct dns_msg *m)
{
	return m->flags & DNS_RCODE_MASK;
}

static inline unsigned dns_msg_opcode(const struct dns_msg *m)
{
	return (m->flags & DNS_OPCODE_MASK) >> 11;
}

static inline uint16_t dns_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t dns_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void dns_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dns_wr32(uint8_t *p, uint32_t v)
{
	dns_wr16(p, (uint16_t)(v >> 16));
	dns_wr16(p + 2, (uint16_t)v);
}

/* dns_msg_parse() - validate the message @buf of @len bytes as described
 * at the top: header, exactly one question, every record of the three
 * sections, EDNS0 and the first authority SOA noted. Fills @m and returns
 * DNS_MSG_OK, or the reason (then only @m's header fields are usable, when
 * the error is not DNS_MSG_ERR_HEADER). */
enum dns_msg_err dns_msg_parse(struct dns_msg *m, const uint8_t *buf, size_t len);

/* dns_name_read() - read the (possibly compressed) name starting at @off of
 * the message @msg of @len bytes. @out (may be NULL) receives it
 * uncompressed, DNS_NAME_MAX bytes at most, case kept; *out_len its length,
 * root label included; *next the offset after the name where it is
 * written (after its first pointer, if any). Returns DNS_MSG_OK or why not. */
enum dns_msg_err dns_name_read(const uint8_t *msg, size_t len, size_t off, uint8_t *out,
			       size_t *out_len, size_t *next);

/* dns_name_lower() - ASCII-lowercase the labels of the wire name @name
 * (@len bytes, valid) in place: DNS compares names case-insensitively
 * (RFC 4343). */
void dns_name_lower(uint8_t *name, size_t len);

/* dns_name_equal() - whether two valid wire names are equal ignoring ASCII
 * case. */
bool dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* dns_name_from_text() - "host.example" or "host.example." (or "" and "."
 * for the root) into wire form in @out (DNS_NAME_MAX bytes), lower-cased.
 * No escapes. Returns 0, or -EINVAL for an empty label, a label over 63
 * bytes or a name over 255. */
int dns_name_from_text(const char *text, uint8_t *out, size_t *out_len);

/* dns_name_to_text() - the valid wire name @name (@len bytes) as text in
 * @out (@cap bytes, DNS_NAME_TEXT_MAX is always enough): labels joined by
 * dots, no final dot ("." for the root); bytes other than letters, digits,
 * '-' and '_' written as \DDD (RFC 1035 5.1), so the text is printable and
 * holds no quote. Returns the text length, or 0 if @cap is too small. */
size_t dns_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap);

/* dns_type_name() - "A", "AAAA", ... or "TYPE%u" (RFC 3597 5) written into
 * @buf. */
const char *dns_type_name(uint16_t type, char buf[16]);

/* dns_msg_same_question() - whether two parsed messages ask the same
 * question: name ignoring case, type, class. */
bool dns_msg_same_question(const struct dns_msg *a, const struct dns_msg *b);

/* dns_msg_build_query() - a query into @buf (@cap bytes): @id, @flags (RD,
 * CD...; QR and opcode are cleared), the question @qname (valid wire name,
 * @qname_len bytes) @qtype @qclass, and an OPT record advertising
 * @edns_payload when it is not 0. Returns the length or 0 if @cap is too
 * small. */
size_t dns_msg_build_query(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
			   const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass,
			   uint16_t edns_payload);

/* dns_msg_build_reply() - the start of an answer to query @q into @buf:
 * @q's id and opcode, QR, RA, RD and CD copied from @q, the extra @flags
 * (AA, TC...), @rcode (low 4 bits only), and @q's question as the client
 * wrote it; no records. Returns the length or 0 if @cap is too small. */
size_t dns_msg_build_reply(uint8_t *buf, size_t cap, const struct dns_msg *q, uint16_t flags,
			   unsigned rcode);

/* dns_msg_build_formerr() - the FORMERR answer to a query whose header is
 * readable (@len >= DNS_HDR_LEN) but whose body is not: the header only,
 * its id, opcode and RD kept, all counts 0. Returns the length or 0. */
size_t dns_msg_build_formerr(uint8_t *buf, size_t cap, const uint8_t *query, size_t len);

/* dns_msg_append_rr() - append a record to the message of @len bytes in
 * @buf (records appended section by section, in order: answer, authority,
 * additional), incrementing the header count of @section. @owner is a
 * wire name, or a 2-byte compression pointer. Returns the new length, or 0
 * if @cap is too small (the message is then unchanged). */
size_t dns_msg_append_rr(uint8_t *buf, size_t len, size_t cap, enum dns_section section,
			 const uint8_t *owner, size_t owner_len, uint16_t type, uint16_t rclass,
			 uint32_t ttl, const uint8_t *rdata, size_t rdlen);

/* dns_msg_append_opt() - append our OPT record: UDP payload @payload,
 * extended RCODE @ext_rcode (the upper 8 bits of a 12-bit RCODE), version
 * 0, no flags, no options. Returns the new length, or 0 (unchanged). */
size_t dns_msg_append_opt(uint8_t *buf, size_t len, size_t cap, uint16_t payload,
			  uint8_t ext_rcode);

/* dns_msg_strip_opt() - remove the OPT record of the message @buf parsed
 * into @m when it is the last record (where every server puts it): length
 * cut to its start, ARCOUNT decremented. Returns the new length: m->end if
 * there was no OPT record or it could not be removed, and @m no longer
 * describes @buf when it was (parse again). */
size_t dns_msg_strip_opt(uint8_t *buf, const struct dns_msg *m);

/* dns_msg_rewrite_ttls() - in the valid message @buf of @len bytes, set the
 * TTL of every record but OPT to min(TTL - @age, @cap), never below 0 (a
 * TTL with its top bit set counts as 0, RFC 2181 8). Returns 0, or -EINVAL
 * if the message does not parse. */
int dns_msg_rewrite_ttls(uint8_t *buf, size_t len, uint32_t age, uint32_t cap);

/* dns_msg_cache_ttl() - whether, and for how long, the answer @m may be
 * cached: NOERROR with records: the smallest TTL of its records (RFC 2181
 * 5.2 sets an RRset's TTL; we keep the whole answer for its shortest one),
 * capped at @cap; NXDOMAIN, or NOERROR with an empty answer section
 * (NODATA): min(SOA TTL, SOA MINIMUM) of the authority SOA, capped at
 * @neg_cap, and not cached without an SOA (RFC 2308 5). Never for TC=1,
 * other RCODEs (SERVFAIL: RFC 2308 7.1 allows at most 5 minutes; we keep
 * none) or a TTL of 0. Returns true and sets *ttl and *negative, or false. */
bool dns_msg_cache_ttl(const struct dns_msg *m, uint32_t cap, uint32_t neg_cap, uint32_t *ttl,
		       bool *negative);

/* dns_msg_for_client() - turn the answer @ans (@len bytes, valid, no OPT
 * record: see dns_msg_strip_opt()) to the question of query @q into the
 * answer sent to @q's client, in @out (@cap bytes, not overlapping @ans):
 * @q's id, RD and CD bits, the question spelled as @q spelled it (0x20
 * case randomisation survives), every TTL lowered by @age seconds, an OPT
 * record when @q had one. When that would exceed @limit bytes (the
 * client's UDP limit), the header and question only, TC=1 (RFC 2181 9), so
 * that the client asks again over TCP. Returns the length, or 0 when @ans
 * does not parse, does not answer @q's question, or @cap is too small. */
size_t dns_msg_for_client(uint8_t *out, size_t cap, const uint8_t *ans, size_t len,
			  const struct dns_msg *q, uint32_t age, size_t limit);

#endif
