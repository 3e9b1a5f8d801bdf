#!/usr/bin/env bash
# test_offload.sh - the kernel fast path (issue 12): the eBPF programs pass
# the verifier and sit on both interfaces' tc ingress; flows really take it
# (its forwarded counter grows, the workers' receive counters do not)
# during an iperf3 TCP run and a UDP exchange; what it must not touch still
# works while entries are present: connection close (FIN) and reset (RST),
# ICMP errors about an offloaded flow (Time Exceeded from the next router,
# and from the gateway itself at TTL 1), traceroute, fragments (ping -s
# 3000), hairpinning, ping; `show sessions`, `explain` and `show global`
# say what is offloaded; and `set global offload=`, `set rss queues=` and
# `set global rss=` under iperf3 and ping lose no flow.
# Needs root. The topology is gw_topo.sh's (RSSNAT_NETNS prefix); every
# wait is bounded and the EXIT trap removes the namespaces, also on failure.
# OFFLOAD_BACKEND=afxdp runs it on the afxdp backend (its XDP program passes
# the fast path's frames to tc).
set -u
BACKEND=${OFFLOAD_BACKEND:-afpacket}
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping curl iperf3 traceroute tc; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

ctl() { "$RSSNAT" "$@" --socket "$SOCK"; }
global() { ctl show global | sed -n "s/^$1 *: //p"; }
# The fast path's counter NAME (show stats' offload object).
fast() { ctl show stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["offload"][sys.argv[1]])' "$1"; }
# Sum of NAT counters (or drops:NAME) over the queues.
stat_sum() {
	ctl show stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(q["drops"].get(k[6:], 0) if k.startswith("drops:") else q.get(k, 0)
          for q in d["queues"] for k in sys.argv[1:]))' "$@"
}
user_rx() { stat_sum rx_lan rx_wan; }

topology || net_fail_hard "cannot build the namespaces"
servers
start_gw 2 "$BACKEND" || { t_fail "rssnat starts ($BACKEND)" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
if grep -q "offload unavailable" "$T_TMP/gw.log"; then
	t_fail "the kernel takes the fast path" "$(cat "$T_TMP/gw.log")"
	t_done
	exit 1
fi
for dev in lan0 wan0; do
	filters=$(in_ns ${RG}-gw tc filter show dev $dev ingress)
	echo "$filters" | grep -q "pref 1 .*offload_tc" && echo "$filters" | grep -q "pref 2 .*stack_guard" &&
		t_pass "$dev: offload_tc verified and attached at tc ingress before the stack guard" ||
		t_fail "$dev: tc ingress filters" "$filters"
done
[ "$(global "Offload State")" = enabled ] && t_pass "show global: Offload State : enabled" ||
	t_fail "Offload State" "$(ctl show global | head -4)"
in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null &&
	t_pass "ping through the gateway" || t_fail "ping" "$(ctl show stats | grep '^arp')"

# ---- TCP: iperf3 on the fast path ----
f0=$(fast forwarded)
u0=$(user_rx)
out=$(in_ns ${RG}-lan timeout 20 iperf3 -c 203.0.113.80 -t 4 -J 2>&1)
rc=$?
f1=$(fast forwarded)
u1=$(user_rx)
mbit=$(echo "$out" | python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' 2>/dev/null)
fwd=$((f1 - f0))
up=$((u1 - u0))
[ $rc -eq 0 ] && [ "$fwd" -gt 20000 ] && [ $((up * 100)) -lt "$fwd" ] &&
	t_pass "iperf3 TCP ${mbit:-?} Mbit/s on the fast path: $fwd frames forwarded in the kernel, $up through the workers" ||
	t_fail "iperf3 on the fast path" "rc=$rc forwarded=$fwd user-space rx=$up" "$(echo "$out" | tail -3)"

# top's kernel row: the fast path's rate, which no queue sees.
ip netns exec ${RG}-lan timeout 10 iperf3 -c 203.0.113.80 -t 3 >/dev/null 2>&1 &
TOPIPERF=$!
BG="$BG $TOPIPERF"
sleep 0.5
top=$("$RSSNAT" top --batch --count 2 --interval 1 --socket "$SOCK" 2>&1)
wait "$TOPIPERF"
echo "$top" | awk '$1 == "kernel" && $2 + 0 > 1000 {k=1} END {exit !k}' &&
	t_pass "top: the kernel row shows the fast path's frames per second" || t_fail "top kernel row" "$top"

# ICMP echo on the fast path once its first reply went through the workers.
f0=$(fast forwarded)
out=$(in_ns ${RG}-lan ping -c 10 -i 0.1 -W 1 203.0.113.80 2>&1)
f1=$(fast forwarded)
echo "$out" | grep -q " 0% packet loss" && [ $((f1 - f0)) -ge 16 ] &&
	t_pass "ping: 10 of 10, $((f1 - f0)) frames forwarded in the kernel" ||
	t_fail "ping on the fast path" "forwarded $((f1 - f0))" "$(echo "$out" | tail -2)"

# ---- UDP: an exchange, and ICMP errors about it while it is offloaded ----
# One connected socket to the echo server: 100 round trips (offloaded after
# the first reply), then Time Exceeded with TTL 2 (the next router, about a
# frame the kernel forwarded) and TTL 1 (the gateway itself: sent up).
f0=$(fast forwarded)
u0=$(user_rx)
udp=$(in_ns ${RG}-lan python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.137.10", 0))
s.connect(("203.0.113.80", 7))
s.settimeout(1.0)
got = 0
for i in range(100):
    s.send(b"offload %d" % i)
    try:
        if s.recv(64) == b"offload %d" % i:
            got += 1
    except socket.timeout:
        pass
print("port", s.getsockname()[1], "replies", got)
IP_RECVERR = 11
s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
def offender(ttl):
    s.setsockopt(socket.SOL_IP, socket.IP_TTL, ttl)
    s.send(b"ttl")
    end = time.time() + 2
    while time.time() < end:
        try:
            _, anc, _, _ = s.recvmsg(64, 512, socket.MSG_ERRQUEUE)
        except (BlockingIOError, socket.timeout):
            time.sleep(0.02)
            continue
        except ConnectionRefusedError:
            continue
        for lvl, typ, data in anc:
            origin, icmp_type = data[4], data[5]
            if origin == 2 and icmp_type == 11:
                return socket.inet_ntoa(data[16 + 4:16 + 8])
    return "none"
s.setblocking(False)
print("ttl2", offender(2), "ttl1", offender(1))
PY
)
f1=$(fast forwarded)
u1=$(user_rx)
port=$(echo "$udp" | sed -n 's/^port \([0-9]*\) .*/\1/p')
echo "$udp" | grep -q "replies 100" && [ $((f1 - f0)) -ge 190 ] && [ $((u1 - u0)) -lt 20 ] &&
	t_pass "UDP: 100 round trips, $((f1 - f0)) frames forwarded in the kernel, $((u1 - u0)) through the workers" ||
	t_fail "UDP exchange on the fast path" "$udp" "forwarded $((f1 - f0)), user-space rx $((u1 - u0))"
echo "$udp" | grep -q "ttl2 198.51.100.1" &&
	t_pass "ICMP Time Exceeded from the next router about an offloaded flow reaches the LAN host" ||
	t_fail "Time Exceeded from 198.51.100.1" "$udp"
echo "$udp" | grep -q "ttl1 192.168.137.1" &&
	t_pass "TTL 1 on an offloaded flow goes up: Time Exceeded from the gateway (RFC 1812)" ||
	t_fail "Time Exceeded from 192.168.137.1" "$udp"
line=$(ctl show sessions proto=udp port="${port:-0}" | head -1)
echo "$line" | grep -q "offloaded=yes fast_packets=[1-9]" &&
	t_pass "show sessions: the UDP session offloaded=yes, with its fast-path packets" ||
	t_fail "show sessions offloaded" "$line"
ex=$(ctl explain "192.168.137.10:${port:-0}" 203.0.113.80:7 proto=udp)
echo "$ex" | grep -q "^offloaded: yes" && t_pass "explain: offloaded: yes" || t_fail "explain" "$ex"
ex=$(ctl explain 192.168.137.10:1 203.0.113.80:9 proto=udp)
echo "$ex" | grep -q "^offloaded: no" && t_pass "explain: a flow never seen is offloaded: no" ||
	t_fail "explain, no flow" "$ex"

# ---- what goes up still works while entries are present ----
hops=$(in_ns ${RG}-lan timeout 20 traceroute -n -q 1 -w 1 -m 4 203.0.113.80 2>&1)
echo "$hops" | awk '$1 == 1 && $2 == "192.168.137.1" {a=1} $1 == 2 && $2 == "198.51.100.1" {b=1} $2 == "203.0.113.80" {c=1} END {exit !(a && b && c)}' &&
	t_pass "traceroute: 192.168.137.1, 198.51.100.1, 203.0.113.80" || t_fail "traceroute" "$hops"
out=$(in_ns ${RG}-lan ping -c 3 -W 2 -i 0.3 -s 3000 203.0.113.80 2>&1)
echo "$out" | grep -q " 0% packet loss" && t_pass "ping -s 3000 (fragments go up) while its echo flow is offloaded" ||
	t_fail "fragments" "$out"
out=$(in_ns ${RG}-lan curl -s -o /dev/null -w "%{http_code} %{size_download}" --max-time 15 http://203.0.113.80/10M.bin)
[ "$out" = "200 10485760" ] && t_pass "HTTP download of 10 MB, closed with FIN" || t_fail "HTTP download" "$out"
sleep 0.3
closed=$(ctl show sessions proto=tcp port=80 | grep -c "state=both-fin expires_in=[0-9]* offloaded=no")
[ "$closed" -ge 1 ] && t_pass "after FIN both ways the session is off the fast path (both-fin, offloaded=no)" ||
	t_fail "FIN takes the session off" "$(ctl show sessions proto=tcp port=80)"
rst=$(in_ns ${RG}-lan python3 - <<'PY'
import socket, struct, time
s = socket.create_connection(("203.0.113.80", 80), timeout=3)
s.sendall(b"GET /10M.bin HTTP/1.0\r\n\r\n")
s.recv(65536)
time.sleep(0.2)
port = s.getsockname()[1]
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # RST with data unread
print(port)
PY
)
sleep 0.3
line=$(ctl show sessions proto=tcp port="${rst:-0}" | head -1)
echo "$line" | grep -q "state=rst .*offloaded=no" && t_pass "RST takes the session off the fast path" ||
	t_fail "RST" "port $rst: $line"
out=$(in_ns ${RG}-lan curl -s -o /dev/null -w "%{http_code}" --interface 192.168.137.11 --max-time 10 http://198.51.100.2:8080/10M.bin)
[ "$out" = 200 ] && t_pass "hairpin: 192.168.137.11 -> 198.51.100.2:8080 -> 192.168.137.10:8000" ||
	t_fail "hairpin" "$out"

# ---- live: offload and RSS toggled under iperf3 and ping ----
softnet_drops() {
	local n=0 d
	while read -r _ d _; do n=$((n + 16#$d)); done </proc/net/softnet_stat
	echo "$n"
}
link0=$(softnet_drops)
nostate0=$(stat_sum drops:TCP_NO_SESSION drops:NO_MAPPING drops:HANDOFF_STALE sessions_migrate_lost)
ip netns exec ${RG}-lan iperf3 -c 203.0.113.80 -P 2 -t 16 -i 1 -J >"$T_TMP/iperf.json" 2>"$T_TMP/iperf.err" &
IPERF=$!
BG="$BG $IPERF"
ip netns exec ${RG}-lan ping -i 0.05 -c 300 -W 1 203.0.113.80 >"$T_TMP/ping.log" 2>&1 &
PING=$!
BG="$BG $PING"
sleep 2
ok=1
step() { # EXPECTED_OFFLOAD_STATE COMMAND...
	local want=$1 out
	shift
	out=$(ctl "$@" 2>&1) && [ "$(global "Offload State")" = "$want" ] || {
		ok=0
		t_fail "$*" "$out"
	}
	sleep 1.2
}
step disabled set global offload=disabled
f0=$(fast forwarded)
sleep 1
still=$(($(fast forwarded) - f0))
[ "$still" -eq 0 ] && t_pass "offload=disabled: the kernel forwards nothing more, the workers carry the flows" ||
	t_fail "disabled means nothing forwarded" "$still frames forwarded while disabled"
step enabled set global offload=enabled
f0=$(fast forwarded)
sleep 1
back=$(($(fast forwarded) - f0))
[ "$back" -gt 0 ] && t_pass "offload=enabled: the running flows are back on the fast path ($back frames in 1 s)" ||
	t_fail "re-enabled" "nothing forwarded"
step enabled set rss queues=1
step enabled set rss queues=2
step enabled set global rss=disabled
step disabled set global rss=enabled offload=disabled
step disabled set rss queues=1
step enabled set global offload=enabled
step enabled set rss queues=2
wait "$PING"
wait "$IPERF"
iperf_rc=$?
BG=""
verdict=$(iperf_verdict "$T_TMP/iperf.json" 15)
[ $iperf_rc -eq 0 ] && [ "${verdict%% *}" = ok ] && [ $ok = 1 ] &&
	t_pass "iperf3, 2 streams, 16 s through offload and RSS changes: ${verdict#ok }" ||
	t_fail "iperf3 through the changes" "rc=$iperf_rc $verdict" "$(tail -3 "$T_TMP/iperf.err")"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/ping.log")
lost=$((300 - ${received:-0}))
link_lost=$(($(softnet_drops) - link0))
{ [ "$lost" -eq 0 ] || [ "$lost" -le "$link_lost" ]; } &&
	t_pass "ping every 50 ms through the changes: $lost of 300 lost ($link_lost frames dropped by the kernel's backlog)" ||
	t_fail "ping through the changes" "$(tail -2 "$T_TMP/ping.log")"
nostate=$(($(stat_sum drops:TCP_NO_SESSION drops:NO_MAPPING drops:HANDOFF_STALE sessions_migrate_lost) - nostate0))
[ "$nostate" = 0 ] && t_pass "no packet dropped for lack of state" ||
	t_fail "drops for lack of state" "$nostate" "$(ctl show stats | grep '^drop')"

# ---- offload disabled at start (the file's key), enabled by a reload ----
stop_gw
echo "offload disabled" >"$T_TMP/offload.conf"
GW_ARGS="--config $T_TMP/offload.conf" start_gw 2 "$BACKEND" || { t_fail "rssnat --offload disabled starts" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
[ "$(global "Offload State")" = disabled ] && t_pass "--offload disabled: Offload State : disabled" ||
	t_fail "--offload disabled" "$(ctl show global | head -4)"
out=$(in_ns ${RG}-lan timeout 15 iperf3 -c 203.0.113.80 -t 2 2>&1)
[ $? -eq 0 ] && [ "$(fast forwarded)" = 0 ] && t_pass "--offload disabled: iperf3 through the workers only" ||
	t_fail "--offload disabled forwards nothing" "forwarded $(fast forwarded)" "$(echo "$out" | tail -2)"
echo "offload enabled" >"$T_TMP/offload.conf"
kill -HUP "$GW_PID"
for _ in $(seq 1 30); do
	[ "$(global "Offload State")" = enabled ] && break
	sleep 0.1
done
out=$(in_ns ${RG}-lan timeout 15 iperf3 -c 203.0.113.80 -t 2 2>&1)
[ "$(global "Offload State")" = enabled ] && grep -q "reload: offload now enabled" "$T_TMP/gw.log" &&
	[ "$(fast forwarded)" -gt 1000 ] &&
	t_pass "SIGHUP with offload enabled in the file: Offload State : enabled, flows on the fast path" ||
	t_fail "reload enables offload" "$(global "Offload State") forwarded $(fast forwarded)" "$(grep reload "$T_TMP/gw.log")"
stop_gw
t_done
