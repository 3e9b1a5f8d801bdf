#!/usr/bin/env bash
# test_afxdp.sh - the afxdp backend: one AF_XDP socket per receive queue of
# a multi-queue veth, steered by an emulated NIC RSS (`rssnat io tc-rss`, a
# tc egress program on the sending peer that computes the engine's queue and
# sets queue_mapping). Every frame must arrive on the queue `rssnat rss hash`
# computes; then the gateway runs with --backend afxdp and forwards ping,
# HTTP and UDP.
#
#   netns rx-a                                netns rx-b
#   rx-va 4 queues, tc egress tc_rss <------> rx-vb 4 queues, XDP xsk_redirect
#   python3: raw UDP, TCP SYN, 802.1Q,        rssnat io probe --backend afxdp
#   ICMP echo, fragments
#
#   netns rx-lan          netns rx-gw                     netns rx-inet          netns rx-srv
#   lanh (tc_rss lan) <-> lan0 --rssnat afxdp-- wan0 <-> wanr (tc_rss wan)  srvr <-> srv
#   192.168.137.10/24     (4 queues each)                 198.51.100.1/24        203.0.113.80/24
#                                                         203.0.113.1/24         http :80, UDP echo :7
#
# Usage: test_afxdp.sh PATH/TO/rssnat   (needs root; RSSNAT_SKIP_NET=1 skips)
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
RSSNAT=$(realpath "$RSSNAT")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"

# lib.sh's helpers (net_send, net_bg, net_teardown) on our own namespaces.
NET_NS_A=rx-a
NET_NS_B=rx-b
NET_IF_A=rx-va
NET_IF_B=rx-vb
GW_NS="rx-lan rx-gw rx-inet rx-srv"
QUEUES=4
PLAN="udp:120,tcp:120,vlan-udp:16,icmp:8,frag-udp:8"
FRAMES=280 # 120 + 120 + 16 + 8 + 2 * 8
PROBE_SECONDS=20
READY_TENTHS=100
SOCK=""
GW_PID=""


cleanup() {
	local n
	[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null
	net_teardown
	for n in $GW_NS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
	wait 2>/dev/null
	for n in $GW_NS; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$T_TMP"
	return 0
}

# mq_pair NS_A IF_A NS_B IF_B QUEUES: a veth pair with QUEUES queues each
# way, up, no IPv6, no offloads (AF_XDP copies frames as they are: a
# checksum left to the hardware would be wrong on the other side).
mq_pair() {
	ip link add "$2" netns "$1" numtxqueues "$5" numrxqueues "$5" type veth \
		peer name "$4" netns "$3" numtxqueues "$5" numrxqueues "$5" || return 1
	local pair ns dev
	for pair in "$1:$2" "$3:$4"; do
		ns=${pair%%:*} dev=${pair#*:}
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		ip netns exec "$ns" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$ns" link set "$dev" up || return 1
	done
}

PROBE_BACKEND=afxdp


# run_probe NAME SEED FIELDS ICMP_PORTS [TC/PROBE ARGS...]: program the
# peer's tc RSS and the probe alike, send every kind of frame, check queues.
run_probe() {
	local name=$1 seed=$2 fields=$3 icmp=$4 rc summary used out=$T_TMP/probe-$2
	shift 4
	if ! ip netns exec "$NET_NS_A" "$RSSNAT" io tc-rss --iface "$NET_IF_A" --queues "$QUEUES" \
		--fields "$fields" "$@" >"$T_TMP/tc.out" 2>&1; then
		t_fail "$name: tc RSS attached on $NET_IF_A" "$(cat "$T_TMP/tc.out")"
		return
	fi
	if ! start_probe "$QUEUES" "$FRAMES" "$out" --fields "$fields" "$@"; then
		t_fail "$name: afxdp probe opens $NET_IF_B with $QUEUES queues" "$(cat "$out.err")"
		return
	fi
	net_send "$NET_NS_A" "$NET_IF_A" "$MAC_B" "$seed" "$PLAN" >/dev/null
	net_bg_wait "$PROBE"
	rc=$?
	summary=$(grep '^frames=' "$out")
	[ $rc -eq 0 ] && [ "$(field frames "$summary")" = "$FRAMES" ] &&
		t_pass "$name: received all $FRAMES frames ($summary)" ||
		t_fail "$name: received all $FRAMES frames" "rc=$rc summary: $summary" \
			"stderr: $(cat "$out.err")"
	check_queues "$out" "$QUEUES" "$fields" "$icmp" "$name"
	used=$(field per_queue "$summary" | tr ',' '\n' | grep -vc '^0$')
	[ "$used" -eq "$QUEUES" ] && t_pass "$name: frames on all $QUEUES queues" ||
		t_fail "$name: frames on all $QUEUES queues" "per_queue=$(field per_queue "$summary")"
}

net_require
command -v ethtool >/dev/null || net_fail_hard "ethtool not found (tools/deps.sh installs it)"
trap cleanup EXIT
trap 'exit 130' INT TERM
net_teardown
ip netns add "$NET_NS_A" 2>/dev/null || net_fail_hard "cannot create network namespaces"
ip netns add "$NET_NS_B" || net_fail_hard "cannot create namespace $NET_NS_B"
mq_pair "$NET_NS_A" "$NET_IF_A" "$NET_NS_B" "$NET_IF_B" "$QUEUES" ||
	net_fail_hard "cannot create a $QUEUES-queue veth pair"
ip -n "$NET_NS_A" addr add "$NET_ADDR_A/$NET_PREFIX" dev "$NET_IF_A"
MAC_B=$(net_mac "$NET_NS_B" "$NET_IF_B")

# Steering: every frame on the engine's queue ----------------------------------
run_probe "lan side, 4-tuple" 1 sdfn 0
run_probe "wan side, destination endpoint, ICMP id as port" 3 dn 1 --side wan --icmp-ports
run_probe "lan side, source endpoint" 4 sf 0

# What the probe left behind, and refusals -------------------------------------
xdp=$(ip -n "$NET_NS_B" -d link show "$NET_IF_B" | grep -c 'prog/xdp')
[ "$xdp" -eq 0 ] && t_pass "XDP program detached after the probe" ||
	t_fail "XDP program detached after the probe" "$(ip -n "$NET_NS_B" -d link show "$NET_IF_B")"
out=$(ip netns exec "$NET_NS_B" "$RSSNAT" io probe --backend afxdp --iface "$NET_IF_B" \
	--queues 8 --count 1 --seconds 1 2>"$T_TMP/err")
rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] && [ "$(wc -l <"$T_TMP/err")" -eq 1 ] &&
	grep -q "asked for 8 queues but the interface has 4 receive queues" "$T_TMP/err" &&
	t_pass "more queues than the interface has: refused in one line" ||
	t_fail "more queues than the interface has: refused" "rc=$rc" "$(cat "$T_TMP/err")"
ip -n "$NET_NS_B" link add rx-down-0 type veth peer name rx-down-1
out=$(ip netns exec "$NET_NS_B" "$RSSNAT" io probe --backend afxdp --iface rx-down-0 \
	--queues 1 --count 1 --seconds 1 2>"$T_TMP/err")
rc=$?
[ $rc -eq 1 ] && grep -q "rx-down-0: interface is down" "$T_TMP/err" &&
	t_pass "interface down: refused" || t_fail "interface down: refused" "$(cat "$T_TMP/err")"
t_usage_error "--backend nosuch: exit 2" "--backend" "$RSSNAT" io probe --iface lo --backend nosuch
t_usage_error "run --backend nosuch: exit 2" "--backend" "$RSSNAT" run --backend nosuch
net_teardown

# The gateway on afxdp -------------------------------------------------------
gw_topology() {
	local n
	for n in $GW_NS; do
		ip netns del "$n" 2>/dev/null
		ip netns add "$n" && ip -n "$n" link set lo up || return 1
	done
	mq_pair rx-lan lanh rx-gw lan0 "$QUEUES" && mq_pair rx-gw wan0 rx-inet wanr "$QUEUES" &&
		mq_pair rx-inet srvr rx-srv srv 1 || return 1
	ip -n rx-lan addr add 192.168.137.10/24 dev lanh
	ip -n rx-lan route add default via 192.168.137.1
	ip -n rx-inet addr add 198.51.100.1/24 dev wanr
	ip -n rx-inet addr add 203.0.113.1/24 dev srvr
	ip netns exec rx-inet sysctl -qw net.ipv4.ip_forward=1
	ip -n rx-srv addr add 203.0.113.80/24 dev srv
	ip -n rx-srv route add default via 203.0.113.1
	ip netns exec rx-lan "$RSSNAT" io tc-rss --iface lanh --queues "$QUEUES" --side lan >/dev/null &&
		ip netns exec rx-inet "$RSSNAT" io tc-rss --iface wanr --queues "$QUEUES" --side wan \
			>/dev/null
}

gw_servers() {
	mkdir -p "$T_TMP/www"
	head -c 4194304 /dev/urandom >"$T_TMP/www/4M.bin"
	ip netns exec rx-srv python3 -m http.server 80 --bind 203.0.113.80 \
		--directory "$T_TMP/www" >/dev/null 2>&1 &
	ip netns exec rx-srv timeout 120 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.80", 7))
while True:
    d, p = s.recvfrom(2048)
    s.sendto(d, p)' >/dev/null 2>&1 &
	sleep 1
}

udp_exchange() { # 50 datagrams, how many answered
	ip netns exec rx-lan python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
got = 0
for i in range(50):
    msg = b"rssnat-%d" % i
    s.sendto(msg, ("203.0.113.80", 7))
    try:
        data, peer = s.recvfrom(2048)
        got += data == msg
    except socket.timeout:
        pass
print(got)
PY
}

if gw_topology; then
	t_pass "gateway topology: $QUEUES-queue veths, tc RSS on both peers"
	gw_servers
	SOCK=$T_TMP/rssnat.sock
	ip netns exec rx-gw "$RSSNAT" run --backend afxdp --lan lan0 --wan wan0 \
		--wan-addr 198.51.100.2/24 --wan-gateway 198.51.100.1 --queues "$QUEUES" \
		--socket "$SOCK" --dhcp off --dns off >"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && break
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -S "$SOCK" ]; then
		t_pass "rssnat run --backend afxdp --queues $QUEUES starts"
		ip netns exec rx-lan ping -c 3 -W 1 -i 0.2 192.168.137.1 >/dev/null &&
			t_pass "ping the gateway" || t_fail "ping the gateway"
		ip netns exec rx-lan ping -c 5 -W 1 -i 0.2 203.0.113.80 >/dev/null &&
			t_pass "ping through the NAT" || t_fail "ping through the NAT"
		if ip netns exec rx-lan curl -s --max-time 30 -o "$T_TMP/got.bin" \
			http://203.0.113.80/4M.bin && cmp -s "$T_TMP/got.bin" "$T_TMP/www/4M.bin"; then
			t_pass "4 MB HTTP download through the NAT, byte for byte"
		else
			t_fail "4 MB HTTP download through the NAT" "$(tail -3 "$T_TMP/gw.log")"
		fi
		got=$(udp_exchange)
		[ "$got" = 50 ] && t_pass "UDP exchange, 50 of 50 answered" ||
			t_fail "UDP exchange" "$got of 50 answered"
		stats=$("$RSSNAT" show stats --socket "$SOCK")
		busy=$(printf '%s\n' "$stats" | awk '/^queue=/ {for (i = 1; i <= NF; i++)
			if ($i ~ /^rx_lan=/) {split($i, a, "="); if (a[2] > 0) n++}} END {print n + 0}')
		[ "$busy" -gt 1 ] && t_pass "LAN traffic received on $busy queues" ||
			t_fail "LAN traffic on more than one queue" "$stats"
		kill -TERM "$GW_PID"
		for _ in $(seq 1 50); do
			kill -0 "$GW_PID" 2>/dev/null || break
			sleep 0.1
		done
		wait "$GW_PID"
		rc=$?
		GW_PID=""
		xdp=$(ip -n rx-gw -d link show | grep -c 'prog/xdp')
		[ $rc -eq 0 ] && [ "$xdp" -eq 0 ] && t_pass "SIGTERM stops it, XDP programs detached" ||
			t_fail "clean stop" "rc=$rc, $xdp XDP programs left" "$(tail -5 "$T_TMP/gw.log")"
	else
		t_fail "rssnat run --backend afxdp starts" "$(cat "$T_TMP/gw.log")"
	fi
else
	t_fail "gateway topology with $QUEUES-queue veths"
fi

t_done
