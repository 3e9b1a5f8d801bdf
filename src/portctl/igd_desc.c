/* igd_desc.c - the IGD's description documents (UDA 2.0 2.3 device
 * description, 2.5 service description): the root device with its two
 * embedded devices, and the SCPDs of WANIPConnection:2 and
 * WANCommonInterfaceConfig:1, written from tables at each request. */
#include "igd_internal.h"

#include <string.h>

#define URN "urn:schemas-upnp-org:"

/* An argument: "NAME>DIR>STATEVAR" keeps the tables one line each. */
struct scpd_action {
	const char *name;
	const char *args[9];
};

static const struct scpd_action ipconn_actions[] = {
    {"GetExternalIPAddress", {"NewExternalIPAddress>out>ExternalIPAddress"}},
    {"GetStatusInfo",
     {"NewConnectionStatus>out>ConnectionStatus", "NewLastConnectionError>out>LastConnectionError",
      "NewUptime>out>Uptime"}},
    {"GetConnectionTypeInfo",
     {"NewConnectionType>out>ConnectionType",
      "NewPossibleConnectionTypes>out>PossibleConnectionTypes"}},
    {"AddPortMapping",
     {"NewRemoteHost>in>RemoteHost", "NewExternalPort>in>ExternalPort",
      "NewProtocol>in>PortMappingProtocol", "NewInternalPort>in>InternalPort",
      "NewInternalClient>in>InternalClient", "NewEnabled>in>PortMappingEnabled",
      "NewPortMappingDescription>in>PortMappingDescription",
      "NewLeaseDuration>in>PortMappingLeaseDuration"}},
    {"AddAnyPortMapping",
     {"NewRemoteHost>in>RemoteHost", "NewExternalPort>in>ExternalPort",
      "NewProtocol>in>PortMappingProtocol", "NewInternalPort>in>InternalPort",
      "NewInternalClient>in>InternalClient", "NewEnabled>in>PortMappingEnabled",
      "NewPortMappingDescription>in>PortMappingDescription",
      "NewLeaseDuration>in>PortMappingLeaseDuration", "NewReservedPort>out>ExternalPort"}},
    {"DeletePortMapping",
     {"NewRemoteHost>in>RemoteHost", "NewExternalPort>in>ExternalPort",
      "NewProtocol>in>PortMappingProtocol"}},
    {"DeletePortMappingRange",
     {"NewStartPort>in>ExternalPort", "NewEndPort>in>ExternalPort",
      "NewProtocol>in>PortMappingProtocol", "NewManage>in>A_ARG_TYPE_Manage"}},
    {"GetSpecificPortMappingEntry",
     {"NewRemoteHost>in>RemoteHost", "NewExternalPort>in>ExternalPort",
      "NewProtocol>in>PortMappingProtocol", "NewInternalPort>out>InternalPort",
      "NewInternalClient>out>InternalClient", "NewEnabled>out>PortMappingEnabled",
      "NewPortMappingDescription>out>PortMappingDescription",
      "NewLeaseDuration>out>PortMappingLeaseDuration"}},
    {"GetGenericPortMappingEntry",
     {"NewPortMappingIndex>in>PortMappingNumberOfEntries", "NewRemoteHost>out>RemoteHost",
      "NewExternalPort>out>ExternalPort", "NewProtocol>out>PortMappingProtocol",
      "NewInternalPort>out>InternalPort", "NewInternalClient>out>InternalClient",
      "NewEnabled>out>PortMappingEnabled", "NewPortMappingDescription>out>PortMappingDescription",
      "NewLeaseDuration>out>PortMappingLeaseDuration"}},
    {"GetListOfPortMappings",
     {"NewStartPort>in>ExternalPort", "NewEndPort>in>ExternalPort",
      "NewProtocol>in>PortMappingProtocol", "NewManage>in>A_ARG_TYPE_Manage",
      "NewNumberOfPorts>in>PortMappingNumberOfEntries",
      "NewPortListing>out>A_ARG_TYPE_PortListing"}},
};

/* "NAME>TYPE>ALLOWED": ALLOWED a comma list of allowedValues, or "". */
static const char *const ipconn_vars[] = {
    "ConnectionType>string>",
    "PossibleConnectionTypes>string>IP_Routed",
    "ConnectionStatus>string>Connected",
    "Uptime>ui4>",
    "LastConnectionError>string>ERROR_NONE",
    "ExternalIPAddress>string>",
    "PortMappingNumberOfEntries>ui2>",
    "PortMappingEnabled>boolean>",
    "PortMappingLeaseDuration>ui4>",
    "RemoteHost>string>",
    "ExternalPort>ui2>",
    "InternalPort>ui2>",
    "PortMappingProtocol>string>TCP,UDP",
    "InternalClient>string>",
    "PortMappingDescription>string>",
    "A_ARG_TYPE_Manage>boolean>",
    "A_ARG_TYPE_PortListing>string>",
};

static const struct scpd_action ifcfg_actions[] = {
    {"GetCommonLinkProperties",
     {"NewWANAccessType>out>WANAccessType",
      "NewLayer1UpstreamMaxBitRate>out>Layer1UpstreamMaxBitRate",
      "NewLayer1DownstreamMaxBitRate>out>Layer1DownstreamMaxBitRate",
      "NewPhysicalLinkStatus>out>PhysicalLinkStatus"}},
};

static const char *const ifcfg_vars[] = {
    "WANAccessType>string>Ethernet",
    "Layer1UpstreamMaxBitRate>ui4>",
    "Layer1DownstreamMaxBitRate>ui4>",
    "PhysicalLinkStatus>string>Up",
};

/* Field @i of a '>'-separated table cell into @out. */
static const char *field(const char *cell, unsigned i, char *out, size_t size)
{
	size_t n;

	for (; i && cell; i--)
		if ((cell = strchr(cell, '>')))
			cell++;
	if (!cell)
		cell = "";
	n = strcspn(cell, ">");
	if (n >= size)
		n = size - 1;
	memcpy(out, cell, n);
	out[n] = '\0';
	return out;
}

static void action_xml(struct igd_buf *b, const struct scpd_action *a)
{
	char f0[64], f1[8], f2[64];

	igd_printf(b, "<action><name>%s</name><argumentList>", a->name);
	for (unsigned i = 0; i < 9 && a->args[i]; i++)
		igd_printf(b,
			   "<argument><name>%s</name><direction>%s</direction>"
			   "<relatedStateVariable>%s</relatedStateVariable></argument>",
			   field(a->args[i], 0, f0, sizeof(f0)),
			   field(a->args[i], 1, f1, sizeof(f1)),
			   field(a->args[i], 2, f2, sizeof(f2)));
	igd_printf(b, "</argumentList></action>");
}

static void var_xml(struct igd_buf *b, const char *cell)
{
	char name[64], type[16], allowed[64], one[32];
	const char *p;

	igd_printf(b, "<stateVariable sendEvents=\"no\"><name>%s</name><dataType>%s</dataType>",
		   field(cell, 0, name, sizeof(name)), field(cell, 1, type, sizeof(type)));
	field(cell, 2, allowed, sizeof(allowed));
	if (allowed[0]) {
		igd_printf(b, "<allowedValueList>");
		for (p = allowed; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
			size_t n = strcspn(p, ",");
			snprintf(one, sizeof(one), "%.*s", (int)n, p);
			igd_printf(b, "<allowedValue>%s</allowedValue>", one);
		}
		igd_printf(b, "</allowedValueList>");
	}
	igd_printf(b, "</stateVariable>");
}

static void scpd(struct igd_buf *b, const struct scpd_action *acts, size_t n_acts,
		 const char *const *vars, size_t n_vars)
{
	igd_printf(b, "<?xml version=\"1.0\"?>\r\n<scpd xmlns=\"" URN "service-1-0\">"
		      "<specVersion><major>1</major><minor>1</minor></specVersion><actionList>");
	for (size_t i = 0; i < n_acts; i++)
		action_xml(b, &acts[i]);
	igd_printf(b, "</actionList><serviceStateTable>");
	for (size_t i = 0; i < n_vars; i++)
		var_xml(b, vars[i]);
	igd_printf(b, "</serviceStateTable></scpd>\r\n");
}

static void device_head(struct igd_buf *b, const char *type, const char *name, const char *uuid)
{
	igd_printf(b,
		   "<device><deviceType>" URN "device:%s</deviceType>"
		   "<friendlyName>%s</friendlyName><manufacturer>rssnat</manufacturer>"
		   "<manufacturerURL>https://example.invalid/rssnat</manufacturerURL>"
		   "<modelName>rssnat</modelName><modelNumber>" RSSNAT_VERSION "</modelNumber>"
		   "<UDN>%s</UDN>",
		   type, name, uuid);
}

static void service_xml(struct igd_buf *b, const char *type, const char *id, const char *scpd_url,
			const char *ctl)
{
	igd_printf(b,
		   "<serviceList><service><serviceType>" URN "service:%s</serviceType>"
		   "<serviceId>urn:upnp-org:serviceId:%s</serviceId><SCPDURL>%s</SCPDURL>"
		   "<controlURL>/ctl/%s</controlURL><eventSubURL>/evt/%s</eventSubURL>"
		   "</service></serviceList>",
		   type, id, scpd_url, ctl, ctl);
}

static void root_description(struct igd_buf *b, const struct ssdp_device *d)
{
	igd_printf(b, "<?xml version=\"1.0\"?>\r\n<root xmlns=\"" URN "device-1-0\" configId=\"1\">"
		      "<specVersion><major>1</major><minor>1</minor></specVersion>");
	device_head(b, "InternetGatewayDevice:2", "rssnat gateway", d->uuid[0]);
	igd_printf(b, "<deviceList>");
	device_head(b, "WANDevice:2", "WAN device", d->uuid[1]);
	service_xml(b, "WANCommonInterfaceConfig:1", "WANCommonIFC1", "/WANCfg.xml", "CmnIfCfg");
	igd_printf(b, "<deviceList>");
	device_head(b, "WANConnectionDevice:2", "WAN connection device", d->uuid[2]);
	service_xml(b, "WANIPConnection:2", "WANIPConn1", "/WANIPCn.xml", "IPConn");
	igd_printf(b, "</device></deviceList></device></deviceList></device></root>\r\n");
}

bool igd_describe(const struct ssdp_device *dev, const char *path, struct igd_buf *out)
{
	static char body[IGD_OUT_MAX - 512]; /* control thread only */
	struct igd_buf b = {.p = body, .size = sizeof(body)};

	if (!strcmp(path, "/rootDesc.xml"))
		root_description(&b, dev);
	else if (!strcmp(path, "/WANIPCn.xml"))
		scpd(&b, ipconn_actions, sizeof(ipconn_actions) / sizeof(ipconn_actions[0]),
		     ipconn_vars, sizeof(ipconn_vars) / sizeof(ipconn_vars[0]));
	else if (!strcmp(path, "/WANCfg.xml"))
		scpd(&b, ifcfg_actions, 1, ifcfg_vars, sizeof(ifcfg_vars) / sizeof(ifcfg_vars[0]));
	else
		return false;
	if (b.full) {
		igd_http_error(out, 500);
		return true;
	}
	igd_printf(out,
		   "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
		   "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
		   b.len, body);
	return true;
}
