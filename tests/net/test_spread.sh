#!/usr/bin/env bash
# test_spread.sh - the kernel fast path spread over the workers' CPUs
# (--offload-spread, issue 12 item 3): the XDP program passes the verifier
# and sits on both interfaces; every frame the fast path forwards is
# forwarded on the CPU of the worker that owns its session (the engine's
# Toeplitz bucket, its indirection table, the pinned worker's CPU), although
# both ends of every flow send from one other CPU; `set rss` moves the
# spreading with the sessions; with offload off the path still works; and
# the program leaves the interfaces with the process, even after kill -9.
#
# How agreement is measured: 16 UDP flows to an echo server, both ends
# pinned to the last CPU. Once a flow's first reply went through, its
# worker offloads it; its further frames are forwarded by the kernel. The
# fast path counts them per CPU (show stats: forwarded_per_cpu) and per
# session (show sessions: queue=, fast_packets=): the per-CPU counts must
# equal the sessions' packets summed by their queue's CPU. Without the
# spreading, all of them are forwarded on the senders' CPU.
# Needs root and 2 CPUs. The topology is gw_topo.sh's (RSSNAT_NETNS prefix);
# every wait is bounded and the EXIT trap removes the namespaces.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
CPUS=$(nproc)
if [ "$CPUS" -lt 2 ]; then
	echo "skip $(basename "$0"): one CPU, nothing to spread over"
	echo "0 passed, 0 failed"
	exit 0
fi
LAST=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))') # the senders' CPU
ECHO_PORT=5007
SPREAD=${SPREAD_MODE:-on}

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

ctl() { "$RSSNAT" "$@" --socket "$SOCK"; }
per_cpu() { ctl show stats --json | python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["offload"]["forwarded_per_cpu"])))'; }

# flows N: N UDP flows from the LAN, 30 round trips each, sender on $LAST.
flows() {
	in_ns ${RG}-lan taskset -c "$LAST" timeout 30 python3 - "$1" "$ECHO_PORT" <<'PY'
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
ok = 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.bind(("192.168.137.10", 0))
    for _ in range(30):
        s.sendto(b"x" * 32, ("203.0.113.80", port))
        try:
            s.recvfrom(64)
            ok += 1
        except socket.timeout:
            pass
    s.close()
print("replies", ok)
PY
}

# measure N: run N flows; prints "ok" or "differ", then the fast path's
# per-CPU growth against the sessions' fast-path packets (growth, by key)
# summed by their queue's CPU (as the start log says: "workers pinned,
# queue:CPU 0:0 1:1", --pin on; the spreading uses the same CPUs).
# A worker answers a listing within 200 ms; on a loaded machine ask again
# (bounded) rather than fail on the machine's load.
sessions() {
	for _ in 1 2 3 4 5; do
		ctl show sessions proto=udp port="$ECHO_PORT" --json >"$1" 2>/dev/null && return 0
		sleep 0.2
	done
}
measure() {
	local before after out
	before=$(per_cpu)
	sessions "$T_TMP/s0"
	out=$(flows "$1")
	after=$(per_cpu)
	sessions "$T_TMP/s1"
	python3 - "$CPUS" "$before" "$after" "$T_TMP/s0" "$T_TMP/s1" "$out" "$PLACES" <<'PY'
import json, sys
before, after = sys.argv[2].split(), sys.argv[3].split()
cpus = len(after)  # every possible CPU, as show stats lists them
cpu_of = dict(map(int, qc.split(":")) for qc in sys.argv[7].split())
key = lambda s: (s["lan"], s["remote"])
old = {key(s): s["fast_packets"] for s in json.load(open(sys.argv[4]))["sessions"]}
want = [0] * cpus
for s in json.load(open(sys.argv[5]))["sessions"]:
    want[cpu_of[s["queue"]]] += s["fast_packets"] - old.get(key(s), 0)
got = [int(a) - int(b) for a, b in zip(after, before)]
print(("ok" if got == want and sum(want) > 0 else "differ") +
      " per CPU: forwarded %s, sessions by owner %s; %s" % (got, want, sys.argv[6]))
PY
}

echo_server() { # the flows' other end, on the same CPU as the senders
	ip netns exec ${RG}-srv taskset -c "$LAST" python3 - "$ECHO_PORT" <<'PY' >/dev/null 2>&1 &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.80", int(sys.argv[1])))
s.settimeout(1.0)
end = time.time() + 120
while time.time() < end:
    try:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)
    except socket.timeout:
        pass
PY
	BG="$BG $!"
}

topology || net_fail_hard "cannot build the namespaces"
servers
echo_server
GW_ARGS="--pin on --offload-spread $SPREAD" start_gw 2 ||
	{ t_fail "rssnat --offload-spread $SPREAD starts" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
PLACES=$(sed -n 's/^rssnat: workers pinned, queue:CPU //p' "$T_TMP/gw.log")
[ -n "$PLACES" ] || t_fail "workers pinned" "$(cat "$T_TMP/gw.log")"
grep -q "spreading unavailable" "$T_TMP/gw.log" &&
	t_fail "the kernel takes the spreading" "$(grep spreading "$T_TMP/gw.log")"
for dev in lan0 wan0; do
	ip -n ${RG}-gw link show $dev | grep -q "prog/xdp.* name spread" &&
		t_pass "$dev: the spreading XDP program verified and attached" ||
		t_fail "$dev: XDP program" "$(ip -n ${RG}-gw link show $dev)"
done
in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 203.0.113.80 >/dev/null &&
	t_pass "ping through the gateway with spreading" || t_fail "ping with spreading"

# ---- every flow forwarded on its worker's CPU ----
verdict=$(measure 16)
case $verdict in
"ok "*"replies 480") t_pass "16 UDP flows sent from CPU $LAST: each forwarded on its worker's CPU (${verdict#ok })" ;;
*) t_fail "fast path on the owners' CPUs" "$verdict" "$(ctl show stats | grep '^offload')" ;;
esac

# ---- set rss: the spreading follows the table ----
ctl set rss queues=1 >/dev/null || t_fail "set rss queues=1"
sleep 0.5
verdict=$(measure 16)
case $verdict in
"ok "*"replies 480") t_pass "set rss queues=1: every flow forwarded on queue 0's CPU (${verdict#ok })" ;;
*) t_fail "spreading after set rss" "$verdict" ;;
esac
ctl set rss queues=2 >/dev/null

# ---- offload off: the spreading alone, the path works ----
ctl set global offload=disabled >/dev/null
out=$(flows 4)
[ "$out" = "replies 120" ] && t_pass "offload disabled, spreading on: 4 UDP flows answered" ||
	t_fail "flows with offload disabled" "$out"
ctl set global offload=enabled >/dev/null

# ---- the program goes with the process, even killed ----
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null
GW_PID=""
sleep 0.3
left=$(ip -n ${RG}-gw link show | grep -c "prog/xdp")
[ "$left" = 0 ] && t_pass "kill -9: no XDP program left on the interfaces" ||
	t_fail "XDP left after kill -9" "$(ip -n ${RG}-gw link show)"
t_done
