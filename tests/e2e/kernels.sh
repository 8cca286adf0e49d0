#!/usr/bin/env bash
# End-to-end tests of blocks that run in Jupyter kernels: R in IRkernel
# (built in), any kernel through mdrun.json, `mdrun kernels`.
# usage: kernels.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/k"
mkdir -p "$dir"
cd "$dir" || exit 1

"$mdrun" kernels >kernels.out 2>err
expect "mdrun kernels: exit 0" err
has kernels.out "languages that run in a kernel:" &&
	grep -Eq '^  r +ir \((not )?installed\)$' kernels.out
expect "mdrun kernels: r runs in ir, installed or not" kernels.out

# A kernel no one installed: the error names it, and what to do.
cat >mdrun.json <<'DOC'
{ "languages": { "nope": { "kernel": "no-such-kernel" } } }
DOC
printf '```{nope}\n1\n```\n' >nope.md
"$mdrun" -q nope.md >/dev/null 2>err
[ $? = 2 ] && has err "nope.md:1:4: no interpreter for 'nope': the Jupyter kernel 'no-such-kernel' is not installed"
expect "a kernel not installed is an error naming it" err
echo '{ "languages": { "nope": { "kernel": "../x" } } }' >mdrun.json
"$mdrun" -q nope.md >/dev/null 2>err
[ $? = 2 ] && has err "mdrun.json:1:" && has err "kernel: expected a kernelspec name"
expect "mdrun.json: a kernel name that is not one is an error naming the line" err
rm mdrun.json

# --- R in IRkernel ------------------------------------------------------------
if [ -d /usr/share/jupyter/kernels/ir ] || "$mdrun" kernels | grep -q '^  ir '; then
	cat >r.md <<'DOC'
```{r name=set}
x <- 41
```

```{r name=get}
x + 1
```

```{r name=plot}
plot(1:10)
```

```{r name=oops}
stop("no such thing")
```

```{r name=after}
cat("still", x, "\n")
```
DOC
	"$mdrun" -q -k r.md >r.out 2>err
	[ $? = 1 ]
	expect "R: a failing block fails the render (exit 1)" err
	shows r.out get '42'
	expect "R: state carries from block to block in one kernel" r.out
	shows_part r.out plot '![plot-1.png](r_files/plot-1.png)' &&
		head -c 8 r_files/plot-1.png | od -c | grep -q 'P   N   G'
	expect "R: a plot is a PNG next to the document, linked" r.out
	shows_part r.out oops 'Error in' && shows_part r.out oops 'no such thing' &&
		has err "block oops failed"
	expect "R: an error shows R's message and fails the block" r.out err
	shows_part r.out after 'still 41'
	expect "R: with -k, the next block runs in the same kernel" r.out
	head -12 r.md >warm.md
	"$mdrun" -q warm.md >warm1.out 2>err &&
		"$mdrun" warm.md >warm2.out 2>err &&
		has err "0 ran" && cmp -s warm1.out warm2.out
	expect "R: a warm render shows the same, running nothing" err
	"$mdrun" -q --to ipynb -k r.md -o r.ipynb 2>/dev/null
	py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	"$py" - r.ipynb <<'PY' 2>nb.err
import json, sys
nb = json.load(open(sys.argv[1]))
cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
outs = cells[2]["outputs"]
assert any("image/png" in o.get("data", {}) for o in outs), outs
PY
	expect "R: --to ipynb holds the plot as image/png" nb.err
	cat >slow.md <<'DOC'
```{r name=busy timeout=3}
y <- 1
repeat { y <- y + 1 }
```

```{r name=next}
cat("next ran\n")
```
DOC
	"$mdrun" -q -k slow.md >slow.out 2>err
	shows_part slow.out busy 'timed out' && shows_part slow.out next 'next ran'
	expect "R: timeout= stops a busy loop, and the next block runs" slow.out err
	# An edit in the middle: the blocks above it run again in a fresh
	# kernel, so the edited block sees their state and not its own old one.
	cat >mid.md <<'DOC'
```{r name=a}
n <- 10
```

```{r name=b}
n <- n * 2
cat("b:", n, "\n")
```

```{r name=c}
cat("c:", n, "\n")
```
DOC
	"$mdrun" -q mid.md >mid1.out 2>/dev/null
	sed -i 's/n <- n \* 2/n <- n * 3/' mid.md
	"$mdrun" mid.md >mid2.out 2>err
	shows_part mid1.out c 'c: 20' && shows_part mid2.out b 'b: 30' &&
		shows_part mid2.out c 'c: 30' && has err "replayed a (mid.md:1)"
	expect "R: editing the middle block replays the one above, then runs it and the next" mid2.out err
	cat >die.md <<'DOC'
```{r name=set}
z <- 5
```

```{r name=die}
tools::pskill(Sys.getpid(), tools::SIGKILL)
```

```{r name=again}
cat("fresh kernel:", !exists("z"), "\n")
```
DOC
	# As a run from the top would: the block killed the kernel, so what
	# follows starts from an empty one (no replay).
	"$mdrun" -q -k die.md >die.out 2>err
	[ $? = 1 ] && shows_part die.out die 'died during the block' &&
		shows_part die.out again 'fresh kernel: TRUE' &&
		has err "block die failed" && ! has err "block again failed"
	expect "R: a kernel killed inside a block fails only that block; the next runs in a fresh kernel" die.out err
	cat >rwarn.Rmd <<'DOC'
```{r quiet, warning=FALSE}
x <- as.integer("a")
cat("quiet done\n")
```

```{r loud}
y <- as.integer("b")
cat("loud done\n")
```
DOC
	"$mdrun" -q rwarn.Rmd -o rwarn.md 2>err
	shows_part rwarn.md quiet 'quiet done' && ! shows_part rwarn.md quiet 'NAs introduced' &&
		shows_part rwarn.md loud 'NAs introduced by coercion'
	expect "R: warning=FALSE drops that block's warnings, and only that block's" rwarn.md err
	cat >rmsg.Rmd <<'DOC'
```{r hush, message=FALSE}
message(paste("hidden", 6 * 7))
warning(paste("kept", 6 * 8))
cat(6 * 9, "\n")
```

```{r talk}
message(paste("said", 6 * 10))
```
DOC
	"$mdrun" -q rmsg.Rmd -o rmsg.md 2>err
	shows_part rmsg.md hush '54' && shows_part rmsg.md hush 'kept 48' &&
		! shows_part rmsg.md hush 'hidden 42' && shows_part rmsg.md talk 'said 60'
	expect "R: message=FALSE drops that block's messages, keeps its warnings, and only that block's" rmsg.md err
	cat >renv.md <<'DOC'
```{r name=make}
writeLines("seven", file.path(Sys.getenv("MDRUN_OUT"), "n.txt"))
```

```{r name=use deps=make}
cat("use", readLines(file.path(Sys.getenv("MDRUN_DEP_make"), "n.txt")), "\n")
```

```{r name=later}
cat("[", Sys.getenv("MDRUN_DEP_make"), "]\n")
```
DOC
	"$mdrun" -q renv.md >renv.out 2>err
	shows_part renv.out use 'use seven' && shows_part renv.out later '[  ]'
	expect "R: MDRUN_DEP_<name> is set for the block that lists it, and unset after" renv.out err
else
	skip "R" "IRkernel is not installed (Debian: r-cran-irkernel)"
fi

# --- any kernel, named in mdrun.json -------------------------------------------
if "$mdrun" kernels | grep -q '^  python3 '; then
	cat >mdrun.json <<'DOC'
{ "languages": { "ipython": { "kernel": "python3" } } }
DOC
	cat >ip.md <<'DOC'
```{ipython name=one}
n = 20
```

```{ipython name=two}
n + 1
```
DOC
	"$mdrun" -q ip.md >ip.out 2>err
	shows ip.out two '21'
	expect "mdrun.json: a language in the python3 kernel keeps state" ip.out err
	rm mdrun.json
	cat >pick.md <<'DOC'
```{python name=k1 kernel=python3}
import sys
k = 5
print("ipykernel" in sys.modules)
```

```{python name=driver}
import sys
print("ipykernel" in sys.modules)
```

```{python name=k2 kernel=python3}
k + 1
```
DOC
	IPYTHONDIR="$dir/ipython" "$mdrun" -q pick.md >pick.out 2>err
	shows pick.out k1 True && shows pick.out driver False &&
		shows pick.out k2 6
	expect "kernel=python3: those blocks share an ipykernel, the others the driver" pick.out err
	[ -d "$dir/ipython" ] && [ -z "$(find "$dir/ipython" -name 'history.sqlite*')" ]
	expect "ipykernel: a render writes nothing to the user's IPython history" err
	printf '```{python kernel=no/such}\n1\n```\n' >badk.md
	"$mdrun" -q badk.md >/dev/null 2>err
	[ $? = 2 ] && has err "badk.md:1:" && has err "'kernel': expected a kernelspec name"
	expect "kernel= with a name no kernelspec has is refused, naming the line" err
	cat >fm.md <<'DOC'
---
title: Kernels from the front matter
mdrun:
  kernels:
    python: python3
---

```{python name=f1}
import sys
f = 7
print("ipykernel" in sys.modules)
```

```{python name=f2 deps=f1}
import os
print(f * 6, sorted(k for k in os.environ if k.startswith("MDRUN_DEP_")))
```

```{python name=f3}
import os
print(sorted(k for k in os.environ if k.startswith("MDRUN_DEP_")))
```
DOC
	"$mdrun" -q fm.md >fm.out 2>err
	shows fm.out f1 True && shows fm.out f2 "42 ['MDRUN_DEP_f1']" &&
		shows fm.out f3 "[]"

	expect "front matter kernels: (block form): python's blocks share an ipykernel, each with its deps' variables" fm.out err
	cat >fm2.md <<'DOC'
---
mdrun: {run: all, kernels: {python: "python3"}}
---

```python
import sys
print("ipykernel" in sys.modules)
```
DOC
	"$mdrun" -q fm2.md >fm2.out 2>err
	shows fm2.out python-1 True
	expect "front matter kernels: (flow form, quoted) with run: all" fm2.out err
	cat >kwarn.md <<'DOC'
```{python kernel=python3 name=quiet warning=false}
import warnings
warnings.warn("hush %d" % (6 * 7))
print(6 * 8)
```

```{python kernel=python3 name=loud}
warnings.warn("said %d" % (6 * 9))
```
DOC
	"$mdrun" -q kwarn.md >kwarn.out 2>err
	shows_part kwarn.out quiet 48 && ! shows_part kwarn.out quiet 'hush 42' &&
		shows_part kwarn.out loud 'said 54'
	expect "ipykernel: warning=false drops that block's warnings, and only that block's" kwarn.out err
	printf -- '---\nmdrun:\n  kernels: {python: no/such}\n---\n' >fm3.md
	"$mdrun" -q fm3.md >/dev/null 2>err
	[ $? = 2 ] && has err "fm3.md:3:21: kernels: expected 'language: kernelspec name'"
	expect "front matter kernels: a bad kernel name is refused at its line and column" err
	printf -- '---\nmdrun: {kernels: {python: python3}\n---\n' >fm4.md
	"$mdrun" -q fm4.md >/dev/null 2>err
	[ $? = 2 ] && has err "fm4.md:2:" && has err "unbalanced braces"
	expect "front matter kernels: an unclosed mapping is refused at its line" err
	# A kernel block's rows are written while the next block runs: a
	# kill then loses no block that had ended.
	printf '```{python kernel=python3}\nprint(6 * 7)\n```\n\n```{python kernel=python3}\nopen("started", "w").close()\nimport time; time.sleep(30)\n```\n' >kkill.md
	{ MDRUN_STORE="$PWD/store-kkill" kill_at "$PWD/started" kkill.md -j 1 &&
		planned python-1 yes && planned python-2 no; }
	expect "kill -9 while a kernel's second block runs: the first block's run is kept" "$work/plan.out"
else
	skip "any kernel" "ipykernel is not installed (Debian: python3-ipykernel)"
fi

finish
