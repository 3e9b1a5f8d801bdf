/* claim.c - one rssnat per interface.
 *
 * Two gateways on one interface cannot both work: each would forward every
 * frame (every packet leaves twice), and the second's failure or exit would
 * undo what the first set up (issue 14). So a start claims its interfaces
 * before it touches anything, and a claimed interface is refused with one
 * line that names it and the PID that holds it.
 *
 * The claim is an flock(2) on /run/rssnat/iface-NETNS-IFINDEX.lock:
 *   - atomic: of two starts at the same moment exactly one wins, where
 *     looking for a running instance's programs on the interface leaves a
 *     window between looking and attaching;
 *   - the kernel lets go when the holder dies, kill -9 included: a stale
 *     claim never stops a restart, and no PID has to be guessed alive (PIDs
 *     are reused);
 *   - keyed by the network namespace's inode and the ifindex, not the name:
 *     lan0 in another namespace is another interface, and a rename does not
 *     escape the claim.
 * The file holds the holder's PID (for the refusal) and the stack guard it
 * attached (tc handle, priority, program id). A tc filter outlives the
 * process that added it, so the next holder, which knows the previous one
 * is dead because it got the lock, removes that filter, and only it: the
 * filter at that handle if it still runs that program.
 *
 * What it does not see: an rssnat in another mount namespace (another
 * /run) on the same network namespace's interface.
 */
#include "io.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIM_DIR "/run/rssnat"

enum { CLAIM_RECORD_MAX = 128 };

struct io_claim {
	int fd; /* the open file description that holds the flock */
	char ifname[IFNAMSIZ];
	struct io_guard guard;	       /* this process's stack guard, once attached */
	struct io_guard offload;       /* and its fast path filter (offload.h) */
	const struct io_wan_claim *wc; /* shared mode: whose frames are (wan_claim.h) */
};

/* The file's name for @ifindex in this process's network namespace. */
static int claim_path(int ifindex, char *path, size_t size, const char **why)
{
	struct stat ns;

	if (stat("/proc/self/ns/net", &ns)) {
		*why = "cannot read this process's network namespace (/proc/self/ns/net)";
		return -errno;
	}
	snprintf(path, size, CLAIM_DIR "/iface-%" PRIu64 "-%d.lock", (uint64_t)ns.st_ino, ifindex);
	return 0;
}

/* The record in the file: "pid P" and, once attached, "guard H P ID",
 * then "offload H P ID". */
static void record_read(int fd, long *pid, struct io_guard *guard, struct io_guard *offload)
{
	char buf[CLAIM_RECORD_MAX];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int got;

	*pid = 0;
	memset(guard, 0, sizeof(*guard));
	memset(offload, 0, sizeof(*offload));
	if (n <= 0)
		return;
	buf[n] = '\0';
	got = sscanf(buf,
		     "pid %ld\nguard %" SCNu32 " %" SCNu32 " %" SCNu32 "\noffload %" SCNu32
		     " %" SCNu32 " %" SCNu32,
		     pid, &guard->handle, &guard->priority, &guard->prog_id, &offload->handle,
		     &offload->priority, &offload->prog_id);
	if (got < 4)
		memset(guard, 0, sizeof(*guard));
	if (got < 7)
		memset(offload, 0, sizeof(*offload));
}

static void record_write(const struct io_claim *c)
{
	char buf[CLAIM_RECORD_MAX];
	int n = snprintf(buf, sizeof(buf), "pid %ld\n", (long)getpid());

	if (c->guard.prog_id)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "guard %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", c->guard.handle,
			      c->guard.priority, c->guard.prog_id);
	if (c->guard.prog_id && c->offload.prog_id)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "offload %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", c->offload.handle,
			      c->offload.priority, c->offload.prog_id);
	/* Best effort: the lock is the claim, the record only its details
	 * (a write that fails on /run leaves a dead holder's guard behind,
	 * which is all it could cost). */
	if (ftruncate(c->fd, 0) == 0)
		(void)!pwrite(c->fd, buf, (size_t)n, 0);
}

/* Someone holds it: one line naming the interface and the holder's PID,
 * unless the holder has not written it yet (the record still names a dead
 * predecessor, or none). */
static int refuse(int fd, const char *ifname, const char **why)
{
	struct io_guard unused, unused_offload;
	long pid;

	record_read(fd, &pid, &unused, &unused_offload);
	if (pid > 0 && kill((pid_t)pid, 0) && errno == ESRCH)
		pid = 0;
	*why = pid > 0 ? io_why_fmt("%s is in use by rssnat (pid %ld)", ifname, pid)
		       : io_why_fmt("%s is in use by another rssnat", ifname);
	return -EBUSY;
}

static int open_locked(const char *ifname, int ifindex, int *fd, const char **why)
{
	char path[sizeof(CLAIM_DIR) + 64];
	int err;

	if ((err = claim_path(ifindex, path, sizeof(path), why)))
		return err;
	if (mkdir(CLAIM_DIR, 0700) && errno != EEXIST) {
		*why = io_why_fmt("cannot create %s (%s)", CLAIM_DIR, strerror(errno));
		return -errno;
	}
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0) {
		*why = io_why_fmt("cannot open %s (%s)", path, strerror(errno));
		return -errno;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	err = errno == EWOULDBLOCK ? refuse(*fd, ifname, why) : -errno;
	if (err != -EBUSY)
		*why = io_why_fmt("cannot lock %s (%s)", path, strerror(-err));
	close(*fd);
	*fd = -1;
	return err;
}

int io_claim_take(const char *ifname, struct io_claim **out, const char **why)
{
	int ifindex = (int)if_nametoindex(ifname), fd = -1, err;
	struct io_claim *c;
	struct io_guard left, left_offload;
	long dead_pid;

	*out = NULL;
	if (!ifindex || strlen(ifname) >= IFNAMSIZ) {
		*why = io_why_fmt("%s: no such interface", ifname);
		return -ENODEV;
	}
	if ((err = open_locked(ifname, ifindex, &fd, why)))
		return err;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		*why = "out of memory";
		return -ENOMEM;
	}
	c->fd = fd;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	/* We hold the lock, so whoever wrote the record is gone. */
	record_read(fd, &dead_pid, &left, &left_offload);
	left.ifindex = left_offload.ifindex = ifindex;
	if (io_stack_guard_detach(&left))
		fprintf(stderr, "rssnat: removed the stack guard pid %ld left on %s\n", dead_pid,
			ifname);
	if (io_stack_guard_detach(&left_offload))
		fprintf(stderr, "rssnat: removed the fast path filter pid %ld left on %s\n",
			dead_pid, ifname);
	record_write(c);
	*out = c;
	return 0;
}

int io_claim_guard(struct io_claim *c, const char **why)
{
	int err = io_stack_guard_attach(c->ifname, c->wc, &c->guard, why);

	if (!err)
		record_write(c);
	return err;
}

void io_claim_offload(struct io_claim *c, const struct io_guard *filter)
{
	c->offload = *filter;
	record_write(c);
}

void io_claim_share(struct io_claim *c, const struct io_wan_claim *wc)
{
	c->wc = wc;
}

void io_claim_release(struct io_claim *c)
{
	if (!c)
		return;
	if (c->offload.prog_id) {
		(void)io_stack_guard_detach(&c->offload); /* gone already after a clean close */
		memset(&c->offload, 0, sizeof(c->offload));
		record_write(c);
	}
	if (c->guard.prog_id) {
		(void)io_stack_guard_detach(&c->guard);
		memset(&c->guard, 0, sizeof(c->guard));
		record_write(c); /* nothing left for the next holder to remove */
	}
	close(c->fd); /* lets go of the lock; the file stays for the next */
	free(c);
}
