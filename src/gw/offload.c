/* offload.c - the gateway's side of the kernel fast path ("offload", as
 * netsh's TCP Chimney Offload State): load and attach it (src/offload/offload.c),
 * turn the NAT's sessions into map entries (src/nat/offload.c decides
 * which and when), mirror the neighbours the control thread publishes, and
 * switch it live.
 *
 * One entry per direction, keyed as the frame arrives:
 *   LAN in:  LAN host:port -> remote:port   becomes WAN addr:ext port -> remote
 *            out of the WAN, to the remote or the WAN gateway's MAC;
 *   WAN in:  remote:port -> WAN addr:ext    becomes remote -> LAN host:port
 *            out of the LAN, to the host's MAC.
 * ICMP echo: the identifier is the port, the type (8 in, 0 back) the other.
 * The maps live in this process: the entries go with it.
 */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../io/io.h"
#include "../offload/offload.h"
#include "../offload/spread.h"

enum {
	GW_STATS_CPUS_MAX = 256, /* CPUs show stats lists the fast path's frames for */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t wan_next_hop(const struct gw *gw, uint32_t dst)
{
	return gw_wan_next_hop(gw, dst);
}

static void direction(const struct gw *gw, int in, struct offload_key *k, struct offload_flow *v)
{
	int out = !in;

	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->ifindex = (__u32)gw->ifindex[in];
	v->out_ifindex = (__u32)gw->ifindex[out];
	memcpy(v->smac, gw->mac[out], 6);
	v->mtu = gw->mtu[out];
}

/* Both directions of @f: [0] arrives on the LAN, [1] on the WAN. */
static void entries(const struct gw *gw, const struct nat_offload_flow *f, struct offload_key k[2],
		    struct offload_flow v[2])
{
	bool echo = f->proto == PKT_PROTO_ICMP;

	direction(gw, GW_LAN, &k[0], &v[0]);
	k[0].proto = f->proto;
	k[0].saddr = f->lan_addr;
	k[0].daddr = f->rem_addr;
	k[0].sport = htons(f->lan_port);
	k[0].dport = echo ? PKT_ICMP_ECHO : htons(f->rem_port);
	v[0].saddr = f->ext_addr;
	v[0].daddr = f->rem_addr;
	v[0].sport = htons(f->ext_port);
	v[0].dport = k[0].dport;
	v[0].next_hop = wan_next_hop(gw, f->rem_addr);

	direction(gw, GW_WAN, &k[1], &v[1]);
	k[1].proto = f->proto;
	k[1].saddr = f->rem_addr;
	k[1].daddr = f->ext_addr;
	k[1].sport = echo ? htons(f->ext_port) : htons(f->rem_port);
	k[1].dport = echo ? PKT_ICMP_ECHO_REPLY : htons(f->ext_port);
	v[1].saddr = f->rem_addr;
	v[1].daddr = f->lan_addr;
	v[1].sport = echo ? htons(f->lan_port) : k[1].sport;
	v[1].dport = echo ? k[1].dport : htons(f->lan_port);
	v[1].next_hop = f->lan_addr;
}

static int flow_install(void *ctx, const struct nat_offload_flow *f)
{
	struct gw *gw = ctx;
	struct offload_key k[2];
	struct offload_flow v[2];
	int err;

	entries(gw, f, k, v);
	if ((err = io_offload_flow_put(gw->offload, &k[0], &v[0])))
		return err;
	if ((err = io_offload_flow_put(gw->offload, &k[1], &v[1])))
		(void)io_offload_flow_del(gw->offload, &k[0]); /* both or neither */
	return err;
}

static void flow_remove(void *ctx, const struct nat_offload_flow *f)
{
	struct gw *gw = ctx;
	struct offload_key k[2];
	struct offload_flow v[2];

	entries(gw, f, k, v);
	(void)io_offload_flow_del(gw->offload, &k[0]);
	(void)io_offload_flow_del(gw->offload, &k[1]);
}

/* In the NAT's seconds: gw_now_ms() / 1000, the same wrap included. */
static bool flow_last_seen(void *ctx, const struct nat_offload_flow *f, uint32_t *sec)
{
	struct gw *gw = ctx;
	struct offload_key k[2];
	struct offload_flow v[2], got;
	uint64_t last = 0;

	entries(gw, f, k, v);
	for (int i = 0; i < 2; i++)
		if (io_offload_flow_get(gw->offload, &k[i], &got) == 0 && got.last_ns > last)
			last = got.last_ns;
	*sec = (uint32_t)(last / 1000000u) / 1000u;
	return last != 0;
}

static const struct nat_offload_ops flow_ops = {flow_install, flow_remove, flow_last_seen};

static void spread_close(struct gw *gw)
{
	for (int side = GW_LAN; side <= GW_WAN; side++) {
		io_spread_close(gw->spread[side]);
		gw->spread[side] = NULL;
	}
}

/* The tc program on both interfaces; the backend's receive told to leave
 * alone what it forwards (afpacket: the socket filter; afxdp: its XDP
 * program shares the maps since open()); then the programs enabled. */
static int attach(struct gw *gw, const char **why)
{
	int err;

	for (int side = GW_LAN; side <= GW_WAN; side++) {
		struct io_guard filter;
		if ((err = io_offload_attach(gw->offload, gw->ifindex[side], &filter, why)))
			return err;
		io_claim_offload(gw->claim[side], &filter);
		if (gw->io->set_filter &&
		    (err =
			 gw->io->set_filter(gw->port[side], io_offload_sock_fd(gw->offload), why)))
			return err;
	}
	return io_offload_set_enabled(gw->offload, gw->cfg.offload);
}

void gw_offload_load(struct gw *gw)
{
	const char *why = "";

	if (io_offload_open(&gw->offload, (uint64_t)NEIGH_FRESH_MS * 1000000u, gw->wan_claim,
			    &why)) {
		fprintf(stderr,
			"rssnat: offload unavailable (%s): user space forwards every packet\n",
			why);
		gw->offload = NULL;
	}
}

/* The XDP spreading on both interfaces, queue q's frames to gw_queue_cpu(q)
 * (a pinned worker's CPU). Optional: on a refusal (another XDP program, as
 * the afxdp backend's; a driver without XDP) one line, and the fast path
 * runs where frames arrive. */
static void spread_open(struct gw *gw)
{
	enum io_spread_mode mode =
	    gw->cfg.offload_spread == GW_SPREAD_GENERIC ? IO_SPREAD_GENERIC : IO_SPREAD_NATIVE;
	int cpus[RSS_QUEUES_MAX];
	cpu_set_t allowed;
	const char *why = "the process's CPUs cannot be read";

	if (gw->cfg.offload_spread == GW_SPREAD_OFF)
		return;
	if (!sched_getaffinity(0, sizeof(allowed), &allowed)) {
		for (unsigned q = 0; q < gw->n; q++)
			cpus[q] = gw_queue_cpu(&allowed, q);
		for (int side = GW_LAN; side <= GW_WAN; side++)
			if (io_spread_open(&gw->spread[side], gw->ifindex[side], gw->snap,
					   (unsigned)side, gw->n, cpus, mode, &why))
				break;
	}
	if (gw->spread[GW_LAN] && gw->spread[GW_WAN]) {
		/* The kthreads carry what softirq did: the workers' priority. */
		for (int side = GW_LAN; side <= GW_WAN; side++)
			(void)io_spread_nice(gw->spread[side], GW_WORKER_NICE);
		return;
	}
	fprintf(stderr,
		"rssnat: offload spreading unavailable (%s): the fast path runs where "
		"frames arrive\n",
		why);
	spread_close(gw);
}

void gw_offload_open(struct gw *gw)
{
	const char *why = "";

	if (!gw->offload)
		return;
	if (attach(gw, &why)) {
		fprintf(stderr,
			"rssnat: offload unavailable (%s): user space forwards every packet\n",
			why);
		gw_offload_close(gw);
		return;
	}
	nat_set_offload(gw->nat, &flow_ops, gw);
	nat_set_offload_enabled(gw->nat, gw->cfg.offload);
	spread_open(gw);
}

void gw_offload_set_rss(struct gw *gw, const struct rss_snapshot *snap)
{
	for (int side = GW_LAN; side <= GW_WAN; side++) {
		const char *why = "";
		if (gw->spread[side] && io_spread_set_rss(gw->spread[side], snap, &why))
			fprintf(stderr, "rssnat: the %s spreading kept its table (%s)\n",
				side == GW_LAN ? "LAN" : "WAN", why);
	}
}

void gw_offload_close(struct gw *gw)
{
	spread_close(gw);	       /* frames stop moving between CPUs first */
	io_offload_close(gw->offload); /* its tc filters first, then the maps */
	gw->offload = NULL;
}

bool gw_offload_available(const struct gw *gw)
{
	return gw->offload != NULL;
}

bool gw_offload_enabled(const struct gw *gw)
{
	return gw->offload && nat_offload_enabled(gw->nat);
}

int gw_offload_set(struct gw *gw, bool on, const char **why)
{
	int err;

	if (!gw->offload) {
		*why = "offload is not available on this gateway (see its start-up log)";
		return -EOPNOTSUPP;
	}
	/* Off: the programs first (everything goes up at once), then the NAT
	 * stops installing; on: the NAT first, then the programs. */
	if (on)
		nat_set_offload_enabled(gw->nat, true);
	if ((err = io_offload_set_enabled(gw->offload, on))) {
		*why = "cannot write the fast path's configuration map";
		return err;
	}
	nat_set_offload_enabled(gw->nat, on);
	return 0;
}

/* As the frame of @p would arrive (explain: its fields as parsed). */
bool gw_offload_has(struct gw *gw, const struct pkt *p)
{
	struct offload_key k;
	struct offload_flow v;
	bool echo = p->proto == PKT_PROTO_ICMP;

	if (!gw->offload)
		return false;
	direction(gw, p->side, &k, &v);
	k.proto = p->proto;
	k.saddr = p->saddr;
	k.daddr = p->daddr;
	k.sport = htons(p->sport);
	k.dport =
	    echo ? (p->side == GW_LAN ? PKT_ICMP_ECHO : PKT_ICMP_ECHO_REPLY) : htons(p->dport);
	return io_offload_flow_get(gw->offload, &k, &v) == 0;
}

uint64_t gw_offload_packets(struct gw *gw, const struct nat_session_info *s)
{
	struct nat_offload_flow f = {.proto = s->proto,
				     .lan_addr = s->lan_addr,
				     .rem_addr = s->rem_addr,
				     .ext_addr = gw_wan_addr(gw),
				     .lan_port = s->lan_port,
				     .rem_port = s->rem_port,
				     .ext_port = s->ext_port};
	struct offload_key k[2];
	struct offload_flow v[2], got;
	uint64_t n = 0;

	if (!gw->offload || !s->offloaded)
		return 0;
	entries(gw, &f, k, v);
	for (int i = 0; i < 2; i++)
		if (io_offload_flow_get(gw->offload, &k[i], &got) == 0)
			n += got.packets;
	return n;
}

void gw_offload_neigh(struct gw *gw, int side, uint32_t ip, const uint8_t mac[6])
{
	if (gw->offload)
		(void)io_offload_neigh_put(gw->offload, gw->ifindex[side], ip, mac, mono_ns());
}

void gw_offload_neigh_withdraw(struct gw *gw, int side, uint32_t ip)
{
	if (gw->offload)
		(void)io_offload_neigh_del(gw->offload, gw->ifindex[side], ip);
}

/* The spreading's counters, and the fast path's frames per CPU: where the
 * kernel forwarded them (with spreading, the flows' workers' CPUs). */
static void spread_stats(struct gw *gw, FILE *out, bool json)
{
	uint64_t c[IO_SPREAD_STAT_COUNT] = {0}, per_cpu[GW_STATS_CPUS_MAX];
	int cpus =
	    gw->offload ? io_offload_forwarded_per_cpu(gw->offload, per_cpu, GW_STATS_CPUS_MAX) : 0;

	for (int side = GW_LAN; side <= GW_WAN; side++)
		io_spread_stats(gw->spread[side], c);
	fprintf(out, json ? ",\"spread\":%s" : " spread=%s",
		gw->spread[GW_LAN] ? (json ? "true" : "on") : (json ? "false" : "off"));
#define SPREAD_PRINT(name, text)                                                                   \
	fprintf(out, json ? ",\"spread_" #name "\":%llu" : " spread_" #name "=%llu",               \
		(unsigned long long)c[IO_SPREAD_STAT_##name]);
	IO_SPREAD_STATS(SPREAD_PRINT)
#undef SPREAD_PRINT
	fprintf(out, json ? ",\"forwarded_per_cpu\":[" : " forwarded_per_cpu=");
	for (int i = 0; i < cpus; i++)
		fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)per_cpu[i]);
	fprintf(out, json ? "]" : "");
}

void gw_offload_stats(struct gw *gw, FILE *out, bool json)
{
	uint64_t c[OFFLOAD_STAT_COUNT] = {0};
	const char *state = gw_offload_enabled(gw)     ? "enabled"
			    : gw_offload_available(gw) ? "disabled"
						       : "unavailable";

	if (gw->offload)
		io_offload_stats(gw->offload, c);
	fprintf(out, json ? ",\"offload\":{\"state\":\"%s\"" : "offload state=%s", state);
#define OFFLOAD_PRINT(name, text)                                                                  \
	fprintf(out, json ? ",\"" #name "\":%llu" : " " #name "=%llu",                             \
		(unsigned long long)c[OFFLOAD_STAT_##name]);
	OFFLOAD_STATS(OFFLOAD_PRINT)
#undef OFFLOAD_PRINT
	spread_stats(gw, out, json);
	fprintf(out, json ? "}" : "\n");
}
