/* io_internal.h - what the io module's files share: the backends' ops tables
 * (io.c lists them) and the embedded eBPF object (generated at build time
 * from bpf/rss_fanout.bpf.c, see the Makefile). */
#ifndef RSSNAT_IO_INTERNAL_H
#define RSSNAT_IO_INTERNAL_H

#include <stddef.h>

#include "io.h"

extern const struct io_ops afpacket_ops;
extern const struct io_ops afxdp_ops;

/* The ELF object clang built for the BPF target, as bytes. */
extern const unsigned char io_rss_fanout_bpf[];
extern const size_t io_rss_fanout_bpf_len;
/* The afxdp backend's XDP program, and the tc RSS emulation for veth peers. */
extern const unsigned char io_xsk_redirect_bpf[];
extern const size_t io_xsk_redirect_bpf_len;
extern const unsigned char io_tc_rss_bpf[];
extern const size_t io_tc_rss_bpf_len;

#endif
