/* mapcost.c - what the kernel fast path's flow map costs, by kind, measured
 * (issue 12: "what a per-CPU map versus a shared map costs; whether RSS
 * locality shows"). bench/mapcost.sh builds src/io/bpf/offload.bpf.c once
 * per map kind (OFFLOAD_FLOWS_TYPE) and runs this in a namespace of its own.
 *
 *   bench-mapcost DIR [--entries N] [--rounds N]
 *
 * For each kind (hash, percpu_hash, lru_hash, lru_percpu_hash), from
 * DIR/offload-KIND.bpf.o: the flow map filled with N entries (both
 * directions of N/2 sessions), then
 *   tc_ns        the tc program's time per frame (BPF_PROG_TEST_RUN, the
 *                kernel's own clock around the loop), one CPU, on a frame
 *                whose two directions rewrite into each other: every run is
 *                a real lookup, rewrite (RFC 1624 checksums) and redirect;
 *   install_ns   one direction put by user space (bpf(2) update; a per-CPU
 *                value is written for every possible CPU);
 *   read_ns      one direction read back (last-seen, counters; a per-CPU
 *                value is read for every CPU and summed);
 * then the same entries written from two CPUs at once (two threads, each
 * pinned, each BPF_PROG_TEST_RUN on a frame that maps onto itself, so the
 * map work is the same while only the TTL changes), ns per frame:
 *   own_ns       each CPU its own session's direction (RSS locality: a
 *                flow's entries written by one CPU);
 *   split_ns     CPU 0 one direction, CPU 1 the other direction of the
 *                same session (the entries installed one after the other:
 *                neighbours in memory);
 *   shared_ns    both CPUs the same direction (one entry, two writers).
 * Each figure is the median of --rounds (5). Prints one line per kind.
 * Every loop is bounded by its repeat counts. Exit 1 on a system error.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/offload/offload_maps.h"

enum {
	REPEAT = 250,	 /* per test run: the TTL (255) must not reach 1 */
	CALLS = 400,	 /* test runs per measurement: 100,000 frames */
	SYSCALLS = 2000, /* installs and reads per measurement */
	ROUNDS_MAX = 21,
	FRAME_LEN = 60,
	LO_IFINDEX = 1, /* a test run's skb arrives on the namespace's lo */
};

struct rig {
	struct bpf_object *obj;
	int prog, flows, neighs, conf;
	int cpus;
	size_t value_size; /* one CPU's, rounded as the kernel lays them out */
	void *value;	   /* a value as bpf(2) takes it: one or one per CPU */
	bool percpu;
};

static const char *const kinds[] = {"hash", "percpu_hash", "lru_hash", "lru_percpu_hash"};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-mapcost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static void pin(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one))
		die("pthread_setaffinity_np");
}

/* ---- frames and entries ---- */

static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An Ethernet + IPv4 + UDP frame, TTL 255, UDP checksum 0 (none). */
static void frame(uint8_t f[FRAME_LEN], uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f + ETH_HLEN, *udp = ip + 20;
	uint16_t c;

	memset(f, 0, FRAME_LEN);
	f[12] = 0x08; /* ETH_P_IP */
	ip[0] = 0x45;
	ip[3] = FRAME_LEN - ETH_HLEN;
	ip[8] = 255;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	c = htons(csum16(ip, 20));
	memcpy(ip + 10, &c, 2);
	sport = htons(sport);
	dport = htons(dport);
	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	udp[5] = FRAME_LEN - ETH_HLEN - 20;
}

static struct offload_key key_of(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct offload_key k;

	memset(&k, 0, sizeof(k));
	k.ifindex = LO_IFINDEX;
	k.saddr = src;
	k.daddr = dst;
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = IPPROTO_UDP;
	return k;
}

/* Put @k -> rewrite to (src, dst, sport, dport), for every CPU. */
static void put(struct rig *r, const struct offload_key *k, uint32_t src, uint32_t dst,
		uint16_t sport, uint16_t dport)
{
	struct offload_flow v;

	memset(&v, 0, sizeof(v));
	v.saddr = src;
	v.daddr = dst;
	v.sport = htons(sport);
	v.dport = htons(dport);
	v.out_ifindex = LO_IFINDEX;
	v.next_hop = dst;
	v.mtu = 1500;
	for (int c = 0; c < (r->percpu ? r->cpus : 1); c++)
		memcpy((char *)r->value + (size_t)c * r->value_size, &v, sizeof(v));
	if (bpf_map_update_elem(r->flows, k, r->value, BPF_ANY))
		die("flow map update");
}

static void neigh(struct rig *r, uint32_t addr)
{
	struct offload_neigh_key k = {.ifindex = LO_IFINDEX, .addr = addr};
	struct offload_neigh n;

	memset(&n, 0, sizeof(n));
	n.published_ns = now_ns();
	if (bpf_map_update_elem(r->neighs, &k, &n, BPF_ANY))
		die("neighbour map update");
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return htonl(a << 24 | b << 16 | c << 8 | d);
}

/* ---- the rig ---- */

static void rig_open(struct rig *r, const char *dir, const char *kind)
{
	char path[512];
	struct offload_conf conf = {.enabled = 1, .neigh_fresh_ns = UINT64_MAX / 2};
	uint32_t zero = 0;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/offload-%s.bpf.o", dir, kind);
	r->obj = bpf_object__open_file(path, NULL);
	if (!r->obj || bpf_object__load(r->obj))
		die(path);
	r->prog = bpf_program__fd(bpf_object__find_program_by_name(r->obj, "offload_tc"));
	r->flows = bpf_map__fd(bpf_object__find_map_by_name(r->obj, "offload_flows"));
	r->neighs = bpf_map__fd(bpf_object__find_map_by_name(r->obj, "offload_neighs"));
	r->conf = bpf_map__fd(bpf_object__find_map_by_name(r->obj, "offload_conf"));
	if (r->prog < 0 || r->flows < 0 || r->neighs < 0 || r->conf < 0)
		die("the object lacks its program or maps");
	if (bpf_map_update_elem(r->conf, &zero, &conf, BPF_ANY))
		die("conf map update");
	r->cpus = libbpf_num_possible_cpus();
	r->percpu = strstr(kind, "percpu") != NULL;
	r->value_size = (sizeof(struct offload_flow) + 7) & ~(size_t)7;
	r->value = calloc((size_t)r->cpus, r->value_size);
	if (!r->value)
		die("calloc");
}

static void rig_close(struct rig *r)
{
	bpf_object__close(r->obj);
	free(r->value);
}

/* Sessions 0..n-1: LAN 10.x.y.z:1000 <-> remote 203.0.113.80:9 as
 * 198.51.100.2:port. Session s's two directions, installed one after the
 * other as the workers do. */
static const uint32_t REMOTE_PORT = 9;

static void session(struct rig *r, unsigned s, bool pingpong)
{
	uint32_t lan = htonl(0x0a000000u | (s + 1)), rem = ip4(203, 0, 113, 80),
		 wan = ip4(198, 51, 100, 2);
	uint16_t ext = (uint16_t)(1024 + s % 60000);
	struct offload_key out = key_of(lan, rem, 1000, REMOTE_PORT),
			   back = key_of(rem, wan, REMOTE_PORT, ext);

	/* pingpong: each direction rewrites its frame into the other's, so a
	 * repeated test run alternates them; else each maps onto itself. */
	if (pingpong) {
		put(r, &out, rem, wan, REMOTE_PORT, ext);
		put(r, &back, lan, rem, 1000, REMOTE_PORT);
	} else {
		put(r, &out, lan, rem, 1000, REMOTE_PORT);
		put(r, &back, rem, wan, REMOTE_PORT, ext);
	}
	if (s == 0) { /* every next hop is one of these two */
		neigh(r, rem);
		neigh(r, wan);
	}
}

static void session_frame(uint8_t f[FRAME_LEN], unsigned s, bool back)
{
	uint32_t lan = htonl(0x0a000000u | (s + 1)), rem = ip4(203, 0, 113, 80),
		 wan = ip4(198, 51, 100, 2);
	uint16_t ext = (uint16_t)(1024 + s % 60000);

	if (back)
		frame(f, rem, wan, REMOTE_PORT, ext);
	else
		frame(f, lan, rem, 1000, REMOTE_PORT);
}

/* ns per frame over CALLS test runs of REPEAT, on this thread's CPU. */
static uint64_t run_ns(const struct rig *r, const uint8_t f[FRAME_LEN])
{
	uint64_t total = 0, frames = 0;
	uint8_t out[128];

	for (int i = 0; i < CALLS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = FRAME_LEN,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = REPEAT);
		if (bpf_prog_test_run_opts(r->prog, &o))
			die("BPF_PROG_TEST_RUN");
		if (o.retval != 7 /* TC_ACT_REDIRECT */) {
			errno = EPROTO;
			die("the frame was not forwarded (retval is not TC_ACT_REDIRECT)");
		}
		total += (uint64_t)o.duration * REPEAT;
		frames += REPEAT;
	}
	return total / frames;
}

/* ---- two CPUs at once ---- */

struct worker {
	const struct rig *r;
	int cpu;
	uint8_t f[FRAME_LEN];
	uint64_t ns;
	pthread_barrier_t *start;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pin(w->cpu);
	pthread_barrier_wait(w->start);
	w->ns = run_ns(w->r, w->f);
	return NULL;
}

/* Both frames at once, @a on CPU 0 and @b on CPU 1; the mean ns/frame. */
static uint64_t two_cpus(const struct rig *r, const uint8_t a[FRAME_LEN],
			 const uint8_t b[FRAME_LEN])
{
	pthread_barrier_t start;
	struct worker w[2] = {{.r = r, .cpu = 0, .start = &start},
			      {.r = r, .cpu = 1, .start = &start}};
	pthread_t t[2];

	memcpy(w[0].f, a, FRAME_LEN);
	memcpy(w[1].f, b, FRAME_LEN);
	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker_main, &w[i]))
			die("pthread_create");
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	return (w[0].ns + w[1].ns) / 2;
}

/* ---- user space's side ---- */

static uint64_t install_ns(struct rig *r, unsigned base)
{
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < SYSCALLS; i++) {
		struct offload_key k = key_of(htonl(0x0b000000u | (base + i)), ip4(203, 0, 113, 80),
					      1000, REMOTE_PORT);
		put(r, &k, k.saddr, k.daddr, 1000, REMOTE_PORT);
	}
	return (now_ns() - t0) / SYSCALLS;
}

static uint64_t read_ns(struct rig *r, unsigned sessions)
{
	uint64_t t0 = now_ns(), sum = 0;

	for (unsigned i = 0; i < SYSCALLS; i++) {
		struct offload_key k = key_of(htonl(0x0a000000u | (i % sessions + 1)),
					      ip4(203, 0, 113, 80), 1000, REMOTE_PORT);
		if (bpf_map_lookup_elem(r->flows, &k, r->value))
			die("flow map lookup");
		for (int c = 0; c < (r->percpu ? r->cpus : 1); c++) {
			const struct offload_flow *v =
			    (const void *)((char *)r->value + (size_t)c * r->value_size);
			sum += v->packets; /* what show sessions adds up */
		}
	}
	return (now_ns() - t0) / SYSCALLS + (sum == UINT64_MAX); /* keep the sum */
}

/* ---- one kind ---- */

struct figures {
	uint64_t tc[ROUNDS_MAX], install[ROUNDS_MAX], read[ROUNDS_MAX];
	uint64_t own[ROUNDS_MAX], split[ROUNDS_MAX], shared[ROUNDS_MAX];
};

static void measure(const char *dir, const char *kind, unsigned entries, int rounds)
{
	struct figures fg;
	struct rig r;
	uint8_t a[FRAME_LEN], b[FRAME_LEN], c[FRAME_LEN];
	unsigned sessions = entries / 2 > 2 ? entries / 2 : 2;

	rig_open(&r, dir, kind);
	for (unsigned s = 0; s < sessions; s++)
		session(&r, s, s == 0); /* session 0 ping-pongs */
	for (int i = 0; i < rounds; i++) {
		pin(0);
		session_frame(a, 0, false);
		fg.tc[i] = run_ns(&r, a);
		fg.install[i] = install_ns(&r, (unsigned)i * SYSCALLS);
		fg.read[i] = read_ns(&r, sessions);
		session_frame(a, 1, false); /* session 1: each frame onto itself */
		session_frame(b, 1, true);
		session_frame(c, 2, false);
		fg.own[i] = two_cpus(&r, a, c);
		fg.split[i] = two_cpus(&r, a, b);
		fg.shared[i] = two_cpus(&r, a, a);
	}
	printf("kind=%s entries=%u cpus=%d tc_ns=%llu install_ns=%llu read_ns=%llu "
	       "own_ns=%llu split_ns=%llu shared_ns=%llu\n",
	       kind, sessions * 2, r.cpus, (unsigned long long)median(fg.tc, rounds),
	       (unsigned long long)median(fg.install, rounds),
	       (unsigned long long)median(fg.read, rounds),
	       (unsigned long long)median(fg.own, rounds),
	       (unsigned long long)median(fg.split, rounds),
	       (unsigned long long)median(fg.shared, rounds));
	rig_close(&r);
}

int main(int argc, char **argv)
{
	unsigned entries = 20000;
	int rounds = 5;

	if (argc < 2 || argc % 2) {
		fprintf(stderr, "usage: bench-mapcost DIR [--entries N] [--rounds N]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		long v = strtol(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "--entries") && v >= 4 && v <= OFFLOAD_FLOWS_MAX / 2)
			entries = (unsigned)v;
		else if (!strcmp(argv[i], "--rounds") && v >= 1 && v <= ROUNDS_MAX)
			rounds = (int)v;
		else {
			fprintf(stderr, "bench-mapcost: bad option %s %s\n", argv[i], argv[i + 1]);
			return 2;
		}
	}
	if (libbpf_num_possible_cpus() < 2) {
		fprintf(stderr, "bench-mapcost: needs 2 CPUs\n");
		return 1;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		measure(argv[1], kinds[k], entries, rounds);
	return 0;
}
