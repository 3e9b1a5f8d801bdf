/* test_spread.c - the CPU the spread fast path sends queue q's frames to is
 * the CPU a pinned worker q runs on: gw_queue_cpu(), the one rule both use
 * (the end-to-end agreement with the engine's buckets is
 * tests/net/test_spread.sh: per-CPU counters against the sessions' owners). */
#include "test.h"
#include "../../src/gw/gw_internal.h"

#include <sched.h>

TEST(spread_queue_cpu_wraps_over_the_allowed_set)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	CPU_SET(3, &set);
	CPU_SET(5, &set);
	CHECK_EQ(gw_queue_cpu(&set, 0), 1);
	CHECK_EQ(gw_queue_cpu(&set, 1), 3);
	CHECK_EQ(gw_queue_cpu(&set, 2), 5);
	CHECK_EQ(gw_queue_cpu(&set, 3), 1); /* more queues than CPUs: around again */
	CHECK_EQ(gw_queue_cpu(&set, 63), 1);
	CPU_ZERO(&set);
	CPU_SET(CPU_SETSIZE - 1, &set);
	CHECK_EQ(gw_queue_cpu(&set, 7), CPU_SETSIZE - 1);
}

TEST(spread_queue_cpu_of_an_empty_set)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CHECK_EQ(gw_queue_cpu(&set, 0), -1);
}
