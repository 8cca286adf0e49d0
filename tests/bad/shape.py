#!/usr/bin/env python3
"""The block structure of a Markdown document, as cmark-gfm parses it.

usage: shape.py FILE

Prints one line per block, in document order, indented by its depth:
"code INFO" for a fenced or indented code block (INFO "-" when empty),
"html FIRSTLINE" for an HTML block, "para TEXT" for a paragraph (links as
[TEXT](URL)), the element name otherwise. When the file is not valid UTF-8
or holds a control byte besides tab, line feed and carriage return (such
bytes in a rendered document mean output went in uncleaned), the first
lines say so, "bytes: ...", and the status is 1.
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = "{http://commonmark.org/xml/1.0}"
CONTAINERS = {"document", "block_quote", "list", "item"}


def text_of(node):
    """The inline text, links as [TEXT](URL), images as ![TEXT](URL)."""
    out = []
    for e in node:
        tag = e.tag.replace(NS, "")
        if tag in ("text", "code", "html_inline"):
            out.append(e.text or "")
        elif tag in ("softbreak", "linebreak"):
            out.append(" ")
        elif tag in ("link", "image"):
            out.append("%s[%s](%s)" % ("!" if tag == "image" else "",
                                       text_of(e), e.get("destination")))
        else:
            out.append(text_of(e))
    return "".join(out)


def walk(node, depth, out):
    tag = node.tag.replace(NS, "")
    if tag == "code_block":
        out.append("  " * depth + "code " + (node.get("info") or "-"))
    elif tag == "html_block":
        out.append("  " * depth + "html " + (node.text or "").split("\n")[0])
    elif tag == "paragraph":
        out.append("  " * depth + "para " + text_of(node))
    elif tag == "heading":
        out.append("  " * depth + "heading " + text_of(node))
    else:
        if tag != "document":
            out.append("  " * depth + tag)
        if tag in CONTAINERS:
            for child in node:
                walk(child, depth + (tag != "document"), out)


def main():
    data = open(sys.argv[1], "rb").read()
    problems = []
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append("bytes: not UTF-8: %s" % e)
    bad = sorted(c for c in set(data) if (c < 0x20 and c not in b"\t\n\r")
                 or c == 0x7f)
    if bad:
        problems.append("bytes: control bytes %r" % bad)
    xml = subprocess.run(["cmark-gfm", "--validate-utf8", "--to", "xml",
                          sys.argv[1]],
                         check=True, stdout=subprocess.PIPE).stdout
    # cmark-gfm copies control bytes into its XML, which XML forbids.
    xml = re.sub(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", b"?", xml)
    out = list(problems)
    walk(ET.fromstring(xml), 0, out)
    print("\n".join(out))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
