/* fuzz_natpmp.c - libFuzzer harness for NAT-PMP (RFC 6886): natpmp_parse()
 * on an exact heap copy of any bytes; whatever it accepts is answered with
 * a response of the right size and opcode; then the bytes (version byte
 * forced to 0, so NAT-PMP's handlers run) go to the server as a datagram
 * from a LAN host: map, renew, delete, delete-all through the port mapping
 * service. Answers are never longer than a map response. */
#include "../src/portctl/natpmp_wire.h"
#include "fuzz_portctl.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct natpmp_request rq;
	uint8_t out[64];
	uint8_t *copy = malloc(n ? n : 1);
	size_t len = 0;

	memcpy(copy, d, n);
	switch (natpmp_parse(copy, n, &rq)) {
	case NATPMP_PARSE_OK:
		len = rq.opcode == NATPMP_OP_ADDR
			  ? natpmp_build_addr(out, sizeof(out), 0, 1, htonl(0xc6336402))
			  : natpmp_build_map(out, sizeof(out), rq.opcode, 0, 1, rq.int_port,
					     rq.ext_port, rq.lifetime);
		if (len != (rq.opcode ? NATPMP_MAP_RESP_LEN : NATPMP_ADDR_RESP_LEN) ||
		    out[1] != (NATPMP_OP_RESPONSE | rq.opcode))
			abort();
		break;
	case NATPMP_PARSE_BAD_VERSION:
	case NATPMP_PARSE_BAD_OPCODE:
		if (natpmp_build_error(out, sizeof(out), rq.opcode, 1, 1) != NATPMP_ERROR_RESP_LEN)
			abort();
		break;
	default:
		break;
	}
	if (n) {
		copy[0] = NATPMP_VERSION;
		len = pm_server_handle(fuzz_portctl_server(), htonl(0xc0a8890a), copy, n,
				       (uint64_t)n * 1000, out, sizeof(out));
		if (len > NATPMP_MAP_RESP_LEN)
			abort();
	}
	free(copy);
	return 0;
}
