/* pm_handlers.c - what NAT-PMP and PCP requests mean for the port mapping
 * service: each decoded request becomes portmap_add()/portmap_delete() and
 * its answer (theory of operation in pm_server.h). */
#include <string.h>

#include "../nat/nat.h"
#include "natpmp_wire.h"
#include "pcp_wire.h"
#include "pm_server_internal.h"
#include "portmap.h"

/* ---- NAT-PMP (RFC 6886) ---- */

static uint16_t natpmp_code(int r)
{
	switch (r) {
	case PM_OK:
		return NATPMP_SUCCESS;
	case PM_NO_RESOURCES:
	case PM_CONFLICT:
		return NATPMP_NO_RESOURCES;
	case PM_NO_WAN_ADDR:
		return NATPMP_NETWORK_FAILURE; /* 3.5: "has not obtained a DHCP lease" */
	default:
		return NATPMP_NOT_AUTHORIZED; /* "Not Authorized/Refused" */
	}
}

/* 3.4: lifetime 0 deletes; internal port 0 with it, all of the client's
 * mappings of that protocol. The answer says external port 0, lifetime 0. */
static uint16_t natpmp_delete(struct pm_server *s, uint8_t proto, uint32_t src, uint16_t int_port)
{
	struct pm_entry e;

	if (int_port) {
		if (portmap_find_internal(s->pm, proto, src, int_port, &e) == PM_OK)
			return natpmp_code(
			    portmap_delete(s->pm, proto, e.ext_port, src, PM_NATPMP));
		return NATPMP_SUCCESS; /* nothing to delete is success */
	}
	for (unsigned i = 0; portmap_get(s->pm, i, &e) == PM_OK;) {
		if (e.origin != PM_STATIC && e.int_addr == src && e.proto == proto &&
		    e.origin == PM_NATPMP)
			(void)portmap_delete(s->pm, proto, e.ext_port, src, PM_NATPMP);
		else
			i++;
	}
	return NATPMP_SUCCESS;
}

static size_t natpmp_map(struct pm_server *s, const struct natpmp_request *q, uint32_t src,
			 uint64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t proto = q->opcode == NATPMP_OP_MAP_UDP ? 17 : 6;
	uint32_t epoch = pm_server_epoch(s, now_ms);
	struct pm_request rq = {.proto = proto,
				.requester = src,
				.int_addr = src,
				.int_port = q->int_port,
				.ext_port = q->ext_port,
				.lifetime_s = q->lifetime,
				.origin = PM_NATPMP};
	struct pm_entry e;
	uint16_t code;

	if (!q->lifetime) {
		code = natpmp_delete(s, proto, src, q->int_port);
		return pms_natpmp_answer(
		    s, code, natpmp_build_map(out, cap, q->opcode, code, epoch, q->int_port, 0, 0));
	}
	snprintf(rq.desc, sizeof(rq.desc), "NAT-PMP %s %u", proto == 6 ? "tcp" : "udp",
		 q->int_port);
	code = natpmp_code(portmap_add(s->pm, &rq, now_ms, &e));
	if (code != NATPMP_SUCCESS)
		e = (struct pm_entry){0};
	return pms_natpmp_answer(s, code,
				 natpmp_build_map(out, cap, q->opcode, code, epoch, q->int_port,
						  e.ext_port,
						  code == NATPMP_SUCCESS ? e.lifetime_s : 0));
}

size_t pms_natpmp(struct pm_server *s, uint32_t src, const uint8_t *buf, size_t len,
		  uint64_t now_ms, uint8_t *out, size_t cap)
{
	uint32_t epoch = pm_server_epoch(s, now_ms), wan = portmap_wan_addr(s->pm);
	struct natpmp_request q;
	uint16_t code;

	switch (natpmp_parse(buf, len, &q)) {
	case NATPMP_PARSE_TRUNCATED:
		return pms_drop(s, PMS_DROP_TRUNCATED);
	case NATPMP_PARSE_RESPONSE:
		return pms_drop(s, PMS_DROP_RESPONSE);
	case NATPMP_PARSE_BAD_VERSION:
		return pms_natpmp_answer(
		    s, NATPMP_UNSUPP_VERSION,
		    natpmp_build_error(out, cap, q.opcode, NATPMP_UNSUPP_VERSION, epoch));
	case NATPMP_PARSE_BAD_OPCODE:
		return pms_natpmp_answer(
		    s, NATPMP_UNSUPP_OPCODE,
		    natpmp_build_error(out, cap, q.opcode, NATPMP_UNSUPP_OPCODE, epoch));
	case NATPMP_PARSE_OK:
		break;
	}
	if (q.opcode != NATPMP_OP_ADDR)
		return natpmp_map(s, &q, src, now_ms, out, cap);
	code = wan ? NATPMP_SUCCESS : NATPMP_NETWORK_FAILURE; /* 3.2: no address yet */
	return pms_natpmp_answer(s, code, natpmp_build_addr(out, cap, code, epoch, wan));
}

/* ---- PCP (RFC 6887) ---- */

/* 7.4: how long an error holds. */
static uint32_t error_life(int code)
{
	switch (code) {
	case PCP_NETWORK_FAILURE:
	case PCP_NO_RESOURCES:
	case PCP_USER_EX_QUOTA:
	case PCP_CANNOT_PROVIDE_EXTERNAL:
	case PCP_EXCESSIVE_REMOTE_PEERS:
		return PCP_LIFE_SHORT_ERR;
	default:
		return PCP_LIFE_LONG_ERR;
	}
}

static size_t pcp_answer(struct pm_server *s, const struct pcp_request *q, int code, uint32_t life,
			 uint16_t ext_port, uint64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t ext_ip[16];

	pcp_v4_mapped(ext_ip, code == PCP_SUCCESS ? portmap_wan_addr(s->pm) : 0);
	if (code != PCP_SUCCESS) {
		life = error_life(code);
		if (q->data_len) /* 7.2: the request's own suggestion echoed */
			memcpy(ext_ip, q->ext_ip, 16);
		ext_port = code == PCP_SUCCESS ? ext_port : q->ext_port;
	}
	return pms_pcp_answer(s, code,
			      pcp_build_response(out, cap, q, (uint8_t)code, life,
						 pm_server_epoch(s, now_ms), ext_port, ext_ip));
}

static int pcp_code(int r, bool prefer_failure)
{
	switch (r) {
	case PM_OK:
		return PCP_SUCCESS;
	case PM_NO_RESOURCES:
		return PCP_NO_RESOURCES;
	case PM_CONFLICT:
		return PCP_CANNOT_PROVIDE_EXTERNAL;
	case PM_NO_WAN_ADDR:
		return PCP_NETWORK_FAILURE; /* 7.4: no external address yet */
	case PM_BAD_PORT:
		return prefer_failure ? PCP_CANNOT_PROVIDE_EXTERNAL : PCP_NOT_AUTHORIZED;
	default:
		return PCP_NOT_AUTHORIZED;
	}
}

/* 11.1 / 15: lifetime 0 deletes, if the nonce proves the client made it;
 * deleting what does not exist is success. */
static int pcp_delete(struct pm_server *s, const struct pcp_request *q, uint32_t src,
		      uint16_t *ext_port)
{
	struct pm_entry e;

	*ext_port = 0;
	if (portmap_find_internal(s->pm, q->proto, src, q->int_port, &e) != PM_OK)
		return PCP_SUCCESS;
	if (e.origin != PM_PCP || memcmp(e.nonce, q->nonce, sizeof(e.nonce)))
		return PCP_NOT_AUTHORIZED; /* 11.5: another nonce, another client */
	*ext_port = e.ext_port;
	return pcp_code(portmap_delete(s->pm, q->proto, e.ext_port, src, PM_PCP), false);
}

static size_t pcp_map(struct pm_server *s, const struct pcp_request *q, uint32_t src,
		      uint64_t now_ms, uint8_t *out, size_t cap)
{
	struct pm_request rq = {.proto = q->proto,
				.requester = src,
				.int_addr = src,
				.int_port = q->int_port,
				.ext_port = q->ext_port,
				.ext_exact = q->prefer_failure,
				.lifetime_s = q->lifetime,
				.origin = PM_PCP};
	uint32_t want_ip;
	struct pm_entry e;
	uint16_t ext = 0;
	int code;

	if (q->proto != 6 && q->proto != 17)
		return pcp_answer(s, q, PCP_UNSUPP_PROTOCOL, 0, 0, now_ms, out, cap);
	if (!q->int_port) /* "all ports": not offered */
		return pcp_answer(s, q, PCP_MALFORMED_REQUEST, 0, 0, now_ms, out, cap);
	if (!q->lifetime) {
		code = pcp_delete(s, q, src, &ext);
		return pcp_answer(s, q, code, 0, ext, now_ms, out, cap);
	}
	if (q->prefer_failure && !pcp_ip_is_zero(q->ext_ip) &&
	    (!pcp_v4_of(q->ext_ip, &want_ip) || want_ip != portmap_wan_addr(s->pm)))
		return pcp_answer(s, q, PCP_CANNOT_PROVIDE_EXTERNAL, 0, 0, now_ms, out, cap);
	memcpy(rq.nonce, q->nonce, sizeof(rq.nonce));
	snprintf(rq.desc, sizeof(rq.desc), "PCP %s %u", q->proto == 6 ? "tcp" : "udp", q->int_port);
	code = pcp_code(portmap_add(s->pm, &rq, now_ms, &e), q->prefer_failure);
	return pcp_answer(s, q, code, e.lifetime_s, code == PCP_SUCCESS ? e.ext_port : 0, now_ms,
			  out, cap);
}

/* 12: PEER reports the external port of the internal endpoint's mapping
 * (an explicit one, or the one its own traffic made). The NAT creates
 * connection mappings from traffic only, so a PEER for an endpoint that
 * has none gets NO_RESOURCES (short error: the client retries once its
 * traffic flows). The lifetime is the NAT's idle timeout for it at most. */
static size_t pcp_peer(struct pm_server *s, const struct pcp_request *q, uint32_t src,
		       uint64_t now_ms, uint8_t *out, size_t cap)
{
	struct nat_mapping_info mi;
	struct nat_timeouts t;
	struct pm_entry e;
	uint32_t idle;

	if ((q->proto != 6 && q->proto != 17) || !q->int_port || !q->peer_port)
		return pcp_answer(s, q,
				  q->proto != 6 && q->proto != 17 ? PCP_UNSUPP_PROTOCOL
								  : PCP_MALFORMED_REQUEST,
				  0, 0, now_ms, out, cap);
	if (!q->lifetime)
		return pcp_answer(s, q, PCP_SUCCESS, 0, 0, now_ms, out, cap); /* nothing held */
	nat_get_timeouts(portmap_nat(s->pm), &t);
	idle = q->proto == 6 ? t.tcp_established : t.udp;
	if (portmap_find_internal(s->pm, q->proto, src, q->int_port, &e) == PM_OK)
		return pcp_answer(s, q, PCP_SUCCESS, q->lifetime < idle ? q->lifetime : idle,
				  e.ext_port, now_ms, out, cap);
	if (nat_find_mapping(portmap_nat(s->pm), q->proto, src, q->int_port, &mi))
		return pcp_answer(s, q, PCP_SUCCESS, q->lifetime < idle ? q->lifetime : idle,
				  mi.ext_port, now_ms, out, cap);
	return pcp_answer(s, q, PCP_NO_RESOURCES, 0, 0, now_ms, out, cap);
}

size_t pms_pcp(struct pm_server *s, uint32_t src, const uint8_t *buf, size_t len, uint64_t now_ms,
	       uint8_t *out, size_t cap)
{
	struct pcp_request q;
	uint32_t client;
	int code = pcp_parse(buf, len, &q);

	if (code < 0)
		return pms_drop(s, len < 4 ? PMS_DROP_TRUNCATED : PMS_DROP_RESPONSE);
	if (code == PCP_SUCCESS && (!pcp_v4_of(q.client_ip, &client) || client != src))
		code = PCP_ADDRESS_MISMATCH; /* 8.3: the client is behind another NAT */
	if (code == PCP_SUCCESS && q.third_party)
		code = PCP_NOT_AUTHORIZED; /* 13.1: a host maps only for itself */
	if (code == PCP_SUCCESS && q.filter)
		code = PCP_UNSUPP_OPTION; /* FILTER (13.3) is not offered */
	if (code != PCP_SUCCESS)
		return pcp_answer(s, &q, code, 0, 0, now_ms, out, cap);
	switch (q.opcode) {
	case PCP_OP_MAP:
		return pcp_map(s, &q, src, now_ms, out, cap);
	case PCP_OP_PEER:
		return pcp_peer(s, &q, src, now_ms, out, cap);
	default: /* 14.1: ANNOUNCE, answered with the epoch */
		return pcp_answer(s, &q, PCP_SUCCESS, 0, 0, now_ms, out, cap);
	}
}
