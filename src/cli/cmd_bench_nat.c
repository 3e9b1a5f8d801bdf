/* cmd_bench_nat.c - `rssnat bench nat`: the NAT alone, in memory, one core.
 *
 * Established flows: N UDP sessions are opened, then bursts of 32 packets of
 * random sessions (outbound and inbound alternately) are copied from
 * pristine templates, parsed and translated; the copy and the parse are
 * counted in, as a real receive path pays for them. New sessions: packets
 * of endpoints never seen, each making a mapping (with a steered port) and
 * a session. Memory: everything nat_create() allocates, per session.
 */
#include "cli.h"
#include "commands.h"
#include "../nat/nat.h"
#include "../pkt/build.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TEMPLATE_LEN = 64, BURST = 32, FRAME_CAP = 128 };

struct bench {
	struct rss_snapshot *snap;
	struct nat *nat;
	uint32_t wan;
	uint32_t n_flows;
	uint8_t (*out_tpl)[TEMPLATE_LEN]; /* LAN host -> server */
	uint8_t (*in_tpl)[TEMPLATE_LEN];  /* server -> WAN address:external port */
	uint16_t *out_len, *in_len;
	uint64_t rng;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct bench *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

enum { ENDPOINTS = 48000 }; /* internal endpoints: one WAN address has 64512 UDP ports */

/* Flow i: internal endpoint i % ENDPOINTS (240 LAN hosts x 200 ports), remote
 * number i / ENDPOINTS. Past 48000 flows every endpoint talks to several
 * remotes, as a NAPT with one external address must have it: 1M sessions
 * are about 21 per mapping. */
static void flow_spec(uint32_t i, struct pkt_spec *s)
{
	uint32_t e = i % ENDPOINTS, r = i / ENDPOINTS;

	memset(s, 0, sizeof(*s));
	s->proto = PKT_PROTO_UDP;
	s->saddr = pkt_ipv4(192, 168, 137, 10 + e % 240);
	s->sport = (uint16_t)(20000 + e / 240);
	s->daddr = pkt_ipv4(203, 0, 113, 1 + r % 250);
	s->dport = (uint16_t)(1000 + r / 250);
}

static int create(struct bench *b, uint32_t sessions, const char **why)
{
	struct rss_config rc;
	struct nat_config nc;

	rss_config_default(&rc, 1);
	if (rss_snapshot_create(&rc, 1, &b->snap, why))
		return -1;
	b->wan = pkt_ipv4(198, 51, 100, 2);
	nat_config_default(&nc, b->wan);
	nc.sessions_per_worker = sessions;
	nc.mappings = sessions < NAT_MAPPINGS_MAX ? sessions : NAT_MAPPINGS_MAX;
	return nat_create(&nc, b->snap, 1, &b->nat, why) ? -1 : 0;
}

static void destroy(struct bench *b)
{
	nat_destroy(b->nat);
	rss_snapshot_destroy(b->snap);
	free(b->out_tpl);
	free(b->in_tpl);
	free(b->out_len);
	free(b->in_len);
	b->nat = NULL;
	b->snap = NULL;
	b->out_tpl = b->in_tpl = NULL;
	b->out_len = b->in_len = NULL;
}

/* Translate one frame at @now; returns its verdict. */
static int translate(struct bench *b, uint8_t *frame, uint16_t len, uint8_t side, struct pkt *p)
{
	struct pkt *pp = p;

	if (pkt_parse(p, frame, len, FRAME_CAP) != PKT_OK)
		return -1;
	p->side = side;
	nat_process(nat_worker(b->nat, 0), &pp, 1, 1);
	return p->verdict;
}

/* Open @n sessions; keep outbound and inbound templates of each. */
static int open_flows(struct bench *b, uint32_t n)
{
	uint8_t frame[FRAME_CAP];
	struct pkt p;

	b->n_flows = n;
	b->out_tpl = malloc((size_t)n * TEMPLATE_LEN);
	b->in_tpl = malloc((size_t)n * TEMPLATE_LEN);
	b->out_len = malloc(n * sizeof(uint16_t));
	b->in_len = malloc(n * sizeof(uint16_t));
	if (!b->out_tpl || !b->in_tpl || !b->out_len || !b->in_len)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct pkt_spec s;
		flow_spec(i, &s);
		b->out_len[i] = (uint16_t)pkt_build(b->out_tpl[i], TEMPLATE_LEN, &s);
		memcpy(frame, b->out_tpl[i], b->out_len[i]);
		if (translate(b, frame, b->out_len[i], PKT_SIDE_LAN, &p) != PKT_TO_WAN)
			return -1;
		struct pkt_spec r = {.proto = PKT_PROTO_UDP,
				     .saddr = s.daddr,
				     .daddr = b->wan,
				     .sport = s.dport,
				     .dport = p.sport};
		b->in_len[i] = (uint16_t)pkt_build(b->in_tpl[i], TEMPLATE_LEN, &r);
	}
	return 0;
}

static volatile unsigned sink;

/* Pick the flows of the next burst and start loading their templates, as
 * a NIC would have put the packets in cache before we look at them. */
static void pick_burst(struct bench *b, uint32_t *flows, uint8_t side)
{
	for (int i = 0; i < BURST; i++) {
		flows[i] = (uint32_t)(rnd(b) % b->n_flows);
		__builtin_prefetch(side ? b->in_tpl[flows[i]] : b->out_tpl[flows[i]]);
	}
}

/* Translations per second over random established sessions. */
static double run_established(struct bench *b, double seconds, unsigned *bad)
{
	static uint8_t frames[BURST][FRAME_CAP];
	struct pkt pkts[BURST], *pp[BURST];
	uint32_t flows[BURST], next[BURST];
	uint64_t done = 0;
	double start = now_s(), end;

	*bad = 0;
	pick_burst(b, next, 0);
	do {
		for (int rounds = 0; rounds < 64; rounds++) {
			uint8_t side = (uint8_t)(rounds & 1);
			memcpy(flows, next, sizeof(flows));
			pick_burst(b, next, !side);
			for (int i = 0; i < BURST; i++) {
				uint32_t f = flows[i];
				const uint8_t *tpl = side ? b->in_tpl[f] : b->out_tpl[f];
				uint16_t len = side ? b->in_len[f] : b->out_len[f];
				memcpy(frames[i], tpl, TEMPLATE_LEN);
				pkt_parse(&pkts[i], frames[i], len, FRAME_CAP);
				pkts[i].side = side;
				pp[i] = &pkts[i];
			}
			sink += nat_process(nat_worker(b->nat, 0), pp, BURST, 2);
			for (int i = 0; i < BURST; i++)
				*bad += pkts[i].verdict != (side ? PKT_TO_LAN : PKT_TO_WAN);
			done += BURST;
		}
		end = now_s();
	} while (end - start < seconds);
	return (double)done / (end - start);
}

/* New sessions per second: tuples never seen before. The first ENDPOINTS
 * of them also make their mapping (a steered port); the rest join one. */
static double run_new(struct bench *b, uint32_t first, uint32_t n, unsigned *bad)
{
	static uint8_t frames[BURST][FRAME_CAP];
	struct pkt pkts[BURST], *pp[BURST];
	double start = now_s();

	for (uint32_t base = first; base < first + n; base += BURST) {
		unsigned k = first + n - base < BURST ? first + n - base : BURST;
		for (unsigned i = 0; i < k; i++) {
			struct pkt_spec s;
			flow_spec(base + i, &s);
			uint16_t len = (uint16_t)pkt_build(frames[i], FRAME_CAP, &s);
			pkt_parse(&pkts[i], frames[i], len, FRAME_CAP);
			pp[i] = &pkts[i];
		}
		nat_process(nat_worker(b->nat, 0), pp, k, 1);
		for (unsigned i = 0; i < k; i++)
			*bad += pkts[i].verdict != PKT_TO_WAN;
	}
	return n / (now_s() - start);
}

static int bench_established(uint32_t sessions, double seconds)
{
	struct bench b = {.rng = 0x9e3779b97f4a7c15ull};
	const char *why = "";
	unsigned bad = 0;

	if (create(&b, sessions, &why) || open_flows(&b, sessions)) {
		fprintf(stderr, "rssnat: bench nat: %s\n", *why ? why : "set-up failed");
		destroy(&b);
		return CLI_FAILED;
	}
	double pps = run_established(&b, seconds, &bad);
	printf("bench=established sessions=%u mpps=%.2f ns_per_packet=%.1f bytes_per_session=%.1f "
	       "dropped=%u\n",
	       sessions, pps / 1e6, 1e9 / pps, (double)nat_memory(b.nat) / sessions, bad);
	destroy(&b);
	return bad ? CLI_FAILED : CLI_OK;
}

static int bench_new(uint32_t sessions)
{
	struct bench b = {.rng = 1};
	const char *why = "";
	unsigned bad = 0;

	if (create(&b, sessions, &why)) {
		fprintf(stderr, "rssnat: bench nat: %s\n", why);
		destroy(&b);
		return CLI_FAILED;
	}
	double maps = run_new(&b, 0, ENDPOINTS, &bad);
	double rate = run_new(&b, ENDPOINTS, sessions - ENDPOINTS, &bad);
	printf("bench=new_sessions sessions=%u new_mappings_per_second_m=%.2f "
	       "new_sessions_per_second_m=%.2f ns_per_session=%.1f dropped=%u\n",
	       sessions, maps / 1e6, rate / 1e6, 1e9 / rate, bad);
	destroy(&b);
	return bad ? CLI_FAILED : CLI_OK;
}

int cli_bench_nat(int argc, char **argv)
{
	static const uint32_t sizes[] = {1000, 100000, 1000000};
	double seconds = 1.0;
	int status = CLI_OK;

	if (argc == 3 && !strcmp(argv[1], "--seconds")) {
		seconds = atof(argv[2]);
		if (seconds < 0.1 || seconds > 60)
			return cli_usage_error("--seconds", "'%s' is not from 0.1 to 60", argv[2]);
	} else if (argc != 1) {
		return cli_usage_error(argv[1], "unexpected argument (only --seconds S)");
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		status |= bench_established(sizes[i], seconds);
	status |= bench_new(1000000);
	return status ? CLI_FAILED : CLI_OK;
}
