#!/usr/bin/env bash
# test_ctl_abuse.sh - misbehaving control-socket clients must not stall the
# gateway. While one client trickles a request (a byte every 0.9 s, never a
# newline), and then while another asks for a long `show sessions` and never
# reads it, a LAN host asks the DNS proxy and pings through the gateway
# every 0.2 s: both keep their normal latency (the control thread also runs
# the DNS proxy and the neighbour refresh the workers depend on). Then the
# limits: clients beyond the maximum are refused at once with one line, late
# ones are dropped, each counted in `show stats`; a long reply still reaches
# a client that reads it, in full. Needs root.
#
# The topology is gw_topo.sh's (namespaces $RSSNAT_NETNS-lan, -gw, -inet,
# -srv); the clients and the probe are tests/net/ctl_abuse.py. Each phase
# lasts PHASE_S seconds (default 22: longer than the 20 s after which a
# stalled control thread used to let the workers' neighbour entries age
# out). Every wait is bounded; the EXIT trap removes the namespaces, also
# on failure. The figures of each phase are printed ("figures ...").
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
command -v ping >/dev/null || net_fail_hard "ping not found (tools/deps.sh installs it)"

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

PHASE_S=${PHASE_S:-22}
SESSIONS=4000
ABUSE="$HERE/ctl_abuse.py"
ctl() { timeout 10 "$RSSNAT" "$@" --socket "$SOCK"; }
probe() { in_ns ${RG}-lan python3 "$ABUSE" probe "$1" 192.168.137.1 203.0.113.80; }

# ctl_counter NAME: the control socket's counter NAME from show stats --json
# (empty when there is none).
ctl_counter() {
	ctl show stats --json | python3 -c '
import json, sys
print(json.load(sys.stdin).get("ctl", {}).get(sys.argv[1], ""))' "$1"
}

# check_phase NAME FIGURES: the LAN host saw no stall. DNS: at least 95%
# answered within 1 s, none slower than 500 ms; ping: at most 2% lost, no
# reply later than 500 ms, never more than 1 s without a reply.
check_phase() {
	local name=$1 fig=$2
	echo "figures $name: $fig"
	if python3 - "$fig" <<'PY'; then
import sys
f = dict(kv.split("=") for kv in sys.argv[1].split())
n = lambda k: float(f[k])
ok = (n("dns_ok") >= 0.95 * n("dns_sent") and 0 <= n("dns_max_ms") < 500 and
      n("ping_ok") >= 0.98 * n("ping_sent") and 0 <= n("ping_max_ms") < 500 and
      n("ping_max_gap_ms") < 1000)
sys.exit(0 if ok else 1)
PY
		t_pass "$name: DNS answered and pings forwarded at normal latency"
	else
		t_fail "$name: DNS answered and pings forwarded at normal latency" "$fig" \
			"$(tail -3 "$T_TMP/gw.log")"
	fi
}

topology || net_fail_hard "cannot build the namespaces"
start_gw 2 || net_fail_hard "the gateway did not start: $(cat "$T_TMP/gw.log")"
ok=0
for _ in $(seq 1 30); do
	in_ns ${RG}-lan ping -c 1 -W 1 203.0.113.80 >/dev/null 2>&1 && ok=1 && break
	sleep 0.2
done
[ $ok = 1 ] || net_fail_hard "no ping through the gateway before the test"

got=$(in_ns ${RG}-lan python3 "$ABUSE" sessions $SESSIONS 203.0.113.80)
matched=$(ctl show sessions limit=1 | sed -n 's/^shown=.* matched=//p')
[ "${matched:-0}" -ge $SESSIONS ] &&
	t_pass "$SESSIONS UDP sessions for a long show sessions reply ($matched in all)" ||
	t_fail "$SESSIONS UDP sessions for a long show sessions reply" "sent $got, matched ${matched:-?}"

check_phase "no abuse (baseline, 5 s)" "$(probe 5)"

# ---- a client that trickles its request ----
python3 "$ABUSE" trickle "$SOCK" "$PHASE_S" >"$T_TMP/trickle.log" 2>&1 &
BG="$BG $!"
sleep 0.5
check_phase "trickling client (${PHASE_S} s)" "$(probe "$PHASE_S")"
sleep 1.5 # the trickler ends
echo "       trickler: $(cat "$T_TMP/trickle.log")"

# ---- a client that asks for a long reply and never reads it ----
python3 "$ABUSE" noread "$SOCK" "$PHASE_S" "show sessions limit=0 --json" >"$T_TMP/noread.log" 2>&1 &
BG="$BG $!"
sleep 0.5
check_phase "client not reading show sessions (${PHASE_S} s)" "$(probe "$PHASE_S")"
sleep 1
echo "       non-reader: $(cat "$T_TMP/noread.log")"

# ---- what was counted ----
v=$(ctl_counter request_timeout)
[ "${v:-0}" -ge 1 ] && t_pass "the trickler was dropped and counted (request_timeout=$v)" ||
	t_fail "the trickler was dropped and counted" "request_timeout=${v:-none}"
v=$(ctl_counter reply_timeout)
[ "${v:-0}" -ge 1 ] && t_pass "the non-reader was dropped and counted (reply_timeout=$v)" ||
	t_fail "the non-reader was dropped and counted" "reply_timeout=${v:-none}"

# ---- too many clients: refused at once, with one line ----
out=$(python3 "$ABUSE" crowd "$SOCK" 40)
refused=$(field refused_at_once "$out")
v=$(ctl_counter refused_busy)
[ "${refused:-0}" -ge 1 ] && [ "${v:-0}" -ge "${refused:-1}" ] &&
	t_pass "clients beyond the limit refused at once with an error line, counted ($out, refused_busy=$v)" ||
	t_fail "clients beyond the limit refused at once with an error line, counted" "$out" "refused_busy=${v:-none}"

# ---- a long reply reaches a client that reads it, whole ----
ctl show sessions limit=0 >"$T_TMP/all.txt"
rc=$?
lines=$(grep -c '^queue=' "$T_TMP/all.txt")
summary=$(tail -1 "$T_TMP/all.txt")
[ $rc -eq 0 ] && [ "$lines" -ge $SESSIONS ] && [ "$summary" = "shown=$lines matched=$lines" ] &&
	t_pass "show sessions limit=0: all $lines sessions, $(wc -c <"$T_TMP/all.txt") bytes" ||
	t_fail "show sessions limit=0 delivered whole" "rc=$rc lines=$lines summary: $summary"
ctl show sessions limit=0 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(not (len(d["sessions"]) == d["shown"] == d["matched"] >= int(sys.argv[1])))' $SESSIONS &&
	t_pass "show sessions limit=0 --json: valid JSON, every session" ||
	t_fail "show sessions limit=0 --json: valid JSON, every session"

kill -0 "$GW_PID" 2>/dev/null && stop_gw && t_pass "the gateway ran through it and stops cleanly" ||
	t_fail "the gateway ran through it and stops cleanly" "$(tail -5 "$T_TMP/gw.log")"
t_done
