/* gw.h - the live gateway: two interfaces, N queues, one worker per queue,
 * one control thread.
 *
 * Theory of operation
 * -------------------
 * Worker q reads queue q of the LAN and WAN ports (the backend's RSS decides
 * which packets that is), parses each frame once, answers pings to the
 * gateway, applies the router rules (TTL, RFC 1812), runs the NAT, and sends
 * the result out of queue q of the other port. The NAT's verdicts decide the
 * rest: a packet owned by another worker goes over an SPSC ring to it (the
 * frame's buffer travels with it and is returned to its pool over another
 * ring); a packet whose next hop has no published MAC, and every ARP frame,
 * goes to the control thread ("punt").
 *
 * The control thread owns the ARP caches (router/arp.c) and publishes resolved
 * neighbours in a table the workers read without waiting (neigh.h); it
 * sends ARP replies, requests and the frames that waited for them through
 * its own raw socket per interface; it runs the NAT's janitor and the
 * control socket (`rssnat show stats`). Nothing on a worker allocates,
 * blocks on a lock or waits for another thread; a full ring is a counted
 * drop.
 */
#ifndef RSSNAT_GW_H
#define RSSNAT_GW_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/ratelimit.h"
#include "../nat/nat.h"
#include "../portctl/portmap.h"
#include "../rss/rss.h"

enum {
	GW_RESERVE_MAX = 64, /* DHCP reservations */
	GW_UPSTREAM_MAX = 4, /* DNS upstream resolvers */
};

/* The LAN services: DHCP server and DNS proxy (host.c), as Windows ICS. */
struct gw_services {
	bool dhcp, dns;
	char host_if[IF_NAMESIZE];	/* the host interface (TUN), default "rssnat0" */
	uint32_t pool_first, pool_last; /* network byte order; 0: .2 up to the last host */
	uint32_t lease_secs;
	unsigned dhcp_new_rate; /* new clients given an address a second; 0: no limit */
	unsigned n_reserve;
	struct {
		uint8_t mac[6];
		uint32_t addr;
	} reserve[GW_RESERVE_MAX];
	char leases[256];    /* lease file; "" keeps leases in memory only */
	char domain[64];     /* "mshome.net" */
	unsigned n_upstream; /* 0: the nameservers of /etc/resolv.conf */
	struct {
		uint32_t addr;
		uint16_t port;
	} upstream[GW_UPSTREAM_MAX];
	unsigned dns_cache; /* entries */
};

enum {
	/* CoDel's target on the receive rings: the round trip a TCP load adds
	 * through the gateway stays under about twice this (issue 12: under
	 * 1 ms). RFC 8289's 5 ms is for a path of 100 ms round trips. */
	GW_CODEL_TARGET_US_DEFAULT = 500,
	GW_CODEL_TARGET_US_MAX = 100000,
};

/* --offload-spread: where the kernel fast path runs (gw/offload.c). */
enum gw_spread_mode {
	GW_SPREAD_OFF,	   /* where the frame arrives (on a veth: the sender's CPU) */
	GW_SPREAD_ON,	   /* the driver's XDP redirects to the flow's worker's CPU */
	GW_SPREAD_GENERIC, /* the same, after the skb is built (XDP generic mode) */
};

struct gw_config {
	char lan_if[IF_NAMESIZE];
	char wan_if[IF_NAMESIZE];
	uint32_t lan_addr, lan_mask; /* network byte order */
	uint32_t wan_addr, wan_mask;
	uint32_t wan_gateway;
	bool wan_shared; /* shared uplink mode (issue 11): the kernel keeps the WAN interface and
			    its address */
	unsigned queues;
	const char *backend;
	char socket_path[108];
	uint16_t mss_clamp;	  /* 0: off */
	uint32_t arp_locktime_ms; /* a neighbour's MAC heard this recently is verified
				     before it is replaced; 0: believed at once */
	bool pin;		  /* each worker on a CPU of its own (default off) */
	bool offload;		  /* established flows forwarded in the kernel (default on) */
	/* The fast path moved to each flow's worker's CPU by an XDP cpumap
	 * redirect (gw/offload.c): enum gw_spread_mode */
	unsigned offload_spread;
	/* CoDel on the workers' receive rings (RFC 8289): the target sojourn in
	 * microseconds, the interval 20 times it; 0: off (the rings then queue
	 * up to their size). */
	uint32_t codel_target_us;
	/* Every ICMP error the gateway sends (RFC 1812 4.3.2.8): per_sec and
	 * key_interval_ms from --icmp-error-rate and --icmp-error-interval;
	 * shared by the workers (gw.c sets shares and seeds). */
	struct ratelimit_config icmp_limit;
	struct nat_config nat;
	struct gw_services svc;
	/* Port control (src/portctl/): UPnP IGD, NAT-PMP and PCP for the LAN's
	 * applications, on by default as ICS. */
	struct pm_config portctl;
	/* RSS at start (live.c; `rssnat set rss` changes it later). Its queues
	 * are the workers', unless weights were given: then one per weight. */
	struct rss_config rss;
	bool rss_weights;
	/* SIGHUP: read the settings again (the same command line and file),
	 * printing any error; 0 and @out filled, or nonzero. NULL: no reload. */
	int (*reread)(struct gw_config *out);
};

/* gw_config_default() - ICS defaults: LAN 192.168.137.1/24, queues = cores,
 * afpacket, /run/rssnat/rssnat.sock, workers not pinned, DHCP and DNS on (domain mshome.net,
 * leases in /var/lib/rssnat/dhcp.leases, host interface rssnat0). */
void gw_config_default(struct gw_config *cfg);

/* Uplink modes (issue 11). Shared (no --wan-addr, the default): the kernel
 * keeps the WAN interface and its address, whatever configured it (DHCP
 * client, network manager, a static address); rssnat reads the address,
 * prefix and default gateway over rtnetlink and follows their changes
 * (src/uplink/), and never answers ARP or ping for the kernel's address.
 * Dedicated (--wan-addr and --wan-gateway given): rssnat owns the WAN
 * interface and answers for the configured address itself. The parsers
 * (src/conf) set wan_shared from whether --wan-addr was given. */

/* gw_check_settings() - the settings alone, as a whole: what needs no look
 * at this host (addresses and subnets agree, queues, backend, services).
 * 0 or -EINVAL with a one-line reason in @why. */
int gw_check_settings(const struct gw_config *cfg, const char **why);

/* gw_check() - everything that can be checked before starting: interfaces
 * exist and are up and distinct, the kernel holds none of our addresses on
 * them (in shared mode the WAN address is the kernel's, and may be absent
 * at start: a DHCP client may not have one yet), the gateway is on the WAN
 * subnet, queues 1..64. 0 or -EINVAL with a
 * one-line reason in @why (a static buffer). */
int gw_check(const struct gw_config *cfg, const char **why);

/* gw_run() - run until SIGINT or SIGTERM; returns 0, or -errno with *why
 * if the gateway could not start. Logs to stderr. */
int gw_run(const struct gw_config *cfg, const char **why);

#endif
