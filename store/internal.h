/* What store.c shares with inspect.c and gc.c. Not for other modules. */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "store.h"

struct store {
	char *root;
	char *objs;   /* ROOT/store */
	char *tmp;    /* ROOT/tmp */
	char *locks;  /* ROOT/locks */
	char *roots;  /* ROOT/roots */
	char *interp; /* ROOT/interp */
	_Atomic unsigned serial; /* threads make tmp/ folders too */
};

/* 64 lowercase hex digits and nothing else. */
bool store_is_hash(const char *s);
/* A fresh, empty folder under tmp/, named after this process. */
char *store_tmp_dir(struct store *s);
/*
 * Removes path (a realization or key folder) as a whole: renamed into tmp/
 * first, so a kill leaves it either in place or in tmp/, then deleted.
 */
int store_remove_tree(struct store *s, const char *path);
/* Reads the exit status fields of dir/meta.json into r. */
int store_read_meta(struct store_real *r, const char *dir);

#endif
