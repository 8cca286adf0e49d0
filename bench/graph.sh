#!/usr/bin/env bash
# Stage-graph benchmarks. usage: bench/graph.sh [MDRUN]
#
#   parallel  two independent CPU-bound sessions (python and bash), cold,
#             with -j 2 against -j 1 (target: at least 1.8x faster)
#   planning  a warm render of 1,000 and 10,000 cached blocks: how many
#             blocks a second a warm render plans, looks up and splices
set -eu
. "$(dirname "$0")/lib.sh"
mdrun=$(realpath "${1:-build/mdrun}")
work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-bench-graph.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
export MDRUN_STORE="$work/store"


cat >cpu.md <<'DOC'
```{python}
n = 0
for i in range(8_000_000):
    n += i * i
print(n)
```

```{bash}
n=0; for ((i = 0; i < 400000; i++)); do n=$((n + i)); done; echo $n
```
DOC
"$mdrun" -q cpu.md >/dev/null
j1=$(best 3 fresh "$mdrun" -q -j 1 cpu.md)
j2=$(best 3 fresh "$mdrun" -q -j 2 cpu.md)
awk -v a="$j1" -v b="$j2" 'BEGIN { printf "two CPU-bound sessions: -j 1 %.0f ms, -j 2 %.0f ms, speedup %.2fx (target >= 1.8)\n", a / 1000, b / 1000, a / b }'

for n in 1000 10000; do
	for i in $(seq 1 "$n"); do printf '```{sh session=none}\necho %d\n```\n\n' "$i"; done >warm$n.md
	"$mdrun" -q -j 2 warm$n.md >/dev/null
	w=$(best 3 nothing "$mdrun" -q warm$n.md)
	awk -v n="$n" -v u="$w" 'BEGIN { printf "warm render of %d blocks: %.1f ms, %.0f blocks/s\n", n, u / 1000, n / (u / 1e6) }'
done
