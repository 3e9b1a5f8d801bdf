/* igd_actions.c - the actions of WANIPConnection:2 (UPnP IGD:2, the
 * standardized DCP "WANIPConnection:2 Service", 2010) and
 * GetCommonLinkProperties of WANCommonInterfaceConfig:1, over the shared
 * mapping service (portmap.h).
 *
 * Policy (portmap.h checks it again for every front end): a control point
 * maps ports only to itself - NewInternalClient must be the address the
 * request came from, else 606 Action not authorized (miniupnpd's secure
 * mode, always on). NewRemoteHost must be the wildcard (726). A lease of 0
 * is the configured maximum, not forever, and a lease over 604800 s is
 * cut to it (WANIPConnection:2 2.3.16). */
#include "igd_internal.h"
#include "portmap.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	LEASE_MAX = 604800,	/* WANIPConnection:2 2.3.16 */
	RANGE_DELETE_MAX = 256, /* mappings one DeletePortMappingRange removes */
};

/* ---- arguments ---- */

static bool parse_uint(const char *v, uint32_t max, uint32_t *out)
{
	uint32_t x = 0;

	if (!v || !*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || x > (UINT32_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint32_t)(*v - '0');
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

static bool arg_uint(const struct soap_call *c, const char *name, uint32_t max, uint32_t *out)
{
	return parse_uint(soap_arg(c, name), max, out);
}

static bool arg_proto(const struct soap_call *c, uint8_t *proto)
{
	const char *v = soap_arg(c, "NewProtocol");

	if (v && !strcmp(v, "TCP"))
		*proto = 6;
	else if (v && !strcmp(v, "UDP"))
		*proto = 17;
	else
		return false;
	return true;
}

static bool arg_bool(const struct soap_call *c, const char *name, bool *out)
{
	const char *v = soap_arg(c, name);

	if (!v)
		return false;
	*out = !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes");
	return *out || !strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no");
}

static const char *proto_name(uint8_t proto)
{
	return proto == 6 ? "TCP" : "UDP";
}

static const char *ip_text(uint32_t addr, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &addr, buf, INET_ADDRSTRLEN);
}

static uint32_t lease_left(const struct pm_entry *e, uint64_t now_ms)
{
	if (!e->expires_ms)
		return 0; /* a static mapping: permanent */
	return e->expires_ms > now_ms ? (uint32_t)((e->expires_ms - now_ms + 999) / 1000) : 1;
}

/* An empty NewRemoteHost is the wildcard; anything else we do not do. */
static bool remote_is_wildcard(const struct soap_call *c)
{
	const char *v = soap_arg(c, "NewRemoteHost");

	return !v || !*v || !strcmp(v, "*") || !strcmp(v, "0.0.0.0");
}

static enum igd_error from_result(int result)
{
	switch (result) {
	case PM_OK:
		return IGD_E_NONE;
	case PM_NOT_AUTHORIZED:
		return IGD_E_606;
	case PM_BAD_PORT:
		return IGD_E_606;
	case PM_CONFLICT:
		return IGD_E_718;
	case PM_NO_RESOURCES:
		return IGD_E_728;
	case PM_NOT_FOUND:
		return IGD_E_714;
	case PM_NO_WAN_ADDR:
		return IGD_E_501; /* Action Failed: no external address to map to */
	default:
		return IGD_E_501;
	}
}

/* ---- adding ---- */

/* The arguments of AddPortMapping and AddAnyPortMapping into @rq. */
static enum igd_error add_request(const struct soap_call *c, uint32_t requester,
				  struct pm_request *rq)
{
	uint32_t ext, in, lease;
	const char *client = soap_arg(c, "NewInternalClient"), *desc;
	bool enabled;

	memset(rq, 0, sizeof(*rq));
	if (!arg_uint(c, "NewExternalPort", 65535, &ext) || !arg_proto(c, &rq->proto) ||
	    !arg_uint(c, "NewInternalPort", 65535, &in) || !client ||
	    inet_pton(AF_INET, client, &rq->int_addr) != 1 ||
	    !arg_bool(c, "NewEnabled", &enabled) ||
	    !arg_uint(c, "NewLeaseDuration", UINT32_MAX, &lease))
		return IGD_E_402;
	if (!remote_is_wildcard(c))
		return IGD_E_726;
	if (in == 0)
		return IGD_E_732;
	if (!enabled) /* disabled entries are not kept: nothing to map */
		return IGD_E_402;
	if (rq->int_addr != requester) /* only for itself, whatever portmap says */
		return IGD_E_606;
	rq->requester = requester;
	rq->ext_port = (uint16_t)ext;
	rq->int_port = (uint16_t)in;
	rq->lifetime_s = lease > LEASE_MAX ? LEASE_MAX : lease;
	rq->origin = PM_UPNP;
	desc = soap_arg(c, "NewPortMappingDescription");
	snprintf(rq->desc, sizeof(rq->desc), "%s", desc ? desc : "");
	return IGD_E_NONE;
}

static enum igd_error add_mapping(struct igd_soap_ctx *ctx, const struct soap_call *c,
				  uint32_t requester, bool any, struct igd_buf *args)
{
	struct pm_request rq;
	struct pm_entry e;
	enum igd_error err;

	if ((err = add_request(c, requester, &rq)))
		return err;
	if (!any && rq.ext_port == 0)
		return IGD_E_716;
	rq.ext_exact = !any;
	if ((err = from_result(portmap_add(ctx->pm, &rq, ctx->now_ms, &e))))
		return err;
	if (any)
		igd_printf(args, "<NewReservedPort>%u</NewReservedPort>", e.ext_port);
	return IGD_E_NONE;
}

/* ---- deleting ---- */

static enum igd_error delete_mapping(struct igd_soap_ctx *ctx, const struct soap_call *c,
				     uint32_t requester)
{
	uint32_t ext;
	uint8_t proto;

	if (!arg_uint(c, "NewExternalPort", 65535, &ext) || !arg_proto(c, &proto))
		return IGD_E_402;
	if (!remote_is_wildcard(c))
		return IGD_E_714; /* no mapping has a remote host */
	return from_result(portmap_delete(ctx->pm, proto, (uint16_t)ext, requester, PM_UPNP));
}

/* NewManage asks for other hosts' mappings too: never granted, so only
 * the requester's own in the range are deleted. */
static enum igd_error delete_range(struct igd_soap_ctx *ctx, const struct soap_call *c,
				   uint32_t requester)
{
	uint16_t ports[RANGE_DELETE_MAX];
	uint32_t lo, hi;
	unsigned n = 0, deleted = 0;
	struct pm_entry e;
	uint8_t proto;
	bool manage;

	if (!arg_uint(c, "NewStartPort", 65535, &lo) || !arg_uint(c, "NewEndPort", 65535, &hi) ||
	    !arg_proto(c, &proto) || !arg_bool(c, "NewManage", &manage))
		return IGD_E_402;
	if (lo > hi)
		return IGD_E_733;
	/* First collect, then delete: deleting shifts the indexes. */
	for (unsigned i = 0; n < RANGE_DELETE_MAX && portmap_get(ctx->pm, i, &e) == PM_OK; i++)
		if (e.proto == proto && e.ext_port >= lo && e.ext_port <= hi &&
		    e.origin != PM_STATIC && e.int_addr == requester)
			ports[n++] = e.ext_port;
	for (unsigned i = 0; i < n; i++)
		deleted += portmap_delete(ctx->pm, proto, ports[i], requester, PM_UPNP) == PM_OK;
	return deleted ? IGD_E_NONE : IGD_E_730;
}

/* ---- reading ---- */

static void entry_args(struct igd_soap_ctx *ctx, const struct pm_entry *e, bool with_key,
		       struct igd_buf *args)
{
	char ip[INET_ADDRSTRLEN];

	if (with_key)
		igd_printf(args,
			   "<NewRemoteHost></NewRemoteHost><NewExternalPort>%u</NewExternalPort>"
			   "<NewProtocol>%s</NewProtocol>",
			   e->ext_port, proto_name(e->proto));
	igd_printf(args,
		   "<NewInternalPort>%u</NewInternalPort><NewInternalClient>%s</NewInternalClient>"
		   "<NewEnabled>1</NewEnabled><NewPortMappingDescription>",
		   e->int_port, ip_text(e->int_addr, ip));
	igd_escaped(args, e->desc);
	igd_printf(args, "</NewPortMappingDescription><NewLeaseDuration>%u</NewLeaseDuration>",
		   lease_left(e, ctx->now_ms));
}

static enum igd_error specific_entry(struct igd_soap_ctx *ctx, const struct soap_call *c,
				     struct igd_buf *args)
{
	struct pm_entry e;
	uint32_t ext;
	uint8_t proto;

	if (!arg_uint(c, "NewExternalPort", 65535, &ext) || !arg_proto(c, &proto))
		return IGD_E_402;
	if (!remote_is_wildcard(c) || portmap_find(ctx->pm, proto, (uint16_t)ext, &e) != PM_OK)
		return IGD_E_714;
	entry_args(ctx, &e, false, args);
	return IGD_E_NONE;
}

static enum igd_error generic_entry(struct igd_soap_ctx *ctx, const struct soap_call *c,
				    struct igd_buf *args)
{
	struct pm_entry e;
	uint32_t index;

	if (!arg_uint(c, "NewPortMappingIndex", 65535, &index))
		return IGD_E_402;
	if (portmap_get(ctx->pm, index, &e) != PM_OK)
		return IGD_E_713;
	entry_args(ctx, &e, true, args);
	return IGD_E_NONE;
}

/* One <p:PortMappingEntry> of GetListOfPortMappings (WANIPConnection:2
 * 2.5.21: an XML document carried in a string argument). The document
 * goes in a CDATA section, as miniupnpd sends it: miniupnpc's parser does
 * not decode entities. Its text is escaped, so "]]>" cannot occur in it. */
static void list_entry(struct igd_soap_ctx *ctx, const struct pm_entry *e, struct igd_buf *b)
{
	char doc[512], ip[INET_ADDRSTRLEN], desc[3 * PM_DESC_MAX];
	struct igd_buf inner = {.p = doc, .size = sizeof(doc)};

	soap_escape(e->desc, desc, sizeof(desc));
	igd_printf(&inner,
		   "<p:PortMappingEntry><p:NewRemoteHost></p:NewRemoteHost>"
		   "<p:NewExternalPort>%u</p:NewExternalPort><p:NewProtocol>%s</p:NewProtocol>"
		   "<p:NewInternalPort>%u</p:NewInternalPort>"
		   "<p:NewInternalClient>%s</p:NewInternalClient><p:NewEnabled>1</p:NewEnabled>"
		   "<p:NewDescription>%s</p:NewDescription><p:NewLeaseTime>%u</p:NewLeaseTime>"
		   "</p:PortMappingEntry>",
		   e->ext_port, proto_name(e->proto), e->int_port, ip_text(e->int_addr, ip), desc,
		   lease_left(e, ctx->now_ms));
	igd_printf(b, "%s", doc);
}

static enum igd_error list_mappings(struct igd_soap_ctx *ctx, const struct soap_call *c,
				    struct igd_buf *args)
{
	uint32_t lo, hi, want;
	unsigned found = 0;
	struct pm_entry e;
	uint8_t proto;
	bool manage;

	if (!arg_uint(c, "NewStartPort", 65535, &lo) || !arg_uint(c, "NewEndPort", 65535, &hi) ||
	    !arg_proto(c, &proto) || !arg_bool(c, "NewManage", &manage) ||
	    !arg_uint(c, "NewNumberOfPorts", 65535, &want))
		return IGD_E_402;
	if (lo > hi)
		return IGD_E_733;
	igd_printf(args, "<NewPortListing><![CDATA[<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			 "<p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\">");
	for (unsigned i = 0; (!want || found < want) && portmap_get(ctx->pm, i, &e) == PM_OK; i++) {
		if (e.proto != proto || e.ext_port < lo || e.ext_port > hi)
			continue;
		size_t before = args->len;
		list_entry(ctx, &e, args);
		if (args->size - args->len < 1024) { /* keep room for the closing tags */
			args->len = before;
			break;
		}
		found++;
	}
	igd_printf(args, "</p:PortMappingList>]]></NewPortListing>");
	return found ? IGD_E_NONE : IGD_E_730;
}

/* ---- the connection ---- */

/* With no WAN address (shared uplink mode: the kernel has none, a lease
 * lost) the connection is down: ExternalIPAddress is the empty string and
 * ConnectionStatus Disconnected (WANIPConnection:2 2.2.20, 2.2.4), so that
 * a control point does not publish 0.0.0.0 as its address. */
static enum igd_error external_address(struct igd_soap_ctx *ctx, struct igd_buf *args)
{
	char ip[INET_ADDRSTRLEN];
	uint32_t wan = portmap_wan_addr(ctx->pm);

	igd_printf(args, "<NewExternalIPAddress>%s</NewExternalIPAddress>",
		   wan ? ip_text(wan, ip) : "");
	return IGD_E_NONE;
}

static enum igd_error status_info(struct igd_soap_ctx *ctx, struct igd_buf *args)
{
	bool up = portmap_wan_addr(ctx->pm) != 0;

	igd_printf(args,
		   "<NewConnectionStatus>%s</NewConnectionStatus>"
		   "<NewLastConnectionError>ERROR_NONE</NewLastConnectionError>"
		   "<NewUptime>%llu</NewUptime>",
		   up ? "Connected" : "Disconnected",
		   (unsigned long long)(up ? (ctx->now_ms - ctx->start_ms) / 1000 : 0));
	return IGD_E_NONE;
}

static enum igd_error connection_type(struct igd_buf *args)
{
	igd_printf(args, "<NewConnectionType>IP_Routed</NewConnectionType>"
			 "<NewPossibleConnectionTypes>IP_Routed</NewPossibleConnectionTypes>");
	return IGD_E_NONE;
}

/* The link's rates are not ours to know: 0 is "unknown" to every client. */
static enum igd_error link_properties(struct igd_buf *args)
{
	igd_printf(args, "<NewWANAccessType>Ethernet</NewWANAccessType>"
			 "<NewLayer1UpstreamMaxBitRate>0</NewLayer1UpstreamMaxBitRate>"
			 "<NewLayer1DownstreamMaxBitRate>0</NewLayer1DownstreamMaxBitRate>"
			 "<NewPhysicalLinkStatus>Up</NewPhysicalLinkStatus>");
	return IGD_E_NONE;
}

enum igd_error igd_action_run(struct igd_soap_ctx *ctx, enum igd_action a,
			      const struct soap_call *c, uint32_t requester, struct igd_buf *args)
{
	switch (a) {
	case IGD_ACT_GetExternalIPAddress:
		return external_address(ctx, args);
	case IGD_ACT_AddPortMapping:
		return add_mapping(ctx, c, requester, false, args);
	case IGD_ACT_AddAnyPortMapping:
		return add_mapping(ctx, c, requester, true, args);
	case IGD_ACT_DeletePortMapping:
		return delete_mapping(ctx, c, requester);
	case IGD_ACT_DeletePortMappingRange:
		return delete_range(ctx, c, requester);
	case IGD_ACT_GetSpecificPortMappingEntry:
		return specific_entry(ctx, c, args);
	case IGD_ACT_GetGenericPortMappingEntry:
		return generic_entry(ctx, c, args);
	case IGD_ACT_GetListOfPortMappings:
		return list_mappings(ctx, c, args);
	case IGD_ACT_GetStatusInfo:
		return status_info(ctx, args);
	case IGD_ACT_GetConnectionTypeInfo:
		return connection_type(args);
	case IGD_ACT_GetCommonLinkProperties:
		return link_properties(args);
	case IGD_ACT_COUNT:
		break;
	}
	return IGD_E_401;
}
