/* ctl.c - the control socket's protocol and its client (see ctl.h; the
 * server is server.c). */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int ctl_fail(struct ctl_reply *reply, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
	reply->status = status;
	return -1;
}

int ctl_again(struct ctl_reply *reply, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
	reply->again = true;
	return -1;
}

int ctl_tokenize(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -1;
	for (char *p = line; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == CTL_ARGS_MAX)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return argc ? argc : -1;
}

/* How many leading words of argv spell @path, or 0. */
static int words_match(const char *path, int argc, char **argv)
{
	int words = 0;

	for (const char *p = path; *p; words++) {
		size_t len = strcspn(p, " ");
		if (words >= argc || strlen(argv[words]) != len || strncmp(argv[words], p, len))
			return 0;
		p += len;
		p += *p == ' ';
	}
	return words;
}

void ctl_dispatch(const struct ctl_command *cmds, void *ctx, char *line, struct ctl_reply *reply)
{
	char *argv[CTL_ARGS_MAX];
	int argc = ctl_tokenize(line, argv), best_words = 0;
	const struct ctl_command *best = NULL;

	reply->status = 0;
	reply->message[0] = '\0';
	reply->more = NULL;
	reply->more_free = NULL;
	reply->more_state = NULL;
	reply->again = false;
	if (argc < 0) {
		ctl_fail(reply, 2, "request must be one line of at most %d printable words",
			 CTL_ARGS_MAX);
		return;
	}
	for (const struct ctl_command *c = cmds; c->path; c++) {
		int words = words_match(c->path, argc, argv);
		if (words > best_words) {
			best = c;
			best_words = words;
		}
	}
	if (!best) {
		ctl_fail(reply, 2, "unknown request '%s'", argv[0]);
		return;
	}
	best->run(ctx, argc - best_words, argv + best_words, reply);
}

/* send(), not write(): a daemon that hung up must cost an error, never a
 * SIGPIPE. The client blocks: it is a command-line tool. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

static int parse_status(char *first, const char **why)
{
	static char message[300];
	char *space = strchr(first, ' ');

	snprintf(message, sizeof(message), "%s", space ? space + 1 : "");
	*why = message;
	if (space)
		*space = '\0';
	if (!strcmp(first, "ok"))
		return 0;
	if (!strcmp(first, "usage"))
		return 2;
	if (!*message)
		snprintf(message, sizeof(message), "malformed reply from the daemon");
	return 1;
}

/* A daemon that stops answering must not hang the CLI (nor a script): the
 * socket's own timeouts bound connect() (a full backlog), send() and every
 * read(). */
static int client_socket(const char *path, unsigned idle_ms, const char **why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = idle_ms / 1000, .tv_usec = (idle_ms % 1000) * 1000};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*why = "control socket path is too long";
		return -1;
	}
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		*why = errno == EACCES	 ? "permission denied on the control socket (root only)"
		       : errno == EAGAIN ? "the daemon did not take the connection (busy)"
					 : "no rssnat daemon answers on the control socket";
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int ctl_request_within(const char *path, const char *line, FILE *out, unsigned idle_ms,
		       const char **why)
{
	char buf[4096], first[300];
	size_t have = 0;
	int fd = client_socket(path, idle_ms, why), status = -1;
	ssize_t r;

	if (fd < 0)
		return 1;
	write_all(fd, line, strlen(line));
	write_all(fd, "\n", 1);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		size_t off = 0;
		while (status < 0 && off < (size_t)r) {
			char c = buf[off++];
			if (c == '\n' || have + 1 == sizeof(first)) {
				first[have] = '\0';
				status = parse_status(first, why);
			} else {
				first[have++] = c;
			}
		}
		if (status >= 0 && off < (size_t)r)
			fwrite(buf + off, 1, (size_t)r - off, out);
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*why = "the daemon stopped answering";
		status = -1;
	} else if (status < 0) {
		*why = "the daemon closed the connection without a reply";
	}
	close(fd);
	return status < 0 ? 1 : status;
}

int ctl_request(const char *path, const char *line, FILE *out, const char **why)
{
	return ctl_request_within(path, line, out, CTL_CLIENT_IDLE_MS, why);
}

bool ctl_take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;

	for (int i = 0; i < *argc;) {
		if (strcmp(argv[i], flag)) {
			i++;
			continue;
		}
		memmove(argv + i, argv + i + 1, (size_t)(*argc - i - 1) * sizeof(*argv));
		(*argc)--;
		found = true;
	}
	return found;
}

const char *ctl_arg_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(arg, name, n) && arg[n] == '=' ? arg + n + 1 : NULL;
}
