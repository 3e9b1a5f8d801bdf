# assert.sh - tiny assertions for shell tests. Source it; call t_done at the end,
# which prints the closing "N passed, N failed" line and sets the exit status.
T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT

t_pass() { T_PASSED=$((T_PASSED + 1)); echo "ok   $1"; }
t_fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# t_out NAME EXPECTED CMD... : CMD exits 0 and prints exactly EXPECTED on stdout.
t_out() {
	local name=$1 want=$2; shift 2
	local got rc
	got=$("$@" 2>"$T_TMP/err"); rc=$?
	if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [ ! -s "$T_TMP/err" ]; then t_pass "$name"
	else t_fail "$name" "cmd: $*" "rc=$rc" "got: $got" "want: $want" "stderr: $(cat "$T_TMP/err")"; fi
}

# t_grep NAME REGEX CMD... : CMD exits 0 and stdout matches REGEX (grep -E).
t_grep() {
	local name=$1 re=$2; shift 2
	local got rc
	got=$("$@" 2>"$T_TMP/err"); rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$got" | grep -Eq -- "$re"; then t_pass "$name"
	else t_fail "$name" "cmd: $*" "rc=$rc" "got: $(printf '%s' "$got" | head -5)" "want /$re/" "stderr: $(cat "$T_TMP/err")"; fi
}

# t_usage_error NAME REGEX CMD... : exit 2, nothing on stdout, exactly one
# line on stderr, and that line matches REGEX (it names the bad argument).
t_usage_error() {
	local name=$1 re=$2; shift 2
	local out rc lines
	out=$("$@" 2>"$T_TMP/err"); rc=$?
	lines=$(wc -l <"$T_TMP/err")
	if [ $rc -eq 2 ] && [ -z "$out" ] && [ "$lines" -eq 1 ] && grep -Eq -- "$re" "$T_TMP/err"; then t_pass "$name"
	else t_fail "$name" "cmd: $*" "rc=$rc (want 2)" "stdout: $out" "stderr ($lines lines): $(cat "$T_TMP/err")" "want /$re/"; fi
}

t_done() {
	echo "$T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}
