#!/usr/bin/env bash
# CLI tests of `rssnat rss ...`: every published vector through the command
# line, JSON output, the solver cross-checked with `rss hash`, bad input.
# Usage: test_rss_cli.sh PATH/TO/rssnat
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"
VECTORS=${RSSNAT_VECTORS:-$HERE/../data/rss-ms.txt}

[ -r "$VECTORS" ] || { t_fail "vectors readable" "$VECTORS"; t_done; exit 1; }
key=$(grep -v '^#' "$VECTORS" | head -1)
n=0
while read -r fam src sport dst dport h4 h2; do
	case $fam in ipv4) s=$src:$sport d=$dst:$dport ;; ipv6) s=[$src]:$sport d=[$dst]:$dport ;; *) continue ;; esac
	n=$((n + 1))
	for impl in auto reference table gfni; do
		grep -q gfni /proc/cpuinfo || [ $impl != gfni ] || continue
		b4=$((h4 & 127)); b2=$((h2 & 127))
		t_out "vector $fam $src 4-tuple $impl" "hash=$h4 bucket=$b4 queue=0" \
			"$RSSNAT" rss hash --impl $impl --key "$key" "$s" "$d"
		t_out "vector $fam $src 2-tuple $impl" "hash=$h2 bucket=$b2 queue=0" \
			"$RSSNAT" rss hash --impl $impl "$src" "$dst"
		t_out "vector $fam $src --fields sd $impl" "hash=$h2 bucket=$b2 queue=0" \
			"$RSSNAT" rss hash --impl $impl --fields sd "$s" "$d"
	done
	t_out "vector $fam $src json, 4 queues" \
		"{\"hash\":\"$h4\",\"bucket\":$((h4 & 127)),\"queue\":$(((h4 & 127) % 4))}" \
		"$RSSNAT" rss hash --json --queues 4 "$s" "$d"
done < <(grep -v '^#' "$VECTORS" | tail -n +2)
[ $n -ge 8 ] && t_pass "all $n vector rows read" || t_fail "vector rows" "read $n"

# Queues and table size: queue is bucket mod queues with round robin.
t_out "queue from round robin table" "hash=0x51ccc178 bucket=120 queue=0" \
	"$RSSNAT" rss hash --queues 4 66.9.149.187:2794 161.142.100.80:1766
t_out "table size 64" "hash=0x51ccc178 bucket=56 queue=2" \
	"$RSSNAT" rss hash --queues 3 --table-size 64 66.9.149.187:2794 161.142.100.80:1766
t_out "options after positionals" "hash=0x51ccc178 bucket=120 queue=0" \
	"$RSSNAT" rss hash 66.9.149.187:2794 161.142.100.80:1766 --queues 4
t_out "symmetric key is symmetric" "$("$RSSNAT" rss hash --key symmetric 10.0.0.1:1 10.0.0.2:2)" \
	"$RSSNAT" rss hash --key symmetric 10.0.0.2:2 10.0.0.1:1
t_out "endpoint field set sf ignores destination" \
	"$("$RSSNAT" rss hash --fields sf 192.168.137.5:40000 203.0.113.9:53)" \
	"$RSSNAT" rss hash --fields sf 192.168.137.5:40000 198.51.100.1:8080

# The table.
t_out "table round robin" "table_size=8 queues=3 key=microsoft
0 1 2 0 1 2 0 1" "$RSSNAT" rss table --table-size 8 --queues 3
t_out "table weights json" \
	'{"table_size":4,"queues":2,"key":"6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a","table":[0,0,1,0]}' \
	"$RSSNAT" rss table --table-size 4 --weights 3,1 --key symmetric --json

# The solver: every port it lists must land in the bucket by `rss hash`.
sol=$("$RSSNAT" rss solve --bucket 5 --limit 8 --range 1024-65535 66.9.149.187:2794 161.142.100.80)
head=$(printf '%s\n' "$sol" | head -1)
case $head in "port=dst bucket=5 rank=7 ports=512 range=1024-65535 in_range="*) t_pass "solve summary" ;; *) t_fail "solve summary" "$head" ;; esac
bad=0
for p in $(printf '%s\n' "$sol" | sed -n 2p | tr -cs '0-9' ' ' | cut -d' ' -f1-8); do
	got=$("$RSSNAT" rss hash 66.9.149.187:2794 161.142.100.80:$p)
	[ "${got#*bucket=5 }" != "$got" ] || bad=$((bad + 1))
	[ "$p" -ge 1024 ] || bad=$((bad + 1))
done
[ $bad -eq 0 ] && t_pass "solved ports land in bucket 5" || t_fail "solved ports" "$bad wrong"
t_grep "solve says current port steers" "current=1766 steers=yes" \
	"$RSSNAT" rss solve --bucket 120 66.9.149.187:2794 161.142.100.80:1766
t_grep "solve says current port does not steer" "current=1766 steers=no" \
	"$RSSNAT" rss solve --bucket 121 66.9.149.187:2794 161.142.100.80:1766
t_grep "solve onto a queue" "^port=src queue=1 buckets=64 rank=7 ports=32768 " \
	"$RSSNAT" rss solve --queues 2 --queue 1 --port src 66.9.149.187 161.142.100.80:1766
t_grep "solve json" '^\{"port":"dst","bucket":0,"rank":7,"ports":512,.*"list":\[[0-9,]+\]\}$' \
	"$RSSNAT" rss solve --json --bucket 0 10.0.0.1:1 10.0.0.2
t_grep "solve endpoint fields ipv6" "^port=dst bucket=3 rank=" \
	"$RSSNAT" rss solve --fields dn --table-size 8 --bucket 3 2001:db8::1 [2001:db8::2]:0

# Help.
t_grep "help lists commands" "rss hash" "$RSSNAT" help
t_grep "help of one command" "^usage: rssnat rss hash" "$RSSNAT" help rss hash
t_grep "--help of one command" "^usage: rssnat rss solve" "$RSSNAT" rss solve --help
t_grep "help of a group" "rssnat rss table" "$RSSNAT" help rss

# Bad input: one line naming the argument, exit 2, nothing on stdout.
A=66.9.149.187:2794 B=161.142.100.80:1766
t_usage_error "malformed address" "^rssnat: 1\.2\.3:4: " "$RSSNAT" rss hash 1.2.3:4 "$B"
t_usage_error "malformed IPv6" "^rssnat: \[::g\]:1: " "$RSSNAT" rss hash "[::g]:1" "[::1]:2"
t_usage_error "IPv6 port without brackets" "^rssnat: \[::1\]x: " "$RSSNAT" rss hash "[::1]x" "[::1]:2"
t_usage_error "mixed families" "^rssnat: \[::1\]:2: is IPv6" "$RSSNAT" rss hash "$A" "[::1]:2"
t_usage_error "port out of range" "^rssnat: 1\.1\.1\.1:65536: port" "$RSSNAT" rss hash 1.1.1.1:65536 "$B"
t_usage_error "port not a number" "^rssnat: 1\.1\.1\.1:x: port" "$RSSNAT" rss hash 1.1.1.1:x "$B"
t_usage_error "odd-length key" "^rssnat: --key: .*odd" "$RSSNAT" rss hash --key 6d5a5 "$A" "$B"
t_usage_error "short key" "^rssnat: --key: .*shorter" "$RSSNAT" rss hash --key 6d5a "$A" "$B"
t_usage_error "key not hex" "^rssnat: --key: not a hex key" "$RSSNAT" rss hash --key zz "$A" "$B"
t_usage_error "table size not a power of two" "^rssnat: --table-size: '100'" "$RSSNAT" rss hash --table-size 100 "$A" "$B"
t_usage_error "table size too big" "^rssnat: --table-size: '1024'" "$RSSNAT" rss table --table-size 1024
t_usage_error "zero queues" "^rssnat: --queues: '0'" "$RSSNAT" rss table --queues 0
t_usage_error "bad weights" "^rssnat: --weights: " "$RSSNAT" rss table --weights 1,x
t_usage_error "all-zero weights" "^rssnat: --weights: " "$RSSNAT" rss table --weights 0,0
t_usage_error "bad fields" "^rssnat: --fields: 'sx'" "$RSSNAT" rss hash --fields sx "$A" "$B"
t_usage_error "fields need a port" "^rssnat: 161\.142\.100\.80: needs a port" "$RSSNAT" rss hash --fields sdfn "$A" 161.142.100.80
t_usage_error "one port only" "^rssnat: 161\.142\.100\.80: needs a port" "$RSSNAT" rss hash "$A" 161.142.100.80
t_usage_error "missing argument" "^rssnat: SRC DST: missing" "$RSSNAT" rss hash "$A"
t_usage_error "extra argument" "^rssnat: extra: unexpected" "$RSSNAT" rss hash "$A" "$B" extra
t_usage_error "unknown option" "^rssnat: --bogus: unknown option" "$RSSNAT" rss hash --bogus "$A" "$B"
t_usage_error "option without value" "^rssnat: --key: needs a value" "$RSSNAT" rss hash "$A" "$B" --key
t_usage_error "unknown command" "^rssnat: frobnicate: unknown command" "$RSSNAT" frobnicate
t_usage_error "group without command" "^rssnat: rss: needs a command" "$RSSNAT" rss
t_usage_error "unknown rss command" "^rssnat: nope: unknown rss command" "$RSSNAT" rss nope
t_usage_error "solve without target" "^rssnat: --bucket/--queue: " "$RSSNAT" rss solve "$A" 1.1.1.1
t_usage_error "solve bucket outside table" "^rssnat: --bucket: 200 is outside" "$RSSNAT" rss solve --bucket 200 "$A" 1.1.1.1
t_usage_error "solve bad range" "^rssnat: --range: " "$RSSNAT" rss solve --bucket 1 --range 9-1 "$A" 1.1.1.1
t_usage_error "solve port not hashed" "^rssnat: --port: " "$RSSNAT" rss solve --bucket 1 --fields sd "$A" 1.1.1.1
t_usage_error "help of unknown command" "^rssnat: nope: no such command" "$RSSNAT" help nope

t_done
