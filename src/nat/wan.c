/* wan.c - the WAN address changes while the NAT runs (nat.h "The WAN
 * address, live"): published by the control thread as a generation,
 * adopted by each worker between bursts, the sessions of an older
 * generation ended. */
#include "nat_internal.h"

static uint64_t wan_word(uint32_t gen, uint32_t addr)
{
	return (uint64_t)gen << 32 | addr;
}

void nat_wan_init(struct nat *nat)
{
	for (unsigned i = 0; i < NAT_WAN_GENS; i++)
		atomic_init(&nat->wan_hist[i], 0);
	atomic_init(&nat->wan_hist[0], nat->cfg.wan_addr);
	atomic_init(&nat->wan, wan_word(0, nat->cfg.wan_addr));
}

void nat_wan_worker_init(struct nat_worker *w)
{
	uint64_t word = atomic_load_explicit(&w->nat->wan, memory_order_acquire);

	w->wan_gen = (uint32_t)(word >> 32);
	w->wan_addr = (uint32_t)word;
}

int nat_set_wan_addr(struct nat *nat, uint32_t addr)
{
	uint64_t word = atomic_load_explicit(&nat->wan, memory_order_relaxed);
	uint32_t gen = (uint32_t)(word >> 32) + 1;

	if ((uint32_t)word == addr)
		return 0; /* the same address: every session still works */
	/* The ring first: a worker that sees the word sees its entry too. */
	atomic_store_explicit(&nat->wan_hist[gen % NAT_WAN_GENS], addr, memory_order_relaxed);
	atomic_store_explicit(&nat->wan, wan_word(gen, addr), memory_order_release);
	return 0;
}

uint32_t nat_wan_addr(const struct nat *nat)
{
	return (uint32_t)atomic_load_explicit(&nat->wan, memory_order_relaxed);
}

bool nat_wan_changed(const struct nat_worker *w)
{
	uint64_t word = atomic_load_explicit(&w->nat->wan, memory_order_relaxed);

	return (uint32_t)(word >> 32) != w->wan_gen;
}

uint32_t nat_wan_of(const struct nat_worker *w, const struct nat_session *s)
{
	if (!nat_wan_stale(w, s))
		return w->wan_addr;
	return atomic_load_explicit(&w->nat->wan_hist[s->wan_gen % NAT_WAN_GENS],
				    memory_order_relaxed);
}

/* One pass over the session array, as a move costs (nat.h): a session of
 * an older generation cannot work on the new address. Sessions in transit
 * to another worker (on an outbox) are the importer's to end. */
void nat_wan_adopt(struct nat_worker *w)
{
	uint64_t word = atomic_load_explicit(&w->nat->wan, memory_order_acquire);
	uint32_t gen = (uint32_t)(word >> 32);

	if (gen == w->wan_gen)
		return;
	w->wan_gen = gen;
	w->wan_addr = (uint32_t)word;
	for (uint32_t i = 0; i < w->n_sessions; i++) {
		const struct nat_session *s = &w->sessions[i];
		if (!s->proto || s->next_wan == NAT_IN_TRANSIT || !nat_wan_stale(w, s))
			continue;
		nat_session_end(w, i);
		w->c.sessions_renumbered++;
	}
}
