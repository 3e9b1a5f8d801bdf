/* fuzz_dns_proxy.c - libFuzzer harness for the DNS proxy as a whole
 * (src/svc/dns_proxy.c, dns_lan.c, dns_upstream.c, dns_local.c): its LAN
 * side over UDP and TCP (length-prefixed framing, RFC 7766 8), its local
 * zone, and its upstream answer path, UDP and the TCP fallback.
 *
 * Everything is on loopback (127.0.0.1, ports the kernel chooses): the
 * proxy, LAN clients (one UDP socket, up to TCP_CLIENTS TCP connections)
 * and two stand-in upstreams (a UDP socket and a TCP listener each on one
 * port, plus a "spoofer" socket on another). The input is a list of
 * records, each one step: a client sends a raw or a built query (or a
 * local-zone one) over UDP or TCP, in any framing; an upstream answers
 * the oldest query it holds, properly, truncated (TC), with an error
 * rcode, mangled, with the wrong id or from the wrong port; an upstream
 * takes a TCP fallback and answers it; time passes (a virtual clock, so
 * timeouts and failover run the same way every time). After each step
 * the proxy runs until it has nothing left to do. The proxy and the
 * sockets are made anew per input. Checked: no crash, no sanitizer
 * report, every UDP answer a client gets is a response (QR) no longer
 * than DNS_CLIENT_UDP_MAX with the client's id.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "../src/svc/dns_msg.h"
#include "../src/svc/dns_proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum { UPSTREAMS = 2, TCP_CLIENTS = 3, RECORDS = 48, BUF = 4200 };

#define LOOPBACK htonl(INADDR_LOOPBACK)

struct upstream {
	int udp, tcp_l, spoof;
	uint16_t port;
};

struct rig {
	struct dns_proxy *p;
	struct upstream up[UPSTREAMS];
	int client;	      /* UDP */
	int tcp[TCP_CLIENTS]; /* LAN TCP connections, -1: none */
	uint16_t last_id;     /* of the last UDP query a client sent */
	uint64_t now;	      /* the virtual clock, ms */
};

/* ---- the input ---- */

/* Up to @max bytes of input, their count first (one byte). */
static size_t take_bytes(const uint8_t **d, size_t *n, uint8_t *out, size_t max)
{
	size_t len = fuzz_take(d, n, 1);

	len = len < max ? len : max;
	len = len < *n ? len : *n;
	memcpy(out, *d, len);
	*d += len;
	*n -= len;
	return len;
}

/* ---- sockets ---- */

static int udp_socket(uint16_t port, uint16_t *got)
{
	struct sockaddr_in sin = {
	    .sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK, .sin_port = htons(port)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl))
		abort();
	if (got)
		*got = ntohs(sin.sin_port);
	return fd;
}

/* UDP and TCP on one port: the TCP fallback asks the upstream that
 * answered with TC. A port the kernel gave to UDP may be taken for TCP:
 * then another. */
static void upstream_open(struct upstream *u)
{
	for (int tries = 0; tries < 32; tries++) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK};
		u->udp = udp_socket(0, &u->port);
		sin.sin_port = htons(u->port);
		u->tcp_l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (u->tcp_l >= 0 && !bind(u->tcp_l, (struct sockaddr *)&sin, sizeof(sin)) &&
		    !listen(u->tcp_l, 8)) {
			u->spoof = udp_socket(0, NULL);
			return;
		}
		close(u->udp);
		if (u->tcp_l >= 0)
			close(u->tcp_l);
	}
	abort();
}

static void upstream_close(struct upstream *u)
{
	close(u->udp);
	close(u->tcp_l);
	close(u->spoof);
}

static void proxy_config(struct rig *r, struct dns_proxy_config *cfg);

static int local_name(void *ctx, const char *host, uint32_t *addr)
{
	(void)ctx;
	if (strcmp(host, "printer") && strcmp(host, "laptop"))
		return -1;
	*addr = htonl(host[0] == 'p' ? 0x7f000032 : 0x7f000033);
	return 0;
}

static int local_addr(void *ctx, uint32_t addr, char *host, size_t size)
{
	(void)ctx;
	if (addr != htonl(0x7f000032))
		return -1;
	snprintf(host, size, "Printer");
	return 0;
}

static void proxy_config(struct rig *r, struct dns_proxy_config *cfg)
{
	dns_proxy_config_default(cfg);
	cfg->listen_addr = LOOPBACK;
	cfg->listen_port = 0;
	cfg->allow_net = htonl(0x7f000000);
	cfg->allow_mask = htonl(0xff000000);
	cfg->n_upstream = UPSTREAMS;
	for (unsigned i = 0; i < UPSTREAMS; i++)
		cfg->upstream[i] = (struct dns_upstream){.addr = LOOPBACK, .port = r->up[i].port};
	cfg->cache_entries = 16;
	cfg->cache_bytes = 8192;
	cfg->timeout_ms = 200;
	cfg->tries = 3;
	cfg->max_pending = 6;
	cfg->max_tcp_clients = 2; /* one less than the clients: "full" is reached */
	cfg->tcp_idle_ms = 1000;
	cfg->name_to_addr = local_name;
	cfg->addr_to_name = local_addr;
}

static void rig_open(struct rig *r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK};
	struct dns_proxy_config cfg;
	const char *why = "";

	memset(r, 0, sizeof(*r));
	r->now = 1000000;
	for (unsigned i = 0; i < UPSTREAMS; i++)
		upstream_open(&r->up[i]);
	proxy_config(r, &cfg);
	/* Port 0: a port free for UDP and TCP both, which the proxy looks for
	 * a bounded number of times; many runs a second can use them up for a
	 * moment (the proxy's own closes leave TIME_WAIT): try again. */
	for (int tries = 0; dns_proxy_create(&cfg, &r->p, &why); tries++)
		if (tries == 20) {
			fprintf(stderr, "fuzz_dns_proxy: dns_proxy_create: %s\n", why);
			abort();
		}
	r->client = udp_socket(0, NULL);
	sin.sin_port = htons(dns_proxy_port(r->p));
	if (connect(r->client, (struct sockaddr *)&sin, sizeof(sin)))
		abort();
	for (unsigned i = 0; i < TCP_CLIENTS; i++)
		r->tcp[i] = -1;
}

static void rig_close(struct rig *r)
{
	dns_proxy_destroy(r->p);
	for (unsigned i = 0; i < UPSTREAMS; i++)
		upstream_close(&r->up[i]);
	close(r->client);
	for (unsigned i = 0; i < TCP_CLIENTS; i++)
		if (r->tcp[i] >= 0)
			close(r->tcp[i]);
}

/* The proxy runs until a round finds nothing to do (bounded). Loopback
 * delivers at once, so a zero poll timeout sees everything sent. */
static void pump(struct rig *r)
{
	struct pollfd fds[64];

	for (int round = 0; round < 8; round++) {
		unsigned n = dns_proxy_pollfds(r->p, fds, 64);
		int ready = poll(fds, n, 0);
		dns_proxy_run(r->p, fds, n, r->now);
		if (ready <= 0)
			break;
	}
}

/* A LAN client's close resets the connection: no TIME_WAIT left behind by
 * thousands of runs a second (an upstream's answer is closed normally: a
 * reset could take its data with it). */
static void no_linger(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* ---- LAN clients ---- */

/* A name of 1 to 4 labels from the input (any bytes: the proxy must take
 * what a client may send), or a name of the local zone. */
static size_t take_name(const uint8_t **d, size_t *n, uint8_t *name)
{
	static const char *const local[] = {"\7printer\6mshome\3net",
					    "\6laptop\6mshome\3net",
					    "\7nothere\6mshome\3net",
					    "\6mshome\3net",
					    "\00250\0010\0010\003127\7in-addr\4arpa",
					    "\0011\0010\0010\003127\7in-addr\4arpa",
					    "\1a\1b\6mshome\3net",
					    "\7example\3com"};
	unsigned sel = fuzz_take(d, n, 1);
	size_t len = 0;

	if (sel < 128) {
		const char *s = local[sel % 8];
		len = strlen(s) + 1;
		memcpy(name, s, len);
		return len;
	}
	for (unsigned labels = 1 + sel % 4; labels--;) {
		size_t l = 1 + fuzz_take(d, n, 1) % 20;
		name[len++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++)
			name[len++] = (uint8_t)('a' + fuzz_take(d, n, 1) % 26);
	}
	name[len++] = 0;
	return len;
}

static size_t build_query(const uint8_t **d, size_t *n, uint8_t *q, uint16_t id)
{
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_PTR, DNS_T_SOA,
					 255,	  252,	      16,	 0};
	uint8_t name[DNS_NAME_MAX];
	size_t nl = take_name(d, n, name);
	unsigned ctl = fuzz_take(d, n, 1);
	uint16_t type = types[ctl % 8] ? types[ctl % 8] : (uint16_t)fuzz_take(d, n, 2);

	return dns_msg_build_query(
	    q, BUF, id, (uint16_t)((ctl & 8 ? DNS_RD : 0) | (ctl & 16 ? DNS_CD : 0)), name, nl,
	    type, ctl & 32 ? 3 : 1, ctl & 64 ? (uint16_t)(512 + (ctl & 0x80) * 24) : 0);
}

static void client_udp(struct rig *r, const uint8_t **d, size_t *n, bool raw)
{
	uint8_t q[BUF];
	size_t len;

	r->last_id = (uint16_t)fuzz_take(d, n, 2);
	len = raw ? take_bytes(d, n, q, 255) : build_query(d, n, q, r->last_id);
	if (raw && len >= 2)
		r->last_id = dns_rd16(q);
	send(r->client, q, len, MSG_DONTWAIT);
}

/* TCP: open a connection, close one, or send on one: a whole framed
 * query, or bytes as the input has them (split or bad length prefixes). */
static void client_tcp(struct rig *r, const uint8_t **d, size_t *n)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = LOOPBACK,
				  .sin_port = htons(dns_proxy_port(r->p))};
	unsigned ctl = fuzz_take(d, n, 1), c = ctl % TCP_CLIENTS;
	uint8_t buf[BUF];
	size_t len;

	switch (ctl / TCP_CLIENTS % 4) {
	case 0:
		if (r->tcp[c] >= 0)
			close(r->tcp[c]);
		r->tcp[c] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (r->tcp[c] < 0)
			abort();
		no_linger(r->tcp[c]);
		if (connect(r->tcp[c], (struct sockaddr *)&sin, sizeof(sin)))
			abort();
		return;
	case 1:
		if (r->tcp[c] >= 0)
			close(r->tcp[c]);
		r->tcp[c] = -1;
		return;
	case 2:
		len = build_query(d, n, buf + 2, (uint16_t)fuzz_take(d, n, 2));
		dns_wr16(buf, (uint16_t)len);
		len += 2;
		break;
	default:
		len = take_bytes(d, n, buf, 255);
		break;
	}
	if (r->tcp[c] >= 0)
		send(r->tcp[c], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* What clients got: UDP answers must be answers to them; TCP is read and
 * dropped (a client that never reads is what TCP_OUT_FULL is about, so
 * only half the time). */
static void clients_read(struct rig *r, bool tcp)
{
	uint8_t a[BUF];
	ssize_t got;

	while ((got = recv(r->client, a, sizeof(a), MSG_DONTWAIT)) > 0)
		if (got < DNS_HDR_LEN || got > DNS_CLIENT_UDP_MAX || !(a[2] & 0x80)) {
			fprintf(stderr, "fuzz_dns_proxy: a UDP answer that is not one\n");
			abort();
		}
	for (unsigned i = 0; tcp && i < TCP_CLIENTS; i++)
		while (r->tcp[i] >= 0 && recv(r->tcp[i], a, sizeof(a), MSG_DONTWAIT) > 0)
			;
}

/* ---- the upstreams ---- */

/* The answer to query @q as an upstream would give it, shaped by @ctl:
 * records with TTLs from the input, TC, an error rcode, or OPT. */
static size_t answer_for(const uint8_t *q, size_t qlen, uint8_t *a, size_t cap, unsigned ctl,
			 const uint8_t **d, size_t *n)
{
	struct dns_msg m;
	size_t len;
	unsigned records = ctl >> 5;

	if (dns_msg_parse(&m, q, qlen) != DNS_MSG_OK)
		return 0;
	len = dns_msg_build_reply(a, cap, &m, ctl & 1 ? DNS_TC : 0, ctl & 2 ? (ctl >> 2) % 6 : 0);
	for (unsigned i = 0; i < records && len; i++) {
		uint32_t addr = htonl(0x0a000001 + i), ttl = fuzz_take(d, n, 2);
		len = dns_msg_append_rr(a, len, cap,
					i == records - 1 && ctl & 16 ? DNS_SEC_NS : DNS_SEC_AN,
					(const uint8_t *)"\300\014", 2,
					i == records - 1 && ctl & 16 ? DNS_T_SOA : m.qtype,
					DNS_C_IN, ttl, (const uint8_t *)&addr, 4);
	}
	if (len && m.edns && ctl & 8)
		len = dns_msg_append_opt(a, len, cap, 1232, 0);
	return len;
}

/* The oldest query upstream @u holds, answered as the input says:
 * properly, mangled past the header, with another id, or from another
 * port (the spoofer). */
static void upstream_udp(struct rig *r, const uint8_t **d, size_t *n)
{
	struct upstream *u = &r->up[fuzz_take(d, n, 1) % UPSTREAMS];
	uint8_t q[BUF], a[BUF];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	unsigned ctl = fuzz_take(d, n, 1), how = fuzz_take(d, n, 1);
	ssize_t got = recvfrom(u->udp, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	size_t len;

	if (got <= 0)
		return;
	len = answer_for(q, (size_t)got, a, sizeof(a), ctl, d, n);
	if (!len)
		return;
	switch (how % 4) {
	case 1: { /* mangled: input bytes over the message past its header */
		uint8_t junk[256];
		size_t jl = take_bytes(d, n, junk, sizeof(junk));
		size_t at = DNS_HDR_LEN + fuzz_take(d, n, 1) % (len - DNS_HDR_LEN + 1);
		memcpy(a + at, junk, jl < sizeof(a) - at ? jl : sizeof(a) - at);
		len = at + jl > len ? (at + jl < sizeof(a) ? at + jl : sizeof(a)) : len;
		break;
	}
	case 2:
		a[0] ^= (uint8_t)(1 + (how >> 2)); /* another id */
		break;
	case 3:
		sendto(u->spoof, a, len, 0, (struct sockaddr *)&from, fl);
		return;
	}
	sendto(u->udp, a, len, 0, (struct sockaddr *)&from, fl);
}

/* A TCP fallback waiting at upstream @u: taken, its query read, and
 * answered (length-prefixed), maybe with a wrong length or cut short. */
static void upstream_tcp(struct rig *r, const uint8_t **d, size_t *n)
{
	struct upstream *u = &r->up[fuzz_take(d, n, 1) % UPSTREAMS];
	unsigned ctl = fuzz_take(d, n, 1), how = fuzz_take(d, n, 1);
	uint8_t q[BUF], a[BUF];
	int c = accept4(u->tcp_l, NULL, NULL, SOCK_CLOEXEC);
	ssize_t got;
	size_t len;

	if (c < 0)
		return;
	got = recv(c, q, sizeof(q), MSG_DONTWAIT);
	if (got > 2 && (size_t)got >= 2u + dns_rd16(q) &&
	    (len = answer_for(q + 2, dns_rd16(q), a + 2, sizeof(a) - 2, ctl & ~1u, d, n))) {
		dns_wr16(a, (uint16_t)(how & 1 ? len + (how >> 1) : len));
		send(c, a, how & 2 ? 2 + len / 2 : len + 2, MSG_NOSIGNAL);
	}
	close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct rig r;

	rig_open(&r);
	for (unsigned rec = 0; n && rec < RECORDS; rec++) {
		switch (fuzz_take(&d, &n, 1) % 8) {
		case 0:
			client_udp(&r, &d, &n, true);
			break;
		case 1:
		case 2:
			client_udp(&r, &d, &n, false);
			break;
		case 3:
			client_tcp(&r, &d, &n);
			break;
		case 4:
		case 5:
			upstream_udp(&r, &d, &n);
			break;
		case 6:
			upstream_tcp(&r, &d, &n);
			break;
		default:
			r.now += fuzz_take(&d, &n, 2);
			break;
		}
		pump(&r);
		clients_read(&r, rec & 1);
	}
	rig_close(&r);
	return 0;
}
