/* dns_lan.c - the DNS proxy's LAN side: queries from clients over UDP and
 * TCP (RFC 7766), answered from the local zone, the cache or the
 * upstreams, and the answers sent back.
 */
#include "dns_internal.h"
#include "dns_msg.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	UDP_BURST = 64,	   /* datagrams read from the listener per run */
	ACCEPT_BURST = 16, /* connections accepted per run */
};

/* ---- answering clients ---- */

struct dns_tcp_client *dns_client_of(struct dns_proxy *p, const struct dns_client_ref *to)
{
	struct dns_tcp_client *c = &p->tcp[to->tcp];

	return c->fd >= 0 && c->gen == to->gen ? c : NULL;
}

void dns_tcp_close(struct dns_proxy *p, struct dns_tcp_client *c)
{
	close(c->fd);
	c->fd = -1;
	p->cnt.tcp_clients--;
}

static void tcp_flush(struct dns_proxy *p, struct dns_tcp_client *c)
{
	while (c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + c->out_head, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				dns_tcp_close(p, c);
			return;
		}
		c->out_head += (uint32_t)n;
		c->out_len -= (uint32_t)n;
		c->last_ms = p->now;
	}
	c->out_head = 0;
}

/* Send the @len-byte answer at dns_answer_buf() to @to. */
void dns_reply(struct dns_proxy *p, const struct dns_client_ref *to, size_t len)
{
	struct dns_tcp_client *c;

	if (to->kind == DNS_CLIENT_UDP) {
		if (sendto(p->udp_fd, dns_answer_buf(p), len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&to->sin, sizeof(to->sin)) < 0)
			dns_dropped(p, DNS_DROP_SEND);
		return;
	}
	c = dns_client_of(p, to);
	if (!c) {
		dns_dropped(p, DNS_DROP_CLIENT_GONE);
		return;
	}
	if (c->out_head + c->out_len + 2 + len > DNS_TCP_MSG_BUF) {
		memmove(c->out, c->out + c->out_head, c->out_len);
		c->out_head = 0;
	}
	if (c->out_len + 2 + len > DNS_TCP_MSG_BUF) {
		dns_dropped(p, DNS_DROP_TCP_OUT_FULL);
		dns_tcp_close(p, c);
		return;
	}
	dns_wr16(p->out, (uint16_t)len); /* RFC 1035 4.2.2 length prefix */
	memcpy(c->out + c->out_head + c->out_len, p->out, 2 + len);
	c->out_len += (uint32_t)(2 + len);
	tcp_flush(p, c);
}

static size_t client_limit(const struct dns_msg *q, const struct dns_client_ref *to)
{
	if (to->kind == DNS_CLIENT_TCP)
		return DNS_MSG_MAX;
	if (!q->edns || q->edns_payload <= DNS_UDP_MIN)
		return DNS_UDP_MIN; /* RFC 6891 6.2.5: below 512 means 512 */
	return q->edns_payload < DNS_CLIENT_UDP_MAX ? q->edns_payload : DNS_CLIENT_UDP_MAX;
}

/* Finish the answer of @len bytes at dns_answer_buf() (an OPT record if the
 * query had one) and send it. */
void dns_reply_built(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to,
		     size_t len, uint8_t ext_rcode)
{
	if (len && q->edns)
		len = dns_msg_append_opt(dns_answer_buf(p), len, DNS_MSG_MAX, DNS_EDNS_PAYLOAD,
					 ext_rcode);
	if (len)
		dns_reply(p, to, len);
}

void dns_reply_rcode(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to,
		     unsigned rcode)
{
	size_t len = dns_msg_build_reply(dns_answer_buf(p), DNS_MSG_MAX, q, 0, rcode);

	dns_reply_built(p, q, to, len, 0);
}

/* ---- the cache ---- */

struct dns_key dns_key_of(const struct dns_msg *q, uint8_t *name)
{
	memcpy(name, q->qname, q->qname_len);
	dns_name_lower(name, q->qname_len);
	return (struct dns_key){
	    .name = name, .name_len = q->qname_len, .qtype = q->qtype, .qclass = q->qclass};
}

/* Send @ans (@len bytes, no OPT) to @to as the answer to @q, @age seconds
 * old. False if it cannot be made into one. */
bool dns_send_answer(struct dns_proxy *p, const struct dns_msg *q, const struct dns_client_ref *to,
		     const uint8_t *ans, size_t len, uint32_t age)
{
	size_t n = dns_msg_for_client(dns_answer_buf(p), DNS_MSG_MAX, ans, len, q, age,
				      client_limit(q, to));

	if (!n)
		return false;
	if (dns_rd16(dns_answer_buf(p) + DNS_OFF_FLAGS) & DNS_TC)
		p->cnt.truncated_sent++;
	dns_reply(p, to, n);
	return true;
}

static bool answer_cached(struct dns_proxy *p, const struct dns_msg *q,
			  const struct dns_client_ref *to)
{
	uint8_t name[DNS_NAME_MAX];
	struct dns_key k = dns_key_of(q, name);
	uint32_t age = 0;
	size_t n = 0;

	/* CD=1 (RFC 4035 3.2.2) asks for what a validator would refuse: such
	 * answers are neither served from nor stored in the shared cache. */
	if (p->cache && !(q->flags & DNS_CD))
		n = dns_cache_lookup(p->cache, &k, p->now, p->ans, sizeof(p->ans), &age);

	if (!n || !dns_send_answer(p, q, to, p->ans, n, age)) {
		p->cnt.cache_misses++;
		return false;
	}
	p->cnt.cache_hits++;
	return true;
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
		     const struct dns_client_ref *from)
{
	struct dns_msg q;
	enum dns_msg_err err;
	size_t n;

	if (len >= DNS_HDR_LEN && (dns_rd16(buf + DNS_OFF_FLAGS) & DNS_QR)) {
		dns_dropped(p, DNS_DROP_NOT_QUERY);
		return;
	}
	err = dns_msg_parse(&q, buf, len);
	if (err) {
		p->cnt.malformed[err]++;
		dns_dropped(p, DNS_DROP_MALFORMED_QUERY);
		n = dns_msg_build_formerr(dns_answer_buf(p), DNS_MSG_MAX, buf, len);
		if (n) {
			p->cnt.formerr_sent++;
			dns_reply(p, from, n);
		}
		return;
	}
	if (dns_msg_opcode(&q) != DNS_OPCODE_QUERY) {
		dns_reply_rcode(p, &q, from, DNS_RCODE_NOTIMP);
		p->cnt.refused_sent++;
		return;
	}
	if (q.edns && q.edns_version) { /* RFC 6891 6.1.3: BADVERS */
		n = dns_msg_build_reply(dns_answer_buf(p), DNS_MSG_MAX, &q, 0, 0);
		dns_reply_built(p, &q, from, n, DNS_RCODE_BADVERS >> 4);
		p->cnt.refused_sent++;
		return;
	}
	if (refused_type(q.qtype)) {
		dns_reply_rcode(p, &q, from, DNS_RCODE_REFUSED);
		p->cnt.refused_sent++;
		return;
	}
	if (dns_answer_local(p, &q, from) || answer_cached(p, &q, from))
		return;
	dns_forward(p, &q, from);
}

void dns_udp_input(struct dns_proxy *p)
{
	for (int i = 0; i < UDP_BURST; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(p->udp_fd, p->pkt, DNS_QUERY_MAX + 1, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fl);
		struct dns_client_ref ref = {.kind = DNS_CLIENT_UDP};

		if (n < 0)
			return;
		if (fl != sizeof(from) || from.sin_family != AF_INET ||
		    !dns_allowed(p, from.sin_addr.s_addr)) {
			p->cnt.refused_not_lan++;
			continue;
		}
		p->cnt.queries_udp++;
		if (n > DNS_QUERY_MAX) {
			dns_dropped(p, DNS_DROP_QUERY_TOO_BIG);
			continue;
		}
		ref.sin = from;
		on_query(p, p->pkt, (size_t)n, &ref);
	}
}

/* ---- LAN TCP connections (RFC 7766) ---- */

void dns_tcp_accept(struct dns_proxy *p)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		int fd =
		    accept4(p->tcp_fd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct dns_tcp_client *c = NULL;

		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		if (fl != sizeof(from) || !dns_allowed(p, from.sin_addr.s_addr)) {
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
void dns_tcp_client_process(struct dns_proxy *p, struct dns_tcp_client *c)
{
	uint32_t gen = c->gen;
	struct dns_client_ref ref = {
	    .kind = DNS_CLIENT_TCP, .tcp = (uint32_t)(c - p->tcp), .gen = gen};

	if (c->processing)
		return; /* called back from the loop below: it goes on */
	c->processing = true;
	while (c->fd >= 0 && c->gen == gen && c->in_len >= 2 && !c->out_len &&
	       c->inflight < DNS_TCP_PIPELINE) {
		size_t qlen = dns_rd16(c->in);

		if (!qlen || qlen > DNS_QUERY_MAX) {
			dns_dropped(p, DNS_DROP_TCP_QUERY_SIZE);
			dns_tcp_close(p, c);
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
		dns_tcp_close(p, c);
}

void dns_tcp_client_event(struct dns_proxy *p, struct dns_tcp_client *c, short revents)
{
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof && c->in_len < DNS_TCP_IN_BUF) {
		ssize_t n =
		    recv(c->fd, c->in + c->in_len, DNS_TCP_IN_BUF - c->in_len, MSG_DONTWAIT);

		if (n > 0) {
			c->in_len += (uint32_t)n;
			c->last_ms = p->now;
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			dns_tcp_close(p, c);
			return;
		}
	}
	if ((revents & (POLLOUT | POLLERR | POLLHUP)) && c->out_len)
		tcp_flush(p, c);
	if (c->fd >= 0)
		dns_tcp_client_process(p, c);
}
