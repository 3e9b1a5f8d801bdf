/* solve.c - which ports steer a tuple into a given bucket.
 *
 * A port's contribution to the hash is linear in its 16 bits (Toeplitz is
 * linear over GF(2)), and so is its contribution to the bucket (the low
 * bucket_bits of the hash). With the port zeroed, the rest of the input hashes
 * to some h0; a port p lands in bucket b exactly when L(p) = b XOR h0, where L
 * is the 16 -> bucket_bits bit matrix whose column j is the contribution of
 * port bit j. Gaussian elimination gives one solution and a basis of L's
 * kernel; the solutions are that one XOR any combination of the basis. When
 * L's rank is below bucket_bits some buckets cannot be reached by any port.
 */
#include "rss.h"

#include <string.h>

struct pivot {
	uint32_t vec;	/* a reduced column, its top bit is the pivot */
	uint16_t combo; /* which port bits XOR to it */
};

/* Reduce (vec, combo) against the pivots; returns the residue. */
static uint32_t reduce(const struct pivot *pivots, const bool *have, uint32_t vec, uint16_t *combo)
{
	while (vec) {
		unsigned top = 31u - (unsigned)__builtin_clz(vec);
		if (!have[top])
			break;
		vec ^= pivots[top].vec;
		*combo ^= pivots[top].combo;
	}
	return vec;
}

void rss_solve_port(const struct rss_hasher *h, const uint8_t *in, size_t len, size_t port_off,
		    unsigned bucket_bits, uint32_t bucket, struct rss_port_set *set)
{
	uint32_t mask = bucket_bits >= 32 ? UINT32_MAX : (1u << bucket_bits) - 1;
	struct pivot pivots[32];
	bool have[32] = {false};
	uint8_t zeroed[RSS_INPUT_MAX];
	uint16_t combo = 0;

	memset(set, 0, sizeof(*set));
	memcpy(zeroed, in, len);
	zeroed[port_off] = zeroed[port_off + 1] = 0;
	for (unsigned j = 0; j < 16; j++) {
		uint32_t col =
		    j >= 8 ? h->tab[port_off][1u << (j - 8)] : h->tab[port_off + 1][1u << j];
		uint16_t c = (uint16_t)(1u << j);
		uint32_t rest = reduce(pivots, have, col & mask, &c);
		if (rest) {
			unsigned top = 31u - (unsigned)__builtin_clz(rest);
			pivots[top] = (struct pivot){rest, c};
			have[top] = true;
		} else {
			set->basis[set->dim++] = c;
		}
	}
	uint32_t target = (bucket ^ rss_hash_table(h, zeroed, len)) & mask;
	if (reduce(pivots, have, target, &combo)) {
		set->empty = true;
		return;
	}
	set->base = combo;
}
