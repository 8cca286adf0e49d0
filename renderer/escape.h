/*
 * Escaping, for every format, in one place (renderer/escape.c): what a
 * program printed or a document says becomes text in HTML, XML, Markdown
 * link text or a GitHub workflow command, never markup. Each function
 * appends to out; s is any bytes (n of them) unless it says a string.
 * Internal to renderer/.
 */
#ifndef RENDER_ESCAPE_H
#define RENDER_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"

/*
 * HTML text or a quoted attribute value: & < > " ' as entities, in any
 * context. s is taken as it is (see the next two for any bytes).
 */
void render_html_escape(struct md_buf *out, const char *s, size_t n);
/*
 * Program output as HTML text: render_text_clean, then escaped. Colours
 * and styles set by SGR sequences (ESC [ ... m) become spans with classes
 * (ansi-fg-N and ansi-bg-N for the 16 colours, ansi-bold, ansi-italic,
 * ansi-underline) when nothing in the output moves the cursor back (a
 * lone CR, a backspace, an erase); otherwise they are dropped.
 */
void render_html_output(struct md_buf *out, const char *s, size_t n);
/* Code, a name, a title as HTML text: render_text_plain, then escaped. */
void render_html_text(struct md_buf *out, const char *s, size_t n);
/*
 * The string mime when it is fit to stand in a data: URI or an attribute
 * as it is (a type/subtype of letters, digits and + - . _), else
 * "application/octet-stream".
 */
const char *render_html_mime(const char *mime);
/*
 * A class name from the string s: only letters, digits and + - _ . #
 * are kept.
 */
void render_html_class(struct md_buf *out, const char *s);

/*
 * Text for XML (JUnit): made valid UTF-8 without control characters,
 * then & < > " as entities. Program output as a terminal leaves it (a
 * progress bar is its last state: render_text_clean); any other text
 * with every character shown (render_text_plain). s may be NULL (n 0).
 */
void render_xml_output(struct md_buf *out, const char *s, size_t n);
void render_xml_text(struct md_buf *out, const char *s, size_t n);

/*
 * The string s in a GitHub workflow command: % CR LF as %25 %0D %0A;
 * in a property (prop) also : and , as %3A %2C.
 */
void render_gh_escape(struct md_buf *out, const char *s, bool prop);

/*
 * A file name (the string s) as Markdown link text: cleaned as text (a
 * CR or backspace must not hide part of it), a line break shown as
 * U+2424 (the link stays on its line, in its region), and what could
 * start markup or an entity backslash-escaped.
 */
void render_md_link_text(struct md_buf *out, const char *s);

#endif
