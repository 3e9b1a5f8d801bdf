/* timer.h - a lazy timer wheel for session expiry, no table scans.
 *
 * Each session sits in exactly one slot, the one of the expiry time it had
 * when it was filed. Refreshing a session on every packet only writes its new
 * expiry in the session (no list surgery on the fast path); when the slot
 * comes due the wheel looks at each entry's real expiry and either expires
 * it or files it again further on. Expiries beyond one turn of the wheel are
 * filed in the last reachable slot and refiled when it comes due. Entries are
 * indices into the owner's session array; links live in the sessions.
 */
#ifndef RSSNAT_TIMER_H
#define RSSNAT_TIMER_H

#include <stdint.h>

enum {
	TIMER_SLOTS = 4096, /* one per second: just over an hour per turn */
	TIMER_NONE = UINT32_MAX,
};

struct timer_link {
	uint32_t next, prev;
	uint32_t expires; /* seconds, same clock as `now` */
	uint32_t filed;	  /* the slot time it is filed under */
};

struct timer_wheel {
	uint32_t head[TIMER_SLOTS];
	uint32_t now; /* every slot before this has been run */
};

/* timer_link_of() - how the wheel reaches an entry's links: the owner gives
 * it a base pointer and stride (sessions embed struct timer_link). */
struct timer_space {
	uint8_t *base;
	size_t stride;
	size_t offset; /* of struct timer_link inside an entry */
};

static inline struct timer_link *timer_link_of(const struct timer_space *s, uint32_t idx)
{
	return (struct timer_link *)(void *)(s->base + (size_t)idx * s->stride + s->offset);
}

void timer_init(struct timer_wheel *w, uint32_t now);
/* timer_add() - file entry @idx, whose link->expires is set. */
void timer_add(struct timer_wheel *w, const struct timer_space *s, uint32_t idx);
void timer_del(struct timer_wheel *w, const struct timer_space *s, uint32_t idx);
/* timer_run() - advance to @now; calls @expire(ctx, idx) for each entry whose
 * expiry has passed (it must not touch the wheel: the entry is already
 * unlinked). Stops after @budget expiries so that a burst of timeouts cannot
 * stall the data path; returns how many expired. */
unsigned timer_run(struct timer_wheel *w, const struct timer_space *s, uint32_t now,
		   unsigned budget, void (*expire)(void *ctx, uint32_t idx), void *ctx);

#endif
