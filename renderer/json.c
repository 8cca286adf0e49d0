/*
 * The JSON report (`--to json`), version RENDER_JSON_VERSION:
 *
 *   {"version": 1,
 *    "document": {"path": "doc.md", "title": "A tour" | null},
 *    "blocks": [{"name", "language", "line", "options": {KEY: "VAL"},
 *                "code", "key", "status", "cached", "error_ok",
 *                "interpreter", "note", "rhash", "exit_code", "signal",
 *                "timed_out", "duration", "stdout", "stderr",
 *                "artifacts": [{"name", "mime", "bytes", "path"}],
 *                "reads": [{"path", "sha256"}],
 *                "writes": [{"path", "sha256", "kept"}],
 *                "outputs": [...],
 *                "realizations": [...]}]}
 *
 * One entry per executed block (a status), in document order. The fields
 * from rhash on describe the first realization the block shows; they are
 * null (artifacts and outputs empty) when it has none (skipped, not
 * run); "duration" is null too when the stored times make no duration. A
 * block that shows several (match=all) also has "realizations", each
 * with those fields. stdout and stderr are strings, every chunk of the
 * stream in order: the bytes as written when they are valid UTF-8
 * without NUL; otherwise made valid (see render_json_utf8) and the exact
 * bytes are in "stdout_base64" / "stderr_base64" as well. The title is
 * the document's first heading's text (doc->title).
 *
 * "outputs" is what the realization showed, in order, one object each:
 *
 *   {"type": "stream", "name": "stdout" | "stderr", "text"[, "text_base64"]}
 *       consecutive chunks of one stream merged, empty ones left out;
 *   {"type": "display_data" | "execute_result", "data": {MIME: VALUE}}
 *       a rich value (execute_result: the block's value); VALUE is a
 *       string, in base64 for binary types (image/png), the JSON value
 *       itself for application/json;
 *   {"type": "error", "text"}
 *       an error the runner reported (a traceback).
 *
 * Fields are only ever added within a version; a change to the meaning
 * or type of one bumps it. The README has the full table.
 *
 * Also here: what json.c and ipynb.c share (json_common.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_common.h"
#include "../util/hash.h"

#define MAX_DURATION 1e9 /* seconds (31 years): more is not a measurement */

void
render_json_print(struct md_buf *out, cJSON *root)
{
	char *text = cJSON_Print(root);

	if (!text)
		abort(); /* out of memory: cJSON's only failure here */
	md_buf_puts(out, text);
	md_buf_putc(out, '\n');
	free(text);
	cJSON_Delete(root);
}

bool
render_json_utf8(struct md_buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	bool exact = true;
	size_t i = 0, k;

	md_buf_grow(out, n);
	while (i < n) {
		if (s[i] == '\0') {
			md_buf_puts(out, "\xe2\x90\x80");
			exact = false;
			i++;
		} else if ((k = render_utf8_len(s + i, n - i)) > 0) {
			md_buf_put(out, s + i, k);
			i += k;
		} else {
			md_buf_puts(out, "\xef\xbf\xbd");
			exact = false;
			i++;
		}
	}
	return exact;
}

cJSON *
render_json_string(const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT;
	cJSON *item;

	render_json_utf8(&b, s, n);
	item = cJSON_CreateString(b.ptr ? b.ptr : "");
	md_buf_dispose(&b);
	return item;
}

char *
render_json_base64(const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT;

	md_base64(&b, s, n);
	return b.ptr ? md_buf_detach(&b) : md_strdup("");
}

/* The one JSON value that the n bytes at s are, or NULL. */
static cJSON *
json_value(const char *s, size_t n)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(s, n, &end, false);

	while (v && end < s + n && strchr(" \t\r\n", *end) && *end)
		end++;
	if (v && end != s + n) {
		cJSON_Delete(v);
		v = NULL;
	}
	return v;
}

cJSON *
render_json_mime(const struct md_mime *m,
		 cJSON *(*text)(const char *s, size_t n))
{
	const char *data = m->data ? m->data : "";
	cJSON *v;

	if (render_mime_binary(m->type)) {
		char *b64 = render_json_base64(data, m->len);

		v = cJSON_CreateString(b64);
		free(b64);
		return v;
	}
	if (render_mime_json(m->type) && (v = json_value(data, m->len)))
		return v;
	return text(data, m->len);
}

/* name: the n bytes at s, and name_base64 when they are not text. */
static void
add_bytes(cJSON *o, const char *name, const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT, key = MD_BUF_INIT;

	if (!render_json_utf8(&b, s, n)) {
		char *b64 = render_json_base64(s, n);

		cJSON_AddStringToObject(o, name, b.ptr);
		md_buf_printf(&key, "%s_base64", name);
		cJSON_AddStringToObject(o, key.ptr, b64);
		free(b64);
	} else {
		cJSON_AddStringToObject(o, name, b.ptr ? b.ptr : "");
	}
	md_buf_dispose(&b);
	md_buf_dispose(&key);
}

/* A string from the document or the CLI, or null. */
static void
add_string(cJSON *o, const char *name, const char *s)
{
	if (s)
		cJSON_AddItemToObject(o, name,
				      render_json_string(s, strlen(s)));
	else
		cJSON_AddNullToObject(o, name);
}

static void
add_int(cJSON *o, const char *name, bool present, int v)
{
	if (present)
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

/*
 * Seconds, to the microsecond (the clock says no more); 0 when the clock
 * stepped back. Null when the times are no duration at all (a meta.json
 * damaged, or pulled before pulls checked times): nothing is cast, so
 * no value is out of range.
 */
static void
add_duration(cJSON *o, const struct md_view_real *r)
{
	double d = r->end - r->start;

	if (d < 0)
		d = 0;
	if (d <= MAX_DURATION)
		cJSON_AddNumberToObject(o, "duration", round(d * 1e6) / 1e6);
	else
		cJSON_AddNullToObject(o, "duration"); /* NaN too */
}

static cJSON *
artifacts(const struct md_view_real *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; r && i < r->nfiles; i++) {
		const struct md_file *f = &r->files[i];
		cJSON *o = cJSON_CreateObject();

		add_string(o, "name", f->name);
		add_string(o, "mime", f->mime);
		cJSON_AddNumberToObject(o, "bytes", (double)f->len);
		add_string(o, "path", f->path);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *
outputs(const struct md_view_real *r)
{
	cJSON *arr = cJSON_CreateArray();
	struct md_buf text = MD_BUF_INIT;
	const struct md_out *x;
	size_t i = 0;

	while (r && (x = render_out_next(r, &i, &text))) {
		cJSON *o = cJSON_CreateObject(), *data;

		switch (x->kind) {
		case MD_OUT_STREAM:
			cJSON_AddStringToObject(o, "type", "stream");
			cJSON_AddStringToObject(o, "name",
						x->stream == MD_STDERR
							? "stderr"
							: "stdout");
			add_bytes(o, "text", text.ptr, text.len);
			break;
		case MD_OUT_RICH:
			cJSON_AddStringToObject(o, "type",
						x->result ? "execute_result"
							  : "display_data");
			data = cJSON_AddObjectToObject(o, "data");
			for (size_t k = 0; k < x->nbundle; k++) {
				const struct md_mime *m = &x->bundle[k];

				if (!m->type)
					continue;
				/* A type given twice: the first, preferred. */
				if (!cJSON_HasObjectItem(data, m->type))
					cJSON_AddItemToObject(
						data, m->type,
						render_json_mime(
							m, render_json_string));
			}
			break;
		case MD_OUT_ERROR:
			cJSON_AddStringToObject(o, "type", "error");
			cJSON_AddItemToObject(o, "text",
					      render_json_string(x->text,
								 x->len));
			break;
		}
		cJSON_AddItemToArray(arr, o);
	}
	md_buf_dispose(&text);
	return arr;
}

/*
 * The files its run read, as recorded ("SHA256 PATH" lines, PATH from the
 * document's folder); empty when none were, or tracking was off.
 */
static cJSON *
reads(const struct md_view_real *r)
{
	cJSON *a = cJSON_CreateArray();

	if (!r || !r->reads)
		return a;
	for (const char *p = r->reads, *end = p + r->reads_len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		cJSON *f;

		if (!nl)
			nl = end;
		if (nl - p > 65 && p[64] == ' ') {
			f = cJSON_CreateObject();
			add_bytes(f, "path", p + 65, (size_t)(nl - p - 65));
			add_bytes(f, "sha256", p, 64);
			cJSON_AddItemToArray(a, f);
		}
		p = nl + 1;
	}
	return a;
}

/*
 * The files its run wrote: the content's SHA-256 and whether the store
 * keeps it; a removed file has sha256 null.
 */
static cJSON *
writes(const struct md_view_real *r)
{
	cJSON *a = cJSON_CreateArray();

	if (!r || !r->writes)
		return a;
	for (const char *p = r->writes, *end = p + r->writes_len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *hash = p, *path;
		bool kept = true;
		cJSON *f;

		if (!nl)
			nl = end;
		if (nl - p > 2 && p[0] == '!' && p[1] == ' ') {
			hash = p + 2;
			kept = false;
		}
		if (nl - p > 2 && p[0] == '-' && p[1] == ' ') {
			hash = NULL;
			path = p + 2;
		} else if (nl - hash > 65 && hash[64] == ' ') {
			path = hash + 65;
		} else {
			p = nl + 1;
			continue;
		}
		f = cJSON_CreateObject();
		add_bytes(f, "path", path, (size_t)(nl - path));
		if (hash)
			add_bytes(f, "sha256", hash, 64);
		else
			cJSON_AddNullToObject(f, "sha256");
		cJSON_AddBoolToObject(f, "kept", hash && kept);
		cJSON_AddItemToArray(a, f);
		p = nl + 1;
	}
	return a;
}

/* What a realization shows; all null when r is NULL. */
static void
real_fields(cJSON *o, const struct md_view_real *r)
{
	struct md_buf out = MD_BUF_INIT, err = MD_BUF_INIT;

	add_string(o, "rhash", r ? r->rhash : NULL);
	add_int(o, "exit_code", r && !r->exit.signal, r ? r->exit.code : 0);
	add_int(o, "signal", r && r->exit.signal, r ? r->exit.signal : 0);
	if (r)
		cJSON_AddBoolToObject(o, "timed_out", r->exit.timed_out);
	else
		cJSON_AddNullToObject(o, "timed_out");
	if (r) {
		render_stream(&out, r, MD_STDOUT);
		render_stream(&err, r, MD_STDERR);
		add_duration(o, r);
		add_bytes(o, "stdout", out.ptr, out.len);
		add_bytes(o, "stderr", err.ptr, err.len);
	} else {
		cJSON_AddNullToObject(o, "duration");
		cJSON_AddNullToObject(o, "stdout");
		cJSON_AddNullToObject(o, "stderr");
	}
	cJSON_AddItemToObject(o, "artifacts", artifacts(r));
	cJSON_AddItemToObject(o, "reads", reads(r));
	cJSON_AddItemToObject(o, "writes", writes(r));
	cJSON_AddItemToObject(o, "outputs", outputs(r));
	md_buf_dispose(&out);
	md_buf_dispose(&err);
}

static cJSON *
block_json(const struct md_view_block *vb)
{
	const struct md_block *b = vb->block;
	cJSON *o = cJSON_CreateObject(), *opts = cJSON_CreateObject();

	add_string(o, "name", b->name);
	add_string(o, "language", b->lang);
	cJSON_AddNumberToObject(o, "line", b->line);
	for (size_t i = 0; i < b->nopts; i++) {
		/* An option written twice: the last one, as the block has. */
		cJSON_DeleteItemFromObjectCaseSensitive(opts, b->opts[i].key);
		add_string(opts, b->opts[i].key, b->opts[i].val);
	}
	cJSON_AddItemToObject(o, "options", opts);
	cJSON_AddItemToObject(o, "code",
			      render_json_string(b->code, b->code_len));
	add_string(o, "key", vb->key && *vb->key ? vb->key : NULL);
	add_string(o, "status", render_status_word(vb->status));
	cJSON_AddBoolToObject(o, "cached", vb->cached);
	cJSON_AddBoolToObject(o, "error_ok", b->error_ok);
	add_string(o, "interpreter", vb->interpreter);
	add_string(o, "note", render_note(vb));
	real_fields(o, vb->nreals > 0 ? &vb->reals[0] : NULL);
	if (vb->nreals > 1) {
		cJSON *arr = cJSON_AddArrayToObject(o, "realizations");

		for (size_t i = 0; i < vb->nreals; i++) {
			cJSON *r = cJSON_CreateObject();

			real_fields(r, &vb->reals[i]);
			cJSON_AddItemToArray(arr, r);
		}
	}
	return o;
}

void
render_json(struct md_buf *out, const struct md_view *v)
{
	cJSON *root = cJSON_CreateObject(), *doc = cJSON_CreateObject();
	cJSON *blocks;

	cJSON_AddNumberToObject(root, "version", RENDER_JSON_VERSION);
	add_string(doc, "path", v->path);
	add_string(doc, "title", v->doc->title);
	cJSON_AddItemToObject(root, "document", doc);
	blocks = cJSON_AddArrayToObject(root, "blocks");
	/* The fenced blocks: inline expressions are not among them. */
	for (size_t i = 0; i < v->doc->nblocks; i++)
		if (v->blocks[i].status != MD_STATUS_NONE &&
		    !v->doc->blocks[i].inline_expr)
			cJSON_AddItemToArray(blocks,
					     block_json(&v->blocks[i]));
	render_json_print(out, root);
}
