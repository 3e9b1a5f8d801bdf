/* tc_rss.c - emulate a NIC's RSS on a veth pair, for the afxdp backend.
 *
 * Attaches bpf/tc_rss.bpf.c to the egress of an interface (the veth peer
 * that sends into the gateway), its maps filled from an RSS snapshot, so
 * that a frame leaves on transmit queue Q and the other end receives it on
 * receive queue Q: the engine's queue. The filter holds the program and the
 * program its maps: the steering stays until the filter or the interface
 * goes.
 */
#include "io.h"
#include "io_internal.h"
#include "rss_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>

/* Fill slot 0 of the program's state and make it the active one. */
static int fill_maps(struct bpf_object *obj, const struct rss_snapshot *snap, unsigned side,
		     unsigned queues, const char **why)
{
	struct bpf_map *state = bpf_object__find_map_by_name(obj, "rss_state");
	struct bpf_map *active = bpf_object__find_map_by_name(obj, "rss_active");
	struct io_rss_state *st = malloc(sizeof(*st));
	unsigned slot = 1; /* so that slot 0 is the idle one, filled first */
	int err;

	if (!state || !active || !st) {
		free(st);
		*why = st ? "the tc object lacks its maps" : "out of memory";
		return -ENOENT;
	}
	err = io_rss_maps_flip(bpf_map__fd(state), bpf_map__fd(active), &slot, st, snap, side,
			       queues, why);
	free(st);
	return err;
}

static int attach(int ifindex, int prog_fd, const char **why)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	io_tc_hook(&hook, ifindex, BPF_TC_EGRESS);
	io_tc_opts(&opts, prog_fd, BPF_TC_F_REPLACE, 1, 1);
	err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST) {
		*why = "cannot add the clsact qdisc";
		return err;
	}
	if ((err = bpf_tc_attach(&hook, &opts)))
		*why = "cannot attach the tc egress filter";
	return err;
}

int io_tc_rss_attach(const char *ifname, const struct rss_snapshot *snap, unsigned side,
		     unsigned queues, const char **why)
{
	struct bpf_object_open_opts opts;
	struct bpf_object *obj;
	struct bpf_program *prog, *fanout;
	int ifindex = (int)if_nametoindex(ifname), err;

	if (!ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "tc_rss");
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
	if (!err && !(err = fill_maps(obj, snap, side, queues, why)))
		err = attach(ifindex, bpf_program__fd(prog), why);
	bpf_object__close(obj); /* the filter keeps the program and its maps */
	return err;
}
