/* cmd_io_tc.c - `rssnat io tc-rss`: emulate a NIC's RSS on a veth pair for
 * the afxdp backend, with an RSS snapshot built like the gateway's
 * (Microsoft key, 128 entries round robin over N queues, 4-tuple unless
 * --fields); the work is io_tc_rss_attach() (src/io/tc_rss.c). */
#include "cli.h"
#include "commands.h"
#include "../io/io.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_opts {
	const char *iface;
	unsigned queues;
	unsigned side; /* enum pkt_side */
	unsigned fields;
	bool icmp_ports;
};

static int parse_option(struct tc_opts *o, int c, const char *v)
{
	unsigned long n;

	switch (c) {
	case 'i':
		o->iface = v;
		return 0;
	case 'q':
		if (cli_parse_uint(v, 1, RSS_QUEUES_MAX, &n))
			return cli_usage_error("--queues", "'%s' is not a number from 1 to 64", v);
		o->queues = (unsigned)n;
		return 0;
	case 's':
		if (strcmp(v, "lan") && strcmp(v, "wan"))
			return cli_usage_error("--side", "'%s' is not lan or wan", v);
		o->side = strcmp(v, "lan") ? PKT_SIDE_WAN : PKT_SIDE_LAN;
		return 0;
	case 'f':
		if (rss_fields_parse(v, &o->fields))
			return cli_usage_error("--fields", "'%s' is not a subset of sdfn", v);
		return 0;
	case 'I':
		o->icmp_ports = true;
		return 0;
	}
	return CLI_USAGE;
}

static int parse_tc_opts(struct tc_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"iface", required_argument, NULL, 'i'}, {"queues", required_argument, NULL, 'q'},
	    {"side", required_argument, NULL, 's'},  {"fields", required_argument, NULL, 'f'},
	    {"icmp-ports", no_argument, NULL, 'I'},  {0},
	};
	int c;

	*o = (struct tc_opts){.queues = 1, .side = PKT_SIDE_LAN, .fields = RSS_F_4TUPLE};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == '?')
			return cli_usage_error(
			    argv[optind - 1], optopt
						  ? "needs a value"
						  : "unknown option (see 'rssnat help io tc-rss')");
		if (parse_option(o, c, optarg))
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	if (!o->iface)
		return cli_usage_error("--iface", "is required");
	return 0;
}

int cli_io_tc_rss(int argc, char **argv)
{
	struct tc_opts o;
	struct rss_config cfg;
	struct rss_snapshot *snap = NULL;
	const char *why = "";
	int err;

	if ((err = parse_tc_opts(&o, argc, argv)))
		return err;
	rss_config_default(&cfg, o.queues);
	if (o.side == PKT_SIDE_LAN)
		cfg.fields_lan = o.fields;
	else
		cfg.fields_wan = o.fields;
	cfg.icmp_id_as_port = o.icmp_ports;
	if (rss_snapshot_create(&cfg, 1, &snap, &why)) {
		fprintf(stderr, "rssnat: io tc-rss: %s\n", why);
		return CLI_FAILED;
	}
	err = io_tc_rss_attach(o.iface, snap, o.side, o.queues, &why);
	rss_snapshot_destroy(snap);
	if (err) {
		fprintf(stderr, "rssnat: %s: %s\n", o.iface, why);
		return CLI_FAILED;
	}
	printf("tc-rss: %s egress steers by the engine's RSS over %u queues\n", o.iface, o.queues);
	return CLI_OK;
}
