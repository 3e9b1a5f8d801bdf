/* ratelimit.h - how many messages of one kind a thread may send: a global
 * token bucket and one per key (a destination address) in a fixed table.
 * The gateway asks it before every ICMP error it generates (RFC 1812
 * 4.3.2.8), so that a flood of packets that each earn an error (TTL 1,
 * exhaustion, DF above the MTU) earns a bounded number of them.
 *
 * Theory of operation
 * -------------------
 * A bucket of @burst tokens refilled at one token per interval is kept as
 * one number, its "theoretical arrival time" (GCRA, ITU-T I.371; the same
 * decisions as the token bucket): a message is allowed while tat <= now +
 * (burst - 1) * interval, and then tat = max(tat, now) + interval. A tat
 * in the past is a full bucket, so a key whose tat has passed needs no
 * slot at all.
 *
 * Keys live in RATELIMIT_SLOTS slots, RATELIMIT_WAYS to a set, the set
 * chosen by a seeded hash of the key. A key not in its set takes the slot
 * whose tat is the oldest: one that has passed (an idle or free slot),
 * else the least limited live one (counted dests_evicted: a flood of
 * distinct keys can give each a fresh bucket, but never more than the
 * global bucket allows). A message must pass both buckets; a refused one
 * takes no token from either.
 *
 * One instance per thread (each worker has its own): no locks, no
 * allocation (the table is part of the struct). The global rate is
 * shared among the @shares instances that together must respect it (one
 * per worker), each getting 1/shares of the rate and of the burst, so the
 * sum over all workers is the configured rate. The per-key limit is per
 * instance: a destination whose packets are spread over N workers may get
 * up to N times its rate, still within the global one.
 *
 * Time is the owner's: ratelimit_advance() once per round with the
 * thread's millisecond clock (a 32-bit clock that wraps is fine, as long
 * as it is advanced at least once every 49 days).
 */
#ifndef RSSNAT_RATELIMIT_H
#define RSSNAT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

enum {
	RATELIMIT_SLOTS = 1024, /* keys remembered per instance (16 KiB) */
	RATELIMIT_WAYS = 8,	/* slots searched per key: one set */
	RATELIMIT_RATE_MAX = 1000000,
	RATELIMIT_INTERVAL_MAX_MS = 3600000,
};

struct ratelimit_config {
	uint32_t per_sec;	  /* all keys together; 0: refuse everything */
	uint32_t burst;		  /* of the global bucket, >= 1 */
	uint32_t key_interval_ms; /* one message per key per interval; 0: no per-key limit */
	uint32_t key_burst;	  /* of each key's bucket, >= 1 */
	uint32_t shares;	  /* instances that share per_sec and burst, >= 1 */
	uint64_t seed;		  /* of the set hash: a flood cannot aim at one set */
};

/* What became of the messages asked about (plain integers, owner only). */
#define RATELIMIT_COUNTERS(X)                                                                      \
	X(allowed, "messages allowed")                                                             \
	X(refused_dest, "refused: the destination's own limit")                                    \
	X(refused_global, "refused: the limit for all destinations")                               \
	X(dests_evicted, "destinations forgotten while still limited, for a new one")

struct ratelimit_counters {
#define RATELIMIT_COUNTER_FIELD(name, text) uint64_t name;
	RATELIMIT_COUNTERS(RATELIMIT_COUNTER_FIELD)
#undef RATELIMIT_COUNTER_FIELD
};

struct ratelimit_slot {
	uint32_t key;
	uint64_t tat; /* ns on the instance's clock; a past one is a full bucket */
};

struct ratelimit {
	uint64_t now_ns;   /* the owner's clock, extended to 64 bits */
	uint32_t last_ms;  /* the owner's clock as last given */
	uint64_t g_tat;	   /* the global bucket */
	uint64_t g_period; /* ns per token; 0: refuse everything */
	uint64_t g_slack;  /* (burst - 1) * g_period */
	uint64_t k_period; /* 0: no per-key limit */
	uint64_t k_slack;
	uint64_t seed;
	struct ratelimit_counters c;
	struct ratelimit_slot slot[RATELIMIT_SLOTS];
};

/* ratelimit_config_icmp() - the ICMP error defaults, as Linux's: 1000 per
 * second in all with a burst of 50 (net.ipv4.icmp_msgs_per_sec and
 * icmp_msgs_burst), one per destination per 1000 ms with a burst of 6
 * (net.ipv4.icmp_ratelimit, XRLIM_BURST_FACTOR); one share, seed 0. */
void ratelimit_config_icmp(struct ratelimit_config *cfg);

/* ratelimit_check() - 0, or -EINVAL with a one-line reason in *why: rates
 * above RATELIMIT_RATE_MAX, intervals above RATELIMIT_INTERVAL_MAX_MS, a
 * zero burst or share. */
int ratelimit_check(const struct ratelimit_config *cfg, const char **why);

/* ratelimit_init() - @rl empty (every bucket full, counters 0) under a
 * valid @cfg, its clock at @now_ms. */
void ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg, uint32_t now_ms);

/* ratelimit_advance() - the owner's clock reads @now_ms (once per round;
 * a clock that went back is taken as not moved). */
void ratelimit_advance(struct ratelimit *rl, uint32_t now_ms);

/* ratelimit_allow() - may one more message go to @key now? true takes a
 * token from both buckets; false takes none and counts which refused. */
bool ratelimit_allow(struct ratelimit *rl, uint32_t key);

#endif
