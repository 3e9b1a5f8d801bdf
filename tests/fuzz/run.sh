#!/usr/bin/env bash
# run.sh BUILD_DIR [SECONDS] - every libFuzzer harness for a short while
# (default 7 s each, ten harnesses: about 70 s), starting from a copy of its committed seeds
# (fuzz/corpus/NAME/, which reach what random bytes would not find in seconds;
# what the run adds is thrown away); `make fuzz-long` runs longer.
# A crash, a sanitizer report or a leak fails the harness.
set -u
SEEDS=$(cd "$(dirname "$0")/../../fuzz/corpus" && pwd)
BUILD=${1:-build}
SECONDS_EACH=${2:-${FUZZ_SECONDS:-7}}
passed=0 failed=0
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	f=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
	name=$(basename "$f")
	corpus=$(mktemp -d)
	[ -d "$SEEDS/$name" ] && cp "$SEEDS/$name"/* "$corpus"/
	log=$(mktemp)
	if (cd "$corpus" && "$f" -max_total_time="$SECONDS_EACH" -print_final_stats=1 . >"$log" 2>&1); then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		seeds=$(ls "$SEEDS/$name" 2>/dev/null | wc -l)
		echo "ok   $name ($runs runs in ${SECONDS_EACH}s from $seeds seeds)"
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
