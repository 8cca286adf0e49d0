/*
 * Escaping for every format. In a tool that inlines program output into
 * HTML an escaping bug is a security bug: every renderer escapes through
 * these functions and nowhere else.
 */
#include <stdbool.h>
#include <string.h>

#include "escape.h"
#include "render.h"

/* s with each character in `special` replaced by its entity in `ents`. */
static void
entities(struct md_buf *out, const char *s, size_t n, const char *special,
	 const char *const *ents)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *p = s[i] ? strchr(special, s[i]) : NULL;

		if (!p)
			continue;
		md_buf_put(out, s + run, i - run);
		md_buf_puts(out, ents[p - special]);
		run = i + 1;
	}
	md_buf_put(out, s + run, n - run);
}

static const char html_special[] = "&<>\"'";
static const char *const html_ents[] = { "&amp;", "&lt;", "&gt;", "&quot;",
					 "&#39;" };

void
render_html_escape(struct md_buf *out, const char *s, size_t n)
{
	entities(out, s, n, html_special, html_ents);
}

/* Cleaned by clean, then escaped with its special characters. */
static void
cleaned(struct md_buf *out, const char *s, size_t n,
	void (*clean)(struct md_buf *, const char *, size_t),
	const char *special)
{
	struct md_buf text = MD_BUF_INIT;

	clean(&text, s ? s : "", s ? n : 0);
	entities(out, text.ptr, text.len, special, html_ents);
	md_buf_dispose(&text);
}

/* What SGR sequences have set: colours (-1: the default) and styles. */
struct sgr {
	int fg, bg;
	bool bold, italic, underline;
};

/* The state after the SGR sequence whose parameters are p (k bytes). */
static void
sgr_apply(struct sgr *g, const char *p, size_t k)
{
	int v[32], n = 0, cur = 0;
	bool any = false;

	for (size_t i = 0; i <= k && n < 32; i++) {
		if (i == k || p[i] == ';' || p[i] == ':') {
			v[n++] = any ? cur : 0;
			cur = 0;
			any = false;
		} else if (p[i] >= '0' && p[i] <= '9' && cur < 100000) {
			cur = cur * 10 + (p[i] - '0');
			any = true;
		}
	}
	for (int i = 0; i < n; i++) {
		int c = v[i];

		if (c == 0)
			*g = (struct sgr){ -1, -1, false, false, false };
		else if (c == 1 || c == 22)
			g->bold = c == 1;
		else if (c == 3 || c == 23)
			g->italic = c == 3;
		else if (c == 4 || c == 24)
			g->underline = c == 4;
		else if (c >= 30 && c <= 37)
			g->fg = c - 30;
		else if (c >= 90 && c <= 97)
			g->fg = c - 90 + 8;
		else if (c == 39)
			g->fg = -1;
		else if (c >= 40 && c <= 47)
			g->bg = c - 40;
		else if (c >= 100 && c <= 107)
			g->bg = c - 100 + 8;
		else if (c == 49)
			g->bg = -1;
		else if ((c == 38 || c == 48) && i + 2 < n && v[i + 1] == 5) {
			/* 256 colours: the first 16 have a class */
			int *to = c == 38 ? &g->fg : &g->bg;
			*to = v[i + 2] < 16 ? v[i + 2] : -1;
			i += 2;
		} else if ((c == 38 || c == 48) && i + 1 < n && v[i + 1] == 2) {
			i += 4; /* a true colour: left as it was */
		}
	}
}

/*
 * Length of the SGR sequence (ESC [ digits ; : m) at s, or 0 when none
 * starts there.
 */
static size_t
sgr_len(const char *s, size_t n)
{
	size_t i = 2;

	if (n < 3 || s[0] != 0x1b || s[1] != '[')
		return 0;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == ';' ||
			 s[i] == ':'))
		i++;
	return i < n && s[i] == 'm' ? i + 1 : 0;
}

/*
 * Whether output s is coloured the simple way: SGR sequences, and nothing
 * a terminal moves the cursor back for (a lone CR, a backspace, an erase
 * in line), whose cells a colour could not follow.
 */
static bool
simply_coloured(const char *s, size_t n)
{
	bool sgr = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\b' || (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
			return false;
		if (s[i] != 0x1b)
			continue;
		if (sgr_len(s + i, n - i))
			sgr = true;
		else if (i + 1 < n && s[i + 1] == '[' &&
			 memchr(s + i, 'K', n - i < 16 ? n - i : 16))
			return false;
	}
	return sgr;
}

/* One run of coloured output, cleaned and escaped, in its span. */
static void
span(struct md_buf *out, const struct sgr *g, const char *s, size_t n)
{
	bool plain = g->fg < 0 && g->bg < 0 && !g->bold && !g->italic &&
		     !g->underline;

	if (!n)
		return;
	if (!plain) {
		md_buf_puts(out, "<span class=\"ansi");
		if (g->fg >= 0)
			md_buf_printf(out, " ansi-fg-%d", g->fg);
		if (g->bg >= 0)
			md_buf_printf(out, " ansi-bg-%d", g->bg);
		md_buf_puts(out, g->bold ? " ansi-bold" : "");
		md_buf_puts(out, g->italic ? " ansi-italic" : "");
		md_buf_puts(out, g->underline ? " ansi-underline" : "");
		md_buf_puts(out, "\">");
	}
	cleaned(out, s, n, render_text_clean, html_special);
	if (!plain)
		md_buf_puts(out, "</span>");
}

void
render_html_output(struct md_buf *out, const char *s, size_t n)
{
	struct sgr g = { -1, -1, false, false, false };
	size_t i, run = 0, k;

	if (!s || !simply_coloured(s, n)) {
		cleaned(out, s, n, render_text_clean, html_special);
		return;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != 0x1b || !(k = sgr_len(s + i, n - i)))
			continue;
		span(out, &g, s + run, i - run);
		sgr_apply(&g, s + i + 2, k - 3);
		i += k - 1;
		run = i + 1;
	}
	span(out, &g, s + run, n - run);
}

void
render_html_text(struct md_buf *out, const char *s, size_t n)
{
	cleaned(out, s, n, render_text_plain, html_special);
}

const char *
render_html_mime(const char *mime)
{
	const char *p;

	if (!mime || !*mime || !strchr(mime, '/'))
		return "application/octet-stream";
	for (p = mime; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+-._", *p))
			return "application/octet-stream";
	return mime;
}

void
render_html_class(struct md_buf *out, const char *s)
{
	for (; *s; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-_.#", *s))
			md_buf_putc(out, *s);
}

/* XML's four: the same entities as HTML's, without the apostrophe's. */
static const char xml_special[] = "&<>\"";

void
render_xml_output(struct md_buf *out, const char *s, size_t n)
{
	cleaned(out, s, n, render_text_clean, xml_special);
}

void
render_xml_text(struct md_buf *out, const char *s, size_t n)
{
	cleaned(out, s, n, render_text_plain, xml_special);
}

void
render_gh_escape(struct md_buf *out, const char *s, bool prop)
{
	for (; *s; s++) {
		if (*s == '%')
			md_buf_puts(out, "%25");
		else if (*s == '\r')
			md_buf_puts(out, "%0D");
		else if (*s == '\n')
			md_buf_puts(out, "%0A");
		else if (prop && *s == ':')
			md_buf_puts(out, "%3A");
		else if (prop && *s == ',')
			md_buf_puts(out, "%2C");
		else
			md_buf_putc(out, *s);
	}
}

void
render_md_link_text(struct md_buf *out, const char *s)
{
	struct md_buf clean = MD_BUF_INIT;

	render_text_plain(&clean, s, strlen(s));
	for (size_t i = 0; i < clean.len; i++) {
		char c = clean.ptr[i];

		if (c == '\n') {
			md_buf_puts(out, "\xe2\x90\xa4");
			continue;
		}
		if (strchr("\\`*_[]<>&", c))
			md_buf_putc(out, '\\');
		md_buf_putc(out, c);
	}
	md_buf_dispose(&clean);
}
