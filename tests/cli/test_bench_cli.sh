#!/usr/bin/env bash
# test_bench_cli.sh - `rssnat bench rss` and `rssnat bench nat` in their
# shortest runs (0.1 s per measurement): every line a script reads is
# there, with numbers, and the NAT drops nothing; bad --seconds is a
# usage error.
# Speeds themselves are the benchmark's business, never asserted here.
# Usage: test_bench_cli.sh PATH/TO/rssnat
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"

num='[0-9]+(\.[0-9]+)?'
out=$("$RSSNAT" bench rss --seconds 0.1 2>"$T_TMP/err")
rc=$?
[ $rc -eq 0 ] && [ ! -s "$T_TMP/err" ] && t_pass "bench rss runs" ||
	t_fail "bench rss runs" "rc=$rc" "$(cat "$T_TMP/err")"
for fam in ipv4 ipv6; do
	printf '%s\n' "$out" | grep -Eq "^family=$fam impl=table reference_ns=$num fast_ns=$num speedup=$num$" &&
		t_pass "bench rss: $fam, table against the reference" ||
		t_fail "bench rss: $fam line" "$out"
done
printf '%s\n' "$out" | grep -Eq '^cpu_gfni=(yes|no) fast_path_ipv4=[a-z]+ fast_path_ipv6=[a-z]+$' &&
	t_pass "bench rss: the implementations chosen at run time" || t_fail "bench rss: cpu line" "$out"

out=$("$RSSNAT" bench nat --seconds 0.1 2>"$T_TMP/err")
rc=$?
[ $rc -eq 0 ] && t_pass "bench nat runs" || t_fail "bench nat runs" "rc=$rc" "$(cat "$T_TMP/err")"
for n in 1000 100000 1000000; do
	printf '%s\n' "$out" | grep -Eq "^bench=established sessions=$n mpps=$num ns_per_packet=$num bytes_per_session=$num dropped=0$" &&
		t_pass "bench nat: $n established sessions, nothing dropped" ||
		t_fail "bench nat: $n sessions" "$out"
done
printf '%s\n' "$out" | grep -Eq "^bench=new_sessions sessions=$num new_mappings_per_second_m=$num new_sessions_per_second_m=$num ns_per_session=$num dropped=0$" &&
	t_pass "bench nat: new sessions, nothing dropped" || t_fail "bench nat: new sessions" "$out"

for cmd in rss nat; do
	t_usage_error "bench $cmd --seconds 0" "--seconds" "$RSSNAT" bench $cmd --seconds 0
	t_usage_error "bench $cmd --seconds abc" "--seconds" "$RSSNAT" bench $cmd --seconds abc
	t_usage_error "bench $cmd --bogus" "bogus" "$RSSNAT" bench $cmd --bogus
done
t_done
