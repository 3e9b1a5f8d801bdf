/* frag.c - shallow virtual reassembly of IPv4 fragments (RFC 4787 REQ-14).
 *
 * Only the first fragment carries the ports, yet every fragment must be
 * translated with them. Per datagram (side, source, destination, protocol,
 * IP id) we remember the first fragment's ports; later fragments take them
 * from there. A later fragment that arrives before its first one is held
 * (up to NAT_HOLD_MAX per worker) and released, translated, when the first
 * comes; if it never does, it is dropped after the fragment timeout. Entries
 * die in creation order, and all share one timeout, so a FIFO of entries is
 * their timer: no scans. (Right after nat_set_timeouts() shortens it, a new
 * entry may wait behind older ones: it lives at most the old timeout.)
 */
#include <stdlib.h>
#include <string.h>

#include "nat_internal.h"

int nat_frags_init(struct nat_worker *w, uint32_t capacity)
{
	uint32_t heads = 1, n = capacity ? capacity : 1;

	while (heads < n)
		heads <<= 1;
	w->frags = calloc(n, sizeof(*w->frags));
	w->frag_heads = malloc(heads * sizeof(uint32_t));
	w->frag_fifo = malloc(n * sizeof(uint32_t));
	if (!w->frags || !w->frag_heads || !w->frag_fifo)
		return -1;
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

static uint32_t frag_new(struct nat_worker *w, const struct pkt *p)
{
	uint32_t i = w->free_frag, *head;
	struct nat_frag *f;

	if (i == NAT_NONE)
		return NAT_NONE;
	f = &w->frags[i];
	w->free_frag = f->next;
	f->saddr = p->saddr;
	f->daddr = p->daddr;
	f->ip_id = p->ip_id;
	f->proto = p->proto;
	f->side = p->side;
	f->have_ports = 0;
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

/* Room is guaranteed: held + released never exceed NAT_HOLD_MAX. */
static void release(struct nat_worker *w, struct pkt *p)
{
	w->released[w->n_released++] = p;
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
	uint32_t i = frag_find(w, p);

	if (i == NAT_NONE)
		i = frag_new(w, p);
	if (i == NAT_NONE) {
		nat_drop(w, p, NAT_DROP_FRAG_TABLE_FULL);
		return -1;
	}
	struct nat_frag *f = &w->frags[i];
	if (p->flags & PKT_F_L4) {
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
	f->next = w->free_frag;
	w->free_frag = i;
}

void nat_frags_expire(struct nat_worker *w, uint32_t now)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < w->n_held; i++) {
		struct nat_held h = w->held[i];
		if ((int32_t)(h.expires - now) > 0) {
			w->held[kept++] = h;
			continue;
		}
		nat_drop(w, h.p, NAT_DROP_FRAG_TIMEOUT);
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
