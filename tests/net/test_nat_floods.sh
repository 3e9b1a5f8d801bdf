#!/usr/bin/env bash
# test_nat_floods.sh - state floods against the gateway's NAT (issue 14,
# item 4), each bounded to a few seconds, with a legitimate host measured
# while it runs. Needs root.
#
#   (a) mapping quota: a LAN host forges one UDP flow per source port (all
#       65535) and TCP SYNs, from its own address, for 5 s; meanwhile the
#       other LAN host (192.168.137.11) opens 10 TCP connections and 10 UDP
#       exchanges. Before the per-host quota the flood took every mapping.
#   (c) timeouts: `set nat timeout udp=5` after the flood; the flood's idle
#       UDP sessions must be gone within 10 s (they used to keep their 300 s).
#   (b) fragment table: lone last fragments from spoofed WAN sources, 1000
#       a second for 5 s, while the LAN host sends 10 UDP datagrams of 3000
#       bytes (fragmented both ways) to an echo server.
# Figures are printed as "figure NAME ok=N of=M" lines. The topology is
# gw_topo.sh's (RSSNAT_NETNS sets its prefix); an EXIT trap removes it.
set -u
RSSNAT=$(cd "$(dirname "${1:?usage: $0 PATH/TO/rssnat}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"
net_require
command -v ethtool >/dev/null || net_fail_hard "ethtool not found (tools/deps.sh installs it)"

. "$HERE/gw_topo.sh"
trap topo_cleanup EXIT

mac_of() { ip -n "$1" -br link show "$2" | awk '{print $3}'; }

# A UDP echo server for big datagrams (gw_topo's answers 2048 bytes at most).
big_echo() {
	ip netns exec ${RG}-srv python3 - <<'PY' >/dev/null 2>&1 &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: fragment
s.bind(("203.0.113.80", 7007))
s.settimeout(1.0)
end = time.time() + 300
while time.time() < end:
    try:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
    except socket.timeout:
        pass
PY
	BG="$BG $!"
}

# flood_lan SECONDS: from lanh, as 192.168.137.10, one UDP datagram from
# every source port, then TCP SYNs from 20000 ports, round and round, up to
# 50000 frames a second, for SECONDS.
flood_lan() {
	in_ns ${RG}-lan python3 - "$1" "$(mac_of ${RG}-lan lanh)" "$(mac_of ${RG}-gw lan0)" <<'PY'
import socket, struct, sys, time
secs, src_mac, dst_mac = float(sys.argv[1]), sys.argv[2], sys.argv[3]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def csum(b):
    if len(b) % 2: b += b"\0"
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while c >> 16: c = (c & 0xffff) + (c >> 16)
    return ~c & 0xffff
src, dst = socket.inet_aton("192.168.137.10"), socket.inet_aton("203.0.113.80")
eth = mac(dst_mac) + mac(src_mac) + b"\x08\x00"
def ip(proto, l4):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4
frames = [eth + ip(17, struct.pack("!HHHH", p, 9999, 12, 0) + b"fld!") for p in range(1, 65536)]
for p in range(20000, 40000):
    t = struct.pack("!HHIIBBHHH", p, 80, 1, 0, 0x50, 0x02, 8192, 0, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(t)) + t)
    frames.append(eth + ip(6, t[:16] + struct.pack("!H", c) + t[18:]))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("lanh", 0))
start = time.time(); sent = 0
while time.time() - start < secs:
    for f in frames[sent % len(frames):][:1000]:
        try:
            s.send(f)
        except OSError:
            pass
        sent += 1
    ahead = sent / 50000.0 - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)
print(sent)
PY
}

# flood_frags SECONDS: from wanr, lone last fragments (offset 1480, no
# first fragment ever) from random 203.0.113.0/24 and 198.51.100.0/24
# sources with random IP ids to the WAN address, 1000 a second.
flood_frags() {
	in_ns ${RG}-inet python3 - "$1" "$(mac_of ${RG}-inet wanr)" "$(mac_of ${RG}-gw wan0)" <<'PY'
import random, socket, struct, sys, time
secs, src_mac, dst_mac = float(sys.argv[1]), sys.argv[2], sys.argv[3]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def csum(b):
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while c >> 16: c = (c & 0xffff) + (c >> 16)
    return ~c & 0xffff
eth = mac(dst_mac) + mac(src_mac) + b"\x08\x00"
dst = socket.inet_aton("198.51.100.2")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("wanr", 0))
start = time.time(); sent = 0
while time.time() - start < secs:
    net = random.choice(([203, 0, 113], [198, 51, 100]))
    src = bytes(net + [random.randint(3, 250)])
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 64, random.randint(0, 65535), 185, 64, 17, 0,
                    src, dst)
    try:
        s.send(eth + h[:10] + struct.pack("!H", csum(h)) + h[12:] + bytes(64))
    except OSError:
        pass
    sent += 1
    ahead = sent / 1000.0 - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)
print(sent)
PY
}

# legit_conns: from 192.168.137.11, 10 TCP connections to the web server
# and 10 UDP exchanges with the echo server, 0.3 s apart, 1 s each.
legit_conns() {
	in_ns ${RG}-lan python3 - <<'PY'
import socket, time
tcp = udp = 0
for i in range(10):
    try:
        c = socket.create_connection(("203.0.113.80", 80), timeout=1.0,
                                     source_address=("192.168.137.11", 0))
        c.close(); tcp += 1
    except OSError:
        pass
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("192.168.137.11", 0)); u.settimeout(1.0)
    try:
        u.sendto(b"legit-%d" % i, ("203.0.113.80", 7))
        udp += u.recvfrom(2048)[0] == b"legit-%d" % i
    except OSError:
        pass
    u.close()
    time.sleep(0.3)
print(tcp, udp)
PY
}

# legit_frags: 10 UDP datagrams of 3000 bytes from 192.168.137.11, echoed.
legit_frags() {
	in_ns ${RG}-lan python3 - <<'PY'
import os, socket, time
ok = 0
for i in range(10):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_PMTUDISC_DONT: fragment, no DF
    u.bind(("192.168.137.11", 0)); u.settimeout(1.0)
    msg = os.urandom(3000)
    try:
        u.sendto(msg, ("203.0.113.80", 7007))
        ok += u.recvfrom(65535)[0] == msg
    except OSError:
        pass
    u.close()
    time.sleep(0.3)
print(ok)
PY
}

# The gateway's live sessions, all queues.
sessions() {
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null |
		awk '{for (i = 1; i <= NF; i++) if ($i ~ /^sessions=/) { split($i, a, "="); n += a[2] }} END {print n + 0}'
}

drop_count() { # REASON: summed over queues
	"$RSSNAT" show stats --socket "$SOCK" 2>/dev/null |
		awk -v r="reason=$1" '$3 == r { split($4, a, "="); n += a[2] } END {print n + 0}'
}

topology || { t_fail "topology" "could not set up namespaces"; t_done; exit; }
servers
big_echo
start_gw 2 || { t_fail "rssnat starts" "$(cat "$T_TMP/gw.log")"; t_done; exit; }
t_pass "rssnat starts (2 queues)"
in_ns ${RG}-lan ping -c 2 -W 1 -i 0.2 -I 192.168.137.11 203.0.113.80 >/dev/null &&
	t_pass "the legitimate host reaches the server" || t_fail "the legitimate host reaches the server"
read -r tcp0 udp0 <<<"$(legit_conns)"
echo "figure quiet_tcp ok=$tcp0 of=10"
echo "figure quiet_udp ok=$udp0 of=10"

# ---- (a) one host floods the mapping table ----
flood_lan 5 >"$T_TMP/flood_lan.out" &
FLOOD=$!
BG="$BG $FLOOD"
sleep 1.5
read -r tcp udp <<<"$(legit_conns)"
wait "$FLOOD"
echo "figure flood_frames sent=$(cat "$T_TMP/flood_lan.out")"
echo "figure flood_tcp ok=$tcp of=10"
echo "figure flood_udp ok=$udp of=10"
echo "figure flood_host_quota_drops count=$(drop_count HOST_QUOTA)"
[ "${tcp:-0}" -ge 8 ] && t_pass "(a) new TCP connections during a one-host flood: $tcp of 10" ||
	t_fail "(a) new TCP connections during a one-host flood: ${tcp:-0} of 10 (want 8+)"
[ "${udp:-0}" -ge 8 ] && t_pass "(a) new UDP exchanges during a one-host flood: $udp of 10" ||
	t_fail "(a) new UDP exchanges during a one-host flood: ${udp:-0} of 10 (want 8+)"

# ---- (c) a shorter timeout ends the idle flood sessions ----
before=$(sessions)
"$RSSNAT" set nat timeout udp=5 tcp-opening=5 --socket "$SOCK" >/dev/null ||
	t_fail "(c) set nat timeout udp=5 tcp-opening=5"
gone=""
for s in $(seq 1 20); do
	sleep 0.5
	now=$(sessions)
	[ "$now" -le 50 ] && { gone=$s; break; }
done
within="never (10 s)"
[ -n "$gone" ] && within="$(((gone + 1) / 2)) s"
echo "figure idle_sessions before=$before after=$(sessions) gone_within=$within"
[ "$before" -ge 1000 ] && t_pass "(c) the flood left $before idle sessions" ||
	t_fail "(c) the flood left idle sessions" "only $before"
[ -n "$gone" ] && t_pass "(c) idle sessions gone within $within of set nat timeout udp=5" ||
	t_fail "(c) idle sessions gone within 10 s of set nat timeout udp=5" "still $(sessions)"

# ---- the quota changes live ----
out=$("$RSSNAT" set nat host-mappings 64 --socket "$SOCK" 2>&1)
[ "$out" = "host-mappings=64" ] && t_pass "set nat host-mappings 64" || t_fail "set nat host-mappings 64" "$out"
"$RSSNAT" set nat host-mappings -3 --socket "$SOCK" >/dev/null 2>&1
[ $? -eq 2 ] && t_pass "set nat host-mappings -3 refused (exit 2)" || t_fail "set nat host-mappings -3 refused"
flood_lan 1 >/dev/null
now=$(sessions)
echo "figure flood_after_quota_64 sessions=$now"
[ "$now" -le $((64 + 50)) ] && t_pass "(a) with host-mappings 64 the flood holds at most 64 (sessions now $now)" ||
	t_fail "(a) with host-mappings 64 the flood holds at most 64" "sessions now $now"
# A fresh gateway: (b) measures the fragment cache alone, whatever (a) left.
stop_gw || t_fail "rssnat stops cleanly after (a)" "$(tail -20 "$T_TMP/gw.log")"
start_gw 2 || { t_fail "rssnat starts again" "$(cat "$T_TMP/gw.log")"; t_done; exit; }
f0=$(legit_frags)
echo "figure quiet_frag_udp ok=$f0 of=10"
flood_frags 6 >"$T_TMP/flood_frags.out" &
FLOOD=$!
BG="$BG $FLOOD"
sleep 2.5
frag=$(legit_frags)
wait "$FLOOD"
echo "figure frag_flood sent=$(cat "$T_TMP/flood_frags.out")"
echo "figure frag_udp_3000 ok=$frag of=10"
echo "figure frag_drops table_full=$(drop_count FRAG_TABLE_FULL) evicted=$(drop_count FRAG_EVICTED) source_limit=$(drop_count FRAG_SOURCE_LIMIT)"
[ "${frag:-0}" -ge 8 ] && t_pass "(b) 3000-byte UDP during a lone-fragment flood: $frag of 10" ||
	t_fail "(b) 3000-byte UDP during a lone-fragment flood: ${frag:-0} of 10 (want 8+)"

kill -0 "$GW_PID" 2>/dev/null && t_pass "rssnat still runs" || t_fail "rssnat still runs" "$(tail -20 "$T_TMP/gw.log")"
stop_gw && t_pass "rssnat stops cleanly" || t_fail "rssnat stops cleanly" "$(tail -20 "$T_TMP/gw.log")"
t_done
