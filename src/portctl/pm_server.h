/* pm_server.h - the NAT-PMP (RFC 6886) and PCP (RFC 6887) server on the
 * gateway's LAN address, UDP 5351, over the port mapping service.
 *
 * Theory of operation
 * -------------------
 * One UDP socket, bound to the LAN address and the host interface (the
 * TUN, as the DNS proxy's: the workers pass the LAN's packets to
 * 192.168.137.1:5351 into it, gw_host_wants()). It runs in the control
 * thread's poll loop, non-blocking, a bounded burst per wakeup; it never
 * waits for a client.
 *
 * Every datagram is checked before it is read: it must have arrived on
 * the host interface (IP_PKTINFO) from an address inside the LAN subnet,
 * so nothing from the WAN side ever reaches the service (counted, no
 * answer). The first byte tells the protocols apart (RFC 6887 9): 0 is
 * NAT-PMP, 2 is PCP, anything else gets PCP's UNSUPP_VERSION. A message
 * that cannot be answered (too short, a response) is a counted drop.
 *
 * The epoch (RFC 6886 3.6, RFC 6887 8.5) is the seconds since the server
 * started, or since the WAN address last changed: both lose or change
 * every mapping's meaning, and clients that see the epoch go back renew.
 * At start and at every WAN address change the server announces itself to
 * 224.0.0.1:5350, ten times at intervals doubling from 250 ms: NAT-PMP's
 * public address (RFC 6886 3.2.1) and PCP's ANNOUNCE (RFC 6887 14.1.3).
 */
#ifndef RSSNAT_PM_SERVER_H
#define RSSNAT_PM_SERVER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pm_server;
struct portmap;
struct pollfd;

/* Why a datagram got no answer. */
#define PMS_DROP_REASONS(X)                                                                        \
	X(NOT_LAN, "not from the LAN subnet, or not on the host interface: never answered")        \
	X(TRUNCATED, "shorter than its opcode needs (NAT-PMP), or than 4 bytes (PCP)")             \
	X(RESPONSE, "a response sent to the server: never answered (no loops)")                    \
	X(DISABLED, "the protocol is switched off")                                                \
	X(SEND, "the answer could not be sent")

enum pms_drop {
#define PMS_DROP_ENUM(name, text) PMS_DROP_##name,
	PMS_DROP_REASONS(PMS_DROP_ENUM)
#undef PMS_DROP_ENUM
	    PMS_DROP_COUNT
};

struct pms_counters {
	uint64_t received;
	uint64_t drop[PMS_DROP_COUNT];
	uint64_t natpmp_requests, natpmp_results[6]; /* answers by RFC 6886 result code */
	uint64_t pcp_requests, pcp_results[14];	     /* answers by RFC 6887 result code */
	uint64_t pcp_unsupp_version;		     /* PCP-format UNSUPP_VERSION answers */
	uint64_t announcements;
};

struct pm_server_config {
	uint32_t listen_addr; /* the gateway's LAN address, network order */
	uint32_t lan_net, lan_mask;
	char dev[IF_NAMESIZE];	/* the host interface; "" in tests: any */
	uint16_t port;		/* PM_PORT; another in tests */
	uint16_t announce_port; /* 5350; another in tests; 0: no announcements */
};

/* pm_server_create() - open the socket; schedule the start announcements.
 * 0, or -errno with *why. */
int pm_server_create(const struct pm_server_config *cfg, struct portmap *pm, uint64_t now_ms,
		     struct pm_server **out, const char **why);
void pm_server_destroy(struct pm_server *s);

unsigned pm_server_pollfds(const struct pm_server *s, struct pollfd *fds, unsigned max);
/* pm_server_run() - serve what @fds say is readable, expire mappings,
 * send due announcements. */
void pm_server_run(struct pm_server *s, const struct pollfd *fds, unsigned n, uint64_t now_ms);
/* pm_server_next_ms() - when pm_server_run() has timers due (poll timeout). */
uint64_t pm_server_next_ms(const struct pm_server *s);

/* pm_server_wan_changed() - the WAN address is now @wan_addr (shared mode,
 * issue 11; call from the control thread): new epoch, announcements. */
void pm_server_wan_changed(struct pm_server *s, uint32_t wan_addr, uint64_t now_ms);

/* pm_server_handle() - answer one datagram from LAN host @src (network
 * order); the socket-free core, for tests and the fuzzer. Returns the
 * answer's length in @out (0: no answer; counted). */
size_t pm_server_handle(struct pm_server *s, uint32_t src, const uint8_t *buf, size_t len,
			uint64_t now_ms, uint8_t *out, size_t cap);
/* pm_server_create_nosock() - the same server without a socket (tests,
 * fuzzing): only pm_server_handle() works. */
int pm_server_create_nosock(const struct pm_server_config *cfg, struct portmap *pm, uint64_t now_ms,
			    struct pm_server **out);

uint32_t pm_server_epoch(const struct pm_server *s, uint64_t now_ms);
const struct pms_counters *pm_server_counters(const struct pm_server *s);
/* pm_server_write_stats() - as portmap_write_stats(): text lines, or JSON
 * fields each with a leading comma. */
void pm_server_write_stats(const struct pm_server *s, FILE *out, bool json);

#endif
