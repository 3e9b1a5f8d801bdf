/* dhcp_internal.h - what the DHCP server's files share: the server object,
 * its address table, and the functions each file gives the others. dhcp.c
 * is set-up, the message handlers, input and timers; dhcp_msg.c parses
 * client messages and builds replies; dhcp_pool.c keeps the address table,
 * chooses and probes addresses and limits rates; dhcp_lease.c is the lease
 * file and the listing. Not for other modules; the fuzz harness reads it to
 * check invariants.
 *
 * Theory of operation
 * -------------------
 * dhcp_input() gets every frame the gateway received on the LAN for UDP port
 * 67. dhcp_parse() validates it from the Ethernet header down to the last
 * option: a bounded walk of the options field, then of the file and sname
 * fields if option 52 says they carry options, in that order (RFC 2131 4.1).
 * Each field is walked at most once and option 52 counts only in the first,
 * so there is no recursion and no overload loop; every walk step consumes at
 * least one byte of its field.
 *
 * Addresses live in a fixed table of slots, one per pool address plus one per
 * reserved address outside the pool, allocated by dhcp_create(). A slot may
 * be associated with one client (option 61, else htype + chaddr), found from
 * the client through a chained hash; the association outlives the lease
 * (released or expired) so that a client comes back to the same address if
 * nobody took it meanwhile. The address for a DISCOVER is chosen in the order
 * of RFC 2131 4.3.1: a reservation for chaddr, the client's current or
 * previous address, the requested address (option 50), then a pool address
 * never given out (lowest first), then the one remembered the longest. An
 * address is never chosen while held (declined, or its probe answered),
 * while offered to or bound to another client, while reserved for another
 * MAC, or while probed for another client. One that ARP showed another MAC
 * using in the last DHCP_RECENT_MS (and no probe went unanswered since) is
 * a last choice, offered only after a probe.
 *
 * RFC 2131 2.2: "the allocating server SHOULD probe the reused address
 * before allocating the address". With probe_ms > 0 an address not known to
 * be the client's is probed before its first OFFER: the DISCOVER waits in a
 * small table, dhcp_poll() sends an ARP request for the candidate, and
 * either dhcp_address_seen() reports another MAC at that address within
 * probe_ms (the address is held, another candidate probed), or dhcp_poll()
 * sends the OFFER once the window has passed.
 *
 * A REQUEST is told apart by its fields (RFC 2131 4.3.2): option 54 present
 * means SELECTING (ours: ACK or NAK; another server's: our offer is
 * withdrawn), otherwise ciaddr 0 means INIT-REBOOT and ciaddr set means
 * RENEWING (unicast) or REBINDING (broadcast). Bindings are committed to the
 * lease file before their DHCPACK (RFC 2131 3.1 step 4) by dhcp_lease.c;
 * mere renewals are written by dhcp_poll(), at most once a second.
 *
 * Replies are addressed as RFC 2131 4.1 says (no relay agents: giaddr set is
 * dropped): DHCPNAK broadcast; ciaddr set: unicast to it; broadcast bit:
 * broadcast; else unicast to yiaddr at chaddr, the Ethernet frame built here
 * so no ARP is needed. From server_addr:67 and server_mac, TTL 64, the
 * request's 802.1Q tag kept, the BOOTP message padded to 300 bytes.
 */
#ifndef RSSNAT_DHCP_INTERNAL_H
#define RSSNAT_DHCP_INTERNAL_H

#include "dhcp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_NIL UINT32_MAX /* no slot */

enum {
	DHCP_MILLI = 1000, /* milliseconds in a second; rate tokens in a packet */
};

enum dhcp_slot_flag {
	DHCP_SLOT_LEASED = 1u << 0,   /* lease_end is valid: bound to its client once */
	DHCP_SLOT_OFFERED = 1u << 1,  /* offer_until is valid */
	DHCP_SLOT_RELEASED = 1u << 2, /* the client released it (display only) */
	DHCP_SLOT_HELD = 1u << 3,     /* hold_until is valid */
	DHCP_SLOT_SEEN = 1u << 4,     /* seen_at, seen_mac are valid */
	DHCP_SLOT_PROBED = 1u << 5,   /* probed_at is valid */
};

/* One address we may give out: each pool address (slot index = offset in
 * the pool) and each reserved address outside the pool (after them). Its
 * client association (cid_len > 0) is found from the client through a
 * chained hash (cnext). */
struct dhcp_slot {
	uint64_t lease_end;   /* DHCP_SLOT_LEASED: bound until (wall ms) */
	uint64_t offer_until; /* DHCP_SLOT_OFFERED: kept for the client until */
	uint64_t hold_until;  /* DHCP_SLOT_HELD: not offered before */
	uint64_t seen_at;     /* DHCP_SLOT_SEEN: last ARP from this address */
	uint64_t probed_at;   /* DHCP_SLOT_PROBED: last probe that went unanswered */
	uint32_t addr;	      /* network byte order */
	uint32_t cnext;	      /* client hash chain */
	uint8_t flags;	      /* enum dhcp_slot_flag */
	uint8_t res;	      /* reservation index + 1; 0: not reserved */
	uint8_t cid_len;      /* 0: no client */
	uint8_t mac[6];	      /* the client's chaddr */
	uint8_t seen_mac[6];
	uint8_t cid[DHCP_CLIENT_ID_MAX];
	char host[DHCP_HOSTNAME_MAX + 1];
};

enum dhcp_pending_state {
	DHCP_PEND_FREE = 0,
	DHCP_PEND_DUE,	   /* a probe for slot is to be sent */
	DHCP_PEND_PROBING, /* probe sent at probe_at: waiting probe_ms for an answer */
};

/* A DISCOVER whose OFFER waits for the probe of its candidate address. */
struct dhcp_pending {
	struct dhcp_msg msg; /* the latest DISCOVER of this client */
	uint64_t probe_at;
	uint32_t slot;
	uint8_t state; /* enum dhcp_pending_state */
	uint8_t tries; /* candidates probed for it so far */
};

struct dhcp_bucket {
	uint64_t last;	 /* wall ms of the last refill */
	uint32_t tokens; /* in thousandths of a packet */
	uint8_t mac[6];
	bool used;
};

struct dhcp_server {
	struct dhcp_config cfg;
	struct dhcp_counters cnt;
	struct dhcp_slot *slots;
	uint32_t n_slots, n_pool;
	uint32_t *buckets; /* client hash heads */
	uint32_t mask;
	uint32_t seed;
	uint64_t lease_ms;
	struct dhcp_pending pending[DHCP_PENDING_MAX];
	uint32_t pend_cursor;
	struct dhcp_bucket rate[DHCP_RATE_ENTRIES];
	struct dhcp_bucket rate_all;		    /* packets from clients we do not know */
	struct dhcp_bucket rate_known;		    /* packets from clients with an address */
	struct dhcp_bucket rate_new;		    /* addresses for new clients */
	uint64_t last_log;			    /* dhcp_take_log() */
	uint64_t logged_exhausted, logged_new_rate; /* drop counts as of the last line */
	uint64_t last_sweep, last_write;
	bool swept, dirty;
	uint16_t ip_id;
};

/* dhcp_dropped() - count a message dropped for @r. Returns 0: nothing to
 * send. */
static inline size_t dhcp_dropped(struct dhcp_server *s, enum dhcp_drop r)
{
	s->cnt.drop[r]++;
	return 0;
}

/* dhcp.c: the handlers. */

/* dhcp_offer() - give slot @idx (usable by the client of @m) to that client
 * as an offer kept DHCP_OFFER_HOLD_MS (a live lease stays bound) and build
 * the DHCPOFFER into @out. Returns its length, or 0 (dropped: counted). */
size_t dhcp_offer(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m, uint64_t now,
		  uint8_t *out, size_t cap);

/* dhcp_msg.c: the messages. */

extern const uint8_t dhcp_mac_broadcast[6];

/* dhcp_get32() - the big-endian 32-bit value at @b. */
uint32_t dhcp_get32(const uint8_t *b);

/* dhcp_mac_unicast() - whether the 6-byte @m is neither zero nor a group
 * address (IEEE 802). */
bool dhcp_mac_unicast(const uint8_t *m);

/* dhcp_host_valid() - whether @host is what option 12 becomes: one DNS
 * label of 1..63 lower-case letters, digits and '-', no '-' at either end. */
bool dhcp_host_valid(const char *host);

/* dhcp_build_reply() - the reply of @type (OFFER, ACK or NAK) to @m with
 * @yiaddr, addressed as RFC 2131 4.1 says, as a whole frame in @out (@cap
 * bytes). Returns its length, or 0 (no room: counted in NO_ROOM). */
size_t dhcp_build_reply(struct dhcp_server *s, const struct dhcp_msg *m, uint8_t type,
			uint32_t yiaddr, uint8_t *out, size_t cap);

/* dhcp_pool.c: the table. */

/* dhcp_slot_index() - the slot of @addr, or DHCP_NIL: not ours to give. */
uint32_t dhcp_slot_index(const struct dhcp_server *s, uint32_t addr);
/* dhcp_find_client() - the slot associated with client id @cid, or DHCP_NIL. */
uint32_t dhcp_find_client(const struct dhcp_server *s, const uint8_t *cid, size_t len);
/* dhcp_link_client() - associate slot @idx (free of any client) with @cid. */
void dhcp_link_client(struct dhcp_server *s, uint32_t idx, const uint8_t *cid, size_t len);
/* dhcp_unlink_client() - end slot @idx's association: lease, offer, name. */
void dhcp_unlink_client(struct dhcp_server *s, uint32_t idx);
/* dhcp_forget_all() - unlink every client. */
void dhcp_forget_all(struct dhcp_server *s);
/* State of a slot at @now, for display: "bound", "offered", "released",
 * "expired", "held", or NULL (free: nothing to show). */
const char *dhcp_slot_state(const struct dhcp_slot *sl, uint64_t now);

/* dhcp_lease_active() - whether @sl is bound to its client at @now. */
bool dhcp_lease_active(const struct dhcp_slot *sl, uint64_t now);
/* dhcp_same_client() - whether @sl is associated with the client of @m. */
bool dhcp_same_client(const struct dhcp_slot *sl, const struct dhcp_msg *m);
/* dhcp_in_use_by_other() - whether @sl is bound or offered to another
 * client than @m's at @now. */
bool dhcp_in_use_by_other(const struct dhcp_slot *sl, const struct dhcp_msg *m, uint64_t now);
/* dhcp_hold() - keep slot @idx from being offered for DHCP_HOLD_MS. */
void dhcp_hold(struct dhcp_server *s, uint32_t idx, uint64_t now);

/* dhcp_pool.c: address choice and probes. */

/* dhcp_usable_by() - whether slot @idx may be offered or bound to the
 * client of @m at @now (not ours, held, reserved for another MAC, in use or
 * probed for another client, or lately seen at another MAC: not). */
bool dhcp_usable_by(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
		    uint64_t now);
/* dhcp_choose() - the slot to offer the client of @m (RFC 2131 4.3.1
 * order), or DHCP_NIL: pool exhausted. */
uint32_t dhcp_choose(const struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now);
/* dhcp_needs_probe() - whether slot @idx must be probed before it is
 * offered to the client of @m (RFC 2131 2.2). */
bool dhcp_needs_probe(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
		      uint64_t now);
/* dhcp_pending_of() - the DISCOVER of @m's client waiting for a probe, or
 * NULL. */
struct dhcp_pending *dhcp_pending_of(struct dhcp_server *s, const struct dhcp_msg *m);
/* dhcp_pending_cancel() - drop the waiting DISCOVER of @m's client, if any. */
void dhcp_pending_cancel(struct dhcp_server *s, const struct dhcp_msg *m);
/* dhcp_hold_for_probe() - keep @m waiting for the probe of slot @idx.
 * Returns 0 (the OFFER comes from dhcp_poll(); table full: counted). */
size_t dhcp_hold_for_probe(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m);
/* dhcp_pending_step() - run @p at @now: send its probe, or once the window
 * passed, its OFFER (or a new candidate). Returns the frame's length in
 * @out, or 0. */
size_t dhcp_pending_step(struct dhcp_server *s, struct dhcp_pending *p, uint64_t now, uint8_t *out,
			 size_t cap);

/* dhcp_pool.c: rate limits. */

/* dhcp_rate_check() - take a token for the packet @m at @now: from its
 * Ethernet source's bucket, then the global one of new or of known clients.
 * Returns DHCP_OK or the RATE_ reason. */
enum dhcp_drop dhcp_rate_check(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now);
/* dhcp_new_lease_allowed() - whether the client of @m may be given an
 * address at @now: it has one already (or a reservation), or a token of the
 * new-lease bucket is taken for it. */
bool dhcp_new_lease_allowed(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now);

/* dhcp_lease.c: the file. Load fills the table (returns as dhcp_create()),
 * save writes it atomically (0 or -errno). */
int dhcp_lease_load(struct dhcp_server *s, uint64_t now, char *warning, size_t wsize,
		    const char **why);
int dhcp_lease_save(const struct dhcp_server *s);

#endif
