/* upnp.c - the UPnP IGD (src/portctl/igd.h) in the gateway: opened with
 * port control when --upnp is on, on the host interface (the TUN that
 * holds the LAN address, host.c), over the gateway's mapping service;
 * polled and run from the control thread with the NAT-PMP/PCP server
 * (portctl.c). */
#include "gw_internal.h"

#include <poll.h>
#include <string.h>

#include "../portctl/igd.h"
#include "../portctl/portmap.h"

static uint64_t mono_ms(void)
{
	return gw_clock_ms(CLOCK_MONOTONIC);
}

int gw_upnp_open(struct gw *gw, const char **why)
{
	const struct pm_config *c = &gw->cfg.portctl;
	struct igd_config ic = {
	    .lan_addr = gw->cfg.lan_addr, .lan_mask = gw->cfg.lan_mask, .pm = gw->portmap};

	if (!c->enabled || !c->upnp || !gw->portmap || gw->tun < 0)
		return 0;
	memcpy(ic.lan_mac, gw->mac[GW_LAN], sizeof(ic.lan_mac));
	snprintf(ic.dev, sizeof(ic.dev), "%s", gw->cfg.svc.host_if);
	return igd_create(&ic, mono_ms(), &gw->igd, why);
}

void gw_upnp_close(struct gw *gw)
{
	igd_destroy(gw->igd); /* says byebye while the TUN still carries it */
	gw->igd = NULL;
}

unsigned gw_upnp_pollfds(struct gw *gw, struct pollfd *fds, unsigned max)
{
	return gw->igd ? igd_pollfds(gw->igd, fds, max) : 0;
}

void gw_upnp_run(struct gw *gw, const struct pollfd *fds, unsigned n)
{
	if (gw->igd)
		igd_run(gw->igd, fds, n, mono_ms());
}

void gw_upnp_stats(struct gw *gw, FILE *out, bool json)
{
	if (gw->igd)
		igd_write_stats(gw->igd, out, json);
}
