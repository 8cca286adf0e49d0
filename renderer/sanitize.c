/*
 * The HTML sanitizer (sanitize.h): a small tokenizer after HTML's own
 * (text, tags and their attributes, comments and the bogus kinds, the
 * raw text elements such as script and style, whose content is not
 * markup) that writes a new document rather than filtering the old one.
 * Every tag written is spelt from the tables below, with attributes from
 * their list, values and text escaped again, and an element stack closes
 * what is left open. However malformed or hostile the input, a browser
 * parses the output into what this file decided; a misreading can lose
 * content, never let markup through.
 *
 * A URL is checked as a browser reads it: character references decoded,
 * tabs and line breaks removed, leading and trailing spaces and controls
 * trimmed. What is written is that decoded value, escaped, so the
 * browser sees exactly the string that was checked (a reference this
 * file does not decode is written as text, "&amp;colon;", not as a
 * colon).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "escape.h"
#include "render.h"
#include "sanitize.h"

/* Deeper nesting keeps the text only. */
#define DEPTH_MAX 256

/* The elements kept, by their index in elems[]. */
enum el {
	E_A, E_B, E_BLOCKQUOTE, E_BR, E_CAPTION, E_CODE, E_COL, E_COLGROUP,
	E_DD, E_DIV, E_DL, E_DT, E_EM, E_H1, E_H2, E_H3, E_H4, E_H5, E_H6,
	E_HR, E_I, E_IMG, E_LI, E_OL, E_P, E_PRE, E_SPAN, E_STRONG, E_SUB,
	E_SUP, E_TABLE, E_TBODY, E_TD, E_TFOOT, E_TH, E_THEAD, E_TR, E_UL,
	E_NONE
};

#define BIT(e) ((uint64_t)1 << (e))
#define HEADINGS                                                            \
	(BIT(E_H1) | BIT(E_H2) | BIT(E_H3) | BIT(E_H4) | BIT(E_H5) |       \
	 BIT(E_H6))
#define CELLS (BIT(E_TD) | BIT(E_TH))
#define SECTIONS (BIT(E_THEAD) | BIT(E_TBODY) | BIT(E_TFOOT))
/* HTML's "special" elements among ours, but for div and p. */
#define SPECIAL                                                             \
	(BIT(E_BLOCKQUOTE) | BIT(E_BR) | BIT(E_CAPTION) | BIT(E_COL) |      \
	 BIT(E_COLGROUP) | BIT(E_DD) | BIT(E_DL) | BIT(E_DT) | HEADINGS |   \
	 BIT(E_HR) | BIT(E_IMG) | BIT(E_LI) | BIT(E_OL) | BIT(E_PRE) |      \
	 BIT(E_TABLE) | SECTIONS | CELLS | BIT(E_TR) | BIT(E_UL))
/* Elements whose start closes an open <p>, and where the search stops. */
#define BLOCKS                                                              \
	(BIT(E_BLOCKQUOTE) | BIT(E_DD) | BIT(E_DIV) | BIT(E_DL) |           \
	 BIT(E_DT) | HEADINGS | BIT(E_HR) | BIT(E_LI) | BIT(E_OL) |         \
	 BIT(E_P) | BIT(E_PRE) | BIT(E_TABLE) | BIT(E_UL))
#define P_SCOPE (BIT(E_TABLE) | CELLS | BIT(E_CAPTION))

/*
 * An element kept. Its start tag closes the open element of `closes`
 * nearest the top of the stack (and all above it), unless one of
 * `stops` is nearer: how HTML ends a cell at the next <td>, an item at
 * the next <li>.
 */
struct elem {
	const char *name;
	bool is_void;
	uint64_t closes, stops;
};

static const struct elem elems[] = {
	[E_A] = { "a", false, 0, 0 },
	[E_B] = { "b", false, 0, 0 },
	[E_BLOCKQUOTE] = { "blockquote", false, 0, 0 },
	[E_BR] = { "br", true, 0, 0 },
	[E_CAPTION] = { "caption", false, 0, 0 },
	[E_CODE] = { "code", false, 0, 0 },
	[E_COL] = { "col", true, 0, 0 },
	[E_COLGROUP] = { "colgroup", false, 0, 0 },
	[E_DD] = { "dd", false, BIT(E_DD) | BIT(E_DT),
		   SPECIAL & ~(BIT(E_DD) | BIT(E_DT)) },
	[E_DIV] = { "div", false, 0, 0 },
	[E_DL] = { "dl", false, 0, 0 },
	[E_DT] = { "dt", false, BIT(E_DD) | BIT(E_DT),
		   SPECIAL & ~(BIT(E_DD) | BIT(E_DT)) },
	[E_EM] = { "em", false, 0, 0 },
	[E_H1] = { "h1", false, 0, 0 },
	[E_H2] = { "h2", false, 0, 0 },
	[E_H3] = { "h3", false, 0, 0 },
	[E_H4] = { "h4", false, 0, 0 },
	[E_H5] = { "h5", false, 0, 0 },
	[E_H6] = { "h6", false, 0, 0 },
	[E_HR] = { "hr", true, 0, 0 },
	[E_I] = { "i", false, 0, 0 },
	[E_IMG] = { "img", true, 0, 0 },
	[E_LI] = { "li", false, BIT(E_LI), SPECIAL & ~BIT(E_LI) },
	[E_OL] = { "ol", false, 0, 0 },
	[E_P] = { "p", false, 0, 0 },
	[E_PRE] = { "pre", false, 0, 0 },
	[E_SPAN] = { "span", false, 0, 0 },
	[E_STRONG] = { "strong", false, 0, 0 },
	[E_SUB] = { "sub", false, 0, 0 },
	[E_SUP] = { "sup", false, 0, 0 },
	[E_TABLE] = { "table", false, 0, 0 },
	[E_TBODY] = { "tbody", false, SECTIONS, BIT(E_TABLE) },
	[E_TD] = { "td", false, CELLS, BIT(E_TR) | BIT(E_TABLE) },
	[E_TFOOT] = { "tfoot", false, SECTIONS, BIT(E_TABLE) },
	[E_TH] = { "th", false, CELLS, BIT(E_TR) | BIT(E_TABLE) },
	[E_THEAD] = { "thead", false, SECTIONS, BIT(E_TABLE) },
	[E_TR] = { "tr", false, BIT(E_TR), SECTIONS | BIT(E_TABLE) },
	[E_UL] = { "ul", false, 0, 0 },
};

/* Raw text elements: their content, up to their end tag, is not markup. */
static const char *const raw[] = { "script",  "style",   "textarea",
				   "title",   "iframe",  "noscript",
				   "xmp",     "noembed", "noframes",
				   NULL };
/* Elements dropped with their content (markup, nested ones counted). */
static const char *const dropped[] = { "object", "template", "svg", "math",
				       NULL };

/* The attributes kept; href only on a, src only on img. */
enum attr { A_HREF, A_SRC };
static const char *const attrs[] = { "href",  "src",	"class", "colspan",
				     "rowspan", "align", "valign", "border",
				     "title", "alt",	"width", "height",
				     NULL };

struct san {
	struct md_buf *out;
	unsigned char stack[DEPTH_MAX]; /* open elements, enum el */
	size_t depth;
	int skip;	   /* the dropped[] element being skipped, or -1 */
	size_t skip_depth; /* how many of it are open */
	struct md_buf attrs; /* the tag being read: its attributes kept */
	struct md_buf url;   /* an attribute's URL, decoded */
};

/* An ASCII letter? */
static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An ASCII digit? */
static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* HTML's white space. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* c in ASCII lower case. */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Are the n bytes at s the string name, in any ASCII case? */
static bool
same(const char *s, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n && name[i]; i++)
		if (lower(s[i]) != name[i])
			return false;
	return i == n && !name[i];
}

/* The index of the name (n bytes at s) in the NULL-ended list, or -1. */
static int
find(const char *const *list, const char *s, size_t n)
{
	for (int i = 0; list[i]; i++)
		if (same(s, n, list[i]))
			return i;
	return -1;
}

/* The element kept of that name (n bytes at s), or E_NONE. */
static enum el
element(const char *s, size_t n)
{
	for (int e = 0; e < E_NONE; e++)
		if (same(s, n, elems[e].name))
			return (enum el)e;
	return E_NONE;
}

/* Where the first pat at or after s[from] ends, or n. */
static size_t
after(const char *s, size_t n, size_t from, const char *pat)
{
	size_t k = strlen(pat);

	for (size_t i = from; i + k <= n; i++) {
		const char *p = memchr(s + i, pat[0], n - i);

		if (!p || (size_t)(p - s) + k > n)
			break;
		i = (size_t)(p - s);
		if (!memcmp(s + i, pat, k))
			return i + k;
	}
	return n;
}

/*
 * The length of the character reference at s (s[0] == '&', n bytes
 * left) when it is well formed and ends with ';', else 0.
 */
static size_t
ref_len(const char *s, size_t n)
{
	size_t i = 1, start;
	bool hex = false;

	if (i < n && s[i] == '#') {
		i++;
		if (i < n && lower(s[i]) == 'x') {
			hex = true;
			i++;
		}
		for (start = i; i < n && i - start < 8 &&
				(is_digit(s[i]) ||
				 (hex && strchr("abcdef", lower(s[i]))));)
			i++;
	} else {
		start = i;
		if (i < n && is_alpha(s[i]))
			while (i < n && i - start < 32 &&
			       (is_alpha(s[i]) || is_digit(s[i])))
				i++;
	}
	return i > start && i < n && s[i] == ';' ? i + 1 : 0;
}

/*
 * Text or an attribute value, escaped again: & < > " ' as entities but
 * the & of a well-formed character reference, which stays one.
 */
static void
text(struct md_buf *out, const char *s, size_t n)
{
	size_t i = 0, run = 0, k;

	while (i < n) {
		if (s[i] == '&' && (k = ref_len(s + i, n - i))) {
			i += k;
			continue;
		}
		if (!strchr("&<>\"'", s[i]) || !s[i]) {
			i++;
			continue;
		}
		md_buf_put(out, s + run, i - run);
		render_html_escape(out, s + i, 1);
		run = ++i;
	}
	md_buf_put(out, s + run, n - run);
}

/*
 * Appends code point c as UTF-8; a control other than a tab or a line
 * break, a surrogate or 0 as U+FFFD.
 */
static void
put_utf8(struct md_buf *b, uint32_t c)
{
	if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
	    (c >= 0x7f && c < 0xa0) ||
	    (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		md_buf_putc(b, (char)c);
	} else if (c < 0x800) {
		md_buf_putc(b, (char)(0xc0 | c >> 6));
		md_buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		md_buf_putc(b, (char)(0xe0 | c >> 12));
		md_buf_putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		md_buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		md_buf_putc(b, (char)(0xf0 | c >> 18));
		md_buf_putc(b, (char)(0x80 | (c >> 12 & 0x3f)));
		md_buf_putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		md_buf_putc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/*
 * A reference at s (s[0] == '&', n bytes left) as a browser decodes it in
 * an attribute: numeric, ';' optional, or one of the five named ones XML
 * has. Appends the character and returns the reference's length, or 0
 * for anything else.
 */
static size_t
decode_ref(struct md_buf *b, const char *s, size_t n)
{
	static const char *const names[][2] = {
		{ "amp;", "&" },   { "lt;", "<" },   { "gt;", ">" },
		{ "quot;", "\"" }, { "apos;", "'" },
	};
	uint32_t c = 0;
	size_t i = 2, start;
	bool hex;

	for (size_t k = 0; k < sizeof(names) / sizeof(*names); k++) {
		size_t len = strlen(names[k][0]);

		if (n > len && !memcmp(s + 1, names[k][0], len)) {
			md_buf_puts(b, names[k][1]);
			return len + 1;
		}
	}
	if (n < 3 || s[1] != '#')
		return 0;
	hex = lower(s[2]) == 'x';
	i += hex;
	for (start = i; i < n; i++) {
		char d = lower(s[i]);

		if (is_digit(d))
			c = c * (hex ? 16 : 10) + (uint32_t)(d - '0');
		else if (hex && d >= 'a' && d <= 'f')
			c = c * 16 + (uint32_t)(d - 'a' + 10);
		else
			break;
		if (c > 0x10ffff)
			c = 0x110000;
	}
	if (i == start)
		return 0;
	put_utf8(b, c);
	return i < n && s[i] == ';' ? i + 1 : i;
}

/* The URL in an attribute value (n bytes at v), as a browser reads it. */
static void
url_value(struct md_buf *u, const char *v, size_t n)
{
	size_t i = 0, k, start = 0;

	md_buf_clear(u);
	while (i < n) {
		if (v[i] == '&' && (k = decode_ref(u, v + i, n - i)))
			i += k;
		else
			md_buf_putc(u, v[i++]);
	}
	/* Tabs and line breaks go, decoded ones too; then the ends. */
	for (i = k = 0; i < u->len; i++)
		if (u->ptr[i] != '\t' && u->ptr[i] != '\n' && u->ptr[i] != '\r')
			u->ptr[k++] = u->ptr[i];
	while (k > 0 && (unsigned char)u->ptr[k - 1] <= ' ')
		k--;
	while (start < k && (unsigned char)u->ptr[start] <= ' ')
		start++;
	u->len = k - start;
	memmove(u->ptr, u->ptr + start, u->len);
	if (u->cap)
		u->ptr[u->len] = '\0';
}

/* Is u (n bytes, no scheme) a base64 PNG, JPEG or GIF after "data:"? */
static bool
data_image(const char *u, size_t n)
{
	static const char *const types[] = { "image/png;base64,",
					     "image/jpeg;base64,",
					     "image/gif;base64,", NULL };

	for (int t = 0; types[t]; t++) {
		size_t k = strlen(types[t]), i;

		if (n < k || !same(u, k, types[t]))
			continue;
		for (i = k; i < n; i++)
			if (!is_alpha(u[i]) && !is_digit(u[i]) &&
			    u[i] != '+' && u[i] != '/' && u[i] != '=')
				return false;
		return true;
	}
	return false;
}

/* May a link (or, image, an img) go to the URL u? */
static bool
url_ok(const struct md_buf *u, bool image)
{
	const char *s = u->ptr;
	size_t k = 0;

	if (u->len > 0 && is_alpha(s[0]))
		for (k = 1; k < u->len && (is_alpha(s[k]) || is_digit(s[k]) ||
					  s[k] == '+' || s[k] == '-' ||
					  s[k] == '.');)
			k++;
	if (k == 0 || k == u->len || s[k] != ':')
		return true; /* no scheme: relative */
	if (same(s, k, "http") || same(s, k, "https"))
		return true;
	return image && same(s, k, "data") &&
	       data_image(s + k + 1, u->len - k - 1);
}

/*
 * Attribute name=value (n, vn bytes) of a start tag of e, appended to
 * st->attrs when e keeps it; *seen has a bit for each attribute seen
 * (the first of two wins, as in HTML); *src says an img got its src.
 */
static void
keep(struct san *st, enum el e, const char *name, size_t n, const char *v,
     size_t vn, unsigned *seen, bool *src)
{
	int a = find(attrs, name, n);

	if (a < 0 || (*seen & 1u << a))
		return;
	*seen |= 1u << a;
	if ((a == A_HREF && e != E_A) || (a == A_SRC && e != E_IMG))
		return;
	if (a == A_HREF || a == A_SRC) {
		url_value(&st->url, v, vn);
		if (!url_ok(&st->url, a == A_SRC))
			return;
		*src = *src || a == A_SRC;
	}
	md_buf_printf(&st->attrs, " %s=\"", attrs[a]);
	if (a == A_HREF || a == A_SRC)
		render_html_escape(&st->attrs, st->url.ptr, st->url.len);
	else
		text(&st->attrs, v, vn);
	md_buf_putc(&st->attrs, '"');
}

/*
 * Reads a tag's attributes from s[*at] through its '>', *at then past
 * it; those element e keeps go to st->attrs (E_NONE: none). *closing
 * says it ended "/>", *src that an img has a src it may have. False when
 * the input ends first: the tag is dropped, as HTML drops it.
 */
static bool
attributes(struct san *st, const char *s, size_t n, size_t *at, enum el e,
	   bool *closing, bool *src)
{
	size_t i = *at;
	unsigned seen = 0;

	md_buf_clear(&st->attrs);
	*closing = *src = false;
	for (;;) {
		size_t name, name_end, v = 0, v_end = 0;

		for (; i < n && (is_space(s[i]) || s[i] == '/'); i++)
			*closing = s[i] == '/' && i + 1 < n && s[i + 1] == '>';
		if (i >= n)
			return false;
		if (s[i] == '>')
			break;
		/* A name may start with '=', as in HTML. */
		for (name = i++; i < n && !is_space(s[i]) && s[i] != '/' &&
				 s[i] != '>' && s[i] != '=';)
			i++;
		name_end = i;
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && s[i] == '=') {
			for (i++; i < n && is_space(s[i]);)
				i++;
			if (i < n && (s[i] == '"' || s[i] == '\'')) {
				const char *q = memchr(s + i + 1, s[i],
						       n - i - 1);

				if (!q)
					return false;
				v = i + 1;
				v_end = (size_t)(q - s);
				i = v_end + 1;
			} else {
				for (v = i; i < n && !is_space(s[i]) &&
					    s[i] != '>';)
					i++;
				v_end = i;
			}
		}
		if (e != E_NONE)
			keep(st, e, s + name, name_end - name, s + v,
			     v_end - v, &seen, src);
	}
	*at = i + 1;
	return true;
}

/* Closes the element on top of the stack. */
static void
pop(struct san *st)
{
	md_buf_printf(st->out, "</%s>", elems[st->stack[--st->depth]].name);
}

/*
 * Closes the open element of set nearest the top, with every element
 * above it, unless an element of stops is nearer.
 */
static void
close_nearest(struct san *st, uint64_t set, uint64_t stops)
{
	for (size_t k = st->depth; k > 0; k--) {
		uint64_t b = BIT(st->stack[k - 1]);

		if (b & set) {
			while (st->depth >= k)
				pop(st);
			return;
		}
		if (b & stops)
			return;
	}
}

/* A start tag of e with the attributes in st->attrs. */
static void
open_element(struct san *st, enum el e)
{
	const struct elem *x = &elems[e];

	if (x->closes)
		close_nearest(st, x->closes, x->stops);
	if (BIT(e) & BLOCKS)
		close_nearest(st, BIT(E_P), P_SCOPE);
	if ((BIT(e) & HEADINGS) && st->depth > 0 &&
	    (BIT(st->stack[st->depth - 1]) & HEADINGS))
		pop(st);
	if (!x->is_void && st->depth == DEPTH_MAX)
		return;
	md_buf_printf(st->out, "<%s", x->name);
	md_buf_put(st->out, st->attrs.ptr, st->attrs.len);
	md_buf_putc(st->out, '>');
	if (!x->is_void)
		st->stack[st->depth++] = (unsigned char)e;
}

/*
 * Past the content of raw text element name (n bytes at s, from `from`)
 * and its end tag: the end of the input when it has none.
 */
static size_t
raw_end(struct san *st, const char *s, size_t n, size_t from,
	const char *name)
{
	size_t k = strlen(name), i = from;
	bool closing, src;

	while (i < n) {
		const char *p = memchr(s + i, '<', n - i);

		if (!p)
			return n;
		i = (size_t)(p - s);
		if (i + 2 + k <= n && s[i + 1] == '/' &&
		    same(s + i + 2, k, name) &&
		    (i + 2 + k == n || is_space(s[i + 2 + k]) ||
		     s[i + 2 + k] == '/' || s[i + 2 + k] == '>')) {
			i += 2 + k;
			return attributes(st, s, n, &i, E_NONE, &closing, &src)
				       ? i
				       : n;
		}
		i++;
	}
	return n;
}

/*
 * The tag whose name starts at s[k] (an end tag when end); returns where
 * it ends.
 */
static size_t
tag(struct san *st, const char *s, size_t n, size_t k, bool end)
{
	size_t i = k;
	enum el e;
	bool closing, src;
	int r, d;

	while (i < n && !is_space(s[i]) && s[i] != '/' && s[i] != '>')
		i++;
	e = element(s + k, i - k);
	r = find(raw, s + k, i - k);
	d = find(dropped, s + k, i - k);
	if (!attributes(st, s, n, &i,
			end || st->skip >= 0 ? E_NONE : e, &closing, &src))
		return n;
	if (end) {
		if (st->skip >= 0 && d == st->skip && --st->skip_depth == 0)
			st->skip = -1;
		else if (st->skip < 0 && e != E_NONE)
			close_nearest(st, BIT(e), 0);
	} else if (r >= 0) {
		i = raw_end(st, s, n, i, raw[r]);
	} else if (st->skip >= 0) {
		st->skip_depth += d == st->skip && !closing;
	} else if (d >= 0 && !closing) {
		st->skip = d;
		st->skip_depth = 1;
	} else if (e != E_NONE && (e != E_IMG || src)) {
		open_element(st, e);
	}
	return i;
}

/*
 * The markup at s[i] == '<': a tag, a comment (dropped), or a '<' that
 * starts nothing (text). Returns where it ends.
 */
static size_t
markup(struct san *st, const char *s, size_t n, size_t i)
{
	size_t k = i + 1;

	if (k < n && s[k] == '!') {
		if (n - k >= 3 && s[k + 1] == '-' && s[k + 2] == '-')
			return after(s, n, i + 2, "-->");
		return after(s, n, k, ">");
	}
	if (k < n && s[k] == '?')
		return after(s, n, k, ">");
	if (k < n && s[k] == '/' && k + 1 < n)
		return is_alpha(s[k + 1]) ? tag(st, s, n, k + 1, true)
					  : after(s, n, k, ">");
	if (k < n && is_alpha(s[k]))
		return tag(st, s, n, k, false);
	if (st->skip < 0)
		md_buf_puts(st->out, "&lt;");
	return k;
}

void
render_html_sanitize(struct md_buf *out, const char *html, size_t len)
{
	struct md_buf clean = MD_BUF_INIT;
	struct san st = { .out = out, .skip = -1 };
	size_t i = 0;

	st.attrs = (struct md_buf)MD_BUF_INIT;
	st.url = (struct md_buf)MD_BUF_INIT;
	render_text_plain(&clean, html ? html : "", html ? len : 0);
	while (i < clean.len) {
		const char *lt = memchr(clean.ptr + i, '<', clean.len - i);
		size_t end = lt ? (size_t)(lt - clean.ptr) : clean.len;

		if (st.skip < 0)
			text(out, clean.ptr + i, end - i);
		i = end < clean.len ? markup(&st, clean.ptr, clean.len, end)
				    : end;
	}
	while (st.depth > 0)
		pop(&st);
	md_buf_dispose(&st.attrs);
	md_buf_dispose(&st.url);
	md_buf_dispose(&clean);
}

bool
render_html_shows(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *gt;

		if (is_space(s[i]))
			continue;
		if (s[i] != '<')
			return true;
		if ((n - i > 4 && !memcmp(s + i, "<img", 4)) ||
		    (n - i > 3 && !memcmp(s + i, "<hr", 3)))
			return true;
		/* A tag's values are escaped: its first '>' ends it. */
		if (!(gt = memchr(s + i, '>', n - i)))
			return false;
		i = (size_t)(gt - s);
	}
	return false;
}
