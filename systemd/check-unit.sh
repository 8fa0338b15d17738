#!/bin/sh
# check-unit.sh UNIT BINARY [DROPIN]: the checks `make check-systemd` and
# `make check-install` run on coatnet-agent.service.
#
#   1. `systemd-analyze verify` prints nothing. It exits 0 on unknown keys
#      and bad values, so any output at all fails the check.
#   2. `systemd-analyze security --offline=yes` scores at most MAX_EXPOSURE
#      (default 2.0); the score and the options still exposed are printed.
#
# verify insists that ExecStart= names an executable, so the unit is checked
# as a copy, in a temporary directory, whose ExecStart= binary is BINARY (the
# freshly built agent) instead of the path it will be installed at. The copy
# keeps the unit's name (security reports by name) and gets DROPIN, when
# given, in its .d directory, where systemd-analyze loads drop-ins from.
set -eu

unit=$1
binary=$2
dropin=${3:-}
max=${MAX_EXPOSURE:-2.0}
name=$(basename "$unit")

[ -x "$binary" ] || { echo "check-unit: $binary is not an executable (build it first)" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "check-unit: systemd-analyze is missing (apt-get install systemd)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
binary=$(readlink -f "$binary")
# Replace the program of ExecStart=, keep its arguments.
sed "s|^ExecStart=[^ ]*|ExecStart=$binary|" "$unit" >"$tmp/$name"
grep -q "^ExecStart=$binary " "$tmp/$name" || { echo "check-unit: $unit has no ExecStart= line to check" >&2; exit 1; }
label=$name
if [ -n "$dropin" ]; then
	mkdir "$tmp/$name.d"
	cp "$dropin" "$tmp/$name.d/"
	label="$name + $(basename "$dropin")"
fi

out=$(cd "$tmp" && systemd-analyze verify "./$name" 2>&1) || true
if [ -n "$out" ]; then
	echo "check-unit: systemd-analyze verify $label is not silent:" >&2
	echo "$out" >&2
	exit 1
fi

report=$(cd "$tmp" && systemd-analyze security --offline=yes "./$name" 2>&1) || {
	echo "check-unit: systemd-analyze security $label failed:" >&2
	echo "$report" >&2
	exit 1
}
# "→ Overall exposure level for coatnet-agent.service: 1.4 OK 🙂"
score=$(echo "$report" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\) .*/\1/p')
if [ -z "$score" ]; then
	echo "check-unit: no exposure level in systemd-analyze security's output:" >&2
	echo "$report" >&2
	exit 1
fi
echo "$label: verify silent, exposure $score (at most $max); still exposed:"
echo "$report" | grep '✗' | sed 's/  */ /g; s/^/    /'
awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }' || {
	echo "check-unit: $label scores $score, above $max" >&2
	exit 1
}
