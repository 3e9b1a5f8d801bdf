#!/usr/bin/env bash
# coverage.sh COV_DIR - run what `make coverage` built with gcc --coverage
# (COV_DIR/unit-tests, COV_DIR/rssnat, COV_DIR/fuzz/fuzz_*) and print line
# coverage of src/, in total and per folder (tools/coverage.py reads gcov's
# JSON). Included: the unit tests, tests/cli/test_*.sh and the committed
# fuzz corpora (fuzz/corpus/NAME/) replayed once. Not included: the
# namespace tests (tests/net, root and minutes).
set -u
COV=${1:?usage: $0 COV_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RSSNAT_VECTORS=${RSSNAT_VECTORS:-$ROOT/tests/data/rss-ms.txt}
find "$COV" -name '*.gcda' -delete

# step NAME COMMAND...: run it quietly, one line with its result.
step() {
	local name=$1 log rc
	shift
	log=$(mktemp)
	"$@" >"$log" 2>&1
	rc=$?
	printf '%-34s %s\n' "$name" "$(grep -E '^[0-9]+ passed, [0-9]+ failed|inputs replayed' "$log" |
		tail -1 | sed 's/^.*: //')$([ $rc -ne 0 ] && echo " (exit $rc)")"
	rm -f "$log"
}

echo "coverage: what runs (the namespace tests, tests/net, are excluded)"
step "unit tests" "$COV/unit-tests"
for t in tests/cli/test_*.sh; do
	step "$(basename "$t" .sh)" "$t" "$COV/rssnat"
done
for f in "$COV"/fuzz/fuzz_*; do
	name=$(basename "$f")
	[ -d "fuzz/corpus/$name" ] || continue
	step "$name (corpus replayed)" "$f" "fuzz/corpus/$name"
done
python3 tools/coverage.py "$COV/obj"
