/* main.c - rssnat: Internet Connection Sharing whose data plane scales with RSS.
 * Everything is a subcommand; the table lives in cli/commands.c. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
