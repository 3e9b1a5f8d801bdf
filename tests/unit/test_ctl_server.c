/* test_ctl_server.c - the control socket's server as a state machine, on
 * real sockets with a made-up clock: clients that trickle, do not read,
 * crowd in or wait on the workers; long replies in pieces. The server runs
 * in the test's own thread, so a blocking call would hang the test. */
#include "test.h"
#include "../../src/ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	char dir[32], path[64];
	struct ctl_server *s;
	bool ready; /* h_wait answers once set */
	unsigned freed;
};

/* ---- handlers ---- */

static int h_echo(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	(void)ctx;
	(void)argv;
	fprintf(reply->body, "argc=%d\n", argc);
	return 0;
}

enum { LONG_LINES = 400000, LINES_PER_PIECE = 1000 }; /* 4.4 MB, far past a socket's buffer */

struct long_state {
	unsigned next;
	struct fixture *fx;
};

static bool long_more(void *state, FILE *piece)
{
	struct long_state *l = state;

	for (unsigned i = 0; i < LINES_PER_PIECE && l->next < LONG_LINES; i++)
		fprintf(piece, "line %05u\n", l->next++ % 100000);
	return l->next < LONG_LINES;
}

static void long_free(void *state)
{
	struct long_state *l = state;

	l->fx->freed++;
	free(l);
}

static int h_long(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct long_state *l = calloc(1, sizeof(*l));

	(void)argc;
	(void)argv;
	l->fx = ctx;
	reply->more = long_more;
	reply->more_free = long_free;
	reply->more_state = l;
	return 0;
}

static int h_wait(void *ctx, int argc, char **argv, struct ctl_reply *reply)
{
	struct fixture *fx = ctx;

	(void)argc;
	(void)argv;
	if (!fx->ready)
		return ctl_again(reply, "still moving sessions");
	fprintf(reply->body, "waited=%u\n", reply->waited_ms);
	return 0;
}

static const struct ctl_command cmds[] = {
    {"show stats", h_echo},
    {"long", h_long},
    {"wait", h_wait},
    {0},
};

/* ---- the harness ---- */

static void fx_open(struct fixture *fx)
{
	const char *why = "";

	*fx = (struct fixture){0};
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rssnat-ctls-XXXXXX");
	CHECK(mkdtemp(fx->dir) != NULL);
	snprintf(fx->path, sizeof(fx->path), "%s/ctl.sock", fx->dir);
	CHECK(ctl_server_open(fx->path, &fx->s, &why) == 0);
}

static void fx_close(struct fixture *fx)
{
	ctl_server_close(fx->s);
	rmdir(fx->dir);
}

static double elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static double slowest_round_ms;

/* One round of the control thread at @now; it must never block. */
static void round_at(struct fixture *fx, uint32_t now)
{
	struct pollfd fds[CTL_POLL_MAX];
	unsigned n = ctl_server_pollfds(fx->s, fds, CTL_POLL_MAX);
	struct timespec t0;
	double ms;

	poll(fds, n, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ctl_server_run(fx->s, fds, n, now, cmds, fx);
	ms = elapsed_ms(&t0);
	if (ms > slowest_round_ms)
		slowest_round_ms = ms;
}

/* A client socket, connected, non-blocking for the test's reads. */
static int client(const struct fixture *fx, const char *send_now)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx->path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (send_now)
		CHECK(send(fd, send_now, strlen(send_now), 0) == (ssize_t)strlen(send_now));
	return fd;
}

/* What @fd has received so far (NUL-terminated in @buf); *eof set when the
 * server has closed. */
static size_t take(int fd, char *buf, size_t cap, bool *eof)
{
	size_t n = 0;
	ssize_t r;

	*eof = false;
	while (n + 1 < cap && (r = recv(fd, buf + n, cap - 1 - n, 0)) != 0) {
		if (r < 0) {
			*eof = errno != EAGAIN;
			break;
		}
		n += (size_t)r;
	}
	if (n + 1 < cap && r == 0)
		*eof = true;
	buf[n] = '\0';
	return n;
}

static const struct ctl_counters *counters(const struct fixture *fx)
{
	return ctl_server_counters(fx->s);
}

/* ---- the cases ---- */

TEST(ctl_server_answers_others_while_one_client_trickles)
{
	struct fixture fx;
	char buf[256];
	bool eof;

	fx_open(&fx);
	slowest_round_ms = 0;
	int slow = client(&fx, "sho");
	int quick = client(&fx, "show stats\n");
	round_at(&fx, 0);
	round_at(&fx, 1);
	take(quick, buf, sizeof(buf), &eof);
	CHECK(!strcmp(buf, "ok\nargc=0\n") && eof); /* served, the trickler still open */
	CHECK_EQ(counters(&fx)->clients, 1);
	CHECK(send(slow, "w", 1, 0) == 1); /* a byte now and then: not a line */
	round_at(&fx, CTL_REQUEST_MS - 1);
	CHECK_EQ(counters(&fx)->clients, 1);
	round_at(&fx, CTL_REQUEST_MS);
	CHECK_EQ(counters(&fx)->clients, 0);
	CHECK_EQ(counters(&fx)->request_timeout, 1);
	CHECK_EQ(counters(&fx)->answered, 1);
	take(slow, buf, sizeof(buf), &eof);
	CHECK(!strncmp(buf, "error no request line within", 28) && eof);
	CHECK(slowest_round_ms < 100);
	close(slow);
	close(quick);
	fx_close(&fx);
}

TEST(ctl_server_a_line_too_long_or_cut_short_gets_usage)
{
	struct fixture fx;
	char big[CTL_LINE_MAX + 100], buf[256];
	bool eof;

	fx_open(&fx);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	int longer = client(&fx, big);
	int cut = client(&fx, "show st");
	shutdown(cut, SHUT_WR);
	for (int i = 0; i < 4; i++)
		round_at(&fx, (uint32_t)i);
	take(longer, buf, sizeof(buf), &eof);
	CHECK(strstr(buf, "usage request must be one line of at most 1024 bytes") == buf);
	take(cut, buf, sizeof(buf), &eof);
	CHECK(strstr(buf, "usage request must be one line") == buf && eof);
	CHECK_EQ(counters(&fx)->request_too_long, 1);
	CHECK_EQ(counters(&fx)->clients, 0);
	close(longer);
	close(cut);
	fx_close(&fx);
}

TEST(ctl_server_refuses_clients_beyond_the_limit_at_once)
{
	struct fixture fx;
	int fds[CTL_CLIENTS_MAX + 2];
	char buf[256];
	bool eof;
	unsigned refused = 0;

	fx_open(&fx);
	/* In batches below the listen backlog: the server accepts between. */
	for (int i = 0; i < CTL_CLIENTS_MAX + 2; i++) {
		fds[i] = client(&fx, NULL);
		if (i % 4 == 3)
			round_at(&fx, 0);
	}
	round_at(&fx, 0);
	round_at(&fx, 0);
	CHECK_EQ(counters(&fx)->clients, CTL_CLIENTS_MAX);
	CHECK_EQ(counters(&fx)->refused_busy, 2);
	for (int i = 0; i < CTL_CLIENTS_MAX + 2; i++) {
		take(fds[i], buf, sizeof(buf), &eof);
		if (eof && strstr(buf, "error the daemon serves 16 control clients at once") == buf)
			refused++;
	}
	CHECK_EQ(refused, 2);
	/* A slot frees: the next client is served. */
	close(fds[0]);
	round_at(&fx, 1);
	int next = client(&fx, "show stats\n");
	round_at(&fx, 2);
	take(next, buf, sizeof(buf), &eof);
	CHECK(!strcmp(buf, "ok\nargc=0\n"));
	for (int i = 1; i < CTL_CLIENTS_MAX + 2; i++)
		close(fds[i]);
	close(next);
	fx_close(&fx);
}

/* Checks the long reply's lines in order; returns how many. */
static unsigned long_lines_in_order(const char *text, size_t len)
{
	unsigned n = 0;

	if (len < 3 || strncmp(text, "ok\n", 3))
		return 0;
	for (size_t off = 3; off + 11 <= len; off += 11, n++) {
		char want[12];
		snprintf(want, sizeof(want), "line %05u\n", n % 100000);
		if (memcmp(text + off, want, 11))
			return n;
	}
	return n;
}

TEST(ctl_server_long_reply_reaches_a_reader_whole_in_pieces)
{
	struct fixture fx;
	size_t cap = 3 + (size_t)LONG_LINES * 11 + 1, have = 0;
	char *all = malloc(cap);
	bool eof = false;
	int rounds = 0;

	fx_open(&fx);
	slowest_round_ms = 0;
	int fd = client(&fx, "long\n");
	while (!eof && rounds++ < 200000) {
		round_at(&fx, 5);
		have += take(fd, all + have, cap - have, &eof);
	}
	CHECK_EQ(have, cap - 1);
	CHECK_EQ(long_lines_in_order(all, have), LONG_LINES);
	CHECK_EQ(counters(&fx)->answered, 1);
	CHECK_EQ(fx.freed, 1);
	CHECK(slowest_round_ms < 100);
	close(fd);
	free(all);
	fx_close(&fx);
}

TEST(ctl_server_drops_a_client_that_does_not_read_its_reply)
{
	struct fixture fx;
	char buf[4096];
	bool eof;

	fx_open(&fx);
	slowest_round_ms = 0;
	int fd = client(&fx, "long\n");
	for (uint32_t now = 0; now < CTL_REPLY_MS; now += 500)
		round_at(&fx, now);
	CHECK_EQ(counters(&fx)->clients, 1); /* still within its deadline */
	CHECK_EQ(fx.freed, 0);
	round_at(&fx, CTL_REPLY_MS);
	CHECK_EQ(counters(&fx)->clients, 0);
	CHECK_EQ(counters(&fx)->reply_timeout, 1);
	CHECK_EQ(counters(&fx)->answered, 0);
	CHECK_EQ(fx.freed, 1); /* the producer's state went with it */
	CHECK(slowest_round_ms < 100);
	while (take(fd, buf, sizeof(buf), &eof) && !eof)
		;
	CHECK(eof); /* what the kernel held, then the end */
	close(fd);
	fx_close(&fx);
}

TEST(ctl_server_a_request_waits_on_the_workers_without_blocking)
{
	struct fixture fx;
	char buf[256];
	bool eof;

	fx_open(&fx);
	int patient = client(&fx, "wait\n");
	round_at(&fx, 100);
	round_at(&fx, 100 + CTL_AGAIN_MS);
	take(patient, buf, sizeof(buf), &eof);
	CHECK(!buf[0] && !eof); /* nothing yet */
	fx.ready = true;
	round_at(&fx, 100 + 2 * CTL_AGAIN_MS);
	take(patient, buf, sizeof(buf), &eof);
	CHECK_EQ(strcmp(buf, "ok\nwaited=10\n"), 0);
	CHECK(eof);

	fx.ready = false;
	int hopeless = client(&fx, "wait\n");
	round_at(&fx, 1000);
	round_at(&fx, 1000 + CTL_WAIT_MS - 1);
	take(hopeless, buf, sizeof(buf), &eof);
	CHECK(!buf[0]);
	round_at(&fx, 1000 + CTL_WAIT_MS);
	take(hopeless, buf, sizeof(buf), &eof);
	CHECK_EQ(strcmp(buf, "error still moving sessions\n"), 0);
	CHECK_EQ(counters(&fx)->wait_timeout, 1);
	close(patient);
	close(hopeless);
	fx_close(&fx);
}
