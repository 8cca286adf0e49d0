#!/usr/bin/env python3
"""The document generator of differential.sh.

usage: gen.py SEED STEP FEATURES DIR

Builds the document of step 0 from SEED, applies the random edits of steps
1..STEP (the same sequence for the same SEED and FEATURES), and writes the
result into DIR: doc.md, the files its blocks read (in.txt, data/*.txt,
helper.py;
a file is rewritten only when its content changed, as an editor would) and
env.nul, the environment of the renders as NUL-ended items, NAME=value to
set and -NAME to unset. On standard output, one "key value" line each:

  edit     what step STEP changed
  jobs     -j of the render with the persistent store
  jobsnew  -j of the render from an empty store
  rebuild  "all": the persistent render adds --rebuild, NAME:
           --rebuild=NAME, "-": neither
  keep     1: both renders add -k
  path     the document as the persistent render names it
  norun    names of blocks the persistent render must not run (a deps=
           reorder changes no key), or nothing

Every block prints and writes a function of the document, the environment
and the input files only: no time, no PID, no path of the store.

FEATURES is a comma list of the names below, or starts with + or - to add
to or take from the default list ("-swap,-envnl").
"""
import os
import random
import sys

FEATURES = {
    "code": "edit a block's constant, or a comment only (early cutoff)",
    "swap": "swap the names of the two producers; deps= follows",
    "reorder": "reorder a deps= list: no output changes, nothing re-runs",
    "env": "change the values of the env= variables",
    "envnl": "env= values with newlines that spell another variable",
    "inputs": "edit, add or remove the files inputs= names",
    "many": "a session block, not its first, with deps=, inputs=, env=",
    "cache": "toggle cache=false, also on artifact-writing blocks",
    "rebuild": "render with --rebuild now and then",
    "error": "error=true blocks that change the state, then fail",
    "fail": "a block that starts or stops failing; -k now and then",
    "addrm": "add and remove blocks",
    "jobs": "-j 2 as well as -j 1",
    "blockname": "producers print MDRUN_BLOCK",
    "docpath": "a block prints MDRUN_DOC; the document named three ways",
    "track": "blocks read files no inputs= names (exec'd helper, cat); "
             "one writes a file the next reads; those files are edited",
    # Not in the default list: a cached block's output keeps the line
    # numbers it printed when lines above it move (not in the key).
    "lines": "failing blocks print their line: a traceback, $LINENO",
}
OPTIONAL = {"lines"}
DEFAULT = [f for f in FEATURES if f not in OPTIONAL]

E1, E2 = "DIFF_E1", "DIFF_E2"
# Values of (E1, E2); None: unset. With a line break, one value can
# spell another variable's line: the first two pairs of ENV_NL are both
# "E1=a\nE2=b\nE2=c\n" when written unescaped, NAME=value a line.
ENV_PLAIN = [("a", "b"), ("x y", None), (None, "b"), ("", ""), ("a", "c")]
ENV_NL = [("a\n" + E2 + "=b", "c"), ("a", "b\n" + E2 + "=c"),
          ("v\nOTHER=value", "b"), ("v", "b\nOTHER=value"), ("line\n", "")]
TEXTS = ["alpha\n", "gamma\n", "beta\n", "alpha\nbeta\n", "", "omega\n"]


def features(spec):
    spec = spec.strip()
    if spec in ("", "default"):
        return set(DEFAULT)
    if spec == "all":
        return set(FEATURES)
    items = [s for s in spec.split(",") if s]
    have = set(DEFAULT) if items[0][0] in "+-" else set()
    for s in items:
        name = s.lstrip("+-")
        if name not in FEATURES:
            sys.exit("gen.py: unknown feature '%s' (known: %s)" %
                     (name, ", ".join(FEATURES)))
        if s[0] == "-":
            have.discard(name)
        else:
            have.add(name)
    return have


class Block:
    """One fenced block: its role picks the code, the rest the options."""
    count = 0

    def __init__(self, role, lang, session=None, name=None, c=0):
        Block.count += 1
        self.id = Block.count
        self.role, self.lang, self.session = role, lang, session
        self.name, self.c, self.rev = name, c, 0
        self.deps = []  # producer blocks, in deps= order
        self.inputs = self.env = None
        self.error = self.nocache = False


class Doc:
    def __init__(self, rng, feats):
        self.rng, self.f = rng, feats
        self.env = rng.choice(ENV_PLAIN)
        self.files = {"in.txt": "alpha\n", "data/a.txt": "beta\n"}
        self.fail = 0  # exit status of the gate block
        self.reordered = []  # readers whose deps= this step reordered
        self.moved = False  # this step made an edit other than a reorder
        def r():
            return rng.randint(1, 9)

        b = []
        b.append(Block("pyfirst", "python", c=r()))
        self.p1 = Block("prod_sh", "sh", "none", "pa", r())
        self.p2 = Block("prod_py", "python", None, "pb", r())
        b += [self.p1, self.p2]
        b.append(Block("bfirst", "bash", c=r()))
        rd = Block("reader", "bash", name="rd", c=r())
        rd.deps = [self.p1, self.p2]
        b.append(rd)
        self.readers = [rd]
        if "many" in feats:
            m = Block("many", "python", name="many", c=r())
            m.deps = [self.p2, self.p1]
            m.inputs, m.env = "in.txt", E1 + "," + E2
            b.append(m)
            self.readers.append(m)
        e = Block("envread", "bash", c=r())
        e.env = E1 + "," + E2
        b.append(e)
        b.append(Block("gate", "sh", "none", "gate", r()))
        if "error" in feats:
            boom = Block("pyboom", "python", name="boom", c=r())
            bboom = Block("bboom", "bash", c=r())
            boom.error = bboom.error = True
            b += [boom, Block("pyafter", "python", c=r()), bboom,
                  Block("bafter", "bash", c=r())]
        b.append(Block("art_sh", "sh", "none", "art1", r()))
        b.append(Block("art_bash", "bash", name="art2", c=r()))
        g = Block("globread", "sh", "none", c=r())
        g.inputs = "data/*.txt"
        b.append(g)
        if "docpath" in feats:
            b.append(Block("docpath", "sh", "none", c=r()))
        if "track" in feats:
            self.files["helper.py"] = "K = 1\n"
            b += [Block("tread_py", "python", "none", c=r()),
                  Block("tread_sh", "sh", "none", c=r()),
                  Block("twrite", "bash", c=r()),
                  Block("tgen", "bash", c=r())]
        self.blocks = b

    # --- the text ---------------------------------------------------------
    def code(self, b):
        c, role = b.c, b.role
        dep_py = ('import os\n'
                  'for n in ("pa", "pb"):\n'
                  '    d = os.environ["MDRUN_DEP_" + n]\n'
                  '    print(n, open(os.path.join(d, "v.txt")).read()'
                  '.strip())\n')
        env_py = 'print("env", repr(os.environ.get("%s")), ' \
                 'repr(os.environ.get("%s")))\n' % (E1, E2)
        if role == "pyfirst":
            return 'v = %d\nprint("v starts at", v)\n' % c
        if role == "prod_sh":
            who = ' "$MDRUN_BLOCK"' if "blockname" in self.f else ""
            return ('printf "P1-%%s\\n" %d >"$MDRUN_OUT/v.txt"\n'
                    'echo "producer one wrote"%s\n' % (c, who))
        if role == "prod_py":
            who = ', os.environ["MDRUN_BLOCK"]' if "blockname" in self.f \
                else ""
            return ('import os\n'
                    'with open(os.path.join(os.environ["MDRUN_OUT"], '
                    '"v.txt"), "w") as f:\n'
                    '    f.write("P2-%%d\\n" %% (v * 10 + %d))\n'
                    'print("producer two wrote"%s)\n' % (c, who))
        if role == "bfirst":
            return 'w=%d\necho "w starts at $w"\n' % c
        if role == "reader":
            return ('for n in pa pb; do\n'
                    '\td=MDRUN_DEP_$n\n'
                    '\techo "$n: $(cat "${!d}/v.txt")"\n'
                    'done\n'
                    'echo "w+%d=$((w + %d))"\n' % (c, c))
        if role == "many":
            return (dep_py +
                    'print("in", repr(open("in.txt").read()))\n' + env_py +
                    'print("v+%d =", v + %d)\n' % (c, c))
        if role == "envread":
            return ('printf "%%s %%q\\n" E1 "${%s-unset}" E2 "${%s-unset}"\n'
                    'echo "env read %d"\n' % (E1, E2, c))
        if role == "gate":
            return 'echo "gate %d"\nexit %d\n' % (c, self.fail)
        if role == "pyboom":
            fail = "1 / 0" if "lines" in self.f else "raise SystemExit(3)"
            return 'v = v * 3 + %d\nprint("boom sets v to", v)\n%s\n' % (
                c, fail)
        if role == "pyafter":
            return 'print("after boom, v is", v, "and", %d)\n' % c
        if role == "bboom":
            line = ' on line $LINENO' if "lines" in self.f else ""
            return 'w=$((w * 3 + %d))\necho "bash boom sets w to $w%s"\n' \
                   'false\n' % (c, line)
        if role == "bafter":
            return 'echo "after bash boom, w is $w and %d"\n' % c
        if role == "art_sh":
            return ('printf "art one %%s\\n" %d >"$MDRUN_OUT/a.txt"\n'
                    'echo "art one"\n' % c)
        if role == "art_bash":
            return ('echo "art two $w %d" >"$MDRUN_OUT/b.txt"\n'
                    'echo "art two"\n' % c)
        if role == "globread":
            return 'for f in data/*.txt; do echo "$f:"; cat "$f"; done\n' \
                   'echo "glob %d"\n' % c
        if role == "docpath":
            return 'echo "doc is $MDRUN_DOC %d"\n' % c
        if role == "tread_py":
            return ('exec(open("helper.py").read())\n'
                    'print("tracked", repr(open("in.txt").read()), K, %d)\n'
                    % c)
        if role == "tread_sh":
            return 'echo "cat: $(tr "\\n" " " <data/a.txt) %d"\n' % c
        if role == "twrite":
            return 'echo "gen $w %d" >gen.txt\necho "wrote gen"\n' % c
        if role == "tgen":
            return 'echo "gen says: $(cat gen.txt) %d"\n' % c
        if role == "xpy":
            return 'print("extra", globals().get("v"), %d)\n' % c
        if role == "xbash":
            return 'echo "extra ${w-unset} %d"\n' % c
        if role == "xsh":
            return 'echo "extra alone %d"\n' % c
        if role == "xside":
            return 's = globals().get("s", 0) + %d\nprint("side", s)\n' % c
        raise ValueError(role)

    def text(self):
        out = []
        for b in self.blocks:
            opts = [b.lang]
            if b.name:
                opts.append("name=" + b.name)
            if b.session:
                opts.append("session=" + b.session)
            if b.deps:
                opts.append("deps=" + ",".join(d.name for d in b.deps))
            if b.inputs:
                opts.append("inputs=" + b.inputs)
            if b.env:
                opts.append("env=" + b.env)
            if b.error:
                opts.append("error=true")
            if b.nocache:
                opts.append("cache=false")
            code = self.code(b)
            if b.rev:
                code = "# rev %d\n" % b.rev + code
            out.append("```{%s}\n%s```\n" % (" ".join(opts), code))
        return "# Differential\n\n" + "\n".join(out)

    # --- the edits --------------------------------------------------------
    def edits(self):
        f = self.f
        extra = len([b for b in self.blocks if b.role.startswith("x")])
        e = [("code", 4), ("comment", 1)] if "code" in f else []
        e += [(k, w) for k, w in (("swap", 2), ("reorder", 2), ("env", 3),
                                  ("inputs", 2), ("cache", 3), ("fail", 1))
              if k in f]
        if "envnl" in f and "env" not in f:
            e.append(("env", 3))
        if "track" in f:
            e.append(("tfile", 3))
        if "addrm" in f and extra < 3:
            e.append(("add", 2))
        if "addrm" in f and extra:
            e.append(("remove", 1))
        if not e:
            e = [("none", 1)]
        return e

    def edit(self):
        """Applies one random edit; returns what it did."""
        rng = self.rng
        kinds = self.edits()
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if kind != "reorder":
            self.moved = True
        if kind == "code":
            b = rng.choice(self.blocks)
            b.c = b.c % 9 + 1 if rng.random() < 0.8 else b.c
            return "code of %s: constant %d" % (self.label(b), b.c)
        if kind == "comment":
            b = rng.choice(self.blocks)
            b.rev += 1
            return "comment of %s: rev %d" % (self.label(b), b.rev)
        if kind == "swap":
            self.p1.name, self.p2.name = self.p2.name, self.p1.name
            return "swap producer names: P1 is %s, P2 is %s (deps= %s)" % (
                self.p1.name, self.p2.name, "; ".join(
                    ",".join(d.name for d in r.deps) for r in self.readers))
        if kind == "reorder":
            r = rng.choice(self.readers)
            r.deps.reverse()
            self.reordered.append(r.name)
            return "reorder deps= of %s: %s" % (
                r.name, ",".join(d.name for d in r.deps))
        if kind == "env":
            pool = ENV_PLAIN[:]
            if "envnl" in self.f:
                # Half the time, a pair of the two that collide unescaped.
                pool = ENV_NL[:2] * 4 + ENV_NL + ENV_PLAIN
            self.env = rng.choice(pool)
            return "env %s=%r %s=%r" % (E1, self.env[0], E2, self.env[1])
        if kind == "tfile":
            path = self.rng.choice(["in.txt", "data/a.txt", "helper.py"])
            self.files[path] = ("K = %d\n" % self.rng.randint(1, 9)
                                if path == "helper.py"
                                else self.rng.choice(TEXTS))
            return "tracked file %s: %r" % (path, self.files[path])
        if kind == "inputs":
            path = rng.choice(["in.txt", "data/a.txt", "data/b.txt"])
            if path == "data/b.txt" and path in self.files:
                del self.files[path]
                return "inputs: remove data/b.txt"
            self.files[path] = rng.choice(TEXTS)
            return "inputs: %s = %r" % (path, self.files[path])
        if kind == "cache":
            arts = [b for b in self.blocks if b.role.startswith("art")]
            b = rng.choice(arts + self.blocks)
            b.nocache = not b.nocache
            return "cache=%s on %s" % (
                "false" if b.nocache else "true", self.label(b))
        if kind == "fail":
            self.fail = 3 if self.fail == 0 else 0
            return "gate exits %d" % self.fail
        if kind == "add":
            role, lang, ses = rng.choice([("xpy", "python", None),
                                          ("xbash", "bash", None),
                                          ("xsh", "sh", "none"),
                                          ("xside", "python", "side")])
            b = Block(role, lang, ses, c=rng.randint(1, 9))
            at = rng.randint(0, len(self.blocks))
            self.blocks.insert(at, b)
            return "add %s at %d" % (self.label(b), at)
        if kind == "remove":
            b = rng.choice([b for b in self.blocks
                            if b.role.startswith("x")])
            what = "remove %s" % self.label(b)
            self.blocks.remove(b)
            return what
        return "nothing changed"

    def label(self, b):
        return "%s (%s block #%d, line %d)" % (
            b.name or b.role, b.lang, b.id, self.line(b))

    def line(self, b):
        """The line of b's opening fence in the document."""
        n = self.blocks.index(b)
        fences = [i for i, ln in enumerate(self.text().split("\n"), 1)
                  if ln.startswith("```{")]
        return fences[n]


def write_if_changed(path, data):
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    seed, step, feats, out = int(sys.argv[1]), int(sys.argv[2]), \
        features(sys.argv[3]), sys.argv[4]
    rng = random.Random(seed)
    doc = Doc(rng, feats)
    what = "the first document"
    jobs = jobsnew = 1
    rebuild, keep = "-", 0
    path = "doc.md"
    for _ in range(step):
        doc.reordered, doc.moved = [], False
        # One edit, now and then two at once.
        what = "; ".join(doc.edit() for _ in range(rng.choice([1, 1, 1, 2])))
        if "jobs" in feats:
            jobs, jobsnew = rng.choice([1, 2]), rng.choice([1, 2])
        rebuild = "-"
        if "rebuild" in feats and rng.random() < 0.2:
            named = [b.name for b in doc.blocks if b.name]
            rebuild = rng.choice(["all"] + named)
        keep = int("fail" in feats and rng.random() < 0.3)
        if "docpath" in feats:
            path = rng.choice(["doc.md", "./doc.md", "../d/doc.md"])
    # A reorder alone changes no key: the readers stay cached, unless
    # something else runs them (a rebuild, cache=false, a failure above).
    norun = []
    if step and not doc.moved and rebuild == "-" and not doc.fail:
        norun = [n for n in doc.reordered
                 if not any(b.nocache for b in doc.blocks if b.name == n)]

    write_if_changed(os.path.join(out, "doc.md"), doc.text().encode())
    for p, t in doc.files.items():
        write_if_changed(os.path.join(out, p), t.encode())
    data = os.path.join(out, "data")
    for p in os.listdir(data):
        if "data/" + p not in doc.files:
            os.remove(os.path.join(data, p))
    env = b""
    for name, v in zip((E1, E2), doc.env):
        env += (("-" + name) if v is None else name + "=" + v).encode() + \
            b"\0"
    write_if_changed(os.path.join(out, "env.nul"), env)
    print("edit", what.replace("\n", "\\n"))
    print("jobs", jobs)
    print("jobsnew", jobsnew)
    print("rebuild", rebuild)
    print("keep", keep)
    print("path", path)
    print("norun", " ".join(norun))


if __name__ == "__main__":
    main()
