/*
 * The Markdown splice renderer. The output is the input, byte for byte,
 * with an output region after each realized block:
 *
 *   <!-- mdrun:out -->
 *   ```output
 *   stdout, cleaned (see render_text_clean)
 *   ```
 *   ```stderr
 *   stderr
 *   ```
 *   *exit status 3*
 *   ![plot.png](doc_files/1a2b3c4d5e6f.png)
 *   [table.csv](doc_files/6f5e4d3c2b1a.csv)
 *   <!-- /mdrun:out -->
 *
 * With output=asis, stdout goes in as it is, Markdown, instead of its fenced
 * block. Every line carries the block's container prefix, so the region
 * stays in its quote or list item, and the document's own line ending. A region is
 * tight (no blank lines outside its fences) so a tight list stays tight.
 * Empty streams and a zero exit status add nothing; a block with nothing to
 * show gets no region at all.
 */
#include <string.h>

#include "render.h"

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
 * A file name as link text: cleaned as text (a CR or backspace must not
 * hide part of it), a line break shown as U+2424 (the link must stay on
 * its line, in its region), and what could start markup or an entity
 * escaped.
 */
static void
escaped(struct md_buf *b, const char *s)
{
	struct md_buf clean = MD_BUF_INIT;

	render_text_plain(&clean, s, strlen(s));
	for (size_t i = 0; i < clean.len; i++) {
		char c = clean.ptr[i];

		if (c == '\n') {
			md_buf_puts(b, "\xe2\x90\xa4");
			continue;
		}
		if (strchr("\\`*_[]<>&", c))
			md_buf_putc(b, '\\');
		md_buf_putc(b, c);
	}
	md_buf_dispose(&clean);
}

/* Images shown, other files linked: one line each. */
static void
files(struct out *o, const struct render_output *r)
{
	struct md_buf l = MD_BUF_INIT;

	for (size_t i = 0; i < r->nfiles; i++) {
		const struct render_file *f = &r->files[i];

		md_buf_clear(&l);
		md_buf_puts(&l, f->image ? "![" : "[");
		escaped(&l, f->name);
		md_buf_printf(&l, "](%s)", f->href);
		line(o, l.ptr, l.len);
	}
	md_buf_dispose(&l);
}

static void
status_line(struct md_buf *status, const struct render_output *r)
{
	md_buf_clear(status);
	if (r->timed_out)
		md_buf_puts(status, "*timed out*");
	else if (r->signal)
		md_buf_printf(status, "*killed by signal %d*", r->signal);
	else if (r->exit_code)
		md_buf_printf(status, "*exit status %d*", r->exit_code);
}

static void
region(struct out *o, const struct md_block *b, const struct render_block *rb)
{
	struct md_buf status = MD_BUF_INIT;
	bool any = false;
	size_t i;

	if (b->output == MD_OUTPUT_HIDE && !rb->note)
		return;
	if (rb->note) {
		line(o, MD_OUT_BEGIN, strlen(MD_OUT_BEGIN));
		line(o, rb->note, strlen(rb->note));
		line(o, MD_OUT_END, strlen(MD_OUT_END));
		return;
	}
	for (i = 0; i < rb->n; i++) {
		status_line(&status, &rb->reals[i]);
		any |= rb->reals[i].out_len || rb->reals[i].err_len ||
		       status.len || rb->reals[i].label || rb->reals[i].nfiles;
	}
	if (any) {
		line(o, MD_OUT_BEGIN, strlen(MD_OUT_BEGIN));
		for (i = 0; i < rb->n; i++) {
			const struct render_output *r = &rb->reals[i];

			status_line(&status, r);
			if (r->label)
				line(o, r->label, strlen(r->label));
			if (r->out_len && b->output == MD_OUTPUT_ASIS)
				asis(o, r->out, r->out_len);
			else if (r->out_len)
				fenced(o, "output", r->out, r->out_len);
			if (r->err_len)
				fenced(o, "stderr", r->err, r->err_len);
			if (status.len)
				line(o, status.ptr, status.len);
			files(o, r);
		}
		line(o, MD_OUT_END, strlen(MD_OUT_END));
	}
	md_buf_dispose(&status);
}

static bool
ends_line(const char *s, size_t n)
{
	return n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r');
}

void
render_markdown(struct md_buf *out, const struct md_doc *doc,
		const struct render_block *blocks, unsigned flags,
		size_t (*spans)[2])
{
	const char *src = doc->src;
	size_t pos = 0, i;

	for (i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];
		struct out o = { out, b->prefix, doc->eol, NULL, 0 };
		bool drop = !b->echo && !(flags & RENDER_KEEP_CODE);
		size_t at, before, until;

		if (!blocks[i].present && !drop)
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
		if (blocks[i].present)
			region(&o, b, &blocks[i]);
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
