#!/usr/bin/env bash
# End-to-end tests of mdrun push and pull: local bare repositories as the
# remote (a path, a file:// URL, a remote's name), round trips, and
# forged refs that pull must reject. usage: remote.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

# git makes the remotes, forges refs and reads what push sent.
command -v git >/dev/null || skip_all "git is not installed"

export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
mkdir -p "$HOME"
git config --global user.name t
git config --global user.email t@t
git config --global init.defaultBranch main

A="$work/A"
B="$work/B"
dir="$work/doc"
mkdir -p "$dir"
cat >"$dir/doc.md" <<'EOF'
# Shared

```{sh}
echo hello
```

```{sh}
echo art >"$MDRUN_OUT/a.txt"
printf '#!/bin/sh\necho hi\n' >"$MDRUN_OUT/run.sh"
chmod +x "$MDRUN_OUT/run.sh"
mkdir -p "$MDRUN_OUT/d/empty"
ln -s ../a.txt "$MDRUN_OUT/d/link"
echo to stderr >&2
```

```{sh error=true}
echo failing; exit 3
```
EOF
refs() { git -C "$1" for-each-ref --format='%(refname)' refs/mdrun; }
# nreals STORE: the realizations of STORE, as store ls counts them ("N
# runs, M realizations" for each key).
nreals() {
	MDRUN_STORE=$1 "$mdrun" store ls 2>/dev/null |
		sed -n 's/.* [0-9]* runs\{0,1\}, \([0-9]*\) realizations\{0,1\}  .*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}
# stored STORE REF: whether STORE holds the realization refs/mdrun/KEY/RHASH
# names: a run of it in store show KEY, or its objects/RHASH.
stored() {
	MDRUN_STORE=$1 "$mdrun" store show "${2:11:64}" 2>/dev/null |
		grep -q "^  ${2:76:12}  " || [ -e "$1/objects/${2:76:64}" ]
}
# The checks that read store.db's tables use the sqlite3 CLI.
have_sqlite3=false
command -v sqlite3 >/dev/null && have_sqlite3=true

# --- push ----------------------------------------------------------------
mkdir -p "$dir/A" "$dir/B"
MDRUN_STORE=$A "$mdrun" "$dir/doc.md" -o "$dir/A/out.md" 2>"$dir/err"
{ [ $? = 0 ] && has "$dir/err" "3 ran" && [ "$(nreals "$A")" = 3 ]; }
expect "store A: the document renders, three realizations"
git init -q --bare "$work/bare.git"
MDRUN_STORE=$A "$mdrun" push "$work/bare.git" >"$dir/out" 2>&1
{ [ $? = 0 ] && has "$dir/out" "mdrun: pushed 3 realizations to $work/bare.git (0 already there)"; }
expect "push to a bare repository's path: three pushed"
if $have_sqlite3; then
	sqlite3 "$A/store.db" "SELECT 'refs/mdrun/' || key || '/' || rhash
		FROM real ORDER BY 1" >"$dir/want"
	refs "$work/bare.git" >"$dir/got"
	[ "$(wc -l <"$dir/want")" = 3 ] && same "$dir/want" "$dir/got"
	expect "one ref refs/mdrun/KEY/RHASH per realization" "$dir/want" "$dir/got"
else
	skip "one ref refs/mdrun/KEY/RHASH per realization" "no sqlite3"
fi
ref=$(refs "$work/bare.git" | head -1)
{ git -C "$work/bare.git" cat-file -p "$ref" | grep -q '^author mdrun <mdrun@localhost>' &&
	[ -z "$(git -C "$work/bare.git" log --format=%P -1 "$ref")" ] &&
	git -C "$work/bare.git" cat-file -p "$ref" | grep -qx "mdrun ${ref:11:64} ${ref:76:64}"; }
expect "a ref is a commit without parents, by mdrun, naming key and rhash"
art=$(refs "$work/bare.git" | while read -r r; do
	git -C "$work/bare.git" ls-tree -r "$r" | grep -q 'out/run.sh' && echo "$r"; done)
git -C "$work/bare.git" ls-tree -r "$art" >"$dir/tree"
{ grep -qP '^100755 blob \S+\tout/run.sh$' "$dir/tree" && grep -qP '^100644 blob \S+\tout/a.txt$' "$dir/tree" &&
	grep -qP '^120000 blob \S+\tout/d/link$' "$dir/tree" && grep -qP '^100644 blob \S+\tdrv.json$' "$dir/tree" &&
	grep -qP '\tmeta.json$' "$dir/tree" && grep -qP '\tstdout$' "$dir/tree" && grep -qP '\tstderr$' "$dir/tree"; }
expect "the tree: drv.json, meta.json, stdout, stderr, out/ with modes kept"
MDRUN_STORE=$A "$mdrun" push "file://$work/bare.git" >"$dir/out" 2>&1
{ [ $? = 0 ] && has "$dir/out" "nothing to push to file://$work/bare.git (3 already there)"; }
expect "push again (file:// URL): nothing to push"

# --- pull ----------------------------------------------------------------
MDRUN_STORE=$B "$mdrun" pull "file://$work/bare.git" >"$dir/out" 2>&1
{ [ $? = 0 ] && has "$dir/out" "pulled 3 realizations from file://$work/bare.git (0 already here, 0 rejected)"; }
expect "pull into an empty store: three pulled"
MDRUN_STORE=$B "$mdrun" "$dir/doc.md" -o "$dir/B/out.md" 2>"$dir/err"
{ [ $? = 0 ] && has "$dir/err" "0 ran, 3 cached" && diff -r "$dir/A" "$dir/B" >/dev/null &&
	[ -f "$dir/B/out_files/299001868fb8c02f.sh" ]; }
expect "render on the pulled store runs nothing, same output"
MDRUN_STORE=$B "$mdrun" store verify >"$dir/out" 2>&1
expect "store verify on the pulled store is clean"
# runs BLOCK: the runs store show lists for doc.md's block, ok or failed.
runs() {
	MDRUN_STORE=$B "$mdrun" store show "$dir/doc.md#$1" 2>&1 |
		sed -n 's/^  [0-9a-f]\{12\}  \(ok\|failed\) .*/\1/p' | tr '\n' ' '
}
out=$(MDRUN_STORE=$B "$mdrun" store path "$dir/doc.md#sh-2" 2>/dev/null) || out=
{ [ "$(runs sh-1)" = "ok " ] && [ "$(runs sh-2)" = "ok " ] &&
	[ "$(runs sh-3)" = "failed " ] &&
	(for r in $(refs "$work/bare.git"); do stored "$B" "$r" || exit 1; done) &&
	[ -n "$out" ] && [ -x "$out/run.sh" ] &&
	[ "$(readlink "$out/d/link")" = ../a.txt ] && [ -d "$out/d/empty" ]; }
expect "pulled: run records ok and failed, executable bit, link, empty folder"
[ -z "$(ls -A "$B/tmp")" ] && [ -z "$(ls -A "$A/tmp")" ]
expect "nothing left in tmp/ after push and pull"
MDRUN_STORE=$B "$mdrun" pull "$work/bare.git" >"$dir/out" 2>&1
{ [ $? = 0 ] && has "$dir/out" "pulled 0 realizations from $work/bare.git (3 already here, 0 rejected)"; }
expect "pull again: nothing pulled"
git init -q --bare "$work/bare2.git"
MDRUN_STORE=$B "$mdrun" push -q "$work/bare2.git" >"$dir/out" 2>&1
{ [ $? = 0 ] && [ ! -s "$dir/out" ] &&
	[ "$(git -C "$work/bare.git" for-each-ref refs/mdrun)" = "$(git -C "$work/bare2.git" for-each-ref refs/mdrun)" ]; }
expect "push -q from the pulled store: silent, and the very same commit ids"

# --- only what is missing --------------------------------------------------
printf '\n```{sh}\necho more\n```\n' >>"$dir/doc.md"
MDRUN_STORE=$A "$mdrun" -q "$dir/doc.md" >/dev/null
MDRUN_STORE=$A "$mdrun" push "$work/bare.git" >"$dir/out" 2>&1
has "$dir/out" "pushed 1 realization to $work/bare.git (3 already there)"
expect "push after a new block: only the new realization"
MDRUN_STORE=$B "$mdrun" pull "$work/bare.git" >"$dir/out" 2>&1
has "$dir/out" "pulled 1 realization from $work/bare.git (3 already here, 0 rejected)"
expect "pull after it: only the new realization"

# --- forged refs -------------------------------------------------------------
# evil.git starts as a copy of bare.git; each case forges one ref there
# and pulls into a fresh store.
hello=$(refs "$work/bare.git" | while read -r r; do
	[ "$(git -C "$work/bare.git" show "$r:stdout")" = hello ] && echo "$r"; done)
# forge TREE: the ref of the "hello" realization names a commit of TREE
forge() {
	git -C "$work/evil.git" update-ref "$hello" \
		"$(git -C "$work/evil.git" commit-tree "$1" -m forged)"
}
# pull_fresh NAME: pulls evil.git into store $work/NAME; exit status kept
pull_fresh() {
	MDRUN_STORE="$work/$1" "$mdrun" pull "$work/evil.git" >"$dir/out" 2>&1
}

forge_repo() {
	rm -rf "$work/evil.git"
	git init -q --bare "$work/evil.git"
	git -C "$work/evil.git" fetch -q "$work/bare.git" 'refs/mdrun/*:refs/mdrun/*'
	blob=$(printf 'forged\n' | git -C "$work/evil.git" hash-object -w --stdin)
}
forge_repo
same=$(printf 'HELLO\n' | git -C "$work/evil.git" hash-object -w --stdin)
forge "$(git -C "$work/evil.git" ls-tree "$hello" | sed "s/[0-9a-f]\{40\}\tstdout\$/$same\tstdout/" |
	git -C "$work/evil.git" mktree)"
pull_fresh C1
code=$?
{ [ "$code" = 1 ] && has "$dir/out" "rejected $hello: its content does not match its hash" &&
	has "$dir/out" "pulled 3 realizations" && has "$dir/out" "1 rejected" &&
	! stored "$work/C1" "$hello" && [ -z "$(ls -A "$work/C1/tmp")" ]; }
expect "a ref whose stdout was changed: rejected, not stored, the rest pulled, exit 1" "$dir/out"

forge_repo
meta=$(git -C "$work/evil.git" show "$hello:meta.json" |
	sed '/^\t"stdout_bytes":/d; s/^{$/{\n\t"stdout_bytes":\t99,/' |
	git -C "$work/evil.git" hash-object -w --stdin)
forge "$(git -C "$work/evil.git" ls-tree "$hello" | sed "s/[0-9a-f]\{40\}\tmeta.json\$/$meta\tmeta.json/" |
	git -C "$work/evil.git" mktree)"
pull_fresh C1s
{ [ $? = 1 ] && has "$dir/out" "rejected $hello: meta.json: \"stdout_bytes\" is 99, but stdout has 6 bytes" &&
	! stored "$work/C1s" "$hello"; }
expect "a ref whose meta.json gives stdout another size: rejected, saying so" "$dir/out"

forge_repo
drv=$(printf '{"fields": {"lang": "sh", "code": "rm -rf ~"}}' | git -C "$work/evil.git" hash-object -w --stdin)
forge "$(git -C "$work/evil.git" ls-tree "$hello" | sed "s/[0-9a-f]\{40\}\tdrv.json\$/$drv\tdrv.json/" |
	git -C "$work/evil.git" mktree)"
pull_fresh C2
{ [ $? = 1 ] && has "$dir/out" "rejected $hello: drv.json does not hash to its key" &&
	! stored "$work/C2" "$hello"; }
expect "a ref whose drv.json is not its key's: rejected"

forge_repo
sub=$(printf '100644 blob %s\t..\n' "$blob" | git -C "$work/evil.git" mktree)
forge "$( { git -C "$work/evil.git" ls-tree "$hello"; printf '040000 tree %s\tout\n' "$sub"; } |
	git -C "$work/evil.git" mktree)"
pull_fresh C3
{ [ $? = 1 ] && has "$dir/out" "rejected $hello: an entry named '..' in out" &&
	! stored "$work/C3" "$hello" && ! grep -rqx forged "$work/C3"; }
expect "a tree with an entry named '..': rejected"

# forge_submodule NAME: out/ holds a submodule named NAME
forge_submodule() {
	forge_repo
	sub=$(printf '160000 commit %s\t%s\n' 1111111111111111111111111111111111111111 "$1" |
		git -C "$work/evil.git" mktree --missing)
	forge "$( { git -C "$work/evil.git" ls-tree "$hello"; printf '040000 tree %s\tout\n' "$sub"; } |
		git -C "$work/evil.git" mktree --missing)"
}
forge_submodule sub
pull_fresh C4
{ [ $? = 1 ] && has "$dir/out" "rejected $hello: 'out/sub' is a submodule" &&
	! stored "$work/C4" "$hello"; }
expect "a tree with a submodule: rejected"

forge_submodule $'\033[31mred'
pull_fresh C4e
{ [ $? = 1 ] && has "$dir/out" "rejected $hello: 'out/?[31mred' is a submodule" &&
	! grep -q $'\033' "$dir/out"; }
expect "a name with a terminal escape in a warning: shown as '?', not sent to the terminal" "$dir/out"

forge_repo
forge "$( { git -C "$work/evil.git" ls-tree "$hello"; printf '100644 blob %s\textra\n' "$blob"; } |
	git -C "$work/evil.git" mktree)"
pull_fresh C5
{ [ $? = 1 ] && has "$dir/out" "rejected $hello: unexpected entry 'extra'"; }
expect "a tree with an entry a realization has not: rejected"

forge_repo
git -C "$work/evil.git" update-ref refs/mdrun/not-hex/either "$(git -C "$work/evil.git" rev-parse "$hello")"
pull_fresh C6
{ [ $? = 1 ] && has "$dir/out" "rejected refs/mdrun/not-hex/either: not refs/mdrun/KEY/RHASH" &&
	has "$dir/out" "pulled 4 realizations" && [ "$(nreals "$work/C6")" = 4 ]; }
expect "a ref not named by two hashes: rejected, the others pulled"

# Links that leave out/, in realizations that are otherwise genuine (their
# rhash matches): push does not send them, and pull, given them by another
# tool, rejects them (only the link check can).
for link in ../../../etc/passwd /etc/passwd d/../../x; do
	store="$work/L-$(echo "$link" | tr -c 'a-z\n' _)"
	printf '```{sh name=l}\nln -s %s "$MDRUN_OUT/x"; echo link\n```\n' "$link" >"$dir/link.md"
	MDRUN_STORE=$store "$mdrun" -q "$dir/link.md" >/dev/null 2>&1
	rm -rf "$work/evil.git"
	git init -q --bare "$work/evil.git"
	MDRUN_STORE=$store "$mdrun" push "$work/evil.git" >"$dir/out" 2>&1
	{ [ $? = 1 ] && has "$dir/out" "not sent refs/mdrun/" &&
		has "$dir/out" "link 'x' is absolute or leaves the realization" &&
		has "$dir/out" "1 not sent" &&
		[ -z "$(git --git-dir="$work/evil.git" for-each-ref)" ]; }
	expect "push: a link out/x -> $link is not sent, exit 1" "$dir/out"
	# The commit push would make, forged from the rows: drv.json the
	# key's drv fields, meta.json, stdout and stderr (when not empty) the
	# realization's, out/ its object folder.
	if ! $have_sqlite3; then
		skip "a link out/x -> $link: rejected, nothing written" "no sqlite3"
		continue
	fi
	real=$(MDRUN_STORE=$store "$mdrun" store path "$dir/link.md#l")
	rhash=$(basename "$real")
	key=$(sqlite3 "$store/store.db" "SELECT key FROM real WHERE rhash = '$rhash'")
	chmod -R u+w "$work/wt" 2>/dev/null
	rm -rf "$work/wt" && mkdir -p "$work/wt/out" && cp -a "$real/." "$work/wt/out/" &&
		sqlite3 "$store/store.db" "SELECT writefile('$work/wt/drv.json', fields)
			FROM drv WHERE key = '$key';
			SELECT writefile('$work/wt/meta.json', meta),
				writefile('$work/wt/stdout', stdout)
			FROM real WHERE key = '$key' AND rhash = '$rhash';
			SELECT writefile('$work/wt/stderr', stderr) FROM real
			WHERE key = '$key' AND rhash = '$rhash' AND length(stderr)" >/dev/null
	(export GIT_DIR="$work/evil.git" GIT_WORK_TREE="$work/wt" GIT_INDEX_FILE="$work/evil.idx"
		rm -f "$GIT_INDEX_FILE" && git add -A && tree=$(git write-tree) &&
		commit=$(git commit-tree -m "forged" "$tree") &&
		git update-ref "refs/mdrun/$key/$rhash" "$commit")
	pull_fresh L
	code=$?
	{ [ "$code" = 1 ] && has "$dir/out" "link 'out/x' is absolute or leaves the realization" &&
		[ "$(git --git-dir="$work/evil.git" ls-tree --name-only -r "refs/mdrun/$key/$rhash" | tr '\n' ' ')" = "drv.json meta.json out/x stdout " ] &&
		[ "$(nreals "$work/L")" = 0 ] && [ -z "$(MDRUN_STORE=$work/L "$mdrun" store ls)" ] &&
		[ "$(sqlite3 "$work/L/store.db" "SELECT (SELECT count(*) FROM drv) +
			(SELECT count(*) FROM real) + (SELECT count(*) FROM run)")" = 0 ] &&
		[ -z "$(ls -A "$work/L/objects")" ] && [ -z "$(ls -A "$work/L/tmp")" ]; }
	expect "a link out/x -> $link: rejected, nothing written"
done

# --- a hostile remote: bad refs beside good ones -------------------------------
# Each bad ref costs one warning line naming it and why, never the rest of
# the pull. In a sanitizer build, undefined behaviour halts mdrun.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
H="$work/hostile.git"
cp "$src/tests/e2e/cases/remote/hostile.md" "$dir/hostile.md"
MDRUN_STORE="$work/H" timeout 120 "$mdrun" -q "$dir/hostile.md" >/dev/null 2>&1
git init -q --bare "$H"
MDRUN_STORE="$work/H" timeout 120 "$mdrun" push -q "$H"
# ref_of NAME: the ref of block NAME's realization in $H
ref_of() {
	refs "$H" | while read -r r; do
		[ "$(git -C "$H" show "$r:stdout")" = "$1" ] && echo "$r"; done
}
for n in good near start end future exit size longname emptyname deep; do
	eval "ref_$n=\$(ref_of $n)"
done
# put REF TREE: REF names a commit of TREE
put() { git -C "$H" update-ref "$1" "$(git -C "$H" commit-tree "$2" -m forged)"; }
# set_meta REF FIELD VALUE: REF's meta.json says FIELD: VALUE (first)
set_meta() {
	local m
	m=$(git -C "$H" show "$1:meta.json" | sed "/^\t\"$2\":/d; s/^{\$/{\n\t\"$2\":\t$3,/" |
		git -C "$H" hash-object -w --stdin)
	put "$1" "$(git -C "$H" ls-tree "$1" | sed "s/[0-9a-f]\{40\}\tmeta.json\$/$m\tmeta.json/" |
		git -C "$H" mktree)"
}
# with_out REF TREE: REF's tree gets TREE as out/
with_out() {
	put "$1" "$( { git -C "$H" ls-tree "$1"; printf '040000 tree %s\tout\n' "$2"; } |
		git -C "$H" mktree)"
}
now=$(date +%s)
set_meta "$ref_near" start "$((now + 60))"
set_meta "$ref_start" start 1e300
set_meta "$ref_end" end -1e300
set_meta "$ref_future" start 9000000000
set_meta "$ref_exit" exit 1e300
set_meta "$ref_size" stdout_bytes 2.5
long=$(printf 'a%.0s' $(seq 300))
blob=$(printf 'x\n' | git -C "$H" hash-object -w --stdin)
with_out "$ref_longname" "$(printf '100644 blob %s\t%s\n' "$blob" "$long" | git -C "$H" mktree)"
with_out "$ref_emptyname" "$(printf "100644 \\0$(echo "$blob" | sed 's/../\\x&/g')" |
	git -C "$H" hash-object -t tree --literally -w --stdin)"
# Folders of 250-byte names, 20 deep: a path longer than PATH_MAX.
t=$(printf '100644 blob %s\tf\n' "$blob" | git -C "$H" mktree)
for i in $(seq 20); do
	t=$(printf '040000 tree %s\t%s\n' "$t" "${long:50}" | git -C "$H" mktree)
done
with_out "$ref_deep" "$t"
# A ref named by 300 bytes, which only packed-refs can hold.
git -C "$H" pack-refs --all
{ head -1 "$H/packed-refs"
	{ tail -n +2 "$H/packed-refs"; echo "$(git -C "$H" rev-parse "$ref_good") refs/mdrun/$long"; } |
		sort -k2; } >"$H/packed-refs.new"
mv "$H/packed-refs.new" "$H/packed-refs"
ref_longref=refs/mdrun/$long

# one_warning NAME WHY: out has one line rejecting ref_NAME, and it says WHY
one_warning() {
	local ref
	eval "ref=\$ref_$1"
	[ "$(grep -cF "mdrun: rejected $ref: " "$dir/out")" = 1 ] &&
		grep -F "mdrun: rejected $ref: " "$dir/out" | grep -qF -- "$2"
}
hostile_checks() {
	local via=$1 code=$2 why
	{ [ "$code" = 1 ] && has "$dir/out" "pulled 2 realizations" && has "$dir/out" "9 rejected" &&
		[ "$(wc -l <"$dir/out")" = 10 ]; }
	expect "a hostile remote ($via): the two good refs pulled, nine rejected, exit 1" "$dir/out"
	one_warning start 'meta.json: "start" is 1e+300'
	expect "($via) start 1e300: one warning naming the ref and the field" "$dir/out"
	one_warning end 'meta.json: "end" is -1e+300'
	expect "($via) end -1e300: one warning naming the ref and the field" "$dir/out"
	one_warning future 'meta.json: "start" is 9000000000'
	expect "($via) a start in the year 2255: one warning naming the ref and the field" "$dir/out"
	one_warning exit 'meta.json: "exit" is 1e+300'
	expect "($via) exit 1e300: one warning naming the ref and the field" "$dir/out"
	one_warning size 'meta.json: "stdout_bytes" is 2.5'
	expect "($via) a size of 2.5 bytes: one warning naming the ref and the field" "$dir/out"
	one_warning longname 'a name of 300 bytes in out'
	expect "($via) a 300-byte name in out/: one warning" "$dir/out"
	# Read in place, the tree fails to parse; sent, git's server refuses it.
	if [ "$via" = path ]; then why="'out' is not a tree"; else why='cannot be fetched'; fi
	one_warning emptyname "$why"
	expect "($via) an empty name in out/: one warning" "$dir/out"
	one_warning deep 'too long for this store'
	expect "($via) paths in out/ longer than the system takes: one warning" "$dir/out"
	one_warning longref 'not refs/mdrun/KEY/RHASH'
	expect "($via) a 300-byte ref name: one warning" "$dir/out"
	[ -z "$(ls -A "$work/P-$via/tmp")" ]
	expect "($via) nothing left in tmp/"
}
MDRUN_STORE="$work/P-path" timeout 120 "$mdrun" pull "$H" >"$dir/out" 2>&1
hostile_checks path $?
if command -v python3 >/dev/null; then
	python3 "$src/tests/e2e/cases/remote/git_http.py" "$work" "$work/http.port" &
	server=$!
	for i in $(seq 1 50); do [ -s "$work/http.port" ] && break; sleep 0.1; done
	MDRUN_STORE="$work/P-http" timeout 120 "$mdrun" pull \
		"http://127.0.0.1:$(cat "$work/http.port")/hostile.git" >"$dir/out" 2>&1
	hostile_checks http $?
	kill "$server"
	wait "$server" 2>/dev/null
else
	skip "a hostile remote (http)" "no python3 to serve it"
fi

# blocks_json EXPR: EXPR over the blocks of $dir/json, as compact JSON.
blocks_json() {
	python3 -c 'import json, sys
blocks = json.load(open(sys.argv[1]))["blocks"]
print(json.dumps(eval(sys.argv[2]), separators=(",", ":")))' "$dir/json" "$1"
}
MDRUN_STORE="$work/P-path" timeout 120 "$mdrun" --to json "$dir/hostile.md" >"$dir/json" 2>"$dir/err"
{ [ $? = 0 ] && ! has "$dir/err" "runtime error" &&
	[ "$(blocks_json '[b["name"] for b in blocks if b["cached"]]')" = '["good","near"]' ]; }
expect "--to json after the pull: good and near cached, the rejected ones ran" "$dir/err"
# A store holding times from before pulls checked them: the good block's
# row in table real says it started at -1e300 and ended at 1e300, in its
# meta (what push sends) and in its columns (what a render reads).
if $have_sqlite3; then
	key=$(MDRUN_STORE="$work/P-path" "$mdrun" store show "$dir/hostile.md#good" |
		sed -n 's/^key: \([0-9a-f]\{64\}\)$/\1/p')
	sqlite3 "$work/P-path/store.db" "UPDATE real SET meta = json_set(meta,
		'$.start', -1e300, '$.end', 1e300), start_time = -1e300,
		end_time = 1e300 WHERE key = '$key'"
	MDRUN_STORE="$work/P-path" timeout 120 "$mdrun" --to json "$dir/hostile.md" >"$dir/json" 2>"$dir/err"
	{ [ $? = 0 ] && [ -n "$key" ] && ! has "$dir/err" "runtime error" &&
		[ "$(blocks_json '["null" if b["duration"] is None else "number"
			for b in blocks if b["name"] in ("good", "near")]')" = '["null","number"]' ]; }
	expect "--to json of times 1e300 apart: duration null, no undefined behaviour" "$dir/err"
	git init -q --bare "$work/sent.git"
	MDRUN_STORE="$work/P-path" timeout 120 "$mdrun" push "$work/sent.git" >"$dir/out" 2>&1
	{ [ $? = 1 ] && has "$dir/out" "pushed 9 realizations" && has "$dir/out" "1 not sent" &&
		[ "$(grep -c 'not sent refs/mdrun/' "$dir/out")" = 1 ] &&
		has "$dir/out" "not sent $ref_good: meta.json: \"start\" is -1e+300" &&
		[ "$(refs "$work/sent.git" | wc -l)" = 9 ]; }
	expect "push: a local realization with a start of -1e300 is not sent, the rest are, exit 1" "$dir/out"
else
	skip "--to json of times 1e300 apart: duration null, no undefined behaviour" \
		"no sqlite3"
	skip "push: a local realization with a start of -1e300 is not sent, the rest are, exit 1" \
		"no sqlite3"
fi
unset UBSAN_OPTIONS

# --- credentials over https (a stub server that logs what it is sent) --------
cat >"$work/stub.py" <<'EOF'
import http.server, sys
log = open(sys.argv[1], "a")
class Stub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        auth = self.headers.get("Authorization")
        log.write("%s %s\n" % (self.path, auth))
        log.flush()
        if auth and "deny" not in self.path:
            self.send_response(404)
        else:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="stub"')
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Stub)
open(sys.argv[2], "w").write(str(server.server_port))
server.serve_forever()
EOF
python3 "$work/stub.py" "$work/stub.log" "$work/stub.port" &
stub=$!
for i in $(seq 1 50); do [ -s "$work/stub.port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/stub.port")"
MDRUN_STORE=$A MDRUN_GIT_TOKEN=secret "$mdrun" push "$url/r.git" >"$dir/out" 2>&1
{ [ $? = 2 ] && has "$work/stub.log" "Basic $(printf x-access-token:secret | base64)" &&
	has "$dir/out" "404"; }
expect "https asking for a password gets MDRUN_GIT_TOKEN (user x-access-token); a 404 is exit 2"
MDRUN_STORE=$A "$mdrun" pull "$url/r.git" >"$dir/out" 2>&1
{ [ $? = 2 ] && has "$dir/out" "no token was given (MDRUN_GIT_TOKEN)"; }
expect "https asking for a password without a token: exit 2, says so"
: >"$work/stub.log"
MDRUN_STORE=$A MDRUN_GIT_TOKEN=wrong MDRUN_GIT_USERNAME=me "$mdrun" pull "$url/deny.git" >"$dir/out" 2>&1
{ [ $? = 2 ] && has "$dir/out" "authentication failed" && has "$work/stub.log" "Basic $(printf me:wrong | base64)" &&
	[ "$(wc -l <"$work/stub.log")" -le 5 ]; }
expect "a refused token: mdrun gives up after a few tries, exit 2"
git init -q "$work/ci"
git -C "$work/ci" config "http.$url/.extraheader" "AUTHORIZATION: basic Y2k6dG9rZW4="
(cd "$work/ci" && MDRUN_STORE=$A "$mdrun" pull "$url/r.git" >"$dir/out" 2>&1)
{ [ $? = 2 ] && has "$work/stub.log" "upload-pack basic Y2k6dG9rZW4="; }
expect "http.<url>.extraheader of the current repository is sent (actions/checkout)"
kill "$stub"
wait "$stub" 2>/dev/null

# --- REMOTE forms, default and errors ------------------------------------------
repo="$work/repo"
mkdir -p "$repo/sub"
git init -q "$repo"
git -C "$repo" remote add share "$work/bare.git"
git init -q --bare "$work/pushto.git"
(cd "$repo/sub" && MDRUN_STORE="$work/R" "$mdrun" pull share >"$dir/out" 2>&1)
{ [ $? = 0 ] && has "$dir/out" "pulled 4 realizations from share"; }
expect "REMOTE as the name of a remote of the current repository"
git -C "$repo" remote set-url --push share "$work/pushto.git"
(cd "$repo" && MDRUN_STORE="$work/R" "$mdrun" push share >"$dir/out" 2>&1)
{ [ $? = 0 ] && [ "$(refs "$work/pushto.git" | wc -l)" = 4 ]; }
expect "push to a remote's name uses its push URL"
git init -q "$work/plain"
MDRUN_STORE=$A "$mdrun" push "$work/plain" >"$dir/out" 2>&1
{ [ $? = 0 ] && [ "$(refs "$work/plain" | wc -l)" = 4 ]; }
expect "push to a non-bare repository's path"

printf '{ "remote": "../fresh.git" }\n' >"$repo/mdrun.json"
git init -q --bare "$work/fresh.git"
(cd "$repo/sub" && MDRUN_STORE=$A "$mdrun" push >"$dir/out" 2>&1)
{ [ $? = 0 ] && has "$dir/out" "pushed 4 realizations to ../fresh.git" &&
	[ "$(refs "$work/fresh.git" | wc -l)" = 4 ]; }
expect "no REMOTE: mdrun.json at the repository root, a path relative to it"
printf '{ "remote": "share" }\n' >"$repo/sub/mdrun.json"
(cd "$repo/sub" && MDRUN_STORE="$work/R2" "$mdrun" pull >"$dir/out" 2>&1)
{ [ $? = 0 ] && has "$dir/out" "pulled 4 realizations from share"; }
expect "no REMOTE: mdrun.json in the current folder first"
printf '{\n  "remote": 7\n}\n' >"$repo/sub/mdrun.json"
(cd "$repo/sub" && "$mdrun" pull >"$dir/out" 2>&1)
{ [ $? = 2 ] && has "$dir/out" "sub/mdrun.json:2:3: remote: expected a non-empty string"; }
expect "\"remote\" not a string: a config error with its place, exit 2"
rm "$repo/sub/mdrun.json" "$repo/mdrun.json"
(cd "$repo/sub" && "$mdrun" push >"$dir/out" 2>&1)
{ [ $? = 2 ] && has "$dir/out" 'mdrun: no remote given (mdrun push REMOTE, or "remote" in mdrun.json)'; }
expect "no remote anywhere: exit 2 with the message"
"$mdrun" pull "$work/nowhere.git" >"$dir/out" 2>&1
{ [ $? = 2 ] && has "$dir/out" "nowhere.git" && [ "$(wc -l <"$dir/out")" = 1 ]; }
expect "an unreachable remote path: one line, exit 2"
"$mdrun" push "file://$work/nowhere.git" >"$dir/out" 2>&1
{ [ $? = 2 ] && has "$dir/out" "file://$work/nowhere.git"; }
expect "an unreachable file:// URL: exit 2"
"$mdrun" push a b >"$dir/out" 2>&1
[ $? = 2 ]
expect "two remotes: usage error"
"$mdrun" pull --help >"$dir/out" 2>&1
{ [ $? = 0 ] && has "$dir/out" "refs/mdrun/KEY/RHASH" && has "$dir/out" "MDRUN_GIT_TOKEN"; }
expect "pull --help explains refs and credentials"

finish
