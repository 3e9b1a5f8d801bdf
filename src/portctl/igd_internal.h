/* igd_internal.h - what the files of the UPnP IGD share: the server's
 * state (igd.c), SOAP control (igd_soap.c, igd_actions.c), descriptions
 * (igd_desc.c) and SSDP (igd_ssdp.c). */
#ifndef RSSNAT_IGD_INTERNAL_H
#define RSSNAT_IGD_INTERNAL_H

#include "http_req.h"
#include "igd.h"
#include "soap.h"
#include "ssdp.h"

#include <stddef.h>

/* The actions of WANIPConnection:2 (and :1, without the v2 ones) and the
 * one of WANCommonInterfaceConfig:1 a control point needs. */
#define IGD_ACTIONS(X)                                                                             \
	X(GetExternalIPAddress, IGD_SVC_IPCONN, 1)                                                 \
	X(AddPortMapping, IGD_SVC_IPCONN, 1)                                                       \
	X(AddAnyPortMapping, IGD_SVC_IPCONN, 2)                                                    \
	X(DeletePortMapping, IGD_SVC_IPCONN, 1)                                                    \
	X(DeletePortMappingRange, IGD_SVC_IPCONN, 2)                                               \
	X(GetSpecificPortMappingEntry, IGD_SVC_IPCONN, 1)                                          \
	X(GetGenericPortMappingEntry, IGD_SVC_IPCONN, 1)                                           \
	X(GetListOfPortMappings, IGD_SVC_IPCONN, 2)                                                \
	X(GetStatusInfo, IGD_SVC_IPCONN, 1)                                                        \
	X(GetConnectionTypeInfo, IGD_SVC_IPCONN, 1)                                                \
	X(GetCommonLinkProperties, IGD_SVC_IFCFG, 1)

enum igd_service { IGD_SVC_IPCONN, IGD_SVC_IFCFG };

enum igd_action {
#define IGD_ACTION_ENUM(name, svc, version) IGD_ACT_##name,
	IGD_ACTIONS(IGD_ACTION_ENUM)
#undef IGD_ACTION_ENUM
	    IGD_ACT_COUNT
};

/* UPnP errors we answer (UDA 2.0 3.2.2; WANIPConnection:2 2.4). */
#define IGD_ERRORS(X)                                                                              \
	X(401, "Invalid Action")                                                                   \
	X(402, "Invalid Args")                                                                     \
	X(501, "Action Failed")                                                                    \
	X(606, "Action not authorized")                                                            \
	X(713, "SpecifiedArrayIndexInvalid")                                                       \
	X(714, "NoSuchEntryInArray")                                                               \
	X(716, "WildCardNotPermittedInExtPort")                                                    \
	X(718, "ConflictInMappingEntry")                                                           \
	X(724, "SamePortValuesRequired")                                                           \
	X(725, "OnlyPermanentLeasesSupported")                                                     \
	X(726, "RemoteHostOnlySupportsWildcard")                                                   \
	X(727, "ExternalPortOnlySupportsWildcard")                                                 \
	X(728, "NoPortMapsAvailable")                                                              \
	X(729, "ConflictWithOtherMechanisms")                                                      \
	X(730, "PortMappingNotFound")                                                              \
	X(732, "WildCardNotPermittedInIntPort")                                                    \
	X(733, "InconsistentParameters")

enum igd_error {
	IGD_E_NONE = 0,
#define IGD_ERROR_ENUM(code, text) IGD_E_##code,
	IGD_ERRORS(IGD_ERROR_ENUM)
#undef IGD_ERROR_ENUM
	    IGD_E_COUNT
};

int igd_error_code(enum igd_error e);
const char *igd_error_text(enum igd_error e);

/* Counters (control thread only), printed by igd_write_stats(). */
#define IGD_COUNTERS(X)                                                                            \
	X(http_accepted, "HTTP connections accepted from the LAN")                                 \
	X(http_not_lan, "HTTP connections from outside the LAN or interface: closed")              \
	X(http_clients_full, "HTTP connections over IGD_CLIENTS_MAX: closed at once")              \
	X(http_timeouts, "HTTP connections past their deadline: closed")                           \
	X(http_truncated, "HTTP connections closed by the client before a whole request")          \
	X(http_not_found, "requests for a path we do not serve (404)")                             \
	X(descriptions, "description documents served")                                            \
	X(http_bad_host, "requests whose Host is not the LAN address (DNS rebinding): 403")        \
	X(soap_no_soapaction, "POSTs without a SOAPAction header (a browser's form post?): 400")   \
	X(soap_requests, "SOAP control requests")                                                  \
	X(ssdp_searches, "M-SEARCH datagrams answered")                                            \
	X(ssdp_answers, "SSDP answers sent")                                                       \
	X(ssdp_notify, "NOTIFY datagrams sent")                                                    \
	X(ssdp_send_failed, "SSDP datagrams the kernel did not take")

struct igd_counters {
#define IGD_COUNTER_FIELD(name, text) uint64_t name;
	IGD_COUNTERS(IGD_COUNTER_FIELD)
#undef IGD_COUNTER_FIELD
	uint64_t http_refused[HTTP_REFUSAL_COUNT];
	uint64_t soap_malformed[SOAP_ERR_COUNT];
	uint64_t actions[IGD_ACT_COUNT];
	uint64_t errors[IGD_E_COUNT];
	uint64_t ssdp_drops[SSDP_DROP_COUNT];
};

/* A bounded text builder: appends until full, then remembers it was. */
struct igd_buf {
	char *p;
	size_t size, len;
	bool full;
};

void igd_printf(struct igd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void igd_escaped(struct igd_buf *b, const char *text);

/* igd_host_ok() - is Host header @host the gateway's own address
 * (@addr, network order, optionally with a port)? Anything else may be a
 * name rebound to us by a web page (DNS rebinding): not served. */
bool igd_host_ok(const char *host, uint32_t addr);

/* What igd_soap_control() needs of the server. */
struct igd_soap_ctx {
	struct portmap *pm;
	uint64_t now_ms, start_ms;
	struct igd_counters *cnt;
};

/* igd_soap_control() - answer SOAP request @r (body in @buf) from LAN host
 * @requester posted to @path: a whole HTTP response into @out. */
void igd_soap_control(struct igd_soap_ctx *ctx, const struct http_req *r, const char *buf,
		      uint32_t requester, struct igd_buf *out);

/* igd_http_error() - a bare HTTP error response (no SOAP body). */
void igd_http_error(struct igd_buf *out, int status);
const char *igd_action_name(enum igd_action a);

/* igd_action_run() - action @a with its arguments @c: the response's
 * arguments into @args, or an error (igd_actions.c). */
enum igd_error igd_action_run(struct igd_soap_ctx *ctx, enum igd_action a,
			      const struct soap_call *c, uint32_t requester, struct igd_buf *args);

/* igd_describe() - the document at @path (root description or SCPD) into
 * @out as a whole HTTP response; false if there is none there. */
bool igd_describe(const struct ssdp_device *dev, const char *path, struct igd_buf *out);

#endif
