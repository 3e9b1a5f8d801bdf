#!/usr/bin/env bash
# CLI tests of `rssnat run` and `rssnat show stats` that need no interfaces:
# every bad option or configuration line is one error line naming it (with
# FILE:LINE for --config), exit 2, and nothing starts.
# Usage: test_run_cli.sh PATH/TO/rssnat
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/assert.sh"

OK="--lan nolan0 --wan nowan0 --wan-addr 198.51.100.2/24 --wan-gateway 198.51.100.1"
t_usage_error "missing interfaces named" "^rssnat: run: LAN interface 'nolan0' does not exist" "$RSSNAT" run $OK
t_usage_error "no interfaces at all" "^rssnat: run: both --lan and --wan are needed" "$RSSNAT" run
t_usage_error "bad WAN prefix" "^rssnat: --wan-addr: '198.51.100.2' is not ADDR/LEN" "$RSSNAT" run $OK --wan-addr 198.51.100.2
t_usage_error "prefix length out of range" "^rssnat: --lan-addr: .*LEN from 1 to 30" "$RSSNAT" run $OK --lan-addr 192.168.137.1/31
t_usage_error "bad gateway address" "^rssnat: --wan-gateway: 'x' is not an IPv4 address" "$RSSNAT" run $OK --wan-gateway x
t_usage_error "zero queues" "^rssnat: --queues: '0'" "$RSSNAT" run $OK --queues 0
t_usage_error "unknown backend" "^rssnat: --backend: 'dpdk' is not built in" "$RSSNAT" run $OK --backend dpdk
t_usage_error "bad port mapping" "^rssnat: --port-map: 'tcp:80' is not PROTO:PORT=ADDR:PORT" "$RSSNAT" run $OK --port-map tcp:80
t_usage_error "port mapping protocol" "^rssnat: --port-map: 'sctp' is neither tcp nor udp" "$RSSNAT" run $OK --port-map sctp:1=192.168.137.10:1
t_usage_error "bad filtering" "^rssnat: --filtering: 'open'" "$RSSNAT" run $OK --filtering open
t_usage_error "MSS out of range" "^rssnat: --mss-clamp: '100'" "$RSSNAT" run $OK --mss-clamp 100
t_usage_error "unknown option" "^rssnat: --bogus: unknown option" "$RSSNAT" run $OK --bogus
t_usage_error "stray argument" "^rssnat: extra: unexpected argument" "$RSSNAT" run $OK extra

cat >"$T_TMP/bad.conf" <<'CONF'
# a gateway
lan   nolan0
wan nowan0
queues many
CONF
t_usage_error "config: bad value names file and line" "^rssnat: $T_TMP/bad.conf:4: --queues: 'many'" "$RSSNAT" run --config "$T_TMP/bad.conf"
printf 'lan nolan0\nfrobnicate 1\n' >"$T_TMP/unknown.conf"
t_usage_error "config: unknown setting names file and line" "^rssnat: $T_TMP/unknown.conf:2: frobnicate: unknown setting" "$RSSNAT" run --config "$T_TMP/unknown.conf"
printf 'lan\n' >"$T_TMP/novalue.conf"
t_usage_error "config: setting without value" "^rssnat: $T_TMP/novalue.conf:1: lan: needs a value" "$RSSNAT" run --config "$T_TMP/novalue.conf"
t_usage_error "config: missing file" "^rssnat: $T_TMP/none.conf: cannot read" "$RSSNAT" run --config "$T_TMP/none.conf"
printf 'lan nolan0\nwan nowan0\nwan-addr 198.51.100.2/24\nwan-gateway 198.51.100.1\n' >"$T_TMP/ok.conf"
t_usage_error "config: a whole gateway, checked before start" "^rssnat: run: LAN interface 'nolan0' does not exist" "$RSSNAT" run --config "$T_TMP/ok.conf"
t_usage_error "config: the command line after it overrides it" "^rssnat: run: LAN interface 'other0' does not exist" "$RSSNAT" run --config "$T_TMP/ok.conf" --lan other0

t_grep "help run documents --config" "--config FILE" "$RSSNAT" help run
out=$("$RSSNAT" show stats --socket "$T_TMP/none.sock" 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$out" = "rssnat: show stats: no rssnat daemon answers on the control socket" ] &&
	t_pass "show stats without a daemon: one line, exit 1" || t_fail "show stats without a daemon" "rc=$rc $out"
t_usage_error "a daemon command's argument with a space" "^rssnat: a b: arguments are single words" \
	"$RSSNAT" show sessions "a b" --socket "$T_TMP/none.sock"
t_done
