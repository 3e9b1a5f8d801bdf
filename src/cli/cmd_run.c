/* cmd_run.c - `rssnat run` (the gateway, in the foreground) and the control
 * socket's client commands (`rssnat show stats`). */
#include "cli.h"
#include "commands.h"
#include "../ctl/ctl.h"
#include "../gw/gw.h"
#include "../pkt/pkt.h"

#include <arpa/inet.h>
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
	char buf[64], *colon, *eq, *colon2;
	unsigned long ext, port;
	struct nat_static_map *sm;

	if (cfg->nat.n_static == NAT_STATIC_MAX)
		return cli_usage_error(where("--port-map"), "at most %d port mappings",
				       NAT_STATIC_MAX);
	if (strlen(v) >= sizeof(buf))
		return cli_usage_error(where("--port-map"), "'%s' is too long", v);
	strcpy(buf, v);
	colon = strchr(buf, ':');
	eq = colon ? strchr(colon, '=') : NULL;
	colon2 = eq ? strchr(eq, ':') : NULL;
	if (!colon || !eq || !colon2)
		return cli_usage_error(where("--port-map"), "'%s' is not PROTO:PORT=ADDR:PORT", v);
	*colon = *eq = *colon2 = '\0';
	sm = &cfg->nat.statics[cfg->nat.n_static];
	if (!strcmp(buf, "tcp"))
		sm->proto = PKT_PROTO_TCP;
	else if (!strcmp(buf, "udp"))
		sm->proto = PKT_PROTO_UDP;
	else
		return cli_usage_error(where("--port-map"), "'%s' is neither tcp nor udp", buf);
	if (cli_parse_uint(colon + 1, 1, 65535, &ext) ||
	    cli_parse_uint(colon2 + 1, 1, 65535, &port))
		return cli_usage_error(where("--port-map"), "ports in '%s' must be from 1 to 65535",
				       v);
	if (parse_addr("--port-map", eq + 1, &sm->lan_addr))
		return CLI_USAGE;
	sm->ext_port = (uint16_t)ext;
	sm->lan_port = (uint16_t)port;
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

static int run_option(struct gw_config *cfg, int c, const char *v)
{
	unsigned long n;
	uint32_t ignored;

	switch (c) {
	case 'l':
		return copy_name("--lan", v, cfg->lan_if, sizeof(cfg->lan_if));
	case 'w':
		return copy_name("--wan", v, cfg->wan_if, sizeof(cfg->wan_if));
	case 'a':
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
	}
	(void)ignored;
	return CLI_USAGE;
}

static const struct option run_longopts[] = {
    {"lan", required_argument, NULL, 'l'},
    {"wan", required_argument, NULL, 'w'},
    {"wan-addr", required_argument, NULL, 'a'},
    {"wan-gateway", required_argument, NULL, 'g'},
    {"lan-addr", required_argument, NULL, 'L'},
    {"queues", required_argument, NULL, 'q'},
    {"backend", required_argument, NULL, 'b'},
    {"socket", required_argument, NULL, 's'},
    {"mss-clamp", required_argument, NULL, 'm'},
    {"filtering", required_argument, NULL, 'f'},
    {"port-map", required_argument, NULL, 'p'},
    {"config", required_argument, NULL, 'C'},
    {0},
};

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
static int read_config(struct gw_config *cfg, const char *path)
{
	char line[512];
	unsigned n = 0;
	int err = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return cli_usage_error(path, "cannot read the configuration file");
	while (!err && fgets(line, sizeof(line), f)) {
		snprintf(origin, sizeof(origin), "%s:%u:", path, ++n);
		if (!strchr(line, '\n') && !feof(f)) {
			err =
			    cli_usage_error(origin, "line longer than %zu bytes", sizeof(line) - 2);
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		err = config_line(cfg, line);
	}
	fclose(f);
	origin[0] = '\0';
	return err;
}

int cli_run(int argc, char **argv)
{
	struct gw_config cfg;
	const char *why = "";
	int c, err;

	gw_config_default(&cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", run_longopts, NULL)) != -1) {
		if (c == '?')
			return cli_usage_error(argv[optind - 1],
					       optopt ? "needs a value"
						      : "unknown option (see 'rssnat help run')");
		if (c == 'C' ? read_config(&cfg, optarg) : run_option(&cfg, c, optarg))
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	if (gw_check(&cfg, &why))
		return cli_usage_error("run", "%s", why);
	err = gw_run(&cfg, &why);
	if (err) {
		fprintf(stderr, "rssnat: run: %s\n", why);
		return CLI_FAILED;
	}
	return CLI_OK;
}

int cli_show_stats(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_SOCKET, *why = "";
	bool json = false;
	int status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else
			return cli_usage_error(argv[i],
					       "unexpected argument (--json, --socket PATH)");
	}
	status = ctl_request(path, json ? "show stats --json" : "show stats", stdout, &why);
	if (status)
		fprintf(stderr, "rssnat: show stats: %s\n", why);
	return status;
}
