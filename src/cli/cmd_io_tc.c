/* cmd_io_tc.c - `rssnat io tc-rss`: emulate a NIC's RSS on a veth pair for
 * the afxdp backend. Attaches bpf/tc_rss.bpf.c to the egress of IF (the
 * peer that sends into the gateway), its maps filled from an RSS snapshot
 * built like the gateway's (Microsoft key, 128 entries round robin over N
 * queues, 4-tuple unless --fields), so that a frame leaves on transmit queue
 * Q and the other end receives it on receive queue Q, the engine's queue.
 *
 * The filter holds the program and the program its maps: the command exits
 * and the steering stays until the filter or the interface goes.
 */
#include "cli.h"
#include "commands.h"
#include "../io/io_internal.h"
#include "../io/rss_maps.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
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

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Fill slot 0 of the program's state and make it the active one. */
static int fill_maps(struct bpf_object *obj, const struct tc_opts *o,
		     const struct rss_snapshot *snap, const char **why)
{
	struct bpf_map *state = bpf_object__find_map_by_name(obj, "rss_state");
	struct bpf_map *active = bpf_object__find_map_by_name(obj, "rss_active");
	struct io_rss_state *st = malloc(sizeof(*st));
	__u32 zero = 0;
	int err = 0;

	if (!state || !active || !st) {
		free(st);
		*why = st ? "the tc object lacks its maps" : "out of memory";
		return -ENOENT;
	}
	if (!(err = io_rss_state_fill(st, snap, o->side, o->queues, why)) &&
	    (bpf_map_update_elem(bpf_map__fd(state), &zero, st, BPF_ANY) ||
	     bpf_map_update_elem(bpf_map__fd(active), &zero, &zero, BPF_ANY))) {
		err = -errno;
		*why = "cannot write the RSS maps";
	}
	free(st);
	return err;
}

static int attach(int ifindex, int prog_fd, const char **why)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = ifindex, .attach_point = BPF_TC_EGRESS};
	struct bpf_tc_opts opts = {.sz = sizeof(opts),
				   .prog_fd = prog_fd,
				   .handle = 1,
				   .priority = 1,
				   .flags = BPF_TC_F_REPLACE};
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST) {
		*why = "cannot add the clsact qdisc";
		return err;
	}
	if ((err = bpf_tc_attach(&hook, &opts)))
		*why = "cannot attach the tc egress filter";
	return err;
}

static int load_and_attach(const struct tc_opts *o, const struct rss_snapshot *snap,
			   const char **why)
{
	struct bpf_object_open_opts opts = {.sz = sizeof(opts), .object_name = "tc_rss"};
	struct bpf_object *obj;
	struct bpf_program *prog, *fanout;
	int ifindex = (int)if_nametoindex(o->iface), err;

	if (!ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	libbpf_set_print(libbpf_quiet);
	obj = bpf_object__open_mem(io_tc_rss_bpf, io_tc_rss_bpf_len, &opts);
	if (!obj) {
		*why = "the embedded tc object is unreadable";
		return -EINVAL;
	}
	prog = bpf_object__find_program_by_name(obj, "tc_rss");
	fanout = bpf_object__find_program_by_name(obj, "rss_fanout");
	if (!prog) {
		*why = "the embedded tc object lacks tc_rss()";
		err = -ENOENT;
	} else {
		if (fanout)
			bpf_program__set_autoload(fanout, false); /* the afpacket one */
		err = bpf_object__load(obj) ? -EINVAL : 0;
		if (err)
			*why = "cannot load the tc program (root? verifier?)";
	}
	if (!err && !(err = fill_maps(obj, o, snap, why)))
		err = attach(ifindex, bpf_program__fd(prog), why);
	bpf_object__close(obj); /* the filter keeps the program and its maps */
	return err;
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
	err = load_and_attach(&o, snap, &why);
	rss_snapshot_destroy(snap);
	if (err) {
		fprintf(stderr, "rssnat: %s: %s\n", o.iface, why);
		return CLI_FAILED;
	}
	printf("tc-rss: %s egress steers by the engine's RSS over %u queues\n", o.iface, o.queues);
	return CLI_OK;
}
