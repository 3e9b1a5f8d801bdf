#!/usr/bin/env bash
# run-all.sh BUILD_DIR - every test suite, release and ASan+UBSan builds.
# Each suite prints "N passed, N failed"; this sums them into the last line.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RSSNAT_VECTORS=${RSSNAT_VECTORS:-$ROOT/tests/data/rss-ms.txt}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

total_pass=0 total_fail=0 broken=""
run_suite() {
	local name=$1; shift
	local log start rc line
	log=$(mktemp)
	start=$(date +%s)
	echo "== $name"
	"$@" >"$log" 2>&1; rc=$?
	grep -v '^ok ' "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "   (no result line; exit $rc)"
		total_fail=$((total_fail + 1)); broken="$broken $name"
	else
		set -- $line
		total_pass=$((total_pass + $1)); total_fail=$((total_fail + $3))
		[ $rc -eq 0 ] && [ "$3" -eq 0 ] || broken="$broken $name"
	fi
	echo "   $name: $(date +%s | awk -v s=$start '{print $1 - s}')s"
	rm -f "$log"
}

run_suite "unit (release)"      "$BUILD/unit-tests"
run_suite "unit (asan+ubsan)"   "$BUILD/asan/unit-tests"
for t in tests/cli/test_*.sh; do
	run_suite "$(basename "$t" .sh) (release)"   "$t" "$BUILD/rssnat"
	run_suite "$(basename "$t" .sh) (asan+ubsan)" "$t" "$BUILD/asan/rssnat"
done

run_suite "fuzz (libFuzzer, ASan+UBSan)" tests/fuzz/run.sh "$BUILD"
# Real interfaces in network namespaces (root; RSSNAT_SKIP_NET=1 says so and skips).
run_suite "net: eBPF fanout = engine (release)" tests/net/test_fanout.sh "$BUILD/rssnat"
run_suite "net: gateway, real clients (release)" tests/net/test_gateway.sh "$BUILD/rssnat"
run_suite "net: gateway, real clients (asan+ubsan)" tests/net/test_gateway.sh "$BUILD/asan/rssnat"
run_suite "net: shared uplink, WAN address by DHCP and renumbered live (release)" tests/net/test_uplink.sh "$BUILD/rssnat"
run_suite "net: shared uplink, WAN address by DHCP and renumbered live (asan+ubsan)" tests/net/test_uplink.sh "$BUILD/asan/rssnat"
run_suite "net: LAN services, real DHCP clients and dig (release)" tests/net/test_services.sh "$BUILD/rssnat"
run_suite "net: LAN services, real DHCP clients and dig (asan+ubsan)" tests/net/test_services.sh "$BUILD/asan/rssnat"
run_suite "net: the host a member of its LAN (release)" tests/net/test_hostlan.sh "$BUILD/rssnat"
run_suite "net: the host a member of its LAN (asan+ubsan)" tests/net/test_hostlan.sh "$BUILD/asan/rssnat"
run_suite "net: LAN floods, DHCP starvation and forged ARP (release)" tests/net/test_lan_floods.sh "$BUILD/rssnat"
run_suite "net: LAN floods, DHCP starvation and forged ARP (asan+ubsan)" tests/net/test_lan_floods.sh "$BUILD/asan/rssnat"
run_suite "net: live RSS changes under iperf3 and ping, control plane (release)" tests/net/test_live.sh "$BUILD/rssnat"
run_suite "net: live RSS changes under iperf3 and ping, control plane (asan+ubsan)" tests/net/test_live.sh "$BUILD/asan/rssnat"
run_suite "net: kernel fast path (offload), flows on it and what goes up (release)" tests/net/test_offload.sh "$BUILD/rssnat"
run_suite "net: kernel fast path (offload), flows on it and what goes up (asan+ubsan)" tests/net/test_offload.sh "$BUILD/asan/rssnat"
run_suite "net: kernel fast path (offload) with the afxdp backend (release)" env OFFLOAD_BACKEND=afxdp tests/net/test_offload.sh "$BUILD/rssnat"
run_suite "net: ICMP errors rate limited under a flood (release)" tests/net/test_icmp_limit.sh "$BUILD/rssnat"
run_suite "net: ICMP errors rate limited under a flood (asan+ubsan)" tests/net/test_icmp_limit.sh "$BUILD/asan/rssnat"
run_suite "net: NAT state floods, a legitimate host measured (release)" tests/net/test_nat_floods.sh "$BUILD/rssnat"
run_suite "net: NAT state floods, a legitimate host measured (asan+ubsan)" tests/net/test_nat_floods.sh "$BUILD/asan/rssnat"
# The control-socket abuse runs once, on the ASan build (its server code is
# what the abuse reaches; the figures are the same): the suite stays short.
run_suite "net: control-socket abuse, DNS and forwarding unharmed (asan+ubsan)" tests/net/test_ctl_abuse.sh "$BUILD/asan/rssnat"
run_suite "net: rssnat top in a pty (release)" tests/net/test_top.sh "$BUILD/rssnat"
run_suite "net: rssnat top in a pty (asan+ubsan)" tests/net/test_top.sh "$BUILD/asan/rssnat"
run_suite "net: one instance per interface, kill -9 and restart (release)" tests/net/test_instance.sh "$BUILD/rssnat"
run_suite "net: one instance per interface, kill -9 and restart (asan+ubsan)" tests/net/test_instance.sh "$BUILD/asan/rssnat"
# CoDel once, on the release build (its logic runs under ASan in the unit
# tests; here the load and the timing matter).
run_suite "net: CoDel on the receive rings under iperf3, both backends (release)" tests/net/test_codel.sh "$BUILD/rssnat"
run_suite "net: afxdp backend and gateway (release)" tests/net/test_afxdp.sh "$BUILD/rssnat"
# The benchmark in a short mode (its fixed namespaces rb-*: not beside another bench).
run_suite "bench: vs-kernel.sh end to end, short mode (release)" tests/net/test_bench.sh "$BUILD/rssnat"
run_suite "net: afxdp backend and gateway (asan+ubsan)" tests/net/test_afxdp.sh "$BUILD/asan/rssnat"

[ -z "$broken" ] || echo "failed suites:$broken"
echo "$total_pass passed, $total_fail failed"
[ -z "$broken" ]
