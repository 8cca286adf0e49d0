#!/usr/bin/env bash
# Many documents at once (files, folders, globs) for render, check, plan
# and strip; strip giving the source back; --color, NO_COLOR, TERM=dumb.
set -u
. "$(dirname "$0")/lib.sh"

cd "$work"
mkdir -p proj/docs/sub proj/build proj/.hidden proj/docs/a_files
cd proj
git init -q . 2>/dev/null || true
echo 'build/' >.gitignore
block() { printf '```{sh}\necho $((%s))\n```\n' "$1"; }
block '6 * 7' >docs/a.md
block '2 + 3' >docs/sub/b.Rmd
printf -- '---\ntitle: q\n---\n\n' >docs/sub/c.qmd
block '10 - 1' >>docs/sub/c.qmd
block '1 + 1' >build/ignored.md
block '1 + 2' >.hidden/hidden.md
block '1 + 3' >docs/a_files/made.md
echo 'not a document' >docs/notes.txt
cp -r docs ../docs.orig

# --- render ---------------------------------------------------------------
"$mdrun" render docs >out.txt 2>err.txt
[ $? = 2 ] && has err.txt 'use -i' && [ ! -s out.txt ] && same docs/a.md ../docs.orig/a.md
expect "render: several documents without -i or --to is a usage error" err.txt

"$mdrun" -i . >out.txt 2>err.txt
expect "render -i .: exits 0" err.txt
shows docs/a.md 1 42 && shows docs/sub/b.Rmd 1 5 && shows docs/sub/c.qmd 1 9
expect "render -i .: every document in the folder has its output" docs/a.md err.txt
same build/ignored.md <(block '1 + 1') && same .hidden/hidden.md <(block '1 + 2') &&
	same docs/a_files/made.md <(block '1 + 3')
expect "render -i .: .gitignore'd, hidden and _files folders are left alone" err.txt
has err.txt 'mdrun: docs/a.md: 1 block: 1 ran' &&
	has err.txt 'mdrun: docs/sub/c.qmd: 1 block: 1 ran' &&
	has err.txt 'mdrun: 3 documents: 3 blocks: 3 ran, 0 cached, 0 failed; 0 errors'
expect "render -i .: a summary line per document and one in all" err.txt

"$mdrun" -i . 2>err.txt
has err.txt 'mdrun: 3 documents: 3 blocks: 0 ran, 3 cached, 0 failed; 0 errors'
expect "render -i .: a second render runs nothing" err.txt

"$mdrun" --to html docs 2>err.txt
[ -f docs/a.html ] && [ -f docs/sub/b.html ] && [ -f docs/sub/c.html ] &&
	grep -q '>42<\|>42$\|^42' docs/a.html
expect "render --to html DIR: each page beside its document" err.txt

"$mdrun" -i 'docs/sub/*' 2>err.txt
has err.txt 'mdrun: 2 documents:' && ! has err.txt 'notes.txt'
expect "render: a quoted glob names the documents it matches" err.txt
"$mdrun" -i 'docs/*.nothing' 2>err.txt
[ $? = 2 ] && has err.txt 'docs/*.nothing: no file matches'
expect "render: a glob matching nothing is an error" err.txt
"$mdrun" -i docs/missing.md docs/a.md 2>err.txt
[ $? = 2 ] && has err.txt 'docs/missing.md: No such file'
expect "render: a missing document is an error" err.txt

# The worst exit code: a failing block (1), a malformed document (2); the
# others are rendered all the same.
mkdir -p worst
printf '```{sh}\necho before; exit 3\n```\n' >worst/1-fails.md
printf '```{sh ecko=true}\necho x\n```\n' >worst/2-bad.md
block '4 * 4' >worst/3-fine.md
"$mdrun" -i worst 2>err.txt
rc=$?
[ $rc = 2 ] && shows worst/3-fine.md 1 16 && shows worst/1-fails.md 1 before &&
	has err.txt "worst/2-bad.md:1:" && has err.txt '1 error'
expect "render -i DIR: exit code is the worst (2), every document rendered" err.txt
rm worst/2-bad.md
"$mdrun" -i worst 2>err.txt
[ $? = 1 ]
expect "render -i DIR: a failed block makes it 1" err.txt
rm -r worst

# --- check and plan -------------------------------------------------------
"$mdrun" check . 2>err.txt >out.txt
expect "check .: every rendered document is current" err.txt out.txt
has err.txt 'checked 3 documents: 3 ok'
expect "check .: counts the documents the folder holds" err.txt
sed -i 's/6 \* 7/6 * 8/' docs/a.md
"$mdrun" check docs >out.txt 2>err.txt
[ $? = 1 ] && has out.txt '+48' && has err.txt 'docs/a.md:1: block sh-1'
expect "check DIR: an edited document is stale, with its diff" out.txt err.txt
"$mdrun" check --color=always docs >out.txt 2>err.txt
grep -q $'\033\\[32m+48' out.txt
expect "check --color=always: the diff's added lines are green" out.txt
"$mdrun" check docs >out.txt 2>err.txt
! grep -q $'\033' out.txt
expect "check: no escape codes when not on a terminal" out.txt

sed -i 's/6 \* 8/6 * 9/' docs/a.md
"$mdrun" plan docs >out.txt 2>err.txt
has out.txt 'docs/a.md:' && has out.txt 'docs/sub/c.qmd:' &&
	grep -q '^sh-1 .* no ' out.txt
expect "plan DIR: a table per document, under its name" out.txt err.txt
"$mdrun" plan --json docs >out.json 2>err.txt
python3 -c '
import json, sys
d = json.load(open("out.json"))["documents"]
names = [x["document"] for x in d]
assert names == ["docs/a.md", "docs/sub/b.Rmd", "docs/sub/c.qmd"], names
a = d[0]["stages"][0]
assert a["cached"] is False, a
assert all(x["stages"][0]["cached"] for x in d[1:]), d
'
expect "plan --json DIR: the documents, each with its stages" out.json err.txt
"$mdrun" -q -i docs

# --- strip ----------------------------------------------------------------
"$mdrun" strip --check docs >out.txt 2>err.txt
[ $? = 1 ] && has err.txt 'docs/a.md: has 1 output' &&
	has err.txt 'docs/sub/c.qmd: has 1 output'
expect "strip --check: exit 1, naming each document with outputs" err.txt
cp docs/a.md a.rendered
"$mdrun" strip -o - docs/a.md >out.txt 2>err.txt
same out.txt <(block '6 * 9') && same docs/a.md a.rendered
expect "strip -o -: the source on standard output, the file untouched" out.txt
"$mdrun" strip - <a.rendered >out.txt 2>err.txt
same out.txt <(block '6 * 9')
expect "strip -: reads standard input" out.txt err.txt
"$mdrun" strip docs 2>err.txt
same docs/sub/b.Rmd ../docs.orig/sub/b.Rmd && same docs/sub/c.qmd ../docs.orig/sub/c.qmd &&
	same docs/a.md <(block '6 * 9')
expect "strip DIR: each document is its source again, byte for byte" err.txt
"$mdrun" strip --check docs 2>err.txt
expect "strip --check: 0 once stripped" err.txt
touch -d '2001-01-01' docs/a.md
"$mdrun" strip docs/a.md 2>err.txt
[ "$(stat -c %Y docs/a.md)" = "$(date -d 2001-01-01 +%s)" ] && [ ! -s err.txt ]
expect "strip: a document without outputs is not rewritten" err.txt

# Every kind of addition: output regions in quotes and lists, an inline
# value, an included document, a hidden block's output, CRLF endings.
mkdir -p kinds
cat >kinds/_part.qmd <<'EOF'
## Part

```{python}
x += 1
print(x * 2)
```
EOF
cat >kinds/doc.qmd <<'EOF'
---
title: kinds
---

```{python}
x = 40
```

{{< include _part.qmd >}}

The answer: `{python} x + 1`.

> ```{python}
> print(x - 1)
> ```

- item

  ```{python}
  print(x // 2)
  ```

```{python echo=false}
print("shown alone")
```
EOF
sed 's/$/\r/' kinds/doc.qmd >kinds/crlf.md
sed -i 's/{{< include _part.qmd >}}\r//' kinds/crlf.md
cp kinds/doc.qmd kinds/doc.orig
cp kinds/crlf.md kinds/crlf.orig
if command -v python3 >/dev/null; then
	"$mdrun" -q -i kinds/doc.qmd kinds/crlf.md 2>err.txt
	grep -q 'mdrun:value -->42<' kinds/doc.qmd && has kinds/doc.qmd '<!-- mdrun:include -->' &&
		shows kinds/doc.qmd 2 82
	expect "strip: the rendered documents hold every kind of addition" err.txt kinds/doc.qmd
	"$mdrun" strip -q kinds/doc.qmd kinds/crlf.md 2>err.txt
	same kinds/doc.qmd kinds/doc.orig && same kinds/crlf.md kinds/crlf.orig
	expect "strip: outputs, values, includes, quotes, lists and CRLF all go" err.txt
	"$mdrun" -q -i kinds/doc.qmd 2>err.txt && "$mdrun" -q -i kinds/doc.qmd 2>>err.txt &&
		"$mdrun" strip -q kinds/doc.qmd && same kinds/doc.qmd kinds/doc.orig
	expect "strip: after two renders, still the source" err.txt
else
	skip "strip: every kind of addition" "python3 missing"
fi

# strip leaves what render leaves: a region after a plain block is text;
# --all takes it (a document rendered with --all); a bad option or a
# duplicate name is no reason to refuse.
printf '```text\nplain\n```\n<!-- mdrun:out -->\nkept\n<!-- /mdrun:out -->\n' >plain.md
"$mdrun" strip -o - plain.md >out.txt 2>err.txt && same out.txt plain.md
expect "strip: a region after a plain block stays" out.txt err.txt
printf '```sh\necho x\n```\n<!-- mdrun:out -->\n```output\nx\n```\n<!-- /mdrun:out -->\n' >all.md
"$mdrun" strip --all -o - all.md >out.txt 2>err.txt && same out.txt <(printf '```sh\necho x\n```\n')
expect "strip --all: a plain block's region goes" out.txt err.txt
printf '```{sh timeout=abc}\necho x\n```\n<!-- mdrun:out -->\nx\n<!-- /mdrun:out -->\n' >badopt.md
"$mdrun" strip -o - badopt.md >out.txt 2>err.txt &&
	same out.txt <(printf '```{sh timeout=abc}\necho x\n```\n')
expect "strip: a document with a bad option is still stripped" out.txt err.txt

# The same document by two paths is rendered once; two documents that
# would write one page are refused.
mkdir -p twice
block '2 * 21' >twice/a.md
cp twice/a.md twice/a.qmd
ln -s twice again
"$mdrun" -i ./twice/a.md twice/a.md again/a.md 2>err.txt &&
	has err.txt 'mdrun: 1 document: 1 block'
expect "render: one document named by three paths renders once" err.txt
"$mdrun" --to html twice 2>err.txt
[ $? = 2 ] && has err.txt 'two documents would both be written to twice/a.html'
expect "render --to html: a.md and a.qmd are refused, not overwritten" err.txt

# plan --json of a document that cannot be planned prints no JSON.
printf '```{sh ecko=1}\necho\n```\n' >badplan.md
"$mdrun" plan --json badplan.md >out.txt 2>err.txt
[ $? = 2 ] && [ ! -s out.txt ]
expect "plan --json: nothing on standard output for a document in error" out.txt err.txt

# --- colour and terminals -------------------------------------------------
# script(1) gives mdrun a terminal; the live line redraws with ESC [K.
if command -v script >/dev/null; then
	block '7 * 7' >tty.md
	live() { script -qec "$*" /dev/null </dev/null >tty.txt 2>&1; }
	live "'$mdrun' --rebuild tty.md"
	grep -q $'\033\\[K' tty.txt
	expect "terminal: a live progress line by default" tty.txt
	live "env NO_COLOR=1 '$mdrun' --rebuild tty.md"
	! grep -q $'\033' tty.txt && grep -q 'ran sh-1' tty.txt
	expect "terminal: NO_COLOR gives plain lines, no escape codes" tty.txt
	live "env TERM=dumb '$mdrun' --rebuild tty.md"
	! grep -q $'\033' tty.txt
	expect "terminal: TERM=dumb gives no escape codes" tty.txt
	live "'$mdrun' --color=never --rebuild tty.md"
	! grep -q $'\033' tty.txt
	expect "terminal: --color=never gives no escape codes" tty.txt
else
	skip "terminal: live line and NO_COLOR" "script(1) missing"
fi
"$mdrun" --color=always --rebuild tty.md >/dev/null 2>err.txt
grep -q $'\033\\[K' err.txt
expect "--color=always: the live line without a terminal" err.txt
"$mdrun" --color=sometimes tty.md >/dev/null 2>err.txt
[ $? = 2 ] && has err.txt '--color needs auto, always or never'
expect "--color: a bad value is a usage error" err.txt

finish
