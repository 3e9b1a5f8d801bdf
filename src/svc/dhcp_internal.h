/* dhcp_internal.h - what dhcp.c (the protocol) and dhcp_lease.c (the lease
 * file and the listing) share: the server object and its address table.
 * Not for other modules; the fuzz harness reads it to check invariants. */
#ifndef RSSNAT_DHCP_INTERNAL_H
#define RSSNAT_DHCP_INTERNAL_H

#include "dhcp.h"

#include <stdbool.h>
#include <stdint.h>

#define DHCP_NIL UINT32_MAX /* no slot */

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
	struct dhcp_bucket rate_all;
	uint64_t last_sweep, last_write;
	bool swept, dirty;
	uint16_t ip_id;
};

/* dhcp.c: the table. */
uint32_t dhcp_slot_index(const struct dhcp_server *s, uint32_t addr);
uint32_t dhcp_find_client(const struct dhcp_server *s, const uint8_t *cid, size_t len);
void dhcp_link_client(struct dhcp_server *s, uint32_t idx, const uint8_t *cid, size_t len);
void dhcp_unlink_client(struct dhcp_server *s, uint32_t idx);
void dhcp_forget_all(struct dhcp_server *s);
bool dhcp_host_valid(const char *host);
/* State of a slot at @now, for display: "bound", "offered", "released",
 * "expired", "held", or NULL (free: nothing to show). */
const char *dhcp_slot_state(const struct dhcp_slot *sl, uint64_t now);

/* dhcp_lease.c: the file. Load fills the table (returns as dhcp_create()),
 * save writes it atomically (0 or -errno). */
int dhcp_lease_load(struct dhcp_server *s, uint64_t now, char *warning, size_t wsize,
		    const char **why);
int dhcp_lease_save(const struct dhcp_server *s);

#endif
