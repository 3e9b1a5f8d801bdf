/* ctl.h - the control socket: a small line protocol over a UNIX socket.
 *
 * A client connects, writes one request line ("show stats --json"), and
 * reads the reply until the daemon closes: a status line, then the body.
 * The status line is "ok", "usage MESSAGE" (bad request: the CLI exits 2)
 * or "error MESSAGE" (it exits 1). One request per connection keeps the
 * server a plain loop in the control thread, and the protocol greppable
 * (wireguard-tools' UAPI is the model). The socket is created mode 0600 in
 * a directory of mode 0700: root only.
 */
#ifndef RSSNAT_CTL_H
#define RSSNAT_CTL_H

#include <stdbool.h>
#include <stdio.h>

enum {
	CTL_LINE_MAX = 1024, /* request line, newline included */
	CTL_ARGS_MAX = 16,   /* words in a request */
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

struct ctl_reply {
	FILE *body;
	int status; /* 0 ok, 1 error, 2 usage */
	char message[256];
};

/* ctl_fail() - set the reply's status line; returns -1. @status 1 or 2. */
int ctl_fail(struct ctl_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ctl_tokenize() - split @line (modified in place) into at most
 * CTL_ARGS_MAX words; returns the count, or -1 if the line is empty, has
 * too many words, or holds bytes other than printable ASCII and spaces. */
int ctl_tokenize(char *line, char **argv);

/* ctl_dispatch() - run the longest command of @cmds (ends with a zeroed
 * entry) matching the words of @line; fills @reply. */
void ctl_dispatch(const struct ctl_command *cmds, void *ctx, char *line, struct ctl_reply *reply);

/* ctl_take_flag() - take every @flag ("--json") out of the words @argv
 * (@argc updated); true if there was one. */
bool ctl_take_flag(int *argc, char **argv, const char *flag);

/* ctl_arg_value() - for a word "NAME=VALUE" with this @name, the value;
 * NULL otherwise. */
const char *ctl_arg_value(const char *arg, const char *name);

struct ctl_server;
/* ctl_server_open() - listen on @path. Refuses when a daemon already
 * answers there; removes a stale socket. 0 or -errno with *why. */
int ctl_server_open(const char *path, struct ctl_server **out, const char **why);
int ctl_server_fd(const struct ctl_server *s);
/* ctl_server_serve() - accept and answer pending connections (never more
 * than a few per call; each read is bounded in size and time). */
void ctl_server_serve(struct ctl_server *s, const struct ctl_command *cmds, void *ctx);
void ctl_server_close(struct ctl_server *s);

/* ctl_request() - the client side: send @line, copy the body to @out.
 * Returns the reply's status (0, 1, 2) with its message in @why (a static
 * buffer), or 1 with a reason if the daemon cannot be reached. */
int ctl_request(const char *path, const char *line, FILE *out, const char **why);

#endif
