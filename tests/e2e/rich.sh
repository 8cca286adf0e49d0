#!/usr/bin/env bash
# End-to-end tests of what python blocks show by themselves, as in a
# notebook: streams in the order written, the last expression's value,
# display(), matplotlib figures, pandas tables, in every runner and
# format. usage: rich.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/r"
mkdir -p "$dir"
cd "$dir" || exit 1

# --- streams, values, display(), in a session and alone ------------------
for runner in session none; do
	opt=
	[ "$runner" = none ] && opt=" session=none"
	cat >plain-$runner.md <<DOC
\`\`\`{python name=order$opt}
import sys, warnings
print("first")
warnings.warn("careful")
print("second")
sys.stderr.write("to stderr\n");
\`\`\`

\`\`\`{python name=value$opt}
n = 6
n * 7
\`\`\`

\`\`\`{python name=quiet$opt}
m = 6
m * 7;
\`\`\`

\`\`\`{python name=none$opt}
print("only this")
None
\`\`\`

\`\`\`{python name=shown$opt}
print("before")
display({"k": 1}, "two")
print("after")
\`\`\`

\`\`\`{python name=nompl$opt}
import sys
print("matplotlib" in sys.modules)
\`\`\`

\`\`\`{python name=quietu$opt}
"é" * 3;
\`\`\`
DOC
	"$mdrun" -q plain-$runner.md >out-$runner.md 2>err
	expect "$runner: the document renders" err
	region out-$runner.md order >order.txt
	printf '%s\n' '```output' first '```' '```stderr' \
		'plain-'$runner'.md:4: UserWarning: careful' \
		'  warnings.warn("careful")' '```' '```output' second '```' \
		'```stderr' 'to stderr' '```' >order.want
	same order.txt order.want
	expect "$runner: stdout and stderr keep the order they were written in" \
		order.txt
	region out-$runner.md value >value.txt
	printf '%s\n' '```output' 42 '```' >value.want
	same value.txt value.want
	expect "$runner: the last expression's value is shown" value.txt
	[ -z "$(region out-$runner.md quiet)" ] &&
		[ -z "$(region out-$runner.md quietu)" ]
	expect "$runner: a last expression ending in ';' shows nothing, after non-ASCII text too"
	region out-$runner.md none >none.txt
	printf '%s\n' '```output' 'only this' '```' >none.want
	same none.txt none.want
	expect "$runner: a value of None shows nothing" none.txt
	region out-$runner.md shown >shown.txt
	printf '%s\n' '```output' before '```' '```output' "{'k': 1}" '```' \
		'```output' "'two'" '```' '```output' after '```' >shown.want
	same shown.txt shown.want
	expect "$runner: display() shows each value where it is called" \
		shown.txt
	shows out-$runner.md nompl False
	expect "$runner: without figures, matplotlib is never imported"
done

# A warm render shows the same, from the store.
"$mdrun" plain-session.md >again.md 2>err
same again.md out-session.md && has err "0 ran"
expect "a warm render shows the same outputs, running nothing" err

# The notebook: values are execute_result, displays display_data.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$mdrun" -q --to ipynb plain-session.md -o plain.ipynb 2>err
expect "--to ipynb: exit 0" err
"$py" - plain.ipynb <<'PY' 2>nb.err
import json, sys
nb = json.load(open(sys.argv[1]))
cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
value = cells[1]["outputs"]
assert [o["output_type"] for o in value] == ["execute_result"], value
assert value[0]["data"]["text/plain"] == ["42"], value
shown = [o["output_type"] for o in cells[4]["outputs"]]
assert shown == ["stream", "display_data", "display_data", "stream"], shown
PY
expect "--to ipynb: the value an execute_result, displays display_data, in order" nb.err
if "$py" -c 'import nbformat' 2>/dev/null; then
	"$py" -c 'import sys, nbformat
nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' plain.ipynb 2>nb.err
	expect "--to ipynb: nbformat validates it" nb.err
else
	skip "--to ipynb: nbformat validates it" "no python3 with nbformat"
fi

# --- figures ---------------------------------------------------------------
# The width of a PNG, from its header.
png_width() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }

mpl=$(path_with matplotlib)
if [ -n "$mpl" ]; then
	cat >fig.md <<'DOC'
```{python name=shown}
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9])
plt.show()
print("after the figure")
```

```{python name=open}
plt.figure()
plt.bar([1, 2], [3, 4]);
```

```{python name=next}
print(len(plt.get_fignums()), "figures open")
```

```{python name=wide fig-width=12}
plt.plot([1, 2], [2, 1]);
```

```{python name=vector fig-format=svg}
plt.plot([1, 2], [2, 1]);
```

```{python name=alone session=none}
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
fig
```
DOC
	PATH=$mpl "$mdrun" -q -i fig.md 2>err
	expect "figures: the document renders" err
	region fig.md shown >shown.txt
	printf '%s\n' '![shown-1.png](fig_files/shown-1.png)' '```output' \
		'after the figure' '```' >shown.want
	same shown.txt shown.want
	expect "figures: plt.show() shows the figure where it is called" shown.txt
	head -c 8 fig_files/shown-1.png | od -c | grep -q 'P   N   G'
	expect "figures: the shown figure is a PNG next to the document"
	shows fig.md open '![open-1.png](fig_files/open-1.png)'
	expect "figures: a figure still open at the end of a block is shown"
	shows fig.md next '0 figures open'
	expect "figures: shown figures are closed: nothing leaks into the next block"
	narrow=$(png_width fig_files/shown-1.png)
	wide=$(png_width fig_files/wide-1.png)
	[ "$wide" -gt $((3 * narrow / 2)) ]
	expect "figures: fig-width=12 makes a wider image ($wide px against $narrow)"
	shows fig.md vector '![vector-1.svg](fig_files/vector-1.svg)' &&
		grep -q '<svg' fig_files/vector-1.svg
	expect "figures: fig-format=svg makes an SVG"
	shows fig.md alone '![alone-1.png](fig_files/alone-1.png)' &&
		[ "$(grep -c 'alone-1' fig.md)" = 1 ]
	expect "figures: a Figure as the last expression (session=none) is shown once"
	cp fig.md fig.once
	PATH=$mpl "$mdrun" -q -i fig.md 2>err && same fig.md fig.once
	expect "figures: rendering the rendered document changes nothing" err
	PATH=$mpl "$mdrun" -q --to ipynb fig.md -o fig.ipynb 2>err
	"$py" - fig.ipynb <<'PY' 2>nb.err
import base64, json, sys
nb = json.load(open(sys.argv[1]))
cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
png = [o for o in cells[0]["outputs"] if o["output_type"] == "display_data"]
assert len(png) == 1, cells[0]["outputs"]
assert base64.b64decode(png[0]["data"]["image/png"])[:4] == b"\x89PNG"
PY
	expect "figures: --to ipynb holds the figure as an image/png display_data" nb.err
	PATH=$mpl "$mdrun" -q --to html fig.md -o fig.html 2>err
	grep -q '<img[^>]*src="data:image/png;base64,' fig.html
	expect "figures: --to html embeds the figure" err
	cat >child.md <<'DOC'
```{python name=child}
import subprocess, sys
code = "import matplotlib.pyplot as plt; plt.plot([1]); plt.savefig('c.png')"
print(subprocess.run([sys.executable, "-c", code]).returncode)
```
DOC
	PATH=$mpl "$mdrun" -q child.md >child.out 2>err
	shows child.out child 0 && [ -s c.png ]
	expect "figures: a child process's matplotlib works as it would alone" child.out err
	cat >many.md <<'DOC'
```{python}
import matplotlib.pyplot as plt
for i in range(3):
    plt.plot(range(100), [x * i for x in range(100)])
    plt.show()
```
DOC
	PATH=$mpl "$mdrun" -q --max-output 3000 many.md >many.out 2>err
	[ "$(grep -c '^!\[python-1-' many.out)" -lt 3 ] &&
		shows many.out python-1 '[mdrun: output cut at 3000 bytes]'
	expect "figures: past 16 times --max-output, figures are cut and the cut said" many.out
	sed 's/fig-format=svg/fig-format=pdf/' fig.md >bad.md
	line=$(grep -n 'fig-format=pdf' bad.md | cut -d: -f1)
	"$mdrun" -q bad.md >/dev/null 2>err
	[ $? = 2 ] && has err "bad.md:$line:" &&
		has err "invalid value 'pdf' for 'fig-format': expected png, svg or jpeg"
	expect "figures: fig-format=pdf is refused, naming the line" err
else
	skip "figures" "no python3 with matplotlib (Debian: python3-matplotlib)"
fi

# --- pandas ----------------------------------------------------------------
pd=$(path_with pandas)
if [ -n "$pd" ]; then
	cat >table.md <<'DOC'
```{python name=small}
import pandas as pd
pd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3.5, 19.25]})
```

```{python name=long}
pd.DataFrame({"n": range(100), "sq": [i * i for i in range(100)]})
```
DOC
	PATH=$pd "$mdrun" -q -i table.md 2>err
	expect "pandas: the document renders" err
	shows table.md small '|  | city | temp |' '|---|---|---|' \
		'| 0 | Oslo | 3.50 |' '| 1 | Lima | 19.25 |'
	expect "pandas: a DataFrame is a pipe table in the Markdown" table.md
	shows table.md long '| 4 | 4 | 16 |' '| ... | ... | ... |' \
		'| 95 | 95 | 9025 |' '100 rows x 2 columns' &&
		! shows table.md long '| 50 | 50 | 2500 |'
	expect "pandas: a long DataFrame is cut where pandas cuts it" table.md
	PATH=$pd "$mdrun" -q --to ipynb table.md -o table.ipynb 2>err
	"$py" - table.ipynb <<'PY' 2>nb.err
import json, sys
nb = json.load(open(sys.argv[1]))
out = [c for c in nb["cells"] if c["cell_type"] == "code"][0]["outputs"]
assert out[0]["output_type"] == "execute_result", out
html = "".join(out[0]["data"]["text/html"])
assert "<table" in html and "Oslo" in html, html
PY
	expect "pandas: --to ipynb keeps pandas' HTML table" nb.err
else
	skip "pandas" "no python3 with pandas (Debian: python3-pandas)"
fi

# --- pages as their authors wrote them --------------------------------------
# Quarto's "Hello, Quarto" page (front matter, #| options, a polar plot)
# with a DataFrame cell, and a lecture in QuantEcon's style: a figure under
# every plt.show() cell, a value under every expression cell.
both=$(path_with matplotlib,pandas)
if [ -n "$both" ]; then
	cat >hello.qmd <<'DOC'
---
title: "Hello, Quarto"
format:
  html:
    code-fold: true
jupyter: python3
---

## Polar Axis

For a demonstration of a line plot on a polar axis, see @fig-polar.

```{python}
#| label: fig-polar
#| fig-cap: "A line plot on a polar axis"

import numpy as np
import matplotlib.pyplot as plt

r = np.arange(0, 2, 0.01)
theta = 2 * np.pi * r
fig, ax = plt.subplots(
  subplot_kw = {'projection': 'polar'}
)
ax.plot(theta, r)
ax.set_rticks([0.5, 1, 1.5, 2])
ax.grid(True)
plt.show()
```

```{python}
import pandas as pd
df = pd.DataFrame({"a": range(10)})
df
```
DOC
	PATH=$both "$mdrun" -q hello.qmd >hello.out 2>err
	expect "Quarto's hello page renders as written" err
	shows_part hello.out fig-polar 'hello_files/fig-polar-1.png)' &&
		[ -s hello_files/fig-polar-1.png ] &&
		shows hello.out python-2 '| 9 | 9 |'
	expect "Quarto's hello page: its figure and its DataFrame" hello.out
	cat >lecture.md <<'DOC'
# Growth

```{python}
import numpy as np
import matplotlib.pyplot as plt
α, s, δ = 0.3, 0.4, 0.1
k = np.empty(40)
k[0] = 0.25
for t in range(39):
    k[t + 1] = s * k[t]**α + (1 - δ) * k[t]
```

```{python}
k_star = (s / δ)**(1 / (1 - α))
k_star
```

```{python}
fig, ax = plt.subplots()
ax.plot(k, 'o-', label='capital')
ax.axhline(k_star, ls='--', label='steady state')
ax.legend()
plt.show()
```

```{python}
round(k[-1], 4)
```

```{python}
x = np.linspace(0, 10, 200)
plt.plot(x, np.sin(x))
plt.show()
```

```{python}
np.mean(k), np.max(k)
```
DOC
	PATH=$both "$mdrun" -q lecture.md >lecture.out 2>err
	expect "a QuantEcon-style lecture renders" err
	figs=0 values=0
	for b in python-3 python-5; do
		shows_part lecture.out $b "lecture_files/$b-1.png)" &&
			figs=$((figs + 1))
	done
	for b in python-2 python-4 python-6; do
		[ "$(region lecture.out $b | grep -c '^[(0-9]')" = 1 ] &&
			values=$((values + 1))
	done
	[ "$figs" = 2 ] && [ "$values" = 3 ]
	expect "a QuantEcon-style lecture: a figure under each plt.show() cell ($figs of 2), a value under each expression cell ($values of 3)" lecture.out
else
	skip "pages as their authors wrote them" \
		"no python3 with matplotlib and pandas"
fi

# --- IPython's display ------------------------------------------------------
ipy=$(path_with IPython)
if [ -n "$ipy" ]; then
	cat >ipy.md <<'DOC'
```{python name=md}
from IPython.display import display, Markdown
display(Markdown("a **bold** word"))
```
DOC
	PATH=$ipy "$mdrun" -q ipy.md >ipy.out 2>err
	shows ipy.out md 'a **bold** word'
	expect "IPython: IPython.display.display shows Markdown as Markdown" ipy.out
else
	skip "IPython" "no python3 with IPython (Debian: python3-ipython)"
fi

finish
