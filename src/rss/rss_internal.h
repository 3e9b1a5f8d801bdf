/* rss_internal.h - shared between the files of the rss module only. */
#ifndef RSSNAT_RSS_INTERNAL_H
#define RSSNAT_RSS_INTERNAL_H

struct rss_hasher;

/* toeplitz_gfni.c: the byte shuffle that lines input bytes up with their
 * diagonals; the same for every key. */
void rss_gfni_build_shuffle(struct rss_hasher *h);

#endif
