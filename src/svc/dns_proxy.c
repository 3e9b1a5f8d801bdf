/* dns_proxy.c - the LAN's DNS proxy: listeners, the local zone, the cache
 * in front of the upstreams, queries in flight, LAN and upstream TCP, the
 * timers and `rssnat show dns` (theory of operation in dns_proxy.h).
 *
 * Buffers: p->pkt holds what a socket just gave (a client's UDP query or an
 * upstream's UDP reply), p->tcpq a query taken from a LAN TCP stream,
 * p->ans an answer copied out of the cache, p->out the answer being sent
 * (built at p->out + 2, so a TCP length prefix fits before it), p->qbuf an
 * upstream query. Upstream TCP exchanges each borrow one of
 * DNS_UPSTREAM_TCP_BUFFERS 64 KiB buffers; LAN TCP connections own an input
 * and an output buffer. All of it is allocated in dns_proxy_create().
 *
 * Objects the poll list points at (LAN TCP connections, queries in flight)
 * carry a generation, renewed whenever their socket changes, so a stale
 * poll result (the object ended, or its fd number was reused, during the
 * same dns_proxy_run()) is ignored.
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

#define NIL UINT32_MAX

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
	UDP_BURST = 64,	   /* datagrams read from the listener per run */
	ACCEPT_BURST = 16, /* connections accepted per run */
	REPLY_BURST = 8,   /* datagrams read from one upstream socket per run */
	TCP_READS = 8,	   /* reads of one upstream TCP answer per run */
	SWEEP_MS = 1000,
	SWEEP_BUDGET = 256,
	TIMEOUT_MAX_MS = 1000,
	LISTEN_TRIES = 8, /* port 0: UDP and TCP on one free port */
	TCP_MSG_BUF = 2 + DNS_MSG_MAX,
	TCP_IN_BUF = 2 + DNS_QUERY_MAX,
	QBUF = 512, /* an upstream query: header, name, OPT */
	SOA_RDATA_MAX = 2 + 1 + 10 + 2 + DNS_SOA_FIXED,
	PTR_RDATA_MAX = DNS_NAME_MAX,
	HOST_MAX = 64, /* a label and its NUL */
};

/* Local zone SOA timers (RFC 1912 2.2 style values). */
enum {
	SOA_SERIAL = 1,
	SOA_REFRESH = 3600,
	SOA_RETRY = 600,
	SOA_EXPIRE = 86400,
};

enum pend_state {
	P_FREE = 0,
	P_UDP,	       /* waiting for the UDP reply */
	P_TCP_CONNECT, /* TC=1 fallback: connecting */
	P_TCP_WRITE,   /* sending the length-prefixed query */
	P_TCP_READ,    /* reading the length-prefixed answer */
};

enum client_kind {
	CLIENT_UDP,
	CLIENT_TCP,
};

struct client_ref {
	uint8_t kind;
	struct sockaddr_in sin; /* CLIENT_UDP */
	uint32_t tcp, gen;	/* CLIENT_TCP: connection index and generation */
};

struct pending {
	uint8_t state;	  /* enum pend_state */
	uint8_t attempt;  /* attempts made, the current one included */
	uint8_t first_up; /* upstream of the first attempt */
	uint8_t up;	  /* upstream of the current attempt */
	int fd;
	uint32_t gen;
	uint32_t next_free;
	uint16_t up_id;
	uint32_t tcpbuf; /* index of the upstream TCP buffer, or NIL */
	uint32_t tcp_len, tcp_done;
	uint64_t deadline;
	struct client_ref to;
	struct dns_msg q; /* the client's query */
};

struct tcp_client {
	int fd; /* -1: free */
	uint32_t gen;
	bool eof, processing;
	unsigned inflight;
	uint64_t last_ms;
	uint32_t in_len, out_head, out_len;
	uint8_t *in, *out; /* TCP_IN_BUF, TCP_MSG_BUF */
};

struct upstream_stats {
	uint64_t sent, answered, timeouts, errors;
};

enum ref_kind {
	REF_UDP,
	REF_TCP_LISTEN,
	REF_CLIENT,
	REF_PENDING,
};

struct pollref {
	uint8_t kind;
	int fd;
	uint32_t idx, gen;
};

struct dns_proxy {
	struct dns_proxy_config cfg;
	struct dns_counters cnt;
	struct upstream_stats up[DNS_UPSTREAM_MAX];
	struct dns_cache *cache;
	int udp_fd, tcp_fd;
	uint16_t port;
	uint8_t domain[DNS_NAME_MAX];
	size_t domain_len; /* 0: no local zone */
	unsigned preferred;
	uint64_t failback_at;
	uint64_t now, next_sweep;
	uint32_t gen;
	struct pending *pend;
	uint32_t pend_free;
	struct tcp_client *tcp;
	uint8_t *tcpbufs;
	bool tcpbuf_used[DNS_UPSTREAM_TCP_BUFFERS];
	struct pollref *map;
	unsigned map_n, map_max;
	uint8_t rnd[64];
	unsigned rnd_left;
	uint8_t pkt[DNS_MSG_MAX + 1];
	uint8_t tcpq[DNS_QUERY_MAX];
	uint8_t ans[DNS_MSG_MAX];
	uint8_t out[2 + DNS_MSG_MAX];
	uint8_t qbuf[QBUF];
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

static void drop(struct dns_proxy *p, enum dns_drop reason)
{
	p->cnt.drop[reason]++;
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

static int bind_dev(int fd, const char *dev)
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
	if (bind_dev(fd, p->cfg.listen_dev) < 0) {
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

/* An upstream socket: UDP bound to port 0 (the kernel picks a random
 * ephemeral port: RFC 5452 10), or TCP (connect() picks one). */
static int upstream_socket(struct dns_proxy *p, int type)
{
	struct sockaddr_in any = {.sin_family = AF_INET};
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind_dev(fd, p->cfg.upstream_dev) < 0 ||
	    (type == SOCK_DGRAM && bind(fd, (const struct sockaddr *)&any, sizeof(any)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct sockaddr_in upstream_sin(const struct dns_proxy *p, unsigned up)
{
	return (struct sockaddr_in){.sin_family = AF_INET,
				    .sin_addr.s_addr = p->cfg.upstream[up].addr,
				    .sin_port = htons(p->cfg.upstream[up].port)};
}

static int random16(struct dns_proxy *p, uint16_t *v)
{
	if (p->rnd_left < 2) {
		if (getrandom(p->rnd, sizeof(p->rnd), GRND_NONBLOCK) != (ssize_t)sizeof(p->rnd))
			return -1;
		p->rnd_left = sizeof(p->rnd);
	}
	p->rnd_left -= 2;
	*v = (uint16_t)(p->rnd[p->rnd_left] | p->rnd[p->rnd_left + 1] << 8);
	return 0;
}

static bool allowed(const struct dns_proxy *p, uint32_t addr)
{
	return (addr & p->cfg.allow_mask) == (p->cfg.allow_net & p->cfg.allow_mask);
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
		p->pend[i].tcpbuf = NIL;
		p->pend[i].next_free = i + 1 < cfg->max_pending ? i + 1 : NIL;
	}
	if (cfg->max_tcp_clients) {
		p->tcp = calloc(cfg->max_tcp_clients, sizeof(*p->tcp));
		if (!p->tcp)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->max_tcp_clients; i++)
		p->tcp[i].fd = -1;
	for (unsigned i = 0; i < cfg->max_tcp_clients; i++) {
		p->tcp[i].in = malloc(TCP_IN_BUF);
		p->tcp[i].out = malloc(TCP_MSG_BUF);
		if (!p->tcp[i].in || !p->tcp[i].out)
			goto fail;
	}
	p->map_max = 2 + cfg->max_tcp_clients + cfg->max_pending;
	p->map = calloc(p->map_max, sizeof(*p->map));
	p->tcpbufs = malloc((size_t)DNS_UPSTREAM_TCP_BUFFERS * TCP_MSG_BUF);
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

/* ---- answering clients ---- */

static uint8_t *answer_buf(struct dns_proxy *p)
{
	return p->out + 2;
}

static struct tcp_client *client_of(struct dns_proxy *p, const struct client_ref *to)
{
	struct tcp_client *c = &p->tcp[to->tcp];

	return c->fd >= 0 && c->gen == to->gen ? c : NULL;
}

static void tcp_close(struct dns_proxy *p, struct tcp_client *c)
{
	close(c->fd);
	c->fd = -1;
	p->cnt.tcp_clients--;
}

static void tcp_flush(struct dns_proxy *p, struct tcp_client *c)
{
	while (c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + c->out_head, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				tcp_close(p, c);
			return;
		}
		c->out_head += (uint32_t)n;
		c->out_len -= (uint32_t)n;
		c->last_ms = p->now;
	}
	c->out_head = 0;
}

/* Send the @len-byte answer at answer_buf() to @to. */
static void reply(struct dns_proxy *p, const struct client_ref *to, size_t len)
{
	struct tcp_client *c;

	if (to->kind == CLIENT_UDP) {
		if (sendto(p->udp_fd, answer_buf(p), len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&to->sin, sizeof(to->sin)) < 0)
			drop(p, DNS_DROP_SEND);
		return;
	}
	c = client_of(p, to);
	if (!c) {
		drop(p, DNS_DROP_CLIENT_GONE);
		return;
	}
	if (c->out_head + c->out_len + 2 + len > TCP_MSG_BUF) {
		memmove(c->out, c->out + c->out_head, c->out_len);
		c->out_head = 0;
	}
	if (c->out_len + 2 + len > TCP_MSG_BUF) {
		drop(p, DNS_DROP_TCP_OUT_FULL);
		tcp_close(p, c);
		return;
	}
	dns_wr16(p->out, (uint16_t)len); /* RFC 1035 4.2.2 length prefix */
	memcpy(c->out + c->out_head + c->out_len, p->out, 2 + len);
	c->out_len += (uint32_t)(2 + len);
	tcp_flush(p, c);
}

static size_t client_limit(const struct dns_msg *q, const struct client_ref *to)
{
	if (to->kind == CLIENT_TCP)
		return DNS_MSG_MAX;
	if (!q->edns || q->edns_payload <= DNS_UDP_MIN)
		return DNS_UDP_MIN; /* RFC 6891 6.2.5: below 512 means 512 */
	return q->edns_payload < DNS_CLIENT_UDP_MAX ? q->edns_payload : DNS_CLIENT_UDP_MAX;
}

/* Finish the answer of @len bytes at answer_buf() (an OPT record if the
 * query had one) and send it. */
static void reply_built(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to,
			size_t len, uint8_t ext_rcode)
{
	if (len && q->edns)
		len = dns_msg_append_opt(answer_buf(p), len, DNS_MSG_MAX, DNS_EDNS_PAYLOAD,
					 ext_rcode);
	if (len)
		reply(p, to, len);
}

static void reply_rcode(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to,
			unsigned rcode)
{
	size_t len = dns_msg_build_reply(answer_buf(p), DNS_MSG_MAX, q, 0, rcode);

	reply_built(p, q, to, len, 0);
}

/* ---- the local zone ---- */

static bool host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A DHCP host name as one lower-case label; false if it cannot be one. */
static bool host_label(const char *host, uint8_t *label, size_t *len)
{
	size_t n = strnlen(host, HOST_MAX);

	if (!n || n > DNS_LABEL_MAX)
		return false;
	label[0] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)host[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		if (!host_char(c))
			return false;
		label[1 + i] = c;
	}
	*len = n + 1;
	return true;
}

/* Where the local domain starts in the lower-cased @name, or -1. */
static int domain_suffix(const struct dns_proxy *p, const uint8_t *name, size_t len)
{
	if (!p->domain_len)
		return -1;
	for (size_t off = 0; off < len && len - off >= p->domain_len; off += 1 + name[off]) {
		if (len - off == p->domain_len && !memcmp(name + off, p->domain, p->domain_len))
			return (int)off;
		if (!name[off])
			break;
	}
	return -1;
}

/* One decimal label of a reverse name: 0..255, no leading zero. */
static bool octet_label(const uint8_t *l, unsigned *v)
{
	unsigned n = l[0], x = 0;

	if (n < 1 || n > 3 || (n > 1 && l[1] == '0'))
		return false;
	for (unsigned i = 1; i <= n; i++) {
		if (l[i] < '0' || l[i] > '9')
			return false;
		x = x * 10 + (unsigned)(l[i] - '0');
	}
	*v = x;
	return x <= 255;
}

/* "d.c.b.a.in-addr.arpa" (lower-cased) -> a.b.c.d in network order. */
static bool reverse_addr(const uint8_t *name, size_t len, uint32_t *addr)
{
	static const uint8_t tail[] = "\7in-addr\4arpa";
	unsigned o[4];
	size_t off = 0;

	for (int i = 0; i < 4; i++) {
		if (off >= len || !octet_label(name + off, &o[i]))
			return false;
		off += 1 + name[off];
	}
	if (len - off != sizeof(tail) || memcmp(name + off, tail, sizeof(tail)))
		return false;
	*addr = htonl((uint32_t)o[3] << 24 | o[2] << 16 | o[1] << 8 | o[0]);
	return true;
}

/* The local zone's SOA RDATA, names compressed against the domain at
 * offset @dom in the answer. */
static size_t soa_rdata(uint8_t *rd, uint16_t dom)
{
	static const uint8_t hostmaster[] = "\12hostmaster";
	size_t n = 0;

	dns_wr16(rd, (uint16_t)(0xc000 | dom)); /* MNAME: the domain */
	n += 2;
	memcpy(rd + n, hostmaster, sizeof(hostmaster) - 1); /* RNAME: hostmaster.<domain> */
	n += sizeof(hostmaster) - 1;
	dns_wr16(rd + n, (uint16_t)(0xc000 | dom));
	n += 2;
	dns_wr32(rd + n, SOA_SERIAL);
	dns_wr32(rd + n + 4, SOA_REFRESH);
	dns_wr32(rd + n + 8, SOA_RETRY);
	dns_wr32(rd + n + 12, SOA_EXPIRE);
	dns_wr32(rd + n + 16, DNS_LOCAL_TTL);
	return n + DNS_SOA_FIXED;
}

/* HOST.<domain>, the domain itself and anything under it: answered here,
 * never forwarded. @suffix is where the domain starts in @name. */
static void answer_zone(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to,
			const uint8_t *name, size_t suffix)
{
	uint8_t *buf = answer_buf(p), rd[SOA_RDATA_MAX], owner[2], dom[2];
	uint16_t dom_off = (uint16_t)(DNS_HDR_LEN + suffix);
	bool any = q->qtype == DNS_T_ANY, known = false, answered = false;
	unsigned rcode = DNS_RCODE_NXDOMAIN;
	uint32_t addr = 0;
	size_t len, rdlen;

	dns_wr16(owner, 0xc000 | DNS_HDR_LEN);
	dns_wr16(dom, (uint16_t)(0xc000 | dom_off));
	if (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY) {
		reply_rcode(p, q, to, DNS_RCODE_REFUSED);
		p->cnt.refused_sent++;
		return;
	}
	if (suffix == 0) {
		known = true; /* the apex exists: SOA, else NODATA */
	} else if (name[0] + 1u == suffix) {
		char host[HOST_MAX];
		bool plain = true;

		for (size_t i = 1; i <= name[0]; i++)
			plain &= host_char(name[i]);
		memcpy(host, name + 1, name[0]);
		host[name[0]] = '\0';
		known = plain && p->cfg.name_to_addr &&
			p->cfg.name_to_addr(p->cfg.ctx, host, &addr) == 0;
	}
	if (known)
		rcode = DNS_RCODE_NOERROR;
	len = dns_msg_build_reply(buf, DNS_MSG_MAX, q, DNS_AA, rcode);
	if (known && suffix && (q->qtype == DNS_T_A || any)) {
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_AN, owner, 2, DNS_T_A,
					DNS_C_IN, DNS_LOCAL_TTL, (const uint8_t *)&addr, 4);
		answered = true;
	}
	rdlen = soa_rdata(rd, dom_off);
	if (known && !suffix && (q->qtype == DNS_T_SOA || any)) {
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_AN, owner, 2, DNS_T_SOA,
					DNS_C_IN, DNS_LOCAL_TTL, rd, rdlen);
		answered = true;
	}
	if (!answered && len) /* NXDOMAIN or NODATA: the SOA (RFC 2308 3) */
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_NS, dom, 2, DNS_T_SOA,
					DNS_C_IN, DNS_LOCAL_TTL, rd, rdlen);
	reply_built(p, q, to, len, 0);
}

/* The reverse name of an address in allow_net: answered here. */
static void answer_reverse(struct dns_proxy *p, const struct dns_msg *q,
			   const struct client_ref *to, uint32_t addr)
{
	uint8_t *buf = answer_buf(p), rd[PTR_RDATA_MAX], owner[2];
	char host[HOST_MAX] = "";
	size_t len, rdlen = 0;
	bool known;

	dns_wr16(owner, 0xc000 | DNS_HDR_LEN);
	known = p->cfg.addr_to_name && p->cfg.addr_to_name(p->cfg.ctx, addr, host, HOST_MAX) == 0;
	host[HOST_MAX - 1] = '\0';
	known = known && host_label(host, rd, &rdlen);
	if (known && rdlen + (p->domain_len ? p->domain_len : 1) <= PTR_RDATA_MAX) {
		if (p->domain_len)
			memcpy(rd + rdlen, p->domain, p->domain_len);
		else
			rd[rdlen] = 0;
		rdlen += p->domain_len ? p->domain_len : 1;
	} else {
		known = false;
	}
	len = dns_msg_build_reply(buf, DNS_MSG_MAX, q, DNS_AA,
				  known ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN);
	if (known && (q->qtype == DNS_T_PTR || q->qtype == DNS_T_ANY) &&
	    (q->qclass == DNS_C_IN || q->qclass == DNS_C_ANY))
		len = dns_msg_append_rr(buf, len, DNS_MSG_MAX, DNS_SEC_AN, owner, 2, DNS_T_PTR,
					DNS_C_IN, DNS_LOCAL_TTL, rd, rdlen);
	reply_built(p, q, to, len, 0);
}

static bool answer_local(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to)
{
	uint8_t name[DNS_NAME_MAX];
	uint32_t addr;
	int suffix;

	memcpy(name, q->qname, q->qname_len);
	dns_name_lower(name, q->qname_len);
	suffix = domain_suffix(p, name, q->qname_len);
	if (suffix >= 0)
		answer_zone(p, q, to, name, (size_t)suffix);
	else if (reverse_addr(name, q->qname_len, &addr) && allowed(p, addr))
		answer_reverse(p, q, to, addr);
	else
		return false;
	p->cnt.answered_local++;
	return true;
}

/* ---- the cache ---- */

static struct dns_key key_of(const struct dns_msg *q, uint8_t *name)
{
	memcpy(name, q->qname, q->qname_len);
	dns_name_lower(name, q->qname_len);
	return (struct dns_key){
	    .name = name, .name_len = q->qname_len, .qtype = q->qtype, .qclass = q->qclass};
}

/* Send @ans (@len bytes, no OPT) to @to as the answer to @q, @age seconds
 * old. False if it cannot be made into one. */
static bool send_answer(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to,
			const uint8_t *ans, size_t len, uint32_t age)
{
	size_t n =
	    dns_msg_for_client(answer_buf(p), DNS_MSG_MAX, ans, len, q, age, client_limit(q, to));

	if (!n)
		return false;
	if (dns_rd16(answer_buf(p) + DNS_OFF_FLAGS) & DNS_TC)
		p->cnt.truncated_sent++;
	reply(p, to, n);
	return true;
}

static bool answer_cached(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to)
{
	uint8_t name[DNS_NAME_MAX];
	struct dns_key k = key_of(q, name);
	uint32_t age = 0;
	size_t n = 0;

	/* CD=1 (RFC 4035 3.2.2) asks for what a validator would refuse: such
	 * answers are neither served from nor stored in the shared cache. */
	if (p->cache && !(q->flags & DNS_CD))
		n = dns_cache_lookup(p->cache, &k, p->now, p->ans, sizeof(p->ans), &age);

	if (!n || !send_answer(p, q, to, p->ans, n, age)) {
		p->cnt.cache_misses++;
		return false;
	}
	p->cnt.cache_hits++;
	return true;
}

/* ---- queries in flight ---- */

static void tcp_client_process(struct dns_proxy *p, struct tcp_client *c);

static struct pending *pending_new(struct dns_proxy *p)
{
	struct pending *pd;

	if (p->pend_free == NIL)
		return NULL;
	pd = &p->pend[p->pend_free];
	p->pend_free = pd->next_free;
	pd->state = P_UDP;
	pd->attempt = 0;
	pd->fd = -1;
	pd->tcpbuf = NIL;
	pd->gen = ++p->gen;
	p->cnt.pending++;
	return pd;
}

static void pending_close(struct dns_proxy *p, struct pending *pd)
{
	if (pd->fd >= 0)
		close(pd->fd);
	pd->fd = -1;
	if (pd->tcpbuf != NIL)
		p->tcpbuf_used[pd->tcpbuf] = false;
	pd->tcpbuf = NIL;
}

/* The query is over (answered or not): free it, and let its TCP client go
 * on with the queries it pipelined. */
static void pending_end(struct dns_proxy *p, struct pending *pd)
{
	struct client_ref to = pd->to;
	struct tcp_client *c;

	pending_close(p, pd);
	pd->state = P_FREE;
	pd->gen = ++p->gen;
	pd->next_free = p->pend_free;
	p->pend_free = (uint32_t)(pd - p->pend);
	p->cnt.pending--;
	if (to.kind == CLIENT_TCP && (c = client_of(p, &to))) {
		c->inflight--;
		tcp_client_process(p, c);
	}
}

static void pending_servfail(struct dns_proxy *p, struct pending *pd)
{
	reply_rcode(p, &pd->q, &pd->to, DNS_RCODE_SERVFAIL);
	p->cnt.servfail_sent++;
	pending_end(p, pd);
}

/* A new attempt over UDP to upstream pd->up: fresh socket, fresh id. */
static int send_udp(struct dns_proxy *p, struct pending *pd)
{
	struct sockaddr_in sin = upstream_sin(p, pd->up);
	uint16_t id;
	size_t len;

	pending_close(p, pd);
	if (random16(p, &id)) {
		drop(p, DNS_DROP_NO_RANDOM);
		return -1;
	}
	len = dns_msg_build_query(p->qbuf, sizeof(p->qbuf), id, DNS_RD | (pd->q.flags & DNS_CD),
				  pd->q.qname, pd->q.qname_len, pd->q.qtype, pd->q.qclass,
				  DNS_EDNS_PAYLOAD);
	pd->fd = upstream_socket(p, SOCK_DGRAM);
	if (pd->fd < 0) {
		drop(p, DNS_DROP_SOCKET);
		return -1;
	}
	if (!len || sendto(pd->fd, p->qbuf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&sin, sizeof(sin)) != (ssize_t)len) {
		drop(p, DNS_DROP_SEND);
		pending_close(p, pd);
		return -1;
	}
	pd->state = P_UDP;
	pd->up_id = id;
	pd->gen = ++p->gen;
	pd->deadline = p->now + p->cfg.timeout_ms;
	p->up[pd->up].sent++;
	return 0;
}

/* The next attempt, on the next upstream in turn; SERVFAIL when `tries`
 * attempts have been made. */
static void attempt_next(struct dns_proxy *p, struct pending *pd)
{
	while (pd->attempt < p->cfg.tries) {
		unsigned up = (pd->first_up + pd->attempt) % p->cfg.n_upstream;

		if (pd->attempt && up != pd->up)
			p->cnt.failovers++;
		pd->up = (uint8_t)up;
		pd->attempt++;
		if (!send_udp(p, pd))
			return;
		p->up[up].errors++;
	}
	pending_servfail(p, pd);
}

static bool duplicate(const struct dns_proxy *p, const struct dns_msg *q,
		      const struct client_ref *to)
{
	for (unsigned i = 0; i < p->cfg.max_pending; i++) {
		const struct pending *pd = &p->pend[i];

		if (pd->state == P_FREE || pd->to.kind != to->kind || pd->q.id != q->id ||
		    !dns_msg_same_question(&pd->q, q))
			continue;
		if (to->kind == CLIENT_UDP
			? pd->to.sin.sin_addr.s_addr == to->sin.sin_addr.s_addr &&
			      pd->to.sin.sin_port == to->sin.sin_port
			: pd->to.tcp == to->tcp && pd->to.gen == to->gen)
			return true;
	}
	return false;
}

static void forward(struct dns_proxy *p, const struct dns_msg *q, const struct client_ref *to)
{
	struct pending *pd;

	if (!p->cfg.n_upstream) {
		reply_rcode(p, q, to, DNS_RCODE_SERVFAIL);
		p->cnt.servfail_sent++;
		return;
	}
	if (duplicate(p, q, to)) {
		drop(p, DNS_DROP_DUPLICATE);
		return;
	}
	pd = pending_new(p);
	if (!pd) {
		drop(p, DNS_DROP_PENDING_FULL);
		return;
	}
	pd->q = *q;
	pd->to = *to;
	if (to->kind == CLIENT_TCP) {
		struct tcp_client *c = client_of(p, to);

		if (!c) {
			drop(p, DNS_DROP_CLIENT_GONE);
			pending_end(p, pd);
			return;
		}
		c->inflight++;
	}
	if (p->preferred && p->now >= p->failback_at)
		p->preferred = 0;
	pd->first_up = (uint8_t)p->preferred;
	pd->up = pd->first_up;
	p->cnt.forwarded++;
	attempt_next(p, pd);
}

/* A TC=1 answer: ask the same upstream again over TCP (RFC 7766 5). */
static void tcp_fallback(struct dns_proxy *p, struct pending *pd)
{
	struct sockaddr_in sin = upstream_sin(p, pd->up);
	uint8_t *buf;
	uint16_t id;
	size_t len;
	unsigned b;

	pending_close(p, pd);
	for (b = 0; b < DNS_UPSTREAM_TCP_BUFFERS && p->tcpbuf_used[b]; b++)
		;
	if (b == DNS_UPSTREAM_TCP_BUFFERS) {
		drop(p, DNS_DROP_TCP_NO_BUFFER);
		attempt_next(p, pd);
		return;
	}
	if (random16(p, &id)) {
		drop(p, DNS_DROP_NO_RANDOM);
		attempt_next(p, pd);
		return;
	}
	p->tcpbuf_used[b] = true;
	pd->tcpbuf = b;
	buf = p->tcpbufs + (size_t)b * TCP_MSG_BUF;
	len = dns_msg_build_query(buf + 2, TCP_MSG_BUF - 2, id, DNS_RD | (pd->q.flags & DNS_CD),
				  pd->q.qname, pd->q.qname_len, pd->q.qtype, pd->q.qclass,
				  DNS_EDNS_PAYLOAD);
	dns_wr16(buf, (uint16_t)len);
	p->cnt.tcp_fallbacks++;
	pd->fd = upstream_socket(p, SOCK_STREAM);
	if (pd->fd < 0 || (connect(pd->fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0 &&
			   errno != EINPROGRESS)) {
		drop(p, pd->fd < 0 ? DNS_DROP_SOCKET : DNS_DROP_TCP_UPSTREAM);
		p->up[pd->up].errors++;
		attempt_next(p, pd);
		return;
	}
	pd->state = P_TCP_CONNECT;
	pd->up_id = id;
	pd->gen = ++p->gen;
	pd->tcp_len = (uint32_t)(2 + len);
	pd->tcp_done = 0;
	pd->deadline = p->now + (uint64_t)p->cfg.timeout_ms * DNS_TCP_TIMEOUT_FACTOR;
	p->up[pd->up].sent++;
}

/* The accepted answer @buf (@len bytes, parsed into @a) for @pd: cache it,
 * send it, end the query. */
static void deliver(struct dns_proxy *p, struct pending *pd, uint8_t *buf, size_t len,
		    struct dns_msg *a)
{
	uint8_t name[DNS_NAME_MAX];
	struct dns_key k;
	uint32_t ttl;
	bool negative;

	len = dns_msg_strip_opt(buf, a);
	if (dns_msg_parse(a, buf, len) != DNS_MSG_OK || a->edns) {
		/* The OPT record was not last (legal, unseen): not worth a
		 * rewrite of every later compression pointer. */
		drop(p, DNS_DROP_MALFORMED_ANSWER);
		pending_servfail(p, pd);
		return;
	}
	if (p->cache && !(pd->q.flags & DNS_CD) &&
	    dns_msg_cache_ttl(a, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &negative) &&
	    !dns_msg_rewrite_ttls(buf, len, 0, DNS_TTL_CAP)) {
		k = key_of(&pd->q, name);
		dns_cache_insert(p->cache, &k, buf, len, ttl, negative, p->now);
	}
	if (!send_answer(p, &pd->q, &pd->to, buf, len, 0)) {
		pending_servfail(p, pd);
		return;
	}
	pending_end(p, pd);
}

/* An upstream reply for @pd, from the right address and port (checked by
 * the caller or implied by TCP). Returns false if it is not the answer
 * (counted, ignored); otherwise it was handled. */
static bool upstream_reply(struct dns_proxy *p, struct pending *pd, uint8_t *buf, size_t len,
			   bool tcp)
{
	struct dns_msg a;
	enum dns_msg_err err;
	unsigned rcode;

	if (len < DNS_HDR_LEN) {
		p->cnt.malformed[DNS_MSG_ERR_HEADER]++;
		drop(p, DNS_DROP_MALFORMED_ANSWER);
		return false;
	}
	if (dns_rd16(buf + DNS_OFF_ID) != pd->up_id) {
		drop(p, DNS_DROP_WRONG_ID);
		return false;
	}
	err = dns_msg_parse(&a, buf, len);
	if (err) {
		p->cnt.malformed[err]++;
		drop(p, DNS_DROP_MALFORMED_ANSWER);
		return false;
	}
	if (!(a.flags & DNS_QR) || dns_msg_opcode(&a) != DNS_OPCODE_QUERY ||
	    !dns_msg_same_question(&a, &pd->q)) {
		drop(p, DNS_DROP_WRONG_QUESTION);
		return false;
	}
	p->cnt.upstream_answers++;
	p->up[pd->up].answered++;
	if (!tcp && (a.flags & DNS_TC)) {
		tcp_fallback(p, pd);
		return true;
	}
	rcode = dns_msg_rcode(&a);
	if (rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED ||
	    rcode == DNS_RCODE_NOTIMP || rcode == DNS_RCODE_FORMERR) {
		drop(p, DNS_DROP_UPSTREAM_ERROR);
		p->up[pd->up].errors++;
		if (pd->attempt < p->cfg.tries && p->cfg.n_upstream > 1) {
			pending_close(p, pd);
			attempt_next(p, pd);
			return true;
		}
	}
	deliver(p, pd, buf, len, &a);
	return true;
}

static void pending_udp_input(struct dns_proxy *p, struct pending *pd)
{
	uint32_t gen = pd->gen;

	for (int i = 0; i < REPLY_BURST && pd->gen == gen; i++) {
		const struct dns_upstream *u = &p->cfg.upstream[pd->up];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(pd->fd, p->pkt, sizeof(p->pkt), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		/* RFC 5452 9.1: only from where the query went. */
		if (fl != sizeof(from) || from.sin_family != AF_INET ||
		    from.sin_addr.s_addr != u->addr || ntohs(from.sin_port) != u->port) {
			drop(p, DNS_DROP_WRONG_SOURCE);
			continue;
		}
		upstream_reply(p, pd, p->pkt, (size_t)n, false);
	}
}

static void tcp_upstream_fail(struct dns_proxy *p, struct pending *pd)
{
	drop(p, DNS_DROP_TCP_UPSTREAM);
	p->up[pd->up].errors++;
	pending_close(p, pd);
	attempt_next(p, pd);
}

static void pending_tcp_event(struct dns_proxy *p, struct pending *pd)
{
	uint8_t *buf = p->tcpbufs + (size_t)pd->tcpbuf * TCP_MSG_BUF;

	if (pd->state == P_TCP_CONNECT) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(pd->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			tcp_upstream_fail(p, pd);
			return;
		}
		pd->state = P_TCP_WRITE;
	}
	if (pd->state == P_TCP_WRITE) {
		ssize_t n = send(pd->fd, buf + pd->tcp_done, pd->tcp_len - pd->tcp_done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				tcp_upstream_fail(p, pd);
			return;
		}
		pd->tcp_done += (uint32_t)n;
		if (pd->tcp_done == pd->tcp_len) {
			pd->state = P_TCP_READ;
			pd->tcp_done = 0;
		}
		return;
	}
	for (int i = 0; i < TCP_READS; i++) {
		uint32_t need = pd->tcp_done < 2 ? 2 : 2u + dns_rd16(buf);
		ssize_t n = recv(pd->fd, buf + pd->tcp_done, need - pd->tcp_done, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			tcp_upstream_fail(p, pd);
			return;
		}
		pd->tcp_done += (uint32_t)n;
		if (pd->tcp_done == 2 && dns_rd16(buf) < DNS_HDR_LEN) {
			tcp_upstream_fail(p, pd);
			return;
		}
		if (pd->tcp_done > 2 && pd->tcp_done == 2u + dns_rd16(buf)) {
			if (!upstream_reply(p, pd, buf + 2, pd->tcp_done - 2, true))
				tcp_upstream_fail(p, pd);
			return;
		}
	}
}

static void pending_timeout(struct dns_proxy *p, struct pending *pd)
{
	p->cnt.upstream_timeouts++;
	p->up[pd->up].timeouts++;
	if (pd->state != P_UDP)
		drop(p, DNS_DROP_TCP_UPSTREAM);
	/* Sticky failover: the next queries start at the next upstream. */
	if (p->cfg.n_upstream > 1 && pd->up == p->preferred) {
		p->preferred = (pd->up + 1u) % p->cfg.n_upstream;
		p->failback_at = p->now + DNS_FAILBACK_MS;
	}
	pending_close(p, pd);
	attempt_next(p, pd);
}

/* ---- queries from LAN clients ---- */

static bool refused_type(uint16_t qtype)
{
	/* Zone transfers need a multi-message TCP stream; MAILA/MAILB are
	 * obsolete (RFC 2505 6.3 no longer wants them). */
	return qtype == DNS_T_AXFR || qtype == DNS_T_IXFR || qtype == DNS_T_MAILA ||
	       qtype == DNS_T_MAILB;
}

static void on_query(struct dns_proxy *p, const uint8_t *buf, size_t len,
		     const struct client_ref *from)
{
	struct dns_msg q;
	enum dns_msg_err err;
	size_t n;

	if (len >= DNS_HDR_LEN && (dns_rd16(buf + DNS_OFF_FLAGS) & DNS_QR)) {
		drop(p, DNS_DROP_NOT_QUERY);
		return;
	}
	err = dns_msg_parse(&q, buf, len);
	if (err) {
		p->cnt.malformed[err]++;
		drop(p, DNS_DROP_MALFORMED_QUERY);
		n = dns_msg_build_formerr(answer_buf(p), DNS_MSG_MAX, buf, len);
		if (n) {
			p->cnt.formerr_sent++;
			reply(p, from, n);
		}
		return;
	}
	if (dns_msg_opcode(&q) != DNS_OPCODE_QUERY) {
		reply_rcode(p, &q, from, DNS_RCODE_NOTIMP);
		p->cnt.refused_sent++;
		return;
	}
	if (q.edns && q.edns_version) { /* RFC 6891 6.1.3: BADVERS */
		n = dns_msg_build_reply(answer_buf(p), DNS_MSG_MAX, &q, 0, 0);
		reply_built(p, &q, from, n, DNS_RCODE_BADVERS >> 4);
		p->cnt.refused_sent++;
		return;
	}
	if (refused_type(q.qtype)) {
		reply_rcode(p, &q, from, DNS_RCODE_REFUSED);
		p->cnt.refused_sent++;
		return;
	}
	if (answer_local(p, &q, from) || answer_cached(p, &q, from))
		return;
	forward(p, &q, from);
}

static void udp_input(struct dns_proxy *p)
{
	for (int i = 0; i < UDP_BURST; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(p->udp_fd, p->pkt, DNS_QUERY_MAX + 1, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fl);
		struct client_ref ref = {.kind = CLIENT_UDP};

		if (n < 0)
			return;
		if (fl != sizeof(from) || from.sin_family != AF_INET ||
		    !allowed(p, from.sin_addr.s_addr)) {
			p->cnt.refused_not_lan++;
			continue;
		}
		p->cnt.queries_udp++;
		if (n > DNS_QUERY_MAX) {
			drop(p, DNS_DROP_QUERY_TOO_BIG);
			continue;
		}
		ref.sin = from;
		on_query(p, p->pkt, (size_t)n, &ref);
	}
}

/* ---- LAN TCP connections (RFC 7766) ---- */

static void tcp_accept(struct dns_proxy *p)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		int fd =
		    accept4(p->tcp_fd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tcp_client *c = NULL;

		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		if (fl != sizeof(from) || !allowed(p, from.sin_addr.s_addr)) {
			p->cnt.refused_not_lan++;
			close(fd);
			continue;
		}
		for (unsigned k = 0; k < p->cfg.max_tcp_clients && !c; k++)
			if (p->tcp[k].fd < 0)
				c = &p->tcp[k];
		if (!c) {
			p->cnt.tcp_rejected++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->gen = ++p->gen;
		c->eof = c->processing = false;
		c->inflight = 0;
		c->last_ms = p->now;
		c->in_len = c->out_head = c->out_len = 0;
		p->cnt.tcp_accepted++;
		p->cnt.tcp_clients++;
	}
}

/* Take the queries @c has sent, as long as it reads its answers and has
 * fewer than DNS_TCP_PIPELINE in flight; close it when it is done. */
static void tcp_client_process(struct dns_proxy *p, struct tcp_client *c)
{
	uint32_t gen = c->gen;
	struct client_ref ref = {.kind = CLIENT_TCP, .tcp = (uint32_t)(c - p->tcp), .gen = gen};

	if (c->processing)
		return; /* called back from the loop below: it goes on */
	c->processing = true;
	while (c->fd >= 0 && c->gen == gen && c->in_len >= 2 && !c->out_len &&
	       c->inflight < DNS_TCP_PIPELINE) {
		size_t qlen = dns_rd16(c->in);

		if (!qlen || qlen > DNS_QUERY_MAX) {
			drop(p, DNS_DROP_TCP_QUERY_SIZE);
			tcp_close(p, c);
			break;
		}
		if (c->in_len < 2 + qlen)
			break;
		memcpy(p->tcpq, c->in + 2, qlen);
		c->in_len -= (uint32_t)(2 + qlen);
		memmove(c->in, c->in + 2 + qlen, c->in_len);
		p->cnt.queries_tcp++;
		on_query(p, p->tcpq, qlen, &ref);
	}
	c->processing = false;
	/* Every whole query was taken above: what is left at EOF is a part. */
	if (c->fd >= 0 && c->gen == gen && c->eof && !c->inflight && !c->out_len)
		tcp_close(p, c);
}

static void tcp_client_event(struct dns_proxy *p, struct tcp_client *c, short revents)
{
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof && c->in_len < TCP_IN_BUF) {
		ssize_t n = recv(c->fd, c->in + c->in_len, TCP_IN_BUF - c->in_len, MSG_DONTWAIT);

		if (n > 0) {
			c->in_len += (uint32_t)n;
			c->last_ms = p->now;
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			tcp_close(p, c);
			return;
		}
	}
	if ((revents & (POLLOUT | POLLERR | POLLHUP)) && c->out_len)
		tcp_flush(p, c);
	if (c->fd >= 0)
		tcp_client_process(p, c);
}

/* ---- polling and timers ---- */

static void add_fd(struct dns_proxy *p, struct pollfd *fds, unsigned *n, int fd, short events,
		   uint8_t kind, uint32_t idx, uint32_t gen)
{
	fds[*n] = (struct pollfd){.fd = fd, .events = events};
	p->map[*n] = (struct pollref){.kind = kind, .fd = fd, .idx = idx, .gen = gen};
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
		const struct tcp_client *c = &p->tcp[i];
		short ev = 0;

		if (c->fd < 0)
			continue;
		if (!c->eof && c->in_len < TCP_IN_BUF)
			ev |= POLLIN;
		if (c->out_len)
			ev |= POLLOUT;
		/* A half-closed connection waiting for upstream answers is
		 * left out: poll() would report its hang-up every time. */
		if (ev)
			add_fd(p, fds, &n, c->fd, ev, REF_CLIENT, i, c->gen);
	}
	for (unsigned i = 0; i < p->cfg.max_pending && n < max; i++) {
		const struct pending *pd = &p->pend[i];

		if (pd->state == P_FREE || pd->fd < 0)
			continue;
		add_fd(p, fds, &n, pd->fd,
		       pd->state == P_TCP_CONNECT || pd->state == P_TCP_WRITE ? POLLOUT : POLLIN,
		       REF_PENDING, i, pd->gen);
	}
	p->map_n = n;
	return n;
}

static void timers(struct dns_proxy *p)
{
	for (unsigned i = 0; i < p->cfg.max_pending; i++) {
		struct pending *pd = &p->pend[i];

		if (pd->state != P_FREE && p->now >= pd->deadline)
			pending_timeout(p, pd);
	}
	for (unsigned i = 0; i < p->cfg.max_tcp_clients; i++) {
		struct tcp_client *c = &p->tcp[i];

		if (c->fd >= 0 && !c->inflight && p->now - c->last_ms >= p->cfg.tcp_idle_ms) {
			p->cnt.tcp_idle_closed++;
			tcp_close(p, c);
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
		const struct pollref *r = &p->map[i];
		short rev = fds[i].revents;

		if (!rev || fds[i].fd != r->fd)
			continue;
		if (r->kind == REF_UDP) {
			udp_input(p);
		} else if (r->kind == REF_TCP_LISTEN) {
			tcp_accept(p);
		} else if (r->kind == REF_CLIENT) {
			struct tcp_client *c = &p->tcp[r->idx];

			if (c->fd == r->fd && c->gen == r->gen)
				tcp_client_event(p, c, rev);
		} else {
			struct pending *pd = &p->pend[r->idx];

			if (pd->state == P_FREE || pd->gen != r->gen || pd->fd != r->fd)
				continue;
			if (pd->state == P_UDP)
				pending_udp_input(p, pd);
			else
				pending_tcp_event(p, pd);
		}
	}
	p->map_n = 0;
	timers(p);
}

int dns_proxy_timeout_ms(const struct dns_proxy *p, uint64_t now_ms)
{
	uint64_t next = now_ms + TIMEOUT_MAX_MS;

	for (unsigned i = 0; i < p->cfg.max_pending; i++)
		if (p->pend[i].state != P_FREE && p->pend[i].deadline < next)
			next = p->pend[i].deadline;
	for (unsigned i = 0; i < p->cfg.max_tcp_clients; i++) {
		const struct tcp_client *c = &p->tcp[i];

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
		const struct upstream_stats *u = &p->up[i];

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
		const struct upstream_stats *u = &p->up[i];

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
