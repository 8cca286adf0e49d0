/*
 * HTML a program produced (a rich value's text/html), made safe to put in
 * a page: an allowlist sanitizer (renderer/sanitize.c). Internal to
 * renderer/.
 */
#ifndef RENDER_SANITIZE_H
#define RENDER_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"

/*
 * Appends the HTML at html (len bytes, any bytes: NULs and invalid UTF-8
 * are cleaned as render_text_plain cleans text) to out, keeping only
 *
 *   elements  table thead tbody tfoot tr th td caption colgroup col div
 *             span p br hr b i em strong code pre sub sup ul ol li dl dt
 *             dd h1-h6 blockquote a img;
 *   attributes class colspan rowspan align valign border title alt width
 *             height; href on a, only http:, https: or relative; src on
 *             img, only http:, https:, relative or a base64 data: URI of
 *             image/png, image/jpeg or image/gif (an img without one is
 *             dropped).
 *
 * Other elements lose their tags and keep their content, except script,
 * style, iframe, object, embed, template, noscript, textarea, title,
 * xmp, noembed, noframes, svg and math, whose content goes too.
 * Comments, processing instructions and doctypes are dropped. Text and
 * attribute values are escaped again (character references kept), and
 * every element is closed in order, also those the input left open or
 * that HTML closes implicitly (a <td> closes the cell before it, a block
 * the open <p>), so out receives well-formed markup of those elements
 * only: tags balance, no "<" starts anything else and no attribute
 * comes from outside the list. Nesting deeper than 256 elements keeps
 * the text only. Time and memory are linear in len.
 */
void render_html_sanitize(struct md_buf *out, const char *html, size_t len);

/*
 * Does the sanitized HTML s (n bytes, from render_html_sanitize) show
 * anything: text other than blanks, an image or a rule? Empty cells and
 * paragraphs, or what is left of a page of scripts, do not.
 */
bool render_html_shows(const char *s, size_t n);

#endif
