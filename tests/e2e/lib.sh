# Shared by the end-to-end scripts: sourced with MDRUN and SOURCE_DIR as
# $1 and $2. Sets mdrun, src, work (removed on exit) and MDRUN_STORE, and
# the reporting helpers; call finish last.
#
# One check alone: a third argument, or E2E_ONLY, is an extended regular
# expression; only checks whose name matches it are reported (a check
# given as `check NAME COMMAND` is not even run). The script still does
# the work that comes before it, which later checks build on.
#
#   tests/e2e/sessions.sh build/mdrun . 'timeout'
#   E2E_ONLY='^sh: ' ctest -R e2e_sessions --output-on-failure
#
# No matching check: the script says so and exits 77 (skipped).
mdrun=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
E2E_ONLY=${3:-${E2E_ONLY:-}}
work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-e2e.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export MDRUN_STORE="$work/store"
unset MDRUN_CRASH_AT
pass=0
fail=0
skipped=0

# path_with MODULE[,MODULE]: a PATH whose python3 imports them, the one
# first in PATH or Debian's; nothing when neither does.
path_with() {
	if python3 -c "import $1" 2>/dev/null; then
		echo "$PATH"
	elif /usr/bin/python3 -c "import $1" 2>/dev/null; then
		echo "/usr/bin:$PATH"
	fi
}
# want NAME: whether the check NAME is selected (E2E_ONLY).
want() { [ -z "$E2E_ONLY" ] || [[ $1 =~ $E2E_ONLY ]]; }
ok() { want "$1" || return 0; pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	want "$1" || return 0
	fail=$((fail + 1))
	echo "FAIL $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/     /'
	return 0
}
# skip NAME REASON: a check that cannot run here (a tool is missing).
skip() {
	want "$1" || return 0
	skipped=$((skipped + 1))
	echo "skip $1 ($2)"
}
# skip_all REASON: the whole script needs what is missing: exit 77, which
# ctest shows as skipped (SKIP_RETURN_CODE 77).
skip_all() {
	echo "skipped: $1"
	exit 77
}
# check NAME COMMAND...: runs the command, reports its status.
check() {
	local name=$1
	shift
	want "$name" || return 0
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

# region DOC BLOCK: prints the output region mdrun spliced after one block
# of the rendered Markdown DOC: the lines between <!-- mdrun:out --> and
# <!-- /mdrun:out -->, without the block's container prefix ("> ", a list
# item's indent) and without a CR before the newline. BLOCK is the block's
# name (name=, label=, #id, knitr's label, a "#| label:" line, or the
# default LANG-N) or a number N: the Nth executable block, that is a
# ```{...} fence, a region with no fence before it (echo=false) and, when
# a plain fence has a region (--all), every fence with a language. Prints
# nothing for a block without a region (it showed nothing); fails when no
# block is BLOCK.
region() {
	awk -v want="$2" '
	function strip(s) {
		sub(/\r$/, "", s)
		sub(/^[ >0-9.)*+-]*/, "", s)
		return s
	}
	function unquote(s) {
		gsub(/^"|"$/, "", s)
		return s
	}
	# A fence opened (its info string) or a region seen: one block.
	function block(info, n, i, w, body, lang, name) {
		lang = ""; name = ""
		body = info
		if (body ~ /^\{/) {
			sub(/^\{/, "", body)
			sub(/\}[ \t]*$/, "", body)
		}
		n = split(body, w, /[ ,\t]+/)
		for (i = 1; i <= n; i++) {
			if (w[i] == "")
				continue
			if (w[i] ~ /^#/)
				name = substr(w[i], 2)
			else if (w[i] ~ /^(name|label)=/)
				name = unquote(substr(w[i], index(w[i], "=") + 1))
			else if (w[i] ~ /=/)
				continue
			else if (lang == "")
				lang = w[i]
			else if (i == 2 && name == "")
				name = w[i]
		}
		sub(/^\./, "", lang)
		nblocks++
		langof[nblocks] = lang
		nameof[nblocks] = name
		exec[nblocks] = info ~ /^\{[^{]/
		plain[nblocks] = lang != "" && !exec[nblocks]
	}
	{ raw = $0; s = strip($0) }
	inregion {
		line = raw
		sub(/\r$/, "", line)
		if (index(line, prefix) == 1)
			line = substr(line, length(prefix) + 1)
		else if (index(line, tprefix) == 1)
			line = substr(line, length(tprefix) + 1)
		# A marker printed by the block is inside one of its fences.
		if (rfch != "") {
			if (match(line, "^" rfch "+[ \t]*$") && RLENGTH >= rflen)
				rfch = ""
		} else if (line == "<!-- /mdrun:out -->") {
			inregion = 0
			next
		} else if (match(line, /^(```+|~~~+)/)) {
			rfch = substr(line, 1, 1)
			rflen = RLENGTH
		}
		out[nblocks] = out[nblocks] line "\n"
		next
	}
	infence {
		if (match(s, "^" fch "+[ \t]*$") && RLENGTH >= flen) {
			infence = 0
			closed = NR
		} else if (s ~ /^#\| *(label|name): */ && nameof[nblocks] == "") {
			sub(/^#\| *(label|name): */, "", s)
			sub(/[ \t]+$/, "", s)
			nameof[nblocks] = unquote(s)
		}
		next
	}
	s == "<!-- mdrun:out -->" {
		# Right after a fence (or a fence left open at the end), the
		# region is that block'"'"'s; alone, the block was hidden.
		if (closed != NR - 1 || nblocks == 0)
			block("")
		if (plain[nblocks])
			all = 1
		exec[nblocks] = 1
		prefix = raw
		sub(/<!--.*$/, "", prefix)
		tprefix = prefix
		sub(/[ \t]+$/, "", tprefix)
		inregion = 1
		next
	}
	match(s, /^(```+|~~~+)/) {
		fch = substr(s, 1, 1) == "`" ? "`" : "~"
		flen = RLENGTH
		info = substr(s, RLENGTH + 1)
		sub(/^[ \t]+/, "", info)
		sub(/[ \t]+$/, "", info)
		block(info)
		infence = 1
		next
	}
	END {
		if (infence)
			closed = NR
		for (i = 1; i <= nblocks; i++) {
			if (!exec[i] && !(all && plain[i]))
				continue
			k++
			count[langof[i]]++
			name = nameof[i] != "" ? nameof[i] : langof[i] "-" count[langof[i]]
			if (name == want || k "" == want) {
				printf "%s", out[i]
				exit 0
			}
		}
		exit 1
	}' "$1"
}
# shows DOC BLOCK LINE...: each LINE is a whole line of the block's output
# region (see region).
shows() {
	local doc=$1 block=$2 text
	shift 2
	text=$(region "$doc" "$block") || return 1
	while [ $# -gt 0 ]; do
		grep -qxF -- "$1" <<<"$text" || return 1
		shift
	done
}
# shows_part DOC BLOCK TEXT: TEXT is somewhere in the block's output region.
shows_part() {
	local text
	text=$(region "$1" "$2") || return 1
	grep -qF -- "$3" <<<"$text"
}
# kill_at MARKER DOC FLAGS...: renders DOC in the background, kills it
# with SIGKILL 0.2 s after its block made the file MARKER (false if none
# did within 15 s), and plans DOC into $work/plan.out.
kill_at() {
	local marker=$1 doc=$2 pid i
	shift 2
	rm -f "$marker"
	"$mdrun" -q "$@" "$doc" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 300); do [ -e "$marker" ] && break; sleep 0.05; done
	sleep 0.2
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	"$mdrun" plan "$doc" >"$work/plan.out" 2>&1
	[ -e "$marker" ]
}
# planned NAME yes|no: whether that plan finds block NAME cached.
planned() { awk -v n="$1" -v c="$2" '$1 == n && $6 == c { y = 1 } END { exit !y }' "$work/plan.out"; }
finish() {
	local also=
	[ "$skipped" = 0 ] || also=", $skipped skipped"
	echo "$pass passed, $fail failed$also"
	[ "$fail" = 0 ] || return 1
	[ "$pass" = 0 ] || return 0
	if [ "$skipped" != 0 ]; then
		echo "skipped: every check needs something missing here"
	else
		echo "skipped: no check matches '$E2E_ONLY'"
	fi
	exit 77
}
