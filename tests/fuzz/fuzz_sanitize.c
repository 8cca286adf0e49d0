/*
 * The HTML sanitizer (render_html_sanitize) on any bytes, and rich values
 * holding them in the Markdown and HTML renderers.
 *
 * The sanitized output is read back with a strict reader of what the
 * sanitizer promises: text holds no '<' or '>' and no '&' but a
 * character reference; every tag is an allowlisted element, spelt
 * <name attr="value" ...> or </name>, with allowlisted attributes only
 * (none named on...), values without quotes or angle brackets; an href
 * or src, decoded, goes to http:, https:, a relative URL or (src) a
 * base64 PNG, JPEG or GIF, and nothing holds "javascript:"; "<script"
 * appears nowhere; end tags close the open element, and none is left
 * open.
 *
 * When the first byte has bit 2 set, the rest of the input also becomes
 * a rich value (text/plain, and text/html or text/latex as its bits 0 and
 * 1 say) shown by blocks at the top level, in a list item and in a
 * quote: the Markdown must parse to the same blocks with every region
 * recognised and render again to the same bytes, and the HTML page is
 * made too. (Only then: parsing and rendering documents is much slower
 * than sanitizing.)
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../mdrun/doc/doc.h"
#include "../../renderer/render.h"
#include "../../renderer/sanitize.h"
#include "../../util/buf.h"
#include "../../util/err.h"

#define DEPTH_MAX 256

static const char *const elements[] = {
	"a",	   "b",	    "blockquote", "caption", "code", "colgroup",
	"dd",	   "div",   "dl",	  "dt",	     "em",   "h1",
	"h2",	   "h3",    "h4",	  "h5",	     "h6",   "i",
	"li",	   "ol",    "p",	  "pre",     "span", "strong",
	"sub",	   "sup",   "table",	  "tbody",   "td",   "tfoot",
	"th",	   "thead", "tr",	  "ul",	     NULL
};
static const char *const voids[] = { "br", "col", "hr", "img", NULL };
static const char *const attributes[] = {
	"class", "colspan", "rowspan", "align", "valign", "border",
	"title", "alt",	    "width",   "height", NULL
};

/* Is the name (n bytes at s) in the NULL-ended list? */
static bool
in(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && !memcmp(list[i], s, n))
			return true;
	return false;
}

/* Length of the run of characters of set at s (n bytes). */
static size_t
run(const char *s, size_t n, const char *set)
{
	size_t i = 0;

	while (i < n && s[i] && strchr(set, s[i]))
		i++;
	return i;
}

/* A character reference at s (s[0] == '&'), or fails. Returns its length. */
static size_t
reference(const char *s, size_t n)
{
	size_t k, digits;

	if (n > 2 && s[1] == '#' && (s[2] == 'x' || s[2] == 'X'))
		digits = run(s + 3, n - 3, "0123456789abcdefABCDEF"), k = 3;
	else if (n > 1 && s[1] == '#')
		digits = run(s + 2, n - 2, "0123456789"), k = 2;
	else
		digits = run(s + 1, n - 1,
			     "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), k = 1;
	k += digits;
	FUZZ_CHECK(digits > 0 && k < n && s[k] == ';');
	return k + 1;
}

/*
 * A URL as written (n bytes): decoded (the sanitizer escapes with these
 * five entities only), it has no control character, no blank at either
 * end, and a scheme only if it is http, https or (image) data: of a
 * PNG, JPEG or GIF in base64; so never javascript:.
 */
static void
check_url(const char *s, size_t n, bool image)
{
	static const char *const ents[][2] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
		{ "&quot;", "\"" }, { "&#39;", "'" },
	};
	static const char *const schemes[] = {
		"http:", "https:", "data:image/png;base64,",
		"data:image/jpeg;base64,", "data:image/gif;base64,", NULL
	};
	struct md_buf u = MD_BUF_INIT;
	size_t i = 0, k;

	while (i < n) {
		if (s[i] != '&') {
			FUZZ_CHECK((unsigned char)s[i] >= ' ');
			md_buf_putc(&u, s[i] >= 'A' && s[i] <= 'Z'
						? (char)(s[i] - 'A' + 'a')
						: s[i]);
			i++;
			continue;
		}
		for (k = 0; k < 5 && strncmp(s + i, ents[k][0],
					     strlen(ents[k][0]));)
			k++;
		FUZZ_CHECK(k < 5 && n - i >= strlen(ents[k][0]));
		md_buf_puts(&u, ents[k][1]);
		i += strlen(ents[k][0]);
	}
	FUZZ_CHECK(strncmp(u.ptr, "javascript:", 11));
	FUZZ_CHECK(u.len == 0 || (u.ptr[0] != ' ' && u.ptr[u.len - 1] != ' '));
	k = u.len && u.ptr[0] >= 'a' && u.ptr[0] <= 'z'
		    ? run(u.ptr, u.len,
			  "abcdefghijklmnopqrstuvwxyz0123456789+-.")
		    : 0;
	if (k > 0 && k < u.len && u.ptr[k] == ':') {
		for (i = 0; schemes[i] && strncmp(u.ptr, schemes[i],
						  strlen(schemes[i]));)
			i++;
		FUZZ_CHECK(i < 2 || (image && schemes[i]));
	}
	md_buf_dispose(&u);
}

/* The attributes of a start tag of name, from s (n bytes); past '>'. */
static size_t
check_attributes(const char *s, size_t n, const char *name, size_t name_len)
{
	size_t i = 0;

	while (i < n && s[i] == ' ') {
		size_t a = ++i, k, v;

		k = run(s + a, n - a, "abcdefghijklmnopqrstuvwxyz");
		FUZZ_CHECK(k > 0 && !(k >= 2 && !memcmp(s + a, "on", 2)));
		FUZZ_CHECK(in(attributes, s + a, k) ||
			   (k == 4 && !memcmp(s + a, "href", 4) &&
			    name_len == 1 && name[0] == 'a') ||
			   (k == 3 && !memcmp(s + a, "src", 3) &&
			    name_len == 3 && !memcmp(name, "img", 3)));
		i = a + k;
		FUZZ_CHECK(n - i >= 2 && s[i] == '=' && s[i + 1] == '"');
		v = i += 2;
		while (i < n && s[i] != '"') {
			FUZZ_CHECK(s[i] != '<' && s[i] != '>');
			i += s[i] == '&' ? reference(s + i, n - i) : 1;
		}
		FUZZ_CHECK(i < n);
		if (k <= 4 && (!memcmp(s + a, "href", 4) ||
			       !memcmp(s + a, "src", 3)))
			check_url(s + v, i - v, s[a] == 's');
		i++;
	}
	FUZZ_CHECK(i < n && s[i] == '>');
	return i + 1;
}

/* The sanitizer's output s (n bytes), as the header says. */
static void
check_html(const char *s, size_t n)
{
	const char *open[DEPTH_MAX];
	size_t open_len[DEPTH_MAX], depth = 0, i = 0;

	while (i < n) {
		size_t k;

		FUZZ_CHECK(s[i] != '\0' && s[i] != '>');
		if (s[i] == '&') {
			i += reference(s + i, n - i);
			continue;
		}
		if (s[i] != '<') {
			k = md_utf8_len((const unsigned char *)s + i, n - i);
			FUZZ_CHECK(k > 0);
			i += k;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '/') {
			k = run(s + i + 2, n - i - 2,
				"abcdefghijklmnopqrstuvwxyz0123456789");
			FUZZ_CHECK(depth > 0 && k == open_len[depth - 1] &&
				   !memcmp(s + i + 2, open[depth - 1], k));
			depth--;
			i += 2 + k;
			FUZZ_CHECK(i < n && s[i] == '>');
			i++;
			continue;
		}
		k = run(s + i + 1, n - i - 1,
			"abcdefghijklmnopqrstuvwxyz0123456789");
		FUZZ_CHECK(in(elements, s + i + 1, k) || in(voids, s + i + 1, k));
		if (!in(voids, s + i + 1, k)) {
			FUZZ_CHECK(depth < DEPTH_MAX);
			open[depth] = s + i + 1;
			open_len[depth++] = k;
		}
		i += 1 + k;
		i += check_attributes(s + i, n - i, s + i - k, k);
	}
	FUZZ_CHECK(depth == 0);
}

/* No "<script" in any case. */
static void
no_script(const char *s, size_t n)
{
	for (size_t i = 0; i + 7 <= n; i++) {
		size_t k;

		for (k = 0; k < 7 && (s[i + k] | 0x20) == "<script"[k]; k++)
			;
		FUZZ_CHECK(k < 7);
	}
}

/* Renders the input as rich values of three blocks; see the top. */
static void
check_renders(const char *s, size_t n, unsigned char which)
{
	static const char doc[] = "```{python}\na\n```\n\n"
				  "- item\n\n  ```{python}\n  b\n  ```\n\n"
				  "> ```{python}\n> c\n> ```\n";
	struct md_mime bundle[3];
	struct md_out out = { .kind = MD_OUT_RICH, .bundle = bundle };
	struct md_view_real real = { .outs = &out, .nouts = 1 };
	struct md_view_block blocks[3];
	struct md_doc *d = NULL, *again = NULL;
	struct md_buf once = MD_BUF_INIT, twice = MD_BUF_INIT;
	struct md_view v = { 0 };

	if (which & 1)
		bundle[out.nbundle++] = (struct md_mime){ "text/html", s, n };
	if (which & 2)
		bundle[out.nbundle++] = (struct md_mime){ "text/latex", s, n };
	bundle[out.nbundle++] = (struct md_mime){ "text/plain", s, n };
	FUZZ_CHECK(md_doc_parse(&d, "fuzz.md", doc, sizeof(doc) - 1, 0) == 0);
	FUZZ_CHECK(d->nblocks == 3);
	for (size_t i = 0; i < 3; i++)
		blocks[i] = (struct md_view_block){
			.block = &d->blocks[i], .status = MD_STATUS_OK,
			.key = "", .reals = &real, .nreals = 1 };
	v.doc = d;
	v.path = "fuzz.md";
	v.blocks = blocks;
	render_markdown(&once, &v);
	FUZZ_CHECK(md_doc_parse(&again, "fuzz.md", once.ptr, once.len, 0) ==
		   0);
	FUZZ_CHECK(again->nblocks == 3);
	for (size_t i = 0; i < 3; i++) {
		FUZZ_CHECK(again->blocks[i].has_out);
		blocks[i].block = &again->blocks[i];
	}
	v.doc = again;
	render_markdown(&twice, &v);
	FUZZ_CHECK(twice.len == once.len &&
		   !memcmp(twice.ptr, once.ptr, once.len));
	md_buf_clear(&twice);
	render_html(&twice, &v);
	md_doc_free(d);
	md_doc_free(again);
	md_buf_dispose(&once);
	md_buf_dispose(&twice);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct md_buf out = MD_BUF_INIT;

	render_html_sanitize(&out, s, size);
	check_html(out.ptr, out.len);
	no_script(out.ptr, out.len);
	if (size > 0 && (data[0] & 4))
		check_renders(s + 1, size - 1, data[0]);
	md_buf_dispose(&out);
	md_err_clear();
	return 0;
}
