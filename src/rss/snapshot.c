/* snapshot.c - one immutable, versioned RSS configuration for every reader.
 *
 * The NIC (or our eBPF fanout program, or the simulator's dispatcher) and the
 * NAT's port choice must agree on key, field sets and table, or replies land
 * on the wrong core. So they all read the same snapshot, and a change is a
 * new snapshot, never an edit of a live one.
 */
#include "rss.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rss_config_default(struct rss_config *cfg, unsigned queues)
{
	memset(cfg, 0, sizeof(*cfg));
	rss_key_microsoft(&cfg->key);
	cfg->table_size = RSS_TABLE_DEFAULT;
	cfg->queues = queues;
	cfg->fields_lan = RSS_F_4TUPLE;
	cfg->fields_wan = RSS_F_4TUPLE;
	cfg->enabled = true;
}

static bool weights_given(const struct rss_config *cfg)
{
	for (unsigned q = 0; q < RSS_QUEUES_MAX; q++)
		if (cfg->weights[q])
			return true;
	return false;
}

static int check_explicit_table(const struct rss_config *cfg, const char **why)
{
	if (weights_given(cfg)) {
		*why = "a table given entry by entry takes no weights";
		return -EINVAL;
	}
	for (unsigned b = 0; b < cfg->table_size; b++)
		if (cfg->table[b] >= cfg->queues) {
			*why = "the table names a queue beyond the queue count";
			return -EINVAL;
		}
	return 0;
}

int rss_config_check(const struct rss_config *cfg, const char **why)
{
	if (cfg->key.len < RSS_KEY_LEN_MIN || cfg->key.len > RSS_KEY_LEN_MAX) {
		*why = "key must be 40 to 52 bytes";
		return -EINVAL;
	}
	if (!rss_table_size_valid(cfg->table_size)) {
		*why = "table size must be a power of two from 1 to 512";
		return -EINVAL;
	}
	if (cfg->queues < 1 || cfg->queues > RSS_QUEUES_MAX) {
		*why = "queues must be from 1 to 64";
		return -EINVAL;
	}
	if (weights_given(cfg)) {
		unsigned live = 0;
		for (unsigned q = cfg->queues; q < RSS_QUEUES_MAX; q++)
			if (cfg->weights[q]) {
				*why = "a weight is given for a queue beyond the queue count";
				return -EINVAL;
			}
		for (unsigned q = 0; q < cfg->queues; q++)
			live += cfg->weights[q] != 0;
		if (!live) {
			*why = "all weights are zero";
			return -EINVAL;
		}
	}
	if (!cfg->fields_lan || (cfg->fields_lan & ~(unsigned)RSS_F_4TUPLE) || !cfg->fields_wan ||
	    (cfg->fields_wan & ~(unsigned)RSS_F_4TUPLE)) {
		*why = "field sets must be non-empty subsets of sdfn";
		return -EINVAL;
	}
	return cfg->explicit_table ? check_explicit_table(cfg, why) : 0;
}

int rss_snapshot_create(const struct rss_config *cfg, uint64_t version, struct rss_snapshot **out,
			const char **why)
{
	struct rss_snapshot *s;
	int err = rss_config_check(cfg, why);

	if (err)
		return err;
	s = aligned_alloc(64, (sizeof(*s) + 63) / 64 * 64);
	if (!s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->version = version;
	s->config = *cfg;
	s->bucket_mask = cfg->table_size - 1;
	rss_hasher_init(&s->hasher, &cfg->key, -1);
	/* Disabled RSS is the same table with every bucket on queue 0, so that
	 * turning it off and on moves buckets, never rehashes sessions. */
	if (cfg->enabled && cfg->explicit_table)
		memcpy(s->table, cfg->table, cfg->table_size * sizeof(s->table[0]));
	else if (cfg->enabled)
		rss_table_fill(s->table, cfg->table_size, cfg->queues,
			       weights_given(cfg) ? cfg->weights : NULL);
	*out = s;
	return 0;
}

void rss_snapshot_destroy(struct rss_snapshot *snap)
{
	free(snap);
}
