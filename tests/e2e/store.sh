#!/usr/bin/env bash
# End-to-end tests of the store: crashes at every commit and removal step
# and at random instants, concurrent renders, tampering, gc, store
# commands, non-deterministic blocks. usage: store.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

verify_clean() { "$mdrun" store verify >"$work/verify.out" 2>&1; }
tmp_empty() { [ -z "$(ls -A "$MDRUN_STORE/tmp")" ]; }
runs_of() { "$mdrun" store ls | awk -v n="$1" '$2 == n { print $4 }'; }

# --- kill -9 at each step of a commit ---------------------------------
# A new key is published whole; a new realization of a known key (here by
# --rebuild of a block whose output changes) goes its own way.
dir="$work/crash"
mkdir -p "$dir"
printf '```{sh}\necho one\n```\n\n```{sh session=none}\ndate +%%N; echo >&2 err\n```\n' >"$dir/doc.md"
for kind in new known; do
	for point in commit:built commit:renamed commit:published commit:recorded; do
		[ "$kind" = new ] && [ "$point" = commit:published ] && continue
		export MDRUN_STORE="$work/store-$kind-$point"
		flags=
		if [ "$kind" = known ]; then
			"$mdrun" -q "$dir/doc.md" >/dev/null
			flags=--rebuild
		fi
		# in the background: the shell does not announce the kill
		MDRUN_CRASH_AT=$point "$mdrun" -q $flags "$dir/doc.md" >/dev/null 2>&1 &
		wait $! 2>/dev/null
		code=$?
		[ "$code" = 137 ]
		expect "crash at $point ($kind key): the process died by SIGKILL"
		verify_clean
		expect "crash at $point ($kind key): store verify is clean"
		"$mdrun" -q "$dir/doc.md" -o "$dir/out.md" 2>"$dir/err"
		{ [ $? = 0 ] && shows "$dir/out.md" sh-1 one && shows "$dir/out.md" sh-2 err; }
		expect "crash at $point ($kind key): the next render completes"
		tmp_empty
		expect "crash at $point ($kind key): what the dead process left in tmp/ is swept"
		verify_clean
		expect "crash at $point ($kind key): clean after the re-render"
	done
done
export MDRUN_STORE="$work/store"

# --- kill -9 during removal --------------------------------------------
for point in remove:unrecorded remove:moved; do
	export MDRUN_STORE="$work/store-$point"
	printf '```{sh}\necho removable\n```\n' >"$dir/rm.md"
	"$mdrun" -q "$dir/rm.md" >/dev/null
	key=$("$mdrun" store ls | awk '{ print $1 }')
	MDRUN_CRASH_AT=$point "$mdrun" store rm "$key" >/dev/null 2>&1 &
	wait $! 2>/dev/null
	[ $? = 137 ]
	expect "crash at $point: the process died by SIGKILL"
	verify_clean
	expect "crash at $point: store verify is clean"
	"$mdrun" "$dir/rm.md" -o "$dir/rm.out" 2>"$dir/err"
	{ [ $? = 0 ] && shows "$dir/rm.out" sh-1 removable && has "$dir/err" "1 ran"; }
	expect "crash at $point: the block runs again and the render completes"
done
export MDRUN_STORE="$work/store"

# --- kill -9 at random instants, many times ----------------------------
export MDRUN_STORE="$work/store-random"
{
	for i in 1 2 3 4 5 6; do
		printf '```{sh}\nsleep 0.0%d; echo block %d; head -c 20000 /dev/zero | tr "\\\\0" x\n```\n\n' "$i" "$i"
	done
} >"$dir/slow.md"
problems=0
for i in $(seq 1 25); do
	"$mdrun" -q --rebuild "$dir/slow.md" >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	verify_clean || { problems=$((problems + 1)); cat "$work/verify.out"; }
done
[ "$problems" = 0 ]
expect "25 random kill -9 during renders: store verify clean every time"
"$mdrun" -q "$dir/slow.md" -o "$dir/slow.out"
code=$?
for i in 1 2 3 4 5 6; do
	shows "$dir/slow.out" "$i" "block $i" || code=1
done
{ [ "$code" = 0 ] && verify_clean; }
expect "after the kills, a render completes with every output"
export MDRUN_STORE="$work/store"

# --- concurrent renders on one store -----------------------------------
for procs in 2 4; do
	export MDRUN_STORE="$work/store-par$procs"
	dir="$work/par$procs"
	mkdir -p "$dir"
	{
		for b in a b c; do
			printf '```{sh name=%s}\necho ran >> %s.count; sleep 0.2; echo %s done\n```\n\n' "$b" "$b" "$b"
		done
	} >"$dir/doc.md"
	pids=
	for p in $(seq 1 "$procs"); do
		"$mdrun" -q "$dir/doc.md" -o "$dir/out$p.md" &
		pids="$pids $!"
	done
	codes=0
	for pid in $pids; do wait "$pid" || codes=$((codes + 1)); done
	[ "$codes" = 0 ]
	expect "$procs concurrent renders: all succeed"
	all_same=0
	for p in $(seq 2 "$procs"); do same "$dir/out1.md" "$dir/out$p.md" || all_same=1; done
	[ "$all_same" = 0 ]
	expect "$procs concurrent renders: identical outputs"
	{ [ "$(cat "$dir/a.count" "$dir/b.count" "$dir/c.count" | wc -l)" = 3 ]; }
	expect "$procs concurrent renders: each block ran once"
	{ [ "$(runs_of a)" = 1 ] && [ "$(runs_of b)" = 1 ] && [ "$(runs_of c)" = 1 ] && verify_clean; }
	expect "$procs concurrent renders: one realization per key, store clean"
done
export MDRUN_STORE="$work/store"

# --- tampering ---------------------------------------------------------
dir="$work/tamper"
mkdir -p "$dir"
printf '```{sh}\necho honest\n```\n' >"$dir/doc.md"
"$mdrun" -q "$dir/doc.md" >/dev/null
verify_clean
expect "verify: clean store exits 0"
real=$("$mdrun" store path "$dir/doc.md#sh-1")
chmod u+w "$real" "$real/stdout"
echo forged >"$real/stdout"
"$mdrun" store verify >"$dir/v.out" 2>&1
code=$?
{ [ "$code" = 1 ] && has "$dir/v.out" "$real: its content does not match its hash"; }
expect "verify: a changed output is reported with its path, exit 1"
rm -f "$real/meta.json"
"$mdrun" store verify >"$dir/v.out" 2>&1
{ [ $? = 1 ] && has "$dir/v.out" "meta.json: missing realization metadata"; }
expect "verify: a missing meta.json is named, not a crash"
"$mdrun" "$dir/doc.md" >/dev/null 2>"$dir/err"
{ [ $? = 2 ] && has "$dir/err" "meta.json: missing realization metadata"; }
expect "render on a damaged store: a one-line error naming the file, exit 2"
key=$("$mdrun" store ls | awk '{ print $1 }')
"$mdrun" store rm "$key" >/dev/null
verify_clean
expect "store rm removes the damaged key; verify is clean again"

# --- store commands ----------------------------------------------------
export MDRUN_STORE="$work/store-cmds"
dir="$work/cmds"
mkdir -p "$dir"
printf '```{sh name=hello}\necho hello\n```\n' >"$dir/doc.md"
"$mdrun" -q "$dir/doc.md" >/dev/null
"$mdrun" store ls >"$dir/ls"
{ has "$dir/ls" "hello" && has "$dir/ls" "doc.md:1" && has "$dir/ls" "1 run, 1 realization"; }
expect "store ls: key, block name, document, runs"
key=$(awk '{ print $1 }' "$dir/ls")
"$mdrun" store show "${key:0:6}" >"$dir/show"
{ has "$dir/show" "lang: sh" && has "$dir/show" "    echo hello" && has "$dir/show" "shown (latest)"; }
expect "store show by key prefix: the drv and the shown realization"
"$mdrun" store show "$dir/doc.md#hello" >"$dir/show2"
same "$dir/show" "$dir/show2"
expect "store show DOC#NAME is the same key"
[ "$(cat "$("$mdrun" store path "$dir/doc.md#hello")/stdout")" = hello ]
expect "store path: the realization folder"
"$mdrun" store show ffff >/dev/null 2>"$dir/err"
{ [ $? = 2 ] && has "$dir/err" "no key in the store starts with 'ffff'"; }
expect "store show: an unknown key is a clear error, exit 2"
"$mdrun" store show "$dir/doc.md#nope" >/dev/null 2>"$dir/err"
{ [ $? = 2 ] && has "$dir/err" "has no executable block named 'nope'"; }
expect "store show: an unknown block name is a clear error"
"$mdrun" store verify >"$dir/v.out"
has "$dir/v.out" "verified 1 key: 0 problems"
expect "store verify counts one key in the singular" "$dir/v.out"
"$mdrun" store >"$dir/out" 2>"$dir/err"
{ [ $? = 2 ] && [ ! -s "$dir/out" ] && [ "$(wc -l <"$dir/err")" = 1 ] &&
	has "$dir/err" "mdrun store --help"; }
expect "store with no command: one line pointing at 'mdrun store --help', exit 2" "$dir/err"
for cmd in store gc check plan push pull; do
	for opt in --help -h; do
		"$mdrun" $cmd $opt >"$dir/out" 2>"$dir/err"
		{ [ $? = 0 ] && has "$dir/out" "usage: mdrun" && [ ! -s "$dir/err" ]; }
		expect "$cmd $opt: the help on stdout, exit 0" "$dir/err"
	done
done

# --- non-determinism: nouts, match, --rebuild --------------------------
printf '```{sh nouts=3, match=all, session=none}\necho x >> n.count; wc -l < n.count\n```\n' >"$dir/nd.md"
"$mdrun" -q "$dir/nd.md" -o "$dir/nd.out"
{ [ "$(wc -l <"$dir/n.count")" = 3 ] && [ "$(grep -c '^\*realization [123] of 3' "$dir/nd.out")" = 3 ]; }
expect "nouts=3 runs three times; match=all shows three labelled realizations"
"$mdrun" -q "$dir/nd.md" -o "$dir/nd.out2"
{ [ "$(wc -l <"$dir/n.count")" = 3 ] && same "$dir/nd.out" "$dir/nd.out2"; }
expect "nouts=3: the next render runs nothing and shows the same"
"$mdrun" store show "$dir/nd.md#sh-1" >"$dir/show"
has "$dir/show" "non-deterministic"
expect "store show says a key with several realizations is non-deterministic"
printf '```{sh name=now}\necho x >> r.count; wc -l < r.count\n```\n' >"$dir/rb.md"
"$mdrun" -q "$dir/rb.md" -o "$dir/rb1"
"$mdrun" -q --rebuild=now "$dir/rb.md" -o "$dir/rb2"
{ [ "$(wc -l <"$dir/r.count")" = 2 ] && shows "$dir/rb2" now 2 && shows "$dir/rb1" now 1; }
expect "--rebuild=NAME runs a cached block again and shows the new realization"
"$mdrun" -q --rebuild=nope "$dir/rb.md" >/dev/null 2>"$dir/err"
{ [ $? = 2 ] && has "$dir/err" "has no block named 'nope'"; }
expect "--rebuild with an unknown name: exit 2"

# --- gc ------------------------------------------------------------------
export MDRUN_STORE="$work/store-gc"
dir="$work/gc"
mkdir -p "$dir"
printf '```{sh}\necho a1\n```\n\n```{sh}\necho a2\n```\n' >"$dir/a.md"
printf '```{sh}\necho b1\n```\n' >"$dir/b.md"
"$mdrun" -q "$dir/a.md" >/dev/null
"$mdrun" -q "$dir/b.md" >/dev/null
nkeys() { "$mdrun" store ls | wc -l; }
"$mdrun" gc >"$dir/gc.out"
{ [ "$(nkeys)" = 3 ] && has "$dir/gc.out" "removed 0 keys"; }
expect "gc keeps every key a document's last render used"
rm "$dir/b.md"
"$mdrun" gc --dry-run >"$dir/gc.out"
{ [ "$(nkeys)" = 3 ] && has "$dir/gc.out" "would remove 1 key"; }
expect "gc --dry-run says what it would remove and removes nothing"
"$mdrun" gc >"$dir/gc.out"
{ [ "$(nkeys)" = 2 ] && has "$dir/gc.out" "removed 1 key and " && has "$dir/gc.out" "document gone"; }
expect "gc drops the root of a deleted document and removes its keys"
sed -i 's/echo a2/echo a2-changed/' "$dir/a.md"
"$mdrun" -q "$dir/a.md" >/dev/null
"$mdrun" gc --older-than 1 >/dev/null
[ "$(nkeys)" = 3 ]
expect "gc --older-than 1 keeps an unrooted key that ran today"
"$mdrun" gc >/dev/null
{ [ "$(nkeys)" = 2 ] && "$mdrun" "$dir/a.md" 2>&1 >/dev/null | grep -q "0 ran"; }
expect "gc removes the key of edited-away code; the document stays cached"
printf '```{sh name=t}\ndate +%%N\n```\n' >"$dir/t.md"
for i in 1 2 3; do "$mdrun" -q --rebuild "$dir/t.md" >/dev/null; done
[ "$(runs_of t)" = 3 ]
expect "three rebuilds of a non-deterministic block: three realizations"
"$mdrun" gc --keep-last 1 >"$dir/gc.out"
{ [ "$(runs_of t)" = 2 ] && has "$dir/gc.out" "removed 0 keys and 1 realization" && verify_clean; }
expect "gc --keep-last 1 keeps the newest realization and the first"
printf 'ok\n' >"$dir/state"
printf '```{sh name=flaky}\ngrep -qx ok state || exit 1; echo fine\n```\n' >"$dir/f.md"
"$mdrun" -q "$dir/f.md" >/dev/null
printf 'broken\n' >"$dir/state"
"$mdrun" -q --rebuild=flaky "$dir/f.md" >/dev/null 2>&1
"$mdrun" gc --keep-last 1 >/dev/null
"$mdrun" store show "$dir/f.md#flaky" >"$dir/show"
{ grep -q '  ok ' "$dir/show" && grep -q '  failed ' "$dir/show"; }
expect "gc --keep-last 1 keeps the latest success, not only a newer failure"
"$mdrun" gc "$dir/t.md" >/dev/null
[ "$(nkeys)" = 1 ]
expect "gc DOC keeps only what the named document uses"

# --- what crashes and damage leave behind -------------------------------
export MDRUN_STORE="$work/store-orphan"
printf '```{sh name=o session=none}\ndate +%%N\n```\n' >"$dir/o.md"
"$mdrun" -q "$dir/o.md" >/dev/null
MDRUN_CRASH_AT=commit:published "$mdrun" -q --rebuild "$dir/o.md" >/dev/null 2>&1 &
wait $! 2>/dev/null
"$mdrun" gc >"$dir/gc.out"
{ has "$dir/gc.out" "unrecorded" && [ "$("$mdrun" store ls | awk '{ print $6 }')" = 1 ] && verify_clean; }
expect "gc removes a realization a kill left without its run record"
real=$("$mdrun" store path "$dir/o.md#o")
chmod u+w "$real" "$real/meta.json"
: >"$real/meta.json"
"$mdrun" -q "$dir/o.md" >/dev/null 2>"$dir/err"
{ [ $? = 2 ] && has "$dir/err" "render with --rebuild to replace it"; }
expect "a damaged realization: the error says how to repair it"
printf '```{sh name=o session=none}\necho fixed\n```\n' >"$dir/p.md"
"$mdrun" -q --rebuild "$dir/o.md" >/dev/null 2>&1
"$mdrun" store verify >/dev/null 2>&1 || "$mdrun" gc --keep-last 1 >/dev/null
"$mdrun" -q "$dir/o.md" >/dev/null 2>&1
expect "after --rebuild the document renders again"
export MDRUN_STORE="$work/store-gc"
"$mdrun" gc --keep-last 0 >/dev/null 2>"$dir/err"
[ $? = 2 ]
expect "gc --keep-last 0: usage error"

# --- liveness by lock, not by PID ----------------------------------------
# hold PATH: a process that holds an flock(2) on PATH (a file or a folder)
# until killed, as an owner in another PID namespace would; sets holder.
hold() {
	rm -f "$work/held"
	python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(120)' "$1" "$work/held" &
	holder=$!
	for _ in $(seq 100); do [ -e "$work/held" ] && return 0; sleep 0.1; done
	return 1
}
export MDRUN_STORE="$work/store-owners"
"$mdrun" store ls >/dev/null
t=$MDRUN_STORE/tmp
# PID 999999 does not exist here; its owner lives on in "another
# container", holding its lock.
mkdir -p "$t/999999-oalive-0/out" "$t/999998-odead-0/out" "$t/999997-onolock-0"
echo partial >"$t/999999-oalive-0/out/f"
echo partial >"$t/999998-odead-0/out/f"
: >"$t/999999-oalive.lock"
: >"$t/999998-odead.lock"
hold "$t/999999-oalive.lock"
"$mdrun" store ls >/dev/null
{ [ -e "$t/999999-oalive-0/out/f" ] && [ -e "$t/999999-oalive.lock" ]; }
expect "tmp/: a folder whose owner holds its lock stays, though no process has its PID here"
{ [ ! -e "$t/999998-odead-0" ] && [ ! -e "$t/999998-odead.lock" ] && [ ! -e "$t/999997-onolock-0" ]; }
expect "tmp/: folders of owners that hold no lock (or have no lock file) are swept"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
"$mdrun" store ls >/dev/null
tmp_empty
expect "tmp/: once its owner is gone, its folder and lock file are swept"
if timeout 10 unshare -p -f --mount-proc true >/dev/null 2>&1; then
	# A real PID namespace: a slow render in one, a render beside it.
	mkdir -p "$work/ns"
	printf '```{sh name=slow}\nsleep 2; echo a > "$MDRUN_OUT/a.txt"; echo slow\n```\n' >"$work/ns/slow.md"
	printf '```{sh name=quick}\necho quick\n```\n' >"$work/ns/quick.md"
	timeout 60 unshare -p -f --mount-proc "$mdrun" -q "$work/ns/slow.md" \
		-o "$work/ns/slow.out.md" 2>"$work/ns/err" &
	ns=$!
	sleep 1
	"$mdrun" -q "$work/ns/quick.md" >/dev/null
	wait "$ns"
	{ [ $? = 0 ] && region "$work/ns/slow.out.md" slow | grep -q '^\[a\.txt\](' &&
		verify_clean; }
	expect "a render in another PID namespace keeps its tmp/ folder while another render sweeps" "$work/ns/err"
else
	skip "a render in another PID namespace keeps its tmp/ folder while another render sweeps" \
		"unshare -p (a real PID namespace) is not permitted here"
fi
export MDRUN_STORE="$work/store"

# --- "latest" is the latest committed here --------------------------------
export MDRUN_STORE="$work/store-order"
dir="$work/order"
mkdir -p "$dir"
printf '```{sh name=n session=none}\necho x >> n.count; wc -l < n.count\n```\n' >"$dir/n.md"
(cd "$dir" && "$mdrun" -q n.md -o n1.md)
# The run, as a record of an older mdrun dated in the year 2255 (as a
# pull of a realization that says it started then used to make it).
runs=$(echo "$MDRUN_STORE"/store/*/runs)
rec=$(ls "$runs")
rhash=$(echo "$rec" | grep -o '[0-9a-f]\{64\}')
chmod u+w "$runs"
mv "$runs/$rec" "$runs/09006768000000000000-$rhash-ok"
(cd "$dir" && "$mdrun" -q --rebuild n.md -o n2.md && "$mdrun" -q n.md -o n3.md)
{ shows "$dir/n1.md" n 1 && shows "$dir/n2.md" n 2 && shows "$dir/n3.md" n 2; }
expect "a run dated 2255 is not the latest after a local --rebuild: the rebuild's output shows"
"$mdrun" store show "$dir/n.md#n" >"$dir/show"
{ has "$dir/show" "runs: 2" && grep '  ok  ' "$dir/show" | head -1 | grep -q ' 2255-' &&
	grep '  ok  ' "$dir/show" | tail -1 | grep -q 'shown (latest)'; }
expect "store show lists the old record first and marks the rebuild latest" "$dir/show"
(cd "$dir" && "$mdrun" -q --rebuild n.md -o n4.md && "$mdrun" -q n.md -o n5.md)
{ shows "$dir/n5.md" n 3 && [ "$(ls "$runs" | grep -c '^s')" = 2 ]; }
expect "runs committed here are numbered in commit order"
export MDRUN_STORE="$work/store"

# --- what a killed writer leaves beside its output ------------------------
dir="$work/leftover"
mkdir -p "$dir"
export MDRUN_STORE="$work/store-leftover"
printf '```{sh name=w}\necho written\n```\n' >"$dir/w.md"
"$mdrun" -q "$dir/w.md" -o "$dir/a.md"
MDRUN_CRASH_AT=write:renaming "$mdrun" -q "$dir/w.md" -o "$dir/b.md" >/dev/null 2>&1 &
wait $! 2>/dev/null
code=$?
{ [ "$code" = 137 ] && ls "$dir" | grep -q '^b\.md\.mdrun-tmp\.'; }
expect "kill -9 between writing -o's temporary file and renaming it leaves it (exit $code)"
"$mdrun" -q "$dir/w.md" -o "$dir/b.md"
{ [ $? = 0 ] && shows "$dir/b.md" w written && ! ls -A "$dir" | grep -q mdrun-tmp; }
expect "the next write of that output removes what the dead writer left"
: >"$dir/a.md.mdrun-tmp.stale1"
: >"$dir/a.md.mdrun-tmp.alive1"
: >"$dir/other.md.mdrun-tmp.stale2"
hold "$dir/a.md.mdrun-tmp.alive1"
"$mdrun" -q "$dir/w.md" -o "$dir/a.md"
{ [ ! -e "$dir/a.md.mdrun-tmp.stale1" ] && [ -e "$dir/a.md.mdrun-tmp.alive1" ] &&
	[ -e "$dir/other.md.mdrun-tmp.stale2" ]; }
expect "an unchanged output: its dead writer's file goes; a live writer's, and another output's, stay"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
roots=$MDRUN_STORE/roots
root=$(ls "$roots")
: >"$roots/$root.mdrun-tmp.stale3"
"$mdrun" -q "$dir/w.md" >/dev/null
[ "$(ls -A "$roots")" = "$root" ]
expect "a root record's dead writer's file goes at the next render of its document"

# --- check --fresh leaves no store behind ---------------------------------
dir="$work/fresh"
mkdir -p "$dir/tmp"
printf '```{sh}\nsleep 30\n```\n' >"$dir/slow.md"
# fresh_started: whether a check --fresh's store is made (10 s at most).
fresh_started() {
	for _ in $(seq 100); do
		ls -d "$dir"/tmp/mdrun-check-*/store >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# (No timeout: the block's sleep bounds each, and the signals go to mdrun.)
for sig in TERM INT; do
	TMPDIR=$dir/tmp "$mdrun" check --fresh "$dir/slow.md" >/dev/null 2>&1 &
	pid=$!
	fresh_started
	kill -$sig "$pid"
	wait "$pid"
	code=$?
	{ [ "$code" -gt 128 ] && [ -z "$(ls -A "$dir/tmp")" ]; }
	expect "check --fresh stopped by SIG$sig removes its store (exit $code)"
done
TMPDIR=$dir/tmp "$mdrun" check --fresh "$dir/slow.md" >/dev/null 2>&1 &
pid=$!
fresh_started
kill -9 "$pid"
wait "$pid" 2>/dev/null
mkdir "$dir/tmp/mdrun-check-alive"
hold "$dir/tmp/mdrun-check-alive"
printf '# nothing to run\n' >"$dir/none.md"
TMPDIR=$dir/tmp timeout 60 "$mdrun" check --fresh "$dir/none.md" >/dev/null 2>&1
{ [ $? = 0 ] && [ "$(ls -A "$dir/tmp")" = mdrun-check-alive ]; }
expect "the next check --fresh removes the store of a check killed with -9, not a live one's"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# --- a document in a git repository -------------------------------------
if command -v git >/dev/null; then
	dir="$work/repo"
	mkdir -p "$dir/docs"
	printf '```{sh name=where}\npwd | sed "s|.*/||"\n```\n' >"$dir/docs/page.md"
	(cd "$dir" && git init -q && git add . &&
		git -c user.name=t -c user.email=t@t commit -qm init) >/dev/null 2>&1
	head=$(cd "$dir" && git rev-parse HEAD)
	(unset MDRUN_STORE; cd "$dir/docs" && "$mdrun" -q page.md >/dev/null)
	[ -d "$dir/.mdrun/store" ] && [ ! -e "$dir/docs/.mdrun" ]
	expect "in a repository the store is .mdrun at its root"
	real=$(unset MDRUN_STORE; cd "$dir" && "$mdrun" store path docs/page.md#where)
	json_has() { grep -q "\"$2\":[[:space:]]*$3" "$1"; }
	{ json_has "$real/meta.json" commit "\"$head\"" && json_has "$real/meta.json" dirty false &&
		json_has "$real/../drv.json" dir '"docs"'; }
	expect "meta.json records the commit and a clean document; the key has the folder relative to the root"
	printf '\n```{sh name=new}\necho new\n```\n' >>"$dir/docs/page.md"
	(unset MDRUN_STORE; cd "$dir" && "$mdrun" -q docs/page.md >/dev/null)
	real=$(unset MDRUN_STORE; cd "$dir" && "$mdrun" store path docs/page.md#new)
	json_has "$real/meta.json" dirty true
	expect "meta.json says when the document differs from the commit"
else
	skip "in a repository the store is .mdrun at its root" \
		"git is not installed"
	skip "meta.json records the commit and a clean document; the key has the folder relative to the root" \
		"git is not installed"
	skip "meta.json says when the document differs from the commit" \
		"git is not installed"
fi

finish
