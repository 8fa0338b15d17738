#!/bin/sh
# sysroot-arm64.sh SYSROOT PACKAGE...: Debian's arm64 OpenCV runtime
# libraries (PACKAGE..., e.g. libopencv-core406) unpacked into SYSROOT for
# the amd64-to-arm64 cross build of the agent (make build-gocv
# DEB_ARCH=arm64), and SYSROOT/shlibs.local, their shlibs files, from which
# dpkg-shlibdeps writes the arm64 package's Depends (build-deb.sh).
#
# The libraries are unpacked, not installed: libopencv-dev cannot be
# installed for two architectures at once, and installing the arm64
# libraries would remove the amd64 ones (GDAL, Qt and others conflict).
# The headers are the native libopencv-dev's (OpenCV's public headers are
# the same on every architecture), and the libraries' own dependencies
# (TBB, GDAL, ...) are the target's package manager's business, hence the
# link's --allow-shlib-undefined.
#
# The .debs come from an apt of its own, which changes nothing on the
# machine: its sources are the Debian archives the machine's apt uses
# (apt-get indextargets: same mirror, same releases), for arm64 alone; its
# package lists, cache and (empty) dpkg status are under SYSROOT/apt. So
# /etc/apt, /var/lib/apt and dpkg's architectures stay as they are, and it
# works the same whether or not arm64 is a foreign dpkg architecture. The
# machine's apt.conf.d still applies (proxies, validity checks), and so do
# its trusted keys.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 SYSROOT PACKAGE..." >&2; exit 2; }
sysroot=$1
shift
rm -rf "$sysroot"
mkdir -p "$sysroot/apt/lists/partial" "$sysroot/apt/cache/archives/partial" \
	"$sysroot/apt/sources.list.d" "$sysroot/debs"
root=$(cd "$sysroot" && pwd)
: >"$root/apt/status"

# The machine's Debian archives: one line per URI and release with its
# components. apt only knows an archive's origin once its lists are there.
debian_sources() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 'Origin: Debian' |
		sort -u | awk '{ k = $1 " " $2; if (!(k in c)) o[n++] = k; c[k] = c[k] " " $3 }
			END { for (i = 0; i < n; i++) print o[i] c[o[i]] }'
}
sources=$(debian_sources)
if [ -z "$sources" ]; then
	echo "sysroot-arm64: apt knows no Debian archive yet: updating the machine's package lists"
	sudo=$([ "$(id -u)" = 0 ] || echo sudo)
	$sudo apt-get update -qq
	sources=$(debian_sources)
fi
[ -n "$sources" ] || { echo "sysroot-arm64: no Debian archive in apt's sources (Origin: Debian): the arm64 OpenCV packages come from one" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opt=""
[ -r "$keyring" ] && opt=" [signed-by=$keyring]"
echo "$sources" | sed "s|^|deb$opt |" >"$root/apt/sources.list"

# Package names have no spaces: the positional parameters become apt's
# options.
packages=$*
set -- -o APT::Architecture=arm64 -o APT::Architectures=arm64 \
	-o Dir::State="$root/apt" -o Dir::State::Lists="$root/apt/lists" -o Dir::State::status="$root/apt/status" \
	-o Dir::Cache="$root/apt/cache" -o Dir::Etc::SourceList="$root/apt/sources.list" \
	-o Dir::Etc::SourceParts="$root/apt/sources.list.d" -o Acquire::Languages=none
# As root, apt fetches as user _apt, who may not write under SYSROOT.
[ "$(id -u)" != 0 ] || set -- "$@" -o APT::Sandbox::User=root

echo "sysroot-arm64: arm64 package lists from $(echo "$sources" | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')"
apt-get "$@" update -qq
debs=""
for p in $packages; do debs="$debs $p:arm64"; done
# shellcheck disable=SC2086 # debs is a list of names
(cd "$root/debs" && apt-get "$@" download -qq $debs)
for d in "$root"/debs/*.deb; do
	dpkg-deb -x "$d" "$root" && dpkg-deb --ctrl-tarfile "$d" | tar -xO ./shlibs || exit 1
done >"$root/shlibs.local.tmp"
mv "$root/shlibs.local.tmp" "$root/shlibs.local"
echo "sysroot-arm64: $(ls "$root"/debs | wc -l) packages unpacked into $sysroot"
