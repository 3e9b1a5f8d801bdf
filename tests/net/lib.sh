# shellcheck shell=bash
# lib.sh - network namespace helpers for tests/net. Source it after
# tests/lib/assert.sh. The topology, two namespaces and one veth pair:
#
#   netns rssnat-t-a                         netns rssnat-t-b
#   rt-veth-a 203.0.113.1/24 <--- veth ---> rt-veth-b 203.0.113.2/24
#   (python3 writes raw frames)               (rssnat io probe reads)
#
# Addresses from TEST-NET-3 (RFC 5737) only; nothing leaves the namespaces.
# net_setup installs an EXIT trap that removes everything, on failure too.

NET_NS_A=rssnat-t-a
NET_NS_B=rssnat-t-b
NET_IF_A=rt-veth-a
NET_IF_B=rt-veth-b
NET_ADDR_A=203.0.113.1
NET_ADDR_B=203.0.113.2
NET_PREFIX=24
NET_BG_PIDS=""

# net_fail_hard WHY: the suite cannot run; say so as a failure, not a skip.
net_fail_hard() {
	echo "FAIL $1 (set RSSNAT_SKIP_NET=1 to skip the namespace tests)"
	echo "0 passed, 1 failed"
	exit 1
}

# net_require: RSSNAT_SKIP_NET=1 skips (said out loud); otherwise root, ip
# and python3 must be there and a namespace must be creatable.
net_require() {
	if [ "${RSSNAT_SKIP_NET:-0}" = 1 ]; then
		echo "skip $(basename "$0"): RSSNAT_SKIP_NET=1, network namespace tests not run"
		echo "0 passed, 0 failed"
		exit 0
	fi
	[ "$(id -u)" -eq 0 ] || net_fail_hard "not root: network namespace tests need root"
	command -v ip >/dev/null || net_fail_hard "ip (iproute2) not found"
	command -v python3 >/dev/null || net_fail_hard "python3 not found"
}

# net_bg CMD...: run CMD in the background (its pid in NET_BG_PID); the
# EXIT trap ends it unless net_bg_wait reaped it first.
net_bg() {
	"$@" &
	NET_BG_PID=$!
	NET_BG_PIDS="$NET_BG_PIDS $NET_BG_PID"
}

# net_bg_wait PID: wait for it, forget it (a reaped pid may be reused, so it
# must not be killed later); returns its exit status.
net_bg_wait() {
	local rc=0 pid keep=""
	wait "$1" || rc=$?
	for pid in $NET_BG_PIDS; do
		[ "$pid" = "$1" ] || keep="$keep $pid"
	done
	NET_BG_PIDS=$keep
	return $rc
}

net_teardown() {
	local pid
	for pid in $NET_BG_PIDS; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	NET_BG_PIDS=""
	# Deleting a namespace deletes the veth end in it, and so the pair.
	ip netns del "$NET_NS_A" 2>/dev/null
	ip netns del "$NET_NS_B" 2>/dev/null
	return 0
}

net_on_exit() {
	net_teardown
	[ -n "${T_TMP:-}" ] && rm -rf "$T_TMP"
	return 0
}

# net_setup: the topology above, from scratch (leftovers of a killed run are
# removed first). Fails hard if namespaces are not available.
net_setup() {
	trap net_on_exit EXIT
	trap 'exit 130' INT TERM
	net_teardown
	ip netns add "$NET_NS_A" 2>/dev/null || net_fail_hard "cannot create network namespaces"
	ip netns add "$NET_NS_B" || net_fail_hard "cannot create namespace $NET_NS_B"
	ip link add "$NET_IF_A" netns "$NET_NS_A" type veth peer name "$NET_IF_B" netns "$NET_NS_B" ||
		net_fail_hard "cannot create a veth pair"
	local ns
	for ns in "$NET_NS_A" "$NET_NS_B"; do
		# No IPv6 chatter (router solicitations, MLD) among the test frames.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	done
	ip -n "$NET_NS_A" addr add "$NET_ADDR_A/$NET_PREFIX" dev "$NET_IF_A" &&
		ip -n "$NET_NS_B" addr add "$NET_ADDR_B/$NET_PREFIX" dev "$NET_IF_B" &&
		ip -n "$NET_NS_A" link set "$NET_IF_A" up &&
		ip -n "$NET_NS_B" link set "$NET_IF_B" up ||
		net_fail_hard "cannot configure the veth pair"
}

# net_mac NS IFACE: the interface's MAC address.
net_mac() {
	ip netns exec "$1" cat "/sys/class/net/$2/address"
}

# net_send NS IFACE DST_MAC SEED PLAN: write hand-built Ethernet frames with
# a raw AF_PACKET socket. PLAN is KIND:COUNT,... with KIND one of udp, tcp
# (SYN), vlan-udp (802.1Q tag), icmp (echo request), frag-udp (a UDP datagram
# in two fragments: COUNT datagrams, 2*COUNT frames). Sources are random in
# 203.0.113.10-250, the destination is NET_ADDR_B, ports random (seeded).
net_send() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" "$NET_ADDR_B" <<'PY'
import random, socket, struct, sys

iface, dst_mac, seed, plan, dst_ip = sys.argv[1:6]
rng = random.Random(int(seed))
ETH_P_IP, ETH_P_8021Q = 0x0800, 0x8100
IP_MF = 0x2000
TCP, UDP, ICMP = 6, 17, 1
FRAG_PART = 24  # bytes of UDP datagram per fragment (a multiple of 8)

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def ipv4(src, dst, proto, payload, ident, frag=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload

def l4_csum(src, dst, proto, seg):
    return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)

def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = l4_csum(src, dst, UDP, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]

def tcp_syn(src, dst, sport, dport):
    seg = struct.pack("!HHIIBBHHH", sport, dport, rng.getrandbits(32), 0, 5 << 4, 0x02, 65535, 0, 0)
    return seg[:16] + struct.pack("!H", l4_csum(src, dst, TCP, seg)) + seg[18:]

def icmp_echo(ident, seq):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"rssnat"
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]

def port():
    return rng.randrange(1, 65536)

def frames(kind, src, dst):
    ident = rng.getrandbits(16)
    if kind == "udp":
        return [(ETH_P_IP, None, ipv4(src, dst, UDP, udp(src, dst, port(), port(), b"rssnat"), ident))]
    if kind == "vlan-udp":
        return [(ETH_P_IP, 42, ipv4(src, dst, UDP, udp(src, dst, port(), port(), b"rssnat"), ident))]
    if kind == "tcp":
        return [(ETH_P_IP, None, ipv4(src, dst, TCP, tcp_syn(src, dst, port(), port()), ident))]
    if kind == "icmp":
        return [(ETH_P_IP, None, ipv4(src, dst, ICMP, icmp_echo(port(), 1), ident))]
    if kind == "frag-udp":
        dgram = struct.pack("!HHHH", port(), port(), 2 * FRAG_PART, 0) + bytes(2 * FRAG_PART - 8)
        return [(ETH_P_IP, None, ipv4(src, dst, UDP, dgram[:FRAG_PART], ident, IP_MF)),
                (ETH_P_IP, None, ipv4(src, dst, UDP, dgram[FRAG_PART:], ident, FRAG_PART // 8))]
    raise SystemExit("net_send: unknown kind " + kind)

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src_mac = s.getsockname()[4]
dmac = bytes.fromhex(dst_mac.replace(":", ""))
sent = 0
for item in plan.split(","):
    kind, count = item.split(":")
    for _ in range(int(count)):
        src = socket.inet_aton("203.0.113.%d" % rng.randrange(10, 251))
        for etype, vid, payload in frames(kind, src, socket.inet_aton(dst_ip)):
            if vid is None:
                eth = dmac + src_mac + struct.pack("!H", etype)
            else:
                eth = dmac + src_mac + struct.pack("!HHH", ETH_P_8021Q, vid, etype)
            s.send(eth + payload)
            sent += 1
print(sent)
PY
}

# field NAME LINE: the value of NAME= in a key=value line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# start_probe QUEUES COUNT OUT [ARGS...]: `rssnat io probe` in namespace B
# with $PROBE_BACKEND (default afpacket), waiting until it receives.
start_probe() {
	local q=$1 count=$2 out=$3 _
	shift 3
	net_bg ip netns exec "$NET_NS_B" "$RSSNAT" io probe --backend "${PROBE_BACKEND:-afpacket}" \
		--iface "$NET_IF_B" --queues "$q" --count "$count" --seconds "$PROBE_SECONDS" "$@" >"$out" 2>"$out.err"
	PROBE=$NET_BG_PID
	for _ in $(seq 1 "$READY_TENTHS"); do
		grep -q "receiving on" "$out.err" && return 0
		kill -0 "$PROBE" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# expected_queue LINE QUEUES FIELDS ICMP_PORTS: what the engine says. As
# nat_packet_hash(): TCP and UDP hash FIELDS, ICMP echo too if ICMP_PORTS
# is 1 (its identifier is printed as both ports); fragments and the rest
# hash only the address letters of FIELDS (none: hash 0, bucket 0, queue 0).
expected_queue() {
	local src dst fields=$3 ports=0
	src=$(field src "$1")
	dst=$(field dst "$1")
	case "$(field proto "$1"):$(field frag "$1")" in
	tcp: | udp:) ports=1 ;;
	icmp:) ports=$4 ;;
	esac
	if [ "$ports" = 0 ]; then
		src=${src%:*} dst=${dst%:*} fields=$(printf '%s' "$fields" | tr -d fn)
		[ -n "$fields" ] || { echo 0; return; }
	fi
	field queue "$("$RSSNAT" rss hash --queues "$2" --fields "$fields" "$src" "$dst")"
}

# check_queues OUT QUEUES [FIELDS [ICMP_PORTS [NAME]]]: every frame line of
# the probe's output OUT arrived on the engine's queue (fields default sdfn).
check_queues() {
	local line got want bad=0 n=0 first="" fields=${3:-sdfn} icmp=${4:-0}
	local name=${5:-"queues=$2 fields=${3:-sdfn} icmp_ports=${4:-0}"}
	while IFS= read -r line; do
		n=$((n + 1))
		got=$(field queue "$line")
		want=$(expected_queue "$line" "$2" "$fields" "$icmp")
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			[ -n "$first" ] || first="$line (engine: queue=$want)"
		fi
	done < <(grep '^queue=' "$1")
	if [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]; then
		t_pass "$name: all $n frames on the engine's queue"
	else
		t_fail "$name: frames on the engine's queue" "$bad of $n differ" "first: $first"
	fi
}
