/* dhcp.c - the DHCP server's protocol: parsing client messages, choosing
 * addresses, probing them, building replies (RFC 2131, RFC 2132).
 *
 * Theory of operation
 * -------------------
 * dhcp_input() gets every frame the gateway received on the LAN for UDP port
 * 67. dhcp_parse() validates it from the Ethernet header down to the last
 * option: a bounded walk of the options field, then of the file and sname
 * fields if option 52 says they carry options, in that order (RFC 2131 4.1).
 * Each field is walked at most once and option 52 counts only in the first,
 * so there is no recursion and no overload loop; every walk step consumes at
 * least one byte of its field.
 *
 * Addresses live in a fixed table of slots, one per pool address plus one per
 * reserved address outside the pool, allocated by dhcp_create(). A slot may
 * be associated with one client (option 61, else htype + chaddr), found from
 * the client through a chained hash; the association outlives the lease
 * (released or expired) so that a client comes back to the same address if
 * nobody took it meanwhile. The address for a DISCOVER is chosen in the order
 * of RFC 2131 4.3.1: a reservation for chaddr, the client's current or
 * previous address, the requested address (option 50), then a pool address
 * never given out (lowest first), then the one remembered the longest. An
 * address is never chosen while held (declined, or its probe answered),
 * while offered to or bound to another client, while reserved for another
 * MAC, while probed for another client, or when ARP showed another MAC using
 * it in the last DHCP_RECENT_MS.
 *
 * RFC 2131 2.2: "the allocating server SHOULD probe the reused address
 * before allocating the address". With probe_ms > 0 an address not known to
 * be the client's is probed before its first OFFER: the DISCOVER waits in a
 * small table, dhcp_poll() sends an ARP request for the candidate, and
 * either dhcp_address_seen() reports another MAC at that address within
 * probe_ms (the address is held, another candidate probed), or dhcp_poll()
 * sends the OFFER once the window has passed.
 *
 * A REQUEST is told apart by its fields (RFC 2131 4.3.2): option 54 present
 * means SELECTING (ours: ACK or NAK; another server's: our offer is
 * withdrawn), otherwise ciaddr 0 means INIT-REBOOT and ciaddr set means
 * RENEWING (unicast) or REBINDING (broadcast). Bindings are committed to the
 * lease file before their DHCPACK (RFC 2131 3.1 step 4) by dhcp_lease.c;
 * mere renewals are written by dhcp_poll(), at most once a second.
 *
 * Replies are addressed as RFC 2131 4.1 says (no relay agents: giaddr set is
 * dropped): DHCPNAK broadcast; ciaddr set: unicast to it; broadcast bit:
 * broadcast; else unicast to yiaddr at chaddr, the Ethernet frame built here
 * so no ARP is needed. From server_addr:67 and server_mac, TTL 64, the
 * request's 802.1Q tag kept, the BOOTP message padded to 300 bytes.
 */
#include "dhcp.h"
#include "dhcp_internal.h"
#include "arp.h"
#include "../pkt/build.h"
#include "../pkt/pkt.h"
#include "../pkt/wire.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	LEASE_SECS_MIN = 60,
	LEASE_SECS_MAX = 0x7fffffff, /* 0xffffffff would mean "infinite" (RFC 2132 9.2) */
	PROBE_MS_MAX = 10000,
	RATE_MAX = 1000000,
	RATE_WAYS = 4, /* per-MAC buckets: set-associative, LRU within a set */
	PROBE_TRIES = 4,
	SWEEP_MS = 1000,
	WRITE_MS = 1000, /* renewals reach the file at most this late */
	UDP_IP_HEADERS = PKT_IP_MIN + PKT_UDP_HLEN,
	MTU = 1500,
	MSG_OUT_MAX = MTU - UDP_IP_HEADERS,
	MILLI = 1000,
};

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static const char *const drop_names[DHCP_DROP_COUNT] = {[DHCP_OK] = "OK",
#define DHCP_DROP_NAME(name, text) [DHCP_DROP_##name] = #name,
							DHCP_DROP_REASONS(DHCP_DROP_NAME)
#undef DHCP_DROP_NAME
};

static const char *const drop_texts[DHCP_DROP_COUNT] = {[DHCP_OK] = "not dropped",
#define DHCP_DROP_TEXT(name, text) [DHCP_DROP_##name] = text,
							DHCP_DROP_REASONS(DHCP_DROP_TEXT)
#undef DHCP_DROP_TEXT
};

const char *dhcp_drop_name(enum dhcp_drop reason)
{
	return (unsigned)reason < DHCP_DROP_COUNT ? drop_names[reason] : "?";
}

const char *dhcp_drop_text(enum dhcp_drop reason)
{
	return (unsigned)reason < DHCP_DROP_COUNT ? drop_texts[reason] : "?";
}

/* Small helpers ------------------------------------------------------------- */

static uint32_t get_addr(const uint8_t *b)
{
	uint32_t a;

	memcpy(&a, b, 4);
	return a;
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)wire_get16(b) << 16 | wire_get16(b + 2);
}

static void put32(uint8_t *b, uint32_t v)
{
	wire_put16(b, (uint16_t)(v >> 16));
	wire_put16(b + 2, (uint16_t)v);
}

/* IEEE 802: the group bit is the low bit of the first byte. */
static bool mac_unicast(const uint8_t *m)
{
	static const uint8_t zero[6];

	return !(m[0] & 1) && memcmp(m, zero, PKT_MAC_LEN) != 0;
}

/* Is @deadline still ahead of @now? Wall clock: a signed difference. */
static bool ahead(uint64_t deadline, uint64_t now)
{
	return (int64_t)(deadline - now) > 0;
}

/* Did @at happen within @window of @now? An @at in the future (the clock
 * stepped back) counts as recent, but only within the same window. */
static bool recent(uint64_t at, uint64_t now, uint64_t window)
{
	int64_t d = (int64_t)(now - at);

	return d < (int64_t)window && d > -(int64_t)window;
}

/* A deadline that a backward clock step left more than @len away is pulled
 * back to @now + @len. Returns whether it moved. */
static bool clamp(uint64_t *deadline, uint64_t now, uint64_t len)
{
	if ((int64_t)(*deadline - now) <= (int64_t)len)
		return false;
	*deadline = now + len;
	return true;
}

static size_t drop(struct dhcp_server *s, enum dhcp_drop r)
{
	s->cnt.drop[r]++;
	return 0;
}

/* Parsing ------------------------------------------------------------------- */

/* IPv4 and UDP, every length checked against the bytes really there; the UDP
 * length both ways (at least its header, at most the IP payload). */
static enum dhcp_drop parse_ip_udp(struct dhcp_msg *m, const uint8_t *ip, size_t avail,
				   const uint8_t **payload, size_t *plen)
{
	size_t ihl, totlen, ulen;
	const uint8_t *udp;
	uint16_t csum;

	if (avail < PKT_IP_MIN || ip[PKT_IP_VHL] >> 4 != 4)
		return DHCP_DROP_IP_HEADER;
	ihl = (size_t)(ip[PKT_IP_VHL] & 0x0f) * 4;
	totlen = wire_get16(ip + PKT_IP_TOTLEN);
	if (ihl < PKT_IP_MIN || totlen < ihl || totlen > avail)
		return DHCP_DROP_IP_HEADER;
	/* RFC 1071: a correct header sums to all ones. */
	if (csum_fold(csum_add(0, ip, ihl)) != 0xffff)
		return DHCP_DROP_IP_CHECKSUM;
	if (wire_get16(ip + PKT_IP_FRAG) & (PKT_IP_MF | PKT_IP_OFFMASK))
		return DHCP_DROP_IP_FRAGMENT;
	if (ip[PKT_IP_PROTO] != PKT_PROTO_UDP)
		return DHCP_DROP_NOT_UDP;
	udp = ip + ihl;
	if (totlen - ihl < PKT_UDP_HLEN)
		return DHCP_DROP_UDP_LENGTH;
	ulen = wire_get16(udp + PKT_UDP_LEN);
	if (ulen < PKT_UDP_HLEN || ulen > totlen - ihl)
		return DHCP_DROP_UDP_LENGTH;
	if (wire_get16(udp + PKT_UDP_DPORT) != DHCP_SERVER_PORT)
		return DHCP_DROP_NOT_PORT_67;
	m->ip_saddr = get_addr(ip + PKT_IP_SADDR);
	m->ip_daddr = get_addr(ip + PKT_IP_DADDR);
	memcpy(&csum, udp + PKT_UDP_CSUM, 2);
	/* RFC 768: zero means the sender computed none. */
	if (csum && csum != csum_ipv4_l4(m->ip_saddr, m->ip_daddr, PKT_PROTO_UDP, udp, ulen))
		return DHCP_DROP_UDP_CHECKSUM;
	*payload = udp + PKT_UDP_HLEN;
	*plen = ulen - PKT_UDP_HLEN;
	return DHCP_OK;
}

/* Option 12 as one DNS label (RFC 1035 2.3.1): letters and digits lower
 * cased, '-' (also for '_' and ' ', as Windows names have them), anything
 * else left out, cut at the first '.' (a client sending its FQDN) or NUL,
 * at most 63 characters, no '-' at either end. */
static void sanitize_host(char *dst, const uint8_t *v, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j < DHCP_HOSTNAME_MAX; i++) {
		uint8_t c = v[i];

		if (c == '.' || c == 0)
			break;
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			dst[j++] = (char)c;
		else if ((c == '-' || c == '_' || c == ' ') && j)
			dst[j++] = '-';
	}
	while (j && dst[j - 1] == '-')
		j--;
	dst[j] = '\0';
}

bool dhcp_host_valid(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > DHCP_HOSTNAME_MAX || host[0] == '-' || host[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Options already taken: the first occurrence of each wins (RFC 3396
 * concatenation of split options is not supported). */
struct opt_seen {
	bool type, hostname, cid, max_size, overload;
};

static enum dhcp_drop take_option(struct dhcp_msg *m, struct opt_seen *seen, uint8_t code,
				  const uint8_t *v, size_t n, bool options_field)
{
	switch (code) {
	case DHCP_OPT_MSG_TYPE:
		if (n != 1)
			return DHCP_DROP_BAD_OPTION;
		if (!seen->type)
			m->type = v[0];
		seen->type = true;
		break;
	case DHCP_OPT_REQUESTED_ADDR:
		if (n != 4)
			return DHCP_DROP_BAD_OPTION;
		if (!m->has_requested)
			m->requested = get_addr(v);
		m->has_requested = true;
		break;
	case DHCP_OPT_SERVER_ID:
		if (n != 4)
			return DHCP_DROP_BAD_OPTION;
		if (!m->has_server_id)
			m->server_id = get_addr(v);
		m->has_server_id = true;
		break;
	case DHCP_OPT_MAX_SIZE:
		if (n != 2)
			return DHCP_DROP_BAD_OPTION;
		if (!seen->max_size)
			m->max_size = wire_get16(v);
		seen->max_size = true;
		break;
	case DHCP_OPT_CLIENT_ID: /* RFC 2132 9.14: at least 2 bytes */
		if (n < 2)
			return DHCP_DROP_BAD_OPTION;
		if (n > DHCP_CLIENT_ID_MAX)
			return DHCP_DROP_CLIENT_ID_LONG;
		if (!seen->cid) {
			memcpy(m->cid, v, n);
			m->cid_len = (uint8_t)n;
			m->cid_from_option = true;
		}
		seen->cid = true;
		break;
	case DHCP_OPT_HOSTNAME: /* RFC 2132 3.14: at least 1 byte */
		if (n < 1)
			return DHCP_DROP_BAD_OPTION;
		if (!seen->hostname)
			sanitize_host(m->host, v, n);
		seen->hostname = true;
		break;
	case DHCP_OPT_OVERLOAD: /* RFC 2131 4.1: in the options field, once, 1..3 */
		if (!options_field || seen->overload || n != 1 || v[0] < DHCP_OVERLOAD_FILE ||
		    v[0] > DHCP_OVERLOAD_BOTH)
			return DHCP_DROP_BAD_OVERLOAD;
		m->overload = v[0];
		seen->overload = true;
		break;
	default: /* not ours to read (55 included: we send our one set) */
		break;
	}
	return DHCP_OK;
}

/* RFC 2132 2: pad (0) and end (255) are one byte, every other option is
 * code, length, value. Each step consumes at least one of the @len bytes:
 * at most @len steps. A field without an end option ends at its last byte. */
static enum dhcp_drop walk_options(struct dhcp_msg *m, struct opt_seen *seen, const uint8_t *b,
				   size_t len, bool options_field)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = b[i];
		size_t n;
		enum dhcp_drop r;

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPT_END)
			return DHCP_OK;
		if (len - i < 2)
			return DHCP_DROP_TRUNCATED_OPTION;
		n = b[i + 1];
		if (n > len - i - 2)
			return DHCP_DROP_TRUNCATED_OPTION;
		r = take_option(m, seen, code, b + i + 2, n, options_field);
		if (r != DHCP_OK)
			return r;
		i += 2 + n;
	}
	return DHCP_OK;
}

static enum dhcp_drop parse_bootp(struct dhcp_msg *m, const uint8_t *b, size_t n)
{
	struct opt_seen seen = {0};
	enum dhcp_drop r;

	if (n < DHCP_MIN_LEN)
		return DHCP_DROP_SHORT;
	if (b[DHCP_OP] != DHCP_BOOTREQUEST)
		return DHCP_DROP_NOT_REQUEST;
	if (b[DHCP_HTYPE] != DHCP_HTYPE_ETHER || b[DHCP_HLEN] != DHCP_HLEN_ETHER)
		return DHCP_DROP_HTYPE;
	if (get32(b + DHCP_COOKIE) != DHCP_MAGIC)
		return DHCP_DROP_BAD_COOKIE;
	if (get_addr(b + DHCP_GIADDR))
		return DHCP_DROP_RELAYED;
	m->htype = b[DHCP_HTYPE];
	m->hlen = b[DHCP_HLEN];
	memcpy(m->xid, b + DHCP_XID, 4);
	m->flags = wire_get16(b + DHCP_FLAGS);
	m->ciaddr = get_addr(b + DHCP_CIADDR);
	memcpy(m->chaddr, b + DHCP_CHADDR, DHCP_CHADDR_LEN);
	if (!mac_unicast(m->chaddr))
		return DHCP_DROP_BAD_CHADDR;
	if (m->ciaddr && !wire_ip_is_host(m->ciaddr))
		return DHCP_DROP_BAD_CIADDR;
	/* RFC 2131 4.1: "The options in the 'options' field MUST be interpreted
	 * first ... The 'file' field MUST be interpreted next ... followed by the
	 * 'sname' field." Each once, in that order: no loop can form. */
	r = walk_options(m, &seen, b + DHCP_OPTIONS, n - DHCP_OPTIONS, true);
	if (r == DHCP_OK && (m->overload & DHCP_OVERLOAD_FILE))
		r = walk_options(m, &seen, b + DHCP_FILE, DHCP_FILE_LEN, false);
	if (r == DHCP_OK && (m->overload & DHCP_OVERLOAD_SNAME))
		r = walk_options(m, &seen, b + DHCP_SNAME, DHCP_SNAME_LEN, false);
	if (r != DHCP_OK)
		return r;
	if (!seen.type)
		return DHCP_DROP_NO_MSG_TYPE;
	switch (m->type) {
	case DHCP_DISCOVER:
	case DHCP_REQUEST:
	case DHCP_DECLINE:
	case DHCP_RELEASE:
	case DHCP_INFORM:
		break;
	default:
		return DHCP_DROP_BAD_MSG_TYPE;
	}
	if (!m->cid_len) { /* RFC 2131 4.2: no option 61: htype and chaddr */
		m->cid[0] = m->htype;
		memcpy(m->cid + 1, m->chaddr, m->hlen);
		m->cid_len = (uint8_t)(1 + m->hlen);
	}
	return DHCP_OK;
}

enum dhcp_drop dhcp_parse(struct dhcp_msg *m, const uint8_t *frame, size_t len)
{
	size_t l3 = PKT_ETH_LEN, plen = 0;
	const uint8_t *payload = NULL;
	enum dhcp_drop r;
	uint16_t type;

	memset(m, 0, sizeof(*m));
	if (len < PKT_ETH_LEN)
		return DHCP_DROP_ETH_TRUNCATED;
	type = wire_get16(frame + PKT_ETH_TYPE);
	if (type == PKT_ETHERTYPE_VLAN) {
		if (len < PKT_ETH_LEN + PKT_VLAN_LEN)
			return DHCP_DROP_VLAN_TRUNCATED;
		m->vlan = true;
		m->vlan_tci = wire_get16(frame + PKT_VLAN_TCI);
		type = wire_get16(frame + PKT_VLAN_TYPE);
		l3 += PKT_VLAN_LEN;
	}
	if (type != PKT_ETHERTYPE_IPV4)
		return DHCP_DROP_NOT_IPV4;
	memcpy(m->eth_dst, frame + PKT_ETH_DST, PKT_MAC_LEN);
	memcpy(m->eth_src, frame + PKT_ETH_SRC, PKT_MAC_LEN);
	r = parse_ip_udp(m, frame + l3, len - l3, &payload, &plen);
	if (r != DHCP_OK)
		return r;
	return parse_bootp(m, payload, plen);
}

/* Set-up -------------------------------------------------------------------- */

void dhcp_config_default(struct dhcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server_addr = pkt_ipv4(192, 168, 137, 1);
	cfg->netmask = pkt_ipv4(255, 255, 255, 0);
	cfg->pool_first = pkt_ipv4(192, 168, 137, 2);
	cfg->pool_last = pkt_ipv4(192, 168, 137, 254);
	cfg->router = cfg->server_addr;
	cfg->dns = cfg->server_addr;
	strcpy(cfg->domain, "mshome.net");
	cfg->lease_secs = 86400;
	cfg->probe_ms = 500;
	cfg->rate_per_mac = 8;
	cfg->rate_global = 400;
}

/* RFC 1035 2.3.1 names: labels of letters, digits and '-', 1..63 long. */
static bool domain_valid(const char *d)
{
	size_t label = 0;

	for (size_t i = 0; d[i]; i++) {
		char c = d[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-') ||
		    ++label > DHCP_HOSTNAME_MAX)
			return false;
	}
	return d[0] == '\0' || label > 0;
}

/* A host address of the server's subnet: not its network or broadcast one. */
static bool host_of_subnet(const struct dhcp_config *c, uint32_t addr)
{
	uint32_t mask = ntohl(c->netmask), a = ntohl(addr);

	return ((a ^ ntohl(c->server_addr)) & mask) == 0 && (a & ~mask) != 0 &&
	       (a & ~mask) != ~mask;
}

static const char *reservations_error(const struct dhcp_config *c)
{
	if (c->n_reserved > DHCP_RESERVED_MAX)
		return "more than 64 reservations";
	for (unsigned i = 0; i < c->n_reserved; i++) {
		const struct dhcp_reservation *r = &c->reserved[i];

		if (!mac_unicast(r->mac))
			return "a reservation's MAC is not unicast";
		if (!host_of_subnet(c, r->addr) || r->addr == c->server_addr)
			return "a reserved address is not a host address of the subnet, or is the "
			       "server's";
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(c->reserved[j].mac, r->mac, 6) ||
			    c->reserved[j].addr == r->addr)
				return "two reservations share a MAC or an address";
	}
	return NULL;
}

static const char *config_error(const struct dhcp_config *c)
{
	uint32_t mask = ntohl(c->netmask), hostmask = ~mask;

	if ((hostmask & (hostmask + 1)) != 0)
		return "netmask is not contiguous";
	if (hostmask < 3)
		return "subnet smaller than a /30";
	if (!wire_ip_is_host(c->server_addr) || !host_of_subnet(c, c->server_addr))
		return "server_addr is not a host address";
	if (!mac_unicast(c->server_mac))
		return "server_mac is not a unicast MAC";
	if (!host_of_subnet(c, c->pool_first) || !host_of_subnet(c, c->pool_last) ||
	    ntohl(c->pool_first) > ntohl(c->pool_last))
		return "pool is not a range of host addresses of the server's subnet";
	if (ntohl(c->pool_last) - ntohl(c->pool_first) >= DHCP_POOL_MAX)
		return "pool larger than 65536 addresses (a /16)";
	if ((c->router && !wire_ip_is_host(c->router)) || (c->dns && !wire_ip_is_host(c->dns)))
		return "router or dns is not a host address";
	if (!memchr(c->domain, '\0', sizeof(c->domain)) || !domain_valid(c->domain))
		return "domain is not a DNS name of at most 63 characters";
	if (!memchr(c->lease_file, '\0', sizeof(c->lease_file)))
		return "lease_file path is not terminated";
	if (c->lease_secs < LEASE_SECS_MIN || c->lease_secs > LEASE_SECS_MAX)
		return "lease_secs must be 60..2147483647";
	if (c->probe_ms > PROBE_MS_MAX)
		return "probe_ms must be at most 10000";
	if (c->rate_per_mac > RATE_MAX || c->rate_global > RATE_MAX)
		return "rates must be at most 1000000 per second";
	return reservations_error(c);
}

/* Slots: the pool in order, then reserved addresses outside it. */
static void init_slots(struct dhcp_server *s)
{
	const struct dhcp_config *c = &s->cfg;
	uint32_t first = ntohl(c->pool_first), extra = s->n_pool;

	for (uint32_t i = 0; i < s->n_pool; i++) {
		s->slots[i].addr = htonl(first + i);
		s->slots[i].cnext = DHCP_NIL;
	}
	for (unsigned r = 0; r < c->n_reserved; r++) {
		uint32_t a = ntohl(c->reserved[r].addr);
		uint32_t i = a - first < s->n_pool ? a - first : extra++;

		s->slots[i].addr = c->reserved[r].addr;
		s->slots[i].cnext = DHCP_NIL;
		s->slots[i].res = (uint8_t)(r + 1);
	}
	for (uint32_t b = 0; b <= s->mask; b++)
		s->buckets[b] = DHCP_NIL;
}

static uint32_t extra_slots(const struct dhcp_config *c)
{
	uint32_t first = ntohl(c->pool_first), n_pool = ntohl(c->pool_last) - first + 1, n = 0;

	for (unsigned r = 0; r < c->n_reserved; r++)
		if (ntohl(c->reserved[r].addr) - first >= n_pool)
			n++;
	return n;
}

static void commit(struct dhcp_server *s, uint64_t now);

int dhcp_create(const struct dhcp_config *cfg, uint64_t now_ms, struct dhcp_server **out,
		const char **why, char *warning, size_t wsize)
{
	const char *err = config_error(cfg);
	const char *whatever = NULL;
	struct dhcp_server *s;
	uint32_t nb = 1;
	int r;

	if (warning && wsize)
		warning[0] = '\0';
	if (!why)
		why = &whatever;
	if (err) {
		*why = err;
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	s->cfg = *cfg;
	if (!s->cfg.router)
		s->cfg.router = cfg->server_addr;
	if (!s->cfg.dns)
		s->cfg.dns = cfg->server_addr;
	s->n_pool = ntohl(cfg->pool_last) - ntohl(cfg->pool_first) + 1;
	s->n_slots = s->n_pool + extra_slots(cfg);
	while (nb < s->n_slots)
		nb <<= 1;
	s->mask = nb - 1;
	s->slots = calloc(s->n_slots, sizeof(*s->slots));
	s->buckets = malloc(nb * sizeof(*s->buckets));
	if (!s->slots || !s->buckets) {
		dhcp_destroy(s);
		*why = "out of memory";
		return -ENOMEM;
	}
	init_slots(s);
	/* Seeds the client hash and the rate table: not secret, only varied. */
	s->seed = (uint32_t)(now_ms ^ now_ms >> 32) ^ get32(cfg->server_mac + 2) * 0x9e3779b9u;
	s->lease_ms = (uint64_t)cfg->lease_secs * MILLI;
	s->rate_all = (struct dhcp_bucket){.last = now_ms, .tokens = cfg->rate_global * MILLI};
	s->last_write = now_ms;
	if (cfg->lease_file[0]) {
		r = dhcp_lease_load(s, now_ms, warning, wsize, why);
		if (r == 0) {
			r = dhcp_lease_save(s);
			if (r)
				*why = "cannot write the lease file (or fsync its directory)";
		}
		if (r) {
			dhcp_destroy(s);
			return r;
		}
		s->cnt.lease_writes++;
	}
	*out = s;
	return 0;
}

void dhcp_destroy(struct dhcp_server *s)
{
	if (!s)
		return;
	if (s->dirty && s->slots)
		commit(s, s->last_write);
	free(s->buckets);
	free(s->slots);
	free(s);
}

const struct dhcp_counters *dhcp_counters(const struct dhcp_server *s)
{
	return &s->cnt;
}

/* The table ----------------------------------------------------------------- */

uint32_t dhcp_slot_index(const struct dhcp_server *s, uint32_t addr)
{
	uint32_t off = ntohl(addr) - ntohl(s->cfg.pool_first);

	if (off < s->n_pool)
		return off;
	for (uint32_t i = s->n_pool; i < s->n_slots; i++)
		if (s->slots[i].addr == addr)
			return i;
	return DHCP_NIL;
}

static uint32_t cid_bucket(const struct dhcp_server *s, const uint8_t *cid, size_t len)
{
	uint32_t h = 2166136261u ^ s->seed; /* FNV-1a, seeded */

	for (size_t i = 0; i < len; i++)
		h = (h ^ cid[i]) * 16777619u;
	h ^= h >> 16;
	return h & s->mask;
}

uint32_t dhcp_find_client(const struct dhcp_server *s, const uint8_t *cid, size_t len)
{
	uint32_t i = s->buckets[cid_bucket(s, cid, len)];

	/* Chains hold distinct slots of a finite array: the walk ends. */
	while (i != DHCP_NIL && !(s->slots[i].cid_len == len && !memcmp(s->slots[i].cid, cid, len)))
		i = s->slots[i].cnext;
	return i;
}

void dhcp_link_client(struct dhcp_server *s, uint32_t idx, const uint8_t *cid, size_t len)
{
	struct dhcp_slot *sl = &s->slots[idx];
	uint32_t b = cid_bucket(s, cid, len);

	assert(!sl->cid_len && len && len <= DHCP_CLIENT_ID_MAX);
	memcpy(sl->cid, cid, len);
	sl->cid_len = (uint8_t)len;
	sl->cnext = s->buckets[b];
	s->buckets[b] = idx;
}

void dhcp_unlink_client(struct dhcp_server *s, uint32_t idx)
{
	struct dhcp_slot *sl = &s->slots[idx];
	uint32_t *at = &s->buckets[cid_bucket(s, sl->cid, sl->cid_len)];

	while (*at != DHCP_NIL && *at != idx)
		at = &s->slots[*at].cnext;
	assert(*at == idx);
	*at = sl->cnext;
	sl->cnext = DHCP_NIL;
	sl->cid_len = 0;
	sl->flags &= (uint8_t) ~(DHCP_SLOT_LEASED | DHCP_SLOT_OFFERED | DHCP_SLOT_RELEASED);
	sl->host[0] = '\0';
	memset(sl->mac, 0, sizeof(sl->mac));
}

void dhcp_forget_all(struct dhcp_server *s)
{
	for (uint32_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].cid_len)
			dhcp_unlink_client(s, i);
}

static bool lease_active(const struct dhcp_slot *sl, uint64_t now)
{
	return sl->cid_len && (sl->flags & DHCP_SLOT_LEASED) && ahead(sl->lease_end, now);
}

static bool offer_active(const struct dhcp_slot *sl, uint64_t now)
{
	return sl->cid_len && (sl->flags & DHCP_SLOT_OFFERED) && ahead(sl->offer_until, now);
}

static bool held(const struct dhcp_slot *sl, uint64_t now)
{
	return (sl->flags & DHCP_SLOT_HELD) && ahead(sl->hold_until, now);
}

const char *dhcp_slot_state(const struct dhcp_slot *sl, uint64_t now)
{
	if (held(sl, now))
		return "held";
	if (!sl->cid_len)
		return NULL;
	if (lease_active(sl, now))
		return "bound";
	if (offer_active(sl, now))
		return "offered";
	return sl->flags & DHCP_SLOT_RELEASED ? "released" : "expired";
}

static bool same_client(const struct dhcp_slot *sl, const struct dhcp_msg *m)
{
	return sl->cid_len == m->cid_len && !memcmp(sl->cid, m->cid, m->cid_len);
}

static bool in_use_by_other(const struct dhcp_slot *sl, const struct dhcp_msg *m, uint64_t now)
{
	return sl->cid_len && !same_client(sl, m) &&
	       (lease_active(sl, now) || offer_active(sl, now));
}

static void hold(struct dhcp_server *s, uint32_t idx, uint64_t now)
{
	s->slots[idx].flags |= DHCP_SLOT_HELD;
	s->slots[idx].hold_until = now + DHCP_HOLD_MS;
}

/* Address choice ------------------------------------------------------------ */

static bool pending_same_client(const struct dhcp_pending *p, const struct dhcp_msg *m)
{
	return p->msg.cid_len == m->cid_len && !memcmp(p->msg.cid, m->cid, m->cid_len);
}

static bool probed_for_other(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m)
{
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++) {
		const struct dhcp_pending *p = &s->pending[i];

		if (p->state != DHCP_PEND_FREE && p->slot == idx && !pending_same_client(p, m))
			return true;
	}
	return false;
}

/* May slot @idx be offered or bound to the client of @m at @now? */
static bool usable_by(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
		      uint64_t now)
{
	const struct dhcp_slot *sl = &s->slots[idx];
	bool mine = sl->cid_len && same_client(sl, m);

	if (sl->addr == s->cfg.server_addr || held(sl, now))
		return false;
	if (sl->res && memcmp(s->cfg.reserved[sl->res - 1].mac, m->chaddr, PKT_MAC_LEN))
		return false;
	if (in_use_by_other(sl, m, now))
		return false;
	/* ARP from another MAC lately: someone uses it. Not asked of the bound
	 * client's own lease, which a MAC-rewriting bridge would otherwise take
	 * away from it at every renewal. */
	if (!(mine && lease_active(sl, now)) && (sl->flags & DHCP_SLOT_SEEN) &&
	    recent(sl->seen_at, now, DHCP_RECENT_MS) &&
	    memcmp(sl->seen_mac, m->chaddr, PKT_MAC_LEN))
		return false;
	return !probed_for_other(s, idx, m);
}

static uint32_t reservation_for(const struct dhcp_server *s, const uint8_t *mac)
{
	for (unsigned i = 0; i < s->cfg.n_reserved; i++)
		if (!memcmp(s->cfg.reserved[i].mac, mac, PKT_MAC_LEN))
			return dhcp_slot_index(s, s->cfg.reserved[i].addr);
	return DHCP_NIL;
}

/* RFC 2131 4.3.1, in its order: the reservation (manual allocation), the
 * client's current or previous binding, the requested address, then a new
 * one from the pool: never given out first (lowest address), else the one
 * whose client's lease ended the longest ago. DHCP_NIL: pool exhausted. */
static uint32_t choose(const struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	uint32_t idx, best = DHCP_NIL;

	idx = reservation_for(s, m->chaddr);
	if (idx != DHCP_NIL && usable_by(s, idx, m, now))
		return idx;
	idx = dhcp_find_client(s, m->cid, m->cid_len);
	if (idx != DHCP_NIL && usable_by(s, idx, m, now))
		return idx;
	if (m->has_requested) {
		idx = dhcp_slot_index(s, m->requested);
		if (idx != DHCP_NIL && usable_by(s, idx, m, now))
			return idx;
	}
	for (uint32_t i = 0; i < s->n_pool; i++) {
		const struct dhcp_slot *sl = &s->slots[i];

		if (!usable_by(s, i, m, now))
			continue;
		if (!sl->cid_len)
			return i;
		if (best == DHCP_NIL || (int64_t)(sl->lease_end - s->slots[best].lease_end) < 0)
			best = i;
	}
	return best;
}

/* RFC 2131 2.2: probe an address before giving it out, unless it is the
 * client's live lease, was probed unanswered lately, or the client itself
 * answers ARP for it. */
static bool needs_probe(const struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m,
			uint64_t now)
{
	const struct dhcp_slot *sl = &s->slots[idx];

	if (!s->cfg.probe_ms)
		return false;
	if (sl->cid_len && same_client(sl, m) && lease_active(sl, now))
		return false;
	if ((sl->flags & DHCP_SLOT_PROBED) && recent(sl->probed_at, now, DHCP_OFFER_HOLD_MS))
		return false;
	return !((sl->flags & DHCP_SLOT_SEEN) && recent(sl->seen_at, now, DHCP_RECENT_MS) &&
		 !memcmp(sl->seen_mac, m->chaddr, PKT_MAC_LEN));
}

/* Make slot @idx the client's one address: its previous association, and
 * whoever's expired association @idx had, are forgotten. */
static void associate(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m)
{
	uint32_t old = dhcp_find_client(s, m->cid, m->cid_len);
	struct dhcp_slot *sl = &s->slots[idx];

	if (old != idx) {
		if (old != DHCP_NIL) {
			s->dirty |= (s->slots[old].flags & DHCP_SLOT_LEASED) != 0;
			dhcp_unlink_client(s, old);
		}
		if (sl->cid_len) {
			s->dirty |= (sl->flags & DHCP_SLOT_LEASED) != 0;
			dhcp_unlink_client(s, idx);
		}
		dhcp_link_client(s, idx, m->cid, m->cid_len);
	}
	memcpy(sl->mac, m->chaddr, PKT_MAC_LEN);
}

/* Newest claimant of a host name keeps it: the DNS proxy answers one address. */
static void set_host(struct dhcp_server *s, uint32_t idx, const char *host)
{
	for (uint32_t i = 0; i < s->n_slots; i++)
		if (i != idx && s->slots[i].cid_len && !strcmp(s->slots[i].host, host))
			s->slots[i].host[0] = '\0';
	strcpy(s->slots[idx].host, host);
}

/* Lease file writes: the I/O is dhcp_lease.c's; a failure is counted and the
 * write retried from dhcp_poll(). */
static void commit(struct dhcp_server *s, uint64_t now)
{
	s->last_write = now;
	if (!s->cfg.lease_file[0]) {
		s->dirty = false;
		return;
	}
	if (dhcp_lease_save(s) == 0) {
		s->cnt.lease_writes++;
		s->dirty = false;
	} else {
		s->cnt.lease_write_errors++;
		s->dirty = true;
	}
}

/* Replies ------------------------------------------------------------------- */

struct opts {
	uint8_t *b;
	size_t pos, limit;
};

/* One option, if it fits with the end option still after it. */
static bool put_opt(struct opts *o, uint8_t code, const void *v, size_t n)
{
	if (n > 255 || o->limit - o->pos < n + 3)
		return false;
	o->b[o->pos++] = code;
	o->b[o->pos++] = (uint8_t)n;
	memcpy(o->b + o->pos, v, n);
	o->pos += n;
	return true;
}

static void put_opt32(struct opts *o, uint8_t code, uint32_t host_order)
{
	uint8_t v[4];

	put32(v, host_order);
	put_opt(o, code, v, 4);
}

/* RFC 2132 9.10: option 57 bounds the whole IP datagram (as dnsmasq and ISC
 * read it); never below 576 (RFC 2131 2), never above our MTU. */
static size_t reply_limit(const struct dhcp_msg *m)
{
	size_t size = m->max_size > DHCP_MSG_SIZE_MIN ? m->max_size : DHCP_MSG_SIZE_MIN;

	return (size < MTU ? size : MTU) - UDP_IP_HEADERS;
}

/* RFC 2131 4.1, giaddr being 0: DHCPNAK broadcast; ciaddr set: unicast to
 * it; broadcast bit: broadcast; else unicast to yiaddr at chaddr. */
static void reply_to(const struct dhcp_msg *m, uint8_t type, uint32_t yiaddr, uint32_t *ip,
		     uint8_t *mac)
{
	if (type != DHCP_NAK && m->ciaddr) {
		*ip = m->ciaddr;
		memcpy(mac, m->chaddr, PKT_MAC_LEN);
	} else if (type != DHCP_NAK && !(m->flags & DHCP_FLAG_BROADCAST) && yiaddr) {
		*ip = yiaddr;
		memcpy(mac, m->chaddr, PKT_MAC_LEN);
	} else {
		*ip = 0xffffffffu;
		memcpy(mac, mac_broadcast, PKT_MAC_LEN);
	}
}

/* The reply of @type to @m (RFC 2131 4.3.1 Table 3 for the fields and
 * options), as a whole frame in @out. Options by priority, should @m's
 * option 57 leave too little room: 53, 54, lease times, 1, 3, 6, 61, 15. */
static size_t build_reply(struct dhcp_server *s, const struct dhcp_msg *m, uint8_t type,
			  uint32_t yiaddr, uint8_t *out, size_t cap)
{
	const struct dhcp_config *c = &s->cfg;
	uint8_t msg[MSG_OUT_MAX];
	struct opts o = {msg, DHCP_OPTIONS, reply_limit(m)};
	/* An ACK to DHCPINFORM (yiaddr 0) MUST NOT carry a lease time. */
	bool lease = type == DHCP_OFFER || (type == DHCP_ACK && yiaddr);
	struct pkt_spec sp;
	size_t n;

	memset(msg, 0, sizeof(msg));
	msg[DHCP_OP] = DHCP_BOOTREPLY;
	msg[DHCP_HTYPE] = m->htype;
	msg[DHCP_HLEN] = m->hlen;
	memcpy(msg + DHCP_XID, m->xid, 4);
	wire_put16(msg + DHCP_FLAGS, m->flags);
	if (type == DHCP_ACK)
		memcpy(msg + DHCP_CIADDR, &m->ciaddr, 4);
	memcpy(msg + DHCP_YIADDR, &yiaddr, 4);
	memcpy(msg + DHCP_CHADDR, m->chaddr, DHCP_CHADDR_LEN);
	put32(msg + DHCP_COOKIE, DHCP_MAGIC);
	put_opt(&o, DHCP_OPT_MSG_TYPE, &type, 1);
	put_opt(&o, DHCP_OPT_SERVER_ID, &c->server_addr, 4);
	if (lease) {
		/* RFC 2131 4.4.5: T1 0.5, T2 0.875 of the lease. */
		put_opt32(&o, DHCP_OPT_LEASE_TIME, c->lease_secs);
		put_opt32(&o, DHCP_OPT_T1, c->lease_secs / 2);
		put_opt32(&o, DHCP_OPT_T2, (uint32_t)((uint64_t)c->lease_secs * 7 / 8));
	}
	if (type != DHCP_NAK) {
		put_opt(&o, DHCP_OPT_SUBNET_MASK, &c->netmask, 4);
		put_opt(&o, DHCP_OPT_ROUTER, &c->router, 4);
		put_opt(&o, DHCP_OPT_DNS, &c->dns, 4);
	}
	if (m->cid_from_option) /* RFC 6842: echoed, unmodified */
		put_opt(&o, DHCP_OPT_CLIENT_ID, m->cid, m->cid_len);
	if (type != DHCP_NAK && c->domain[0])
		put_opt(&o, DHCP_OPT_DOMAIN, c->domain, strlen(c->domain));
	msg[o.pos++] = DHCP_OPT_END;
	n = o.pos < DHCP_BOOTP_LEN ? DHCP_BOOTP_LEN : o.pos; /* zeros: pad */

	memset(&sp, 0, sizeof(sp));
	memcpy(sp.src_mac, c->server_mac, PKT_MAC_LEN);
	reply_to(m, type, yiaddr, &sp.daddr, sp.dst_mac);
	sp.vlan_tci = m->vlan_tci;
	sp.saddr = c->server_addr;
	sp.proto = PKT_PROTO_UDP;
	sp.ttl = 64;
	sp.ip_id = s->ip_id++;
	sp.sport = DHCP_SERVER_PORT;
	sp.dport = DHCP_CLIENT_PORT;
	sp.payload = msg;
	sp.payload_len = (uint16_t)n;
	n = pkt_build(out, cap, &sp);
	return n ? n : drop(s, DHCP_DROP_NO_ROOM);
}

static size_t nak(struct dhcp_server *s, const struct dhcp_msg *m, uint8_t *out, size_t cap)
{
	s->cnt.naks++;
	return build_reply(s, m, DHCP_NAK, 0, out, cap);
}

static size_t offer(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m, uint64_t now,
		    uint8_t *out, size_t cap)
{
	struct dhcp_slot *sl = &s->slots[idx];

	associate(s, idx, m);
	/* Kept for the client while it decides, so nobody else is offered it. */
	if (!lease_active(sl, now)) {
		sl->flags |= DHCP_SLOT_OFFERED;
		sl->offer_until = now + DHCP_OFFER_HOLD_MS;
	}
	s->cnt.offers++;
	return build_reply(s, m, DHCP_OFFER, sl->addr, out, cap);
}

/* Bind slot @idx to the client and answer DHCPACK. A new binding is on disk
 * before the ACK leaves (RFC 2131 3.1 step 4); a renewal of a live lease is
 * written by dhcp_poll() within WRITE_MS. */
static size_t ack(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m, uint64_t now,
		  uint8_t *out, size_t cap)
{
	struct dhcp_slot *sl = &s->slots[idx];
	bool renewal = sl->cid_len && same_client(sl, m) && lease_active(sl, now) &&
		       (!m->host[0] || !strcmp(sl->host, m->host));

	associate(s, idx, m);
	sl->flags |= DHCP_SLOT_LEASED;
	sl->flags &= (uint8_t) ~(DHCP_SLOT_OFFERED | DHCP_SLOT_RELEASED);
	sl->lease_end = now + s->lease_ms;
	if (m->host[0] && !renewal)
		set_host(s, idx, m->host);
	s->cnt.acks++;
	if (renewal)
		s->dirty = true;
	else
		commit(s, now);
	return build_reply(s, m, DHCP_ACK, sl->addr, out, cap);
}

/* Pending DISCOVERs ----------------------------------------------------------- */

static struct dhcp_pending *pending_of(struct dhcp_server *s, const struct dhcp_msg *m)
{
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++)
		if (s->pending[i].state != DHCP_PEND_FREE && pending_same_client(&s->pending[i], m))
			return &s->pending[i];
	return NULL;
}

static void pending_free(struct dhcp_server *s, struct dhcp_pending *p)
{
	p->state = DHCP_PEND_FREE;
	s->cnt.pending--;
}

/* The client moved on (REQUEST, DECLINE): no OFFER for it any more. */
static void pending_cancel(struct dhcp_server *s, const struct dhcp_msg *m)
{
	struct dhcp_pending *p = pending_of(s, m);

	if (p)
		pending_free(s, p);
}

static size_t hold_for_probe(struct dhcp_server *s, uint32_t idx, const struct dhcp_msg *m)
{
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++) {
		struct dhcp_pending *p = &s->pending[i];

		if (p->state != DHCP_PEND_FREE)
			continue;
		p->msg = *m;
		p->slot = idx;
		p->tries = 1;
		p->state = DHCP_PEND_DUE;
		s->cnt.pending++;
		s->cnt.offers_delayed++;
		return 0;
	}
	return drop(s, DHCP_DROP_PENDING_FULL);
}

/* The candidate of @p is taken: probe another, a bounded number of times
 * (each conflict holds an address, so someone answering every probe cannot
 * make one DISCOVER sweep the pool). */
static void repick(struct dhcp_server *s, struct dhcp_pending *p, uint64_t now)
{
	uint32_t idx = p->tries < PROBE_TRIES ? choose(s, &p->msg, now) : DHCP_NIL;

	if (idx == DHCP_NIL) {
		pending_free(s, p);
		drop(s, DHCP_DROP_EXHAUSTED);
		return;
	}
	p->slot = idx;
	p->tries++;
	p->state = DHCP_PEND_DUE;
}

static size_t pending_step(struct dhcp_server *s, struct dhcp_pending *p, uint64_t now,
			   uint8_t *out, size_t cap)
{
	struct dhcp_slot *sl = &s->slots[p->slot];
	struct dhcp_msg m;
	int64_t waited;
	size_t n;

	switch (p->state) {
	case DHCP_PEND_DUE:
		n = arp_build_request(out, cap, p->msg.vlan_tci, s->cfg.server_mac,
				      s->cfg.server_addr, sl->addr, NULL);
		if (!n) {
			pending_free(s, p);
			return drop(s, DHCP_DROP_NO_ROOM);
		}
		p->state = DHCP_PEND_PROBING;
		p->probe_at = now;
		s->cnt.probes_sent++;
		return n;
	case DHCP_PEND_PROBING:
		/* A backward clock step ends the wait rather than stretching it. */
		waited = (int64_t)(now - p->probe_at);
		if (waited >= 0 && waited < (int64_t)s->cfg.probe_ms)
			return 0;
		if (!usable_by(s, p->slot, &p->msg, now)) {
			repick(s, p, now);
			return 0;
		}
		sl->flags |= DHCP_SLOT_PROBED;
		sl->probed_at = now;
		m = p->msg;
		pending_free(s, p);
		return offer(s, (uint32_t)(sl - s->slots), &m, now, out, cap);
	default:
		return 0;
	}
}

/* Message handlers ------------------------------------------------------------ */

static size_t on_discover(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now,
			  uint8_t *out, size_t cap)
{
	struct dhcp_pending *p = pending_of(s, m);
	uint32_t idx;

	s->cnt.discovers++;
	if (p) { /* a retransmission: the OFFER follows the probe, with its xid */
		p->msg = *m;
		return 0;
	}
	idx = choose(s, m, now);
	if (idx == DHCP_NIL)
		return drop(s, DHCP_DROP_EXHAUSTED);
	if (needs_probe(s, idx, m, now))
		return hold_for_probe(s, idx, m);
	return offer(s, idx, m, now, out, cap);
}

static bool on_subnet(const struct dhcp_server *s, uint32_t addr)
{
	return ((addr ^ s->cfg.server_addr) & s->cfg.netmask) == 0;
}

/* RFC 2131 4.3.2, the three ways a DHCPREQUEST comes. */
static size_t on_request(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now,
			 uint8_t *out, size_t cap)
{
	uint32_t own = dhcp_find_client(s, m->cid, m->cid_len), idx;

	s->cnt.requests++;
	pending_cancel(s, m);
	if (m->has_server_id) {
		if (m->server_id != s->cfg.server_addr) {
			/* It took another server's offer: ours is withdrawn. */
			if (own != DHCP_NIL)
				s->slots[own].flags &= (uint8_t)~DHCP_SLOT_OFFERED;
			return drop(s, DHCP_DROP_OTHER_SERVER);
		}
		/* SELECTING: option 50 MUST be there. */
		if (!m->has_requested)
			return drop(s, DHCP_DROP_NO_REQUESTED_ADDR);
		idx = dhcp_slot_index(s, m->requested);
		if (idx != DHCP_NIL && usable_by(s, idx, m, now))
			return ack(s, idx, m, now, out, cap);
		return nak(s, m, out, cap);
	}
	if (!m->ciaddr) {
		/* INIT-REBOOT: NAK a wrong network or an address that is not the
		 * client's; "If the DHCP server has no record of this client, then
		 * it MUST remain silent". */
		if (!m->has_requested)
			return drop(s, DHCP_DROP_NO_REQUESTED_ADDR);
		if (!on_subnet(s, m->requested))
			return nak(s, m, out, cap);
		idx = dhcp_slot_index(s, m->requested);
		if (own != DHCP_NIL)
			return own == idx && usable_by(s, idx, m, now)
				   ? ack(s, idx, m, now, out, cap)
				   : nak(s, m, out, cap);
		if (idx != DHCP_NIL && in_use_by_other(&s->slots[idx], m, now))
			return nak(s, m, out, cap);
		return drop(s, DHCP_DROP_NO_RECORD);
	}
	/* RENEWING (unicast to us) or REBINDING (broadcast): "the DHCP server
	 * will trust the value in 'ciaddr'". A client we lost the record of
	 * keeps its address if it is free. */
	idx = dhcp_slot_index(s, m->ciaddr);
	if (idx != DHCP_NIL && (own == idx || own == DHCP_NIL) && usable_by(s, idx, m, now))
		return ack(s, idx, m, now, out, cap);
	if (m->ip_daddr != s->cfg.server_addr && !on_subnet(s, m->ciaddr))
		return drop(s, DHCP_DROP_NO_RECORD); /* rebinding, not our network */
	return nak(s, m, out, cap);
}

/* RFC 2131 4.3.3: "The server MUST mark the network address as not
 * available". Only the client it was given to may decline it. */
static size_t on_decline(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	uint32_t idx;

	pending_cancel(s, m);
	if (m->has_server_id && m->server_id != s->cfg.server_addr)
		return drop(s, DHCP_DROP_OTHER_SERVER);
	if (!m->has_requested)
		return drop(s, DHCP_DROP_NO_REQUESTED_ADDR);
	idx = dhcp_slot_index(s, m->requested);
	if (idx == DHCP_NIL || !same_client(&s->slots[idx], m))
		return drop(s, DHCP_DROP_DECLINE_IGNORED);
	s->dirty |= (s->slots[idx].flags & DHCP_SLOT_LEASED) != 0;
	dhcp_unlink_client(s, idx);
	hold(s, idx, now);
	s->cnt.declines++;
	return 0;
}

/* RFC 2131 4.3.4: the lease ends; the address stays remembered for the
 * client (RFC 2131 4.3.1's "previous address"). */
static size_t on_release(struct dhcp_server *s, const struct dhcp_msg *m, uint64_t now)
{
	uint32_t idx = dhcp_slot_index(s, m->ciaddr);
	struct dhcp_slot *sl;

	if (m->has_server_id && m->server_id != s->cfg.server_addr)
		return drop(s, DHCP_DROP_OTHER_SERVER);
	if (idx == DHCP_NIL || !same_client(&s->slots[idx], m) ||
	    !lease_active(&s->slots[idx], now))
		return drop(s, DHCP_DROP_RELEASE_IGNORED);
	sl = &s->slots[idx];
	sl->lease_end = now;
	sl->flags |= DHCP_SLOT_RELEASED;
	s->cnt.releases++;
	commit(s, now);
	return 0;
}

/* Input and timers ------------------------------------------------------------ */

static bool addressed_to_us(const struct dhcp_server *s, const struct dhcp_msg *m)
{
	uint32_t subnet_bcast = s->cfg.server_addr | ~s->cfg.netmask;

	if (memcmp(m->eth_dst, mac_broadcast, PKT_MAC_LEN) &&
	    memcmp(m->eth_dst, s->cfg.server_mac, PKT_MAC_LEN))
		return false;
	return m->ip_daddr == 0xffffffffu || m->ip_daddr == s->cfg.server_addr ||
	       m->ip_daddr == subnet_bcast;
}

/* Token bucket: a burst of one second's worth, @rate per second after. */
static bool take_token(struct dhcp_bucket *b, unsigned rate, uint64_t now)
{
	int64_t d = (int64_t)(now - b->last);
	uint64_t tokens = b->tokens, full = (uint64_t)rate * MILLI;

	if (d < 0)
		d = 0; /* the clock stepped back: no refill */
	if (d > MILLI)
		d = MILLI;
	tokens += (uint64_t)d * rate;
	if (tokens > full)
		tokens = full;
	b->last = now;
	if (tokens < MILLI) {
		b->tokens = (uint32_t)tokens;
		return false;
	}
	b->tokens = (uint32_t)(tokens - MILLI);
	return true;
}

/* The MAC's bucket: a set of RATE_WAYS by hash; a new MAC takes a free way or
 * the one refilled longest ago, starting full. */
static struct dhcp_bucket *bucket_for(struct dhcp_server *s, const uint8_t *mac, uint64_t now)
{
	uint32_t h = s->seed, base;
	struct dhcp_bucket *victim = NULL;

	for (int i = 0; i < PKT_MAC_LEN; i++)
		h = (h ^ mac[i]) * 16777619u;
	base = (h ^ h >> 16) % (DHCP_RATE_ENTRIES / RATE_WAYS) * RATE_WAYS;
	for (unsigned w = 0; w < RATE_WAYS; w++) {
		struct dhcp_bucket *b = &s->rate[base + w];

		if (b->used && !memcmp(b->mac, mac, PKT_MAC_LEN))
			return b;
		if (!victim ||
		    (victim->used && (!b->used || (int64_t)(b->last - victim->last) < 0)))
			victim = b;
	}
	victim->used = true;
	memcpy(victim->mac, mac, PKT_MAC_LEN);
	victim->last = now;
	victim->tokens = s->cfg.rate_per_mac * MILLI;
	return victim;
}

static enum dhcp_drop rate_check(struct dhcp_server *s, const uint8_t *mac, uint64_t now)
{
	if (s->cfg.rate_per_mac && !take_token(bucket_for(s, mac, now), s->cfg.rate_per_mac, now))
		return DHCP_DROP_RATE_MAC;
	if (s->cfg.rate_global && !take_token(&s->rate_all, s->cfg.rate_global, now))
		return DHCP_DROP_RATE_GLOBAL;
	return DHCP_OK;
}

size_t dhcp_input(struct dhcp_server *s, const uint8_t *frame, size_t len, uint64_t now_ms,
		  uint8_t *out, size_t cap)
{
	struct dhcp_msg m;
	enum dhcp_drop r;

	s->cnt.rx++;
	r = dhcp_parse(&m, frame, len);
	if (r != DHCP_OK)
		return drop(s, r);
	if (!addressed_to_us(s, &m))
		return drop(s, memcmp(m.eth_dst, mac_broadcast, PKT_MAC_LEN) &&
				       memcmp(m.eth_dst, s->cfg.server_mac, PKT_MAC_LEN)
				   ? DHCP_DROP_ETH_DST
				   : DHCP_DROP_IP_DST);
	r = rate_check(s, m.eth_src, now_ms);
	if (r != DHCP_OK)
		return drop(s, r);
	switch (m.type) {
	case DHCP_DISCOVER:
		return on_discover(s, &m, now_ms, out, cap);
	case DHCP_REQUEST:
		return on_request(s, &m, now_ms, out, cap);
	case DHCP_DECLINE:
		return on_decline(s, &m, now_ms);
	case DHCP_RELEASE:
		return on_release(s, &m, now_ms);
	default: /* DHCP_INFORM (RFC 2131 4.3.5): parameters only, no lease */
		s->cnt.informs++;
		return build_reply(s, &m, DHCP_ACK, 0, out, cap);
	}
}

void dhcp_address_seen(struct dhcp_server *s, uint32_t addr, const uint8_t mac[6], uint64_t now_ms)
{
	struct dhcp_slot *sl;
	uint32_t idx;

	if (!addr)
		return;
	s->cnt.arp_seen++;
	idx = dhcp_slot_index(s, addr);
	if (idx == DHCP_NIL)
		return;
	sl = &s->slots[idx];
	sl->flags |= DHCP_SLOT_SEEN;
	sl->seen_at = now_ms;
	memcpy(sl->seen_mac, mac, PKT_MAC_LEN);
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++) {
		struct dhcp_pending *p = &s->pending[i];

		/* The client itself answering is no conflict. */
		if (p->state == DHCP_PEND_FREE || p->slot != idx ||
		    !memcmp(mac, p->msg.chaddr, PKT_MAC_LEN))
			continue;
		hold(s, idx, now_ms);
		s->cnt.probe_conflicts++;
		repick(s, p, now_ms);
	}
}

/* Once a second: pull back deadlines a backward clock step stretched (a
 * lease never ends later than lease_secs from now), count bound leases. */
static void sweep(struct dhcp_server *s, uint64_t now)
{
	int64_t since = (int64_t)(now - s->last_sweep);
	uint32_t bound = 0;

	if (s->swept && since >= 0 && since < SWEEP_MS)
		return;
	s->swept = true;
	s->last_sweep = now;
	for (uint32_t i = 0; i < s->n_slots; i++) {
		struct dhcp_slot *sl = &s->slots[i];

		if ((sl->flags & DHCP_SLOT_LEASED) && clamp(&sl->lease_end, now, s->lease_ms))
			s->dirty = true;
		if (sl->flags & DHCP_SLOT_OFFERED)
			clamp(&sl->offer_until, now, DHCP_OFFER_HOLD_MS);
		if (sl->flags & DHCP_SLOT_HELD)
			clamp(&sl->hold_until, now, DHCP_HOLD_MS);
		bound += lease_active(sl, now);
	}
	s->cnt.bound = bound;
}

size_t dhcp_poll(struct dhcp_server *s, uint64_t now_ms, uint8_t *out, size_t cap)
{
	int64_t since_write = (int64_t)(now_ms - s->last_write);

	sweep(s, now_ms);
	if (s->dirty && (since_write < 0 || since_write >= WRITE_MS))
		commit(s, now_ms);
	for (unsigned k = 0; k < DHCP_PENDING_MAX; k++) {
		struct dhcp_pending *p = &s->pending[s->pend_cursor];
		size_t n;

		s->pend_cursor = (s->pend_cursor + 1) % DHCP_PENDING_MAX;
		n = pending_step(s, p, now_ms, out, cap);
		if (n)
			return n;
	}
	return 0;
}

/* Names for the DNS proxy --------------------------------------------------------- */

int dhcp_lookup_name(const struct dhcp_server *s, const char *host, uint64_t now_ms, uint32_t *addr)
{
	size_t n = strlen(host), dl = strlen(s->cfg.domain);

	if (n && host[n - 1] == '.')
		n--;
	if (dl && n > dl + 1 && host[n - dl - 1] == '.' &&
	    !strncasecmp(host + n - dl, s->cfg.domain, dl))
		n -= dl + 1;
	if (!n || n > DHCP_HOSTNAME_MAX)
		return -ENOENT;
	for (uint32_t i = 0; i < s->n_slots; i++) {
		const struct dhcp_slot *sl = &s->slots[i];

		if (lease_active(sl, now_ms) && !strncasecmp(sl->host, host, n) &&
		    sl->host[n] == '\0') {
			*addr = sl->addr;
			return 0;
		}
	}
	return -ENOENT;
}

int dhcp_lookup_addr(const struct dhcp_server *s, uint32_t addr, uint64_t now_ms, char *host,
		     size_t size)
{
	uint32_t idx = dhcp_slot_index(s, addr);
	const struct dhcp_slot *sl;
	size_t n;

	if (idx == DHCP_NIL)
		return -ENOENT;
	sl = &s->slots[idx];
	if (!lease_active(sl, now_ms) || !sl->host[0])
		return -ENOENT;
	n = strlen(sl->host);
	if (n >= size)
		return -ENOSPC;
	memcpy(host, sl->host, n + 1);
	return 0;
}
