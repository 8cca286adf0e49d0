/*
 * Renderers: one view (view.h) turned into one format. Every format has
 * the same face, render_FORMAT(out, view): it appends the whole output to
 * out, cannot fail, never runs anything, never opens the store and reads
 * no file. The check reports (JUnit XML, GitHub annotations) take what
 * check found (struct md_check_doc) instead.
 */
#ifndef RENDER_H
#define RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "view.h"
#include "../util/buf.h"

/*
 * Markdown: the document's bytes, untouched, with an output region after
 * every executed block (status other than MD_STATUS_NONE), replacing the
 * region an earlier render left there:
 *
 *   <!-- mdrun:out -->
 *   ```output
 *   stdout, cleaned (see render_text_clean)
 *   ```
 *   ```stderr
 *   stderr
 *   ```
 *   *exit status 3*
 *   ![plot.png](doc_files/1a2b3c4d5e6f.png)
 *   [table.csv](doc_files/6f5e4d3c2b1a.csv)
 *   <!-- /mdrun:out -->
 *
 * Each realization's outputs come in their order (consecutive chunks of
 * one stream merged, empty ones absent), then its failure line, then its
 * files: a file whose MIME type is image/... is shown, others linked,
 * through their href (the alt text fig-alt or fig-cap, the caption a line
 * under it). A rich value shows, in Markdown's own preference rather
 * than the bundle's order: text/markdown inserted as it is, an image
 * through the md_file that holds the same bytes (render_rich_file;
 * without one the image is skipped), text/latex as a $$ block,
 * text/html sanitized (render_html_sanitize) in a <div>, text/plain
 * fenced. An error output is fenced
 * "error". A block that shows several realizations labels each one. A
 * skipped or not-run block shows its note ("*not run: upstream
 * failed*") instead. Blocks with echo=false are left out unless v->flags
 * has MD_VIEW_KEEP_CODE; output=false shows nothing but a note,
 * output=asis inserts stdout as Markdown. Every line carries the block's
 * container prefix and the document's line ending; a block with nothing
 * to show gets no region. Rendering the result again with the same view
 * gives the same bytes. When v->spans is not NULL (doc->nblocks
 * entries), spans[i] is set to the bytes of out that block i's code and
 * region take, for every block whose region was written.
 */
void render_markdown(struct md_buf *out, const struct md_view *v);

/*
 * One self-contained HTML page: cmark-gfm's HTML with the GFM extensions
 * (tables, strikethrough, task lists, autolinks), the front matter left
 * out, each executed block's outputs after its code (escaped, ANSI
 * colours as classes), rich values as the richest type shown safely
 * (images as data: URIs with fig-cap captions, text/html sanitized, as
 * it is only with MD_VIEW_UNSAFE_HTML; SVG only as an image), artifacts
 * embedded, stderr and failures set apart, a built-in stylesheet (light and dark),
 * <title> from doc->title, else the file name. No JavaScript, and a
 * Content-Security-Policy forbidding it, unless MD_VIEW_UNSAFE_HTML.
 */
void render_html(struct md_buf *out, const struct md_view *v);

#define RENDER_JSON_VERSION 1

/*
 * {"version": RENDER_JSON_VERSION, "document": ..., "blocks": [...]}:
 * every executed block with its name, language, line, options, code,
 * key, status, cached flag, rhash, exit code, duration, stdout, stderr,
 * artifacts and its ordered outputs. The schema is in json.c and the
 * README.
 */
void render_json(struct md_buf *out, const struct md_view *v);

/*
 * A Jupyter notebook (nbformat 4.5): the front matter as a raw cell,
 * Markdown cells for the prose, a code cell per executed block with its
 * outputs (stream, display_data, execute_result, error), the kernelspec
 * from the language.
 */
void render_ipynb(struct md_buf *out, const struct md_view *v);

/* An output format: its name, its file extension (no dot), its renderer. */
struct render_format {
	const char *name;
	const char *ext;
	void (*render)(struct md_buf *out, const struct md_view *v);
};

/* markdown, html, json, ipynb; ends with an entry whose name is NULL. */
extern const struct render_format render_formats[];

/*
 * The format called name ("markdown" or "md", "html", "json", "ipynb"),
 * or NULL.
 */
const struct render_format *render_format_named(const char *name);
/*
 * The format a file name's extension says, in any case (.md, .html or
 * .htm, .json, .ipynb), or NULL.
 */
const struct render_format *render_format_for_path(const char *path);

/*
 * A JUnit XML report of n checked documents that took secs seconds:
 * a <testsuite> per document and in it a <testcase> per executed block
 * (name, classname and file d->file, line, time: what the block's last
 * realization took when it ran now, 0 when cached), with <skipped> for a
 * block not run, <failure type="failed|stale|non-deterministic"> for a
 * verdict (its detail, else the realization's stderr), system-out and
 * system-err from the last realization; a "(document)" testcase of type
 * stale when the prose differs (its patch as the text). A document that
 * could not be rendered (view NULL) is a suite with one "(document)"
 * testcase holding an <error>.
 */
void render_junit(struct md_buf *out, const struct md_check_doc *docs,
		  size_t n, double secs);

/*
 * GitHub workflow commands for one checked document, a line each:
 * "::error file=F,line=N,title=mdrun check::MESSAGE" for every block
 * whose verdict is not OK (d->file, the block's line), for the prose
 * (d->out_file, d->prose_line) and for a document that could not be
 * rendered (d->input, line 1).
 */
void render_annotations(struct md_buf *out, const struct md_check_doc *d);

/*
 * Program output made safe to show as text, appended to out: valid UTF-8,
 * LF line endings, ANSI escape sequences removed, other control characters
 * (NUL included) shown as their Unicode "control picture" (U+2400 + c), C1
 * controls (U+0080..U+009F) and invalid bytes as U+FFFD. Tabs and newlines
 * stay; CRLF is a line end.
 *
 * Each line ends as a terminal would show it, one UTF-8 character a cell:
 * a lone CR moves back to column 0 and a backspace one cell left (not past
 * column 0), erasing nothing: what follows overwrites cell by cell and the
 * rest of a longer line stays ("hello\rhi" is "hillo", "abc\bd" "abd").
 * Erase in line, ESC [ K or [0K (cursor to end), [1K (start to cursor) and
 * [2K (all), blanks those cells; the cursor does not move. A line a CR,
 * backspace or erase acted on loses its trailing blanks (the padding a
 * progress bar writes over a longer state); other lines keep theirs. A CR
 * at the end of the output keeps the line. Other cursor movements are
 * dropped with the other sequences. Time and memory are linear in n.
 */
void render_text_clean(struct md_buf *out, const char *s, size_t n);
/*
 * Text that is not a terminal's output (code, file names, titles): cleaned
 * as render_text_clean does, except that a lone CR ends a line, a backspace
 * is shown as its control picture and an erase is dropped, so no character
 * hides another.
 */
void render_text_plain(struct md_buf *out, const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
size_t render_utf8_len(const unsigned char *s, size_t n);

#endif
