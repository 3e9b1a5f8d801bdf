/* spread.bpf.c - the fast path spread over the workers' CPUs: an XDP program
 * on each gateway interface that sends every IPv4 frame to the CPU of the
 * worker the engine's RSS gives it (BPF_MAP_TYPE_CPUMAP), where the kernel
 * builds its skb and runs the rest of the receive path: the afpacket tap
 * and tc ingress, where offload.bpf.c forwards an established flow.
 *
 * Why: on a veth, and on a NIC with fewer queues than workers, the receive
 * side runs on the sender's CPU (veth_xmit() schedules the peer's NAPI
 * locally), so the fast path runs wherever the traffic's sources run, all
 * of it on one CPU when one process sends. Steering by the engine's own
 * bucket (rss_hash.h, the same code as the afpacket fanout and tc_rss)
 * puts a flow's two directions on the CPU of the worker that owns its
 * session, as a NIC's RSS with one interrupt per queue and CPU would.
 *
 * Every frame of a queue goes through its CPU's cpumap queue, even one
 * that arrives on that CPU already: passing that one on at once would
 * overtake the flow's frames still queued there (a sender that moves
 * between CPUs), and TCP takes reordering for loss. No loop: the cpumap's
 * kthread hands its skbs to the stack, which does not run XDP again (native
 * XDP is the driver's; generic XDP skips redirected skbs). spread_cpu[q]
 * (the CPU of queue q's worker, as user space filled the cpumap: BPF
 * programs cannot read a cpumap) tells the two apart for the counters.
 * Non-IPv4 frames (ARP) and frames before the first state are passed on
 * where they are. Counted per CPU in spread_stats.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define RSS_CTX			    struct xdp_md
#define RSS_LOAD(ctx, off, to, len) bpf_xdp_load_bytes(ctx, off, to, len)
#include "rss_hash.h"
#include "../../offload/spread_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, IO_SPREAD_QUEUES_MAX);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} spread_cpus SECTION(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IO_SPREAD_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} spread_cpu SECTION(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IO_SPREAD_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} spread_stats SECTION(".maps");

static __always_inline int counted(__u32 stat, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&spread_stats, &stat);

	if (c)
		*c += 1; /* per CPU: no other writer */
	return verdict;
}

SECTION("xdp")
int spread(struct xdp_md *ctx)
{
	const struct io_rss_state *st;
	int b = rss_bucket(ctx, &st);
	__u32 queue, *cpu;

	if (b < 0)
		return counted(IO_SPREAD_STAT_unhashed, XDP_PASS);
	queue = st->table[(__u32)b & (IO_RSS_TABLE_MAX - 1)] & (IO_SPREAD_QUEUES_MAX - 1);
	cpu = bpf_map_lookup_elem(&spread_cpu, &queue);
	if (!cpu)
		return counted(IO_SPREAD_STAT_unhashed, XDP_PASS);
	counted(*cpu == bpf_get_smp_processor_id() ? IO_SPREAD_STAT_local
						   : IO_SPREAD_STAT_redirected,
		0);
	return (int)bpf_redirect_map(&spread_cpus, queue, XDP_PASS);
}

char LICENSE[] SECTION("license") = "Dual BSD/GPL";
