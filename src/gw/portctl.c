/* portctl.c - port control in the gateway: the port mapping service over
 * the NAT, the NAT-PMP/PCP server on the host interface, and what the
 * control socket shows of them (`show portmapping`, `delete portmapping`,
 * `explain`, `show stats`). Everything here runs on the control thread.
 *
 * The service exists whenever the gateway runs (so `show portmapping`
 * lists the static mappings beside the dynamic ones, and `--port-control
 * on` at a reload works for UPnP at once); the NAT-PMP/PCP socket is
 * opened at start when port control and one of them is on, on the host
 * interface, which then exists even with the DNS proxy off. */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <poll.h>
#include <string.h>

#include "../nat/nat.h"
#include "../portctl/pm_server.h"
#include "../portctl/portmap.h"

static uint64_t mono_ms(void)
{
	return gw_clock_ms(CLOCK_MONOTONIC);
}

/* NAT-PMP, PCP and UPnP all answer on the LAN address: the kernel's
 * sockets on the host interface. */
bool gw_portctl_wants_tun(const struct gw *gw)
{
	const struct pm_config *c = &gw->cfg.portctl;

	return c->enabled && (c->natpmp || c->pcp || c->upnp);
}

static bool wants_server(const struct gw *gw)
{
	const struct pm_config *c = &gw->cfg.portctl;

	return c->enabled && (c->natpmp || c->pcp);
}

static int open_server(struct gw *gw, const char **why)
{
	struct pm_server_config sc = {.listen_addr = gw->cfg.lan_addr,
				      .lan_net = gw->cfg.lan_addr & gw->cfg.lan_mask,
				      .lan_mask = gw->cfg.lan_mask,
				      .port = PM_PORT,
				      .announce_port = 5350};

	snprintf(sc.dev, sizeof(sc.dev), "%s", gw->cfg.svc.host_if);
	return pm_server_create(&sc, gw->portmap, mono_ms(), &gw->pm_srv, why);
}

/* Shared uplink mode: a dynamic mapping keeps off the host's ports, and
 * the WAN's per-frame claim follows the ones it takes (wan_owner.c). */
static bool port_is_hosts(void *ctx, uint8_t proto, uint16_t port)
{
	return gw_wan_owner_port_is_hosts(ctx, proto, port);
}

static void port_mapped(void *ctx, uint8_t proto, uint16_t port, bool mapped)
{
	if (mapped)
		gw_wan_owner_mapped(ctx, proto, port, true);
	else
		gw_wan_owner_unmapped(ctx, proto, port); /* the host's once the NAT lets go */
}

int gw_portctl_open(struct gw *gw, const char **why)
{
	int err = portmap_create(&gw->cfg.portctl, gw->nat, gw->cfg.lan_addr,
				 gw->cfg.lan_addr & gw->cfg.lan_mask, gw->cfg.lan_mask,
				 gw_wan_addr(gw), &gw->portmap, why);

	if (!err && gw->cfg.wan_shared) {
		portmap_set_port_in_use(gw->portmap, port_is_hosts, gw);
		portmap_set_on_mapped(gw->portmap, port_mapped, gw);
	}
	if (!err && wants_server(gw) && gw->tun >= 0)
		err = open_server(gw, why);
	return err ? err : gw_upnp_open(gw, why);
}

void gw_portctl_close(struct gw *gw)
{
	gw_upnp_close(gw);
	pm_server_destroy(gw->pm_srv);
	gw->pm_srv = NULL;
	portmap_destroy(gw->portmap);
	gw->portmap = NULL;
}

unsigned gw_portctl_pollfds(struct gw *gw, struct pollfd *fds, unsigned max)
{
	gw->n_pm_fds = gw->pm_srv ? pm_server_pollfds(gw->pm_srv, fds, max) : 0;
	return gw->n_pm_fds + gw_upnp_pollfds(gw, fds + gw->n_pm_fds, max - gw->n_pm_fds);
}

void gw_portctl_run(struct gw *gw, const struct pollfd *fds, unsigned n)
{
	uint64_t now = mono_ms();

	unsigned n_pm = gw->n_pm_fds < n ? gw->n_pm_fds : n; /* as gw_portctl_pollfds() laid them */

	if (gw->pm_srv)
		pm_server_run(gw->pm_srv, fds, n_pm, now); /* expires mappings too */
	else if (gw->portmap)
		portmap_expire(gw->portmap, now);
	gw_upnp_run(gw, fds + n_pm, n - n_pm);
}

void gw_portctl_wan_changed(struct gw *gw, uint32_t wan_addr)
{
	if (gw->pm_srv)
		pm_server_wan_changed(gw->pm_srv, wan_addr, mono_ms());
	else if (gw->portmap)
		portmap_set_wan_addr(gw->portmap, wan_addr);
}

void gw_portctl_reload(struct gw *gw, const struct pm_config *next)
{
	const char *why = "";

	if (!gw->portmap || !memcmp(portmap_config(gw->portmap), next, sizeof(*next)))
		return;
	if (portmap_set_config(gw->portmap, next, &why)) {
		fprintf(stderr, "rssnat: reload: port-control: %s; unchanged\n", why);
		return;
	}
	gw->cfg.portctl = *next;
	fprintf(stderr, "rssnat: reload: port-control now %s (natpmp %s, pcp %s, upnp %s)%s\n",
		next->enabled ? "on" : "off", next->natpmp ? "on" : "off", next->pcp ? "on" : "off",
		next->upnp ? "on" : "off",
		wants_server(gw) && !gw->pm_srv ? "; the NAT-PMP/PCP socket opens at restart" : "");
}

void gw_portctl_stats(struct gw *gw, FILE *out, bool json)
{
	if (gw->portmap)
		portmap_write_stats(gw->portmap, out, json);
	if (gw->pm_srv)
		pm_server_write_stats(gw->pm_srv, out, json);
	gw_upnp_stats(gw, out, json);
}

bool gw_portctl_is_dynamic(struct gw *gw, uint8_t proto, uint16_t port)
{
	struct pm_entry e;

	return gw->portmap && portmap_find(gw->portmap, proto, port, &e) == PM_OK &&
	       e.origin != PM_STATIC;
}

void gw_portctl_explain(struct gw *gw, uint8_t proto, uint16_t port, char *buf, size_t size)
{
	char host[INET_ADDRSTRLEN];
	struct pm_entry e;
	uint64_t now = mono_ms();

	buf[0] = '\0';
	if (!gw->portmap || portmap_find(gw->portmap, proto, port, &e) != PM_OK)
		return;
	if (e.origin == PM_STATIC) {
		snprintf(buf, size, "a static port mapping (configuration or add portmapping)");
		return;
	}
	inet_ntop(AF_INET, &e.requester, host, sizeof(host));
	/* The description is the client's: only its printable ASCII here. */
	char desc[PM_DESC_MAX];
	size_t k = 0;
	for (size_t i = 0; i < sizeof(e.desc) && e.desc[i] && k + 1 < sizeof(desc); i++)
		if (e.desc[i] >= 0x20 && e.desc[i] < 0x7f && e.desc[i] != '"' && e.desc[i] != '\\')
			desc[k++] = e.desc[i];
	desc[k] = '\0';
	snprintf(buf, size, "host %s asked for it over %s (%s), %llu s left of %u, port %s", host,
		 portmap_origin_name(e.origin), desc,
		 (unsigned long long)(e.expires_ms > now ? (e.expires_ms - now) / 1000 : 0),
		 e.lifetime_s, e.steered ? "steered to its home bucket" : "not steered");
}

/* ---- `show portmapping`, `delete portmapping` ---- */

int gw_ctl_show_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc)
		return ctl_fail(reply, 2, "'%s': show portmapping takes only --json", argv[0]);
	if (!gw->portmap)
		return ctl_fail(reply, 1, "port mappings are not available");
	portmap_write_list(gw->portmap, reply->body, json, mono_ms());
	return 0;
}

int gw_ctl_delete_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	struct nat_static_map sm = {0};
	const char *why = "";
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc != 1)
		return ctl_fail(reply, 2, "delete portmapping takes PROTO:PORT, e.g. tcp:8080");
	if (nat_static_parse(argv[0], false, &sm, &why))
		return ctl_fail(reply, 2, "%s", why);
	if (gw_portctl_is_dynamic(gw, sm.proto, sm.ext_port)) {
		/* The administrator (requester 0) may delete any host's. */
		(void)portmap_delete(gw->portmap, sm.proto, sm.ext_port, 0, PM_STATIC);
	} else if (nat_static_delete(gw->nat, sm.proto, sm.ext_port, &why)) {
		return ctl_fail(reply, 1, "%s: %s", argv[0], why);
	} else {
		gw_wan_owner_unmapped(gw, sm.proto, sm.ext_port);
	}
	fprintf(reply->body,
		json ? "{\"deleted\":\"%s\"}\n"
		     : "deleted %s (its open connections run until they end)\n",
		argv[0]);
	return 0;
}
