/* fuzz_pcp.c - libFuzzer harness for PCP (RFC 6887): pcp_parse() on an
 * exact heap copy of any bytes (ASan sees a read past the end); a request
 * it accepts or answers with an error gets a response of the same opcode and result, within
 * 1100 bytes; then the bytes go to the server as a datagram from a LAN
 * host (the last byte picks which one, the gateway and a WAN address among
 * them), through the MAP/PEER/ANNOUNCE
 * handlers and the port mapping service. Answers stay within 1100 bytes. */
#include "../src/portctl/pcp_wire.h"
#include "fuzz_portctl.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void check_response(const uint8_t *out, size_t len, const struct pcp_request *rq, int code)
{
	if (len < PCP_HDR_LEN || len > PCP_MSG_MAX || len % 4)
		abort();
	if (out[0] != PCP_VERSION || out[1] != (PCP_R_BIT | rq->opcode) || out[3] != code)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pcp_request rq;
	uint8_t out[PCP_MSG_MAX + 4], ip[16];
	uint8_t *copy = malloc(n ? n : 1);
	uint64_t now = 0;

	memcpy(copy, d, n);
	int code = pcp_parse(copy, n, &rq);
	if (code >= 0) {
		pcp_v4_mapped(ip, htonl(0xc6336402));
		size_t len =
		    pcp_build_response(out, sizeof(out), &rq, (uint8_t)code, 30, 7, 1234, ip);
		check_response(out, len, &rq, code);
	}
	if (n) {
		/* A LAN host, the gateway, or an outsider, by the last byte
		 * (the first is the version); the clock by it too. */
		static const uint32_t srcs[] = {0xc0a8890a, 0xc0a8890b, 0xc0a88901, 0xcb007105};
		uint32_t src = htonl(srcs[d[n - 1] & 3]);
		now += (uint64_t)(d[n - 1] >> 2) * 1000;
		size_t len =
		    pm_server_handle(fuzz_portctl_server(), src, copy, n, now, out, sizeof(out));
		if (len > PCP_MSG_MAX)
			abort();
	}
	free(copy);
	return 0;
}
