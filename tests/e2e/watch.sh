#!/usr/bin/env bash
# mdrun watch: renders, then renders again when the document, a file a
# block read, mdrun.json or an included document is saved; not when mdrun
# writes its own output; Ctrl-C leaves no process behind. The script waits
# on the files watch writes, never on a fixed sleep.
set -u
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip_all "python3 missing"
command -v setsid >/dev/null || skip_all "setsid missing (util-linux)"
cd "$work"
mkdir proj
cd proj
printf '5\n' >n.txt
cat >d.qmd <<'EOF'
```{python}
n = int(open("n.txt").read())
print(n * 2)
```

```{sh}
echo $((3 + 4))
```

{{< include _part.qmd >}}
EOF
printf '```{sh}\necho part $((10 * 10))\n```\n' >_part.qmd

# wait_for FILE COMMAND...: until COMMAND succeeds (at most 60 s).
wait_for() {
	local i
	for i in $(seq 600); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
renders() { grep -c ' d.qmd: [0-9]* blocks:' ../watch.err; }
more_than() { [ "$(renders)" -gt "$1" ]; }

setsid "$mdrun" watch -i d.qmd >../watch.out 2>../watch.err </dev/null &
pid=$!
wait_for shows d.qmd 1 10 && shows d.qmd 2 7 && shows d.qmd 3 'part 100'
expect "watch -i: the first render shows every block's output" d.qmd ../watch.err
wait_for grep -q 'watching .* files\? in 1 folder; Ctrl-C stops' ../watch.err &&
	grep -Eq '^mdrun: [0-9]{2}:[0-9]{2}:[0-9]{2} d.qmd: 3 blocks: 3 ran' ../watch.err
expect "watch: a timed status line, then what it watches" ../watch.err

sed -i 's/3 + 4/3 + 5/' d.qmd
wait_for shows d.qmd 2 8
expect "watch: an edited block shows its new output" d.qmd ../watch.err
wait_for grep -q ' d.qmd: 3 blocks: 2 ran, 1 cached' ../watch.err &&
	grep -q 'cached python-1' ../watch.err
expect "watch: the edited block and its session's next run, python does not" ../watch.err

printf '21\n' >n.txt
wait_for shows d.qmd 1 42
expect "watch: a data file a block read re-runs it" d.qmd ../watch.err

printf '```{sh}\necho part $((10 * 11))\n```\n' >_part.qmd
wait_for shows d.qmd 3 'part 110'
expect "watch: an edited included document shows" d.qmd ../watch.err

n=$(renders)
echo '{"track": true}' >mdrun.json
wait_for more_than "$n"
expect "watch: a new mdrun.json renders again" ../watch.err

# Its own writes start nothing: the count stays put while nothing changes
# (a second of quiet is the only way to see that nothing happens).
n=$(renders)
sleep 1
[ "$(renders)" = "$n" ]
expect "watch: writing the document itself starts no render" ../watch.err

# What watch shows is what a render from an empty store shows.
mkdir ../fresh
cp n.txt _part.qmd mdrun.json ../fresh/
"$mdrun" strip -o ../fresh/d.qmd d.qmd &&
	MDRUN_STORE=$work/fresh-store "$mdrun" -q -i ../fresh/d.qmd &&
	same d.qmd ../fresh/d.qmd
expect "watch: the document equals a render from an empty store" d.qmd ../fresh/d.qmd

# Ctrl-C ends it and everything it started.
kill -INT -- -"$pid"
wait_for sh -c "! kill -0 $pid 2>/dev/null"
expect "watch: Ctrl-C ends it" ../watch.err
wait_for sh -c "! pgrep -g $pid >/dev/null"
expect "watch: no process of its group is left" ../watch.err

# --to html: the page reloads itself in watch mode only.
setsid "$mdrun" watch --to html -o d.html d.qmd >../html.out 2>../html.err </dev/null &
hpid=$!
wait_for grep -q 'part 110' d.html && grep -q 'http-equiv="refresh"' d.html
expect "watch --to html: the page reloads itself" d.html ../html.err
kill -INT -- -"$hpid"
wait_for sh -c "! kill -0 $hpid 2>/dev/null"
"$mdrun" -q --to html -o plain.html d.qmd && ! grep -q 'http-equiv="refresh"' plain.html
expect "render --to html: no reload outside watch" plain.html

# --- snapshots: an edit resumes from the state before it -----------------
# Block 1 sleeps 3 s (a data load); block 5 is edited five times. Each
# render takes the snapshot after block 4: well under the 3 s, with the
# output a render from an empty store gives.
mkdir ../snap
cd ../snap
{
	printf '```{python}\nimport time\ntime.sleep(3)\nrows = [3, 1, 4, 1, 5]\n```\n\n'
	printf '```{python}\ntotal = sum(rows)\n```\n\n'
	printf '```{python}\nbig = [r for r in rows if r > 2]\n```\n\n'
	printf '```{python}\nrows.append(9)\n```\n\n'
	printf '```{python}\nprint(total * 0, len(rows), big)\n```\n'
} >nb.md
setsid "$mdrun" watch -i nb.md >../snap.out 2>../snap.err </dev/null &
spid=$!
wait_for shows nb.md 5 '0 6 [3, 4, 5]'
expect "snapshots: the first render" nb.md ../snap.err
slow=0
for k in 1 2 3 4 5; do
	sed -i "s/^print(total \* [0-9]*,/print(total * $k,/" nb.md
	t0=$(date +%s%N)
	wait_for shows nb.md 5 "$((14 * k)) 6 [3, 4, 5]" || slow=99
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "     edit $k: rendered in $ms ms"
	[ "$ms" -lt 2500 ] || slow=$((slow + 1))
	mkdir -p "../fresh$k"
	"$mdrun" strip -q -o "../fresh$k/nb.md" nb.md &&
		MDRUN_STORE=$work/fresh$k-store "$mdrun" -q -i "../fresh$k/nb.md" &&
		same nb.md "../fresh$k/nb.md" || slow=99
done
[ "$slow" = 0 ]
expect "snapshots: five edits of block 5 each render in under 2.5 s, as from nothing" ../snap.err
grep -q 'goes on from its snapshot after python-4' ../snap.err &&
	! grep -q 'replay' ../snap.err
expect "snapshots: the session goes on from the snapshot, nothing replays" ../snap.err
stopped=$(ps -o stat= -g "$spid" | grep -c '^T')
[ "$stopped" -ge 1 ] && [ "$stopped" -le 8 ]
expect "snapshots: stopped copies are there, at most 8 ($stopped)" ../snap.err
# An edit above: the snapshot after block 1 (the sleep is not run again).
sed -i 's/^total = sum(rows)$/total = sum(rows) + 1/' nb.md
wait_for shows nb.md 5 "75 6 [3, 4, 5]"
expect "snapshots: an edit of block 2 resumes after block 1" nb.md ../snap.err
grep -q 'goes on from its snapshot after python-1' ../snap.err
expect "snapshots: ... from the snapshot after python-1" ../snap.err
kill -INT -- -"$spid"
wait_for sh -c "! pgrep -g $spid >/dev/null"
expect "snapshots: Ctrl-C leaves no stopped copy behind" ../snap.err

grep -Eq '^mdrun: [0-9]+ snapshots held, [0-9.]+ MiB$' ../snap.err
expect "snapshots: a line says how many are held and their memory" ../snap.err

# --snapshots caps them: 2 for a 6-block session, the latest blocks'.
mkdir ../cap
cd ../cap
for i in 1 2 3 4 5; do printf '```{python}\nv%d = %d\n```\n\n' "$i" "$i"; done >nb.md
printf '```{python}\nprint(v5 * 100)\n```\n' >>nb.md
setsid "$mdrun" watch --snapshots 2 -i nb.md >../cap.out 2>../cap.err </dev/null &
cpid=$!
wait_for shows nb.md 6 500 && wait_for grep -q '^mdrun: 2 snapshots held' ../cap.err
stopped=$(ps -o stat= -g "$cpid" | grep -c '^T')
[ "$stopped" = 2 ]
expect "--snapshots 2: two stopped copies ($stopped)" ../cap.err
sed -i 's/^print(v5 \* 100)$/print(v5 * 1000)/' nb.md
wait_for shows nb.md 6 5000 && grep -q 'goes on from its snapshot after python-5' ../cap.err
expect "--snapshots 2: the latest are kept, an edit of the last block uses one" nb.md ../cap.err
kill -INT -- -"$cpid"
wait_for sh -c "! pgrep -g $cpid >/dev/null"
"$mdrun" watch --snapshots 65 nb.md 2>err.txt
[ $? = 2 ] && has err.txt '--snapshots needs a number from 0 to 64'
expect "--snapshots 65: a usage error" err.txt

# --snapshot-memory caps what the copies hold on their own: each block
# replaces 20 MB, so each older copy keeps its 20 MB to itself.
mkdir ../mem
cd ../mem
for i in 1 2 3 4; do printf '```{python}\na = bytes([%d]) * (20 << 20)\n```\n\n' "$i"; done >nb.md
printf '```{python}\nprint(a[0], len(a) >> 20)\n```\n' >>nb.md
held() { # DOC ERR [OPTIONS]: the "N snapshots held, M MiB" line watch says
	local doc=$1 err=$2 p
	shift 2
	setsid "$mdrun" watch "$@" -i "$doc" >/dev/null 2>"$err" </dev/null &
	p=$!
	wait_for grep -q 'snapshots held' "$err"
	kill -INT -- -"$p"
	wait_for sh -c "! pgrep -g $p >/dev/null"
	grep -o '[0-9]* snapshots held, [0-9.]* MiB' "$err" | head -1
}
cp nb.md nb2.md
capped=$(held nb.md ../mem1.err --snapshot-memory 30M)
free=$(held nb2.md ../mem2.err)
echo "     capped: $capped; without a cap: $free"
mib=$(echo "$capped" | awk '{ print int($4) }')
[ -n "$capped" ] && [ "$mib" -le 30 ] && [ "${capped%% *}" -lt "${free%% *}" ]
expect "--snapshot-memory 30M: the copies hold at most 30 MiB, fewer are kept" ../mem1.err ../mem2.err

# A block that ends its resumed interpreter fails with its own status:
# the handover keeps the exit code (a 0 here would be stored as success).
mkdir ../exit
cd ../exit
printf '```{python}\nimport os\nx = 1\n```\n\n```{python}\nprint(x)\n```\n' >d.md
setsid "$mdrun" watch -i d.md >/dev/null 2>../exit.err </dev/null &
epid=$!
wait_for shows d.md 2 1
sed -i 's/^print(x)$/print(x, flush=True); os._exit(3)/' d.md
wait_for grep -q 'd.md:6: block python-2 failed (exit 3)' ../exit.err &&
	grep -q 'goes on from its snapshot after python-1' ../exit.err
expect "snapshots: a resumed interpreter's exit status is the block's" ../exit.err
# An edit saved while a render runs is not overwritten with the render
# of the older text: the next render has it.
printf '```{python}\nimport time\nopen("../started", "w").close()\ntime.sleep(2)\nprint("slow")\n```\n' >slow.md
setsid "$mdrun" watch -i slow.md >/dev/null 2>../slow.err </dev/null &
wpid=$!
wait_for test -e ../started # the render is under way: its block sleeps 2 s
echo 'A paragraph saved during the render.' >>slow.md
wait_for grep -q 'slow.md: 1 block: 0 ran, 1 cached' ../slow.err &&
	has slow.md 'A paragraph saved during the render.' && shows slow.md 1 slow
expect "watch -i: an edit saved during a render is kept" slow.md ../slow.err
kill -INT -- -"$epid" -"$wpid"
wait_for sh -c "! pgrep -g $epid >/dev/null && ! pgrep -g $wpid >/dev/null"
cd ../proj

# bash and sh sessions: their copies are made by mdrun-track.so (so
# with tracking on), and an edit below a slow block goes on from one.
mkdir ../shells
cd ../shells
{
	printf '```{bash}\nsleep 2\nx=40\n```\n\n```{bash}\necho $((x + 2))\n```\n\n'
	printf '```{sh}\nsleep 2\ny=5\n```\n\n```{sh}\necho $((y * 2))\n```\n\n'
	printf '```{bash}\nsleep 600 &\nz=1\n```\n\n```{bash}\necho z=$z\n```\n'
} >d.md
setsid "$mdrun" watch -i d.md >/dev/null 2>../shells.err </dev/null &
hpid=$!
wait_for shows d.md 4 10 && wait_for shows d.md 6 z=1
sed -i 's/^echo $((x + 2))$/echo $((x + 3))/; s/^echo $((y \* 2))$/echo $((y * 3))/' d.md
t0=$(date +%s%N)
wait_for shows d.md 2 43 && wait_for shows d.md 4 15
ms=$((($(date +%s%N) - t0) / 1000000))
echo "     bash and sh edits rendered in $ms ms (their first blocks take 2 s)"
grep -q 'the bash session goes on from its snapshot after bash-1' ../shells.err &&
	grep -q 'the sh session goes on from its snapshot after sh-1' ../shells.err &&
	[ "$ms" -lt 1800 ]
expect "shells: bash and sh go on from their snapshots" d.md ../shells.err
grep -q 'no snapshot after bash-3: a child process is running' ../shells.err
expect "shells: no snapshot after a block that left a job running" ../shells.err
mkdir -p ../shells-fresh
"$mdrun" strip -q -o ../shells-fresh/d.md d.md &&
	MDRUN_STORE=$work/shells-store timeout 60 "$mdrun" -q -i ../shells-fresh/d.md &&
	same d.md ../shells-fresh/d.md
expect "shells: the document equals a render from an empty store" d.md ../shells-fresh/d.md
kill -INT -- -"$hpid"
wait_for sh -c "! pgrep -g $hpid >/dev/null"
expect "shells: Ctrl-C leaves no copy and no job behind" ../shells.err
cd ../proj

# A block that leaves a thread running takes no snapshot: the next edit
# replays, and -v's note says why.
mkdir ../thr
cd ../thr
{
	printf '```{python}\nimport threading, time\nt = threading.Thread(target=time.sleep, args=(600,), daemon=True)\nt.start()\nn = 5\n```\n\n'
	printf '```{python}\nprint(n * 2)\n```\n'
} >nb.md
setsid "$mdrun" watch -i nb.md >../thr.out 2>../thr.err </dev/null &
tpid=$!
wait_for shows nb.md 2 10
sed -i 's/^print(n \* 2)$/print(n * 3)/' nb.md
wait_for shows nb.md 2 15 && grep -q 'no snapshot after python-1: a thread is running' ../thr.err &&
	grep -q 'replaying the python session' ../thr.err
expect "snapshots: none after a block that left a thread; the edit replays" nb.md ../thr.err
kill -INT -- -"$tpid"
wait_for sh -c "! pgrep -g $tpid >/dev/null"
expect "snapshots: Ctrl-C ends the thread's process too" ../thr.err
cd ../proj

# A Jupyter kernel stays warm too (no snapshots): a block added at the
# end runs without the blocks above running again.
if "$mdrun" kernels 2>/dev/null | grep -q '^  python3 '; then
	mkdir ../kern
	cd ../kern
	printf -- '---\nmdrun:\n  kernels:\n    python: python3\n---\n\n' >k.md
	printf '```{python}\nx = 41\n```\n\n```{python}\nprint(x + 1)\n```\n' >>k.md
	setsid "$mdrun" watch -i k.md >../kern.out 2>../kern.err </dev/null &
	kpid=$!
	wait_for shows k.md 2 42
	printf '\n```{python}\nprint(x * 2)\n```\n' >>k.md
	wait_for shows k.md 3 82 && ! grep -q 'replay' ../kern.err &&
		grep -q ' k.md: 3 blocks: 1 ran, 2 cached' ../kern.err
	expect "kernel: a block added at the end runs in the warm kernel" k.md ../kern.err
	kill -INT -- -"$kpid"
	wait_for sh -c "! pgrep -g $kpid >/dev/null"
	expect "kernel: Ctrl-C ends the kernel" ../kern.err
	cd ../proj
else
	skip "kernel: warm kernels" "no python3 Jupyter kernel (Debian: python3-ipykernel)"
fi

"$mdrun" watch - </dev/null >/dev/null 2>err.txt
[ $? = 2 ] && has err.txt 'watch needs files'
expect "watch -: a usage error" err.txt

finish
