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

/* A file: an image shown, any other linked. */
static void
file(struct out *o, const struct md_file *f, bool image)
{
	struct md_buf l = MD_BUF_INIT;

	md_buf_puts(&l, image ? "![" : "[");
	render_md_link_text(&l, f->name ? f->name : "");
	md_buf_printf(&l, "](%s)", f->href ? f->href : "");
	line(o, l.ptr, l.len);
	md_buf_dispose(&l);
}

/*
 * A rich value: the first representation Markdown shows, in the order
 * the bundle prefers them; an image only through the file that holds it.
 */
static void
rich(struct out *o, const struct md_view_real *r, const struct md_out *x)
{
	for (size_t i = 0; i < x->nbundle; i++) {
		const struct md_mime *m = &x->bundle[i];
		const struct md_file *f;

		if (!m->type) {
			continue;
		} else if (!strcmp(m->type, "text/markdown")) {
			asis(o, m->data, m->len);
			return;
		} else if (!strcmp(m->type, "text/plain")) {
			fenced(o, "output", m->data, m->len);
			return;
		} else if (render_mime_image(m->type) &&
			   (f = render_rich_file(r, m))) {
			file(o, f, true);
			return;
		}
	}
}

/* What one realization shows, in its order. */
static void
real(struct out *o, const struct md_block *b, const struct md_view_real *r)
{
	struct md_buf text = MD_BUF_INIT;
	const struct md_out *x;
	size_t i = 0;

	while ((x = render_out_next(r, &i, &text))) {
		if (x->kind == MD_OUT_RICH)
			rich(o, r, x);
		else if (x->kind == MD_OUT_ERROR)
			fenced(o, "error", x->text, x->len);
		else if (x->stream == MD_STDERR)
			fenced(o, "stderr", text.ptr, text.len);
		else if (b->output == MD_OUTPUT_ASIS)
			asis(o, text.ptr, text.len);
		else
			fenced(o, "output", text.ptr, text.len);
	}
	failure(o, &r->exit);
	for (i = 0; i < r->nfiles; i++) {
		const struct md_file *f = &r->files[i];

		if (!render_file_is_rich(r, f))
			file(o, f, f->mime && !strncmp(f->mime, "image/", 6));
	}
	md_buf_dispose(&text);
}

/*
 * The region: a note, or the realizations (each labelled when there are
 * several). Nothing at all when it would be empty.
 */
static void
region(struct out *o, const struct md_view_block *vb)
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
			real(&in, b, r);
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

		if (!present && !drop)
			continue;
		until = b->has_out ? b->out_end : b->end;
		at = drop ? b->start : b->has_out ? b->out_start : b->end;
		if (spans)
			spans[i][0] = out->len + (b->start - pos);
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
			region(&o, &v->blocks[i]);
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
	md_buf_put(out, src + pos, doc->len - pos);
}
