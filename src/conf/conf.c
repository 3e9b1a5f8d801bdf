/* conf.c - the settings of `rssnat run`: its command line and its
 * configuration file (one table of options for both) into a gw_config.
 * In the library, not the CLI, so that a fuzz harness can reach the file
 * parser (fuzz/fuzz_config.c); the commands are in src/cli/cmd_gw.c. */
#include "conf.h"
#include "../ctl/ctl.h"
#include "../gw/gw.h"
#include "../pkt/pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where an option came from, for its error line: the command line ("--lan")
 * or a line of a --config file ("gw.conf:3: --lan"). */
static char origin[300];

static const char *where(const char *opt)
{
	static char buf[400];

	if (!origin[0])
		return opt;
	snprintf(buf, sizeof(buf), "%s %s", origin, opt);
	return buf;
}

/* ADDR/LEN into address and mask (network byte order). */
static int parse_prefix(const char *opt, const char *v, uint32_t *addr, uint32_t *mask)
{
	char buf[32], *slash;
	unsigned long len;
	struct in_addr a;

	if (strlen(v) >= sizeof(buf))
		return cli_usage_error(where(opt), "'%s' is not ADDR/LEN", v);
	strcpy(buf, v);
	slash = strchr(buf, '/');
	if (!slash || cli_parse_uint(slash + 1, 1, 30, &len))
		return cli_usage_error(where(opt), "'%s' is not ADDR/LEN with LEN from 1 to 30", v);
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return cli_usage_error(where(opt), "'%s' is not an IPv4 address", buf);
	*addr = a.s_addr;
	*mask = htonl(~0u << (32 - len));
	return 0;
}

static int parse_addr(const char *opt, const char *v, uint32_t *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1)
		return cli_usage_error(where(opt), "'%s' is not an IPv4 address", v);
	*addr = a.s_addr;
	return 0;
}

/* PROTO:EXT=ADDR:PORT, e.g. tcp:8080=192.168.137.10:80 */
static int parse_port_map(struct gw_config *cfg, const char *v)
{
	const char *why = "";

	if (cfg->nat.n_static == NAT_STATIC_MAX)
		return cli_usage_error(where("--port-map"), "at most %d port mappings",
				       NAT_STATIC_MAX);
	if (nat_static_parse(v, true, &cfg->nat.statics[cfg->nat.n_static], &why))
		return cli_usage_error(where("--port-map"), "%s", why);
	cfg->nat.n_static++;
	return 0;
}

static int copy_name(const char *opt, const char *v, char *out, size_t size)
{
	if (!*v || strlen(v) >= size)
		return cli_usage_error(where(opt), "'%s' is not an interface name", v);
	strcpy(out, v);
	return 0;
}

static int parse_on_off(const char *opt, const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "off")) {
		*out = !strcmp(v, "on");
		return 0;
	}
	return cli_usage_error(where(opt), "'%s' is neither on nor off", v);
}

/* FIRST-LAST, e.g. 192.168.137.100-192.168.137.199 */
static int parse_pool(struct gw_services *svc, const char *v)
{
	char buf[40], *dash;

	if (strlen(v) >= sizeof(buf) || !(dash = strchr(strcpy(buf, v), '-')))
		return cli_usage_error(where("--dhcp-pool"), "'%s' is not FIRST-LAST", v);
	*dash = '\0';
	if (parse_addr("--dhcp-pool", buf, &svc->pool_first) ||
	    parse_addr("--dhcp-pool", dash + 1, &svc->pool_last))
		return CLI_USAGE;
	if (ntohl(svc->pool_first) > ntohl(svc->pool_last))
		return cli_usage_error(where("--dhcp-pool"), "'%s' ends before it starts", v);
	return 0;
}

/* MAC=ADDR, e.g. 02:00:00:00:00:10=192.168.137.10 */
static int parse_reserve(struct gw_services *svc, const char *v)
{
	unsigned m[6];
	char addr[20], tail;

	if (svc->n_reserve == GW_RESERVE_MAX)
		return cli_usage_error(where("--dhcp-reserve"), "at most %d reservations",
				       GW_RESERVE_MAX);
	if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x=%19[0-9.]%c", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5], addr, &tail) != 7)
		return cli_usage_error(where("--dhcp-reserve"), "'%s' is not MAC=ADDR", v);
	if (parse_addr("--dhcp-reserve", addr, &svc->reserve[svc->n_reserve].addr))
		return CLI_USAGE;
	for (int i = 0; i < 6; i++)
		svc->reserve[svc->n_reserve].mac[i] = (uint8_t)m[i];
	svc->n_reserve++;
	return 0;
}

/* ADDR or ADDR:PORT */
static int parse_upstream(struct gw_services *svc, const char *v)
{
	char buf[32], *colon;
	unsigned long port = 53;

	if (svc->n_upstream == GW_UPSTREAM_MAX)
		return cli_usage_error(where("--dns-upstream"), "at most %d upstream resolvers",
				       GW_UPSTREAM_MAX);
	if (strlen(v) >= sizeof(buf))
		return cli_usage_error(where("--dns-upstream"), "'%s' is not ADDR[:PORT]", v);
	strcpy(buf, v);
	if ((colon = strchr(buf, ':'))) {
		*colon = '\0';
		if (cli_parse_uint(colon + 1, 1, 65535, &port))
			return cli_usage_error(where("--dns-upstream"),
					       "port in '%s' must be from 1 to 65535", v);
	}
	if (parse_addr("--dns-upstream", buf, &svc->upstream[svc->n_upstream].addr))
		return CLI_USAGE;
	svc->upstream[svc->n_upstream++].port = (uint16_t)port;
	return 0;
}

static bool is_label_char(char c)
{
	return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* A DNS name (RFC 1035 2.3.1): labels of letters, digits and '-', 1 to 63
 * bytes each, dot-separated; short enough for the configuration. */
static int parse_domain(struct gw_services *svc, const char *v)
{
	size_t label = 0, n = strlen(v);
	bool ok = n > 0 && n < sizeof(svc->domain);

	for (size_t i = 0; ok && i <= n; i++) {
		if (i == n || v[i] == '.') {
			ok = label > 0 && label <= 63;
			label = 0;
		} else {
			ok = is_label_char(v[i]);
			label++;
		}
	}
	if (!ok)
		return cli_usage_error(where("--domain"), "'%s' is not a domain name", v);
	snprintf(svc->domain, sizeof(svc->domain), "%s", v);
	return 0;
}

/* The RSS settings at start: --rss, --rss-key, --rss-table, --rss-table-size. */
static int parse_rss(struct gw_config *cfg, int c, const char *v)
{
	const char *why = "";
	unsigned long n;
	int count;

	switch (c) {
	case 'r':
		if (strcmp(v, "enabled") && strcmp(v, "disabled"))
			return cli_usage_error(where("--rss"),
					       "'%s' is neither enabled nor disabled", v);
		cfg->rss.enabled = !strcmp(v, "enabled");
		return 0;
	case 'k':
		if (rss_key_parse(v, &cfg->rss.key, &why))
			return cli_usage_error(where("--rss-key"), "%s", why);
		return 0;
	case 'z':
		if (cli_parse_uint(v, 1, RSS_TABLE_MAX, &n) || !rss_table_size_valid((unsigned)n))
			return cli_usage_error(where("--rss-table-size"),
					       "'%s' is not a power of two from 1 to %d", v,
					       RSS_TABLE_MAX);
		cfg->rss.table_size = (unsigned)n;
		return 0;
	case 'W':
		if ((count = rss_weights_parse(v, 1000, cfg->rss.weights)) < 0)
			return cli_usage_error(where("--rss-table"),
					       "'%s' is not W,W,.. (one weight from 0 to "
					       "1000 per queue, at most 64)",
					       v);
		cfg->rss.queues = (unsigned)count;
		cfg->rss_weights = true;
		return 0;
	}
	return CLI_USAGE;
}

/* --timeout NAME=SECONDS */
static int parse_timeout(struct gw_config *cfg, const char *v)
{
	int err = nat_timeout_parse(&cfg->nat.timeouts, v);

	if (err == -ENOENT)
		return cli_usage_error(
		    where("--timeout"),
		    "'%.*s': unknown timeout (udp, tcp-established, tcp-opening, "
		    "tcp-closing, tcp-rst, icmp, frag)",
		    (int)strcspn(v, "="), v);
	if (err)
		return cli_usage_error(where("--timeout"),
				       "'%s' is not NAME=SECONDS (seconds from 1 to 604800)", v);
	return 0;
}

/* --icmp-error-rate N, --icmp-error-interval MS (RFC 1812 4.3.2.8) */
static int parse_icmp_limit(struct ratelimit_config *rl, int c, const char *v)
{
	unsigned long n;

	if (c == 'e') {
		if (cli_parse_uint(v, 0, RATELIMIT_RATE_MAX, &n))
			return cli_usage_error(where("--icmp-error-rate"),
					       "'%s' is not from 0 to %d per second", v,
					       RATELIMIT_RATE_MAX);
		rl->per_sec = (uint32_t)n;
		return 0;
	}
	if (cli_parse_uint(v, 0, RATELIMIT_INTERVAL_MAX_MS, &n))
		return cli_usage_error(where("--icmp-error-interval"),
				       "'%s' is not from 0 to %d milliseconds", v,
				       RATELIMIT_INTERVAL_MAX_MS);
	rl->key_interval_ms = (uint32_t)n;
	return 0;
}

static int parse_services(struct gw_services *svc, int c, const char *v)
{
	unsigned long n;

	switch (c) {
	case 'D':
		return parse_on_off("--dhcp", v, &svc->dhcp);
	case 'S':
		return parse_on_off("--dns", v, &svc->dns);
	case 'P':
		return parse_pool(svc, v);
	case 'T':
		if (cli_parse_uint(v, 60, 31536000, &n))
			return cli_usage_error(where("--dhcp-lease"),
					       "'%s' is not from 60 to 31536000 seconds", v);
		svc->lease_secs = (uint32_t)n;
		return 0;
	case 'R':
		return parse_reserve(svc, v);
	case 'n':
		if (cli_parse_uint(v, 0, 1000, &n))
			return cli_usage_error(where("--dhcp-new-rate"),
					       "'%s' is not from 0 to 1000 a second", v);
		svc->dhcp_new_rate = (unsigned)n;
		return 0;
	case 'F':
		if (!*v || strlen(v) >= sizeof(svc->leases))
			return cli_usage_error(where("--dhcp-leases"), "'%s' is not a usable path",
					       v);
		snprintf(svc->leases, sizeof(svc->leases), "%s", strcmp(v, "none") ? v : "");
		return 0;
	case 'N':
		return parse_domain(svc, v);
	case 'U':
		return parse_upstream(svc, v);
	case 'c':
		if (cli_parse_uint(v, 1, 1000000, &n))
			return cli_usage_error(where("--dns-cache"),
					       "'%s' is not a number from 1 to 1000000", v);
		svc->dns_cache = (unsigned)n;
		return 0;
	case 'H':
		return copy_name("--host-if", v, svc->host_if, sizeof(svc->host_if));
	}
	return CLI_USAGE;
}

static int run_option(struct gw_config *cfg, int c, const char *v)
{
	unsigned long n;
	uint32_t ignored;

	switch (c) {
	case 'l':
		return copy_name("--lan", v, cfg->lan_if, sizeof(cfg->lan_if));
	case 'w':
		return copy_name("--wan", v, cfg->wan_if, sizeof(cfg->wan_if));
	case 'a': /* an address of our own: dedicated uplink mode (gw.h) */
		cfg->wan_shared = false;
		return parse_prefix("--wan-addr", v, &cfg->wan_addr, &cfg->wan_mask);
	case 'g':
		return parse_addr("--wan-gateway", v, &cfg->wan_gateway);
	case 'L':
		return parse_prefix("--lan-addr", v, &cfg->lan_addr, &cfg->lan_mask);
	case 'q':
		if (cli_parse_uint(v, 1, 64, &n))
			return cli_usage_error(where("--queues"),
					       "'%s' is not a number from 1 to 64", v);
		cfg->queues = (unsigned)n;
		return 0;
	case 'b':
		if (strcmp(v, "afpacket") && strcmp(v, "afxdp"))
			return cli_usage_error(where("--backend"),
					       "'%s' is not built in (afpacket, afxdp)", v);
		cfg->backend = strcmp(v, "afpacket") ? "afxdp" : "afpacket";
		return 0;
	case 's':
		if (!*v || strlen(v) >= sizeof(cfg->socket_path))
			return cli_usage_error(where("--socket"), "'%s' is not a usable path", v);
		strcpy(cfg->socket_path, v);
		return 0;
	case 'm':
		if (cli_parse_uint(v, 536, 65495, &n))
			return cli_usage_error(where("--mss-clamp"),
					       "'%s' is not from 536 to 65495", v);
		cfg->mss_clamp = (uint16_t)n;
		return 0;
	case 'A':
		return parse_on_off("--pin", v, &cfg->pin);
	case 'O':
		if (strcmp(v, "enabled") && strcmp(v, "disabled"))
			return cli_usage_error(where("--offload"),
					       "'%s' is neither enabled nor disabled", v);
		cfg->offload = !strcmp(v, "enabled");
		return 0;
	case 'Q':
		if (cli_parse_uint(v, 0, GW_CODEL_TARGET_US_MAX, &n))
			return cli_usage_error(where("--codel-target"),
					       "'%s' is not from 0 to %d microseconds", v,
					       GW_CODEL_TARGET_US_MAX);
		cfg->codel_target_us = (uint32_t)n;
		return 0;
	case 'K':
		if (cli_parse_uint(v, 0, 3600000, &n))
			return cli_usage_error(where("--arp-locktime"),
					       "'%s' is not from 0 to 3600000 ms", v);
		cfg->arp_locktime_ms = (uint32_t)n;
		return 0;
	case 'f':
		if (!strcmp(v, "address"))
			cfg->nat.filtering = NAT_FILTER_ADDRESS_DEPENDENT;
		else if (!strcmp(v, "endpoint"))
			cfg->nat.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
		else
			return cli_usage_error(where("--filtering"),
					       "'%s' is neither address nor endpoint", v);
		return 0;
	case 'p':
		return parse_port_map(cfg, v);
	case 'r':
	case 'k':
	case 'z':
	case 'W':
		return parse_rss(cfg, c, v);
	case 'o':
		return parse_timeout(cfg, v);
	case 'e':
	case 'i':
		return parse_icmp_limit(&cfg->icmp_limit, c, v);
	case 'M':
		if (cli_parse_uint(v, 0, NAT_MAPPINGS_MAX, &n))
			return cli_usage_error(where("--host-mappings"),
					       "'%s' is not a number from 0 to %d", v,
					       NAT_MAPPINGS_MAX);
		cfg->nat.host_mappings = (uint32_t)n;
		return 0;
	default:
		return parse_services(&cfg->svc, c, v);
	}
	(void)ignored;
	return CLI_USAGE;
}

/* One option a line (clang-format would set them in columns). */
/* clang-format off */
static const struct option run_longopts[] = {
    {"lan", required_argument, NULL, 'l'},
    {"wan", required_argument, NULL, 'w'},
    {"wan-addr", required_argument, NULL, 'a'},
    {"wan-gateway", required_argument, NULL, 'g'},
    {"lan-addr", required_argument, NULL, 'L'},
    {"queues", required_argument, NULL, 'q'},
    {"backend", required_argument, NULL, 'b'},
    {"pin", required_argument, NULL, 'A'},
    {"offload", required_argument, NULL, 'O'},
    {"socket", required_argument, NULL, 's'},
    {"mss-clamp", required_argument, NULL, 'm'},
    {"codel-target", required_argument, NULL, 'Q'},
    {"arp-locktime", required_argument, NULL, 'K'},
    {"filtering", required_argument, NULL, 'f'},
    {"port-map", required_argument, NULL, 'p'},
    {"dhcp", required_argument, NULL, 'D'},
    {"dhcp-pool", required_argument, NULL, 'P'},
    {"dhcp-lease", required_argument, NULL, 'T'},
    {"dhcp-reserve", required_argument, NULL, 'R'},
    {"dhcp-new-rate", required_argument, NULL, 'n'},
    {"dhcp-leases", required_argument, NULL, 'F'},
    {"domain", required_argument, NULL, 'N'},
    {"dns", required_argument, NULL, 'S'},
    {"dns-upstream", required_argument, NULL, 'U'},
    {"dns-cache", required_argument, NULL, 'c'},
    {"host-if", required_argument, NULL, 'H'},
    {"timeout", required_argument, NULL, 'o'},
    {"icmp-error-rate", required_argument, NULL, 'e'},
    {"icmp-error-interval", required_argument, NULL, 'i'},
    {"host-mappings", required_argument, NULL, 'M'},
    {"rss", required_argument, NULL, 'r'},
    {"rss-key", required_argument, NULL, 'k'},
    {"rss-table", required_argument, NULL, 'W'},
    {"rss-table-size", required_argument, NULL, 'z'},
    {"config", required_argument, NULL, 'C'},
    {0},
};
/* clang-format on */

/* One "name value" line of a configuration file, through the same option
 * table as the command line. */
static int config_line(struct gw_config *cfg, char *line)
{
	char *name = line + strspn(line, " \t"), *value, *end;

	if (!*name || *name == '#')
		return 0;
	value = name + strcspn(name, " \t");
	if (*value)
		*value++ = '\0';
	value += strspn(value, " \t");
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (const struct option *o = run_longopts; o->name; o++) {
		if (strcmp(o->name, name) || o->val == 'C')
			continue;
		if (!*value)
			return cli_usage_error(where(name), "needs a value");
		return run_option(cfg, o->val, value);
	}
	return cli_usage_error(where(name), "unknown setting (the names of rssnat run's options)");
}

/* --config FILE: the file holds the command line's options, one a line,
 * "name value" ("lan eth1", "port-map tcp:8080=192.168.137.10:80"), # for
 * comments. Options after --config on the command line override it. */
/* Every line is read and every error reported (with FILE:LINE), not just
 * the first: `rssnat check-config` lists them all, and so does run. */
int conf_read_stream(struct gw_config *cfg, FILE *f, const char *path)
{
	char line[512];
	unsigned n = 0, errors = 0;

	while (fgets(line, sizeof(line), f)) {
		snprintf(origin, sizeof(origin), "%s:%u:", path, ++n);
		if (!strchr(line, '\n') && !feof(f)) {
			cli_usage_error(origin, "line longer than %zu bytes", sizeof(line) - 2);
			errors++;
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n') /* skip the rest of it */
				;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		errors += config_line(cfg, line) != 0;
	}
	origin[0] = '\0';
	return errors ? CLI_USAGE : 0;
}

int conf_read_file(struct gw_config *cfg, const char *path)
{
	FILE *f = fopen(path, "r");
	int err;

	if (!f)
		return cli_usage_error(path, "cannot read the configuration file");
	err = conf_read_stream(cfg, f, path);
	fclose(f);
	return err;
}

int conf_parse_args(int argc, char **argv, struct gw_config *cfg)
{
	int c, errors = 0;

	gw_config_default(cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", run_longopts, NULL)) != -1) {
		if (c == '?')
			return cli_usage_error(argv[optind - 1],
					       optopt ? "needs a value"
						      : "unknown option (see 'rssnat help run')");
		errors +=
		    (c == 'C' ? conf_read_file(cfg, optarg) : run_option(cfg, c, optarg)) != 0;
	}
	if (errors)
		return CLI_USAGE;
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	return 0;
}
