/*
 * What the JSON and notebook renderers share (renderer/json.c): program
 * output made into JSON strings, base64, and a document's title.
 * Internal to renderer/.
 */
#ifndef REPORT_JSON_H
#define REPORT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "report.h"

/*
 * Appends the n bytes at s to out as valid UTF-8 that a C string can hold:
 * valid sequences as they are (control characters and ANSI escapes
 * included: JSON escapes them), a NUL as U+2400 (the "control picture"
 * ␀) and every byte that is not part of a valid sequence as U+FFFD.
 * Returns true when out holds exactly the bytes at s.
 */
bool report_utf8(struct md_buf *out, const char *s, size_t n);

/* Prints root (cJSON's layout) and a newline to out; deletes root. */
void report_print(struct md_buf *out, cJSON *root);

/* A cJSON string of the n bytes at s made valid (see report_utf8). */
cJSON *report_string(const char *s, size_t n);

/* The n bytes at s in base64 (RFC 4648, no line breaks). Caller frees. */
char *report_base64(const char *s, size_t n);

/*
 * The text of the document's first heading (ATX "# T" or setext "T\n==="),
 * outside code blocks, output regions and a leading "---" front matter,
 * inline Markdown kept as written; NULL when it has none. Caller frees.
 */
char *report_title(const struct md_doc *doc);

#endif
