#!/usr/bin/env bash
# End-to-end tests of migrating a v1 store (tests/fixtures/store-v1, made
# by the previous mdrun release) to format 2: by the first render that
# opens it, by `mdrun store migrate`, after a kill at each step, and with
# damaged records, which are skipped and said.
# usage: migrate.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

command -v flock >/dev/null || skip_all "flock is not installed"

# The fixture's keys hold its folder (a document outside a git work tree
# is keyed by its absolute folder), so it is copied to exactly the folder
# it was made in. A lock keeps two runs of this script apart.
fixture=$src/tests/fixtures/store-v1
at=/tmp/mdrun-v1-fixture
exec 9>"$at.lock"
flock -w 600 9 || skip_all "$at.lock: another run holds it"
trap 'chmod -R u+w "$work" "$at" 2>/dev/null; rm -rf "$work" "$at"' EXIT
export MDRUN_STORE=$at/store
v1=(store roots interp)

# Its keys name the interpreter dash (sh's identity where it was made):
# elsewhere every block runs again, and only what needs no cache is checked.
dash=false
[ "$(basename "$(readlink -f "$(command -v sh)")")" = dash ] && dash=true
# cached NAME COMMAND...: a check that needs the fixture's keys to hold.
cached() {
	if $dash; then
		check "$@"
	else
		skip "$1" "sh is not dash here: the fixture's keys do not hold"
	fi
}
have_sqlite=false
command -v sqlite3 >/dev/null && have_sqlite=true
# sql NAME QUERY WANT: a check of the database through the sqlite3 CLI.
sql() {
	if ! $have_sqlite; then
		skip "$1" "no sqlite3 command"
		return
	fi
	local got
	got=$(sqlite3 "$MDRUN_STORE/store.db" "$2" 2>&1)
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		bad "$1" "got: $got"
	fi
}

# fresh: a copy of the fixture at $at, read-only where v1 made it so (git
# keeps no modes): each realization folder and its tree, drv.json and the
# run records.
fresh() {
	cd / || exit 1
	chmod -R u+w "$at" 2>/dev/null
	rm -rf "$at"
	cp -R "$fixture" "$at"
	find "$at/store/store" -mindepth 2 -maxdepth 2 -name '[0-9a-f]*' \
		-exec chmod -R a-w {} +
	chmod a-w "$at"/store/store/*/drv.json "$at"/store/store/*/runs/* \
		"$at/store/VERSION" "$at/store/CACHEDIR.TAG"
	cd "$at" || exit 1
}
# migrating FILE [FOUND]: FILE holds the one progress line of a migration
# that found FOUND (all of the fixture: 4 keys, 4 realizations).
migrating() {
	[ "$(grep -c '^mdrun: migrating' "$1")" = 1 ] &&
		grep -qxF "mdrun: migrating the store at $at/store to format 2 (${2:-4 keys, 4 realizations})... done" "$1"
}
# migrated: VERSION says 2, the database is there, the v1 folders are not.
migrated() {
	[ "$(cat "$at/store/VERSION")" = 2 ] && [ -f "$at/store/store.db" ] &&
		for d in "${v1[@]}"; do [ ! -e "$at/store/$d" ] || return 1; done
}
# rendered: got.md is expected.md, its artifacts the expected ones.
rendered() {
	sed 's#(got_files/#(expected_files/#' got.md | cmp -s - expected.md &&
		diff -r got_files expected_files >/dev/null
}
art=a515672acd3027ada93a9e754eac24316cd63dd9f5f1d764c61c7e00cffe200a
# object: art's tree is objects/ART, folders 0555 and files 0444.
object() {
	local o=$at/store/objects/$art
	[ "$(stat -c %a "$o" "$o/sub" "$o/sub/f.txt" "$o/table.csv")" = \
		"$(printf '555\n555\n444\n444')" ] &&
		[ "$(cat "$o/sub/f.txt")" = deep ]
}
hello=c97058e18eefa30322fc24122870377071f5e188af171107c3c49f506f461f4c
hello_real=7c6ceefe4cb81744cc909bfe0730c1f7d280a8bb21176eb0b3a2de1e99ff9dde
dep=505a72c5eb7a323ce22fc9dca4dde037369a535c9aa04281b485aabc0c1ad408

# --- the first render migrates ------------------------------------------
fresh
"$mdrun" render doc.md -o got.md 2>err
code=$?
check "render of a v1 store: exit 0" [ "$code" = 0 ]
check "render of a v1 store: one progress line says the migration" migrating err
cached "render of a v1 store: nothing runs again (0 ran, 4 cached)" has err "0 ran, 4 cached"
cached "render of a v1 store: the document and its artifacts as v1 rendered them" rendered
check "migrated: VERSION says 2, store.db is there, store/ roots/ interp/ are gone" migrated
check "migrated: the artifact tree is an object, read-only" object
"$mdrun" store verify >verify.out 2>&1
expect "migrated: store verify passes" verify.out
has verify.out "verified 4 keys: 0 problems"
expect "migrated: store verify checks 4 keys" verify.out
"$mdrun" store ls >ls.out 2>&1
{ [ "$(wc -l <ls.out)" = 4 ] && grep -q ' art .*1 run, 1 realization' ls.out; }
expect "migrated: store ls lists the 4 keys" ls.out
sql "migrated: the run rows (sqlite3)" \
	"SELECT count(*), min(seq), max(seq), sum(failed) FROM run" "4|1|1|1"
sql "migrated: the realization with artifacts has files (sqlite3)" \
	"SELECT files, length(stdout) FROM real WHERE rhash = '$art'" "1|6"
sql "migrated: the root and the interpreter identity (sqlite3)" \
	"SELECT (SELECT doc FROM root), (SELECT CAST(value AS TEXT) FROM memo)" \
	"$at/doc.md|dash"
# Pushed, the migrated realizations are the very commits the v1 store
# pushed (tests/fixtures/store-v1/pushed-refs.txt, made by v1's push):
# the same refs, the same commit ids, so stores of both formats share.
if command -v git >/dev/null; then
	git init -q --bare "$work/pushed.git"
	"$mdrun" push "$work/pushed.git" >push.out 2>&1 &&
		git -C "$work/pushed.git" for-each-ref \
			--format='%(objectname) %(refname)' refs/mdrun |
		sort -k2 >refs.txt && diff "$fixture/pushed-refs.txt" refs.txt >>push.out
	expect "migrated: push gives the commits v1 pushed, byte for byte" push.out
else
	skip "migrated: push gives the commits v1 pushed, byte for byte" "no git"
fi
rm -rf got.md got_files
"$mdrun" render doc.md -o got.md 2>err
{ [ $? = 0 ] && ! grep -q migrating err; }
expect "the next render: no migration" err
cached "the next render: 0 ran, 4 cached" has err "0 ran, 4 cached"

# --- mdrun store migrate ------------------------------------------------
fresh
# One more run record of hello, older and of v1's first naming (T-RHASH):
# it comes first.
: >"store/store/$hello/runs/01700000000000000000-$hello_real-ok"
env -u MDRUN_STORE "$mdrun" store --store "$at/store" migrate >out 2>err
{ [ $? = 0 ] && migrating err &&
	grep -qxF "migrated the store at $at/store to format 2" out; }
expect "store migrate (--store): migrates, and says so" out err
check "store migrate: VERSION says 2, the v1 folders are gone" migrated
"$mdrun" store ls >ls.out 2>&1
grep -q ' hello .*2 runs, 1 realization' ls.out
expect "store migrate: both run records of a key are runs" ls.out
sql "store migrate: runs keep their order and time (sqlite3)" \
	"SELECT group_concat(seq || ':' || ns, ' ') FROM run WHERE key = '$hello'" \
	"1:1700000000000000000 2:1796595495121172133"
"$mdrun" store migrate >out 2>err
{ [ $? = 0 ] && [ ! -s err ] &&
	grep -qxF "the store at $at/store is already format 2" out; }
expect "store migrate again: already format 2" out err
"$mdrun" store --help >help.out
grep -q 'mdrun store \[--store DIR\] migrate' help.out
expect "store --help names migrate" help.out

# --- a migration killed at each step is finished by the next command ----
for point in commit:object migrate:inserted migrate:committed remove:moved \
	migrate:removed; do
	fresh
	MDRUN_CRASH_AT=$point "$mdrun" store migrate >/dev/null 2>&1 &
	wait $! 2>/dev/null
	check "killed at $point: the process died by SIGKILL" [ $? = 137 ]
	check "killed at $point: VERSION still says 1" \
		eval '[ "$(cat "$at/store/VERSION")" = 1 ]'
	# Killed once store/ was gone: the rest of v1 goes, nothing is found.
	found=
	case $point in remove:moved | migrate:removed)
		found="0 keys, 0 realizations" ;;
	esac
	"$mdrun" render doc.md -o got.md 2>err
	{ [ $? = 0 ] && migrating err "$found" && migrated; }
	expect "killed at $point: the next render migrates" err
	cached "killed at $point: nothing runs again" has err "0 ran, 4 cached"
	cached "killed at $point: the document as v1 rendered it" rendered
	"$mdrun" store verify >verify.out 2>&1
	expect "killed at $point: store verify passes" verify.out
	sql "killed at $point: each row once (sqlite3)" \
		"SELECT (SELECT count(*) FROM drv), (SELECT count(*) FROM real), (SELECT count(*) FROM run)" \
		"4|4|4"
	check "killed at $point: tmp/ is left empty" \
		eval '[ -z "$(ls -A "$at/store/tmp")" ]'
done

# --- damaged records are skipped, the rest migrates ---------------------
fresh
chmod u+w "store/store/$hello/$hello_real" "store/store/$hello/$hello_real/meta.json"
printf '{"exit": ' >"store/store/$hello/$hello_real/meta.json"
chmod u+w "store/store/$dep"
rm -f "store/store/$dep/drv.json"
"$mdrun" store migrate >out 2>err
{ [ $? = 0 ] && [ "$(wc -l <err)" = 1 ] && migrated &&
	grep -qxF "mdrun: migrating the store at $at/store to format 2 (4 keys, 4 realizations)... done, skipped 1 key without a readable drv.json, 1 damaged realization, 1 run of a missing realization" err; }
expect "damaged meta.json and a missing drv.json: the rest migrates, what was skipped is said" err
"$mdrun" store ls >ls.out 2>&1
{ [ "$(wc -l <ls.out)" = 3 ] && grep -q ' art .*1 run, 1 realization' ls.out; }
expect "damaged: the 3 keys with a drv.json are listed" ls.out
"$mdrun" store verify >verify.out 2>&1
expect "damaged: store verify passes" verify.out
"$mdrun" render doc.md -o got.md 2>err
expect "damaged: the render completes" err
cached "damaged: the two blocks skipped run again (2 ran)" has err "2 ran,"
cached "damaged: the document as v1 rendered it" rendered

# --- as a user who is not root: v1's read-only folders are no obstacle --
as_user() { "$@"; }
user_mdrun=$mdrun
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	user_mdrun=$work/mdrun-copy
	cp "$mdrun" "$user_mdrun"
	chmod -R a+rX "$work"
fi
if [ "$(id -u)" = 0 ] && ! command -v setpriv >/dev/null; then
	skip "as a user: a v1 store migrates" "root, and no setpriv to run as nobody"
else
	fresh
	[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$at"
	as_user "$user_mdrun" store migrate >out 2>err
	{ [ $? = 0 ] && migrating err && migrated && object; }
	expect "as a user: a v1 store migrates, read-only folders and all" out err
fi

cd / || exit 1
finish
