/* cli.h - the rssnat command line: one table of subcommands, one matcher,
 * and the argument helpers every command shares. */
#ifndef RSSNAT_CLI_H
#define RSSNAT_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* The exit statuses (CLI_OK...), cli_usage_error() and cli_parse_uint(). */
#include "../conf/conf.h"

struct cli_command {
	const char *path;		   /* the words that name it, e.g. "rss hash" */
	const char *args;		   /* what follows the words, for usage lines */
	const char *summary;		   /* one line for `rssnat help` */
	const char *details;		   /* options and examples for `rssnat help CMD`, or NULL */
	int (*run)(int argc, char **argv); /* argv[0] is the command's path */
};

/* The table (commands.c); ends with a zeroed entry. */
extern const struct cli_command cli_commands[];

int cli_main(int argc, char **argv);

/* cli_print_help() - usage and details of one command on stdout. */
void cli_print_help(const struct cli_command *cmd);
const struct cli_command *cli_find(const char *path);
/* cli_list_group() - how many commands start with the word @group; prints
 * their usage lines if @print. */
int cli_list_group(const char *group, bool print);

/* An ADDR[:PORT] argument; IPv6 as ADDR or [ADDR] or [ADDR]:PORT. */
struct cli_endpoint {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	bool has_port;
	uint16_t port;
};

/* cli_parse_endpoint() - 0, or -1 with a reason in *why. */
int cli_parse_endpoint(const char *text, struct cli_endpoint *ep, const char **why);

#endif
