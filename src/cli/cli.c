/* cli.c - dispatch argv to the command table, help, shared argument parsing
 * (cli_usage_error() and cli_parse_uint() are in src/conf/usage.c). */
#include "cli.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many of argv's words spell out @path ("rss hash" = 2 words), or 0. */
static int path_matches(const char *path, int argc, char **argv)
{
	int words = 0;
	const char *p = path;

	while (*p) {
		size_t len = strcspn(p, " ");
		if (words >= argc || strlen(argv[words]) != len || strncmp(argv[words], p, len))
			return 0;
		words++;
		p += len;
		p += *p == ' ';
	}
	return words;
}

const struct cli_command *cli_find(const char *path)
{
	for (const struct cli_command *c = cli_commands; c->path; c++)
		if (!strcmp(c->path, path))
			return c;
	return NULL;
}

void cli_print_help(const struct cli_command *cmd)
{
	printf("usage: rssnat %s%s%s\n\n%s\n", cmd->path, *cmd->args ? " " : "", cmd->args,
	       cmd->summary);
	if (cmd->details)
		printf("\n%s", cmd->details);
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

static bool in_group(const struct cli_command *c, const char *group)
{
	size_t len = strlen(group);

	return !strncmp(c->path, group, len) && c->path[len] == ' ';
}

/* Commands that share a first word ("rss hash", "rss table") make that word a
 * group. Returns how many commands it has; lists them if @print. */
int cli_list_group(const char *group, bool print)
{
	int found = 0;

	for (const struct cli_command *c = cli_commands; c->path; c++) {
		if (!in_group(c, group))
			continue;
		if (print)
			printf("  rssnat %-14s %s\n", c->path, c->summary);
		found++;
	}
	return found;
}

/* "rssnat rss" alone: one line naming what may follow. */
static int group_needs_command(const char *group)
{
	char names[256] = "";

	for (const struct cli_command *c = cli_commands; c->path; c++)
		if (in_group(c, group) && strlen(names) + strlen(c->path) + 3 < sizeof(names)) {
			strcat(names, *names ? ", " : "");
			strcat(names, c->path + strlen(group) + 1);
		}
	return cli_usage_error(group, "needs a command: %s (see 'rssnat help %s')", names, group);
}

int cli_main(int argc, char **argv)
{
	const struct cli_command *best = NULL;
	int best_words = 0;

	if (argc < 2) {
		static char help_word[] = "help";
		char *args[] = {help_word, NULL};
		return cli_find("help")->run(1, args);
	}
	for (const struct cli_command *c = cli_commands; c->path; c++) {
		int words = path_matches(c->path, argc - 1, argv + 1);
		if (words > best_words) {
			best = c;
			best_words = words;
		}
	}
	if (!best) {
		if (cli_list_group(argv[1], false))
			return argc == 2 ? group_needs_command(argv[1])
					 : cli_usage_error(argv[2],
							   "unknown %s command (see "
							   "'rssnat help %s')",
							   argv[1], argv[1]);
		return cli_usage_error(argv[1], "unknown command (see 'rssnat help')");
	}
	/* Hand the command its own argv: argv[0] is its path. */
	static char path[64];
	int sub_argc = argc - best_words;
	char **sub_argv = argv + best_words;
	snprintf(path, sizeof(path), "%s", best->path);
	sub_argv[0] = path;
	if (wants_help(sub_argc, sub_argv)) {
		cli_print_help(best);
		return CLI_OK;
	}
	return best->run(sub_argc, sub_argv);
}

static int parse_port(const char *text, struct cli_endpoint *ep, const char **why)
{
	unsigned long port;

	if (cli_parse_uint(text, 0, 65535, &port)) {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}
	ep->port = (uint16_t)port;
	ep->has_port = true;
	return 0;
}

static int parse_addr(const char *text, struct cli_endpoint *ep, const char **why)
{
	if (strchr(text, ':')) {
		ep->family = 6;
		if (inet_pton(AF_INET6, text, ep->addr) == 1)
			return 0;
		*why = "not an IPv6 address";
		return -1;
	}
	ep->family = 4;
	if (inet_pton(AF_INET, text, ep->addr) == 1)
		return 0;
	*why = "not an IPv4 address (ADDR[:PORT], IPv6 as [ADDR]:PORT)";
	return -1;
}

int cli_parse_endpoint(const char *text, struct cli_endpoint *ep, const char **why)
{
	char buf[64];
	const char *colon;

	memset(ep, 0, sizeof(*ep));
	if (strlen(text) >= sizeof(buf)) {
		*why = "too long for an address";
		return -1;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || (close[1] && close[1] != ':')) {
			*why = "IPv6 with a port is written [ADDR]:PORT";
			return -1;
		}
		memcpy(buf, text + 1, (size_t)(close - text - 1));
		buf[close - text - 1] = '\0';
		if (parse_addr(buf, ep, why) || ep->family != 6) {
			*why = "not an IPv6 address";
			return -1;
		}
		return close[1] ? parse_port(close + 2, ep, why) : 0;
	}
	colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':'))
		return parse_addr(text, ep, why); /* bare IPv6, no port */
	strcpy(buf, text);
	if (colon)
		buf[colon - text] = '\0';
	if (parse_addr(buf, ep, why))
		return -1;
	return colon ? parse_port(colon + 1, ep, why) : 0;
}
