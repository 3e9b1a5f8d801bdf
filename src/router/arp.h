/* arp.h - ARP (RFC 826) for the addresses the gateway owns: answer requests,
 * keep a bounded neighbour cache, hold frames while a neighbour is resolved.
 *
 * One cache per interface (LAN, WAN), owned by one thread: nothing here is
 * thread-safe and nothing reads a clock. Time is a uint32_t count of
 * MILLISECONDS from any origin, passed in by the caller; it may wrap (every
 * comparison is an unsigned difference), provided arp_poll() runs at least
 * once a day, as it must anyway (it drives retries, every second or so).
 *
 * Neighbour states (Linux's NUD_* reduced to what RFC 1122 2.3.2.1 asks):
 *
 *   (none) --arp_resolve()--> INCOMPLETE   request 1 sent, frames held
 *   INCOMPLETE --ARP from it--> REACHABLE  held frames released
 *   INCOMPLETE --retry_ms, fewer than max_requests sent--> request again
 *   INCOMPLETE --retry_ms after the last request--> FAILED, held frames dropped
 *   REACHABLE --reachable_ms without news--> STALE  (still used)
 *   STALE --used--> STALE and probing: unicast request, then as INCOMPLETE
 *                   (ARP from it -> REACHABLE; no answer -> FAILED)
 *   FAILED --failed_ms--> (none); frames for it meanwhile dropped, no request
 *   any state --ARP from it (RFC 826 merge)--> REACHABLE, MAC updated
 *
 * except that a known MAC is locked (as Linux's neigh locktime, longer):
 *   REACHABLE or STALE, its MAC heard less than locktime_ms ago, --ARP from
 *     its address with ANOTHER MAC--> kept as it is, and verified: one
 *     unicast request to the known MAC (traffic still goes there)
 *   verified --the known MAC answers--> REACHABLE, the claim was false
 *   verified --no answer in retry_ms--> INCOMPLETE: broadcast requests, and
 *     the next answer (the new MAC, if the host really moved) is believed
 * so that one forged frame (ARP spoofing) redirects nobody, and a host that
 * really changed its MAC is followed within one retry_ms.
 */
#ifndef RSSNAT_ARP_H
#define RSSNAT_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arp_cache;

/* Why an ARP frame, or a frame waiting for resolution, was dropped. */
#define ARP_DROP_REASONS(X)                                                                        \
	X(ETH_TRUNCATED, "frame shorter than its Ethernet header")                                 \
	X(VLAN_TRUNCATED, "frame shorter than its 802.1Q tag")                                     \
	X(NOT_ARP, "EtherType is not ARP")                                                         \
	X(TRUNCATED, "frame shorter than the 28-byte Ethernet/IPv4 ARP packet")                    \
	X(HTYPE, "hardware type is not Ethernet (RFC 826 ar$hrd 1)")                               \
	X(PTYPE, "protocol type is not IPv4 (ar$pro 0x0800)")                                      \
	X(HLEN, "hardware address length is not 6")                                                \
	X(PLEN, "protocol address length is not 4")                                                \
	X(OP, "operation is neither request (1) nor reply (2)")                                    \
	X(BAD_SHA, "sender MAC is zero, broadcast or multicast (RFC 1812 3.3.2)")                  \
	X(BAD_SPA, "sender IP is broadcast, multicast, class E, loopback, or 0 in a reply")        \
	X(ETH_DST, "Ethernet destination is neither broadcast nor one of our MACs")                \
	X(CONFLICT, "sender claims one of our addresses (RFC 5227 2.4): not learned")              \
	X(LOOPED, "our own ARP frame came back")                                                   \
	X(NOT_FOR_US, "ARP for another host's address: merged if known, never answered")           \
	X(LEARN_FULL, "no entry free to learn a sender (request still answered)")                  \
	X(BAD_TARGET, "resolution asked for 0.0.0.0, a loopback or a class E address")             \
	X(FRAME_SIZE, "frame to hold below 14 bytes or above frame_max, or release buffer small")  \
	X(TABLE_FULL, "no neighbour entry free for a new resolution")                              \
	X(UNREACHABLE, "neighbour FAILED recently (no answer to its requests)")                    \
	X(ENTRY_QUEUE_FULL, "4 frames already held for this neighbour: oldest dropped "            \
			    "(RFC 1122 2.3.2.2 keeps the latest)")                                 \
	X(QUEUE_FULL, "global pending queue full")                                                 \
	X(RESOLVE_TIMEOUT, "held frame dropped: its neighbour never answered")

enum arp_drop {
	ARP_OK = 0,
#define ARP_DROP_ENUM(name, text) ARP_DROP_##name,
	ARP_DROP_REASONS(ARP_DROP_ENUM)
#undef ARP_DROP_ENUM
	    ARP_DROP_COUNT
};

/* "HTYPE" etc., for counters; and one sentence for people. */
const char *arp_drop_name(enum arp_drop reason);
const char *arp_drop_text(enum arp_drop reason);

#define ARP_COUNTERS(X)                                                                            \
	X(rx, "ARP frames received")                                                               \
	X(requests_answered, "requests for our addresses answered")                                \
	X(probes_answered, "address probes (sender 0.0.0.0, RFC 5227 2.1.1) answered")             \
	X(gratuitous, "gratuitous ARP seen (sender address = target address)")                     \
	X(learned, "entries created from ARP addressed to us (RFC 826)")                           \
	X(updated, "entries refreshed by ARP from their neighbour (RFC 826 merge)")                \
	X(mac_changed, "entries whose MAC address changed")                                        \
	X(mac_locked, "ARP claiming a locked neighbour's address from another MAC: not believed, " \
		      "the known MAC verified")                                                    \
	X(lock_kept, "verifications the known MAC answered: the other MAC's claim was false")      \
	X(lock_released, "verifications unanswered: resolved again by broadcast")                  \
	X(requests_sent, "ARP requests the caller was asked to send")                              \
	X(hits, "resolutions answered from the cache")                                             \
	X(resolved, "entries that went from INCOMPLETE or probing to REACHABLE")                   \
	X(went_stale, "entries that went from REACHABLE to STALE")                                 \
	X(failed, "entries that got no answer and became FAILED")                                  \
	X(expired, "FAILED entries removed after their hold time")                                 \
	X(evicted, "entries evicted to make room")                                                 \
	X(queued, "frames held waiting for resolution")                                            \
	X(released, "held frames handed back after resolution")

struct arp_counters {
#define ARP_COUNTER_FIELD(name, text) uint64_t name;
	ARP_COUNTERS(ARP_COUNTER_FIELD)
#undef ARP_COUNTER_FIELD
	uint64_t drop[ARP_DROP_COUNT];
	uint32_t entries; /* live now, any state */
	uint32_t pending; /* frames held now (waiting or released, not yet taken) */
};

enum arp_state {
	ARP_NONE = 0, /* no entry */
	ARP_INCOMPLETE,
	ARP_REACHABLE,
	ARP_STALE,
	ARP_FAILED,
};

/* RFC 826 packet layout, from the start of the ARP header. */
enum arp_off {
	ARP_HTYPE = 0,
	ARP_PTYPE = 2,
	ARP_HLEN = 4,
	ARP_PLEN = 5,
	ARP_OP = 6,
	ARP_SHA = 8,
	ARP_SPA = 14,
	ARP_THA = 18,
	ARP_TPA = 24,
	ARP_PKT_LEN = 28,
};

enum {
	ARP_HTYPE_ETHER = 1,
	ARP_OP_REQUEST = 1,
	ARP_OP_REPLY = 2,
	ARP_FRAME_MIN = 60,	   /* IEEE 802.3 minimum without FCS: we pad to it */
	ARP_ADDRS_MAX = 8,	   /* addresses one interface may own */
	ARP_PENDING_PER_ENTRY = 4, /* frames held per unresolved neighbour */
	/* Longer than Linux's 1 s: that guards against two answers racing, this
	 * against a forged frame at any time. A neighbour in use is heard at
	 * least every reachable_ms and a probe (RFC 1122 2.3.2.1), so it stays
	 * locked all the time it is used. */
	ARP_LOCKTIME_MS_DEFAULT = 60000,
	ARP_LOCKTIME_MS_MAX = 3600000,
};

/* A parsed ARP frame. Addresses in network byte order. */
struct arp_msg {
	uint16_t op;
	uint16_t l3_off; /* ARP header: 14, or 18 behind an 802.1Q tag */
	uint16_t vlan_tci;
	bool vlan;
	uint8_t eth_dst[6], eth_src[6];
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
};

/* An address we own on this interface. */
struct arp_addr {
	uint32_t ip; /* network byte order */
	uint8_t mac[6];
	uint8_t prefix_len; /* its subnet, to pick the source of requests; 0: none */
};

struct arp_config {
	uint32_t capacity;    /* neighbour entries */
	uint32_t pending_max; /* frames held for all neighbours together */
	uint16_t frame_max;   /* largest frame held, bytes */
	uint16_t vlan_tci;    /* 802.1Q tag our requests carry; 0: none */
	uint32_t reachable_ms;
	uint32_t retry_ms; /* between requests for one neighbour: the rate limit */
	uint32_t failed_ms;
	uint8_t max_requests; /* unanswered requests before FAILED */
	uint32_t locktime_ms; /* a MAC heard this recently is verified before it is replaced;
				 0: RFC 826 merge, believed at once */
	uint64_t seed;	      /* hash seed, random, from the caller */
	/* Resolve only, never answer: the addresses are the kernel's, and the
	 * kernel answers for them (shared uplink mode, issue 11). Requests for
	 * them are still merged (RFC 826) but get no reply from here. */
	bool silent;
	unsigned n_addrs; /* 1..ARP_ADDRS_MAX; addrs[0] is the primary */
	struct arp_addr addrs[ARP_ADDRS_MAX];
};

/* arp_config_default() - 256 entries, 64 held frames of up to 1522 bytes,
 * reachable 30 s, retry every 1 s, 3 requests, FAILED held 20 s, MACs
 * locked 60 s (ARP_LOCKTIME_MS_DEFAULT); no addresses (the caller adds at
 * least one). */
void arp_config_default(struct arp_config *cfg);

/* arp_set_primary() - the primary address (addrs[0]) is now @ip on a
 * @prefix_len subnet: requests are sent from it from now on (the kernel's
 * address changed, shared uplink mode). Neighbours stay. -EINVAL if @ip
 * is no host address. */
int arp_set_primary(struct arp_cache *c, uint32_t ip, uint8_t prefix_len);

/* arp_create() - allocate everything the cache will ever use. Returns 0,
 * -EINVAL with *why set (why may be NULL), or -ENOMEM. */
int arp_create(const struct arp_config *cfg, struct arp_cache **out, const char **why);
void arp_destroy(struct arp_cache *c);

const struct arp_counters *arp_counters(const struct arp_cache *c);

/* arp_parse() - validate the ARP frame @frame of @len bytes: Ethernet II, at
 * most one 802.1Q tag, EtherType ARP, hardware Ethernet/6, protocol IPv4/4,
 * op request or reply, a unicast sender MAC, a sender IP that could be a
 * host's (0.0.0.0 allowed in requests: RFC 5227 probes). Trailing bytes
 * (Ethernet padding) are ignored. Fills @m and returns ARP_OK, or returns
 * the reason with @m unusable. Pure: no cache involved. */
enum arp_drop arp_parse(struct arp_msg *m, const uint8_t *frame, size_t len);

/* arp_input() - handle one received frame at @now: parse, apply RFC 826's
 * merge rule (update the sender's entry if present; add it if the frame
 * targets one of our addresses), and turn a request for one of our
 * addresses into its reply in place (802.1Q tag kept, padded to
 * ARP_FRAME_MIN when @cap allows). Gratuitous ARP only updates. Sets
 * *reply_len to the bytes to send back out of the interface, or 0. Returns
 * ARP_OK or the (counted) reason the frame was refused or only merged.
 * Frames released by what was learned are then taken with
 * arp_release_next(). */
enum arp_drop arp_input(struct arp_cache *c, uint8_t *frame, size_t len, size_t cap, uint32_t now,
			size_t *reply_len);

/* What arp_resolve() did; combinations as listed there. */
enum arp_result {
	ARP_RESOLVED = 1 << 0,	   /* *mac set and, with a frame, its destination written */
	ARP_QUEUED = 1 << 1,	   /* the frame was copied; it comes back from arp_release_next() */
	ARP_SEND_REQUEST = 1 << 2, /* send arp_request_for(ip) now (the rate limit allowed it) */
	ARP_DROPPED = 1 << 3,	   /* the frame was dropped, reason counted */
};

/* arp_resolve() - the MAC for next hop @ip (network order) at @now.
 * @frame (@len bytes, may be NULL to only resolve) is the Ethernet frame to
 * send there. Returns a set of enum arp_result:
 *   RESOLVED                  known (or broadcast/multicast, RFC 1112 6.4):
 *                             send @frame, its destination MAC written
 *   RESOLVED | SEND_REQUEST   known but STALE: send @frame and a probe
 *   QUEUED [| SEND_REQUEST]   unknown: @frame held (bounded: 4 per entry,
 *                             pending_max in all; the oldest of the entry
 *                             makes room, RFC 1122 2.3.2.2)
 *   DROPPED [| SEND_REQUEST]  FAILED neighbour, table or queue full, bad
 *                             @ip or @len (reason counted)
 * Requests are rate limited to one per retry_ms per neighbour. */
unsigned arp_resolve(struct arp_cache *c, uint32_t ip, uint32_t now, uint8_t *frame, size_t len,
		     uint8_t mac[6]);

/* arp_request_for() - build into @buf (@cap bytes, at least ARP_FRAME_MIN
 * + 4) the request for @ip: broadcast, or unicast to the cached MAC for a
 * STALE neighbour (RFC 1122 2.3.2.1); from our address on @ip's subnet, else
 * the primary one. Returns the frame length or 0. */
size_t arp_request_for(const struct arp_cache *c, uint32_t ip, uint8_t *buf, size_t cap);

/* arp_poll() - run timers at @now: REACHABLE entries that time out go
 * STALE, FAILED ones expire, unanswered ones are retried or FAIL (their
 * held frames dropped). Each call returns at most one request to send,
 * built into @buf (@cap >= ARP_FRAME_MIN + 4); call until it returns 0,
 * at least every retry_ms. */
size_t arp_poll(struct arp_cache *c, uint32_t now, uint8_t *buf, size_t cap);

/* arp_release_next() - copy the next frame released by a resolution into
 * @buf (@cap bytes), destination MAC filled in, oldest first. Returns its
 * length, or 0 when none is left. A frame larger than @cap is dropped
 * (FRAME_SIZE); give frame_max bytes. */
size_t arp_release_next(struct arp_cache *c, uint8_t *buf, size_t cap);

/* arp_lookup() - the state of @ip's entry at @now, without side effects
 * (for tests and the CLI). @mac (may be NULL) gets the MAC when it is
 * known. */
enum arp_state arp_lookup(const struct arp_cache *c, uint32_t ip, uint32_t now, uint8_t mac[6]);

/* arp_build() - write an Ethernet ARP frame into @buf: @eth_dst, @sha as the
 * Ethernet source, 802.1Q tag @vlan_tci when non-zero, @op, the four
 * addresses (@tha NULL: zeros), padded with zeros to ARP_FRAME_MIN. Returns
 * its length, or 0 if @cap is too small. */
size_t arp_build(uint8_t *buf, size_t cap, uint16_t vlan_tci, uint16_t op, const uint8_t eth_dst[6],
		 const uint8_t sha[6], uint32_t spa, const uint8_t *tha, uint32_t tpa);

/* arp_build_request() - who-has @tpa, tell @spa: to @dst_mac, or broadcast
 * when it is NULL; target MAC zero (RFC 5227 2.1.1). Returns the length or 0. */
size_t arp_build_request(uint8_t *buf, size_t cap, uint16_t vlan_tci, const uint8_t sha[6],
			 uint32_t spa, uint32_t tpa, const uint8_t *dst_mac);

#endif
