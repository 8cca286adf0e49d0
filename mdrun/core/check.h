/*
 * check: render a document as render would, write nothing, and compare
 * with what is on disk. The engine finds, per block, whether it failed,
 * whether its output on disk is stale (each changed line of the diff is
 * attributed to the block whose code or output region holds it), and
 * with repeat, whether running it again printed something else. The CLI
 * prints what it found; the JUnit and annotation renderers take
 * md_check.report.
 */
#ifndef MD_CHECK_H
#define MD_CHECK_H

#include <stdbool.h>

#include "notebook.h"

struct md_check {
	const struct md_nb_opts *o;
	struct md_notebook nb;
	struct md_buf text; /* what the document renders to */
	struct md_buf expected; /* what is on disk */
	struct md_buf patch; /* the unified diff, from disk to text */
	/* Per block of the document (doc->nblocks); message and detail
	 * point into the buffers below. */
	struct md_check_block *blocks;
	struct md_buf *messages, *details;
	struct md_buf prose; /* a difference outside blocks, or missing file */
	int prose_line;
	size_t bad; /* blocks and prose not OK */
	bool stale; /* the text or its files differ from what is on disk */
	char *file, *out_file; /* from the repository root, for annotations */
	struct md_check_doc report;
	char error[1024]; /* why it could not be checked */
};

/*
 * Opens o->input as md_nb_open does (o borrowed until md_check_dispose),
 * then checks it against output (NULL: the document itself). o should
 * have files_dry set, and files_dir by the time md_check_run starts;
 * with repeat, also rebuild and prev_notes. Both fail (message set) on
 * usage, configuration, I/O and store errors, with c->report saying so.
 * Dispose c with md_check_dispose, also after a failure.
 */
int md_check_open(struct md_check *c, const struct md_nb_opts *o);
int md_check_run(struct md_check *c, const char *output, bool repeat);
void md_check_dispose(struct md_check *c);

/*
 * Whether the document input (flags: MD_DOC_*, config: --config) is
 * touched by the n changed files (absolute paths): it, its output (or
 * NULL), its config or a file one of its blocks names in inputs=. A
 * document that cannot be read counts as touched, so that its check
 * says what is wrong.
 */
bool md_check_touched(const char *input, const char *output, unsigned flags,
		      const char *config, char **changed, size_t n);

#endif
