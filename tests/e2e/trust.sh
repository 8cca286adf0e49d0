#!/usr/bin/env bash
# Runs you can trust: replays that end and change nothing shown, failures
# whose rendering does not depend on -j or timing, interrupted blocks that
# leave no record, cut outputs never served to a render that allows more,
# and progress that says what happened.
. "$(dirname "$0")/lib.sh"
cd "$work"

# The realizations in the store, all keys together, as store ls counts
# them ("N runs, M realizations" for each key); 0 before the store is made
# (store ls would make it).
nreal() {
	[ -e "$MDRUN_STORE/store.db" ] || { echo 0; return; }
	"$mdrun" store ls 2>/dev/null |
		sed -n 's/.* [0-9]* runs\{0,1\}, \([0-9]*\) realizations\{0,1\}  .*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

# --- a replay ends, and realizes nothing ------------------------------------
cat >loop.md <<'DOC'
```{bash}
echo "stamp $RANDOM$RANDOM$RANDOM"
```

```{bash}
echo two
```

```{bash error=true}
echo bye; exit 3
```

```{bash}
echo after
```
DOC
timeout 60 "$mdrun" loop.md -o loop.out 2>err
code=$?
{ [ "$code" = 0 ] && [ "$(nreal)" = 4 ] && shows loop.out bash-4 after; }
expect "a session whose block ends it: the render ends, one realization per block" err
timeout 60 "$mdrun" loop.md -o loop.out2 2>err
{ [ $? = 0 ] && same loop.out loop.out2 && [ "$(nreal)" = 4 ] &&
	has err "4 blocks: 0 ran, 4 cached"; }
expect "the warm render runs nothing and shows the same bytes" err
sed -i 's/echo after/echo later/' loop.md
timeout 60 "$mdrun" loop.md -o loop.out3 2>err
{ [ $? = 0 ] && [ "$(nreal)" = 5 ] && shows loop.out3 bash-4 later &&
	[ "$(grep -c "^stamp" loop.out3)" = 1 ] &&
	[ "$(grep "^stamp" loop.out)" = "$(grep "^stamp" loop.out3)" ]; }
expect "an edit after a block that ended the session: only the edited block is realized, the stamp above it is unchanged" err

# --- a README whose last block fails, with timestamps above it -------------
rm -rf "$MDRUN_STORE"
cat >readme.md <<'DOC'
# Benchmarks

```{bash}
echo "took $(date +%s%N) ns"
```

```{python}
import random
print("score", random.random())
```

```{bash}
echo "pid $$ $RANDOM"
```

```{python}
raise SystemExit("the last block fails")
```
DOC
"$mdrun" readme.md -o readme.1 2>err1
[ $? = 1 ]
expect "readme: the cold render fails on the last block" err1
timeout 60 "$mdrun" readme.md -o readme.2 2>err2
code=$?
{ [ "$code" = 1 ] && same readme.1 readme.2; }
expect "readme: a warm render shows the same bytes for every block above the failure" err2
[ "$(nreal)" = 4 ]
expect "readme: the replay made no realization"
{ has err2 "readme.md:7: block python-1 printed something else when replayed; the state may differ" &&
	! has err2 "bash-1 printed something else" &&
	[ "$(grep -c 'printed something else' err2)" = 1 ]; }
expect "readme: a replayed block that printed something else is one warning naming it (bash-1's session did not replay)" err2
{ has err2 "mdrun: replayed python-1 (readme.md:7) in" && ! has err2 "cached python-1" &&
	has err2 "4 blocks: 1 ran, 1 replayed, 2 cached, 1 failed"; }
expect "readme: progress and summary say replayed, not cached" err2
[ "$(grep -c replaying err2)" = 1 ]
expect "readme: one replay" err2
"$mdrun" check readme.md -o readme.2 >check.out 2>&1
{ [ $? = 1 ] && ! has check.out "differs" && has check.out "block python-2 failed"; }
expect "readme: check reports the failure, not a stale document" check.out

# A replay that printed something else is recorded for check --repeat, even
# when the repeated run itself prints what the store holds. made.txt
# stands for what tracking does not see (the network, the clock): the
# renders do not track (docs/tracking.md).
cat >flaky.md <<'DOC'
```{python}
import os
print("made" if os.path.exists("made.txt") else "fresh")
```

```{python}
open("made.txt", "w").write("x")
```

```{python}
raise SystemExit("fails")
```
DOC
rm -f made.txt
"$mdrun" -q --no-track flaky.md -o flaky.1 2>/dev/null
"$mdrun" --no-track flaky.md -o flaky.1 2>err
has err "flaky.md:1: block python-1 printed something else when replayed"
expect "a replay that sees another file system warns" err
rm -f made.txt
"$mdrun" check --no-track --repeat flaky.md -o flaky.1 >check.out 2>&1
{ [ $? = 1 ] && has check.out "flaky.md:1: block python-1 is not deterministic: it printed something else when replayed"; }
expect "check --repeat reports a block whose replay printed something else" check.out

# A failed block's effects before it failed are part of the state a replay
# rebuilds, as in a run from the top.
cat >part.md <<'DOC'
```{python error=true}
z = 5
raise ValueError("expected")
```

```{python}
print("z is", z)
```
DOC
"$mdrun" -q part.md -o part.1
sed -i 's/z is/now z is/' part.md
"$mdrun" -q part.md -o part.2
shows part.2 python-2 "now z is 5"
expect "replay: a failed block's state before it failed is rebuilt" part.2

# --- several failing blocks of one session: one replay --------------------
cat >many.md <<'DOC'
```{python}
import time
print("t", time.time())
```

```{python}
raise ValueError("one")
```

```{python}
print("between")
```

```{python}
raise ValueError("two")
```

```{python}
print("end")
```
DOC
"$mdrun" -k many.md -o many.1 2>/dev/null
"$mdrun" -k many.md -o many.2 2>err
{ [ "$(grep -c 'replaying the python session from python-1' err)" = 1 ] &&
	[ "$(grep -c '^mdrun: replayed python-1 ' err)" = 1 ] &&
	[ "$(grep -c '^mdrun: replayed python-3 ' err)" = 1 ] && same many.1 many.2 &&
	has err "5 blocks: 2 ran, 2 replayed, 1 cached, 2 failed"; }
expect "two failing blocks of one session: one replay, no block replayed twice" err

# --- failures do not depend on -j -------------------------------------------
# Lone blocks and two sessions; flags make the first, a middle or the last
# block fail (cache=false: they run on a warm store too). Every -j renders
# the same bytes from the same store.
cat >jobs.md <<'DOC'
```{sh session=none cache=false}
[ -e fail.first ] && exit 4; echo A
```

```{python}
print("P1")
```

```{sh session=none}
sleep 0.2; echo B
```

```{bash cache=false}
[ -e fail.middle ] && exit 5; echo MID
```

```{sh session=none}
echo C
```

```{python}
print("P2")
```

```{sh session=none cache=false}
[ -e fail.last ] && exit 6; echo D
```
DOC
for warm in cold warm; do
	for which in first middle last; do
		rm -f fail.*
		rm -rf store0
		if [ "$warm" = warm ]; then
			MDRUN_STORE=$work/store0 "$mdrun" -q jobs.md -o /dev/null
		else
			mkdir store0
		fi
		touch "fail.$which"
		okay=true
		for rep in 1 2; do
			for j in 1 2 3 4; do
				rm -rf storej
				cp -a store0 storej
				MDRUN_STORE=$work/storej "$mdrun" -q -j "$j" jobs.md \
					-o "jobs.$j" 2>/dev/null
				[ $? = 1 ] || okay=false
				[ "$j" = 1 ] || same jobs.1 "jobs.$j" || okay=false
			done
		done
		$okay
		expect "failure $which ($warm store): -j 1 to 4 render the same bytes" jobs.1
		case $which in
		first) n=6 ;; middle) n=3 ;; last) n=0 ;;
		esac
		[ "$(grep -c '^\*not run: an earlier block failed\*$' jobs.1)" = "$n" ]
		expect "failure $which ($warm store): every block after it is not run, every block before it shown" jobs.1
	done
done
rm -f fail.*
touch fail.middle
"$mdrun" -q -k -j 3 jobs.md -o jobs.k 2>/dev/null
{ shows jobs.k python-2 P2 && shows jobs.k sh-4 D && ! has jobs.k "not run"; }
expect "-k: blocks that do not read the failed one are shown" jobs.k
rm -f fail.*

# --- an interrupted block leaves no record ------------------------------------
cat >int.md <<'DOC'
```{bash}
echo one
```

```{bash}
if [ -e slow.2 ]; then sleep 30; fi
echo two
```

```{sh session=none}
if [ -e slow.3 ]; then sleep 30; fi
echo three
```
DOC
for sig in TERM INT; do
	for target in 2 3; do
		rm -rf "$MDRUN_STORE" int.out
		touch "slow.$target"
		"$mdrun" -j 1 int.md -o int.out 2>int.err &
		pid=$!
		for _ in $(seq 100); do
			[ "$(nreal)" -ge "$((target - 1))" ] && break
			sleep 0.1
		done
		sleep 0.5
		kill -"$sig" "$pid"
		wait "$pid"
		# What the interrupted render wrote (nothing, when interrupted)
		cp int.out int.first 2>/dev/null || : >int.first
		rm -f slow.*
		n=$(nreal)
		"$mdrun" -j 1 int.md -o int.out 2>err
		code=$?
		{ [ "$n" = "$((target - 1))" ] && [ "$code" = 0 ] &&
			! grep -q "killed by signal" int.out &&
			[ "$(grep -c '^mdrun: ran' err)" = "$((4 - target))" ]; }
		expect "SIG$sig during block $target: the store holds only the blocks that finished ($n); the next render starts there" err int.err int.first
		"$mdrun" store verify >/dev/null 2>&1
		expect "SIG$sig during block $target: store verify is clean"
	done
done

# A reader that opens a new store while its first render is making it
# (store.db there, VERSION not yet) does not wait for that render to end.
# The moment is made here by taking VERSION away while a render runs.
rm -rf "$MDRUN_STORE"
touch slow.3
"$mdrun" -q -j 1 int.md -o int.out 2>/dev/null &
pid=$!
for _ in $(seq 100); do
	[ "$(nreal)" -ge 2 ] && break
	sleep 0.1
done
rm -f "$MDRUN_STORE/VERSION"
timeout 10 "$mdrun" store ls >ls.out 2>&1
code=$?
kill "$pid"
wait "$pid"
rm -f slow.*
{ [ "$code" = 0 ] && [ "$(grep -c ' realization  ' ls.out)" = 2 ] &&
	[ -e "$MDRUN_STORE/VERSION" ]; }
expect "store ls during the render that makes the store: answers at once" ls.out

# Blocks killed on other workers, while the signal ends mdrun, are not
# recorded as killed either (a race: tried several times).
cat >par.md <<'DOC'
```{sh session=none}
sleep 2; echo a
```

```{sh session=none}
sleep 2; echo b
```

```{python session=none}
import time; time.sleep(2); print("c")
```

```{bash}
sleep 2; echo d
```
DOC
# A realization records the signal that ended its block in its row of
# table real: in its meta and in the column exit_signal.
if command -v sqlite3 >/dev/null; then
	killed=0
	for _ in 1 2 3 4 5 6; do
		rm -rf "$MDRUN_STORE"
		"$mdrun" -j 4 par.md -o /dev/null 2>/dev/null &
		pid=$!
		sleep 1
		kill -TERM "$pid"
		wait "$pid"
		n=$(sqlite3 "$MDRUN_STORE/store.db" "SELECT count(*) FROM real
			WHERE exit_signal != 0
				OR json_extract(meta, '$.signal') != 0") || n=error
		[ "$n" = 0 ] || killed=$((killed + 1))
	done
	[ "$killed" = 0 ]
	expect "SIGTERM with 4 workers: no block is recorded as killed ($killed of 6 renders did)"
else
	skip "SIGTERM with 4 workers: no block is recorded as killed" "no sqlite3"
fi

# --- --max-output: a cut result is not served to a render allowing more ----
rm -rf "$MDRUN_STORE"
cat >cap.md <<'DOC'
```{python}
print("x" * 3000)
print("the end")
```
DOC
"$mdrun" -q --max-output 1K cap.md -o cap.1
shows cap.1 python-1 "[mdrun: output cut at 1024 bytes]"
expect "--max-output 1K cuts the output"
"$mdrun" cap.md -o cap.2 2>err
{ shows cap.2 python-1 "the end" && ! has cap.2 "output cut" && has err "1 block: 1 ran"; }
expect "a later render with the default cap runs the block again and shows it whole" err
"$mdrun" cap.md -o cap.3 2>err
{ same cap.2 cap.3 && has err "1 cached"; }
expect "and the whole result is then cached" err
"$mdrun" -q --max-output 1K cap.md -o cap.4
{ ! has cap.4 "output cut"; }
expect "a render allowing less may show a whole result"
rm -rf "$MDRUN_STORE"
"$mdrun" -q --max-output 1K cap.md -o cap.1
"$mdrun" plan cap.md >plan.out
has plan.out "output cut at a smaller --max-output"
expect "plan says why a cut result runs again" plan.out

# --- MDRUN_OUT starts empty ---------------------------------------------------
# A run equal to a stored one (cache=false here) must not leave its files
# for the next block of its session, nor for the next lone block.
for mode in "" " session=none"; do
	cat >art.md <<DOC
\`\`\`{bash cache=false$mode}
echo hi > "\$MDRUN_OUT/a.txt"; echo wrote
\`\`\`

\`\`\`{bash cache=false$mode}
echo nothing
\`\`\`
DOC
	"$mdrun" -q -j 1 art.md -o art.1
	"$mdrun" -q -j 1 art.md -o art.2
	(for f in art.1 art.2; do
		region $f bash-1 | grep -q '^\[a\.txt\](' &&
			! region $f bash-2 | grep -q 'a\.txt' || exit 1
	done)
	expect "MDRUN_OUT starts empty after a run equal to a stored one (bash$mode)" art.2
done

# --- a key with every field ---------------------------------------------------
# A session block after the first, with deps=, inputs= and env=: 11 fields.
printf 'rows\n' >in.txt
cat >fields.md <<'DOC'
```{sh name=src session=none}
echo source > "$MDRUN_OUT/s.txt"; echo src
```

```{python}
x = 1
```

```{python deps=src inputs=in.txt env=HOME}
import os
print("dep", open(os.environ["MDRUN_DEP_src"] + "/s.txt").read().strip(), x)
```
DOC
"$mdrun" -q fields.md -o fields.1 &&
	"$mdrun" fields.md -o fields.2 2>err && same fields.1 fields.2 &&
	has err "3 blocks: 0 ran, 3 cached" && shows fields.1 python-2 "dep source 1"
expect "a block with eleven key fields is keyed, run once, then cached" err
"$mdrun" plan fields.md >plan.out 2>&1
expect "plan of it runs" plan.out

# Two deps= names that one MDRUN_DEP_ variable would stand for: an error.
cat >dd.md <<'DOC'
```{sh name=a-b session=none}
echo 1
```

```{sh name=a.b session=none}
echo 2
```

```{sh deps=a-b,a.b session=none}
ls "$MDRUN_DEP_a_b"
```
DOC
"$mdrun" dd.md -o dd.out 2>err
{ [ $? = 2 ] && has err "dd.md:9:13: deps: 'a-b' and 'a.b' would both be MDRUN_DEP_a_b" &&
	[ "$(wc -l <err)" = 1 ] && [ ! -e dd.out ]; }
expect "deps= names that share a variable: one line naming both, exit 2, nothing runs" err

# --- -o into a folder that does not exist ----------------------------------
cat >mark.md <<'DOC'
```{sh}
touch ran.mark
echo marked
```
DOC
"$mdrun" mark.md -o nowhere/out.md 2>err
code=$?
{ [ "$code" = 2 ] && [ ! -e ran.mark ] && has err "nowhere/out.md: the folder nowhere does not exist" &&
	[ "$(wc -l <err)" = 1 ]; }
expect "-o into a missing folder: one line, exit 2, nothing runs" err
mkdir -p ro
chmod 0555 ro
if [ "$(id -u)" = 0 ]; then
	skip "-o into a read-only folder: exit 2, nothing runs" \
		"root writes anywhere"
else
	"$mdrun" mark.md -o ro/out.md 2>err
	{ [ $? = 2 ] && [ ! -e ran.mark ]; }
	expect "-o into a read-only folder: exit 2, nothing runs" err
fi

# --- progress: real times, replays, heartbeat, help, plurals -----------------
cat >time.md <<'DOC'
```{sh session=none}
sleep 0.3; echo slept
```
DOC
"$mdrun" time.md -o /dev/null 2>err
ms=$(sed -n 's/^mdrun: ran sh-1 (time.md:1) in \([0-9]*\) ms$/\1/p' err)
[ -n "$ms" ] && [ "$ms" -ge 250 ]
expect "session=none: progress says the real time (${ms:-?} ms)" err
has err "mdrun: 1 block: 1 ran, 0 cached, 0 failed"
expect "one block: the summary says 1 block" err

cat >beat.md <<'DOC'
```{bash}
sleep 11; echo awake
```
DOC
"$mdrun" beat.md -o /dev/null 2>err
has err "mdrun: still running bash-1 (beat.md:1) after 10 s"
expect "off a terminal, a block running past 10 s is named" err
"$mdrun" -q beat.md -o /dev/null 2>err
[ ! -s err ]
expect "-q: no heartbeat when nothing runs" err

"$mdrun" render --help >help.out 2>err
{ [ $? = 0 ] && has help.out "render options:" && [ ! -s err ]; }
expect "mdrun render --help prints render's help" err
"$mdrun" render -h >help.out 2>err
{ [ $? = 0 ] && has help.out "--max-output"; }
expect "mdrun render -h too" err

# --- plan says when only the interpreter changed -----------------------------
mkdir -p interp
cat >interp/py <<'SH'
#!/bin/sh
if [ "$1" = --version ]; then echo "Python 9.1"; exit 0; fi
exec python3 "$@"
SH
chmod +x interp/py
printf '{ "languages": { "python": { "command": "%s/interp/py", "driver": "python" } } }\n' "$work" >interp/mdrun.json
cat >interp/doc.md <<'DOC'
```{python}
x = 1
```

```{python}
print(x)
```
DOC
"$mdrun" -q interp/doc.md -o /dev/null
sed -i 's/9.1/9.2/' interp/py
touch -d '+1 second' interp/py
"$mdrun" plan interp/doc.md >plan.out 2>&1
{ [ "$(grep -c 'interpreter changed: Python 9.1 -> Python 9.2' plan.out)" = 2 ] &&
	! has plan.out "never realized" && ! has plan.out "waits on upstream"; }
expect "plan: interpreter changed, with the old and new identity, for every block it runs" plan.out

finish
