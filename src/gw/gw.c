/* gw.c - the live gateway's checks, set-up and tear-down (see gw.h; the
 * worker is in worker.c, the control thread in control.c). */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/bits.h"
#include "../ctl/ctl.h"
#include "../io/io.h"
#include "../rss/rss.h"
#include "../router/arp.h"
#include "../nat/nat.h"

void gw_config_default(struct gw_config *cfg)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->lan_addr = pkt_ipv4(192, 168, 137, 1);
	cfg->lan_mask = pkt_ipv4(255, 255, 255, 0);
	cfg->queues = cores > 0 && cores <= RSS_QUEUES_MAX ? (unsigned)cores : 1;
	cfg->backend = "afpacket";
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", CTL_DEFAULT_SOCKET);
	rss_config_default(&cfg->rss, cfg->queues);
	cfg->svc.dhcp = cfg->svc.dns = true;
	snprintf(cfg->svc.host_if, sizeof(cfg->svc.host_if), "rssnat0");
	snprintf(cfg->svc.leases, sizeof(cfg->svc.leases), "/var/lib/rssnat/dhcp.leases");
	snprintf(cfg->svc.domain, sizeof(cfg->svc.domain), "mshome.net");
	cfg->svc.lease_secs = 86400;
	cfg->svc.dhcp_new_rate = 2;
	cfg->arp_locktime_ms = ARP_LOCKTIME_MS_DEFAULT;
	cfg->codel_target_us = GW_CODEL_TARGET_US_DEFAULT;
	cfg->svc.dns_cache = 1024;
	portmap_config_default(&cfg->portctl);
	cfg->offload = true;
	cfg->wan_shared = true; /* until --wan-addr is given */
	nat_config_default(&cfg->nat, 0);
	ratelimit_config_icmp(&cfg->icmp_limit);
}

static char why_buf[256];

static int fail(const char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	*why = why_buf;
	return -EINVAL;
}

static int check_iface(const char *name, const char *role, const char **why)
{
	struct ifreq ifr = {0};
	int fd, up;

	if (!if_nametoindex(name))
		return fail(why, "%s interface '%s' does not exist", role, name);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	if (fd >= 0)
		close(fd);
	if (!up)
		return fail(why, "%s interface '%s' is down (ip link set %s up)", role, name, name);
	return 0;
}

/* The kernel must not own the addresses we answer for: it would answer ARP
 * and ping for them too, and reset our TCP sessions. */
static int check_kernel_addrs(const struct gw_config *cfg, const char **why)
{
	struct ifaddrs *all, *a;
	char text[INET_ADDRSTRLEN];
	int err = 0;

	if (getifaddrs(&all))
		return 0; /* cannot tell: the run will show */
	for (a = all; a && !err; a = a->ifa_next) {
		const struct sockaddr_in *sin = (const void *)a->ifa_addr;
		if (!sin || sin->sin_family != AF_INET)
			continue;
		bool on_lan = !strcmp(a->ifa_name, cfg->lan_if);
		bool on_wan = !strcmp(a->ifa_name, cfg->wan_if);
		uint32_t ip = sin->sin_addr.s_addr;
		/* Shared mode: the WAN address is the kernel's (cfg->wan_addr 0). */
		if ((on_lan || on_wan) && (ip == cfg->lan_addr || (ip == cfg->wan_addr && ip))) {
			inet_ntop(AF_INET, &ip, text, sizeof(text));
			err = fail(why,
				   "the kernel holds %s on %s; rssnat answers for it itself "
				   "(ip addr flush dev %s)",
				   text, a->ifa_name, a->ifa_name);
		}
	}
	freeifaddrs(all);
	return err;
}

/* Shared mode: the kernel's WAN address is ours to use, but not one on the
 * LAN subnet (replies to it would be the LAN's). None at all is fine: a
 * DHCP client may not have one yet (LAN traffic out waits, counted). */
static int check_shared_wan(const struct gw_config *cfg, const char **why)
{
	struct ifaddrs *all, *a;
	char text[INET_ADDRSTRLEN];
	int err = 0;

	if (!cfg->wan_shared || getifaddrs(&all))
		return 0;
	for (a = all; a && !err; a = a->ifa_next) {
		const struct sockaddr_in *sin = (const void *)a->ifa_addr;
		if (!sin || sin->sin_family != AF_INET || strcmp(a->ifa_name, cfg->wan_if))
			continue;
		if ((sin->sin_addr.s_addr & cfg->lan_mask) == (cfg->lan_addr & cfg->lan_mask)) {
			inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
			err = fail(why, "the WAN interface %s holds %s, on the LAN subnet",
				   a->ifa_name, text);
		}
	}
	freeifaddrs(all);
	return err;
}

static bool on_lan_subnet(const struct gw_config *cfg, uint32_t addr)
{
	uint32_t host = ntohl(addr) & ~ntohl(cfg->lan_mask);

	return (addr & cfg->lan_mask) == (cfg->lan_addr & cfg->lan_mask) && host != 0 &&
	       host != ~ntohl(cfg->lan_mask) && addr != cfg->lan_addr;
}

/* The LAN services' settings against the LAN subnet (known only once every
 * option is read). */
static int check_services(const struct gw_config *cfg, const char **why)
{
	const struct gw_services *svc = &cfg->svc;

	if (svc->dns && (!strcmp(svc->host_if, cfg->lan_if) || !strcmp(svc->host_if, cfg->wan_if)))
		return fail(why, "--host-if must name a new interface, not --lan or --wan");
	if (!svc->dhcp)
		return 0;
	if (svc->pool_first &&
	    (!on_lan_subnet(cfg, svc->pool_first) || !on_lan_subnet(cfg, svc->pool_last)))
		return fail(why, "--dhcp-pool must lie in the LAN subnet, without its network, "
				 "broadcast or gateway address at either end");
	for (unsigned i = 0; i < svc->n_reserve; i++)
		if (!on_lan_subnet(cfg, svc->reserve[i].addr))
			return fail(why,
				    "--dhcp-reserve addresses must be hosts of the LAN subnet, "
				    "not the gateway's");
	return 0;
}

/* Dedicated mode needs the address and the gateway; shared mode reads
 * both from the kernel, and a gateway alone would be a half-configured
 * dedicated mode. */
static int check_wan_settings(const struct gw_config *cfg, const char **why)
{
	if (cfg->wan_shared)
		return cfg->wan_gateway ? fail(why, "--wan-gateway needs --wan-addr (without both, "
						    "rssnat reads the WAN address and gateway "
						    "from the kernel: shared uplink mode)")
					: 0;
	if (!cfg->wan_addr)
		return fail(why, "--wan-addr is needed");
	if (!cfg->wan_gateway ||
	    (cfg->wan_gateway & cfg->wan_mask) != (cfg->wan_addr & cfg->wan_mask))
		return fail(why, "--wan-gateway must be an address on the WAN subnet");
	if ((cfg->lan_addr & cfg->lan_mask) == (cfg->wan_addr & cfg->lan_mask))
		return fail(why, "the LAN and WAN subnets overlap");
	return 0;
}

int gw_check_settings(const struct gw_config *cfg, const char **why)
{
	const char *bad = "";
	int err;

	if (!cfg->lan_if[0] || !cfg->wan_if[0])
		return fail(why, "both --lan and --wan are needed");
	if (!strcmp(cfg->lan_if, cfg->wan_if))
		return fail(why, "--lan and --wan must be different interfaces");
	if ((err = check_wan_settings(cfg, why)))
		return err;
	if (cfg->queues < 1 || cfg->queues > RSS_QUEUES_MAX)
		return fail(why, "--queues must be from 1 to 64");
	if (cfg->rss_weights && cfg->rss.queues > cfg->queues)
		return fail(why, "--rss-table gives %u weights but --queues is %u", cfg->rss.queues,
			    cfg->queues);
	if (!io_backend(cfg->backend))
		return fail(why, "backend '%s' is not built in", cfg->backend);
	if (ratelimit_check(&cfg->icmp_limit, &bad))
		return fail(why, "ICMP error limit: %s", bad);
	if (strcmp(cfg->backend, "afpacket") && cfg->rss.fields_wan != RSS_F_4TUPLE)
		return fail(why, "--rss-fields endpoint needs the afpacket backend (NICs hash "
				 "4-tuples)");
	if (portmap_config_check(&cfg->portctl, &bad))
		return fail(why, "%s", bad);
	return check_services(cfg, why);
}

int gw_check(const struct gw_config *cfg, const char **why)
{
	int err;

	if ((err = gw_check_settings(cfg, why)) || (err = check_iface(cfg->lan_if, "LAN", why)) ||
	    (err = check_iface(cfg->wan_if, "WAN", why)) || (err = check_shared_wan(cfg, why)))
		return err;
	return check_kernel_addrs(cfg, why);
}

/* The interface's MAC address and MTU. */
static int iface_info(const char *name, uint8_t mac[6], uint16_t *mtu)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	err = fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr);
	if (!err)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	err = err || ioctl(fd, SIOCGIFMTU, &ifr);
	if (!err)
		*mtu = ifr.ifr_mtu >= 68 && ifr.ifr_mtu <= 65535 ? (uint16_t)ifr.ifr_mtu : 1500;
	if (fd >= 0)
		close(fd);
	return err ? -errno : 0;
}

static int open_raw(struct gw *gw, int side)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = gw->ifindex[side]};

	gw->raw[side] = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* send only */
	if (gw->raw[side] < 0 || bind(gw->raw[side], (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

static int make_arp(struct gw *gw, int side, const char **why)
{
	struct arp_config ac;

	arp_config_default(&ac);
	ac.seed = (uint64_t)gw_now_ms() * 2654435761u + (unsigned)side;
	ac.locktime_ms = gw->cfg.arp_locktime_ms;
	ac.n_addrs = 1;
	ac.addrs[0].ip = side == GW_LAN ? gw->cfg.lan_addr : gw_wan_addr(gw);
	memcpy(ac.addrs[0].mac, gw->mac[side], 6);
	ac.addrs[0].prefix_len =
	    (uint8_t)__builtin_popcount(side == GW_LAN ? gw->cfg.lan_mask : gw_wan_mask(gw));
	/* Shared mode: the kernel answers for its address (wan.c). */
	ac.silent = side == GW_WAN && gw->cfg.wan_shared;
	return arp_create(&ac, &gw->arp[side], why);
}

/* The WAN's stack guard. Dedicated mode: every frame is rssnat's, the
 * kernel sees none (it would answer ARP and ping for our address and reset
 * our TCP sessions). Shared mode: the kernel keeps the interface, and the
 * guard shoots only the frames that are rssnat's, decided per frame
 * (src/io/bpf/claim_decide.h, its maps given by gw_wan_owner_open()). */
int gw_wan_guard_attach(struct gw *gw, const char **why)
{
	return io_claim_guard(gw->claim[GW_WAN], why);
}

static struct ring *make_rings(struct gw *gw, size_t count, size_t *used)
{
	struct ring *r = calloc(count, sizeof(*r));

	for (size_t i = 0; r && i < count; i++, (*used)++)
		ring_init(&r[i], gw->slots + *used * GW_RING, GW_RING);
	return r;
}

/* Each worker's ICMP errors, its router's and its NAT's, pass one limiter
 * of its own; the workers share the global rate (ratelimit.h). */
static void limit_icmp_errors(struct gw *gw, struct gw_worker *w)
{
	struct ratelimit_config rc = gw->cfg.icmp_limit;

	rc.shares = gw->n;
	rc.seed = bits_fmix64((uint64_t)gw_now_ms() << 8 | w->q);
	ratelimit_init(&w->icmp_limit, &rc, gw_now_ms());
	nat_worker_set_error_limit(w->nat, &w->icmp_limit);
}

static int alloc_workers(struct gw *gw)
{
	size_t rings = 2 * (size_t)gw->n * gw->n + 4 * gw->n, used = 0;

	gw->slots = malloc(rings * GW_RING * sizeof(void *));
	gw->w = calloc(gw->n, sizeof(*gw->w));
	if (!gw->slots || !gw->w)
		return -ENOMEM;
	gw->handoff = make_rings(gw, (size_t)gw->n * gw->n, &used);
	gw->ret = make_rings(gw, (size_t)gw->n * gw->n, &used);
	gw->punt = make_rings(gw, gw->n, &used);
	gw->back = make_rings(gw, gw->n, &used);
	gw->inject = make_rings(gw, gw->n, &used);
	gw->ctl_ret = make_rings(gw, gw->n, &used);
	gw->ctl_pool = calloc(GW_CTL_POOL, sizeof(*gw->ctl_pool));
	gw->ctl_free = malloc(GW_CTL_POOL * sizeof(*gw->ctl_free));
	if (!gw->handoff || !gw->ret || !gw->punt || !gw->back || !gw->inject || !gw->ctl_ret ||
	    !gw->ctl_pool || !gw->ctl_free)
		return -ENOMEM;
	for (unsigned i = 0; i < GW_CTL_POOL; i++) {
		gw->ctl_pool[i].owner = GW_OWNER_CTL;
		gw->ctl_free[gw->n_ctl_free++] = &gw->ctl_pool[i];
	}
	for (unsigned q = 0; q < gw->n; q++) {
		struct gw_worker *w = &gw->w[q];
		w->gw = gw;
		w->q = q;
		w->nat = nat_worker(gw->nat, q);
		w->pool = calloc(GW_POOL, sizeof(*w->pool));
		w->free = malloc(GW_POOL * sizeof(*w->free));
		if (!w->pool || !w->free)
			return -ENOMEM;
		for (unsigned i = 0; i < GW_POOL; i++) {
			w->pool[i].owner = (uint16_t)q;
			w->free[w->n_free++] = &w->pool[i];
		}
		limit_icmp_errors(gw, w);
	}
	return 0;
}

static void free_workers(struct gw *gw)
{
	for (unsigned q = 0; gw->w && q < gw->n; q++) {
		free(gw->w[q].pool);
		free(gw->w[q].free);
	}
	free(gw->w);
	free(gw->handoff);
	free(gw->ret);
	free(gw->punt);
	free(gw->back);
	free(gw->inject);
	free(gw->ctl_ret);
	free(gw->ctl_pool);
	free(gw->ctl_free);
	free(gw->slots);
}

static int open_ports(struct gw *gw, const char **why)
{
	const char *names[2] = {gw->cfg.lan_if, gw->cfg.wan_if};
	int err;

	for (int side = 0; side < 2; side++) {
		/* Deep rings: a worker that shares its core with other work must not
		 * lose a burst while it is off the CPU (TCP pays with a
		 * retransmission for every frame the kernel drops here). */
		struct io_params prm = {.ifname = names[side],
					.queues = gw->n,
					.side = (unsigned)side,
					.snap = gw->snap,
					.ring_frames = GW_RING_FRAMES,
					.offload = gw->offload,
					.wan_claim = gw->wan_claim,
					.codel_target_ns = gw->cfg.codel_target_us * 1000ull,
					.codel_interval_ns = gw->cfg.codel_target_us * 1000ull *
							     GW_CODEL_INTERVAL_TARGETS};
		gw->ifindex[side] = (int)if_nametoindex(names[side]);
		if ((err = gw->io->open(&prm, &gw->port[side], why)))
			return err;
		if ((err = iface_info(names[side], gw->mac[side], &gw->mtu[side])) ||
		    (err = open_raw(gw, side))) {
			*why = "cannot read the interface's MAC and MTU or open a raw socket on it";
			return err;
		}
		if ((err = make_arp(gw, side, why)))
			return err;
		err = side == GW_WAN ? gw_wan_guard_attach(gw, why)
				     : io_claim_guard(gw->claim[side], why);
		if (err)
			return err;
	}
	return 0;
}

/* A NIC that steers by RSS of its own, which the backend could read but
 * not program: the engine takes its key and table, so that NAT ports are
 * chosen for the hash the NIC computes. The WAN side's wins (replies are
 * what steering aims at); a LAN NIC that differs is covered by handoff. */
static void follow_device(struct gw *gw)
{
	struct rss_config dev;
	char note[200];
	const char *why = "";

	for (int side = GW_WAN; side >= GW_LAN; side--) {
		if (!gw->io->device_rss || gw->io->device_rss(gw->port[side], &dev))
			continue;
		if (gw_rss_commit(gw, &dev, note, sizeof(note), &why))
			fprintf(stderr, "rssnat: cannot follow the %s NIC's own RSS (%s)\n",
				side == GW_WAN ? "WAN" : "LAN", why);
		else {
			gw->table_origin = "the NIC's own table, read back";
			fprintf(stderr,
				"rssnat: the %s NIC keeps its own RSS key and %u-entry table; the "
				"engine follows it\n",
				side == GW_WAN ? "WAN" : "LAN", dev.table_size);
		}
		return;
	}
}

/* Before anything touches the interfaces: another rssnat on one of them is
 * refused here, with nothing of its undone (src/io/claim.c). */
static int claim_ports(struct gw *gw, const char **why)
{
	const char *names[2] = {gw->cfg.lan_if, gw->cfg.wan_if};
	int err;

	for (int side = 0; side < 2; side++)
		if ((err = io_claim_take(names[side], &gw->claim[side], why)))
			return err;
	return 0;
}

static int build(struct gw *gw, const char **why)
{
	struct nat_config nc;
	int err;

	if ((err = claim_ports(gw, why)))
		return err;
	gw->ifindex[GW_WAN] = (int)if_nametoindex(gw->cfg.wan_if);
	if ((err = gw_wan_owner_check(gw, why))) /* the NAT's port range, before any log */
		return err;
	gw->io = io_backend(gw->cfg.backend);
	gw->n = gw->cfg.queues;
	if ((err = gw_live_init(gw, why)) || (err = gw_wan_open(gw, why)))
		return err;
	/* Whose WAN frames are, before the NAT and the programs. */
	if ((err = gw_wan_owner_open(gw, why)))
		return err;
	nc = gw->cfg.nat;
	nc.wan_addr = gw_wan_addr(gw);
	nc.lan_addr = gw->cfg.lan_addr;
	nc.lan_mask = gw->cfg.lan_mask;
	nc.lan_net = gw->cfg.lan_addr & gw->cfg.lan_mask;
	if ((err = nat_create(&nc, gw->snap, gw->n, &gw->nat, why)))
		return err;
	gw_offload_load(gw);
	if ((err = open_ports(gw, why)))
		return err;
	if ((err = alloc_workers(gw))) {
		*why = "out of memory";
		return err;
	}
	follow_device(gw);
	gw_offload_open(gw);
	if ((err = gw_host_open(gw, why)) ||
	    (err = ctl_server_open(gw->cfg.socket_path, &gw->ctl, why)))
		return err;
	gw_wan_ready(gw);
	return 0;
}

static void teardown(struct gw *gw)
{
	ctl_server_close(gw->ctl);
	gw_host_close(gw);
	free_workers(gw);
	gw_offload_close(gw); /* before the ports and the stack guards */
	for (int side = 0; side < 2; side++) {
		if (gw->port[side])
			gw->io->close(gw->port[side]);
		if (gw->raw[side] > 0)
			close(gw->raw[side]);
		io_claim_release(gw->claim[side]); /* this process's stack guard only */
		arp_destroy(gw->arp[side]);
	}
	nat_destroy(gw->nat);
	gw_wan_owner_close(gw); /* after every program that shares its maps */
	gw_wan_close(gw);
	gw_live_free(gw);
}

/* ---- workers on CPUs ---- */

/* Worker q on the q-th CPU this process may use (wrapping around), so that
 * each queue's work stays on one core with its caches, as a NIC's queue
 * stays on the CPU its interrupt is bound to. The allowed set is the
 * process's own (taskset, systemd CPUAffinity=). With --pin off, or if the
 * set cannot be read, the scheduler places the workers (cpu -1). */
static void plan_cpus(struct gw *gw)
{
	cpu_set_t allowed;

	for (unsigned q = 0; q < gw->n; q++)
		gw->w[q].cpu = -1;
	if (!gw->cfg.pin || sched_getaffinity(0, sizeof(allowed), &allowed))
		return;
	for (unsigned q = 0; q < gw->n; q++)
		gw->w[q].cpu = gw_queue_cpu(&allowed, q);
}

int gw_queue_cpu(const cpu_set_t *allowed, unsigned q)
{
	int n = CPU_COUNT(allowed), nth;

	if (n == 0)
		return -1;
	nth = (int)(q % (unsigned)n);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, allowed) && nth-- == 0)
			return c;
	return -1; /* not reached: n CPUs are set */
}

/* The thread starts on its CPU: none of its memory is first touched
 * elsewhere. A CPU that cannot be set (a cpuset changed meanwhile) leaves
 * the worker unpinned rather than not started. */
static int start_worker(struct gw_worker *w)
{
	pthread_attr_t attr;
	cpu_set_t one;
	int err;

	if (pthread_attr_init(&attr))
		return -EAGAIN;
	if (w->cpu >= 0) {
		CPU_ZERO(&one);
		CPU_SET(w->cpu, &one);
		if (pthread_attr_setaffinity_np(&attr, sizeof(one), &one))
			w->cpu = -1;
	}
	err = pthread_create(&w->thread, &attr, gw_worker_main, w);
	if (err == EINVAL && w->cpu >= 0) {
		w->cpu = -1; /* the CPU went away from our set: unpinned */
		err = pthread_create(&w->thread, NULL, gw_worker_main, w);
	}
	pthread_attr_destroy(&attr);
	return err ? -err : 0;
}

static void log_cpus(const struct gw *gw)
{
	if (gw->w[0].cpu < 0) {
		fprintf(stderr, "rssnat: workers not pinned (the scheduler places them)\n");
		return;
	}
	fprintf(stderr, "rssnat: workers pinned, queue:CPU");
	for (unsigned q = 0; q < gw->n; q++)
		fprintf(stderr, " %u:%d", q, gw->w[q].cpu);
	fprintf(stderr, "\n");
}

int gw_run(const struct gw_config *cfg, const char **why)
{
	struct gw *gw = calloc(1, sizeof(*gw));
	sigset_t sigs;
	int err, sigfd = -1;
	unsigned started = 0;

	if (!gw) {
		*why = "out of memory";
		return -ENOMEM;
	}
	gw->cfg = *cfg;
	gw->raw[0] = gw->raw[1] = -1;
	gw->arp_tap = -1;
	gw->tun = -1;
	/* Signals go to the control thread's signalfd, not to a worker: INT
	 * and TERM stop, HUP reloads the configuration. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	err = build(gw, why);
	if (!err && (sigfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		err = -errno;
		*why = "signalfd failed";
	}
	if (!err)
		plan_cpus(gw);
	for (; !err && started < gw->n; started++)
		if ((err = start_worker(&gw->w[started]))) {
			*why = "cannot start a worker thread";
			break;
		}
	if (!err) {
		fprintf(stderr,
			"rssnat: forwarding %s <-> %s with %u queues (%s); control socket %s\n",
			cfg->lan_if, cfg->wan_if, gw->n, cfg->backend, cfg->socket_path);
		log_cpus(gw);
		gw_control_loop(gw, sigfd);
		fprintf(stderr, "rssnat: stopping\n");
	}
	atomic_store(&gw->stop, 1);
	for (unsigned q = 0; q < started; q++)
		pthread_join(gw->w[q].thread, NULL);
	if (sigfd >= 0)
		close(sigfd);
	teardown(gw);
	free(gw);
	return err;
}
