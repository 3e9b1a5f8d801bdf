/* live.c - the gateway's RSS settings, and changing them while it runs.
 *
 * Theory of operation
 * -------------------
 * The RSS configuration (on or off, queues in use, key, table weights) lives
 * in immutable, versioned snapshots (rss.h). A change is checked whole and
 * built into a new snapshot before anything is touched; then it is
 * committed in an order where nothing is lost:
 *
 *   1. the NAT gets the snapshot (nat_set_snapshot()). Each worker adopts
 *      it between two bursts, gives away the sessions of every bucket it no
 *      longer owns and takes those of the buckets it gained; a packet that
 *      reaches the new owner before its sessions did goes to the old owner,
 *      which gives the sessions away and hands the packet back, and the new
 *      owner translates it (nat.h, "Migration").
 *   2. the backends steer by it (io_ops.set_rss(): the eBPF fanout's maps,
 *      double-buffered, or the NIC's table). Until then frames still land
 *      on the old owners, which hand them to the new ones.
 *   3. the kernel fast path's spreading over CPUs (--offload-spread) steers
 *      by it too (gw_offload_set_rss(), double-buffered the same way).
 *
 * One change at a time: the next waits (bounded) until the NAT says the
 * previous migration is complete. Disabling RSS is the snapshot with every
 * bucket on queue 0; "queues" is how many of the started workers the table
 * spreads over (the others go idle; their sessions move away).
 *
 * Snapshots live as long as the NAT may look at them: the current one, and
 * the one before it until the move away from it is complete (nat.h: the NAT
 * frees its older views when the next snapshot is set). So two are kept,
 * about 40 KiB each (mostly the hash's byte tables), however many changes a
 * long-running gateway sees.
 */
#include "gw_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/io.h"
#include "../nat/nat.h"
#include "../rss/rss.h"

enum {
	LIVE_WAIT_MS = 3000, /* for the previous migration to finish */
};

int gw_live_init(struct gw *gw, const char **why)
{
	struct rss_snapshot *snap;
	int err;

	gw->rss_cfg = gw->cfg.rss;
	if (!gw->cfg.rss_weights)
		gw->rss_cfg.queues = gw->n;
	if ((err = rss_snapshot_create(&gw->rss_cfg, 1, &snap, why)))
		return err;
	gw->snap = snap;
	return 0;
}

void gw_live_free(struct gw *gw)
{
	rss_snapshot_destroy(gw->snap);
	rss_snapshot_destroy(gw->prev_snap);
	gw->snap = gw->prev_snap = NULL;
}

/* The previous change's sessions have all moved (bounded wait). */
static bool migration_settled(struct gw *gw)
{
	for (unsigned ms = 0; ms < LIVE_WAIT_MS; ms++) {
		if (nat_migration_done(gw->nat))
			return true;
		usleep(1000);
	}
	return nat_migration_done(gw->nat);
}

int gw_rss_commit(struct gw *gw, const struct rss_config *next, char *note, size_t note_size,
		  const char **why)
{
	struct rss_snapshot *snap;
	int err;

	note[0] = '\0';
	if (next->queues < 1 || next->queues > gw->n) {
		static char msg[96];
		snprintf(msg, sizeof(msg), "queues must be from 1 to %u (the workers started)",
			 gw->n);
		*why = msg;
		return -EINVAL;
	}
	if ((err = rss_snapshot_create(next, gw->snap->version + 1, &snap, why)))
		return err;
	if (!migration_settled(gw)) {
		rss_snapshot_destroy(snap);
		*why = "the previous change is still moving sessions; try again";
		return -EBUSY;
	}
	if ((err = nat_set_snapshot(gw->nat, snap, why))) {
		rss_snapshot_destroy(snap);
		return err;
	}
	/* Committed: from here on nothing is undone. The NAT has let go of the
	 * snapshot before the current one (the move away from it is done). */
	rss_snapshot_destroy(gw->prev_snap);
	gw->prev_snap = gw->snap;
	gw->snap = snap;
	gw->rss_cfg = *next;
	for (int side = 0; side < 2; side++) {
		const char *io_why = "";
		if (gw->io->set_rss(gw->port[side], snap, &io_why))
			snprintf(note, note_size,
				 "note: the %s interface kept its steering (%s); "
				 "misplaced frames are handed off\n",
				 side == GW_LAN ? "LAN" : "WAN", io_why);
	}
	gw_offload_set_rss(gw, snap);
	return 0;
}

/* ---- SIGHUP ---- */

static bool same_rss(const struct rss_config *a, const struct rss_config *b)
{
	return a->enabled == b->enabled && !memcmp(&a->key, &b->key, sizeof(a->key)) &&
	       a->table_size == b->table_size && a->queues == b->queues &&
	       !memcmp(a->weights, b->weights, sizeof(a->weights)) &&
	       a->fields_lan == b->fields_lan && a->fields_wan == b->fields_wan &&
	       a->icmp_id_as_port == b->icmp_id_as_port && a->explicit_table == b->explicit_table &&
	       (!a->explicit_table || !memcmp(a->table, b->table, sizeof(a->table)));
}

/* What only a restart can change: say so, keep running as is. */
static void restart_only(const struct gw_config *now, const struct gw_config *next)
{
	static const char *const fmt = "rssnat: reload: %s changed; it takes effect at restart\n";

	if (strcmp(now->lan_if, next->lan_if) || strcmp(now->wan_if, next->wan_if))
		fprintf(stderr, fmt, "an interface (lan, wan)");
	if (now->lan_addr != next->lan_addr || now->lan_mask != next->lan_mask ||
	    now->wan_addr != next->wan_addr || now->wan_mask != next->wan_mask ||
	    now->wan_gateway != next->wan_gateway)
		fprintf(stderr, fmt, "an address (lan-addr, wan-addr, wan-gateway)");
	if (now->queues != next->queues || strcmp(now->backend, next->backend) ||
	    now->pin != next->pin || now->codel_target_us != next->codel_target_us ||
	    now->offload_spread != next->offload_spread)
		fprintf(stderr, fmt, "queues, backend, pin, codel-target or offload-spread");
	if (strcmp(now->socket_path, next->socket_path))
		fprintf(stderr, fmt, "socket");
	if (now->mss_clamp != next->mss_clamp || now->nat.filtering != next->nat.filtering ||
	    now->arp_locktime_ms != next->arp_locktime_ms)
		fprintf(stderr, fmt, "mss-clamp, arp-locktime or filtering");
	if (now->icmp_limit.per_sec != next->icmp_limit.per_sec ||
	    now->icmp_limit.key_interval_ms != next->icmp_limit.key_interval_ms)
		fprintf(stderr, fmt, "icmp-error-rate or icmp-error-interval");
	/* A range of 0 is "the gateway chooses" (wan_owner.c): not a change. */
	if (next->nat.port_lo &&
	    (now->nat.port_lo != next->nat.port_lo || now->nat.port_hi != next->nat.port_hi))
		fprintf(stderr, fmt, "nat-ports");
	if (now->rss.fields_lan != next->rss.fields_lan ||
	    now->rss.fields_wan != next->rss.fields_wan)
		fprintf(stderr, fmt, "rss-fields");
	if (memcmp(&now->svc, &next->svc, sizeof(now->svc)))
		fprintf(stderr, fmt, "a LAN service setting (dhcp*, dns*, domain, host-if)");
}

static bool has_static(const struct nat_static_map *list, unsigned n,
		       const struct nat_static_map *sm)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i].proto == sm->proto && list[i].ext_port == sm->ext_port &&
		    list[i].lan_addr == sm->lan_addr && list[i].lan_port == sm->lan_port)
			return true;
	return false;
}

struct statics {
	struct gw *gw;
	struct nat_static_map map[NAT_STATIC_MAX];
	unsigned n;
};

/* The configured kind only: port control's dynamic mappings are not the
 * file's to withdraw. */
static void collect_static(void *ctx, const struct nat_static_map *sm)
{
	struct statics *s = ctx;

	if (s->n < NAT_STATIC_MAX && !gw_portctl_is_dynamic(s->gw, sm->proto, sm->ext_port))
		s->map[s->n++] = *sm;
}

/* Phase one: would every port mapping to add find its port free (or freed
 * by a mapping this reload deletes)? */
static int check_statics(struct gw *gw, const struct statics *running, const struct gw_config *next)
{
	struct nat_mapping_info m;

	for (unsigned i = 0; i < next->nat.n_static; i++) {
		const struct nat_static_map *sm = &next->nat.statics[i];
		const char *why = "";
		if (has_static(running->map, running->n, sm))
			continue;
		if (gw_wan_owner_check_mapping(gw, sm, &why)) {
			fprintf(stderr, "rssnat: reload: port-map %s:%u: %s; nothing changed\n",
				sm->proto == 6 ? "tcp" : "udp", sm->ext_port, why);
			return -EADDRINUSE;
		}
		if (nat_find_mapping(gw->nat, sm->proto, 0, sm->ext_port, &m)) {
			bool freed = false;
			for (unsigned j = 0; j < running->n; j++)
				freed |= running->map[j].proto == sm->proto &&
					 running->map[j].ext_port == sm->ext_port &&
					 !has_static(next->nat.statics, next->nat.n_static,
						     &running->map[j]);
			if (!freed) {
				fprintf(
				    stderr,
				    "rssnat: reload: port-map %s:%u: the port is in use; nothing "
				    "changed\n",
				    sm->proto == 6 ? "tcp" : "udp", sm->ext_port);
				return -EBUSY;
			}
		}
	}
	return 0;
}

static void apply_statics(struct gw *gw, const struct statics *running,
			  const struct gw_config *next)
{
	const char *why = "";

	/* The file is the truth: what `add portmapping` added and the file does
	 * not hold goes, and the log says so. */
	for (unsigned i = 0; i < running->n; i++)
		if (!has_static(next->nat.statics, next->nat.n_static, &running->map[i]) &&
		    !nat_static_delete(gw->nat, running->map[i].proto, running->map[i].ext_port,
				       &why)) {
			fprintf(stderr,
				"rssnat: reload: port-map %s:%u is not in the file: withdrawn\n",
				running->map[i].proto == 6 ? "tcp" : "udp",
				running->map[i].ext_port);
			gw_wan_owner_unmapped(gw, running->map[i].proto, running->map[i].ext_port);
		}
	for (unsigned i = 0; i < next->nat.n_static; i++) {
		const struct nat_static_map *sm = &next->nat.statics[i];
		if (has_static(running->map, running->n, sm))
			continue;
		if (nat_static_add(gw->nat, sm, &why))
			fprintf(stderr, "rssnat: reload: port-map %s:%u: %s\n",
				sm->proto == 6 ? "tcp" : "udp", sm->ext_port, why);
		else {
			fprintf(stderr, "rssnat: reload: port-map %s:%u added\n",
				sm->proto == 6 ? "tcp" : "udp", sm->ext_port);
			gw_wan_owner_mapped(gw, sm->proto, sm->ext_port, true);
		}
	}
}

void gw_reload(struct gw *gw)
{
	struct gw_config next;
	struct rss_config rc;
	struct statics running = {.gw = gw};
	struct nat_timeouts timeouts;
	char note[200];
	const char *why = "";

	if (!gw->cfg.reread)
		return;
	fprintf(stderr, "rssnat: reload: reading the configuration again\n");
	if (gw->cfg.reread(&next)) {
		fprintf(stderr, "rssnat: reload: errors above; nothing changed\n");
		return;
	}
	/* Phase one: check everything. */
	rc = next.rss;
	rc.fields_lan = gw->rss_cfg.fields_lan; /* every flow's bucket: at restart only */
	rc.fields_wan = gw->rss_cfg.fields_wan;
	if (!next.rss_weights)
		rc.queues = gw->n;
	if (rc.queues > gw->n || rss_config_check(&rc, &why)) {
		fprintf(stderr, "rssnat: reload: rss: %s; nothing changed\n",
			rc.queues > gw->n ? "more weights than workers" : why);
		return;
	}
	nat_static_list(gw->nat, collect_static, &running);
	if (check_statics(gw, &running, &next))
		return;
	/* Phase two: commit. Only the RSS switch can still refuse (a move in
	 * progress); it goes first, so a refusal leaves everything as it was. */
	if (!same_rss(&gw->rss_cfg, &rc)) {
		if (gw_rss_commit(gw, &rc, note, sizeof(note), &why)) {
			fprintf(stderr, "rssnat: reload: rss: %s; nothing changed\n", why);
			return;
		}
		fputs(note, stderr);
		fprintf(stderr, "rssnat: reload: rss %s, %u queues, as the file says\n",
			rc.enabled ? "enabled" : "disabled", rc.queues);
	}
	nat_get_timeouts(gw->nat, &timeouts);
	if (memcmp(&timeouts, &next.nat.timeouts, sizeof(timeouts))) {
		(void)nat_set_timeouts(gw->nat, &next.nat.timeouts);
		fprintf(stderr, "rssnat: reload: timeouts now ");
		nat_timeouts_format(&next.nat.timeouts, stderr, false);
	}
	if (nat_get_host_mappings(gw->nat) != next.nat.host_mappings) {
		nat_set_host_mappings(gw->nat, next.nat.host_mappings);
		fprintf(stderr, "rssnat: reload: host-mappings now %u\n", next.nat.host_mappings);
	}
	if (gw_offload_available(gw) && gw_offload_enabled(gw) != next.offload) {
		const char *unused = "";
		if (gw_offload_set(gw, next.offload, &unused) == 0)
			fprintf(stderr, "rssnat: reload: offload now %s\n",
				next.offload ? "enabled" : "disabled");
	}
	apply_statics(gw, &running, &next);
	gw_portctl_reload(gw, &next.portctl);
	restart_only(&gw->cfg, &next);
	gw->cfg.nat.timeouts = next.nat.timeouts;
	gw->cfg.nat.host_mappings = next.nat.host_mappings;
	gw->cfg.nat.n_static = next.nat.n_static;
	memcpy(gw->cfg.nat.statics, next.nat.statics, sizeof(next.nat.statics));
	fprintf(stderr, "rssnat: reload: done (configuration version %llu)\n",
		(unsigned long long)gw->snap->version);
}
