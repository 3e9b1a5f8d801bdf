/* rss_maps.c - fill the eBPF fanout program's state from an RSS snapshot. */
#include "rss_maps.h"

#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

/* The program relies on the engine's bit values and sizes (as ints: the
 * enums are distinct types). */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(IO_RSS_F_SRC_ADDR, RSS_F_SRC_ADDR) && SAME(IO_RSS_F_DST_ADDR, RSS_F_DST_ADDR) &&
		   SAME(IO_RSS_F_SRC_PORT, RSS_F_SRC_PORT) &&
		   SAME(IO_RSS_F_DST_PORT, RSS_F_DST_PORT),
	       "eBPF field bits differ from enum rss_field");
_Static_assert(SAME(IO_RSS_TABLE_MAX, RSS_TABLE_MAX), "eBPF table size differs from RSS_TABLE_MAX");
_Static_assert((int)IO_RSS_V4_INPUT <= (int)RSS_INPUT_MAX, "IPv4 input beyond the hasher's tables");
#undef SAME

int io_rss_state_fill(struct io_rss_state *st, const struct rss_snapshot *snap, unsigned side,
		      unsigned queues, const char **why)
{
	const struct rss_config *c = &snap->config;
	unsigned size = snap->bucket_mask + 1;

	if (size > IO_RSS_TABLE_MAX) {
		*why = "indirection table larger than 512 entries";
		return -EINVAL;
	}
	for (unsigned b = 0; b < size; b++)
		if (snap->table[b] >= queues) {
			/* The kernel would take it modulo the group size:
			 * refuse rather than steer somewhere unintended. */
			*why = "the RSS table names more queues than the port has";
			return -EINVAL;
		}
	memset(st, 0, sizeof(*st));
	st->fields = side == PKT_SIDE_LAN ? c->fields_lan : c->fields_wan;
	st->bucket_mask = snap->bucket_mask;
	st->icmp_id_as_port = c->icmp_id_as_port;
	for (unsigned b = 0; b < size; b++)
		st->table[b] = snap->table[b];
	memcpy(st->tab, snap->hasher.tab, sizeof(st->tab));
	return 0;
}

int io_rss_maps_flip(int state_fd, int active_fd, unsigned *active, struct io_rss_state *stage,
		     const struct rss_snapshot *snap, unsigned side, unsigned queues,
		     const char **why)
{
	__u32 idle = *active ^ 1, zero = 0;
	int err;

	if ((err = io_rss_state_fill(stage, snap, side, queues, why)))
		return err;
	if (bpf_map_update_elem(state_fd, &idle, stage, BPF_ANY) ||
	    bpf_map_update_elem(active_fd, &zero, &idle, BPF_ANY)) {
		*why = "cannot write the eBPF RSS maps";
		return -errno;
	}
	*active = idle;
	return 0;
}
