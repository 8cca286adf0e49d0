/*
 * Keys: the one serialization of a stage's fields, and its drv.json.
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
	md_buf_printf(out, "%zu:", n);
	md_buf_put(out, s, n);
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

	cJSON_AddNumberToObject(drv, "version", STORE_VERSION);
	/* An object keeps its members in order: the order is hashed. */
	for (i = 0; i < n; i++)
		cJSON_AddStringToObject(fields, f[i].name, f[i].value);
	cJSON_AddItemToObject(drv, "fields", fields);
	text = cJSON_Print(drv);
	cJSON_Delete(drv);
	return text;
}
