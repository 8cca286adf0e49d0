/*
 * Garbage collection: keep what the roots reach (table root: the keys of
 * each document's last render), remove the rest. Under the store-wide
 * exclusive lock, so no render adds unrooted keys meanwhile.
 *
 * One write transaction decides and deletes rows: the roots of documents
 * that are gone, the keys no root reaches (their runs, realizations and
 * drv row; with older_than only those that last ran before it), and, of
 * the keys kept, the realizations no run names and those keep_last lets
 * go. A dry run does all of it in a savepoint it rolls back, so it says
 * just what gc would do. After the commit go the folders of objects/ no
 * realization with files names any longer, with those a kill left
 * unnamed (a kill between placing an object and committing its rows):
 * rows first, folders after, so a kill at any instant leaves at worst
 * folders no row names, which the next gc removes. The kept python
 * drivers (drivers/) go too: no render runs meanwhile.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../util/err.h"
#include "../util/fs.h"

/* A set of keys or rhashes: unsorted as it grows, sorted to be searched. */
struct keyset {
	char (*keys)[MD_HASH_HEX];
	size_t n, cap;
};

/* Adds key (a hash) to k. */
static void
keyset_add(struct keyset *k, const char *key)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->keys = md_realloc(k->keys, k->cap * sizeof(*k->keys));
	}
	memcpy(k->keys[k->n++], key, MD_HASH_HEX);
}

/* Orders hashes for qsort and bsearch. */
static int
cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Whether k, sorted, holds key. */
static bool
keyset_has(const struct keyset *k, const char *key)
{
	return k->n && bsearch(key, k->keys, k->n, MD_HASH_HEX, cmp_key);
}

/* One collection: what it was asked, what it found and did. */
struct gc {
	struct store *s;
	const struct store_gc_opts *o;
	struct store_gc_stats *st;
	void (*report)(const char *what, void *ctx);
	void *ctx;
	struct keyset live;    /* the keys kept, sorted */
	struct keyset touched; /* keys whose rows changed */
	struct keyset doomed;  /* objects no realization names any longer */
	char **orphans;	       /* other folders of objects/ to remove */
	size_t norphans;
};

static void
say(struct gc *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tells the caller's report what gc does. */
static void
say(struct gc *g, const char *fmt, ...)
{
	struct md_buf b = MD_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	md_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (g->report)
		g->report(b.ptr, g->ctx);
	md_buf_dispose(&b);
}

/* "removed", or "would remove" in a dry run. */
static const char *
verb(const struct gc *g)
{
	return g->o->dry_run ? "would remove" : "removed";
}

/* Runs sql, a statement that gives no rows, with ?1 = a and ?2 = b. */
static int
run(struct store *s, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = store_query(s, sql, a, b);
	int rc = 0;

	if (!st)
		return MD_ERROR;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, "gc");
	sqlite3_finalize(st);
	return rc;
}

/*
 * The integer sql's first row gives in its first column (with ?1 = a and
 * ?2 = b) into *out; dflt when there is no row or it holds no integer.
 */
static int
integer(long long *out, struct store *s, const char *sql, const char *a,
	const char *b, long long dflt)
{
	sqlite3_stmt *st = store_query(s, sql, a, b);
	int rc = 0, step;

	*out = dflt;
	if (!st)
		return MD_ERROR;
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER)
			*out = sqlite3_column_int64(st, 0);
	} else if (step != SQLITE_DONE) {
		rc = store_db_err(s, "gc");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Every key of the store into *out (unsorted); keys not hashes are left. */
static int
list_keys(struct keyset *out, struct store *s)
{
	sqlite3_stmt *st = store_query(s, "SELECT key FROM drv UNION SELECT"
					  " key FROM real UNION SELECT key"
					  " FROM run",
				       NULL, NULL);
	char key[MD_HASH_HEX];
	int rc = 0, step;

	if (!st)
		return MD_ERROR;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (store_col_hash(key, st, 0))
			keyset_add(out, key);
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "listing keys");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Adds the keys of doc's root, the record in column col of st, to live;
 * an error naming doc when the record is malformed.
 */
static int
root_keys(struct gc *g, const char *doc, sqlite3_stmt *st, int col)
{
	int t = sqlite3_column_type(st, col);
	cJSON *root = NULL, *keys = NULL, *k;

	if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
		const char *p = sqlite3_column_blob(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);
		if (n <= STORE_RECORD_MAX)
			root = cJSON_ParseWithLength(p ? p : "", n);
		keys = cJSON_GetObjectItem(root, "keys");
	}
	if (!cJSON_IsArray(keys)) {
		cJSON_Delete(root);
		return md_err_set("%s: the root of %s is malformed; render "
				  "that document again to let gc go on",
				  g->s->db_path, doc);
	}
	cJSON_ArrayForEach(k, keys)
		if (cJSON_IsString(k) && store_is_hash(k->valuestring))
			keyset_add(&g->live, k->valuestring);
	cJSON_Delete(root);
	return 0;
}

/*
 * Reads every root into live. A root whose document is gone (ENOENT) is
 * dropped; any other doubt (a malformed root, a document we may not see)
 * stops gc, since guessing would remove what a document uses.
 */
static int
read_roots(struct gc *g)
{
	sqlite3_stmt *st = store_query(g->s, "SELECT doc, record FROM root",
				       NULL, NULL);
	char **gone = NULL;
	size_t ngone = 0, i;
	int rc = 0, step = SQLITE_DONE;

	if (!st)
		return MD_ERROR;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *doc = (const char *)sqlite3_column_text(st, 0);
		struct stat sb;

		if (sqlite3_column_type(st, 0) != SQLITE_TEXT || !doc ||
		    doc[0] != '/') {
			rc = md_err_set("%s: table root holds a row that names "
					"no document", g->s->db_path);
		} else if (lstat(doc, &sb) < 0 && errno == ENOENT) {
			md_strv_push(&gone, &ngone, md_strdup(doc));
		} else if (lstat(doc, &sb) < 0) {
			rc = md_err_sys("%s (a root's document)", doc);
		} else {
			rc = root_keys(g, doc, st, 1);
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = store_db_err(g->s, "reading roots");
	sqlite3_finalize(st);
	for (i = 0; rc == 0 && i < ngone; i++) {
		say(g, "%s root of %s (document gone)",
		    g->o->dry_run ? "would drop" : "dropped", gone[i]);
		rc = run(g->s, "DELETE FROM root WHERE doc = ?1", gone[i],
			 NULL);
		g->st->roots_dropped++;
	}
	md_strv_free(gone);
	return rc;
}

/*
 * Object rhash, whose realizations with files are being deleted: when
 * none is left, its folder goes after the commit. Adds its bytes then to
 * *bytes.
 */
static int
release_object(unsigned long long *bytes, struct gc *g, const char *rhash)
{
	long long named;
	char *dir;
	int rc;

	if ((rc = integer(&named, g->s, "SELECT count(*) FROM real WHERE "
					"rhash = ?1 AND files = 1",
			  rhash, NULL, 1)) < 0 || named)
		return rc;
	dir = store_object_dir(g->s, rhash);
	*bytes += store_du(dir);
	keyset_add(&g->doomed, rhash);
	free(dir);
	return 0;
}

/* A realization row's size: its meta and outputs. */
static const char real_size[] =
	"length(CAST(meta AS BLOB)) + length(CAST(stdout AS BLOB)) + "
	"length(CAST(stderr AS BLOB))";

/* Deletes realization rhash of key with its runs; why says why. */
static int
drop_realization(struct gc *g, const char *key, const char *rhash,
		 const char *why)
{
	struct md_buf sql = MD_BUF_INIT;
	unsigned long long bytes;
	long long size, files;
	int rc;

	md_buf_printf(&sql, "SELECT %s FROM real WHERE key = ?1 AND "
			    "rhash = ?2", real_size);
	if ((rc = integer(&size, g->s, sql.ptr, key, rhash, 0)) < 0 ||
	    (rc = integer(&files, g->s, "SELECT files FROM real WHERE key = ?1 "
					"AND rhash = ?2",
			  key, rhash, 0)) < 0 ||
	    (rc = run(g->s, "DELETE FROM run WHERE key = ?1 AND rhash = ?2",
		      key, rhash)) < 0 ||
	    (rc = run(g->s, "DELETE FROM real WHERE key = ?1 AND rhash = ?2",
		      key, rhash)) < 0)
		goto done;
	bytes = size > 0 ? (unsigned long long)size : 0;
	if (files == 1 && (rc = release_object(&bytes, g, rhash)) < 0)
		goto done;
	say(g, "%s %.12s/%.12s (%s, %llu bytes)", verb(g), key, rhash, why,
	    bytes);
	g->st->realizations_removed++;
	g->st->bytes += bytes;
done:
	md_buf_dispose(&sql);
	return rc;
}

/* The rhashes sql gives (with ?1 = key) into out, in order. */
static int
list_rhashes(struct keyset *out, struct store *s, const char *sql,
	     const char *key)
{
	sqlite3_stmt *st = store_query(s, sql, key, NULL);
	char rhash[MD_HASH_HEX];
	int rc = 0, step;

	if (!st)
		return MD_ERROR;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (store_col_hash(rhash, st, 0))
			keyset_add(out, rhash);
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "listing realizations");
	sqlite3_finalize(st);
	return rc;
}

/* The runs of key whose realization exists, oldest first: rhash, failed. */
static int
list_runs(struct store_run **out, size_t *n, struct store *s,
	  const char *key)
{
	static const char sql[] =
		"SELECT run.rhash, run.failed FROM run JOIN real ON "
		"real.key = run.key AND real.rhash = run.rhash "
		"WHERE run.key = ?1 ORDER BY run.seq";
	sqlite3_stmt *st = store_query(s, sql, key, NULL);
	int rc = 0, step;

	*out = NULL;
	*n = 0;
	if (!st)
		return MD_ERROR;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*out = md_realloc(*out, (*n + 1) * sizeof(**out));
		memset(&(*out)[*n], 0, sizeof(**out));
		if (!store_col_hash((*out)[*n].rhash, st, 0))
			continue;
		/* A failure unless it says otherwise: kept, never shown. */
		(*out)[(*n)++].failed =
			sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
			sqlite3_column_int64(st, 1) != 0;
	}
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "listing runs");
	sqlite3_finalize(st);
	return rc;
}

/*
 * For a kept key: removes realizations no run names, and with keep_last,
 * those past the keep_last newest successful ones. The first run, the
 * latest run (a failure kept for inspection) and the latest successful
 * one always stay: they are what match=first, a failing render and a
 * render show.
 */
static int
trim(struct gc *g, const char *key)
{
	static const char unrecorded[] =
		"SELECT rhash FROM real WHERE key = ?1 AND rhash NOT IN "
		"(SELECT rhash FROM run WHERE key = ?1)";
	struct keyset lone = { NULL, 0, 0 };
	struct store_run *runs = NULL;
	size_t n = 0, i, j, kept = 0;
	const char *first, *shown = NULL;
	int rc;

	if ((rc = list_rhashes(&lone, g->s, unrecorded, key)) < 0)
		goto done;
	for (i = 0; i < lone.n && rc == 0; i++)
		rc = drop_realization(g, key, lone.keys[i], "unrecorded");
	if (lone.n)
		keyset_add(&g->touched, key);
	if (rc < 0 || g->o->keep_last <= 0 ||
	    (rc = list_runs(&runs, &n, g->s, key)) < 0 || n == 0)
		goto done;
	first = runs[0].rhash;
	for (i = n; i-- > 0 && !shown;)
		if (!runs[i].failed)
			shown = runs[i].rhash;
	/* Newest first: distinct realizations past keep_last go. */
	for (i = n; i-- > 0 && rc == 0;) {
		bool seen = false;
		for (j = i + 1; j < n; j++)
			seen |= !strcmp(runs[j].rhash, runs[i].rhash);
		if (seen)
			continue;
		if (!runs[i].failed && ++kept <= (size_t)g->o->keep_last)
			continue;
		if (!strcmp(runs[i].rhash, first) ||
		    !strcmp(runs[i].rhash, runs[n - 1].rhash) ||
		    (shown && !strcmp(runs[i].rhash, shown)))
			continue;
		keyset_add(&g->touched, key);
		rc = drop_realization(g, key, runs[i].rhash,
				      runs[i].failed ? "failed" : "older");
	}
done:
	free(runs);
	free(lone.keys);
	return rc;
}

/*
 * Whether key's latest run was within older_than days: false when it
 * never ran, true when the run's time is not a number.
 */
static int
ran_lately(bool *out, struct gc *g, const char *key)
{
	static const char sql[] =
		"SELECT ns FROM run WHERE key = ?1 AND EXISTS (SELECT 1 FROM "
		"real WHERE real.key = run.key AND real.rhash = run.rhash) "
		"ORDER BY seq DESC LIMIT 1";
	sqlite3_stmt *st = store_query(g->s, sql, key, NULL);
	double since = (double)time(NULL) - g->o->older_than * 86400;
	int rc = 0, step;

	*out = false;
	if (!st)
		return MD_ERROR;
	if ((step = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
		       (double)sqlite3_column_int64(st, 0) / 1e9 > since;
	else if (step != SQLITE_DONE)
		rc = store_db_err(g->s, "listing runs");
	sqlite3_finalize(st);
	return rc;
}

/* Deletes key's runs, realizations and drv row. */
static int
drop_key(struct gc *g, const char *key)
{
	struct keyset objs = { NULL, 0, 0 };
	struct md_buf sql = MD_BUF_INIT;
	unsigned long long bytes;
	long long size, drv;
	size_t i;
	int rc;

	md_buf_printf(&sql, "SELECT sum(%s) FROM real WHERE key = ?1",
		      real_size);
	if ((rc = integer(&size, g->s, sql.ptr, key, NULL, 0)) < 0 ||
	    (rc = integer(&drv, g->s, "SELECT length(CAST(fields AS BLOB)) "
				      "FROM drv WHERE key = ?1",
			  key, NULL, 0)) < 0 ||
	    (rc = list_rhashes(&objs, g->s, "SELECT rhash FROM real WHERE "
					    "key = ?1 AND files = 1",
			       key)) < 0 ||
	    (rc = run(g->s, "DELETE FROM run WHERE key = ?1", key, NULL)) < 0 ||
	    (rc = run(g->s, "DELETE FROM real WHERE key = ?1", key, NULL)) < 0 ||
	    (rc = run(g->s, "DELETE FROM drv WHERE key = ?1", key, NULL)) < 0)
		goto done;
	keyset_add(&g->touched, key);
	bytes = (size > 0 ? (unsigned long long)size : 0) +
		(drv > 0 ? (unsigned long long)drv : 0);
	for (i = 0; i < objs.n && rc == 0; i++)
		rc = release_object(&bytes, g, objs.keys[i]);
	if (rc < 0)
		goto done;
	say(g, "%s %.12s (%llu bytes)", verb(g), key, bytes);
	g->st->keys_removed++;
	g->st->bytes += bytes;
done:
	free(objs.keys);
	md_buf_dispose(&sql);
	return rc;
}

/*
 * The folders of objects/ that neither a realization with files nor the
 * doomed names: what a kill left unnamed. Into orphans, said and counted.
 */
static int
find_orphans(struct gc *g)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (!(d = opendir(g->s->objects)))
		return errno == ENOENT ? 0 : md_err_sys("%s", g->s->objects);
	if (g->doomed.n)
		qsort(g->doomed.keys, g->doomed.n, MD_HASH_HEX, cmp_key);
	while (rc == 0 && (e = readdir(d))) {
		bool hash = store_is_hash(e->d_name);
		long long named = 0;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (hash && keyset_has(&g->doomed, e->d_name)))
			continue;
		if (hash && (rc = integer(&named, g->s,
					  "SELECT count(*) FROM real WHERE "
					  "rhash = ?1 AND files = 1",
					  e->d_name, NULL, 1)) < 0)
			break;
		if (named)
			continue;
		char *path = md_path_join(g->s->objects, e->d_name);
		unsigned long long bytes = store_du(path);
		say(g, "%s objects/%.*s (unrecorded, %llu bytes)", verb(g),
		    hash ? 12 : (int)strlen(e->d_name), e->d_name, bytes);
		g->st->bytes += bytes;
		md_strv_push(&g->orphans, &g->norphans, path);
	}
	closedir(d);
	return rc;
}

/* Decides and deletes rows (collect's transaction; see the top). */
/*
 * Runs that name no realization (a crafted or damaged database: a commit
 * never writes one) count for nothing and would be reported by every
 * verify: they go.
 */
static int
drop_dangling_runs(struct gc *g)
{
	int rc = run(g->s, "DELETE FROM run WHERE NOT EXISTS (SELECT 1"
			   " FROM real WHERE real.key = run.key AND"
			   " real.rhash = run.rhash)",
		     NULL, NULL);
	int n = rc == 0 ? sqlite3_changes(g->s->db) : 0;

	if (n > 0)
		say(g, "%s %d %s of missing realizations", verb(g), n,
		    n == 1 ? "run" : "runs");
	return rc;
}

/*
 * Contents of written files no realization's writes name any more (the
 * realizations that kept them are gone) go too.
 */
static int
drop_unnamed_blobs(struct gc *g)
{
	long long bytes = 0;
	int rc = integer(&bytes, g->s, "SELECT COALESCE(SUM(length(data)), 0)"
				       " FROM blob WHERE NOT EXISTS (SELECT 1"
				       " FROM real WHERE instr(real.writes,"
				       " blob.hash) > 0)",
			 NULL, NULL, 0);
	int n;

	if (rc == 0)
		rc = run(g->s, "DELETE FROM blob WHERE NOT EXISTS (SELECT 1"
			       " FROM real WHERE instr(real.writes,"
			       " blob.hash) > 0)",
			 NULL, NULL);
	n = rc == 0 ? sqlite3_changes(g->s->db) : 0;
	if (n > 0) {
		say(g, "%s %d %s of written files", verb(g), n,
		    n == 1 ? "content" : "contents");
		g->st->bytes += (unsigned long long)bytes;
	}
	return rc;
}

static int
collect(struct gc *g)
{
	struct keyset all = { NULL, 0, 0 };
	size_t i;
	int rc;

	if (g->o->keep) {
		for (i = 0; i < g->o->nkeep; i++)
			keyset_add(&g->live, g->o->keep[i]);
	} else if ((rc = read_roots(g)) < 0) {
		return rc;
	}
	if (g->live.n)
		qsort(g->live.keys, g->live.n, MD_HASH_HEX, cmp_key);
	if ((rc = list_keys(&all, g->s)) < 0)
		goto done;
	for (i = 0; i < all.n && rc == 0; i++) {
		bool lately = false;

		if (keyset_has(&g->live, all.keys[i])) {
			rc = trim(g, all.keys[i]);
			continue;
		}
		if (g->o->older_than > 0 &&
		    ((rc = ran_lately(&lately, g, all.keys[i])) < 0 || lately))
			continue;
		rc = drop_key(g, all.keys[i]);
	}
	if (rc == 0)
		rc = drop_dangling_runs(g);
	if (rc == 0)
		rc = drop_unnamed_blobs(g);
	if (rc == 0)
		rc = find_orphans(g);
done:
	free(all.keys);
	return rc;
}

/* Runs sql (SAVEPOINT and such) on the connection. */
static int
exec(struct store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_err(s, sql);
	return 0;
}

/* Lock files of keys that are gone: nobody waits on them. */
static int
sweep_locks(struct store *s)
{
	DIR *d = opendir(s->locks);
	struct dirent *e;
	int rc;

	if (!d)
		return 0;
	if ((rc = store_begin(s, false)) < 0) {
		closedir(d);
		return rc;
	}
	while (rc == 0 && (e = readdir(d))) {
		long long known = 1;
		if (!store_is_hash(e->d_name) ||
		    (rc = integer(&known, s, "SELECT EXISTS (SELECT 1 FROM drv "
					     "WHERE key = ?1) OR EXISTS "
					     "(SELECT 1 FROM run WHERE key = "
					     "?1)",
				  e->d_name, NULL, 1)) < 0 ||
		    known)
			continue;
		char *p = md_path_join(s->locks, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	return store_end(s, rc);
}

int
store_gc(struct store_gc_stats *out, struct store *s,
	 const struct store_gc_opts *o,
	 void (*report)(const char *what, void *ctx), void *ctx)
{
	struct gc g = { .s = s, .o = o, .st = out, .report = report,
			.ctx = ctx };
	size_t i;
	int lock, rc;

	memset(out, 0, sizeof(*out));
	if ((lock = store_lock_store(s, true)) < 0)
		return lock;
	if ((rc = store_begin(s, true)) < 0)
		goto done;
	if (!o->dry_run || (rc = exec(s, "SAVEPOINT dry_run")) == 0)
		rc = collect(&g);
	/* Snapshots are caches: gc leaves none, and makes any kept stale. */
	if (rc == 0 && (rc = exec(s, "DELETE FROM snap")) == 0)
		rc = store_bump(s);
	if (rc == 0 && o->dry_run)
		rc = exec(s, "ROLLBACK TO dry_run");
	rc = store_end(s, rc);
	for (i = 0; i < g.touched.n; i++)
		store_forget(s, g.touched.keys[i]);
	if (rc < 0 || o->dry_run)
		goto done;
	for (i = 0; i < g.doomed.n && rc == 0; i++) {
		char *dir = store_object_dir(s, g.doomed.keys[i]);
		rc = store_remove_tree(s, dir);
		free(dir);
	}
	for (i = 0; i < g.norphans && rc == 0; i++)
		rc = store_remove_tree(s, g.orphans[i]);
	md_fs_sweep_atomic(s->root, NULL);
	if (rc == 0)
		rc = sweep_locks(s);
	/*
	 * The kept python drivers (drivers.c) are caches too, made again by
	 * the next render: a damaged one goes with them.
	 */
	if (rc == 0) {
		char *drivers = store_drivers(s);
		md_fs_rmtree_quiet(drivers);
		free(drivers);
	}
done:
	md_strv_free(g.orphans);
	free(g.live.keys);
	free(g.touched.keys);
	free(g.doomed.keys);
	store_unlock(lock);
	return rc;
}
