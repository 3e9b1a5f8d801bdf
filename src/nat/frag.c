/* frag.c - shallow virtual reassembly of IPv4 fragments (RFC 4787 REQ-14).
 *
 * Only the first fragment carries the ports, yet every fragment must be
 * translated with them. Per datagram (side, source, destination, protocol,
 * IP id) we remember the first fragment's ports; later fragments take them
 * from there. A later fragment that arrives before its first one is held
 * (up to NAT_HOLD_MAX per worker) and released, translated, when the first
 * comes; if it never does, it is dropped after the fragment timeout. Entries
 * die in creation order, and all share one timeout, so a FIFO of entries is
 * their timer: no scans (nat_set_timeouts() moves every expiry by the same
 * amount, so the order holds).
 *
 * Floods. Lone later fragments cost nothing to forge and each takes an
 * entry for the whole timeout; a table that stays full would refuse every
 * real fragmented datagram. So:
 *   - when the table is full, a new datagram evicts the oldest entry (the
 *     FIFO's head): a real datagram's fragments arrive within milliseconds
 *     of each other, a flood's entries wait out the timeout. Fragments
 *     held for the evicted entry are dropped (FRAG_EVICTED) at the next
 *     nat_frags_expire() and leave through the released list, like those
 *     that time out;
 *   - one source (per side) may have at most 1/NAT_FRAG_SOURCE_SHARE of the
 *     entries waiting for a first fragment (FRAG_SOURCE_LIMIT), so that
 *     one host cannot churn everyone else's entries out. Entries whose
 *     first fragment came are not limited: a server sending many large
 *     datagrams is not a flood.
 * A flood from spoofed, changing sources still churns the table; it only
 * hurts a datagram whose fragments are further apart than the time the
 * flood takes to fill the table.
 */
#include <stdlib.h>
#include <string.h>

#include "nat_internal.h"

int nat_frags_init(struct nat_worker *w, uint32_t capacity)
{
	uint32_t heads = 1, n = capacity ? capacity : 1, src = 64;

	while (heads < n)
		heads <<= 1;
	while (src < 2 * n)
		src <<= 1;
	w->frags = calloc(n, sizeof(*w->frags));
	w->frag_heads = malloc(heads * sizeof(uint32_t));
	w->frag_fifo = malloc(n * sizeof(uint32_t));
	w->frag_src = calloc(src, sizeof(*w->frag_src));
	if (!w->frags || !w->frag_heads || !w->frag_fifo || !w->frag_src)
		return -1;
	w->frag_src_mask = src - 1;
	w->frag_src_limit = n / NAT_FRAG_SOURCE_SHARE ? n / NAT_FRAG_SOURCE_SHARE : 1;
	memset(w->frag_heads, 0xff, heads * sizeof(uint32_t));
	w->frag_mask = heads - 1;
	w->fifo_head = w->fifo_count = 0;
	w->fifo_size = n;
	for (uint32_t i = 0; i < n; i++)
		w->frags[i].next = i + 1 < n ? i + 1 : NAT_NONE;
	w->free_frag = capacity ? 0 : NAT_NONE;
	w->frag_pending = NAT_NONE;
	return 0;
}

void nat_frags_free(struct nat_worker *w)
{
	free(w->frags);
	free(w->frag_heads);
	free(w->frag_fifo);
	free(w->frag_src);
}

static uint32_t frag_chain(const struct nat_worker *w, const struct pkt *p)
{
	return nat_mix((uint64_t)p->saddr << 32 | p->daddr,
		       (uint64_t)p->ip_id << 16 | (uint64_t)p->proto << 8 | p->side, w->hash_seed) &
	       w->frag_mask;
}

static bool same_datagram(const struct nat_frag *f, const struct pkt *p)
{
	return f->saddr == p->saddr && f->daddr == p->daddr && f->ip_id == p->ip_id &&
	       f->proto == p->proto && f->side == p->side;
}

static uint32_t frag_find(const struct nat_worker *w, const struct pkt *p)
{
	for (uint32_t i = w->frag_heads[frag_chain(w, p)]; i != NAT_NONE; i = w->frags[i].next)
		if (same_datagram(&w->frags[i], p))
			return i;
	return NAT_NONE;
}

static uint32_t *source_count(struct nat_worker *w, uint32_t saddr, uint8_t side)
{
	return &w->frag_src[nat_mix(saddr, side, w->hash_seed) & w->frag_src_mask];
}

/* Room is guaranteed: held + released never exceed NAT_HOLD_MAX. */
static void release(struct nat_worker *w, struct pkt *p)
{
	w->released[w->n_released++] = p;
}

/* Entry @frag is evicted: the fragments held for it can never be
 * translated. They stay held, orphaned, until the next nat_frags_expire()
 * drops them (FRAG_EVICTED) through the released list. Not at once: a
 * fragment held in the caller's current burst would then come back twice,
 * with a verdict in the burst and again from nat_released() (issue 14,
 * item 1); nat_expire() runs between bursts. */
static void orphan_held(struct nat_worker *w, uint32_t frag)
{
	for (unsigned i = 0; i < w->n_held; i++)
		if (w->held[i].frag == frag)
			w->held[i].frag = NAT_NONE;
}

static void unlink_frag(struct nat_worker *w, uint32_t i)
{
	struct nat_frag *f = &w->frags[i];
	struct pkt probe = {.saddr = f->saddr,
			    .daddr = f->daddr,
			    .ip_id = f->ip_id,
			    .proto = f->proto,
			    .side = f->side};
	uint32_t *at = &w->frag_heads[frag_chain(w, &probe)];

	while (*at != NAT_NONE && *at != i)
		at = &w->frags[*at].next;
	if (*at == i)
		*at = f->next;
	if (!f->have_ports)
		(*source_count(w, f->saddr, f->side))--;
	f->next = w->free_frag;
	w->free_frag = i;
}

/* The table is full: its oldest entry makes room for a new datagram. */
static void evict_oldest(struct nat_worker *w)
{
	uint32_t i = w->frag_fifo[w->fifo_head];

	orphan_held(w, i);
	if (w->frag_pending == i)
		w->frag_pending = NAT_NONE;
	unlink_frag(w, i);
	w->fifo_head = (w->fifo_head + 1) % w->fifo_size;
	w->fifo_count--;
	w->c.frag_entries_evicted++;
}

/* A new entry for @p's datagram, or NAT_NONE with *why. */
static uint32_t frag_new(struct nat_worker *w, const struct pkt *p, enum nat_drop *why)
{
	bool first = p->flags & PKT_F_L4;
	uint32_t i, *head, *waiting = source_count(w, p->saddr, p->side);
	struct nat_frag *f;

	if (!first && *waiting >= w->frag_src_limit) {
		*why = NAT_DROP_FRAG_SOURCE_LIMIT;
		return NAT_NONE;
	}
	if (w->free_frag == NAT_NONE && w->fifo_count)
		evict_oldest(w);
	i = w->free_frag;
	if (i == NAT_NONE) {
		*why = NAT_DROP_FRAG_TABLE_FULL; /* a table of no entries */
		return NAT_NONE;
	}
	if (!first)
		(*waiting)++; /* until its first fragment comes (have_ports) */
	f = &w->frags[i];
	w->free_frag = f->next;
	f->saddr = p->saddr;
	f->daddr = p->daddr;
	f->ip_id = p->ip_id;
	f->proto = p->proto;
	f->side = p->side;
	f->have_ports = first;
	f->expires = w->now + w->timeouts.frag;
	head = &w->frag_heads[frag_chain(w, p)];
	f->next = *head;
	*head = i;
	w->frag_fifo[(w->fifo_head + w->fifo_count++) % w->fifo_size] = i;
	return i;
}

static void take_ports(struct pkt *p, const struct nat_frag *f)
{
	p->sport = f->sport;
	p->dport = f->dport;
	p->flags |= NAT_PF_CACHED_PORTS;
}

/* The first fragment has been translated: now those that waited for it. */
void nat_frags_release(struct nat_worker *w)
{
	uint32_t frag = w->frag_pending;
	unsigned kept = 0;

	w->frag_pending = NAT_NONE;
	for (unsigned i = 0; i < w->n_held; i++) {
		struct nat_held h = w->held[i];
		if (h.frag != frag) {
			w->held[kept++] = h;
			continue;
		}
		take_ports(h.p, &w->frags[frag]);
		nat_translate(w, h.p);
		release(w, h.p);
	}
	w->n_held = kept;
}

int nat_frag_ports(struct nat_worker *w, struct pkt *p)
{
	enum nat_drop why = NAT_DROP_FRAG_TABLE_FULL;
	uint32_t i = frag_find(w, p);

	if (i == NAT_NONE)
		i = frag_new(w, p, &why);
	if (i == NAT_NONE) {
		nat_drop(w, p, why);
		return -1;
	}
	struct nat_frag *f = &w->frags[i];
	if (p->flags & PKT_F_L4) {
		if (!f->have_ports)
			(*source_count(w, f->saddr, f->side))--; /* no longer waiting */
		f->sport = p->sport;
		f->dport = p->dport;
		f->have_ports = 1;
		p->flags |= NAT_PF_CACHED_PORTS;
		w->frag_pending = i;
		return 1;
	}
	if (f->have_ports) {
		take_ports(p, f);
		return 1;
	}
	/* Held and released-but-not-yet-collected share the bound, so that the
	 * released list can never overflow and lose a frame. */
	if (w->n_held + w->n_released >= NAT_HOLD_MAX) {
		nat_drop(w, p, NAT_DROP_FRAG_HOLD_FULL);
		return -1;
	}
	w->held[w->n_held++] = (struct nat_held){p, i, f->expires};
	w->c.frags_held++;
	return 0;
}

void nat_frags_expire(struct nat_worker *w, uint32_t now)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < w->n_held; i++) {
		struct nat_held h = w->held[i];
		bool orphan = h.frag == NAT_NONE;
		if (!orphan && (int32_t)(h.expires - now) > 0) {
			w->held[kept++] = h;
			continue;
		}
		/* Held -> released: the caller owns it again, from nat_released(). */
		nat_drop(w, h.p, orphan ? NAT_DROP_FRAG_EVICTED : NAT_DROP_FRAG_TIMEOUT);
		release(w, h.p);
	}
	w->n_held = kept;
	while (w->fifo_count &&
	       (int32_t)(w->frags[w->frag_fifo[w->fifo_head]].expires - now) <= 0) {
		unlink_frag(w, w->frag_fifo[w->fifo_head]);
		w->fifo_head = (w->fifo_head + 1) % w->fifo_size;
		w->fifo_count--;
	}
}

void nat_frags_retime(struct nat_worker *w, uint32_t old)
{
	uint32_t delta = w->timeouts.frag - old; /* modulo 2^32: may shorten */

	for (uint32_t k = 0; k < w->fifo_count; k++)
		w->frags[w->frag_fifo[(w->fifo_head + k) % w->fifo_size]].expires += delta;
	for (unsigned i = 0; i < w->n_held; i++)
		w->held[i].expires += delta;
}
