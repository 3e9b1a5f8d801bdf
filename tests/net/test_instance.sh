#!/usr/bin/env bash
# test_instance.sh - one rssnat per interface: a second `rssnat run` on the
# interfaces of a running one is refused before it touches anything, and the
# first keeps forwarding, its stack guard in place (issue 14, item 3); a
# kill -9'd instance leaves nothing that stops a restart; a stopped one
# leaves no tc filter, XDP program or host interface behind. Both backends.
# Needs root.
#
# The topology is drawn in gw_topo.sh. Every wait is bounded; an EXIT trap
# removes the namespaces and ends every process started, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping ethtool tc; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
SECOND_PID=""
cleanup() {
	[ -n "$SECOND_PID" ] && kill "$SECOND_PID" 2>/dev/null
	topo_cleanup
}
trap cleanup EXIT

QUEUES=2

# second BACKEND ARGS...: a second instance on lan0 and wan0, the first's
# settings plus ARGS. SECOND_RC: its exit status, or "running" if it was
# still up after 3 s (then SECOND_PID names it); its output in second.log.
# SECOND_WRAP: a command to run it under (unshare, for another /run).
SECOND_WRAP=""
second() {
	local backend=$1
	shift
	# shellcheck disable=SC2086
	ip netns exec ${RG}-gw $SECOND_WRAP "$RSSNAT" run --lan lan0 --wan wan0 --wan-addr 198.51.100.2/24 \
		--wan-gateway 198.51.100.1 --queues $QUEUES --backend "$backend" \
		--port-map tcp:8080=192.168.137.10:8000 --dhcp-leases "$T_TMP/dhcp.leases" \
		--dns-upstream 203.0.113.53 "$@" >"$T_TMP/second.log" 2>&1 &
	SECOND_PID=$!
	for _ in $(seq 1 30); do
		kill -0 "$SECOND_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SECOND_PID" 2>/dev/null; then
		SECOND_RC=running
	else
		wait "$SECOND_PID"
		SECOND_RC=$?
		SECOND_PID=""
	fi
}

stop_second() {
	[ -n "$SECOND_PID" ] || return 0
	kill -TERM "$SECOND_PID" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$SECOND_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SECOND_PID" 2>/dev/null
	SECOND_PID=""
}

# refused NAME: the second instance exited 1 with one line that names the
# interface and the first instance's PID.
refused() {
	local lines
	lines=$(wc -l <"$T_TMP/second.log")
	if [ "$SECOND_RC" = 1 ] && [ "$lines" -eq 1 ] &&
		grep -Eq "^rssnat: run: (lan0|wan0) is in use by rssnat \(pid $GW_PID\)" "$T_TMP/second.log"; then
		t_pass "$1: refused with one line: $(cat "$T_TMP/second.log")"
	else
		t_fail "$1: refused with one line naming the interface and pid $GW_PID" \
			"exit: $SECOND_RC" "output ($lines lines): $(head -3 "$T_TMP/second.log")"
	fi
}

# ping_once NAME WHAT ADDR: 5 pings, 5 replies, none duplicated.
ping_once() {
	local out
	out=$(in_ns ${RG}-lan ping -c 5 -W 1 -i 0.2 "$3" 2>&1)
	echo "   $1: ping $3: $(printf '%s\n' "$out" | grep -E 'transmitted' | tr -s ' ')"
	if printf '%s\n' "$out" | grep -q ' 5 received' && ! printf '%s\n' "$out" | grep -q 'DUP!'; then
		t_pass "$1: ping $2, 5 of 5, no duplicate"
	else
		t_fail "$1: ping $2, 5 of 5, no duplicate" "$(printf '%s\n' "$out" | tail -3)"
	fi
}

pings_once() { # NAME: the gateway itself and a host through the NAT
	ping_once "$1" "the gateway" 192.168.137.1
	ping_once "$1" "through the NAT" 203.0.113.80
}

# dns_once NAME: 5 queries for the local zone's SOA to 192.168.137.1, each
# answered exactly once with NOERROR (the rcodes of every answer, per query;
# R: an ICMP port unreachable, which a connected socket reports).
dns_once() {
	local got
	got=$(in_ns ${RG}-lan python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.137.10", 0))
s.connect(("192.168.137.1", 53))
out = []
for i in range(5):
    qid = 0x5100 + i
    q = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + b"\x06mshome\x03net\x00" + struct.pack("!HH", 6, 1)
    s.send(q)
    end, rcodes = time.time() + 0.7, []
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            d = s.recv(2048)
        except socket.timeout:
            break
        except ConnectionRefusedError:
            rcodes.append("R")
            continue
        if len(d) >= 12 and struct.unpack("!H", d[:2])[0] == qid:
            rcodes.append(d[3] & 15)
    out.append(",".join(map(str, rcodes)) or "none")
print(" ".join(out))
PY
)
	echo "   $1: DNS rcodes per query: $got"
	[ "$got" = "0 0 0 0 0" ] && t_pass "$1: 5 DNS queries, each answered once, NOERROR" ||
		t_fail "$1: 5 DNS queries, each answered once, NOERROR" "rcodes per query: $got"
}

filters() { # DEV [PROGRAM]: the tc ingress filters (running PROGRAM) on DEV in the gateway's namespace
	in_ns ${RG}-gw tc filter show dev "$1" ingress 2>/dev/null | grep ' handle .* bpf\| bpf .* handle ' |
		grep -c "${2:-.}"
}

# guarded NAME: the first instance's stack guards are in place, and its
# fast path filters (issue 12), and nothing else.
guarded() {
	local l w o=1
	l="$(filters lan0 stack_guard) $(filters lan0 offload_tc) $(filters lan0)"
	w="$(filters wan0 stack_guard) $(filters wan0 offload_tc) $(filters wan0)"
	[ "$l" = "1 $o $((1 + o))" ] && [ "$w" = "1 $o $((1 + o))" ] &&
		t_pass "$1: one stack guard (and $o fast path filter) each on lan0 and wan0" ||
		t_fail "$1: one stack guard (and $o fast path filter) each on lan0 and wan0" \
			"lan0 guard, offload, all: $l; wan0: $w" "$(in_ns ${RG}-gw tc filter show dev lan0 ingress)"
}

# nothing_left NAME: no filter, XDP program or host interface remains.
nothing_left() {
	local l w x h
	l=$(filters lan0) w=$(filters wan0)
	x=$(in_ns ${RG}-gw ip -d link show | grep -c 'prog/xdp')
	h=$(in_ns ${RG}-gw ip -o link show | grep -c 'rssnat[0-9]')
	[ "$l$w$x$h" = 0000 ] && t_pass "$1: no tc filter, XDP program or host interface left" ||
		t_fail "$1: no tc filter, XDP program or host interface left" \
			"filters lan0 $l wan0 $w, xdp $x, host interfaces $h"
}

start_first() { # BACKEND NAME
	if start_gw $QUEUES "$1"; then
		t_pass "$2: first instance starts"
		return 0
	fi
	t_fail "$2: first instance starts" "$(cat "$T_TMP/gw.log")"
	stop_gw
	return 1
}

# coexist: the second instance in a mount namespace of its own with an
# empty /run (private_run.sh), where the first's claims cannot be seen: two
# instances coexist, as they could from two containers sharing a network
# namespace. Each must remove only what it installed.
coexist() { # BACKEND
	local b=$1 n="$1, coexisting (a second /run)"
	start_first "$b" "$n" || return
	SECOND_WRAP="unshare --mount --propagation private $HERE/private_run.sh"
	second "$b" --socket "$T_TMP/third.sock"
	[ "$SECOND_RC" = 1 ] && t_pass "$n: a second one with the same host interface fails: $(cat "$T_TMP/second.log")" ||
		t_fail "$n: a second one with the same host interface fails" "exit $SECOND_RC" "$(cat "$T_TMP/second.log")"
	stop_second
	guarded "$n, after its failed start"
	pings_once "$n, after its failed start"
	dns_once "$n, after its failed start"
	second "$b" --socket "$T_TMP/third.sock" --host-if rssnat2
	[ "$SECOND_RC" = running ] && t_pass "$n: a second one with another host interface runs" ||
		t_fail "$n: a second one with another host interface runs" "exit $SECOND_RC" "$(cat "$T_TMP/second.log")"
	stop_second
	SECOND_WRAP=""
	guarded "$n, after its SIGTERM"
	pings_once "$n, after its SIGTERM"
	dns_once "$n, after its SIGTERM"
	stop_gw
	nothing_left "$n, then SIGTERM"
}

suite() { # BACKEND
	local b=$1 n
	n="$b, same socket"
	if start_first "$b" "$n"; then
		second "$b" --socket "$SOCK"
		refused "$n"
		stop_second
		"$RSSNAT" show stats --socket "$SOCK" >/dev/null 2>&1 &&
			t_pass "$n: the first still answers on its control socket" ||
			t_fail "$n: the first still answers on its control socket"
		guarded "$n"
		pings_once "$n"
		dns_once "$n"
		stop_gw
		nothing_left "$b, SIGTERM"
	fi

	n="$b, another socket and host interface"
	if start_first "$b" "$n"; then
		second "$b" --socket "$T_TMP/second.sock" --host-if rssnat1
		refused "$n"
		pings_once "$n"
		dns_once "$n"
		stop_second
		guarded "$n"
		stop_gw
	fi

	n="$b, after kill -9"
	if start_first "$b" "$n"; then
		kill -9 "$GW_PID"
		wait "$GW_PID" 2>/dev/null
		GW_PID=""
		rm -f "$SOCK" # a killed instance cannot remove its socket
		if start_gw $QUEUES "$b"; then
			t_pass "$n: a new instance starts"
			guarded "$n"
			pings_once "$n"
			dns_once "$n"
			stop_gw
			nothing_left "$n, then SIGTERM"
		else
			t_fail "$n: a new instance starts" "$(cat "$T_TMP/gw.log")"
			stop_gw
		fi
	fi
}

topology || net_fail_hard "cannot build the namespaces"
suite afpacket
suite afxdp
coexist afpacket
t_done
