#!/usr/bin/env bash
# mapcost.sh - what the fast path's flow map costs by kind (shared hash,
# per-CPU hash, and their LRU variants), and whether a flow's entries being
# written from one CPU (RSS locality) or two shows: bench/mapcost.c says
# what each figure is. Builds src/io/bpf/offload.bpf.c (the fast path, src/offload/) once per kind
# (OFFLOAD_FLOWS_TYPE) and runs the measurements in a network namespace of
# its own (BPF_PROG_TEST_RUN: no frame leaves it). Needs root and 2 CPUs.
#
# Environment: RSSNAT_NETNS (prefix of the namespace, default mc),
# MAPCOST_ENTRIES (20000 directions in the map), MAPCOST_ROUNDS (5).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NS=${RSSNAT_NETNS:-mc}-mapcost
TMP=$(mktemp -d /tmp/mapcost.XXXXXX)
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
die() { echo "mapcost: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (BPF_PROG_TEST_RUN of a tc program, a namespace)"
ARCH_INC=/usr/include/$(cc -dumpmachine)
for kind in hash percpu_hash lru_hash lru_percpu_hash; do
	type=BPF_MAP_TYPE_$(echo "$kind" | tr a-z A-Z)
	clang -O2 -target bpf -g -I"$ARCH_INC" -DOFFLOAD_FLOWS_TYPE="$type" \
		-c "$ROOT/src/io/bpf/offload.bpf.c" -o "$TMP/offload-$kind.bpf.o" ||
		die "cannot build the $kind variant"
done
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$ROOT/bench/mapcost.c" -o "$TMP/bench-mapcost" \
	-lbpf -lelf -lz -pthread || die "cannot build bench-mapcost"
ip netns del "$NS" 2>/dev/null
ip netns add "$NS" || die "cannot create the namespace $NS"
ip -n "$NS" link set lo up
echo "mapcost: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, kernel $(uname -r), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 600 ip netns exec "$NS" "$TMP/bench-mapcost" "$TMP" --entries "${MAPCOST_ENTRIES:-20000}" \
	--rounds "${MAPCOST_ROUNDS:-5}"
