#!/bin/sh
# deps.sh - install the Debian 12 packages rssnat builds and tests with.
# Idempotent and quiet when everything is there already; needs root otherwise.
set -eu
# build and checks
PKGS="gcc make libc6-dev clang clang-format libclang-rt-14-dev llvm python3
      libbpf-dev libelf-dev zlib1g-dev
      iproute2 procps ethtool iputils-ping curl iperf3 traceroute nftables"
# the last line: the namespace tests' topology and their real clients
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
