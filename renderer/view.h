/*
 * The view: one realized document, as every renderer sees it. The core's
 * notebook builds it from the plan, the store and the scheduler; a
 * renderer turns it into one format and does nothing else: it never runs
 * anything, never opens the store, reads no file and parses no Markdown
 * or front matter of its own (the document model holds the front matter
 * span and the title). State stays typed here; each format turns it into
 * its own words, in one table.
 *
 * Everything in a view is borrowed from whoever built it.
 */
#ifndef RENDER_VIEW_H
#define RENDER_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "../mdrun/doc/doc.h"
#include "../util/exit.h"

/* What became of a block. */
enum md_status {
	MD_STATUS_NONE = 0, /* not executed: plain code, eval=false */
	MD_STATUS_OK,
	MD_STATUS_FAILED,  /* a non-zero exit or a signal */
	MD_STATUS_TIMEOUT, /* ended at its timeout */
	MD_STATUS_SKIPPED, /* a deps= block it reads failed or did not run */
	MD_STATUS_NOT_RUN  /* an earlier block failed, or mdrun stopped */
};

/* Why a stage shows no result (MD_STATUS_SKIPPED, MD_STATUS_NOT_RUN). */
enum md_skip {
	MD_SKIP_NONE = 0,
	MD_SKIP_FAILED,	  /* a block before it failed */
	MD_SKIP_UPSTREAM, /* a deps= block it reads failed or did not run */
	MD_SKIP_STOPPED,  /* mdrun stopped: an error, not a block's failure */
};

/* The status of a stage that did not run for reason why. */
enum md_status md_skip_status(enum md_skip why);

/* One output, in the order the block produced it. */
enum md_out_kind {
	MD_OUT_STREAM, /* bytes the program wrote to stdout or stderr */
	MD_OUT_RICH,   /* a value with one or more representations */
	MD_OUT_ERROR   /* an error the runner reported (a traceback) */
};

enum md_stream { MD_STDOUT = 1, MD_STDERR = 2 };

/* One representation of a rich value: a media type and its bytes. */
struct md_mime {
	const char *type; /* "text/plain", "image/png", ... */
	const char *data;
	size_t len;
};

struct md_out {
	enum md_out_kind kind;
	enum md_stream stream; /* MD_OUT_STREAM */
	/* MD_OUT_STREAM: the bytes (any bytes); MD_OUT_ERROR: the text. */
	const char *text;
	size_t len;
	/* MD_OUT_RICH: its representations, most preferred first. */
	const struct md_mime *bundle;
	size_t nbundle;
	bool result; /* the block's value (Jupyter's execute_result) */
};

/*
 * Is type a binary media type (its bytes are not text: base64 in JSON)?
 * Text is text/..., application/json and the +json and +xml types
 * (image/svg+xml), application/javascript. The core reads bundles by it.
 */
bool render_mime_binary(const char *type);

/* Is type JSON (application/json, ...+json)? */
bool render_mime_json(const char *type);

/* A file the block wrote to MDRUN_OUT, with its bytes. */
struct md_file {
	const char *name; /* its path in MDRUN_OUT, e.g. "plot.png" */
	const char *mime; /* "image/png", "text/csv", ...; NULL: unknown */
	const char *data; /* its bytes (NULL when not loaded) */
	size_t len;
	const char *href; /* a relative link to its copy (FILE_files/...) */
	const char *path; /* where it is, absolute (the store), or NULL */
};

/* One realization a block shows. */
struct md_view_real {
	const char *rhash;
	struct md_exit exit;
	double start, end; /* seconds since the epoch */
	const struct md_out *outs;
	size_t nouts;
	const struct md_file *files;
	size_t nfiles;
	/* The files its run read and wrote, as lines of mdrun/core/track.h:
	 * "SHA256 PATH" (written: "! SHA256 PATH" too, "- PATH"). */
	const char *reads, *writes;
	size_t reads_len, writes_len;
};

/* What one block of the document shows. */
struct md_view_block {
	const struct md_block *block;
	enum md_status status; /* MD_STATUS_NONE: not executed */
	enum md_skip skip;     /* why it did not run */
	const char *key;       /* "" when it has none */
	bool cached;	       /* shown from the store: not run now */
	const char *interpreter; /* its identity, or NULL */
	/* What it shows: one realization, or several (match=all). */
	const struct md_view_real *reals;
	size_t nreals;
};

enum {
	/* Markdown: keep the code of echo=false blocks (-i: see markdown.c) */
	MD_VIEW_KEEP_CODE = 1,
	/* HTML: let raw HTML through (output=asis and the document's) */
	MD_VIEW_UNSAFE_HTML = 2
};

struct md_view {
	const struct md_doc *doc;
	const char *path; /* the document, as given ("<stdin>" for -) */
	const struct md_view_block *blocks; /* doc->nblocks entries */
	unsigned flags;				/* MD_VIEW_* */
	/*
	 * Out, optional (doc->nblocks entries): the Markdown renderer sets
	 * spans[i] to the bytes its output gives block i's code and region.
	 */
	size_t (*spans)[2];
};

/*
 * check: what was found about one document, for its reports (JUnit XML,
 * GitHub annotations).
 */
enum md_verdict {
	MD_VERDICT_OK = 0,
	MD_VERDICT_FAILED,  /* the block failed */
	MD_VERDICT_STALE,   /* its output on disk is not what it renders to */
	MD_VERDICT_NONDET,  /* --repeat: a second run printed something else */
	MD_VERDICT_ERROR    /* the document could not be checked */
};

struct md_check_block {
	enum md_verdict verdict;
	const char *message; /* one line, e.g. "block x: output is not current" */
	const char *detail;  /* the diff lines or more, or NULL */
	size_t detail_len;
};

struct md_check_doc {
	const char *input;    /* the document, as given */
	const char *file;     /* its path from the repository root */
	const char *out_file; /* the output's (file when it is its own) */
	/* NULL when the document could not be rendered (error says why). */
	const struct md_view *view;
	const struct md_check_block *blocks; /* view->doc->nblocks entries */
	const char *error;
	/* The document's text outside its blocks differs, or a linked file
	 * is missing: what, and the line; NULL when not. */
	const char *prose;
	int prose_line;
	const char *patch; /* the unified diff of the document, or NULL */
	size_t patch_len;
};

#endif
