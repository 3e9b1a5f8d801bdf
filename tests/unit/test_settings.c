/* test_settings.c - the parsers the command line, the configuration file
 * and the control socket share: NAT timeouts, port mappings, RSS weights. */
#include "test.h"
#include "../../src/nat/nat.h"
#include "../../src/pkt/pkt.h"
#include "../../src/rss/rss.h"

#include <errno.h>
#include <string.h>

TEST(settings_nat_timeout_parse)
{
	struct nat_timeouts t = {0}, before;

	CHECK_EQ(nat_timeout_parse(&t, "udp=120"), 0);
	CHECK_EQ(t.udp, 120);
	CHECK_EQ(nat_timeout_parse(&t, "tcp=600"), 0);
	CHECK_EQ(t.tcp_established, 600);
	before = t;
	CHECK_EQ(nat_timeout_parse(&t, "udp=0"), -ERANGE);
	CHECK_EQ(nat_timeout_parse(&t, "udp=604801"), -ERANGE);
	CHECK_EQ(nat_timeout_parse(&t, "tcp-idle=60"), -ENOENT);
	CHECK_EQ(nat_timeout_parse(&t, "udp"), -EINVAL);
	CHECK_EQ(nat_timeout_parse(&t, "=60"), -EINVAL);
	CHECK_EQ(nat_timeout_parse(&t, "udp=+60"), -EINVAL);
	CHECK_EQ(nat_timeout_parse(&t, "udp=6x"), -EINVAL);
	CHECK_EQ(nat_timeout_parse(&t, "ud=60"), -ENOENT); /* a prefix is not the name */
	CHECK(!memcmp(&t, &before, sizeof(t)));		   /* unchanged on error */
}

TEST(settings_nat_static_parse)
{
	struct nat_static_map sm;
	const char *why = "";

	CHECK_EQ(nat_static_parse("tcp:8080=192.168.137.10:80", true, &sm, &why), 0);
	CHECK(sm.proto == PKT_PROTO_TCP && sm.ext_port == 8080 && sm.lan_port == 80 &&
	      sm.lan_addr == pkt_ipv4(192, 168, 137, 10));
	CHECK_EQ(nat_static_parse("udp:53", false, &sm, &why), 0);
	CHECK(sm.proto == PKT_PROTO_UDP && sm.ext_port == 53);
	CHECK_EQ(nat_static_parse("tcp:80", true, &sm, &why), -EINVAL);
	CHECK(strstr(why, "is not PROTO:PORT=ADDR:PORT") != NULL);
	CHECK_EQ(nat_static_parse("sctp:1=192.168.137.10:1", true, &sm, &why), -EINVAL);
	CHECK(!strcmp(why, "'sctp' is neither tcp nor udp"));
	CHECK_EQ(nat_static_parse("tcp:0=192.168.137.10:80", true, &sm, &why), -EINVAL);
	CHECK_EQ(nat_static_parse("tcp:80=192.168.137.10:65536", true, &sm, &why), -EINVAL);
	CHECK(strstr(why, "must be from 1 to 65535") != NULL);
	CHECK_EQ(nat_static_parse("tcp:80=host:80", true, &sm, &why), -EINVAL);
	CHECK(!strcmp(why, "'host' is not an IPv4 address"));
	CHECK_EQ(nat_static_parse("tcp:80=192.168.137.10:80", false, &sm, &why), -EINVAL);
	CHECK_EQ(nat_static_parse("tcp:8x", false, &sm, &why), -EINVAL);
}

TEST(settings_rss_weights_parse)
{
	unsigned w[RSS_QUEUES_MAX];
	char many[200] = "1";

	CHECK_EQ(rss_weights_parse("1,1,2,2", 1000, w), 4);
	CHECK(w[0] == 1 && w[2] == 2 && w[3] == 2 && w[4] == 0);
	CHECK_EQ(rss_weights_parse("0,1000", 1000, w), 2);
	CHECK_EQ(rss_weights_parse("1001", 1000, w), -EINVAL);
	CHECK_EQ(rss_weights_parse("1,,2", 1000, w), -EINVAL);
	CHECK_EQ(rss_weights_parse("1,2,", 1000, w), -EINVAL);
	CHECK_EQ(rss_weights_parse("", 1000, w), -EINVAL);
	CHECK_EQ(rss_weights_parse("1,x", 1000, w), -EINVAL);
	CHECK_EQ(rss_weights_parse("99999999999999999999", 1000, w), -EINVAL);
	for (int i = 1; i < 65; i++)
		strcat(many, ",1");
	CHECK_EQ(rss_weights_parse(many, 1000, w), -EINVAL); /* 65 queues */
}
