/* pkt.h - parse a frame once into a validated descriptor; rewrite it with
 * checksums kept right.
 *
 * Theory of operation
 * -------------------
 * pkt_parse() walks Ethernet, an optional 802.1Q tag, IPv4 (options
 * included) and the TCP, UDP or ICMP header, checks every length field
 * against the bytes really there (and against each other), and fills a
 * struct pkt. After that nobody re-derives an offset from a packet field:
 * the NAT reads the descriptor and writes through the pkt_set_*() helpers,
 * which update the IP, TCP, UDP and ICMP checksums incrementally (RFC 1624,
 * eqn. 3). Bytes are reached only through pkt_at(), which returns NULL when
 * the range is not inside the frame (passt's packet_get()).
 *
 * ICMP errors (Destination Unreachable, Time Exceeded, Parameter Problem)
 * carry the IP header and first 8 bytes of the packet that caused them
 * (RFC 792); pkt_parse() validates that quote too and describes it in
 * p->inner, so the NAT can translate it (RFC 5508 REQ-3..7).
 *
 * Fragments (RFC 791): the first fragment (offset 0, MF set) has its L4
 * header and ports; later ones have none (PKT_F_L4 clear).
 */
#ifndef RSSNAT_PKT_H
#define RSSNAT_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a frame is dropped: one list, names for counters and the CLI. */
#define PKT_DROP_REASONS(X)                                                                        \
	X(ETH_TRUNCATED, "frame shorter than its Ethernet header")                                 \
	X(VLAN_TRUNCATED, "frame shorter than its 802.1Q tag")                                     \
	X(NOT_IPV4, "EtherType is not IPv4")                                                       \
	X(IP_TRUNCATED, "frame shorter than the IPv4 header")                                      \
	X(IP_VERSION, "IP version is not 4")                                                       \
	X(IP_IHL, "IPv4 header length below 20 bytes")                                             \
	X(IP_TOTLEN, "IPv4 total length below the header length or beyond the frame")              \
	X(IP_CHECKSUM, "IPv4 header checksum is wrong")                                            \
	X(IP_OPTIONS, "IPv4 options are malformed")                                                \
	X(IP_FRAGMENT, "IPv4 fragment offset and length do not fit")                               \
	X(L4_TRUNCATED, "datagram shorter than its TCP, UDP or ICMP header")                       \
	X(TCP_DOFF, "TCP data offset below 20 bytes or beyond the datagram")                       \
	X(UDP_LENGTH, "UDP length disagrees with the IP datagram")                                 \
	X(ICMP_INNER, "ICMP error quotes a malformed or truncated packet")

enum pkt_drop {
	PKT_OK = 0,
#define PKT_DROP_ENUM(name, text) PKT_DROP_##name,
	PKT_DROP_REASONS(PKT_DROP_ENUM)
#undef PKT_DROP_ENUM
	    PKT_DROP_COUNT
};

/* pkt_drop_name() - "ip_checksum" etc. (lower case), for counters. */
const char *pkt_drop_name(enum pkt_drop reason);
/* pkt_drop_text() - one sentence, for people. */
const char *pkt_drop_text(enum pkt_drop reason);

enum {
	PKT_ETH_LEN = 14,
	PKT_VLAN_LEN = 4,
	PKT_IP_MIN = 20,
	PKT_ETHERTYPE_IPV4 = 0x0800,
	PKT_ETHERTYPE_VLAN = 0x8100,
	PKT_ETHERTYPE_ARP = 0x0806,
};

/* Wire layout: byte offsets from the start of each header (RFC 791, 793,
 * 768, 792; IEEE 802.3, 802.1Q). Shared by parser, rewriter and builders. */
enum pkt_eth_off {
	PKT_ETH_DST = 0,
	PKT_ETH_SRC = 6,
	PKT_ETH_TYPE = 12,
	PKT_VLAN_TCI = 14, /* with a tag: TCI, then the real EtherType */
	PKT_VLAN_TYPE = 16,
	PKT_MAC_LEN = 6,
};

enum pkt_ip_off {
	PKT_IP_VHL = 0, /* version (high nibble), IHL in 32-bit words (low) */
	PKT_IP_TOS = 1,
	PKT_IP_TOTLEN = 2,
	PKT_IP_ID = 4,
	PKT_IP_FRAG = 6, /* flags (3 bits) and offset in 8-byte units (13 bits) */
	PKT_IP_TTL = 8,	 /* TTL and protocol share one 16-bit checksum word */
	PKT_IP_PROTO = 9,
	PKT_IP_CSUM = 10,
	PKT_IP_SADDR = 12,
	PKT_IP_DADDR = 16,
	PKT_IP_OPTS = 20,
	PKT_IP_MAXLEN = 65535,
};

enum pkt_ip_ecn {		       /* the low two bits of the TOS byte (RFC 3168 section 5) */
		  PKT_ECN_MASK = 0x03, /* 00 Not-ECT, 01 ECT(1), 10 ECT(0), 11 CE */
		  PKT_ECN_CE = 0x03,
};

enum pkt_ip_frag_bits {
	PKT_IP_DF = 0x4000,
	PKT_IP_MF = 0x2000,
	PKT_IP_OFFMASK = 0x1fff,
};

enum pkt_tcp_off {
	PKT_TCP_SPORT = 0,
	PKT_TCP_DPORT = 2,
	PKT_TCP_SEQ = 4,
	PKT_TCP_ACK_NO = 8,
	PKT_TCP_DOFF = 12, /* data offset in 32-bit words (high nibble) */
	PKT_TCP_FLAGS = 13,
	PKT_TCP_WINDOW = 14,
	PKT_TCP_CSUM = 16,
	PKT_TCP_URG = 18,
	PKT_TCP_MIN = 20,
};

enum pkt_udp_off {
	PKT_UDP_SPORT = 0,
	PKT_UDP_DPORT = 2,
	PKT_UDP_LEN = 4,
	PKT_UDP_CSUM = 6,
	PKT_UDP_HLEN = 8,
};

enum pkt_icmp_off {
	PKT_ICMP_TYPE = 0,
	PKT_ICMP_CODE = 1,
	PKT_ICMP_CSUM = 2,
	PKT_ICMP_ID = 4, /* echo: identifier; errors: unused / MTU / pointer */
	PKT_ICMP_SEQ = 6,
	PKT_ICMP_HLEN = 8,     /* an error's quote starts here (RFC 792) */
	PKT_ICMP_QUOTE_L4 = 8, /* quoted L4 bytes an error must carry (RFC 792) */
};

enum pkt_ip_proto {
	PKT_PROTO_ICMP = 1,
	PKT_PROTO_TCP = 6,
	PKT_PROTO_UDP = 17,
};

enum pkt_icmp_type {
	PKT_ICMP_ECHO_REPLY = 0,
	PKT_ICMP_UNREACH = 3,
	PKT_ICMP_ECHO = 8,
	PKT_ICMP_TIME_EXCEEDED = 11,
	PKT_ICMP_PARAM_PROBLEM = 12,
};

enum pkt_icmp_unreach_code {
	PKT_ICMP_UNREACH_PORT = 3,
	PKT_ICMP_UNREACH_NEEDFRAG = 4,
	PKT_ICMP_UNREACH_ADMIN = 13, /* communication administratively prohibited */
};

enum pkt_tcp_flag {
	PKT_TCP_FIN = 0x01,
	PKT_TCP_SYN = 0x02,
	PKT_TCP_RST = 0x04,
	PKT_TCP_PSH = 0x08,
	PKT_TCP_ACK = 0x10,
};

enum pkt_flag {
	PKT_F_VLAN = 1u << 0,	    /* an 802.1Q tag was present */
	PKT_F_FRAG = 1u << 1,	    /* part of a fragmented datagram (MF or offset) */
	PKT_F_L4 = 1u << 2,	    /* L4 header present and validated (not a later fragment) */
	PKT_F_ICMP_ERROR = 1u << 3, /* ICMP error with a validated quote in inner */
	PKT_F_ICMP_QUERY = 1u << 4, /* ICMP echo request or reply: id is the "port" */
	PKT_F_DF = 1u << 5,	    /* Don't Fragment set */
	/* ICMP error quoting a non-first fragment: the quoted bytes after its IP
	 * header are not an L4 header, so inner ports are 0 and never rewritten. */
	PKT_F_INNER_FRAG = 1u << 6,
	/* Sent by the gateway host's own stack and injected by the control
	 * thread (gw/host.c), not received on a wire: the only packet that may
	 * come from the gateway's own LAN address. pkt_parse() never sets it. */
	PKT_F_FROM_HOST = 1u << 7,
};

/* The quoted packet inside an ICMP error. Offsets are from the frame start.
 * Ports: TCP/UDP ports, or the echo identifier in both for ICMP echo. */
struct pkt_inner {
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t l4_len; /* bytes of the quoted L4 header present (>= 8) */
	uint8_t proto;
	uint8_t icmp_type;     /* when proto is ICMP */
	uint32_t saddr, daddr; /* network byte order */
	uint16_t sport, dport; /* host byte order */
};

/* The descriptor. Addresses in network byte order (as on the wire, read
 * into a uint32_t); ports, lengths and offsets in host byte order. For ICMP
 * echo the identifier is in both sport and dport. */
struct pkt {
	uint8_t *data;	 /* frame start (Ethernet header) */
	uint16_t len;	 /* bytes of frame */
	uint16_t cap;	 /* bytes the buffer can hold (>= len), for in-place replies */
	uint16_t l3_off; /* IPv4 header */
	uint16_t l4_off; /* L4 header; valid only with PKT_F_L4 */
	uint16_t l3_len; /* IPv4 total length; frame bytes beyond it are padding */
	uint16_t l4_len; /* l3_len - IP header length */
	uint16_t flags;	 /* enum pkt_flag */
	uint16_t vlan_tci;
	uint16_t ip_id;
	uint16_t frag_off; /* fragment offset in bytes */
	uint8_t proto;
	uint8_t ttl;
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	struct pkt_inner inner; /* valid only with PKT_F_ICMP_ERROR */
	/* Set by the data path, not by the parser. */
	uint8_t side;	    /* where it was received: enum pkt_side */
	uint8_t hops;	    /* handoffs so far; a packet is handed off at most once */
	uint8_t verdict;    /* enum pkt_verdict */
	uint8_t drop;	    /* reason when verdict is DROP (owner module's enum) */
	uint16_t to_worker; /* target when verdict is HANDOFF */
};

enum pkt_side { PKT_SIDE_LAN = 0, PKT_SIDE_WAN = 1 };

enum pkt_verdict {
	PKT_PENDING = 0, /* not decided yet (e.g. a fragment held for its first one) */
	PKT_TO_LAN,	 /* send out of the LAN interface */
	PKT_TO_WAN,	 /* send out of the WAN interface */
	PKT_HANDOFF,	 /* give to worker to_worker */
	PKT_TO_HOST,	 /* for the gateway itself (ARP, DHCP, DNS, ping): slow path */
	PKT_DROP,	 /* dropped, reason in drop */
};

/* pkt_parse() - validate @frame of @len bytes (buffer of @cap bytes; a @cap
 * below @len is taken as @len) and fill @p. Returns PKT_OK or the drop
 * reason; on error @p is not usable. Non-IPv4 EtherTypes return
 * PKT_DROP_NOT_IPV4 with p->data/len/cap, the 802.1Q fields and l3_off (the
 * start of the ARP payload) set, so that the caller can hand ARP to the slow
 * path. IPv4 header checksum is verified. */
enum pkt_drop pkt_parse(struct pkt *p, uint8_t *frame, uint16_t len, uint16_t cap);

/* pkt_ipv4() - the address a.b.c.d as it sits on the wire (network byte
 * order in a uint32_t), the form every address in a descriptor has. */
static inline uint32_t pkt_ipv4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	uint8_t bytes[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
	uint32_t v;

	__builtin_memcpy(&v, bytes, 4);
	return v;
}

/* pkt_at() - pointer to @n bytes at frame offset @off, or NULL if they are
 * not all inside the frame. */
static inline uint8_t *pkt_at(const struct pkt *p, size_t off, size_t n)
{
	if (off > p->len || n > (size_t)p->len - off)
		return NULL;
	return p->data + off;
}

/* Rewriting. Each updates the field, the IPv4 header checksum and the L4
 * checksum (TCP; UDP unless it is zero, RFC 768; ICMP has no pseudo-header)
 * incrementally. Ports are only touched when the packet has an L4 header;
 * for ICMP echo "port" means the identifier. Later fragments get only the
 * address changed. */
void pkt_set_src(struct pkt *p, uint32_t addr, uint16_t port);
void pkt_set_dst(struct pkt *p, uint32_t addr, uint16_t port);

/* The same for the packet quoted in an ICMP error: rewrites the quoted IP
 * header (and its checksum), the quoted port, the quoted L4 checksum when it
 * lies within the quote, and adjusts the outer ICMP checksum for every
 * changed byte (RFC 5508 REQ-4: all checksums). */
void pkt_set_inner_src(struct pkt *p, uint32_t addr, uint16_t port);
void pkt_set_inner_dst(struct pkt *p, uint32_t addr, uint16_t port);

/* pkt_set_ttl() - decrement-style TTL change with IP checksum update. */
void pkt_set_ttl(struct pkt *p, uint8_t ttl);

/* pkt_mark_ce() - on a raw Ethernet frame (@len bytes, one 802.1Q tag at
 * most) carrying IPv4: if its ECN field says ECN-capable (ECT(0), ECT(1)),
 * set it to CE (Congestion Experienced, RFC 3168 section 5) and adjust the
 * header checksum; true if the frame now carries CE (so a congested queue
 * may forward it instead of dropping it), false for anything else, which
 * is left as it was. Needs no parse. */
bool pkt_mark_ce(uint8_t *frame, size_t len);

/* pkt_congestion_controlled() - does the raw frame carry IPv4 TCP or UDP,
 * the protocols whose senders slow down when a packet is lost (TCP, and
 * QUIC and the like over UDP)? A queue that drops to signal congestion
 * (CoDel) drops only these: ARP and ICMP do not slow down, and losing them
 * breaks neighbour resolution and diagnostics (fq_codel spares them by
 * giving sparse flows their own queue; one ring cannot). */
bool pkt_congestion_controlled(const uint8_t *frame, size_t len);

/* Checksums ---------------------------------------------------------------- */

/* csum_add() - add @n bytes, as big-endian 16-bit words (an odd last byte
 * padded with zero, RFC 1071), to the 32-bit one's complement sum @sum.
 * Chain calls only at even byte boundaries. csum_fold() - fold the carries
 * into 16 bits; host-order value, not inverted. */
uint32_t csum_add(uint32_t sum, const void *data, size_t n);
uint16_t csum_fold(uint32_t sum);
/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word, and for a
 * 32-bit field (two words). @check and values in network byte order. */
uint16_t csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word);
/* csum_icmp_zero_fixup() - @check, a checksum csum_update16() gave for the
 * ICMP message @icmp of @n bytes, or 0xffff where the message is all zeros
 * (eqn. 3 gives 0x0000 there, which the receiver's sum rejects). */
uint16_t csum_icmp_zero_fixup(uint16_t check, const uint8_t *icmp, size_t n);
uint16_t csum_update32(uint16_t check, uint32_t old_val, uint32_t new_val);

/* Full recomputation, for tests and for packets we build. Return the value
 * to store in the checksum field (network byte order, memcpy it in). Each
 * reads its own checksum field as zero (IPv4 offset 10, TCP 16, UDP 6,
 * ICMP 2), so callers need not clear it first. csum_ipv4_l4() adds the
 * pseudo-header with length @n and, for UDP, returns a computed 0 as 0xffff
 * (RFC 768). */
uint16_t csum_ipv4_header(const uint8_t *ip, size_t ihl);
uint16_t csum_ipv4_l4(uint32_t saddr, uint32_t daddr, uint8_t proto, const uint8_t *l4, size_t n);
uint16_t csum_icmp(const uint8_t *icmp, size_t n);

/* pkt_checksums_ok() - recompute every checksum of a parsed packet (IP, and
 * L4 when the whole datagram is present and unfragmented; for ICMP errors
 * also the quoted IP header). Strict: each stored value must equal what a
 * sender computes (so 0xffff for a computed 0x0000 fails, except UDP where
 * that is the rule and 0 means none), which is how tests tell RFC 1624
 * eqn. 3 from eqn. 2. pkt_parse() itself accepts either form of zero (RFC
 * 1071). For tests and the simulator's end-to-end check. */
bool pkt_checksums_ok(const struct pkt *p);

#endif
