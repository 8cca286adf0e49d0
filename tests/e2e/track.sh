#!/usr/bin/env bash
# End-to-end tests of input tracking: files a block reads (itself, or
# through a program it starts) enter its key after the fact; an edit, a
# removal makes exactly the blocks that read them run again.
# usage: track.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

lib="$(dirname "$mdrun")/mdrun-track.so"
[ -f "$lib" ] || skip_all "mdrun-track.so is not built beside mdrun"

dir="$work/t"
mkdir -p "$dir"
cd "$dir" || exit 1
printf 'a\n1\n2\n' >data.csv
printf 'def f():\n    return 10\n' >helper.py
printf 'G=5\n' >utils.sh
echo "first note" >note.txt
cat >doc.md <<'EOF'
# Tracked

```{python}
import csv
rows = list(csv.reader(open("data.csv")))
print("rows:", len(rows) - 1)
```

```{python session=none}
import helper
print("helper:", helper.f() * 2)
```

```{bash}
source utils.sh
echo "G is $((G * 3))"
```

```{bash session=other}
echo "awk: $(awk 'END { print NR }' data.csv)"
```

```{python session=kid}
import subprocess
out = subprocess.run(["cat", "note.txt"], capture_output=True, text=True).stdout
print("note:", out.upper().strip())
```

```{python session=exists}
import os
print("note there:", os.path.exists("note.txt"))
```

```{sh session=none}
echo "never reads a file: $((6 * 7))"
```
EOF

render() { "$mdrun" -j 1 doc.md -o out.md 2>err; }
ran() { grep -q "^mdrun: ran $1 " err; }
cached() { ! grep -qE "^mdrun: (ran|replayed) $1 " err; }

render
expect "first render: exit 0" err
shows out.md python-1 "rows: 2" && shows out.md python-2 "helper: 20" &&
	shows out.md bash-1 "G is 15" && shows out.md bash-2 "awk: 3" &&
	shows out.md python-3 "note: FIRST NOTE"
expect "first render: every block read its file" out.md

render
! grep -qE '^mdrun: (ran|replayed) ' err
expect "nothing changed: nothing runs" err
# The stat cache in the store: a file unchanged since it was hashed (its
# size and times as then) is not read again, by this process or another.
if command -v strace >/dev/null; then
	sleep 3 # a file changed in the last 2 s is hashed again
	render
	strace -f -e trace=open,openat -o trace.out "$mdrun" -j 1 doc.md -o out.md 2>err
	! grep -q 'data\.csv' trace.out && ! grep -qE '^mdrun: (ran|replayed) ' err
	expect "the stat cache: a warm render does not read data.csv again" trace.out
else
	skip "the stat cache: a warm render does not read data.csv again" "strace is not installed"
fi

printf '3\n' >>data.csv
"$mdrun" plan doc.md >plan.out 2>&1
grep -Eq '^python-1 .* no +input changed: data\.csv$' plan.out &&
	grep -Eq '^bash-2 .* no +input changed: data\.csv$' plan.out &&
	grep -Eq '^bash-1 .* yes' plan.out
expect "plan names the file that changed, and only its readers" plan.out
render
shows out.md python-1 "rows: 3" && shows out.md bash-2 "awk: 4" &&
	ran python-1 && ran bash-2 && cached python-2 && cached bash-1 &&
	cached python-3 && cached sh-1
expect "a CSV edit re-runs the block that read it and the awk that read it, no more" err out.md
key=$("$mdrun" plan doc.md | awk '$1 == "python-1" { print $5 }')
"$mdrun" store show "$key" >show.out 2>&1
grep -Eq '^      read data\.csv  [0-9a-f]{12}$' show.out &&
	has show.out "realizations: 2 (the files they read differ)"
expect "store show lists each run's reads, and does not call it non-deterministic" show.out
"$mdrun" -j 1 --to json doc.md -o out.json 2>err &&
	python3 -c '
import json, sys, hashlib
blocks = {b["name"]: b for b in json.load(open("out.json"))["blocks"]}
want = [{"path": "data.csv", "sha256": hashlib.sha256(open("data.csv", "rb").read()).hexdigest()}]
sys.exit(blocks["python-1"]["reads"] != want or blocks["sh-1"]["reads"] != [])'
expect "the JSON report lists each block's reads with their SHA-256" err out.json

# Another size too: python trusts a byte code cache whose source has
# the size and the mtime second it recorded.
printf 'def f():\n    return 111\n' >helper.py
render
shows out.md python-2 "helper: 222" && ran python-2 && cached python-1
expect "a helper module edit (python import) re-runs its importer" err out.md

printf 'G=7\n' >utils.sh
render
shows out.md bash-1 "G is 21" && ran bash-1 && cached bash-2
expect "a sourced shell file edit re-runs the block that sourced it" err out.md

echo "second note" >note.txt
render
shows out.md python-3 "note: SECOND NOTE" && ran python-3
expect "a file read by a child process (cat) re-runs the block" err out.md

rm note.txt
render
shows out.md python-4 "note there: False" && ran python-4 && cached python-1
expect "a file removed re-runs the block that saw it" err out.md

echo "third note" >note.txt
render
shows out.md python-4 "note there: True" && ran python-4 && cached python-1
expect "a file that was looked for and missing appears: the block runs again" err out.md

render
! grep -qE '^mdrun: (ran|replayed) ' err
expect "after the edits, a render again runs nothing" err

# The python drivers' second source, for a python the library cannot
# enter (a static build): the "open" audit event, written to the same log.
: >audit.log
env -u LD_PRELOAD MDRUN_TRACK="$dir/audit.log" MDRUN_TRACK_ROOT="$dir" \
	MDRUN_TRACK_SKIP="$dir/skipped" python3 -c '
import os, sys
exec(open(sys.argv[1]).read())
_mdrun_rich(os, sys).setup()
open("data.csv").read()
open("audit-out.txt", "w").write("x")
os.makedirs("skipped", exist_ok=True)
open("skipped/x", "w").write("x")' "$src/mdrun/core/python/common.py" 2>audit.err
[ "$(cat audit.log)" = "$(printf 'R %s/data.csv\nW %s/audit-out.txt' "$dir" "$dir")" ]
expect "python's audit hook logs what python opens, as the library does" audit.log audit.err

# Opting out: --no-track for a render, track=false for a block.
"$mdrun" -j 1 --no-track doc.md -o out.md 2>err --rebuild=python-1
printf '4\n' >>data.csv
render
shows out.md python-1 "rows: 3" && cached python-1 && ran bash-2
expect "--no-track records nothing: an edit after it leaves the block cached" err out.md
sed -i 's/^```{python}$/```{python track=false}/' doc.md
"$mdrun" -j 1 doc.md -o out.md --rebuild=python-1 2>err
shows out.md python-1 "rows: 4"
expect "track=false: the block runs as before" err out.md
printf '5\n' >>data.csv
render
shows out.md python-1 "rows: 4" && cached python-1
expect "track=false: the block's reads are not recorded" err out.md
sed -i 's/^```{python track=false}$/```{python}/' doc.md

# track: false as a front matter default, and in mdrun.json.
mkdir -p "$work/off/js" && cd "$work/off" || exit 1
echo 1 >n.txt
cp n.txt js/
printf -- '---\nexecute:\n  track: false\n---\n\n```{python}\nprint("n is", int(open("n.txt").read()) * 7)\n```\n' >fm.md
printf '```{python}\nprint("m is", int(open("n.txt").read()) * 9)\n```\n' >js/js.md
echo '{ "track": false }' >js/mdrun.json
"$mdrun" -j 1 fm.md -o fm.out 2>err && "$mdrun" -j 1 js/js.md -o js.out 2>>err
echo 2 >n.txt
echo 2 >js/n.txt
"$mdrun" -j 1 fm.md -o fm.out 2>err && "$mdrun" -j 1 js/js.md -o js.out 2>>err
shows fm.out python-1 "n is 7" && shows js.out python-1 "m is 9" && ! grep -q "^mdrun: ran" err
expect "track: false in the front matter (execute:) and in mdrun.json record no reads" err fm.out js.out
cd "$dir" || exit 1

# The records travel with push and pull: a fresh store that pulled them
# runs nothing, and still sees an edit.
if command -v git >/dev/null; then
	export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
	mkdir -p "$HOME"
	git init -q --bare "$work/bare.git"
	render
	"$mdrun" push "$work/bare.git" >push.out 2>&1
	expect "push: exit 0" push.out
	MDRUN_STORE="$work/pulled" "$mdrun" pull "$work/bare.git" >pull.out 2>&1 &&
		has pull.out " 0 rejected)"
	expect "pull accepts realizations with their reads" pull.out
	MDRUN_STORE="$work/pulled" "$mdrun" -j 1 doc.md -o out2.md 2>err
	! grep -qE '^mdrun: (ran|replayed) ' err && same out.md out2.md
	expect "a pulled store renders warm, nothing run" err
	printf '6\n' >>data.csv
	MDRUN_STORE="$work/pulled" "$mdrun" -j 1 doc.md -o out2.md 2>err
	shows out2.md bash-2 "awk: 7" && ran bash-2
	expect "a pulled store sees the edit of a file its runs read" err out2.md
	"$mdrun" store verify >verify.out 2>&1
	expect "store verify: every realization with reads checks out" verify.out
else
	skip "push and pull keep the reads" "git is not installed"
fi

# --- files a block writes come back ------------------------------------
# Block 1 generates data.csv (in a session of its own), block 2 reads it.
# A fresh clone with the pulled store runs nothing: block 1 is a hit, and
# its file is written back before block 2 needs it.
if command -v git >/dev/null; then
	export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
	mkdir -p "$HOME" "$work/w1"
	git config --global user.name t
	git config --global user.email t@t
	cd "$work/w1" || exit 1
	git init -q .
	cat >gen.md <<'EOF'
```{python session=gen}
with open("made.csv", "w") as f:
    f.write("n\n" + "\n".join(str(i * i) for i in range(1, 6)) + "\n")
with open("big.bin", "wb") as f:
    f.write(b"x" * 4096)
```

```{bash session=use}
echo "sum: $(awk 'NR > 1 { s += $1 } END { print s }' made.csv)"
```
EOF
	git add gen.md && git commit -qm gen
	export MDRUN_STORE="$work/w1store"
	"$mdrun" -j 1 --max-write 1K gen.md -o out.md 2>err
	shows out.md bash-1 "sum: 55"
	expect "writes: the reader sees what the writer made" err out.md
	"$mdrun" -j 1 --max-write 1K --to json gen.md -o out.json 2>err &&
		python3 -c '
import json, sys, hashlib
b = {x["name"]: x for x in json.load(open("out.json"))["blocks"]}
made = hashlib.sha256(open("made.csv", "rb").read()).hexdigest()
big = hashlib.sha256(open("big.bin", "rb").read()).hexdigest()
sys.exit(b["python-1"]["writes"] != [
    {"path": "big.bin", "sha256": big, "kept": False},
    {"path": "made.csv", "sha256": made, "kept": True}] or b["bash-1"]["writes"] != [])'
	expect "writes: the JSON report lists them, kept or only hashed" err out.json
	"$mdrun" store show "$("$mdrun" plan gen.md | awk '$1 == "python-1" { print $5 }')" >show.out 2>&1
	grep -Eq '^      wrote made\.csv  [0-9a-f]{12}$' show.out &&
		grep -Eq '^      wrote big\.bin  [0-9a-f]{12} \(not kept\)$' show.out
	expect "writes: store show lists them" show.out
	git init -q --bare "$work/w.git"
	"$mdrun" push "$work/w.git" >push.out 2>&1
	expect "writes: push sends the contents" push.out
	git clone -q "$work/w1" "$work/w2"
	cd "$work/w2" || exit 1
	export MDRUN_STORE="$work/w2store"
	"$mdrun" pull "$work/w.git" >pull.out 2>&1 && has pull.out " 0 rejected)"
	expect "writes: pull accepts realizations with their contents" pull.out
	printf 'x%.0s' $(seq 4096) >big.bin # as the run left it: not kept
	"$mdrun" -j 1 gen.md -o out.md 2>err
	shows out.md bash-1 "sum: 55" && cached python-1 && cached bash-1 &&
		[ "$(sed -n 6p made.csv)" = 25 ] && has err "restored 1 file python-1 wrote"
	expect "writes: a fresh clone with the pulled store runs nothing, the file comes back" err out.md
	echo "n" >made.csv
	"$mdrun" -j 1 gen.md -o out.md 2>err
	cached python-1 && cached bash-1 && [ "$(sed -n 6p made.csv)" = 25 ]
	expect "writes: a file that differs from what the block wrote is written back" err
	rm big.bin
	"$mdrun" plan gen.md >plan.out 2>&1
	grep -Eq '^python-1 .* no +input changed: big\.bin \(written, larger than the store keeps\)$' plan.out
	expect "writes: plan says a write too large to keep is missing" plan.out
	"$mdrun" -j 1 gen.md -o out.md 2>err
	ran python-1 && [ -f big.bin ]
	expect "writes: the block whose large write is missing runs again" err
	"$mdrun" store verify >verify.out 2>&1
	expect "writes: store verify checks the kept contents" verify.out
	"$mdrun" gc >gc.out 2>&1 && ! grep -q "of written files" gc.out
	expect "writes: gc keeps the contents a rooted realization names" gc.out
	"$mdrun" store rm "$("$mdrun" plan gen.md | awk '$1 == "python-1" { print $5 }')" >/dev/null 2>&1
	"$mdrun" gc >gc.out 2>&1 && grep -Eq "removed [0-9]+ contents? of written files" gc.out &&
		"$mdrun" gc >gc2.out 2>&1 && ! grep -q "of written files" gc2.out
	expect "writes: gc removes contents no realization names" gc.out
	cd "$dir" || exit 1
	export MDRUN_STORE="$work/store"
else
	skip "writes come back" "git is not installed"
fi

# --- files updated in place, git's files, writes that must not come back
if command -v git >/dev/null && command -v sqlite3 >/dev/null; then
	mkdir -p "$work/u" && cd "$work/u" || exit 1
	git init -q .
	export MDRUN_STORE="$work/ustore"
	python3 -c 'import sqlite3; c = sqlite3.connect("data.db"); c.execute("create table t (x)"); c.execute("insert into t values (1)"); c.commit()'
	cat >u.md <<'EOF'
```{python}
import sqlite3, subprocess
c = sqlite3.connect("data.db")
print("rows", c.execute("select count(*) from t").fetchone()[0] * 100)
c.close()
subprocess.run(["git", "status", "--short"], capture_output=True)
open("made.txt", "w").write("made")
```
EOF
	"$mdrun" -j 1 u.md -o u.out 2>err
	shows u.out python-1 "rows 100"
	expect "updates: the block reads the database it opens read-write" err u.out
	python3 -c 'import sqlite3; c = sqlite3.connect("data.db"); c.execute("insert into t values (2)"); c.commit()'
	"$mdrun" -j 1 u.md -o u.out 2>err
	shows u.out python-1 "rows 200" && ran python-1 &&
		[ "$(python3 -c 'import sqlite3; print(sqlite3.connect("data.db").execute("select count(*) from t").fetchone()[0])')" = 2 ]
	expect "updates: a database updated after the run re-runs the block, and is never put back" err u.out
	"$mdrun" store show "$("$mdrun" plan u.md | awk '$1 == "python-1" { print $5 }')" >show.out 2>&1
	has show.out "wrote made.txt" && ! grep -q ' \.git/' show.out && ! grep -q 'wrote data\.db' show.out
	expect "updates: git's own files are not recorded; the database is no write" show.out
	# A store that says the block wrote .git/config and mdrun.json (a
	# hostile pull): neither is written back, and the render says so.
	sqlite3 "$MDRUN_STORE/store.db" "UPDATE real SET writes = CAST(replace(CAST(writes AS TEXT), 'made.txt', '.git/config') || replace(CAST(writes AS TEXT), 'made.txt', 'mdrun.json') || replace(CAST(writes AS TEXT), 'made.txt', 'sub/../../x') AS BLOB) WHERE length(writes) > 0"
	cp .git/config config.before
	"$mdrun" -j 1 u.md -o u.out 2>err
	cmp -s .git/config config.before && [ ! -e mdrun.json ] && [ ! -e ../x ] &&
		grep -q "recorded writes not written back" err
	expect "restore never writes git's files, mdrun's config, or outside the folder" err
	cd "$dir" || exit 1
	export MDRUN_STORE="$work/store"
else
	skip "updates and forbidden writes" "git or sqlite3 is not installed"
fi

# --- a file an R kernel block reads ------------------------------------
if [ -d /usr/share/jupyter/kernels/ir ] || "$mdrun" kernels 2>/dev/null | grep -q '^  ir '; then
	printf 'x\ny\n' >lines.txt
	printf '```{r}\nn <- length(readLines("lines.txt"))\ncat("lines:", n * 10, "\\n")\n```\n' >r.md
	"$mdrun" -j 1 r.md -o rout.md 2>err
	shows rout.md r-1 "lines: 20 "
	expect "R kernel: the block reads its file" err rout.md
	printf 'z\n' >>lines.txt
	"$mdrun" -j 1 r.md -o rout.md 2>err
	shows rout.md r-1 "lines: 30 " && ran r-1
	expect "R kernel: an edit of the file it read re-runs it" err rout.md
else
	skip "R kernel: a file it reads" "IRkernel is not installed"
fi

finish
