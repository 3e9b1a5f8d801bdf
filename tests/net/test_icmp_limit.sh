#!/usr/bin/env bash
# test_icmp_limit.sh - every ICMP error the gateway generates is rate
# limited (RFC 1812 4.3.2.8; issue 14: 8.1 million were sent in 45 s, one
# per dropped packet). A LAN sender floods the gateway for a few seconds
# with UDP datagrams of TTL 1, each of which earns a Time Exceeded, and the
# errors that come back are counted on the wire (icmp_flood.py, an exact
# kernel-filtered count):
#   A. one source: at most its per-destination burst and rate per worker;
#      meanwhile a traceroute from another LAN address still gets its
#      three Time Exceeded from the gateway;
#   B. spoofed sources all over the LAN: at most the global burst and rate;
#   C. restarted with --icmp-error-rate 100 --icmp-error-interval 0: the
#      rate applies, and no per-destination limit does.
# Each phase prints its figures ("N frames -> M errors"). Needs root; the
# topology is gw_topo.sh's (prefix RSSNAT_NETNS). Every flood is bounded in
# time and count; the EXIT trap removes the namespaces, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
command -v traceroute >/dev/null || net_fail_hard "traceroute not found (tools/deps.sh installs it)"

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

Q=2
FLOOD_S=3     # seconds of flood
COUNT_S=5     # the count goes on a little after it: frames still in the rings
FLOOD_MAX=1000000
KEY_BURST=6 BURST=50 # the defaults (ratelimit_config_icmp(), as Linux's)

# flood_and_count MODE: prints "SENT SECONDS RECEIVED SOCKET_DROPS"
flood_and_count() {
	local mac cnt sent got
	mac=$(in_ns ${RG}-gw cat /sys/class/net/lan0/address)
	ip netns exec ${RG}-lan python3 "$HERE/icmp_flood.py" count lanh "$COUNT_S" 192.168.137.11 >"$T_TMP/count" &
	cnt=$!
	sleep 0.3 # the counter's socket is open
	sent=$(in_ns ${RG}-lan python3 "$HERE/icmp_flood.py" flood lanh "$mac" "$1" "$FLOOD_S" "$FLOOD_MAX")
	wait "$cnt"
	got=$(cat "$T_TMP/count")
	echo "$sent $got"
}

# Sum of show stats --json counters over the queues (KEY or drops:NAME).
stat_sum() {
	"$RSSNAT" show stats --json --socket "$SOCK" | python3 -c '
import json, sys
total = 0
for q in json.load(sys.stdin)["queues"]:
    for k in sys.argv[1:]:
        total += q["drops"].get(k[6:], 0) if k.startswith("drops:") else q.get(k, 0)
print(total)' "$@"
}

# check_count NAME SENT SECONDS GOT DROPS MAX MIN: the errors that arrived are
# those counted and those the counting socket had no room for (a flood of
# errors overruns it; the kernel counts them after its filter).
check_count() {
	local name=$1 sent=$2 secs=$3 got=$4 drops=$5 max=$6 min=$7 total
	total=$((got + drops))
	echo "   $name: $sent frames with TTL 1 in $secs s -> $total Time Exceeded ($drops of them lost by the counting socket; bound $min..$max)"
	if [ "$sent" -lt 10000 ]; then
		t_fail "$name: the flood sent only $sent frames"
	elif [ "$total" -le "$max" ] && [ "$got" -ge "$min" ]; then
		t_pass "$name: $total Time Exceeded for $sent frames (at most $max)"
	else
		t_fail "$name: $total Time Exceeded for $sent frames" "want $min to $max"
	fi
}

topology || net_fail_hard "cannot build the namespaces"
start_gw "$Q" || { t_fail "rssnat starts" "$(cat "$T_TMP/gw.log")"; t_done; exit; }
in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 192.168.137.1 >/dev/null ||
	t_fail "ping the gateway before the floods"

# ---- A: one source, and a traceroute beside it ----
in_ns ${RG}-lan timeout 20 traceroute -n -s 192.168.137.11 -q 3 -w 2 -m 1 203.0.113.80 \
	>"$T_TMP/trace" 2>&1 &
trace=$!
read -r sent secs got drops < <(flood_and_count one)
wait "$trace"
# Per worker: its burst, then one a second, while the count lasts.
check_count "A one source" "$sent" "$secs" "$got" "$drops" $((Q * (KEY_BURST + COUNT_S + 1))) 1
hop=$(awk 'NR > 1 {print $2}' "$T_TMP/trace")
answers=$(awk 'NR > 1 {print gsub(/ ms/, "")}' "$T_TMP/trace")
[ "$hop" = 192.168.137.1 ] && [ "$answers" = 3 ] &&
	t_pass "A traceroute from 192.168.137.11 during the flood: 3 of 3 Time Exceeded from the gateway" ||
	t_fail "A traceroute during the flood" "$(cat "$T_TMP/trace")"

# ---- B: spoofed sources ----
read -r sent secs got drops < <(flood_and_count spoofed)
check_count "B spoofed sources" "$sent" "$secs" "$got" "$drops" $((BURST + 1000 * COUNT_S)) 1
limited=$(stat_sum drops:ROUTER_ERROR_RATE_LIMITED)
refused=$(stat_sum icmp_limit_refused_dest icmp_limit_refused_global)
[ "${limited:-0}" -gt 0 ] && [ "$limited" = "$refused" ] &&
	t_pass "show stats --json: $limited drops ROUTER_ERROR_RATE_LIMITED, as the limiters refused" ||
	t_fail "show stats --json counts the refused errors" "limited=$limited refused=$refused"
"$RSSNAT" show stats --socket "$SOCK" | grep -q "reason=ROUTER_ERROR_RATE_LIMITED count=[1-9]" &&
	t_pass "show stats (text) names the drop reason ROUTER_ERROR_RATE_LIMITED" ||
	t_fail "show stats (text) names ROUTER_ERROR_RATE_LIMITED"
stop_gw || t_fail "A/B: clean stop" "$(tail -5 "$T_TMP/gw.log")"

# ---- C: the options ----
GW_ARGS="--icmp-error-rate 100 --icmp-error-interval 0"
if start_gw "$Q"; then
	read -r sent secs got drops < <(flood_and_count one)
	# No per-destination limit: the one source gets more than A's bound,
	# and no more than the rate gives.
	check_count "C rate 100/s, no per-destination limit" "$sent" "$secs" "$got" "$drops" \
		$((BURST + 100 * COUNT_S)) $((Q * (KEY_BURST + COUNT_S + 1) + 1))
	stop_gw || t_fail "C: clean stop" "$(tail -5 "$T_TMP/gw.log")"
else
	t_fail "C rssnat starts with $GW_ARGS" "$(cat "$T_TMP/gw.log")"
fi
t_done
