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

/* Reduce @vec against the pivots, accumulating which port bits were used. */
static uint32_t reduce(const struct rss_port_solver *s, uint32_t vec, uint16_t *combo)
{
	while (vec) {
		unsigned top = 31u - (unsigned)__builtin_clz(vec);
		if (!(s->have & (1u << top)))
			break;
		vec ^= s->pivot_vec[top];
		*combo ^= s->pivot_combo[top];
	}
	return vec;
}

void rss_port_solver_init(struct rss_port_solver *s, const struct rss_hasher *h, size_t port_off,
			  unsigned bucket_bits)
{
	memset(s, 0, sizeof(*s));
	s->mask = bucket_bits >= 32 ? UINT32_MAX : (1u << bucket_bits) - 1;
	s->port_off = port_off;
	for (unsigned j = 0; j < 16; j++) {
		/* Column j: the bucket bits that port bit j flips. */
		uint32_t col =
		    j >= 8 ? h->tab[port_off][1u << (j - 8)] : h->tab[port_off + 1][1u << j];
		uint16_t combo = (uint16_t)(1u << j);
		uint32_t rest = reduce(s, col & s->mask, &combo);
		if (rest) {
			unsigned top = 31u - (unsigned)__builtin_clz(rest);
			s->pivot_vec[top] = rest;
			s->pivot_combo[top] = combo;
			s->have |= 1u << top;
		} else {
			s->basis[s->dim++] = combo; /* flips no bucket bit: kernel */
		}
	}
}

void rss_port_solver_solve(const struct rss_port_solver *s, uint32_t hash0, uint32_t bucket,
			   struct rss_port_set *set)
{
	uint16_t combo = 0;

	set->dim = s->dim;
	memcpy(set->basis, s->basis, sizeof(set->basis));
	set->empty = reduce(s, (bucket ^ hash0) & s->mask, &combo) != 0;
	set->base = set->empty ? 0 : combo;
}

void rss_solve_port(const struct rss_hasher *h, const uint8_t *in, size_t len, size_t port_off,
		    unsigned bucket_bits, uint32_t bucket, struct rss_port_set *set)
{
	struct rss_port_solver s;
	uint8_t zeroed[RSS_INPUT_MAX];

	memcpy(zeroed, in, len);
	zeroed[port_off] = zeroed[port_off + 1] = 0;
	rss_port_solver_init(&s, h, port_off, bucket_bits);
	rss_port_solver_solve(&s, rss_hash_table(h, zeroed, len), bucket, set);
}
