/* test_icmp_zero.c - an ICMP message that is all zeros (an echo reply
 * with identifier 0, sequence 0 and no data) has the checksum 0xffff: its
 * words add up to +0, and only 0xffff makes the receiver's sum -0 (RFC
 * 1071). RFC 1624 eqn. 3 can never give 0xffff, so the incremental updates
 * of the echo reply (router) and of the echo identifier (NAT) must not
 * leave 0x0000 there. ICMP is the only protocol here without a pseudo-header,
 * so the only one whose message can be all zeros. Found by fuzz_pkt. */
#include "test.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"
#include "../../src/router/router.h"

#include <string.h>

enum { ZBUF = 256 };

static size_t zero_echo(uint8_t *buf, uint8_t type, uint16_t id, struct pkt *p)
{
	struct pkt_spec s = {
	    .saddr = pkt_ipv4(192, 168, 137, 10),
	    .daddr = pkt_ipv4(192, 168, 137, 1),
	    .proto = PKT_PROTO_ICMP,
	    .icmp_type = type,
	    .icmp_id = id,
	    .icmp_seq = 0,
	};
	size_t n = pkt_build(buf, ZBUF, &s);

	CHECK(n > 0);
	CHECK_EQ(pkt_parse(p, buf, (uint16_t)n, ZBUF), PKT_OK);
	CHECK(pkt_checksums_ok(p));
	return n;
}

static unsigned icmp_csum_field(const struct pkt *q)
{
	const uint8_t *c = q->data + q->l4_off + PKT_ICMP_CSUM;

	return (unsigned)c[0] << 8 | c[1];
}

TEST(icmp_zero_echo_reply_from_the_router_has_checksum_ffff)
{
	struct router_counters cnt = {0};
	uint8_t buf[ZBUF];
	uint32_t ours[1] = {pkt_ipv4(192, 168, 137, 1)};
	struct pkt p, q;

	zero_echo(buf, PKT_ICMP_ECHO, 0, &p);
	CHECK_EQ(router_answer_echo(&cnt, &p, ours, 1), 0);
	CHECK_EQ(pkt_parse(&q, p.data, p.len, ZBUF), PKT_OK);
	CHECK_EQ(q.icmp_type, PKT_ICMP_ECHO_REPLY);
	CHECK_EQ(icmp_csum_field(&q), 0xffff);
	CHECK(pkt_checksums_ok(&q));
}

TEST(icmp_zero_echo_reply_after_the_nat_restores_id_0)
{
	uint8_t buf[ZBUF];
	struct pkt p, q;

	/* From the internet to the external identifier 0x1234; the LAN host
	 * had asked with identifier 0. */
	zero_echo(buf, PKT_ICMP_ECHO_REPLY, 0x1234, &p);
	pkt_set_dst(&p, pkt_ipv4(192, 168, 137, 10), 0);
	CHECK_EQ(pkt_parse(&q, p.data, p.len, ZBUF), PKT_OK);
	CHECK_EQ(q.dport, 0);
	CHECK_EQ(icmp_csum_field(&q), 0xffff);
	CHECK(pkt_checksums_ok(&q));
}
