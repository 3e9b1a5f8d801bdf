#!/usr/bin/env bash
# test_gateway.sh - rssnat forwarding real traffic between two interfaces,
# with 1, 2 and 4 queues and each backend (afpacket, afxdp), tested with
# real clients. Needs root.
#
# The topology is drawn in gw_topo.sh (shared with tools/demo.sh).
# Every wait is bounded; an EXIT trap removes the namespaces, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in ping curl iperf3 traceroute ethtool; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

udp_exchange() { # 50 datagrams, all answered
	in_ns ${RG}-lan python3 - <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
got = 0
for i in range(50):
    msg = b"rssnat-%d" % i
    s.sendto(msg, ("203.0.113.80", 7))
    try:
        data, peer = s.recvfrom(2048)
        got += data == msg and peer == ("203.0.113.80", 7)
    except socket.timeout:
        pass
sys.exit(0 if got == 50 else 1)
PY
}

malformed_frames() { # NS IF: garbage into the gateway: counted, never fatal
	in_ns "$1" python3 - "$2" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
dst, src = b"\xff" * 6, b"\x02\x00\x00\x00\x00\x01"
for i in range(300):
    body = os.urandom(i % 90)
    kind = i % 3
    if kind == 0:   # IPv4 with a random (mostly wrong) header
        frame = dst + src + b"\x08\x00" + body
    elif kind == 1: # IPv4 with a right header checksum and random lengths
        hdr = bytearray(os.urandom(20)); hdr[0] = 0x45; hdr[10:12] = b"\0\0"
        c = sum(struct.unpack("!10H", bytes(hdr))); c = (c & 0xffff) + (c >> 16); c = (c & 0xffff) + (c >> 16)
        hdr[10:12] = struct.pack("!H", ~c & 0xffff)
        frame = dst + src + b"\x08\x00" + bytes(hdr) + body
    else:           # truncated ARP
        frame = dst + src + b"\x08\x06" + body[:20]
    s.send(frame.ljust(14, b"\0"))
PY
}

# frags_reversed NS IF DST_MAC SRC DST DPORT [ECHO]: 50 UDP datagrams of
# 1400 bytes, each sent as its last fragment, then its first, back to back
# (so that both often meet in one receive burst). With ECHO, they go from
# SRC:40000 and the exit status says whether all 50 echoes came back.
frags_reversed() {
	in_ns "$1" python3 - "$2" "$3" "$4" "$5" "$6" "${7:-}" <<'PY'
import socket, struct, sys
ifname, dmac, src, dst, dport, echo = sys.argv[1:7]
def csum(b):
    if len(b) % 2: b += b"\0"
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while c >> 16: c = (c & 0xffff) + (c >> 16)
    return ~c & 0xffff
def ip(ident, off_words, more, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                    (0x2000 if more else 0) | off_words, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
smac = bytes.fromhex(open("/sys/class/net/%s/address" % ifname).read().strip().replace(":", ""))
eth = bytes.fromhex(dmac.replace(":", "")) + smac + b"\x08\x00"
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind((ifname, 0))
sock = None
if echo:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((src, 40000))
    sock.settimeout(0.5)
for i in range(50):
    data = bytes([(i + k) & 0xff for k in range(1392)])
    udp = struct.pack("!HHHH", 40000 if echo else 53, int(dport), 8 + len(data), 0) + data
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xffff) + udp[8:]
    ident = 0x5000 + i
    raw.send(eth + ip(ident, 1008 // 8, False, udp[1008:]))
    raw.send(eth + ip(ident, 0, True, udp[:1008]))
if not echo:
    sys.exit(0)
got = 0
try:
    while got < 50:
        sock.recvfrom(4096)
        got += 1
except socket.timeout:
    pass
print(got)
sys.exit(0 if got == 50 else 1)
PY
}

# The remote crash of issue 14: a held later fragment released by its first
# in the same burst must be sent (or freed) once. From the WAN with no
# mapping at all, and from the LAN through to the echo server.
frags_out_of_order() { # QUEUES BACKEND
	local q="$1 $2" lan_mac wan_mac got
	lan_mac=$(ip -n "${RG}-gw" -br link show lan0 | awk '{print $3}')
	wan_mac=$(ip -n "${RG}-gw" -br link show wan0 | awk '{print $3}')
	frags_reversed ${RG}-inet wanr "$wan_mac" 203.0.113.80 198.51.100.2 45678
	got=$(frags_reversed ${RG}-lan lanh "$lan_mac" 192.168.137.10 203.0.113.80 7 echo)
	[ "$got" = 50 ] && t_pass "q=$q 50 datagrams, last fragment first, through the NAT: 50 echoes" ||
		t_fail "q=$q reversed fragments through the NAT" "echoes: ${got:-none}" "$(tail -5 "$T_TMP/gw.log")"
	in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 203.0.113.80 >/dev/null && kill -0 "$GW_PID" &&
		t_pass "q=$q 50 reversed fragment pairs from each side: gateway alive and forwarding" ||
		t_fail "q=$q reversed fragments" "$(tail -20 "$T_TMP/gw.log")"
}

run_suite() { # QUEUES BACKEND
	local q="$1 $2" stats
	start_gw "$1" "$2" || { t_fail "q=$q rssnat starts" "$(cat "$T_TMP/gw.log")"; return; }
	t_pass "q=$q rssnat starts and opens its control socket"
	in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 192.168.137.1 >/dev/null && t_pass "q=$q ping the gateway" ||
		t_fail "q=$q ping the gateway"
	in_ns ${RG}-lan ping -c 5 -W 1 -i 0.2 203.0.113.80 >/dev/null && t_pass "q=$q ping through the NAT" ||
		t_fail "q=$q ping through the NAT"
	if in_ns ${RG}-lan curl -s --max-time 30 -o "$T_TMP/got.bin" http://203.0.113.80/10M.bin &&
		cmp -s "$T_TMP/got.bin" "$T_TMP/www/10M.bin"; then
		t_pass "q=$q 10 MB HTTP download, byte for byte"
	else
		t_fail "q=$q 10 MB HTTP download"
	fi
	udp_exchange && t_pass "q=$q UDP exchange, 50 of 50 answered" || t_fail "q=$q UDP exchange"
	local hops
	hops=$(in_ns ${RG}-lan timeout 20 traceroute -n -q 1 -w 1 -m 5 203.0.113.80 2>/dev/null | awk 'NR>1 {print $2}' | tr '\n' ' ')
	[ "$hops" = "192.168.137.1 198.51.100.1 203.0.113.80 " ] &&
		t_pass "q=$q traceroute: gateway, second router (Time Exceeded translated back), server" ||
		t_fail "q=$q traceroute" "hops: $hops"
	in_ns ${RG}-lan timeout 30 iperf3 -c 203.0.113.80 -P 4 -t 2 >"$T_TMP/iperf" 2>&1 &&
		grep -q "receiver" "$T_TMP/iperf" &&
		t_pass "q=$q iperf3 TCP, 4 streams: $(grep SUM.*receiver "$T_TMP/iperf" | awk '{print $6, $7}')" ||
		t_fail "q=$q iperf3 TCP, 4 streams" "$(tail -3 "$T_TMP/iperf")"
	[ "$(in_ns ${RG}-srv curl -s --max-time 20 -o /dev/null -w '%{size_download}' http://198.51.100.2:8080/10M.bin)" = 10485760 ] &&
		t_pass "q=$q port mapping reached from the internet side" || t_fail "q=$q port mapping"
	[ "$(in_ns ${RG}-lan curl -s --interface 192.168.137.11 --max-time 20 -o /dev/null -w '%{size_download}' http://198.51.100.2:8080/10M.bin)" = 10485760 ] &&
		t_pass "q=$q hairpinning: LAN host to the mapped service by its WAN address" ||
		t_fail "q=$q hairpinning"
	frags_out_of_order "$1" "$2"
	malformed_frames ${RG}-lan lanh
	malformed_frames ${RG}-inet wanr
	in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 203.0.113.80 >/dev/null && kill -0 "$GW_PID" &&
		t_pass "q=$q 300 malformed frames from each side: gateway still forwards" ||
		t_fail "q=$q malformed frames"
	stats=$("$RSSNAT" show stats --socket "$SOCK")
	local parse_drops
	parse_drops=$(printf '%s\n' "$stats" | awk '/^drop .*reason=PARSE/ {split($4, a, "="); s += a[2]} END {print s + 0}')
	[ "$parse_drops" -gt 0 ] && t_pass "q=$q malformed frames counted as PARSE drops ($parse_drops)" ||
		t_fail "q=$q malformed frames counted" "$stats"
	local busy
	busy=$(printf '%s\n' "$stats" | awk '/^queue=/ {for (i = 1; i <= NF; i++) if ($i ~ /^rx_lan=/) {split($i, a, "="); if (a[2] > 0) n++}} END {print n + 0}')
	if [ "$1" -gt 1 ]; then
		[ "$busy" -gt 1 ] && t_pass "q=$q traffic on $busy queues" || t_fail "q=$q traffic on more than one queue" "$stats"
	fi
	"$RSSNAT" show stats --json --socket "$SOCK" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if len(d["queues"]) == '"$1"' else 1)' &&
		t_pass "q=$q show stats --json" || t_fail "q=$q show stats --json"
	local rc=0
	stop_gw || rc=$?
	[ $rc -eq 0 ] && [ ! -e "$SOCK" ] && t_pass "q=$q SIGTERM stops it cleanly" ||
		t_fail "q=$q clean stop" "exit status $rc" "$(cat "$T_TMP/gw.log")"
}

topology || net_fail_hard "cannot build the namespaces"
servers
for backend in afpacket afxdp; do
	for q in 1 2 4; do
		run_suite "$q" "$backend"
	done
done
# RFC 1191: a smaller WAN link. Too big with DF -> Fragmentation Needed with
# the next-hop MTU, from the gateway; TCP then finds the path MTU.
ip -n ${RG}-gw link set wan0 mtu 1400 && ip -n ${RG}-inet link set wanr mtu 1400
if start_gw 2; then
	out=$(in_ns ${RG}-lan ping -M do -s 1400 -c 1 -W 2 203.0.113.80 2>&1)
	case $out in *"192.168.137.1"*"mtu = 1400"*) t_pass "DF and too big: Fragmentation Needed, mtu 1400" ;;
	*) t_fail "DF and too big: Fragmentation Needed" "$out" ;; esac
	in_ns ${RG}-lan ping -M do -s 1372 -c 1 -W 2 203.0.113.80 >/dev/null &&
		t_pass "1400-byte datagram with DF passes" || t_fail "1400-byte datagram with DF passes"
	if in_ns ${RG}-lan curl -s --max-time 30 -o "$T_TMP/got.bin" http://203.0.113.80/10M.bin &&
		cmp -s "$T_TMP/got.bin" "$T_TMP/www/10M.bin"; then
		t_pass "10 MB download over the smaller link (path MTU discovery through the NAT)"
	else
		t_fail "10 MB download over the smaller link"
	fi
	stop_gw
else
	t_fail "rssnat starts with a 1400-byte WAN link" "$(cat "$T_TMP/gw.log")"
fi
ip -n ${RG}-gw link set wan0 mtu 1500 && ip -n ${RG}-inet link set wanr mtu 1500

# The same gateway from a configuration file (--config: options, one a line).
cat >"$T_TMP/gw.conf" <<CONF
# rssnat between the test namespaces
lan lan0
wan wan0
wan-addr 198.51.100.2/24
wan-gateway 198.51.100.1
queues 2
port-map tcp:8080=192.168.137.10:8000
socket $SOCK
dhcp-leases $T_TMP/dhcp.leases
dns-upstream 203.0.113.53
CONF
ip netns exec ${RG}-gw "$RSSNAT" run --config "$T_TMP/gw.conf" >"$T_TMP/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 203.0.113.80 >/dev/null &&
	[ "$(in_ns ${RG}-srv curl -s --max-time 20 -o /dev/null -w '%{size_download}' http://198.51.100.2:8080/10M.bin)" = 10485760 ] &&
	t_pass "run --config FILE: forwarding and the file's port mapping" || t_fail "run --config FILE" "$(cat "$T_TMP/gw.log")"
stop_gw

t_usage_error "run refuses a missing interface" "^rssnat: run: LAN interface 'nope0' does not exist" \
	in_ns ${RG}-gw "$RSSNAT" run --lan nope0 --wan wan0 --wan-addr 198.51.100.2/24 --wan-gateway 198.51.100.1
t_usage_error "run refuses a gateway off the WAN subnet" "^rssnat: run: --wan-gateway must be" \
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --wan-addr 198.51.100.2/24 --wan-gateway 10.9.9.9
ip -n ${RG}-gw addr add 198.51.100.2/24 dev wan0
t_usage_error "run refuses an address the kernel holds" "^rssnat: run: the kernel holds 198.51.100.2 on wan0" \
	ip netns exec ${RG}-gw "$RSSNAT" run --lan lan0 --wan wan0 --wan-addr 198.51.100.2/24 --wan-gateway 198.51.100.1
ip -n ${RG}-gw addr del 198.51.100.2/24 dev wan0
t_done
