#!/usr/bin/env bash
# End-to-end tests of documents written for knitr, Quarto and Jupyter
# Book (MyST), as their authors write them: chunk options in their own
# syntax, front matter defaults, {{lang}}, {code-cell} and directives,
# languages in any case; and real documents from those projects
# (tests/peers/). usage: peers.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/p"
mkdir -p "$dir"
cd "$dir" || exit 1

# --- knitr's options, in knitr's syntax ----------------------------------------
cat >k.Rmd <<'DOC'
---
title: knitr options
knitr:
  opts_chunk:
    comment: "#>"
    collapse: true
---

```{python setup, include=FALSE}
open("setup.ran", "w").write("yes")
hidden = "set up"
```

```{python asis, echo=FALSE, results='asis', fig.align="center", out.width='50%'}
print("**" + hidden + "**")
```

```{python hide, results="hide", tidy=TRUE}
print("never shown")
```

```{python warn, warning=F, eval=T}
import warnings
warnings.warn("a warning knitr would drop")
print("after the warning")
```

```{bash sh-one, engine='sh', dependson=c('setup'), message=FALSE}
echo from sh
```

```{python vec, echo=c(1, 2)}
21 * 2
```
DOC
"$mdrun" -v k.Rmd -o k.md 2>err
[ $? = 0 ]
expect "knitr: a document with knitr's options runs (exit 0)" err
[ -e setup.ran ] && ! has k.md 'open("setup.ran"' && ! has k.md "set up\`"
expect "include=FALSE runs the chunk and shows neither its code nor its output" k.md
has k.md '**set up**' && ! has k.md 'print("**"'
expect "echo=FALSE, results='asis': the code is gone, the output is Markdown" k.md
! grep -q '^\(#> \)\?never shown$' k.md && has k.md 'print("never shown")'
expect "results=\"hide\": the code stays, its output is not shown" k.md
! has k.md 'UserWarning' && has k.md '#> after the warning'
expect "warning=F: python's warning is dropped, the rest shown" k.md
grep -qx '#> from sh' k.md && grep -qx 'echo from sh' k.md &&
	grep -A1 -x '21 \* 2' k.md | grep -qx '#> 42' &&
	[ "$(grep -c -x '<!-- mdrun:out -->' k.md)" = 1 ]
expect "knitr: opts_chunk: comment and collapse: outputs and values in the code's fence, after #>" k.md
has k.md '21 * 2'
expect "echo=c(1, 2): a vector of lines is accepted, the code shown" k.md
has err "k.Rmd: options that mean nothing here, ignored: fig.align, out.width, tidy"
expect "-v names, once, the options that mean nothing in mdrun" err
"$mdrun" -q k.Rmd -o k2.md 2>err && ! has err "ignored"
expect "without -v, they are not named" err

printf '```{python ecko=FALSE}\n1\n```\n' >typo.Rmd
"$mdrun" -q typo.Rmd -o /dev/null 2>err
[ $? = 2 ] && has err "typo.Rmd:1:12: unknown option 'ecko' (did you mean 'echo'?)"
expect "an unknown option is an error that suggests the one meant" err
printf '```{python results=maybe}\n1\n```\n' >bad.Rmd
"$mdrun" -q bad.Rmd -o /dev/null 2>err
[ $? = 2 ] && has err "bad.Rmd:1:20: invalid value 'maybe' for 'results': expected markup, asis, hold or hide"
expect "a bad value of a knitr option names it and what it takes" err

# --- code from files: knitr's file= and code=, Quarto's #| file: --------------------
printf 'x = 20\nprint(x + 1)\n' >part1.py
printf 'print(x * 2)\n' >part2.py
cat >f.Rmd <<'DOC'
```{python one, file=c('part1.py', 'part2.py')}
```

```{python two, code=c('y = 5', 'print(y * 3)')}
print("the chunk's own text is not run")
```

```{python}
#| file: part2.py
```
DOC
"$mdrun" -q f.Rmd -o f.md 2>err
shows f.md one '21' '40' && shows f.md two '15' && shows f.md python-3 '40' &&
	grep -qx 'print(y \* 3)' f.md && ! has f.md "the chunk's own text" &&
	[ "$(grep -cx 'print(x \* 2)' f.md)" = 2 ]
expect "file= and code=: the block runs the files' code (or code='s lines), and shows it" f.md err
printf 'print(x * 3)\n' >part2.py
"$mdrun" f.Rmd -o f2.md 2>err
shows f2.md one '21' '60' && has err "ran one (f.Rmd:1)"
expect "file=: an edited file runs the block again" f2.md err
printf '```{python file=missing.py}\n```\n' >nofile.Rmd
"$mdrun" -q nofile.Rmd -o /dev/null 2>err
[ $? = 2 ] && has err "nofile.Rmd:1:17: file: 'missing.py'"
expect "file= naming no file: one line naming the option, exit 2" err

# --- included documents: Quarto's {{< include >}}, knitr's child= ------------------
mkdir -p parts
cat >parts/_data.qmd <<'DOC'
---
title: not the parent's
---
## Loaded

```{python}
y = x * 7
print("loaded", y)
```
DOC
cat >inc.qmd <<'DOC'
# Report

```{python}
x = 6
```

{{< include parts/_data.qmd >}}

```{python}
print("total", y + 1)
```
DOC
cp inc.qmd inc0.qmd
"$mdrun" -q inc.qmd -o inc.md 2>err
shows inc.md 2 'loaded 42' && shows inc.md 3 'total 43' && has inc.md '## Loaded' &&
	! has inc.md '{{<' && ! has inc.md 'mdrun:include' && ! has inc.md "not the parent's"
expect "{{< include >}}: the file's text and blocks in its place, run in the same session" inc.md err
"$mdrun" -q -i inc.qmd 2>err && cp inc.qmd inc1.qmd && "$mdrun" -i inc.qmd 2>err &&
	same inc.qmd inc1.qmd && has err '0 ran, 3 cached' && has inc.qmd '{{< include parts/_data.qmd >}}' &&
	shows inc.qmd 2 'loaded 42' && "$mdrun" check inc.qmd 2>>err
expect "{{< include >}} in place: the shortcode stays, the text follows it, twice the same bytes" inc.qmd err
sed -i 's/x \* 7/x * 8/' parts/_data.qmd
"$mdrun" check inc.qmd >out 2>err
[ $? = 1 ] && "$mdrun" -i inc.qmd 2>err && shows inc.qmd 2 'loaded 48' && shows inc.qmd 3 'total 49' &&
	[ "$(grep -cx 'loaded 48' inc.qmd)" = 1 ] && ! has inc.qmd 'loaded 42'
expect "an edited included file: check says stale; in place, its new outputs and what follows, once" inc.qmd err out
"$mdrun" -q inc0.qmd --to html -o inc.html 2>err
has inc.html 'loaded 48' && ! has inc.html 'include parts'
expect "{{< include >}} in HTML: the text shows, the shortcode does not" inc.html err
cat >kid.Rmd <<'DOC'
```{bash}
echo parent >from-parent.txt
```

```{r, child=c('kid1.Rmd', 'kid2.Rmd')}
```

End.
DOC
printf 'First child.\n\n```{bash}\necho "child saw $(cat from-parent.txt)"\n```\n' >kid1.Rmd
printf '```{bash}\necho second\n```\n' >kid2.Rmd
"$mdrun" -q kid.Rmd -o kid.md 2>err
shows kid.md 2 'child saw parent' && shows kid.md 3 'second' && has kid.md 'First child.' &&
	! has kid.md 'child=' && ! has kid.md 'mdrun:include'
expect "knitr's child=: the children's text and blocks replace the chunk" kid.md err
if command -v Rscript >/dev/null && Rscript -e 'library(knitr)' >/dev/null 2>&1; then
	# knitr's own run: the same prose, and its "## " lines as mdrun's
	rm -f from-parent.txt
	Rscript -e "knitr::knit('kid.Rmd', output='kkid.md', quiet=TRUE)" >/dev/null 2>&1
	grep '^## ' kkid.md | sed 's/^## //' >knitr.lines
	{ region kid.md 2; region kid.md 3; } | grep -v '^```\|^<!--' >mdrun.lines
	[ -s knitr.lines ] && cmp -s knitr.lines mdrun.lines && has kkid.md 'First child.'
	expect "knitr's child=: the children's chunks show what knitr shows for them" mdrun.lines knitr.lines
else
	skip "knitr's child= against knitr" "knitr is not installed (Debian: r-cran-knitr)"
fi
printf '{{< include loop2.md >}}\n' >loop1.md
printf 'text\n\n{{< include loop1.md >}}\n' >loop2.md
"$mdrun" loop1.md -o /dev/null 2>err
[ $? = 2 ] && has err "loop2.md:3:13: 'loop1.md' is being included already" && [ "$(wc -l <err)" = 1 ]
expect "includes in a cycle: one line naming where, exit 2" err
printf 'a\n\n{{< include nothere.md >}}\n' >noinc.md
"$mdrun" noinc.md -o /dev/null 2>err
[ $? = 2 ] && has err "noinc.md:3:13: cannot include 'nothere.md'"
expect "an include of a missing file: one line naming where, exit 2" err
# what a real project's parts hold: an HTML block at the end, a byte order
# mark, a link to the file, a path from the project's root
mkdir -p proj/chap proj/common
: >proj/_quarto.yml
printf 'Boxed.\n\n<div class="box">\n\n```{python}\nprint("in div", 6 * 7)\n```\n\n</div>\n' >proj/common/box.md
printf '\xef\xbb\xbf```{python}\nprint("bom", 6 * 8)\n```\n' >proj/common/bom.md
ln -sf ../common/bom.md proj/chap/bom-link.md
printf '# Chapter\n\n{{< include /common/box.md >}}\n\n{{< include bom-link.md >}}\n' >proj/chap/c.qmd
"$mdrun" -q -i proj/chap/c.qmd 2>err && cp proj/chap/c.qmd c1.qmd && "$mdrun" -q -i proj/chap/c.qmd 2>>err &&
	same proj/chap/c.qmd c1.qmd && shows proj/chap/c.qmd 1 'in div 42' && shows proj/chap/c.qmd 2 'bom 48'
expect "includes: a part ending in an HTML block, one with a byte order mark, a link, /FILE from the project" proj/chap/c.qmd err
printf 'a\n\n{{< include "" >}}\n' >noname.qmd
"$mdrun" noname.qmd -o /dev/null 2>err
[ $? = 2 ] && has err 'noname.qmd:3:' && has err 'names no file'
expect "an include naming no file: one line, exit 2" err
printf '```{python}\nprint(1)\n' >open.md
printf '{{< include open.md >}}\n\ntext\n' >inc-open.md
"$mdrun" inc-open.md -o /dev/null 2>err
[ $? = 2 ] && has err "inc-open.md:1:13: the included text does not end"
expect "an included file that leaves a fence open: an error, not a region that grows" err
printf 'a\n\n```{r child="open.md"}\n' >child-open.Rmd
"$mdrun" child-open.Rmd -o /dev/null 2>err
[ $? = 2 ] && has err "child-open.Rmd:3:1: a child= block needs its closing fence"
expect "a child= block left open: an error, not a block run as code" err

# --- inline code: `r x`, `{python} x` -----------------------------------------------
cat >inl.qmd <<'DOC'
```{python}
radius = 5
name = "disc"
```

The `{python} name` has area `{python} round(3.14159 * radius ** 2, 1)`.

```{python}
radius = 7
```

Now `{python} radius`, and `r 1:3` in R.
DOC
"$mdrun" -q inl.qmd -o inl.md 2>err &&
	grep -qx 'The disc has area 78.5.' inl.md && has inl.md 'Now 7, and'
expect "inline: -o puts each value in place of its expression, with the state at that point" inl.md err
if "$mdrun" kernels | grep -q '^  ir '; then
	has inl.md 'and 1, 2, 3 in R.'
	expect "inline: \`r 1:3\` gives R's vector as knitr writes it" inl.md
else
	skip "inline R" "IRkernel is not installed (Debian: r-cran-irkernel)"
	sed -i 's/, and `r 1:3` in R//' inl.qmd
fi
cp inl.qmd inl1.qmd
"$mdrun" -q -i inl1.qmd 2>err &&
	has inl1.qmd '`{python} radius`<!-- mdrun:value -->7<!-- /mdrun:value -->' &&
	cp inl1.qmd once.qmd && "$mdrun" -i inl1.qmd 2>err && cmp -s inl1.qmd once.qmd &&
	has err "0 ran"
expect "inline: in place the expression stays, its value after it; a second render runs nothing and changes nothing" inl1.qmd err
"$mdrun" -q inl1.qmd -o inl.html 2>err &&
	has inl.html 'Now <span class="mdrun-value">7</span>'
expect "inline: the HTML report shows the value, not the expression" inl.html
printf '```{python}\nn = 6\n```\n\nOne `{python} n + 1`.\nTwo `{python} n + 2`.\n' >two.qmd
"$mdrun" -q -i two.qmd 2>err && sed -i 's/^n = 6$/n = 7/' two.qmd
"$mdrun" check two.qmd >out 2>err
[ $? = 1 ] && has err 'python-inline-1: value is not current' &&
	has err 'python-inline-2: value is not current' && ! has err 'differs from'
expect "inline: check names each stale value of adjacent lines" err out
sed 's/^radius = 7$/radius = 9/' inl1.qmd >inlst.qmd
"$mdrun" check inlst.qmd >out 2>err
[ $? = 1 ] && has err 'inline python-inline-3: value is not current' && ! has err 'differs from'
expect "inline: check names the expression whose value is stale" err out
printf '```{python}\nn = 6\n```\n\n| a | b |\n|---|---|\n| `{python} n * 7` | x |\n\n![alt `{python} n + 1`](p.png)\n' >inltab.qmd
"$mdrun" -q inltab.qmd -o inltab.html 2>err &&
	has inltab.html '<td>42</td>' && has inltab.html 'alt="alt 7"'
expect "inline: in the HTML report, values in a table cell and in an image's alt text" inltab.html err
printf 'x: `{python} 1 / 0`.\n' >inlerr.md
"$mdrun" -q inlerr.md -o inlerr.out 2>err
[ $? = 1 ] && has inlerr.out 'x: *failed: ZeroDivisionError: division by zero*.'
expect "inline: a failing expression fails the render and says why in its place" inlerr.out err
printf 'x: `{nolang} 1`.\n' >inlno.md
"$mdrun" -q inlno.md -o /dev/null 2>err
[ $? = 2 ] && has err "inlno.md:1:5: no interpreter for 'nolang'"
expect "inline: a language mdrun cannot run is an error naming FILE:LINE:COL" err
# What users and values do to the markers: nothing is lost, nothing churns.
printf 'A `{python} 1`<!-- mdrun:value -->1 keep this `{python} 2` end.\n' >cut.md
"$mdrun" -q -i cut.md 2>err && has cut.md 'keep this `{python} 2`<!-- mdrun:value -->2<!-- /mdrun:value --> end.'
expect "inline: a value marker cut in half loses none of the text after it" cut.md err
printf 'a `{python} chr(96)` b `{python} "<!-- /mdrun:value -->"` c `{python} 2` d\n' >tick.md
"$mdrun" -q -i tick.md 2>err && cp tick.md tick1.md && "$mdrun" -i tick.md 2>err &&
	cmp -s tick.md tick1.md && has err "3 blocks: 0 ran"
expect "inline: values holding a backtick or a marker are escaped; a second render changes nothing" tick.md err
printf 'The radius is\n  `{python} 6 * 7` here.\n\n> a\nlazy `{python} 6 * 8`\n' >cont.md
"$mdrun" -q cont.md -o cont.out 2>err && has cont.out '  42 here.' && has cont.out 'lazy 48'
expect "inline: expressions on continuation and lazy lines are found" cont.out err
printf 'A plain `r x` in Markdown is code.\n' >plain.md
"$mdrun" -q plain.md -o plain.out 2>err && cmp -s plain.md plain.out
expect "inline: \`r x\` is knitr's only in .Rmd and .qmd documents" plain.out err

# --- Quarto ----------------------------------------------------------------------
cat >q.qmd <<'DOC'
---
title: "Quarto"
execute:
  echo: false
---

```{{python}}
open("escaped.ran", "w").write("yes")
```

```{python}
#| label: shown
#| echo: true
#| code-fold: true
#| code-summary: "Show the code"
print(6 * 7)
```

```{python}
#| label: default
print("the default hides me")
```
DOC
"$mdrun" -q q.qmd -o q.md 2>err
[ $? = 0 ] && [ ! -e escaped.ran ] && grep -qx '```{python}' q.md &&
	! has q.md '{{python}}'
expect "Quarto: {{python}} is shown as {python}, never run" q.md
has q.md 'print(6 * 7)' && ! has q.md 'the default hides me")' &&
	has q.md 'the default hides me'
expect "Quarto: execute: echo: false is every block's default; #| echo: true wins" q.md
"$mdrun" -q q.qmd -i 2>err && has q.qmd '{{python}}'
expect "Quarto: in place, {{python}} stays as written" q.qmd
"$mdrun" -q q.qmd -o q.html 2>err &&
	has q.html '<details class="code-fold"><summary>Show the code</summary>'
expect "Quarto: code-fold and code-summary: the HTML report folds the code" q.html

# --- MyST (Jupyter Book) ---------------------------------------------------------
cat >m.md <<'DOC'
# A MyST page

```{note}
A note, not code.
```

```{code-cell} python3
:tags: [remove-input]
print("cell one")
```

```{code-cell} ipython3
---
tags: [raises-exception]
---
raise ValueError("expected")
```

```{code-cell} python3
:tags: [skip-execution]
open("skipped.ran", "w").write("yes")
```

```{code-cell} python3
---
# a block list, as Jupyter Book writes it
tags:
  - remove-input
---
print("cell", 6 * 7)
```

```{raw} html
<b>raw</b>
```
DOC
"$mdrun" -q m.md -o m.out.md 2>err
[ $? = 0 ] && grep -qx 'cell one' m.out.md && ! has m.out.md 'print("cell one")' &&
	grep -qx 'cell 42' m.out.md && ! has m.out.md '6 * 7'
expect "MyST: {code-cell} runs; tags: [remove-input] (or as a YAML block list) drops its code" m.out.md err
has m.out.md 'ValueError: expected' && [ ! -e skipped.ran ]
expect "MyST: raises-exception is an expected failure, skip-execution runs nothing" m.out.md
has m.out.md 'A note, not code.' && has m.out.md '<b>raw</b>'
expect "MyST: {note} and {raw} are text, never an error" m.out.md

# --- a language in any case ----------------------------------------------------
printf '```{Python}\nprint("upper")\n```\n\n```BASH\necho shouted\n```\n' >case.md
"$mdrun" --all case.md -o case.out.md 2>err &&
	grep -qx 'upper' case.out.md && grep -qx 'shouted' case.out.md &&
	has err "2 blocks: 2 ran"
expect "{Python} and, with --all, BASH run as python and bash" case.out.md err

# --- real documents (tests/peers/, as their authors wrote them) -----------------
peers=$src/tests/peers
if "$mdrun" kernels | grep -q '^  ir '; then
	cp "$peers/027-engine-bash.Rmd" .
	"$mdrun" 027-engine-bash.Rmd -o e.md 2>err
	[ $? = 0 ] && has err "3 blocks: 3 ran" && grep -qx 'a|b|c' e.md &&
		grep -qx 'hello world' e.md
	expect "knitr-examples 027-engine-bash.Rmd runs unedited (R, engine='bash', engine='sh')" e.md err
	if Rscript -e 'library(knitr)' >/dev/null 2>&1; then
		# knitr's own run: its bash and sh chunks print the same lines
		# (after its "## ") as mdrun shows for them
		Rscript -e "knitr::knit('027-engine-bash.Rmd', output='k027.md', quiet=TRUE)" \
			>/dev/null 2>&1
		grep '^## ' k027.md | tail -4 | sed 's/^## //' >knitr.lines
		{ region e.md test-bash; region e.md test-sh; } |
			grep -v '^```\|^<!--' >mdrun.lines
		[ -s knitr.lines ] && cmp -s knitr.lines mdrun.lines
		expect "027-engine-bash.Rmd: the bash and sh chunks show what knitr shows" mdrun.lines knitr.lines
	else
		skip "027-engine-bash.Rmd against knitr" "knitr is not installed (Debian: r-cran-knitr)"
	fi
else
	skip "knitr-examples 027-engine-bash.Rmd" "IRkernel is not installed (Debian: r-cran-irkernel)"
fi
mpl=$(path_with matplotlib)
if [ -n "$mpl" ]; then
	cp "$peers/quarto-hello.qmd" .
	PATH=$mpl "$mdrun" quarto-hello.qmd -o h.md 2>err
	[ $? = 0 ] && has h.md '![A line plot on a polar axis](h_files/fig-polar-1.png)' &&
		head -c 8 h_files/fig-polar-1.png | od -c | grep -q 'P   N   G'
	expect "Quarto's matplotlib demo runs unedited: its figure, with its caption" h.md err
else
	skip "Quarto's matplotlib demo" "matplotlib is not installed (Debian: python3-matplotlib)"
fi
if [ -n "$mpl" ] && "$mdrun" kernels | grep -q '^  python3 '; then
	cp "$peers/myst-python-by-example.md" .
	PATH=$mpl "$mdrun" myst-python-by-example.md -o pbe.md 2>err
	[ $? = 0 ] && has err "30 blocks: 30 ran, 0 cached, 0 failed" &&
		[ "$(ls pbe_files/*.png | wc -l)" -ge 8 ] &&
		grep -A4 -x 'np.sqrt(4)' pbe.md | grep -qx '2.0'
	expect "QuantEcon's MyST lecture runs unedited in its kernelspec: 30 cells, the figures, the values" pbe.md err
else
	skip "QuantEcon's MyST lecture" "ipykernel or matplotlib is not installed (Debian: python3-ipykernel python3-matplotlib)"
fi

finish
