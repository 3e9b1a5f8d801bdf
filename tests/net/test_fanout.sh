#!/usr/bin/env bash
# test_fanout.sh - the afpacket backend's eBPF fanout puts every received
# frame on the queue the RSS engine computes for it (`rssnat rss hash`),
# spreads frames over the queues, puts everything on queue 0 with one queue,
# ignores what the host itself sends, and `rssnat io probe` fails cleanly.
#
#   netns rssnat-t-a                         netns rssnat-t-b
#   rt-veth-a 203.0.113.1/24 <--- veth ---> rt-veth-b 203.0.113.2/24
#   python3: raw UDP, TCP SYN,                rssnat io probe --queues 4
#   802.1Q UDP, ICMP echo, fragments          (one line per frame)
#
# Usage: test_fanout.sh PATH/TO/rssnat   (needs root; RSSNAT_SKIP_NET=1 skips)
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
RSSNAT=$(realpath "$RSSNAT")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
. "$HERE/lib.sh"

QUEUES=4
PLAN="udp:120,tcp:120,vlan-udp:16,icmp:8,frag-udp:8"
FRAMES=280 # 120 + 120 + 16 + 8 + 2 * 8
PLAN1="udp:20,tcp:20"
FRAMES1=40
PROBE_SECONDS=20 # the probe's own bound; frames arrive in well under one
READY_TENTHS=100 # how long a probe may take to open the port

# field NAME LINE: the value of NAME= in a key=value line

promiscuity() {
	ip -n "$NET_NS_B" -d link show "$NET_IF_B" | grep -o 'promiscuity [0-9]*' | cut -d' ' -f2
}


net_require
net_setup
MAC_B=$(net_mac "$NET_NS_B" "$NET_IF_B")
OUT=$T_TMP/probe4

# Four queues --------------------------------------------------------------
if start_probe "$QUEUES" "$FRAMES" "$OUT"; then
	t_pass "probe opens $NET_IF_B with $QUEUES queues"
else
	t_fail "probe opens $NET_IF_B with $QUEUES queues" "stderr: $(cat "$OUT.err")"
fi
[ "$(promiscuity)" = 1 ] && t_pass "interface promiscuous while the probe runs" ||
	t_fail "interface promiscuous while the probe runs" "promiscuity $(promiscuity)"
sent=$(net_send "$NET_NS_A" "$NET_IF_A" "$MAC_B" 1 "$PLAN")
[ "$sent" = "$FRAMES" ] && t_pass "sent $FRAMES frames" || t_fail "sent $FRAMES frames" "sent: $sent"
net_bg_wait "$PROBE"
rc=$?
summary=$(grep '^frames=' "$OUT")
[ $rc -eq 0 ] && [ "$(field frames "$summary")" = "$FRAMES" ] &&
	t_pass "received all $FRAMES frames ($summary)" ||
	t_fail "received all $FRAMES frames" "rc=$rc summary: $summary" "stderr: $(cat "$OUT.err")"
check_queues "$OUT" "$QUEUES"
used=$(field per_queue "$summary" | tr ',' '\n' | grep -vc '^0$')
[ "$used" -gt 1 ] && t_pass "frames spread over $used of $QUEUES queues" ||
	t_fail "frames spread over more than one queue" "per_queue=$(field per_queue "$summary")"
n=$(grep -c ' frag=1' "$OUT")
[ "$n" -eq 16 ] && t_pass "fragments received and hashed on addresses ($n)" ||
	t_fail "fragments received" "got $n, want 16"
n=$(grep -c ' vlan=42' "$OUT")
[ "$n" -eq 16 ] && t_pass "802.1Q frames received with their tag ($n)" ||
	t_fail "802.1Q frames received with their tag" "got $n, want 16"
n=$(grep -c "src=$NET_ADDR_B:" "$OUT")
[ "$n" -eq 0 ] && t_pass "own transmissions (RST, ICMP errors) not received" ||
	t_fail "own transmissions not received" "$n frames from $NET_ADDR_B"
[ "$(promiscuity)" = 0 ] && t_pass "promiscuous mode dropped after the probe" ||
	t_fail "promiscuous mode dropped after the probe" "promiscuity $(promiscuity)"

# One queue ----------------------------------------------------------------
OUT=$T_TMP/probe1
start_probe 1 "$FRAMES1" "$OUT" || t_fail "probe opens with 1 queue" "$(cat "$OUT.err")"
net_send "$NET_NS_A" "$NET_IF_A" "$MAC_B" 2 "$PLAN1" >/dev/null
net_bg_wait "$PROBE"
rc=$?
summary=$(grep '^frames=' "$OUT")
others=$(grep '^queue=' "$OUT" | grep -vc '^queue=0 ')
[ $rc -eq 0 ] && [ "$(field frames "$summary")" = "$FRAMES1" ] && [ "$others" -eq 0 ] &&
	t_pass "queues=1: all $FRAMES1 frames on queue 0" ||
	t_fail "queues=1: all frames on queue 0" "rc=$rc summary: $summary, $others elsewhere"
check_queues "$OUT" 1

# Other field sets, as the NAT's endpoint hashing uses them ------------------
# run_fields NAME SEED FIELDS ICMP_PORTS PROBE_ARGS...: all kinds of frames.
run_fields() {
	local name=$1 seed=$2 fields=$3 icmp=$4 rc
	shift 4
	OUT=$T_TMP/probe-$fields
	start_probe "$QUEUES" "$FRAMES" "$OUT" --fields "$fields" "$@" ||
		t_fail "$name: probe opens" "$(cat "$OUT.err")"
	net_send "$NET_NS_A" "$NET_IF_A" "$MAC_B" "$seed" "$PLAN" >/dev/null
	net_bg_wait "$PROBE"
	rc=$?
	summary=$(grep '^frames=' "$OUT")
	[ $rc -eq 0 ] && [ "$(field frames "$summary")" = "$FRAMES" ] &&
		t_pass "$name: received all $FRAMES frames ($summary)" ||
		t_fail "$name: received all frames" "rc=$rc summary: $summary"
	check_queues "$OUT" "$QUEUES" "$fields" "$icmp"
}
run_fields "wan side, destination endpoint, ICMP id as port" 3 dn 1 --side wan --icmp-ports
run_fields "lan side, source endpoint" 4 sf 0 --side lan
run_fields "lan side, ports only, ICMP id as port" 5 fn 1 --icmp-ports

# Failing cleanly ----------------------------------------------------------
ip -n "$NET_NS_B" link add rt-down-0 type veth peer name rt-down-1
expect_open_error() { # NAME REGEX ARGS...: exit 1, one line on stderr
	local name=$1 re=$2 out rc lines
	shift 2
	out=$(ip netns exec "$NET_NS_B" "$RSSNAT" io probe "$@" 2>"$T_TMP/err")
	rc=$?
	lines=$(wc -l <"$T_TMP/err")
	[ $rc -eq 1 ] && [ -z "$out" ] && [ "$lines" -eq 1 ] && grep -Eq -- "$re" "$T_TMP/err" &&
		t_pass "$name" || t_fail "$name" "rc=$rc (want 1)" "stderr: $(cat "$T_TMP/err")"
}
expect_open_error "missing interface: exit 1, one line" "rt-nosuch: no such interface" \
	--iface rt-nosuch --queues 2
expect_open_error "interface down: exit 1, one line" "rt-down-0: interface is down" \
	--iface rt-down-0 --queues 2
t_usage_error "no --iface: exit 2" "--iface" "$RSSNAT" io probe --queues 2
t_usage_error "--queues 0: exit 2" "--queues" "$RSSNAT" io probe --iface lo --queues 0
t_usage_error "--side up: exit 2" "--side" "$RSSNAT" io probe --iface lo --side up
t_usage_error "stray argument: exit 2" "extra" "$RSSNAT" io probe --iface lo extra

t_done
