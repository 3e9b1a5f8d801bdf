/* translate.c - the NAT's data path: a packet from the LAN or the WAN, its
 * session found (fast path) or made (slow path), rewritten, and sent on.
 *
 * Named after where the packet came from (from_lan, from_wan). Every exit
 * sets a verdict; every drop names its reason. A packet that belongs to a
 * mapping owned by another worker (in this worker's adopted view) is handed
 * off to that worker; so is one whose bucket is still on its way here from
 * its old owner (nat.h, "Migration"). A packet is handed off at most
 * NAT_HOPS_MAX times under one view (p->hops); with steering "none" it is
 * dropped instead, which is the naive per-core NAT of KB927168.
 */
#include "../core/ratelimit.h"
#include "../pkt/build.h"
#include "nat_internal.h"

static void from_wan(struct nat_worker *w, struct pkt *p);

/* Ingress filtering (RFC 2827): a LAN packet's source must be an address a
 * LAN host can have: inside the prefix, neither its network nor its
 * broadcast address (prefixes up to /30 have both), and not the
 * gateway's own. Anything else is spoofed, and must not make state. */
static bool lan_host_source(const struct nat *nat, const struct pkt *p)
{
	uint32_t addr = p->saddr, host = addr & ~nat->cfg.lan_mask, all_ones = ~nat->cfg.lan_mask;
	bool edges = __builtin_popcount(all_ones) >= 2;

	if (addr == nat->cfg.lan_addr) /* the host's own traffic, never the wire's */
		return p->flags & PKT_F_FROM_HOST;
	return (addr & nat->cfg.lan_mask) == nat->cfg.lan_net &&
	       !(edges && (host == 0 || host == all_ones));
}

static bool is_tcp_syn(const struct pkt *p)
{
	return (p->flags & PKT_F_L4) && (p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_RST)) == PKT_TCP_SYN;
}

/* The packet's state lives on worker @owner. */
static void send_to_owner(struct nat_worker *w, struct pkt *p, unsigned owner)
{
	uint16_t view = (uint16_t)((w->view->seq << NAT_PF_VIEW_SHIFT) & NAT_PF_VIEW);

	if (w->nat->cfg.steering == NAT_STEER_NONE) {
		nat_drop(w, p, NAT_DROP_WRONG_CORE);
		return;
	}
	if ((p->flags & NAT_PF_VIEW) != view) {
		/* Its earlier handoffs were under an older view: a move, not a
		 * loop. Count afresh under ours. */
		p->flags = (uint16_t)((p->flags & ~NAT_PF_VIEW) | view);
		p->hops = 0;
	}
	if (p->hops >= NAT_HOPS_MAX) {
		nat_drop(w, p, NAT_DROP_HANDOFF_STALE);
		return;
	}
	p->hops++;
	p->verdict = PKT_HANDOFF;
	p->to_worker = (uint16_t)owner;
	w->c.handoff++;
}

/* Where the sessions of the mappings homed in @bucket are, as this worker
 * sees it: here (returns w->id), with the owner, or, while the bucket is
 * on its way here, with the old owner, which has not given them yet:
 * nothing may be made for the bucket here before they come. */
static unsigned sessions_home(const struct nat_worker *w, unsigned bucket, bool *moving)
{
	unsigned owner = nat_view_owner(w->view, bucket), from;

	*moving = owner == w->id && !nat_settled(w, bucket, &from);
	return *moving ? from : owner;
}

/* Returns true if the packet is not for this worker: handed off (or dropped). */
static bool send_away(struct nat_worker *w, struct pkt *p, unsigned bucket)
{
	bool moving;
	unsigned home = sessions_home(w, bucket, &moving);

	if (home == w->id)
		return false;
	if (moving)
		w->c.migration_handoffs++;
	send_to_owner(w, p, home);
	return true;
}

/* A lookup missed: if an old owner has exported its sessions meanwhile,
 * take them, and say so (the caller looks again). */
static bool import_on_miss(struct nat_worker *w)
{
	return w->pending_from && nat_sessions_import(w) > 0;
}

/* RFC 5508 REQ-8: on exhaustion, drop and tell the LAN host with ICMP
 * Destination Unreachable, code 13 (administratively prohibited); as many
 * as the worker's limiter allows (RFC 1812 4.3.2.8), or a flood of new
 * flows would earn as many errors. */
static void exhausted(struct nat_worker *w, struct pkt *p, enum nat_drop why)
{
	nat_drop(w, p, why);
	if (!w->nat->cfg.icmp_on_exhaustion || p->side != PKT_SIDE_LAN ||
	    (p->flags & PKT_F_ICMP_ERROR))
		return;
	if (w->error_limit && !ratelimit_allow(w->error_limit, p->saddr)) {
		w->c.icmp_unreach_rate_limited++;
		return;
	}
	if (pkt_reply_icmp_error(p, PKT_ICMP_UNREACH, PKT_ICMP_UNREACH_ADMIN,
				 w->nat->cfg.lan_addr) == 0) {
		p->verdict = PKT_TO_LAN;
		w->c.icmp_unreach_sent++;
		w->c.tx_lan++;
	}
}

static void count_translated(struct nat_worker *w, const struct pkt *p)
{
	if (!p->hops)
		w->c.local++;
	if (p->flags & PKT_F_FRAG)
		w->c.frags_translated++;
}

/* A packet that went LAN -> WAN address is hairpinned: it re-enters as if
 * received on the WAN, with the external address and port as its source
 * (RFC 4787 REQ-9; ICMP errors too, RFC 5508 REQ-5). */
static void hairpin(struct nat_worker *w, struct pkt *p)
{
	w->c.hairpinned++;
	p->side = PKT_SIDE_WAN;
	p->hops = 0;
	from_wan(w, p);
}

static void translate_out(struct nat_worker *w, struct nat_session *s, struct pkt *p)
{
	nat_session_seen(w, s, p, true);
	pkt_set_src(p, w->wan_addr, s->ext_port);
	/* A later fragment has no port on the wire, but its cached one must
	 * follow, or a hairpinned fragment finds no session (RFC 4787 REQ-9). */
	if (!(p->flags & PKT_F_L4))
		p->sport = s->ext_port;
	if (p->daddr == w->wan_addr) {
		hairpin(w, p); /* counted once, by its WAN half */
		return;
	}
	count_translated(w, p);
	p->verdict = PKT_TO_WAN;
	w->c.tx_wan++;
}

static void translate_in(struct nat_worker *w, struct nat_session *s, struct pkt *p)
{
	nat_session_seen(w, s, p, false);
	pkt_set_dst(p, s->lan_addr, s->lan_port);
	count_translated(w, p);
	p->verdict = PKT_TO_LAN;
	w->c.tx_lan++;
}

/* A mapping with no session yet (its first session could not be made). */
static void abandon_mapping(struct nat_worker *w, uint32_t id)
{
	struct nat_mapping *m = &w->nat->maps[id];

	if (!m->sessions) {
		m->sessions = 1;
		nat_map_release(w, id);
	}
}

/* ---- from the LAN ---- */

/* No session: find or make the mapping, then the session. */
static void slow_from_lan(struct nat_worker *w, struct pkt *p, uint16_t rem_port)
{
	struct nat *nat = w->nat;
	uint32_t id = nat_map_find_endpoint(nat, p->proto, p->saddr, p->sport);
	enum nat_drop why = NAT_DROP_MAPPINGS_FULL;
	bool existing = true;

	bool opens = p->proto != PKT_PROTO_TCP || is_tcp_syn(p);

	if (id == NAT_NONE && !opens) {
		/* RFC 6146 3.5.2: only a SYN opens a TCP session. */
		nat_drop(w, p, NAT_DROP_TCP_NO_SESSION);
		return;
	}
	if (id == NAT_NONE) {
		const struct rss_snapshot *snap = w->view->snap;
		unsigned bucket = rss_bucket(snap, nat_packet_hash(snap, p));
		if (send_away(w, p, bucket))
			return;
		id = nat_map_create(w, p->proto, p->saddr, p->sport, p->daddr, rem_port, bucket,
				    &existing, &why);
		if (id == NAT_NONE) {
			exhausted(w, p, why);
			return;
		}
	}
	/* Its sessions live with the mapping's owner: a segment of one of
	 * them goes there too, SYN or not (port mappings, hairpins, other
	 * destinations of the mapping). */
	if (existing && send_away(w, p, nat->maps[id].bucket))
		return;
	if (!opens) {
		nat_drop(w, p, NAT_DROP_TCP_NO_SESSION);
		return;
	}
	uint32_t i = nat_session_create(w, id, p->daddr, rem_port);
	if (i == NAT_NONE) {
		abandon_mapping(w, id);
		exhausted(w, p, NAT_DROP_SESSIONS_FULL);
		return;
	}
	translate_out(w, &w->sessions[i], p);
}

/* An ICMP error from a LAN host about a packet we delivered to it: the quote
 * is remote -> LAN endpoint; it becomes remote -> external endpoint, sent
 * from the WAN address (RFC 5508 REQ-3, REQ-4). */
static void icmp_error_from_lan(struct nat_worker *w, struct pkt *p)
{
	struct nat *nat = w->nat;
	const struct pkt_inner *in = &p->inner;
	bool echo = in->proto == PKT_PROTO_ICMP;
	uint16_t rem_port = echo ? 0 : in->sport;
	uint32_t i;

	if (nat_proto_index(in->proto) < 0 ||
	    (echo && in->icmp_type != PKT_ICMP_ECHO && in->icmp_type != PKT_ICMP_ECHO_REPLY)) {
		nat_drop(w, p, echo ? NAT_DROP_ICMP_ERROR_IN_ERROR : NAT_DROP_ICMP_UNKNOWN);
		return;
	}
	i = nat_session_find_lan(w, in->proto, in->daddr, in->dport, in->saddr, rem_port);
	if (i == NAT_NONE && import_on_miss(w))
		i = nat_session_find_lan(w, in->proto, in->daddr, in->dport, in->saddr, rem_port);
	if (i == NAT_NONE) {
		uint32_t id = nat_map_find_endpoint(nat, in->proto, in->daddr, in->dport);
		if (id == NAT_NONE || !send_away(w, p, nat->maps[id].bucket))
			nat_drop(w, p, NAT_DROP_ICMP_UNKNOWN);
		return;
	}
	/* Errors never refresh or end a session (RFC 5508 REQ-6). */
	pkt_set_inner_dst(p, w->wan_addr, w->sessions[i].ext_port);
	pkt_set_src(p, w->wan_addr, 0);
	w->c.icmp_errors_translated++; /* a hairpinned error is translated twice */
	if (p->daddr == w->wan_addr) {
		hairpin(w, p); /* the packet is counted once, by its WAN half */
		return;
	}
	count_translated(w, p);
	p->verdict = PKT_TO_WAN;
	w->c.tx_wan++;
}

static bool for_the_gateway(const struct nat *nat, const struct pkt *p)
{
	return p->daddr == nat->cfg.lan_addr || p->daddr == UINT32_MAX;
}

static void from_lan(struct nat_worker *w, struct pkt *p)
{
	struct nat *nat = w->nat;
	uint16_t rem_port;
	uint32_t i;

	if (for_the_gateway(nat, p)) {
		p->verdict = PKT_TO_HOST;
		w->c.to_host++;
		return;
	}
	if (nat_proto_index(p->proto) < 0) {
		nat_drop(w, p, NAT_DROP_UNSUPPORTED_PROTO);
		return;
	}
	if (!w->wan_addr) {
		/* Shared uplink with no address yet (or any more): nothing can
		 * go out; the control thread said so once in the log. */
		nat_drop(w, p, NAT_DROP_NO_WAN_ADDR);
		return;
	}
	if (!lan_host_source(nat, p)) {
		nat_drop(w, p, NAT_DROP_SRC_NOT_LAN);
		return;
	}
	if (p->proto == PKT_PROTO_ICMP && (p->flags & PKT_F_ICMP_ERROR)) {
		icmp_error_from_lan(w, p);
		return;
	}
	/* A later fragment has no ICMP header to judge (RFC 4787 REQ-14). */
	if (p->proto == PKT_PROTO_ICMP && (p->flags & PKT_F_L4) && p->icmp_type != PKT_ICMP_ECHO &&
	    !(p->flags & NAT_PF_CACHED_PORTS)) {
		nat_drop(w, p, NAT_DROP_ICMP_TYPE);
		return;
	}
	if ((p->flags & PKT_F_FRAG) && !(p->flags & NAT_PF_CACHED_PORTS) &&
	    nat_frag_ports(w, p) <= 0)
		return;
	rem_port = p->proto == PKT_PROTO_ICMP ? 0 : p->dport;
	i = nat_session_find_lan(w, p->proto, p->saddr, p->sport, p->daddr, rem_port);
	if (i == NAT_NONE && import_on_miss(w))
		i = nat_session_find_lan(w, p->proto, p->saddr, p->sport, p->daddr, rem_port);
	if (i != NAT_NONE) {
		translate_out(w, &w->sessions[i], p);
		return;
	}
	if (!(p->flags & PKT_F_L4)) {
		/* A later fragment with no session here: fragments hash on the
		 * addresses only, so its session may live with the owner. */
		uint32_t id = nat_map_find_endpoint(nat, p->proto, p->saddr, p->sport);
		if (id == NAT_NONE || !send_away(w, p, nat->maps[id].bucket))
			nat_drop(w, p, NAT_DROP_NO_MAPPING);
		return;
	}
	slow_from_lan(w, p, rem_port);
}

/* ---- from the WAN ---- */

/* An ICMP error from the internet about a packet we sent: the quote is
 * external endpoint -> remote; it becomes LAN endpoint -> remote, sent to the
 * LAN host (RFC 5508 REQ-3, REQ-4). */
static void icmp_error_from_wan(struct nat_worker *w, struct pkt *p)
{
	struct nat *nat = w->nat;
	const struct pkt_inner *in = &p->inner;
	bool echo = in->proto == PKT_PROTO_ICMP;
	uint16_t rem_port = echo ? 0 : in->dport;
	uint32_t i;

	if (nat_proto_index(in->proto) < 0 ||
	    (echo && in->icmp_type != PKT_ICMP_ECHO && in->icmp_type != PKT_ICMP_ECHO_REPLY)) {
		nat_drop(w, p, echo ? NAT_DROP_ICMP_ERROR_IN_ERROR : NAT_DROP_ICMP_UNKNOWN);
		return;
	}
	if (in->saddr != w->wan_addr) {
		nat_drop(w, p, NAT_DROP_ICMP_UNKNOWN);
		return;
	}
	i = nat_session_find_wan(w, in->proto, in->daddr, rem_port, in->sport);
	if (i == NAT_NONE && import_on_miss(w))
		i = nat_session_find_wan(w, in->proto, in->daddr, rem_port, in->sport);
	if (i == NAT_NONE) {
		uint32_t id = nat_map_find_port(nat, in->proto, in->sport);
		if (id == NAT_NONE || !send_away(w, p, nat->maps[id].bucket))
			nat_drop(w, p, NAT_DROP_ICMP_UNKNOWN);
		return;
	}
	pkt_set_inner_src(p, w->sessions[i].lan_addr, w->sessions[i].lan_port);
	pkt_set_dst(p, w->sessions[i].lan_addr, 0);
	w->c.icmp_errors_translated++;
	count_translated(w, p);
	p->verdict = PKT_TO_LAN;
	w->c.tx_lan++;
}

/* No session: a new inbound session through an existing mapping, if the
 * filtering allows it (RFC 4787 REQ-8, RFC 5382 REQ-3). */
static void slow_from_wan(struct nat_worker *w, struct pkt *p, uint16_t rem_port)
{
	struct nat *nat = w->nat;
	uint32_t id = nat_map_find_port(nat, p->proto, p->dport), i;
	const struct nat_mapping *m;

	if (id == NAT_NONE) {
		nat_drop(w, p, NAT_DROP_NO_MAPPING);
		return;
	}
	m = &nat->maps[id];
	if (send_away(w, p, m->bucket))
		return;
	if (p->proto == PKT_PROTO_ICMP ||
	    (!m->is_static && nat->cfg.filtering == NAT_FILTER_ADDRESS_DEPENDENT &&
	     !nat_session_any_remote(w, p->proto, p->saddr, p->dport))) {
		/* An echo reply nobody asked for, or a host never contacted. */
		nat_drop(w, p, NAT_DROP_FILTERED);
		return;
	}
	if (p->proto == PKT_PROTO_TCP && !is_tcp_syn(p)) {
		nat_drop(w, p, NAT_DROP_TCP_NO_SESSION);
		return;
	}
	if (!(p->flags & PKT_F_L4)) {
		nat_drop(w, p, NAT_DROP_NO_MAPPING);
		return;
	}
	i = nat_session_create(w, id, p->saddr, rem_port);
	if (i == NAT_NONE) {
		nat_drop(w, p, NAT_DROP_SESSIONS_FULL);
		return;
	}
	translate_in(w, &w->sessions[i], p);
}

static void from_wan(struct nat_worker *w, struct pkt *p)
{
	uint16_t rem_port;
	uint32_t i;

	if (p->daddr != w->wan_addr || !w->wan_addr) {
		nat_drop(w, p, NAT_DROP_NOT_OURS);
		return;
	}
	if (nat_proto_index(p->proto) < 0) {
		nat_drop(w, p, NAT_DROP_UNSUPPORTED_PROTO);
		return;
	}
	if (p->proto == PKT_PROTO_ICMP && !(p->flags & NAT_PF_CACHED_PORTS)) {
		if (p->flags & PKT_F_ICMP_ERROR) {
			icmp_error_from_wan(w, p);
			return;
		}
		if (p->icmp_type == PKT_ICMP_ECHO) {
			p->verdict = PKT_TO_HOST; /* ping to the gateway itself */
			w->c.to_host++;
			return;
		}
		if (p->icmp_type != PKT_ICMP_ECHO_REPLY && (p->flags & PKT_F_L4)) {
			nat_drop(w, p, NAT_DROP_ICMP_TYPE);
			return;
		}
	}
	if ((p->flags & PKT_F_FRAG) && !(p->flags & NAT_PF_CACHED_PORTS) &&
	    nat_frag_ports(w, p) <= 0)
		return;
	rem_port = p->proto == PKT_PROTO_ICMP ? 0 : p->sport;
	i = nat_session_find_wan(w, p->proto, p->saddr, rem_port, p->dport);
	if (i == NAT_NONE && import_on_miss(w))
		i = nat_session_find_wan(w, p->proto, p->saddr, rem_port, p->dport);
	if (i != NAT_NONE) {
		translate_in(w, &w->sessions[i], p);
		return;
	}
	slow_from_wan(w, p, rem_port);
}

void nat_translate(struct nat_worker *w, struct pkt *p)
{
	if (p->side == PKT_SIDE_LAN)
		from_lan(w, p);
	else
		from_wan(w, p);
}

void nat_process_one(struct nat_worker *w, struct pkt *p)
{
	if (p->hops)
		w->c.rx_handoff++;
	else if (p->side == PKT_SIDE_LAN)
		w->c.rx_lan++;
	else
		w->c.rx_wan++;
	nat_translate(w, p);
	if (w->frag_pending != NAT_NONE)
		nat_frags_release(w);
}
