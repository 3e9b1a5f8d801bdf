# gw_topo.sh - the gateway topology shared by tests/net/test_gateway.sh and
# tools/demo.sh. Source it after setting T_TMP (a private temporary
# directory) and RSSNAT (absolute path of the binary).
#
#   netns rg-lan              netns rg-gw                 netns rg-inet          netns rg-srv
#   lanh 192.168.137.10/24    lan0 --- rssnat --- wan0    wanr 198.51.100.1/24   srv 203.0.113.80/24
#        192.168.137.11/24 <->  (no kernel address)   <-> srvr 203.0.113.1/24 <->  http :80, iperf3,
#   default via .1            192.168.137.1 | 198.51.100.2  (the second router)    UDP echo :7
#   http :8000 (the mapped service: WAN 198.51.100.2:8080 -> 192.168.137.10:8000)
#
# rssnat also serves DHCP and DNS on 192.168.137.1 (its host interface rssnat0
# lives in rg-gw); its DNS upstream is 203.0.113.53, which the tests that need
# it add to rg-srv (tests/net/test_services.sh). Leases go to $T_TMP.
#
# Offloads are off on every veth: AF_PACKET sees frames as the wire has them.
# Every wait is bounded; topo_cleanup (the caller's EXIT trap) removes the
# namespaces and everything running in them.

# RSSNAT_NETNS: the namespaces' prefix (rg), so that two runs can live side by side.
RG=${RSSNAT_NETNS:-rg}
NS="${RG}-lan ${RG}-gw ${RG}-inet ${RG}-srv"
SOCK=$T_TMP/rssnat.sock
GW_PID=""
GW_ARGS=${GW_ARGS:-}
BG=""

topo_cleanup() {
	[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null
	for p in $BG; do kill "$p" 2>/dev/null; done
	# Whatever still lives in our namespaces would outlive them: end it.
	for n in $NS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
	wait 2>/dev/null
	for n in $NS; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$T_TMP"
}

# Foreground only: a function put in the background is a subshell, and $!
# would name it instead of the program (background with ip netns exec).
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

topology() {
	for n in $NS; do ip netns del "$n" 2>/dev/null; ip netns add "$n" || return 1; ip -n "$n" link set lo up; done
	# Four queues on the gateway's links, for the afxdp backend (afpacket's
	# fanout does not care).
	ip link add lanh netns ${RG}-lan numtxqueues 4 numrxqueues 4 type veth \
		peer name lan0 netns ${RG}-gw numtxqueues 4 numrxqueues 4 &&
	ip link add wan0 netns ${RG}-gw numtxqueues 4 numrxqueues 4 type veth \
		peer name wanr netns ${RG}-inet numtxqueues 4 numrxqueues 4 &&
	ip link add srvr netns ${RG}-inet type veth peer name srv netns ${RG}-srv || return 1
	for pair in ${RG}-lan:lanh ${RG}-gw:lan0 ${RG}-gw:wan0 ${RG}-inet:wanr ${RG}-inet:srvr ${RG}-srv:srv; do
		local n=${pair%%:*} d=${pair#*:}
		in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		in_ns "$n" ethtool -K "$d" tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$n" link set "$d" up
	done
	ip -n ${RG}-lan addr add 192.168.137.10/24 dev lanh
	ip -n ${RG}-lan addr add 192.168.137.11/24 dev lanh
	ip -n ${RG}-lan route add default via 192.168.137.1
	ip -n ${RG}-inet addr add 198.51.100.1/24 dev wanr
	ip -n ${RG}-inet addr add 203.0.113.1/24 dev srvr
	in_ns ${RG}-inet sysctl -qw net.ipv4.ip_forward=1
	ip -n ${RG}-srv addr add 203.0.113.80/24 dev srv
	ip -n ${RG}-srv route add default via 203.0.113.1
}

# iperf_verdict JSON MIN: "ok N intervals, lowest X Mbit/s, mean Y Mbit/s"
# if iperf3's JSON has at least MIN intervals and none at zero throughput,
# else "bad: ..." (a flow stalled or ended early).
iperf_verdict() {
	python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON: %s" % e); sys.exit(0)
iv = [i["sum"]["bits_per_second"] for i in d.get("intervals", [])]
low = min(iv) if iv else 0
print("ok %d intervals, lowest %.1f Mbit/s, mean %.1f Mbit/s" % (len(iv), low / 1e6, sum(iv) / max(len(iv), 1) / 1e6)
      if iv and low > 0 and len(iv) >= int(sys.argv[2]) else "bad: %d intervals, lowest %.0f bit/s" % (len(iv), low))
PY
}

# udp_echo_start NS ADDR PORT [SECONDS [TAG]]: in the background ($! names
# it), a UDP server in NS on ADDR:PORT that answers each datagram with
# itself, or with TAG:datagram, for SECONDS (120).
udp_echo_start() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.5)
end = time.time() + float(sys.argv[3])
tag = sys.argv[4].encode() + b":" if sys.argv[4] else b""
while time.time() < end:
    try:
        d, a = s.recvfrom(2048)
        s.sendto(tag + d, a)
    except socket.timeout:
        pass' "$2" "$3" "${4:-120}" "${5:-}" >/dev/null 2>&1 &
}

servers() {
	mkdir -p "$T_TMP/www"
	head -c 10485760 /dev/urandom >"$T_TMP/www/10M.bin"
	ip netns exec ${RG}-srv python3 -m http.server 80 --bind 203.0.113.80 --directory "$T_TMP/www" >/dev/null 2>&1 &
	BG="$BG $!"
	ip netns exec ${RG}-lan python3 -m http.server 8000 --bind 192.168.137.10 --directory "$T_TMP/www" >/dev/null 2>&1 &
	BG="$BG $!"
	ip netns exec ${RG}-srv iperf3 -s -B 203.0.113.80 >/dev/null 2>&1 &
	BG="$BG $!"
	udp_echo_start ${RG}-srv 203.0.113.80 7 600
	BG="$BG $!"
	sleep 1
}

# rss_on_peers QUEUES: the afxdp backend reads hardware queues, and a veth
# has no RSS of its own: emulate the NIC's with a tc program on each peer
# that sends into the gateway (afpacket computes RSS itself and needs none).
rss_on_peers() {
	in_ns ${RG}-lan "$RSSNAT" io tc-rss --iface lanh --queues "$1" --side lan >/dev/null &&
		in_ns ${RG}-inet "$RSSNAT" io tc-rss --iface wanr --queues "$1" --side wan >/dev/null
}

rss_off_peers() {
	in_ns ${RG}-lan tc qdisc del dev lanh clsact 2>/dev/null
	in_ns ${RG}-inet tc qdisc del dev wanr clsact 2>/dev/null
	return 0
}

start_gw() { # QUEUES [BACKEND]
	local backend=${2:-afpacket}
	rss_off_peers
	if [ "$backend" = afxdp ]; then
		rss_on_peers "$1" || return 1
	fi
	# GW_ARGS: more options from the caller (LAN services, RSS settings).
	# RSSNAT_OFFLOAD=enabled|disabled: the kernel fast path for the whole
	# suite (run-all.sh runs some suites again with it disabled, so that the
	# user-space path is tested with real clients too); GW_ARGS may still
	# say otherwise (it comes after).
	# shellcheck disable=SC2086
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --wan-addr 198.51.100.2/24 \
		--wan-gateway 198.51.100.1 --queues "$1" --backend "$backend" --socket "$SOCK" \
		${RSSNAT_OFFLOAD:+--offload "$RSSNAT_OFFLOAD"} \
		--port-map tcp:8080=192.168.137.10:8000 --dhcp-leases "$T_TMP/dhcp.leases" \
		--dns-upstream 203.0.113.53 ${GW_ARGS:-} >"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	return 1
}

stop_gw() {
	kill -TERM "$GW_PID" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$GW_PID"
	local rc=$?
	GW_PID=""
	return $rc
}

