#!/usr/bin/env bash
# A randomized differential test: a document of deterministic blocks
# (sessions, deps=, inputs=, env=, error=true, cache=false, artifacts)
# goes through random edits; after each, the render with the store kept
# from step to step must give the same bytes, artifacts and exit status as
# a render from an empty store. The document and its edits come from
# cases/differential/gen.py (its header lists the FEATURES).
#
# usage: [SEED=N] [STEPS=N] [FEATURES=LIST] differential.sh MDRUN SOURCE_DIR
#   SEED      the generator's seed (default: a random one, printed)
#   STEPS     edits after the first render (default 12: under a minute
#             on a loaded 2-core machine)
#   FEATURES  what to generate: a comma list, or +x,-y against the default
#             (see gen.py); a failing case prints the line that replays it
set -u
. "$(dirname "$0")/lib.sh"

gen="$src/tests/e2e/cases/differential/gen.py"
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
steps=${STEPS:-12}
features=${FEATURES:-default}
limit=60 # seconds a render may take: a hang is a failure
replay="SEED=$seed STEPS=$steps FEATURES=$features $0 $mdrun $src"
echo "seed $seed, $steps steps, features $features"

if ! command -v python3 >/dev/null || ! command -v timeout >/dev/null; then
	skip_all "needs python3 and timeout"
fi

doc="$work/d"
mkdir -p "$doc/data"
cd "$doc" || exit 1

# render STORE OUTDIR PATH JOBS EXTRA...: renders the document into
# OUTDIR/out.md (its artifacts into OUTDIR/out_files), under the step's
# environment; the exit status in OUTDIR/rc, standard error in OUTDIR/err.
render() {
	local store=$1 dir=$2 path=$3 jobs=$4 item
	local -a unset=() set=()
	shift 4
	while IFS= read -r -d '' item; do
		case $item in
		-*) unset+=(-u "${item#-}") ;;
		*) set+=("$item") ;;
		esac
	done <env.nul
	rm -rf "$dir"
	mkdir -p "$dir"
	env "${unset[@]}" "${set[@]}" MDRUN_STORE="$store" timeout -k 5 "$limit" \
		"$mdrun" -j "$jobs" "$@" "$path" -o "$dir/out.md" 2>"$dir/err"
	echo $? >"$dir/rc"
}

# compare STEP EDIT: the two renders agree, or one failure with the case.
compare() {
	local why="" rc
	for rc in "$work/inc/rc" "$work/new/rc"; do
		case $(cat "$rc") in
		0 | 1) ;;
		124 | 137) why="a render did not end within $limit s" ;;
		1[3-9]? | 2??) why="a render was killed by signal $(($(cat "$rc") - 128))" ;;
		*) why="a render exited $(cat "$rc")" ;;
		esac
	done
	if [ -z "$why" ] && ! same "$work/inc/rc" "$work/new/rc"; then
		why="exit status $(cat "$work/inc/rc") with the kept store, $(cat "$work/new/rc") from an empty one"
	fi
	if [ -z "$why" ] && ! same "$work/inc/out.md" "$work/new/out.md"; then
		why="the documents differ (< kept store, > empty store)"
	fi
	if [ -z "$why" ] && { [ -e "$work/inc/out_files" ] || [ -e "$work/new/out_files" ]; } &&
		! diff -r "$work/inc/out_files" "$work/new/out_files" >/dev/null 2>&1; then
		why="the artifact folders differ"
	fi
	if [ -z "$why" ] && grep -h 'printed something else' "$work/inc/err" "$work/new/err" >/dev/null; then
		why="a replayed block printed something else"
	fi
	if [ -z "$why" ] && ! timeout -k 5 "$limit" "$mdrun" store verify --store "$work/store" >"$work/verify" 2>&1; then
		why="store verify found problems in the kept store: $(tail -3 "$work/verify")"
	fi
	for name in $norun; do
		if [ -z "$why" ] && grep -q "^mdrun: ran $name (" "$work/inc/err"; then
			why="block $name ran again after a deps= reorder, which changes no key"
		fi
	done
	[ -z "$why" ] && return 0
	bad "step $1: $2" "$(
		echo "$why"
		echo "replay: $replay"
		echo "--- diff of the documents (head)"
		diff "$work/inc/out.md" "$work/new/out.md" | head -40
		diff -r "$work/inc/out_files" "$work/new/out_files" 2>&1 | head -10
		echo "--- stderr with the kept store (tail)"
		tail -5 "$work/inc/err"
		echo "--- stderr from an empty store (tail)"
		tail -5 "$work/new/err"
	)"
	return 1
}

step=0
while [ "$step" -le "$steps" ]; do
	edit="" jobs=1 jobsnew=1 rebuild=- keep=0 path=doc.md norun=""
	while read -r key value; do
		case $key in
		edit) edit=$value ;;
		jobs) jobs=$value ;;
		jobsnew) jobsnew=$value ;;
		rebuild) rebuild=$value ;;
		keep) keep=$value ;;
		path) path=$value ;;
		norun) norun=$value ;;
		esac
	done < <(timeout "$limit" python3 "$gen" "$seed" "$step" "$features" "$doc" || echo "edit GEN-FAILED")
	if [ "$edit" = GEN-FAILED ]; then
		bad "step $step: the generator failed"
		break
	fi
	opts=() more=()
	[ "$keep" = 1 ] && opts+=(-k)
	case $rebuild in
	-) ;;
	all) more+=(--rebuild) ;;
	*) more+=("--rebuild=$rebuild") ;;
	esac
	desc="$edit (-j $jobs/$jobsnew${opts[*]:+ ${opts[*]}}${more[*]:+, ${more[*]}}$([ "$path" != doc.md ] && echo ", as $path"))"
	render "$work/store" "$work/inc" "$path" "$jobs" "${opts[@]}" "${more[@]}"
	rm -rf "$work/empty"
	render "$work/empty" "$work/new" doc.md "$jobsnew" "${opts[@]}"
	compare "$step" "$desc" || break
	ok "step $step: $desc"
	step=$((step + 1))
done
finish
