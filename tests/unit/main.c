/* main.c - runs every registered unit test; prints one line per failure and
 * the closing "N passed, N failed". */
#include "test.h"

#include <inttypes.h>
#include <string.h>

static struct test_case *cases;
static unsigned failures_in_case;
static uint64_t rand_state;

void test_register(struct test_case *tc)
{
	struct test_case **at = &cases;

	while (*at)
		at = &(*at)->next;
	*at = tc;
}

bool test_check(bool ok, const char *expr, const char *file, int line)
{
	if (!ok && failures_in_case++ < 5)
		printf("  %s:%d: check failed: %s\n", file, line, expr);
	return ok;
}

bool test_check_u64(uint64_t got, uint64_t want, const char *expr, const char *file, int line)
{
	if (got != want && failures_in_case++ < 5)
		printf("  %s:%d: %s: got %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64 " (0x%" PRIx64
		       ")\n",
		       file, line, expr, got, got, want, want);
	return got == want;
}

uint64_t test_rand(void)
{
	/* splitmix64 */
	uint64_t z = (rand_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	for (struct test_case *tc = cases; tc; tc = tc->next) {
		if (argc > 1 && !strstr(tc->name, argv[1]))
			continue;
		failures_in_case = 0;
		rand_state = 0x5eed;
		tc->fn();
		if (failures_in_case) {
			printf("FAIL %s (%u failed checks)\n", tc->name, failures_in_case);
			failed++;
		} else {
			printf("ok   %s\n", tc->name);
			passed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
