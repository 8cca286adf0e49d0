#include "outputs.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/hash.h"

/* A chunk of one stream at the end of list, merged with one before it. */
static void
add_stream(cJSON *list, const char *name, long long len)
{
	cJSON *last = cJSON_GetArrayItem(list, cJSON_GetArraySize(list) - 1);
	cJSON *was = cJSON_GetObjectItemCaseSensitive(last, "stream");
	cJSON *o;

	if (len <= 0)
		return;
	if (cJSON_IsString(was) && !strcmp(was->valuestring, name)) {
		cJSON *n = cJSON_GetObjectItemCaseSensitive(last, "len");
		cJSON_SetNumberValue(n, n->valuedouble + (double)len);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stream", name);
	cJSON_AddNumberToObject(o, "len", (double)len);
	cJSON_AddItemToArray(list, o);
}

/* The [OUT, ERR] of an event; false when it has none that is whole. */
static bool
event_at(const cJSON *ev, long long *o, long long *e)
{
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(ev, "at");
	const cJSON *a = cJSON_GetArrayItem(at, 0), *b = cJSON_GetArrayItem(at, 1);

	if (!cJSON_IsArray(at) || cJSON_GetArraySize(at) != 2 ||
	    !cJSON_IsNumber(a) || !cJSON_IsNumber(b) || a->valuedouble < 0 ||
	    b->valuedouble < 0 || a->valuedouble > 1e15 ||
	    b->valuedouble > 1e15)
		return false;
	*o = (long long)a->valuedouble;
	*e = (long long)b->valuedouble;
	return true;
}

void
md_outputs_from_events(struct md_buf *list, const char *ev, size_t n,
		       long long out0, long long err0, size_t out_len,
		       size_t err_len)
{
	cJSON *arr = cJSON_CreateArray();
	long long po = out0, pe = err0, o, e;
	bool rich = false, reordered = false, err_seen = false;
	size_t i = 0;

	md_buf_clear(list);
	while (i < n) {
		const char *nl = memchr(ev + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - ev) : n;
		cJSON *x = cJSON_ParseWithLength(ev + i, end - i);
		cJSON *data = cJSON_GetObjectItemCaseSensitive(x, "data");

		i = end + 1;
		if (!cJSON_IsObject(x) || !event_at(x, &o, &e)) {
			cJSON_Delete(x);
			continue;
		}
		/* What each stream gave since the last event, stdout first. */
		if (o > po) {
			add_stream(arr, "stdout", o - po);
			reordered |= err_seen;
			po = o;
		}
		if (e > pe) {
			add_stream(arr, "stderr", e - pe);
			err_seen = true;
			pe = e;
		}
		if (cJSON_IsObject(data)) {
			cJSON *item = cJSON_CreateObject();
			cJSON *meta = cJSON_GetObjectItemCaseSensitive(x,
								       "metadata");

			cJSON_AddItemToObject(item, "data",
					      cJSON_DetachItemViaPointer(x,
									 data));
			cJSON_AddItemToObject(
				item, "metadata",
				cJSON_IsObject(meta)
					? cJSON_DetachItemViaPointer(x, meta)
					: cJSON_CreateObject());
			cJSON_AddBoolToObject(
				item, "result",
				cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
					x, "result")));
			cJSON_AddItemToArray(arr, item);
			rich = true;
		}
		cJSON_Delete(x);
	}
	/* After the last event: what is left, stdout first. */
	reordered |= err_seen && (long long)out_len > po - out0;
	(void)err_len;
	if (rich || reordered) {
		char *text = cJSON_PrintUnformatted(arr);
		md_buf_puts(list, text);
		free(text);
	}
	cJSON_Delete(arr);
}

/* Keeps s (malloc'ed) until the outputs go; returns it. */
static char *
own(struct md_outputs *v, char *s)
{
	v->owned = md_realloc(v->owned, (v->nowned + 1) * sizeof(*v->owned));
	v->owned[v->nowned++] = s;
	return s;
}

static void
push_out(struct md_outputs *v, size_t *cap, struct md_out o)
{
	if (v->n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		v->outs = md_realloc(v->outs, *cap * sizeof(*v->outs));
	}
	v->outs[v->n++] = o;
}

/*
 * The next len bytes of a stream (what was captured of them; len < 0:
 * all that is left) as an output.
 */
static void
stream_out(struct md_outputs *v, size_t *cap, enum md_stream which,
	   const char *bytes, size_t size, size_t *at, double len)
{
	size_t k = size - *at;

	if (len >= 0 && len < (double)k)
		k = (size_t)len;
	if (k)
		push_out(v, cap,
			 (struct md_out){ .kind = MD_OUT_STREAM,
					  .stream = which,
					  .text = bytes + *at,
					  .len = k });
	*at += k;
}

/*
 * One representation of a bundle: base64 decoded for a binary type, a
 * JSON value printed, text as it is. False when it is none of those.
 */
static bool
mime_of(struct md_outputs *v, struct md_mime *m, const cJSON *value)
{
	struct md_buf b = MD_BUF_INIT;

	m->type = value->string;
	if (cJSON_IsString(value) && render_mime_binary(m->type)) {
		size_t n = strlen(value->valuestring);
		if (!md_base64_decode(&b, value->valuestring, n)) {
			md_buf_dispose(&b);
			return false;
		}
		m->len = b.len;
		m->data = own(v, b.ptr ? b.ptr : md_strdup(""));
		return true;
	}
	if (cJSON_IsString(value)) {
		m->data = value->valuestring;
		m->len = strlen(value->valuestring);
		return true;
	}
	if (!render_mime_json(m->type))
		return false;
	m->data = own(v, cJSON_PrintUnformatted(value));
	m->len = strlen(m->data);
	return true;
}

/* Every representation of data, in its order, as one rich output. */
static void
rich_out(struct md_outputs *v, size_t *cap, const cJSON *item)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(item, "data");
	size_t n = (size_t)cJSON_GetArraySize(data), k = 0;
	struct md_mime *mimes = md_calloc(n ? n : 1, sizeof(*mimes));
	const cJSON *value;

	cJSON_ArrayForEach(value, data)
	{
		if (value->string && mime_of(v, &mimes[k], value))
			k++;
	}
	own(v, (char *)mimes);
	if (k)
		push_out(v, cap,
			 (struct md_out){ .kind = MD_OUT_RICH,
					  .bundle = mimes,
					  .nbundle = k,
					  .result = cJSON_IsTrue(
						  cJSON_GetObjectItemCaseSensitive(
							  item, "result")) });
}

void
md_outputs_view(struct md_outputs *v, const char *list, size_t len,
		const char *out, size_t out_len, const char *err,
		size_t err_len)
{
	cJSON *arr = len ? cJSON_ParseWithLength(list, len) : NULL;
	cJSON *items = cJSON_IsArray(arr) ? arr : NULL;
	const cJSON *item;
	size_t cap = 0, oat = 0, eat = 0;

	memset(v, 0, sizeof(*v));
	cJSON_ArrayForEach(item, items)
	{
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(item,
								  "stream");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "len");

		if (cJSON_IsNumber(n) && !(n->valuedouble >= 0))
			continue; /* a length no run gives */
		if (cJSON_IsString(s) && cJSON_IsNumber(n) &&
		    !strcmp(s->valuestring, "stdout"))
			stream_out(v, &cap, MD_STDOUT, out, out_len, &oat,
				   n->valuedouble);
		else if (cJSON_IsString(s) && cJSON_IsNumber(n) &&
			 !strcmp(s->valuestring, "stderr"))
			stream_out(v, &cap, MD_STDERR, err, err_len, &eat,
				   n->valuedouble);
		else if (cJSON_IsObject(
				 cJSON_GetObjectItemCaseSensitive(item, "data")))
			rich_out(v, &cap, item);
	}
	/* The strings the bundles point into live as long as the outputs. */
	v->tree = arr;
	stream_out(v, &cap, MD_STDOUT, out, out_len, &oat, -1);
	stream_out(v, &cap, MD_STDERR, err, err_len, &eat, -1);
}

void
md_outputs_dispose(struct md_outputs *v)
{
	for (size_t i = 0; i < v->nowned; i++)
		free(v->owned[i]);
	free(v->owned);
	free(v->outs);
	cJSON_Delete(v->tree);
	memset(v, 0, sizeof(*v));
}
