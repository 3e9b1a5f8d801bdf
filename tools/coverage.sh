#!/usr/bin/env bash
# coverage.sh COV_DIR - run what `make coverage` built with gcc --coverage
# (COV_DIR/unit-tests, COV_DIR/rssnat, COV_DIR/fuzz/fuzz_*) and print line
# coverage of src/, in total and per folder (tools/coverage.py reads gcov's
# JSON), for the whole suite: the unit tests, tests/cli/test_*.sh, the
# committed fuzz corpora (fuzz/corpus/NAME/) replayed once, and the
# namespace tests (tests/net/test_*.sh: root, real interfaces, a few
# minutes), which alone reach the backends (src/io) and the gateway's data
# path (src/gw/worker.c, host.c). They run with the namespace prefix
# $RSSNAT_NETNS (default cov); COVERAGE_NET=0, RSSNAT_SKIP_NET=1 or not
# being root leaves them out, and the first line says so. test_afxdp.sh is
# never run (fixed namespace names).
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

NET=${COVERAGE_NET:-1}
[ "${RSSNAT_SKIP_NET:-0}" = 1 ] || [ "$(id -u)" -ne 0 ] && NET=0
if [ "$NET" = 1 ]; then
	echo "coverage: what runs (the whole suite, the namespace tests included)"
else
	echo "coverage: what runs (the namespace tests, tests/net, are EXCLUDED: they need root and COVERAGE_NET=1)"
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
if [ "$NET" = 1 ]; then
	export RSSNAT_NETNS=${RSSNAT_NETNS:-cov}
	for t in tests/net/test_*.sh; do
		[ "$t" = tests/net/test_afxdp.sh ] && continue
		step "net: $(basename "$t" .sh)" "$t" "$COV/rssnat"
	done
fi
python3 tools/coverage.py "$COV/obj"
