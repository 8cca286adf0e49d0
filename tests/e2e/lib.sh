# Shared by the end-to-end scripts: sourced with MDRUN and SOURCE_DIR as
# $1 and $2. Sets mdrun, src, work (removed on exit) and MDRUN_STORE, and
# the reporting helpers; call finish last.
mdrun=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-e2e.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export MDRUN_STORE="$work/store"
unset MDRUN_CRASH_AT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/     /'
	return 0
}
# check NAME COMMAND...: runs the command, reports its status.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# expect NAME [FILE...]: reports the status of the command run just before
# it, showing the files on failure. (Pass file names, not "$(cat FILE)": a
# command substitution in the arguments would reset $? before it is read.)
expect() {
	local status=$? name=$1
	shift
	if [ "$status" = 0 ]; then
		ok "$name"
	else
		bad "$name" "$([ $# -gt 0 ] && cat "$@" 2>/dev/null)"
	fi
}
same() { cmp -s "$1" "$2"; }
has() { grep -qF -- "$2" "$1"; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}
