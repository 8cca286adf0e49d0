/*
 * The Markdown splice renderer (the output region's shape is in
 * render.h). The output is the input, byte for byte, with a region after
 * each executed block; a region is tight (no blank lines outside its
 * fences) so a tight list stays tight, and its every line carries the
 * block's container prefix, so it stays in its quote or list item.
 */
#include <string.h>

#include "escape.h"
#include "internal.h"
#include "sanitize.h"

struct out {
	struct md_buf *buf;
	const char *prefix;
	const char *eol;
	/* The first line's prefix, when it differs (a list marker). */
	const char *first;
	size_t first_len;
};

static void
line(struct out *o, const char *s, size_t n)
{
	if (o->first) {
		md_buf_put(o->buf, o->first, o->first_len);
		md_buf_put(o->buf, s, n);
		o->first = NULL;
	} else if (n == 0) {
		/* No trailing blanks: "> " becomes ">", "  " nothing. */
		size_t p = strlen(o->prefix);
		while (p > 0 && (o->prefix[p - 1] == ' ' ||
				 o->prefix[p - 1] == '\t'))
			p--;
		md_buf_put(o->buf, o->prefix, p);
	} else {
		md_buf_puts(o->buf, o->prefix);
		md_buf_put(o->buf, s, n);
	}
	md_buf_puts(o->buf, o->eol);
}

/* Each line of the cleaned text, prefixed. */
static void
lines(struct out *o, const struct md_buf *text)
{
	size_t i, start;

	for (start = 0, i = 0; i < text->len; i++) {
		if (text->ptr[i] != '\n')
			continue;
		line(o, text->ptr + start, i - start);
		start = i + 1;
	}
	if (start < text->len)
		line(o, text->ptr + start, text->len - start);
}

static void
asis(struct out *o, const char *s, size_t n)
{
	struct md_buf text = MD_BUF_INIT;

	render_text_clean(&text, s, n);
	lines(o, &text);
	md_buf_dispose(&text);
}

static void
fenced(struct out *o, const char *info, const char *s, size_t n)
{
	struct md_buf text = MD_BUF_INIT, fence = MD_BUF_INIT;
	size_t i, run = 0, longest = 0;

	render_text_clean(&text, s, n);
	for (i = 0; i < text.len; i++) {
		run = text.ptr[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	/* Longer than any run of backticks inside, so none closes it. */
	for (i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
		md_buf_putc(&fence, '`');
	md_buf_puts(&fence, info);
	line(o, fence.ptr, fence.len);
	lines(o, &text);
	line(o, fence.ptr, fence.len - strlen(info));
	md_buf_dispose(&text);
	md_buf_dispose(&fence);
}

/*
 * What a skipped or not-run block shows instead of outputs, by why it did
 * not run. "*not run*" is for a view that gives no reason.
 */
static const char *const notes[] = {
	[MD_SKIP_NONE] = "*not run*",
	[MD_SKIP_FAILED] = "*not run: an earlier block failed*",
	[MD_SKIP_UPSTREAM] = "*not run: upstream failed*",
	[MD_SKIP_STOPPED] = "*not run: mdrun stopped*",
};

/* The line of a failed run: "*exit status 3*"; nothing when it passed. */
static void
failure(struct out *o, const struct md_exit *e)
{
	struct md_buf l = MD_BUF_INIT;

	if (!md_exit_failed(e))
		return;
	md_buf_putc(&l, '*');
	render_exit_words(&l, e);
	md_buf_putc(&l, '*');
	line(o, l.ptr, l.len);
	md_buf_dispose(&l);
}

/*
 * Option key of block b, or the same under R Markdown's name alias (the
 * figure options' "fig.cap"); NULL when it has neither or it is empty.
 */
static const char *
fig_opt(const struct md_block *b, const char *key, const char *alias)
{
	const char *v = md_block_opt(b, key);

	v = v ? v : md_block_opt(b, alias);
	return v && *v ? v : NULL;
}

/*
 * A file: an image shown, any other linked. An image's link text is the
 * block's fig-alt (or fig.alt), else its fig-cap (fig.cap), else the
 * file's name; a caption follows as a line of emphasis, after a hard
 * line break so that it stands under the image.
 */
static void
file(struct out *o, const struct md_block *b, const struct md_file *f,
     bool image)
{
	const char *cap = image ? fig_opt(b, "fig-cap", "fig.cap") : NULL;
	const char *alt = image ? fig_opt(b, "fig-alt", "fig.alt") : NULL;
	struct md_buf l = MD_BUF_INIT;

	alt = alt ? alt : cap ? cap : f->name ? f->name : "";
	md_buf_puts(&l, image ? "![" : "[");
	render_md_link_text(&l, alt);
	md_buf_printf(&l, "](%s)%s", f->href ? f->href : "", cap ? "\\" : "");
	line(o, l.ptr, l.len);
	if (cap) {
		md_buf_clear(&l);
		md_buf_putc(&l, '*');
		render_md_link_text(&l, cap);
		md_buf_putc(&l, '*');
		line(o, l.ptr, l.len);
	}
	md_buf_dispose(&l);
}

/* Moves *start and *end (in s) past the blanks and line ends at them. */
static void
trim(const char *s, size_t *start, size_t *end)
{
	while (*end > *start && strchr(" \t\n", s[*end - 1]))
		(*end)--;
	while (*start < *end && strchr(" \t\n", s[*start]))
		(*start)++;
}

/*
 * LaTeX as a display math block between $$ lines (GitHub, pandoc and
 * most editors show it), without the $, $$, \[ \] or \( \) it may come
 * in. LaTeX a $$ block cannot hold, because it would end the block early
 * or open one that takes the region's end marker (a blank line, a line
 * starting with $$, a fence or <), goes in a ```math block, which GitHub
 * shows too.
 */
static void
math(struct out *o, const char *s, size_t n)
{
	static const char *const delims[][2] = {
		{ "$$", "$$" }, { "\\[", "\\]" }, { "\\(", "\\)" }, { "$", "$" },
	};
	struct md_buf text = MD_BUF_INIT, body = MD_BUF_INIT;
	size_t start = 0, end, i, k;
	bool fence = false;

	render_text_clean(&text, s, n);
	end = text.len;
	trim(text.ptr, &start, &end);
	for (k = 0; k < sizeof(delims) / sizeof(*delims); k++) {
		size_t a = strlen(delims[k][0]), z = strlen(delims[k][1]);

		if (end - start >= a + z &&
		    !memcmp(text.ptr + start, delims[k][0], a) &&
		    !memcmp(text.ptr + end - z, delims[k][1], z) &&
		    !memchr(text.ptr + start + a, '$', end - z - start - a)) {
			start += a;
			end -= z;
			trim(text.ptr, &start, &end);
			break;
		}
	}
	md_buf_put(&body, text.ptr + start, end - start);
	/* Each line, from its first character but blanks. */
	for (i = 0; i <= body.len && !fence; i++) {
		const char *l;

		while (i < body.len && strchr(" \t", body.ptr[i]))
			i++;
		l = body.ptr + i;
		fence = i == body.len || *l == '\n' || *l == '<' ||
			!strncmp(l, "$$", 2) || !strncmp(l, "```", 3) ||
			!strncmp(l, "~~~", 3);
		while (i < body.len && body.ptr[i] != '\n')
			i++;
	}
	if (fence) {
		fenced(o, "math", body.ptr, body.len);
	} else {
		line(o, "$$", 2);
		lines(o, &body);
		line(o, "$$", 2);
	}
	md_buf_dispose(&text);
	md_buf_dispose(&body);
}

/*
 * A rich value's text/html, sanitized, as one block of raw HTML (which
 * GitHub shows): in a <div>, so that Markdown takes all of it as HTML,
 * without blank lines, one of which would end the block early, and with
 * one after it, which ends the block before what follows (the region's
 * end marker would be part of it otherwise). False, with nothing
 * written, when what is left of it shows nothing (render_html_shows).
 */
static bool
html(struct out *o, const char *s, size_t n)
{
	struct md_buf safe = MD_BUF_INIT, kept = MD_BUF_INIT;
	size_t i, start = 0;
	bool blank = true, shown;

	render_html_sanitize(&safe, s, n);
	if (!render_html_shows(safe.ptr, safe.len))
		md_buf_clear(&safe);
	for (i = 0; i <= safe.len; i++) {
		if (i == safe.len || safe.ptr[i] == '\n') {
			if (!blank) {
				md_buf_put(&kept, safe.ptr + start, i - start);
				md_buf_putc(&kept, '\n');
			}
			start = i + 1;
			blank = true;
		} else if (!strchr(" \t", safe.ptr[i])) {
			blank = false;
		}
	}
	if ((shown = kept.len > 0)) {
		line(o, "<div>", 5);
		lines(o, &kept);
		line(o, "</div>", 6);
		line(o, "", 0);
	}
	md_buf_dispose(&safe);
	md_buf_dispose(&kept);
	return shown;
}

/* The representation of x of type, when it has bytes; else NULL. */
static const struct md_mime *
shown(const struct md_out *x, const char *type)
{
	const struct md_mime *m = render_mime_find(x, type);

	return m && m->data ? m : NULL;
}

/* The file of r that holds an image of x, the first there is; or NULL. */
static const struct md_file *
image_file(const struct md_view_real *r, const struct md_out *x)
{
	const struct md_file *f = NULL;

	for (size_t i = 0; i < x->nbundle && !f; i++)
		if (render_mime_image(x->bundle[i].type))
			f = render_rich_file(r, &x->bundle[i]);
	return f;
}

/*
 * A rich value as Markdown prefers it, whatever the bundle's order:
 * text/markdown as it is, an image through the file that holds it,
 * LaTeX as math, HTML sanitized, plain text fenced. Nothing when it has
 * none of these.
 */
static void
rich(struct out *o, const struct md_block *b, const struct md_view_real *r,
     const struct md_out *x)
{
	const struct md_mime *m;
	const struct md_file *f;

	if ((m = shown(x, "text/markdown"))) {
		asis(o, m->data, m->len);
	} else if ((f = image_file(r, x))) {
		file(o, b, f, true);
	} else if ((m = shown(x, "text/latex"))) {
		math(o, m->data, m->len);
	} else if (!(m = shown(x, "text/html")) ||
		   !html(o, m->data, m->len)) {
		if ((m = shown(x, "text/plain")))
			fenced(o, "output", m->data, m->len);
	}
}

/*
 * What real() writes: all of it; or, for collapse=true, the text that
 * goes inside the code's fence, or the rest, after it.
 */
enum part { PART_ALL, PART_TEXT, PART_REST };

/* The text/plain of a rich value that shows as nothing else, or NULL. */
static const struct md_mime *
plain_only(const struct md_view_real *r, const struct md_out *x)
{
	if (shown(x, "text/markdown") || image_file(r, x) ||
	    shown(x, "text/latex") || shown(x, "text/html"))
		return NULL;
	return shown(x, "text/plain");
}

/* Is x text that collapse=true puts inside the code's fence? */
static bool
is_text(const struct md_block *b, const struct md_view_real *r,
	const struct md_out *x)
{
	if (x->kind == MD_OUT_STREAM)
		return b->output != MD_OUTPUT_ASIS;
	return x->kind == MD_OUT_RICH && plain_only(r, x);
}

/* A text output, fenced, each line after the block's comment=. */
static void
text_out(struct out *o, const struct md_block *b, const char *info,
	 const char *s, size_t n)
{
	struct md_buf t = MD_BUF_INIT;

	md_buf_put(&t, s, n);
	render_comment(&t, b->comment);
	if (info) {
		fenced(o, info, t.ptr, t.len);
	} else {
		struct md_buf clean = MD_BUF_INIT;
		render_text_clean(&clean, t.ptr, t.len);
		lines(o, &clean);
		md_buf_dispose(&clean);
	}
	md_buf_dispose(&t);
}

/* What one realization shows, in its order (part of it: enum part). */
static void
real(struct out *o, const struct md_block *b, const struct md_view_real *r,
     enum part part)
{
	struct md_buf text = MD_BUF_INIT;
	const struct md_out *x;
	const struct md_mime *m;
	size_t i = 0;

	while ((x = render_out_next(r, &i, &text))) {
		bool t = is_text(b, r, x);

		if ((part == PART_TEXT && !t) || (part == PART_REST && t))
			continue;
		if (part == PART_TEXT && x->kind == MD_OUT_RICH) {
			m = plain_only(r, x);
			text_out(o, b, NULL, m->data, m->len);
		} else if (part == PART_TEXT)
			text_out(o, b, NULL, text.ptr, text.len);
		else if (x->kind == MD_OUT_RICH && (m = plain_only(r, x)))
			text_out(o, b, "output", m->data, m->len);
		else if (x->kind == MD_OUT_RICH)
			rich(o, b, r, x);
		else if (x->kind == MD_OUT_ERROR)
			fenced(o, "error", x->text, x->len);
		else if (x->stream == MD_STDERR)
			text_out(o, b, "stderr", text.ptr, text.len);
		else if (b->output == MD_OUTPUT_ASIS)
			asis(o, text.ptr, text.len);
		else
			text_out(o, b, "output", text.ptr, text.len);
	}
	md_buf_dispose(&text);
	if (part == PART_TEXT)
		return;
	failure(o, &r->exit);
	for (i = 0; i < r->nfiles; i++) {
		const struct md_file *f = &r->files[i];

		if (!render_file_is_rich(r, f))
			file(o, b, f,
			     f->mime && !strncmp(f->mime, "image/", 6));
	}
}

/*
 * The region: a note, or the realizations (each labelled when there are
 * several). Nothing at all when it would be empty.
 */
static void
region(struct out *o, const struct md_view_block *vb, enum part part)
{
	const struct md_block *b = vb->block;
	struct md_buf inside = MD_BUF_INIT, label = MD_BUF_INIT;
	struct out in = *o;

	in.buf = &inside;
	in.first = NULL;
	if (vb->status == MD_STATUS_SKIPPED ||
	    vb->status == MD_STATUS_NOT_RUN) {
		const char *note = notes[vb->skip];

		line(&in, note, strlen(note));
	} else if (b->output != MD_OUTPUT_HIDE) {
		for (size_t i = 0; i < vb->nreals; i++) {
			const struct md_view_real *r = &vb->reals[i];

			if (vb->nreals > 1) {
				md_buf_clear(&label);
				md_buf_printf(&label, "*realization %zu of %zu "
						      "(%.12s)*",
					      i + 1, vb->nreals,
					      r->rhash ? r->rhash : "");
				line(&in, label.ptr, label.len);
			}
			real(&in, b, r, part);
		}
	}
	if (inside.len) {
		line(o, MD_OUT_BEGIN, strlen(MD_OUT_BEGIN));
		md_buf_put(o->buf, inside.ptr, inside.len);
		line(o, MD_OUT_END, strlen(MD_OUT_END));
	}
	md_buf_dispose(&inside);
	md_buf_dispose(&label);
}

static bool
ends_line(const char *s, size_t n)
{
	return n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r');
}

/* The first byte of b's closing fence line. */
static size_t
closing_line(const char *src, const struct md_block *b)
{
	size_t c = b->end;

	if (c > b->start && src[c - 1] == '\n')
		c--;
	if (c > b->start && src[c - 1] == '\r')
		c--;
	while (c > b->start && src[c - 1] != '\n')
		c--;
	return c;
}

/*
 * collapse=true, written to another file: the text outputs go inside
 * the code's fence (knitr's look), when none has a line that would
 * close it; the rest in a region after it.
 */
static bool
collapses(const struct md_view *v, const struct md_view_block *vb)
{
	const struct md_block *b = vb->block;
	struct md_buf text = MD_BUF_INIT;
	const struct md_out *x;
	bool ok;

	ok = b->collapse && b->echo && b->closed &&
	     !(v->flags & MD_VIEW_KEEP_CODE) && vb->nreals == 1 &&
	     b->output != MD_OUTPUT_HIDE &&
	     (vb->status == MD_STATUS_OK || vb->status == MD_STATUS_FAILED ||
	      vb->status == MD_STATUS_TIMEOUT);
	for (size_t i = 0; ok && (x = render_out_next(&vb->reals[0], &i,
						      &text));) {
		const char *s = x->kind == MD_OUT_STREAM ? text.ptr : NULL;
		size_t n = text.len;
		if (x->kind == MD_OUT_RICH &&
		    is_text(b, &vb->reals[0], x)) {
			const struct md_mime *m = plain_only(&vb->reals[0], x);
			s = m->data;
			n = m->len;
		}
		/* a fence may be indented up to three blanks */
		for (size_t k = 0; s && k + 3 <= n; k++) {
			size_t f = k;
			if (k && s[k - 1] != '\n')
				continue;
			while (f < k + 3 && f < n && s[f] == ' ')
				f++;
			if (f + 3 <= n && (!strncmp(s + f, "```", 3) ||
					   !strncmp(s + f, "~~~", 3)))
				ok = false;
		}
	}
	md_buf_dispose(&text);
	return ok;
}

/*
 * A block whose code came from file= or code=, written to another file:
 * the code that ran between its fences, in place of what the document
 * holds there. Writes up to the closing fence line; returns where that
 * line starts.
 */
static size_t
given(struct out *o, const char *src, size_t pos, const struct md_block *b)
{
	const char *nl = memchr(src + b->start, '\n', b->end - b->start);
	size_t open_end = nl ? (size_t)(nl - src) + 1 : b->end;
	struct md_buf code = MD_BUF_INIT;

	md_buf_put(o->buf, src + pos, open_end - pos);
	md_buf_put(&code, b->code, b->code_len);
	if (code.len && code.ptr[code.len - 1] == '\n')
		code.len--; /* lines() writes each line's end */
	if (code.len)
		lines(o, &code);
	md_buf_dispose(&code);
	return closing_line(src, b);
}

/*
 * Quarto's {{python}} written to another file: shown as {python}, as
 * Quarto shows it. The source up to the info string's end is written.
 */
static size_t
unescape(struct md_buf *out, const char *src, size_t pos,
	 const struct md_block *b)
{
	size_t at = b->start + (size_t)b->info_col - 1, n = strlen(b->info);

	md_buf_put(out, src + pos, at + 1 - pos);
	md_buf_put(out, src + at + 2, n - 4);
	md_buf_putc(out, '}');
	return at + n;
}

/*
 * An inline expression: in place, its value after it in a marker that
 * the next render finds and replaces; written elsewhere, the value in
 * its place, as knitr and Quarto show it. A failure or a block not run
 * shows why, in emphasis. Returns where the source goes on.
 */
static size_t
inline_value(struct md_buf *out, const char *src, size_t pos,
	     const struct md_view_block *vb, bool keep)
{
	const struct md_block *b = vb->block;
	struct md_buf val = MD_BUF_INIT;
	bool ok = render_inline_value(&val, vb);

	struct md_buf safe = MD_BUF_INIT;

	/*
	 * A backtick would pair with another on the line (even one that a
	 * backslash precedes: it may close a span opened before), a '<'
	 * could end the marker: an entity and an escape, they show as
	 * themselves. A backslash is escaped too: a value's last one would
	 * escape the end marker.
	 */
	for (size_t i = 0; i < val.len; i++) {
		if (val.ptr[i] == '`') {
			md_buf_puts(&safe, "&#96;");
			continue;
		}
		if (val.ptr[i] == '<' || val.ptr[i] == '\\' ||
		    (!ok && val.ptr[i] == '*'))
			md_buf_putc(&safe, '\\');
		md_buf_putc(&safe, val.ptr[i]);
	}
	md_buf_put(&safe, "", 0);
	if (keep) {
		md_buf_put(out, src + pos, b->end - pos);
		md_buf_puts(out, MD_VALUE_BEGIN);
		md_buf_printf(out, ok ? "%s" : "*%s*", safe.ptr);
		md_buf_puts(out, MD_VALUE_END);
	} else {
		md_buf_put(out, src + pos, b->start - pos);
		md_buf_printf(out, ok ? "%s" : "*%s*", safe.ptr);
	}
	md_buf_dispose(&val);
	md_buf_dispose(&safe);
	return b->has_out ? b->out_end : b->end;
}

/*
 * Appends the prose from pos to `to`; written elsewhere than in place,
 * less the include shortcodes and the markers around included text, as
 * Quarto and knitr show an included document: its text alone. Returns to.
 */
static size_t
prose(struct md_buf *out, const struct md_view *v, size_t pos, size_t to)
{
	const struct md_doc *doc = v->doc;

	if (v->flags & MD_VIEW_KEEP_CODE || !doc->nincludes || to <= pos) {
		if (to > pos)
			md_buf_put(out, doc->src + pos, to - pos);
		return to > pos ? to : pos;
	}
	for (;;) {
		/* the next line to leave out: includes nest, so any order */
		size_t from = to, until = to;

		for (size_t i = 0; i < doc->nincludes; i++) {
			const struct md_include *in = &doc->includes[i];
			const size_t cut[3][2] = {
				{ in->start, in->end },
				{ in->open_start, in->open_end },
				{ in->close_start, in->close_end }
			};

			for (int k = 0; k < 3; k++)
				if (cut[k][1] > cut[k][0] && cut[k][0] >= pos &&
				    cut[k][1] <= to && cut[k][0] < from) {
					from = cut[k][0];
					until = cut[k][1];
				}
		}
		md_buf_put(out, doc->src + pos, from - pos);
		if (from == to)
			return to;
		pos = until;
	}
}

void
render_markdown(struct md_buf *out, const struct md_view *v)
{
	const struct md_doc *doc = v->doc;
	const char *src = doc->src;
	size_t (*spans)[2] = v->spans;
	size_t pos = 0, i;

	for (i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];
		struct out o = { out, b->prefix, doc->eol, NULL, 0 };
		bool present = v->blocks[i].status != MD_STATUS_NONE;
		bool drop = !b->echo && !(v->flags & MD_VIEW_KEEP_CODE);
		size_t at, before, until;

		if (doc->nincludes && b->start > pos)
			pos = prose(out, v, pos, b->start);
		if (b->escaped && !(v->flags & MD_VIEW_KEEP_CODE)) {
			pos = unescape(out, src, pos, b);
			continue;
		}
		if (b->inline_expr) {
			if (spans)
				spans[i][0] = out->len + (b->start - pos);
			pos = inline_value(out, src, pos, &v->blocks[i],
					   v->flags & MD_VIEW_KEEP_CODE);
			if (spans)
				spans[i][1] = out->len;
			continue;
		}
		if (!present && !drop)
			continue;
		if (spans)
			spans[i][0] = out->len + (b->start - pos);
		if (b->code_given && !drop && b->closed &&
		    !(v->flags & MD_VIEW_KEEP_CODE))
			pos = given(&o, src, pos, b);
		if (present && collapses(v, &v->blocks[i])) {
			size_t close = closing_line(src, b);
			md_buf_put(out, src + pos, close - pos);
			real(&o, b, &v->blocks[i].reals[0], PART_TEXT);
			md_buf_put(out, src + close, b->end - close);
			pos = b->has_out ? b->out_end : b->end;
			region(&o, &v->blocks[i], PART_REST);
			if (spans)
				spans[i][1] = out->len;
			continue;
		}
		until = b->has_out ? b->out_end : b->end;
		at = drop ? b->start : b->has_out ? b->out_start : b->end;
		md_buf_put(out, src + pos, at - pos);
		pos = until;
		before = out->len;
		if (drop) {
			/* The region takes the code's place, marker and all. */
			o.first = src + b->start;
			o.first_len = (size_t)b->col - 1;
		} else if (!b->has_out && !ends_line(src, b->end)) {
			md_buf_puts(out, doc->eol);
		}
		if (!b->closed && !drop) {
			/* Close the fence, or the region would be code. */
			struct md_buf fence = MD_BUF_INIT;
			for (int k = 0; k < b->fence_len; k++)
				md_buf_putc(&fence, b->fence_char);
			line(&o, fence.ptr, fence.len);
			md_buf_dispose(&fence);
		}
		if (present)
			region(&o, &v->blocks[i], PART_ALL);
		/* A file without a final newline keeps lacking one. */
		if (until == doc->len && !ends_line(src, doc->len) &&
		    out->len > before) {
			size_t k = strlen(doc->eol);
			if (out->len - before >= k)
				out->len -= k;
			out->ptr[out->len] = '\0';
		}
		if (spans)
			spans[i][1] = out->len;
	}
	prose(out, v, pos, doc->len);
}
