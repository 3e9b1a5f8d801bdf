/* sim.h - closed-loop simulation: synthetic LAN hosts, rssnat's NAT on N
 * worker shards, and a synthetic internet that answers every packet.
 *
 * Theory of operation
 * -------------------
 * LAN hosts (192.168.137.10 and up) open flows to servers in 203.0.113.0/24:
 * TCP (SYN, SYN-ACK, request, response with FIN, FIN, ACK), UDP (request,
 * response) or ICMP echo. Every frame the hosts and the internet send goes
 * onto a wire; the wire is dispatched to worker queues exactly as a NIC with
 * RSS would (the same snapshot, nat_packet_hash()), workers hand misplaced
 * packets to their owner over SPSC rings, and what leaves the NAT is checked:
 * at the internet, source = WAN address with the same external port for the
 * whole flow and valid checksums; at the LAN host, addresses and ports
 * restored and valid checksums. There are no retransmissions: one packet
 * lost is one flow lost, so "--steering none" shows KB927168 plainly.
 * Time is virtual (one round = 1 ms); everything is deterministic for a seed.
 */
#ifndef RSSNAT_SIM_H
#define RSSNAT_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "../nat/nat.h"

enum sim_proto { SIM_TCP, SIM_UDP, SIM_ICMP, SIM_MIX };

struct sim_config {
	unsigned queues;
	unsigned flows;
	unsigned hosts;
	unsigned concurrency; /* flows open at once */
	unsigned table_size;
	enum sim_proto proto;
	enum nat_steering steering;
	bool endpoint_fields; /* LAN hashes sf, WAN dn, ICMP id as port */
	uint64_t seed;
};

enum { SIM_QUEUES_MAX = 64 };

struct sim_result {
	uint64_t flows, completed, lost;
	uint64_t local_pkts, handoff_pkts;
	uint64_t packets;	  /* frames put on the wires */
	uint64_t bad_checksum;	  /* frames arriving with a wrong checksum */
	uint64_t bad_translation; /* frames arriving with wrong addresses or ports */
	uint64_t ring_full;	  /* handoffs dropped for a full ring */
	uint64_t lost_by_proto[3];
	uint64_t rounds;
	struct nat_counters queue[SIM_QUEUES_MAX];
};

void sim_config_default(struct sim_config *cfg);
/* sim_run() - 0, or -EINVAL/-ENOMEM with *why. */
int sim_run(const struct sim_config *cfg, struct sim_result *res, const char **why);

#endif
