/* settings.c - the NAT's settings as text: timeouts ("udp=300,tcp=7440"),
 * port mappings ("tcp:8080=192.168.137.10:80"), the timeouts printed back,
 * and the dynamic port range beside the kernel's ephemeral one. Pure
 * functions, for the command line, the configuration file and the control
 * socket alike. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_internal.h"

static const struct {
	const char *name;
	size_t off;
} timeout_names[] = {
    {"udp", offsetof(struct nat_timeouts, udp)},
    {"tcp-established", offsetof(struct nat_timeouts, tcp_established)},
    {"tcp", offsetof(struct nat_timeouts, tcp_established)},
    {"tcp-opening", offsetof(struct nat_timeouts, tcp_opening)},
    {"tcp-closing", offsetof(struct nat_timeouts, tcp_closing)},
    {"tcp-rst", offsetof(struct nat_timeouts, tcp_rst)},
    {"icmp", offsetof(struct nat_timeouts, icmp)},
    {"frag", offsetof(struct nat_timeouts, frag)},
};

/* Decimal digits only (no sign, no spaces), at most @max; -1 otherwise. */
static long digits(const char *text, size_t len, unsigned long max)
{
	unsigned long n = 0;

	if (!len || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(text[i] - '0');
	}
	return n <= max ? (long)n : -1;
}

int nat_timeout_parse(struct nat_timeouts *t, const char *text)
{
	const char *eq = strchr(text, '=');
	long secs;

	if (!eq || eq == text || (secs = digits(eq + 1, strlen(eq + 1), ULONG_MAX >> 1)) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(timeout_names) / sizeof(timeout_names[0]); i++) {
		if (strlen(timeout_names[i].name) != (size_t)(eq - text) ||
		    strncmp(timeout_names[i].name, text, (size_t)(eq - text)))
			continue;
		if (secs < 1 || secs > 604800)
			return -ERANGE;
		*(uint32_t *)(void *)((char *)t + timeout_names[i].off) = (uint32_t)secs;
		return 0;
	}
	return -ENOENT;
}

int nat_static_parse(const char *text, bool with_target, struct nat_static_map *sm,
		     const char **why)
{
	static char msg[160];
	const char *colon = strchr(text, ':'), *eq = colon ? strchr(colon, '=') : NULL;
	const char *colon2 = eq ? strchr(eq, ':') : NULL, *end = eq ? eq : text + strlen(text);
	char addr[INET_ADDRSTRLEN];
	long ext, port = 0;

	*why = msg;
	if (!colon || (eq != NULL) != with_target || (with_target && !colon2)) {
		snprintf(msg, sizeof(msg), "'%s' is not %s", text,
			 with_target ? "PROTO:PORT=ADDR:PORT" : "PROTO:PORT");
		return -EINVAL;
	}
	if ((size_t)(colon - text) == 3 && !strncmp(text, "tcp", 3))
		sm->proto = PKT_PROTO_TCP;
	else if ((size_t)(colon - text) == 3 && !strncmp(text, "udp", 3))
		sm->proto = PKT_PROTO_UDP;
	else {
		snprintf(msg, sizeof(msg), "'%.*s' is neither tcp nor udp", (int)(colon - text),
			 text);
		return -EINVAL;
	}
	ext = digits(colon + 1, (size_t)(end - colon - 1), 65535);
	if (with_target)
		port = digits(colon2 + 1, strlen(colon2 + 1), 65535);
	if (ext < 1 || (with_target && port < 1)) {
		snprintf(msg, sizeof(msg), "ports in '%s' must be from 1 to 65535", text);
		return -EINVAL;
	}
	sm->ext_port = (uint16_t)ext;
	sm->lan_port = (uint16_t)port;
	sm->lan_addr = 0;
	if (!with_target)
		return 0;
	if ((size_t)(colon2 - eq - 1) >= sizeof(addr)) {
		snprintf(msg, sizeof(msg), "'%.*s' is not an IPv4 address", (int)(colon2 - eq - 1),
			 eq + 1);
		return -EINVAL;
	}
	memcpy(addr, eq + 1, (size_t)(colon2 - eq - 1));
	addr[colon2 - eq - 1] = '\0';
	if (inet_pton(AF_INET, addr, &sm->lan_addr) != 1) {
		snprintf(msg, sizeof(msg), "'%s' is not an IPv4 address", addr);
		return -EINVAL;
	}
	return 0;
}

void nat_timeouts_format(const struct nat_timeouts *t, FILE *out, bool json)
{
	fprintf(out,
		json ? "{\"udp\":%u,\"tcp-established\":%u,\"tcp-opening\":%u,\"tcp-closing\":%u,"
		       "\"tcp-rst\":%u,\"icmp\":%u,\"frag\":%u}\n"
		     : "udp=%u tcp-established=%u tcp-opening=%u tcp-closing=%u tcp-rst=%u icmp=%u "
		       "frag=%u\n",
		t->udp, t->tcp_established, t->tcp_opening, t->tcp_closing, t->tcp_rst, t->icmp,
		t->frag);
}

/* The shared-mode default. Ports below 1024 stay out: the host's own
 * services listen there (and RFC 4787 REQ-3 keeps internal ports >= 1024
 * out of it). Of the two blocks left around the kernel's range, the larger:
 * with Linux's default 32768-60999, 1024-32767 (31744 ports) over
 * 61000-65535 (4536), more room per RSS bucket for steering. */
int nat_port_range_outside(uint16_t kernel_lo, uint16_t kernel_hi, uint16_t *lo, uint16_t *hi)
{
	uint32_t below =
	    kernel_lo > NAT_PORT_FIRST_DYNAMIC ? kernel_lo - NAT_PORT_FIRST_DYNAMIC : 0;
	uint32_t above = 65535u - kernel_hi;

	if (!below && !above)
		return -ENOSPC;
	if (below >= above) {
		*lo = NAT_PORT_FIRST_DYNAMIC;
		*hi = (uint16_t)(kernel_lo - 1);
	} else {
		*lo = (uint16_t)(kernel_hi + 1);
		*hi = 65535;
	}
	return 0;
}

bool nat_port_range_overlaps(uint16_t lo, uint16_t hi, uint16_t klo, uint16_t khi)
{
	return lo <= khi && klo <= hi;
}
