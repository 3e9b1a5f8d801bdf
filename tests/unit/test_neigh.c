/* test_neigh.c - the workers' neighbour table: fresh, stale (still used:
 * a late control thread must not stop forwarding), replaced, withdrawn,
 * and never torn while the control thread rewrites it. */
#include "test.h"
#include "../../src/gw/neigh.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0xaa, 0x01};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0xbb, 0x02};
enum { IP = 0x0a89a8c0 }; /* 192.168.137.10, network order on little endian */

TEST(neigh_entry_goes_stale_and_is_still_used)
{
	struct neigh_table *t = calloc(1, sizeof(*t));
	uint8_t mac[6] = {0};

	CHECK_EQ(neigh_lookup(t, IP, 0, mac), NEIGH_NONE);
	neigh_publish(t, IP, mac_a, 1000);
	CHECK_EQ(neigh_lookup(t, IP, 1000 + NEIGH_FRESH_MS - 1, mac), NEIGH_FRESH);
	CHECK(!memcmp(mac, mac_a, 6));
	memset(mac, 0, sizeof(mac));
	/* Past its freshness (the control thread stalled): the MAC still. */
	CHECK_EQ(neigh_lookup(t, IP, 1000 + NEIGH_FRESH_MS, mac), NEIGH_STALE);
	CHECK(!memcmp(mac, mac_a, 6));
	CHECK_EQ(neigh_lookup(t, IP, 1000 + 100 * NEIGH_FRESH_MS, mac), NEIGH_STALE);
	/* A worker's clock a little behind the publisher's: fresh, not stale. */
	CHECK_EQ(neigh_lookup(t, IP, 990, mac), NEIGH_FRESH);
	CHECK_EQ(neigh_lookup(t, IP + 1, 1000, mac), NEIGH_NONE);
	free(t);
}

TEST(neigh_new_mac_replaces_a_stale_entry_and_withdraw_ends_it)
{
	struct neigh_table *t = calloc(1, sizeof(*t));
	uint8_t mac[6];
	uint32_t later = 5 * NEIGH_FRESH_MS;

	neigh_publish(t, IP, mac_a, 0);
	CHECK_EQ(neigh_lookup(t, IP, later, mac), NEIGH_STALE);
	neigh_publish(t, IP, mac_b, later); /* ARP learned (or confirmed) a new MAC */
	CHECK_EQ(neigh_lookup(t, IP, later, mac), NEIGH_FRESH);
	CHECK(!memcmp(mac, mac_b, 6));
	neigh_withdraw(t, IP); /* it stopped answering */
	CHECK_EQ(neigh_lookup(t, IP, later, mac), NEIGH_NONE);
	free(t);
}

TEST(neigh_withdraw_leaves_another_neighbour_in_the_slot)
{
	struct neigh_table *t = calloc(1, sizeof(*t));
	uint8_t mac[6];
	unsigned kept = 0;

	/* More addresses than slots: some share IP's slot. */
	for (uint32_t other = 1; other <= 4 * NEIGH_SLOTS; other++) {
		neigh_publish(t, IP, mac_a, 0);
		neigh_withdraw(t, other);
		kept += neigh_lookup(t, IP, 0, mac) == NEIGH_FRESH;
	}
	CHECK_EQ(kept, 4 * NEIGH_SLOTS);
	free(t);
}

struct visited {
	unsigned n;
	uint32_t ip;
};

static void visit(void *ctx, uint32_t ip)
{
	struct visited *v = ctx;

	v->n++;
	v->ip = ip;
}

TEST(neigh_aging_visits_stale_entries_too)
{
	struct neigh_table *t = calloc(1, sizeof(*t));
	struct visited v = {0};

	neigh_publish(t, IP, mac_a, 0);
	neigh_foreach_aging(t, NEIGH_FRESH_MS / 2 - 1, NEIGH_FRESH_MS / 2, visit, &v);
	CHECK_EQ(v.n, 0);
	neigh_foreach_aging(t, NEIGH_FRESH_MS / 2, NEIGH_FRESH_MS / 2, visit, &v);
	CHECK_EQ(v.n, 1);
	/* Stale: still confirmed (and then published again, or withdrawn). */
	neigh_foreach_aging(t, 3 * NEIGH_FRESH_MS, NEIGH_FRESH_MS / 2, visit, &v);
	CHECK_EQ(v.n, 2);
	CHECK_EQ(v.ip, IP);
	neigh_withdraw(t, IP);
	neigh_foreach_aging(t, 3 * NEIGH_FRESH_MS, NEIGH_FRESH_MS / 2, visit, &v);
	CHECK_EQ(v.n, 2);
	free(t);
}

struct reader {
	struct neigh_table *t;
	_Atomic int stop;
	_Atomic unsigned seen;
	unsigned torn;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	uint8_t mac[6];

	while (!atomic_load(&r->stop))
		if (neigh_lookup(r->t, IP, 0, mac) != NEIGH_NONE) {
			r->seen++;
			r->torn += memcmp(mac, mac_a, 6) && memcmp(mac, mac_b, 6);
		}
	return NULL;
}

TEST(neigh_reader_never_sees_a_torn_mac)
{
	struct reader r = {.t = calloc(1, sizeof(*r.t))};
	pthread_t th;

	neigh_publish(r.t, IP, mac_a, 0);
	pthread_create(&th, NULL, read_loop, &r);
	/* Until the reader has looked often enough (bounded either way). */
	for (int i = 0; i < 20000000 && atomic_load(&r.seen) < 200000; i++)
		neigh_publish(r.t, IP, i & 1 ? mac_b : mac_a, 0);
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	CHECK_EQ(r.torn, 0);
	CHECK(atomic_load(&r.seen) > 0);
	free(r.t);
}
