/* router.h - what the gateway must do as an IPv4 router (RFC 1812) for the
 * packets it forwards or that are addressed to it: answer ping, decrement
 * TTL or send Time Exceeded, send Fragmentation Needed, clamp TCP MSS.
 *
 * Each function works in place on a parsed struct pkt (and its buffer of
 * p->cap bytes), reads no clock and keeps no state but the caller's
 * counters. When a packet is turned into an ICMP message back to its sender
 * (ROUTER_REPLIED) it has been re-parsed, Ethernet addresses swapped: send
 * it back out of the interface it came in on. On ROUTER_DROP, p->drop holds
 * the enum router_drop (and the counter was incremented).
 *
 * Order for a forwarded packet, as RFC 1812 5.2 does it: router_forward_ttl()
 * on the frame as received (the link-layer broadcast test reads its
 * Ethernet destination), router_check_mtu() against the egress interface,
 * router_clamp_mss(), then the Ethernet helpers. Every ICMP error sent here
 * is first allowed by the caller's limiter (core/ratelimit.h; RFC 1812
 * 4.3.2.8): a refused one leaves the packet dropped, ERROR_RATE_LIMITED.
 */
#ifndef RSSNAT_ROUTER_H
#define RSSNAT_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

struct pkt;
struct ratelimit;

#define ROUTER_DROP_REASONS(X)                                                                     \
	X(NOT_ECHO, "not an unfragmented ICMP echo request (no reassembly here)")                  \
	X(NOT_OURS, "echo request for an address that is not ours")                                \
	X(ECHO_CHECKSUM, "echo request with a wrong ICMP checksum (RFC 1122 3.2.2)")               \
	X(SOURCE_ROUTE, "echo request with a source route option (RFC 7126 4.3, 4.4)")             \
	X(BAD_SOURCE, "source names no single host: no reply or error (RFC 1812 4.3.2.7)")         \
	X(ERROR_IN_ERROR, "no ICMP error about an ICMP error (RFC 1122 3.2.2)")                    \
	X(ERROR_IN_FRAGMENT, "no ICMP error about a non-initial fragment (RFC 1122 3.2.2)")        \
	X(ERROR_TO_GROUP, "no ICMP error about a broadcast or multicast (RFC 1812 4.3.2.7)")       \
	X(ERROR_SHORT, "under 8 bytes after the IP header: nothing to quote (RFC 792)")            \
	X(ERROR_NO_ROOM, "no room in the buffer to build the ICMP error")                          \
	X(ERROR_RATE_LIMITED, "ICMP error refused by the rate limit (RFC 1812 4.3.2.8)")           \
	X(MUST_FRAGMENT, "above the egress MTU without DF: fragmentation not implemented")

enum router_drop {
	ROUTER_OK = 0,
#define ROUTER_DROP_ENUM(name, text) ROUTER_DROP_##name,
	ROUTER_DROP_REASONS(ROUTER_DROP_ENUM)
#undef ROUTER_DROP_ENUM
	    ROUTER_DROP_COUNT
};

const char *router_drop_name(enum router_drop reason);
const char *router_drop_text(enum router_drop reason);

#define ROUTER_COUNTERS(X)                                                                         \
	X(echo_replied, "echo requests to us answered (RFC 1122 3.2.2.6)")                         \
	X(ttl_decremented, "forwarded packets whose TTL was decremented")                          \
	X(ttl_expired, "forwarded packets whose TTL ran out")                                      \
	X(time_exceeded_sent, "ICMP Time Exceeded sent (RFC 1812 5.3.1)")                          \
	X(too_big, "packets above the egress MTU")                                                 \
	X(frag_needed_sent, "ICMP Fragmentation Needed sent (RFC 1191)")                           \
	X(mss_clamped, "TCP SYNs whose MSS option was lowered")                                    \
	X(mss_malformed, "TCP SYNs with malformed options, left as they were")

struct router_counters {
#define ROUTER_COUNTER_FIELD(name, text) uint64_t name;
	ROUTER_COUNTERS(ROUTER_COUNTER_FIELD)
#undef ROUTER_COUNTER_FIELD
	uint64_t drop[ROUTER_DROP_COUNT];
};

enum router_verdict {
	ROUTER_FORWARD = 0, /* go on (possibly modified) */
	ROUTER_REPLIED,	    /* p is now an ICMP message to its sender: send it back */
	ROUTER_DROP,	    /* reason in p->drop */
};

/* router_answer_echo() - if @p is an unfragmented ICMP echo request (RFC
 * 792 type 8) to one of the @n addresses @ours (network byte order) from a
 * host address, with a right checksum and no source route, turn it in place
 * into the echo reply: IP addresses and MACs swapped, type 0 code 0 (ICMP
 * checksum updated, RFC 1624), TTL 64, IP options dropped (RFC 1122
 * 3.2.2.6 only SHOULDs copying Record Route and Timestamp), p re-parsed.
 * Returns 0, or -1 with @p untouched and p->drop set (NOT_ECHO and NOT_OURS
 * are not counted: the packet is simply not for this function). */
int router_answer_echo(struct router_counters *cnt, struct pkt *p, const uint32_t *ours,
		       unsigned n);

/* router_forward_ttl() - RFC 1812 5.3.1 for a packet being forwarded: TTL
 * above 1 is decremented (IP checksum updated, RFC 1624); otherwise the
 * packet becomes ICMP Time Exceeded (11/0) from @from_addr to its sender,
 * quoting its IP header and 8 bytes (RFC 792) -> ROUTER_REPLIED; unless an
 * error may not be sent (an ICMP error, a non-initial fragment, a source
 * naming no host, an IP or link-layer broadcast/multicast: RFC 1122 3.2.2,
 * RFC 1812 4.3.2.7) or @limit refuses one to that sender now (RFC 1812
 * 4.3.2.8) -> ROUTER_DROP. @limit NULL: no limit (unit tests only). */
enum router_verdict router_forward_ttl(struct router_counters *cnt, struct ratelimit *limit,
				       struct pkt *p, uint32_t from_addr);

/* router_check_mtu() - for egress MTU @mtu (>= 68, RFC 791): a packet that
 * fits -> ROUTER_FORWARD. Too big with DF set: ICMP Destination Unreachable
 * 3/4 from @from_addr, next-hop MTU in bytes 6-7 (RFC 1191 4) ->
 * ROUTER_REPLIED, or ROUTER_DROP when no error may be sent (as above). Too
 * big without DF: ROUTER_DROP, MUST_FRAGMENT - the caller would fragment
 * (RFC 791); we do not yet, so it is a counted drop. @limit as above. */
enum router_verdict router_check_mtu(struct router_counters *cnt, struct ratelimit *limit,
				     struct pkt *p, uint16_t mtu, uint32_t from_addr);

/* router_clamp_mss() - for a TCP segment with SYN (SYN or SYN-ACK), lower
 * every MSS option (kind 2, length 4, RFC 9293 3.7.1) above @mss_max to it,
 * TCP checksum updated (RFC 1624). The option walk stays inside the TCP
 * header and the frame and stops at End of Option List or at a malformed
 * option (counted; nothing after it is touched). Returns true if the
 * segment changed. */
bool router_clamp_mss(struct router_counters *cnt, struct pkt *p, uint16_t mss_max);

/* Ethernet addresses of @p's frame. */
void router_set_eth_src(struct pkt *p, const uint8_t mac[6]);
void router_set_eth_dst(struct pkt *p, const uint8_t mac[6]);

#endif
