/*
 * Renderers: a parsed document plus the outputs the CLI resolved for its
 * blocks, turned into an output format. A renderer never runs anything and
 * never opens the store.
 */
#ifndef RENDER_H
#define RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "../mdrun/doc/doc.h"
#include "../util/buf.h"

/* A file a block wrote to MDRUN_OUT, copied next to the output. */
struct render_file {
	const char *name; /* its path in MDRUN_OUT */
	const char *href; /* where the output links it, relative */
	bool image;	  /* png, jpg, gif, svg: shown, not only linked */
};

/* One realization's outputs. Borrowed. */
struct render_output {
	const struct render_file *files;
	size_t nfiles;
	const char *out;
	size_t out_len;
	const char *err;
	size_t err_len;
	int exit_code;
	int signal;
	bool timed_out;
	const char *label; /* shown above it when a block shows several */
};

/* What one block shows. Borrowed. */
struct render_block {
	bool present; /* the block was realized: (re)write its region */
	const struct render_output *reals;
	size_t n;
	const char *note; /* a line shown instead, e.g. "*not run: ...*" */
};

enum {
	/*
	 * Keep the code of echo=false blocks: the output replaces its own
	 * source (in place), which must survive for the next render.
	 */
	RENDER_KEEP_CODE = 1
};

/*
 * The document's bytes, untouched, with an output region after every block
 * whose output is present (blocks has doc->nblocks entries), replacing the
 * region an earlier render left there. Blocks with echo=false are left out
 * unless flags has RENDER_KEEP_CODE; output=false shows nothing,
 * output=asis inserts stdout as Markdown. Rendering the result again with
 * the same outputs gives the same bytes. When spans is not NULL (doc->nblocks
 * entries), spans[i] is set to the bytes of out that block i's code and
 * region take, for every block whose region was written.
 */
void render_markdown(struct md_buf *out, const struct md_doc *doc,
		     const struct render_block *blocks, unsigned flags,
		     size_t (*spans)[2]);

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
 * rest of a longer line stays ("hello
hi" is "hillo", "abcd" "abd").
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
