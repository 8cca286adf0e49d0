#!/usr/bin/env bash
# The Makefile's set-up, with stand-ins: dpkg-query, apt-get, sudo, id,
# pkg-config, cmake, ctest, cpack and mdrun are scripts that log how they
# were called, so nothing is installed or built. Checks which packages each
# target asks apt-get for and how (root, sudo, or the one-line hint), that
# `make build` installs nothing, how the tests are turned on and off, and
# install, deb, samples. usage: setup.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

make=$(command -v make) || skip_all "make is not installed"
[ -f "$src/Makefile" ] || skip_all "no Makefile in $src"
# Not the calling make's variables (BUILD=..., -j): a make of our own.
unset MAKEFLAGS MFLAGS MAKELEVEL BUILD CMAKE_FLAGS JOBS PREFIX DESTDIR

bin=$work/bin        # the stand-ins, and the few real tools make needs
sudobin=$work/sudo   # sudo, on PATH only where a check wants it
build=$work/build    # BUILD
log=$work/log        # one line per stand-in called
mkdir -p "$bin" "$sudobin" "$build"
for t in env mkdir dirname cat sed grep nproc; do
	p=$(command -v "$t") || skip_all "$t is not installed"
	ln -s "$p" "$bin/$t"
done
stub() { # stub NAME BODY: a script that logs its call, then runs BODY
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n%s\n' "$1" "$log" "$2" >"$3/$1"
	chmod +x "$3/$1"
}
# dpkg-query -W -f=... PKG: "installed" for the packages in $work/installed.
cat >"$bin/dpkg-query" <<EOF
#!/bin/sh
for a; do p=\$a; done
grep -qx "\$p" "$work/installed" && printf installed
EOF
chmod +x "$bin/dpkg-query"
stub apt-get '' "$bin"
stub id 'echo "$FAKE_UID"' "$bin"
stub pkg-config 'exit "$FAKE_CRITERION"' "$bin"
stub cmake 'echo "  DESTDIR=${DESTDIR-unset}" >>'"$log" "$bin"
stub ctest '' "$bin"
stub cpack 'echo "CPack: - package: $PWD/mdrun_0.1.0_amd64.deb generated."' "$bin"
stub mdrun '' "$build"
stub sudo '[ "$1" = -n ] && exit "$FAKE_SUDO_N"; "$@"' "$sudobin"

# run [VAR=VALUE...] TARGET...: make in the source folder, as a user
# without a terminal unless FAKE_UID=0; its output in $work/out, what the
# stand-ins did in $log.
run() {
	: >"$log"
	env -i HOME="$work" PATH="${RUN_PATH:-$bin}" FAKE_UID="${FAKE_UID:-0}" \
		FAKE_SUDO_N="${FAKE_SUDO_N:-1}" \
		FAKE_CRITERION="${FAKE_CRITERION:-1}" \
		"$make" --no-print-directory -C "$src" BUILD="$build" "$@" \
		</dev/null >"$work/out" 2>&1
}
# Everything the build needs is there but cmake; python3 is missing too.
build_pkgs="gcc libc6-dev make pkg-config git libcmark-gfm-dev
libcmark-gfm-extensions-dev libcjson-dev libgit2-dev libssl-dev
libsqlite3-dev libzmq3-dev"
printf '%s\n' $build_pkgs >"$work/installed"
install_line="apt-get install --no-install-recommends cmake python3 -y -o APT::Keep-Downloaded-Packages=false"

# --- as root ------------------------------------------------------------
run demo
{ [ "$(sed -n 1p "$work/out")" = "mdrun: installing for the build: cmake; for samples/tour.md: python3" ] &&
	has "$log" "apt-get update -qq" && has "$log" "$install_line" &&
	! has "$log" "sudo"; }
expect "make demo as root: one line on what and why, then apt-get installs only what is missing" \
	"$work/out" "$log"
{ has "$log" "cmake -S . -B $build -DMDRUN_TESTS=OFF" &&
	has "$log" "mdrun render samples/tour.md" &&
	[ "$(grep -c 'mdrun render' "$log")" = 1 ]; }
expect "make demo without Criterion: built without the tests, renders samples/tour.md alone" "$log"
! grep '^apt-get install' "$log" | grep -q 'matplotlib\|r-cran\|chromium\|criterion'
expect "make demo installs nothing for the tests or the other samples" "$log"

echo cmake >>"$work/installed"
echo python3 >>"$work/installed"
run deps
{ [ ! -s "$work/out" ] && ! has "$log" apt-get; }
expect "make deps with everything there: no output, no apt-get" "$work/out" "$log"

sed -i '/^cmake$/d' "$work/installed"
run build
{ ! has "$log" apt-get && has "$log" "cmake --build $build"; }
expect "make build installs nothing, even with cmake missing" "$log"
FAKE_CRITERION=0 run build
grep -qx "cmake -S . -B $build" "$log"
expect "make build with Criterion: the tests as configured (on by default)" "$log"

run test CMAKE_FLAGS=-DMDRUN_WERROR=ON
{ has "$work/out" "mdrun: installing for the build: cmake; for the tests: libcriterion-dev" &&
	has "$log" "cmake -S . -B $build -DMDRUN_TESTS=ON -DMDRUN_WERROR=ON" &&
	has "$log" "ctest --output-on-failure"; }
expect "make test CMAKE_FLAGS=...: the tests' packages, the tests turned on, ctest" \
	"$work/out" "$log"
echo cmake >>"$work/installed"

# --- not root -----------------------------------------------------------
sed -i '/^cmake$/d' "$work/installed"
FAKE_UID=1000 run demo
{ [ "$(grep -c '^mdrun:' "$work/out")" = 1 ] &&
	has "$work/out" "mdrun: need root to install packages; run: su -c 'apt-get install --no-install-recommends cmake'" &&
	! has "$log" apt-get && ! has "$log" "cmake -S"; }
expect "not root, no sudo: one line with the su command, nothing run" "$work/out" "$log"
FAKE_UID=1000 RUN_PATH=$bin:$sudobin run demo
{ [ "$(grep -c '^mdrun:' "$work/out")" = 1 ] &&
	has "$work/out" "mdrun: need root to install packages; run: sudo apt-get install --no-install-recommends cmake" &&
	! has "$log" apt-get; }
expect "not root, sudo wants a password, no terminal: one line with the sudo command" \
	"$work/out" "$log"
FAKE_UID=1000 FAKE_SUDO_N=0 RUN_PATH=$bin:$sudobin run demo
{ has "$log" "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq" &&
	has "$log" "sudo env DEBIAN_FRONTEND=noninteractive apt-get install --no-install-recommends cmake"; }
expect "not root, sudo without a password: apt-get through sudo" "$log"
echo cmake >>"$work/installed"

# --- samples, install, deb ------------------------------------------------
missing=
for f in "$src"/samples/*.md "$src"/samples/languages/*.md; do
	[ "$(basename "$f")" = tour.md ] && continue
	grep -q '^<!-- needs: .* -->$' "$f" || missing="$missing $f"
done
echo "without one:$missing" >"$work/missing"
[ -z "$missing" ]
expect "every sample but tour.md names its packages in a <!-- needs: --> line" "$work/missing"
run samples
needs=$(sed -n 's/^<!-- needs: \(.*\) -->$/\1/p' "$src"/samples/*.md "$src"/samples/languages/*.md)
all=true
for p in $needs; do
	grep -q "^mdrun: installing .*for the samples:.* $p\( \|$\)" "$work/out" ||
		grep -qx "$p" "$work/installed" || all=false
done
$all
expect "make samples installs what every sample names" "$work/out"
n=$(ls "$src"/samples/*.md "$src"/samples/languages/*.md | wc -l)
{ [ "$(grep -c "mdrun render -q samples/.* -o $build/samples/" "$log")" = "$n" ] &&
	has "$log" "mdrun render -q samples/languages/node.md -o $build/samples/languages/node.md"; }
expect "make samples renders each sample into BUILD/samples/" "$log"

run install DESTDIR=/stage PREFIX=/opt/m
{ has "$log" "cmake --install $build --prefix /opt/m" &&
	has "$log" "  DESTDIR=/stage" && ! has "$log" apt-get; }
expect "make install DESTDIR=D PREFIX=P: cmake --install, DESTDIR passed on" "$log"
run deb
{ has "$log" "cpack -G DEB" && has "$work/out" "mdrun: made $build/mdrun_0.1.0_amd64.deb"; }
expect "make deb: CPack, then the path of the package" "$work/out" "$log"

# --- not Debian -----------------------------------------------------------
rm "$bin/dpkg-query"
run demo
{ has "$work/out" "mdrun: not a Debian system; install the equivalents of: gcc" &&
	! has "$log" apt-get && has "$log" "cmake --build"; }
expect "no dpkg-query: names the packages, builds anyway" "$work/out" "$log"

finish
