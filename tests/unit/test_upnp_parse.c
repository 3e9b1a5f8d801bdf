/* test_upnp_parse.c - the UPnP IGD's bounded parsers (src/portctl/):
 * HTTP requests (RFC 9112) complete, truncated, oversize and refused;
 * SOAP envelopes (UDA 2.0 3.2.1) with their arguments, and the ones
 * refused (deep nesting, DOCTYPE, mismatched tags, too many or too long);
 * SSDP M-SEARCH (UDA 1.1 1.3.2) and which advertisements answer it. */
#include "test.h"
#include "../../src/portctl/http_req.h"
#include "../../src/portctl/soap.h"
#include "../../src/portctl/ssdp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static enum http_parse parse(const char *text, struct http_req *r)
{
	return http_req_parse(text, strlen(text), r);
}

TEST(http_post_with_body)
{
	const char *req = "POST /ctl/IPConn HTTP/1.1\r\nHost: 192.168.137.1:5000\r\n"
			  "Content-Length: 5\r\nSOAPAction: \"urn:x#AddPortMapping\"\r\n\r\nhello";
	struct http_req r;

	CHECK_EQ(parse(req, &r), HTTP_DONE);
	CHECK_EQ(r.method, HTTP_POST);
	CHECK(!strcmp(r.path, "/ctl/IPConn"));
	CHECK(!strcmp(r.soap_action, "urn:x#AddPortMapping"));
	CHECK_EQ(r.body_len, 5);
	CHECK(!memcmp(req + r.body_off, "hello", 5));
	/* Every truncation of it is "need more", never a decision. */
	for (size_t n = 0; n < strlen(req); n++)
		CHECK_EQ(http_req_parse(req, n, &r), HTTP_NEED_MORE);
}

TEST(http_get_without_body)
{
	struct http_req r;

	CHECK_EQ(parse("GET /rootDesc.xml HTTP/1.0\r\n\r\n", &r), HTTP_DONE);
	CHECK_EQ(r.method, HTTP_GET);
	CHECK_EQ(r.body_len, 0);
}

static void refused(const char *text, enum http_refusal why, int status)
{
	struct http_req r;

	CHECK_EQ(parse(text, &r), HTTP_REFUSED);
	CHECK_EQ(r.refusal, why);
	CHECK_EQ(r.status, status);
}

TEST(http_refusals)
{
	refused("BREW /pot HTTP/1.1\r\n\r\n", HTTP_REFUSAL_METHOD, 405);
	refused("GET /a b HTTP/1.1\r\n\r\n", HTTP_REFUSAL_BAD_REQUEST_LINE, 400);
	refused("GET / HTTP/2.0\r\n\r\n", HTTP_REFUSAL_BAD_REQUEST_LINE, 400);
	refused("GET / HTTP/1.1\r\nno colon\r\n\r\n", HTTP_REFUSAL_BAD_HEADER, 400);
	refused("POST / HTTP/1.1\r\n\r\n", HTTP_REFUSAL_NO_LENGTH, 411);
	refused("POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", HTTP_REFUSAL_BAD_LENGTH, 400);
	refused("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		HTTP_REFUSAL_BAD_LENGTH, 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_REFUSAL_CHUNKED, 501);
	refused("POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n", HTTP_REFUSAL_BODY_TOO_BIG,
		413);
	refused("POST / HTTP/1.1\r\nContent-Length: 8170\r\n\r\n", HTTP_REFUSAL_BODY_TOO_BIG, 413);
}

TEST(http_oversize_header_and_too_many_lines)
{
	char *big = malloc(HTTP_REQ_MAX + 1);
	struct http_req r;
	size_t n;

	memset(big, 'a', HTTP_REQ_MAX);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK_EQ(http_req_parse(big, HTTP_REQ_MAX - 1, &r), HTTP_NEED_MORE);
	CHECK_EQ(http_req_parse(big, HTTP_REQ_MAX, &r), HTTP_REFUSED);
	CHECK_EQ(r.status, 431);
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
	for (unsigned i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)sprintf(big + n, "H%u: v\r\n", i);
	n += (size_t)sprintf(big + n, "\r\n");
	CHECK_EQ(http_req_parse(big, n, &r), HTTP_REFUSED);
	CHECK_EQ(r.refusal, HTTP_REFUSAL_TOO_MANY_HEADERS);
	free(big);
}

/* ---- SOAP ---- */

#define ENV_OPEN                                                                                   \
	"<?xml version=\"1.0\"?>\r\n<s:Envelope "                                                  \
	"xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "                                   \
	"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>\r\n"

static enum soap_error soap(const char *xml, struct soap_call *c)
{
	return soap_parse(xml, strlen(xml), c);
}

TEST(soap_add_port_mapping_as_miniupnpc_sends_it)
{
	struct soap_call c;
	const char *xml = ENV_OPEN
	    "<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
	    "<NewRemoteHost></NewRemoteHost><NewExternalPort>8081</NewExternalPort>"
	    "<NewProtocol>TCP</NewProtocol><NewInternalPort>8000</NewInternalPort>"
	    "<NewInternalClient>192.168.137.10</NewInternalClient><NewEnabled>1</NewEnabled>"
	    "<NewPortMappingDescription>a &amp; b &lt;&#65;&#x42;&gt;</NewPortMappingDescription>"
	    "<NewLeaseDuration>0</NewLeaseDuration><Empty/>"
	    "</u:AddPortMapping>" ENV_CLOSE;

	CHECK_EQ(soap(xml, &c), SOAP_OK);
	CHECK(!strcmp(c.action, "AddPortMapping"));
	CHECK(!strcmp(c.ns, "urn:schemas-upnp-org:service:WANIPConnection:2"));
	CHECK_EQ(c.n_args, 9);
	CHECK(!strcmp(soap_arg(&c, "NewExternalPort"), "8081"));
	CHECK(!strcmp(soap_arg(&c, "NewRemoteHost"), ""));
	CHECK(!strcmp(soap_arg(&c, "Empty"), ""));
	CHECK(!strcmp(soap_arg(&c, "NewPortMappingDescription"), "a & b <AB>"));
	CHECK(soap_arg(&c, "Missing") == NULL);
	/* Every truncation is refused, never read past. */
	for (size_t n = 0; n < strlen(xml) - 2; n++)
		CHECK(soap_parse(xml, n, &c) != SOAP_OK);
}

TEST(soap_refusals)
{
	struct soap_call c;
	char deep[4096];
	size_t n = 0;

	n += (size_t)sprintf(deep + n, ENV_OPEN "<u:A xmlns:u=\"x\"><B>");
	for (unsigned i = 0; i < 100; i++)
		n += (size_t)sprintf(deep + n, "<d>");
	CHECK_EQ(soap(deep, &c), SOAP_ERR_DEPTH);
	CHECK_EQ(soap("<!DOCTYPE lol [<!ENTITY lol \"lol\">]>" ENV_OPEN "<u:A/>" ENV_CLOSE, &c),
		 SOAP_ERR_DECLARATION);
	CHECK_EQ(soap(ENV_OPEN "<u:A><B><![CDATA[x]]></B></u:A>" ENV_CLOSE, &c),
		 SOAP_ERR_DECLARATION);
	CHECK_EQ(soap(ENV_OPEN "<u:A><B>1</C></u:A>" ENV_CLOSE, &c), SOAP_ERR_SYNTAX);
	CHECK_EQ(soap(ENV_OPEN "<u:A><B>&bogus;</B></u:A>" ENV_CLOSE, &c), SOAP_ERR_SYNTAX);
	CHECK_EQ(soap(ENV_OPEN "<u:A><B>&#300;</B></u:A>" ENV_CLOSE, &c), SOAP_ERR_SYNTAX);
	CHECK_EQ(soap(ENV_OPEN "<u:A/><u:B/>" ENV_CLOSE, &c), SOAP_ERR_SYNTAX);
	CHECK_EQ(soap(ENV_OPEN ENV_CLOSE, &c), SOAP_ERR_NO_ACTION);
	CHECK_EQ(soap("<x/>", &c), SOAP_ERR_NO_ACTION);
	CHECK_EQ(soap(ENV_OPEN "<u:A/>" ENV_CLOSE "<again/>", &c), SOAP_ERR_SYNTAX);
	n = (size_t)sprintf(deep, ENV_OPEN "<u:A>");
	for (unsigned i = 0; i <= SOAP_ARGS_MAX; i++)
		n += (size_t)sprintf(deep + n, "<a%u>1</a%u>", i, i);
	sprintf(deep + n, "</u:A>" ENV_CLOSE);
	CHECK_EQ(soap(deep, &c), SOAP_ERR_TOO_MANY_ARGS);
	n = (size_t)sprintf(deep, ENV_OPEN "<u:A><v>");
	memset(deep + n, 'x', SOAP_VALUE_MAX);
	sprintf(deep + n + SOAP_VALUE_MAX, "</v></u:A>" ENV_CLOSE);
	CHECK_EQ(soap(deep, &c), SOAP_ERR_TOO_LONG);
}

TEST(soap_escape_bounds)
{
	char out[8];

	CHECK_EQ(soap_escape("a<b", out, sizeof(out)), 6);
	CHECK(!strcmp(out, "a&lt;b"));
	CHECK_EQ(soap_escape("<<<<", out, sizeof(out)), 4); /* one &lt; fits, then stop */
	CHECK(!strcmp(out, "&lt;"));
}

/* ---- SSDP ---- */

static struct ssdp_device device(void)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct ssdp_device d;
	uint32_t addr;

	inet_pton(AF_INET, "192.168.137.1", &addr);
	ssdp_device_init(&d, mac, addr, 5000, 7);
	return d;
}

static unsigned answers(const char *st)
{
	struct ssdp_device d = device();
	char out[SSDP_ST_MAX];
	unsigned n = 0;

	for (unsigned i = 0; i < SSDP_ADS; i++)
		n += ssdp_match(&d, i, st, out, sizeof(out));
	return n;
}

TEST(ssdp_search_and_answers)
{
	const char *msearch = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
			      "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
			      "MAN: \"ssdp:discover\"\r\nMX: 2\r\n\r\n";
	struct ssdp_device d = device();
	struct ssdp_search s;
	char st[SSDP_ST_MAX], msg[SSDP_MSG_MAX];

	CHECK_EQ(ssdp_parse_search(msearch, strlen(msearch), &s), SSDP_DROP_NONE);
	CHECK_EQ(s.mx, 2);
	CHECK_EQ(answers(s.st), 1);
	CHECK(ssdp_match(&d, 4, s.st, st, sizeof(st)));
	CHECK(!strcmp(st, "urn:schemas-upnp-org:device:InternetGatewayDevice:1")); /* as asked */
	CHECK(ssdp_response(&d, 4, st, msg, sizeof(msg)) > 0);
	CHECK(strstr(msg, "LOCATION: http://192.168.137.1:5000/rootDesc.xml\r\n") != NULL);
	CHECK(strstr(msg, "USN: uuid:") != NULL);
	CHECK_EQ(answers("ssdp:all"), SSDP_ADS);
	CHECK_EQ(answers("upnp:rootdevice"), 1);
	CHECK_EQ(answers("urn:schemas-upnp-org:service:WANIPConnection:1"), 1);
	CHECK_EQ(answers("urn:schemas-upnp-org:service:WANIPConnection:2"), 1);
	CHECK_EQ(answers("urn:schemas-upnp-org:service:WANIPConnection:3"), 0);
	CHECK_EQ(answers("urn:schemas-upnp-org:device:WANConnectionDevice:1"), 1);
	CHECK_EQ(answers("urn:schemas-upnp-org:service:WANPPPConnection:1"), 0);
	CHECK_EQ(answers(d.uuid[2]), 1);
	for (unsigned i = 0; i < SSDP_ADS; i++) {
		CHECK(ssdp_notify(&d, i, true, msg, sizeof(msg)) > 0);
		CHECK(ssdp_notify(&d, i, false, msg, sizeof(msg)) > 0);
	}
}

TEST(ssdp_not_searches)
{
	struct ssdp_search s;
	const char *notify = "NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n";
	const char *no_man = "M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\nMX: 1\r\n\r\n";
	const char *no_st = "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\n\r\n";
	static char big[SSDP_DATAGRAM_MAX + 1];

	CHECK_EQ(ssdp_parse_search(notify, strlen(notify), &s), SSDP_DROP_NOT_SEARCH);
	CHECK_EQ(ssdp_parse_search(no_man, strlen(no_man), &s), SSDP_DROP_MALFORMED);
	CHECK_EQ(ssdp_parse_search(no_st, strlen(no_st), &s), SSDP_DROP_MALFORMED);
	CHECK_EQ(ssdp_parse_search(big, sizeof(big), &s), SSDP_DROP_TOO_BIG);
}
