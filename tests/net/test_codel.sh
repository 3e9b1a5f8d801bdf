#!/usr/bin/env bash
# test_codel.sh - the receive rings are not a standing queue (issue 12 item
# 5): under an iperf3 -P 4 load, with a CoDel target the load must exceed
# (--codel-target 1: 1 us, an interval of 20 us), the workers drop at the
# head of their rings and `show stats` counts it (codel_dropped_lan/wan, in
# text and --json), and TCP still gets through; with --codel-target 0
# nothing is dropped by CoDel; with ECN-capable TCP, CoDel marks CE
# instead (codel_marked_lan/wan); pings through the load are never dropped
# (ICMP does not slow down for a loss). So the frames' stamps reach CoDel in both
# backends (afpacket: the kernel's receive timestamp; afxdp: the XDP
# program's metadata). The gateway runs with --offload disabled: CoDel guards
# the user-space path, which the kernel fast path would otherwise bypass.
# The workers run at nice -10 (gw_internal.h says
# why). Needs root.
#
# The topology is drawn in gw_topo.sh (RSSNAT_NETNS: its prefix). Every wait
# is bounded; an EXIT trap removes the namespaces and ends every process
# started, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping ethtool tc iperf3; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT
QUEUES=2

# codel_drops: codel_dropped_lan + codel_dropped_wan over the queues.
codel_drops() {
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null | awk '/^queue=/ {
		for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] ~ /^codel_dropped_(lan|wan)$/) n += a[2]; seen = 1 } }
		END { print seen ? n + 0 : "none" }'
}

# load: iperf3 -P 4 for 3 s through the gateway; its received bits/s.
load() {
	ip netns exec ${RG}-lan timeout 20 iperf3 -c 203.0.113.80 -P 4 -t 3 -J >"$T_TMP/iperf.json" 2>&1
	python3 -c 'import json, sys
try:
    print("%.0f" % json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"])
except Exception:
    print(0)' "$T_TMP/iperf.json"
}

# worker_nices: the nice value of each of rssnat's threads but the main one.
worker_nices() {
	local t
	for t in /proc/"$GW_PID"/task/*; do
		[ "${t##*/}" = "$GW_PID" ] && continue
		awk '{sub(/^.*\) /, ""); print $17}' "$t/stat" 2>/dev/null
	done | sort | uniq -c | tr -s ' ' | tr '\n' ';'
}

topology || net_fail_hard "cannot build the namespaces"
servers

# shellcheck disable=SC2034 # GW_ARGS: read by start_gw (gw_topo.sh)
for backend in afpacket afxdp; do
	GW_ARGS="--codel-target 1 --offload disabled" # CoDel is the user-space path's
	if ! start_gw $QUEUES $backend; then
		t_fail "$backend: rssnat starts with --codel-target 1" "$(cat "$T_TMP/gw.log")"
		continue
	fi
	ip netns exec ${RG}-lan ping -c 3 -i 0.2 -W 1 203.0.113.80 >/dev/null 2>&1
	nices=$(worker_nices)
	case $nices in
	*" $QUEUES -10;"*) t_pass "$backend: the $QUEUES workers run at nice -10 ($nices)" ;;
	*) t_fail "$backend: the $QUEUES workers run at nice -10" "nice values (count value;): $nices" ;;
	esac
	ip netns exec ${RG}-lan ping -c 40 -i 0.05 -W 1 203.0.113.80 >"$T_TMP/ping.log" 2>&1 &
	PING=$!
	bps=$(load)
	wait $PING
	received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/ping.log")
	[ "${received:-0}" = 40 ] && t_pass "$backend: CoDel spares ICMP: 40 pings through the load at a 1 us target, all answered" ||
		t_fail "$backend: CoDel spares ICMP: 40 pings through the load, all answered" "$(tail -2 "$T_TMP/ping.log")"
	drops=$(codel_drops)
	if [ "$drops" != none ] && [ "$drops" -gt 0 ] && [ "${bps%.*}" -gt 0 ]; then
		t_pass "$backend: a 1 us target under iperf3 -P 4: CoDel dropped $drops frames, TCP still moved $((bps / 1000000)) Mbit/s"
	else
		t_fail "$backend: a 1 us target under iperf3 -P 4: CoDel drops, TCP gets through" \
			"codel drops: $drops, iperf3: $bps bit/s" "$("$RSSNAT" show stats --socket "$SOCK" 2>&1 | grep '^queue=' | head -2)"
	fi
	json=$("$RSSNAT" show stats --json --socket "$SOCK" 2>&1)
	if printf '%s' "$json" | python3 -c 'import json, sys
d = json.load(sys.stdin)
qs = [q for q in d["queues"]] if isinstance(d, dict) and "queues" in d else []
sys.exit(0 if qs and all("codel_dropped_lan" in q and "codel_dropped_wan" in q for q in qs) and sum(q["codel_dropped_lan"] + q["codel_dropped_wan"] for q in qs) > 0 else 1)' 2>/dev/null; then
		t_pass "$backend: show stats --json has codel_dropped_lan and codel_dropped_wan per queue"
	else
		t_fail "$backend: show stats --json has codel_dropped_lan and codel_dropped_wan per queue" "$(printf '%s' "$json" | head -c 600)"
	fi
	stop_gw

	GW_ARGS="--codel-target 0 --offload disabled"
	if ! start_gw $QUEUES $backend; then
		t_fail "$backend: rssnat starts with --codel-target 0" "$(cat "$T_TMP/gw.log")"
		continue
	fi
	ip netns exec ${RG}-lan ping -c 3 -i 0.2 -W 1 203.0.113.80 >/dev/null 2>&1
	bps=$(load)
	drops=$(codel_drops)
	if [ "$drops" = 0 ] && [ "${bps%.*}" -gt 0 ]; then
		t_pass "$backend: --codel-target 0: no CoDel drop under the same load ($((bps / 1000000)) Mbit/s)"
	else
		t_fail "$backend: --codel-target 0: no CoDel drop under the same load" "codel drops: $drops, iperf3: $bps bit/s"
	fi
	stop_gw

	# ECN-capable TCP (both ends ask for it): CoDel marks CE instead of
	# dropping (RFC 3168 section 5), counted as codel_marked_lan/wan.
	GW_ARGS="--codel-target 1 --offload disabled" # CoDel is the user-space path's
	in_ns ${RG}-lan sysctl -qw net.ipv4.tcp_ecn=1
	in_ns ${RG}-srv sysctl -qw net.ipv4.tcp_ecn=1
	if ! start_gw $QUEUES $backend; then
		t_fail "$backend: rssnat starts with --codel-target 1" "$(cat "$T_TMP/gw.log")"
		continue
	fi
	ip netns exec ${RG}-lan ping -c 3 -i 0.2 -W 1 203.0.113.80 >/dev/null 2>&1
	bps=$(load)
	marks=$("$RSSNAT" show stats --socket "$SOCK" 2>/dev/null | awk '/^queue=/ {
		for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] ~ /^codel_marked_(lan|wan)$/) n += a[2]; seen = 1 } }
		END { print seen ? n + 0 : "none" }')
	if [ "$marks" != none ] && [ "$marks" -gt 0 ] && [ "${bps%.*}" -gt 0 ]; then
		t_pass "$backend: ECN-capable TCP: CoDel marked $marks frames CE instead of dropping them ($((bps / 1000000)) Mbit/s)"
	else
		t_fail "$backend: ECN-capable TCP: CoDel marks CE" "codel marks: $marks, iperf3: $bps bit/s"
	fi
	in_ns ${RG}-lan sysctl -qw net.ipv4.tcp_ecn=2
	in_ns ${RG}-srv sysctl -qw net.ipv4.tcp_ecn=2
	stop_gw
done
t_done
