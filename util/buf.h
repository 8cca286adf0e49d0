/*
 * Growable byte buffers and the allocator wrappers every module uses.
 *
 * A buffer is always NUL-terminated (ptr[len] == '\0') once anything has
 * been put into it, but may hold NUL bytes itself: bytes travel as
 * (ptr, len). Allocation failure aborts the process in md_malloc and
 * friends, so no caller checks for NULL.
 */
#ifndef MD_BUF_H
#define MD_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct md_buf {
	char *ptr;
	size_t len;
	size_t cap;
};

/*
 * An empty buffer whose ptr is already a valid empty string, so that
 * printing an untouched buffer needs no NULL check. (A zeroed buffer,
 * ptr NULL, is empty too: every function here takes both.) Nothing is
 * allocated until the first put; cap 0 means ptr is not ours to free.
 */
extern char md_buf_empty[1];
#define MD_BUF_INIT { md_buf_empty, 0, 0 }

void *md_malloc(size_t n);
void *md_calloc(size_t count, size_t n);
void *md_realloc(void *p, size_t n);
char *md_strdup(const char *s);
char *md_strndup(const char *s, size_t n);

/* Frees a NULL-terminated array of strings and the strings; NULL is fine. */
void md_strv_free(char **v);
/* Compares two char * array elements, for qsort and bsearch. */
int md_strp_cmp(const void *a, const void *b);
/* Appends s (taken) to the NULL-terminated array *v of *n strings. */
void md_strv_push(char ***v, size_t *n, char *s);

/* Makes room for at least n more bytes (plus the terminating NUL). */
void md_buf_grow(struct md_buf *b, size_t n);
void md_buf_put(struct md_buf *b, const void *data, size_t n);
void md_buf_puts(struct md_buf *b, const char *s);
void md_buf_putc(struct md_buf *b, char c);
void md_buf_printf(struct md_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void md_buf_vprintf(struct md_buf *b, const char *fmt, va_list ap);
/* Empties the buffer but keeps its memory. */
void md_buf_clear(struct md_buf *b);
/*
 * Hands the bytes to the caller, who frees them with free(); the buffer is
 * left empty. Never returns NULL: an empty buffer detaches as "".
 */
char *md_buf_detach(struct md_buf *b);
void md_buf_dispose(struct md_buf *b);
/* Whether a and b hold the same bytes. */
bool md_buf_eq(const struct md_buf *a, const struct md_buf *b);

/*
 * Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0 for an
 * invalid one (overlong forms, surrogates, past U+10FFFF, cut short).
 */
size_t md_utf8_len(const unsigned char *s, size_t n);

#endif
