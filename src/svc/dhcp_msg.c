/* dhcp_msg.c - DHCP messages: a client's frame parsed and validated down
 * to its last option (overload included), and the reply frames built (RFC
 * 2131, RFC 2132; theory of operation in dhcp_internal.h).
 */
#include "dhcp.h"
#include "dhcp_internal.h"
#include "../pkt/build.h"
#include "../pkt/pkt.h"
#include "../pkt/wire.h"

#include <string.h>

enum {
	UDP_IP_HEADERS = PKT_IP_MIN + PKT_UDP_HLEN,
	MTU = 1500,
	MSG_OUT_MAX = MTU - UDP_IP_HEADERS,
};

const uint8_t dhcp_mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Small helpers ------------------------------------------------------------- */

static uint32_t get_addr(const uint8_t *b)
{
	uint32_t a;

	memcpy(&a, b, 4);
	return a;
}

uint32_t dhcp_get32(const uint8_t *b)
{
	return (uint32_t)wire_get16(b) << 16 | wire_get16(b + 2);
}

static void put32(uint8_t *b, uint32_t v)
{
	wire_put16(b, (uint16_t)(v >> 16));
	wire_put16(b + 2, (uint16_t)v);
}

/* IEEE 802: the group bit is the low bit of the first byte. */
bool dhcp_mac_unicast(const uint8_t *m)
{
	static const uint8_t zero[6];

	return !(m[0] & 1) && memcmp(m, zero, PKT_MAC_LEN) != 0;
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
	if (dhcp_get32(b + DHCP_COOKIE) != DHCP_MAGIC)
		return DHCP_DROP_BAD_COOKIE;
	if (get_addr(b + DHCP_GIADDR))
		return DHCP_DROP_RELAYED;
	m->htype = b[DHCP_HTYPE];
	m->hlen = b[DHCP_HLEN];
	memcpy(m->xid, b + DHCP_XID, 4);
	m->flags = wire_get16(b + DHCP_FLAGS);
	m->ciaddr = get_addr(b + DHCP_CIADDR);
	memcpy(m->chaddr, b + DHCP_CHADDR, DHCP_CHADDR_LEN);
	if (!dhcp_mac_unicast(m->chaddr))
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
		memcpy(mac, dhcp_mac_broadcast, PKT_MAC_LEN);
	}
}

/* The reply of @type to @m (RFC 2131 4.3.1 Table 3 for the fields and
 * options), as a whole frame in @out. Options by priority, should @m's
 * option 57 leave too little room: 53, 54, lease times, 1, 3, 6, 61, 15. */
size_t dhcp_build_reply(struct dhcp_server *s, const struct dhcp_msg *m, uint8_t type,
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
	return n ? n : dhcp_dropped(s, DHCP_DROP_NO_ROOM);
}
