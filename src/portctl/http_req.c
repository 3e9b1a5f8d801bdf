/* http_req.c - the bounded HTTP/1.x request parser of http_req.h. */
#include "http_req.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	int status;
} refusals[] = {{"none", 0},
#define HTTP_REFUSAL_ROW(name, status, text) {#name, status},
		HTTP_REFUSALS(HTTP_REFUSAL_ROW)
#undef HTTP_REFUSAL_ROW
};

const char *http_refusal_name(enum http_refusal why)
{
	return why < HTTP_REFUSAL_COUNT ? refusals[why].name : "?";
}

int http_refusal_status(enum http_refusal why)
{
	return why < HTTP_REFUSAL_COUNT ? refusals[why].status : 500;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static enum http_parse refuse(struct http_req *r, enum http_refusal why)
{
	r->refusal = why;
	r->status = http_refusal_status(why);
	return HTTP_REFUSED;
}

/* The end of the header block (after its empty line), or 0 if not yet. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return i + 4;
	return 0;
}

/* One line [s, e) without its CRLF; *next the start of the following one. */
static size_t line_len(const char *s, const char *end)
{
	const char *p = s;

	while (p + 1 < end && !(p[0] == '\r' && p[1] == '\n'))
		p++;
	return (size_t)(p - s);
}

static bool is_token_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return false;
	return true;
}

/* "POST /ctl/IPConn HTTP/1.1" */
static enum http_parse request_line(const char *s, size_t n, struct http_req *r)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;
	size_t plen;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s))))
		return refuse(r, HTTP_REFUSAL_BAD_REQUEST_LINE);
	if (n - (size_t)(sp2 + 1 - s) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return refuse(r, HTTP_REFUSAL_BAD_REQUEST_LINE);
	if (sp1 - s == 3 && !memcmp(s, "GET", 3))
		r->method = HTTP_GET;
	else if (sp1 - s == 4 && !memcmp(s, "POST", 4))
		r->method = HTTP_POST;
	else
		return refuse(r, HTTP_REFUSAL_METHOD);
	plen = (size_t)(sp2 - sp1 - 1);
	if (plen == 0 || !is_token_text(sp1 + 1, plen) || memchr(sp1 + 1, ' ', plen))
		return refuse(r, HTTP_REFUSAL_BAD_REQUEST_LINE);
	if (plen >= sizeof(r->path))
		return refuse(r, HTTP_REFUSAL_PATH_TOO_LONG);
	memcpy(r->path, sp1 + 1, plen);
	r->path[plen] = '\0';
	return HTTP_NEED_MORE;
}

static void trim(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* Content-Length: 1*DIGIT, at most 9 (anything over HTTP_REQ_MAX is 413). */
static bool parse_length(const char *v, size_t n, size_t *out)
{
	size_t x = 0;

	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (size_t)(v[i] - '0');
	}
	*out = x;
	return true;
}

static void keep_action(const char *v, size_t n, struct http_req *r)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		v++, n -= 2;
	if (n >= sizeof(r->soap_action))
		n = 0; /* too long for any action we serve: the body decides */
	memcpy(r->soap_action, v, n);
	r->soap_action[n] = '\0';
}

struct header_state {
	bool has_length;
	size_t length;
};

static enum http_parse header_line(const char *s, size_t n, struct http_req *r,
				   struct header_state *hs)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t name_len, vn, length;

	if (!colon || colon == s || !is_token_text(s, n))
		return refuse(r, HTTP_REFUSAL_BAD_HEADER);
	name_len = (size_t)(colon - s);
	v = colon + 1;
	vn = n - name_len - 1;
	trim(&v, &vn);
	if (name_len == 14 && !strncasecmp(s, "Content-Length", 14)) {
		if (!parse_length(v, vn, &length) || (hs->has_length && length != hs->length))
			return refuse(r, HTTP_REFUSAL_BAD_LENGTH);
		hs->has_length = true;
		hs->length = length;
	} else if (name_len == 17 && !strncasecmp(s, "Transfer-Encoding", 17)) {
		return refuse(r, HTTP_REFUSAL_CHUNKED);
	} else if (name_len == 10 && !strncasecmp(s, "SOAPAction", 10)) {
		keep_action(v, vn, r);
	} else if (name_len == 4 && !strncasecmp(s, "Host", 4) && vn < sizeof(r->host)) {
		memcpy(r->host, v, vn);
		r->host[vn] = '\0';
	}
	return HTTP_NEED_MORE;
}

/* Every line of the header block [buf, buf + hlen - 2). */
static enum http_parse headers(const char *buf, size_t hlen, struct http_req *r,
			       struct header_state *hs)
{
	const char *end = buf + hlen - 2, *s = buf;
	size_t n = line_len(s, end);
	unsigned count = 0;

	if (request_line(s, n, r) == HTTP_REFUSED)
		return HTTP_REFUSED;
	for (s += n + 2; s < end; s += n + 2) {
		n = line_len(s, end);
		if (++count > HTTP_HEADERS_MAX)
			return refuse(r, HTTP_REFUSAL_TOO_MANY_HEADERS);
		if (header_line(s, n, r, hs) == HTTP_REFUSED)
			return HTTP_REFUSED;
	}
	return HTTP_NEED_MORE;
}

enum http_parse http_req_parse(const char *buf, size_t len, struct http_req *r)
{
	struct header_state hs = {0};
	size_t hlen = header_end(buf, len < HTTP_REQ_MAX ? len : HTTP_REQ_MAX);

	memset(r, 0, sizeof(*r));
	if (!hlen)
		return len >= HTTP_REQ_MAX ? refuse(r, HTTP_REFUSAL_HEADER_TOO_BIG)
					   : HTTP_NEED_MORE;
	if (headers(buf, hlen, r, &hs) == HTTP_REFUSED)
		return HTTP_REFUSED;
	if (r->method == HTTP_POST && !hs.has_length)
		return refuse(r, HTTP_REFUSAL_NO_LENGTH);
	if (hs.length > HTTP_REQ_MAX - hlen)
		return refuse(r, HTTP_REFUSAL_BODY_TOO_BIG);
	r->body_off = hlen;
	r->body_len = hs.length;
	return len >= hlen + hs.length ? HTTP_DONE : HTTP_NEED_MORE;
}
