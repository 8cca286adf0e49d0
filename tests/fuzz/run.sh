#!/usr/bin/env bash
# Builds the libFuzzer targets in a clang build of their own and runs each
# for a while. usage: tests/fuzz/run.sh [TARGET...]
#
#   TARGET         fuzz_info, fuzz_render, fuzz_store, fuzz_config, fuzz_key,
#                  fuzz_sanitize, fuzz_outputs (default: all of them)
#   FUZZ_SECONDS   how long each target runs (default 60)
#   FUZZ_BUILD     the build folder (default build-fuzz)
#   FUZZ_CC        the compiler (default clang; libFuzzer needs clang)
#   FUZZ_ARGS      more libFuzzer options, e.g. "-jobs=4 -workers=4"
#
# Every library is compiled with -fsanitize=fuzzer-no-link,address,undefined
# so the fuzzers see their coverage and any memory error, leak or undefined
# behaviour stops the run. Each target starts from a scratch copy of
# tests/fuzz/corpus/TARGET (the committed seeds stay as they are) and its
# dictionary tests/fuzz/TARGET.dict. What a target finds is kept in
# FUZZ_BUILD/fuzz/TARGET/findings/, its output in FUZZ_BUILD/fuzz/TARGET.log.
# Exit status: 0 nothing found, 1 a target found something, 2 build error.
set -u
cd "$(dirname "$0")/../.." || exit 2
src=$PWD
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
cc=${FUZZ_CC:-clang}
all="fuzz_info fuzz_render fuzz_store fuzz_config fuzz_key"
all="$all fuzz_sanitize fuzz_outputs"
targets=${*:-$all}

for t in $targets; do
	case " $all " in
	*" $t "*) ;;
	*) echo "fuzz: unknown target '$t' (one of: $all)" >&2; exit 2 ;;
	esac
done
case $seconds in
'' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null || {
	echo "fuzz: $cc not found: apt-get install clang libclang-rt-14-dev" >&2
	exit 2
}

# A folder configured with another compiler keeps it: refuse, do not mix.
cache=$build/CMakeCache.txt
if [ -f "$cache" ] && ! grep -q '^CMAKE_C_COMPILER:.*clang' "$cache"; then
	echo "fuzz: $build was configured with another compiler; remove it" >&2
	exit 2
fi
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
flags="$flags -fno-omit-frame-pointer"
mkdir -p "$build"
CC=$cc cmake -S . -B "$build" -DMDRUN_FUZZ=ON -DMDRUN_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="$flags" \
	>"$build/configure.log" 2>&1 || {
	cat "$build/configure.log" >&2
	exit 2
}
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
	--target $targets >"$build/build.log" 2>&1 || {
	cat "$build/build.log" >&2
	exit 2
}

# The targets write their files in a tmpfs when there is one; whatever a
# crashed target could not remove goes with this folder.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	scratch=$(mktemp -d /dev/shm/mdrun-fuzz.XXXXXX)
else
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-fuzz.XXXXXX")
fi
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
export TMPDIR=$scratch
export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
printf '%-12s %12s %8s  %s\n' target executions seconds result
for t in $targets; do
	out=$build/fuzz/$t
	log=$build/fuzz/$t.log
	rm -rf "$out/corpus"
	mkdir -p "$out/corpus" "$out/findings"
	cp -R "$src/tests/fuzz/corpus/$t/." "$out/corpus/"
	dict=
	[ -f "$src/tests/fuzz/$t.dict" ] && dict="-dict=$src/tests/fuzz/$t.dict"
	start=$SECONDS
	# shellcheck disable=SC2086 # FUZZ_ARGS and dict are word lists
	"$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/findings/" $dict ${FUZZ_ARGS:-} \
		"$out/corpus" >"$log" 2>&1
	code=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' \
		"$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' \
		"$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\)[^0-9].*/\1/p' \
		"$log" | tail -n 1)
	took=$((SECONDS - start))
	found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
	if [ "$code" = 0 ] && [ -z "$found" ]; then
		printf '%-12s %12s %8s  %s\n' "$t" "${runs:-?}" "$took" \
			"nothing found"
		continue
	fi
	status=1
	what=$(grep -m 1 -E 'ERROR: |runtime error:|invariant broken' "$log")
	printf '%-12s %12s %8s  %s\n' "$t" "${runs:-?}" "$took" \
		"FOUND (exit $code): ${what:-see the log}"
	for f in $found; do
		echo "    input: $f"
		echo "    again: $build/tests/fuzz/$t $f"
	done
	echo "    log:   $log"
done
exit $status
