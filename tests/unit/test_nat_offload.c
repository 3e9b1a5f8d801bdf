/* test_nat_offload.c - what the NAT puts on the kernel fast path and when it
 * takes it off (nat.h, "The kernel fast path"), against a fake table in
 * place of the BPF maps: installed when established both ways, removed on
 * FIN/RST, on disable (lazily) and at expiry; kept alive by the fast path's
 * last-seen time; a full table leaves the session in user space. */
#include "test.h"
#include "../../src/nat/nat.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/rss/rss.h"

#include <errno.h>
#include <string.h>

enum { BUF = 2048, FAKE_MAX = 8 };

struct fake {
	struct nat_offload_flow flow[FAKE_MAX];
	unsigned n;
	bool full;
	bool seen;     /* last_seen() answers */
	uint32_t last; /* with this time */
};

static bool same(const struct nat_offload_flow *a, const struct nat_offload_flow *b)
{
	return a->proto == b->proto && a->lan_addr == b->lan_addr && a->rem_addr == b->rem_addr &&
	       a->lan_port == b->lan_port && a->rem_port == b->rem_port &&
	       a->ext_port == b->ext_port && a->ext_addr == b->ext_addr;
}

static int fake_install(void *ctx, const struct nat_offload_flow *f)
{
	struct fake *k = ctx;

	if (k->full || k->n == FAKE_MAX)
		return -ENOSPC;
	k->flow[k->n++] = *f;
	return 0;
}

static void fake_remove(void *ctx, const struct nat_offload_flow *f)
{
	struct fake *k = ctx;

	for (unsigned i = 0; i < k->n; i++)
		if (same(&k->flow[i], f)) {
			k->flow[i] = k->flow[--k->n];
			return;
		}
	CHECK(!"removed a flow that was never installed");
}

static bool fake_last_seen(void *ctx, const struct nat_offload_flow *f, uint32_t *sec)
{
	struct fake *k = ctx;

	(void)f;
	*sec = k->last;
	return k->seen;
}

static const struct nat_offload_ops fake_ops = {fake_install, fake_remove, fake_last_seen};

struct env {
	struct rss_snapshot *snap;
	struct nat *nat;
	struct fake fake;
	uint8_t buf[BUF];
	struct pkt p;
};

static void env_open(struct env *e)
{
	struct rss_config rc;
	struct nat_config nc;
	const char *why = NULL;

	memset(e, 0, sizeof(*e));
	rss_config_default(&rc, 1);
	nat_config_default(&nc, pkt_ipv4(198, 51, 100, 2));
	CHECK_EQ(rss_snapshot_create(&rc, 1, &e->snap, &why), 0);
	CHECK_EQ(nat_create(&nc, e->snap, 1, &e->nat, &why), 0);
	nat_set_offload(e->nat, &fake_ops, &e->fake);
}

static void env_close(struct env *e)
{
	nat_destroy(e->nat);
	rss_snapshot_destroy(e->snap);
}

static const struct nat_counters *cnt(struct env *e)
{
	return nat_worker_counters(nat_worker(e->nat, 0));
}

#define LAN_HOST pkt_ipv4(192, 168, 137, 10)
#define REMOTE	 pkt_ipv4(203, 0, 113, 5)
#define WAN	 pkt_ipv4(198, 51, 100, 2)

/* One packet through the one worker; its verdict. */
static uint8_t send(struct env *e, uint8_t side, const struct pkt_spec *s, uint32_t now)
{
	size_t len = pkt_build(e->buf, BUF, s);
	struct pkt *pp = &e->p;

	CHECK(len > 0);
	CHECK_EQ(pkt_parse(&e->p, e->buf, (uint16_t)len, BUF), PKT_OK);
	e->p.side = side;
	nat_process(nat_worker(e->nat, 0), &pp, 1, now);
	return e->p.verdict;
}

static uint8_t tcp(struct env *e, bool from_lan, uint16_t ext, uint8_t flags, uint32_t now)
{
	struct pkt_spec s = {.proto = PKT_PROTO_TCP, .tcp_flags = flags, .seq = 1, .ack = 1};

	s.saddr = from_lan ? LAN_HOST : REMOTE;
	s.daddr = from_lan ? REMOTE : WAN;
	s.sport = from_lan ? 40000 : 80;
	s.dport = from_lan ? 80 : ext;
	return send(e, from_lan ? PKT_SIDE_LAN : PKT_SIDE_WAN, &s, now);
}

static uint8_t udp(struct env *e, bool from_lan, uint16_t ext, uint32_t now)
{
	static const uint8_t payload[] = "offload";
	struct pkt_spec s = {.proto = PKT_PROTO_UDP, .payload = payload, .payload_len = 7};

	s.saddr = from_lan ? LAN_HOST : REMOTE;
	s.daddr = from_lan ? REMOTE : WAN;
	s.sport = from_lan ? 5000 : 53;
	s.dport = from_lan ? 53 : ext;
	return send(e, from_lan ? PKT_SIDE_LAN : PKT_SIDE_WAN, &s, now);
}

TEST(offload_tcp_installed_after_the_handshake_removed_on_fin)
{
	struct env e;
	uint16_t ext;

	env_open(&e);
	CHECK_EQ(tcp(&e, true, 0, PKT_TCP_SYN, 10), PKT_TO_WAN);
	ext = e.p.sport;
	CHECK_EQ(e.fake.n, 0); /* half open: stays up */
	CHECK_EQ(tcp(&e, false, ext, PKT_TCP_SYN | PKT_TCP_ACK, 10), PKT_TO_LAN);
	CHECK_EQ(e.fake.n, 1);
	CHECK_EQ(cnt(&e)->offload_installs, 1);
	CHECK_EQ(e.fake.flow[0].lan_addr, LAN_HOST);
	CHECK_EQ(e.fake.flow[0].rem_addr, REMOTE);
	CHECK_EQ(e.fake.flow[0].ext_addr, WAN);
	CHECK_EQ(e.fake.flow[0].lan_port, 40000);
	CHECK_EQ(e.fake.flow[0].rem_port, 80);
	CHECK_EQ(e.fake.flow[0].ext_port, ext);
	CHECK_EQ(tcp(&e, true, 0, PKT_TCP_ACK, 11), PKT_TO_WAN); /* raced the install: no second */
	CHECK_EQ(cnt(&e)->offload_installs, 1);
	CHECK_EQ(tcp(&e, true, 0, PKT_TCP_FIN | PKT_TCP_ACK, 12), PKT_TO_WAN);
	CHECK_EQ(e.fake.n, 0);
	CHECK_EQ(cnt(&e)->offload_removals, 1);
	CHECK_EQ(tcp(&e, false, ext, PKT_TCP_FIN | PKT_TCP_ACK, 12), PKT_TO_LAN);
	CHECK_EQ(cnt(&e)->offload_installs, 1); /* closing: never again */
	env_close(&e);
}

TEST(offload_tcp_rst_takes_it_off)
{
	struct env e;
	uint16_t ext;

	env_open(&e);
	tcp(&e, true, 0, PKT_TCP_SYN, 10);
	ext = e.p.sport;
	tcp(&e, false, ext, PKT_TCP_SYN | PKT_TCP_ACK, 10);
	CHECK_EQ(e.fake.n, 1);
	CHECK_EQ(tcp(&e, false, ext, PKT_TCP_RST, 11), PKT_TO_LAN);
	CHECK_EQ(e.fake.n, 0);
	env_close(&e);
}

TEST(offload_udp_after_the_first_reply_kept_alive_by_the_fast_path)
{
	struct env e;
	uint16_t ext;

	env_open(&e);
	CHECK_EQ(udp(&e, true, 0, 100), PKT_TO_WAN);
	ext = e.p.sport;
	CHECK_EQ(e.fake.n, 0);
	CHECK_EQ(udp(&e, false, ext, 101), PKT_TO_LAN);
	CHECK_EQ(e.fake.n, 1);
	/* The kernel forwards it until 350; user space sees nothing more. */
	e.fake.seen = true;
	e.fake.last = 350;
	for (uint32_t t = 101; t <= 640; t++)
		nat_expire(nat_worker(e.nat, 0), t);
	CHECK_EQ(cnt(&e)->sessions, 1); /* 101 + 300 passed: alive by its last-seen */
	CHECK_EQ(cnt(&e)->offload_kept_alive, 1);
	CHECK_EQ(e.fake.n, 1);
	for (uint32_t t = 641; t <= 660; t++)
		nat_expire(nat_worker(e.nat, 0), t);
	CHECK_EQ(cnt(&e)->sessions, 0); /* 350 + 300 passed, nothing newer */
	CHECK_EQ(e.fake.n, 0);
	CHECK_EQ(cnt(&e)->offload_removals, 1);
	env_close(&e);
}

TEST(offload_disabled_drops_entries_lazily_and_enabled_puts_them_back)
{
	struct env e;
	uint16_t ext;

	env_open(&e);
	udp(&e, true, 0, 10);
	ext = e.p.sport;
	udp(&e, false, ext, 10);
	CHECK_EQ(e.fake.n, 1);
	nat_set_offload_enabled(e.nat, false);
	CHECK(!nat_offload_enabled(e.nat));
	CHECK_EQ(e.fake.n, 1); /* nothing until the session's next packet */
	CHECK_EQ(udp(&e, true, 0, 11), PKT_TO_WAN);
	CHECK_EQ(e.fake.n, 0);
	CHECK_EQ(udp(&e, false, ext, 11), PKT_TO_LAN); /* user space goes on */
	CHECK_EQ(e.fake.n, 0);
	nat_set_offload_enabled(e.nat, true);
	CHECK_EQ(udp(&e, false, ext, 12), PKT_TO_LAN);
	CHECK_EQ(e.fake.n, 1);
	CHECK_EQ(cnt(&e)->offload_installs, 2);
	env_close(&e);
}

TEST(offload_full_table_leaves_the_session_in_user_space)
{
	struct env e;
	uint16_t ext;

	env_open(&e);
	e.fake.full = true;
	udp(&e, true, 0, 10);
	ext = e.p.sport;
	CHECK_EQ(udp(&e, false, ext, 10), PKT_TO_LAN);
	CHECK_EQ(cnt(&e)->offload_full, 1);
	CHECK_EQ(e.fake.n, 0);
	e.fake.full = false; /* room again: the next packet installs it */
	CHECK_EQ(udp(&e, true, 0, 11), PKT_TO_WAN);
	CHECK_EQ(e.fake.n, 1);
	env_close(&e);
}

TEST(offload_icmp_echo_after_the_reply)
{
	struct env e;
	static const uint8_t payload[] = "ping";
	struct pkt_spec rq = {.saddr = LAN_HOST,
			      .daddr = REMOTE,
			      .proto = PKT_PROTO_ICMP,
			      .icmp_type = PKT_ICMP_ECHO,
			      .icmp_id = 777,
			      .icmp_seq = 1,
			      .payload = payload,
			      .payload_len = 4};
	struct pkt_spec rp = rq;

	env_open(&e);
	CHECK_EQ(send(&e, PKT_SIDE_LAN, &rq, 10), PKT_TO_WAN);
	rp.saddr = REMOTE;
	rp.daddr = WAN;
	rp.icmp_type = PKT_ICMP_ECHO_REPLY;
	rp.icmp_id = e.p.sport;
	CHECK_EQ(e.fake.n, 0);
	CHECK_EQ(send(&e, PKT_SIDE_WAN, &rp, 10), PKT_TO_LAN);
	CHECK_EQ(e.fake.n, 1);
	CHECK_EQ(e.fake.flow[0].proto, PKT_PROTO_ICMP);
	CHECK_EQ(e.fake.flow[0].lan_port, 777);
	CHECK_EQ(e.fake.flow[0].ext_port, rp.icmp_id);
	CHECK_EQ(e.fake.flow[0].rem_port, 0);
	env_close(&e);
}

TEST(offload_no_ops_no_fast_path)
{
	struct env e;

	env_open(&e);
	nat_set_offload(e.nat, NULL, NULL);
	CHECK(!nat_offload_enabled(e.nat));
	nat_set_offload_enabled(e.nat, true);
	CHECK(!nat_offload_enabled(e.nat));
	udp(&e, true, 0, 10);
	CHECK_EQ(udp(&e, false, e.p.sport, 10), PKT_TO_LAN); /* sport: the reply's, not ext */
	CHECK_EQ(cnt(&e)->offload_installs, 0);
	env_close(&e);
}
