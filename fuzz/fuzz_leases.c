/* fuzz_leases.c - libFuzzer harness for the DHCP server's lease file
 * (src/svc/dhcp_lease.c): the input is the file dhcp_create() loads, in a
 * private directory (on /dev/shm when there is one: the save fsyncs). A
 * file that does not parse must be set aside with a warning and the
 * server start empty, never fail; one that parses is written back, and
 * that must load again with no warning and list the same leases (what we
 * write, we read). The listing (`show dhcp`, text and JSON) and the local
 * zone's lookups run on what was loaded. Everything is made anew per input.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/pkt/pkt.h"
#include "../src/svc/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* A fixed "now", so that expiries compare the same way on every run:
 * 2023-11-14, as Unix milliseconds. */
static const uint64_t NOW_MS = 1700000000000ull;

static char dir[64];

static void remove_dir(void)
{
	if (dir[0])
		rmdir(dir);
}

/* Every file the loader and the saver made (FILE, FILE.tmp,
 * FILE.corrupt[-N]) goes, so the next input starts from nothing. */
static void empty_dir(void)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char path[sizeof(dir) + 256 + 2];

	if (!dp)
		return;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(dp);
}

static void config(struct dhcp_config *dc)
{
	dhcp_config_default(dc);
	dc->server_mac[0] = 0x02;
	dc->server_mac[5] = 0x01;
	dc->pool_first = pkt_ipv4(192, 168, 137, 2);
	dc->pool_last = pkt_ipv4(192, 168, 137, 99);
	/* one reservation inside the pool, one outside it */
	dc->n_reserved = 2;
	dc->reserved[0] =
	    (struct dhcp_reservation){{2, 0, 0, 0, 0x0a, 1}, pkt_ipv4(192, 168, 137, 5)};
	dc->reserved[1] =
	    (struct dhcp_reservation){{2, 0, 0, 0, 0x0a, 2}, pkt_ipv4(192, 168, 137, 200)};
	dc->probe_ms = 0;
	snprintf(dc->lease_file, sizeof(dc->lease_file), "%s/leases", dir);
}

/* Text of @s's listing, without its counters and drop lines (a second
 * load rightly counts nothing dropped). */
static char *lease_lines(struct dhcp_server *s, bool json)
{
	char *text = NULL, *in, *out;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	dhcp_write_leases(s, f, json, NOW_MS);
	fclose(f);
	for (in = out = text; *in;) {
		size_t n = strcspn(in, "\n") + (in[strcspn(in, "\n")] == '\n');
		if (strncmp(in, "counter ", 8) && strncmp(in, "drop ", 5)) {
			memmove(out, in, n);
			out += n;
		}
		in += n;
	}
	*out = '\0';
	return text;
}

/* The listing in text (its leases returned) and JSON, and the local
 * zone's lookups. */
static char *listing(struct dhcp_server *s)
{
	char host[64];
	uint32_t addr;

	free(lease_lines(s, true));
	(void)dhcp_lookup_name(s, "laptop", NOW_MS, &addr);
	for (unsigned i = 2; i < 8; i++)
		(void)dhcp_lookup_addr(s, pkt_ipv4(192, 168, 137, i), NOW_MS, host, sizeof(host));
	return lease_lines(s, false);
}

static struct dhcp_server *load(const struct dhcp_config *dc, char *warning, size_t wsize)
{
	struct dhcp_server *s;
	const char *why = "";

	if (dhcp_create(dc, NOW_MS, &s, &why, warning, wsize)) {
		fprintf(stderr, "fuzz_leases: dhcp_create failed: %s\n", why);
		abort();
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct dhcp_config dc;
	char warning[256], again[256], path[128], *first, *second;
	struct dhcp_server *s;
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/fuzz_leases.XXXXXX",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	config(&dc);
	snprintf(path, sizeof(path), "%s/leases", dir);
	if (!(f = fopen(path, "w")) || fwrite(d, 1, n, f) != n || fclose(f))
		abort();
	s = load(&dc, warning, sizeof(warning));
	first = listing(s);
	dhcp_destroy(s); /* writes the file back */
	s = load(&dc, again, sizeof(again));
	second = listing(s);
	dhcp_destroy(s);
	if (again[0] || strcmp(first, second)) {
		fprintf(stderr, "fuzz_leases: what was written does not load the same: %s\n",
			again);
		abort();
	}
	free(first);
	free(second);
	empty_dir();
	return 0;
}
