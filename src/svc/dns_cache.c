/* dns_cache.c - the DNS proxy's answer cache: fixed entries, a seeded
 * chained hash, an LRU list, answer bytes in fixed chunks (layout and
 * rules in dns_internal.h). One thread; nothing allocated after create.
 */
#include "dns_internal.h"
#include "dns_msg.h"
#include "dns_proxy.h"
#include "../core/bits.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

enum {
	CHUNK = 256,
	ENTRIES_MAX = 1 << 20,
	CHUNKS_MIN = 4,
};

struct entry {
	uint32_t hnext;	     /* hash chain */
	uint32_t prev, next; /* LRU list; next is the free list when unused */
	uint32_t chunk;	     /* first chunk of the answer */
	uint32_t hash;
	uint16_t len;
	uint16_t qtype, qclass;
	uint8_t name_len;
	bool used, negative;
	uint64_t stored_ms, expires_ms;
	uint8_t name[DNS_NAME_MAX];
};

struct dns_cache {
	struct dns_counters *cnt;
	struct entry *e;
	uint32_t n_entries;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t free_entry;
	uint32_t head, tail; /* most and least recently used */
	uint8_t *data;	     /* n_chunks * CHUNK */
	uint32_t *chunk_next;
	uint32_t n_chunks, free_chunk, free_chunks;
	size_t entry_max; /* bytes one answer may take */
	uint64_t seed;
	uint32_t sweep_at;
};

int dns_cache_create(unsigned entries, size_t bytes, uint64_t seed, struct dns_counters *cnt,
		     struct dns_cache **out)
{
	struct dns_cache *c;
	uint32_t nb = 1;

	if (!entries || entries > ENTRIES_MAX || bytes / CHUNK < CHUNKS_MIN ||
	    bytes / CHUNK > UINT32_MAX / 2)
		return -EINVAL;
	while (nb < entries)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cnt = cnt;
	c->seed = seed;
	c->n_entries = entries;
	c->n_chunks = (uint32_t)(bytes / CHUNK);
	c->mask = nb - 1;
	c->e = calloc(entries, sizeof(*c->e));
	c->buckets = malloc(nb * sizeof(*c->buckets));
	c->data = malloc((size_t)c->n_chunks * CHUNK);
	c->chunk_next = malloc(c->n_chunks * sizeof(*c->chunk_next));
	if (!c->e || !c->buckets || !c->data || !c->chunk_next) {
		dns_cache_destroy(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nb; i++)
		c->buckets[i] = NIL;
	for (uint32_t i = 0; i < entries; i++)
		c->e[i].next = i + 1 < entries ? i + 1 : NIL;
	for (uint32_t i = 0; i < c->n_chunks; i++)
		c->chunk_next[i] = i + 1 < c->n_chunks ? i + 1 : NIL;
	c->free_entry = 0;
	c->free_chunk = 0;
	c->free_chunks = c->n_chunks;
	c->head = c->tail = NIL;
	c->entry_max = (size_t)c->n_chunks * CHUNK / 4;
	if (c->entry_max > DNS_MSG_MAX)
		c->entry_max = DNS_MSG_MAX;
	*out = c;
	return 0;
}

void dns_cache_destroy(struct dns_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->buckets);
	free(c->data);
	free(c->chunk_next);
	free(c);
}

/* FNV-1a from a secret basis, then a 64-bit finalizer: LAN clients choose
 * the names, so the chains must not be predictable. */
static uint32_t hash_key(const struct dns_cache *c, const struct dns_key *k)
{
	uint64_t h = c->seed ^ 0xcbf29ce484222325ull;

	for (size_t i = 0; i < k->name_len; i++)
		h = (h ^ k->name[i]) * 0x100000001b3ull;
	h ^= (uint64_t)k->qtype << 16 | k->qclass;
	return (uint32_t)bits_fmix64(h);
}

static uint32_t find(const struct dns_cache *c, const struct dns_key *k, uint32_t h)
{
	for (uint32_t i = c->buckets[h & c->mask]; i != NIL; i = c->e[i].hnext) {
		const struct entry *e = &c->e[i];

		if (e->hash == h && e->qtype == k->qtype && e->qclass == k->qclass &&
		    e->name_len == k->name_len && !memcmp(e->name, k->name, k->name_len))
			return i;
	}
	return NIL;
}

static void lru_unlink(struct dns_cache *c, uint32_t i)
{
	struct entry *e = &c->e[i];

	if (e->prev != NIL)
		c->e[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next != NIL)
		c->e[e->next].prev = e->prev;
	else
		c->tail = e->prev;
}

static void lru_push_front(struct dns_cache *c, uint32_t i)
{
	struct entry *e = &c->e[i];

	e->prev = NIL;
	e->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = i;
	else
		c->tail = i;
	c->head = i;
}

static void remove_entry(struct dns_cache *c, uint32_t i)
{
	struct entry *e = &c->e[i];
	uint32_t *at = &c->buckets[e->hash & c->mask];
	uint32_t ch = e->chunk;

	while (*at != i)
		at = &c->e[*at].hnext;
	*at = e->hnext;
	lru_unlink(c, i);
	while (ch != NIL) {
		uint32_t next = c->chunk_next[ch];

		c->chunk_next[ch] = c->free_chunk;
		c->free_chunk = ch;
		c->free_chunks++;
		ch = next;
	}
	c->cnt->cache_entries--;
	c->cnt->cache_bytes -= e->len;
	e->used = false;
	e->next = c->free_entry;
	c->free_entry = i;
}

bool dns_cache_insert(struct dns_cache *c, const struct dns_key *k, const uint8_t *msg, size_t len,
		      uint32_t ttl, bool negative, uint64_t now_ms)
{
	uint32_t h = hash_key(c, k), i, need, *link;
	struct entry *e;

	if (!ttl || !len || !k->name_len || k->name_len > DNS_NAME_MAX)
		return false;
	if (len > c->entry_max) {
		c->cnt->cache_too_big++;
		return false;
	}
	i = find(c, k, h);
	if (i != NIL)
		remove_entry(c, i);
	need = (uint32_t)((len + CHUNK - 1) / CHUNK);
	while (c->free_entry == NIL || c->free_chunks < need) {
		assert(c->tail != NIL);
		remove_entry(c, c->tail);
		c->cnt->cache_evictions++;
	}
	i = c->free_entry;
	e = &c->e[i];
	c->free_entry = e->next;
	link = &e->chunk;
	for (size_t off = 0; off < len; off += CHUNK) {
		uint32_t ch = c->free_chunk;
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		c->free_chunk = c->chunk_next[ch];
		c->free_chunks--;
		memcpy(c->data + (size_t)ch * CHUNK, msg + off, n);
		*link = ch;
		link = &c->chunk_next[ch];
	}
	*link = NIL;
	e->hash = h;
	e->len = (uint16_t)len;
	e->qtype = k->qtype;
	e->qclass = k->qclass;
	e->name_len = (uint8_t)k->name_len;
	memcpy(e->name, k->name, k->name_len);
	e->used = true;
	e->negative = negative;
	e->stored_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)ttl * 1000;
	e->hnext = c->buckets[h & c->mask];
	c->buckets[h & c->mask] = i;
	lru_push_front(c, i);
	c->cnt->cache_inserts++;
	c->cnt->cache_entries++;
	c->cnt->cache_bytes += len;
	return true;
}

size_t dns_cache_lookup(struct dns_cache *c, const struct dns_key *k, uint64_t now_ms, uint8_t *buf,
			size_t cap, uint32_t *age)
{
	uint32_t h = hash_key(c, k), i = find(c, k, h), ch;
	struct entry *e;
	size_t off = 0;

	if (i == NIL)
		return 0;
	e = &c->e[i];
	if (now_ms >= e->expires_ms) {
		remove_entry(c, i);
		c->cnt->cache_expired++;
		return 0;
	}
	if (e->len > cap)
		return 0;
	for (ch = e->chunk; ch != NIL && off < e->len; ch = c->chunk_next[ch]) {
		size_t n = e->len - off < CHUNK ? e->len - off : CHUNK;

		memcpy(buf + off, c->data + (size_t)ch * CHUNK, n);
		off += n;
	}
	lru_unlink(c, i);
	lru_push_front(c, i);
	*age = now_ms > e->stored_ms ? (uint32_t)((now_ms - e->stored_ms) / 1000) : 0;
	return e->len;
}

void dns_cache_sweep(struct dns_cache *c, uint64_t now_ms, unsigned budget)
{
	for (unsigned n = 0; n < budget && n < c->n_entries; n++) {
		uint32_t i = c->sweep_at;

		c->sweep_at = i + 1 < c->n_entries ? i + 1 : 0;
		if (c->e[i].used && now_ms >= c->e[i].expires_ms) {
			remove_entry(c, i);
			c->cnt->cache_expired++;
		}
	}
}

void dns_cache_foreach(const struct dns_cache *c, uint64_t now_ms,
		       void (*fn)(void *ctx, const struct dns_cache_info *e), void *ctx)
{
	for (uint32_t i = c->head; i != NIL; i = c->e[i].next) {
		const struct entry *e = &c->e[i];
		struct dns_cache_info info;

		if (now_ms >= e->expires_ms)
			continue;
		info.name = e->name;
		info.name_len = e->name_len;
		info.qtype = e->qtype;
		info.qclass = e->qclass;
		info.ttl_left = (uint32_t)((e->expires_ms - now_ms + 999) / 1000);
		info.negative = e->negative;
		info.len = e->len;
		fn(ctx, &info);
	}
}
