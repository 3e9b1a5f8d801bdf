#!/usr/bin/env bash
# test_docs.sh - the documentation against the binary: docs/rssnat.8 names
# every command of `rssnat help` in its SYNOPSIS (with the usage line of
# `rssnat help COMMAND`, word for word) and in COMMANDS (with every option
# and SETTING= of the command's help), and no command that does not exist;
# its CONFIGURATION FILE section lists every option of `rssnat run`; every
# setting of examples/rssnat.conf, commented out or not, is a run option
# that `rssnat check-config` accepts; the page renders without groff
# warnings (skipped, said out loud, when groff is not installed:
# tools/deps.sh does not install it); README.md keeps its two set-up
# commands.
# Usage: test_docs.sh PATH/TO/rssnat
# DOCS_MAN, DOCS_README and DOCS_CONF name other files to check (to see the
# test fail on a broken copy).
set -u
RSSNAT=${1:?usage: $0 PATH/TO/rssnat}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../lib/assert.sh"
MAN=${DOCS_MAN:-$ROOT/docs/rssnat.8}
README=${DOCS_README:-$ROOT/README.md}
CONF=${DOCS_CONF:-$ROOT/examples/rssnat.conf}

for f in "$MAN" "$README" "$CONF"; do
	[ -r "$f" ] || { t_fail "$f is readable"; t_done; exit; }
done

# ---- the binary's view: command paths, usage lines, options ----
# The paths are the lowercase words before each summary in `rssnat help`
# (summaries start with a capital).
"$RSSNAT" help >"$T_TMP/help" 2>&1 || { t_fail "rssnat help" "$(cat "$T_TMP/help")"; t_done; exit; }
awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
	on { p = ""; for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) p = p (p == "" ? "" : " ") $i; print p }' \
	"$T_TMP/help" >"$T_TMP/paths"
n_cmds=$(grep -c . "$T_TMP/paths")
[ "$n_cmds" -ge 10 ] && t_pass "rssnat help lists $n_cmds commands" ||
	{ t_fail "rssnat help lists the commands" "$(cat "$T_TMP/help")"; t_done; exit; }

# shellcheck disable=SC2086 # unquoted: the path's words are arguments
help_of() { "$RSSNAT" help $1 2>&1; }
usage_of() { help_of "$1" | sed -n '1s/^usage: //p' | tr -s ' '; } # "rssnat PATH ARGS"
options_of() { help_of "$1" | sed -n 's/^  \(--[a-z0-9][a-z0-9-]*\).*/\1/p' | sort -u; }
settings_of() { help_of "$1" | sed -n 's/^  \([a-z][a-z-]*=\).*/\1/p' | sort -u; }

# ---- the man page as text: no comments, no font escapes, \- as - ----
sed -e '/^\.\\"/d' -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' -e 's/\\f\[[^]]*\]//g' \
	-e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\e/\\/g' -e 's/\\(em/--/g' "$MAN" >"$T_TMP/man"
# section NAME: the lines of that .SH section
section() {
	awk -v want="$1" '/^\.SH / { name = substr($0, 5); gsub(/"/, "", name); on = name == want; next } on' "$T_TMP/man"
}
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "LAN SERVICES" "LIVE RECONFIGURATION" "CONFIGURATION FILE" \
	FILES SIGNALS "EXIT STATUS" ENVIRONMENT EXAMPLES "SEE ALSO"; do
	section "$s" | grep -q . || echo "$s" >>"$T_TMP/no_section"
done
[ ! -s "$T_TMP/no_section" ] && t_pass "man page has every section" ||
	t_fail "man page sections missing" "$(cat "$T_TMP/no_section")"

# SYNOPSIS: one entry per command, ".B rssnat PATH" then its arguments up to .br
section SYNOPSIS | awk '
	function flush() { if (e != "") print e; e = "" }
	/^\.B rssnat/ { flush(); e = substr($0, 4); gsub(/"/, "", e); next }
	/^\.br/ { flush(); next }
	/^\./ { next }
	e != "" { e = e " " $0 }
	END { flush() }' | tr -s ' ' | sed 's/ *$//' >"$T_TMP/synopsis"
# COMMANDS: the tag line of each .TP, without its macro
section COMMANDS | awk 'tp { t = $0; sub(/^\.[BI]R? /, "", t); gsub(/"/, "", t); print t; tp = 0; next }
	/^\.TP/ { tp = 1 }' >"$T_TMP/tags"
section COMMANDS >"$T_TMP/commands"

while read -r path; do
	want=$(usage_of "$path")
	want=${want% }
	entry=$(awk -v p="rssnat $path" 'index($0, p) == 1 && (length($0) == length(p) || substr($0, length(p) + 1, 1) == " ")' \
		"$T_TMP/synopsis")
	if [ -z "$entry" ]; then
		t_fail "SYNOPSIS: rssnat $path" "not in docs/rssnat.8's SYNOPSIS"
	elif [ "$entry" = "$want" ]; then
		t_pass "SYNOPSIS: rssnat $path, as its usage line"
	else
		t_fail "SYNOPSIS: rssnat $path" "man:  $entry" "help: $want"
	fi
	grep -Eq "^(rssnat )?$path( |$)" "$T_TMP/tags" && t_pass "COMMANDS: $path" ||
		t_fail "COMMANDS: $path" "no .TP entry for it in docs/rssnat.8's COMMANDS"
	missing=""
	for o in $(options_of "$path"); do
		grep -Eq -- "$o([^a-z0-9-]|$)" "$T_TMP/commands" || missing="$missing $o"
	done
	for s in $(settings_of "$path"); do
		grep -Fq -- "$s" "$T_TMP/commands" || missing="$missing $s"
	done
	n=$(($(options_of "$path" | grep -c .) + $(settings_of "$path" | grep -c .)))
	if [ "$n" -gt 0 ]; then
		[ -z "$missing" ] && t_pass "COMMANDS: $path, its $n options" ||
			t_fail "COMMANDS: $path's options" "missing from docs/rssnat.8:$missing"
	fi
done <"$T_TMP/paths"

# No command in the page that the binary does not have.
while read -r entry; do
	found=0
	while read -r path; do
		case "$entry " in "rssnat $path "*) found=1 ;; esac
	done <"$T_TMP/paths"
	[ $found -eq 1 ] || echo "$entry" >>"$T_TMP/stale"
done <"$T_TMP/synopsis"
[ ! -s "$T_TMP/stale" ] && t_pass "SYNOPSIS names no command the binary lacks" ||
	t_fail "SYNOPSIS names commands the binary lacks" "$(cat "$T_TMP/stale")"

# ---- the configuration file: run's options, one a line ----
options_of run | sed 's/^--//' | grep -vx config >"$T_TMP/run_settings"
section "CONFIGURATION FILE" >"$T_TMP/conf_section"
missing=""
while read -r s; do
	grep -Eq "(^|[^a-z0-9-])$s([^a-z0-9-]|$)" "$T_TMP/conf_section" || missing="$missing $s"
done <"$T_TMP/run_settings"
[ -z "$missing" ] && t_pass "CONFIGURATION FILE lists all $(grep -c . "$T_TMP/run_settings") settings (run's options)" ||
	t_fail "CONFIGURATION FILE lacks settings" "missing:$missing"

# examples/rssnat.conf: its settings ("name value", or "#name value" for one
# left at its default) are run options, and check-config takes them all.
sed -n 's/^#\{0,1\}\([a-z][a-z0-9-]*\) .*/\1/p' "$CONF" | sort -u >"$T_TMP/conf_settings"
unknown=$(grep -vxF -f "$T_TMP/run_settings" "$T_TMP/conf_settings" | tr '\n' ' ')
n=$(grep -c . "$T_TMP/conf_settings")
[ "$n" -gt 0 ] && [ -z "$unknown" ] && t_pass "examples/rssnat.conf: its $n settings are run options" ||
	t_fail "examples/rssnat.conf settings are run options" "not run options: ${unknown:-none found}"
t_grep "check-config examples/rssnat.conf: ok" ": ok$" "$RSSNAT" check-config "$CONF"
sed 's/^#\([a-z][a-z0-9-]* \)/\1/' "$CONF" >"$T_TMP/all.conf"
t_grep "check-config with every commented-out setting of the example turned on" ": ok$" \
	"$RSSNAT" check-config "$T_TMP/all.conf"

# ---- the page renders ----
th=$(sed -n 's/^\.TH .*"\(rssnat [0-9][^"]*\)".*/\1/p' "$MAN")
t_out "man page .TH names this version ($th)" "$th" "$RSSNAT" version
if command -v groff >/dev/null 2>&1; then
	out=$(groff -man -Tutf8 -P-cbou -ww "$MAN" 2>"$T_TMP/groff.err")
	if [ ! -s "$T_TMP/groff.err" ] && printf '%s\n' "$out" | grep -q "SYNOPSIS"; then
		t_pass "groff -man -ww renders it without a warning"
	else
		t_fail "groff -man -ww renders it without a warning" "$(head -5 "$T_TMP/groff.err")"
	fi
else
	echo "skip groff -man -ww: groff is not installed (tools/deps.sh does not install it)"
fi
if command -v man >/dev/null 2>&1; then
	out=$(MANWIDTH=80 man -l "$MAN" 2>"$T_TMP/man.err")
	printf '%s\n' "$out" | grep -q "^SYNOPSIS" && printf '%s\n' "$out" | grep -q "rssnat run" &&
		t_pass "man -l shows it" || t_fail "man -l shows it" "$(head -3 "$T_TMP/man.err")"
else
	echo "skip man -l: man is not installed"
fi

# ---- README.md keeps its two set-up commands ----
for cmd in "./tools/deps.sh && make demo" "./tools/deps.sh && make check"; do
	grep -qxF "    $cmd" "$README" && t_pass "README.md: $cmd" ||
		t_fail "README.md: $cmd" "the line '    $cmd' is gone"
done

# ---- the repository stands alone: a user's clone has no sibling folders ----
# Nothing the build, the tests or the tools run may name a path above the
# repository's root (the published RSS vectors live in tests/data/).
if command -v git >/dev/null 2>&1 && git -C "$ROOT" rev-parse >/dev/null 2>&1; then
	up='\.\./'"shared"
	outside=$(git -C "$ROOT" grep -n -e "$up" -- Makefile tests tools bench fuzz src .ci 2>/dev/null | head -3)
	[ -z "$outside" ] && t_pass "no file reads outside the repository" ||
		t_fail "no file reads outside the repository" "$outside"
else
	echo "skip the outside-path check: not a git checkout"
fi
[ -r "$ROOT/tests/data/rss-ms.txt" ] && t_pass "the RSS vectors are in tests/data" ||
	t_fail "the RSS vectors are in tests/data" "tests/data/rss-ms.txt is missing"

t_done
