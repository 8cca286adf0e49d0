/*
 * Interpreters: which languages run, with what command, and the identity
 * (name and version) that enters a stage's key.
 */
#ifndef MD_INTERP_H
#define MD_INTERP_H

#include "../store/store.h"

struct md_interp {
	const char *lang;    /* canonical language name, as hashed */
	const char *command; /* the program, looked up in PATH */
	const char *flag;    /* its "run this code" flag */
	const char *arg0;    /* $0 after the code, or NULL */
};

/* The interpreter of a language (as written in a block), or NULL. */
const struct md_interp *md_interp_find(const char *lang);

/*
 * The interpreter's identity: the first line of `COMMAND --version`, or the
 * binary's file name when it has no --version. Probed once per binary
 * (path, size, mtime) and memoized in the store, so a warm render starts no
 * process. MD_ENOTFOUND when the command is not installed.
 * Caller frees *out.
 */
int md_interp_identity(char **out, struct store *s, const struct md_interp *in);

#endif
