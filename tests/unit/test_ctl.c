/* test_ctl.c - the control protocol: tokenizer, dispatch, a real socket. */
#include "test.h"
#include "../../src/ctl/ctl.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int h_echo(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	(*(int *)ctx)++;
	fprintf(reply->body, "argc=%d", argc);
	for (int i = 0; i < argc; i++)
		fprintf(reply->body, " %s", argv[i]);
	fprintf(reply->body, "\n");
	return 0;
}

static int h_fail(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return ctl_fail(reply, 1, "it failed on purpose");
}

static const struct ctl_command cmds[] = {
    {"show", h_echo},
    {"show stats", h_echo},
    {"fail", h_fail},
    {0},
};

TEST(ctl_tokenize_bounds_and_bytes)
{
	char *argv[CTL_ARGS_MAX];
	char ok[] = "  show   stats --json ";
	char empty[] = "   ";
	char ctrl[] = "show\tstats";
	char high[] = "show \xc3\xa9";
	char many[200] = "";

	CHECK_EQ(ctl_tokenize(ok, argv), 3);
	CHECK(!strcmp(argv[0], "show") && !strcmp(argv[1], "stats") && !strcmp(argv[2], "--json"));
	CHECK_EQ(ctl_tokenize(empty, argv), -1);
	CHECK_EQ(ctl_tokenize(ctrl, argv), -1);
	CHECK_EQ(ctl_tokenize(high, argv), -1);
	for (int i = 0; i < CTL_ARGS_MAX + 1; i++)
		strcat(many, "w ");
	CHECK_EQ(ctl_tokenize(many, argv), -1);
}

TEST(ctl_dispatch_longest_match_and_errors)
{
	struct ctl_reply r = {0};
	char *body = NULL;
	size_t len = 0;
	int calls = 0;
	char l1[] = "show stats --json", l2[] = "show sessions", l3[] = "nope", l4[] = "fail";

	r.body = open_memstream(&body, &len);
	ctl_dispatch(cmds, &calls, l1, &r);
	CHECK_EQ(r.status, 0);
	ctl_dispatch(cmds, &calls, l2, &r);
	CHECK_EQ(r.status, 0);
	fflush(r.body);
	CHECK(strstr(body, "argc=1 --json\n") != NULL);	  /* "show stats" matched */
	CHECK(strstr(body, "argc=1 sessions\n") != NULL); /* "show" matched */
	ctl_dispatch(cmds, &calls, l3, &r);
	CHECK_EQ(r.status, 2);
	CHECK(strstr(r.message, "unknown request 'nope'") != NULL);
	ctl_dispatch(cmds, &calls, l4, &r);
	CHECK_EQ(r.status, 1);
	CHECK(!strcmp(r.message, "it failed on purpose"));
	CHECK_EQ(calls, 2);
	fclose(r.body);
	free(body);
}

struct served {
	struct ctl_server *s;
	int calls;
	volatile int stop;
};

static uint32_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* One round of the control thread's loop, as gw_control_loop() does it. */
static void serve_round(struct ctl_server *s, int wait_ms, uint32_t now, void *ctx)
{
	struct pollfd fds[CTL_POLL_MAX];
	unsigned n = ctl_server_pollfds(s, fds, CTL_POLL_MAX);

	poll(fds, n, wait_ms);
	ctl_server_run(s, fds, n, now, cmds, ctx);
}

static void *serve_loop(void *arg)
{
	struct served *sv = arg;

	for (int i = 0; i < 400 && !sv->stop; i++)
		serve_round(sv->s, 5, mono_ms(), &sv->calls);
	return NULL;
}

TEST(ctl_socket_round_trip_mode_and_refusals)
{
	char dir[] = "/tmp/rssnat-ctl-XXXXXX";
	char path[128], *body = NULL;
	size_t len = 0;
	const char *why = NULL;
	struct served sv = {0};
	struct ctl_server *second = NULL;
	struct stat st;
	pthread_t t;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", dir);
	CHECK(ctl_server_open(path, &sv.s, &why) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	pthread_create(&t, NULL, serve_loop, &sv);
	FILE *out = open_memstream(&body, &len);
	CHECK_EQ(ctl_request(path, "show stats --json", out, &why), 0);
	CHECK_EQ(ctl_request(path, "fail", out, &why), 1);
	CHECK(!strcmp(why, "it failed on purpose"));
	CHECK_EQ(ctl_request(path, "bogus words", out, &why), 2);
	fflush(out);
	CHECK(!strcmp(body, "argc=1 --json\n"));
	/* A second daemon must not take over a live socket. */
	CHECK(ctl_server_open(path, &second, &why) != 0 && strstr(why, "another rssnat"));
	sv.stop = 1;
	pthread_join(t, NULL);
	ctl_server_close(sv.s);
	CHECK(access(path, F_OK) != 0); /* removed on close */
	CHECK_EQ(ctl_request(path, "show", out, &why), 1);
	CHECK(strstr(why, "no rssnat daemon") != NULL);
	/* A stale socket file (no listener) is replaced. */
	CHECK(ctl_server_open(path, &sv.s, &why) == 0);
	ctl_server_close(sv.s);
	fclose(out);
	free(body);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

#include <sys/socket.h>
#include <sys/un.h>

/* A client that connects and hangs up at once (as the liveness probe of a
 * second daemon does) must not cost the server a SIGPIPE. */
TEST(ctl_server_survives_a_client_that_hangs_up)
{
	char dir[] = "/tmp/rssnat-ctl-XXXXXX", path[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_server *s = NULL;
	const char *why = NULL;
	int calls = 0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	CHECK(ctl_server_open(path, &s, &why) == 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < 3; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		CHECK(write(fd, "show", 4) == 4); /* no newline, then gone */
		close(fd);
	}
	for (int i = 0; i < 3; i++) /* would die of SIGPIPE with write() */
		serve_round(s, 0, 0, &calls);
	CHECK_EQ(calls, 0);
	CHECK_EQ(ctl_server_counters(s)->clients, 0);
	ctl_server_close(s);
	rmdir(dir);
}

TEST(ctl_flags_and_values_are_taken_out_of_the_words)
{
	char w0[] = "--json", w1[] = "rss=enabled", w2[] = "--json", w3[] = "queues=4";
	char *argv[] = {w0, w1, w2, w3};
	int argc = 4;

	CHECK(ctl_take_flag(&argc, argv, "--json"));
	CHECK_EQ(argc, 2);
	CHECK(!strcmp(argv[0], "rss=enabled") && !strcmp(argv[1], "queues=4"));
	CHECK(!ctl_take_flag(&argc, argv, "--json"));
	CHECK_EQ(argc, 2);
	CHECK(!strcmp(ctl_arg_value(argv[0], "rss"), "enabled"));
	CHECK(ctl_arg_value(argv[0], "rs") == NULL); /* a prefix of the name is not the name */
	CHECK(ctl_arg_value(argv[1], "rss") == NULL);
	CHECK(!strcmp(ctl_arg_value("key=", "key"), "")); /* empty value: the caller judges it */
}

/* A daemon that takes the connection and then says nothing (its control
 * thread stuck): the client gives up after its idle time, with a reason. */
TEST(ctl_client_gives_up_on_a_silent_daemon)
{
	char dir[] = "/tmp/rssnat-ctl-XXXXXX", path[64], *body = NULL;
	struct ctl_server *s = NULL;
	const char *why = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&body, &len);
	uint32_t t0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	CHECK(ctl_server_open(path, &s, &why) == 0); /* listening, never served */
	t0 = mono_ms();
	CHECK_EQ(ctl_request_within(path, "show stats", out, 200, &why), 1);
	CHECK(mono_ms() - t0 >= 190 && mono_ms() - t0 < 2000);
	CHECK(!strcmp(why, "the daemon stopped answering"));
	ctl_server_close(s);
	fclose(out);
	free(body);
	rmdir(dir);
}
