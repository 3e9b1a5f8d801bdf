/* arp.c - ARP for the gateway's own addresses, a bounded neighbour cache, and
 * the frames held while a neighbour is being resolved (RFC 826, RFC 1122
 * 2.3.2, RFC 5227).
 *
 * Theory of operation
 * -------------------
 * rssnat owns its interfaces, so the kernel answers no ARP for it: every ARP
 * frame received comes to arp_input(). It is parsed (arp_parse(): Ethernet/6,
 * IPv4/4, request or reply, a sender that could be a host) and then run
 * through RFC 826's packet reception algorithm:
 *
 *   if the sender's IP is in the table, update its MAC      ("merge")
 *   if the target IP is ours:
 *       if it was not merged, add the sender
 *       if it is a request, swap the fields and send it back as the reply
 *
 * A gratuitous ARP (sender IP = target IP) therefore updates an entry we
 * have and is never answered nor learned. The merge is refused when it
 * would replace a MAC heard less than locktime_ms ago: one forged frame
 * (ARP spoofing) must not redirect a neighbour in use. The entry keeps its
 * MAC and is verified by one unicast request to it (arp_poll() sends it at
 * once); if the known MAC answers it stays, if it is silent for retry_ms the
 * entry is resolved again by broadcast and the answer believed. A probe (sender IP 0.0.0.0, RFC
 * 5227 2.1.1) for one of our addresses is answered, but teaches nothing.
 * Anyone else claiming one of our addresses is counted as a conflict and
 * not believed.
 *
 * Neighbours live in a fixed array of entries, found through a chained hash
 * table keyed by a caller-given seed; all of it, and the pool of slots for
 * held frames, is allocated in arp_create(). When the table is full a new
 * entry takes the place of a FAILED one, else the STALE one heard from
 * longest ago, else (only for resolutions we start, not for senders we learn,
 * so that a LAN host spraying requests cannot push out neighbours in use) the
 * oldest REACHABLE one. INCOMPLETE entries, the only ones holding frames, are
 * never evicted: they resolve or fail within max_requests * retry_ms.
 *
 * The state machine is drawn in arp.h. Entries age lazily when looked up and
 * in arp_poll(), which also sends the retries: one request per retry_ms per
 * neighbour, whether asked by arp_resolve() or by the timer, which is the
 * rate limit. A neighbour that leaves max_requests requests unanswered is
 * FAILED for failed_ms: frames for it are dropped at once, with no request.
 *
 * Held frames (RFC 1122 2.3.2.2): at most ARP_PENDING_PER_ENTRY per
 * neighbour and pending_max in all, copied into fixed slots of frame_max
 * bytes. When the neighbour's queue is full its oldest frame makes room, so
 * the latest one is kept as the RFC asks; when the pool is full the new frame
 * takes a slot from its own neighbour's oldest, or is dropped. On resolution
 * the neighbour's frames move, destination MAC written, to one FIFO that the
 * caller drains with arp_release_next(); on failure they are dropped.
 *
 * Parsing and building frames are in arp_wire.c.
 */
#include "arp.h"
#include "arp_internal.h"
#include "../pkt/pkt.h"
#include "../pkt/wire.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX /* no entry, no slot */

enum {
	CAPACITY_MAX = 1 << 20,
	PENDING_MAX = 1 << 16,
	DEFAULT_CAPACITY = 256,
	DEFAULT_PENDING = 64,
	DEFAULT_FRAME_MAX = 1522, /* 1500 + Ethernet header + 802.1Q tag + 4 spare */
	DEFAULT_REACHABLE_MS = 30000,
	DEFAULT_RETRY_MS = 1000,
	DEFAULT_FAILED_MS = 20000,
	DEFAULT_MAX_REQUESTS = 3,
};

struct arp_entry {
	uint32_t ip;	    /* network byte order */
	uint32_t next;	    /* hash chain, or the free list */
	uint32_t confirmed; /* last ARP heard from the neighbour */
	uint32_t last_req;  /* last request sent for it */
	uint32_t failed_at;
	uint32_t pend_head, pend_tail; /* held frames (INCOMPLETE only) */
	uint8_t mac[6];
	uint8_t state;	  /* enum arp_state; ARP_NONE: free */
	uint8_t requests; /* unanswered; on a STALE entry, > 0 means probing */
	uint8_t n_pend;
	bool verify; /* REACHABLE or STALE: its MAC was contested, being verified */
};

struct arp_slot {
	uint32_t next;
	uint16_t len;
};

struct arp_cache {
	struct arp_config cfg;
	struct arp_counters cnt;
	struct arp_entry *entries;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t free_entry;
	struct arp_slot *slots;
	uint8_t *frames; /* pending_max slots of frame_max bytes */
	uint32_t free_slot;
	uint32_t ready_head, ready_tail; /* released, waiting for arp_release_next() */
	uint32_t cursor;		 /* where arp_poll() resumes */
};

/* RFC 1812 4.2.2.11 / RFC 5735: addresses that name no single host. */
static bool ip_multicast(uint32_t ip)
{
	return (ntohl(ip) >> 28) == 0xe;
}

/* Set-up ------------------------------------------------------------------- */

void arp_config_default(struct arp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = DEFAULT_CAPACITY;
	cfg->pending_max = DEFAULT_PENDING;
	cfg->frame_max = DEFAULT_FRAME_MAX;
	cfg->reachable_ms = DEFAULT_REACHABLE_MS;
	cfg->retry_ms = DEFAULT_RETRY_MS;
	cfg->failed_ms = DEFAULT_FAILED_MS;
	cfg->max_requests = DEFAULT_MAX_REQUESTS;
	cfg->locktime_ms = ARP_LOCKTIME_MS_DEFAULT;
}

static const char *config_error(const struct arp_config *cfg)
{
	if (cfg->capacity == 0 || cfg->capacity > CAPACITY_MAX)
		return "capacity must be 1..1048576";
	if (cfg->pending_max > PENDING_MAX)
		return "pending_max must be at most 65536";
	if (cfg->frame_max < PKT_ETH_LEN)
		return "frame_max below an Ethernet header";
	if (cfg->retry_ms == 0 || cfg->reachable_ms == 0 || cfg->max_requests == 0)
		return "retry_ms, reachable_ms and max_requests must be positive";
	if (cfg->locktime_ms > ARP_LOCKTIME_MS_MAX)
		return "locktime_ms must be at most 3600000 (an hour)";
	if (cfg->n_addrs == 0 || cfg->n_addrs > ARP_ADDRS_MAX)
		return "between 1 and 8 addresses";
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		/* A silent cache may start before the kernel has an address:
		 * its requests are then probes (sender 0.0.0.0, RFC 5227). */
		if (!wire_ip_is_host(cfg->addrs[i].ip) && !(cfg->silent && !cfg->addrs[i].ip))
			return "an address is not a unicast host address";
		if (!arp_mac_unicast(cfg->addrs[i].mac))
			return "a MAC address is not unicast";
		if (cfg->addrs[i].prefix_len > 32)
			return "a prefix length is above 32";
	}
	return NULL;
}

int arp_create(const struct arp_config *cfg, struct arp_cache **out, const char **why)
{
	const char *err = config_error(cfg);
	struct arp_cache *c;
	uint32_t nb = 1;

	if (err) {
		if (why)
			*why = err;
		return -EINVAL;
	}
	while (nb < cfg->capacity)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->mask = nb - 1;
	c->entries = calloc(cfg->capacity, sizeof(*c->entries));
	c->buckets = malloc(nb * sizeof(*c->buckets));
	c->slots = calloc(cfg->pending_max ? cfg->pending_max : 1, sizeof(*c->slots));
	c->frames = malloc(cfg->pending_max ? (size_t)cfg->pending_max * cfg->frame_max : 1);
	if (!c->entries || !c->buckets || !c->slots || !c->frames) {
		arp_destroy(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nb; i++)
		c->buckets[i] = NIL;
	for (uint32_t i = 0; i < cfg->capacity; i++)
		c->entries[i].next = i + 1 < cfg->capacity ? i + 1 : NIL;
	for (uint32_t i = 0; i < cfg->pending_max; i++)
		c->slots[i].next = i + 1 < cfg->pending_max ? i + 1 : NIL;
	c->free_slot = cfg->pending_max ? 0 : NIL;
	c->ready_head = c->ready_tail = NIL;
	*out = c;
	return 0;
}

void arp_destroy(struct arp_cache *c)
{
	if (!c)
		return;
	free(c->frames);
	free(c->slots);
	free(c->buckets);
	free(c->entries);
	free(c);
}

const struct arp_counters *arp_counters(const struct arp_cache *c)
{
	return &c->cnt;
}

/* Our addresses -------------------------------------------------------------- */

static int our_index(const struct arp_cache *c, uint32_t ip)
{
	for (unsigned i = 0; i < c->cfg.n_addrs; i++)
		if (c->cfg.addrs[i].ip == ip)
			return (int)i;
	return -1;
}

static bool mac_ours(const struct arp_cache *c, const uint8_t *mac)
{
	for (unsigned i = 0; i < c->cfg.n_addrs; i++)
		if (!memcmp(c->cfg.addrs[i].mac, mac, PKT_MAC_LEN))
			return true;
	return false;
}

/* Our address on @ip's subnet, else the primary one. */
static const struct arp_addr *source_for(const struct arp_cache *c, uint32_t ip)
{
	for (unsigned i = 0; i < c->cfg.n_addrs; i++) {
		const struct arp_addr *a = &c->cfg.addrs[i];
		uint32_t mask;

		if (!a->prefix_len)
			continue;
		mask = htonl(~0u << (32 - a->prefix_len));
		if (((a->ip ^ ip) & mask) == 0)
			return a;
	}
	return &c->cfg.addrs[0];
}

int arp_set_primary(struct arp_cache *c, uint32_t ip, uint8_t prefix_len)
{
	if (!wire_ip_is_host(ip) || prefix_len > 32)
		return -EINVAL;
	c->cfg.addrs[0].ip = ip;
	c->cfg.addrs[0].prefix_len = prefix_len;
	return 0;
}

/* The table ------------------------------------------------------------------ */

static enum arp_drop count_drop(struct arp_cache *c, enum arp_drop r)
{
	c->cnt.drop[r]++;
	return r;
}

static uint32_t bucket_of(const struct arp_cache *c, uint32_t ip)
{
	uint64_t h = (ip ^ c->cfg.seed) * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h & c->mask;
}

static uint32_t find(const struct arp_cache *c, uint32_t ip)
{
	uint32_t i = c->buckets[bucket_of(c, ip)];

	/* Chains hold distinct entries of a finite array: the walk ends. */
	while (i != NIL && c->entries[i].ip != ip)
		i = c->entries[i].next;
	return i;
}

static uint8_t *slot_frame(const struct arp_cache *c, uint32_t s)
{
	return c->frames + (size_t)s * c->cfg.frame_max;
}

static void slot_free(struct arp_cache *c, uint32_t s)
{
	c->slots[s].next = c->free_slot;
	c->free_slot = s;
	c->cnt.pending--;
}

static void drop_oldest(struct arp_cache *c, struct arp_entry *e, enum arp_drop why)
{
	uint32_t s = e->pend_head;

	e->pend_head = c->slots[s].next;
	if (e->pend_head == NIL)
		e->pend_tail = NIL;
	e->n_pend--;
	slot_free(c, s);
	count_drop(c, why);
}

static void remove_entry(struct arp_cache *c, uint32_t idx)
{
	struct arp_entry *e = &c->entries[idx];
	uint32_t *at = &c->buckets[bucket_of(c, e->ip)];

	assert(e->n_pend == 0); /* only INCOMPLETE entries hold frames; never removed */
	while (*at != idx)
		at = &c->entries[*at].next;
	*at = e->next;
	e->state = ARP_NONE;
	e->next = c->free_entry;
	c->free_entry = idx;
	c->cnt.entries--;
}

/* Eviction order: FAILED, STALE, then REACHABLE if @take_reachable; -1 for
 * entries that may not go (free, or INCOMPLETE and holding frames). */
static int evict_rank(uint8_t state, bool take_reachable)
{
	switch (state) {
	case ARP_FAILED:
		return 0;
	case ARP_STALE:
		return 1;
	case ARP_REACHABLE:
		return take_reachable ? 2 : -1;
	default:
		return -1;
	}
}

/* Room for a new entry: the best-ranked one, heard from longest ago. */
static uint32_t evict(struct arp_cache *c, uint32_t now, bool take_reachable)
{
	uint32_t best = NIL, best_age = 0;
	int best_rank = 0;

	for (uint32_t i = 0; i < c->cfg.capacity; i++) {
		const struct arp_entry *e = &c->entries[i];
		int r = evict_rank(e->state, take_reachable);
		uint32_t age = now - e->confirmed;

		if (r < 0)
			continue;
		if (best == NIL || r < best_rank || (r == best_rank && age > best_age)) {
			best = i;
			best_rank = r;
			best_age = age;
		}
	}
	if (best == NIL)
		return NIL;
	remove_entry(c, best);
	c->cnt.evicted++;
	return best;
}

static struct arp_entry *new_entry(struct arp_cache *c, uint32_t ip, uint32_t now,
				   bool take_reachable)
{
	uint32_t idx = c->free_entry, b;
	struct arp_entry *e;

	if (idx == NIL) {
		idx = evict(c, now, take_reachable);
		if (idx == NIL)
			return NULL;
	}
	assert(idx == c->free_entry && c->entries); /* evict() freed it onto the list */
	e = &c->entries[idx];
	c->free_entry = e->next;
	b = bucket_of(c, ip);
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->next = c->buckets[b];
	e->pend_head = e->pend_tail = NIL;
	c->buckets[b] = idx;
	c->cnt.entries++;
	return e;
}

/* Held frames go to the release FIFO with their destination written. */
static void release(struct arp_cache *c, struct arp_entry *e)
{
	if (e->pend_head == NIL)
		return;
	for (uint32_t s = e->pend_head; s != NIL; s = c->slots[s].next)
		memcpy(slot_frame(c, s) + PKT_ETH_DST, e->mac, PKT_MAC_LEN);
	if (c->ready_tail == NIL)
		c->ready_head = e->pend_head;
	else
		c->slots[c->ready_tail].next = e->pend_head;
	c->ready_tail = e->pend_tail;
	e->pend_head = e->pend_tail = NIL;
	e->n_pend = 0;
}

/* The neighbour spoke from @mac: it is there now (RFC 826 merge). */
static void confirm(struct arp_cache *c, struct arp_entry *e, const uint8_t *mac, uint32_t now)
{
	uint8_t was = e->state;

	if ((was == ARP_REACHABLE || was == ARP_STALE) && memcmp(e->mac, mac, PKT_MAC_LEN))
		c->cnt.mac_changed++;
	if (was == ARP_INCOMPLETE || was == ARP_FAILED || e->requests)
		c->cnt.resolved++;
	if (e->verify)
		c->cnt.lock_kept++; /* a locked entry is confirmed only by its own MAC */
	e->verify = false;
	memcpy(e->mac, mac, PKT_MAC_LEN);
	e->state = ARP_REACHABLE;
	e->confirmed = now;
	e->requests = 0;
	release(c, e);
}

static void fail(struct arp_cache *c, struct arp_entry *e, uint32_t now)
{
	while (e->n_pend)
		drop_oldest(c, e, ARP_DROP_RESOLVE_TIMEOUT);
	e->state = ARP_FAILED;
	e->failed_at = now;
	e->requests = 0;
	c->cnt.failed++;
}

static bool probing(const struct arp_entry *e)
{
	return e->state == ARP_INCOMPLETE || (e->state == ARP_STALE && e->requests) || e->verify;
}

/* The known MAC left its verification unanswered: whoever answers a
 * broadcast request now is believed (the host may really have moved). */
static void unlock(struct arp_cache *c, struct arp_entry *e)
{
	e->verify = false;
	e->state = ARP_INCOMPLETE;
	e->requests = 0;
	c->cnt.lock_released++;
}

/* Age entry @idx to @now. Returns false if it expired and is gone. */
static bool age(struct arp_cache *c, uint32_t idx, uint32_t now)
{
	struct arp_entry *e = &c->entries[idx];

	if (e->verify) { /* one unicast request, retry_ms for its answer */
		if (e->requests && now - e->last_req >= c->cfg.retry_ms)
			unlock(c, e);
		return true;
	}
	if (e->state == ARP_REACHABLE && now - e->confirmed >= c->cfg.reachable_ms) {
		e->state = ARP_STALE;
		c->cnt.went_stale++;
	} else if (probing(e) && e->requests >= c->cfg.max_requests &&
		   now - e->last_req >= c->cfg.retry_ms) {
		fail(c, e, now);
	} else if (e->state == ARP_FAILED && now - e->failed_at >= c->cfg.failed_ms) {
		remove_entry(c, idx);
		c->cnt.expired++;
		return false;
	}
	return true;
}

/* One request per retry_ms per neighbour, max_requests in a row: the rate
 * limit. Records the request when it may go. */
static bool take_request(struct arp_cache *c, struct arp_entry *e, uint32_t now)
{
	if (e->requests >= c->cfg.max_requests)
		return false;
	if (e->requests && now - e->last_req < c->cfg.retry_ms)
		return false;
	e->requests++;
	e->last_req = now;
	c->cnt.requests_sent++;
	return true;
}

/* Hold @frame for the INCOMPLETE entry @e (RFC 1122 2.3.2.2: keep the latest). */
static unsigned hold(struct arp_cache *c, struct arp_entry *e, const uint8_t *frame, size_t len)
{
	uint32_t s;

	if (len > c->cfg.frame_max) {
		count_drop(c, ARP_DROP_FRAME_SIZE);
		return ARP_DROPPED;
	}
	if (e->n_pend >= ARP_PENDING_PER_ENTRY)
		drop_oldest(c, e, ARP_DROP_ENTRY_QUEUE_FULL);
	if (c->free_slot == NIL) {
		if (!e->n_pend) {
			count_drop(c, ARP_DROP_QUEUE_FULL);
			return ARP_DROPPED;
		}
		drop_oldest(c, e, ARP_DROP_QUEUE_FULL);
	}
	s = c->free_slot;
	c->free_slot = c->slots[s].next;
	memcpy(slot_frame(c, s), frame, len);
	c->slots[s].len = (uint16_t)len;
	c->slots[s].next = NIL;
	if (e->pend_tail == NIL)
		e->pend_head = s;
	else
		c->slots[e->pend_tail].next = s;
	e->pend_tail = s;
	e->n_pend++;
	c->cnt.pending++;
	c->cnt.queued++;
	return ARP_QUEUED;
}

/* Resolution ----------------------------------------------------------------- */

/* Broadcast, and multicast by RFC 1112 6.4: no ARP needed. */
static bool mac_of_group(uint32_t ip, uint8_t mac[6])
{
	uint32_t h = ntohl(ip);

	if (h == 0xffffffffu) {
		memcpy(mac, arp_mac_broadcast, PKT_MAC_LEN);
		return true;
	}
	if (!ip_multicast(ip))
		return false;
	mac[0] = 0x01;
	mac[1] = 0x00;
	mac[2] = 0x5e;
	mac[3] = (uint8_t)(h >> 16 & 0x7f);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
	return true;
}

static unsigned resolved(uint8_t *frame, const uint8_t *mac, uint8_t *out)
{
	if (out)
		memcpy(out, mac, PKT_MAC_LEN);
	if (frame)
		memcpy(frame + PKT_ETH_DST, mac, PKT_MAC_LEN);
	return ARP_RESOLVED;
}

unsigned arp_resolve(struct arp_cache *c, uint32_t ip, uint32_t now, uint8_t *frame, size_t len,
		     uint8_t mac[6])
{
	uint8_t group[6];
	struct arp_entry *e = NULL;
	uint32_t idx;
	unsigned r;

	if (frame && len < PKT_ETH_LEN) {
		count_drop(c, ARP_DROP_FRAME_SIZE);
		return ARP_DROPPED;
	}
	if (mac_of_group(ip, group))
		return resolved(frame, group, mac);
	if (!wire_ip_is_host(ip)) {
		count_drop(c, ARP_DROP_BAD_TARGET);
		return ARP_DROPPED;
	}
	idx = find(c, ip);
	if (idx != NIL && age(c, idx, now))
		e = &c->entries[idx];
	if (!e) {
		e = new_entry(c, ip, now, true);
		if (!e) {
			count_drop(c, ARP_DROP_TABLE_FULL);
			return ARP_DROPPED;
		}
		e->state = ARP_INCOMPLETE;
	}
	switch (e->state) {
	case ARP_REACHABLE:
		c->cnt.hits++;
		return resolved(frame, e->mac, mac);
	case ARP_STALE: /* RFC 1122 2.3.2.1: use it, and poll the neighbour */
		c->cnt.hits++;
		r = resolved(frame, e->mac, mac);
		return take_request(c, e, now) ? r | ARP_SEND_REQUEST : r;
	case ARP_FAILED:
		count_drop(c, ARP_DROP_UNREACHABLE);
		return ARP_DROPPED;
	default: /* INCOMPLETE */
		r = take_request(c, e, now) ? ARP_SEND_REQUEST : 0;
		return frame ? r | hold(c, e, frame, len) : r;
	}
}

size_t arp_request_for(const struct arp_cache *c, uint32_t ip, uint8_t *buf, size_t cap)
{
	const struct arp_addr *src = source_for(c, ip);
	uint32_t idx = find(c, ip);
	const uint8_t *dst = NULL;

	/* RFC 1122 2.3.2.1: re-validate a known neighbour by unicast poll; a
	 * contested one too, so that only the known MAC can keep it. */
	if (idx != NIL && (c->entries[idx].state == ARP_STALE || c->entries[idx].verify))
		dst = c->entries[idx].mac;
	return arp_build_request(buf, cap, c->cfg.vlan_tci, src->mac, src->ip, ip, dst);
}

size_t arp_poll(struct arp_cache *c, uint32_t now, uint8_t *buf, size_t cap)
{
	uint32_t n = c->cfg.capacity;

	/* Resume after the entry last asked for: a caller looping until 0 sees
	 * each due request once (it is then not due before retry_ms > 0). */
	for (uint32_t k = 0; k < n; k++) {
		uint32_t idx = c->cursor;
		struct arp_entry *e = &c->entries[idx];

		c->cursor = idx + 1 < n ? idx + 1 : 0;
		if (e->state == ARP_NONE || !age(c, idx, now) || !probing(e))
			continue;
		if (take_request(c, e, now))
			return arp_request_for(c, e->ip, buf, cap);
	}
	return 0;
}

size_t arp_release_next(struct arp_cache *c, uint8_t *buf, size_t cap)
{
	while (c->ready_head != NIL) {
		uint32_t s = c->ready_head;
		size_t len = c->slots[s].len;

		c->ready_head = c->slots[s].next;
		if (c->ready_head == NIL)
			c->ready_tail = NIL;
		if (len > cap) {
			slot_free(c, s);
			count_drop(c, ARP_DROP_FRAME_SIZE);
			continue;
		}
		memcpy(buf, slot_frame(c, s), len);
		slot_free(c, s);
		c->cnt.released++;
		return len;
	}
	return 0;
}

enum arp_state arp_lookup(const struct arp_cache *c, uint32_t ip, uint32_t now, uint8_t mac[6])
{
	uint32_t idx = find(c, ip);
	const struct arp_entry *e;

	if (idx == NIL)
		return ARP_NONE;
	e = &c->entries[idx];
	switch (e->state) {
	case ARP_REACHABLE:
	case ARP_STALE:
		if (mac)
			memcpy(mac, e->mac, PKT_MAC_LEN);
		if (e->state == ARP_REACHABLE && now - e->confirmed >= c->cfg.reachable_ms)
			return ARP_STALE;
		return (enum arp_state)e->state;
	case ARP_FAILED:
		return now - e->failed_at >= c->cfg.failed_ms ? ARP_NONE : ARP_FAILED;
	default:
		return (enum arp_state)e->state;
	}
}

/* Input ---------------------------------------------------------------------- */

/* RFC 826: "Swap hardware and protocol fields, putting the local hardware
 * and protocol addresses in the sender fields", op REPLY, sent to the
 * requester's hardware address. A probe's 0.0.0.0 sender becomes the target
 * as it is (RFC 5227 2.1.1). */
static size_t reply_in_place(const struct arp_cache *c, const struct arp_msg *m, uint8_t *frame,
			     size_t cap, int ours)
{
	const struct arp_addr *me = &c->cfg.addrs[ours];
	uint8_t *a = frame + m->l3_off;
	size_t n = (size_t)m->l3_off + ARP_PKT_LEN;

	memcpy(frame + PKT_ETH_DST, m->sha, PKT_MAC_LEN);
	memcpy(frame + PKT_ETH_SRC, me->mac, PKT_MAC_LEN);
	wire_put16(a + ARP_OP, ARP_OP_REPLY);
	memcpy(a + ARP_THA, m->sha, PKT_MAC_LEN);
	memcpy(a + ARP_TPA, &m->spa, 4);
	memcpy(a + ARP_SHA, me->mac, PKT_MAC_LEN);
	memcpy(a + ARP_SPA, &me->ip, 4);
	if (n < ARP_FRAME_MIN && cap >= ARP_FRAME_MIN) {
		memset(frame + n, 0, ARP_FRAME_MIN - n); /* no stale bytes as padding */
		n = ARP_FRAME_MIN;
	}
	return n;
}

/* Would @mac replace a MAC heard less than locktime_ms ago, or one being
 * verified? */
static bool locked(const struct arp_cache *c, const struct arp_entry *e, const uint8_t *mac,
		   uint32_t now)
{
	if (e->state != ARP_REACHABLE && e->state != ARP_STALE)
		return false;
	if (!memcmp(e->mac, mac, PKT_MAC_LEN))
		return false;
	return e->verify || now - e->confirmed < c->cfg.locktime_ms;
}

/* RFC 826 merge: update the sender's entry if there is one; a locked one
 * is verified instead (its request goes out from arp_poll() at once). */
static bool merge(struct arp_cache *c, const struct arp_msg *m, uint32_t now)
{
	uint32_t idx = find(c, m->spa);
	struct arp_entry *e;

	if (idx == NIL)
		return false;
	e = &c->entries[idx];
	if (locked(c, e, m->sha, now)) {
		c->cnt.mac_locked++;
		if (!e->verify) {
			e->verify = true;
			e->requests = 0;
		}
		return true;
	}
	confirm(c, e, m->sha, now);
	c->cnt.updated++;
	return true;
}

/* RFC 826: "add the triplet" when the frame was for us. A learned sender
 * may not push out an entry in use (REACHABLE). */
static void learn(struct arp_cache *c, const struct arp_msg *m, uint32_t now)
{
	struct arp_entry *e = new_entry(c, m->spa, now, false);

	if (!e) {
		count_drop(c, ARP_DROP_LEARN_FULL);
		return;
	}
	memcpy(e->mac, m->sha, PKT_MAC_LEN);
	e->state = ARP_REACHABLE;
	e->confirmed = now;
	c->cnt.learned++;
}

enum arp_drop arp_input(struct arp_cache *c, uint8_t *frame, size_t len, size_t cap, uint32_t now,
			size_t *reply_len)
{
	struct arp_msg m;
	enum arp_drop r;
	bool merged = false;
	int ours;

	*reply_len = 0;
	c->cnt.rx++;
	r = arp_parse(&m, frame, len);
	if (r != ARP_OK)
		return count_drop(c, r);
	if (memcmp(m.eth_dst, arp_mac_broadcast, PKT_MAC_LEN) && !mac_ours(c, m.eth_dst))
		return count_drop(c, ARP_DROP_ETH_DST);
	if (m.spa && our_index(c, m.spa) >= 0)
		return count_drop(c, mac_ours(c, m.sha) ? ARP_DROP_LOOPED : ARP_DROP_CONFLICT);
	if (m.spa)
		merged = merge(c, &m, now);
	if (m.spa && m.spa == m.tpa) {
		c->cnt.gratuitous++; /* updated if known; not for us to answer */
		return ARP_OK;
	}
	ours = our_index(c, m.tpa);
	if (ours < 0)
		return count_drop(c, ARP_DROP_NOT_FOR_US);
	if (m.spa && !merged)
		learn(c, &m, now);
	if (m.op == ARP_OP_REQUEST && !c->cfg.silent) {
		*reply_len = reply_in_place(c, &m, frame, cap < len ? len : cap, ours);
		if (m.spa)
			c->cnt.requests_answered++;
		else
			c->cnt.probes_answered++;
	}
	return ARP_OK;
}
