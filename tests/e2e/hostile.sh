#!/usr/bin/env bash
# End-to-end tests of mdrun against hostile input: documents built to
# exhaust the parser, programs whose output could break the document it
# lands in, blocks that leave links, fifos and devices in MDRUN_OUT, and
# output that could run in the HTML report. The inputs are in tests/bad/;
# the large documents are written there by gen.py at test time.
# usage: hostile.sh MDRUN SOURCE_DIR
#
# Time and memory are measured by tests/bad/limits.py: wall-clock time
# under a limit, and the peak resident set of mdrun (or of anything it
# waited for). The structure of a rendered document is what cmark-gfm
# parses from it (tests/bad/shape.py).
set -u
. "$(dirname "$0")/lib.sh"

inputs=$src/tests/bad
# verdict STATUS NAME DETAIL: expect, showing DETAIL on failure. Pass $?
# first: a command substitution among the arguments would reset it.
verdict() { if [ "$1" = 0 ]; then ok "$2"; else bad "$2" "$3"; fi; }

# The sanitizers' shadow memory and quarantine make a build with
# AddressSanitizer bigger and slower: its bounds are looser.
asan=
grep -q __asan_init "$mdrun" 2>/dev/null && asan=1
# Without cmark-gfm the structure of rendered documents and the memory
# bounds are not checked: those checks say skipped.
shaping=1
command -v cmark-gfm >/dev/null 2>&1 || shaping=
nocmark="cmark-gfm is not installed: apt-get install cmark-gfm"
# Checks that read the store's database use the sqlite3 CLI.
have_sqlite=
command -v sqlite3 >/dev/null && have_sqlite=1
no_sqlite="the sqlite3 command is not installed"

# measure SECONDS COMMAND...: runs COMMAND (its streams as redirected)
# under tests/bad/limits.py; sets m_exit, m_signal, m_timeout, m_seconds
# and m_rss (KiB).
measure() {
	local limit=$1
	shift
	m_exit=-1 m_signal=0 m_timeout=0 m_seconds=0 m_rss=0
	python3 "$inputs/limits.py" "$limit" "$work/limits" "$@"
	. "$work/limits"
}
mib() { echo $((($1 + 1023) / 1024)); }
# shape FILE: its block structure (tests/bad/shape.py), after a line for
# each kind of byte that should not be in a rendered document.
shape() { python3 "$inputs/shape.py" "$1" 2>&1; }
# one_line FILE: the file is a single line that starts with "mdrun: ".
one_line() { [ "$(wc -l <"$1")" = 1 ] && grep -q '^mdrun: ' "$1"; }
# rerender FILE [OPTION...]: renders FILE onto itself (-o, so its code
# stays) and says whether that changed a byte; FILE.err says how.
rerender() {
	cp "$1" "$1.before"
	"$mdrun" -q "$@" -o "$1" 2>"$1.err" || return 1
	same "$1" "$1.before" && return 0
	diff "$1.before" "$1" | head -c 2000 >>"$1.err"
	return 1
}

# --- hostile documents: no crash, bounded time and memory ---------------
# A document of each kind in tests/bad/gen.py is rendered under a time
# limit; mdrun must end by itself (status 0, or 2 with one line) within
# it, and its peak memory stays within a bound set by cmark-gfm's own on
# the same file (mdrun must parse with it): 5/4 of it plus 64 MiB (with
# AddressSanitizer, 3 times plus 512 MiB).
docs=$work/docs
mkdir -p "$docs"
cd "$docs" || exit 1
export MDRUN_STORE="$work/docs-store"
limit=20
# limits KIND WANT: the checks every hostile document gets, after its
# measure. WANT is the expected exit status.
limits() {
	local kind=$1 want=$2 cm=0 bound
	if [ -n "$shaping" ] && [ "$kind" != emlinks ]; then
		measure "$limit" sh -c 'exec cmark-gfm "$1" >/dev/null' sh \
			"$kind.md" 2>/dev/null
		cm=$m_rss
		. "$work/limits.mdrun"
	fi
	if [ "$cm" = 0 ]; then
		bound= # nothing to compare with
	elif [ -n "$asan" ]; then
		bound=$((cm * 3 + 512 * 1024))
	else
		bound=$((cm * 5 / 4 + 64 * 1024))
	fi
	[ "$m_signal" = 0 ] && [ "$m_timeout" = 0 ]
	verdict $? "$kind.md: mdrun ends by itself in ${m_seconds} s (limit $limit s)" \
		"signal $m_signal, timed out: $m_timeout"
	[ "$m_exit" = "$want" ]
	verdict $? "$kind.md: exit $want" "exit $m_exit: $(head -c 600 "$kind.err")"
	if [ -z "$bound" ]; then
		skip "$kind.md: peak RSS within cmark-gfm's" "$nocmark"
		return
	fi
	[ "$m_rss" -le "$bound" ]
	verdict $? "$kind.md: peak RSS $(mib "$m_rss") MiB (bound $(mib "$bound") MiB; cmark-gfm alone $(mib "$cm") MiB)" \
		"over the bound"
}
# render KIND [OPTION...]: generates KIND.md and renders it to KIND.out.
render() {
	local kind=$1
	shift
	python3 "$inputs/gen.py" "$kind" "$kind.md"
	measure "$limit" "$mdrun" -q "$@" "$kind.md" -o "$kind.out" \
		2>"$kind.err"
	cp "$work/limits" "$work/limits.mdrun"
}

# Documents with nothing to run come back byte for byte.
for kind in random blocks info; do
	render $kind
	limits $kind 0
	same "$kind.md" "$kind.out"
	expect "$kind.md: comes back byte for byte"
done

# Blocks deep in containers run, and their region carries the prefix.
qp=$(printf '> %.0s' $(seq 20000))
lp=$(printf '  %.0s' $(seq 5000))
for kind in quotes lists; do
	render $kind
	limits $kind 0
	pfx=$qp
	[ $kind = lists ] && pfx=$lp
	grep -qxF -- "${pfx}bottom" $kind.out &&
		grep -qxF -- "${pfx}<!-- /mdrun:out -->" $kind.out
	verdict $? "$kind.md: the block at the bottom ran, its region inside the containers" \
		"$(tail -c 300 $kind.out)"
	rerender $kind.out
	expect "$kind.md: rendering the result again changes nothing" $kind.out.err
done

# One line of 10 MB: the prose before the block is left as it is.
render longline
limits longline 0
cmp -s -n "$(wc -c <longline.md)" longline.md longline.out &&
	shows longline.out sh-1 bottom
expect "longline.md: the 10 MB line is intact, the block after it ran"
rerender longline.out
expect "longline.md: rendering the result again changes nothing" longline.out.err

# A 1 MB info string: an unknown option, one line naming where it is.
render infoopt
limits infoopt 2
one_line infoopt.err && grep -q "^mdrun: infoopt.md:1:8: unknown option 'kkk" infoopt.err &&
	[ ! -e infoopt.out ]
verdict $? "infoopt.md: one line names FILE:LINE:COL ($(wc -c <infoopt.err) bytes), nothing written" \
	"$(head -c 300 infoopt.err)"

# A 1 MB block name: refused in one line, or the block runs as any other.
render infoname
{ [ "$m_exit" = 0 ] && grep -qx ran infoname.out; } ||
	{ [ "$m_exit" = 2 ] && one_line infoname.err &&
		[ "$(wc -c <infoname.err)" -le 1100 ]; }
verdict $? "infoname.md: a 1 MB name is refused in one line, or its block runs (exit $m_exit)" \
	"$(head -c 300 infoname.err; grep -v nnnnnnnn infoname.out 2>/dev/null | head)"

# Markdown tokens in a random order, every block run as cat of its code
# (tests/bad/cat.json): what the blocks print is the soup again.
render soup --config "$inputs/cat.json"
limits soup 0
rerender soup.out --config "$inputs/cat.json"
expect "soup.md: rendering the result again changes nothing" soup.out.err

# 5,000 executable blocks: one sh session, then all cached, then planned.
python3 "$inputs/gen.py" execs execs.md
measure 60 "$mdrun" -q execs.md -o execs.out 2>execs.err
{ [ "$m_exit" = 0 ] && [ "$(grep -c '^<!-- mdrun:out -->$' execs.out)" = 5000 ] &&
	shows execs.out sh-5000 4999; }
verdict $? "execs.md: 5,000 blocks run in one session in ${m_seconds} s, peak RSS $(mib "$m_rss") MiB" \
	"exit $m_exit, timed out: $m_timeout: $(head -c 600 execs.err)"
measure 30 "$mdrun" execs.md -o execs.again 2>execs.err
{ [ "$m_exit" = 0 ] && has execs.err "5000 blocks: 0 ran, 5000 cached" &&
	same execs.out execs.again; }
verdict $? "execs.md: rendered again, all 5,000 cached in ${m_seconds} s" \
	"$(tail -3 execs.err)"
measure 30 sh -c 'exec "$1" plan execs.md >execs.plan' sh "$mdrun" \
	2>execs.err
{ [ "$m_exit" = 0 ] && [ "$(grep -c ' yes *$' execs.plan)" = 5000 ]; }
verdict $? "execs.md: mdrun plan lists 5,000 cached stages in ${m_seconds} s" \
	"$(head -c 600 execs.err)"

# Emphasis between links, 512 KB of it on one line: cmark-gfm's inline
# parser (0.29.0.gfm.6) is super-linear on it (about a minute), so mdrun
# stops parsing after MDRUN_PARSE_SECONDS with one line, exit 2.
limit=10
MDRUN_PARSE_SECONDS=2 render emlinks
{ [ "$m_timeout" = 0 ] && [ "$m_signal" = 0 ] && [ "$m_exit" = 2 ] &&
	one_line emlinks.err && has emlinks.err "emlinks.md: parsing its Markdown took more than 2 s" &&
	[ ! -e emlinks.out ]; }
verdict $? "emlinks.md: a parse past its time limit stops with one line, exit 2, nothing written (${m_seconds} s)" \
	"timed out: $m_timeout, exit $m_exit; $(head -c 300 emlinks.err)"

# --- hostile output: the document stays well-formed ----------------------
out=$work/output
mkdir -p "$out"
cd "$out" || exit 1
export MDRUN_STORE="$work/output-store"
cp "$inputs/output.md" output.md
"$mdrun" -q output.md -o doc.md 2>err
expect "output.md renders" err
if [ -n "$shaping" ]; then
	shape doc.md >doc.shape
	same doc.shape "$inputs/output.shape"
	verdict $? "output.md: NULs, bad UTF-8, ANSI, markers and 20 backticks leave the structure intact (cmark-gfm)" \
		"$(diff "$inputs/output.shape" doc.shape | head -20)"
else
	skip "output.md: NULs, bad UTF-8, ANSI, markers and 20 backticks leave the structure intact (cmark-gfm)" \
		"$nocmark"
fi
for line in 'red plain charset' 'osc link done' 'kept after osc' \
	'kept after csi' 'kept after esc'; do
	shows doc.md ansi "$line"
	expect "output.md: escape sequences removed, the text around them kept: '$line'"
done
rerender doc.md
expect "output.md: rendering the result again gives the same bytes" doc.md.err
"$mdrun" check doc.md >check.out 2>&1
expect "output.md: mdrun check passes on the result" check.out
if [ -n "$have_sqlite" ]; then
	key=$("$mdrun" store show output.md#nul | sed -n 's/^key: //p')
	[ "$(sqlite3 "$MDRUN_STORE/store.db" "SELECT hex(stdout) FROM real WHERE key = '$key'")" = 6100620000630A ]
	expect "output.md: the store keeps the raw bytes (the NULs)"
else
	skip "output.md: the store keeps the raw bytes (the NULs)" "$no_sqlite"
fi
"$mdrun" render -q --to json output.md -o doc.json 2>err &&
	python3 -c 'import json, sys
b = {x["name"]: x for x in json.load(open(sys.argv[1]))["blocks"]}
assert "stdout_base64" in b["nul"] and "\u2400" in b["nul"]["stdout"]' doc.json
expect "output.md: the JSON report is valid JSON, the NULs in base64" err
"$mdrun" render -q --to ipynb output.md -o doc.ipynb 2>err &&
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' doc.ipynb
expect "output.md: the notebook is valid JSON" err

# 50 MiB from each block: cut at the cap, in a bounded process.
cp "$inputs/big.md" big.md
measure 60 "$mdrun" -q big.md -o big.out 2>big.err
[ "$m_exit" = 0 ] && [ "$m_timeout" = 0 ]
verdict $? "big.md: three blocks printing 50 MiB each render in ${m_seconds} s" \
	"exit $m_exit: $(head -c 600 big.err)"
[ "$m_rss" -lt $((100 * 1024)) ]
verdict $? "big.md: mdrun's peak RSS is $(mib "$m_rss") MiB, under 100 MiB" \
	"over 100 MiB"
{ [ "$(grep -cx '\[mdrun: output cut at 1048576 bytes\]' big.out)" = 4 ] &&
	[ "$(wc -c <big.out)" -lt $((5 * 1024 * 1024)) ] &&
	! grep -qx tail-marker big.out; }
verdict $? "big.md: each of the four streams is cut at 1 MiB ($(wc -c <big.out) bytes)" \
	"$(grep -n 'mdrun: output cut' big.out)"
if [ -n "$shaping" ]; then
	[ "$(shape big.out | tail -1)" = "para After big." ]
	expect "big.md: the prose after the blocks is still prose"
else
	skip "big.md: the prose after the blocks is still prose" "$nocmark"
fi

# --- MDRUN_OUT: links, odd names, hard links, fifos, devices ---------------
# What a block leaves in MDRUN_OUT is moved into the store (links kept as
# links, never followed); regular files are copied beside the output.
# Nothing outside the realization may be read, copied or changed.
arts=$work/artifacts
mkdir -p "$arts/private"
cd "$arts" || exit 1
export MDRUN_STORE="$work/artifacts-store"
secret="secret-$RANDOM-$RANDOM-outside-the-realization"
echo "$secret" >secret.txt
echo "$secret" >private/inside.txt
chmod 644 secret.txt private/inside.txt
chmod 755 private
cp "$inputs/links.md" links.md
"$mdrun" -q links.md -o links.out.md 2>err
expect "links.md renders" err
"$mdrun" -q --to html links.md -o links.html 2>/dev/null
"$mdrun" -q --to json links.md -o links.json 2>/dev/null
object=$("$mdrun" store path links.md#links)
[ "$(find "$object" -type l | wc -l)" = 6 ] &&
	[ "$(readlink "$object/absolute.txt")" = "$arts/secret.txt" ]
verdict $? "links: the six links are kept as links in the store" \
	"$(ls -lR "$object")"
! grep -rqF -- "$secret" "$MDRUN_STORE" links.out.md links.out_files \
	links.html links.json &&
	! grep -qF -- "$(base64 -w0 secret.txt)" links.html
expect "links: what they point at is in neither the store, the document, FILE_files/ nor the reports"
[ "$(ls links.out_files | wc -l)" = 1 ] &&
	grep -q '^\[plain.txt\](links.out_files/[0-9a-f]*\.txt)$' links.out.md
verdict $? "links: only the regular file is copied beside the output" \
	"$(ls -la links.out_files)"
[ "$(stat -c %a secret.txt private private/inside.txt)" = "$(printf '644\n755\n644')" ]
verdict $? "links: their targets keep their modes (read-only is not applied through a link)" \
	"$(stat -c '%a %n' secret.txt private private/inside.txt)"
"$mdrun" store verify >verify.out 2>&1
expect "links: mdrun store verify passes" verify.out

# MDRUN_OUT itself replaced by a link to a folder outside, then by a file.
cp "$inputs/swap.md" swap.md
"$mdrun" -q swap.md -o swap.out.md 2>err
expect "swap.md renders" err
"$mdrun" -q --to html swap.md -o swap.html 2>/dev/null
! grep -rqF -- "$secret" "$MDRUN_STORE" swap.out.md swap.html &&
	! grep -rqF -- "$secret" swap.out_files 2>/dev/null
expect "swap: the folder MDRUN_OUT was linked to is not copied into FILE_files/, the store or the report"
[ -d "$MDRUN_STORE/objects" ] && [ -z "$(find "$MDRUN_STORE/objects" -maxdepth 1 -type l)" ]
verdict $? "swap: no object (objects/RHASH) is a link out of the store" \
	"$(find "$MDRUN_STORE/objects" -maxdepth 1 -type l -exec ls -l {} \;)"
grep -q '^\[next.txt\](swap.out_files/' swap.out.md && [ ! -e private/next.txt ]
expect "swap: the next block gets a folder of its own, not the link"
cp "$inputs/tofile.md" tofile.md
"$mdrun" -q tofile.md -o tofile.out.md 2>err && shows tofile.out.md tofile replaced
expect "tofile: a block that replaced MDRUN_OUT with a file renders" err

# Names that look like paths, options or Markdown.
mkdir -p "$work/names"
cd "$work/names" || exit 1
cp "$inputs/names.md" names.md
"$mdrun" -q names.md -o names.out.md 2>err
expect "names.md renders" err
[ "$(ls names.out_files | wc -l)" = 9 ] &&
	[ "$(LC_ALL=C ls -A | tr '\n' ' ')" = "err names.md names.out.md names.out_files " ]
verdict $? "names: '...', '..png', '-rf', '...d/..q.txt' and the rest are copied under content names, nothing lands elsewhere" \
	"$(ls -A; ls -A names.out_files)"
# One link a file, its text the file's name; the hrefs, content names,
# are written (FILE).
links='(FILE)'
if [ -n "$shaping" ]; then
	shape names.out.md |
		sed 's/(names\.out_files\/[0-9a-f]\{16\}[.a-z]*)/(FILE)/g' \
			>names.shape
	printf '%s\n' 'heading Odd names in MDRUN_OUT' list '  item' \
		'    code {sh name=names}' '    html <!-- mdrun:out -->' \
		'    code output' \
		"    para [ .txt]$links [*star* _u_ \`tick\` <tag> &.txt]$links [-rf]$links [...]$links [...d/..q.txt]$links ![..png]$links [back\\slash.txt]$links [br](javascript:alert(1)) [x.txt]$links [q\"uo'te.txt]$links" \
		'    html <!-- /mdrun:out -->' \
		'    para After names, still in the item.' 'para The end.' |
		diff - names.shape >names.diff
	expect "names: one link each, named as the file is, in the region, in the list item" \
		names.diff
else
	skip "names: one link each, named as the file is, in the region, in the list item" \
		"$nocmark"
fi
rerender names.out.md
expect "names: rendering the result again gives the same bytes" names.out.md.err

# A line break in a file name must not end the link's line.
cp "$inputs/badnames.md" badnames.md
"$mdrun" -q badnames.md -o badnames.out.md 2>err
expect "badnames.md renders" err
if [ -n "$shaping" ]; then
	shape badnames.out.md >badnames.shape
	printf '%s\n' \
		'heading Names with line breaks, control bytes and entities' \
		block_quote '  code {sh name=badnames}' \
		'  html <!-- mdrun:out -->' '  code output' '  para [' \
		'  html <!-- /mdrun:out -->' \
		'  para After badnames, still in the quote.' 'para The end.' |
		diff - <(sed 's/^\(  para \[\).*/\1/' badnames.shape) \
			>badnames.diff
	expect "badnames: names with line breaks, control bytes and bad UTF-8 stay in their region, valid text, in the quote" \
		badnames.diff
	grep -qF '[x &amp; y.txt](' badnames.shape
	verdict $? "badnames: 'x &amp; y.txt' is named as it is (no entity decoded)" \
		"$(grep -F 'y.txt' badnames.shape)"
else
	skip "badnames: names with line breaks, control bytes and bad UTF-8 stay in their region" \
		"$nocmark"
fi
rerender badnames.out.md
expect "badnames: rendering the result again gives the same bytes" \
	badnames.out.md.err

# A hard link shares its inode with a file outside the realization.
mkdir -p "$work/hard"
cd "$work/hard" || exit 1
export MDRUN_STORE="$work/hard-store"
cp "$inputs/hardlink.md" hardlink.md
echo original >data.csv
chmod 644 data.csv
"$mdrun" -q hardlink.md -o hardlink.out.md 2>err
expect "hardlink.md renders" err
[ "$(stat -c %a data.csv)" = 644 ]
verdict $? "hard link: the linked file outside keeps its mode" \
	"$(stat -c '%a %h %n' data.csv)"
chmod u+w data.csv && echo edited >>data.csv
"$mdrun" store verify >verify.out 2>&1
expect "hard link: editing the file outside leaves the store intact (store verify)" \
	verify.out

# Fifos, sockets and devices: no hang, one line, the store consistent.
mkdir -p "$work/special"
cd "$work/special" || exit 1
export MDRUN_STORE="$work/special-store"
for kind in fifo socket device; do
	cp "$inputs/$kind.md" $kind.md
	measure 20 "$mdrun" -q $kind.md -o $kind.out.md 2>$kind.err
	if [ $kind = device ] && [ -f $kind.out.md ] &&
		shows $kind.out.md device "cannot mknod"; then
		skip "device: the block is refused in one line" \
			"mknod is not permitted here"
		continue
	fi
	{ [ "$m_timeout" = 0 ] && [ "$m_signal" = 0 ]; }
	verdict $? "$kind: mdrun ends by itself (${m_seconds} s), exit $m_exit" \
		"timed out: $m_timeout, signal $m_signal"
	{ [ "$m_exit" = 1 ] || [ "$m_exit" = 2 ]; } && one_line $kind.err
	verdict $? "$kind: the block is refused in one line" \
		"exit $m_exit: $(cat $kind.err)"
	grep -q "^mdrun: $kind.md:[0-9]" $kind.err
	verdict $? "$kind: the message names the document and the block's line" \
		"$(cat $kind.err)"
	[ -z "$(ls -A "$MDRUN_STORE/tmp" 2>/dev/null)" ]
	verdict $? "$kind: nothing is left in the store's tmp/" \
		"$(ls -lA "$MDRUN_STORE/tmp")"
	"$mdrun" store verify >verify.out 2>&1
	expect "$kind: mdrun store verify passes" verify.out
done

# --- a hostile store: objects and store.db swapped, deep trees -------------
# An object (objects/RHASH, a realization's artifacts) swapped for a link
# or holding a fifo, or a file of it swapped for a link to /dev/zero or a
# fifo: never followed out of the store, never a read without end or a
# wait for a writer, never a crash; store verify names the realization.
# Everything runs under a timeout and, except under AddressSanitizer
# (whose shadow memory needs more), in 1 GiB of address space: a read
# without end fails fast.
mkdir -p "$work/tamper"
cd "$work/tamper" || exit 1
export MDRUN_STORE="$work/tamper-store"
printf '```{sh name=t}\necho kept; mkdir -p "$MDRUN_OUT/d"; echo art >"$MDRUN_OUT/d/a.txt"\n```\n' >t.md
"$mdrun" -q t.md -o t.out.md 2>err
expect "tamper: t.md renders" err
object=$("$mdrun" store path t.md#t)
real=$("$mdrun" store show t.md#t | sed -n 's/^key: //p')/$(basename "$object")
bounded() {
	if [ -n "$asan" ]; then
		timeout 20 "$@"
	else
		(ulimit -v 1048576 && timeout 20 "$@")
	fi
}
# A folder outside the store, shaped as the object, that a link may
# point at: what it holds must reach neither the output nor its files.
outside=$work/outside
marker="outside-$RANDOM-$RANDOM"
mkdir -p "$outside/d"
echo "$marker" >"$outside/d/a.txt"
# swap PATH KIND: replaces PATH (in the object) with a link to /dev/zero
# (zero), a link to $outside (outside) or a fifo (fifo); restore puts
# the original back.
swap() {
	chmod u+w "$(dirname "$1")"
	mv "$1" "$work/tamper.saved"
	case $2 in
	zero) ln -s /dev/zero "$1" ;;
	outside) ln -s "$outside" "$1" ;;
	fifo) mkfifo "$1" ;;
	esac
}
restore() {
	rm -f "$1"
	mv "$work/tamper.saved" "$1"
}
for kind in zero outside; do
	what="tamper: objects/RHASH swapped for a link to ${kind/zero//dev/zero}"
	swap "$object" $kind
	rm -rf t.again.md t.again_files
	bounded "$mdrun" t.md -o t.again.md 2>err
	code=$?
	{ { [ $code = 0 ] || [ $code = 2 ]; } && has err "$object" &&
		! grep -rqF -- "$marker" err t.again.md t.again_files 2>/dev/null; }
	verdict $? "$what: render ends by itself, names it, follows it nowhere (exit $code)" \
		"$(head -c 400 err)"
	bounded "$mdrun" store verify >verify.out 2>&1
	code=$?
	{ [ $code = 1 ] && grep -qxF "$real: its files ($object) are not a folder" verify.out; }
	verdict $? "$what: store verify names it, exit 1" \
		"exit $code: $(head -c 400 verify.out)"
	bounded "$mdrun" store ls >ls.out 2>&1
	code=$?
	{ [ $code = 0 ] && has ls.out "1 run, 1 realization"; }
	verdict $? "$what: store ls lists the key" \
		"exit $code: $(head -c 400 ls.out)"
	bounded "$mdrun" store show t.md#t >show.out 2>&1
	code=$?
	[ $code = 0 ]
	verdict $? "$what: store show ends by itself" \
		"exit $code: $(head -c 400 show.out)"
	restore "$object"
done
for kind in zero fifo; do
	what="tamper: a file of objects/RHASH swapped for a ${kind/zero/link to /dev/zero}"
	swap "$object/d/a.txt" $kind
	bounded "$mdrun" store verify >verify.out 2>&1
	code=$?
	# A link in an object is hashed as a link (a block may make one).
	{ [ $code = 1 ] && grep -q "^$real: " verify.out; }
	verdict $? "$what: store verify names the realization, exit 1" \
		"exit $code: $(head -c 400 verify.out)"
	bounded "$mdrun" t.md -o t.again.md 2>err
	code=$?
	{ [ $code = 0 ] || [ $code = 2 ]; }
	verdict $? "$what: render ends by itself (exit $code)" "$(head -c 400 err)"
	restore "$object/d/a.txt"
done
chmod u+w "$object"
mkfifo "$object/fifo"
bounded "$mdrun" store verify >verify.out 2>&1
code=$?
{ [ $code = 1 ] && grep -qxF "$real: $object/fifo: not a file, folder or link" verify.out; }
verdict $? "tamper: a fifo in objects/RHASH: store verify names it, exit 1" \
	"exit $code: $(head -c 400 verify.out)"
bounded "$mdrun" t.md -o t.again.md 2>err
code=$?
{ [ $code = 0 ] || [ $code = 2 ]; }
verdict $? "tamper: a fifo in objects/RHASH: render ends by itself (exit $code)" "$(head -c 400 err)"
rm -f "$object/fifo"
chmod a-w "$object"
"$mdrun" store verify >verify.out 2>&1
expect "tamper: restored, the store verifies clean" verify.out
# An interpreter's identity (table memo) of the wrong type: a cache miss,
# the interpreter probed again and its identity written anew.
if [ -n "$have_sqlite" ]; then
	sqlite3 "$MDRUN_STORE/store.db" "SELECT name, typeof(value), value FROM memo" >memo.before
	sqlite3 "$MDRUN_STORE/store.db" "UPDATE memo SET value = 5"
	bounded "$mdrun" -q t.md -o t.again.md 2>err
	code=$?
	sqlite3 "$MDRUN_STORE/store.db" "SELECT name, typeof(value), value FROM memo" >memo.after
	{ [ $code = 0 ] && shows t.again.md t kept && [ -s memo.before ] && same memo.before memo.after; }
	verdict $? "tamper: an identity of the wrong type in table memo is probed again and written anew (exit $code)" \
		"$(head -c 300 err; cat memo.before memo.after)"
else
	skip "tamper: an identity of the wrong type in table memo is probed again and written anew" "$no_sqlite"
fi

# store.db that is not a database of this store: each command that opens
# it (render, store verify, store ls, gc) stops in one line naming it,
# exit 2, never waiting on a fifo nor reading /dev/zero without end, and
# leaves the file as it was.
cp "$MDRUN_STORE/store.db" "$work/good.db"
for kind in link fifo zero random truncated foreign foreign-run foreign-version; do
	db=$work/db-$kind/store.db
	rm -rf "$work/db-$kind"
	MDRUN_STORE=$work/db-$kind "$mdrun" -q t.md >/dev/null 2>&1
	size=$(stat -c %s "$db")
	rm -f "$db" "$db-wal" "$db-shm"
	case $kind in
	link) what="a link to a good database"; ln -s "$work/good.db" "$db" ;;
	fifo) what="a fifo"; mkfifo "$db" ;;
	zero) what="a link to /dev/zero"; ln -s /dev/zero "$db" ;;
	random) what="random bytes"; head -c 65536 /dev/urandom >"$db" ;;
	truncated)
		what="a truncated database"
		head -c $((size / 2)) "$work/good.db" >"$db" ;;
	foreign)
		what="another program's database"
		if [ -z "$have_sqlite" ]; then
			skip "store.db, $what: each command stops in one line naming it, exit 2" "$no_sqlite"
			skip "store.db, $what: left as it was" "$no_sqlite"
			continue
		fi
		sqlite3 "$db" "CREATE TABLE places (id INTEGER PRIMARY KEY, url TEXT);
			INSERT INTO places VALUES (1, 'https://example.org/')" ;;
	foreign-run)
		what="another program's database with a table named run"
		if [ -z "$have_sqlite" ]; then
			skip "store.db, $what: each command stops in one line naming it, exit 2" "$no_sqlite"
			skip "store.db, $what: left as it was" "$no_sqlite"
			continue
		fi
		sqlite3 "$db" "CREATE TABLE run (id INTEGER PRIMARY KEY, lap REAL);
			INSERT INTO run VALUES (1, 61.5)" ;;
	foreign-version)
		what="another program's database that sets user_version"
		if [ -z "$have_sqlite" ]; then
			skip "store.db, $what: each command stops in one line naming it, exit 2" "$no_sqlite"
			skip "store.db, $what: left as it was" "$no_sqlite"
			continue
		fi
		sqlite3 "$db" "CREATE TABLE places (id INTEGER PRIMARY KEY, url TEXT);
			PRAGMA user_version = 7" ;;
	esac
	# The file (or what the link names) as it was, to compare after.
	[ -f "$db" ] && cp "$db" "$work/db.before"
	failures=
	for cmd in render "store verify" "store ls" gc; do
		if [ "$cmd" = render ]; then
			MDRUN_STORE=$work/db-$kind bounded "$mdrun" -q t.md -o db.out.md >out 2>err
		else
			MDRUN_STORE=$work/db-$kind bounded "$mdrun" $cmd >out 2>err
		fi
		code=$?
		{ [ $code = 2 ] && one_line err && has err "$db: "; } ||
			failures="$failures$cmd: exit $code: $(head -c 300 err)"$'\n'
	done
	[ -z "$failures" ]
	verdict $? "store.db, $what: each command stops in one line naming it, exit 2" "$failures"
	case $kind in
	fifo) [ -p "$db" ] ;;
	zero) [ "$(readlink "$db")" = /dev/zero ] ;;
	link) [ "$(readlink "$db")" = "$work/good.db" ] && same "$work/good.db" "$work/db.before" ;;
	*) same "$db" "$work/db.before" ;;
	esac
	verdict $? "store.db, $what: left as it was" \
		"$( [ -n "$have_sqlite" ] && [ -f "$db" ] && sqlite3 "$db" .tables 2>&1 | head -c 300)"
done

# A block that nests folders 5,000 deep in MDRUN_OUT (past PATH_MAX): the
# render commits it or refuses it in one short line, and either way
# leaves nothing in tmp/; a tree that deep a dead process left in tmp/
# is swept.
mkdir -p "$work/deep"
cd "$work/deep" || exit 1
export MDRUN_STORE="$work/deep-store"
for runner in session none; do
	printf '```{python name=deep session=%s}\nimport os\nos.chdir(os.environ["MDRUN_OUT"])\nfor i in range(5000):\n    os.mkdir("d"); os.chdir("d")\nopen("f", "w").write("x")\nprint("nested")\n```\n' \
		$runner >deep.md
	timeout 120 "$mdrun" -q deep.md -o deep.out.md 2>err
	code=$?
	{ [ $code = 0 ] && shows deep.out.md deep nested; } ||
		{ [ $code = 2 ] && one_line err && [ "$(wc -c <err)" -lt 200 ] &&
			grep -q '^mdrun: deep.md:1:1: ' err; }
	verdict $? "deep (session=$runner): 5,000 nested folders commit, or fail in one line under 200 bytes (exit $code, $(wc -c <err) bytes)" \
		"$(head -c 300 err)"
	[ -z "$(ls -A "$MDRUN_STORE/tmp")" ]
	verdict $? "deep (session=$runner): nothing is left in tmp/" \
		"$(ls -A "$MDRUN_STORE/tmp" | head)"
done
(cd "$MDRUN_STORE/tmp" && mkdir 999999-1-1 && cd 999999-1-1 &&
	python3 -c 'import os
for i in range(5000):
    os.mkdir("d"); os.chdir("d")
open("f", "w").write("x")')
timeout 120 "$mdrun" store ls >/dev/null 2>err
{ [ $? = 0 ] && [ -z "$(ls -A "$MDRUN_STORE/tmp")" ]; }
verdict $? "deep: a 5,000-deep folder a dead process left in tmp/ is swept" \
	"$(head -c 300 err; ls -A "$MDRUN_STORE/tmp" | head)"

# --- the HTML report: what blocks print is inert ---------------------------
# html.sh checks a printed <script>, </pre> and <img onerror> in a
# browser; here: quotes that would end an attribute (in output, in the
# code, in artifact names), javascript: and other links in prose and in
# output=asis, a hostile info string and title. tests/bad/inert.py reads
# the page as a browser tokenizes it.
mkdir -p "$work/html"
cd "$work/html" || exit 1
export MDRUN_STORE="$work/html-store"
cp "$inputs/report.md" report.md
"$mdrun" render -q --to html report.md -o report.html 2>err
expect "report.md renders to HTML" err
python3 "$inputs/inert.py" report.html >inert.out
expect "report.html is inert: no script, no on* attribute, no javascript: URL, a CSP" \
	inert.out
"$mdrun" render -q --to html --unsafe-html report.md -o unsafe.html 2>/dev/null
! python3 "$inputs/inert.py" unsafe.html >/dev/null
expect "--unsafe-html: the same check finds the author's raw HTML (it can fail)"
for want in 'attr&quot; onmouseover=&quot;alert(9)' \
	'it&#39;s &#39; onfocus=&#39;alert(10)' \
	'&lt;/pre&gt;&lt;/code&gt;&lt;script&gt;alert(11)&lt;/script&gt;' \
	'&lt;a href=&quot;javascript:alert(12)&quot;&gt;' \
	'&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(8)' \
	'<img alt="x&quot; onerror=&quot;alert(21).png"' \
	'download="y&#39; onclick=&#39;alert(22).txt"' \
	'&quot;&gt;&lt;svg onload=alert(23)&gt;.txt</a>'; do
	has report.html "$want"
	expect "report.html shows as text: $want"
	has unsafe.html "$want"
	expect "--unsafe-html still escapes output and names: $want"
done
! grep -qi 'href="[[:space:]]*javascript:\|src="[[:space:]]*javascript:' report.html
expect "report.html: no href or src starts with javascript:"
has report.html '<title>Title alert(1) &amp; &quot;quotes&quot;</title>'
expect "report.html: the title is the heading's text, escaped"

finish
