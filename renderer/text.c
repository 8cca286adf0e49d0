#include "render.h"

size_t
render_utf8_len(const unsigned char *s, size_t n)
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

void
render_text_clean(struct md_buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	md_buf_grow(out, n);
	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c == 0x1b) {
			i += escape_len(s + i, n - i);
		} else if (c == '\r') {
			/* CRLF and a lone CR both end a line. */
			md_buf_putc(out, '\n');
			i += (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
		} else if (c == '\n' || c == '\t') {
			md_buf_putc(out, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			unsigned int cp = c == 0x7f ? 0x2421 : 0x2400 + c;
			md_buf_putc(out, (char)(0xe0 | cp >> 12));
			md_buf_putc(out, (char)(0x80 | (cp >> 6 & 0x3f)));
			md_buf_putc(out, (char)(0x80 | (cp & 0x3f)));
			i++;
		} else if ((k = render_utf8_len(s + i, n - i)) == 2 &&
			   c == 0xc2 && s[i + 1] < 0xa0) {
			/* A C1 control (U+0080..U+009F): U+009B is a CSI. */
			md_buf_puts(out, "\xef\xbf\xbd");
			i += k;
		} else if (k > 0) {
			md_buf_put(out, s + i, k);
			i += k;
		} else {
			md_buf_puts(out, "\xef\xbf\xbd");
			i++;
		}
	}
}
