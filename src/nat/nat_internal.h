/* nat_internal.h - shared between the files of the nat module only. */
#ifndef RSSNAT_NAT_INTERNAL_H
#define RSSNAT_NAT_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

#include "../core/ring.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"
#include "nat.h"
#include "timer.h"

enum { NAT_NONE = UINT32_MAX };

/* Protocol index for the per-protocol external port tables. */
enum nat_proto_index { NAT_PI_TCP, NAT_PI_UDP, NAT_PI_ICMP, NAT_PI_COUNT };

/* pkt.flags bit the NAT owns: the ports in the descriptor of a later
 * fragment came from the fragment cache (shallow virtual reassembly). */
enum { NAT_PF_CACHED_PORTS = 1u << 15 };

/* Mapping states. LIVE mappings are found by lookups; DEAD ones are
 * skipped and wait for the janitor to unlink and recycle them. */
enum nat_map_state { MAP_FREE, MAP_LIVE, MAP_DEAD };

/* One endpoint-independent mapping, in the shared array. Fields above the
 * line are written before the mapping is published and then only read by
 * other workers; below it only the owner touches. */
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
	/* Janitor only: the epoch it was unlinked in. 32 bits compared as
	 * serial numbers (RFC 1982): a mapping waits a few epochs, not 2^31. */
	uint32_t retired_epoch;
};

/* What the data path needs from one RSS snapshot, built with it and
 * published with it: the solvers for the reply of a new mapping ([0] TCP and
 * UDP, [1] ICMP echo), the WAN field set each reply is hashed with, and
 * whether the external port is in that hash at all. */
struct nat_view {
	const struct rss_snapshot *snap;
	struct rss_port_solver solver[2];
	unsigned fields[2];
	bool steerable[2];
	struct nat_view *older; /* kept until nat_destroy() */
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

/* One session: 44 bytes. The LAN and WAN lookup chains run through the
 * sessions themselves (next_lan, next_wan), so the two indexes cost only
 * their bucket heads. A free session is kept on the free list via next_lan. */
struct nat_session {
	uint32_t lan_addr;
	uint32_t rem_addr;
	uint16_t lan_port;
	uint16_t rem_port; /* 0 for ICMP */
	uint16_t ext_port;
	uint8_t proto;
	uint8_t tcp_state;
	uint32_t next_lan;
	uint32_t next_wan;
	uint32_t mapping;
	struct timer_link timer;
};

enum { NAT_HOLD_MAX = 64 };

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
	/* mappings this worker may allocate, and the janitor's rings */
	uint32_t *free_maps;
	uint32_t n_free_maps;
	struct ring retire;  /* worker -> janitor: dead mapping ids */
	struct ring recycle; /* janitor -> worker: ids safe to reuse */
	void **retire_slots, **recycle_slots;
	_Atomic uint64_t quiescent; /* last global epoch this worker has seen */
	/* fragments */
	struct nat_frag *frags;
	uint32_t *frag_heads;
	uint32_t frag_mask;
	uint32_t free_frag;
	uint32_t *frag_fifo; /* live entries, oldest first: their timer */
	uint32_t fifo_head, fifo_count, fifo_size;
	uint32_t frag_pending; /* first fragment just seen: release its held ones */
	struct nat_held held[NAT_HOLD_MAX];
	unsigned n_held;
	struct pkt *released[NAT_HOLD_MAX];
	unsigned n_released;
	struct nat_counters c;
};

struct nat {
	struct nat_config cfg;
	_Atomic(struct nat_view *) view;
	unsigned n_workers;
	struct nat_worker *workers;
	/* shared, read-mostly */
	struct nat_mapping *maps;
	uint32_t n_maps;
	uint32_t maps_per_worker;
	_Atomic uint32_t *eim_heads; /* internal endpoint -> mapping chain */
	uint32_t eim_mask;
	_Atomic uint32_t *by_port; /* [NAT_PI_COUNT][65536]: mapping id + 1, 0 free */
	uint32_t eim_seed;
	/* janitor only */
	_Atomic uint64_t epoch;
	uint32_t *limbo;
	uint32_t n_limbo;
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

static inline const struct rss_snapshot *nat_snap(const struct nat *nat)
{
	return nat_view(nat)->snap;
}

static inline unsigned nat_owner_of(const struct nat *nat, const struct nat_mapping *m)
{
	return nat_snap(nat)->table[m->bucket];
}

/* Hash two words for a table index: fold, then the MurmurHash3 64-bit
 * finaliser, so that every input bit reaches the low (index) bits. Keys put
 * their most variable bits anywhere (an address's last byte is the top byte
 * of its uint32_t), and a multiply alone only carries bits upwards. */
static inline uint32_t nat_mix(uint64_t a, uint64_t b, uint32_t seed)
{
	uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ull) ^ seed;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
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
int nat_map_add_static(struct nat *nat, const struct nat_static_map *sm, const char **why);
void nat_map_quiesce(struct nat_worker *w);

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

/* translate.c */
void nat_process_one(struct nat_worker *w, struct pkt *p); /* counts it received */
void nat_translate(struct nat_worker *w, struct pkt *p);

#endif
