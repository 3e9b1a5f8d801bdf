/* test_nat_migrate.c - the NAT while it runs: RSS snapshots changed under
 * established flows (sessions move with their bucket, nat.h "Migration"),
 * single-threaded step by step and with worker threads under traffic; port
 * mappings added and deleted at run time; session dumps and timeouts served
 * by the workers themselves. Test names start with nat_ so that
 * `unit-tests nat_` runs them all. */
#include "test.h"
#include "../../src/core/ring.h"
#include "../../src/nat/nat.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/rss/rss.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t wan(void)
{
	return pkt_ipv4(198, 51, 100, 2);
}

static uint32_t lan(unsigned host)
{
	return pkt_ipv4(192, 168, 137, host);
}

static uint32_t remote(unsigned host)
{
	return pkt_ipv4(203, 0, 113, host);
}

/* ---- a NAT, its snapshots, and where the NIC steers ---- */

enum { SNAPS_MAX = 8 };

struct menv {
	struct nat *nat;
	unsigned workers;
	const struct rss_snapshot *nic; /* the NIC's table: the latest set */
	struct rss_snapshot *snaps[SNAPS_MAX];
	unsigned n_snaps;
};

/* A snapshot over @queues queues (RSS on or off, weighted or round robin),
 * kept until menv_close(). Same key and table size as every other. */
static struct rss_snapshot *snap_new(struct menv *e, unsigned queues, bool enabled,
				     const unsigned *weights)
{
	struct rss_config rc;
	struct rss_snapshot *s = NULL;
	const char *why = NULL;

	rss_config_default(&rc, queues);
	rc.enabled = enabled;
	if (weights)
		memcpy(rc.weights, weights, queues * sizeof(*weights));
	CHECK_EQ(rss_snapshot_create(&rc, e->n_snaps + 1, &s, &why), 0);
	if (CHECK(e->n_snaps < SNAPS_MAX))
		e->snaps[e->n_snaps++] = s;
	return s;
}

static void menv_open(struct menv *e, unsigned workers, const struct nat_config *nc)
{
	struct nat_config def;
	const char *why = NULL;

	memset(e, 0, sizeof(*e));
	e->workers = workers;
	if (!nc) {
		nat_config_default(&def, wan());
		nc = &def;
	}
	e->nic = snap_new(e, workers, true, NULL);
	CHECK_EQ(nat_create(nc, e->nic, workers, &e->nat, &why), 0);
}

static void menv_close(struct menv *e)
{
	nat_destroy(e->nat);
	for (unsigned i = 0; i < e->n_snaps; i++)
		rss_snapshot_destroy(e->snaps[i]);
}

static struct nat_worker *wk(struct menv *e, unsigned id)
{
	return nat_worker(e->nat, id);
}

static const struct nat_counters *cnt(struct menv *e, unsigned id)
{
	return nat_worker_counters(nat_worker(e->nat, id));
}

static uint64_t total_at(struct menv *e, size_t off)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < e->workers; i++)
		sum += *(const uint64_t *)(const void *)((const uint8_t *)cnt(e, i) + off);
	return sum;
}

#define TOTAL(e, field) total_at((e), offsetof(struct nat_counters, field))

/* Drops that mean "no state here": none may happen because of a move. */
static uint64_t stateless_drops(struct menv *e)
{
	static const enum nat_drop reasons[] = {NAT_DROP_NO_MAPPING,	 NAT_DROP_FILTERED,
						NAT_DROP_TCP_NO_SESSION, NAT_DROP_WRONG_CORE,
						NAT_DROP_ICMP_UNKNOWN,	 NAT_DROP_HANDOFF_STALE,
						NAT_DROP_SESSIONS_FULL};
	uint64_t sum = 0;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		sum += total_at(e, offsetof(struct nat_counters, drop) +
				       reasons[i] * sizeof(uint64_t));
	return sum;
}

/* Every worker between bursts, until the move is done (bounded). */
static bool settle(struct menv *e, uint32_t now)
{
	for (unsigned round = 0; round < 8 && !nat_migration_done(e->nat); round++)
		for (unsigned i = 0; i < e->workers; i++)
			nat_expire(wk(e, i), now);
	nat_reclaim(e->nat);
	return nat_migration_done(e->nat);
}

static void tick(struct menv *e, uint32_t now)
{
	for (unsigned i = 0; i < e->workers; i++)
		nat_expire(wk(e, i), now);
	nat_reclaim(e->nat);
}

/* ---- frames ---- */

enum { BUF = 512 };

struct frame {
	uint8_t buf[BUF];
	struct pkt p;
	unsigned path[NAT_HOPS_MAX + 2]; /* workers that processed it, in order */
	unsigned n_path;
};

static void frame_build(struct frame *f, uint8_t side, uint8_t proto, uint32_t sa, uint16_t sp,
			uint32_t da, uint16_t dp, uint8_t tcp_flags)
{
	static const uint8_t payload[] = "moving bucket";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = proto,
			     .sport = sp,
			     .dport = dp,
			     .tcp_flags = tcp_flags,
			     .seq = 1,
			     .ack = 1,
			     .payload = payload,
			     .payload_len = sizeof(payload)};
	size_t len = pkt_build(f->buf, BUF, &s);

	f->n_path = 0;
	CHECK(len > 0);
	CHECK_EQ(pkt_parse(&f->p, f->buf, (uint16_t)len, BUF), PKT_OK);
	f->p.side = side;
}

static unsigned nic_bucket(const struct rss_snapshot *snap, const struct pkt *p)
{
	return rss_bucket(snap, nat_packet_hash(snap, p));
}

static unsigned nic_queue(const struct rss_snapshot *snap, const struct pkt *p)
{
	return rss_queue(snap, nat_packet_hash(snap, p));
}

/* Process on worker @w and follow every handoff, recording the path. */
static uint8_t run_on(struct menv *e, unsigned w, struct frame *f, uint32_t now)
{
	struct pkt *pp = &f->p;

	for (;;) {
		f->path[f->n_path++] = w;
		nat_process(wk(e, w), &pp, 1, now);
		if (f->p.verdict != PKT_HANDOFF)
			return f->p.verdict;
		if (!CHECK(f->n_path <= NAT_HOPS_MAX) || !CHECK(f->p.to_worker < e->workers))
			return PKT_DROP;
		w = f->p.to_worker;
	}
}

static uint8_t route(struct menv *e, struct frame *f, uint32_t now)
{
	return run_on(e, nic_queue(e->nic, &f->p), f, now);
}

static struct pkt reparse(const struct frame *f)
{
	struct pkt q;

	CHECK_EQ(pkt_parse(&q, (uint8_t *)(uintptr_t)f->buf, f->p.len, BUF), PKT_OK);
	CHECK(pkt_checksums_ok(&q));
	return q;
}

/* ---- flows ---- */

struct flow {
	uint8_t proto;
	uint32_t la, ra;
	uint16_t lp, rp, ext;
	unsigned bucket; /* home bucket: its first packet's */
};

static void flow_frame(struct frame *f, const struct flow *fl, bool out, uint8_t tcp_flags)
{
	if (out)
		frame_build(f, PKT_SIDE_LAN, fl->proto, fl->la, fl->lp, fl->ra, fl->rp, tcp_flags);
	else
		frame_build(f, PKT_SIDE_WAN, fl->proto, fl->ra, fl->rp, wan(), fl->ext, tcp_flags);
}

/* One packet of the flow each way, routed as the NIC would; each must be
 * translated with the flow's external port. Returns the worker that
 * translated the outbound one. */
static unsigned flow_exchange(struct menv *e, const struct flow *fl, uint32_t now)
{
	uint8_t flags = fl->proto == PKT_PROTO_TCP ? PKT_TCP_ACK | PKT_TCP_PSH : 0;
	struct frame f;
	struct pkt q;

	flow_frame(&f, fl, true, flags);
	if (!CHECK_EQ(route(e, &f, now), PKT_TO_WAN))
		return UINT32_MAX;
	unsigned by = f.path[f.n_path - 1];
	q = reparse(&f);
	CHECK_EQ(q.saddr, wan());
	CHECK_EQ(q.sport, fl->ext);
	flow_frame(&f, fl, false, fl->proto == PKT_PROTO_TCP ? PKT_TCP_ACK : 0);
	if (!CHECK_EQ(route(e, &f, now), PKT_TO_LAN))
		return UINT32_MAX;
	q = reparse(&f);
	CHECK_EQ(q.daddr, fl->la);
	CHECK_EQ(q.dport, fl->lp);
	CHECK_EQ(f.path[f.n_path - 1], by); /* both ways on one owner */
	return by;
}

/* Open the flow: TCP three-way handshake, or a UDP request and its reply. */
static bool flow_open(struct menv *e, struct flow *fl, uint32_t now)
{
	struct frame f;

	flow_frame(&f, fl, true, fl->proto == PKT_PROTO_TCP ? PKT_TCP_SYN : 0);
	fl->bucket = nic_bucket(e->nic, &f.p);
	if (route(e, &f, now) != PKT_TO_WAN)
		return false;
	fl->ext = reparse(&f).sport;
	flow_frame(&f, fl, false, fl->proto == PKT_PROTO_TCP ? PKT_TCP_SYN | PKT_TCP_ACK : 0);
	if (route(e, &f, now) != PKT_TO_LAN)
		return false;
	return flow_exchange(e, fl, now) != UINT32_MAX;
}

static void flow_pick(struct flow *fl, unsigned k)
{
	fl->proto = k % 2 ? PKT_PROTO_UDP : PKT_PROTO_TCP;
	fl->la = lan(2 + (unsigned)(test_rand() % 250));
	fl->lp = (uint16_t)(1024 + k);
	fl->ra = pkt_ipv4(1 + (unsigned)(test_rand() % 223), (unsigned)(test_rand() % 256),
			  (unsigned)(test_rand() % 256), 1 + (unsigned)(test_rand() % 254));
	fl->rp = (uint16_t)(1 + test_rand() % 65535);
}

/* ---- sessions, as the workers hold them ---- */

struct census {
	const struct flow *flows;
	unsigned n_flows;
	unsigned worker;
	const struct rss_snapshot *snap;
	unsigned *seen;	    /* per flow */
	unsigned misplaced; /* on a worker that is not the bucket's owner */
	unsigned strangers; /* matching no flow */
};

static void census_visit(void *ctx, const struct nat_session_info *s)
{
	struct census *c = ctx;

	for (unsigned i = 0; i < c->n_flows; i++) {
		const struct flow *fl = &c->flows[i];
		if (s->proto == fl->proto && s->lan_addr == fl->la && s->lan_port == fl->lp &&
		    s->rem_addr == fl->ra && s->rem_port == fl->rp) {
			c->seen[i]++;
			c->misplaced +=
			    c->snap->table[fl->bucket & c->snap->bucket_mask] != c->worker;
			CHECK_EQ(s->ext_port, fl->ext);
			return;
		}
	}
	c->strangers++;
}

/* Every flow has exactly one session, on the owner @snap gives its bucket. */
static void check_census(struct menv *e, const struct flow *flows, unsigned n,
			 const struct rss_snapshot *snap)
{
	unsigned *seen = calloc(n, sizeof(*seen)), once = 0;
	struct census c = {flows, n, 0, snap, seen, 0, 0};

	for (unsigned w = 0; w < e->workers; w++) {
		c.worker = w;
		nat_worker_sessions(wk(e, w), census_visit, &c);
	}
	for (unsigned i = 0; i < n; i++)
		once += seen[i] == 1;
	CHECK_EQ(once, n);
	CHECK_EQ(c.misplaced, 0);
	CHECK_EQ(c.strangers, 0);
	CHECK_EQ(TOTAL(e, sessions), n);
	free(seen);
}

/* Sessions that @to takes from @from's owners: flows whose owner changes. */
static unsigned moving(const struct flow *flows, unsigned n, const struct rss_snapshot *from,
		       const struct rss_snapshot *to)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		k += from->table[flows[i].bucket] != to->table[flows[i].bucket];
	return k;
}

/* A flow not yet opened whose bucket @from gives worker @a and @to gives @b. */
static bool find_flow_between(struct flow *fl, unsigned k, const struct rss_snapshot *from,
			      const struct rss_snapshot *to, unsigned a, unsigned b)
{
	for (unsigned tries = 0; tries < 10000; tries++) {
		struct frame f;
		flow_pick(fl, k);
		fl->lp = (uint16_t)(40000 + tries);
		flow_frame(&f, fl, true, PKT_TCP_SYN);
		unsigned bucket = nic_bucket(from, &f.p);
		if (from->table[bucket] == a && to->table[bucket] == b) {
			fl->bucket = bucket;
			return true;
		}
	}
	return false;
}

/* ======================================================================
 * Migration, step by step.
 * ====================================================================== */

TEST(nat_migrate_flows_follow_their_bucket)
{
	enum { FLOWS = 120, NOW = 10 };
	static const unsigned weights[2] = {1, 3};
	struct flow flows[FLOWS];
	struct menv e;
	const char *why = NULL;

	menv_open(&e, 2, NULL);
	struct rss_snapshot *two = e.snaps[0];
	struct rss_snapshot *off = snap_new(&e, 2, false, NULL);
	struct rss_snapshot *on = snap_new(&e, 2, true, NULL);
	struct rss_snapshot *weighted = snap_new(&e, 2, true, weights);
	for (unsigned k = 0; k < FLOWS; k++) {
		flow_pick(&flows[k], k);
		CHECK(flow_open(&e, &flows[k], NOW));
	}
	CHECK(cnt(&e, 0)->sessions > FLOWS / 4 && cnt(&e, 1)->sessions > FLOWS / 4);
	check_census(&e, flows, FLOWS, two);

	const struct rss_snapshot *plan[] = {off, on, weighted, off, weighted, two};
	const struct rss_snapshot *cur = two;
	for (unsigned step = 0; step < sizeof(plan) / sizeof(plan[0]); step++) {
		const struct rss_snapshot *next = plan[step];
		unsigned moved = moving(flows, FLOWS, cur, next);
		uint64_t out0 = TOTAL(&e, sessions_migrated_out),
			 in0 = TOTAL(&e, sessions_migrated_in);

		CHECK(moved > 0);
		CHECK(nat_migration_done(e.nat));
		CHECK_EQ(nat_set_snapshot(e.nat, next, &why), 0);
		/* One move at a time. */
		why = NULL;
		CHECK_EQ(nat_set_snapshot(e.nat, next, &why), -EBUSY);
		CHECK(why != NULL);
		CHECK(!nat_migration_done(e.nat));
		e.nic = next;
		/* Nobody has synced yet: the first packets meet the move half
		 * done. Every flow, both ways, on its new owner. */
		for (unsigned k = 0; k < FLOWS; k++) {
			unsigned by = flow_exchange(&e, &flows[k], NOW);
			CHECK_EQ(by, next->table[flows[k].bucket]);
		}
		CHECK(settle(&e, NOW));
		CHECK_EQ(TOTAL(&e, sessions_migrated_out) - out0, moved);
		CHECK_EQ(TOTAL(&e, sessions_migrated_in) - in0, moved);
		CHECK_EQ(TOTAL(&e, sessions_migrate_lost), 0);
		check_census(&e, flows, FLOWS, next);
		CHECK_EQ(TOTAL(&e, dropped), 0);
		cur = next;
	}
	CHECK_EQ(stateless_drops(&e), 0);
	CHECK_EQ(TOTAL(&e, sessions_created), FLOWS);
	CHECK_EQ(TOTAL(&e, mappings_created), FLOWS);
	menv_close(&e);
}

/* A packet reaches the new owner before the old owner has synced: it goes to
 * the old owner, which then gives the sessions away and hands it back. */
TEST(nat_migrate_packet_before_old_owner_synced)
{
	enum { NOW = 10 };
	struct menv e;
	struct flow tcp = {0}, udp = {0};
	unsigned k = 0;

	menv_open(&e, 2, NULL);
	struct rss_snapshot *two = e.snaps[0], *off = snap_new(&e, 2, false, NULL);
	/* Flows owned by worker 1 now, by worker 0 with RSS off. */
	do {
		flow_pick(&tcp, k++);
		tcp.proto = PKT_PROTO_TCP;
		CHECK(flow_open(&e, &tcp, NOW));
	} while (two->table[tcp.bucket] != 1 && k < 100);
	do {
		flow_pick(&udp, k++);
		udp.proto = PKT_PROTO_UDP;
		CHECK(flow_open(&e, &udp, NOW));
	} while (two->table[udp.bucket] != 1 && k < 200);
	CHECK_EQ(nat_set_snapshot(e.nat, off, NULL), 0);
	e.nic = off;

	/* A mid-stream TCP segment from the remote, at worker 0. */
	struct frame f;
	flow_frame(&f, &tcp, false, PKT_TCP_ACK);
	CHECK_EQ(run_on(&e, 0, &f, NOW), PKT_TO_LAN);
	CHECK_EQ(f.n_path, 3);
	CHECK_EQ(f.path[0], 0);
	CHECK_EQ(f.path[1], 1); /* the old owner: not moved yet */
	CHECK_EQ(f.path[2], 0); /* moved now: back to the new owner */
	CHECK_EQ(f.p.hops, 2);
	struct pkt q = reparse(&f);
	CHECK_EQ(q.daddr, tcp.la);
	CHECK_EQ(q.dport, tcp.lp);
	CHECK_EQ(cnt(&e, 0)->migration_handoffs, 1);
	CHECK_EQ(cnt(&e, 1)->sessions_migrated_out, 2);
	CHECK_EQ(cnt(&e, 0)->sessions_migrated_in, 2);
	/* The UDP flow came along: its reply is translated on worker 0 at once. */
	flow_frame(&f, &udp, false, 0);
	CHECK_EQ(run_on(&e, 0, &f, NOW), PKT_TO_LAN);
	CHECK_EQ(f.n_path, 1);
	CHECK_EQ(cnt(&e, 0)->migration_handoffs, 1);
	CHECK(settle(&e, NOW));
	CHECK_EQ(cnt(&e, 1)->sessions, 0);
	CHECK_EQ(cnt(&e, 0)->sessions, TOTAL(&e, sessions));
	CHECK_EQ(TOTAL(&e, dropped), 0);

	/* The old owner processes first this time (RSS back on): it gives
	 * the sessions away at once, and the packet it receives from the NIC
	 * goes straight to the new owner, which takes them on its miss. */
	CHECK_EQ(nat_set_snapshot(e.nat, two, NULL), 0);
	e.nic = two;
	flow_frame(&f, &tcp, true, PKT_TCP_ACK);
	CHECK_EQ(run_on(&e, 0, &f, NOW), PKT_TO_WAN); /* misplaced: arrived on 0 */
	CHECK_EQ(f.n_path, 2);
	CHECK_EQ(f.path[1], 1);
	CHECK_EQ(reparse(&f).sport, tcp.ext);
	CHECK_EQ(cnt(&e, 1)->migration_handoffs, 0);
	CHECK(settle(&e, NOW));
	CHECK_EQ(TOTAL(&e, dropped), 0);
	menv_close(&e);
}

/* A new flow in a bucket still on its way: neither mapping nor session is
 * made before the old owner has given the bucket away. */
TEST(nat_migrate_new_flow_in_incoming_bucket)
{
	enum { NOW = 10 };
	struct menv e;
	struct flow fl;

	menv_open(&e, 2, NULL);
	struct rss_snapshot *two = e.snaps[0], *off = snap_new(&e, 2, false, NULL);
	CHECK_EQ(nat_set_snapshot(e.nat, off, NULL), 0);
	CHECK(settle(&e, NOW));
	/* Back on: buckets move from worker 0 to worker 1. */
	CHECK(find_flow_between(&fl, 1, off, two, 0, 1));
	CHECK_EQ(nat_set_snapshot(e.nat, two, NULL), 0);
	e.nic = two;
	struct frame f;
	flow_frame(&f, &fl, true, PKT_TCP_SYN);
	CHECK_EQ(run_on(&e, 1, &f, NOW), PKT_TO_WAN);
	CHECK_EQ(f.n_path, 3);
	CHECK_EQ(f.path[1], 0);
	CHECK_EQ(f.path[2], 1);
	CHECK_EQ(cnt(&e, 1)->migration_handoffs, 1);
	CHECK_EQ(cnt(&e, 0)->mappings_created, 0);
	CHECK_EQ(cnt(&e, 1)->mappings_created, 1);
	CHECK_EQ(cnt(&e, 1)->sessions, 1);
	fl.ext = reparse(&f).sport;
	flow_frame(&f, &fl, false, PKT_TCP_SYN | PKT_TCP_ACK);
	CHECK_EQ(route(&e, &f, NOW), PKT_TO_LAN);
	CHECK(settle(&e, NOW));
	CHECK_EQ(TOTAL(&e, dropped), 0);
	menv_close(&e);
}

TEST(nat_migrate_set_snapshot_checks)
{
	struct menv e;
	const char *why = NULL;

	menv_open(&e, 2, NULL);
	struct rss_snapshot *four = snap_new(&e, 4, true, NULL);
	struct rss_snapshot *one = snap_new(&e, 1, true, NULL);
	CHECK_EQ(nat_set_snapshot(e.nat, four, &why), -EINVAL);
	CHECK(why != NULL);
	CHECK(nat_migration_done(e.nat));
	/* Fewer queues than workers: worker 1 goes idle, its sessions move. */
	struct flow fl;
	unsigned k = 0;
	do {
		flow_pick(&fl, k++);
		CHECK(flow_open(&e, &fl, 1));
	} while (e.nic->table[fl.bucket] != 1 && k < 100);
	CHECK_EQ(nat_set_snapshot(e.nat, one, NULL), 0);
	e.nic = one;
	CHECK_EQ(nat_set_snapshot(e.nat, one, &why), -EBUSY);
	CHECK(settle(&e, 1));
	CHECK_EQ(cnt(&e, 1)->sessions, 0);
	CHECK_EQ(flow_exchange(&e, &fl, 2), 0);
	/* A NAT refuses a first snapshot with more queues than workers too. */
	struct nat *nat = NULL;
	struct nat_config nc;
	nat_config_default(&nc, wan());
	CHECK_EQ(nat_create(&nc, four, 2, &nat, &why), -EINVAL);
	menv_close(&e);
}

/* A mapping allocated by one worker and ended by another goes back to the
 * one that allocated it; a worker that releases more mappings than its
 * retire ring holds keeps them until the janitor has room. */
TEST(nat_migrate_mappings_recycled_to_their_allocator)
{
	enum { MAPS = 256 }; /* 128 per worker: ring of 128 */
	struct nat_config nc;
	struct menv e;
	struct flow fl;
	uint32_t now = 10;

	nat_config_default(&nc, wan());
	nc.mappings = MAPS;
	menv_open(&e, 2, &nc);
	struct rss_snapshot *two = e.snaps[0], *off = snap_new(&e, 2, false, NULL);
	for (unsigned round = 0; round < 3; round++) {
		/* Fill both workers' shares. */
		unsigned made = 0;
		for (unsigned k = 0; k < 4 * MAPS && made < MAPS; k++) {
			struct frame f;
			flow_pick(&fl, round * 4 * MAPS + k);
			fl.proto = PKT_PROTO_UDP;
			flow_frame(&f, &fl, true, 0);
			made += route(&e, &f, now) == PKT_TO_WAN;
		}
		CHECK_EQ(made, MAPS);
		/* Everything moves to worker 0, and ends there at once: twice
		 * what its ring holds. */
		CHECK_EQ(nat_set_snapshot(e.nat, off, NULL), 0);
		e.nic = off;
		CHECK(settle(&e, now));
		CHECK_EQ(cnt(&e, 0)->sessions, MAPS);
		now += 301;
		nat_expire(wk(&e, 0), now);
		CHECK_EQ(cnt(&e, 0)->sessions, 0);
		for (unsigned t = 0; t < 4; t++)
			tick(&e, ++now);
		CHECK_EQ(nat_set_snapshot(e.nat, two, NULL), 0);
		e.nic = two;
		CHECK(settle(&e, now));
		tick(&e, ++now);
	}
	CHECK_EQ(TOTAL(&e, mappings_created), 3 * MAPS);
	CHECK_EQ(TOTAL(&e, mappings_freed), 3 * MAPS);
	menv_close(&e);
}

/* ======================================================================
 * Migration under traffic: worker threads, the control thread flipping.
 * ====================================================================== */

enum {
	TW = 4,
	T_FLOWS = 1500,
	T_FLIPS = 60,
	T_RING = 4096,
	T_BACKLOG = 1024, /* generate no more while this many wait to be pushed */
	T_NOW = 100,
};

struct tframe {
	uint8_t buf[BUF];
	struct pkt p;
	uint32_t flow;
	bool out;
};

struct threaded {
	struct menv *e;
	struct flow *flows;
	unsigned out_bucket[T_FLOWS], in_bucket[T_FLOWS];
	_Atomic(const struct rss_snapshot *) nic;
	struct ring rings[TW][TW]; /* [from][to] */
	void *slots[TW][TW][T_RING];
	_Atomic int stop;
	_Atomic long in_flight;
	pthread_barrier_t start;
};

struct tworker {
	struct threaded *t;
	unsigned id;
	uint64_t rng;
	/* Handed-off packets the ring had no room for: grows as needed, as
	 * both sides of a full ring must keep popping (or they wait on each
	 * other). A gateway would count them HANDOFF_RING_FULL instead. */
	struct tframe **backlog;
	unsigned n_backlog, cap_backlog;
	/* results, read after join */
	unsigned long translated, bad_verdict, bad_port, generated, dropped[NAT_DROP_COUNT];
};

static uint64_t t_rand(struct tworker *tw)
{
	tw->rng ^= tw->rng << 13;
	tw->rng ^= tw->rng >> 7;
	tw->rng ^= tw->rng << 17;
	return tw->rng;
}

static void t_finish(struct tworker *tw, struct tframe *f)
{
	struct threaded *t = tw->t;
	const struct flow *fl = &t->flows[f->flow];
	struct pkt q;

	if (f->p.verdict == PKT_DROP) {
		tw->dropped[f->p.drop < NAT_DROP_COUNT ? f->p.drop : 0]++;
	} else if (f->p.verdict != (f->out ? PKT_TO_WAN : PKT_TO_LAN)) {
		tw->bad_verdict++;
	} else if (pkt_parse(&q, f->buf, f->p.len, BUF) != PKT_OK ||
		   (f->out ? q.sport != fl->ext : q.daddr != fl->la || q.dport != fl->lp)) {
		tw->bad_port++;
	} else {
		tw->translated++;
	}
	free(f);
	atomic_fetch_sub(&t->in_flight, 1);
}

/* A packet of a random flow, if the NIC would give it to this worker. */
static struct tframe *t_generate(struct tworker *tw)
{
	struct threaded *t = tw->t;
	uint32_t k = (uint32_t)(t_rand(tw) % T_FLOWS);
	bool out = t_rand(tw) & 1;
	const struct rss_snapshot *nic = atomic_load(&t->nic);
	unsigned bucket = out ? t->out_bucket[k] : t->in_bucket[k];
	const struct flow *fl = &t->flows[k];
	struct frame tmp;

	if (nic->table[bucket] != tw->id)
		return NULL;
	atomic_fetch_add(&t->in_flight, 1);
	if (atomic_load(&t->stop)) {
		atomic_fetch_sub(&t->in_flight, 1);
		return NULL;
	}
	struct tframe *f = malloc(sizeof(*f));
	uint8_t flags = fl->proto == PKT_PROTO_TCP ? PKT_TCP_ACK : 0;
	if (out)
		frame_build(&tmp, PKT_SIDE_LAN, fl->proto, fl->la, fl->lp, fl->ra, fl->rp, flags);
	else
		frame_build(&tmp, PKT_SIDE_WAN, fl->proto, fl->ra, fl->rp, wan(), fl->ext, flags);
	memcpy(f->buf, tmp.buf, BUF);
	f->p = tmp.p;
	f->p.data = f->buf;
	f->flow = k;
	f->out = out;
	tw->generated++;
	return f;
}

static void t_flush_backlog(struct tworker *tw)
{
	struct threaded *t = tw->t;
	unsigned kept = 0;

	for (unsigned i = 0; i < tw->n_backlog; i++) {
		struct tframe *f = tw->backlog[i];
		void *obj = f;
		if (!ring_push(&t->rings[tw->id][f->p.to_worker], &obj, 1))
			tw->backlog[kept++] = f;
	}
	tw->n_backlog = kept;
}

static void *t_worker(void *arg)
{
	struct tworker *tw = arg;
	struct threaded *t = tw->t;
	struct nat_worker *w = nat_worker(t->e->nat, tw->id);
	struct pkt *batch[64];
	struct tframe *frames[64];

	pthread_barrier_wait(&t->start);
	for (unsigned loop = 0;; loop++) {
		unsigned n = 0;
		/* Handoffs first, as the gateway takes them: a packet waits in a
		 * ring for one burst or two, not through several moves. */
		for (unsigned from = 0; from < TW && n < 64; from++) {
			void *objs[64];
			unsigned got = ring_pop(&t->rings[from][tw->id], objs, 64 - n);
			for (unsigned i = 0; i < got; i++)
				frames[n++] = objs[i];
		}
		for (unsigned g = 0; g < 48 && n < 32 && tw->n_backlog < T_BACKLOG; g++) {
			struct tframe *f = t_generate(tw);
			if (f)
				frames[n++] = f;
		}
		for (unsigned i = 0; i < n; i++)
			batch[i] = &frames[i]->p;
		if (n)
			nat_process(w, batch, n, T_NOW);
		else
			nat_worker_sync(w); /* the idle loop's duty */
		for (unsigned i = 0; i < n; i++) {
			if (frames[i]->p.verdict != PKT_HANDOFF) {
				t_finish(tw, frames[i]);
				continue;
			}
			if (tw->n_backlog == tw->cap_backlog) {
				tw->cap_backlog = tw->cap_backlog ? 2 * tw->cap_backlog : 256;
				tw->backlog =
				    realloc(tw->backlog, tw->cap_backlog * sizeof(*tw->backlog));
			}
			tw->backlog[tw->n_backlog++] = frames[i];
		}
		t_flush_backlog(tw);
		if (loop % 64 == 0)
			nat_expire(w, T_NOW);
		if (atomic_load(&t->stop) && atomic_load(&t->in_flight) == 0)
			break;
	}
	return NULL;
}

static bool port_of_a_flow(const struct flow *flows, unsigned n, uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (flows[i].ext == port)
			return true;
	return false;
}

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};

	nanosleep(&ts, NULL);
}

/* The control thread's side: wait (bounded) for the previous move. */
static bool wait_done(struct nat *nat, unsigned ms)
{
	for (unsigned i = 0; i < ms * 10 && !nat_migration_done(nat); i++)
		sleep_us(100);
	return nat_migration_done(nat);
}

TEST(nat_migrate_threads_flip_snapshots)
{
	static const unsigned w13[TW] = {1, 3, 1, 3}, w91[TW] = {9, 1, 1, 1};
	struct threaded *t = calloc(1, sizeof(*t));
	struct tworker *tws = calloc(TW, sizeof(*tws));
	struct flow *flows = calloc(T_FLOWS, sizeof(*flows));
	struct nat_session_info *dump = calloc(T_FLOWS, sizeof(*dump));
	pthread_t th[TW];
	struct menv e;

	menv_open(&e, TW, NULL);
	const struct rss_snapshot *plan[] = {
	    snap_new(&e, TW, false, NULL), e.snaps[0],
	    snap_new(&e, 2, true, NULL),   snap_new(&e, TW, true, w13),
	    snap_new(&e, 1, true, NULL),   snap_new(&e, TW, true, w91),
	};
	for (unsigned k = 0; k < T_FLOWS; k++) {
		struct frame f;
		flow_pick(&flows[k], k);
		CHECK(flow_open(&e, &flows[k], T_NOW));
		flow_frame(&f, &flows[k], true, PKT_TCP_ACK);
		t->out_bucket[k] = nic_bucket(e.nic, &f.p);
		flow_frame(&f, &flows[k], false, PKT_TCP_ACK);
		t->in_bucket[k] = nic_bucket(e.nic, &f.p);
	}
	CHECK_EQ(TOTAL(&e, sessions), T_FLOWS);
	/* A port for the port mapping the control thread adds and deletes. */
	uint16_t static_port = 7777;
	while (port_of_a_flow(flows, T_FLOWS, static_port))
		static_port++;
	t->e = &e;
	t->flows = flows;
	atomic_init(&t->nic, e.nic);
	for (unsigned a = 0; a < TW; a++)
		for (unsigned b = 0; b < TW; b++)
			ring_init(&t->rings[a][b], t->slots[a][b], T_RING);
	pthread_barrier_init(&t->start, NULL, TW + 1);
	for (unsigned i = 0; i < TW; i++) {
		tws[i] = (struct tworker){.t = t, .id = i, .rng = 0x9e3779b97f4a7c15ull * (i + 1)};
		pthread_create(&th[i], NULL, t_worker, &tws[i]);
	}
	pthread_barrier_wait(&t->start);

	unsigned flips = 0, statics = 0, dumps = 0;
	bool static_live = false;
	for (unsigned i = 0; i < T_FLIPS; i++) {
		const struct rss_snapshot *next = plan[i % (sizeof(plan) / sizeof(plan[0]))];
		const char *why = NULL;
		if (!CHECK(wait_done(e.nat, 2000)))
			break;
		/* Either order: the NIC first (misplaced packets are handed to
		 * the owners that still have the sessions) or the NAT first. */
		if (i % 2)
			atomic_store(&t->nic, next);
		if (!CHECK_EQ(nat_set_snapshot(e.nat, next, &why), 0))
			break;
		atomic_store(&t->nic, next);
		flips++;
		sleep_us(1000);
		nat_reclaim(e.nat);
		/* The other control-thread duties, meanwhile. */
		struct nat_static_map sm = {PKT_PROTO_UDP, static_port, lan(1), 7777};
		if (!static_live) {
			static_live = nat_static_add(e.nat, &sm, &why) == 0;
			statics += static_live;
		} else {
			CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_UDP, static_port, &why), 0);
			static_live = false;
		}
		int got = nat_dump_sessions(e.nat, i % TW, dump, T_FLOWS, 1000);
		CHECK(got >= 0);
		dumps += got >= 0;
	}
	CHECK(wait_done(e.nat, 2000));
	atomic_store(&t->stop, 1);
	for (unsigned i = 0; i < TW; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&t->start);
	for (unsigned i = 0; i < TW; i++)
		free(tws[i].backlog);

	CHECK_EQ(flips, T_FLIPS);
	CHECK(statics > 0);
	CHECK_EQ(dumps, T_FLIPS);
	unsigned long translated = 0, generated = 0, bad = 0, dropped = 0;
	for (unsigned i = 0; i < TW; i++) {
		translated += tws[i].translated;
		generated += tws[i].generated;
		bad += tws[i].bad_verdict + tws[i].bad_port;
		for (unsigned d = 0; d < NAT_DROP_COUNT; d++) {
			if (tws[i].dropped[d])
				printf("    worker %u: %lu dropped %s\n", i, tws[i].dropped[d],
				       nat_drop_name((enum nat_drop)d));
			dropped += tws[i].dropped[d];
		}
	}
	CHECK(generated > 10000);
	CHECK_EQ(translated, generated);
	CHECK_EQ(bad, 0);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(stateless_drops(&e), 0);
	CHECK_EQ(TOTAL(&e, dropped), 0);
	CHECK(TOTAL(&e, sessions_migrated_out) > T_FLOWS);
	CHECK_EQ(TOTAL(&e, sessions_migrated_out), TOTAL(&e, sessions_migrated_in));
	CHECK_EQ(TOTAL(&e, sessions_migrate_lost), 0);
	check_census(&e, flows, T_FLOWS, atomic_load(&t->nic));
	menv_close(&e);
	free(dump);
	free(flows);
	free(tws);
	free(t);
}

/* ======================================================================
 * Port mappings at run time.
 * ====================================================================== */

struct static_list {
	unsigned n;
	struct nat_static_map last;
};

static void list_visit(void *ctx, const struct nat_static_map *sm)
{
	struct static_list *l = ctx;

	l->n++;
	l->last = *sm;
}

static unsigned static_count(struct menv *e, struct nat_static_map *last)
{
	struct static_list l = {0};

	nat_static_list(e->nat, list_visit, &l);
	if (last)
		*last = l.last;
	return l.n;
}

static uint8_t tcp_in(struct menv *e, uint32_t ra, uint16_t rp, uint16_t ext, uint8_t flags,
		      uint32_t now)
{
	struct frame f;

	frame_build(&f, PKT_SIDE_WAN, PKT_PROTO_TCP, ra, rp, wan(), ext, flags);
	return route(e, &f, now);
}

TEST(nat_static_add_delete_at_run_time)
{
	struct menv e;
	const char *why = NULL;
	struct nat_static_map web = {PKT_PROTO_TCP, 8080, lan(10), 80}, got;
	uint32_t now = 10;

	menv_open(&e, 2, NULL);
	CHECK_EQ(nat_static_add(e.nat, &web, &why), 0);
	CHECK_EQ(static_count(&e, &got), 1);
	CHECK_EQ(got.ext_port, 8080);
	CHECK_EQ(got.lan_addr, lan(10));
	CHECK_EQ(got.lan_port, 80);
	CHECK_EQ(got.proto, PKT_PROTO_TCP);
	/* Refused: the same port, a port a connection holds, an endpoint a
	 * connection holds, ICMP, unknown ones to delete. */
	why = NULL;
	struct nat_static_map again = {PKT_PROTO_TCP, 8080, lan(11), 81};
	CHECK_EQ(nat_static_add(e.nat, &again, &why), -EBUSY);
	CHECK(why && strstr(why, "in use"));
	struct flow fl;
	flow_pick(&fl, 1);
	fl.proto = PKT_PROTO_UDP;
	CHECK(flow_open(&e, &fl, now));
	struct nat_static_map taken = {PKT_PROTO_UDP, fl.ext, lan(12), 53};
	CHECK_EQ(nat_static_add(e.nat, &taken, &why), -EBUSY);
	struct nat_static_map endpoint = {PKT_PROTO_UDP, 6000, fl.la, fl.lp};
	CHECK_EQ(nat_static_add(e.nat, &endpoint, &why), -EBUSY);
	struct nat_static_map icmp = {PKT_PROTO_ICMP, 6000, lan(12), 1};
	CHECK_EQ(nat_static_add(e.nat, &icmp, &why), -EINVAL);
	CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_TCP, 8081, &why), -ENOENT);
	CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_UDP, fl.ext, &why), -ENOENT);
	CHECK_EQ(static_count(&e, NULL), 1);

	/* A connection through it. */
	CHECK_EQ(tcp_in(&e, remote(1), 4000, 8080, PKT_TCP_SYN, now), PKT_TO_LAN);
	struct frame f;
	frame_build(&f, PKT_SIDE_LAN, PKT_PROTO_TCP, lan(10), 80, remote(1), 4000,
		    PKT_TCP_SYN | PKT_TCP_ACK);
	CHECK_EQ(route(&e, &f, now), PKT_TO_WAN);
	CHECK_EQ(reparse(&f).sport, 8080);

	/* Deleted: no new connection from a stranger (filtered, as for any
	 * mapping); the established one lives on, wherever it lands. */
	CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_TCP, 8080, &why), 0);
	CHECK_EQ(static_count(&e, NULL), 0);
	CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_TCP, 8080, &why), -ENOENT);
	tick(&e, ++now);
	CHECK_EQ(tcp_in(&e, remote(2), 4000, 8080, PKT_TCP_SYN, now), PKT_DROP);
	CHECK_EQ(tcp_in(&e, remote(1), 4000, 8080, PKT_TCP_ACK, now), PKT_TO_LAN);
	frame_build(&f, PKT_SIDE_LAN, PKT_PROTO_TCP, lan(10), 80, remote(1), 4000, PKT_TCP_ACK);
	CHECK_EQ(route(&e, &f, now), PKT_TO_WAN);
	CHECK_EQ(reparse(&f).sport, 8080);
	/* Its port is the connection's until it ends. */
	CHECK_EQ(nat_static_add(e.nat, &web, &why), -EBUSY);
	now += 7441;
	tick(&e, now);
	tick(&e, ++now);
	CHECK_EQ(nat_static_add(e.nat, &web, &why), 0);
	CHECK_EQ(tcp_in(&e, remote(3), 4000, 8080, PKT_TCP_SYN, now), PKT_TO_LAN);

	/* One with no connection is free again at its owner's next sync. */
	struct nat_static_map dns = {PKT_PROTO_UDP, 5353, lan(10), 53};
	CHECK_EQ(nat_static_add(e.nat, &dns, &why), 0);
	CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_UDP, 5353, &why), 0);
	tick(&e, ++now);
	CHECK_EQ(nat_static_add(e.nat, &dns, &why), 0);

	/* At most NAT_PORT_MAPS_MAX; deleted ones come back for reuse. */
	tick(&e, ++now);
	tick(&e, ++now);
	unsigned added = 2;
	for (uint16_t port = 20000; added < NAT_PORT_MAPS_MAX && port < 21200; port++) {
		struct nat_static_map sm = {PKT_PROTO_UDP, port, lan(20), port};
		added += nat_static_add(e.nat, &sm, &why) == 0;
	}
	struct nat_static_map more = {PKT_PROTO_UDP, 30000, lan(21), 1};
	CHECK_EQ(nat_static_add(e.nat, &more, &why), -ENOSPC);
	CHECK_EQ(static_count(&e, NULL), NAT_PORT_MAPS_MAX);
	CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_UDP, 5353, &why), 0);
	for (unsigned i = 0; i < 3; i++)
		tick(&e, ++now);
	CHECK_EQ(nat_static_add(e.nat, &more, &why), 0);
	CHECK_EQ(TOTAL(&e, dropped), 1); /* the SYN after the delete */
	CHECK_EQ(TOTAL(&e, drop[NAT_DROP_FILTERED]), 1);
	menv_close(&e);
}

/* A port mapping deleted while its bucket moves: the worker that has the
 * bucket's sessions at the time ends it, once. */
TEST(nat_static_delete_during_move)
{
	struct menv e;
	struct nat_static_map web = {PKT_PROTO_TCP, 8080, lan(10), 80};
	uint32_t now = 10;

	menv_open(&e, 2, NULL);
	struct rss_snapshot *two = e.snaps[0], *off = snap_new(&e, 2, false, NULL);
	/* A LAN port that homes the mapping on worker 1 with RSS on, so that
	 * it moves 0 -> 1 while it is deleted. */
	for (;; web.lan_port++) {
		struct pkt probe = {.proto = PKT_PROTO_TCP,
				    .saddr = web.lan_addr,
				    .sport = web.lan_port,
				    .flags = PKT_F_L4,
				    .side = PKT_SIDE_LAN};
		if (two->table[nic_bucket(two, &probe)] == 1)
			break;
	}
	CHECK_EQ(nat_static_add(e.nat, &web, NULL), 0);
	struct nat_mapping_info mi;
	CHECK(nat_find_mapping(e.nat, PKT_PROTO_TCP, 0, 8080, &mi));
	CHECK(mi.is_static);
	CHECK_EQ(two->table[mi.bucket], 1);
	for (unsigned k = 0; k < 20; k++)
		CHECK_EQ(tcp_in(&e, remote(1 + k), 4000, 8080, PKT_TCP_SYN, now), PKT_TO_LAN);
	CHECK_EQ(TOTAL(&e, sessions), 20);
	for (unsigned round = 0; round < 2; round++) {
		CHECK_EQ(nat_set_snapshot(e.nat, round ? two : off, NULL), 0);
		e.nic = round ? two : off;
		if (round) {
			CHECK_EQ(nat_static_delete(e.nat, PKT_PROTO_TCP, 8080, NULL), 0);
		}
		CHECK(settle(&e, now));
		CHECK_EQ(cnt(&e, round ? 1 : 0)->sessions, 20);
	}
	CHECK_EQ(TOTAL(&e, sessions), 20);
	CHECK_EQ(cnt(&e, 1)->sessions, 20);
	CHECK_EQ(TOTAL(&e, mappings_freed), 0);
	CHECK(nat_find_mapping(e.nat, PKT_PROTO_TCP, 0, 8080, &mi));
	CHECK(!mi.is_static);
	CHECK_EQ(static_count(&e, NULL), 0);
	now += 241; /* opening timeout */
	tick(&e, now);
	tick(&e, ++now);
	CHECK_EQ(TOTAL(&e, sessions), 0);
	CHECK_EQ(TOTAL(&e, mappings_freed), 1);
	CHECK_EQ(cnt(&e, 1)->mappings_freed, 1);
	CHECK_EQ(nat_static_add(e.nat, &web, NULL), 0);
	menv_close(&e);
}

/* ======================================================================
 * Control-thread requests served by running workers.
 * ====================================================================== */

struct syncer {
	struct nat_worker *w;
	_Atomic int *stop;
};

static void *sync_loop(void *arg)
{
	struct syncer *s = arg;

	while (!atomic_load(s->stop)) {
		nat_worker_sync(s->w);
		sleep_us(200);
	}
	return NULL;
}

TEST(nat_dump_sessions_served_by_worker)
{
	enum { FLOWS = 40 };
	struct flow flows[FLOWS];
	struct nat_session_info buf[FLOWS];
	struct menv e;
	struct syncer sy[2];
	pthread_t th[2];
	_Atomic int stop = 0;

	menv_open(&e, 2, NULL);
	for (unsigned k = 0; k < FLOWS; k++) {
		flow_pick(&flows[k], k);
		CHECK(flow_open(&e, &flows[k], 1));
	}
	/* No worker running: the request is withdrawn. */
	CHECK_EQ(nat_dump_sessions(e.nat, 0, buf, FLOWS, 5), -ETIMEDOUT);
	CHECK_EQ(nat_dump_sessions(e.nat, 2, buf, FLOWS, 5), -ENOENT);
	for (unsigned i = 0; i < 2; i++) {
		sy[i] = (struct syncer){wk(&e, i), &stop};
		pthread_create(&th[i], NULL, sync_loop, &sy[i]);
	}
	unsigned total = 0;
	for (unsigned i = 0; i < 2; i++) {
		int n = nat_dump_sessions(e.nat, i, buf, FLOWS, 2000);
		CHECK_EQ(n, cnt(&e, i)->sessions);
		for (int j = 0; j < n; j++) {
			unsigned match = 0;
			for (unsigned k = 0; k < FLOWS; k++)
				match += buf[j].lan_addr == flows[k].la &&
					 buf[j].lan_port == flows[k].lp &&
					 buf[j].rem_addr == flows[k].ra &&
					 buf[j].rem_port == flows[k].rp &&
					 buf[j].ext_port == flows[k].ext &&
					 buf[j].proto == flows[k].proto &&
					 e.nic->table[flows[k].bucket] == i;
			CHECK_EQ(match, 1);
		}
		total += n > 0 ? (unsigned)n : 0;
	}
	CHECK_EQ(total, FLOWS);
	/* A smaller buffer gets the first ones. */
	CHECK_EQ(nat_dump_sessions(e.nat, 0, buf, 3, 2000), 3);
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	menv_close(&e);
}

TEST(nat_timeouts_set_at_run_time)
{
	struct menv e;
	struct nat_timeouts t;
	struct flow fl;

	menv_open(&e, 1, NULL);
	nat_get_timeouts(e.nat, &t);
	CHECK_EQ(t.udp, 300);
	t.udp = 30;
	CHECK_EQ(nat_set_timeouts(e.nat, &t), 0);
	nat_get_timeouts(e.nat, &t);
	CHECK_EQ(t.udp, 30);
	t.icmp = 0;
	CHECK_EQ(nat_set_timeouts(e.nat, &t), -EINVAL);
	flow_pick(&fl, 1);
	fl.proto = PKT_PROTO_UDP;
	CHECK(flow_open(&e, &fl, 100)); /* the worker syncs first: 30 s */
	tick(&e, 129);
	CHECK_EQ(cnt(&e, 0)->sessions, 1);
	tick(&e, 131);
	CHECK_EQ(cnt(&e, 0)->sessions, 0);
	menv_close(&e);
}
