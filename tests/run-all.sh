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
# tally NAME LOG RC SECONDS: print a finished suite's log (less its "ok"
# lines) and add its result line to the totals.
tally() {
	local name=$1 log=$2 rc=$3 secs=$4 line
	echo "== $name"
	grep -v '^ok ' "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "   (no result line; exit $rc)"
		total_fail=$((total_fail + 1)); broken="$broken $name"
	else
		set -- $line
		total_pass=$((total_pass + $1)); total_fail=$((total_fail + $3))
		[ "$rc" -eq 0 ] && [ "$3" -eq 0 ] || broken="$broken $name"
	fi
	echo "   $name: ${secs}s"
}

run_suite() {
	local name=$1; shift
	local log start rc
	log=$(mktemp)
	start=$(date +%s)
	"$@" >"$log" 2>&1; rc=$?
	tally "$name" "$log" $rc $(($(date +%s) - start))
	rm -f "$log"
}

# run_two NAME_A NAME_B CMD_A CMD_B: two namespace suites side by side, each
# in namespaces of its own (RSSNAT_NETNS rp and ap), since such suites
# mostly wait on the network and the clients: the two take little longer
# than the slower. Suites whose figures or verdicts depend on timing under
# load (floods, CoDel, the benchmark, ICMP rate limits, fanout) stay alone
# with run_suite. RSSNAT_TEST_JOBS=1 runs them one after the other.
run_two() {
	local la lb pa pb ra rb start
	if [ "${RSSNAT_TEST_JOBS:-2}" -lt 2 ]; then
		run_suite "$1" bash -c "$3"
		run_suite "$2" bash -c "$4"
		return
	fi
	la=$(mktemp) lb=$(mktemp) start=$(date +%s)
	RSSNAT_NETNS=rp bash -c "$3" >"$la" 2>&1 & pa=$!
	RSSNAT_NETNS=ap bash -c "$4" >"$lb" 2>&1 & pb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	tally "$1" "$la" $ra $(($(date +%s) - start))
	tally "$2 (beside it)" "$lb" $rb $(($(date +%s) - start))
	rm -f "$la" "$lb"
}

# run_pair NAME SCRIPT: the release and the ASan+UBSan runs of one suite,
# side by side.
run_pair() {
	run_two "$1 (release)" "$1 (asan+ubsan)" "$2 $BUILD/rssnat" "$2 $BUILD/asan/rssnat"
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
run_pair "net: gateway, real clients" tests/net/test_gateway.sh
run_pair "net: shared uplink, WAN address by DHCP and renumbered live" tests/net/test_uplink.sh
# Alone: dhcpcd keeps its control socket and pid file in /run/dhcpcd by
# interface name, which a second run in other namespaces would share.
run_suite "net: LAN services, real DHCP clients and dig (release)" tests/net/test_services.sh "$BUILD/rssnat"
run_suite "net: LAN services, real DHCP clients and dig (asan+ubsan)" tests/net/test_services.sh "$BUILD/asan/rssnat"
run_pair "net: the host a member of its LAN" tests/net/test_hostlan.sh
run_pair "net: UPnP IGD with upnpc, abuse counted, WAN refused" tests/net/test_upnp.sh
run_pair "net: port control, natpmpc and a PCP client" tests/net/test_portctl.sh
run_pair "net: port control in shared uplink mode, the claim following the mappings, both backends" tests/net/test_portctl_shared.sh
run_suite "net: LAN floods, DHCP starvation and forged ARP (release)" tests/net/test_lan_floods.sh "$BUILD/rssnat"
run_suite "net: LAN floods, DHCP starvation and forged ARP (asan+ubsan)" tests/net/test_lan_floods.sh "$BUILD/asan/rssnat"
run_pair "net: live RSS changes under iperf3 and ping, control plane" tests/net/test_live.sh
run_pair "net: kernel fast path (offload), flows on it and what goes up" tests/net/test_offload.sh
run_two "net: kernel fast path (offload) with the afxdp backend (release)" \
	"net: gateway, real clients, offload disabled (release)" \
	"OFFLOAD_BACKEND=afxdp tests/net/test_offload.sh $BUILD/rssnat" \
	"RSSNAT_OFFLOAD=disabled tests/net/test_gateway.sh $BUILD/rssnat"
run_suite "net: kernel fast path spread over the workers' CPUs, agreement with the engine (release)" tests/net/test_spread.sh "$BUILD/rssnat"
run_suite "net: kernel fast path spread over the workers' CPUs, agreement with the engine (asan+ubsan)" tests/net/test_spread.sh "$BUILD/asan/rssnat"
# Every other net suite runs with offload enabled (the default). The
# user-space path with real clients, once more with it disabled (release:
# its code runs under ASan above, with the flows' first packets). The other
# gw_topo suites pass with RSSNAT_OFFLOAD=disabled too; they are not run
# twice here, for the suite's time budget.
run_suite "net: ICMP errors rate limited under a flood (release)" tests/net/test_icmp_limit.sh "$BUILD/rssnat"
run_suite "net: ICMP errors rate limited under a flood (asan+ubsan)" tests/net/test_icmp_limit.sh "$BUILD/asan/rssnat"
run_pair "net: shared uplink, the host's frames left to it beside the LAN's, both backends" tests/net/test_claim.sh
run_suite "net: NAT state floods, a legitimate host measured (release)" tests/net/test_nat_floods.sh "$BUILD/rssnat"
run_suite "net: NAT state floods, a legitimate host measured (asan+ubsan)" tests/net/test_nat_floods.sh "$BUILD/asan/rssnat"
# The control-socket abuse runs once, on the ASan build (its server code is
# what the abuse reaches; the figures are the same): the suite stays short.
run_suite "net: control-socket abuse, DNS and forwarding unharmed (asan+ubsan)" tests/net/test_ctl_abuse.sh "$BUILD/asan/rssnat"
run_pair "net: rssnat top in a pty" tests/net/test_top.sh
run_pair "net: one instance per interface, kill -9 and restart" tests/net/test_instance.sh
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
