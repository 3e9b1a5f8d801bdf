/* codel.c - CoDel's dequeue decision (RFC 8289); codel.h says how. */
#include "codel.h"

#include <math.h>

enum {
	CODEL_REENTRY_INTERVALS = 16, /* RFC 8289 5.6: "recently" in the drop state */
};

void codel_init(struct codel *c, uint64_t target_ns, uint64_t interval_ns)
{
	*c = (struct codel){.target = target_ns, .interval = interval_ns};
}

/* RFC 8289 5.5: the next drop, interval / sqrt(count) after @t. Drops are
 * rare (at most one every interval / sqrt(count)): one sqrt() each is cheap. */
static uint64_t control_law(const struct codel *c, uint64_t t, uint32_t count)
{
	return t + (uint64_t)((double)c->interval / sqrt((double)count));
}

/* RFC 8289 5.4, dodequeue(): true once the sojourn has been at or above
 * the target for a whole interval, with more than one frame waiting. */
static bool ok_to_drop(struct codel *c, uint64_t now, uint64_t sojourn, bool last)
{
	if (sojourn < c->target || last) {
		c->first_above = 0;
		return false;
	}
	if (!c->first_above) {
		c->first_above = now + c->interval;
		return false;
	}
	return now >= c->first_above;
}

/* RFC 8289 5.6: dropping_ set, count from the last drop state's delta if
 * it ended recently (a sustained overload resumes its rate), else 1. */
static void enter_drop_state(struct codel *c, uint64_t now)
{
	uint32_t delta = c->count - c->lastcount;
	int64_t since = (int64_t)(now - c->drop_next);

	c->dropping = true;
	c->entered = true;
	c->count = 1;
	if (delta > 1 && since < (int64_t)(CODEL_REENTRY_INTERVALS * c->interval))
		c->count = delta;
	c->drop_next = control_law(c, now, c->count);
	c->lastcount = c->count;
}

/* The RFC's loop "while (now >= drop_next_ && dropping_)", one frame a call:
 * after a drop, the next frame's ok_to_drop either ends the state or
 * schedules the next drop from drop_next. */
static bool in_drop_state(struct codel *c, uint64_t now, bool ok)
{
	if (!ok) {
		c->dropping = false;
		c->after_drop = false;
		return false;
	}
	if (c->after_drop)
		c->drop_next = control_law(c, c->drop_next, c->count);
	c->after_drop = now >= c->drop_next;
	if (c->after_drop)
		c->count++;
	return c->after_drop;
}

bool codel_drop(struct codel *c, uint64_t now, uint64_t sojourn, bool last)
{
	if (!c->target)
		return false;
	bool ok = ok_to_drop(c, now, sojourn, last);
	if (c->entered) { /* the RFC dequeues it after the first drop and returns it */
		c->entered = false;
		return false;
	}
	if (c->dropping)
		return in_drop_state(c, now, ok);
	if (!ok)
		return false;
	enter_drop_state(c, now);
	return true;
}

/* dodequeue() of an empty queue: first_above_time_ = 0, and ok_to_drop
 * false ends the drop state, except right after entering it, where the RFC
 * sets dropping_ whatever the next dequeue found. */
void codel_empty(struct codel *c)
{
	c->first_above = 0;
	c->after_drop = false;
	if (c->entered)
		c->entered = false;
	else
		c->dropping = false;
}
