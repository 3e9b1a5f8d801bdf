/* dns_proxy.c - the LAN's DNS proxy: configuration, the listeners,
 * create/destroy, the poll list and the run loop, the timers and `rssnat
 * show dns` (theory of operation in dns_proxy.h; the buffers and what the
 * files share in dns_internal.h).
 */
#include "dns_proxy.h"
#include "dns_internal.h"
#include "dns_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	DEFAULT_CACHE_ENTRIES = 1024,
	DEFAULT_CACHE_BYTES = 1 << 20,
	DEFAULT_TIMEOUT_MS = 1000,
	DEFAULT_TRIES = 3,
	DEFAULT_MAX_PENDING = 256,
	DEFAULT_MAX_TCP = 32,
	DEFAULT_TCP_IDLE_MS = 10000, /* RFC 7766 6.2.3 suggests seconds */
	CACHE_ENTRIES_MAX = 1 << 20,
	PENDING_MAX = 4096,
	TCP_CLIENTS_MAX = 1024,
	TRIES_MAX = 16,
	TCP_BACKLOG = 16,
	SWEEP_MS = 1000,
	SWEEP_BUDGET = 256,
	TIMEOUT_MAX_MS = 1000,
	LISTEN_TRIES = 8, /* port 0: UDP and TCP on one free port */
};

enum ref_kind {
	REF_UDP,
	REF_TCP_LISTEN,
	REF_CLIENT,
	REF_PENDING,
};

struct dns_pollref {
	uint8_t kind;
	int fd;
	uint32_t idx, gen;
};

static const char *const drop_names[DNS_DROP_COUNT] = {[DNS_DROP_NONE] = "NONE",
#define DNS_DROP_NAME(name, text) [DNS_DROP_##name] = #name,
						       DNS_DROP_REASONS(DNS_DROP_NAME)
#undef DNS_DROP_NAME
};

static const char *const drop_texts[DNS_DROP_COUNT] = {[DNS_DROP_NONE] = "not dropped",
#define DNS_DROP_TEXT(name, text) [DNS_DROP_##name] = text,
						       DNS_DROP_REASONS(DNS_DROP_TEXT)
#undef DNS_DROP_TEXT
};

const char *dns_drop_name(enum dns_drop reason)
{
	return (unsigned)reason < DNS_DROP_COUNT ? drop_names[reason] : "?";
}

const char *dns_drop_text(enum dns_drop reason)
{
	return (unsigned)reason < DNS_DROP_COUNT ? drop_texts[reason] : "?";
}

/* ---- configuration ---- */

void dns_proxy_config_default(struct dns_proxy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_addr = htonl(0xc0a88901u); /* 192.168.137.1 */
	cfg->listen_port = 53;
	cfg->allow_net = htonl(0xc0a88900u);
	cfg->allow_mask = htonl(0xffffff00u);
	snprintf(cfg->domain, sizeof(cfg->domain), "mshome.net");
	cfg->cache_entries = DEFAULT_CACHE_ENTRIES;
	cfg->cache_bytes = DEFAULT_CACHE_BYTES;
	cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
	cfg->tries = DEFAULT_TRIES;
	cfg->max_pending = DEFAULT_MAX_PENDING;
	cfg->max_tcp_clients = DEFAULT_MAX_TCP;
	cfg->tcp_idle_ms = DEFAULT_TCP_IDLE_MS;
}

int dns_read_resolv_conf(const char *path, struct dns_upstream *out, unsigned max)
{
	FILE *f = fopen(path, "re");
	char line[512];
	unsigned n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *kw, *val;
		struct in_addr a;
		bool dup = false;
		int ch;

		if (!strchr(line, '\n') && !feof(f)) {
			/* A line this long is no nameserver line: skip it all. */
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		kw = strtok_r(line, " \t\r\n", &save);
		if (!kw || strcmp(kw, "nameserver"))
			continue;
		val = strtok_r(NULL, " \t\r\n", &save);
		if (!val || inet_pton(AF_INET, val, &a) != 1)
			continue; /* IPv6 (or junk): we forward over IPv4 only */
		if (a.s_addr == 0 || (ntohl(a.s_addr) >> 24) == 127)
			continue; /* the gateway's own stub: unreachable through the NAT */
		for (unsigned i = 0; i < n; i++)
			dup |= out[i].addr == a.s_addr;
		if (!dup && n < max)
			out[n++] = (struct dns_upstream){.addr = a.s_addr, .port = 53};
	}
	fclose(f);
	return (int)n;
}

static bool dev_ok(const char *dev)
{
	return memchr(dev, '\0', 16) != NULL;
}

static int check_config(const struct dns_proxy_config *cfg, uint8_t *domain, size_t *domain_len,
			const char **why)
{
	uint32_t inv = ~ntohl(cfg->allow_mask);

	if (!dev_ok(cfg->listen_dev) || !dev_ok(cfg->upstream_dev))
		*why = "device name over 15 bytes";
	else if (!cfg->allow_mask || (inv & (inv + 1)))
		*why = "allow_mask must be a non-empty prefix (never an open resolver)";
	else if (cfg->n_upstream > DNS_UPSTREAM_MAX)
		*why = "too many upstream servers";
	else if (!memchr(cfg->domain, '\0', sizeof(cfg->domain)))
		*why = "domain not terminated";
	else if (cfg->cache_entries > CACHE_ENTRIES_MAX)
		*why = "cache_entries over 1048576";
	else if (cfg->cache_entries && (cfg->cache_bytes < 4096 || cfg->cache_bytes > (1u << 30)))
		*why = "cache_bytes must be 4096..1 GiB";
	else if (cfg->timeout_ms < 10 || cfg->timeout_ms > 60000)
		*why = "timeout_ms must be 10..60000";
	else if (!cfg->tries || cfg->tries > TRIES_MAX)
		*why = "tries must be 1..16";
	else if (!cfg->max_pending || cfg->max_pending > PENDING_MAX)
		*why = "max_pending must be 1..4096";
	else if (cfg->max_tcp_clients > TCP_CLIENTS_MAX)
		*why = "max_tcp_clients must be 0..1024";
	else if (cfg->tcp_idle_ms < 100 || cfg->tcp_idle_ms > 600000)
		*why = "tcp_idle_ms must be 100..600000";
	else
		*why = NULL;
	for (unsigned i = 0; !*why && i < cfg->n_upstream; i++)
		if (!cfg->upstream[i].addr || !cfg->upstream[i].port)
			*why = "upstream address or port is 0";
	*domain_len = 0;
	if (!*why && cfg->domain[0]) {
		if (dns_name_from_text(cfg->domain, domain, domain_len) || *domain_len <= 1)
			*why = "domain is not a valid DNS name";
	}
	return *why ? -EINVAL : 0;
}

/* ---- sockets ---- */

int dns_bind_dev(int fd, const char *dev)
{
	if (!dev[0])
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev));
}

static int listener(const struct dns_proxy *p, int type, uint16_t port, const char **why)
{
	struct sockaddr_in sin = {
	    .sin_family = AF_INET, .sin_addr.s_addr = p->cfg.listen_addr, .sin_port = htons(port)};
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, err;

	if (fd < 0) {
		*why = "socket() for a listener";
		return -errno;
	}
	/* IP_FREEBIND: the LAN address may be configured on the TUN later. */
	if ((type == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0) {
		*why = "setsockopt() on a listener";
		goto fail;
	}
	if (dns_bind_dev(fd, p->cfg.listen_dev) < 0) {
		*why = "SO_BINDTODEVICE(listen_dev) (needs CAP_NET_RAW)";
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0) {
		*why = "bind() to listen_addr:listen_port";
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0) {
		*why = "listen()";
		goto fail;
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int open_listeners(struct dns_proxy *p, const char **why)
{
	for (int i = 0; i < LISTEN_TRIES; i++) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);

		p->port = p->cfg.listen_port;
		p->udp_fd = listener(p, SOCK_DGRAM, p->port, why);
		if (p->udp_fd < 0)
			return p->udp_fd;
		if (getsockname(p->udp_fd, (struct sockaddr *)&sin, &sl) < 0) {
			*why = "getsockname() on the UDP listener";
			return -errno;
		}
		p->port = ntohs(sin.sin_port);
		if (!p->cfg.max_tcp_clients)
			return 0;
		p->tcp_fd = listener(p, SOCK_STREAM, p->port, why);
		if (p->tcp_fd >= 0)
			return 0;
		if (p->tcp_fd != -EADDRINUSE || p->cfg.listen_port)
			return p->tcp_fd;
		close(p->udp_fd); /* the kernel's UDP port is taken for TCP: again */
		p->udp_fd = -1;
	}
	*why = "no port free for both UDP and TCP";
	return -EADDRINUSE;
}

/* ---- create / destroy ---- */

int dns_proxy_create(const struct dns_proxy_config *cfg, struct dns_proxy **out, const char **why)
{
	const char *dummy;
	struct dns_proxy *p;
	uint64_t seed;
	int err;

	if (!why)
		why = &dummy;
	p = calloc(1, sizeof(*p));
	if (!p) {
		*why = "out of memory";
		return -ENOMEM;
	}
	p->udp_fd = p->tcp_fd = -1;
	p->cfg = *cfg;
	err = check_config(cfg, p->domain, &p->domain_len, why);
	if (err)
		goto fail;
	err = -ENOMEM;
	*why = "out of memory";
	/* Each table is made valid (fds -1) as soon as it exists, so that
	 * dns_proxy_destroy() can unwind from any point. */
	p->pend = calloc(cfg->max_pending, sizeof(*p->pend));
	if (!p->pend)
		goto fail;
	for (unsigned i = 0; i < cfg->max_pending; i++) {
		p->pend[i].fd = -1;
		p->pend[i].tcpbuf = DNS_NIL;
		p->pend[i].next_free = i + 1 < cfg->max_pending ? i + 1 : DNS_NIL;
	}
	if (cfg->max_tcp_clients) {
		p->tcp = calloc(cfg->max_tcp_clients, sizeof(*p->tcp));
		if (!p->tcp)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->max_tcp_clients; i++)
		p->tcp[i].fd = -1;
	for (unsigned i = 0; i < cfg->max_tcp_clients; i++) {
		p->tcp[i].in = malloc(DNS_TCP_IN_BUF);
		p->tcp[i].out = malloc(DNS_TCP_MSG_BUF);
		if (!p->tcp[i].in || !p->tcp[i].out)
			goto fail;
	}
	p->map_max = 2 + cfg->max_tcp_clients + cfg->max_pending;
	p->map = calloc(p->map_max, sizeof(*p->map));
	p->tcpbufs = malloc((size_t)DNS_UPSTREAM_TCP_BUFFERS * DNS_TCP_MSG_BUF);
	if (!p->map || !p->tcpbufs)
		goto fail;
	if (cfg->cache_entries) {
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
			err = -EAGAIN;
			*why = "getrandom() for the cache seed";
			goto fail;
		}
		err = dns_cache_create(cfg->cache_entries, cfg->cache_bytes, seed, &p->cnt,
				       &p->cache);
		if (err)
			goto fail;
	}
	err = open_listeners(p, why);
	if (err)
		goto fail;
	*why = NULL;
	*out = p;
	return 0;
fail:
	dns_proxy_destroy(p);
	return err;
}

void dns_proxy_destroy(struct dns_proxy *p)
{
	if (!p)
		return;
	if (p->udp_fd >= 0)
		close(p->udp_fd);
	if (p->tcp_fd >= 0)
		close(p->tcp_fd);
	for (unsigned i = 0; p->pend && i < p->cfg.max_pending; i++)
		if (p->pend[i].fd >= 0)
			close(p->pend[i].fd);
	for (unsigned i = 0; p->tcp && i < p->cfg.max_tcp_clients; i++) {
		if (p->tcp[i].fd >= 0)
			close(p->tcp[i].fd);
		free(p->tcp[i].in);
		free(p->tcp[i].out);
	}
	dns_cache_destroy(p->cache);
	free(p->tcp);
	free(p->tcpbufs);
	free(p->map);
	free(p->pend);
	free(p);
}

uint16_t dns_proxy_port(const struct dns_proxy *p)
{
	return p->port;
}

const struct dns_counters *dns_proxy_counters(const struct dns_proxy *p)
{
	return &p->cnt;
}

unsigned dns_proxy_pollfds_max(const struct dns_proxy *p)
{
	return p->map_max;
}

/* ---- polling and timers ---- */

static void add_fd(struct dns_proxy *p, struct pollfd *fds, unsigned *n, int fd, short events,
		   uint8_t kind, uint32_t idx, uint32_t gen)
{
	fds[*n] = (struct pollfd){.fd = fd, .events = events};
	p->map[*n] = (struct dns_pollref){.kind = kind, .fd = fd, .idx = idx, .gen = gen};
	(*n)++;
}

unsigned dns_proxy_pollfds(struct dns_proxy *p, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;

	if (max > p->map_max)
		max = p->map_max;
	if (n < max)
		add_fd(p, fds, &n, p->udp_fd, POLLIN, REF_UDP, 0, 0);
	if (p->tcp_fd >= 0 && n < max)
		add_fd(p, fds, &n, p->tcp_fd, POLLIN, REF_TCP_LISTEN, 0, 0);
	for (unsigned i = 0; i < p->cfg.max_tcp_clients && n < max; i++) {
		const struct dns_tcp_client *c = &p->tcp[i];
		short ev = 0;

		if (c->fd < 0)
			continue;
		if (!c->eof && c->in_len < DNS_TCP_IN_BUF)
			ev |= POLLIN;
		if (c->out_len)
			ev |= POLLOUT;
		/* A half-closed connection waiting for upstream answers is
		 * left out: poll() would report its hang-up every time. */
		if (ev)
			add_fd(p, fds, &n, c->fd, ev, REF_CLIENT, i, c->gen);
	}
	for (unsigned i = 0; i < p->cfg.max_pending && n < max; i++) {
		const struct dns_pending *pd = &p->pend[i];

		if (pd->state == DNS_PEND_FREE || pd->fd < 0)
			continue;
		add_fd(p, fds, &n, pd->fd,
		       pd->state == DNS_PEND_TCP_CONNECT || pd->state == DNS_PEND_TCP_WRITE
			   ? POLLOUT
			   : POLLIN,
		       REF_PENDING, i, pd->gen);
	}
	p->map_n = n;
	return n;
}

static void timers(struct dns_proxy *p)
{
	for (unsigned i = 0; i < p->cfg.max_pending; i++) {
		struct dns_pending *pd = &p->pend[i];

		if (pd->state != DNS_PEND_FREE && p->now >= pd->deadline)
			dns_pending_timeout(p, pd);
	}
	for (unsigned i = 0; i < p->cfg.max_tcp_clients; i++) {
		struct dns_tcp_client *c = &p->tcp[i];

		if (c->fd >= 0 && !c->inflight && p->now - c->last_ms >= p->cfg.tcp_idle_ms) {
			p->cnt.tcp_idle_closed++;
			dns_tcp_close(p, c);
		}
	}
	if (p->cache && p->now >= p->next_sweep) {
		dns_cache_sweep(p->cache, p->now, SWEEP_BUDGET);
		p->next_sweep = p->now + SWEEP_MS;
	}
}

void dns_proxy_run(struct dns_proxy *p, const struct pollfd *fds, unsigned n, uint64_t now_ms)
{
	p->now = now_ms;
	if (n > p->map_n)
		n = p->map_n;
	for (unsigned i = 0; i < n; i++) {
		const struct dns_pollref *r = &p->map[i];
		short rev = fds[i].revents;

		if (!rev || fds[i].fd != r->fd)
			continue;
		if (r->kind == REF_UDP) {
			dns_udp_input(p);
		} else if (r->kind == REF_TCP_LISTEN) {
			dns_tcp_accept(p);
		} else if (r->kind == REF_CLIENT) {
			struct dns_tcp_client *c = &p->tcp[r->idx];

			if (c->fd == r->fd && c->gen == r->gen)
				dns_tcp_client_event(p, c, rev);
		} else {
			struct dns_pending *pd = &p->pend[r->idx];

			if (pd->state == DNS_PEND_FREE || pd->gen != r->gen || pd->fd != r->fd)
				continue;
			if (pd->state == DNS_PEND_UDP)
				dns_pending_udp_input(p, pd);
			else
				dns_pending_tcp_event(p, pd);
		}
	}
	p->map_n = 0;
	timers(p);
}

int dns_proxy_timeout_ms(const struct dns_proxy *p, uint64_t now_ms)
{
	uint64_t next = now_ms + TIMEOUT_MAX_MS;

	for (unsigned i = 0; i < p->cfg.max_pending; i++)
		if (p->pend[i].state != DNS_PEND_FREE && p->pend[i].deadline < next)
			next = p->pend[i].deadline;
	for (unsigned i = 0; i < p->cfg.max_tcp_clients; i++) {
		const struct dns_tcp_client *c = &p->tcp[i];

		if (c->fd >= 0 && !c->inflight && c->last_ms + p->cfg.tcp_idle_ms < next)
			next = c->last_ms + p->cfg.tcp_idle_ms;
	}
	if (p->cache && p->next_sweep < next)
		next = p->next_sweep;
	return next > now_ms ? (int)(next - now_ms) : 0;
}

/* ---- `rssnat show dns` ---- */

struct stats_ctx {
	FILE *out;
	bool json, first;
};

static void print_entry(void *ctx, const struct dns_cache_info *e)
{
	struct stats_ctx *s = ctx;
	char name[DNS_NAME_TEXT_MAX], tb[16];
	const char *type = dns_type_name(e->qtype, tb);

	if (!dns_name_to_text(e->name, e->name_len, name, sizeof(name)))
		snprintf(name, sizeof(name), "?");
	if (!s->json) {
		fprintf(s->out, "entry=%s type=%s class=%u ttl=%u negative=%d bytes=%zu\n", name,
			type, e->qclass, e->ttl_left, e->negative, e->len);
		return;
	}
	/* The name holds letters, digits, '-', '_', '.' and \DDD escapes. */
	fprintf(s->out, "%s{\"name\":\"", s->first ? "" : ",");
	for (const char *c = name; *c; c++) {
		if (*c == '\\')
			fputc('\\', s->out);
		fputc(*c, s->out);
	}
	fprintf(s->out, "\",\"type\":\"%s\",\"class\":%u,\"ttl\":%u,\"negative\":%s,\"bytes\":%zu}",
		type, e->qclass, e->ttl_left, e->negative ? "true" : "false", e->len);
	s->first = false;
}

static void stats_text(const struct dns_proxy *p, FILE *out, uint64_t now_ms)
{
	const struct dns_counters *c = &p->cnt;
	struct stats_ctx s = {.out = out};
	char a[INET_ADDRSTRLEN];

#define DNS_PRINT(name, text) fprintf(out, #name "=%llu ", (unsigned long long)c->name);
	DNS_COUNTERS(DNS_PRINT)
#undef DNS_PRINT
	fprintf(out,
		"pending=%u tcp_clients=%u cache_entries=%u cache_bytes=%llu cache_capacity=%u\n",
		c->pending, c->tcp_clients, c->cache_entries, (unsigned long long)c->cache_bytes,
		p->cfg.cache_entries);
	for (int d = 1; d < DNS_DROP_COUNT; d++)
		if (c->drop[d])
			fprintf(out, "drop=%s count=%llu\n", dns_drop_name((enum dns_drop)d),
				(unsigned long long)c->drop[d]);
	for (int d = 1; d < DNS_MSG_ERR_COUNT; d++)
		if (c->malformed[d])
			fprintf(out, "malformed=%s count=%llu\n",
				dns_msg_err_name((enum dns_msg_err)d),
				(unsigned long long)c->malformed[d]);
	for (unsigned i = 0; i < p->cfg.n_upstream; i++) {
		const struct dns_upstream_stats *u = &p->up[i];

		inet_ntop(AF_INET, &p->cfg.upstream[i].addr, a, sizeof(a));
		fprintf(out,
			"upstream=%s:%u sent=%llu answered=%llu timeouts=%llu errors=%llu "
			"preferred=%d\n",
			a, p->cfg.upstream[i].port, (unsigned long long)u->sent,
			(unsigned long long)u->answered, (unsigned long long)u->timeouts,
			(unsigned long long)u->errors, i == p->preferred);
	}
	if (p->cache)
		dns_cache_foreach(p->cache, now_ms, print_entry, &s);
}

static void stats_json(const struct dns_proxy *p, FILE *out, uint64_t now_ms)
{
	const struct dns_counters *c = &p->cnt;
	struct stats_ctx s = {.out = out, .json = true, .first = true};
	char a[INET_ADDRSTRLEN];
	bool first = true;

	fprintf(out, "{\"counters\":{");
#define DNS_JSON(name, text) fprintf(out, "\"" #name "\":%llu,", (unsigned long long)c->name);
	DNS_COUNTERS(DNS_JSON)
#undef DNS_JSON
	fprintf(out, "\"pending\":%u,\"tcp_clients\":%u},\"drops\":{", c->pending, c->tcp_clients);
	for (int d = 1; d < DNS_DROP_COUNT; d++)
		if (c->drop[d]) {
			fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
				dns_drop_name((enum dns_drop)d), (unsigned long long)c->drop[d]);
			first = false;
		}
	fprintf(out, "},\"malformed\":{");
	first = true;
	for (int d = 1; d < DNS_MSG_ERR_COUNT; d++)
		if (c->malformed[d]) {
			fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
				dns_msg_err_name((enum dns_msg_err)d),
				(unsigned long long)c->malformed[d]);
			first = false;
		}
	fprintf(out, "},\"upstreams\":[");
	for (unsigned i = 0; i < p->cfg.n_upstream; i++) {
		const struct dns_upstream_stats *u = &p->up[i];

		inet_ntop(AF_INET, &p->cfg.upstream[i].addr, a, sizeof(a));
		fprintf(out,
			"%s{\"addr\":\"%s\",\"port\":%u,\"sent\":%llu,\"answered\":%llu,"
			"\"timeouts\":%llu,\"errors\":%llu,\"preferred\":%s}",
			i ? "," : "", a, p->cfg.upstream[i].port, (unsigned long long)u->sent,
			(unsigned long long)u->answered, (unsigned long long)u->timeouts,
			(unsigned long long)u->errors, i == p->preferred ? "true" : "false");
	}
	fprintf(out, "],\"cache\":{\"capacity\":%u,\"entries\":%u,\"bytes\":%llu,\"list\":[",
		p->cfg.cache_entries, c->cache_entries, (unsigned long long)c->cache_bytes);
	if (p->cache)
		dns_cache_foreach(p->cache, now_ms, print_entry, &s);
	fprintf(out, "]}}\n");
}

void dns_proxy_write_stats(const struct dns_proxy *p, FILE *out, bool json, uint64_t now_ms)
{
	if (json)
		stats_json(p, out, now_ms);
	else
		stats_text(p, out, now_ms);
}
