#!/usr/bin/env bash
# coverage.sh COV_DIR - run what `make coverage` built with gcc --coverage
# (COV_DIR/unit-tests, COV_DIR/rssnat, COV_DIR/fuzz/fuzz_*) and print line
# coverage of src/, in total and per folder (tools/coverage.py reads gcov's
# JSON). Included: the unit tests, tests/cli/test_*.sh and the committed
# fuzz corpora (fuzz/corpus/NAME/) replayed once. Not included unless
# COVERAGE_NET=1: the namespace tests (tests/net: root, real interfaces,
# about 3 minutes), which alone reach the backends (src/io) and the
# gateway's data path (src/gw/worker.c, host.c); they then run with the
# namespace prefix $RSSNAT_NETNS (default cov). test_afxdp.sh is never run
# (fixed namespace names).
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

if [ "${COVERAGE_NET:-0}" = 1 ]; then
	echo "coverage: what runs (with the namespace tests, COVERAGE_NET=1)"
else
	echo "coverage: what runs (the namespace tests, tests/net, are excluded: COVERAGE_NET=1 adds them)"
fi
step "unit tests" "$COV/unit-tests"
for t in tests/cli/test_*.sh; do
	step "$(basename "$t" .sh)" "$t" "$COV/rssnat"
done
for f in "$COV"/fuzz/fuzz_*; do
	name=$(basename "$f")
	[ -d "fuzz/corpus/$name" ] || continue
	step "$name (corpus replayed)" "$f" "fuzz/corpus/$name"
done
if [ "${COVERAGE_NET:-0}" = 1 ]; then
	export RSSNAT_NETNS=${RSSNAT_NETNS:-cov}
	for t in test_gateway test_services test_live test_top; do
		step "net: $t" "tests/net/$t.sh" "$COV/rssnat"
	done
fi
python3 tools/coverage.py "$COV/obj"
