/* pcp_wire.h - PCP messages (RFC 6887), decoded and built; pure functions
 * on byte buffers, no state (the server is pm_server.c).
 *
 * Every message: a 24-byte header, opcode-specific data, options (each
 * code(1) reserved(1) length(2) data padded to 4, 7.3). Requests: version
 * 2, R=0|opcode, reserved(2), requested lifetime(4), client address(16,
 * IPv4-mapped). Responses: version 2, R=1|opcode, reserved(1), result(1),
 * lifetime(4), epoch(4), reserved(12).
 *   MAP  (11.1): nonce(12) protocol(1) reserved(3) internal port(2)
 *                suggested/assigned external port(2) external address(16)
 *   PEER (12.1): MAP's fields, then remote peer port(2) reserved(2)
 *                remote peer address(16)
 *   ANNOUNCE (14.1): no data.
 */
#ifndef RSSNAT_PCP_WIRE_H
#define RSSNAT_PCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	PCP_VERSION = 2,
	PCP_HDR_LEN = 24,
	PCP_MAP_LEN = 36,
	PCP_PEER_LEN = 56,
	PCP_MSG_MAX = 1100, /* 7: messages are at most 1100 bytes */
	PCP_R_BIT = 0x80,
	PCP_OP_ANNOUNCE = 0,
	PCP_OP_MAP = 1,
	PCP_OP_PEER = 2,
	PCP_OPT_THIRD_PARTY = 1,
	PCP_OPT_PREFER_FAILURE = 2,
	PCP_OPT_FILTER = 3,
	PCP_CLIENT_PORT = 5350,	  /* unsolicited ANNOUNCE to 224.0.0.1:5350 (14.1.3) */
	PCP_LIFE_LONG_ERR = 1800, /* 7.4: how long an error holds, long and short */
	PCP_LIFE_SHORT_ERR = 30,
};

/* RFC 6887 7.4 */
#define PCP_RESULTS(X)                                                                             \
	X(SUCCESS, 0)                                                                              \
	X(UNSUPP_VERSION, 1)                                                                       \
	X(NOT_AUTHORIZED, 2)                                                                       \
	X(MALFORMED_REQUEST, 3)                                                                    \
	X(UNSUPP_OPCODE, 4)                                                                        \
	X(UNSUPP_OPTION, 5)                                                                        \
	X(MALFORMED_OPTION, 6)                                                                     \
	X(NETWORK_FAILURE, 7)                                                                      \
	X(NO_RESOURCES, 8)                                                                         \
	X(UNSUPP_PROTOCOL, 9)                                                                      \
	X(USER_EX_QUOTA, 10)                                                                       \
	X(CANNOT_PROVIDE_EXTERNAL, 11)                                                             \
	X(ADDRESS_MISMATCH, 12)                                                                    \
	X(EXCESSIVE_REMOTE_PEERS, 13)

enum pcp_result {
#define PCP_RESULT_ENUM(name, code) PCP_##name = code,
	PCP_RESULTS(PCP_RESULT_ENUM)
#undef PCP_RESULT_ENUM
	    PCP_RESULT_COUNT
};

struct pcp_request {
	uint8_t opcode;
	uint32_t lifetime;
	uint8_t client_ip[16];
	/* MAP and PEER */
	uint8_t nonce[12];
	uint8_t proto;
	uint16_t int_port, ext_port; /* host order */
	uint8_t ext_ip[16];
	/* PEER */
	uint16_t peer_port;
	uint8_t peer_ip[16];
	/* options */
	bool third_party, prefer_failure, filter;
	/* Bytes of opcode data decoded (copied into error responses). */
	size_t data_len;
};

/* pcp_parse() - decode @buf. Returns -1 for a message that gets no answer
 * at all (shorter than 4 bytes, or a response: 8.3), else the result code
 * to answer with (PCP_SUCCESS: a request to serve). On an error, *rq holds
 * what was decoded before it (opcode, and the data if it was whole). */
int pcp_parse(const uint8_t *buf, size_t len, struct pcp_request *rq);

/* pcp_build_response() - the response to @rq: @result, @lifetime, @epoch;
 * for MAP and PEER the request's data with the assigned @ext_port and
 * @ext_ip (16 bytes, IPv4-mapped); for an error before the data was whole,
 * the header alone. Returns the length, or 0 if @cap is too small. */
size_t pcp_build_response(uint8_t *out, size_t cap, const struct pcp_request *rq, uint8_t result,
			  uint32_t lifetime, uint32_t epoch, uint16_t ext_port,
			  const uint8_t ext_ip[16]);

/* pcp_build_announce() - an unsolicited ANNOUNCE response (14.1.3). */
size_t pcp_build_announce(uint8_t *out, size_t cap, uint32_t epoch);

/* pcp_v4_mapped() / pcp_v4_of() - ::ffff:a.b.c.d and back (false if @ip is
 * not IPv4-mapped); addresses in network order. */
void pcp_v4_mapped(uint8_t ip[16], uint32_t addr);
bool pcp_v4_of(const uint8_t ip[16], uint32_t *addr);
bool pcp_ip_is_zero(const uint8_t ip[16]); /* :: or ::ffff:0.0.0.0 (11.1: no suggestion) */
const char *pcp_result_name(int result);

#endif
