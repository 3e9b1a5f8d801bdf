#!/usr/bin/env bash
# run.sh BUILD_DIR [SECONDS] - every libFuzzer harness for a short while
# (default 10 s each) from an empty corpus; `make fuzz-long` runs longer.
# A crash, a sanitizer report or a leak fails the harness.
set -u
BUILD=${1:-build}
SECONDS_EACH=${2:-${FUZZ_SECONDS:-10}}
passed=0 failed=0
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	f=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
	name=$(basename "$f")
	corpus=$(mktemp -d)
	log=$(mktemp)
	if (cd "$corpus" && "$f" -max_total_time="$SECONDS_EACH" -print_final_stats=1 . >"$log" 2>&1); then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok   $name ($runs runs in ${SECONDS_EACH}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		grep -E "ERROR|SUMMARY|fuzz_|#[0-9]+ 0x" "$log" | head -20
		ls "$corpus"/crash-* "$corpus"/leak-* 2>/dev/null | head -3
		failed=$((failed + 1))
	fi
	rm -rf "$corpus" "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
