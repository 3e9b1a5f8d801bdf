/* fuzz_uplink.c - libFuzzer harness for the rtnetlink view of the WAN
 * (src/uplink/): a script of records, each an op byte, a length and that
 * many bytes: rtnetlink messages into uplink_input() (an exact, aligned
 * heap copy, so ASan sees any read past the end), dumps begun
 * (uplink_run() without a socket begins them, numbered 1, 2, ...), or
 * everything asked again. Asserts what must always hold: the mask is the
 * prefix's, no address has no mask, a prefix is at most 32. */
#include "../src/uplink/uplink.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum { OP_INPUT = 0, OP_RUN, OP_REFRESH, OP_COUNT, IFX = 5 };

static unsigned neighbours;

static void on_neigh(void *ctx, uint32_t ip, const uint8_t mac[6], bool usable)
{
	(void)ctx;
	(void)ip;
	neighbours += usable && mac[0] != 0xff; /* reads the MAC: it must be there */
}

static void check(const struct uplink *u)
{
	const struct uplink_state *st = uplink_state(u);
	uint32_t want = st->prefix_len ? htonl(~0u << (32 - st->prefix_len)) : 0;

	if (st->prefix_len > 32 || (st->addr && st->mask != want) || (!st->addr && st->mask))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct uplink *u = uplink_new(IFX, on_neigh, NULL);
	size_t at = 0;

	if (!u)
		return 0;
	while (at + 3 <= n) {
		unsigned op = d[at] % OP_COUNT;
		size_t len = (size_t)d[at + 1] << 8 | d[at + 2];
		at += 3;
		if (len > n - at)
			len = n - at;
		if (op == OP_INPUT) {
			void *copy = malloc(len ? len : 1); /* malloc's alignment, as recv's buffer */
			memcpy(copy, d + at, len);
			uplink_input(u, copy, len);
			free(copy);
			at += len;
		} else if (op == OP_RUN) {
			uplink_run(u);
		} else {
			uplink_refresh(u);
		}
		check(u);
	}
	uplink_close(u);
	return 0;
}
