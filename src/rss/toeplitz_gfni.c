/* toeplitz_gfni.c - the Toeplitz hash with GFNI on AVX-512.
 *
 * Number the hash's bytes o = 0..3 from the most significant. Input byte p
 * feeds hash byte o through an 8x8 bit matrix that depends only on the
 * diagonal s = p + o (the key bits it uses are 8s+7 .. 8s+14), so
 *     hash byte o = XOR over p of M[s = p + o] * x[p].
 * GF2P8AFFINEQB multiplies every byte of a 64-bit lane by that lane's matrix.
 * We give lane s the matrix M[s] and put x[s - o] in its byte o: one affine
 * instruction then computes 8 diagonals x 4 output bytes, and XOR-ing all
 * lanes together leaves hash byte o in byte o. An IPv4 4-tuple (12 bytes,
 * diagonals 0..14) takes two vectors, an IPv6 one (36 bytes) five.
 */
#include "rss.h"

#include "rss_internal.h"

#include <immintrin.h>

#define GFNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,gfni")))

/* Bytes that carry nothing get index 0xff, which no input length reaches. */
void rss_gfni_build_shuffle(struct rss_hasher *h)
{
	for (unsigned v = 0; v < RSS_GFNI_VECS; v++) {
		for (unsigned lane = 0; lane < 8; lane++) {
			for (unsigned o = 0; o < 8; o++) {
				unsigned s = 8 * v + lane;
				uint8_t idx = 0xff;
				if (o < 4 && s >= o)
					idx = (uint8_t)(s - o);
				h->gfni_idx[v][8 * lane + o] = idx;
			}
		}
	}
}

GFNI_TARGET uint32_t rss_hash_gfni(const struct rss_hasher *h, const uint8_t *in, size_t len)
{
	const __m512i limit = _mm512_set1_epi8((char)len);
	const __m512i x = _mm512_maskz_loadu_epi8((__mmask64)((1ull << len) - 1), in);
	unsigned vecs = (unsigned)(len + 3 + 7) / 8;
	__m512i acc = _mm512_setzero_si512();

	for (unsigned v = 0; v < vecs; v++) {
		__m512i idx = _mm512_loadu_si512(h->gfni_idx[v]);
		__mmask64 live = _mm512_cmplt_epu8_mask(idx, limit);
		__m512i bytes = _mm512_maskz_permutexvar_epi8(live, idx, x);
		__m512i mat = _mm512_loadu_si512(&h->gfni[8 * v]);
		acc = _mm512_xor_si512(acc, _mm512_gf2p8affine_epi64_epi8(bytes, mat, 0));
	}
	__m256i r256 =
	    _mm256_xor_si256(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
	__m128i r128 =
	    _mm_xor_si128(_mm256_castsi256_si128(r256), _mm256_extracti128_si256(r256, 1));
	r128 = _mm_xor_si128(r128, _mm_srli_si128(r128, 8));
	return __builtin_bswap32((uint32_t)_mm_cvtsi128_si32(r128));
}
