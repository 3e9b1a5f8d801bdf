/* fuzz_upnp_http.c - libFuzzer harness for the UPnP IGD's HTTP and SOAP
 * parsers and its control actions (src/portctl/http_req.c, soap.c,
 * igd_soap.c, igd_actions.c) over the real mapping service and NAT:
 * the input is one request from LAN host 192.168.137.10 (or .11 when the
 * first byte is odd), parsed from an exact heap copy (ASan sees any read
 * past the end) as the server does after every read: a decision taken on
 * a prefix stays the same with more bytes, nothing is read past @len. A whole request is
 * answered (a description or SOAP control); the input is also scanned as
 * a bare SOAP envelope. Asserts that the body lies inside the input, an
 * answer is a well-formed HTTP status line within its buffer, and a
 * parsed call keeps its bounds. */
#include "../src/nat/nat.h"
#include "../src/pkt/pkt.h"
#include "../src/portctl/igd_internal.h"
#include "../src/portctl/portmap.h"
#include "../src/rss/rss.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum { WORKERS = 2 };

static struct portmap *service(void)
{
	static struct portmap *pm;
	struct rss_snapshot *snap;
	struct rss_config rc;
	struct nat_config nc;
	struct pm_config pc;
	struct nat *nat;
	const char *why;

	if (pm)
		return pm;
	rss_config_default(&rc, WORKERS);
	nat_config_default(&nc, pkt_ipv4(198, 51, 100, 2));
	nc.seed = 1;
	portmap_config_default(&pc);
	pc.per_host = 8; /* the limits are reached */
	pc.total = 12;
	if (rss_snapshot_create(&rc, 1, &snap, &why) ||
	    nat_create(&nc, snap, WORKERS, &nat, &why) ||
	    portmap_create(&pc, nat, pkt_ipv4(192, 168, 137, 1), pkt_ipv4(192, 168, 137, 0),
			   pkt_ipv4(255, 255, 255, 0), pkt_ipv4(198, 51, 100, 2), &pm, &why))
		abort();
	return pm;
}

static void check_call(const struct soap_call *c)
{
	if (strlen(c->action) >= SOAP_NAME_MAX || strlen(c->ns) >= SOAP_NS_MAX ||
	    c->n_args > SOAP_ARGS_MAX)
		abort();
	for (unsigned i = 0; i < c->n_args; i++)
		if (strlen(c->args[i].name) >= SOAP_NAME_MAX ||
		    strlen(c->args[i].value) >= SOAP_VALUE_MAX)
			abort();
}

static void answer(const char *buf, const struct http_req *r, enum http_parse st, uint32_t from,
		   uint64_t now)
{
	static char out[IGD_OUT_MAX];
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	static struct igd_counters cnt;
	struct igd_buf b = {.p = out, .size = sizeof(out)};
	struct igd_soap_ctx ctx = {.pm = service(), .now_ms = now, .cnt = &cnt};
	struct ssdp_device dev;

	if (st == HTTP_REFUSED) {
		if (r->status < 400 || r->status > 599)
			abort();
		igd_http_error(&b, r->status);
	} else if (r->method == HTTP_GET) {
		ssdp_device_init(&dev, mac, pkt_ipv4(192, 168, 137, 1), 5000, 1);
		if (!igd_describe(&dev, r->path, &b))
			igd_http_error(&b, 404);
	} else {
		igd_soap_control(&ctx, r, buf, from, &b);
	}
	if (b.len >= b.size || (!b.full && strncmp(out, "HTTP/1.1 ", 9)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint64_t now = 1000;
	char *copy = malloc(n ? n : 1);
	uint32_t from = pkt_ipv4(192, 168, 137, n && (d[0] & 1) ? 11 : 10);
	struct http_req r;
	struct soap_call c;
	enum http_parse st = HTTP_NEED_MORE;

	if (!copy)
		return 0;
	memcpy(copy, d, n);
	/* As the server reads it: shorter reads first (a few, to stay fast);
	 * once decided, more bytes never change the decision. */
	for (size_t k = 0; k < 4 && st == HTTP_NEED_MORE; k++)
		st = http_req_parse(copy, k == 3 ? n / 2 : n > k + 1 ? n - k - 1 : 0, &r);
	if (http_req_parse(copy, n, &r) != st && st != HTTP_NEED_MORE)
		abort();
	st = http_req_parse(copy, n, &r);
	if (st == HTTP_DONE && (r.body_off > n || r.body_len > n - r.body_off))
		abort();
	if (st != HTTP_NEED_MORE)
		answer(copy, &r, st, from, now);
	if (soap_parse(copy, n, &c) == SOAP_OK)
		check_call(&c);
	now += 7000;
	portmap_expire(service(), now);
	free(copy);
	return 0;
}
