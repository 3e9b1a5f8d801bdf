/* nat_internal.h - shared between the files of the nat module only. */
#ifndef RSSNAT_NAT_INTERNAL_H
#define RSSNAT_NAT_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#include "../core/bits.h"
#include "../core/ring.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"
#include "nat.h"
#include "timer.h"

enum {
	NAT_NONE = UINT32_MAX,
	/* next_wan of a session exported to another worker and not yet freed
	 * (it is then on an outbox list, linked by next_lan). */
	NAT_IN_TRANSIT = UINT32_MAX - 1,
};

/* Protocol index for the per-protocol external port tables. */
enum nat_proto_index { NAT_PI_TCP, NAT_PI_UDP, NAT_PI_ICMP, NAT_PI_COUNT };

/* pkt.flags bits the NAT owns: the ports in the descriptor of a later
 * fragment came from the fragment cache (shallow virtual reassembly); the
 * view (seq mod 8) the packet was last handed off under, which p->hops
 * counts handoffs in (nat.h, "Migration"). */
enum {
	NAT_PF_CACHED_PORTS = 1u << 15,
	NAT_PF_VIEW_SHIFT = 12,
	NAT_PF_VIEW = 7u << NAT_PF_VIEW_SHIFT,
};
_Static_assert(PKT_F_INNER_FRAG < 1u << NAT_PF_VIEW_SHIFT, "pkt.h's flags stay below the NAT's");

/* Mapping states. LIVE mappings are found by lookups; DEAD ones are
 * skipped and wait for the janitor to unlink and recycle them. */
enum nat_map_state { MAP_FREE, MAP_LIVE, MAP_DEAD };

/* One endpoint-independent mapping, in the shared array. Fields above the
 * line are written before the mapping is published and then only read by
 * other workers; below it only the owner touches: the worker whose adopted
 * view gives it the home bucket, and which has imported the bucket's
 * sessions (a move hands these fields over with the sessions, nat.h).
 * Ids from static_base on are port mappings, made and deleted by the
 * control thread. */
struct nat_mapping {
	_Atomic uint32_t next; /* internal-endpoint index chain */
	_Atomic uint8_t state; /* enum nat_map_state */
	uint8_t proto;
	uint16_t bucket; /* home bucket: owner = table[bucket] */
	uint32_t lan_addr;
	uint16_t lan_port;
	uint16_t ext_port;
	/* ---- owner only ---- */
	uint32_t sessions;
	uint8_t is_static;
	uint8_t linked; /* in the index (janitor's business) */
	union {
		/* Janitor only: the epoch it was unlinked in. 32 bits compared as
		 * serial numbers (RFC 1982): a mapping waits a few epochs, not
		 * 2^31. */
		uint32_t retired_epoch;
		/* The releasing worker's, before the janitor has it: its list of
		 * dead mappings its retire ring had no room for. */
		uint32_t retire_next;
	};
};

/* What the data path needs from one RSS snapshot, built with it and
 * published with it: the solvers for the reply of a new mapping ([0] TCP and
 * UDP, [1] ICMP echo), the WAN field set each reply is hashed with, and
 * whether the external port is in that hash at all. */
struct nat_view {
	const struct rss_snapshot *snap;
	uint64_t seq; /* 1, 2, ...: the order the views were published in */
	struct rss_port_solver solver[2];
	unsigned fields[2];
	bool steerable[2];
	/* The view before: where a bucket's sessions come from while this one
	 * is being adopted. Freed when the next view is published (every
	 * worker has finished moving into this one by then). */
	struct nat_view *older;
};

/* TCP session states, after RFC 6146 3.5.2 with LAN for "V6" (inside) and
 * WAN for "V4" (outside):
 *   LAN_SYN / WAN_SYN  one side has sent SYN           (opening timeout)
 *   ESTABLISHED        SYN seen both ways              (established)
 *   LAN_FIN / WAN_FIN  one side has sent FIN           (established)
 *   BOTH_FIN           FIN both ways                   (closing timeout)
 *   RST                RST seen; any other segment     (rst timeout)
 *                      brings it back to ESTABLISHED (RFC 7857 2.2)
 * Simultaneous open (RFC 5382 REQ-2): LAN_SYN + SYN from the WAN, or
 * WAN_SYN + SYN from the LAN, is ESTABLISHED. */
enum nat_tcp_state {
	NAT_TCP_NONE, /* not TCP */
	NAT_TCP_LAN_SYN,
	NAT_TCP_WAN_SYN,
	NAT_TCP_ESTABLISHED,
	NAT_TCP_LAN_FIN,
	NAT_TCP_WAN_FIN,
	NAT_TCP_BOTH_FIN,
	NAT_TCP_RST,
};

/* nat_session.offload bits (offload.c). */
enum {
	NAT_OFF_SEEN_LAN = 1,  /* a packet from the LAN went through */
	NAT_OFF_SEEN_WAN = 2,  /* one from the WAN */
	NAT_OFF_INSTALLED = 4, /* both directions are in the fast path's table */
};

/* One session: 48 bytes (44 before the fast path's flags; wan_gen took padding). The LAN and WAN
 * lookup chains run through the sessions themselves (next_lan, next_wan), so the two indexes cost
 * only their bucket heads. A free session is kept on the free list via next_lan. */
struct nat_session {
	uint32_t lan_addr;
	uint32_t rem_addr;
	uint16_t lan_port;
	uint16_t rem_port; /* 0 for ICMP */
	uint16_t ext_port;
	uint8_t proto;
	uint8_t tcp_state;
	uint8_t offload; /* NAT_OFF_* */
	uint8_t wan_gen; /* the WAN address generation it was made under, mod 256 (wan.c) */
	uint32_t next_lan;
	uint32_t next_wan;
	uint32_t mapping;
	struct timer_link timer;
};

enum {
	NAT_HOLD_MAX = 64,
	/* WAN address generations remembered (a session's wan_gen is mod
	 * this): far more renumberings than can happen while a session is in
	 * transit between two workers (a few milliseconds). */
	NAT_WAN_GENS = 256,
};

/* Shallow virtual reassembly: the ports of a fragmented datagram, learnt
 * from its first fragment (RFC 4787 REQ-14). */
struct nat_frag {
	uint32_t saddr, daddr;
	uint16_t ip_id;
	uint8_t proto;
	uint8_t side;
	uint8_t have_ports;
	uint16_t sport, dport;
	uint32_t expires;
	uint32_t next; /* hash chain or free list */
};

struct nat_held {
	struct pkt *p;
	uint32_t frag; /* index of its struct nat_frag */
	uint32_t expires;
};

/* nat_dump_sessions(): the control thread's request, served by the worker. */
enum nat_dump_state { DUMP_IDLE, DUMP_REQUESTED, DUMP_SERVING, DUMP_DONE };

/* struct nat_timeouts as words, for the sequence lock. */
enum { NAT_TIMEOUT_WORDS = sizeof(struct nat_timeouts) / sizeof(uint32_t) };
_Static_assert(sizeof(struct nat_timeouts) == NAT_TIMEOUT_WORDS * sizeof(uint32_t),
	       "struct nat_timeouts is all uint32_t");

struct nat_worker {
	struct nat *nat;
	unsigned id;
	uint32_t hash_seed;
	uint64_t rand_state;
	/* sessions */
	struct nat_session *sessions;
	uint32_t n_sessions;
	uint32_t free_session;
	uint32_t *lan_heads, *wan_heads;
	uint32_t heads_mask;
	struct timer_wheel wheel;
	struct timer_space timer_space;
	uint32_t now;
	struct nat_timeouts timeouts; /* this worker's copy (nat_set_timeouts()) */
	/* The WAN address generation this worker has adopted, and its address
	 * (0: none): every translation uses these (wan.c). */
	uint32_t wan_gen;
	uint32_t wan_addr;
	/* The view this worker has adopted: every ownership decision of its
	 * data path is made with it (nat.h, "Migration"). */
	const struct nat_view *view;
	uint64_t pending_from; /* bit A: worker A's export to us is not imported yet */
	bool exports_held;     /* exported slots wait for their importers */
	bool settled;	       /* adopted, imported and freed: done_seq published */
	uint32_t timeouts_seq;
	/* mappings this worker may allocate, and the janitor's rings */
	uint32_t *free_maps;
	uint32_t n_free_maps;
	struct ring retire;  /* worker -> janitor: dead mapping ids */
	struct ring recycle; /* janitor -> worker: ids safe to reuse */
	void **retire_slots, **recycle_slots;
	uint32_t retire_over;	    /* dead mappings the retire ring had no room for */
	_Atomic uint64_t quiescent; /* last global epoch this worker has seen */
	/* fragments */
	struct nat_frag *frags;
	uint32_t *frag_heads;
	uint32_t frag_mask;
	uint32_t free_frag;
	uint32_t *frag_fifo; /* live entries, oldest first: their timer */
	uint32_t fifo_head, fifo_count, fifo_size;
	uint32_t frag_pending; /* first fragment just seen: release its held ones */
	/* Entries still waiting for their first fragment, per source and side,
	 * hashed (sources that share a slot share the limit). */
	uint32_t *frag_src;
	uint32_t frag_src_mask;
	uint32_t frag_src_limit;
	struct nat_held held[NAT_HOLD_MAX];
	unsigned n_held;
	struct pkt *released[NAT_HOLD_MAX];
	unsigned n_released;
	struct nat_counters c;
	struct ratelimit *error_limit; /* asked before each ICMP error; NULL: none */
	/* Sessions exported to each new owner, linked by next_lan; read by that
	 * owner once export_seq says they are complete. */
	uint32_t out_head[RSS_QUEUES_MAX];
	/* ---- read by other threads: cache lines of their own ---- */
	alignas(64) _Atomic uint64_t export_seq;       /* release: out_head[] complete for it */
	_Atomic uint64_t done_seq;		       /* release: nothing left to move for it */
	_Atomic uint64_t imported_seq[RSS_QUEUES_MAX]; /* [A]: A's export imported */
	alignas(64) _Atomic uint32_t dump_state;       /* enum nat_dump_state */
	struct nat_session_info *dump_out;
	unsigned dump_max, dump_count;
};

struct nat {
	struct nat_config cfg;
	_Atomic(struct nat_view *) view;
	/* Deleted port mappings their owner has not yet taken over: a count
	 * (checked between bursts), and per port mapping id its home bucket + 1
	 * (0: none). The owner takes one with compare-and-swap to 0. */
	_Atomic uint32_t statics_dying;
	_Atomic uint32_t dying[NAT_STATIC_MAX];
	/* nat_set_timeouts(): a sequence lock (odd while written) over the
	 * timeouts as words; each worker copies them between bursts. The
	 * control thread's own copy is cfg.timeouts; workers never read it. */
	_Atomic uint32_t timeouts_seq;
	_Atomic uint32_t timeouts[NAT_TIMEOUT_WORDS];
	/* The WAN address (wan.c): generation << 32 | address, one word so
	 * that a worker reads both at once; and the address of each recent
	 * generation (by generation mod NAT_WAN_GENS), for the fast-path keys of
	 * sessions made under an older one. Written by the control thread
	 * (nat_set_wan_addr()), before the word that publishes it. */
	_Atomic uint64_t wan;
	_Atomic uint32_t wan_hist[NAT_WAN_GENS];
	/* RFC 6888 REQ-4: nat_set_host_mappings() stores, workers load
	 * (relaxed: a plain number, read for each new mapping). */
	_Atomic uint32_t host_quota;
	/* The kernel fast path (nat.h): set before the workers start. */
	const struct nat_offload_ops *offload_ops;
	void *offload_ctx;
	_Atomic bool offload_on;
	/* Live mappings per LAN host, for the quota: one counter per host of
	 * the LAN prefix (index = host part) when it has at most 16 host bits,
	 * else 65536 counters hashed by address (hosts that share one share a
	 * quota). Any worker adds with fetch-add when it makes a mapping and
	 * whoever frees it (the owner, after a move another worker)
	 * subtracts: no lock, and a count that is exact whichever worker does
	 * what. Ingress filtering keeps other sources out (translate.c). */
	_Atomic uint32_t *host_maps;
	uint32_t host_mask;
	bool host_direct;
	unsigned n_workers;
	struct nat_worker *workers;
	/* shared, read-mostly */
	struct nat_mapping *maps;
	uint32_t n_maps;
	uint32_t maps_per_worker;
	uint32_t static_base;	     /* ids static_base.. are port mappings' */
	_Atomic uint32_t *eim_heads; /* internal endpoint -> mapping chain */
	uint32_t eim_mask;
	_Atomic uint32_t *by_port; /* [NAT_PI_COUNT][65536]: mapping id + 1, 0 free */
	uint32_t eim_seed;
	/* janitor (the control thread) only */
	_Atomic uint64_t epoch;
	uint32_t *limbo;
	uint32_t n_limbo;
	uint32_t static_free[NAT_STATIC_MAX]; /* port mapping ids free for use */
	uint32_t n_static_free;
	bool static_deleted[NAT_STATIC_MAX]; /* live, but no port mapping any more */
};

/* ---- helpers shared by the files ---- */

static inline int nat_proto_index(uint8_t proto)
{
	switch (proto) {
	case PKT_PROTO_TCP:
		return NAT_PI_TCP;
	case PKT_PROTO_UDP:
		return NAT_PI_UDP;
	case PKT_PROTO_ICMP:
		return NAT_PI_ICMP;
	}
	return -1;
}

static inline const struct nat_view *nat_view(const struct nat *nat)
{
	return atomic_load_explicit(&nat->view, memory_order_acquire);
}

/* The worker @v gives @bucket. A bucket is kept as the table had it when
 * its mapping was made; masked, it means the same to every view, whatever
 * its table size. */
static inline unsigned nat_view_owner(const struct nat_view *v, unsigned bucket)
{
	return v->snap->table[bucket & v->snap->bucket_mask];
}

/* Hash two words for a table index: fold, then the MurmurHash3 64-bit
 * finaliser, so that every input bit reaches the low (index) bits. Keys put
 * their most variable bits anywhere (an address's last byte is the top byte
 * of its uint32_t), and a multiply alone only carries bits upwards. */
static inline uint32_t nat_mix(uint64_t a, uint64_t b, uint32_t seed)
{
	return (uint32_t)bits_fmix64(a ^ (b * 0x9e3779b97f4a7c15ull) ^ seed);
}

static inline uint64_t nat_rand(struct nat_worker *w)
{
	uint64_t z = (w->rand_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void nat_drop(struct nat_worker *w, struct pkt *p, enum nat_drop why)
{
	p->verdict = PKT_DROP;
	p->drop = (uint8_t)why;
	w->c.drop[why]++;
	w->c.dropped++;
}

/* mapping.c */
int nat_host_maps_init(struct nat *nat);
size_t nat_host_maps_bytes(const struct nat *nat);
uint32_t nat_map_find_endpoint(struct nat *nat, uint8_t proto, uint32_t lan_addr,
			       uint16_t lan_port);
uint32_t nat_map_find_port(struct nat *nat, uint8_t proto, uint16_t ext_port);
/* nat_map_create() - a new mapping homed in @bucket for the endpoint, with an
 * external port that steers the reply of (rem_addr, rem_port) home where it
 * can. Returns the mapping id; *existing is set when another worker mapped
 * the endpoint first (then that id is returned); NAT_NONE with *why on
 * failure. */
uint32_t nat_map_create(struct nat_worker *w, uint8_t proto, uint32_t lan_addr, uint16_t lan_port,
			uint32_t rem_addr, uint16_t rem_port, unsigned bucket, bool *existing,
			enum nat_drop *why);
void nat_map_release(struct nat_worker *w, uint32_t id); /* last session gone */
void nat_map_quiesce(struct nat_worker *w);
/* nat_map_take_dying() - the owner's half of nat_static_delete(): a
 * deleted port mapping whose sessions are here becomes an ordinary mapping,
 * freed with its last session (now if it has none). */
void nat_map_take_dying(struct nat_worker *w);
/* nat_settled() - are @bucket's sessions here, or on their way in from
 * worker *from (its export not yet imported)? Only for a bucket this worker
 * owns in its view. */
static inline bool nat_settled(const struct nat_worker *w, unsigned bucket, unsigned *from)
{
	if (!w->pending_from)
		return true;
	*from = nat_view_owner(w->view->older, bucket);
	return *from == w->id || !(w->pending_from & (1ull << *from));
}

/* session.c */
int nat_sessions_init(struct nat_worker *w, uint32_t capacity);
void nat_sessions_free(struct nat_worker *w);
enum { NAT_PREFETCH_MAX = 32 };
/* nat_session_prefetch() - start loading the chain heads, then the first
 * sessions, of up to NAT_PREFETCH_MAX packets, so that a burst's lookups
 * overlap their cache misses instead of paying them one after another. */
void nat_session_prefetch(const struct nat_worker *w, struct pkt *const *pkts, unsigned n);
uint32_t nat_session_find_lan(const struct nat_worker *w, uint8_t proto, uint32_t lan_addr,
			      uint16_t lan_port, uint32_t rem_addr, uint16_t rem_port);
uint32_t nat_session_find_wan(const struct nat_worker *w, uint8_t proto, uint32_t rem_addr,
			      uint16_t rem_port, uint16_t ext_port);
/* nat_session_any_remote() - does the owner hold a session of this external
 * port with the remote address (any remote port)? (address-dependent
 * filtering, RFC 4787 REQ-8) */
bool nat_session_any_remote(const struct nat_worker *w, uint8_t proto, uint32_t rem_addr,
			    uint16_t ext_port);
uint32_t nat_session_create(struct nat_worker *w, uint32_t map_id, uint32_t rem_addr,
			    uint16_t rem_port);
/* nat_session_seen() - a packet of the session went through: TCP state and
 * timer. @from_lan is its direction. */
void nat_session_seen(struct nat_worker *w, struct nat_session *s, const struct pkt *p,
		      bool from_lan);
void nat_sessions_expire(struct nat_worker *w, uint32_t now);
/* nat_session_end() - a live session ends without expiring (the WAN
 * address it used went away): off the fast path, out of its chains and
 * the timer wheel, its mapping released, its slot free. Not counted. */
void nat_session_end(struct nat_worker *w, uint32_t idx);
/* nat_sessions_retime() - w->timeouts have just replaced @old: every
 * session's expiry follows (nat_set_timeouts()). */
void nat_sessions_retime(struct nat_worker *w, const struct nat_timeouts *old);
/* Migration (session.c): give away the sessions of every bucket @v gives
 * another worker; take what the old owners have exported (returns how
 * many workers' exports were imported); free exported slots once every
 * importer has them. */
void nat_sessions_export(struct nat_worker *w, const struct nat_view *v);
unsigned nat_sessions_import(struct nat_worker *w);
void nat_sessions_free_exported(struct nat_worker *w);
void nat_sessions_dump(struct nat_worker *w);

/* offload.c */
/* nat_offload_seen() - after a packet of @s went through here. */
void nat_offload_seen(struct nat_worker *w, struct nat_session *s, bool from_lan);
/* nat_offload_keep() - @s is due to expire: true if the fast path
 * forwarded it within @timeout seconds, and then its expiry is moved to
 * that packet plus @timeout (later than @now). Otherwise its entries are
 * removed and it may go. */
bool nat_offload_keep(struct nat_worker *w, struct nat_session *s, uint32_t timeout);
/* nat_offload_forget() - @s ends without expiring (lost in a move). */
void nat_offload_forget(struct nat_worker *w, const struct nat_session *s);

/* wan.c */
void nat_wan_init(struct nat *nat);
void nat_wan_worker_init(struct nat_worker *w);
/* nat_wan_changed() - has a generation been published that @w has not
 * adopted? (a load: nat_worker_sync()'s fast check) */
bool nat_wan_changed(const struct nat_worker *w);
/* nat_wan_adopt() - adopt the latest generation: end every session held
 * here of an older one. Between bursts, or before an import. */
void nat_wan_adopt(struct nat_worker *w);
/* nat_wan_stale() - @s was made under an older generation than @w's. */
static inline bool nat_wan_stale(const struct nat_worker *w, const struct nat_session *s)
{
	return s->wan_gen != (uint8_t)w->wan_gen;
}
/* nat_wan_of() - the address session @s was made with (fast-path keys). */
uint32_t nat_wan_of(const struct nat_worker *w, const struct nat_session *s);

/* frag.c */
int nat_frags_init(struct nat_worker *w, uint32_t capacity);
void nat_frags_free(struct nat_worker *w);
/* nat_frag_ports() - give a fragment its datagram's ports. Returns 1 when
 * p->sport/dport are set (a first fragment also marks its datagram so that
 * nat_frags_release() translates the fragments that waited for it), 0 when
 * the packet was held (out of order), -1 when it was dropped. */
int nat_frag_ports(struct nat_worker *w, struct pkt *p);
/* nat_frags_release() - after a first fragment was translated. */
void nat_frags_release(struct nat_worker *w);
void nat_frags_expire(struct nat_worker *w, uint32_t now);
/* nat_frags_retime() - the fragment timeout was @old, now w->timeouts.frag:
 * every entry and held fragment follows. */
void nat_frags_retime(struct nat_worker *w, uint32_t old);

/* translate.c */
void nat_process_one(struct nat_worker *w, struct pkt *p); /* counts it received */
void nat_translate(struct nat_worker *w, struct pkt *p);

#endif
