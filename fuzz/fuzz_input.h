/* fuzz_input.h - reading a harness's input as numbers, shared by the
 * harnesses that decode records from it. */
#ifndef RSSNAT_FUZZ_INPUT_H
#define RSSNAT_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* fuzz_take() - the next @bytes bytes of *@d as a big-endian number (at
 * most 4); past the end of the input they read as zeros. */
static inline uint32_t fuzz_take(const uint8_t **d, size_t *n, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (*n ? **d : 0);
		if (*n) {
			(*d)++;
			(*n)--;
		}
	}
	return v;
}

#endif
