#!/usr/bin/env bash
# End-to-end tests of the store: crashes at every commit and removal step
# and at random instants, concurrent renders, tampering, gc, store
# commands, non-deterministic blocks. usage: store.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

verify_clean() { "$mdrun" store verify >"$work/verify.out" 2>&1; }
tmp_empty() { [ -z "$(ls -A "$MDRUN_STORE/tmp")" ]; }
runs_of() { "$mdrun" store ls | awk -v n="$1" '$2 == n { print $4 }'; }
# verify_sound: store verify finds nothing wrong but folders of objects/
# no row names (a kill between placing an object and committing its
# rows, or between deleting the rows and the folder: gc removes them),
# and counts them right; their paths go to $work/orphans.
verify_sound() {
	local code n objects
	"$mdrun" store verify >"$work/verify.out" 2>&1
	code=$?
	objects=$(cd "$MDRUN_STORE/objects" && pwd -P)
	sed -n 's/: not referenced (mdrun store gc removes it)$//p' \
		"$work/verify.out" >"$work/orphans"
	n=$(wc -l <"$work/orphans")
	grep -qx "verified [0-9]* keys\{0,1\}: $n problems\{0,1\}" "$work/verify.out" &&
		{ [ "$n" = 0 ] && [ "$code" = 0 ] || [ "$code" = 1 ]; } &&
		! grep -qvx "$objects/[0-9a-f]\{64\}" "$work/orphans"
}
# gc_took_orphans: the last gc (its output in FILE) said it removed each
# folder of $work/orphans as unrecorded, and they are gone.
gc_took_orphans() {
	local path
	while read -r path; do
		has "$1" "removed objects/$(basename "$path" | cut -c1-12) (unrecorded, " &&
			[ ! -e "$path" ] || return 1
	done <"$work/orphans"
}
# key_of REF: the whole key of DOC#NAME, as store show prints it.
key_of() { "$mdrun" store show "$1" 2>/dev/null | sed -n 's/^key: //p'; }
# Checks that look at or damage rows use the sqlite3 CLI.
have_sqlite=
command -v sqlite3 >/dev/null && have_sqlite=1
no_sqlite="the sqlite3 command is not installed"
sql() { sqlite3 "$MDRUN_STORE/store.db" "$@"; }

# --- kill -9 at each step of a commit ---------------------------------
# The artifacts go to objects/RHASH by a rename (commit:object), then one
# transaction records the rows (commit:recorded). A kill between leaves
# an object no row names: verify says so, the block runs again, gc
# removes it. Both blocks write artifacts that differ on every run, so
# each run places an object of its own; -j 1 runs one block at a time,
# so the kill finds no other block's commit half-way. A new key, and a
# new realization of a known key (--rebuild of blocks whose output
# changes).
dir="$work/crash"
mkdir -p "$dir"
printf '```{sh}\necho one; date +%%N >"$MDRUN_OUT/one.txt"\n```\n\n```{sh session=none}\ndate +%%N | tee "$MDRUN_OUT/two.txt"; echo >&2 err\n```\n' >"$dir/doc.md"
for kind in new known; do
	for point in commit:object commit:recorded; do
		export MDRUN_STORE="$work/store-$kind-$point"
		what="crash at $point ($kind key)"
		flags=
		if [ "$kind" = known ]; then
			"$mdrun" -q "$dir/doc.md" >/dev/null
			flags=--rebuild
		fi
		# in the background: the shell does not announce the kill
		MDRUN_CRASH_AT=$point "$mdrun" -q -j 1 $flags "$dir/doc.md" >/dev/null 2>&1 &
		wait $! 2>/dev/null
		code=$?
		[ "$code" = 137 ]
		expect "$what: the process died by SIGKILL"
		if [ "$point" = commit:object ]; then
			verify_sound && [ "$(wc -l <"$work/orphans")" = 1 ]
			expect "$what: store verify names the object no row names, and nothing else" "$work/verify.out"
		else
			verify_sound && [ ! -s "$work/orphans" ]
			expect "$what: store verify is clean" "$work/verify.out"
		fi
		"$mdrun" "$dir/doc.md" -o "$dir/out.md" 2>"$dir/err"
		{ [ $? = 0 ] && shows "$dir/out.md" sh-1 one && shows "$dir/out.md" sh-2 err &&
			shows_part "$dir/out.md" sh-1 '[one.txt](' &&
			shows_part "$dir/out.md" sh-2 '[two.txt]('; }
		expect "$what: the next render completes, artifacts and all" "$dir/err"
		# What ran again: the first block's run, when recorded, is used
		# (each key of a new store has one run); a known key's next render
		# runs nothing.
		"$mdrun" store ls >"$dir/ls"
		case $kind-$point in
		new-commit:object) has "$dir/err" ": 2 ran, 0 cached" ;;
		new-commit:recorded) has "$dir/err" ": 1 ran, 1 cached" ;;
		known-*) has "$dir/err" ": 0 ran, 2 cached" ;;
		esac &&
			{ [ "$kind" = known ] ||
				[ "$(grep -c '  1 run, 1 realization  ' "$dir/ls")" = 2 ]; }
		expect "$what: what was recorded is used, what was not runs again" "$dir/err" "$dir/ls"
		tmp_empty
		expect "$what: what the dead process left in tmp/ is swept"
		"$mdrun" gc >"$dir/gc.out" 2>&1
		gc_took_orphans "$dir/gc.out" && verify_clean
		expect "$what: gc removes what no row names; clean after" "$dir/gc.out" "$work/verify.out"
	done
done
export MDRUN_STORE="$work/store"

# --- kill -9 while a session's next block runs -------------------------
# A session block's rows are written while the block after it runs, not
# at the session's end: a kill then loses no block that had ended.
export MDRUN_STORE="$work/store-next"
printf '```{sh}\necho first\n```\n\n```{sh}\ntouch "%s/started"; sleep 30\n```\n' "$dir" >"$dir/next.md"
{ kill_at "$dir/started" "$dir/next.md" && planned sh-1 yes && planned sh-2 no && verify_clean; }
expect "kill -9 while a session's second block runs: the first block's run is kept, the store clean" "$work/plan.out" "$work/verify.out"
# Rows of blocks that answer at once wait for one write together; the
# first block that takes longer writes them while it runs.
export MDRUN_STORE="$work/store-batch"
{ for i in 1 2 3 4 5; do printf '```{bash}\necho "quick $((%s * 7))"\n```\n\n' "$i"; done
	printf '```{bash}\ntouch "%s/started"; sleep 30\n```\n' "$dir"; } >"$dir/batch.md"
{ kill_at "$dir/started" "$dir/batch.md" &&
	[ "$(awk '$1 ~ /^bash-[1-5]$/ && $6 == "yes"' "$work/plan.out" | wc -l)" = 5 ] &&
	planned bash-6 no && verify_clean; }
expect "kill -9 during a slow block after five quick ones: the five runs are kept" "$work/plan.out" "$work/verify.out"
# A run that took longer than a quick block's is written while the next
# block runs, however quick that one is: a block that kills mdrun
# (through /proc: the session's parent is mdrun's keeper) after a slow
# block and a quick one finds the slow one's run kept.
export MDRUN_STORE="$work/store-slow"
printf '```{bash}\nsleep 0.3; echo "slow $((6 * 7))"\n```\n\n```{bash}\necho quick\n```\n\n```{bash}\nread -r _ _ _ m _ </proc/$PPID/stat; kill -9 "$m"\n```\n' >"$dir/slow.md"
"$mdrun" -q -j 1 "$dir/slow.md" >/dev/null 2>&1 &
wait $! 2>/dev/null
code=$?
"$mdrun" plan "$dir/slow.md" >"$work/plan.out" 2>&1
{ [ "$code" = 137 ] && planned bash-1 yes && planned bash-3 no && verify_clean; }
expect "kill -9 after a slow block and a quick one: the slow one's run is kept (exit $code)" "$work/plan.out" "$work/verify.out"
# A lone block's rows wait, as a session's, until the next lone block
# has started, and are written while it runs.
export MDRUN_STORE="$work/store-lone"
printf '```{sh session=none}\necho "lone $((6 * 7))"\n```\n\n```{sh session=none}\ntouch "%s/started"; sleep 30\n```\n' "$dir" >"$dir/lone.md"
{ kill_at "$dir/started" "$dir/lone.md" -j 1 && planned sh-1 yes && planned sh-2 no && verify_clean; }
expect "kill -9 while the second of two session=none blocks runs: the first one's run is kept" "$work/plan.out" "$work/verify.out"
# The same when the session's next member is skipped (its deps= failed):
# the render goes on with another session, and is killed there.
export MDRUN_STORE="$work/store-skip"
printf '```{sh name=x session=none}\nexit 1\n```\n\n```{bash name=a1}\necho a1 ran\n```\n\n```{bash name=a2 deps=x}\necho two\n```\n\n```{sh name=c1}\ntouch "%s/c1"; sleep 30\n```\n' "$dir" >"$dir/skip.md"
{ kill_at "$dir/c1" "$dir/skip.md" -k -j 1 && planned a1 yes && verify_clean; }
expect "kill -9 after a session member was skipped: the run before it is kept" "$work/plan.out" "$work/verify.out"
# Writing a block's rows while the next one runs is not that block's
# time: a block holds the store's write lock for 2 s for the next one,
# which takes long enough (100 ms) to write them while it runs.
if [ -n "$have_sqlite" ]; then
	export MDRUN_STORE="$work/store-held"
	printf '```{bash name=holds}\nprintf "BEGIN IMMEDIATE;\\nINSERT INTO memo VALUES (1, 2);\\n.shell sleep 2\\nROLLBACK;\\n" | sqlite3 "$MDRUN_STORE/store.db" >/dev/null 2>&1 &\nsleep 0.5\n```\n\n```{bash name=quick}\nsleep 0.1; echo quick\n```\n' >"$dir/held.md"
	"$mdrun" -q "$dir/skip.md" >/dev/null 2>&1 # makes the store
	"$mdrun" -v "$dir/held.md" >/dev/null 2>"$dir/held.err"
	{ [ $? = 0 ] && grep -q "ran quick (.*) in [1-9][0-9]\{2\} ms" "$dir/held.err"; }
	expect "a block is not timed with the wait for the last block's rows" "$dir/held.err"
	# Nor does a session=none block wait for them: its timeout holds
	# while another process writes (from the moment the first block has
	# started until after the second has timed out).
	printf '```{sh session=none name=holds}\ntouch "%s/holding"; sleep 0.5\n```\n\n```{sh session=none name=late timeout=1}\nsleep 2.5; echo late\n```\n' "$dir" >"$dir/held-none.md"
	rm -f "$dir/holding"
	"$mdrun" -v -j 1 "$dir/held-none.md" >"$dir/held-none.out" 2>"$dir/held-none.err" &
	pid=$!
	for i in $(seq 1 200); do [ -e "$dir/holding" ] && break; sleep 0.05; done
	printf 'BEGIN IMMEDIATE;\nINSERT INTO memo VALUES (1, 2);\n.shell sleep 3\nROLLBACK;\n' |
		sqlite3 "$MDRUN_STORE/store.db" >/dev/null 2>&1 &
	holder=$!
	wait "$pid"
	code=$?
	wait "$holder"
	{ [ "$code" != 0 ] && grep -q "late.*timed out" "$dir/held-none.err"; }
	expect "a session=none block's timeout holds while another process holds the store's write lock (exit $code)" "$dir/held-none.err"
else
	skip "a block is not timed with the wait for the last block's rows" "$no_sqlite"
	skip "a session=none block's timeout holds while another process holds the store's write lock" "$no_sqlite"
fi
export MDRUN_STORE="$work/store"
export MDRUN_STORE="$work/store"

# --- kill -9 during removal --------------------------------------------
# store rm deletes the rows in one transaction (remove:unrecorded), then
# moves each object into tmp/ (remove:moved) and deletes it there.
for point in remove:unrecorded remove:moved; do
	export MDRUN_STORE="$work/store-$point"
	printf '```{sh}\necho removable; echo kept >"$MDRUN_OUT/r.txt"\n```\n' >"$dir/rm.md"
	"$mdrun" -q "$dir/rm.md" >/dev/null
	key=$("$mdrun" store ls | awk '{ print $1 }')
	object=$("$mdrun" store path "$key")
	MDRUN_CRASH_AT=$point "$mdrun" store rm "$key" >/dev/null 2>&1 &
	wait $! 2>/dev/null
	[ $? = 137 ]
	expect "crash at $point: the process died by SIGKILL"
	[ -z "$("$mdrun" store ls)" ]
	expect "crash at $point: the key's rows are gone as a whole"
	if [ "$point" = remove:unrecorded ]; then
		{ verify_sound && [ "$(cat "$work/orphans")" = "$object" ]; }
		expect "crash at $point: store verify names only the object left" "$work/verify.out"
	else
		{ verify_clean && [ ! -e "$object" ] && tmp_empty; }
		expect "crash at $point: the object is gone, tmp/ swept, store verify is clean" "$work/verify.out"
	fi
	"$mdrun" "$dir/rm.md" -o "$dir/rm.out" 2>"$dir/err"
	{ [ $? = 0 ] && shows "$dir/rm.out" sh-1 removable && has "$dir/err" "1 ran" &&
		[ "$(cat "$("$mdrun" store path "$key")/r.txt")" = kept ] && verify_clean; }
	expect "crash at $point: the block runs again, its artifacts stored, the store clean" "$dir/err" "$work/verify.out"
done
export MDRUN_STORE="$work/store"

# --- kill -9 at random instants, many times ----------------------------
# Each block writes an artifact that differs on every run: kills land
# between placing objects and recording them too.
export MDRUN_STORE="$work/store-random"
{
	for i in 1 2 3 4 5 6; do
		printf '```{sh}\nsleep 0.0%d; echo block %d; date +%%N >"$MDRUN_OUT/t.txt"; head -c 20000 /dev/zero | tr "\\\\0" x\n```\n\n' "$i" "$i"
	done
} >"$dir/slow.md"
problems=0
for i in $(seq 1 25); do
	"$mdrun" -q --rebuild "$dir/slow.md" >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	verify_sound || { problems=$((problems + 1)); cat "$work/verify.out"; }
done
[ "$problems" = 0 ]
expect "25 random kill -9 during renders: store verify finds nothing but unreferenced objects every time"
"$mdrun" -q "$dir/slow.md" -o "$dir/slow.out"
code=$?
for i in 1 2 3 4 5 6; do
	shows "$dir/slow.out" "$i" "block $i" || code=1
done
verify_sound
"$mdrun" gc >"$dir/gc.out" 2>&1
{ [ "$code" = 0 ] && gc_took_orphans "$dir/gc.out" && verify_clean; }
expect "after the kills, a render completes with every output; after gc the store is clean" "$work/verify.out"
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
# A file of an object changed, rows damaged through the sqlite3 CLI: store
# verify names each (KEY or KEY/RHASH, and what is wrong), exit 1; a
# render that needs a damaged row stops with one line.
dir="$work/tamper"
mkdir -p "$dir"
printf '```{sh}\necho honest; echo art >"$MDRUN_OUT/a.txt"\n```\n' >"$dir/doc.md"
"$mdrun" -q "$dir/doc.md" >/dev/null
verify_clean
expect "verify: clean store exits 0" "$work/verify.out"
key=$(key_of "$dir/doc.md#sh-1")
object=$("$mdrun" store path "$key")
real=$key/$(basename "$object")
# damaged LINE: store verify exits 1 with one problem, the line LINE.
damaged() {
	"$mdrun" store verify >"$dir/v.out" 2>&1
	[ $? = 1 ] && grep -qxF -- "$1" "$dir/v.out" &&
		has "$dir/v.out" "verified 1 key: 1 problem"
}
chmod u+w "$object" "$object/a.txt"
echo changed >"$object/a.txt"
damaged "$real: its content does not match its hash"
expect "verify: a changed file of objects/RHASH is reported with the key and rhash, exit 1" "$dir/v.out"
echo art >"$object/a.txt"
verify_clean
expect "verify: the file put back, clean again" "$work/verify.out"
if [ -n "$have_sqlite" ]; then
	sql "UPDATE real SET stdout = CAST('forged' || char(10) AS BLOB)"
	damaged "$real: its content does not match its hash"
	expect "verify: a changed stdout (of the same size) is reported, exit 1" "$dir/v.out"
	sql "UPDATE real SET stdout = CAST('honest' || char(10) AS BLOB)"
	sql "UPDATE drv SET fields = replace(fields, 'honest', 'forged')"
	damaged "$key: the key does not match its drv fields"
	expect "verify: drv fields that no longer hash to their key are reported, exit 1" "$dir/v.out"
	sql "UPDATE drv SET fields = replace(fields, 'forged', 'honest')"
	sql "INSERT INTO run VALUES ('$key', 2, 1, '$(printf 'f%.0s' $(seq 64))', 0, 0)"
	damaged "$key: run 2 names realization ffffffffffff, which is not in the store"
	expect "verify: a run naming a realization the store lacks is reported, exit 1" "$dir/v.out"
	"$mdrun" "$dir/doc.md" -o "$dir/out.md" 2>"$dir/err"
	{ [ $? = 0 ] && shows "$dir/out.md" sh-1 honest && has "$dir/err" "0 ran, 1 cached"; }
	expect "render: a run without its realization is passed over, the one there shows" "$dir/err"
	sql "DELETE FROM run WHERE seq = 2"
	sql "UPDATE real SET meta = 'x' || meta"
	damaged "$real: meta: malformed realization metadata"
	expect "verify: a malformed meta is named, not a crash" "$dir/v.out"
	# (The document's snapshot goes first: a warm render reads it, not the row.)
	sql "DELETE FROM snap; UPDATE real SET meta = substr(meta, 2), exit_code = 'zero'"
	"$mdrun" -q "$dir/doc.md" >/dev/null 2>"$dir/err"
	{ [ $? = 2 ] && [ "$(wc -l <"$dir/err")" = 1 ] &&
		has "$dir/err" "$(cd "$MDRUN_STORE" && pwd -P)/store.db: realization ${real:65:12} of key ${key:0:12}: malformed row"; }
	expect "render on a damaged row: a one-line error naming the database and the realization, exit 2" "$dir/err"
	"$mdrun" store verify >"$dir/v.out" 2>&1
	{ [ $? = 1 ] && grep -q "^$real: .*malformed row" "$dir/v.out"; }
	expect "verify: the damaged row is named" "$dir/v.out"
else
	for what in "verify: a changed stdout (of the same size) is reported, exit 1" \
		"verify: drv fields that no longer hash to their key are reported, exit 1" \
		"verify: a run naming a realization the store lacks is reported, exit 1" \
		"render: a run without its realization is passed over, the one there shows" \
		"verify: a malformed meta is named, not a crash" \
		"render on a damaged row: a one-line error naming the database and the realization, exit 2" \
		"verify: the damaged row is named"; do
		skip "$what" "$no_sqlite"
	done
fi
"$mdrun" store rm "$key" >/dev/null
{ verify_clean && [ -z "$("$mdrun" store ls)" ] && [ ! -e "$object" ]; }
expect "store rm removes the damaged key and its object; verify is clean again" "$work/verify.out"

# --- store commands ----------------------------------------------------
export MDRUN_STORE="$work/store-cmds"
dir="$work/cmds"
mkdir -p "$dir"
printf '```{sh name=hello}\necho hello; echo hi >"$MDRUN_OUT/hi.txt"\n```\n' >"$dir/doc.md"
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
"$mdrun" store path "$dir/doc.md#hello" >"$dir/path" 2>"$dir/err"
{ [ $? = 0 ] && [ "$(wc -l <"$dir/path")" = 1 ] &&
	grep -qx "$(cd "$MDRUN_STORE" && pwd -P)/objects/[0-9a-f]\{64\}" "$dir/path" &&
	[ "$(cat "$(cat "$dir/path")/hi.txt")" = hi ]; }
expect "store path: the folder of the realization's artifacts, objects/RHASH" "$dir/path" "$dir/err"
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
"$mdrun" store path "$dir/rb.md#now" >"$dir/out" 2>"$dir/err"
{ [ $? = 2 ] && [ ! -s "$dir/out" ] && [ "$(wc -l <"$dir/err")" = 1 ] &&
	has "$dir/err" "its realization wrote no files"; }
expect "store path: a realization without artifacts has no folder, one line, exit 2" "$dir/err"

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
printf '```{sh name=o session=none}\ndate +%%N | tee "$MDRUN_OUT/o.txt"\n```\n' >"$dir/o.md"
"$mdrun" -q "$dir/o.md" >/dev/null
MDRUN_CRASH_AT=commit:object "$mdrun" -q --rebuild "$dir/o.md" >/dev/null 2>&1 &
wait $! 2>/dev/null
verify_sound
"$mdrun" gc >"$dir/gc.out"
{ [ "$(wc -l <"$work/orphans")" = 1 ] && gc_took_orphans "$dir/gc.out" &&
	[ "$("$mdrun" store ls | awk '{ print $6 }')" = 1 ] && verify_clean; }
expect "gc removes the object a kill left before its rows were recorded" "$dir/gc.out" "$work/verify.out"
if [ -n "$have_sqlite" ]; then
	sql "UPDATE real SET start_time = 'never' WHERE key = '$(key_of "$dir/o.md#o")'"
	"$mdrun" -q "$dir/o.md" >/dev/null 2>"$dir/err"
	{ [ $? = 2 ] && has "$dir/err" "render with --rebuild to replace it"; }
	expect "a damaged realization: the error says how to repair it" "$dir/err"
else
	skip "a damaged realization: the error says how to repair it" "$no_sqlite"
fi
"$mdrun" -q --rebuild "$dir/o.md" >/dev/null 2>&1
"$mdrun" store verify >/dev/null 2>&1 || "$mdrun" gc --keep-last 1 >/dev/null
"$mdrun" -q "$dir/o.md" >/dev/null 2>"$dir/err"
expect "after --rebuild the document renders again" "$dir/err"
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
if [ -n "$have_sqlite" ]; then
	# The run, dated in the year 2255 (as a pull of a realization that
	# says it started then used to make it).
	key=$(cd "$dir" && key_of n.md#n)
	sql "UPDATE run SET ns = 9006768000000000000 WHERE key = '$key'"
	(cd "$dir" && "$mdrun" -q --rebuild n.md -o n2.md && "$mdrun" -q n.md -o n3.md)
	{ shows "$dir/n1.md" n 1 && shows "$dir/n2.md" n 2 && shows "$dir/n3.md" n 2; }
	expect "a run dated 2255 is not the latest after a local --rebuild: the rebuild's output shows"
	"$mdrun" store show "$dir/n.md#n" >"$dir/show"
	{ has "$dir/show" "runs: 2" && grep '  ok  ' "$dir/show" | head -1 | grep -q ' 2255-' &&
		grep '  ok  ' "$dir/show" | tail -1 | grep -q 'shown (latest)'; }
	expect "store show lists the old record first and marks the rebuild latest" "$dir/show"
	(cd "$dir" && "$mdrun" -q --rebuild n.md -o n4.md && "$mdrun" -q n.md -o n5.md)
	sql "SELECT seq, ns > 9000000000000000000 FROM run WHERE key = '$key' ORDER BY seq" >"$dir/seq"
	{ shows "$dir/n5.md" n 3 && [ "$(tr '\n' ' ' <"$dir/seq")" = "1|1 2|0 3|0 " ]; }
	expect "runs committed here are numbered in commit order, whatever their dates" "$dir/seq"
else
	for what in "a run dated 2255 is not the latest after a local --rebuild: the rebuild's output shows" \
		"store show lists the old record first and marks the rebuild latest" \
		"runs committed here are numbered in commit order, whatever their dates"; do
		skip "$what" "$no_sqlite"
	done
fi
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
# The store's own files (VERSION, CACHEDIR.TAG) are written the same way.
: >"$MDRUN_STORE/VERSION.mdrun-tmp.stale3"
"$mdrun" gc >/dev/null
{ [ ! -e "$MDRUN_STORE/VERSION.mdrun-tmp.stale3" ] && [ "$(cat "$MDRUN_STORE/VERSION")" = 2 ]; }
expect "a store file's dead writer's file goes at the next gc; VERSION stays"
if [ -n "$have_sqlite" ]; then
	sql "SELECT doc, record FROM root" >"$dir/root"
	{ [ "$(grep -c '^/' "$dir/root")" = 1 ] &&
		grep -qx "$(cd "$dir" && pwd -P)/w.md|{" "$dir/root" &&
		grep -q "\"keys\":[[:space:]]*\\[\"$(key_of "$dir/w.md#w")\"\\]" "$dir/root"; }
	expect "the document's root: one row of table root, naming it and the key it shows" "$dir/root"
else
	skip "the document's root: one row of table root, naming it and the key it shows" "$no_sqlite"
fi

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

# --- snapshots: a warm render reads one row, never a stale one -----------
# A warm render keeps what it read of the store as the document's
# snapshot; the next one reads that row alone, while no run or
# realization came or went. Here a --rebuild adds a run with a new
# output: the renders after it must show that latest run, not what the
# snapshot held.
dir="$work/snap"
mkdir -p "$dir"
export MDRUN_STORE="$work/store-snap"
printf '```{sh name=t}\ndate +%%s%%N\n```\n' >"$dir/a.md"
"$mdrun" -q "$dir/a.md" -o "$dir/a1" &&
	"$mdrun" -q "$dir/a.md" -o "$dir/a2" &&
	"$mdrun" -q --rebuild "$dir/a.md" -o "$dir/a3" &&
	"$mdrun" -q "$dir/a.md" -o "$dir/a4" &&
	"$mdrun" "$dir/a.md" -o "$dir/a5" 2>"$dir/err"
{ [ $? = 0 ] && [ "$(region "$dir/a1" t)" = "$(region "$dir/a2" t)" ] &&
	[ "$(region "$dir/a1" t)" != "$(region "$dir/a3" t)" ] &&
	[ "$(region "$dir/a4" t)" = "$(region "$dir/a3" t)" ] &&
	[ "$(region "$dir/a5" t)" = "$(region "$dir/a3" t)" ] &&
	has "$dir/err" "0 ran, 1 cached"; }
expect "after a --rebuild, the warm renders show its run, not the snapshot's" \
	"$dir/a1" "$dir/a2" "$dir/a3" "$dir/a4" "$dir/a5" "$dir/err"
if [ -n "$have_sqlite" ]; then
	snaps() { sql "SELECT count(*) FROM snap WHERE gen = (SELECT n FROM generation)"; }
	[ "$(snaps)" = 1 ]
	expect "a warm render keeps the document's snapshot"
	# Damaged, cut short, or of another generation: not used, and made again.
	for damage in "data = x'00'" "data = substr(data, 1, length(data) - 1)" \
		"data = data || x'00'" "gen = gen - 1" "data = 'text'"; do
		sql "UPDATE snap SET $damage" &&
			"$mdrun" -q "$dir/a.md" -o "$dir/a6" 2>"$dir/err"
		{ [ $? = 0 ] && [ "$(region "$dir/a6" t)" = "$(region "$dir/a3" t)" ] &&
			[ "$(snaps)" = 1 ]; }
		expect "a snapshot set to $damage is not used, and is made again" "$dir/a6" "$dir/err"
	done
	# A forged snapshot shows, as a forged row would; store verify names it.
	sql "UPDATE snap SET data = CAST(replace(CAST(data AS TEXT), '$(region "$dir/a3" t | sed -n 2p)',
		'$(region "$dir/a3" t | sed -n 2p | tr 0-9 1-90)') AS BLOB)"
	"$mdrun" -q "$dir/a.md" -o "$dir/a7"
	"$mdrun" store verify >"$dir/v.out" 2>&1
	{ [ $? = 1 ] && [ "$(region "$dir/a7" t)" != "$(region "$dir/a3" t)" ] &&
		grep -qx "$(cd "$dir" && pwd -P)/a.md: its snapshot differs from the store's rows (mdrun store gc removes it)" "$dir/v.out"; }
	expect "store verify names a document whose snapshot differs from the store's rows" "$dir/a7" "$dir/v.out"
	"$mdrun" gc >/dev/null 2>&1 && [ "$(sql 'SELECT count(*) FROM snap')" = 0 ] &&
		"$mdrun" -q "$dir/a.md" -o "$dir/a8" &&
		[ "$(region "$dir/a8" t)" = "$(region "$dir/a3" t)" ]
	expect "gc leaves no snapshot, and the next render shows the same"
else
	skip "a warm render keeps the document's snapshot" "$no_sqlite"
	skip "damaged snapshots are not used" "$no_sqlite"
	skip "store verify names a document whose snapshot differs" "$no_sqlite"
	skip "gc leaves no snapshot" "$no_sqlite"
fi

# --- the python driver, kept compiled ------------------------------------
# python compiles the session driver once: its code stays in drivers/.
# One that is damaged, or a folder that cannot be written, costs only
# that compilation again.
if command -v python3 >/dev/null; then
	dir="$work/drv"
	mkdir -p "$dir"
	export MDRUN_STORE="$work/store-drv"
	printf '```{python name=p}
print(sum(range(%s)))
```
' 10 >"$dir/a.md"
	pyc() { ls "$MDRUN_STORE"/drivers/python-*.pyc 2>/dev/null; }
	"$mdrun" -q "$dir/a.md" -o "$dir/a1" 2>"$dir/err"
	{ [ $? = 0 ] && shows "$dir/a1" p 45 && [ -n "$(pyc)" ] &&
		ls "$MDRUN_STORE"/drivers/python-*.py >/dev/null; }
	expect "a python session keeps its driver and the code python compiled" "$dir/a1" "$dir/err"
	n=11
	for damage in "garbage" "cut" "empty" "no code"; do
		for f in $(pyc); do
			case $damage in
			garbage) head -c 200 /dev/urandom >"$f" ;;
			cut) python3 -c 'import sys; p = sys.argv[1]; b = open(p, "rb").read(); open(p, "wb").write(b[:len(b) // 2])' "$f" 2>/dev/null ||
				truncate -s 100 "$f" ;;
			empty) : >"$f" ;;
			"no code") python3 -c 'import marshal, sys
from importlib.util import MAGIC_NUMBER
open(sys.argv[1], "wb").write(MAGIC_NUMBER + marshal.dumps(None))' "$f" ;;
			esac
		done
		printf '```{python name=p}
print(sum(range(%s)))
```
' "$n" >"$dir/a.md"
		"$mdrun" -q "$dir/a.md" -o "$dir/a2" 2>"$dir/err"
		{ [ $? = 0 ] && shows "$dir/a2" p "$((n * (n - 1) / 2))" &&
			[ "$(wc -c <"$(pyc | head -1)")" -gt 1000 ]; }
		expect "a compiled driver made $damage is compiled again and replaced" "$dir/a2" "$dir/err"
		n=$((n + 1))
	done
	"$mdrun" gc >/dev/null 2>&1 && [ ! -e "$MDRUN_STORE/drivers" ] &&
		"$mdrun" -q --rebuild "$dir/a.md" -o "$dir/a2" 2>"$dir/err" &&
		shows "$dir/a2" p "$((n * (n - 1) / 2 - n + 1))" && [ -n "$(pyc)" ]
	expect "gc removes the kept drivers; the next render keeps them again" "$dir/a2" "$dir/err"
	# session=none runs the one-shot driver the same way.
	printf '```{python session=none name=q}
print(sorted(k for k in globals() if k.startswith("_m")))
```
' >"$dir/b.md"
	"$mdrun" -q "$dir/b.md" -o "$dir/b1" 2>"$dir/err"
	{ [ $? = 0 ] && shows "$dir/b1" q "[]" && [ "$(pyc | wc -l)" = 2 ]; }
	expect "session=none: the one-shot driver is kept too, and leaves no name of its own to the block" "$dir/b1" "$dir/err"
	if [ "$(id -u)" != 0 ]; then
		chmod 0555 "$MDRUN_STORE/drivers"
		rm -f "$MDRUN_STORE"/drivers/* 2>/dev/null
	else
		# root writes anywhere: a file where the folder goes
		rm -rf "$MDRUN_STORE/drivers" && touch "$MDRUN_STORE/drivers"
	fi
	printf '```{python name=p}
print(sum(range(%s)))
```
' 100 >"$dir/a.md"
	"$mdrun" -q "$dir/a.md" -o "$dir/a3" 2>"$dir/err"
	{ [ $? = 0 ] && shows "$dir/a3" p 4950; }
	expect "a drivers folder that cannot be written: python compiles the driver as before" "$dir/a3" "$dir/err"
	chmod -R u+w "$MDRUN_STORE" 2>/dev/null
else
	skip "the python driver, kept compiled" "python3 is not installed"
fi

# --- a document in a git repository -------------------------------------
if command -v git >/dev/null; then
	dir="$work/repo"
	mkdir -p "$dir/docs"
	printf '```{sh name=where}\npwd | sed "s|.*/||"\n```\n' >"$dir/docs/page.md"
	(cd "$dir" && git init -q && git add . &&
		git -c user.name=t -c user.email=t@t commit -qm init) >/dev/null 2>&1
	head=$(cd "$dir" && git rev-parse HEAD)
	(unset MDRUN_STORE; cd "$dir/docs" && "$mdrun" -q page.md >/dev/null)
	[ -f "$dir/.mdrun/store.db" ] && [ ! -e "$dir/docs/.mdrun" ]
	expect "in a repository the store is .mdrun at its root"
	# libgit2 is opened when first needed: one that cannot be used is a
	# one-line error, never a store beside the document.
	soname=$(strings "$mdrun" | grep -m1 '^libgit2\.so\.')
	if command -v cc >/dev/null && [ -n "$soname" ]; then
		mkdir -p "$work/fakelib" "$work/repo2/docs"
		echo 'int mdrun_not_libgit2;' >"$work/fakelib/fake.c"
		cc -shared -fPIC -Wl,-soname,"$soname" -o "$work/fakelib/$soname" \
			"$work/fakelib/fake.c"
		cp "$dir/docs/page.md" "$work/repo2/docs/" && mkdir "$work/repo2/.git"
		(cd "$work/repo2" && git init -q) >/dev/null 2>&1
		(unset MDRUN_STORE; cd "$work/repo2/docs" &&
			LD_LIBRARY_PATH="$work/fakelib" "$mdrun" -q page.md >/dev/null 2>"$work/fakelib/err")
		{ [ $? = 2 ] && [ "$(wc -l <"$work/fakelib/err")" = 1 ] &&
			has "$work/fakelib/err" "/docs: in a git repository: cannot load libgit2 ($soname): it has no git_" &&
			[ ! -e "$work/repo2/docs/.mdrun" ] && [ ! -e "$work/repo2/.mdrun" ]; }
		expect "a libgit2 that cannot be loaded: a one-line error, no store made" "$work/fakelib/err"
		for cmd in "gc" "store verify" "store ls"; do
			(unset MDRUN_STORE; cd "$work/repo2/docs" &&
				LD_LIBRARY_PATH="$work/fakelib" "$mdrun" $cmd >/dev/null 2>"$work/fakelib/err")
			{ [ $? = 2 ] && has "$work/fakelib/err" "cannot load libgit2" &&
				[ ! -e "$work/repo2/docs/.mdrun" ] && [ ! -e "$work/repo2/.mdrun" ]; }
			expect "mdrun $cmd, libgit2 not loadable: an error, not a store beside the folder" "$work/fakelib/err"
		done
	else
		skip "a libgit2 that cannot be loaded: a one-line error, no store made" "no C compiler"
		for cmd in "gc" "store verify" "store ls"; do
			skip "mdrun $cmd, libgit2 not loadable: an error, not a store beside the folder" "no C compiler"
		done
	fi
	json_has() { grep -q "\"$2\":[[:space:]]*$3" "$1"; }
	# meta_of REF: the meta of the realization REF shows, into $dir/meta.
	meta_of() {
		(unset MDRUN_STORE; cd "$dir" &&
			sqlite3 .mdrun/store.db "SELECT meta FROM real WHERE key = '$(key_of "$1")'") >"$dir/meta"
	}
	(unset MDRUN_STORE; cd "$dir" && "$mdrun" store show docs/page.md#where) >"$dir/show"
	if [ -n "$have_sqlite" ]; then
		meta_of docs/page.md#where
		{ json_has "$dir/meta" commit "\"$head\"" && json_has "$dir/meta" dirty false &&
			grep -qx "dir: docs" "$dir/show"; }
		expect "the meta records the commit and a clean document; the key has the folder relative to the root" "$dir/meta" "$dir/show"
		printf '\n```{sh name=new}\necho new\n```\n' >>"$dir/docs/page.md"
		(unset MDRUN_STORE; cd "$dir" && "$mdrun" -q docs/page.md >/dev/null)
		meta_of docs/page.md#new
		json_has "$dir/meta" dirty true
		expect "the meta says when the document differs from the commit" "$dir/meta"
	else
		skip "the meta records the commit and a clean document; the key has the folder relative to the root" \
			"$no_sqlite"
		skip "the meta says when the document differs from the commit" "$no_sqlite"
	fi
else
	skip "in a repository the store is .mdrun at its root" \
		"git is not installed"
	skip "the meta records the commit and a clean document; the key has the folder relative to the root" \
		"git is not installed"
	skip "the meta says when the document differs from the commit" \
		"git is not installed"
fi

finish
