/* pcp_wire.c - PCP wire format (RFC 6887 7, 11, 12, 13, 14); see
 * pcp_wire.h. Every length comes from the datagram's size, checked before
 * any read; options are walked with their lengths bounded by the message. */
#include "pcp_wire.h"

#include <string.h>

#include "../pkt/wire.h"

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void pcp_v4_mapped(uint8_t ip[16], uint32_t addr)
{
	memcpy(ip, v4_prefix, 12);
	memcpy(ip + 12, &addr, 4);
}

bool pcp_v4_of(const uint8_t ip[16], uint32_t *addr)
{
	if (memcmp(ip, v4_prefix, 12))
		return false;
	memcpy(addr, ip + 12, 4);
	return true;
}

bool pcp_ip_is_zero(const uint8_t ip[16])
{
	static const uint8_t zero[16];
	uint32_t a;

	return !memcmp(ip, zero, 16) || (pcp_v4_of(ip, &a) && !a);
}

const char *pcp_result_name(int result)
{
	switch (result) {
#define PCP_RESULT_CASE(name, code)                                                                \
	case code:                                                                                 \
		return #name;
		PCP_RESULTS(PCP_RESULT_CASE)
#undef PCP_RESULT_CASE
	}
	return "UNKNOWN";
}

/* Options (7.3, 13): THIRD_PARTY, PREFER_FAILURE (MAP only) and FILTER
 * (MAP only) are known; another mandatory one (code < 128) is
 * UNSUPP_OPTION, an optional one is skipped. */
static int parse_options(const uint8_t *p, size_t len, struct pcp_request *rq)
{
	while (len) {
		if (len < 4)
			return PCP_MALFORMED_OPTION;
		uint8_t code = p[0];
		size_t olen = wire_get16(p + 2), padded = (olen + 3) & ~(size_t)3;
		if (padded > len - 4)
			return PCP_MALFORMED_OPTION;
		if (code == PCP_OPT_THIRD_PARTY) {
			if (olen != 16 || rq->third_party)
				return PCP_MALFORMED_OPTION;
			rq->third_party = true;
		} else if (code == PCP_OPT_PREFER_FAILURE && rq->opcode == PCP_OP_MAP) {
			if (olen != 0)
				return PCP_MALFORMED_OPTION;
			rq->prefer_failure = true;
		} else if (code == PCP_OPT_FILTER && rq->opcode == PCP_OP_MAP) {
			if (olen != 20)
				return PCP_MALFORMED_OPTION;
			rq->filter = true;
		} else if (code < 128)
			return PCP_UNSUPP_OPTION;
		p += 4 + padded;
		len -= 4 + padded;
	}
	return PCP_SUCCESS;
}

static void parse_map_data(const uint8_t *d, struct pcp_request *rq)
{
	memcpy(rq->nonce, d, 12);
	rq->proto = d[12];
	rq->int_port = wire_get16(d + 16);
	rq->ext_port = wire_get16(d + 18);
	memcpy(rq->ext_ip, d + 20, 16);
}

int pcp_parse(const uint8_t *buf, size_t len, struct pcp_request *rq)
{
	size_t need;

	memset(rq, 0, sizeof(*rq));
	if (len < 4 || (buf[1] & PCP_R_BIT))
		return -1; /* 8.3: too short to answer, or a response */
	rq->opcode = buf[1] & 0x7f;
	if (buf[0] != PCP_VERSION)
		return PCP_UNSUPP_VERSION;
	if (len < PCP_HDR_LEN || len > PCP_MSG_MAX || len % 4)
		return PCP_MALFORMED_REQUEST;
	rq->lifetime = wire_get32(buf + 4);
	memcpy(rq->client_ip, buf + 8, 16);
	switch (rq->opcode) {
	case PCP_OP_ANNOUNCE:
		need = 0;
		break;
	case PCP_OP_MAP:
		need = PCP_MAP_LEN;
		break;
	case PCP_OP_PEER:
		need = PCP_PEER_LEN;
		break;
	default:
		return PCP_UNSUPP_OPCODE;
	}
	if (len - PCP_HDR_LEN < need)
		return PCP_MALFORMED_REQUEST;
	if (need) {
		parse_map_data(buf + PCP_HDR_LEN, rq);
		rq->data_len = need;
	}
	if (rq->opcode == PCP_OP_PEER) {
		rq->peer_port = wire_get16(buf + PCP_HDR_LEN + 36);
		memcpy(rq->peer_ip, buf + PCP_HDR_LEN + 40, 16);
	}
	return parse_options(buf + PCP_HDR_LEN + need, len - PCP_HDR_LEN - need, rq);
}

static void response_header(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t lifetime,
			    uint32_t epoch)
{
	memset(out, 0, PCP_HDR_LEN);
	out[0] = PCP_VERSION;
	out[1] = (uint8_t)(PCP_R_BIT | opcode);
	out[3] = result;
	wire_put32(out + 4, lifetime);
	wire_put32(out + 8, epoch);
}

size_t pcp_build_response(uint8_t *out, size_t cap, const struct pcp_request *rq, uint8_t result,
			  uint32_t lifetime, uint32_t epoch, uint16_t ext_port,
			  const uint8_t ext_ip[16])
{
	size_t len = PCP_HDR_LEN + rq->data_len;
	uint8_t *d = out + PCP_HDR_LEN;

	if (cap < len)
		return 0;
	response_header(out, rq->opcode, result, lifetime, epoch);
	if (!rq->data_len)
		return len;
	memset(d, 0, rq->data_len);
	memcpy(d, rq->nonce, 12);
	d[12] = rq->proto;
	wire_put16(d + 16, rq->int_port);
	wire_put16(d + 18, ext_port);
	memcpy(d + 20, ext_ip, 16);
	if (rq->opcode == PCP_OP_PEER) {
		wire_put16(d + 36, rq->peer_port);
		memcpy(d + 40, rq->peer_ip, 16);
	}
	return len;
}

size_t pcp_build_announce(uint8_t *out, size_t cap, uint32_t epoch)
{
	if (cap < PCP_HDR_LEN)
		return 0;
	response_header(out, PCP_OP_ANNOUNCE, PCP_SUCCESS, 0, epoch);
	return PCP_HDR_LEN;
}
