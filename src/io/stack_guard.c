/* stack_guard.c - attach and remove bpf/stack_guard.bpf.c on an interface's
 * tc ingress (see io.h).
 *
 * Each attach gets a filter of its own: the kernel chooses the handle, and
 * the handle, priority and program id it answers with are what detach
 * removes, after checking that the filter there still runs that program.
 * A handle shared by every rssnat (as this file once used) let one
 * process's exit, or a second instance's failed start, remove the running
 * instance's guard: then the kernel answered the LAN as well (issue 14).
 */
#include "io.h"
#include "io_internal.h"
#include "wan_claim.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

enum {
	GUARD_PRIORITY = 2,   /* after the fast path (offload.c), before the rest */
	GUARD_ANY_HANDLE = 0, /* the kernel chooses one that is free */
};

/* Load the embedded program: its fd, or -errno with *why. The caller
 * closes @obj. */
static int load(struct bpf_object **obj, const struct io_wan_claim *wc, const char **why)
{
	struct bpf_object_open_opts opts;
	struct bpf_program *prog;

	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "stack_guard");
	*obj = bpf_object__open_mem(io_stack_guard_bpf, io_stack_guard_bpf_len, &opts);
	if (!*obj) {
		*why = "the embedded stack guard object is unreadable";
		return -EINVAL;
	}
	prog = bpf_object__find_program_by_name(*obj, "stack_guard");
	if (io_wan_claim_reuse_maps(wc, *obj, why))
		return -EINVAL;
	if (!prog || bpf_object__load(*obj)) {
		*why = "cannot load the stack guard program (root?)";
		return -EINVAL;
	}
	return bpf_program__fd(prog);
}

int io_stack_guard_attach(const char *ifname, const struct io_wan_claim *wc, struct io_guard *out,
			  const char **why)
{
	int ifindex = (int)if_nametoindex(ifname), prog_fd, err;
	struct bpf_object *obj = NULL;
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;

	memset(out, 0, sizeof(*out));
	if (!ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	if ((err = prog_fd = load(&obj, wc, why)) < 0) {
		bpf_object__close(obj);
		return err;
	}
	io_tc_hook(&hook, ifindex, BPF_TC_INGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		*why = "cannot add the clsact qdisc";
	} else {
		/* No BPF_TC_F_REPLACE: a new filter, never someone else's. */
		io_tc_opts(&tc, prog_fd, 0, GUARD_ANY_HANDLE, GUARD_PRIORITY);
		if ((err = bpf_tc_attach(&hook, &tc)))
			*why = "cannot attach the tc ingress filter";
		else
			*out = (struct io_guard){ifindex, tc.handle, tc.priority, tc.prog_id};
	}
	bpf_object__close(obj); /* the filter keeps the program */
	return err;
}

bool io_stack_guard_detach(const struct io_guard *g)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;

	if (!g->ifindex || !g->handle || !g->priority || !g->prog_id)
		return false;
	/* A filter gone with its interface or qdisc is no error to print:
	 * libbpf would, before the caller's one line. */
	libbpf_set_print(io_libbpf_quiet);
	io_tc_hook(&hook, g->ifindex, BPF_TC_INGRESS);
	/* Only if the filter at that handle still runs the program attached
	 * there: not one that took its place since. */
	io_tc_opts(&tc, 0, 0, g->handle, g->priority);
	if (bpf_tc_query(&hook, &tc) || tc.prog_id != g->prog_id)
		return false;
	io_tc_opts(&tc, 0, 0, g->handle, g->priority);
	return bpf_tc_detach(&hook, &tc) == 0;
}
