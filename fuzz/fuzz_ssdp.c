/* fuzz_ssdp.c - libFuzzer harness for the SSDP M-SEARCH parser of the UPnP
 * IGD (src/portctl/ssdp.c): any datagram, from an exact heap copy (ASan
 * sees any read past the end); a search is matched against every
 * advertisement and answered as the server does. Asserts that the search
 * target is printable and bounded, every answer fits SSDP_MSG_MAX and
 * carries the target it matched. */
#include "../src/pkt/pkt.h"
#include "../src/portctl/ssdp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	char *copy = malloc(n ? n : 1), st[SSDP_ST_MAX], msg[SSDP_MSG_MAX];
	struct ssdp_device dev;
	struct ssdp_search s;

	if (!copy)
		return 0;
	memcpy(copy, d, n);
	ssdp_device_init(&dev, mac, pkt_ipv4(192, 168, 137, 1), 5000, 1);
	if (ssdp_parse_search(copy, n, &s) == SSDP_DROP_NONE) {
		size_t len = strlen(s.st);
		if (!len || len >= SSDP_ST_MAX)
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s.st[i] < 0x21 || (unsigned char)s.st[i] > 0x7e)
				abort();
		for (unsigned i = 0; i < SSDP_ADS; i++) {
			if (!ssdp_match(&dev, i, s.st, st, sizeof(st)))
				continue;
			size_t m = ssdp_response(&dev, i, st, msg, sizeof(msg));
			if (!m || m >= sizeof(msg) || !strstr(msg, st))
				abort();
		}
	}
	free(copy);
	return 0;
}
