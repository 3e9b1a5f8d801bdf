/* ctl.h - the control socket: a small line protocol over a UNIX socket.
 *
 * A client connects, writes one request line ("show stats --json"), and
 * reads the reply until the daemon closes: a status line, then the body.
 * The status line is "ok", "usage MESSAGE" (bad request: the CLI exits 2)
 * or "error MESSAGE" (it exits 1). One request per connection keeps the
 * protocol greppable (wireguard-tools' UAPI is the model). The socket is
 * created mode 0600 in a directory of mode 0700: root only.
 *
 * The server (server.c) lives in the gateway's control thread, which also
 * runs ARP, DHCP and the DNS proxy: no client may ever block it. Every
 * client is served with non-blocking I/O from the thread's poll() loop, and
 * bounded in number, time and memory:
 *
 *   (accept) --more than CTL_CLIENTS_MAX open--> refused: one "error" line
 *   READING  --a line within CTL_REQUEST_MS--> the handler runs
 *            --no newline by then--> dropped (request_timeout)
 *   WAITING  the handler waits on the workers (ctl_again()): run again
 *            every CTL_AGAIN_MS, for at most CTL_WAIT_MS, then "error"
 *   WRITING  status line and body, piece by piece: a long reply's handler
 *            hands over a producer (ctl_reply.more) that writes the next
 *            piece only when the client has taken the last one
 *            --everything taken within CTL_REPLY_MS--> closed (answered)
 *            --not taken by then--> dropped (reply_timeout)
 *
 * Each client owns one input line and one piece of output at a time; the
 * counters are in `rssnat show stats` (ctl line).
 */
#ifndef RSSNAT_CTL_H
#define RSSNAT_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum {
	CTL_LINE_MAX = 1024,		    /* request line, newline included */
	CTL_ARGS_MAX = 16,		    /* words in a request */
	CTL_CLIENTS_MAX = 16,		    /* connections served at once */
	CTL_POLL_MAX = 1 + CTL_CLIENTS_MAX, /* ctl_server_pollfds(): listener + clients */
	CTL_REQUEST_MS = 3000,		    /* from connect to the request's newline */
	CTL_WAIT_MS = 3000,		    /* a request waiting on the workers */
	CTL_AGAIN_MS = 5,		    /* between two runs of a waiting request */
	CTL_REPLY_MS = 10000,		    /* from the first byte of a reply to its last */
	CTL_ACCEPT_PER_ROUND = 8,	    /* connections accepted per ctl_server_run() */
	CTL_PIECES_PER_ROUND = 8,	    /* pieces of long replies written per run */
	CTL_PIECE = 64 * 1024,		    /* what a long reply's producer writes at a time */
	/* The client gives up on a daemon silent this long: a live one
	 * answers or drops a client well within its deadlines above. */
	CTL_CLIENT_IDLE_MS = 20000,
};

/* What the server counts (ctl_server_counters(); `rssnat show stats`). */
#define CTL_COUNTERS(X)                                                                            \
	X(accepted, "connections accepted")                                                        \
	X(answered, "replies delivered whole")                                                     \
	X(refused_busy, "connections refused at once: CTL_CLIENTS_MAX were open")                  \
	X(request_timeout, "clients dropped: no request line within CTL_REQUEST_MS")               \
	X(request_too_long, "request lines over CTL_LINE_MAX bytes (usage reply)")                 \
	X(wait_timeout, "requests still waiting on the workers after CTL_WAIT_MS (error reply)")   \
	X(reply_timeout, "clients dropped: reply not taken within CTL_REPLY_MS")                   \
	X(hung_up, "clients gone before their reply was delivered")

struct ctl_counters {
#define CTL_COUNTER_FIELD(name, text) uint64_t name;
	CTL_COUNTERS(CTL_COUNTER_FIELD)
#undef CTL_COUNTER_FIELD
	uint32_t clients; /* open now */
};

#define CTL_DEFAULT_SOCKET "/run/rssnat/rssnat.sock"

/* A request handler: write the body to @out; return 0 ("ok"), or call
 * ctl_fail() and return its value. */
struct ctl_reply;
typedef int (*ctl_handler)(void *ctx, int argc, char **argv, struct ctl_reply *reply);

struct ctl_command {
	const char *path; /* the words that name it, e.g. "show stats" */
	ctl_handler run;
};

/* What a handler answers. @body is the server's, for this run only. */
struct ctl_reply {
	FILE *body;
	int status; /* 0 ok, 1 error, 2 usage */
	char message[256];
	/* A long reply (status 0): after @body is taken, the server calls
	 * more(more_state, piece) with a fresh piece each time the client has
	 * taken the one before, until it returns false; then, or when the
	 * client goes away first, more_free(more_state). A piece should stay
	 * within CTL_PIECE bytes: that is all one client holds. Ownership of
	 * more_state passes from the handler to the server here. */
	bool (*more)(void *more_state, FILE *piece);
	void (*more_free)(void *more_state);
	void *more_state;
	/* Set by ctl_again(): not answered yet, run again later. */
	bool again;
	uint32_t waited_ms; /* how long this request has waited (0: first run) */
};

/* ctl_fail() - set the reply's status line; returns -1. @status 1 or 2. */
int ctl_fail(struct ctl_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ctl_again() - the handler must wait on the workers (a move still under
 * way): it writes nothing now and is run again, with the same words, in
 * CTL_AGAIN_MS, never blocking the thread. If it still waits after
 * CTL_WAIT_MS, the request fails with the message given here. Returns -1. */
int ctl_again(struct ctl_reply *reply, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ctl_tokenize() - split @line (modified in place) into at most
 * CTL_ARGS_MAX words; returns the count, or -1 if the line is empty, has
 * too many words, or holds bytes other than printable ASCII and spaces. */
int ctl_tokenize(char *line, char **argv);

/* ctl_dispatch() - run the longest command of @cmds (ends with a zeroed
 * entry) matching the words of @line; fills @reply (its status, message,
 * more and again are reset first; body and waited_ms are the caller's). */
void ctl_dispatch(const struct ctl_command *cmds, void *ctx, char *line, struct ctl_reply *reply);

/* ctl_take_flag() - take every @flag ("--json") out of the words @argv
 * (@argc updated); true if there was one. */
bool ctl_take_flag(int *argc, char **argv, const char *flag);

/* ctl_arg_value() - for a word "NAME=VALUE" with this @name, the value;
 * NULL otherwise. */
const char *ctl_arg_value(const char *arg, const char *name);

struct ctl_server;
struct pollfd;
/* ctl_server_open() - listen on @path, non-blocking. Refuses when a daemon
 * already answers there; removes a stale socket. 0 or -errno with *why. */
int ctl_server_open(const char *path, struct ctl_server **out, const char **why);
/* ctl_server_pollfds() - the listener and each client, with what each
 * waits for, into @fds (at most @max, CTL_POLL_MAX is enough). Returns how
 * many. */
unsigned ctl_server_pollfds(struct ctl_server *s, struct pollfd *fds, unsigned max);
/* ctl_server_run() - after poll() on what ctl_server_pollfds() gave (@n
 * entries, revents filled): accept, read, answer with @cmds and @ctx,
 * write, and drop clients past their deadlines at @now_ms (monotonic
 * milliseconds, wrapping). Never blocks: at most CTL_ACCEPT_PER_ROUND
 * accepts, one read per client, CTL_PIECES_PER_ROUND pieces of long
 * replies. Call it often (deadlines are checked here), also with @n 0. */
void ctl_server_run(struct ctl_server *s, const struct pollfd *fds, unsigned n, uint32_t now_ms,
		    const struct ctl_command *cmds, void *ctx);
/* ctl_server_counters() - what @s counted; NULL for no server (NULL). */
const struct ctl_counters *ctl_server_counters(const struct ctl_server *s);
/* ctl_server_close() - drop every client, stop listening, remove the socket. */
void ctl_server_close(struct ctl_server *s);

/* ctl_request() - the client side: send @line, copy the body to @out.
 * Returns the reply's status (0, 1, 2) with its message in @why (a static
 * buffer), or 1 with a reason if the daemon cannot be reached or stays
 * silent for CTL_CLIENT_IDLE_MS. */
int ctl_request(const char *path, const char *line, FILE *out, const char **why);
/* ctl_request_within() - the same, silent for at most @idle_ms. */
int ctl_request_within(const char *path, const char *line, FILE *out, unsigned idle_ms,
		       const char **why);

#endif
