#!/usr/bin/env python3
"""Writes a hostile Markdown document: gen.py KIND FILE.

The large ones are made here, at test time, rather than kept in the
repository. Every kind is deterministic: the same bytes on every run.

  random     200 KB of seeded random bytes (NULs, invalid UTF-8, CRs)
  soup       200 KB of Markdown tokens in a seeded random order
  quotes     20,000 nested block quotes, a block at the bottom
  lists      5,000 nested list items, a block at the bottom
  longline   one 10 MB line of prose, inline markup in it
  emlinks    a 512 KB line of emphasis between links
  blocks     5,000 fenced blocks that are only shown (```text)
  execs      5,000 executable blocks (```{sh}), one session
  info       a plain block with a 1 MB info string
  infoopt    an executable block whose info string holds a 1 MB option
  infoname   an executable block named by a 1 MB name=
"""
import random
import sys

BLOCK = b"```{sh}\necho bottom\n```\n"


def random_bytes():
    rng = random.Random(20240229)
    return bytes(rng.getrandbits(8) for _ in range(200 * 1024))


def soup():
    # Markdown's own tokens in a seeded random order: fences opened and
    # not closed, containers, output markers, CRs, NULs, stray bytes.
    rng = random.Random(1729)
    tokens = [b"```{sh}\n", b"```\n", b"~~~{python}\n", b"~~~\n",
              b"````{sh}\n", b"> ", b"- ", b"1. ", b"   ", b"\t", b"\n",
              b"\n\n", b"\r\n", b"\r", b"\0", b"\xff", b"{", b"}",
              b"<!-- mdrun:out -->\n", b"<!-- /mdrun:out -->\n",
              b"echo x\n", b"text ", b"*", b"[", b"]", b"|", b"---\n",
              b"    ", b"<div>", b"`"]
    out = []
    size = 0
    while size < 200 * 1024:
        t = rng.choice(tokens)
        out.append(t)
        size += len(t)
    return b"".join(out)


def quotes():
    n = 20000
    return b"> " * n + b"deep\n" + b"> " * n + b"\n" + \
        b"\n".join(b"> " * n + line for line in BLOCK.split(b"\n")[:-1]) + \
        b"\n\nafter\n"


def lists():
    # Each "- " opens a list inside the item before it: one line, not n.
    n = 5000
    pad = b"  " * n
    return (b"- " * n + b"item\n\n" + b"- " * n + b"```{sh}\n" +
            pad + b"echo bottom\n" + pad + b"```\n\nafter\n")


def longline():
    # Markup every 250 bytes or so: cmark-gfm's tree of inline nodes costs
    # about 80 times the text when every few bytes start one.
    unit = (b"plain words " * 16 +
            b"*em* _x_ `c` <a> **s ~~t \\* &amp; http://x.org ")
    n = 10 * 1024 * 1024 // len(unit) + 1
    return b"# Long\n\n" + unit * n + b"\n\n" + BLOCK


def emlinks():
    # Emphasis between links: super-linear in cmark-gfm 0.29.0.gfm.6.
    unit = b"*em* [l](u) "
    n = 512 * 1024 // len(unit)
    return b"# Links\n\n" + unit * n + b"\n\n" + BLOCK


def blocks():
    return b"".join(b"```text\nblock %d\n```\n\n" % i for i in range(5000))


def execs():
    return b"".join(b"```{sh}\necho %d\n```\n\n" % i for i in range(5000))


def info():
    return b"```text " + b"x" * (1024 * 1024) + b"\ncode\n```\n\nafter\n"


def infoopt():
    return b"```{sh " + b"k" * (1024 * 1024) + b"=1}\necho hi\n```\n"


def infoname():
    # A name is exported to the block (MDRUN_BLOCK): /bin/echo must
    # still start.
    return (b"```{sh name=" + b"n" * (1024 * 1024) + b"}\n/bin/echo ran\n"
            b"```\n")


KINDS = {
    "random": random_bytes, "soup": soup, "quotes": quotes, "lists": lists,
    "longline": longline, "blocks": blocks, "execs": execs,
    "emlinks": emlinks, "info": info, "infoopt": infoopt,
    "infoname": infoname,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit("usage: gen.py %s FILE" % "|".join(KINDS))
    with open(sys.argv[2], "wb") as f:
        f.write(KINDS[sys.argv[1]]())
