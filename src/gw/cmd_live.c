/* cmd_live.c - the control socket's view of the RSS settings and the lever
 * on them, netsh style: `show global`, `set global rss=enabled|disabled`,
 * `set rss queues=N key=K table=W,W,..`, `show rss`. A set command checks
 * every word first and changes nothing on any error (live.c commits). */
#include "gw_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctl/ctl.h"
#include "../io/io.h"
#include "../nat/nat.h"

/* ---- shared ---- */

struct totals {
	uint64_t sessions, local, handoff, rx;
};

static struct totals sum_counters(const struct gw *gw)
{
	struct totals t = {0};

	for (unsigned q = 0; q < gw->n; q++) {
		const struct nat_counters *c = nat_worker_counters(gw->w[q].nat);
		t.sessions += c->sessions;
		t.local += c->local;
		t.handoff += c->handoff;
		t.rx += gw->w[q].c.rx_lan + gw->w[q].c.rx_wan;
	}
	return t;
}

static void weights_text(const struct gw *gw, char *buf, size_t size)
{
	const struct rss_config *rc = &gw->rss_cfg;
	size_t used = 0;
	bool any = false;

	if (rc->explicit_table) {
		snprintf(buf, size, "%s", gw->table_origin ? gw->table_origin : "entry by entry");
		return;
	}
	for (unsigned q = 0; q < rc->queues; q++)
		any |= rc->weights[q] != 0;
	if (!any) {
		snprintf(buf, size, "round robin");
		return;
	}
	buf[0] = '\0';
	for (unsigned q = 0; q < rc->queues && used < size; q++)
		used +=
		    (size_t)snprintf(buf + used, size - used, "%s%u", q ? "," : "", rc->weights[q]);
}

static const char *key_text(const struct rss_key *key)
{
	const char *name = rss_key_name(key);

	return name ? name : "custom";
}

/* ---- show global ---- */

static void global_text(struct gw *gw, FILE *out)
{
	const struct rss_config *rc = &gw->rss_cfg;
	struct totals t = sum_counters(gw);
	char key[160], lan[8], wan[8], weights[300];
	uint64_t pkts = t.local + t.handoff;

	rss_key_format(&rc->key, key, sizeof(key));
	rss_fields_format(rc->fields_lan, lan, sizeof(lan));
	rss_fields_format(rc->fields_wan, wan, sizeof(wan));
	weights_text(gw, weights, sizeof(weights));
	fprintf(out, "Receive-Side Scaling State          : %s\n",
		rc->enabled ? "enabled" : "disabled");
	fprintf(out, "Internet Connection Sharing State   : enabled\n");
	fprintf(out, "Offload State                       : %s\n",
		gw_offload_enabled(gw)	   ? "enabled"
		: gw_offload_available(gw) ? "disabled"
					   : "unavailable");
	fprintf(out, "Receive Queues                      : %u of %u workers\n", rc->queues, gw->n);
	fprintf(out, "Packet I/O Backend                  : %s\n", gw->cfg.backend);
	fprintf(out, "Hash Function                       : toeplitz\n");
	fprintf(out, "Hash Key                            : %s (%s)\n", key_text(&rc->key), key);
	fprintf(out, "Hash Fields LAN / WAN               : %s / %s\n", lan, wan);
	fprintf(out, "Indirection Table Size              : %u\n", rc->table_size);
	fprintf(out, "Indirection Table Weights           : %s\n", weights);
	fprintf(out, "Automatic Rebalancing               : %s (%u rebalances)\n",
		gw->rebalance ? "on" : "off", gw->rebalances);
	fprintf(out, "Steering Mode                       : %s\n",
		gw->cfg.nat.steering == NAT_STEER_RSS ? "rss (steered NAT ports, handoff)"
						      : "handoff");
	fprintf(out, "Configuration Version               : %llu\n",
		(unsigned long long)gw->snap->version);
	fprintf(out, "Sessions                            : %llu\n",
		(unsigned long long)t.sessions);
	fprintf(out, "Packets Local / Handed Off          : %.1f%% / %.1f%%\n",
		pkts ? 100.0 * (double)t.local / (double)pkts : 100.0,
		pkts ? 100.0 * (double)t.handoff / (double)pkts : 0.0);
	fprintf(out, "DHCP Server                         : %s\n",
		gw->dhcp ? "enabled" : "disabled");
	fprintf(out, "DNS Proxy                           : %s\n",
		gw->dns ? "enabled" : "disabled");
	gw_wan_global(gw, out, false);
}

static void global_json(struct gw *gw, FILE *out)
{
	const struct rss_config *rc = &gw->rss_cfg;
	struct totals t = sum_counters(gw);
	char key[160], lan[8], wan[8];

	rss_key_format(&rc->key, key, sizeof(key));
	rss_fields_format(rc->fields_lan, lan, sizeof(lan));
	rss_fields_format(rc->fields_wan, wan, sizeof(wan));
	fprintf(
	    out,
	    "{\"rss\":\"%s\",\"ics\":\"enabled\",\"offload\":\"%s\",\"queues\":%u,\"workers\":%u,"
	    "\"backend\":\"%s\",\"hash\":\"toeplitz\",\"key\":\"%s\",\"key_hex\":\"%s\","
	    "\"fields_lan\":\"%s\",\"fields_wan\":\"%s\",\"table_size\":%u,\"weights\":[",
	    rc->enabled ? "enabled" : "disabled",
	    gw_offload_enabled(gw)     ? "enabled"
	    : gw_offload_available(gw) ? "disabled"
				       : "unavailable",
	    rc->queues, gw->n, gw->cfg.backend, key_text(&rc->key), key, lan, wan, rc->table_size);
	for (unsigned q = 0; q < rc->queues; q++)
		fprintf(out, "%s%u", q ? "," : "", rc->weights[q] ? rc->weights[q] : 1);
	fprintf(out,
		"],\"rebalance\":\"%s\",\"rebalances\":%u,\"steering\":\"%s\",\"version\":%llu,"
		"\"sessions\":%llu,\"local_pkts\":%llu,"
		"\"handoff_pkts\":%llu,\"dhcp\":\"%s\",\"dns\":\"%s\"",
		gw->rebalance ? "on" : "off", gw->rebalances,
		gw->cfg.nat.steering == NAT_STEER_RSS ? "rss" : "handoff",
		(unsigned long long)gw->snap->version, (unsigned long long)t.sessions,
		(unsigned long long)t.local, (unsigned long long)t.handoff,
		gw->dhcp ? "enabled" : "disabled", gw->dns ? "enabled" : "disabled");
	gw_wan_global(gw, out, true);
	fprintf(out, "}\n");
}

int gw_ctl_show_global(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc)
		return ctl_fail(reply, 2, "'%s': show global takes only --json", argv[0]);
	if (json)
		global_json(ctx, reply->body);
	else
		global_text(ctx, reply->body);
	return 0;
}

/* ---- set global / set rss ---- */

/* The previous change's sessions must have moved first: the request waits
 * for that without blocking the control thread (ctl_again()), where
 * gw_rss_commit() alone would sleep in it. */
static int commit(struct gw *gw, const struct rss_config *next, bool json, struct ctl_reply *reply)
{
	char note[200];
	const char *why = "";
	int err;

	if (!nat_migration_done(gw->nat))
		return ctl_again(reply, "the previous change is still moving sessions; try again");
	if ((err = gw_rss_commit(gw, next, note, sizeof(note), &why)))
		return ctl_fail(reply, err == -EINVAL ? 2 : 1, "%s", why);
	if (json) {
		global_json(gw, reply->body);
	} else {
		fputs(note, reply->body);
		global_text(gw, reply->body);
	}
	return 0;
}

int gw_ctl_set_global(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	struct rss_config next = gw->rss_cfg;
	bool json = ctl_take_flag(&argc, argv, "--json");
	const char *v;

	int offload = -1; /* -1: not given */
	bool rss = false;
	const char *why = "";

	if (!argc)
		return ctl_fail(
		    reply, 2, "set global needs rss=enabled|disabled or offload=enabled|disabled");
	for (int i = 0; i < argc; i++) {
		bool is_rss = (v = ctl_arg_value(argv[i], "rss")) != NULL;
		if (!is_rss && !(v = ctl_arg_value(argv[i], "offload")))
			return ctl_fail(reply, 2,
					"'%s': unknown setting (rss=enabled|disabled, "
					"offload=enabled|disabled)",
					argv[i]);
		if (strcmp(v, "enabled") && strcmp(v, "disabled"))
			return ctl_fail(reply, 2, "'%s': %s is enabled or disabled", argv[i],
					is_rss ? "rss" : "offload");
		rss |= is_rss;
		if (is_rss)
			next.enabled = !strcmp(v, "enabled");
		else
			offload = !strcmp(v, "enabled");
	}
	/* Offload first: it cannot fail half way, and needs no RSS move. */
	if (offload >= 0 && gw_offload_set(gw, offload == 1, &why))
		return ctl_fail(reply, 1, "%s", why);
	if (rss)
		return commit(gw, &next, json, reply);
	if (json)
		global_json(gw, reply->body);
	else
		global_text(gw, reply->body);
	return 0;
}

int gw_ctl_set_rss(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	struct rss_config next = gw->rss_cfg;
	unsigned long queues = 0;
	unsigned weights = 0;
	int rebalance = -1; /* -1: not given */
	bool table = false, json = ctl_take_flag(&argc, argv, "--json");
	const char *v, *why;

	if (!argc)
		return ctl_fail(reply, 2,
				"set rss needs queues=N, key=K, table=W,W,.. or "
				"table-size=N");
	for (int i = 0; i < argc; i++) {
		char *end;
		if ((v = ctl_arg_value(argv[i], "queues"))) {
			queues = strtoul(v, &end, 10);
			if (!*v || *end || queues < 1 || queues > gw->n)
				return ctl_fail(reply, 2, "'%s': queues is a number from 1 to %u",
						argv[i], gw->n);
		} else if ((v = ctl_arg_value(argv[i], "key"))) {
			if (rss_key_parse(v, &next.key, &why))
				return ctl_fail(reply, 2, "'%s': %s", argv[i], why);
		} else if ((v = ctl_arg_value(argv[i], "table"))) {
			/* one weight per queue (their count sets the queues) */
			int count = strcmp(v, "roundrobin") && strcmp(v, "round-robin")
					? rss_weights_parse(v, 1000, next.weights)
					: 0;
			if (count < 0)
				return ctl_fail(
				    reply, 2,
				    "table=%s: give one weight per queue, each from 0 "
				    "to 1000, comma-separated (at most 64), or roundrobin",
				    v);
			if (!count)
				memset(next.weights, 0, sizeof(next.weights));
			weights = (unsigned)count;
			table = true;
		} else if ((v = ctl_arg_value(argv[i], "rebalance"))) {
			if (strcmp(v, "on") && strcmp(v, "off"))
				return ctl_fail(reply, 2, "'%s': rebalance is on or off", argv[i]);
			if (!strcmp(v, "on") && !gw_rebalance_possible(gw))
				return ctl_fail(
				    reply, 2,
				    "rebalance=on needs per-bucket counts: the %s backend "
				    "has none (the NIC hashes)",
				    gw->cfg.backend);
			rebalance = !strcmp(v, "on") ? 1 : 0;
		} else if ((v = ctl_arg_value(argv[i], "table-size"))) {
			unsigned long size = strtoul(v, &end, 10);
			if (!*v || *end || size > RSS_TABLE_MAX ||
			    !rss_table_size_valid((unsigned)size))
				return ctl_fail(reply, 2,
						"'%s': table-size is a power of two from 1 to %d",
						argv[i], RSS_TABLE_MAX);
			next.table_size = (unsigned)size;
		} else {
			return ctl_fail(
			    reply, 2, "'%s': unknown setting (queues=, key=, table=, table-size=)",
			    argv[i]);
		}
	}
	if (queues || table || next.table_size != gw->rss_cfg.table_size)
		next.explicit_table = false; /* the engine's own table from now on */
	if (rebalance >= 0 && argc == 1) {   /* only the switch: no new table */
		gw->rebalance = rebalance;
		gw->rebalance_ms = gw_now_ms();
		if (json)
			global_json(gw, reply->body);
		else
			global_text(gw, reply->body);
		return 0;
	}
	if (table && weights && queues && queues != weights)
		return ctl_fail(reply, 2, "table= gives %u weights but queues=%lu", weights,
				queues);
	if (table && weights)
		next.queues = weights;
	else if (queues) {
		next.queues = (unsigned)queues;
		if (!table) /* the old weights were for the old queues */
			memset(next.weights, 0, sizeof(next.weights));
	}
	if (next.queues > gw->n)
		return ctl_fail(reply, 2, "table= gives %u weights but only %u workers run",
				next.queues, gw->n);
	if (rss_config_check(&next, &why))
		return ctl_fail(reply, 2, "%s", why);
	if (commit(gw, &next, json, reply))
		return -1;
	if (rebalance >= 0)
		gw->rebalance = rebalance; /* from the next round on */
	return 0;
}

/* ---- show rss ---- */

static void rss_queues(struct gw *gw, FILE *out, bool json)
{
	unsigned buckets[RSS_QUEUES_MAX] = {0};
	struct totals t = sum_counters(gw);

	for (unsigned b = 0; b < gw->rss_cfg.table_size; b++)
		buckets[gw->snap->table[b]]++;
	for (unsigned q = 0; q < gw->n; q++) {
		const struct gw_counters *c = &gw->w[q].c;
		const struct nat_counters *n = nat_worker_counters(gw->w[q].nat);
		uint64_t rx = c->rx_lan + c->rx_wan;
		double load = t.rx ? 100.0 * (double)rx / (double)t.rx : 0.0;
		fprintf(out,
			json ? "%s{\"queue\":%u,\"cpu\":%d,\"buckets\":%u,\"rx\":%llu,\"tx\":%llu,"
			       "\"sessions\":%llu,\"handoff_out\":%llu,\"handoff_in\":%llu,"
			       "\"load_pct\":%.1f}"
			     : "%squeue=%u cpu=%d buckets=%u rx=%llu tx=%llu sessions=%llu "
			       "handoff_out=%llu handoff_in=%llu load_pct=%.1f\n",
			json && q ? "," : "", q, gw->w[q].cpu, buckets[q], (unsigned long long)rx,
			(unsigned long long)(c->tx_lan + c->tx_wan),
			(unsigned long long)n->sessions, (unsigned long long)n->handoff,
			(unsigned long long)n->rx_handoff, load);
	}
}

int gw_ctl_show_rss(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	bool json = ctl_take_flag(&argc, argv, "--json");
	const struct rss_config *rc = &gw->rss_cfg;
	char lan[8], wan[8];
	FILE *out = reply->body;

	if (argc)
		return ctl_fail(reply, 2, "'%s': show rss takes only --json", argv[0]);
	rss_fields_format(rc->fields_lan, lan, sizeof(lan));
	rss_fields_format(rc->fields_wan, wan, sizeof(wan));
	fprintf(out,
		json ? "{\"rss\":\"%s\",\"version\":%llu,\"key\":\"%s\",\"fields_lan\":\"%s\","
		       "\"fields_wan\":\"%s\",\"table_size\":%u,\"queues\":["
		     : "rss=%s version=%llu key=%s fields_lan=%s fields_wan=%s table_size=%u\n",
		rc->enabled ? "enabled" : "disabled", (unsigned long long)gw->snap->version,
		key_text(&rc->key), lan, wan, rc->table_size);
	rss_queues(gw, out, json);
	fprintf(out, json ? "],\"table\":[" : "table:");
	for (unsigned b = 0; b < rc->table_size; b++)
		fprintf(out, json ? "%s%u" : "%s%2u",
			json ? (b ? "," : "") : (b % 16 ? " " : "\n "), gw->snap->table[b]);
	fprintf(out, json ? "]}\n" : "\n");
	return 0;
}

/* ---- set nat timeout / host-mappings ---- */

/* The per-host quota (RFC 6888 REQ-4): workers read it for each new
 * mapping, so it applies from the next one. */
static int set_host_mappings(struct gw *gw, const char *v, bool json, struct ctl_reply *reply)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || *v == '-' || errno || n > NAT_MAPPINGS_MAX)
		return ctl_fail(reply, 2, "'%s' is not a number from 0 to %d", v, NAT_MAPPINGS_MAX);
	nat_set_host_mappings(gw->nat, (uint32_t)n);
	gw->cfg.nat.host_mappings = (uint32_t)n;
	fprintf(reply->body, json ? "{\"host_mappings\":%lu}\n" : "host-mappings=%lu\n", n);
	return 0;
}

int gw_ctl_set_nat(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	struct nat_timeouts t;
	bool json = ctl_take_flag(&argc, argv, "--json");

	if (argc == 2 && !strcmp(argv[0], "host-mappings"))
		return set_host_mappings(gw, argv[1], json, reply);
	if (argc < 2 || strcmp(argv[0], "timeout"))
		return ctl_fail(reply, 2,
				"set nat takes timeout NAME=SECONDS... or host-mappings N, e.g. "
				"set nat timeout udp=300");
	nat_get_timeouts(gw->nat, &t);
	for (int i = 1; i < argc; i++) {
		int err = nat_timeout_parse(&t, argv[i]);
		if (err == -ENOENT)
			return ctl_fail(reply, 2,
					"'%.*s': unknown timeout (udp, tcp, tcp-established, "
					"tcp-opening, tcp-closing, tcp-rst, icmp, frag)",
					(int)strcspn(argv[i], "="), argv[i]);
		if (err == -EINVAL)
			return ctl_fail(reply, 2, "'%s' is not NAME=SECONDS", argv[i]);
		if (err)
			return ctl_fail(reply, 2, "'%s': seconds from 1 to 604800", argv[i]);
	}
	nat_set_timeouts(gw->nat, &t);
	nat_timeouts_format(&t, reply->body, json);
	return 0;
}
