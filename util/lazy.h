/*
 * Libraries opened with dlopen(3) when first needed (lazy_git.h,
 * lazy_zmq.h), so that the dynamic loader does not map them, and what
 * they need, at every start of mdrun.
 */
#ifndef MD_LAZY_H
#define MD_LAZY_H

#include <stdbool.h>
#include <stddef.h>

/* Opens soname; NULL with dlerror's words in why when it cannot. */
void *md_lazy_open(const char *soname, char *why, size_t why_size);
/*
 * Sets the function pointer at fn to h's symbol name; false, saying so
 * in why, when h has none.
 */
bool md_lazy_sym(void *h, const char *name, void *fn, char *why,
		 size_t why_size);

#endif
