/* rss_opts.h - options shared by the `rssnat rss ...` and `bench rss` commands. */
#ifndef RSSNAT_CLI_RSS_OPTS_H
#define RSSNAT_CLI_RSS_OPTS_H

#include "../rss/rss.h"

enum { RSS_OPTS_IMPL_AUTO = -1, RSS_OPTS_IMPL_REFERENCE = -2 };

struct rss_opts {
	struct rss_config cfg;
	bool fields_given;
	unsigned fields;
	int impl; /* RSS_OPTS_IMPL_* or enum rss_impl */
	bool json;
	/* rss solve */
	long bucket, queue; /* -1: not given */
	unsigned port_field;
	unsigned long range_lo, range_hi, limit;
	/* positional arguments left after the options */
	int argc;
	char **argv;
};

/* rss_opts_parse() - parse argv into @o; only options whose letter is in
 * @allowed are accepted (k key, f fields, t table-size, q queues, w weights,
 * i impl, j json, b bucket, Q queue, p port, r range, l limit).
 * Returns 0 or CLI_USAGE after printing the one-line error. */
int rss_opts_parse(struct rss_opts *o, const char *allowed, int argc, char **argv);

#endif
