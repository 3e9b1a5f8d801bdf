/* offload.c - load, attach and fill the kernel fast path (see offload.h). */
#include "offload.h"

#include "../io/io_internal.h"
#include "../io/wan_claim.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	OFFLOAD_PRIORITY = 1,	/* before the stack guard (stack_guard.c) */
	OFFLOAD_ANY_HANDLE = 0, /* the kernel chooses one that is free */
	OFFLOAD_IFACES_MAX = 2,
};

_Static_assert(sizeof(struct offload_flow) == 64,
	       "a flow's value is one cache line (offload_maps.h)");

struct io_offload {
	struct bpf_object *obj;
	int tc_fd, sock_fd;
	int flows, neighs, conf, stats;
	struct io_guard filter[OFFLOAD_IFACES_MAX]; /* as attached */
	unsigned n_ifaces;
};

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -1;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -1;
}

static int load(struct io_offload *o, const struct io_wan_claim *wc, const char **why)
{
	struct bpf_object_open_opts opts;

	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "offload");
	o->obj = bpf_object__open_mem(io_offload_bpf, io_offload_bpf_len, &opts);
	if (!o->obj) {
		*why = "the embedded fast path object is unreadable";
		return -EINVAL;
	}
	if (io_wan_claim_reuse_maps(wc, o->obj, why))
		return -EINVAL;
	if (bpf_object__load(o->obj)) {
		*why = "the kernel refused the fast path programs or maps (no BTF, old kernel, "
		       "not root?)";
		return -EINVAL;
	}
	o->tc_fd = prog_fd(o->obj, "offload_tc");
	o->sock_fd = prog_fd(o->obj, "offload_sock");
	o->flows = map_fd(o->obj, "offload_flows");
	o->neighs = map_fd(o->obj, "offload_neighs");
	o->conf = map_fd(o->obj, "offload_conf");
	o->stats = map_fd(o->obj, "offload_stats");
	if (o->tc_fd < 0 || o->sock_fd < 0 || o->flows < 0 || o->neighs < 0 || o->conf < 0 ||
	    o->stats < 0) {
		*why = "the fast path object lacks a program or a map";
		return -ENOENT;
	}
	return 0;
}

static int write_conf(struct io_offload *o, bool on, uint64_t fresh_ns)
{
	struct offload_conf c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(o->conf, &zero, &c))
		return -errno;
	c.enabled = on;
	if (fresh_ns)
		c.neigh_fresh_ns = fresh_ns;
	return bpf_map_update_elem(o->conf, &zero, &c, BPF_ANY) ? -errno : 0;
}

int io_offload_open(struct io_offload **out, uint64_t neigh_fresh_ns, const struct io_wan_claim *wc,
		    const char **why)
{
	struct io_offload *o = calloc(1, sizeof(*o));
	int err;

	*out = NULL;
	if (!o) {
		*why = "out of memory";
		return -ENOMEM;
	}
	/* Disabled until the caller has attached everything. */
	if ((err = load(o, wc, why)) || (err = write_conf(o, false, neigh_fresh_ns))) {
		if (err == -EPERM || !*why)
			*why = "cannot write the fast path's configuration map";
		io_offload_close(o);
		return err;
	}
	*out = o;
	return 0;
}

int io_offload_reuse_maps(const struct io_offload *o, struct bpf_object *obj, const char **why)
{
	static const char *const names[] = {"offload_flows", "offload_neighs", "offload_conf"};
	const int fds[] = {o->flows, o->neighs, o->conf};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, names[i]);
		if (!m || bpf_map__reuse_fd(m, fds[i])) {
			*why = "cannot give the XDP program the fast path's maps";
			return -EINVAL;
		}
	}
	return 0;
}

int io_offload_sock_fd(const struct io_offload *o)
{
	return o->sock_fd;
}

int io_offload_attach(struct io_offload *o, int ifindex, struct io_guard *out, const char **why)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;
	int err;

	memset(out, 0, sizeof(*out));
	if (o->n_ifaces == OFFLOAD_IFACES_MAX) {
		*why = "the fast path is already on two interfaces";
		return -ENOSPC;
	}
	io_tc_hook(&hook, ifindex, BPF_TC_INGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		*why = "cannot add the clsact qdisc for the fast path";
		return err;
	}
	/* No BPF_TC_F_REPLACE: a new filter, never someone else's. */
	io_tc_opts(&tc, o->tc_fd, 0, OFFLOAD_ANY_HANDLE, OFFLOAD_PRIORITY);
	if ((err = bpf_tc_attach(&hook, &tc))) {
		*why = "the kernel refused the fast path's tc ingress filter";
		return err;
	}
	*out = (struct io_guard){ifindex, tc.handle, tc.priority, tc.prog_id};
	o->filter[o->n_ifaces++] = *out;
	return 0;
}

void io_offload_close(struct io_offload *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < o->n_ifaces; i++)
		(void)io_stack_guard_detach(&o->filter[i]); /* ours, if still there */
	bpf_object__close(o->obj);			    /* the maps go with their last fd */
	free(o);
}

int io_offload_set_enabled(struct io_offload *o, bool on)
{
	return write_conf(o, on, 0);
}

int io_offload_flow_put(struct io_offload *o, const struct offload_key *k,
			const struct offload_flow *f)
{
	if (bpf_map_update_elem(o->flows, k, f, BPF_ANY) == 0)
		return 0;
	return errno == E2BIG ? -ENOSPC : -errno;
}

int io_offload_flow_del(struct io_offload *o, const struct offload_key *k)
{
	return bpf_map_delete_elem(o->flows, k) ? -errno : 0;
}

int io_offload_flow_get(struct io_offload *o, const struct offload_key *k, struct offload_flow *out)
{
	return bpf_map_lookup_elem(o->flows, k, out) ? -errno : 0;
}

int io_offload_neigh_put(struct io_offload *o, int ifindex, uint32_t addr, const uint8_t mac[6],
			 uint64_t published_ns)
{
	struct offload_neigh_key k = {.ifindex = (__u32)ifindex, .addr = addr};
	struct offload_neigh n;

	memset(&n, 0, sizeof(n));
	memcpy(n.mac, mac, 6);
	n.published_ns = published_ns;
	return bpf_map_update_elem(o->neighs, &k, &n, BPF_ANY) ? -errno : 0;
}

int io_offload_neigh_del(struct io_offload *o, int ifindex, uint32_t addr)
{
	struct offload_neigh_key k = {.ifindex = (__u32)ifindex, .addr = addr};

	return bpf_map_delete_elem(o->neighs, &k) && errno != ENOENT ? -errno : 0;
}

int io_offload_forwarded_per_cpu(struct io_offload *o, uint64_t *out, int max)
{
	static uint64_t per_cpu[IO_CPUS_MAX];
	int cpus = libbpf_num_possible_cpus();
	__u32 s = OFFLOAD_STAT_forwarded;

	if (cpus <= 0 || cpus > IO_CPUS_MAX || bpf_map_lookup_elem(o->stats, &s, per_cpu))
		return 0;
	cpus = cpus < max ? cpus : max;
	memcpy(out, per_cpu, (size_t)cpus * sizeof(*out));
	return cpus;
}

void io_offload_stats(struct io_offload *o, uint64_t out[OFFLOAD_STAT_COUNT])
{
	static uint64_t per_cpu[IO_CPUS_MAX];
	int cpus = libbpf_num_possible_cpus();

	memset(out, 0, OFFLOAD_STAT_COUNT * sizeof(uint64_t));
	if (cpus <= 0 || cpus > IO_CPUS_MAX)
		return;
	for (__u32 s = 0; s < OFFLOAD_STAT_COUNT; s++)
		if (bpf_map_lookup_elem(o->stats, &s, per_cpu) == 0)
			for (int c = 0; c < cpus; c++)
				out[s] += per_cpu[c];
}
