/* commands.c - what the control socket answers while the gateway runs
 * (`rssnat show stats`; the request grammar is in ctl.h). */
#include "gw_internal.h"

#include <stdio.h>
#include <string.h>

#include "../ctl/ctl.h"
#include "../io/io.h"
#include "../nat/nat.h"

/* ---- `rssnat show stats` ---- */

/* Frames the kernel dropped because a queue's receive ring was full: the
 * backend counts them, the workers never see them. */
static void print_ring_drops(struct gw *gw, unsigned q, FILE *out, bool json)
{
	struct io_queue_stats lan = {0}, wan = {0};

	gw->io->stats(gw->port[GW_LAN], q, &lan);
	gw->io->stats(gw->port[GW_WAN], q, &wan);
	fprintf(out,
		json ? "\"ring_dropped_lan\":%llu,\"ring_dropped_wan\":%llu,"
		     : " ring_dropped_lan=%llu ring_dropped_wan=%llu\n",
		(unsigned long long)lan.rx_dropped, (unsigned long long)wan.rx_dropped);
}

static void stats_text(struct gw *gw, FILE *out)
{
	for (unsigned q = 0; q < gw->n; q++) {
		const struct gw_counters *c = &gw->w[q].c;
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		fprintf(out, "queue=%u", q);
#define GW_PRINT(name, text) fprintf(out, " " #name "=%llu", (unsigned long long)c->name);
		GW_COUNTERS(GW_PRINT)
#undef GW_PRINT
		fprintf(out, " local=%llu handoff=%llu handoff_in=%llu dropped=%llu sessions=%llu",
			(unsigned long long)n->local, (unsigned long long)n->handoff,
			(unsigned long long)n->rx_handoff, (unsigned long long)n->dropped,
			(unsigned long long)n->sessions);
		print_ring_drops(gw, q, out, false);
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
}

static void stats_json(struct gw *gw, FILE *out)
{
	fprintf(out, "{\"queues\":[");
	for (unsigned q = 0; q < gw->n; q++) {
		const struct gw_counters *c = &gw->w[q].c;
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		fprintf(out, "%s{\"queue\":%u", q ? "," : "", q);
#define GW_JSON(name, text) fprintf(out, ",\"" #name "\":%llu", (unsigned long long)c->name);
		GW_COUNTERS(GW_JSON)
#undef GW_JSON
		fprintf(out,
			",\"local\":%llu,\"handoff\":%llu,\"handoff_in\":%llu,\"dropped\":%llu,"
			"\"sessions\":%llu,",
			(unsigned long long)n->local, (unsigned long long)n->handoff,
			(unsigned long long)n->rx_handoff, (unsigned long long)n->dropped,
			(unsigned long long)n->sessions);
		print_ring_drops(gw, q, out, true);
		fprintf(out, "\"drops\":{");
		int first = 1;
		for (int d = 0; d < NAT_DROP_COUNT; d++)
			if (n->drop[d]) {
				fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
					nat_drop_name((enum nat_drop)d),
					(unsigned long long)n->drop[d]);
				first = 0;
			}
		fprintf(out, "}}");
	}
	fprintf(out, "]}\n");
}

static int ctl_show_stats(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	bool json = argc == 1 && !strcmp(argv[0], "--json");

	if (argc > 1 || (argc == 1 && !json))
		return ctl_fail(reply, 2, "show stats takes only --json");
	if (json)
		stats_json(ctx, reply->body);
	else
		stats_text(ctx, reply->body);
	return 0;
}

static const struct ctl_command commands[] = {
    {"show stats", ctl_show_stats},
    {0},
};

const struct ctl_command *const gw_ctl_commands = commands;
