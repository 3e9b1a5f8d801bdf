/* test.h - a small table-free unit test harness: TEST() registers a case,
 * CHECK*() records failures with file and line, main() prints
 * "N passed, N failed". Run one case by name substring: unit-tests NAME. */
#ifndef RSSNAT_TEST_H
#define RSSNAT_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
bool test_check(bool ok, const char *expr, const char *file, int line);
bool test_check_u64(uint64_t got, uint64_t want, const char *expr, const char *file, int line);
/* Deterministic pseudo-random numbers, reseeded before every case. */
uint64_t test_rand(void);

#define TEST(name)                                                                                 \
	static void name(void);                                                                    \
	static struct test_case name##_case = {#name, name, NULL};                                 \
	__attribute__((constructor)) static void name##_register(void)                             \
	{                                                                                          \
		test_register(&name##_case);                                                       \
	}                                                                                          \
	static void name(void)

#define CHECK(cond) test_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(got, want)                                                                        \
	test_check_u64((uint64_t)(got), (uint64_t)(want), #got " == " #want, __FILE__, __LINE__)

#endif
