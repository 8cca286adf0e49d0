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
	"$mdrun" -q pick.md >pick.out 2>err
	shows pick.out k1 True && shows pick.out driver False &&
		shows pick.out k2 6
	expect "kernel=python3: those blocks share an ipykernel, the others the driver" pick.out err
	printf '```{python kernel=no/such}\n1\n```\n' >badk.md
	"$mdrun" -q badk.md >/dev/null 2>err
	[ $? = 2 ] && has err "badk.md:1:" && has err "'kernel': expected a kernelspec name"
	expect "kernel= with a name no kernelspec has is refused, naming the line" err
else
	skip "any kernel" "ipykernel is not installed (Debian: python3-ipykernel)"
fi

finish
