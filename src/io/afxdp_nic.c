/* afxdp_nic.c - the afxdp backend's interface: its checks before open, and
 * its RSS (see afxdp.c for the backend as a whole).
 *
 * Steering is the hardware's: set_rss() writes the snapshot's key and
 * indirection table with ETHTOOL_SRSSH (Toeplitz) and its side's field set
 * as rx-flow-hash (ETHTOOL_SRXFH) for TCP and UDP over IPv4. A device table
 * of a different size gets the engine's table repeated, which is exact when
 * the device's size is a power-of-two multiple of the engine's. Where the
 * driver refuses (a fixed key, a key of another length, no SRSSH) but
 * reports its RSS (ETHTOOL_GRSSH), the key and table are read back and
 * device_rss() offers them: the gateway makes the engine follow the device,
 * so that NAT ports are chosen for the hash the NIC really computes. Where
 * the device has no RSS at all (veth) set_rss() returns 0 and frames arrive
 * on whatever queue the device picks: the gateway's handoff moves them to
 * the owning worker. On a veth pair a test emulates a NIC's RSS with
 * bpf/tc_rss.bpf.c on the peer ('rssnat io tc-rss'), which computes the
 * engine's queue and sets queue_mapping.
 */
#include "afxdp_internal.h"

#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

/* Open: the interface ------------------------------------------------------------ */

int afxdp_ethtool(const struct xdp_port *p, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->ifname);
	ifr.ifr_data = cmd;
	return ioctl(p->ctl_fd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

static bool driver_is(const struct xdp_port *p, const char *name)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};

	return !afxdp_ethtool(p, &info) && !strcmp(info.driver, name);
}

/* The receive queues sysfs shows (real_num_rx_queues), or 0. */
static unsigned sysfs_rx_queues(const char *ifname)
{
	char path[XDP_SYS_PATH];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "rx-", 3);
	closedir(d);
	return n;
}

/* How many receive queues the interface has (as `ethtool -l` shows them),
 * 0 if it cannot tell. */
static unsigned rx_queues(const struct xdp_port *p)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};

	/* veth reports rx = tx = its queues and combined = min(rx, tx): the
	 * same queues counted twice. */
	if (driver_is(p, "veth") || afxdp_ethtool(p, &ch))
		return sysfs_rx_queues(p->ifname);
	return ch.combined_count + ch.rx_count;
}

int afxdp_iface_check(struct xdp_port *p, const char **why)
{
	unsigned have;
	int err = io_iface_check_up(p->ctl_fd, p->ifname, why);

	if (err)
		return err;
	have = rx_queues(p);
	if (have && p->queues > have) {
		*why = io_why_fmt("asked for %u queues but the interface has %u receive queues "
				  "(ethtool -l; for veth: numrxqueues)",
				  p->queues, have);
		return -EINVAL;
	}
	return 0;
}

/* Steering: the NIC's RSS -------------------------------------------------------- */

/* rx-flow-hash for TCP and UDP over IPv4: the side's field set. Best
 * effort: a NIC with a fixed field set keeps it, and handoff covers it. */
static void flow_hash_set(struct xdp_port *p, unsigned fields)
{
	static const __u32 flows[] = {TCP_V4_FLOW, UDP_V4_FLOW};
	__u64 data = (fields & RSS_F_SRC_ADDR ? RXH_IP_SRC : 0) |
		     (fields & RSS_F_DST_ADDR ? RXH_IP_DST : 0) |
		     (fields & RSS_F_SRC_PORT ? RXH_L4_B_0_1 : 0) |
		     (fields & RSS_F_DST_PORT ? RXH_L4_B_2_3 : 0);

	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		struct ethtool_rxnfc nfc = {
		    .cmd = ETHTOOL_SRXFH, .flow_type = flows[i], .data = data};
		(void)afxdp_ethtool(p, &nfc);
	}
}

/* The device's key and table as they are (ETHTOOL_GRSSH with room for
 * both), as an engine configuration; -errno if the device has none the
 * engine can follow. */
static int read_back(struct xdp_port *p, const struct ethtool_rxfh *sizes,
		     const struct rss_snapshot *snap)
{
	struct ethtool_rxfh *get;
	const char *why = "";
	int err;

	get = calloc(1, sizeof(*get) + (sizes->indir_size + sizes->key_size) * sizeof(__u32));
	if (!get)
		return -ENOMEM;
	get->cmd = ETHTOOL_GRSSH;
	get->indir_size = sizes->indir_size;
	get->key_size = sizes->key_size;
	if (!(err = afxdp_ethtool(p, get)))
		/* hfunc 0: a driver that does not say; Toeplitz is every NIC's default */
		err = io_rss_from_device(
		    &snap->config, !get->hfunc || get->hfunc == ETH_RSS_HASH_TOP,
		    (const uint8_t *)(get->rss_config + get->indir_size), get->key_size,
		    get->rss_config, get->indir_size, p->queues, &p->device, &why);
	free(get);
	return err;
}

/* The engine's key and table into the device (ETHTOOL_SRSSH). A device
 * table of another size gets the engine's repeated; a device key of
 * another length cannot take ours. 0 only if the device now hashes and
 * steers exactly as the engine. */
static int program(struct xdp_port *p, const struct ethtool_rxfh *sizes,
		   const struct rss_snapshot *snap)
{
	const struct rss_key *key = &snap->hasher.key;
	struct ethtool_rxfh *set;
	int err;

	if (sizes->key_size != key->len || !sizes->indir_size)
		return -EOPNOTSUPP;
	set = calloc(1, sizeof(*set) + (sizes->indir_size + sizes->key_size) * sizeof(__u32));
	if (!set)
		return -ENOMEM;
	set->cmd = ETHTOOL_SRSSH;
	set->indir_size = sizes->indir_size;
	set->hfunc = ETH_RSS_HASH_TOP;
	for (__u32 i = 0; i < sizes->indir_size; i++)
		set->rss_config[i] = snap->table[i & snap->bucket_mask];
	set->key_size = key->len;
	memcpy(set->rss_config + sizes->indir_size, key->bytes, key->len);
	err = afxdp_ethtool(p, set);
	free(set);
	return err;
}

int afxdp_set_rss(struct io_port *io, const struct rss_snapshot *snap, const char **why)
{
	struct xdp_port *p = port_of(io);
	struct ethtool_rxfh sizes = {.cmd = ETHTOOL_GRSSH};

	for (unsigned b = 0; b <= snap->bucket_mask; b++)
		if (snap->table[b] >= p->queues) {
			*why = "the RSS table names more queues than the port has";
			return -EINVAL;
		}
	p->follow = false;
	if (afxdp_ethtool(p, &sizes))
		return 0; /* no RSS to program or read (veth): handoff steers */
	flow_hash_set(p,
		      p->side == PKT_SIDE_LAN ? snap->config.fields_lan : snap->config.fields_wan);
	if (program(p, &sizes, snap) == 0)
		return 0;
	/* The device keeps its own RSS: follow it if the engine can, else the
	 * gateway's handoff moves what lands on the wrong worker. */
	p->follow = read_back(p, &sizes, snap) == 0;
	return 0;
}

int afxdp_device_rss(struct io_port *io, struct rss_config *out)
{
	struct xdp_port *p = port_of(io);

	if (!p->follow)
		return -ENOENT;
	*out = p->device;
	return 0;
}
