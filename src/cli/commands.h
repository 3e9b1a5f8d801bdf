/* commands.h - every subcommand's entry point, one per line of the table in
 * commands.c. Each takes its own argv (argv[0] is its path) and returns an
 * exit status (enum in cli.h). */
#ifndef RSSNAT_CLI_COMMANDS_H
#define RSSNAT_CLI_COMMANDS_H

int cli_help(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_rss_hash(int argc, char **argv);
int cli_rss_table(int argc, char **argv);
int cli_rss_solve(int argc, char **argv);
int cli_bench_rss(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_bench_nat(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_check_config(int argc, char **argv);
/* cli_daemon() - any command the running gateway answers (cmd_ctl.c). */
int cli_daemon(int argc, char **argv);
/* cli_top() - the running gateway's queues, live (cmd_top.c). */
int cli_top(int argc, char **argv);
int cli_io_probe(int argc, char **argv);
int cli_io_tc_rss(int argc, char **argv);

#endif
