#!/usr/bin/env bash
# test_hostlan.sh - the gateway host is a member of its LAN (issue 11, item 3):
# what a LAN host sends to 192.168.137.1 reaches the host's own stack through
# the host interface rssnat0 (a TCP service, UDP on any port, ping answered
# by the kernel under the host's own settings, SSDP multicast), and the host
# reaches every LAN host (ping, TCP, multicast with the group's MAC); DHCP is
# still rssnat's, the DNS proxy still answers, and the WAN side reaches none
# of the host's LAN services. In both uplink modes: dedicated (--wan-addr,
# rssnat owns wan0) and shared (the kernel keeps wan0 and its address, rssnat
# takes only --lan and --wan). RSS on, 2 queues. Needs root.
#
# The topology is gw_topo.sh's (RSSNAT_NETNS prefixes the namespaces); the
# host's services listen in the gateway namespace, where rssnat0 lives.
# Every wait is bounded; the EXIT trap removes the namespaces, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping curl udhcpc dig; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

# The host's own services, on every address of the gateway namespace: a web
# server on TCP 2222 (an SSH stand-in) and a UDP echo on 4500 (any UDP
# service; NAT-PMP's 5351 is rssnat's own port control, on the host too).
host_services() {
	mkdir -p "$T_TMP/hostwww" && echo "the gateway host" >"$T_TMP/hostwww/index.html"
	ip netns exec ${RG}-gw python3 -m http.server 2222 --directory "$T_TMP/hostwww" >/dev/null 2>&1 &
	BG="$BG $!"
	udp_echo_start ${RG}-gw 0.0.0.0 4500
	BG="$BG $!"
	for _ in $(seq 1 50); do # both listening, within 5 s
		[ "$(in_ns ${RG}-gw ss -Hlntu '( sport = :2222 or sport = :4500 )' | wc -l)" -ge 2 ] && return 0
		sleep 0.1
	done
	return 1
}

# udp_ask NS ADDR PORT: 5 datagrams, at least 4 echoed.
udp_ask() {
	in_ns "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
got = 0
for i in range(5):
    msg = b"hostlan-%d" % i
    s.sendto(msg, (sys.argv[1], int(sys.argv[2])))
    try:
        data, _ = s.recvfrom(2048)
        got += data == msg
    except socket.timeout:
        pass
sys.exit(0 if got >= 4 else 1)
PY
}

# mcast_pass FROM_NS FROM_IF TO_NS TO_IF: datagrams to the SSDP group
# 239.255.255.250:1900 sent from FROM_IF's address reach a socket joined to
# the group on TO_IF. The receiver waits at most 6 s.
mcast_pass() {
	local from_ns=$1 from_if=$2 to_ns=$3 to_if=$4 rpid
	in_ns "$to_ns" python3 - "$to_if" >"$T_TMP/mcast.out" 2>&1 <<'PY' &
import socket, struct, sys, fcntl
def addr_of(ifname):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", ifname.encode()[:15]))[20:24]
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
r.bind(("239.255.255.250", 1900))
r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("239.255.255.250") + addr_of(sys.argv[1]))
r.settimeout(6.0)
print("ready", flush=True)
try:
    data, peer = r.recvfrom(2048)
    print("got", data.decode(), peer[0])
except socket.timeout:
    print("nothing")
PY
	rpid=$!
	for _ in $(seq 1 30); do grep -q ready "$T_TMP/mcast.out" 2>/dev/null && break; sleep 0.1; done
	in_ns "$from_ns" python3 - "$from_if" <<'PY'
import socket, struct, sys, fcntl, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
me = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", sys.argv[1].encode()[:15]))[20:24]
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, me)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
for _ in range(5):
    s.sendto(b"M-SEARCH * HTTP/1.1", ("239.255.255.250", 1900))
    time.sleep(0.2)
PY
	wait "$rpid"
	grep -q "^got M-SEARCH" "$T_TMP/mcast.out"
}

# dhcp_lease: udhcpc on a second interface of the LAN gets an address of
# rssnat's pool (rssnat serves DHCP, not the host).
dhcp_lease() {
	cat >"$T_TMP/udhcpc.sh" <<SH
#!/bin/sh
[ "\$1" = bound ] && echo "\$ip \$router" >"$T_TMP/lease.out"
exit 0
SH
	chmod +x "$T_TMP/udhcpc.sh"
	# A macvlan on lanh: a second MAC on the same wire, lanh's addresses kept.
	in_ns ${RG}-lan ip link add link lanh name dhc type macvlan mode private &&
		in_ns ${RG}-lan ip link set dhc up || return 1
	timeout 10 ip netns exec ${RG}-lan udhcpc -i dhc -f -q -n -t 4 -T 1 -s "$T_TMP/udhcpc.sh" \
		>/dev/null 2>&1
	in_ns ${RG}-lan ip link del dhc
	grep -Eq '^192\.168\.137\.[0-9]+ 192\.168\.137\.1$' "$T_TMP/lease.out" 2>/dev/null
}

# to_host_count: packets rssnat wrote to the host interface so far.
to_host_count() {
	in_ns ${RG}-gw "$RSSNAT" show stats --socket "$SOCK" |
		grep '^host ' | grep -o ' to_host=[0-9]*' | cut -d= -f2
}

# start_shared: the kernel holds the WAN address and the default route, as
# a DHCP client or NetworkManager would leave them; rssnat gets two options.
start_shared() {
	ip -n ${RG}-gw addr add 198.51.100.2/24 dev wan0 &&
		ip -n ${RG}-gw route add default via 198.51.100.1 || return 1
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --queues 2 --socket "$SOCK" \
		--dhcp-leases "$T_TMP/dhcp.leases" --dns-upstream 203.0.113.53 >"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	return 1
}

stop_shared() {
	ip -n ${RG}-gw route del default via 198.51.100.1 2>/dev/null
	ip -n ${RG}-gw addr del 198.51.100.2/24 dev wan0 2>/dev/null
	rm -f "$T_TMP/lease.out"
}

topology || { t_fail "topology"; t_done; exit 1; }
servers
host_services || t_fail "the host's services listen"
for MODE in dedicated shared; do
	if [ $MODE = dedicated ]; then started=start_gw; else started=start_shared; fi
	$started 2 || { t_fail "$MODE: $MODE: rssnat starts" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }

	# --- the LAN reaches the host ---
	got=$(in_ns ${RG}-lan curl -s --max-time 5 http://192.168.137.1:2222/)
	[ "$got" = "the gateway host" ] && t_pass "$MODE: a LAN host reaches a TCP service of the gateway host" ||
		t_fail "$MODE: a LAN host reaches a TCP service of the gateway host" "got: $got"
	udp_ask ${RG}-lan 192.168.137.1 4500 && t_pass "$MODE: a LAN host reaches UDP 4500 of the gateway host" ||
		t_fail "$MODE: a LAN host reaches UDP 4500 of the gateway host"
	in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 192.168.137.1 >/dev/null &&
		t_pass "$MODE: a LAN host pings 192.168.137.1" || t_fail "$MODE: a LAN host pings 192.168.137.1"
	# The kernel answers that ping, not rssnat: told to ignore echo, it is silent.
	in_ns ${RG}-gw sysctl -qw net.ipv4.icmp_echo_ignore_all=1
	! in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 192.168.137.1 >/dev/null &&
		t_pass "$MODE: the host's own stack answers the ping (icmp_echo_ignore_all silences it)" ||
		t_fail "$MODE: the host's own stack answers the ping" "rssnat answered while the kernel ignores echo"
	in_ns ${RG}-gw sysctl -qw net.ipv4.icmp_echo_ignore_all=0
	# The WAN address answers a LAN host's ping too: rssnat's in dedicated
	# mode, the kernel's in shared mode (rssnat never answers for it there).
	in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 198.51.100.2 >/dev/null &&
		t_pass "$MODE: a LAN host pings the WAN address" || t_fail "$MODE: a LAN host pings the WAN address"
	# In shared mode the WAN address is the kernel's: a LAN host reaches the
	# host's services there too (as on its own LAN), while a mapped port
	# stays the NAT's (hairpinned to its LAN host).
	if [ $MODE = shared ]; then
		got=$(in_ns ${RG}-lan curl -s --max-time 5 http://198.51.100.2:2222/)
		[ "$got" = "the gateway host" ] && t_pass "$MODE: a LAN host reaches the host's service on its WAN address" ||
			t_fail "$MODE: a LAN host reaches the host's service on its WAN address" "got: $got"
		add_map=$(in_ns ${RG}-gw "$RSSNAT" add portmapping tcp:8080=192.168.137.10:8000 --socket "$SOCK" 2>&1)
		got=$(in_ns ${RG}-lan curl -s --max-time 5 -o /dev/null -w '%{size_download}' http://198.51.100.2:8080/10M.bin)
		[ "$got" = 10485760 ] && t_pass "$MODE: a mapped port on the WAN address is still hairpinned to its LAN host" ||
			t_fail "$MODE: a mapped port on the WAN address is still hairpinned" "got $got bytes; add: $add_map"
	fi
	mcast_pass ${RG}-lan lanh ${RG}-gw rssnat0 && t_pass "$MODE: SSDP multicast from the LAN reaches the host" ||
		t_fail "$MODE: SSDP multicast from the LAN reaches the host" "$(cat "$T_TMP/mcast.out")"

	# --- the host reaches the LAN ---
	in_ns ${RG}-gw ping -c 3 -W 1 -i 0.2 192.168.137.10 >/dev/null &&
		t_pass "$MODE: the host pings a LAN host" || t_fail "$MODE: the host pings a LAN host"
	got=$(in_ns ${RG}-gw curl -s --max-time 10 -o /dev/null -w '%{size_download}' http://192.168.137.10:8000/10M.bin)
	[ "$got" = 10485760 ] && t_pass "$MODE: the host downloads 10 MB from a LAN host over TCP" ||
		t_fail "$MODE: the host downloads 10 MB from a LAN host over TCP" "got $got bytes"
	mcast_pass ${RG}-gw rssnat0 ${RG}-lan lanh && t_pass "$MODE: the host's multicast reaches the LAN (group MAC)" ||
		t_fail "$MODE: the host's multicast reaches the LAN (group MAC)" "$(cat "$T_TMP/mcast.out")"

	# --- rssnat's own services are still rssnat's ---
	dhcp_lease && t_pass "$MODE: DHCP is still served by rssnat" || t_fail "$MODE: DHCP is still served by rssnat" \
		"$(cat "$T_TMP/lease.out" 2>/dev/null)"
	got=$(in_ns ${RG}-lan dig +time=1 +tries=2 +short -x 192.168.137.1 @192.168.137.1)
	[[ "$got" == gateway* ]] && t_pass "$MODE: the DNS proxy answers on 192.168.137.1" ||
		t_fail "$MODE: the DNS proxy answers on 192.168.137.1" "got: $got"

	# --- the WAN side reaches none of it through rssnat ---
	# In shared mode the kernel owns wan0 and, as any Linux host (the weak
	# host model, RFC 1122 3.3.4.2), would accept there what is sent to any
	# of its addresses, 192.168.137.1 too: the WAN claim makes frames to the
	# LAN subnet rssnat's (claim_decide.h), which forwards none of them.
	ip -n ${RG}-inet route replace 192.168.137.0/24 via 198.51.100.2
	before=$(to_host_count)
	got=$(in_ns ${RG}-inet curl -s --max-time 3 http://192.168.137.1:2222/)
	udp_ask ${RG}-inet 192.168.137.1 4500 && udp=answered || udp=silent
	in_ns ${RG}-inet ping -c 2 -W 1 -i 0.2 192.168.137.1 >/dev/null && icmp=answered || icmp=silent
	after=$(to_host_count)
	[ -n "$before" ] && [ "$before" = "$after" ] &&
		t_pass "$MODE: rssnat passes nothing from the WAN to the host interface" ||
		t_fail "$MODE: rssnat passes nothing from the WAN to the host interface" "to_host $before -> $after"
	[ -z "$got" ] && [ $udp = silent ] && [ $icmp = silent ] &&
		t_pass "$MODE: the WAN side reaches no LAN service of the host (TCP, UDP, ping)" ||
		t_fail "$MODE: the WAN side reaches no LAN service of the host" "tcp: $got udp: $udp ping: $icmp"

	kill -0 "$GW_PID" 2>/dev/null && t_pass "$MODE: rssnat still runs" || t_fail "$MODE: rssnat still runs" "$(cat "$T_TMP/gw.log")"
	stop_gw && t_pass "$MODE: rssnat stops cleanly" || t_fail "$MODE: rssnat stops cleanly" "$(tail -5 "$T_TMP/gw.log")"
	[ $MODE = shared ] && stop_shared
done
t_done
