#!/usr/bin/env bash
# test_upnp.sh - the UPnP IGD of rssnat (issue 13, item 3) with the real
# client upnpc (miniupnpc): SSDP discovery, the external address, a port
# mapping added (-a, and -r for the caller itself), listed (-l, -L),
# reached from the internet namespace, deleted (-d) and then unreachable;
# a mapping for another LAN host's address refused (606); an SSDP flood,
# a huge SOAP body, deep XML, an oversize header, a Host that is not ours
# (DNS rebinding) and a POST without SOAPAction (a browser's form) are
# counted and
# rssnat keeps forwarding; requests from the WAN namespace get nothing.
# RSS on, 2 queues. Needs root.
#
# The topology is gw_topo.sh's (RSSNAT_NETNS prefixes the namespaces):
#
#   rg-lan: lanh 192.168.137.10 (+ .11)  -- lan0 rssnat wan0 --  rg-inet 198.51.100.1
#           upnpc, a web server :9000        (rssnat0 in rg-gw:
#                                             SSDP 1900, HTTP 5000)
#
# upnpc runs with -i: the WAN address is a documentation address
# (198.51.100.2, RFC 5737), which miniupnpc counts as "reserved" and would
# otherwise call the IGD "not connected". Every wait is bounded; the EXIT
# trap removes the namespaces, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in upnpc curl; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

DESC=http://192.168.137.1:5000/rootDesc.xml
# upnpc from the LAN host, discovery skipped (-u) unless asked for.
upnpc_lan() { in_ns ${RG}-lan timeout 10 upnpc -i -u $DESC "$@" 2>&1; }
stat_of() { # NAME: the value of NAME= on the "upnp ...:" lines of show stats
	in_ns ${RG}-gw "$RSSNAT" show stats --socket "$SOCK" | grep '^upnp ' | tr ' ' '\n' | sed -n "s/^$1=//p"
}
reach() { # PORT [FROM]: from 198.51.100.1, or FROM
	in_ns ${RG}-inet curl -s --max-time 3 ${2:+--interface $2} http://198.51.100.2:$1/ 2>/dev/null
}

# Raw requests to the IGD's HTTP port from NS (python: what curl would not send).
http_raw() { # NS ADDR KIND
	in_ns "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
addr, kind = sys.argv[1], sys.argv[2]
env = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
       '<s:Body><u:GetStatusInfo xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2">%s'
       '</u:GetStatusInfo></s:Body></s:Envelope>')
head = ('POST /ctl/IPConn HTTP/1.1\r\nHost: 192.168.137.1:5000\r\nContent-Length: %d\r\n'
        'SOAPAction: "urn:schemas-upnp-org:service:WANIPConnection:2#GetStatusInfo"\r\n\r\n')
if kind == "huge":
    req = (head % 10000000).encode() + b"<" * 65536
elif kind == "deep":
    body = (env % ("<a>" * 1000)).encode()
    req = (head % len(body)).encode() + body
elif kind == "rebind":
    req = b"GET /rootDesc.xml HTTP/1.1\r\nHost: evil.example:5000\r\n\r\n"
elif kind == "form":
    body = (env % "").encode()
    req = (b"POST /ctl/IPConn HTTP/1.1\r\nHost: 192.168.137.1:5000\r\nContent-Type: text/plain\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
elif kind == "header":
    req = b"GET /rootDesc.xml HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n"
else:
    req = b"GET /rootDesc.xml HTTP/1.1\r\n\r\n"
s = socket.create_connection((addr, 5000), timeout=3)
try:
    s.sendall(req)
except OSError:
    pass
try:
    print(s.recv(200).decode(errors="replace").split("\r\n")[0])
except OSError as e:
    print("error", e)
PY
}

# ssdp_flood NS TARGET COUNT: COUNT M-SEARCHes for ssdp:all in a burst;
# prints how many answers came back within a second after.
ssdp_flood() {
	in_ns "$1" python3 - "$2" "$3" <<'PY'
import socket, sys, time
target, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
s.setblocking(False)
msg = (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
       b"MX: 1\r\nST: ssdp:all\r\n\r\n")
for i in range(count):
    try:
        s.sendto(msg, (target, 1900))
    except BlockingIOError:
        time.sleep(0.001)
got, end = 0, time.time() + 1.0
while time.time() < end:
    try:
        s.recvfrom(2048)
        got += 1
    except BlockingIOError:
        time.sleep(0.01)
print(got)
PY
}

topology || { t_fail "topology"; t_done; exit 1; }
servers
# A second internet address that never talked to the mapped port.
ip -n ${RG}-inet addr add 198.51.100.7/24 dev wanr
# The LAN application's port: a web server of its own on 192.168.137.10:9000.
mkdir -p "$T_TMP/app" && echo "the LAN application" >"$T_TMP/app/index.html"
ip netns exec ${RG}-lan python3 -m http.server 9000 --bind 192.168.137.10 --directory "$T_TMP/app" \
	>/dev/null 2>&1 &
BG="$BG $!"
for _ in $(seq 1 50); do in_ns ${RG}-lan ss -ltn | grep -q ":9000 " && break; sleep 0.1; done
# Every NOTIFY on the LAN, as a control point hears it (joined to the group
# on lanh, at most 90 s): its NTS lines into notify.out.
ip netns exec ${RG}-lan python3 - >"$T_TMP/notify.out" 2>&1 <<'PY' &
import socket, struct, fcntl, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
me = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", b"lanh"))[20:24]
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("239.255.255.250", 1900))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.255.255.250") + me)
s.settimeout(0.5)
end = time.time() + 90
while time.time() < end:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    for line in data.decode(errors="replace").split("\r\n"):
        if line.startswith("NTS:"):
            print(peer[0], line, flush=True)
PY
BG="$BG $!"
sleep 0.3
start_gw 2 || { t_fail "rssnat starts" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }

# --- discovery and the connection ---
got=$(in_ns ${RG}-lan timeout 10 upnpc -i -m lanh -s 2>&1)
grep -q "desc: $DESC" <<<"$got" && grep -q "ExternalIPAddress = 198.51.100.2" <<<"$got" &&
	grep -q "Status : Connected" <<<"$got" &&
	t_pass "upnpc finds the IGD over SSDP; status and external address" ||
	t_fail "upnpc finds the IGD over SSDP; status and external address" "$got"

n=$(grep -c "^192.168.137.1 NTS: ssdp:alive" "$T_TMP/notify.out")
[ "$n" -ge 9 ] && t_pass "NOTIFY ssdp:alive on the LAN at start ($n)" ||
	t_fail "NOTIFY ssdp:alive on the LAN at start" "$(cat "$T_TMP/notify.out")"

# --- add, list, reach, delete ---
[ -z "$(reach 18081)" ] && t_pass "before the mapping, the internet side does not reach 18081" ||
	t_fail "before the mapping, the internet side does not reach 18081"
got=$(upnpc_lan -e "rssnat test" -a 192.168.137.10 9000 18081 TCP 600)
grep -q "external 198.51.100.2:18081 TCP is redirected to internal 192.168.137.10:9000" <<<"$got" &&
	t_pass "upnpc -a maps 18081 to the LAN host itself" || t_fail "upnpc -a maps 18081 to the LAN host itself" "$got"
got=$(upnpc_lan -l)
grep -Eq "TCP +18081->192.168.137.10:9000 +'rssnat test'" <<<"$got" &&
	t_pass "upnpc -l lists the mapping with its description" || t_fail "upnpc -l lists the mapping" "$got"
got=$(upnpc_lan -L)
grep -q "18081" <<<"$got" && t_pass "upnpc -L (GetListOfPortMappings, IGD:2) lists it" ||
	t_fail "upnpc -L (GetListOfPortMappings, IGD:2) lists it" "$got"
got=$(in_ns ${RG}-gw "$RSSNAT" show portmapping --socket "$SOCK")
grep -q "ext=198.51.100.2:18081 lan=192.168.137.10:9000 origin=upnp" <<<"$got" &&
	t_pass "show portmapping: origin upnp" || t_fail "show portmapping: origin upnp" "$got"
[ "$(reach 18081)" = "the LAN application" ] && t_pass "the internet side reaches the mapped port" ||
	t_fail "the internet side reaches the mapped port" "got: $(reach 18081)"
got=$(upnpc_lan -r 9001 18082 TCP)
grep -q "198.51.100.2:18082 TCP is redirected to internal 192.168.137.10:9001" <<<"$got" &&
	t_pass "upnpc -r maps a port to the caller" || t_fail "upnpc -r maps a port to the caller" "$got"
got=$(upnpc_lan -d 18081 TCP)
grep -q "UPNP_DeletePortMapping() returned : 0" <<<"$got" && t_pass "upnpc -d deletes it" ||
	t_fail "upnpc -d deletes it" "$got"
# From an address without a session through it: the NAT's filtering lets
# one that still has live sessions to the old mapping open more until they
# time out (RFC 4787 address-dependent filtering).
[ -z "$(reach 18081 198.51.100.7)" ] && t_pass "then the internet side no longer reaches it" ||
	t_fail "then the internet side no longer reaches it"

# --- policy ---
got=$(upnpc_lan -a 192.168.137.11 9000 18083 TCP)
grep -q "failed with code 606" <<<"$got" && t_pass "a mapping for another LAN host's address: 606" ||
	t_fail "a mapping for another LAN host's address: 606" "$got"
got=$(upnpc_lan -l)
! grep -q 18083 <<<"$got" && t_pass "and nothing was mapped" || t_fail "and nothing was mapped" "$got"

# --- abuse: counted, answered as HTTP says, forwarding goes on ---
[ "$(http_raw ${RG}-lan 192.168.137.1 huge)" = "HTTP/1.1 413 Content Too Large" ] &&
	t_pass "a huge SOAP body: 413" || t_fail "a huge SOAP body: 413"
[ "$(http_raw ${RG}-lan 192.168.137.1 deep)" = "HTTP/1.1 400 Bad Request" ] &&
	t_pass "deeply nested XML: 400" || t_fail "deeply nested XML: 400"
[ "$(http_raw ${RG}-lan 192.168.137.1 header)" = "HTTP/1.1 431 Request Header Fields Too Large" ] &&
	t_pass "an oversize header: 431" || t_fail "an oversize header: 431"
[ "$(http_raw ${RG}-lan 192.168.137.1 rebind)" = "HTTP/1.1 403 Forbidden" ] &&
	t_pass "a Host that is not our address (DNS rebinding): 403" ||
	t_fail "a Host that is not our address (DNS rebinding): 403"
[ "$(http_raw ${RG}-lan 192.168.137.1 form)" = "HTTP/1.1 400 Bad Request" ] &&
	t_pass "a POST without SOAPAction (a browser's cross-origin form): 400" ||
	t_fail "a POST without SOAPAction (a browser's cross-origin form): 400"
[ "$(stat_of http_refused_BODY_TOO_BIG)" -ge 1 ] && [ "$(stat_of soap_malformed_DEPTH)" -ge 1 ] &&
	[ "$(stat_of http_refused_HEADER_TOO_BIG)" -ge 1 ] && [ "$(stat_of http_bad_host)" -ge 1 ] &&
	[ "$(stat_of soap_no_soapaction)" -ge 1 ] &&
	t_pass "each is counted in show stats" || t_fail "each is counted in show stats"
answers=$(ssdp_flood ${RG}-lan 239.255.255.250 2000)
limited=$(stat_of ssdp_drop_RATE_LIMITED)
# One host gets 5 searches at once and 5 a second after (igd.c), 9 answers
# each: a bounded number whatever it sends. What the kernel's socket
# buffer did not take is not counted here: the limit is what matters.
[ "${limited:-0}" -ge 100 ] && [ "$answers" -le $((9 * 20)) ] &&
	t_pass "an SSDP flood (2000 M-SEARCH): $limited rate limited, $answers answers" ||
	t_fail "an SSDP flood is rate limited" "limited=$limited answers=$answers"
got=$(in_ns ${RG}-lan curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://203.0.113.80/)
[ "$got" = 200 ] && t_pass "forwarding goes on after the abuse" || t_fail "forwarding goes on after the abuse" "$got"
json=$(in_ns ${RG}-gw "$RSSNAT" show stats --json --socket "$SOCK")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["upnp_ssdp_drop_RATE_LIMITED"] > 0 and d["upnp_action_AddPortMapping"] >= 2' "$json" 2>/dev/null &&
	t_pass "show stats --json carries the UPnP counters" || t_fail "show stats --json carries the UPnP counters"

# --- the WAN side gets nothing ---
ip -n ${RG}-inet route add 192.168.137.0/24 via 198.51.100.2
for addr in 192.168.137.1 198.51.100.2; do
	got=$(in_ns ${RG}-inet curl -s --max-time 2 http://$addr:5000/rootDesc.xml)
	[ -z "$got" ] && t_pass "no description for the WAN side at $addr" ||
		t_fail "no description for the WAN side at $addr" "$got"
	[ "$(ssdp_flood ${RG}-inet $addr 3)" = 0 ] && t_pass "no SSDP answer to the WAN side at $addr" ||
		t_fail "no SSDP answer to the WAN side at $addr"
done

kill -0 "$GW_PID" 2>/dev/null && t_pass "rssnat still runs" || t_fail "rssnat still runs" "$(cat "$T_TMP/gw.log")"
stop_gw && t_pass "rssnat stops cleanly" || t_fail "rssnat stops cleanly" "$(tail -5 "$T_TMP/gw.log")"
sleep 0.3
n=$(grep -c "^192.168.137.1 NTS: ssdp:byebye" "$T_TMP/notify.out")
[ "$n" -ge 9 ] && t_pass "NOTIFY ssdp:byebye on the LAN at stop ($n)" ||
	t_fail "NOTIFY ssdp:byebye on the LAN at stop" "$(cat "$T_TMP/notify.out")"

# --- --upnp off: no IGD at all (NAT-PMP and PCP may still be on) ---
GW_ARGS="--upnp off"
start_gw 2 || { t_fail "rssnat starts with --upnp off" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
got=$(in_ns ${RG}-lan curl -s --max-time 2 $DESC)
[ -z "$got" ] && [ "$(ssdp_flood ${RG}-lan 239.255.255.250 3)" = 0 ] &&
	t_pass "--upnp off: no description, no SSDP answer" || t_fail "--upnp off: no description, no SSDP answer" "$got"
stop_gw || t_fail "rssnat stops cleanly (--upnp off)" "$(tail -5 "$T_TMP/gw.log")"
t_done
