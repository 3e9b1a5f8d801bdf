#!/usr/bin/env bash
# run.sh BUILD_DIR [SECONDS] - every libFuzzer harness for a short while
# (default 7 s each, one per core at a time: fifteen harnesses take about 55 s on two cores), starting from a copy of its committed seeds
# (fuzz/corpus/NAME/, which reach what random bytes would not find in seconds;
# what the run adds is thrown away); `make fuzz-long` runs longer.
# A crash, a sanitizer report or a leak fails the harness.
set -u
SEEDS=$(cd "$(dirname "$0")/../../fuzz/corpus" && pwd)
BUILD=${1:-build}
SECONDS_EACH=${2:-${FUZZ_SECONDS:-7}}
JOBS=${FUZZ_JOBS:-$(nproc)}
RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT

# fuzz_one HARNESS: run it from a copy of its seeds; its report goes to
# $RESULTS/NAME.ok or NAME.fail. Each run is one process on one core, so
# JOBS of them side by side (one per core) take the time of one.
fuzz_one() {
	local f=$1 name corpus log runs seeds
	name=$(basename "$f")
	corpus=$(mktemp -d)
	[ -d "$SEEDS/$name" ] && cp "$SEEDS/$name"/* "$corpus"/
	log=$(mktemp)
	if (cd "$corpus" && "$f" -max_total_time="$SECONDS_EACH" -print_final_stats=1 . >"$log" 2>&1); then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		seeds=$(ls "$SEEDS/$name" 2>/dev/null | wc -l)
		echo "ok   $name ($runs runs in ${SECONDS_EACH}s from $seeds seeds)" >"$RESULTS/$name.ok"
	else
		{
			echo "FAIL $name"
			grep -E "ERROR|SUMMARY|fuzz_|#[0-9]+ 0x" "$log" | head -20
			ls "$corpus"/crash-* "$corpus"/leak-* 2>/dev/null | head -3
		} >"$RESULTS/$name.fail"
	fi
	rm -rf "$corpus" "$log"
}

running=0
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" &
	running=$((running + 1))
done
wait
cat "$RESULTS"/*.ok "$RESULTS"/*.fail 2>/dev/null
passed=$(ls "$RESULTS"/*.ok 2>/dev/null | wc -l)
failed=$(ls "$RESULTS"/*.fail 2>/dev/null | wc -l)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
