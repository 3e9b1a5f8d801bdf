/* mem.h - big tables on transparent huge pages.
 *
 * Session and mapping tables are read at random, one lookup per packet; with
 * 4 KiB pages almost every lookup also misses the TLB. Tables allocated here
 * ask the kernel for 2 MiB pages (madvise; THP is "madvise" on Debian), which
 * is the difference between hundreds and tens of nanoseconds per packet at a
 * million sessions. Zeroed, freed with mem_free_big() and the same size.
 */
#ifndef RSSNAT_MEM_H
#define RSSNAT_MEM_H

#include <stddef.h>

void *mem_alloc_big(size_t size);
void mem_free_big(void *p, size_t size);

#endif
