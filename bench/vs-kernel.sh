#!/usr/bin/env bash
# vs-kernel.sh - rssnat against the kernel's own NAT (nftables masquerade)
# and against no gateway at all, in network namespaces on this machine,
# side by side in one run. Needs root.
#
#   netns rb-lan               netns rb-gw                   netns rb-srv
#   lanh 192.168.137.10/24 <-> lan0 == GATEWAY == wan0  <->  srv 198.51.100.1/24 (next hop)
#   bench-gen send,            kernel: .137.1 | 198.51.100.2     203.0.113.80/24 (server)
#   iperf3 -c, ping            rssnat: no kernel address     bench-gen recv, iperf3 -s
#
# The gateways, each on a topology built afresh:
#   direct   no gateway: lanh and srv are the two ends of one veth pair (the
#            physical limit: what the two ends can move with nothing between
#            them; a router without NAT would itself be a gateway, with a
#            forwarding hop and a second veth crossing to pay);
#   kernel   nftables masquerade (kernel-rps with BENCH_RPS=1: RPS over all
#            CPUs on the gateway's veths);
#   B, or B-offload-on and B-offload-off: rssnat with backend B, once per
#            value of BENCH_OFFLOAD where the binary knows --offload (and
#            once per value of BENCH_CODEL, B-...-codel-V, if given).
# No router namespace: the server namespace is the gateway's next hop too.
# Offloads off on every veth. A veth has no RSS: on every topology the peers
# emulate a NIC's with 'rssnat io tc-rss' (a tc egress program), and every
# sender goes through the qdisc to reach it, so that every gateway's senders
# do the same work (afxdp needs it; the others pay it too, for fair ratios).
#
# Phase 1, per gateway: an idle ping (200 at 10 ms), then 64-byte UDP frames
# over many flows (each answered once before, udp_prime) from bench-gen for BENCH_SECONDS, counted by bench-gen recv
# in the server namespace (an nft ingress rule then drops them there).
# Before them, the generator alone into a namespace that drops at ingress:
# its ceiling, through the qdisc and the emulated RSS as in the runs, and
# bypassing both (what that path costs).
# Phase 2: BENCH_TCP_ROUNDS rounds, each every gateway in turn: iperf3 -P 4
# for BENCH_TCP_SECONDS, 200 pings at 10 ms during it (RTT under load), CPU
# from /proc/stat over the middle of the run divided by the bytes the server
# received then (CPU seconds per GB), and for rssnat how long its threads
# waited runnable for a CPU then (schedstat: the run queue, where a frame
# waits in a ring with its worker, which no queue discipline shortens).
# Ratios are taken within a round; the headline is the median of the rounds'.
#
# Environment: RSSNAT (default build/rssnat), BENCH_SECONDS (5),
# BENCH_FLOWS (1024), BENCH_UDP_ANSWERED (1: each UDP flow answered once
# before the run, udp_prime), BENCH_QUEUES (2), BENCH_BACKENDS ("afxdp afpacket";
# the first one gives the headline), BENCH_OFFLOAD ("on off": rssnat once per
# value with --offload V; skipped, said out loud, if the binary does not know
# --offload; empty: never passed), BENCH_SPREAD (empty; e.g. "on off": rssnat
# once per value with --offload-spread V, B-...-spread-V), BENCH_CODEL (empty; e.g. "500 0": rssnat
# once per value with --codel-target V, side by side), BENCH_RSSNAT_BEFORE
# (another build of rssnat, run as B-before for each backend B, with its
# defaults: before and after a change, side by side), BENCH_RPS=1, BENCH_TCP_ROUNDS (5),
# BENCH_TCP_SECONDS (8), BENCH_TCP_CC (the senders' congestion control,
# iperf3 -C; empty: the system's, net.ipv4.tcp_congestion_control: CoDel's
# drops slow a loss-based sender such as cubic, hardly BBR), BENCH_PINGS (200), BENCH_PERF=DIR (perf record -g of
# rssnat during its UDP test), BENCH_QUIET_BUDGET (60), BENCH_SHARED=1 (each
# backend once more in shared uplink mode, B-shared, side by side with
# dedicated mode: shared_vs_dedicated_B=).
# Every wait is bounded; an EXIT trap removes the namespaces and processes,
# also on failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RSSNAT=${RSSNAT:-$ROOT/build/rssnat}
GEN=$ROOT/build/bench-gen
SECS=${BENCH_SECONDS:-5}
FLOWS=${BENCH_FLOWS:-1024}
QUEUES=${BENCH_QUEUES:-2}
BACKENDS=${BENCH_BACKENDS:-afxdp afpacket}
OFFLOADS=${BENCH_OFFLOAD-on off}
TCP_SECS=${BENCH_TCP_SECONDS:-8}
TCP_ROUNDS=${BENCH_TCP_ROUNDS:-5}
PINGS=${BENCH_PINGS:-200}
UDP_ANSWERED=${BENCH_UDP_ANSWERED:-1}
# RSSNAT_NETNS: the namespaces' prefix (rb), so that two runs can live side by side.
BNS=${RSSNAT_NETNS:-rb}
NS="${BNS}-lan ${BNS}-gw ${BNS}-srv"
TMP=$(mktemp -d /tmp/rb-bench.XXXXXX)
SOCK=$TMP/rssnat.sock
GW_PID=""
BG=""
NCPU=$(nproc)
HZ=$(getconf CLK_TCK)
declare -A PPS SENT BPS_LIST TCPR_K TCPR_D TCPR_S CPUGB_TCP CPUGB_UDP RTT_IDLE RTT_LOAD

die() { echo "vs-kernel: $*" >&2; exit 1; }

kill_ns_procs() {
	local n
	for n in $NS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
}

cleanup() {
	[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null
	for p in $BG; do kill "$p" 2>/dev/null; done
	kill_ns_procs
	wait 2>/dev/null
	for n in $NS; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for tool in ip nft ethtool iperf3 ping python3 cc; do
	command -v $tool >/dev/null || die "$tool not found (tools/deps.sh installs it)"
done
[ -x "$RSSNAT" ] || die "$RSSNAT not built (make build/rssnat)"
[ -z "${BENCH_RSSNAT_BEFORE:-}" ] || [ -x "$BENCH_RSSNAT_BEFORE" ] || die "BENCH_RSSNAT_BEFORE: $BENCH_RSSNAT_BEFORE is not an executable"
[ "$TCP_SECS" -ge 4 ] || die "BENCH_TCP_SECONDS must be at least 4"
[ "$SECS" -ge 3 ] || die "BENCH_SECONDS must be at least 3"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$ROOT/bench/gen.c" -o "$GEN" ||
	die "cannot build the generator"

# The offload variants exist only where the binary knows the option; on
# and off are spelled as its --help spells them (enabled|disabled, netsh's
# words, or on|off).
if [ -n "$OFFLOADS" ] && ! "$RSSNAT" run --help 2>&1 | grep -q -- '--offload'; then
	echo "offload: $RSSNAT run does not know --offload: the offload on/off variants ($OFFLOADS) are skipped; rssnat runs once per backend with its defaults"
	OFFLOADS=""
fi
offload_value() {
	case $1 in
	on) "$RSSNAT" run --help 2>&1 | grep -q -- '--offload enabled' && echo enabled || echo on ;;
	off) "$RSSNAT" run --help 2>&1 | grep -q -- '--offload enabled' && echo disabled || echo off ;;
	*) echo "$1" ;;
	esac
}
CODELS=${BENCH_CODEL:-}
if [ -n "$CODELS" ] && ! "$RSSNAT" run --help 2>&1 | grep -q -- '--codel-target'; then
	echo "codel: $RSSNAT run does not know --codel-target: the variants ($CODELS) are skipped"
	CODELS=""
fi
SPREADS=${BENCH_SPREAD:-}
if [ -n "$SPREADS" ] && ! "$RSSNAT" run --help 2>&1 | grep -q -- '--offload-spread'; then
	echo "spread: $RSSNAT run does not know --offload-spread: the variants ($SPREADS) are skipped"
	SPREADS=""
fi
# Shared uplink mode needs the per-frame WAN claim (--nat-ports): without
# it the gateway's kernel would reset the flows rssnat translates.
if [ "${BENCH_SHARED:-0}" = 1 ] && ! "$RSSNAT" run --help 2>&1 | grep -q -- '--nat-ports'; then
	echo "shared: $RSSNAT run does not know --nat-ports (no per-frame WAN claim): the shared uplink variants are skipped"
	BENCH_SHARED=0
fi
GATEWAYS="direct kernel"
[ "${BENCH_RPS:-0}" = 1 ] && GATEWAYS="$GATEWAYS kernel-rps"
# rssnat's gateways: backend x offload x CoDel target, each with its
# command-line options in GW_ARGS. With BENCH_SHARED=1, each backend's first
# variant runs again in shared uplink mode as B-shared (the kernel keeps
# wan0's address; GW_SHARED), compared with it in shared_vs_dedicated_B=.
declare -A GW_ARGS GW_BIN GW_SHARED GW_DEDICATED
RSSNAT_GWS=""
for b in $BACKENDS; do
	first=""
	for o in ${OFFLOADS:--}; do
		for c in ${CODELS:--}; do
			for sp in ${SPREADS:--}; do
				g=$b args="--backend $b"
				[ "$o" = - ] || { g="$g-offload-$o" args="$args --offload $(offload_value "$o")"; }
				[ "$c" = - ] || { g="$g-codel-$c" args="$args --codel-target $c"; }
				[ "$sp" = - ] || { g="$g-spread-$sp" args="$args --offload-spread $sp"; }
				RSSNAT_GWS="$RSSNAT_GWS $g"
				GW_ARGS[$g]=$args GW_BIN[$g]=$RSSNAT
				[ -n "$first" ] || first=$g
			done
		done
	done
	if [ "${BENCH_SHARED:-0}" = 1 ]; then
		RSSNAT_GWS="$RSSNAT_GWS $b-shared"
		GW_ARGS[$b-shared]=${GW_ARGS[$first]} GW_BIN[$b-shared]=$RSSNAT
		GW_SHARED[$b-shared]=1 GW_DEDICATED[$b-shared]=$first
	fi
	# Another build side by side (what a change did), with its defaults.
	if [ -n "${BENCH_RSSNAT_BEFORE:-}" ]; then
		RSSNAT_GWS="$RSSNAT_GWS $b-before"
		GW_ARGS[$b-before]="--backend $b" GW_BIN[$b-before]=$BENCH_RSSNAT_BEFORE
	fi
done
RSSNAT_GWS=${RSSNAT_GWS# }
GATEWAYS="$GATEWAYS $RSSNAT_GWS"
HEAD=${RSSNAT_GWS%% *}

in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
mac_of() { ip -n "$1" link show "$2" | awk '/link\/ether/ {print $2; exit}'; }
ifstat() { in_ns "$1" cat "/sys/class/net/$2/statistics/$3"; }

teardown() {
	[ -n "$GW_PID" ] && { kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; GW_PID=""; }
	for p in $BG; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	BG=""
	kill_ns_procs
	sleep 0.2
	for n in $NS; do ip netns del "$n" 2>/dev/null; done
	return 0
}

veth_pair() { # NS_A IF_A NS_B IF_B, as many queues as the gateway has workers
	ip link add "$2" netns "$1" numtxqueues "$QUEUES" numrxqueues "$QUEUES" type veth \
		peer name "$4" netns "$3" numtxqueues "$QUEUES" numrxqueues "$QUEUES"
}

# topology GATEWAY: the namespaces and veths; for direct, lanh and srv are
# one pair and rb-gw stays empty. Then the sink, the iperf3 server and the
# emulated RSS on the peers.
topology() {
	local n pair d pairs
	teardown
	for n in $NS; do ip netns add "$n" || return 1; ip -n "$n" link set lo up; done
	if [ "$1" = direct ]; then
		veth_pair ${BNS}-lan lanh ${BNS}-srv srv || return 1
		pairs="${BNS}-lan:lanh ${BNS}-srv:srv"
	else
		veth_pair ${BNS}-lan lanh ${BNS}-gw lan0 && veth_pair ${BNS}-gw wan0 ${BNS}-srv srv || return 1
		pairs="${BNS}-lan:lanh ${BNS}-gw:lan0 ${BNS}-gw:wan0 ${BNS}-srv:srv"
	fi
	for pair in $pairs; do
		n=${pair%%:*} d=${pair#*:}
		in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		in_ns "$n" ethtool -K "$d" tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$n" link set "$d" up
	done
	ip -n ${BNS}-lan addr add 192.168.137.10/24 dev lanh
	ip -n ${BNS}-srv addr add 198.51.100.1/24 dev srv
	ip -n ${BNS}-srv addr add 203.0.113.80/24 dev srv
	if [ "$1" = direct ]; then
		ip -n ${BNS}-lan route add 203.0.113.0/24 dev lanh
		ip -n ${BNS}-srv route add 192.168.137.0/24 dev srv
	else
		ip -n ${BNS}-lan route add default via 192.168.137.1
	fi
	# The sink: bench-gen recv (ETH_P_ALL) sees the frames first, then they go.
	in_ns ${BNS}-srv nft -f - <<-'NFT' || return 1
		table netdev sink {
			chain in {
				type filter hook ingress device "srv" priority 0; policy accept;
				udp dport 9 counter drop
			}
		}
	NFT
	# The answers to the UDP flows (udp_prime) end at the LAN host, before
	# its stack (which would send Port Unreachable back).
	in_ns ${BNS}-lan nft -f - <<-'NFT' || return 1
		table netdev answered {
			chain in {
				type filter hook ingress device "lanh" priority 0; policy accept;
				udp sport 9 counter drop
			}
		}
	NFT
	# ip netns exec execs: $! is iperf3's own PID (its CPU share is read).
	ip netns exec ${BNS}-srv iperf3 -s -B 203.0.113.80 >/dev/null 2>&1 &
	SRV_IPERF=$!
	BG="$BG $SRV_IPERF"
	[ "${NO_TC_RSS:-0}" = 1 ] && return 0 # the generator's ceiling without it
	in_ns ${BNS}-lan "$RSSNAT" io tc-rss --iface lanh --queues "$QUEUES" --side lan >/dev/null &&
		in_ns ${BNS}-srv "$RSSNAT" io tc-rss --iface srv --queues "$QUEUES" --side wan >/dev/null
}

gw_kernel() {
	ip -n ${BNS}-gw addr add 192.168.137.1/24 dev lan0
	ip -n ${BNS}-gw addr add 198.51.100.2/24 dev wan0
	ip -n ${BNS}-gw route add default via 198.51.100.1
	in_ns ${BNS}-gw sysctl -qw net.ipv4.ip_forward=1
	in_ns ${BNS}-gw nft add table ip nat &&
		in_ns ${BNS}-gw nft add chain ip nat post '{ type nat hook postrouting priority 100 ; }' &&
		in_ns ${BNS}-gw nft add rule ip nat post oifname wan0 masquerade
}

rps_all() { # kernel-rps: RPS over every CPU on the gateway's veths
	local mask d q
	mask=$(printf '%x' $(((1 << NCPU) - 1)))
	for d in lan0 wan0; do
		for q in /sys/class/net/$d/queues/rx-*; do
			in_ns ${BNS}-gw sh -c "echo $mask > $q/rps_cpus"
		done
	done
}

# gw_rssnat GATEWAY: rssnat with the options of GW_ARGS[GATEWAY]; in
# shared uplink mode (GW_SHARED) the kernel holds the WAN address and the
# default route, as a DHCP client would leave them, and rssnat is given none.
gw_rssnat() {
	local wan="--wan-addr 198.51.100.2/24 --wan-gateway 198.51.100.1"
	rm -f "$SOCK"
	if [ -n "${GW_SHARED[$1]:-}" ]; then
		ip -n ${BNS}-gw addr add 198.51.100.2/24 dev wan0 &&
			ip -n ${BNS}-gw route add default via 198.51.100.1 || return 1
		wan=""
	fi
	# shellcheck disable=SC2086 # the options are words
	ip netns exec ${BNS}-gw "${GW_BIN[$1]}" run --lan lan0 --wan wan0 $wan \
		--queues "$QUEUES" --socket "$SOCK" --dhcp off --dns off \
		${GW_ARGS[$1]} >"$TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/gw.log" >&2
	return 1
}

warm_up() { # resolves the neighbours on both sides; true if the path works
	in_ns ${BNS}-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null 2>&1
}

# gateway_up GATEWAY: a fresh topology with GATEWAY in it, the path tested.
gateway_up() {
	topology "$1" || return 1
	case $1 in
	direct) ;;
	kernel) gw_kernel || return 1 ;;
	kernel-rps) { gw_kernel && rps_all; } || return 1 ;;
	*) gw_rssnat "$1" || return 1 ;;
	esac
	warm_up
}

is_rssnat() { case " $RSSNAT_GWS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- CPU accounting ----

# cpu_snap FILE PID...: /proc/stat's cpu line, then "pid PID utime stime"
# per process (the sum over its threads) and per ksoftirqd thread, then the
# backlog drops and squeezes summed from /proc/net/softnet_stat, then the
# bytes the server's veth received ("bytes N").
cpu_snap() {
	local f=$1 p drop=0 squeeze=0 x dr sq rest
	shift
	while read -r x dr sq rest; do
		drop=$((drop + 0x$dr)) squeeze=$((squeeze + 0x$sq))
	done </proc/net/softnet_stat
	{
		head -1 /proc/stat
		for p in "$@"; do
			[ -r "/proc/$p/stat" ] && awk -v p="$p" '{sub(/^.*\) /, ""); print "pid", p, $12, $13}' "/proc/$p/stat"
		done
		for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do
			[ -r "/proc/$p/stat" ] && awk -v p="$p" '{sub(/^.*\) /, ""); print "ksoftirqd", p, $12, $13}' "/proc/$p/stat"
		done
		echo "softnet $drop $squeeze"
		echo "bytes $(ifstat ${BNS}-srv srv rx_bytes)"
	} >"$f" 2>/dev/null
}

# cpu_report LABEL BEFORE AFTER NAME=PID...: shares of all CPUs over the
# interval, and each named process (and the ksoftirqd threads together) in
# % of one CPU; then the CPU seconds (all CPUs, busy) per GB the server's
# veth received in the interval.
cpu_report() {
	local label=$1 a=$2 b=$3
	shift 3
	awk -v label="$label" -v ncpu="$NCPU" -v hz="$HZ" -v names="$*" '
	BEGIN { n = split(names, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], x, "="); nm[x[2]] = x[1] } }
	{ w = (FILENAME == ARGV[1]) ? 0 : 1 }
	$1 == "cpu" { for (i = 2; i <= NF; i++) v[w, i] = $i; next }
	$1 == "pid" { t[w, $2] = $3 + $4; next }
	$1 == "ksoftirqd" { ks[w] += $3 + $4; next }
	$1 == "softnet" { sd[w] = $2; sq[w] = $3; next }
	$1 == "bytes" { by[w] = $2 }
	END {
		tot = 0; for (i = 2; i <= 11; i++) { d[i] = v[1, i] - v[0, i]; tot += d[i] }
		if (tot <= 0) tot = 1
		secs = tot / hz / ncpu
		line = sprintf("cpu %s: all %d CPUs: user %.0f%% system %.0f%% softirq %.0f%% irq %.0f%% idle %.0f%%; of one CPU:", label, ncpu,
			100 * (d[2] + d[3]) / tot, 100 * d[4] / tot, 100 * d[8] / tot, 100 * d[7] / tot, 100 * (d[5] + d[6]) / tot)
		for (i = 1; i <= n; i++) { split(kv[i], x, "="); p = x[2]
			if ((0, p) in t && (1, p) in t) line = line sprintf(" %s %.0f%%", x[1], 100 * (t[1, p] - t[0, p]) / hz / secs) }
		named = 0; for (i = 1; i <= n; i++) { split(kv[i], x, "="); p = x[2]; if ((0, p) in t && (1, p) in t) named += t[1, p] - t[0, p] }
		busy = tot - d[5] - d[6]
		# Softirq run from an interrupt lands on whoever was on the CPU (often
		# idle): not counted as outside work, so this is a lower bound.
		other = 100 * (busy - d[8] - named - (ks[1] - ks[0])) / hz / secs
		if (other < 0) other = 0
		gb = (by[1] - by[0]) / 1e9
		line = line sprintf(" ksoftirqd %.0f%%, other work >= %.0f%%; backlog drops %d, squeezes %d; cpu_s_per_gb=%.2f (%.2f CPU s busy, %.3f GB at the server)",
			100 * (ks[1] - ks[0]) / hz / secs, other, sd[1] - sd[0], sq[1] - sq[0], gb > 0 ? busy / hz / gb : 0, busy / hz, gb)
		print line
		if (other > 20) print "warning: " label ": at least " sprintf("%.0f", other) "% of a CPU went to work outside the benchmark: figures disturbed"
	}' "$a" "$b"
}

cpu_per_gb() { sed -n 's/.*cpu_s_per_gb=\([0-9.]*\).*/\1/p' "$1"; }

# rssnat's threads, % of one CPU each, over the interval (ticks from /proc),
# and the time each waited runnable for a CPU (the run queue: schedstat's
# second field, ns): a frame waits in a ring while its worker does.
thread_snap() {
	local f=$1 t
	: >"$f"
	[ -n "$GW_PID" ] || return 0
	for t in /proc/"$GW_PID"/task/*; do
		awk -v t="${t##*/}" -v w="$(cut -d' ' -f2 "$t/schedstat" 2>/dev/null)" \
			'{sub(/^.*\) /, ""); print t, $12, $13, w + 0}' "$t/stat" >>"$f" 2>/dev/null
	done
}

thread_report() {
	local a=$1 b=$2 secs=$3
	awk -v hz="$HZ" -v secs="$secs" 'FNR == NR { u[$1] = $2; s[$1] = $3; w[$1] = $4; next }
		($1 in u) { line = line sprintf(" tid%s user %.0f%% sys %.0f%% runq-wait %.0f%%", $1, 100 * ($2 - u[$1]) / hz / secs, 100 * ($3 - s[$1]) / hz / secs, 100 * ($4 - w[$1]) / 1e9 / secs) }
		END { print "rssnat threads (% of one CPU; runq-wait: % of the time runnable, waiting for a CPU):" line }' "$a" "$b"
}

# runq_wait_ms A B SECS: the ms per second rssnat's threads waited, in all,
# runnable for a CPU between the two thread_snap files.
runq_wait_ms() {
	awk -v secs="$3" 'FNR == NR { w[$1] = $4; next } ($1 in w) { t += $4 - w[$1] } END { printf "%.0f", t / 1e6 / secs }' "$1" "$2"
}

# ---- round trips ----

# ping_times OUT: BENCH_PINGS pings at 10 ms from the LAN to the server;
# one round trip in ms a line into OUT, "lost N" for the unanswered.
ping_times() {
	in_ns ${BNS}-lan timeout $((PINGS / 50 + 10)) ping -n -c "$PINGS" -i 0.01 -W 1 203.0.113.80 2>/dev/null |
		awk -v n="$PINGS" '/time=/ {sub(/.*time=/, ""); print $1 + 0; got++} END {print "lost", n - got}' >"$1"
}

# rtt_stats FILE...: "mean p99 samples lost" over the files (p99 by rank).
rtt_stats() {
	cat "$@" 2>/dev/null | python3 -c 'import math, sys
t, lost = [], 0
for line in sys.stdin:
    f = line.split()
    if f and f[0] == "lost":
        lost += int(f[1])
    elif f:
        t.append(float(f[0]))
t.sort()
if not t:
    print("0 0 0", lost)
else:
    print("%.3f %.3f %d %d" % (sum(t) / len(t), t[max(0, math.ceil(0.99 * len(t)) - 1)], len(t), lost))'
}

# ---- measurements ----

# wait_quiet: other work on the machine (tests, builds) disturbs the figures;
# wait while more than 20% of all CPUs is busy, within a budget of
# BENCH_QUIET_BUDGET seconds for the whole run (60), then go on regardless.
QUIET_LEFT=${BENCH_QUIET_BUDGET:-60}
busy_pct() { # over 0.5 s
	local a b
	a=$(head -1 /proc/stat)
	sleep 0.5
	b=$(head -1 /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk 'NR == 1 {for (i = 2; i <= 11; i++) x[i] = $i} NR == 2 {for (i = 2; i <= 11; i++) {d = $i - x[i]; t += d; if (i == 5 || i == 6) idle += d}} END {print t ? int(100 * (t - idle) / t) : 0}'
}
wait_quiet() {
	local b
	while [ "$QUIET_LEFT" -gt 0 ] && b=$(busy_pct) && [ "$b" -gt 20 ]; do
		echo "($1: the machine is ${b}% busy with other work; waiting, ${QUIET_LEFT}s of waiting left)"
		sleep 1
		QUIET_LEFT=$((QUIET_LEFT - 2))
	done
}

rssnat_rx() { # "rx_lan rx_wan" summed over the queues
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null | awk '/^queue=/ {for (i = 2; i <= NF; i++) {split($i, a, "="); if (a[1] == "rx_lan") l += a[2]; if (a[1] == "rx_wan") w += a[2]}} END {print l + 0, w + 0}'
}

rssnat_stats() {
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null |
		awk '/^queue=/ {printf "rssnat %s", $1; for (i = 2; i <= NF; i++) if ($i ~ /^(rx_lan|rx_wan|tx_lan|tx_wan|tx_failed|no_buffer|handoff_ring_full|local|handoff|dropped|sessions|ring_dropped_lan|ring_dropped_wan|codel_[a-z_]*)=/) printf " %s", $i; print ""}'
}

# udp_run NAME DST_NS DST_IF [GEN_OPTION...]: the generator towards DST_IF,
# the sink in the server namespace; prints one line and keeps the figures
# in R_SENT_PPS, R_PPS (counted by the sink).
udp_run() {
	local name=$1 dns=$2 dif=$3 smac dmac gpid rpid lan_rx0 srv_rx0 lan_rx srv_rx
	shift 3
	smac=$(mac_of ${BNS}-lan lanh)
	dmac=$(mac_of "$dns" "$dif")
	R_SENT_PPS=0 R_PPS=0
	wait_quiet "udp $name"
	ip netns exec ${BNS}-srv "$GEN" recv --iface srv --dport 9 --seconds $((SECS + 5)) >"$TMP/recv.out" 2>&1 &
	rpid=$!
	for _ in $(seq 1 50); do grep -q ready "$TMP/recv.out" 2>/dev/null && break; sleep 0.1; done
	lan_rx0=$(ifstat "$dns" "$dif" rx_packets)
	srv_rx0=$(ifstat ${BNS}-srv srv rx_packets)
	[ -n "$GW_PID" ] && rssnat_rx >"$TMP/rx0"
	ip netns exec ${BNS}-lan "$GEN" send --iface lanh --src-mac "$smac" --dst-mac "$dmac" \
		--src 192.168.137.10 --dst 203.0.113.80 --flows "$FLOWS" --size 64 --seconds "$SECS" \
		"$@" >"$TMP/send.out" 2>&1 &
	gpid=$!
	if [ -n "${BENCH_PERF:-}" ] && [ -n "$GW_PID" ]; then
		mkdir -p "$BENCH_PERF"
		timeout $((SECS + 5)) perf record -q -g -o "$BENCH_PERF/$name.perf.data" -p "$GW_PID" -- sleep $((SECS - 2)) >/dev/null 2>&1 &
		BG="$BG $!"
	fi
	sleep 1
	cpu_snap "$TMP/c1" "$gpid" "$rpid" ${GW_PID:+$GW_PID}
	thread_snap "$TMP/t1"
	sleep $((SECS - 2))
	cpu_snap "$TMP/c2" "$gpid" "$rpid" ${GW_PID:+$GW_PID}
	thread_snap "$TMP/t2"
	wait "$gpid"
	wait "$rpid"
	lan_rx=$(($(ifstat "$dns" "$dif" rx_packets) - lan_rx0))
	[ -n "$GW_PID" ] && rssnat_rx >"$TMP/rx1"
	srv_rx=$(($(ifstat ${BNS}-srv srv rx_packets) - srv_rx0))
	local sent spps recvd drops rpps apps
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$TMP/send.out")
	spps=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$TMP/send.out")
	recvd=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	drops=$(sed -n 's/.*sink_drops=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	rpps=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	apps=$(sed -n 's/.*arrived_pps=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	R_SENT_PPS=${spps:-0} R_PPS=${rpps:-0}
	printf 'udp %-10s generator sent=%s pps=%s | %s veth rx=%s | sink received=%s pps=%s (sink_drops=%s arrived_pps=%s) | server veth rx=%s\n' \
		"$name" "${sent:-?}" "${spps:-?}" "$dif" "$lan_rx" "${recvd:-?}" "${rpps:-?}" "${drops:-?}" "${apps:-?}" "$srv_rx"
	[ -n "$sent" ] && [ -n "$recvd" ] || { cat "$TMP/send.out" "$TMP/recv.out" >&2; return 1; }
	cpu_report "$name-udp" "$TMP/c1" "$TMP/c2" gen="$gpid" sink="$rpid" ${GW_PID:+rssnat=$GW_PID} | tee "$TMP/cpu-$name-udp"
	if [ -n "$GW_PID" ]; then
		thread_report "$TMP/t1" "$TMP/t2" $((SECS - 2))
		read -r l0 _ <"$TMP/rx0"
		read -r l1 _ <"$TMP/rx1"
		echo "rssnat during UDP: lan0 veth rx=$lan_rx, rssnat rx_lan=$((l1 - l0)) (lost before rssnat read them: $((lan_rx - (l1 - l0))))"
	fi
	return 0
}

# udp_prime: every flow of the UDP run answered once before it, as a real
# UDP flow is (DNS, QUIC, games, VPNs), so that a NAT has it established:
# the generator sends each flow for a second, the server namespace answers
# each flow's first datagram (bench-gen answer); every gateway gets the
# same. rssnat puts a UDP flow on its kernel fast path after the first
# reply; unanswered, every frame would take the user-space path.
# BENCH_UDP_ANSWERED=0: no answers (the flows stay one-way, as before).
udp_prime() {
	local apid smac dmac
	[ "$UDP_ANSWERED" = 1 ] || return 0
	smac=$(mac_of ${BNS}-lan lanh)
	dmac=$(mac_of "$1" "$2")
	ip netns exec ${BNS}-srv "$GEN" answer --iface srv --dport 9 --flows "$FLOWS" --seconds 5 >"$TMP/answer.out" 2>&1 &
	apid=$!
	for _ in $(seq 1 50); do grep -q ready "$TMP/answer.out" 2>/dev/null && break; sleep 0.1; done
	in_ns ${BNS}-lan "$GEN" send --iface lanh --src-mac "$smac" --dst-mac "$dmac" \
		--src 192.168.137.10 --dst 203.0.113.80 --flows "$FLOWS" --size 64 --seconds 1 >/dev/null 2>&1
	wait "$apid"
	sleep 0.5 # the workers install what the answers established
	echo "udp $3: flows answered once before the run: $(sed -n 's/^answered=//p' "$TMP/answer.out") of $FLOWS"
}

# iperf_figures: "received sent retransmits" (bits/s) of $TMP/iperf.json,
# or "0 0 0" if iperf3 failed.
iperf_figures() {
	python3 -c 'import json,sys
try:
    e = json.load(open(sys.argv[1]))["end"]
    print("%.0f %.0f %d" % (e["sum_received"]["bits_per_second"], e["sum_sent"]["bits_per_second"], e["sum_sent"].get("retransmits", 0)))
except Exception as x:
    print("0 0 0")' "$TMP/iperf.json"
}

# The TCP load, the same in every run: iperf3 -P 4 from the LAN namespace
# to the server, JSON into $TMP/iperf.json (iperf_figures reads it).
IPERF_CLIENT=(ip netns exec ${BNS}-lan timeout $((TCP_SECS + 20)) iperf3 -c 203.0.113.80 -P 4
	-t "$TCP_SECS" -J ${BENCH_TCP_CC:+-C "$BENCH_TCP_CC"})

# tcp_run GATEWAY ROUND: iperf3 -P 4 through the gateway, pings during it
# (from the 2nd second), CPU over the middle; R_BPS in bits/s, R_CPUGB. The
# first round prints the CPU shares in full.
tcp_run() {
	local name=$1 round=$2 cpid ppid ipc lan0=0 wan0=0
	R_BPS=0 R_CPUGB=0
	wait_quiet "tcp $name"
	[ -n "$GW_PID" ] && { lan0=$(ifstat ${BNS}-gw lan0 rx_packets) wan0=$(ifstat ${BNS}-gw wan0 rx_packets); rssnat_rx >"$TMP/rx0"; }
	"${IPERF_CLIENT[@]}" >"$TMP/iperf.json" 2>&1 &
	cpid=$!
	sleep 1
	ipc=$(pgrep -P "$cpid" | head -1)
	cpu_snap "$TMP/c1" ${GW_PID:+$GW_PID} $ipc $SRV_IPERF
	thread_snap "$TMP/t1"
	sleep 1
	ping_times "$TMP/ping-load-$name-$round" &
	ppid=$!
	sleep $((TCP_SECS - 3))
	cpu_snap "$TMP/c2" ${GW_PID:+$GW_PID} $ipc $SRV_IPERF
	thread_snap "$TMP/t2"
	wait "$cpid"
	wait "$ppid"
	local rx tx rt
	read -r rx tx rt <<<"$(iperf_figures)"
	R_BPS=$rx
	cpu_report "$name-tcp" "$TMP/c1" "$TMP/c2" ${GW_PID:+rssnat=$GW_PID} ${ipc:+iperf3-client=$ipc} iperf3-server="$SRV_IPERF" >"$TMP/cpu-$name-tcp-$round"
	R_CPUGB=$(cpu_per_gb "$TMP/cpu-$name-tcp-$round")
	read -r pm pp pn pl <<<"$(rtt_stats "$TMP/ping-load-$name-$round")"
	printf 'tcp %-10s round %s: iperf3 -P 4 -t %s: received %s Mbit/s (sent %s Mbit/s, retransmits %s); cpu_s_per_gb=%s; ping under load: mean %s ms p99 %s ms (%s answered, %s lost)\n' \
		"$name" "$round" "$TCP_SECS" "$((rx / 1000000))" "$((tx / 1000000))" "$rt" "$R_CPUGB" "$pm" "$pp" "$pn" "$pl"
	[ -z "$GW_PID" ] || echo "tcp $name round $round: rssnat's threads waited runnable for a CPU $(runq_wait_ms "$TMP/t1" "$TMP/t2" $((TCP_SECS - 2))) ms per second in all (schedstat; load average $(cut -d' ' -f1 /proc/loadavg))"
	[ "$rx" != 0 ] || { tail -5 "$TMP/iperf.json" >&2; return 1; }
	[ "$round" = 1 ] || return 0
	cat "$TMP/cpu-$name-tcp-$round"
	if [ -n "$GW_PID" ]; then
		thread_report "$TMP/t1" "$TMP/t2" $((TCP_SECS - 2)) # t1 to t2: 1 s, then TCP_SECS - 3
		rssnat_rx >"$TMP/rx1"
		lan0=$(($(ifstat ${BNS}-gw lan0 rx_packets) - lan0)) wan0=$(($(ifstat ${BNS}-gw wan0 rx_packets) - wan0))
		read -r l0 w0 <"$TMP/rx0"
		read -r l1 w1 <"$TMP/rx1"
		echo "rssnat during TCP: lan0 veth rx=$lan0, rssnat rx_lan=$((l1 - l0)) (lost before rssnat read them: $((lan0 - (l1 - l0)))); wan0 veth rx=$wan0, rx_wan=$((w1 - w0)) (lost: $((wan0 - (w1 - w0))))"
		rssnat_stats
	fi
	return 0
}

ratio() { python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.2f" % (a / b if b else 0))' "$1" "$2"; }
median() { python3 -c 'import statistics, sys; v = list(map(float, sys.argv[1:])); print("%.2f" % statistics.median(v) if v else "?")' "$@"; }

echo "vs-kernel: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $NCPU CPUs, kernel $(uname -r), loadavg before: $(cut -d' ' -f1-3 /proc/loadavg); ${SECS}s UDP, $FLOWS flows, 64-byte frames; ${TCP_SECS}s TCP x $TCP_ROUNDS rounds; rssnat --queues $QUEUES; TCP congestion control ${BENCH_TCP_CC:-$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null) (the system default)}"
echo "gateways: $GATEWAYS (headline: $HEAD)"

# 0. The generator's ceiling: into the gateway's LAN veth, dropped at
# ingress; as every run sends (through the qdisc and the emulated RSS), and
# bypassing the qdisc (which skips the emulated RSS): what that path costs.
topology kernel || die "cannot build the namespaces"
in_ns ${BNS}-gw nft -f - <<-'NFT' || die "nft (netdev ingress) failed"
	table netdev blackhole {
		chain in {
			type filter hook ingress device "lan0" priority 0; policy drop;
		}
	}
NFT
udp_run generator ${BNS}-gw lan0 || die "generator baseline failed"
GEN_CEIL=$R_SENT_PPS
udp_run gen-bypass ${BNS}-gw lan0 --qdisc-bypass on || die "generator baseline (qdisc bypassed) failed"
GEN_BYPASS=$R_SENT_PPS
NO_TC_RSS=1 topology kernel || die "cannot build the namespaces"
in_ns ${BNS}-gw nft -f - <<-'NFT' || die "nft (netdev ingress) failed"
	table netdev blackhole {
		chain in {
			type filter hook ingress device "lan0" priority 0; policy drop;
		}
	}
NFT
udp_run gen-no-rss ${BNS}-gw lan0 || die "generator baseline (no emulated RSS) failed"
GEN_NO_RSS=$R_SENT_PPS
cost() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.0f' % (100 * (1 - a / b)) if b else '?')" "$1" "$2"; }
echo "generator ceiling: ${GEN_CEIL} pps through the qdisc and the emulated RSS (as every run sends); ${GEN_NO_RSS} pps through the qdisc without the emulated RSS; ${GEN_BYPASS} pps bypassing the qdisc (and so the emulated RSS): the qdisc path costs the generator $(cost "$GEN_NO_RSS" "$GEN_BYPASS")% of its rate, the emulated RSS $(cost "$GEN_CEIL" "$GEN_NO_RSS")% more, $(cost "$GEN_CEIL" "$GEN_BYPASS")% in all"
echo "generator_pps_bypass=$GEN_BYPASS generator_pps_qdisc=$GEN_NO_RSS generator_pps_qdisc_rss=$GEN_CEIL"

# 1. Per gateway: an idle ping, then UDP.
for g in $GATEWAYS; do
	[ "$g" = direct ] && dst="${BNS}-srv srv" || dst="${BNS}-gw lan0"
	gateway_up "$g" || die "$g: the path does not work$( [ -n "$GW_PID" ] && cat "$TMP/gw.log")"
	ping_times "$TMP/ping-idle-$g"
	read -r pm pp pn pl <<<"$(rtt_stats "$TMP/ping-idle-$g")"
	RTT_IDLE[$g]="$pm $pp"
	echo "ping $g: idle round trip: mean $pm ms p99 $pp ms ($pn answered, $pl lost)"
	# shellcheck disable=SC2086
	udp_prime $dst "$g"
	# shellcheck disable=SC2086
	udp_run "$g" $dst || die "$g UDP test failed"
	PPS[$g]=$R_PPS SENT[$g]=$R_SENT_PPS
	CPUGB_UDP[$g]=$(cpu_per_gb "$TMP/cpu-$g-udp")
	if [ -n "$GW_PID" ]; then
		rssnat_stats
		kill -0 "$GW_PID" 2>/dev/null || die "rssnat died during the tests: $(cat "$TMP/gw.log")"
	fi
	[ "$g" = kernel ] && echo "kernel conntrack entries: $(in_ns ${BNS}-gw cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo ?)"
done
teardown

# 2. TCP rounds, each every gateway on a fresh topology. The machine's
# speed drifts between minutes, so a ratio is taken within a round, and the
# headline is the median of the rounds' ratios.
for ROUND in $(seq 1 "$TCP_ROUNDS"); do
	declare -A RB=()
	for g in $GATEWAYS; do
		gateway_up "$g" || die "$g, TCP round $ROUND: the path does not work"
		tcp_run "$g" "$ROUND" || die "$g TCP round $ROUND failed"
		[ -n "$GW_PID" ] && { kill -0 "$GW_PID" 2>/dev/null || die "rssnat died in TCP round $ROUND: $(cat "$TMP/gw.log")"; }
		RB[$g]=$R_BPS
		BPS_LIST[$g]="${BPS_LIST[$g]:-} $R_BPS"
		CPUGB_TCP[$g]="${CPUGB_TCP[$g]:-} $R_CPUGB"
	done
	for g in $GATEWAYS; do
		TCPR_K[$g]="${TCPR_K[$g]:-} $(ratio "${RB[$g]}" "${RB[kernel]}")"
		TCPR_D[$g]="${TCPR_D[$g]:-} $(ratio "${RB[$g]}" "${RB[direct]}")"
		[ -n "${GW_DEDICATED[$g]:-}" ] &&
			TCPR_S[$g]="${TCPR_S[$g]:-} $(ratio "${RB[$g]}" "${RB[${GW_DEDICATED[$g]}]}")"
	done
	teardown
done

# ---- summary ----
field() { sed -n "s/.* $2 \([0-9-]*\)%.*/\1/p" "$TMP/cpu-$1" 2>/dev/null; }
echo "summary (what limits each side):"
echo "  generator: ${GEN_CEIL} pps alone (${GEN_BYPASS} pps with the qdisc and the emulated RSS bypassed, which no run does); it sent$(for g in $GATEWAYS; do printf ' %s pps with %s,' "${SENT[$g]}" "$g"; done)"
echo "  direct (no gateway): the UDP figure is the generator's CPU, which also runs the receiving side's softirq (veth runs it on the sender's CPU); the TCP figure is what iperf3's two ends can move: the physical limit of this machine for these ends."
echo "  kernel UDP: the whole NAT path runs inside the generator's sendmmsg(): generator $(field kernel-udp gen)% of a CPU, $(field kernel-udp idle)% of all CPU time idle. kernel TCP round 1: iperf3 client $(field kernel-tcp-1 iperf3-client)%, server $(field kernel-tcp-1 iperf3-server)% of a CPU, idle $(field kernel-tcp-1 idle)% of all."
for g in $RSSNAT_GWS; do
	echo "  $g: UDP: generator $(field "$g-udp" gen)%, rssnat $(field "$g-udp" rssnat)% of a CPU, idle $(field "$g-udp" idle)% of all; TCP round 1: rssnat $(field "$g-tcp-1" rssnat)%, iperf3 client $(field "$g-tcp-1" iperf3-client)%, server $(field "$g-tcp-1" iperf3-server)% of a CPU, idle $(field "$g-tcp-1" idle)% of all."
done
for g in $GATEWAYS; do
	s=${SENT[$g]} d=${PPS[$g]}
	[ "$s" -gt 0 ] 2>/dev/null || continue
	[ "$d" -lt $((s * 95 / 100)) ] &&
		echo "  note: $g lost $((100 - 100 * d / s))% of what the generator sent: the gateway is the limit"
done
echo "per gateway (TCP: median of the rounds; RTT: all rounds' pings pooled; ratios within a round, median):"
for g in $GATEWAYS; do
	# shellcheck disable=SC2086
	{
		read -r im ip <<<"${RTT_IDLE[$g]}"
		read -r lm lp _ ll <<<"$(rtt_stats "$TMP"/ping-load-"$g"-*)"
		RTT_LOAD[$g]="$lm $lp"
		echo "gateway=$g udp_pps=${PPS[$g]} tcp_bps=$(median ${BPS_LIST[$g]} | cut -d. -f1) tcp_rounds_bps=$(echo ${BPS_LIST[$g]} | tr ' ' ,)" \
			"rtt_idle_mean_ms=$im rtt_idle_p99_ms=$ip rtt_load_mean_ms=$lm rtt_load_p99_ms=$lp rtt_load_lost=$ll" \
			"cpu_s_per_gb_tcp=$(median ${CPUGB_TCP[$g]}) cpu_s_per_gb_udp=${CPUGB_UDP[$g]}" \
			"tcp_vs_direct=$(median ${TCPR_D[$g]}) pps_vs_direct=$(ratio "${PPS[$g]}" "${PPS[direct]}")" \
			"tcp_vs_kernel=$(median ${TCPR_K[$g]}) pps_vs_kernel=$(ratio "${PPS[$g]}" "${PPS[kernel]}")" \
			"(tcp rounds vs kernel: $(echo ${TCPR_K[$g]}))"
	}
done
# The round trip a gateway adds under load: its mean under load less its
# own idle mean; and less the direct path's under load (what the two ends'
# own queues add under the same load is in both).
sub() { python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
for g in $GATEWAYS; do
	read -r lm _ <<<"${RTT_LOAD[$g]}"
	read -r im _ <<<"${RTT_IDLE[$g]}"
	read -r dm _ <<<"${RTT_LOAD[direct]}"
	echo "rtt_added_under_load_ms_$g=$(sub "$lm" "$im") rtt_load_vs_direct_ms_$g=$(sub "$lm" "$dm")"
done
# Shared uplink mode against the same rssnat in dedicated mode (issue 11:
# claiming only its own WAN frames must cost nothing measurable).
for g in $RSSNAT_GWS; do
	d=${GW_DEDICATED[$g]:-}
	[ -n "$d" ] || continue
	# shellcheck disable=SC2086
	echo "shared_vs_dedicated_${g%-shared}: pps=$(ratio "${PPS[$g]}" "${PPS[$d]}") tcp=$(median ${TCPR_S[$g]}) ($g against $d; tcp: median of the rounds' ratios $(echo ${TCPR_S[$g]}))"
done
echo "headline: rssnat $HEAD"
# shellcheck disable=SC2086
echo "tcp_vs_direct=$(median ${TCPR_D[$HEAD]})"
# shellcheck disable=SC2086
echo "kernel_tcp_vs_direct=$(median ${TCPR_D[kernel]})"
echo "pps_ratio_vs_kernel=$(ratio "${PPS[$HEAD]}" "${PPS[kernel]}")"
# shellcheck disable=SC2086
echo "tcp_ratio_vs_kernel=$(median ${TCPR_K[$HEAD]})"
