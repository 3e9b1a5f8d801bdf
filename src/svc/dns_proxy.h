/* dns_proxy.h - the LAN's DNS proxy: a small caching forwarder on the
 * gateway's LAN address (ICS gives clients 192.168.137.1 as their DNS
 * server), with the DHCP leases' names as a local zone.
 *
 * Theory of operation
 * -------------------
 * The proxy runs in the gateway's control thread and never blocks: every
 * socket is non-blocking, every table and buffer is sized by the config and
 * allocated in dns_proxy_create(). It uses ordinary kernel sockets: the
 * gateway gives the kernel its LAN address on a TUN device and forwards the
 * LAN's port-53 packets into it; the listeners (UDP and TCP, same port) are
 * bound to listen_addr and, when listen_dev is set, to that device. The
 * caller polls the fds dns_proxy_pollfds() lists and hands the results to
 * dns_proxy_run(), which also runs the timers.
 *
 * A query (UDP datagram, or a length-prefixed TCP message, RFC 7766 8)
 * from a client outside allow_net/allow_mask is dropped without an answer:
 * this is never an open resolver. Otherwise it is parsed (dns_msg.h; a
 * readable header with a malformed body gets FORMERR) and answered by the
 * first of:
 *
 *   1. the local zone: HOST.<domain> A from name_to_addr(), the reverse
 *      name of an address in allow_net from addr_to_name(), authoritative
 *      (AA), TTL DNS_LOCAL_TTL; an unknown name there is NXDOMAIN, never
 *      asked upstream (LAN names do not leak);
 *   2. the cache (dns_cache.c): keyed by the lower-cased name, type and
 *      class; TTLs lowered by the time spent there; LRU, bounded in
 *      entries and bytes; negative answers kept per RFC 2308;
 *   3. an upstream, asked with a fresh random id (getrandom) from a fresh
 *      UDP socket bound to port 0, so on a kernel-chosen random port (RFC
 *      5452 9.2, 10). Only a reply from that upstream's address and port,
 *      with that id and the same question (case-insensitive), is taken;
 *      anything else is counted and ignored. No answer within timeout_ms:
 *      the next upstream is asked (failover), up to `tries` attempts in
 *      all, then SERVFAIL. An answer with TC=1 is asked again of the same
 *      upstream over TCP (RFC 7766 5).
 *
 * The upstream sees our own query, not the client's: RD=1 (and the
 * client's CD), an OPT record advertising DNS_EDNS_PAYLOAD bytes, DO=0 (so
 * no DNSSEC records are cached or served). Queries with CD=1 bypass the
 * cache both ways (RFC 4035 3.2.2). The answer's OPT record is
 * removed; the client gets one back if it sent one. An answer longer than
 * the client's UDP limit (512, or its EDNS0 payload size up to 4096) goes
 * out as the question only with TC=1: the client asks again over TCP and
 * is served from the cache.
 *
 * Upstream selection is sticky: after a timeout the next upstream becomes
 * the first one asked, until DNS_FAILBACK_MS later the list is tried in
 * order again (so a primary that comes back is used again).
 *
 * Lifetimes: a query in flight lives in a fixed table (max_pending; full:
 * dropped and counted, the client retries); it ends answered, SERVFAILed,
 * or (TCP client gone) discarded. A LAN TCP connection lives in a fixed
 * table (max_tcp_clients; full: accepted and closed at once), is closed
 * after tcp_idle_ms without traffic and nothing in flight, and holds at
 * most DNS_TCP_PIPELINE queries in flight.
 */
#ifndef RSSNAT_DNS_PROXY_H
#define RSSNAT_DNS_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dns_msg.h"

struct dns_proxy;
struct pollfd;

/* Why a message was dropped (a LAN client outside allow_net is counted in
 * refused_not_lan, parse failures also in malformed[reason]). */
#define DNS_DROP_REASONS(X)                                                                        \
	X(MALFORMED_QUERY, "query that does not parse: FORMERR sent if its header was readable")   \
	X(NOT_QUERY, "QR bit set on a message to the listener: never answered (no loops)")         \
	X(QUERY_TOO_BIG, "UDP query larger than DNS_QUERY_MAX")                                    \
	X(DUPLICATE, "client retransmission of a query already in flight")                         \
	X(PENDING_FULL, "max_pending queries already in flight")                                   \
	X(NO_RANDOM, "getrandom() failed: no transaction id, SERVFAIL")                            \
	X(SOCKET, "an upstream socket could not be opened, bound or connected")                    \
	X(SEND, "a send failed (full socket buffer or error)")                                     \
	X(WRONG_SOURCE, "upstream reply from another address or port: ignored")                    \
	X(WRONG_ID, "upstream reply with another transaction id: ignored")                         \
	X(WRONG_QUESTION, "upstream reply to another question, or not a reply: ignored")           \
	X(MALFORMED_ANSWER, "upstream reply that does not parse: ignored")                         \
	X(UPSTREAM_ERROR, "upstream answered SERVFAIL, REFUSED, NOTIMP or FORMERR")                \
	X(TCP_NO_BUFFER, "no upstream TCP buffer free for a TC=1 fallback")                        \
	X(TCP_UPSTREAM, "upstream TCP connection refused, reset, closed or timed out")             \
	X(TCP_QUERY_SIZE, "LAN TCP query of length 0 or over DNS_QUERY_MAX: connection closed")    \
	X(TCP_OUT_FULL, "LAN TCP client not reading its answers: connection closed")               \
	X(CLIENT_GONE, "answer for a LAN TCP connection that is closed")

enum dns_drop {
	DNS_DROP_NONE = 0,
#define DNS_DROP_ENUM(name, text) DNS_DROP_##name,
	DNS_DROP_REASONS(DNS_DROP_ENUM)
#undef DNS_DROP_ENUM
	    DNS_DROP_COUNT
};

const char *dns_drop_name(enum dns_drop reason);
const char *dns_drop_text(enum dns_drop reason);

#define DNS_COUNTERS(X)                                                                            \
	X(queries_udp, "UDP queries from LAN clients")                                             \
	X(queries_tcp, "TCP queries from LAN clients")                                             \
	X(answered_local, "queries answered from the local zone (DHCP names)")                     \
	X(cache_hits, "queries answered from the cache")                                           \
	X(cache_misses, "queries not in the cache")                                                \
	X(cache_inserts, "answers stored in the cache")                                            \
	X(cache_evictions, "cache entries evicted for room (LRU)")                                 \
	X(cache_expired, "cache entries removed when their TTL ran out")                           \
	X(cache_too_big, "answers over the cache's per-entry limit: not stored")                   \
	X(forwarded, "queries sent upstream (first attempt)")                                      \
	X(upstream_answers, "replies from upstream accepted")                                      \
	X(upstream_timeouts, "upstream attempts that timed out")                                   \
	X(failovers, "attempts moved to another upstream")                                         \
	X(tcp_fallbacks, "TC=1 upstream answers asked again over TCP")                             \
	X(servfail_sent, "SERVFAIL answers sent (every attempt failed, or no upstream)")           \
	X(formerr_sent, "FORMERR answers sent to malformed queries")                               \
	X(refused_sent, "REFUSED/NOTIMP/BADVERS answers (zone transfers, other opcodes, EDNS "     \
			"version)")                                                                \
	X(truncated_sent, "answers over the client's UDP limit sent as TC=1")                      \
	X(refused_not_lan, "queries and connections from outside allow_net: silently dropped")     \
	X(tcp_accepted, "LAN TCP connections accepted")                                            \
	X(tcp_rejected, "LAN TCP connections closed at once: max_tcp_clients reached")             \
	X(tcp_idle_closed, "LAN TCP connections closed after tcp_idle_ms idle")

struct dns_counters {
#define DNS_COUNTER_FIELD(name, text) uint64_t name;
	DNS_COUNTERS(DNS_COUNTER_FIELD)
#undef DNS_COUNTER_FIELD
	uint64_t drop[DNS_DROP_COUNT];
	uint64_t malformed[DNS_MSG_ERR_COUNT]; /* queries and upstream replies */
	uint32_t pending;		       /* queries in flight now */
	uint32_t tcp_clients;		       /* LAN TCP connections now */
	uint32_t cache_entries;		       /* now */
	uint64_t cache_bytes;		       /* answer bytes stored now */
};

enum {
	DNS_UPSTREAM_MAX = 4,
	DNS_LOCAL_TTL = 60,	       /* local zone answers and its SOA MINIMUM */
	DNS_TTL_CAP = 86400,	       /* longest a positive answer is kept */
	DNS_NEG_TTL_CAP = 10800,       /* and a negative one (RFC 2308 5: 3 hours) */
	DNS_QUERY_MAX = 4096,	       /* largest query taken (UDP or TCP) */
	DNS_CLIENT_UDP_MAX = 4096,     /* largest UDP answer sent, whatever EDNS0 says */
	DNS_TCP_PIPELINE = 4,	       /* queries in flight per LAN TCP connection */
	DNS_FAILBACK_MS = 60000,       /* sticky failover lasts this long */
	DNS_TCP_TIMEOUT_FACTOR = 2,    /* an upstream TCP exchange gets 2 * timeout_ms */
	DNS_UPSTREAM_TCP_BUFFERS = 16, /* TC=1 fallbacks at once (64 KiB each) */
};

struct dns_upstream {
	uint32_t addr; /* network byte order */
	uint16_t port; /* host byte order: 53 */
};

struct dns_proxy_config {
	uint32_t listen_addr;		/* network byte order: 192.168.137.1 */
	uint16_t listen_port;		/* host order: 53; 0: any free port, UDP and TCP
					   the same (tests; see dns_proxy_port()) */
	char listen_dev[16];		/* SO_BINDTODEVICE for the listeners; "": none */
	char upstream_dev[16];		/* SO_BINDTODEVICE for upstream sockets; "": none */
	uint32_t allow_net, allow_mask; /* network order: only these clients are answered */
	struct dns_upstream upstream[DNS_UPSTREAM_MAX];
	unsigned n_upstream;	  /* tried in order; 0: everything not local is SERVFAIL */
	char domain[64];	  /* the local zone, "mshome.net"; "": none */
	unsigned cache_entries;	  /* 0: no cache */
	unsigned cache_bytes;	  /* answer bytes the cache may hold */
	unsigned timeout_ms;	  /* one upstream attempt */
	unsigned tries;		  /* attempts in all, across upstreams */
	unsigned max_pending;	  /* queries in flight */
	unsigned max_tcp_clients; /* LAN TCP connections; 0: no TCP listener */
	unsigned tcp_idle_ms;	  /* LAN TCP connection idle timeout */
	/* The local zone, backed by the DHCP leases. @host is the first label,
	 * lower-cased, letters, digits, '-' and '_' only. Return 0 and fill
	 * *addr (network order) / @host (NUL-terminated, one label) if known,
	 * anything else if not. Called from dns_proxy_run(); must not block.
	 * NULL: nothing is known (the zone still answers NXDOMAIN). */
	int (*name_to_addr)(void *ctx, const char *host, uint32_t *addr);
	int (*addr_to_name)(void *ctx, uint32_t addr, char *host, size_t size);
	void *ctx;
};

/* dns_proxy_config_default() - 192.168.137.1:53 for 192.168.137.0/24, no
 * devices, no upstream, domain "mshome.net", 1024 cache entries in 1 MiB,
 * 1000 ms per attempt, 3 tries, 256 in flight, 32 TCP clients idle 10 s,
 * no callbacks. */
void dns_proxy_config_default(struct dns_proxy_config *cfg);

/* dns_read_resolv_conf() - the IPv4 "nameserver" lines of the resolv.conf
 * at @path, port 53, into @out (at most @max, in file order, duplicates
 * once). IPv6 servers are skipped, and so are 0.0.0.0 and 127.0.0.0/8: a
 * stub resolver on the gateway host (systemd-resolved's 127.0.0.53) cannot
 * be reached by upstream queries that leave through upstream_dev and the
 * NAT; the caller then needs another source (e.g. resolved's
 * /run/systemd/resolve/resolv.conf, which lists the real servers). Returns
 * the count, or -errno if the file cannot be read. */
int dns_read_resolv_conf(const char *path, struct dns_upstream *out, unsigned max);

/* dns_proxy_create() - check @cfg, allocate every table and buffer, open
 * and bind the listeners (IP_FREEBIND: listen_addr need not be configured
 * yet). Needs CAP_NET_RAW for the devices and CAP_NET_BIND_SERVICE for
 * port 53. Returns 0, -EINVAL with *why set (why may be NULL), -ENOMEM, or
 * another -errno with *why naming the step that failed. */
int dns_proxy_create(const struct dns_proxy_config *cfg, struct dns_proxy **out, const char **why);

/* dns_proxy_destroy() - close every socket (in-flight queries are not
 * answered) and free everything. NULL is allowed. */
void dns_proxy_destroy(struct dns_proxy *p);

/* dns_proxy_port() - the port the listeners are bound to (listen_port, or
 * the one the kernel chose when it was 0). */
uint16_t dns_proxy_port(const struct dns_proxy *p);

/* dns_proxy_pollfds_max() - the most fds dns_proxy_pollfds() can list:
 * 2 + max_tcp_clients + max_pending. */
unsigned dns_proxy_pollfds_max(const struct dns_proxy *p);

/* dns_proxy_pollfds() - fill @fds (at most @max) with the fds to poll now
 * and their events (revents cleared); returns how many. With @max below
 * dns_proxy_pollfds_max() some fds are left out this round (their queries
 * then time out). The list is valid until the next call of
 * dns_proxy_run(). */
unsigned dns_proxy_pollfds(struct dns_proxy *p, struct pollfd *fds, unsigned max);

/* dns_proxy_run() - handle the fds of the last dns_proxy_pollfds() list
 * whose revents are set (@fds, @n as returned, after poll()), then the
 * timers, at @now_ms (monotonic milliseconds). May be called with @n = 0
 * for the timers alone; call at least every dns_proxy_timeout_ms(). */
void dns_proxy_run(struct dns_proxy *p, const struct pollfd *fds, unsigned n, uint64_t now_ms);

/* dns_proxy_timeout_ms() - milliseconds from @now_ms until the next timer
 * (a query attempt, a TCP idle timeout, the cache sweep), for poll(); at
 * most 1000. */
int dns_proxy_timeout_ms(const struct dns_proxy *p, uint64_t now_ms);

/* dns_proxy_write_stats() - `rssnat show dns`: counters, drop reasons,
 * upstreams (sent/answered/timeouts/errors), cache size and its entries
 * (name, type, TTL left, positive or negative) at @now_ms. Text: one
 * "key=value ..." line per item; @json: one JSON object and a newline. */
void dns_proxy_write_stats(const struct dns_proxy *p, FILE *out, bool json, uint64_t now_ms);

const struct dns_counters *dns_proxy_counters(const struct dns_proxy *p);

#endif
