#!/usr/bin/env bash
# The documentation is evaluated by mdrun itself: README.md and every
# docs/*.md must pass `mdrun check` from an empty store, so a page whose
# blocks no longer run, or whose shown outputs are not what mdrun prints
# now, fails. Checking writes nothing into the source tree.
# usage: docs.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

# The pages cite themselves by their path in the repository (MDRUN_DOC).
[ -e "$src/.git" ] ||
	skip_all "the pages name themselves by their path in a git checkout"
command -v python3 >/dev/null ||
	skip_all "the documentation's examples need python3"

# Some examples run mdrun on documents of their own: the binary under
# test, found on the PATH. Their scratch folders go under $work.
export PATH="$(dirname "$mdrun"):$PATH"
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
unset GITHUB_ACTIONS

# snapshot DIR: every file under README.md and docs/ with its checksum.
snapshot() {
	(cd "$1" && find README.md docs -type f -print0 | sort -z |
		xargs -0 sha256sum && find README.md docs | sort)
}

cd "$src" || exit 1
docs=(README.md docs/*.md)
snapshot "$src" >"$work/before"
"$mdrun" check "${docs[@]}" >"$work/out" 2>"$work/err"
code=$?
{ [ $code = 0 ] && has "$work/err" "checked ${#docs[@]} documents: ${#docs[@]} ok"; }
expect "README.md and docs/*.md evaluate and show what mdrun prints now" \
	"$work/out" "$work/err"
snapshot "$src" >"$work/after"
same "$work/before" "$work/after"
expect "checking the documentation leaves the source tree as it was"

# The same check fails on a page whose shown output is stale: a copy of
# the README with the first line of its first output changed.
mkdir "$work/stale"
awk '/^```output$/ && !done { print; getline; print $0 " (edited)"; done = 1; next }
	{ print }' "$src/README.md" >"$work/stale/README.md"
cd "$work/stale" || exit 1
"$mdrun" check README.md >out 2>err
code=$?
{ [ $code = 1 ] && grep -q '^-.* (edited)$' out &&
	grep -Eq '^README.md:[0-9]+: block [^ ]+: output is not current$' err; }
expect "a page with a changed output line fails, naming the block" out err

finish
