/* spread_maps.h - the spreading program's maps as both sides see them
 * (bpf/spread.bpf.c, spread.c). Only <linux/types.h>: compiled for the BPF
 * target too.
 */
#ifndef RSSNAT_SPREAD_MAPS_H
#define RSSNAT_SPREAD_MAPS_H

#include <linux/types.h>

enum {
	IO_SPREAD_QUEUES_MAX = 64, /* = RSS_QUEUES_MAX, a power of two */
};

#define IO_SPREAD_STATS(X)                                                                         \
	X(redirected, "frames sent to their worker's CPU from another")                            \
	X(local, "frames queued for their worker's CPU on that CPU (order kept)")                  \
	X(unhashed, "frames left where they arrived: not IPv4, or no RSS state yet")

enum io_spread_stat {
#define IO_SPREAD_STAT_ENUM(name, text) IO_SPREAD_STAT_##name,
	IO_SPREAD_STATS(IO_SPREAD_STAT_ENUM)
#undef IO_SPREAD_STAT_ENUM
	    IO_SPREAD_STAT_COUNT
};

#endif
