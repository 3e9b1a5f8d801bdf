/* wire.h - the few byte-level helpers every packet module needs, once.
 * Fields on the wire are big-endian; these read and write them without
 * alignment assumptions. */
#ifndef RSSNAT_WIRE_H
#define RSSNAT_WIRE_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { WIRE_MAC_LEN = 6 };

/* A big-endian field as a host-order number, and back. */
static inline uint16_t wire_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void wire_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline uint32_t wire_get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void wire_put32(uint8_t *b, uint32_t v)
{
	wire_put16(b, (uint16_t)(v >> 16));
	wire_put16(b + 2, (uint16_t)v);
}

/* A field as it sits on the wire (network order kept), for checksum
 * arithmetic that works on wire words. */
static inline uint16_t wire_rd16(const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, 2);
	return v;
}

static inline void wire_wr16(uint8_t *b, uint16_t v)
{
	memcpy(b, &v, 2);
}

static inline uint16_t wire_bswap16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

/* Ethernet destination and source (the first 12 bytes) exchanged. */
static inline void wire_swap_macs(uint8_t *eth)
{
	uint8_t tmp[WIRE_MAC_LEN];

	memcpy(tmp, eth, WIRE_MAC_LEN);
	memcpy(eth, eth + WIRE_MAC_LEN, WIRE_MAC_LEN);
	memcpy(eth + WIRE_MAC_LEN, tmp, WIRE_MAC_LEN);
}

/* Does IPv4 @ip (network order) name a single host? Not 0.0.0.0, loopback
 * (127/8), multicast (224/4), class E or broadcast (240/4): RFC 1122
 * 3.2.1.3, RFC 1812 4.3.2.7. */
static inline bool wire_ip_is_host(uint32_t ip)
{
	uint32_t h = ntohl(ip);

	return h != 0 && h >> 24 != 127 && h >> 28 < 0xe;
}

#endif
