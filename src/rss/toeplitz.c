/* toeplitz.c - the Toeplitz hash: bit-serial reference and per-key byte tables.
 *
 * The reference follows the specification's pseudo-code word for word, so that
 * it can be read against it; every faster implementation is tested equal to
 * it. The table implementation uses linearity: the contribution of input byte
 * p with value v is fixed for a key, so tab[p][v] is computed once per key and
 * a hash is one load per input byte.
 */
#include "rss.h"

#include "rss_internal.h"

#include <errno.h>
#include <string.h>

static unsigned key_bit(const struct rss_key *key, size_t bit)
{
	size_t byte = bit / 8;

	if (byte >= key->len)
		return 0;
	return (key->bytes[byte] >> (7 - bit % 8)) & 1u;
}

/* Microsoft, "RSS hashing functions":
 *   For each bit b in Input[] from left to right {
 *     if (b == 1) Result ^= (left-most 32 bits of K)
 *     shift K left 1 bit position
 *   }
 */
uint32_t rss_hash_ref(const struct rss_key *key, const uint8_t *in, size_t len)
{
	uint32_t result = 0;
	uint32_t k = (uint32_t)key->bytes[0] << 24 | (uint32_t)key->bytes[1] << 16 |
		     (uint32_t)key->bytes[2] << 8 | key->bytes[3];
	size_t next = 32; /* the key bit that enters the window on the next shift */

	for (size_t i = 0; i < len; i++) {
		for (int bit = 7; bit >= 0; bit--) {
			if ((in[i] >> bit) & 1u)
				result ^= k;
			k = k << 1 | key_bit(key, next++);
		}
	}
	return result;
}

/* The 32 key bits starting at bit @start: what input bit @start contributes. */
static uint32_t key_window(const struct rss_key *key, size_t start)
{
	uint32_t w = 0;

	for (size_t i = 0; i < 32; i++)
		w = w << 1 | key_bit(key, start + i);
	return w;
}

static void build_tables(struct rss_hasher *h)
{
	for (size_t p = 0; p < RSS_INPUT_MAX; p++) {
		uint32_t bit_contrib[8]; /* [j]: contribution of bit j (LSB = 0) of byte p */
		for (unsigned j = 0; j < 8; j++)
			bit_contrib[j] = key_window(&h->key, 8 * p + 7 - j);
		for (unsigned v = 0; v < 256; v++) {
			uint32_t c = 0;
			for (unsigned j = 0; j < 8; j++)
				if (v & (1u << j))
					c ^= bit_contrib[j];
			h->tab[p][v] = c;
		}
	}
}

/* Row k of matrix s (see toeplitz_gfni.c) has bit j set when input bit j of a
 * byte on diagonal s feeds output bit k of its hash byte: key bit 8s+14-j-k. */
static void build_gfni_matrices(struct rss_hasher *h)
{
	for (size_t s = 0; s < sizeof(h->gfni) / sizeof(h->gfni[0]); s++) {
		uint64_t m = 0;
		for (unsigned k = 0; k < 8; k++) {
			uint64_t row = 0;
			for (unsigned j = 0; j < 8; j++)
				row |= (uint64_t)key_bit(&h->key, 8 * s + 14 - j - k) << j;
			m |= row << (8 * (7 - k));
		}
		h->gfni[s] = m;
	}
}

bool rss_impl_available(enum rss_impl impl)
{
	switch (impl) {
	case RSS_IMPL_TABLE:
		return true;
	case RSS_IMPL_GFNI:
		__builtin_cpu_init();
		return __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
	}
	return false;
}

const char *rss_impl_name(enum rss_impl impl)
{
	return impl == RSS_IMPL_GFNI ? "gfni" : "table";
}

int rss_hasher_init(struct rss_hasher *h, const struct rss_key *key, int force_impl)
{
	memset(h, 0, sizeof(*h));
	h->key = *key;
	build_tables(h);
	build_gfni_matrices(h);
	rss_gfni_build_shuffle(h);
	if (force_impl >= 0) {
		if (!rss_impl_available((enum rss_impl)force_impl))
			return -ENOTSUP;
		h->impl = (enum rss_impl)force_impl;
		return 0;
	}
	/* rss_hash() still sends short inputs to the tables (RSS_GFNI_MIN_LEN). */
	h->impl = rss_impl_available(RSS_IMPL_GFNI) ? RSS_IMPL_GFNI : RSS_IMPL_TABLE;
	return 0;
}

uint32_t rss_hash_table(const struct rss_hasher *h, const uint8_t *in, size_t len)
{
	uint32_t r = 0;

	for (size_t p = 0; p < len; p++)
		r ^= h->tab[p][in[p]];
	return r;
}

uint32_t rss_hash_tuple(const struct rss_hasher *h, const struct rss_tuple *t, unsigned fields)
{
	uint8_t in[RSS_INPUT_MAX];
	size_t len = rss_input(t, fields, in);

	return rss_hash(h, in, len);
}
