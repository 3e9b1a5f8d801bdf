/* fuzz_arp.c - libFuzzer harness for ARP: arp_parse() on any bytes (an exact
 * heap copy, so ASan sees any read past the end), then the whole input path
 * driven by a script: frames into arp_input(), resolutions, timer polls and
 * releases on a small cache, so that eviction, the pending bounds and every
 * state transition are reached. Asserts what must always hold: replies and
 * requests parse, bounds are kept, released frames carry a learned MAC. */
#include "../src/pkt/pkt.h"
#include "../src/router/arp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum {
	BUF = 2048,
	CAPACITY = 8,
	PENDING = 6,
	FRAME_MAX = 128,
	/* Script record: op, time step, length (for frames), then the bytes. */
	OP_INPUT = 0,
	OP_RESOLVE,
	OP_POLL,
	OP_RELEASE,
	OP_TEMPLATE, /* a well-formed ARP frame with fuzzed fields: gets deep fast */
	OP_COUNT,
};

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint32_t addr(uint8_t last)
{
	return htonl(0xc0a88900u | last); /* 192.168.137.x */
}

static void parse_exact(const uint8_t *d, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct arp_msg m;

	if (!copy)
		return;
	memcpy(copy, d, n);
	if (arp_parse(&m, copy, n) == ARP_OK && (m.op != ARP_OP_REQUEST && m.op != ARP_OP_REPLY))
		abort();
	free(copy);
}

static struct arp_cache *make_cache(void)
{
	struct arp_config cfg;
	struct arp_cache *c;

	arp_config_default(&cfg);
	cfg.capacity = CAPACITY;
	cfg.pending_max = PENDING;
	cfg.frame_max = FRAME_MAX;
	cfg.n_addrs = 1;
	cfg.addrs[0].ip = addr(1);
	cfg.addrs[0].prefix_len = 24;
	memcpy(cfg.addrs[0].mac, our_mac, 6);
	if (arp_create(&cfg, &c, NULL) != 0)
		abort();
	return c;
}

static void check_bounds(const struct arp_cache *c)
{
	const struct arp_counters *k = arp_counters(c);

	if (k->entries > CAPACITY || k->pending > PENDING)
		abort();
}

static void input(struct arp_cache *c, uint8_t *buf, size_t len, uint32_t now)
{
	struct arp_msg m;
	size_t rl;

	if (arp_input(c, buf, len, BUF, now, &rl) != ARP_OK || !rl)
		return;
	/* A reply we made: well-formed, from our address, to the requester. */
	if (rl > BUF || arp_parse(&m, buf, rl) != ARP_OK || m.op != ARP_OP_REPLY ||
	    m.spa != addr(1) || memcmp(m.sha, our_mac, 6) || memcmp(m.eth_dst, m.tha, 6))
		abort();
}

/* An ARP frame from the script: op, sender/target last bytes, MAC byte. */
static size_t template(uint8_t *buf, const uint8_t *b, size_t n)
{
	uint8_t sha[6] = {0x02, 0, 0, 0, 0, 0};
	uint16_t op;

	if (n < 5)
		return 0;
	op = (uint16_t)(b[0] % 3);
	sha[5] = b[3];
	if (b[4] & 1)
		sha[0] = b[4]; /* sometimes a group or odd MAC */
	return arp_build(buf, BUF, (uint16_t)(b[4] & 2 ? 5 : 0), op, (b[4] & 4) ? our_mac : bcast,
			 sha, b[1] ? addr(b[1]) : 0, NULL, addr(b[2]));
}

static void run_script(struct arp_cache *c, const uint8_t *d, size_t n)
{
	uint8_t buf[BUF], out[BUF], mac[6];
	uint32_t now = 0;
	size_t i = 0;

	while (n - i >= 3) {
		uint8_t op = d[i] % OP_COUNT, step = d[i + 1], len = d[i + 2];
		const uint8_t *b = d + i + 3;
		size_t avail = n - i - 3, take = len < avail ? len : avail;
		size_t fl;
		unsigned r;

		i += 3 + take;
		now += (uint32_t)step * 97; /* up to ~25 s per step */
		switch (op) {
		case OP_INPUT:
			memcpy(buf, b, take);
			input(c, buf, take, now);
			break;
		case OP_TEMPLATE:
			fl = template(buf, b, take);
			if (fl)
				input(c, buf, fl, now);
			break;
		case OP_RESOLVE:
			memset(buf, 0, 64);
			buf[40] = take ? b[0] : 0;
			r = arp_resolve(c, addr(take ? b[0] : 0), now, buf,
					take > 1 ? (size_t)b[1] : 64, mac);
			if ((r & ARP_RESOLVED) && (r & (ARP_QUEUED | ARP_DROPPED)))
				abort();
			if ((r & ARP_SEND_REQUEST) &&
			    arp_request_for(c, addr(take ? b[0] : 0), out, BUF) == 0)
				abort();
			break;
		case OP_POLL:
			for (unsigned k = 0; k <= CAPACITY; k++) {
				struct arp_msg m;

				fl = arp_poll(c, now, out, BUF);
				if (!fl)
					break;
				if (arp_parse(&m, out, fl) != ARP_OK || m.op != ARP_OP_REQUEST)
					abort();
				if (k == CAPACITY)
					abort(); /* more requests than entries in one round */
			}
			break;
		default: /* OP_RELEASE */
			while ((fl = arp_release_next(c, out, take ? (size_t)b[0] * 2 : BUF)))
				if (fl > FRAME_MAX || (out[0] & 1))
					abort(); /* held frames go to a learned unicast MAC */
			break;
		}
		check_bounds(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct arp_cache *c;
	uint8_t buf[BUF];

	if (n > BUF)
		n = BUF;
	parse_exact(d, n);
	c = make_cache();
	memcpy(buf, d, n);
	input(c, buf, n, 0); /* the raw input as one frame */
	run_script(c, d, n);
	arp_destroy(c);
	return 0;
}
