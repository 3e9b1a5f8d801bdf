/* ssdp.c - SSDP search parsing and message building (see ssdp.h). */
#include "ssdp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define URN_DEV	   "urn:schemas-upnp-org:device:"
#define URN_SVC	   "urn:schemas-upnp-org:service:"
#define SERVER_HDR "Linux UPnP/1.1 rssnat/" RSSNAT_VERSION

static const char *const drop_names[] = {"none",
#define SSDP_DROP_NAME(name, text) #name,
					 SSDP_DROPS(SSDP_DROP_NAME)
#undef SSDP_DROP_NAME
};

const char *ssdp_drop_name(enum ssdp_drop d)
{
	return d < SSDP_DROP_COUNT ? drop_names[d] : "?";
}

/* The advertisements: a type (without its version) and its version, or a
 * device's uuid (type NULL), or the root device's upnp:rootdevice. */
static const struct ad {
	const char *type; /* NULL: the uuid of device `dev` */
	unsigned version;
	unsigned dev; /* whose uuid makes the USN */
} ads[SSDP_ADS] = {
    {"upnp:rootdevice", 0, 0},
    {NULL, 0, 0},
    {NULL, 0, 1},
    {NULL, 0, 2},
    {URN_DEV "InternetGatewayDevice", 2, 0},
    {URN_DEV "WANDevice", 2, 1},
    {URN_DEV "WANConnectionDevice", 2, 2},
    {URN_SVC "WANCommonInterfaceConfig", 1, 1},
    {URN_SVC "WANIPConnection", 2, 2},
};

void ssdp_device_init(struct ssdp_device *d, const uint8_t mac[6], uint32_t addr, uint16_t port,
		      uint32_t boot_id)
{
	char ip[INET_ADDRSTRLEN];

	for (unsigned i = 0; i < 3; i++)
		snprintf(d->uuid[i], sizeof(d->uuid[i]),
			 "uuid:5253534e-4154-4947-44%02x-%02x%02x%02x%02x%02x%02x", i, mac[0],
			 mac[1], mac[2], mac[3], mac[4], mac[5]);
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	snprintf(d->location, sizeof(d->location), "http://%s:%u/rootDesc.xml", ip, port);
	d->boot_id = boot_id;
}

/* The NT (or ST) of advertisement @i at version @version. */
static void ad_target(const struct ssdp_device *d, unsigned i, unsigned version, char *out,
		      size_t size)
{
	if (!ads[i].type)
		snprintf(out, size, "%s", d->uuid[ads[i].dev]);
	else if (!ads[i].version)
		snprintf(out, size, "%s", ads[i].type);
	else
		snprintf(out, size, "%s:%u", ads[i].type, version);
}

static void ad_usn(const struct ssdp_device *d, unsigned i, const char *nt, char *out, size_t size)
{
	if (!ads[i].type)
		snprintf(out, size, "%s", d->uuid[ads[i].dev]);
	else
		snprintf(out, size, "%s::%s", d->uuid[ads[i].dev], nt);
}

bool ssdp_match(const struct ssdp_device *d, unsigned i, const char *st, char *st_out, size_t size)
{
	size_t n;
	unsigned v = 0;

	if (i >= SSDP_ADS)
		return false;
	if (!strcmp(st, "ssdp:all")) {
		ad_target(d, i, ads[i].version, st_out, size);
		return true;
	}
	if (!ads[i].type || !ads[i].version) {
		ad_target(d, i, 0, st_out, size);
		return !strcmp(st, st_out);
	}
	n = strlen(ads[i].type);
	if (strncmp(st, ads[i].type, n) || st[n] != ':' || st[n + 1] < '1' || st[n + 1] > '9' ||
	    st[n + 2])
		return false;
	v = (unsigned)(st[n + 1] - '0');
	if (v > ads[i].version)
		return false;
	ad_target(d, i, v, st_out, size); /* UDA 1.1 1.3.2: the version asked for */
	return true;
}

static size_t fits(int n, size_t size)
{
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t ssdp_response(const struct ssdp_device *d, unsigned i, const char *st, char *out,
		     size_t size)
{
	char usn[SSDP_ST_MAX + 64];

	ad_usn(d, i, st, usn, sizeof(usn));
	return fits(snprintf(out, size,
			     "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=%u\r\nEXT:\r\n"
			     "LOCATION: %s\r\nSERVER: " SERVER_HDR "\r\nST: %s\r\nUSN: %s\r\n"
			     "BOOTID.UPNP.ORG: %u\r\nCONFIGID.UPNP.ORG: 1\r\n\r\n",
			     (unsigned)SSDP_MAX_AGE, d->location, st, usn, d->boot_id),
		    size);
}

size_t ssdp_notify(const struct ssdp_device *d, unsigned i, bool alive, char *out, size_t size)
{
	char nt[SSDP_ST_MAX], usn[SSDP_ST_MAX + 64];

	if (i >= SSDP_ADS)
		return 0;
	ad_target(d, i, ads[i].version, nt, sizeof(nt));
	ad_usn(d, i, nt, usn, sizeof(usn));
	if (!alive) /* UDA 1.1 1.2.3: byebye carries no LOCATION */
		return fits(snprintf(out, size,
				     "NOTIFY * HTTP/1.1\r\nHOST: " SSDP_MULTICAST
				     ":%u\r\nNT: %s\r\n"
				     "NTS: ssdp:byebye\r\nUSN: %s\r\nBOOTID.UPNP.ORG: %u\r\n"
				     "CONFIGID.UPNP.ORG: 1\r\n\r\n",
				     (unsigned)SSDP_PORT, nt, usn, d->boot_id),
			    size);
	return fits(snprintf(out, size,
			     "NOTIFY * HTTP/1.1\r\nHOST: " SSDP_MULTICAST ":%u\r\n"
			     "CACHE-CONTROL: max-age=%u\r\nLOCATION: %s\r\nNT: %s\r\n"
			     "NTS: ssdp:alive\r\nSERVER: " SERVER_HDR "\r\nUSN: %s\r\n"
			     "BOOTID.UPNP.ORG: %u\r\nCONFIGID.UPNP.ORG: 1\r\n\r\n",
			     (unsigned)SSDP_PORT, (unsigned)SSDP_MAX_AGE, d->location, nt, usn,
			     d->boot_id),
		    size);
}

/* ---- M-SEARCH ---- */

static size_t next_line(const char *p, const char *end, const char **next)
{
	const char *q = p;

	while (q < end && *q != '\n')
		q++;
	*next = q < end ? q + 1 : end;
	if (q > p && q[-1] == '\r')
		q--;
	return (size_t)(q - p);
}

static bool header_is(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return false;
	*v = line + k + 1;
	*vn = n - k - 1;
	while (*vn && (**v == ' ' || **v == '\t'))
		(*v)++, (*vn)--;
	while (*vn && ((*v)[*vn - 1] == ' ' || (*v)[*vn - 1] == '\t'))
		(*vn)--;
	return true;
}

static bool printable(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

static unsigned small_number(const char *v, size_t n)
{
	unsigned x = 0;

	for (size_t i = 0; i < n && i < 4 && v[i] >= '0' && v[i] <= '9'; i++)
		x = x * 10 + (unsigned)(v[i] - '0');
	return x;
}

enum ssdp_drop ssdp_parse_search(const char *buf, size_t len, struct ssdp_search *s)
{
	static const char start[] = "M-SEARCH * HTTP/1.1";
	const char *p = buf, *end = buf + len, *next, *v;
	size_t n, vn;
	bool man = false;
	unsigned lines = 0;

	memset(s, 0, sizeof(*s));
	if (len > SSDP_DATAGRAM_MAX)
		return SSDP_DROP_TOO_BIG;
	n = next_line(p, end, &next);
	if (n != sizeof(start) - 1 || memcmp(p, start, n))
		return SSDP_DROP_NOT_SEARCH;
	for (p = next; p < end && lines++ < 32; p = next) {
		n = next_line(p, end, &next);
		if (n == 0)
			break;
		if (header_is(p, n, "MAN", &v, &vn))
			man = vn == 15 && !memcmp(v, "\"ssdp:discover\"", 15);
		else if (header_is(p, n, "MX", &v, &vn))
			s->mx = small_number(v, vn);
		else if (header_is(p, n, "ST", &v, &vn) && vn && vn < sizeof(s->st) &&
			 printable(v, vn))
			memcpy(s->st, v, vn), s->st[vn] = '\0';
	}
	return man && s->st[0] ? SSDP_DROP_NONE : SSDP_DROP_MALFORMED;
}
