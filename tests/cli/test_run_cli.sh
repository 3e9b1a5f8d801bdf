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
# Shared uplink mode (no --wan-addr): no address option needed, the
# interfaces are what is checked; a gateway alone is half a dedicated mode.
t_usage_error "shared uplink: interfaces checked, no address needed" \
	"^rssnat: run: LAN interface 'nolan0' does not exist" "$RSSNAT" run --lan nolan0 --wan nowan0
t_usage_error "--wan-gateway without --wan-addr refused" \
	"^rssnat: run: --wan-gateway needs --wan-addr" "$RSSNAT" run --lan nolan0 --wan nowan0 --wan-gateway 198.51.100.1
t_usage_error "bad WAN prefix" "^rssnat: --wan-addr: '198.51.100.2' is not ADDR/LEN" "$RSSNAT" run $OK --wan-addr 198.51.100.2
t_usage_error "prefix length out of range" "^rssnat: --lan-addr: .*LEN from 1 to 30" "$RSSNAT" run $OK --lan-addr 192.168.137.1/31
t_usage_error "bad gateway address" "^rssnat: --wan-gateway: 'x' is not an IPv4 address" "$RSSNAT" run $OK --wan-gateway x
t_usage_error "zero queues" "^rssnat: --queues: '0'" "$RSSNAT" run $OK --queues 0
t_usage_error "unknown backend" "^rssnat: --backend: 'dpdk' is not built in" "$RSSNAT" run $OK --backend dpdk
t_usage_error "bad port mapping" "^rssnat: --port-map: 'tcp:80' is not PROTO:PORT=ADDR:PORT" "$RSSNAT" run $OK --port-map tcp:80
t_usage_error "port mapping protocol" "^rssnat: --port-map: 'sctp' is neither tcp nor udp" "$RSSNAT" run $OK --port-map sctp:1=192.168.137.10:1
t_usage_error "bad filtering" "^rssnat: --filtering: 'open'" "$RSSNAT" run $OK --filtering open
t_usage_error "bad pin" "^rssnat: --pin: 'yes'" "$RSSNAT" run $OK --pin yes
t_usage_error "bad offload" "^rssnat: --offload: 'maybe' is neither enabled nor disabled" "$RSSNAT" run $OK --offload maybe
t_usage_error "MSS out of range" "^rssnat: --mss-clamp: '100'" "$RSSNAT" run $OK --mss-clamp 100
t_usage_error "ICMP error rate out of range" "^rssnat: --icmp-error-rate: '1000001'" "$RSSNAT" run $OK --icmp-error-rate 1000001
t_usage_error "ICMP error interval not a number" "^rssnat: --icmp-error-interval: '1s'" "$RSSNAT" run $OK --icmp-error-interval 1s
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

# The LAN services' and RSS options.
t_usage_error "dhcp on or off" "^rssnat: --dhcp: 'yes' is neither on nor off" "$RSSNAT" run $OK --dhcp yes
t_usage_error "dhcp pool order" "^rssnat: --dhcp-pool: '192.168.137.9-192.168.137.2' ends before it starts" \
	"$RSSNAT" run $OK --dhcp-pool 192.168.137.9-192.168.137.2
t_usage_error "dhcp pool outside the LAN" "^rssnat: run: --dhcp-pool must lie in the LAN subnet" \
	"$RSSNAT" run $OK --dhcp-pool 10.0.0.2-10.0.0.9
t_usage_error "dhcp reservation syntax" "^rssnat: --dhcp-reserve: '02:00=1.2.3.4' is not MAC=ADDR" \
	"$RSSNAT" run $OK --dhcp-reserve 02:00=1.2.3.4
t_usage_error "dhcp reservation of the gateway" "^rssnat: run: --dhcp-reserve addresses must be hosts" \
	"$RSSNAT" run $OK --dhcp-reserve 02:00:00:00:00:01=192.168.137.1
t_usage_error "lease time" "^rssnat: --dhcp-lease: '5' is not from 60" "$RSSNAT" run $OK --dhcp-lease 5
t_usage_error "new-lease rate" "^rssnat: --dhcp-new-rate: '1001' is not from 0 to 1000" \
	"$RSSNAT" run $OK --dhcp-new-rate 1001
t_usage_error "arp lock time" "^rssnat: --arp-locktime: 'soon' is not from 0 to 3600000 ms" \
	"$RSSNAT" run $OK --arp-locktime soon
t_usage_error "domain name" "^rssnat: --domain: 'bad..name' is not a domain name" "$RSSNAT" run $OK --domain bad..name
t_usage_error "dns upstream" "^rssnat: --dns-upstream: 'resolver' is not an IPv4 address" \
	"$RSSNAT" run $OK --dns-upstream resolver
t_usage_error "dns upstream port" "^rssnat: --dns-upstream: port in '203.0.113.53:0'" \
	"$RSSNAT" run $OK --dns-upstream 203.0.113.53:0
t_usage_error "rss state" "^rssnat: --rss: 'on' is neither enabled nor disabled" "$RSSNAT" run $OK --rss on
t_usage_error "rss table weights" "^rssnat: --rss-table: '1,,2' is not W,W" "$RSSNAT" run $OK --rss-table 1,,2
t_usage_error "rss table larger than the workers" "^rssnat: run: --rss-table gives 3 weights but --queues is 2" \
	"$RSSNAT" run $OK --queues 2 --rss-table 1,1,1
t_usage_error "rss table size" "^rssnat: --rss-table-size: '100' is not a power of two" "$RSSNAT" run $OK --rss-table-size 100
t_usage_error "rss key" "^rssnat: --rss-key: " "$RSSNAT" run $OK --rss-key 00
t_usage_error "timeout value" "^rssnat: --timeout: 'udp=0' is not NAME=SECONDS" "$RSSNAT" run $OK --timeout udp=0
t_usage_error "timeout name" "^rssnat: --timeout: 'tcp-idle': unknown timeout" "$RSSNAT" run $OK --timeout tcp-idle=60
t_usage_error "host mappings" "^rssnat: --host-mappings: '196609' is not a number from 0 to 196608" \
	"$RSSNAT" run $OK --host-mappings 196609
t_usage_error "host mappings not a number" "^rssnat: --host-mappings: 'lots' is not a number" \
	"$RSSNAT" run $OK --host-mappings lots

# check-config: every error with its line; the settings as a whole; ok.
cat >"$T_TMP/many.conf" <<'CONF'
lan nolan0
queues many
wan nowan0
dhcp maybe
frobnicate 1
CONF
out=$("$RSSNAT" check-config "$T_TMP/many.conf" 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | grep -c "many.conf:[0-9]*:")" -eq 3 ] &&
	printf '%s\n' "$out" | grep -q "many.conf:2: --queues" && printf '%s\n' "$out" | grep -q "many.conf:4: --dhcp" &&
	printf '%s\n' "$out" | grep -q "many.conf:5: frobnicate" &&
	t_pass "check-config reports every error with its line, exit 2" || t_fail "check-config lists every error" "rc=$rc" "$out"
printf 'lan nolan0\nwan nowan0\nwan-addr 198.51.100.2/24\nwan-gateway 203.0.113.1\n' >"$T_TMP/whole.conf"
t_usage_error "check-config checks the settings as a whole" "^rssnat: $T_TMP/whole.conf: --wan-gateway must be" \
	"$RSSNAT" check-config "$T_TMP/whole.conf"
out=$("$RSSNAT" check-config "$T_TMP/ok.conf" 2>&1); rc=$?
[ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "warning: LAN interface 'nolan0' does not exist" &&
	printf '%s\n' "$out" | tail -1 | grep -q "ok.conf: ok$" &&
	t_pass "check-config: a good file is ok; a missing interface is only a warning" || t_fail "check-config ok" "rc=$rc $out"
HERE_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$("$RSSNAT" check-config "$HERE_ROOT/examples/rssnat.conf" 2>&1); rc=$?
[ $rc -eq 0 ] && t_pass "check-config: examples/rssnat.conf is valid" || t_fail "examples/rssnat.conf is valid" "$out"
t_usage_error "check-config needs a file" "^rssnat: check-config: takes one FILE" "$RSSNAT" check-config
out=$("$RSSNAT" show stats --socket "$T_TMP/none.sock" 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$out" = "rssnat: show stats: no rssnat daemon answers on the control socket" ] &&
	t_pass "show stats without a daemon: one line, exit 1" || t_fail "show stats without a daemon" "rc=$rc $out"
t_usage_error "a daemon command's argument with a space" "^rssnat: a b: arguments are single words" \
	"$RSSNAT" show sessions "a b" --socket "$T_TMP/none.sock"
t_done
