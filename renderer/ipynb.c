/*
 * The Jupyter notebook (`--to ipynb`), nbformat 4.5:
 *
 * - Front matter (doc->front_start to front_end) is a "raw" cell, as
 *   jupytext and Quarto keep it; a byte order mark goes.
 * - The prose between executed blocks becomes Markdown cells: the
 *   document's bytes without those blocks and without the output regions
 *   of earlier renders, blank lines at either end trimmed, CRLF made LF;
 *   prose that is only blanks makes no cell. A block that is not executed
 *   stays in its Markdown cell, fenced.
 * - Each executed block (one with a status) is a code cell: its code, an
 *   execution_count of 1, 2, ... in document order for the blocks that
 *   show a realization (null for skipped and not run), metadata "name"
 *   and "mdrun" {status, cached[, note]}, "jupyter" {source_hidden} for
 *   echo=false and {outputs_hidden} for output=false.
 * - Outputs, per realization shown, in its order: stdout as a "stream"
 *   (output=asis: a display_data of text/markdown), stderr as a
 *   "stream", a rich value as "display_data" or, the block's value,
 *   "execute_result" (its data: every representation, binary ones in
 *   base64), an error the runner reported as an "error" (ename and
 *   evalue from its last line, "Name: value"); then image artifacts as
 *   display_data (png, jpeg, gif base64; svg as text) unless a rich
 *   value showed them; then for a failure an "error" whose traceback is
 *   stderr's lines then "ENAME: EVALUE" (stderr is then not repeated as
 *   a stream). ename is "ExitStatus", "Signal", "Timeout" or
 *   "Interrupted". A run that exited with a status after the runner
 *   reported an error has that error only. Other artifacts are not
 *   shown.
 * - Text is the program's as written, ANSI colours and carriage returns
 *   kept (Jupyter renders them), made valid UTF-8 (see render_json_utf8).
 * - Cell ids are "cell-N", N its position from 1: the same document gives
 *   the same notebook.
 * - The kernelspec and language_info come from the first executed block's
 *   language; metadata "title" is doc->title.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_common.h"

struct nb {
	cJSON *cells;
	int ncells;
	int count; /* the last execution_count given */
};

/*
 * Jupyter's multi-line string: a list of lines, each keeping its "\n"
 * but the last. s is valid UTF-8 without NUL.
 */
static cJSON *
lines(const char *s, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	size_t start = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] != '\n' && i + 1 < n)
			continue;
		char *l = md_strndup(s + start, i + 1 - start);
		cJSON_AddItemToArray(arr, cJSON_CreateString(l));
		free(l);
		start = i + 1;
	}
	return arr;
}

/* Program output as lines, made valid UTF-8. */
static cJSON *
text_lines(const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT;
	cJSON *arr;

	render_json_utf8(&b, s, n);
	arr = lines(b.ptr, b.len);
	md_buf_dispose(&b);
	return arr;
}

static cJSON *
new_cell(struct nb *nb, const char *type)
{
	cJSON *cell = cJSON_CreateObject();
	char id[32];

	snprintf(id, sizeof(id), "cell-%d", ++nb->ncells);
	cJSON_AddStringToObject(cell, "cell_type", type);
	cJSON_AddStringToObject(cell, "id", id);
	cJSON_AddItemToArray(nb->cells, cell);
	return cell;
}

/* A cell of prose (markdown, raw), unless it is only blanks. */
static void
prose_cell(struct nb *nb, const char *type, const struct md_buf *prose)
{
	struct md_buf text = MD_BUF_INIT, lf = MD_BUF_INIT;
	size_t i, start = 0, end;
	cJSON *cell;

	render_json_utf8(&text, prose->ptr, prose->len);
	for (i = 0; i < text.len; i++)
		if (!(text.ptr[i] == '\r' && i + 1 < text.len &&
		      text.ptr[i + 1] == '\n'))
			md_buf_putc(&lf, text.ptr[i]);
	/* Whole blank lines go at the start; all blanks go at the end. */
	for (i = 0; i < lf.len && strchr(" \t\n", lf.ptr[i]); i++)
		if (lf.ptr[i] == '\n')
			start = i + 1;
	for (end = lf.len; end > start && strchr(" \t\n", lf.ptr[end - 1]);)
		end--;
	if (end > start) {
		cell = new_cell(nb, type);
		cJSON_AddItemToObject(cell, "metadata", cJSON_CreateObject());
		cJSON_AddItemToObject(cell, "source",
				      lines(lf.ptr + start, end - start));
	}
	md_buf_dispose(&text);
	md_buf_dispose(&lf);
}

static void
stream(cJSON *outputs, const char *name, const char *s, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "output_type", "stream");
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddItemToObject(o, "text", text_lines(s, n));
	cJSON_AddItemToArray(outputs, o);
}

/* A display_data (or with count, an execute_result); returns its data. */
static cJSON *
display(cJSON *outputs, const cJSON *count)
{
	cJSON *o = cJSON_CreateObject(), *data;

	cJSON_AddStringToObject(o, "output_type",
				count ? "execute_result" : "display_data");
	if (count)
		cJSON_AddItemToObject(o, "execution_count",
				      cJSON_Duplicate(count, false));
	data = cJSON_AddObjectToObject(o, "data");
	cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
	cJSON_AddItemToArray(outputs, o);
	return data;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* The image type of f, from its MIME type or its name; or NULL. */
static const char *
image_type(const struct md_file *f)
{
	static const char *const types[][2] = {
		{ "image/png", ".png" },   { "image/jpeg", ".jpg" },
		{ "image/jpeg", ".jpeg" }, { "image/gif", ".gif" },
		{ "image/svg+xml", ".svg" },
	};
	size_t i;

	for (i = 0; f->name && i < sizeof(types) / sizeof(types[0]); i++)
		if (f->mime ? !strcmp(f->mime, types[i][0])
			    : ends_with(f->name, types[i][1]))
			return types[i][0];
	return NULL;
}

static void
image(cJSON *outputs, const struct md_file *f)
{
	struct md_mime m = { image_type(f), f->data, f->len };
	cJSON *data;

	if (!m.type || !f->data)
		return;
	data = display(outputs, NULL);
	cJSON_AddItemToObject(data, m.type, render_json_mime(&m, text_lines));
	cJSON_AddItemToObject(data, "text/plain",
			      text_lines(f->name, strlen(f->name)));
}

/* A rich value, every representation of it (the first of a type). */
static void
rich(cJSON *outputs, const struct md_out *x, const cJSON *count)
{
	cJSON *data = display(outputs, x->result ? count : NULL);

	for (size_t i = 0; i < x->nbundle; i++) {
		const struct md_mime *m = &x->bundle[i];

		if (m->type && !cJSON_HasObjectItem(data, m->type))
			cJSON_AddItemToObject(data, m->type,
					      render_json_mime(m, text_lines));
	}
}

/*
 * An error output: ename, evalue and the traceback: the lines of tb
 * (Jupyter joins them with newlines), then, when last, "ENAME: EVALUE".
 */
static void
error_output(cJSON *outputs, const char *name, const char *value,
	     const struct md_buf *tb, bool last)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	struct md_buf l = MD_BUF_INIT;
	size_t i, start;

	cJSON_AddStringToObject(o, "output_type", "error");
	cJSON_AddStringToObject(o, "ename", name);
	cJSON_AddStringToObject(o, "evalue", value);
	arr = cJSON_AddArrayToObject(o, "traceback");
	for (start = 0, i = 0; i < tb->len; i++) {
		if (tb->ptr[i] != '\n' && i + 1 < tb->len)
			continue;
		size_t end = tb->ptr[i] == '\n' ? i : i + 1;
		char *s = md_strndup(tb->ptr + start, end - start);
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
		free(s);
		start = i + 1;
	}
	if (last) {
		md_buf_printf(&l, "%s: %s", name, value);
		cJSON_AddItemToArray(arr, cJSON_CreateString(l.ptr));
	}
	cJSON_AddItemToArray(outputs, o);
	md_buf_dispose(&l);
}

/*
 * An error the runner reported: "Name: value" on its last line (a Python
 * traceback's) gives ename and evalue, else ename is "Error" and evalue
 * that line.
 */
static void
runner_error(cJSON *outputs, const struct md_out *x)
{
	struct md_buf tb = MD_BUF_INIT, name = MD_BUF_INIT;
	const char *s, *value;
	size_t n, k, e;

	render_json_utf8(&tb, x->text, x->len);
	n = tb.len;
	while (n > 0 && strchr(" \t\r\n", tb.ptr[n - 1]))
		n--;
	for (k = n; k > 0 && tb.ptr[k - 1] != '\n';)
		k--;
	s = tb.ptr + k;
	for (e = 0; k + e < n && (s[e] == '_' || s[e] == '.' ||
				  (s[e] >= 'a' && s[e] <= 'z') ||
				  (s[e] >= 'A' && s[e] <= 'Z') ||
				  (e > 0 && s[e] >= '0' && s[e] <= '9'));)
		e++;
	if (e > 0 && k + e < n && s[e] == ':') {
		md_buf_put(&name, s, e);
		value = s + e + 1 + (k + e + 1 < n && s[e + 1] == ' ');
	} else {
		md_buf_puts(&name, "Error");
		value = s;
	}
	/* The text without its trailing blanks; value ends with it. */
	tb.len = n;
	tb.ptr[n] = '\0';
	error_output(outputs, name.ptr, value, &tb, false);
	md_buf_dispose(&tb);
	md_buf_dispose(&name);
}

/* The error output of a failed realization. */
static void
failure(cJSON *outputs, const struct md_block *b, const struct md_exit *e,
	const struct md_buf *err)
{
	struct md_buf value = MD_BUF_INIT, tb = MD_BUF_INIT;
	const char *name;

	name = e->interrupted ? "Interrupted" :
	       e->timed_out ? "Timeout" :
	       e->signal ? "Signal" : "ExitStatus";
	render_exit_words(&value, e);
	if (e->timed_out && !e->interrupted && b->timeout > 0)
		md_buf_printf(&value, " after %gs", b->timeout);
	render_json_utf8(&tb, err->ptr, err->len);
	error_output(outputs, name, value.ptr, &tb, true);
	md_buf_dispose(&value);
	md_buf_dispose(&tb);
}

/*
 * Does r's failure need an error output of its own? Not when the runner
 * reported an error and the run then simply exited with a status: the
 * runner's error is the failure.
 */
static bool
own_error(const struct md_view_real *r)
{
	const struct md_exit *e = &r->exit;

	if (!md_exit_failed(e))
		return false;
	if (e->timed_out || e->signal || e->interrupted)
		return true;
	for (size_t i = 0; i < r->nouts; i++)
		if (r->outs[i].kind == MD_OUT_ERROR)
			return false;
	return true;
}

static void
outputs_of(cJSON *outputs, const struct md_block *b,
	   const struct md_view_real *r, const cJSON *count)
{
	bool failed = own_error(r);
	struct md_buf text = MD_BUF_INIT, err = MD_BUF_INIT;
	const struct md_out *x;
	size_t i = 0;

	while ((x = render_out_next(r, &i, &text))) {
		if (x->kind == MD_OUT_RICH) {
			rich(outputs, x, count);
		} else if (x->kind == MD_OUT_ERROR) {
			runner_error(outputs, x);
		} else if (x->stream == MD_STDERR) {
			/* A failure's stderr is its traceback. */
			if (failed)
				md_buf_put(&err, text.ptr, text.len);
			else
				stream(outputs, "stderr", text.ptr, text.len);
		} else if (b->output == MD_OUTPUT_ASIS) {
			cJSON *data = display(outputs, NULL);
			cJSON_AddItemToObject(data, "text/markdown",
					      text_lines(text.ptr, text.len));
		} else {
			stream(outputs, "stdout", text.ptr, text.len);
		}
	}
	for (i = 0; i < r->nfiles; i++)
		if (!render_file_is_rich(r, &r->files[i]))
			image(outputs, &r->files[i]);
	if (failed)
		failure(outputs, b, &r->exit, &err);
	md_buf_dispose(&text);
	md_buf_dispose(&err);
}

static void
code_cell(struct nb *nb, const struct md_view_block *vb)
{
	const struct md_block *b = vb->block;
	cJSON *cell = new_cell(nb, "code"), *meta, *mdrun, *outputs, *count;
	const char *note = render_note(vb);
	size_t n = b->code_len;

	meta = cJSON_AddObjectToObject(cell, "metadata");
	if (b->name)
		cJSON_AddItemToObject(meta, "name",
				      render_json_string(b->name,
							 strlen(b->name)));
	if (!b->echo || b->output == MD_OUTPUT_HIDE) {
		cJSON *j = cJSON_AddObjectToObject(meta, "jupyter");
		if (!b->echo)
			cJSON_AddBoolToObject(j, "source_hidden", true);
		if (b->output == MD_OUTPUT_HIDE)
			cJSON_AddBoolToObject(j, "outputs_hidden", true);
	}
	mdrun = cJSON_AddObjectToObject(meta, "mdrun");
	cJSON_AddStringToObject(mdrun, "status",
				render_status_word(vb->status));
	cJSON_AddBoolToObject(mdrun, "cached", vb->cached);
	if (note)
		cJSON_AddStringToObject(mdrun, "note", note);
	/* Jupyter's source has no final newline. */
	if (n > 0 && b->code[n - 1] == '\n')
		n--;
	cJSON_AddItemToObject(cell, "source", text_lines(b->code, n));
	if (vb->nreals > 0)
		count = cJSON_AddNumberToObject(cell, "execution_count",
						++nb->count);
	else
		count = cJSON_AddNullToObject(cell, "execution_count");
	outputs = cJSON_AddArrayToObject(cell, "outputs");
	for (size_t i = 0; i < vb->nreals; i++)
		outputs_of(outputs, b, &vb->reals[i], count);
}

static void
kernel(cJSON *meta, const char *lang)
{
	static const char *const kernels[][4] = {
		/* language, kernel, display name, its language */
		{ "python", "python3", "Python 3", "python" },
		{ "python3", "python3", "Python 3", "python" },
		{ "py", "python3", "Python 3", "python" },
		{ "bash", "bash", "Bash", "bash" },
		{ "sh", "bash", "Bash", "bash" },
		{ "shell", "bash", "Bash", "bash" },
		{ "r", "ir", "R", "R" },
		{ "R", "ir", "R", "R" },
	};
	const char *name = lang, *display = lang, *language = lang;
	cJSON *ks, *li;
	size_t i;

	for (i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
		if (!strcmp(kernels[i][0], lang)) {
			name = kernels[i][1];
			display = kernels[i][2];
			language = kernels[i][3];
			break;
		}
	}
	ks = cJSON_AddObjectToObject(meta, "kernelspec");
	cJSON_AddItemToObject(ks, "name",
			      render_json_string(name, strlen(name)));
	cJSON_AddItemToObject(ks, "display_name",
			      render_json_string(display, strlen(display)));
	cJSON_AddItemToObject(ks, "language",
			      render_json_string(language, strlen(language)));
	li = cJSON_AddObjectToObject(meta, "language_info");
	cJSON_AddItemToObject(li, "name",
			      render_json_string(language, strlen(language)));
}

/* Appends src[*pos, to) to prose and moves *pos there. */
static void
take(struct md_buf *prose, const struct md_doc *doc, size_t *pos, size_t to)
{
	if (to > *pos) {
		md_buf_put(prose, doc->src + *pos, to - *pos);
		*pos = to;
	}
}

void
render_ipynb(struct md_buf *out, const struct md_view *v)
{
	const struct md_doc *doc = v->doc;
	struct md_buf prose = MD_BUF_INIT;
	struct nb nb = { NULL, 0, 0 };
	cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
	const char *lang = NULL;
	size_t pos = 0, i;

	nb.cells = cJSON_AddArrayToObject(root, "cells");
	if (doc->len >= 3 && !memcmp(doc->src, "\xef\xbb\xbf", 3))
		pos = 3;
	if (doc->front_end > pos && doc->front_end <= doc->len) {
		take(&prose, doc, &pos, doc->front_end);
		prose_cell(&nb, "raw", &prose);
		md_buf_clear(&prose);
	}
	for (i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];

		/* An inline expression stays in its prose, as written. */
		if (v->blocks[i].status != MD_STATUS_NONE && !b->inline_expr) {
			take(&prose, doc, &pos, b->start);
			prose_cell(&nb, "markdown", &prose);
			md_buf_clear(&prose);
			code_cell(&nb, &v->blocks[i]);
			if (!lang && b->lang)
				lang = b->lang;
			pos = b->end > pos ? b->end : pos;
		}
		if (b->has_out) {
			take(&prose, doc, &pos, b->out_start);
			pos = b->out_end > pos ? b->out_end : pos;
		}
	}
	take(&prose, doc, &pos, doc->len);
	prose_cell(&nb, "markdown", &prose);
	if (lang)
		kernel(meta, lang);
	if (doc->title)
		cJSON_AddItemToObject(meta, "title",
				      render_json_string(doc->title,
							 strlen(doc->title)));
	cJSON_AddItemToObject(root, "metadata", meta);
	cJSON_AddNumberToObject(root, "nbformat", 4);
	cJSON_AddNumberToObject(root, "nbformat_minor", 5);
	render_json_print(out, root);
	md_buf_dispose(&prose);
}
