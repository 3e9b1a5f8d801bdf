/* conf.h - the settings of `rssnat run` from its command line and its
 * configuration file, and the helpers every rssnat option is parsed with
 * (the CLI's too: cli.h includes this). */
#ifndef RSSNAT_CONF_H
#define RSSNAT_CONF_H

#include <stdio.h>

struct gw_config;

/* Exit statuses: 0 done, 1 failed at run time, 2 bad usage or bad input. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* cli_usage_error() - one line "rssnat: WHAT: message" on stderr; returns
 * CLI_USAGE so that callers can `return cli_usage_error(...)`. */
int cli_usage_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_parse_uint() - whole decimal number in [min, max]; 0 or -1. */
int cli_parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out);

/* conf_parse_args() - `rssnat run`'s whole command line (argv[0] its name,
 * with any --config FILE in it) over the defaults into @cfg; every error is
 * printed. 0 or CLI_USAGE. */
int conf_parse_args(int argc, char **argv, struct gw_config *cfg);
/* conf_read_file() - a configuration file's settings into @cfg (over what
 * it holds): "name value" lines, the names of `rssnat run`'s options, #
 * for comments. Every line is read and every error printed with
 * FILE:LINE. 0 or CLI_USAGE. */
int conf_read_file(struct gw_config *cfg, const char *path);
/* conf_read_stream() - the same from an open stream; @path names it in
 * errors. */
int conf_read_stream(struct gw_config *cfg, FILE *f, const char *path);

#endif
