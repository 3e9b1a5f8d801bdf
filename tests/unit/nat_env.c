/* nat_env.c - the NAT unit tests' shared environment (see nat_env.h). */
#include "nat_env.h"

#include <string.h>

#include "test.h"

uint32_t wan(void)
{
	return pkt_ipv4(198, 51, 100, 2);
}

uint32_t lan(unsigned host)
{
	return pkt_ipv4(192, 168, 137, host);
}

uint32_t remote(unsigned host)
{
	return pkt_ipv4(203, 0, 113, host);
}

void env_open(struct env *e, unsigned workers, const struct nat_config *nc,
	      const struct rss_config *rc)
{
	struct rss_config cfg;
	struct nat_config def;
	const char *why = NULL;

	memset(e, 0, sizeof(*e));
	e->workers = workers;
	if (!rc) {
		rss_config_default(&cfg, workers);
		rc = &cfg;
	}
	if (!nc) {
		nat_config_default(&def, wan());
		nc = &def;
	}
	CHECK_EQ(rss_snapshot_create(rc, 1, &e->snap, &why), 0);
	CHECK_EQ(nat_create(nc, e->snap, workers, &e->nat, &why), 0);
}

void env_close(struct env *e)
{
	nat_destroy(e->nat);
	rss_snapshot_destroy(e->snap);
}

struct nat_worker *wk(struct env *e, unsigned id)
{
	return nat_worker(e->nat, id);
}

const struct nat_counters *cnt(struct env *e, unsigned id)
{
	return nat_worker_counters(nat_worker(e->nat, id));
}

uint64_t total_at(struct env *e, size_t off)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < e->workers; i++)
		sum += *(const uint64_t *)(const void *)((const uint8_t *)cnt(e, i) + off);
	return sum;
}

void tick(struct env *e, uint32_t now)
{
	for (unsigned i = 0; i < e->workers; i++)
		nat_expire(wk(e, i), now);
	nat_reclaim(e->nat);
}

bool frame_from_spec(struct frame *f, uint8_t side, const struct pkt_spec *s)
{
	size_t len = pkt_build(f->buf, BUF, s);

	if (!CHECK(len > 0))
		return false;
	if (!CHECK_EQ(pkt_parse(&f->p, f->buf, (uint16_t)len, BUF), PKT_OK))
		return false;
	f->p.side = side;
	return true;
}

void frame_udp(struct frame *f, uint8_t side, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp)
{
	static const uint8_t payload[] = "rssnat udp payload";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_UDP,
			     .sport = sp,
			     .dport = dp,
			     .payload = payload,
			     .payload_len = sizeof(payload),
			     .ip_id = 0x1234};

	frame_from_spec(f, side, &s);
}

void frame_tcp(struct frame *f, uint8_t side, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp,
	       uint8_t flags)
{
	static const uint8_t payload[] = "GET / HTTP/1.0\r\n";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_TCP,
			     .sport = sp,
			     .dport = dp,
			     .tcp_flags = flags,
			     .seq = 1000,
			     .ack = 2000,
			     .payload = payload,
			     .payload_len = sizeof(payload)};

	frame_from_spec(f, side, &s);
}

unsigned nic_worker(const struct env *e, const struct pkt *p)
{
	return e->snap->table[rss_bucket(e->snap, nat_packet_hash(e->snap, p))];
}

uint8_t run_on(struct env *e, unsigned w, struct frame *f, uint32_t now)
{
	struct pkt *pp = &f->p;

	f->worker = w;
	nat_process(wk(e, w), &pp, 1, now);
	for (int hops = 0; f->p.verdict == PKT_HANDOFF; hops++) {
		if (!CHECK(hops < NAT_HOPS_MAX) || !CHECK(f->p.to_worker < e->workers) ||
		    !CHECK(f->p.to_worker != f->worker))
			break;
		f->worker = f->p.to_worker;
		nat_process(wk(e, f->p.to_worker), &pp, 1, now);
	}
	return f->p.verdict;
}

uint8_t route(struct env *e, struct frame *f, uint32_t now)
{
	return run_on(e, nic_worker(e, &f->p), f, now);
}

struct pkt reparse(const struct frame *f)
{
	struct pkt q;

	CHECK_EQ(pkt_parse(&q, (uint8_t *)(uintptr_t)f->buf, f->p.len, BUF), PKT_OK);
	CHECK(pkt_checksums_ok(&q));
	return q;
}
