/* dns_internal.h - what the DNS proxy's files share (and the unit tests and
 * fuzzer reach): the answer cache (dns_cache.c), the proxy object and its
 * tables (dns_proxy.c: set-up, polling, timers, stats), the LAN side
 * (dns_lan.c), the upstream side (dns_upstream.c) and the local zone
 * (dns_local.c). Theory of operation in dns_proxy.h.
 */
#ifndef RSSNAT_DNS_INTERNAL_H
#define RSSNAT_DNS_INTERNAL_H

#include "dns_msg.h"
#include "dns_proxy.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the answer cache (dns_cache.c) ----
 *
 * The cache holds whole answers (header to last record, no OPT record, TTLs
 * as received but capped), keyed by (lower-cased question name, type,
 * class). Entries live in a fixed array found through a chained hash table
 * with a random seed; their bytes live in fixed 256-byte chunks chained per
 * entry, so the byte budget is exact and nothing is allocated after
 * dns_cache_create(). A lookup moves the entry to the front of an LRU list;
 * an insert that finds no free entry or not enough chunks evicts from its
 * tail. Expired entries go when looked up or swept (dns_cache_sweep()).
 * Time is monotonic milliseconds from the caller.
 */

struct dns_cache;
struct dns_counters;

struct dns_key {
	const uint8_t *name; /* wire form, lower-cased */
	size_t name_len;
	uint16_t qtype, qclass;
};

/* dns_cache_create() - room for @entries answers of @bytes in all; one
 * answer may take at most a quarter of @bytes. Counters (cache_*) are
 * kept in @cnt, which must outlive the cache. Returns 0, -EINVAL (0
 * entries or under 4 chunks) or -ENOMEM. */
int dns_cache_create(unsigned entries, size_t bytes, uint64_t seed, struct dns_counters *cnt,
		     struct dns_cache **out);
void dns_cache_destroy(struct dns_cache *c);

/* dns_cache_insert() - store the answer @msg (@len bytes) under @k, valid
 * @ttl seconds from @now_ms, replacing what @k held. Evicts LRU entries
 * for room. Returns false when @len is over the per-entry limit (counted
 * in cache_too_big) or @ttl is 0. */
bool dns_cache_insert(struct dns_cache *c, const struct dns_key *k, const uint8_t *msg, size_t len,
		      uint32_t ttl, bool negative, uint64_t now_ms);

/* dns_cache_lookup() - copy the answer under @k into @buf (@cap bytes) if
 * it has not expired at @now_ms, make it most recently used, and set *age
 * to the whole seconds it has been stored. Returns its length, or 0 (miss,
 * expired: removed, or @cap too small). Counts no hit or miss: the caller
 * does. */
size_t dns_cache_lookup(struct dns_cache *c, const struct dns_key *k, uint64_t now_ms, uint8_t *buf,
			size_t cap, uint32_t *age);

/* dns_cache_sweep() - remove expired entries, looking at @budget entries
 * from where the last sweep stopped. */
void dns_cache_sweep(struct dns_cache *c, uint64_t now_ms, unsigned budget);

/* One live entry, for `rssnat show dns`. */
struct dns_cache_info {
	const uint8_t *name;
	size_t name_len;
	uint16_t qtype, qclass;
	uint32_t ttl_left; /* seconds */
	bool negative;
	size_t len;
};

/* dns_cache_foreach() - call @fn for every entry not expired at @now_ms,
 * most recently used first. */
void dns_cache_foreach(const struct dns_cache *c, uint64_t now_ms,
		       void (*fn)(void *ctx, const struct dns_cache_info *e), void *ctx);

/* ---- the proxy object ----
 *
 * Buffers: p->pkt holds what a socket just gave (a client's UDP query or an
 * upstream's UDP reply), p->tcpq a query taken from a LAN TCP stream,
 * p->ans an answer copied out of the cache, p->out the answer being sent
 * (built at p->out + 2, so a TCP length prefix fits before it), p->qbuf an
 * upstream query. Upstream TCP exchanges each borrow one of
 * DNS_UPSTREAM_TCP_BUFFERS 64 KiB buffers; LAN TCP connections own an input
 * and an output buffer. All of it is allocated in dns_proxy_create().
 *
 * Objects the poll list points at (LAN TCP connections, queries in flight)
 * carry a generation, renewed whenever their socket changes, so a stale
 * poll result (the object ended, or its fd number was reused, during the
 * same dns_proxy_run()) is ignored.
 */

#define DNS_NIL UINT32_MAX

enum {
	DNS_TCP_MSG_BUF = 2 + DNS_MSG_MAX,
	DNS_TCP_IN_BUF = 2 + DNS_QUERY_MAX,
	DNS_QBUF = 512, /* an upstream query: header, name, OPT */
};

enum dns_pend_state {
	DNS_PEND_FREE = 0,
	DNS_PEND_UDP,	      /* waiting for the UDP reply */
	DNS_PEND_TCP_CONNECT, /* TC=1 fallback: connecting */
	DNS_PEND_TCP_WRITE,   /* sending the length-prefixed query */
	DNS_PEND_TCP_READ,    /* reading the length-prefixed answer */
};

enum dns_client_kind {
	DNS_CLIENT_UDP,
	DNS_CLIENT_TCP,
};

struct dns_client_ref {
	uint8_t kind;
	struct sockaddr_in sin; /* DNS_CLIENT_UDP */
	uint32_t tcp, gen;	/* DNS_CLIENT_TCP: connection index and generation */
};

/* A query in flight. */
struct dns_pending {
	uint8_t state;	  /* enum dns_pend_state */
	uint8_t attempt;  /* attempts made, the current one included */
	uint8_t first_up; /* upstream of the first attempt */
	uint8_t up;	  /* upstream of the current attempt */
	int fd;
	uint32_t gen;
	uint32_t next_free;
	uint16_t up_id;
	uint32_t tcpbuf; /* index of the upstream TCP buffer, or DNS_NIL */
	uint32_t tcp_len, tcp_done;
	uint64_t deadline;
	struct dns_client_ref to;
	struct dns_msg q; /* the client's query */
};

/* A LAN TCP connection. */
struct dns_tcp_client {
	int fd; /* -1: free */
	uint32_t gen;
	bool eof, processing;
	unsigned inflight;
	uint64_t last_ms;
	uint32_t in_len, out_head, out_len;
	uint8_t *in, *out; /* DNS_TCP_IN_BUF, DNS_TCP_MSG_BUF */
};

struct dns_upstream_stats {
	uint64_t sent, answered, timeouts, errors;
};

struct dns_pollref; /* dns_proxy.c: what a poll list entry is for */

struct dns_proxy {
	struct dns_proxy_config cfg;
	struct dns_counters cnt;
	struct dns_upstream_stats up[DNS_UPSTREAM_MAX];
	struct dns_cache *cache;
	int udp_fd, tcp_fd;
	uint16_t port;
	uint8_t domain[DNS_NAME_MAX];
	size_t domain_len; /* 0: no local zone */
	unsigned preferred;
	uint64_t failback_at;
	uint64_t now, next_sweep;
	uint32_t gen;
	struct dns_pending *pend;
	uint32_t pend_free;
	struct dns_tcp_client *tcp;
	uint8_t *tcpbufs;
	bool tcpbuf_used[DNS_UPSTREAM_TCP_BUFFERS];
	struct dns_pollref *map;
	unsigned map_n, map_max;
	uint8_t rnd[64];
	unsigned rnd_left;
	uint8_t pkt[DNS_MSG_MAX + 1];
	uint8_t tcpq[DNS_QUERY_MAX];
	uint8_t ans[DNS_MSG_MAX];
	uint8_t out[2 + DNS_MSG_MAX];
	uint8_t qbuf[DNS_QBUF];
};

/* dns_dropped() - count a message dropped for @reason. */
static inline void dns_dropped(struct dns_proxy *p, enum dns_drop reason)
{
	p->cnt.drop[reason]++;
}

/* dns_allowed() - whether @addr is in allow_net/allow_mask. */
static inline bool dns_allowed(const struct dns_proxy *p, uint32_t addr)
{
	return (addr & p->cfg.allow_mask) == (p->cfg.allow_net & p->cfg.allow_mask);
}

/* dns_answer_buf() - where an answer to a client is built: p->out + 2,
 * room for DNS_MSG_MAX bytes after a TCP length prefix. */
static inline uint8_t *dns_answer_buf(struct dns_proxy *p)
{
	return p->out + 2;
}

/* dns_proxy.c */

/* dns_bind_dev() - SO_BINDTODEVICE @fd to @dev; "" binds nothing.
 * Returns setsockopt()'s result. */
int dns_bind_dev(int fd, const char *dev);

/* dns_lan.c: LAN clients */

/* dns_reply() - send the @len-byte answer at dns_answer_buf() to @to: a
 * UDP datagram, or appended (length-prefixed) to its TCP connection's
 * output. A connection gone (CLIENT_GONE) or not reading its answers
 * (TCP_OUT_FULL: closed) counts a drop. */
void dns_reply(struct dns_proxy *p, const struct dns_client_ref *to, size_t len);

/* dns_reply_built() - finish the answer to @q of @len bytes at
 * dns_answer_buf() (an OPT record, with @ext_rcode, if @q had one) and
 * send it; @len 0 sends nothing. */
void dns_reply_built(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to,
		     size_t len, uint8_t ext_rcode);

/* dns_reply_rcode() - answer @q with no records and @rcode. */
void dns_reply_rcode(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to,
		     unsigned rcode);

/* dns_send_answer() - send @ans (@len bytes, no OPT) to @to as the answer
 * to @q, @age seconds old (over the client's UDP limit: TC=1, counted).
 * False if it cannot be made into one (nothing sent). */
bool dns_send_answer(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to,
		     const uint8_t *ans, size_t len, uint32_t age);

/* dns_key_of() - the cache key of @q, its name lower-cased into @name
 * (DNS_NAME_MAX bytes), which must outlive the key. */
struct dns_key dns_key_of(const struct dns_msg *q, uint8_t *name);

/* dns_client_of() - the live LAN TCP connection @to names, or NULL if it
 * was closed (or its slot reused) since. */
struct dns_tcp_client *dns_client_of(struct dns_proxy *p, const struct dns_client_ref *to);

/* dns_tcp_close() - close the LAN TCP connection @c (open) and free it. */
void dns_tcp_close(struct dns_proxy *p, struct dns_tcp_client *c);

/* dns_tcp_client_process() - take the whole queries @c has sent, while it
 * reads its answers and has under DNS_TCP_PIPELINE in flight; close it
 * when it is done. Reentrant: a call from within it returns at once. */
void dns_tcp_client_process(struct dns_proxy *p, struct dns_tcp_client *c);

/* dns_udp_input() - read and handle up to a burst of queries from the UDP
 * listener. */
void dns_udp_input(struct dns_proxy *p);

/* dns_tcp_accept() - accept up to a burst of LAN TCP connections. */
void dns_tcp_accept(struct dns_proxy *p);

/* dns_tcp_client_event() - poll reported @revents on the open @c: read,
 * flush, process. */
void dns_tcp_client_event(struct dns_proxy *p, struct dns_tcp_client *c, short revents);

/* dns_upstream.c: queries in flight */

/* dns_forward() - ask the upstreams @q from @to (not a duplicate of one in
 * flight, table not full: else counted and dropped); SERVFAIL with no
 * upstream. */
void dns_forward(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to);

/* dns_pending_udp_input() - read the replies waiting on @pd's UDP socket
 * (pd->state DNS_PEND_UDP). */
void dns_pending_udp_input(struct dns_proxy *p, struct dns_pending *pd);

/* dns_pending_tcp_event() - poll reported @pd's upstream TCP socket
 * ready: connect, write the query, or read the answer. */
void dns_pending_tcp_event(struct dns_proxy *p, struct dns_pending *pd);

/* dns_pending_timeout() - @pd's deadline passed: count it, move the
 * preferred upstream on if it was @pd's (sticky failover), make the next
 * attempt (or SERVFAIL). */
void dns_pending_timeout(struct dns_proxy *p, struct dns_pending *pd);

/* dns_local.c */

/* dns_answer_local() - answer @q from the local zone (names under the
 * domain, reverse names in allow_net) and return true, or return false:
 * not ours to answer. */
bool dns_answer_local(struct dns_proxy *p, const struct dns_msg *q,
		      const struct dns_client_ref *to);

#endif
