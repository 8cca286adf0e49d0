/*
 * The Jupyter notebook (`--to ipynb`), nbformat 4.5:
 *
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
 * - Outputs, per realization shown: stdout as a "stream" (output=asis: a
 *   display_data of text/markdown), stderr as a "stream", images as
 *   display_data (png, jpeg, gif base64; svg as text), and for a failure
 *   an "error" whose traceback is stderr's lines then "ENAME: EVALUE"
 *   (stderr is then not repeated as a stream). ename is "ExitStatus",
 *   "Signal" or "Timeout". Other artifacts are not shown.
 * - Text is the program's as written, ANSI colours and carriage returns
 *   kept (Jupyter renders them), made valid UTF-8 (see report_utf8).
 * - Cell ids are "cell-N", N its position from 1: the same document gives
 *   the same notebook.
 * - The kernelspec and language_info come from the first executed block's
 *   language.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_json.h"

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

	report_utf8(&b, s, n);
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

/* A Markdown cell of prose, unless it is only blanks. */
static void
markdown_cell(struct nb *nb, const struct md_buf *prose)
{
	struct md_buf text = MD_BUF_INIT, lf = MD_BUF_INIT;
	size_t i, start = 0, end;
	cJSON *cell;

	report_utf8(&text, prose->ptr, prose->len);
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
		cell = new_cell(nb, "markdown");
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

static cJSON *
display(cJSON *outputs)
{
	cJSON *o = cJSON_CreateObject(), *data;

	cJSON_AddStringToObject(o, "output_type", "display_data");
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
image_type(const struct report_file *f)
{
	static const char *const types[][2] = {
		{ "image/png", ".png" },   { "image/jpeg", ".jpg" },
		{ "image/jpeg", ".jpeg" }, { "image/gif", ".gif" },
		{ "image/svg+xml", ".svg" },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (f->mime ? !strcmp(f->mime, types[i][0])
			    : ends_with(f->name, types[i][1]))
			return types[i][0];
	return NULL;
}

static void
image(cJSON *outputs, const struct report_file *f)
{
	const char *type = image_type(f);
	cJSON *data;

	if (!type || !f->data)
		return;
	data = display(outputs);
	if (!strcmp(type, "image/svg+xml")) {
		cJSON_AddItemToObject(data, type, text_lines(f->data, f->len));
	} else {
		char *b64 = report_base64(f->data, f->len);
		cJSON_AddStringToObject(data, type, b64);
		free(b64);
	}
	cJSON_AddItemToObject(data, "text/plain",
			      text_lines(f->name, strlen(f->name)));
}

/* The error output of a failed realization, or nothing. */
static void
error(cJSON *outputs, const struct md_block *b, const struct report_real *r)
{
	struct md_buf err = MD_BUF_INIT, value = MD_BUF_INIT;
	const char *name;
	cJSON *o, *tb;
	size_t i, start;

	if (r->timed_out) {
		name = "Timeout";
		if (b->timeout > 0)
			md_buf_printf(&value, "timed out after %gs",
				      b->timeout);
		else
			md_buf_puts(&value, "timed out");
	} else if (r->signal) {
		name = "Signal";
		md_buf_printf(&value, "killed by signal %d", r->signal);
	} else if (r->exit_code) {
		name = "ExitStatus";
		md_buf_printf(&value, "exit status %d", r->exit_code);
	} else {
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "output_type", "error");
	cJSON_AddStringToObject(o, "ename", name);
	cJSON_AddStringToObject(o, "evalue", value.ptr);
	tb = cJSON_AddArrayToObject(o, "traceback");
	/* Jupyter joins the traceback's lines with newlines. */
	report_utf8(&err, r->err, r->err_len);
	for (start = 0, i = 0; i < err.len; i++) {
		if (err.ptr[i] != '\n' && i + 1 < err.len)
			continue;
		size_t end = err.ptr[i] == '\n' ? i : i + 1;
		char *l = md_strndup(err.ptr + start, end - start);
		cJSON_AddItemToArray(tb, cJSON_CreateString(l));
		free(l);
		start = i + 1;
	}
	md_buf_printf(&err, "%s: %s", name, value.ptr);
	cJSON_AddItemToArray(tb, cJSON_CreateString(err.ptr + start));
	cJSON_AddItemToArray(outputs, o);
	md_buf_dispose(&err);
	md_buf_dispose(&value);
}

static bool
failed(const struct report_real *r)
{
	return r->timed_out || r->signal || r->exit_code;
}

static void
outputs_of(cJSON *outputs, const struct md_block *b,
	   const struct report_real *r)
{
	if (r->out_len && b->output == MD_OUTPUT_ASIS) {
		cJSON *data = display(outputs);
		cJSON_AddItemToObject(data, "text/markdown",
				      text_lines(r->out, r->out_len));
	} else if (r->out_len) {
		stream(outputs, "stdout", r->out, r->out_len);
	}
	if (r->err_len && !failed(r))
		stream(outputs, "stderr", r->err, r->err_len);
	for (size_t i = 0; i < r->nfiles; i++)
		image(outputs, &r->files[i]);
	error(outputs, b, r);
}

static void
code_cell(struct nb *nb, const struct report_block *rb)
{
	const struct md_block *b = rb->block;
	cJSON *cell = new_cell(nb, "code"), *meta, *mdrun, *outputs;
	size_t n = b->code_len;

	meta = cJSON_AddObjectToObject(cell, "metadata");
	if (b->name)
		cJSON_AddItemToObject(meta, "name",
				      report_string(b->name, strlen(b->name)));
	if (!b->echo || b->output == MD_OUTPUT_HIDE) {
		cJSON *j = cJSON_AddObjectToObject(meta, "jupyter");
		if (!b->echo)
			cJSON_AddBoolToObject(j, "source_hidden", true);
		if (b->output == MD_OUTPUT_HIDE)
			cJSON_AddBoolToObject(j, "outputs_hidden", true);
	}
	mdrun = cJSON_AddObjectToObject(meta, "mdrun");
	cJSON_AddStringToObject(mdrun, "status", rb->status);
	cJSON_AddBoolToObject(mdrun, "cached", rb->cached);
	if (rb->note) {
		cJSON *note = report_string(rb->note, strlen(rb->note));
		cJSON_AddItemToObject(mdrun, "note", note);
	}
	/* Jupyter's source has no final newline. */
	if (n > 0 && b->code[n - 1] == '\n')
		n--;
	cJSON_AddItemToObject(cell, "source", text_lines(b->code, n));
	if (rb->n > 0)
		cJSON_AddNumberToObject(cell, "execution_count", ++nb->count);
	else
		cJSON_AddNullToObject(cell, "execution_count");
	outputs = cJSON_AddArrayToObject(cell, "outputs");
	for (size_t i = 0; i < rb->n; i++)
		outputs_of(outputs, b, &rb->reals[i]);
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
	cJSON_AddItemToObject(ks, "name", report_string(name, strlen(name)));
	cJSON_AddItemToObject(ks, "display_name",
			      report_string(display, strlen(display)));
	cJSON_AddItemToObject(ks, "language",
			      report_string(language, strlen(language)));
	li = cJSON_AddObjectToObject(meta, "language_info");
	cJSON_AddItemToObject(li, "name",
			      report_string(language, strlen(language)));
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
render_ipynb(struct md_buf *out, const struct report *r)
{
	const struct md_doc *doc = r->doc;
	struct md_buf prose = MD_BUF_INIT;
	struct nb nb = { NULL, 0, 0 };
	cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
	const char *lang = NULL;
	char *title = report_title(doc);
	size_t pos = 0, i;

	nb.cells = cJSON_AddArrayToObject(root, "cells");
	for (i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];

		if (r->blocks[i].status) {
			take(&prose, doc, &pos, b->start);
			markdown_cell(&nb, &prose);
			md_buf_clear(&prose);
			code_cell(&nb, &r->blocks[i]);
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
	markdown_cell(&nb, &prose);
	if (lang)
		kernel(meta, lang);
	if (title)
		cJSON_AddItemToObject(meta, "title",
				      report_string(title, strlen(title)));
	cJSON_AddItemToObject(root, "metadata", meta);
	cJSON_AddNumberToObject(root, "nbformat", 4);
	cJSON_AddNumberToObject(root, "nbformat_minor", 5);
	report_print(out, root);
	free(title);
	md_buf_dispose(&prose);
}
