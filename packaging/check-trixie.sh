#!/bin/sh
# check-trixie.sh ROOT OUTDIR: `make check-trixie`. Builds, tests and
# packages the GoCV agent on Debian 13 (trixie, OpenCV 4.10; Raspberry Pi OS
# Trixie is built on it) in a chroot, from a Debian 12 machine:
#   1. ROOT is made once with debootstrap from the Debian archive the host's
#      apt uses, and trixie's build and test packages installed into it;
#      later runs reuse it (ROOT/.coatnet-packages records what is there);
#   2. the working tree (tracked and untracked, not ignored files) is copied
#      to ROOT/src, so the host's bin/ (Bookworm's binary and .debs) is
#      never touched;
#   3. inside: make test-camera (the GoCV code against OpenCV 4.10) and make
#      check-deb for the native architecture (packaging/check-deb.sh, with
#      trixie's lintian); then apt-get checks that trixie resolves the
#      package's Depends, and the .deb is copied to OUTDIR.
# Go inside is tools/go fetching go.mod's toolchain from the Go module proxy
# (trixie's golang-go is 1.24, older than go.mod's go line). /proc is
# mounted only while the script runs, and unmounted on any exit.
#
# Environment: MIRROR (default: the host's first Debian URI), SUITE (trixie),
# VERSION, DEB_MAINTAINER, SOURCE_DATE_EPOCH (passed to make:
# the copy has no .git).
set -eu

root=$1
outdir=$2
: "${SUITE:=trixie}"
: "${MIRROR:=$(sed -n 's/^URIs: *\(.*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}"
: "${MIRROR:=http://deb.debian.org/debian}"
: "${VERSION:?VERSION is needed (make check-trixie sets it)}"
: "${DEB_MAINTAINER:?DEB_MAINTAINER is needed (make check-trixie sets it)}"
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
# What the chroot needs: make and tools/go's curl and unzip; the rest is the
# Makefile's APT_TEST less what only other targets use (qemu, arm64 binutils).
packages="make curl unzip ca-certificates libopencv-dev g++ pkg-config dataset-fashion-mnist mosquitto systemd dpkg-dev lintian"
arch=$(dpkg --print-architecture)
first_year=$(git log --reverse --format=%ad --date=format:%Y | head -n 1)
commit=$(git rev-parse --short HEAD)

fail() {
	echo "check-trixie: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount): sudo make check-trixie"

cleanup() {
	if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || umount -l "$root/proc"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# 1. The chroot, once. A half-made one (no marker) is made anew, after
# making sure nothing is mounted in it.
if [ ! -e "$root/.coatnet-packages" ]; then
	cleanup
	mountpoint -q "$root/proc" 2>/dev/null && fail "$root/proc is still mounted"
	rm -rf "$root"
	mkdir -p "$root"
	echo "check-trixie: debootstrap $SUITE from $MIRROR into $root (once)"
	debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.debootstrap.log" 2>&1 || {
		tail -n 30 "$root.debootstrap.log" >&2
		fail "debootstrap failed (whole log: $root.debootstrap.log)"
	}
	: >"$root/.coatnet-packages"
fi
# The host's name servers and CA bundle (a proxy the host trusts is trusted
# inside too: tools/go and go fetch over HTTPS).
cp /etc/resolv.conf "$root/etc/resolv.conf"
[ ! -d "$root/etc/ssl/certs" ] || cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
mount -t proc proc "$root/proc"
if [ "$(cat "$root/.coatnet-packages")" != "$packages" ]; then
	echo "check-trixie: installing into the chroot: $packages"
	in_root apt-get update -qq
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >"$root.apt.log" 2>&1 || {
		tail -n 30 "$root.apt.log" >&2
		fail "apt-get install in the chroot failed (whole log: $root.apt.log)"
	}
	echo "$packages" >"$root/.coatnet-packages"
fi
echo "check-trixie: $(in_root sh -c '. /etc/os-release; echo "$PRETTY_NAME"'), OpenCV $(in_root pkg-config --modversion opencv4)"

# 2. The working tree, copied.
rm -rf "$root/src"
mkdir -p "$root/src"
git ls-files -z --cached --others --exclude-standard | tar -c --null -T - -f - | tar -x -C "$root/src" -f -

# 3. Build, test, package, check.
# One go.mod for both releases: gocv v0.31.0 (written for OpenCV 4.6) builds
# and passes against trixie's 4.10 too (README "Debian releases").
in_root env GOFLAGS=-buildvcs=false \
	DEB_MAINTAINER="$DEB_MAINTAINER" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" \
	DEB_FIRST_YEAR="$first_year" DEB_COMMIT="$commit" \
	sh -c 'cd /src && make --no-print-directory test-camera check-deb \
		DEB_ARCHES="$1" VERSION="$2"' sh "$arch" "$VERSION"
deb=coatnet-edge_${VERSION}_$arch.deb
# The Depends trixie must resolve: every package named is installed in the
# chroot (the libraries the agent links), and apt would install the .deb.
in_root apt-get install -s -qq "/src/bin/$deb" >/dev/null || fail "$deb: trixie's apt cannot install it"
mkdir -p "$outdir"
cp "$root/src/bin/$deb" "$outdir/"
echo "check-trixie: $outdir/$deb: Depends: $(dpkg-deb --field "$outdir/$deb" Depends)"
