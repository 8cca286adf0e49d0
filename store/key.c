/*
 * Keys: the one serialization of a stage's fields, and its drv JSON.
 */
#include "store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/err.h"

void
store_key_item(struct md_buf *out, const char *s, size_t n)
{
	/* Keys are made for every block of every render: no printf. */
	char digits[24];
	size_t k = sizeof(digits), len = n;

	digits[--k] = ':';
	do
		digits[--k] = (char)('0' + len % 10);
	while ((len /= 10) > 0);
	md_buf_put(out, digits + k, sizeof(digits) - k);
	md_buf_put(out, s, n);
}

/* Reads "LEN:" and LEN bytes at *p; false when they are not there. */
static bool
read_item(const char **p, const char *end, const char **s, size_t *n)
{
	const char *c = *p;
	size_t len = 0;

	if (c == end || *c < '0' || *c > '9')
		return false;
	for (; c < end && *c >= '0' && *c <= '9'; c++) {
		if (len > (size_t)(end - c))
			return false;
		len = len * 10 + (size_t)(*c - '0');
	}
	if (c == end || *c != ':' || len > (size_t)(end - c - 1))
		return false;
	*s = c + 1;
	*n = len;
	*p = c + 1 + len;
	return true;
}

/* Appends n bytes at s with control bytes and backslashes escaped. */
static void
put_escaped(struct md_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			md_buf_puts(out, "\\\\");
		else if (c == '\n')
			md_buf_puts(out, "\\n");
		else if (c < 0x20 || c == 0x7f)
			md_buf_printf(out, "\\x%02x", c);
		else
			md_buf_putc(out, (char)c);
	}
}

bool
store_key_pairs_text(struct md_buf *out, const char *v)
{
	const char *p = v, *end = v + strlen(v), *a, *b;
	size_t start = out->len, na, nb;

	while (p < end) {
		if (!read_item(&p, end, &a, &na) || p == end)
			goto fail;
		put_escaped(out, a, na);
		if (*p == '!') {
			p++;
			md_buf_puts(out, " (unset)\n");
			continue;
		}
		if (*p++ != '=' || !read_item(&p, end, &b, &nb))
			goto fail;
		md_buf_puts(out, " = ");
		put_escaped(out, b, nb);
		md_buf_putc(out, '\n');
	}
	return true;
fail:
	out->len = start;
	if (out->cap)
		out->ptr[start] = '\0';
	return false;
}

void
store_key_bytes(struct md_buf *out, const struct store_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		store_key_item(out, f[i].name, strlen(f[i].name));
		md_buf_put(out, " ", 1);
		store_key_item(out, f[i].value, strlen(f[i].value));
		md_buf_put(out, "\n", 1);
	}
}

void
store_key(char out[MD_HASH_HEX], const struct store_field *f, size_t n)
{
	struct md_buf b = MD_BUF_INIT;

	store_key_bytes(&b, f, n);
	md_hash_bytes(out, b.ptr ? b.ptr : "", b.len);
	md_buf_dispose(&b);
}

char *
store_drv_json(const struct store_field *f, size_t n)
{
	cJSON *drv = cJSON_CreateObject(), *fields = cJSON_CreateObject();
	char *text;
	size_t i;

	cJSON_AddNumberToObject(drv, "version", STORE_META_VERSION);
	/* An object keeps its members in order: the order is hashed. */
	for (i = 0; i < n; i++)
		cJSON_AddStringToObject(fields, f[i].name, f[i].value);
	cJSON_AddItemToObject(drv, "fields", fields);
	text = cJSON_Print(drv);
	cJSON_Delete(drv);
	return text;
}
