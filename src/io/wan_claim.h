/* wan_claim.h - which WAN frames are rssnat's in shared uplink mode: the
 * maps bpf/claim_decide.h reads, written from user space (wan_claim.c).
 *
 * io_wan_claim_open() creates the maps, all zero (dedicated mode: every
 * frame is rssnat's); io_wan_claim_reuse_maps() gives them to an object
 * that includes claim_decide.h, before it is loaded (the stack guards, the
 * fast path, the afxdp XDP program), so that all decide from one state.
 * An object loaded without them gets maps of its own, all zero: dedicated.
 * The setters are one map write each and never block: the control thread
 * calls them live (a port mapping added or deleted, the address changed).
 * Every call returns 0 or a negative errno.
 */
#ifndef RSSNAT_IO_WAN_CLAIM_H
#define RSSNAT_IO_WAN_CLAIM_H

#include <stdbool.h>
#include <stdint.h>

struct io_wan_claim;
struct bpf_object;

int io_wan_claim_open(struct io_wan_claim **out, const char **why);
void io_wan_claim_close(struct io_wan_claim *wc);
int io_wan_claim_reuse_maps(const struct io_wan_claim *wc, struct bpf_object *obj,
			    const char **why);

/* io_wan_claim_share() - shared mode on interface @ifindex (0: dedicated
 * again), with the NAT's dynamic range [@lo, @hi] (host order) and the
 * address @addr the kernel holds there (network order; 0: none yet, then
 * every IPv4 frame is the host's). */
int io_wan_claim_share(struct io_wan_claim *wc, int ifindex, uint32_t addr, uint16_t lo,
		       uint16_t hi);
int io_wan_claim_set_addr(struct io_wan_claim *wc, uint32_t addr);
/* io_wan_claim_set_lan() - the LAN subnet (network order): WAN frames to
 * it are rssnat's, never the host's. */
int io_wan_claim_set_lan(struct io_wan_claim *wc, uint32_t net, uint32_t mask);
int io_wan_claim_set_ports(struct io_wan_claim *wc, uint16_t lo, uint16_t hi);
/* io_wan_claim_map_port() - @proto (6 or 17) @port is a port mapping's
 * external port (@mapped) or no longer is. */
int io_wan_claim_map_port(struct io_wan_claim *wc, uint8_t proto, uint16_t port, bool mapped);

/* What the programs decide, for `explain` and the tests: would a frame
 * with these fields arriving on the shared WAN be the host's? (the
 * decision of claim_decide.h for an unfragmented TCP/UDP datagram or ICMP
 * echo reply, @port its destination port or identifier). */
bool io_wan_claim_is_host(const struct io_wan_claim *wc, uint8_t proto, uint32_t daddr,
			  uint16_t port);
/* io_wan_claim_live() - the external ports and identifiers rssnat's live
 * mappings hold, one bit each (claim_maps.h CLAIM_LIVE_*), as the
 * programs read them: for the NAT to write (nat.h ports_live), with
 * atomic operations. NULL without @wc. */
_Atomic uint64_t *io_wan_claim_live(struct io_wan_claim *wc);
/* io_wan_claim_host_frames() - frames left to the host, summed over CPUs. */
uint64_t io_wan_claim_host_frames(const struct io_wan_claim *wc);

#endif
