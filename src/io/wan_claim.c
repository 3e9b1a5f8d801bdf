/* wan_claim.c - the maps of bpf/claim_decide.h, created and written from
 * user space (see wan_claim.h). The process holds their fds; the programs
 * that reuse them hold references too, and the maps go with the last. */
#include "wan_claim.h"

#include "claim_maps.h"
#include "io_internal.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17 };

struct io_wan_claim {
	int conf, ports, frags, host, live;
	void *live_mem;		     /* claim_live, mapped: the NAT writes it */
	_Atomic uint64_t *live_bits; /* the same, as words */
	struct claim_conf c;	     /* as last written */
	uint64_t bits[CLAIM_PORT_PROTOS * CLAIM_PORT_WORDS]; /* claim_ports' copy */
};

static int create(enum bpf_map_type type, const char *name, unsigned key, unsigned value,
		  unsigned entries)
{
	return bpf_map_create(type, name, key, value, entries, NULL);
}

enum { LIVE_BYTES = CLAIM_LIVE_WORDS * 8 };

/* claim_live, created mappable and mapped into this process. */
static int create_live(struct io_wan_claim *wc)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	void *mem;

	wc->live = bpf_map_create(BPF_MAP_TYPE_ARRAY, "claim_live", 4, 8, CLAIM_LIVE_WORDS, &opts);
	if (wc->live < 0)
		return -1;
	mem = mmap(NULL, LIVE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, wc->live, 0);
	if (mem == MAP_FAILED)
		return -1;
	wc->live_mem = mem;
	wc->live_bits = mem;
	return 0;
}

int io_wan_claim_open(struct io_wan_claim **out, const char **why)
{
	struct io_wan_claim *wc = calloc(1, sizeof(*wc));

	*out = NULL;
	if (!wc) {
		*why = "out of memory";
		return -ENOMEM;
	}
	wc->conf = create(BPF_MAP_TYPE_ARRAY, "claim_conf", 4, sizeof(struct claim_conf), 1);
	wc->ports =
	    create(BPF_MAP_TYPE_ARRAY, "claim_ports", 4, 8, CLAIM_PORT_WORDS * CLAIM_PORT_PROTOS);
	wc->frags = create(BPF_MAP_TYPE_LRU_HASH, "claim_frags", sizeof(struct claim_frag_key), 4,
			   CLAIM_FRAGS_MAX);
	wc->host = create(BPF_MAP_TYPE_PERCPU_ARRAY, "claim_host", 4, 8, 1);
	if (wc->conf < 0 || wc->ports < 0 || wc->frags < 0 || wc->host < 0 || create_live(wc)) {
		*why = "cannot create the WAN claim's maps (not root? no BPF?)";
		io_wan_claim_close(wc);
		return -EPERM;
	}
	*out = wc;
	return 0;
}

void io_wan_claim_close(struct io_wan_claim *wc)
{
	if (!wc)
		return;
	int fds[] = {wc->conf, wc->ports, wc->frags, wc->host, wc->live};
	if (wc->live_mem)
		munmap(wc->live_mem, LIVE_BYTES);
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] > 0)
			close(fds[i]);
	free(wc);
}

int io_wan_claim_reuse_maps(const struct io_wan_claim *wc, struct bpf_object *obj, const char **why)
{
	static const char *const names[] = {"claim_conf", "claim_ports", "claim_frags",
					    "claim_host", "claim_live"};

	if (!wc)
		return 0; /* maps of its own, all zero: dedicated mode */
	const int fds[] = {wc->conf, wc->ports, wc->frags, wc->host, wc->live};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, names[i]);
		if (!m || bpf_map__reuse_fd(m, fds[i])) {
			*why = "cannot give a program the WAN claim's maps";
			return -EINVAL;
		}
	}
	return 0;
}

static int write_conf(struct io_wan_claim *wc)
{
	__u32 zero = 0;

	return bpf_map_update_elem(wc->conf, &zero, &wc->c, BPF_ANY) ? -errno : 0;
}

int io_wan_claim_share(struct io_wan_claim *wc, int ifindex, uint32_t addr, uint16_t lo,
		       uint16_t hi)
{
	wc->c.wan_ifindex = (__u32)ifindex;
	wc->c.wan_addr = addr;
	wc->c.port_lo = lo;
	wc->c.port_hi = hi;
	return write_conf(wc);
}

int io_wan_claim_set_addr(struct io_wan_claim *wc, uint32_t addr)
{
	wc->c.wan_addr = addr;
	return write_conf(wc);
}

int io_wan_claim_set_lan(struct io_wan_claim *wc, uint32_t net, uint32_t mask)
{
	wc->c.lan_net = net & mask;
	wc->c.lan_mask = mask;
	return write_conf(wc);
}

int io_wan_claim_set_ports(struct io_wan_claim *wc, uint16_t lo, uint16_t hi)
{
	wc->c.port_lo = lo;
	wc->c.port_hi = hi;
	return write_conf(wc);
}

int io_wan_claim_map_port(struct io_wan_claim *wc, uint8_t proto, uint16_t port, bool mapped)
{
	__u32 key;

	if (proto != PROTO_TCP && proto != PROTO_UDP)
		return -EINVAL;
	key = (proto == PROTO_UDP ? CLAIM_PORT_WORDS : 0) + (port >> 6);
	if (mapped)
		wc->bits[key] |= 1ull << (port & 63);
	else
		wc->bits[key] &= ~(1ull << (port & 63));
	return bpf_map_update_elem(wc->ports, &key, &wc->bits[key], BPF_ANY) ? -errno : 0;
}

/* Does a live NAT mapping hold @port in the part of claim_live at @base? */
static bool live_holds(const struct io_wan_claim *wc, unsigned base, uint16_t port)
{
	return (atomic_load_explicit(&wc->live_bits[base + (port >> 6)], memory_order_relaxed) >>
		(port & 63)) &
	       1;
}

bool io_wan_claim_is_host(const struct io_wan_claim *wc, uint8_t proto, uint32_t daddr,
			  uint16_t port)
{
	const struct claim_conf *c;
	unsigned half;

	if (!wc || !wc->c.wan_ifindex)
		return false;
	c = &wc->c;
	if (c->lan_mask && (daddr & c->lan_mask) == c->lan_net)
		return false; /* the LAN's, from the WAN: rssnat's (claim_decide.h) */
	if (!c->wan_addr || daddr != c->wan_addr)
		return true;
	if (proto == PROTO_ICMP)
		return !live_holds(wc, CLAIM_LIVE_ICMP, port);
	if (proto != PROTO_TCP && proto != PROTO_UDP)
		return true;
	/* As claim_decide.h claim_port(): a live mapping's or a port mapping's. */
	half = proto == PROTO_UDP ? CLAIM_PORT_WORDS : 0;
	return !live_holds(wc, proto == PROTO_UDP ? CLAIM_LIVE_UDP : CLAIM_LIVE_TCP, port) &&
	       !((wc->bits[half + (port >> 6)] >> (port & 63)) & 1);
}

_Atomic uint64_t *io_wan_claim_live(struct io_wan_claim *wc)
{
	return wc ? wc->live_bits : NULL;
}

uint64_t io_wan_claim_host_frames(const struct io_wan_claim *wc)
{
	static uint64_t per_cpu[IO_CPUS_MAX];
	int cpus = libbpf_num_possible_cpus();
	__u32 zero = 0;
	uint64_t sum = 0;

	if (!wc || cpus <= 0 || cpus > IO_CPUS_MAX || bpf_map_lookup_elem(wc->host, &zero, per_cpu))
		return 0;
	for (int c = 0; c < cpus; c++)
		sum += per_cpu[c];
	return sum;
}
