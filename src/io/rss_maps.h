/* rss_maps.h - the state the eBPF fanout program steers by, laid out once for
 * both sides: the program (bpf/rss_fanout.bpf.c) reads it, the afpacket
 * backend writes it from an RSS snapshot (rss_maps.c).
 *
 * Two BPF array maps:
 *   rss_state  - IO_RSS_SLOTS entries of struct io_rss_state;
 *   rss_active - one __u32: the slot the program reads.
 * An update writes the idle slot whole, then flips rss_active (one aligned
 * 32-bit store), so the program never sees a key from one snapshot with the
 * indirection table of another (pf's DIOCXCOMMIT: prepare, then commit).
 *
 * Only <linux/types.h> here: the header is compiled for the BPF target too,
 * where the C library's headers are not available.
 */
#ifndef RSSNAT_IO_RSS_MAPS_H
#define RSSNAT_IO_RSS_MAPS_H

#include <linux/types.h>

enum {
	IO_RSS_V4_INPUT = 12,	/* IPv4 4-tuple: addresses 4 + 4, ports 2 + 2 bytes */
	IO_RSS_TABLE_MAX = 512, /* = RSS_TABLE_MAX */
	IO_RSS_SLOTS = 2,	/* double buffer */
};

/* Field bits, the same values as enum rss_field (checked in rss_maps.c). */
enum {
	IO_RSS_F_SRC_ADDR = 1u << 0,
	IO_RSS_F_DST_ADDR = 1u << 1,
	IO_RSS_F_SRC_PORT = 1u << 2,
	IO_RSS_F_DST_PORT = 1u << 3,
	IO_RSS_F_ADDRS = IO_RSS_F_SRC_ADDR | IO_RSS_F_DST_ADDR,
};

struct io_rss_state {
	__u32 fields;	       /* the port's side's field set (IO_RSS_F_*) */
	__u32 bucket_mask;     /* table size - 1 */
	__u32 icmp_id_as_port; /* 1: ICMP echo hashes its identifier as both ports */
	__u32 reserved;
	__u32 table[IO_RSS_TABLE_MAX]; /* bucket -> queue; all 0 when RSS is disabled */
	/* tab[p][v]: Toeplitz contribution of value v at input byte p, as
	 * struct rss_hasher's tab, input positions of an IPv4 4-tuple only */
	__u32 tab[IO_RSS_V4_INPUT][256];
};

#ifndef __bpf__
struct rss_snapshot;

/* io_rss_state_fill() - the state for @snap as seen from @side (enum
 * pkt_side: LAN hashes fields_lan, WAN fields_wan). Returns 0, or -EINVAL
 * if @snap's table names a queue at or beyond @queues. */
int io_rss_state_fill(struct io_rss_state *st, const struct rss_snapshot *snap, unsigned side,
		      unsigned queues, const char **why);
/* io_rss_maps_flip() - the update every program's state takes: fill the
 * idle slot of @state_fd (the one *@active does not name) from @snap in
 * @stage, then make it the active one in @active_fd and in *@active. One
 * whole state at a time for the program. 0, or a negative errno with *why. */
int io_rss_maps_flip(int state_fd, int active_fd, unsigned *active, struct io_rss_state *stage,
		     const struct rss_snapshot *snap, unsigned side, unsigned queues,
		     const char **why);
#endif

#endif
