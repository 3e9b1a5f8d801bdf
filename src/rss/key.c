/* key.c - RSS secret keys: the well-known ones and parsing of hex keys. */
#include "rss.h"
#include "../core/bits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The key of Microsoft's "Verifying the RSS Hash Calculation" and of most NIC
 * drivers' defaults (Intel 82599 datasheet 7.1.2.8.3). */
static const uint8_t microsoft_key[RSS_KEY_LEN_DEFAULT] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

void rss_key_microsoft(struct rss_key *key)
{
	memcpy(key->bytes, microsoft_key, sizeof(microsoft_key));
	key->len = sizeof(microsoft_key);
}

/* A key with a 16-bit period makes the hash symmetric: swapping source and
 * destination moves every field by a multiple of 16 bits (Woo and Park,
 * "Scalable TCP Session Monitoring with Symmetric Receive-side Scaling"). */
void rss_key_symmetric(struct rss_key *key)
{
	for (unsigned i = 0; i < RSS_KEY_LEN_DEFAULT; i += 2) {
		key->bytes[i] = 0x6d;
		key->bytes[i + 1] = 0x5a;
	}
	key->len = RSS_KEY_LEN_DEFAULT;
}

const char *rss_key_name(const struct rss_key *key)
{
	struct rss_key known;

	rss_key_microsoft(&known);
	if (key->len == known.len && !memcmp(key->bytes, known.bytes, known.len))
		return "microsoft";
	rss_key_symmetric(&known);
	if (key->len == known.len && !memcmp(key->bytes, known.bytes, known.len))
		return "symmetric";
	return NULL;
}

static int parse_hex_key(const char *text, struct rss_key *key, const char **why)
{
	unsigned digits = 0, len = 0;
	int hi = -1;

	for (const char *p = text; *p; p++) {
		if (*p == ':' && hi < 0 && p != text && p[-1] != ':' && p[1])
			continue;
		int v = bits_hex_digit(*p);
		if (v < 0) {
			*why = "not a hex key (expected hex digits, optionally ':' between bytes)";
			return -EINVAL;
		}
		digits++;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (len == RSS_KEY_LEN_MAX) {
			*why = "key is longer than 52 bytes";
			return -EINVAL;
		}
		key->bytes[len++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (digits % 2) {
		*why = "key has an odd number of hex digits";
		return -EINVAL;
	}
	if (len < RSS_KEY_LEN_MIN) {
		*why = "key is shorter than 40 bytes";
		return -EINVAL;
	}
	key->len = (uint8_t)len;
	return 0;
}

int rss_key_parse(const char *text, struct rss_key *key, const char **why)
{
	if (!strcmp(text, "microsoft") || !strcmp(text, "default")) {
		rss_key_microsoft(key);
		return 0;
	}
	if (!strcmp(text, "symmetric")) {
		rss_key_symmetric(key);
		return 0;
	}
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		text += 2;
	return parse_hex_key(text, key, why);
}

void rss_key_format(const struct rss_key *key, char *buf, size_t size)
{
	size_t at = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < key->len && at + 3 <= size; i++)
		at += (size_t)snprintf(buf + at, size - at, "%02x", key->bytes[i]);
}
