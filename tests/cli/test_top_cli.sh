#!/usr/bin/env bash
# CLI tests of `rssnat top` that need no gateway: bad arguments are one
# error line and exit 2, no daemon is one line and exit 1; then against a
# stand-in daemon (python3 on a UNIX socket in a temporary directory,
# speaking ctl.h's protocol) the rates, the header, the batch format, a
# daemon that goes away, and the terminal mode in a pty.
# Usage: test_top_cli.sh PATH/TO/rssnat
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
FAKE_PID=""
cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	rm -rf "$T_TMP"
}
trap cleanup EXIT

# ---- arguments ----
t_usage_error "interval too short" "^rssnat: --interval: '0.1' is not a number of seconds from 0.2 to 60$" "$RSSNAT" top --interval 0.1
t_usage_error "interval too long" "^rssnat: --interval: '61'" "$RSSNAT" top --interval 61
t_usage_error "interval not a number" "^rssnat: --interval: 'fast'" "$RSSNAT" top --interval fast
t_usage_error "interval nan" "^rssnat: --interval: 'nan'" "$RSSNAT" top --interval nan
t_usage_error "interval empty" "^rssnat: --interval: ''" "$RSSNAT" top --interval ''
t_usage_error "interval without value" "^rssnat: --interval: needs a value" "$RSSNAT" top --interval
t_usage_error "count zero" "^rssnat: --count: '0' is not a number from 1" "$RSSNAT" top --count 0
t_usage_error "count negative" "^rssnat: --count: '-3'" "$RSSNAT" top --count -3
t_usage_error "unknown option" "^rssnat: --bogus: unknown option \(see 'rssnat help top'\)" "$RSSNAT" top --bogus
t_usage_error "stray argument" "^rssnat: extra: unexpected argument" "$RSSNAT" top extra
t_usage_error "empty socket path" "^rssnat: --socket: needs a path" "$RSSNAT" top --socket ''

# ---- help ----
t_grep "top --help: usage line" "^usage: rssnat top \[--interval S\] \[--count N\] \[--batch\] \[--socket PATH\]" "$RSSNAT" top --help
t_grep "help top documents --interval" "--interval S +seconds between samples, 0.2 to 60" "$RSSNAT" help top
t_grep "help lists top" "^  top +The running gateway's queues, live" "$RSSNAT" help

# ---- no daemon ----
no_daemon() { # NAME EXPECTED CMD...: exit 1, nothing on stdout, one line on stderr
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>"$T_TMP/err"); rc=$?
	if [ $rc -eq 1 ] && [ -z "$out" ] && [ "$(cat "$T_TMP/err")" = "$want" ]; then t_pass "$name"
	else t_fail "$name" "rc=$rc (want 1)" "stdout: $out" "stderr: $(cat "$T_TMP/err")" "want: $want"; fi
}
NODAEMON="rssnat: top: no rssnat daemon answers on the control socket"
no_daemon "no daemon: one line, exit 1" "$NODAEMON" "$RSSNAT" top --socket "$T_TMP/none.sock"
no_daemon "no daemon via \$RSSNAT_SOCKET" "$NODAEMON" env RSSNAT_SOCKET="$T_TMP/none.sock" "$RSSNAT" top --batch
no_daemon "no daemon, --count 1" "$NODAEMON" "$RSSNAT" top --count 1 --socket "$T_TMP/none.sock"

# ---- a stand-in daemon ----
if ! command -v python3 >/dev/null; then
	echo "skip stand-in daemon tests: python3 not found"
	t_done
	exit
fi

# fake_daemon MODE: answers on $SOCK. Counters grow with time: queue q
# receives 1000*(q+1) frames/s, 90% local and 10% handed off, loses 10/s,
# holds 42+q sessions. MODE rss: `show global --json` says rss enabled;
# usage: it is an unknown request; garbage: stats are not JSON; die2: the
# daemon exits after two stats requests. A nested "drops" object holds a
# "dropped" key that must not count. Ends by itself after 60 s.
SOCK=$T_TMP/fake.sock
fake_daemon() {
	rm -f "$SOCK"
	python3 - "$SOCK" "$1" <<'PY' &
import os, socket, sys, time
path, mode = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
s.settimeout(0.5)
t0 = time.monotonic()
stats = 0
while time.monotonic() - t0 < 60:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    line = b""
    c.settimeout(1)
    while not line.endswith(b"\n"):
        part = c.recv(1024)
        if not part:
            break
        line += part
    line = line.strip().decode()
    e = time.monotonic() - t0 + 100
    if line == "show stats --json":
        stats += 1
        if mode == "garbage":
            reply = "ok\nthis is not json\n"
        else:
            qs = []
            for q in range(2):
                r = int(e * 1000 * (q + 1))
                qs.append('{ "queue" : %d, "rx_lan": %d, "rx_wan":%d, "tx_lan":%d,"tx_wan":0,'
                          '"future":{"rx_lan":5,"x":[1,{"a":"}"}]},"name":"q\\"}{",'
                          '"local":%d,"handoff":%d,"handoff_in":0,"dropped":%d,"sessions":%d,'
                          '"ring_dropped_lan":0,"ring_dropped_wan":0,"drops":{"dropped":999999999}}'
                          % (q, r // 2, r - r // 2, r, r * 9 // 10, r - r * 9 // 10, int(e * 10), 42 + q))
            reply = 'ok\n{"queues":[%s]}\n' % ",".join(qs)
    elif line == "show global --json" and mode == "rss":
        reply = 'ok\n{"version":"x","rss":"enabled","queues":2}\n'
    else:
        reply = "usage unknown command '%s'\n" % line
    c.sendall(reply.encode())
    c.close()
    if mode == "die2" and stats == 2:
        break
PY
	FAKE_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	return 1
}
stop_fake() {
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=""
}

fake_daemon rss || t_fail "stand-in daemon starts"
out=$("$RSSNAT" top --batch --count 2 --interval 0.2 --socket "$SOCK" 2>"$T_TMP/err"); rc=$?
printf '%s\n' "$out" >"$T_TMP/batch"
[ $rc -eq 0 ] && [ ! -s "$T_TMP/err" ] && t_pass "batch --count 2: exit 0, nothing on stderr" ||
	t_fail "batch --count 2" "rc=$rc" "stderr: $(cat "$T_TMP/err")"
[ "$(grep -c '^rssnat top - [0-9][0-9]:[0-9][0-9]:[0-9][0-9] - 2 queues - rss enabled - every 0.2s$' "$T_TMP/batch")" = 2 ] &&
	t_pass "batch: two blocks, header with time, queues, rss state, interval" ||
	t_fail "batch header" "$out"
grep -q $'\033' "$T_TMP/batch" && t_fail "batch: no escape codes" "$(od -c "$T_TMP/batch" | head -3)" ||
	t_pass "batch: no escape codes"
[ "$(grep -c '^QUEUE ' "$T_TMP/batch")" = 2 ] && [ "$(grep -c '^total ' "$T_TMP/batch")" = 2 ] &&
	t_pass "batch: column names and a total line per block" || t_fail "batch columns" "$out"
# The last block's figures: queue 1 at 2000/s RX and TX, 1800 local, 200
# handed off (10%), 10 lost, 43 sessions; the total 3000/s and 85 sessions.
check_row() { # NAME LABEL RX LOCAL HANDOFF SHARE LOST SESSIONS
	local row
	row=$(grep "^ *$2 " "$T_TMP/batch" | tail -1)
	if printf '%s\n' "$row" | awk -v rx="$3" -v lo="$4" -v ho="$5" -v sh="$6" -v lost="$7" -v se="$8" '
		function near(got, want) { return got >= want * 0.85 && got <= want * 1.15 }
		function share_ok(got, want) { sub(/%$/, "", got); sub(/%$/, "", want); return got + 0 >= want - 1 && got + 0 <= want + 1 }
		{ ok = near($2, rx) && near($3, rx) && near($4, lo) && near($5, ho) && share_ok($6, sh) &&
		       $7 <= lost * 2 && $8 == se }
		END { exit !ok }'; then
		t_pass "$1: $row"
	else
		t_fail "$1" "row: $row" "want ~ rx=$3 local=$4 handoff=$5 share=$6 (+-1) lost<=$((2 * $7)) sessions=$8"
	fi
}
check_row "queue 1 rates" 1 2000 1800 200 10.0% 10 43
check_row "total rates" total 3000 2700 300 10.0% 20 85
out=$("$RSSNAT" top --batch --count 1 --interval 0.2 --socket "$SOCK" | grep -c '^rssnat top')
[ "$out" = 1 ] && t_pass "--count 1: one block" || t_fail "--count 1: one block" "blocks: $out"
out=$(env RSSNAT_SOCKET="$SOCK" "$RSSNAT" top --count 1 --interval 0.2 | grep -c '^ *1 ')
[ "$out" = 1 ] && t_pass "\$RSSNAT_SOCKET; not a terminal: plain lines without --batch" ||
	t_fail "\$RSSNAT_SOCKET, plain lines" "rows: $out"

if python3 -c 'import pty, termios' 2>/dev/null; then
	res=$(timeout 30 python3 "$HERE/../lib/pty_run.py" --expect '^ *1 +[1-9][0-9]* ' --timeout 5 \
		--keys q --exit-within 1 --log "$T_TMP/screen" -- "$RSSNAT" top --interval 0.2 --socket "$SOCK")
	case $res in
	*"matched=1 exited=1 status=0 "*"raw_during=1 restored=1") t_pass "pty: figures on screen, q quits, terminal restored ($res)" ;;
	*) t_fail "pty: figures, q, terminal restored" "$res" "screen: $(tr -d '\033' <"$T_TMP/screen" | tail -5)" ;;
	esac
	grep -q $'\033\\[H' "$T_TMP/screen" && grep -q $'\033\\[?25h' "$T_TMP/screen" &&
		t_pass "pty: redrawn in place, cursor shown again at the end" || t_fail "pty: escape codes" "$(od -c "$T_TMP/screen" | head)"
	res=$(timeout 30 python3 "$HERE/../lib/pty_run.py" --expect '^ *total +[1-9]' --timeout 5 \
		--keys '\x03' --exit-within 1 -- "$RSSNAT" top --interval 0.2 --socket "$SOCK")
	case $res in
	*"matched=1 exited=1 status=0 "*"restored=1") t_pass "pty: Ctrl-C quits, terminal restored ($res)" ;;
	*) t_fail "pty: Ctrl-C" "$res" ;;
	esac
	res=$(timeout 30 python3 "$HERE/../lib/pty_run.py" --expect '^ *total +[1-9]' --timeout 5 \
		--keys '' --exit-within 3 -- "$RSSNAT" top --interval 0.2 --count 3 --socket "$SOCK")
	case $res in
	*"matched=1 exited=1 status=0 "*"restored=1") t_pass "pty: --count 3 ends by itself, terminal restored" ;;
	*) t_fail "pty: --count 3" "$res" ;;
	esac
else
	echo "skip pty tests: python3 has no pty/termios"
fi
stop_fake

fake_daemon usage
out=$("$RSSNAT" top --batch --count 1 --interval 0.2 --socket "$SOCK" 2>&1 | head -1)
case $out in
"rssnat top - "*" - 2 queues - every 0.2s") t_pass "daemon without 'show global': header without rss" ;;
*) t_fail "daemon without 'show global'" "$out" ;;
esac
stop_fake

fake_daemon garbage
no_daemon "reply that is not stats: one line, exit 1" \
	"rssnat: top: the daemon's reply to 'show stats --json' has no queues" \
	"$RSSNAT" top --batch --socket "$SOCK"
stop_fake

fake_daemon die2
out=$(timeout 10 "$RSSNAT" top --batch --interval 0.2 --socket "$SOCK" 2>"$T_TMP/err"); rc=$?
[ $rc -eq 1 ] && [ "$(cat "$T_TMP/err")" = "$NODAEMON" ] && [ "$(printf '%s\n' "$out" | grep -c '^rssnat top')" = 1 ] &&
	t_pass "daemon gone while running: one block, then one line and exit 1" ||
	t_fail "daemon gone while running" "rc=$rc" "stderr: $(cat "$T_TMP/err")" "stdout: $out"
stop_fake
t_done
