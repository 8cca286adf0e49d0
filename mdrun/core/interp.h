/*
 * Interpreters: which languages run, with what command, through which
 * session driver, and the identity (name and version) that enters a
 * stage's key. Built in: sh, bash, python, and r through the Jupyter
 * kernel ir (IRkernel). A JSON config adds or overrides languages:
 *
 *   { "languages": {
 *       "perl":   { "command": "perl {file}", "extension": ".pl" },
 *       "node":   { "command": "node {file}", "extension": ".js" },
 *       "python": { "command": "python3.11", "driver": "python" },
 *       "julia":  { "kernel": "julia-1.9" } } }
 *
 * "command" is split at spaces; {file} is the block's code in a file
 * ending in "extension", {code} the code itself. With "driver" (python,
 * bash or sh) the command is an interpreter that runs that built-in
 * driver, and blocks share sessions; without one each block is its own
 * process. "kernel" names a Jupyter kernelspec instead (mdrun/core/
 * kernel.h): blocks run in that kernel, a session per kernel, and no
 * "command" is needed. "session": false makes session=none the
 * language's default.
 *
 * A top-level "remote" (a string) names where `mdrun push` and `mdrun
 * pull` go when given no REMOTE: a remote's name, a path (relative to the
 * config's folder) or a URL.
 */
#ifndef MD_INTERP_H
#define MD_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "../../store/store.h"

enum md_driver { MD_DRIVER_NONE, MD_DRIVER_PYTHON, MD_DRIVER_BASH, MD_DRIVER_SH };

struct md_interp {
	char *lang;	  /* canonical name, as hashed */
	char **argv;	  /* the command, split; may hold {file} / {code} */
	char *extension;  /* of the {file} */
	enum md_driver driver;
	char *kernel;	  /* the Jupyter kernelspec it runs in, or NULL */
	bool session;	  /* blocks share a session unless session=none */
	char *identity;	  /* probed by md_interp_identity; NULL before */
	int probed;	  /* 0 not yet, 1 found, MD_ENOTFOUND missing */
};

struct md_interps {
	struct md_interp *v;
	size_t n;
	char *remote; /* the config's "remote" (mdrun push/pull), or NULL */
	bool no_track; /* "track": false: record no files read (track.h) */
};

/*
 * The built-in table plus the config at path (NULL: none). Errors name
 * path:line:col. Dispose with md_interps_dispose, also after a failure.
 */
int md_interps_load(struct md_interps *out, const char *path);
void md_interps_dispose(struct md_interps *t);

/* The interpreter of a language as written in a block, or NULL. */
const struct md_interp *md_interp_find(const struct md_interps *t,
				       const char *lang);
/*
 * The interpreter of a language as written in a block, run in the Jupyter
 * kernel named kernel (a block's kernel= option), added to t when it is
 * not there: add every one before taking pointers into t.
 */
struct md_interp *md_interp_kernel(struct md_interps *t, const char *lang,
				   const char *kernel);

/*
 * The interpreter's identity: the first line of `COMMAND --version`, or the
 * binary's file name when it has no --version. Probed once per binary
 * (path, size, mtime) and memoized in the store, so a warm render starts no
 * process. For a kernel: "kernel NAME: " and that of the kernelspec's
 * command. MD_ENOTFOUND when the command (or the kernelspec) is not
 * installed.
 * Borrowed from in; valid until md_interps_dispose.
 */
int md_interp_identity(const char **out, struct store *s,
		       struct md_interp *in);

/* The built-in driver program of a driver, for `COMMAND -c DRIVER`. */
const char *md_driver_source(enum md_driver d);
/*
 * For a block of its own (session=none), the program that runs it as
 * `COMMAND -c PROGRAM CODE LINE`, numbering its lines from LINE, the
 * document line of its first; NULL when `COMMAND -c CODE` will do.
 */
const char *md_driver_one(enum md_driver d);
/*
 * The -c program for a python driver (source: md_driver_source or
 * md_driver_one) kept in folder dir: a short one that loads the driver's
 * code as python compiled it the last time (see drivers.c), where the
 * source itself would be compiled at every start. The source when the
 * driver cannot be kept there (a folder that is not writable). Caller
 * frees.
 */
char *md_driver_program(const char *source, const char *dir);
/* Whether mdrun writes a block's padding (LINE-1 empty lines) for d. */
bool md_driver_pads(enum md_driver d);
/* The control fds the driver reads requests on and answers on. */
void md_driver_fds(enum md_driver d, int *in, int *out);

#endif
