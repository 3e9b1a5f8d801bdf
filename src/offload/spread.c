/* spread.c - load, fill and attach the fast path's spreading (spread.h). */
#include "spread.h"

#include "../io/io_internal.h"
#include "../io/rss_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum {
	/* Frames a CPU's queue holds before the kthread takes them: the
	 * kernel's samples use 2048 for line rate; a veth burst is a NAPI
	 * budget (64) per poll, a few polls ahead. */
	SPREAD_QSIZE = 2048,
};

struct io_spread {
	struct bpf_object *obj;
	int link_fd;
	int state_fd, active_fd, stats_fd;
	unsigned side, queues, active;
	struct io_rss_state stage; /* set_rss() builds the next state here */
};

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -1;
}

static int load(struct io_spread *s, const char **why)
{
	struct bpf_object_open_opts opts;

	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "spread");
	s->obj = bpf_object__open_mem(io_spread_bpf, io_spread_bpf_len, &opts);
	if (!s->obj) {
		*why = "the embedded spreading object is unreadable";
		return -EINVAL;
	}
	if (bpf_object__load(s->obj)) {
		*why = "the kernel refused the spreading program or its maps";
		return -EINVAL;
	}
	s->state_fd = map_fd(s->obj, "rss_state");
	s->active_fd = map_fd(s->obj, "rss_active");
	s->stats_fd = map_fd(s->obj, "spread_stats");
	if (s->state_fd < 0 || s->active_fd < 0 || s->stats_fd < 0) {
		*why = "the spreading object lacks a map";
		return -ENOENT;
	}
	return 0;
}

/* Queue q's CPU, in both maps: the cpumap (where frames go) and the array
 * the program compares the current CPU with. */
static int fill_cpus(struct io_spread *s, const int *cpus, const char **why)
{
	int cpumap = map_fd(s->obj, "spread_cpus"), cpu_of = map_fd(s->obj, "spread_cpu");

	for (__u32 q = 0; q < s->queues; q++) {
		struct bpf_cpumap_val v;
		__u32 cpu = (__u32)cpus[q];
		memset(&v, 0, sizeof(v));
		v.qsize = SPREAD_QSIZE;
		if (bpf_map_update_elem(cpumap, &q, &v, BPF_ANY) ||
		    bpf_map_update_elem(cpu_of, &q, &cpu, BPF_ANY)) {
			*why = "cannot fill the CPU map (is every worker's CPU online?)";
			return -errno;
		}
	}
	return 0;
}

static int attach(struct io_spread *s, int ifindex, enum io_spread_mode mode, const char **why)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(s->obj, "spread");
	LIBBPF_OPTS(bpf_link_create_opts, opts);

	if (!prog) {
		*why = "the spreading object lacks its program";
		return -ENOENT;
	}
	opts.flags = mode == IO_SPREAD_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	s->link_fd = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &opts);
	if (s->link_fd < 0) {
		*why = errno == EBUSY ? "another XDP program is on the interface"
				      : "the kernel refused the XDP attach";
		return -errno;
	}
	return 0;
}

/* Is /proc/@pid/comm "cpumap/CPU/map:@map_id"? */
static bool is_our_kthread(const char *pid, __u32 map_id)
{
	char path[300], comm[32];
	unsigned cpu, id;
	FILE *f;
	bool ours = false;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if (!(f = fopen(path, "r")))
		return false;
	if (fgets(comm, sizeof(comm), f) && sscanf(comm, "cpumap/%u/map:%u", &cpu, &id) == 2)
		ours = id == map_id;
	fclose(f);
	return ours;
}

int io_spread_nice(struct io_spread *s, int nice)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct dirent *d;
	DIR *proc;
	int n = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd(s->obj, "spread_cpus"), &info, &len) ||
	    !(proc = opendir("/proc")))
		return -errno;
	while ((d = readdir(proc)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9' &&
		    is_our_kthread(d->d_name, info.id))
			n += setpriority(PRIO_PROCESS, (id_t)atoi(d->d_name), nice) == 0;
	closedir(proc);
	return n;
}

int io_spread_open(struct io_spread **out, int ifindex, const struct rss_snapshot *snap,
		   unsigned side, unsigned queues, const int *cpus, enum io_spread_mode mode,
		   const char **why)
{
	struct io_spread *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	if (!s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	s->link_fd = -1;
	s->side = side;
	s->queues = queues;
	s->active = 1; /* the first set_rss() fills slot 0 */
	if (queues > IO_SPREAD_QUEUES_MAX) {
		*why = "more queues than the spreading program knows";
		err = -EINVAL;
	} else if (!(err = load(s, why)) && !(err = fill_cpus(s, cpus, why)) &&
		   !(err = io_spread_set_rss(s, snap, why)))
		err = attach(s, ifindex, mode, why);
	if (err) {
		io_spread_close(s);
		return err;
	}
	*out = s;
	return 0;
}

int io_spread_set_rss(struct io_spread *s, const struct rss_snapshot *snap, const char **why)
{
	return io_rss_maps_flip(s->state_fd, s->active_fd, &s->active, &s->stage, snap, s->side,
				s->queues, why);
}

void io_spread_stats(struct io_spread *s, uint64_t out[IO_SPREAD_STAT_COUNT])
{
	static uint64_t per_cpu[IO_CPUS_MAX];
	int cpus = libbpf_num_possible_cpus();

	if (!s || cpus <= 0 || cpus > IO_CPUS_MAX)
		return;
	for (__u32 k = 0; k < IO_SPREAD_STAT_COUNT; k++)
		if (bpf_map_lookup_elem(s->stats_fd, &k, per_cpu) == 0)
			for (int c = 0; c < cpus; c++)
				out[k] += per_cpu[c];
}

void io_spread_close(struct io_spread *s)
{
	if (!s)
		return;
	if (s->link_fd >= 0)
		close(s->link_fd); /* the link's last fd: the program leaves the interface */
	bpf_object__close(s->obj);
	free(s);
}
