/* offload.h - the kernel fast path's programs and maps (bpf/offload.bpf.c
 * says what they do; src/gw/offload.c decides what goes in them).
 *
 * io_offload_open() loads the object; the maps live as long as the
 * process holds their fds (no bpffs pinning: `ip netns exec` remounts
 * /sys). io_offload_attach() puts the tc program on an interface's ingress
 * at priority 1, before the stack guard (priority 2), in a filter of its
 * own (the kernel chooses the handle; *out names it, for the interface's
 * claim to record: a dead holder's is removed by the next, claim.c), and
 * io_offload_close() removes only the filters it attached, if they still
 * run its program: two instances that cannot see each other's claims
 * (another /run) each keep their own. io_offload_sock_fd() is the socket
 * filter for the afpacket backend's taps (io_ops.set_filter).
 * Every call returns 0 or a negative errno; the map calls are one syscall
 * each and never block.
 */
#ifndef RSSNAT_IO_OFFLOAD_H
#define RSSNAT_IO_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "../io/io.h"
#include "offload_maps.h"

struct io_offload;

/* @wc: the WAN claim's maps (wan_claim.h) for the programs to share, or
 * NULL (maps of their own: every frame is rssnat's). */
struct io_wan_claim;
int io_offload_open(struct io_offload **out, uint64_t neigh_fresh_ns, const struct io_wan_claim *wc,
		    const char **why);
int io_offload_attach(struct io_offload *o, int ifindex, struct io_guard *out, const char **why);
int io_offload_sock_fd(const struct io_offload *o);
/* io_offload_reuse_maps() - another object that includes bpf/offload_decide.h
 * (the afxdp backend's XDP program), before it is loaded: its maps become
 * these. */
struct bpf_object;
int io_offload_reuse_maps(const struct io_offload *o, struct bpf_object *obj, const char **why);
/* io_offload_close() - detach what this process attached, close the maps. */
void io_offload_close(struct io_offload *o);

int io_offload_set_enabled(struct io_offload *o, bool on);
/* -ENOSPC: the flow map is full. */
int io_offload_flow_put(struct io_offload *o, const struct offload_key *k,
			const struct offload_flow *f);
int io_offload_flow_del(struct io_offload *o, const struct offload_key *k);
int io_offload_flow_get(struct io_offload *o, const struct offload_key *k,
			struct offload_flow *out);
int io_offload_neigh_put(struct io_offload *o, int ifindex, uint32_t addr, const uint8_t mac[6],
			 uint64_t published_ns);
/* io_offload_stats() - the tc program's counters, summed over CPUs. */
int io_offload_neigh_del(struct io_offload *o, int ifindex, uint32_t addr);
void io_offload_stats(struct io_offload *o, uint64_t out[OFFLOAD_STAT_COUNT]);
/* io_offload_forwarded_per_cpu() - frames forwarded on each possible CPU
 * (at most @max); returns how many CPUs were written, 0 on an error. */
int io_offload_forwarded_per_cpu(struct io_offload *o, uint64_t *out, int max);

#endif
