/* build.h - write whole frames (Ethernet, IPv4, TCP/UDP/ICMP) with correct
 * checksums: test fixtures, the simulator's traffic, and the ICMP errors the
 * gateway itself sends (RFC 792, RFC 5508 REQ-8).
 */
#ifndef RSSNAT_PKT_BUILD_H
#define RSSNAT_PKT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkt;

/* What to build. Zero-initialise and fill in what matters. */
struct pkt_spec {
	uint8_t src_mac[6], dst_mac[6];
	uint16_t vlan_tci;     /* 0: no tag */
	uint32_t saddr, daddr; /* network byte order */
	uint8_t proto;	       /* PKT_PROTO_*; others get the payload as raw L4 bytes */
	uint8_t ttl;	       /* 0 means 64 */
	uint16_t ip_id;
	bool df;
	uint16_t frag_off; /* bytes, multiple of 8 (for building fragments) */
	bool more_frags;
	uint16_t sport, dport; /* TCP/UDP ports (host order) */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, icmp_seq; /* echo; bytes 4-7 of any other ICMP type */
	bool udp_no_checksum;	    /* send UDP checksum 0 */
	const uint8_t *payload;
	uint16_t payload_len;
	const uint8_t *ip_options;
	uint8_t ip_options_len; /* multiple of 4, <= 40 */
	/* A first fragment (frag_off 0, more_frags) carries only part of the
	 * datagram its L4 checksum and UDP length describe: give them here. */
	bool l4_csum_given;
	uint16_t l4_csum; /* network byte order, stored as-is */
	uint16_t udp_len; /* 0: 8 + payload_len */
};

/* pkt_build() - write a complete frame with correct checksums into @buf.
 * With frag_off 0 the L4 header precedes the payload; with frag_off > 0 the
 * payload is this fragment's raw data. Returns the frame length, or 0 if
 * @cap is too small or the spec is invalid (options length, fragment
 * offset alignment, or a datagram over 65535 bytes). */
size_t pkt_build(uint8_t *buf, size_t cap, const struct pkt_spec *s);

/* pkt_build_icmp_error() - an ICMP error (@type/@code) from @saddr to @daddr
 * quoting @quote_len bytes of the IPv4 packet at @quoted (its IP header and
 * at least 8 more bytes by RFC 792; RFC 1812 4.3.2.3 allows more). The quote
 * is copied as given, malformed or not, so tests can build bad ones. All
 * other checksums right, TTL 64. Returns the frame length or 0. */
size_t pkt_build_icmp_error(uint8_t *buf, size_t cap, const uint8_t src_mac[6],
			    const uint8_t dst_mac[6], uint32_t saddr, uint32_t daddr, uint8_t type,
			    uint8_t code, const uint8_t *quoted, size_t quote_len);

/* pkt_reply_icmp_error() - turn the parsed packet @p in place into an ICMP
 * error (@type, @code) from @from_addr back to p's source: Ethernet
 * addresses swapped (802.1Q tag kept), a new IPv4 header (TTL 64), the ICMP
 * header, and a quote of the original IP header plus the first 8 bytes of
 * its payload (RFC 792; RFC 5508 REQ-8 uses this for 3/13 on exhaustion).
 * Needs room within p->cap. On success returns 0 with @p re-parsed; the
 * data-path fields (side, hops, verdict, drop, to_worker) are kept for the
 * caller to update. Returns -1, leaving @p untouched, if
 * the reply does not fit, if @p is itself an ICMP error or a non-initial
 * fragment (RFC 1122 3.2.2: never answer those), or if fewer than 8 bytes
 * follow its IP header (RFC 792 requires them in the quote). */
int pkt_reply_icmp_error(struct pkt *p, uint8_t type, uint8_t code, uint32_t from_addr);

#endif
