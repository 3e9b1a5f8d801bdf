/* fuzz_ctl.c - libFuzzer harness for the control protocol and the real
 * control commands.
 *
 * Each line of the input (at most LINES) is a request. It goes first to a
 * toy table (the tokenizer and the dispatcher alone), then to the
 * gateway's own table (gw_ctl_commands: show stats, set rss, show
 * sessions, add portmapping, ...) against a stand-in gateway: a struct gw
 * with a real NAT (3 workers, a few sessions made by packets through it),
 * real ARP caches, a real DHCP server (memory only), a real DNS proxy (on
 * loopback, a port the kernel chooses, no upstream) and the RSS snapshots,
 * but no interfaces: the backend is fake_io, which steers nothing and
 * counts per bucket from a fixed pattern. A thread stands in for the
 * workers while a command runs (nat_worker_sync(), which serves session
 * dumps and moves) and stops before the next packet. A line "#reload A;B"
 * is SIGHUP's reload (gw_reload()) of a configuration file whose lines are
 * A, B, ...; after every line the rebalancer ticks (fake_io counts frames
 * per bucket unevenly). Everything is made anew per input: nothing carries
 * over from one input to the next.
 * Checked: no crash, no sanitizer report, the status is 0, 1 or 2, and a
 * failed command says why. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/conf/conf.h"
#include "../src/ctl/ctl.h"
#include "../src/gw/gw_internal.h"
#include "../src/io/io.h"
#include "../src/nat/nat.h"
#include "../src/pkt/build.h"
#include "../src/pkt/pkt.h"
#include "../src/rss/rss.h"
#include "../src/router/arp.h"
#include "../src/svc/dhcp.h"
#include "../src/svc/dns_proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { WORKERS = 3, LINES = 16, CAP = 2048 };

/* ---- the toy table: the tokenizer and the dispatcher alone ---- */

static int h_count(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	for (int i = 0; i < argc; i++)
		if (!argv[i][0]) /* the tokenizer never yields empty words */
			abort();
	(*(int *)ctx) += argc;
	fprintf(reply->body, "%d\n", argc);
	return 0;
}

static const struct ctl_command toy[] = {
    {"show stats", h_count},
    {"show", h_count},
    {"set global", h_count},
    {0},
};

/* ---- the stand-in backend ---- */

static bool set_rss_fails; /* the first byte of the input decides */

static int fake_set_rss(struct io_port *port, const struct rss_snapshot *snap, const char **why)
{
	(void)port;
	(void)snap;
	if (set_rss_fails) {
		*why = "the fake backend refuses";
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Frames per bucket since the start, growing at every look: every third
 * bucket (queue 0's, round robin over 3) busy, so that rebalancing moves
 * some away. */
static uint64_t frames_seen;

static int fake_bucket_frames(struct io_port *port, uint64_t *out, unsigned n)
{
	(void)port;
	frames_seen++;
	for (unsigned i = 0; i < n; i++)
		out[i] = frames_seen * (i % 3 ? 100 + (uint64_t)(i % 7) * 10 : 5000);
	return 0;
}

static void fake_stats(struct io_port *port, unsigned q, struct io_queue_stats *out)
{
	(void)port;
	memset(out, 0, sizeof(*out));
	out->rx_dropped = q;
}

static const struct io_ops fake_io = {
    .name = "fake",
    .set_rss = fake_set_rss,
    .bucket_frames = fake_bucket_frames,
    .stats = fake_stats,
};

/* ---- the stand-in gateway ---- */

static int make_arp(struct gw *gw, int side)
{
	struct arp_config ac;

	arp_config_default(&ac);
	ac.seed = 0x5eed + (unsigned)side;
	ac.n_addrs = 1;
	ac.addrs[0].ip = side == GW_LAN ? gw->cfg.lan_addr : gw->cfg.wan_addr;
	ac.addrs[0].mac[5] = (uint8_t)(side + 1);
	ac.addrs[0].prefix_len = 24;
	return arp_create(&ac, &gw->arp[side], NULL);
}

static int make_dhcp(struct gw *gw)
{
	struct dhcp_config dc;

	dhcp_config_default(&dc);
	dc.server_addr = gw->cfg.lan_addr;
	dc.server_mac[0] = 0x02;
	dc.server_mac[5] = 0x01;
	dc.probe_ms = 0;
	return dhcp_create(&dc, 0, &gw->dhcp, NULL, NULL, 0);
}

static int make_dns(struct gw *gw)
{
	struct dns_proxy_config pc;

	dns_proxy_config_default(&pc);
	pc.listen_addr = htonl(INADDR_LOOPBACK);
	pc.listen_port = 0;
	pc.allow_net = htonl(0x7f000000);
	pc.allow_mask = htonl(0xff000000);
	pc.max_tcp_clients = 0;
	pc.cache_entries = 4;
	return dns_proxy_create(&pc, &gw->dns, NULL);
}

static int make_nat(struct gw *gw)
{
	struct nat_config nc = gw->cfg.nat;
	const char *why;

	nc.wan_addr = gw->cfg.wan_addr;
	nc.lan_addr = gw->cfg.lan_addr;
	nc.lan_mask = gw->cfg.lan_mask;
	nc.lan_net = gw->cfg.lan_addr & gw->cfg.lan_mask;
	nc.sessions_per_worker = 64;
	nc.mappings = 3 * 64;
	nc.frags_per_worker = 8;
	if (nat_create(&nc, gw->snap, gw->n, &gw->nat, &why)) {
		fprintf(stderr, "fuzz_ctl: nat_create: %s\n", why);
		return -1;
	}
	return 0;
}

static struct gw *gw_stand_in(void)
{
	struct gw *gw = calloc(1, sizeof(*gw));
	const char *why;

	if (!gw)
		return NULL;
	gw_config_default(&gw->cfg);
	gw->cfg.queues = WORKERS;
	gw->cfg.wan_addr = pkt_ipv4(198, 51, 100, 2);
	gw->cfg.wan_mask = pkt_ipv4(255, 255, 255, 0);
	gw->cfg.wan_gateway = pkt_ipv4(198, 51, 100, 1);
	gw->io = &fake_io;
	gw->n = WORKERS;
	gw->raw[0] = gw->raw[1] = gw->tun = -1;
	gw->w = calloc(WORKERS, sizeof(*gw->w));
	if (!gw->w || gw_live_init(gw, &why) || make_nat(gw) || make_arp(gw, GW_LAN) ||
	    make_arp(gw, GW_WAN) || make_dhcp(gw) || make_dns(gw)) {
		fprintf(stderr, "fuzz_ctl: the stand-in gateway cannot be built\n");
		abort();
	}
	for (unsigned q = 0; q < WORKERS; q++) {
		gw->w[q].gw = gw;
		gw->w[q].q = q;
		gw->w[q].cpu = -1;
		gw->w[q].nat = nat_worker(gw->nat, q);
	}
	return gw;
}

static void gw_free(struct gw *gw)
{
	dhcp_destroy(gw->dhcp);
	dns_proxy_destroy(gw->dns);
	arp_destroy(gw->arp[GW_LAN]);
	arp_destroy(gw->arp[GW_WAN]);
	nat_destroy(gw->nat);
	gw_live_free(gw);
	free(gw->w);
	free(gw);
}

/* A few sessions, so that show sessions and explain have something: LAN
 * hosts .10 to .13 to the internet over TCP, UDP and ICMP, the packet on
 * the worker RSS gives it and followed through its handoffs. */
static void make_sessions(struct gw *gw)
{
	static const uint8_t protos[] = {PKT_PROTO_TCP, PKT_PROTO_UDP, PKT_PROTO_ICMP};
	static uint8_t frame[CAP];
	struct pkt p, *pp = &p;

	for (unsigned i = 0; i < 12; i++) {
		struct pkt_spec sp = {.proto = protos[i % 3],
				      .saddr = pkt_ipv4(192, 168, 137, 10 + i % 4),
				      .daddr = pkt_ipv4(203, 0, 113, 1 + i % 2),
				      .sport = (uint16_t)(40000 + i),
				      .dport = 443,
				      .tcp_flags = PKT_TCP_SYN,
				      .icmp_type = PKT_ICMP_ECHO,
				      .icmp_id = (uint16_t)(700 + i)};
		size_t len = pkt_build(frame, CAP, &sp);
		if (!len || pkt_parse(&p, frame, (uint16_t)len, CAP) != PKT_OK)
			abort();
		p.side = PKT_SIDE_LAN;
		unsigned q = rss_queue(gw->snap, nat_packet_hash(gw->snap, &p));
		for (int hop = 0; hop < NAT_HOPS_MAX; hop++) {
			nat_process(gw->w[q].nat, &pp, 1, 100);
			if (p.verdict != PKT_HANDOFF)
				break;
			q = p.to_worker;
		}
	}
}

/* ---- the workers' stand-in: nat_worker_sync() while a command runs ---- */

static atomic_bool workers_run;

static void *workers_main(void *arg)
{
	struct gw *gw = arg;

	while (atomic_load(&workers_run))
		for (unsigned q = 0; q < gw->n; q++)
			nat_worker_sync(gw->w[q].nat);
	return NULL;
}

/* ---- SIGHUP's reload, from a configuration in the input ---- */

static char reload_text[CTL_LINE_MAX + 1];

/* As cmd_gw.c's reread(): the file over the defaults, checked whole. */
static int reread(struct gw_config *out)
{
	const char *why;
	FILE *f = fmemopen(reload_text, strlen(reload_text), "r");
	int err;

	gw_config_default(out);
	if (!f)
		return -1;
	err = conf_read_stream(out, f, "reload.conf");
	fclose(f);
	if (err)
		return -1;
	if (gw_check_settings(out, &why))
		return cli_usage_error("reload", "%s", why);
	out->reread = reread;
	return 0;
}

/* "#reload lan eth1;queues 2" */
static void reload(struct gw *gw, const char *text)
{
	FILE *saved = stderr, *devnull = fopen("/dev/null", "w");

	snprintf(reload_text, sizeof(reload_text), "%s", text);
	for (char *c = reload_text; *c; c++)
		if (*c == ';')
			*c = '\n';
	gw->cfg.reread = reread;
	if (devnull && !getenv("FUZZ_CTL_SHOW")) /* it logs every step */
		stderr = devnull;
	gw_reload(gw);
	stderr = saved;
	if (devnull)
		fclose(devnull);
}

static void dispatch(const struct ctl_command *table, void *ctx, char *line)
{
	struct ctl_reply reply = {0};
	char *body = NULL, request[CTL_LINE_MAX + 1];
	size_t len = 0;

	reply.body = open_memstream(&body, &len);
	if (!reply.body)
		return;
	snprintf(request, sizeof(request), "%s", line);
	ctl_dispatch(table, ctx, line, &reply);
	/* As the server does: a request that waits on the workers is run again
	 * (here at most a few times, its wait said to have run out at the
	 * end), and a long reply is pulled piece by piece to its end. */
	for (int tries = 0; reply.again && tries < 3; tries++) {
		snprintf(line, CTL_LINE_MAX + 1, "%s", request);
		reply.waited_ms = tries < 2 ? CTL_AGAIN_MS * (tries + 1) : CTL_WAIT_MS;
		ctl_dispatch(table, ctx, line, &reply);
	}
	while (reply.more && reply.more(reply.more_state, reply.body))
		;
	if (reply.more_free)
		reply.more_free(reply.more_state); /* ownership came to us with more */
	fclose(reply.body);
	if (table != toy && getenv("FUZZ_CTL_SHOW")) /* to check what a seed reaches */
		fprintf(stderr, "> %s\n%d %s", request, reply.status, body ? body : "");
	if (reply.status != 0 && reply.status != 1 && reply.status != 2)
		abort();
	free(body);
}

static void run_lines(struct gw *gw, const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1], copy[CTL_LINE_MAX + 1];
	pthread_t workers;
	int ctx = 0;

	for (unsigned n = 0; size && n < LINES; n++) {
		size_t len = 0;
		while (len < size && len < CTL_LINE_MAX && data[len] != '\n')
			len++;
		memcpy(line, data, len);
		line[len] = '\0';
		data += len + (len < size);
		size -= len + (len < size);
		memcpy(copy, line, len + 1);
		dispatch(toy, &ctx, copy);
		atomic_store(&workers_run, true);
		if (pthread_create(&workers, NULL, workers_main, gw))
			abort();
		if (!strncmp(line, "#reload ", 8))
			reload(gw, line + 8);
		else
			dispatch(gw_ctl_commands, gw, line);
		gw_rebalance_tick(gw, gw->rebalance_ms + 3600000); /* an hour on: due */
		atomic_store(&workers_run, false);
		pthread_join(workers, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw *gw;

	if (size < 1 || size > LINES * (CTL_LINE_MAX + 1))
		return 0;
	set_rss_fails = data[0] == '!';
	frames_seen = 0;
	gw = gw_stand_in();
	make_sessions(gw);
	run_lines(gw, data, size);
	gw_free(gw);
	return 0;
}
