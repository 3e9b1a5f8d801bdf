/* cmd_top.c - `rssnat top`: the running gateway's queues, live, as top(1)
 * shows processes.
 *
 * Theory of operation: every interval the command asks the daemon for
 * `show stats --json` (one request per connection, ctl.h) and keeps the two
 * latest samples; a queue's rates are the difference of its counters over
 * the time between them. The reply is read by a small scanner that knows
 * just enough JSON to find flat keys at an object's own level (strings and
 * nesting are skipped, unknown keys ignored), so the daemon may add
 * counters without breaking it. `show global --json` adds the RSS state to
 * the header when the daemon knows that request; a "usage" or error reply
 * just leaves it out.
 *
 * On a terminal the screen is redrawn in place (ANSI home and clear) with
 * the keyboard in non-canonical mode; poll() on stdin with the time left
 * to the next sample as timeout lets q quit at once. Signals only set a
 * flag, so that every way out goes through the one place that restores the
 * terminal. Anywhere else (a pipe, a file, --batch) each refresh is a plain
 * block of lines.
 */
#include "cli.h"
#include "commands.h"
#include "../ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
	TOP_QUEUES_MAX = 64,	 /* as `rssnat run --queues` */
	TOP_MS_MIN = 200,	 /* --interval 0.2 */
	TOP_MS_MAX = 60000,	 /* --interval 60 */
	TOP_HEADER_LINES = 5,	 /* title, blank, column names, the total, the kernel row */
	TOP_RSS_MAX = 32,	 /* the RSS state word shown in the header */
	TOP_JSON_DEPTH_MAX = 64, /* deeper replies are not the daemon's */
};

struct top_opts {
	const char *socket;
	unsigned interval_ms;
	unsigned long count; /* refreshes to show, 0 for no end */
	bool batch;
};

/* One queue's counters, as the daemon reports them (running totals). */
struct top_queue {
	uint64_t id;
	uint64_t rx, tx, local, handoff, lost, sessions;
};

struct top_sample {
	struct timespec at; /* CLOCK_MONOTONIC */
	unsigned n;
	struct top_queue q[TOP_QUEUES_MAX];
	/* The kernel fast path (show stats' offload object): frames it
	 * forwarded, as received and sent; none: the daemon has none. */
	bool has_fast;
	struct top_queue fast;
};

/* The terminal while the view is interactive. */
struct top_term {
	bool interactive; /* stdout is a terminal and not --batch */
	bool raw;	  /* stdin's mode was changed: restore `saved` */
	int keys;	  /* the fd keys are read from, or -1 */
	struct termios saved;
};

enum top_event { TOP_TICK, TOP_QUIT, TOP_RESIZE };

static volatile sig_atomic_t top_signal;
static volatile sig_atomic_t top_resized;
/* The self-pipe: a handler writes a byte, so that a signal that comes just
 * before poll() still ends its wait. */
static int top_wake[2] = {-1, -1};

static void wake(void)
{
	int saved = errno;

	if (top_wake[1] >= 0) {
		ssize_t r = write(top_wake[1], "", 1);
		(void)r; /* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void on_stop(int sig)
{
	top_signal = sig;
	wake();
}

static void on_winch(int sig)
{
	(void)sig;
	top_resized = 1;
	wake();
}

/* ---- The JSON scanner ---- */

static const char *json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* @p just after an opening quote: the closing quote, or @end. */
static const char *json_string_end(const char *p, const char *end)
{
	while (p < end && *p != '"')
		p += *p == '\\' && p + 1 < end ? 2 : 1;
	return p < end ? p : end;
}

/* @obj at '{': where the value of @key starts at the object's own level, or
 * NULL. Keys of nested objects and string contents never match. */
static const char *json_member(const char *obj, const char *end, const char *key)
{
	size_t key_len = strlen(key);
	int depth = 0;

	for (const char *p = obj; p < end; p++) {
		if (*p == '"') {
			const char *s = p + 1, *e = json_string_end(s, end);
			if (depth == 1 && (size_t)(e - s) == key_len && !memcmp(s, key, key_len)) {
				const char *v = json_ws(e + 1, end);
				if (v < end && *v == ':')
					return json_ws(v + 1, end);
			}
			p = e;
		} else if (*p == '{' || *p == '[') {
			if (++depth > TOP_JSON_DEPTH_MAX)
				return NULL;
		} else if (*p == '}' || *p == ']') {
			if (--depth <= 0)
				return NULL;
		}
	}
	return NULL;
}

/* @p at '{' or '[': just after its matching close, or @end. */
static const char *json_skip(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '"')
			p = json_string_end(p + 1, end);
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
	}
	return end;
}

/* The unsigned number @key holds in @obj; 0 if it is missing or not one
 * (counters the daemon does not have yet count as nothing). Saturates. */
static uint64_t json_u64(const char *obj, const char *end, const char *key)
{
	const char *p = json_member(obj, end, key);
	uint64_t v = 0;

	for (; p && p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	return v;
}

/* The string @key holds in @obj, escapes kept as they are; "" if none. */
static void json_str(const char *obj, const char *end, const char *key, char *out, size_t size)
{
	const char *p = json_member(obj, end, key), *e;
	size_t n;

	out[0] = '\0';
	if (!p || p >= end || *p != '"')
		return;
	e = json_string_end(p + 1, end);
	n = (size_t)(e - p - 1) < size - 1 ? (size_t)(e - p - 1) : size - 1;
	memcpy(out, p + 1, n);
	out[n] = '\0';
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?'; /* the header goes to a terminal */
}

static void queue_from_json(struct top_queue *q, const char *obj, const char *end)
{
	/* Frames lost for any reason: the NAT's, the router rules', the
	 * backend's, and every full ring (receive, handoff, control). */
	static const char *const lost[] = {
	    "dropped",		 "router_dropped",   "tx_failed",	"punt_ring_full",
	    "handoff_ring_full", "ring_dropped_lan", "ring_dropped_wan"};

	q->id = json_u64(obj, end, "queue");
	q->rx = json_u64(obj, end, "rx_lan") + json_u64(obj, end, "rx_wan");
	q->tx = json_u64(obj, end, "tx_lan") + json_u64(obj, end, "tx_wan");
	q->local = json_u64(obj, end, "local");
	q->handoff = json_u64(obj, end, "handoff");
	q->sessions = json_u64(obj, end, "sessions");
	q->lost = 0;
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
		q->lost += json_u64(obj, end, lost[i]);
}

/* {"queues":[{...},...]} into @s; 0, or -1 if there is no queue array. */
static int stats_from_json(struct top_sample *s, const char *text, size_t len)
{
	const char *end = text + len, *p = json_ws(text, end);

	const char *fast = p < end && *p == '{' ? json_member(p, end, "offload") : NULL;

	s->n = 0;
	s->has_fast = fast && fast < end && *fast == '{';
	memset(&s->fast, 0, sizeof(s->fast));
	if (s->has_fast) {
		const char *fast_end = json_skip(fast, end);
		s->fast.rx = s->fast.tx = s->fast.local = json_u64(fast, fast_end, "forwarded");
	}
	if (p >= end || *p != '{' || !(p = json_member(p, end, "queues")) || p >= end || *p != '[')
		return -1;
	for (p = json_ws(p + 1, end); p < end && *p == '{';) {
		const char *obj_end = json_skip(p, end);
		if (s->n < TOP_QUEUES_MAX)
			queue_from_json(&s->q[s->n++], p, obj_end);
		p = json_ws(obj_end, end);
		if (p >= end || *p != ',')
			break;
		p = json_ws(p + 1, end);
	}
	return 0;
}

/* ---- Talking to the daemon ---- */

/* One request; the body in a malloc'ed buffer (*body, *len). Returns the
 * reply's status as ctl_request(). */
static int top_request(const char *path, const char *line, char **body, size_t *len,
		       const char **why)
{
	FILE *m = open_memstream(body, len);
	int status;

	if (!m) {
		*why = "out of memory";
		return 1;
	}
	status = ctl_request(path, line, m, why);
	if (fclose(m)) {
		*why = "out of memory";
		status = 1;
	}
	return status;
}

static int fetch_stats(const struct top_opts *o, struct top_sample *s, const char **why)
{
	char *body = NULL;
	size_t len = 0;
	int status = top_request(o->socket, "show stats --json", &body, &len, why);

	clock_gettime(CLOCK_MONOTONIC, &s->at);
	if (!status && stats_from_json(s, body, len)) {
		*why = "the daemon's reply to 'show stats --json' has no queues";
		status = 1;
	}
	free(body);
	return status;
}

/* The RSS state word of `show global --json`, or "" if the daemon does not
 * say. *ask turns false once the daemon calls the request bad (usage): a
 * daemon without the command is not asked again. */
static void fetch_rss(const struct top_opts *o, bool *ask, char *out, size_t size)
{
	char *body = NULL;
	size_t len = 0;
	const char *why = "";
	int status;

	out[0] = '\0';
	if (!*ask)
		return;
	status = top_request(o->socket, "show global --json", &body, &len, &why);
	if (status == CLI_USAGE)
		*ask = false;
	if (!status && body) {
		const char *p = json_ws(body, body + len);
		if (p < body + len && *p == '{')
			json_str(p, body + len, "rss", out, size);
	}
	free(body);
}

/* ---- The view ---- */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	double dt = (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;

	return dt > 1e-3 ? dt : 1e-3;
}

/* A counter's growth; a counter that went back (the daemon restarted)
 * counts from zero. */
static uint64_t grown(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

static void rate_text(char *buf, size_t size, bool known, uint64_t delta, double dt)
{
	if (known)
		snprintf(buf, size, "%.0f", (double)delta / dt);
	else
		snprintf(buf, size, "-");
}

static void share_text(char *buf, size_t size, bool known, uint64_t local, uint64_t handoff)
{
	if (known && local + handoff)
		snprintf(buf, size, "%.1f%%", 100.0 * (double)handoff / (double)(local + handoff));
	else
		snprintf(buf, size, "-");
}

/* One row: @cur against @prev (NULL: no rates yet). */
static void print_row(FILE *out, const char *eol, const char *label, const struct top_queue *cur,
		      const struct top_queue *prev, double dt)
{
	static const struct top_queue zero;
	const struct top_queue *p = prev ? prev : &zero;
	bool known = prev != NULL;
	char rx[24], tx[24], local[24], handoff[24], share[16], lost[24];
	uint64_t d_local = grown(cur->local, p->local), d_handoff = grown(cur->handoff, p->handoff);

	rate_text(rx, sizeof(rx), known, grown(cur->rx, p->rx), dt);
	rate_text(tx, sizeof(tx), known, grown(cur->tx, p->tx), dt);
	rate_text(local, sizeof(local), known, d_local, dt);
	rate_text(handoff, sizeof(handoff), known, d_handoff, dt);
	share_text(share, sizeof(share), known, d_local, d_handoff);
	rate_text(lost, sizeof(lost), known, grown(cur->lost, p->lost), dt);
	fprintf(out, "%5s %10s %10s %10s %10s %6s %8s %9llu%s\n", label, rx, tx, local, handoff,
		share, lost, (unsigned long long)cur->sessions, eol);
}

static void add_queue(struct top_queue *sum, const struct top_queue *q)
{
	sum->rx += q->rx;
	sum->tx += q->tx;
	sum->local += q->local;
	sum->handoff += q->handoff;
	sum->lost += q->lost;
	sum->sessions += q->sessions;
}

/* The terminal's height, or 0 when unknown. */
static unsigned term_rows(void)
{
	struct winsize ws;

	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_row : 0;
}

/* One refresh: the header, a row per queue, the total. @prev is NULL
 * before there are two samples to compare, or when the queues changed. */
static void render(FILE *out, const struct top_term *t, const struct top_opts *o,
		   const struct top_sample *cur, const struct top_sample *prev, const char *rss)
{
	const char *eol = t->interactive ? "\033[K" : "";
	double dt = prev ? seconds_between(&prev->at, &cur->at) : 1;
	struct top_queue sum = {0}, prev_sum = {0};
	unsigned shown = cur->n, rows = t->interactive ? term_rows() : 0;
	char clock[16], label[24];
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm) || !strftime(clock, sizeof(clock), "%H:%M:%S", &tm))
		snprintf(clock, sizeof(clock), "--:--:--");
	if (rows > TOP_HEADER_LINES + 2 && shown > rows - TOP_HEADER_LINES - 2)
		shown = rows - TOP_HEADER_LINES - 2; /* keep the total on screen */
	fprintf(out, "%srssnat top - %s - %u queue%s%s%s - every %gs%s%s\n",
		t->interactive ? "\033[H" : "", clock, cur->n, cur->n == 1 ? "" : "s",
		*rss ? " - rss " : "", rss, o->interval_ms / 1000.0,
		t->interactive && t->keys >= 0 ? " - q quits" : "", eol);
	fprintf(out, "%s\n", eol);
	fprintf(out, "%5s %10s %10s %10s %10s %6s %8s %9s%s\n", "QUEUE", "RX/s", "TX/s", "LOCAL/s",
		"HANDOFF/s", "HOFF%", "DROP/s", "SESSIONS", eol);
	for (unsigned i = 0; i < cur->n; i++) {
		add_queue(&sum, &cur->q[i]);
		if (prev)
			add_queue(&prev_sum, &prev->q[i]);
		if (i >= shown)
			continue;
		snprintf(label, sizeof(label), "%llu", (unsigned long long)cur->q[i].id);
		print_row(out, eol, label, &cur->q[i], prev ? &prev->q[i] : NULL, dt);
	}
	if (shown < cur->n)
		fprintf(out, "  ... %u more queue%s%s\n", cur->n - shown,
			cur->n - shown == 1 ? "" : "s", eol);
	print_row(out, eol, "total", &sum, prev ? &prev_sum : NULL, dt);
	if (cur->has_fast) /* translated in the kernel, never seen by a queue */
		print_row(out, eol, "kernel", &cur->fast, prev ? &prev->fast : NULL, dt);
	fprintf(out, "%s", t->interactive ? "\033[J" : "\n");
}

/* Draw a refresh with one write, so that the screen never shows half of
 * one (the view is built in memory first). */
static void draw(const struct top_term *t, const struct top_opts *o, const struct top_sample *cur,
		 const struct top_sample *prev, const char *rss)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m) {
		render(m, t, o, cur, prev, rss);
		if (!fclose(m))
			fwrite(buf, 1, len, stdout);
		free(buf);
	}
	fflush(stdout);
}

/* ---- The terminal ---- */

static void term_enter(struct top_term *t)
{
	struct termios raw;

	t->keys = -1;
	t->raw = false;
	if (!t->interactive)
		return;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		raw = t->saved;
		/* Keys one at a time, not echoed. ISIG stays: Ctrl-C is a
		 * SIGINT, which only sets the flag; quit and suspend are off,
		 * as they would leave the terminal in this mode. */
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		raw.c_cc[VQUIT] = _POSIX_VDISABLE;
		raw.c_cc[VSUSP] = _POSIX_VDISABLE;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0) {
			t->raw = true;
			t->keys = STDIN_FILENO;
		}
	}
	/* The cursor hidden, the screen cleared. No alternate screen: as with
	 * top(1), the last refresh stays on the terminal after the end. */
	fputs("\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
}

static void term_leave(struct top_term *t)
{
	if (!t->interactive)
		return;
	fputs("\033[?25h", stdout);
	fflush(stdout);
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
	t->raw = false;
}

static long ms_until(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait for the deadline, a key that quits, a signal or a resize. */
static enum top_event top_wait(struct top_term *t, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd pfd[2] = {{.fd = top_wake[0], .events = POLLIN},
					{.fd = t->keys, .events = POLLIN}};
		char keys[32];
		long ms;
		int n;

		if (top_signal)
			return TOP_QUIT;
		if (top_resized) {
			top_resized = 0;
			return TOP_RESIZE;
		}
		ms = ms_until(deadline);
		if (ms <= 0)
			return TOP_TICK;
		n = poll(pfd, t->keys >= 0 ? 2 : 1, (int)ms);
		if (n <= 0)
			continue; /* a timeout, or a signal (EINTR): looked at above */
		if (pfd[0].revents & POLLIN)
			while (read(top_wake[0], keys, sizeof(keys)) > 0)
				; /* drained; the flags say why */
		if (pfd[1].revents & POLLIN) {
			ssize_t r = read(t->keys, keys, sizeof(keys));
			for (ssize_t i = 0; i < r; i++)
				if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3)
					return TOP_QUIT;
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				t->keys = -1; /* the terminal went away: no more keys */
		} else if (pfd[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			t->keys = -1;
		}
	}
}

/* ---- Options ---- */

static int parse_interval(const char *v, unsigned *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(s) || s * 1000 < TOP_MS_MIN - 0.5 ||
	    s * 1000 > TOP_MS_MAX + 0.5)
		return cli_usage_error("--interval",
				       "'%s' is not a number of seconds from %g to %g", v,
				       TOP_MS_MIN / 1000.0, TOP_MS_MAX / 1000.0);
	*ms = (unsigned)(s * 1000 + 0.5); /* in range: no overflow */
	return 0;
}

static const struct option top_longopts[] = {
    {"interval", required_argument, NULL, 'i'},
    {"count", required_argument, NULL, 'n'},
    {"batch", no_argument, NULL, 'b'},
    {"socket", required_argument, NULL, 's'},
    {0},
};

static int parse_options(int argc, char **argv, struct top_opts *o)
{
	const char *env = getenv("RSSNAT_SOCKET");
	int c;

	*o = (struct top_opts){.socket = env && *env ? env : CTL_DEFAULT_SOCKET,
			       .interval_ms = 1000};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", top_longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_interval(optarg, &o->interval_ms))
				return CLI_USAGE;
			break;
		case 'n':
			if (cli_parse_uint(optarg, 1, 1000000000, &o->count))
				return cli_usage_error(
				    "--count", "'%s' is not a number from 1 to 1000000000", optarg);
			break;
		case 'b':
			o->batch = true;
			break;
		case 's':
			if (!*optarg)
				return cli_usage_error("--socket", "needs a path");
			o->socket = optarg;
			break;
		default:
			return cli_usage_error(argv[optind - 1],
					       optopt ? "needs a value"
						      : "unknown option (see 'rssnat help top')");
		}
	}
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	return 0;
}

/* ---- The command ---- */

/* 0, or -1 if the self-pipe cannot be made. */
static int catch_signals(struct sigaction *old)
{
	static const int stop[] = {SIGINT, SIGTERM, SIGHUP};
	/* No SA_RESTART: a signal must end the wait in poll() (and a
	 * request's read) so that the flag is seen. */
	struct sigaction sa = {.sa_handler = on_stop};

	if (pipe2(top_wake, O_NONBLOCK | O_CLOEXEC))
		return -1;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(stop[i], &sa, &old[i]);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, &old[3]);
	return 0;
}

static void release_signals(const struct sigaction *old)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	for (int i = 0; i < 2; i++) {
		close(top_wake[i]);
		top_wake[i] = -1;
	}
}

static void advance(struct timespec *deadline, unsigned ms)
{
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

int cli_top(int argc, char **argv)
{
	static struct top_sample samples[2];
	struct top_opts o;
	struct top_term term = {0};
	struct sigaction old[4];
	struct timespec deadline;
	char rss[TOP_RSS_MAX];
	const char *why = "";
	bool ask_rss = true, rates = false; /* samples[cur] has a previous one to compare */
	unsigned long shown = 0;
	int cur = 0, status = 0;

	if (parse_options(argc, argv, &o))
		return CLI_USAGE;
	/* Unreachable daemon: one line, before the terminal is touched. */
	if (fetch_stats(&o, &samples[cur], &why)) {
		fprintf(stderr, "rssnat: top: %s\n", why);
		return CLI_FAILED;
	}
	fetch_rss(&o, &ask_rss, rss, sizeof(rss));
	top_signal = 0;
	top_resized = 0;
	if (catch_signals(old)) {
		fprintf(stderr, "rssnat: top: cannot make a pipe\n");
		return CLI_FAILED;
	}
	term.interactive = !o.batch && isatty(STDOUT_FILENO);
	term_enter(&term);
	if (term.interactive)
		draw(&term, &o, &samples[cur], NULL, rss); /* figures at once, rates to come */
	deadline = samples[cur].at;
	advance(&deadline, o.interval_ms);
	while (!o.count || shown < o.count) {
		enum top_event ev = top_wait(&term, &deadline);

		if (ev == TOP_QUIT)
			break;
		if (ev == TOP_RESIZE) {
			if (term.interactive)
				draw(&term, &o, &samples[cur], rates ? &samples[!cur] : NULL, rss);
			continue;
		}
		cur = !cur;
		status = fetch_stats(&o, &samples[cur], &why);
		if (top_signal) {
			status = 0; /* the request was cut short by the stop */
			break;
		}
		if (status)
			break;
		fetch_rss(&o, &ask_rss, rss, sizeof(rss));
		/* Queues added or gone (a restart): rates from the next sample. */
		rates = samples[cur].n == samples[!cur].n;
		draw(&term, &o, &samples[cur], rates ? &samples[!cur] : NULL, rss);
		shown++;
		advance(&deadline, o.interval_ms);
		if (ms_until(&deadline) < 0) { /* a slow daemon: no catching up */
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			advance(&deadline, o.interval_ms);
		}
	}
	term_leave(&term);
	release_signals(old);
	if (status) {
		fprintf(stderr, "rssnat: top: %s\n", why);
		return CLI_FAILED;
	}
	return CLI_OK;
}
