/* The command line: one function per subcommand; only these print. */
#ifndef MD_CLI_H
#define MD_CLI_H

#include "doc.h"
#include "plan.h"
#include "../store/store.h"
#include "../util/buf.h"

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
	char *rel;	  /* dir relative to workdir ("." outside one) */
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
/* Plans d's stages, probing interpreters through the store's memo. */
int cli_doc_plan(struct cli_doc *d, struct store *s);
/* Plans d and keys every stage whose upstream is in the store. */
int cli_doc_keys(struct cli_doc *d, struct store *s);
void cli_doc_dispose(struct cli_doc *d);

/*
 * Notes a render keeps with its root: for each stage, short hashes of its
 * code, inputs, env and upstream results (JSON; caller frees).
 */
char *cli_stage_notes(const struct cli_doc *d);
/*
 * What changed for st since the render that wrote notes: "new code",
 * "input file changed", "environment changed", "upstream output changed",
 * or NULL (nothing, or no note of it).
 */
const char *cli_stage_change(const struct cli_doc *d,
			     const struct md_stage *st, const char *notes);

/*
 * Opens the store: opt (--store), else $MDRUN_STORE, else .mdrun at the
 * root of the work tree holding dir, else .mdrun in dir.
 */
int cli_store_open(struct store **out, const char *opt, const char *dir);

/* Reads "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. */
int cli_option_value(const char **out, int argc, char **argv, int *i,
		     const char *name);

#endif
