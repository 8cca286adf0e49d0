/*
 * The on-disk store: immutable, content-addressed realizations of keys.
 *
 *   ROOT/VERSION                 format version ("2"); a newer one is
 *                                refused, a v1 store is migrated once
 *                                (store/migrate.c)
 *   ROOT/CACHEDIR.TAG            so backup tools skip the store
 *   ROOT/.gitignore              "*": so git does
 *   ROOT/store.db                SQLite, WAL mode: every record (the
 *                                schema is in store.c): drv (the fields
 *                                of each key), real (each realization's
 *                                meta JSON, stdout and stderr inline),
 *                                run (each run of a key, numbered in
 *                                commit order), root (the keys each
 *                                document's last render used), memo
 *                                (interpreter identities), blob (the
 *                                contents of files runs wrote, by
 *                                SHA-256)
 *   ROOT/objects/RHASH/          the artifacts (MDRUN_OUT) of the
 *                                realizations whose rhash it is, read-only;
 *                                absent when they wrote none
 *   ROOT/locks/KEY, locks/gc     flock(2) files
 *   ROOT/tmp/OWNER.lock          held (flock) by one process that has the
 *                                store open, OWNER being PID-oHEX (HEX
 *                                random: PIDs repeat across containers)
 *   ROOT/tmp/OWNER-N             a folder that process is building in
 *
 * Writes (store/commit.c): the artifacts are renamed into objects/ first,
 * then one SQLite transaction adds the key's fields, the realization and
 * the run. A process killed at any instant leaves either no realization
 * or a whole one; an object no row names is removed by gc. What a dead
 * process left in tmp/ is swept by the next store_open: tmp/OWNER-* goes,
 * and OWNER.lock last, once the lock on OWNER.lock can be taken, whatever
 * PID namespace the owner ran in.
 *
 * Reads: every column's type is checked and every hash is 64 hex digits,
 * so a crafted database gives an error line, never a crash; object trees
 * are walked relative to folder descriptors without following links.
 *
 * KEY is the SHA-256 of its fields (store_key_bytes: each name and value
 * length-prefixed, in order), so `store verify` recomputes keys as well as
 * realizations. RHASH is the SHA-256 of stdout, stderr, exit status,
 * the files the run read and wrote (as recorded: names and hashes) and
 * the artifacts' tree. The store knows keys, fields and bytes, not
 * documents.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"
#include "../util/exit.h"
#include "../util/hash.h"

#define STORE_VERSION 2
/* The version of the JSON records: meta, drv and roots (as pushed). */
#define STORE_META_VERSION 1

struct store;

/* One field of a key: name and value, hashed in order. Borrowed. */
struct store_field {
	const char *name;
	const char *value;
};

/*
 * The bytes a key hashes (store/key.c): "LEN:NAME LEN:VALUE\n" for each
 * field in order, LEN in decimal. Every name and value is length-prefixed,
 * so two different field lists never give the same bytes, whatever bytes
 * they hold. Appends to out.
 */
void store_key_bytes(struct md_buf *out, const struct store_field *f,
		     size_t n);
/* The key of fields: SHA-256 of store_key_bytes. */
void store_key(char out[MD_HASH_HEX], const struct store_field *f, size_t n);
/*
 * Appends "LEN:" and the n bytes of s to out: one item of a field whose
 * value is a list (env=, inputs=, deps=), so the list stays unambiguous.
 */
void store_key_item(struct md_buf *out, const char *s, size_t n);
/*
 * Appends a list field's items (store_key_item pairs, as mdrun's env=,
 * inputs= and deps= fields hold them) one a line, "A = B" or "A (unset)",
 * control bytes escaped. False, appending nothing, when v is not such a
 * list.
 */
bool store_key_pairs_text(struct md_buf *out, const char *v);
/* The drv JSON text that records fields. Caller frees with free(). */
char *store_drv_json(const struct store_field *f, size_t n);

/* What one run produced, handed to store_commit. Borrowed. */
struct store_result {
	const char *out;
	size_t out_len;
	const char *err;
	size_t err_len;
	/* The ordered output list (store_outputs), or NULL: stdout, stderr. */
	const char *outs;
	size_t outs_len;
	/* The files it read and wrote, as the caller records them (NULL:
	 * none), and the contents its writes keep, each stored once under
	 * its SHA-256. */
	const char *reads;
	size_t reads_len;
	const char *writes;
	size_t writes_len;
	const struct md_buf *blobs;
	size_t nblobs;
	struct md_exit exit;
	size_t cut;	   /* the cap an output was cut at, or 0 */
	double start, end; /* seconds since the epoch */
	/* A folder whose tree becomes out/ (moved, not copied), or NULL. */
	const char *artifacts;
	/* Provenance for its meta; not part of the realization's hash. */
	const char *interpreter;
	const char *name;
	const char *document;
	int line;
	const char *git_commit; /* NULL outside a repository */
	bool git_dirty;
};

/* A realization read back. Dispose with store_real_dispose. */
struct store_real {
	char rhash[MD_HASH_HEX];
	struct md_buf out, err;
	struct md_buf outs; /* the ordered output list; empty: out, err */
	struct md_buf reads; /* the files its run read (store_reads) */
	struct md_buf writes; /* and wrote (store_writes) */
	struct md_exit exit;
	size_t cut; /* the cap an output was cut at, or 0 */
	double start, end;
	char *path;   /* its artifacts' folder (store_files_dir) */
	bool files;   /* it has artifacts: path exists */
	bool pending; /* not read yet: store_read_pending */
	struct store *store;	/* where a pending read reads from */
	char key[MD_HASH_HEX];	/* whose realization it is */
	/* stdout's and stderr's sizes as its meta says (sized: it does). */
	bool sized;
	size_t out_size, err_size;
};

/* One run of a key, as its run record says. */
struct store_run {
	char rhash[MD_HASH_HEX];
	unsigned long long seq; /* its place in commit order; 0: old record */
	long long ns;		/* when it ran (a pulled one: its start) */
	bool failed;
	size_t cut; /* an output was cut at this many bytes; 0: whole */
	bool reads; /* its realization recorded files read (store_reads) */
	bool writes; /* and files written (store_writes) */
};

enum store_match {
	STORE_LATEST, /* the most recent run */
	STORE_FIRST   /* the earliest run still in the store */
};

/*
 * From now on (mdrun watch), a closed store keeps its claim on the
 * folders it made in tmp/, so that a later store's sweep leaves them
 * (a warm session's), until none of them is left.
 */
void store_keep_owners(bool on);
/*
 * Opens (creating when missing) the store at root and sweeps tmp/ of what
 * dead processes left. Caller frees with store_close.
 */
int store_open(struct store **out, const char *root);
void store_close(struct store *s);
/* Borrowed; valid until store_close. */
const char *store_root(const struct store *s);
/*
 * ROOT/drivers: where interpreters' drivers are kept, compiled
 * (md_driver_program); a cache gc empties. Caller frees.
 */
char *store_drivers(const struct store *s);

/*
 * Takes the lock of key, or of any other name made of letters, digits
 * and '-' (waits for another process holding it). Two processes never
 * realize one key at once. Returns an fd for store_unlock, or a negative
 * error.
 */
int store_lock_key(struct store *s, const char *key);
/* store_lock_key, but STORE_BUSY at once when another holds it. */
#define STORE_BUSY (-3)
int store_trylock_key(struct store *s, const char *key);
/*
 * Takes the store-wide lock: shared for a render, exclusive for gc, so gc
 * never removes what a render in progress has not rooted yet.
 */
int store_lock_store(struct store *s, bool exclusive);
void store_unlock(int fd);

/*
 * The runs of key in the order this store committed them, oldest first,
 * whose realization exists. *out is NULL and *n 0 for an unknown key.
 * Caller frees *out.
 */
int store_runs(struct store_run **out, size_t *n, struct store *s,
	       const char *key);
/*
 * Lists the runs of n keys ahead of use: store_runs answers for them from
 * memory after that, as listed now, until this process changes them.
 * With doc, document doc's snapshot answers for what it holds, when the
 * store is unchanged since it was taken; what it does not hold makes a
 * new one, kept by doc's next store_root_write.
 */
int store_prefetch(struct store *s, const char *doc,
		   char (*keys)[MD_HASH_HEX], size_t n);
/*
 * The folder of the artifacts of realizations whose rhash it is
 * (ROOT/objects/RHASH; it exists only when they wrote some). Caller
 * frees.
 */
char *store_files_dir(const struct store *s, const char *rhash);
/* Reads realization rhash of key. */
int store_read(struct store_real *out, struct store *s, const char *key,
	       const char *rhash);
/*
 * Names realization rhash of key in *out without reading anything: it is
 * read later, by store_read_pending (from any thread).
 */
void store_read_later(struct store_real *out, struct store *s,
		      const char *key, const char *rhash);
int store_read_pending(struct store_real *r);
/*
 * The realization the match picks among key's successful runs (among all
 * runs when accept_failed). MD_ENOTFOUND when there is none.
 */
int store_lookup(struct store_real *out, struct store *s, const char *key,
		 enum store_match m, bool accept_failed);
void store_real_dispose(struct store_real *r);
bool store_real_failed(const struct store_real *r);

/*
 * Commits one run of key: writes drv (from store_drv_json) beside it when
 * new, the realization when no equal one exists, and a run record.
 * The rhash goes into out.
 */
int store_commit(char out[MD_HASH_HEX], struct store *s, const char *key,
		 const char *drv, const struct store_result *r);
/*
 * store_commit but for the transaction: the rhash is known, the artifacts
 * are in the store, and the rows wait at the end of *later (copies: r may
 * go) until store_later_write writes them, with those already there.
 * Until then no reader sees the run, and a kill loses it (the next render
 * runs the block again), so the caller writes them soon and before it
 * lets anyone else realize the key: mdrun, while a later block of the
 * session runs.
 */
struct store_later;
int store_commit_later(char out[MD_HASH_HEX], struct store_later **later,
		       struct store *s, const char *key, const char *drv,
		       const struct store_result *r);
/*
 * Writes the rows *later holds, in one transaction, and empties it. When
 * another process is writing, waits for it, or, unless wait, returns
 * STORE_BUSY at once with *later as it was.
 */
int store_later_write(struct store *s, struct store_later **later,
		      bool wait);
/* Forgets what l holds, unwritten. */
void store_later_drop(struct store_later *l);

/*
 * Records the keys a document's render used (doc: an absolute path), and
 * notes, a JSON text of the caller's kept with them as it is (or NULL). A
 * record that would not change is not written again. fp (or NULL) is the
 * caller's hash of all the record says, for store_root_keep.
 */
int store_root_write(struct store *s, const char *doc, char (*keys)[MD_HASH_HEX],
		     size_t n, const char *fp, const char *notes);
/*
 * 1 when doc's root record was written with fingerprint fp: it stays as
 * it is, and what store_root_write does besides is done. 0 when not.
 */
int store_root_keep(struct store *s, const char *doc, const char *fp);
/* The notes of doc's root, as JSON text. MD_ENOTFOUND without one. */
int store_root_notes(struct md_buf *out, struct store *s, const char *doc);
/* The keys doc's last render used. Caller frees *keys. */
int store_root_keys(char (**keys)[MD_HASH_HEX], size_t *n, struct store *s,
		    const char *doc);

/*
 * A fresh, empty folder under tmp/, owned by this process (swept once the
 * process has closed the store or died). Caller removes it (md_fs_rmtree)
 * and frees the path.
 */
char *store_mktemp(struct store *s);
/* The rhash a realization with these contents would have. */
int store_rhash(char out[MD_HASH_HEX], const char *so, size_t so_len,
		const char *se, size_t se_len, const char *outs,
		size_t outs_len, const char *reads, size_t reads_len,
		const char *writes, size_t writes_len,
		const struct md_exit *e, const char *out_dir);
/*
 * The files realization rhash of key read, as the run recorded them
 * (mdrun's text: "HASH PATH" lines), appended to out; none: empty.
 */
int store_reads(struct md_buf *out, struct store *s, const char *key,
		const char *rhash);
/* The files it wrote, as the run recorded them, appended to out. */
int store_writes(struct md_buf *out, struct store *s, const char *key,
		 const char *rhash);
/*
 * The bytes whose SHA-256 is hash, as a run's recorded writes keep them,
 * appended to out. MD_ENOTFOUND when the store has none.
 */
int store_blob(struct md_buf *out, struct store *s, const char *hash);

/*
 * The stat cache: what stat(2) said of a file when its SHA-256 was taken,
 * so an unchanged file is not read again by a later process.
 * store_stats_load calls fn on every entry; store_stats_save adds or
 * replaces n entries in one transaction.
 */
struct store_stat {
	const char *path;
	long long dev, ino, size, mtime_ns, ctime_ns;
	char hash[MD_HASH_HEX];
};
int store_stats_load(struct store *s,
		     void (*fn)(const struct store_stat *e, void *ctx),
		     void *ctx);
int store_stats_save(struct store *s, const struct store_stat *v, size_t n);

/* A small memo (name -> value) kept in the store. MD_ENOTFOUND if absent. */
int store_memo_get(struct md_buf *out, struct store *s, const char *name);
int store_memo_put(struct store *s, const char *name, const char *val,
		   size_t n);

/*
 * Makes what was committed durable: one syncfs for the whole store (the
 * database runs with synchronous=NORMAL, so its commits wait for this).
 */
int store_sync(struct store *s);

/*
 * Inspection (store/inspect.c). Keys are listed in no set order.
 * store_keys: every key; caller frees with store_keys_free.
 */
int store_keys(char ***out, size_t *n, struct store *s);
void store_keys_free(char **keys, size_t n);
/*
 * Resolves a key or a unique key prefix (at least 4 hex digits) to a key.
 * MD_ENOTFOUND when nothing matches; an ambiguous prefix is an error.
 */
int store_resolve(char out[MD_HASH_HEX], struct store *s, const char *ref);
/* Bytes under path (files' sizes), 0 when missing. */
unsigned long long store_du(const char *path);
/* Bytes a key holds: its realizations' rows and their artifacts. */
unsigned long long store_key_size(struct store *s, const char *key);
/* The meta JSON text of a realization, appended to out. */
int store_meta_text(struct md_buf *out, struct store *s, const char *key,
		    const char *rhash);
/* The fields of key, as text. Caller disposes out. */
int store_drv(struct md_buf *out, struct store *s, const char *key);
/*
 * Recomputes every key from its fields and every rhash from its outputs
 * and artifacts, and runs SQLite's integrity check; calls
 * report(path, what, ctx) for each problem. *bad counts them.
 */
int store_verify(size_t *bad, struct store *s,
		 void (*report)(const char *path, const char *what, void *ctx),
		 void *ctx);
/* Removes key and all its realizations. */
int store_rm(struct store *s, const char *key);

/* Garbage collection (store/gc.c). */
struct store_gc_opts {
	bool dry_run;
	int keep_last;	   /* realizations kept per rooted key; 0: all */
	double older_than; /* days: only unrooted keys last run before */
	/* Keep these keys instead of what the roots reach, when non-NULL. */
	char (*keep)[MD_HASH_HEX];
	size_t nkeep;
};
struct store_gc_stats {
	size_t roots_dropped;
	size_t keys_removed;
	size_t realizations_removed;
	unsigned long long bytes;
};
int store_gc(struct store_gc_stats *out, struct store *s,
	     const struct store_gc_opts *o,
	     void (*report)(const char *what, void *ctx), void *ctx);

/*
 * Sharing through git (store/remote.c). Each realization is one git
 * commit without parents, ref refs/mdrun/KEY/RHASH, whose tree holds
 * drv.json (the key's), meta.json, stdout, stderr (when not empty) and
 * out/ (files 100644 or 100755, links 120000). Author and committer are
 * "mdrun <mdrun@localhost>" at the realization's start time, the message
 * "mdrun KEY RHASH", so equal realizations are equal commits everywhere.
 * Both directions take the store-wide lock shared, as a render does, and
 * build git objects in a bare repository under tmp/, removed after.
 */
struct store_remote {
	const char *url;      /* a path, or a file://, ssh:// or https:// URL */
	const char *username; /* sent with token ("x-access-token" if NULL) */
	const char *token;    /* password for https, or NULL */
	/* Extra HTTP headers ("Name: value"), e.g. from http.URL.extraheader. */
	char **headers;
	size_t nheaders;
	/*
	 * Told of each ref pull rejects, or push does not send (what pull
	 * would reject), and why; may be NULL.
	 */
	void (*reject)(const char *ref, const char *why, void *ctx);
	void *ctx;
};

struct store_remote_stats {
	size_t moved;	 /* pushed, or pulled */
	size_t present;	 /* already on the other side */
	size_t rejected; /* refs refused, or not sent */
};

/*
 * Pushes the realizations the store has run records of and the remote
 * has no ref for, at most 500 refs per push. Errors (the remote's
 * included) carry libgit2's message.
 */
int store_push(struct store_remote_stats *out, struct store *s,
	       const struct store_remote *r);
/*
 * Fetches the remote's refs/mdrun/KEY/RHASH the store lacks and commits
 * each after checking it: a ref not named by two hashes, a tree entry
 * named "", ".", "..", or holding '/', a gitlink, a link that is absolute
 * or has a ".." component, an entry other than drv.json, meta.json,
 * stdout, stderr and out/ at the top, more than 1 GiB of blobs, a drv.json
 * whose fields do not hash to KEY, or files that do not hash to RHASH: the
 * ref is rejected (reported through r->reject, counted, never written).
 * A pulled realization gets a run record, the latest of its key, dated
 * at its start time (at the pull, if that is later). Nothing pulled is
 * executed.
 */
int store_pull(struct store_remote_stats *out, struct store *s,
	       const struct store_remote *r);

#endif
