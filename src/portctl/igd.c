/* igd.c - the IGD's sockets on the control thread: the HTTP server of the
 * descriptions and SOAP control, the SSDP socket, the NOTIFY timer, and
 * the counters (see igd.h for the theory of operation). */
#include "igd_internal.h"
#include "portmap.h"

#include "../core/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

struct igd_client {
	int fd; /* -1: free */
	uint32_t peer;
	uint64_t deadline_ms;
	bool writing;
	int poll_idx;
	size_t in_len, out_len, out_sent;
	char in[HTTP_REQ_MAX];
	char out[IGD_OUT_MAX];
};

struct igd {
	struct igd_config cfg;
	struct ssdp_device dev;
	int ssdp_fd, http_fd;
	int ifindex;		/* of cfg.dev, 0 if none (unit tests) */
	int ssdp_idx, http_idx; /* in the last igd_pollfds(), or -1 */
	uint64_t start_ms, next_notify_ms;
	struct ratelimit ssdp_limit;
	struct igd_counters cnt;
	struct igd_client client[IGD_CLIENTS_MAX];
};

/* ---- the LAN check ---- */

static bool from_lan(const struct igd *igd, uint32_t addr)
{
	return (addr & igd->cfg.lan_mask) == (igd->cfg.lan_addr & igd->cfg.lan_mask) &&
	       addr != igd->cfg.lan_addr && (addr | igd->cfg.lan_mask) != UINT32_MAX;
}

/* ---- HTTP ---- */

static void client_close(struct igd_client *c)
{
	close(c->fd);
	c->fd = -1;
}

static struct igd_client *free_client(struct igd *igd)
{
	for (unsigned i = 0; i < IGD_CLIENTS_MAX; i++)
		if (igd->client[i].fd < 0)
			return &igd->client[i];
	return NULL;
}

static void accept_some(struct igd *igd, uint64_t now)
{
	for (unsigned i = 0; i < IGD_CLIENTS_MAX; i++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		int fd = accept4(igd->http_fd, (struct sockaddr *)&sin, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct igd_client *c;

		if (fd < 0)
			return;
		if (!from_lan(igd, sin.sin_addr.s_addr)) {
			igd->cnt.http_not_lan++;
			close(fd);
		} else if (!(c = free_client(igd))) {
			igd->cnt.http_clients_full++;
			close(fd);
		} else {
			igd->cnt.http_accepted++;
			*c = (struct igd_client){.fd = fd,
						 .peer = sin.sin_addr.s_addr,
						 .deadline_ms = now + IGD_DEADLINE_MS,
						 .poll_idx = -1};
		}
	}
}

/* The whole answer to a parsed request into c->out; then it is written. */
static void answer(struct igd *igd, struct igd_client *c, const struct http_req *r,
		   enum http_parse st, uint64_t now)
{
	struct igd_buf out = {.p = c->out, .size = sizeof(c->out)};
	struct igd_soap_ctx ctx = {
	    .pm = igd->cfg.pm, .now_ms = now, .start_ms = igd->start_ms, .cnt = &igd->cnt};

	if (st == HTTP_REFUSED) {
		igd->cnt.http_refused[r->refusal]++;
		igd_http_error(&out, r->status);
	} else if (!igd_host_ok(r->host, igd->cfg.lan_addr)) {
		igd->cnt.http_bad_host++;
		igd_http_error(&out, 403);
	} else if (r->method == HTTP_GET) {
		if (igd_describe(&igd->dev, r->path, &out)) {
			igd->cnt.descriptions++;
		} else {
			igd->cnt.http_not_found++;
			igd_http_error(&out, 404);
		}
	} else {
		igd_soap_control(&ctx, r, c->in, c->peer, &out);
	}
	c->out_len = out.full ? 0 : out.len;
	c->out_sent = 0;
	c->writing = true;
	(void)shutdown(c->fd, SHUT_RD); /* one request per connection */
}

static void client_read(struct igd *igd, struct igd_client *c, uint64_t now)
{
	struct http_req r;
	enum http_parse st;
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		igd->cnt.http_truncated++; /* gone before its request was whole */
		client_close(c);
		return;
	}
	if (n < 0)
		return;
	c->in_len += (size_t)n;
	if ((st = http_req_parse(c->in, c->in_len, &r)) != HTTP_NEED_MORE)
		answer(igd, c, &r, st, now);
}

static void client_write(struct igd_client *c)
{
	ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);

	if (n > 0)
		c->out_sent += (size_t)n;
	if ((n < 0 && errno != EAGAIN && errno != EINTR) || c->out_sent >= c->out_len)
		client_close(c);
}

static void serve_clients(struct igd *igd, const struct pollfd *fds, unsigned n, uint64_t now)
{
	for (unsigned i = 0; i < IGD_CLIENTS_MAX; i++) {
		struct igd_client *c = &igd->client[i];
		short ev = c->fd >= 0 && c->poll_idx >= 0 && (unsigned)c->poll_idx < n
			       ? fds[c->poll_idx].revents
			       : 0;

		if (c->fd < 0)
			continue;
		if (now >= c->deadline_ms) {
			igd->cnt.http_timeouts++;
			client_close(c);
		} else if (c->writing && (ev & (POLLOUT | POLLERR | POLLHUP))) {
			client_write(c);
		} else if (!c->writing && (ev & (POLLIN | POLLERR | POLLHUP))) {
			client_read(igd, c, now);
		}
	}
}

/* ---- SSDP ---- */

static void ssdp_send(struct igd *igd, const char *msg, size_t len, uint32_t addr, uint16_t port)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = htons(port)};

	if (len &&
	    sendto(igd->ssdp_fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len)
		return;
	igd->cnt.ssdp_send_failed++;
}

static void announce(struct igd *igd, bool alive)
{
	char msg[SSDP_MSG_MAX];
	uint32_t group;

	inet_pton(AF_INET, SSDP_MULTICAST, &group);
	for (unsigned i = 0; i < SSDP_ADS; i++) {
		ssdp_send(igd, msg, ssdp_notify(&igd->dev, i, alive, msg, sizeof(msg)), group,
			  SSDP_PORT);
		igd->cnt.ssdp_notify++;
	}
}

/* The interface a datagram arrived on (IP_PKTINFO), or 0. */
static int arrival_ifindex(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			return pi.ipi_ifindex;
		}
	return 0;
}

static enum ssdp_drop ssdp_answer(struct igd *igd, const char *buf, size_t len,
				  const struct sockaddr_in *from)
{
	struct ssdp_search s;
	enum ssdp_drop d;
	char st[SSDP_ST_MAX], msg[SSDP_MSG_MAX];
	unsigned matched = 0;

	if ((d = ssdp_parse_search(buf, len, &s)))
		return d;
	for (unsigned i = 0; i < SSDP_ADS; i++) {
		if (!ssdp_match(&igd->dev, i, s.st, st, sizeof(st)))
			continue;
		if (!matched++ && !ratelimit_allow(&igd->ssdp_limit, from->sin_addr.s_addr))
			return SSDP_DROP_RATE_LIMITED;
		ssdp_send(igd, msg, ssdp_response(&igd->dev, i, st, msg, sizeof(msg)),
			  from->sin_addr.s_addr, ntohs(from->sin_port));
		igd->cnt.ssdp_answers++;
	}
	if (!matched)
		return SSDP_DROP_NO_MATCH;
	igd->cnt.ssdp_searches++;
	return SSDP_DROP_NONE;
}

/* One datagram: from the host interface and the LAN, else nothing. */
static bool ssdp_read_one(struct igd *igd, int ifindex)
{
	char buf[SSDP_DATAGRAM_MAX + 1];
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_in from;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_name = &from,
			    .msg_namelen = sizeof(from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	ssize_t n = recvmsg(igd->ssdp_fd, &mh, MSG_TRUNC);
	enum ssdp_drop d;

	if (n < 0)
		return false;
	if (!from_lan(igd, from.sin_addr.s_addr) || (ifindex && arrival_ifindex(&mh) != ifindex))
		d = SSDP_DROP_NOT_LAN;
	else if ((size_t)n > SSDP_DATAGRAM_MAX)
		d = SSDP_DROP_TOO_BIG;
	else
		d = ssdp_answer(igd, buf, (size_t)n, &from);
	igd->cnt.ssdp_drops[d]++;
	return true;
}

static void ssdp_read(struct igd *igd)
{
	for (unsigned i = 0; i < 64 && ssdp_read_one(igd, igd->ifindex); i++)
		;
}

/* ---- opening ---- */

static int bind_dev(int fd, const char *dev)
{
	if (!dev[0])
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1) ? -errno
											    : 0;
}

static int open_http(struct igd *igd, const char **why)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = igd->cfg.lan_addr,
				  .sin_port = htons(igd->cfg.http_port)};
	int one = 1;

	igd->http_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (igd->http_fd < 0 ||
	    setsockopt(igd->http_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind_dev(igd->http_fd, igd->cfg.dev) ||
	    bind(igd->http_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(igd->http_fd, IGD_CLIENTS_MAX)) {
		*why = "cannot listen for UPnP control on the LAN address (port in use?)";
		return -errno;
	}
	return 0;
}

/* Port 1900 of every address (multicast datagrams carry the group's), the
 * group joined on the host interface, our NOTIFYs out of it (UDA 1.1
 * 1.1.2: TTL 2), never looped back to us. */
static int ssdp_options(struct igd *igd)
{
	struct ip_mreqn mr = {.imr_ifindex = igd->ifindex};
	int one = 1, ttl = 2, zero = 0;

	inet_pton(AF_INET, SSDP_MULTICAST, &mr.imr_multiaddr);
	mr.imr_address.s_addr = igd->cfg.lan_addr;
	if (setsockopt(igd->ssdp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(igd->ssdp_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    bind_dev(igd->ssdp_fd, igd->cfg.dev) ||
	    setsockopt(igd->ssdp_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) ||
	    setsockopt(igd->ssdp_fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) ||
	    setsockopt(igd->ssdp_fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) ||
	    setsockopt(igd->ssdp_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)))
		return -errno;
	return 0;
}

static int open_ssdp(struct igd *igd, const char **why)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(SSDP_PORT)};
	int err;

	igd->ssdp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (igd->ssdp_fd < 0)
		err = -errno;
	else if (!(err = ssdp_options(igd)) &&
		 bind(igd->ssdp_fd, (struct sockaddr *)&sin, sizeof(sin)))
		err = -errno;
	if (err)
		*why = "cannot open the SSDP socket (UDP 1900 on the host interface)";
	return err;
}

static void ssdp_limit_init(struct igd *igd, uint64_t now)
{
	struct ratelimit_config rc = {.per_sec = IGD_SSDP_RATE,
				      .burst = IGD_SSDP_BURST,
				      .key_interval_ms = 200,
				      .key_burst = 5,
				      .shares = 1};

	(void)getrandom(&rc.seed, sizeof(rc.seed), GRND_NONBLOCK);
	ratelimit_init(&igd->ssdp_limit, &rc, (uint32_t)now);
}

int igd_create(const struct igd_config *cfg, uint64_t now_ms, struct igd **out, const char **why)
{
	struct igd *igd = calloc(1, sizeof(*igd));
	uint32_t boot_id = (uint32_t)(now_ms / 1000);
	int err;

	if (!igd) {
		*why = "out of memory";
		return -ENOMEM;
	}
	igd->cfg = *cfg;
	if (!igd->cfg.http_port)
		igd->cfg.http_port = IGD_HTTP_PORT;
	igd->ssdp_fd = igd->http_fd = -1;
	igd->ifindex = cfg->dev[0] ? (int)if_nametoindex(cfg->dev) : 0;
	for (unsigned i = 0; i < IGD_CLIENTS_MAX; i++)
		igd->client[i].fd = -1;
	(void)getrandom(&boot_id, sizeof(boot_id), GRND_NONBLOCK);
	ssdp_device_init(&igd->dev, cfg->lan_mac, cfg->lan_addr, igd->cfg.http_port,
			 boot_id & 0x7fffffff);
	igd->start_ms = now_ms;
	ssdp_limit_init(igd, now_ms);
	if ((err = open_http(igd, why)) || (err = open_ssdp(igd, why))) {
		igd_destroy(igd);
		return err;
	}
	announce(igd, true);
	igd->next_notify_ms = now_ms + IGD_NOTIFY_MS;
	*out = igd;
	return 0;
}

void igd_destroy(struct igd *igd)
{
	if (!igd)
		return;
	if (igd->ssdp_fd >= 0 && igd->http_fd >= 0)
		announce(igd, false); /* UDA 1.1 1.2.3: ssdp:byebye */
	for (unsigned i = 0; i < IGD_CLIENTS_MAX; i++)
		if (igd->client[i].fd >= 0)
			client_close(&igd->client[i]);
	if (igd->ssdp_fd >= 0)
		close(igd->ssdp_fd);
	if (igd->http_fd >= 0)
		close(igd->http_fd);
	free(igd);
}

/* ---- the loop ---- */

unsigned igd_pollfds(struct igd *igd, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;

	igd->ssdp_idx = igd->http_idx = -1;
	if (n < max) {
		igd->ssdp_idx = (int)n;
		fds[n++] = (struct pollfd){.fd = igd->ssdp_fd, .events = POLLIN};
	}
	if (n < max) {
		igd->http_idx = (int)n;
		fds[n++] = (struct pollfd){.fd = igd->http_fd, .events = POLLIN};
	}
	for (unsigned i = 0; i < IGD_CLIENTS_MAX; i++) {
		struct igd_client *c = &igd->client[i];
		c->poll_idx = -1;
		if (c->fd < 0 || n >= max)
			continue;
		c->poll_idx = (int)n;
		fds[n++] = (struct pollfd){.fd = c->fd, .events = c->writing ? POLLOUT : POLLIN};
	}
	return n;
}

static bool ready(const struct pollfd *fds, unsigned n, int idx)
{
	return idx >= 0 && (unsigned)idx < n && (fds[idx].revents & (POLLIN | POLLERR));
}

void igd_run(struct igd *igd, const struct pollfd *fds, unsigned n, uint64_t now_ms)
{
	ratelimit_advance(&igd->ssdp_limit, (uint32_t)now_ms);
	if (ready(fds, n, igd->ssdp_idx))
		ssdp_read(igd);
	serve_clients(igd, fds, n, now_ms);
	if (ready(fds, n, igd->http_idx))
		accept_some(igd, now_ms);
	if (now_ms >= igd->next_notify_ms) {
		announce(igd, true);
		igd->next_notify_ms = now_ms + IGD_NOTIFY_MS;
	}
}

/* ---- counters ---- */

/* Text: one "upnp:" line per group of KEY=VALUE, like the other services'
 * lines; JSON: "upnp_KEY" members. */
static void put_stat(FILE *out, bool json, const char *name, uint64_t v)
{
	if (json)
		fprintf(out, ",\"upnp_%s\":%llu", name, (unsigned long long)v);
	else
		fprintf(out, " %s=%llu", name, (unsigned long long)v);
}

static void stat2(FILE *out, bool json, const char *kind, const char *name, uint64_t v)
{
	char key[96];

	snprintf(key, sizeof(key), "%s_%s", kind, name);
	put_stat(out, json, key, v);
}

static void group(FILE *out, bool json, const char *what)
{
	if (!json)
		fprintf(out, "%supnp %s:", strcmp(what, "server") ? "\n" : "", what);
}

void igd_write_stats(const struct igd *igd, FILE *out, bool json)
{
	const struct igd_counters *c = &igd->cnt;
	char code[8];

	group(out, json, "server");
#define IGD_STAT(name, text) put_stat(out, json, #name, c->name);
	IGD_COUNTERS(IGD_STAT)
#undef IGD_STAT
	group(out, json, "refused");
	for (unsigned i = 1; i < HTTP_REFUSAL_COUNT; i++)
		stat2(out, json, "http_refused", http_refusal_name(i), c->http_refused[i]);
	for (unsigned i = 1; i < SOAP_ERR_COUNT; i++)
		stat2(out, json, "soap_malformed", soap_error_name(i), c->soap_malformed[i]);
	for (unsigned i = 1; i < SSDP_DROP_COUNT; i++)
		stat2(out, json, "ssdp_drop", ssdp_drop_name(i), c->ssdp_drops[i]);
	group(out, json, "actions");
	for (unsigned i = 0; i < IGD_ACT_COUNT; i++)
		stat2(out, json, "action", igd_action_name(i), c->actions[i]);
	group(out, json, "errors");
	for (unsigned i = 1; i < IGD_E_COUNT; i++) {
		snprintf(code, sizeof(code), "%d", igd_error_code(i));
		stat2(out, json, "error", code, c->errors[i]);
	}
	if (!json)
		fputc('\n', out);
}
