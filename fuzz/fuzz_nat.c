/* fuzz_nat.c - libFuzzer harness for the NAT: frames from both sides.
 *
 * The input is a list of records. Each record either is a raw frame (its
 * IPv4 header checksum repaired half the time, so that bytes reach the NAT)
 * or describes a frame we build: a LAN host's TCP/UDP/ICMP packet, a WAN
 * packet to the external address, an ICMP error quoting the last frame the
 * NAT translated, or a fragment. Frames go to the worker RSS gives them, and
 * handoffs are followed to their owner. Every so often time advances and the
 * janitor runs. Checked: no crash, no sanitizer report, every packet gets a
 * verdict, at most one handoff per half of a packet's way (LAN half, WAN
 * half), every translated frame still parses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct fuzz_state {
	struct rss_snapshot *snap;
	struct nat *nat;
	uint32_t wan, now;
	uint8_t last[CAP]; /* the last translated frame, for ICMP errors to quote */
	size_t last_len;
};

static struct fuzz_state *state(void)
{
	static struct fuzz_state s;
	const char *why;

	if (s.nat)
		return &s;
	struct rss_config rc;
	rss_config_default(&rc, WORKERS);
	rc.table_size = 16;
	if (rss_snapshot_create(&rc, 1, &s.snap, &why))
		abort();
	struct nat_config nc;
	s.wan = pkt_ipv4(198, 51, 100, 2);
	nat_config_default(&nc, s.wan);
	nc.sessions_per_worker = 256; /* small, so that exhaustion is reached */
	nc.mappings = 384;
	nc.frags_per_worker = 16;
	nc.host_mappings = 48; /* the per-host quota is reached too */
	nc.n_static = 1;
	nc.statics[0] =
	    (struct nat_static_map){PKT_PROTO_TCP, 8080, pkt_ipv4(192, 168, 137, 10), 80};
	if (nat_create(&nc, s.snap, WORKERS, &s.nat, &why))
		abort();
	return &s;
}

/* Take @n bytes of input (zeros past the end). */
static uint32_t take(const uint8_t **d, size_t *n, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (*n ? **d : 0);
		if (*n) {
			(*d)++;
			(*n)--;
		}
	}
	return v;
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

static size_t build_record(struct fuzz_state *s, const uint8_t **d, size_t *n, uint8_t *f,
			   uint8_t *side)
{
	unsigned op = take(d, n, 1);
	static const uint8_t protos[] = {PKT_PROTO_TCP, PKT_PROTO_UDP, PKT_PROTO_ICMP};
	struct pkt_spec sp = {.proto = protos[op / 8 % 3]};
	uint8_t payload[64];
	size_t plen = take(d, n, 1) % sizeof(payload);

	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)take(d, n, 1);
	sp.payload = payload;
	sp.payload_len = (uint16_t)plen;
	sp.sport = (uint16_t)take(d, n, 2);
	sp.dport = (uint16_t)take(d, n, 2);
	sp.tcp_flags = (uint8_t)take(d, n, 1);
	sp.icmp_type = (uint8_t)(take(d, n, 1) % 2 ? PKT_ICMP_ECHO : PKT_ICMP_ECHO_REPLY);
	sp.icmp_id = sp.sport;
	sp.ip_id = (uint16_t)take(d, n, 1);
	switch (op % 8) {
	case 0: { /* raw frame */
		size_t len = take(d, n, 1) + 14;
		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)take(d, n, 1);
		if (op & 0x80)
			repair_ip_checksum(f, len);
		*side = (uint8_t)(op >> 6 & 1);
		return len;
	}
	case 1:
	case 2: /* a LAN host to the internet, or to our own external address */
		sp.saddr = pkt_ipv4(192, 168, 137, 10 + take(d, n, 1) % 4);
		sp.daddr = op % 8 == 2 ? s->wan : pkt_ipv4(203, 0, 113, 1 + take(d, n, 1) % 4);
		*side = PKT_SIDE_LAN;
		break;
	case 3:
	case 4: /* the internet to our external address */
		sp.saddr = pkt_ipv4(203, 0, 113, 1 + take(d, n, 1) % 4);
		sp.daddr = s->wan;
		*side = PKT_SIDE_WAN;
		break;
	case 5: /* an ICMP error about the last translated frame */
		if (s->last_len < 34)
			return 0;
		*side = (uint8_t)(op >> 6 & 1);
		static const uint8_t mac[6];
		return pkt_build_icmp_error(
		    f, CAP, mac, mac,
		    *side ? pkt_ipv4(203, 0, 113, 9) : pkt_ipv4(192, 168, 137, 11),
		    *side ? s->wan : pkt_ipv4(203, 0, 113, 1), (uint8_t)(op & 0x40 ? 11 : 3),
		    (uint8_t)(op >> 5 & 3), s->last + 14, 28 + take(d, n, 1) % 32);
	default: /* a fragment of a LAN or WAN datagram */
		*side = (uint8_t)(op >> 6 & 1);
		sp.saddr = *side ? pkt_ipv4(203, 0, 113, 2) : pkt_ipv4(192, 168, 137, 12);
		sp.daddr = *side ? s->wan : pkt_ipv4(203, 0, 113, 2);
		sp.frag_off = (uint16_t)(take(d, n, 1) % 4 * 8);
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
	if (p->verdict == PKT_TO_WAN && p->len <= CAP) {
		memcpy(s->last, p->data, p->len);
		s->last_len = p->len;
	}
}

static void run(struct fuzz_state *s, struct pkt *p, unsigned worker)
{
	struct pkt *pp = p, *rel[64];
	unsigned n;

	/* One handoff per half: a hairpinned packet may need one to the owner of
	 * its LAN half and one to the owner of its WAN half, never more. */
	for (int hop = 0; hop < 3; hop++) {
		nat_process(nat_worker(s->nat, worker), &pp, 1, s->now);
		if (p->verdict != PKT_HANDOFF)
			break;
		if (hop == 2 || p->to_worker >= WORKERS)
			BROKEN("handed off three times, or to nobody");
		worker = p->to_worker;
	}
	if (p->verdict == PKT_HANDOFF)
		BROKEN("still handed off after its owner");
	check_output(s, p);
	while ((n = nat_released(nat_worker(s->nat, worker), rel, 64)) > 0)
		for (unsigned i = 0; i < n; i++)
			check_output(s, rel[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state *s = state();
	static unsigned next;

	for (unsigned rec = 0; size && rec < 64; rec++) {
		/* Never reuse a frame the NAT still holds (a fragment waiting). */
		for (unsigned tries = 0; tries < 256 && held[next % 256]; tries++)
			next++;
		uint8_t side = 0, *f = frames[next % 256];
		struct pkt *p = &pkts[next % 256];
		if (held[next % 256])
			BROKEN("more frames held than 3 workers x NAT_HOLD_MAX: a leak");
		size_t len = build_record(s, &data, &size, f, &side);
		next++;
		if (!len || len > CAP || pkt_parse(p, f, (uint16_t)len, CAP) != PKT_OK)
			continue;
		p->side = side;
		run(s, p, rss_queue(s->snap, nat_packet_hash(s->snap, p)));
		if (rec % 8 == 7) {
			s->now += 1 + take(&data, &size, 1) % 200;
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
	}
	return 0;
}
