/* test_portmap.c - the port mapping service (src/portctl/portmap.h): the
 * policy every front end shares, lifetimes, renewal, limits, and external
 * ports steered into the internal host's home bucket; inbound packets to a
 * mapped port are translated to the host (through the NAT's real path). */
#include "test.h"
#include "nat_env.h"
#include "../../src/portctl/portmap.h"

#include <arpa/inet.h>
#include <string.h>

static struct portmap *open_pm(struct env *e, const struct pm_config *cfg)
{
	struct pm_config def;
	struct portmap *pm = NULL;
	const char *why = NULL;

	if (!cfg) {
		portmap_config_default(&def);
		cfg = &def;
	}
	CHECK_EQ(portmap_create(cfg, e->nat, lan(1), lan(0), htonl(0xffffff00), wan(), &pm, &why),
		 0);
	return pm;
}

static struct pm_request req(enum pm_origin o, uint8_t proto, unsigned host, uint16_t int_port,
			     uint16_t ext_port, uint32_t life)
{
	struct pm_request rq = {.proto = proto,
				.requester = lan(host),
				.int_addr = lan(host),
				.int_port = int_port,
				.ext_port = ext_port,
				.lifetime_s = life,
				.origin = o};
	snprintf(rq.desc, sizeof(rq.desc), "test %u", int_port);
	return rq;
}

TEST(portmap_maps_only_to_itself)
{
	struct env e;
	env_open(&e, 2, NULL, NULL);
	struct portmap *pm = open_pm(&e, NULL);
	struct pm_request rq = req(PM_PCP, 17, 10, 4000, 0, 600);
	struct pm_entry out;

	rq.int_addr = lan(11); /* another host */
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NOT_AUTHORIZED);
	rq = req(PM_UPNP, 6, 10, 4000, 5000, 600);
	rq.requester = htonl(0xcb007105); /* 203.0.113.5: not the LAN */
	rq.int_addr = rq.requester;
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NOT_AUTHORIZED);
	rq = req(PM_UPNP, 6, 1, 4000, 5000, 600); /* the gateway itself */
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NOT_AUTHORIZED);
	CHECK_EQ(portmap_count(pm), 0);
	CHECK_EQ(portmap_counters(pm)->results[PM_PCP][PM_NOT_AUTHORIZED], 1);
	CHECK_EQ(portmap_counters(pm)->results[PM_UPNP][PM_NOT_AUTHORIZED], 2);
	portmap_destroy(pm);
	env_close(&e);
}

TEST(portmap_add_renew_delete_expire)
{
	struct env e;
	env_open(&e, 2, NULL, NULL);
	struct portmap *pm = open_pm(&e, NULL);
	struct pm_request rq = req(PM_NATPMP, 17, 10, 4000, 4000, 10);
	struct pm_entry out, again, found;

	CHECK_EQ(portmap_add(pm, &rq, 1000, &out), PM_OK);
	CHECK_EQ(out.ext_port, 4000);		       /* the suggestion, free and allowed */
	CHECK_EQ(out.lifetime_s, PM_LIFE_MIN_DEFAULT); /* 10 s clamped up */
	CHECK(!nat_port_free(e.nat, 17, 4000));
	CHECK_EQ(portmap_find(pm, 17, 4000, &found), PM_OK);
	CHECK_EQ(found.origin, PM_NATPMP);
	/* Renewal keeps the port, moves the expiry. */
	rq.lifetime_s = 0; /* 0: the maximum (UPnP's lease 0) */
	CHECK_EQ(portmap_add(pm, &rq, 2000, &again), PM_OK);
	CHECK_EQ(again.ext_port, 4000);
	CHECK_EQ(again.lifetime_s, PM_LIFE_MAX_DEFAULT);
	CHECK_EQ(portmap_counters(pm)->renewed, 1);
	/* Another host cannot delete it; its own host can. */
	CHECK_EQ(portmap_delete(pm, 17, 4000, lan(11), PM_NATPMP), PM_NOT_AUTHORIZED);
	CHECK_EQ(portmap_delete(pm, 17, 4000, lan(10), PM_NATPMP), PM_OK);
	CHECK_EQ(portmap_find(pm, 17, 4000, &found), PM_NOT_FOUND);
	/* Expiry. */
	rq = req(PM_PCP, 6, 12, 5000, 0, 200);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
	CHECK_EQ(portmap_next_expiry_ms(pm), 200000);
	portmap_expire(pm, 199999);
	CHECK_EQ(portmap_count(pm), 1);
	portmap_expire(pm, 200000);
	CHECK_EQ(portmap_count(pm), 0);
	CHECK_EQ(portmap_counters(pm)->expired, 1);
	portmap_destroy(pm);
	env_close(&e);
}

TEST(portmap_pcp_nonce_and_conflicts)
{
	struct env e;
	env_open(&e, 2, NULL, NULL);
	struct portmap *pm = open_pm(&e, NULL);
	struct pm_request rq = req(PM_PCP, 6, 10, 4000, 0, 600), other;
	struct pm_entry out;
	struct nat_static_map sm = {
	    .proto = 6, .ext_port = 8080, .lan_addr = lan(20), .lan_port = 80};
	const char *why;

	memset(rq.nonce, 0xab, sizeof(rq.nonce));
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
	rq.nonce[0] ^= 1; /* RFC 6887 11.5: a different nonce is someone else */
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NOT_AUTHORIZED);
	/* A static mapping's port is never given out; UPnP wants it exactly. */
	CHECK_EQ(nat_static_add(e.nat, &sm, &why), 0);
	other = req(PM_UPNP, 6, 11, 4001, 8080, 600);
	other.ext_exact = true;
	CHECK_EQ(portmap_add(pm, &other, 0, &out), PM_CONFLICT);
	other.ext_exact = false; /* PCP/NAT-PMP: another port instead */
	CHECK_EQ(portmap_add(pm, &other, 0, &out), PM_OK);
	CHECK(out.ext_port != 8080);
	CHECK(out.ext_port >= 1024);
	/* Out of the allowed range. */
	other = req(PM_UPNP, 6, 11, 4002, 80, 600);
	other.ext_exact = true;
	CHECK_EQ(portmap_add(pm, &other, 0, &out), PM_BAD_PORT);
	/* Static ones are listed after the dynamic ones, and not deletable here. */
	CHECK_EQ(portmap_get(pm, 2, &out), PM_OK);
	CHECK_EQ(out.origin, PM_STATIC);
	CHECK_EQ(portmap_get(pm, 3, &out), PM_NOT_FOUND);
	CHECK_EQ(portmap_delete(pm, 6, 8080, 0, PM_UPNP), PM_NOT_FOUND);
	portmap_destroy(pm);
	env_close(&e);
}

TEST(portmap_limits_and_switches)
{
	struct env e;
	env_open(&e, 2, NULL, NULL);
	struct pm_config cfg;
	portmap_config_default(&cfg);
	cfg.per_host = 2;
	cfg.total = 3;
	cfg.natpmp = false;
	struct portmap *pm = open_pm(&e, &cfg);
	struct pm_request rq;
	struct pm_entry out;

	rq = req(PM_NATPMP, 6, 10, 4000, 0, 600);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_DISABLED);
	for (uint16_t p = 0; p < 2; p++) {
		rq = req(PM_PCP, 6, 10, (uint16_t)(4000 + p), 0, 600);
		CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
	}
	rq = req(PM_PCP, 6, 10, 4002, 0, 600);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NO_RESOURCES); /* per host */
	rq = req(PM_PCP, 6, 11, 4002, 0, 600);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
	rq = req(PM_PCP, 6, 12, 4002, 0, 600);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NO_RESOURCES); /* total */
	cfg.enabled = false;
	CHECK_EQ(portmap_set_config(pm, &cfg, &(const char *){NULL}), 0);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_DISABLED);
	portmap_destroy(pm);
	env_close(&e);
}

/* With the WAN side hashing the external endpoint (the afpacket fanout's
 * endpoint fields), every chosen port lands in the host's home bucket, and
 * an inbound packet to it is translated on the worker that received it. */
TEST(portmap_steers_inbound_to_home)
{
	struct env e;
	struct rss_config rc;
	rss_config_default(&rc, 4);
	rc.fields_lan = RSS_F_SRC_ADDR | RSS_F_SRC_PORT;
	rc.fields_wan = RSS_F_DST_ADDR | RSS_F_DST_PORT;
	env_open(&e, 4, NULL, &rc);
	struct portmap *pm = open_pm(&e, NULL);
	struct pm_entry out;
	unsigned in, home, steered = 0;

	for (unsigned h = 0; h < 40; h++) {
		struct pm_request rq = req(PM_PCP, 17, 10 + h, (uint16_t)(5000 + h), 0, 600);
		CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
		CHECK(nat_inbound_bucket(e.nat, 17, out.ext_port, lan(10 + h), out.int_port, &in,
					 &home));
		steered += out.steered && in == home;
		struct frame f;
		frame_udp(&f, PKT_SIDE_WAN, remote(7), 999, wan(), out.ext_port);
		unsigned first = nic_worker(&e, &f.p);
		CHECK_EQ(route(&e, &f, 1), PKT_TO_LAN);
		CHECK_EQ(f.worker, first); /* no handoff */
		struct pkt p = reparse(&f);
		CHECK_EQ(p.daddr, lan(10 + h));
		CHECK_EQ(p.dport, 5000 + h);
	}
	CHECK_EQ(steered, 40);
	CHECK_EQ(portmap_counters(pm)->steered, 40);
	portmap_destroy(pm);
	env_close(&e);
}

/* With 4-tuple hashing nothing can be steered for an unknown remote: the
 * service says so (steered false) and still maps. */
TEST(portmap_unsteerable_with_4tuple)
{
	struct env e;
	env_open(&e, 2, NULL, NULL);
	struct portmap *pm = open_pm(&e, NULL);
	struct pm_request rq = req(PM_PCP, 17, 10, 6000, 0, 600);
	struct pm_entry out;

	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
	CHECK(!out.steered);
	CHECK_EQ(out.ext_port, 6000); /* the internal port, free */
	CHECK_EQ(portmap_counters(pm)->unsteered, 1);
	portmap_destroy(pm);
	env_close(&e);
}

TEST(portmap_range_parse_and_check)
{
	uint16_t lo, hi;
	struct pm_config c;
	const char *why;

	CHECK_EQ(portmap_range_parse("1024-65535", &lo, &hi), 0);
	CHECK_EQ(lo, 1024);
	CHECK_EQ(hi, 65535);
	CHECK_EQ(portmap_range_parse("80", &lo, &hi), 0);
	CHECK_EQ(hi, 80);
	CHECK(portmap_range_parse("0-10", &lo, &hi) < 0);
	CHECK(portmap_range_parse("10-5", &lo, &hi) < 0);
	CHECK(portmap_range_parse("10-70000", &lo, &hi) < 0);
	CHECK(portmap_range_parse("10-", &lo, &hi) < 0);
	CHECK(portmap_range_parse("", &lo, &hi) < 0);
	portmap_config_default(&c);
	CHECK_EQ(portmap_config_check(&c, &why), 0);
	c.life_min = c.life_max + 1;
	CHECK(portmap_config_check(&c, &why) < 0);
}

/* No WAN address (shared uplink mode, the kernel has none): nothing to map
 * to, for every front end alike; the refusal is counted. */
TEST(portmap_no_wan_addr_refused)
{
	struct env e;
	env_open(&e, 2, NULL, NULL);
	struct portmap *pm = open_pm(&e, NULL);
	struct pm_request rq = req(PM_UPNP, 6, 10, 4000, 4000, 600);
	struct pm_entry out;

	portmap_set_wan_addr(pm, 0);
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_NO_WAN_ADDR);
	CHECK_EQ(portmap_count(pm), 0);
	CHECK(nat_port_free(e.nat, 6, 4000));
	CHECK_EQ(portmap_counters(pm)->results[PM_UPNP][PM_NO_WAN_ADDR], 1);
	CHECK(!strcmp(portmap_result_name(PM_NO_WAN_ADDR), "no_wan_addr"));
	portmap_set_wan_addr(pm, wan());
	CHECK_EQ(portmap_add(pm, &rq, 0, &out), PM_OK);
	portmap_destroy(pm);
	env_close(&e);
}
