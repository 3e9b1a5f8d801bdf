#!/usr/bin/env bash
# demo.sh RSSNAT - KB927168 step by step: why RSS and a NAT broke each other,
# how rssnat's port choice makes them work together (the engine, then a
# closed-loop simulation of the whole NAT), and finally the live gateway
# between real interfaces in network namespaces, with real clients (root):
# dedicated uplink mode first, then shared mode, where the WAN address comes
# from a DHCP server and the host's own traffic runs beside the LAN's.
set -eu
R=$(cd "$(dirname "${1:-build/rssnat}")" && pwd)/$(basename "${1:-build/rssnat}")
TOOLS=$(cd "$(dirname "$0")" && pwd)
LAN=192.168.137.10:50000 SERVER=203.0.113.80:443 WANIP=198.51.100.2
Q=4
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "rssnat ${*}"; "$R" "$@"; }
# run_last N ARGS...: show the command, run it, keep its last N lines
run_last() { local n=$1; shift; printf '$ %s | tail -%s\n' "rssnat ${*}" "$n"; "$R" "$@" | tail -"$n"; }

say "1. The RSS engine computes what a NIC computes (Microsoft's first vector):"
run rss hash 66.9.149.187:2794 161.142.100.80:1766

say "2. A LAN host opens $LAN -> $SERVER; with $Q queues RSS sends it to:"
out=$("$R" rss hash --queues $Q $LAN $SERVER); echo "$out"
bucket=${out#*bucket=}; bucket=${bucket%% *}; queue=${out##*queue=}

say "3. A naive NAT keeps port 50000 on $WANIP. The reply $SERVER -> $WANIP:50000 hashes to:"
rep=$("$R" rss hash --queues $Q $SERVER $WANIP:50000); echo "$rep"
rq=${rep##*queue=}
if [ "$rq" != "$queue" ]; then
	echo "-> queue $rq, but the session lives on queue $queue: the reply finds no state."
	echo "   That is KB927168: with RSS and ICS both on, TCP stalls and ping fails."
else
	echo "-> by luck the same queue; most flows are not so lucky (1 in $Q is)."
fi

say "4. rssnat instead picks the external port so that the reply lands in bucket $bucket:"
sol=$("$R" rss solve --queues $Q --bucket "$bucket" --range 1024-65535 --limit 5 $SERVER $WANIP)
echo "$sol"
port=$(echo "$sol" | sed -n 2p | awk '{print $1}')
echo "   Taking port $port, the reply $SERVER -> $WANIP:$port hashes to:"
"$R" rss hash --queues $Q $SERVER $WANIP:$port
echo "-> the same bucket as the outbound packet: same queue now, and after any"
echo "   change of the indirection table the two directions still move together."

say "5. The whole NAT, closed loop: 20000 flows over $Q cores, first as KB927168's naive per-core NAT:"
run_last 2 simulate --queues $Q --flows 20000 --steering none
say "   ...then with rssnat's steering (ports chosen by the solver, the rest handed off):"
run_last 1 simulate --queues $Q --flows 20000 --steering rss
say "   ...and with the endpoint field sets, where even ICMP is steered and nothing is handed off:"
run_last 1 simulate --queues $Q --flows 20000 --fields endpoint

say "6. The indirection table ($Q queues):"
run rss table --queues $Q --table-size 16

say "7. How fast (ns per hash, reference vs fast path, measured now):"
run bench rss --seconds 1

say "8. Live: rssnat between two real interfaces, 2 queues, real clients (network namespaces)"
if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "   (skipped: needs root for network namespaces; run: sudo make demo)"
	exit 0
fi
set +e # the topology handles its own errors (deleting what may not exist)
T_TMP=$(mktemp -d)
RSSNAT=$R
. "$TOOLS/../tests/net/gw_topo.sh"
trap topo_cleanup EXIT
topology || { echo "cannot build the namespaces"; exit 1; }
servers
echo "   LAN host 192.168.137.10 -- [rssnat: lan0 | wan0 198.51.100.2] -- router 198.51.100.1 -- server 203.0.113.80"
start_gw 2 || { echo "rssnat did not start:"; cat "$T_TMP/gw.log"; exit 1; }
echo '$ ping -c 3 203.0.113.80                      (from the LAN host)'
in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 | tail -2 | head -1
echo '$ curl http://203.0.113.80/10M.bin'
in_ns ${RG}-lan curl -s --max-time 30 -o /dev/null -w '   %{size_download} bytes at %{speed_download} bytes/s\n' http://203.0.113.80/10M.bin
echo '$ iperf3 -c 203.0.113.80 -P 4 -t 3'
in_ns ${RG}-lan timeout 20 iperf3 -c 203.0.113.80 -P 4 -t 3 2>&1 | awk '/SUM.*receiver/ {print "   " $6, $7, "over 4 TCP streams"}'
echo '$ traceroute -n 203.0.113.80'
in_ns ${RG}-lan timeout 20 traceroute -n -q 1 -w 1 -m 5 203.0.113.80 | sed 's/^/   /'
echo '$ curl http://198.51.100.2:8080/  (from the server: a port mapping to 192.168.137.10:8000)'
in_ns ${RG}-srv curl -s --max-time 20 -o /dev/null -w '   HTTP %{http_code}, %{size_download} bytes\n' http://198.51.100.2:8080/10M.bin
echo '$ rssnat show stats'
"$R" show stats --socket "$SOCK" | awk '
	BEGIN { n = split("queue rx_lan rx_wan tx_lan tx_wan local handoff handoff_in dropped sessions", col, " ")
		for (i = 1; i <= n; i++) printf "%s%s", (i == 1 ? "   " : " "), sprintf("%10s", col[i]); print "" }
	/^queue=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		for (i = 1; i <= n; i++) printf "%s%10s", (i == 1 ? "   " : " "), v[col[i]]; print "" }'
"$R" show stats --json --socket "$SOCK" | python3 -c '
import json, sys
q = json.load(sys.stdin)["queues"]
local = sum(x["local"] for x in q); hand = sum(x["handoff"] for x in q)
rx = [x["rx_lan"] + x["rx_wan"] for x in q]
print("   frames received per queue: " + ", ".join(str(r) for r in rx))
print("   translated on the core that received them: %d (%.1f%%), handed off to the owner: %d (%.1f%%)"
      % (local, 100.0 * local / max(1, local + hand), hand, 100.0 * hand / max(1, local + hand)))
print("   (replies of outbound TCP and UDP come home by port choice; handed off are the ICMP echo")
print("    replies, hashed on addresses only, and the traffic of the port mapping, whose home core is fixed)")'

say "8b. An application on the LAN host opens its own port, as ICS lets it (UPnP IGD)"
ip netns exec ${RG}-lan python3 -m http.server 9000 --bind 192.168.137.10 --directory "$T_TMP/www" \
	>/dev/null 2>&1 &
BG="$BG $!"
for _ in $(seq 1 50); do in_ns ${RG}-lan ss -ltn | grep -q ":9000 " && break; sleep 0.1; done
# -i: 198.51.100.2 is a documentation address, which miniupnpc calls reserved.
echo '$ upnpc -e game -r 9000 18080 TCP            (on the LAN host: SSDP discovery, then SOAP)'
in_ns ${RG}-lan timeout 15 upnpc -i -e game -r 9000 18080 TCP 2>&1 |
	grep -E "^ desc:|ExternalIPAddress|redirected" | sed 's/^ *//; s/^/   /'
echo '$ curl http://198.51.100.2:18080/10M.bin     (from the server: the port the application opened)'
in_ns ${RG}-srv curl -s --max-time 20 -o /dev/null -w '   HTTP %{http_code}, %{size_download} bytes\n' \
	http://198.51.100.2:18080/10M.bin
echo '$ rssnat show portmapping'
"$R" show portmapping --socket "$SOCK" | grep origin | sed 's/^/   /'
echo '$ upnpc -a 192.168.137.11 9000 18081 TCP     (the same host, for another host: refused)'
in_ns ${RG}-lan timeout 15 upnpc -i -u http://192.168.137.1:5000/rootDesc.xml -a 192.168.137.11 9000 18081 TCP 2>&1 |
	grep -E "failed|redirected" | sed 's/^/   /'

say "9. Connection sharing as Windows ICS gives it: DHCP and DNS on 192.168.137.1"
# A fresh namespace with nothing but a DHCP client, plugged into the LAN.
ip netns add ${RG}-new && NS="$NS ${RG}-new"
ip link add newh netns ${RG}-new type veth peer name lanb netns ${RG}-lan
in_ns ${RG}-lan ip link add br0 type bridge
in_ns ${RG}-lan ip link set lanh master br0
in_ns ${RG}-lan ip addr flush dev lanh
in_ns ${RG}-lan ip addr add 192.168.137.10/24 dev br0
in_ns ${RG}-lan ip link set lanb master br0
for l in br0 lanb; do in_ns ${RG}-lan ip link set "$l" up; done
in_ns ${RG}-lan ip route replace default via 192.168.137.1
ip -n ${RG}-new link set lo up && ip -n ${RG}-new link set newh up
ip -n ${RG}-srv addr add 203.0.113.53/24 dev srv
ip netns exec ${RG}-srv dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
	--listen-address=203.0.113.53 --bind-interfaces --local-ttl=300 \
	--address=/www.example.test/203.0.113.80 >/dev/null 2>&1 &
BG="$BG $!"
cat >"$T_TMP/udhcpc.sh" <<'SH'
#!/bin/sh
case "$1" in bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	ip route replace default via "${router%% *}"
	echo "   bound $ip, router $router, DNS $dns, domain $domain"
esac
SH
chmod +x "$T_TMP/udhcpc.sh"
echo '$ udhcpc -i newh -x hostname:laptop          (a new host, no configuration at all)'
in_ns ${RG}-new timeout 20 udhcpc -i newh -n -q -t 5 -T 2 -x hostname:laptop -s "$T_TMP/udhcpc.sh" 2>/dev/null | grep bound
echo '$ dig @192.168.137.1 www.example.test          (twice: the second from the cache)'
for _ in 1 2; do in_ns ${RG}-new dig +time=2 +tries=1 @192.168.137.1 +short www.example.test | sed 's/^/   /'; done
echo '$ dig @192.168.137.1 laptop.mshome.net         (LAN names, like ICS hosts.ics)'
in_ns ${RG}-lan dig +time=2 +tries=1 @192.168.137.1 +short laptop.mshome.net | sed 's/^/   /'
echo '$ curl http://www.example.test/               (from the new host, by name, through the NAT)'
in_ns ${RG}-new curl -s --max-time 10 -o /dev/null --resolve www.example.test:80:"$(in_ns ${RG}-new dig +short @192.168.137.1 www.example.test)" \
	-w '   HTTP %{http_code}\n' http://www.example.test/
echo '$ rssnat show dhcp'
"$R" show dhcp --socket "$SOCK" | grep '^lease' | sed 's/^/   /'
echo '$ rssnat show dns | head -1'
"$R" show dns --socket "$SOCK" | head -1 | cut -c1-150 | sed 's/^/   /'

say "10. The lever KB927168 users had, without its cost: RSS off and on under load"
echo '$ rssnat show global'
"$R" show global --socket "$SOCK" | sed 's/^/   /'
in_ns ${RG}-lan iperf3 -c 203.0.113.80 -P 4 -t 8 -i 1 >"$T_TMP/iperf.txt" 2>&1 &
IP=$!
in_ns ${RG}-lan ping -i 0.05 -c 150 203.0.113.80 >"$T_TMP/ping.txt" 2>&1 &
PP=$!
sleep 2
echo '$ rssnat set global rss=disabled                (iperf3 and ping running)'
"$R" set global rss=disabled --socket "$SOCK" | grep "Receive-Side" | sed 's/^/   /'
sleep 2
echo '$ rssnat set rss queues=2 table=1,3'
"$R" set rss queues=2 table=1,3 --socket "$SOCK" | grep -E "Receive-Side|Weights" | sed 's/^/   /'
sleep 2
echo '$ rssnat set global rss=enabled'
"$R" set global rss=enabled --socket "$SOCK" | grep "Receive-Side" | sed 's/^/   /'
wait $IP $PP
awk '/^\[SUM\]/ && !/sender|receiver/ {printf "   iperf3 %s s: %s %s\n", $2, $6, $7}' "$T_TMP/iperf.txt"
grep "packet loss" "$T_TMP/ping.txt" | sed 's/^/   ping: /'
"$R" show stats --json --socket "$SOCK" | python3 -c '
import json, sys
q = json.load(sys.stdin)["queues"]
m = sum(x["sessions_migrated_out"] for x in q)
lost = sum(x["drops"].get(k, 0) for x in q for k in ("TCP_NO_SESSION", "NO_MAPPING", "HANDOFF_STALE"))
print("   sessions moved with their buckets: %d; packets dropped for lack of state: %d" % (m, lost))'
echo '$ rssnat explain 192.168.137.10:40000 203.0.113.80:443 proto=tcp'
"$R" explain 192.168.137.10:40000 203.0.113.80:443 proto=tcp --socket "$SOCK" | sed 's/^/   /'
stop_gw && echo "   rssnat stopped on SIGTERM."

say "11. Sharing the connection the host already has: rssnat run --lan lan0 --wan wan0"
# Shared uplink mode needs the per-frame claim of WAN frames (the host's
# and rssnat's told apart on one interface): a build without it (no
# --nat-ports) would let the host's kernel reset the LAN's flows.
if ! "$R" help run 2>&1 | grep -q -- '--nat-ports'; then
	echo "   (skipped: this build has no per-frame WAN claim (--nat-ports) for shared uplink mode)"
	exit 0
fi
echo "   The ISP (198.51.100.1) hands out the WAN address by DHCP; the gateway host's own"
echo "   DHCP client keeps it on wan0, as NetworkManager or systemd-networkd would."
ip netns exec ${RG}-inet dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
	--interface=wanr --bind-interfaces --dhcp-authoritative --no-ping \
	--dhcp-range=198.51.100.50,198.51.100.59,255.255.255.0,600 --dhcp-option=3,198.51.100.1 \
	--dhcp-leasefile="$T_TMP/isp.leases" >/dev/null 2>&1 &
BG="$BG $!"
cat >"$T_TMP/wan-dhcp.sh" <<'SH'
#!/bin/sh
case "$1" in bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	ip route replace default via "${router%% *}" dev "$interface"
	echo "   bound $ip/${mask:-24}, router $router"
esac
SH
chmod +x "$T_TMP/wan-dhcp.sh"
sleep 0.3
echo '$ udhcpc -i wan0                               (on the gateway host)'
in_ns ${RG}-gw timeout 20 udhcpc -i wan0 -n -q -t 5 -T 1 -s "$T_TMP/wan-dhcp.sh" 2>/dev/null | grep bound
echo '$ rssnat run --lan lan0 --wan wan0              (nothing else: the WAN address is the kernel'"'"'s)'
ip netns exec ${RG}-gw "$R" run --lan lan0 --wan wan0 --queues 2 --socket "$SOCK" \
	--dhcp-leases "$T_TMP/dhcp.leases" --dns-upstream 203.0.113.53 >"$T_TMP/gw.log" 2>&1 &
GW_PID=$! # stop_gw (gw_topo.sh) ends it
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "rssnat did not start:"; cat "$T_TMP/gw.log"; exit 1; }
echo '$ rssnat show global | grep -E "Uplink|WAN Add|WAN Gat|Port Range"'
"$R" show global --socket "$SOCK" | grep -E "Uplink|WAN Add|WAN Gat|Port Range" | sed 's/^/   /'
echo '$ curl http://203.0.113.80/10M.bin, from a LAN host and from the gateway host itself, at once'
in_ns ${RG}-lan curl -s --max-time 30 -o /dev/null -w '   LAN host 192.168.137.10: %{size_download} bytes at %{speed_download} bytes/s\n' \
	http://203.0.113.80/10M.bin >"$T_TMP/lan.txt" &
C1=$!
in_ns ${RG}-gw curl -s --max-time 30 -o /dev/null -w '   the gateway host:        %{size_download} bytes at %{speed_download} bytes/s\n' \
	http://203.0.113.80/10M.bin >"$T_TMP/host.txt" &
C2=$!
wait $C1 $C2
cat "$T_TMP/lan.txt" "$T_TMP/host.txt"
echo '$ ping 192.168.137.1                            (from a LAN host: the host'"'"'s own stack answers)'
in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 192.168.137.1 | grep -E "packets transmitted" | sed 's/^/   /'
echo '$ ping 192.168.137.10                           (from the gateway host, to its LAN)'
in_ns ${RG}-gw ping -c 3 -W 1 -i 0.2 192.168.137.10 | grep -E "packets transmitted" | sed 's/^/   /'
echo '$ rssnat show stats | grep -E "^(host|uplink)"'
"$R" show stats --socket "$SOCK" | grep -E "^(host|uplink)" | cut -c1-150 | sed 's/^/   /'
stop_gw && echo "   rssnat stopped on SIGTERM."
echo '$ curl http://203.0.113.80/                     (the gateway host, rssnat stopped: its uplink is as it was)'
in_ns ${RG}-gw curl -s --max-time 10 -o /dev/null -w '   HTTP %{http_code}\n' http://203.0.113.80/
echo "   namespaces removed on exit."
