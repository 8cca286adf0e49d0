#!/usr/bin/env bash
# The hooks of .pre-commit-hooks.yaml, run by pre-commit itself: a hook
# repository holding only a copy of that file, used by a scratch project
# as a user would (`repo:` its path, `rev:` its commit). mdrun-check fails
# on a document never rendered and on an edited one, passes once it is
# rendered, and refuses a commit while the document is stale; mdrun-strip
# gives the source back and fails the first time, as a fixer does.
# usage: precommit.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

command -v pre-commit >/dev/null || skip_all "pre-commit missing (Debian: pre-commit)"
command -v git >/dev/null || skip_all "git missing (Debian: git)"
[ -f "$src/.pre-commit-hooks.yaml" ] || { echo "FAIL no $src/.pre-commit-hooks.yaml"; exit 1; }

# The hooks are `language: system`: they run the mdrun on PATH, with the
# store a user has (.mdrun/ at the repository root), not lib.sh's.
export PATH="$(dirname "$mdrun"):$PATH"
unset MDRUN_STORE GITHUB_ACTIONS
export PRE_COMMIT_HOME="$work/pre-commit-home" PRE_COMMIT_COLOR=never
# Neither the user's git config (a core.hooksPath would stop `pre-commit
# install`) nor the system's.
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
which_mdrun=$(command -v mdrun)
[ "$which_mdrun" = "$mdrun" ] || { echo "FAIL mdrun on PATH is $which_mdrun"; exit 1; }

# repo DIR: a git repository with its own user.
repo() {
	git init -q "$1" && git -C "$1" config user.name tester &&
		git -C "$1" config user.email tester@example.org
}

pre-commit validate-manifest "$src/.pre-commit-hooks.yaml" >"$work/out.txt" 2>&1
expect "pre-commit validate-manifest: .pre-commit-hooks.yaml is valid" "$work/out.txt"

# The hook repository: only the manifest, committed.
repo "$work/hooks"
cp "$src/.pre-commit-hooks.yaml" "$work/hooks/"
git -C "$work/hooks" add .pre-commit-hooks.yaml &&
	git -C "$work/hooks" commit -qm hooks
rev=$(git -C "$work/hooks" rev-parse HEAD)

# config HOOK...: a .pre-commit-config.yaml using those hooks, committed.
config() {
	{
		printf 'repos:\n  - repo: %s\n    rev: %s\n    hooks:\n' "$work/hooks" "$rev"
		printf '      - id: %s\n' "$@"
	} >.pre-commit-config.yaml
	git add .pre-commit-config.yaml && git commit -qm "hooks: $*" >/dev/null 2>&1
}
# doc EXPR: the document as a user writes it, a block computing EXPR.
doc() {
	printf '# Answer\n\n```{sh}\necho $((%s))\n```\n\nThat is the answer.\n' "$1"
}
# run HOOK: pre-commit run HOOK on every file, its output in $out.
out=$work/out.txt
run() { pre-commit run "$1" --all-files >"$out" 2>&1; }

repo "$work/proj"
cd "$work/proj" || exit 1
doc '6*7' >doc.md
doc '6*7' >"$work/doc.v1"
git add doc.md && git commit -qm doc >/dev/null
config mdrun-check

# --- mdrun-check ------------------------------------------------------------
run mdrun-check
[ $? != 0 ] && grep -q '^mdrun check\.*Failed' "$out" && grep -qx '+42' "$out" &&
	has "$out" 'doc.md:3: block sh-1: output is not current'
expect "mdrun-check: a document never rendered fails, its diff shows +42" "$out"
same doc.md "$work/doc.v1"
expect "mdrun-check: writes nothing into the document" doc.md

"$mdrun" -q -i doc.md
run mdrun-check
[ $? = 0 ] && grep -q '^mdrun check\.*Passed' "$out"
expect "mdrun-check: passes once the document is rendered" "$out"

sed -i 's/6\*7/6*9/' doc.md
run mdrun-check
[ $? != 0 ] && grep -qx -- '-42' "$out" && grep -qx '+54' "$out" &&
	has "$out" 'doc.md:3: block sh-1: output is not current'
expect "mdrun-check: an edited block fails again (-42, +54)" "$out"

# Documents only: a file of another kind is not given to mdrun.
echo 'not a notebook ```{sh}' >notes.txt
git add notes.txt
run mdrun-check
! has "$out" notes.txt
expect "mdrun-check: other files are not checked" "$out"

# --- as a git hook ------------------------------------------------------------
pre-commit install >"$out" 2>&1 && [ -x .git/hooks/pre-commit ]
expect "pre-commit install: installs the git hook" "$out"
head=$(git rev-parse HEAD)
git add doc.md
git commit -qm 'stale answer' >"$out" 2>&1
[ $? != 0 ] && [ "$(git rev-parse HEAD)" = "$head" ] && grep -qx '+54' "$out"
expect "git commit: refused while the document is stale" "$out"

"$mdrun" -q -i doc.md
git add doc.md
git commit -qm 'answer' >"$out" 2>&1
[ $? = 0 ] && [ "$(git rev-parse HEAD)" != "$head" ] &&
	git show HEAD:doc.md | grep -qx 54
expect "git commit: accepted once rendered, with the output" "$out"

# --- mdrun-strip --------------------------------------------------------------
# A project that commits its documents without outputs.
config mdrun-strip
shows doc.md 1 54
had_output=$?
run mdrun-strip
[ $? != 0 ] && [ $had_output = 0 ] && grep -q '^mdrun strip\.*Failed' "$out" &&
	has "$out" 'files were modified by this hook' && same doc.md <(doc '6*9')
expect "mdrun-strip: a rendered document is stripped, the hook fails" "$out" doc.md
run mdrun-strip
[ $? = 0 ] && grep -q '^mdrun strip\.*Passed' "$out" && same doc.md <(doc '6*9')
expect "mdrun-strip: passes on the second run" "$out"

git add doc.md && git commit -qm stripped >/dev/null 2>&1
doc '2+3' >more.md
"$mdrun" -q -i more.md
head=$(git rev-parse HEAD)
git add more.md
git commit -qm 'with outputs' >"$out" 2>&1
[ $? != 0 ] && [ "$(git rev-parse HEAD)" = "$head" ] && same more.md <(doc '2+3')
expect "git commit: a document with outputs is refused, and stripped" "$out" more.md
git add more.md
git commit -qm 'without outputs' >"$out" 2>&1
[ $? = 0 ] && git show HEAD:more.md | same /dev/stdin <(doc '2+3')
expect "git commit: accepted once stripped, the source as written" "$out"

finish
