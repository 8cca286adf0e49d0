#!/usr/bin/env bash
# End-to-end tests of mdrun check, as a CI job uses it, in a scratch git
# repository. usage: check.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null || skip_all "git is not installed"

repo="$work/repo"
mkdir -p "$repo"
cd "$repo" || exit 1
git init -q .
git config user.email ci@example.com
git config user.name CI
# A store outside the repository, so git status stays about the documents.
export MDRUN_STORE="$work/store"
unset GITHUB_ACTIONS

cat >doc.md <<'DOC'
# Report

```{sh name=greet}
echo hello
```

Some prose.

```{sh name=count}
seq 3
```
DOC
"$mdrun" render -q -i doc.md && git add doc.md && git commit -qm doc
cp doc.md doc.orig

"$mdrun" check doc.md >out 2>err
{ [ $? = 0 ] && has err "doc.md: ok (2 blocks: 0 ran, 2 cached)" && [ ! -s out ]; }
expect "a current document passes: exit 0, nothing on stdout, every block cached"
same doc.md doc.orig
expect "check never writes the document"

sed -i 's/echo hello/echo goodbye/' doc.md
cp doc.md doc.edited
"$mdrun" check doc.md >out 2>err
code=$?
{ [ $code = 1 ] && has out "--- a/doc.md" && has out "+++ b/doc.md" &&
	grep -qxF -- -hello out && grep -qxF -- +goodbye out && grep -q '^@@ ' out; }
expect "an edited block: exit 1 and a unified diff from the file on disk to the render" out err
has err "doc.md:3: block greet: output is not current"
expect "a stale block is named by FILE:LINE"
has err "mdrun render -i doc.md"
expect "a stale document says how to bring it up to date"
same doc.md doc.edited
expect "a stale document is left as it is"
"$mdrun" render -q -i doc.md && "$mdrun" check -q doc.md >out 2>err
{ [ $? = 0 ] && [ ! -s out ] && [ ! -s err ]; }
expect "once rendered, it passes again; -q prints nothing"

printf '```{sh name=quiet}\necho loud\n```\n\nafter\n' >gone.md
"$mdrun" render -q -i gone.md && sed -i 's/echo loud/true/' gone.md
"$mdrun" check gone.md >out 2>err
{ [ $? = 1 ] && has err "gone.md:1: block quiet: output is not current" && ! has err "differs from"; }
expect "a block that no longer prints: its old output region is its own, not the prose's" err

cat >fail.md <<'DOC'
```{sh name=fine}
echo fine
```

```{sh name=bad}
echo 'about to fail' >&2
echo partial
exit 3
```
DOC
"$mdrun" check fail.md >out 2>err
{ [ $? = 1 ] && has err "fail.md:5: block bad failed (exit 3)"; }
expect "a failing block: exit 1 and 'FILE:LINE: block NAME failed (exit N)'" err
[ "$(grep -c 'block bad failed' err)" = 1 ]
expect "the failure is said once"

GITHUB_ACTIONS=true "$mdrun" check fail.md doc.md >out 2>err
{ has out "::error file=fail.md,line=5,title=mdrun check::block bad failed (exit 3)" &&
	! grep -q "file=doc.md" out; }
expect "GITHUB_ACTIONS=true: failures become ::error annotations with file and line" out
sed -i 's/echo goodbye/echo hello again/' doc.md
GITHUB_ACTIONS=true "$mdrun" check doc.md >out 2>err
has out "::error file=doc.md,line=3,title=mdrun check::block greet%3A output is not current" ||
	has out "::error file=doc.md,line=3,title=mdrun check::block greet: output is not current"
expect "GITHUB_ACTIONS=true: a stale block is annotated on its line" out
mkdir -p sub
(cd sub && GITHUB_ACTIONS=true "$mdrun" check ../fail.md >../out 2>/dev/null)
has out "::error file=fail.md,line=5"
expect "annotations name files from the repository root, wherever check runs"
"$mdrun" render -q -i doc.md

"$mdrun" render -q -i fail.md 2>/dev/null
"$mdrun" check --junit report.xml fail.md doc.md >out 2>err
code=$?
badline=$(grep -n 'name=bad' fail.md | cut -d: -f1)
python3 - report.xml "$badline" >jerr 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert [s.get("name") for s in suites] == ["fail.md", "doc.md"], suites
cases = {c.get("name"): c for c in root.iter("testcase")}
assert set(cases) == {"fine", "bad", "greet", "count"}, cases
f = cases["bad"].find("failure")
assert f is not None and f.get("type") == "failed", f
assert f.get("message") == "block bad failed (exit 3)", f.get("message")
assert "about to fail" in (f.text or ""), f.text
assert "partial" in cases["bad"].find("system-out").text
assert cases["fine"].find("failure") is None
assert cases["bad"].get("line") == sys.argv[2], cases["bad"].get("line")
assert cases["bad"].get("file") == "fail.md"
assert root.get("tests") == "4" and root.get("failures") == "1", root.attrib
PY
{ [ $code = 1 ] && [ ! -s jerr ]; }
expect "--junit: one testsuite per document, one testcase per block, failures carry stderr and stdout" jerr

# Hostile output stays well-formed XML.
cat >weird.md <<'DOC'
```{sh name=weird}
printf '<x>&amp; "q" \001\033[31m]]> \377\n'
exit 1
```
DOC
"$mdrun" check --junit weird.xml weird.md >/dev/null 2>&1
python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' weird.xml 2>jerr
expect "--junit: markup, control bytes and invalid UTF-8 in output stay well-formed XML" jerr

# IN -o OUT pairs.
cat >pair.md.in <<'DOC'
```{sh name=p}
echo from the pair
```
DOC
"$mdrun" check pair.md.in -o pair.md >out 2>err
{ [ $? = 1 ] && has err "pair.md:1: pair.md does not exist"; }
expect "IN -o OUT: a missing OUT is stale" err
"$mdrun" render -q pair.md.in -o pair.md && "$mdrun" check pair.md.in -o pair.md >out 2>err
expect "IN -o OUT: once rendered, the pair passes"
sed -i 's/from the pair/from the edited pair/' pair.md.in
"$mdrun" check pair.md.in -o pair.md >out 2>err
{ [ $? = 1 ] && has out "--- a/pair.md" && grep -qxF -- "+from the edited pair" out &&
	has err "pair.md.in:1: block p: output is not current" &&
	has err "mdrun render pair.md.in -o pair.md"; }
expect "IN -o OUT: an edited input makes OUT stale, the block named in IN" out err
"$mdrun" render -q pair.md.in -o pair.md
echo "hand edit" >>pair.md
"$mdrun" check pair.md.in -o pair.md >out 2>err
{ [ $? = 1 ] && has err "pair.md:9: pair.md differs from what pair.md.in renders to" && grep -qxF -- "-hand edit" out; }
expect "IN -o OUT: prose edited by hand in OUT is reported at its line" err
"$mdrun" render -q pair.md.in -o pair.md

# Artifacts: a linked file that is not there.
cat >img.md <<'DOC'
```{sh name=img}
printf 'P1\n1 1\n1\n' > "$MDRUN_OUT/dot.pbm"
echo drawn
```
DOC
"$mdrun" render -q -i img.md && "$mdrun" check img.md >/dev/null 2>err
expect "artifacts: a document whose files are in place passes" err
rm -rf img_files
"$mdrun" check img.md >/dev/null 2>err
{ [ $? = 1 ] && has err "img_files/" && has err "is missing" && [ ! -e img_files ]; }
expect "artifacts: a linked file missing from FILE_files/ is stale, and check does not write it" err
"$mdrun" render -q -i img.md

# --fresh and --repeat.
: >"$work/runs.log"
cat >fresh.md <<DOC
\`\`\`{sh name=tick}
echo tick >> "$work/runs.log"
echo steady
\`\`\`
DOC
"$mdrun" render -q -i fresh.md
n0=$(find "$MDRUN_STORE/store" -mindepth 1 -maxdepth 1 | wc -l)
"$mdrun" check fresh.md >/dev/null 2>&1 && "$mdrun" check --fresh fresh.md >out 2>err
{ [ $? = 0 ] && [ "$(wc -l <"$work/runs.log")" = 2 ] && has err "fresh.md: ok (1 block: 1 ran, 0 cached)"; }
expect "--fresh: every block runs again although the store has it" err
[ "$(find "$MDRUN_STORE/store" -mindepth 1 -maxdepth 1 | wc -l)" = "$n0" ]
expect "--fresh: the store is left untouched"
"$mdrun" check --repeat fresh.md >out 2>err
{ [ $? = 0 ] && [ "$(wc -l <"$work/runs.log")" = 3 ]; }
expect "--repeat: a deterministic block runs again and passes" err
cat >rand.md <<'DOC'
```{sh name=dice}
od -An -N8 -tx8 /dev/urandom
```

```{sh name=many session=none nouts=2}
od -An -N8 -tx8 /dev/urandom
```
DOC
"$mdrun" render -q -i rand.md
"$mdrun" check --repeat --junit rand.xml rand.md >out 2>err
{ [ $? = 1 ] && has err "rand.md:1: block dice is not deterministic" &&
	has out "--- a/dice/stdout" && ! has err "block many is not"; }
expect "--repeat: a block whose output changes is reported with a diff; nouts>1 blocks are exempt" out err
grep -q 'type="non-deterministic"' rand.xml
expect "--repeat: the JUnit report says non-deterministic"
# A session whose later member is skipped (its deps= failed): the run of
# the member before it is in the store when check compares, as always.
cat >skipped.md <<'DOC'
```{sh name=gate session=none}
exit 1
```

```{bash name=dice2}
date +%N
```

```{bash name=after deps=gate}
echo after
```
DOC
"$mdrun" render -q -k -i skipped.md 2>/dev/null
"$mdrun" check --repeat skipped.md >out 2>err
has err "block dice2 is not deterministic"
expect "--repeat: a session member before a skipped one is compared too" err

# Usage errors.
"$mdrun" check >out 2>err
{ [ $? = 2 ] && has err "no document given"; }
expect "no document: exit 2"
"$mdrun" check -o x.md doc.md >out 2>err
{ [ $? = 2 ] && has err "name the input first"; }
expect "-o before any input: exit 2"
printf '```{sh bogus=1}\necho\n```\n' >badopt.md
"$mdrun" check badopt.md doc.md >out 2>err
{ [ $? = 2 ] && has err "badopt.md:1:" && has err "doc.md: ok"; }
expect "a configuration error: exit 2 naming FILE:LINE:COL, and the other documents are still checked" err
has err "mdrun: checked 2 documents: 1 ok, 0 stale, 0 failed, 1 error"
expect "the summary counts one error in the singular" err
"$mdrun" check badopt.md >/dev/null 2>err
has err "mdrun: checked 1 document: 0 ok, 0 stale, 0 failed, 1 error"
expect "the summary counts one document in the singular" err
"$mdrun" check -h >out 2>err
{ [ $? = 0 ] && has out "usage: mdrun check" && [ ! -s err ]; }
expect "check -h prints the help on stdout, exit 0"
"$mdrun" check --shard 3/2 doc.md >/dev/null 2>err
{ [ $? = 2 ] && has err "--shard"; }
expect "--shard out of range: exit 2"
"$mdrun" check --help >out
{ [ $? = 0 ] && has out "--changed-since" && has out "exit status"; }
expect "check --help explains the options and the exit status"
rm -f badopt.md

# --changed-since and --shard.
git add -A && git commit -qm all
echo "data 1" >data.txt
cat >usesdata.md <<'DOC'
```{sh name=reader inputs=data.txt}
cat data.txt
```
DOC
"$mdrun" render -q -i usesdata.md
git add -A && git commit -qm data
base=$(git rev-parse HEAD)
"$mdrun" check --changed-since "$base" doc.md fail.md usesdata.md >out 2>err
{ [ $? = 0 ] && has err "checked 0 documents"; }
expect "--changed-since: nothing changed, nothing checked" err
sed -i 's/echo hello again/echo hello once more/' doc.md
"$mdrun" check --changed-since "$base" doc.md fail.md usesdata.md >out 2>err
{ [ $? = 1 ] && has err "checked 1 document:" && ! has err "fail.md"; }
expect "--changed-since: only the edited document is checked" err
"$mdrun" check --changed-since "$base" >out 2>err
{ [ $? = 1 ] && has err "checked 1 document:" && has err "doc.md:3: block greet"; }
expect "--changed-since without files: every changed .md file" err
git checkout -q doc.md
echo "data 2" >data.txt
"$mdrun" check --changed-since "$base" doc.md usesdata.md >out 2>err
{ [ $? = 1 ] && has err "checked 1 document:" && has err "usesdata.md:1: block reader"; }
expect "--changed-since: a document whose inputs= file changed is checked" err
git checkout -q data.txt
"$mdrun" check --changed-since no-such-rev doc.md >out 2>err
{ [ $? = 2 ] && has err "no-such-rev"; }
expect "--changed-since: an unknown revision is exit 2"
for i in 1 2 3; do
	"$mdrun" check --shard "$i/3" doc.md fail.md usesdata.md img.md fresh.md 2>&1 |
		sed -n 's/^mdrun: \(.*\): ok .*/\1/p; s/^\([a-z.]*\):[0-9]*: block .*/\1/p' | sort -u >"shard$i"
done
{ cat shard1 shard2 shard3 | sort >all && [ "$(sort -u all | wc -l)" = 5 ] && [ "$(wc -l <all)" = 5 ] &&
	[ -s shard1 ] && [ -s shard2 ] && [ -s shard3 ]; }
expect "--shard I/N: the slices cover every document once" shard1 shard2 shard3
"$mdrun" check --shard 2/3 fresh.md img.md doc.md fail.md usesdata.md 2>&1 |
	sed -n 's/^mdrun: \(.*\): ok .*/\1/p; s/^\([a-z.]*\):[0-9]*: block .*/\1/p' | sort -u >again
same again shard2
expect "--shard I/N: the slice does not depend on the order documents are given in"

finish
