/* uplink.c - the WAN interface's address, default gateway and neighbours,
 * read from the kernel and followed over rtnetlink with libmnl (see
 * uplink.h). */
#include "uplink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

enum {
	DUMP_ADDR = 1,
	DUMP_ROUTE = 2,
	DUMP_NEIGH = 4,
	DUMP_ALL = DUMP_ADDR | DUMP_ROUTE | DUMP_NEIGH,
	UPLINK_BUF = 65536,	 /* a dump's datagrams are up to 32 KiB */
	UPLINK_RCVBUF = 1 << 20, /* events of a busy neighbour table between two polls */
	UPLINK_START_MS = 2000,	 /* the start's dumps, at most */
	METRIC_NONE = UINT32_MAX,
};

struct uplink {
	struct mnl_socket *nl; /* NULL: fed by uplink_input() only */
	unsigned portid;
	int ifindex;
	uint32_t seq;
	uplink_neigh_fn neigh;
	void *ctx;
	struct uplink_state st;
	unsigned want;	   /* DUMP_*: dumps to ask for */
	unsigned busy;	   /* the DUMP_* in progress, 0: none */
	uint32_t busy_seq; /* its request's sequence number */
	bool redo;	   /* it was interrupted (NLM_F_DUMP_INTR): ask again */
	/* the dump in progress: what it found */
	bool keep;	       /* the address in use is still there ... */
	uint8_t keep_prefix;   /* ... with this prefix */
	uint32_t cand_addr;    /* else the first primary global address */
	uint8_t cand_prefix;   /* and its prefix */
	uint32_t cand_gateway; /* the default route of the lowest metric */
	uint32_t cand_metric;  /* METRIC_NONE: none yet */
	struct uplink_counters c;
	uint8_t *buf; /* UPLINK_BUF */
};

static uint32_t prefix_mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

/* ---- messages ---- */

struct attrs {
	const struct nlattr *a[32];
};

static int keep_attr(const struct nlattr *attr, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type < 32 && mnl_attr_type_valid(attr, 31) > 0)
		t->a[type] = attr;
	return MNL_CB_OK;
}

/* A 4-byte attribute as an IPv4 address (network order), else 0. */
static uint32_t attr_ip(const struct nlattr *a)
{
	uint32_t ip = 0;

	if (a && mnl_attr_get_payload_len(a) == 4)
		memcpy(&ip, mnl_attr_get_payload(a), 4);
	return ip;
}

static uint32_t attr_u32(const struct nlattr *a, uint32_t dflt)
{
	return a && mnl_attr_get_payload_len(a) == 4 ? mnl_attr_get_u32(a) : dflt;
}

/* An address of the dump: the one in use, or a candidate. */
static void addr_seen(struct uplink *u, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct attrs t = {{0}};
	uint32_t ip, flags;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)) || ifa->ifa_family != AF_INET ||
	    (int)ifa->ifa_index != u->ifindex || ifa->ifa_scope != RT_SCOPE_UNIVERSE ||
	    ifa->ifa_prefixlen > 32)
		return;
	mnl_attr_parse(nlh, sizeof(*ifa), keep_attr, &t);
	ip = attr_ip(t.a[IFA_LOCAL]) ? attr_ip(t.a[IFA_LOCAL]) : attr_ip(t.a[IFA_ADDRESS]);
	flags = attr_u32(t.a[IFA_FLAGS], ifa->ifa_flags);
	if (!ip)
		return;
	if (ip == u->st.addr) {
		u->keep = true;
		u->keep_prefix = ifa->ifa_prefixlen;
	} else if (!(flags & IFA_F_SECONDARY) && !u->cand_addr) {
		u->cand_addr = ip;
		u->cand_prefix = ifa->ifa_prefixlen;
	}
}

/* A default route of the main table through the interface, with a gateway. */
static void route_seen(struct uplink *u, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct attrs t = {{0}};
	uint32_t table, metric, gw;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rt)) || rt->rtm_family != AF_INET ||
	    rt->rtm_dst_len != 0 || rt->rtm_type != RTN_UNICAST)
		return;
	mnl_attr_parse(nlh, sizeof(*rt), keep_attr, &t);
	table = attr_u32(t.a[RTA_TABLE], rt->rtm_table);
	metric = attr_u32(t.a[RTA_PRIORITY], 0);
	gw = attr_ip(t.a[RTA_GATEWAY]);
	if (table != RT_TABLE_MAIN || (int)attr_u32(t.a[RTA_OIF], 0) != u->ifindex || !gw)
		return;
	if (u->cand_metric == METRIC_NONE || metric < u->cand_metric) {
		u->cand_metric = metric;
		u->cand_gateway = gw;
	}
}

static bool usable_state(uint16_t state)
{
	return state &
	       (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP);
}

static void neigh_seen(struct uplink *u, const struct nlmsghdr *nlh)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	static const uint8_t none[6];
	struct attrs t = {{0}};
	const uint8_t *mac = none;
	bool usable;
	uint32_t ip;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nd)) || nd->ndm_family != AF_INET ||
	    nd->ndm_ifindex != u->ifindex)
		return;
	mnl_attr_parse(nlh, sizeof(*nd), keep_attr, &t);
	if (!(ip = attr_ip(t.a[NDA_DST])))
		return;
	usable = nlh->nlmsg_type == RTM_NEWNEIGH && usable_state(nd->ndm_state) &&
		 t.a[NDA_LLADDR] && mnl_attr_get_payload_len(t.a[NDA_LLADDR]) == 6;
	if (usable)
		mac = mnl_attr_get_payload(t.a[NDA_LLADDR]);
	u->c.neigh_events++;
	if (u->neigh)
		u->neigh(u->ctx, ip, mac, usable);
}

/* ---- dumps ---- */

static void dump_begin(struct uplink *u, unsigned which)
{
	u->busy = which;
	u->redo = false;
	u->keep = false;
	u->cand_addr = u->cand_gateway = 0;
	u->cand_prefix = u->keep_prefix = 0;
	u->cand_metric = METRIC_NONE;
}

/* The whole dump is in: take what it found. */
static unsigned dump_end(struct uplink *u)
{
	unsigned which = u->busy, changed = 0;
	struct uplink_state next = u->st;

	u->busy = 0;
	if (u->redo) {
		u->want |= which; /* a change raced the dump: its view may be torn */
		return 0;
	}
	if (which == DUMP_ADDR) {
		next.addr = u->keep ? u->st.addr : u->cand_addr;
		next.prefix_len = u->keep ? u->keep_prefix : next.addr ? u->cand_prefix : 0;
		next.mask = next.addr ? prefix_mask(next.prefix_len) : 0;
		if (next.addr != u->st.addr || next.prefix_len != u->st.prefix_len) {
			changed |= UPLINK_ADDR;
			u->c.addr_changes++;
		}
	} else if (which == DUMP_ROUTE) {
		next.gateway = u->cand_gateway;
		if (next.gateway != u->st.gateway) {
			changed |= UPLINK_GATEWAY;
			u->c.gateway_changes++;
		}
	}
	u->st = next;
	return changed;
}

/* A message of the dump in progress. */
static unsigned dump_reply(struct uplink *u, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		u->redo = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_DONE:
		return dump_end(u);
	case NLMSG_ERROR:
		u->c.errors++;
		u->want |= u->busy; /* EBUSY and the like: again later */
		u->busy = 0;
		return 0;
	case RTM_NEWADDR:
		if (u->busy == DUMP_ADDR)
			addr_seen(u, nlh);
		return 0;
	case RTM_NEWROUTE:
		if (u->busy == DUMP_ROUTE)
			route_seen(u, nlh);
		return 0;
	case RTM_NEWNEIGH:
		neigh_seen(u, nlh);
		return 0;
	}
	return 0;
}

/* An event from the kernel: addresses and routes are dumped again, a
 * neighbour is taken as it is. */
static void event(struct uplink *u, const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
		if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*ifa)) && ifa->ifa_family == AF_INET &&
		    (int)ifa->ifa_index == u->ifindex)
			u->want |= DUMP_ADDR;
		break;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
		if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*rt)) && rt->rtm_family == AF_INET &&
		    rt->rtm_dst_len == 0)
			u->want |= DUMP_ROUTE;
		break;
	}
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		neigh_seen(u, nlh);
		break;
	}
}

unsigned uplink_input(struct uplink *u, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > INT32_MAX ? INT32_MAX : (int)len;
	unsigned changed = 0;

	/* mnl_nlmsg_ok() takes a length above 2^31 for a negative one: the
	 * kernel sends none, but this parser must not trust that. */
	for (; left >= (int)sizeof(*nlh) && nlh->nlmsg_len <= (uint32_t)left &&
	       mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		u->c.messages++;
		if (u->busy && nlh->nlmsg_seq == u->busy_seq && nlh->nlmsg_pid == u->portid)
			changed |= dump_reply(u, nlh);
		else if (!u->portid || nlh->nlmsg_pid != u->portid)
			event(u, nlh); /* ours with another seq: a stale dump's */
	}
	return changed;
}

/* Ask for the next dump that is due, if none is in progress. */
static void dump_next(struct uplink *u)
{
	static const unsigned order[] = {DUMP_ADDR, DUMP_ROUTE, DUMP_NEIGH};
	static const uint16_t type[] = {RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH};
	static const size_t extra[] = {sizeof(struct ifaddrmsg), sizeof(struct rtmsg),
				       sizeof(struct ndmsg)};
	uint8_t req[256]; /* a header and one family byte */

	for (unsigned i = 0; !u->busy && i < 3; i++) {
		if (!(u->want & order[i]))
			continue;
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
		nlh->nlmsg_type = type[i];
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = ++u->seq;
		/* ifa_family, rtm_family and ndm_family are each the first byte */
		uint8_t *family = mnl_nlmsg_put_extra_header(nlh, extra[i]);
		*family = AF_INET;
		/* Without a socket the dump is only begun: uplink_input() brings
		 * its replies (uplink.h). */
		if (u->nl && mnl_socket_sendto(u->nl, nlh, nlh->nlmsg_len) < 0)
			return; /* full: the flag stays, the next run asks again */
		u->want &= ~order[i];
		u->busy_seq = nlh->nlmsg_seq;
		u->c.dumps++;
		dump_begin(u, order[i]);
	}
}

unsigned uplink_run(struct uplink *u)
{
	unsigned changed = 0;
	ssize_t n;

	while (u->nl) {
		n = mnl_socket_recvfrom(u->nl, u->buf, UPLINK_BUF);
		if (n > 0) {
			changed |= uplink_input(u, u->buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			/* Events were lost: rebuild everything from dumps. */
			u->c.overruns++;
			u->want = DUMP_ALL;
			u->busy = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			/* A message cut short (ENOSPC from libmnl) or the like:
			 * what it said is unknown, so everything is read again. */
			u->c.errors++;
			u->want = DUMP_ALL;
			u->busy = 0;
		}
		break; /* EAGAIN: all read */
	}
	dump_next(u);
	return changed;
}

/* ---- the socket ---- */

struct uplink *uplink_new(int ifindex, uplink_neigh_fn neigh, void *ctx)
{
	struct uplink *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->ifindex = ifindex;
	u->neigh = neigh;
	u->ctx = ctx;
	return u;
}

static int subscribe(struct uplink *u)
{
	static const int groups[] = {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_NEIGH};
	int fd = mnl_socket_get_fd(u->nl), size = UPLINK_RCVBUF;

	if (mnl_socket_bind(u->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int group = groups[i];
		if (mnl_socket_setsockopt(u->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
			return -errno;
	}
	/* Best effort: ENOBUFS is handled anyway, only less often. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	u->portid = mnl_socket_get_portid(u->nl);
	return 0;
}

/* The start: every dump, read blocking (bounded by a receive timeout). */
static int read_all(struct uplink *u)
{
	struct timeval tv = {.tv_sec = UPLINK_START_MS / 1000};
	int fd = mnl_socket_get_fd(u->nl);
	ssize_t n;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	u->want = DUMP_ALL;
	for (dump_next(u); u->busy || u->want; dump_next(u)) {
		n = mnl_socket_recvfrom(u->nl, u->buf, UPLINK_BUF);
		if (n < 0 && errno == ENOBUFS) {
			u->want = DUMP_ALL;
			u->busy = 0;
		} else if (n <= 0)
			return n < 0 ? -errno : -EIO;
		else
			uplink_input(u, u->buf, (size_t)n);
	}
	u->c.addr_changes = u->c.gateway_changes = 0; /* the start is no change */
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) ? -errno : 0;
}

int uplink_open(int ifindex, uplink_neigh_fn neigh, void *ctx, struct uplink **out,
		const char **why)
{
	struct uplink *u = uplink_new(ifindex, neigh, ctx);
	int err;

	*out = NULL;
	if (!u || !(u->buf = malloc(UPLINK_BUF))) {
		uplink_close(u);
		*why = "out of memory";
		return -ENOMEM;
	}
	u->seq = (uint32_t)time(NULL); /* not the numbers of an earlier run's replies */
	u->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!u->nl || (err = subscribe(u))) {
		err = u->nl ? err : -errno;
		*why = "cannot open an rtnetlink socket for the WAN interface";
	} else if ((err = read_all(u))) {
		*why = "cannot read the WAN interface's address and routes over rtnetlink";
	}
	if (err) {
		uplink_close(u);
		return err;
	}
	*out = u;
	return 0;
}

void uplink_close(struct uplink *u)
{
	if (!u)
		return;
	if (u->nl)
		mnl_socket_close(u->nl);
	free(u->buf);
	free(u);
}

int uplink_fd(const struct uplink *u)
{
	return u->nl ? mnl_socket_get_fd(u->nl) : -1;
}

void uplink_refresh(struct uplink *u)
{
	u->want = DUMP_ALL;
}

bool uplink_pending(const struct uplink *u)
{
	return u->want && !u->busy;
}

const struct uplink_state *uplink_state(const struct uplink *u)
{
	return &u->st;
}

const struct uplink_counters *uplink_counters(const struct uplink *u)
{
	return &u->c;
}
