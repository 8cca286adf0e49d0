/*
 * What the JSON and notebook renderers share (renderer/json.c): program
 * output made into JSON strings, base64, rich values' data. Internal to
 * renderer/.
 */
#ifndef RENDER_JSON_COMMON_H
#define RENDER_JSON_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "internal.h"

/*
 * Appends the n bytes at s to out as valid UTF-8 that a C string can hold:
 * valid sequences as they are (control characters and ANSI escapes
 * included: JSON escapes them), a NUL as U+2400 (the "control picture"
 * ␀) and every byte that is not part of a valid sequence as U+FFFD.
 * Returns true when out holds exactly the bytes at s.
 */
bool render_json_utf8(struct md_buf *out, const char *s, size_t n);

/* Prints root (cJSON's layout) and a newline to out; deletes root. */
void render_json_print(struct md_buf *out, cJSON *root);

/* A cJSON string of the n bytes at s made valid (see render_json_utf8). */
cJSON *render_json_string(const char *s, size_t n);

/* The n bytes at s in base64 (RFC 4648, no line breaks). Caller frees. */
char *render_json_base64(const char *s, size_t n);

/*
 * The data of representation m as nbformat keeps it: binary types
 * (render_mime_binary) in base64, JSON types as the value they hold
 * (a string when they do not parse), text as lines (lines) or one string.
 */
cJSON *render_json_mime(const struct md_mime *m, cJSON *(*lines)(const char *,
								  size_t));

#endif
