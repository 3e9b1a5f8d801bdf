/* fuzz_nat.c - libFuzzer harness for the NAT: frames from both sides.
 *
 * The input is a list of records. Each record either is a raw frame (its
 * IPv4 header checksum repaired half the time, so that bytes reach the NAT)
 * or describes a frame we build: a LAN host's TCP/UDP/ICMP packet, a WAN
 * packet to the external address, an ICMP error quoting the last frame the
 * NAT translated, or a fragment. Frames go to the worker RSS gives them, and
 * handoffs are followed to their owner. Every so often time advances and the
 * janitor runs. Two more records reach what single packets do not: a burst
 * of new flows from one LAN host (a worker's mappings, or its sessions, run
 * out: exhaustion), and an RSS change (nat_set_snapshot() to another table:
 * sessions migrate between workers while packets keep coming). ICMP errors
 * come from either side, quoting the last frame the NAT sent that way.
 * Checked: no crash, no sanitizer report, every packet gets a verdict, at
 * most one handoff per half of a packet's way (LAN half, WAN half), every
 * translated frame still parses.
 *
 * Deterministic per input: the NAT, the clock and the frame pool are made
 * anew for every input (only the immutable RSS snapshots are kept), so a
 * crash replays from its input alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "../src/nat/nat.h"
#include "../src/pkt/build.h"
#include "../src/pkt/pkt.h"
#include "../src/rss/rss.h"

enum { CAP = 2048, WORKERS = 3 };

/* An invariant broke: say which, then crash for libFuzzer. */
#define BROKEN(what)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nat: %s\n", what);                                           \
		abort();                                                                           \
	} while (0)

enum { SNAPS = 4 }; /* the first, then tables an RSS change moves to */

struct fuzz_state {
	struct rss_snapshot *snap; /* the one the "NIC" steers by now */
	struct nat *nat;
	uint32_t wan, now;
	/* the last frame translated toward each side, for ICMP errors to quote */
	uint8_t last[2][CAP];
	size_t last_len[2];
};

/* Immutable, so kept across inputs: the default table, then uneven
 * weights, one queue only, and a smaller table (numbered 1..SNAPS). */
static struct rss_snapshot *snapshot(unsigned i)
{
	static struct rss_snapshot *snaps[SNAPS];
	static const unsigned weights[SNAPS][WORKERS] = {{0}, {3, 1, 0}, {1, 0, 0}, {1, 1, 2}};
	const char *why;

	if (snaps[i])
		return snaps[i];
	struct rss_config rc;
	rss_config_default(&rc, WORKERS);
	rc.table_size = i == 3 ? 8 : 16;
	for (unsigned q = 0; i && q < WORKERS; q++)
		rc.weights[q] = weights[i][q];
	if (rss_snapshot_create(&rc, i + 1, &snaps[i], &why))
		abort();
	return snaps[i];
}

static void state_init(struct fuzz_state *s)
{
	struct nat_config nc;
	const char *why;

	memset(s, 0, sizeof(*s));
	s->snap = snapshot(0);
	s->wan = pkt_ipv4(198, 51, 100, 2);
	nat_config_default(&nc, s->wan);
	nc.sessions_per_worker = 256; /* small, so that exhaustion is reached */
	nc.mappings = 384;
	nc.frags_per_worker = 16;
	nc.host_mappings = 48; /* the per-host quota is reached too */
	nc.seed = 1;	       /* the port choice replays */
	nc.n_static = 1;
	nc.statics[0] =
	    (struct nat_static_map){PKT_PROTO_TCP, 8080, pkt_ipv4(192, 168, 137, 10), 80};
	if (nat_create(&nc, s->snap, WORKERS, &s->nat, &why))
		abort();
}

static void repair_ip_checksum(uint8_t *f, size_t len)
{
	if (len < 34 || f[12] != 0x08 || f[13] != 0x00)
		return;
	size_t ihl = (size_t)(f[14] & 0x0f) * 4;
	if (ihl < 20 || 14 + ihl > len)
		return;
	f[24] = f[25] = 0;
	uint16_t c = csum_ipv4_header(f + 14, ihl);
	memcpy(f + 24, &c, 2);
}

/* From the WAN: a router on the way (or the host itself) about a frame we
 * sent out. From the LAN (RFC 5508 REQ-4 and 5): the LAN host, or a router
 * of the LAN, about a frame we delivered to it, back to its source. */
static size_t build_icmp_error(struct fuzz_state *s, uint8_t side, unsigned op, size_t quote,
			       uint8_t *f)
{
	static const uint8_t mac[6];
	const uint8_t *q = s->last[side] + 14;
	uint32_t qsrc, qdst, from, to;

	if (s->last_len[side] < 34)
		return 0;
	memcpy(&qsrc, q + 12, 4);
	memcpy(&qdst, q + 16, 4);
	if (side == PKT_SIDE_WAN) {
		from = op & 0x20 ? qdst : pkt_ipv4(203, 0, 113, 9);
		to = s->wan;
	} else {
		from = op & 0x20 ? qdst : pkt_ipv4(192, 168, 137, 254);
		to = qsrc;
	}
	return pkt_build_icmp_error(f, CAP, mac, mac, from, to, (uint8_t)(op & 0x80 ? 11 : 3),
				    (uint8_t)(op >> 3 & 3 ? op >> 3 & 3 : 4), q,
				    quote < s->last_len[side] - 14 ? quote
								   : s->last_len[side] - 14);
}

static size_t build_record(struct fuzz_state *s, const uint8_t **d, size_t *n, uint8_t *f,
			   uint8_t *side)
{
	unsigned op = fuzz_take(d, n, 1);
	static const uint8_t protos[] = {PKT_PROTO_TCP, PKT_PROTO_UDP, PKT_PROTO_ICMP};
	struct pkt_spec sp = {.proto = protos[op / 8 % 3]};
	uint8_t payload[64];
	size_t plen = fuzz_take(d, n, 1) % sizeof(payload);

	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)fuzz_take(d, n, 1);
	sp.payload = payload;
	sp.payload_len = (uint16_t)plen;
	sp.sport = (uint16_t)fuzz_take(d, n, 2);
	sp.dport = (uint16_t)fuzz_take(d, n, 2);
	sp.tcp_flags = (uint8_t)fuzz_take(d, n, 1);
	sp.icmp_type = (uint8_t)(fuzz_take(d, n, 1) % 2 ? PKT_ICMP_ECHO : PKT_ICMP_ECHO_REPLY);
	sp.icmp_id = sp.sport;
	sp.ip_id = (uint16_t)fuzz_take(d, n, 1);
	switch (op % 8) {
	case 0: { /* raw frame */
		size_t len = fuzz_take(d, n, 1) + 14;
		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)fuzz_take(d, n, 1);
		if (op & 0x80)
			repair_ip_checksum(f, len);
		*side = (uint8_t)(op >> 6 & 1);
		return len;
	}
	case 1:
	case 2: /* a LAN host to the internet, or to our own external address */
		sp.saddr = pkt_ipv4(192, 168, 137, 10 + fuzz_take(d, n, 1) % 4);
		sp.daddr = op % 8 == 2 ? s->wan : pkt_ipv4(203, 0, 113, 1 + fuzz_take(d, n, 1) % 4);
		*side = PKT_SIDE_LAN;
		break;
	case 3:
	case 4: /* the internet to our external address */
		sp.saddr = pkt_ipv4(203, 0, 113, 1 + fuzz_take(d, n, 1) % 4);
		sp.daddr = s->wan;
		*side = PKT_SIDE_WAN;
		break;
	case 5: /* an ICMP error about the last frame the NAT sent to that side */
		*side = (uint8_t)(op >> 6 & 1);
		return build_icmp_error(s, *side, op, (size_t)(28 + fuzz_take(d, n, 1) % 32), f);
	default: /* a fragment of a LAN or WAN datagram (6; 7 is not here) */
		*side = (uint8_t)(op >> 6 & 1);
		sp.saddr = *side ? pkt_ipv4(203, 0, 113, 2) : pkt_ipv4(192, 168, 137, 12);
		sp.daddr = *side ? s->wan : pkt_ipv4(203, 0, 113, 2);
		sp.frag_off = (uint16_t)(fuzz_take(d, n, 1) % 4 * 8);
		sp.more_frags = op & 0x20;
		if (sp.frag_off)
			sp.proto = PKT_PROTO_UDP;
		break;
	}
	return pkt_build(f, CAP, &sp);
}

/* Frames held as fragments must outlive one input: a static pool, with a
 * mark on the frames the NAT still holds. */
static uint8_t frames[256][CAP];
static struct pkt pkts[256];
static bool held[256];

static void check_output(struct fuzz_state *s, struct pkt *p)
{
	struct pkt again;

	if (p >= pkts && p < pkts + 256)
		held[p - pkts] = p->verdict == PKT_PENDING;

	if (p->verdict != PKT_TO_LAN && p->verdict != PKT_TO_WAN)
		return;
	if (pkt_parse(&again, p->data, p->len, CAP) != PKT_OK)
		BROKEN("a translated frame does not parse");
	if (p->len <= CAP) {
		unsigned to = p->verdict == PKT_TO_WAN ? PKT_SIDE_WAN : PKT_SIDE_LAN;
		memcpy(s->last[to], p->data, p->len);
		s->last_len[to] = p->len;
	}
}

static void run(struct fuzz_state *s, struct pkt *p, unsigned worker)
{
	struct pkt *pp = p, *rel[64];
	unsigned n;

	/* One handoff per half: a hairpinned packet may need one to the owner of
	 * its LAN half and one to the owner of its WAN half, never more; while
	 * sessions move, each half may take NAT_HOPS_MAX (nat.h, "Migration"). */
	int hops = nat_migration_done(s->nat) ? 3 : 2 * NAT_HOPS_MAX + 1;
	for (int hop = 0; hop < hops; hop++) {
		nat_process(nat_worker(s->nat, worker), &pp, 1, s->now);
		if (p->verdict != PKT_HANDOFF)
			break;
		if (hop == hops - 1 || p->to_worker >= WORKERS)
			BROKEN("handed off too often, or to nobody");
		worker = p->to_worker;
	}
	if (p->verdict == PKT_HANDOFF)
		BROKEN("still handed off after its owner");
	check_output(s, p);
	while ((n = nat_released(nat_worker(s->nat, worker), rel, 64)) > 0)
		for (unsigned i = 0; i < n; i++)
			check_output(s, rel[i]);
}

/* Time passes: every worker's timers, what they release, the janitor. */
static void tick(struct fuzz_state *s, uint32_t secs)
{
	s->now += secs;
	for (unsigned w = 0; w < WORKERS; w++) {
		struct pkt *rel[64];
		unsigned r;
		nat_expire(nat_worker(s->nat, w), s->now);
		while ((r = nat_released(nat_worker(s->nat, w), rel, 64)) > 0)
			for (unsigned i = 0; i < r; i++)
				check_output(s, rel[i]);
	}
	nat_reclaim(s->nat);
}

/* A frame of the pool the NAT does not hold. */
static unsigned next; /* the pool's next frame, from 0 for every input */

static unsigned next_frame(void)
{
	for (unsigned tries = 0; tries < 256 && held[next % 256]; tries++)
		next++;
	if (held[next % 256])
		BROKEN("more frames held than 3 workers x NAT_HOLD_MAX: a leak");
	return next++ % 256;
}

/* Parse frame @i as received on @side, and on to the worker the current
 * table gives it. */
static void receive(struct fuzz_state *s, unsigned i, size_t len, uint8_t side)
{
	struct pkt *p = &pkts[i];

	if (!len || len > CAP || pkt_parse(p, frames[i], (uint16_t)len, CAP) != PKT_OK)
		return;
	p->side = side;
	run(s, p, rss_queue(s->snap, nat_packet_hash(s->snap, p)));
}

/* One LAN host (op bits 5-6) opens @count flows at once (op bits 3-4 the
 * protocol): from new source ports to four servers, so that a worker's
 * share of the mappings runs out; or (@one_source) from one source port to
 * @count servers, sessions of a single mapping, so that the session table
 * does. */
static void burst(struct fuzz_state *s, unsigned op, unsigned count, bool one_source)
{
	static const uint8_t protos[] = {PKT_PROTO_TCP, PKT_PROTO_UDP, PKT_PROTO_ICMP};

	for (unsigned k = 0; k < count; k++) {
		uint16_t src = (uint16_t)(one_source ? 1024 : 1024 + k);
		struct pkt_spec sp = {.proto = protos[(op >> 3 & 3) % 3],
				      .saddr = pkt_ipv4(192, 168, 137, 20 + (op >> 5 & 3)),
				      .daddr = pkt_ipv4(203, 0, 113, 1 + k % 8),
				      .sport = src,
				      .dport = (uint16_t)(one_source ? 1 + k : 53),
				      .tcp_flags = PKT_TCP_SYN,
				      .icmp_type = PKT_ICMP_ECHO,
				      .icmp_id = src};
		unsigned i = next_frame();
		receive(s, i, pkt_build(frames[i], CAP, &sp), PKT_SIDE_LAN);
	}
}

/* The RSS table changes (nat_set_snapshot(); -EBUSY while the last move
 * is still going on): the "NIC" steers by the new one at once, and every
 * worker takes it between two bursts, sessions moving with their buckets. */
static void rss_change(struct fuzz_state *s, unsigned which)
{
	struct rss_snapshot *to = snapshot(which % SNAPS);
	const char *why;

	if (to != s->snap && !nat_set_snapshot(s->nat, to, &why))
		s->snap = to;
	for (unsigned w = 0; w < WORKERS; w++)
		nat_worker_sync(nat_worker(s->nat, w));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_state st;
	struct fuzz_state *s = &st;

	state_init(s);
	for (unsigned rec = 0; size && rec < 64; rec++) {
		unsigned op = *data;
		if (op % 8 == 7) { /* the two records that are not one frame */
			fuzz_take(&data, &size, 1);
			if (op & 0x80) {
				unsigned count = fuzz_take(&data, &size, 1) + 32;
				burst(s, op, count, fuzz_take(&data, &size, 1) & 1);
			} else {
				rss_change(s, op >> 3);
			}
		} else {
			uint8_t side = 0;
			unsigned i = next_frame();
			size_t len = build_record(s, &data, &size, frames[i], &side);
			receive(s, i, len, side);
		}
		if (rec % 8 == 7)
			tick(s, 1 + fuzz_take(&data, &size, 1) % 200);
	}
	/* Everything goes: the frames the NAT held are the pool's again. */
	nat_destroy(s->nat);
	memset(held, 0, sizeof(held));
	next = 0;
	return 0;
}
