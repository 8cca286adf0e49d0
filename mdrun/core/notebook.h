/*
 * The notebook: the pipeline, from a document's path to the view every
 * renderer takes. In order:
 *
 *   md_nb_open     read and parse the document (a watchdog ends a parse
 *                  that hangs), find its repository, config and store
 *                  (beside the parse, in a thread), lock the store,
 *                  plan and key its stages
 *   md_nb_realize  run what is not in the store on opts.jobs workers,
 *                  with the callbacks in opts; read every shown result;
 *                  start writing the document's root in the store
 *   md_nb_view     build nb->view: each block's typed status, its
 *                  outputs in order and its artifacts (copied beside the
 *                  output when opts.files_dir is set)
 *   md_nb_record   wait for the root, make the store durable
 *   md_nb_dispose  free it all (also after a failure, at any step)
 *
 * A function fails (negative, message set) on usage, configuration, I/O
 * and store errors. A block that fails is no error: it shows as failed.
 * Nothing here prints; the CLI does, through the callbacks.
 */
#ifndef MD_NOTEBOOK_H
#define MD_NOTEBOOK_H

#include <stdbool.h>

#include "exec.h"
#include "interp.h"
#include "plan.h"
#include "sched.h"
#include "../doc/doc.h"
#include "../../renderer/view.h"
#include "../../store/store.h"
#include "../../util/buf.h"

/* A document read, parsed, placed in its repository, with its config. */
struct md_nb_doc {
	const char *name; /* as given, for messages ("<stdin>" for -) */
	char *path;	  /* absolute, or NULL for standard input */
	char *dir;	  /* its folder, absolute */
	char *workdir;	  /* the git work tree holding it, or NULL */
	char *rel;	  /* dir relative to workdir (dir outside one) */
	char *shown;	  /* the path blocks see as MDRUN_DOC: from the
			     work tree's root, else the file name */
	char *config;	  /* the interpreter config in use, or NULL */
	struct md_buf src;	  /* the text read, until doc takes it */
	struct md_doc *doc;
	struct md_interps interps;
	struct md_plan plan;
};

/*
 * Reads and parses input ("-": standard input) and loads the interpreter
 * config: config when given, else mdrun.json beside the document, else
 * at the repository root. When s is not NULL, opens the store as
 * md_nb_store_open would (store_opt: --store) while the document parses,
 * reading ahead the runs of the keys its last render used; the caller
 * closes *s, set even on failure. Dispose d with md_nb_doc_dispose, also
 * after a failure.
 */
int md_nb_doc_load(struct md_nb_doc *d, struct store **s, const char *input,
		   unsigned flags, const char *config, const char *store_opt);
/* Plans d's stages, probing interpreters through the store's memo. */
int md_nb_doc_plan(struct md_nb_doc *d, struct store *s);
/* Plans d and keys every stage whose upstream is in the store. */
int md_nb_doc_keys(struct md_nb_doc *d, struct store *s);
void md_nb_doc_dispose(struct md_nb_doc *d);

/*
 * Opens the store: opt (--store), else $MDRUN_STORE, else .mdrun at the
 * root of the work tree holding dir, else .mdrun in dir.
 */
int md_nb_store_open(struct store **out, const char *opt, const char *dir);

/*
 * Notes a render keeps with its root: per stage, its interpreter's
 * identity, short hashes of its code, inputs, env and upstream results,
 * and whether its replay printed something else (shown, when not NULL).
 * JSON; caller frees.
 */
char *md_nb_notes(const struct md_nb_doc *d,
		  const struct md_outcome *const *shown);
/* Did the render that wrote notes see block name's replay differ? */
bool md_nb_notes_replay_differs(const char *notes, const char *name);
/*
 * What changed for st since the render that wrote notes, into out: "new
 * code", "interpreter changed: OLD -> NEW", "input file changed",
 * "environment changed", "upstream output changed" (only when st has a
 * key). Returns whether it said something.
 */
bool md_nb_stage_change(struct md_buf *out, const struct md_nb_doc *d,
			const struct md_stage *st, const char *notes);

/* How to realize and show one document. */
struct md_nb_opts {
	const char *input; /* "-": standard input */
	unsigned doc_flags; /* MD_DOC_* */
	const char *config, *store; /* --config, --store, or NULL */
	double timeout;
	size_t cap;
	int jobs;
	bool keep_going;
	bool no_track;		 /* record no files read (track.h) */
	size_t write_max;	 /* larger writes are not kept; 0: default */
	bool rebuild;		 /* every block */
	const char *rebuild_one; /* or the block of this name */
	bool prev_notes; /* keep the last render's notes (nb.prev_notes) */
	/*
	 * Where artifacts are copied (FILE_files/, content-addressed names)
	 * and the prefix of their links; NULL: not copied, no links.
	 * files_dry: copy nothing, list those not there (nb.missing).
	 */
	const char *files_dir, *files_href;
	bool files_dry;
	unsigned view_flags; /* MD_VIEW_* */
	/* Called from the workers with the scheduler's lock held. */
	void (*started)(size_t stage, void *ctx);
	void (*finished)(size_t stage, const struct md_outcome *oc,
			 void *ctx);
	/* Progress notes ("replaying ..."), and warnings; or NULL. */
	void (*note)(const char *msg, void *ctx);
	void (*warn)(const char *msg, void *ctx);
	void *ctx;
};

struct md_notebook {
	struct md_nb_doc d;
	struct store *store;
	/* After md_nb_realize, per stage of d.plan. */
	const struct md_outcome *const *shown; /* NULL when not run */
	const enum md_skip *why;	       /* why not, or MD_SKIP_NONE */
	size_t ran, replayed, cached, failed, not_run;
	struct md_buf prev_notes; /* opts.prev_notes: the last render's */
	/* After md_nb_view. */
	struct md_view view;
	char **missing; /* files_dry: copies that are not there */
	size_t nmissing;
	struct md_nb_state *state;
};

/* The first step; o is borrowed until md_nb_dispose. */
int md_nb_open(struct md_notebook *nb, const struct md_nb_opts *o);
int md_nb_realize(struct md_notebook *nb);
int md_nb_view(struct md_notebook *nb);
int md_nb_record(struct md_notebook *nb);
void md_nb_dispose(struct md_notebook *nb);

/*
 * "N blocks: N ran, [N replayed, ]N cached, N failed[, N not run]", from
 * what the document shows.
 */
void md_nb_summary(struct md_buf *out, const struct md_notebook *nb);

#endif
