/* ratelimit.c - a global token bucket and a fixed table of per-key ones,
 * each kept as its theoretical arrival time (see ratelimit.h). */
#include "ratelimit.h"
#include "bits.h"

#include <errno.h>
#include <string.h>

enum {
	SETS = RATELIMIT_SLOTS / RATELIMIT_WAYS,
	CLOCK_BACK = 1u << 31, /* a step this large is the clock going back */
};

_Static_assert((SETS & (SETS - 1)) == 0, "the set index is a mask");

static const uint64_t NS_PER_MS = 1000000, NS_PER_S = 1000000000;

void ratelimit_config_icmp(struct ratelimit_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->per_sec = 1000;
	cfg->burst = 50;
	cfg->key_interval_ms = 1000;
	cfg->key_burst = 6;
	cfg->shares = 1;
}

int ratelimit_check(const struct ratelimit_config *cfg, const char **why)
{
	if (cfg->per_sec > RATELIMIT_RATE_MAX)
		*why = "more than 1000000 messages per second";
	else if (cfg->key_interval_ms > RATELIMIT_INTERVAL_MAX_MS)
		*why = "a per-destination interval above 3600000 ms";
	else if (!cfg->burst || !cfg->key_burst)
		*why = "a burst of 0";
	else if (!cfg->shares)
		*why = "shared by no instance";
	else
		return 0;
	return -EINVAL;
}

void ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg, uint32_t now_ms)
{
	/* Each share gets its part of the burst, at least one message. */
	uint32_t burst = cfg->burst / cfg->shares ? cfg->burst / cfg->shares : 1;

	memset(rl, 0, sizeof(*rl));
	rl->last_ms = now_ms;
	rl->seed = cfg->seed;
	if (cfg->per_sec) {
		rl->g_period = NS_PER_S * cfg->shares / cfg->per_sec;
		rl->g_slack = (burst - 1) * rl->g_period;
	}
	rl->k_period = cfg->key_interval_ms * NS_PER_MS;
	rl->k_slack = (cfg->key_burst - 1) * rl->k_period;
}

void ratelimit_advance(struct ratelimit *rl, uint32_t now_ms)
{
	uint32_t step = now_ms - rl->last_ms; /* modulo 2^32: a wrap is a step */

	if (step < CLOCK_BACK)
		rl->now_ns += step * NS_PER_MS;
	rl->last_ms = now_ms;
}

/* @key's slot: its own, or the one of its set with the oldest tat, taken
 * over with a full bucket. */
static struct ratelimit_slot *key_slot(struct ratelimit *rl, uint32_t key)
{
	struct ratelimit_slot *set, *oldest;

	set = &rl->slot[(bits_fmix64(key ^ rl->seed) & (SETS - 1)) * RATELIMIT_WAYS];
	oldest = set;
	for (unsigned i = 0; i < RATELIMIT_WAYS; i++) {
		if (set[i].key == key)
			return &set[i];
		if (set[i].tat < oldest->tat)
			oldest = &set[i];
	}
	if (oldest->tat > rl->now_ns)
		rl->c.dests_evicted++; /* still limited: a flood of keys, or a full set */
	oldest->key = key;
	oldest->tat = 0;
	return oldest;
}

static bool conforms(uint64_t tat, uint64_t now, uint64_t slack)
{
	return tat <= now + slack;
}

static uint64_t next_tat(uint64_t tat, uint64_t now, uint64_t period)
{
	return (tat > now ? tat : now) + period;
}

bool ratelimit_allow(struct ratelimit *rl, uint32_t key)
{
	struct ratelimit_slot *s = NULL;
	uint64_t now = rl->now_ns;

	if (rl->k_period) {
		s = key_slot(rl, key);
		if (!conforms(s->tat, now, rl->k_slack)) {
			rl->c.refused_dest++;
			return false;
		}
	}
	if (!rl->g_period || !conforms(rl->g_tat, now, rl->g_slack)) {
		rl->c.refused_global++;
		return false;
	}
	rl->g_tat = next_tat(rl->g_tat, now, rl->g_period);
	if (s)
		s->tat = next_tat(s->tat, now, rl->k_period);
	rl->c.allowed++;
	return true;
}
