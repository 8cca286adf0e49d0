#!/usr/bin/env bash
# The Debian package, installed as a user would: `make deb`'s package is
# installed with apt in a clean Debian 12 root (debootstrap, chroot), and
# the installed mdrun renders samples/tour.md there. Needs root and
# debootstrap; says "skipped" (exit 77) without them.
#
#   tests/package.sh [BUILD]    (BUILD: the build folder, default build)
#
# The clean root's base system is kept as a tarball in
# ${MDRUN_CI_CACHE:-~/.cache/mdrun}, so that a later run does not fetch it
# again; the package and its dependencies are installed afresh each time.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
cache=${MDRUN_CI_CACHE:-$HOME/.cache/mdrun}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "package: $*"; }
if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null ||
	! command -v chroot >/dev/null; then
	say "skipped: needs root, debootstrap and chroot"
	exit 77
fi
deb=$(ls -t "$build"/mdrun_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { say "no package in $build (make deb)"; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-deb.XXXXXX")
chmod 755 "$root" # apt fetches as the _apt user
cleanup() {
	for m in dev/pts dev proc; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	rm -rf "$root"
}
trap cleanup EXIT

base=$cache/bookworm-minbase.tgz
mkdir -p "$cache"
if [ ! -s "$base" ]; then
	say "fetching a Debian 12 base system (once; kept in $base)"
	debootstrap --variant=minbase --make-tarball="$base.part" bookworm \
		"$root/tmp-boot" "$mirror" >/dev/null
	mv "$base.part" "$base"
	rm -rf "$root/tmp-boot"
fi
say "unpacking a clean Debian 12 root"
debootstrap --variant=minbase --unpack-tarball="$base" bookworm "$root" \
	"$mirror" >/dev/null
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

cp "$deb" "$root/tmp/"
cp "$src/samples/tour.md" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LANG=C.UTF-8 "$@"; }
say "installing $(basename "$deb") with apt"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends "/tmp/$(basename "$deb")" python3 >/dev/null
fail=0
t() {
	local name=$1
	shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
t "installed: mdrun --version" in_root mdrun --version
t "installed: the man page" test -s "$root/usr/share/man/man1/mdrun.1"
t "installed: bash completion" \
	test -s "$root/usr/share/bash-completion/completions/mdrun"
t "installed: the helpers in /usr/lib/mdrun" \
	test -x "$root/usr/lib/mdrun/mdrun-keeper" -a -s "$root/usr/lib/mdrun/mdrun-track.so"
# The sample's blocks ran: their outputs are there, and a second render
# runs nothing.
in_root sh -c 'cd /tmp && mdrun render tour.md -o out.md' 2>"$root/tmp/err1" || true
t "installed mdrun renders samples/tour.md" \
	grep -q '<!-- mdrun:out -->' "$root/tmp/out.md"
t "its blocks ran, none failed" grep -q ' 0 failed' "$root/tmp/err1"
in_root sh -c 'cd /tmp && mdrun render tour.md -o out2.md' 2>"$root/tmp/err2" || true
t "a second render runs nothing" grep -q ' 0 ran' "$root/tmp/err2"
# In a git repository (made here: libgit2 needs no git command), the
# store goes to the repository's root: libgit2, which mdrun opens when
# first needed, is there by the package's Depends.
if command -v git >/dev/null; then
	git init -q "$root/tmp/repo" && mkdir -p "$root/tmp/repo/docs" &&
		cp "$src/samples/tour.md" "$root/tmp/repo/docs/"
	in_root sh -c 'cd /tmp/repo/docs && mdrun render tour.md -o out.md' \
		2>"$root/tmp/err3" || true
	t "in a git repository, the store is at its root (libgit2 opened)" \
		test -s "$root/tmp/repo/.mdrun/store.db" -a ! -e "$root/tmp/repo/docs/.mdrun"
else
	echo "skip in a git repository, the store is at its root (git is not installed)"
fi
[ $fail = 0 ] || { cat "$root/tmp/err1" "$root/tmp/err3" >&2 2>/dev/null; exit 1; }
say "the package installs and works in a clean Debian 12"
