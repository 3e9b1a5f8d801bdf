/* test_portctl_wire.c - NAT-PMP (RFC 6886) and PCP (RFC 6887) messages
 * against the RFCs' byte layouts, and the server's answers to whole
 * datagrams (pm_server_handle(): no socket), over a real NAT. */
#include "test.h"
#include "nat_env.h"
#include "../../src/portctl/natpmp_wire.h"
#include "../../src/portctl/pcp_wire.h"
#include "../../src/portctl/pm_server.h"
#include "../../src/portctl/portmap.h"

#include <arpa/inet.h>
#include <string.h>

/* RFC 6886 3.3: version 0, opcode 1 (UDP), reserved, internal port 5000,
 * suggested external port 5001, lifetime 7200. */
static const uint8_t natpmp_map_udp[12] = {0, 1, 0, 0, 0x13, 0x88, 0x13, 0x89, 0, 0, 0x1c, 0x20};

TEST(natpmp_wire_requests_and_responses)
{
	struct natpmp_request rq;
	uint8_t out[32];

	CHECK_EQ(natpmp_parse(natpmp_map_udp, 12, &rq), NATPMP_PARSE_OK);
	CHECK_EQ(rq.opcode, 1);
	CHECK_EQ(rq.int_port, 5000);
	CHECK_EQ(rq.ext_port, 5001);
	CHECK_EQ(rq.lifetime, 7200);
	CHECK_EQ(natpmp_parse(natpmp_map_udp, 11, &rq), NATPMP_PARSE_TRUNCATED);
	CHECK_EQ(natpmp_parse((const uint8_t[]){0, 0}, 2, &rq), NATPMP_PARSE_OK);
	CHECK_EQ(natpmp_parse((const uint8_t[]){0}, 1, &rq), NATPMP_PARSE_TRUNCATED);
	CHECK_EQ(natpmp_parse((const uint8_t[]){1, 0}, 2, &rq), NATPMP_PARSE_BAD_VERSION);
	CHECK_EQ(natpmp_parse((const uint8_t[]){0, 3}, 2, &rq), NATPMP_PARSE_BAD_OPCODE);
	CHECK_EQ(natpmp_parse((const uint8_t[]){0, 128}, 2, &rq), NATPMP_PARSE_RESPONSE);
	/* 3.2: 0, 128, result 0, epoch, address. */
	CHECK_EQ(natpmp_build_addr(out, sizeof(out), 0, 0x01020304, htonl(0xc6336402)), 12);
	static const uint8_t addr_resp[12] = {0, 128, 0, 0, 1, 2, 3, 4, 198, 51, 100, 2};
	CHECK(!memcmp(out, addr_resp, 12));
	/* 3.3: 0, 129, result, epoch, internal, mapped, lifetime. */
	CHECK_EQ(natpmp_build_map(out, sizeof(out), 1, 0, 9, 5000, 5001, 7200), 16);
	static const uint8_t map_resp[16] = {0,	   129,	 0,    0,    0, 0, 0,	 9,
					     0x13, 0x88, 0x13, 0x89, 0, 0, 0x1c, 0x20};
	CHECK(!memcmp(out, map_resp, 16));
	CHECK_EQ(natpmp_build_map(out, 15, 1, 0, 9, 1, 2, 3), 0);
	CHECK_EQ(natpmp_build_error(out, sizeof(out), 7, NATPMP_UNSUPP_OPCODE, 9), 8);
	CHECK_EQ(out[1], 135);
	CHECK_EQ(out[3], 5);
}

static size_t pcp_map_req(uint8_t *b, uint32_t lifetime, uint32_t client, uint8_t nonce_byte,
			  uint8_t proto, uint16_t int_port, uint16_t ext_port)
{
	memset(b, 0, 60);
	b[0] = 2;
	b[1] = PCP_OP_MAP;
	b[4] = (uint8_t)(lifetime >> 24);
	b[5] = (uint8_t)(lifetime >> 16);
	b[6] = (uint8_t)(lifetime >> 8);
	b[7] = (uint8_t)lifetime;
	pcp_v4_mapped(b + 8, client);
	memset(b + 24, nonce_byte, 12);
	b[36] = proto;
	b[40] = (uint8_t)(int_port >> 8);
	b[41] = (uint8_t)int_port;
	b[42] = (uint8_t)(ext_port >> 8);
	b[43] = (uint8_t)ext_port;
	pcp_v4_mapped(b + 44, 0);
	return 60;
}

TEST(pcp_wire_map_layout_and_errors)
{
	uint8_t b[PCP_MSG_MAX + 8], out[PCP_MSG_MAX], ip[16];
	struct pcp_request rq;
	size_t n = pcp_map_req(b, 600, lan(10), 0x5a, 17, 5000, 6000);

	CHECK_EQ(pcp_parse(b, n, &rq), PCP_SUCCESS);
	CHECK_EQ(rq.opcode, PCP_OP_MAP);
	CHECK_EQ(rq.lifetime, 600);
	CHECK_EQ(rq.proto, 17);
	CHECK_EQ(rq.int_port, 5000);
	CHECK_EQ(rq.ext_port, 6000);
	CHECK(pcp_ip_is_zero(rq.ext_ip));
	uint32_t a;
	CHECK(pcp_v4_of(rq.client_ip, &a) && a == lan(10));
	/* Response (7.2, 11.1): R bit, result, lifetime, epoch, 12 reserved,
	 * the nonce, protocol, ports, external address. */
	pcp_v4_mapped(ip, wan());
	CHECK_EQ(pcp_build_response(out, sizeof(out), &rq, 0, 600, 77, 6000, ip), 60);
	CHECK_EQ(out[0], 2);
	CHECK_EQ(out[1], 0x81);
	CHECK_EQ(out[3], 0);
	CHECK_EQ(out[11], 77);
	CHECK(!memcmp(out + 24, b + 24, 12));
	CHECK_EQ(out[42] << 8 | out[43], 6000);
	CHECK(!memcmp(out + 44, ip, 16));
	/* 8.3 and 7.4 */
	CHECK_EQ(pcp_parse(b, 3, &rq), -1);
	b[1] |= PCP_R_BIT;
	CHECK_EQ(pcp_parse(b, n, &rq), -1);
	b[1] &= 0x7f;
	CHECK_EQ(pcp_parse(b, n - 4, &rq), PCP_MALFORMED_REQUEST); /* data cut */
	CHECK_EQ(pcp_parse(b, n - 1, &rq), PCP_MALFORMED_REQUEST); /* not a multiple of 4 */
	CHECK_EQ(pcp_parse(b, PCP_MSG_MAX + 4, &rq), PCP_MALFORMED_REQUEST);
	b[0] = 1;
	CHECK_EQ(pcp_parse(b, n, &rq), PCP_UNSUPP_VERSION);
	b[0] = 2;
	b[1] = 9;
	CHECK_EQ(pcp_parse(b, n, &rq), PCP_UNSUPP_OPCODE);
	b[1] = PCP_OP_MAP;
	/* Options (7.3): an unknown mandatory one, an optional one, overruns. */
	memcpy(b + n, (const uint8_t[]){99, 0, 0, 0}, 4);
	CHECK_EQ(pcp_parse(b, n + 4, &rq), PCP_UNSUPP_OPTION);
	memcpy(b + n, (const uint8_t[]){200, 0, 0, 4, 1, 2, 3, 4}, 8);
	CHECK_EQ(pcp_parse(b, n + 8, &rq), PCP_SUCCESS);
	memcpy(b + n, (const uint8_t[]){200, 0, 0, 8, 1, 2, 3, 4}, 8);
	CHECK_EQ(pcp_parse(b, n + 8, &rq), PCP_MALFORMED_OPTION);
	memcpy(b + n, (const uint8_t[]){PCP_OPT_PREFER_FAILURE, 0, 0, 0}, 4);
	CHECK_EQ(pcp_parse(b, n + 4, &rq), PCP_SUCCESS);
	CHECK(rq.prefer_failure);
	CHECK_EQ(pcp_build_announce(out, sizeof(out), 5), 24);
	CHECK_EQ(out[1], 0x80);
	CHECK(!strcmp(pcp_result_name(PCP_ADDRESS_MISMATCH), "ADDRESS_MISMATCH"));
}

struct srv_env {
	struct env e;
	struct portmap *pm;
	struct pm_server *s;
};

static void srv_open(struct srv_env *t)
{
	struct pm_config pc;
	const char *why;
	struct pm_server_config sc = {.listen_addr = lan(1),
				      .lan_net = lan(0),
				      .lan_mask = htonl(0xffffff00),
				      .port = 5351,
				      .announce_port = 5350};

	env_open(&t->e, 2, NULL, NULL);
	portmap_config_default(&pc);
	CHECK_EQ(portmap_create(&pc, t->e.nat, lan(1), lan(0), sc.lan_mask, wan(), &t->pm, &why),
		 0);
	CHECK_EQ(pm_server_create_nosock(&sc, t->pm, 1000, &t->s), 0);
}

static void srv_close(struct srv_env *t)
{
	pm_server_destroy(t->s);
	portmap_destroy(t->pm);
	env_close(&t->e);
}

TEST(pm_server_pcp_answers)
{
	struct srv_env t;
	uint8_t b[64], out[PCP_MSG_MAX];
	size_t n, len;

	srv_open(&t);
	n = pcp_map_req(b, 600, lan(10), 0x11, 6, 4000, 0);
	len = pm_server_handle(t.s, lan(10), b, n, 5000, out, sizeof(out));
	CHECK_EQ(len, 60);
	CHECK_EQ(out[3], PCP_SUCCESS);
	CHECK_EQ(out[11], 4); /* epoch: 4 s since the server started */
	uint16_t ext = (uint16_t)(out[42] << 8 | out[43]);
	CHECK(ext >= 1024);
	/* Another source with that client address: ADDRESS_MISMATCH. */
	len = pm_server_handle(t.s, lan(11), b, n, 5000, out, sizeof(out));
	CHECK_EQ(out[3], PCP_ADDRESS_MISMATCH);
	/* Delete with another nonce: NOT_AUTHORIZED; with its own: gone. */
	n = pcp_map_req(b, 0, lan(10), 0x22, 6, 4000, 0);
	pm_server_handle(t.s, lan(10), b, n, 6000, out, sizeof(out));
	CHECK_EQ(out[3], PCP_NOT_AUTHORIZED);
	CHECK_EQ(portmap_count(t.pm), 1);
	n = pcp_map_req(b, 0, lan(10), 0x11, 6, 4000, 0);
	pm_server_handle(t.s, lan(10), b, n, 6000, out, sizeof(out));
	CHECK_EQ(out[3], PCP_SUCCESS);
	CHECK_EQ(portmap_count(t.pm), 0);
	/* From outside the LAN, or from the gateway itself: nothing. */
	n = pcp_map_req(b, 600, htonl(0xcb007105), 0x11, 6, 4000, 0);
	CHECK_EQ(pm_server_handle(t.s, htonl(0xcb007105), b, n, 6000, out, sizeof(out)), 0);
	CHECK_EQ(pm_server_handle(t.s, lan(1), b, n, 6000, out, sizeof(out)), 0);
	CHECK_EQ(pm_server_counters(t.s)->drop[PMS_DROP_NOT_LAN], 2);
	/* Protocol 0 and 1 (ICMP): UNSUPP_PROTOCOL. */
	n = pcp_map_req(b, 600, lan(10), 0x11, 1, 4000, 0);
	pm_server_handle(t.s, lan(10), b, n, 6000, out, sizeof(out));
	CHECK_EQ(out[3], PCP_UNSUPP_PROTOCOL);
	srv_close(&t);
}

TEST(pm_server_natpmp_answers)
{
	struct srv_env t;
	uint8_t out[64];
	struct pm_config pc;
	const char *why;

	srv_open(&t);
	CHECK_EQ(pm_server_handle(t.s, lan(10), (const uint8_t[]){0, 0}, 2, 1000, out, sizeof(out)),
		 12);
	CHECK_EQ(out[1], 128);
	CHECK(!memcmp(out + 8, (const uint8_t[]){198, 51, 100, 2}, 4));
	CHECK_EQ(pm_server_handle(t.s, lan(10), natpmp_map_udp, 12, 1000, out, sizeof(out)), 16);
	CHECK_EQ(out[3], NATPMP_SUCCESS);
	CHECK_EQ(out[10] << 8 | out[11], 5001); /* the suggestion, free */
	CHECK_EQ(portmap_count(t.pm), 1);
	/* 3.4: internal port 0 and lifetime 0 delete all of the client's. */
	static const uint8_t del_all[12] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	CHECK_EQ(pm_server_handle(t.s, lan(10), del_all, 12, 1000, out, sizeof(out)), 16);
	CHECK_EQ(out[3], NATPMP_SUCCESS);
	CHECK_EQ(portmap_count(t.pm), 0);
	/* NAT-PMP off, PCP on: NAT-PMP's UNSUPP_VERSION (RFC 6887 9). */
	pc = *portmap_config(t.pm);
	pc.natpmp = false;
	CHECK_EQ(portmap_set_config(t.pm, &pc, &why), 0);
	CHECK_EQ(pm_server_handle(t.s, lan(10), natpmp_map_udp, 12, 1000, out, sizeof(out)), 8);
	CHECK_EQ(out[3], NATPMP_UNSUPP_VERSION);
	/* Both off: nothing. */
	pc.pcp = false;
	CHECK_EQ(portmap_set_config(t.pm, &pc, &why), 0);
	CHECK_EQ(pm_server_handle(t.s, lan(10), natpmp_map_udp, 12, 1000, out, sizeof(out)), 0);
	CHECK_EQ(pm_server_counters(t.s)->drop[PMS_DROP_DISABLED], 1);
	srv_close(&t);
}

/* RFC 6886 3.2.1 / RFC 6887 8.5: a WAN address change starts a new epoch
 * and schedules announcements (ten, gaps doubling from 250 ms). */
TEST(pm_server_wan_change_new_epoch)
{
	struct srv_env t;

	srv_open(&t);
	CHECK_EQ(pm_server_epoch(t.s, 61000), 60);
	pm_server_wan_changed(t.s, htonl(0xc6336409), 61000);
	CHECK_EQ(pm_server_epoch(t.s, 62000), 1);
	CHECK_EQ(portmap_wan_addr(t.pm), htonl(0xc6336409));
	CHECK_EQ(pm_server_next_ms(t.s), 61000);
	srv_close(&t);
}

/* Shared uplink mode: the kernel may hold no WAN address (a lease lost).
 * Mapping requests then get NAT-PMP's Network Failure (RFC 6886 3.5) and
 * PCP's NETWORK_FAILURE (RFC 6887 7.4, "has not yet obtained an external
 * IP address"), never SUCCESS with address 0.0.0.0; deletes still work. */
TEST(pm_server_no_wan_addr_network_failure)
{
	struct srv_env t;
	uint8_t b[64], out[PCP_MSG_MAX];
	size_t n;

	srv_open(&t);
	CHECK_EQ(pm_server_handle(t.s, lan(10), natpmp_map_udp, 12, 1000, out, sizeof(out)), 16);
	CHECK_EQ(out[3], NATPMP_SUCCESS);
	pm_server_wan_changed(t.s, 0, 2000);
	CHECK_EQ(pm_server_handle(t.s, lan(10), (const uint8_t[]){0, 0}, 2, 2000, out, sizeof(out)),
		 12);
	CHECK_EQ(out[3], NATPMP_NETWORK_FAILURE);
	CHECK_EQ(pm_server_handle(t.s, lan(11), natpmp_map_udp, 12, 2000, out, sizeof(out)), 16);
	CHECK_EQ(out[3], NATPMP_NETWORK_FAILURE);
	CHECK_EQ(out[10] << 8 | out[11], 0); /* no port, no lifetime */
	CHECK_EQ(out[15], 0);
	n = pcp_map_req(b, 600, lan(10), 0x11, 6, 4000, 0);
	CHECK_EQ(pm_server_handle(t.s, lan(10), b, n, 2000, out, sizeof(out)), 60);
	CHECK_EQ(out[3], PCP_NETWORK_FAILURE);
	CHECK_EQ(portmap_count(t.pm), 1); /* only the one made with an address */
	/* Its owner may still delete it. */
	static const uint8_t del_all[12] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	CHECK_EQ(pm_server_handle(t.s, lan(10), del_all, 12, 2000, out, sizeof(out)), 16);
	CHECK_EQ(out[3], NATPMP_SUCCESS);
	CHECK_EQ(portmap_count(t.pm), 0);
	/* The address back: mappings again. */
	pm_server_wan_changed(t.s, htonl(0xc6336403), 3000);
	CHECK_EQ(pm_server_handle(t.s, lan(10), b, n, 3000, out, sizeof(out)), 60);
	CHECK_EQ(out[3], PCP_SUCCESS);
	CHECK(!memcmp(out + 56, (const uint8_t[]){198, 51, 100, 3}, 4));
	srv_close(&t);
}
