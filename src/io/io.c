/* io.c - the packet I/O backends by name: one table, one lookup; and the
 * helpers the backends share. */
#include "io.h"
#include "io_internal.h"

#include "../pkt/pkt.h"
#include "../rss/rss.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const struct io_ops *const backends[] = {
    &afpacket_ops,
    &afxdp_ops,
};

const struct io_ops *io_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (name && !strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

enum { IO_WHY_LEN = 256 };

static _Thread_local char why_buf[IO_WHY_LEN];

const char *io_why_fmt(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	return why_buf;
}

int io_check_params(const struct io_params *params, int *ifindex, const char **why)
{
	if (params->queues < 1 || params->queues > RSS_QUEUES_MAX) {
		*why = "queues must be from 1 to 64";
		return -EINVAL;
	}
	if (!params->snap) {
		*why = "no RSS snapshot";
		return -EINVAL;
	}
	if (!params->ifname || !*params->ifname || strlen(params->ifname) >= IFNAMSIZ) {
		*why = "interface name must be 1 to 15 characters";
		return -EINVAL;
	}
	*ifindex = (int)if_nametoindex(params->ifname);
	if (!*ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	return 0;
}

int io_iface_check_up(int fd, const char *ifname, const char **why)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		*why = "cannot read the interface's flags";
		return -errno;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		*why = "interface is down (ip link set IFACE up)";
		return -ENETDOWN;
	}
	return 0;
}

int io_promisc_on(int fd, int ifindex, const char **why)
{
	struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};

	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		*why = "cannot switch the interface to promiscuous mode";
		return -errno;
	}
	return 0;
}

int io_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

void io_open_opts(struct bpf_object_open_opts *opts, const char *object_name)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->object_name = object_name;
}

void io_tc_hook(struct bpf_tc_hook *hook, int ifindex, enum bpf_tc_attach_point point)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = point;
}

void io_tc_opts(struct bpf_tc_opts *opts, int prog_fd, __u32 flags, __u32 handle, __u32 priority)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->prog_fd = prog_fd;
	opts->flags = flags;
	opts->handle = handle;
	opts->priority = priority;
}

int io_rss_from_device(const struct rss_config *base, bool toeplitz, const uint8_t *key,
		       unsigned key_len, const uint32_t *indir, unsigned indir_size,
		       unsigned queues, struct rss_config *out, const char **why)
{
	struct rss_config c = *base;

	if (!toeplitz) {
		*why = "the device hashes with a function other than Toeplitz";
		return -EINVAL;
	}
	if (key_len < RSS_KEY_LEN_MIN || key_len > RSS_KEY_LEN_MAX) {
		*why = "the device's key is not 40 to 52 bytes";
		return -EINVAL;
	}
	if (!rss_table_size_valid(indir_size)) {
		*why = "the device's indirection table size is not a power of two up to 512";
		return -EINVAL;
	}
	memcpy(c.key.bytes, key, key_len);
	c.key.len = key_len;
	c.table_size = indir_size;
	c.queues = queues;
	c.enabled = true;
	c.explicit_table = true;
	memset(c.weights, 0, sizeof(c.weights));
	for (unsigned b = 0; b < indir_size; b++) {
		if (indir[b] >= queues) {
			*why = "the device's table names a queue the port does not read";
			return -EINVAL;
		}
		c.table[b] = (uint16_t)indir[b];
	}
	if (rss_config_check(&c, why))
		return -EINVAL;
	*out = c;
	return 0;
}

unsigned io_codel_keep(struct pkt *p, bool copied, unsigned *marked, unsigned *dropped)
{
	if (copied && pkt_mark_ce(p->data, p->len)) {
		(*marked)++;
		return 1;
	}
	if (copied && !pkt_congestion_controlled(p->data, p->len))
		return 1;
	(*dropped)++;
	return 0;
}
