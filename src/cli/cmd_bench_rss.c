/* cmd_bench_rss.c - `rssnat bench rss`: ns per hash, reference vs fast, one run.
 *
 * Every implementation hashes the same array of random tuples, round after
 * round, for a fixed time; results are XOR-ed into a sink so that nothing is
 * optimised away. Throughput, not latency: that is what a burst of packets
 * sees.
 */
#include "cli.h"
#include "commands.h"
#include "../rss/rss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BENCH_TUPLES = 4096 };

struct bench_inputs {
	uint8_t bytes[BENCH_TUPLES][RSS_INPUT_MAX];
	size_t len;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_inputs(struct bench_inputs *in, size_t len, uint64_t seed)
{
	in->len = len;
	for (size_t i = 0; i < BENCH_TUPLES; i++)
		for (size_t b = 0; b < len; b++)
			in->bytes[i][b] = (uint8_t)xorshift(&seed);
}

static volatile uint32_t sink;

enum variant { V_REFERENCE, V_TABLE, V_GFNI, V_V4_INLINE };

static uint32_t run_round(enum variant v, const struct rss_hasher *h, const struct bench_inputs *in)
{
	uint32_t acc = 0;

	for (size_t i = 0; i < BENCH_TUPLES; i++) {
		const uint8_t *b = in->bytes[i];
		switch (v) {
		case V_REFERENCE:
			acc ^= rss_hash_ref(&h->key, b, in->len);
			break;
		case V_TABLE:
			acc ^= rss_hash_table(h, b, in->len);
			break;
		case V_GFNI:
			acc ^= rss_hash_gfni(h, b, in->len);
			break;
		case V_V4_INLINE:
			acc ^= rss_hash_v4(h, b, b + 4, (uint16_t)(b[8] << 8 | b[9]),
					   (uint16_t)(b[10] << 8 | b[11]));
			break;
		}
	}
	return acc;
}

/* ns per hash: whole rounds until @seconds have passed, best of three slices
 * so that a moment of interference does not count against one variant. */
static double measure(enum variant v, const struct rss_hasher *h, const struct bench_inputs *in,
		      double seconds)
{
	double best = 1e30;

	for (int slice = 0; slice < 3; slice++) {
		double start = now_ns(), end;
		uint64_t rounds = 0;
		do {
			sink ^= run_round(v, h, in);
			rounds++;
			end = now_ns();
		} while (end - start < seconds * 1e9 / 3);
		double ns = (end - start) / ((double)rounds * BENCH_TUPLES);
		if (ns < best)
			best = ns;
	}
	return best;
}

static void report(const char *family, const char *impl, double ref, double fast)
{
	printf("family=%s impl=%s reference_ns=%.2f fast_ns=%.2f speedup=%.1f\n", family, impl, ref,
	       fast, ref / fast);
}

int cli_bench_rss(int argc, char **argv)
{
	unsigned long tenths = 20;
	struct rss_key key;
	struct rss_hasher *h = malloc(sizeof(*h));
	struct bench_inputs *in = malloc(sizeof(*in));
	int status = CLI_OK;

	if (!h || !in) {
		fprintf(stderr, "rssnat: out of memory\n");
		status = CLI_FAILED;
		goto out;
	}
	if (argc == 3 && !strcmp(argv[1], "--seconds")) {
		double s = atof(argv[2]);
		if (s < 0.1 || s > 60) {
			status =
			    cli_usage_error("--seconds", "'%s' is not from 0.1 to 60", argv[2]);
			goto out;
		}
		tenths = (unsigned long)(s * 10);
	} else if (argc != 1) {
		status = cli_usage_error(argv[1], "unexpected argument (only --seconds S)");
		goto out;
	}
	double slot = (double)tenths / 10 / 8; /* eight measurements share the time */
	rss_key_microsoft(&key);
	rss_hasher_init(h, &key, RSS_IMPL_TABLE);
	bool gfni = rss_impl_available(RSS_IMPL_GFNI);
	static const struct {
		const char *family;
		size_t len;
	} families[] = {{"ipv4", 12}, {"ipv6", 36}};
	for (size_t f = 0; f < 2; f++) {
		fill_inputs(in, families[f].len, 0x9e3779b97f4a7c15ull + f);
		double ref = measure(V_REFERENCE, h, in, slot);
		double table = measure(f == 0 ? V_V4_INLINE : V_TABLE, h, in, slot);
		report(families[f].family, "table", ref, table);
		if (gfni)
			report(families[f].family, "gfni", ref, measure(V_GFNI, h, in, slot));
	}
	/* What rss_hash() dispatches to for each family (RSS_GFNI_MIN_LEN). */
	printf("cpu_gfni=%s fast_path_ipv4=%s fast_path_ipv6=%s\n", gfni ? "yes" : "no",
	       rss_impl_name(gfni && 12 >= RSS_GFNI_MIN_LEN ? RSS_IMPL_GFNI : RSS_IMPL_TABLE),
	       rss_impl_name(gfni && 36 >= RSS_GFNI_MIN_LEN ? RSS_IMPL_GFNI : RSS_IMPL_TABLE));
out:
	free(h);
	free(in);
	return status;
}
