/*
 * The view's own functions (view.h) and what every renderer asks of a
 * view (internal.h).
 */
#include <string.h>

#include "internal.h"

enum md_status
md_skip_status(enum md_skip why)
{
	switch (why) {
	case MD_SKIP_UPSTREAM:
		return MD_STATUS_SKIPPED;
	case MD_SKIP_FAILED:
	case MD_SKIP_STOPPED:
		return MD_STATUS_NOT_RUN;
	case MD_SKIP_NONE:
		break;
	}
	return MD_STATUS_NONE;
}

/*
 * The words of the reports (HTML, JSON, notebook) for a status, and for
 * why a block did not run. Markdown and JUnit have their own.
 */
static const char *const status_words[] = {
	[MD_STATUS_NONE] = "",
	[MD_STATUS_OK] = "ok",
	[MD_STATUS_FAILED] = "failed",
	[MD_STATUS_TIMEOUT] = "timeout",
	[MD_STATUS_SKIPPED] = "skipped",
	[MD_STATUS_NOT_RUN] = "not-run",
};
static const char *const notes[] = {
	[MD_SKIP_NONE] = "not run",
	[MD_SKIP_FAILED] = "not run: an earlier block failed",
	[MD_SKIP_UPSTREAM] = "not run: upstream failed",
	[MD_SKIP_STOPPED] = "not run: mdrun stopped",
};

const char *
render_status_word(enum md_status s)
{
	return status_words[s];
}

const char *
render_note(const struct md_view_block *vb)
{
	if (vb->status != MD_STATUS_SKIPPED && vb->status != MD_STATUS_NOT_RUN)
		return NULL;
	return notes[vb->skip];
}

void
render_exit_words(struct md_buf *out, const struct md_exit *e)
{
	/* md_exit_describe's words, but a document's "exit status N". */
	if (e->interrupted || e->timed_out || e->signal)
		md_exit_describe(out, e);
	else
		md_buf_printf(out, "exit status %d", e->code);
}

static bool
absent(const struct md_out *o)
{
	return o->kind == MD_OUT_STREAM && o->len == 0;
}

const struct md_out *
render_out_next(const struct md_view_real *r, size_t *i, struct md_buf *text)
{
	const struct md_out *o;

	while (*i < r->nouts && absent(&r->outs[*i]))
		(*i)++;
	if (*i >= r->nouts)
		return NULL;
	o = &r->outs[(*i)++];
	if (o->kind != MD_OUT_STREAM)
		return o;
	md_buf_clear(text);
	md_buf_put(text, o->text, o->len);
	for (; *i < r->nouts; (*i)++) {
		const struct md_out *p = &r->outs[*i];

		if (absent(p))
			continue;
		if (p->kind != MD_OUT_STREAM || p->stream != o->stream)
			break;
		md_buf_put(text, p->text, p->len);
	}
	return o;
}

void
render_comment(struct md_buf *text, const char *comment)
{
	struct md_buf out = MD_BUF_INIT;
	size_t start = 0, i;

	if (!comment || !text->len)
		return;
	for (i = 0; i < text->len; i++) {
		if (text->ptr[i] != '\n')
			continue;
		md_buf_printf(&out, "%s ", comment);
		md_buf_put(&out, text->ptr + start, i + 1 - start);
		start = i + 1;
	}
	if (start < text->len) {
		md_buf_printf(&out, "%s ", comment);
		md_buf_put(&out, text->ptr + start, text->len - start);
	}
	md_buf_clear(text);
	md_buf_put(text, out.ptr, out.len);
	md_buf_dispose(&out);
}

bool
render_inline_value(struct md_buf *text, const struct md_view_block *vb)
{
	struct md_buf raw = MD_BUF_INIT;

	md_buf_clear(text);
	if (vb->nreals == 0 || vb->status == MD_STATUS_SKIPPED ||
	    vb->status == MD_STATUS_NOT_RUN) {
		md_buf_puts(text, "not run");
		return false;
	}
	if (md_exit_failed(&vb->reals[0].exit)) {
		/* the error's last line says most: "ZeroDivisionError: ..." */
		struct md_buf err = MD_BUF_INIT, clean = MD_BUF_INIT;
		size_t end, start;

		render_stream(&err, &vb->reals[0], MD_STDERR);
		render_text_clean(&clean, err.ptr ? err.ptr : "", err.len);
		end = clean.len;
		while (end && strchr("\n\r \t", clean.ptr[end - 1]))
			end--;
		for (start = end; start && clean.ptr[start - 1] != '\n';)
			start--;
		/* R's "Error in f(): ..." comes first, its traceback after */
		for (size_t i = 0; i + 5 <= end; i++)
			if ((i == 0 || clean.ptr[i - 1] == '\n') &&
			    !strncmp(clean.ptr + i, "Error", 5)) {
				start = i;
				end = i + strcspn(clean.ptr + i, "\n");
				break;
			}
		md_buf_puts(text, "failed: ");
		if (end > start)
			md_buf_put(text, clean.ptr + start, end - start);
		else
			render_exit_words(text, &vb->reals[0].exit);
		md_buf_dispose(&err);
		md_buf_dispose(&clean);
		return false;
	}
	render_stream(&raw, &vb->reals[0], MD_STDOUT);
	render_text_clean(text, raw.ptr ? raw.ptr : "", raw.len);
	md_buf_dispose(&raw);
	while (text->len && strchr("\n\r \t", text->ptr[text->len - 1]))
		text->len--;
	for (size_t i = 0; i < text->len; i++)
		if (text->ptr[i] == '\n' || text->ptr[i] == '\r')
			text->ptr[i] = ' ';
	if (text->ptr)
		text->ptr[text->len] = '\0';
	return true;
}

void
render_stream(struct md_buf *out, const struct md_view_real *r,
	      enum md_stream s)
{
	for (size_t i = 0; i < r->nouts; i++)
		if (r->outs[i].kind == MD_OUT_STREAM &&
		    r->outs[i].stream == s)
			md_buf_put(out, r->outs[i].text, r->outs[i].len);
}

const struct md_file *
render_rich_file(const struct md_view_real *r, const struct md_mime *m)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct md_file *f = &r->files[i];

		if (f->mime && m->type && !strcmp(f->mime, m->type) &&
		    f->data && m->data && f->len == m->len &&
		    !memcmp(f->data, m->data, m->len))
			return f;
	}
	return NULL;
}

bool
render_file_is_rich(const struct md_view_real *r, const struct md_file *f)
{
	for (size_t i = 0; i < r->nouts; i++) {
		const struct md_out *o = &r->outs[i];

		if (o->kind != MD_OUT_RICH)
			continue;
		for (size_t k = 0; k < o->nbundle; k++)
			if (render_mime_image(o->bundle[k].type) &&
			    render_rich_file(r, &o->bundle[k]) == f)
				return true;
	}
	return false;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

bool
render_mime_json(const char *type)
{
	return type && (!strcmp(type, "application/json") ||
			ends_with(type, "+json"));
}

bool
render_mime_binary(const char *type)
{
	return type && strncmp(type, "text/", 5) && !render_mime_json(type) &&
	       !ends_with(type, "+xml") &&
	       strcmp(type, "application/javascript");
}

bool
render_mime_image(const char *type)
{
	static const char *const images[] = { "image/png", "image/jpeg",
					      "image/gif", "image/svg+xml" };

	for (size_t i = 0; type && i < sizeof(images) / sizeof(*images); i++)
		if (!strcmp(type, images[i]))
			return true;
	return false;
}

const struct md_mime *
render_mime_find(const struct md_out *o, const char *type)
{
	for (size_t i = 0; i < o->nbundle; i++)
		if (o->bundle[i].type && !strcmp(o->bundle[i].type, type))
			return &o->bundle[i];
	return NULL;
}
