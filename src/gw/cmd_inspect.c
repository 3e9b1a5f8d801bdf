/* cmd_inspect.c - the control socket's look inside the NAT, and its port
 * mappings: `show sessions [FILTER..]`, `explain SRC DST`, `add|delete|show
 * portmapping`. Sessions are copied by their workers between two bursts
 * (nat_dump_sessions()), never read under a running worker, one worker at a
 * time as the client reads the listing. */
#include "gw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctl/ctl.h"
#include "../nat/nat.h"

enum {
	DUMP_MAX = 65536, /* sessions copied per worker for one listing */
	/* For a worker to answer: it does between two bursts, or within
	 * GW_IDLE_MS when idle. The control thread waits this long at most
	 * per piece of a listing, and only for a worker that is stuck. */
	DUMP_WAIT_MS = 200,
	LIST_DEFAULT = 100,
	LIST_PIECE = 256, /* sessions per piece of the reply (< CTL_PIECE) */
};

static const char *proto_name(uint8_t proto)
{
	return proto == PKT_PROTO_TCP ? "tcp" : proto == PKT_PROTO_UDP ? "udp" : "icmp";
}

static int parse_proto(const char *v, uint8_t *proto)
{
	if (!strcmp(v, "tcp"))
		*proto = PKT_PROTO_TCP;
	else if (!strcmp(v, "udp"))
		*proto = PKT_PROTO_UDP;
	else if (!strcmp(v, "icmp"))
		*proto = PKT_PROTO_ICMP;
	else
		return -1;
	return 0;
}

static int parse_u16(const char *v, unsigned long min, uint16_t *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (!*v || *end || n < min || n > 65535)
		return -1;
	*out = (uint16_t)n;
	return 0;
}

/* ADDR or ADDR:PORT */
static int parse_endpoint(const char *v, uint32_t *addr, uint16_t *port, bool *has_port)
{
	char buf[32], *colon;
	struct in_addr a;

	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	*has_port = false;
	*port = 0;
	if ((colon = strchr(buf, ':'))) {
		*colon = '\0';
		if (parse_u16(colon + 1, 0, port))
			return -1;
		*has_port = true;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*addr = a.s_addr;
	return 0;
}

static const char *ip_text(uint32_t addr, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &addr, buf, INET_ADDRSTRLEN);
}

/* ---- show sessions ---- */

struct session_filter {
	bool any_proto;
	uint8_t proto;
	uint32_t addr; /* 0: any; else the LAN or the remote address */
	bool any_port;
	uint16_t port; /* the LAN, external or remote port */
	int queue;     /* -1: all */
	unsigned limit;
};

static int parse_filter(int argc, char **argv, const struct gw *gw, struct session_filter *f,
			struct ctl_reply *reply)
{
	const char *v;
	bool has_port;
	uint16_t ignored;

	*f = (struct session_filter){
	    .any_proto = true, .any_port = true, .queue = -1, .limit = LIST_DEFAULT};
	for (int i = 0; i < argc; i++) {
		if ((v = ctl_arg_value(argv[i], "proto"))) {
			if (parse_proto(v, &f->proto))
				return ctl_fail(reply, 2, "'%s': proto is tcp, udp or icmp",
						argv[i]);
			f->any_proto = false;
		} else if ((v = ctl_arg_value(argv[i], "addr"))) {
			if (parse_endpoint(v, &f->addr, &ignored, &has_port) || has_port)
				return ctl_fail(reply, 2, "'%s': addr is an IPv4 address", argv[i]);
		} else if ((v = ctl_arg_value(argv[i], "port"))) {
			if (parse_u16(v, 0, &f->port))
				return ctl_fail(reply, 2, "'%s': port is from 0 to 65535", argv[i]);
			f->any_port = false;
		} else if ((v = ctl_arg_value(argv[i], "queue"))) {
			uint16_t q;
			if (parse_u16(v, 0, &q) || q >= gw->n)
				return ctl_fail(reply, 2, "'%s': queue is from 0 to %u", argv[i],
						gw->n - 1);
			f->queue = q;
		} else if ((v = ctl_arg_value(argv[i], "limit"))) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (!*v || *end || n > 1000000)
				return ctl_fail(reply, 2, "'%s': limit is from 0 (all) to 1000000",
						argv[i]);
			f->limit = n ? (unsigned)n : UINT32_MAX;
		} else {
			return ctl_fail(
			    reply, 2, "'%s': unknown filter (proto=, addr=, port=, queue=, limit=)",
			    argv[i]);
		}
	}
	return 0;
}

static bool session_matches(const struct session_filter *f, const struct nat_session_info *s)
{
	return (f->any_proto || s->proto == f->proto) &&
	       (!f->addr || s->lan_addr == f->addr || s->rem_addr == f->addr) &&
	       (f->any_port || s->lan_port == f->port || s->ext_port == f->port ||
		s->rem_port == f->port);
}

static void print_session(struct gw *gw, FILE *out, bool json, bool first, unsigned q,
			  const struct nat_session_info *s, uint32_t now_s)
{
	char lan[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN], rem[INET_ADDRSTRLEN];
	long left = (long)s->expires - (long)now_s;

	fprintf(out,
		json ? "%s{\"queue\":%u,\"proto\":\"%s\",\"lan\":\"%s:%u\",\"ext\":\"%s:%u\","
		       "\"remote\":\"%s:%u\",\"state\":\"%s\",\"expires_in\":%ld,"
		       "\"offloaded\":\"%s\",\"fast_packets\":%llu}"
		     : "%squeue=%u proto=%s lan=%s:%u ext=%s:%u remote=%s:%u state=%s "
		       "expires_in=%ld offloaded=%s fast_packets=%llu\n",
		json && !first ? "," : "", q, proto_name(s->proto), ip_text(s->lan_addr, lan),
		s->lan_port, ip_text(gw_wan_addr(gw), ext), s->ext_port, ip_text(s->rem_addr, rem),
		s->rem_port, s->proto == PKT_PROTO_TCP ? nat_tcp_state_name(s->tcp_state) : "-",
		left > 0 ? left : 0, s->offloaded ? "yes" : "no",
		(unsigned long long)gw_offload_packets(gw, s));
}

/* A listing in progress: one worker's sessions at a time, copied by the
 * worker (nat_dump_sessions(), a bounded wait) and printed LIST_PIECE
 * lines per piece as the client takes them (ctl.h: a long reply). Owned by
 * the handler until it returns, then by the control socket's server. */
struct listing {
	struct gw *gw;
	struct session_filter f;
	bool json;
	uint32_t now_s;
	unsigned next_q; /* the next worker to dump */
	unsigned n, i;	 /* sessions in buf, the next one to look at */
	unsigned shown, total;
	struct nat_session_info buf[]; /* DUMP_MAX */
};

static bool listing_wants(const struct listing *l, unsigned q)
{
	return l->f.queue < 0 || (unsigned)l->f.queue == q;
}

/* Dump the next worker the filter wants: 1 done, 0 no worker left, or
 * -errno (it did not answer within DUMP_WAIT_MS). */
static int listing_dump(struct listing *l, unsigned *q_out)
{
	while (l->next_q < l->gw->n && !listing_wants(l, l->next_q))
		l->next_q++;
	if (l->next_q >= l->gw->n)
		return 0;
	*q_out = l->next_q++;
	int n = nat_dump_sessions(l->gw->nat, *q_out, l->buf, DUMP_MAX, DUMP_WAIT_MS);
	if (n < 0)
		return n;
	l->n = (unsigned)n;
	l->i = 0;
	return 1;
}

static void listing_end(struct listing *l, FILE *out, const char *error)
{
	if (l->json)
		fprintf(out, "],\"shown\":%u,\"matched\":%u%s%s%s}\n", l->shown, l->total,
			error ? ",\"error\":\"" : "", error ? error : "", error ? "\"" : "");
	else
		fprintf(out, "%s%s%sshown=%u matched=%u\n", error ? "error: " : "",
			error ? error : "", error ? "\n" : "", l->shown, l->total);
}

/* Up to LIST_PIECE lines from the current dump; the next worker's dump
 * once it is used up (one per piece: each may wait). */
static bool listing_more(void *state, FILE *out)
{
	struct listing *l = state;
	unsigned printed = 0, q = l->next_q - 1;
	char error[96];
	int got;

	for (; l->i < l->n && printed < LIST_PIECE; l->i++) {
		const struct nat_session_info *si = &l->buf[l->i];
		if (!session_matches(&l->f, si))
			continue;
		if (l->shown < l->f.limit) {
			print_session(l->gw, out, l->json, l->shown == 0, q, si, l->now_s);
			l->shown++;
			printed++;
		}
		l->total++;
	}
	if (l->i < l->n)
		return true;
	if ((got = listing_dump(l, &q)) > 0)
		return true;
	if (got < 0)
		snprintf(error, sizeof(error), "worker %u did not answer (%s); the listing stops",
			 q, strerror(-got));
	listing_end(l, out, got < 0 ? error : NULL);
	return false;
}

int gw_ctl_show_sessions(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	bool json = ctl_take_flag(&argc, argv, "--json");
	struct session_filter f;
	struct listing *l;
	unsigned q = 0;
	int got;

	if (parse_filter(argc, argv, gw, &f, reply))
		return -1;
	if (!(l = malloc(sizeof(*l) + DUMP_MAX * sizeof(l->buf[0]))))
		return ctl_fail(reply, 1, "out of memory");
	*l = (struct listing){.gw = gw, .f = f, .json = json, .now_s = gw_now_ms() / 1000};
	/* The first worker now, so that its failure is the status line. */
	if ((got = listing_dump(l, &q)) < 0) {
		free(l);
		return ctl_fail(reply, 1, "worker %u did not answer (%s)", q, strerror(-got));
	}
	if (json)
		fprintf(reply->body, "{\"sessions\":[");
	reply->more = listing_more;
	reply->more_free = free;
	reply->more_state = l; /* the server's from here */
	return 0;
}

/* ---- port mappings ---- */

int gw_ctl_add_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	struct nat_static_map sm = {0};
	const char *why = "";
	bool json = ctl_take_flag(&argc, argv, "--json");
	int err;

	if (argc != 1)
		return ctl_fail(reply, 2,
				"add portmapping takes PROTO:PORT=ADDR:PORT, e.g. "
				"tcp:8080=192.168.137.10:80");
	if (nat_static_parse(argv[0], true, &sm, &why))
		return ctl_fail(reply, 2, "%s", why);
	if (!gw_in_lan(gw, sm.lan_addr) || sm.lan_addr == gw->cfg.lan_addr)
		return ctl_fail(reply, 2, "%s: the target must be a host of the LAN subnet",
				argv[0]);
	if ((err = nat_static_add(gw->nat, &sm, &why)))
		return ctl_fail(reply, err == -EINVAL ? 2 : 1, "%s: %s", argv[0], why);
	fprintf(reply->body, json ? "{\"added\":\"%s\"}\n" : "added %s\n", argv[0]);
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
	if (nat_static_delete(gw->nat, sm.proto, sm.ext_port, &why))
		return ctl_fail(reply, 1, "%s: %s", argv[0], why);
	fprintf(reply->body,
		json ? "{\"deleted\":\"%s\"}\n"
		     : "deleted %s (its open connections run until they end)\n",
		argv[0]);
	return 0;
}

struct list_ctx {
	FILE *out;
	bool json;
	unsigned n;
	uint32_t wan;
};

static void list_one(void *arg, const struct nat_static_map *sm)
{
	struct list_ctx *c = arg;
	char lan[INET_ADDRSTRLEN], wan[INET_ADDRSTRLEN];

	fprintf(c->out,
		c->json ? "%s{\"proto\":\"%s\",\"ext\":\"%s:%u\",\"lan\":\"%s:%u\"}"
			: "%sproto=%s ext=%s:%u lan=%s:%u\n",
		c->json && c->n ? "," : "", proto_name(sm->proto), ip_text(c->wan, wan),
		sm->ext_port, ip_text(sm->lan_addr, lan), sm->lan_port);
	c->n++;
}

int gw_ctl_show_portmapping(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	struct list_ctx c = {.out = reply->body,
			     .json = ctl_take_flag(&argc, argv, "--json"),
			     .wan = gw_wan_addr(gw)};

	if (argc)
		return ctl_fail(reply, 2, "'%s': show portmapping takes only --json", argv[0]);
	if (c.json)
		fprintf(c.out, "{\"portmappings\":[");
	nat_static_list(gw->nat, list_one, &c);
	fprintf(c.out, c.json ? "],\"count\":%u}\n" : "count=%u\n", c.n);
	return 0;
}

/* ---- explain ---- */

struct explained {
	struct pkt p;
	uint32_t hash;
	unsigned bucket, queue;
	bool found;
	struct nat_mapping_info m;
};

static void explain_print(struct gw *gw, const struct explained *e, FILE *out, bool json)
{
	/* A mapping keeps the bucket it was born in; after a table-size change
	 * only its low bits index the table. */
	unsigned owner = e->found ? gw->snap->table[e->m.bucket & gw->snap->bucket_mask] : e->queue;
	const char *side = e->p.side == GW_LAN ? "lan" : "wan";
	char why[200];

	if (!e->found && e->p.side == GW_LAN)
		snprintf(why, sizeof(why),
			 "no mapping yet: the first packet creates one homed in bucket %u "
			 "(queue %u), with an external port whose reply hashes there too",
			 e->bucket, e->queue);
	else if (!e->found)
		snprintf(why, sizeof(why),
			 "no mapping for this external port: dropped (NO_MAPPING) unless a "
			 "connection from the LAN opens one");
	else if (owner == e->queue)
		snprintf(why, sizeof(why),
			 "the mapping's home bucket %u belongs to queue %u, where the packet "
			 "lands: translated there (local)",
			 e->m.bucket, owner);
	else
		snprintf(why, sizeof(why),
			 "the mapping's home bucket %u belongs to queue %u, the packet lands on "
			 "queue %u: handed off to %u",
			 e->m.bucket, owner, e->queue, owner);
	fprintf(out,
		json ? "{\"side\":\"%s\",\"hash\":\"0x%08x\",\"bucket\":%u,\"queue\":%u,"
		       "\"mapping\":\"%s\",\"ext_port\":%u,\"home_bucket\":%u,\"owner\":%u,"
		       "\"local\":\"%s\",\"offloaded\":\"%s\",\"why\":\"%s\"}\n"
		     : "side=%s hash=0x%08x bucket=%u queue=%u mapping=%s ext_port=%u "
		       "home_bucket=%u owner=%u local=%s\noffloaded: %s\nwhy: %s\n",
		side, e->hash, e->bucket, e->queue,
		e->found ? (e->m.is_static ? "static" : "yes") : "no", e->found ? e->m.ext_port : 0,
		e->found ? e->m.bucket : e->bucket, owner, owner == e->queue ? "yes" : "no",
		gw_offload_has(gw, &e->p) ? "yes" : "no", why);
}

int gw_ctl_explain(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct gw *gw = ctx;
	bool json = ctl_take_flag(&argc, argv, "--json"), sp, dp;
	struct explained e = {0};
	struct pkt *p = &e.p;
	const char *v;

	p->proto = PKT_PROTO_UDP;
	if (argc < 2 || argc > 3 || parse_endpoint(argv[0], &p->saddr, &p->sport, &sp) ||
	    parse_endpoint(argv[1], &p->daddr, &p->dport, &dp))
		return ctl_fail(reply, 2,
				"explain takes SRC[:PORT] DST[:PORT] [proto=tcp|udp|icmp]");
	if (argc == 3 && (!(v = ctl_arg_value(argv[2], "proto")) || parse_proto(v, &p->proto)))
		return ctl_fail(reply, 2, "'%s': proto is tcp, udp or icmp", argv[2]);
	if (gw_in_lan(gw, p->saddr))
		p->side = GW_LAN;
	else if (p->daddr == gw_wan_addr(gw))
		p->side = GW_WAN;
	else
		return ctl_fail(reply, 2,
				"SRC is not on the LAN and DST is not the WAN address: "
				"this gateway never sees such a packet");
	p->flags = PKT_F_L4;
	if (p->proto == PKT_PROTO_ICMP) { /* an echo: its identifier is the "port" */
		p->flags |= PKT_F_ICMP_QUERY;
		p->dport = p->sport = p->side == GW_LAN ? p->sport : p->dport;
	}
	e.hash = nat_packet_hash(gw->snap, p);
	e.bucket = rss_bucket(gw->snap, e.hash);
	e.queue = gw->snap->table[e.bucket];
	e.found = p->side == GW_LAN ? nat_find_mapping(gw->nat, p->proto, p->saddr, p->sport, &e.m)
				    : nat_find_mapping(gw->nat, p->proto, 0, p->dport, &e.m);
	explain_print(gw, &e, reply->body, json);
	return 0;
}
