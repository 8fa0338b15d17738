#!/bin/sh
# check-install.sh: `make check-install`. Installs into temporary DESTDIRs
# and uninstalls again, for PREFIX=/usr with JETSON=1 and for
# PREFIX=/usr/local, and checks:
#   - exactly the expected files are installed, with the expected modes
#     (the man pages and completions of make docs among them):
#     PREFIX/bin/coatnet (pure Go) and its GoCV build off PATH, in
#     PREFIX/libexec/coatnet;
#   - the pure build starts `coatnet run` with a camera as the GoCV build in
#     the same process (packaging/check-handover.sh);
#   - the installed unit's ExecStart= is PREFIX/bin/coatnet, and the unit
#     passes systemd/check-unit.sh against the installed binary;
#   - the installed example config points at the installed models;
#   - an edited /etc/coatnet/agent.yaml survives a second install and the
#     uninstall (Debian keeps changed conffiles the same way); an unchanged
#     one is removed;
#   - after uninstall no file is left.
# Environment: MAKE, the make to call (the native build is installed);
# SYSTEM_UNITDIR, the units' directory for PREFIX=/usr (the Makefile's:
# /lib/systemd/system on Debian 12, /usr/lib/systemd/system on 13).
set -eu

: "${MAKE:=make}"
: "${SYSTEM_UNITDIR:=/lib/systemd/system}"
make_args=--no-print-directory
root=""
trap 'rm -rf "$root"' EXIT

fail() {
	echo "check-install: $*" >&2
	exit 1
}

# files DIR: every file under DIR, relative, with its mode.
files() {
	(cd "$1" && find . -type f -printf '%m %P\n' | sort -k2)
}

check() { # check PREFIX UNITDIR JETSON
	prefix=$1 unitdir=$2 jetson=$3
	root=$(mktemp -d)
	# shellcheck disable=SC2086 # make_args is a list
	$MAKE $make_args install-files DESTDIR="$root" PREFIX="$prefix" JETSON="$jetson" >/dev/null

	share=${prefix#/}/share/coatnet
	zshdir=zsh/site-functions
	[ "$prefix" != /usr ] || zshdir=zsh/vendor-completions
	want=$(
		{
			echo "755 ${prefix#/}/bin/coatnet"
			echo "755 ${prefix#/}/libexec/coatnet/coatnet-gocv"
			echo "644 ${unitdir#/}/coatnet-agent.service"
			[ -z "$jetson" ] || echo "644 ${unitdir#/}/coatnet-agent.service.d/jetson.conf"
			echo "644 ${prefix#/}/lib/sysusers.d/coatnet.conf"
			echo "644 etc/coatnet/agent.yaml"
			for f in models/*.coatnet models/fashion-mnist-labels.txt; do echo "644 $share/$(basename "$f")"; done
			echo "644 $share/agent.yaml.example"
			echo "644 $share/jetson.conf"
			# every man page make docs wrote, and the three completions
			for f in bin/docs/man/*.1.gz; do echo "644 ${prefix#/}/share/man/man1/$(basename "$f")"; done
			echo "644 ${prefix#/}/share/bash-completion/completions/coatnet"
			echo "644 ${prefix#/}/share/$zshdir/_coatnet"
			echo "644 ${prefix#/}/share/fish/vendor_completions.d/coatnet.fish"
		} | sort -k2
	)
	got=$(files "$root")
	[ "$got" = "$want" ] || fail "PREFIX=$prefix JETSON=$jetson installed:
$got
expected:
$want"

	unit=$root$unitdir/coatnet-agent.service
	grep -q "^ExecStart=$prefix/bin/coatnet run --config /etc/coatnet/agent.yaml$" "$unit" ||
		fail "$unit: ExecStart= is not $prefix/bin/coatnet: $(grep ^ExecStart= "$unit")"
	dropin=""
	[ -z "$jetson" ] || dropin=$root$unitdir/coatnet-agent.service.d/jetson.conf
	systemd/check-unit.sh "$unit" "$root$prefix/bin/coatnet" "$dropin" >/dev/null
	grep -q "^  path: $prefix/share/coatnet/fmnist-pre-int8.coatnet$" "$root/etc/coatnet/agent.yaml" ||
		fail "the installed agent.yaml does not name $prefix/share/coatnet/fmnist-pre-int8.coatnet"
	"$root$prefix/bin/coatnet" --help >/dev/null || fail "the installed coatnet does not run"
	packaging/check-handover.sh "$root" "$prefix" >/dev/null

	# An administrator's edit survives a reinstall and the uninstall.
	echo "log_level: debug" >>"$root/etc/coatnet/agent.yaml"
	edited=$(cat "$root/etc/coatnet/agent.yaml")
	# shellcheck disable=SC2086
	$MAKE $make_args install-files DESTDIR="$root" PREFIX="$prefix" JETSON="$jetson" >/dev/null
	[ "$(cat "$root/etc/coatnet/agent.yaml")" = "$edited" ] || fail "a second install overwrote the edited agent.yaml"
	# shellcheck disable=SC2086
	$MAKE $make_args uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null
	left=$(files "$root")
	[ "$left" = "644 etc/coatnet/agent.yaml" ] || fail "PREFIX=$prefix: uninstall left (want only the edited agent.yaml):
$left"

	# Unchanged, it goes with the rest.
	rm -rf "$root"
	root=$(mktemp -d)
	# shellcheck disable=SC2086
	$MAKE $make_args install-files DESTDIR="$root" PREFIX="$prefix" JETSON="$jetson" >/dev/null
	# shellcheck disable=SC2086
	$MAKE $make_args uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null
	left=$(files "$root")
	[ -z "$left" ] || fail "PREFIX=$prefix: uninstall left:
$left"
	if [ -e "$root/etc/coatnet" ] || [ -e "$root$prefix/share/coatnet" ] || [ -e "$root$prefix/libexec/coatnet" ]; then
		fail "PREFIX=$prefix: uninstall left /etc/coatnet, $prefix/share/coatnet or $prefix/libexec/coatnet"
	fi
	rm -rf "$root"
	echo "PREFIX=$prefix${jetson:+ JETSON=$jetson}: install, reinstall and uninstall as expected"
}

check /usr "$SYSTEM_UNITDIR" 1
check /usr/local /usr/local/lib/systemd/system ""
