/* neigh.h - resolved neighbours, shared: the control thread writes, workers
 * read without waiting.
 *
 * ARP replies reach one queue only (a fanout sends non-IP frames to queue
 * 0), so resolution lives in the control thread (router/arp.c) and what it
 * learns is published here. Each slot has a sequence number, odd while the
 * writer changes it (a seqlock): a reader that sees it odd or changed
 * retries a bounded number of times, then treats the neighbour as unknown
 * and punts the packet to the control thread.
 *
 * Entries carry their publication time. The control thread confirms every
 * neighbour (ARP probes it) and publishes it again well before it is
 * NEIGH_FRESH_MS old. An older entry is STALE, as in the kernel's neighbour
 * table: the workers keep using its MAC (and count it) while the refresh
 * is late, so that nothing the control thread does or fails to do stops
 * established flows. An entry ends only when the control thread replaces
 * it (a new MAC; another neighbour in its slot) or withdraws it (ARP got no
 * answer: RFC 1122 2.3.2.1 neighbour cache validation failed).
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

/* What neigh_lookup() found. */
enum neigh_state {
	NEIGH_NONE = 0, /* unknown (or being rewritten): resolve it first */
	NEIGH_FRESH,	/* published less than NEIGH_FRESH_MS ago */
	NEIGH_STALE,	/* older: still used, its confirmation is late */
};

/* neigh_publish() - control thread only: @ip is at @mac (confirmed at
 * @now_ms); replaces whatever its slot held. */
void neigh_publish(struct neigh_table *t, uint32_t ip, const uint8_t mac[6], uint32_t now_ms);
/* neigh_withdraw() - control thread only: @ip no longer answers; the
 * workers resolve it through the control thread again. */
void neigh_withdraw(struct neigh_table *t, uint32_t ip);
/* neigh_foreach_aging() - control thread: call @visit for every neighbour
 * published at least @age_ms ago (stale ones too), so that it can be
 * confirmed and published again, or withdrawn. */
void neigh_foreach_aging(const struct neigh_table *t, uint32_t now_ms, uint32_t age_ms,
			 void (*visit)(void *ctx, uint32_t ip), void *ctx);
/* neigh_lookup() - any thread: @ip's state, and @mac unless NEIGH_NONE. */
enum neigh_state neigh_lookup(const struct neigh_table *t, uint32_t ip, uint32_t now_ms,
			      uint8_t mac[6]);

#endif
