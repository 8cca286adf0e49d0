#!/usr/bin/env bash
# End-to-end tests of sessions and interpreters: state across blocks,
# caching with replay and early cutoff, failures, timeouts, limits,
# interruption, the interpreter config. usage: sessions.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/s"
mkdir -p "$dir"
cd "$dir" || exit 1

# --- state persists --------------------------------------------------------
cat >state.md <<'DOC'
```{python}
import os
x = 41
def double(n):
    return 2 * n
```

```{python}
x += 1
print(x, double(x), os.path.basename(os.getcwd()))
```

```{bash}
cd /tmp
greet() { echo "hi $1"; }
export FOO=bar
```

```{bash}
pwd; greet there; echo "$FOO"
sh -c 'echo from a child; echo child err >&2'
```

```{sh}
n=5
```

```{sh}
echo "twice n: $((n * 2))"
```

```{python}
os.system("echo from os.system")
import sys
sys.exit(0)
```

```{python}
print("after sys.exit(0):", x)
```
DOC
"$mdrun" -q state.md -o state.out 2>err
code=$?
[ "$code" = 0 ]
expect "a document of python, bash and sh sessions renders"
shows state.out python-2 "42 84 s"
expect "python: variables, functions and imports carry across blocks"
shows state.out bash-2 "/tmp" "hi there" "bar"
expect "bash: cd, functions and exported variables carry across blocks"
shows state.out bash-2 "from a child" "child err"
expect "output of processes a block starts is captured"
shows state.out sh-2 "twice n: 10"
expect "sh: variables carry across blocks"
{ shows state.out python-3 "from os.system" && shows state.out python-4 "after sys.exit(0): 42"; }
expect "python: os.system output captured; sys.exit(0) ends the block, not the session"
"$mdrun" state.md -o state.again 2>err
{ has err "8 blocks: 0 ran, 8 cached" && same state.out state.again; }
expect "a second render runs nothing and gives the same document"

printf '```python\nshared = "yes"\n```\n\n```python\nprint("shared:", shared)\n```\n' >all.md
"$mdrun" -q --all all.md -o all.out
shows all.out python-2 "shared: yes"
expect "--all: plain blocks of one language share a session too"

# --- editing a middle block ----------------------------------------------
cat >edit.md <<'DOC'
```{python name=p1}
with open("p1.log", "a") as f:
    f.write("run\n")
x = 1
```

```{python name=p2}
x = x + 10
print("p2")
```

```{python name=p3}
print("x is", x)
```

```{bash name=b1}
echo bash >> b1.log; echo untouched
```
DOC
"$mdrun" -q edit.md -o edit.out
shows edit.out p3 "x is 11"
expect "edit: first render"
sed -i 's/x = x + 10/x = x + 20/' edit.md
"$mdrun" edit.md -o edit.out 2>err
{ shows edit.out p3 "x is 21" && has err "replaying the python session from p1 to p1, to run p2" &&
	has err "4 blocks: 2 ran, 1 replayed, 1 cached"; }
expect "edit: the edited block and what follows run, with the state of the blocks before (replayed)"
[ "$(wc -l <b1.log)" = 1 ]
expect "edit: the other session stays cached"
[ "$(wc -l <p1.log)" = 2 ]
expect "edit: replay re-runs the session prefix, side effects included (documented)"
sed -i 's/x = x + 20/x = x + 30/' edit.md
"$mdrun" edit.md -o edit.out 2>err
{ has err "4 blocks: 2 ran, 1 replayed, 1 cached" && shows edit.out p3 "x is 31"; }
expect "edit: same output but another state: the blocks after it run again (keys hold the code before them)"

# --- a replayed block that now gives another result ---------------------
# What a block reads is tracked (track.sh); here it stands for what is not
# (the network, the clock), so the renders do not track it.
printf 'one\n' >v.txt
cat >div.md <<'DOC'
```{python name=d1}
v = open("v.txt").read().strip()
print("read", v)
```

```{python name=d2}
print("d2 sees", v)
```
DOC
"$mdrun" -q --no-track div.md -o div.out
printf 'two\n' >v.txt
sed -i 's/d2 sees/d2 now sees/' div.md
"$mdrun" --no-track div.md -o div.out 2>err
{ shows div.out d1 "read one" && ! shows div.out d1 "read two" && shows div.out d2 "d2 now sees two" &&
	has err "div.md:1: block d1 printed something else when replayed; the state may differ"; }
expect "replay: a block whose output changed keeps what it showed, with a warning; what follows sees the replayed state" err
"$mdrun" -q --no-track div.md -o div.out2
same div.out div.out2
expect "replay: the next render shows the same bytes"

# --- failures ------------------------------------------------------------
cat >fail.md <<'DOC'
```{python}
y = 7
```

```{python}
raise ValueError("boom")
```

```{python}
print("y is still", y)
```

```{sh}
a=1
```

```{sh}
echo "a=$a"
exit 3
```

```{sh}
echo "after exit a=$((a + 1))"
```
DOC
"$mdrun" -q --keep-going fail.md -o fail.out 2>err
code=$?
{ [ "$code" = 1 ] && shows fail.out python-2 "ValueError: boom" &&
	shows_part fail.out python-2 'File "fail.md", line 6, in <module>' &&
	has err "fail.md:5: block python-2 failed (exit 1)"; }
expect "python: an exception is a failure with its traceback on stderr"
shows fail.out python-3 "y is still 7"
expect "python: the session goes on after an exception"
{ shows fail.out sh-2 "*exit status 3*" && has err "fail.md:17: block sh-2 failed (exit 3)"; }
expect "sh: exit ends the block as a failure"
shows fail.out sh-3 "after exit a=2"
expect "sh: after exit the session restarts with the state of the blocks before"

"$mdrun" -q -j 1 fail.md -o fail.stop 2>err
code=$?
{ [ "$code" = 1 ] && shows fail.stop python-2 "ValueError: boom" &&
	[ "$(grep -c '^\*not run: an earlier block failed\*$' fail.stop)" = 4 ] && ! has fail.stop "y is still 7"; }
expect "by default nothing new starts after a failure; the document shows what did not run"

# --- blocks that fight the driver ------------------------------------------
cat >fight.md <<'DOC'
```{bash}
echo() { printf '<%s>\n' "$*"; }
echo shadowed
```

```{bash}
set -e
builtin echo "set -e on"
```

```{bash}
builtin echo "still running"
```

```{python}
class Point:
    def __init__(self, x):
        self.x = x
import pickle
print(pickle.loads(pickle.dumps(Point(3))).x)
```

```{python}
import os
pid = os.fork()
if pid == 0:
    print("child")
else:
    os.waitpid(pid, 0)
    print("parent goes on")
```

```{python}
print("after fork")
```
DOC
timeout 60 "$mdrun" -q fight.md -o fight.out 2>err
code=$?
{ [ "$code" = 0 ] && shows fight.out bash-1 "<shadowed>" && shows fight.out bash-3 "still running" &&
	shows fight.out python-1 3 && shows fight.out python-2 "parent goes on" &&
	shows fight.out python-3 "after fork"; }
expect "the driver survives a shadowed echo, set -e, pickled classes and os.fork"
printf '```{sh}
exec 9>lock.file
echo took fd 9
```

```{sh}
echo next
```
' >fd9.md
timeout 60 "$mdrun" -q --keep-going fd9.md -o fd9.out 2>err
code=$?
{ [ "$code" = 1 ] && shows fd9.out sh-2 next; }
expect "a block that takes the sh driver's fd fails its session, no hang; the next block runs"
printf '```{python}
import os
os.system("(sleep 33.7; touch died.late) &")
os._exit(3)
```
' >died.md
# Waiting for the child would take until it wrote died.late.
timeout 60 "$mdrun" -q died.md -o died.out 2>err
{ shows died.out python-1 "*exit status 3*" && [ ! -e died.late ]; }
expect "an interpreter that dies while its child lives on is noticed at once"
pkill -f "sleep 33.7"
printf '```{bash}
x=5
```

```{bash}
f() { exit 0; }
f
```

```{bash}
builtin echo "x=$((x + 1))"
```
' >exit0.md
"$mdrun" -q --keep-going exit0.md -o exit0.out 2>err
code=$?
{ [ $code = 0 ] && shows exit0.out bash-2 "[mdrun: the block ended the bash session]" &&
	! has exit0.out "exit status" && shows exit0.out bash-3 "x=6"; }
expect "exit 0 ends the session: status 0 shown as such, a note says the session ended, the next block gets the state back" exit0.out
cat >late.md <<'DOC'
```{bash}
( sleep 0.3; echo LATE ) &
echo first
```

```{python}
import time; time.sleep(1)
```

```{bash}
echo second
```
DOC
"$mdrun" -q late.md -o late.out
! grep -qx LATE late.out
expect "what a finished block's leftover prints between blocks lands in no block"

# --- timeouts ------------------------------------------------------------
cat >slow.md <<'DOC'
```{sh}
b=2
```

```{sh timeout=1}
sleep 33.3 & sleep 34.4
```

```{sh}
echo "b=$((b + 1))"
```
DOC
"$mdrun" -q --keep-going slow.md -o slow.out 2>err
{ shows slow.out sh-2 "*timed out*" && has err "block sh-2 failed (timed out)"; }
expect "timeout=1: the block is killed and reported as timed out"
! pgrep -f "sleep 3[34]\\.[34]" >/dev/null
expect "timeout: no process of the block is left"
shows slow.out sh-3 "b=3"
expect "timeout: the session restarts for the blocks after"
# The realization the store shows for the block (store show's key and
# rhash prefix): its row in table real says timed_out, in its meta and in
# the column a render reads.
if command -v sqlite3 >/dev/null; then
	"$mdrun" store show slow.md#sh-2 >show 2>&1
	key=$(sed -n 's/^key: \([0-9a-f]\{64\}\)$/\1/p' show)
	rhash=$(sed -n 's/^  \([0-9a-f]\{12\}\)  failed  .*/\1/p' show)
	{ [ -n "$key" ] && [ "$(printf '%s\n' "$rhash" | wc -l)" = 1 ] &&
		[ -n "$rhash" ] &&
		[ "$(sqlite3 "$MDRUN_STORE/store.db" "SELECT timed_out,
			json_extract(meta, '$.timed_out') FROM real
			WHERE key = '$key' AND rhash LIKE '$rhash%'")" = '1|1' ]; }
	expect "timeout: recorded in the realization's meta" show
else
	skip "timeout: recorded in the realization's meta" "no sqlite3"
fi
printf '```{python}\nimport time\ntime.sleep(20)\n```\n' >sleepy.md
"$mdrun" -q --timeout 1 sleepy.md >/dev/null 2>err
has err "timed out"
expect "--timeout sets the default"

# --- waiting costs no processor time -----------------------------------------
# mdrun and the drivers ask for a quick block's answer, or the next
# request, rather than sleep on it, but only for the first milliseconds.
# Here a python and a bash session each wait for a slow block of its own
# (deps=) between two blocks, and mdrun waits for the slow block and for
# a python block that sleeps: mdrun, the drivers and the sleeps stay well
# under 0.6 s of processor time in all, where asking all along would take
# a processor for each wait.
cat >idle.md <<'DOC'
```{bash session=none name=slow}
sleep 0.6
```

```{python}
x = 1
```

```{bash}
y=2
```

```{python deps=slow}
import time
time.sleep(0.3)
print(x + 40)
```

```{bash deps=slow}
echo $((y + 40))
```
DOC
( "$mdrun" -q -j 3 idle.md -o idle.out 2>err && LC_ALL=C times >times.out )
cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) {
	split($i, t, /[ms]/); s += t[1] * 60 + t[2] } print s }' times.out)
{ shows idle.out python-2 41 && shows idle.out bash-3 42 &&
	awk -v s="$cpu" 'BEGIN { exit !(s != "" && s < 0.6) }'; }
expect "waiting for slow blocks takes little processor time (${cpu:-?} s)" err idle.out

# --- limits and environment --------------------------------------------------
cat >env.md <<'DOC'
```{bash name=envb}
echo "block=$MDRUN_BLOCK doc=$(basename "$MDRUN_DOC")"
test -d "$MDRUN_OUT" && test -z "$(ls -A "$MDRUN_OUT")" && echo "out is an empty folder"
read -r line || echo "stdin is empty"
```

```{python}
import os
print(os.environ["MDRUN_BLOCK"])
```

```{sh session=none}
echo "none: $MDRUN_BLOCK"
```

```{sh}
head -c 3000000 /dev/zero | tr '\0' y
```
DOC
"$mdrun" -q env.md -o env.out 2>err
{ shows env.out envb "block=envb doc=env.md" "out is an empty folder" "stdin is empty" &&
	shows env.out python-1 python-1 && shows env.out sh-1 "none: sh-1"; }
expect "MDRUN_BLOCK, MDRUN_DOC, MDRUN_OUT and stdin /dev/null, in sessions and alone"
# The bash driver reads its requests with IFS set for it; what a block
# leaves in IFS (set or unset), and functions named as builtins, are the
# next block's as in one script.
cat >ifs.md <<'DOC'
```{bash}
IFS=,
read() { echo "read replaced: $((6 * 7))"; }
```

```{bash}
x="a,b c"; for w in $x; do echo "[$w]"; done
unset IFS
```

```{bash}
x="a,b c"; for w in $x; do echo "<$w>"; done
read
```
DOC
"$mdrun" -q ifs.md -o ifs.out 2>err
{ [ $? = 0 ] && shows ifs.out bash-2 "[a]" "[b c]" && shows ifs.out bash-3 "<a,b>" "<c>" "read replaced: 42"; }
expect "bash: IFS a block sets or unsets, and its functions, are the next block's" err
{ shows env.out sh-2 "[mdrun: output cut at 1048576 bytes]" && [ "$(wc -c <env.out)" -lt 1200000 ]; }
expect "output is cut at 1 MiB, and the cut is said"
"$mdrun" -q --max-output 10K --rebuild env.md -o env10.out 2>err
{ shows env10.out sh-2 "[mdrun: output cut at 10240 bytes]" && [ "$(wc -c <env10.out)" -lt 20000 ]; }
expect "--max-output sets the cap"
"$mdrun" -q --max-output 0 env.md >/dev/null 2>err
[ $? = 2 ]
expect "--max-output 0: usage error"
printf '```{sh session=none}\nv=1\n```\n\n```{sh session=none}\necho "v=${v:-unset}"\n```\n' >none.md
"$mdrun" -q none.md -o none.out
shows none.out sh-2 "v=unset"
expect "session=none: a fresh process per block"

# --- interruption ------------------------------------------------------------
printf '```{sh}\necho started > started.flag; sleep 41.7\n```\n' >int.md
"$mdrun" -q int.md >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do [ -e started.flag ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid" 2>/dev/null
code=$?
sleep 0.2
{ [ "$code" = 130 ] && ! pgrep -f "sleep 41.7" >/dev/null && "$mdrun" store verify >/dev/null; }
expect "Ctrl-C: mdrun ends, the session's processes with it, the store stays consistent"

# --- interpreters and the config -------------------------------------------
printf '```{cobol}\nDISPLAY 1\n```\n' >missing.md
"$mdrun" missing.md >/dev/null 2>err
{ [ $? = 2 ] && has err "missing.md:1:4: no interpreter for 'cobol'"; }
expect "a language without an interpreter: FILE:LINE:COL, exit 2"
mkdir -p cfg
printf '{ "languages": { "fake": { "command": "no-such-interpreter {file}" } } }\n' >cfg/mdrun.json
printf 'x\n\n```{fake}\nhello\n```\n' >cfg/doc.md
"$mdrun" cfg/doc.md >/dev/null 2>err
{ [ $? = 2 ] && has err "cfg/doc.md:3:4: no interpreter for 'fake': 'no-such-interpreter' is not installed"; }
expect "a configured interpreter that is not installed: named, exit 2, nothing written"
printf '{ "languages": {\n  "perl": { "command": "perl {file}", "extention": ".pl" } } }\n' >cfg/mdrun.json
"$mdrun" cfg/doc.md >/dev/null 2>err
{ [ $? = 2 ] && has err "cfg/mdrun.json:2:39: languages.perl.extention: unknown key"; }
expect "config: an unknown field is named with its line and column"
printf '{ "languages": [ }\n' >cfg/mdrun.json
"$mdrun" cfg/doc.md >/dev/null 2>err
{ [ $? = 2 ] && has err "cfg/mdrun.json:1:18: not valid JSON"; }
expect "config: invalid JSON is located"
cat >cfg/probe <<'SH'
#!/bin/sh
[ "$1" = --version ] && echo probe >> "$(dirname "$0")/probes.log"
exec python3 "$@"
SH
chmod +x cfg/probe
printf '{ "languages": { "py2": { "command": "%s", "driver": "python" } } }\n' "$dir/cfg/probe" >cfg/mdrun.json
printf '```{py2}\nprint("via config")\n```\n' >cfg/doc.md
"$mdrun" -q cfg/doc.md >cfg/out1
"$mdrun" -q --rebuild cfg/doc.md >cfg/out2
{ shows cfg/out1 py2-1 "via config" && [ "$(wc -l <cfg/probes.log)" = 1 ]; }
expect "a configured interpreter with a driver runs in a session; its version is probed once"
touch cfg/probe
"$mdrun" -q cfg/doc.md >/dev/null
[ "$(wc -l <cfg/probes.log)" = 2 ]
expect "a changed interpreter binary (mtime) is probed again"

# What each sample computes.
for lang in perl node ruby r; do
	cmd=$lang
	case $lang in
	perl) want="Notebooks Stay True" ;;
	node) want="[1,4,9]" ;;
	ruby) want="A,B,C" ;;
	r) want="mean: 4" cmd=Rscript ;;
	esac
	if ! command -v "$cmd" >/dev/null; then
		skip "samples/languages/$lang.md runs through the config" \
			"'$cmd' is not installed"
		continue
	fi
	cp "$src/samples/languages/$lang.md" "$src/samples/languages/mdrun.json" "$dir/"
	"$mdrun" -q "$lang.md" -o "$lang.out" 2>err
	{ [ $? = 0 ] && shows_part "$lang.out" "$lang-1" "$want"; }
	expect "samples/languages/$lang.md runs through the config"
done

finish
