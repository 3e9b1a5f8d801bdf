#!/usr/bin/env bash
# test_top.sh - `rssnat top` against a real gateway carrying traffic: the
# gateway topology of test_gateway.sh (drawn in gw_topo.sh) with 2 queues,
# iperf3 and a ping flood from the LAN through the NAT, and top driven in a
# pseudo-terminal as a user would (tests/lib/pty_run.py): figures on screen,
# q quits within a second, the terminal's mode restored. Then batch mode,
# and top when the gateway stops under it. Needs root.
#
# Every wait is bounded; an EXIT trap removes the namespaces, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PTY_RUN=$HERE/../lib/pty_run.py
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping iperf3 ethtool timeout; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done
python3 -c 'import pty, termios' 2>/dev/null || net_fail_hard "python3 without the pty and termios modules"

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

# The gateway as gw_topo.sh's start_gw starts it, with the LAN services
# off while they are not what is tested (when this build has them).
SERVICES_OFF=""
"$RSSNAT" help run | grep -q -- '--dhcp on|off' && SERVICES_OFF="$SERVICES_OFF --dhcp off"
"$RSSNAT" help run | grep -q -- '--dns on|off' && SERVICES_OFF="$SERVICES_OFF --dns off"
# The queue rows are the workers': the traffic must go through them, not
# the kernel fast path (issue 12; its row is test_offload.sh's business).
"$RSSNAT" help run | grep -q -- '--offload enabled|disabled' && SERVICES_OFF="$SERVICES_OFF --offload disabled"
start_top_gw() { # QUEUES
	# shellcheck disable=SC2086
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --wan-addr 198.51.100.2/24 \
		--wan-gateway 198.51.100.1 --queues "$1" --socket "$SOCK" $SERVICES_OFF >"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$GW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# traffic SECONDS: iperf3 (4 TCP streams: 4 flows, spread over the queues)
# and a ping flood through the NAT, both in the background, both bounded.
traffic() {
	ip netns exec ${RG}-lan timeout $(($1 + 10)) iperf3 -c 203.0.113.80 -P 4 -t "$1" >"$T_TMP/iperf" 2>&1 &
	BG="$BG $!"
	ip netns exec ${RG}-lan timeout $(($1 + 2)) ping -f -q -w "$1" 203.0.113.80 >/dev/null 2>&1 &
	BG="$BG $!"
}

# top_pty NAME KEYS REGEX ARGS...: top in a pty until REGEX is on screen
# (at most 10 s), then KEYS; pty_run.py's result line in $RES.
top_pty() {
	local log=$T_TMP/screen-$1
	shift
	RES=$(timeout 40 python3 "$PTY_RUN" --keys "$1" --expect "$2" --timeout 10 --exit-within 1 \
		--log "$log" -- "$RSSNAT" top --socket "$SOCK" "${@:3}")
	SCREEN=$(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$log")
}

topology || net_fail_hard "cannot build the namespaces"
servers
start_gw_ok=0
start_top_gw 2 && start_gw_ok=1
[ $start_gw_ok = 1 ] && t_pass "rssnat starts with 2 queues${SERVICES_OFF:+ ($SERVICES_OFF )}" ||
	{ t_fail "rssnat starts with 2 queues" "$(cat "$T_TMP/gw.log")"; t_done; exit; }
in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null && t_pass "ping through the NAT" ||
	t_fail "ping through the NAT"

traffic 8
sleep 1
# A queue row whose RX/s is not zero: "    N   RX  ...".
BUSY='^ *[0-9]+ +[1-9][0-9]* +[0-9]+ '
top_pty q q "$BUSY" --interval 0.5
case $RES in
*"matched=1 "*) t_pass "pty: top shows packets per second on a queue" ;;
*) t_fail "pty: top shows packets per second on a queue" "$RES" "screen: $(printf '%s\n' "$SCREEN" | tail -8)" ;;
esac
case $RES in
*"exited=1 status=0 "*) t_pass "pty: q quits, exit 0 within a second ($(printf '%s' "$RES" | sed 's/.*elapsed_ms=\([0-9]*\).*/\1/') ms)" ;;
*) t_fail "pty: q quits within a second" "$RES" ;;
esac
case $RES in
*"raw_during=1 restored=1") t_pass "pty: keyboard mode taken while running, restored after" ;;
*) t_fail "pty: terminal mode restored" "$RES" ;;
esac
printf '%s\n' "$SCREEN" | grep -Eq '^rssnat top - [0-9:]{8} - 2 queues - rss enabled - every 0.5s - q quits' &&
	printf '%s\n' "$SCREEN" | grep -Eq '^ +0 ' && printf '%s\n' "$SCREEN" | grep -Eq '^ +1 ' &&
	printf '%s\n' "$SCREEN" | grep -Eq '^total +[1-9]' &&
	t_pass "pty: header with 2 queues and the RSS state, a row per queue, the total" ||
	t_fail "pty: header, rows, total" "$(printf '%s\n' "$SCREEN" | tail -8)"
live=$(printf '%s\n' "$SCREEN" | awk '$1 == "total" {s = $NF} END {print s + 0}')
[ "$live" -gt 0 ] && t_pass "pty: live sessions shown ($live)" || t_fail "pty: live sessions shown" "$(printf '%s\n' "$SCREEN" | tail -6)"

top_pty ctrl-c '\x03' "$BUSY" --interval 0.5
case $RES in
*"matched=1 exited=1 status=0 "*"restored=1") t_pass "pty: Ctrl-C quits, terminal restored" ;;
*) t_fail "pty: Ctrl-C quits, terminal restored" "$RES" ;;
esac

out=$(timeout 10 "$RSSNAT" top --batch --interval 0.5 --count 2 --socket "$SOCK" 2>"$T_TMP/err"); rc=$?
blocks=$(printf '%s\n' "$out" | grep -c '^rssnat top - ')
busy=$(printf '%s\n' "$out" | grep -Ec "$BUSY")
[ $rc -eq 0 ] && [ "$blocks" = 2 ] && [ "$busy" -ge 1 ] && ! printf '%s' "$out" | grep -q $'\033' &&
	t_pass "batch: 2 blocks of plain lines, traffic seen" ||
	t_fail "batch: 2 blocks" "rc=$rc blocks=$blocks busy rows=$busy" "$out" "$(cat "$T_TMP/err")"

# The gateway stops under a running top: one line, exit 1.
timeout 20 "$RSSNAT" top --batch --interval 0.5 --socket "$SOCK" >"$T_TMP/top.out" 2>"$T_TMP/top.err" &
TOP=$!
sleep 1.2
rc=0
stop_gw || rc=$?
[ $rc -eq 0 ] && t_pass "gateway stops cleanly (SIGTERM)" || t_fail "gateway stops cleanly" "exit $rc" "$(cat "$T_TMP/gw.log")"
rc=0
wait "$TOP" || rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$T_TMP/top.err")" -eq 1 ] && grep -q '^rssnat: top: ' "$T_TMP/top.err" &&
	t_pass "top when the gateway goes away: one line, exit 1 ($(cat "$T_TMP/top.err"))" ||
	t_fail "top when the gateway goes away" "rc=$rc" "$(cat "$T_TMP/top.err")"
t_done
