#!/usr/bin/env bash
# demo.sh RSSNAT - KB927168 step by step: why RSS and a NAT broke each other,
# and how rssnat's port choice makes them work together, down to a closed-loop
# simulation of the whole NAT.
set -eu
R=${1:-build/rssnat}
LAN=192.168.137.10:50000 SERVER=203.0.113.80:443 WANIP=198.51.100.2
Q=4
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "rssnat ${*}"; "$R" "$@"; }
# run_last N ARGS...: show the command, run it, keep its last N lines
run_last() { local n=$1; shift; printf '$ %s | tail -%s\n' "rssnat ${*}" "$n"; "$R" "$@" | tail -"$n"; }

say "1. The RSS engine computes what a NIC computes (Microsoft's first vector):"
run rss hash 66.9.149.187:2794 161.142.100.80:1766

say "2. A LAN host opens $LAN -> $SERVER; with $Q queues RSS sends it to:"
out=$("$R" rss hash --queues $Q $LAN $SERVER); echo "$out"
bucket=${out#*bucket=}; bucket=${bucket%% *}; queue=${out##*queue=}

say "3. A naive NAT keeps port 50000 on $WANIP. The reply $SERVER -> $WANIP:50000 hashes to:"
rep=$("$R" rss hash --queues $Q $SERVER $WANIP:50000); echo "$rep"
rq=${rep##*queue=}
if [ "$rq" != "$queue" ]; then
	echo "-> queue $rq, but the session lives on queue $queue: the reply finds no state."
	echo "   That is KB927168: with RSS and ICS both on, TCP stalls and ping fails."
else
	echo "-> by luck the same queue; most flows are not so lucky (1 in $Q is)."
fi

say "4. rssnat instead picks the external port so that the reply lands in bucket $bucket:"
sol=$("$R" rss solve --queues $Q --bucket "$bucket" --range 1024-65535 --limit 5 $SERVER $WANIP)
echo "$sol"
port=$(echo "$sol" | sed -n 2p | awk '{print $1}')
echo "   Taking port $port, the reply $SERVER -> $WANIP:$port hashes to:"
"$R" rss hash --queues $Q $SERVER $WANIP:$port
echo "-> the same bucket as the outbound packet: same queue now, and after any"
echo "   change of the indirection table the two directions still move together."

say "5. The whole NAT, closed loop: 20000 flows over $Q cores, first as KB927168's naive per-core NAT:"
run_last 2 simulate --queues $Q --flows 20000 --steering none
say "   ...then with rssnat's steering (ports chosen by the solver, the rest handed off):"
run_last 1 simulate --queues $Q --flows 20000 --steering rss
say "   ...and with the endpoint field sets, where even ICMP is steered and nothing is handed off:"
run_last 1 simulate --queues $Q --flows 20000 --fields endpoint

say "6. The indirection table ($Q queues):"
run rss table --queues $Q --table-size 16

say "7. How fast (ns per hash, reference vs fast path, measured now):"
run bench rss --seconds 1
