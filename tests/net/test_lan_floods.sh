#!/usr/bin/env bash
# test_lan_floods.sh - the LAN services under hostile frames (issue 14):
#   (a) DHCP starvation: DISCOVERs from random MACs for 10 s, each OFFER
#       requested; a client with a lease renews during the flood and keeps
#       its address; a new udhcpc client is served within seconds after it;
#   (b) one forged gratuitous ARP for the LAN host 192.168.137.10 (from the
#       LAN), then one for the WAN next hop 198.51.100.1 (from the internet
#       side): the longest gap in a 20 ms ping through the gateway.
# Prints the figures ("figure: ..."). Needs root.
#
# The topology is gw_topo.sh's; the DHCP clients are macvlans on lanh:
#
#   netns rg-lan: lanh 192.168.137.10 (pings 203.0.113.80; the flood's raw socket)
#                 c1, c2 macvlan on lanh (udhcpc; the lease is only written down)
#   -- lan0 rssnat wan0 -- rg-inet wanr 198.51.100.1 (the forged next hop) -- rg-srv
#
# Every flood is bounded in count and time; every wait is bounded; the EXIT
# trap removes every namespace and process, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in udhcpc ping; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done
. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

FORGED_MAC=02:de:ad:00:00:01
PING_SECS=${FLOOD_PING_SECS:-8} # the window after the forged frame
FLOOD_SECS=${FLOOD_SECS:-10}    # 1000 DISCOVERs a second: 8 s took every address before
GW_ARGS="--dhcp-lease 600"

macvlans() {
	local i
	# Only the interface holding an address answers ARP for it: otherwise
	# the macvlans (same kernel) would answer for lanh's addresses too.
	in_ns ${RG}-lan sysctl -qw net.ipv4.conf.all.arp_ignore=1 || return 1
	for i in 1 2; do
		ip -n ${RG}-lan link add "c$i" link lanh address "02:00:00:00:0c:0$i" type macvlan mode bridge &&
			ip -n ${RG}-lan link set "c$i" up || return 1
	done
}

write_script() {
	cat >"$T_TMP/udhcpc.sh" <<'SH'
#!/bin/sh
case "$1" in bound|renew) echo "$ip" >"$LEASE_OUT" ;; esac
SH
	chmod +x "$T_TMP/udhcpc.sh"
}

# udhcpc IFACE TRIES [REQUEST_IP]: one lease, address into $T_TMP/IFACE.lease.
udhcpc_lease() {
	rm -f "$T_TMP/$1.lease"
	LEASE_OUT=$T_TMP/$1.lease in_ns ${RG}-lan timeout 30 udhcpc -i "$1" -n -q -t "$2" -T 1 \
		${3:+-r "$3"} -s "$T_TMP/udhcpc.sh" >"$T_TMP/$1.log" 2>&1
	cat "$T_TMP/$1.lease" 2>/dev/null
}

now_ms() { date +%s%3N; }

dhcp_json() { # PYTHON-EXPRESSION on d, the show dhcp --json object
	"$RSSNAT" show dhcp --json --socket "$SOCK" 2>/dev/null |
		python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null
}

arp_counter() { # SIDE NAME
	"$RSSNAT" show stats --json --socket "$SOCK" 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['arp_$1'].get('$2', 'none'))" 2>/dev/null
}

# ping_gap NS IFACE IP: ping 203.0.113.80 from the LAN every 20 ms; after 2 s
# send one forged gratuitous ARP for IP from NS/IFACE; print the longest
# stretch without a reply, in ms (to the end of the window if none came back).
ping_gap() {
	in_ns ${RG}-lan ping -n -i 0.02 -W 1 -w $((PING_SECS + 2)) 203.0.113.80 >"$T_TMP/ping.txt" 2>&1 &
	local pid=$!
	BG="$BG $pid"
	sleep 2
	in_ns "$1" python3 "$HERE/lan_floods.py" garp "$2" "$3" "$FORGED_MAC"
	wait "$pid"
	python3 - "$T_TMP/ping.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
seqs = sorted({int(m) for m in re.findall(r"icmp_seq=(\d+)", text)})
sent = re.search(r"(\d+) packets transmitted", text)
sent = int(sent.group(1)) if sent else 0
if not seqs:
    print(sent * 20)
    sys.exit()
gaps = [b - a for a, b in zip(seqs, seqs[1:])] + [sent - seqs[-1], seqs[0]]
print(max(gaps) * 20)
PY
}

# ---- set-up ----
topology && macvlans || net_fail_hard "cannot build the namespaces"
servers
write_script
start_gw 2 || { t_fail "rssnat starts" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
t_pass "rssnat starts with its DHCP server"

# ---- (a) DHCP starvation ----
IP1=$(udhcpc_lease c1 5)
[ -n "$IP1" ] && t_pass "c1 gets a lease before the flood: $IP1" || t_fail "c1 gets a lease" "$(tail -3 "$T_TMP/c1.log")"
in_ns ${RG}-lan python3 "$HERE/lan_floods.py" dhcp-flood lanh "$FLOOD_SECS" 1000 >"$T_TMP/flood.txt" 2>&1 &
FLOOD=$!
BG="$BG $FLOOD"
sleep 2
RENEW=$(udhcpc_lease c1 3 "$IP1") # during the flood
wait "$FLOOD"
FLOOD_DONE=$(now_ms)
echo "     flood: $(cat "$T_TMP/flood.txt")"
[ -n "$IP1" ] && [ "$RENEW" = "$IP1" ] && t_pass "c1, leased before, is served during the flood and keeps $IP1" ||
	t_fail "c1 keeps its address during the flood" "got '$RENEW'" "$(tail -3 "$T_TMP/c1.log")"
BOUND=$(dhcp_json "sum(1 for l in d['leases'] if l['state'] == 'bound')")
echo "figure: DHCP flood of $FLOOD_SECS s from random MACs: $BOUND addresses bound after it (pool 253)"
IP2=$(udhcpc_lease c2 10)
SERVED=$(( $(now_ms) - FLOOD_DONE ))
if [ -n "$IP2" ]; then
	echo "figure: new DHCP client after the flood: served, lease $IP2 ${SERVED} ms after the flood ended"
	[ "$SERVED" -le 5000 ] && t_pass "a new client (udhcpc) gets $IP2 within 5 s of the flood's end (${SERVED} ms)" ||
		t_fail "a new client is served within 5 s of the flood's end" "took ${SERVED} ms"
else
	echo "figure: new DHCP client after the flood: not served (udhcpc gave up after ${SERVED} ms)"
	t_fail "a new client (udhcpc) is served after the flood" "$(tail -3 "$T_TMP/c2.log")"
fi
NEWRATE=$(dhcp_json "d['drops'].get('new_rate', 'none')")
[ "${NEWRATE:-0}" != none ] && [ "${NEWRATE:-0}" -gt 0 ] 2>/dev/null &&
	t_pass "the flood's new clients over the new-lease rate are counted (new_rate=$NEWRATE)" ||
	t_fail "new clients over the new-lease rate are counted" "new_rate=$NEWRATE"

n=$(grep -c "dhcp: new clients not served" "$T_TMP/gw.log")
[ "$n" = 1 ] && t_pass "the unserved new clients are logged in one line: $(grep "dhcp: new clients" "$T_TMP/gw.log")" ||
	t_fail "the unserved new clients are logged once" "$n lines" "$(tail -3 "$T_TMP/gw.log")"

# ---- (b) one forged gratuitous ARP ----
in_ns ${RG}-lan ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null || t_fail "the LAN host pings the server"
GAP=$(ping_gap ${RG}-lan lanh 192.168.137.10)
echo "figure: ping gap after one forged gratuitous ARP for the LAN host: ${GAP} ms (window ${PING_SECS} s)"
[ "${GAP:-99999}" -lt 1000 ] && t_pass "a forged ARP for the LAN host costs under 1 s of ping (${GAP} ms)" ||
	t_fail "a forged ARP for the LAN host costs under 1 s of ping" "gap ${GAP} ms"
GAP=$(ping_gap ${RG}-inet wanr 198.51.100.1)
echo "figure: ping gap after one forged gratuitous ARP for the WAN next hop: ${GAP} ms (window ${PING_SECS} s)"
[ "${GAP:-99999}" -lt 1000 ] && t_pass "a forged ARP for the WAN next hop costs under 1 s of ping (${GAP} ms)" ||
	t_fail "a forged ARP for the WAN next hop costs under 1 s of ping" "gap ${GAP} ms"
for side in lan wan; do
	n=$(arp_counter $side mac_locked)
	echo "     arp $side: mac_locked=$n lock_kept=$(arp_counter $side lock_kept)" \
		"lock_released=$(arp_counter $side lock_released) mac_changed=$(arp_counter $side mac_changed)"
	[ "${n:-none}" != none ] && [ "$n" -ge 1 ] 2>/dev/null &&
		t_pass "the $side side counts the refused change (mac_locked=$n)" ||
		t_fail "the $side side counts the refused change" "mac_locked=$n"
done

stop_gw || t_fail "rssnat exits cleanly" "$(tail -5 "$T_TMP/gw.log")"
t_done
