/* dhcp_pool.c - the DHCP server's addresses: the slot table and its client
 * hash, address choice (RFC 2131 4.3.1), holds, the recent-use table fed by
 * ARP, probes before an offer (RFC 2131 2.2), and the rate limits (theory of
 * operation in dhcp_internal.h).
 */
#include "dhcp.h"
#include "dhcp_internal.h"
#include "../router/arp.h"
#include "../pkt/pkt.h"

#include <arpa/inet.h>
#include <assert.h>
#include <string.h>

enum {
	RATE_WAYS = 4, /* per-MAC buckets: set-associative, LRU within a set */
	PROBE_TRIES = 4,
};

/* Small helpers ------------------------------------------------------------- */

/* Is @deadline still ahead of @now? Wall clock: a signed difference. */
static bool ahead(uint64_t deadline, uint64_t now)
{
	return (int64_t)(deadline - now) > 0;
}

/* Did @at happen within @window of @now? An @at in the future (the clock
 * stepped back) counts as recent, but only within the same window. */
static bool recent(uint64_t at, uint64_t now, uint64_t window)
{
	int64_t d = (int64_t)(now - at);

	return d < (int64_t)window && d > -(int64_t)window;
}

/* The table ----------------------------------------------------------------- */

uint32_t dhcp_slot_index(const struct dhcp_server *s, uint32_t addr)
{
	uint32_t off = ntohl(addr) - ntohl(s->cfg.pool_first);

	if (off < s->n_pool)
		return off;
	for (uint32_t i = s->n_pool; i < s->n_slots; i++)
		if (s->slots[i].addr == addr)
			return i;
	return DHCP_NIL;
}

static uint32_t cid_bucket(const struct dhcp_server *s, const uint8_t *cid, size_t len)
{
	uint32_t h = 2166136261u ^ s->seed; /* FNV-1a, seeded */

	for (size_t i = 0; i < len; i++)
		h = (h ^ cid[i]) * 16777619u;
	h ^= h >> 16;
	return h & s->mask;
}

uint32_t dhcp_find_client(const struct dhcp_server *s, const uint8_t *cid, size_t len)
{
	uint32_t i = s->buckets[cid_bucket(s, cid, len)];

	/* Chains hold distinct slots of a finite array: the walk ends. */
	while (i != DHCP_NIL && !(s->slots[i].cid_len == len && !memcmp(s->slots[i].cid, cid, len)))
		i = s->slots[i].cnext;
	return i;
}

void dhcp_link_client(struct dhcp_server *s, uint32_t idx, const uint8_t *cid, size_t len)
{
	struct dhcp_slot *sl = &s->slots[idx];
	uint32_t b = cid_bucket(s, cid, len);

	assert(!sl->cid_len && len && len <= DHCP_CLIENT_ID_MAX);
	memcpy(sl->cid, cid, len);
	sl->cid_len = (uint8_t)len;
	sl->cnext = s->buckets[b];
	s->buckets[b] = idx;
}

void dhcp_unlink_client(struct dhcp_server *s, uint32_t idx)
{
	struct dhcp_slot *sl = &s->slots[idx];
	uint32_t *at = &s->buckets[cid_bucket(s, sl->cid, sl->cid_len)];

	while (*at != DHCP_NIL && *at != idx)
		at = &s->slots[*at].cnext;
	assert(*at == idx);
	*at = sl->cnext;
	sl->cnext = DHCP_NIL;
	sl->cid_len = 0;
	sl->flags &= (uint8_t) ~(DHCP_SLOT_LEASED | DHCP_SLOT_OFFERED | DHCP_SLOT_RELEASED);
	sl->host[0] = '\0';
	memset(sl->mac, 0, sizeof(sl->mac));
}

void dhcp_forget_all(struct dhcp_server *s)
{
	for (uint32_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].cid_len)
			dhcp_unlink_client(s, i);
}

bool dhcp_lease_active(const struct dhcp_slot *sl, uint64_t now)
{
	return sl->cid_len && (sl->flags & DHCP_SLOT_LEASED) && ahead(sl->lease_end, now);
}

static bool offer_active(const struct dhcp_slot *sl, uint64_t now)
{
	return sl->cid_len && (sl->flags & DHCP_SLOT_OFFERED) && ahead(sl->offer_until, now);
}

static bool held(const struct dhcp_slot *sl, uint64_t now)
{
	return (sl->flags & DHCP_SLOT_HELD) && ahead(sl->hold_until, now);
}

const char *dhcp_slot_state(const struct dhcp_slot *sl, uint64_t now)
{
	if (held(sl, now))
		return "held";
	if (!sl->cid_len)
		return NULL;
	if (dhcp_lease_active(sl, now))
		return "bound";
	if (offer_active(sl, now))
		return "offered";
	return sl->flags & DHCP_SLOT_RELEASED ? "released" : "expired";
}

bool dhcp_same_client(const struct dhcp_slot *sl, const struct dhcp_msg *m)
{
	return sl->cid_len == m->cid_len && !memcmp(sl->cid, m->cid, m->cid_len);
}

bool dhcp_in_use_by_other(const struct dhcp_slot *sl, const struct dhcp_msg *m, uint64_t now)
{
	return sl->cid_len && !dhcp_same_client(sl, m) &&
	       (dhcp_lease_active(sl, now) || offer_active(sl, now));
}

void dhcp_hold(struct dhcp_server *s, uint32_t idx, uint64_t now)
{
	s->slots[idx].flags |= DHCP_SLOT_HELD;
	s->slots[idx].hold_until = now + DHCP_HOLD_MS;
}

/* Address choice ------------------------------------------------------------ */

static bool pending_same_client(const struct dhcp_pending *p, const struct dhcp_msg *m)
{
	return p->msg.cid_len == m->cid_len && !memcmp(p->msg.cid, m->cid, m->cid_len);
}

static bool probed_for_other(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m)
{
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++) {
		const struct dhcp_pending *p = &s->pending[i];

		if (p->state != DHCP_PEND_FREE && p->slot == idx && !pending_same_client(p, m))
			return true;
	}
	return false;
}

/* ARP from another MAC than @m's client lately, and no probe went
 * unanswered since: someone may use it. Not asked of the bound client's own
 * lease, which a MAC-rewriting bridge would otherwise take away from it at
 * every renewal. Anyone can send ARP, so this is a reason to probe, never
 * proof (RFC 2131 2.2: the probe is the check). */
static bool seen_by_other(const struct dhcp_slot *sl, const struct dhcp_msg *m, uint64_t now)
{
	bool mine = sl->cid_len && dhcp_same_client(sl, m);

	if (mine && dhcp_lease_active(sl, now))
		return false;
	if (!(sl->flags & DHCP_SLOT_SEEN) || !recent(sl->seen_at, now, DHCP_RECENT_MS) ||
	    !memcmp(sl->seen_mac, m->chaddr, PKT_MAC_LEN))
		return false;
	return !((sl->flags & DHCP_SLOT_PROBED) && (int64_t)(sl->probed_at - sl->seen_at) >= 0);
}

/* Everything but the ARP evidence: ours, not held, not reserved for another
 * MAC, not in use or probed for another client. */
static bool free_for(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
		     uint64_t now)
{
	const struct dhcp_slot *sl = &s->slots[idx];

	if (sl->addr == s->cfg.server_addr || held(sl, now))
		return false;
	if (sl->res && memcmp(s->cfg.reserved[sl->res - 1].mac, m->chaddr, PKT_MAC_LEN))
		return false;
	if (dhcp_in_use_by_other(sl, m, now))
		return false;
	return !probed_for_other(s, idx, m);
}

/* May slot @idx be offered or bound to the client of @m at @now? */
bool dhcp_usable_by(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
		    uint64_t now)
{
	return free_for(s, idx, m, now) && !seen_by_other(&s->slots[idx], m, now);
}

static uint32_t reservation_for(const struct dhcp_server *s, const uint8_t *mac)
{
	for (unsigned i = 0; i < s->cfg.n_reserved; i++)
		if (!memcmp(s->cfg.reserved[i].mac, mac, PKT_MAC_LEN))
			return dhcp_slot_index(s, s->cfg.reserved[i].addr);
	return DHCP_NIL;
}

/* A new address from the pool: never given out first (lowest address), else
 * the one whose client's lease ended the longest ago. With @seen, only those
 * ARP showed at another MAC (they are probed first). */
static uint32_t choose_new(const struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now,
			   bool seen)
{
	uint32_t best = DHCP_NIL;

	for (uint32_t i = 0; i < s->n_pool; i++) {
		const struct dhcp_slot *sl = &s->slots[i];

		if (!free_for(s, i, m, now) || seen_by_other(sl, m, now) != seen)
			continue;
		if (!sl->cid_len)
			return i;
		if (best == DHCP_NIL || (int64_t)(sl->lease_end - s->slots[best].lease_end) < 0)
			best = i;
	}
	return best;
}

/* RFC 2131 4.3.1, in its order: the reservation (manual allocation), the
 * client's current or previous binding, the requested address, then a new
 * one from the pool; addresses ARP showed at another MAC last, and only when
 * a probe will check them. DHCP_NIL: pool exhausted. */
uint32_t dhcp_choose(const struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	uint32_t idx;

	idx = reservation_for(s, m->chaddr);
	if (idx != DHCP_NIL && dhcp_usable_by(s, idx, m, now))
		return idx;
	idx = dhcp_find_client(s, m->cid, m->cid_len);
	if (idx != DHCP_NIL && dhcp_usable_by(s, idx, m, now))
		return idx;
	if (m->has_requested) {
		idx = dhcp_slot_index(s, m->requested);
		if (idx != DHCP_NIL && dhcp_usable_by(s, idx, m, now))
			return idx;
	}
	idx = choose_new(s, m, now, false);
	if (idx == DHCP_NIL && s->cfg.probe_ms)
		idx = choose_new(s, m, now, true);
	return idx;
}

/* RFC 2131 2.2: probe an address before giving it out, unless it is the
 * client's live lease, was probed unanswered lately, or the client itself
 * answers ARP for it. */
bool dhcp_needs_probe(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
		      uint64_t now)
{
	const struct dhcp_slot *sl = &s->slots[idx];

	if (!s->cfg.probe_ms)
		return false;
	if (sl->cid_len && dhcp_same_client(sl, m) && dhcp_lease_active(sl, now))
		return false;
	if (seen_by_other(sl, m, now))
		return true;
	if ((sl->flags & DHCP_SLOT_PROBED) && recent(sl->probed_at, now, DHCP_OFFER_HOLD_MS))
		return false;
	return !((sl->flags & DHCP_SLOT_SEEN) && recent(sl->seen_at, now, DHCP_RECENT_MS) &&
		 !memcmp(sl->seen_mac, m->chaddr, PKT_MAC_LEN));
}

/* Pending DISCOVERs ----------------------------------------------------------- */

struct dhcp_pending *dhcp_pending_of(struct dhcp_server *s, const struct dhcp_msg *m)
{
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++)
		if (s->pending[i].state != DHCP_PEND_FREE && pending_same_client(&s->pending[i], m))
			return &s->pending[i];
	return NULL;
}

static void pending_free(struct dhcp_server *s, struct dhcp_pending *p)
{
	p->state = DHCP_PEND_FREE;
	s->cnt.pending--;
}

/* The client moved on (REQUEST, DECLINE): no OFFER for it any more. */
void dhcp_pending_cancel(struct dhcp_server *s, const struct dhcp_msg *m)
{
	struct dhcp_pending *p = dhcp_pending_of(s, m);

	if (p)
		pending_free(s, p);
}

size_t dhcp_hold_for_probe(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m)
{
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++) {
		struct dhcp_pending *p = &s->pending[i];

		if (p->state != DHCP_PEND_FREE)
			continue;
		p->msg = *m;
		p->slot = idx;
		p->tries = 1;
		p->state = DHCP_PEND_DUE;
		s->cnt.pending++;
		s->cnt.offers_delayed++;
		return 0;
	}
	return dhcp_dropped(s, DHCP_DROP_PENDING_FULL);
}

/* The candidate of @p is taken: probe another, a bounded number of times
 * (each conflict holds an address, so someone answering every probe cannot
 * make one DISCOVER sweep the pool). */
static void repick(struct dhcp_server *s, struct dhcp_pending *p, uint64_t now)
{
	uint32_t idx = p->tries < PROBE_TRIES ? dhcp_choose(s, &p->msg, now) : DHCP_NIL;

	if (idx == DHCP_NIL) {
		pending_free(s, p);
		dhcp_dropped(s, DHCP_DROP_EXHAUSTED);
		return;
	}
	p->slot = idx;
	p->tries++;
	p->state = DHCP_PEND_DUE;
}

size_t dhcp_pending_step(struct dhcp_server *s, struct dhcp_pending *p, uint64_t now, uint8_t *out,
			 size_t cap)
{
	struct dhcp_slot *sl = &s->slots[p->slot];
	struct dhcp_msg m;
	int64_t waited;
	size_t n;

	switch (p->state) {
	case DHCP_PEND_DUE:
		n = arp_build_request(out, cap, p->msg.vlan_tci, s->cfg.server_mac,
				      s->cfg.server_addr, sl->addr, NULL);
		if (!n) {
			pending_free(s, p);
			return dhcp_dropped(s, DHCP_DROP_NO_ROOM);
		}
		p->state = DHCP_PEND_PROBING;
		p->probe_at = now;
		s->cnt.probes_sent++;
		return n;
	case DHCP_PEND_PROBING:
		/* A backward clock step ends the wait rather than stretching it. */
		waited = (int64_t)(now - p->probe_at);
		if (waited >= 0 && waited < (int64_t)s->cfg.probe_ms)
			return 0;
		/* Unanswered (an answer repicks at once): what ARP said of the
		 * address before the probe is disproved. */
		sl->flags |= DHCP_SLOT_PROBED;
		sl->probed_at = now;
		if (!dhcp_usable_by(s, p->slot, &p->msg, now)) {
			repick(s, p, now);
			return 0;
		}
		m = p->msg;
		pending_free(s, p);
		return dhcp_offer(s, (uint32_t)(sl - s->slots), &m, now, out, cap);
	default:
		return 0;
	}
}

/* Rate limits ----------------------------------------------------------------- */

/* Token bucket: a burst of @secs seconds' worth, @rate per second after. */
static bool take_token(struct dhcp_bucket *b, unsigned rate, unsigned secs, uint64_t now)
{
	int64_t d = (int64_t)(now - b->last);
	uint64_t tokens = b->tokens, full = (uint64_t)rate * secs * DHCP_MILLI;

	if (d < 0)
		d = 0; /* the clock stepped back: no refill */
	if (d > (int64_t)secs * DHCP_MILLI)
		d = (int64_t)secs * DHCP_MILLI;
	tokens += (uint64_t)d * rate;
	if (tokens > full)
		tokens = full;
	b->last = now;
	if (tokens < DHCP_MILLI) {
		b->tokens = (uint32_t)tokens;
		return false;
	}
	b->tokens = (uint32_t)(tokens - DHCP_MILLI);
	return true;
}

/* The MAC's bucket: a set of RATE_WAYS by hash; a new MAC takes a free way or
 * the one refilled longest ago, starting full. */
static struct dhcp_bucket *bucket_for(struct dhcp_server *s, const uint8_t *mac, uint64_t now)
{
	uint32_t h = s->seed, base;
	struct dhcp_bucket *victim = NULL;

	for (int i = 0; i < PKT_MAC_LEN; i++)
		h = (h ^ mac[i]) * 16777619u;
	base = (h ^ h >> 16) % (DHCP_RATE_ENTRIES / RATE_WAYS) * RATE_WAYS;
	for (unsigned w = 0; w < RATE_WAYS; w++) {
		struct dhcp_bucket *b = &s->rate[base + w];

		if (b->used && !memcmp(b->mac, mac, PKT_MAC_LEN))
			return b;
		if (!victim ||
		    (victim->used && (!b->used || (int64_t)(b->last - victim->last) < 0)))
			victim = b;
	}
	victim->used = true;
	memcpy(victim->mac, mac, PKT_MAC_LEN);
	victim->last = now;
	victim->tokens = s->cfg.rate_per_mac * DHCP_MILLI;
	return victim;
}

static bool known_client(const struct dhcp_server *s, const struct dhcp_msg *m)
{
	return dhcp_find_client(s, m->cid, m->cid_len) != DHCP_NIL ||
	       reservation_for(s, m->chaddr) != DHCP_NIL;
}

/* A flood of new MACs empties rate_all, not the bucket of the clients we
 * know: their renewals are served whatever the flood. */
enum dhcp_drop dhcp_rate_check(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	struct dhcp_bucket *all = known_client(s, m) ? &s->rate_known : &s->rate_all;

	if (s->cfg.rate_per_mac &&
	    !take_token(bucket_for(s, m->eth_src, now), s->cfg.rate_per_mac, 1, now))
		return DHCP_DROP_RATE_MAC;
	if (s->cfg.rate_global && !take_token(all, s->cfg.rate_global, 1, now))
		return DHCP_DROP_RATE_GLOBAL;
	return DHCP_OK;
}

bool dhcp_new_lease_allowed(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	if (!s->cfg.rate_new || known_client(s, m))
		return true;
	if (take_token(&s->rate_new, s->cfg.rate_new, DHCP_NEW_BURST_SECS, now))
		return true;
	s->cnt.drop[DHCP_DROP_NEW_RATE]++;
	return false;
}

void dhcp_address_seen(struct dhcp_server *s, uint32_t addr, const uint8_t mac[6], uint64_t now_ms)
{
	struct dhcp_slot *sl;
	uint32_t idx;

	if (!addr)
		return;
	s->cnt.arp_seen++;
	idx = dhcp_slot_index(s, addr);
	if (idx == DHCP_NIL)
		return;
	sl = &s->slots[idx];
	sl->flags |= DHCP_SLOT_SEEN;
	sl->seen_at = now_ms;
	memcpy(sl->seen_mac, mac, PKT_MAC_LEN);
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++) {
		struct dhcp_pending *p = &s->pending[i];

		/* The client itself answering is no conflict. */
		if (p->state == DHCP_PEND_FREE || p->slot != idx ||
		    !memcmp(mac, p->msg.chaddr, PKT_MAC_LEN))
			continue;
		dhcp_hold(s, idx, now_ms);
		s->cnt.probe_conflicts++;
		repick(s, p, now_ms);
	}
}
