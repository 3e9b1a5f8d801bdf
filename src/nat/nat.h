/* nat.h - NAPT for TCP, UDP and ICMP (NAT44), per core and lock-free, with
 * external ports chosen so that replies come back to the core that owns
 * the flow.
 *
 * Theory of operation
 * -------------------
 * A *mapping* binds an internal endpoint (protocol, LAN address, LAN port or
 * ICMP identifier) to an external port on the WAN address, the same for
 * every destination: endpoint-independent mapping (RFC 4787 REQ-1, RFC 5382
 * REQ-1, RFC 5508 REQ-1). A *session* is one conversation through a mapping
 * (internal endpoint <-> remote endpoint) with its own state and timer.
 *
 * Ownership. A mapping has a home *bucket*: the RSS bucket of the LAN packet
 * that created it. Its owner is the worker the indirection table gives that
 * bucket, and the owner alone holds the mapping's sessions and translates
 * their packets, in both directions. The external port is chosen with the
 * RSS solver so that the first session's reply hashes into the home bucket
 * too (DESIGN.md "steering"); with the endpoint field sets (LAN hashes source
 * address+port, WAN destination address+port) every packet of every session
 * of the mapping lands there. A packet that lands elsewhere (another
 * destination of the mapping under 4-tuple hashing, ICMP under 2-tuple
 * hashing, fragments, ICMP errors) is handed off to the owner: the worker
 * finds the mapping in the shared tables, and its bucket names the owner.
 * Because ownership is "whoever the table gives the bucket", moving a bucket
 * moves its mappings with their sessions.
 *
 * Shared state is small and read-mostly: the external-port table and the
 * internal-endpoint index point to mappings; both are written with atomic
 * compare-and-swap when a mapping is born, so two workers that race to map
 * the same endpoint agree on one mapping. A dead mapping is unlinked by
 * nat_reclaim() (one janitor thread) and its memory reused only after every
 * worker has passed a quiescent point (QSBR). Sessions, timers and the
 * fragment cache are private to their worker: no locks, no allocation after
 * nat_create().
 *
 * The data path: nat_process() takes a burst of parsed packets received on
 * one side and gives each a verdict (to LAN, to WAN, hand off to worker N,
 * to the host, or drop with a named reason). A hit is translated on the
 * fast path; a miss goes to the slow path, which may create a session and a
 * mapping.
 *
 * Migration (after RSS++). nat_set_snapshot() only publishes a new *view*
 * (snapshot + steering solvers, numbered by seq). Each worker decides
 * ownership with the view it has *adopted*, never the global one, and
 * adopts the latest between bursts (nat_worker_sync(): at the start of
 * nat_process() and nat_expire(), and from the gateway's idle loop). So a
 * worker's own decisions never change under it in the middle of a burst.
 * When worker A adopts view V' over V:
 *   1. export: every session of A whose mapping's bucket V' gives to
 *      another worker B leaves A's chains and timer wheel and goes on A's
 *      outbox list for B (linked through the session slot itself: no
 *      allocation, no copy). The mapping's owner-only fields (session
 *      count, static flag) go with them: from now on A does not touch them.
 *      A then publishes export_seq = V' (release).
 *   2. import: B, once it has adopted V' and reads A's export_seq >= V'
 *      (acquire), copies A's sessions for it into its own table (free list,
 *      chains, wheel with the same expiry: all workers share one clock) and
 *      publishes imported_seq[A] = V'. B imports at the start of every
 *      burst, and again on a lookup miss, so a packet that raced ahead of
 *      the import still finds its session.
 *   3. free: A frees its exported slots once every importer has confirmed.
 * Until B has imported A's export, bucket b (A under V, B under V') is
 * "incoming from A" at B: B creates neither session nor mapping for it (A
 * may still be counting the same mapping) and hands every packet of it
 * that misses to A (counter migration_handoffs). A, on that burst,
 * adopts V' itself (its sync runs first), exports, and hands the packet
 * back to B, which imports and translates it. So at any moment one worker
 * at most holds a bucket with its sessions in (A until it exports, B from
 * its import on), and it alone writes those mappings' owner-only fields.
 * A handed-off packet always meets a view at least as new as its sender's
 * (the receiver syncs before its burst). Under one view a
 * packet goes at worst misplaced -> B -> A -> B: NAT_HOPS_MAX handoffs.
 * p->hops counts the handoffs under the view of the last one (stamped in
 * the packet), so a packet that waited in rings through several moves is
 * not taken for a loop; more than that under one view is one
 * (HANDOFF_STALE). No packet is dropped for want of state during a move.
 * One move at a time: nat_set_snapshot() answers -EBUSY until every worker
 * has adopted the current view, imported what it was sent and freed what
 * it sent (nat_migration_done()). A move costs each worker that loses a
 * bucket one pass over its session array, between two bursts. If the new
 * owner's table is full, the sessions that do not fit are ended (counted
 * sessions_migrate_lost).
 *   Mappings stay in the shared array with their id: a mapping whose last
 * session ends on a worker other than the one that allocated it is retired
 * by that worker (its retire ring, or an overflow list through the mapping
 * when the ring is full), and the janitor gives the id back to the
 * allocator (id / maps_per_worker), whose free stack has room for all its
 * ids. Fragment state stays where it is: the fragment cache belongs to the
 * worker that received a datagram's first fragment, and held fragments to
 * the worker that holds them; both are released through the usual paths
 * (a fragment of a moved session is handed off like any misplaced
 * packet). A datagram whose fragments straddle a table change may have
 * later fragments land where its first fragment is unknown: they are held
 * and, without a first fragment, time out (FRAG_TIMEOUT).
 *
 * Port mappings at run time. nat_static_add() takes an id from a pool of
 * NAT_STATIC_MAX kept apart for port mappings and claims the external port
 * with compare-and-swap, as a worker would. nat_static_delete() demotes the
 * port mapping to an ordinary mapping: its owner (whoever holds its
 * sessions: a move hands the request over with them) clears its static
 * flag between two bursts, so unsolicited connections from the WAN are
 * filtered from then on as for any mapping (RFC 4787 REQ-8), while its
 * existing sessions keep translating, wherever their packets land (the
 * mapping stays findable, so misplaced ones still reach the owner). The
 * last session to expire frees the external port and retires the id; with
 * none, the owner does so at once. The janitor returns the id to the pool.
 *
 * The WAN address, live (shared uplink mode: a DHCP client may renumber
 * the host at any time). nat_set_wan_addr() publishes a new *generation*
 * (a number and its address in one 64-bit word, the address also kept in
 * a small ring by generation); each worker adopts it between bursts, as
 * it adopts a view, and from then on translates with the new address.
 * Adopting ends every session the worker holds that was made under an
 * older generation (counted sessions_renumbered, their fast-path entries
 * removed with the old address as key, their mappings released as at
 * expiry): a session on an address the host no longer has cannot work,
 * and its endpoints learn that at once from a dropped packet or a TCP
 * segment that opens nothing, instead of waiting for a timeout. Each
 * session carries its generation (mod 256), so sessions caught in a move
 * (nat.h "Migration") are ended by their importer, which adopts the
 * generation before it imports (the exporter's generation is then never
 * newer than its own). Port mappings stay: they follow the address. With
 * no address (0) LAN traffic out is dropped, NO_WAN_ADDR, until one comes.
 *
 * Control-thread reads. A worker's sessions are its own: nat_dump_sessions()
 * posts a request the worker serves between two bursts by copying into the
 * caller's buffer, and waits for it (bounded).
 */
#ifndef RSSNAT_NAT_H
#define RSSNAT_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pkt;
struct rss_snapshot;
struct nat;
struct nat_worker;
struct ratelimit;

/* Why the NAT dropped a packet. */
#define NAT_DROP_REASONS(X)                                                                        \
	X(PARSE, "malformed frame (see the parse reasons)")                                        \
	X(NOT_IPV4, "not an IPv4 packet")                                                          \
	X(UNSUPPORTED_PROTO, "protocol the NAT does not translate")                                \
	X(SRC_NOT_LAN, "LAN packet whose source is no LAN host's address (RFC 2827)")              \
	X(NO_MAPPING, "WAN packet for an external port with no mapping")                           \
	X(FILTERED, "inbound packet refused by address-dependent filtering (RFC 4787 REQ-8)")      \
	X(TCP_NO_SESSION, "TCP segment other than SYN with no session")                            \
	X(WRONG_CORE, "no state on this core and handoff disabled (KB927168)")                     \
	X(SESSIONS_FULL, "session table full (RFC 5508 REQ-8: ICMP 3/13 sent)")                    \
	X(PORTS_EXHAUSTED, "no external port left (RFC 5508 REQ-8: ICMP 3/13 sent)")               \
	X(MAPPINGS_FULL, "mapping table full")                                                     \
	X(HOST_QUOTA, "LAN host at its mapping quota (RFC 6888 REQ-4)")                            \
	X(ICMP_UNKNOWN, "ICMP error quoting a packet of no known session")                         \
	X(ICMP_ERROR_IN_ERROR, "ICMP error about an ICMP error (RFC 1122 3.2.2)")                  \
	X(ICMP_TYPE, "ICMP type the NAT does not translate")                                       \
	X(HANDOFF_STALE, "handed-off packet whose mapping is gone or moved")                       \
	X(HANDOFF_RING_FULL, "handoff ring to the owner full")                                     \
	X(FRAG_TABLE_FULL, "too many fragmented datagrams in flight")                              \
	X(FRAG_HOLD_FULL, "too many out-of-order fragments held")                                  \
	X(FRAG_TIMEOUT, "fragment whose first fragment never came")                                \
	X(FRAG_SOURCE_LIMIT,                                                                       \
	  "too many datagrams from one source waiting for their first fragment")                   \
	X(FRAG_EVICTED, "held fragment whose datagram was evicted, oldest first, for a new one")   \
	X(NOT_OURS, "WAN packet not addressed to the WAN address")                                 \
	X(NO_WAN_ADDR, "LAN packet out while the WAN interface has no address (shared uplink)")

enum nat_drop {
#define NAT_DROP_ENUM(name, text) NAT_DROP_##name,
	NAT_DROP_REASONS(NAT_DROP_ENUM)
#undef NAT_DROP_ENUM
	    NAT_DROP_COUNT
};

/* As many as pkt.h's parse drop reasons (PKT_DROP_COUNT), checked there. */
enum { NAT_PARSE_REASONS = 16 };

/* Per-worker counters; plain integers written only by their worker. */
#define NAT_COUNTERS(X)                                                                            \
	X(rx_lan, "packets received on the LAN side")                                              \
	X(rx_wan, "packets received on the WAN side")                                              \
	X(rx_handoff, "packets received from another worker")                                      \
	X(tx_lan, "packets sent to the LAN")                                                       \
	X(tx_wan, "packets sent to the WAN")                                                       \
	X(local, "packets translated on the worker that received them")                            \
	X(handoff, "packets handed off to their owner")                                            \
	X(to_host, "packets for the gateway itself")                                               \
	X(dropped, "packets dropped (all reasons)")                                                \
	X(sessions_created, "sessions created")                                                    \
	X(sessions_expired, "sessions expired")                                                    \
	X(mappings_created, "mappings created")                                                    \
	X(mappings_freed, "mappings whose last session ended")                                     \
	X(mapping_race_lost, "mappings dropped because another worker mapped the endpoint first")  \
	X(port_kept, "mappings that kept the internal port")                                       \
	X(port_steered, "mappings given a port that steers the reply home")                        \
	X(port_unsteered, "mappings given a port that cannot steer the reply")                     \
	X(hairpinned, "packets hairpinned LAN to LAN (RFC 4787 REQ-9)")                            \
	X(icmp_errors_translated, "ICMP errors translated (RFC 5508 REQ-3)")                       \
	X(icmp_unreach_sent, "ICMP 3/13 sent on exhaustion (RFC 5508 REQ-8)")                      \
	X(icmp_unreach_rate_limited, "ICMP 3/13 not sent: rate limit (RFC 1812 4.3.2.8)")          \
	X(frags_translated, "fragments translated")                                                \
	X(frags_held, "out-of-order fragments held for their first fragment")                      \
	X(frag_entries_evicted, "fragment entries evicted, oldest first, to make room")            \
	X(sessions_retimed, "sessions whose expiry a timeout change moved")                        \
	X(sessions_migrated_out, "sessions given to a bucket's new owner")                         \
	X(sessions_migrated_in, "sessions taken from a bucket's old owner")                        \
	X(sessions_migrate_lost, "sessions ended in a move: the new owner's table was full")       \
	X(migration_handoffs, "packets handed to a bucket's old owner during a move")              \
	X(offload_installs, "sessions put on the kernel fast path")                                \
	X(offload_removals, "sessions taken off the kernel fast path")                             \
	X(offload_full, "sessions left in user space: the fast path's table was full")             \
	X(offload_failed, "sessions left in user space: the kernel refused the entry")             \
	X(offload_kept_alive, "expiries deferred: the fast path forwarded the session meanwhile")  \
	X(sessions_renumbered, "sessions ended: the WAN address they used went away "              \
			       "(renumbering)")

struct nat_counters {
#define NAT_COUNTER_FIELD(name, text) uint64_t name;
	NAT_COUNTERS(NAT_COUNTER_FIELD)
#undef NAT_COUNTER_FIELD
	uint64_t drop[NAT_DROP_COUNT];
	uint64_t parse_drop[NAT_PARSE_REASONS]; /* by enum pkt_drop (pkt.h) */
	uint64_t sessions;			/* live now */
};

const char *nat_drop_name(enum nat_drop reason);
const char *nat_drop_text(enum nat_drop reason);

enum nat_filtering {
	NAT_FILTER_ADDRESS_DEPENDENT = 0, /* default: RFC 4787 REQ-8, more stringent */
	NAT_FILTER_ENDPOINT_INDEPENDENT,
};

enum nat_steering {
	NAT_STEER_RSS = 0, /* steered ports, hand off the rest */
	NAT_STEER_HANDOFF, /* ports not steered, everything misplaced handed off */
	NAT_STEER_NONE,	   /* naive per-core NAT: no steering, no handoff (KB927168) */
};

/* Seconds. Defaults: RFC 4787 REQ-5 (UDP 300), RFC 5382 REQ-5 (TCP
 * established 7440, transitory 240), RFC 5508 REQ-1 (ICMP 60), RFC 7857 2.2
 * (RST keeps the session for the transitory time). */
struct nat_timeouts {
	uint32_t udp;
	uint32_t tcp_established;
	uint32_t tcp_opening;
	uint32_t tcp_closing;
	uint32_t tcp_rst;
	uint32_t icmp;
	uint32_t frag;
};

enum {
	NAT_STATIC_MAX = 64, /* port mappings in the configuration */
	/* The NAT's pool of port mapping ids: the configured ones and the
	 * dynamic ones of port control (src/portctl/, at most 1024), each
	 * bounded apart; allocated at start-up. */
	NAT_PORT_MAPS_MAX = NAT_STATIC_MAX + 1024,
	/* Handoffs one packet may take under one view: misplaced -> new owner
	 * -> old owner (not yet moved) -> new owner (see "Migration"). */
	NAT_HOPS_MAX = 3,
	/* Endpoint-independent mappings with one external address: at most one
	 * per external port and protocol (TCP, UDP, ICMP identifiers). */
	NAT_MAPPINGS_MAX = 3 * 65536,
	/* A sixteenth of the default table (65536): one host, however it
	 * floods, leaves 15/16 to the others, and a busy host (a browser
	 * opens hundreds of connections, a BitTorrent client a few
	 * thousand) stays well inside it. A fair share of a /24 (65536 / 253,
	 * about 259) would guarantee every host its share even when all
	 * addresses flood, but would cut ordinary heavy users off. */
	NAT_HOST_MAPPINGS_DEFAULT = 4096,
	/* The first port a shared-mode default range may use (above the
	 * well-known ports, RFC 6335). */
	NAT_PORT_FIRST_DYNAMIC = 1024,
	/* Fragment cache: datagrams from one source (per side) waiting for
	 * their first fragment may hold at most this share of a worker's
	 * entries (1/8: 128 of the default 1024). */
	NAT_FRAG_SOURCE_SHARE = 8,
};

/* A service reachable from the WAN: WAN address:ext_port -> LAN host:port. */
struct nat_static_map {
	uint8_t proto; /* 6 or 17 */
	uint16_t ext_port;
	uint32_t lan_addr; /* network byte order */
	uint16_t lan_port;
};

struct nat_config {
	uint32_t wan_addr; /* network byte order */
	uint32_t lan_addr; /* the gateway's own LAN address, network byte order */
	uint32_t lan_net;  /* network byte order */
	uint32_t lan_mask; /* network byte order */
	uint32_t sessions_per_worker;
	uint32_t mappings; /* for all workers together */
	uint32_t frags_per_worker;
	/* Mappings one LAN host may hold at once (RFC 6888 REQ-4), so that one
	 * host cannot take the whole table; 0: no quota. Default
	 * NAT_HOST_MAPPINGS_DEFAULT. */
	uint32_t host_mappings;
	struct nat_timeouts timeouts;
	enum nat_filtering filtering;
	enum nat_steering steering;
	bool icmp_on_exhaustion; /* send ICMP 3/13 to the LAN host (RFC 5508 REQ-8) */
	/* The external ports (TCP, UDP) and ICMP identifiers of dynamic
	 * mappings, host order, inclusive. Default 0-65535: all of them. In
	 * shared uplink mode the host's kernel picks its own ports on the
	 * same address (net.ipv4.ip_local_port_range), so the gateway sets a
	 * range outside the kernel's (nat_port_range_outside()): a port
	 * says whose a frame is (src/io/bpf/claim_decide.h). Port mappings
	 * are not bound by it. */
	uint16_t port_lo, port_hi;
	/* Where the NAT publishes the external ports (TCP, UDP) and ICMP echo
	 * identifiers its dynamic mappings hold: 65536 bits per protocol, TCP's,
	 * UDP's then ICMP's (src/io/claim_maps.h CLAIM_LIVE_*), a bit set
	 * before the mapping's first packet leaves and cleared once it is
	 * freed, with atomic operations. For whoever must tell the replies to
	 * rssnat's flows from the host's (shared mode: a host service may
	 * listen on a port of the NAT's range, and the host's ping picks
	 * identifiers from the whole 16-bit space; the eBPF claim reads this,
	 * src/io/bpf/claim_decide.h). NULL: nowhere. */
	_Atomic uint64_t *ports_live;
	uint64_t seed; /* port choice and table hashing; 0: from the clock */
	unsigned n_static;
	struct nat_static_map statics[NAT_STATIC_MAX];
};

/* nat_config_default() - RFC timeouts, address-dependent filtering, RSS
 * steering, LAN 192.168.137.1/24 (as Windows ICS), @wan_addr. */
void nat_config_default(struct nat_config *cfg, uint32_t wan_addr);

/* nat_port_range_outside() - the NAT's port range in shared mode: the
 * larger of the two blocks around the kernel's ephemeral range
 * [@kernel_lo, @kernel_hi] (1024 up to it, after it up to 65535). 0 and
 * *lo, *hi set, or -ENOSPC when neither block has a port. */
int nat_port_range_outside(uint16_t kernel_lo, uint16_t kernel_hi, uint16_t *lo, uint16_t *hi);
/* nat_port_range_overlaps() - do [@lo, @hi] and [@klo, @khi] share a port? */
bool nat_port_range_overlaps(uint16_t lo, uint16_t hi, uint16_t klo, uint16_t khi);

/* nat_create() - allocate everything the data path will ever use, for
 * @workers workers, steering by @snap (at most @workers queues; it must
 * outlive the NAT or be replaced with nat_set_snapshot()). Returns 0,
 * -EINVAL with *why, or -ENOMEM. */
int nat_create(const struct nat_config *cfg, const struct rss_snapshot *snap, unsigned workers,
	       struct nat **out, const char **why);
void nat_destroy(struct nat *nat);
struct nat_worker *nat_worker(struct nat *nat, unsigned id);
unsigned nat_worker_id(const struct nat_worker *w);

/* nat_worker_set_error_limit() - the limiter @w asks before every ICMP
 * error it generates (3/13 on exhaustion; RFC 1812 4.3.2.8); a refused one
 * leaves the packet dropped, counted icmp_unreach_rate_limited. @rl
 * belongs to the worker's thread, which advances its clock. Before the
 * workers start. NULL (the default): no limit (the simulator, tests). */
void nat_worker_set_error_limit(struct nat_worker *w, struct ratelimit *rl);

/* nat_process() - translate @n packets (parsed, p->side set; handed-off ones
 * have p->hops > 0, and the NAT's bits of p->flags as it set them) at time
 * @now (seconds); sets each packet's verdict.
 * Starts with nat_worker_sync(). A
 * packet may also be rewritten into an ICMP error toward the LAN host
 * (verdict PKT_TO_LAN). Returns how many packets are left in @pkts, in
 * order, each with its verdict (PKT_DROP included): those are the caller's.
 * Packets held as out-of-order fragments are taken out of @pkts: the NAT
 * owns them until nat_released() hands them back, decided, exactly once
 * (from this very call if their first fragment came later in the burst). */
unsigned nat_process(struct nat_worker *w, struct pkt **pkts, unsigned n, uint32_t now);

/* nat_parse_drop() - a frame received on this worker's queue failed
 * pkt_parse() with @reason (enum pkt_drop): counted under its name and as a
 * NAT_DROP_PARSE. The receive path calls it; the NAT never sees the frame. */
void nat_parse_drop(struct nat_worker *w, unsigned reason);

/* nat_released() - packets this worker held and has now decided (translated
 * fragments, or fragments dropped on timeout). Returns how many were put in
 * @out (at most @max). Drain it after every nat_process() and nat_expire():
 * until then those frames count against the fragments the worker may hold. */
unsigned nat_released(struct nat_worker *w, struct pkt **out, unsigned max);

/* nat_expire() - run the worker's timers up to @now: sessions, mappings and
 * fragments that timed out are freed. Call between bursts. Starts with
 * nat_worker_sync(); also marks a quiescent point for nat_reclaim(). */
void nat_expire(struct nat_worker *w, uint32_t now);

/* nat_worker_sync() - the worker's between-bursts duties: adopt the latest
 * view (exporting the sessions it no longer owns), import sessions sent to
 * it, free exported ones once imported, and serve the control thread's
 * requests (nat_dump_sessions(), nat_static_delete()). The worker's thread
 * only. nat_process() and nat_expire() call it; an idle worker must call
 * it too (every few milliseconds), or a move or a dump waits for it. Cheap
 * when there is nothing to do: a few loads. */
void nat_worker_sync(struct nat_worker *w);

/* nat_reclaim() - the janitor: unlink dead mappings from the shared index and
 * recycle those no worker can still see. One thread only (the control
 * thread, which also calls nat_set_snapshot() and nat_static_*()); never
 * blocks the workers. */
void nat_reclaim(struct nat *nat);

/* nat_set_snapshot() - move to a new RSS snapshot (control thread): the
 * workers adopt it between bursts and move the sessions of every bucket
 * that changes hands (see "Migration"). @snap has at most as many queues
 * as the NAT has workers (the others go idle). The previous snapshot must
 * stay alive until nat_migration_done(). Returns 0; -EBUSY with *why while
 * the previous move is not done; -EINVAL with *why; -ENOMEM. @why may be
 * NULL. */
int nat_set_snapshot(struct nat *nat, const struct rss_snapshot *snap, const char **why);

/* nat_migration_done() - every worker has adopted the current snapshot,
 * imported every session sent to it and freed every one it sent: a new
 * snapshot may be set. Any thread; the control thread polls it (bounded)
 * after nat_set_snapshot(). */
bool nat_migration_done(const struct nat *nat);

/* nat_timeout_parse() - "NAME=SECONDS" into @t: NAME one of udp,
 * tcp-established (or tcp), tcp-opening, tcp-closing, tcp-rst, icmp, frag;
 * SECONDS decimal digits from 1 to 604800. 0, -EINVAL (not NAME=SECONDS),
 * -ENOENT (no such name) or -ERANGE (seconds out of range); @t unchanged
 * on error. For the command line, the configuration file and `set nat
 * timeout`. */
int nat_timeout_parse(struct nat_timeouts *t, const char *text);
/* nat_timeouts_format() - "udp=300 tcp-established=7440 ..." or, with
 * @json, one JSON object, and a newline. */
void nat_timeouts_format(const struct nat_timeouts *t, FILE *out, bool json);

/* nat_get_timeouts() / nat_set_timeouts() - the session timeouts (control
 * thread). New ones reach each worker at its next nat_worker_sync(), which
 * then moves the expiry of every session it holds to its last packet plus
 * the new timeout of its state (one pass over the session array, as a
 * move costs), and of every fragment entry likewise: a shorter timeout
 * ends idle sessions at once. Sessions in transit between two workers
 * keep the expiry their sender gave them. nat_set_timeouts() returns 0,
 * or -EINVAL if one is zero. */
void nat_get_timeouts(const struct nat *nat, struct nat_timeouts *out);
int nat_set_timeouts(struct nat *nat, const struct nat_timeouts *t);

/* nat_set_wan_addr() - the WAN address from now on (control thread;
 * network byte order, 0: none). Workers adopt it between bursts (see "The
 * WAN address, live"); the same address again changes nothing. Returns 0.
 * nat_wan_addr() - the last one set (the start's: nat_config.wan_addr). */
int nat_set_wan_addr(struct nat *nat, uint32_t addr);
uint32_t nat_wan_addr(const struct nat *nat);

/* nat_get_host_mappings() / nat_set_host_mappings() - the per-host mapping
 * quota (any thread; workers read it for every new mapping). A lower quota
 * ends no mapping: a host above it makes no new one until enough of its
 * own have gone. 0: no quota. */
uint32_t nat_get_host_mappings(const struct nat *nat);
void nat_set_host_mappings(struct nat *nat, uint32_t n);

/* nat_static_add() - a port mapping while the workers run (control thread).
 * Returns 0; -EBUSY with *why if the external port is in use (by another
 * port mapping, a live connection's mapping, or a deleted port mapping
 * whose sessions have not ended yet) or the LAN endpoint has a mapping of
 * its own; -EINVAL (not TCP or UDP); -ENOSPC (NAT_PORT_MAPS_MAX in use). */
int nat_static_add(struct nat *nat, const struct nat_static_map *sm, const char **why);

/* nat_static_delete() - remove the port mapping of @proto/@ext_port
 * (control thread): from its owner's next sync on, the WAN can no longer
 * open connections through it; its existing sessions run until they
 * expire, then the port is free again (at once if it has none). Returns 0,
 * or -ENOENT with *why. */
int nat_static_delete(struct nat *nat, uint8_t proto, uint16_t ext_port, const char **why);

/* nat_port_free() - no mapping of any kind holds external @proto/@port
 * (control thread; a port may still be taken by a worker a moment later:
 * nat_static_add() then says -EBUSY). */
bool nat_port_free(struct nat *nat, uint8_t proto, uint16_t port);

/* nat_pick_inbound_port() - a free external port in [@lo, @hi] for a port
 * mapping to LAN endpoint @lan_addr:@lan_port (control thread, nothing
 * claimed). Where the WAN side's RSS fields leave the remote out (the
 * afpacket fanout's NAT field sets), unsolicited inbound packets to the
 * port hash by it alone: the port is chosen among those whose inbound
 * traffic lands in the endpoint's home bucket (*steered true), @prefer
 * first if it is one of them; else @prefer if free, else a random free
 * one. @rnd varies the walk (RFC 6056: unpredictable ports). @skip, if not
 * NULL, vetoes a port (the host's own sockets). 0 and *port, or -ENOSPC. */
int nat_pick_inbound_port(struct nat *nat, uint8_t proto, uint32_t lan_addr, uint16_t lan_port,
			  uint16_t lo, uint16_t hi, uint16_t prefer, uint64_t rnd,
			  bool (*skip)(void *ctx, uint8_t proto, uint16_t port), void *skip_ctx,
			  uint16_t *port, bool *steered);

/* nat_inbound_bucket() - the RSS bucket an inbound packet from nowhere in
 * particular to external @proto/@port lands in, and the home bucket of
 * LAN endpoint @lan_addr:@lan_port (for `explain` and tests). False if the
 * WAN side's fields include the remote (then it depends on the remote). */
bool nat_inbound_bucket(struct nat *nat, uint8_t proto, uint16_t port, uint32_t lan_addr,
			uint16_t lan_port, unsigned *inbound, unsigned *home);

/* nat_static_list() - visit the live port mappings (control thread). */
void nat_static_list(const struct nat *nat,
		     void (*visit)(void *ctx, const struct nat_static_map *sm), void *ctx);

/* A live mapping, as `rssnat explain` shows it. */
struct nat_mapping_info {
	uint8_t proto;
	bool is_static;
	uint32_t lan_addr; /* network byte order */
	uint16_t lan_port, ext_port;
	uint16_t bucket; /* home bucket: owner = table[bucket & (table size - 1)] */
};

/* nat_find_mapping() - the live mapping of LAN endpoint @lan_addr:@port, or
 * with @lan_addr 0, of external port @port (control thread: the janitor's,
 * so the mapping cannot be recycled while it is read). Returns true and
 * fills *out if there is one. */
bool nat_find_mapping(struct nat *nat, uint8_t proto, uint32_t lan_addr, uint16_t port,
		      struct nat_mapping_info *out);

/* nat_port_mapped() - does a live mapping hold external port @ext_port of
 * @proto (TCP or UDP) now? Any thread: a lock-free read of the published
 * port table, as the workers' own lookups are. */
bool nat_port_mapped(struct nat *nat, uint8_t proto, uint16_t ext_port);

/* nat_static_parse() - "PROTO:PORT=ADDR:PORT" (tcp or udp, the external
 * port, the LAN host and its port), or with @with_target false just
 * "PROTO:PORT", into @sm. 0, or -EINVAL with a sentence naming the bad
 * part in *why (a static buffer: control thread or command line only). */
int nat_static_parse(const char *text, bool with_target, struct nat_static_map *sm,
		     const char **why);

const struct nat_counters *nat_worker_counters(const struct nat_worker *w);

/* nat_memory() - bytes allocated by nat_create() for everything: sessions,
 * both session indexes, mappings and their indexes, port tables, rings,
 * fragment cache. */
size_t nat_memory(const struct nat *nat);

/* nat_packet_hash() - the RSS hash of a packet as the dispatcher (NIC, eBPF,
 * simulator) computes it: TCP/UDP hash the side's field set, ICMP echo too
 * when the snapshot treats the identifier as a port, fragments and other
 * packets only the addresses among those fields. */
uint32_t nat_packet_hash(const struct rss_snapshot *snap, const struct pkt *p);

/* The kernel fast path ("offload"). The NAT stays the one authority: the
 * worker that owns a session installs it once it is established (TCP: SYN
 * seen both ways; UDP and ICMP echo: a packet seen each way), neither a
 * hairpin nor the host's own traffic, and offload is enabled; it removes
 * it when the session leaves the established state (FIN or RST seen here:
 * the fast path sends those up), when it expires or is lost in a move,
 * and on the session's next packet here once offload is disabled (the
 * programs then send everything up; entries are dropped lazily). A
 * session's expiry asks last_seen() first: forwarded by the kernel since,
 * it lives on from then. Entries do not depend on the CPU: a move takes
 * only the session's flag along. The ops run on the owning worker's
 * thread (install and remove are one syscall each, once per session). */
struct nat_offload_flow {
	uint8_t proto;
	uint32_t lan_addr, rem_addr, ext_addr; /* network byte order */
	uint16_t lan_port, rem_port, ext_port; /* host order; ICMP: identifiers, rem_port 0 */
};

struct nat_offload_ops {
	/* install() - both directions: 0, -ENOSPC when the table is full, or
	 * another negative errno. */
	int (*install)(void *ctx, const struct nat_offload_flow *f);
	void (*remove)(void *ctx, const struct nat_offload_flow *f);
	/* last_seen() - the last time (seconds, the clock of nat_expire()) the
	 * fast path forwarded a packet of @f either way: false if never. */
	bool (*last_seen)(void *ctx, const struct nat_offload_flow *f, uint32_t *sec);
};

/* nat_set_offload() - before the workers start; @ops NULL: no fast path.
 * nat_set_offload_enabled() - any thread, at once for new installs; the
 * caller switches the programs themselves. */
void nat_set_offload(struct nat *nat, const struct nat_offload_ops *ops, void *ctx);
void nat_set_offload_enabled(struct nat *nat, bool on);
bool nat_offload_enabled(const struct nat *nat);

/* A session, for tests and `rssnat show sessions` (nat_dump_sessions()). */
struct nat_session_info {
	uint8_t proto;
	uint8_t tcp_state;
	bool offloaded;
	uint32_t lan_addr, rem_addr; /* network byte order */
	uint16_t lan_port, rem_port, ext_port;
	uint32_t expires;
};
/* Only from the worker's own thread, or while it is stopped (tests). */
void nat_worker_sessions(const struct nat_worker *w,
			 void (*visit)(void *ctx, const struct nat_session_info *s), void *ctx);

/* nat_dump_sessions() - up to @max of worker @worker's sessions, copied by
 * the worker itself in its next nat_worker_sync() (control thread, one
 * request at a time). Waits up to @timeout_ms, sleeping 1 ms at a time.
 * Returns how many were copied, -ENOENT (no such worker), -EBUSY (a
 * request is outstanding) or -ETIMEDOUT (the worker did not sync: the
 * request is withdrawn and @out untouched). */
int nat_dump_sessions(struct nat *nat, unsigned worker, struct nat_session_info *out, unsigned max,
		      unsigned timeout_ms);
const char *nat_tcp_state_name(uint8_t state);

#endif
