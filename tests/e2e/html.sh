#!/usr/bin/env bash
# End-to-end tests of mdrun render --to html, checked in a real browser:
# Debian's headless Chromium loads each page, --dump-dom shows what its
# scripts (if any ran) did to the page, --screenshot shows it is drawn.
# usage: html.sh MDRUN SOURCE_DIR
#
# The golden page tests/e2e/reports/doc.html is doc.md rendered from a
# fresh store; MDRUN_REGEN_GOLDEN=1 rewrites it (read the diff).
set -u
. "$(dirname "$0")/lib.sh"

png_info() { python3 "$src/tests/e2e/png.py" "$1"; }
# verdict STATUS NAME DETAIL: expect, showing DETAIL on failure. Pass $?
# first: a command substitution among the arguments would reset it.
verdict() { if [ "$1" = 0 ]; then ok "$2"; else bad "$2" "$3"; fi; }

# Without it the pages are checked as files, and the checks in a browser
# say skipped.
browser=
command -v chromium >/dev/null 2>&1 && browser=chromium
nobrowser="chromium is not installed: apt-get install chromium"
# browse ARGS... PAGE: Chromium, headless, in a profile of its own.
browse() {
	timeout 60 "$browser" --headless --no-sandbox --disable-gpu \
		--no-first-run --user-data-dir="$work/chromium" \
		--window-size=1024,768 "$@" 2>>"$work/chromium.log"
}
dom() { browse --dump-dom "file://$1" >"$2"; }
shot() { browse --screenshot="$2" "file://$1" >/dev/null && [ -s "$2" ]; }

# --- the tour: outputs under their blocks, old outputs left out ----------
# In a folder named samples/, so its first block prints the same words.
mkdir -p "$work/samples"
cd "$work/samples" || exit 1
cp "$src/samples/tour.md" tour.md
"$mdrun" render -q -i tour.md 2>err
verdict $? "tour.md renders to Markdown first (so it carries old outputs)" \
	"$(cat err)"
"$mdrun" render -q --to html tour.md -o tour.html 2>err
verdict $? "mdrun render --to html tour.md -o tour.html" "$(cat err)"
has tour.html "<title>A tour of mdrun</title>"
expect "the title is the first heading"
has tour.html '<pre class="stdout">Hello from samples/, the folder'
expect "a shell block's output is in the page"
has tour.html '<pre class="stdout">squares: [1, 4, 9, 16, 25]'
expect "a python block's output is in the page"
has tour.html '<pre class="stderr">to stderr'
expect "stderr is set apart"
[ "$(grep -c 'largest: 25' tour.html)" = 1 ]
expect "the outputs the Markdown render spliced in are not shown twice"
has tour.html '4 blocks: 4 ok, 0 failed, 4 cached'
expect "the header sums the blocks up (all cached the second time)"
! grep -qi '<script' tour.html
expect "no script in the page"
if [ -n "$browser" ]; then
	dom "$PWD/tour.html" tour.dom
	expect "chromium loads the page"
	{ has tour.dom 'squares: [1, 4, 9, 16, 25]' &&
		has tour.dom 'largest: 25' &&
		has tour.dom '<title>A tour of mdrun</title>'; }
	verdict $? "the outputs are in the browser's DOM" \
		"$(head -c 2000 tour.dom)"
	shot "$PWD/tour.html" tour.png
	expect "chromium takes a screenshot"
	read -r w h colours red <<<"$(png_info tour.png)"
	{ [ "$w" = 1024 ] && [ "$h" = 768 ] && [ "$colours" -gt 1 ]; }
	expect "the screenshot is not blank ($colours colours)"
else
	skip "the tour in chromium: its DOM and a screenshot" "$nobrowser"
fi

# --- a hostile document: nothing it prints runs --------------------------
mkdir -p "$work/hostile"
cd "$work/hostile" || exit 1
cat >hostile.md <<'DOC'
# Hostile

```{python name=red echo=false}
import os, struct, zlib

def chunk(kind, body):
    crc = zlib.crc32(kind + body) & 0xffffffff
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

w, h = 240, 120
rows = b"".join(b"\0" + b"\xff\0\0" * w for _ in range(h))
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
with open(os.path.join(os.environ["MDRUN_OUT"], "red.png"), "wb") as f:
    f.write(png)
print("a red image")
```

```{sh name=inject}
printf '%s\n' "<script>document.title='pwned'</script>"
printf '%s\n' "<img src=x onerror=\"document.body.setAttribute('data-pwned',1)\">"
printf '</pre><b>bold?</b> [x](javascript:alert(1))\n'
printf 'ansi \033[31mred\033[0m nul:\000:\n'
```

```{sh name=asis output=asis}
echo "**from asis**"
echo
echo "<img src=x onerror=\"document.body.setAttribute('data-asis',1)\">"
```

The author's own HTML:

<img src=x onerror="document.body.setAttribute('data-author',1)">

```{sh name=fails error=true}
echo "went wrong" >&2
exit 3
```
DOC
"$mdrun" render -q --to html hostile.md -o safe.html 2>err
verdict $? "the hostile document renders" "$(cat err)"
"$mdrun" render -q --to html --unsafe-html hostile.md -o unsafe.html 2>err
verdict $? "--unsafe-html renders it too" "$(cat err)"
has safe.html '&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;'
expect "a printed script is escaped text"
has safe.html '&lt;/pre&gt;&lt;b&gt;bold?&lt;/b&gt;'
expect "a printed </pre> is escaped text"
has safe.html $'ansi <span class="ansi ansi-fg-1">red</span> nul:\xe2\x90\x80:'
expect "ANSI colours become a span of a class, a NUL is shown as a control picture"
has safe.html '<strong>from asis</strong>'
expect "output=asis is Markdown"
! grep -q "<img src=x onerror" safe.html
expect "no raw <img onerror> (asis output's and the author's HTML omitted)"
! grep -qi "<script" safe.html
expect "no script element in the safe page"
has safe.html '<img alt="red.png" src="data:image/png;base64,iVBORw0KGgo'
expect "the image is embedded as a data URI"
has safe.html '<p class="failure expected">exit status 3'
expect "a failure is shown"
! has safe.html 'import os, struct'
expect "echo=false hides the code"
has unsafe.html \
	"<img src=x onerror=\"document.body.setAttribute('data-author',1)\">"
expect "--unsafe-html keeps the author's raw HTML"

if [ -n "$browser" ]; then
	dom "$PWD/safe.html" safe.dom
	expect "chromium loads the safe page"
	# What the scripts would do: set an attribute, change the title.
	! grep -q 'data-[a-z]*="1"\|<title>pwned' safe.dom
	verdict $? "nothing injected ran" "$(grep -o '<body[^>]*>' safe.dom)"
	{ has safe.dom '<title>Hostile</title>' &&
		has safe.dom "&lt;script&gt;document.title='pwned'&lt;/" &&
		has safe.dom '&lt;img src=x onerror="document.body.' &&
		has safe.dom '<strong>from asis</strong>' &&
		has safe.dom 'exit status 3'; }
	verdict $? "the outputs are in the DOM, as text" \
		"$(head -c 3000 safe.dom)"
	# The control: the same checks see what a script that runs does.
	dom "$PWD/unsafe.html" unsafe.dom
	{ has unsafe.dom 'data-author="1"' && has unsafe.dom 'data-asis="1"' &&
		! has unsafe.dom 'data-pwned="1"'; }
	verdict $? "--unsafe-html: raw HTML runs (the checks can fail)" \
		"$(grep -o '<body[^>]*>' unsafe.dom)"
	shot "$PWD/safe.html" safe.png
	expect "chromium takes a screenshot of the safe page"
	read -r w h colours red <<<"$(png_info safe.png)"
	[ "$colours" -gt 1 ]
	expect "the screenshot is not blank ($colours colours)"
	[ "$red" -ge 10000 ]
	expect "the embedded image is drawn ($red red pixels)"
else
	skip "the hostile page in chromium: nothing injected runs" "$nobrowser"
fi

# --- a table and a figure, as a notebook shows them ---------------------
# A DataFrame and a matplotlib figure drawn in red: pandas' table is in
# the browser's DOM, and the figure is drawn (red pixels in a screenshot).
py_with() {
	if python3 -c "import $1" 2>/dev/null; then
		echo "$PATH"
	elif /usr/bin/python3 -c "import $1" 2>/dev/null; then
		echo "/usr/bin:$PATH"
	fi
}
both=$(py_with matplotlib,pandas)
if [ -n "$both" ]; then
	mkdir -p "$work/rich"
	cd "$work/rich" || exit 1
	cat >rich.md <<'DOC'
# Rich

```{python name=table}
import pandas as pd
pd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3.5, 19.25]})
```

```{python name=figure fig-width=4 fig-height=2}
import matplotlib.pyplot as plt
plt.plot([0, 1, 2], [0, 2, 1], color="red", linewidth=8)
plt.show()
```
DOC
	PATH=$both "$mdrun" render -q --to html rich.md -o rich.html 2>err
	verdict $? "a table and a figure: --to html" "$(cat err)"
	grep -q '<table' rich.html && grep -q '<td>Oslo</td>' rich.html &&
		! grep -q 'dataframe tbody tr th' rich.html
	expect "a table and a figure: pandas' HTML table, its style left out"
	grep -q '<img[^>]*src="data:image/png;base64,' rich.html
	expect "a table and a figure: the figure is embedded"
	if [ -n "$browser" ]; then
		dom "$PWD/rich.html" rich.dom
		grep -q '<td>Oslo</td>' rich.dom && grep -q '<td>19.25</td>' rich.dom
		verdict $? "a table and a figure: the table is in the browser's DOM" \
			"$(head -c 2000 rich.dom)"
		shot "$PWD/rich.html" rich.png
		read -r w h colours red <<<"$(png_info rich.png)"
		[ "$red" -gt 500 ]
		expect "a table and a figure: the screenshot shows the red figure ($red red pixels)"
	else
		skip "a table and a figure in chromium" "$nobrowser"
	fi
	cd "$work" || exit 1
else
	skip "a table and a figure" "no python3 with matplotlib and pandas"
fi

# --- golden page -------------------------------------------------------
mkdir -p "$work/golden"
cd "$work/golden" || exit 1
export MDRUN_STORE="$work/golden-store"
cp "$src/tests/e2e/reports/doc.md" doc.md
cp "$src/samples/tour.md" tour.md
for g in doc tour; do
	"$mdrun" render -q --to html $g.md -o $g.html 2>err
	verdict $? "golden $g.md renders to HTML" "$(cat err)"
	want="$src/tests/e2e/reports/$g.html"
	if [ "${MDRUN_REGEN_GOLDEN:-}" = 1 ]; then
		cp $g.html "$want"
		ok "golden $g.html rewritten"
	elif [ ! -f "$want" ]; then
		bad "golden $g.html missing: run with MDRUN_REGEN_GOLDEN=1"
	else
		same $g.html "$want"
		verdict $? "$g.html is the golden page" \
			"$(diff "$want" $g.html | head -20)"
	fi
done
"$mdrun" render -q --to html doc.md -o again.html 2>err
cmp -s doc.html <(sed -e 's/, [0-9]* cached</, 0 cached</' \
	-e 's/ &middot; cached</</' again.html)
expect "rendered again from the store, only the cached count differs"

finish
