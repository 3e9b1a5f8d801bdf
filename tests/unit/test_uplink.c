/* test_uplink.c - the kernel's view of the WAN (src/uplink/): rtnetlink
 * messages as the kernel sends them, built with libmnl, fed to a view
 * without a socket: the address and gateway a whole dump gives, events
 * that ask for a new dump, the neighbours, what it ignores. */
#include "test.h"
#include "../../src/pkt/pkt.h"
#include "../../src/uplink/uplink.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

enum { IFX = 5, OTHER = 7 };

struct msgs {
	_Alignas(4) uint8_t buf[8192];
	size_t len;
};

static struct nlmsghdr *put(struct msgs *m, uint16_t type, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->buf + m->len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = seq;
	return nlh;
}

static void done(struct msgs *m, struct nlmsghdr *nlh)
{
	m->len += nlh->nlmsg_len;
}

static void addr(struct msgs *m, uint16_t type, uint32_t seq, int ifindex, uint32_t ip,
		 uint8_t prefix, uint8_t flags)
{
	struct nlmsghdr *nlh = put(m, type, seq);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_flags = flags;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &ip);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, &ip);
	done(m, nlh);
}

static void route(struct msgs *m, uint16_t type, uint32_t seq, int oif, uint32_t gw,
		  uint32_t metric, uint8_t table)
{
	struct nlmsghdr *nlh = put(m, type, seq);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));

	rt->rtm_family = AF_INET;
	rt->rtm_table = table;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	mnl_attr_put(nlh, RTA_GATEWAY, 4, &gw);
	done(m, nlh);
}

static void neigh(struct msgs *m, uint16_t type, uint32_t seq, uint32_t ip, const uint8_t *mac,
		  uint16_t state)
{
	struct nlmsghdr *nlh = put(m, type, seq);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));

	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = IFX;
	nd->ndm_state = state;
	mnl_attr_put(nlh, NDA_DST, 4, &ip);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	done(m, nlh);
}

static void end(struct msgs *m, uint32_t seq)
{
	struct nlmsghdr *nlh = put(m, NLMSG_DONE, seq);

	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	done(m, nlh);
}

static unsigned feed(struct uplink *u, struct msgs *m)
{
	unsigned changed = uplink_input(u, m->buf, m->len);

	m->len = 0;
	return changed;
}

struct seen {
	unsigned calls;
	uint32_t ip;
	uint8_t mac[6];
	bool usable;
};

static void on_neigh(void *ctx, uint32_t ip, const uint8_t mac[6], bool usable)
{
	struct seen *s = ctx;

	s->calls++;
	s->ip = ip;
	memcpy(s->mac, mac, 6);
	s->usable = usable;
}

#define A50 pkt_ipv4(203, 0, 113, 50)
#define A60 pkt_ipv4(203, 0, 113, 60)
#define GW1 pkt_ipv4(203, 0, 113, 1)
#define GW2 pkt_ipv4(203, 0, 113, 254)

/* The start: addresses, routes, neighbours, each a whole dump. */
static struct uplink *started(struct seen *seen)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0xfe};
	struct uplink *u = uplink_new(IFX, on_neigh, seen);
	struct msgs m = {.len = 0};

	uplink_refresh(u);
	CHECK(uplink_pending(u));
	uplink_run(u); /* begins dump 1: addresses */
	addr(&m, RTM_NEWADDR, 1, OTHER, pkt_ipv4(10, 0, 0, 1), 8, 0);
	addr(&m, RTM_NEWADDR, 1, IFX, A50, 24, 0);
	CHECK_EQ(feed(u, &m), 0); /* nothing until the dump is whole */
	CHECK_EQ(uplink_state(u)->addr, 0);
	end(&m, 1);
	CHECK_EQ(feed(u, &m), UPLINK_ADDR);
	uplink_run(u); /* dump 2: routes */
	route(&m, RTM_NEWROUTE, 2, IFX, GW1, 100, RT_TABLE_MAIN);
	route(&m, RTM_NEWROUTE, 2, IFX, GW2, 50, RT_TABLE_MAIN); /* lower metric wins */
	route(&m, RTM_NEWROUTE, 2, OTHER, pkt_ipv4(10, 0, 0, 254), 0, RT_TABLE_MAIN);
	route(&m, RTM_NEWROUTE, 2, IFX, pkt_ipv4(203, 0, 113, 9), 0, 100); /* another table */
	end(&m, 2);
	CHECK_EQ(feed(u, &m), UPLINK_GATEWAY);
	uplink_run(u); /* dump 3: neighbours */
	neigh(&m, RTM_NEWNEIGH, 3, GW2, mac, NUD_REACHABLE);
	end(&m, 3);
	CHECK_EQ(feed(u, &m), 0);
	CHECK(!uplink_pending(u));
	return u;
}

TEST(uplink_start_reads_address_prefix_gateway_and_neighbours)
{
	struct seen seen = {0};
	struct uplink *u = started(&seen);

	CHECK_EQ(uplink_state(u)->addr, A50);
	CHECK_EQ(uplink_state(u)->prefix_len, 24);
	CHECK_EQ(uplink_state(u)->mask, pkt_ipv4(255, 255, 255, 0));
	CHECK_EQ(uplink_state(u)->gateway, GW2);
	CHECK_EQ(seen.calls, 1);
	CHECK_EQ(seen.ip, GW2);
	CHECK(seen.usable);
	CHECK_EQ(seen.mac[5], 0xfe);
	CHECK_EQ(uplink_counters(u)->dumps, 3);
	CHECK_EQ(uplink_counters(u)->addr_changes, 1);
	uplink_close(u);
}

TEST(uplink_address_events_ask_a_dump_whose_result_counts)
{
	struct seen seen = {0};
	struct uplink *u = started(&seen);
	struct msgs m = {.len = 0};

	/* Another interface's address: not ours to look at. */
	addr(&m, RTM_NEWADDR, 0, OTHER, pkt_ipv4(10, 0, 0, 2), 8, 0);
	feed(u, &m);
	CHECK(!uplink_pending(u));
	/* The DHCP client adds the new address, then removes the old one. */
	addr(&m, RTM_NEWADDR, 77, IFX, A60, 24, IFA_F_SECONDARY);
	CHECK_EQ(feed(u, &m), 0);
	CHECK(uplink_pending(u));
	uplink_run(u); /* dump 4 */
	addr(&m, RTM_NEWADDR, 4, IFX, A50, 24, 0);
	addr(&m, RTM_NEWADDR, 4, IFX, A60, 24, IFA_F_SECONDARY);
	end(&m, 4);
	CHECK_EQ(feed(u, &m), 0); /* the address in use is still there: kept */
	CHECK_EQ(uplink_state(u)->addr, A50);
	addr(&m, RTM_DELADDR, 78, IFX, A50, 24, 0);
	feed(u, &m);
	uplink_run(u);				   /* dump 5 */
	addr(&m, RTM_NEWADDR, 5, IFX, A60, 24, 0); /* promoted */
	end(&m, 5);
	CHECK_EQ(feed(u, &m), UPLINK_ADDR);
	CHECK_EQ(uplink_state(u)->addr, A60);
	/* Released: none left. */
	addr(&m, RTM_DELADDR, 79, IFX, A60, 24, 0);
	feed(u, &m);
	uplink_run(u); /* dump 6 */
	end(&m, 6);
	CHECK_EQ(feed(u, &m), UPLINK_ADDR);
	CHECK_EQ(uplink_state(u)->addr, 0);
	CHECK_EQ(uplink_state(u)->mask, 0);
	CHECK_EQ(uplink_counters(u)->addr_changes, 3);
	uplink_close(u);
}

TEST(uplink_route_events_follow_the_default_gateway)
{
	struct seen seen = {0};
	struct uplink *u = started(&seen);
	struct msgs m = {.len = 0};

	route(&m, RTM_DELROUTE, 90, IFX, GW2, 50, RT_TABLE_MAIN);
	feed(u, &m);
	uplink_run(u); /* dump 4 */
	route(&m, RTM_NEWROUTE, 4, IFX, GW1, 100, RT_TABLE_MAIN);
	end(&m, 4);
	CHECK_EQ(feed(u, &m), UPLINK_GATEWAY);
	CHECK_EQ(uplink_state(u)->gateway, GW1);
	route(&m, RTM_DELROUTE, 91, IFX, GW1, 100, RT_TABLE_MAIN);
	feed(u, &m);
	uplink_run(u); /* dump 5: no default route left */
	end(&m, 5);
	CHECK_EQ(feed(u, &m), UPLINK_GATEWAY);
	CHECK_EQ(uplink_state(u)->gateway, 0);
	uplink_close(u);
}

TEST(uplink_a_dump_interrupted_or_refused_is_asked_again)
{
	struct seen seen = {0};
	struct uplink *u = started(&seen);
	struct msgs m = {.len = 0};
	struct nlmsghdr *nlh;

	addr(&m, RTM_NEWADDR, 0, IFX, A60, 24, 0);
	feed(u, &m);
	uplink_run(u); /* dump 4, interrupted: a change raced it */
	addr(&m, RTM_NEWADDR, 4, IFX, A60, 24, 0);
	nlh = (struct nlmsghdr *)(void *)m.buf;
	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	end(&m, 4);
	CHECK_EQ(feed(u, &m), 0);
	CHECK_EQ(uplink_state(u)->addr, A50);
	CHECK(uplink_pending(u));
	uplink_run(u); /* dump 5: refused */
	nlh = put(&m, NLMSG_ERROR, 5);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nlmsgerr));
	done(&m, nlh);
	CHECK_EQ(feed(u, &m), 0);
	CHECK_EQ(uplink_counters(u)->errors, 1);
	CHECK(uplink_pending(u));
	uplink_run(u); /* dump 6 */
	addr(&m, RTM_NEWADDR, 6, IFX, A60, 24, 0);
	end(&m, 6);
	CHECK_EQ(feed(u, &m), UPLINK_ADDR);
	CHECK_EQ(uplink_state(u)->addr, A60);
	uplink_close(u);
}

TEST(uplink_neighbour_events_and_garbage)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};
	struct seen seen = {0};
	struct uplink *u = started(&seen);
	struct msgs m = {.len = 0};

	neigh(&m, RTM_NEWNEIGH, 0, GW1, NULL, NUD_INCOMPLETE);
	feed(u, &m);
	CHECK_EQ(seen.calls, 2);
	CHECK(!seen.usable);
	neigh(&m, RTM_NEWNEIGH, 0, GW1, mac, NUD_STALE);
	feed(u, &m);
	CHECK(seen.usable);
	CHECK_EQ(seen.ip, GW1);
	neigh(&m, RTM_DELNEIGH, 0, GW1, mac, NUD_STALE);
	feed(u, &m);
	CHECK(!seen.usable);
	/* Truncated and random bytes: skipped, nothing changes. */
	uint32_t junk[16]; /* aligned as the kernel's messages */
	for (unsigned round = 0; round < 200; round++) {
		for (unsigned i = 0; i < 16; i++)
			junk[i] = (uint32_t)test_rand();
		if (round % 2)
			junk[0] = (uint32_t)(test_rand() % 80); /* a length that may fit */
		for (size_t len = 0; len <= sizeof(junk); len += 4)
			uplink_input(u, junk, len);
	}
	CHECK_EQ(uplink_state(u)->addr, A50);
	addr(&m, RTM_NEWADDR, 0, IFX, A60, 24, 0);
	struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)m.buf;
	nlh->nlmsg_len = sizeof(*nlh) + 2; /* shorter than its ifaddrmsg */
	CHECK_EQ(uplink_input(u, m.buf, nlh->nlmsg_len), 0);
	CHECK_EQ(uplink_state(u)->addr, A50);
	uplink_close(u);
}
