#!/usr/bin/env bash
# test_live.sh - RSS switched off, on, down to 2 queues and back to 4, and
# reweighted, several times, while a TCP transfer (iperf3, 4 streams) and a
# ping run through rssnat: the transfer has no interval at zero, no ping is
# lost, no packet is dropped for lack of state, and `show global` follows
# every change. Also the rest of the control plane on a running gateway:
# bad commands change nothing, explain, show sessions, port mappings added
# and deleted live, NAT timeouts, SIGHUP reload of a configuration file.
# Needs root. The topology is gw_topo.sh's; every wait is bounded and the
# EXIT trap removes the namespaces, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping curl iperf3; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

ctl() { "$RSSNAT" "$@" --socket "$SOCK"; }
global() { ctl show global | sed -n "s/^$1 *: //p"; }
version() { global "Configuration Version"; }

# Sum of some NAT counters (or drop reasons) over the queues.
stat_sum() { # KEY... (counters, or drops:NAME)
	ctl show stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
total = 0
for q in d["queues"]:
    for k in sys.argv[1:]:
        total += q["drops"].get(k[6:], 0) if k.startswith("drops:") else q.get(k, 0)
print(total)' "$@"
}

# change DESCRIPTION EXPECTED_RSS_STATE EXPECTED_QUEUES COMMAND...
change() {
	local what=$1 state=$2 queues=$3 out
	shift 3
	CHANGE_TIMES="${CHANGE_TIMES:-} $(python3 -c "import time; print('%.1f' % (time.time() - $PING_T0))")"
	if ! out=$(ctl "$@" 2>&1); then
		t_fail "$what" "$out"
		return
	fi
	if [ "$(global "Receive-Side Scaling State")" = "$state" ] &&
		global "Receive Queues" | grep -q "^$queues of 4"; then
		t_pass "$what: show global says $state, $queues queues"
	else
		t_fail "$what: show global follows" "$(ctl show global | head -4)"
	fi
}

topology || net_fail_hard "cannot build the namespaces"
servers
# Pinned: 4 workers over this machine's CPUs, wrapping around.
GW_ARGS="--pin on" start_gw 4 ||
	{ t_fail "rssnat starts with 4 queues" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
t_pass "rssnat runs with 4 queues"
# shellcheck disable=SC2016
ctl show rss --json | python3 -c '
import json, os, sys
cpus = sorted(os.sched_getaffinity(0))
got = [q["cpu"] for q in json.load(sys.stdin)["queues"]]
sys.exit(got != [cpus[q % len(cpus)] for q in range(4)])' &&
	grep -q "workers pinned, queue:CPU 0:" "$T_TMP/gw.log" &&
	t_pass "--pin on: worker N on the Nth allowed CPU, wrapping (show rss cpu=, the log)" ||
	t_fail "--pin on" "$(ctl show rss | sed -n 2,5p; grep pinned "$T_TMP/gw.log")"

[ "$(global "Receive-Side Scaling State")" = enabled ] &&
	[ "$(global "Internet Connection Sharing State")" = enabled ] &&
	t_pass "show global: Receive-Side Scaling State enabled, Internet Connection Sharing State enabled" ||
	t_fail "show global at start" "$(ctl show global)"
ctl show global --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["rss"]!="enabled" or d["queues"]!=4)' &&
	t_pass "show global --json parses" || t_fail "show global --json"

# ---- the live run: transfer and ping while everything changes ----
# First the neighbours on every hop (both namespaces' kernels and rssnat's
# ARP): frames beyond the few an unresolved neighbour may hold are lost on a
# cold path (counted by ARP: show stats' arp lines), and that is not what
# this measures.
in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null ||
	t_fail "the path works before the changes" "$(ctl show stats | grep '^arp')"
# Frames the kernel itself drops on the way (a veth's receive backlog full:
# /proc/net/softnet_stat's second column, all CPUs) are the link's losses.
softnet_drops() {
	local n=0 d
	while read -r _ d _; do n=$((n + 16#$d)); done </proc/net/softnet_stat
	echo "$n"
}
link0=$(softnet_drops)
ip netns exec ${RG}-lan iperf3 -c 203.0.113.80 -P 4 -t 26 -i 1 -J >"$T_TMP/iperf.json" 2>"$T_TMP/iperf.err" &
IPERF=$!
BG="$BG $IPERF"
ip netns exec ${RG}-lan ping -D -i 0.05 -c 480 -W 1 203.0.113.80 >"$T_TMP/ping.log" 2>&1 &
PING=$!
BG="$BG $PING"
PING_T0=$(python3 -c 'import time; print(time.time())')
sleep 2
migrated0=$(stat_sum sessions_migrated_out)
for round in 1 2; do
	change "round $round: set global rss=disabled" disabled 4 set global rss=disabled
	sleep 1.5
	change "round $round: set global rss=enabled" enabled 4 set global rss=enabled
	sleep 1.5
	change "round $round: set rss queues=2" enabled 2 set rss queues=2
	sleep 1.5
	change "round $round: set rss queues=4" enabled 4 set rss queues=4
	sleep 1.5
	change "round $round: set rss table=1,1,2,2" enabled 4 set rss table=1,1,2,2
	sleep 1.5
	change "round $round: set rss table=roundrobin" enabled 4 set rss table=roundrobin
	sleep 1.5
done
migrated=$(($(stat_sum sessions_migrated_out) - migrated0))
wait "$PING"
ping_rc=$?
wait "$IPERF"
iperf_rc=$?
BG=""

# iperf3's intervals: none at zero throughput, and the transfer completed.
verdict=$(iperf_verdict "$T_TMP/iperf.json" 25)
[ $iperf_rc -eq 0 ] && [ "${verdict%% *}" = ok ] &&
	t_pass "iperf3, 4 streams, 26 s through every change: ${verdict#ok }" ||
	t_fail "iperf3 through the changes" "rc=$iperf_rc $verdict" "$(tail -3 "$T_TMP/iperf.err")"
link_lost=$(($(softnet_drops) - link0))
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/ping.log")
lost=$((480 - ${received:-0}))
[ "$lost" -eq 0 ] && t_pass "ping every 50 ms through every change: 480 sent, none lost" ||
	{ [ "$lost" -le "$link_lost" ] &&
		t_pass "ping every 50 ms through every change: $lost of 480 lost, all by the kernel's own backlog ($link_lost frames dropped before rssnat)"; } ||
	t_fail "no ping lost" "rc=$ping_rc $(tail -2 "$T_TMP/ping.log")" \
		"missing icmp_seq: $(python3 -c '
import re, sys
got = {int(m.group(1)) for m in re.finditer(r"icmp_seq=(\d+)", open(sys.argv[1]).read())}
print(" ".join(str(i) for i in range(1, 481) if i not in got))' "$T_TMP/ping.log")" \
		"changes at (s after the ping started): ${CHANGE_TIMES:-?}" "$(ctl show stats | grep -v '^host' | tr ' ' '\n' | grep -E 'ring_dropped|drop|full|failed|no_buffer' | grep -v '=0$' | tr '\n' ' ')"
nostate=$(stat_sum drops:TCP_NO_SESSION drops:NO_MAPPING drops:HANDOFF_STALE sessions_migrate_lost)
[ "$nostate" = 0 ] && t_pass "no packet dropped for lack of state (TCP_NO_SESSION, NO_MAPPING, HANDOFF_STALE: 0)" ||
	t_fail "no drop for lack of state" "$nostate" "$(ctl show stats | grep '^drop')"
[ "$migrated" -gt 0 ] && t_pass "sessions moved with their buckets ($migrated migrated)" ||
	t_fail "sessions migrated" "sessions_migrated_out grew by $migrated"

# ---- rebalancing by measured load (RSS++) ----
# Skew the table (queue 3 gets two thirds of the buckets), switch
# rebalancing on, and send UDP over 256 flows: buckets must move off queue 3
# and the load even out, with no drop for lack of state.
buckets() { ctl show rss --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["queues"][int(sys.argv[1])]["buckets"])' "$1"; }
ctl set rss table=1,1,1,6 >/dev/null
b3=$(buckets 3)
out=$(ctl set rss rebalance=on)
echo "$out" | grep -q "Automatic Rebalancing *: on" && t_pass "set rss rebalance=on" || t_fail "set rss rebalance=on" "$out"
in_ns ${RG}-lan python3 - <<'PY'
import socket, time
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(256)]
for s in socks:
    s.setblocking(False)
end = time.time() + 7
while time.time() < end:
    for s in socks:
        s.sendto(b"rebalance", ("203.0.113.80", 7))
        try:
            s.recv(64)
        except BlockingIOError:
            pass
    time.sleep(0.05)
PY
rounds=$(ctl show global --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rebalances"])')
b3after=$(buckets 3)
nostate=$(stat_sum drops:TCP_NO_SESSION drops:NO_MAPPING drops:HANDOFF_STALE sessions_migrate_lost)
[ "${rounds:-0}" -ge 1 ] && [ "$b3after" -lt "$b3" ] && [ "$nostate" = 0 ] &&
	t_pass "rebalancing moved buckets off the busy queue ($rounds rounds, queue 3: $b3 -> $b3after buckets), no drop for lack of state" ||
	t_fail "rebalancing by load" "rounds=$rounds queue 3 buckets $b3 -> $b3after, no-state drops $nostate" "$(grep rebalance "$T_TMP/gw.log" | tail -3)"
ctl set rss rebalance=off table=roundrobin >/dev/null

# ---- bad commands: one line, exit 2, nothing changes ----
v=$(version)
bad() { # DESCRIPTION COMMAND...
	local what=$1 out rc
	shift
	out=$(ctl "$@" 2>&1)
	rc=$?
	[ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [ "$(version)" = "$v" ] &&
		t_pass "$what: one line, exit 2, nothing changed" || t_fail "$what" "rc=$rc $out"
}
bad "set global rss=maybe" set global rss=maybe
bad "set rss queues=9 (4 workers)" set rss queues=9
bad "set rss table=1,x" set rss table=1,x
bad "set rss key=00" set rss key=00
bad "set rss bogus=1" set rss bogus=1
bad "set nat timeout udp=0" set nat timeout udp=0
bad "show stats --yaml" show stats --yaml
bad "an unknown command" show nothing

# ---- looking inside ----
ip netns exec ${RG}-lan iperf3 -c 203.0.113.80 -t 8 -b 2M >/dev/null 2>&1 &
IPERF=$!
BG="$BG $IPERF"
sleep 1
sessions=$(ctl show sessions proto=tcp addr=203.0.113.80 port=5201)
echo "$sessions" | grep -q "^queue=[0-9] proto=tcp lan=192.168.137.10:[0-9]* ext=198.51.100.2:[0-9]* remote=203.0.113.80:5201 state=established" &&
	t_pass "show sessions lists the transfer's TCP sessions" || t_fail "show sessions" "$sessions"
lan_ep=$(echo "$sessions" | sed -n '1s/.* lan=\([0-9.:]*\) .*/\1/p')
ext_port=$(echo "$sessions" | sed -n '1s/.* ext=198.51.100.2:\([0-9]*\) .*/\1/p')
out=$(ctl explain "$lan_ep" 203.0.113.80:5201 proto=tcp)
echo "$out" | grep -q "^side=lan hash=0x[0-9a-f]* bucket=[0-9]* queue=[0-9] mapping=yes ext_port=$ext_port" &&
	echo "$out" | grep -q "^why: " && t_pass "explain: hash, bucket, queue, owner and why, for a live flow" ||
	t_fail "explain of a live flow" "$out"
out=$(ctl explain 203.0.113.80:5201 "198.51.100.2:$ext_port" proto=tcp --json)
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["side"]!="wan" or d["mapping"]!="yes")' &&
	t_pass "explain --json of the reply direction" || t_fail "explain --json" "$out"
ctl show sessions --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["matched"] < 1)' &&
	t_pass "show sessions --json parses" || t_fail "show sessions --json"
wait "$IPERF"
BG=""

# ---- port mappings, live ----
# (192.168.137.10:8000 has its port mapping already, and a LAN endpoint has
# one mapping: RFC 4787 REQ-1. The second web server is on .11.)
ip netns exec ${RG}-lan python3 -m http.server 8000 --bind 192.168.137.11 --directory "$T_TMP/www" >/dev/null 2>&1 &
BG="$BG $!"
sleep 0.5
out=$(ctl add portmapping tcp:9090=192.168.137.11:8000 2>&1) && t_pass "add portmapping tcp:9090" ||
	t_fail "add portmapping" "$out"
code=$(in_ns ${RG}-inet curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://198.51.100.2:9090/)
[ "$code" = 200 ] && t_pass "the new port mapping reaches the LAN service" || t_fail "new port mapping works" "$code"
ctl show portmapping | grep -q "proto=tcp ext=198.51.100.2:9090 lan=192.168.137.11:8000" &&
	t_pass "show portmapping lists it" || t_fail "show portmapping" "$(ctl show portmapping)"
out=$(ctl add portmapping tcp:9090=192.168.137.12:80 2>&1)
[ $? -eq 1 ] && t_pass "adding the same port again is refused: $out" || t_fail "duplicate port mapping" "$out"
ctl delete portmapping tcp:9090 >/dev/null && sleep 0.3
# Deleted, the mapping lives on as an ordinary one until its connections end
# (nat.h): address-dependent filtering still lets their remote in, nobody else.
code=$(in_ns ${RG}-srv curl -s --max-time 3 -o /dev/null -w '%{http_code}' http://198.51.100.2:9090/)
[ "$code" != 200 ] && t_pass "after delete portmapping a new remote cannot connect" ||
	t_fail "deleted port mapping refuses a new remote" "$code"

out=$(ctl set nat timeout udp=120 icmp=30)
echo "$out" | grep -q "udp=120 .*icmp=30" && t_pass "set nat timeout udp=120 icmp=30" || t_fail "set nat timeout" "$out"
stop_gw && t_pass "clean stop after all the changes" || t_fail "clean stop" "$(tail -5 "$T_TMP/gw.log")"

# ---- SIGHUP: the configuration file again, two-phase ----
cat >"$T_TMP/gw.conf" <<CONF
lan lan0
wan wan0
wan-addr 198.51.100.2/24
wan-gateway 198.51.100.1
queues 2
socket $SOCK
dhcp off
dns off
CONF
ip netns exec ${RG}-gw "$RSSNAT" run --config "$T_TMP/gw.conf" >"$T_TMP/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
printf 'rss disabled\nport-map tcp:8080=192.168.137.10:8000\n' >>"$T_TMP/gw.conf"
kill -HUP "$GW_PID"
for _ in $(seq 1 30); do grep -q "reload: done" "$T_TMP/gw.log" && break; sleep 0.1; done
[ "$(global "Receive-Side Scaling State")" = disabled ] && ctl show portmapping | grep -q "ext=198.51.100.2:8080" &&
	t_pass "SIGHUP: rss disabled and a port mapping applied from the file" ||
	t_fail "SIGHUP reload" "$(tail -3 "$T_TMP/gw.log")"
v=$(version)
printf 'queues many\n' >>"$T_TMP/gw.conf"
kill -HUP "$GW_PID"
for _ in $(seq 1 30); do grep -q "nothing changed" "$T_TMP/gw.log" && break; sleep 0.1; done
grep -q "gw.conf:11: --queues: 'many'" "$T_TMP/gw.log" && [ "$(version)" = "$v" ] && kill -0 "$GW_PID" &&
	t_pass "SIGHUP with an error in the file: the error with its line, nothing changed, still running" ||
	t_fail "SIGHUP with a bad file" "$(tail -3 "$T_TMP/gw.log")"
stop_gw

t_done
