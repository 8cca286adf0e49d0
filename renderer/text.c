#include <string.h>

#include "render.h"

size_t
render_utf8_len(const unsigned char *s, size_t n)
{
	return md_utf8_len(s, n);
}

/*
 * Length of the escape sequence at s (s[0] == ESC), framed as ECMA-48
 * frames them: CSI is ESC [, parameter and intermediate bytes, a final
 * byte; a control string (OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC
 * ESC _) runs up to BEL or ESC \; any other is ESC, intermediate bytes, a
 * final byte. A sequence cut short ends before the byte that does not
 * fit, and a control string before a line end, so a stray ESC never takes
 * a line break or the rest of the output with it.
 */
static size_t
escape_len(const unsigned char *s, size_t n)
{
	size_t i;

	if (n < 2)
		return 1;
	if (s[1] == '[') {
		for (i = 2; i < n && s[i] >= 0x20 && s[i] <= 0x3f; i++)
			;
		return i < n && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : i;
	}
	if (s[1] == ']' || s[1] == 'P' || s[1] == 'X' || s[1] == '^' ||
	    s[1] == '_') {
		for (i = 2; i < n; i++) {
			if (s[i] == 0x07)
				return i + 1;
			if (s[i] == 0x1b)
				return i + 1 < n && s[i + 1] == '\\' ? i + 2 : i;
			if (s[i] == '\n' || s[i] == '\r')
				return i;
		}
		return n;
	}
	for (i = 1; i < n && s[i] >= 0x20 && s[i] <= 0x2f; i++)
		;
	return i < n && s[i] >= 0x30 && s[i] <= 0x7e ? i + 1 : i;
}

/*
 * A line of program output as a terminal would leave it. The line holds
 * the cells before the cursor (pad blanks, then out->ptr[start, out->len))
 * and the cells from the cursor on (after, the cell under the cursor
 * last). A carriage return moves the cells before the cursor onto after;
 * a character replaces the cell under the cursor. Every cell is moved
 * across the cursor at most once and dropped at most once, so the work is
 * linear in the output however many carriage returns it holds.
 *
 * A cell is one valid UTF-8 sequence (the cleaning emits nothing else), so
 * a cell's start is found from its end by stepping back over continuation
 * bytes.
 */
struct term {
	struct md_buf *out;
	size_t start;	    /* the line's first byte in out */
	size_t pad;	    /* blanks before out[start]: what an erase left */
	struct md_buf after; /* cells from the cursor on, last to first */
	bool rewritten;	    /* a CR, backspace or erase acted on the line */
};

/* Where the last cell of b's bytes from `from` on starts. */
static size_t
cell_start(const struct md_buf *b, size_t from)
{
	size_t i = b->len - 1;

	while (i > from && ((unsigned char)b->ptr[i] & 0xc0) == 0x80)
		i--;
	return i;
}

static void
truncate_to(struct md_buf *b, size_t len)
{
	b->len = len;
	if (b->cap)
		b->ptr[len] = '\0';
}

/* Drops the cell under the cursor, if there is one. */
static void
drop_under(struct term *t)
{
	if (t->after.len > 0)
		truncate_to(&t->after, cell_start(&t->after, 0));
}

/* Writes one cell at the cursor, over the cell there, and moves on. */
static void
cell(struct term *t, const void *bytes, size_t k)
{
	drop_under(t);
	if (k == 1)
		md_buf_putc(t->out, *(const char *)bytes);
	else
		md_buf_put(t->out, bytes, k);
}

/* Backspace: the cursor goes back one cell, if it can; nothing is erased. */
static void
backspace(struct term *t)
{
	struct md_buf *out = t->out;

	if (out->len > t->start) {
		size_t at = cell_start(out, t->start);

		md_buf_put(&t->after, out->ptr + at, out->len - at);
		truncate_to(out, at);
	} else if (t->pad > 0) {
		t->pad--;
		md_buf_putc(&t->after, ' ');
	}
	t->rewritten = true;
}

/* Carriage return: the cursor goes to column 0; nothing is erased. */
static void
carriage_return(struct term *t)
{
	while (t->out->len > t->start || t->pad > 0)
		backspace(t);
	t->rewritten = true;
}

/*
 * Erase in line (CSI Ps K): 0 from the cursor to the end, 1 from the
 * start to the cursor, 2 all of it. The cursor stays where it is, so the
 * cells erased before it become blanks.
 */
static void
erase(struct term *t, int mode)
{
	struct md_buf *out = t->out;

	if (mode == 1 || mode == 2) {
		for (size_t i = t->start; i < out->len; i++)
			t->pad += ((unsigned char)out->ptr[i] & 0xc0) != 0x80;
		truncate_to(out, t->start);
	}
	if (mode == 1 && t->after.len > 0) {
		drop_under(t);
		md_buf_putc(&t->after, ' ');
	}
	if (mode == 0 || mode == 2)
		truncate_to(&t->after, 0);
	t->rewritten = true;
}

/*
 * The line as it stands goes into out, then lf if it ended with one. A
 * rewritten line loses its trailing blanks: the padding a progress bar
 * writes to cover a longer earlier state, or what an erase left.
 */
static void
end_line(struct term *t, bool lf)
{
	struct md_buf *out = t->out;

	if (t->pad > 0) {
		size_t n = out->len - t->start;

		md_buf_grow(out, t->pad);
		memmove(out->ptr + t->start + t->pad, out->ptr + t->start, n);
		memset(out->ptr + t->start, ' ', t->pad);
		truncate_to(out, out->len + t->pad);
	}
	while (t->after.len > 0) {
		size_t at = cell_start(&t->after, 0);

		md_buf_put(out, t->after.ptr + at, t->after.len - at);
		truncate_to(&t->after, at);
	}
	while (t->rewritten && out->len > t->start &&
	       out->ptr[out->len - 1] == ' ')
		truncate_to(out, out->len - 1);
	if (lf)
		md_buf_putc(out, '\n');
	t->start = out->len;
	t->pad = 0;
	t->rewritten = false;
}

/* The mode of an erase in line, CSI Ps K, at s (len bytes), or -1. */
static int
erase_mode(const unsigned char *s, size_t len)
{
	int mode = 0;

	if (len < 3 || s[1] != '[' || s[len - 1] != 'K')
		return -1;
	for (size_t i = 2; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (mode < 10)
			mode = mode * 10 + (s[i] - '0');
	}
	return mode <= 2 ? mode : -1;
}

/*
 * The cleaning behind render_text_clean (term: a terminal's CR, backspace
 * and erase in line) and render_text_plain (a lone CR ends a line, a
 * backspace is a control picture, escape sequences are only dropped).
 */
static void
clean(struct md_buf *out, const char *str, size_t n, bool term)
{
	const unsigned char *s = (const unsigned char *)str;
	struct term t = { out, 0, 0, MD_BUF_INIT, false };
	size_t i = 0;

	md_buf_grow(out, n);
	t.start = out->len;
	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c == 0x1b) {
			int mode;

			k = escape_len(s + i, n - i);
			if (term && (mode = erase_mode(s + i, k)) >= 0)
				erase(&t, mode);
			i += k;
		} else if (c == '\n' ||
			   (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
			/* CRLF ends a line, as LF does. */
			end_line(&t, true);
			i += c == '\r' ? 2 : 1;
		} else if (c == '\r' && term) {
			carriage_return(&t);
			i++;
		} else if (c == '\r') {
			end_line(&t, true);
			i++;
		} else if (c == '\b' && term) {
			backspace(&t);
			i++;
		} else if (c == '\t') {
			cell(&t, "\t", 1);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			unsigned int cp = c == 0x7f ? 0x2421 : 0x2400 + c;
			char pic[3] = { (char)(0xe0 | cp >> 12),
					(char)(0x80 | (cp >> 6 & 0x3f)),
					(char)(0x80 | (cp & 0x3f)) };
			cell(&t, pic, 3);
			i++;
		} else if ((k = render_utf8_len(s + i, n - i)) == 2 &&
			   c == 0xc2 && s[i + 1] < 0xa0) {
			/* A C1 control (U+0080..U+009F): U+009B is a CSI. */
			cell(&t, "\xef\xbf\xbd", 3);
			i += k;
		} else if (k > 0) {
			cell(&t, s + i, k);
			i += k;
		} else {
			cell(&t, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	end_line(&t, false);
	md_buf_dispose(&t.after);
}

void
render_text_clean(struct md_buf *out, const char *s, size_t n)
{
	clean(out, s, n, true);
}

void
render_text_plain(struct md_buf *out, const char *s, size_t n)
{
	clean(out, s, n, false);
}
