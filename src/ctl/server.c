/* server.c - the control socket's server: every client non-blocking, from
 * the control thread's poll() loop, bounded in number, time and memory
 * (the states are drawn in ctl.h). A client that trickles its request, or
 * never reads its reply, costs a slot until its deadline and nothing else:
 * the thread moves on to ARP, DHCP and DNS at once. */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum conn_state {
	CONN_FREE,
	CONN_READING, /* the request line is coming */
	CONN_WAITING, /* its handler waits on the workers (ctl_again()) */
	CONN_WRITING, /* the reply is going */
};

struct conn {
	int fd;
	enum conn_state state;
	uint32_t since_ms; /* entered READING, WAITING or WRITING */
	uint32_t tried_ms; /* WAITING: the handler's last run */
	int poll_idx;	   /* in the last ctl_server_pollfds(), or -1 */
	size_t in_len;
	char in[CTL_LINE_MAX + 1];
	/* The piece being sent: this connection's, freed once sent. */
	char *out;
	size_t out_len, out_sent;
	/* A long reply's producer and its state: this connection's from the
	 * handler's return (ctl_reply.more) until more_free(). */
	bool (*more)(void *state, FILE *piece);
	void (*more_free)(void *state);
	void *more_state;
};

struct ctl_server {
	int fd;
	int listen_idx; /* in the last ctl_server_pollfds(), or -1 */
	unsigned first; /* the client served first next round: long replies take turns */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_counters cnt;
	struct conn conn[CTL_CLIENTS_MAX];
};

/* ---- opening and closing ---- */

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

static struct ctl_server *server_new(const char *path)
{
	struct ctl_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->listen_idx = -1;
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		s->conn[i] = (struct conn){.fd = -1, .poll_idx = -1};
	return s;
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
	if (!(s = server_new(path))) {
		*why = "out of memory";
		return -ENOMEM;
	}
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

static void conn_close(struct ctl_server *s, struct conn *c)
{
	close(c->fd);
	free(c->out);
	if (c->more_free)
		c->more_free(c->more_state);
	*c = (struct conn){.fd = -1, .poll_idx = -1};
	s->cnt.clients--;
}

/* A last line for a client we give up on, if its socket takes it now
 * (send(), not write(): a peer that hung up must cost an error, never the
 * SIGPIPE that would kill the daemon). */
static void say_and_close(struct ctl_server *s, struct conn *c, const char *line)
{
	if (line)
		(void)!send(c->fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	conn_close(s, c);
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->conn[i].state != CONN_FREE)
			conn_close(s, &s->conn[i]);
	close(s->fd);
	unlink(s->path);
	free(s);
}

const struct ctl_counters *ctl_server_counters(const struct ctl_server *s)
{
	return s ? &s->cnt : NULL;
}

/* ---- polling ---- */

unsigned ctl_server_pollfds(struct ctl_server *s, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;

	s->listen_idx = -1;
	if (n < max) {
		s->listen_idx = (int)n;
		fds[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	}
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct conn *c = &s->conn[i];
		short ev = c->state == CONN_READING   ? POLLIN
			   : c->state == CONN_WRITING ? POLLOUT
						      : 0; /* WAITING: by time */
		c->poll_idx = -1;
		if (!ev || n >= max)
			continue;
		c->poll_idx = (int)n;
		fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	return n;
}

/* What poll() said about @c: its revents, or POLLIN|POLLOUT for one it did
 * not watch (new this round): try, the socket says EAGAIN if not ready. */
static short events_of(const struct conn *c, const struct pollfd *fds, unsigned n)
{
	if (c->poll_idx < 0 || (unsigned)c->poll_idx >= n || fds[c->poll_idx].fd != c->fd)
		return POLLIN | POLLOUT;
	return fds[c->poll_idx].revents;
}

/* ---- accepting ---- */

static struct conn *free_conn(struct ctl_server *s)
{
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->conn[i].state == CONN_FREE)
			return &s->conn[i];
	return NULL;
}

static void accept_some(struct ctl_server *s, uint32_t now)
{
	char busy[96];

	snprintf(busy, sizeof(busy),
		 "error the daemon serves %d control clients at once; try again\n",
		 CTL_CLIENTS_MAX);
	for (int i = 0; i < CTL_ACCEPT_PER_ROUND; i++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c = free_conn(s);
		if (fd < 0)
			return;
		if (!c) { /* a fresh socket's buffer takes one line */
			(void)!send(fd, busy, strlen(busy), MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			s->cnt.refused_busy++;
			continue;
		}
		*c =
		    (struct conn){.fd = fd, .state = CONN_READING, .since_ms = now, .poll_idx = -1};
		s->cnt.accepted++;
		s->cnt.clients++;
	}
}

/* ---- answering ---- */

static bool conn_write(struct ctl_server *s, struct conn *c, unsigned *pieces);

static const char *status_word(int status)
{
	return status == 0 ? "ok" : status == 2 ? "usage" : "error";
}

/* The status line, then the body: the first piece, owned by @c. */
static int first_piece(struct conn *c, const struct ctl_reply *reply, const char *body,
		       size_t body_len)
{
	char status[sizeof(reply->message) + 16];
	int n = snprintf(status, sizeof(status), "%s%s%s\n", status_word(reply->status),
			 reply->message[0] ? " " : "", reply->message);

	if (reply->status)
		body_len = 0;
	c->out = malloc((size_t)n + body_len + 1);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, status, (size_t)n);
	if (body_len)
		memcpy(c->out + n, body, body_len);
	c->out_len = (size_t)n + body_len;
	c->out_sent = 0;
	return 0;
}

/* The handler's reply becomes @c's: status, body, and a long reply's
 * producer (freed at once if the request failed). */
static void start_reply(struct ctl_server *s, struct conn *c, struct ctl_reply *reply,
			const char *body, size_t body_len, uint32_t now, unsigned *pieces)
{
	if (reply->more && !reply->status) {
		c->more = reply->more;
		c->more_free = reply->more_free;
		c->more_state = reply->more_state;
	} else if (reply->more_free) {
		reply->more_free(reply->more_state);
	}
	c->state = CONN_WRITING;
	c->since_ms = now;
	if (first_piece(c, reply, body, body_len)) {
		conn_close(s, c);
		return;
	}
	conn_write(s, c, pieces);
}

/* Run the request on @c's line. The handler may ask to wait (ctl_again()):
 * then the same line runs again later, until CTL_WAIT_MS have passed. */
static void conn_answer(struct ctl_server *s, struct conn *c, uint32_t now,
			const struct ctl_command *cmds, void *ctx, unsigned *pieces)
{
	char line[CTL_LINE_MAX + 1], *body = NULL;
	size_t body_len = 0;
	struct ctl_reply reply = {.waited_ms = c->state == CONN_WAITING ? now - c->since_ms : 0};

	memcpy(line, c->in, c->in_len + 1); /* the words are cut in place */
	if (!(reply.body = open_memstream(&body, &body_len))) {
		conn_close(s, c);
		return;
	}
	ctl_dispatch(cmds, ctx, line, &reply);
	fclose(reply.body);
	if (reply.again) {
		if (reply.more_free) /* a waiting handler has nothing to say yet */
			reply.more_free(reply.more_state);
		reply.more = NULL;
		reply.more_free = NULL;
		if (reply.waited_ms < CTL_WAIT_MS) {
			free(body);
			if (c->state != CONN_WAITING)
				c->since_ms = now;
			c->state = CONN_WAITING;
			c->tried_ms = now;
			return;
		}
		reply.status = 1; /* waited long enough: its message says why */
		s->cnt.wait_timeout++;
	}
	start_reply(s, c, &reply, body, body_len, now, pieces);
	free(body);
}

/* A usage reply for a request that is not one line (too long, or the
 * client stopped sending mid-line). */
static void bad_line(struct ctl_server *s, struct conn *c, uint32_t now, unsigned *pieces)
{
	struct ctl_reply reply = {0};

	ctl_fail(&reply, 2, "request must be one line of at most %d bytes", CTL_LINE_MAX);
	start_reply(s, c, &reply, NULL, 0, now, pieces);
}

static void conn_read(struct ctl_server *s, struct conn *c, uint32_t now,
		      const struct ctl_command *cmds, void *ctx, unsigned *pieces)
{
	ssize_t r = recv(c->fd, c->in + c->in_len, CTL_LINE_MAX - c->in_len, MSG_DONTWAIT);
	char *nl;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0 || (r == 0 && !c->in_len)) {
		s->cnt.hung_up++;
		conn_close(s, c);
		return;
	}
	nl = memchr(c->in + c->in_len, '\n', (size_t)r);
	c->in_len += (size_t)r;
	c->in[c->in_len] = '\0';
	if (nl) {
		*nl = '\0';
		c->in_len = (size_t)(nl - c->in);
		conn_answer(s, c, now, cmds, ctx, pieces);
	} else if (r == 0 || c->in_len == CTL_LINE_MAX) {
		s->cnt.request_too_long += r > 0;
		bad_line(s, c, now, pieces);
	}
}

/* ---- writing ---- */

/* The next piece of a long reply into c->out; false if there was none to
 * make (out of memory: the reply ends there). */
static bool next_piece(struct conn *c)
{
	FILE *f = open_memstream(&c->out, &c->out_len);
	bool more;

	if (!f)
		return false;
	more = c->more(c->more_state, f);
	if (fclose(f)) {
		free(c->out);
		c->out = NULL;
		more = false;
	}
	c->out_sent = 0;
	if (!more) {
		c->more_free(c->more_state);
		c->more = NULL;
		c->more_free = NULL;
	}
	return c->out != NULL;
}

/* Send what the socket takes now; make the next piece of a long reply
 * while the round's budget (@pieces) lasts. False once @c is closed. */
static bool conn_write(struct ctl_server *s, struct conn *c, unsigned *pieces)
{
	for (;;) {
		while (c->out_sent < c->out_len) {
			ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				return true;
			if (w <= 0) {
				s->cnt.hung_up++;
				conn_close(s, c);
				return false;
			}
			c->out_sent += (size_t)w;
		}
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_sent = 0;
		if (!c->more)
			break;
		if (!*pieces)
			return true; /* next round: POLLOUT is ready at once */
		(*pieces)--;
		if (!next_piece(c) && !c->more)
			break;
	}
	s->cnt.answered++;
	conn_close(s, c);
	return false;
}

/* ---- the round ---- */

static bool past(uint32_t now, uint32_t since, uint32_t limit_ms)
{
	return now - since >= limit_ms;
}

/* Drop @c if it is past its state's deadline. */
static void check_deadline(struct ctl_server *s, struct conn *c, uint32_t now)
{
	char late[96];

	if (c->state == CONN_READING && past(now, c->since_ms, CTL_REQUEST_MS)) {
		snprintf(late, sizeof(late), "error no request line within %d ms\n",
			 CTL_REQUEST_MS);
		s->cnt.request_timeout++;
		say_and_close(s, c, late);
	} else if (c->state == CONN_WRITING && past(now, c->since_ms, CTL_REPLY_MS)) {
		s->cnt.reply_timeout++;
		say_and_close(s, c, NULL);
	}
}

static void serve_one(struct ctl_server *s, struct conn *c, short ev, uint32_t now,
		      const struct ctl_command *cmds, void *ctx, unsigned *pieces)
{
	if (c->state == CONN_READING && (ev & (POLLIN | POLLHUP | POLLERR)))
		conn_read(s, c, now, cmds, ctx, pieces);
	else if (c->state == CONN_WAITING &&
		 (past(now, c->tried_ms, CTL_AGAIN_MS) || past(now, c->since_ms, CTL_WAIT_MS)))
		conn_answer(s, c, now, cmds, ctx, pieces);
	else if (c->state == CONN_WRITING && (ev & (POLLOUT | POLLHUP | POLLERR)))
		conn_write(s, c, pieces);
	if (c->state != CONN_FREE)
		check_deadline(s, c, now);
}

void ctl_server_run(struct ctl_server *s, const struct pollfd *fds, unsigned n, uint32_t now_ms,
		    const struct ctl_command *cmds, void *ctx)
{
	unsigned pieces = CTL_PIECES_PER_ROUND;

	if (s->listen_idx >= 0 && (unsigned)s->listen_idx < n &&
	    (fds[s->listen_idx].revents & POLLIN))
		accept_some(s, now_ms);
	for (unsigned k = 0; k < CTL_CLIENTS_MAX; k++) {
		unsigned i = (s->first + k) % CTL_CLIENTS_MAX;
		struct conn *c = &s->conn[i];
		if (c->state != CONN_FREE)
			serve_one(s, c, events_of(c, fds, n), now_ms, cmds, ctx, &pieces);
	}
	s->first = (s->first + 1) % CTL_CLIENTS_MAX;
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		s->conn[i].poll_idx = -1; /* until the next ctl_server_pollfds() */
}
