/* afxdp_internal.h - what the afxdp backend's files share: the port, its
 * queues and rings (afxdp.c), and the interface and its RSS (afxdp_nic.c).
 */
#ifndef RSSNAT_IO_AFXDP_INTERNAL_H
#define RSSNAT_IO_AFXDP_INTERNAL_H

#include "io.h"
#include "io_internal.h"
#include "../offload/offload.h"
#include "wan_claim.h"

#include "../core/codel.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44 /* older C library headers lack it */
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef ETH_RSS_HASH_TOP
#define ETH_RSS_HASH_TOP 1u /* Toeplitz: the kernel's ethtool.h, not the uapi's */
#endif

enum {
	XDP_FRAME_SIZE = 2048,		/* a power of two: aligned chunk mode */
	XDP_RING_FRAMES_DEFAULT = 1024, /* per queue and direction */
	XDP_RING_FRAMES_MIN = 64,
	XDP_RING_FRAMES_MAX = 1 << 14, /* 64 MiB of UMEM per queue */
	XDP_KICKS_MAX = 64,	       /* sendto() calls per kick: 32 frames each */
	XDP_SYS_PATH = 64,
	XDP_NO_FD = -1,
};

/* One of the four rings: producer and consumer indexes shared with the
 * kernel, a cached copy of ours (the other side's is re-read when needed). */
struct xdp_ring {
	_Atomic uint32_t *producer, *consumer;
	_Atomic uint32_t *flags;
	void *desc; /* uint64_t addresses (fill, completion) or struct xdp_desc */
	uint32_t mask, size;
	uint32_t cached; /* our index: producer of fill/tx, consumer of rx/completion */
	void *map;
	size_t map_len;
};

struct xdp_queue {
	int fd;
	bool zerocopy;
	uint8_t *umem; /* 2 * frames frames: receive first, then transmit */
	size_t umem_len;
	struct xdp_ring fill, comp, rx, tx;
	uint64_t *tx_free; /* a stack of transmit frame addresses */
	unsigned tx_free_n;
	struct codel codel;						/* the worker's */
	_Atomic uint64_t rx_frames, tx_frames, rx_oversize, tx_dropped; /* the worker's */
	_Atomic uint64_t rx_codel, rx_codel_marked;			/* the worker's */
	_Atomic uint64_t kernel_drops;					/* stats() writes */
};

struct xdp_port {
	unsigned queues;
	unsigned frames; /* per queue and direction; a power of two */
	unsigned side;	 /* enum pkt_side: which field set the NIC hashes */
	int ifindex;
	char ifname[IFNAMSIZ];
	int ctl_fd; /* AF_PACKET: promiscuous membership, ioctls */
	struct bpf_object *obj;
	int prog_fd, xsks_fd;
	int link_fd; /* the XDP link: ours attached while it is open */
	/* The device steers by its own RSS, read back (set_rss() could not
	 * program it): the engine should follow it (device_rss()). */
	bool follow;
	struct rss_config device;
	struct xdp_queue q[];
};

static inline struct xdp_port *port_of(struct io_port *io)
{
	return (struct xdp_port *)(void *)io;
}

/* afxdp_nic.c: ETHTOOL_* on the port's interface (-errno); the checks before
 * open (up, enough receive queues); the ops set_rss() and device_rss(). */
int afxdp_ethtool(const struct xdp_port *p, void *cmd);
int afxdp_iface_check(struct xdp_port *p, const char **why);
int afxdp_set_rss(struct io_port *io, const struct rss_snapshot *snap, const char **why);
int afxdp_device_rss(struct io_port *io, struct rss_config *out);

#endif
