/* ssdp.h - SSDP messages of the gateway's UPnP IGD (UPnP Device
 * Architecture 1.1, section 1): reading an M-SEARCH, and writing the
 * answers and the NOTIFY announcements, as plain functions on buffers.
 * The sockets live in igd.c.
 *
 * Theory of operation
 * -------------------
 * The IGD is three devices, each with its own UUID, and two services:
 *
 *   InternetGatewayDevice:2          (the root)
 *     WANDevice:2                    WANCommonInterfaceConfig:1
 *       WANConnectionDevice:2        WANIPConnection:2
 *
 * which make SSDP_ADS advertisements (UDA 1.1 1.2.2): upnp:rootdevice,
 * each device's uuid, each device type and each service type. A search
 * (ST) for ssdp:all gets them all; for one of them (a type of a lower
 * version too, answered with the version asked for, UDA 1.1 1.3.2), that
 * one. A search for anything else gets nothing.
 */
#ifndef RSSNAT_SSDP_H
#define RSSNAT_SSDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SSDP_PORT = 1900,
	SSDP_DATAGRAM_MAX = 1472, /* larger M-SEARCHes are dropped */
	SSDP_MSG_MAX = 512,	  /* our answers and announcements fit */
	SSDP_ST_MAX = 128,
	SSDP_ADS = 9,
	SSDP_MAX_AGE = 120, /* s; NOTIFY is repeated well within it */
};

#define SSDP_MULTICAST "239.255.255.250"

#define SSDP_DROPS(X)                                                                              \
	X(NOT_SEARCH, "not an M-SEARCH (another device's NOTIFY, a response)")                     \
	X(MALFORMED, "an M-SEARCH without a valid header, MAN, or ST")                             \
	X(TOO_BIG, "a datagram over SSDP_DATAGRAM_MAX bytes")                                      \
	X(NO_MATCH, "a search for a target this gateway is not")                                   \
	X(RATE_LIMITED, "an M-SEARCH over the answer rate: not answered")                          \
	X(NOT_LAN, "from outside the LAN subnet or not from the host interface")

enum ssdp_drop {
	SSDP_DROP_NONE = 0,
#define SSDP_DROP_ENUM(name, text) SSDP_DROP_##name,
	SSDP_DROPS(SSDP_DROP_ENUM)
#undef SSDP_DROP_ENUM
	    SSDP_DROP_COUNT
};

const char *ssdp_drop_name(enum ssdp_drop d);

struct ssdp_search {
	char st[SSDP_ST_MAX];
	unsigned mx; /* seconds, as sent (0 when absent) */
};

/* Who we are in every message. */
struct ssdp_device {
	char uuid[3][48];  /* "uuid:..." of the root, WAN and WAN connection devices */
	char location[80]; /* URL of the root description */
	uint32_t boot_id;  /* BOOTID.UPNP.ORG: bumped at each start */
};

/* ssdp_device_init() - UUIDs derived from @mac (stable across restarts: a
 * control point's cache stays valid), the description at @addr:@port. */
void ssdp_device_init(struct ssdp_device *d, const uint8_t mac[6], uint32_t addr, uint16_t port,
		      uint32_t boot_id);

/* ssdp_parse_search() - read datagram @buf of @len bytes. Returns
 * SSDP_DROP_NONE and fills @s, or why it is not a search we answer. */
enum ssdp_drop ssdp_parse_search(const char *buf, size_t len, struct ssdp_search *s);

/* ssdp_match() - which advertisement @i (0..SSDP_ADS-1) answers search
 * target @st: writes the ST to answer with into @st_out. */
bool ssdp_match(const struct ssdp_device *d, unsigned i, const char *st, char *st_out, size_t size);

/* ssdp_response() / ssdp_notify() - the message for advertisement @i into
 * @out; returns its length (0 if it does not fit). */
size_t ssdp_response(const struct ssdp_device *d, unsigned i, const char *st, char *out,
		     size_t size);
size_t ssdp_notify(const struct ssdp_device *d, unsigned i, bool alive, char *out, size_t size);

#endif
