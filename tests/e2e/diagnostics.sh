#!/usr/bin/env bash
# End-to-end tests of diagnostics: tracebacks, warnings and shell errors
# name the document and its lines, and python finds a block's source.
# usage: diagnostics.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

dir="$work/d"
mkdir -p "$dir"
cd "$dir" || exit 1

# line FILE TEXT: the number of the document line that holds TEXT.
line() { grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1; }
# follows FILE A B: a line holding A is followed by one holding B.
follows() {
	awk -v a="$2" -v b="$3" '
		prev && index($0, b) { ok = 1 }
		{ prev = index($0, a) > 0 }
		END { exit !ok }
	' "$1"
}

cat >diag.md <<'DOC'
# Diagnostics

Prose first, so that the blocks' lines are far from their code's.

```{python name=defs}
def twice(n):
    return 2 * n

def ratio(n):
    return 1 / n
```

Some more prose.

```{python name=tb error=true}
values = [1, 2]
total = sum(values)
ratio(total - 3)
```

```{python name=warn error=true}
import warnings
warnings.warn("take care")
```

```{python name=src error=true}
import inspect
print(inspect.getsource(twice), end="")
```

```{python name=globals error=true}
print("builtins:", type(__builtins__).__name__)
print("small:", len(repr(locals())) < 2000)
print("annotations:", type(__annotations__).__name__)
print("main:", __name__)
```

```{python name=syntax error=true}
x = 1
y = = 2
```

```{python name=alone session=none error=true}
def thrice(n):
    return 3 * n
import inspect
print(inspect.getsource(thrice), end="")
thrice(1, 2)
```

```{bash name=b1 error=true}
echo "bash line $LINENO"
not_a_command_b
```

```{sh name=s1 error=true}
: first
not_a_command_s
```

```{bash name=b2 session=none error=true}
:
not_a_command_nb
```

```{sh name=s2 session=none error=true}
:
not_a_command_ns
```
DOC
"$mdrun" -q diag.md -o diag.out 2>err
[ $? = 0 ]
expect "a document whose blocks fail as expected renders" err

# --- python in a session -----------------------------------------------
region diag.out tb >tb
n=$(line diag.md 'ratio(total - 3)')
d=$(line diag.md 'return 1 / n')
has tb "File \"diag.md\", line $n, in <module>" &&
	follows tb "File \"diag.md\", line $n, in <module>" 'ratio(total - 3)'
expect "python: a traceback names the document and the line in it, and quotes it" tb
has tb "File \"diag.md\", line $d, in ratio" &&
	follows tb "File \"diag.md\", line $d, in ratio" 'return 1 / n'
expect "python: a function from an earlier block is cited at its own line" tb

region diag.out warn >warn
n=$(line diag.md 'warnings.warn("take care")')
has warn "diag.md:$n: UserWarning: take care" &&
	follows warn "diag.md:$n: UserWarning" 'warnings.warn("take care")'
expect "python: a warning names the document's line and quotes it" warn

region diag.out src >src
{ has src 'def twice(n):' && has src 'return 2 * n'; }
expect "python: inspect.getsource of a function from an earlier block" src

region diag.out globals >globals
{ has globals "builtins: module" && has globals "small: True" &&
	has globals "annotations: dict" && has globals "main: __main__"; }
expect "python: __builtins__ is the module, __annotations__ a dict, as in a script" globals

region diag.out syntax >syntax
n=$(line diag.md 'y = = 2')
{ has syntax "File \"diag.md\", line $n" && has syntax "SyntaxError"; }
expect "python: a syntax error names the document's line" syntax

# A block that moved to a folder holding a module named as one the
# traceback module imports (token.py): the next failure still shows.
mkdir -p shadow
echo 'raise ImportError("not the standard token module")' >shadow/token.py
cat >shadow.md <<'DOC'
```{python name=move}
import os
os.chdir("shadow")
```

```{python name=fail error=true}
{}["missing"]
```
DOC
"$mdrun" -q shadow.md -o shadow.out 2>err
n=$(line shadow.md '{}["missing"]')
{ region shadow.out fail >fail && has fail "File \"shadow.md\", line $n, in <module>" &&
	has fail "KeyError: 'missing'"; }
expect "python: a traceback shows after a block moved to a folder whose token.py shadows python's" fail err

# A select.py beside the document: the driver's own select (it asks for
# the next request with it) is python's, and a block's is the one a
# script there gets: the document's, unless select is built into python
# (as in Debian's), which comes first.
mkdir -p own
echo 'WHO = "the document'"'"'s select"' >own/select.py
cat >own/sel.md <<'DOC'
```{python}
x = 1
```

```{python}
import select
print(getattr(select, "WHO", "python's select"), x + 1)
```
DOC
script=$(cd own && python3 -c 'import select
print(getattr(select, "WHO", "python'"'"'s select"))')
(cd own && "$mdrun" -q sel.md -o sel.out 2>../err)
shows own/sel.out python-2 "$script 2"
expect "python: a select.py beside the document: blocks import what a script would ($script), and the session runs" own/sel.out err

# --- python alone --------------------------------------------------------
region diag.out alone >alone
n=$(line diag.md 'thrice(1, 2)')
{ has alone "File \"diag.md\", line $n, in <module>" &&
	follows alone "File \"diag.md\", line $n" 'thrice(1, 2)' &&
	! has alone '<string>' && has alone 'TypeError'; }
expect "python session=none: the traceback names the document's line, not a wrapper" alone
{ has alone 'def thrice(n):' && has alone 'return 3 * n'; }
expect "python session=none: inspect.getsource works" alone

# --- shells ----------------------------------------------------------------
region diag.out b1 >b1
n=$(line diag.md 'not_a_command_b')
{ has b1 "diag.md: line $n: not_a_command_b: command not found" &&
	has b1 "bash line $((n - 1))"; }
expect "bash: an error names the document and its line; so does \$LINENO" b1

region diag.out s1 >s1
n=$(line diag.md 'not_a_command_s')
grep -Eq "^diag\.md: (line )?$n: .*not_a_command_s" s1
expect "sh: an error names the document and its line" s1

region diag.out b2 >b2
n=$(line diag.md 'not_a_command_nb')
has b2 "diag.md: line $n: not_a_command_nb: command not found"
expect "bash session=none: an error names the document and its line" b2

region diag.out s2 >s2
n=$(line diag.md 'not_a_command_ns')
grep -Eq "^diag\.md: (line )?$n: .*not_a_command_ns" s2
expect "sh session=none: an error names the document and its line" s2

# An info string with a byte that is not UTF-8: cmark reads the fence
# line as text, so the block would silently not run. One line names it.
printf 'Intro\n```{bash name=a\377b}\necho ran\n```\n' >bad8.md
printf -- '- item\n\n  > ```{bash}\300\257\n  > echo ran\n  > ```\n' >bad8q.md
for f in bad8 bad8q; do
	"$mdrun" $f.md -o $f.out 2>$f.err
	echo $? >$f.code
done
{ [ "$(cat bad8.code)" = 2 ] && [ "$(wc -l <bad8.err)" = 1 ] &&
	has bad8.err "bad8.md:2:16: invalid UTF-8 (byte 0xff) in the info string" &&
	[ ! -e bad8.out ]; }
expect "invalid UTF-8 in an info string: FILE:LINE:COL, exit 2, nothing written" bad8.err
{ [ "$(cat bad8q.code)" = 2 ] && has bad8q.err "bad8q.md:3:14: invalid UTF-8 (byte 0xc0)"; }
expect "invalid UTF-8 in an info string inside a list and a quote" bad8q.err

finish
