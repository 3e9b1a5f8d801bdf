/* sim.c - the closed loop: hosts, wires, worker shards, the internet. */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ring.h"
#include "../pkt/build.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

enum {
	FRAME_CAP = 2048,
	BURST = 32,
	RING_SIZE = 4096,
	FLOW_PATIENCE = 40,  /* rounds a flow waits for its next packet */
	MAX_FLOWS = 4000000, /* flow id << 10 must fit a TCP sequence number */
	SEQ_SHIFT = 10,
	ROUNDS_PER_SECOND = 1000,
};

enum flow_state { FLOW_IDLE, FLOW_ACTIVE, FLOW_DONE, FLOW_LOST };

/* TCP steps, client side: what the client sent last. */
enum tcp_step { STEP_SYN, STEP_REQUEST, STEP_FIN };

struct flow {
	uint32_t host, server; /* network byte order */
	uint16_t port;	       /* LAN port, or ICMP identifier */
	uint16_t server_port;
	uint16_t ext_port; /* as the internet saw it; 0 until then */
	uint8_t proto;
	uint8_t step;
	uint8_t state;
	uint32_t deadline;
};

struct frame {
	struct pkt p;
	uint8_t buf[FRAME_CAP];
};

/* A list of frames: a wire, or a worker's receive queue. */
struct frame_list {
	struct pkt **items;
	uint32_t n, cap;
};

struct sim {
	const struct sim_config *cfg;
	struct sim_result *res;
	struct rss_snapshot *snap;
	struct nat *nat;
	uint32_t wan_addr;
	uint64_t rng;
	uint32_t round;
	struct flow *flows;
	uint32_t started, finished;
	uint32_t *active; /* ids of active flows */
	uint32_t n_active;
	uint16_t *next_port; /* per host */
	struct frame *frames;
	struct pkt **free_frames;
	uint32_t n_free;
	struct frame_list lan_wire, wan_wire, next_lan, next_wan;
	struct frame_list rxq[SIM_QUEUES_MAX];
	struct ring *rings; /* [from * queues + to] */
	void **ring_slots;
};

static uint64_t sim_rand(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_config_default(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->queues = 4;
	cfg->flows = 10000;
	cfg->hosts = 50;
	cfg->concurrency = 512;
	cfg->table_size = RSS_TABLE_DEFAULT;
	cfg->proto = SIM_MIX;
	cfg->steering = NAT_STEER_RSS;
	cfg->seed = 1;
}

/* ---- frames ---- */

static struct pkt *frame_get(struct sim *s)
{
	return s->n_free ? s->free_frames[--s->n_free] : NULL;
}

static void frame_put(struct sim *s, struct pkt *p)
{
	s->free_frames[s->n_free++] = p;
}

static void list_push(struct frame_list *l, struct pkt *p)
{
	l->items[l->n++] = p; /* sized for every frame there is */
}

/* ---- the LAN hosts ---- */

static int flow_proto(struct sim *s)
{
	static const uint8_t protos[] = {PKT_PROTO_TCP, PKT_PROTO_UDP, PKT_PROTO_ICMP};

	if (s->cfg->proto != SIM_MIX)
		return protos[s->cfg->proto];
	return protos[sim_rand(s) % 3];
}

static const uint16_t service_ports[] = {80, 443, 53, 123, 8080, 5060, 993, 22};

/* Build the client's next packet of flow @id into @p and put it on the LAN wire. */
static void client_send(struct sim *s, uint32_t id, struct pkt *p)
{
	struct flow *f = &s->flows[id];
	uint8_t payload[16] = {0};
	struct pkt_spec spec = {.saddr = f->host,
				.daddr = f->server,
				.proto = f->proto,
				.ip_id = (uint16_t)sim_rand(s)};
	size_t len;

	memcpy(payload, &id, sizeof(id));
	if (f->proto == PKT_PROTO_TCP) {
		static const uint8_t flags[] = {
		    [STEP_SYN] = PKT_TCP_SYN,
		    [STEP_REQUEST] = PKT_TCP_ACK | PKT_TCP_PSH,
		    [STEP_FIN] = PKT_TCP_FIN | PKT_TCP_ACK,
		};
		spec.sport = f->port;
		spec.dport = f->server_port;
		spec.tcp_flags = flags[f->step];
		spec.seq = id << SEQ_SHIFT | f->step;
		spec.ack = f->step == STEP_SYN ? 0 : 1;
		if (f->step == STEP_REQUEST) {
			spec.payload = payload;
			spec.payload_len = sizeof(payload);
		}
	} else if (f->proto == PKT_PROTO_UDP) {
		spec.sport = f->port;
		spec.dport = f->server_port;
		spec.payload = payload;
		spec.payload_len = sizeof(payload);
	} else {
		spec.icmp_type = PKT_ICMP_ECHO;
		spec.icmp_id = f->port;
		spec.icmp_seq = 1;
		spec.payload = payload;
		spec.payload_len = sizeof(payload);
	}
	len = pkt_build(p->data, FRAME_CAP, &spec);
	p->len = (uint16_t)len;
	f->deadline = s->round + FLOW_PATIENCE;
	list_push(&s->next_lan, p);
	s->res->packets++;
}

static void flow_start(struct sim *s)
{
	uint32_t id = s->started++;
	struct flow *f = &s->flows[id];
	unsigned h = (unsigned)(sim_rand(s) % s->cfg->hosts);
	struct pkt *p = frame_get(s);

	f->host = pkt_ipv4(192, 168, 137, 10 + h);
	f->server = pkt_ipv4(203, 0, 113, 1 + (unsigned)(sim_rand(s) % 250));
	f->proto = (uint8_t)flow_proto(s);
	f->server_port = f->proto == PKT_PROTO_ICMP ? 0 : service_ports[sim_rand(s) % 8];
	/* Each host counts its ports up, as an OS's ephemeral ports do, so
	 * that every flow is a new internal endpoint (one destination each). */
	f->port = s->next_port[h]++;
	if (s->next_port[h] == 0)
		s->next_port[h] = 1024;
	f->step = STEP_SYN;
	f->state = FLOW_ACTIVE;
	f->ext_port = 0;
	s->active[s->n_active++] = id;
	client_send(s, id, p);
}

static void flow_end(struct sim *s, struct flow *f, enum flow_state how)
{
	f->state = (uint8_t)how;
	s->finished++;
	if (how == FLOW_DONE)
		s->res->completed++;
	else
		s->res->lost++;
	if (how == FLOW_LOST)
		s->res->lost_by_proto[f->proto == PKT_PROTO_TCP	  ? 0
				      : f->proto == PKT_PROTO_UDP ? 1
								  : 2]++;
}

/* Which flow a frame belongs to: TCP carries it in the client's sequence
 * numbers (and so in the server's acknowledgements), UDP and ICMP in the
 * payload. Returns UINT32_MAX when it cannot say. */
static uint32_t flow_of(const struct sim *s, const struct pkt *p, bool from_server)
{
	uint32_t id;
	const uint8_t *b;

	if (!(p->flags & PKT_F_L4))
		return UINT32_MAX;
	if (p->proto == PKT_PROTO_TCP) {
		b = pkt_at(p, p->l4_off + (from_server ? 8 : 4), 4);
		if (!b)
			return UINT32_MAX;
		id = ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) >>
		     SEQ_SHIFT;
	} else {
		b = pkt_at(p, p->l4_off + 8, 4);
		if (!b)
			return UINT32_MAX;
		memcpy(&id, b, 4);
	}
	return id < s->started ? id : UINT32_MAX;
}

static bool checksums_fine(struct sim *s, struct pkt *p)
{
	if (pkt_parse(p, p->data, p->len, FRAME_CAP) != PKT_OK || !pkt_checksums_ok(p)) {
		s->res->bad_checksum++;
		return false;
	}
	return true;
}

/* A frame the NAT sent to the LAN: is it the reply the host expects? */
static void lan_receive(struct sim *s, struct pkt *p)
{
	uint32_t id;
	struct flow *f;

	if (!checksums_fine(s, p) || (id = flow_of(s, p, true)) == UINT32_MAX) {
		frame_put(s, p);
		return;
	}
	f = &s->flows[id];
	if (f->state != FLOW_ACTIVE) {
		frame_put(s, p);
		return;
	}
	bool icmp = f->proto == PKT_PROTO_ICMP;
	if (p->daddr != f->host || p->saddr != f->server || p->dport != f->port ||
	    (!icmp && p->sport != f->server_port) ||
	    (icmp && p->icmp_type != PKT_ICMP_ECHO_REPLY)) {
		s->res->bad_translation++;
		flow_end(s, f, FLOW_LOST);
		frame_put(s, p);
		return;
	}
	if (f->proto != PKT_PROTO_TCP || f->step == STEP_FIN) {
		flow_end(s, f, FLOW_DONE);
		frame_put(s, p);
		return;
	}
	f->step++;
	client_send(s, id, p);
}

/* A frame the NAT sent to the WAN: the server checks it and answers. */
static void internet_receive(struct sim *s, struct pkt *p)
{
	uint32_t id;
	struct flow *f;

	if (!checksums_fine(s, p) || (id = flow_of(s, p, false)) == UINT32_MAX) {
		frame_put(s, p);
		return;
	}
	f = &s->flows[id];
	if (f->ext_port == 0)
		f->ext_port = p->sport;
	if (p->saddr != s->wan_addr || p->daddr != f->server || p->sport != f->ext_port ||
	    (f->proto != PKT_PROTO_ICMP && p->dport != f->server_port)) {
		s->res->bad_translation++;
		if (f->state == FLOW_ACTIVE)
			flow_end(s, f, FLOW_LOST);
		frame_put(s, p);
		return;
	}
	uint8_t payload[16] = {0};
	struct pkt_spec spec = {.saddr = f->server,
				.daddr = s->wan_addr,
				.proto = f->proto,
				.sport = p->dport,
				.dport = p->sport,
				.ip_id = (uint16_t)sim_rand(s),
				.payload = payload,
				.payload_len = sizeof(payload)};
	memcpy(payload, &id, sizeof(id));
	if (f->proto == PKT_PROTO_TCP) {
		static const uint8_t answer[] = {
		    [STEP_SYN] = PKT_TCP_SYN | PKT_TCP_ACK,
		    [STEP_REQUEST] = PKT_TCP_ACK | PKT_TCP_PSH | PKT_TCP_FIN,
		    [STEP_FIN] = PKT_TCP_ACK,
		};
		spec.tcp_flags = answer[f->step];
		spec.seq = 0x5e000000u + f->step;
		spec.ack = id << SEQ_SHIFT | (f->step + 1u);
		if (f->step != STEP_REQUEST)
			spec.payload_len = 0;
	} else if (f->proto == PKT_PROTO_ICMP) {
		spec.icmp_type = PKT_ICMP_ECHO_REPLY;
		spec.icmp_id = p->sport;
		spec.icmp_seq = 1;
	}
	p->len = (uint16_t)pkt_build(p->data, FRAME_CAP, &spec);
	list_push(&s->next_wan, p);
	s->res->packets++;
}

/* ---- the gateway ---- */

static void handle_verdict(struct sim *s, unsigned q, struct pkt *p)
{
	switch (p->verdict) {
	case PKT_TO_WAN:
		internet_receive(s, p);
		break;
	case PKT_TO_LAN:
		lan_receive(s, p);
		break;
	case PKT_HANDOFF: {
		void *obj = p;
		if (!ring_push(&s->rings[q * s->cfg->queues + p->to_worker], &obj, 1)) {
			s->res->ring_full++;
			frame_put(s, p);
		}
		break;
	}
	default: /* PKT_DROP; a held fragment never comes here */
		frame_put(s, p);
	}
}

static void run_burst(struct sim *s, unsigned q, struct pkt **pkts, unsigned n)
{
	struct nat_worker *w = nat_worker(s->nat, q);
	struct pkt *released[64];
	unsigned r;

	n = nat_process(w, pkts, n, s->round / ROUNDS_PER_SECOND); /* held ones leave pkts */
	for (unsigned i = 0; i < n; i++)
		handle_verdict(s, q, pkts[i]);
	while ((r = nat_released(w, released, 64)) > 0)
		for (unsigned i = 0; i < r; i++)
			handle_verdict(s, q, released[i]);
}

static void run_worker(struct sim *s, unsigned q)
{
	struct frame_list *rx = &s->rxq[q];
	void *batch[BURST];
	unsigned n;

	/* What other workers handed to us first: it is older. */
	for (unsigned from = 0; from < s->cfg->queues; from++)
		while ((n = ring_pop(&s->rings[from * s->cfg->queues + q], batch, BURST)) > 0)
			run_burst(s, q, (struct pkt **)batch, n);
	for (uint32_t i = 0; i < rx->n; i += BURST)
		run_burst(s, q, rx->items + i, rx->n - i < BURST ? rx->n - i : BURST);
	rx->n = 0;
}

/* The NIC: parse each frame and queue it where RSS sends it. */
static void dispatch(struct sim *s, struct frame_list *wire, uint8_t side)
{
	for (uint32_t i = 0; i < wire->n; i++) {
		struct pkt *p = wire->items[i];
		enum pkt_drop why = pkt_parse(p, p->data, p->len, FRAME_CAP);
		if (why != PKT_OK) {
			/* Unparsable, so unhashable: a NIC puts it on queue 0. */
			nat_parse_drop(nat_worker(s->nat, 0), why);
			frame_put(s, p);
			continue;
		}
		p->side = side;
		list_push(&s->rxq[rss_queue(s->snap, nat_packet_hash(s->snap, p))], p);
	}
	wire->n = 0;
}

static void check_deadlines(struct sim *s)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < s->n_active; i++) {
		struct flow *f = &s->flows[s->active[i]];
		if (f->state == FLOW_ACTIVE && (int32_t)(s->round - f->deadline) > 0)
			flow_end(s, f, FLOW_LOST);
		if (f->state == FLOW_ACTIVE)
			s->active[kept++] = s->active[i];
	}
	s->n_active = kept;
}

static void swap_lists(struct frame_list *a, struct frame_list *b)
{
	struct frame_list t = *a;
	*a = *b;
	*b = t;
}

static void run_round(struct sim *s)
{
	while (s->n_active < s->cfg->concurrency && s->started < s->cfg->flows && s->n_free)
		flow_start(s);
	swap_lists(&s->lan_wire, &s->next_lan);
	swap_lists(&s->wan_wire, &s->next_wan);
	dispatch(s, &s->lan_wire, PKT_SIDE_LAN);
	dispatch(s, &s->wan_wire, PKT_SIDE_WAN);
	for (unsigned q = 0; q < s->cfg->queues; q++)
		run_worker(s, q);
	s->round++;
	if (s->round % ROUNDS_PER_SECOND == 0) {
		for (unsigned q = 0; q < s->cfg->queues; q++)
			nat_expire(nat_worker(s->nat, q), s->round / ROUNDS_PER_SECOND);
		nat_reclaim(s->nat);
	}
	check_deadlines(s);
}

/* ---- set-up ---- */

static int make_snapshot(struct sim *s, const char **why)
{
	struct rss_config rc;

	rss_config_default(&rc, s->cfg->queues);
	rc.table_size = s->cfg->table_size;
	if (s->cfg->endpoint_fields) {
		rc.fields_lan = RSS_F_SRC_ADDR | RSS_F_SRC_PORT;
		rc.fields_wan = RSS_F_DST_ADDR | RSS_F_DST_PORT;
		rc.icmp_id_as_port = true;
	}
	return rss_snapshot_create(&rc, 1, &s->snap, why);
}

/* The mapping table: each worker takes mappings from its own share
 * (cfg.mappings / workers), so a share holds every flow of the run in case
 * they all land on one worker, but the table as a whole stays within the
 * NAT's limit (NAT_MAPPINGS_MAX: one external address has 3 x 65536 ports).
 * Flows spread over the workers by hash, so a capped share still holds far
 * more than a worker's part whenever flows x queues is over the limit. */
static uint32_t sim_mappings(uint32_t flows, unsigned queues)
{
	uint32_t share = flows + 64, cap = NAT_MAPPINGS_MAX / queues;

	return (share < cap ? share : cap) * queues;
}

static int make_nat(struct sim *s, const char **why)
{
	struct nat_config nc;

	nat_config_default(&nc, s->wan_addr);
	nc.steering = s->cfg->steering;
	nc.seed = s->cfg->seed + 1; /* replayable: same seed, same run */
	/* Room for every flow of the run, however it spreads over workers. */
	nc.sessions_per_worker = s->cfg->flows + 64;
	nc.mappings = sim_mappings(s->cfg->flows, s->cfg->queues);
	/* A few synthetic hosts carry every flow: no per-host quota. */
	nc.host_mappings = 0;
	return nat_create(&nc, s->snap, s->cfg->queues, &s->nat, why);
}

static int alloc_lists(struct sim *s, uint32_t frames)
{
	struct frame_list *lists[] = {&s->lan_wire, &s->wan_wire, &s->next_lan, &s->next_wan};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		lists[i]->items = malloc(frames * sizeof(struct pkt *));
		lists[i]->cap = frames;
		if (!lists[i]->items)
			return -ENOMEM;
	}
	for (unsigned q = 0; q < s->cfg->queues; q++) {
		s->rxq[q].items = malloc(frames * sizeof(struct pkt *));
		if (!s->rxq[q].items)
			return -ENOMEM;
	}
	return 0;
}

static int alloc_sim(struct sim *s)
{
	unsigned nq = s->cfg->queues;
	uint32_t frames = s->cfg->concurrency * 2 + 64;

	s->flows = calloc(s->cfg->flows, sizeof(*s->flows));
	s->active = malloc(s->cfg->concurrency * sizeof(uint32_t));
	s->next_port = malloc(s->cfg->hosts * sizeof(uint16_t));
	s->frames = calloc(frames, sizeof(*s->frames));
	s->free_frames = malloc(frames * sizeof(struct pkt *));
	s->rings = calloc((size_t)nq * nq, sizeof(*s->rings));
	s->ring_slots = malloc((size_t)nq * nq * RING_SIZE * sizeof(void *));
	if (!s->flows || !s->active || !s->next_port || !s->frames || !s->free_frames ||
	    !s->rings || !s->ring_slots || alloc_lists(s, frames))
		return -ENOMEM;
	for (uint32_t i = 0; i < frames; i++) {
		s->frames[i].p.data = s->frames[i].buf;
		s->free_frames[s->n_free++] = &s->frames[i].p;
	}
	for (unsigned h = 0; h < s->cfg->hosts; h++)
		s->next_port[h] = (uint16_t)(20000 + sim_rand(s) % 20000);
	for (size_t r = 0; r < (size_t)nq * nq; r++)
		ring_init(&s->rings[r], s->ring_slots + r * RING_SIZE, RING_SIZE);
	return 0;
}

static void free_sim(struct sim *s)
{
	nat_destroy(s->nat);
	rss_snapshot_destroy(s->snap);
	free(s->flows);
	free(s->active);
	free(s->next_port);
	free(s->frames);
	free(s->free_frames);
	free(s->rings);
	free(s->ring_slots);
	free(s->lan_wire.items);
	free(s->wan_wire.items);
	free(s->next_lan.items);
	free(s->next_wan.items);
	for (unsigned q = 0; q < SIM_QUEUES_MAX; q++)
		free(s->rxq[q].items);
}

static int check_config(const struct sim_config *cfg, const char **why)
{
	if (cfg->queues < 1 || cfg->queues > SIM_QUEUES_MAX)
		*why = "queues must be from 1 to 64";
	else if (cfg->flows < 1 || cfg->flows > MAX_FLOWS)
		*why = "flows must be from 1 to 4000000";
	else if (cfg->hosts < 1 || cfg->hosts > 240)
		*why = "hosts must be from 1 to 240 (one /24 LAN)";
	else if (cfg->concurrency < 1 || cfg->concurrency > 65536)
		*why = "concurrency must be from 1 to 65536";
	else if (!rss_table_size_valid(cfg->table_size))
		*why = "table size must be a power of two from 1 to 512";
	else
		return 0;
	return -EINVAL;
}

int sim_run(const struct sim_config *cfg, struct sim_result *res, const char **why)
{
	struct sim s = {.cfg = cfg, .res = res, .rng = cfg->seed * 0x2545f4914f6cdd1dull + 1};
	int err = check_config(cfg, why);

	if (err)
		return err;
	memset(res, 0, sizeof(*res));
	res->flows = cfg->flows;
	s.wan_addr = pkt_ipv4(198, 51, 100, 2);
	err = alloc_sim(&s);
	if (!err)
		err = make_snapshot(&s, why);
	if (!err)
		err = make_nat(&s, why);
	/* Every round moves each open flow on or counts it lost: bounded. */
	uint64_t max_rounds = (uint64_t)cfg->flows * (FLOW_PATIENCE + 8) + 10000;
	while (!err && s.finished < cfg->flows && s.round < max_rounds)
		run_round(&s);
	if (!err) {
		res->rounds = s.round;
		for (unsigned q = 0; q < cfg->queues; q++) {
			res->queue[q] = *nat_worker_counters(nat_worker(s.nat, q));
			res->local_pkts += res->queue[q].local;
			res->handoff_pkts += res->queue[q].handoff;
		}
	} else if (err == -ENOMEM) {
		*why = "out of memory";
	}
	free_sim(&s);
	return err;
}
