/* fuzz_dhcp.c - libFuzzer harness for the DHCP server: dhcp_parse() on any
 * bytes (an exact heap copy, so ASan sees any read past the end), then a
 * memory-only server with a tiny pool driven by a script: raw frames,
 * well-formed client messages with fuzzed fields and trailing option bytes,
 * ARP sightings, timer polls, lookups, clock jumps both ways, listings.
 * Asserts what must always hold: every frame out parses (checksums right)
 * and is a BOOTREPLY or an ARP probe from us; an OFFER or ACK names an
 * address associated with the client it answers; no address has two
 * clients and no client two addresses; the bounded tables stay bounded.
 * Inputs starting with 0xff are a lease file instead (in a directory on
 * /dev/shm, so that the fsyncs cost nothing): loaded, and either believed
 * (same invariants) or set aside with a warning. */
#include "../src/pkt/build.h"
#include "../src/pkt/pkt.h"
#include "../src/router/arp.h"
#include "../src/svc/dhcp.h"
#include "../src/svc/dhcp_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

enum {
	BUF = 2048,
	POOL_LAST = 6, /* 192.168.137.2 - .6 */
	CLIENTS = 8,
	/* Script record: op, time step, length, then the bytes. */
	OP_INPUT = 0,
	OP_TEMPLATE, /* a well-formed client message with fuzzed fields */
	OP_SEEN,
	OP_POLL,
	OP_LOOKUP,
	OP_JUMP,
	OP_LIST,
	OP_COUNT,
};

#define T0 1700000000000ull

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint32_t addr(uint8_t last)
{
	return htonl(0xc0a88900u | last); /* 192.168.137.x */
}

static void client_mac(uint8_t mac[6], unsigned client)
{
	const uint8_t m[6] = {0x02, 0xaa, 0, 0, 0, (uint8_t)client};

	memcpy(mac, m, 6);
}

static void parse_exact(const uint8_t *d, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct dhcp_msg m;

	if (!copy)
		return;
	memcpy(copy, d, n);
	if (dhcp_parse(&m, copy, n) == DHCP_OK &&
	    (m.cid_len < 2 || m.cid_len > DHCP_CLIENT_ID_MAX || m.type < DHCP_DISCOVER ||
	     m.type > DHCP_INFORM || strlen(m.host) > DHCP_HOSTNAME_MAX))
		abort();
	free(copy);
}

static void base_config(struct dhcp_config *cfg, bool probing)
{
	dhcp_config_default(cfg);
	memcpy(cfg->server_mac, our_mac, 6);
	cfg->pool_last = addr(POOL_LAST);
	cfg->probe_ms = probing ? 50 : 0;
	cfg->rate_per_mac = 50;
	cfg->rate_global = 200;
	cfg->n_reserved = 1;
	client_mac(cfg->reserved[0].mac, 7);
	cfg->reserved[0].addr = addr(100);
}

static struct dhcp_server *make_server(bool probing)
{
	struct dhcp_config cfg;
	struct dhcp_server *s;

	base_config(&cfg, probing);
	if (dhcp_create(&cfg, T0, &s, NULL, NULL, 0) != 0)
		abort();
	return s;
}

/* The table's invariants: one client per address, one address per client,
 * every association findable, the gauges within their bounds. */
static void check_table(const struct dhcp_server *s)
{
	unsigned pending = 0;

	for (uint32_t i = 0; i < s->n_slots; i++) {
		const struct dhcp_slot *sl = &s->slots[i];

		if (sl->addr == s->cfg.server_addr && sl->cid_len)
			abort();
		if (sl->cid_len && dhcp_find_client(s, sl->cid, sl->cid_len) != i)
			abort(); /* the client has another address, or is lost */
		for (uint32_t j = 0; j < i; j++)
			if (s->slots[j].addr == sl->addr)
				abort();
	}
	for (unsigned i = 0; i < DHCP_PENDING_MAX; i++)
		pending += s->pending[i].state != DHCP_PEND_FREE;
	if (pending != s->cnt.pending || s->cnt.bound > s->n_slots)
		abort();
}

/* A frame the server sent: an ARP probe from us, or a DHCP reply whose
 * address (OFFER, ACK with yiaddr) is associated with its client. @asker
 * (may be NULL) is the message it answers. */
static void check_out(const struct dhcp_server *s, uint8_t *out, size_t len,
		      const struct dhcp_msg *asker)
{
	struct pkt p;
	struct arp_msg a;
	const uint8_t *b;
	uint32_t yiaddr, idx;
	uint8_t type = 0;
	size_t bl, i = DHCP_OPTIONS;

	if (len > DHCP_FRAME_MAX)
		abort();
	if (arp_parse(&a, out, len) == ARP_OK) {
		if (a.op != ARP_OP_REQUEST || a.spa != s->cfg.server_addr ||
		    memcmp(a.sha, our_mac, 6) || memcmp(a.eth_dst, bcast, 6) ||
		    dhcp_slot_index(s, a.tpa) == DHCP_NIL)
			abort();
		return;
	}
	if (pkt_parse(&p, out, (uint16_t)len, (uint16_t)len) != PKT_OK || !pkt_checksums_ok(&p) ||
	    p.proto != PKT_PROTO_UDP || p.sport != DHCP_SERVER_PORT ||
	    p.dport != DHCP_CLIENT_PORT || p.saddr != s->cfg.server_addr)
		abort();
	b = out + p.l4_off + PKT_UDP_HLEN;
	bl = (size_t)p.l4_len - PKT_UDP_HLEN;
	if (bl < DHCP_BOOTP_LEN || b[DHCP_OP] != DHCP_BOOTREPLY)
		abort();
	while (i + 1 < bl && b[i] != DHCP_OPT_END) { /* our options: well formed, 53 first */
		if (b[i] == DHCP_OPT_MSG_TYPE)
			type = b[i + 2];
		i += 2 + (size_t)b[i + 1];
	}
	if (i >= bl || b[i] != DHCP_OPT_END || !type)
		abort();
	memcpy(&yiaddr, b + DHCP_YIADDR, 4);
	if (type == DHCP_NAK || !yiaddr)
		return;
	if (type != DHCP_OFFER && type != DHCP_ACK)
		abort();
	idx = dhcp_slot_index(s, yiaddr);
	if (idx == DHCP_NIL || !s->slots[idx].cid_len || yiaddr == s->cfg.server_addr ||
	    memcmp(s->slots[idx].mac, b + DHCP_CHADDR, 6))
		abort();
	if (asker && (s->slots[idx].cid_len != asker->cid_len ||
		      memcmp(s->slots[idx].cid, asker->cid, asker->cid_len)))
		abort();
}

static void input(struct dhcp_server *s, const uint8_t *frame, size_t len, uint64_t now)
{
	static uint8_t out[BUF];
	struct dhcp_msg m;
	bool ok = dhcp_parse(&m, frame, len) == DHCP_OK;
	size_t n = dhcp_input(s, frame, len, now, out, sizeof(out));

	if (n && !ok)
		abort(); /* a reply to something that does not parse */
	if (n)
		check_out(s, out, n, &m);
}

/* A client message from the script's bytes: type, client, flags, ciaddr,
 * option 50, option 54, then raw bytes appended to the options. */
static size_t template(uint8_t *buf, const uint8_t *b, size_t n)
{
	uint8_t msg[700], mac[6];
	struct pkt_spec sp;
	size_t o = DHCP_OPTIONS, extra;
	uint32_t a;

	if (n < 7)
		return 0;
	memset(msg, 0, sizeof(msg));
	client_mac(mac, b[1] % CLIENTS);
	msg[DHCP_OP] = DHCP_BOOTREQUEST;
	msg[DHCP_HTYPE] = DHCP_HTYPE_ETHER;
	msg[DHCP_HLEN] = DHCP_HLEN_ETHER;
	msg[DHCP_XID] = b[6];
	msg[DHCP_FLAGS] = b[2] & 0x80;
	a = b[3] & 0x80 ? addr(b[3] & 7) : 0;
	memcpy(msg + DHCP_CIADDR, &a, 4);
	memcpy(msg + DHCP_CHADDR, mac, 6);
	msg[DHCP_COOKIE] = 99, msg[DHCP_COOKIE + 1] = 130;
	msg[DHCP_COOKIE + 2] = 83, msg[DHCP_COOKIE + 3] = 99;
	msg[o++] = DHCP_OPT_MSG_TYPE, msg[o++] = 1, msg[o++] = (uint8_t)(b[0] % 9);
	if (b[4] & 0x80) {
		a = addr(b[4] & 0x7f);
		msg[o++] = DHCP_OPT_REQUESTED_ADDR, msg[o++] = 4;
		memcpy(msg + o, &a, 4), o += 4;
	}
	if (b[5] & 0xc0) {
		a = b[5] & 0x40 ? addr(1) : addr(250);
		msg[o++] = DHCP_OPT_SERVER_ID, msg[o++] = 4;
		memcpy(msg + o, &a, 4), o += 4;
	}
	if (b[5] & 0x20) { /* an identifier shared by clients 0 and 1 */
		msg[o++] = DHCP_OPT_CLIENT_ID, msg[o++] = 3;
		msg[o++] = 0, msg[o++] = 'i', msg[o++] = (uint8_t)(b[1] % 2);
	}
	if (b[5] & 0x10) {
		msg[o++] = DHCP_OPT_HOSTNAME, msg[o++] = 2;
		msg[o++] = 'h', msg[o++] = (uint8_t)('0' + b[1] % CLIENTS);
	}
	extra = n - 7 < sizeof(msg) - o - 1 ? n - 7 : sizeof(msg) - o - 1;
	memcpy(msg + o, b + 7, extra);
	o += extra;
	msg[o++] = DHCP_OPT_END;
	if (o < DHCP_BOOTP_LEN)
		o = DHCP_BOOTP_LEN;
	memset(&sp, 0, sizeof(sp));
	memcpy(sp.src_mac, mac, 6);
	memcpy(sp.dst_mac, b[2] & 1 ? our_mac : bcast, 6);
	sp.vlan_tci = b[2] & 2 ? 7 : 0;
	memcpy(&sp.saddr, msg + DHCP_CIADDR, 4);
	sp.daddr = b[2] & 1 ? addr(1) : 0xffffffffu;
	sp.proto = PKT_PROTO_UDP;
	sp.sport = DHCP_CLIENT_PORT;
	sp.dport = DHCP_SERVER_PORT;
	sp.payload = msg;
	sp.payload_len = (uint16_t)o;
	return pkt_build(buf, BUF, &sp);
}

static void run_script(struct dhcp_server *s, const uint8_t *d, size_t n, FILE *sink)
{
	static uint8_t buf[BUF], out[BUF];
	uint64_t now = T0;
	size_t i = 0;

	while (n - i >= 3) {
		uint8_t op = d[i] % OP_COUNT, step = d[i + 1], len = d[i + 2];
		const uint8_t *b = d + i + 3;
		size_t avail = n - i - 3, take = len < avail ? len : avail;
		uint8_t mac[6];
		char host[DHCP_HOSTNAME_MAX + 2];
		uint32_t a;
		size_t fl;

		i += 3 + take;
		now += (uint64_t)step * 37; /* up to ~9 s per step */
		switch (op) {
		case OP_INPUT:
			input(s, b, take, now);
			break;
		case OP_TEMPLATE:
			fl = template(buf, b, take);
			if (fl)
				input(s, buf, fl, now);
			break;
		case OP_SEEN:
			client_mac(mac, take > 1 ? b[1] : 0);
			if (take > 2 && (b[2] & 1))
				mac[1] = 0xbb; /* someone no client is */
			dhcp_address_seen(s, take ? addr(b[0]) : 0, mac, now);
			break;
		case OP_POLL:
			for (unsigned k = 0;; k++) {
				fl = dhcp_poll(s, now, out, sizeof(out));
				if (!fl)
					break;
				check_out(s, out, fl, NULL);
				if (k > 4 * DHCP_PENDING_MAX)
					abort(); /* a poll loop that does not end */
			}
			break;
		case OP_LOOKUP:
			fl = take < sizeof(host) - 1 ? take : sizeof(host) - 1;
			memcpy(host, b, fl);
			host[fl] = '\0';
			if (dhcp_lookup_name(s, host, now, &a) == 0 &&
			    dhcp_slot_index(s, a) == DHCP_NIL)
				abort();
			dhcp_lookup_addr(s, take ? addr(b[0]) : 0, now, host,
					 take > 1 ? b[1] % sizeof(host) : sizeof(host));
			break;
		case OP_JUMP: /* the wall clock steps, either way, up to ~3 days */
			if (take >= 2)
				now += (uint64_t)(int64_t)(int16_t)(b[0] << 8 | b[1]) * 8000;
			break;
		default: /* OP_LIST */
			dhcp_write_leases(s, sink, take && (b[0] & 1), now);
			break;
		}
		check_table(s);
	}
}

static char lease_dir[64];

static void remove_lease_dir(void)
{
	rmdir(lease_dir);
}

/* @d as a lease file: a server comes up from it, or from nothing with the
 * file set aside and a warning; never an error, never a broken table. */
static void lease_file(const uint8_t *d, size_t n)
{
	char *dir = lease_dir;
	struct dhcp_config cfg;
	struct dhcp_server *s;
	char warning[512], aside[DHCP_PATH_SIZE + 32];
	const char *why = NULL;
	struct stat st;
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(lease_dir), "/dev/shm/fuzz-dhcp-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_lease_dir);
	}
	base_config(&cfg, false);
	snprintf(cfg.lease_file, sizeof(cfg.lease_file), "%s/leases", dir);
	snprintf(aside, sizeof(aside), "%s.corrupt", cfg.lease_file);
	f = fopen(cfg.lease_file, "w");
	if (!f || fwrite(d, 1, n, f) != n || fclose(f))
		abort();
	if (dhcp_create(&cfg, T0, &s, &why, warning, sizeof(warning)) != 0)
		abort();
	if (warning[0] && (stat(aside, &st) != 0 || dhcp_counters(s)->leases_loaded))
		abort(); /* a warning, but nothing set aside, or half a file believed */
	check_table(s);
	dhcp_destroy(s);
	unlink(aside);
	unlink(cfg.lease_file);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static FILE *sink;
	struct dhcp_server *s;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (n > 4096)
		n = 4096;
	if (n && d[0] == 0xff) {
		lease_file(d + 1, n - 1);
		return 0;
	}
	parse_exact(d, n);
	s = make_server(n && (d[0] & 1));
	input(s, d, n, T0); /* the raw input as one frame */
	run_script(s, d, n, sink);
	check_table(s);
	dhcp_destroy(s);
	return 0;
}
