/* fuzz_portctl.h - what the NAT-PMP and PCP harnesses share: one NAT, one
 * port mapping service and one socket-free NAT-PMP/PCP server, built on
 * the first input and kept (mappings come and go within the limits), so
 * that every input also runs the handlers behind the parser. */
#ifndef RSSNAT_FUZZ_PORTCTL_H
#define RSSNAT_FUZZ_PORTCTL_H

#include <arpa/inet.h>
#include <stdlib.h>

#include "../src/nat/nat.h"
#include "../src/portctl/pm_server.h"
#include "../src/portctl/portmap.h"
#include "../src/rss/rss.h"

static struct pm_server *fuzz_portctl_server(void)
{
	static struct pm_server *srv;
	struct rss_config rc;
	struct nat_config nc;
	struct pm_config pc;
	struct rss_snapshot *snap;
	struct nat *nat;
	struct portmap *pm;
	const char *why;
	struct pm_server_config sc = {.listen_addr = htonl(0xc0a88901),
				      .lan_net = htonl(0xc0a88900),
				      .lan_mask = htonl(0xffffff00),
				      .port = PM_PORT};

	if (srv)
		return srv;
	rss_config_default(&rc, 2);
	nat_config_default(&nc, htonl(0xc6336402));
	nc.sessions_per_worker = 1024; /* small: the service is what is fuzzed */
	nc.mappings = 4096;
	nc.frags_per_worker = 64;
	portmap_config_default(&pc);
	pc.per_host = 16;
	pc.total = 64;
	if (rss_snapshot_create(&rc, 1, &snap, &why) || nat_create(&nc, snap, 2, &nat, &why) ||
	    portmap_create(&pc, nat, sc.listen_addr, sc.lan_net, sc.lan_mask, nc.wan_addr, &pm,
			   &why) ||
	    pm_server_create_nosock(&sc, pm, 0, &srv))
		abort();
	return srv;
}

#endif
