#!/usr/bin/env bash
# End-to-end tests of the JSON and notebook reports (--to json, --to ipynb):
# the samples, checked against the schema and nbformat, and golden files of
# a small document (tests/e2e/reports/). usage: reports.sh MDRUN SOURCE_DIR
# With MDRUN_REGEN_GOLDEN=1 it rewrites the golden files instead: read the
# diff before committing them.
set -u
. "$(dirname "$0")/lib.sh"

# Debian's python3 has nbformat and matplotlib (python3-nbformat,
# python3-matplotlib); the python3 first in PATH may not.
py=/usr/bin/python3
if ! "$py" -c 'import nbformat' 2>/dev/null; then
	py=python3
fi
have_nbformat=false
"$py" -c 'import nbformat' 2>/dev/null && have_nbformat=true

# Checks the JSON report $1 against the schema: every field with its type.
cat >"$work/schema.py" <<'PY'
import json, sys

doc = json.load(open(sys.argv[1]))
assert doc["version"] == 1, "version"
assert isinstance(doc["document"]["path"], str), "document.path"
assert doc["document"]["title"] is None or isinstance(doc["document"]["title"], str)
S, N, B, I, F = str, type(None), bool, int, (int, float)
real = {"rhash": (S, N), "exit_code": (I, N), "signal": (I, N),
        "timed_out": (B, N), "duration": F + (N,), "stdout": (S, N),
        "stderr": (S, N), "artifacts": (list,), "reads": (list,),
        "writes": (list,)}
block = {"name": (S,), "language": (S, N), "line": (I,), "options": (dict,),
         "code": (S,), "key": (S, N), "status": (S,), "cached": (B,),
         "error_ok": (B,), "interpreter": (S, N), "note": (S, N)}
block.update(real)
def check(o, fields, where):
    for k, t in fields.items():
        assert k in o, f"{where}: no {k}"
        v = o[k]
        ok = isinstance(v, t) and not (isinstance(v, bool) and bool not in t)
        assert ok, f"{where}: {k} is {v!r}"
    for a in o["artifacts"]:
        for k in ("name", "bytes", "path", "mime"):
            assert k in a, f"{where}: artifact without {k}"
    for r in o["reads"]:
        assert isinstance(r["path"], str) and len(r["sha256"]) == 64, f"{where}: read {r!r}"
    for r in o["writes"]:
        assert isinstance(r["path"], str) and isinstance(r["kept"], bool) and \
            (r["sha256"] is None or len(r["sha256"]) == 64), f"{where}: write {r!r}"
    for k in ("stdout", "stderr"):
        if k + "_base64" in o:
            import base64
            base64.b64decode(o[k + "_base64"], validate=True)
for b in doc["blocks"]:
    check(b, block, b["name"])
    assert b["status"] in ("ok", "failed", "timeout", "skipped", "not-run")
    assert all(isinstance(v, str) for v in b["options"].values())
    for r in b.get("realizations", []):
        check(r, real, b["name"] + " realization")
PY
schema() { "$py" "$work/schema.py" "$1" 2>&1; }
# ran NAME: the mdrun run just before it exited 0, else shows its stderr.
ran() { if [ $? = 0 ]; then ok "$1"; else bad "$1" "$(cat err)"; fi; }
# quiet NAME OUTPUT: ok when the check printed nothing, else shows it.
quiet() { if [ -z "$2" ]; then ok "$1"; else bad "$1" "$2"; fi; }
# golden NAME GOT WANT: ok when the files are the same, else the diff.
golden() {
	if same "$2" "$3"; then ok "$1"; else bad "$1" "$(diff "$3" "$2")"; fi
}
# nbvalid NAME NOTEBOOK: nbformat's own validation of the notebook.
nbvalid() {
	if ! $have_nbformat; then
		skip "$1" "no python3 with nbformat"
		return
	fi
	quiet "$1" "$("$py" -c 'import sys, nbformat
nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' "$2" 2>&1)"
}

# --- the samples ------------------------------------------------------
mkdir -p "$work/samples"
cp -r "$src/samples/." "$work/samples/"
cd "$work/samples" || exit 1

"$mdrun" render -q --to json tour.md -o tour.json 2>err
ran "tour.md --to json: exit 0"
"$py" -m json.tool tour.json >/dev/null
expect "tour.md --to json: valid JSON (json.tool)"
out=$(schema tour.json)
quiet "tour.md --to json: every block has the schema's fields and types" "$out"
"$py" - tour.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
b = d["blocks"]
assert d["document"] == {"path": "tour.md", "title": "A tour of mdrun"}, d["document"]
assert [x["language"] for x in b] == ["sh", "python", "python", "sh"], b
assert [x["status"] for x in b] == ["ok"] * 4
assert [x["line"] for x in b] == [7, 14, 23, 29]
w = b[3]
assert w["name"] == "warn" and w["stdout"] == "to stdout\n" and w["stderr"] == "to stderr\n"
assert b[2]["stdout"] == "largest: 25\n"
assert all(len(x["key"]) > 0 and len(x["rhash"]) > 0 for x in b)
assert all(x["exit_code"] == 0 and x["duration"] >= 0 for x in b)
PY
expect "tour.md --to json: the blocks, their outputs, the plain block left out"

"$mdrun" render -q --to json tour.md -o again.json 2>err
ran "tour.md --to json again: exit 0"
"$py" -c 'import json, sys
a, b = (json.load(open(f))["blocks"] for f in sys.argv[1:])
assert all(x["cached"] for x in b)
assert [x["rhash"] for x in a] == [x["rhash"] for x in b]' tour.json again.json
expect "tour.md --to json again: every block cached, the same realizations"

"$mdrun" render -q --to ipynb tour.md -o tour.ipynb 2>err
ran "tour.md --to ipynb: exit 0"
nbvalid "tour.md --to ipynb: nbformat validates it" tour.ipynb
"$py" - tour.ipynb <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
assert nb["metadata"]["kernelspec"]["name"] == "bash"
cells = nb["cells"]
kinds = "".join(c["cell_type"][0] for c in cells)
assert kinds == "mcmcmcmcm", kinds
code = [c for c in cells if c["cell_type"] == "code"]
assert [c["execution_count"] for c in code] == [1, 2, 3, 4]
assert code[3]["outputs"][1] == {"output_type": "stream", "name": "stderr",
                                 "text": ["to stderr\n"]}, code[3]["outputs"]
assert "".join(cells[-1]["source"]).startswith("A block without braces")
assert "rm -rf /tmp/not-run-ever" in "".join(cells[-1]["source"])
assert not any("mdrun:out" in "".join(c["source"]) for c in cells)
PY
expect "tour.md --to ipynb: prose and code cells in order, counts, stderr stream"

# A rendered document gives the same notebook: old regions are not prose.
"$mdrun" render -q tour.md -o rendered.md &&
	"$mdrun" render -q --to ipynb rendered.md -o rendered.ipynb
"$py" -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
# Another file name is another key (MDRUN_DOC): ran, not cached.
for c in a["cells"] + b["cells"]:
    c.get("metadata", {}).get("mdrun", {}).pop("cached", None)
bad = [(x, y) for x, y in zip(a["cells"], b["cells"]) if x != y]
assert len(a["cells"]) == len(b["cells"]) and not bad, bad[:1]' tour.ipynb rendered.ipynb 2>nb.err
expect "a rendered document's notebook: the same cells (output regions dropped)" nb.err

# samples/plot.md needs matplotlib: Debian's python3 first in PATH.
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
	PATH=/usr/bin:$PATH "$mdrun" render -q --to ipynb plot.md \
		-o plot.ipynb 2>err
	ran "plot.md --to ipynb: exit 0"
	nbvalid "plot.md --to ipynb: nbformat validates it" plot.ipynb
	"$py" - plot.ipynb <<'PY'
import base64, json, sys
nb = json.load(open(sys.argv[1]))
assert nb["metadata"]["kernelspec"] == {"name": "python3",
    "display_name": "Python 3", "language": "python"}
imgs = [o for c in nb["cells"] if c["cell_type"] == "code"
        for o in c["outputs"] if o["output_type"] == "display_data"]
assert len(imgs) == 1, imgs
png = base64.b64decode(imgs[0]["data"]["image/png"], validate=True)
assert png[:8] == b"\x89PNG\r\n\x1a\n"
assert imgs[0]["metadata"] == {}
plain = imgs[0]["data"]["text/plain"]
assert plain == ["<Figure size 400x250 with 1 Axes>"], plain
PY
	expect "plot.md --to ipynb: the plot is an image/png display_data"
	PATH=/usr/bin:$PATH "$mdrun" render -q --to json plot.md \
		-o plot.json 2>err
	ran "plot.md --to json: exit 0"
	out=$(schema plot.json)
	quiet "plot.md --to json: the schema's fields" "$out"
	"$py" -c 'import json, os, sys
b = json.load(open(sys.argv[1]))["blocks"]
a = b[0]["artifacts"]
assert [x["name"] for x in a] == ["wave.csv"] and a[0]["mime"] == "text/csv"
assert a[0]["bytes"] == os.path.getsize(a[0]["path"]) > 0
assert b[1]["artifacts"] == []
rich = [o for o in b[1]["outputs"] if o.get("type") == "display_data"]
assert len(rich) == 1 and "image/png" in rich[0]["data"], b[1]["outputs"]' plot.json
	expect "plot.md --to json: the CSV an artifact with its MIME type, size and path; the figure a rich output"
else
	skip "plot.md --to ipynb and --to json" \
		"no /usr/bin/python3 with matplotlib"
fi

# --- golden files -----------------------------------------------------
# Durations, keys, rhashes, the interpreter's identity and store paths
# vary by run and machine: they are replaced before the comparison.
gdir="$src/tests/e2e/reports"
mkdir -p "$work/golden"
cd "$work/golden" || exit 1
# The golden document, and the tour sample, from a store of their own.
export MDRUN_STORE="$work/golden-store"
cp "$gdir/doc.md" doc.md
cp "$src/samples/tour.md" tour.md
for g in doc tour; do
	"$mdrun" render -q --to json $g.md -o $g.json 2>err
	ran "golden $g.md --to json: exit 0"
	"$mdrun" render -q --to ipynb $g.md -o $g.ipynb 2>err
	ran "golden $g.md --to ipynb: exit 0"
	"$py" - $g.json $g.ipynb $g.norm.json $g.norm.ipynb <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def norm(o):
    for k, tag in (("key", "KEY"), ("rhash", "RHASH"),
                   ("interpreter", "INTERPRETER"), ("duration", "DURATION")):
        if o.get(k) is not None:
            o[k] = tag
    for a in o.get("artifacts", []):
        a["path"] = "PATH"
    for r in o.get("realizations", []):
        norm(r)
for b in d["blocks"]:
    norm(b)
with open(sys.argv[3], "w") as f:
    json.dump(d, f, indent=1, ensure_ascii=False)
    f.write("\n")
nb = json.load(open(sys.argv[2]))
with open(sys.argv[4], "w") as f:
    json.dump(nb, f, indent=1, ensure_ascii=False)
    f.write("\n")
PY
	if [ "${MDRUN_REGEN_GOLDEN:-}" = 1 ]; then
		cp $g.norm.json "$gdir/$g.json"
		cp $g.norm.ipynb "$gdir/$g.ipynb"
		echo "golden files rewritten in $gdir"
	fi
	golden "golden $g.md: the JSON report (varying fields normalised)" \
		$g.norm.json "$gdir/$g.json"
	golden "golden $g.md: the notebook" $g.norm.ipynb "$gdir/$g.ipynb"
	nbvalid "golden $g.md: nbformat validates the notebook" $g.ipynb
done

finish
