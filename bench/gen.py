#!/usr/bin/env python3
"""Writes the benchmark workloads into a folder, the same bytes every time
(a fixed seed). usage: gen.py DIR

  w1.md    W1: ~1 MB of prose and 1,000 python blocks (also w1.ipynb for
           Jupyter, w1.Rmd for knitr: the same prose and as many chunks)
  w2.md    W2: 200 trivial python blocks in one session (w2.py: the same
           code as one script; w2.ipynb, w2.Rmd; w2-1.md: the first block)
  w3.md    W3: 200 trivial bash blocks in one session (w3none.md: the same
           with session=none; w3.sh: the same code as one script;
           w3spawn.sh: a new bash for each block, as session=none starts;
           w3-1.md: the first block)
  w4.md    W4: two independent CPU-bound sessions
  w6.md    W6: one block printing 50 MB
  w7-N.md  W7: N blocks, for planning (N = 1,000 and 10,000)
  w8.md    W8: 100 trivial R blocks through IRkernel (w8.Rmd: the same
           chunks for knitr, cache off; w8-1: one block of each)
  w9.md    W9: 100 trivial python blocks through ipykernel (w9.ipynb:
           the same cells for nbclient; w9-1: one block of each)
"""
import json
import os
import random
import sys

WORDS = ("the of and to in is that for it as with was on be by this are "
         "from or an which at not have but were can all their has been more "
         "one will if about also into store block output render key stage "
         "document session cache").split()


def prose(rng, paragraphs=4, words=36):
    out = []
    for _ in range(paragraphs):
        s = " ".join(rng.choice(WORDS) for _ in range(words))
        out.append(s.capitalize() + ", with *emphasis*, `code` and a "
                   "[link](https://example.org/" + rng.choice(WORDS) + ").")
    return out


def notebook(cells):
    """nbformat 4 JSON of (kind, source) cells."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3",
                       "language": "python"}}, "cells": []}
    for i, (kind, src) in enumerate(cells):
        cell = {"cell_type": kind, "id": "c%d" % i, "metadata": {},
                "source": src}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    return json.dumps(nb, indent=1)


def knitr_setup(name):
    """knitr's first chunk: every chunk cached, in a folder per document."""
    return ("```{r setup, include=FALSE}\nknitr::opts_chunk$set(cache=TRUE, "
            "cache.path='cache-%s/')\n```\n" % name)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main(d):
    rng = random.Random(20261124)

    # W1: prose between 1,000 blocks, about 1 MB in all.
    md, rmd, cells = ["# W1: a long notebook\n"], ["# W1: a long notebook\n"], []
    for i in range(1000):
        paras = prose(rng)
        text = "".join("\n" + p + "\n" for p in paras)
        code = "x = %d\nprint(x * 2)" % i
        md.append(text + "\n```{python}\n" + code + "\n```\n")
        rmd.append(text + "\n```{r b%d}\nx <- %d\nprint(x * 2)\n```\n" % (i, i))
        cells.append(("markdown", "\n".join(paras)))
        cells.append(("code", code))
    write(os.path.join(d, "w1.md"), "".join(md))
    write(os.path.join(d, "w1.Rmd"), knitr_setup("w1") + "".join(rmd))
    write(os.path.join(d, "w1.ipynb"), notebook(cells))

    # W2: 200 trivial python blocks, one session.
    code = ["x = %d\nprint(x)" % i for i in range(200)]
    write(os.path.join(d, "w2.md"),
          "".join("```{python}\n%s\n```\n\n" % c for c in code))
    write(os.path.join(d, "w2.py"), "".join(c + "\n" for c in code))
    write(os.path.join(d, "w2-1.md"), "```{python}\n%s\n```\n" % code[0])
    write(os.path.join(d, "w2.ipynb"), notebook([("code", c) for c in code]))
    write(os.path.join(d, "w2.Rmd"),
          knitr_setup("w2") + "".join("```{r b%d}\nx <- %d\nprint(x)\n```\n\n" % (i, i)
                    for i in range(200)))

    # W8 and W9: blocks through Jupyter kernels, 100 and 1 of them.
    for n, tail in ((100, ""), (1, "-1")):
        code = ["x <- %d\nprint(x)" % i for i in range(n)]
        write(os.path.join(d, "w8%s.md" % tail),
              "".join("```{r}\n%s\n```\n\n" % c for c in code))
        write(os.path.join(d, "w8%s.Rmd" % tail),
              "".join("```{r b%d}\n%s\n```\n\n" % (i, c)
                      for i, c in enumerate(code)))
        code = ["x = %d\nprint(x)" % i for i in range(n)]
        write(os.path.join(d, "w9%s.md" % tail),
              "".join("```{python kernel=python3}\n%s\n```\n\n" % c
                      for c in code))
        write(os.path.join(d, "w9%s.ipynb" % tail),
              notebook([("code", c) for c in code]))
    write(os.path.join(d, "nbrun.py"),
          "import nbclient, nbformat, sys\n"
          "nbclient.execute(nbformat.read(sys.argv[1], as_version=4))\n")

    # W3: 200 trivial bash blocks.
    code = ["x=%d; echo $x" % i for i in range(200)]
    write(os.path.join(d, "w3.md"),
          "".join("```{bash}\n%s\n```\n\n" % c for c in code))
    write(os.path.join(d, "w3none.md"),
          "".join("```{bash session=none}\n%s\n```\n\n" % c for c in code))
    write(os.path.join(d, "w3.sh"), "".join(c + "\n" for c in code))
    write(os.path.join(d, "w3-1.md"), "```{bash}\n%s\n```\n" % code[0])
    write(os.path.join(d, "w3spawn.sh"),
          "".join("bash -c '%s'\n" % c for c in code))

    # W4: two CPU-bound sessions that do not depend on each other.
    write(os.path.join(d, "w4.md"), """```{python}
n = 0
for i in range(6_000_000):
    n += i * i
print(n)
```

```{bash}
n=0; for ((i = 0; i < 300000; i++)); do n=$((n + i)); done; echo $n
```
""")

    # W6: a block printing 50 MB, through small processes: the peak RSS
    # measured (the largest of mdrun and what it waited for) is mdrun's.
    write(os.path.join(d, "w6.md"), """```{sh session=none}
yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c 50000000
```
""")

    # W7: planning 1,000 and 10,000 blocks.
    for n in (1000, 10000):
        write(os.path.join(d, "w7-%d.md" % n),
              "".join("Step %d.\n\n```{sh session=none}\necho %d\n```\n\n"
                      % (i, i) for i in range(n)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen.py DIR")
    main(sys.argv[1])
