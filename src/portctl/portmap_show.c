/* portmap_show.c - `rssnat show portmapping` and the port control counters
 * of `show stats`, as text and JSON. Descriptions come from LAN clients:
 * they are escaped, never printed as they are. */
#include <arpa/inet.h>
#include <inttypes.h>

#include "portmap.h"

/* A client's description, printable and JSON-safe: quotes, backslashes and
 * control characters escaped; in text, non-ASCII bytes too. */
static void put_desc(FILE *out, const char *s, bool json)
{
	fputc('"', out);
	for (size_t i = 0; i < PM_DESC_MAX && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f || (!json && ch > 0x7e))
			fprintf(out, json ? "\\u%04x" : "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static uint64_t left_s(const struct pm_entry *e, uint64_t now_ms)
{
	return e->expires_ms > now_ms ? (e->expires_ms - now_ms + 999) / 1000 : 0;
}

/* The fields `show portmapping` always had (proto, ext, lan), then the
 * origin, the requesting host, the lifetime left and the description. */
static void write_one(FILE *out, const struct pm_entry *e, uint32_t wan, bool json, uint64_t now_ms,
		      bool first)
{
	char host[INET_ADDRSTRLEN], req[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN];
	const char *proto = e->proto == 6 ? "tcp" : "udp";

	inet_ntop(AF_INET, &e->int_addr, host, sizeof(host));
	inet_ntop(AF_INET, &e->requester, req, sizeof(req));
	inet_ntop(AF_INET, &wan, ext, sizeof(ext));
	fprintf(out,
		json ? "%s{\"proto\":\"%s\",\"ext\":\"%s:%u\",\"lan\":\"%s:%u\",\"origin\":\"%s\""
		     : "%sproto=%s ext=%s:%u lan=%s:%u origin=%s",
		json && !first ? "," : "", proto, ext, e->ext_port, host, e->int_port,
		portmap_origin_name(e->origin));
	if (json) {
		fprintf(out, ",\"host\":\"%s\",\"lifetime_left\":", e->requester ? req : "");
		if (e->expires_ms)
			fprintf(out, "%" PRIu64, left_s(e, now_ms));
		else
			fputs("null", out);
		fprintf(out, ",\"steered\":%s,\"description\":", e->steered ? "true" : "false");
		put_desc(out, e->desc, true);
		fputc('}', out);
		return;
	}
	if (e->expires_ms)
		fprintf(out, " host=%s left=%" PRIu64 "s steered=%s desc=", req, left_s(e, now_ms),
			e->steered ? "yes" : "no");
	else
		fputs(" left=never desc=", out);
	put_desc(out, e->desc, false);
	fputc('\n', out);
}

void portmap_write_list(const struct portmap *pm, FILE *out, bool json, uint64_t now_ms)
{
	struct pm_entry e;
	unsigned i;

	if (json)
		fputs("{\"portmappings\":[", out);
	for (i = 0; portmap_get(pm, i, &e) == PM_OK; i++)
		write_one(out, &e, portmap_wan_addr(pm), json, now_ms, i == 0);
	fprintf(out, json ? "],\"count\":%u}\n" : "count=%u\n", i);
}

static void write_origin(const struct pm_counters *c, unsigned o, FILE *out, bool json)
{
	fprintf(out, json ? ",\"%s\":{\"requests\":%" PRIu64 : "  %s requests=%" PRIu64,
		portmap_origin_name((enum pm_origin)o), c->requests[o]);
	for (unsigned r = 0; r < PM_RESULT_COUNT; r++)
		fprintf(out, json ? ",\"%s\":%" PRIu64 : " %s=%" PRIu64,
			portmap_result_name((int)r), c->results[o][r]);
	fputs(json ? "}" : "\n", out);
}

void portmap_write_stats(const struct portmap *pm, FILE *out, bool json)
{
	const struct pm_counters *c = portmap_counters(pm);

	fprintf(out,
		json ? ",\"portmap\":{\"mappings\":%u,\"created\":%" PRIu64 ",\"renewed\":%" PRIu64
		       ",\"deleted\":%" PRIu64 ",\"expired\":%" PRIu64 ",\"steered\":%" PRIu64
		       ",\"unsteered\":%" PRIu64
		     : "portmap: mappings=%u created=%" PRIu64 " renewed=%" PRIu64
		       " deleted=%" PRIu64 " expired=%" PRIu64 " steered=%" PRIu64
		       " unsteered=%" PRIu64 "\n",
		portmap_count(pm), c->created, c->renewed, c->deleted, c->expired, c->steered,
		c->unsteered);
	for (unsigned o = 0; o < PM_ORIGIN_COUNT; o++)
		write_origin(c, o, out, json);
	if (json)
		fputc('}', out);
}
