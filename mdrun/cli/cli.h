/* The command line: one function per subcommand; only these print. */
#ifndef MD_CLI_H
#define MD_CLI_H

#include "../doc/doc.h"
#include "../core/exec.h"
#include "../core/sched.h"
#include "../core/plan.h"
#include "../../store/store.h"
#include "../../util/buf.h"

/* Exit codes. */
enum {
	MD_EXIT_OK = 0,
	MD_EXIT_FAILED = 1, /* a block failed, or a check found differences */
	MD_EXIT_USAGE = 2   /* usage, configuration or I/O error */
};

/* argv[0] is the subcommand's name. Each returns the exit code. */
int cmd_render(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_check(int argc, char **argv);
/* argv[0] is "push" or "pull". */
int cmd_remote(int argc, char **argv);

/*
 * The noun for a count: one when n is 1, else many. Borrowed (one or
 * many). printf("%zu %s", n, cli_plural(n, "block", "blocks")).
 */
const char *cli_plural(size_t n, const char *one, const char *many);

/* Prints "mdrun: MSG" and a hint to stderr; returns MD_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "mdrun: MSG" to stderr; returns MD_EXIT_USAGE. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A document, read, parsed, placed in its repository and planned. */
struct cli_doc {
	const char *name; /* as given, for messages ("<stdin>" for -) */
	char *path;	  /* absolute, or NULL for standard input */
	char *dir;	  /* its folder, absolute */
	char *workdir;	  /* the git work tree holding it, or NULL */
	char *rel;	  /* dir relative to workdir (dir outside one) */
	char *shown;	  /* the path blocks see as MDRUN_DOC: from the
			     work tree's root, else the file name */
	char *config;	  /* the interpreter config in use, or NULL */
	struct md_buf src;
	struct md_doc *doc;
	struct md_interps interps;
	struct md_plan plan;
};

/*
 * Reads and parses input ("-": standard input) and loads the interpreter
 * config: config when given, else mdrun.json beside the document, else
 * mdrun.json at the repository root, when one exists. Messages are set.
 */
int cli_doc_load(struct cli_doc *d, const char *input, unsigned flags,
		 const char *config);
/*
 * cli_doc_load, and opens its store as cli_store_open would (store_opt:
 * --store) while the document parses, reading ahead the runs of the keys
 * its last render used. The caller closes *s, set even on failure.
 */
int cli_doc_open(struct cli_doc *d, struct store **s, const char *input,
		 unsigned flags, const char *config, const char *store_opt);
/* Plans d's stages, probing interpreters through the store's memo. */
int cli_doc_plan(struct cli_doc *d, struct store *s);
/* Plans d and keys every stage whose upstream is in the store. */
int cli_doc_keys(struct cli_doc *d, struct store *s);
void cli_doc_dispose(struct cli_doc *d);

/*
 * Notes a render keeps with its root: for each stage, its interpreter's
 * identity, short hashes of its code, inputs, env and upstream results,
 * and whether its replay printed something else (shown, when not NULL:
 * per stage, what the render shows). JSON; caller frees.
 */
char *cli_stage_notes(const struct cli_doc *d,
		      const struct md_outcome *const *shown);
/*
 * Did the render that wrote notes find that block name printed something
 * else when replayed (its "replay_differs")?
 */
bool cli_notes_replay_differs(const char *notes, const char *name);
/*
 * What changed for st since the render that wrote notes, into out: "new
 * code", "interpreter changed: OLD -> NEW", "input file changed",
 * "environment changed", "upstream output changed" (only when st has a
 * key); nothing when nothing did, or there is no note of st. Returns
 * whether it said something.
 */
bool cli_stage_change(struct md_buf *out, const struct cli_doc *d,
		      const struct md_stage *st, const char *notes);

/* What render writes. */
enum cli_format { CLI_MARKDOWN, CLI_HTML, CLI_JSON, CLI_IPYNB };

/* How to render one document: render's options, and check's. */
struct cli_render_opts {
	enum cli_format format;
	bool unsafe_html; /* let raw HTML through in an HTML report */
	const char *input;  /* "-": standard input */
	const char *output; /* the file written, or NULL: standard output */
	bool in_place;
	bool all;
	const char *store;
	const char *config;
	double timeout;
	size_t cap;
	int jobs;
	bool keep_going;
	bool rebuild;		 /* every block */
	const char *rebuild_one; /* or the block of this name */
	bool quiet;		 /* failures only */
	bool per_block;		 /* a line per block when not on a terminal */
	bool tty;		 /* progress as one live line on stderr */
	/* Only see whether FILE_files/ holds the files, writing nothing. */
	bool files_dry;
	/* Keep the notes of the document's last render (prev_notes). */
	bool prev_notes;
};

/*
 * A document rendered, not yet written: what render writes and check
 * compares. Per stage of d.plan: what it shows (NULL when not run) or
 * why it did not run, and the bytes of text its code and output take.
 */
struct cli_render {
	struct cli_doc d;
	struct store *store;
	struct md_buf text;
	const struct md_outcome **shown;
	const char **skipped;
	const enum md_skip *why;
	size_t (*spans)[2];
	char **missing; /* files text links that are not there (files_dry) */
	size_t nmissing;
	size_t ran, replayed, cached, failed, not_run;
	struct md_buf prev_notes; /* when asked: the last render's notes */
	struct cli_render_state *state;
};

/*
 * Loads, plans and realizes o->input, and renders it into r->text; writes
 * the document's root in the store but not the document. Fails (message
 * set) on usage, configuration and store errors; a failed block is no
 * error (r->failed counts them). Dispose r with cli_render_dispose, also
 * after a failure.
 */
/* mdrun --help, which is also render's help. */
extern const char cli_usage[];

int cli_render_run(struct cli_render *r, const struct cli_render_opts *o);
/*
 * "N blocks: N ran, [N replayed, ]N cached, N failed[, N not run]", from
 * what the document shows.
 */
void cli_render_summary(struct md_buf *out, const struct cli_render *r);
void cli_render_dispose(struct cli_render *r);
/* Options at their defaults. */
void cli_render_defaults(struct cli_render_opts *o);
/*
 * Reads an option render and check share at argv[*i] (--store, --config,
 * --timeout, --max-output, -j, --all, -q) into o: 1 when it was one, 0
 * when not, -1 after printing a usage error.
 */
int cli_render_option(struct cli_render_opts *o, int argc, char **argv,
		      int *i);
/* Parses a --timeout, --max-output or -j value; 0 or a usage error. */
int cli_parse_timeout(double *out, const char *s);
int cli_parse_size(size_t *out, const char *s);
int cli_parse_jobs(int *out, const char *s);
/* "exit N", "timed out" or "killed by signal N". */
void cli_describe_failure(struct md_buf *out, const struct store_real *r);

/*
 * Opens the store: opt (--store), else $MDRUN_STORE, else .mdrun at the
 * root of the work tree holding dir, else .mdrun in dir.
 */
int cli_store_open(struct store **out, const char *opt, const char *dir);

/* Reads "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. */
int cli_option_value(const char **out, int argc, char **argv, int *i,
		     const char *name);

#endif
