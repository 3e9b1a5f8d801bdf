/* cmd_io_tc.c - `rssnat io tc-rss`: emulate a NIC's RSS on a veth pair for
 * the afxdp backend, with an RSS snapshot built like the gateway's
 * (Microsoft key, 128 entries round robin over N queues, 4-tuple unless
 * --fields); the work is io_tc_rss_attach() (src/io/tc_rss.c). */
#include "cli.h"
#include "commands.h"
#include "io_opts.h"
#include "../io/io.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_opts {
	struct io_port_opts port;
};

static int parse_tc_opts(struct tc_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"iface", required_argument, NULL, 'i'}, {"queues", required_argument, NULL, 'q'},
	    {"side", required_argument, NULL, 's'},  {"fields", required_argument, NULL, 'f'},
	    {"icmp-ports", no_argument, NULL, 'I'},  {0},
	};
	int c;

	*o = (struct tc_opts){.port = {.queues = 1, .side = PKT_SIDE_LAN, .fields = RSS_F_4TUPLE}};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == '?')
			return cli_usage_error(
			    argv[optind - 1], optopt
						  ? "needs a value"
						  : "unknown option (see 'rssnat help io tc-rss')");
		if (io_port_option(&o->port, c, optarg))
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	if (!o->port.iface)
		return cli_usage_error("--iface", "is required");
	return 0;
}

int cli_io_tc_rss(int argc, char **argv)
{
	struct tc_opts o;
	struct rss_snapshot *snap = NULL;
	const char *why = "";
	int err;

	if ((err = parse_tc_opts(&o, argc, argv)))
		return err;
	if (io_port_snapshot(&o.port, &snap, &why)) {
		fprintf(stderr, "rssnat: io tc-rss: %s\n", why);
		return CLI_FAILED;
	}
	err = io_tc_rss_attach(o.port.iface, snap, o.port.side, o.port.queues, &why);
	rss_snapshot_destroy(snap);
	if (err) {
		fprintf(stderr, "rssnat: %s: %s\n", o.port.iface, why);
		return CLI_FAILED;
	}
	printf("tc-rss: %s egress steers by the engine's RSS over %u queues\n", o.port.iface,
	       o.port.queues);
	return CLI_OK;
}
