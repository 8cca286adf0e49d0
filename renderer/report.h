/*
 * Reports: the document and its blocks' results as an HTML page, as JSON
 * data, or as a Jupyter notebook. Like render_markdown, a report renderer
 * is a pure function of what the CLI hands it: it never runs anything,
 * never opens the store, and reads no file (artifacts come as bytes).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

#define REPORT_JSON_VERSION 1

/* An artifact a block wrote to MDRUN_OUT, with its bytes. Borrowed. */
struct report_file {
	const char *name; /* its path in MDRUN_OUT, e.g. "plot.png" */
	const char *mime; /* "image/png", "text/csv", ...; NULL: unknown */
	const char *data; /* its bytes (NULL when not loaded) */
	size_t len;
	const char *path; /* where it is, absolute (the store), for links */
};

/* One realization of a block. Borrowed. */
struct report_real {
	const char *rhash;
	const char *out; /* stdout, as the program wrote it (any bytes) */
	size_t out_len;
	const char *err;
	size_t err_len;
	int exit_code; /* when signal == 0 */
	int signal;
	bool timed_out;
	double start, end; /* seconds since the epoch */
	const struct report_file *files;
	size_t nfiles;
};

/* What became of one block of the document. Borrowed. */
struct report_block {
	const struct md_block *block; /* the document's block */
	/*
	 * NULL for a block that is not executed (plain code, eval=false);
	 * else "ok", "failed" (a non-zero exit or a signal), "timeout",
	 * "skipped" (it reads a block that failed), "not-run" (mdrun
	 * stopped before it).
	 */
	const char *status;
	const char *key; /* "" when it has none (not run) */
	bool cached;	 /* shown from the store: not run by this render */
	bool error_ok;	 /* error=true: a failure is its expected result */
	const char *interpreter; /* the interpreter's identity, or NULL */
	/* What it shows: one realization, or several (match=all). */
	const struct report_real *reals;
	size_t n;
	const char *note; /* why it did not run, or NULL */
};

enum {
	/* Let raw HTML through: output=asis Markdown and the document's. */
	REPORT_UNSAFE_HTML = 1
};

/* A document and what each of its blocks (doc->nblocks) shows. */
struct report {
	const struct md_doc *doc;
	const char *path; /* the document, as given ("<stdin>" for -) */
	const struct report_block *blocks;
	unsigned flags;
};

/*
 * One self-contained HTML page: cmark-gfm's HTML with the GFM extensions
 * (tables, strikethrough, task lists, autolinks), each executed block's
 * output after its code (HTML-escaped), images as data: URIs, stderr and
 * failures set apart, a built-in stylesheet (light and dark), <title>
 * from the first heading. No JavaScript.
 */
void render_html(struct md_buf *out, const struct report *r);

/*
 * {"version": REPORT_JSON_VERSION, "document": ..., "blocks": [...]}:
 * every executed block with its name, language, line, options, code, key,
 * rhash, status, exit code, cached flag, duration, stdout, stderr and
 * artifacts. The schema is in the README.
 */
void render_json(struct md_buf *out, const struct report *r);

/*
 * A Jupyter notebook (nbformat 4.5): Markdown cells for the prose, a code
 * cell per executable block with its outputs (stream, display_data with
 * image/png, error), the kernelspec from the language.
 */
void render_ipynb(struct md_buf *out, const struct report *r);

#endif
