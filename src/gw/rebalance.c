/* rebalance.c - `rssnat set rss rebalance=on`: move indirection-table
 * buckets between queues by the load they bring, in the spirit of RSS++
 * (Barbette et al., CoNEXT 2019).
 *
 * Every GW_REBALANCE_MS the control thread reads the frames each bucket
 * received on both ports (the afpacket backend's eBPF fanout counts them
 * per bucket) and computes each queue's load under the current table. If
 * the busiest queue carries more than GW_REBALANCE_SLACK percent above the
 * mean, buckets move greedily from the busiest to the idlest queue: each
 * time the heaviest bucket that still narrows the gap (its load below the
 * difference), at most a quarter of the table per round. The result is an
 * explicit table committed like any `set rss` (live.c): the NAT moves the
 * sessions of every moved bucket to its new worker, so nothing is lost.
 *
 * Backends that cannot count per bucket (afxdp: the NIC hashes) refuse
 * `rebalance=on`. With RSS disabled there is nothing to balance.
 */
#include "gw_internal.h"

#include <stdio.h>
#include <string.h>

#include "../io/io.h"
#include "../nat/nat.h"

enum {
	GW_REBALANCE_MS = 2000,
	GW_REBALANCE_SLACK = 10,	/* percent above the mean that is tolerated */
	GW_REBALANCE_MIN_FRAMES = 2000, /* in an interval: below that, no decision */
};

bool gw_rebalance_possible(const struct gw *gw)
{
	return gw->io->bucket_frames != NULL;
}

/* Frames per bucket since the last call (both ports), into @load. */
static bool measure(struct gw *gw, uint64_t *load, unsigned size)
{
	uint64_t now[2][RSS_TABLE_MAX];
	bool fresh = gw->rebalance_size != size;

	for (int side = 0; side < 2; side++)
		if (gw->io->bucket_frames(gw->port[side], now[side], size))
			return false;
	for (unsigned b = 0; b < size; b++) {
		uint64_t total = now[0][b] + now[1][b];
		load[b] = total - gw->rebalance_last[b];
		gw->rebalance_last[b] = total;
	}
	gw->rebalance_size = size;
	return !fresh; /* after a table size change the first reading is a baseline */
}

static unsigned extreme(const uint64_t *q_load, unsigned queues, bool busiest)
{
	unsigned pick = 0;

	for (unsigned q = 1; q < queues; q++)
		if (busiest ? q_load[q] > q_load[pick] : q_load[q] < q_load[pick])
			pick = q;
	return pick;
}

/* Greedy moves on @table; returns how many buckets moved. */
static unsigned balance(uint16_t *table, unsigned size, unsigned queues, const uint64_t *load,
			uint64_t *q_load)
{
	uint64_t total = 0;
	unsigned moves = 0;

	memset(q_load, 0, queues * sizeof(*q_load));
	for (unsigned b = 0; b < size; b++) {
		q_load[table[b]] += load[b];
		total += load[b];
	}
	while (moves < size / 4) {
		unsigned hi = extreme(q_load, queues, true), lo = extreme(q_load, queues, false);
		uint64_t gap = q_load[hi] - q_load[lo], best_load = 0;
		int best = -1;
		if (q_load[hi] * queues * 100 <= total * (100 + GW_REBALANCE_SLACK))
			break;
		for (unsigned b = 0; b < size; b++)
			if (table[b] == hi && load[b] > best_load && load[b] < gap) {
				best = (int)b;
				best_load = load[b];
			}
		if (best < 0)
			break;
		table[best] = (uint16_t)lo;
		q_load[hi] -= best_load;
		q_load[lo] += best_load;
		moves++;
	}
	return moves;
}

void gw_rebalance_tick(struct gw *gw, uint32_t now)
{
	uint64_t load[RSS_TABLE_MAX], total = 0, q_load[RSS_QUEUES_MAX];
	struct rss_config next = gw->rss_cfg;
	unsigned size = next.table_size, moved;
	char note[200];
	const char *why = "";

	if (!gw->rebalance || now - gw->rebalance_ms < GW_REBALANCE_MS)
		return;
	gw->rebalance_ms = now;
	/* The previous move first: gw_rss_commit() would wait for it here, in
	 * the control thread, and nothing the control thread does may wait. */
	if (!nat_migration_done(gw->nat))
		return;
	if (!measure(gw, load, size) || !next.enabled || next.queues < 2)
		return;
	for (unsigned b = 0; b < size; b++)
		total += load[b];
	if (total < GW_REBALANCE_MIN_FRAMES)
		return;
	memcpy(next.table, gw->snap->table, size * sizeof(next.table[0]));
	if (!(moved = balance(next.table, size, next.queues, load, q_load)))
		return;
	next.explicit_table = true;
	memset(next.weights, 0, sizeof(next.weights));
	if (gw_rss_commit(gw, &next, note, sizeof(note), &why)) {
		fprintf(stderr, "rssnat: rebalance: %s\n", why);
		return;
	}
	gw->rebalances++;
	gw->table_origin = "rebalanced by measured load";
	fprintf(stderr, "rssnat: rebalance: %u buckets moved (%llu frames in %u ms)\n", moved,
		(unsigned long long)total, (unsigned)GW_REBALANCE_MS);
}
