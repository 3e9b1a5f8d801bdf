/* http_req.h - a bounded parser of one HTTP/1.x request (RFC 9112), the
 * subset a UPnP control point sends: a request line, a few headers, and a
 * body of Content-Length bytes.
 *
 * Theory of operation
 * -------------------
 * The caller owns one fixed buffer per connection (HTTP_REQ_MAX bytes,
 * header and body together) and calls http_req_parse() on what it holds
 * after every read. The parser allocates nothing, copies the few fields it
 * keeps into fixed arrays of struct http_req, and never reads past @len.
 * It answers "need more", "done" (the whole body is in the buffer) or
 * "refused" with the HTTP status to send (4xx/5xx) and a named reason.
 * Anything the IGD does not need is refused rather than interpreted:
 * chunked transfer coding (501), a body without Content-Length on a POST
 * (411), two different Content-Lengths (400, RFC 9112 6.3 item 5), a
 * header or body that would not fit (431 / 413).
 */
#ifndef RSSNAT_HTTP_REQ_H
#define RSSNAT_HTTP_REQ_H

#include <stddef.h>
#include <stdint.h>

enum {
	HTTP_REQ_MAX = 8192,   /* header and body of one request */
	HTTP_HEADERS_MAX = 32, /* header lines */
	HTTP_PATH_MAX = 128,
	HTTP_ACTION_MAX = 160, /* SOAPAction: "service-type#action" */
	HTTP_HOST_MAX = 64,
};

/* Why a request was refused (its status is http_req.status). */
#define HTTP_REFUSALS(X)                                                                           \
	X(BAD_REQUEST_LINE, 400, "request line not METHOD SP PATH SP HTTP/1.x")                    \
	X(BAD_HEADER, 400, "header line without a colon, or with a control byte")                  \
	X(TOO_MANY_HEADERS, 431, "more than HTTP_HEADERS_MAX header lines")                        \
	X(HEADER_TOO_BIG, 431, "no end of the header within HTTP_REQ_MAX bytes")                   \
	X(BAD_LENGTH, 400, "Content-Length not a number, or two different ones")                   \
	X(NO_LENGTH, 411, "POST without Content-Length")                                           \
	X(BODY_TOO_BIG, 413, "header and body over HTTP_REQ_MAX bytes")                            \
	X(CHUNKED, 501, "Transfer-Encoding: not implemented")                                      \
	X(METHOD, 405, "a method other than GET or POST")                                          \
	X(PATH_TOO_LONG, 414, "request target over HTTP_PATH_MAX bytes")

enum http_refusal {
	HTTP_REFUSAL_NONE = 0,
#define HTTP_REFUSAL_ENUM(name, status, text) HTTP_REFUSAL_##name,
	HTTP_REFUSALS(HTTP_REFUSAL_ENUM)
#undef HTTP_REFUSAL_ENUM
	    HTTP_REFUSAL_COUNT
};

enum http_method { HTTP_GET = 1, HTTP_POST };

enum http_parse {
	HTTP_NEED_MORE = 0, /* read more; nothing is decided */
	HTTP_DONE,	    /* header and body complete: the fields are valid */
	HTTP_REFUSED,	    /* answer status, then close */
};

struct http_req {
	enum http_method method;
	char path[HTTP_PATH_MAX];
	char soap_action[HTTP_ACTION_MAX]; /* without its quotes; "" if absent */
	char host[HTTP_HOST_MAX];	   /* the Host header; "" if absent or too long */
	size_t body_off;		   /* the body is buf[body_off, body_off + body_len) */
	size_t body_len;
	int status; /* HTTP status when refused */
	enum http_refusal refusal;
};

/* http_req_parse() - parse the @len bytes of @buf received so far.
 * Returns HTTP_NEED_MORE, HTTP_DONE (fields filled) or HTTP_REFUSED
 * (status and refusal set). @len at HTTP_REQ_MAX without a complete
 * request is always a refusal. */
enum http_parse http_req_parse(const char *buf, size_t len, struct http_req *r);

const char *http_refusal_name(enum http_refusal why);
int http_refusal_status(enum http_refusal why);
/* http_status_text() - the reason phrase of @status ("Bad Request"). */
const char *http_status_text(int status);

#endif
