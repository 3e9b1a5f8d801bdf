#!/usr/bin/env bash
# test_install.sh - `make install` and `make uninstall` into a temporary
# DESTDIR: the binary, the man page, the systemd unit (ExecStart pointed at
# the installed binary) and the example configuration, with their modes; a
# user's configuration is never overwritten, and uninstall keeps it. The
# binary is not rebuilt: make is told it is up to date (-o).
# Usage: test_install.sh PATH/TO/rssnat (BUILD is its directory)
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../lib/assert.sh"
BUILD=$(cd "$(dirname "$RSSNAT")" && pwd)
NAME=$(basename "$RSSNAT")

# mk TARGET DESTDIR PREFIX [VAR=VALUE...]: make in the source tree, output
# in $T_TMP/make.log.
mk() {
	local target=$1 dest=$2 prefix=$3
	shift 3
	make -C "$ROOT" --no-print-directory -o "$BUILD/$NAME" BUILD="$BUILD" DESTDIR="$dest" \
		PREFIX="$prefix" "$@" "$target" >"$T_TMP/make.log" 2>&1
}
mode() { stat -c %a "$1" 2>/dev/null; }
check_file() { # NAME PATH MODE
	local m
	m=$(mode "$2")
	[ "$m" = "$3" ] && t_pass "$1: ${2#"$D"} mode $3" || t_fail "$1" "${2#"$D"}: mode '${m:-missing}', want $3"
}

if [ ! -x "$RSSNAT" ]; then
	t_fail "$RSSNAT is not built"
	t_done
	exit
fi
if [ "$NAME" != rssnat ]; then
	# `make install` installs $(BUILD)/rssnat: the binary must have that name.
	echo "skip $(basename "$0"): the binary is not named rssnat"
	t_done
	exit
fi

D=$T_TMP/root
mk install "$D" /usr && t_pass "make install DESTDIR PREFIX=/usr" || t_fail "make install" "$(cat "$T_TMP/make.log")"
check_file "binary" "$D/usr/sbin/rssnat" 755
check_file "man page" "$D/usr/share/man/man8/rssnat.8" 644
check_file "systemd unit" "$D/usr/lib/systemd/system/rssnat.service" 644
check_file "configuration" "$D/etc/rssnat/rssnat.conf" 644
cmp -s "$D/usr/sbin/rssnat" "$RSSNAT" && t_pass "installed binary is the built one" || t_fail "installed binary is the built one"
cmp -s "$D/etc/rssnat/rssnat.conf" "$ROOT/examples/rssnat.conf" && t_pass "configuration is the example" ||
	t_fail "configuration is the example"
UNIT=$D/usr/lib/systemd/system/rssnat.service
grep -qx 'ExecStart=/usr/sbin/rssnat run --config /etc/rssnat/rssnat.conf' "$UNIT" &&
	t_pass "unit runs /usr/sbin/rssnat with /etc/rssnat/rssnat.conf" || t_fail "unit ExecStart" "$(grep ExecStart "$UNIT")"
for key in 'Type=simple' 'Restart=on-failure' 'ExecReload=/bin/kill -HUP $MAINPID' 'RuntimeDirectory=rssnat' \
	'RuntimeDirectoryMode=0700' 'StateDirectory=rssnat' 'After=network-pre.target'; do
	grep -qxF "$key" "$UNIT" && t_pass "unit: $key" || t_fail "unit: $key"
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
missing=""
for cap in CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_SYS_ADMIN; do
	case " $caps " in *" $cap "*) ;; *) missing="$missing $cap" ;; esac
done
[ -z "$missing" ] && t_pass "unit keeps the capabilities the gateway needs" || t_fail "unit capabilities" "missing:$missing"
if command -v systemd-analyze >/dev/null; then
	# A copy whose ExecStart exists on this host; the man page may not be
	# installed here, so Documentation= is left out of the check.
	sed -e 's|^ExecStart=/usr/sbin/rssnat|ExecStart=/bin/true|' -e '/^Documentation=/d' "$UNIT" >"$T_TMP/rssnat.service"
	out=$(systemd-analyze verify "$T_TMP/rssnat.service" 2>&1 | grep -v 'Failed to parse system call, ignoring' |
		grep -v -e 'var-tmp.mount\|var.mount\|PR_SET_MM\|\$container')
	[ -z "$out" ] && t_pass "systemd-analyze verify: no complaint" || t_fail "systemd-analyze verify" "$out"
fi

# A user's configuration survives a new install and an uninstall.
echo "queues 2" >>"$D/etc/rssnat/rssnat.conf"
mk install "$D" /usr && grep -qx "queues 2" "$D/etc/rssnat/rssnat.conf" && grep -q "keeping" "$T_TMP/make.log" &&
	t_pass "install again: the changed configuration is kept" || t_fail "install again keeps the configuration" "$(cat "$T_TMP/make.log")"
mk uninstall "$D" /usr || t_fail "make uninstall" "$(cat "$T_TMP/make.log")"
left=$(cd "$D" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./etc/rssnat/rssnat.conf " ] && t_pass "uninstall removes all but the changed configuration" ||
	t_fail "uninstall" "left: $left"
rm "$D/etc/rssnat/rssnat.conf"

# An unchanged example goes with uninstall; another PREFIX and SYSCONFDIR.
D=$T_TMP/local
mk install "$D" /usr/local SYSCONFDIR=/usr/local/etc || t_fail "make install PREFIX=/usr/local" "$(cat "$T_TMP/make.log")"
UNIT=$D/usr/local/lib/systemd/system/rssnat.service
grep -qx 'ExecStart=/usr/local/sbin/rssnat run --config /usr/local/etc/rssnat/rssnat.conf' "$UNIT" &&
	[ -f "$D/usr/local/etc/rssnat/rssnat.conf" ] && [ -x "$D/usr/local/sbin/rssnat" ] &&
	t_pass "PREFIX=/usr/local SYSCONFDIR=/usr/local/etc: unit, binary, configuration follow" ||
	t_fail "PREFIX=/usr/local" "$(cd "$D" && find . -type f)" "$(grep ExecStart "$UNIT" 2>&1)"
mk uninstall "$D" /usr/local SYSCONFDIR=/usr/local/etc || t_fail "make uninstall PREFIX=/usr/local" "$(cat "$T_TMP/make.log")"
left=$(cd "$D" && find . -type f -o -type d -name rssnat | tr '\n' ' ')
[ -z "$left" ] && t_pass "uninstall removes an unchanged example configuration and its directory" ||
	t_fail "uninstall, unchanged configuration" "left: $left"
t_done
