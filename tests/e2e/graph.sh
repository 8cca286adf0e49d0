#!/usr/bin/env bash
# End-to-end tests of the stage graph: deps= with artifacts and early
# cutoff, inputs=, env=. usage: graph.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/g"
mkdir -p "$dir"
cd "$dir" || exit 1

# The producer counts its runs in a file outside the document's folder: a
# file it wrote inside would be part of its result (docs/tracking.md), and
# a count that grows would be a new result each run.
cat >dag.md <<'DOC'
```{sh name=producer session=none}
echo ran >> ../producer.log
# a comment to edit
printf '1\n2\n3\n' > "$MDRUN_OUT/numbers.txt"
echo "wrote 3 numbers"
```

```{python name=consumer deps=producer}
import os
with open("consumer.log", "a") as f:
    f.write("ran\n")
path = os.path.join(os.environ["MDRUN_DEP_producer"], "numbers.txt")
print("sum:", sum(int(x) for x in open(path)))
```
DOC
"$mdrun" -q dag.md -o dag.out 2>err
{ [ $? = 0 ] && shows dag.out consumer "sum: 6"; }
expect "deps: the consumer reads the producer's artifacts at MDRUN_DEP_producer"
# store path names the realization's artifacts: objects/RHASH, the tree
# the block wrote to MDRUN_OUT, read-only.
real=$("$mdrun" store path dag.md#producer)
{ [[ $real =~ ^$MDRUN_STORE/objects/[0-9a-f]{64}$ ]] &&
	[ "$(ls "$real")" = numbers.txt ] &&
	[ "$(cat "$real/numbers.txt" | wc -l)" = 3 ] &&
	[ -z "$(find "$real" -perm /222)" ]; }
expect "artifacts: MDRUN_OUT becomes the realization's read-only out/"
link=$(sed -n 's/^\[numbers.txt\](\(dag_files\/[0-9a-f]*\.txt\))$/\1/p' dag.out)
{ [ -n "$link" ] && [ "$(cat "$link")" = "$(printf '1\n2\n3')" ]; }
expect "artifacts: a file the block wrote is copied to OUT_files/ (OUT without its extension) and linked"
sed -i 's/# a comment to edit/# the comment, edited/' dag.md
"$mdrun" dag.md -o dag.out 2>err
{ has err "2 blocks: 1 ran, 1 cached" && [ "$(wc -l <../producer.log)" = 2 ] && [ "$(wc -l <consumer.log)" = 1 ]; }
expect "early cutoff: the producer runs again with the same output, the consumer stays cached"
sed -i "s/printf '1\\\\n2\\\\n3\\\\n'/printf '1\\\\n2\\\\n3\\\\n4\\\\n'/" dag.md
"$mdrun" dag.md -o dag.out 2>err
{ has err "2 blocks: 2 ran, 0 cached" && shows dag.out consumer "sum: 10"; }
expect "an upstream output changes: the consumer runs again"

printf '```{sh name=a}\necho a\n```\n\n```{sh deps=nothere}\necho b\n```\n' >bad1.md
"$mdrun" bad1.md >/dev/null 2>err
{ [ $? = 2 ] && has err "bad1.md:5:13: deps: no block named 'nothere' before this one"; }
expect "deps: an unknown name is a FILE:LINE:COL error"
printf '```{sh deps=later}\necho b\n```\n\n```{sh name=later}\necho a\n```\n' >bad2.md
"$mdrun" bad2.md >/dev/null 2>err
{ [ $? = 2 ] && has err "bad2.md:1:13: deps: 'later' comes later (line 5); deps name earlier blocks"; }
expect "deps: a later block is an error (the graph stays acyclic)"

mkdir -p data
printf '10\n' >data/a.csv
printf '20\n' >data/b.csv
printf '```{sh inputs=data/*.csv}\necho ran >> in.log; cat data/*.csv\n```\n' >in.md
"$mdrun" -q in.md -o in.out
"$mdrun" -q in.md -o in.out
[ "$(wc -l <in.log)" = 1 ]
expect "inputs: unchanged files, cached"
printf '30\n' >data/b.csv
"$mdrun" -q in.md -o in.out
{ [ "$(wc -l <in.log)" = 2 ] && shows in.out sh-1 10 30; }
expect "inputs: a changed input file runs the block again"
printf '40\n' >data/c.csv
"$mdrun" -q in.md -o in.out
[ "$(wc -l <in.log)" = 3 ]
expect "inputs: a new file matching the glob runs the block again"
printf '```{sh inputs=missing.csv}\necho x\n```\n' >in2.md
"$mdrun" in2.md >/dev/null 2>err
{ [ $? = 2 ] && has err "in2.md:1:15: inputs: 'missing.csv' matches no file"; }
expect "inputs: a missing input is a FILE:LINE:COL error"
printf '```{sh inputs=../x}\necho x\n```\n' >in3.md
"$mdrun" in3.md >/dev/null 2>err
{ [ $? = 2 ] && has err "is outside the document's folder"; }
expect "inputs: a path outside the document's folder is refused"

printf '```{sh env=MDRUN_TEST_MODE}\necho ran >> env.log; echo "mode=$MDRUN_TEST_MODE"\n```\n' >env.md
MDRUN_TEST_MODE=fast "$mdrun" -q env.md -o env.out
MDRUN_TEST_MODE=fast "$mdrun" -q env.md -o env.out
[ "$(wc -l <env.log)" = 1 ]
expect "env: the same value, cached"
MDRUN_TEST_MODE=slow "$mdrun" -q env.md -o env.out
{ [ "$(wc -l <env.log)" = 2 ] && shows env.out sh-1 "mode=slow"; }
expect "env: another value runs the block again"
"$mdrun" -q env.md -o env.out
[ "$(wc -l <env.log)" = 3 ]
expect "env: unset is another value"

cat >keep.md <<'DOC'
```{sh name=broken session=none}
echo partial; exit 2
```

```{sh name=reader deps=broken session=none}
echo reads broken
```

```{sh name=independent session=none}
echo independent
```
DOC
"$mdrun" -j 1 keep.md -o keep.out 2>err
code=$?
{ [ "$code" = 1 ] && shows keep.out broken partial "*exit status 2*" &&
	shows keep.out reader "*not run: an earlier block failed*" &&
	shows keep.out independent "*not run: an earlier block failed*" &&
	has err "3 blocks: 1 ran, 0 cached, 1 failed, 2 not run"; }
expect "default: after a failure nothing new starts; the rest is marked not run"
"$mdrun" --keep-going keep.md -o keep.out 2>err
code=$?
{ [ "$code" = 1 ] && shows keep.out reader "*not run: upstream failed*" &&
	shows keep.out independent independent &&
	has err "keep.md:1: block broken failed (exit 2)"; }
expect "--keep-going: a block reading a failed one is not run, independent work goes on"

# --- parallel realization -------------------------------------------------
# Each block logs its start, waits until BARRIER blocks have started (30 s
# at most), then logs its end. -j 3 runs the three at once: every start
# comes before any end, however loaded the machine. -j 1 runs one at a
# time: a block starts after the one before has ended. BARRIER is not in
# the blocks' keys, and they print the same either way.
cat >par.md <<'DOC'
```{python}
import os, time
open("par.log", "a").write("start\n")
for _ in range(300):
    if open("par.log").read().count("start") >= int(os.environ["BARRIER"]):
        break
    time.sleep(0.1)
open("par.log", "a").write("end\n")
print("python done")
```

```{bash}
echo start >>par.log
for _ in $(seq 300); do
	[ "$(grep -c start par.log)" -ge "$BARRIER" ] && break
	sleep 0.1
done
echo end >>par.log
echo "bash done"
```

```{sh session=none}
echo start >>par.log
i=0
while [ "$(grep -c start par.log)" -lt "$BARRIER" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo end >>par.log
echo "alone done"
```
DOC
BARRIER=3 "$mdrun" -q -j 3 par.md -o par3.out
[ "$(tr '\n' ' ' <par.log)" = "start start start end end end " ]
expect "-j 3: three independent blocks run at the same time" par.log
rm par.log
BARRIER=1 "$mdrun" -q -j 1 --rebuild par.md -o par1.out
[ "$(tr '\n' ' ' <par.log)" = "start end start end start end " ]
expect "-j 1: one block at a time" par.log
same par3.out par1.out
expect "the document does not depend on how many jobs ran it"
cat >cross.md <<'DOC'
```{python name=first}
x = 1
```

```{sh name=middle session=none}
echo 41 > "$MDRUN_OUT/n"
```

```{python name=last deps=middle}
import os
print(x + int(open(os.path.join(os.environ["MDRUN_DEP_middle"], "n")).read()))
```
DOC
timeout 60 "$mdrun" -q -j 1 cross.md -o cross.out
{ [ $? = 0 ] && shows cross.out last 42; }
expect "-j 1: a session waiting on another unit's block does not deadlock"
"$mdrun" -j 0 par.md >/dev/null 2>err
[ $? = 2 ]
expect "-j 0: usage error"

# --- progress ---------------------------------------------------------------
printf '```{sh}\nsleep 0.6; echo a\n```\n\n```{python}\nimport time; time.sleep(0.6)\n```\n' >prog.md
"$mdrun" -j 2 prog.md -o prog.out 2>err
{ has err "mdrun: ran sh-1 (prog.md:1) in" && has err "mdrun: ran python-1 (prog.md:5) in" &&
	has err "2 blocks: 2 ran, 0 cached, 0 failed"; }
expect "progress off a terminal: one line per block and a summary"
"$mdrun" -q prog.md -o prog.out 2>err
[ ! -s err ]
expect "-q: nothing on stderr when all is well"
if command -v script >/dev/null; then
	script -qec "'$mdrun' -j 2 --rebuild prog.md -o prog.out" /dev/null >tty.txt
	{ grep -Eq 'cached, running sh-1 [0-9]+\.[0-9]s, python-1 [0-9]+\.[0-9]s' tty.txt && grep -q '\[2/2\]' tty.txt; }
	expect "progress on a terminal: one live line, running blocks and their elapsed time"
else
	skip "progress on a terminal: one live line, running blocks and their elapsed time" \
		"no script(1) to make a terminal"
fi

# --- plan: what would run, and why, running nothing ---------------------
cat >plan.md <<'DOC'
```{sh name=base session=none}
echo ran >> plan.log; cat base.txt
```

```{sh name=child deps=base session=none}
echo ran >> plan.log; echo child
```

```{sh name=in inputs=data/a.csv session=none}
cat data/a.csv
```

```{sh name=flag env=MDRUN_PLAN_FLAG session=none}
echo "$MDRUN_PLAN_FLAG"
```

```{sh name=fails session=none}
exit 1
```

```{sh name=always cache=false session=none}
echo always
```
DOC
printf 'v1\n' >base.txt
"$mdrun" plan plan.md >plan.txt
{ [ ! -e plan.log ] && grep -q '^base .* no *never realized' plan.txt &&
	grep -q '^child .* no *waits on upstream' plan.txt; }
expect "plan runs nothing: new stages never realized, downstream waits on upstream"
MDRUN_PLAN_FLAG=a "$mdrun" -q plan.md >/dev/null 2>&1
MDRUN_PLAN_FLAG=a "$mdrun" plan plan.md >plan.txt
{ grep -q '^base .* yes' plan.txt && grep -q '^fails .* no *failed last time' plan.txt &&
	grep -q '^always .* no *cache=false' plan.txt; }
expect "plan after a render: cached stages, failed last time, cache=false"
sed -i 's/cat base.txt/cat base.txt; true/' plan.md
printf '11\n' >data/a.csv
MDRUN_PLAN_FLAG=b "$mdrun" plan --rebuild=child plan.md >plan.txt
{ grep -q '^base .* no *new code' plan.txt && grep -q '^child .* no *waits on upstream' plan.txt &&
	grep -q '^in .* no *input file changed' plan.txt && grep -q '^flag .* no *environment changed' plan.txt; }
expect "plan says why: new code, input file changed, environment changed"
sed -i 's/cat base.txt; true/cat base.txt/' plan.md
# deps= in another order keeps the key, but not what the last render's
# notes say was read upstream: a warm render writes them again, so that
# plan, after c moves to another session, says why (a key never
# realized), not "upstream output changed".
mkdir -p order
cat >order/doc.md <<'DOC'
```{sh name=a session=none}
echo 1 > "$MDRUN_OUT/x.txt"; echo a
```

```{sh name=b session=none}
echo 2 > "$MDRUN_OUT/y.txt"; echo b
```

```{sh name=c deps=a,b session=none}
cat "$MDRUN_DEP_a/x.txt" "$MDRUN_DEP_b/y.txt"
```
DOC
"$mdrun" -q order/doc.md -o order/out.md 2>err
sed -i 's/deps=a,b/deps=b,a/' order/doc.md
"$mdrun" -q order/doc.md -o order/out.md 2>>err
sed -i 's/deps=b,a session=none/deps=b,a session=other/' order/doc.md
"$mdrun" plan order/doc.md >plan.txt 2>>err
{ shows order/out.md c 1 && grep -q '^c .* no *never realized' plan.txt; }
expect "plan after deps= changed order and a warm render: the notes were written again" plan.txt err
# The base block alone (same document, name and code: same key) is
# realized anew with another output; plan.md's last render (its root, the
# rows of table root) is put back, so plan compares with it.
if command -v sqlite3 >/dev/null; then
	printf 'v2\n' >base.txt
	mv plan.md plan.full
	sqlite3 "$MDRUN_STORE/store.db" ".mode insert root" \
		"SELECT * FROM root" >roots.saved
	printf '```{sh name=base session=none}\necho ran >> plan.log; cat base.txt\n```\n' >plan.md
	"$mdrun" -q --rebuild plan.md >/dev/null
	{ echo "BEGIN; DELETE FROM root;"; cat roots.saved; echo "COMMIT;"; } |
		sqlite3 "$MDRUN_STORE/store.db"
	mv plan.full plan.md
	MDRUN_PLAN_FLAG=a "$mdrun" plan plan.md >plan.txt
	{ [ -s roots.saved ] && grep -q '^child .* no *upstream output changed' plan.txt; }
	expect "plan says why: upstream output changed" plan.txt
	MDRUN_PLAN_FLAG=a "$mdrun" plan --json plan.md >plan.json
	python3 -c '
import json, sys
p = json.load(open("plan.json"))
s = {x["name"]: x for x in p["stages"]}
assert len(s["base"]["key"]) == 64 and s["base"]["cached"] is True, s["base"]
assert s["child"]["cached"] is False and s["child"]["deps"] == ["base"], s["child"]
assert s["child"]["reason"] == "upstream output changed", s["child"]
'
	expect "plan --json: {\"stages\": [...]} with full keys and a boolean cached"
else
	skip "plan says why: upstream output changed" "no sqlite3"
	skip "plan --json: {\"stages\": [...]} with full keys and a boolean cached" \
		"no sqlite3"
fi

finish
