/* neigh.c - the shared table of resolved neighbours (see neigh.h). */
#include "neigh.h"

static uint32_t slot_of(uint32_t ip)
{
	uint32_t h = ip * 0x9e3779b1u;

	return (h ^ (h >> 16)) & (NEIGH_SLOTS - 1);
}

/* The seqlock's write side (one writer: the control thread): the slot's
 * sequence is odd while its fields change. */
static uint32_t write_begin(struct neigh_slot *s)
{
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return seq;
}

static void write_end(struct neigh_slot *s, uint32_t seq)
{
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* Direct-mapped: a new neighbour takes its slot; the one it displaces is
 * simply resolved again (through the control thread) when next used. */
void neigh_publish(struct neigh_table *t, uint32_t ip, const uint8_t mac[6], uint32_t now_ms)
{
	struct neigh_slot *s = &t->slot[slot_of(ip)];
	uint32_t seq = write_begin(s);

	atomic_store_explicit(&s->ip, ip, memory_order_relaxed);
	atomic_store_explicit(&s->mac_hi,
			      (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 |
				  (uint32_t)mac[2] << 8 | mac[3],
			      memory_order_relaxed);
	atomic_store_explicit(&s->mac_lo, (uint16_t)(mac[4] << 8 | mac[5]), memory_order_relaxed);
	atomic_store_explicit(&s->when_ms, now_ms, memory_order_relaxed);
	write_end(s, seq);
}

void neigh_withdraw(struct neigh_table *t, uint32_t ip)
{
	struct neigh_slot *s = &t->slot[slot_of(ip)];
	uint32_t seq;

	if (atomic_load_explicit(&s->ip, memory_order_relaxed) != ip)
		return; /* another neighbour's slot by now */
	seq = write_begin(s);
	atomic_store_explicit(&s->ip, 0, memory_order_relaxed);
	write_end(s, seq);
}

enum neigh_state neigh_lookup(const struct neigh_table *t, uint32_t ip, uint32_t now_ms,
			      uint8_t mac[6])
{
	const struct neigh_slot *s = &t->slot[slot_of(ip)];

	for (int tries = 0; tries < 4; tries++) {
		uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq & 1)
			continue;
		uint32_t got = atomic_load_explicit(&s->ip, memory_order_relaxed);
		uint32_t hi = atomic_load_explicit(&s->mac_hi, memory_order_relaxed);
		uint16_t lo = atomic_load_explicit(&s->mac_lo, memory_order_relaxed);
		uint32_t when = atomic_load_explicit(&s->when_ms, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
			continue;
		if (got != ip || !ip)
			return NEIGH_NONE;
		mac[0] = (uint8_t)(hi >> 24);
		mac[1] = (uint8_t)(hi >> 16);
		mac[2] = (uint8_t)(hi >> 8);
		mac[3] = (uint8_t)hi;
		mac[4] = (uint8_t)(lo >> 8);
		mac[5] = (uint8_t)lo;
		/* signed: a worker's clock may trail the publisher's a little */
		return (int32_t)(now_ms - when) < NEIGH_FRESH_MS ? NEIGH_FRESH : NEIGH_STALE;
	}
	return NEIGH_NONE;
}

void neigh_foreach_aging(const struct neigh_table *t, uint32_t now_ms, uint32_t age_ms,
			 void (*visit)(void *ctx, uint32_t ip), void *ctx)
{
	for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
		const struct neigh_slot *s = &t->slot[i];
		uint32_t ip = atomic_load_explicit(&s->ip, memory_order_relaxed);
		uint32_t age = now_ms - atomic_load_explicit(&s->when_ms, memory_order_relaxed);
		if (ip && age >= age_ms)
			visit(ctx, ip);
	}
}
