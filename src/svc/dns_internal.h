/* dns_internal.h - what dns_proxy.c and dns_cache.c share (and the unit
 * tests and fuzzer reach): the answer cache.
 *
 * The cache holds whole answers (header to last record, no OPT record, TTLs
 * as received but capped), keyed by (lower-cased question name, type,
 * class). Entries live in a fixed array found through a chained hash table
 * with a random seed; their bytes live in fixed 256-byte chunks chained per
 * entry, so the byte budget is exact and nothing is allocated after
 * dns_cache_create(). A lookup moves the entry to the front of an LRU list;
 * an insert that finds no free entry or not enough chunks evicts from its
 * tail. Expired entries go when looked up or swept (dns_cache_sweep()).
 * Time is monotonic milliseconds from the caller.
 */
#ifndef RSSNAT_DNS_INTERNAL_H
#define RSSNAT_DNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dns_cache;
struct dns_counters;

struct dns_key {
	const uint8_t *name; /* wire form, lower-cased */
	size_t name_len;
	uint16_t qtype, qclass;
};

/* dns_cache_create() - room for @entries answers of @bytes in all; one
 * answer may take at most a quarter of @bytes. Counters (cache_*) are
 * kept in @cnt, which must outlive the cache. Returns 0, -EINVAL (0
 * entries or under 4 chunks) or -ENOMEM. */
int dns_cache_create(unsigned entries, size_t bytes, uint64_t seed, struct dns_counters *cnt,
		     struct dns_cache **out);
void dns_cache_destroy(struct dns_cache *c);

/* dns_cache_insert() - store the answer @msg (@len bytes) under @k, valid
 * @ttl seconds from @now_ms, replacing what @k held. Evicts LRU entries
 * for room. Returns false when @len is over the per-entry limit (counted
 * in cache_too_big) or @ttl is 0. */
bool dns_cache_insert(struct dns_cache *c, const struct dns_key *k, const uint8_t *msg, size_t len,
		      uint32_t ttl, bool negative, uint64_t now_ms);

/* dns_cache_lookup() - copy the answer under @k into @buf (@cap bytes) if
 * it has not expired at @now_ms, make it most recently used, and set *age
 * to the whole seconds it has been stored. Returns its length, or 0 (miss,
 * expired: removed, or @cap too small). Counts no hit or miss: the caller
 * does. */
size_t dns_cache_lookup(struct dns_cache *c, const struct dns_key *k, uint64_t now_ms, uint8_t *buf,
			size_t cap, uint32_t *age);

/* dns_cache_sweep() - remove expired entries, looking at @budget entries
 * from where the last sweep stopped. */
void dns_cache_sweep(struct dns_cache *c, uint64_t now_ms, unsigned budget);

/* One live entry, for `rssnat show dns`. */
struct dns_cache_info {
	const uint8_t *name;
	size_t name_len;
	uint16_t qtype, qclass;
	uint32_t ttl_left; /* seconds */
	bool negative;
	size_t len;
};

/* dns_cache_foreach() - call @fn for every entry not expired at @now_ms,
 * most recently used first. */
void dns_cache_foreach(const struct dns_cache *c, uint64_t now_ms,
		       void (*fn)(void *ctx, const struct dns_cache_info *e), void *ctx);

#endif
