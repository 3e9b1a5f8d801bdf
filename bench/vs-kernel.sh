#!/usr/bin/env bash
# vs-kernel.sh - rssnat against the kernel's own NAT (nftables masquerade), in
# network namespaces on this machine, side by side in one run. Needs root.
#
#   netns rb-lan               netns rb-gw                   netns rb-srv
#   lanh 192.168.137.10/24 <-> lan0 == GATEWAY == wan0  <->  srv 198.51.100.1/24 (next hop)
#   bench-gen send,            kernel: .137.1 | 198.51.100.2     203.0.113.80/24 (server)
#   iperf3 -c                  rssnat: no kernel address     bench-gen recv, iperf3 -s
#
# No router namespace: the server namespace is the gateway's next hop too
# (one forwarding hop fewer, so more of the CPU goes to what is measured).
# The topology is built afresh for every gateway. Offloads off on every veth.
#
# Per gateway: (a) 64-byte UDP frames over many flows from bench-gen for
# BENCH_SECONDS, counted by bench-gen recv in the server namespace (an nft
# ingress rule then drops them there, so the server's IP stack costs
# nothing); (b) iperf3 -P 4 TCP. Before them, the generator alone into a
# namespace that drops at ingress: its ceiling.
#
# Environment: RSSNAT (default build/rssnat), BENCH_SECONDS (5),
# BENCH_FLOWS (1024), BENCH_QUEUES (2), BENCH_BACKENDS ("afxdp afpacket":
# rssnat is run once per backend, afxdp with the NIC's RSS emulated on the
# peers by 'rssnat io tc-rss'; the first one gives the headline), BENCH_RPS=1 adds a kernel run with
# RPS over all CPUs on the gateway's veths, BENCH_TCP_ROUNDS (5: TCP is
# measured in that many rounds, each the kernel then every backend, and the
# ratio is the median of the rounds'), BENCH_PERF=DIR records
# `perf record -g` of rssnat during its UDP test into DIR.
# Every wait is bounded; an EXIT trap removes the namespaces and processes,
# also on failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RSSNAT=${RSSNAT:-$ROOT/build/rssnat}
GEN=$ROOT/build/bench-gen
SECS=${BENCH_SECONDS:-5}
FLOWS=${BENCH_FLOWS:-1024}
QUEUES=${BENCH_QUEUES:-2}
# Both backends, the first one's ratios are the headline: afxdp is the fast
# path (AF_XDP, steered by the NIC's RSS, here emulated on the veth peers).
BACKENDS=${BENCH_BACKENDS:-afxdp afpacket}
BACKEND=${BACKENDS%% *}
TCP_SECS=8
TCP_ROUNDS=${BENCH_TCP_ROUNDS:-5}
NS="rb-lan rb-gw rb-srv"
TMP=$(mktemp -d /tmp/rb-bench.XXXXXX)
SOCK=$TMP/rssnat.sock
GW_PID=""
BG=""
NCPU=$(nproc)
HZ=$(getconf CLK_TCK)

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
for tool in ip nft ethtool iperf3 python3 cc; do
	command -v $tool >/dev/null || die "$tool not found (tools/deps.sh installs it)"
done
[ -x "$RSSNAT" ] || die "$RSSNAT not built (make build/rssnat)"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$ROOT/bench/gen.c" -o "$GEN" ||
	die "cannot build the generator"

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

topology() {
	local n pair d
	teardown
	for n in $NS; do ip netns add "$n" || return 1; ip -n "$n" link set lo up; done
	# As many queues as the gateway has workers: the afxdp backend reads
	# hardware queues (afpacket's fanout does not care).
	ip link add lanh netns rb-lan numtxqueues "$QUEUES" numrxqueues "$QUEUES" type veth \
		peer name lan0 netns rb-gw numtxqueues "$QUEUES" numrxqueues "$QUEUES" &&
		ip link add wan0 netns rb-gw numtxqueues "$QUEUES" numrxqueues "$QUEUES" type veth \
			peer name srv netns rb-srv numtxqueues "$QUEUES" numrxqueues "$QUEUES" ||
		return 1
	for pair in rb-lan:lanh rb-gw:lan0 rb-gw:wan0 rb-srv:srv; do
		n=${pair%%:*} d=${pair#*:}
		in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		in_ns "$n" ethtool -K "$d" tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$n" link set "$d" up
	done
	ip -n rb-lan addr add 192.168.137.10/24 dev lanh
	ip -n rb-lan route add default via 192.168.137.1
	ip -n rb-srv addr add 198.51.100.1/24 dev srv
	ip -n rb-srv addr add 203.0.113.80/24 dev srv
	# The sink: bench-gen recv (ETH_P_ALL) sees the frames first, then they go.
	in_ns rb-srv nft -f - <<-'NFT' || return 1
		table netdev sink {
			chain in {
				type filter hook ingress device "srv" priority 0; policy accept;
				udp dport 9 counter drop
			}
		}
	NFT
	in_ns rb-srv iperf3 -s -B 203.0.113.80 >/dev/null 2>&1 &
	SRV_IPERF=$!
	BG="$BG $SRV_IPERF"
}

gw_kernel() {
	ip -n rb-gw addr add 192.168.137.1/24 dev lan0
	ip -n rb-gw addr add 198.51.100.2/24 dev wan0
	ip -n rb-gw route add default via 198.51.100.1
	in_ns rb-gw sysctl -qw net.ipv4.ip_forward=1
	in_ns rb-gw nft add table ip nat &&
		in_ns rb-gw nft add chain ip nat post '{ type nat hook postrouting priority 100 ; }' &&
		in_ns rb-gw nft add rule ip nat post oifname wan0 masquerade
}

rps_all() { # kernel-rps: RPS over every CPU on the gateway's veths
	local mask d
	mask=$(printf '%x' $(((1 << NCPU) - 1)))
	for d in lan0 wan0; do
		in_ns rb-gw sh -c "echo $mask > /sys/class/net/$d/queues/rx-0/rps_cpus"
	done
}

gw_rssnat() {
	in_ns rb-gw sysctl -qw net.ipv4.ip_forward=0
	ip -n rb-gw addr flush dev lan0
	ip -n rb-gw addr flush dev wan0
	rm -f "$SOCK"
	if [ "$BACKEND" = afxdp ]; then # a veth has no RSS: the peers emulate a NIC's
		in_ns rb-lan "$RSSNAT" io tc-rss --iface lanh --queues "$QUEUES" --side lan >/dev/null &&
			in_ns rb-srv "$RSSNAT" io tc-rss --iface srv --queues "$QUEUES" --side wan \
				>/dev/null || return 1
	fi
	ip netns exec rb-gw "$RSSNAT" run --lan lan0 --wan wan0 --wan-addr 198.51.100.2/24 \
		--wan-gateway 198.51.100.1 --queues "$QUEUES" --socket "$SOCK" --dhcp off --dns off \
		--backend "$BACKEND" >"$TMP/gw.log" 2>&1 &
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
	in_ns rb-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null 2>&1
}

# ---- CPU accounting ----

# cpu_snap FILE PID...: /proc/stat's cpu line, then "pid PID utime stime"
# per process (the sum over its threads) and per ksoftirqd thread, then the
# backlog drops and squeezes summed from /proc/net/softnet_stat.
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
	} >"$f" 2>/dev/null
}

# cpu_report LABEL BEFORE AFTER NAME=PID...: shares of all CPUs over the
# interval, and each named process (and the ksoftirqd threads together) in
# % of one CPU.
cpu_report() {
	local label=$1 a=$2 b=$3
	shift 3
	awk -v label="$label" -v ncpu="$NCPU" -v hz="$HZ" -v names="$*" '
	BEGIN { n = split(names, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], x, "="); nm[x[2]] = x[1] } }
	{ w = (FILENAME == ARGV[1]) ? 0 : 1 }
	$1 == "cpu" { for (i = 2; i <= NF; i++) v[w, i] = $i; next }
	$1 == "pid" { t[w, $2] = $3 + $4; next }
	$1 == "ksoftirqd" { ks[w] += $3 + $4; next }
	$1 == "softnet" { sd[w] = $2; sq[w] = $3 }
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
		line = line sprintf(" ksoftirqd %.0f%%, other work >= %.0f%%; backlog drops %d, squeezes %d", 100 * (ks[1] - ks[0]) / hz / secs, other, sd[1] - sd[0], sq[1] - sq[0])
		print line
		if (other > 20) print "warning: " label ": at least " sprintf("%.0f", other) "% of a CPU went to work outside the benchmark: figures disturbed"
	}' "$a" "$b"
}

# rssnat's threads, % of one CPU each, over the interval (ticks from /proc).
thread_snap() {
	local f=$1 t
	: >"$f"
	[ -n "$GW_PID" ] || return 0
	for t in /proc/"$GW_PID"/task/*; do
		awk -v t="${t##*/}" '{sub(/^.*\) /, ""); print t, $12, $13}' "$t/stat" >>"$f" 2>/dev/null
	done
}

thread_report() {
	local a=$1 b=$2 secs=$3
	awk -v hz="$HZ" -v secs="$secs" 'FNR == NR { u[$1] = $2; s[$1] = $3; next }
		($1 in u) { line = line sprintf(" tid%s user %.0f%% sys %.0f%%", $1, 100 * ($2 - u[$1]) / hz / secs, 100 * ($3 - s[$1]) / hz / secs) }
		END { print "rssnat threads (% of one CPU):" line }' "$a" "$b"
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
	while b=$(busy_pct) && [ "$b" -gt 20 ] && [ "$QUIET_LEFT" -gt 0 ]; do
		echo "($1: the machine is ${b}% busy with other work; waiting, ${QUIET_LEFT}s of waiting left)"
		sleep 1
		QUIET_LEFT=$((QUIET_LEFT - 2))
	done
}

# udp_run NAME DST_NS DST_IF: the generator towards the gateway's LAN side,
# the sink in the server namespace; prints one line and keeps the figures
# in R_SENT_PPS, R_PPS (counted by the sink).
udp_run() {
	local name=$1 smac dmac gpid rpid lan_rx0 srv_rx0 lan_rx srv_rx
	smac=$(mac_of rb-lan lanh)
	dmac=$(mac_of "$2" "$3")
	R_SENT_PPS=0 R_PPS=0
	wait_quiet "udp $name"
	ip netns exec rb-srv "$GEN" recv --iface srv --dport 9 --seconds $((SECS + 5)) >"$TMP/recv.out" 2>&1 &
	rpid=$!
	for _ in $(seq 1 50); do grep -q ready "$TMP/recv.out" 2>/dev/null && break; sleep 0.1; done
	lan_rx0=$(ifstat "$2" "$3" rx_packets)
	srv_rx0=$(ifstat rb-srv srv rx_packets)
	[ -n "$GW_PID" ] && rssnat_rx >"$TMP/rx0"
	ip netns exec rb-lan "$GEN" send --iface lanh --src-mac "$smac" --dst-mac "$dmac" \
		--src 192.168.137.10 --dst 203.0.113.80 --flows "$FLOWS" --size 64 --seconds "$SECS" \
		>"$TMP/send.out" 2>&1 &
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
	lan_rx=$(($(ifstat "$2" "$3" rx_packets) - lan_rx0))
	[ -n "$GW_PID" ] && rssnat_rx >"$TMP/rx1"
	srv_rx=$(($(ifstat rb-srv srv rx_packets) - srv_rx0))
	local sent spps recvd drops rpps apps
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$TMP/send.out")
	spps=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$TMP/send.out")
	recvd=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	drops=$(sed -n 's/.*sink_drops=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	rpps=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	apps=$(sed -n 's/.*arrived_pps=\([0-9]*\).*/\1/p' "$TMP/recv.out")
	R_SENT_PPS=${spps:-0} R_PPS=${rpps:-0}
	printf 'udp %-10s generator sent=%s pps=%s | gateway LAN veth rx=%s | sink received=%s pps=%s (sink_drops=%s arrived_pps=%s) | server veth rx=%s\n' \
		"$name" "${sent:-?}" "${spps:-?}" "$lan_rx" "${recvd:-?}" "${rpps:-?}" "${drops:-?}" "${apps:-?}" "$srv_rx"
	[ -n "$sent" ] && [ -n "$recvd" ] || { cat "$TMP/send.out" "$TMP/recv.out" >&2; return 1; }
	cpu_report "$name-udp" "$TMP/c1" "$TMP/c2" gen="$gpid" sink="$rpid" ${GW_PID:+rssnat=$GW_PID} | tee "$TMP/cpu-$name-udp"
	if [ -n "$GW_PID" ]; then
		thread_report "$TMP/t1" "$TMP/t2" $((SECS - 2))
		read -r l0 w0 <"$TMP/rx0"
		read -r l1 w1 <"$TMP/rx1"
		echo "rssnat during UDP: lan0 veth rx=$lan_rx, rssnat rx_lan=$((l1 - l0)) (lost before rssnat read them: $((lan_rx - (l1 - l0))))"
	fi
	return 0
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
IPERF_CLIENT=(ip netns exec rb-lan timeout $((TCP_SECS + 20)) iperf3 -c 203.0.113.80 -P 4
	-t "$TCP_SECS" -J)

# tcp_run NAME: iperf3 -P 4 through the gateway; R_BPS in bits/s.
tcp_run() {
	local name=$1 cpid
	R_BPS=0
	wait_quiet "tcp $name"
	local ipc lan0 wan0
	lan0=$(ifstat rb-gw lan0 rx_packets) wan0=$(ifstat rb-gw wan0 rx_packets)
	[ -n "$GW_PID" ] && rssnat_rx >"$TMP/rx0"
	"${IPERF_CLIENT[@]}" >"$TMP/iperf.json" 2>&1 &
	cpid=$!
	sleep 1
	ipc=$(pgrep -P "$cpid" | head -1)
	cpu_snap "$TMP/c1" ${GW_PID:+$GW_PID} $ipc $SRV_IPERF
	thread_snap "$TMP/t1"
	sleep $((TCP_SECS - 2))
	cpu_snap "$TMP/c2" ${GW_PID:+$GW_PID} $ipc $SRV_IPERF
	thread_snap "$TMP/t2"
	wait "$cpid"
	lan0=$(($(ifstat rb-gw lan0 rx_packets) - lan0)) wan0=$(($(ifstat rb-gw wan0 rx_packets) - wan0))
	local rx tx rt
	read -r rx tx rt <<<"$(iperf_figures)"
	R_BPS=$rx
	printf 'tcp %-10s iperf3 -P 4 -t %s: received %s Mbit/s (sent %s Mbit/s, retransmits %s)\n' \
		"$name" "$TCP_SECS" "$((rx / 1000000))" "$((tx / 1000000))" "$rt"
	[ "$rx" != 0 ] || { tail -5 "$TMP/iperf.json" >&2; return 1; }
	cpu_report "$name-tcp" "$TMP/c1" "$TMP/c2" ${GW_PID:+rssnat=$GW_PID} ${ipc:+iperf3-client=$ipc} iperf3-server="$SRV_IPERF" | tee "$TMP/cpu-$name-tcp"
	if [ -n "$GW_PID" ]; then
		thread_report "$TMP/t1" "$TMP/t2" $((TCP_SECS - 2))
		rssnat_rx >"$TMP/rx1"
		read -r l0 w0 <"$TMP/rx0"
		read -r l1 w1 <"$TMP/rx1"
		R_TCP_LOST=$((lan0 - (l1 - l0) + wan0 - (w1 - w0)))
		echo "rssnat during TCP: lan0 veth rx=$lan0, rssnat rx_lan=$((l1 - l0)) (lost before rssnat read them: $((lan0 - (l1 - l0)))); wan0 veth rx=$wan0, rx_wan=$((w1 - w0)) (lost: $((wan0 - (w1 - w0))))"
	fi
	return 0
}

rssnat_rx() { # "rx_lan rx_wan" summed over the queues
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null | awk '/^queue=/ {for (i = 2; i <= NF; i++) {split($i, a, "="); if (a[1] == "rx_lan") l += a[2]; if (a[1] == "rx_wan") w += a[2]}} END {print l + 0, w + 0}'
}

# ping_rtt NAME: 20 pings through the idle gateway; R_RTT is the average in ms.
ping_rtt() {
	R_RTT=$(in_ns rb-lan ping -c 20 -i 0.05 -W 1 -q 203.0.113.80 2>/dev/null | awk -F/ '/^rtt/ {print $5}')
	echo "ping $1: idle round trip through the gateway, avg ${R_RTT:-?} ms (20 pings)"
}

rssnat_stats() {
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null |
		awk '/^queue=/ {printf "rssnat %s", $1; for (i = 2; i <= NF; i++) if ($i ~ /^(rx_lan|rx_wan|tx_lan|tx_wan|tx_failed|no_buffer|handoff_ring_full|local|handoff|dropped|sessions)=/) printf " %s", $i; print ""}'
}

echo "vs-kernel: $NCPU CPUs, kernel $(uname -r), loadavg before: $(cut -d' ' -f1-3 /proc/loadavg); ${SECS}s UDP, $FLOWS flows, 64-byte frames; ${TCP_SECS}s TCP; rssnat --queues $QUEUES"

# 0. The generator's ceiling: into the gateway's LAN veth, dropped at ingress.
topology || die "cannot build the namespaces"
in_ns rb-gw nft -f - <<-'NFT' || die "nft (netdev ingress) failed"
	table netdev blackhole {
		chain in {
			type filter hook ingress device "lan0" priority 0; policy drop;
		}
	}
NFT
udp_run generator rb-gw lan0 || die "generator baseline failed"
GEN_CEIL=$R_SENT_PPS

# 1. The kernel: nftables masquerade.
topology || die "cannot build the namespaces"
gw_kernel || die "cannot set up the kernel NAT"
warm_up || die "kernel NAT: ping through the gateway fails"
ping_rtt kernel
R_RTT_KERNEL=$R_RTT
udp_run kernel rb-gw lan0 || die "kernel UDP test failed"
K_PPS=$R_PPS K_SENT=$R_SENT_PPS
tcp_run kernel || die "kernel TCP test failed"
K_BPS=$R_BPS
in_ns rb-gw nft list ruleset | grep -q masquerade || die "masquerade rule missing"
echo "kernel conntrack entries: $(in_ns rb-gw cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo ?)"

if [ "${BENCH_RPS:-0}" = 1 ]; then
	topology || die "cannot build the namespaces"
	gw_kernel || die "cannot set up the kernel NAT"
	rps_all
	warm_up || die "kernel-rps: ping through the gateway fails"
	udp_run kernel-rps rb-gw lan0 || die "kernel-rps UDP test failed"
	KR_PPS=$R_PPS
	tcp_run kernel-rps || die "kernel-rps TCP test failed"
	KR_BPS=$R_BPS
fi

# 2. rssnat, once per backend.
for BACKEND in $BACKENDS; do
	echo "rssnat backend: $BACKEND"
	topology || die "cannot build the namespaces"
	gw_rssnat || die "rssnat ($BACKEND) does not start"
	warm_up || die "rssnat ($BACKEND): ping through the gateway fails"
	ping_rtt rssnat
	R_RTT_RSSNAT=$R_RTT
	udp_run rssnat rb-gw lan0 || die "rssnat ($BACKEND) UDP test failed"
	R_PPS_RSSNAT=$R_PPS R_SENT=$R_SENT_PPS
	rssnat_stats
	tcp_run rssnat || die "rssnat ($BACKEND) TCP test failed"
	R_BPS_RSSNAT=$R_BPS
	kill -0 "$GW_PID" 2>/dev/null || die "rssnat died during the tests: $(cat "$TMP/gw.log")"
	teardown
	eval "PPS_$BACKEND=\$R_PPS_RSSNAT BPS_$BACKEND=\$R_BPS_RSSNAT RTT_$BACKEND=\$R_RTT_RSSNAT"
	[ -n "${HEAD_PPS:-}" ] || { HEAD_PPS=$R_PPS_RSSNAT HEAD_BPS=$R_BPS_RSSNAT HEAD_SENT=$R_SENT; }
done

# 3. More TCP rounds, each one the kernel then every backend, each on a
# fresh topology. The machine's speed drifts between minutes (the kernel's
# own TCP figure moved from 5.6 to 7.2 Gbit/s across runs of this script),
# so a ratio is taken within a round, and the headline is the median of
# the rounds' ratios (round 1 is the runs above).
# tcp_round NAME: one iperf3 -P 4 run, its line only; R_BPS.
tcp_round() {
	local name=$1
	R_BPS=0
	wait_quiet "tcp $name"
	"${IPERF_CLIENT[@]}" >"$TMP/iperf.json" 2>&1
	local rx tx rt
	read -r rx tx rt <<<"$(iperf_figures)"
	R_BPS=$rx
	printf 'tcp %-10s round %s: received %s Mbit/s (sent %s Mbit/s, retransmits %s)\n' \
		"$name" "$ROUND" "$((rx / 1000000))" "$((tx / 1000000))" "$rt"
	[ "$rx" != 0 ]
}

ratio() { python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.2f" % (a / b if b else 0))' "$1" "$2"; }
median() { python3 -c 'import statistics, sys; print("%.2f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }

for b in $BACKENDS; do
	eval "t=\$BPS_$b"
	eval "TCPR_$b=$(ratio "$t" "$K_BPS")"
done
for ROUND in $(seq 2 "$TCP_ROUNDS"); do
	if ! { topology && gw_kernel && warm_up; }; then
		die "kernel NAT, TCP round $ROUND: the path does not work"
	fi
	tcp_round kernel || die "kernel TCP round $ROUND failed"
	KB=$R_BPS
	for BACKEND in $BACKENDS; do
		if ! { topology && gw_rssnat && warm_up; }; then
			die "rssnat ($BACKEND), TCP round $ROUND: the path does not work"
		fi
		tcp_round "$BACKEND" || die "rssnat ($BACKEND) TCP round $ROUND failed"
		kill -0 "$GW_PID" 2>/dev/null || die "rssnat died in TCP round $ROUND: $(cat "$TMP/gw.log")"
		eval "TCPR_$BACKEND=\"\$TCPR_$BACKEND $(ratio "$R_BPS" "$KB")\""
	done
	teardown
done
BACKEND=${BACKENDS%% *}

# ---- summary ----
echo "generator ceiling (into a drop at ingress): $GEN_CEIL pps"
field() { sed -n "s/.* $2 \([0-9-]*\)%.*/\1/p" "$TMP/cpu-$1" 2>/dev/null; }
echo "summary (what limits each side):"
echo "  generator: ${GEN_CEIL} pps alone; it sent ${K_SENT} pps with the kernel and ${R_SENT} pps with rssnat."
echo "  kernel UDP: veth runs the receiving side's softirq on the sender's CPU, so the whole NAT path (conntrack, masquerade, forwarding, the server's ingress) runs inside the generator's sendmmsg(): generator $(field kernel-udp gen)% of a CPU, $(field kernel-udp idle)% of all CPU time idle (of 2 CPUs: about the whole second one). The generator's CPU is the limit; the kernel NAT does not use the second core here (BENCH_RPS=1 spreads it with RPS)."
echo "  rssnat UDP: generator $(field rssnat-udp gen)%, rssnat $(field rssnat-udp rssnat)% of a CPU, idle $(field rssnat-udp idle)% of all. rssnat's workers pay in their own sendmmsg() for the server side's softirq (most of their system time) and share both CPUs with the generator; rssnat's own code is a few % of its profile."
echo "  TCP: the kernel gateway forwards inline in iperf3's sends, without a copy (iperf3 client $(field kernel-tcp iperf3-client)% of a CPU, $(field kernel-tcp idle)% of all CPU time idle, idle round trip ${R_RTT_KERNEL:-?} ms): the client's CPU is its limit. rssnat ($BACKEND, the last run): $(field rssnat-tcp rssnat)% of a CPU in its workers, $(field rssnat-tcp idle)% of all idle, ${R_TCP_LOST:-?} frames lost in its rings: both CPUs are the limit, and most of what they do for rssnat is the kernel's plumbing into and out of user space. In a perf profile of the afxdp workers during TCP (relative to their time): native XDP on a veth first copies each cloned TCP skb into a page (skb_pp_cow_data, about 10%), AF_XDP copy mode copies it again into the UMEM and frees the page (about 18%), AF_XDP transmit allocates an skb and copies it a third time (about 9%); the server's TCP receive, run in the workers' sendto(), is about 25%; rssnat's own code is under 10% (the two copies between its buffers and the UMEM, about 7%, included). A NIC with AF_XDP zero-copy has none of the three kernel copies; a veth cannot do zero-copy. Idle round trip through rssnat: afxdp ${RTT_afxdp:-?} ms, afpacket ${RTT_afpacket:-?} ms (a worker that was busy within the last ms naps 50 us when a round finds nothing, else it sleeps in poll() until the next frame). The kernel's own figure moves by up to 20% between rounds, hence the median of paired rounds."
for pair in kernel:$K_PPS:$K_SENT rssnat:$HEAD_PPS:$HEAD_SENT; do
	IFS=: read -r g d s <<<"$pair"
	[ "$s" -lt $((GEN_CEIL * 9 / 10)) ] && [ "$d" -ge $((s * 95 / 100)) ] &&
		echo "  note: $g delivered >= 95% of what the generator sent, and the generator sent less than its ceiling: the limit is the CPU the generator shares with the path behind it, not a drop in the gateway"
	[ "$d" -lt $((s * 95 / 100)) ] &&
		echo "  note: $g lost $((100 - 100 * d / s))% of what the generator sent: the gateway is the limit"
done
r=""
for b in $BACKENDS; do
	eval "p=\$PPS_$b t=\$BPS_$b r=\$TCPR_$b"
	# shellcheck disable=SC2086
	echo "backend $b: udp $p pps, tcp $t bit/s (round 1); pps_ratio $(ratio "$p" "$K_PPS"), tcp_ratio $(median $r) (median of the rounds: $r)"
done
[ "${BENCH_RPS:-0}" = 1 ] && echo "kernel-rps: udp $KR_PPS pps, tcp $KR_BPS bit/s; pps_ratio_vs_kernel_rps=$(ratio "$HEAD_PPS" "$KR_PPS") tcp_ratio_vs_kernel_rps=$(ratio "$HEAD_BPS" "$KR_BPS")"
echo "headline: rssnat with the ${BACKENDS%% *} backend"
echo "pps_ratio_vs_kernel=$(ratio "$HEAD_PPS" "$K_PPS")"
# shellcheck disable=SC2086
echo "tcp_ratio_vs_kernel=$(eval median \$TCPR_$BACKEND)"
