#!/bin/sh
# deps.sh - install the Debian 12 packages rssnat builds and tests with.
# Idempotent and quiet when everything is there already; needs root otherwise.
set -eu
# build and checks
PKGS="gcc make libc6-dev clang clang-format libclang-rt-14-dev llvm python3
      libbpf-dev libmnl-dev libelf-dev zlib1g-dev
      iproute2 procps ethtool iputils-ping curl iperf3 traceroute nftables
      isc-dhcp-client dhcpcd5 udhcpc busybox dnsmasq-base bind9-dnsutils"
# the last two lines: the namespace tests' topology and their real clients
# (DHCP clients, an upstream DNS server, dig)
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The tests run the DHCP clients inside their own namespaces only: no
# package may start a daemon on this host's interfaces (dhcpcd5 ships an
# enabled dhcpcd.service). policy-rc.d 101 keeps invoke-rc.d from starting
# anything during the install; the unit is disabled afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null || status=$?
[ -n "$own_policy" ] && rm -f "$policy"
if command -v systemctl >/dev/null 2>&1 && [ -e /lib/systemd/system/dhcpcd.service ]; then
	systemctl disable --now dhcpcd.service >/dev/null 2>&1 || true
fi
exit "${status:-0}"
