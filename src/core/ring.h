/* ring.h - single-producer single-consumer ring of pointers, lock-free.
 *
 * Workers talk only through these (handoff between workers, punt to and
 * inject from the slow path). One producer thread, one consumer thread; the
 * producer owns `head`, the consumer owns `tail`, each publishes with a
 * release store and reads the other's with an acquire load (the classic
 * Lamport queue with C11 atomics). Capacity is a power of two fixed at
 * creation; a full ring is the caller's counted drop, never a wait.
 */
#ifndef RSSNAT_RING_H
#define RSSNAT_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

struct ring {
	alignas(64) _Atomic uint32_t head; /* next slot to write; producer only */
	alignas(64) _Atomic uint32_t tail; /* next slot to read; consumer only */
	alignas(64) uint32_t mask;
	void **slots;
};

/* ring_init() - @slots has @size (a power of two) entries, owned by the caller. */
static inline void ring_init(struct ring *r, void **slots, uint32_t size)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->mask = size - 1;
	r->slots = slots;
}

/* ring_push() - producer: enqueue up to @n; returns how many fit. */
static inline unsigned ring_push(struct ring *r, void *const *objs, unsigned n)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t space = r->mask + 1 - (head - tail);

	if (n > space)
		n = space;
	for (unsigned i = 0; i < n; i++)
		r->slots[(head + i) & r->mask] = objs[i];
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

/* ring_pop() - consumer: dequeue up to @n; returns how many. */
static inline unsigned ring_pop(struct ring *r, void **objs, unsigned n)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t avail = head - tail;

	if (n > avail)
		n = avail;
	for (unsigned i = 0; i < n; i++)
		objs[i] = r->slots[(tail + i) & r->mask];
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
	return n;
}

static inline uint32_t ring_count(struct ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

#endif
