#!/usr/bin/env bash
# test_claim.sh - shared uplink mode, per-frame claim (issue 11 item 2): the
# kernel keeps the WAN interface and its address 198.51.100.2 (given here
# with ip addr, as a DHCP client would), rssnat runs with no --wan-addr
# (--queues 2, RSS on) and takes only its own frames; the host's own
# traffic works beside a LAN host's:
#   - the host and a LAN host ping, and download from the same server port
#     (203.0.113.80:80) at the same time, while the LAN host runs iperf3;
#   - both ping with 3000 bytes at once: fragmented replies, each to its own;
#   - the host's iperf3 to the server;
#   - a TCP server of the host on the WAN address (port 80), reached from
#     the internet side, answers (the host, not rssnat), and ping of the
#     WAN address is answered by the kernel;
#   - a host TCP service on 0.0.0.0:8443, a port inside the NAT's range
#     (1024-32767): reached from the internet side while the LAN host's
#     flows (TCP download, iperf3, UDP echo, ping) run, which still work:
#     a port of the range is rssnat's only while a live mapping holds it;
#   - show stats counts frames left to the host; explain says a frame to a
#     host port is the host's;
#   - --nat-ports overlapping net.ipv4.ip_local_port_range is refused with
#     one line; a port mapping on a port a host socket listens on is
#     refused at start and live.
# Topology: gw_topo.sh's (RSSNAT_NETNS prefix), with the kernel's address on
# wan0. Needs root; every wait bounded; the EXIT trap removes the
# namespaces, also on failure. CLAIM_BACKENDS: "afpacket afxdp" (default).
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping curl iperf3 tc; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

ctl() { "$RSSNAT" "$@" --socket "$SOCK"; }
wan_json() { ctl show stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["wan"][sys.argv[1]])' "$1"; }

# The host's side of the uplink, as a DHCP client would leave it.
host_uplink() {
	ip -n ${RG}-gw addr add 198.51.100.2/24 dev wan0 &&
		ip -n ${RG}-gw route add default via 198.51.100.1
}

# rssnat in shared mode: no --wan-addr, no --wan-gateway.
start_shared() { # BACKEND [more options]
	local backend=$1
	shift
	rss_off_peers
	if [ "$backend" = afxdp ]; then
		rss_on_peers 2 || return 1
	fi
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --queues 2 --backend "$backend" \
		--socket "$SOCK" --dhcp-leases "$T_TMP/dhcp.leases" --dns off "$@" >"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$GW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# A start that must fail: its one line of stderr.
refused_start() {
	local out rc
	out=$(timeout 10 ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --queues 2 \
		--socket "$T_TMP/refused.sock" --dhcp-leases "$T_TMP/r.leases" --dns off "$@" 2>&1)
	rc=$?
	echo "$rc|$(echo "$out" | grep -c .)|$out"
}

topology || net_fail_hard "cannot build the namespaces"
servers
host_uplink || net_fail_hard "cannot give the kernel the WAN address"
echo host >"$T_TMP/www/host.txt"
mkdir -p "$T_TMP/hostwww" && echo "the host itself" >"$T_TMP/hostwww/who.txt"
# The host's own TCP service on its WAN address (port 80: outside the NAT's
# range, not a mapping).
ip netns exec ${RG}-gw python3 -m http.server 80 --bind 198.51.100.2 --directory "$T_TMP/hostwww" >/dev/null 2>&1 &
BG="$BG $!"
for _ in $(seq 1 50); do # listening before anything checks for it
	in_ns ${RG}-gw curl -s -o /dev/null http://198.51.100.2/who.txt && break
	sleep 0.1
done
# A host service on a port inside the NAT's range, on every address.
ip netns exec ${RG}-gw python3 -m http.server 8443 --bind 0.0.0.0 --directory "$T_TMP/hostwww" >/dev/null 2>&1 &
BG="$BG $!"
for _ in $(seq 1 50); do
	in_ns ${RG}-gw curl -s -o /dev/null http://198.51.100.2:8443/who.txt && break
	sleep 0.1
done
# udp_echo COUNT: datagrams the LAN host sends to the UDP echo server
# (203.0.113.80:7) one at a time, each waited for up to 1 s; prints the
# replies that came back.
udp_echo() {
	in_ns ${RG}-lan timeout 30 python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
got = 0
for i in range(int(sys.argv[1])):
    msg = b"claim %d" % i
    s.sendto(msg, ("203.0.113.80", 7))
    try:
        if s.recvfrom(2048)[0] == msg:
            got += 1
    except socket.timeout:
        pass
print(got)
PY
}
krange=$(in_ns ${RG}-gw cat /proc/sys/net/ipv4/ip_local_port_range | tr -s '\t ' '-')

# ---- refusals, before a gateway holds the interfaces ----
r=$(refused_start --nat-ports 30000-40000)
[ "${r%%|*}" != 0 ] && [ "$(echo "$r" | cut -d'|' -f2)" = 1 ] && echo "$r" | grep -q "overlaps the kernel's ephemeral ports" &&
	t_pass "--nat-ports 30000-40000 beside the kernel's $krange: refused with one line" ||
	t_fail "an overlapping --nat-ports is refused with one line" "$r"
r=$(refused_start --port-map tcp:80=192.168.137.10:8000)
[ "${r%%|*}" != 0 ] && [ "$(echo "$r" | cut -d'|' -f2)" = 1 ] && echo "$r" | grep -q "listens on tcp port 80" &&
	t_pass "--port-map on tcp 80, where a host socket listens: refused with one line" ||
	t_fail "a port mapping on a host's listening port is refused" "$r"

for backend in ${CLAIM_BACKENDS:-afpacket afxdp}; do
	t0=$(date +%s)
	start_shared "$backend" --port-map tcp:8080=192.168.137.10:8000 ||
		{ t_fail "rssnat starts in shared mode ($backend)" "$(cat "$T_TMP/gw.log")"; continue; }
	grep -q "NAT ports 1024-32767" "$T_TMP/gw.log" &&
		t_pass "$backend: NAT ports 1024-32767, outside the kernel's $krange" ||
		t_fail "$backend: the default NAT range" "$(cat "$T_TMP/gw.log")"

	# ---- both at once: the LAN host's and the host's own flows ----
	in_ns ${RG}-lan timeout 20 iperf3 -c 203.0.113.80 -t 4 >"$T_TMP/lan_iperf" 2>&1 &
	p_iperf=$!
	sleep 0.5
	in_ns ${RG}-lan timeout 20 curl -s -o "$T_TMP/lan.bin" http://203.0.113.80/10M.bin &
	p_lan=$!
	in_ns ${RG}-gw timeout 20 curl -s -o "$T_TMP/host.bin" http://203.0.113.80/10M.bin &
	p_host=$!
	in_ns ${RG}-lan ping -c 5 -i 0.2 -W 1 203.0.113.80 >"$T_TMP/lan_ping" 2>&1 &
	p_lping=$!
	udp_echo 20 >"$T_TMP/lan_udp" 2>&1 &
	p_udp=$!
	# The host's service inside the NAT's range, from the internet side,
	# three times while the LAN flows hold ports of the same range.
	in_range=0
	for _ in 1 2 3; do
		[ "$(in_ns ${RG}-inet timeout 5 curl -s http://198.51.100.2:8443/who.txt)" = "the host itself" ] &&
			in_range=$((in_range + 1))
		sleep 0.2
	done
	in_ns ${RG}-gw ping -c 5 -i 0.2 -W 1 203.0.113.80 >"$T_TMP/host_ping" 2>&1
	host_ping=$?
	wait $p_lping; lan_ping=$?
	wait $p_lan; lan_curl=$?
	wait $p_host; host_curl=$?
	wait $p_iperf; lan_iperf=$?
	wait $p_udp
	[ "$in_range" = 3 ] &&
		t_pass "$backend: the host's TCP service on 0.0.0.0:8443, inside the NAT's range, answers the internet side 3/3 while LAN flows run" ||
		t_fail "$backend: the host's service inside the NAT range" "answered $in_range/3"
	[ "$(cat "$T_TMP/lan_udp")" = 20 ] && t_pass "$backend: the LAN host's UDP echo meanwhile, 20/20" ||
		t_fail "$backend: the LAN host's UDP" "$(cat "$T_TMP/lan_udp")"
	want=$(md5sum <"$T_TMP/www/10M.bin")
	[ $host_ping -eq 0 ] && t_pass "$backend: the host's own ping to the server" ||
		t_fail "$backend: the host's ping" "$(tail -3 "$T_TMP/host_ping")"
	[ $lan_ping -eq 0 ] && t_pass "$backend: the LAN host's ping at the same time" ||
		t_fail "$backend: the LAN host's ping" "$(tail -3 "$T_TMP/lan_ping")"
	[ $host_curl -eq 0 ] && [ "$(md5sum <"$T_TMP/host.bin")" = "$want" ] &&
		[ $lan_curl -eq 0 ] && [ "$(md5sum <"$T_TMP/lan.bin")" = "$want" ] &&
		t_pass "$backend: the host and a LAN host download 10 MB from the same server port at once, both intact" ||
		t_fail "$backend: both downloads" "host rc=$host_curl lan rc=$lan_curl"
	[ $lan_iperf -eq 0 ] && t_pass "$backend: the LAN host's iperf3 meanwhile ($(grep receiver "$T_TMP/lan_iperf" | awk '{print $7, $8}'))" ||
		t_fail "$backend: the LAN host's iperf3" "$(tail -3 "$T_TMP/lan_iperf")"
	# Fragmented replies (3000-byte pings): the first fragment decides by
	# the echo identifier, the rest follow it, for both at once.
	in_ns ${RG}-lan ping -c 3 -i 0.2 -W 1 -s 3000 203.0.113.80 >"$T_TMP/lan_frag" 2>&1 &
	p_lfrag=$!
	in_ns ${RG}-gw ping -c 3 -i 0.2 -W 1 -s 3000 203.0.113.80 >"$T_TMP/host_frag" 2>&1
	host_frag=$?
	wait $p_lfrag
	[ $? -eq 0 ] && [ $host_frag -eq 0 ] &&
		t_pass "$backend: fragmented echo replies (ping -s 3000) reach the host and the LAN host at once" ||
		t_fail "$backend: fragmented pings" "host: $(tail -2 "$T_TMP/host_frag")" "lan: $(tail -2 "$T_TMP/lan_frag")"
	out=$(in_ns ${RG}-gw timeout 15 iperf3 -c 203.0.113.80 -t 2 2>&1)
	[ $? -eq 0 ] && t_pass "$backend: the host's own iperf3 ($(echo "$out" | grep receiver | awk '{print $7, $8}'))" ||
		t_fail "$backend: the host's iperf3" "$(echo "$out" | tail -3)"

	# ---- the WAN side reaches the host itself ----
	h0=$(wan_json left_to_host)
	got=$(in_ns ${RG}-inet timeout 5 curl -s http://198.51.100.2/who.txt)
	[ "$got" = "the host itself" ] && t_pass "$backend: the host's TCP server on its WAN address answers the internet side" ||
		t_fail "$backend: the host's server from the WAN" "got: $got"
	in_ns ${RG}-inet ping -c 3 -i 0.2 -W 1 198.51.100.2 >/dev/null &&
		t_pass "$backend: ping of the WAN address is answered (by the kernel)" ||
		t_fail "$backend: ping of the WAN address"
	h1=$(wan_json left_to_host)
	[ "$((h1 - h0))" -ge 6 ] && t_pass "$backend: show stats counts the frames left to the host (+$((h1 - h0)))" ||
		t_fail "$backend: left_to_host" "before $h0 after $h1"
	ctl show global | grep -q "^NAT Port Range *: 1024-32767 (the kernel's own: $krange" &&
		ctl show global --json | grep -q '"nat_ports":"1024-32767"' &&
		t_pass "$backend: show global names the NAT port range beside the kernel's" ||
		t_fail "$backend: show global's NAT Port Range" "$(ctl show global | tail -4)"
	ctl show stats | grep -q "^wan shared=yes nat_ports=1024-32767 left_to_host=" &&
		t_pass "$backend: show stats (text) has the wan line" || t_fail "$backend: show stats text" "$(ctl show stats | tail -3)"
	out=$(ctl explain 203.0.113.80:80 198.51.100.2:45000 proto=tcp)
	echo "$out" | grep -q "^frame of: host" && echo "$out" | grep -q "belongs to the host" &&
		t_pass "$backend: explain says a frame to port 45000 is the host's" || t_fail "$backend: explain" "$out"
	out=$(ctl explain 203.0.113.80:80 198.51.100.2:8443 proto=tcp)
	echo "$out" | grep -q "^frame of: host" &&
		t_pass "$backend: explain says a frame to port 8443 (in the NAT's range, no mapping holds it) is the host's" ||
		t_fail "$backend: explain of a port in the range" "$out"
	out=$(ctl explain 203.0.113.80:80 198.51.100.2:8080 proto=tcp --json)
	echo "$out" | grep -q '"frame_of":"rssnat"' && t_pass "$backend: ... and one to the mapped port 8080 rssnat's" ||
		t_fail "$backend: explain of the mapped port" "$out"
	# The mapped service (LAN 192.168.137.10:8000) from the internet side.
	got=$(in_ns ${RG}-inet timeout 5 curl -s http://198.51.100.2:8080/host.txt 2>&1)
	[ "$got" = host ] && t_pass "$backend: the port mapping 8080 reaches the LAN host" ||
		t_fail "$backend: the port mapping" "got: $got"
	# A live port mapping on the host's listening port.
	out=$(ctl add portmapping tcp:80=192.168.137.10:8000 2>&1)
	[ $? -ne 0 ] && echo "$out" | grep -q "listens on tcp port 80" &&
		t_pass "$backend: add portmapping on tcp 80 refused: a host socket listens there" ||
		t_fail "$backend: add portmapping on the host's port" "$out"
	# A port mapping added live is rssnat's; deleted, the host's again.
	frame_of() { ctl explain 203.0.113.80:80 198.51.100.2:40080 proto=tcp --json | sed -n 's/.*"frame_of":"\([a-z]*\)".*/\1/p'; }
	ctl add portmapping tcp:40080=192.168.137.10:8001 >/dev/null && a=$(frame_of) &&
		ctl delete portmapping tcp:40080 >/dev/null && sleep 0.3 && d=$(frame_of)
	[ "${a:-}" = rssnat ] && [ "${d:-}" = host ] &&
		t_pass "$backend: tcp 40080 mapped live is rssnat's, deleted the host's again" ||
		t_fail "$backend: a live mapping's port" "added: ${a:-?} deleted: ${d:-?}"
	stop_gw || t_fail "$backend: rssnat exits cleanly" "$(tail -5 "$T_TMP/gw.log")"
	# The host's uplink without rssnat.
	in_ns ${RG}-gw ping -c 2 -i 0.2 -W 1 203.0.113.80 >/dev/null &&
		t_pass "$backend: rssnat stopped, the host's uplink works" || t_fail "$backend: the uplink after rssnat"
	echo "     ($backend: $(($(date +%s) - t0)) s)"
done
t_done
