/* pm_server_internal.h - what the NAT-PMP/PCP server's files share: the
 * server object and the counting helpers (pm_server.c), the protocol
 * handlers (pm_handlers.c). */
#ifndef RSSNAT_PM_SERVER_INTERNAL_H
#define RSSNAT_PM_SERVER_INTERNAL_H

#include "pm_server.h"

enum { PMS_ANNOUNCE_TIMES = 10, PMS_ANNOUNCE_FIRST_MS = 250 }; /* RFC 6886 3.2.1 */

struct pm_server {
	struct pm_server_config cfg;
	struct portmap *pm;
	int fd;		  /* -1: no socket (tests) */
	unsigned ifindex; /* the host interface; 0: any */
	uint64_t epoch_start_ms;
	unsigned announce_left;
	uint64_t announce_next_ms, announce_gap_ms;
	struct pms_counters c;
};

/* Count and return 0 (no answer). */
size_t pms_drop(struct pm_server *s, enum pms_drop why);
/* Count an answer of @len bytes with @code and return @len. */
size_t pms_natpmp_answer(struct pm_server *s, unsigned code, size_t len);
size_t pms_pcp_answer(struct pm_server *s, unsigned code, size_t len);

size_t pms_natpmp(struct pm_server *s, uint32_t src, const uint8_t *buf, size_t len,
		  uint64_t now_ms, uint8_t *out, size_t cap);
size_t pms_pcp(struct pm_server *s, uint32_t src, const uint8_t *buf, size_t len, uint64_t now_ms,
	       uint8_t *out, size_t cap);

#endif
