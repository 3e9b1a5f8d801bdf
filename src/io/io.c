/* io.c - the packet I/O backends by name: one table, one lookup. */
#include "io.h"
#include "io_internal.h"

#include <string.h>

static const struct io_ops *const backends[] = {
    &afpacket_ops,
    &afxdp_ops,
};

const struct io_ops *io_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (name && !strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}
