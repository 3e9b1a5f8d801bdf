/* spread.h - the kernel fast path spread over the workers' CPUs
 * (bpf/spread.bpf.c says how and why; src/gw/offload.c decides when).
 *
 * io_spread_open() loads the XDP program for one interface (one object per
 * interface: each side hashes its own field set), fills its RSS state from
 * @snap as seen from @side and queue q's CPU from @cpus[q], and attaches
 * it through a bpf_link: the program goes with the process, even a killed
 * one. @mode: IO_SPREAD_NATIVE (the driver's XDP) or IO_SPREAD_GENERIC
 * (after the skb is built). io_spread_set_rss() steers by a new snapshot
 * (double-buffered as the afpacket fanout's state: rss_maps.h).
 * Every call returns 0 or a negative errno with *why.
 */
#ifndef RSSNAT_IO_SPREAD_H
#define RSSNAT_IO_SPREAD_H

#include <stdint.h>

#include "spread_maps.h"

struct io_spread;
struct rss_snapshot;

enum io_spread_mode { IO_SPREAD_NATIVE, IO_SPREAD_GENERIC };

int io_spread_open(struct io_spread **out, int ifindex, const struct rss_snapshot *snap,
		   unsigned side, unsigned queues, const int *cpus, enum io_spread_mode mode,
		   const char **why);
int io_spread_set_rss(struct io_spread *s, const struct rss_snapshot *snap, const char **why);
/* io_spread_stats() - the program's counters, summed over CPUs, added to @out. */
void io_spread_stats(struct io_spread *s, uint64_t out[IO_SPREAD_STAT_COUNT]);
void io_spread_close(struct io_spread *s);
/* io_spread_nice() - give the kernel threads that take this program's
 * frames on each CPU (cpumap/CPU/map:ID, one per queue) the nice value
 * @nice: they carry the fast path's work, and at nice 0 they wait behind
 * everything else on the CPU. Returns how many were set, or -errno. */
int io_spread_nice(struct io_spread *s, int nice);

#endif
