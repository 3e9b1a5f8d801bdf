/* ctl.c - the control socket's protocol, server and client (see ctl.h). */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	CTL_READ_MS = 1000, /* a client gets one second to send its line */
	CTL_PER_CALL = 8,   /* connections answered per ctl_server_serve() */
};

struct ctl_server {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int ctl_fail(struct ctl_reply *reply, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
	reply->status = status;
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

static int stale_or_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return -errno;
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

/* The socket's directory, mode 0700 (created if missing). */
static int make_private_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int ctl_server_open(const char *path, struct ctl_server **out, const char **why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_server *s;
	mode_t old_mask;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*why = "control socket path is too long";
		return -ENAMETOOLONG;
	}
	if (stale_or_live(path) == 1) {
		*why = "another rssnat answers on the control socket (stop it, or use --socket)";
		return -EADDRINUSE;
	}
	if ((err = make_private_dir(path))) {
		*why = "cannot create the control socket's directory";
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	unlink(path); /* stale: nobody answered */
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	old_mask = umask(0177); /* born 0600: no window where others may connect */
	err = s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(s->fd, 16);
	umask(old_mask);
	if (err) {
		err = -errno;
		*why = "cannot listen on the control socket";
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int ctl_server_fd(const struct ctl_server *s)
{
	return s->fd;
}

/* Read one line (bounded in bytes and time). */
static int read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (n + 1 < cap) {
		if (poll(&pfd, 1, CTL_READ_MS) <= 0)
			return -1;
		ssize_t r = read(fd, line + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	char *nl = memchr(line, '\n', n);
	if (!nl)
		return -1; /* too long, or the client hung up mid-line */
	*nl = '\0';
	return 0;
}

/* send(), not write(): a peer that hung up must cost an error, never the
 * SIGPIPE that would kill the daemon. */
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

static void answer(int fd, const struct ctl_command *cmds, void *ctx)
{
	char line[CTL_LINE_MAX + 1];
	struct ctl_reply reply = {0};
	char *body = NULL;
	size_t body_len = 0;

	reply.body = open_memstream(&body, &body_len);
	if (!reply.body)
		return;
	if (read_line(fd, line, sizeof(line)))
		ctl_fail(&reply, 2, "request must be one line of at most %d bytes", CTL_LINE_MAX);
	else
		ctl_dispatch(cmds, ctx, line, &reply);
	fclose(reply.body);
	char status[300];
	int n = snprintf(status, sizeof(status), "%s%s%s\n",
			 reply.status == 0   ? "ok"
			 : reply.status == 2 ? "usage"
					     : "error",
			 reply.message[0] ? " " : "", reply.message);
	write_all(fd, status, (size_t)n);
	if (reply.status == 0)
		write_all(fd, body, body_len);
	free(body);
}

void ctl_server_serve(struct ctl_server *s, const struct ctl_command *cmds, void *ctx)
{
	for (int i = 0; i < CTL_PER_CALL; i++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		answer(fd, cmds, ctx);
		close(fd);
	}
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	close(s->fd);
	unlink(s->path);
	free(s);
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

int ctl_request(const char *path, const char *line, FILE *out, const char **why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[4096], first[300];
	size_t have = 0;
	int fd, status = -1;
	ssize_t r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*why = "control socket path is too long";
		return 1;
	}
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		*why = errno == EACCES ? "permission denied on the control socket (root only)"
				       : "no rssnat daemon answers on the control socket";
		if (fd >= 0)
			close(fd);
		return 1;
	}
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
	close(fd);
	if (status < 0) {
		*why = "the daemon closed the connection without a reply";
		return 1;
	}
	return status;
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
