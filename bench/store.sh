#!/usr/bin/env bash
# Store benchmark: does a big store slow a warm render down?
# usage: bench/store.sh [MDRUN] [BENCH_FILL] [BLOCKS] [REALIZATIONS]
#
# Renders one document of BLOCKS blocks warm (everything cached) against a
# store that holds only that document's realizations (the baseline), then
# against one that also holds REALIZATIONS unrelated ones; prints both and
# the ratio. Target: at most 1.10.
set -eu
. "$(dirname "$0")/lib.sh"
mdrun=${1:-build/mdrun}
fill=${2:-build/bench_fill}
n=${3:-1000}
extra=${4:-100000}
work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-bench-store.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

doc="$work/doc.md"
for i in $(seq 1 "$n"); do printf '```{sh}\necho block %d\n```\n\n' "$i"; done >"$doc"


echo "filling a store with $extra realizations..." >&2
t0=$(date +%s)
"$fill" "$work/big" "$extra"
echo "filled in $(($(date +%s) - t0)) s" >&2
"$mdrun" -q --store "$work/small" "$doc" >/dev/null
"$mdrun" -q --store "$work/big" "$doc" >/dev/null

# Interleaved, so drift on a shared machine hits both alike.
small=; big=
for round in 1 2 3; do
	s=$(best 5 nothing "$mdrun" -q --store "$work/small" "$doc")
	b=$(best 5 nothing "$mdrun" -q --store "$work/big" "$doc")
	if [ -z "$small" ] || [ "$s" -lt "$small" ]; then small=$s; fi
	if [ -z "$big" ] || [ "$b" -lt "$big" ]; then big=$b; fi
done
printf 'warm render of %d blocks, store with only them:     %8.1f ms\n' "$n" "$(awk -v u="$small" 'BEGIN { print u / 1000 }')"
printf 'warm render of %d blocks, store with %d more: %8.1f ms\n' "$n" "$extra" "$(awk -v u="$big" 'BEGIN { print u / 1000 }')"
printf 'ratio %.3f (target <= 1.10)\n' "$(awk -v a="$big" -v b="$small" 'BEGIN { print a / b }')"
