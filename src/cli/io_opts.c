/* io_opts.c - the port options of the `rssnat io ...` commands. */
#include "io_opts.h"
#include "cli.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <string.h>

int io_port_option(struct io_port_opts *o, int c, const char *v)
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
	return 1;
}

int io_port_snapshot(const struct io_port_opts *o, struct rss_snapshot **snap, const char **why)
{
	struct rss_config cfg;

	rss_config_default(&cfg, o->queues);
	if (o->side == PKT_SIDE_LAN)
		cfg.fields_lan = o->fields;
	else
		cfg.fields_wan = o->fields;
	cfg.icmp_id_as_port = o->icmp_ports;
	return rss_snapshot_create(&cfg, 1, snap, why);
}
