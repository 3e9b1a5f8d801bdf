#!/usr/bin/env bash
# test_portctl.sh - port control with real clients (issue 13): natpmpc asks
# for the public address and a UDP mapping, the internet side reaches the
# LAN host through it, delete makes it unreachable again; a PCP client of
# our own (pcp_client.py: no PCP client is packaged in Debian) maps with
# and without a suggested port, renews, deletes with the right and the
# wrong nonce, asks PEER, is refused THIRD_PARTY, another host's address
# and a wrong client address, and hears ANNOUNCE after a restart (its epoch
# back at 0); lifetimes expire; requests from the WAN get no answer;
# malformed requests are counted drops and the gateway keeps forwarding;
# show portmapping, explain and show stats say what happened. Last, with
# --rss-fields endpoint, the share of inbound packets to mapped ports that
# were translated on the core that received them (the NAT counts handoffs).
# Needs root. Every wait is bounded; the EXIT trap removes every namespace.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in natpmpc python3 ping; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT
PCP="$HERE/pcp_client.py"

ctl() { "$RSSNAT" "$@" --socket "$SOCK"; }
pcp() { in_ns ${RG}-lan python3 "$PCP" "$@"; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2], ""))' "$1" "$2"; }
natpmp() { in_ns ${RG}-lan timeout 10 natpmpc -g 192.168.137.1 "$@" 2>&1; }

# One UDP listener on the LAN host that echoes, for reachability.
udp_echo() { # ADDR PORT
	udp_echo_start ${RG}-lan "$1" "$2"
	BG="$BG $!"
}

# reach PORT [N [SRC]]: N datagrams from the internet side (SRC, default
# 198.51.100.1) to the WAN address; prints how many came back. A deleted
# mapping's sessions live on (address-dependent filtering lets the remotes
# it talked to in): "unreachable" is asked from a remote it never saw.
reach() {
	in_ns ${RG}-inet python3 -c '
import socket, sys
port, n, ok = int(sys.argv[1]), int(sys.argv[2]), 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[3], 0))
    s.settimeout(0.3)
    s.sendto(b"ping%d" % i, ("198.51.100.2", port))
    try:
        ok += s.recv(64) == b"ping%d" % i
    except socket.timeout:
        pass
    s.close()
print(ok)' "$1" "${2:-3}" "${3:-198.51.100.1}"
}

stat_json() { ctl show stats --json; }
# stop_clean WHAT: the gateway stops with status 0 and no sanitizer report.
stop_clean() {
	stop_gw && ! grep -q "Sanitizer" "$T_TMP/gw.log" && t_pass "$1: rssnat stops cleanly" ||
		t_fail "$1: rssnat stops cleanly" "$(tail -20 "$T_TMP/gw.log")"
}
pm_stat() { # KEY under "portmap" / "natpmp_pcp"
	stat_json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]][sys.argv[2]])' "$1" "$2"
}

T0=$(date +%s)
topology || net_fail_hard "cannot build the namespaces"
ip -n ${RG}-inet addr add 198.51.100.7/24 dev wanr
ip -n ${RG}-inet addr add 198.51.100.8/24 dev wanr
udp_echo 192.168.137.10 5000
udp_echo 192.168.137.10 7000
GW_ARGS="--portmap-min-lifetime 2 --portmap-per-host 8" start_gw 2 ||
	{ t_fail "rssnat starts" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
t_pass "rssnat runs with 2 queues, port control on by default"

# ---- NAT-PMP with natpmpc ----
out=$(natpmp)
printf '%s\n' "$out" | grep -q "Public IP address : 198.51.100.2" &&
	t_pass "natpmpc: public address 198.51.100.2" || t_fail "natpmpc public address" "$out"
[ "$(reach 5000)" = 0 ] && t_pass "before any mapping the internet cannot reach LAN udp 5000" ||
	t_fail "unmapped port reachable"
out=$(natpmp -a 5000 5000 udp 600)
printf '%s\n' "$out" | grep -q "Mapped public port 5000 protocol UDP to local port 5000 liftime 600" &&
	t_pass "natpmpc -a 5000 5000 udp 600: mapped" || t_fail "natpmpc map" "$out"
[ "$(reach 5000)" -ge 2 ] && t_pass "the internet reaches 192.168.137.10:5000 through it" ||
	t_fail "reach through the NAT-PMP mapping" "$(ctl show portmapping)"
ctl show portmapping | grep -q "proto=udp ext=198.51.100.2:5000 lan=192.168.137.10:5000 origin=natpmp host=192.168.137.10 left=" &&
	t_pass "show portmapping: origin natpmp, the host, lifetime left" ||
	t_fail "show portmapping natpmp" "$(ctl show portmapping)"
ctl explain 198.51.100.1:999 198.51.100.2:5000 | grep -q "asked: host 192.168.137.10 asked for it over natpmp" &&
	t_pass "explain on the mapped port: which host asked, over what" ||
	t_fail "explain" "$(ctl explain 198.51.100.1:999 198.51.100.2:5000)"
out=$(natpmp -a 5000 5000 udp 0)
sleep 0.3
[ "$(reach 5000 3 198.51.100.7)" = 0 ] && ! ctl show portmapping | grep -q "ext=198.51.100.2:5000" &&
	t_pass "natpmpc delete (lifetime 0): gone, a new remote cannot reach it" ||
	t_fail "natpmpc delete" "$out" "$(ctl show portmapping)"

# ---- PCP with our client ----
r=$(pcp map --proto udp --int-port 7000 --ext-port 7000 --lifetime 600)
[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" ext_port)" = 7000 ] &&
	[ "$(jget "$r" ext_ip)" = 198.51.100.2 ] && [ "$(jget "$r" lifetime)" = 600 ] &&
	t_pass "PCP MAP with a suggested port: SUCCESS, that port, 198.51.100.2, 600 s" ||
	t_fail "PCP MAP suggested" "$r"
[ "$(reach 7000)" -ge 2 ] && t_pass "the internet reaches 192.168.137.10:7000 through the PCP mapping" ||
	t_fail "reach through PCP mapping"
r=$(pcp map --proto tcp --int-port 7100 --lifetime 600)
p=$(jget "$r" ext_port)
[ "$(jget "$r" result)" = 0 ] && [ "${p:-0}" -ge 1024 ] &&
	t_pass "PCP MAP without a suggestion: SUCCESS, port $p" || t_fail "PCP MAP no suggestion" "$r"
r=$(pcp map --proto udp --int-port 7000 --lifetime 900)
[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" ext_port)" = 7000 ] && [ "$(jget "$r" lifetime)" = 900 ] &&
	t_pass "PCP renew (same nonce): same port, new lifetime" || t_fail "PCP renew" "$r"
r=$(pcp map --proto udp --int-port 7000 --lifetime 0 --nonce 0f0f0f0f0f0f0f0f0f0f0f0f)
[ "$(jget "$r" result)" = 2 ] && ctl show portmapping | grep -q "ext=198.51.100.2:7000" &&
	t_pass "PCP delete with the wrong nonce: NOT_AUTHORIZED, still mapped" || t_fail "PCP wrong nonce" "$r"
r=$(pcp map --proto udp --int-port 7000 --lifetime 0)
sleep 0.3
[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" lifetime)" = 0 ] && [ "$(reach 7000 3 198.51.100.8)" = 0 ] &&
	t_pass "PCP delete with the right nonce: SUCCESS, a new remote cannot reach it" ||
	t_fail "PCP delete" "$r"
r=$(pcp map --proto udp --int-port 7200 --lifetime 600 --client 192.168.137.11)
[ "$(jget "$r" result)" = 12 ] && t_pass "PCP client address not the source: ADDRESS_MISMATCH" ||
	t_fail "ADDRESS_MISMATCH" "$r"
r=$(pcp map --proto udp --int-port 7200 --lifetime 600 --third-party 192.168.137.11)
[ "$(jget "$r" result)" = 2 ] && t_pass "PCP THIRD_PARTY: NOT_AUTHORIZED (a host maps only itself)" ||
	t_fail "THIRD_PARTY" "$r"
r=$(pcp map --proto udp --int-port 7300 --ext-port 8080 --proto tcp --prefer-failure)
[ "$(jget "$r" result)" = 11 ] && t_pass "PCP PREFER_FAILURE on the static mapping's port: CANNOT_PROVIDE_EXTERNAL" ||
	t_fail "PREFER_FAILURE" "$r"
r=$(pcp map --proto udp --int-port 7300 --ext-port 80)
[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" ext_port)" -ge 1024 ] &&
	t_pass "PCP suggestion outside the allowed range: another port ($(jget "$r" ext_port))" ||
	t_fail "PCP out of range suggestion" "$r"
# PEER: the external port of the mapping the host's own traffic made.
in_ns ${RG}-lan python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.137.10", 7400))
s.sendto(b"x", ("198.51.100.1", 9))'
r=$(pcp peer --proto udp --int-port 7400 --peer 198.51.100.1:9 --lifetime 60)
[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" ext_port)" -ge 1 ] && [ "$(jget "$r" lifetime)" -le 60 ] &&
	t_pass "PCP PEER: the connection mapping's external port ($(jget "$r" ext_port))" ||
	t_fail "PCP PEER" "$r"
r=$(pcp announce)
[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" opcode)" = 0 ] &&
	t_pass "PCP ANNOUNCE request: SUCCESS with the epoch ($(jget "$r" epoch) s)" || t_fail "ANNOUNCE" "$r"

# ---- lifetimes expire (min 2 s here) ----
r=$(pcp map --proto udp --int-port 7500 --lifetime 1)
[ "$(jget "$r" lifetime)" = 2 ] && t_pass "a lifetime below the minimum is raised to it (2 s)" ||
	t_fail "lifetime clamp" "$r"
sleep 3.2
! ctl show portmapping | grep -q "lan=192.168.137.10:7500" && [ "$(pm_stat portmap expired)" -ge 1 ] &&
	t_pass "the mapping expired (portmap expired counted)" || t_fail "expiry" "$(ctl show portmapping)"

# ---- limits: per host 8 ----
codes=""
for i in $(seq 1 9); do
	codes="$codes $(jget "$(pcp map --proto tcp --int-port $((8000 + i)) --lifetime 600)" result)"
done
[ "$(echo $codes | tr ' ' '\n' | grep -c '^8$')" -ge 1 ] &&
	t_pass "past the per-host limit: NO_RESOURCES ($codes)" || t_fail "per-host limit" "$codes"

# ---- the WAN side gets nothing ----
wan_before=$(pm_stat natpmp_pcp received)
out=$(in_ns ${RG}-inet timeout 5 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
got = 0
for dst in ("198.51.100.2", "192.168.137.1"):
    try:
        s.sendto(b"\x00\x00", (dst, 5351))
        s.recv(64)
        got += 1
    except OSError:
        pass
print(got)' 2>&1)
[ "$out" = 0 ] && [ "$(pm_stat natpmp_pcp received)" = "$wan_before" ] &&
	t_pass "requests from the WAN namespace get no answer, never reach the server" ||
	t_fail "WAN requests" "$out"

# ---- malformed requests: counted drops, forwarding goes on ----
tr_before=$(pm_stat natpmp_pcp drop_TRUNCATED)
pcp raw 00 >/dev/null                       # NAT-PMP, 1 byte
pcp raw 0001000000 >/dev/null               # NAT-PMP map, truncated
pcp raw 020100 >/dev/null                   # PCP, 3 bytes
r=$(pcp raw 0101000000000000)               # version 1
r2=$(pcp raw 02010000000000000000000000)    # PCP, 13 bytes: MALFORMED_REQUEST
r3=$(pcp raw 0081000000000000)              # a NAT-PMP response: dropped
[ "$(($(pm_stat natpmp_pcp drop_TRUNCATED) - tr_before))" = 3 ] &&
	t_pass "truncated NAT-PMP and PCP requests: counted drops (drop_TRUNCATED +3)" ||
	t_fail "truncated drops" "$(stat_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["natpmp_pcp"])')"
case $r in *'"hex": "02'*01*) t_pass "PCP version 1: UNSUPP_VERSION, answered as version 2" ;; *) t_fail "UNSUPP_VERSION" "$r" ;; esac
case $r2 in *'"hex": "02810003'*) t_pass "PCP of a bad length: MALFORMED_REQUEST" ;; *) t_fail "MALFORMED_REQUEST" "$r2" ;; esac
case $r3 in *timeout*) t_pass "a response sent to the server: no answer" ;; *) t_fail "response answered" "$r3" ;; esac
in_ns ${RG}-lan ping -c 2 -W 1 198.51.100.1 >/dev/null && t_pass "the gateway keeps forwarding" ||
	t_fail "forwarding after malformed requests"
t_grep "show stats: counters per protocol and refusal reason" "natpmp requests=[1-9].*ok=" ctl show stats

# ---- restart: ANNOUNCE, epoch back to 0, clients re-create ----
before=$(jget "$(pcp announce)" epoch)
stop_clean "first run"
in_ns ${RG}-lan python3 "$PCP" listen --seconds 4 >"$T_TMP/announce" 2>&1 &
LISTEN=$!
sleep 0.3
GW_ARGS="--portmap-min-lifetime 2" start_gw 2 || t_fail "restart" "$(cat "$T_TMP/gw.log")"
wait "$LISTEN"
python3 -c '
import json, sys
got = json.load(open(sys.argv[1]))
pcp = [g for g in got if g.get("version") == 2 and g.get("opcode") == 0 and g.get("r") == 1]
natpmp = [g for g in got if g.get("version") == 0]
sys.exit(not (pcp and natpmp and pcp[0]["epoch"] <= 1))' "$T_TMP/announce" &&
	t_pass "after a restart: PCP ANNOUNCE and NAT-PMP address to 224.0.0.1:5350, epoch 0 (was $before)" ||
	t_fail "announcements after restart" "$(cat "$T_TMP/announce")"
r=$(pcp map --proto udp --int-port 7000 --ext-port 7000 --lifetime 600)
[ "$(jget "$r" result)" = 0 ] && [ "$(reach 7000)" -ge 2 ] &&
	t_pass "the client re-creates its mapping after the restart" || t_fail "re-create" "$r"
stop_clean "after the restart"

# ---- steering: inbound packets to mapped ports, where they are translated ----
GW_ARGS="--rss-fields endpoint" start_gw 2 || t_fail "start with --rss-fields endpoint" "$(cat "$T_TMP/gw.log")"
ports=""
for i in $(seq 1 6); do
	r=$(pcp map --proto udp --int-port $((9100 + i)) --lifetime 600)
	ports="$ports $(jget "$r" ext_port)"
	udp_echo 192.168.137.10 $((9100 + i))
done
sleep 0.5
steer=$(ctl show portmapping | grep -c "origin=pcp.*steered=yes")
sums() { stat_json | python3 -c 'import json,sys; q=json.load(sys.stdin)["queues"]; print(sum(x["local"] for x in q), sum(x["handoff"] for x in q))'; }
read -r l0 h0 <<<"$(sums)"
sent=0
for p in $ports; do sent=$((sent + $(reach "$p" 20))); done
read -r l1 h1 <<<"$(sums)"
share=$(python3 -c "l, h = $l1 - $l0, $h1 - $h0; print('%.3f' % (l / (l + h) if l + h else 0))")
echo "     steering (endpoint fields): $steer of 6 PCP ports steered; $sent of 120 echoes; translated" \
	"locally $((l1 - l0)), handed off $((h1 - h0)): local share $share"
[ "$steer" = 6 ] && [ "$sent" -ge 100 ] && python3 -c "import sys; sys.exit(not $share >= 0.95)" &&
	t_pass "endpoint fields: every chosen port steered, local share $share of inbound+reply packets" ||
	t_fail "steering" "steered=$steer sent=$sent share=$share" "$(ctl show portmapping)"
stop_clean "endpoint fields"
GW_ARGS="" start_gw 2 || t_fail "start with 4-tuple fields" "$(cat "$T_TMP/gw.log")"
ports=""
for i in $(seq 1 6); do
	r=$(pcp map --proto udp --int-port $((9100 + i)) --lifetime 600)
	ports="$ports $(jget "$r" ext_port)"
done
read -r l0 h0 <<<"$(sums)"
sent=0
for p in $ports; do sent=$((sent + $(reach "$p" 20))); done
read -r l1 h1 <<<"$(sums)"
share4=$(python3 -c "l, h = $l1 - $l0, $h1 - $h0; print('%.3f' % (l / (l + h) if l + h else 0))")
echo "     steering (4-tuple fields, the default): $sent of 120 echoes; translated locally" \
	"$((l1 - l0)), handed off $((h1 - h0)): local share $share4 (an unknown remote decides)"
[ "$sent" -ge 100 ] && t_pass "4-tuple fields: mapped ports work, local share $share4 (not steerable)" ||
	t_fail "4-tuple mapped ports" "sent=$sent"
stop_clean "4-tuple fields"
echo "     suite time: $(($(date +%s) - T0)) s"
t_done
