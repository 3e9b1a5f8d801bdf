/* soap.c - the bounded SOAP envelope scanner of soap.h. */
#include "soap.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const error_names[] = {"ok",
#define SOAP_ERROR_NAME(name, text) #name,
					  SOAP_ERRORS(SOAP_ERROR_NAME)
#undef SOAP_ERROR_NAME
};

const char *soap_error_name(enum soap_error e)
{
	return e < SOAP_ERR_COUNT ? error_names[e] : "?";
}

/* Depths of the elements that matter (1 = the root). */
enum { D_ENVELOPE = 1, D_BODY = 2, D_ACTION = 3, D_ARG = 4 };

struct scan {
	const char *p, *end;
	struct soap_call *c;
	unsigned depth;
	bool in_body;
	char open[SOAP_DEPTH_MAX][SOAP_NAME_MAX]; /* qualified names of the open elements */
	size_t value_len;			  /* of the argument being read */
};

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool is_name_end(char ch)
{
	return is_space(ch) || ch == '/' || ch == '>' || ch == '=';
}

/* After the prefix's colon, if any. */
static const char *local_name(const char *qname)
{
	const char *colon = strchr(qname, ':');

	return colon ? colon + 1 : qname;
}

static bool local_is(const char *qname, const char *want)
{
	return !strcmp(local_name(qname), want);
}

/* Skip to just past @tail; false if it never comes. */
static bool skip_past(struct scan *s, const char *tail)
{
	size_t n = strlen(tail);

	for (; s->p + n <= s->end; s->p++)
		if (!memcmp(s->p, tail, n)) {
			s->p += n;
			return true;
		}
	return false;
}

static void skip_space(struct scan *s)
{
	while (s->p < s->end && is_space(*s->p))
		s->p++;
}

/* A name into @out (NUL-terminated, at most @size - 1 bytes). */
static enum soap_error read_name(struct scan *s, char *out, size_t size)
{
	size_t n = 0;

	while (s->p < s->end && !is_name_end(*s->p) && *s->p != '<' && *s->p != '"' &&
	       *s->p != '\'') {
		if (n + 1 >= size)
			return SOAP_ERR_TOO_LONG;
		out[n++] = *s->p++;
	}
	out[n] = '\0';
	return n ? SOAP_OK : SOAP_ERR_SYNTAX;
}

/* One decoded character of text or attribute value at s->p. */
static enum soap_error decode_char(struct scan *s, char *ch)
{
	static const struct {
		const char *ref;
		char ch;
	} named[] = {
	    {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
	const char *semi;
	unsigned long v = 0;
	bool hex;

	if (*s->p != '&') {
		*ch = *s->p++;
		return SOAP_OK;
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t n = strlen(named[i].ref);
		if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, named[i].ref, n)) {
			s->p += n;
			*ch = named[i].ch;
			return SOAP_OK;
		}
	}
	/* &#DDD; or &#xHH; - ASCII only: our values are port numbers,
	 * addresses and short descriptions. */
	if (s->end - s->p < 4 || s->p[1] != '#')
		return SOAP_ERR_SYNTAX;
	hex = s->p[2] == 'x';
	semi = s->p + 2 + hex;
	for (unsigned digits = 0; semi < s->end && *semi != ';'; semi++, digits++) {
		char d = *semi;
		int x = d >= '0' && d <= '9'	      ? d - '0'
			: hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
			: hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
						      : -1;
		if (x < 0 || digits >= 4)
			return SOAP_ERR_SYNTAX;
		v = v * (hex ? 16 : 10) + (unsigned long)x;
	}
	if (semi >= s->end || v == 0 || v > 127)
		return SOAP_ERR_SYNTAX;
	s->p = semi + 1;
	*ch = (char)v;
	return SOAP_OK;
}

static struct soap_arg *current_arg(struct scan *s)
{
	return &s->c->args[s->c->n_args - 1];
}

/* Character data up to the next '<'. */
static enum soap_error text(struct scan *s)
{
	bool in_arg = s->depth == D_ARG && s->in_body;
	enum soap_error e;
	char ch;

	while (s->p < s->end && *s->p != '<') {
		if ((e = decode_char(s, &ch)))
			return e;
		if (in_arg) {
			if (s->value_len + 1 >= SOAP_VALUE_MAX)
				return SOAP_ERR_TOO_LONG;
			current_arg(s)->value[s->value_len++] = ch;
		} else if (!is_space(ch) && s->depth < D_ARG) {
			return SOAP_ERR_SYNTAX; /* text where only elements belong */
		}
	}
	return SOAP_OK;
}

/* An attribute value, quoted; kept in @out if @out is not NULL. */
static enum soap_error attr_value(struct scan *s, char *out, size_t size)
{
	size_t n = 0;
	char quote, ch;
	enum soap_error e;

	if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
		return SOAP_ERR_SYNTAX;
	quote = *s->p++;
	while (s->p < s->end && *s->p != quote) {
		if (*s->p == '<')
			return SOAP_ERR_SYNTAX;
		if ((e = decode_char(s, &ch)))
			return e;
		if (out && n + 1 >= size)
			return SOAP_ERR_TOO_LONG;
		if (out)
			out[n++] = ch;
	}
	if (s->p >= s->end)
		return SOAP_ERR_SYNTAX;
	s->p++;
	if (out)
		out[n] = '\0';
	return SOAP_OK;
}

/* Is attribute @name the namespace declaration of element @qname's prefix? */
static bool declares_prefix_of(const char *name, const char *qname)
{
	const char *colon = strchr(qname, ':');

	if (!colon)
		return !strcmp(name, "xmlns");
	return !strncmp(name, "xmlns:", 6) && strlen(name + 6) == (size_t)(colon - qname) &&
	       !memcmp(name + 6, qname, (size_t)(colon - qname));
}

static enum soap_error attributes(struct scan *s, const char *qname, bool keep_ns)
{
	char name[SOAP_NAME_MAX];
	enum soap_error e;

	for (unsigned count = 0;; count++) {
		skip_space(s);
		if (s->p >= s->end)
			return SOAP_ERR_SYNTAX;
		if (*s->p == '>' || *s->p == '/')
			return SOAP_OK;
		if (count >= SOAP_ARGS_MAX || (e = read_name(s, name, sizeof(name))))
			return count >= SOAP_ARGS_MAX ? SOAP_ERR_TOO_MANY_ARGS : e;
		skip_space(s);
		if (s->p >= s->end || *s->p++ != '=')
			return SOAP_ERR_SYNTAX;
		skip_space(s);
		bool is_ns = keep_ns && declares_prefix_of(name, qname);
		if ((e = attr_value(s, is_ns ? s->c->ns : NULL, sizeof(s->c->ns))))
			return e;
	}
}

/* What an element opened at depth s->depth is, by where it is. */
static enum soap_error element_role(struct scan *s, const char *qname)
{
	if (s->depth == D_ENVELOPE)
		return local_is(qname, "Envelope") ? SOAP_OK : SOAP_ERR_NO_ACTION;
	if (s->depth == D_BODY && local_is(qname, "Body"))
		s->in_body = true;
	if (!s->in_body)
		return SOAP_OK;
	if (s->depth == D_ACTION) {
		if (s->c->action[0])
			return SOAP_ERR_SYNTAX; /* one action per request */
		snprintf(s->c->action, sizeof(s->c->action), "%s", local_name(qname));
	} else if (s->depth == D_ARG) {
		if (s->c->n_args >= SOAP_ARGS_MAX)
			return SOAP_ERR_TOO_MANY_ARGS;
		snprintf(s->c->args[s->c->n_args++].name, SOAP_NAME_MAX, "%s", local_name(qname));
		s->value_len = 0;
	}
	return SOAP_OK;
}

static enum soap_error close_element(struct scan *s)
{
	if (s->depth == D_BODY)
		s->in_body = false;
	s->depth--;
	return SOAP_OK;
}

/* <qname attr="v" ...> or <qname .../> */
static enum soap_error start_tag(struct scan *s)
{
	char qname[SOAP_NAME_MAX];
	enum soap_error e;

	s->p++;
	if ((e = read_name(s, qname, sizeof(qname))))
		return e;
	if (s->depth >= SOAP_DEPTH_MAX)
		return SOAP_ERR_DEPTH;
	s->depth++;
	memcpy(s->open[s->depth - 1], qname, sizeof(qname));
	if ((e = element_role(s, qname)) ||
	    (e = attributes(s, qname, s->depth == D_ACTION && s->in_body)))
		return e;
	if (*s->p == '/') {
		if (s->end - s->p < 2 || s->p[1] != '>')
			return SOAP_ERR_SYNTAX;
		s->p += 2;
		return close_element(s);
	}
	s->p++; /* '>' */
	return SOAP_OK;
}

/* </qname> matching the innermost open element. */
static enum soap_error end_tag(struct scan *s)
{
	char qname[SOAP_NAME_MAX];
	enum soap_error e;

	s->p += 2;
	if ((e = read_name(s, qname, sizeof(qname))))
		return e;
	skip_space(s);
	if (s->p >= s->end || *s->p != '>' || s->depth == 0 || strcmp(qname, s->open[s->depth - 1]))
		return SOAP_ERR_SYNTAX;
	s->p++;
	return close_element(s);
}

static enum soap_error markup(struct scan *s)
{
	size_t left = (size_t)(s->end - s->p);

	if (left >= 2 && s->p[1] == '?') /* the XML declaration, a PI */
		return s->depth == 0 && skip_past(s, "?>") ? SOAP_OK : SOAP_ERR_SYNTAX;
	if (left >= 4 && !memcmp(s->p, "<!--", 4))
		return skip_past(s, "-->") ? SOAP_OK : SOAP_ERR_SYNTAX;
	if (left >= 2 && s->p[1] == '!')
		return SOAP_ERR_DECLARATION;
	if (left >= 2 && s->p[1] == '/')
		return end_tag(s);
	return start_tag(s);
}

enum soap_error soap_parse(const char *xml, size_t len, struct soap_call *c)
{
	struct scan s = {.p = xml, .end = xml + len, .c = c};
	enum soap_error e;
	bool had_root = false;

	memset(c, 0, sizeof(*c));
	while (s.p < s.end) {
		if (*s.p == '<') {
			bool starts_element =
			    s.p + 1 < s.end && s.p[1] != '?' && s.p[1] != '!' && s.p[1] != '/';
			if (s.depth == 0 && starts_element && had_root)
				return SOAP_ERR_SYNTAX; /* a second root element */
			had_root |= s.depth == 0 && starts_element;
			e = markup(&s);
		} else {
			e = text(&s);
		}
		if (e)
			return e;
	}
	if (s.depth)
		return SOAP_ERR_SYNTAX;
	return c->action[0] ? SOAP_OK : SOAP_ERR_NO_ACTION;
}

const char *soap_arg(const struct soap_call *c, const char *name)
{
	for (unsigned i = 0; i < c->n_args; i++)
		if (!strcmp(c->args[i].name, name))
			return c->args[i].value;
	return NULL;
}

size_t soap_escape(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (!size)
		return 0;
	for (; *in; in++) {
		const char *rep = *in == '&'	? "&amp;"
				  : *in == '<'	? "&lt;"
				  : *in == '>'	? "&gt;"
				  : *in == '"'	? "&quot;"
				  : *in == '\'' ? "&apos;"
						: NULL;
		size_t k = rep ? strlen(rep) : 1;
		if (n + k >= size)
			break;
		memcpy(out + n, rep ? rep : in, k);
		n += k;
	}
	out[n] = '\0';
	return n;
}
