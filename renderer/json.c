/*
 * The JSON report (`--to json`), version REPORT_JSON_VERSION:
 *
 *   {"version": 1,
 *    "document": {"path": "doc.md", "title": "A tour" | null},
 *    "blocks": [{"name", "language", "line", "options": {KEY: "VAL"},
 *                "code", "key", "status", "cached", "error_ok",
 *                "interpreter", "note", "rhash", "exit_code", "signal",
 *                "timed_out", "duration", "stdout", "stderr",
 *                "artifacts": [{"name", "mime", "bytes", "path"}],
 *                "realizations": [...]}]}
 *
 * One entry per executed block (a status), in document order. The fields
 * from rhash on describe the first realization the block shows; they are
 * null (artifacts empty) when it has none (skipped, not run);
 * "duration" is null too when the stored times make no duration. A block
 * that shows several (match=all) also has "realizations", each with those
 * fields. stdout and stderr are strings: the bytes as written when they
 * are valid UTF-8 without NUL; otherwise made valid (see report_utf8) and
 * the exact bytes are in "stdout_base64" / "stderr_base64" as well.
 * Fields are only ever added within a version; a change to the meaning
 * or type of one bumps it. The README has the full table.
 *
 * Also here: what json.c and ipynb.c share (report_json.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_json.h"
#include "../util/hash.h"

#define MAX_DURATION 1e9 /* seconds (31 years): more is not a measurement */

void
report_print(struct md_buf *out, cJSON *root)
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
report_utf8(struct md_buf *out, const char *str, size_t n)
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
report_string(const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT;
	cJSON *item;

	report_utf8(&b, s, n);
	item = cJSON_CreateString(b.ptr ? b.ptr : "");
	md_buf_dispose(&b);
	return item;
}

char *
report_base64(const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT;

	md_base64(&b, s, n);
	return b.ptr ? md_buf_detach(&b) : md_strdup("");
}

/* Is the byte at `at` part of a fenced block or an output region? */
static bool
hidden(const struct md_doc *doc, size_t at)
{
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];

		if (at >= b->start && at < b->end)
			return true;
		if (b->has_out && at >= b->out_start && at < b->out_end)
			return true;
	}
	return false;
}

/* s (n bytes) without its leading and trailing blanks. */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Columns of indentation (up to 4) at s. */
static size_t
indent(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 4 && s[i] == ' ')
		i++;
	return i;
}

/* A line of all '=' or all '-' (blanks after): a setext underline. */
static bool
underline(const char *s, size_t n)
{
	size_t i = indent(s, n), j;

	if (i > 3 || i == n || (s[i] != '=' && s[i] != '-'))
		return false;
	for (j = i; j < n && s[j] == s[i]; j++)
		;
	for (; j < n; j++)
		if (s[j] != ' ' && s[j] != '\t')
			return false;
	return true;
}

/* Could the line be a paragraph's (not a quote, list item, HTML...)? */
static bool
prose(const char *s, size_t n)
{
	size_t i = indent(s, n);

	if (i > 3 || i == n)
		return false;
	s += i, n -= i;
	if (strchr("#>|<", s[0]) || underline(s, n))
		return false;
	if (strchr("-*+", s[0]) && (n == 1 || s[1] == ' ' || s[1] == '\t'))
		return false;
	/* An ordered list item: digits, then '.' or ')', then a blank. */
	for (i = 0; i < n && i < 9 && s[i] >= '0' && s[i] <= '9'; i++)
		;
	return !(i > 0 && i < n && (s[i] == '.' || s[i] == ')') &&
		 (i + 1 == n || s[i + 1] == ' ' || s[i + 1] == '\t'));
}

/* The text of an ATX heading, or false. */
static bool
atx(const char *s, size_t n, const char **text, size_t *len)
{
	size_t i = indent(s, n), h = 0;

	if (i > 3)
		return false;
	while (i < n && s[i] == '#' && h < 7)
		i++, h++;
	if (h == 0 || h > 6 || (i < n && s[i] != ' ' && s[i] != '\t'))
		return false;
	s += i, n -= i;
	trim(&s, &n);
	/* A closing run of '#' after a blank goes. */
	i = n;
	while (i > 0 && s[i - 1] == '#')
		i--;
	if (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t') {
		n = i;
		trim(&s, &n);
	}
	*text = s;
	*len = n;
	return true;
}

char *
report_title(const struct md_doc *doc)
{
	const char *src = doc->src, *prev = NULL, *t;
	size_t pos = 0, prev_len = 0, tlen;
	bool front = false;

	while (pos < doc->len) {
		const char *nl = memchr(src + pos, '\n', doc->len - pos);
		size_t end = nl ? (size_t)(nl - src) : doc->len;
		const char *s = src + pos;
		size_t n = end - pos;

		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (pos == 0 && n == 3 && !memcmp(s, "---", 3)) {
			front = true;
		} else if (front) {
			if ((n == 3 && !memcmp(s, "---", 3)) ||
			    (n == 3 && !memcmp(s, "...", 3)))
				front = false;
		} else if (hidden(doc, pos)) {
			prev = NULL;
		} else if (atx(s, n, &t, &tlen) && tlen > 0) {
			return md_strndup(t, tlen);
		} else if (prev && underline(s, n)) {
			trim(&prev, &prev_len);
			return md_strndup(prev, prev_len);
		} else if (prose(s, n)) {
			prev = s, prev_len = n;
		} else {
			prev = NULL;
		}
		pos = end + 1;
	}
	return NULL;
}

/* name: the n bytes at s, and name_base64 when they are not text. */
static void
add_bytes(cJSON *o, const char *name, const char *s, size_t n)
{
	struct md_buf b = MD_BUF_INIT, key = MD_BUF_INIT;

	if (!report_utf8(&b, s, n)) {
		char *b64 = report_base64(s, n);

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
		cJSON_AddItemToObject(o, name, report_string(s, strlen(s)));
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
add_duration(cJSON *o, const struct report_real *r)
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
artifacts(const struct report_real *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; r && i < r->nfiles; i++) {
		const struct report_file *f = &r->files[i];
		cJSON *o = cJSON_CreateObject();

		add_string(o, "name", f->name);
		add_string(o, "mime", f->mime);
		cJSON_AddNumberToObject(o, "bytes", (double)f->len);
		add_string(o, "path", f->path);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* What a realization shows; all null when r is NULL. */
static void
real_fields(cJSON *o, const struct report_real *r)
{
	add_string(o, "rhash", r ? r->rhash : NULL);
	add_int(o, "exit_code", r && !r->signal, r ? r->exit_code : 0);
	add_int(o, "signal", r && r->signal, r ? r->signal : 0);
	if (r)
		cJSON_AddBoolToObject(o, "timed_out", r->timed_out);
	else
		cJSON_AddNullToObject(o, "timed_out");
	if (r) {
		add_duration(o, r);
		add_bytes(o, "stdout", r->out, r->out_len);
		add_bytes(o, "stderr", r->err, r->err_len);
	} else {
		cJSON_AddNullToObject(o, "duration");
		cJSON_AddNullToObject(o, "stdout");
		cJSON_AddNullToObject(o, "stderr");
	}
	cJSON_AddItemToObject(o, "artifacts", artifacts(r));
}

static cJSON *
block_json(const struct report_block *rb)
{
	const struct md_block *b = rb->block;
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
	cJSON_AddItemToObject(o, "code", report_string(b->code, b->code_len));
	add_string(o, "key", rb->key && *rb->key ? rb->key : NULL);
	add_string(o, "status", rb->status);
	cJSON_AddBoolToObject(o, "cached", rb->cached);
	cJSON_AddBoolToObject(o, "error_ok", rb->error_ok);
	add_string(o, "interpreter", rb->interpreter);
	add_string(o, "note", rb->note);
	real_fields(o, rb->n > 0 ? &rb->reals[0] : NULL);
	if (rb->n > 1) {
		cJSON *arr = cJSON_AddArrayToObject(o, "realizations");

		for (size_t i = 0; i < rb->n; i++) {
			cJSON *r = cJSON_CreateObject();

			real_fields(r, &rb->reals[i]);
			cJSON_AddItemToArray(arr, r);
		}
	}
	return o;
}

void
render_json(struct md_buf *out, const struct report *r)
{
	cJSON *root = cJSON_CreateObject(), *doc = cJSON_CreateObject();
	cJSON *blocks;
	char *title = report_title(r->doc);

	cJSON_AddNumberToObject(root, "version", REPORT_JSON_VERSION);
	add_string(doc, "path", r->path);
	add_string(doc, "title", title);
	cJSON_AddItemToObject(root, "document", doc);
	blocks = cJSON_AddArrayToObject(root, "blocks");
	for (size_t i = 0; i < r->doc->nblocks; i++)
		if (r->blocks[i].status)
			cJSON_AddItemToArray(blocks, block_json(&r->blocks[i]));
	report_print(out, root);
	free(title);
}
