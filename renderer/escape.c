/*
 * Escaping for every format. In a tool that inlines program output into
 * HTML an escaping bug is a security bug: every renderer escapes through
 * these functions and nowhere else.
 */
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

void
render_html_output(struct md_buf *out, const char *s, size_t n)
{
	cleaned(out, s, n, render_text_clean, html_special);
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
