/* test_upnp_soap.c - SOAP control of the UPnP IGD (src/portctl/igd_soap.c,
 * igd_actions.c) over the real mapping service and NAT: each action's
 * response, the UPnP error codes (UDA 2.0 3.2.2, WANIPConnection:2 2.4),
 * the policy (a host maps only to itself: 606), and malformed requests
 * answered and counted. */
#include "test.h"
#include "nat_env.h"
#include "../../src/portctl/igd_internal.h"
#include "../../src/portctl/portmap.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define IPCONN2 "urn:schemas-upnp-org:service:WANIPConnection:2"
#define IPCONN1 "urn:schemas-upnp-org:service:WANIPConnection:1"

struct rig {
	struct env e;
	struct portmap *pm;
	struct igd_counters cnt;
	struct igd_soap_ctx ctx;
	char out[IGD_OUT_MAX];
};

static void rig_open(struct rig *r)
{
	struct pm_config cfg;
	const char *why = NULL;

	memset(r, 0, sizeof(*r));
	env_open(&r->e, 2, NULL, NULL);
	portmap_config_default(&cfg);
	CHECK_EQ(
	    portmap_create(&cfg, r->e.nat, lan(1), lan(0), htonl(0xffffff00), wan(), &r->pm, &why),
	    0);
	r->ctx = (struct igd_soap_ctx){.pm = r->pm, .now_ms = 1000, .cnt = &r->cnt};
}

static void rig_close(struct rig *r)
{
	portmap_destroy(r->pm);
	env_close(&r->e);
}

/* POST @args of @action in @ns to @path from LAN host @host; the answer's
 * UPnP error code, 0 on success, or -HTTP status for a bare HTTP error. */
static int post(struct rig *r, const char *path, const char *ns, const char *action,
		const char *args, unsigned host)
{
	static char req[HTTP_REQ_MAX * 2];
	char body[HTTP_REQ_MAX];
	struct igd_buf out = {.p = r->out, .size = sizeof(r->out)};
	struct http_req hr;
	const char *code;
	int n = snprintf(body, sizeof(body),
			 "<?xml version=\"1.0\"?><s:Envelope "
			 "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
			 "<u:%s xmlns:u=\"%s\">%s</u:%s></s:Body></s:Envelope>",
			 action, ns, args, action);
	int len =
	    snprintf(req, sizeof(req),
		     "POST %s HTTP/1.1\r\nContent-Length: %d\r\nSOAPAction: \"%s#%s\"\r\n\r\n%s",
		     path, n, ns, action, body);

	if (!CHECK_EQ(http_req_parse(req, (size_t)len, &hr), HTTP_DONE))
		return -1;
	igd_soap_control(&r->ctx, &hr, req, lan(host), &out);
	r->out[out.len] = '\0';
	if (!strncmp(r->out, "HTTP/1.1 200 ", 13))
		return 0;
	if ((code = strstr(r->out, "<errorCode>")))
		return atoi(code + 11);
	return -atoi(r->out + 9);
}

static bool has(const struct rig *r, const char *text)
{
	return strstr(r->out, text) != NULL;
}

static const char *add_args(char *buf, unsigned ext, const char *proto, unsigned in,
			    unsigned client, unsigned lease)
{
	sprintf(buf,
		"<NewRemoteHost></NewRemoteHost><NewExternalPort>%u</NewExternalPort>"
		"<NewProtocol>%s</NewProtocol><NewInternalPort>%u</NewInternalPort>"
		"<NewInternalClient>192.168.137.%u</NewInternalClient><NewEnabled>1</NewEnabled>"
		"<NewPortMappingDescription>test &amp; go</NewPortMappingDescription>"
		"<NewLeaseDuration>%u</NewLeaseDuration>",
		ext, proto, in, client, lease);
	return buf;
}

#define KEY(port, proto)                                                                           \
	"<NewRemoteHost></NewRemoteHost><NewExternalPort>" #port "</NewExternalPort>"              \
	"<NewProtocol>" proto "</NewProtocol>"

TEST(upnp_add_read_delete)
{
	struct rig r;
	struct pm_entry e;
	char a[1024];

	rig_open(&r);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetExternalIPAddress", "", 10), 0);
	CHECK(has(&r, "<NewExternalIPAddress>198.51.100.2</NewExternalIPAddress>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN1, "AddPortMapping",
		      add_args(a, 8081, "TCP", 8000, 10, 0), 10),
		 0);
	CHECK_EQ(portmap_find(r.pm, 6, 8081, &e), PM_OK);
	CHECK_EQ(e.origin, PM_UPNP);
	CHECK_EQ(e.int_addr, lan(10));
	CHECK(!strcmp(e.desc, "test & go"));
	CHECK_EQ(e.lifetime_s, PM_LIFE_MAX_DEFAULT); /* lease 0: the maximum, not forever */
	CHECK_EQ(
	    post(&r, "/ctl/IPConn", IPCONN2, "GetSpecificPortMappingEntry", KEY(8081, "TCP"), 11),
	    0);
	CHECK(has(&r, "<NewInternalClient>192.168.137.10</NewInternalClient>"));
	CHECK(has(&r, "<NewPortMappingDescription>test &amp; go</NewPortMappingDescription>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetGenericPortMappingEntry",
		      "<NewPortMappingIndex>0</NewPortMappingIndex>", 10),
		 0);
	CHECK(has(&r, "<NewExternalPort>8081</NewExternalPort>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetGenericPortMappingEntry",
		      "<NewPortMappingIndex>5</NewPortMappingIndex>", 10),
		 713);
	/* Another host may not delete it; its owner may, once. */
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "DeletePortMapping", KEY(8081, "TCP"), 11), 606);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "DeletePortMapping", KEY(8081, "TCP"), 10), 0);
	CHECK_EQ(portmap_find(r.pm, 6, 8081, &e), PM_NOT_FOUND);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "DeletePortMapping", KEY(8081, "TCP"), 10), 714);
	CHECK_EQ(r.cnt.actions[IGD_ACT_DeletePortMapping], 3);
	CHECK_EQ(r.cnt.errors[IGD_E_714], 1);
	rig_close(&r);
}

TEST(upnp_only_for_itself_and_bad_args)
{
	struct rig r;
	char a[1024];

	rig_open(&r);
	/* 192.168.137.10 asks for 192.168.137.11: refused, nothing mapped. */
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 8082, "TCP", 8000, 11, 60), 10),
		 606);
	CHECK_EQ(portmap_count(r.pm), 0);
	CHECK_EQ(r.cnt.errors[IGD_E_606], 1);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 0, "TCP", 8000, 10, 60), 10),
		 716);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 8082, "SCTP", 8000, 10, 60), 10),
		 402);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 8082, "TCP", 0, 10, 60), 10),
		 732);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 70000, "TCP", 80, 10, 60), 10),
		 402);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      "<NewProtocol>TCP</NewProtocol>", 10),
		 402);
	/* The same port for another host: a conflict. */
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 8082, "UDP", 9000, 10, 60), 10),
		 0);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddPortMapping",
		      add_args(a, 8082, "UDP", 9000, 11, 60), 11),
		 718);
	rig_close(&r);
}

TEST(upnp_v2_actions)
{
	struct rig r;
	char a[1024], args[1200];
	struct pm_entry e;

	rig_open(&r);
	/* v2 actions do not exist in WANIPConnection:1. */
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN1, "AddAnyPortMapping",
		      add_args(a, 8083, "TCP", 8000, 10, 60), 10),
		 401);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "AddAnyPortMapping",
		      add_args(a, 8083, "TCP", 8000, 10, 60), 10),
		 0);
	CHECK(has(&r, "<NewReservedPort>"));
	CHECK_EQ(portmap_find_internal(r.pm, 6, lan(10), 8000, &e), PM_OK);
	sprintf(args, "<NewStartPort>1</NewStartPort><NewEndPort>65535</NewEndPort>"
		      "<NewProtocol>TCP</NewProtocol><NewManage>0</NewManage>"
		      "<NewNumberOfPorts>0</NewNumberOfPorts>");
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetListOfPortMappings", args, 10), 0);
	CHECK(has(&r, "<p:NewInternalClient>192.168.137.10</p:NewInternalClient>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "DeletePortMappingRange",
		      "<NewStartPort>9</NewStartPort><NewEndPort>1</NewEndPort>"
		      "<NewProtocol>TCP</NewProtocol><NewManage>0</NewManage>",
		      10),
		 733);
	/* Another host's range delete finds nothing of its own. */
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "DeletePortMappingRange",
		      "<NewStartPort>1</NewStartPort><NewEndPort>65535</NewEndPort>"
		      "<NewProtocol>TCP</NewProtocol><NewManage>1</NewManage>",
		      11),
		 730);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "DeletePortMappingRange",
		      "<NewStartPort>1</NewStartPort><NewEndPort>65535</NewEndPort>"
		      "<NewProtocol>TCP</NewProtocol><NewManage>0</NewManage>",
		      10),
		 0);
	CHECK_EQ(portmap_count(r.pm), 0);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetStatusInfo", "", 10), 0);
	CHECK(has(&r, "<NewConnectionStatus>Connected</NewConnectionStatus>"));
	/* No WAN address (shared uplink mode, the kernel has none): not
	 * connected, the external address an empty string (WANIPConnection
	 * ExternalIPAddress), and no mapping can be made. */
	portmap_set_wan_addr(r.pm, 0);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetStatusInfo", "", 10), 0);
	CHECK(has(&r, "<NewConnectionStatus>Disconnected</NewConnectionStatus>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetExternalIPAddress", "", 10), 0);
	CHECK(has(&r, "<NewExternalIPAddress></NewExternalIPAddress>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN1, "AddPortMapping",
		      add_args(a, 8085, "TCP", 8000, 10, 0), 10),
		 501);
	portmap_set_wan_addr(r.pm, htonl(0xc6336402));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetStatusInfo", "", 10), 0);
	CHECK(has(&r, "<NewConnectionStatus>Connected</NewConnectionStatus>"));
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetConnectionTypeInfo", "", 10), 0);
	CHECK(has(&r, "IP_Routed"));
	CHECK_EQ(post(&r, "/ctl/CmnIfCfg",
		      "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
		      "GetCommonLinkProperties", "", 10),
		 0);
	rig_close(&r);
}

TEST(upnp_wrong_action_service_or_xml)
{
	struct rig r;
	char deep[4096];
	size_t n = 0;

	rig_open(&r);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "Reboot", "", 10), 401);
	CHECK_EQ(post(&r, "/ctl/Nowhere", IPCONN2, "GetStatusInfo", "", 10), 401);
	CHECK_EQ(post(&r, "/ctl/IPConn", "urn:other", "GetStatusInfo", "", 10), 401);
	CHECK_EQ(post(&r, "/ctl/CmnIfCfg", IPCONN2, "GetStatusInfo", "", 10), 401);
	for (unsigned i = 0; i < 200; i++)
		n += (size_t)sprintf(deep + n, "<d>");
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetStatusInfo", deep, 10), -400);
	CHECK_EQ(r.cnt.soap_malformed[SOAP_ERR_DEPTH], 1);
	CHECK_EQ(post(&r, "/ctl/IPConn", IPCONN2, "GetStatusInfo", "<!DOCTYPE x>", 10), -400);
	CHECK_EQ(r.cnt.soap_malformed[SOAP_ERR_DECLARATION], 1);
	CHECK_EQ(r.cnt.errors[IGD_E_401], 4);
	rig_close(&r);
}

TEST(upnp_descriptions)
{
	static char out[IGD_OUT_MAX];
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct igd_buf b = {.p = out, .size = sizeof(out)};
	struct ssdp_device d;
	struct soap_call c;
	const char *body;

	ssdp_device_init(&d, mac, lan(1), 5000, 1);
	CHECK(igd_describe(&d, "/rootDesc.xml", &b));
	CHECK(strstr(out, "urn:schemas-upnp-org:service:WANIPConnection:2") != NULL);
	CHECK(strstr(out, "<controlURL>/ctl/IPConn</controlURL>") != NULL);
	b.len = 0;
	CHECK(igd_describe(&d, "/WANIPCn.xml", &b));
	CHECK(strstr(out, "<name>AddAnyPortMapping</name>") != NULL);
	CHECK(!b.full);
	/* Our own documents read back through our own scanner as far as it
	 * goes: they are well-formed up to the depth it allows. */
	body = strstr(out, "\r\n\r\n") + 4;
	CHECK_EQ(soap_parse(body, strlen(body), &c), SOAP_ERR_NO_ACTION);
	b.len = 0;
	CHECK(!igd_describe(&d, "/etc/passwd", &b));
}

/* A browser can make a page POST a SOAP body to the gateway across origins,
 * but neither set SOAPAction nor (after DNS rebinding) name our address in
 * Host: neither is served. */
TEST(upnp_browser_requests_refused)
{
	static const char body[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
	    "<u:AddPortMapping xmlns:u=\"" IPCONN2 "\"></u:AddPortMapping></s:Body></s:Envelope>";
	struct rig r;
	char req[1024];
	struct http_req hr;
	struct igd_buf out = {.p = r.out, .size = sizeof(r.out)};
	int len;

	rig_open(&r);
	out.p = r.out;
	len = snprintf(req, sizeof(req),
		       "POST /ctl/IPConn HTTP/1.1\r\nHost: 192.168.137.1:5000\r\n"
		       "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
		       strlen(body), body);
	CHECK_EQ(http_req_parse(req, (size_t)len, &hr), HTTP_DONE);
	CHECK(!strcmp(hr.host, "192.168.137.1:5000"));
	igd_soap_control(&r.ctx, &hr, req, lan(10), &out);
	CHECK(!strncmp(r.out, "HTTP/1.1 400 ", 13));
	CHECK_EQ(r.cnt.soap_no_soapaction, 1);
	CHECK_EQ(r.cnt.actions[IGD_ACT_AddPortMapping], 0);
	CHECK(igd_host_ok("192.168.137.1:5000", lan(1)));
	CHECK(igd_host_ok("192.168.137.1", lan(1)));
	CHECK(!igd_host_ok("192.168.137.10:5000", lan(1)));
	CHECK(!igd_host_ok("evil.example:5000", lan(1)));
	CHECK(!igd_host_ok("", lan(1)));
	rig_close(&r);
}
