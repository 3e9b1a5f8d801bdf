#!/usr/bin/env bash
# Closed-loop simulation tests: KB927168 reproduced with --steering none and
# cured with rss, for 1, 2, 4, 8 and 16 queues; no handoff for
# single-destination TCP and UDP flows under 4-tuple hashing; bad options.
# Usage: test_simulate.sh PATH/TO/rssnat
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"

# field NAME LINE: the value of NAME= in the summary line
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

summary() { "$RSSNAT" simulate "$@" | tail -1; }

check_summary() { # NAME WANT_LOST(0|pos) WANT_HANDOFF(0|any|pos) ARGS...
	local name=$1 lost_want=$2 handoff_want=$3; shift 3
	local line flows completed lost handoff ok=1
	line=$(summary "$@") || { t_fail "$name" "exit status $?"; return; }
	flows=$(field flows "$line"); completed=$(field completed "$line")
	lost=$(field lost "$line"); handoff=$(field handoff_pkts "$line")
	[ -n "$flows" ] && [ $((completed + lost)) -eq "$flows" ] || ok=0
	case $lost_want in 0) [ "$lost" -eq 0 ] || ok=0 ;; pos) [ "$lost" -gt 0 ] || ok=0 ;; esac
	case $handoff_want in 0) [ "$handoff" -eq 0 ] || ok=0 ;; pos) [ "$handoff" -gt 0 ] || ok=0 ;; esac
	[ $ok -eq 1 ] && t_pass "$name" || t_fail "$name" "args: $*" "got: $line" "want lost=$lost_want handoff=$handoff_want"
}

# The acceptance run of the NAT engine.
check_summary "mix, 4 queues, 20000 flows, rss: nothing lost" 0 any \
	--queues 4 --flows 20000 --proto mix --steering rss
# The mapping table is sized by what the run can use, within the NAT's
# limit (NAT_MAPPINGS_MAX), not flows x queues (issue 14 item 6).
check_summary "16 queues, 20000 flows, endpoint fields: runs, nothing lost" 0 any \
	--queues 16 --flows 20000 --fields endpoint
check_summary "64 queues, 5000 flows: runs, nothing lost" 0 any --queues 64 --flows 5000
for q in 1 2 4 8 16; do
	check_summary "queues=$q mix rss: nothing lost" 0 any --queues $q --flows 4000
	check_summary "queues=$q mix handoff (no steering): nothing lost" 0 any \
		--queues $q --flows 4000 --steering handoff
	if [ $q -eq 1 ]; then
		check_summary "queues=1 none: one core, nothing lost" 0 0 --queues 1 --flows 4000 --steering none
	else
		check_summary "queues=$q none: KB927168, flows lost" pos 0 --queues $q --flows 4000 --steering none
	fi
	for p in tcp udp; do
		check_summary "queues=$q $p 4-tuple: single-destination flows never handed off" 0 0 \
			--queues $q --flows 3000 --proto $p --fields 4tuple
	done
	check_summary "queues=$q icmp endpoint fields: echo steered, no handoff" 0 0 \
		--queues $q --flows 3000 --proto icmp --fields endpoint
done
if [ -n "$(summary --queues 4 --flows 3000 --proto icmp)" ]; then
	check_summary "icmp under 4-tuple hashing (NIC hashes 2-tuple): handed off, not lost" 0 pos \
		--queues 4 --flows 3000 --proto icmp
fi

# The lost share with steering none is about (q-1)/q: every reply that
# lands on another core is lost.
line=$(summary --queues 4 --flows 8000 --steering none)
lost=$(field lost "$line")
[ "$lost" -gt 5000 ] && [ "$lost" -lt 7000 ] && t_pass "none with 4 queues loses about 3/4" ||
	t_fail "none with 4 queues loses about 3/4" "$line"

# Deterministic for a seed; different seeds differ.
a=$("$RSSNAT" simulate --queues 4 --flows 2000 --seed 7)
b=$("$RSSNAT" simulate --queues 4 --flows 2000 --seed 7)
c=$("$RSSNAT" simulate --queues 4 --flows 2000 --seed 8)
[ "$a" = "$b" ] && [ "$a" != "$c" ] && t_pass "runs are deterministic per seed" ||
	t_fail "runs are deterministic per seed"

# Per-queue lines and JSON.
t_grep "one line per queue" "^queue=3 rx_lan=[0-9]+ " "$RSSNAT" simulate --queues 4 --flows 200
t_grep "json summary" '^\{"queues":2,.*"flows":300,"completed":300,"lost":0,"local_pkts":[0-9]+,"handoff_pkts":[0-9]+\}$' \
	"$RSSNAT" simulate --queues 2 --flows 300 --json
t_grep "drop reasons named" "^drop WRONG_CORE=[0-9]+: " "$RSSNAT" simulate --queues 2 --flows 500 --steering none

t_usage_error "queues out of range" "^rssnat: --queues: '0'" "$RSSNAT" simulate --queues 0
t_usage_error "bad proto" "^rssnat: --proto: 'sctp' is not one of tcp, udp, icmp, mix" "$RSSNAT" simulate --proto sctp
t_usage_error "bad steering" "^rssnat: --steering: " "$RSSNAT" simulate --steering magic
t_usage_error "bad fields" "^rssnat: --fields: " "$RSSNAT" simulate --fields sdfn
t_usage_error "table size not a power of two" "^rssnat: --table-size: " "$RSSNAT" simulate --table-size 100
t_usage_error "unknown option" "^rssnat: --bogus: unknown option" "$RSSNAT" simulate --bogus
t_usage_error "stray argument" "^rssnat: extra: unexpected" "$RSSNAT" simulate extra

t_done
