#!/usr/bin/env bash
# The action's first step: puts mdrun on PATH for the steps after it
# (appending its folder to $GITHUB_PATH) and its path in the step's output
# `mdrun` ($GITHUB_OUTPUT). One of:
#
#   INPUT_DEB=FILE      installs that Debian package (`make deb` makes one)
#                       with apt-get, as root or through sudo;
#   MDRUN_BINARY=PATH   an mdrun already built: only puts its folder on
#                       PATH (the folder holds mdrun-keeper and
#                       mdrun-track.so too, as a build folder does);
#   neither             builds the action's own source
#                       ($GITHUB_ACTION_PATH, else the checkout holding this
#                       script): `make deps` installs the Debian packages
#                       the build needs (apt-get, as root or through sudo),
#                       `make build` builds into $RUNNER_TEMP/mdrun-build.
#
# Under GitHub Actions it also marks the workspace as a safe directory in
# the global git config, for container jobs whose checkout belongs to
# another user (libgit2 would not open the repository, and mdrun would not
# find its root).
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "$0")/common.sh"

# as_root COMMAND...: runs it as root, directly or through sudo.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		annotate error "need root (or sudo) to run: $*"
		exit 2
	fi
}
apt_install() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "$@"
}

deb=${INPUT_DEB:-}
binary=${MDRUN_BINARY:-}
if [ -n "$binary" ]; then
	[ -x "$binary" ] && [ -f "$binary" ] || {
		annotate error "MDRUN_BINARY: $binary is not an executable file"
		exit 2
	}
	bin=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
elif [ -n "$deb" ]; then
	[ -f "$deb" ] || {
		annotate error "deb: no such file: $deb"
		exit 2
	}
	deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
	say "installing $deb"
	apt_install "$deb" || {
		annotate error "could not install $deb"
		exit 1
	}
	bin=$(dpkg -L mdrun 2>/dev/null | grep -m1 '/bin/mdrun$') || bin=$(command -v mdrun) || {
		annotate error "$deb installed no mdrun program"
		exit 1
	}
else
	srcdir=${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/../.." && pwd)}
	build=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mdrun-build
	[ -f "$srcdir/Makefile" ] || {
		annotate error "no Makefile in $srcdir: not a checkout of mdrun"
		exit 2
	}
	command -v make >/dev/null 2>&1 || apt_install make || exit 1
	say "building $srcdir into $build"
	make -C "$srcdir" --no-print-directory deps &&
		make -C "$srcdir" --no-print-directory build BUILD="$build" || {
		annotate error "building mdrun failed"
		exit 1
	}
	bin=$build/mdrun
fi

"$bin" --version || {
	annotate error "$bin does not run"
	exit 1
}
if [ -n "${GITHUB_PATH:-}" ]; then
	dirname "$bin" >>"$GITHUB_PATH"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "mdrun=$bin" >>"$GITHUB_OUTPUT"
fi
if [ "${GITHUB_ACTIONS:-}" = true ] && [ -n "${GITHUB_WORKSPACE:-}" ] &&
	command -v git >/dev/null 2>&1 &&
	! git config --global --get-all safe.directory 2>/dev/null | grep -qxF "$GITHUB_WORKSPACE"; then
	git config --global --add safe.directory "$GITHUB_WORKSPACE"
fi
exit 0
