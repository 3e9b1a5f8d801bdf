/* uplink.h - the kernel's view of the WAN uplink, over rtnetlink (shared
 * uplink mode, issue 11).
 *
 * Theory of operation
 * -------------------
 * In shared mode the kernel keeps the WAN interface and its address,
 * whoever configured it (a DHCP client, NetworkManager, systemd-networkd,
 * `ip addr`). This module reads from the kernel the interface's IPv4
 * address and prefix, and the default gateway (main table, a default
 * route through the interface, the lowest metric), and follows their
 * changes: one NETLINK_ROUTE socket subscribed to RTNLGRP_IPV4_IFADDR,
 * RTNLGRP_IPV4_ROUTE and RTNLGRP_NEIGH, non-blocking, in the control
 * thread's poll() set.
 *
 * An address or route event only says "look again": the module dumps the
 * addresses (or routes) of the interface and takes the result of the whole
 * dump, so that a removal, a promotion of a secondary address or several
 * routes of different metrics all come out right without mirroring the
 * kernel's rules. One dump at a time (the kernel allows one per socket);
 * others wait as flags. ENOBUFS (events lost while the socket was full)
 * asks for all three dumps again: the state is then rebuilt, not patched.
 * Neighbour events (the gateway's MAC) are taken as they come.
 *
 * Address choice: the address in use stays while the kernel holds it;
 * otherwise the first primary (not IFA_F_SECONDARY), global-scope IPv4
 * address of the interface; none: 0.
 *
 * Why libmnl, not libnl: rssnat needs to build three dump requests and
 * parse four message types; libmnl is exactly that (message building,
 * attribute parsing and validation, socket helpers: a few hundred lines,
 * no allocation of its own), where libnl brings caches of kernel objects,
 * its own object model and threads of reasoning rssnat would not use.
 *
 * Control thread only; nothing here blocks after uplink_open().
 */
#ifndef RSSNAT_UPLINK_H
#define RSSNAT_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uplink;

/* What the kernel says now. Addresses in network byte order; 0: none. */
struct uplink_state {
	uint32_t addr, mask;
	uint8_t prefix_len;
	uint32_t gateway;
};

/* What uplink_run() / uplink_input() changed. */
enum {
	UPLINK_ADDR = 1,    /* addr, mask or prefix_len */
	UPLINK_GATEWAY = 2, /* gateway */
};

#define UPLINK_COUNTERS(X)                                                                         \
	X(messages, "rtnetlink messages read")                                                     \
	X(dumps, "dumps asked of the kernel (start, events, overruns)")                            \
	X(overruns, "socket overruns (ENOBUFS): everything dumped again")                          \
	X(addr_changes, "WAN address changes followed")                                            \
	X(gateway_changes, "default gateway changes followed")                                     \
	X(neigh_events, "neighbour events for the WAN interface")                                  \
	X(errors, "netlink errors: answers to our dumps, or reads that failed (dumped again)")

struct uplink_counters {
#define UPLINK_COUNTER_FIELD(name, text) uint64_t name;
	UPLINK_COUNTERS(UPLINK_COUNTER_FIELD)
#undef UPLINK_COUNTER_FIELD
};

/* A neighbour of the WAN interface, as the kernel's table has it: @usable
 * when its MAC may be used (REACHABLE, STALE, DELAY, PROBE, PERMANENT,
 * NOARP), false when it is gone or failed. */
typedef void (*uplink_neigh_fn)(void *ctx, uint32_t ip, const uint8_t mac[6], bool usable);

/* uplink_open() - follow interface @ifindex: open the socket, read the
 * address, the gateway and the neighbours (the only blocking reads, at
 * start), then switch to non-blocking. @neigh (may be NULL) is called for
 * every neighbour of the interface, from here and from uplink_run().
 * 0, or -errno with *why. */
int uplink_open(int ifindex, uplink_neigh_fn neigh, void *ctx, struct uplink **out,
		const char **why);

/* uplink_new() - the same without a socket: state only from uplink_input()
 * (tests, fuzzing). Its dumps are begun by uplink_run() without a request
 * sent, numbered 1, 2, ... (the replies' nlmsg_seq; nlmsg_pid 0), in the
 * order addresses, routes, neighbours; it starts wanting none (see
 * uplink_refresh()). NULL when out of memory. */
struct uplink *uplink_new(int ifindex, uplink_neigh_fn neigh, void *ctx);
void uplink_close(struct uplink *u);

/* uplink_fd() - the socket to poll for POLLIN; -1 without one. */
int uplink_fd(const struct uplink *u);

/* uplink_run() - read everything waiting on the socket (never blocks),
 * apply it, and ask the next dump if one is due. Returns UPLINK_* bits. */
unsigned uplink_run(struct uplink *u);

/* uplink_input() - apply @len bytes of rtnetlink messages (events or dump
 * replies; NLMSG_DONE ends the dump in progress). Returns UPLINK_* bits.
 * Malformed messages are skipped. */
unsigned uplink_input(struct uplink *u, const void *buf, size_t len);

/* uplink_refresh() - dump everything again (from the next uplink_run()):
 * the neighbours the caller could not use yet, say. */
void uplink_refresh(struct uplink *u);

/* uplink_pending() - a dump is due that uplink_run() has yet to ask for
 * (call it then even without POLLIN). */
bool uplink_pending(const struct uplink *u);

const struct uplink_state *uplink_state(const struct uplink *u);
const struct uplink_counters *uplink_counters(const struct uplink *u);

#endif
