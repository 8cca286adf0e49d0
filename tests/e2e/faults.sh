#!/usr/bin/env bash
# End-to-end tests of faults: an output that cannot be written, a file size
# limit, SIGINT and SIGTERM mid-render, a tampered store, a config of the
# wrong shape. Each must end with a one-line reason and a non-zero exit,
# the previous output intact, no temporary file left, and a store that
# verifies clean. usage: faults.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/f"
mkdir -p "$dir"
cd "$dir" || exit 1
printf '# Doc\n\n```{sh session=none}\necho new output\n```\n' >doc.md
printf 'previous\n' >keep.md
leftovers() { find "$dir" "$MDRUN_STORE/tmp" -name '*mdrun-tmp*' 2>/dev/null | grep -q .; }

# --- the output path cannot be written ---------------------------------------
mkdir -p folder.md
"$mdrun" -q doc.md -o folder.md >/dev/null 2>err
{ [ $? = 2 ] && [ "$(wc -l <err)" = 1 ] && has err "folder.md" && [ -d folder.md ] &&
	! leftovers; }
expect "-o naming a folder: one line naming it, exit 2, nothing left behind" err

# A read-only folder only stops a user who is not root: run as nobody, a
# copy of the binary where nobody may run it.
as_user() { "$@"; }
ro_mdrun=$mdrun
if [ "$(id -u)" = 0 ]; then
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	ro_mdrun=$work/mdrun-copy
	cp "$mdrun" "$ro_mdrun"
fi
mkdir -p ro && cp keep.md ro/out.md && chmod 755 ro && chmod 644 ro/out.md
chmod -R a+rwX "$work" && chmod 555 ro
if [ "$(id -u)" = 0 ] && ! command -v setpriv >/dev/null; then
	skip "a read-only folder: the reason in one line, exit 2, the old output intact" \
		"root, and no setpriv to run as nobody"
else
	as_user env MDRUN_STORE="$work/store-nobody" "$ro_mdrun" -q doc.md -o ro/out.md >/dev/null 2>err
	{ [ $? = 2 ] && [ "$(wc -l <err)" = 1 ] && has err "ro/out.md" &&
		same ro/out.md keep.md && [ "$(ls ro)" = out.md ]; }
	expect "a read-only folder: the reason in one line, exit 2, the old output intact" err
fi
chmod 755 ro

# Outputs that are not regular files are written, never replaced.
mkfifo out.fifo
cat out.fifo >fifo.got &
reader=$!
"$mdrun" -q doc.md -o out.fifo 2>err
code=$?
wait "$reader"
{ [ "$code" = 0 ] && [ -p out.fifo ] && shows fifo.got sh-1 "new output"; }
expect "-o naming a fifo: written through it, still a fifo" err
mkfifo junit.fifo
cat junit.fifo >junit.got &
reader=$!
"$mdrun" check --fresh --junit junit.fifo doc.md >/dev/null 2>err
wait "$reader"
{ [ -p junit.fifo ] && has junit.got "<testsuites"; }
expect "--junit naming a fifo (or /dev/stdout): written through it" err
if [ "$(id -u)" = 0 ]; then
	mknod fake-null c 1 3
	"$mdrun" -q doc.md -o fake-null 2>err
	{ [ $? = 0 ] && [ -c fake-null ]; }
	expect "-o naming a device (a copy of /dev/null): still a device" err
else
	skip "-o naming a device (a copy of /dev/null): still a device" \
		"mknod needs root"
fi
cp keep.md target.md && ln -s target.md link.md
"$mdrun" -q doc.md -o link.md 2>err
{ [ -L link.md ] && shows target.md sh-1 "new output"; }
expect "-o naming a link: what it leads to is written, the link stays" err

# RLIMIT_FSIZE: writing the output hits the limit (EFBIG, not SIGXFSZ).
# The limit, 200 KiB, leaves room for the store's shared-memory index
# (store.db-shm, 32 KiB) and a few pages of the database; the output, a
# 400 KB document, is over it.
big=$(printf '%*s' 400000 '' | tr ' ' x)
printf '%s\n\n```{sh session=none}\necho small\n```\n' "$big" >long.md
"$mdrun" -q long.md >/dev/null 2>&1 # realized while there is no limit
cp keep.md limited.md
(ulimit -f 200 && exec "$mdrun" -q long.md -o limited.md) >/dev/null 2>err
code=$?
{ [ "$code" = 2 ] && [ "$(wc -l <err)" = 1 ] && has err "limited.md" &&
	same limited.md keep.md && ! leftovers; }
expect "a file size limit: exit 2 with the reason, the old output intact (exit $code)" err
# ... and realizing a block whose output is over the limit: its rows
# cannot be written, and the store is not damaged. SQLite's own words
# for it are "disk I/O error": the line must say what the system said.
limit_said='File too large|a file size limit was reached'
printf '```{sh session=none}\nhead -c 400000 /dev/zero | tr "\\\\0" y\n```\n' >bigout.md
(ulimit -f 200 && exec "$mdrun" -q bigout.md) >/dev/null 2>err
code=$?
{ [ "$code" != 0 ] && [ "$code" -lt 128 ] && [ "$(wc -l <err)" -le 2 ] &&
	has err "bigout.md:1:1: " && grep -qE "$limit_said" err &&
	"$mdrun" store verify >/dev/null 2>&1 && ! leftovers; }
expect "a block's output over the file size limit: an error saying why, no damaged store (exit $code)" err
"$mdrun" -q bigout.md >out.md 2>err &&
	region out.md sh-1 | awk 'length == 400000 && /^y+$/ { n++ } END { exit n != 1 }'
expect "then, without the limit, the same block realizes" err
# A limit too small for the store's index: the store cannot be opened.
(ulimit -f 2 && exec "$mdrun" -q long.md -o limited.md) >/dev/null 2>err
code=$?
{ [ "$code" = 2 ] && [ "$(wc -l <err)" = 1 ] && has err "$MDRUN_STORE/store.db: " &&
	grep -qE "$limit_said" err && same limited.md keep.md && ! leftovers; }
expect "a file size limit the store cannot open under: one line naming store.db and why, exit 2, the old output intact" err

# --- interruption ---------------------------------------------------------------
for sig in INT TERM; do
	rm -f started.flag
	printf '```{sh}\necho started > started.flag; sleep 47.%s\n```\n\n```{python}\nprint(6 * 7)\n```\n' \
		"${#sig}" >int.md
	cp keep.md int.out
	"$mdrun" -q int.md -o int.out >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do [ -e started.flag ] && break; sleep 0.05; done
	kill -"$sig" "$pid"
	wait "$pid" 2>/dev/null
	code=$?
	sleep 0.2
	want=$((128 + $(kill -l "$sig")))
	{ [ "$code" = "$want" ] && ! pgrep -f "sleep 47.${#sig}" >/dev/null &&
		same int.out keep.md && "$mdrun" store verify >/dev/null &&
		! leftovers; }
	expect "SIG$sig mid-render: exit $want, its processes killed, the output and the store intact (exit $code)"
	sed -i "s/sleep 47.${#sig}/true/" int.md
	"$mdrun" -q int.md -o int.out 2>err && shows int.out python-1 42
	expect "after SIG$sig, the next render completes" err
done

# --- a tampered store -------------------------------------------------------------
# Rows damaged through the sqlite3 CLI.
printf '```{sh session=none name=t}\necho genuine\n```\n' >t.md
printf '```{sh session=none name=x}\necho status\n```\n' >x.md
"$mdrun" -q t.md >/dev/null
"$mdrun" -q x.md >/dev/null
if command -v sqlite3 >/dev/null; then
	sql() { sqlite3 "$MDRUN_STORE/store.db" "$@"; }
	key_of() { "$mdrun" store show "$1" | sed -n 's/^key: //p'; }
	key=$(key_of t.md#t)
	real=$key/$(sql "SELECT rhash FROM real WHERE key = '$key'")
	sql "UPDATE real SET stdout = CAST('forged' || char(10) AS BLOB) WHERE key = '$key'"
	"$mdrun" store verify >v.out 2>&1
	{ [ $? = 1 ] && grep -q "^$real: " v.out; }
	expect "a forged output: store verify names the realization" v.out
	"$mdrun" -q t.md >out.md 2>err
	{ [ $? -lt 128 ]; }
	expect "a render that uses it does not crash" err
	sql "UPDATE real SET stdout = substr(stdout, 1, 3) WHERE key = '$key'"
	"$mdrun" store verify >v.out 2>&1
	{ [ $? = 1 ] && grep -q "^$real: " v.out; }
	expect "a truncated output: store verify names the realization" v.out
	# A render reads the exit record from columns: one it cannot read
	# stops it, with how to repair it. (Without the document's snapshot:
	# a warm render reads that, not the row.)
	sql "DELETE FROM snap; UPDATE real SET exit_code = 'zero' WHERE key = '$key'"
	"$mdrun" -q t.md >out.md 2>err
	{ [ $? = 2 ] && has err "render with --rebuild to replace it" && [ "$(wc -l <err)" = 1 ]; }
	expect "a damaged realization: render stops with how to repair it, exit 2" err
	"$mdrun" -q --rebuild t.md >out.md 2>err && shows out.md t genuine &&
		"$mdrun" -q t.md >out.md 2>>err && shows out.md t genuine
	expect "--rebuild replaces it" err
	key=$(key_of x.md#x)
	real=$key/$(sql "SELECT rhash FROM real WHERE key = '$key'")
	sql "UPDATE real SET exit_code = 99999999999 WHERE key = '$key'"
	"$mdrun" -q x.md >out.md 2>err
	{ [ $? = 2 ] && has err "realization ${real:65:12} of key ${key:0:12}: malformed row"; }
	expect "an exit status no int holds: a malformed row, exit 2" err
	"$mdrun" store verify >v.out 2>&1
	{ [ $? = 1 ] && grep -q "^$real: .*malformed row" v.out; }
	expect "... and store verify names it" v.out
	sql "UPDATE real SET exit_code = 0, meta = json_set(meta, '\$.exit', 99999999999) WHERE key = '$key'"
	"$mdrun" store verify >v.out 2>&1
	{ [ $? = 1 ] && grep -qx "$real: meta: malformed realization metadata" v.out; }
	expect "an exit status no int holds in the meta: store verify names it malformed" v.out
else
	for what in "a forged output: store verify names the realization" \
		"a render that uses it does not crash" \
		"a truncated output: store verify names the realization" \
		"a damaged realization: render stops with how to repair it, exit 2" \
		"--rebuild replaces it" \
		"an exit status no int holds: a malformed row, exit 2" \
		"... and store verify names it" \
		"an exit status no int holds in the meta: store verify names it malformed"; do
		skip "$what" "the sqlite3 command is not installed"
	done
fi

# --- a config of the wrong shape ----------------------------------------------------
mkdir -p cfg
printf 'x\n\n```{sh}\necho hi\n```\n' >cfg/doc.md
bad_config() { # JSON EXPECTED NAME
	printf '%s\n' "$1" >cfg/mdrun.json
	"$mdrun" -q cfg/doc.md >/dev/null 2>err
	{ [ $? = 2 ] && has err "cfg/mdrun.json:" && has err "$2" && [ "$(wc -l <err)" = 1 ]; }
	expect "config: $3" err
}
bad_config '[1, 2]' "expected an object" "an array, not an object"
bad_config '{ "languages": 5 }' "expected" "languages as a number"
bad_config '{ "languages": { "perl": "perl {file}" } }' "expected" "a language as a string"
bad_config '{ "languages": { "perl": { "command": 5 } } }' "command" "a command as a number"
bad_config '{ "languages": { "perl": { "command": "perl {file}", "driver": 1 } } }' \
	"driver" "a driver as a number"
bad_config '{ "remote": true }' "remote" "remote as a boolean"
bad_config '{ "colour": "blue" }' "colour" "an unknown top-level key"

finish
