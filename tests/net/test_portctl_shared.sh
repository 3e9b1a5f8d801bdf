#!/usr/bin/env bash
# test_portctl_shared.sh - port control (issue 13) in shared uplink mode
# (issue 11): the kernel holds the WAN address 198.51.100.2 (as a DHCP
# client would leave it), rssnat runs with no --wan-addr, RSS on, 2 queues,
# port control on, and every dynamic mapping must keep off the host's
# ports while the per-frame WAN claim follows the ports they take and free:
#   - upnpc, natpmpc and the PCP client (pcp_client.py) each map a port for
#     the LAN host; the internet side reaches each through the WAN address
#     (the claim gives those frames to rssnat, not to the host's kernel,
#     which would RST or ICMP-refuse them);
#   - show portmapping (text and --json) lists static, upnp, natpmp and pcp
#     mappings side by side (issue 13's Done-when);
#   - a port a host socket listens on is refused (UPnP 718, PCP
#     CANNOT_PROVIDE_EXTERNAL with PREFER_FAILURE) or another port is given
#     (PCP, NAT-PMP), and no port in the kernel's ephemeral range is chosen;
#   - after delete and after lifetime expiry the port is the host's again: a
#     host listener on it answers the internet side;
#   - the WAN address changes (the kernel's, live): NAT-PMP's unsolicited
#     announcement with the new address and PCP ANNOUNCE on 224.0.0.1:5350,
#     upnpc's external address, a mapped port reached on the new address;
#   - with --rss-fields endpoint (and, PCS_STEER4=1, the default fields), the share
#     of inbound packets to mapped ports translated on the core that
#     received them (the NAT counts handoffs), as test_portctl.sh does in
#     dedicated mode;
#   - no WAN address at all: NAT-PMP, PCP and UPnP say so (network failure,
#     Disconnected), and the address back is announced.
# Topology: gw_topo.sh's (RSSNAT_NETNS prefix). Needs root; every wait is
# bounded; the EXIT trap removes the namespaces, also on failure.
# PCS_BACKENDS: "afpacket afxdp" (default); afxdp runs the reach checks only.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in natpmpc upnpc curl python3; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT
PCP="$HERE/pcp_client.py"
WAN=198.51.100.2
DESC=http://192.168.137.1:5000/rootDesc.xml

ctl() { "$RSSNAT" "$@" --socket "$SOCK"; }
pcp() { in_ns ${RG}-lan python3 "$PCP" "$@"; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2], ""))' "$1" "$2"; }
natpmp() { in_ns ${RG}-lan timeout 10 natpmpc -g 192.168.137.1 "$@" 2>&1; }
upnpc_lan() { in_ns ${RG}-lan timeout 10 upnpc -i -u $DESC "$@" 2>&1; }

# udp_echo NS ADDR PORT TAG: answers each datagram with TAG:datagram.
udp_echo() {
	udp_echo_start "$1" "$2" "$3" 120 "$4"
	BG="$BG $!"
}

# http_tag NS ADDR PORT TAG: a minimal HTTP server whose every answer is
# TAG (python's http.server asks DNS for its own name before it listens,
# seconds in a namespace without a resolver).
http_tag() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
s.settimeout(0.5)
body = sys.argv[3].encode()
end = time.time() + 120
while time.time() < end:
    try:
        c, a = s.accept()
    except socket.timeout:
        continue
    try:
        c.settimeout(1)
        c.recv(2048)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()' "$2" "$3" "$4" >/dev/null 2>&1 &
	BG="$BG $!"
}

listening() { # NS PROTO PORT: wait (at most 5 s) until a socket listens there
	local flag=-ltn
	[ "$2" = udp ] && flag=-lun
	for _ in $(seq 1 50); do
		in_ns "$1" ss $flag | grep -q ":$3 " && return 0
		sleep 0.1
	done
	return 1
}

# reach PORT [N [SRC [DST]]]: N datagrams from the internet side; prints
# "lan=A host=B" (who echoed).
reach() {
	in_ns ${RG}-inet python3 -c '
import socket, sys
port, n, got = int(sys.argv[1]), int(sys.argv[2]), {"lan": 0, "host": 0}
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[3], 0))
    s.settimeout(0.3)
    s.sendto(b"ping%d" % i, (sys.argv[4], port))
    try:
        tag, _, d = s.recv(64).partition(b":")
        if d == b"ping%d" % i:
            got[tag.decode()] = got.get(tag.decode(), 0) + 1
    except (socket.timeout, ConnectionRefusedError):
        pass
    s.close()
print("lan=%d host=%d" % (got["lan"], got["host"]))' "$1" "${2:-3}" "${3:-198.51.100.1}" "${4:-$WAN}"
}

# tcp_reach PORT [SRC [DST]]: what the HTTP server behind PORT says, or "none".
tcp_reach() {
	in_ns ${RG}-inet curl -s --max-time 2 --interface "${2:-198.51.100.1}" "http://${3:-$WAN}:$1/" || echo none
}

frame_of() { # PROTO PORT: whose a frame from the internet to that port is
	ctl explain 198.51.100.1:999 $WAN:$2 proto=$1 --json | sed -n 's/.*"frame_of":"\([a-z]*\)".*/\1/p'
}
in_krange() { [ "$1" -ge "$KLO" ] && [ "$1" -le "$KHI" ]; }

start_shared() { # BACKEND [more options]
	local backend=$1
	shift
	rss_off_peers
	if [ "$backend" = afxdp ]; then
		rss_on_peers 2 || return 1
	fi
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --queues 2 --backend "$backend" \
		--socket "$SOCK" --dhcp-leases "$T_TMP/dhcp.leases" --dns off \
		--port-map tcp:8080=192.168.137.10:8000 --portmap-min-lifetime 2 "$@" >"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$GW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_clean() { # WHAT
	stop_gw && ! grep -q "Sanitizer" "$T_TMP/gw.log" && t_pass "$1: rssnat stops cleanly" ||
		t_fail "$1: rssnat stops cleanly" "$(tail -20 "$T_TMP/gw.log")"
}

T0=$(date +%s)
topology || net_fail_hard "cannot build the namespaces"
ip -n ${RG}-inet addr add 198.51.100.7/24 dev wanr
ip -n ${RG}-inet addr add 198.51.100.8/24 dev wanr
ip -n ${RG}-gw addr add $WAN/24 dev wan0 && ip -n ${RG}-gw route add default via 198.51.100.1 ||
	net_fail_hard "cannot give the kernel the WAN address"
read -r KLO KHI < <(in_ns ${RG}-gw cat /proc/sys/net/ipv4/ip_local_port_range)
http_tag ${RG}-lan 192.168.137.10 9000 "the LAN application"
http_tag ${RG}-lan 192.168.137.10 8000 "the LAN application"
for p in 5000 7000 7100; do udp_echo ${RG}-lan 192.168.137.10 $p lan; done
# The host's own sockets on the gateway: a TCP and a UDP listener on any address.
http_tag ${RG}-gw 0.0.0.0 62090 host
http_tag ${RG}-gw $WAN 62091 host
http_tag ${RG}-gw 127.0.0.1 62300 host
http_tag ${RG}-lan 192.168.137.10 9004 "LAN 9004"
udp_echo ${RG}-gw 0.0.0.0 62600 host
listening ${RG}-gw tcp 62090 && listening ${RG}-gw tcp 62091 && listening ${RG}-gw tcp 62300 && listening ${RG}-lan tcp 9004 && listening ${RG}-gw udp 62600 && listening ${RG}-lan tcp 9000 && listening ${RG}-lan tcp 8000 ||
	net_fail_hard "the listeners do not start"

for backend in ${PCS_BACKENDS:-afpacket afxdp}; do
	t0=$(date +%s)
	start_shared "$backend" --timeout udp=3 || { t_fail "$backend: rssnat starts in shared mode" "$(cat "$T_TMP/gw.log")"; continue; }
	grep -q "shared uplink: NAT ports" "$T_TMP/gw.log" &&
		t_pass "$backend: rssnat runs in shared mode, port control on, 2 queues" ||
		t_fail "$backend: shared mode" "$(cat "$T_TMP/gw.log")"

	# ---- one mapping over each protocol, reached through the WAN address ----
	[ "$(reach 5000)" = "lan=0 host=0" ] && t_pass "$backend: before any mapping udp 5000 is unreachable" ||
		t_fail "$backend: unmapped port" "$(reach 5000)"
	out=$(natpmp -a 5000 5000 udp 600)
	printf '%s\n' "$out" | grep -q "Mapped public port 5000 protocol UDP to local port 5000" &&
		t_pass "$backend: natpmpc maps udp 5000" || t_fail "$backend: natpmpc map" "$out"
	r=$(reach 5000)
	[ "$r" = "lan=3 host=0" ] && t_pass "$backend: the internet reaches the NAT-PMP mapping ($r)" ||
		t_fail "$backend: reach the NAT-PMP mapping" "$r" "frame of: $(frame_of udp 5000)"
	r=$(pcp map --proto udp --int-port 7000 --ext-port 7000 --lifetime 600)
	[ "$(jget "$r" result)" = 0 ] && [ "$(jget "$r" ext_port)" = 7000 ] && [ "$(jget "$r" ext_ip)" = $WAN ] &&
		t_pass "$backend: PCP maps udp 7000 on $WAN" || t_fail "$backend: PCP map" "$r"
	r=$(reach 7000)
	[ "$r" = "lan=3 host=0" ] && t_pass "$backend: the internet reaches the PCP mapping ($r)" ||
		t_fail "$backend: reach the PCP mapping" "$r" "frame of: $(frame_of udp 7000)"
	got=$(upnpc_lan -e "pcshared" -a 192.168.137.10 9000 18081 TCP 600)
	grep -q "external $WAN:18081 TCP is redirected to internal 192.168.137.10:9000" <<<"$got" &&
		t_pass "$backend: upnpc maps tcp 18081" || t_fail "$backend: upnpc map" "$got"
	got=$(in_ns ${RG}-inet curl -s --max-time 3 http://$WAN:18081/)
	[ "$got" = "the LAN application" ] && t_pass "$backend: the internet reaches the UPnP mapping" ||
		t_fail "$backend: reach the UPnP mapping" "got: $got" "frame of: $(frame_of tcp 18081)"
	got=$(in_ns ${RG}-inet curl -s --max-time 3 http://$WAN:8080/)
	[ "$got" = "the LAN application" ] && t_pass "$backend: ... and the static mapping tcp 8080" ||
		t_fail "$backend: reach the static mapping" "got: $got"

	# ---- the Done-when: four origins side by side ----
	list=$(ctl show portmapping)
	for o in "tcp ext=$WAN:8080 lan=192.168.137.10:8000 origin=static" \
		"udp ext=$WAN:5000 lan=192.168.137.10:5000 origin=natpmp" \
		"udp ext=$WAN:7000 lan=192.168.137.10:7000 origin=pcp" \
		"tcp ext=$WAN:18081 lan=192.168.137.10:9000 origin=upnp"; do
		grep -q "proto=${o%% *} ${o#* }" <<<"$list" || { t_fail "$backend: show portmapping: $o" "$list"; break; }
	done && t_pass "$backend: show portmapping: static, natpmp, pcp and upnp side by side"
	[ "$backend" = afpacket ] && { echo "$list" | sed 's/^/     /'; }
	ctl show portmapping --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = d if isinstance(d, list) else next(v for v in d.values() if isinstance(v, list))
sys.exit(not {"static", "natpmp", "pcp", "upnp"} <= {r.get("origin") for r in rows})' &&
		t_pass "$backend: show portmapping --json: the four origins" ||
		t_fail "$backend: show portmapping --json" "$(ctl show portmapping --json)"
	if [ "$backend" != afpacket ]; then
		stop_clean "$backend"
		echo "     ($backend: $(($(date +%s) - t0)) s)"
		continue
	fi

	# ---- the host's ports: refused, or another port ----
	# (its listeners sit above the kernel's range, outside the NAT's: a port
	# in the NAT's range is rssnat's whoever listens on it.) Each request
	# names an internal endpoint of its own: one that has a mapping already
	# gets that one back (RFC 4787, one external port per endpoint).
	got=$(upnpc_lan -a 192.168.137.10 9003 62090 TCP 600)
	grep -q "failed with code 718" <<<"$got" && [ "$(tcp_reach 62090)" = host ] &&
		t_pass "UPnP on tcp 62090, where a host socket listens: 718, the host keeps it" ||
		t_fail "UPnP on a host port" "$got" "tcp_reach: $(tcp_reach 62090)"
	r=$(pcp map --proto udp --int-port 7600 --ext-port 62600 --prefer-failure)
	[ "$(jget "$r" result)" = 11 ] && t_pass "PCP PREFER_FAILURE on udp 62600 (a host socket): CANNOT_PROVIDE_EXTERNAL" ||
		t_fail "PCP PREFER_FAILURE on a host port" "$r"
	r=$(pcp map --proto udp --int-port 7600 --ext-port 62600 --lifetime 600)
	p=$(jget "$r" ext_port)
	[ "$(jget "$r" result)" = 0 ] && [ "${p:-62600}" != 62600 ] && ! in_krange "${p:-0}" &&
		t_pass "PCP suggesting udp 62600: another port ($p)" || t_fail "PCP suggesting a host port" "$r"
	out=$(natpmp -a 62600 7601 udp 600)
	p=$(sed -n 's/.*Mapped public port \([0-9]*\) protocol UDP.*/\1/p' <<<"$out")
	[ -n "$p" ] && [ "$p" != 62600 ] && ! in_krange "$p" && t_pass "NAT-PMP asking for udp 62600: another port ($p)" ||
		t_fail "NAT-PMP asking for a host port" "$out"
	[ "$(reach 62600)" = "lan=0 host=3" ] && t_pass "udp 62600 still the host's: its socket answers the internet" ||
		t_fail "udp 62600 the host's" "$(reach 62600)"
	# Only a socket that can take the WAN's frames makes a port the host's:
	# one bound to the WAN address is; one on loopback (a local database, a
	# development server) is not, and must not cost a LAN host its port.
	got=$(upnpc_lan -a 192.168.137.10 9005 62091 TCP 600)
	grep -q "failed with code 718" <<<"$got" && [ "$(tcp_reach 62091)" = host ] &&
		t_pass "UPnP on tcp 62091, a host socket on $WAN:62091: 718, the host keeps it" ||
		t_fail "UPnP on a port a host socket on the WAN address holds" "$got" "tcp_reach: $(tcp_reach 62091)"
	got=$(upnpc_lan -e "pcshared" -a 192.168.137.10 9004 62300 TCP 600)
	grep -q "external $WAN:62300 TCP is redirected to internal 192.168.137.10:9004" <<<"$got" &&
		[ "$(tcp_reach 62300)" = "LAN 9004" ] &&
		t_pass "UPnP on tcp 62300, where a host socket listens on 127.0.0.1 only: mapped, reached" ||
		t_fail "UPnP on a port a loopback-only host socket holds" "$got" "tcp_reach: $(tcp_reach 62300)"
	e=$((KLO + 100))
	r=$(pcp map --proto tcp --int-port 7700 --ext-port $e --prefer-failure)
	[ "$(jget "$r" result)" = 11 ] && t_pass "PCP PREFER_FAILURE on tcp $e (kernel's ephemeral $KLO-$KHI): CANNOT_PROVIDE_EXTERNAL" ||
		t_fail "PCP PREFER_FAILURE in the ephemeral range" "$r"
	got=$(upnpc_lan -a 192.168.137.10 9000 $e TCP 600)
	grep -q "failed with code 718" <<<"$got" && t_pass "UPnP on tcp $e (ephemeral): 718" ||
		t_fail "UPnP in the ephemeral range" "$got"
	out=$(natpmp -a $e 7701 tcp 600)
	p=$(sed -n 's/.*Mapped public port \([0-9]*\) protocol TCP.*/\1/p' <<<"$out")
	[ -n "$p" ] && ! in_krange "$p" && t_pass "NAT-PMP asking for tcp $e: another port ($p)" ||
		t_fail "NAT-PMP in the ephemeral range" "$out"
	chosen=""
	for i in $(seq 1 8); do
		chosen="$chosen $(jget "$(pcp map --proto tcp --int-port $((7710 + i)) --lifetime 600)" ext_port)"
	done
	bad=$(for p in $chosen; do in_krange "${p:-0}" && echo "$p"; done)
	[ -z "$bad" ] && [ "$(echo $chosen | wc -w)" = 8 ] &&
		t_pass "8 PCP mappings without a suggestion: none in $KLO-$KHI ($chosen)" ||
		t_fail "chosen ports in the ephemeral range" "$chosen"
	bad=$(ctl show portmapping | sed -n 's/.*ext=[0-9.]*:\([0-9]*\) .*/\1/p' | while read -r p; do in_krange "$p" && echo "$p"; done)
	[ -z "$bad" ] && t_pass "no mapping at all in the kernel's ephemeral range" ||
		t_fail "mappings in the ephemeral range" "$bad"

	# ---- delete and expiry give the port back to the host ----
	# (ports above the kernel's range: the host's unless a mapping takes them)
	r=$(pcp map --proto udp --int-port 7101 --ext-port 62800 --lifetime 600)
	a=$(frame_of udp 62800)
	r2=$(pcp map --proto udp --int-port 7101 --ext-port 62800 --lifetime 0)
	sleep 0.3
	d=$(frame_of udp 62800)
	udp_echo ${RG}-gw 0.0.0.0 62800 host
	listening ${RG}-gw udp 62800
	[ "$(jget "$r" ext_port)" = 62800 ] && [ "$a" = rssnat ] && [ "$d" = host ] &&
		[ "$(reach 62800 3 198.51.100.7)" = "lan=0 host=3" ] &&
		t_pass "PCP delete: udp 62800 is the host's again, a host socket on it answers the internet" ||
		t_fail "PCP delete gives the port back" "$r" "$r2" "added: $a deleted: $d" "$(reach 62800 3 198.51.100.7)"
	got=$(upnpc_lan -e "pcshared" -a 192.168.137.10 9002 62082 TCP 600)
	a=$(frame_of tcp 62082)
	got2=$(upnpc_lan -d 62082 TCP)
	sleep 0.3
	d=$(frame_of tcp 62082)
	http_tag ${RG}-gw 0.0.0.0 62082 host
	listening ${RG}-gw tcp 62082
	[ "$a" = rssnat ] && [ "$d" = host ] && [ "$(tcp_reach 62082 198.51.100.7)" = host ] &&
		t_pass "UPnP delete: tcp 62082 is the host's again, its listener answers" ||
		t_fail "UPnP delete gives the port back" "$got" "$got2" "added: $a deleted: $d" "$(tcp_reach 62082 198.51.100.7)"
	# Expiry: a 2 s mapping, checked after the next two (which take that long).
	exp_out=$(natpmp -a 62900 7102 udp 2)
	exp_a=$(frame_of udp 62900)
	# The administrator's delete portmapping of a host's mapping: the same.
	r=$(pcp map --proto tcp --int-port 7105 --ext-port 62950 --lifetime 600)
	a=$(frame_of tcp 62950)
	out=$(ctl delete portmapping tcp:62950)
	sleep 0.3
	[ "$(jget "$r" ext_port)" = 62950 ] && [ "$a" = rssnat ] && [ "$(frame_of tcp 62950)" = host ] &&
		t_pass "delete portmapping of a PCP mapping (tcp 62950): the host's again" ||
		t_fail "delete portmapping gives the port back" "$r" "$out" "added: $a deleted: $(frame_of tcp 62950)"
	# A used mapping: its port stays rssnat's while a session through it lives.
	udp_echo ${RG}-lan 192.168.137.10 7103 lan
	listening ${RG}-lan udp 7103
	out=$(natpmp -a 63000 7103 udp 600)
	r=$(reach 63000)
	natpmp -a 63000 7103 udp 0 >/dev/null
	sleep 0.3
	d=$(frame_of udp 63000)
	[ "$r" = "lan=3 host=0" ] && [ "$d" = rssnat ] &&
		t_pass "NAT-PMP delete of a used mapping (udp 63000): the port stays rssnat's while its session lives" ||
		t_fail "a used mapping's port" "$out" "$r" "deleted: $d"
	for _ in $(seq 1 40); do
		[ "$(frame_of udp 62900)" = host ] && break
		sleep 0.1
	done
	d=$(frame_of udp 62900)
	udp_echo ${RG}-gw 0.0.0.0 62900 host
	listening ${RG}-gw udp 62900
	grep -q "Mapped public port 62900" <<<"$exp_out" && [ "$exp_a" = rssnat ] && [ "$d" = host ] &&
		! ctl show portmapping | grep -q ":62900 " && [ "$(reach 62900)" = "lan=0 host=3" ] &&
		t_pass "NAT-PMP lifetime 2 s expires: udp 62900 is the host's again" ||
		t_fail "expiry gives the port back" "$exp_out" "added: $exp_a expired: $d" "$(reach 62900)"
	# ... and the used one is the host's once the NAT lets go (UDP sessions
	# time out in 3 s here).
	for _ in $(seq 1 60); do
		[ "$(frame_of udp 63000)" = host ] && break
		sleep 0.1
	done
	udp_echo ${RG}-gw 0.0.0.0 63000 host
	listening ${RG}-gw udp 63000
	[ "$(frame_of udp 63000)" = host ] && [ "$(reach 63000 3 198.51.100.7)" = "lan=0 host=3" ] &&
		t_pass "... the used mapping's port the host's once its session timed out: a host socket on it answers" ||
		t_fail "a used mapping's port back to the host" "$(frame_of udp 63000)" "$(reach 63000 3 198.51.100.7)"

	# ---- the WAN address changes ----
	in_ns ${RG}-lan python3 "$PCP" listen --seconds 1.5 >"$T_TMP/announce" 2>&1 &
	LISTEN=$!
	sleep 0.5 # bound to 5350 before the change
	NEW=198.51.100.3
	# In one step, as a network manager may (the new one promoted, not lost
	# with the old primary).
	in_ns ${RG}-gw sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
	ip -n ${RG}-gw addr add $NEW/24 dev wan0 && ip -n ${RG}-gw addr del $WAN/24 dev wan0 &&
		ip -n ${RG}-gw route replace default via 198.51.100.1
	wait $LISTEN
	python3 -c '
import json, sys
got = json.load(open(sys.argv[1]))
pcp = [g for g in got if g.get("version") == 2 and g.get("opcode") == 0 and g.get("r") == 1]
nat = [g for g in got if g.get("version") == 0 and g.get("ext_ip") == sys.argv[2]]
sys.exit(not (pcp and nat))' "$T_TMP/announce" $NEW &&
		t_pass "WAN address $WAN -> $NEW: NAT-PMP announces $NEW, PCP ANNOUNCE, on 224.0.0.1:5350" ||
		t_fail "announcements of the new address" "$(cat "$T_TMP/announce")" "$(tail -3 "$T_TMP/gw.log")"
	got=$(upnpc_lan -s)
	grep -q "ExternalIPAddress = $NEW" <<<"$got" && t_pass "upnpc: external address $NEW" ||
		t_fail "upnpc's external address" "$got"
	out=$(natpmp)
	grep -q "Public IP address : $NEW" <<<"$out" && t_pass "natpmpc: public address $NEW" ||
		t_fail "natpmpc's public address" "$out"
	r=$(reach 7000 3 198.51.100.8 $NEW)
	[ "$r" = "lan=3 host=0" ] && t_pass "the PCP mapping udp 7000 is reached on $NEW ($r)" ||
		t_fail "the PCP mapping on the new address" "$r" "$(ctl show portmapping)"
	got=$(in_ns ${RG}-inet curl -s --max-time 3 --interface 198.51.100.8 http://$NEW:18081/)
	[ "$got" = "the LAN application" ] && t_pass "the UPnP mapping tcp 18081 is reached on $NEW" ||
		t_fail "the UPnP mapping on the new address" "got: $got"
	ctl show portmapping | grep -q "ext=$NEW:7000 .*origin=pcp" &&
		t_pass "show portmapping: the mappings on $NEW" || t_fail "show portmapping after the change" "$(ctl show portmapping)"
	r=$(pcp map --proto udp --int-port 7100 --ext-port 7950 --lifetime 600)
	[ "$(jget "$r" ext_ip)" = $NEW ] && [ "$(reach 7950 3 198.51.100.1 $NEW)" = "lan=3 host=0" ] &&
		t_pass "a new PCP mapping on $NEW, reached" || t_fail "a new mapping on the new address" "$r"

	# ---- no WAN address at all (the DHCP lease lost), then one again ----
	ip -n ${RG}-gw addr del $NEW/24 dev wan0
	sleep 0.3
	out=$(natpmp)
	grep -q "readnatpmpresponseorretry() failed : network failure" <<<"$out" &&
		t_pass "no WAN address: natpmpc's address request gets Network Failure (RFC 6886 3.2)" ||
		t_fail "natpmpc with no WAN address" "$out"
	# (raw: natpmpc asks for the address first and stops there)
	out=$(pcp raw 000100001bc01f1800000258) # map udp 7104 -> 7960 for 600 s
	case $out in *'"hex": "00810003'*) t_pass "no WAN address: a NAT-PMP mapping request gets Network Failure (RFC 6886 3.5)" ;;
	*) t_fail "NAT-PMP map with no WAN address" "$out" ;; esac
	r=$(pcp map --proto udp --int-port 7104 --ext-port 7961 --lifetime 600)
	[ "$(jget "$r" result)" = 7 ] && t_pass "no WAN address: PCP MAP gets NETWORK_FAILURE (RFC 6887 7.4)" ||
		t_fail "PCP MAP with no WAN address" "$r"
	got=$(upnpc_lan -s)
	grep -q "Status : Disconnected" <<<"$got" && ! grep -q "ExternalIPAddress = 0.0.0.0" <<<"$got" &&
		t_pass "no WAN address: UPnP status Disconnected, no external address" ||
		t_fail "UPnP with no WAN address" "$got"
	in_ns ${RG}-lan python3 "$PCP" listen --seconds 1.5 >"$T_TMP/announce" 2>&1 &
	LISTEN=$!
	sleep 0.5 # bound to 5350 before the change
	ip -n ${RG}-gw addr add $WAN/24 dev wan0 && ip -n ${RG}-gw route replace default via 198.51.100.1
	wait $LISTEN
	python3 -c '
import json, sys
got = json.load(open(sys.argv[1]))
sys.exit(not [g for g in got if g.get("version") == 0 and g.get("ext_ip") == sys.argv[2]])' "$T_TMP/announce" $WAN &&
		[ "$(reach 7000 3 198.51.100.7)" = "lan=3 host=0" ] &&
		t_pass "the address back ($WAN): announced, the PCP mapping reached on it" ||
		t_fail "the address back" "$(cat "$T_TMP/announce")" "$(reach 7000 3 198.51.100.7)"
	stop_clean "$backend"

	# ---- steering of inbound packets to mapped ports, shared mode ----
	start_shared "$backend" --rss-fields endpoint ||
		{ t_fail "start with --rss-fields endpoint" "$(cat "$T_TMP/gw.log")"; continue; }
	ports=""
	for i in $(seq 1 6); do
		r=$(pcp map --proto udp --int-port $((9100 + i)) --lifetime 600)
		ports="$ports $(jget "$r" ext_port)"
		udp_echo ${RG}-lan 192.168.137.10 $((9100 + i)) lan
		listening ${RG}-lan udp $((9100 + i))
	done
	sleep 0.5
	steer=$(ctl show portmapping | grep -c "origin=pcp.*steered=yes")
	sums() { ctl show stats --json | python3 -c 'import json,sys; q=json.load(sys.stdin)["queues"]; print(sum(x["local"] for x in q), sum(x["handoff"] for x in q))'; }
	read -r l0 h0 <<<"$(sums)"
	sent=0
	for p in $ports; do sent=$((sent + $(reach "$p" 20 | sed 's/lan=\([0-9]*\).*/\1/'))); done
	read -r l1 h1 <<<"$(sums)"
	share=$(python3 -c "l, h = $l1 - $l0, $h1 - $h0; print('%.3f' % (l / (l + h) if l + h else 0))")
	echo "     steering, shared mode (endpoint fields): $steer of 6 PCP ports steered ($ports); $sent of 120 echoes;" \
		"translated locally $((l1 - l0)), handed off $((h1 - h0)): local share $share"
	[ "$steer" = 6 ] && [ "$sent" -ge 100 ] && python3 -c "import sys; sys.exit(not $share >= 0.95)" &&
		t_pass "shared mode, endpoint fields: every chosen port steered, local share $share" ||
		t_fail "steering in shared mode" "steered=$steer sent=$sent share=$share" "$(ctl show portmapping)"
	stop_clean "$backend, endpoint fields"
	# The default fields for comparison (PCS_STEER4=1; left out of the
	# suite's run for time: nothing to assert but that the ports work).
	if [ "${PCS_STEER4:-0}" = 1 ]; then
		start_shared "$backend" || { t_fail "start with the 4-tuple fields" "$(cat "$T_TMP/gw.log")"; continue; }
		ports=""
		for i in $(seq 1 6); do
			ports="$ports $(jget "$(pcp map --proto udp --int-port $((9100 + i)) --lifetime 600)" ext_port)"
		done
		read -r l0 h0 <<<"$(sums)"
		sent=0
		for p in $ports; do sent=$((sent + $(reach "$p" 20 | sed 's/lan=\([0-9]*\).*/\1/'))); done
		read -r l1 h1 <<<"$(sums)"
		share4=$(python3 -c "l, h = $l1 - $l0, $h1 - $h0; print('%.3f' % (l / (l + h) if l + h else 0))")
		echo "     steering, shared mode (4-tuple fields, the default): $sent of 120 echoes; translated locally" \
			"$((l1 - l0)), handed off $((h1 - h0)): local share $share4 (an unknown remote decides)"
		[ "$sent" -ge 100 ] && t_pass "shared mode, 4-tuple fields: mapped ports work, local share $share4 (not steerable)" ||
			t_fail "4-tuple mapped ports in shared mode" "sent=$sent"
		stop_clean "$backend, 4-tuple fields"
	fi
	echo "     ($backend: $(($(date +%s) - t0)) s)"
done
echo "     suite time: $(($(date +%s) - T0)) s"
t_done
