/* commands.c - the table of rssnat's subcommands. `rssnat help`, the usage
 * lines and the man page's command list come from here. */
#include "cli.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

#define RSS_COMMON_OPTS                                                                            \
	"  --key K           microsoft (default), symmetric, or 40-52 hex bytes (':' optional)\n"  \
	"  --table-size N    indirection table entries, a power of two 1..512 (default 128)\n"     \
	"  --queues N        receive queues the table spreads over, 1..64 (default 1)\n"           \
	"  --weights W,W,..  one weight per queue instead of round robin (sets --queues)\n"        \
	"  --json            one JSON object instead of text\n"

const struct cli_command cli_commands[] = {
    {"help", "[COMMAND]", "List the commands, or show one command's options.", NULL, cli_help},
    {"version", "", "Print rssnat's version.", NULL, cli_version},
    {"rss hash", "[OPTIONS] SRC DST",
     "Toeplitz hash of a tuple, its bucket and queue: hash=0x........ bucket=N queue=N.",
     "SRC and DST are ADDR[:PORT]; IPv6 as [ADDR]:PORT. With ports on both, the 4-tuple\n"
     "is hashed; with none, the 2-tuple (addresses only), as NDIS does.\n\n"
     "Options:\n" RSS_COMMON_OPTS
     "  --fields F        hash input, a subset of sdfn in ethtool's letters: s source\n"
     "                    address, d destination address, f source port, n destination\n"
     "                    port; also 4tuple (sdfn) and 2tuple (sd)\n"
     "  --impl I          auto (default), reference (bit-serial), table, gfni\n\n"
     "Example:\n"
     "  rssnat rss hash 66.9.149.187:2794 161.142.100.80:1766\n"
     "  hash=0x51ccc178 bucket=120 queue=0\n",
     cli_rss_hash},
    {"rss table", "[OPTIONS]", "Show the indirection table: bucket -> queue.",
     "Prints table_size=, queues= and key= on one line, then the queue of every bucket,\n"
     "16 a line, bucket 0 first.\n\nOptions:\n" RSS_COMMON_OPTS,
     cli_rss_table},
    {"rss solve", "[OPTIONS] (--bucket B | --queue Q) SRC DST",
     "Show the ports that steer a tuple into a bucket or onto a queue.",
     "Toeplitz is linear over GF(2), so the ports that put a tuple into one bucket are\n"
     "an affine subspace: rank= says how many bucket bits the port controls, ports=\n"
     "how many of the 65536 ports qualify. This is how rssnat chooses NAT ports that\n"
     "bring replies back to the core that holds the flow. The free port may be left\n"
     "out of SRC or DST; if given, current= and steers= say whether it already fits.\n\n"
     "Options:\n" RSS_COMMON_OPTS
     "  --fields F        hash input as for 'rss hash' (default sdfn)\n"
     "  --bucket B        the target bucket\n"
     "  --queue Q         the target queue (every bucket the table gives it)\n"
     "  --port src|dst    which port is free (default dst)\n"
     "  --range LO-HI     list only ports in this range (default 0-65535)\n"
     "  --limit N         list at most N ports (default 16, 0 for all)\n\n"
     "Example: which destination ports bring this flow to bucket 5?\n"
     "  rssnat rss solve --bucket 5 --range 1024-65535 66.9.149.187:2794 161.142.100.80\n",
     cli_rss_solve},
    {"run", "--lan IF --wan IF [--wan-addr ADDR/LEN --wan-gateway ADDR] [OPTIONS] | --config FILE",
     "Run the gateway in the foreground between two interfaces (root).",
     "Every check is made before anything starts; SIGINT or SIGTERM stops it\n"
     "cleanly.\n"
     "Shared uplink (no --wan-addr, the default): the kernel keeps the WAN\n"
     "interface and its address, whatever configured it (a DHCP client, a\n"
     "network manager); rssnat reads the address and default gateway from the\n"
     "kernel and follows their changes. Dedicated (--wan-addr and\n"
     "--wan-gateway): rssnat owns the WAN interface and its address.\n"
     "The kernel must not hold the gateway's own addresses: rssnat answers ARP\n"
     "and ping for them itself, and keeps the kernel's IP stack off what is\n"
     "its own (a tc ingress filter).\n\n"
     "Options:\n"
     "  --lan IF              the LAN interface\n"
     "  --wan IF              the WAN interface\n"
     "  --wan-addr ADDR/LEN   dedicated uplink: the gateway's WAN address and subnet\n"
     "  --wan-gateway ADDR    dedicated uplink: the WAN next hop (default route)\n"
     "  --lan-addr ADDR/LEN   the gateway's LAN address (default 192.168.137.1/24)\n"
     "  --queues N            receive queues and workers (default: one per core)\n"
     "  --backend B           packet I/O: afpacket (default; software RSS by eBPF\n"
     "                        fanout) or afxdp (AF_XDP, steered by the NIC's RSS)\n"
     "  --pin on|off          on: worker N on the Nth CPU the process may use\n"
     "                        (wrapping); off (default): the scheduler places them\n"
     "  --offload enabled|disabled  established flows forwarded by eBPF in the kernel\n"
     "                        (default enabled), as 'set global offload='\n"
     "  --socket PATH         control socket (default /run/rssnat/rssnat.sock)\n"
     "  --port-map P:EXT=ADDR:PORT  a service reachable from the WAN, e.g.\n"
     "                        tcp:8080=192.168.137.10:80 (repeatable)\n"
     "  --filtering F         address (default, RFC 4787 REQ-8) or endpoint\n"
     "  --mss-clamp N         lower the MSS option of TCP SYNs to N\n"
     "  --codel-target US     CoDel on the receive rings (RFC 8289): frames that\n"
     "                        waited longer than US microseconds for 20 x US are\n"
     "                        dropped (default 500; 0: off)\n"
     "  --arp-locktime MS     a neighbour's MAC heard this recently is not replaced\n"
     "                        before a probe of it goes unanswered (default 60000;\n"
     "                        0: believed at once, RFC 826)\n"
     "  --timeout NAME=S      a NAT idle timeout, as 'set nat timeout' (repeatable):\n"
     "                        udp, tcp-established, tcp-opening, tcp-closing,\n"
     "                        tcp-rst, icmp, frag\n"
     "  --icmp-error-rate N   ICMP errors the gateway sends per second, to all\n"
     "                        destinations (default 1000, burst 50; 0: none)\n"
     "  --icmp-error-interval MS  and to each destination one per MS milliseconds\n"
     "                        (default 1000, burst 6; 0: no such limit)\n"
     "  --host-mappings N     NAT mappings one LAN host may hold at once (RFC 6888\n"
     "                        REQ-4; default 4096, a sixteenth of the table; 0:\n"
     "                        no limit), as 'set nat host-mappings'\n"
     "  --rss enabled|disabled  RSS at start (default enabled; disabled: one worker\n"
     "                        translates everything, as 'set global rss=disabled')\n"
     "  --rss-key K           microsoft (default), symmetric, or 40-52 hex bytes\n"
     "  --rss-table W,W,..    table weights, one per queue (default round robin)\n"
     "  --rss-table-size N    indirection table entries (default 128)\n"
     "\nLAN services (as Windows ICS; both on by default):\n"
     "  --dhcp on|off         the DHCP server on the LAN\n"
     "  --dhcp-pool A-B       addresses it leases (default .2 to the last host of\n"
     "                        the LAN subnet: 192.168.137.2-192.168.137.254)\n"
     "  --dhcp-lease S        lease time in seconds (default 86400)\n"
     "  --dhcp-reserve MAC=ADDR  always this address for this MAC (repeatable)\n"
     "  --dhcp-new-rate N     new clients given an address a second, ten seconds'\n"
     "                        worth at once (default 2; 0: no limit)\n"
     "  --dhcp-leases FILE    lease file, kept across restarts (default\n"
     "                        /var/lib/rssnat/dhcp.leases; none: memory only)\n"
     "  --domain NAME         the LAN's domain, for DHCP option 15 and local names\n"
     "                        (default mshome.net)\n"
     "  --dns on|off          the DNS proxy on the LAN address, UDP and TCP 53\n"
     "  --dns-upstream A[:P]  a resolver to forward to, tried in order (repeatable;\n"
     "                        default: the nameservers of\n"
     "                        /run/systemd/resolve/resolv.conf, else /etc/resolv.conf)\n"
     "  --dns-cache N         cache entries (default 1024)\n"
     "  --host-if NAME        the host interface the proxy's sockets use, a TUN\n"
     "                        device holding the LAN address (default rssnat0)\n"
     "\n"
     "  --config FILE         options from FILE, one a line without the dashes\n"
     "                        (\"lan eth1\", \"queues 2\", # comments); options after\n"
     "                        it on the command line override it\n",
     cli_run},
    {"check-config", "FILE", "Check a configuration file: every error, with its line.",
     "The file holds rssnat run's options, one a line without the dashes\n"
     "(\"lan eth1\", \"dns-upstream 203.0.113.53\"), # for comments; see\n"
     "examples/rssnat.conf. Every line is checked and every error printed as\n"
     "FILE:LINE: SETTING: why; then the settings as a whole. What only this host\n"
     "can tell (an interface missing, an address the kernel holds) is a warning.\n"
     "Exit 0 (FILE: ok) or 2. A running gateway reads its file again on SIGHUP\n"
     "(systemctl reload rssnat): the same checks, then RSS settings, NAT timeouts,\n"
     "host-mappings, offload and port mappings change live; the rest waits for a\n"
     "restart\n"
     "(logged).\n",
     cli_check_config},
    {"show stats", "[--json] [--socket PATH]",
     "Per-queue counters of the running gateway, over the control socket.",
     "One line per queue (frames received and sent per side, translated locally,\n"
     "handed off, dropped, live sessions, every NAT counter, kernel ring drops), one\n"
     "line per drop reason seen, then the host interface's counters (host ...) and\n"
     "each side's ARP counters and drops (arp side=lan ..., arp side=wan ...).\n",
     cli_daemon},
    {"show global", "[--json] [--socket PATH]",
     "The running gateway's global state, as netsh interface tcp show global.",
     "One 'Name : value' line each: Receive-Side Scaling State (enabled or\n"
     "disabled), Internet Connection Sharing State, Offload State (enabled,\n"
     "disabled, or unavailable), receive queues in use, hash\n"
     "function and key, field sets per side, indirection table size and weights,\n"
     "steering mode, configuration version, sessions, the local vs handed-off\n"
     "share of translated packets, and the LAN services.\n\n"
     "Example:\n"
     "  rssnat show global | grep Receive-Side\n"
     "  Receive-Side Scaling State          : enabled\n",
     cli_daemon},
    {"set global", "[rss=enabled|disabled] [offload=enabled|disabled] [--json] [--socket PATH]",
     "Switch RSS or the kernel fast path on or off on the running gateway, without losing a flow.",
     "  rss=enabled|disabled      disabled, every bucket of the indirection table\n"
     "                            goes to queue 0 (one worker translates\n"
     "                            everything); enabled, the table spreads them\n"
     "                            again. Sessions move with their buckets to their\n"
     "                            new worker; packets that arrive mid-move are\n"
     "                            handed off, none is dropped for lack of state.\n"
     "  offload=enabled|disabled  disabled, the eBPF fast path sends every frame\n"
     "                            to the workers at once and sessions go on there;\n"
     "                            enabled, established sessions go back to it on\n"
     "                            their next packet.\n"
     "Prints the new state.\n",
     cli_daemon},
    {"show rss", "[--json] [--socket PATH]",
     "The running gateway's RSS table, and per queue: buckets, packets, sessions, load.",
     "First line: rss= version= key= fields_lan= fields_wan= table_size=; then one\n"
     "line per queue: queue= cpu= (-1: not pinned) buckets= rx= tx= sessions=\n"
     "handoff_out= handoff_in= load_pct= (its share of the packets received); then\n"
     "the table, bucket 0 first.\n",
     cli_daemon},
    {"set rss", "SETTING=VALUE... [--json] [--socket PATH]",
     "Change the running gateway's RSS: queues, key, table weights, table size.",
     "Settings (several may be given; all are checked, then applied at once):\n"
     "  queues=N           spread the table over the first N workers (1 to the\n"
     "                     number started); the others go idle\n"
     "  key=K              microsoft, symmetric, or 40-52 hex bytes\n"
     "  table=W,W,..       one weight per queue (their count sets the queues), or\n"
     "                     roundrobin\n"
     "  table-size=N       indirection table entries, a power of two up to 512\n"
     "  rebalance=on|off   every 2 s, move buckets from the busiest queue to the\n"
     "                     idlest by the frames each bucket brought (after RSS++;\n"
     "                     afpacket only: its eBPF fanout counts per bucket)\n"
     "Sessions move with their buckets, as for 'set global'. A new key changes\n"
     "every flow's bucket: existing flows stay with their worker and are handed\n"
     "off; new flows steer by the new key.\n\n"
     "Examples:\n"
     "  rssnat set rss queues=2\n"
     "  rssnat set rss table=1,1,2,2\n",
     cli_daemon},
    {"show sessions", "[proto=P] [addr=A] [port=N] [queue=Q] [limit=N] [--json] [--socket PATH]",
     "The running gateway's NAT sessions, filtered.",
     "One line per session: queue= proto= lan=ADDR:PORT ext=ADDR:PORT\n"
     "remote=ADDR:PORT state= expires_in= offloaded=yes|no fast_packets=N (frames\n"
     "the kernel fast path forwarded), then shown=N matched=N. Filters: proto\n"
     "tcp|udp|icmp; addr matches the LAN or the remote address; port the LAN,\n"
     "external or remote port; queue one worker; limit lines (default 100, 0 all).\n"
     "Each worker copies its own sessions between two bursts.\n",
     cli_daemon},
    {"explain", "SRC[:PORT] DST[:PORT] [proto=tcp|udp|icmp] [--json] [--socket PATH]",
     "Where a packet goes in the running gateway, and why: hash, bucket, queue, owner.",
     "SRC on the LAN is a packet leaving; DST the WAN address is one arriving (a\n"
     "reply, or a port mapping). Prints side= hash= bucket= queue= mapping=\n"
     "ext_port= home_bucket= owner= local=, an offloaded: yes|no line (on the\n"
     "kernel fast path now), then a why: line: translated where it\n"
     "lands, handed off to the owner of its mapping's home bucket, or what a first\n"
     "packet would create. proto defaults to udp; for icmp the port is the echo\n"
     "identifier.\n\n"
     "Example:\n"
     "  rssnat explain 192.168.137.50:40000 198.51.100.10:443 proto=tcp\n",
     cli_daemon},
    {"add portmapping", "PROTO:PORT=ADDR:PORT [--json] [--socket PATH]",
     "Publish a LAN service on the WAN address while the gateway runs.",
     "e.g. tcp:8080=192.168.137.10:80: connections to the WAN address's port 8080\n"
     "reach 192.168.137.10:80. Refused if the port is in use.\n",
     cli_daemon},
    {"delete portmapping", "PROTO:PORT [--json] [--socket PATH]",
     "Withdraw a port mapping; its open connections run until they end.", NULL, cli_daemon},
    {"show portmapping", "[--json] [--socket PATH]",
     "The running gateway's port mappings: proto= ext= lan=, then count=.", NULL, cli_daemon},
    {"set nat", "timeout NAME=SECONDS... | host-mappings N [--json] [--socket PATH]",
     "Change the NAT's idle timeouts or per-host quota while the gateway runs.",
     "Names: udp (default 300), tcp-established (7440), tcp-opening (240),\n"
     "tcp-closing (240), tcp-rst (240), icmp (60), frag (30); tcp is\n"
     "tcp-established. Seconds from 1 to 604800. All are checked, then applied,\n"
     "to existing sessions too: each expires at its last packet plus its new\n"
     "timeout (at once if that is past).\n"
     "host-mappings N: the mappings one LAN host may hold at once (RFC 6888\n"
     "REQ-4), 0 for no limit; a host above a lowered quota keeps its mappings\n"
     "and makes no new ones (drop HOST_QUOTA) until it is below.\n\n"
     "Example:\n"
     "  rssnat set nat timeout udp=120 icmp=30\n"
     "  rssnat set nat host-mappings 2048\n",
     cli_daemon},
    {"show dhcp", "[--json] [--socket PATH]",
     "The DHCP server's leases and counters, from the running gateway.",
     "One line per lease: addr= mac= client_id= hostname= state= expires_in=,\n"
     "then the server's counters and drops by reason.\n",
     cli_daemon},
    {"show dns", "[--json] [--socket PATH]",
     "The DNS proxy's upstreams, cache and counters, from the running gateway.",
     "Counters (queries, cache hits, forwarded, upstream answers and timeouts,\n"
     "failovers, TCP fallbacks, drops by reason), one line per upstream resolver,\n"
     "then the cache's entries with the seconds they have left.\n",
     cli_daemon},
    {"top", "[--interval S] [--count N] [--batch] [--socket PATH]",
     "The running gateway's queues, live: packets per second, handoffs, drops.",
     "Asks the daemon for its counters every interval and shows, per queue, the\n"
     "rates between the last two samples: frames received (RX/s, LAN and WAN) and\n"
     "sent (TX/s), packets the queue translated itself (LOCAL/s) and handed to the\n"
     "worker that owns their session (HANDOFF/s, and HOFF% of the two), frames lost\n"
     "for any reason (DROP/s: NAT and router drops, full rings, send failures), and\n"
     "its live sessions; then the total, and a kernel row: the frames the kernel\n"
     "fast path forwarded (offload), which no queue sees. The header has the time,\n"
     "the number of\n"
     "queues and the RSS state when the daemon reports it.\n\n"
     "On a terminal the screen is redrawn in place until q (or Ctrl-C); elsewhere,\n"
     "or with --batch, each refresh is a block of plain lines.\n\n"
     "Options:\n"
     "  --interval S      seconds between samples, 0.2 to 60 (default 1)\n"
     "  --count N         stop after N refreshes (default: until q or a signal)\n"
     "  --batch           plain lines even on a terminal; keys are not read\n"
     "  --socket PATH     control socket (default $RSSNAT_SOCKET, else\n"
     "                    /run/rssnat/rssnat.sock)\n\n"
     "Example: five refreshes, half a second apart, into a file\n"
     "  rssnat top --batch --interval 0.5 --count 5 >top.log\n",
     cli_top},
    {"simulate", "[OPTIONS]",
     "Run the NAT on N worker shards against synthetic hosts and internet.",
     "LAN hosts open TCP (handshake, data, FIN), UDP (request/response) and ICMP echo\n"
     "flows to a synthetic internet that answers every packet; frames reach the\n"
     "worker shards by the same RSS snapshot a NIC would use, and every flow is\n"
     "checked end to end (addresses and ports restored, checksums valid). No\n"
     "retransmissions: one lost packet is a lost flow. The last line is\n"
     "flows=N completed=N lost=N local_pkts=N handoff_pkts=N.\n\n"
     "Options:\n"
     "  --queues N            worker shards, 1..64 (default 4)\n"
     "  --flows N             flows to run (default 10000)\n"
     "  --proto P             tcp, udp, icmp or mix (default mix)\n"
     "  --steering S          rss: steered ports, hand off the rest (default);\n"
     "                        handoff: no steering, hand off every misplaced packet;\n"
     "                        none: the naive per-core NAT of KB927168\n"
     "  --fields F            4tuple (as NICs hash, default) or endpoint (LAN hashes\n"
     "                        source address+port, WAN destination address+port)\n"
     "  --hosts N             LAN hosts, 1..240 (default 50)\n"
     "  --concurrency N       flows open at once (default 512)\n"
     "  --table-size N        indirection table entries (default 128)\n"
     "  --seed N              random seed (default 1); runs are deterministic\n"
     "  --json                one JSON object\n\n"
     "Example, the failure and its cure side by side:\n"
     "  rssnat simulate --queues 4 --steering none\n"
     "  rssnat simulate --queues 4 --steering rss\n",
     cli_simulate},
    {"bench nat", "[--seconds S]",
     "Benchmark the NAT on one core: established and new sessions, bytes per session.",
     "In memory, no I/O. Prints one line per measurement: established-flow\n"
     "translations (parse included) with 1k, 100k and 1M sessions, new sessions\n"
     "per second (mapping with a steered port + session), and bytes of memory per\n"
     "session counting every table and index.\n",
     cli_bench_nat},
    {"bench rss", "[--seconds S]",
     "Benchmark the hash: ns per IPv4 and IPv6 4-tuple, reference vs fast.",
     "Prints, per family and implementation, reference_ns= fast_ns= speedup=, all\n"
     "measured in the same run over the same random tuples.\n",
     cli_bench_rss},
    {"io probe", "--iface IF [OPTIONS]",
     "Receive on an interface with the afpacket backend and show each frame's queue.",
     "Opens IF with N queues in an AF_PACKET fanout group steered by the eBPF RSS\n"
     "program (Microsoft key, 128 entries round robin, 4-tuple unless --fields), then\n"
     "prints one line per IPv4 frame: queue=Q src=ADDR:PORT dst=ADDR:PORT proto=P,\n"
     "then vlan=VID if it was tagged and frag=1 if it is a fragment (hashed on its\n"
     "addresses only, as are ICMP and other protocols). Last, a summary:\n"
     "frames=K per_queue=a,b,.. skipped=M (skipped: not IPv4, or malformed).\n"
     "Compare with 'rssnat rss hash --queues N SRC DST'. Needs root (CAP_NET_RAW,\n"
     "CAP_BPF); puts IF into promiscuous mode while it runs.\n\n"
     "Options:\n"
     "  --iface IF        the interface (required)\n"
     "  --queues N        queues, 1..64 (default 1)\n"
     "  --side S          lan (default) or wan: which field set the program hashes\n"
     "  --fields F        that side's field set, as for 'rss hash' (default 4tuple)\n"
     "  --icmp-ports      hash an ICMP echo identifier as both ports (icmp_id_as_port)\n"
     "  --count K         stop after K IPv4 frames (default 100)\n"
     "  --seconds S       stop after S seconds (default 10)\n"
     "  --json            one JSON object per frame and for the summary\n"
     "  --backend B       afpacket (default) or afxdp (steered by the device's RSS)\n\n"
     "Example:\n"
     "  rssnat io probe --iface veth0 --queues 4 --count 20\n",
     cli_io_probe},
    {"io tc-rss", "--iface IF --queues N [OPTIONS]",
     "Emulate a NIC's RSS on a veth peer for the afxdp backend (tests).",
     "Attaches a tc egress program to IF that computes the engine's queue Q for each\n"
     "frame (Microsoft key, 128 entries round robin, 4-tuple unless --fields) and\n"
     "sets queue_mapping so that the other end of the veth receives it on queue Q.\n"
     "Stays attached after the command exits. Needs root.\n\n"
     "Options:\n"
     "  --iface IF        the veth end that sends into the gateway (required)\n"
     "  --queues N        queues, 1..64 (default 1)\n"
     "  --side S          lan (default) or wan: the receiving port's side\n"
     "  --fields F        that side's field set (default 4tuple)\n"
     "  --icmp-ports      hash an ICMP echo identifier as both ports\n",
     cli_io_tc_rss},
    {0},
};

static void list_commands(void)
{
	printf("rssnat: Internet Connection Sharing for Linux whose data plane scales with RSS.\n\n"
	       "usage: rssnat COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->path; c++)
		printf("  %-12s %s\n", c->path, c->summary);
	printf("\n'rssnat help COMMAND' or 'rssnat COMMAND --help' shows a command's options.\n");
}

int cli_help(int argc, char **argv)
{
	char path[64] = "";

	if (argc < 2) {
		list_commands();
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strlen(path) + strlen(argv[i]) + 2 > sizeof(path))
			return cli_usage_error(argv[i], "no such command");
		if (i > 1)
			strcat(path, " ");
		strcat(path, argv[i]);
	}
	const struct cli_command *c = cli_find(path);
	if (!c && argc == 2 && cli_list_group(path, false)) {
		printf("rssnat %s: one of\n", path);
		cli_list_group(path, true);
		return CLI_OK;
	}
	if (!c)
		return cli_usage_error(path, "no such command (see 'rssnat help')");
	cli_print_help(c);
	return CLI_OK;
}

int cli_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage_error(argv[1], "unexpected argument");
	printf("rssnat " RSSNAT_VERSION "\n");
	return CLI_OK;
}
