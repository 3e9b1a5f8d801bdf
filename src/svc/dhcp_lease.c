/* dhcp_lease.c - the DHCP server's lease file, and its listing for
 * `rssnat show dhcp`.
 *
 * The file is text, so that people can read it and scripts can too:
 *
 *   rssnat-dhcp-leases 1
 *   ADDRESS CLIENT-ID MAC EXPIRES HOSTNAME
 *   192.168.137.2 01020000000a01 02:00:00:00:0a:01 1700086400 laptop
 *
 * one lease per line: dotted quad, client identifier in lower-case hex (2 to
 * 64 bytes), chaddr, absolute expiry in Unix seconds (in the past for an
 * expired or released lease, kept so its client gets the address back), the
 * option 12 host name as one DNS label or "-". Fields are separated by one
 * space; nothing else is allowed.
 *
 * Loading (at dhcp_create()) checks every field of every line; a file that
 * fails is not half-believed: it is renamed aside to FILE.corrupt (or
 * FILE.corrupt-N), the caller gets a one-line warning, and the server starts
 * empty. Leases for addresses that are no longer ours (the pool or the
 * reservations changed) are dropped and counted, not an error.
 *
 * Saving is atomic (write FILE.tmp, fsync it, rename it over FILE, fsync the
 * directory), with plain write(2) from a stack buffer: no allocation after
 * dhcp_create().
 */
#include "dhcp.h"
#include "dhcp_internal.h"
#include "../core/bits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEASE_HEADER "rssnat-dhcp-leases 1"

enum {
	LINE_MAX_LEN = 512, /* longest valid line is about 250 bytes */
	FIELDS = 5,
	ASIDE_MAX = 100, /* FILE.corrupt, FILE.corrupt-1 .. -99 */
	EXPIRY_SECS_MAX_DIGITS = 12,
	MAC_TEXT_LEN = 17,
	MILLI = 1000,
};

/* Reading ------------------------------------------------------------------- */

/* @n bytes of hex digits into @out; false on any other character. */
static bool parse_hex(const char *t, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = bits_hex_digit(t[2 * i]), lo = hi < 0 ? -1 : bits_hex_digit(t[2 * i + 1]);

		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool parse_mac(const char *t, uint8_t mac[6])
{
	if (strlen(t) != MAC_TEXT_LEN)
		return false;
	for (int i = 0; i < 6; i++)
		if (!parse_hex(t + 3 * i, mac + i, 1) || (i < 5 && t[3 * i + 2] != ':'))
			return false;
	return !(mac[0] & 1);
}

/* Decimal seconds, no sign, no leading garbage, at most 12 digits (year
 * 33658): small enough to turn into milliseconds. */
static bool parse_secs(const char *t, uint64_t *out)
{
	size_t n = strlen(t);
	uint64_t v = 0;

	if (n == 0 || n > EXPIRY_SECS_MAX_DIGITS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(t[i] - '0');
	}
	*out = v;
	return true;
}

/* Split @line at single spaces into exactly FIELDS non-empty fields. */
static bool split(char *line, char **field)
{
	unsigned n = 0;
	char *p = line;

	for (;;) {
		char *sp = strchr(p, ' ');

		if (n == FIELDS || *p == '\0' || *p == ' ')
			return false;
		field[n++] = p;
		if (!sp)
			return n == FIELDS;
		*sp = '\0';
		p = sp + 1;
	}
}

/* One lease line into the table. Returns NULL, or what is wrong with it. */
static const char *load_line(struct dhcp_server *s, char *line, uint64_t now)
{
	char *f[FIELDS];
	uint8_t cid[DHCP_CLIENT_ID_MAX], mac[6];
	size_t hexlen, cid_len;
	uint64_t secs;
	uint32_t addr, idx;
	struct dhcp_slot *sl;

	if (!split(line, f))
		return "not five fields separated by single spaces";
	if (inet_pton(AF_INET, f[0], &addr) != 1)
		return "bad address";
	hexlen = strlen(f[1]);
	cid_len = hexlen / 2;
	if (hexlen % 2 || cid_len < 2 || cid_len > DHCP_CLIENT_ID_MAX ||
	    !parse_hex(f[1], cid, cid_len))
		return "bad client identifier";
	if (!parse_mac(f[2], mac))
		return "bad MAC address";
	if (!parse_secs(f[3], &secs))
		return "bad expiry time";
	if (strcmp(f[4], "-") && !dhcp_host_valid(f[4]))
		return "bad host name";
	idx = dhcp_slot_index(s, addr);
	if (idx == DHCP_NIL || addr == s->cfg.server_addr ||
	    (s->slots[idx].res && memcmp(s->cfg.reserved[s->slots[idx].res - 1].mac, mac, 6))) {
		s->cnt.leases_skipped++; /* no longer ours to give */
		return NULL;
	}
	sl = &s->slots[idx];
	if (sl->cid_len)
		return "address listed twice";
	if (dhcp_find_client(s, cid, cid_len) != DHCP_NIL)
		return "client listed twice";
	dhcp_link_client(s, idx, cid, cid_len);
	sl->flags |= DHCP_SLOT_LEASED;
	sl->lease_end = secs * MILLI;
	/* A clock that was ahead when it was written, or a shorter lease_secs
	 * now: never longer than one lease from now. */
	if ((int64_t)(sl->lease_end - now) > (int64_t)s->lease_ms)
		sl->lease_end = now + s->lease_ms;
	memcpy(sl->mac, mac, 6);
	if (strcmp(f[4], "-"))
		strcpy(sl->host, f[4]);
	s->cnt.leases_loaded++;
	return NULL;
}

/* FILE.corrupt, else the first free FILE.corrupt-N. */
static int rename_aside(const char *path, char *aside, size_t size)
{
	struct stat st;

	for (unsigned n = 0; n < ASIDE_MAX; n++) {
		if (n)
			snprintf(aside, size, "%s.corrupt-%u", path, n);
		else
			snprintf(aside, size, "%s.corrupt", path);
		if (lstat(aside, &st) == 0)
			continue;
		if (errno != ENOENT)
			return -errno;
		return rename(path, aside) ? -errno : 0;
	}
	return -EEXIST;
}

static int set_aside(struct dhcp_server *s, unsigned line_no, const char *bad, char *warning,
		     size_t wsize, const char **why)
{
	char aside[DHCP_PATH_SIZE + 32];
	int r;

	dhcp_forget_all(s);
	s->cnt.leases_loaded = 0;
	s->cnt.leases_skipped = 0;
	r = rename_aside(s->cfg.lease_file, aside, sizeof(aside));
	if (r) {
		*why = "the lease file is corrupt and cannot be renamed aside";
		return r;
	}
	if (warning && wsize)
		snprintf(warning, wsize,
			 "DHCP lease file %s is corrupt (line %u: %s): moved to %s, starting with "
			 "no leases",
			 s->cfg.lease_file, line_no, bad, aside);
	return 0;
}

int dhcp_lease_load(struct dhcp_server *s, uint64_t now, char *warning, size_t wsize,
		    const char **why)
{
	FILE *f = fopen(s->cfg.lease_file, "re");
	const char *bad = NULL;
	unsigned line_no = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0; /* a fresh start */
		*why = "cannot open the lease file";
		return -errno;
	}
	while (!bad && (n = getline(&line, &cap, f)) >= 0) {
		line_no++;
		if (n > LINE_MAX_LEN) {
			bad = "line too long";
			break;
		}
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (strlen(line) != (size_t)n)
			bad = "NUL byte in the line";
		else if (line_no == 1)
			bad = strcmp(line, LEASE_HEADER) ? "no \"" LEASE_HEADER "\" header" : NULL;
		else
			bad = load_line(s, line, now);
	}
	if (!bad && ferror(f)) {
		*why = "cannot read the lease file";
		r = -EIO;
	} else if (!bad && line_no == 0) {
		bad = "empty, no \"" LEASE_HEADER "\" header";
	}
	free(line);
	fclose(f);
	if (r)
		return r;
	return bad ? set_aside(s, line_no, bad, warning, wsize, why) : 0;
}

/* Writing ------------------------------------------------------------------- */

struct wbuf {
	int fd;
	int err;
	size_t n;
	char b[8192];
};

static void wb_flush(struct wbuf *w)
{
	size_t off = 0;

	while (off < w->n && !w->err) {
		ssize_t k = write(w->fd, w->b + off, w->n - off);

		if (k < 0 && errno != EINTR)
			w->err = -errno;
		else if (k > 0)
			off += (size_t)k;
	}
	w->n = 0;
}

__attribute__((format(printf, 2, 3))) static void wb_printf(struct wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (sizeof(w->b) - w->n < LINE_MAX_LEN)
		wb_flush(w);
	va_start(ap, fmt);
	k = vsnprintf(w->b + w->n, sizeof(w->b) - w->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(w->b) - w->n) {
		w->err = w->err ? w->err : -EOVERFLOW;
		return;
	}
	w->n += (size_t)k;
}

static void hex_of(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void mac_of(char *out, const uint8_t *m)
{
	snprintf(out, MAC_TEXT_LEN + 1, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		 m[4], m[5]);
}

static void addr_of(char *out, uint32_t addr)
{
	inet_ntop(AF_INET, &addr, out, INET_ADDRSTRLEN);
}

static int sync_dir(const char *path)
{
	char dir[DHCP_PATH_SIZE];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) && errno != EINVAL) /* some file systems cannot sync a directory */
		r = -errno;
	close(fd);
	return r;
}

int dhcp_lease_save(const struct dhcp_server *s)
{
	char tmp[DHCP_PATH_SIZE + 8];
	struct wbuf w = {.fd = -1};

	snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg.lease_file);
	/* Leases name the LAN's hosts: readable by root only. */
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd < 0)
		return -errno;
	wb_printf(&w, "%s\n", LEASE_HEADER);
	for (uint32_t i = 0; i < s->n_slots; i++) {
		const struct dhcp_slot *sl = &s->slots[i];
		char a[INET_ADDRSTRLEN], cid[2 * DHCP_CLIENT_ID_MAX + 1], mac[MAC_TEXT_LEN + 1];

		if (!sl->cid_len || !(sl->flags & DHCP_SLOT_LEASED))
			continue; /* only bindings; an offer is not worth keeping */
		addr_of(a, sl->addr);
		hex_of(cid, sl->cid, sl->cid_len);
		mac_of(mac, sl->mac);
		wb_printf(&w, "%s %s %s %" PRIu64 " %s\n", a, cid, mac,
			  (sl->lease_end + MILLI - 1) / MILLI, sl->host[0] ? sl->host : "-");
	}
	wb_flush(&w);
	if (!w.err && fsync(w.fd))
		w.err = -errno;
	if (close(w.fd) && !w.err)
		w.err = -errno;
	if (!w.err && rename(tmp, s->cfg.lease_file))
		w.err = -errno;
	if (w.err) {
		unlink(tmp);
		return w.err;
	}
	return sync_dir(s->cfg.lease_file);
}

/* The listing ----------------------------------------------------------------- */

static uint64_t secs_left(uint64_t deadline, uint64_t now)
{
	int64_t d = (int64_t)(deadline - now);

	return d > 0 ? ((uint64_t)d + MILLI - 1) / MILLI : 0;
}

static uint64_t slot_expires_in(const struct dhcp_slot *sl, const char *state, uint64_t now)
{
	if (!strcmp(state, "held"))
		return secs_left(sl->hold_until, now);
	if (!strcmp(state, "bound"))
		return secs_left(sl->lease_end, now);
	if (!strcmp(state, "offered"))
		return secs_left(sl->offer_until, now);
	return 0;
}

static void put_lower(FILE *out, const char *name)
{
	for (; *name; name++)
		fputc(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name, out);
}

/* A JSON string, or null for "". Our strings are hex, digits, ':' and host
 * labels, but escape anyway. */
static void put_json_str(FILE *out, const char *v)
{
	if (!v[0]) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void write_lease(FILE *out, bool json, bool first, const struct dhcp_slot *sl,
			const char *state, uint64_t now)
{
	char a[INET_ADDRSTRLEN], cid[2 * DHCP_CLIENT_ID_MAX + 1] = "", mac[MAC_TEXT_LEN + 1] = "";
	uint64_t left = slot_expires_in(sl, state, now);

	addr_of(a, sl->addr);
	if (sl->cid_len) {
		hex_of(cid, sl->cid, sl->cid_len);
		mac_of(mac, sl->mac);
	}
	if (!json) {
		fprintf(out,
			"lease address=%s mac=%s client_id=%s hostname=%s state=%s "
			"expires_in=%" PRIu64 "\n",
			a, mac[0] ? mac : "-", cid[0] ? cid : "-", sl->host[0] ? sl->host : "-",
			state, left);
		return;
	}
	fprintf(out, "%s{\"address\":\"%s\",\"mac\":", first ? "" : ",", a);
	put_json_str(out, mac);
	fputs(",\"client_id\":", out);
	put_json_str(out, cid);
	fputs(",\"hostname\":", out);
	put_json_str(out, sl->host);
	fprintf(out, ",\"state\":\"%s\",\"expires_in\":%" PRIu64 "}", state, left);
}

static void write_counters(const struct dhcp_server *s, FILE *out, bool json)
{
	const struct dhcp_counters *c = &s->cnt;
	const char *sep = "";

	if (json)
		fputs("\"counters\":{", out);
#define DHCP_COUNTER_OUT(name, text)                                                               \
	fprintf(out, json ? "%s\"%s\":%" PRIu64 : "%scounter %s=%" PRIu64 "\n", sep, #name,        \
		c->name);                                                                          \
	sep = json ? "," : "";
	DHCP_COUNTERS(DHCP_COUNTER_OUT)
#undef DHCP_COUNTER_OUT
	fprintf(out,
		json ? ",\"bound\":%u,\"pending\":%u},\"drops\":{"
		     : "counter bound=%u\ncounter pending=%u\n",
		c->bound, c->pending);
	for (int r = 1; r < DHCP_DROP_COUNT; r++) {
		fputs(json ? (r > 1 ? ",\"" : "\"") : "drop ", out);
		put_lower(out, dhcp_drop_name((enum dhcp_drop)r));
		fprintf(out, json ? "\":%" PRIu64 : "=%" PRIu64 "\n", c->drop[r]);
	}
	if (json)
		fputs("}", out);
}

void dhcp_write_leases(const struct dhcp_server *s, FILE *out, bool json, uint64_t now_ms)
{
	bool first = true;

	if (json)
		fputs("{\"leases\":[", out);
	for (uint32_t i = 0; i < s->n_slots; i++) {
		const struct dhcp_slot *sl = &s->slots[i];
		const char *state = dhcp_slot_state(sl, now_ms);

		if (!state)
			continue;
		write_lease(out, json, first, sl, state, now_ms);
		first = false;
	}
	if (json)
		fputs("],", out);
	write_counters(s, out, json);
	if (json)
		fputs("}\n", out);
}
