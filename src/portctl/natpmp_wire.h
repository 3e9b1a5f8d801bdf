/* natpmp_wire.h - NAT-PMP messages (RFC 6886), decoded and built; pure
 * functions on byte buffers, no state (the server is pm_server.c).
 *
 * Requests (client -> 5351): version 0, opcode, then
 *   opcode 0 (public address): nothing;
 *   opcode 1 (UDP) / 2 (TCP) map: reserved(2) internal port(2) suggested
 *   external port(2) requested lifetime(4): 12 bytes in all.
 * Responses: version 0, opcode 128 + request opcode, result(2), seconds
 * since start of epoch(4), then the public address(4) (opcode 128) or
 * internal port(2) mapped external port(2) lifetime(4) (129, 130).
 */
#ifndef RSSNAT_NATPMP_WIRE_H
#define RSSNAT_NATPMP_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum {
	NATPMP_VERSION = 0,
	NATPMP_OP_ADDR = 0,
	NATPMP_OP_MAP_UDP = 1,
	NATPMP_OP_MAP_TCP = 2,
	NATPMP_OP_RESPONSE = 128,
	NATPMP_ADDR_REQ_LEN = 2,
	NATPMP_MAP_REQ_LEN = 12,
	NATPMP_ADDR_RESP_LEN = 12,
	NATPMP_MAP_RESP_LEN = 16,
	NATPMP_ERROR_RESP_LEN = 8,
	NATPMP_CLIENT_PORT = 5350, /* announcements go to 224.0.0.1:5350 (3.2.1) */
};

/* RFC 6886 3.5 result codes */
enum natpmp_result {
	NATPMP_SUCCESS = 0,
	NATPMP_UNSUPP_VERSION = 1,
	NATPMP_NOT_AUTHORIZED = 2, /* "Not Authorized/Refused" */
	NATPMP_NETWORK_FAILURE = 3,
	NATPMP_NO_RESOURCES = 4,
	NATPMP_UNSUPP_OPCODE = 5,
};

/* What natpmp_parse() found: a request to answer (NATPMP_PARSE_OK, or an
 * error to answer with natpmp_build_error()), or something to drop. */
enum natpmp_parse {
	NATPMP_PARSE_OK,
	NATPMP_PARSE_BAD_VERSION, /* answer UNSUPP_VERSION */
	NATPMP_PARSE_BAD_OPCODE,  /* answer UNSUPP_OPCODE */
	NATPMP_PARSE_TRUNCATED,	  /* drop: shorter than its opcode needs */
	NATPMP_PARSE_RESPONSE,	  /* drop: a response (3.6: never answered) */
};

struct natpmp_request {
	uint8_t opcode;
	uint16_t int_port, ext_port; /* host order */
	uint32_t lifetime;
};

enum natpmp_parse natpmp_parse(const uint8_t *buf, size_t len, struct natpmp_request *rq);

/* The builders return the length written, or 0 if @cap is too small. */
size_t natpmp_build_addr(uint8_t *out, size_t cap, uint16_t result, uint32_t epoch,
			 uint32_t addr /* network order */);
size_t natpmp_build_map(uint8_t *out, size_t cap, uint8_t opcode, uint16_t result, uint32_t epoch,
			uint16_t int_port, uint16_t ext_port, uint32_t lifetime);
/* An error with no body: UNSUPP_VERSION or UNSUPP_OPCODE for @opcode. */
size_t natpmp_build_error(uint8_t *out, size_t cap, uint8_t opcode, uint16_t result,
			  uint32_t epoch);

#endif
