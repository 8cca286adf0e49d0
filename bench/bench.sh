#!/usr/bin/env bash
# mdrun's benchmarks, W1-W7, each side by side with its baseline in the same
# run (bench_ab: rounds of A B A B ..., medians with min and max), and the
# peers (Jupyter, knitr) where they are installed. Prints a Markdown report:
# a table of ratios against the targets, then callgrind's top functions for
# W1. `make bench` writes it to bench/RESULTS.md.
#
# usage: bench/bench.sh [BUILD] [--quick]
#   BUILD    the build folder (default: build); mdrun and bench/bench_ab in it
#   --quick  fewer rounds, 10,000 rather than 100,000 realizations for W5,
#            no peers and no callgrind: a check that the harness works
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
quick=false
[ "${2:-}" = --quick ] && quick=true
mdrun=$build/mdrun
ab=$build/bench/bench_ab
fill=$build/bench/bench_fill
kernel=$build/bench/bench_kernel
session=$build/bench/bench_session
for tool in "$mdrun" "$ab" "$fill" "$kernel" "$session"; do
	[ -x "$tool" ] || { echo "bench: $tool missing (make build)" >&2; exit 2; }
done
command -v cmark-gfm >/dev/null || { echo "bench: cmark-gfm missing (make deps)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-bench.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# python3 itself first in PATH (alone: a link), for mdrun and the
# baselines alike: a wrapper in front of it (pyenv's shims are shell
# scripts that start several processes, 300 ms and more) would bury what
# mdrun adds to W2 under the interpreter's start.
py=$(python3 -c 'import sys; print(sys.executable)')
[ -x "$py" ] || { echo "bench: python3 does not say where it is" >&2; exit 2; }
mkdir "$work/bin" && ln -s "$py" "$work/bin/python3"
PATH=$work/bin:$PATH
cd "$work"
python3 "$here/gen.py" .
# A store per workload; fresh empties it (the interpreters' versions stay
# memoized) and writes back what the removal left dirty, so that the timed
# run's syncfs does not pay for it.
# A cold store that still knows its interpreters: every record but the
# memo table (interpreter identities) goes, and the artifacts.
use_store() {
	export MDRUN_STORE=$work/store-$1
	fresh="{ [ ! -e $MDRUN_STORE/store.db ] || sqlite3 $MDRUN_STORE/store.db 'DELETE FROM run; DELETE FROM real; DELETE FROM drv; DELETE FROM root; DELETE FROM blob; DELETE FROM stat; PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null; } && rm -rf $MDRUN_STORE/objects && sync"
}

if $quick; then r1=5 r2=2 r3=1 extra=10000; else r1=21 r2=5 r3=3 extra=100000; fi

say() { echo "bench: $*" >&2; }
# run ROUNDS [-p PREP] NAME CMD ...: bench_ab's lines, "NAME MEDIAN MIN MAX RSS"
run() { "$ab" "$@"; }
field() { awk -v n="$2" -v f="$3" '$1 == n { print $f }' <<<"$1"; }
med() { field "$1" "$2" 2; }
span() { printf '%s (%s–%s)' "$(field "$1" "$2" 2)" "$(field "$1" "$2" 3)" "$(field "$1" "$2" 4)"; }
rss_mib() { awk -v k="$(field "$1" "$2" 5)" 'BEGIN { printf "%.1f", k / 1024 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { # VALUE OP LIMIT
	if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then echo met; else echo "**missed**"; fi
}
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }

# --- W1: warm render of ~1 MB, 1,000 blocks, against cmark-gfm ----------
use_store w1
say "W1: realizing w1.md once (1,000 python blocks)"
"$mdrun" -q -j 2 w1.md >/dev/null
say "W1: warm render against cmark-gfm, $r1 rounds"
w1=$(run "$r1" mdrun "$mdrun -q w1.md" cmark "cmark-gfm w1.md")
x=$(div "$(med "$w1" mdrun)" "$(med "$w1" cmark)")
row "W1 warm render, $(wc -c <w1.md) bytes, 1,000 blocks" "$(span "$w1" mdrun) ms" \
	"cmark-gfm $(span "$w1" cmark) ms" "${x}x" "≤ 1.5x" "$(verdict "$x" "<=" 1.5)"
w1_rss=$(rss_mib "$w1" mdrun)
row "W6 peak RSS of W1" "$w1_rss MiB" "cmark-gfm $(rss_mib "$w1" cmark) MiB" "" \
	"≤ 32 MiB" "$(verdict "$w1_rss" "<=" 32)"

# per_block W LANG [NAME]: what a block adds to a render of W's first block
# alone (its runs NAME, default mdrun, and one), against what it costs
# through the bare session (bench_session LANG: the interpreter, its
# driver and the protocol, no document and no store; bare and bare1).
per_block() {
	local runs=${!1} a b
	a=$(awk -v m="$(med "$runs" "${3:-mdrun}")" -v o="$(med "$runs" one)" \
		'BEGIN { printf "%.3f", (m - o) / 199 }')
	b=$(awk -v m="$(med "$runs" bare)" -v o="$(med "$runs" bare1)" \
		'BEGIN { printf "%.3f", (m - o) / 199 }')
	row "${1^^} per block past the first (200 blocks less 1, /199)" "$a ms" \
		"the bare $2 session $b ms" "+$(awk -v a="$a" -v b="$b" \
		'BEGIN { printf "%.3f", a - b }') ms/block" "" ""
}

# --- W2: cold python session against one python3 script -----------------
use_store w2
say "W2: 200 python blocks cold, $r2 rounds"
"$mdrun" -q w2.md >/dev/null # the interpreter's version, memoized
w2=$(run "$r2" -p "$fresh" mdrun "$mdrun -q -j 1 w2.md" python3 "python3 w2.py" \
	-p "$fresh" one "$mdrun -q -j 1 w2-1.md" bare "$session python 200" \
	bare1 "$session python 1")
x=$(div "$(med "$w2" mdrun)" "$(med "$w2" python3)")
row "W2 cold, 200 python blocks, one session" "$(span "$w2" mdrun) ms" \
	"python3 script $(span "$w2" python3) ms" "${x}x" "≤ 1.3x" "$(verdict "$x" "<=" 1.3)"
per_block w2 python

# --- W3: per-block overhead of a bash session ----------------------------
use_store w3
say "W3: 200 bash blocks cold, $r2 rounds"
"$mdrun" -q w3.md >/dev/null
w3=$(run "$r2" -p "$fresh" session "$mdrun -q -j 1 w3.md" \
	-p "$fresh" none "$mdrun -q -j 1 w3none.md" bash "bash w3.sh" \
	spawn "bash w3spawn.sh" -p "$fresh" one "$mdrun -q -j 1 w3-1.md" \
	bare "$session bash 200" bare1 "$session bash 1")
per=$(awk -v a="$(med "$w3" session)" -v b="$(med "$w3" bash)" 'BEGIN { printf "%.3f", (a - b) / 200 }')
row "W3 cold, 200 bash blocks, one session" "$(span "$w3" session) ms" \
	"bash script $(span "$w3" bash) ms" "+$per ms/block" "≤ 0.1 ms/block" \
	"$(verdict "$per" "<=" 0.1)"
per_block w3 bash session
per=$(awk -v a="$(med "$w3" none)" -v b="$(med "$w3" bash)" 'BEGIN { printf "%.3f", (a - b) / 200 }')
row "W3 the same with session=none" "$(span "$w3" none) ms" \
	"bash script $(span "$w3" bash) ms" "+$per ms/block" "" ""
x=$(div "$(med "$w3" none)" "$(med "$w3" spawn)")
row "W3 session=none against a new bash per block" "$(span "$w3" none) ms" \
	"bash -c per block $(span "$w3" spawn) ms" "${x}x" "≤ 1.2x" "$(verdict "$x" "<=" 1.2)"

# --- input tracking: its cost on W1, W2 and W3 ---------------------------
say "tracking: W1 warm, W2 and W3 cold, against --no-track"
use_store w1
"$mdrun" -q w1.md >/dev/null
tw1=$(run "$r1" track "$mdrun -q w1.md" notrack "$mdrun -q --no-track w1.md")
x=$(div "$(med "$tw1" track)" "$(med "$tw1" notrack)")
row "Tracking on W1 warm" "$(span "$tw1" track) ms" \
	"--no-track $(span "$tw1" notrack) ms" "${x}x" "≤ 1.05x" "$(verdict "$x" "<=" 1.05)"
for w in w2 w3; do
	use_store "$w"
	tw=$(run "$r2" -p "$fresh" track "$mdrun -q -j 1 $w.md" \
		-p "$fresh" notrack "$mdrun -q -j 1 --no-track $w.md")
	x=$(div "$(med "$tw" track)" "$(med "$tw" notrack)")
	row "Tracking on ${w^^} cold" "$(span "$tw" track) ms" \
		"--no-track $(span "$tw" notrack) ms" "${x}x" "≤ 1.05x" \
		"$(verdict "$x" "<=" 1.05)"
done

# --- W4: two CPU-bound sessions, -j 2 against -j 1 ----------------------
use_store w4
say "W4: two CPU-bound sessions, $r2 rounds"
w4=$(run "$r2" -p "$fresh" j1 "$mdrun -q -j 1 w4.md" -p "$fresh" j2 "$mdrun -q -j 2 w4.md")
x=$(div "$(med "$w4" j1)" "$(med "$w4" j2)")
row "W4 two CPU-bound sessions, -j 2" "$(span "$w4" j2) ms" "-j 1 $(span "$w4" j1) ms" \
	"${x}x faster" "≥ 1.8x" "$(verdict "$x" ">=" 1.8)"

# --- W5: a warm render in a big store against a store of its own ---------
say "W5: filling a store with $extra realizations"
"$fill" "$work/big" "$extra" 2>/dev/null
"$mdrun" -q -j 2 --store "$work/big" w1.md >/dev/null
"$mdrun" -q -j 2 --store "$work/small" w1.md >/dev/null
say "W5: warm render in both stores, $((r1 * 2)) rounds"
w5=$(run "$((r1 * 2))" big "$mdrun -q --store $work/big w1.md" small "$mdrun -q --store $work/small w1.md")
x=$(div "$(med "$w5" big)" "$(med "$w5" small)")
row "W5 W1 with $extra more realizations in the store" "$(span "$w5" big) ms" \
	"its own store $(span "$w5" small) ms" "${x}x" "≤ 1.05x" "$(verdict "$x" "<=" 1.05)"
chmod -R u+w "$work/big"
rm -rf "$work/big"

# --- W6: a block printing 50 MB -----------------------------------------
use_store w6
say "W6: a block printing 50 MB, $r3 rounds"
"$mdrun" -q w6.md >/dev/null
w6=$(run "$r3" -p "$fresh" mdrun "$mdrun -q w6.md")
w6_rss=$(rss_mib "$w6" mdrun)
row "W6 peak RSS, a block printing 50 MB (cold)" "$w6_rss MiB" "" "" "≤ 100 MiB" \
	"$(verdict "$w6_rss" "<=" 100)"

# --- W7: planning 1,000 and 10,000 blocks --------------------------------
use_store w7
say "W7: planning, $r1 rounds"
w7=$(run "$r1" p1k "$mdrun plan w7-1000.md" p10k "$mdrun plan w7-10000.md" \
	c1k "cmark-gfm w7-1000.md" c10k "cmark-gfm w7-10000.md")
for n in 1k 10k; do
	blocks=${n%k}000
	us=$(awk -v t="$(med "$w7" p$n)" -v b="$blocks" 'BEGIN { printf "%.1f", t * 1000 / b }')
	row "W7 plan, $blocks blocks" "$(span "$w7" p$n) ms" "cmark-gfm $(span "$w7" c$n) ms" \
		"$(div "$(med "$w7" p$n)" "$(med "$w7" c$n)")x, $us µs/block" "" ""
done

# --- peers ----------------------------------------------------------------
notes=()
if $quick; then
	notes+=("Peers and callgrind skipped (--quick).")
else
	if command -v jupyter >/dev/null && jupyter nbconvert --version >/dev/null 2>&1 &&
		jupyter kernelspec list 2>/dev/null | grep -q python3; then
		use_store w1
		say "peers: Jupyter (nbconvert --execute), $r3 rounds"
		nb="jupyter nbconvert --to notebook --execute --stdout"
		j=$(run "$r3" w1 "$nb w1.ipynb" w2 "$nb w2.ipynb")
		x=$(div "$(med "$j" w1)" "$(med "$w1" mdrun)")
		row "Jupyter, W1 equivalent (no cache: it runs every cell)" "$(span "$j" w1) ms" \
			"mdrun W1 warm $(med "$w1" mdrun) ms" "mdrun ${x}x faster" "≥ 30x" "$(verdict "$x" ">=" 30)"
		x=$(div "$(med "$j" w2)" "$(med "$w2" mdrun)")
		row "Jupyter, W2 equivalent (cold)" "$(span "$j" w2) ms" \
			"mdrun W2 cold $(med "$w2" mdrun) ms" "mdrun ${x}x faster" "≥ 30x" "$(verdict "$x" ">=" 30)"
	else
		notes+=("Jupyter skipped: jupyter nbconvert or a python3 kernel is not installed (Debian: jupyter-nbconvert python3-ipykernel).")
	fi
	if command -v Rscript >/dev/null && Rscript -e 'library(knitr)' >/dev/null 2>&1; then
		say "peers: knitr with cache=TRUE, cold and warm, $r3 rounds"
		knit() { echo "Rscript -e knitr::knit('$1',output='$work/k.md',quiet=TRUE)"; }
		Rscript -e "knitr::knit('w1.Rmd',output='$work/k.md',quiet=TRUE)" >/dev/null 2>&1
		k=$(run "$r3" w1warm "$(knit w1.Rmd)" -p "rm -rf $work/cache-w2" w2cold "$(knit w2.Rmd)")
		x=$(div "$(med "$k" w1warm)" "$(med "$w1" mdrun)")
		row "knitr cache=TRUE, W1 equivalent, warm" "$(span "$k" w1warm) ms" \
			"mdrun W1 warm $(med "$w1" mdrun) ms" "mdrun ${x}x faster" "≥ 30x" "$(verdict "$x" ">=" 30)"
		x=$(div "$(med "$k" w2cold)" "$(med "$w2" mdrun)")
		row "knitr cache=TRUE, W2 equivalent (R chunks), cold" "$(span "$k" w2cold) ms" \
			"mdrun W2 cold $(med "$w2" mdrun) ms" "mdrun ${x}x faster" "≥ 30x" "$(verdict "$x" ">=" 30)"
	else
		notes+=("knitr skipped: Rscript or the knitr package is not installed (Debian: r-base-core r-cran-knitr).")
	fi
fi

# --- W8, W9: blocks through Jupyter kernels -----------------------------------
if ! $quick && "$mdrun" kernels | grep -q '^  ir ' &&
	Rscript -e 'library(knitr)' >/dev/null 2>&1; then
	use_store w8
	say "W8: 100 R blocks through IRkernel against knitr, $r3 rounds"
	knit0() { echo "Rscript -e knitr::knit('$1',output='$work/k8.md',quiet=TRUE)"; }
	k8=$(run "$r3" -p "$fresh" mdrun "$mdrun -q -j 1 w8.md" knitr "$(knit0 w8.Rmd)" \
		ir1 "$kernel ir 1")
	x=$(div "$(med "$k8" knitr)" "$(med "$k8" mdrun)")
	row "W8 cold, 100 R blocks through IRkernel" "$(span "$k8" mdrun) ms" \
		"knitr, cache off $(span "$k8" knitr) ms" "mdrun ${x}x faster" "≥ 2x" \
		"$(verdict "$x" ">=" 2)"
	row "W8 IRkernel started, one block run, stopped (no document, no store)" \
		"$(span "$k8" ir1) ms" "knitr, 100 chunks $(span "$k8" knitr) ms" \
		"$(div "$(med "$k8" ir1)" "$(med "$k8" knitr)")x" "" ""
else
	notes+=("W8 skipped: IRkernel or knitr is not installed (Debian: r-cran-irkernel r-cran-knitr), or --quick.")
fi
if ! $quick && "$mdrun" kernels | grep -q '^  python3 ' &&
	/usr/bin/python3 -c 'import nbclient' 2>/dev/null; then
	use_store w9
	say "W9: python blocks through ipykernel against nbclient, $r3 rounds"
	nbc() { echo "/usr/bin/python3 nbrun.py $1"; }
	# The floor: mdrun's kernel client alone (bench_kernel), no document,
	# no store; a client's overhead per block is what it adds to that.
	k9=$(run "$r3" -p "$fresh" m100 "$mdrun -q -j 1 w9.md" -p "$fresh" m1 "$mdrun -q -j 1 w9-1.md" \
		n100 "$(nbc w9.ipynb)" n1 "$(nbc w9-1.ipynb)" \
		k100 "$kernel python3 100" k1 "$kernel python3 1")
	per() { awk -v a="$(med "$k9" "$1")" -v b="$(med "$k9" "$2")" 'BEGIN { printf "%.2f", (a - b) / 99 }'; }
	pm=$(per m100 m1) pn=$(per n100 n1) pk=$(per k100 k1)
	om=$(awk -v a="$pm" -v k="$pk" 'BEGIN { printf "%.2f", a - k }')
	on=$(awk -v a="$pn" -v k="$pk" 'BEGIN { printf "%.2f", a - k }')
	row "W9 per block through ipykernel (100 blocks less 1, /99)" "$pm ms" \
		"nbclient $pn ms; the bare protocol $pk ms" "$(div "$pm" "$pn")x" "" ""
	# Three rounds on a busy machine can put a client below the bare
	# protocol: then the ratio means nothing, and says so.
	if awk -v a="$om" -v b="$on" 'BEGIN { exit !(a > 0 && b > 0) }'; then
		row "W9 overhead per block over the bare protocol" "$om ms" "nbclient $on ms" \
			"$(div "$om" "$on")x" "≤ 0.5x" "$(verdict "$(div "$om" "$on")" "<=" 0.5)"
	else
		row "W9 overhead per block over the bare protocol" "$om ms" "nbclient $on ms" \
			"none: a client measured below the bare protocol (noise)" "≤ 0.5x" "not measured"
	fi
else
	notes+=("W9 skipped: ipykernel or nbclient is not installed (Debian: python3-ipykernel python3-nbclient), or --quick.")
fi

# --- W10: edit to rendered, watch against render ----------------------------
# A 20-block python notebook whose first block takes 2 s (a data load);
# its last block is edited, and the time until the rendered document
# shows the edit is measured: under `mdrun watch -i` (snapshots) and with
# `mdrun -i` run after each edit (a replay from the top). Medians of the
# edits; the watch side includes its 150 ms of debounce and a 10 ms poll.
w10_doc() {
	printf '```{python}\nimport time\ntime.sleep(2)\nrows = list(range(10))\n```\n\n'
	for i in $(seq 2 19); do printf '```{python}\nv%d = sum(rows) + %d\n```\n\n' "$i" "$i"; done
	printf '```{python}\nprint("edit", 0)\n```\n'
}
# w10_wait FILE K: until FILE shows "edit K" as output (at most 60 s).
w10_wait() {
	local i
	for i in $(seq 6000); do
		grep -qx "edit $2" "$1" && return 0
		sleep 0.01
	done
	return 1
}
w10_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
edits=$($quick && echo 3 || echo 7)
say "W10: $edits edits of a 20-block notebook, watch against render"
mkdir -p "$work/w10w" "$work/w10r"
w10_doc >"$work/w10w/nb.md"
w10_doc >"$work/w10r/nb.md"
(cd "$work/w10w" && exec setsid "$mdrun" watch -q -i --store "$work/w10w/.s" nb.md \
	>/dev/null 2>&1 </dev/null) &
w10pid=$!
w10_wait "$work/w10w/nb.md" 0
(cd "$work/w10r" && "$mdrun" -q -i --store "$work/w10r/.s" nb.md)
watch_ms=() render_ms=()
for k in $(seq 1 "$edits"); do
	t0=$(date +%s%N)
	sed -i "s/^print(\"edit\", [0-9]*)/print(\"edit\", $k)/" "$work/w10w/nb.md"
	w10_wait "$work/w10w/nb.md" "$k" && watch_ms+=("$(w10_ms "$t0")")
	t0=$(date +%s%N)
	sed -i "s/^print(\"edit\", [0-9]*)/print(\"edit\", $k)/" "$work/w10r/nb.md"
	(cd "$work/w10r" && "$mdrun" -q -i --store "$work/w10r/.s" nb.md)
	render_ms+=("$(w10_ms "$t0")")
done
kill -INT -- -"$w10pid" 2>/dev/null || true
wait "$w10pid" 2>/dev/null || true
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ "${#watch_ms[@]}" = "$edits" ]; then
	wm=$(median "${watch_ms[@]}") rm_=$(median "${render_ms[@]}")
	row "W10 edit of block 20 to rendered, 20 blocks, block 1 takes 2 s" \
		"watch $wm ms" "render (replay) ${rm_} ms" "$(div "$rm_" "$wm")x faster" "" ""
else
	notes+=("W10: watch did not show every edit within 60 s.")
fi

# --- the report -------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "# Benchmark results"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) CPUs${cpu:+ ($cpu)}, $(uname -sm)."
echo "$("$mdrun" --version), $(cmark-gfm --version 2>/dev/null | head -1), $(python3 --version 2>&1) ($py)."
echo "Times are wall-clock medians of the rounds, with (min–max) in ms;"
echo "each row's command and its baseline ran in alternation in the same run."
echo
echo "| workload | mdrun | baseline | ratio | target | |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
for n in "${notes[@]+"${notes[@]}"}"; do echo; echo "$n"; done

if ! $quick && command -v valgrind >/dev/null; then
	say "callgrind: W1"
	use_store w1 # warm, as W1 is timed
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.mdrun" \
		"$mdrun" -q w1.md >/dev/null 2>&1
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.cmark" \
		cmark-gfm w1.md >/dev/null 2>&1
	total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }
	# functions FILE yes|no: the function table, library paths dropped
	functions() {
		callgrind_annotate --inclusive="$2" "$1" 2>/dev/null |
			awk '/^-+$/ { n++; next } n == 6 && !NF { exit } n == 6 { print }' |
			sed -E 's/ \[[^]]*\]$//'
	}
	a=$(total "$work/cg.mdrun") b=$(total "$work/cg.cmark")
	echo
	echo "## W1 under callgrind (instructions, repeatable on a busy machine)"
	echo
	echo "mdrun $a, cmark-gfm $b: $(div "$a" "$b")x. mdrun's top functions, self cost:"
	echo
	echo '```'
	functions "$work/cg.mdrun" no | head -15 || true
	echo '```'
	echo
	echo "Inclusive (what each costs with what it calls):"
	echo
	echo '```'
	functions "$work/cg.mdrun" yes |
		grep -E 'mdrun/|store/|util/|renderer/|git_libgit2_init|cmark_parser_finish' |
		grep -Ev 'main\.c:main|cmd_render\.c:cmd_render' | head -15 || true
	echo '```'
fi
