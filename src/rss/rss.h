/* rss.h - receive-side scaling exactly as Microsoft's RSS specification defines it.
 *
 * Theory of operation
 * -------------------
 * A NIC that does RSS computes a Toeplitz hash over selected packet fields
 * (source address, destination address, source port, destination port, in that
 * order, network byte order), takes the hash's low bits as an index into an
 * indirection table, and the table entry names the receive queue (the CPU).
 *
 * Toeplitz over an n-byte input with key K: for every input bit i (most
 * significant bit of the first byte first) that is set, XOR into the result the
 * 32-bit window of K that starts at bit i. The hash is therefore linear over
 * GF(2): hash(a XOR b) = hash(a) XOR hash(b). Two consequences we build on:
 *   - a per-key table of each input byte's contribution makes hashing a dozen
 *     loads and XORs (rss_hash()), and GFNI can do all bytes at once;
 *   - the contribution of a port to the bucket bits is a linear map, so the
 *     ports that steer a tuple into a given bucket form an affine subspace that
 *     Gaussian elimination finds directly (rss_solve_port()). The NAT picks its
 *     external ports from it so that replies come back to the owning core.
 *
 * Everything a packet path needs (key tables, field sets, indirection table)
 * lives in one immutable, versioned struct rss_snapshot; a new configuration
 * is a new snapshot.
 */
#ifndef RSSNAT_RSS_H
#define RSSNAT_RSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RSS_KEY_LEN_DEFAULT = 40, /* NDIS, Intel 82599 and most NICs */
	RSS_KEY_LEN_MIN = 40,	  /* enough for an IPv6 4-tuple (36 bytes + 4) */
	RSS_KEY_LEN_MAX = 52,	  /* the longest Linux drivers use (e.g. ice) */
	RSS_INPUT_MAX = 36,	  /* IPv6 4-tuple: 16 + 16 + 2 + 2 bytes */
	RSS_TABLE_MAX = 512,
	RSS_TABLE_DEFAULT = 128,
	RSS_QUEUES_MAX = 64,
	RSS_GFNI_VECS = (RSS_INPUT_MAX + 3 + 7) / 8, /* 64-byte vectors of diagonals */
};

/* Hash input fields, named as Linux's `ethtool -N rx-flow-hash` names them. The
 * input is always laid out in this order, whichever subset is chosen. */
enum rss_field {
	RSS_F_SRC_ADDR = 1u << 0, /* 's' */
	RSS_F_DST_ADDR = 1u << 1, /* 'd' */
	RSS_F_SRC_PORT = 1u << 2, /* 'f': L4 bytes 0 and 1 */
	RSS_F_DST_PORT = 1u << 3, /* 'n': L4 bytes 2 and 3 */
	RSS_F_ADDRS = RSS_F_SRC_ADDR | RSS_F_DST_ADDR,
	RSS_F_PORTS = RSS_F_SRC_PORT | RSS_F_DST_PORT,
	RSS_F_4TUPLE = RSS_F_ADDRS | RSS_F_PORTS,
};

struct rss_key {
	uint8_t bytes[RSS_KEY_LEN_MAX];
	uint8_t len;
};

/* A packet's hashable fields. Addresses in network byte order (IPv4 in the
 * first four bytes), ports in host byte order. */
struct rss_tuple {
	uint8_t family; /* 4 or 6 */
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
};

enum rss_impl {
	RSS_IMPL_TABLE, /* per-key byte tables: portable */
	RSS_IMPL_GFNI,	/* GF2P8AFFINEQB on AVX-512: all bytes in a few instructions */
};

/* Per-key precomputation. tab[p][v] is the contribution of value v at input
 * byte p; gfni[s] is the 8x8 bit matrix for byte-diagonal s, gfni_idx the byte
 * shuffle that lines input bytes up with their diagonals (toeplitz_gfni.c). */
struct rss_hasher {
	uint32_t tab[RSS_INPUT_MAX][256];
	uint64_t gfni[RSS_GFNI_VECS * 8];
	uint8_t gfni_idx[RSS_GFNI_VECS][64];
	struct rss_key key;
	enum rss_impl impl;
};

/* rss_key_parse() - "microsoft" (or "default"), "symmetric", or hex bytes with
 * optional ':' separators (as ethtool prints them). Returns 0, or -EINVAL with
 * a reason in *why (a static string). */
int rss_key_parse(const char *text, struct rss_key *key, const char **why);
/* rss_key_format() - lower-case hex, no separators; buf needs 2*len+1 bytes. */
void rss_key_format(const struct rss_key *key, char *buf, size_t size);
void rss_key_microsoft(struct rss_key *key);
/* The symmetric key (0x6d5a repeated): hash(a,b,p,q) == hash(b,a,q,p). */
void rss_key_symmetric(struct rss_key *key);
/* The name of a well-known key ("microsoft", "symmetric") or NULL. */
const char *rss_key_name(const struct rss_key *key);

/* rss_fields_parse() - a subset of "sdfn" in any order (ethtool letters), or
 * "4tuple"/"2tuple". Returns 0 or -EINVAL. */
int rss_fields_parse(const char *text, unsigned *fields);
/* rss_fields_format() - canonical letters, e.g. "sdfn"; buf needs 5 bytes. */
void rss_fields_format(unsigned fields, char *buf, size_t size);

/* rss_input() - lay out the selected fields of @t as the hash input.
 * Returns the input length in bytes (at most RSS_INPUT_MAX). */
size_t rss_input(const struct rss_tuple *t, unsigned fields, uint8_t out[RSS_INPUT_MAX]);
/* rss_input_port_offset() - where the port @which (RSS_F_SRC_PORT or
 * RSS_F_DST_PORT) starts in the input for @fields and @family, or -1 if
 * @fields does not include it. */
int rss_input_port_offset(unsigned fields, unsigned family, unsigned which);

/* rss_hash_ref() - the bit-serial reference, literally as the specification
 * describes it. @len + 4 must not exceed the key length. */
uint32_t rss_hash_ref(const struct rss_key *key, const uint8_t *in, size_t len);

/* rss_hasher_init() - precompute tables for @key and pick the fastest
 * implementation this CPU runs. @force_impl < 0 means choose. Returns 0, or
 * -ENOTSUP if the forced implementation is not available here. */
int rss_hasher_init(struct rss_hasher *h, const struct rss_key *key, int force_impl);
bool rss_impl_available(enum rss_impl impl);
const char *rss_impl_name(enum rss_impl impl);

uint32_t rss_hash_table(const struct rss_hasher *h, const uint8_t *in, size_t len);
uint32_t rss_hash_gfni(const struct rss_hasher *h, const uint8_t *in, size_t len);

/* Below this input length a dozen table loads beat GFNI's fixed cost of
 * shuffles and a horizontal XOR (measured by `rssnat bench rss`: IPv4 4-tuple
 * 2.7 ns with tables vs 2.9 ns with GFNI; IPv6 4-tuple 13.8 vs 5.5 ns). */
enum { RSS_GFNI_MIN_LEN = 16 };

/* rss_hash() - the fast hash of @len (<= RSS_INPUT_MAX) input bytes. */
static inline uint32_t rss_hash(const struct rss_hasher *h, const uint8_t *in, size_t len)
{
	if (h->impl == RSS_IMPL_GFNI && len >= RSS_GFNI_MIN_LEN)
		return rss_hash_gfni(h, in, len);
	return rss_hash_table(h, in, len);
}

/* rss_hash_v4() - IPv4 4-tuple, the data path's common case, without laying
 * out an input buffer. Addresses in network byte order, ports in host order. */
static inline uint32_t rss_hash_v4(const struct rss_hasher *h, const uint8_t saddr[4],
				   const uint8_t daddr[4], uint16_t sport, uint16_t dport)
{
	const uint32_t(*t)[256] = h->tab;

	return t[0][saddr[0]] ^ t[1][saddr[1]] ^ t[2][saddr[2]] ^ t[3][saddr[3]] ^ t[4][daddr[0]] ^
	       t[5][daddr[1]] ^ t[6][daddr[2]] ^ t[7][daddr[3]] ^ t[8][sport >> 8] ^
	       t[9][sport & 0xff] ^ t[10][dport >> 8] ^ t[11][dport & 0xff];
}

/* rss_hash_tuple() - hash the selected fields of a tuple. */
uint32_t rss_hash_tuple(const struct rss_hasher *h, const struct rss_tuple *t, unsigned fields);

/* Indirection table ------------------------------------------------------ */

static inline bool rss_table_size_valid(unsigned size)
{
	return size >= 1 && size <= RSS_TABLE_MAX && (size & (size - 1)) == 0;
}

/* rss_table_fill() - entries spread over queues in proportion to @weights
 * (NULL: equal weights, i.e. round robin), interleaved so that every window
 * of the table is as balanced as the weights allow. Returns 0 or -EINVAL
 * (size not a power of two in 1..512, no queue, too many queues, all weights
 * zero). */
int rss_table_fill(uint16_t *table, unsigned size, unsigned queues, const unsigned *weights);
/* rss_weights_parse() - "W,W,..": 1 to RSS_QUEUES_MAX decimal weights from
 * 0 to @max, comma-separated and nothing else, into @weights (the rest
 * zeroed). Returns how many, or -EINVAL. */
int rss_weights_parse(const char *text, unsigned long max, unsigned weights[RSS_QUEUES_MAX]);

/* Snapshot ---------------------------------------------------------------- */

struct rss_config {
	struct rss_key key;
	unsigned table_size;
	unsigned queues;
	unsigned weights[RSS_QUEUES_MAX]; /* all zero: round robin */
	unsigned fields_lan;		  /* for TCP/UDP received on the LAN side */
	unsigned fields_wan;		  /* for TCP/UDP received on the WAN side */
	bool enabled;			  /* disabled: every bucket on queue 0 */
	bool icmp_id_as_port;		  /* hash an ICMP echo identifier as both ports, where
					   * we compute RSS ourselves (eBPF, simulator); NICs
					   * hash ICMP on the addresses only */
	/* A table given entry by entry instead of by weights: a NIC's own,
	 * read back where it cannot be programmed (the engine then follows the
	 * device), or one rebalanced by measured load. Entries below queues;
	 * weights must be all zero. */
	bool explicit_table;
	uint16_t table[RSS_TABLE_MAX];
};

struct rss_snapshot {
	uint64_t version;
	struct rss_config config;
	uint32_t bucket_mask;
	uint16_t table[RSS_TABLE_MAX]; /* effective table (all 0 when disabled) */
	struct rss_hasher hasher;
};

/* rss_config_default() - Microsoft key, 128 entries round robin over @queues,
 * 4-tuple on both sides, enabled. */
void rss_config_default(struct rss_config *cfg, unsigned queues);
/* rss_config_check() - 0, or -EINVAL with the offending setting in *why. */
int rss_config_check(const struct rss_config *cfg, const char **why);
/* rss_snapshot_create() - build an immutable snapshot. Returns 0, -EINVAL
 * (see rss_config_check()) or -ENOMEM. Free with rss_snapshot_destroy(). */
int rss_snapshot_create(const struct rss_config *cfg, uint64_t version, struct rss_snapshot **out,
			const char **why);
void rss_snapshot_destroy(struct rss_snapshot *snap);

static inline unsigned rss_bucket(const struct rss_snapshot *s, uint32_t hash)
{
	return hash & s->bucket_mask;
}

static inline unsigned rss_queue(const struct rss_snapshot *s, uint32_t hash)
{
	return s->table[hash & s->bucket_mask];
}

/* Solver ------------------------------------------------------------------ */

/* The ports that steer an input into one bucket: an affine subspace of
 * GF(2)^16, { base XOR (any combination of basis[0..dim-1]) }. */
struct rss_port_set {
	bool empty; /* no port reaches the bucket */
	unsigned dim;
	uint16_t base;
	uint16_t basis[16];
};

/* The elimination behind the solver depends only on the key, where the port
 * sits in the input and the bucket bits: do it once per snapshot, then each
 * solve is one hash and a few XORs (the NAT does this per new mapping). */
struct rss_port_solver {
	uint32_t mask;
	uint32_t have; /* bit b: a pivot with top bit b exists */
	uint32_t pivot_vec[32];
	uint16_t pivot_combo[32];
	unsigned dim;
	uint16_t basis[16];
	size_t port_off;
};

void rss_port_solver_init(struct rss_port_solver *s, const struct rss_hasher *h, size_t port_off,
			  unsigned bucket_bits);
/* rss_port_solver_solve() - @hash0 is the hash of the input with the port
 * bytes zero. */
void rss_port_solver_solve(const struct rss_port_solver *s, uint32_t hash0, uint32_t bucket,
			   struct rss_port_set *set);

/* rss_solve_port() - the ports that, written at @port_off of the @len-byte
 * input @in (whatever is there now is ignored), make the hash's low
 * @bucket_bits bits equal @bucket. */
void rss_solve_port(const struct rss_hasher *h, const uint8_t *in, size_t len, size_t port_off,
		    unsigned bucket_bits, uint32_t bucket, struct rss_port_set *set);

static inline uint32_t rss_port_set_count(const struct rss_port_set *set)
{
	return set->empty ? 0 : 1u << set->dim;
}

/* rss_port_set_at() - member @i (0 <= i < count); distinct i give distinct ports. */
static inline uint16_t rss_port_set_at(const struct rss_port_set *set, uint32_t i)
{
	uint16_t port = set->base;

	for (unsigned b = 0; b < set->dim; b++)
		if (i & (1u << b))
			port ^= set->basis[b];
	return port;
}

static inline unsigned rss_log2(unsigned pow2)
{
	return pow2 ? (unsigned)__builtin_ctz(pow2) : 0;
}

#endif
