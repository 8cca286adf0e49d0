# Shared by the benchmarks (sourced).

# best R PREP CMD...: the best of R runs of CMD, in microseconds; PREP (a
# command, `nothing` for none) runs before each, untimed.
best() {
	local r=$1 prep=$2 min= t0 t1 us
	shift 2
	for _ in $(seq 1 "$r"); do
		$prep
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		us=$(((t1 - t0) / 1000))
		if [ -z "$min" ] || [ "$us" -lt "$min" ]; then min=$us; fi
	done
	echo "$min"
}
nothing() { :; }
# cold: no realization in the store (interpreter versions stay memoized)
fresh() { rm -rf "$MDRUN_STORE/store" "$MDRUN_STORE/roots"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
