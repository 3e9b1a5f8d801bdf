/* io_opts.h - the options every `rssnat io ...` command takes to name a port
 * and the RSS it is steered by, parsed in one place. */
#ifndef RSSNAT_CLI_IO_OPTS_H
#define RSSNAT_CLI_IO_OPTS_H

#include <stdbool.h>

struct io_port_opts {
	const char *iface;
	unsigned queues;
	unsigned side;	 /* enum pkt_side */
	unsigned fields; /* the side's field set */
	bool icmp_ports; /* icmp_id_as_port */
};

/* io_port_option() - getopt letters i (--iface), q (--queues), s (--side),
 * f (--fields), I (--icmp-ports). Returns 0 when taken, CLI_USAGE after the
 * one-line error for a bad value, 1 when @c is none of these. */
int io_port_option(struct io_port_opts *o, int c, const char *v);

struct rss_snapshot;
/* io_port_snapshot() - the gateway's default RSS (rss_config_default) over
 * o->queues, with the side's field set and the ICMP choice from @o.
 * Returns 0, or nonzero with *why. */
int io_port_snapshot(const struct io_port_opts *o, struct rss_snapshot **snap, const char **why);

#endif
