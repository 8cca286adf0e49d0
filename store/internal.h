/* What the store's files share with each other. Not for other modules. */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <pthread.h>
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
	struct store_cache *cache; /* run listings read ahead, or NULL */
	/*
	 * This process's name in tmp/ (PID-oHEX), made with its lock file
	 * tmp/OWNER.lock when the first tmp/ folder is; NULL before. The
	 * lock is held by owner_fd until store_close.
	 */
	char *owner;
	int owner_fd;
	pthread_mutex_t owner_mu;
};

/* The largest meta.json, drv.json, root record or memo read. */
#define STORE_RECORD_MAX ((size_t)64 << 20)
/*
 * The longest path under out/ a commit takes (bytes): deeper trees would
 * not fit in PATH_MAX once under the store's root.
 */
#define STORE_OUT_PATH_MAX 2048

/* Forgets what was read ahead of key's runs: they are about to change. */
void store_forget(struct store *s, const char *key);

/* The name of r's run record in runs/ (without the folder), into out. */
void store_run_name(struct md_buf *out, const struct store_run *r);
/* Parses a run record's name into r; false when it is not one. */
bool store_parse_run(struct store_run *r, const char *name);

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
/*
 * Appends a realization's stdout or stderr at path to out: a regular file
 * (md_fs_read_regular) of exactly size bytes when sized (meta.json gives
 * its size). MD_ENOTFOUND when there is no file.
 */
int store_read_output(struct md_buf *out, const char *path, bool sized,
		      size_t size);
/*
 * Publishes real, a complete realization folder built in tmp/, as rhash
 * of key, and records a run of it at ns nanoseconds (0: now). A new key
 * gets drv (drv.json's text) and is published whole; a known key gets the
 * realization renamed into place, unless an equal one is there already.
 * real is consumed (moved or removed); NULL records a run of the equal
 * realization in place. The caller holds key's lock.
 */
int store_publish(struct store *s, const char *key, const char *drv,
		  const char *rhash, const char *real, bool failed,
		  size_t cut, long long ns);
/*
 * Recomputes the rhash of the realization folder dir; *why says what is
 * wrong (caller frees), NULL when it matches rhash.
 */
void store_verify_real(char **why, const char *dir, const char *rhash);

#endif
