/* mem.c - big tables on transparent huge pages (see mem.h). */
#include "mem.h"

#include <sys/mman.h>

enum { HUGE_PAGE = 2u << 20 };

static size_t rounded(size_t size)
{
	return (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
}

void *mem_alloc_big(size_t size)
{
	void *p;

	if (!size)
		size = 1;
	p = mmap(NULL, rounded(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Advice only: without THP the table still works, just slower. */
	(void)madvise(p, rounded(size), MADV_HUGEPAGE);
	return p;
}

void mem_free_big(void *p, size_t size)
{
	if (p)
		munmap(p, rounded(size ? size : 1));
}
