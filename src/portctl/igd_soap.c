/* igd_soap.c - SOAP control of the IGD (UDA 2.0 3.2): which action a POST
 * asks for, its response envelope or its UPnPError fault (UDA 2.0
 * 3.2.2), as one whole HTTP response. The actions are igd_actions.c's. */
#include "igd_internal.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define URN_SVC "urn:schemas-upnp-org:service:"
#define ENVELOPE_OPEN                                                                              \
	"<?xml version=\"1.0\"?>\r\n<s:Envelope "                                                  \
	"xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "                                   \
	"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
#define ENVELOPE_CLOSE "</s:Body></s:Envelope>\r\n"

static const struct {
	const char *name;
	enum igd_service svc;
	unsigned version; /* the service version that brought it */
} actions[IGD_ACT_COUNT] = {
#define IGD_ACTION_ROW(name, svc, version) {#name, svc, version},
    IGD_ACTIONS(IGD_ACTION_ROW)
#undef IGD_ACTION_ROW
};

static const struct {
	int code;
	const char *text;
} errors[IGD_E_COUNT] = {{0, "none"},
#define IGD_ERROR_ROW(code, text) {code, text},
			 IGD_ERRORS(IGD_ERROR_ROW)
#undef IGD_ERROR_ROW
};

int igd_error_code(enum igd_error e)
{
	return e < IGD_E_COUNT ? errors[e].code : 501;
}

const char *igd_error_text(enum igd_error e)
{
	return e < IGD_E_COUNT ? errors[e].text : "?";
}

const char *igd_action_name(enum igd_action a)
{
	return a < IGD_ACT_COUNT ? actions[a].name : "?";
}

/* ---- the text builder ---- */

void igd_printf(struct igd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full || b->len >= b->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->size - b->len) {
		b->full = true;
		b->p[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

void igd_escaped(struct igd_buf *b, const char *text)
{
	if (b->full || b->len >= b->size)
		return;
	size_t room = b->size - b->len;
	size_t n = soap_escape(text, b->p + b->len, room);
	if (n + 1 >= room && strlen(text))
		b->full = true;
	b->len += n;
}

bool igd_host_ok(const char *host, uint32_t addr)
{
	char want[INET_ADDRSTRLEN];
	size_t n;

	inet_ntop(AF_INET, &addr, want, sizeof(want));
	n = strlen(want);
	return !strncmp(host, want, n) && (host[n] == '\0' || host[n] == ':');
}

/* ---- which action ---- */

/* The service a control URL serves. */
static bool service_of_path(const char *path, enum igd_service *svc)
{
	if (!strcmp(path, "/ctl/IPConn"))
		*svc = IGD_SVC_IPCONN;
	else if (!strcmp(path, "/ctl/CmnIfCfg"))
		*svc = IGD_SVC_IFCFG;
	else
		return false;
	return true;
}

/* The version of @svc that namespace @ns names, or 0. */
static unsigned ns_version(enum igd_service svc, const char *ns)
{
	const char *type = svc == IGD_SVC_IPCONN ? URN_SVC "WANIPConnection:"
						 : URN_SVC "WANCommonInterfaceConfig:";
	size_t n = strlen(type);
	unsigned max = svc == IGD_SVC_IPCONN ? 2 : 1;

	if (strncmp(ns, type, n) || ns[n] < '1' || ns[n] > '0' + (int)max || ns[n + 1])
		return 0;
	return (unsigned)(ns[n] - '0');
}

/* SOAPAction, when sent, must name the same service and action as the
 * body (UDA 2.0 3.2.1). */
static bool header_agrees(const char *soap_action, const struct soap_call *c)
{
	const char *hash = strrchr(soap_action, '#');

	if (!soap_action[0])
		return true;
	return hash && !strcmp(hash + 1, c->action) &&
	       strlen(c->ns) == (size_t)(hash - soap_action) &&
	       !memcmp(soap_action, c->ns, (size_t)(hash - soap_action));
}

static enum igd_error find_action(const char *path, const struct soap_call *c,
				  const char *soap_action, enum igd_action *a)
{
	enum igd_service svc;
	unsigned version;

	if (!service_of_path(path, &svc) || !(version = ns_version(svc, c->ns)) ||
	    !header_agrees(soap_action, c))
		return IGD_E_401;
	for (unsigned i = 0; i < IGD_ACT_COUNT; i++)
		if (actions[i].svc == svc && !strcmp(actions[i].name, c->action)) {
			*a = (enum igd_action)i;
			return actions[i].version <= version ? IGD_E_NONE : IGD_E_401;
		}
	return IGD_E_401;
}

/* ---- answers ---- */

static void http_head(struct igd_buf *out, int status, size_t body_len)
{
	igd_printf(out,
		   "HTTP/1.1 %d %s\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
		   "Connection: close\r\nContent-Length: %zu\r\nServer: Linux UPnP/1.1 "
		   "rssnat/" RSSNAT_VERSION "\r\nEXT:\r\n\r\n",
		   status, status == 200 ? "OK" : "Internal Server Error", body_len);
}

static void respond(struct igd_buf *out, int status, const char *body, size_t len)
{
	http_head(out, status, len);
	if (!out->full && out->size - out->len > len) {
		memcpy(out->p + out->len, body, len);
		out->len += len;
	} else {
		out->full = true;
	}
}

static void fault(struct igd_buf *out, enum igd_error e)
{
	char body[1024];
	struct igd_buf b = {.p = body, .size = sizeof(body)};

	igd_printf(&b,
		   ENVELOPE_OPEN "<s:Fault><faultcode>s:Client</faultcode>"
				 "<faultstring>UPnPError</faultstring><detail>"
				 "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"
				 "<errorCode>%d</errorCode><errorDescription>%s</errorDescription>"
				 "</UPnPError></detail></s:Fault>" ENVELOPE_CLOSE,
		   igd_error_code(e), igd_error_text(e));
	respond(out, 500, body, b.len);
}

/* A plain HTTP error without a SOAP body (the request was not SOAP). */
void igd_http_error(struct igd_buf *out, int status)
{
	igd_printf(out, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status,
		   http_status_text(status));
}

static void success(struct igd_buf *out, const struct soap_call *c, const struct igd_buf *args)
{
	static char body[IGD_OUT_MAX]; /* control thread only */
	struct igd_buf b = {.p = body, .size = sizeof(body) - 512};

	igd_printf(&b, ENVELOPE_OPEN "<u:%sResponse xmlns:u=\"%s\">", c->action, c->ns);
	igd_printf(&b, "%s", args->p);
	igd_printf(&b, "</u:%sResponse>" ENVELOPE_CLOSE, c->action);
	if (b.full) {
		fault(out, IGD_E_501);
		return;
	}
	respond(out, 200, body, b.len);
}

void igd_soap_control(struct igd_soap_ctx *ctx, const struct http_req *r, const char *buf,
		      uint32_t requester, struct igd_buf *out)
{
	static char arg_text[IGD_OUT_MAX - 2048]; /* control thread only */
	struct igd_buf args = {.p = arg_text, .size = sizeof(arg_text)};
	struct soap_call c;
	enum soap_error se;
	enum igd_error e;
	enum igd_action a = IGD_ACT_COUNT;

	ctx->cnt->soap_requests++;
	arg_text[0] = '\0';
	/* UDA 2.0 3.2.1: required. A page in a browser can POST a body across
	 * origins without asking, but not this header. */
	if (!r->soap_action[0]) {
		ctx->cnt->soap_no_soapaction++;
		igd_http_error(out, 400);
		return;
	}
	if ((se = soap_parse(buf + r->body_off, r->body_len, &c))) {
		ctx->cnt->soap_malformed[se]++;
		if (se == SOAP_ERR_NO_ACTION) {
			ctx->cnt->errors[IGD_E_401]++;
			fault(out, IGD_E_401);
		} else {
			igd_http_error(out, 400);
		}
		return;
	}
	if (!(e = find_action(r->path, &c, r->soap_action, &a))) {
		ctx->cnt->actions[a]++;
		e = igd_action_run(ctx, a, &c, requester, &args);
	}
	if (!e && args.full)
		e = IGD_E_501;
	if (e) {
		ctx->cnt->errors[e]++;
		fault(out, e);
		return;
	}
	success(out, &c, &args);
}
