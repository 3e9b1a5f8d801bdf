/* dns_upstream.c - the DNS proxy's upstream side: queries in flight,
 * asked over UDP from a fresh random port with a fresh random id (RFC 5452),
 * replies validated, retries and failover, the TC=1 fallback to TCP (RFC
 * 7766 5), and the answer taken: cached and sent to the client.
 */
#include "dns_internal.h"
#include "dns_msg.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	REPLY_BURST = 8, /* datagrams read from one upstream socket per run */
	TCP_READS = 8,	 /* reads of one upstream TCP answer per run */
};

/* ---- upstream sockets ---- */

/* An upstream socket: UDP bound to port 0 (the kernel picks a random
 * ephemeral port: RFC 5452 10), or TCP (connect() picks one). */
static int upstream_socket(struct dns_proxy *p, int type)
{
	struct sockaddr_in any = {.sin_family = AF_INET};
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (dns_bind_dev(fd, p->cfg.upstream_dev) < 0 ||
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

/* ---- queries in flight ---- */

static struct dns_pending *pending_new(struct dns_proxy *p)
{
	struct dns_pending *pd;

	if (p->pend_free == DNS_NIL)
		return NULL;
	pd = &p->pend[p->pend_free];
	p->pend_free = pd->next_free;
	pd->state = DNS_PEND_UDP;
	pd->attempt = 0;
	pd->fd = -1;
	pd->tcpbuf = DNS_NIL;
	pd->gen = ++p->gen;
	p->cnt.pending++;
	return pd;
}

static void pending_close(struct dns_proxy *p, struct dns_pending *pd)
{
	if (pd->fd >= 0)
		close(pd->fd);
	pd->fd = -1;
	if (pd->tcpbuf != DNS_NIL)
		p->tcpbuf_used[pd->tcpbuf] = false;
	pd->tcpbuf = DNS_NIL;
}

/* The query is over (answered or not): free it, and let its TCP client go
 * on with the queries it pipelined. */
static void pending_end(struct dns_proxy *p, struct dns_pending *pd)
{
	struct dns_client_ref to = pd->to;
	struct dns_tcp_client *c;

	pending_close(p, pd);
	pd->state = DNS_PEND_FREE;
	pd->gen = ++p->gen;
	pd->next_free = p->pend_free;
	p->pend_free = (uint32_t)(pd - p->pend);
	p->cnt.pending--;
	if (to.kind == DNS_CLIENT_TCP && (c = dns_client_of(p, &to))) {
		c->inflight--;
		dns_tcp_client_process(p, c);
	}
}

static void pending_servfail(struct dns_proxy *p, struct dns_pending *pd)
{
	dns_reply_rcode(p, &pd->q, &pd->to, DNS_RCODE_SERVFAIL);
	p->cnt.servfail_sent++;
	pending_end(p, pd);
}

/* A new attempt over UDP to upstream pd->up: fresh socket, fresh id. */
static int send_udp(struct dns_proxy *p, struct dns_pending *pd)
{
	struct sockaddr_in sin = upstream_sin(p, pd->up);
	uint16_t id;
	size_t len;

	pending_close(p, pd);
	if (random16(p, &id)) {
		dns_dropped(p, DNS_DROP_NO_RANDOM);
		return -1;
	}
	len = dns_msg_build_query(p->qbuf, sizeof(p->qbuf), id, DNS_RD | (pd->q.flags & DNS_CD),
				  pd->q.qname, pd->q.qname_len, pd->q.qtype, pd->q.qclass,
				  DNS_EDNS_PAYLOAD);
	pd->fd = upstream_socket(p, SOCK_DGRAM);
	if (pd->fd < 0) {
		dns_dropped(p, DNS_DROP_SOCKET);
		return -1;
	}
	if (!len || sendto(pd->fd, p->qbuf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&sin, sizeof(sin)) != (ssize_t)len) {
		dns_dropped(p, DNS_DROP_SEND);
		pending_close(p, pd);
		return -1;
	}
	pd->state = DNS_PEND_UDP;
	pd->up_id = id;
	pd->gen = ++p->gen;
	pd->deadline = p->now + p->cfg.timeout_ms;
	p->up[pd->up].sent++;
	return 0;
}

/* The next attempt, on the next upstream in turn; SERVFAIL when `tries`
 * attempts have been made. */
static void attempt_next(struct dns_proxy *p, struct dns_pending *pd)
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
		      const struct dns_client_ref *to)
{
	for (unsigned i = 0; i < p->cfg.max_pending; i++) {
		const struct dns_pending *pd = &p->pend[i];

		if (pd->state == DNS_PEND_FREE || pd->to.kind != to->kind || pd->q.id != q->id ||
		    !dns_msg_same_question(&pd->q, q))
			continue;
		if (to->kind == DNS_CLIENT_UDP
			? pd->to.sin.sin_addr.s_addr == to->sin.sin_addr.s_addr &&
			      pd->to.sin.sin_port == to->sin.sin_port
			: pd->to.tcp == to->tcp && pd->to.gen == to->gen)
			return true;
	}
	return false;
}

void dns_forward(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to)
{
	struct dns_pending *pd;

	if (!p->cfg.n_upstream) {
		dns_reply_rcode(p, q, to, DNS_RCODE_SERVFAIL);
		p->cnt.servfail_sent++;
		return;
	}
	if (duplicate(p, q, to)) {
		dns_dropped(p, DNS_DROP_DUPLICATE);
		return;
	}
	pd = pending_new(p);
	if (!pd) {
		dns_dropped(p, DNS_DROP_PENDING_FULL);
		return;
	}
	pd->q = *q;
	pd->to = *to;
	if (to->kind == DNS_CLIENT_TCP) {
		struct dns_tcp_client *c = dns_client_of(p, to);

		if (!c) {
			dns_dropped(p, DNS_DROP_CLIENT_GONE);
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
static void tcp_fallback(struct dns_proxy *p, struct dns_pending *pd)
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
		dns_dropped(p, DNS_DROP_TCP_NO_BUFFER);
		attempt_next(p, pd);
		return;
	}
	if (random16(p, &id)) {
		dns_dropped(p, DNS_DROP_NO_RANDOM);
		attempt_next(p, pd);
		return;
	}
	p->tcpbuf_used[b] = true;
	pd->tcpbuf = b;
	buf = p->tcpbufs + (size_t)b * DNS_TCP_MSG_BUF;
	len = dns_msg_build_query(buf + 2, DNS_TCP_MSG_BUF - 2, id, DNS_RD | (pd->q.flags & DNS_CD),
				  pd->q.qname, pd->q.qname_len, pd->q.qtype, pd->q.qclass,
				  DNS_EDNS_PAYLOAD);
	dns_wr16(buf, (uint16_t)len);
	p->cnt.tcp_fallbacks++;
	pd->fd = upstream_socket(p, SOCK_STREAM);
	if (pd->fd < 0 || (connect(pd->fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0 &&
			   errno != EINPROGRESS)) {
		dns_dropped(p, pd->fd < 0 ? DNS_DROP_SOCKET : DNS_DROP_TCP_UPSTREAM);
		p->up[pd->up].errors++;
		attempt_next(p, pd);
		return;
	}
	pd->state = DNS_PEND_TCP_CONNECT;
	pd->up_id = id;
	pd->gen = ++p->gen;
	pd->tcp_len = (uint32_t)(2 + len);
	pd->tcp_done = 0;
	pd->deadline = p->now + (uint64_t)p->cfg.timeout_ms * DNS_TCP_TIMEOUT_FACTOR;
	p->up[pd->up].sent++;
}

/* The accepted answer @buf (@len bytes, parsed into @a) for @pd: cache it,
 * send it, end the query. */
static void deliver(struct dns_proxy *p, struct dns_pending *pd, uint8_t *buf, size_t len,
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
		dns_dropped(p, DNS_DROP_MALFORMED_ANSWER);
		pending_servfail(p, pd);
		return;
	}
	if (p->cache && !(pd->q.flags & DNS_CD) &&
	    dns_msg_cache_ttl(a, DNS_TTL_CAP, DNS_NEG_TTL_CAP, &ttl, &negative) &&
	    !dns_msg_rewrite_ttls(buf, len, 0, DNS_TTL_CAP)) {
		k = dns_key_of(&pd->q, name);
		dns_cache_insert(p->cache, &k, buf, len, ttl, negative, p->now);
	}
	if (!dns_send_answer(p, &pd->q, &pd->to, buf, len, 0)) {
		pending_servfail(p, pd);
		return;
	}
	pending_end(p, pd);
}

/* An upstream reply for @pd, from the right address and port (checked by
 * the caller or implied by TCP). Returns false if it is not the answer
 * (counted, ignored); otherwise it was handled. */
static bool upstream_reply(struct dns_proxy *p, struct dns_pending *pd, uint8_t *buf, size_t len,
			   bool tcp)
{
	struct dns_msg a;
	enum dns_msg_err err;
	unsigned rcode;

	if (len < DNS_HDR_LEN) {
		p->cnt.malformed[DNS_MSG_ERR_HEADER]++;
		dns_dropped(p, DNS_DROP_MALFORMED_ANSWER);
		return false;
	}
	if (dns_rd16(buf + DNS_OFF_ID) != pd->up_id) {
		dns_dropped(p, DNS_DROP_WRONG_ID);
		return false;
	}
	err = dns_msg_parse(&a, buf, len);
	if (err) {
		p->cnt.malformed[err]++;
		dns_dropped(p, DNS_DROP_MALFORMED_ANSWER);
		return false;
	}
	if (!(a.flags & DNS_QR) || dns_msg_opcode(&a) != DNS_OPCODE_QUERY ||
	    !dns_msg_same_question(&a, &pd->q)) {
		dns_dropped(p, DNS_DROP_WRONG_QUESTION);
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
		dns_dropped(p, DNS_DROP_UPSTREAM_ERROR);
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

void dns_pending_udp_input(struct dns_proxy *p, struct dns_pending *pd)
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
			dns_dropped(p, DNS_DROP_WRONG_SOURCE);
			continue;
		}
		upstream_reply(p, pd, p->pkt, (size_t)n, false);
	}
}

static void tcp_upstream_fail(struct dns_proxy *p, struct dns_pending *pd)
{
	dns_dropped(p, DNS_DROP_TCP_UPSTREAM);
	p->up[pd->up].errors++;
	pending_close(p, pd);
	attempt_next(p, pd);
}

void dns_pending_tcp_event(struct dns_proxy *p, struct dns_pending *pd)
{
	uint8_t *buf = p->tcpbufs + (size_t)pd->tcpbuf * DNS_TCP_MSG_BUF;

	if (pd->state == DNS_PEND_TCP_CONNECT) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(pd->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			tcp_upstream_fail(p, pd);
			return;
		}
		pd->state = DNS_PEND_TCP_WRITE;
	}
	if (pd->state == DNS_PEND_TCP_WRITE) {
		ssize_t n = send(pd->fd, buf + pd->tcp_done, pd->tcp_len - pd->tcp_done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				tcp_upstream_fail(p, pd);
			return;
		}
		pd->tcp_done += (uint32_t)n;
		if (pd->tcp_done == pd->tcp_len) {
			pd->state = DNS_PEND_TCP_READ;
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

void dns_pending_timeout(struct dns_proxy *p, struct dns_pending *pd)
{
	p->cnt.upstream_timeouts++;
	p->up[pd->up].timeouts++;
	if (pd->state != DNS_PEND_UDP)
		dns_dropped(p, DNS_DROP_TCP_UPSTREAM);
	/* Sticky failover: the next queries start at the next upstream. */
	if (p->cfg.n_upstream > 1 && pd->up == p->preferred) {
		p->preferred = (pd->up + 1u) % p->cfg.n_upstream;
		p->failback_at = p->now + DNS_FAILBACK_MS;
	}
	pending_close(p, pd);
	attempt_next(p, pd);
}
