/* test_claim_bpf.c - the WAN claim (src/io/bpf/claim_decide.h) run by the
 * kernel on crafted frames (BPF_PROG_TEST_RUN), in each program that
 * carries it: the stack guard (tc), the afpacket socket filter
 * (offload_sock), the afxdp XDP program (xsk_redirect) and the fast path's
 * tc program (offload_tc). Every case of issue 11's list: TCP/UDP to a port
 * a live NAT mapping or a port mapping holds (the rest of the NAT's range is
 * the host's), ICMP echo replies, ICMP errors quoting
 * rssnat's datagrams, fragments (first decides, the rest follow, an
 * unknown later one is rssnat's), ARP (both), and the host's frames.
 * Needs root (CAP_BPF): skipped, and said so, without it.
 *
 * The test run's device is the loopback (ifindex 1): the claim is set on
 * it as the shared WAN. */
#include "test.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdatomic.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/io/claim_maps.h"
#include "../../src/io/io_internal.h"
#include "../../src/io/wan_claim.h"
#include "../../src/pkt/build.h"
#include "../../src/pkt/pkt.h"

enum { LO = 1, FRAME_MAX = 256, NAT_LO = 1024, NAT_HI = 32767, MAPPED_TCP = 40080 };

struct progs {
	struct io_wan_claim *wc;
	struct bpf_object *guard, *offload, *xdp;
	int guard_fd, sock_fd, tc_fd, xdp_fd, offload_stats;
};

static uint32_t wan_addr(void)
{
	return pkt_ipv4(198, 51, 100, 2);
}

static uint32_t far(void)
{
	return pkt_ipv4(203, 0, 113, 9);
}

static struct bpf_object *open_obj(const unsigned char *blob, size_t len, const char *name,
				   const struct io_wan_claim *wc)
{
	struct bpf_object_open_opts opts;
	const char *why = "";
	struct bpf_object *obj;

	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, name);
	obj = bpf_object__open_mem(blob, len, &opts);
	if (!obj || io_wan_claim_reuse_maps(wc, obj, &why) || bpf_object__load(obj)) {
		bpf_object__close(obj);
		return NULL;
	}
	return obj;
}

static int prog(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -1;
}

/* All four programs on one claim; false (and nothing open) without root. */
static bool progs_open(struct progs *ps, bool shared)
{
	const char *why = "";

	memset(ps, 0, sizeof(*ps));
	if (geteuid() != 0 || io_wan_claim_open(&ps->wc, &why))
		return false;
	ps->guard = open_obj(io_stack_guard_bpf, io_stack_guard_bpf_len, "stack_guard", ps->wc);
	ps->offload = open_obj(io_offload_bpf, io_offload_bpf_len, "offload", ps->wc);
	ps->xdp = open_obj(io_xsk_redirect_bpf, io_xsk_redirect_bpf_len, "xsk_redirect", ps->wc);
	if (!CHECK(ps->guard && ps->offload && ps->xdp))
		return false;
	ps->guard_fd = prog(ps->guard, "stack_guard");
	ps->sock_fd = prog(ps->offload, "offload_sock");
	ps->tc_fd = prog(ps->offload, "offload_tc");
	ps->xdp_fd = prog(ps->xdp, "xsk_redirect");
	ps->offload_stats = bpf_map__fd(bpf_object__find_map_by_name(ps->offload, "offload_stats"));
	if (shared) {
		CHECK_EQ(io_wan_claim_share(ps->wc, LO, wan_addr(), NAT_LO, NAT_HI), 0);
		CHECK_EQ(io_wan_claim_map_port(ps->wc, PKT_PROTO_TCP, MAPPED_TCP, true), 0);
		CHECK_EQ(io_wan_claim_set_lan(ps->wc, pkt_ipv4(192, 168, 137, 0),
					      pkt_ipv4(255, 255, 255, 0)),
			 0);
	}
	return true;
}

static void progs_close(struct progs *ps)
{
	bpf_object__close(ps->guard);
	bpf_object__close(ps->offload);
	bpf_object__close(ps->xdp);
	io_wan_claim_close(ps->wc);
}

static int run(int fd, const void *frame, size_t len, uint32_t *out_size)
{
	uint8_t out[FRAME_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &o))
		return -1000 - errno;
	if (out_size)
		*out_size = o.data_size_out;
	return (int)o.retval;
}

/* The socket filter runs, in packet_rcv(), on an skb whose data starts at
 * the MAC header; the test run of a socket filter pulls one Ethernet
 * header first, so the frame goes in behind a dummy one. */
static int run_sock(int fd, const uint8_t *frame, size_t len)
{
	uint8_t buf[FRAME_MAX + 14] = {0};

	memcpy(buf + 14, frame, len);
	buf[12] = 0x08; /* IPv4, for eth_type_trans() */
	return run(fd, buf, len + 14, NULL);
}

static uint64_t stats_sum(int map_fd, uint32_t keys)
{
	static uint64_t per_cpu[IO_CPUS_MAX];
	int cpus = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	for (uint32_t k = 0; k < keys; k++)
		if (bpf_map_lookup_elem(map_fd, &k, per_cpu) == 0)
			for (int c = 0; c < cpus; c++)
				sum += per_cpu[c];
	return sum;
}

enum owner { OURS, HOST, BOTH };

/* Every program's verdict on @frame against @want. */
static void expect(struct progs *ps, const uint8_t *frame, size_t len, enum owner want,
		   const char *what)
{
	uint64_t host0 = io_wan_claim_host_frames(ps->wc);
	uint64_t up0 = stats_sum(ps->offload_stats, 5);
	uint32_t xdp_size = 0;
	int guard = run(ps->guard_fd, frame, len, NULL);
	int sock = run_sock(ps->sock_fd, frame, len);
	int xdp = run(ps->xdp_fd, frame, len, &xdp_size);
	int tc = run(ps->tc_fd, frame, len, NULL);
	bool ok;

	ok = CHECK_EQ(guard, want == OURS ? TC_ACT_SHOT : TC_ACT_UNSPEC);
	ok &= CHECK_EQ(io_wan_claim_host_frames(ps->wc) - host0, want == HOST);
	ok &= CHECK(want == HOST ? sock == 0 : sock > 0);
	/* The XDP program stamps 8 bytes of metadata on what goes to a socket
	 * (rssnat's), none on what it passes to the kernel. */
	ok &= CHECK_EQ(xdp, XDP_PASS);
	ok &= CHECK_EQ(xdp_size, want == OURS ? len + 8 : len);
	/* The fast path's tc program leaves the host's alone: not even counted. */
	ok &= CHECK_EQ(tc, TC_ACT_UNSPEC);
	ok &= CHECK_EQ(stats_sum(ps->offload_stats, 5) - up0, want == HOST ? 0 : 1);
	if (!ok)
		printf("  case: %s\n", what);
}

static size_t l4_frame(uint8_t *buf, uint8_t proto, uint32_t daddr, uint16_t sport, uint16_t dport)
{
	static const uint8_t payload[] = "claim";
	struct pkt_spec s = {.saddr = far(),
			     .daddr = daddr,
			     .proto = proto,
			     .sport = sport,
			     .dport = dport,
			     .tcp_flags = PKT_TCP_ACK,
			     .payload = payload,
			     .payload_len = sizeof(payload)};

	return pkt_build(buf, FRAME_MAX, &s);
}

static size_t echo_frame(uint8_t *buf, uint32_t sa, uint32_t da, uint8_t type, uint16_t id)
{
	static const uint8_t payload[] = "ping";
	struct pkt_spec s = {.saddr = sa,
			     .daddr = da,
			     .proto = PKT_PROTO_ICMP,
			     .icmp_type = type,
			     .icmp_id = id,
			     .payload = payload,
			     .payload_len = sizeof(payload)};

	return pkt_build(buf, FRAME_MAX, &s);
}

/* An ICMP port unreachable from far() about a datagram the WAN address
 * sent (@inner: its frame; the IP packet is quoted from byte 14). */
static size_t error_frame(uint8_t *buf, const uint8_t *inner, size_t inner_len)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};

	return pkt_build_icmp_error(buf, FRAME_MAX, mac, mac, far(), wan_addr(), 3, 3, inner + 14,
				    inner_len - 14);
}

static size_t frag_frame(uint8_t *buf, uint16_t id, uint16_t off, uint16_t dport)
{
	static const uint8_t payload[16] = {0};
	struct pkt_spec s = {.saddr = far(),
			     .daddr = wan_addr(),
			     .proto = PKT_PROTO_UDP,
			     .ip_id = id,
			     .frag_off = off,
			     .more_frags = off == 0,
			     .sport = 53,
			     .dport = dport,
			     .payload = payload,
			     .payload_len = sizeof(payload),
			     .udp_len = 200};

	return pkt_build(buf, FRAME_MAX, &s);
}

static size_t arp_frame(uint8_t *buf)
{
	memset(buf, 0, 42);
	memset(buf, 0xff, 6);
	buf[12] = 0x08;
	buf[13] = 0x06;
	buf[14 + 1] = 1;    /* Ethernet */
	buf[14 + 2] = 0x08; /* IPv4 */
	buf[14 + 4] = 6;
	buf[14 + 5] = 4;
	buf[14 + 7] = 1; /* request */
	return 42;
}

/* A live NAT mapping of @proto holds external port @port (@on), or no
 * longer does: the bit the NAT's workers set and clear (nat.h ports_live). */
static void live(struct progs *ps, uint8_t proto, uint16_t port, bool on)
{
	_Atomic uint64_t *bits = io_wan_claim_live(ps->wc);
	unsigned base = proto == PKT_PROTO_TCP	 ? CLAIM_LIVE_TCP
			: proto == PKT_PROTO_UDP ? CLAIM_LIVE_UDP
						 : CLAIM_LIVE_ICMP;
	uint64_t bit = 1ull << (port & 63);

	if (on)
		atomic_fetch_or(&bits[base + (port >> 6)], bit);
	else
		atomic_fetch_and(&bits[base + (port >> 6)], ~bit);
}

/* A TCP or UDP frame from far() to @daddr:@dport, through every program,
 * and `explain`'s view (io_wan_claim_is_host()) agreeing with them. */
static void expect_l4(struct progs *ps, uint8_t proto, uint32_t daddr, uint16_t dport,
		      enum owner want, const char *what)
{
	uint8_t f[FRAME_MAX];

	expect(ps, f, l4_frame(f, proto, daddr, 4321, dport), want, what);
	if (!CHECK_EQ(io_wan_claim_is_host(ps->wc, proto, daddr, dport), want == HOST))
		printf("  case (explain): %s\n", what);
}

TEST(claim_bpf_tcp_udp_by_port)
{
	uint8_t f[FRAME_MAX];
	struct progs ps;

	if (!progs_open(&ps, true)) {
		printf("  skipped: needs root and BPF\n");
		return;
	}
	/* A port of the NAT's range is rssnat's only while a live mapping of
	 * that protocol holds it: otherwise a host service listening there
	 * (8443, 3389, 5432 ...) is reached from the internet. */
	expect_l4(&ps, PKT_PROTO_UDP, wan_addr(), 2000, HOST, "udp in range, unused");
	expect_l4(&ps, PKT_PROTO_TCP, wan_addr(), 8443, HOST, "tcp in range, host's service");
	live(&ps, PKT_PROTO_UDP, 2000, true);
	live(&ps, PKT_PROTO_TCP, NAT_HI, true);
	expect_l4(&ps, PKT_PROTO_UDP, wan_addr(), 2000, OURS, "udp, a live mapping's");
	expect_l4(&ps, PKT_PROTO_TCP, wan_addr(), NAT_HI, OURS, "tcp range end, live");
	expect_l4(&ps, PKT_PROTO_TCP, wan_addr(), 2000, HOST, "udp's mapping, not tcp's");
	expect_l4(&ps, PKT_PROTO_UDP, wan_addr(), 2001, HOST, "the next port, unused");
	live(&ps, PKT_PROTO_UDP, 2000, false); /* the mapping freed */
	expect_l4(&ps, PKT_PROTO_UDP, wan_addr(), 2000, HOST, "udp, mapping freed");
	live(&ps, PKT_PROTO_UDP, 2000, true);
	expect(&ps, f, l4_frame(f, PKT_PROTO_UDP, wan_addr(), 53, 45000), HOST, "udp host port");
	expect(&ps, f, l4_frame(f, PKT_PROTO_TCP, wan_addr(), 80, 45000), HOST, "tcp host port");
	expect(&ps, f, l4_frame(f, PKT_PROTO_TCP, wan_addr(), 80, 22), HOST, "tcp host's ssh");
	expect(&ps, f, l4_frame(f, PKT_PROTO_TCP, wan_addr(), 9, MAPPED_TCP), OURS, "mapped");
	expect(&ps, f, l4_frame(f, PKT_PROTO_UDP, wan_addr(), 9, MAPPED_TCP), HOST, "tcp's only");
	expect(&ps, f, l4_frame(f, PKT_PROTO_TCP, pkt_ipv4(198, 51, 100, 7), 80, 2000), HOST,
	       "another address");
	/* The kernel holds the LAN address on rssnat0: a WAN host sending to it
	 * (or to any LAN host) must not reach the host's stack that way. */
	expect(&ps, f, l4_frame(f, PKT_PROTO_TCP, pkt_ipv4(192, 168, 137, 1), 80, 22), OURS,
	       "to the LAN address");
	expect(&ps, f, l4_frame(f, PKT_PROTO_UDP, pkt_ipv4(192, 168, 137, 10), 53, 45000), OURS,
	       "to a LAN host");
	/* A mapping deleted: its port is the host's again. */
	CHECK_EQ(io_wan_claim_map_port(ps.wc, PKT_PROTO_TCP, MAPPED_TCP, false), 0);
	expect(&ps, f, l4_frame(f, PKT_PROTO_TCP, wan_addr(), 9, MAPPED_TCP), HOST, "unmapped");
	/* The address gone (a DHCP lease lost): every IPv4 frame the host's. */
	CHECK_EQ(io_wan_claim_set_addr(ps.wc, 0), 0);
	expect(&ps, f, l4_frame(f, PKT_PROTO_UDP, wan_addr(), 53, 2000), HOST, "no address");
	progs_close(&ps);
}

TEST(claim_bpf_icmp)
{
	uint8_t f[FRAME_MAX], inner[FRAME_MAX];
	struct progs ps;
	size_t n;

	if (!progs_open(&ps, true)) {
		printf("  skipped: needs root and BPF\n");
		return;
	}
	/* Echo replies: by the identifiers rssnat's ICMP mappings hold (the
	 * NAT sets their bits), wherever they lie; the host's ping takes any. */
	live(&ps, PKT_PROTO_ICMP, 2000, true);
	live(&ps, PKT_PROTO_ICMP, 3000, true);
	live(&ps, PKT_PROTO_UDP, 2000, true);
	expect(&ps, f, echo_frame(f, far(), wan_addr(), 0, 2000), OURS, "echo reply, ours");
	expect(&ps, f, echo_frame(f, far(), wan_addr(), 0, 2001), HOST, "echo reply, host's id");
	expect(&ps, f, echo_frame(f, far(), wan_addr(), 0, 40000), HOST, "echo reply, host's");
	live(&ps, PKT_PROTO_ICMP, 2000, false); /* the mapping ended */
	expect(&ps, f, echo_frame(f, far(), wan_addr(), 0, 2000), HOST, "echo reply, ended");
	expect(&ps, f, echo_frame(f, far(), wan_addr(), 8, 2000), HOST, "echo request: host");
	/* Errors about datagrams the WAN address sent. */
	struct pkt_spec out = {.saddr = wan_addr(),
			       .daddr = far(),
			       .proto = PKT_PROTO_UDP,
			       .sport = 2000,
			       .dport = 53};
	n = pkt_build(inner, FRAME_MAX, &out);
	expect(&ps, f, error_frame(f, inner, n), OURS, "error quoting our udp");
	out.sport = 2002; /* in the NAT's range, no mapping holds it: the host's */
	n = pkt_build(inner, FRAME_MAX, &out);
	expect(&ps, f, error_frame(f, inner, n), HOST, "error quoting the host's udp in range");
	out.sport = 45000;
	n = pkt_build(inner, FRAME_MAX, &out);
	expect(&ps, f, error_frame(f, inner, n), HOST, "error quoting the host's udp");
	n = echo_frame(inner, wan_addr(), far(), 8, 3000);
	expect(&ps, f, error_frame(f, inner, n), OURS, "error quoting our echo");
	n = echo_frame(inner, wan_addr(), far(), 8, 3001);
	expect(&ps, f, error_frame(f, inner, n), HOST, "error quoting the host's echo");
	progs_close(&ps);
}

TEST(claim_bpf_fragments)
{
	uint8_t f[FRAME_MAX];
	struct progs ps;

	if (!progs_open(&ps, true)) {
		printf("  skipped: needs root and BPF\n");
		return;
	}
	/* The stack guard alone first, to see the decision kept: each
	 * expect() runs the same frame through all four programs, which share
	 * claim_frags, so the order between them does not matter. */
	live(&ps, PKT_PROTO_UDP, 2000, true);
	expect(&ps, f, frag_frame(f, 77, 0, 2000), OURS, "first fragment, ours");
	expect(&ps, f, frag_frame(f, 77, 96, 2000), OURS, "later fragment, ours");
	expect(&ps, f, frag_frame(f, 78, 0, 45000), HOST, "first fragment, host's");
	expect(&ps, f, frag_frame(f, 78, 96, 45000), HOST, "later fragment, host's");
	expect(&ps, f, frag_frame(f, 80, 0, 2003), HOST, "first fragment, in range, unused");
	expect(&ps, f, frag_frame(f, 80, 96, 2003), HOST, "later fragment, in range, unused");
	/* No first fragment seen: rssnat's fragment cache holds it. */
	expect(&ps, f, frag_frame(f, 79, 96, 45000), OURS, "later fragment, unknown");
	progs_close(&ps);
}

TEST(claim_bpf_arp_ipv6_dedicated)
{
	uint8_t f[FRAME_MAX];
	struct progs ps;
	size_t n;

	if (!progs_open(&ps, true)) {
		printf("  skipped: needs root and BPF\n");
		return;
	}
	n = arp_frame(f);
	CHECK_EQ(run(ps.guard_fd, f, n, NULL), TC_ACT_UNSPEC); /* the kernel answers */
	CHECK(run_sock(ps.sock_fd, f, n) > 0);		       /* rssnat learns */
	CHECK_EQ(run(ps.xdp_fd, f, n, NULL), XDP_PASS);
	memset(f, 0, 80); /* an IPv6 header's length at least, for the test run */
	f[12] = 0x86;	  /* IPv6's ethertype */
	f[13] = 0xdd;
	f[14] = 0x60;
	CHECK_EQ(run(ps.guard_fd, f, 80, NULL), TC_ACT_UNSPEC);
	progs_close(&ps);

	/* Dedicated mode (maps all zero): every frame rssnat's, as before. */
	if (!CHECK(progs_open(&ps, false)))
		return;
	expect(&ps, f, l4_frame(f, PKT_PROTO_UDP, wan_addr(), 53, 45000), OURS, "dedicated");
	expect(&ps, f, echo_frame(f, far(), wan_addr(), 8, 1), OURS, "dedicated ping");
	n = arp_frame(f);
	CHECK_EQ(run(ps.guard_fd, f, n, NULL), TC_ACT_SHOT);
	progs_close(&ps);
}
