/* igd.h - the gateway's UPnP Internet Gateway Device (IGD:2, answering
 * IGD:1 control points too): SSDP discovery on the LAN, the device and
 * service descriptions, and SOAP control over HTTP, on the LAN address.
 * Port mappings go to the shared service (portmap.h) with origin upnp.
 *
 * Theory of operation
 * -------------------
 * Everything runs on the gateway's control thread, from its poll() loop:
 * igd_pollfds() lists the sockets, igd_run() serves what is ready and the
 * timers. No call blocks; every buffer is fixed and allocated in
 * igd_create(). The sockets are ordinary kernel sockets bound to the host
 * interface (the TUN that holds the LAN address, gw/host.c):
 *
 *   UDP 0.0.0.0:1900 + group 239.255.255.250  M-SEARCH in, answers out
 *                                             (unicast), NOTIFY out
 *                                             (multicast, TTL 2)
 *   TCP <lan>:IGD_HTTP_PORT                   GET of the descriptions,
 *                                             POST of SOAP actions
 *
 * Only a datagram or connection from inside the LAN subnet that arrived on
 * the host interface (IP_PKTINFO) is served; anything else is counted and
 * gets nothing. HTTP: at most IGD_CLIENTS_MAX connections, each with
 * HTTP_REQ_MAX bytes in and IGD_OUT_MAX out, one request per connection
 * (Connection: close), IGD_DEADLINE_MS from accept to the last byte sent;
 * a full table closes the newest at once. SSDP answers are rate limited
 * (IGD_SSDP_RATE a second, burst IGD_SSDP_BURST searches): a flood of
 * M-SEARCHes costs a bounded number of datagrams.
 */
#ifndef RSSNAT_IGD_H
#define RSSNAT_IGD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct igd;
struct portmap;
struct pollfd;

enum {
	IGD_HTTP_PORT = 5000,
	IGD_CLIENTS_MAX = 8,
	IGD_OUT_MAX = 16384,
	IGD_DEADLINE_MS = 5000,
	IGD_NOTIFY_MS = 30000, /* well within SSDP_MAX_AGE */
	IGD_SSDP_RATE = 20,
	IGD_SSDP_BURST = 40,
	IGD_POLLFDS = 2 + IGD_CLIENTS_MAX,
};

struct igd_config {
	uint32_t lan_addr, lan_mask; /* network order */
	uint8_t lan_mac[6];	     /* makes the UUIDs */
	char dev[16];		     /* the host interface; "" in unit tests */
	uint16_t http_port;	     /* 0: IGD_HTTP_PORT */
	struct portmap *pm;	     /* the mappings; must outlive the IGD */
};

/* igd_create() - open the sockets and announce (NOTIFY alive). 0, or a
 * negative errno with a one-line reason in *why. */
int igd_create(const struct igd_config *cfg, uint64_t now_ms, struct igd **out, const char **why);
/* igd_destroy() - NOTIFY byebye, close everything, free. NULL is fine. */
void igd_destroy(struct igd *igd);

unsigned igd_pollfds(struct igd *igd, struct pollfd *fds, unsigned max);
void igd_run(struct igd *igd, const struct pollfd *fds, unsigned n, uint64_t now_ms);

/* igd_write_stats() - counters for `show stats`: text lines, or JSON
 * members each prefixed with "," (the caller's object continues). */
void igd_write_stats(const struct igd *igd, FILE *out, bool json);

#endif
