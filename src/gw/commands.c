/* commands.c - what the control socket answers while the gateway runs
 * (`rssnat show stats`; the request grammar is in ctl.h). */
#include "gw_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../ctl/ctl.h"
#include "../io/io.h"
#include "../nat/nat.h"
#include "../router/arp.h"
#include "../svc/dhcp.h"
#include "../svc/dns_proxy.h"

/* ---- `rssnat show stats` ---- */

/* Frames the kernel dropped because a queue's receive ring was full, and
 * frames CoDel dropped because they waited in it too long (RFC 8289), or
 * marked CE instead (RFC 3168): the backend counts them; the workers never
 * see the dropped ones. */
static void print_ring_drops(struct gw *gw, unsigned q, FILE *out, bool json)
{
	struct io_queue_stats lan = {0}, wan = {0};

	gw->io->stats(gw->port[GW_LAN], q, &lan);
	gw->io->stats(gw->port[GW_WAN], q, &wan);
	fprintf(out,
		json ? "\"ring_dropped_lan\":%llu,\"ring_dropped_wan\":%llu,"
		       "\"codel_dropped_lan\":%llu,\"codel_dropped_wan\":%llu,"
		       "\"codel_marked_lan\":%llu,\"codel_marked_wan\":%llu,"
		     : " ring_dropped_lan=%llu ring_dropped_wan=%llu"
		       " codel_dropped_lan=%llu codel_dropped_wan=%llu"
		       " codel_marked_lan=%llu codel_marked_wan=%llu\n",
		(unsigned long long)lan.rx_dropped, (unsigned long long)wan.rx_dropped,
		(unsigned long long)lan.rx_codel, (unsigned long long)wan.rx_codel,
		(unsigned long long)lan.rx_codel_marked, (unsigned long long)wan.rx_codel_marked);
}

/* The worker's ICMP error limiter (RFC 1812 4.3.2.8): icmp_limit_allowed,
 * icmp_limit_refused_dest, ... */
static void print_icmp_limit(const struct ratelimit_counters *c, FILE *out, bool json)
{
#define LIMIT_PRINT(name, text)                                                                    \
	fprintf(out, json ? "\"icmp_limit_" #name "\":%llu," : " icmp_limit_" #name "=%llu",       \
		(unsigned long long)c->name);
	RATELIMIT_COUNTERS(LIMIT_PRINT)
#undef LIMIT_PRINT
}

static void host_stats(const struct gw *gw, FILE *out, bool json)
{
	const struct gw_host_counters *h = &gw->host;
	const char *sep = "";

	fprintf(out, json ? ",\"host\":{" : "host");
#define GW_HOST_PRINT(name, text)                                                                  \
	if (json)                                                                                  \
		fprintf(out, "%s\"" #name "\":%llu", sep, (unsigned long long)h->name);            \
	else                                                                                       \
		fprintf(out, " " #name "=%llu", (unsigned long long)h->name);                      \
	sep = ",";
	GW_HOST_COUNTERS(GW_HOST_PRINT)
#undef GW_HOST_PRINT
	fprintf(out, json ? "}" : "\n");
}

/* The control socket's own: clients refused, dropped for being late. */
static void ctl_stats(const struct gw *gw, FILE *out, bool json)
{
	const struct ctl_counters *c = ctl_server_counters(gw->ctl);

	if (!c)
		return; /* commands run without a socket (a stand-in gateway) */
	fprintf(out, json ? ",\"ctl\":{\"clients\":%u" : "ctl clients=%u", c->clients);
#define GW_CTL_PRINT(name, text)                                                                   \
	fprintf(out, json ? ",\"" #name "\":%llu" : " " #name "=%llu", (unsigned long long)c->name);
	CTL_COUNTERS(GW_CTL_PRINT)
#undef GW_CTL_PRINT
	fprintf(out, json ? "}" : "\n");
}

/* One queue's counters: the glue's, then the NAT's (every one, by name;
 * the NAT's own rx/tx are prefixed nat_ to keep them apart), then the
 * kernel ring's drops. */
static void queue_counters(struct gw *gw, unsigned q, FILE *out, bool json)
{
	const struct gw_counters *c = &gw->w[q].c;
	const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);

	fprintf(out, json ? "{\"queue\":%u" : "queue=%u", q);
#define GW_PRINT(name, text)                                                                       \
	fprintf(out, json ? ",\"" #name "\":%llu" : " " #name "=%llu", (unsigned long long)c->name);
	GW_COUNTERS(GW_PRINT)
#undef GW_PRINT
	/* The names older scripts read: handoff_in is the NAT's rx_handoff. */
	fprintf(out, json ? ",\"handoff_in\":%llu" : " handoff_in=%llu",
		(unsigned long long)n->rx_handoff);
#define NAT_PRINT(name, text)                                                                      \
	fprintf(out, json ? ",\"%s" #name "\":%llu" : " %s" #name "=%llu",                         \
		!strncmp(#name, "rx_", 3) || !strncmp(#name, "tx_", 3) ? "nat_" : "",              \
		(unsigned long long)n->name);
	NAT_COUNTERS(NAT_PRINT)
#undef NAT_PRINT
	fprintf(out, json ? ",\"sessions\":%llu," : " sessions=%llu",
		(unsigned long long)n->sessions);
	print_icmp_limit(&gw->w[q].icmp_limit.c, out, json);
	print_ring_drops(gw, q, out, json);
}

/* Each side's ARP: frames it held and dropped are drops of the gateway too
 * (a cold cache loses the frames beyond the few it may hold). */
static void arp_stats(const struct gw *gw, FILE *out, bool json)
{
	for (int side = GW_LAN; side <= GW_WAN; side++) {
		const struct arp_counters *c = arp_counters(gw->arp[side]);
		const char *name = side == GW_LAN ? "lan" : "wan", *sep = json ? "" : " ";
		if (json)
			fprintf(out, ",\"arp_%s\":{", name);
		else
			fprintf(out, "arp side=%s", name);
#define GW_ARP_PRINT(field, text)                                                                  \
	fprintf(out, json ? "%s\"" #field "\":%llu" : "%s" #field "=%llu", sep,                    \
		(unsigned long long)c->field);                                                     \
	sep = json ? "," : " ";
		ARP_COUNTERS(GW_ARP_PRINT)
#undef GW_ARP_PRINT
		for (int d = 1; d < ARP_DROP_COUNT; d++)
			if (c->drop[d])
				fprintf(out, json ? ",\"drop_%s\":%llu" : " drop_%s=%llu",
					arp_drop_name((enum arp_drop)d),
					(unsigned long long)c->drop[d]);
		fprintf(out, json ? "}" : "\n");
	}
}

static void stats_text(struct gw *gw, FILE *out)
{
	for (unsigned q = 0; q < gw->n; q++) {
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		queue_counters(gw, q, out, false);
		for (int d = 0; d < NAT_DROP_COUNT; d++)
			if (n->drop[d])
				fprintf(out, "drop queue=%u reason=%s count=%llu\n", q,
					nat_drop_name((enum nat_drop)d),
					(unsigned long long)n->drop[d]);
		for (int d = 1; d < ROUTER_DROP_COUNT; d++)
			if (gw->w[q].router.drop[d])
				fprintf(out, "drop queue=%u reason=ROUTER_%s count=%llu\n", q,
					router_drop_name((enum router_drop)d),
					(unsigned long long)gw->w[q].router.drop[d]);
	}
	host_stats(gw, out, false);
	gw_wan_stats(gw, out, false);
	arp_stats(gw, out, false);
	ctl_stats(gw, out, false);
	gw_offload_stats(gw, out, false);
	gw_wan_owner_stats(gw, out, false);
	gw_portctl_stats(gw, out, false);
}

static void stats_json(struct gw *gw, FILE *out)
{
	fprintf(out, "{\"queues\":[");
	for (unsigned q = 0; q < gw->n; q++) {
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		const char *sep = "";
		fprintf(out, "%s", q ? "," : "");
		queue_counters(gw, q, out, true);
		fprintf(out, "\"drops\":{");
		for (int d = 0; d < NAT_DROP_COUNT; d++)
			if (n->drop[d]) {
				fprintf(out, "%s\"%s\":%llu", sep, nat_drop_name((enum nat_drop)d),
					(unsigned long long)n->drop[d]);
				sep = ",";
			}
		for (int d = 1; d < ROUTER_DROP_COUNT; d++) /* named as in the text */
			if (gw->w[q].router.drop[d]) {
				fprintf(out, "%s\"ROUTER_%s\":%llu", sep,
					router_drop_name((enum router_drop)d),
					(unsigned long long)gw->w[q].router.drop[d]);
				sep = ",";
			}
		fprintf(out, "}}");
	}
	fprintf(out, "]");
	host_stats(gw, out, true);
	gw_wan_stats(gw, out, true);
	arp_stats(gw, out, true);
	ctl_stats(gw, out, true);
	gw_offload_stats(gw, out, true);
	gw_wan_owner_stats(gw, out, true);
	gw_portctl_stats(gw, out, true);
	fprintf(out, "}\n");
}

static int ctl_show_stats(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc)
		return ctl_fail(reply, 2, "'%s': show stats takes only --json", argv[0]);
	if (json)
		stats_json(ctx, reply->body);
	else
		stats_text(ctx, reply->body);
	return 0;
}

/* `show dhcp` and `show dns`: the services write their own state. */
int gw_ctl_show_dhcp(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc)
		return ctl_fail(reply, 2, "'%s': show dhcp takes only --json", argv[0]);
	if (!gw->dhcp)
		return ctl_fail(reply, 1, "the DHCP server is off (run --dhcp on)");
	dhcp_write_leases(gw->dhcp, reply->body, json, gw_clock_ms(CLOCK_REALTIME));
	return 0;
}

int gw_ctl_show_dns(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc)
		return ctl_fail(reply, 2, "'%s': show dns takes only --json", argv[0]);
	if (!gw->dns)
		return ctl_fail(reply, 1, "the DNS proxy is off (run --dns on)");
	dns_proxy_write_stats(gw->dns, reply->body, json, gw_clock_ms(CLOCK_MONOTONIC));
	return 0;
}

static const struct ctl_command commands[] = {
    {"show stats", ctl_show_stats},
    {"show global", gw_ctl_show_global},
    {"set global", gw_ctl_set_global},
    {"show rss", gw_ctl_show_rss},
    {"set rss", gw_ctl_set_rss},
    {"show dhcp", gw_ctl_show_dhcp},
    {"show dns", gw_ctl_show_dns},
    {"show sessions", gw_ctl_show_sessions},
    {"explain", gw_ctl_explain},
    {"add portmapping", gw_ctl_add_portmapping},
    {"delete portmapping", gw_ctl_delete_portmapping},
    {"show portmapping", gw_ctl_show_portmapping},
    {"set nat", gw_ctl_set_nat},
    {0},
};

const struct ctl_command *const gw_ctl_commands = commands;
