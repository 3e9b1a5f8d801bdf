/* portmap.c - the dynamic port mapping service: policy, lifetimes, and the
 * NAT's port mappings underneath (theory of operation in portmap.h). */
#include "portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../nat/nat.h"

enum { PICK_TRIES = 4 }; /* a worker may take the port we chose: choose again */

struct portmap {
	struct pm_config cfg;
	struct nat *nat;
	uint32_t lan_addr, lan_net, lan_mask, wan_addr; /* network order */
	pm_port_in_use_fn in_use;
	void *in_use_ctx;
	pm_mapped_fn on_mapped;
	void *on_mapped_ctx;
	uint64_t rnd;
	struct pm_counters c;
	unsigned n;
	struct pm_entry *e; /* [PM_TOTAL_MAX], the first n in use */
};

static const char *const origin_names[] = {
#define PM_ORIGIN_NAME(name, text) text,
    PM_ORIGINS(PM_ORIGIN_NAME)
#undef PM_ORIGIN_NAME
};

static const char *const result_names[] = {
#define PM_RESULT_NAME(name, text) text,
    PM_RESULTS(PM_RESULT_NAME)
#undef PM_RESULT_NAME
};

const char *portmap_origin_name(enum pm_origin origin)
{
	return (unsigned)origin < PM_ORIGIN_COUNT ? origin_names[origin] : "?";
}

const char *portmap_result_name(int result)
{
	return result >= 0 && result < PM_RESULT_COUNT ? result_names[result] : "?";
}

/* ---- settings ---- */

void portmap_config_default(struct pm_config *cfg)
{
	*cfg = (struct pm_config){.enabled = true, /* as ICS: UPnP on by default */
				  .natpmp = true,
				  .pcp = true,
				  .upnp = true,
				  .ext_lo = 1024,
				  .ext_hi = 65535,
				  .int_lo = 1,
				  .int_hi = 65535,
				  .per_host = PM_PER_HOST_DEFAULT,
				  .total = PM_TOTAL_DEFAULT,
				  .life_min = PM_LIFE_MIN_DEFAULT,
				  .life_max = PM_LIFE_MAX_DEFAULT};
}

int portmap_config_check(const struct pm_config *cfg, const char **why)
{
	if (!cfg->ext_lo || cfg->ext_lo > cfg->ext_hi || !cfg->int_lo ||
	    cfg->int_lo > cfg->int_hi) {
		*why = "port-control port ranges must be LO-HI with 1 <= LO <= HI <= 65535";
		return -EINVAL;
	}
	if (!cfg->total || cfg->total > PM_TOTAL_MAX || !cfg->per_host ||
	    cfg->per_host > cfg->total) {
		*why = "port-control limits: 1 <= per-host <= total <= 1024";
		return -EINVAL;
	}
	if (!cfg->life_min || cfg->life_min > cfg->life_max || cfg->life_max > 604800) {
		*why = "port-control lifetimes: 1 <= min <= max <= 604800 seconds";
		return -EINVAL;
	}
	return 0;
}

int portmap_range_parse(const char *text, uint16_t *lo, uint16_t *hi)
{
	char *end;
	unsigned long a = strtoul(text, &end, 10), b = a;

	if (end == text || text[0] == '-' || text[0] == '+')
		return -EINVAL;
	if (*end == '-') {
		const char *second = end + 1;
		if (*second < '0' || *second > '9')
			return -EINVAL;
		b = strtoul(second, &end, 10);
	}
	if (*end || !a || a > b || b > 65535)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* ---- life cycle ---- */

int portmap_create(const struct pm_config *cfg, struct nat *nat, uint32_t lan_addr,
		   uint32_t lan_net, uint32_t lan_mask, uint32_t wan_addr, struct portmap **out,
		   const char **why)
{
	struct portmap *pm;
	int err = portmap_config_check(cfg, why);

	if (err)
		return err;
	pm = calloc(1, sizeof(*pm));
	if (!pm || !(pm->e = calloc(PM_TOTAL_MAX, sizeof(*pm->e)))) {
		free(pm);
		*why = "out of memory";
		return -ENOMEM;
	}
	pm->cfg = *cfg;
	pm->nat = nat;
	pm->lan_addr = lan_addr;
	pm->lan_net = lan_net & lan_mask;
	pm->lan_mask = lan_mask;
	pm->wan_addr = wan_addr;
	if (getrandom(&pm->rnd, sizeof(pm->rnd), GRND_NONBLOCK) != (ssize_t)sizeof(pm->rnd))
		pm->rnd = (uint64_t)time(NULL) ^ (uintptr_t)pm;
	*out = pm;
	return 0;
}

void portmap_destroy(struct portmap *pm)
{
	if (!pm)
		return;
	for (unsigned i = 0; i < pm->n; i++)
		(void)nat_static_delete(pm->nat, pm->e[i].proto, pm->e[i].ext_port, NULL);
	free(pm->e);
	free(pm);
}

int portmap_set_config(struct portmap *pm, const struct pm_config *cfg, const char **why)
{
	int err = portmap_config_check(cfg, why);

	if (!err)
		pm->cfg = *cfg;
	return err;
}

const struct pm_config *portmap_config(const struct portmap *pm)
{
	return &pm->cfg;
}

void portmap_set_on_mapped(struct portmap *pm, pm_mapped_fn fn, void *ctx)
{
	pm->on_mapped = fn;
	pm->on_mapped_ctx = ctx;
}

static void tell_mapped(const struct portmap *pm, uint8_t proto, uint16_t port, bool mapped)
{
	if (pm->on_mapped)
		pm->on_mapped(pm->on_mapped_ctx, proto, port, mapped);
}

void portmap_set_port_in_use(struct portmap *pm, pm_port_in_use_fn fn, void *ctx)
{
	pm->in_use = fn;
	pm->in_use_ctx = ctx;
}

bool portmap_enabled(const struct portmap *pm, enum pm_origin origin)
{
	const struct pm_config *c = &pm->cfg;

	switch (origin) {
	case PM_UPNP:
		return c->enabled && c->upnp;
	case PM_NATPMP:
		return c->enabled && c->natpmp;
	case PM_PCP:
		return c->enabled && c->pcp;
	default:
		return c->enabled;
	}
}

uint32_t portmap_wan_addr(const struct portmap *pm)
{
	return pm->wan_addr;
}

struct nat *portmap_nat(const struct portmap *pm)
{
	return pm->nat;
}

void portmap_set_wan_addr(struct portmap *pm, uint32_t wan_addr)
{
	pm->wan_addr = wan_addr;
}

const struct pm_counters *portmap_counters(const struct portmap *pm)
{
	return &pm->c;
}

unsigned portmap_count(const struct portmap *pm)
{
	return pm->n;
}

/* ---- the table ---- */

static struct pm_entry *by_internal(const struct portmap *pm, uint8_t proto, uint32_t addr,
				    uint16_t port)
{
	for (unsigned i = 0; i < pm->n; i++)
		if (pm->e[i].proto == proto && pm->e[i].int_addr == addr &&
		    pm->e[i].int_port == port)
			return &pm->e[i];
	return NULL;
}

static struct pm_entry *by_external(const struct portmap *pm, uint8_t proto, uint16_t port)
{
	for (unsigned i = 0; i < pm->n; i++)
		if (pm->e[i].proto == proto && pm->e[i].ext_port == port)
			return &pm->e[i];
	return NULL;
}

static unsigned host_count(const struct portmap *pm, uint32_t host)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pm->n; i++)
		n += pm->e[i].int_addr == host;
	return n;
}

/* The NAT's port mapping goes (its sessions run on to their timeouts),
 * and the entry with it: the last one takes its place. */
static void remove_entry(struct portmap *pm, struct pm_entry *e)
{
	(void)nat_static_delete(pm->nat, e->proto, e->ext_port, NULL);
	tell_mapped(pm, e->proto, e->ext_port, false);
	*e = pm->e[--pm->n];
}

static uint64_t next_rand(struct portmap *pm)
{
	uint64_t z = (pm->rnd += 0x9e3779b97f4a7c15ull); /* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- policy ---- */

/* A LAN host, neither the gateway nor the subnet's network or broadcast
 * address: requests from anywhere else get nothing. */
static bool is_lan_host(const struct portmap *pm, uint32_t addr)
{
	uint32_t host = ntohl(addr & ~pm->lan_mask), last = ntohl(~pm->lan_mask);

	return (addr & pm->lan_mask) == pm->lan_net && addr != pm->lan_addr && host &&
	       (last < 2 || host != last);
}

static uint32_t clamp_life(const struct pm_config *c, uint32_t s)
{
	if (!s || s > c->life_max)
		return c->life_max; /* UPnP lease 0: the maximum, never forever */
	return s < c->life_min ? c->life_min : s;
}

static bool host_uses(const struct portmap *pm, uint8_t proto, uint16_t port)
{
	return pm->in_use && pm->in_use(pm->in_use_ctx, proto, port);
}

static int check_request(const struct portmap *pm, const struct pm_request *rq)
{
	const struct pm_config *c = &pm->cfg;

	if (!portmap_enabled(pm, rq->origin))
		return PM_DISABLED;
	/* Shared uplink mode: the kernel may hold no WAN address (a lease
	 * lost); a mapping would have no external address to answer with
	 * (RFC 6886 3.5 and RFC 6887 7.4 call this a network failure). */
	if (!pm->wan_addr)
		return PM_NO_WAN_ADDR;
	if (!is_lan_host(pm, rq->requester) || rq->int_addr != rq->requester)
		return PM_NOT_AUTHORIZED; /* a host maps only to itself */
	if ((rq->proto != 6 && rq->proto != 17) || rq->int_port < c->int_lo ||
	    rq->int_port > c->int_hi)
		return PM_BAD_PORT;
	if (rq->ext_exact && (rq->ext_port < c->ext_lo || rq->ext_port > c->ext_hi))
		return PM_BAD_PORT;
	return PM_OK;
}

static void fill_entry(struct pm_entry *e, const struct pm_request *rq, uint64_t now_ms,
		       uint32_t life)
{
	e->expires_ms = now_ms + (uint64_t)life * 1000;
	e->lifetime_s = life;
	memcpy(e->desc, rq->desc, sizeof(e->desc));
	e->desc[sizeof(e->desc) - 1] = '\0';
	memcpy(e->nonce, rq->nonce, sizeof(e->nonce));
}

/* RFC 6887 11.5, RFC 6886 3.3: the same internal endpoint asking again
 * renews its mapping; a PCP client must prove it made it (the nonce). */
static int renew(struct portmap *pm, struct pm_entry *e, const struct pm_request *rq,
		 uint64_t now_ms, struct pm_entry *out)
{
	if (rq->origin == PM_PCP && e->origin == PM_PCP &&
	    memcmp(e->nonce, rq->nonce, sizeof(e->nonce)))
		return PM_NOT_AUTHORIZED;
	if (rq->ext_exact && rq->ext_port != e->ext_port)
		return PM_CONFLICT; /* one external port per internal endpoint (RFC 4787) */
	fill_entry(e, rq, now_ms, clamp_life(&pm->cfg, rq->lifetime_s));
	e->origin = rq->origin;
	pm->c.renewed++;
	if (out)
		*out = *e;
	return PM_OK;
}

/* The external port: the one asked for if it is free and allowed, else one
 * steered into the host's home bucket (unless only that one would do). */
static int choose_port(struct portmap *pm, const struct pm_request *rq, uint16_t *port,
		       bool *steered)
{
	const struct pm_config *c = &pm->cfg;
	uint16_t want = rq->ext_port;
	unsigned in, home;

	if (want && want >= c->ext_lo && want <= c->ext_hi &&
	    nat_port_free(pm->nat, rq->proto, want) && !host_uses(pm, rq->proto, want)) {
		*port = want;
		*steered = nat_inbound_bucket(pm->nat, rq->proto, want, rq->int_addr, rq->int_port,
					      &in, &home) &&
			   in == home;
		return PM_OK;
	}
	if (rq->ext_exact)
		return PM_CONFLICT;
	if (nat_pick_inbound_port(pm->nat, rq->proto, rq->int_addr, rq->int_port, c->ext_lo,
				  c->ext_hi, want ? 0 : rq->int_port, next_rand(pm), pm->in_use,
				  pm->in_use_ctx, port, steered))
		return PM_NO_RESOURCES;
	return PM_OK;
}

static int create(struct portmap *pm, const struct pm_request *rq, uint64_t now_ms,
		  struct pm_entry *out)
{
	struct nat_mapping_info mi;
	struct nat_static_map sm = {
	    .proto = rq->proto, .lan_addr = rq->int_addr, .lan_port = rq->int_port};
	bool steered = false;
	int r = PM_CONFLICT;

	if (host_count(pm, rq->int_addr) >= pm->cfg.per_host || pm->n >= pm->cfg.total)
		return PM_NO_RESOURCES;
	/* The endpoint's own connection mapping (or a static one) holds it. */
	if (nat_find_mapping(pm->nat, rq->proto, rq->int_addr, rq->int_port, &mi))
		return PM_CONFLICT;
	for (int t = 0; t < PICK_TRIES && r == PM_CONFLICT; t++) {
		if ((r = choose_port(pm, rq, &sm.ext_port, &steered)) != PM_OK)
			return r;
		int err = nat_static_add(pm->nat, &sm, NULL);
		r = !err ? PM_OK : err == -EBUSY ? PM_CONFLICT : PM_NO_RESOURCES;
	}
	if (r != PM_OK)
		return r;
	tell_mapped(pm, rq->proto, sm.ext_port, true);
	struct pm_entry *e = &pm->e[pm->n++];
	*e = (struct pm_entry){.proto = rq->proto,
			       .ext_port = sm.ext_port,
			       .int_addr = rq->int_addr,
			       .int_port = rq->int_port,
			       .origin = rq->origin,
			       .requester = rq->requester,
			       .steered = steered};
	fill_entry(e, rq, now_ms, clamp_life(&pm->cfg, rq->lifetime_s));
	pm->c.created++;
	if (steered)
		pm->c.steered++;
	else
		pm->c.unsteered++;
	if (out)
		*out = *e;
	return PM_OK;
}

static int add(struct portmap *pm, const struct pm_request *rq, uint64_t now_ms,
	       struct pm_entry *out)
{
	struct pm_entry *e;
	int r = check_request(pm, rq);

	if (r != PM_OK)
		return r;
	if ((e = by_internal(pm, rq->proto, rq->int_addr, rq->int_port)))
		return renew(pm, e, rq, now_ms, out);
	return create(pm, rq, now_ms, out);
}

static void count(struct portmap *pm, enum pm_origin origin, int r)
{
	unsigned o = (unsigned)origin < PM_ORIGIN_COUNT ? (unsigned)origin : PM_STATIC;

	pm->c.requests[o]++;
	pm->c.results[o][r]++;
}

int portmap_add(struct portmap *pm, const struct pm_request *rq, uint64_t now_ms,
		struct pm_entry *out)
{
	int r = add(pm, rq, now_ms, out);

	count(pm, rq->origin, r);
	return r;
}

int portmap_delete(struct portmap *pm, uint8_t proto, uint16_t ext_port, uint32_t requester,
		   enum pm_origin origin)
{
	struct pm_entry *e = by_external(pm, proto, ext_port);
	int r = PM_OK;

	if (!e)
		r = PM_NOT_FOUND;
	else if (requester && e->int_addr != requester)
		r = PM_NOT_AUTHORIZED;
	else {
		remove_entry(pm, e);
		pm->c.deleted++;
	}
	count(pm, origin, r);
	return r;
}

/* ---- reading ---- */

int portmap_find(const struct portmap *pm, uint8_t proto, uint16_t ext_port, struct pm_entry *out)
{
	const struct pm_entry *e = by_external(pm, proto, ext_port);
	struct nat_mapping_info mi;

	if (e) {
		*out = *e;
		return PM_OK;
	}
	if (!nat_find_mapping(pm->nat, proto, 0, ext_port, &mi) || !mi.is_static)
		return PM_NOT_FOUND;
	*out = (struct pm_entry){.proto = proto,
				 .ext_port = ext_port,
				 .int_addr = mi.lan_addr,
				 .int_port = mi.lan_port,
				 .origin = PM_STATIC};
	return PM_OK;
}

int portmap_find_internal(const struct portmap *pm, uint8_t proto, uint32_t int_addr,
			  uint16_t int_port, struct pm_entry *out)
{
	const struct pm_entry *e = by_internal(pm, proto, int_addr, int_port);

	if (!e)
		return PM_NOT_FOUND;
	*out = *e;
	return PM_OK;
}

struct static_walk {
	const struct portmap *pm;
	unsigned want, seen;
	bool found;
	struct pm_entry *out;
};

static void visit_static(void *ctx, const struct nat_static_map *sm)
{
	struct static_walk *w = ctx;

	if (w->found || by_external(w->pm, sm->proto, sm->ext_port))
		return; /* one of ours */
	if (w->seen++ != w->want)
		return;
	w->found = true;
	*w->out = (struct pm_entry){.proto = sm->proto,
				    .ext_port = sm->ext_port,
				    .int_addr = sm->lan_addr,
				    .int_port = sm->lan_port,
				    .origin = PM_STATIC};
}

int portmap_get(const struct portmap *pm, unsigned index, struct pm_entry *out)
{
	struct static_walk w = {.pm = pm, .out = out};

	if (index < pm->n) {
		*out = pm->e[index];
		return PM_OK;
	}
	w.want = index - pm->n;
	nat_static_list(pm->nat, visit_static, &w);
	return w.found ? PM_OK : PM_NOT_FOUND;
}

void portmap_expire(struct portmap *pm, uint64_t now_ms)
{
	for (unsigned i = 0; i < pm->n;) {
		if (pm->e[i].expires_ms && pm->e[i].expires_ms <= now_ms) {
			remove_entry(pm, &pm->e[i]); /* the last one moves to i */
			pm->c.expired++;
		} else
			i++;
	}
}

uint64_t portmap_next_expiry_ms(const struct portmap *pm)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < pm->n; i++)
		if (pm->e[i].expires_ms && pm->e[i].expires_ms < next)
			next = pm->e[i].expires_ms;
	return next;
}
