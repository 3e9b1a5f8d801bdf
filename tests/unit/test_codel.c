/* test_codel.c - CoDel's dequeue decision (src/core/codel.c) against RFC
 * 8289: nothing below the target or before a whole interval above it; the
 * first drop at first_above; the next one frame later delivered; drops
 * then spaced interval / sqrt(count); the drop state ends when the sojourn
 * falls below the target, when the queue is about to run empty, or when it
 * is empty; a drop state soon after the last one resumes its rate (delta),
 * a later one starts over. */
#include "test.h"
#include "../../src/core/codel.h"

#include <math.h>

enum {
	US = 1000,
	MS = 1000 * US,
	TARGET = 500 * US,
	INTERVAL = 10 * MS,
	STEP = 10 * US, /* one frame every 10 us */
	DROPS_MAX = 4096,
};

struct run {
	uint64_t at[DROPS_MAX]; /* when each drop happened */
	unsigned drops, frames;
};

/* Frames every STEP from @from for @len ns, each having waited @sojourn;
 * the drops recorded in @r. Returns the time after the last frame. */
static uint64_t feed(struct codel *c, struct run *r, uint64_t from, uint64_t len, uint64_t sojourn,
		     bool last)
{
	uint64_t t;

	for (t = from; t < from + len; t += STEP) {
		r->frames++;
		if (codel_drop(c, t, sojourn, last) && r->drops < DROPS_MAX)
			r->at[r->drops++] = t;
	}
	return t;
}

/* The time of the first frame at or after @t (frames come at from + k*STEP). */
static uint64_t frame_at_or_after(uint64_t from, uint64_t t)
{
	return t <= from ? from : from + (t - from + STEP - 1) / STEP * STEP;
}

TEST(codel_below_target_never_drops)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, TARGET, INTERVAL);
	feed(&c, &r, 1 * MS, 1000 * MS, TARGET - 1, false);
	CHECK_EQ(r.drops, 0);
}

TEST(codel_disabled_by_a_zero_target_never_drops)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, 0, INTERVAL);
	feed(&c, &r, 1 * MS, 1000 * MS, 100 * MS, false);
	CHECK_EQ(r.drops, 0);
}

TEST(codel_first_drop_after_a_whole_interval_above_target)
{
	struct codel c;
	struct run r = {0};
	uint64_t t0 = 5 * MS;

	codel_init(&c, TARGET, INTERVAL);
	/* Just less than an interval above the target, then below: nothing. */
	uint64_t t = feed(&c, &r, t0, INTERVAL - STEP, TARGET, false);
	t = feed(&c, &r, t, STEP, TARGET - 1, false);
	CHECK_EQ(r.drops, 0);
	/* Above again: the clock starts over, the first drop is the first
	 * frame at or after first_above = (first frame above) + interval. */
	feed(&c, &r, t, 2 * INTERVAL, 2 * TARGET, false);
	CHECK(r.drops > 0);
	CHECK_EQ(r.at[0], t + INTERVAL);
}

TEST(codel_drops_spaced_by_the_control_law)
{
	struct codel c;
	struct run r = {0};
	uint64_t t0 = 1 * MS;

	codel_init(&c, TARGET, INTERVAL);
	feed(&c, &r, t0, 200 * MS, 2 * MS, false);
	CHECK(r.drops > 10);
	/* The n-th drop (count n) schedules the next at drop_next +
	 * interval / sqrt(n + 1), drop_next being the schedule, not the frame
	 * (RFC 8289 5.5, control_law(drop_next_, count_)); the frame that
	 * takes it is the first at or after it. */
	double next = (double)r.at[0] + INTERVAL; /* entering: control_law(now, 1) */
	for (unsigned n = 1; n < r.drops && n < 12; n++) {
		CHECK_EQ(r.at[n], frame_at_or_after(t0, (uint64_t)ceil(next)));
		next += INTERVAL / sqrt((double)(n + 1));
	}
}

TEST(codel_delivers_the_frame_after_the_first_drop)
{
	struct codel c;

	codel_init(&c, TARGET, INTERVAL);
	CHECK(!codel_drop(&c, 1 * MS, 2 * MS, false));	    /* first_above = 11 ms */
	CHECK(codel_drop(&c, 11 * MS, 2 * MS, false));	    /* enters the drop state */
	CHECK(!codel_drop(&c, 11 * MS, 2 * MS, false));	    /* delivered, as the RFC's */
	CHECK(!codel_drop(&c, 20 * MS, 2 * MS, false));	    /* before drop_next = 21 ms */
	CHECK(codel_drop(&c, 21 * MS, 2 * MS, false));	    /* count 2 */
	CHECK(!codel_drop(&c, 21 * MS + 1, 2 * MS, false)); /* next at 21 + 10/sqrt 2 */
}

TEST(codel_ends_the_drop_state_below_target)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, TARGET, INTERVAL);
	uint64_t t = feed(&c, &r, 1 * MS, 50 * MS, 2 * MS, false);
	unsigned before = r.drops;
	CHECK(before > 0);
	t = feed(&c, &r, t, STEP, TARGET - 1, false); /* one good frame */
	/* Above the target again: a whole interval before the next drop. */
	feed(&c, &r, t, INTERVAL, 2 * MS, false);
	CHECK_EQ(r.drops, before);
	CHECK(codel_drop(&c, t + INTERVAL, 2 * MS, false));
}

TEST(codel_never_drops_the_last_frame_waiting)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, TARGET, INTERVAL);
	feed(&c, &r, 1 * MS, 500 * MS, 50 * MS, true);
	CHECK_EQ(r.drops, 0);
	/* And a queue about to run empty ends a drop state too. */
	uint64_t t = feed(&c, &r, 501 * MS, 30 * MS, 50 * MS, false);
	unsigned before = r.drops;
	CHECK(before > 0);
	CHECK(!codel_drop(&c, t, 50 * MS, true));
	feed(&c, &r, t + STEP, INTERVAL - STEP, 50 * MS, false);
	CHECK_EQ(r.drops, before);
}

TEST(codel_empty_queue_ends_the_drop_state)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, TARGET, INTERVAL);
	uint64_t t = feed(&c, &r, 1 * MS, 40 * MS, 2 * MS, false);
	unsigned before = r.drops;
	CHECK(before > 0);
	codel_empty(&c);
	feed(&c, &r, t, INTERVAL, 2 * MS, false);
	CHECK_EQ(r.drops, before);
}

/* Spacing of the first drops of a drop state: gap[i] = at[i+1] - at[i]. */
static uint64_t first_gap(const struct run *r, unsigned from)
{
	return r->at[from + 1] - r->at[from];
}

TEST(codel_resumes_the_rate_of_a_recent_drop_state)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, TARGET, INTERVAL);
	/* A first drop state of many drops, ended by one good frame. */
	uint64_t t = feed(&c, &r, 1 * MS, 300 * MS, 2 * MS, false);
	uint32_t count = c.count, lastcount = c.lastcount;
	CHECK(count - lastcount > 1);
	t = feed(&c, &r, t, STEP, 0, false);
	unsigned second = r.drops;
	/* Soon after (within 16 intervals): the next state starts with count =
	 * delta, so its first gap is interval / sqrt(delta + 1)... */
	feed(&c, &r, t, 100 * MS, 2 * MS, false);
	CHECK(r.drops > second + 1);
	double want = INTERVAL / sqrt((double)(count - lastcount));
	CHECK(first_gap(&r, second) <= (uint64_t)want + STEP);
	CHECK(first_gap(&r, second) < INTERVAL / 2);
}

TEST(codel_starts_over_after_16_intervals)
{
	struct codel c;
	struct run r = {0};

	codel_init(&c, TARGET, INTERVAL);
	uint64_t t = feed(&c, &r, 1 * MS, 300 * MS, 2 * MS, false);
	t = feed(&c, &r, t, 17 * INTERVAL, 0, false); /* long below the target */
	unsigned second = r.drops;
	feed(&c, &r, t, 100 * MS, 2 * MS, false);
	CHECK(r.drops > second + 1);
	CHECK_EQ(r.at[second], t + INTERVAL);
	CHECK(first_gap(&r, second) >= INTERVAL); /* count 1: a whole interval */
	CHECK(first_gap(&r, second) <= INTERVAL + STEP);
}
