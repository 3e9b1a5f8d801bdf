/* natpmp_wire.c - NAT-PMP wire format (RFC 6886 3); see natpmp_wire.h. */
#include "natpmp_wire.h"

#include <string.h>

#include "../pkt/wire.h"

enum natpmp_parse natpmp_parse(const uint8_t *buf, size_t len, struct natpmp_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	if (len < 2)
		return NATPMP_PARSE_TRUNCATED;
	rq->opcode = buf[1];
	if (rq->opcode >= NATPMP_OP_RESPONSE)
		return NATPMP_PARSE_RESPONSE;
	if (buf[0] != NATPMP_VERSION)
		return NATPMP_PARSE_BAD_VERSION;
	if (rq->opcode == NATPMP_OP_ADDR)
		return NATPMP_PARSE_OK; /* 3.2: two bytes; more are ignored */
	if (rq->opcode != NATPMP_OP_MAP_UDP && rq->opcode != NATPMP_OP_MAP_TCP)
		return NATPMP_PARSE_BAD_OPCODE;
	if (len < NATPMP_MAP_REQ_LEN)
		return NATPMP_PARSE_TRUNCATED;
	rq->int_port = wire_get16(buf + 4);
	rq->ext_port = wire_get16(buf + 6);
	rq->lifetime = wire_get32(buf + 8);
	return NATPMP_PARSE_OK;
}

static void header(uint8_t *out, uint8_t opcode, uint16_t result, uint32_t epoch)
{
	out[0] = NATPMP_VERSION;
	out[1] = (uint8_t)(NATPMP_OP_RESPONSE | opcode);
	wire_put16(out + 2, result);
	wire_put32(out + 4, epoch);
}

size_t natpmp_build_addr(uint8_t *out, size_t cap, uint16_t result, uint32_t epoch, uint32_t addr)
{
	if (cap < NATPMP_ADDR_RESP_LEN)
		return 0;
	header(out, NATPMP_OP_ADDR, result, epoch);
	memcpy(out + 8, &addr, 4);
	return NATPMP_ADDR_RESP_LEN;
}

size_t natpmp_build_map(uint8_t *out, size_t cap, uint8_t opcode, uint16_t result, uint32_t epoch,
			uint16_t int_port, uint16_t ext_port, uint32_t lifetime)
{
	if (cap < NATPMP_MAP_RESP_LEN)
		return 0;
	header(out, opcode, result, epoch);
	wire_put16(out + 8, int_port);
	wire_put16(out + 10, ext_port);
	wire_put32(out + 12, lifetime);
	return NATPMP_MAP_RESP_LEN;
}

size_t natpmp_build_error(uint8_t *out, size_t cap, uint8_t opcode, uint16_t result, uint32_t epoch)
{
	if (cap < NATPMP_ERROR_RESP_LEN)
		return 0;
	header(out, (uint8_t)(opcode & 0x7f), result, epoch);
	return NATPMP_ERROR_RESP_LEN;
}
