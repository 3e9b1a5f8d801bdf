/* fuzz_config.c - libFuzzer harness for the settings of `rssnat run`
 * (src/conf): the input is a configuration file, read by
 * conf_read_stream() over the defaults and then checked whole
 * (gw_check_settings()); the same bytes, split at newlines, are also a
 * command line for conf_parse_args() ("--name value" words, --config
 * refused so that nothing is opened). Checked: no crash, no sanitizer
 * report, the result is 0 or CLI_USAGE, and what was accepted keeps its
 * bounds (names terminated, counts within their arrays). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/conf/conf.h"
#include "../src/gw/gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum { MAX_IN = 16384, MAX_WORDS = 64 };

static void check_config(const struct gw_config *cfg)
{
	if (!memchr(cfg->lan_if, 0, sizeof(cfg->lan_if)) ||
	    !memchr(cfg->wan_if, 0, sizeof(cfg->wan_if)) ||
	    !memchr(cfg->socket_path, 0, sizeof(cfg->socket_path)) ||
	    !memchr(cfg->svc.domain, 0, sizeof(cfg->svc.domain)) ||
	    !memchr(cfg->svc.leases, 0, sizeof(cfg->svc.leases)) ||
	    cfg->nat.n_static > NAT_STATIC_MAX || cfg->svc.n_reserve > GW_RESERVE_MAX ||
	    cfg->svc.n_upstream > GW_UPSTREAM_MAX || cfg->queues < 1 || cfg->queues > 64)
		abort();
}

static void read_file(const uint8_t *d, size_t n)
{
	struct gw_config cfg;
	const char *why = "";
	FILE *f = fmemopen((void *)(uintptr_t)d, n, "r");
	int err;

	if (!f)
		return;
	gw_config_default(&cfg);
	err = conf_read_stream(&cfg, f, "fuzz.conf");
	fclose(f);
	if (err != 0 && err != CLI_USAGE)
		abort();
	check_config(&cfg);
	if (!err)
		(void)gw_check_settings(&cfg, &why);
}

/* Lines as words: "lan eth1" -> "--lan", "eth1". */
static void parse_args(char *text)
{
	static char run[] = "run", dashed[MAX_WORDS][80];
	char *argv[MAX_WORDS + 1] = {run}, *save = NULL;
	struct gw_config cfg;
	int argc = 1;

	for (char *line = strtok_r(text, "\n", &save); line && argc + 2 <= MAX_WORDS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *value = strchr(line, ' ');
		if (value)
			*value++ = '\0';
		if (strstr(line, "config")) /* would open a file */
			continue;
		snprintf(dashed[argc], sizeof(dashed[argc]), "--%s", line);
		argv[argc] = dashed[argc];
		argc++;
		if (value)
			argv[argc++] = value;
	}
	argv[argc] = NULL;
	int err = conf_parse_args(argc, argv, &cfg);
	if (err != 0 && err != CLI_USAGE)
		abort();
	if (!err)
		check_config(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static FILE *devnull;
	FILE *saved = stderr;
	char *text;

	if (n > MAX_IN)
		return 0;
	/* The parser prints one line per error: to nowhere, or the fuzzer's
	 * own output drowns (sanitizer reports write to fd 2 directly). */
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		return 0;
	stderr = devnull;
	read_file(d, n);
	if ((text = malloc(n + 1))) {
		memcpy(text, d, n);
		text[n] = '\0';
		parse_args(text);
		free(text);
	}
	stderr = saved;
	return 0;
}
