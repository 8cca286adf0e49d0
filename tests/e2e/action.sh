#!/usr/bin/env bash
# The GitHub Action (action.yml): its scripts in util/action/ run as its
# steps would, in the environment GitHub gives them (GITHUB_ACTIONS=true,
# GITHUB_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, GITHUB_REF, the
# default branch), on a scratch repository whose remote is a local bare
# repository; then action.yml itself is checked against those scripts.
#
# build.sh runs in its MDRUN_BINARY mode (the binary under test put on
# PATH); its other modes, which build with `make deps` (apt-get) or install
# a .deb, are not run here.
# usage: action.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null || skip_all "git missing (Debian: git)"
act=$src/util/action
[ -f "$src/action.yml" ] && [ -d "$act" ] || { echo "FAIL no action.yml or util/action/ in $src"; exit 1; }

# The action caches .mdrun/ at the repository root, mdrun's default store:
# not lib.sh's.
unset MDRUN_STORE
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name tester
git config --global user.email tester@example.org
git config --global init.defaultBranch main

# What GitHub gives every step.
gh=$work/github
mkdir -p "$gh"
export GITHUB_ACTIONS=true GITHUB_PATH=$gh/path GITHUB_OUTPUT=$gh/output \
	GITHUB_STEP_SUMMARY=$gh/summary GITHUB_REF=refs/heads/main \
	GITHUB_WORKSPACE=$work/proj RUNNER_TEMP=$work/runner-temp
: >"$GITHUB_PATH"
: >"$GITHUB_OUTPUT"
: >"$GITHUB_STEP_SUMMARY"
mkdir -p "$RUNNER_TEMP"
out=$work/out
err=$work/err
# step SCRIPT [VAR=VALUE...]: runs util/action/SCRIPT as the action's step
# does, with the inputs action.yml passes by default and those given;
# standard output in $out, standard error in $err.
step() {
	local script=$1
	shift
	env INPUT_DOCUMENTS=. INPUT_JUNIT=mdrun-junit.xml INPUT_DEB= INPUT_ARGS= \
		INPUT_REMOTE=origin INPUT_PUSH=true DEFAULT_BRANCH=main "$@" \
		"$act/$script" >"$out" 2>"$err"
}
# refs REPO: how many results REPO holds (refs/mdrun/KEY/RHASH).
refs() { git -C "$1" for-each-ref refs/mdrun | wc -l; }
# runs: how many times the block ran, anywhere (it appends to a file
# outside every repository).
counter=$work/counter
runs() { cat "$counter" 2>/dev/null | wc -l; }

# The project: a document in docs/ whose block counts its runs, and a
# bare repository as its remote, holding its branch.
git init -q --bare "$work/remote.git"
git init -q "$work/proj"
cd "$work/proj" || exit 1
git remote add origin "$work/remote.git"
mkdir docs
cat >docs/answer.md <<EOF
# The answer

\`\`\`{sh}
echo run >>'$counter'
echo \$((6 * 7))
\`\`\`
EOF
echo mdrun-junit.xml >.gitignore
git add . && git commit -qm doc && git push -q origin main 2>/dev/null

# --- build.sh -----------------------------------------------------------------
step build.sh MDRUN_BINARY="$mdrun"
[ $? = 0 ] && [ "$(cat "$GITHUB_PATH")" = "$(dirname "$mdrun")" ] &&
	grep -qxF "mdrun=$mdrun" "$GITHUB_OUTPUT"
expect "build.sh: MDRUN_BINARY: its folder in GITHUB_PATH, its path in the output" "$out" "$err" "$GITHUB_PATH" "$GITHUB_OUTPUT"
git config --global --get-all safe.directory | grep -qxF "$GITHUB_WORKSPACE"
expect "build.sh: the workspace is a safe directory for git"
step build.sh MDRUN_BINARY="$work/nothing"
[ $? = 2 ] && grep -q '^::error title=mdrun::MDRUN_BINARY: ' "$out"
expect "build.sh: a missing binary is an ::error, exit 2" "$out" "$err"
# The runner puts each GITHUB_PATH line first in PATH for the next steps.
PATH="$(tac "$GITHUB_PATH" | paste -sd: -):$PATH"
[ "$(command -v mdrun)" = "$mdrun" ]
expect "build.sh: the next steps run the binary under test"

# --- pull.sh ------------------------------------------------------------------
step pull.sh
[ $? = 0 ] && has "$err" 'pulled 0 realizations'
expect "pull.sh: an empty remote pulls nothing, and is no failure" "$out" "$err"
step pull.sh INPUT_REMOTE=
[ $? = 0 ] && has "$out" 'no remote to pull from' && ! grep -q '^::' "$out"
expect "pull.sh: no remote input and no mdrun.json: no pull, no failure" "$out" "$err"
step pull.sh INPUT_REMOTE="$work/missing.git"
[ $? = 0 ] && grep -q '^::warning title=mdrun::mdrun pull .*missing.git failed' "$out"
expect "pull.sh: an unreachable remote is a ::warning, not a failure" "$out" "$err"

# --- check.sh -----------------------------------------------------------------
step check.sh
[ $? = 1 ] && grep -qxF '::error file=docs/answer.md,line=3,title=mdrun check::block sh-1: output is not current' "$out" &&
	grep -qx '+42' "$out"
expect "check.sh: a stale document fails, an ::error on its file and line" "$out" "$err"
[ "$(runs)" = 1 ]
expect "check.sh: the block ran once"
if command -v python3 >/dev/null; then
	python3 - mdrun-junit.xml >"$out" 2>&1 <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
assert len(cases) == 1, cases
c = cases[0]
assert c.get("file") == "docs/answer.md" and c.get("line") == "3", c.attrib
assert c.find("failure") is not None, ET.tostring(c)
assert root.get("failures") == "1", root.attrib
EOF
	expect "check.sh: the JUnit file has the block's failure, its file and line" "$out" mdrun-junit.xml
else
	skip "check.sh: the JUnit file has the block's failure" "python3 missing"
fi
has "$GITHUB_STEP_SUMMARY" 'docs/answer.md:3: block sh-1: output is not current' &&
	has "$GITHUB_STEP_SUMMARY" 'checked 1 document: 0 ok, 1 stale'
expect "check.sh: the step summary names the stale block" "$GITHUB_STEP_SUMMARY"

"$mdrun" -q -i docs/answer.md
git commit -qam rendered && git push -q origin main 2>/dev/null
: >"$GITHUB_STEP_SUMMARY"
step check.sh
[ $? = 0 ] && ! grep -q '^::' "$out" && [ "$(runs)" = 1 ] &&
	has "$GITHUB_STEP_SUMMARY" 'Every document is current'
expect "check.sh: passes once the document is rendered" "$out" "$err" "$GITHUB_STEP_SUMMARY"
if command -v python3 >/dev/null; then
	python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse("mdrun-junit.xml").getroot()
assert root.get("failures") == "0" and root.find(".//failure") is None
assert len(root.findall(".//testcase")) == 1
' >"$out" 2>&1
	expect "check.sh: the JUnit file has no failure then" "$out" mdrun-junit.xml
else
	skip "check.sh: the JUnit file has no failure then" "python3 missing"
fi
step check.sh INPUT_DOCUMENTS='README.md
docs/*.nothing' INPUT_JUNIT=
[ $? = 2 ] && grep -q '^::error title=mdrun::mdrun check could not check' "$out"
expect "check.sh: missing documents are an error (exit 2), annotated" "$out" "$err"
step check.sh INPUT_DOCUMENTS='docs/*.md' INPUT_ARGS='-q' INPUT_JUNIT=
[ $? = 0 ] && ! has "$err" 'ok ('
expect "check.sh: a quoted glob and more options (-q) reach mdrun" "$out" "$err"

# --- push.sh ------------------------------------------------------------------
step push.sh GITHUB_REF=refs/heads/feature
[ $? = 0 ] && [ "$(refs "$work/remote.git")" = 0 ] && has "$out" 'not the default branch'
expect "push.sh: another branch pushes nothing" "$out" "$err"
step push.sh GITHUB_REF=refs/pull/7/merge
[ $? = 0 ] && [ "$(refs "$work/remote.git")" = 0 ]
expect "push.sh: a pull request pushes nothing" "$out" "$err"
step push.sh INPUT_PUSH=false
[ $? = 0 ] && [ "$(refs "$work/remote.git")" = 0 ]
expect "push.sh: push=false pushes nothing, even on the default branch" "$out" "$err"
step push.sh DEFAULT_BRANCH=
[ $? = 0 ] && [ "$(refs "$work/remote.git")" = 0 ]
expect "push.sh: an unknown default branch pushes nothing" "$out" "$err"
step push.sh INPUT_PUSH=maybe
[ $? = 2 ] && grep -q '^::error' "$out" && [ "$(refs "$work/remote.git")" = 0 ]
expect "push.sh: a push input neither true nor false is an error" "$out" "$err"
step push.sh
[ $? = 0 ] && [ "$(refs "$work/remote.git")" = 1 ] && has "$err" 'pushed 1 realization'
expect "push.sh: the default branch pushes the store to the remote" "$out" "$err"
step push.sh INPUT_REMOTE="$work/missing.git"
[ $? != 0 ] && grep -q '^::error title=mdrun::mdrun push .*missing.git failed' "$out"
expect "push.sh: a push that fails fails the step, with an ::error" "$out" "$err"

# --- a fresh clone ------------------------------------------------------------
# An empty store: pulled results are all the check needs.
git clone -q "$work/remote.git" "$work/fresh"
cd "$work/fresh" || exit 1
before=$(runs)
[ ! -e .mdrun ] && [ "$(refs .)" = 0 ]
expect "fresh clone: no store, and git clone brought no results"
step pull.sh GITHUB_WORKSPACE="$work/fresh"
[ $? = 0 ] && has "$err" 'pulled 1 realization'
expect "fresh clone: pull.sh pulls the result" "$out" "$err"
step check.sh GITHUB_WORKSPACE="$work/fresh"
[ $? = 0 ] && has "$err" 'docs/answer.md: ok (1 block: 0 ran, 1 cached)' &&
	[ "$(runs)" = "$before" ]
expect "fresh clone: check.sh then runs no block (0 ran; the counter did not grow)" "$out" "$err"

# The remote from mdrun.json, the input left empty.
git clone -q "$work/remote.git" "$work/fresh2"
cd "$work/fresh2" || exit 1
echo '{ "remote": "origin" }' >mdrun.json
step pull.sh INPUT_REMOTE=
[ $? = 0 ] && has "$err" 'pulled 1 realization from origin'
expect "mdrun.json's remote: pull.sh uses it when the input is empty" "$out" "$err"
step check.sh
[ $? = 0 ] && has "$err" '0 ran, 1 cached' && [ "$(runs)" = "$before" ]
expect "mdrun.json's remote: check.sh then runs no block" "$out" "$err"
step push.sh INPUT_REMOTE=
[ $? = 0 ] && has "$err" 'to origin (1 already there)'
expect "mdrun.json's remote: push.sh uses it too" "$out" "$err"

# --- action.yml -------------------------------------------------------------------
cd "$src" || exit 1
named=$(grep -o 'util/action/[A-Za-z0-9_.-]*\.sh' action.yml | sort -u)
bad=
for f in $named; do [ -f "$f" ] && [ -x "$f" ] || bad="$bad $f"; done
[ -n "$named" ] && [ -z "$bad" ]
expect "action.yml: every util/action/*.sh it runs exists and is executable" <(echo "named: $named; missing or not executable:$bad")
for f in build pull check push; do grep -q "util/action/$f\.sh" action.yml || bad="$bad $f.sh"; done
[ -z "$bad" ]
expect "action.yml: runs build.sh, pull.sh, check.sh and push.sh" <(echo "not run:$bad")

yaml_path=$(path_with yaml)
if [ -n "$yaml_path" ]; then
	PATH=$yaml_path python3 - action.yml util/action >"$out" 2>&1 <<'EOF'
import os, re, sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
runs = a["runs"]
need(runs.get("using") == "composite", "not a composite action")
inputs = a.get("inputs", {})
for name in ("documents", "remote", "junit", "deb", "push"):
    need(name in inputs, "no input " + name)
for name, spec in inputs.items():
    need("default" in spec, "input %s has no default" % name)
    need(spec.get("description"), "input %s has no description" % name)
need(inputs.get("documents", {}).get("default") == ".", "documents: default not .")
need(inputs.get("junit", {}).get("default") == "mdrun-junit.xml", "junit: default")
need(inputs.get("remote", {}).get("default") == "", "remote: default not empty")
text = open(sys.argv[1]).read()
for used in re.findall(r"inputs\.([A-Za-z0-9_-]+)", text):
    need(used in inputs, "inputs.%s is not declared" % used)
cache = [s for s in runs["steps"] if str(s.get("uses", "")).startswith("actions/cache@")]
need(len(cache) == 1 and cache[0]["uses"] == "actions/cache@v4", "one actions/cache@v4 step")
if cache:
    w = cache[0].get("with", {})
    need(w.get("path") == ".mdrun", "cache path is not .mdrun")
    need("hashFiles(" in w.get("key", "") and all(
        x in w.get("key", "") for x in ("*.md", "*.Rmd", "*.qmd", "mdrun.json")),
        "cache key does not hash the documents and mdrun.json")
    need(w.get("restore-keys"), "cache has no restore-keys")
for s in runs["steps"]:
    if "run" not in s:
        continue
    need(s.get("shell") == "bash", "step %r runs without shell: bash" % s.get("name"))
    env = s.get("env", {})
    for k, v in env.items():
        m = re.fullmatch(r"INPUT_([A-Z_]+)", k)
        if m:
            want = "${{ inputs.%s }}" % m.group(1).lower().replace("_", "-")
            need(v == want, "%s is %r, not %r" % (k, v, want))
    # Every INPUT_* the step's script reads is set by the step.
    for script in re.findall(r"util/action/([A-Za-z0-9_.-]+\.sh)", s["run"]):
        body = open(os.path.join(sys.argv[2], script)).read()
        for var in sorted(set(re.findall(r"\b(INPUT_[A-Z_]+|DEFAULT_BRANCH)\b", body))):
            need(var in env, "%s reads %s, which its step does not set" % (script, var))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
	expect "action.yml: parses; composite; inputs with defaults; cache; shell: bash; each script gets its inputs" "$out"
else
	skip "action.yml: parses, and its steps" "python3 has no yaml (Debian: python3-yaml)"
fi

finish
