/* soap.h - a bounded reader of one SOAP 1.1 request envelope, the subset
 * UPnP control (UDA 2.0 3.2.1) uses:
 *
 *   <s:Envelope ...><s:Body><u:ACTION xmlns:u="SERVICE-TYPE">
 *     <ARG>value</ARG> ...
 *   </u:ACTION></s:Body></s:Envelope>
 *
 * Theory of operation
 * -------------------
 * Not an XML parser: a scanner of tags and text over a buffer it does not
 * own, with fixed limits and no allocation. It keeps the action's local
 * name, its namespace (the service type), and up to SOAP_ARGS_MAX
 * arguments as (name, value) with the five predefined entities and
 * numeric character references (ASCII only) decoded. Nesting deeper than
 * SOAP_DEPTH_MAX, a DOCTYPE or any other markup declaration (so no entity
 * of our own can be defined: no "billion laughs"), CDATA, mismatched end
 * tags, or a name or value over its limit, end the scan with a named
 * error; the caller answers it and counts it.
 */
#ifndef RSSNAT_SOAP_H
#define RSSNAT_SOAP_H

#include <stddef.h>

enum {
	SOAP_ARGS_MAX = 16,
	SOAP_NAME_MAX = 48,
	SOAP_VALUE_MAX = 256,
	SOAP_NS_MAX = 96,
	SOAP_DEPTH_MAX = 6, /* Envelope, Body, action, argument, and two to spare */
};

#define SOAP_ERRORS(X)                                                                             \
	X(SYNTAX, "not well-formed: an unclosed tag, a mismatched end tag, text outside")          \
	X(DEPTH, "elements nested deeper than SOAP_DEPTH_MAX")                                     \
	X(DECLARATION, "a DOCTYPE, CDATA or other <! declaration")                                 \
	X(TOO_MANY_ARGS, "more than SOAP_ARGS_MAX arguments")                                      \
	X(TOO_LONG, "a name, namespace or value over its limit")                                   \
	X(NO_ACTION, "no Envelope/Body/action element")

enum soap_error {
	SOAP_OK = 0,
#define SOAP_ERROR_ENUM(name, text) SOAP_ERR_##name,
	SOAP_ERRORS(SOAP_ERROR_ENUM)
#undef SOAP_ERROR_ENUM
	    SOAP_ERR_COUNT
};

struct soap_arg {
	char name[SOAP_NAME_MAX];
	char value[SOAP_VALUE_MAX];
};

struct soap_call {
	char action[SOAP_NAME_MAX]; /* local name: "AddPortMapping" */
	char ns[SOAP_NS_MAX];	    /* its xmlns: "urn:schemas-upnp-org:service:..." */
	unsigned n_args;
	struct soap_arg args[SOAP_ARGS_MAX];
};

/* soap_parse() - read the envelope in @xml[0, @len) into @c.
 * Returns SOAP_OK or the error that stopped the scan. */
enum soap_error soap_parse(const char *xml, size_t len, struct soap_call *c);

/* soap_arg() - the value of argument @name, or NULL if absent. */
const char *soap_arg(const struct soap_call *c, const char *name);

const char *soap_error_name(enum soap_error e);

/* soap_escape() - @in with &<>"' escaped into @out (always terminated,
 * truncated at @size). Returns the length written. */
size_t soap_escape(const char *in, char *out, size_t size);

#endif
