/* bits.h - small pure helpers more than one module needs: a hex digit's
 * value, and the MurmurHash3 64-bit finaliser for table indexes. */
#ifndef RSSNAT_BITS_H
#define RSSNAT_BITS_H

#include <stdint.h>

/* bits_hex_digit() - 0..15 for [0-9a-fA-F], -1 otherwise. */
static inline int bits_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bits_fmix64() - MurmurHash3's finaliser: every input bit reaches every
 * output bit, the low (index) bits included, which a multiply alone does
 * not do (it only carries bits upwards). */
static inline uint64_t bits_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#endif
