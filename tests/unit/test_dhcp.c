/* test_dhcp.c - the DHCP server: client messages built here, replies parsed
 * back (pkt_parse() checks the IPv4/UDP part and every checksum), for DORA,
 * reply addressing (RFC 2131 4.1), the REQUEST states (RFC 2131 4.3.2),
 * RELEASE, DECLINE, reservations, exhaustion, ARP probing, rate limits, the
 * lease file (round trip, corrupt file), malformed input, host names. */
#include "test.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/router/arp.h"
#include "../../src/svc/dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	BUF = 2048,
	SEC = 1000,
	OPT_MAX = 64, /* bytes of each reply option kept by parse_reply() */
};

#define T0 1700000000000ull /* wall clock ms: Nov 2023 */

static const uint8_t srv_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define SRV    pkt_ipv4(192, 168, 137, 1)
#define NET(x) pkt_ipv4(192, 168, 137, x)

static void mac_n(uint8_t mac[6], unsigned n)
{
	const uint8_t m[6] = {0x02, 0xaa, 0, 0, (uint8_t)(n >> 8), (uint8_t)n};

	memcpy(mac, m, 6);
}

/* A client message to build. Zero means "absent" for the options. */
struct cmsg {
	uint8_t type;
	uint8_t mac[6];
	uint32_t xid;
	uint16_t flags;
	uint32_t ciaddr;
	uint32_t requested;
	uint32_t server_id;
	const uint8_t *cid;
	uint8_t cid_len;
	const char *host;
	uint32_t ip_dst; /* 0: 255.255.255.255 */
	uint16_t vlan;
};

/* Wrap @n bytes of BOOTP message into a frame from @mac, 68 -> 67. */
static size_t wrap(uint8_t *buf, const uint8_t *payload, size_t n, const uint8_t *mac,
		   uint32_t saddr, uint32_t daddr, uint16_t vlan)
{
	struct pkt_spec sp;

	memset(&sp, 0, sizeof(sp));
	memcpy(sp.src_mac, mac, 6);
	memcpy(sp.dst_mac, daddr == SRV ? srv_mac : bcast, 6);
	sp.vlan_tci = vlan;
	sp.saddr = saddr;
	sp.daddr = daddr ? daddr : 0xffffffffu;
	sp.proto = PKT_PROTO_UDP;
	sp.sport = DHCP_CLIENT_PORT;
	sp.dport = DHCP_SERVER_PORT;
	sp.payload = payload;
	sp.payload_len = (uint16_t)n;
	return pkt_build(buf, BUF, &sp);
}

static void put_opt(uint8_t *msg, size_t *n, uint8_t code, const void *v, size_t len)
{
	msg[(*n)++] = code;
	msg[(*n)++] = (uint8_t)len;
	memcpy(msg + *n, v, len);
	*n += len;
}

/* The fixed part of a BOOTREQUEST from @mac, cookie included. */
static void bootp_head(uint8_t *msg, const uint8_t *mac, uint32_t xid, uint16_t flags,
		       uint32_t ciaddr)
{
	memset(msg, 0, DHCP_OPTIONS);
	msg[DHCP_OP] = DHCP_BOOTREQUEST;
	msg[DHCP_HTYPE] = DHCP_HTYPE_ETHER;
	msg[DHCP_HLEN] = DHCP_HLEN_ETHER;
	msg[DHCP_XID] = (uint8_t)(xid >> 24);
	msg[DHCP_XID + 1] = (uint8_t)(xid >> 16);
	msg[DHCP_XID + 2] = (uint8_t)(xid >> 8);
	msg[DHCP_XID + 3] = (uint8_t)xid;
	msg[DHCP_FLAGS] = (uint8_t)(flags >> 8);
	memcpy(msg + DHCP_CIADDR, &ciaddr, 4);
	memcpy(msg + DHCP_CHADDR, mac, 6);
	msg[DHCP_COOKIE] = 99;
	msg[DHCP_COOKIE + 1] = 130;
	msg[DHCP_COOKIE + 2] = 83;
	msg[DHCP_COOKIE + 3] = 99;
}

static size_t client_frame(uint8_t *buf, const struct cmsg *c)
{
	uint8_t msg[600];
	size_t n = DHCP_OPTIONS;

	memset(msg, 0, sizeof(msg));
	bootp_head(msg, c->mac, c->xid, c->flags, c->ciaddr);
	put_opt(msg, &n, DHCP_OPT_MSG_TYPE, &c->type, 1);
	if (c->requested)
		put_opt(msg, &n, DHCP_OPT_REQUESTED_ADDR, &c->requested, 4);
	if (c->server_id)
		put_opt(msg, &n, DHCP_OPT_SERVER_ID, &c->server_id, 4);
	if (c->cid)
		put_opt(msg, &n, DHCP_OPT_CLIENT_ID, c->cid, c->cid_len);
	if (c->host)
		put_opt(msg, &n, DHCP_OPT_HOSTNAME, c->host, strlen(c->host));
	msg[n++] = DHCP_OPT_END;
	if (n < DHCP_BOOTP_LEN)
		n = DHCP_BOOTP_LEN;
	return wrap(buf, msg, n, c->mac, c->ciaddr, c->ip_dst, c->vlan);
}

/* The server address replies must come from (one test moves it). */
static uint32_t reply_from; /* 0: SRV */

/* A reply, parsed. */
struct reply {
	struct pkt p;
	uint8_t type;
	uint16_t flags;
	uint32_t ciaddr, yiaddr;
	size_t bootp_len;
	bool has[256];
	uint8_t olen[256];
	uint8_t opt[256][OPT_MAX];
};

/* Parse and check what every reply must be: valid IPv4/UDP with right
 * checksums, server_addr:67 -> :68 from server_mac, TTL 64, a BOOTREPLY of
 * at least 300 bytes with the cookie, options well formed and ended. */
static bool parse_reply(uint8_t *frame, size_t len, struct reply *r)
{
	const uint8_t *b;
	size_t n, i = DHCP_OPTIONS;

	memset(r, 0, sizeof(*r));
	if (!CHECK_EQ(pkt_parse(&r->p, frame, (uint16_t)len, (uint16_t)len), PKT_OK))
		return false;
	CHECK(pkt_checksums_ok(&r->p));
	CHECK_EQ(r->p.proto, PKT_PROTO_UDP);
	CHECK_EQ(r->p.sport, DHCP_SERVER_PORT);
	CHECK_EQ(r->p.dport, DHCP_CLIENT_PORT);
	CHECK_EQ(r->p.saddr, reply_from ? reply_from : SRV);
	CHECK_EQ(r->p.ttl, 64);
	CHECK(!memcmp(frame + PKT_ETH_SRC, srv_mac, 6));
	b = frame + r->p.l4_off + PKT_UDP_HLEN;
	n = (size_t)r->p.l4_len - PKT_UDP_HLEN;
	r->bootp_len = n;
	CHECK(n >= DHCP_BOOTP_LEN);
	CHECK_EQ(b[DHCP_OP], DHCP_BOOTREPLY);
	CHECK_EQ(b[DHCP_COOKIE], 99);
	r->flags = (uint16_t)(b[DHCP_FLAGS] << 8 | b[DHCP_FLAGS + 1]);
	memcpy(&r->ciaddr, b + DHCP_CIADDR, 4);
	memcpy(&r->yiaddr, b + DHCP_YIADDR, 4);
	while (i < n && b[i] != DHCP_OPT_END) {
		uint8_t code = b[i], l;

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (!CHECK(i + 2 <= n && i + 2 + b[i + 1] <= n))
			return false;
		l = b[i + 1];
		r->has[code] = true;
		r->olen[code] = l;
		memcpy(r->opt[code], b + i + 2, l < OPT_MAX ? l : OPT_MAX);
		i += 2 + (size_t)l;
	}
	CHECK(i < n); /* an end option */
	if (r->has[DHCP_OPT_MSG_TYPE])
		r->type = r->opt[DHCP_OPT_MSG_TYPE][0];
	return true;
}

static uint32_t opt_addr(const struct reply *r, uint8_t code)
{
	uint32_t a = 0;

	if (r->has[code] && r->olen[code] == 4)
		memcpy(&a, r->opt[code], 4);
	return a;
}

static uint32_t opt_u32(const struct reply *r, uint8_t code)
{
	const uint8_t *v = r->opt[code];

	if (!r->has[code] || r->olen[code] != 4)
		return 0;
	return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
}

static void base_cfg(struct dhcp_config *cfg)
{
	dhcp_config_default(cfg);
	memcpy(cfg->server_mac, srv_mac, 6);
	cfg->probe_ms = 0;
	cfg->rate_per_mac = 0;
	cfg->rate_global = 0;
	cfg->rate_new = 0;
}

static struct dhcp_server *make(const struct dhcp_config *cfg, uint64_t now)
{
	struct dhcp_server *s = NULL;
	const char *why = NULL;
	char warning[256];

	CHECK_EQ(dhcp_create(cfg, now, &s, &why, warning, sizeof(warning)), 0);
	CHECK_EQ(warning[0], 0);
	return s;
}

static struct dhcp_server *server(void)
{
	struct dhcp_config cfg;

	base_cfg(&cfg);
	return make(&cfg, T0);
}

static uint64_t drops(const struct dhcp_server *s, enum dhcp_drop r)
{
	return dhcp_counters(s)->drop[r];
}

/* Send @c at @now; parse the reply into @r (may be NULL). Returns its length. */
static size_t send_msg(struct dhcp_server *s, const struct cmsg *c, uint64_t now, struct reply *r)
{
	static uint8_t in[BUF], out[BUF];
	static struct reply scratch;
	size_t n = client_frame(in, c), len;

	CHECK(n > 0);
	len = dhcp_input(s, in, n, now, out, sizeof(out));
	if (len)
		parse_reply(out, len, r ? r : &scratch);
	return len;
}

static struct cmsg msg_of(uint8_t type, unsigned client)
{
	struct cmsg c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	mac_n(c.mac, client);
	c.xid = 0x1000 + client;
	return c;
}

/* DISCOVER, OFFER, REQUEST, ACK for @client; its address (0 if none). */
static uint32_t dora(struct dhcp_server *s, unsigned client, uint64_t now)
{
	struct cmsg c = msg_of(DHCP_DISCOVER, client);
	struct reply r;

	if (!send_msg(s, &c, now, &r) || !CHECK_EQ(r.type, DHCP_OFFER))
		return 0;
	c.type = DHCP_REQUEST;
	c.requested = r.yiaddr;
	c.server_id = SRV;
	if (!send_msg(s, &c, now, &r) || !CHECK_EQ(r.type, DHCP_ACK))
		return 0;
	return r.yiaddr;
}

/* DORA and addressing ----------------------------------------------------------- */

TEST(dhcp_dora_full)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r;
	static uint8_t frame[BUF];

	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.type, DHCP_OFFER);
	CHECK_EQ(r.yiaddr, NET(2));
	CHECK_EQ(r.ciaddr, 0);
	CHECK_EQ(opt_addr(&r, DHCP_OPT_SERVER_ID), SRV);
	CHECK_EQ(opt_addr(&r, DHCP_OPT_SUBNET_MASK), pkt_ipv4(255, 255, 255, 0));
	CHECK_EQ(opt_addr(&r, DHCP_OPT_ROUTER), SRV);
	CHECK_EQ(opt_addr(&r, DHCP_OPT_DNS), SRV);
	CHECK_EQ(opt_u32(&r, DHCP_OPT_LEASE_TIME), 86400);
	CHECK_EQ(opt_u32(&r, DHCP_OPT_T1), 43200);
	CHECK_EQ(opt_u32(&r, DHCP_OPT_T2), 75600);
	CHECK(r.has[DHCP_OPT_DOMAIN] && r.olen[DHCP_OPT_DOMAIN] == 10 &&
	      !memcmp(r.opt[DHCP_OPT_DOMAIN], "mshome.net", 10));
	CHECK(!r.has[DHCP_OPT_CLIENT_ID]); /* none sent, none echoed */
	/* RFC 2131 4.1: no broadcast bit, no ciaddr: unicast to yiaddr at chaddr. */
	CHECK_EQ(r.p.daddr, NET(2));
	CHECK(!memcmp(r.p.data + PKT_ETH_DST, c.mac, 6));

	c.type = DHCP_REQUEST;
	c.requested = NET(2);
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0 + 10, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.yiaddr, NET(2));
	CHECK_EQ(opt_u32(&r, DHCP_OPT_LEASE_TIME), 86400);
	CHECK_EQ(r.p.daddr, NET(2));
	CHECK_EQ(dhcp_counters(s)->offers, 1);
	CHECK_EQ(dhcp_counters(s)->acks, 1);
	CHECK_EQ(dhcp_counters(s)->discovers, 1);
	CHECK_EQ(dhcp_counters(s)->requests, 1);
	/* Sanity of the parser on our own kind of frame. */
	{
		struct dhcp_msg m;
		size_t n = client_frame(frame, &c);

		CHECK_EQ(dhcp_parse(&m, frame, n), DHCP_OK);
		CHECK_EQ(m.type, DHCP_REQUEST);
		CHECK_EQ(m.requested, NET(2));
		CHECK_EQ(m.cid_len, 7);
	}
	dhcp_destroy(s);
}

TEST(dhcp_broadcast_flag_and_client_id_echo)
{
	struct dhcp_server *s = server();
	static const uint8_t cid[] = {0xff, 1, 2, 3, 4, 0, 1, 0, 1, 9};
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r;

	c.flags = DHCP_FLAG_BROADCAST;
	c.cid = cid;
	c.cid_len = sizeof(cid);
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.type, DHCP_OFFER);
	CHECK_EQ(r.p.daddr, 0xffffffffu);
	CHECK(!memcmp(r.p.data + PKT_ETH_DST, bcast, 6));
	CHECK_EQ(r.flags, DHCP_FLAG_BROADCAST);
	/* RFC 6842: option 61 echoed unmodified. */
	CHECK(r.has[DHCP_OPT_CLIENT_ID] && r.olen[DHCP_OPT_CLIENT_ID] == sizeof(cid) &&
	      !memcmp(r.opt[DHCP_OPT_CLIENT_ID], cid, sizeof(cid)));
	dhcp_destroy(s);
}

TEST(dhcp_vlan_tag_kept)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r;

	c.vlan = 42;
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK(r.p.flags & PKT_F_VLAN);
	CHECK_EQ(r.p.vlan_tci, 42);
	CHECK_EQ(r.type, DHCP_OFFER);
	dhcp_destroy(s);
}

TEST(dhcp_two_clients_distinct_then_same_again)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0), b = dora(s, 2, T0);

	CHECK_EQ(a, NET(2));
	CHECK_EQ(b, NET(3));
	CHECK_EQ(dora(s, 1, T0 + SEC), a);
	CHECK_EQ(dora(s, 2, T0 + SEC), b);
	dhcp_destroy(s);
}

TEST(dhcp_many_clients_never_share)
{
	struct dhcp_server *s = server();
	static uint32_t got[253];

	for (unsigned i = 0; i < 253; i++) {
		got[i] = dora(s, i + 1, T0 + i);
		CHECK(got[i] != 0 && got[i] != SRV);
		for (unsigned j = 0; j < i; j++)
			if (!CHECK(got[i] != got[j]))
				break;
	}
	/* Everyone again, in reverse: same addresses. */
	for (unsigned i = 253; i-- > 0;)
		CHECK_EQ(dora(s, i + 1, T0 + 10 * SEC), got[i]);
	dhcp_destroy(s);
}

/* REQUEST states (RFC 2131 4.3.2) ------------------------------------------------ */

TEST(dhcp_init_reboot_ack_nak_silent)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0);
	struct cmsg c = msg_of(DHCP_REQUEST, 1);
	struct reply r;

	c.requested = a; /* its own: ACK */
	CHECK(send_msg(s, &c, T0 + SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.yiaddr, a);

	c.requested = NET(77); /* not its: NAK, broadcast */
	CHECK(send_msg(s, &c, T0 + SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_NAK);
	CHECK_EQ(r.yiaddr, 0);
	CHECK_EQ(r.p.daddr, 0xffffffffu);
	CHECK(!memcmp(r.p.data + PKT_ETH_DST, bcast, 6));
	CHECK(!r.has[DHCP_OPT_LEASE_TIME]);
	CHECK_EQ(opt_addr(&r, DHCP_OPT_SERVER_ID), SRV);

	c.requested = pkt_ipv4(10, 0, 0, 5); /* wrong network: NAK */
	CHECK(send_msg(s, &c, T0 + SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_NAK);

	c = msg_of(DHCP_REQUEST, 9); /* no record of client 9: silent */
	c.requested = NET(50);
	CHECK_EQ(send_msg(s, &c, T0 + SEC, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_NO_RECORD), 1);

	c.requested = a; /* client 9 asks for client 1's address: NAK */
	CHECK(send_msg(s, &c, T0 + SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_NAK);

	c = msg_of(DHCP_REQUEST, 9); /* no option 50 */
	CHECK_EQ(send_msg(s, &c, T0 + SEC, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_NO_REQUESTED_ADDR), 1);
	CHECK_EQ(dhcp_counters(s)->naks, 3);
	dhcp_destroy(s);
}

TEST(dhcp_renew_and_rebind)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0), b = dora(s, 2, T0);
	struct cmsg c = msg_of(DHCP_REQUEST, 1);
	struct reply r;
	uint8_t out[BUF];

	/* RENEWING: unicast to us, ciaddr set: ACK unicast to ciaddr. */
	c.ciaddr = a;
	c.ip_dst = SRV;
	CHECK(send_msg(s, &c, T0 + 43200 * (uint64_t)SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.yiaddr, a);
	CHECK_EQ(r.ciaddr, a);
	CHECK_EQ(r.p.daddr, a);
	CHECK(!memcmp(r.p.data + PKT_ETH_DST, c.mac, 6));

	/* REBINDING: broadcast, ciaddr set: ACK, unicast to ciaddr. */
	c.ip_dst = 0;
	CHECK(send_msg(s, &c, T0 + 80000 * (uint64_t)SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.p.daddr, a);

	/* Renewing another client's address: NAK. */
	c.ciaddr = b;
	c.ip_dst = SRV;
	CHECK(send_msg(s, &c, T0 + 80000 * (uint64_t)SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_NAK);

	/* Rebinding an address of another network: not ours to judge. */
	c.ciaddr = pkt_ipv4(10, 1, 1, 1);
	c.ip_dst = 0;
	CHECK_EQ(send_msg(s, &c, T0 + 80000 * (uint64_t)SEC, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_NO_RECORD), 1);
	/* After the first day only the renewed lease is still bound. */
	dhcp_poll(s, T0 + 86401 * (uint64_t)SEC, out, sizeof(out));
	CHECK_EQ(dhcp_counters(s)->bound, 1);
	dhcp_destroy(s);
}

TEST(dhcp_nak_when_selected_address_taken)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0);
	struct cmsg c = msg_of(DHCP_REQUEST, 2);
	struct reply r;

	c.requested = a;
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.type, DHCP_NAK);
	CHECK_EQ(r.p.daddr, 0xffffffffu);
	dhcp_destroy(s);
}

TEST(dhcp_other_server_chosen_withdraws_offer)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r;

	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.yiaddr, NET(2));
	c.type = DHCP_REQUEST;
	c.requested = pkt_ipv4(10, 0, 0, 9);
	c.server_id = pkt_ipv4(10, 0, 0, 1);
	CHECK_EQ(send_msg(s, &c, T0 + 1, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_OTHER_SERVER), 1);
	/* .2 is no longer kept for client 1: client 2 may have it. */
	c = msg_of(DHCP_DISCOVER, 2);
	c.requested = NET(2);
	CHECK(send_msg(s, &c, T0 + 2, &r) > 0);
	CHECK_EQ(r.yiaddr, NET(2));
	dhcp_destroy(s);
}

TEST(dhcp_offer_is_kept_for_its_client)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r;

	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.yiaddr, NET(2));
	c = msg_of(DHCP_DISCOVER, 2); /* asks for .2 while it is offered to 1 */
	c.requested = NET(2);
	CHECK(send_msg(s, &c, T0 + 1, &r) > 0);
	CHECK_EQ(r.yiaddr, NET(3));
	dhcp_destroy(s);
}

TEST(dhcp_inform_gets_parameters_only)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_INFORM, 1);
	struct reply r;

	c.ciaddr = NET(200);
	c.ip_dst = SRV;
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.yiaddr, 0);
	CHECK_EQ(r.ciaddr, NET(200));
	CHECK_EQ(r.p.daddr, NET(200));
	CHECK(!r.has[DHCP_OPT_LEASE_TIME]); /* RFC 2131 4.3.5 */
	CHECK_EQ(opt_addr(&r, DHCP_OPT_ROUTER), SRV);
	CHECK_EQ(dhcp_counters(s)->informs, 1);
	dhcp_destroy(s);
}

/* RELEASE, DECLINE, reservations, exhaustion -------------------------------------- */

TEST(dhcp_release_then_same_client_same_address)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0);
	struct cmsg c = msg_of(DHCP_RELEASE, 1);

	c.ciaddr = a;
	c.server_id = SRV;
	c.ip_dst = SRV;
	CHECK_EQ(send_msg(s, &c, T0 + SEC, NULL), 0);
	CHECK_EQ(dhcp_counters(s)->releases, 1);
	CHECK_EQ(send_msg(s, &c, T0 + SEC, NULL), 0); /* again: nothing bound */
	CHECK_EQ(drops(s, DHCP_DROP_RELEASE_IGNORED), 1);
	/* A new client gets a never-used address, not the remembered one. */
	CHECK_EQ(dora(s, 2, T0 + 2 * SEC), NET(3));
	CHECK_EQ(dora(s, 1, T0 + 3 * SEC), a);
	dhcp_destroy(s);
}

TEST(dhcp_release_by_another_client_ignored)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0);
	struct cmsg c = msg_of(DHCP_RELEASE, 2);
	uint32_t got;

	c.ciaddr = a;
	CHECK_EQ(send_msg(s, &c, T0 + SEC, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_RELEASE_IGNORED), 1);
	CHECK_EQ(dhcp_lookup_name(s, "x", T0, &got), -ENOENT);
	CHECK_EQ(dora(s, 2, T0 + SEC), NET(3));
	dhcp_destroy(s);
}

TEST(dhcp_decline_holds_address)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0);
	struct cmsg c = msg_of(DHCP_DECLINE, 1);

	CHECK_EQ(a, NET(2));
	c.requested = a;
	c.server_id = SRV;
	CHECK_EQ(send_msg(s, &c, T0 + SEC, NULL), 0);
	CHECK_EQ(dhcp_counters(s)->declines, 1);
	CHECK_EQ(dora(s, 1, T0 + 2 * SEC), NET(3)); /* a different address */
	CHECK_EQ(dora(s, 2, T0 + 3 * SEC), NET(4)); /* .2 is on hold for everyone */
	/* A DECLINE from a client the address is not given to: ignored. */
	c = msg_of(DHCP_DECLINE, 3);
	c.requested = NET(3);
	CHECK_EQ(send_msg(s, &c, T0 + 3 * SEC, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_DECLINE_IGNORED), 1);
	/* The hold ends after a minute. */
	CHECK_EQ(dora(s, 5, T0 + SEC + DHCP_HOLD_MS + 1), NET(2));
	dhcp_destroy(s);
}

TEST(dhcp_reservation_by_mac)
{
	struct dhcp_config cfg;
	struct dhcp_server *s;
	struct cmsg c;
	struct reply r;

	base_cfg(&cfg);
	cfg.pool_last = NET(100);
	cfg.n_reserved = 2;
	mac_n(cfg.reserved[0].mac, 7);
	cfg.reserved[0].addr = NET(2); /* inside the pool */
	mac_n(cfg.reserved[1].mac, 8);
	cfg.reserved[1].addr = NET(200); /* outside it */
	s = make(&cfg, T0);
	CHECK_EQ(dora(s, 1, T0), NET(3)); /* .2 is someone else's */
	CHECK_EQ(dora(s, 7, T0), NET(2));
	CHECK_EQ(dora(s, 8, T0), NET(200));
	/* Asking for a reserved address does not get it. */
	c = msg_of(DHCP_DISCOVER, 9);
	c.requested = NET(200);
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.yiaddr, NET(4));
	c = msg_of(DHCP_REQUEST, 9);
	c.requested = NET(200);
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(r.type, DHCP_NAK);
	dhcp_destroy(s);
}

TEST(dhcp_pool_exhaustion)
{
	struct dhcp_config cfg;
	struct dhcp_server *s;
	struct cmsg c = msg_of(DHCP_DISCOVER, 4);

	base_cfg(&cfg);
	cfg.pool_last = NET(4);
	s = make(&cfg, T0);
	CHECK_EQ(dora(s, 1, T0), NET(2));
	CHECK_EQ(dora(s, 2, T0), NET(3));
	CHECK_EQ(dora(s, 3, T0), NET(4));
	CHECK_EQ(send_msg(s, &c, T0, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_EXHAUSTED), 1);
	CHECK_EQ(dhcp_counters(s)->offers, 3);
	/* A lease expires: the longest-expired address is reused. */
	CHECK_EQ(dora(s, 4, T0 + 86401 * (uint64_t)SEC), NET(2));
	dhcp_destroy(s);
}

TEST(dhcp_client_id_is_the_identity)
{
	struct dhcp_server *s = server();
	static const uint8_t cid_a[] = {0, 'a', 'b'}, cid_b[] = {0, 'c', 'd'};
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r1, r2;

	c.cid = cid_a;
	c.cid_len = sizeof(cid_a);
	CHECK(send_msg(s, &c, T0, &r1) > 0);
	c.cid = cid_b; /* same MAC, another identifier: another client */
	CHECK(send_msg(s, &c, T0, &r2) > 0);
	CHECK(r1.yiaddr != r2.yiaddr);
	c = msg_of(DHCP_DISCOVER, 2); /* another MAC, identifier a: client a */
	c.cid = cid_a;
	c.cid_len = sizeof(cid_a);
	CHECK(send_msg(s, &c, T0, &r2) > 0);
	CHECK_EQ(r2.yiaddr, r1.yiaddr);
	dhcp_destroy(s);
}

/* Probing and the recent-use table ------------------------------------------------- */

static struct dhcp_server *probing_server(void)
{
	struct dhcp_config cfg;

	base_cfg(&cfg);
	cfg.probe_ms = 500;
	return make(&cfg, T0);
}

/* The next dhcp_poll() frame must be an ARP probe for @addr. */
static void expect_probe(struct dhcp_server *s, uint64_t now, uint32_t addr)
{
	uint8_t out[BUF];
	struct arp_msg a;
	size_t n = dhcp_poll(s, now, out, sizeof(out));

	if (!CHECK(n > 0) || !CHECK_EQ(arp_parse(&a, out, n), ARP_OK))
		return;
	CHECK_EQ(a.op, ARP_OP_REQUEST);
	CHECK_EQ(a.spa, SRV);
	CHECK(!memcmp(a.sha, srv_mac, 6));
	CHECK_EQ(a.tpa, addr);
	CHECK(!memcmp(a.eth_dst, bcast, 6));
}

TEST(dhcp_probe_unanswered_then_offer)
{
	struct dhcp_server *s = probing_server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	uint8_t out[BUF];
	struct reply r;
	size_t n;

	CHECK_EQ(send_msg(s, &c, T0, NULL), 0);
	CHECK_EQ(dhcp_counters(s)->pending, 1);
	expect_probe(s, T0, NET(2));
	CHECK_EQ(dhcp_poll(s, T0 + 100, out, sizeof(out)), 0);
	c.xid = 0x77; /* retransmitted meanwhile: the OFFER answers the latest */
	CHECK_EQ(send_msg(s, &c, T0 + 200, NULL), 0);
	CHECK_EQ(dhcp_poll(s, T0 + 499, out, sizeof(out)), 0);
	n = dhcp_poll(s, T0 + 500, out, sizeof(out));
	CHECK(n > 0);
	if (n && parse_reply(out, n, &r)) {
		CHECK_EQ(r.type, DHCP_OFFER);
		CHECK_EQ(r.yiaddr, NET(2));
		CHECK_EQ(out[r.p.l4_off + PKT_UDP_HLEN + DHCP_XID + 3], 0x77);
	}
	CHECK_EQ(dhcp_poll(s, T0 + 600, out, sizeof(out)), 0);
	CHECK_EQ(dhcp_counters(s)->pending, 0);
	CHECK_EQ(dhcp_counters(s)->probes_sent, 1);
	/* The client's REQUEST binds it; its next DISCOVER needs no probe. */
	c.type = DHCP_REQUEST;
	c.requested = NET(2);
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0 + 700, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	c = msg_of(DHCP_DISCOVER, 1);
	CHECK(send_msg(s, &c, T0 + 800, &r) > 0);
	CHECK_EQ(r.yiaddr, NET(2));
	dhcp_destroy(s);
}

TEST(dhcp_probe_conflict_moves_on)
{
	struct dhcp_server *s = probing_server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	uint8_t squatter[6] = {0x02, 0xbb, 0, 0, 0, 1}, out[BUF];
	struct reply r;
	size_t n;

	CHECK_EQ(send_msg(s, &c, T0, NULL), 0);
	expect_probe(s, T0, NET(2));
	/* The client itself answering is no conflict ... */
	dhcp_address_seen(s, NET(2), c.mac, T0 + 50);
	CHECK_EQ(dhcp_counters(s)->probe_conflicts, 0);
	/* ... another MAC is. */
	dhcp_address_seen(s, NET(2), squatter, T0 + 100);
	CHECK_EQ(dhcp_counters(s)->probe_conflicts, 1);
	expect_probe(s, T0 + 100, NET(3));
	CHECK_EQ(dhcp_poll(s, T0 + 599, out, sizeof(out)), 0);
	n = dhcp_poll(s, T0 + 600, out, sizeof(out));
	CHECK(n > 0);
	if (n && parse_reply(out, n, &r))
		CHECK_EQ(r.yiaddr, NET(3));
	/* .2 is held, and was seen from the squatter: nobody gets it. */
	c = msg_of(DHCP_DISCOVER, 2);
	c.requested = NET(2);
	CHECK_EQ(send_msg(s, &c, T0 + 700, NULL), 0);
	expect_probe(s, T0 + 700, NET(4));
	dhcp_destroy(s);
}

TEST(dhcp_recently_seen_address_not_offered)
{
	struct dhcp_server *s = server();
	uint8_t other[6] = {0x02, 0xbb, 0, 0, 0, 1};
	uint32_t a;

	dhcp_address_seen(s, NET(2), other, T0);
	CHECK_EQ(dhcp_counters(s)->arp_seen, 1);
	CHECK_EQ(dora(s, 1, T0 + SEC), NET(3));
	/* Once DHCP_RECENT_MS has passed without news, it is offered again. */
	a = dora(s, 2, T0 + DHCP_RECENT_MS + SEC);
	CHECK_EQ(a, NET(2));
	dhcp_destroy(s);
}

TEST(dhcp_pending_table_is_bounded)
{
	struct dhcp_server *s = probing_server();
	struct cmsg c;

	for (unsigned i = 0; i < DHCP_PENDING_MAX + 2; i++) {
		c = msg_of(DHCP_DISCOVER, i + 1);
		CHECK_EQ(send_msg(s, &c, T0, NULL), 0);
	}
	CHECK_EQ(dhcp_counters(s)->pending, DHCP_PENDING_MAX);
	CHECK_EQ(drops(s, DHCP_DROP_PENDING_FULL), 2);
	/* Every pending DISCOVER probes a different address. */
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++)
		expect_probe(s, T0, NET(2 + i));
	dhcp_destroy(s);
}

/* Rate limits ------------------------------------------------------------------------ */

TEST(dhcp_rate_limit_per_mac_and_global)
{
	struct dhcp_config cfg;
	struct dhcp_server *s;
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);

	base_cfg(&cfg);
	cfg.rate_per_mac = 2;
	cfg.rate_global = 5;
	s = make(&cfg, T0);
	CHECK(send_msg(s, &c, T0, NULL) > 0);
	CHECK(send_msg(s, &c, T0, NULL) > 0);
	CHECK_EQ(send_msg(s, &c, T0, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_RATE_MAC), 1);
	CHECK(send_msg(s, &c, T0 + 500, NULL) > 0); /* one token back after 0.5 s */
	/* Other MACs: the global bucket of new clients (5) runs out; client 1,
	 * known since its OFFER, took only its first DISCOVER from it. */
	for (unsigned i = 2; i < 9; i++) {
		c = msg_of(DHCP_DISCOVER, i);
		send_msg(s, &c, T0 + 500, NULL);
	}
	CHECK_EQ(drops(s, DHCP_DROP_RATE_GLOBAL), 2);
	/* Client 1 is served from the known clients' bucket meanwhile. */
	c = msg_of(DHCP_DISCOVER, 1);
	CHECK(send_msg(s, &c, T0 + 1000, NULL) > 0);
	c = msg_of(DHCP_DISCOVER, 9);
	CHECK(send_msg(s, &c, T0 + 2 * SEC, NULL) > 0);
	/* A clock stepping back refills nothing, and breaks nothing. */
	CHECK_EQ(send_msg(s, &c, T0, NULL) > 0, 1);
	dhcp_destroy(s);
}

/* Malformed input --------------------------------------------------------------------- */

/* A DISCOVER from client 1 with @opts (@n bytes) as its whole options field. */
static size_t with_options(uint8_t *buf, const uint8_t *opts, size_t n, size_t total)
{
	uint8_t msg[600], mac[6];

	mac_n(mac, 1);
	memset(msg, 0, sizeof(msg));
	bootp_head(msg, mac, 1, 0, 0);
	memcpy(msg + DHCP_OPTIONS, opts, n);
	return wrap(buf, msg, total ? total : DHCP_OPTIONS + n, mac, 0, 0, 0);
}

static void expect_drop(const uint8_t *frame, size_t n, enum dhcp_drop why)
{
	struct dhcp_server *s = server();
	uint8_t *copy = malloc(n ? n : 1), out[BUF];
	struct dhcp_msg m;

	memcpy(copy, frame, n); /* exact size: ASan sees any overread */
	CHECK_EQ(dhcp_input(s, copy, n, T0, out, sizeof(out)), 0);
	if (!CHECK_EQ(drops(s, why), 1))
		printf("  expected drop %s\n", dhcp_drop_name(why));
	CHECK_EQ(dhcp_parse(&m, copy, n),
		 why == DHCP_DROP_ETH_DST || why == DHCP_DROP_IP_DST ? DHCP_OK : why);
	free(copy);
	dhcp_destroy(s);
}

TEST(dhcp_malformed_options_dropped)
{
	static uint8_t f[BUF];
	const uint8_t truncated[] = {53, 1, 1, 61, 10, 1, 2},	    /* 61 runs past the end */
	    no_len[] = {53, 1, 1, 12},				    /* code, no length */
	    bad_type_len[] = {53, 2, 1, 1, 255},		    /* 53 must be 1 byte */
	    no_type[] = {12, 2, 'h', 'i', 255},			    /* no option 53 */
	    server_type[] = {53, 1, DHCP_OFFER, 255},		    /* servers send that */
	    unknown_type[] = {53, 1, 42, 255},			    /* no such type */
	    short_cid[] = {53, 1, 1, 61, 1, 1, 255},		    /* 61 below 2 bytes */
	    overload_bad[] = {53, 1, 1, 52, 1, 4, 255},		    /* 52 value 4 */
	    overload_twice[] = {53, 1, 1, 52, 1, 1, 52, 1, 2, 255}, /* 52 twice */
	    long_cid_head[] = {53, 1, 1, 61, 65};

	expect_drop(f, with_options(f, truncated, sizeof(truncated), 0),
		    DHCP_DROP_TRUNCATED_OPTION);
	expect_drop(f, with_options(f, no_len, sizeof(no_len), 0), DHCP_DROP_TRUNCATED_OPTION);
	expect_drop(f, with_options(f, bad_type_len, sizeof(bad_type_len), 0),
		    DHCP_DROP_BAD_OPTION);
	expect_drop(f, with_options(f, no_type, sizeof(no_type), 0), DHCP_DROP_NO_MSG_TYPE);
	expect_drop(f, with_options(f, server_type, sizeof(server_type), 0),
		    DHCP_DROP_BAD_MSG_TYPE);
	expect_drop(f, with_options(f, unknown_type, sizeof(unknown_type), 0),
		    DHCP_DROP_BAD_MSG_TYPE);
	expect_drop(f, with_options(f, short_cid, sizeof(short_cid), 0), DHCP_DROP_BAD_OPTION);
	expect_drop(f, with_options(f, overload_bad, sizeof(overload_bad), 0),
		    DHCP_DROP_BAD_OVERLOAD);
	expect_drop(f, with_options(f, overload_twice, sizeof(overload_twice), 0),
		    DHCP_DROP_BAD_OVERLOAD);
	{
		uint8_t o[80] = {0};

		memcpy(o, long_cid_head, sizeof(long_cid_head));
		o[5 + 65] = 255;
		expect_drop(f, with_options(f, o, 5 + 65 + 1, 0), DHCP_DROP_CLIENT_ID_LONG);
	}
}

/* Option 52 pointing at fields whose own option 52 points back: each field
 * is walked once, the nested 52 is refused, nothing loops. */
TEST(dhcp_overload_loop_dropped)
{
	static uint8_t f[BUF];
	uint8_t msg[600], mac[6];
	const size_t n = DHCP_OPTIONS;

	mac_n(mac, 1);
	memset(msg, 0, sizeof(msg));
	bootp_head(msg, mac, 1, 0, 0);
	memcpy(msg + n, (uint8_t[]){DHCP_OPT_OVERLOAD, 1, DHCP_OVERLOAD_BOTH, DHCP_OPT_END}, 4);
	/* file: 52 = sname; sname: 52 = file */
	memcpy(msg + DHCP_FILE, (uint8_t[]){52, 1, 2, 255}, 4);
	memcpy(msg + DHCP_SNAME, (uint8_t[]){52, 1, 1, 255}, 4);
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_BAD_OVERLOAD);
	/* An option running past the end of the file field. */
	memset(msg + DHCP_SNAME, 0, DHCP_SNAME_LEN + DHCP_FILE_LEN);
	msg[DHCP_FILE + DHCP_FILE_LEN - 2] = 12;
	msg[DHCP_FILE + DHCP_FILE_LEN - 1] = 5;
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_TRUNCATED_OPTION);
}

TEST(dhcp_overloaded_options_are_read)
{
	struct dhcp_server *s = server();
	static uint8_t f[BUF], out[BUF];
	uint8_t msg[600], mac[6];
	struct reply r;
	const size_t n = DHCP_OPTIONS;
	size_t len;

	mac_n(mac, 1);
	memset(msg, 0, sizeof(msg));
	bootp_head(msg, mac, 1, 0, 0);
	memcpy(msg + n, (uint8_t[]){DHCP_OPT_OVERLOAD, 1, DHCP_OVERLOAD_BOTH, DHCP_OPT_END}, 4);
	/* Message type in file, host name in sname. */
	memcpy(msg + DHCP_FILE, (uint8_t[]){53, 1, DHCP_DISCOVER, 255}, 4);
	memcpy(msg + DHCP_SNAME, (uint8_t[]){12, 2, 'p', 'c', 255}, 5);
	len = dhcp_input(s, f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), T0, out, sizeof(out));
	CHECK(len > 0);
	if (len && parse_reply(out, len, &r))
		CHECK_EQ(r.type, DHCP_OFFER);
	dhcp_destroy(s);
}

TEST(dhcp_malformed_headers_dropped)
{
	static uint8_t f[BUF];
	uint8_t msg[600], mac[6];
	const uint8_t opts[] = {53, 1, 1, 255};
	size_t n;

	mac_n(mac, 1);
	/* Short: 239 bytes of BOOTP. */
	expect_drop(f, with_options(f, opts, 0, DHCP_MIN_LEN - 1), DHCP_DROP_SHORT);
	/* Bad cookie. */
	n = with_options(f, opts, sizeof(opts), 0);
	f[PKT_ETH_LEN + 28 + DHCP_COOKIE] = 98;
	f[PKT_ETH_LEN + 26] = f[PKT_ETH_LEN + 27] = 0; /* UDP checksum: none */
	expect_drop(f, n, DHCP_DROP_BAD_COOKIE);
	/* op, htype, giaddr, chaddr, ciaddr: each one field off. */
	memset(msg, 0, sizeof(msg));
	bootp_head(msg, mac, 1, 0, 0);
	memcpy(msg + DHCP_OPTIONS, opts, sizeof(opts));
	msg[DHCP_OP] = DHCP_BOOTREPLY;
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_NOT_REQUEST);
	msg[DHCP_OP] = DHCP_BOOTREQUEST;
	msg[DHCP_HLEN] = 16;
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_HTYPE);
	msg[DHCP_HLEN] = 6;
	msg[DHCP_GIADDR] = 10;
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_RELAYED);
	msg[DHCP_GIADDR] = 0;
	msg[DHCP_CHADDR] = 0x01; /* a group address */
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_BAD_CHADDR);
	msg[DHCP_CHADDR] = mac[0];
	memset(msg + DHCP_CIADDR, 0xff, 4);
	expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, 0, 0), DHCP_DROP_BAD_CIADDR);
}

TEST(dhcp_malformed_frames_dropped)
{
	static uint8_t f[BUF];
	const uint8_t opts[] = {53, 1, 1, 255};
	struct pkt_spec sp;
	size_t n = with_options(f, opts, sizeof(opts), 0);
	size_t ip = PKT_ETH_LEN, udp = PKT_ETH_LEN + PKT_IP_MIN;

	expect_drop(f, 10, DHCP_DROP_ETH_TRUNCATED);
	expect_drop(f, PKT_ETH_LEN + 10, DHCP_DROP_IP_HEADER);
	/* The UDP length says more than the datagram holds. */
	f[udp + PKT_UDP_LEN] = 0x10;
	expect_drop(f, n, DHCP_DROP_UDP_LENGTH);
	n = with_options(f, opts, sizeof(opts), 0);
	f[udp + PKT_UDP_CSUM] ^= 0x55;
	expect_drop(f, n, DHCP_DROP_UDP_CHECKSUM);
	n = with_options(f, opts, sizeof(opts), 0);
	f[ip + PKT_IP_CSUM] ^= 0x55;
	expect_drop(f, n, DHCP_DROP_IP_CHECKSUM);
	n = with_options(f, opts, sizeof(opts), 0);
	f[ip + PKT_IP_TOTLEN] = 0x7f; /* beyond the frame */
	expect_drop(f, n, DHCP_DROP_IP_HEADER);
	/* ARP EtherType; a fragment; TCP; port 68; someone else's MAC. */
	n = with_options(f, opts, sizeof(opts), 0);
	f[PKT_ETH_TYPE + 1] = 0x06;
	expect_drop(f, n, DHCP_DROP_NOT_IPV4);
	memset(&sp, 0, sizeof(sp));
	memcpy(sp.src_mac, srv_mac, 6);
	sp.src_mac[5] = 9;
	memset(sp.dst_mac, 0xff, 6);
	sp.daddr = 0xffffffffu;
	sp.proto = PKT_PROTO_UDP;
	sp.dport = DHCP_SERVER_PORT;
	sp.sport = DHCP_CLIENT_PORT;
	sp.payload = opts;
	sp.payload_len = sizeof(opts);
	sp.more_frags = true;
	expect_drop(f, pkt_build(f, BUF, &sp), DHCP_DROP_IP_FRAGMENT);
	sp.more_frags = false;
	sp.proto = PKT_PROTO_TCP;
	expect_drop(f, pkt_build(f, BUF, &sp), DHCP_DROP_NOT_UDP);
	sp.proto = PKT_PROTO_UDP;
	sp.dport = DHCP_CLIENT_PORT;
	expect_drop(f, pkt_build(f, BUF, &sp), DHCP_DROP_NOT_PORT_67);
	n = with_options(f, opts, sizeof(opts), 0);
	f[PKT_ETH_DST] = 0x02; /* unicast to someone else */
	expect_drop(f, n, DHCP_DROP_ETH_DST);
	/* An IP destination that is not ours. */
	{
		uint8_t msg[600], mac[6];

		mac_n(mac, 1);
		memset(msg, 0, sizeof(msg));
		bootp_head(msg, mac, 1, 0, 0);
		memcpy(msg + DHCP_OPTIONS, opts, sizeof(opts));
		expect_drop(f, wrap(f, msg, DHCP_BOOTP_LEN, mac, 0, NET(99), 0), DHCP_DROP_IP_DST);
	}
}

TEST(dhcp_drop_names_complete)
{
	for (int r = 0; r < DHCP_DROP_COUNT; r++) {
		CHECK(dhcp_drop_name((enum dhcp_drop)r)[0] != '\0');
		CHECK(dhcp_drop_text((enum dhcp_drop)r)[0] != '\0');
	}
	CHECK(!strcmp(dhcp_drop_name(DHCP_DROP_SHORT), "SHORT"));
	CHECK(!strcmp(dhcp_drop_name(DHCP_DROP_COUNT), "?"));
}

/* Host names ------------------------------------------------------------------------ */

TEST(dhcp_hostname_lookups_both_ways)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	struct reply r;
	uint32_t addr = 0;
	char host[64], tiny[4];

	c.host = "My_Laptop.local";
	CHECK(send_msg(s, &c, T0, &r) > 0);
	/* Not bound yet: not known. */
	CHECK_EQ(dhcp_lookup_name(s, "my-laptop", T0, &addr), -ENOENT);
	c.type = DHCP_REQUEST;
	c.requested = r.yiaddr;
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(dhcp_lookup_name(s, "MY-LAPTOP", T0, &addr), 0);
	CHECK_EQ(addr, r.yiaddr);
	addr = 0;
	CHECK_EQ(dhcp_lookup_name(s, "my-laptop.mshome.net.", T0, &addr), 0);
	CHECK_EQ(addr, r.yiaddr);
	CHECK_EQ(dhcp_lookup_name(s, "my-laptop.example.com", T0, &addr), -ENOENT);
	CHECK_EQ(dhcp_lookup_name(s, "my-lapto", T0, &addr), -ENOENT);
	CHECK_EQ(dhcp_lookup_addr(s, r.yiaddr, T0, host, sizeof(host)), 0);
	CHECK(!strcmp(host, "my-laptop"));
	CHECK_EQ(dhcp_lookup_addr(s, r.yiaddr, T0, tiny, sizeof(tiny)), -ENOSPC);
	CHECK_EQ(dhcp_lookup_addr(s, NET(99), T0, host, sizeof(host)), -ENOENT);
	/* A second client claiming the name takes it. */
	c = msg_of(DHCP_REQUEST, 2);
	c.host = "my-laptop";
	c.requested = NET(3);
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0, &r) > 0);
	CHECK_EQ(dhcp_lookup_name(s, "my-laptop", T0, &addr), 0);
	CHECK_EQ(addr, NET(3));
	CHECK_EQ(dhcp_lookup_addr(s, NET(2), T0, host, sizeof(host)), -ENOENT);
	/* Expired: gone. */
	CHECK_EQ(dhcp_lookup_name(s, "my-laptop", T0 + 86401 * (uint64_t)SEC, &addr), -ENOENT);
	dhcp_destroy(s);
}

/* The lease file --------------------------------------------------------------------- */

static bool read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!CHECK(f != NULL))
		return;
	fputs(text, f);
	fclose(f);
}

TEST(dhcp_lease_file_round_trip)
{
	char dir[] = "/tmp/dhcp-test-XXXXXX", text[4096], path[64];
	struct dhcp_config cfg;
	struct dhcp_server *s;
	struct cmsg c = msg_of(DHCP_REQUEST, 1);
	struct reply r;
	uint32_t a, b, got = 0;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	base_cfg(&cfg);
	snprintf(cfg.lease_file, sizeof(cfg.lease_file), "%s/leases", dir);
	s = make(&cfg, T0);
	a = dora(s, 3, T0);
	c.host = "printer";
	c.requested = NET(7);
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0, &r) > 0); /* SELECTING .7 directly */
	CHECK_EQ(r.type, DHCP_ACK);
	b = r.yiaddr;
	CHECK_EQ(b, NET(7));
	CHECK(dhcp_counters(s)->lease_writes >= 3); /* create + two bindings */
	CHECK(read_file(cfg.lease_file, text, sizeof(text)));
	CHECK(!strncmp(text, "rssnat-dhcp-leases 1\n", 21));
	CHECK(strstr(text, "192.168.137.7 0102aa00000001 02:aa:00:00:00:01 1700086400 printer\n") !=
	      NULL);
	dhcp_destroy(s);

	/* A new server from the file: same clients, same addresses. */
	s = make(&cfg, T0 + 60 * SEC);
	CHECK_EQ(dhcp_counters(s)->leases_loaded, 2);
	CHECK_EQ(dhcp_lookup_name(s, "printer", T0 + 60 * SEC, &got), 0);
	CHECK_EQ(got, b);
	CHECK_EQ(dora(s, 9, T0 + 60 * SEC), NET(3)); /* .2 is client 3's */
	CHECK_EQ(dora(s, 3, T0 + 60 * SEC), a);
	CHECK_EQ(dora(s, 1, T0 + 60 * SEC), b);
	dhcp_destroy(s);

	/* A pool that shrank: the lease outside it is dropped, not an error. */
	cfg.pool_last = NET(5);
	s = make(&cfg, T0 + 120 * SEC);
	CHECK_EQ(dhcp_counters(s)->leases_skipped, 1);
	CHECK_EQ(dhcp_counters(s)->leases_loaded, 2);
	dhcp_destroy(s);
	snprintf(path, sizeof(path), "%s/leases", dir);
	unlink(path);
	rmdir(dir);
}

TEST(dhcp_lease_file_corrupt_set_aside)
{
	static const char *const bad[] = {
	    "garbage\n",
	    "",
	    "rssnat-dhcp-leases 1\n192.168.137.2 0102aa00000001 02:aa:00:00:00:01 17 x\n"
	    "192.168.137.2 0102aa00000002 02:aa:00:00:00:02 17 y\n", /* address twice */
	    "rssnat-dhcp-leases 1\n192.168.137.2 0102aa0000000 02:aa:00:00:00:01 17 x\n",
	    "rssnat-dhcp-leases 1\n192.168.137.2 0102aa00000001 02:aa:00:00:00 17 x\n",
	    "rssnat-dhcp-leases 1\n192.168.137.2 0102aa00000001 02:aa:00:00:00:01 -1 x\n",
	    "rssnat-dhcp-leases 1\n192.168.137.2 0102aa00000001 02:aa:00:00:00:01 17 Bad_Name\n",
	    "rssnat-dhcp-leases 1\n192.168.137.2  0102aa00000001 02:aa:00:00:00:01 17 x\n",
	    "rssnat-dhcp-leases 1\n192.168.137.256 0102aa00000001 02:aa:00:00:00:01 17 x\n",
	    "rssnat-dhcp-leases 2\n",
	};
	char dir[] = "/tmp/dhcp-test-XXXXXX", path[128], aside[160], warning[512], text[256];
	struct dhcp_config cfg;
	struct dhcp_server *s = NULL;
	const char *why = NULL;
	struct stat st;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	base_cfg(&cfg);
	snprintf(path, sizeof(path), "%s/leases", dir);
	snprintf(cfg.lease_file, sizeof(cfg.lease_file), "%s", path);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i]);
		warning[0] = '\0';
		CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, warning, sizeof(warning)), 0);
		CHECK(strstr(warning, "corrupt") != NULL);
		CHECK(strchr(warning, '\n') == NULL);
		if (i == 0)
			snprintf(aside, sizeof(aside), "%s.corrupt", path);
		else
			snprintf(aside, sizeof(aside), "%s.corrupt-%u", path, i);
		if (!CHECK_EQ(stat(aside, &st), 0))
			printf("  case %u: %s\n", i, warning);
		CHECK_EQ(dhcp_counters(s)->leases_loaded, 0);
		/* A fresh start, and a fresh file. */
		CHECK_EQ(dora(s, 1, T0), NET(2));
		CHECK(read_file(path, text, sizeof(text)));
		CHECK(!strncmp(text, "rssnat-dhcp-leases 1\n192.168.137.2 ", 35));
		dhcp_destroy(s);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (i == 0)
			snprintf(aside, sizeof(aside), "%s.corrupt", path);
		else
			snprintf(aside, sizeof(aside), "%s.corrupt-%u", path, i);
		unlink(aside);
	}
	unlink(path);
	rmdir(dir);
}

TEST(dhcp_lease_file_directory_missing_is_an_error)
{
	struct dhcp_config cfg;
	struct dhcp_server *s = NULL;
	const char *why = NULL;

	base_cfg(&cfg);
	snprintf(cfg.lease_file, sizeof(cfg.lease_file), "/nonexistent-dhcp-dir/leases");
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -ENOENT);
	CHECK(why != NULL);
}

/* Configuration, listing, clock --------------------------------------------------------- */

TEST(dhcp_config_checked)
{
	struct dhcp_config cfg;
	struct dhcp_server *s = NULL;
	const char *why = NULL;

	base_cfg(&cfg);
	cfg.netmask = pkt_ipv4(255, 254, 0, 0); /* a /15 with a pool of 131069 */
	cfg.pool_first = pkt_ipv4(192, 168, 0, 2);
	cfg.pool_last = pkt_ipv4(192, 169, 255, 254);
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	CHECK(why != NULL);
	cfg.pool_last = pkt_ipv4(192, 169, 0, 1); /* 65536 of them: fine */
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), 0);
	dhcp_destroy(s);
	s = NULL;
	base_cfg(&cfg);
	cfg.netmask = pkt_ipv4(255, 0, 255, 0);
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	base_cfg(&cfg);
	cfg.pool_last = pkt_ipv4(192, 168, 138, 5);
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	base_cfg(&cfg);
	cfg.pool_last = NET(255); /* the broadcast address */
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	base_cfg(&cfg);
	memset(cfg.server_mac, 0xff, 6);
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	base_cfg(&cfg);
	strcpy(cfg.domain, "bad domain");
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	base_cfg(&cfg);
	cfg.lease_secs = 0xffffffffu;
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	base_cfg(&cfg);
	cfg.n_reserved = 1;
	mac_n(cfg.reserved[0].mac, 1);
	cfg.reserved[0].addr = SRV;
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), -EINVAL);
	/* A whole /16 is fine, and the server's own address is never given. */
	base_cfg(&cfg);
	cfg.netmask = pkt_ipv4(255, 255, 0, 0);
	cfg.server_addr = pkt_ipv4(192, 168, 0, 1);
	cfg.router = cfg.dns = 0;
	cfg.pool_first = pkt_ipv4(192, 168, 0, 1);
	cfg.pool_last = pkt_ipv4(192, 168, 255, 254);
	CHECK_EQ(dhcp_create(&cfg, T0, &s, &why, NULL, 0), 0);
	if (s) {
		struct cmsg c = msg_of(DHCP_DISCOVER, 1);
		struct reply r;

		reply_from = cfg.server_addr;
		CHECK(send_msg(s, &c, T0, &r) > 0);
		reply_from = 0;
		CHECK_EQ(r.yiaddr, pkt_ipv4(192, 168, 0, 2));
		CHECK_EQ(opt_addr(&r, DHCP_OPT_ROUTER), pkt_ipv4(192, 168, 0, 1));
		dhcp_destroy(s);
	}
}

TEST(dhcp_write_leases_text_and_json)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DECLINE, 2);
	const char *want = "{\"leases\":[{\"address\":\"192.168.137.2\",\"mac\":"
			   "\"02:aa:00:00:00:01\",\"client_id\":\"0102aa00000001\","
			   "\"hostname\":null,\"state\":\"bound\",\"expires_in\":86399},";
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	dora(s, 1, T0);
	dora(s, 2, T0);
	c.requested = NET(3);
	send_msg(s, &c, T0, NULL);
	f = open_memstream(&buf, &size);
	dhcp_write_leases(s, f, false, T0 + 1000);
	fclose(f);
	CHECK(strstr(buf,
		     "lease address=192.168.137.2 mac=02:aa:00:00:00:01 "
		     "client_id=0102aa00000001 hostname=- state=bound expires_in=86399\n") != NULL);
	CHECK(strstr(buf, "lease address=192.168.137.3 mac=- client_id=- hostname=- state=held "
			  "expires_in=59\n") != NULL);
	CHECK(strstr(buf, "counter acks=2\n") != NULL);
	CHECK(strstr(buf, "drop short=0\n") != NULL);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &size);
	dhcp_write_leases(s, f, true, T0 + 1000);
	fclose(f);
	CHECK(!strncmp(buf, want, strlen(want)));
	CHECK(strstr(buf, "\"counters\":{\"rx\":") != NULL);
	CHECK(strstr(buf, "\"drops\":{\"eth_truncated\":0,") != NULL);
	CHECK(!strcmp(buf + strlen(buf) - 3, "}}\n"));
	free(buf);
	dhcp_destroy(s);
}

TEST(dhcp_clock_steps)
{
	struct dhcp_server *s = server();
	uint32_t a = dora(s, 1, T0);
	uint64_t back = T0 - 10ull * 86400 * SEC, ahead = T0 + 3ull * 86400 * SEC;
	struct cmsg c = msg_of(DHCP_REQUEST, 1);
	uint8_t out[BUF];
	struct reply r;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	/* Ten days back: the lease would last 11 days; the sweep pulls it in. */
	dhcp_poll(s, back, out, sizeof(out));
	f = open_memstream(&buf, &size);
	dhcp_write_leases(s, f, false, back);
	fclose(f);
	CHECK(strstr(buf, "state=bound expires_in=86400\n") != NULL);
	free(buf);
	CHECK_EQ(dhcp_counters(s)->bound, 1);
	/* Three days ahead: expired, but still remembered and free: a
	 * renewing client keeps it. */
	dhcp_poll(s, ahead, out, sizeof(out));
	CHECK_EQ(dhcp_counters(s)->bound, 0);
	c.ciaddr = a;
	c.ip_dst = SRV;
	CHECK(send_msg(s, &c, ahead, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.yiaddr, a);
	dhcp_destroy(s);
}

TEST(dhcp_small_output_buffer_counted)
{
	struct dhcp_server *s = server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	uint8_t in[BUF], out[100];
	size_t n = client_frame(in, &c);

	CHECK_EQ(dhcp_input(s, in, n, T0, out, sizeof(out)), 0);
	CHECK_EQ(drops(s, DHCP_DROP_NO_ROOM), 1);
	dhcp_destroy(s);
}

/* Floods: spoofed MACs, forged ARP (issue 14) ----------------------------------------- */

/* The defaults a gateway runs with, without the probe wait. */
static struct dhcp_server *flood_server(uint32_t pool_last)
{
	struct dhcp_config cfg;

	dhcp_config_default(&cfg);
	memcpy(cfg.server_mac, srv_mac, 6);
	cfg.probe_ms = 0;
	if (pool_last)
		cfg.pool_last = pool_last;
	return make(&cfg, T0);
}

/* A random locally administered unicast MAC, as a spoofing flood uses. */
static void random_mac(uint8_t mac[6])
{
	uint64_t r = test_rand();

	memcpy(mac, &r, 6);
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

/* One flooding client: DISCOVER from a new MAC, and REQUEST what it is
 * offered. Returns whether it got an address bound. */
static bool flood_one(struct dhcp_server *s, uint64_t now)
{
	struct cmsg c = msg_of(DHCP_DISCOVER, 0);
	struct reply r;

	random_mac(c.mac);
	if (!send_msg(s, &c, now, &r) || r.type != DHCP_OFFER)
		return false;
	c.type = DHCP_REQUEST;
	c.requested = r.yiaddr;
	c.server_id = SRV;
	return send_msg(s, &c, now, &r) && r.type == DHCP_ACK;
}

TEST(dhcp_flood_of_new_macs_cannot_take_the_pool)
{
	struct dhcp_server *s = flood_server(0);
	unsigned taken = 0;

	/* 3000 new MACs in 3 s, each completing DISCOVER-REQUEST. */
	for (unsigned i = 0; i < 3000; i++)
		taken += flood_one(s, T0 + i);
	CHECK(taken > 0);
	CHECK(taken <= 64); /* the new-lease bucket: a burst and a few a second */
	/* The flood stops: a new client is served within seconds. */
	CHECK(dora(s, 7, T0 + 4 * SEC) != 0);
	dhcp_destroy(s);
}

TEST(dhcp_leased_client_renews_during_a_flood)
{
	struct dhcp_server *s = flood_server(0);
	uint32_t a = dora(s, 1, T0);
	struct cmsg c = msg_of(DHCP_REQUEST, 1);
	struct reply r;

	for (unsigned i = 0; i < 4000; i++) /* 2000 a second: past every bucket */
		flood_one(s, T0 + SEC + i / 2);
	c.ciaddr = a; /* RENEWING, at the height of it */
	c.ip_dst = SRV;
	CHECK(send_msg(s, &c, T0 + 2 * SEC + 999, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	CHECK_EQ(r.yiaddr, a);
	/* INIT-REBOOT of the same client, broadcast: also served. */
	c.ciaddr = 0;
	c.ip_dst = 0;
	c.requested = a;
	CHECK(send_msg(s, &c, T0 + 2 * SEC + 999, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	dhcp_destroy(s);
}

TEST(dhcp_offers_expire_within_seconds)
{
	struct dhcp_server *s = flood_server(NET(5)); /* 4 addresses */
	struct cmsg c;
	struct reply r;

	for (unsigned i = 1; i <= 4; i++) {
		c = msg_of(DHCP_DISCOVER, i);
		CHECK(send_msg(s, &c, T0, &r) > 0);
		CHECK_EQ(r.type, DHCP_OFFER);
	}
	c = msg_of(DHCP_DISCOVER, 5);
	CHECK_EQ(send_msg(s, &c, T0, NULL), 0); /* RFC 2131 4.3.1: nothing to offer */
	CHECK_EQ(drops(s, DHCP_DROP_EXHAUSTED), 1);
	/* Offers never requested go back to the pool within seconds. */
	CHECK(send_msg(s, &c, T0 + 10 * SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_OFFER);
	/* A client that requests its offer late still gets it if it is free. */
	c = msg_of(DHCP_REQUEST, 2);
	c.requested = NET(3);
	c.server_id = SRV;
	CHECK(send_msg(s, &c, T0 + 11 * SEC, &r) > 0);
	CHECK_EQ(r.type, DHCP_ACK);
	dhcp_destroy(s);
}

TEST(dhcp_forged_arp_for_the_pool_does_not_lock_new_clients_out)
{
	struct dhcp_server *s = probing_server();
	struct cmsg c = msg_of(DHCP_DISCOVER, 1);
	uint8_t mac[6], out[BUF];
	struct reply r;
	size_t n;

	/* A forged gratuitous ARP for every pool address, from random MACs. */
	for (unsigned i = 2; i <= 254; i++) {
		random_mac(mac);
		dhcp_address_seen(s, NET(i), mac, T0);
	}
	/* A new client: the claim is checked by a probe, not believed for minutes. */
	CHECK_EQ(send_msg(s, &c, T0 + 5 * SEC, NULL), 0);
	CHECK_EQ(drops(s, DHCP_DROP_EXHAUSTED), 0);
	n = dhcp_poll(s, T0 + 5 * SEC, out, sizeof(out));
	CHECK(n > 0); /* the probe */
	n = dhcp_poll(s, T0 + 5 * SEC + 500, out, sizeof(out));
	CHECK(n > 0);
	if (n && parse_reply(out, n, &r)) {
		CHECK_EQ(r.type, DHCP_OFFER);
		c.type = DHCP_REQUEST;
		c.requested = r.yiaddr;
		c.server_id = SRV;
		CHECK(send_msg(s, &c, T0 + 5 * SEC + 600, &r) > 0);
		CHECK_EQ(r.type, DHCP_ACK);
	}
	dhcp_destroy(s);
}

TEST(dhcp_unserved_new_clients_counted_and_logged_once)
{
	struct dhcp_server *s = flood_server(NET(5)); /* 4 addresses */
	struct dhcp_config cfg;
	struct dhcp_server *bad = NULL;
	char line[300];
	unsigned i;

	CHECK_EQ(dhcp_take_log(s, T0, line, sizeof(line)), 0); /* nothing to say */
	for (i = 0; i < 100; i++)
		flood_one(s, T0 + i);
	CHECK_EQ(dhcp_counters(s)->acks, 4);
	CHECK_EQ(drops(s, DHCP_DROP_EXHAUSTED), 96);
	/* One line for the whole burst, then none for a minute. */
	CHECK(dhcp_take_log(s, T0 + 100, line, sizeof(line)) > 0);
	CHECK(strstr(line, "96 DISCOVERs with no address free") != NULL);
	flood_one(s, T0 + 200);
	CHECK_EQ(dhcp_take_log(s, T0 + 200, line, sizeof(line)), 0);
	CHECK_EQ(dhcp_take_log(s, T0 + 100 + DHCP_LOG_MS - 1, line, sizeof(line)), 0);
	CHECK(dhcp_take_log(s, T0 + 100 + DHCP_LOG_MS, line, sizeof(line)) > 0);
	CHECK(strstr(line, " 1 DISCOVERs") != NULL);
	dhcp_destroy(s);

	/* Over the new-lease rate: counted apart, and in the line. */
	s = flood_server(0);
	for (i = 0; i < 100; i++)
		flood_one(s, T0);
	CHECK_EQ(dhcp_counters(s)->acks, 2 * DHCP_NEW_BURST_SECS);
	CHECK_EQ(drops(s, DHCP_DROP_NEW_RATE), 100 - 2 * DHCP_NEW_BURST_SECS);
	CHECK(dhcp_take_log(s, T0, line, sizeof(line)) > 0);
	CHECK(strstr(line, "80 over the new-lease rate (2 a second)") != NULL);
	dhcp_destroy(s);

	dhcp_config_default(&cfg);
	memcpy(cfg.server_mac, srv_mac, 6);
	cfg.rate_new = DHCP_RATE_NEW_MAX + 1;
	CHECK_EQ(dhcp_create(&cfg, T0, &bad, NULL, NULL, 0), -EINVAL);
}
