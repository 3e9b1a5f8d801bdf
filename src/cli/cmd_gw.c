/* cmd_gw.c - `rssnat run`: the gateway, in the foreground, and `rssnat
 * check-config`. Their settings are parsed in the library (src/conf). */
#include "cli.h"
#include "commands.h"
#include "../conf/conf.h"
#include "../gw/gw.h"

#include <stdio.h>

/* SIGHUP: the daemon reads its command line and configuration file again
 * (gw_config.reread), on its control thread. */
static int run_argc;
static char **run_argv;

static int reread(struct gw_config *out)
{
	const char *why = "";

	if (conf_parse_args(run_argc, run_argv, out))
		return -1;
	if (gw_check_settings(out, &why))
		return cli_usage_error("reload", "%s", why);
	out->reread = reread;
	return 0;
}

int cli_run(int argc, char **argv)
{
	struct gw_config cfg;
	const char *why = "";
	int err;

	if (conf_parse_args(argc, argv, &cfg))
		return CLI_USAGE;
	if (gw_check(&cfg, &why))
		return cli_usage_error("run", "%s", why);
	run_argc = argc;
	run_argv = argv;
	cfg.reread = reread;
	err = gw_run(&cfg, &why);
	if (err) {
		fprintf(stderr, "rssnat: run: %s\n", why);
		return CLI_FAILED;
	}
	return CLI_OK;
}

/* `rssnat check-config FILE`: every line, then the settings as a whole;
 * what only this host can tell (interfaces, addresses the kernel holds) is
 * a warning, since the file may be meant for another machine. */
int cli_check_config(int argc, char **argv)
{
	struct gw_config cfg;
	const char *why = "";

	if (argc != 2)
		return cli_usage_error("check-config", "takes one FILE");
	gw_config_default(&cfg);
	if (conf_read_file(&cfg, argv[1]))
		return CLI_USAGE;
	if (gw_check_settings(&cfg, &why))
		return cli_usage_error(argv[1], "%s", why);
	if (gw_check(&cfg, &why))
		printf("%s: warning: %s\n", argv[1], why);
	printf("%s: ok\n", argv[1]);
	return CLI_OK;
}
