#!/usr/bin/env python3
"""Is an HTML page inert? usage: inert.py FILE.html

Tokenizes the page as a browser would (html.parser decodes character
references in attributes, so &#106;avascript: is seen as javascript:) and
prints one line per thing that could run code, then exits 1 if there was
any: a <script>, <iframe>, <object>, <embed> or <base> element; an on*
event attribute; a javascript: or vbscript: URL in an attribute; a data:
URL that a click would open as a page (href without download). Also
fails when the page lacks a Content-Security-Policy that forbids scripts.
"""
import html.parser
import re
import sys

BAD_TAGS = {"script", "iframe", "object", "embed", "base", "frame"}
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data",
             "poster", "background", "srcset"}


def scheme(value):
    # Browsers ignore ASCII whitespace and controls inside a scheme.
    v = re.sub(r"[\x00-\x20]", "", value or "").lower()
    return v.split(":", 1)[0] if ":" in v else ""


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.csp = False

    def handle_starttag(self, tag, attrs):
        where = "line %d: <%s>" % (self.getpos()[0], tag)
        names = {k for k, _ in attrs}
        if tag in BAD_TAGS:
            self.problems.append(where + " element")
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append("%s attribute %s" % (where, k))
            if k in URL_ATTRS:
                s = scheme(v)
                if s in ("javascript", "vbscript"):
                    self.problems.append("%s %s=%s" % (where, k, v[:40]))
                if s == "data" and tag == "a" and "download" not in names:
                    self.problems.append("%s data: link without download"
                                         % where)
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == \
                "content-security-policy":
            self.csp = "script-src 'none'" in (dict(attrs).get("content")
                                                or "")

    handle_startendtag = handle_starttag


def main():
    page = Page()
    page.feed(open(sys.argv[1], encoding="utf-8", errors="replace").read())
    page.close()
    if not page.csp:
        page.problems.append("no Content-Security-Policy with script-src "
                             "'none'")
    for p in page.problems:
        print(p)
    sys.exit(1 if page.problems else 0)


if __name__ == "__main__":
    main()
