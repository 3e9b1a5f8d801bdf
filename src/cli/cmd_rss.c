/* cmd_rss.c - `rssnat rss hash|table|solve`: the RSS engine, by hand.
 * For people learning why a packet lands on a core, and for scripts. */
#include "cli.h"
#include "commands.h"
#include "rss_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hash_args {
	struct rss_tuple tuple;
	bool sport_given, dport_given;
};

static int parse_endpoints(const struct rss_opts *o, struct hash_args *a)
{
	struct cli_endpoint src, dst;
	const char *why = "";

	if (o->argc != 2)
		return cli_usage_error(o->argc < 2 ? "SRC DST" : o->argv[2],
				       o->argc < 2 ? "missing (two endpoints, ADDR[:PORT])"
						   : "unexpected argument (only SRC and DST)");
	if (cli_parse_endpoint(o->argv[0], &src, &why))
		return cli_usage_error(o->argv[0], "%s", why);
	if (cli_parse_endpoint(o->argv[1], &dst, &why))
		return cli_usage_error(o->argv[1], "%s", why);
	if (src.family != dst.family)
		return cli_usage_error(o->argv[1], "is IPv%u but the source is IPv%u", dst.family,
				       src.family);
	memset(a, 0, sizeof(*a));
	a->tuple.family = src.family;
	memcpy(a->tuple.src, src.addr, sizeof(src.addr));
	memcpy(a->tuple.dst, dst.addr, sizeof(dst.addr));
	a->tuple.sport = src.port;
	a->tuple.dport = dst.port;
	a->sport_given = src.has_port;
	a->dport_given = dst.has_port;
	return 0;
}

/* Default fields: the 4-tuple when both ports are given, the 2-tuple when
 * neither is (as NDIS hashes a non-TCP/UDP packet). */
static int resolve_fields(const struct rss_opts *o, const struct hash_args *a, unsigned *fields)
{
	if (!o->fields_given) {
		if (a->sport_given != a->dport_given)
			return cli_usage_error(a->sport_given ? o->argv[1] : o->argv[0],
					       "needs a port too (give ports on both or neither)");
		*fields = a->sport_given ? RSS_F_4TUPLE : RSS_F_ADDRS;
		return 0;
	}
	if ((o->fields & RSS_F_SRC_PORT) && !a->sport_given)
		return cli_usage_error(o->argv[0], "needs a port for --fields with 'f'");
	if ((o->fields & RSS_F_DST_PORT) && !a->dport_given)
		return cli_usage_error(o->argv[1], "needs a port for --fields with 'n'");
	*fields = o->fields;
	return 0;
}

static int make_snapshot(const struct rss_opts *o, struct rss_snapshot **snap)
{
	const char *why = "";

	if (rss_snapshot_create(&o->cfg, 1, snap, &why))
		return cli_usage_error("configuration", "%s", why);
	return 0;
}

static uint32_t hash_with(const struct rss_opts *o, const struct rss_snapshot *snap,
			  const uint8_t *in, size_t len)
{
	struct rss_hasher *h;
	uint32_t hash;

	if (o->impl == RSS_OPTS_IMPL_REFERENCE)
		return rss_hash_ref(&o->cfg.key, in, len);
	if (o->impl == RSS_OPTS_IMPL_AUTO)
		return rss_hash(&snap->hasher, in, len);
	h = malloc(sizeof(*h));
	if (!h || rss_hasher_init(h, &o->cfg.key, o->impl)) {
		free(h);
		return rss_hash(&snap->hasher, in, len); /* unreachable: checked at parse */
	}
	hash = rss_hash(h, in, len);
	free(h);
	return hash;
}

int cli_rss_hash(int argc, char **argv)
{
	struct rss_opts o;
	struct hash_args a;
	struct rss_snapshot *snap;
	uint8_t in[RSS_INPUT_MAX];
	unsigned fields = 0;
	int err;

	if ((err = rss_opts_parse(&o, "kftqwij", argc, argv)) || (err = parse_endpoints(&o, &a)) ||
	    (err = resolve_fields(&o, &a, &fields)) || (err = make_snapshot(&o, &snap)))
		return err;
	size_t len = rss_input(&a.tuple, fields, in);
	uint32_t hash = hash_with(&o, snap, in, len);
	if (o.json)
		printf("{\"hash\":\"0x%08x\",\"bucket\":%u,\"queue\":%u}\n", hash,
		       rss_bucket(snap, hash), rss_queue(snap, hash));
	else
		printf("hash=0x%08x bucket=%u queue=%u\n", hash, rss_bucket(snap, hash),
		       rss_queue(snap, hash));
	rss_snapshot_destroy(snap);
	return CLI_OK;
}

static void print_table_text(const struct rss_snapshot *snap)
{
	const struct rss_config *c = &snap->config;
	const char *name = rss_key_name(&c->key);
	char key[2 * RSS_KEY_LEN_MAX + 1];

	rss_key_format(&c->key, key, sizeof(key));
	printf("table_size=%u queues=%u key=%s\n", c->table_size, c->queues, name ? name : key);
	for (unsigned b = 0; b < c->table_size; b++)
		printf("%s%u", b % 16 ? " " : (b ? "\n" : ""), snap->table[b]);
	printf("\n");
}

static void print_table_json(const struct rss_snapshot *snap)
{
	const struct rss_config *c = &snap->config;
	char key[2 * RSS_KEY_LEN_MAX + 1];

	rss_key_format(&c->key, key, sizeof(key));
	printf("{\"table_size\":%u,\"queues\":%u,\"key\":\"%s\",\"table\":[", c->table_size,
	       c->queues, key);
	for (unsigned b = 0; b < c->table_size; b++)
		printf("%s%u", b ? "," : "", snap->table[b]);
	printf("]}\n");
}

int cli_rss_table(int argc, char **argv)
{
	struct rss_opts o;
	struct rss_snapshot *snap;
	int err;

	if ((err = rss_opts_parse(&o, "ktqwj", argc, argv)))
		return err;
	if (o.argc)
		return cli_usage_error(o.argv[0], "unexpected argument");
	if ((err = make_snapshot(&o, &snap)))
		return err;
	if (o.json)
		print_table_json(snap);
	else
		print_table_text(snap);
	rss_snapshot_destroy(snap);
	return CLI_OK;
}

/* A set of ports as a bitmap: the union of a few affine subspaces. */
struct port_bitmap {
	uint64_t bits[65536 / 64];
};

static void bitmap_add_set(struct port_bitmap *m, const struct rss_port_set *set)
{
	for (uint32_t i = 0; i < rss_port_set_count(set); i++) {
		uint16_t p = rss_port_set_at(set, i);
		m->bits[p / 64] |= 1ull << (p % 64);
	}
}

static bool bitmap_has(const struct port_bitmap *m, unsigned port)
{
	return (m->bits[port / 64] >> (port % 64)) & 1u;
}

struct solve_result {
	struct port_bitmap ports;
	unsigned rank, buckets;
	uint32_t total, in_range;
};

static int solve_target(const struct rss_opts *o, const struct rss_snapshot *snap,
			const uint8_t *in, size_t len, size_t off, struct solve_result *r)
{
	unsigned bits = rss_log2(snap->config.table_size);

	memset(r, 0, sizeof(*r));
	for (unsigned b = 0; b < snap->config.table_size; b++) {
		struct rss_port_set set;
		if (o->bucket >= 0 ? (long)b != o->bucket : snap->table[b] != o->queue)
			continue;
		rss_solve_port(&snap->hasher, in, len, off, bits, b, &set);
		r->rank = 16 - set.dim;
		r->buckets++;
		r->total += rss_port_set_count(&set);
		bitmap_add_set(&r->ports, &set);
	}
	for (unsigned p = (unsigned)o->range_lo; p <= o->range_hi; p++)
		r->in_range += bitmap_has(&r->ports, p);
	return 0;
}

static void print_solve(const struct rss_opts *o, const struct solve_result *r, bool has_current,
			uint16_t current)
{
	const char *field = o->port_field == RSS_F_SRC_PORT ? "src" : "dst";
	unsigned long shown = 0, limit = o->limit ? o->limit : 65536;

	if (o->json) {
		printf("{\"port\":\"%s\",", field);
		if (o->bucket >= 0)
			printf("\"bucket\":%ld,", o->bucket);
		else
			printf("\"queue\":%ld,\"buckets\":%u,", o->queue, r->buckets);
		printf("\"rank\":%u,\"ports\":%u,\"range\":\"%lu-%lu\",\"in_range\":%u,", r->rank,
		       r->total, o->range_lo, o->range_hi, r->in_range);
		if (has_current)
			printf("\"current\":%u,\"steers\":%s,", current,
			       bitmap_has(&r->ports, current) ? "true" : "false");
		printf("\"list\":[");
	} else {
		printf("port=%s ", field);
		if (o->bucket >= 0)
			printf("bucket=%ld ", o->bucket);
		else
			printf("queue=%ld buckets=%u ", o->queue, r->buckets);
		printf("rank=%u ports=%u range=%lu-%lu in_range=%u", r->rank, r->total, o->range_lo,
		       o->range_hi, r->in_range);
		if (has_current)
			printf(" current=%u steers=%s", current,
			       bitmap_has(&r->ports, current) ? "yes" : "no");
		printf("\n");
	}
	for (unsigned p = (unsigned)o->range_lo; p <= o->range_hi && shown < limit; p++)
		if (bitmap_has(&r->ports, p))
			printf(o->json ? "%s%u" : "%s%u", shown++ ? (o->json ? "," : " ") : "", p);
	if (o->json)
		printf("]}\n");
	else if (shown < r->in_range)
		printf("%s(%lu of %u shown; --limit N for more, 0 for all)\n", shown ? " " : "",
		       shown, r->in_range);
	else
		printf("%s\n", shown ? "" : "(no port in range)");
}

static int check_solve_args(const struct rss_opts *o, const struct rss_snapshot *snap)
{
	if ((o->bucket >= 0) == (o->queue >= 0))
		return cli_usage_error("--bucket/--queue", "give exactly one target");
	if (o->bucket >= (long)snap->config.table_size)
		return cli_usage_error("--bucket", "%ld is outside a table of %u", o->bucket,
				       snap->config.table_size);
	if (o->queue >= (long)snap->config.queues)
		return cli_usage_error("--queue", "%ld is outside %u queues", o->queue,
				       snap->config.queues);
	return 0;
}

int cli_rss_solve(int argc, char **argv)
{
	struct rss_opts o;
	struct hash_args a;
	struct rss_snapshot *snap;
	struct solve_result *r;
	uint8_t in[RSS_INPUT_MAX];
	int err;

	if ((err = rss_opts_parse(&o, "kftqwjbQprl", argc, argv)) ||
	    (err = parse_endpoints(&o, &a)))
		return err;
	unsigned fields = o.fields_given ? o.fields : RSS_F_4TUPLE;
	bool free_src = o.port_field == RSS_F_SRC_PORT;
	if (!(fields & o.port_field))
		return cli_usage_error("--port", "the %s port is not among the hashed fields",
				       free_src ? "source" : "destination");
	/* The free port may be left out; the other one is needed if hashed. */
	if ((fields & RSS_F_SRC_PORT) && !free_src && !a.sport_given)
		return cli_usage_error(o.argv[0], "needs a port for --fields with 'f'");
	if ((fields & RSS_F_DST_PORT) && free_src && !a.dport_given)
		return cli_usage_error(o.argv[1], "needs a port for --fields with 'n'");
	if ((err = make_snapshot(&o, &snap)))
		return err;
	if ((err = check_solve_args(&o, snap))) {
		rss_snapshot_destroy(snap);
		return err;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		rss_snapshot_destroy(snap);
		fprintf(stderr, "rssnat: out of memory\n");
		return CLI_FAILED;
	}
	size_t len = rss_input(&a.tuple, fields, in);
	int off = rss_input_port_offset(fields, a.tuple.family, o.port_field);
	solve_target(&o, snap, in, len, (size_t)off, r);
	print_solve(&o, r, free_src ? a.sport_given : a.dport_given,
		    free_src ? a.tuple.sport : a.tuple.dport);
	free(r);
	rss_snapshot_destroy(snap);
	return CLI_OK;
}
