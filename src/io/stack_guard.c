/* stack_guard.c - attach and remove bpf/stack_guard.bpf.c on an interface's
 * tc ingress (see io.h). */
#include "io.h"
#include "io_internal.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

enum {
	GUARD_HANDLE = 0x5253, /* "RS": ours, so detach removes only this filter */
	GUARD_PRIORITY = 1,
};

int io_stack_guard_attach(const char *ifname, const char **why)
{
	struct bpf_object_open_opts opts;
	int ifindex = (int)if_nametoindex(ifname), err;
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;
	struct bpf_program *prog;
	struct bpf_object *obj;

	if (!ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "stack_guard");
	obj = bpf_object__open_mem(io_stack_guard_bpf, io_stack_guard_bpf_len, &opts);
	if (!obj) {
		*why = "the embedded stack guard object is unreadable";
		return -EINVAL;
	}
	prog = bpf_object__find_program_by_name(obj, "stack_guard");
	if (!prog || bpf_object__load(obj)) {
		*why = "cannot load the stack guard program (root?)";
		bpf_object__close(obj);
		return -EINVAL;
	}
	io_tc_hook(&hook, ifindex, BPF_TC_INGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		*why = "cannot add the clsact qdisc";
	} else {
		io_tc_opts(&tc, bpf_program__fd(prog), BPF_TC_F_REPLACE, GUARD_HANDLE,
			   GUARD_PRIORITY);
		if ((err = bpf_tc_attach(&hook, &tc)))
			*why = "cannot attach the tc ingress filter";
	}
	bpf_object__close(obj); /* the filter keeps the program */
	return err;
}

void io_stack_guard_detach(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;

	if (!ifindex)
		return;
	io_tc_hook(&hook, ifindex, BPF_TC_INGRESS);
	io_tc_opts(&tc, 0, 0, GUARD_HANDLE, GUARD_PRIORITY);
	(void)bpf_tc_detach(&hook, &tc);
}
