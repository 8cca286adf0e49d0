#!/usr/bin/env bash
# Benchmarks, each against a baseline measured in the same run.
# usage: bench/run.sh [MDRUN] [BLOCKS]
#
#   warm render  mdrun on a document whose blocks are all in the store,
#                against cmark-gfm parsing and rendering the same document
#   cold render  mdrun with an empty store, blocks with session=none (one
#                process each), against sh starting one `sh -c` process
#                per block: the floor for one process each
#                (bench/sessions.sh measures sessions)
set -eu
. "$(dirname "$0")/lib.sh"
mdrun=${1:-build/mdrun}
n=${2:-500}
work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-bench.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
export MDRUN_STORE="$work/store"

command -v cmark-gfm >/dev/null || { echo "bench: cmark-gfm missing (make deps)"; exit 2; }

doc="$work/doc.md"
{
	echo "# Benchmark document"
	for i in $(seq 1 "$n"); do
		printf '\nParagraph %d with *emphasis* and `code`.\n\n' "$i"
		printf '```{sh session=none}\necho block %d\n```\n' "$i"
	done
} >"$doc"

# cold: no realization (interpreter versions stay memoized)
cold() { fresh; "$mdrun" -q -j 1 "$doc"; }
spawns() { for i in $(seq 1 "$n"); do sh -c "echo block $i"; done; }

"$mdrun" -q "$doc" >/dev/null
cold_us=$(best 3 nothing cold)
spawn_us=$(best 3 nothing spawns)
"$mdrun" -q "$doc" >/dev/null
warm_us=$(best 10 nothing "$mdrun" -q "$doc")
cmark_us=$(best 10 nothing cmark-gfm "$doc")

printf 'document: %d executable blocks, %d bytes\n' "$n" "$(wc -c <"$doc")"
printf 'warm render   %8.1f ms   cmark-gfm %8.1f ms   ratio %sx\n' \
	"$(ratio "$warm_us" 1000)" "$(ratio "$cmark_us" 1000)" \
	"$(ratio "$warm_us" "$cmark_us")"
printf 'cold render   %8.1f ms   %d x sh -c %6.1f ms   ratio %sx\n' \
	"$(ratio "$cold_us" 1000)" "$n" "$(ratio "$spawn_us" 1000)" \
	"$(ratio "$cold_us" "$spawn_us")"
printf 'cold overhead per block over one sh -c: %s ms\n' \
	"$(awk -v c="$cold_us" -v s="$spawn_us" -v n="$n" 'BEGIN { printf "%.3f", (c - s) / n / 1000 }')"
