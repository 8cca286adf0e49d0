#!/usr/bin/env bash
# End-to-end tests: the built mdrun on documents under tests/e2e/cases and
# samples/. usage: run.sh MDRUN SOURCE_DIR
#
# Golden cases: NAME.md renders to NAME.out.md (NAME.md itself when there
# is no NAME.out.md) with exit status NAME.exit (0 when absent) and the
# options in NAME.args (none when absent), and rendering the result again
# gives the same bytes.
set -u
. "$(dirname "$0")/lib.sh"

# --- golden documents -------------------------------------------------
for doc in "$src"/tests/e2e/cases/*.md; do
	case $doc in *.out.md) continue ;; esac
	name=$(basename "$doc" .md)
	dir="$work/golden/$name"
	mkdir -p "$dir"
	cp "$doc" "$dir/$name.md"
	want="${doc%.md}.out.md"
	[ -f "$want" ] || want=$doc
	code=0
	[ -f "${doc%.md}.exit" ] && code=$(cat "${doc%.md}.exit")
	args=
	[ -f "${doc%.md}.args" ] && args=$(cat "${doc%.md}.args")
	"$mdrun" -q $args "$dir/$name.md" -o "$dir/out.md" 2>"$dir/err"
	got=$?
	if [ "$got" != "$code" ]; then
		bad "golden $name: exit $got, expected $code" "$(cat "$dir/err")"
	elif ! same "$dir/out.md" "$want"; then
		bad "golden $name: differs from $(basename "$want")" \
			"$(diff "$want" "$dir/out.md" | head -20)"
	else
		ok "golden $name"
	fi
	"$mdrun" -q $args "$dir/out.md" -o "$dir/again.md" 2>/dev/null
	check "idempotent $name: render(render(doc)) == render(doc)" \
		same "$dir/out.md" "$dir/again.md"
done

# --- with every block eval=false, the output is the input ------------
for doc in "$src"/tests/e2e/cases/*.md; do
	case $doc in *.out.md) continue ;; esac
	grep -q '^mdrun:' "$doc" && continue # run: all runs plain blocks
	name=$(basename "$doc" .md)
	dir="$work/noeval/$name"
	mkdir -p "$dir"
	# echo=true too: a hidden block that does not run shows nothing
	sed -E 's/^([ >0-9.*+-]*(```+|~~~+)[ ]*\{.*)\}([ \r]*)$/\1 eval=false echo=true}\3/' \
		"$doc" >"$dir/doc.md"
	"$mdrun" -q "$dir/doc.md" -o "$dir/out.md" 2>"$dir/err"
	if same "$dir/doc.md" "$dir/out.md"; then
		ok "eval=false everywhere: $name comes back unchanged"
	else
		bad "eval=false everywhere: $name" "$(cat "$dir/err"; diff "$dir/doc.md" "$dir/out.md" | head)"
	fi
done

# --- samples render cleanly and stably --------------------------------
# samples/plot.md needs matplotlib (Debian's python3-matplotlib),
# analysis.md pandas too: where the python3 first in PATH lacks them but
# Debian's has them, use Debian's.
plot_path=$(path_with matplotlib)
analysis_path=$(path_with matplotlib,pandas)
# the samples and what they read (inputs=, mdrun.json)
mkdir -p "$work/samples"
cp -r "$src/samples/." "$work/samples/"
for doc in "$src"/samples/*.md; do
	name=$(basename "$doc" .md)
	dir="$work/samples"
	path=$PATH
	if [ "$name" = plot ]; then
		[ -n "$plot_path" ] || {
			skip "sample plot renders" "no python3 with matplotlib"
			continue
		}
		path=$plot_path
	elif [ "$name" = r ]; then
		"$mdrun" kernels | grep -q '^  ir ' || {
			skip "sample r renders" \
				"IRkernel is not installed (Debian: r-cran-irkernel)"
			continue
		}
	elif [ "$name" = analysis ]; then
		[ -n "$analysis_path" ] || {
			skip "sample analysis renders" \
				"no python3 with matplotlib and pandas"
			continue
		}
		path=$analysis_path
	fi
	# rendered in place, twice: files next to it keep their names
	if PATH=$path "$mdrun" -q -i "$dir/$name.md" 2>"$dir/err" &&
		cp "$dir/$name.md" "$dir/$name.once" &&
		PATH=$path "$mdrun" -q -i "$dir/$name.md" &&
		same "$dir/$name.md" "$dir/$name.once" &&
		has "$dir/$name.md" "<!-- mdrun:out -->"; then
		ok "sample $name renders, with outputs, idempotently"
	else
		bad "sample $name" "$(cat "$dir/err")"
	fi
done
if [ -n "$plot_path" ]; then
	{ grep -q '^!\[plot-1.png\](plot_files/plot-1\.png)$' "$dir/plot.md" &&
		head -c 8 "$dir/plot_files/plot-1.png" | od -c |
		grep -q 'P   N   G'; }
	expect "sample plot: the figure plt.show() showed is a PNG next to the document, linked"
else
	skip "sample plot: the image is copied next to the document and shown" \
		"no python3 with matplotlib"
fi
if [ -n "$analysis_path" ]; then
	shows "$dir/analysis.md" load '| 0 | Jan | 1 | 17.4 |' &&
		shows "$dir/analysis.md" monthly "'Nov'" &&
		shows "$dir/analysis.md" plot \
			'![plot-1.png](analysis_files/plot-1.png)' &&
		head -c 8 "$dir/analysis_files/plot-1.png" | od -c |
		grep -q 'P   N   G'
	expect "sample analysis: its table, its value and its figure" \
		"$dir/analysis.md"
fi

# --- a second render runs nothing -------------------------------------
dir="$work/cache"
mkdir -p "$dir"
cat >"$dir/doc.md" <<'DOC'
```{sh session=none}
echo ran >> one.log; echo first
```

```{sh session=none}
echo ran >> two.log; echo second
```
DOC
"$mdrun" "$dir/doc.md" -o "$dir/out1.md" 2>"$dir/err1"
"$mdrun" "$dir/doc.md" -o "$dir/out2.md" 2>"$dir/err2"
{ [ "$(wc -l <"$dir/one.log")" = 1 ] && [ "$(wc -l <"$dir/two.log")" = 1 ]; }
expect "cached: a second render runs no block (side effect counted)"
check "cached: the second render reports 0 ran, 2 cached" \
	has "$dir/err2" "2 blocks: 0 ran, 2 cached"
check "cached: both renders give the same document" same "$dir/out1.md" "$dir/out2.md"
sed -i 's/echo second/echo changed/' "$dir/doc.md"
"$mdrun" "$dir/doc.md" -o "$dir/out3.md" 2>"$dir/err3"
{ [ "$(wc -l <"$dir/one.log")" = 1 ] && [ "$(wc -l <"$dir/two.log")" = 2 ]; }
expect "edit: only the changed block runs again"
check "edit: the new output is shown" shows "$dir/out3.md" sh-2 changed

# --- in place, twice; .md.in -o .md -----------------------------------
dir="$work/inplace"
mkdir -p "$dir"
printf '# In place\n\n```{sh}\necho hi\n```\n' >"$dir/doc.md"
chmod 640 "$dir/doc.md"
"$mdrun" -q -i "$dir/doc.md" && cp "$dir/doc.md" "$dir/first.md"
"$mdrun" -q -i "$dir/doc.md"
check "-i twice gives the same bytes" same "$dir/doc.md" "$dir/first.md"
check "-i keeps the file's mode" [ "$(stat -c %a "$dir/doc.md")" = 640 ]
check "-i writes the output" shows "$dir/doc.md" sh-1 hi
check "-i leaves no temporary file" [ "$(ls "$dir" | wc -l)" = 2 ]
printf '```{sh}\necho from-in\n```\n' >"$dir/page.md.in"
"$mdrun" -q "$dir/page.md.in" -o "$dir/page.md"
"$mdrun" -q "$dir/page.md" -o "$dir/page2.md"
check "FILE.md.in -o FILE.md, then FILE.md again: same bytes" \
	same "$dir/page.md" "$dir/page2.md"

# --- standard input and output ----------------------------------------
got=$(printf '```{sh}\necho piped\n```\n' | (cd "$work" && "$mdrun" -q -))
check "- reads standard input" [ "$got" = "$(printf '```{sh}\necho piped\n```\n<!-- mdrun:out -->\n```output\npiped\n```\n<!-- /mdrun:out -->')" ]

# --- errors: one line, FILE:LINE:COL, exit 2, nothing written ---------
dir="$work/errors"
mkdir -p "$dir"
printf '# Bad\n\n```{sh bogus=1}\necho x >> ran.log\n```\n' >"$dir/bad.md"
cp "$dir/bad.md" "$dir/bad.orig"
"$mdrun" "$dir/bad.md" -o "$dir/out.md" 2>"$dir/err"
code=$?
check "bad option: exit 2" [ "$code" = 2 ]
check "bad option: FILE:LINE:COL message" \
	[ "$(cat "$dir/err")" = "mdrun: $dir/bad.md:3:8: unknown option 'bogus'" ]
{ [ ! -e "$dir/ran.log" ] && [ ! -e "$dir/out.md" ]; }
expect "bad option: nothing run, nothing written"
"$mdrun" -i "$dir/bad.md" 2>/dev/null
check "bad option with -i: the file is untouched" same "$dir/bad.md" "$dir/bad.orig"
printf 'x\n\n```{cobol}\nDISPLAY 1\n```\n' >"$dir/lang.md"
"$mdrun" "$dir/lang.md" 2>"$dir/err"
code=$?
{ [ "$code" = 2 ] && has "$dir/err" "lang.md:3:4: no interpreter for 'cobol'"; }
expect "unknown language: exit 2 and located message"
"$mdrun" "$dir/missing.md" 2>"$dir/err"
code=$?
{ [ "$code" = 2 ] && has "$dir/err" "missing.md"; }
expect "missing document: exit 2, named"
"$mdrun" --frobnicate x.md 2>"$dir/err"
code=$?
{ [ "$code" = 2 ] && has "$dir/err" "mdrun --help"; }
expect "unknown option: exit 2 and a hint"
printf '```{sh}\necho partial; exit 5\n```\n' >"$dir/fails.md"
"$mdrun" -q "$dir/fails.md" -o "$dir/fails.out" 2>"$dir/err"
code=$?
{ [ "$code" = 1 ] && has "$dir/err" "fails.md:1: block sh-1 failed (exit 5)" &&
	shows "$dir/fails.out" sh-1 partial "*exit status 5*"; }
expect "failing block: exit 1, FILE:LINE named, document still written"

# every malformed case: exit 2, the exact FILE:LINE:COL line, nothing run
while IFS='^' read -r text want; do
	printf '%b' "$text" >"$dir/case.md"
	rm -f "$dir/case.out" "$dir/ran.log"
	"$mdrun" "$dir/case.md" -o "$dir/case.out" 2>"$dir/err"
	code=$?
	{ [ "$code" = 2 ] && [ "$(cat "$dir/err")" = "mdrun: $dir/case.md:$want" ] &&
		[ ! -e "$dir/case.out" ] && [ ! -e "$dir/ran.log" ]; }
	expect "malformed: $want"
done <<'CASES'
text\n\n```{sh bogus=1}\ntouch ran.log\n```\n^3:8: unknown option 'bogus'
```{sh echo=maybe}\ntouch ran.log\n```\n^1:13: invalid value 'maybe' for 'echo': expected true or false
```{sh timeout=0}\n```\n^1:16: invalid value '0' for 'timeout': expected a number of seconds greater than 0
```{sh name="x}\n```\n^1:13: unterminated quoted value
```{sh\n```\n^1:7: missing closing '}' in the info string
```{sh a b}\n```\n^1:10: unexpected word 'b'
```{sh}\ntouch ran.log\n```\n\n```{sh}\n#| echo: often\n```\n^6:10: invalid value 'often' for 'echo': expected true or false
```{sh #x}\ntouch ran.log\n```\n> ```{python name=x}\n> ```\n^4:3: block name 'x' is already used on line 1
---\nmdrun: {run: most}\n---\n```{sh}\ntouch ran.log\n```\n^2:14: invalid value 'most' for 'run': expected all or braces
CASES

# --- echo=false: hidden with -o, kept when the output is the input ----
dir="$work/echo"
mkdir -p "$dir"
printf '# Echo\n\n```{sh echo=false}\necho secret-code\n```\n' >"$dir/doc.md"
"$mdrun" -q "$dir/doc.md" -o "$dir/out.md"
{ ! grep -q '^echo secret-code' "$dir/out.md" &&
	shows "$dir/out.md" 1 secret-code; }
expect "echo=false with -o: the code is hidden, its output shown"
cp "$dir/doc.md" "$dir/inplace.md"
"$mdrun" -q -i "$dir/inplace.md"
grep -q '^echo secret-code' "$dir/inplace.md"
expect "echo=false with -i: the source survives"
cp "$dir/doc.md" "$dir/same.md"
"$mdrun" -q "$dir/same.md" -o "$dir/same.md"
grep -q '^echo secret-code' "$dir/same.md"
expect "echo=false with -o naming the input: the source survives"

# --- a render that changes nothing writes nothing ------------------------
# The root record is the row of table root naming the document; a warm
# render writes neither it nor anything else of store.db.
dir="$work/unchanged"
mkdir -p "$dir"
printf '```{sh session=none}\necho one\n```\n\n```{sh session=none}\necho two\n```\n' >"$dir/doc.md"
if command -v sqlite3 >/dev/null; then
	# root DOC: the document's root record, as the store holds it.
	root() {
		sqlite3 "$MDRUN_STORE/store.db" \
			"SELECT record FROM root WHERE doc = '$(realpath "$1")'"
	}
	# plan_keys DOC: the keys plan --json gives the document's blocks.
	plan_keys() {
		"$mdrun" plan --json "$1" |
			sed -n 's/^[[:space:]]*"key":[[:space:]]*"\([0-9a-f]*\)",$/\1/p'
	}
	# root_keys DOC: the keys of the document's root record, in order.
	root_keys() {
		sqlite3 "$MDRUN_STORE/store.db" "SELECT k.value FROM root,
			json_each(root.record, '$.keys') AS k
			WHERE doc = '$(realpath "$1")' ORDER BY k.key"
	}
	"$mdrun" -q "$dir/doc.md" -o "$dir/out.md"
	root "$dir/doc.md" >"$dir/root1"
	# The first warm render keeps the document's snapshot (docs/store.md);
	# the ones after it write nothing.
	"$mdrun" -q "$dir/doc.md" -o "$dir/out.md"
	snaps=$(sqlite3 "$MDRUN_STORE/store.db" \
		"SELECT count(*) FROM snap WHERE doc = '$(realpath "$dir/doc.md")'")
	touch -d '2001-01-01' "$dir/out.md" "$MDRUN_STORE"/store.db*
	"$mdrun" -q "$dir/doc.md" -o "$dir/out.md"
	root "$dir/doc.md" >"$dir/root2"
	{ [ -s "$dir/root1" ] && same "$dir/root1" "$dir/root2" &&
		[ -z "$(find "$MDRUN_STORE" -maxdepth 1 -type f \
			-name 'store.db*' -newermt 2002-01-01)" ] &&
		[ -z "$(find "$dir/out.md" -newermt 2002-01-01)" ] &&
		[ "$snaps" = 1 ] && shows "$dir/out.md" sh-2 two; }
	expect "a warm render leaves the same output and its root record untouched, and keeps the snapshot" \
		"$dir/root1" "$dir/root2"
	sed -i 's/echo two/echo three/' "$dir/doc.md"
	"$mdrun" -q "$dir/doc.md" -o "$dir/out.md"
	root "$dir/doc.md" >"$dir/root3"
	{ shows "$dir/out.md" sh-2 three && ! shows "$dir/out.md" sh-2 two &&
		! same "$dir/root1" "$dir/root3" &&
		[ "$(root_keys "$dir/doc.md" | wc -l)" = 2 ] &&
		[ "$(root_keys "$dir/doc.md")" = "$(plan_keys "$dir/doc.md")" ] &&
		[ -n "$(find "$MDRUN_STORE" -maxdepth 1 -type f \
			-name 'store.db*' -newermt 2002-01-01)" ]; }
	expect "a changed block: the output and the root record are written again" \
		"$dir/root1" "$dir/root3"
else
	skip "a warm render leaves the same output and its root record untouched" \
		"no sqlite3"
	skip "a changed block: the output and the root record are written again" \
		"no sqlite3"
fi

# --- outside a repository, each folder keys its own blocks ------------------
for f in one two; do
	mkdir -p "$work/folders/$f"
	echo "data of $f" >"$work/folders/$f/data.txt"
	printf '```{sh session=none}\ncat data.txt\n```\n' >"$work/folders/$f/doc.md"
	"$mdrun" -q "$work/folders/$f/doc.md" >"$work/folders/$f/out.md"
done
{ shows "$work/folders/one/out.md" sh-1 "data of one" &&
	shows "$work/folders/two/out.md" sh-1 "data of two"; }
expect "the same code in two folders outside a repository: two stages, two results"

# --- a progress bar shows its final state, as on a terminal --------------
dir="$work/progress"
mkdir -p "$dir"
cat >"$dir/doc.md" <<'DOC'
# Progress

```{bash}
for p in 10 50 100; do printf '\r%3d%%|%-10s| working' "$p" "$(printf '%*s' $((p / 10)) '' | tr ' ' '#')"; done
printf '\rdone%30s\n' ''
printf 'abc\bd\n'
printf 'hello\rhi\n'
for p in 1 2 3; do printf '\r\033[2Kstep %d of 3' "$p" >&2; done
printf '\n' >&2
```
DOC
"$mdrun" -q "$dir/doc.md" -o "$dir/out.md" 2>"$dir/err"
region "$dir/out.md" bash-1 >"$dir/region"
printf '%s\n' '```output' done abd hillo '```' \
	'```stderr' 'step 3 of 3' '```' >"$dir/want"
same "$dir/region" "$dir/want"
expect "a progress bar (\\r, \\b, ESC[2K) shows only its final state" "$dir/region" "$dir/err"
"$mdrun" -q "$dir/out.md" -o "$dir/again.md" 2>/dev/null
check "a progress bar's region renders to the same bytes again" \
	same "$dir/out.md" "$dir/again.md"
"$mdrun" -q --to html "$dir/doc.md" -o "$dir/out.html" 2>/dev/null
sed -n '/<pre class="std/,/<\/pre>/p' "$dir/out.html" >"$dir/region"
printf '%s\n' '<pre class="stdout">done' abd hillo \
	'</pre>' '<pre class="stderr">step 3 of 3' '</pre>' >"$dir/want"
same "$dir/region" "$dir/want"
expect "the HTML report shows a progress bar's final state" "$dir/region"
"$mdrun" -q --to json "$dir/doc.md" -o "$dir/out.json" 2>/dev/null
has "$dir/out.json" '\r 10%|#         | working'
expect "the JSON report keeps the bytes the program wrote, \\r included" "$dir/out.json"

# --- help and version --------------------------------------------------
check "--help explains and exits 0" sh -c "'$mdrun' --help | grep -q 'usage: mdrun'"
check "--version" sh -c "'$mdrun' --version | grep -q '^mdrun [0-9]'"

# --- the store --------------------------------------------------------
# A block's artifacts (what it wrote to MDRUN_OUT) are the read-only tree
# objects/RHASH; one is made here, so the check never looks at nothing.
dir="$work/artifacts"
mkdir -p "$dir"
printf '```{sh #art}\nmkdir "$MDRUN_OUT/d"; echo x > "$MDRUN_OUT/d/f.txt"\n```\n' >"$dir/doc.md"
"$mdrun" -q "$dir/doc.md" -o "$dir/out.md" 2>"$dir/err"
objects=$("$mdrun" store path "$dir/doc.md#art" 2>>"$dir/err")
{ [ -n "$objects" ] && [ "$(cat "$objects/d/f.txt" 2>/dev/null)" = x ] &&
	[ -n "$(find "$MDRUN_STORE/objects" -mindepth 2 -type f)" ] &&
	[ -z "$(find "$MDRUN_STORE/objects" -mindepth 1 -perm /222)" ]; }
expect "store: realizations are read-only" "$dir/err"
check "store: no temporary leftovers" [ -z "$(ls -A "$MDRUN_STORE/tmp")" ]

finish

