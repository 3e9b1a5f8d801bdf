/* indir.c - the indirection table: hash low bits -> receive queue. */
#include "rss.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Largest-remainder apportionment: entry counts exactly proportional to the
 * weights, rounding given to the largest remainders (lowest queue on ties). */
static int apportion(unsigned size, unsigned queues, const unsigned *weights, unsigned *counts)
{
	uint64_t total = 0, rem[RSS_QUEUES_MAX];
	unsigned given = 0;

	for (unsigned q = 0; q < queues; q++)
		total += weights ? weights[q] : 1;
	if (total == 0)
		return -EINVAL;
	for (unsigned q = 0; q < queues; q++) {
		uint64_t share = (uint64_t)size * (weights ? weights[q] : 1);
		counts[q] = (unsigned)(share / total);
		rem[q] = share % total;
		given += counts[q];
	}
	while (given < size) {
		unsigned best = 0;
		for (unsigned q = 1; q < queues; q++)
			if (rem[q] > rem[best])
				best = q;
		counts[best]++;
		rem[best] = 0;
		given++;
	}
	return 0;
}

int rss_table_fill(uint16_t *table, unsigned size, unsigned queues, const unsigned *weights)
{
	unsigned counts[RSS_QUEUES_MAX];
	int64_t credit[RSS_QUEUES_MAX] = {0};

	if (!rss_table_size_valid(size) || queues == 0 || queues > RSS_QUEUES_MAX)
		return -EINVAL;
	if (apportion(size, queues, weights, counts))
		return -EINVAL;
	/* Smooth weighted round robin over the counts: interleaves the queues
	 * (plain round robin for equal weights) and hits every count exactly. */
	for (unsigned i = 0; i < size; i++) {
		unsigned best = 0;
		for (unsigned q = 0; q < queues; q++) {
			credit[q] += counts[q];
			if (credit[q] > credit[best])
				best = q;
		}
		credit[best] -= size;
		table[i] = (uint16_t)best;
	}
	return 0;
}

int rss_weights_parse(const char *text, unsigned long max, unsigned weights[RSS_QUEUES_MAX])
{
	unsigned n = 0;

	memset(weights, 0, RSS_QUEUES_MAX * sizeof(*weights));
	for (const char *p = text; *p;) {
		unsigned long w = 0;
		const char *start = p;
		while (*p >= '0' && *p <= '9' && w <= max)
			w = w * 10 + (unsigned long)(*p++ - '0');
		if (p == start || w > max || n == RSS_QUEUES_MAX || (*p && *p != ','))
			return -EINVAL;
		weights[n++] = (unsigned)w;
		if (*p == ',' && !*++p)
			return -EINVAL; /* a trailing comma */
	}
	return n ? (int)n : -EINVAL;
}
