/*
 * What the renderers share about a view (renderer/view.c): the reports'
 * words for a status, walking a realization's outputs as they are shown,
 * its streams whole, the file that holds a rich image, MIME types.
 * Internal to renderer/.
 */
#ifndef RENDER_INTERNAL_H
#define RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

/*
 * A block's status in the words of the reports (HTML, JSON, notebook):
 * "ok", "failed", "timeout", "skipped", "not-run"; "" for
 * MD_STATUS_NONE. The HTML page's class for it is status-WORD.
 */
const char *render_status_word(enum md_status s);
/*
 * Why a block did not run, in the same reports' words ("not run:
 * upstream failed"); NULL when it is not skipped or not run.
 */
const char *render_note(const struct md_view_block *vb);

/*
 * How a failed run ended, in every format's words: "exit status 3",
 * "killed by signal 9", "timed out", "interrupted". Appended to out.
 */
void render_exit_words(struct md_buf *out, const struct md_exit *e);

/*
 * The next output of r to show, from *i on, or NULL when there is none;
 * *i moves past it. Stream chunks of length 0 are absent; consecutive
 * chunks of one stream (absent ones between them ignored) are one
 * output, whose bytes are put in text (emptied first). For another kind
 * text is left alone. Start with *i = 0.
 */
const struct md_out *render_out_next(const struct md_view_real *r, size_t *i,
				     struct md_buf *text);

/*
 * knitr's comment=: each line of text (an output's) starts with comment
 * and a blank ("## [1] 2"). Nothing when comment is NULL.
 */
void render_comment(struct md_buf *text, const char *comment);

/*
 * An inline expression's value as one line of text: its stdout, cleaned,
 * line ends as blanks, the last ones dropped. False, with the words to
 * show instead in text ("not run", "failed: exit status 1"), when it has
 * no value.
 */
bool render_inline_value(struct md_buf *text, const struct md_view_block *vb);

/* Appends every chunk of stream s of r, in order. */
void render_stream(struct md_buf *out, const struct md_view_real *r,
		   enum md_stream s);

/*
 * The realization's file that holds rich representation m: an md_file
 * with the same MIME type and the same bytes; NULL when none does.
 */
const struct md_file *render_rich_file(const struct md_view_real *r,
				       const struct md_mime *m);

/* Is f the file of one of r's rich images (shown in its place)? */
bool render_file_is_rich(const struct md_view_real *r,
			 const struct md_file *f);

/* An image type every browser and Jupyter shows: png, jpeg, gif, svg. */
bool render_mime_image(const char *type);

/* The representation of o of type, or NULL. */
const struct md_mime *render_mime_find(const struct md_out *o,
				       const char *type);

#endif
