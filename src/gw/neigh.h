/* neigh.h - resolved neighbours, shared: the control thread writes, workers
 * read without waiting.
 *
 * ARP replies reach one queue only (a fanout sends non-IP frames to queue
 * 0), so resolution lives in the control thread (svc/arp.c) and what it
 * learns is published here. Each slot has a sequence number, odd while the
 * writer changes it (a seqlock): a reader that sees it odd or changed
 * retries a bounded number of times, then treats the neighbour as unknown
 * and punts the packet to the control thread. Entries carry their
 * publication time; workers ignore old ones, so the control thread re-checks
 * every neighbour at least once per NEIGH_FRESH_MS of use.
 */
#ifndef RSSNAT_NEIGH_H
#define RSSNAT_NEIGH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum {
	NEIGH_SLOTS = 1024, /* per side; a power of two */
	NEIGH_FRESH_MS = 20000,
};

struct neigh_slot {
	_Atomic uint32_t seq;
	_Atomic uint32_t ip; /* network byte order; 0: empty */
	_Atomic uint32_t mac_hi;
	_Atomic uint16_t mac_lo;
	_Atomic uint32_t when_ms;
};

struct neigh_table {
	struct neigh_slot slot[NEIGH_SLOTS];
};

/* neigh_publish() - control thread only. */
void neigh_publish(struct neigh_table *t, uint32_t ip, const uint8_t mac[6], uint32_t now_ms);
/* neigh_foreach_aging() - control thread: call @visit for every neighbour
 * published at least @age_ms ago and still fresh, so that it can be
 * confirmed (and published again) before the workers stop trusting it. */
void neigh_foreach_aging(const struct neigh_table *t, uint32_t now_ms, uint32_t age_ms,
			 void (*visit)(void *ctx, uint32_t ip), void *ctx);
/* neigh_lookup() - any thread: true and @mac when @ip was published less
 * than NEIGH_FRESH_MS ago. */
bool neigh_lookup(const struct neigh_table *t, uint32_t ip, uint32_t now_ms, uint8_t mac[6]);

#endif
