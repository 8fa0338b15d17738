#!/bin/sh
# check-handover.sh ROOT PREFIX: that ROOT/PREFIX/bin/coatnet (pure Go, as
# installed or unpacked from the package) loads no shared library and hands
# `coatnet run` with a camera over to its GoCV build,
# ROOT/PREFIX/libexec/coatnet/coatnet-gocv, in the same process: the PID's
# /proc/PID/exe becomes the helper. The camera is a V4L2 device that is not
# there and the broker a closed port, both retried by the agent, so it runs
# until it is killed. Native architecture only.
set -eu

root=$1
prefix=$2
bin=$root$prefix/bin/coatnet
helper=$(readlink -f "$root$prefix/libexec/coatnet/coatnet-gocv")

fail() {
	echo "check-handover: $*" >&2
	exit 1
}

[ -x "$helper" ] || fail "$helper is missing"
if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
	fail "$bin loads shared libraries: $(readelf -d "$bin" | grep NEEDED)"
fi
readelf -d "$helper" | grep -q 'NEEDED.*libopencv_videoio' || fail "$helper does not link OpenCV's videoio: no camera"

tmp=$(mktemp -d)
pid=""
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
printf 'device: handover\nstate_dir: %s\ncamera: {source: /dev/video-coatnet-check}\nmqtt: {broker: "mqtt://127.0.0.1:1"}\n' \
	"$tmp" >"$tmp/agent.yaml"
"$bin" run --config "$tmp/agent.yaml" 2>"$tmp/log" &
pid=$!
i=0
while [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$helper" ]; do
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; pid=""; fail "coatnet run ended without handing over to $helper"; }
	i=$((i + 1))
	[ "$i" -le 300 ] || { cat "$tmp/log" >&2; fail "coatnet run (PID $pid) is still $(readlink "/proc/$pid/exe") after 30 s"; }
	sleep 0.1
done
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
echo "$bin: no shared library; run with a camera became $prefix/libexec/coatnet/coatnet-gocv in the same process"
