#!/bin/sh
# check-deb.sh DEB ARCH: `make check-deb`, for one package. Without
# installing it (no chroot, no root): dpkg-deb --info and --contents must
# read it, `dpkg -x` unpacks it into a temporary directory whose file list
# must be exactly what the package is meant to hold, and then
#   - it holds a man page for every command and the bash, zsh and fish
#     completions, which complete --arch names;
#   - the control file names the architecture, the OpenCV runtime packages
#     the agent links (libopencv-core406, -videoio406, ... on Debian 12;
#     libopencv-core410, ... on 13: the suffix is the binary's OpenCV soname
#     version) and systemd;
#   - /usr/bin/coatnet (pure Go, no shared library) and the agent's GoCV
#     build /usr/libexec/coatnet/coatnet-gocv (off PATH) are for ARCH, and
#     natively run, `coatnet run` with a camera handing over to the GoCV
#     build (packaging/check-handover.sh);
#   - Depends has no highgui (and so no Qt);
#   - the packaged unit passes systemd/check-unit.sh with the packaged binary;
#   - /etc/coatnet/agent.yaml is a conffile, the maintainer scripts parse;
#   - lintian reports neither an error nor a warning (the one override,
#     packaging/deb/lintian-overrides, says why).
# SYSTEM_UNITDIR: where the unit must be (the Makefile's: /lib/systemd/system
# on Debian 12, /usr/lib/systemd/system on 13).
set -eu

deb=$1
arch=$2
unit=${SYSTEM_UNITDIR:-/lib/systemd/system}/coatnet-agent.service
unit=${unit#/}

fail() {
	echo "check-deb: $(basename "$deb"): $*" >&2
	exit 1
}

[ -f "$deb" ] || fail "missing"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb --info "$deb" >/dev/null || fail "dpkg-deb --info cannot read it"
dpkg-deb --contents "$deb" >/dev/null || fail "dpkg-deb --contents cannot read it"
dpkg -x "$deb" "$root"
dpkg-deb --control "$deb" "$root/DEBIAN"

want=$(
	{
		echo "usr/bin/coatnet"
		echo "usr/libexec/coatnet/coatnet-gocv"
		echo "$unit"
		echo "usr/lib/sysusers.d/coatnet.conf"
		echo "etc/coatnet/agent.yaml"
		for f in models/*.coatnet models/fashion-mnist-labels.txt; do echo "usr/share/coatnet/$(basename "$f")"; done
		echo "usr/share/coatnet/agent.yaml.example"
		echo "usr/share/coatnet/jetson.conf"
		for f in README.Debian copyright changelog.gz; do echo "usr/share/doc/coatnet-edge/$f"; done
		for c in "" -bench -classify -completion -completion-bash -completion-fish -completion-powershell \
			-completion-zsh -convert -eval -info -quantize -run -version -watch; do
			echo "usr/share/man/man1/coatnet$c.1.gz"
		done
		echo "usr/share/bash-completion/completions/coatnet"
		echo "usr/share/zsh/vendor-completions/_coatnet"
		echo "usr/share/fish/vendor_completions.d/coatnet.fish"
		echo "usr/share/lintian/overrides/coatnet-edge"
	} | sort
)
got=$(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort)
[ "$got" = "$want" ] || fail "holds:
$got
expected:
$want"

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = coatnet-edge ] || fail "Package is $(field Package)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is $(field Architecture), not $arch"
depends=$(field Depends)
so=$(readelf -d "$root/usr/libexec/coatnet/coatnet-gocv" | sed -n 's/.*(NEEDED).*\[libopencv_core\.so\.\([0-9][0-9]*\)\]$/\1/p')
[ -n "$so" ] || fail "usr/libexec/coatnet/coatnet-gocv does not link libopencv_core.so.4NN"
for p in libopencv-core$so libopencv-imgproc$so libopencv-videoio$so libopencv-imgcodecs$so libc6 systemd; do
	echo "$depends" | sed 's/[,|]/\n/g' | grep -q "^ *$p\( \|$\)" || fail "Depends lacks $p: $depends"
done
if echo "$depends" | grep -q 'highgui\|qt5'; then
	fail "Depends pulls OpenCV's highgui (Qt), which the agent never calls: $depends"
fi
if echo "$depends" | grep -q ':\|-cross'; then
	fail "Depends names build-machine packages: $depends"
fi
[ "$(cat "$root/DEBIAN/conffiles")" = /etc/coatnet/agent.yaml ] || fail "conffiles: $(cat "$root/DEBIAN/conffiles")"
for s in postinst prerm postrm; do
	sh -n "$root/DEBIAN/$s" || fail "$s does not parse"
done

bin=$root/usr/bin/coatnet
helper=$root/usr/libexec/coatnet/coatnet-gocv
case $arch in
amd64) machine="Advanced Micro Devices X86-64" ;;
arm64) machine=AArch64 ;;
*) fail "no ELF machine known for $arch" ;;
esac
for b in "$bin" "$helper"; do
	readelf -h "$b" | grep -q "Machine: *$machine\$" || fail "${b#"$root"/} is not an $arch program: $(readelf -h "$b" | grep Machine:)"
done
if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
	fail "usr/bin/coatnet loads shared libraries (not the pure-Go build): $(readelf -d "$bin" | grep NEEDED)"
fi
readelf -d "$helper" | grep -q 'NEEDED.*libopencv_videoio' || fail "usr/libexec/coatnet/coatnet-gocv does not link OpenCV's videoio: no camera"
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	"$bin" --help >/dev/null || fail "usr/bin/coatnet does not run"
	"$helper" --help >/dev/null || fail "usr/libexec/coatnet/coatnet-gocv does not run"
	packaging/check-handover.sh "$root" /usr >/dev/null
fi
systemd/check-unit.sh "$root/$unit" "$bin" >/dev/null
gzip -t "$root"/usr/share/man/man1/*.1.gz || fail "a man page is not gzip"
for f in "$root"/usr/share/man/man1/*.1.gz; do
	zcat "$f" | grep -q '^\.TH "COATNET' || fail "$(basename "$f") is not a man page"
done
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	"$bin" __complete convert --arch coatnet_nano 2>/dev/null | grep -qx coatnet_nano_rw_224 ||
		fail "usr/bin/coatnet does not complete --arch names"
fi

if command -v lintian >/dev/null; then
	out=$(lintian --fail-on error,warning --tag-display-limit 0 "$deb" 2>&1) || {
		echo "$out" >&2
		fail "lintian reports errors or warnings"
	}
	[ -z "$out" ] || echo "$out" | sed "s|^|    lintian: |"
else
	fail "lintian is missing (apt-get install lintian)"
fi
echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB, Depends: $depends"
