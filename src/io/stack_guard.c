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

/* libbpf rejects options whose bytes past the fields it knows are not
 * zero, padding included: zero the whole struct, then fill it. */
static void ingress_hook(struct bpf_tc_hook *hook, int ifindex)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = BPF_TC_INGRESS;
}

static void guard_opts(struct bpf_tc_opts *tc, int prog_fd, __u32 flags)
{
	memset(tc, 0, sizeof(*tc));
	tc->sz = sizeof(*tc);
	tc->prog_fd = prog_fd;
	tc->flags = flags;
	tc->handle = GUARD_HANDLE;
	tc->priority = GUARD_PRIORITY;
}

int io_stack_guard_attach(const char *ifname, const char **why)
{
	struct bpf_object_open_opts opts = {.sz = sizeof(opts), .object_name = "stack_guard"};
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
	ingress_hook(&hook, ifindex);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		*why = "cannot add the clsact qdisc";
	} else {
		guard_opts(&tc, bpf_program__fd(prog), BPF_TC_F_REPLACE);
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
	ingress_hook(&hook, ifindex);
	guard_opts(&tc, 0, 0);
	(void)bpf_tc_detach(&hook, &tc);
}
