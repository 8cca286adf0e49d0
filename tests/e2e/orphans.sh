#!/usr/bin/env bash
# End-to-end tests: nothing a block starts outlives it. Blocks start
# daemons that leave the block's process group (setsid, a double fork,
# Popen(start_new_session=True)); after the render ends, after a timeout,
# after SIGINT or SIGTERM to mdrun and after kill -9 of mdrun, none of
# them, and no interpreter, may be left. usage: orphans.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

# The blocks wait for their daemons with pgrep.
command -v pgrep >/dev/null || skip_all "pgrep is not installed"

dir="$work/o"
mkdir -p "$dir"
cd "$dir" || exit 1

# Every process mdrun starts inherits MDRUN_ORPHANS=$tok (given to mdrun
# alone) and every daemon has 299.$tok in its command line.
tok=$$$RANDOM
# The live processes of this run, one "PID COMMAND" line each. (The
# patterns do not match the grep that reads them: "[.]" is not ".".)
survivors() {
	{
		grep -lxz "MDRUN_ORPHANS=$tok" /proc/[0-9]*/environ
		grep -lz "299[.]$tok" /proc/[0-9]*/cmdline
	} 2>/dev/null | cut -d/ -f3 | sort -u | while read -r p; do
		[ -r "/proc/$p/cmdline" ] || continue
		printf '%s %s\n' "$p" "$(tr '\0\n' '  ' <"/proc/$p/cmdline" | cut -c1-60)"
	done | grep -v '^[0-9]* $'
}
# Waits up to 5 s for the processes of this run to end.
gone() {
	for _ in $(seq 50); do
		[ -z "$(survivors)" ] && return 0
		sleep 0.1
	done
	return 1
}
kill_leftovers() {
	survivors | while read -r p _; do kill -9 "$p" 2>/dev/null; done
}
trap 'kill_leftovers; chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# verdict NAME: no process of this run is left (else they are listed, and
# killed so that the next case starts clean).
verdict() {
	if gone; then
		ok "$1"
	else
		bad "$1" "survivors: $(survivors)"
		kill_leftovers
	fi
}
run() { timeout 60 env MDRUN_ORPHANS="$tok" "$mdrun" -q "$@"; }
# timed CMD...: runs it; took is how many seconds it took. Its status.
timed() {
	local start code
	start=$(date +%s)
	"$@"
	code=$?
	took=$(($(date +%s) - start))
	return "$code"
}

have_setsid=true
command -v setsid >/dev/null || have_setsid=false
have_python=true
command -v python3 >/dev/null || have_python=false

n=0
# daemons LANG: code that starts a daemon by setsid and one by a double
# fork, a plain background child, and returns once all three run.
daemons() {
	n=$((n + 1))
	if [ "$1" = python ]; then
		cat <<PY
import os, subprocess, time
open("daemons", "w").close()
subprocess.Popen(["sleep", "299.${tok}${n}1"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execvp("sleep", ["sleep", "299.${tok}${n}2"])
    os._exit(0)
os.waitpid(pid, 0)
bg = subprocess.Popen(["sleep", "299.${tok}${n}3"])
while len(os.popen("pgrep -xf 'sleep 299[.]${tok}${n}[0-9]'").read().split()) < 3:
    time.sleep(0.05)
print("started", flush=True)
PY
	else
		cat <<SH
setsid sleep 299.${tok}${n}1 >/dev/null 2>&1 &
( setsid sh -c 'exec sleep 299.${tok}${n}2' >/dev/null 2>&1 & )
sleep 299.${tok}${n}3 >/dev/null 2>&1 &
until [ "\$(pgrep -xf 'sleep 299[.]${tok}${n}[0-9]' | wc -l)" -ge 3 ]; do sleep 0.05; done
echo started
SH
	fi
}

# block LANG OPTIONS [TAIL]: a fenced block that starts the daemons, then
# runs TAIL.
block() {
	printf '```{%s%s}\n' "$1" "${2:+ $2}"
	daemons "$1"
	[ -n "${3:-}" ] && printf '%s\n' "$3"
	printf '```\n\n'
}

kinds="sh:session=none bash: python: python:session=none"
usable() {
	case $1 in
	python*) $have_python ;;
	*) $have_setsid ;;
	esac
}

# --- the end of the render ----------------------------------------------------
for kind in $kinds; do
	lang=${kind%%:*} opts=${kind#*:}
	name="$lang${opts:+ $opts}"
	usable "$lang" || { skip "the end of the render, $name" "no setsid or python3"; continue; }
	block "$lang" "$opts" >end.md
	run end.md -o end.out 2>err
	{ [ $? = 0 ] && shows end.out 1 started; }
	expect "the end of the render, $name: the block started its daemons" err
	verdict "the end of the render, $name: no daemon is left"
done

# --- a timeout -------------------------------------------------------------------
for kind in $kinds; do
	lang=${kind%%:*} opts=${kind#*:}
	name="$lang${opts:+ $opts}"
	usable "$lang" || { skip "timeout=3, $name" "no setsid or python3"; continue; }
	tail='sleep 30'
	[ "$lang" = python ] && tail='time.sleep(30)'
	block "$lang" "${opts:+$opts }timeout=3" "$tail" >late.md
	run late.md -o late.out 2>err
	{ [ $? = 1 ] && shows late.out 1 started "*timed out*"; }
	expect "timeout=3, $name: the block starts its daemons, then is killed as timed out" late.out err
	verdict "timeout=3, $name: no daemon is left"
done

# Runs DOC in the background until its block says it started, then hits
# mdrun with SIGNAL; the exit status is in $code.
interrupt() {
	local sig=$1 doc=$2
	rm -f started.flag
	env MDRUN_ORPHANS="$tok" "$mdrun" -q "$doc" -o /dev/null 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do [ -e started.flag ] && break; sleep 0.05; done
	kill -"$sig" "$pid"
	wait "$pid" 2>/dev/null
	code=$?
}

# --- SIGINT, SIGTERM and SIGKILL to mdrun --------------------------------------
for sig in INT TERM KILL KILL; do
	for kind in $kinds; do
		lang=${kind%%:*} opts=${kind#*:}
		name="$lang${opts:+ $opts}"
		usable "$lang" || { skip "SIG$sig to mdrun, $name" "no setsid or python3"; continue; }
		tail='touch started.flag; sleep 30'
		[ "$lang" = python ] &&
			tail='open("started.flag", "w").close(); time.sleep(30)'
		block "$lang" "$opts" "$tail" >sig.md
		interrupt "$sig" sig.md
		want=$((128 + $(kill -l "$sig")))
		[ "$code" = "$want" ]
		expect "SIG$sig to mdrun, $name: mdrun ends by it (exit $code)"
		verdict "SIG$sig to mdrun, $name: no daemon and no interpreter is left"
	done
done

# --- the keeper: mdrun-keeper beside mdrun, else a fork of mdrun -------------------
printf '```{sh session=none}\ncat /proc/$PPID/comm\n```\n' >comm.md
run comm.md -o comm.out 2>err
shows comm.out 1 mdrun-keeper
expect "a block's keeper is mdrun-keeper, from beside mdrun" comm.out err
# One mdrun-keeper keeps one block after another: what a block left is
# gone before the next block starts, and a keeper killed is replaced.
if $have_setsid; then
	{
		block sh session=none
		printf '```{sh session=none}\necho "keeper $PPID"\n```\n\n'
		printf '```{sh session=none}\necho "$(pgrep -f "299[.]%s" | wc -l) left"\necho "keeper $PPID"\n```\n\n' "$tok"
		printf '```{sh session=none error=true}\ncat /proc/$PPID/comm; kill -9 $PPID; sleep 5; echo "outlived its keeper"\n```\n\n'
		printf '```{sh session=none}\necho "keeper $PPID, $(cat /proc/$PPID/comm)"\n```\n'
	} >kept.md
	run -j 1 kept.md -o kept.out 2>err
	k2=$(region kept.out 2 | grep '^keeper [0-9]')
	{ shows kept.out 1 started && shows_part kept.out 3 "0 left" &&
		[ -n "$k2" ] && shows kept.out 3 "$k2"; }
	expect "session=none: the next block starts after its keeper ended what the last one left, under the same keeper" kept.out err
	{ shows kept.out 4 mdrun-keeper "*killed by signal 9*" &&
		! shows_part kept.out 4 outlived; }
	expect "session=none: a block that kills its keeper is killed with it" kept.out err
	{ region kept.out 5 | grep -qx 'keeper [0-9]*, mdrun-keeper' &&
		! shows_part kept.out 5 "$k2,"; }
	expect "session=none: the block after it runs under a new keeper" kept.out err
	verdict "session=none, a keeper killed: no daemon is left"
else
	skip "one keeper for consecutive blocks" "no setsid"
fi
# A block that left its process group, then killed its keeper while
# printing more than a pipe holds: killed, and mdrun goes on. A keeper
# stopped by its block: the timeout still ends the block.
if $have_python; then
	cat >leave.md <<'DOC'
```{python session=none timeout=5 error=true}
import os, sys
keeper = os.getppid()
with open("/proc/%d/stat" % keeper) as f:
    mdrun = int(f.read().rsplit(")", 1)[1].split()[1])
os.setpgid(0, os.getpgid(mdrun))
os.kill(keeper, 9)
sys.stdout.write("x" * 200000)
sys.stdout.flush()
import time; time.sleep(30)
```
DOC
	timed run -j 1 leave.md -o leave.out 2>err
	{ [ "$took" -lt 20 ] && shows_part leave.out 1 "*killed by signal 9*"; }
	expect "session=none: a block that left its group and killed its keeper is killed; mdrun goes on (${took} s)" leave.out err
	verdict "session=none, a block out of its group killed its keeper: nothing is left"
else
	skip "session=none: a block that left its group and killed its keeper is killed" "no python3"
fi
# A block that stops its keeper (kept, or its session's) still times out.
for kind in "session=none:sh session=none" "session:bash"; do
	what=${kind%%:*}
	printf '```{%s timeout=1 error=true}\nkill -STOP $PPID; sleep 30; echo late\n```\n' \
		"${kind#*:}" >stop.md
	timed run -j 1 stop.md -o stop.out 2>err
	{ [ "$took" -lt 25 ] && shows stop.out 1 "*timed out*"; }
	expect "$what: a block that stopped its keeper still times out (${took} s)" stop.out err
	verdict "$what, a keeper stopped before a timeout: nothing is left"
done
# A session's keeper, stopped by a block that then ends: the session goes
# on, and the render ends when its last block has.
printf '```{bash}\nkill -STOP $PPID; echo stopped\n```\n\n```{bash}\necho "after $((6 * 7))"\n```\n' >sstop.md
timed run -j 1 sstop.md -o sstop.out 2>err
code=$?
{ [ "$code" = 0 ] && [ "$took" -lt 25 ] && shows sstop.out 2 "after 42"; }
expect "session: a block that stopped its keeper ends; so does the render (${took} s)" sstop.out err
verdict "session, a keeper stopped: nothing is left"
# mdrun alone, as when copied without it: its keepers are forks of itself
mkdir -p solo
cp "$mdrun" solo/mdrun
solo=$dir/solo/mdrun
printf '```{sh session=none}\ncat /proc/$PPID/comm # alone\n```\n' >comm.md
timeout 60 env MDRUN_ORPHANS="$tok" "$solo" -q comm.md -o solo.out 2>err
shows solo.out 1 mdrun
expect "without mdrun-keeper beside it, mdrun keeps each block in a fork of itself" solo.out err
printf '```{sh session=none timeout=1 error=true}\nexec >&- 2>&-; sleep 30\n```\n\n```{sh session=none}\necho "next $((6 * 7))"\n```\n' >shut.md
timed timeout 60 env MDRUN_ORPHANS="$tok" "$solo" -q -k shut.md -o solo.out 2>err
{ [ "$took" -lt 25 ] && shows solo.out 1 "*timed out*" &&
	shows solo.out 2 "next 42"; }
expect "forked keepers: a block that closed stdout and stderr still times out (${took} s)" solo.out err
verdict "forked keepers, a block with its pipes closed: nothing is left"
if $have_setsid; then
	block sh session=none >solo.md
	timeout 60 env MDRUN_ORPHANS="$tok" "$solo" -q solo.md -o solo.out 2>err
	{ [ $? = 0 ] && shows solo.out 1 started; }
	expect "forked keepers: the block started its daemons" solo.out err
	verdict "forked keepers: no daemon is left at the end of the render"
	block sh session=none 'touch started.flag; sleep 30' >solo.md
	rm -f started.flag
	env MDRUN_ORPHANS="$tok" "$solo" -q solo.md -o /dev/null 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do [ -e started.flag ] && break; sleep 0.05; done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	verdict "forked keepers: after kill -9 of mdrun, no daemon is left"
else
	skip "forked keepers" "no setsid"
fi

# kill -9 at random instants of a render with blocks of every kind on two
# workers: whatever had started must end with mdrun.
if $have_setsid && $have_python; then
	for round in 1 2 3 4 5 6; do
		{
			for kind in $kinds; do
				lang=${kind%%:*} opts=${kind#*:}
				tail='sleep 30'
				[ "$lang" = python ] && tail='time.sleep(30)'
				block "$lang" "$opts" "$tail"
			done
		} >many.md
		env MDRUN_ORPHANS="$tok" "$mdrun" -q -j 2 many.md -o /dev/null 2>/dev/null &
		pid=$!
		sleep "0.$((RANDOM % 10))$round"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		verdict "kill -9 of mdrun at a random instant, round $round: nothing is left"
	done
else
	skip "kill -9 of mdrun at a random instant" "no setsid or python3"
fi

finish
