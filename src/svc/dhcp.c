/* dhcp.c - the DHCP server (RFC 2131, RFC 2132): set-up, the message
 * handlers, input and timers, and names for the DNS proxy. Parsing and
 * replies are in dhcp_msg.c, the address table in dhcp_pool.c, the lease
 * file in dhcp_lease.c (theory of operation in dhcp_internal.h).
 */
#include "dhcp.h"
#include "dhcp_internal.h"
#include "../pkt/pkt.h"
#include "../pkt/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	LEASE_SECS_MIN = 60,
	LEASE_SECS_MAX = 0x7fffffff, /* 0xffffffff would mean "infinite" (RFC 2132 9.2) */
	PROBE_MS_MAX = 10000,
	RATE_MAX = 1000000,
	SWEEP_MS = 1000,
	WRITE_MS = 1000, /* renewals reach the file at most this late */
};

static const char *const drop_names[DHCP_DROP_COUNT] = {[DHCP_OK] = "OK",
#define DHCP_DROP_NAME(name, text) [DHCP_DROP_##name] = #name,
							DHCP_DROP_REASONS(DHCP_DROP_NAME)
#undef DHCP_DROP_NAME
};

static const char *const drop_texts[DHCP_DROP_COUNT] = {[DHCP_OK] = "not dropped",
#define DHCP_DROP_TEXT(name, text) [DHCP_DROP_##name] = text,
							DHCP_DROP_REASONS(DHCP_DROP_TEXT)
#undef DHCP_DROP_TEXT
};

const char *dhcp_drop_name(enum dhcp_drop reason)
{
	return (unsigned)reason < DHCP_DROP_COUNT ? drop_names[reason] : "?";
}

const char *dhcp_drop_text(enum dhcp_drop reason)
{
	return (unsigned)reason < DHCP_DROP_COUNT ? drop_texts[reason] : "?";
}

/* Small helpers ------------------------------------------------------------- */

/* A deadline that a backward clock step left more than @len away is pulled
 * back to @now + @len. Returns whether it moved. */
static bool clamp(uint64_t *deadline, uint64_t now, uint64_t len)
{
	if ((int64_t)(*deadline - now) <= (int64_t)len)
		return false;
	*deadline = now + len;
	return true;
}

/* Set-up -------------------------------------------------------------------- */

void dhcp_config_default(struct dhcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server_addr = pkt_ipv4(192, 168, 137, 1);
	cfg->netmask = pkt_ipv4(255, 255, 255, 0);
	cfg->pool_first = pkt_ipv4(192, 168, 137, 2);
	cfg->pool_last = pkt_ipv4(192, 168, 137, 254);
	cfg->router = cfg->server_addr;
	cfg->dns = cfg->server_addr;
	strcpy(cfg->domain, "mshome.net");
	cfg->lease_secs = 86400;
	cfg->probe_ms = 500;
	cfg->rate_per_mac = 8;
	cfg->rate_global = 400;
	cfg->rate_new = 2;
}

/* RFC 1035 2.3.1 names: labels of letters, digits and '-', 1..63 long. */
static bool domain_valid(const char *d)
{
	size_t label = 0;

	for (size_t i = 0; d[i]; i++) {
		char c = d[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-') ||
		    ++label > DHCP_HOSTNAME_MAX)
			return false;
	}
	return d[0] == '\0' || label > 0;
}

/* A host address of the server's subnet: not its network or broadcast one. */
static bool host_of_subnet(const struct dhcp_config *c, uint32_t addr)
{
	uint32_t mask = ntohl(c->netmask), a = ntohl(addr);

	return ((a ^ ntohl(c->server_addr)) & mask) == 0 && (a & ~mask) != 0 &&
	       (a & ~mask) != ~mask;
}

static const char *reservations_error(const struct dhcp_config *c)
{
	if (c->n_reserved > DHCP_RESERVED_MAX)
		return "more than 64 reservations";
	for (unsigned i = 0; i < c->n_reserved; i++) {
		const struct dhcp_reservation *r = &c->reserved[i];

		if (!dhcp_mac_unicast(r->mac))
			return "a reservation's MAC is not unicast";
		if (!host_of_subnet(c, r->addr) || r->addr == c->server_addr)
			return "a reserved address is not a host address of the subnet, or is the "
			       "server's";
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(c->reserved[j].mac, r->mac, 6) ||
			    c->reserved[j].addr == r->addr)
				return "two reservations share a MAC or an address";
	}
	return NULL;
}

static const char *config_error(const struct dhcp_config *c)
{
	uint32_t mask = ntohl(c->netmask), hostmask = ~mask;

	if ((hostmask & (hostmask + 1)) != 0)
		return "netmask is not contiguous";
	if (hostmask < 3)
		return "subnet smaller than a /30";
	if (!wire_ip_is_host(c->server_addr) || !host_of_subnet(c, c->server_addr))
		return "server_addr is not a host address";
	if (!dhcp_mac_unicast(c->server_mac))
		return "server_mac is not a unicast MAC";
	if (!host_of_subnet(c, c->pool_first) || !host_of_subnet(c, c->pool_last) ||
	    ntohl(c->pool_first) > ntohl(c->pool_last))
		return "pool is not a range of host addresses of the server's subnet";
	if (ntohl(c->pool_last) - ntohl(c->pool_first) >= DHCP_POOL_MAX)
		return "pool larger than 65536 addresses (a /16)";
	if ((c->router && !wire_ip_is_host(c->router)) || (c->dns && !wire_ip_is_host(c->dns)))
		return "router or dns is not a host address";
	if (!memchr(c->domain, '\0', sizeof(c->domain)) || !domain_valid(c->domain))
		return "domain is not a DNS name of at most 63 characters";
	if (!memchr(c->lease_file, '\0', sizeof(c->lease_file)))
		return "lease_file path is not terminated";
	if (c->lease_secs < LEASE_SECS_MIN || c->lease_secs > LEASE_SECS_MAX)
		return "lease_secs must be 60..2147483647";
	if (c->probe_ms > PROBE_MS_MAX)
		return "probe_ms must be at most 10000";
	if (c->rate_per_mac > RATE_MAX || c->rate_global > RATE_MAX)
		return "rates must be at most 1000000 per second";
	if (c->rate_new > DHCP_RATE_NEW_MAX)
		return "rate_new must be at most 1000 new clients per second";
	return reservations_error(c);
}

/* Slots: the pool in order, then reserved addresses outside it. */
static void init_slots(struct dhcp_server *s)
{
	const struct dhcp_config *c = &s->cfg;
	uint32_t first = ntohl(c->pool_first), extra = s->n_pool;

	for (uint32_t i = 0; i < s->n_pool; i++) {
		s->slots[i].addr = htonl(first + i);
		s->slots[i].cnext = DHCP_NIL;
	}
	for (unsigned r = 0; r < c->n_reserved; r++) {
		uint32_t a = ntohl(c->reserved[r].addr);
		uint32_t i = a - first < s->n_pool ? a - first : extra++;

		s->slots[i].addr = c->reserved[r].addr;
		s->slots[i].cnext = DHCP_NIL;
		s->slots[i].res = (uint8_t)(r + 1);
	}
	for (uint32_t b = 0; b <= s->mask; b++)
		s->buckets[b] = DHCP_NIL;
}

static uint32_t extra_slots(const struct dhcp_config *c)
{
	uint32_t first = ntohl(c->pool_first), n_pool = ntohl(c->pool_last) - first + 1, n = 0;

	for (unsigned r = 0; r < c->n_reserved; r++)
		if (ntohl(c->reserved[r].addr) - first >= n_pool)
			n++;
	return n;
}

static void commit(struct dhcp_server *s, uint64_t now);

int dhcp_create(const struct dhcp_config *cfg, uint64_t now_ms, struct dhcp_server **out,
		const char **why, char *warning, size_t wsize)
{
	const char *err = config_error(cfg);
	const char *whatever = NULL;
	struct dhcp_server *s;
	uint32_t nb = 1;
	int r;

	if (warning && wsize)
		warning[0] = '\0';
	if (!why)
		why = &whatever;
	if (err) {
		*why = err;
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	s->cfg = *cfg;
	if (!s->cfg.router)
		s->cfg.router = cfg->server_addr;
	if (!s->cfg.dns)
		s->cfg.dns = cfg->server_addr;
	s->n_pool = ntohl(cfg->pool_last) - ntohl(cfg->pool_first) + 1;
	s->n_slots = s->n_pool + extra_slots(cfg);
	while (nb < s->n_slots)
		nb <<= 1;
	s->mask = nb - 1;
	s->slots = calloc(s->n_slots, sizeof(*s->slots));
	s->buckets = malloc(nb * sizeof(*s->buckets));
	if (!s->slots || !s->buckets) {
		dhcp_destroy(s);
		*why = "out of memory";
		return -ENOMEM;
	}
	init_slots(s);
	/* Seeds the client hash and the rate table: not secret, only varied. */
	s->seed = (uint32_t)(now_ms ^ now_ms >> 32) ^ dhcp_get32(cfg->server_mac + 2) * 0x9e3779b9u;
	s->lease_ms = (uint64_t)cfg->lease_secs * DHCP_MILLI;
	s->rate_all = (struct dhcp_bucket){.last = now_ms, .tokens = cfg->rate_global * DHCP_MILLI};
	s->rate_known = s->rate_all;
	s->rate_new = (struct dhcp_bucket){
	    .last = now_ms, .tokens = cfg->rate_new * DHCP_NEW_BURST_SECS * DHCP_MILLI};
	s->last_write = now_ms;
	if (cfg->lease_file[0]) {
		r = dhcp_lease_load(s, now_ms, warning, wsize, why);
		if (r == 0) {
			r = dhcp_lease_save(s);
			if (r)
				*why = "cannot write the lease file (or fsync its directory)";
		}
		if (r) {
			dhcp_destroy(s);
			return r;
		}
		s->cnt.lease_writes++;
	}
	*out = s;
	return 0;
}

void dhcp_destroy(struct dhcp_server *s)
{
	if (!s)
		return;
	if (s->dirty && s->slots)
		commit(s, s->last_write);
	free(s->buckets);
	free(s->slots);
	free(s);
}

const struct dhcp_counters *dhcp_counters(const struct dhcp_server *s)
{
	return &s->cnt;
}

/* Bindings ------------------------------------------------------------------ */

/* Make slot @idx the client's one address: its previous association, and
 * whoever's expired association @idx had, are forgotten. */
static void associate(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m)
{
	uint32_t old = dhcp_find_client(s, m->cid, m->cid_len);
	struct dhcp_slot *sl = &s->slots[idx];

	if (old != idx) {
		if (old != DHCP_NIL) {
			s->dirty |= (s->slots[old].flags & DHCP_SLOT_LEASED) != 0;
			dhcp_unlink_client(s, old);
		}
		if (sl->cid_len) {
			s->dirty |= (sl->flags & DHCP_SLOT_LEASED) != 0;
			dhcp_unlink_client(s, idx);
		}
		dhcp_link_client(s, idx, m->cid, m->cid_len);
	}
	memcpy(sl->mac, m->chaddr, PKT_MAC_LEN);
}

/* Newest claimant of a host name keeps it: the DNS proxy answers one address. */
static void set_host(struct dhcp_server *s, uint32_t idx, const char *host)
{
	for (uint32_t i = 0; i < s->n_slots; i++)
		if (i != idx && s->slots[i].cid_len && !strcmp(s->slots[i].host, host))
			s->slots[i].host[0] = '\0';
	strcpy(s->slots[idx].host, host);
}

/* Lease file writes: the I/O is dhcp_lease.c's; a failure is counted and the
 * write retried from dhcp_poll(). */
static void commit(struct dhcp_server *s, uint64_t now)
{
	s->last_write = now;
	if (!s->cfg.lease_file[0]) {
		s->dirty = false;
		return;
	}
	if (dhcp_lease_save(s) == 0) {
		s->cnt.lease_writes++;
		s->dirty = false;
	} else {
		s->cnt.lease_write_errors++;
		s->dirty = true;
	}
}

/* Replies ------------------------------------------------------------------- */

static size_t nak(struct dhcp_server *s, const struct dhcp_msg *m, uint8_t *out, size_t cap)
{
	s->cnt.naks++;
	return dhcp_build_reply(s, m, DHCP_NAK, 0, out, cap);
}

size_t dhcp_offer(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m, uint64_t now,
		  uint8_t *out, size_t cap)
{
	struct dhcp_slot *sl = &s->slots[idx];

	associate(s, idx, m);
	/* Kept for the client while it decides, so nobody else is offered it. */
	if (!dhcp_lease_active(sl, now)) {
		sl->flags |= DHCP_SLOT_OFFERED;
		sl->offer_until = now + DHCP_OFFER_HOLD_MS;
	}
	s->cnt.offers++;
	return dhcp_build_reply(s, m, DHCP_OFFER, sl->addr, out, cap);
}

/* Bind slot @idx to the client and answer DHCPACK. A new binding is on disk
 * before the ACK leaves (RFC 2131 3.1 step 4); a renewal of a live lease is
 * written by dhcp_poll() within WRITE_MS. */
static size_t ack(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m, uint64_t now,
		  uint8_t *out, size_t cap)
{
	struct dhcp_slot *sl = &s->slots[idx];
	bool renewal = sl->cid_len && dhcp_same_client(sl, m) && dhcp_lease_active(sl, now) &&
		       (!m->host[0] || !strcmp(sl->host, m->host));

	associate(s, idx, m);
	sl->flags |= DHCP_SLOT_LEASED;
	sl->flags &= (uint8_t) ~(DHCP_SLOT_OFFERED | DHCP_SLOT_RELEASED);
	sl->lease_end = now + s->lease_ms;
	if (m->host[0] && !renewal)
		set_host(s, idx, m->host);
	s->cnt.acks++;
	if (renewal)
		s->dirty = true;
	else
		commit(s, now);
	return dhcp_build_reply(s, m, DHCP_ACK, sl->addr, out, cap);
}

/* Message handlers ------------------------------------------------------------ */

static size_t on_discover(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now,
			  uint8_t *out, size_t cap)
{
	struct dhcp_pending *p = dhcp_pending_of(s, m);
	uint32_t idx;

	s->cnt.discovers++;
	if (p) { /* a retransmission: the OFFER follows the probe, with its xid */
		p->msg = *m;
		return 0;
	}
	idx = dhcp_choose(s, m, now);
	if (idx == DHCP_NIL)
		return dhcp_dropped(s, DHCP_DROP_EXHAUSTED);
	if (!dhcp_new_lease_allowed(s, m, now))
		return 0; /* counted: NEW_RATE */
	if (dhcp_needs_probe(s, idx, m, now))
		return dhcp_hold_for_probe(s, idx, m);
	return dhcp_offer(s, idx, m, now, out, cap);
}

static bool on_subnet(const struct dhcp_server *s, uint32_t addr)
{
	return ((addr ^ s->cfg.server_addr) & s->cfg.netmask) == 0;
}

/* RFC 2131 4.3.2, the three ways a DHCPREQUEST comes. */
static size_t on_request(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now,
			 uint8_t *out, size_t cap)
{
	uint32_t own = dhcp_find_client(s, m->cid, m->cid_len), idx;

	s->cnt.requests++;
	dhcp_pending_cancel(s, m);
	if (m->has_server_id) {
		if (m->server_id != s->cfg.server_addr) {
			/* It took another server's offer: ours is withdrawn. */
			if (own != DHCP_NIL)
				s->slots[own].flags &= (uint8_t)~DHCP_SLOT_OFFERED;
			return dhcp_dropped(s, DHCP_DROP_OTHER_SERVER);
		}
		/* SELECTING: option 50 MUST be there. */
		if (!m->has_requested)
			return dhcp_dropped(s, DHCP_DROP_NO_REQUESTED_ADDR);
		idx = dhcp_slot_index(s, m->requested);
		if (idx == DHCP_NIL || !dhcp_usable_by(s, idx, m, now))
			return nak(s, m, out, cap);
		/* A REQUEST with no OFFER before it is a new lease all the same. */
		if (own == DHCP_NIL && !dhcp_new_lease_allowed(s, m, now))
			return 0; /* counted: NEW_RATE */
		return ack(s, idx, m, now, out, cap);
	}
	if (!m->ciaddr) {
		/* INIT-REBOOT: NAK a wrong network or an address that is not the
		 * client's; "If the DHCP server has no record of this client, then
		 * it MUST remain silent". */
		if (!m->has_requested)
			return dhcp_dropped(s, DHCP_DROP_NO_REQUESTED_ADDR);
		if (!on_subnet(s, m->requested))
			return nak(s, m, out, cap);
		idx = dhcp_slot_index(s, m->requested);
		if (own != DHCP_NIL)
			return own == idx && dhcp_usable_by(s, idx, m, now)
				   ? ack(s, idx, m, now, out, cap)
				   : nak(s, m, out, cap);
		if (idx != DHCP_NIL && dhcp_in_use_by_other(&s->slots[idx], m, now))
			return nak(s, m, out, cap);
		return dhcp_dropped(s, DHCP_DROP_NO_RECORD);
	}
	/* RENEWING (unicast to us) or REBINDING (broadcast): "the DHCP server
	 * will trust the value in 'ciaddr'". A client we lost the record of
	 * keeps its address if it is free. */
	idx = dhcp_slot_index(s, m->ciaddr);
	if (idx != DHCP_NIL && (own == idx || own == DHCP_NIL) && dhcp_usable_by(s, idx, m, now)) {
		if (own == DHCP_NIL && !dhcp_new_lease_allowed(s, m, now))
			return 0; /* counted: NEW_RATE */
		return ack(s, idx, m, now, out, cap);
	}
	if (m->ip_daddr != s->cfg.server_addr && !on_subnet(s, m->ciaddr))
		return dhcp_dropped(s, DHCP_DROP_NO_RECORD); /* rebinding, not our network */
	return nak(s, m, out, cap);
}

/* RFC 2131 4.3.3: "The server MUST mark the network address as not
 * available". Only the client it was given to may decline it. */
static size_t on_decline(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	uint32_t idx;

	dhcp_pending_cancel(s, m);
	if (m->has_server_id && m->server_id != s->cfg.server_addr)
		return dhcp_dropped(s, DHCP_DROP_OTHER_SERVER);
	if (!m->has_requested)
		return dhcp_dropped(s, DHCP_DROP_NO_REQUESTED_ADDR);
	idx = dhcp_slot_index(s, m->requested);
	if (idx == DHCP_NIL || !dhcp_same_client(&s->slots[idx], m))
		return dhcp_dropped(s, DHCP_DROP_DECLINE_IGNORED);
	s->dirty |= (s->slots[idx].flags & DHCP_SLOT_LEASED) != 0;
	dhcp_unlink_client(s, idx);
	dhcp_hold(s, idx, now);
	s->cnt.declines++;
	return 0;
}

/* RFC 2131 4.3.4: the lease ends; the address stays remembered for the
 * client (RFC 2131 4.3.1's "previous address"). */
static size_t on_release(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	uint32_t idx = dhcp_slot_index(s, m->ciaddr);
	struct dhcp_slot *sl;

	if (m->has_server_id && m->server_id != s->cfg.server_addr)
		return dhcp_dropped(s, DHCP_DROP_OTHER_SERVER);
	if (idx == DHCP_NIL || !dhcp_same_client(&s->slots[idx], m) ||
	    !dhcp_lease_active(&s->slots[idx], now))
		return dhcp_dropped(s, DHCP_DROP_RELEASE_IGNORED);
	sl = &s->slots[idx];
	sl->lease_end = now;
	sl->flags |= DHCP_SLOT_RELEASED;
	s->cnt.releases++;
	commit(s, now);
	return 0;
}

/* Input and timers ------------------------------------------------------------ */

static bool addressed_to_us(const struct dhcp_server *s, const struct dhcp_msg *m)
{
	uint32_t subnet_bcast = s->cfg.server_addr | ~s->cfg.netmask;

	if (memcmp(m->eth_dst, dhcp_mac_broadcast, PKT_MAC_LEN) &&
	    memcmp(m->eth_dst, s->cfg.server_mac, PKT_MAC_LEN))
		return false;
	return m->ip_daddr == 0xffffffffu || m->ip_daddr == s->cfg.server_addr ||
	       m->ip_daddr == subnet_bcast;
}

size_t dhcp_input(struct dhcp_server *s, const uint8_t *frame, size_t len, uint64_t now_ms,
		  uint8_t *out, size_t cap)
{
	struct dhcp_msg m;
	enum dhcp_drop r;

	s->cnt.rx++;
	r = dhcp_parse(&m, frame, len);
	if (r != DHCP_OK)
		return dhcp_dropped(s, r);
	if (!addressed_to_us(s, &m))
		return dhcp_dropped(s, memcmp(m.eth_dst, dhcp_mac_broadcast, PKT_MAC_LEN) &&
					       memcmp(m.eth_dst, s->cfg.server_mac, PKT_MAC_LEN)
					   ? DHCP_DROP_ETH_DST
					   : DHCP_DROP_IP_DST);
	r = dhcp_rate_check(s, &m, now_ms);
	if (r != DHCP_OK)
		return dhcp_dropped(s, r);
	switch (m.type) {
	case DHCP_DISCOVER:
		return on_discover(s, &m, now_ms, out, cap);
	case DHCP_REQUEST:
		return on_request(s, &m, now_ms, out, cap);
	case DHCP_DECLINE:
		return on_decline(s, &m, now_ms);
	case DHCP_RELEASE:
		return on_release(s, &m, now_ms);
	default: /* DHCP_INFORM (RFC 2131 4.3.5): parameters only, no lease */
		s->cnt.informs++;
		return dhcp_build_reply(s, &m, DHCP_ACK, 0, out, cap);
	}
}

/* Once a second: pull back deadlines a backward clock step stretched (a
 * lease never ends later than lease_secs from now), count bound leases. */
static void sweep(struct dhcp_server *s, uint64_t now)
{
	int64_t since = (int64_t)(now - s->last_sweep);
	uint32_t bound = 0;

	if (s->swept && since >= 0 && since < SWEEP_MS)
		return;
	s->swept = true;
	s->last_sweep = now;
	for (uint32_t i = 0; i < s->n_slots; i++) {
		struct dhcp_slot *sl = &s->slots[i];

		if ((sl->flags & DHCP_SLOT_LEASED) && clamp(&sl->lease_end, now, s->lease_ms))
			s->dirty = true;
		if (sl->flags & DHCP_SLOT_OFFERED)
			clamp(&sl->offer_until, now, DHCP_OFFER_HOLD_MS);
		if (sl->flags & DHCP_SLOT_HELD)
			clamp(&sl->hold_until, now, DHCP_HOLD_MS);
		bound += dhcp_lease_active(sl, now);
	}
	s->cnt.bound = bound;
}

size_t dhcp_poll(struct dhcp_server *s, uint64_t now_ms, uint8_t *out, size_t cap)
{
	int64_t since_write = (int64_t)(now_ms - s->last_write);

	sweep(s, now_ms);
	if (s->dirty && (since_write < 0 || since_write >= WRITE_MS))
		commit(s, now_ms);
	for (unsigned k = 0; k < DHCP_PENDING_MAX; k++) {
		struct dhcp_pending *p = &s->pending[s->pend_cursor];
		size_t n;

		s->pend_cursor = (s->pend_cursor + 1) % DHCP_PENDING_MAX;
		n = dhcp_pending_step(s, p, now_ms, out, cap);
		if (n)
			return n;
	}
	return 0;
}

/* New clients left unserved since the last line: one line, at most one every
 * DHCP_LOG_MS, so that a flood is reported and never logged per packet. */
size_t dhcp_take_log(struct dhcp_server *s, uint64_t now_ms, char *buf, size_t size)
{
	uint64_t exhausted = s->cnt.drop[DHCP_DROP_EXHAUSTED];
	uint64_t over = s->cnt.drop[DHCP_DROP_NEW_RATE];
	int64_t since = (int64_t)(now_ms - s->last_log);
	int n;

	if (exhausted == s->logged_exhausted && over == s->logged_new_rate)
		return 0;
	if (s->last_log && since >= 0 && since < DHCP_LOG_MS)
		return 0;
	n = snprintf(buf, size,
		     "new clients not served: %llu DISCOVERs with no address free (pool "
		     "exhausted: no answer, RFC 2131 4.3.1), %llu over the new-lease rate (%u a "
		     "second)",
		     (unsigned long long)(exhausted - s->logged_exhausted),
		     (unsigned long long)(over - s->logged_new_rate), s->cfg.rate_new);
	s->last_log = now_ms ? now_ms : 1;
	s->logged_exhausted = exhausted;
	s->logged_new_rate = over;
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Names for the DNS proxy --------------------------------------------------------- */

int dhcp_lookup_name(const struct dhcp_server *s, const char *host, uint64_t now_ms, uint32_t *addr)
{
	size_t n = strlen(host), dl = strlen(s->cfg.domain);

	if (n && host[n - 1] == '.')
		n--;
	if (dl && n > dl + 1 && host[n - dl - 1] == '.' &&
	    !strncasecmp(host + n - dl, s->cfg.domain, dl))
		n -= dl + 1;
	if (!n || n > DHCP_HOSTNAME_MAX)
		return -ENOENT;
	for (uint32_t i = 0; i < s->n_slots; i++) {
		const struct dhcp_slot *sl = &s->slots[i];

		if (dhcp_lease_active(sl, now_ms) && !strncasecmp(sl->host, host, n) &&
		    sl->host[n] == '\0') {
			*addr = sl->addr;
			return 0;
		}
	}
	return -ENOENT;
}

int dhcp_lookup_addr(const struct dhcp_server *s, uint32_t addr, uint64_t now_ms, char *host,
		     size_t size)
{
	uint32_t idx = dhcp_slot_index(s, addr);
	const struct dhcp_slot *sl;
	size_t n;

	if (idx == DHCP_NIL)
		return -ENOENT;
	sl = &s->slots[idx];
	if (!dhcp_lease_active(sl, now_ms) || !sl->host[0])
		return -ENOENT;
	n = strlen(sl->host);
	if (n >= size)
		return -ENOSPC;
	memcpy(host, sl->host, n + 1);
	return 0;
}
