/*
 * The commit protocol: how one run becomes part of the store, so that a
 * process killed at any instant leaves either no realization or a whole
 * one, and two processes never corrupt each other.
 *
 * 1. The rhash is computed first (store_rhash: stdout, stderr, the
 *    ordered output list when there is one, the exit record and the
 *    tree of artifacts).
 * 2. When the run wrote artifacts, their folder (made in tmp/, swept
 *    once its owner is gone) is renamed to objects/RHASH and made
 *    read-only, unless that exists: then it is the same tree, and ours
 *    goes. An object appears only by a rename, so one that exists is
 *    whole; one no row names yet (a kill right after) is gc's.
 * 3. One SQLite transaction (BEGIN IMMEDIATE: writers queue) adds the
 *    key's fields when new, the realization's row when new (meta, stdout,
 *    stderr and the output list inline), and the run with the key's
 *    next seq. Readers see a run only once it committed, and it names a whole realization.
 *
 * Callers hold the key's flock (store_lock_key), so two processes never
 * realize one key at once. Durability is batched: the database runs with
 * synchronous=NORMAL, and store_sync makes a render's commits (and its
 * objects) durable with one syncfs(2).
 */
#define _GNU_SOURCE /* syncfs */
#include <limits.h>
#include "store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../util/crash.h"
#include "../util/err.h"
#include "../util/fs.h"

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Hashes one entry of an out/ tree (md_fs_walk gives names in byte order):
 * its kind and path, and a file's executable bit and content or a link's
 * target. Links are not followed.
 */
static int
hash_entry(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	struct md_hash *h = arg;
	struct md_buf data = MD_BUF_INIT;
	char digest[MD_HASH_HEX], target[4096];
	ssize_t k;
	int rc;

	if (step == MD_WALK_LEAVE)
		return 0;
	if (step == MD_WALK_ENTER) {
		md_hash_field(h, "dir", w->rel, w->rel_len);
		return 0;
	}
	if (S_ISLNK(w->st.st_mode)) {
		if ((k = readlinkat(w->dirfd, w->name, target,
				    sizeof(target))) < 0)
			return md_err_sys("%s", w->path);
		md_hash_field(h, "link", w->rel, w->rel_len);
		md_hash_field(h, "target", target, (size_t)k);
		return 0;
	}
	if (!S_ISREG(w->st.st_mode))
		return md_err_set("%s: not a file, folder or link", w->path);
	if ((rc = md_fs_read_at(&data, w->dirfd, w->name, 0, w->path)) == 0) {
		md_hash_bytes(digest, data.ptr, data.len);
		md_hash_field(h, w->st.st_mode & 0111 ? "exe" : "file",
			      w->rel, w->rel_len);
		md_hash_field(h, "content", digest, 64);
	}
	md_buf_dispose(&data);
	return rc;
}

/*
 * Readies an out/ tree for a commit. A path longer than
 * STORE_OUT_PATH_MAX is refused: it would not fit in PATH_MAX under the
 * store. A regular file that has other hard links (a block that ran ln
 * into MDRUN_OUT) gets a copy of its own: else making the realization
 * read-only would change the mode of a file outside the store, and
 * writing to that file would change the realization.
 */
static int
own_entry(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	struct md_buf data = MD_BUF_INIT;
	int rc;

	(void)arg;
	if (w->rel_len > STORE_OUT_PATH_MAX)
		return md_err_set("MDRUN_OUT holds a path longer than %d "
				  "bytes (%.40s...)",
				  STORE_OUT_PATH_MAX, w->rel);
	if (step != MD_WALK_FILE || !S_ISREG(w->st.st_mode) ||
	    w->st.st_nlink < 2)
		return 0;
	if ((rc = md_fs_read_at(&data, w->dirfd, w->name, 0, w->path)) == 0)
		rc = md_fs_write_atomic_at(w->dirfd, w->name,
					   data.ptr ? data.ptr : "", data.len,
					   w->st.st_mode & 0777);
	md_buf_dispose(&data);
	return rc;
}

int
store_rhash(char out[MD_HASH_HEX], const char *so, size_t so_len,
	    const char *se, size_t se_len, const char *outs, size_t outs_len,
	    const char *reads, size_t reads_len, const char *writes,
	    size_t writes_len, const struct md_exit *e, const char *out_dir)
{
	struct md_hash h;
	char status[64];
	int n, rc = 0;

	md_hash_init(&h);
	md_hash_field(&h, "mdrun-realization", "1", 1);
	md_hash_field(&h, "stdout", so, so_len);
	md_hash_field(&h, "stderr", se, se_len);
	/* Only when there is one: what ran before it keeps its rhash. */
	if (outs && outs_len)
		md_hash_field(&h, "outputs", outs, outs_len);
	if (reads && reads_len)
		md_hash_field(&h, "reads", reads, reads_len);
	if (writes && writes_len)
		md_hash_field(&h, "writes", writes, writes_len);
	n = snprintf(status, sizeof(status), "%d %d %d", e->code, e->signal,
		     e->timed_out ? 1 : 0);
	md_hash_field(&h, "status", status, (size_t)n);
	if (out_dir && (rc = md_fs_walk(out_dir, hash_entry, &h)) ==
			       MD_ENOTFOUND)
		rc = 0;
	md_hash_final(out, &h);
	return rc;
}

static char *
meta_json(const char *key, const char *rhash, const struct store_result *r)
{
	cJSON *m = cJSON_CreateObject();
	char when[32];
	time_t sec = (time_t)r->start;
	struct tm tm;
	char *text;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddNumberToObject(m, "version", STORE_META_VERSION);
	cJSON_AddStringToObject(m, "key", key);
	cJSON_AddStringToObject(m, "rhash", rhash);
	cJSON_AddNumberToObject(m, "exit", r->exit.code);
	cJSON_AddNumberToObject(m, "signal", r->exit.signal);
	cJSON_AddBoolToObject(m, "timed_out", r->exit.timed_out);
	cJSON_AddNumberToObject(m, "start", r->start);
	cJSON_AddNumberToObject(m, "end", r->end);
	cJSON_AddStringToObject(m, "started", when);
	cJSON_AddNumberToObject(m, "duration_ms", (r->end - r->start) * 1e3);
	cJSON_AddNumberToObject(m, "stdout_bytes", (double)r->out_len);
	cJSON_AddNumberToObject(m, "stderr_bytes", (double)r->err_len);
	if (r->cut)
		cJSON_AddNumberToObject(m, "cut", (double)r->cut);
	if (r->interpreter)
		cJSON_AddStringToObject(m, "interpreter", r->interpreter);
	if (r->name)
		cJSON_AddStringToObject(m, "name", r->name);
	if (r->document) {
		cJSON_AddStringToObject(m, "document", r->document);
		cJSON_AddNumberToObject(m, "line", r->line);
	}
	if (r->git_commit) {
		cJSON *git = cJSON_AddObjectToObject(m, "git");
		cJSON_AddStringToObject(git, "commit", r->git_commit);
		cJSON_AddBoolToObject(git, "dirty", r->git_dirty);
	}
	cJSON_AddArrayToObject(m, "upstream");
	text = cJSON_Print(m);
	cJSON_Delete(m);
	return text;
}

int
store_put_drv(struct store *s, const char *key, const char *drv)
{
	sqlite3_stmt *st = store_stmt(s, STMT_PUT_DRV);
	int rc = 0;

	if (!st)
		return MD_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, drv, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, "cannot write");
	return rc;
}

/* A part as SQLite binds it: never NULL. */
static void
bind_part(sqlite3_stmt *st, int col, const char *p, size_t n)
{
	sqlite3_bind_blob64(st, col, p ? p : "", p ? n : 0, SQLITE_STATIC);
}

bool
store_next_kept(const char **p, const char *end, char hash[MD_HASH_HEX],
		const char **path, int *len)
{
	while (*p && *p < end) {
		const char *at = *p, *nl = memchr(at, '\n', (size_t)(end - at));

		if (!nl)
			nl = end;
		*p = nl + 1;
		if (nl - at > MD_HASH_HEX && at[0] != '!' && at[0] != '-') {
			memcpy(hash, at, MD_HASH_HEX - 1);
			hash[MD_HASH_HEX - 1] = '\0';
			*path = at + MD_HASH_HEX;
			*len = (int)(nl - *path);
			return true;
		}
	}
	return false;
}

int
store_put_blob(struct store *s, const void *data, size_t n)
{
	sqlite3_stmt *st = store_stmt(s, STMT_PUT_BLOB);
	char hash[MD_HASH_HEX];

	if (!st)
		return MD_ERROR;
	md_hash_bytes(hash, data ? data : "", n);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	bind_part(st, 2, data ? data : "", n);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_db_err(s, "cannot write");
	return 0;
}

int
store_put_real(struct store *s, const char *key, const char *rhash,
	       const char *meta, const struct store_parts *p, bool files)
{
	sqlite3_stmt *st = NULL;
	struct store_real m;
	char what[96];
	int rc;

	/* What a render reads of the meta, once, as columns. */
	memset(&m, 0, sizeof(m));
	snprintf(what, sizeof(what), "realization %.12s of key %.12s", rhash,
		 key);
	if ((rc = store_parse_meta(&m, meta, strlen(meta), what)) < 0)
		return rc;
	if (!isfinite(m.start) || !isfinite(m.end))
		return md_err_set("%s: its times are not numbers", what);
	st = store_stmt(s, STMT_PUT_REAL);
	if (!st)
		return MD_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, meta, -1, SQLITE_STATIC);
	bind_part(st, 4, p->so, p->so_len);
	bind_part(st, 5, p->se, p->se_len);
	sqlite3_bind_int(st, 6, files);
	sqlite3_bind_int(st, 7, m.exit.code);
	sqlite3_bind_int(st, 8, m.exit.signal);
	sqlite3_bind_int(st, 9, m.exit.timed_out);
	sqlite3_bind_double(st, 10, m.start);
	sqlite3_bind_double(st, 11, m.end);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)m.cut);
	bind_part(st, 13, p->outs, p->outs_len);
	bind_part(st, 14, p->reads, p->reads_len);
	bind_part(st, 15, p->writes, p->writes_len);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, "cannot write");
	return rc;
}

int
store_put_run(struct store *s, const char *key, const struct store_run *r)
{
	sqlite3_stmt *st = store_stmt(s, STMT_PUT_RUN);
	long long ns = r->ns;
	int rc = 0;

	if (!st)
		return MD_ERROR;
	if (ns <= 0 || ns > now_ns())
		ns = now_ns();
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->seq);
	sqlite3_bind_int64(st, 3, ns);
	sqlite3_bind_text(st, 4, r->rhash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, r->failed);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->cut);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, "cannot write");
	return rc;
}

int
store_put_object(struct store *s, const char *rhash, const char *dir)
{
	char *final = store_object_dir(s, rhash);
	int rc = 0;

	if (md_fs_is_dir(final)) {
		/* The same rhash is the same tree: ours goes. */
		chmod(dir, 0755);
		rc = md_fs_rmtree(dir);
		goto done;
	}
	/* Moving a folder updates its "..": it must be writable. */
	chmod(dir, 0755);
	if (rename(dir, final) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			rc = md_fs_rmtree(dir); /* an equal commit won */
		else
			rc = md_err_sys("%s: cannot move the artifacts", dir);
		goto done;
	}
	md_crashpoint("commit:object");
	rc = md_fs_make_readonly(final);
done:
	free(final);
	return rc;
}

/* Deletes the row of realization rhash of key, inside a transaction. */
static int
drop_real(struct store *s, const char *key, const char *rhash)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM real WHERE key = ?1"
					    " AND rhash = ?2");
	int rc = 0;

	if (!st)
		return MD_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rhash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, "cannot write");
	sqlite3_finalize(st);
	return rc;
}

/*
 * The rows of one run, inside a transaction: the key's fields, the
 * realization (unless there; replaced, when repair is set, if the row
 * there cannot be read), the run.
 */
static int
record_rows(struct store *s, const char *key, const char *drv,
	    const char *rhash, const char *meta, const struct store_parts *p,
	    const struct md_buf *blobs, size_t nblobs, bool files, bool repair,
	    bool failed, size_t cut, long long ns)
{
	struct store_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	memcpy(run.rhash, rhash, MD_HASH_HEX);
	run.failed = failed;
	run.cut = cut;
	run.ns = ns;
	if (drv && (rc = store_put_drv(s, key, drv)) < 0)
		return rc;
	/*
	 * A row of this rhash that cannot be read (damaged: the error said
	 * to render with --rebuild) is replaced by this run's.
	 */
	if (repair && store_row_damaged(s, key, rhash) &&
	    (rc = drop_real(s, key, rhash)) < 0)
		return rc;
	for (size_t i = 0; meta && i < nblobs; i++)
		if ((rc = store_put_blob(s, blobs[i].ptr, blobs[i].len)) < 0)
			return rc;
	if (meta && (rc = store_put_real(s, key, rhash, meta, p, files)) < 0)
		return rc;
	return store_put_run(s, key, &run);
}

/* record_rows in a transaction of its own. */
static int
record(struct store *s, const char *key, const char *drv, const char *rhash,
       const char *meta, const struct store_parts *p,
       const struct md_buf *blobs, size_t nblobs, bool files, bool repair,
       bool failed, size_t cut, long long ns)
{
	int rc;

	store_forget(s, key);
	if ((rc = store_begin(s, true)) < 0)
		return rc;
	rc = record_rows(s, key, drv, rhash, meta, p, blobs, nblobs, files,
			 repair, failed, cut, ns);
	if (rc == 0)
		rc = store_bump(s);
	rc = store_end(s, rc);
	if (rc == 0)
		md_crashpoint("commit:recorded");
	return rc;
}

/* real/NAME, a regular file, into out; a missing one is empty. */
static int
read_part(struct md_buf *out, const char *real, const char *name,
	  size_t max)
{
	char *p = md_path_join(real, name);
	int rc = md_fs_read_regular(out, p, max);

	if (rc == MD_ENOTFOUND && strcmp(name, "meta.json"))
		rc = 0;
	else if (rc == MD_ENOTFOUND)
		rc = md_err_set("%s: missing", p);
	free(p);
	return rc;
}

int
store_publish(struct store *s, const char *key, const char *drv,
	      const char *rhash, const char *real, bool failed, size_t cut,
	      long long ns)
{
	struct md_buf meta = MD_BUF_INIT, so = MD_BUF_INIT, se = MD_BUF_INIT;
	struct md_buf outs = MD_BUF_INIT, reads = MD_BUF_INIT;
	struct md_buf writes = MD_BUF_INIT, *blobs = NULL;
	char *out = NULL, **names = NULL, *bdir = NULL;
	size_t nblobs = 0, i;
	bool files = false;
	int rc = 0;

	if (!real)
		return record(s, key, drv, rhash, NULL, NULL, NULL, 0, false,
			      false, failed, cut, ns);
	if ((rc = read_part(&meta, real, "meta.json", STORE_RECORD_MAX)) <
		    0 ||
	    (rc = read_part(&so, real, "stdout", 0)) < 0 ||
	    (rc = read_part(&se, real, "stderr", 0)) < 0 ||
	    (rc = read_part(&outs, real, "outputs", 0)) < 0 ||
	    (rc = read_part(&reads, real, "reads", 0)) < 0 ||
	    (rc = read_part(&writes, real, "writes", 0)) < 0)
		goto done;
	/* The contents its writes keep: blobs/HASH (pull checked them). */
	bdir = md_path_join(real, "blobs");
	if (md_fs_is_dir(bdir) &&
	    (rc = md_fs_list(&names, &nblobs, bdir)) < 0)
		goto done;
	blobs = md_calloc(nblobs + 1, sizeof(*blobs));
	for (i = 0; i < nblobs; i++)
		if ((rc = read_part(&blobs[i], bdir, names[i], 0)) < 0)
			goto done;
	out = md_path_join(real, "out");
	if (md_fs_is_dir(out) && !md_fs_is_empty(out)) {
		if ((rc = store_put_object(s, rhash, out)) < 0)
			goto done;
		files = true;
	}
	struct store_parts p = { so.ptr, se.ptr, outs.ptr, reads.ptr,
				 writes.ptr, so.len, se.len, outs.len,
				 reads.len, writes.len };
	rc = record(s, key, drv, rhash, meta.ptr, &p, blobs, nblobs, files,
		    false, failed, cut, ns);
done:
	md_fs_rmtree_quiet(real);
	for (i = 0; i < nblobs; i++) {
		if (blobs)
			md_buf_dispose(&blobs[i]);
		free(names[i]);
	}
	free(blobs);
	free(names);
	free(bdir);
	md_buf_dispose(&writes);
	free(out);
	md_buf_dispose(&meta);
	md_buf_dispose(&so);
	md_buf_dispose(&se);
	md_buf_dispose(&outs);
	md_buf_dispose(&reads);
	return rc;
}

/*
 * All of a commit but its rows: the rhash, the artifacts moved into the
 * store, the realization's meta (*meta, freed by the caller).
 */
static int
prepare(char rhash[MD_HASH_HEX], char **meta, bool *files, struct store *s,
	const char *key, const struct store_result *r)
{
	int rc;

	*meta = NULL;
	/* No artifacts, no object: an empty tree hashes as none. */
	*files = r->artifacts && !md_fs_is_empty(r->artifacts);
	if (*files && (rc = md_fs_walk(r->artifacts, own_entry, NULL)) < 0 &&
	    rc != MD_ENOTFOUND)
		return rc;
	if ((rc = store_rhash(rhash, r->out, r->out_len, r->err, r->err_len,
			      r->outs, r->outs ? r->outs_len : 0, r->reads,
			      r->reads ? r->reads_len : 0, r->writes,
			      r->writes ? r->writes_len : 0, &r->exit,
			      *files ? r->artifacts : NULL)) < 0)
		return rc;
	if (*files && (rc = store_put_object(s, rhash, r->artifacts)) < 0)
		return rc;
	*meta = meta_json(key, rhash, r);
	return 0;
}

int
store_commit(char out[MD_HASH_HEX], struct store *s, const char *key,
	     const char *drv, const struct store_result *r)
{
	struct store_parts p = { r->out, r->err, r->outs, r->reads, r->writes,
				 r->out_len, r->err_len, r->outs_len,
				 r->reads_len, r->writes_len };
	char rhash[MD_HASH_HEX];
	char *meta = NULL;
	bool files;
	int rc;

	if ((rc = prepare(rhash, &meta, &files, s, key, r)) == 0)
		rc = record(s, key, drv, rhash, meta, &p, r->blobs, r->nblobs,
			    files, true, md_exit_failed(&r->exit), r->cut, 0);
	if (rc == 0)
		memcpy(out, rhash, MD_HASH_HEX);
	free(meta);
	return rc;
}

/*
 * Commits whose rows wait (store_commit_later): copies of them, oldest
 * first.
 */
struct store_later {
	struct store_later *next;
	char key[MD_HASH_HEX], rhash[MD_HASH_HEX];
	char *drv, *meta;
	/* so, se, outs, reads, writes; NULL where the result had none */
	char *part[5];
	size_t len[5];
	struct md_buf *blobs;
	size_t nblobs;
	bool files, failed;
	size_t cut;
	long long ns;
};

static char *
copy_part(const char *p, size_t n)
{
	char *c;

	if (!p)
		return NULL;
	c = md_malloc(n + 1);
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

void
store_later_drop(struct store_later *l)
{
	while (l) {
		struct store_later *next = l->next;

		for (size_t i = 0; i < 5; i++)
			free(l->part[i]);
		for (size_t i = 0; i < l->nblobs; i++)
			md_buf_dispose(&l->blobs[i]);
		free(l->blobs);
		free(l->drv);
		free(l->meta);
		free(l);
		l = next;
	}
}

int
store_commit_later(char out[MD_HASH_HEX], struct store_later **later,
		   struct store *s, const char *key, const char *drv,
		   const struct store_result *r)
{
	const char *part[5] = { r->out, r->err, r->outs, r->reads, r->writes };
	size_t len[5] = { r->out_len, r->err_len, r->outs_len, r->reads_len,
			  r->writes_len };
	struct store_later *l, **tail = later;
	char rhash[MD_HASH_HEX];
	char *meta;
	bool files;
	int rc;

	if ((rc = prepare(rhash, &meta, &files, s, key, r)) < 0)
		return rc;
	l = md_calloc(1, sizeof(*l));
	snprintf(l->key, sizeof(l->key), "%s", key);
	memcpy(l->rhash, rhash, MD_HASH_HEX);
	l->drv = drv ? md_strdup(drv) : NULL;
	l->meta = meta;
	for (size_t i = 0; i < 5; i++) {
		l->part[i] = copy_part(part[i], len[i]);
		l->len[i] = len[i];
	}
	l->blobs = md_calloc(r->nblobs + 1, sizeof(*l->blobs));
	for (size_t i = 0; i < r->nblobs; i++)
		md_buf_put(&l->blobs[i], r->blobs[i].ptr, r->blobs[i].len);
	l->nblobs = r->nblobs;
	l->files = files;
	l->failed = md_exit_failed(&r->exit);
	l->cut = r->cut;
	l->ns = now_ns();
	while (*tail)
		tail = &(*tail)->next;
	*tail = l;
	memcpy(out, rhash, MD_HASH_HEX);
	return 0;
}

int
store_later_write(struct store *s, struct store_later **later, bool wait)
{
	struct store_later *l = *later;
	int rc;

	if (!l)
		return 0;
	for (struct store_later *k = l; k; k = k->next)
		store_forget(s, k->key);
	if ((rc = wait ? store_begin(s, true) : store_begin_now(s)) ==
	    STORE_BUSY)
		return rc; /* they wait on, in *later */
	*later = NULL;
	if (rc < 0)
		goto done;
	for (struct store_later *k = l; k && rc == 0; k = k->next) {
		struct store_parts p = {
			k->part[0], k->part[1], k->part[2], k->part[3],
			k->part[4], k->len[0],	k->len[1],  k->len[2],
			k->len[3],  k->len[4]
		};

		rc = record_rows(s, k->key, k->drv, k->rhash, k->meta, &p,
				 k->blobs, k->nblobs, k->files, true, k->failed,
				 k->cut, k->ns);
	}
	if (rc == 0)
		rc = store_bump(s);
	rc = store_end(s, rc);
	if (rc == 0)
		md_crashpoint("commit:recorded");
done:
	store_later_drop(l);
	return rc;
}
