/* dhcp.h - the LAN's DHCP server (RFC 2131, options RFC 2132): one subnet,
 * one pool, static reservations, leases kept on disk, an ARP probe before an
 * address is offered, rate limits. What Windows ICS does, in user space.
 *
 * One server, owned by the control thread: nothing here is thread-safe and
 * nothing reads a clock. Time is now_ms, WALL CLOCK milliseconds (Unix epoch,
 * CLOCK_REALTIME), because lease expiry times are written to disk and must
 * mean the same after a restart. The clock may step either way: every
 * comparison is a signed difference, and dhcp_poll() pulls back any deadline
 * that a backward step left further away than its own length.
 *
 * Frames in and out are whole Ethernet frames: dhcp_input() takes what the
 * gateway received on the LAN for UDP port 67, and the frames it and
 * dhcp_poll() return (DHCP replies, ARP probes) go out of the LAN interface
 * as they are, checksums done, 802.1Q tag of the request kept. Nothing is
 * allocated after dhcp_create(); the only I/O is the lease file.
 *
 * What one address (a "slot": each pool address, and each reserved address
 * outside the pool) goes through:
 *
 *   free --DISCOVER, probe unanswered--> OFFERED (to one client, 8 s)
 *   OFFERED --REQUEST (SELECTING)--> BOUND (lease_secs; renewals extend it)
 *   BOUND --RELEASE--> RELEASED;  BOUND --lease_secs pass--> EXPIRED
 *   RELEASED, EXPIRED: the address stays remembered for its client, who gets
 *       it back if it is still free; a new client gets never-used addresses
 *       first, then the one remembered longest (least recently expired)
 *   any --DECLINE, or the probe answered by another MAC--> HELD (1 min, then
 *       probed again before it is offered), its client association forgotten
 *
 * Floods of spoofed MACs (issue 14): every limit keyed on the Ethernet
 * source can be dodged by changing it, so what a burst of NEW clients can
 * take is bounded globally: a client with no address of its own (no
 * association, no reservation) gets one only with a token of the new-lease
 * bucket (rate_new a second, DHCP_NEW_BURST_SECS of them at once). An
 * OFFER that is not requested returns to the pool after DHCP_OFFER_HOLD_MS
 * (RFC 2131 4.3.1 lets the server reclaim it). Clients we know have their
 * own global packet bucket, so that a flood of new ones cannot starve their
 * renewals. ARP from another MAC at a pool address (a forged gratuitous ARP
 * as much as a squatter) makes the address a last choice that is probed
 * before it is offered, not a lock-out for minutes.
 *
 * A client is its client identifier (option 61), else htype + chaddr; a
 * reservation matches chaddr. One client has at most one address, one
 * address at most one client.
 */
#ifndef RSSNAT_DHCP_H
#define RSSNAT_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct dhcp_server;

/* Why a frame got no reply. Every drop is counted under one of these. */
#define DHCP_DROP_REASONS(X)                                                                       \
	X(ETH_TRUNCATED, "frame shorter than its Ethernet header")                                 \
	X(VLAN_TRUNCATED, "frame shorter than its 802.1Q tag")                                     \
	X(NOT_IPV4, "EtherType is not IPv4 (after at most one 802.1Q tag)")                        \
	X(IP_HEADER, "IPv4 header malformed: version, header length or total length")              \
	X(IP_CHECKSUM, "IPv4 header checksum is wrong")                                            \
	X(IP_FRAGMENT, "fragmented datagram: DHCP messages are not reassembled")                   \
	X(NOT_UDP, "IPv4 protocol is not UDP")                                                     \
	X(UDP_LENGTH, "UDP header truncated, or its length disagrees with the IP datagram")        \
	X(UDP_CHECKSUM, "UDP checksum is wrong")                                                   \
	X(NOT_PORT_67, "UDP destination port is not 67 (bootps)")                                  \
	X(ETH_DST, "Ethernet destination is neither broadcast nor our MAC")                        \
	X(IP_DST, "IP destination is neither a broadcast nor our address")                         \
	X(SHORT, "BOOTP message shorter than 240 bytes (236 fixed + magic cookie, RFC 2131 2)")    \
	X(NOT_REQUEST, "op is not BOOTREQUEST (RFC 2131 2)")                                       \
	X(HTYPE, "htype/hlen is not Ethernet/6 (RFC 1700)")                                        \
	X(BAD_COOKIE, "magic cookie is not 99.130.83.99 (RFC 2131 3, RFC 2132 2)")                 \
	X(RELAYED, "giaddr set: relayed messages are not served (no relay support)")               \
	X(BAD_CHADDR, "chaddr is zero or a group address")                                         \
	X(BAD_CIADDR, "ciaddr set but names no single host")                                       \
	X(TRUNCATED_OPTION, "an option runs past the end of its field (RFC 2132 2)")               \
	X(BAD_OPTION, "option 50, 53, 54 or 57 of the wrong length, 61 below 2 bytes, 12 empty")   \
	X(CLIENT_ID_LONG, "client identifier (option 61) longer than 64 bytes")                    \
	X(BAD_OVERLOAD, "option 52 malformed, repeated, or outside the options field "             \
			"(RFC 2131 4.1)")                                                          \
	X(NO_MSG_TYPE, "no DHCP message type (option 53): plain BOOTP is not served")              \
	X(BAD_MSG_TYPE, "message type unknown, or one only servers send")                          \
	X(RATE_MAC, "over the per-MAC rate limit (Ethernet source)")                               \
	X(RATE_GLOBAL, "over the global rate limit (one bucket for new clients, one for known)")   \
	X(NEW_RATE, "a new client over the new-lease rate: no answer, it retries (RFC 2131 4.1)")  \
	X(NO_REQUESTED_ADDR, "REQUEST (SELECTING, INIT-REBOOT) or DECLINE without option 50")      \
	X(OTHER_SERVER, "server identifier (option 54) names another server: the client chose it") \
	X(NO_RECORD, "INIT-REBOOT or REBINDING from a client we know nothing about: silent "       \
		     "(RFC 2131 4.3.2)")                                                           \
	X(EXHAUSTED, "no address free to offer: no answer (RFC 2131 4.3.1)")                       \
	X(PENDING_FULL, "probe table full: DISCOVER dropped (the client retries)")                 \
	X(DECLINE_IGNORED, "DECLINE for an address not given to this client")                      \
	X(RELEASE_IGNORED, "RELEASE for an address not bound to this client")                      \
	X(NO_ROOM, "output buffer too small for the frame")

enum dhcp_drop {
	DHCP_OK = 0,
#define DHCP_DROP_ENUM(name, text) DHCP_DROP_##name,
	DHCP_DROP_REASONS(DHCP_DROP_ENUM)
#undef DHCP_DROP_ENUM
	    DHCP_DROP_COUNT
};

/* "SHORT" etc., for counters; and one sentence for people. */
const char *dhcp_drop_name(enum dhcp_drop reason);
const char *dhcp_drop_text(enum dhcp_drop reason);

#define DHCP_COUNTERS(X)                                                                           \
	X(rx, "frames given to dhcp_input()")                                                      \
	X(discovers, "DHCPDISCOVER accepted")                                                      \
	X(requests, "DHCPREQUEST accepted")                                                        \
	X(declines, "DHCPDECLINE that put an address on hold (RFC 2131 4.3.3)")                    \
	X(releases, "DHCPRELEASE that ended a lease (RFC 2131 4.3.4)")                             \
	X(informs, "DHCPINFORM answered with a DHCPACK (RFC 2131 4.3.5)")                          \
	X(offers, "DHCPOFFER sent")                                                                \
	X(acks, "DHCPACK sent for a DHCPREQUEST")                                                  \
	X(naks, "DHCPNAK sent")                                                                    \
	X(offers_delayed, "DISCOVERs whose OFFER waited for an ARP probe")                         \
	X(probes_sent, "ARP probes sent for a candidate address")                                  \
	X(probe_conflicts, "probes answered by another MAC: address held, another one tried")      \
	X(arp_seen, "ARP senders reported through dhcp_address_seen()")                            \
	X(lease_writes, "lease file written")                                                      \
	X(lease_write_errors, "lease file writes that failed (retried by dhcp_poll())")            \
	X(leases_loaded, "leases read from the lease file at start")                               \
	X(leases_skipped, "leases in the file for addresses no longer ours, dropped")

struct dhcp_counters {
#define DHCP_COUNTER_FIELD(name, text) uint64_t name;
	DHCP_COUNTERS(DHCP_COUNTER_FIELD)
#undef DHCP_COUNTER_FIELD
	uint64_t drop[DHCP_DROP_COUNT];
	uint32_t bound;	  /* gauge: leases bound, as of the last dhcp_poll() sweep (1 s) */
	uint32_t pending; /* gauge: DISCOVERs waiting for their probe now */
};

enum {
	DHCP_RESERVED_MAX = 64,
	DHCP_POOL_MAX = 65536,	   /* pool addresses: a /16 at most (any subnet size) */
	DHCP_CLIENT_ID_MAX = 64,   /* bytes of option 61 we keep */
	DHCP_HOSTNAME_MAX = 63,	   /* one DNS label (RFC 1035 2.3.4) */
	DHCP_DOMAIN_SIZE = 64,	   /* sizeof(dhcp_config.domain), NUL included */
	DHCP_PATH_SIZE = 256,	   /* sizeof(dhcp_config.lease_file), NUL included */
	DHCP_FRAME_MAX = 1518,	   /* out buffer that always suffices: 1500 + 14 + 802.1Q */
	DHCP_SERVER_PORT = 67,	   /* bootps */
	DHCP_CLIENT_PORT = 68,	   /* bootpc */
	DHCP_PENDING_MAX = 16,	   /* DISCOVERs held while their address is probed */
	DHCP_RATE_ENTRIES = 256,   /* per-MAC token buckets */
	DHCP_HOLD_MS = 60000,	   /* a declined or conflicting address rests 1 min */
	DHCP_RECENT_MS = 180000,   /* ARP from another MAC this recent: a last choice, probed */
	DHCP_OFFER_HOLD_MS = 8000, /* an offered address is kept for its client */
	DHCP_NEW_BURST_SECS = 10,  /* the new-lease bucket holds this many seconds' worth */
	DHCP_RATE_NEW_MAX = 1000,  /* rate_new at most, a second */
	DHCP_LOG_MS = 60000,	   /* dhcp_take_log(): at most one line a minute */
};

/* RFC 2131 2, Figure 1: the BOOTP message, from the start of the UDP payload. */
enum dhcp_off {
	DHCP_OP = 0,
	DHCP_HTYPE = 1,
	DHCP_HLEN = 2,
	DHCP_HOPS = 3,
	DHCP_XID = 4,
	DHCP_SECS = 8,
	DHCP_FLAGS = 10,
	DHCP_CIADDR = 12,
	DHCP_YIADDR = 16,
	DHCP_SIADDR = 20,
	DHCP_GIADDR = 24,
	DHCP_CHADDR = 28,
	DHCP_SNAME = 44,
	DHCP_FILE = 108,
	DHCP_COOKIE = 236,
	DHCP_OPTIONS = 240,
	DHCP_CHADDR_LEN = 16,
	DHCP_SNAME_LEN = 64,
	DHCP_FILE_LEN = 128,
	DHCP_MIN_LEN = 240,   /* fixed part + cookie: anything shorter is dropped */
	DHCP_BOOTP_LEN = 300, /* replies are padded to it (RFC 951; RFC 1542 2.1) */
};

enum {
	DHCP_BOOTREQUEST = 1,
	DHCP_BOOTREPLY = 2,
	DHCP_HTYPE_ETHER = 1,
	DHCP_HLEN_ETHER = 6,
	DHCP_FLAG_BROADCAST = 0x8000, /* RFC 2131 2, Figure 2 */
	DHCP_MAGIC = 0x63825363,      /* 99.130.83.99 (RFC 2131 3) */
	DHCP_MSG_SIZE_MIN = 576,      /* RFC 2131 2; RFC 2132 9.10 */
};

/* RFC 2132 9.6: option 53 values. */
enum dhcp_msg_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

/* RFC 2132 option codes this server reads or writes. */
enum dhcp_option {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_REQUESTED_ADDR = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_T1 = 58,
	DHCP_OPT_T2 = 59,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_END = 255,
};

/* RFC 2132 9.3: option 52 values. */
enum dhcp_overload {
	DHCP_OVERLOAD_FILE = 1,
	DHCP_OVERLOAD_SNAME = 2,
	DHCP_OVERLOAD_BOTH = 3,
};

/* A parsed client message. Addresses in network byte order. */
struct dhcp_msg {
	uint8_t type; /* enum dhcp_msg_type */
	uint8_t htype, hlen;
	bool vlan;
	uint16_t vlan_tci;
	uint16_t flags; /* host order */
	uint8_t xid[4]; /* echoed as it came */
	uint8_t eth_dst[6], eth_src[6];
	uint8_t chaddr[DHCP_CHADDR_LEN];
	uint32_t ip_saddr, ip_daddr;
	uint32_t ciaddr;
	bool has_requested, has_server_id;
	uint32_t requested;   /* option 50 */
	uint32_t server_id;   /* option 54 */
	uint16_t max_size;    /* option 57; 0: none */
	uint8_t overload;     /* option 52, enum dhcp_overload; 0: none */
	bool cid_from_option; /* option 61 present (echoed in replies, RFC 6842) */
	uint8_t cid_len;      /* the client's identity: option 61, else htype + chaddr */
	uint8_t cid[DHCP_CLIENT_ID_MAX];
	char host[DHCP_HOSTNAME_MAX + 1]; /* option 12 as a DNS label; "": none */
};

struct dhcp_reservation {
	uint8_t mac[6];
	uint32_t addr; /* network byte order */
};

struct dhcp_config {
	uint32_t server_addr, netmask; /* network byte order; 192.168.137.1, 255.255.255.0 */
	uint8_t server_mac[6];
	uint32_t pool_first, pool_last; /* 192.168.137.2 - .254 */
	uint32_t router, dns;		/* options 3 and 6: server_addr; 0: not sent */
	char domain[DHCP_DOMAIN_SIZE];	/* option 15: "mshome.net" as Windows ICS; "": not sent */
	uint32_t lease_secs;		/* option 51: 86400; T1 = 1/2, T2 = 7/8 (options 58/59) */
	struct dhcp_reservation reserved[DHCP_RESERVED_MAX];
	unsigned n_reserved;		 /* static reservations by MAC, inside the subnet */
	char lease_file[DHCP_PATH_SIZE]; /* "": memory only (tests, fuzzing) */
	unsigned probe_ms;		 /* ARP probe window before an OFFER: 500; 0: no probe */
	unsigned rate_per_mac;		 /* packets per second accepted per MAC: 8; 0: no limit */
	unsigned rate_global;		 /* packets per second accepted in all: 400; 0: no limit */
	unsigned rate_new; /* new clients given an address per second: 2, bursts of 10 s' worth;
			      0: no limit */
};

/* dhcp_config_default() - the Windows ICS subnet: server 192.168.137.1/24
 * (MAC zero: the caller sets it), pool .2 - .254, router and DNS the server,
 * domain mshome.net, one-day leases, 500 ms probes, 8 and 400 packets per
 * second, 2 new clients a second (20 at once), no lease file, no
 * reservations. */
void dhcp_config_default(struct dhcp_config *cfg);

/* dhcp_create() - check @cfg, allocate everything the server will use, and
 * load the lease file (if cfg->lease_file is set) as of @now_ms. A missing
 * file is a fresh start. A file that does not parse (any field of any line)
 * is renamed aside to FILE.corrupt (FILE.corrupt-N if that exists), a one
 * line explanation is written to @warning (@wsize bytes; NULL/0: none) and
 * the server starts with no leases: not an error. @warning is "" otherwise.
 * The file is then rewritten, so a directory we cannot write is found now.
 * Returns 0 with *out set; -EINVAL (bad configuration), -ENOMEM, or the
 * -errno of the lease file I/O that failed, with *why (may be NULL) set to
 * a sentence. */
int dhcp_create(const struct dhcp_config *cfg, uint64_t now_ms, struct dhcp_server **out,
		const char **why, char *warning, size_t wsize);

/* dhcp_destroy() - free @s (NULL is fine). Pending lease file changes not
 * yet written by dhcp_poll() are written first. */
void dhcp_destroy(struct dhcp_server *s);

/* dhcp_parse() - validate the Ethernet frame @frame of @len bytes as a DHCP
 * client message: Ethernet II, at most one 802.1Q tag, IPv4 (checksum,
 * lengths, no fragment), UDP to port 67 (length, checksum unless 0), a
 * BOOTREQUEST of at least 240 bytes on Ethernet with the magic cookie, no
 * giaddr, a unicast chaddr, and its options (overload included, every area
 * walked at most once) with a valid message type 1, 3, 4, 7 or 8. Fills @m
 * and returns DHCP_OK, or returns the reason with @m unusable. Pure: reads
 * only @len bytes of @frame, no server involved. */
enum dhcp_drop dhcp_parse(struct dhcp_msg *m, const uint8_t *frame, size_t len);

/* dhcp_input() - handle one frame received on the LAN for UDP port 67 at
 * @now_ms: parse it, check it is addressed to us (Ethernet broadcast or our
 * MAC; IP limited or subnet broadcast, or our address), apply the rate
 * limits, and run it through the protocol. Writes the reply frame (OFFER,
 * ACK or NAK) into @out (@cap bytes; DHCP_FRAME_MAX always suffices) and
 * returns its length, or returns 0: nothing to send now (dropped, with the
 * reason counted; or a DISCOVER whose OFFER comes from dhcp_poll() after a
 * probe). */
size_t dhcp_input(struct dhcp_server *s, const uint8_t *frame, size_t len, uint64_t now_ms,
		  uint8_t *out, size_t cap);

/* dhcp_address_seen() - the gateway saw an ARP frame on the LAN from
 * @addr at @mac (its sender fields) at @now_ms. Feeds the recent-use
 * table (an address recently used by one MAC is not offered to another) and
 * answers probes: another MAC at a probed candidate puts it on hold and
 * moves its DISCOVER to a new candidate. @addr 0 (an RFC 5227 probe) is
 * ignored. */
void dhcp_address_seen(struct dhcp_server *s, uint32_t addr, const uint8_t mac[6], uint64_t now_ms);

/* dhcp_poll() - run timers at @now_ms and return the next frame to send,
 * built into @out (@cap bytes; DHCP_FRAME_MAX suffices): an ARP probe
 * (who-has candidate, from server_addr/server_mac, broadcast) or an OFFER
 * whose probe window passed unanswered. Returns 0 when there is nothing
 * more; call until it does, at least every 100 ms. Also writes lease file
 * changes not written at once (renewals, at most one write per second) and
 * refreshes the gauges. */
size_t dhcp_poll(struct dhcp_server *s, uint64_t now_ms, uint8_t *out, size_t cap);

/* dhcp_lookup_name() - the address of the bound (unexpired) lease whose
 * client called itself @host (option 12: one label, no domain; compared
 * case-insensitively), for the DNS proxy. A trailing "." or ".DOMAIN" of our
 * own domain is accepted. Returns 0 with *addr set (network order), or
 * -ENOENT. */
int dhcp_lookup_name(const struct dhcp_server *s, const char *host, uint64_t now_ms,
		     uint32_t *addr);

/* dhcp_lookup_addr() - the host name (lower case, no domain) of the bound
 * lease of @addr at @now_ms, into @host (@size bytes, NUL-terminated).
 * Returns 0, -ENOENT (no bound lease, or its client gave no name) or
 * -ENOSPC (@size too small; @host untouched). */
int dhcp_lookup_addr(const struct dhcp_server *s, uint32_t addr, uint64_t now_ms, char *host,
		     size_t size);

/* dhcp_take_log() - one line for the log (no newline) into @buf (@size
 * bytes) when new clients went unserved since the last one (the pool
 * exhausted, or over the new-lease rate), at most one every DHCP_LOG_MS:
 * the first at once, then one a minute with the counts since, while there
 * are any; a flood is reported, never logged per packet. Returns its
 * length, or 0. */
size_t dhcp_take_log(struct dhcp_server *s, uint64_t now_ms, char *buf, size_t size);

/* dhcp_write_leases() - for `rssnat show dhcp`: every address with a client
 * or on hold, then the counters, to @out. Text: one line per item,
 *   lease address=A mac=M client_id=HEX hostname=H state=S expires_in=SECS
 *   counter NAME=N
 *   drop NAME=N
 * ("-" for an empty field; state bound, offered, released, expired or held;
 * expires_in 0 once past). @json: one object {"leases":[{"address":..,
 * "mac":..,"client_id":..,"hostname":..,"state":..,"expires_in":..}],
 * "counters":{..},"drops":{..}} and a newline; empty fields are null. */
void dhcp_write_leases(const struct dhcp_server *s, FILE *out, bool json, uint64_t now_ms);

/* dhcp_counters() - the counters and drop reasons, live. */
const struct dhcp_counters *dhcp_counters(const struct dhcp_server *s);

#endif
