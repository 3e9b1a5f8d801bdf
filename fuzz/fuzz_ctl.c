/* fuzz_ctl.c - libFuzzer harness for the control protocol's request parser:
 * any bytes as a request line, dispatched to a table of commands. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/ctl/ctl.h"

static int h_count(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	for (int i = 0; i < argc; i++)
		if (!argv[i][0]) /* the tokenizer never yields empty words */
			abort();
	(*(int *)ctx) += argc;
	fprintf(reply->body, "%d\n", argc);
	return 0;
}

static const struct ctl_command cmds[] = {
    {"show stats", h_count},
    {"show", h_count},
    {"set global", h_count},
    {0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1];
	struct ctl_reply reply = {0};
	char *body = NULL;
	size_t len = 0;
	int ctx = 0;

	if (size > CTL_LINE_MAX)
		size = CTL_LINE_MAX;
	memcpy(line, data, size);
	line[size] = '\0';
	reply.body = open_memstream(&body, &len);
	if (!reply.body)
		return 0;
	ctl_dispatch(cmds, &ctx, line, &reply);
	if (reply.status != 0 && reply.status != 1 && reply.status != 2)
		abort();
	fclose(reply.body);
	free(body);
	return 0;
}
