/* timer.c - the lazy timer wheel (see timer.h). */
#include <stddef.h>

#include "timer.h"

void timer_init(struct timer_wheel *w, uint32_t now)
{
	for (unsigned i = 0; i < TIMER_SLOTS; i++)
		w->head[i] = TIMER_NONE;
	w->now = now;
}

static void link_into(struct timer_wheel *w, const struct timer_space *s, uint32_t idx,
		      uint32_t when)
{
	struct timer_link *l = timer_link_of(s, idx);
	uint32_t *head = &w->head[when % TIMER_SLOTS];

	l->filed = when;
	l->prev = TIMER_NONE;
	l->next = *head;
	if (*head != TIMER_NONE)
		timer_link_of(s, *head)->prev = idx;
	*head = idx;
}

/* The slot to file under: the expiry, clamped into this turn of the wheel
 * and never before the current time (so it is always run). */
static uint32_t slot_time(const struct timer_wheel *w, uint32_t expires)
{
	if ((int32_t)(expires - w->now) < 0)
		return w->now;
	if (expires - w->now >= TIMER_SLOTS)
		return w->now + TIMER_SLOTS - 1;
	return expires;
}

void timer_add(struct timer_wheel *w, const struct timer_space *s, uint32_t idx)
{
	link_into(w, s, idx, slot_time(w, timer_link_of(s, idx)->expires));
}

void timer_del(struct timer_wheel *w, const struct timer_space *s, uint32_t idx)
{
	struct timer_link *l = timer_link_of(s, idx);

	if (l->prev != TIMER_NONE)
		timer_link_of(s, l->prev)->next = l->next;
	else
		w->head[l->filed % TIMER_SLOTS] = l->next;
	if (l->next != TIMER_NONE)
		timer_link_of(s, l->next)->prev = l->prev;
	l->next = l->prev = TIMER_NONE;
}

/* Where a not-yet-due entry goes when its slot is run: its expiry, or one
 * full turn on (the same slot, run again a turn later) if that is further. */
static uint32_t refile_time(const struct timer_wheel *w, uint32_t expires)
{
	if (expires - w->now > TIMER_SLOTS)
		return w->now + TIMER_SLOTS;
	return expires;
}

static int due(const struct timer_wheel *w, const struct timer_link *l)
{
	return (int32_t)(l->expires - w->now) <= 0;
}

/* Run one slot; returns 1 if it left due entries behind (budget spent). */
static int run_slot(struct timer_wheel *w, const struct timer_space *s, unsigned budget,
		    unsigned *expired, void (*expire)(void *ctx, uint32_t idx), void *ctx)
{
	uint32_t *head = &w->head[w->now % TIMER_SLOTS];
	uint32_t idx = *head;
	int left_due = 0;

	*head = TIMER_NONE;
	while (idx != TIMER_NONE) {
		struct timer_link *l = timer_link_of(s, idx);
		uint32_t next = l->next;
		if (!due(w, l)) {
			link_into(w, s, idx, refile_time(w, l->expires));
		} else if (*expired < budget) {
			l->next = l->prev = TIMER_NONE;
			(*expired)++;
			expire(ctx, idx);
		} else {
			link_into(w, s, idx, w->now);
			left_due = 1;
		}
		idx = next;
	}
	return left_due;
}

unsigned timer_run(struct timer_wheel *w, const struct timer_space *s, uint32_t now,
		   unsigned budget, void (*expire)(void *ctx, uint32_t idx), void *ctx)
{
	unsigned expired = 0;

	while ((int32_t)(now - w->now) >= 0) {
		if (run_slot(w, s, budget, &expired, expire, ctx))
			return expired; /* this slot is not done: come back to it */
		w->now++;
	}
	return expired;
}
