/* cmd_ctl.c - the commands the running gateway answers (`rssnat show
 * stats`, `show dhcp`, ...): the words go over the control socket as one
 * request line (ctl.h), the daemon checks them and writes the answer, and
 * its status becomes the exit status. */
#include "cli.h"
#include "commands.h"
#include "../ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the daemon listens: --socket PATH, else $RSSNAT_SOCKET, else the
 * default. The option is taken out of argv; the rest is the request. */
static const char *socket_path(int *argc, char **argv)
{
	const char *path = getenv("RSSNAT_SOCKET");

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--socket") || i + 1 >= *argc)
			continue;
		path = argv[i + 1];
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof(*argv));
		*argc -= 2;
		i--;
	}
	return path && *path ? path : CTL_DEFAULT_SOCKET;
}

int cli_daemon(int argc, char **argv)
{
	char line[CTL_LINE_MAX];
	const char *path = socket_path(&argc, argv), *why = "";
	size_t used = 0;
	int status;

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (i > 0 && (!n || strpbrk(argv[i], " \t\r\n"))) /* argv[0]: the path */
			return cli_usage_error(argv[i], "arguments are single words (no spaces)");
		if (used + n + 2 > sizeof(line))
			return cli_usage_error(argv[0], "request longer than %d bytes",
					       CTL_LINE_MAX - 1);
		memcpy(line + used, argv[i], n);
		used += n;
		line[used++] = i + 1 < argc ? ' ' : '\0';
	}
	status = ctl_request(path, line, stdout, &why);
	if (status)
		fprintf(stderr, "rssnat: %s: %s\n", argv[0], why);
	return status;
}
