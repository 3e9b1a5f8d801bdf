/* nat_env.h - what the NAT's unit tests share: a NAT with its RSS snapshot,
 * frames built with pkt_build() and parsed, and the route a NIC would give
 * them (the worker RSS picks, then the handoffs to the owner). */
#ifndef RSSNAT_TEST_NAT_ENV_H
#define RSSNAT_TEST_NAT_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/nat/nat.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/rss/rss.h"

/* ---- addresses (RFC 5737 and the ICS LAN) ---- */

uint32_t wan(void);		/* the gateway's WAN address, 198.51.100.2 */
uint32_t lan(unsigned host);	/* 192.168.137.HOST */
uint32_t remote(unsigned host); /* 203.0.113.HOST */

/* ---- a NAT with its RSS snapshot ---- */

struct env {
	struct rss_snapshot *snap;
	struct nat *nat;
	unsigned workers;
};

/* env_open() - @nc NULL: nat_config_default() for wan(); @rc NULL: the
 * default RSS for @workers queues. */
void env_open(struct env *e, unsigned workers, const struct nat_config *nc,
	      const struct rss_config *rc);
void env_close(struct env *e);
struct nat_worker *wk(struct env *e, unsigned id);
const struct nat_counters *cnt(struct env *e, unsigned id);
/* Sum of one counter over all workers: TOTAL(e, field). */
uint64_t total_at(struct env *e, size_t off);
#define TOTAL(e, field) total_at((e), offsetof(struct nat_counters, field))
/* tick() - advance the clock: every worker's timers, then the janitor. */
void tick(struct env *e, uint32_t now);

/* ---- frames ---- */

enum { BUF = 2048 };

struct frame {
	uint8_t buf[BUF];
	struct pkt p;
	unsigned worker; /* where it was last processed */
};

bool frame_from_spec(struct frame *f, uint8_t side, const struct pkt_spec *s);
void frame_udp(struct frame *f, uint8_t side, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp);
void frame_tcp(struct frame *f, uint8_t side, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp,
	       uint8_t flags);

/* The worker a NIC would give the frame to. */
unsigned nic_worker(const struct env *e, const struct pkt *p);
/* run_on() - process on worker @w and follow handoffs: without a move, at
 * most one per direction, so two for a hairpinned packet (to A's owner,
 * then to B's); during one, up to NAT_HOPS_MAX. Returns the verdict. */
uint8_t run_on(struct env *e, unsigned w, struct frame *f, uint32_t now);
/* route() - as a NIC would: on the worker the RSS hash picks. */
uint8_t route(struct env *e, struct frame *f, uint32_t now);
/* reparse() - parse the frame again as the next hop would; all checksums
 * must hold. */
struct pkt reparse(const struct frame *f);

#endif
