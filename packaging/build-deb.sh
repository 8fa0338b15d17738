#!/bin/sh
# build-deb.sh STAGE ARCH VERSION OUTDIR: turn a `make install-files
# DESTDIR=STAGE PREFIX=/usr` tree into OUTDIR/coatnet-edge_VERSION_ARCH.deb
# with dpkg-deb alone (no debian/ source tree, no debhelper): control file,
# maintainer scripts, conffiles, md5sums, copyright, changelog.
#
# Depends come from dpkg-shlibdeps on the agent's GoCV build
# (/usr/libexec/coatnet/coatnet-gocv; /usr/bin/coatnet is pure Go and links
# nothing), so they name exactly the OpenCV libraries it links (Debian 12:
# 4.6, libopencv-core406, ...; Debian 13: 4.10, libopencv-core410, ...),
# with the versions their symbols need. For a cross-built binary, SHLIBS_LOCAL names a
# shlibs file for the target's OpenCV (taken from its .debs) and SHLIBS_DIRS
# the directories holding the target's libraries.
#
# Environment: GO (go command), DEB_MAINTAINER (required: the Makefile's
# MAINTAINER), SOURCE_DATE_EPOCH (file times and changelog date; default:
# the last commit's), SHLIBS_LOCAL, SHLIBS_DIRS, DEB_FIRST_YEAR and
# DEB_COMMIT (from git; given where the tree is a copy without .git, as in
# make check-trixie).
set -eu

stage=$1
arch=$2
version=$3
outdir=$4
here=$(cd "$(dirname "$0")" && pwd)
: "${GO:=go}"
: "${DEB_MAINTAINER:?set it to the Makefile's MAINTAINER (make deb does)}"
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
export SOURCE_DATE_EPOCH
bin=$stage/usr/libexec/coatnet/coatnet-gocv

for b in "$stage/usr/bin/coatnet" "$bin"; do
	[ -x "$b" ] || { echo "build-deb: $b missing: run make install-files DESTDIR=$stage PREFIX=/usr first" >&2; exit 1; }
done

# dpkg-shlibdeps wants to run in a source tree: give it a minimal one.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian"
printf 'Source: coatnet-edge\n\nPackage: coatnet-edge\nArchitecture: any\n' >"$work/debian/control"
if [ -n "${SHLIBS_LOCAL:-}" ]; then
	cp "$SHLIBS_LOCAL" "$work/debian/shlibs.local"
fi
libdirs=""
for d in ${SHLIBS_DIRS:-}; do libdirs="$libdirs -l$d"; done
binabs=$(readlink -f "$bin")
# shellcheck disable=SC2086 # libdirs is a list of options
shlibs=$(cd "$work" && DEB_HOST_ARCH=$arch dpkg-shlibdeps -O $libdirs "$binabs" 2>"$work/shlibdeps.err") || {
	cat "$work/shlibdeps.err" >&2
	exit 1
}
# Warnings other than "should already be installed in their package's
# directory" (we analyse the staged copy) mean a dependency went missing or
# is useless, but for imgcodecs: gocv's imgcodecs.cpp names cv::imwrite,
# so the library must be linked, and --gc-sections drops that code only
# after --as-needed has kept it; videoio needs imgcodecs anyway.
if grep -v "binaries to analyze should already be installed" "$work/shlibdeps.err" |
	grep -v "useless dependency if .* was not linked against libopencv_imgcodecs\.so\.406 " | grep -q .; then
	cat "$work/shlibdeps.err" >&2
	exit 1
fi
# Cross toolchains describe the target's libc and libstdc++ as libc6:arm64
# and libstdc++6-arm64-cross; on the target they are libc6 and libstdc++6.
depends=$(echo "$shlibs" | sed -n 's/^shlibs:Depends=//p' | sed "s/:$arch//g; s/-$arch-cross//g")
case $depends in
*libopencv-core4[0-9]*) ;;
*)
	echo "build-deb: $bin does not depend on libopencv-core4NN: not a GoCV build? ($depends)" >&2
	exit 1
	;;
esac

chmod 0755 "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/share/doc/coatnet-edge"
doc=$stage/usr/share/doc/coatnet-edge

install -m 0644 "$here/deb/README.Debian" "$doc/README.Debian"
install -D -m 0644 "$here/deb/lintian-overrides" "$stage/usr/share/lintian/overrides/coatnet-edge"

# Debian's copyright file. The Go modules are linked into the binary, so
# they are listed with their versions.
first=${DEB_FIRST_YEAR:-$(git log --reverse --format=%ad --date=format:%Y | head -n 1)}
last=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
years=$first
[ "$first" = "$last" ] || years=$first-$last
{
	cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: coatnet-edge
Source: https://github.com/coatnet-edge/coatnet-edge

Files: *
Copyright: $years the coatnet-edge authors
License: Apache-2.0
Comment:
 /usr/bin/coatnet and /usr/libexec/coatnet/coatnet-gocv are Go programs;
 they include these Go modules, each under the license in its own source:
EOF
	"$GO" version -m "$bin" | awk '$1 == "dep" { print " " $2 " " $3 }'
	cat <<EOF

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
     https://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0,
 can be found in "/usr/share/common-licenses/Apache-2.0".
EOF
} >"$doc/copyright"

date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=${DEB_COMMIT:-$(git rev-parse --short HEAD)}
cat <<EOF | gzip -9n >"$doc/changelog.gz"
coatnet-edge ($version) unstable; urgency=medium

  * Built from commit $commit.

 -- $DEB_MAINTAINER  $date
EOF

install -m 0755 "$here/deb/postinst" "$here/deb/prerm" "$here/deb/postrm" "$stage/DEBIAN/"
# Everything under /etc is configuration the administrator may edit: dpkg
# keeps their version on upgrade and removal, and asks on conflicts.
(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"
[ -s "$stage/DEBIAN/conffiles" ] || rm "$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print |
	sed 's|^\./||' | sort | xargs md5sum) >"$stage/DEBIAN/md5sums"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: coatnet-edge
Version: $version
Architecture: $arch
Maintainer: $DEB_MAINTAINER
Installed-Size: $size
Depends: $depends, systemd | systemd-standalone-sysusers
Suggests: mosquitto, gstreamer1.0-libcamera
Section: video
Priority: optional
Homepage: https://github.com/coatnet-edge/coatnet-edge
Description: CoAtNet camera classification agent publishing labels over MQTT
 coatnet-edge classifies camera frames with an int8-quantized CoAtNet
 (hand-written NEON kernels on arm64) and publishes the labels over MQTT
 for Home Assistant, Node-RED or any subscriber. It runs as the sandboxed
 systemd service coatnet-agent on a Raspberry Pi or a Jetson, reading V4L2
 devices, GStreamer pipelines (libcamera, Argus) or network streams.
 .
 The coatnet command also converts timm CoAtNet checkpoints, quantizes,
 evaluates and benchmarks models. Demo Fashion-MNIST models are included.
EOF

mkdir -p "$outdir"
deb=$outdir/coatnet-edge_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
