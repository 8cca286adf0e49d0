/* What the store's files share with each other. Not for other modules. */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store.h"

/* The statements every block runs, prepared once (store_stmt). */
enum store_stmt {
	STMT_RUNS,     /* the runs of a key whose realization exists */
	STMT_REAL,     /* one realization's meta and outputs */
	STMT_RESULT,   /* what a render shows of one realization */
	STMT_PUT_DRV,  /* store_put_drv */
	STMT_PUT_REAL, /* store_put_real */
	STMT_PUT_RUN,  /* store_put_run */
	STMT_PUT_BLOB, /* store_put_blob */
	STMT_BLOB,     /* store_blob */
	STMT_BEGIN,    /* store_begin */
	STMT_BEGIN_WRITE,
	STMT_COMMIT,   /* store_end */
	STMT_BUMP,     /* store_bump */
	STORE_STMT_N
};

struct store {
	char *root;
	char *db_path; /* ROOT/store.db */
	char *objects; /* ROOT/objects */
	char *tmp;     /* ROOT/tmp */
	char *locks;   /* ROOT/locks */
	/*
	 * One connection for the process. Every use of it holds db_mu (from
	 * store_begin to store_end), so one thread's transaction never takes
	 * in another's statements.
	 */
	sqlite3 *db;
	pthread_mutex_t db_mu;
	sqlite3_stmt *stmt[STORE_STMT_N]; /* prepared once (store_stmt) */
	_Atomic unsigned serial; /* threads make tmp/ folders too */
	struct store_cache *cache; /* run listings read ahead, or NULL */
	/*
	 * A snapshot to keep for snap_doc (store_prefetch made it, from what
	 * the store held at generation snap_gen), or none: snap_doc NULL.
	 */
	char *snap_doc;
	long long snap_gen;
	struct md_buf snap;
	/*
	 * This process's name in tmp/ (PID-oHEX), made with its lock file
	 * tmp/OWNER.lock when the first tmp/ folder is; NULL before. The
	 * lock is held by owner_fd until store_close.
	 */
	char *owner;
	int owner_fd;
	pthread_mutex_t owner_mu;
};

/* The largest meta, drv, root record or memo read. */
#define STORE_RECORD_MAX ((size_t)64 << 20)
/*
 * The longest path under out/ a commit takes (bytes): deeper trees would
 * not fit in PATH_MAX once under the store's root.
 */
#define STORE_OUT_PATH_MAX 2048

/*
 * Transactions. store_begin takes the connection (db_mu) and opens a
 * transaction: BEGIN IMMEDIATE when write (the database's write lock at
 * once, so two writers queue instead of failing half-way), else a read
 * transaction, one snapshot. store_end commits when rc >= 0, rolls back
 * otherwise, gives the connection back and returns rc (or the commit's
 * error). Between the two, the caller uses s->db freely.
 */
int store_begin(struct store *s, bool write);
/*
 * store_begin(s, true), but STORE_BUSY at once, holding nothing, when
 * another connection is writing.
 */
int store_begin_now(struct store *s);
int store_end(struct store *s, int rc);
/*
 * Sets the error message from the connection's last error:
 * "ROOT/store.db: WHAT: SQLite's message". Returns MD_ERROR.
 */
int store_db_err(struct store *s, const char *what);
/*
 * Prepares sql on s->db (inside store_begin/store_end), with the error
 * set on failure. Caller finalizes.
 */
sqlite3_stmt *store_prepare(struct store *s, const char *sql);
/* store_prepare, with ?1 bound to a and ?2 to b (each when not NULL). */
sqlite3_stmt *store_query(struct store *s, const char *sql, const char *a,
			  const char *b);
/*
 * Statement which, prepared on first use and reset, its bindings
 * cleared; NULL with the error set. Inside store_begin/store_end, which
 * resets them all; never finalized by the caller.
 */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which);
/*
 * A text column that must be a hash (64 lowercase hex digits) into out;
 * false when the row holds anything else (a hostile database).
 */
bool store_col_hash(char out[MD_HASH_HEX], sqlite3_stmt *st, int col);

/*
 * Writes, inside a write transaction (store_begin(s, true)):
 * store_put_drv: key's drv text, unless the key has one.
 * store_put_real: realization rhash of key, unless there is one: meta
 *   (its JSON text), stdout, stderr, the ordered output list (empty:
 *   none), the files it read and wrote, and files: whether objects/RHASH
 *   holds its out/ tree (store_put_object, before).
 * store_put_run: a run; r->seq 0 takes the key's next, r->ns 0 (or
 *   later than now) is now. The realization must exist.
 */
int store_put_drv(struct store *s, const char *key, const char *drv);
/* The byte columns of a realization's row; NULL: empty. */
struct store_parts {
	const char *so, *se, *outs, *reads, *writes;
	size_t so_len, se_len, outs_len, reads_len, writes_len;
};
int store_put_real(struct store *s, const char *key, const char *rhash,
		   const char *meta, const struct store_parts *p, bool files);
/*
 * The next line of a run's writes whose content is kept ("HASH PATH"),
 * from *p up to end: its hash (NUL-terminated) and its path; *p moves
 * past it. False when there is none left.
 */
bool store_next_kept(const char **p, const char *end,
		     char hash[MD_HASH_HEX], const char **path, int *len);
/* store_put_blob: n bytes under their SHA-256, unless there. */
int store_put_blob(struct store *s, const void *data, size_t n);
int store_put_run(struct store *s, const char *key, const struct store_run *r);
/*
 * Moves the tree dir (the folder whose entries are the artifacts: the
 * MDRUN_OUT folder of a run, or a v1 realization's out/; on the store's
 * file system) to objects/RHASH by one rename, and makes it read-only;
 * when objects/RHASH is there already, dir is removed instead (the same
 * rhash is the same tree). Outside any transaction: a kill after it
 * leaves an object no row names, which gc removes.
 */
int store_put_object(struct store *s, const char *rhash, const char *dir);
/* ROOT/objects/RHASH (store_files_dir, store.h). */
#define store_object_dir(s, rhash) store_files_dir((s), (rhash))

/* Forgets what was read ahead of key's runs: they are about to change. */
void store_forget(struct store *s, const char *key);

/* One key read ahead: its runs, and its latest run's row (or NULL). */
struct store_entry {
	char key[MD_HASH_HEX];
	struct store_run *runs;
	size_t n;
	struct store_real *res;
};
void store_entries_free(struct store_entry *v, size_t n);
/*
 * A document's snapshot (snap.c): n entries in key order as bytes, each
 * row of more than row_max bytes left out (read when shown); and back.
 * Decoding fails (-1) unless the bytes are a whole, well-formed snapshot.
 */
void store_snap_encode(struct md_buf *out, const struct store_entry *v,
		       size_t n, size_t row_max);
int store_snap_decode(struct store_entry **out, size_t *n, const void *data,
		      size_t len);
/*
 * Inside a write transaction that adds or removes runs or realizations:
 * every snapshot taken before it is stale from its commit on.
 */
int store_bump(struct store *s);
/*
 * Each document whose snapshot (of the store's generation) is malformed
 * or says other than the rows, to bad; an error only if none can be read.
 */
int store_snap_check(struct store *s,
		     void (*bad)(const char *doc, const char *why, void *ctx),
		     void *ctx);
/*
 * Inside a transaction: whether realization rhash of key has a row that
 * cannot be read (as it is now, not as read ahead).
 */
bool store_row_damaged(struct store *s, const char *key, const char *rhash);

/* Parses a v1 run record's name into r; false when it is not one. */
bool store_parse_run(struct store_run *r, const char *name);

/* 64 lowercase hex digits and nothing else. */
bool store_is_hash(const char *s);
/* A fresh, empty folder under tmp/, named after this process. */
char *store_tmp_dir(struct store *s);
/*
 * Removes path (an object folder) as a whole: renamed into tmp/ first, so
 * a kill leaves it either in place or in tmp/, then deleted.
 */
int store_remove_tree(struct store *s, const char *path);
/*
 * Parses a realization's meta JSON text (what meta.json held in a v1
 * store, and a pushed realization's meta.json) into r's exit record,
 * times, cut and sizes. what names it in the error.
 */
int store_parse_meta(struct store_real *r, const char *text, size_t len,
		     const char *what);
/*
 * Publishes real, a complete realization folder built in tmp/ (meta.json,
 * stdout, stderr when not empty, out/ when there are artifacts), as rhash
 * of key, and records a run of it at ns nanoseconds (0: now). A new key
 * gets drv. real is consumed (moved or removed); NULL records a run of
 * the realization already there. The caller holds key's lock.
 */
int store_publish(struct store *s, const char *key, const char *drv,
		  const char *rhash, const char *real, bool failed,
		  size_t cut, long long ns);
/*
 * Recomputes the rhash of realization rhash of key from its row and its
 * object folder; *why says what is wrong (caller frees), NULL when it
 * matches.
 */
void store_verify_real(char **why, struct store *s, const char *key,
		       const char *rhash);
/*
 * The parts of a realization (push, show): meta JSON text, stdout,
 * stderr, the output list and the files it read appended to the buffers given (any may be NULL), and *files
 * whether objects/RHASH holds its out/ tree. MD_ENOTFOUND when the
 * store has no such realization. Takes the connection itself.
 */
int store_real_parts(struct store *s, const char *key, const char *rhash,
		     struct md_buf *meta, struct md_buf *so,
		     struct md_buf *se, struct md_buf *outs,
		     struct md_buf *reads, struct md_buf *writes, bool *files);

/*
 * Migrates a v1 store (ROOT/store/, roots/, interp/) into the database
 * (store/migrate.c): called by store_open when VERSION says 1, under the
 * store-wide lock held exclusively. Says one progress line on stderr.
 */
int store_migrate_v1(struct store *s);

#endif
