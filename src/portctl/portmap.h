/* portmap.h - dynamic port mappings for the LAN's applications: one service,
 * one policy, three front ends (UPnP IGD, NAT-PMP, PCP).
 *
 * Theory of operation
 * -------------------
 * A LAN application asks for an inbound port; the front end (pcp.c,
 * natpmp.c, the UPnP server) decodes its request into a struct pm_request
 * and calls portmap_add(). Every front end gets the same checks here,
 * in this order (the first that fails decides the answer):
 *
 *   1. the service and the front end's protocol are switched on;
 *   2. the requester is a LAN host (inside lan_net/lan_mask, not the
 *      gateway) and maps only to itself: int_addr == requester (the host
 *      may not open ports for another host: miniupnpd's "secure mode",
 *      always on here);
 *   3. the internal port is in [int_lo, int_hi] and the external port (if
 *      one is asked for) in [ext_lo, ext_hi];
 *   4. a renewal (same protocol and internal endpoint, same requester)
 *      keeps its external port and gets a new lifetime (PCP: same nonce,
 *      RFC 6887 11.5);
 *   5. otherwise the per-host and total limits (NO_RESOURCES);
 *   6. the external port: the one asked for if it is free (no port mapping,
 *      no live NAT mapping, no port the host's own sockets use), else
 *      (unless ext_exact) one chosen so that inbound packets to it hash
 *      into the internal host's home RSS bucket (nat_pick_inbound_port()):
 *      they are translated on the core that receives them.
 *
 * A mapping lives in the NAT as a port mapping (nat_static_add(), live, no
 * other flow disturbed) and here, with its origin, requester, expiry and
 * description. portmap_expire() removes expired ones (nat_static_delete():
 * the WAN can no longer open connections through it, running sessions end
 * on their own timeouts). Lifetimes are clamped to [life_min, life_max];
 * lifetime 0 in a request means life_max (UPnP: "lease 0" is not forever
 * here). NAT-PMP and PCP turn their "lifetime 0 = delete" into
 * portmap_delete() themselves.
 *
 * Everything runs on the control thread: no locks; a bounded table of
 * PM_TOTAL_MAX entries allocated by portmap_create(); no call blocks.
 */
#ifndef RSSNAT_PORTMAP_H
#define RSSNAT_PORTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct nat;
struct portmap;

enum {
	PM_TOTAL_MAX = 1024, /* dynamic mappings, all hosts (the NAT's pool is sized for it) */
	PM_PORT = 5351,	     /* NAT-PMP and PCP server port (RFC 6886 3, RFC 6887 19.1) */
	PM_DESC_MAX = 64,
	PM_NONCE_LEN = 12,
	PM_PER_HOST_DEFAULT = 64,
	PM_TOTAL_DEFAULT = 512,
	PM_LIFE_MIN_DEFAULT = 120,   /* RFC 6887 15: at least 120 s is recommended */
	PM_LIFE_MAX_DEFAULT = 86400, /* RFC 6887 15: 24 hours */
};

#define PM_ORIGINS(X)                                                                              \
	X(STATIC, "static")                                                                        \
	X(UPNP, "upnp")                                                                            \
	X(NATPMP, "natpmp")                                                                        \
	X(PCP, "pcp")

enum pm_origin {
#define PM_ORIGIN_ENUM(name, text) PM_##name,
	PM_ORIGINS(PM_ORIGIN_ENUM)
#undef PM_ORIGIN_ENUM
	    PM_ORIGIN_COUNT
};

/* What portmap_add()/portmap_delete() answer; every refusal is counted per
 * origin under its name in `show stats`. */
#define PM_RESULTS(X)                                                                              \
	X(OK, "ok")                                                                                \
	X(NOT_AUTHORIZED, "not_authorized") /* not a LAN host, or int_addr != requester */         \
	X(CONFLICT, "conflict")		    /* external port (or internal endpoint) taken */       \
	X(NO_RESOURCES, "no_resources")	    /* per-host or total limit, or no free port */         \
	X(BAD_PORT, "bad_port")		    /* outside the allowed ranges, or 0 */                 \
	X(DISABLED, "disabled")		    /* port control or the front end switched off */       \
	X(NOT_FOUND, "not_found")                                                                  \
	X(NO_WAN_ADDR, "no_wan_addr") /* no external address to map to (shared uplink mode) */

enum pm_result {
#define PM_RESULT_ENUM(name, text) PM_##name,
	PM_RESULTS(PM_RESULT_ENUM)
#undef PM_RESULT_ENUM
	    PM_RESULT_COUNT
};

struct pm_request {
	uint8_t proto;	    /* 6 or 17 */
	uint32_t requester; /* the LAN source address of the request, network order */
	uint32_t int_addr;  /* network order; must equal requester */
	uint16_t int_port;
	uint16_t ext_port; /* 0: any */
	bool ext_exact;	   /* this port or nothing (UPnP AddPortMapping) */
	/* Requested; clamped by portmap_add() to [life_min, life_max]; 0 means
	 * life_max (UPnP lease 0). NAT-PMP/PCP "0 = delete" is the caller's. */
	uint32_t lifetime_s;
	enum pm_origin origin;
	char desc[PM_DESC_MAX];
	uint8_t nonce[PM_NONCE_LEN]; /* PCP's mapping nonce; zeros for the others */
};

struct pm_entry {
	uint8_t proto;
	uint16_t ext_port;
	uint32_t int_addr; /* network order */
	uint16_t int_port;
	enum pm_origin origin;
	uint32_t requester;  /* network order; 0 for static ones */
	uint64_t expires_ms; /* monotonic; 0: never (static) */
	uint32_t lifetime_s; /* as granted (after clamping) */
	bool steered;	     /* the external port was chosen for the host's home bucket */
	char desc[PM_DESC_MAX];
	uint8_t nonce[PM_NONCE_LEN];
};

struct pm_config {
	bool enabled;		     /* --port-control */
	bool natpmp, pcp, upnp;	     /* each front end */
	uint16_t ext_lo, ext_hi;     /* allowed external ports, default 1024-65535 */
	uint16_t int_lo, int_hi;     /* allowed internal ports, default 1-65535 */
	uint32_t per_host;	     /* dynamic mappings one host may hold */
	uint32_t total;		     /* all hosts, at most PM_TOTAL_MAX */
	uint32_t life_min, life_max; /* seconds */
};

/* Counters for `show stats` (the front ends' wire-level drops are their own). */
struct pm_counters {
	uint64_t requests[PM_ORIGIN_COUNT];
	uint64_t results[PM_ORIGIN_COUNT][PM_RESULT_COUNT]; /* of add and delete */
	uint64_t created, renewed, deleted, expired;
	uint64_t steered, unsteered; /* external ports chosen by us */
};

/* Asked before a port is given out: true if the gateway host's own
 * sockets use @proto/@port on the WAN address (shared mode, issue 11).
 * NULL: none do. */
typedef bool (*pm_port_in_use_fn)(void *ctx, uint8_t proto, uint16_t port);

void portmap_config_default(struct pm_config *cfg);
/* portmap_config_check() - 0 or -EINVAL with a one-line reason in *why. */
int portmap_config_check(const struct pm_config *cfg, const char **why);
/* portmap_range_parse() - "LO-HI" (or one port) into *lo, *hi: 0 or -EINVAL. */
int portmap_range_parse(const char *text, uint16_t *lo, uint16_t *hi);

/* portmap_create() - the service over @nat (which must outlive it), for the
 * LAN @lan_net/@lan_mask with the gateway at @lan_addr, the WAN address
 * @wan_addr (all network order). 0, -EINVAL with *why, or -ENOMEM. */
int portmap_create(const struct pm_config *cfg, struct nat *nat, uint32_t lan_addr,
		   uint32_t lan_net, uint32_t lan_mask, uint32_t wan_addr, struct portmap **out,
		   const char **why);
/* portmap_destroy() - deletes every dynamic mapping from the NAT, frees. */
void portmap_destroy(struct portmap *pm);

/* portmap_set_config() - new settings (SIGHUP): checked first (-EINVAL,
 * nothing changed). Existing mappings stay; lifetimes apply at renewal. */
int portmap_set_config(struct portmap *pm, const struct pm_config *cfg, const char **why);
const struct pm_config *portmap_config(const struct portmap *pm);
void portmap_set_port_in_use(struct portmap *pm, pm_port_in_use_fn fn, void *ctx);
/* portmap_set_on_mapped() - @fn is told of every dynamic mapping's external
 * port as the NAT takes it (mapped) and lets it go (not mapped): in shared
 * uplink mode the WAN's per-frame claim follows them. */
typedef void (*pm_mapped_fn)(void *ctx, uint8_t proto, uint16_t port, bool mapped);
void portmap_set_on_mapped(struct portmap *pm, pm_mapped_fn fn, void *ctx);

/* portmap_enabled() - port control on and @origin's front end on. */
bool portmap_enabled(const struct portmap *pm, enum pm_origin origin);

/* portmap_add() - create or renew (see the top). On PM_OK fills *out (may
 * be NULL). Returns an enum pm_result. */
int portmap_add(struct portmap *pm, const struct pm_request *rq, uint64_t now_ms,
		struct pm_entry *out);

/* portmap_delete() - the dynamic mapping of @proto/@ext_port. @requester 0
 * is the administrator (any dynamic one); else it must be the mapping's
 * internal host. @origin is who asks (counted). PM_OK, PM_NOT_FOUND (none,
 * or a static one: those belong to `delete portmapping`), PM_NOT_AUTHORIZED. */
int portmap_delete(struct portmap *pm, uint8_t proto, uint16_t ext_port, uint32_t requester,
		   enum pm_origin origin);

/* portmap_find() - the mapping of external @proto/@ext_port, dynamic or
 * static. PM_OK and *out, or PM_NOT_FOUND. */
int portmap_find(const struct portmap *pm, uint8_t proto, uint16_t ext_port, struct pm_entry *out);
/* portmap_find_internal() - the dynamic mapping of internal endpoint
 * @proto @int_addr:@int_port. PM_OK and *out, or PM_NOT_FOUND. */
int portmap_find_internal(const struct portmap *pm, uint8_t proto, uint32_t int_addr,
			  uint16_t int_port, struct pm_entry *out);
/* portmap_get() - entry @index: the dynamic ones first, then the static
 * ones; PM_NOT_FOUND past the end. Indexes shift when mappings come and go. */
int portmap_get(const struct portmap *pm, unsigned index, struct pm_entry *out);
unsigned portmap_count(const struct portmap *pm); /* dynamic ones */

/* portmap_expire() - delete every dynamic mapping whose lifetime ended. */
void portmap_expire(struct portmap *pm, uint64_t now_ms);
/* portmap_next_expiry_ms() - the earliest expiry, or UINT64_MAX. */
uint64_t portmap_next_expiry_ms(const struct portmap *pm);

uint32_t portmap_wan_addr(const struct portmap *pm);
struct nat *portmap_nat(const struct portmap *pm);
/* portmap_set_wan_addr() - the WAN address changed (shared mode, issue
 * 11): the NAT-PMP/PCP server announces it (see pm_server.h). */
void portmap_set_wan_addr(struct portmap *pm, uint32_t wan_addr);

const struct pm_counters *portmap_counters(const struct portmap *pm);
const char *portmap_origin_name(enum pm_origin origin);
const char *portmap_result_name(int result);

/* portmap_write_list() - `show portmapping`: one line (or JSON object) per
 * mapping: protocol, external port, internal host:port, origin, requester,
 * lifetime left, description. */
void portmap_write_list(const struct portmap *pm, FILE *out, bool json, uint64_t now_ms);
/* portmap_write_stats() - counters, text or JSON fields (no braces: the
 * caller's object continues; @json prefixes each with ","). */
void portmap_write_stats(const struct portmap *pm, FILE *out, bool json);

#endif
