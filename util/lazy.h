/*
 * Libraries opened with dlopen(3) when first needed (lazy_git.h,
 * lazy_zmq.h), so that the dynamic loader does not map them, and what
 * they need, at every start of mdrun.
 */
#ifndef MD_LAZY_H
#define MD_LAZY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Opens soname, else the file at path (where the build found it: a
 * prefix the loader does not search), NULL with dlerror's words in why
 * when neither opens.
 */
void *md_lazy_open(const char *soname, const char *path, char *why,
		   size_t why_size);
/*
 * Sets the function pointer at fn to h's symbol name; false, saying so
 * in why, when h has none.
 */
bool md_lazy_sym(void *h, const char *name, void *fn, char *why,
		 size_t why_size);

#endif
