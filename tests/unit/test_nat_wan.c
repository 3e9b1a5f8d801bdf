/* test_nat_wan.c - the WAN address changes under a running NAT (shared
 * uplink mode, issue 11: a DHCP client renumbers the host): new mappings
 * use the new address at once; the sessions on the old one end, counted,
 * with their fast-path entries; with no address, LAN traffic out is a
 * counted drop until one comes back; sessions caught moving between two
 * workers end too; port mappings follow the address. */
#include "nat_env.h"
#include "test.h"

#include <errno.h>
#include <string.h>

static uint32_t wan2(void)
{
	return pkt_ipv4(198, 51, 100, 77);
}

/* A UDP packet LAN -> remote through the NAT: its verdict; *src the
 * translated source. */
static uint8_t udp_out(struct env *e, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp,
		       uint32_t now, uint32_t *src, uint16_t *ext)
{
	struct frame f;

	frame_udp(&f, PKT_SIDE_LAN, la, lp, ra, rp);
	uint8_t v = route(e, &f, now);
	if (src)
		*src = f.p.saddr;
	if (ext)
		*ext = f.p.sport;
	return v;
}

static uint8_t udp_in(struct env *e, uint32_t ra, uint16_t rp, uint32_t to, uint16_t ext,
		      uint32_t now)
{
	struct frame f;

	frame_udp(&f, PKT_SIDE_WAN, ra, rp, to, ext);
	return route(e, &f, now);
}

static uint8_t tcp_out(struct env *e, uint16_t lp, uint8_t flags, uint32_t now, uint32_t *src)
{
	struct frame f;

	frame_tcp(&f, PKT_SIDE_LAN, lan(10), lp, remote(1), 80, flags);
	uint8_t v = route(e, &f, now);
	if (src)
		*src = f.p.saddr;
	return v;
}

static void sync_all(struct env *e)
{
	for (unsigned i = 0; i < e->workers; i++)
		nat_worker_sync(wk(e, i));
}

TEST(nat_wan_renumber_ends_old_sessions_counted_new_ones_use_new_address)
{
	struct env e;
	uint32_t src;
	uint16_t ext[8];

	env_open(&e, 2, NULL, NULL);
	CHECK_EQ(nat_wan_addr(e.nat), wan());
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(udp_out(&e, lan(10 + i), 5000, remote(1), 53, 1, &src, &ext[i]),
			 PKT_TO_WAN);
		CHECK_EQ(src, wan());
	}
	CHECK_EQ(tcp_out(&e, 40000, PKT_TCP_SYN, 1, &src), PKT_TO_WAN);
	CHECK_EQ(TOTAL(&e, sessions), 9);

	CHECK_EQ(nat_set_wan_addr(e.nat, wan2()), 0);
	CHECK_EQ(nat_wan_addr(e.nat), wan2());
	sync_all(&e);
	/* Every session on the old address ended, and was counted. */
	CHECK_EQ(TOTAL(&e, sessions), 0);
	CHECK_EQ(TOTAL(&e, sessions_renumbered), 9);
	tick(&e, 2);
	tick(&e, 3);
	/* Replies to the old address are no longer ours; none half-works. */
	CHECK_EQ(udp_in(&e, remote(1), 53, wan(), ext[0], 3), PKT_DROP);
	/* The same internal endpoint goes out again from the new address. */
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 3, &src, &ext[0]), PKT_TO_WAN);
	CHECK_EQ(src, wan2());
	CHECK_EQ(udp_in(&e, remote(1), 53, wan2(), ext[0], 3), PKT_TO_LAN);
	/* A TCP segment of the old connection opens nothing (RFC 6146 3.5.2):
	 * its endpoints see it fail at once instead of hanging. */
	CHECK_EQ(tcp_out(&e, 40000, PKT_TCP_ACK, 3, NULL), PKT_DROP);
	CHECK_EQ(tcp_out(&e, 40001, PKT_TCP_SYN, 3, &src), PKT_TO_WAN);
	CHECK_EQ(src, wan2());
	CHECK_EQ(TOTAL(&e, sessions_renumbered), 9); /* the new ones stay */
	CHECK_EQ(TOTAL(&e, sessions), 2);
	env_close(&e);
}

TEST(nat_wan_same_address_again_ends_nothing)
{
	struct env e;

	env_open(&e, 1, NULL, NULL);
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 1, NULL, NULL), PKT_TO_WAN);
	CHECK_EQ(nat_set_wan_addr(e.nat, wan()), 0);
	sync_all(&e);
	CHECK_EQ(TOTAL(&e, sessions), 1);
	CHECK_EQ(TOTAL(&e, sessions_renumbered), 0);
	env_close(&e);
}

TEST(nat_wan_no_address_drops_counted_then_resumes)
{
	struct env e;
	uint32_t src;
	uint16_t ext;

	env_open(&e, 2, NULL, NULL);
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 1, NULL, NULL), PKT_TO_WAN);
	CHECK_EQ(nat_set_wan_addr(e.nat, 0), 0);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ(udp_out(&e, lan(10 + i), 5000, remote(1), 53, 2, NULL, NULL), PKT_DROP);
	CHECK_EQ(TOTAL(&e, drop[NAT_DROP_NO_WAN_ADDR]), 5);
	CHECK_EQ(TOTAL(&e, sessions_renumbered), 1);
	CHECK_EQ(TOTAL(&e, sessions), 0);
	CHECK_EQ(TOTAL(&e, mappings_created), 1);
	/* The gateway itself stays reachable from the LAN (DHCP, DNS). */
	struct frame f;
	frame_udp(&f, PKT_SIDE_LAN, lan(10), 5000, lan(1), 53);
	CHECK_EQ(route(&e, &f, 2), PKT_TO_HOST);
	/* An address comes back: traffic resumes from it. */
	CHECK_EQ(nat_set_wan_addr(e.nat, wan2()), 0);
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 3, &src, &ext), PKT_TO_WAN);
	CHECK_EQ(src, wan2());
	CHECK_EQ(udp_in(&e, remote(1), 53, wan2(), ext, 3), PKT_TO_LAN);
	CHECK_EQ(TOTAL(&e, drop[NAT_DROP_NO_WAN_ADDR]), 5);
	env_close(&e);
}

TEST(nat_wan_port_mapping_follows_the_address)
{
	struct nat_config nc;
	struct env e;
	struct frame f;

	nat_config_default(&nc, wan());
	nc.n_static = 1;
	nc.statics[0] = (struct nat_static_map){PKT_PROTO_UDP, 8080, lan(20), 80};
	env_open(&e, 2, &nc, NULL);
	frame_udp(&f, PKT_SIDE_WAN, remote(5), 999, wan(), 8080);
	CHECK_EQ(route(&e, &f, 1), PKT_TO_LAN);
	CHECK_EQ(nat_set_wan_addr(e.nat, wan2()), 0);
	frame_udp(&f, PKT_SIDE_WAN, remote(5), 999, wan(), 8080);
	CHECK_EQ(route(&e, &f, 2), PKT_DROP); /* the old address: gone */
	CHECK_EQ(TOTAL(&e, sessions_renumbered), 1);
	frame_udp(&f, PKT_SIDE_WAN, remote(5), 999, wan2(), 8080);
	CHECK_EQ(route(&e, &f, 2), PKT_TO_LAN);
	CHECK_EQ(f.p.daddr, lan(20));
	env_close(&e);
}

/* Sessions on their way from one worker to another when the address
 * changes: the importer ends them (they are on the old address), and the
 * mappings they held are freed, not leaked. */
TEST(nat_wan_renumber_during_a_move)
{
	struct rss_config rc, moved;
	struct rss_snapshot *next;
	const char *why = NULL;
	struct env e;

	rss_config_default(&rc, 2);
	env_open(&e, 2, NULL, &rc);
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ(udp_out(&e, lan(10 + i), 5000, remote(1), 53, 1, NULL, NULL), PKT_TO_WAN);
	CHECK_EQ(TOTAL(&e, sessions), 16);
	CHECK(cnt(&e, 1)->sessions > 0);
	/* RSS off: everything to worker 0. Worker 1 exports; worker 0 has
	 * not imported yet when the address changes. */
	moved = rc;
	moved.enabled = false;
	CHECK_EQ(rss_snapshot_create(&moved, 2, &next, &why), 0);
	CHECK_EQ(nat_set_snapshot(e.nat, next, &why), 0);
	nat_worker_sync(wk(&e, 1));
	CHECK(cnt(&e, 1)->sessions_migrated_out > 0);
	CHECK_EQ(nat_set_wan_addr(e.nat, wan2()), 0);
	nat_worker_sync(wk(&e, 0));
	nat_worker_sync(wk(&e, 1));
	nat_worker_sync(wk(&e, 0));
	CHECK(nat_migration_done(e.nat));
	CHECK_EQ(TOTAL(&e, sessions), 0);
	CHECK_EQ(TOTAL(&e, sessions_renumbered), 16);
	for (uint32_t t = 2; t < 6; t++)
		tick(&e, t);
	CHECK_EQ(TOTAL(&e, mappings_freed), 16);
	uint32_t src;
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 6, &src, NULL), PKT_TO_WAN);
	CHECK_EQ(src, wan2());
	env_close(&e);
	rss_snapshot_destroy(next);
}

/* ---- the fast path's entries go with their sessions ---- */

struct fake {
	struct nat_offload_flow flow[4];
	unsigned n;
	unsigned bad_removes;
};

static int fake_install(void *ctx, const struct nat_offload_flow *f)
{
	struct fake *k = ctx;

	if (k->n == 4)
		return -ENOSPC;
	k->flow[k->n++] = *f;
	return 0;
}

static bool same(const struct nat_offload_flow *a, const struct nat_offload_flow *b)
{
	return a->proto == b->proto && a->lan_addr == b->lan_addr && a->rem_addr == b->rem_addr &&
	       a->ext_addr == b->ext_addr && a->lan_port == b->lan_port &&
	       a->rem_port == b->rem_port && a->ext_port == b->ext_port;
}

static void fake_remove(void *ctx, const struct nat_offload_flow *f)
{
	struct fake *k = ctx;

	for (unsigned i = 0; i < k->n; i++)
		if (same(&k->flow[i], f)) {
			k->flow[i] = k->flow[--k->n];
			return;
		}
	k->bad_removes++; /* the key must be the one installed, old address included */
}

static bool fake_last_seen(void *ctx, const struct nat_offload_flow *f, uint32_t *sec)
{
	(void)ctx;
	(void)f;
	*sec = 0;
	return false;
}

static const struct nat_offload_ops fake_ops = {fake_install, fake_remove, fake_last_seen};

TEST(nat_wan_renumber_removes_offloaded_entries)
{
	struct fake fake;
	struct env e;
	uint16_t ext;

	memset(&fake, 0, sizeof(fake));
	env_open(&e, 1, NULL, NULL);
	nat_set_offload(e.nat, &fake_ops, &fake);
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 1, NULL, &ext), PKT_TO_WAN);
	CHECK_EQ(udp_in(&e, remote(1), 53, wan(), ext, 1), PKT_TO_LAN);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(fake.flow[0].ext_addr, wan());
	CHECK_EQ(nat_set_wan_addr(e.nat, wan2()), 0);
	nat_expire(wk(&e, 0), 2);
	CHECK_EQ(fake.n, 0);
	CHECK_EQ(fake.bad_removes, 0);
	CHECK_EQ(cnt(&e, 0)->offload_removals, 1);
	CHECK_EQ(cnt(&e, 0)->sessions_renumbered, 1);
	/* The new session goes on the fast path with the new address. */
	CHECK_EQ(udp_out(&e, lan(10), 5000, remote(1), 53, 3, NULL, &ext), PKT_TO_WAN);
	CHECK_EQ(udp_in(&e, remote(1), 53, wan2(), ext, 3), PKT_TO_LAN);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(fake.flow[0].ext_addr, wan2());
	env_close(&e);
}
