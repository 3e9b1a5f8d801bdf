/* input.c - hash input layout: which packet fields, in which order. */
#include "rss.h"

#include <errno.h>
#include <string.h>

static const struct {
	char letter;
	unsigned field;
} field_letters[] = {
    {'s', RSS_F_SRC_ADDR},
    {'d', RSS_F_DST_ADDR},
    {'f', RSS_F_SRC_PORT},
    {'n', RSS_F_DST_PORT},
};

int rss_fields_parse(const char *text, unsigned *fields)
{
	unsigned set = 0;

	if (!strcmp(text, "4tuple")) {
		*fields = RSS_F_4TUPLE;
		return 0;
	}
	if (!strcmp(text, "2tuple")) {
		*fields = RSS_F_ADDRS;
		return 0;
	}
	if (!*text)
		return -EINVAL;
	for (const char *p = text; *p; p++) {
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof(field_letters) / sizeof(field_letters[0]); i++)
			if (field_letters[i].letter == *p)
				bit = field_letters[i].field;
		if (!bit || (set & bit))
			return -EINVAL;
		set |= bit;
	}
	*fields = set;
	return 0;
}

void rss_fields_format(unsigned fields, char *buf, size_t size)
{
	size_t at = 0;

	for (size_t i = 0; i < sizeof(field_letters) / sizeof(field_letters[0]); i++)
		if ((fields & field_letters[i].field) && at + 1 < size)
			buf[at++] = field_letters[i].letter;
	if (size)
		buf[at < size ? at : size - 1] = '\0';
}

static size_t addr_len(unsigned family)
{
	return family == 6 ? 16 : 4;
}

size_t rss_input(const struct rss_tuple *t, unsigned fields, uint8_t out[RSS_INPUT_MAX])
{
	size_t alen = addr_len(t->family), n = 0;

	if (fields & RSS_F_SRC_ADDR) {
		memcpy(out + n, t->src, alen);
		n += alen;
	}
	if (fields & RSS_F_DST_ADDR) {
		memcpy(out + n, t->dst, alen);
		n += alen;
	}
	if (fields & RSS_F_SRC_PORT) {
		out[n++] = (uint8_t)(t->sport >> 8);
		out[n++] = (uint8_t)t->sport;
	}
	if (fields & RSS_F_DST_PORT) {
		out[n++] = (uint8_t)(t->dport >> 8);
		out[n++] = (uint8_t)t->dport;
	}
	return n;
}

int rss_input_port_offset(unsigned fields, unsigned family, unsigned which)
{
	size_t alen = addr_len(family);
	int off = 0;

	if (!(fields & which) || (which != RSS_F_SRC_PORT && which != RSS_F_DST_PORT))
		return -1;
	if (fields & RSS_F_SRC_ADDR)
		off += (int)alen;
	if (fields & RSS_F_DST_ADDR)
		off += (int)alen;
	if (which == RSS_F_DST_PORT && (fields & RSS_F_SRC_PORT))
		off += 2;
	return off;
}
