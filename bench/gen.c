/* gen.c - a UDP traffic generator and sink on AF_PACKET, for bench/vs-kernel.sh.
 *
 *   bench-gen send --iface IF --src-mac MAC --dst-mac MAC --src IP --dst IP
 *                  [--flows N] [--size BYTES] [--seconds S] [--dport P] [--sport P]
 *                  [--batch B] [--cpu C] [--qdisc-bypass on|off]
 *   bench-gen recv --iface IF [--seconds S] [--dport P] [--cpu C]
 *   bench-gen answer --iface IF --dport P [--seconds S] [--flows N]
 *
 * send: builds one frame per flow up front (flow i has UDP source port
 * --sport + i; valid IPv4 header and UDP checksums), then cycles over them
 * with sendmmsg() of --batch frames on an AF_PACKET socket, as fast as it
 * can for --seconds. The frames go through the device's transmit path with
 * its tc egress hook (--qdisc-bypass off, the default): a veth has no RSS,
 * and the emulated one ('rssnat io tc-rss') is a tc egress program on the
 * sender's side, which PACKET_QDISC_BYPASS skips: the transmit queue (and
 * so the gateway's receive queue) is then the kernel's own flow hash, not
 * the engine's, and about half the frames reach a worker that must hand
 * them off. --qdisc-bypass on skips it, to measure what that path costs. --size counts the frame
 * as on the wire, FCS included (64: 60 bytes handed to the device, 18 of payload). Prints "sent=N
 * pps=R send_errors=E seconds=T".
 *
 * recv: a TPACKET_V3 receive ring bound to the interface for all protocols
 * (so it sees frames before any ingress filter drops them), counts the IPv4
 * UDP frames to --dport (0: any port) for --seconds, or until 1 s passes
 * without one after the first. The rate is taken between the kernel's
 * timestamps of the first and the last frame counted, so it does not depend
 * on when the sender started. Frames the ring had no room for (tp_drops)
 * reached the interface but not us; they are reported apart and the
 * "arrived" rate counts them (they got through whatever sits in front).
 * Prints "received=N sink_drops=D arrived=A pps=R arrived_pps=R2 seconds=T".
 *
 * answer: the far end of a NAT'd UDP flow, once: for each source address
 * and port that sends a UDP datagram to --dport on IF, sends one reply back
 * (the frame with its MACs, addresses and ports swapped: the checksums stay
 * valid, the sums are over the same words), then ignores that flow. A NAT
 * keeps a UDP flow that was answered as established (RFC 4787): rssnat
 * puts it on its kernel fast path, the kernel's conntrack marks it seen
 * both ways. Runs for --seconds (5) or until --flows (65536) were answered.
 * Prints "answered=N".
 *
 * Every loop is bounded by time; exit status 2 for a usage error, 1 for a
 * system error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	MAX_FLOWS = 65536,
	MAX_BATCH = 1024,
	FRAME_MAX = 1514,
	ETH_LEN = 14,
	IP_LEN = 20,
	UDP_LEN = 8,
	FCS_LEN = 4,
	RX_BLOCK = 1 << 20, /* 1 MiB blocks ... */
	RX_BLOCKS = 32,	    /* ... 32 MiB of ring */
	RX_FRAME = 2048,
	RX_TOV_MS = 10,
	RX_IDLE_END_NS = 1000000000, /* 1 s without a frame after the first: done */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(const char *why)
{
	fprintf(stderr,
		"bench-gen: %s\n"
		"usage: bench-gen send --iface IF --src-mac MAC --dst-mac MAC --src IP --dst IP\n"
		"                      [--flows N] [--size BYTES] [--seconds S] [--dport P]\n"
		"                      [--sport P] [--batch B] [--cpu C] [--qdisc-bypass on|off]\n"
		"       bench-gen recv --iface IF [--seconds S] [--dport P] [--cpu C]\n"
		"       bench-gen answer --iface IF --dport P [--seconds S] [--flows N]\n",
		why);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long num(const char *s, long lo, long hi, const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		static char why[128];
		snprintf(why, sizeof(why), "%s must be a number from %ld to %ld", name, lo, hi);
		usage(why);
	}
	return v;
}

static void parse_mac(const char *s, uint8_t mac[6], const char *name)
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
	    6) {
		static char why[128];
		snprintf(why, sizeof(why), "%s must be a MAC address like 02:00:00:00:00:01", name);
		usage(why);
	}
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			usage("a MAC address byte is out of range");
		mac[i] = (uint8_t)b[i];
	}
}

static uint32_t parse_ip(const char *s, const char *name)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		static char why[128];
		snprintf(why, sizeof(why), "%s must be an IPv4 address", name);
		usage(why);
	}
	return a.s_addr; /* network order */
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("bench-gen: sched_setaffinity (going on unpinned)");
}

static int open_packet(const char *iface, int proto, int *ifindex)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = (uint16_t)htons(proto)};
	int fd;

	*ifindex = (int)if_nametoindex(iface);
	if (!*ifindex) {
		fprintf(stderr, "bench-gen: interface '%s' does not exist\n", iface);
		exit(1);
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));
	if (fd < 0) {
		perror("bench-gen: socket(AF_PACKET) (needs CAP_NET_RAW)");
		exit(1);
	}
	sll.sll_ifindex = *ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("bench-gen: bind");
		exit(1);
	}
	return fd;
}

/* ---- checksums ---- */

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One Ethernet + IPv4 + UDP frame of @len bytes (FCS not included). */
static void build_frame(uint8_t *f, size_t len, const uint8_t dmac[6], const uint8_t smac[6],
			uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f + ETH_LEN, *udp = ip + IP_LEN;
	size_t ip_len = len - ETH_LEN, udp_len = ip_len - IP_LEN;
	uint32_t sum;

	memset(f, 0, len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, ETH_P_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)ip_len);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, fold(sum16(ip, IP_LEN, 0)));
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)udp_len);
	for (size_t i = UDP_LEN; i < udp_len; i++)
		udp[i] = (uint8_t)i; /* payload */
	sum = sum16(ip + 12, 8, 0) + IPPROTO_UDP + (uint32_t)udp_len;
	uint16_t c = fold(sum16(udp, udp_len, sum));
	put16(udp + 6, c ? c : 0xffff);
}

/* ---- send ---- */

static int cmd_send(int argc, char **argv)
{
	const char *iface = NULL;
	uint8_t smac[6], dmac[6];
	uint32_t src = 0, dst = 0;
	bool have_smac = false, have_dmac = false;
	long flows = 1024, size = 64, seconds = 5, dport = 9, sport = 10000, batch = 64, cpu = -1;
	int ifindex, bypass = 0;

	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage("an option lacks its value");
		if (!strcmp(k, "--iface"))
			iface = v;
		else if (!strcmp(k, "--src-mac")) {
			parse_mac(v, smac, k);
			have_smac = true;
		} else if (!strcmp(k, "--dst-mac")) {
			parse_mac(v, dmac, k);
			have_dmac = true;
		} else if (!strcmp(k, "--src"))
			src = parse_ip(v, k);
		else if (!strcmp(k, "--dst"))
			dst = parse_ip(v, k);
		else if (!strcmp(k, "--flows"))
			flows = num(v, 1, MAX_FLOWS, k);
		else if (!strcmp(k, "--size"))
			size = num(v, 64, FRAME_MAX + FCS_LEN, k);
		else if (!strcmp(k, "--seconds"))
			seconds = num(v, 1, 600, k);
		else if (!strcmp(k, "--dport"))
			dport = num(v, 1, 65535, k);
		else if (!strcmp(k, "--sport"))
			sport = num(v, 1, 65535, k);
		else if (!strcmp(k, "--batch"))
			batch = num(v, 1, MAX_BATCH, k);
		else if (!strcmp(k, "--cpu"))
			cpu = num(v, 0, CPU_SETSIZE - 1, k);
		else if (!strcmp(k, "--qdisc-bypass") && (!strcmp(v, "on") || !strcmp(v, "off")))
			bypass = !strcmp(v, "on");
		else
			usage("unknown option for send (or --qdisc-bypass not on or off)");
	}
	if (!iface || !have_smac || !have_dmac || !src || !dst)
		usage("send needs --iface, --src-mac, --dst-mac, --src and --dst");
	if (sport + flows - 1 > 65535)
		usage("--sport + --flows - 1 must not pass 65535");
	pin((int)cpu);

	size_t len = (size_t)size - FCS_LEN;
	uint8_t *frames = malloc((size_t)flows * len);
	struct mmsghdr *msgs = calloc((size_t)batch, sizeof(*msgs));
	struct iovec *iov = calloc((size_t)batch, sizeof(*iov));
	if (!frames || !msgs || !iov) {
		fprintf(stderr, "bench-gen: out of memory\n");
		return 1;
	}
	for (long f = 0; f < flows; f++)
		build_frame(frames + (size_t)f * len, len, dmac, smac, src, dst,
			    (uint16_t)(sport + f), (uint16_t)dport);
	for (long i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		iov[i].iov_len = len;
	}

	int fd = open_packet(iface, 0, &ifindex); /* protocol 0: receives nothing */
	if (bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof(bypass)))
		perror("bench-gen: PACKET_QDISC_BYPASS (going on through the qdisc)");

	uint64_t sent = 0, errors = 0, start = now_ns(),
		 end = start + (uint64_t)seconds * 1000000000u, t = start;
	long next = 0;
	while (!stop && t < end) {
		for (long i = 0; i < batch; i++) {
			iov[i].iov_base = frames + (size_t)next * len;
			if (++next == flows)
				next = 0;
		}
		int done = sendmmsg(fd, msgs, (unsigned)batch, 0);
		if (done > 0) {
			sent += (uint64_t)done;
			if (done < batch)
				errors++;
		} else {
			errors++;
			if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
				perror("bench-gen: sendmmsg");
				return 1;
			}
			sched_yield();
		}
		t = now_ns();
	}
	double secs = (double)(t - start) / 1e9;
	printf("sent=%llu pps=%.0f send_errors=%llu seconds=%.3f\n", (unsigned long long)sent,
	       secs > 0 ? (double)sent / secs : 0.0, (unsigned long long)errors, secs);
	close(fd);
	free(frames);
	free(msgs);
	free(iov);
	return 0;
}

/* ---- recv ---- */

static bool is_udp_to(const uint8_t *f, uint32_t len, unsigned dport)
{
	const uint8_t *ip = f + ETH_LEN;

	if (len < ETH_LEN + IP_LEN + UDP_LEN || f[12] != 0x08 || f[13] != 0x00)
		return false;
	if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP)
		return false;
	unsigned ihl = (ip[0] & 0xf) * 4u;
	if (ihl < IP_LEN || len < ETH_LEN + ihl + UDP_LEN)
		return false;
	return !dport || (unsigned)(ip[ihl + 2] << 8 | ip[ihl + 3]) == dport;
}

static int cmd_recv(int argc, char **argv)
{
	const char *iface = NULL;
	long seconds = 5, dport = 0, cpu = -1;
	int ifindex, v3 = TPACKET_V3;

	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage("an option lacks its value");
		if (!strcmp(k, "--iface"))
			iface = v;
		else if (!strcmp(k, "--seconds"))
			seconds = num(v, 1, 600, k);
		else if (!strcmp(k, "--dport"))
			dport = num(v, 0, 65535, k);
		else if (!strcmp(k, "--cpu"))
			cpu = num(v, 0, CPU_SETSIZE - 1, k);
		else
			usage("unknown option for recv");
	}
	if (!iface)
		usage("recv needs --iface");
	pin((int)cpu);

	int fd = open_packet(iface, ETH_P_ALL, &ifindex);
	struct tpacket_req3 req = {
	    .tp_block_size = RX_BLOCK,
	    .tp_block_nr = RX_BLOCKS,
	    .tp_frame_size = RX_FRAME,
	    .tp_frame_nr = RX_BLOCKS * (RX_BLOCK / RX_FRAME),
	    .tp_retire_blk_tov = RX_TOV_MS,
	};
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof(v3)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
		perror("bench-gen: TPACKET_V3 receive ring");
		return 1;
	}
	size_t ring_len = (size_t)RX_BLOCK * RX_BLOCKS;
	uint8_t *ring =
	    mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (ring == MAP_FAILED) {
		perror("bench-gen: mmap of the receive ring");
		return 1;
	}
	/* What queued before the ring existed is not ours to count: reset. */
	struct tpacket_stats_v3 st;
	socklen_t sl = sizeof(st);
	getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	printf("ready\n");
	fflush(stdout);

	uint64_t received = 0, start = now_ns(), end = start + (uint64_t)seconds * 1000000000u;
	uint64_t first_ts = 0, last_ts = 0, last_seen = 0, drops = 0;
	unsigned block = 0;
	while (!stop) {
		uint64_t t = now_ns();
		if (t >= end || (last_seen && t - last_seen > RX_IDLE_END_NS))
			break;
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)block * RX_BLOCK);
		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER)) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLERR};
			poll(&pfd, 1, 100);
			continue;
		}
		uint32_t n = bd->hdr.bh1.num_pkts, off = bd->hdr.bh1.offset_to_first_pkt;
		for (uint32_t i = 0; i < n && off <= RX_BLOCK - sizeof(struct tpacket3_hdr); i++) {
			const struct tpacket3_hdr *h = (const void *)((uint8_t *)bd + off);
			if (h->tp_mac + h->tp_snaplen <= RX_BLOCK - off &&
			    is_udp_to((const uint8_t *)h + h->tp_mac, h->tp_snaplen,
				      (unsigned)dport)) {
				uint64_t ts = (uint64_t)h->tp_sec * 1000000000u + h->tp_nsec;
				if (!first_ts)
					first_ts = ts;
				last_ts = ts;
				received++;
			}
			if (!h->tp_next_offset)
				break;
			off += h->tp_next_offset;
		}
		if (received)
			last_seen = t;
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		block = (block + 1) % RX_BLOCKS;
	}
	sl = sizeof(st);
	if (!getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl))
		drops = st.tp_drops;
	double span = last_ts > first_ts ? (double)(last_ts - first_ts) / 1e9 : 0.0;
	double pps = span > 0 ? (double)(received - 1) / span : 0.0;
	double apps = span > 0 ? (double)(received + drops - 1) / span : 0.0;
	printf(
	    "received=%llu sink_drops=%llu arrived=%llu pps=%.0f arrived_pps=%.0f seconds=%.3f\n",
	    (unsigned long long)received, (unsigned long long)drops,
	    (unsigned long long)(received + drops), pps, apps, span);
	munmap(ring, ring_len);
	close(fd);
	return 0;
}

/* ---- answer ---- */

enum {
	ANSWER_MAX = MAX_FLOWS,
	ANSWER_SLOTS = 2 * ANSWER_MAX, /* open addressing, half full at most */
};

/* Insert the flow's key; false if it was there. Key 0 is never a flow's
 * (an address of 0.0.0.0 does not reach us). */
static bool seen_first(uint64_t *slots, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;

	for (uint32_t i = 0; i < ANSWER_SLOTS; i++) {
		uint64_t *s = &slots[(h + i) % ANSWER_SLOTS];
		if (*s == key)
			return false;
		if (!*s) {
			*s = key;
			return true;
		}
	}
	return false; /* not reached: never more than half full */
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

static int cmd_answer(int argc, char **argv)
{
	const char *iface = NULL;
	long seconds = 5, dport = 0, flows = ANSWER_MAX;
	int ifindex;

	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage("an option lacks its value");
		if (!strcmp(k, "--iface"))
			iface = v;
		else if (!strcmp(k, "--seconds"))
			seconds = num(v, 1, 600, k);
		else if (!strcmp(k, "--dport"))
			dport = num(v, 1, 65535, k);
		else if (!strcmp(k, "--flows"))
			flows = num(v, 1, ANSWER_MAX, k);
		else
			usage("unknown option for answer");
	}
	if (!iface || !dport)
		usage("answer needs --iface and --dport");
	/* ETH_P_ALL: a tap sees frames before an ingress filter drops them (the
	 * bench's sink does), a socket for ETH_P_IP only after. */
	int fd = open_packet(iface, ETH_P_ALL, &ifindex);
	uint64_t *slots = calloc(ANSWER_SLOTS, sizeof(*slots));
	uint8_t f[FRAME_MAX];
	uint64_t answered = 0, end = now_ns() + (uint64_t)seconds * 1000000000u;
	if (!slots) {
		perror("bench-gen: calloc");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop && answered < (uint64_t)flows && now_ns() < end) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = recvfrom(fd, f, sizeof(f), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING ||
		    !is_udp_to(f, (uint32_t)n, (unsigned)dport))
			continue;
		uint8_t *ip = f + ETH_LEN, *udp = ip + (ip[0] & 0xf) * 4u;
		uint64_t key = (uint64_t)(ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15]) << 16 |
			       (uint64_t)(udp[0] << 8 | udp[1]);
		if (!seen_first(slots, key))
			continue;
		swap_bytes(f, f + 6, 6);	/* MACs */
		swap_bytes(ip + 12, ip + 16, 4); /* addresses */
		swap_bytes(udp, udp + 2, 2);	/* ports */
		if (send(fd, f, (size_t)n, 0) == n)
			answered++;
	}
	printf("answered=%llu\n", (unsigned long long)answered);
	free(slots);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage("a command is needed: send or recv");
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 2, argv + 2);
	if (!strcmp(argv[1], "recv"))
		return cmd_recv(argc - 2, argv + 2);
	if (!strcmp(argv[1], "answer"))
		return cmd_answer(argc - 2, argv + 2);
	usage("unknown command (send, recv, answer)");
	return 2;
}
