/* cmd_io.c - `rssnat io probe`: open an interface with the afpacket backend
 * and show which queue each received frame lands on, to check the eBPF
 * fanout's RSS against the engine (`rssnat rss hash`). */
#include "cli.h"
#include "commands.h"
#include "io_opts.h"
#include "../io/io.h"
#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	PROBE_BURST = 32,
	PROBE_FRAME_CAP = 9216, /* a jumbo frame */
	PROBE_POLL_MS = 100,	/* how often the deadline is looked at */
	PROBE_COUNT_DEFAULT = 100,
	PROBE_COUNT_MAX = 10000000,
	PROBE_SECONDS_DEFAULT = 10,
	PROBE_SECONDS_MAX = 86400,
	PROBE_MS_PER_S = 1000,
	PROBE_NS_PER_MS = 1000000,
	PROBE_VID_MASK = 0x0fff, /* 802.1Q: the TCI's low 12 bits */
};

struct probe_opts {
	struct io_port_opts port;
	const char *backend;
	unsigned long count, seconds;
	bool json;
};

struct probe_state {
	struct io_port *port;
	const struct io_ops *ops;
	struct pkt *pkts[PROBE_BURST];
	struct pollfd fds[RSS_QUEUES_MAX];
	unsigned long per_queue[RSS_QUEUES_MAX];
	unsigned long frames, skipped;
};

static int parse_option(struct probe_opts *o, int c, const char *v)
{
	int taken = io_port_option(&o->port, c, v);

	if (taken != 1)
		return taken;
	switch (c) {
	case 'c':
		if (cli_parse_uint(v, 1, PROBE_COUNT_MAX, &o->count))
			return cli_usage_error("--count", "'%s' is not a number from 1 to %d", v,
					       PROBE_COUNT_MAX);
		return 0;
	case 'S':
		if (cli_parse_uint(v, 1, PROBE_SECONDS_MAX, &o->seconds))
			return cli_usage_error("--seconds", "'%s' is not a number from 1 to %d", v,
					       PROBE_SECONDS_MAX);
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'b':
		if (!io_backend(v))
			return cli_usage_error("--backend", "'%s' is not built in", v);
		o->backend = v;
		return 0;
	}
	return CLI_USAGE;
}

static int parse_probe_opts(struct probe_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"iface", required_argument, NULL, 'i'},
	    {"queues", required_argument, NULL, 'q'},
	    {"side", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'c'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"fields", required_argument, NULL, 'f'},
	    {"icmp-ports", no_argument, NULL, 'I'},
	    {"backend", required_argument, NULL, 'b'}, /* afpacket, afxdp */
	    {0},
	};
	int c;

	*o = (struct probe_opts){
	    .port = {.queues = 1, .side = PKT_SIDE_LAN, .fields = RSS_F_4TUPLE},
	    .backend = "afpacket",
	    .count = PROBE_COUNT_DEFAULT,
	    .seconds = PROBE_SECONDS_DEFAULT,
	};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == '?')
			return cli_usage_error(argv[optind - 1],
					       optopt
						   ? "needs a value"
						   : "unknown option (see 'rssnat help io probe')");
		if (parse_option(o, c, optarg))
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(argv[optind], "unexpected argument");
	if (!o->port.iface)
		return cli_usage_error("--iface", "is required");
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * PROBE_MS_PER_S + ts.tv_nsec / PROBE_NS_PER_MS;
}

static const char *proto_name(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case PKT_PROTO_TCP:
		return "tcp";
	case PKT_PROTO_UDP:
		return "udp";
	case PKT_PROTO_ICMP:
		return "icmp";
	}
	snprintf(buf, size, "%u", proto);
	return buf;
}

/* Extras only where they apply: the tag (VLAN id), and frag=1 for a
 * fragment, which is hashed on its addresses only. */
static void print_frame(const struct probe_opts *o, unsigned q, const struct pkt *p)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], num[4], vlan[24] = "";
	const char *proto = proto_name(p->proto, num, sizeof(num));
	bool frag = p->flags & PKT_F_FRAG;
	unsigned vid = p->vlan_tci & PROBE_VID_MASK;

	inet_ntop(AF_INET, &p->saddr, src, sizeof(src));
	inet_ntop(AF_INET, &p->daddr, dst, sizeof(dst));
	if (p->flags & PKT_F_VLAN)
		snprintf(vlan, sizeof(vlan), o->json ? ",\"vlan\":%u" : " vlan=%u", vid);
	if (o->json)
		printf("{\"queue\":%u,\"src\":\"%s:%u\",\"dst\":\"%s:%u\",\"proto\":\"%s\"%s%s}\n",
		       q, src, p->sport, dst, p->dport, proto, vlan, frag ? ",\"frag\":true" : "");
	else
		printf("queue=%u src=%s:%u dst=%s:%u proto=%s%s%s\n", q, src, p->sport, dst,
		       p->dport, proto, vlan, frag ? " frag=1" : "");
}

static void print_summary(const struct probe_opts *o, const struct probe_state *s)
{
	printf(o->json ? "{\"frames\":%lu,\"per_queue\":[" : "frames=%lu per_queue=", s->frames);
	for (unsigned q = 0; q < o->port.queues; q++)
		printf("%s%lu", q ? "," : "", s->per_queue[q]);
	printf(o->json ? "],\"skipped\":%lu}\n" : " skipped=%lu\n", s->skipped);
}

/* Drain queue @q: every IPv4 frame is printed and counted, others skipped. */
static void drain_queue(const struct probe_opts *o, struct probe_state *s, unsigned q)
{
	unsigned n;

	do {
		unsigned long want = o->count - s->frames;
		n = s->ops->rx_burst(s->port, q, s->pkts,
				     want < PROBE_BURST ? (unsigned)want : PROBE_BURST);
		for (unsigned i = 0; i < n; i++) {
			struct pkt parsed;
			if (pkt_parse(&parsed, s->pkts[i]->data, s->pkts[i]->len,
				      s->pkts[i]->cap) != PKT_OK) {
				s->skipped++;
				continue;
			}
			print_frame(o, q, &parsed);
			s->per_queue[q]++;
			s->frames++;
		}
	} while (n == PROBE_BURST && s->frames < o->count);
}

static void receive(const struct probe_opts *o, struct probe_state *s)
{
	long long deadline = now_ms() + (long long)o->seconds * PROBE_MS_PER_S;

	for (unsigned q = 0; q < o->port.queues; q++)
		s->fds[q] = (struct pollfd){.fd = s->ops->fd(s->port, q), .events = POLLIN};
	/* Bounded by the deadline: every pass polls at most PROBE_POLL_MS. */
	for (long long now = now_ms(); s->frames < o->count && now < deadline; now = now_ms()) {
		long long wait = deadline - now < PROBE_POLL_MS ? deadline - now : PROBE_POLL_MS;
		poll(s->fds, o->port.queues, (int)wait);
		for (unsigned q = 0; q < o->port.queues && s->frames < o->count; q++)
			drain_queue(o, s, q);
	}
}

static int alloc_pkts(struct probe_state *s)
{
	for (unsigned i = 0; i < PROBE_BURST; i++) {
		s->pkts[i] = calloc(1, sizeof(struct pkt) + PROBE_FRAME_CAP);
		if (!s->pkts[i])
			return -1;
		s->pkts[i]->data = (uint8_t *)(s->pkts[i] + 1);
		s->pkts[i]->cap = PROBE_FRAME_CAP;
	}
	return 0;
}

static void free_pkts(struct probe_state *s)
{
	for (unsigned i = 0; i < PROBE_BURST; i++)
		free(s->pkts[i]);
}

static int open_port(const struct probe_opts *o, const struct rss_snapshot *snap,
		     struct probe_state *s)
{
	struct io_params params = {
	    .ifname = o->port.iface, .queues = o->port.queues, .side = o->port.side, .snap = snap};
	const char *why = "";

	s->ops = io_backend(o->backend);
	if (!s->ops) {
		fprintf(stderr, "rssnat: io probe: the %s backend is not built in\n", o->backend);
		return CLI_FAILED;
	}
	if (s->ops->open(&params, &s->port, &why)) {
		fprintf(stderr, "rssnat: %s: %s\n", o->port.iface, why);
		return CLI_FAILED;
	}
	return CLI_OK;
}

int cli_io_probe(int argc, char **argv)
{
	struct probe_opts o;
	struct rss_snapshot *snap = NULL;
	struct probe_state *s;
	const char *why = "out of memory";
	int err;

	if ((err = parse_probe_opts(&o, argc, argv)))
		return err;
	s = calloc(1, sizeof(*s));
	if (!s || alloc_pkts(s) || io_port_snapshot(&o.port, &snap, &why)) {
		fprintf(stderr, "rssnat: io probe: %s\n", why);
		err = CLI_FAILED;
		goto out;
	}
	if ((err = open_port(&o, snap, s)))
		goto out;
	setvbuf(stdout, NULL, _IOLBF, 0); /* a reader sees each frame as it comes */
	fprintf(stderr, "rssnat: io probe: receiving on %s with %u queues\n", o.port.iface,
		o.port.queues);
	receive(&o, s);
	print_summary(&o, s);
	s->ops->close(s->port);
out:
	if (s)
		free_pkts(s);
	free(s);
	if (snap)
		rss_snapshot_destroy(snap);
	return err;
}
