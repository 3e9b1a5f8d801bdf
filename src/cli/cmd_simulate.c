/* cmd_simulate.c - `rssnat simulate`: the NAT on N worker shards in a closed
 * loop with synthetic hosts and a synthetic internet (see sim/sim.h). */
#include "cli.h"
#include "commands.h"
#include "../rss/rss.h"
#include "../sim/sim.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_opts {
	struct sim_config cfg;
	bool json;
};

static int opt_uint(const char *name, const char *v, unsigned long lo, unsigned long hi,
		    unsigned *out)
{
	unsigned long n;

	if (cli_parse_uint(v, lo, hi, &n))
		return cli_usage_error(name, "'%s' is not a number from %lu to %lu", v, lo, hi);
	*out = (unsigned)n;
	return 0;
}

static int opt_word(const char *name, const char *v, const char *const *words, unsigned n,
		    unsigned *out)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(v, words[i])) {
			*out = i;
			return 0;
		}
	char list[128] = "";
	for (unsigned i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 words[i]);
	return cli_usage_error(name, "'%s' is not one of %s", v, list);
}

static const char *const proto_words[] = {"tcp", "udp", "icmp", "mix"};
static const char *const steering_words[] = {"rss", "handoff", "none"};
static const char *const fields_words[] = {"4tuple", "endpoint"};

static int parse_option(struct sim_opts *o, int c, const char *v)
{
	unsigned x = 0;
	int err = 0;
	unsigned long seed;

	switch (c) {
	case 'q':
		return opt_uint("--queues", v, 1, SIM_QUEUES_MAX, &o->cfg.queues);
	case 'f':
		return opt_uint("--flows", v, 1, 4000000, &o->cfg.flows);
	case 'H':
		return opt_uint("--hosts", v, 1, 240, &o->cfg.hosts);
	case 'c':
		return opt_uint("--concurrency", v, 1, 65536, &o->cfg.concurrency);
	case 't':
		err = opt_uint("--table-size", v, 1, 512, &o->cfg.table_size);
		if (!err && !rss_table_size_valid(o->cfg.table_size))
			err = cli_usage_error("--table-size", "'%s' is not a power of two", v);
		return err;
	case 'p':
		err = opt_word("--proto", v, proto_words, 4, &x);
		o->cfg.proto = (enum sim_proto)x;
		return err;
	case 's':
		err = opt_word("--steering", v, steering_words, 3, &x);
		o->cfg.steering = (enum nat_steering)x;
		return err;
	case 'F':
		err = opt_word("--fields", v, fields_words, 2, &x);
		o->cfg.endpoint_fields = x == 1;
		return err;
	case 'S':
		if (cli_parse_uint(v, 0, ~0ul, &seed))
			return cli_usage_error("--seed", "'%s' is not a number", v);
		o->cfg.seed = seed;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	}
	return CLI_USAGE;
}

static int parse_sim_opts(struct sim_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"queues", required_argument, NULL, 'q'},
	    {"flows", required_argument, NULL, 'f'},
	    {"hosts", required_argument, NULL, 'H'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"table-size", required_argument, NULL, 't'},
	    {"proto", required_argument, NULL, 'p'},
	    {"steering", required_argument, NULL, 's'},
	    {"fields", required_argument, NULL, 'F'},
	    {"seed", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {0},
	};
	int c;

	sim_config_default(&o->cfg);
	o->json = false;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == '?')
			return cli_usage_error(argv[optind - 1], optopt
								     ? "needs a value"
								     : "unknown option (see "
								       "'rssnat help simulate')");
		if (parse_option(o, c, optarg))
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	return 0;
}

/* clang-format off */
#define QUEUE_FIELDS(X) \
	X(rx_lan) \
	X(rx_wan) \
	X(rx_handoff) \
	X(local) \
	X(handoff) \
	X(dropped) \
	X(sessions_created) \
	X(port_kept) \
	X(port_steered) \
	X(port_unsteered)
/* clang-format on */

static void print_text(const struct sim_opts *o, const struct sim_result *r)
{
	const struct sim_config *c = &o->cfg;

	printf("simulate: queues=%u flows=%u proto=%s steering=%s fields=%s seed=%llu\n", c->queues,
	       c->flows, proto_words[c->proto], steering_words[c->steering],
	       fields_words[c->endpoint_fields], (unsigned long long)c->seed);
	for (unsigned q = 0; q < c->queues; q++) {
		const struct nat_counters *n = &r->queue[q];
		printf("queue=%u", q);
#define PRINT_FIELD(f) printf(" " #f "=%llu", (unsigned long long)n->f);
		QUEUE_FIELDS(PRINT_FIELD)
#undef PRINT_FIELD
		printf("\n");
	}
	for (int d = 0; d < NAT_DROP_COUNT; d++) {
		uint64_t sum = 0;
		for (unsigned q = 0; q < c->queues; q++)
			sum += r->queue[q].drop[d];
		if (sum)
			printf("drop %s=%llu: %s\n", nat_drop_name((enum nat_drop)d),
			       (unsigned long long)sum, nat_drop_text((enum nat_drop)d));
	}
	if (r->bad_checksum || r->bad_translation || r->ring_full)
		printf("bad_checksum=%llu bad_translation=%llu ring_full=%llu\n",
		       (unsigned long long)r->bad_checksum, (unsigned long long)r->bad_translation,
		       (unsigned long long)r->ring_full);
	printf("flows=%llu completed=%llu lost=%llu local_pkts=%llu handoff_pkts=%llu\n",
	       (unsigned long long)r->flows, (unsigned long long)r->completed,
	       (unsigned long long)r->lost, (unsigned long long)r->local_pkts,
	       (unsigned long long)r->handoff_pkts);
}

static void print_json(const struct sim_opts *o, const struct sim_result *r)
{
	const struct sim_config *c = &o->cfg;

	printf(
	    "{\"queues\":%u,\"proto\":\"%s\",\"steering\":\"%s\",\"fields\":\"%s\",\"seed\":%llu,"
	    "\"per_queue\":[",
	    c->queues, proto_words[c->proto], steering_words[c->steering],
	    fields_words[c->endpoint_fields], (unsigned long long)c->seed);
	for (unsigned q = 0; q < c->queues; q++) {
		const struct nat_counters *n = &r->queue[q];
		printf("%s{\"queue\":%u", q ? "," : "", q);
#define JSON_FIELD(f) printf(",\"" #f "\":%llu", (unsigned long long)n->f);
		QUEUE_FIELDS(JSON_FIELD)
#undef JSON_FIELD
		printf("}");
	}
	printf("],\"drops\":{");
	int first = 1;
	for (int d = 0; d < NAT_DROP_COUNT; d++) {
		uint64_t sum = 0;
		for (unsigned q = 0; q < c->queues; q++)
			sum += r->queue[q].drop[d];
		if (sum) {
			printf("%s\"%s\":%llu", first ? "" : ",", nat_drop_name((enum nat_drop)d),
			       (unsigned long long)sum);
			first = 0;
		}
	}
	printf("},\"bad_checksum\":%llu,\"bad_translation\":%llu,\"ring_full\":%llu,"
	       "\"flows\":%llu,\"completed\":%llu,\"lost\":%llu,\"local_pkts\":%llu,"
	       "\"handoff_pkts\":%llu}\n",
	       (unsigned long long)r->bad_checksum, (unsigned long long)r->bad_translation,
	       (unsigned long long)r->ring_full, (unsigned long long)r->flows,
	       (unsigned long long)r->completed, (unsigned long long)r->lost,
	       (unsigned long long)r->local_pkts, (unsigned long long)r->handoff_pkts);
}

int cli_simulate(int argc, char **argv)
{
	struct sim_opts o;
	struct sim_result *r;
	const char *why = "";
	int err = parse_sim_opts(&o, argc, argv);

	if (err)
		return err;
	r = malloc(sizeof(*r));
	if (!r) {
		fprintf(stderr, "rssnat: out of memory\n");
		return CLI_FAILED;
	}
	err = sim_run(&o.cfg, r, &why);
	if (err) {
		fprintf(stderr, "rssnat: simulate: %s\n", why);
		free(r);
		return CLI_FAILED;
	}
	if (o.json)
		print_json(&o, r);
	else
		print_text(&o, r);
	free(r);
	return CLI_OK;
}
