#!/usr/bin/env bash
# cmake --install (what make install runs), with a prefix and with
# DESTDIR: the installed mdrun works from there, helpers and all, and the
# man page and completions are where man and the shells look.
set -u
. "$(dirname "$0")/lib.sh"

build=$(dirname "$mdrun")
[ -f "$build/cmake_install.cmake" ] || skip_all "$build is not a CMake build folder"
cd "$work"

cmake --install "$build" --prefix "$work/p" >install.txt 2>&1
expect "cmake --install --prefix P: succeeds" install.txt
inst=$work/p/bin/mdrun
"$inst" --version >out.txt 2>&1 && grep -qx "mdrun [0-9.]*" out.txt
expect "installed: P/bin/mdrun --version" out.txt
[ -x p/lib/mdrun/mdrun-keeper ] && [ -s p/lib/mdrun/mdrun-track.so ] &&
	[ ! -e p/bin/mdrun-keeper ] && [ ! -e p/bin/mdrun-track.so ]
expect "installed: the helpers in P/lib/mdrun, not in bin/" install.txt
[ -s p/share/man/man1/mdrun.1 ] &&
	[ -s p/share/bash-completion/completions/mdrun ] &&
	[ -s p/share/zsh/vendor-completions/_mdrun ] &&
	[ -s p/share/fish/vendor_completions.d/mdrun.fish ]
expect "installed: man page and bash, zsh and fish completions" install.txt
if command -v man >/dev/null; then
	MANWIDTH=80 man -l p/share/man/man1/mdrun.1 >man.txt 2>man.err
	[ $? = 0 ] && [ ! -s man.err ] && grep -q 'strip' man.txt
	expect "installed: man -l P/share/man/man1/mdrun.1 shows the page" man.txt man.err
else
	skip "installed: man -l shows the page" "man missing (Debian: man-db)"
fi

# The installed binary, far from the build folder, finds its helpers:
# the tracking library (an edited data file re-runs its reader).
mkdir doc
printf '5\n' >doc/n.txt
cat >doc/d.md <<'EOF'
```{sh}
echo $(( $(cat n.txt) * 2 ))
```
EOF
(cd doc && "$inst" -q -i d.md) 2>err.txt && shows doc/d.md 1 10
expect "installed mdrun renders a document" doc/d.md err.txt
printf '7\n' >doc/n.txt
(cd doc && "$inst" -q -i d.md) 2>err.txt && shows doc/d.md 1 14
expect "installed mdrun: an edited input file re-runs its reader" doc/d.md err.txt

# DESTDIR: the files go under it, at the prefix's place.
DESTDIR=$work/stage cmake --install "$build" --prefix /usr/local >install.txt 2>&1 &&
	[ -x stage/usr/local/bin/mdrun ] && [ -s stage/usr/local/share/man/man1/mdrun.1 ]
expect "DESTDIR=D cmake --install: the files under D" install.txt

finish
