#!/usr/bin/env bash
# Concurrent renders on one store never wait for each other forever: two
# renders of one document with a python and a bash session, then eight
# renders of it and of a second document (its sessions in the other
# order, with deps= across them) beside a gc loop, for
# MDRUN_STRESS_ROUNDS rounds; edits between steps make the blocks run.
# Every mdrun runs under a timeout (MDRUN_STRESS_TIMEOUT seconds): one
# that hits it is a failure naming the round, and the rounds stop there.
# No round starts after MDRUN_STRESS_SECONDS (once 3 have run), so a
# loaded machine runs fewer rounds, not a longer test.
# usage: stress.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

rounds=${MDRUN_STRESS_ROUNDS:-12}
limit=${MDRUN_STRESS_TIMEOUT:-60}
budget=${MDRUN_STRESS_SECONDS:-60}
start=$(date +%s)
if ! command -v python3 >/dev/null || ! command -v timeout >/dev/null; then
	skip_all "needs python3 and timeout"
fi
mkdir -p "$work/stress"
cd "$work/stress" || exit 1

# The documents of one step, TAG substituted. b.md begins its sessions
# with a.md's first blocks (the same session locks, as long as a key does
# not hold the document's name), but in the other order (bash first), and
# reads across them (deps=), so its chains wait for each other midway.
write_docs() {
	local tag=$1 py1 sh1
	py1=$(cat <<BLOCK
\`\`\`{python name=py1}
import os, time
tag = "$tag"
time.sleep(0.05)
open(os.environ["MDRUN_OUT"] + "/tag", "w").write(tag)
print("py1", tag)
\`\`\`
BLOCK
)
	sh1=$(cat <<BLOCK
\`\`\`{bash name=sh1}
tag=$tag
sleep 0.05
echo "\$tag" >"\$MDRUN_OUT/tag"
echo "sh1 \$tag"
\`\`\`
BLOCK
)
	cat >a.md <<DOC
$py1

\`\`\`{python name=py2}
time.sleep(0.05)
print("py2", tag)
\`\`\`

\`\`\`{python name=py3}
time.sleep(0.05)
print("py3", tag)
\`\`\`

$sh1

\`\`\`{bash name=sh2}
sleep 0.05
echo "sh2 \$tag"
\`\`\`

\`\`\`{bash name=sh3}
sleep 0.05
echo "sh3 \$tag"
\`\`\`
DOC
	cat >b.md <<DOC
$sh1

$py1

\`\`\`{bash name=bsh2 deps=py1}
sleep 0.05
echo "sh2 read \$(cat "\$MDRUN_DEP_py1/tag")"
\`\`\`

\`\`\`{python name=bpy2 deps=sh1}
time.sleep(0.05)
print("py2 read", open(os.environ["MDRUN_DEP_sh1"] + "/tag").read().strip())
\`\`\`
DOC
}

# shows_a FILE TAG / shows_b FILE TAG: each block's region shows its
# output for TAG.
shows_a() {
	local n
	for n in py1 py2 py3 sh1 sh2 sh3; do
		shows "$1" $n "$n $2" || return 1
	done
}
shows_b() {
	shows "$1" sh1 "sh1 $2" && shows "$1" py1 "py1 $2" &&
		shows "$1" bsh2 "sh2 read $2" && shows "$1" bpy2 "py2 read $2"
}

# render DOC OUT: one render with -j 2 under the timeout; its status goes
# to OUT.rc (124 when it timed out).
render() {
	timeout -k 5 "$limit" "$mdrun" -q -j 2 "$1" -o "$2" 2>"$2.err"
	echo $? >"$2.rc"
}

# check_renders ROUND STEP DOC:OUT...: every render exited 0 and shows
# its blocks' output for this step; the first problem is one failure.
check_renders() {
	local round=$1 tag=$2 what=$3 spec doc out rc
	shift 3
	for spec in "$@"; do
		doc=${spec%%:*}
		out=${spec#*:}
		rc=$(cat "$out.rc")
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			bad "round $round: $what: a render of $doc hung (killed after ${limit}s)" \
				"$(cat "$out.err")"
			return 1
		fi
		if [ "$rc" != 0 ]; then
			bad "round $round: $what: a render of $doc exited $rc" \
				"$(cat "$out.err")"
			return 1
		fi
		if ! "shows_${doc%.md}" "$out" "$tag"; then
			bad "round $round: $what: a render of $doc does not show its blocks' output ($tag)" \
				"$(cat "$out")"
			return 1
		fi
	done
	return 0
}

# gc_loop: gc again and again until the file stop appears; a gc that
# fails or hangs leaves its status in gc.bad.
gc_loop() {
	local rc
	while [ ! -e stop ]; do
		timeout -k 5 "$limit" "$mdrun" gc >gc.out 2>gc.err
		rc=$?
		if [ "$rc" != 0 ]; then
			{ echo "gc exited $rc"; cat gc.err; } >gc.bad
			return
		fi
	done
}

# --- two sessions whose first blocks are equal share one lock ---------------
# One render alone: the first session's lock must be free again when the
# second session starts, with one job or two.
cat >twin.md <<'DOC'
```{python session=left}
import time
```

```{python session=right}
import time
```

```{python session=right}
print("right", 6 * 7)
```

```{python session=left}
print("left", 6 * 8)
```
DOC
for j in 1 2; do
	timeout -k 5 "$limit" "$mdrun" -q -j $j twin.md -o twin$j.out 2>twin$j.err
	code=$?
	{ [ "$code" = 0 ] && shows twin$j.out python-3 "right 42" &&
		shows twin$j.out python-4 "left 48"; }
	expect "-j $j: two sessions whose first blocks are equal both run in one render (exit $code; 124: it hung)" \
		twin$j.err
done

# --- lone blocks of one document, two renders at once ------------------------
# A lone block's key stays locked until the next lone block has started
# (its rows are written meanwhile); the next key's lock is only tried, so
# a render that finds it held writes its own rows and lets its lock go
# before it waits.
for k in 1 2 3 4; do
	printf '```{sh session=none}\nsleep 0.2; echo "lone %s: $((%s * 7))"\n```\n\n' $k $k
done >lone.md
timeout -k 5 "$limit" "$mdrun" -q -j 1 lone.md -o lone1.out 2>lone1.err &
p1=$!
timeout -k 5 "$limit" "$mdrun" -q -j 2 lone.md -o lone2.out 2>lone2.err &
p2=$!
wait $p1
c1=$?
wait $p2
c2=$?
"$mdrun" store ls >lone.ls 2>&1
{ [ "$c1" = 0 ] && [ "$c2" = 0 ] && shows lone1.out sh-4 "lone 4: 28" &&
	shows lone2.out sh-4 "lone 4: 28" &&
	[ "$(grep -c 'lone.md.*  1 run, 1 realization  ' lone.ls)" = 4 ]; }
expect "two renders of four lone blocks at once, -j 1 and -j 2: both end, each block ran once (exit $c1 and $c2; 124: hung)" \
	lone1.err lone2.err lone.ls

# --- rounds of concurrent renders -------------------------------------------
failed_round=
done_rounds=0
for round in $(seq 1 "$rounds"); do
	if [ "$round" -gt 3 ] && [ $(( $(date +%s) - start )) -ge "$budget" ]
	then
		break
	fi
	rm -f ./*.out ./*.out.rc ./*.out.err stop gc.bad

	# Two renders of one document at once.
	tag="r${round}two"
	write_docs "$tag"
	render a.md two1.out &
	render a.md two2.out &
	wait
	if ! check_renders "$round" "$tag" "2 renders" a.md:two1.out \
		a.md:two2.out; then
		failed_round=$round
		break
	fi

	# Eight renders of the two documents, gc beside them.
	tag="r${round}eight"
	write_docs "$tag"
	gc_loop &
	gcpid=$!
	specs=()
	pids=()
	for k in 1 2 3 4; do
		render a.md "a$k.out" &
		pids+=($!)
		render b.md "b$k.out" &
		pids+=($!)
		specs+=("a.md:a$k.out" "b.md:b$k.out")
	done
	wait "${pids[@]}"
	touch stop
	wait "$gcpid"
	if ! check_renders "$round" "$tag" "8 renders and gc" "${specs[@]}"; then
		failed_round=$round
		break
	fi
	if [ -e gc.bad ]; then
		bad "round $round: gc beside 8 renders failed" "$(cat gc.bad)"
		failed_round=$round
		break
	fi
	if ! timeout -k 5 "$limit" "$mdrun" store verify >verify.out 2>&1; then
		bad "round $round: store verify is not clean" "$(cat verify.out)"
		failed_round=$round
		break
	fi
	done_rounds=$round
done
elapsed=$(( $(date +%s) - start ))
if [ -z "$failed_round" ]; then
	ok "$done_rounds of $rounds rounds of 2 and 8 concurrent renders and gc: none hung, all shown, store clean (${elapsed}s)"
fi
finish
