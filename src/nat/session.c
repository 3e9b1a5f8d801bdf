/* session.c - a worker's sessions: two lookup keys, TCP state, timeouts.
 *
 * Only the owning worker touches these, so nothing here is atomic. A
 * session is found from the LAN by (proto, LAN address, LAN port, remote
 * address, remote port) and from the WAN by (proto, remote address, remote
 * port, external port). The WAN chain is chosen without the remote port, so
 * that all sessions of one external port with one remote host share a chain:
 * address-dependent filtering is then one chain walk.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/mem.h"
#include "nat_internal.h"

static uint32_t lan_chain(const struct nat_worker *w, uint8_t proto, uint32_t lan_addr,
			  uint16_t lan_port, uint32_t rem_addr, uint16_t rem_port)
{
	return nat_mix((uint64_t)lan_addr << 32 | rem_addr,
		       (uint64_t)lan_port << 24 | (uint64_t)rem_port << 8 | proto, w->hash_seed) &
	       w->heads_mask;
}

static uint32_t wan_chain(const struct nat_worker *w, uint8_t proto, uint32_t rem_addr,
			  uint16_t ext_port)
{
	return nat_mix((uint64_t)rem_addr << 24 | (uint64_t)ext_port << 8 | proto, 0x5bd1e995,
		       w->hash_seed) &
	       w->heads_mask;
}

int nat_sessions_init(struct nat_worker *w, uint32_t capacity)
{
	uint32_t heads = 1;

	while (heads < capacity)
		heads <<= 1;
	w->sessions = mem_alloc_big(capacity * sizeof(*w->sessions));
	w->lan_heads = mem_alloc_big(heads * sizeof(uint32_t));
	w->wan_heads = mem_alloc_big(heads * sizeof(uint32_t));
	if (!w->sessions || !w->lan_heads || !w->wan_heads)
		return -1;
	memset(w->lan_heads, 0xff, heads * sizeof(uint32_t));
	memset(w->wan_heads, 0xff, heads * sizeof(uint32_t));
	w->heads_mask = heads - 1;
	w->n_sessions = capacity;
	for (uint32_t i = 0; i < capacity; i++)
		w->sessions[i].next_lan = i + 1 < capacity ? i + 1 : NAT_NONE;
	w->free_session = capacity ? 0 : NAT_NONE;
	w->timer_space = (struct timer_space){(uint8_t *)w->sessions, sizeof(struct nat_session),
					      offsetof(struct nat_session, timer)};
	timer_init(&w->wheel, w->now);
	return 0;
}

void nat_sessions_free(struct nat_worker *w)
{
	size_t heads = ((size_t)w->heads_mask + 1) * sizeof(uint32_t);

	mem_free_big(w->sessions, w->n_sessions * sizeof(*w->sessions));
	mem_free_big(w->lan_heads, heads);
	mem_free_big(w->wan_heads, heads);
}

void nat_session_prefetch(const struct nat_worker *w, struct pkt *const *pkts, unsigned n)
{
	const uint32_t *heads[NAT_PREFETCH_MAX];

	if (n > NAT_PREFETCH_MAX)
		n = NAT_PREFETCH_MAX;
	for (unsigned i = 0; i < n; i++) {
		const struct pkt *p = pkts[i];
		heads[i] = NULL;
		if ((p->flags & (PKT_F_L4 | PKT_F_FRAG | PKT_F_ICMP_ERROR)) != PKT_F_L4)
			continue;
		if (p->side == PKT_SIDE_LAN)
			heads[i] =
			    &w->lan_heads[lan_chain(w, p->proto, p->saddr, p->sport, p->daddr,
						    p->proto == PKT_PROTO_ICMP ? 0 : p->dport)];
		else
			heads[i] = &w->wan_heads[wan_chain(w, p->proto, p->saddr, p->dport)];
		__builtin_prefetch(heads[i]);
	}
	for (unsigned i = 0; i < n; i++)
		if (heads[i] && *heads[i] != NAT_NONE)
			__builtin_prefetch(&w->sessions[*heads[i]], 1);
}

uint32_t nat_session_find_lan(const struct nat_worker *w, uint8_t proto, uint32_t lan_addr,
			      uint16_t lan_port, uint32_t rem_addr, uint16_t rem_port)
{
	uint32_t i = w->lan_heads[lan_chain(w, proto, lan_addr, lan_port, rem_addr, rem_port)];

	while (i != NAT_NONE) {
		const struct nat_session *s = &w->sessions[i];
		if (s->lan_addr == lan_addr && s->rem_addr == rem_addr && s->lan_port == lan_port &&
		    s->rem_port == rem_port && s->proto == proto)
			return i;
		i = s->next_lan;
	}
	return NAT_NONE;
}

uint32_t nat_session_find_wan(const struct nat_worker *w, uint8_t proto, uint32_t rem_addr,
			      uint16_t rem_port, uint16_t ext_port)
{
	uint32_t i = w->wan_heads[wan_chain(w, proto, rem_addr, ext_port)];

	while (i != NAT_NONE) {
		const struct nat_session *s = &w->sessions[i];
		if (s->rem_addr == rem_addr && s->ext_port == ext_port && s->rem_port == rem_port &&
		    s->proto == proto)
			return i;
		i = s->next_wan;
	}
	return NAT_NONE;
}

bool nat_session_any_remote(const struct nat_worker *w, uint8_t proto, uint32_t rem_addr,
			    uint16_t ext_port)
{
	uint32_t i = w->wan_heads[wan_chain(w, proto, rem_addr, ext_port)];

	while (i != NAT_NONE) {
		const struct nat_session *s = &w->sessions[i];
		if (s->rem_addr == rem_addr && s->ext_port == ext_port && s->proto == proto)
			return true;
		i = s->next_wan;
	}
	return false;
}

static uint32_t state_timeout(const struct nat_timeouts *t, const struct nat_session *s)
{
	switch (s->proto) {
	case PKT_PROTO_UDP:
		return t->udp;
	case PKT_PROTO_ICMP:
		return t->icmp;
	}
	switch (s->tcp_state) {
	case NAT_TCP_ESTABLISHED:
	case NAT_TCP_LAN_FIN:
	case NAT_TCP_WAN_FIN:
		return t->tcp_established;
	case NAT_TCP_BOTH_FIN:
		return t->tcp_closing;
	case NAT_TCP_RST:
		return t->tcp_rst;
	default:
		return t->tcp_opening;
	}
}

/* Put session @i (its keys set) at the head of its two chains. */
static void session_link(struct nat_worker *w, uint32_t i)
{
	struct nat_session *s = &w->sessions[i];
	uint32_t *lan = &w->lan_heads[lan_chain(w, s->proto, s->lan_addr, s->lan_port, s->rem_addr,
						s->rem_port)];
	uint32_t *wan = &w->wan_heads[wan_chain(w, s->proto, s->rem_addr, s->ext_port)];

	s->next_lan = *lan;
	*lan = i;
	s->next_wan = *wan;
	*wan = i;
}

static void unlink_chain(uint32_t *head, struct nat_session *base, uint32_t idx, bool lan)
{
	uint32_t *at = head;

	while (*at != NAT_NONE && *at != idx)
		at = lan ? &base[*at].next_lan : &base[*at].next_wan;
	if (*at == idx)
		*at = lan ? base[idx].next_lan : base[idx].next_wan;
}

static void session_unlink(struct nat_worker *w, uint32_t idx)
{
	struct nat_session *s = &w->sessions[idx];

	unlink_chain(&w->lan_heads[lan_chain(w, s->proto, s->lan_addr, s->lan_port, s->rem_addr,
					     s->rem_port)],
		     w->sessions, idx, true);
	unlink_chain(&w->wan_heads[wan_chain(w, s->proto, s->rem_addr, s->ext_port)], w->sessions,
		     idx, false);
}

uint32_t nat_session_create(struct nat_worker *w, uint32_t map_id, uint32_t rem_addr,
			    uint16_t rem_port)
{
	struct nat_mapping *m = &w->nat->maps[map_id];
	uint32_t i = w->free_session;
	struct nat_session *s;

	if (i == NAT_NONE)
		return NAT_NONE;
	s = &w->sessions[i];
	w->free_session = s->next_lan;
	s->lan_addr = m->lan_addr;
	s->lan_port = m->lan_port;
	s->rem_addr = rem_addr;
	s->rem_port = rem_port;
	s->ext_port = m->ext_port;
	s->proto = m->proto;
	s->tcp_state = NAT_TCP_NONE;
	s->offload = 0;
	s->wan_gen = (uint8_t)w->wan_gen;
	s->mapping = map_id;
	session_link(w, i);
	m->sessions++;
	s->timer.expires = w->now + state_timeout(&w->timeouts, s);
	timer_add(&w->wheel, &w->timer_space, i);
	w->c.sessions_created++;
	w->c.sessions++;
	return i;
}

/* RFC 6146 3.5.2.2, from the point of view of one segment. */
static uint8_t tcp_next_state(uint8_t state, uint8_t flags, bool from_lan)
{
	if (flags & PKT_TCP_RST)
		return NAT_TCP_RST;
	switch (state) {
	case NAT_TCP_NONE:
		return from_lan ? NAT_TCP_LAN_SYN : NAT_TCP_WAN_SYN;
	case NAT_TCP_LAN_SYN:
		return !from_lan && (flags & PKT_TCP_SYN) ? NAT_TCP_ESTABLISHED : state;
	case NAT_TCP_WAN_SYN:
		return from_lan && (flags & PKT_TCP_SYN) ? NAT_TCP_ESTABLISHED : state;
	case NAT_TCP_ESTABLISHED:
		if (flags & PKT_TCP_FIN)
			return from_lan ? NAT_TCP_LAN_FIN : NAT_TCP_WAN_FIN;
		return state;
	case NAT_TCP_LAN_FIN:
		return !from_lan && (flags & PKT_TCP_FIN) ? NAT_TCP_BOTH_FIN : state;
	case NAT_TCP_WAN_FIN:
		return from_lan && (flags & PKT_TCP_FIN) ? NAT_TCP_BOTH_FIN : state;
	case NAT_TCP_RST:
		/* A new SYN is a new attempt, not the old connection back. */
		if ((flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN)
			return from_lan ? NAT_TCP_LAN_SYN : NAT_TCP_WAN_SYN;
		return NAT_TCP_ESTABLISHED; /* RFC 7857 2.2: the connection lives on */
	}
	return state;
}

void nat_session_seen(struct nat_worker *w, struct nat_session *s, const struct pkt *p,
		      bool from_lan)
{
	uint32_t idx = (uint32_t)(s - w->sessions);

	if (s->proto == PKT_PROTO_TCP && (p->flags & PKT_F_L4))
		s->tcp_state = tcp_next_state(s->tcp_state, p->tcp_flags, from_lan);
	/* The lazy wheel notices a later expiry when the slot it is filed
	 * under comes due; an earlier one (a shorter timeout after FIN or
	 * RST) must be filed again or it would wait for that slot. */
	s->timer.expires = w->now + state_timeout(&w->timeouts, s);
	if ((int32_t)(s->timer.expires - s->timer.filed) < 0) {
		timer_del(&w->wheel, &w->timer_space, idx);
		timer_add(&w->wheel, &w->timer_space, idx);
	}
	nat_offload_seen(w, s, from_lan);
}

/* New timeouts: each session's expiry becomes its last packet plus the
 * new timeout of its state. Its last packet is its expiry less the old
 * timeout (nat_session_seen() set one from the other, with @old). A later
 * expiry is left to the lazy wheel; an earlier one is filed again, in the
 * current slot if it is already past. One pass over the array, between
 * two bursts, as a move costs (nat_sessions_export()). Sessions on an
 * outbox are the importer's business (they are in no wheel here). */
void nat_sessions_retime(struct nat_worker *w, const struct nat_timeouts *old)
{
	for (uint32_t i = 0; i < w->n_sessions; i++) {
		struct nat_session *s = &w->sessions[i];
		uint32_t was = s->timer.expires, last;
		if (!s->proto || s->next_wan == NAT_IN_TRANSIT)
			continue;
		last = was - state_timeout(old, s);
		s->timer.expires = last + state_timeout(&w->timeouts, s);
		if (s->timer.expires == was)
			continue;
		w->c.sessions_retimed++;
		if ((int32_t)(s->timer.expires - s->timer.filed) < 0) {
			timer_del(&w->wheel, &w->timer_space, i);
			timer_add(&w->wheel, &w->timer_space, i);
		}
	}
}

/* Out of its chains, its mapping released, the slot on the free list. */
static void session_free(struct nat_worker *w, uint32_t idx)
{
	struct nat_session *s = &w->sessions[idx];

	session_unlink(w, idx);
	nat_map_release(w, s->mapping);
	s->proto = 0;
	s->next_lan = w->free_session;
	w->free_session = idx;
	w->c.sessions--;
}

void nat_session_end(struct nat_worker *w, uint32_t idx)
{
	nat_offload_forget(w, &w->sessions[idx]);
	timer_del(&w->wheel, &w->timer_space, idx);
	session_free(w, idx);
}

static void expire_session(void *ctx, uint32_t idx)
{
	struct nat_worker *w = ctx;
	struct nat_session *s = &w->sessions[idx];

	/* Forwarded by the kernel since: it lives on. Filing it again from
	 * here is safe: its new expiry is later than the slot being run. */
	if (nat_offload_keep(w, s, state_timeout(&w->timeouts, s))) {
		timer_add(&w->wheel, &w->timer_space, idx);
		return;
	}
	session_free(w, idx);
	w->c.sessions_expired++;
}

void nat_sessions_expire(struct nat_worker *w, uint32_t now)
{
	/* Bounded per call so that a storm of timeouts cannot stall packets. */
	timer_run(&w->wheel, &w->timer_space, now, 4096, expire_session, w);
}

/* ---- migration (nat.h): export, import, free ---- */

void nat_sessions_export(struct nat_worker *w, const struct nat_view *v)
{
	const struct nat_mapping *maps = w->nat->maps;

	for (uint32_t i = 0; i < w->n_sessions; i++) {
		struct nat_session *s = &w->sessions[i];
		unsigned to;
		if (!s->proto)
			continue;
		to = nat_view_owner(v, maps[s->mapping].bucket);
		if (to == w->id)
			continue;
		session_unlink(w, i);
		timer_del(&w->wheel, &w->timer_space, i);
		/* The slot is the message: the new owner reads it, nobody here
		 * touches it until every importer has confirmed. */
		s->next_lan = w->out_head[to];
		s->next_wan = NAT_IN_TRANSIT;
		w->out_head[to] = i;
		w->exports_held = true;
		w->c.sessions--;
		w->c.sessions_migrated_out++;
	}
}

/* Copy @from's export for us into our table. The mappings' owner-only
 * fields are ours from here on (we read from->export_seq with acquire). */
static void import_from(struct nat_worker *w, const struct nat_worker *from)
{
	for (uint32_t i = from->out_head[w->id]; i != NAT_NONE; i = from->sessions[i].next_lan) {
		const struct nat_session *src = &from->sessions[i];
		uint32_t j = w->free_session;
		if (nat_wan_stale(w, src)) {
			/* Made on an address gone meanwhile: it ends here. */
			nat_offload_forget(w, src);
			nat_map_release(w, src->mapping);
			w->c.sessions_renumbered++;
			continue;
		}
		if (j == NAT_NONE) {
			/* No room: the session ends here, as if it had expired. */
			nat_offload_forget(w, src);
			nat_map_release(w, src->mapping);
			w->c.sessions_migrate_lost++;
			continue;
		}
		struct nat_session *s = &w->sessions[j];
		w->free_session = s->next_lan;
		*s = *src;
		session_link(w, j);
		timer_add(&w->wheel, &w->timer_space, j); /* same expiry: one clock */
		w->c.sessions++;
		w->c.sessions_migrated_in++;
	}
}

unsigned nat_sessions_import(struct nat_worker *w)
{
	uint64_t seq = w->view->seq;
	unsigned done = 0;

	for (uint64_t left = w->pending_from; left; left &= left - 1) {
		unsigned a = (unsigned)__builtin_ctzll(left);
		const struct nat_worker *from = &w->nat->workers[a];
		if (atomic_load_explicit(&from->export_seq, memory_order_acquire) < seq)
			continue; /* not adopted yet: it still owns them */
		/* After that acquire: the exporter's WAN generation is now never
		 * newer than ours (nat.h "The WAN address, live"). */
		if (nat_wan_changed(w))
			nat_wan_adopt(w);
		import_from(w, from);
		atomic_store_explicit(&w->imported_seq[a], seq, memory_order_release);
		w->pending_from &= ~(1ull << a);
		done++;
	}
	return done;
}

void nat_sessions_free_exported(struct nat_worker *w)
{
	const struct nat *nat = w->nat;
	uint64_t seq = w->view->seq;

	for (unsigned to = 0; to < nat->n_workers; to++)
		if (w->out_head[to] != NAT_NONE &&
		    atomic_load_explicit(&nat->workers[to].imported_seq[w->id],
					 memory_order_acquire) < seq)
			return; /* still to be read */
	for (unsigned to = 0; to < nat->n_workers; to++) {
		for (uint32_t i = w->out_head[to], next; i != NAT_NONE; i = next) {
			struct nat_session *s = &w->sessions[i];
			next = s->next_lan;
			s->proto = 0;
			s->next_wan = NAT_NONE;
			s->next_lan = w->free_session;
			w->free_session = i;
		}
		w->out_head[to] = NAT_NONE;
	}
	w->exports_held = false;
}

/* ---- listing ---- */

static bool session_live(const struct nat_session *s)
{
	return s->proto && s->next_wan != NAT_IN_TRANSIT;
}

static struct nat_session_info session_info(const struct nat_session *s)
{
	return (struct nat_session_info){
	    .proto = s->proto,
	    .tcp_state = s->tcp_state,
	    .offloaded = (s->offload & NAT_OFF_INSTALLED) != 0,
	    .lan_addr = s->lan_addr,
	    .rem_addr = s->rem_addr,
	    .lan_port = s->lan_port,
	    .rem_port = s->rem_port,
	    .ext_port = s->ext_port,
	    .expires = s->timer.expires,
	};
}

void nat_worker_sessions(const struct nat_worker *w,
			 void (*visit)(void *ctx, const struct nat_session_info *s), void *ctx)
{
	for (uint32_t i = 0; i < w->n_sessions; i++) {
		const struct nat_session *s = &w->sessions[i];
		if (!session_live(s))
			continue;
		struct nat_session_info info = session_info(s);
		visit(ctx, &info);
	}
}

/* The worker's half of nat_dump_sessions(). */
void nat_sessions_dump(struct nat_worker *w)
{
	uint32_t asked = DUMP_REQUESTED;
	unsigned n = 0;

	if (!atomic_compare_exchange_strong_explicit(&w->dump_state, &asked, DUMP_SERVING,
						     memory_order_acquire, memory_order_relaxed))
		return; /* withdrawn */
	for (uint32_t i = 0; i < w->n_sessions && n < w->dump_max; i++)
		if (session_live(&w->sessions[i]))
			w->dump_out[n++] = session_info(&w->sessions[i]);
	w->dump_count = n;
	atomic_store_explicit(&w->dump_state, DUMP_DONE, memory_order_release);
}

const char *nat_tcp_state_name(uint8_t state)
{
	static const char *const names[] = {
	    [NAT_TCP_NONE] = "-",
	    [NAT_TCP_LAN_SYN] = "lan-syn",
	    [NAT_TCP_WAN_SYN] = "wan-syn",
	    [NAT_TCP_ESTABLISHED] = "established",
	    [NAT_TCP_LAN_FIN] = "lan-fin",
	    [NAT_TCP_WAN_FIN] = "wan-fin",
	    [NAT_TCP_BOTH_FIN] = "both-fin",
	    [NAT_TCP_RST] = "rst",
	};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}
