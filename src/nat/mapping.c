/* mapping.c - endpoint-independent mappings: the shared tables, external
 * port choice with RSS steering, and the janitor that recycles dead ones.
 *
 * Two shared indexes point into one array of mappings:
 *   by_port[proto][port]  external port -> mapping id + 1 (0: free). A port is
 *                         taken with one compare-and-swap, so no two
 *                         mappings ever share one (RFC 4787 REQ-3: no port
 *                         overloading).
 *   eim_heads[]           internal endpoint -> chain of mappings. Workers only
 *                         ever insert at a chain's head, with compare-and-
 *                         swap after checking the chain for the endpoint, so
 *                         two workers racing to map one endpoint end with
 *                         one mapping (RFC 4787 REQ-1).
 * A dead mapping is marked DEAD (lookups skip it) and its port freed at
 * once; the janitor (nat_reclaim(), one thread) unlinks it from its chain
 * and hands its id back to a worker only after every worker has passed a
 * quiescent point since the unlink (QSBR), so no reader still holds it.
 * The janitor gives a worker's id back to the worker that allocated it
 * (id / maps_per_worker), whoever released it: after a move the releaser
 * is the bucket's new owner. The allocator's free stack has room for all
 * its ids, and a releaser keeps what its retire ring cannot take yet. Port
 * mappings' ids come from a pool of their own, the control thread's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_internal.h"

static _Atomic uint32_t *port_slot(struct nat *nat, int pi, uint16_t port)
{
	return &nat->by_port[(size_t)pi * 65536 + port];
}

static uint32_t eim_bucket(const struct nat *nat, uint8_t proto, uint32_t addr, uint16_t port)
{
	return nat_mix((uint64_t)addr << 24 | (uint64_t)port << 8 | proto, 0, nat->eim_seed) &
	       nat->eim_mask;
}

static bool is_live(const struct nat_mapping *m)
{
	return atomic_load_explicit(&m->state, memory_order_acquire) == MAP_LIVE;
}

static bool same_endpoint(const struct nat_mapping *m, uint8_t proto, uint32_t addr, uint16_t port)
{
	return m->proto == proto && m->lan_addr == addr && m->lan_port == port;
}

uint32_t nat_map_find_endpoint(struct nat *nat, uint8_t proto, uint32_t lan_addr, uint16_t lan_port)
{
	uint32_t id = atomic_load_explicit(
	    &nat->eim_heads[eim_bucket(nat, proto, lan_addr, lan_port)], memory_order_acquire);

	while (id != NAT_NONE) {
		const struct nat_mapping *m = &nat->maps[id];
		if (is_live(m) && same_endpoint(m, proto, lan_addr, lan_port))
			return id;
		id = atomic_load_explicit(&m->next, memory_order_acquire);
	}
	return NAT_NONE;
}

uint32_t nat_map_find_port(struct nat *nat, uint8_t proto, uint16_t ext_port)
{
	int pi = nat_proto_index(proto);
	uint32_t v;

	if (pi < 0)
		return NAT_NONE;
	v = atomic_load_explicit(port_slot(nat, pi, ext_port), memory_order_acquire);
	if (!v || !is_live(&nat->maps[v - 1]) || nat->maps[v - 1].ext_port != ext_port)
		return NAT_NONE;
	return v - 1;
}

/* Publish mapping @id in its chain unless the endpoint is mapped already;
 * returns @id, or the id of the mapping that was there first. */
static uint32_t eim_insert(struct nat *nat, uint32_t id)
{
	struct nat_mapping *m = &nat->maps[id];
	_Atomic uint32_t *head =
	    &nat->eim_heads[eim_bucket(nat, m->proto, m->lan_addr, m->lan_port)];

	for (;;) {
		uint32_t first = atomic_load_explicit(head, memory_order_acquire);
		for (uint32_t x = first; x != NAT_NONE;) {
			const struct nat_mapping *o = &nat->maps[x];
			if (is_live(o) && same_endpoint(o, m->proto, m->lan_addr, m->lan_port))
				return x;
			x = atomic_load_explicit(&o->next, memory_order_acquire);
		}
		atomic_store_explicit(&m->next, first, memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(head, &first, id, memory_order_release,
							  memory_order_relaxed))
			return id;
	}
}

/* Janitor only: take @id out of its chain. Workers only change heads (by
 * inserting), so a non-head link is ours to rewrite. */
static void eim_unlink(struct nat *nat, uint32_t id)
{
	struct nat_mapping *m = &nat->maps[id];
	_Atomic uint32_t *head =
	    &nat->eim_heads[eim_bucket(nat, m->proto, m->lan_addr, m->lan_port)];
	uint32_t next = atomic_load_explicit(&m->next, memory_order_acquire);

	for (;;) {
		uint32_t expected = id;
		if (atomic_compare_exchange_strong_explicit(
			head, &expected, next, memory_order_release, memory_order_acquire))
			return;
		/* Not (or no longer) the head: find the node before it. */
		for (uint32_t x = expected; x != NAT_NONE;) {
			struct nat_mapping *o = &nat->maps[x];
			uint32_t after = atomic_load_explicit(&o->next, memory_order_acquire);
			if (after == id) {
				atomic_store_explicit(&o->next, next, memory_order_release);
				return;
			}
			x = after;
		}
		/* A concurrent insert moved the head between our two looks. */
	}
}

/* ---- external port choice ---- */

/* RFC 4787 REQ-3 (port range): an internal port in 0-1023 maps into
 * 1-1023, one in 1024-65535 into 1024-65535. ICMP identifiers have no
 * classes. Then the NAT's own range (shared mode, nat.h): a class outside
 * it takes the range as it is, since a port outside the range would be
 * the host's, not ours (REQ-3 is a recommendation; whose frame a port is
 * decides whether the reply arrives at all). */
static void port_class(const struct nat_config *cfg, uint8_t proto, uint16_t lan_port, uint32_t *lo,
		       uint32_t *hi)
{
	if (proto == PKT_PROTO_ICMP) {
		*lo = 0;
		*hi = 65535;
	} else if (lan_port < 1024) {
		*lo = 1;
		*hi = 1023;
	} else {
		*lo = 1024;
		*hi = 65535;
	}
	if (*lo < cfg->port_lo)
		*lo = cfg->port_lo;
	if (*hi > cfg->port_hi)
		*hi = cfg->port_hi;
	if (*lo > *hi) {
		*lo = cfg->port_lo;
		*hi = cfg->port_hi;
	}
}

static bool in_class(uint32_t port, uint32_t lo, uint32_t hi)
{
	return port >= lo && port <= hi;
}

static bool port_claim(struct nat *nat, int pi, uint32_t port, uint32_t id)
{
	uint32_t free_mark = 0;

	return atomic_compare_exchange_strong_explicit(port_slot(nat, pi, (uint16_t)port),
						       &free_mark, id + 1, memory_order_acq_rel,
						       memory_order_relaxed);
}

/* The hash input of the reply a session's remote will send: remote ->
 * WAN address:port, with the port zero. Returns false if that hash cannot
 * be steered by the external port. */
static bool reply_hash0(const struct nat_view *v, uint8_t proto, uint32_t wan_addr,
			uint32_t rem_addr, uint16_t rem_port, uint32_t *hash0)
{
	const struct rss_snapshot *snap = v->snap;
	int k = proto == PKT_PROTO_ICMP;
	struct rss_tuple t = {.family = 4, .sport = k ? 0 : rem_port};
	uint8_t in[RSS_INPUT_MAX];

	if (!v->steerable[k])
		return false;
	memcpy(t.src, &rem_addr, 4);
	memcpy(t.dst, &wan_addr, 4);
	*hash0 = rss_hash(&snap->hasher, in, rss_input(&t, v->fields[k], in));
	return true;
}

/* A random free port of the class, from a random start (RFC 6056 alg. 1). */
static uint32_t pick_unsteered(struct nat_worker *w, int pi, uint32_t lo, uint32_t hi, uint32_t id)
{
	uint32_t n = hi - lo + 1, start = (uint32_t)(nat_rand(w) % n);

	for (uint32_t k = 0; k < n; k++) {
		uint32_t port = lo + (start + k) % n;
		if (port_claim(w->nat, pi, port, id))
			return port;
	}
	return NAT_NONE;
}

/* A free port of the class among those that steer the reply into the
 * target bucket: the solver's affine set, walked in a random order (random
 * start, random odd stride) so that ports stay unpredictable (RFC 6056). */
static uint32_t pick_steered(struct nat_worker *w, const struct rss_port_set *set, int pi,
			     uint32_t lo, uint32_t hi, uint32_t id)
{
	uint32_t count = rss_port_set_count(set), start = (uint32_t)nat_rand(w);
	uint32_t stride = (uint32_t)nat_rand(w) | 1;

	for (uint32_t k = 0; k < count; k++) {
		uint32_t port = rss_port_set_at(set, (start + k * stride) & (count - 1));
		if (port >= lo && port <= hi && port_claim(w->nat, pi, port, id))
			return port;
	}
	return NAT_NONE;
}

/* Does @port put the reply into @bucket? (hash0 plus the port's share) */
static bool port_lands(const struct nat_view *v, int k, uint32_t hash0, uint16_t port,
		       unsigned bucket)
{
	const struct rss_port_solver *s = &v->solver[k];
	const uint32_t(*tab)[256] = v->snap->hasher.tab;
	uint32_t h = hash0 ^ tab[s->port_off][port >> 8] ^ tab[s->port_off + 1][port & 0xff];

	return (h & s->mask) == bucket;
}

static uint32_t choose_port(struct nat_worker *w, struct nat_mapping *m, uint32_t id,
			    uint32_t rem_addr, uint16_t rem_port)
{
	struct nat *nat = w->nat;
	const struct nat_view *v = w->view; /* the one that made us the owner */
	int pi = nat_proto_index(m->proto);
	uint32_t lo, hi, hash0, port;
	struct rss_port_set set;

	port_class(&nat->cfg, m->proto, m->lan_port, &lo, &hi);
	if (nat->cfg.steering == NAT_STEER_RSS &&
	    reply_hash0(v, m->proto, w->wan_addr, rem_addr, rem_port, &hash0)) {
		int k = m->proto == PKT_PROTO_ICMP;
		rss_port_solver_solve(&v->solver[k], hash0, m->bucket, &set);
		if (!set.empty) {
			if (in_class(m->lan_port, lo, hi) &&
			    port_lands(v, k, hash0, m->lan_port, m->bucket) &&
			    port_claim(nat, pi, m->lan_port, id)) {
				w->c.port_kept++;
				return m->lan_port;
			}
			port = pick_steered(w, &set, pi, lo, hi, id);
			if (port != NAT_NONE) {
				w->c.port_steered++;
				return port;
			}
		}
	} else if (in_class(m->lan_port, lo, hi) && port_claim(nat, pi, m->lan_port, id)) {
		/* Not steering: keep the internal port when it is free. */
		w->c.port_kept++;
		return m->lan_port;
	}
	w->c.port_unsteered++;
	return pick_unsteered(w, pi, lo, hi, id);
}

/* ---- the per-host quota (RFC 6888 REQ-4) ---- */

enum { HOST_SLOTS_HASHED = 65536 };

int nat_host_maps_init(struct nat *nat)
{
	uint32_t host_bits = 32 - (uint32_t)__builtin_popcount(nat->cfg.lan_mask);
	size_t n;

	nat->host_direct = host_bits <= 16;
	n = nat->host_direct ? (size_t)1 << host_bits : HOST_SLOTS_HASHED;
	nat->host_mask = (uint32_t)n - 1;
	nat->host_maps = calloc(n, sizeof(*nat->host_maps));
	return nat->host_maps ? 0 : -ENOMEM;
}

size_t nat_host_maps_bytes(const struct nat *nat)
{
	return ((size_t)nat->host_mask + 1) * sizeof(*nat->host_maps);
}

static _Atomic uint32_t *host_count(struct nat *nat, uint32_t lan_addr)
{
	if (nat->host_direct)
		return &nat->host_maps[ntohl(lan_addr) & nat->host_mask];
	return &nat->host_maps[nat_mix(lan_addr, 0, nat->eim_seed) & nat->host_mask];
}

/* Count one more mapping for @lan_addr, unless it is at its quota. Always
 * counted, quota or none, so that a quota set later sees the truth. */
static bool quota_take(struct nat *nat, uint32_t lan_addr)
{
	uint32_t quota = atomic_load_explicit(&nat->host_quota, memory_order_relaxed);
	_Atomic uint32_t *c = host_count(nat, lan_addr);

	if (atomic_fetch_add_explicit(c, 1, memory_order_relaxed) < quota || !quota)
		return true;
	atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
	return false;
}

static void quota_give(struct nat *nat, uint32_t lan_addr)
{
	atomic_fetch_sub_explicit(host_count(nat, lan_addr), 1, memory_order_relaxed);
}

/* ---- birth and death ---- */

static void refill_free_maps(struct nat_worker *w)
{
	void *ids[64];
	unsigned n;

	while ((n = ring_pop(&w->recycle, ids, 64)) > 0)
		for (unsigned i = 0; i < n; i++)
			w->free_maps[w->n_free_maps++] = (uint32_t)(uintptr_t)ids[i];
}

/* A worker may release more mappings than it allocates (a move can give it
 * buckets others mapped): what the ring cannot take waits on a list linked
 * through the mappings, flushed at the next quiescent point. */
static void retire(struct nat_worker *w, uint32_t id)
{
	void *obj = (void *)(uintptr_t)id;

	if (w->retire_over == NAT_NONE && ring_push(&w->retire, &obj, 1))
		return;
	w->nat->maps[id].retire_next = w->retire_over;
	w->retire_over = id;
}

static void retire_flush(struct nat_worker *w)
{
	while (w->retire_over != NAT_NONE) {
		uint32_t id = w->retire_over;
		void *obj = (void *)(uintptr_t)id;
		if (!ring_push(&w->retire, &obj, 1))
			return;
		w->retire_over = w->nat->maps[id].retire_next;
	}
}

/* A mapping's external port or identifier, live or gone (nat.h
 * ports_live): an atomic OR or AND of its bit, since another worker may
 * change another bit of the same word at the same moment. Set before the
 * mapping's first packet leaves, so that the reply finds it; cleared
 * before its port slot is freed, so that the next mapping to take the
 * port (on any worker: the slot's release orders it) sets it after. */
static void live_publish(struct nat *nat, const struct nat_mapping *m, bool live)
{
	int pi = nat_proto_index(m->proto);
	_Atomic uint64_t *word;
	uint64_t bit = 1ull << (m->ext_port & 63);

	if (pi < 0 || !nat->cfg.ports_live)
		return;
	word = &nat->cfg.ports_live[(unsigned)pi * (65536 / 64) + (m->ext_port >> 6)];
	if (live)
		atomic_fetch_or_explicit(word, bit, memory_order_release);
	else
		atomic_fetch_and_explicit(word, ~bit, memory_order_release);
}

uint32_t nat_map_create(struct nat_worker *w, uint8_t proto, uint32_t lan_addr, uint16_t lan_port,
			uint32_t rem_addr, uint16_t rem_port, unsigned bucket, bool *existing,
			enum nat_drop *why)
{
	struct nat *nat = w->nat;
	struct nat_mapping *m;
	uint32_t id, port, first;

	*existing = false;
	if (!w->n_free_maps)
		refill_free_maps(w);
	if (!w->n_free_maps) {
		*why = NAT_DROP_MAPPINGS_FULL;
		return NAT_NONE;
	}
	if (!quota_take(nat, lan_addr)) {
		*why = NAT_DROP_HOST_QUOTA;
		return NAT_NONE;
	}
	id = w->free_maps[--w->n_free_maps];
	m = &nat->maps[id];
	m->proto = proto;
	m->lan_addr = lan_addr;
	m->lan_port = lan_port;
	m->bucket = (uint16_t)bucket;
	m->sessions = 0;
	m->is_static = 0;
	m->linked = 0;
	port = choose_port(w, m, id, rem_addr, rem_port);
	if (port == NAT_NONE) {
		quota_give(nat, lan_addr);
		w->free_maps[w->n_free_maps++] = id;
		*why = NAT_DROP_PORTS_EXHAUSTED;
		return NAT_NONE;
	}
	m->ext_port = (uint16_t)port;
	/* Published before any worker can find the mapping (eim_insert) and
	 * send with it: the reply to its first packet finds the bit. */
	live_publish(nat, m, true);
	atomic_store_explicit(&m->state, MAP_LIVE, memory_order_release);
	first = eim_insert(nat, id);
	if (first != id) {
		/* Another worker mapped this endpoint meanwhile: use its mapping. */
		atomic_store_explicit(&m->state, MAP_DEAD, memory_order_release);
		live_publish(nat, m, false); /* before the port is free for others */
		atomic_store_explicit(port_slot(nat, nat_proto_index(proto), (uint16_t)port), 0,
				      memory_order_release);
		quota_give(nat, lan_addr);
		retire(w, id);
		w->c.mapping_race_lost++;
		*existing = true;
		return first;
	}
	m->linked = 1;
	w->c.mappings_created++;
	return id;
}

/* The mapping is done with: unfindable, its port free, its id retired. */
static void map_free(struct nat_worker *w, uint32_t id)
{
	struct nat_mapping *m = &w->nat->maps[id];

	atomic_store_explicit(&m->state, MAP_DEAD, memory_order_release);
	live_publish(w->nat, m, false);
	atomic_store_explicit(port_slot(w->nat, nat_proto_index(m->proto), m->ext_port), 0,
			      memory_order_release);
	if (id < w->nat->static_base) /* port mappings are not a host's quota */
		quota_give(w->nat, m->lan_addr);
	retire(w, id);
	w->c.mappings_freed++;
}

void nat_map_release(struct nat_worker *w, uint32_t id)
{
	struct nat_mapping *m = &w->nat->maps[id];

	if (--m->sessions || m->is_static)
		return;
	map_free(w, id);
}

/* A quiescent point: this worker holds no mapping pointer now. */
void nat_map_quiesce(struct nat_worker *w)
{
	retire_flush(w);
	atomic_store_explicit(&w->quiescent,
			      atomic_load_explicit(&w->nat->epoch, memory_order_acquire),
			      memory_order_release);
	refill_free_maps(w);
}

/* ---- port mappings (the control thread) ---- */

static int fail(const char **why, const char *text, int err)
{
	if (why)
		*why = text;
	return err;
}

/* Port mapping @id is no more: its owner demotes it to an ordinary mapping
 * (nat_map_take_dying()). It stays findable, so that every packet of its
 * sessions still reaches the owner. The count goes up first, so a worker
 * that takes the mapping never takes the count below zero. */
static void static_demote(struct nat *nat, uint32_t id)
{
	struct nat_mapping *m = &nat->maps[id];

	nat->static_deleted[id - nat->static_base] = true;
	atomic_fetch_add_explicit(&nat->statics_dying, 1, memory_order_relaxed);
	atomic_store_explicit(&nat->dying[id - nat->static_base], (uint32_t)m->bucket + 1,
			      memory_order_release);
}

static bool is_port_mapping(const struct nat *nat, uint32_t id)
{
	return id >= nat->static_base && !nat->static_deleted[id - nat->static_base];
}

int nat_static_add(struct nat *nat, const struct nat_static_map *sm, const char **why)
{
	const struct nat_view *v = nat_view(nat);
	int pi = nat_proto_index(sm->proto);
	struct pkt probe = {.proto = sm->proto,
			    .saddr = sm->lan_addr,
			    .sport = sm->lan_port,
			    .flags = PKT_F_L4,
			    .side = PKT_SIDE_LAN};
	struct nat_mapping *m;
	uint32_t id;

	if (pi < 0 || sm->proto == PKT_PROTO_ICMP)
		return fail(why, "a port mapping is for tcp or udp", -EINVAL);
	if (!sm->ext_port || !sm->lan_port)
		return fail(why, "a port mapping needs ports other than 0", -EINVAL);
	if (atomic_load_explicit(port_slot(nat, pi, sm->ext_port), memory_order_acquire))
		return fail(why,
			    "external port in use (a port mapping, a connection's mapping, or a "
			    "deleted port mapping whose connections have not ended)",
			    -EBUSY);
	if (nat_map_find_endpoint(nat, sm->proto, sm->lan_addr, sm->lan_port) != NAT_NONE)
		return fail(why,
			    "the LAN endpoint is mapped already (a port mapping or a connection)",
			    -EBUSY);
	if (!nat->n_static_free)
		nat_reclaim(nat); /* deleted ones may be ready for reuse */
	if (!nat->n_static_free)
		return fail(
		    why,
		    "at most 1088 port mappings, 64 configured and 1024 dynamic (deleted ones "
		    "are reused within a second)",
		    -ENOSPC);
	id = nat->static_free[--nat->n_static_free];
	m = &nat->maps[id];
	m->proto = sm->proto;
	m->lan_addr = sm->lan_addr;
	m->lan_port = sm->lan_port;
	m->ext_port = sm->ext_port;
	/* Home: where the LAN host's packets to an unknown remote hash. */
	m->bucket = (uint16_t)rss_bucket(v->snap, nat_packet_hash(v->snap, &probe));
	m->is_static = 1;
	m->sessions = 0;
	m->linked = 0;
	if (!port_claim(nat, pi, sm->ext_port, id)) {
		nat->static_free[nat->n_static_free++] = id; /* never seen by anyone */
		return fail(why, "external port in use", -EBUSY);
	}
	atomic_store_explicit(&m->state, MAP_LIVE, memory_order_release);
	if (eim_insert(nat, id) != id) {
		/* A worker mapped the endpoint meanwhile. Ours was live for a
		 * moment and may have a session: its owner ends it. */
		static_demote(nat, id);
		return fail(why, "the LAN endpoint is mapped already (a connection)", -EBUSY);
	}
	m->linked = 1;
	return 0;
}

int nat_static_delete(struct nat *nat, uint8_t proto, uint16_t ext_port, const char **why)
{
	uint32_t id = nat_map_find_port(nat, proto, ext_port);

	if (nat_proto_index(proto) < 0 || proto == PKT_PROTO_ICMP || id == NAT_NONE ||
	    !is_port_mapping(nat, id))
		return fail(why, "no such port mapping", -ENOENT);
	static_demote(nat, id);
	return 0;
}

/* ---- ports for dynamic port mappings (port control, the control thread) ---- */

bool nat_port_free(struct nat *nat, uint8_t proto, uint16_t port)
{
	int pi = nat_proto_index(proto);

	return pi >= 0 && port &&
	       !atomic_load_explicit(port_slot(nat, pi, port), memory_order_acquire);
}

/* Where the LAN host's packets to an unknown remote hash: a port mapping's
 * home (as nat_static_add() records it). */
static unsigned home_bucket(const struct nat_view *v, uint8_t proto, uint32_t lan_addr,
			    uint16_t lan_port)
{
	struct pkt probe = {.proto = proto,
			    .saddr = lan_addr,
			    .sport = lan_port,
			    .flags = PKT_F_L4,
			    .side = PKT_SIDE_LAN};

	return rss_bucket(v->snap, nat_packet_hash(v->snap, &probe));
}

/* An unsolicited inbound packet can be steered by its destination port
 * only if the WAN side's hash leaves the (unknown) remote out. Then hash0
 * is the hash with the port zero. */
static bool inbound_hash0(const struct nat *nat, const struct nat_view *v, int k, uint32_t *hash0)
{
	if (!v->steerable[k] || (v->fields[k] & (RSS_F_SRC_ADDR | RSS_F_SRC_PORT)))
		return false;
	return reply_hash0(v, k ? PKT_PROTO_ICMP : PKT_PROTO_TCP, nat->cfg.wan_addr, 0, 0, hash0);
}

bool nat_inbound_bucket(struct nat *nat, uint8_t proto, uint16_t port, uint32_t lan_addr,
			uint16_t lan_port, unsigned *inbound, unsigned *home)
{
	const struct nat_view *v = nat_view(nat);
	const struct rss_port_solver *s = &v->solver[0];
	const uint32_t(*tab)[256] = v->snap->hasher.tab;
	uint32_t hash0;

	*home = home_bucket(v, proto, lan_addr, lan_port);
	if (!inbound_hash0(nat, v, 0, &hash0))
		return false;
	*inbound =
	    (hash0 ^ tab[s->port_off][port >> 8] ^ tab[s->port_off + 1][port & 0xff]) & s->mask;
	return true;
}

static bool port_usable(struct nat *nat, uint8_t proto, uint32_t port, uint16_t lo, uint16_t hi,
			bool (*skip)(void *, uint8_t, uint16_t), void *skip_ctx)
{
	return port >= lo && port <= hi && nat_port_free(nat, proto, (uint16_t)port) &&
	       !(skip && skip(skip_ctx, proto, (uint16_t)port));
}

/* The solver's set for the home bucket, walked from a random start with a
 * random odd stride, as pick_steered() does for connections. */
static bool pick_inbound_steered(struct nat *nat, uint8_t proto, uint32_t lan_addr,
				 uint16_t lan_port, uint16_t lo, uint16_t hi, uint16_t prefer,
				 uint64_t rnd, bool (*skip)(void *, uint8_t, uint16_t),
				 void *skip_ctx, uint16_t *port)
{
	const struct nat_view *v = nat_view(nat);
	unsigned inbound, home;
	struct rss_port_set set;
	uint32_t hash0;

	if (nat->cfg.steering != NAT_STEER_RSS || !inbound_hash0(nat, v, 0, &hash0))
		return false;
	home = home_bucket(v, proto, lan_addr, lan_port);
	rss_port_solver_solve(&v->solver[0], hash0, home, &set);
	if (set.empty)
		return false;
	if (prefer && nat_inbound_bucket(nat, proto, prefer, lan_addr, lan_port, &inbound, &home) &&
	    inbound == home && port_usable(nat, proto, prefer, lo, hi, skip, skip_ctx)) {
		*port = prefer;
		return true;
	}
	uint32_t count = rss_port_set_count(&set), start = (uint32_t)rnd;
	uint32_t stride = (uint32_t)(rnd >> 32) | 1;
	for (uint32_t k = 0; k < count; k++) {
		uint32_t p = rss_port_set_at(&set, (start + k * stride) & (count - 1));
		if (port_usable(nat, proto, p, lo, hi, skip, skip_ctx)) {
			*port = (uint16_t)p;
			return true;
		}
	}
	return false;
}

int nat_pick_inbound_port(struct nat *nat, uint8_t proto, uint32_t lan_addr, uint16_t lan_port,
			  uint16_t lo, uint16_t hi, uint16_t prefer, uint64_t rnd,
			  bool (*skip)(void *ctx, uint8_t proto, uint16_t port), void *skip_ctx,
			  uint16_t *port, bool *steered)
{
	uint32_t n = (uint32_t)hi - lo + 1, start;

	if (nat_proto_index(proto) < 0 || !lo || lo > hi)
		return -ENOSPC;
	*steered = pick_inbound_steered(nat, proto, lan_addr, lan_port, lo, hi, prefer, rnd, skip,
					skip_ctx, port);
	if (*steered)
		return 0;
	if (prefer && port_usable(nat, proto, prefer, lo, hi, skip, skip_ctx)) {
		*port = prefer;
		return 0;
	}
	start = (uint32_t)(rnd % n); /* RFC 6056 alg. 1 */
	for (uint32_t k = 0; k < n; k++) {
		uint32_t p = lo + (start + k) % n;
		if (port_usable(nat, proto, p, lo, hi, skip, skip_ctx)) {
			*port = (uint16_t)p;
			return 0;
		}
	}
	return -ENOSPC;
}

void nat_static_list(const struct nat *nat,
		     void (*visit)(void *ctx, const struct nat_static_map *sm), void *ctx)
{
	for (uint32_t id = nat->static_base; id < nat->n_maps; id++) {
		const struct nat_mapping *m = &nat->maps[id];
		if (!is_live(m) || !is_port_mapping(nat, id))
			continue;
		struct nat_static_map sm = {.proto = m->proto,
					    .ext_port = m->ext_port,
					    .lan_addr = m->lan_addr,
					    .lan_port = m->lan_port};
		visit(ctx, &sm);
	}
}

bool nat_port_mapped(struct nat *nat, uint8_t proto, uint16_t ext_port)
{
	return nat_map_find_port(nat, proto, ext_port) != NAT_NONE;
}

bool nat_find_mapping(struct nat *nat, uint8_t proto, uint32_t lan_addr, uint16_t port,
		      struct nat_mapping_info *out)
{
	uint32_t id = lan_addr ? nat_map_find_endpoint(nat, proto, lan_addr, port)
			       : nat_map_find_port(nat, proto, port);
	const struct nat_mapping *m;

	if (id == NAT_NONE)
		return false;
	m = &nat->maps[id];
	/* Only what is fixed before a mapping is published (is_static is the
	 * owner's: the id range and our own records say it). */
	*out = (struct nat_mapping_info){.proto = m->proto,
					 .is_static = is_port_mapping(nat, id),
					 .lan_addr = m->lan_addr,
					 .lan_port = m->lan_port,
					 .ext_port = m->ext_port,
					 .bucket = m->bucket};
	return true;
}

void nat_map_take_dying(struct nat_worker *w)
{
	struct nat *nat = w->nat;

	for (uint32_t k = 0; k < NAT_PORT_MAPS_MAX; k++) {
		uint32_t home = atomic_load_explicit(&nat->dying[k], memory_order_acquire);
		unsigned from;
		if (!home || nat_view_owner(w->view, home - 1) != w->id ||
		    !nat_settled(w, home - 1, &from))
			continue;
		if (!atomic_compare_exchange_strong_explicit(
			&nat->dying[k], &home, 0, memory_order_acq_rel, memory_order_relaxed))
			continue;
		atomic_fetch_sub_explicit(&nat->statics_dying, 1, memory_order_relaxed);
		/* Ours now, as an ordinary mapping: filtered as one, and freed
		 * with its last session. */
		uint32_t id = nat->static_base + k;
		struct nat_mapping *m = &nat->maps[id];
		m->is_static = 0;
		if (!m->sessions)
			map_free(w, id);
	}
}

void nat_reclaim(struct nat *nat)
{
	uint64_t epoch, oldest = UINT64_MAX;
	unsigned kept = 0;
	void *ids[64];

	/* Unlink everything retired so far, then open a new epoch: a worker
	 * that has seen it cannot reach what was unlinked before it. */
	uint32_t first_new = nat->n_limbo;
	for (unsigned i = 0; i < nat->n_workers; i++) {
		unsigned n;
		while ((n = ring_pop(&nat->workers[i].retire, ids, 64)) > 0)
			for (unsigned k = 0; k < n; k++) {
				uint32_t id = (uint32_t)(uintptr_t)ids[k];
				if (nat->maps[id].linked)
					eim_unlink(nat, id);
				nat->maps[id].linked = 0;
				nat->limbo[nat->n_limbo++] = id;
			}
	}
	epoch = atomic_fetch_add_explicit(&nat->epoch, 1, memory_order_acq_rel) + 1;
	for (uint32_t i = first_new; i < nat->n_limbo; i++)
		nat->maps[nat->limbo[i]].retired_epoch = (uint32_t)epoch;
	for (unsigned i = 0; i < nat->n_workers; i++) {
		uint64_t q = atomic_load_explicit(&nat->workers[i].quiescent, memory_order_acquire);
		if (q < oldest)
			oldest = q;
	}
	for (uint32_t i = 0; i < nat->n_limbo; i++) {
		uint32_t id = nat->limbo[i];
		struct nat_mapping *m = &nat->maps[id];
		void *obj = (void *)(uintptr_t)id;
		if ((int32_t)(m->retired_epoch - (uint32_t)oldest) > 0) {
			nat->limbo[kept++] = id;
			continue;
		}
		/* FREE before the push: once pushed, the worker may make it LIVE
		 * at once, and a later store would kill a new mapping. */
		atomic_store_explicit(&m->state, MAP_FREE, memory_order_release);
		if (id >= nat->static_base) {
			nat->static_deleted[id - nat->static_base] = false;
			nat->static_free[nat->n_static_free++] = id;
		} else if (!ring_push(&nat->workers[id / nat->maps_per_worker].recycle, &obj, 1))
			nat->limbo[kept++] = id;
	}
	nat->n_limbo = kept;
}
