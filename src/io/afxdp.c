/* afxdp.c - the afxdp backend: one AF_XDP socket per hardware receive queue,
 * steered by the NIC's own RSS.
 *
 * Theory of operation
 * -------------------
 * open() builds the port so that everything that can fail fails before the
 * first frame is taken from the kernel:
 *   1. the interface must be up and have at least as many receive queues as
 *      asked (ETHTOOL_GCHANNELS; for veth, which reports rx and combined
 *      counts that overlap, /sys/class/net/IF/queues/rx-*);
 *   2. per queue q: a UMEM of 2 * R frames (R receive frames, handed to the
 *      kernel through the fill ring at once, and R transmit frames on a free
 *      stack), its fill and completion rings, an RX and a TX ring of R
 *      descriptors each, all mmap'ed, and the socket bound to (ifindex, q)
 *      with XDP_ZEROCOPY where the driver offers it, else XDP_COPY;
 *   3. the XDP program (bpf/xsk_redirect.bpf.c) loaded, queue q's socket put
 *      at index q of its XSKMAP, then the program attached in native (DRV)
 *      mode - refused, not replaced, if the interface has one already -
 *      through a BPF link, which the kernel detaches when it closes: a kill
 *      -9 leaves nothing to refuse a restart, and close() only ours;
 *   4. promiscuous mode through an AF_PACKET membership (refcounted and
 *      dropped by the kernel when the socket closes, even if we crash);
 *   5. set_rss() with the initial snapshot.
 *
 * Steering is the hardware's (afxdp_nic.c, which says how).
 *
 * Receive: rx_burst() copies descriptors out of the RX ring into the
 * caller's buffers and gives each frame straight back to the fill ring
 * (the R receive frames are either in the fill ring, with the kernel, or in
 * the RX ring, so the fill ring always has room for them). A frame larger
 * than the buffer is dropped and counted.
 *
 * The rings must not become a standing queue: rx_burst() applies CoDel
 * (RFC 8289, src/core/codel.h) to each frame by the time it waited since
 * the XDP program saw it. The program puts bpf_ktime_get_ns() (the
 * monotonic clock) in the 8 bytes of metadata before the frame
 * (bpf_xdp_adjust_meta), which the kernel copies into the UMEM with it, in
 * copy mode as in zero-copy mode. rx_burst() zeroes them before the frame
 * goes back to the fill ring, so a driver without metadata support leaves
 * 0 there: no stamp, no sojourn, no CoDel drop. A frame CoDel would drop is
 * forwarded marked CE instead if it is ECN-capable IPv4 (RFC 3168 section
 * 5; counted rx_codel_marked), else dropped uncopied (rx_codel).
 *
 * Transmit: tx_burst() first takes finished frames back from the completion
 * ring, copies each packet into a free transmit frame, publishes the
 * descriptors and kicks the kernel with sendto() when the TX ring asks for
 * a wakeup. In copy mode one sendto() sends at most 32 frames and says
 * EAGAIN if more are left, so the kick repeats a bounded number of times;
 * what is still queued is kicked again by the next rx_burst() or tx_burst().
 *
 * Frames are FRAME_SIZE (2048) bytes with the kernel's XDP headroom, so an
 * MTU above about 1750 bytes is not supported.
 *
 * Counters have one writer each (the queue's worker, or stats() for the
 * kernel's drops), read with relaxed atomics from the control thread.
 */
#include "afxdp_internal.h"
/* Rings ---------------------------------------------------------------------- */

static uint32_t load_acquire(_Atomic uint32_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static void store_release(_Atomic uint32_t *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

/* Free slots of a ring we produce to (fill, tx). */
static uint32_t prod_free(struct xdp_ring *r)
{
	return r->size - (r->cached - load_acquire(r->consumer));
}

/* Entries ready in a ring we consume from (rx, completion). */
static uint32_t cons_ready(struct xdp_ring *r)
{
	return load_acquire(r->producer) - r->cached;
}

static uint64_t *addr_at(struct xdp_ring *r, uint32_t idx)
{
	return (uint64_t *)r->desc + (idx & r->mask);
}

static struct xdp_desc *desc_at(struct xdp_ring *r, uint32_t idx)
{
	return (struct xdp_desc *)r->desc + (idx & r->mask);
}

static bool needs_wakeup(struct xdp_ring *r)
{
	return atomic_load_explicit(r->flags, memory_order_relaxed) & XDP_RING_NEED_WAKEUP;
}

static int ring_map(int fd, struct xdp_ring *r, const struct xdp_ring_offset *off, uint32_t size,
		    size_t entry, off_t pgoff)
{
	uint8_t *m;

	r->map_len = off->desc + (size_t)size * entry;
	m = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
	if (m == MAP_FAILED)
		return -errno;
	r->map = m;
	r->producer = (_Atomic uint32_t *)(void *)(m + off->producer);
	r->consumer = (_Atomic uint32_t *)(void *)(m + off->consumer);
	r->flags = (_Atomic uint32_t *)(void *)(m + off->flags);
	r->desc = m + off->desc;
	r->size = size;
	r->mask = size - 1;
	return 0;
}

static void ring_unmap(struct xdp_ring *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
}

/* Close ---------------------------------------------------------------------- */

static void queue_close(struct xdp_queue *q)
{
	ring_unmap(&q->fill);
	ring_unmap(&q->comp);
	ring_unmap(&q->rx);
	ring_unmap(&q->tx);
	if (q->fd != XDP_NO_FD)
		close(q->fd);
	q->fd = XDP_NO_FD;
	if (q->umem)
		munmap(q->umem, q->umem_len);
	q->umem = NULL;
	free(q->tx_free);
	q->tx_free = NULL;
}

static void xdp_detach(struct xdp_port *p)
{
	/* Closing the link detaches the program it attached, only that one. */
	if (p->link_fd != XDP_NO_FD)
		close(p->link_fd);
	p->link_fd = XDP_NO_FD;
}

/* Undoes any prefix of open(): every field starts out "not set up". */
static void port_destroy(struct xdp_port *p)
{
	xdp_detach(p); /* first: no frame is redirected to a closing socket */
	for (unsigned i = 0; i < p->queues; i++)
		queue_close(&p->q[i]);
	if (p->obj)
		bpf_object__close(p->obj);
	if (p->ctl_fd != XDP_NO_FD)
		close(p->ctl_fd); /* drops our share of promiscuous mode */
	free(p);
}

static void xdp_close(struct io_port *io)
{
	if (io)
		port_destroy(port_of(io));
}

/* Open: the interface ---------------------------------------------------------- */

static int ctl_open(struct xdp_port *p, const char **why)
{
	int err;

	/* Protocol 0: the socket never receives anything. */
	p->ctl_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (p->ctl_fd < 0) {
		err = -errno;
		p->ctl_fd = XDP_NO_FD;
		*why = err == -EPERM || err == -EACCES ? "AF_XDP needs CAP_NET_RAW (run as root)"
						       : "cannot create an AF_PACKET socket";
		return err;
	}
	if ((err = afxdp_iface_check(p, why)))
		return err;
	return io_promisc_on(p->ctl_fd, p->ifindex, why);
}

/* Open: sockets, UMEM and rings ------------------------------------------------ */

static int umem_setup(struct xdp_queue *q, unsigned frames, const char **why)
{
	struct xdp_umem_reg reg;

	q->umem_len = (size_t)2 * frames * XDP_FRAME_SIZE;
	q->umem = mmap(NULL, q->umem_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (q->umem == MAP_FAILED) {
		q->umem = NULL;
		*why = "cannot allocate the UMEM (out of memory?)";
		return -ENOMEM;
	}
	memset(&reg, 0, sizeof(reg));
	reg.addr = (uint64_t)(uintptr_t)q->umem;
	reg.len = q->umem_len;
	reg.chunk_size = XDP_FRAME_SIZE;
	if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg))) {
		*why = "cannot register the UMEM (XDP_UMEM_REG; locked memory limit?)";
		return -errno;
	}
	return 0;
}

static int rings_setup(struct xdp_queue *q, unsigned frames, const char **why)
{
	static const int sizes[] = {XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING,
				    XDP_TX_RING};
	struct xdp_mmap_offsets off;
	socklen_t len = sizeof(off);
	int n = (int)frames, err;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (setsockopt(q->fd, SOL_XDP, sizes[i], &n, sizeof(n))) {
			*why = "cannot size the AF_XDP rings";
			return -errno;
		}
	if (getsockopt(q->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len)) {
		*why = "cannot read the AF_XDP ring offsets";
		return -errno;
	}
	if ((err = ring_map(q->fd, &q->fill, &off.fr, frames, sizeof(uint64_t),
			    XDP_UMEM_PGOFF_FILL_RING)) ||
	    (err = ring_map(q->fd, &q->comp, &off.cr, frames, sizeof(uint64_t),
			    XDP_UMEM_PGOFF_COMPLETION_RING)) ||
	    (err = ring_map(q->fd, &q->rx, &off.rx, frames, sizeof(struct xdp_desc),
			    XDP_PGOFF_RX_RING)) ||
	    (err = ring_map(q->fd, &q->tx, &off.tx, frames, sizeof(struct xdp_desc),
			    XDP_PGOFF_TX_RING))) {
		*why = "cannot map the AF_XDP rings";
		return err;
	}
	return 0;
}

/* Receive frames to the kernel, transmit frames on the free stack. */
static int frames_setup(struct xdp_queue *q, unsigned frames, const char **why)
{
	q->tx_free = calloc(frames, sizeof(*q->tx_free));
	if (!q->tx_free) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (unsigned i = 0; i < frames; i++) {
		*addr_at(&q->fill, q->fill.cached++) = (uint64_t)i * XDP_FRAME_SIZE;
		q->tx_free[i] = (uint64_t)(frames + i) * XDP_FRAME_SIZE;
	}
	q->tx_free_n = frames;
	store_release(q->fill.producer, q->fill.cached);
	return 0;
}

static int queue_try(struct xdp_queue *q, const struct xdp_port *p, unsigned qi, bool zerocopy,
		     const char **why)
{
	struct sockaddr_xdp sxdp = {
	    .sxdp_family = AF_XDP,
	    .sxdp_ifindex = (uint32_t)p->ifindex,
	    .sxdp_queue_id = qi,
	    .sxdp_flags = XDP_USE_NEED_WAKEUP | (zerocopy ? XDP_ZEROCOPY : XDP_COPY),
	};
	int err;

	q->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		err = -errno;
		q->fd = XDP_NO_FD;
		*why = err == -EAFNOSUPPORT ? "the kernel lacks AF_XDP (CONFIG_XDP_SOCKETS)"
					    : "cannot create an AF_XDP socket";
		return err;
	}
	if ((err = umem_setup(q, p->frames, why)) || (err = rings_setup(q, p->frames, why)) ||
	    (err = frames_setup(q, p->frames, why)))
		return err;
	if (bind(q->fd, (struct sockaddr *)&sxdp, sizeof(sxdp))) {
		err = -errno;
		*why =
		    io_why_fmt("cannot bind an AF_XDP socket to queue %u (%s)", qi, strerror(-err));
		return err;
	}
	q->zerocopy = zerocopy;
	return 0;
}

/* Zero-copy where the driver offers it; a failed bind leaves the socket in
 * an undefined state, so copy mode starts over with a new one. */
static int queue_open(struct xdp_port *p, unsigned qi, const char **why)
{
	struct xdp_queue *q = &p->q[qi];
	int err;

	if (!queue_try(q, p, qi, true, why))
		return 0;
	queue_close(q);
	memset(q, 0, sizeof(*q));
	q->fd = XDP_NO_FD;
	if ((err = queue_try(q, p, qi, false, why)))
		return err;
	return 0;
}

/* Open: the XDP program -------------------------------------------------------- */

static int bpf_load(struct xdp_port *p, struct io_offload *offload, const struct io_wan_claim *wc,
		    const char **why)
{
	struct bpf_object_open_opts opts;
	struct bpf_program *prog;
	struct bpf_map *xsks;
	int err;

	libbpf_set_print(io_libbpf_quiet);
	io_open_opts(&opts, "xsk_redirect");
	p->obj = bpf_object__open_mem(io_xsk_redirect_bpf, io_xsk_redirect_bpf_len, &opts);
	if (!p->obj) {
		*why = "the embedded XDP object is unreadable";
		return -errno ? -errno : -EINVAL;
	}
	prog = bpf_object__find_program_by_name(p->obj, "xsk_redirect");
	xsks = bpf_object__find_map_by_name(p->obj, "xsks");
	if (!prog || !xsks) {
		*why = "the embedded XDP object lacks xsk_redirect() or its map";
		return -ENOENT;
	}
	if (offload && (err = io_offload_reuse_maps(offload, p->obj, why)))
		return err;
	if ((err = io_wan_claim_reuse_maps(wc, p->obj, why)))
		return err;
	if (bpf_object__load(p->obj)) {
		err = -errno;
		*why = err == -EPERM ? "loading XDP needs CAP_BPF and CAP_NET_ADMIN (run as root)"
				     : "the kernel rejected the XDP program";
		return err ? err : -EINVAL;
	}
	p->prog_fd = bpf_program__fd(prog);
	p->xsks_fd = bpf_map__fd(xsks);
	return 0;
}

static int xdp_commit(struct xdp_port *p, const char **why)
{
	struct bpf_link_create_opts opts;
	int err;

	for (__u32 i = 0; i < p->queues; i++) {
		int fd = p->q[i].fd;
		if (bpf_map_update_elem(p->xsks_fd, &i, &fd, BPF_ANY)) {
			*why = "cannot put the AF_XDP sockets into the XSKMAP";
			return -errno;
		}
	}
	memset(&opts, 0, sizeof(opts)); /* whole, as io_open_opts() says why */
	opts.sz = sizeof(opts);
	opts.flags = XDP_FLAGS_DRV_MODE;
	p->link_fd = bpf_link_create(p->prog_fd, p->ifindex, BPF_XDP, &opts);
	if (p->link_fd < 0) {
		err = p->link_fd;
		p->link_fd = XDP_NO_FD;
		*why = err == -EBUSY || err == -EEXIST
			   ? "the interface has an XDP program already (ip link set IFACE xdp off)"
		       : err == -EOPNOTSUPP
			   ? "the driver has no native XDP"
			   : "cannot attach the XDP program in native mode (Linux 5.9+)";
		return err;
	}
	return 0;
}

/* Open --------------------------------------------------------------------------- */

/* Ring entries per direction: a power of two within bounds. */
static unsigned ring_frames(unsigned asked)
{
	unsigned want = asked ? asked : XDP_RING_FRAMES_DEFAULT, n = XDP_RING_FRAMES_MIN;

	while (n < want && n < XDP_RING_FRAMES_MAX)
		n <<= 1;
	return n;
}

static struct xdp_port *port_alloc(const struct io_params *params, int ifindex)
{
	struct xdp_port *p = calloc(1, sizeof(*p) + params->queues * sizeof(p->q[0]));

	if (!p)
		return NULL;
	p->queues = params->queues;
	p->frames = ring_frames(params->ring_frames);
	p->side = params->side;
	p->ifindex = ifindex;
	snprintf(p->ifname, sizeof(p->ifname), "%s", params->ifname);
	p->ctl_fd = p->prog_fd = p->xsks_fd = p->link_fd = XDP_NO_FD;
	for (unsigned i = 0; i < p->queues; i++)
		p->q[i].fd = XDP_NO_FD;
	return p;
}

static int xdp_open(const struct io_params *params, struct io_port **out, const char **why)
{
	struct xdp_port *p;
	int ifindex = 0, err;

	if ((err = io_check_params(params, &ifindex, why)))
		return err;
	if (!(p = port_alloc(params, ifindex))) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if ((err = ctl_open(p, why)))
		goto fail;
	for (unsigned i = 0; i < p->queues; i++) {
		if ((err = queue_open(p, i, why)))
			goto fail;
		codel_init(&p->q[i].codel, params->codel_target_ns, params->codel_interval_ns);
	}
	if ((err = bpf_load(p, params->offload, params->wan_claim, why)) ||
	    (err = xdp_commit(p, why)) ||
	    (err = afxdp_set_rss((struct io_port *)(void *)p, params->snap, why)))
		goto fail;
	*out = (struct io_port *)(void *)p;
	return 0;
fail:
	port_destroy(p);
	return err;
}

/* Receive ------------------------------------------------------------------------ */

static void kick_tx(struct xdp_queue *q);

/* The XDP program's stamp of the frame at @addr (0: none), then cleared
 * for the chunk's next frame (the theory of operation says why). */
static uint64_t take_stamp(struct xdp_queue *q, uint64_t addr)
{
	uint64_t ts = 0;

	if ((addr & (XDP_FRAME_SIZE - 1)) < sizeof(ts))
		return 0;
	memcpy(&ts, q->umem + addr - sizeof(ts), sizeof(ts));
	memset(q->umem + addr - sizeof(ts), 0, sizeof(ts));
	return ts;
}

/* CoDel's verdict on a frame stamped @ts, @behind frames waiting after it. */
static bool codel_says_drop(struct xdp_queue *q, uint64_t ts, uint64_t now, uint32_t behind)
{
	if (!ts)
		return false;
	return codel_drop(&q->codel, now, now > ts ? now - ts : 0, behind <= 1);
}

/* Copy the frame of @d into @p; false if it does not fit or leaves the UMEM. */
static bool desc_copy(const struct xdp_queue *q, const struct xdp_desc *d, struct pkt *p)
{
	if (d->len > p->cap || d->len < PKT_ETH_LEN || d->addr + d->len > q->umem_len)
		return false;
	memcpy(p->data, q->umem + d->addr, d->len);
	p->len = (uint16_t)d->len;
	return true;
}

static unsigned xdp_rx_burst(struct io_port *io, unsigned qi, struct pkt **pkts, unsigned max)
{
	struct xdp_queue *q = &port_of(io)->q[qi];
	uint32_t ready = cons_ready(&q->rx), room = prod_free(&q->fill);
	unsigned n = 0, bad = 0, late = 0, marked = 0, take = ready < max ? ready : max;
	uint64_t now = take && q->codel.target ? io_clock_ns(CLOCK_MONOTONIC) : 0;

	if (!ready)
		codel_empty(&q->codel);
	if (take > room)
		take = room; /* cannot happen (see the theory): never lose a frame */
	for (unsigned i = 0; i < take; i++) {
		const struct xdp_desc *d = desc_at(&q->rx, q->rx.cached++);
		uint64_t ts = d->addr < q->umem_len ? take_stamp(q, d->addr) : 0;
		if (q->codel.target && codel_says_drop(q, ts, now, ready - i - 1)) {
			n += io_codel_keep(pkts[n], desc_copy(q, d, pkts[n]), &marked, &late);
		} else if (desc_copy(q, d, pkts[n]))
			n++;
		else
			bad++;
		*addr_at(&q->fill, q->fill.cached++) = d->addr & ~(uint64_t)(XDP_FRAME_SIZE - 1);
	}
	if (take) {
		store_release(q->rx.consumer, q->rx.cached);
		store_release(q->fill.producer, q->fill.cached);
		io_counter_add(&q->rx_frames, n);
		if (bad)
			io_counter_add(&q->rx_oversize, bad);
		if (late)
			io_counter_add(&q->rx_codel, late);
		if (marked)
			io_counter_add(&q->rx_codel_marked, marked);
	}
	if (needs_wakeup(&q->fill))
		recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	if (q->tx.cached != load_acquire(q->tx.consumer))
		kick_tx(q); /* what an earlier kick left in the TX ring */
	return n;
}

/* Transmit ----------------------------------------------------------------------- */

static void reclaim(struct xdp_queue *q)
{
	uint32_t done = cons_ready(&q->comp);

	for (uint32_t i = 0; i < done; i++)
		q->tx_free[q->tx_free_n++] = *addr_at(&q->comp, q->comp.cached++);
	if (done)
		store_release(q->comp.consumer, q->comp.cached);
}

/* Bounded: copy mode sends 32 frames per call and says EAGAIN if more wait. */
static void kick_tx(struct xdp_queue *q)
{
	if (!needs_wakeup(&q->tx))
		return;
	for (unsigned i = 0; i < XDP_KICKS_MAX; i++)
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 || errno != EAGAIN ||
		    q->tx.cached == load_acquire(q->tx.consumer))
			break;
}

static unsigned xdp_tx_burst(struct io_port *io, unsigned qi, struct pkt **pkts, unsigned n)
{
	struct xdp_queue *q = &port_of(io)->q[qi];
	uint32_t room;
	unsigned sent = 0;

	reclaim(q);
	room = prod_free(&q->tx);
	for (unsigned i = 0; i < n && sent < room && q->tx_free_n; i++) {
		const struct pkt *p = pkts[i];
		if (p->len > XDP_FRAME_SIZE)
			continue; /* counted with the other drops */
		uint64_t addr = q->tx_free[--q->tx_free_n];
		struct xdp_desc *d = desc_at(&q->tx, q->tx.cached++);
		memcpy(q->umem + addr, p->data, p->len);
		d->addr = addr;
		d->len = p->len;
		d->options = 0;
		sent++;
	}
	if (sent) {
		store_release(q->tx.producer, q->tx.cached);
		kick_tx(q);
	}
	io_counter_add(&q->tx_frames, sent);
	if (sent < n)
		io_counter_add(&q->tx_dropped, n - sent);
	return sent;
}

/* Control ------------------------------------------------------------------------ */

static int xdp_fd(struct io_port *io, unsigned qi)
{
	return port_of(io)->q[qi].fd;
}

/* The kernel's counters are cumulative: take them as they are. */
static void xdp_stats(struct io_port *io, unsigned qi, struct io_queue_stats *out)
{
	struct xdp_queue *q = &port_of(io)->q[qi];
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	if (!getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &st, &len))
		atomic_store_explicit(&q->kernel_drops, st.rx_dropped + st.rx_ring_full,
				      memory_order_relaxed);
	out->rx = io_counter(&q->rx_frames);
	out->tx = io_counter(&q->tx_frames);
	out->rx_dropped = io_counter(&q->kernel_drops) + io_counter(&q->rx_oversize);
	out->tx_dropped = io_counter(&q->tx_dropped);
	out->rx_codel = io_counter(&q->rx_codel);
	out->rx_codel_marked = io_counter(&q->rx_codel_marked);
}

const struct io_ops afxdp_ops = {
    .name = "afxdp",
    .open = xdp_open,
    .rx_burst = xdp_rx_burst,
    .tx_burst = xdp_tx_burst,
    .set_rss = afxdp_set_rss,
    .device_rss = afxdp_device_rss,
    .fd = xdp_fd,
    .stats = xdp_stats,
    .close = xdp_close,
};
