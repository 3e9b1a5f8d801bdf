/* rss_opts.c - one small parser per option, found through one table. */
#include "rss_opts.h"
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int opt_key(struct rss_opts *o, const char *v)
{
	const char *why = "";

	if (rss_key_parse(v, &o->cfg.key, &why))
		return cli_usage_error("--key", "%s", why);
	return 0;
}

static int opt_fields(struct rss_opts *o, const char *v)
{
	if (rss_fields_parse(v, &o->fields))
		return cli_usage_error("--fields",
				       "'%s' is not a subset of sdfn (s=source address, "
				       "d=destination address, f=source port, n=destination port)",
				       v);
	o->fields_given = true;
	return 0;
}

static int opt_table_size(struct rss_opts *o, const char *v)
{
	unsigned long n;

	if (cli_parse_uint(v, 1, RSS_TABLE_MAX, &n) || !rss_table_size_valid((unsigned)n))
		return cli_usage_error("--table-size", "'%s' is not a power of two from 1 to 512",
				       v);
	o->cfg.table_size = (unsigned)n;
	return 0;
}

static int opt_queues(struct rss_opts *o, const char *v)
{
	unsigned long n;

	if (cli_parse_uint(v, 1, RSS_QUEUES_MAX, &n))
		return cli_usage_error("--queues", "'%s' is not a number from 1 to 64", v);
	o->cfg.queues = (unsigned)n;
	return 0;
}

static int opt_weights(struct rss_opts *o, const char *v)
{
	char buf[512], *save = NULL;
	unsigned n = 0, live = 0;

	if (strlen(v) >= sizeof(buf))
		return cli_usage_error("--weights", "too long");
	strcpy(buf, v);
	memset(o->cfg.weights, 0, sizeof(o->cfg.weights));
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned long x;
		if (n == RSS_QUEUES_MAX || cli_parse_uint(w, 0, 1000000, &x))
			return cli_usage_error("--weights",
					       "'%s' is not a list of up to 64 "
					       "weights from 0 to 1000000, like 3,1",
					       v);
		o->cfg.weights[n++] = (unsigned)x;
		live += x != 0;
	}
	if (!live)
		return cli_usage_error("--weights", "'%s' gives no queue a weight", v);
	o->cfg.queues = n;
	return 0;
}

static int opt_impl(struct rss_opts *o, const char *v)
{
	if (!strcmp(v, "auto"))
		o->impl = RSS_OPTS_IMPL_AUTO;
	else if (!strcmp(v, "reference"))
		o->impl = RSS_OPTS_IMPL_REFERENCE;
	else if (!strcmp(v, "table"))
		o->impl = RSS_IMPL_TABLE;
	else if (!strcmp(v, "gfni"))
		o->impl = RSS_IMPL_GFNI;
	else
		return cli_usage_error("--impl", "'%s' is not one of auto, reference, table, gfni",
				       v);
	if (o->impl == RSS_IMPL_GFNI && !rss_impl_available(RSS_IMPL_GFNI))
		return cli_usage_error("--impl", "gfni needs GFNI and AVX-512 VBMI, which this CPU "
						 "lacks");
	return 0;
}

static int opt_json(struct rss_opts *o, const char *v)
{
	(void)v;
	o->json = true;
	return 0;
}

static int opt_bucket(struct rss_opts *o, const char *v)
{
	unsigned long n;

	if (cli_parse_uint(v, 0, RSS_TABLE_MAX - 1, &n))
		return cli_usage_error("--bucket", "'%s' is not a bucket number", v);
	o->bucket = (long)n;
	return 0;
}

static int opt_queue(struct rss_opts *o, const char *v)
{
	unsigned long n;

	if (cli_parse_uint(v, 0, RSS_QUEUES_MAX - 1, &n))
		return cli_usage_error("--queue", "'%s' is not a queue number", v);
	o->queue = (long)n;
	return 0;
}

static int opt_port(struct rss_opts *o, const char *v)
{
	if (!strcmp(v, "src"))
		o->port_field = RSS_F_SRC_PORT;
	else if (!strcmp(v, "dst"))
		o->port_field = RSS_F_DST_PORT;
	else
		return cli_usage_error("--port", "'%s' is neither src nor dst", v);
	return 0;
}

static int opt_range(struct rss_opts *o, const char *v)
{
	char buf[32], *dash;

	if (strlen(v) >= sizeof(buf))
		return cli_usage_error("--range", "'%s' is not LO-HI", v);
	strcpy(buf, v);
	dash = strchr(buf, '-');
	if (!dash)
		return cli_usage_error("--range", "'%s' is not LO-HI", v);
	*dash = '\0';
	if (cli_parse_uint(buf, 0, 65535, &o->range_lo) ||
	    cli_parse_uint(dash + 1, 0, 65535, &o->range_hi) || o->range_lo > o->range_hi)
		return cli_usage_error("--range", "'%s' is not LO-HI with 0 <= LO <= HI <= 65535",
				       v);
	return 0;
}

static int opt_limit(struct rss_opts *o, const char *v)
{
	if (cli_parse_uint(v, 0, 65536, &o->limit))
		return cli_usage_error("--limit", "'%s' is not a number from 0 (all) to 65536", v);
	return 0;
}

static const struct {
	char letter;
	const char *name;
	int has_arg;
	int (*parse)(struct rss_opts *o, const char *value);
} options[] = {
    {'k', "key", required_argument, opt_key},
    {'f', "fields", required_argument, opt_fields},
    {'t', "table-size", required_argument, opt_table_size},
    {'q', "queues", required_argument, opt_queues},
    {'w', "weights", required_argument, opt_weights},
    {'i', "impl", required_argument, opt_impl},
    {'j', "json", no_argument, opt_json},
    {'b', "bucket", required_argument, opt_bucket},
    {'Q', "queue", required_argument, opt_queue},
    {'p', "port", required_argument, opt_port},
    {'r', "range", required_argument, opt_range},
    {'l', "limit", required_argument, opt_limit},
};
enum { N_OPTIONS = sizeof(options) / sizeof(options[0]) };

int rss_opts_parse(struct rss_opts *o, const char *allowed, int argc, char **argv)
{
	struct option longopts[N_OPTIONS + 1];
	int n = 0, c, index;

	memset(o, 0, sizeof(*o));
	rss_config_default(&o->cfg, 1);
	o->impl = RSS_OPTS_IMPL_AUTO;
	o->bucket = o->queue = -1;
	o->port_field = RSS_F_DST_PORT;
	o->range_hi = 65535;
	o->limit = 16;
	for (int i = 0; i < N_OPTIONS; i++)
		if (strchr(allowed, options[i].letter))
			longopts[n++] = (struct option){options[i].name, options[i].has_arg, NULL,
							options[i].letter};
	longopts[n] = (struct option){0};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, &index)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			if (optopt && !strncmp(bad, "--", 2) && strchr(allowed, optopt))
				return cli_usage_error(bad, "needs a value");
			return cli_usage_error(bad,
					       "unknown option for '%s' (see 'rssnat help %s')",
					       argv[0], argv[0]);
		}
		for (int i = 0; i < N_OPTIONS; i++)
			if (options[i].letter == c && options[i].parse(o, optarg))
				return CLI_USAGE;
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	return 0;
}
