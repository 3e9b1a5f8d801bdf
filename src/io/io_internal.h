/* io_internal.h - what the io module's files share: the backends' ops tables
 * (io.c lists them) and the embedded eBPF object (generated at build time
 * from bpf/rss_fanout.bpf.c, see the Makefile). */
#ifndef RSSNAT_IO_INTERNAL_H
#define RSSNAT_IO_INTERNAL_H

#include <stddef.h>

#include "io.h"

extern const struct io_ops afpacket_ops;

/* The ELF object clang built for the BPF target, as bytes. */
extern const unsigned char io_rss_fanout_bpf[];
extern const size_t io_rss_fanout_bpf_len;

#endif
