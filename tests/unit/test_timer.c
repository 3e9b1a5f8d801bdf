/* test_timer.c - the lazy timer wheel of the NAT's sessions (src/nat/timer.h):
 * expiry to the second, lazy postponement, expiries beyond one turn, the
 * budget, the wrap of the 32-bit clock, and a random schedule checked
 * against the obvious model (never early, never late). */
#include "test.h"
#include "../../src/nat/timer.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* An entry as the NAT's sessions hold one: payload, then the links. */
struct ent {
	uint32_t payload;
	struct timer_link link;
};

enum { MAX_ENTS = 6000, NOT_EXPIRED = UINT32_MAX };

struct bench {
	struct timer_wheel wheel;
	struct timer_space space;
	struct ent ents[MAX_ENTS];
	uint32_t expired_at[MAX_ENTS]; /* `now` of the run that expired it */
	uint32_t now;		       /* of the run in progress */
	unsigned n_expired;
	uint32_t last_idx;
};

static struct bench *bench_new(uint32_t now)
{
	struct bench *b = calloc(1, sizeof(*b));

	timer_init(&b->wheel, now);
	b->space = (struct timer_space){(uint8_t *)b->ents, sizeof(struct ent),
					offsetof(struct ent, link)};
	for (unsigned i = 0; i < MAX_ENTS; i++)
		b->expired_at[i] = NOT_EXPIRED;
	return b;
}

static void on_expire(void *ctx, uint32_t idx)
{
	struct bench *b = ctx;

	CHECK(idx < MAX_ENTS);
	CHECK_EQ(b->expired_at[idx], NOT_EXPIRED); /* once only */
	b->expired_at[idx] = b->now;
	b->n_expired++;
	b->last_idx = idx;
}

static void add(struct bench *b, uint32_t idx, uint32_t expires)
{
	b->ents[idx].link.expires = expires;
	timer_add(&b->wheel, &b->space, idx);
}

static unsigned run(struct bench *b, uint32_t now, unsigned budget)
{
	b->now = now;
	return timer_run(&b->wheel, &b->space, now, budget, on_expire, b);
}

/* Run every second from @from to @to; returns how many expired. */
static unsigned run_each_second(struct bench *b, uint32_t from, uint32_t to)
{
	unsigned n = 0;

	for (uint32_t t = from; (int32_t)(to - t) >= 0; t++)
		n += run(b, t, 1u << 30);
	return n;
}

TEST(timer_expires_at_the_right_second)
{
	struct bench *b = bench_new(100);

	add(b, 0, 110);
	add(b, 1, 101);
	add(b, 2, 100); /* due now */
	CHECK_EQ(run(b, 100, 100), 1);
	CHECK_EQ(b->expired_at[2], 100);
	CHECK_EQ(run(b, 100, 100), 0);
	CHECK_EQ(run(b, 101, 100), 1);
	CHECK_EQ(b->expired_at[1], 101);
	CHECK_EQ(run(b, 109, 100), 0);
	CHECK_EQ(b->expired_at[0], NOT_EXPIRED);
	CHECK_EQ(run(b, 110, 100), 1);
	CHECK_EQ(b->expired_at[0], 110);
	/* An expiry already past when filed runs at the next call. */
	add(b, 3, 50);
	CHECK_EQ(run(b, 111, 100), 1);
	CHECK_EQ(b->expired_at[3], 111);
	free(b);
}

TEST(timer_jump_expires_everything_due)
{
	struct bench *b = bench_new(0);

	for (uint32_t i = 0; i < 100; i++)
		add(b, i, 1 + i * 37);
	CHECK_EQ(run(b, 1000, 1000), 28); /* 1 + 27 * 37 = 1000 */
	for (uint32_t i = 0; i < 100; i++)
		CHECK_EQ(b->expired_at[i] != NOT_EXPIRED, 1 + i * 37 <= 1000);
	CHECK_EQ(run(b, 5000, 1000), 72);
	free(b);
}

TEST(timer_refresh_postpones)
{
	struct bench *b = bench_new(0);

	add(b, 7, 10);
	b->ents[7].link.expires = 20; /* lazy: only the entry is written */
	CHECK_EQ(run_each_second(b, 0, 19), 0);
	CHECK_EQ(run(b, 20, 100), 1);
	CHECK_EQ(b->expired_at[7], 20);

	/* Refreshed again and again, as a busy session is. */
	add(b, 8, 30);
	for (uint32_t t = 21; t < 500; t++) {
		b->ents[8].link.expires = t + 10;
		CHECK_EQ(run(b, t, 100), 0);
	}
	CHECK_EQ(run_each_second(b, 500, 508), 0);
	CHECK_EQ(run(b, 509, 100), 1);
	CHECK_EQ(b->expired_at[8], 509);
	free(b);
}

TEST(timer_beyond_one_turn)
{
	static const uint32_t delays[] = {TIMER_SLOTS - 1, TIMER_SLOTS,		TIMER_SLOTS + 1,
					  2 * TIMER_SLOTS, 2 * TIMER_SLOTS + 5, 7440,
					  100000};
	enum { N = sizeof(delays) / sizeof(delays[0]) };
	struct bench *b = bench_new(1000);

	for (unsigned i = 0; i < N; i++)
		add(b, i, 1000 + delays[i]);
	run_each_second(b, 1000, 1000 + 100000);
	for (unsigned i = 0; i < N; i++)
		CHECK_EQ(b->expired_at[i], 1000 + delays[i]);

	/* The same with a refresh that pushes an entry over a turn. */
	add(b, 20, 2000 + 101000);
	b->ents[20].link.expires = 101000 + 3 * TIMER_SLOTS + 17;
	run_each_second(b, 101001, 101000 + 3 * TIMER_SLOTS + 16);
	CHECK_EQ(b->expired_at[20], NOT_EXPIRED);
	run(b, 101000 + 3 * TIMER_SLOTS + 17, 100);
	CHECK_EQ(b->expired_at[20], 101000 + 3 * TIMER_SLOTS + 17);
	free(b);
}

TEST(timer_far_expiry_with_large_jumps)
{
	struct bench *b = bench_new(0);

	add(b, 0, 3 * TIMER_SLOTS + 100);
	CHECK_EQ(run(b, TIMER_SLOTS * 2, 100), 0);
	CHECK_EQ(run(b, 3 * TIMER_SLOTS + 99, 100), 0);
	CHECK_EQ(run(b, 3 * TIMER_SLOTS + 100, 100), 1);
	free(b);
}

TEST(timer_budget_stops_early_and_resumes)
{
	struct bench *b = bench_new(0);

	for (uint32_t i = 0; i < 100; i++)
		add(b, i, 5 + i % 2); /* 50 at 5, 50 at 6 */
	add(b, 100, 7);
	CHECK_EQ(run(b, 6, 30), 30);
	CHECK_EQ(run(b, 6, 30), 30);
	CHECK_EQ(run(b, 6, 30), 30);
	CHECK_EQ(run(b, 6, 30), 10);
	CHECK_EQ(run(b, 6, 30), 0);
	/* Every one of them, each once, none of the later one. */
	for (uint32_t i = 0; i < 100; i++)
		CHECK(b->expired_at[i] != NOT_EXPIRED);
	CHECK_EQ(b->expired_at[100], NOT_EXPIRED);
	CHECK_EQ(run(b, 7, 30), 1);

	/* A budget of one resumes where it stopped, in expiry order. */
	for (uint32_t i = 200; i < 210; i++)
		add(b, i, 10 + (i - 200));
	uint32_t prev = 0;
	for (unsigned k = 0; k < 10; k++) {
		CHECK_EQ(run(b, 100, 1), 1);
		CHECK(b->last_idx >= 200 && b->last_idx < 210);
		CHECK(b->ents[b->last_idx].link.expires >= prev);
		prev = b->ents[b->last_idx].link.expires;
	}
	CHECK_EQ(run(b, 100, 1), 0);
	free(b);
}

TEST(timer_del_cancels)
{
	struct bench *b = bench_new(0);

	add(b, 0, 5);
	add(b, 1, 5);
	add(b, 2, 5);
	timer_del(&b->wheel, &b->space, 1); /* middle of the slot's list */
	timer_del(&b->wheel, &b->space, 2); /* its head */
	CHECK_EQ(run(b, 5, 100), 1);
	CHECK_EQ(b->expired_at[0], 5);
	CHECK_EQ(b->expired_at[1], NOT_EXPIRED);
	CHECK_EQ(b->expired_at[2], NOT_EXPIRED);

	/* An earlier expiry is not lazy: the entry must be filed again. */
	add(b, 3, 1000);
	timer_del(&b->wheel, &b->space, 3);
	add(b, 3, 20);
	CHECK_EQ(run_each_second(b, 6, 19), 0);
	CHECK_EQ(run(b, 20, 100), 1);
	free(b);
}

TEST(timer_clock_wrap)
{
	uint32_t start = UINT32_MAX - 50;
	struct bench *b = bench_new(start);

	add(b, 0, start + 10);
	add(b, 1, start + 60); /* after the wrap: 9 */
	add(b, 2, start + 5000);
	run_each_second(b, start, start + 6000);
	CHECK_EQ(b->expired_at[0], start + 10);
	CHECK_EQ(b->expired_at[1], (uint32_t)(start + 60));
	CHECK_EQ(b->expired_at[2], (uint32_t)(start + 5000));
	free(b);
}

/* The model: each entry expires in the run whose now equals its final
 * expiry (when runs are every second), whatever the refreshes were. */
TEST(timer_random_schedule_never_early_never_late)
{
	enum { N = 5000, HORIZON = 20000 };
	struct bench *b = bench_new(0);

	for (uint32_t i = 0; i < N; i++)
		add(b, i, 1 + (uint32_t)(test_rand() % HORIZON));
	uint32_t last = 0;
	for (uint32_t t = 0; t <= HORIZON || t <= last; t++) {
		/* Refresh a few live entries, some far beyond one turn. */
		for (int k = 0; k < 3 && t < HORIZON; k++) {
			uint32_t i = (uint32_t)(test_rand() % N);
			uint32_t span = test_rand() % 8 ? 600 : 3 * TIMER_SLOTS;
			if (b->expired_at[i] == NOT_EXPIRED)
				b->ents[i].link.expires += (uint32_t)(test_rand() % span);
		}
		if (t == HORIZON)
			for (uint32_t i = 0; i < N; i++)
				if (b->ents[i].link.expires > last)
					last = b->ents[i].link.expires;
		run(b, t, 1u << 30);
	}
	CHECK(last > HORIZON + TIMER_SLOTS); /* some went beyond a turn */
	unsigned late = 0, early = 0, never = 0;
	for (uint32_t i = 0; i < N; i++) {
		uint32_t want = b->ents[i].link.expires, got = b->expired_at[i];
		if (got == NOT_EXPIRED)
			never++;
		else if (got < want)
			early++;
		else if (got > want + 1)
			late++;
	}
	CHECK_EQ(never, 0);
	CHECK_EQ(early, 0);
	CHECK_EQ(late, 0);
	CHECK_EQ(b->n_expired, N);
	free(b);
}

/* Same, with runs at irregular intervals and a small budget: never early,
 * and late only by the gap between runs (plus budget carry-over). */
TEST(timer_random_schedule_irregular_runs)
{
	enum { N = 3000, HORIZON = 12000 };
	struct bench *b = bench_new(500);
	uint32_t t = 500;

	for (uint32_t i = 0; i < N; i++)
		add(b, i, 500 + (uint32_t)(test_rand() % HORIZON));
	unsigned early = 0;
	while (b->n_expired < N && t < 500 + 4 * HORIZON) {
		t += 1 + (uint32_t)(test_rand() % 40);
		unsigned before = b->n_expired;
		run(b, t, 64);
		for (uint32_t i = 0; i < N; i++)
			if (b->expired_at[i] == t && b->ents[i].link.expires > t)
				early++;
		CHECK(b->n_expired - before <= 64);
	}
	CHECK_EQ(early, 0);
	CHECK_EQ(b->n_expired, N);
	free(b);
}
