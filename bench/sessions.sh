#!/usr/bin/env bash
# Session benchmarks, each against the physical limit measured in the same
# run. usage: bench/sessions.sh [MDRUN] [BLOCKS]
#
#   python  BLOCKS trivial python blocks in one session, cold (empty
#           store), against python3 running the same snippets as one script
#   bash    BLOCKS trivial bash blocks in one session, cold, against bash
#           running them as one script, and against session=none
#
# Each runs twice: with the store on the disk (under $TMPDIR), and with the
# store on a tmpfs (/dev/shm), which shows mdrun's own cost apart from the
# file system's: a cold block creates a realization (folders and files),
# and on a slow disk those dominate.
set -eu
. "$(dirname "$0")/lib.sh"
mdrun=$(realpath "${1:-build/mdrun}")
n=${2:-200}
work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-bench-sessions.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"

for i in $(seq 1 "$n"); do printf '```{python}\nx = %d\nprint(x)\n```\n\n' "$i"; done >py.md
for i in $(seq 1 "$n"); do printf 'x = %d\nprint(x)\n' "$i"; done >py.py
for i in $(seq 1 "$n"); do printf '```{bash}\nx=%d; echo $x\n```\n\n' "$i"; done >sh.md
for i in $(seq 1 "$n"); do printf '```{bash session=none}\nx=%d; echo $x\n```\n\n' "$i"; done >none.md
for i in $(seq 1 "$n"); do printf 'x=%d; echo $x\n' "$i"; done >sh.sh


per() { awk -v a="$1" -v b="$2" -v n="$n" 'BEGIN { printf "%.3f", (a - b) / n / 1000 }'; }

py_raw=$(best 5 nothing python3 py.py)
sh_raw=$(best 5 nothing bash sh.sh)
printf 'baselines: python3 script %s ms, bash script %s ms (%d snippets each)\n' \
	"$(ms "$py_raw")" "$(ms "$sh_raw")" "$n"
stores="$work/store"
[ -d /dev/shm ] && [ -w /dev/shm ] && stores="$stores /dev/shm/mdrun-bench-$$"
for store in $stores; do
	export MDRUN_STORE="$store"
	case $store in /dev/shm/*) where="store on tmpfs" ;; *) where="store on disk" ;; esac
	"$mdrun" -q py.md >/dev/null # probes the interpreters once (memoized)
	"$mdrun" -q sh.md >/dev/null
	py_md=$(best 5 fresh "$mdrun" -q -j 1 py.md)
	sh_md=$(best 5 fresh "$mdrun" -q -j 1 sh.md)
	none_md=$(best 3 fresh "$mdrun" -q -j 1 none.md)
	warm=$(best 5 nothing "$mdrun" -q sh.md)
	echo "--- $where"
	printf '%d python blocks, one session, cold: %7s ms  ratio %sx to the script (target <= 2), +%s ms/block\n' \
		"$n" "$(ms "$py_md")" "$(ratio "$py_md" "$py_raw")" "$(per "$py_md" "$py_raw")"
	printf '%d bash blocks, one session, cold:   %7s ms  +%s ms/block over the script (target <= 0.1)\n' \
		"$n" "$(ms "$sh_md")" "$(per "$sh_md" "$sh_raw")"
	printf '%d bash blocks, session=none, cold:  %7s ms  the session is %sx faster (target >= 5)\n' \
		"$n" "$(ms "$none_md")" "$(ratio "$none_md" "$sh_md")"
	printf '%d bash blocks, warm (all cached):   %7s ms\n' "$n" "$(ms "$warm")"
	case $store in /dev/shm/*) rm -rf "$store" ;; esac
done
