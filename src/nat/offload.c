/* offload.c - which sessions the kernel fast path forwards, and when they
 * stop (nat.h, "The kernel fast path"). The owning worker only. */
#include <errno.h>

#include "nat_internal.h"

void nat_set_offload(struct nat *nat, const struct nat_offload_ops *ops, void *ctx)
{
	nat->offload_ops = ops;
	nat->offload_ctx = ctx;
	atomic_store_explicit(&nat->offload_on, ops != NULL, memory_order_relaxed);
}

void nat_set_offload_enabled(struct nat *nat, bool on)
{
	atomic_store_explicit(&nat->offload_on, on && nat->offload_ops, memory_order_relaxed);
}

bool nat_offload_enabled(const struct nat *nat)
{
	return atomic_load_explicit(&nat->offload_on, memory_order_relaxed);
}

static struct nat_offload_flow flow_of(const struct nat_worker *w, const struct nat_session *s)
{
	return (struct nat_offload_flow){
	    .proto = s->proto,
	    .lan_addr = s->lan_addr,
	    .rem_addr = s->rem_addr,
	    .ext_addr = nat_wan_of(w, s), /* the one it was installed with */
	    .lan_port = s->lan_port,
	    .rem_port = s->rem_port,
	    .ext_port = s->ext_port,
	};
}

/* Established both ways, and a plain LAN host <-> remote flow: a hairpin
 * (remote = the WAN address) turns around inside the gateway, and the
 * host's own traffic (LAN address = the gateway's) goes to its tun. */
static bool eligible(const struct nat_worker *w, const struct nat_session *s)
{
	const uint8_t both = NAT_OFF_SEEN_LAN | NAT_OFF_SEEN_WAN;
	const struct nat *nat = w->nat;

	if ((s->offload & both) != both || s->rem_addr == w->wan_addr ||
	    s->lan_addr == nat->cfg.lan_addr)
		return false;
	return s->proto != PKT_PROTO_TCP || s->tcp_state == NAT_TCP_ESTABLISHED;
}

static void uninstall(struct nat_worker *w, struct nat_session *s)
{
	struct nat_offload_flow f = flow_of(w, s);

	w->nat->offload_ops->remove(w->nat->offload_ctx, &f);
	s->offload &= (uint8_t)~NAT_OFF_INSTALLED;
	w->c.offload_removals++;
}

static void install(struct nat_worker *w, struct nat_session *s)
{
	struct nat_offload_flow f = flow_of(w, s);
	int err = w->nat->offload_ops->install(w->nat->offload_ctx, &f);

	if (err == -ENOSPC) {
		w->c.offload_full++; /* the session goes on here, as before */
	} else if (err) {
		w->c.offload_failed++;
	} else {
		s->offload |= NAT_OFF_INSTALLED;
		w->c.offload_installs++;
	}
}

void nat_offload_seen(struct nat_worker *w, struct nat_session *s, bool from_lan)
{
	const struct nat *nat = w->nat;
	bool want;

	if (!nat->offload_ops)
		return;
	s->offload |= from_lan ? NAT_OFF_SEEN_LAN : NAT_OFF_SEEN_WAN;
	want = nat_offload_enabled(nat) && eligible(w, s);
	if ((s->offload & NAT_OFF_INSTALLED) && !want)
		uninstall(w, s); /* FIN, RST, or offload disabled */
	else if (!(s->offload & NAT_OFF_INSTALLED) && want)
		install(w, s);
}

bool nat_offload_keep(struct nat_worker *w, struct nat_session *s, uint32_t timeout)
{
	struct nat_offload_flow f;
	uint32_t last;

	if (!(s->offload & NAT_OFF_INSTALLED))
		return false;
	f = flow_of(w, s);
	if (w->nat->offload_ops->last_seen(w->nat->offload_ctx, &f, &last) &&
	    (int32_t)(last + timeout - w->now) > 0) {
		s->timer.expires = last + timeout;
		w->c.offload_kept_alive++;
		return true;
	}
	uninstall(w, s);
	return false;
}

void nat_offload_forget(struct nat_worker *w, const struct nat_session *s)
{
	struct nat_offload_flow f;

	if (!(s->offload & NAT_OFF_INSTALLED))
		return;
	f = flow_of(w, s);
	w->nat->offload_ops->remove(w->nat->offload_ctx, &f);
	w->c.offload_removals++;
}
