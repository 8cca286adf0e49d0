/* The command line: one function per subcommand; only these print. */
#ifndef MD_CLI_H
#define MD_CLI_H

#include "../core/notebook.h"
#include "../../renderer/render.h"
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
int cmd_strip(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_kernels(int argc, char **argv);
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

/* What render writes. */
/* How to render one document: render's options, and check's. */
/* --color: escape codes (the live progress line, colours) or not. */
enum cli_color { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

struct cli_render_opts {
	const struct render_format *format;
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
	bool no_track;
	size_t write_max; /* --max-write, 0: the default */
	bool rebuild;		 /* every block */
	const char *rebuild_one; /* or the block of this name */
	bool quiet;		 /* failures only */
	bool verbose;		 /* -v: what the document asks that means
				    nothing here, too */
	bool per_block;		 /* a line per block when not on a terminal */
	bool tty;		 /* progress as one live line on stderr */
	enum cli_color color;
	bool watch; /* mdrun watch: timed status lines, HTML reloads */
};

/* Every document's counts, for the line that ends several. */
struct cli_totals {
	size_t docs, blocks, ran, cached, failed, errors;
};

/*
 * The files a render depended on (for watch), and the outputs it wrote
 * with the SHA-256 of what it wrote.
 */
struct cli_deps {
	char **paths;
	size_t n;
	struct cli_written {
		char *path;
		char hash[65]; /* MD_HASH_HEX */
	} *outs;
	size_t nouts;
};

/*
 * Renders and writes a's document, printing its summary line (with the
 * document's name when many), counting it in t, and adding what it
 * depended on to deps when not NULL: MD_EXIT_OK, _FAILED or an error.
 */
int cli_render_one(const struct cli_render_opts *a, struct cli_totals *t,
		   bool many, struct cli_deps *deps);
/*
 * mdrun watch: renders each of docs (n, with their options), then again
 * whenever a file one depended on changes, until a signal ends it.
 */
int cli_watch(const struct cli_render_opts *docs, size_t n, bool many,
	      size_t snapshots, size_t memory);
/* The defaults of --snapshots (stopped copies kept per python session)
 * and --snapshot-memory (what they may hold, bytes). */
#define CLI_WATCH_SNAPSHOTS 8
#define CLI_WATCH_SNAPSHOT_MEMORY ((size_t)1 << 30)
void cli_watch_usage(void);

/*
 * May escape codes go to fd? --color=always or never says; auto: when fd
 * is a terminal, NO_COLOR is unset or empty and TERM is not "dumb".
 */
bool cli_color(const struct cli_render_opts *a, int fd);

/* mdrun --help, which is also render's help. */
extern const char cli_usage[];
/* Prints all of mdrun --help. */
void cli_print_usage(void);

/* Options at their defaults. */
void cli_render_defaults(struct cli_render_opts *o);
/*
 * Reads an option render and check share at argv[*i] (--store, --config,
 * --timeout, --max-output, -j, --all, -q) into o: 1 when it was one, 0
 * when not, -1 after printing a usage error.
 */
int cli_render_option(struct cli_render_opts *o, int argc, char **argv,
		      int *i);
/*
 * Parses a --timeout, a size (opt: --max-output, --max-write) or a -j
 * value; 0 or a usage error.
 */
int cli_parse_timeout(double *out, const char *s);
int cli_parse_size(size_t *out, const char *s, const char *opt);
int cli_parse_jobs(int *out, const char *s);
/*
 * Where a document's artifacts are copied: FILE_files/ beside the output
 * (or beside the input, in dir0, when the output is standard output),
 * and the prefix its links use. Caller frees both.
 */
void cli_files_place(char **dir, char **href, const struct cli_render_opts *a,
		     const char *dir0);
/* The notebook options o asks for (callbacks unset). */
void cli_nb_opts(struct md_nb_opts *out, const struct cli_render_opts *o);

/*
 * Progress on stderr while a notebook realizes: on a terminal one live
 * line (done/total, cached, running blocks and their times, redrawn
 * every 250 ms); otherwise a line per block and, for a block running
 * long, a "still running" line every 30 s. Start it after md_nb_open:
 * it sets o's callbacks. cli_progress_end stops its ticker and points
 * o's callbacks away from p, which it frees.
 */
struct cli_progress;
struct cli_progress *cli_progress_start(const struct cli_render_opts *a,
					const struct md_notebook *nb,
					struct md_nb_opts *o);
void cli_progress_end(struct cli_progress *p, struct md_nb_opts *o);

/* Is name a document's (.md, .Rmd, .qmd, .markdown, in any case)? */
bool cli_is_document(const char *name);
/*
 * The documents args names: files as given ("-" too), the documents in
 * folders (recursively, sorted; hidden folders, FILE_files/ and what
 * .gitignore leaves out skipped) and in globs the shell did not expand.
 * Each once. *many: more than one argument, or a folder or a glob (so
 * outputs go beside each document). A missing file, an empty folder or a
 * glob matching nothing is an error. Caller frees *out (md_strv_free).
 */
int cli_docs_expand(char ***out, size_t *n, char *const *args, size_t nargs,
		    bool *many);

/* Reads "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. */
int cli_option_value(const char **out, int argc, char **argv, int *i,
		     const char *name);

#endif
