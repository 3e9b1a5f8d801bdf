/* nat.c - the NAT's life cycle, its burst entry points, and the packet hash
 * every dispatcher shares with it. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/mem.h"
#include "nat_internal.h"

#define PORT_TABLE_BYTES ((size_t)NAT_PI_COUNT * 65536 * sizeof(_Atomic uint32_t))

static const char *const drop_names[] = {
#define NAT_DROP_NAME(name, text) #name,
    NAT_DROP_REASONS(NAT_DROP_NAME)
#undef NAT_DROP_NAME
};

static const char *const drop_texts[] = {
#define NAT_DROP_TEXT(name, text) text,
    NAT_DROP_REASONS(NAT_DROP_TEXT)
#undef NAT_DROP_TEXT
};

const char *nat_drop_name(enum nat_drop reason)
{
	return reason < NAT_DROP_COUNT ? drop_names[reason] : "?";
}

const char *nat_drop_text(enum nat_drop reason)
{
	return reason < NAT_DROP_COUNT ? drop_texts[reason] : "?";
}

void nat_config_default(struct nat_config *cfg, uint32_t wan_addr)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->wan_addr = wan_addr;
	cfg->lan_addr = pkt_ipv4(192, 168, 137, 1);
	cfg->lan_net = pkt_ipv4(192, 168, 137, 0);
	cfg->lan_mask = pkt_ipv4(255, 255, 255, 0);
	cfg->sessions_per_worker = 65536;
	cfg->mappings = 65536;
	cfg->frags_per_worker = 1024;
	cfg->host_mappings = NAT_HOST_MAPPINGS_DEFAULT;
	cfg->timeouts = (struct nat_timeouts){
	    .udp = 300,		     /* RFC 4787 REQ-5 */
	    .tcp_established = 7440, /* RFC 5382 REQ-5: 2 h 4 min */
	    .tcp_opening = 240,	     /* RFC 5382 REQ-5: transitory, 4 min */
	    .tcp_closing = 240,
	    .tcp_rst = 240, /* RFC 7857 2.2 */
	    .icmp = 60,	    /* RFC 5508 REQ-2 */
	    .frag = 30,
	};
	cfg->filtering = NAT_FILTER_ADDRESS_DEPENDENT;
	cfg->steering = NAT_STEER_RSS;
	cfg->icmp_on_exhaustion = true;
	cfg->port_lo = 0;
	cfg->port_hi = 65535;
}

uint32_t nat_packet_hash(const struct rss_snapshot *snap, const struct pkt *p)
{
	const struct rss_config *c = &snap->config;
	unsigned fields = p->side == PKT_SIDE_LAN ? c->fields_lan : c->fields_wan;
	bool l4 = (p->flags & PKT_F_L4) && !(p->flags & PKT_F_FRAG);
	bool ports = l4 && (p->proto == PKT_PROTO_TCP || p->proto == PKT_PROTO_UDP ||
			    (c->icmp_id_as_port && (p->flags & PKT_F_ICMP_QUERY)));
	struct rss_tuple t = {.family = 4, .sport = p->sport, .dport = p->dport};
	uint8_t in[RSS_INPUT_MAX];

	if (ports && fields == RSS_F_4TUPLE)
		return rss_hash_v4(&snap->hasher, (const uint8_t *)&p->saddr,
				   (const uint8_t *)&p->daddr, p->sport, p->dport);
	if (!ports)
		fields &= RSS_F_ADDRS; /* as NICs hash fragments and non-TCP/UDP */
	memcpy(t.src, &p->saddr, 4);
	memcpy(t.dst, &p->daddr, 4);
	return rss_hash(&snap->hasher, in, rss_input(&t, fields, in));
}

/* What steering needs from a snapshot: for the reply of a new mapping's
 * first session (remote -> WAN address:external port), the field set it is
 * hashed with and a solver for the external port in it. */
static struct nat_view *view_create(const struct rss_snapshot *snap, uint64_t seq)
{
	struct nat_view *v = calloc(1, sizeof(*v));
	unsigned bits = rss_log2(snap->config.table_size);

	if (!v)
		return NULL;
	v->snap = snap;
	v->seq = seq;
	for (int k = 0; k < 2; k++) {
		unsigned f = snap->config.fields_wan;
		bool icmp = k == 1;
		if (icmp && !snap->config.icmp_id_as_port)
			f &= RSS_F_ADDRS;
		v->fields[k] = f;
		/* An ICMP reply carries the identifier in both port slots: only a
		 * field set with the destination port alone can be steered. */
		v->steerable[k] = (f & RSS_F_DST_PORT) && !(icmp && (f & RSS_F_SRC_PORT));
		if (v->steerable[k])
			rss_port_solver_init(&v->solver[k], &snap->hasher,
					     (size_t)rss_input_port_offset(f, 4, RSS_F_DST_PORT),
					     bits);
	}
	return v;
}

static void views_free(struct nat_view *v)
{
	for (struct nat_view *older; v; v = older) {
		older = v->older;
		free(v);
	}
}

static int fail(const char **why, const char *text, int err)
{
	if (why)
		*why = text;
	return err;
}

/* Every queue the table names must be a worker. */
static int check_snapshot(const struct rss_snapshot *snap, unsigned workers, const char **why)
{
	if (snap->config.queues > workers)
		return fail(why, "the RSS table has more queues than the NAT has workers", -EINVAL);
	for (unsigned b = 0; b <= snap->bucket_mask; b++)
		if (snap->table[b] >= workers)
			return fail(why, "the RSS table names a queue the NAT has no worker for",
				    -EINVAL);
	return 0;
}

bool nat_migration_done(const struct nat *nat)
{
	uint64_t seq = nat_view(nat)->seq;

	for (unsigned i = 0; i < nat->n_workers; i++)
		if (atomic_load_explicit(&nat->workers[i].done_seq, memory_order_acquire) != seq)
			return false;
	return true;
}

int nat_set_snapshot(struct nat *nat, const struct rss_snapshot *snap, const char **why)
{
	struct nat_view *cur = atomic_load_explicit(&nat->view, memory_order_relaxed), *v;
	int err = check_snapshot(snap, nat->n_workers, why);

	if (err)
		return err;
	if (!nat_migration_done(nat))
		return fail(why, "the previous RSS change is still moving sessions", -EBUSY);
	v = view_create(snap, cur->seq + 1);
	if (!v)
		return fail(why, "out of memory", -ENOMEM);
	/* Every worker has adopted cur and finished moving into it: nobody
	 * looks at the views before it any more. */
	views_free(cur->older);
	cur->older = NULL;
	v->older = cur;
	atomic_store_explicit(&nat->view, v, memory_order_release);
	return 0;
}

/* The writer's half of the sequence lock (control thread). Without
 * fences: a reader that sees any new word (release -> acquire) also sees
 * the odd count stored before it, and throws its copy away. */
static void timeouts_publish(struct nat *nat, const struct nat_timeouts *t)
{
	uint32_t words[NAT_TIMEOUT_WORDS], seq;

	memcpy(words, t, sizeof(words));
	seq = atomic_load_explicit(&nat->timeouts_seq, memory_order_relaxed);
	atomic_store_explicit(&nat->timeouts_seq, seq + 1, memory_order_relaxed);
	for (unsigned i = 0; i < NAT_TIMEOUT_WORDS; i++)
		atomic_store_explicit(&nat->timeouts[i], words[i], memory_order_release);
	atomic_store_explicit(&nat->timeouts_seq, seq + 2, memory_order_release);
}

/* The reader's half (a worker, between bursts): a copy made while the
 * control thread was writing is thrown away and tried again next time. */
static void timeouts_adopt(struct nat_worker *w)
{
	struct nat *nat = w->nat;
	uint32_t words[NAT_TIMEOUT_WORDS];
	uint32_t seq = atomic_load_explicit(&nat->timeouts_seq, memory_order_acquire);
	struct nat_timeouts old;

	if (seq & 1)
		return;
	for (unsigned i = 0; i < NAT_TIMEOUT_WORDS; i++)
		words[i] = atomic_load_explicit(&nat->timeouts[i], memory_order_acquire);
	if (atomic_load_explicit(&nat->timeouts_seq, memory_order_relaxed) != seq)
		return;
	old = w->timeouts;
	memcpy(&w->timeouts, words, sizeof(words));
	w->timeouts_seq = seq;
	/* The new timeouts apply to what this worker holds now, not only from
	 * each session's next packet: an idle flood's sessions go at once. */
	nat_sessions_retime(w, &old);
	nat_frags_retime(w, old.frag);
}

static bool timeouts_valid(const struct nat_timeouts *t)
{
	return t->udp && t->tcp_established && t->tcp_opening && t->tcp_closing && t->tcp_rst &&
	       t->icmp && t->frag;
}

void nat_get_timeouts(const struct nat *nat, struct nat_timeouts *out)
{
	*out = nat->cfg.timeouts;
}

int nat_set_timeouts(struct nat *nat, const struct nat_timeouts *t)
{
	if (!timeouts_valid(t))
		return -EINVAL;
	nat->cfg.timeouts = *t;
	timeouts_publish(nat, t);
	return 0;
}

uint32_t nat_get_host_mappings(const struct nat *nat)
{
	return atomic_load_explicit(&nat->host_quota, memory_order_relaxed);
}

void nat_set_host_mappings(struct nat *nat, uint32_t n)
{
	nat->cfg.host_mappings = n;
	atomic_store_explicit(&nat->host_quota, n, memory_order_relaxed);
}

static int check_config(const struct nat_config *cfg, unsigned workers, const char **why)
{
	if (workers < 1 || workers > RSS_QUEUES_MAX) {
		*why = "workers must be from 1 to 64";
		return -EINVAL;
	}
	if (cfg->sessions_per_worker < 1 || cfg->sessions_per_worker > (1u << 26)) {
		*why = "sessions per worker must be from 1 to 67108864";
		return -EINVAL;
	}
	if (cfg->mappings < workers || cfg->mappings > NAT_MAPPINGS_MAX) {
		*why = "mappings must be at least one per worker and at most 196608 (3 x 65536)";
		return -EINVAL;
	}
	if (cfg->n_static > NAT_STATIC_MAX) {
		*why = "at most 64 port mappings";
		return -EINVAL;
	}
	if (cfg->port_lo > cfg->port_hi) {
		*why = "the NAT port range ends before it starts";
		return -EINVAL;
	}
	if (!timeouts_valid(&cfg->timeouts)) {
		*why = "timeouts must be at least one second";
		return -EINVAL;
	}
	return 0;
}

static uint32_t ring_size_for(uint32_t n)
{
	uint32_t size = 64;

	while (size < n)
		size <<= 1;
	return size;
}

/* The NAT's randomness (RFC 6056 port choice, table hash seeds): from the
 * configuration when given, so that a simulation can be replayed, else from
 * the clock. */
static uint64_t nat_seed(const struct nat_config *cfg, unsigned salt)
{
	struct timespec ts;
	uint64_t base = cfg->seed;

	if (!base) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		base = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec;
	}
	return base * 0x9e3779b97f4a7c15ull ^ ((uint64_t)salt << 48) ^ salt;
}

static int worker_init(struct nat *nat, struct nat_worker *w, unsigned id)
{
	uint32_t first = id * nat->maps_per_worker, ring = ring_size_for(nat->maps_per_worker);
	const struct nat_view *v = nat_view(nat);

	w->nat = nat;
	w->id = id;
	w->timeouts = nat->cfg.timeouts;
	w->timeouts_seq = atomic_load_explicit(&nat->timeouts_seq, memory_order_relaxed);
	nat_wan_worker_init(w);
	w->view = v;
	w->settled = true;
	for (unsigned i = 0; i < RSS_QUEUES_MAX; i++) {
		w->out_head[i] = NAT_NONE;
		atomic_init(&w->imported_seq[i], 0);
	}
	atomic_init(&w->export_seq, v->seq);
	atomic_init(&w->done_seq, v->seq);
	atomic_init(&w->dump_state, DUMP_IDLE);
	w->retire_over = NAT_NONE;
	w->rand_state = nat_seed(&nat->cfg, id + 1);
	w->hash_seed = (uint32_t)nat_rand(w);
	if (nat_sessions_init(w, nat->cfg.sessions_per_worker) ||
	    nat_frags_init(w, nat->cfg.frags_per_worker))
		return -ENOMEM;
	w->free_maps = malloc(nat->maps_per_worker * sizeof(uint32_t));
	w->retire_slots = malloc(ring * sizeof(void *));
	w->recycle_slots = malloc(ring * sizeof(void *));
	if (!w->free_maps || !w->retire_slots || !w->recycle_slots)
		return -ENOMEM;
	/* Lowest ids on top of the stack, so that tests see 0, 1, 2... */
	for (uint32_t i = 0; i < nat->maps_per_worker; i++)
		w->free_maps[i] = first + nat->maps_per_worker - 1 - i;
	w->n_free_maps = nat->maps_per_worker;
	ring_init(&w->retire, w->retire_slots, ring);
	ring_init(&w->recycle, w->recycle_slots, ring);
	atomic_init(&w->quiescent, 0);
	return 0;
}

static void worker_free(struct nat_worker *w)
{
	nat_sessions_free(w);
	nat_frags_free(w);
	free(w->free_maps);
	free(w->retire_slots);
	free(w->recycle_slots);
}

/* The workers' ids first (maps_per_worker each), then NAT_PORT_MAPS_MAX for
 * port mappings, which the control thread makes and deletes at run time. */
static int alloc_shared(struct nat *nat, unsigned workers)
{
	uint32_t heads = 1;
	size_t wsize = workers * sizeof(*nat->workers);

	nat->maps_per_worker = nat->cfg.mappings / workers;
	nat->static_base = nat->maps_per_worker * workers;
	nat->n_maps = nat->static_base + NAT_PORT_MAPS_MAX;
	while (heads < nat->static_base)
		heads <<= 1;
	nat->maps = mem_alloc_big(nat->n_maps * sizeof(*nat->maps));
	nat->eim_heads = mem_alloc_big(heads * sizeof(*nat->eim_heads));
	nat->by_port = mem_alloc_big(PORT_TABLE_BYTES);
	nat->limbo = malloc(nat->n_maps * sizeof(uint32_t));
	/* Aligned as the struct asks (its cross-thread fields on their own
	 * cache lines), which calloc() does not promise. */
	nat->workers = aligned_alloc(alignof(struct nat_worker), wsize);
	if (!nat->maps || !nat->eim_heads || !nat->by_port || !nat->limbo || !nat->workers)
		return -ENOMEM;
	memset(nat->workers, 0, wsize);
	for (uint32_t i = 0; i < heads; i++)
		atomic_init(&nat->eim_heads[i], NAT_NONE);
	nat->eim_mask = heads - 1;
	for (uint32_t i = 0; i < NAT_PORT_MAPS_MAX; i++)
		nat->static_free[i] = nat->static_base + NAT_PORT_MAPS_MAX - 1 - i;
	nat->n_static_free = NAT_PORT_MAPS_MAX;
	return 0;
}

int nat_create(const struct nat_config *cfg, const struct rss_snapshot *snap, unsigned workers,
	       struct nat **out, const char **why)
{
	struct nat *nat;
	int err = check_config(cfg, workers, why);

	if (!err)
		err = check_snapshot(snap, workers, why);
	if (err)
		return err;
	nat = calloc(1, sizeof(*nat));
	if (!nat) {
		*why = "out of memory";
		return -ENOMEM;
	}
	nat->cfg = *cfg;
	nat->n_workers = workers;
	nat->eim_seed = (uint32_t)nat_seed(cfg, 0);
	atomic_init(&nat->epoch, 1);
	atomic_init(&nat->statics_dying, 0);
	atomic_init(&nat->timeouts_seq, 0);
	atomic_init(&nat->host_quota, cfg->host_mappings);
	timeouts_publish(nat, &cfg->timeouts);
	nat_wan_init(nat);
	for (unsigned i = 0; i < NAT_PORT_MAPS_MAX; i++)
		atomic_init(&nat->dying[i], 0);
	struct nat_view *v = view_create(snap, 1);
	atomic_init(&nat->view, v);
	err = !v ? -ENOMEM : alloc_shared(nat, workers);
	if (!err)
		err = nat_host_maps_init(nat);
	for (unsigned i = 0; !err && i < workers; i++)
		err = worker_init(nat, &nat->workers[i], i);
	for (unsigned i = 0; !err && i < cfg->n_static; i++)
		err = nat_static_add(nat, &cfg->statics[i], why);
	if (err) {
		if (err == -ENOMEM)
			*why = "out of memory";
		nat_destroy(nat);
		return err;
	}
	*out = nat;
	return 0;
}

void nat_destroy(struct nat *nat)
{
	if (!nat)
		return;
	for (unsigned i = 0; nat->workers && i < nat->n_workers; i++)
		worker_free(&nat->workers[i]);
	free(nat->workers);
	mem_free_big(nat->maps, nat->n_maps * sizeof(*nat->maps));
	mem_free_big(nat->eim_heads, ((size_t)nat->eim_mask + 1) * sizeof(*nat->eim_heads));
	mem_free_big(nat->by_port, PORT_TABLE_BYTES);
	free(nat->limbo);
	free(nat->host_maps);
	views_free(atomic_load(&nat->view));
	free(nat);
}

struct nat_worker *nat_worker(struct nat *nat, unsigned id)
{
	return id < nat->n_workers ? &nat->workers[id] : NULL;
}

unsigned nat_worker_id(const struct nat_worker *w)
{
	return w->id;
}

void nat_worker_set_error_limit(struct nat_worker *w, struct ratelimit *rl)
{
	w->error_limit = rl;
}

_Static_assert((int)PKT_DROP_COUNT <= (int)NAT_PARSE_REASONS, "room for every parse drop reason");

void nat_parse_drop(struct nat_worker *w, unsigned reason)
{
	if (reason < NAT_PARSE_REASONS)
		w->c.parse_drop[reason]++;
	w->c.drop[NAT_DROP_PARSE]++;
	w->c.dropped++;
}

const struct nat_counters *nat_worker_counters(const struct nat_worker *w)
{
	return &w->c;
}

/* ---- between bursts: views, moves, requests ---- */

/* Adopt @v, the view after ours: give away the buckets it gives others,
 * note whom the buckets it gives us come from. */
static void adopt(struct nat_worker *w, const struct nat_view *v)
{
	const struct nat_view *old = w->view;
	uint64_t from = 0;
	bool losing = false;

	/* One move at a time (nat_set_snapshot()): v follows ours. */
	assert(v->older == old && v->seq == old->seq + 1);
	for (unsigned b = 0; b < RSS_TABLE_MAX; b++) {
		unsigned was = nat_view_owner(old, b), now = nat_view_owner(v, b);
		if (now == w->id && was != w->id)
			from |= 1ull << was;
		losing |= was == w->id && now != w->id;
	}
	if (losing)
		nat_sessions_export(w, v);
	w->view = v;
	w->pending_from = from;
	w->settled = false;
	atomic_store_explicit(&w->export_seq, v->seq, memory_order_release);
}

static void sync_slow(struct nat_worker *w, const struct nat_view *v)
{
	struct nat *nat = w->nat;

	if (nat_wan_changed(w))
		nat_wan_adopt(w); /* before an import: see nat_sessions_import() */
	if (v != w->view)
		adopt(w, v);
	if (w->pending_from)
		nat_sessions_import(w);
	if (w->exports_held)
		nat_sessions_free_exported(w);
	if (!w->settled && !w->pending_from && !w->exports_held) {
		w->settled = true;
		atomic_store_explicit(&w->done_seq, w->view->seq, memory_order_release);
	}
	if (atomic_load_explicit(&w->dump_state, memory_order_relaxed) == DUMP_REQUESTED)
		nat_sessions_dump(w);
	if (atomic_load_explicit(&nat->statics_dying, memory_order_acquire))
		nat_map_take_dying(w);
	if (atomic_load_explicit(&nat->timeouts_seq, memory_order_relaxed) != w->timeouts_seq)
		timeouts_adopt(w);
}

void nat_worker_sync(struct nat_worker *w)
{
	struct nat *nat = w->nat;
	const struct nat_view *v = atomic_load_explicit(&nat->view, memory_order_acquire);

	if (v == w->view && w->settled &&
	    atomic_load_explicit(&w->dump_state, memory_order_relaxed) != DUMP_REQUESTED &&
	    !atomic_load_explicit(&nat->statics_dying, memory_order_relaxed) &&
	    atomic_load_explicit(&nat->timeouts_seq, memory_order_relaxed) == w->timeouts_seq &&
	    !nat_wan_changed(w))
		return;
	sync_slow(w, v);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

int nat_dump_sessions(struct nat *nat, unsigned worker, struct nat_session_info *out, unsigned max,
		      unsigned timeout_ms)
{
	struct nat_worker *w;
	unsigned n;

	if (worker >= nat->n_workers)
		return -ENOENT;
	w = &nat->workers[worker];
	if (atomic_load_explicit(&w->dump_state, memory_order_acquire) != DUMP_IDLE)
		return -EBUSY;
	w->dump_out = out;
	w->dump_max = max;
	w->dump_count = 0;
	atomic_store_explicit(&w->dump_state, DUMP_REQUESTED, memory_order_release);
	for (unsigned waited = 0;
	     atomic_load_explicit(&w->dump_state, memory_order_acquire) != DUMP_DONE; waited++) {
		uint32_t asked = DUMP_REQUESTED;
		if (waited >= timeout_ms && atomic_compare_exchange_strong_explicit(
						&w->dump_state, &asked, DUMP_IDLE,
						memory_order_acq_rel, memory_order_acquire))
			return -ETIMEDOUT;
		/* Past the time limit only if the worker has begun: one copy
		 * loop, then it is done. */
		sleep_ms(1);
	}
	n = w->dump_count;
	atomic_store_explicit(&w->dump_state, DUMP_IDLE, memory_order_release);
	return (int)n;
}

/* ---- bursts ---- */

/* A held fragment leaves @pkts the moment the NAT takes it: it may be
 * released (its verdict set) by a first fragment later in this very burst,
 * and must then reach the caller once, through nat_released(), never also
 * through the burst. */
unsigned nat_process(struct nat_worker *w, struct pkt **pkts, unsigned n, uint32_t now)
{
	unsigned kept = 0;

	nat_worker_sync(w);
	w->now = now;
	for (unsigned i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		if (i % NAT_PREFETCH_MAX == 0)
			nat_session_prefetch(w, pkts + i, n - i);
		nat_process_one(w, p);
		if (p->verdict != PKT_PENDING)
			pkts[kept++] = p; /* the caller's again */
	}
	return kept;
}

unsigned nat_released(struct nat_worker *w, struct pkt **out, unsigned max)
{
	unsigned n = w->n_released < max ? w->n_released : max;

	memcpy(out, w->released, n * sizeof(*out));
	memmove(w->released, w->released + n, (w->n_released - n) * sizeof(*out));
	w->n_released -= n;
	return n;
}

void nat_expire(struct nat_worker *w, uint32_t now)
{
	nat_worker_sync(w);
	w->now = now;
	nat_sessions_expire(w, now);
	nat_frags_expire(w, now);
	nat_map_quiesce(w);
}

static size_t worker_memory(const struct nat *nat)
{
	const struct nat_worker *w = &nat->workers[0];
	size_t heads = (size_t)w->heads_mask + 1, frags = nat->cfg.frags_per_worker;
	size_t ring = ring_size_for(nat->maps_per_worker);

	return sizeof(*w) + (size_t)w->n_sessions * sizeof(struct nat_session) +
	       2 * heads * sizeof(uint32_t) + nat->maps_per_worker * sizeof(uint32_t) +
	       2 * ring * sizeof(void *) + frags * sizeof(struct nat_frag) +
	       ((size_t)w->frag_mask + 1 + frags) * sizeof(uint32_t) +
	       ((size_t)w->frag_src_mask + 1) * sizeof(*w->frag_src);
}

/* The outboxes of a move cost nothing here: exported sessions are linked
 * through their own slots. */
size_t nat_memory(const struct nat *nat)
{
	return sizeof(*nat) + nat->n_workers * worker_memory(nat) +
	       (size_t)nat->n_maps * (sizeof(struct nat_mapping) + sizeof(uint32_t)) +
	       ((size_t)nat->eim_mask + 1) * sizeof(uint32_t) +
	       (size_t)NAT_PI_COUNT * 65536 * sizeof(uint32_t) + nat_host_maps_bytes(nat);
}

/* The memory budget (bytes per session, `rssnat bench nat`) rests on these. */
_Static_assert(sizeof(struct nat_session) == 48, "a session is 48 bytes");
_Static_assert(sizeof(struct nat_mapping) == 28, "a mapping is 28 bytes");
