/* pm_server.c - the NAT-PMP/PCP server: socket, checks on arrival,
 * dispatch by version, epoch, announcements, counters (theory of
 * operation in pm_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "natpmp_wire.h"
#include "pcp_wire.h"
#include "pm_server_internal.h"
#include "portmap.h"

enum { BURST = 32, BUF = PCP_MSG_MAX + 4 };

static const char *const drop_names[] = {
#define PMS_DROP_NAME(name, text) #name,
    PMS_DROP_REASONS(PMS_DROP_NAME)
#undef PMS_DROP_NAME
};

size_t pms_drop(struct pm_server *s, enum pms_drop why)
{
	s->c.drop[why]++;
	return 0;
}

size_t pms_natpmp_answer(struct pm_server *s, unsigned code, size_t len)
{
	if (code < sizeof(s->c.natpmp_results) / sizeof(s->c.natpmp_results[0]))
		s->c.natpmp_results[code]++;
	return len;
}

size_t pms_pcp_answer(struct pm_server *s, unsigned code, size_t len)
{
	if (code < sizeof(s->c.pcp_results) / sizeof(s->c.pcp_results[0]))
		s->c.pcp_results[code]++;
	return len;
}

uint32_t pm_server_epoch(const struct pm_server *s, uint64_t now_ms)
{
	return (uint32_t)((now_ms - s->epoch_start_ms) / 1000);
}

const struct pms_counters *pm_server_counters(const struct pm_server *s)
{
	return &s->c;
}

static bool from_lan(const struct pm_server *s, uint32_t src)
{
	return (src & s->cfg.lan_mask) == (s->cfg.lan_net & s->cfg.lan_mask) &&
	       src != s->cfg.listen_addr;
}

/* RFC 6887 9: the version byte tells NAT-PMP (0) from PCP (2); any other
 * version gets PCP's UNSUPP_VERSION (from the PCP parser). A protocol
 * switched off: a PCP server answers NAT-PMP with UNSUPP_VERSION (9). */
size_t pm_server_handle(struct pm_server *s, uint32_t src, const uint8_t *buf, size_t len,
			uint64_t now_ms, uint8_t *out, size_t cap)
{
	bool natpmp = portmap_enabled(s->pm, PM_NATPMP), pcp = portmap_enabled(s->pm, PM_PCP);

	s->c.received++;
	if (!from_lan(s, src))
		return pms_drop(s, PMS_DROP_NOT_LAN);
	if (len < 1)
		return pms_drop(s, PMS_DROP_TRUNCATED);
	if (buf[0] == NATPMP_VERSION) {
		if (natpmp) {
			s->c.natpmp_requests++;
			return pms_natpmp(s, src, buf, len, now_ms, out, cap);
		}
		if (!pcp || len < 2 || buf[1] >= NATPMP_OP_RESPONSE)
			return pms_drop(s, PMS_DROP_DISABLED);
		return pms_natpmp_answer(s, NATPMP_UNSUPP_VERSION,
					 natpmp_build_error(out, cap, buf[1], NATPMP_UNSUPP_VERSION,
							    pm_server_epoch(s, now_ms)));
	}
	if (!pcp)
		return pms_drop(s, PMS_DROP_DISABLED);
	s->c.pcp_requests++;
	if (buf[0] != PCP_VERSION && len >= 4 && !(buf[1] & PCP_R_BIT))
		s->c.pcp_unsupp_version++;
	return pms_pcp(s, src, buf, len, now_ms, out, cap);
}

/* ---- announcements ---- */

static void schedule_announcements(struct pm_server *s, uint64_t now_ms)
{
	s->announce_left = s->cfg.announce_port ? PMS_ANNOUNCE_TIMES : 0;
	s->announce_next_ms = now_ms;
	s->announce_gap_ms = PMS_ANNOUNCE_FIRST_MS;
}

static void send_to(struct pm_server *s, const uint8_t *msg, size_t len, uint32_t addr,
		    uint16_t port)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = addr};

	if (s->fd < 0 || !len)
		return;
	if (sendto(s->fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&to, sizeof(to)) !=
	    (ssize_t)len)
		s->c.drop[PMS_DROP_SEND]++;
}

/* RFC 6886 3.2.1 and RFC 6887 14.1.3, to all hosts (224.0.0.1:5350). */
static void announce(struct pm_server *s, uint64_t now_ms)
{
	uint32_t all_hosts = htonl(0xe0000001), epoch = pm_server_epoch(s, now_ms);
	uint32_t wan = portmap_wan_addr(s->pm);
	uint8_t msg[PCP_HDR_LEN];

	if (portmap_enabled(s->pm, PM_NATPMP) && wan)
		send_to(s, msg, natpmp_build_addr(msg, sizeof(msg), NATPMP_SUCCESS, epoch, wan),
			all_hosts, s->cfg.announce_port);
	if (portmap_enabled(s->pm, PM_PCP))
		send_to(s, msg, pcp_build_announce(msg, sizeof(msg), epoch), all_hosts,
			s->cfg.announce_port);
	s->c.announcements++;
}

static void run_announcements(struct pm_server *s, uint64_t now_ms)
{
	if (!s->announce_left || now_ms < s->announce_next_ms)
		return;
	announce(s, now_ms);
	s->announce_left--;
	s->announce_next_ms = now_ms + s->announce_gap_ms;
	s->announce_gap_ms *= 2;
}

void pm_server_wan_changed(struct pm_server *s, uint32_t wan_addr, uint64_t now_ms)
{
	if (wan_addr == portmap_wan_addr(s->pm))
		return;
	portmap_set_wan_addr(s->pm, wan_addr);
	s->epoch_start_ms = now_ms; /* RFC 6886 3.6, RFC 6887 8.5 */
	schedule_announcements(s, now_ms);
}

uint64_t pm_server_next_ms(const struct pm_server *s)
{
	uint64_t next = portmap_next_expiry_ms(s->pm);

	if (s->announce_left && s->announce_next_ms < next)
		next = s->announce_next_ms;
	return next;
}

/* ---- the socket ---- */

/* The source, and whether it came in on the host interface. */
static bool arrival(const struct pm_server *s, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			return !s->ifindex || (unsigned)pi.ipi_ifindex == s->ifindex;
		}
	return false;
}

static void serve(struct pm_server *s, uint64_t now_ms)
{
	uint8_t in[BUF], out[BUF];
	char ctl[CMSG_SPACE(sizeof(struct in_pktinfo))];

	for (unsigned i = 0; i < BURST; i++) {
		struct sockaddr_in from;
		struct iovec iov = {.iov_base = in, .iov_len = sizeof(in)};
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return;
		if (!arrival(s, &mh)) {
			s->c.received++;
			pms_drop(s, PMS_DROP_NOT_LAN);
			continue;
		}
		size_t len = (size_t)n > sizeof(in) ? sizeof(in) : (size_t)n;
		size_t r =
		    pm_server_handle(s, from.sin_addr.s_addr, in, len, now_ms, out, sizeof(out));
		send_to(s, out, r, from.sin_addr.s_addr, ntohs(from.sin_port));
	}
}

static int open_socket(struct pm_server *s, const char **why)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(s->cfg.port),
				.sin_addr.s_addr = s->cfg.listen_addr};
	int one = 1, zero = 0;
	struct in_addr mif = {.s_addr = s->cfg.listen_addr};

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		*why = "socket() for NAT-PMP/PCP";
		return -errno;
	}
	(void)setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	(void)setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero));
	(void)setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif));
	if (s->cfg.dev[0] && setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->cfg.dev,
					(socklen_t)strlen(s->cfg.dev))) {
		*why = "cannot bind the NAT-PMP/PCP socket to the host interface";
		return -errno;
	}
	if (bind(s->fd, (const struct sockaddr *)&a, sizeof(a))) {
		*why = "cannot bind UDP port 5351 on the LAN address (NAT-PMP/PCP; another "
		       "server there? --natpmp off --pcp off)";
		return -errno;
	}
	return 0;
}

int pm_server_create_nosock(const struct pm_server_config *cfg, struct portmap *pm, uint64_t now_ms,
			    struct pm_server **out)
{
	struct pm_server *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->pm = pm;
	s->fd = -1;
	s->epoch_start_ms = now_ms;
	schedule_announcements(s, now_ms); /* after a restart: clients re-create (8.5) */
	*out = s;
	return 0;
}

int pm_server_create(const struct pm_server_config *cfg, struct portmap *pm, uint64_t now_ms,
		     struct pm_server **out, const char **why)
{
	struct pm_server *s;
	int err = pm_server_create_nosock(cfg, pm, now_ms, &s);

	if (err) {
		*why = "out of memory";
		return err;
	}
	s->ifindex = cfg->dev[0] ? if_nametoindex(cfg->dev) : 0;
	if ((err = open_socket(s, why))) {
		pm_server_destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

void pm_server_destroy(struct pm_server *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

unsigned pm_server_pollfds(const struct pm_server *s, struct pollfd *fds, unsigned max)
{
	if (s->fd < 0 || !max)
		return 0;
	fds[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	return 1;
}

void pm_server_run(struct pm_server *s, const struct pollfd *fds, unsigned n, uint64_t now_ms)
{
	if (n && (fds[0].revents & POLLIN))
		serve(s, now_ms);
	portmap_expire(s->pm, now_ms);
	run_announcements(s, now_ms);
}

/* ---- `show stats` ---- */

static void write_array(FILE *out, bool json, const char *name, const uint64_t *v, unsigned n,
			const char *(*label)(int))
{
	for (unsigned i = 0; i < n; i++) {
		if (!v[i] && !json)
			continue;
		fprintf(out, json ? ",\"%s_%s\":%" PRIu64 : " %s_%s=%" PRIu64, name, label((int)i),
			v[i]);
	}
}

static const char *natpmp_label(int code)
{
	static const char *const names[] = {"success",	       "unsupp_version", "not_authorized",
					    "network_failure", "no_resources",	 "unsupp_opcode"};
	return names[code];
}

static const char *pcp_label(int code)
{
	return pcp_result_name(code);
}

void pm_server_write_stats(const struct pm_server *s, FILE *out, bool json)
{
	const struct pms_counters *c = &s->c;

	fprintf(out,
		json ? ",\"natpmp_pcp\":{\"received\":%" PRIu64 ",\"natpmp_requests\":%" PRIu64
		       ",\"pcp_requests\":%" PRIu64 ",\"announcements\":%" PRIu64
		     : "natpmp/pcp: received=%" PRIu64 " natpmp_requests=%" PRIu64
		       " pcp_requests=%" PRIu64 " announcements=%" PRIu64,
		c->received, c->natpmp_requests, c->pcp_requests, c->announcements);
	for (unsigned i = 0; i < PMS_DROP_COUNT; i++)
		fprintf(out, json ? ",\"drop_%s\":%" PRIu64 : " drop_%s=%" PRIu64, drop_names[i],
			c->drop[i]);
	write_array(out, json, "natpmp", c->natpmp_results, 6, natpmp_label);
	write_array(out, json, "pcp", c->pcp_results, 14, pcp_label);
	fputs(json ? "}" : "\n", out);
}
