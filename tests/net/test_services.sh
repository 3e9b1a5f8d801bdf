#!/usr/bin/env bash
# test_services.sh - the LAN services of rssnat (DHCP server, DNS proxy) with
# real clients: udhcpc, dhclient and dhcpcd each get a lease; dig resolves
# through the proxy (cache, LAN names, TCP, truncation); a host with nothing
# but a DHCP client reaches the internet side; leases survive a restart;
# the WAN side gets no DNS answer; malformed DHCP and DNS are counted drops.
# Needs root.
#
# The topology is gw_topo.sh's, with the LAN side turned into a switch:
#
#   netns rg-c1 (udhcpc)  ---+
#   netns rg-c2 (dhclient) --+-- br0 in rg-lan (with lanh, 192.168.137.10) -- lan0 rssnat
#   netns rg-c3 (dhcpcd)  ---+
#
# and an upstream DNS server (dnsmasq) at 203.0.113.53 in rg-srv serving
# www.example.test, big.example.test (a TXT answer too big for UDP) and
# NXDOMAIN for the rest. Every wait is bounded; the EXIT trap removes every
# namespace, also on failure.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
for tool in udhcpc dhclient dhcpcd dnsmasq dig curl ping; do
	command -v $tool >/dev/null || net_fail_hard "$tool not found (tools/deps.sh installs it)"
done

. "$HERE/gw_topo.sh"
CLIENTS="${RG}-c1 ${RG}-c2 ${RG}-c3"
NS="$NS $CLIENTS"
trap topo_cleanup EXIT

POOL_LO=100 POOL_HI=199
GW_ARGS="--dhcp-pool 192.168.137.$POOL_LO-192.168.137.$POOL_HI --dhcp-lease 600"

# The LAN becomes a bridge: lanh (the static hosts) and one port per client.
lan_switch() {
	in_ns ${RG}-lan ip link add br0 type bridge &&
		in_ns ${RG}-lan ip link set lanh master br0 &&
		in_ns ${RG}-lan ip addr flush dev lanh &&
		in_ns ${RG}-lan ip addr add 192.168.137.10/24 dev br0 &&
		in_ns ${RG}-lan ip link set br0 up &&
		in_ns ${RG}-lan ip route add default via 192.168.137.1 || return 1
	local i=1 n
	for n in $CLIENTS; do # (topology() made the namespaces: they are in $NS)
		ip link add "c$i" netns "$n" address "02:00:00:00:0c:0$i" type veth \
			peer name "p$i" netns ${RG}-lan || return 1
		in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		in_ns ${RG}-lan ip link set "p$i" master br0 &&
			in_ns ${RG}-lan ip link set "p$i" up && ip -n "$n" link set "c$i" up || return 1
		i=$((i + 1))
	done
}

# dnsmasq as the internet's resolver: two names, a big TXT record.
upstream_dns() {
	ip -n ${RG}-srv addr add 203.0.113.53/24 dev srv || return 1
	local big
	big=$(head -c 1200 /dev/zero | tr '\0' 'x' | fold -w 200 | paste -sd, -)
	ip netns exec ${RG}-srv dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
		--listen-address=203.0.113.53 --bind-interfaces --port=53 --local-ttl=300 \
		--address=/www.example.test/203.0.113.80 --txt-record="big.example.test,$big" \
		--local=/example.test/ --log-facility=- >"$T_TMP/dnsmasq.log" 2>&1 &
	BG="$BG $!"
	for _ in $(seq 1 30); do
		in_ns ${RG}-inet dig +time=1 +tries=1 @203.0.113.53 www.example.test +short 2>/dev/null |
			grep -q 203.0.113.80 && return 0
		sleep 0.2
	done
	return 1
}

# The clients' scripts: write what they were given, configure the address
# and the default route (each client's own hook would rewrite the host's
# /etc/resolv.conf, which a network namespace shares).
write_scripts() {
	# DHCP clients clean their scripts' environment: the output file is
	# written into each script.
	cat >"$T_TMP/udhcpc.sh" <<SH
#!/bin/sh
OUT=$T_TMP/c1.lease
SH
	cat >>"$T_TMP/udhcpc.sh" <<'SH'
case "$1" in bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	ip route replace default via "${router%% *}"
	printf 'ip=%s router=%s dns=%s domain=%s\n' "$ip" "$router" "$dns" "$domain" >"$OUT"
esac
SH
	printf '#!/bin/sh\nOUT=%s\n' "$T_TMP/c2.lease" >"$T_TMP/dhclient.sh"
	cat >>"$T_TMP/dhclient.sh" <<'SH'
case "$reason" in BOUND|RENEW|REBOOT|REBIND)
	ip addr flush dev "$interface"
	ip addr add "$new_ip_address/24" dev "$interface"
	ip route replace default via "${new_routers%% *}"
	printf 'ip=%s router=%s dns=%s domain=%s\n' "$new_ip_address" "$new_routers" \
		"$new_domain_name_servers" "$new_domain_name" >"$OUT"
esac
SH
	printf '#!/bin/sh\nOUT=%s\n' "$T_TMP/c3.lease" >"$T_TMP/dhcpcd.sh"
	cat >>"$T_TMP/dhcpcd.sh" <<'SH'
case "$reason" in BOUND|RENEW|REBOOT|REBIND)
	printf 'ip=%s router=%s dns=%s domain=%s\n' "$new_ip_address" "$new_routers" \
		"$new_domain_name_servers" "$new_domain_name" >"$OUT"
esac
SH
	printf 'option domain_name_servers, domain_name, routers, subnet_mask\nnoipv6rs\nnohook resolv.conf\n' \
		>"$T_TMP/dhcpcd.conf"
	chmod +x "$T_TMP"/*.sh
}

lease_udhcpc() { # gets a lease in ${RG}-c1 as host "alpha"
	in_ns ${RG}-c1 timeout 20 udhcpc -i c1 -n -q -t 5 -T 2 \
		-x hostname:alpha -s "$T_TMP/udhcpc.sh" >"$T_TMP/c1.log" 2>&1
}

lease_dhclient() {
	in_ns ${RG}-c2 timeout 30 dhclient -4 -1 -v \
		-sf "$T_TMP/dhclient.sh" -lf "$T_TMP/c2.leases" -pf "$T_TMP/c2.pid" \
		c2 >"$T_TMP/c2.log" 2>&1
}

lease_dhcpcd() {
	in_ns ${RG}-c3 timeout 30 dhcpcd -4 --oneshot --noipv4ll \
		-t 20 -f "$T_TMP/dhcpcd.conf" -c "$T_TMP/dhcpcd.sh" c3 >"$T_TMP/c3.log" 2>&1
}

field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null; }

check_lease() { # CLIENT NAME
	local f="$T_TMP/$1.lease" ip last
	ip=$(field "$f" ip)
	last=${ip##*.}
	if [ "${ip%.*}" = 192.168.137 ] && [ "$last" -ge $POOL_LO ] && [ "$last" -le $POOL_HI ] &&
		[ "$(field "$f" router)" = 192.168.137.1 ] && [ "$(field "$f" dns)" = 192.168.137.1 ] &&
		[ "$(field "$f" domain)" = mshome.net ]; then
		t_pass "$2: lease $ip in the pool, router and DNS 192.168.137.1, domain mshome.net"
	else
		t_fail "$2 gets a lease in the pool with router and DNS 192.168.137.1" \
			"$(cat "$f" 2>/dev/null)" "$(tail -5 "$T_TMP/$1.log")"
	fi
}

dns_counter() { # NAME: one of the proxy's counters
	"$RSSNAT" show dns --json --socket "$SOCK" 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])" 2>/dev/null
}

dig_lan() { in_ns ${RG}-lan dig +time=2 +tries=1 @192.168.137.1 "$@"; }

# ---- set-up ----
topology && lan_switch || net_fail_hard "cannot build the namespaces"
servers
upstream_dns || t_fail "dnsmasq answers in the internet namespace" "$(cat "$T_TMP/dnsmasq.log")"
write_scripts
start_gw 2 || { t_fail "rssnat starts with DHCP and DNS" "$(cat "$T_TMP/gw.log")"; t_done; exit 1; }
t_pass "rssnat starts with the DHCP server and the DNS proxy"

# ---- DHCP: three real clients ----
lease_udhcpc && check_lease c1 udhcpc || t_fail "udhcpc gets a lease" "$(tail -5 "$T_TMP/c1.log")"
lease_dhclient && check_lease c2 dhclient || t_fail "dhclient gets a lease" "$(tail -5 "$T_TMP/c2.log")"
lease_dhcpcd && check_lease c3 dhcpcd || t_fail "dhcpcd gets a lease" "$(tail -5 "$T_TMP/c3.log")"
ips=$(for c in c1 c2 c3; do field "$T_TMP/$c.lease" ip; done | sort)
[ "$(echo "$ips" | sort -u | grep -c .)" -eq 3 ] && t_pass "three clients, three different addresses" ||
	t_fail "three clients, three different addresses" "$ips"
C1=$(field "$T_TMP/c1.lease" ip)

# ---- a host with only a DHCP client reaches the internet ----
in_ns ${RG}-c1 ping -c 3 -W 1 -i 0.2 203.0.113.80 >/dev/null &&
	t_pass "the udhcpc host pings the internet side through rssnat" ||
	t_fail "the udhcpc host pings the internet side"
in_ns ${RG}-c1 curl -s --max-time 20 -o /dev/null -w '%{http_code}' http://203.0.113.80/ | grep -q 200 &&
	t_pass "the udhcpc host fetches a page with curl" || t_fail "the udhcpc host curls the internet side"

# ---- DNS through the proxy ----
got=$(dig_lan +short www.example.test)
[ "$got" = 203.0.113.80 ] && t_pass "dig through the proxy resolves www.example.test (dnsmasq upstream)" ||
	t_fail "dig through the proxy" "got '$got'" "$(tail -3 "$T_TMP/gw.log")"
hits=$(dns_counter cache_hits)
got=$(dig_lan +short www.example.test)
hits2=$(dns_counter cache_hits)
[ "$got" = 203.0.113.80 ] && [ "${hits2:-0}" -gt "${hits:-0}" ] &&
	t_pass "the second query is answered from the cache (cache_hits $hits -> $hits2)" ||
	t_fail "second query from the cache" "got '$got', cache_hits $hits -> $hits2"
got=$(in_ns ${RG}-c1 dig +time=2 +tries=1 @192.168.137.1 +short alpha.mshome.net)
[ "$got" = "$C1" ] && t_pass "a LAN host's name resolves: alpha.mshome.net -> $C1" ||
	t_fail "alpha.mshome.net resolves to $C1" "got '$got'"
got=$(dig_lan +short -x "$C1")
[ "$got" = alpha.mshome.net. ] && t_pass "and back: $C1 -> alpha.mshome.net" ||
	t_fail "reverse name of $C1" "got '$got'"
got=$(dig_lan +short +tcp www.example.test)
[ "$got" = 203.0.113.80 ] && t_pass "DNS over TCP to the proxy" || t_fail "DNS over TCP" "got '$got'"
got=$(dig_lan +short nosuch.example.test; dig_lan nosuch.example.test | grep -c NXDOMAIN)
[ "$got" = 1 ] && t_pass "NXDOMAIN passes through" || t_fail "NXDOMAIN passes through" "got '$got'"
falls=$(dns_counter tcp_fallbacks)
got=$(dig_lan +noedns +short big.example.test TXT | tr -d '" \n' | wc -c)
falls2=$(dns_counter tcp_fallbacks)
[ "$got" -ge 1200 ] && [ "${falls2:-0}" -gt "${falls:-0}" ] &&
	t_pass "a truncated upstream answer is fetched over TCP ($got bytes of TXT)" ||
	t_fail "truncation handled (TC -> TCP)" "got $got bytes, tcp_fallbacks $falls -> $falls2"

# ---- never an open resolver ----
got=$(in_ns ${RG}-inet dig +time=1 +tries=1 @198.51.100.2 www.example.test 2>&1 | grep -c "status:")
[ "$got" = 0 ] && t_pass "a query from the WAN side to the WAN address gets nothing" ||
	t_fail "WAN query to the WAN address unanswered" "got an answer"
in_ns ${RG}-inet ip route add 192.168.137.0/24 via 198.51.100.2 2>/dev/null
got=$(in_ns ${RG}-inet dig +time=1 +tries=1 @192.168.137.1 www.example.test 2>&1 | grep -c "status:")
[ "$got" = 0 ] && t_pass "a query from the WAN side to the LAN address gets nothing" ||
	t_fail "WAN query to the LAN address unanswered" "got an answer"

# ---- malformed DHCP and DNS: counted, the daemon stays, no lease lost ----
in_ns ${RG}-lan python3 "$HERE/bad_services.py" br0 >"$T_TMP/bad.log" 2>&1 ||
	t_fail "malformed DHCP and DNS sent" "$(tail -3 "$T_TMP/bad.log")"
sleep 0.5
drops=$("$RSSNAT" show dhcp --json --socket "$SOCK" 2>/dev/null |
	python3 -c "import json,sys; print(sum(json.load(sys.stdin)['drops'].values()))" 2>/dev/null)
dnsdrops=$("$RSSNAT" show dns --json --socket "$SOCK" 2>/dev/null |
	python3 -c "import json,sys; print(sum(json.load(sys.stdin)['drops'].values()))" 2>/dev/null)
leases=$("$RSSNAT" show dhcp --socket "$SOCK" 2>/dev/null | grep -c "state=bound")
if kill -0 "$GW_PID" 2>/dev/null && [ "${drops:-0}" -ge 5 ] && [ "${dnsdrops:-0}" -ge 1 ] &&
	[ "$leases" -eq 3 ]; then
	t_pass "malformed DHCP ($drops drops) and DNS ($dnsdrops drops) counted; daemon up, 3 leases kept"
else
	t_fail "malformed DHCP and DNS are counted drops" "dhcp drops=$drops dns drops=$dnsdrops leases=$leases" \
		"$(tail -3 "$T_TMP/bad.log")"
fi
got=$(dig_lan +short www.example.test)
[ "$got" = 203.0.113.80 ] && t_pass "the proxy still answers after the garbage" ||
	t_fail "the proxy still answers" "got '$got'"

# ---- leases survive a restart ----
stop_gw && t_pass "clean stop" || t_fail "clean stop" "$(tail -3 "$T_TMP/gw.log")"
grep -q "$C1" "$T_TMP/dhcp.leases" && t_pass "the lease file holds $C1" ||
	t_fail "the lease file holds $C1" "$(cat "$T_TMP/dhcp.leases" 2>/dev/null)"
start_gw 2 || t_fail "rssnat restarts" "$(cat "$T_TMP/gw.log")"
n=$("$RSSNAT" show dhcp --socket "$SOCK" 2>/dev/null | grep -c "state=bound")
[ "$n" -eq 3 ] && t_pass "after the restart the server knows the 3 leases" ||
	t_fail "3 leases after the restart" "$("$RSSNAT" show dhcp --socket "$SOCK" 2>&1 | head -5)"
in_ns ${RG}-c1 ip addr flush dev c1
lease_udhcpc
[ "$(field "$T_TMP/c1.lease" ip)" = "$C1" ] && t_pass "after the restart udhcpc gets the same address $C1" ||
	t_fail "same address after the restart" "$(cat "$T_TMP/c1.lease")"

# A corrupt lease file: a clear warning, a fresh start, the file kept aside.
stop_gw
echo "this is not a lease file" >"$T_TMP/dhcp.leases"
start_gw 2 || t_fail "rssnat starts over a corrupt lease file" "$(cat "$T_TMP/gw.log")"
grep -qi "corrupt" "$T_TMP/gw.log" && ls "$T_TMP"/dhcp.leases.corrupt* >/dev/null 2>&1 &&
	t_pass "a corrupt lease file: warning, fresh start, file kept aside" ||
	t_fail "corrupt lease file handling" "$(tail -3 "$T_TMP/gw.log")" "$(ls "$T_TMP")"
stop_gw

t_done
