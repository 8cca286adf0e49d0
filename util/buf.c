#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(void)
{
	fputs("mdrun: out of memory\n", stderr);
	abort();
}

void *
md_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
md_calloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
md_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *
md_strndup(const char *s, size_t n)
{
	char *p = md_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
md_strdup(const char *s)
{
	return md_strndup(s, strlen(s));
}

void
md_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int
md_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
md_strv_push(char ***v, size_t *n, char *s)
{
	*v = md_realloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

char md_buf_empty[1];

void
md_buf_grow(struct md_buf *b, size_t n)
{
	size_t want;

	if (n >= (size_t)-1 / 2 - b->len)
		oom();
	want = b->len + n + 1;
	if (want <= b->cap)
		return;
	if (want < b->cap * 2)
		want = b->cap * 2;
	if (want < 64)
		want = 64;
	b->ptr = md_realloc(b->cap ? b->ptr : NULL, want);
	b->cap = want;
	b->ptr[b->len] = '\0';
}

void
md_buf_put(struct md_buf *b, const void *data, size_t n)
{
	md_buf_grow(b, n);
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void
md_buf_puts(struct md_buf *b, const char *s)
{
	md_buf_put(b, s, strlen(s));
}

void
md_buf_putc(struct md_buf *b, char c)
{
	md_buf_put(b, &c, 1);
}

void
md_buf_vprintf(struct md_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return;
	md_buf_grow(b, (size_t)n);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
md_buf_printf(struct md_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	md_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
md_buf_clear(struct md_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->ptr[0] = '\0';
}

char *
md_buf_detach(struct md_buf *b)
{
	char *p = b->cap ? b->ptr : md_strdup("");

	b->ptr = md_buf_empty;
	b->len = b->cap = 0;
	return p;
}

bool
md_buf_eq(const struct md_buf *a, const struct md_buf *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->ptr, b->ptr, a->len));
}

void
md_buf_dispose(struct md_buf *b)
{
	if (b->cap)
		free(b->ptr);
	b->ptr = md_buf_empty;
	b->len = b->cap = 0;
}

size_t
md_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}
