/*
 * Listing, resolving, verifying and removing what the store holds.
 *
 * Keys are those tables drv, real and run name; a key's fields are its
 * drv row, a realization's meta its real row. `store verify` recomputes
 * every key from its drv fields and every rhash from its real row
 * (stdout, stderr, the exit record in meta) and, when the row says it has
 * files, from objects/RHASH; it checks that every run names a
 * realization, runs SQLite's integrity check, and names the folders of
 * objects/ no realization with files names (gc removes those). store_rm
 * deletes a key's rows in one transaction, then the object folders no
 * realization names any longer: a kill in between leaves only folders
 * no row names, which gc removes.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "../util/crash.h"
#include "../util/err.h"
#include "../util/fs.h"

/* Every key any table holds (a row with a key that is not a hash: none). */
static const char keys_sql[] = "SELECT key FROM drv UNION SELECT key FROM real "
			       "UNION SELECT key FROM run";

/* Runs sql, a statement that gives no rows, with ?1 = a and ?2 = b. */
static int
run(struct store *s, const char *what, const char *sql, const char *a,
    const char *b)
{
	sqlite3_stmt *st = store_query(s, sql, a, b);
	int rc = 0;

	if (!st)
		return MD_ERROR;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, what);
	sqlite3_finalize(st);
	return rc;
}

/*
 * Column col of a row as bytes, when it holds text or a blob; false when
 * it holds anything else or more than STORE_RECORD_MAX bytes (a hostile
 * database).
 */
static bool
col_bytes(const char **p, size_t *n, sqlite3_stmt *st, int col)
{
	int t = sqlite3_column_type(st, col);

	if (t != SQLITE_TEXT && t != SQLITE_BLOB)
		return false;
	*p = t == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, col)
			      : sqlite3_column_blob(st, col);
	*n = (size_t)sqlite3_column_bytes(st, col);
	if (!*p)
		*p = "";
	return *n <= STORE_RECORD_MAX;
}

/* Appends key to the array *out of *n keys (cap: its room). */
static void
keys_add(char ***out, size_t *n, size_t *cap, const char *key)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*out = md_realloc(*out, *cap * sizeof(**out));
	}
	(*out)[(*n)++] = md_strdup(key);
}

int
store_keys(char ***out, size_t *n, struct store *s)
{
	sqlite3_stmt *st = NULL;
	char key[MD_HASH_HEX];
	size_t cap = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_query(s, keys_sql, NULL, NULL))) {
		rc = MD_ERROR;
		goto done;
	}
	/* A key that is not a hash is left out: store verify names it. */
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (store_col_hash(key, st, 0))
			keys_add(out, n, &cap, key);
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "listing keys");
done:
	sqlite3_finalize(st);
	if ((rc = store_end(s, rc)) < 0) {
		store_keys_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void
store_keys_free(char **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int
store_resolve(char out[MD_HASH_HEX], struct store *s, const char *ref)
{
	static const char sql[] =
		"SELECT key FROM drv WHERE key GLOB ?1 UNION "
		"SELECT key FROM real WHERE key GLOB ?1 UNION "
		"SELECT key FROM run WHERE key GLOB ?1";
	sqlite3_stmt *st = NULL;
	size_t len = strlen(ref), found = 0;
	char key[MD_HASH_HEX], *pattern = NULL;
	int rc, step = SQLITE_DONE;

	if (len < 4 || len > 64 || strspn(ref, "0123456789abcdef") != len)
		return md_err_set("'%s' is not a key or a key prefix (4 to 64 "
				  "hex digits)", ref);
	/* Hex digits only: nothing in ref means anything to GLOB. */
	pattern = md_malloc(len + 2);
	memcpy(pattern, ref, len);
	memcpy(pattern + len, "*", 2);
	if ((rc = store_begin(s, false)) < 0)
		goto done;
	if (!(st = store_query(s, sql, pattern, NULL)))
		rc = MD_ERROR;
	while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!store_col_hash(key, st, 0))
			continue;
		if (found++ == 0)
			memcpy(out, key, MD_HASH_HEX);
	}
	if (st && step != SQLITE_DONE)
		rc = store_db_err(s, "resolving a key");
	sqlite3_finalize(st);
	if ((rc = store_end(s, rc)) < 0)
		goto done;
	if (found == 0) {
		md_err_set("no key in the store starts with '%s'", ref);
		rc = MD_ENOTFOUND;
	} else if (found > 1)
		rc = md_err_set("'%s' is ambiguous: %zu keys start with it",
				ref, found);
done:
	free(pattern);
	return rc;
}

/* Adds a file's size to the total at arg (md_fs_walk). */
static int
du_entry(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	if (step == MD_WALK_FILE)
		*(unsigned long long *)arg += (unsigned long long)w->st.st_size;
	return 0;
}

unsigned long long
store_du(const char *path)
{
	unsigned long long total = 0;
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (unsigned long long)st.st_size;
	md_fs_walk(path, du_entry, &total);
	return total;
}

int
store_meta_text(struct md_buf *out, struct store *s, const char *key,
		const char *rhash)
{
	sqlite3_stmt *st;
	const char *p;
	size_t n;
	int rc, step;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	st = store_query(s, "SELECT meta FROM real WHERE key = ?1 AND rhash = ?2",
		   key, rhash);
	if (!st) {
		rc = MD_ERROR;
	} else if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		md_err_set("%s: no realization %.12s of key %.12s", s->db_path,
			   rhash, key);
		rc = MD_ENOTFOUND;
	} else if (step != SQLITE_ROW) {
		rc = store_db_err(s, "reading a realization's meta");
	} else if (!col_bytes(&p, &n, st, 0)) {
		rc = md_err_set("%s: the meta of %.12s/%.12s is malformed",
				s->db_path, key, rhash);
	} else {
		md_buf_put(out, p, n);
	}
	sqlite3_finalize(st);
	return store_end(s, rc);
}

/*
 * Reads and parses key's drv fields: *out the drv object, whose "fields"
 * is an object. MD_ENOTFOUND when the key has no drv row; an error naming
 * the key when it is malformed.
 */
static int
read_drv(cJSON **out, struct store *s, const char *key)
{
	sqlite3_stmt *st;
	const char *p;
	size_t n;
	int rc, step;

	*out = NULL;
	if ((rc = store_begin(s, false)) < 0)
		return rc;
	st = store_query(s, "SELECT fields FROM drv WHERE key = ?1", key, NULL);
	if (!st) {
		rc = MD_ERROR;
	} else if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		md_err_set("%s: key %.12s has no drv fields", s->db_path, key);
		rc = MD_ENOTFOUND;
	} else if (step != SQLITE_ROW) {
		rc = store_db_err(s, "reading drv fields");
	} else if (!col_bytes(&p, &n, st, 0) ||
		   !cJSON_IsObject(*out = cJSON_ParseWithLength(p, n)) ||
		   !cJSON_IsObject(cJSON_GetObjectItem(*out, "fields"))) {
		rc = md_err_set("%s: the drv fields of key %.12s are malformed",
				s->db_path, key);
	}
	sqlite3_finalize(st);
	if ((rc = store_end(s, rc)) < 0) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

int
store_drv(struct md_buf *out, struct store *s, const char *key)
{
	cJSON *drv, *f;
	int rc;

	if ((rc = read_drv(&drv, s, key)) < 0)
		return rc;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(drv, "fields"))
	{
		const char *v = cJSON_IsString(f) ? f->valuestring : "";

		md_buf_printf(out, "%s:", f->string);
		/* mdrun's list fields: one item a line. */
		struct md_buf items = MD_BUF_INIT;
		if ((!strcmp(f->string, "env") || !strcmp(f->string, "inputs") ||
		     !strcmp(f->string, "deps")) && *v &&
		    store_key_pairs_text(&items, v))
			v = items.ptr;
		if (!strchr(v, '\n')) {
			md_buf_printf(out, " %s\n", v);
			md_buf_dispose(&items);
			continue;
		}
		/* Several lines: each indented under the name. */
		md_buf_puts(out, " |\n");
		while (*v) {
			size_t n = strcspn(v, "\n");
			md_buf_puts(out, "    ");
			md_buf_put(out, v, n);
			md_buf_putc(out, '\n');
			v += n + (v[n] == '\n');
		}
		md_buf_dispose(&items);
	}
	cJSON_Delete(drv);
	return 0;
}

/* Recomputes the key from the drv fields, in order. */
static bool
key_matches(cJSON *drv, const char *key)
{
	cJSON *fields = cJSON_GetObjectItem(drv, "fields"), *f;
	size_t n = 0, i = 0;
	struct store_field *v;
	char again[MD_HASH_HEX];

	cJSON_ArrayForEach(f, fields)
		n++;
	v = md_calloc(n ? n : 1, sizeof(*v));
	cJSON_ArrayForEach(f, fields)
		v[i++] = (struct store_field){
			f->string ? f->string : "",
			cJSON_IsString(f) ? f->valuestring : ""
		};
	store_key(again, v, n);
	/*
	 * Keys of format 1 hashed "NAME LEN:VALUE\n" (md_hash_field): a store
	 * written then still verifies; its blocks run again under new keys.
	 */
	if (strcmp(again, key) && n && !strcmp(v[0].name, "mdrun-key") &&
	    !strcmp(v[0].value, "1")) {
		struct md_hash h;
		md_hash_init(&h);
		for (i = 0; i < n; i++)
			md_hash_field(&h, v[i].name, v[i].value,
				      strlen(v[i].value));
		md_hash_final(again, &h);
	}
	free(v);
	return !strcmp(again, key);
}

/* Says that meta gives name (stdout or stderr) another size than it has. */
static char *
size_mismatch(const char *name, size_t said, size_t has)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "meta: \"%s_bytes\" is %zu, but %s has %zu bytes",
		      name, said, name, has);
	return md_buf_detach(&b);
}

/*
 * Reads the real row of (key, rhash): meta, stdout, stderr and the output
 * list appended to the buffers, *files its files flag. *why says what is wrong with the
 * row, or that there is none; an error only when the database cannot be
 * read.
 */
static int
read_row(char **why, struct md_buf *meta, struct md_buf *so,
	 struct md_buf *se, struct md_buf *outs, struct md_buf *reads,
	 struct md_buf *writes, bool *files, struct store *s, const char *key,
	 const char *rhash)
{
	static const char sql[] = "SELECT meta, stdout, stderr, outputs, "
				  "reads, writes, files FROM real WHERE "
				  "key = ?1 AND rhash = ?2";
	struct md_buf *part[] = { meta, so, se, outs, reads, writes };
	static const char *const name[] = { "meta", "stdout", "stderr",
					    "output list", "list of reads",
					    "list of writes" };
	sqlite3_stmt *st;
	const char *p;
	size_t n;
	int rc, step, i;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_query(s, sql, key, rhash))) {
		rc = MD_ERROR;
		goto done;
	}
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		*why = md_strdup("no such realization in the store");
		goto done;
	}
	if (step != SQLITE_ROW) {
		rc = store_db_err(s, "reading a realization");
		goto done;
	}
	for (i = 0; i < 6; i++) {
		int t = sqlite3_column_type(st, i);

		p = t == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, i)
				     : sqlite3_column_blob(st, i);
		n = (size_t)sqlite3_column_bytes(st, i);
		/* meta is a record; outputs are as large as commits made them. */
		if ((t != SQLITE_TEXT && t != SQLITE_BLOB) ||
		    (i == 0 && n > STORE_RECORD_MAX)) {
			struct md_buf b = MD_BUF_INIT;
			md_buf_printf(&b, "its %s is malformed", name[i]);
			*why = md_buf_detach(&b);
			goto done;
		}
		md_buf_put(part[i], p ? p : "", n);
	}
	if (sqlite3_column_type(st, 6) != SQLITE_INTEGER ||
	    (unsigned long long)sqlite3_column_int64(st, 6) > 1)
		*why = md_strdup("its files flag is malformed");
	*files = sqlite3_column_int64(st, 6) == 1;
done:
	sqlite3_finalize(st);
	return store_end(s, rc);
}

/*
 * Why the object folder dir of a realization with files cannot be
 * hashed, or NULL when it is a folder.
 */
static char *
object_missing(const char *dir)
{
	struct md_buf b = MD_BUF_INIT;
	struct stat st;
	int r = lstat(dir, &st);

	if (r == 0 && S_ISDIR(st.st_mode))
		return NULL;
	if (r == 0)
		md_buf_printf(&b, "its files (%s) are not a folder", dir);
	else if (errno == ENOENT)
		md_buf_printf(&b, "its files (%s) are missing", dir);
	else
		md_buf_printf(&b, "%s: %s", dir, strerror(errno));
	return md_buf_detach(&b);
}

/*
 * Why the contents a realization's writes keep ("HASH PATH" lines of
 * writes) are not all in the blob table with that hash, or NULL.
 */
static char *
blobs_bad(struct store *s, const struct md_buf *writes)
{
	const char *p = writes->ptr, *end = writes->ptr + writes->len, *path;
	struct md_buf data = MD_BUF_INIT, b = MD_BUF_INIT;
	char hash[MD_HASH_HEX], again[MD_HASH_HEX];
	int len;

	while (!b.len && store_next_kept(&p, end, hash, &path, &len)) {
		md_buf_clear(&data);
		if (store_blob(&data, s, hash) < 0) {
			md_buf_printf(&b, "the content of %.*s it wrote is "
					  "missing", len, path);
			continue;
		}
		md_hash_bytes(again, data.ptr ? data.ptr : "", data.len);
		if (strcmp(again, hash))
			md_buf_printf(&b, "the content of %.*s it wrote does "
					  "not match its hash", len, path);
	}
	md_err_clear();
	md_buf_dispose(&data);
	return b.len ? md_buf_detach(&b) : (md_buf_dispose(&b), NULL);
}

void
store_verify_real(char **why, struct store *s, const char *key,
		  const char *rhash)
{
	struct store_real r, shown;
	struct md_buf meta = MD_BUF_INIT, so = MD_BUF_INIT, se = MD_BUF_INIT;
	struct md_buf outs = MD_BUF_INIT, reads = MD_BUF_INIT;
	struct md_buf writes = MD_BUF_INIT;
	char again[MD_HASH_HEX], *dir = NULL;
	bool files = false;
	int rc;

	*why = NULL;
	memset(&r, 0, sizeof(r));
	memset(&shown, 0, sizeof(shown));
	if ((rc = read_row(why, &meta, &so, &se, &outs, &reads, &writes,
			   &files, s, key, rhash)) < 0 ||
	    *why)
		goto done;
	if ((rc = store_parse_meta(&r, meta.ptr, meta.len, "meta")) < 0)
		goto done;
	if (files) {
		dir = store_object_dir(s, rhash);
		if ((*why = object_missing(dir)))
			goto done;
	}
	if ((rc = store_rhash(again, so.ptr, so.len, se.ptr, se.len, outs.ptr,
			      outs.len, reads.ptr, reads.len, writes.ptr,
			      writes.len, &r.exit, dir)) < 0)
		goto done;
	if (strcmp(again, rhash))
		*why = md_strdup("its content does not match its hash");
	else if ((rc = store_read(&shown, s, key, rhash)) < 0)
		goto done;
	else if (shown.exit.code != r.exit.code ||
		 shown.exit.signal != r.exit.signal ||
		 shown.exit.timed_out != r.exit.timed_out ||
		 shown.cut != r.cut || shown.start != r.start ||
		 shown.end != r.end)
		*why = md_strdup("its exit record or times differ from its "
				 "meta");
	else if (r.sized && so.len != r.out_size)
		*why = size_mismatch("stdout", r.out_size, so.len);
	else if (r.sized && se.len != r.err_size)
		*why = size_mismatch("stderr", r.err_size, se.len);
	else
		*why = blobs_bad(s, &writes);
done:
	if (rc < 0 && !*why)
		*why = md_strdup(md_err_msg());
	store_real_dispose(&shown);
	md_buf_dispose(&meta);
	md_buf_dispose(&so);
	md_buf_dispose(&se);
	md_buf_dispose(&outs);
	md_buf_dispose(&reads);
	md_buf_dispose(&writes);
	free(dir);
}

/* What store_verify reports to, and how many problems it found. */
struct verify {
	struct store *s;
	void (*report)(const char *path, const char *what, void *ctx);
	void *ctx;
	size_t *bad;
};

/* Reports one problem: what, printf-style, about name. */
static void
problem(struct verify *v, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
problem(struct verify *v, const char *name, const char *fmt, ...)
{
	struct md_buf b = MD_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	md_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	v->report(name, b.ptr, v->ctx);
	(*v->bad)++;
	md_buf_dispose(&b);
}

/* SQLite's integrity check: each line that is not "ok" is a problem. */
static int
check_integrity(struct verify *v)
{
	sqlite3_stmt *st;
	const char *p;
	size_t n;
	int rc, step;

	if ((rc = store_begin(v->s, false)) < 0)
		return rc;
	if (!(st = store_query(v->s, "PRAGMA integrity_check", NULL, NULL)))
		rc = MD_ERROR;
	while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!col_bytes(&p, &n, st, 0))
			problem(v, v->s->db_path, "integrity check: %s",
				"an unreadable answer");
		else if (n != 2 || memcmp(p, "ok", 2))
			problem(v, v->s->db_path, "integrity check: %.*s",
				(int)n, p);
	}
	if (st && step != SQLITE_DONE)
		rc = store_db_err(v->s, "integrity check");
	sqlite3_finalize(st);
	return store_end(v->s, rc);
}

/* Rows of drv, real and run whose key is not a hash: no key reaches them. */
static int
check_key_columns(struct verify *v)
{
	static const char *const table[] = { "drv", "real", "run" };
	struct md_buf sql = MD_BUF_INIT;
	char key[MD_HASH_HEX];
	int rc, step = SQLITE_DONE;

	if ((rc = store_begin(v->s, false)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < 3; i++) {
		sqlite3_stmt *st;
		size_t count = 0;

		md_buf_clear(&sql);
		md_buf_printf(&sql, "SELECT key FROM %s", table[i]);
		if (!(st = store_query(v->s, sql.ptr, NULL, NULL))) {
			rc = MD_ERROR;
			break;
		}
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			count += !store_col_hash(key, st, 0);
		if (step != SQLITE_DONE)
			rc = store_db_err(v->s, "listing keys");
		sqlite3_finalize(st);
		if (count)
			problem(v, v->s->db_path, "%zu %s of table %s %s a key "
				"that is not a hash", count,
				count == 1 ? "row" : "rows", table[i],
				count == 1 ? "has" : "have");
	}
	md_buf_dispose(&sql);
	return store_end(v->s, rc);
}

/*
 * Checks key's drv fields and its runs, and lists its realizations into
 * *reals (caller frees) for store_verify_real.
 */
static int
check_key_rows(char (**reals)[MD_HASH_HEX], size_t *n, struct verify *v,
	       const char *key)
{
	static const char dangling[] =
		"SELECT seq, rhash FROM run WHERE key = ?1 AND NOT EXISTS "
		"(SELECT 1 FROM real WHERE real.key = run.key AND "
		"real.rhash = run.rhash) ORDER BY seq";
	sqlite3_stmt *st = NULL;
	char rhash[MD_HASH_HEX];
	size_t unnamed = 0;
	int rc, step;

	*reals = NULL;
	*n = 0;
	if ((rc = store_begin(v->s, false)) < 0)
		return rc;
	if (!(st = store_query(v->s, "SELECT rhash FROM real WHERE key = ?1", key,
			 NULL))) {
		rc = MD_ERROR;
		goto done;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!store_col_hash(rhash, st, 0)) {
			unnamed++;
			continue;
		}
		*reals = md_realloc(*reals, (*n + 1) * MD_HASH_HEX);
		memcpy((*reals)[(*n)++], rhash, MD_HASH_HEX);
	}
	if (step != SQLITE_DONE) {
		rc = store_db_err(v->s, "listing realizations");
		goto done;
	}
	if (unnamed)
		problem(v, key, "%zu of its realizations %s not named by a "
			"hash", unnamed, unnamed == 1 ? "is" : "are");
	sqlite3_finalize(st);
	if (!(st = store_query(v->s, dangling, key, NULL))) {
		rc = MD_ERROR;
		goto done;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		long long seq = sqlite3_column_int64(st, 0);
		if (store_col_hash(rhash, st, 1))
			problem(v, key, "run %lld names realization %.12s, "
				"which is not in the store", seq, rhash);
		else
			problem(v, key, "run %lld names no realization", seq);
	}
	if (step != SQLITE_DONE)
		rc = store_db_err(v->s, "listing runs");
done:
	sqlite3_finalize(st);
	return store_end(v->s, rc);
}

/* Verifies key: its fields, its runs and each of its realizations. */
static int
verify_key(struct verify *v, const char *key)
{
	char (*reals)[MD_HASH_HEX] = NULL;
	size_t n = 0, i;
	cJSON *drv = NULL;
	int rc;

	if ((rc = read_drv(&drv, v->s, key)) == MD_ENOTFOUND)
		problem(v, key, "it has no drv fields");
	else if (rc < 0)
		problem(v, key, "%s", md_err_msg());
	else if (!key_matches(drv, key))
		problem(v, key, "the key does not match its drv fields");
	cJSON_Delete(drv);
	if ((rc = check_key_rows(&reals, &n, v, key)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		char *why = NULL, name[2 * MD_HASH_HEX];

		store_verify_real(&why, v->s, key, reals[i]);
		if (why) {
			snprintf(name, sizeof(name), "%s/%s", key, reals[i]);
			problem(v, name, "%s", why);
		}
		free(why);
	}
done:
	free(reals);
	return rc;
}

/*
 * The folders of objects/ no realization with files names: left by a
 * kill after an object was placed, or after its rows were deleted.
 */
static int
check_objects(struct verify *v)
{
	static const char sql[] =
		"SELECT 1 FROM real WHERE rhash = ?1 AND files = 1 LIMIT 1";
	DIR *d;
	struct dirent *e;
	int rc;

	if (!(d = opendir(v->s->objects)))
		return errno == ENOENT ? 0
				       : md_err_sys("%s", v->s->objects);
	if ((rc = store_begin(v->s, false)) < 0) {
		closedir(d);
		return rc;
	}
	while (rc == 0 && (e = readdir(d))) {
		sqlite3_stmt *st = NULL;
		int step = SQLITE_DONE;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (store_is_hash(e->d_name)) {
			if (!(st = store_query(v->s, sql, e->d_name, NULL))) {
				rc = MD_ERROR;
				break;
			}
			step = sqlite3_step(st);
			sqlite3_finalize(st);
		}
		if (step == SQLITE_ROW)
			continue;
		if (step != SQLITE_DONE) {
			rc = store_db_err(v->s, "looking up an object");
			break;
		}
		char *path = md_path_join(v->s->objects, e->d_name);
		problem(v, path, "not referenced (mdrun store gc removes it)");
		free(path);
	}
	closedir(d);
	return store_end(v->s, rc);
}

/* A document's snapshot that is not what the store holds. */
static void
snap_problem(const char *doc, const char *why, void *ctx)
{
	problem(ctx, doc, "%s (mdrun store gc removes it)", why);
}

int
store_verify(size_t *bad, struct store *s,
	     void (*report)(const char *path, const char *what, void *ctx),
	     void *ctx)
{
	struct verify v = { s, report, ctx, bad };
	char **keys = NULL;
	size_t n = 0, i;
	int rc;

	*bad = 0;
	if ((rc = check_integrity(&v)) < 0 ||
	    (rc = check_key_columns(&v)) < 0 ||
	    (rc = store_keys(&keys, &n, s)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = verify_key(&v, keys[i]);
	if (rc == 0)
		rc = check_objects(&v);
	if (rc == 0)
		rc = store_snap_check(s, snap_problem, &v);
	store_keys_free(keys, n);
	return rc;
}

int
store_rm(struct store *s, const char *key)
{
	static const char *const del[] = {
		"DELETE FROM run WHERE key = ?1",
		"DELETE FROM real WHERE key = ?1",
		"DELETE FROM drv WHERE key = ?1",
	};
	static const char named[] =
		"SELECT 1 FROM real WHERE rhash = ?1 AND files = 1 LIMIT 1";
	char (*objs)[MD_HASH_HEX] = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0, kept = 0, i;
	int rc, step;

	/* Forgotten first: no lookup may pick what is being removed. */
	store_forget(s, key);
	if ((rc = store_begin(s, true)) < 0)
		return rc;
	st = store_query(s, "SELECT rhash FROM real WHERE key = ?1 AND files = 1",
		   key, NULL);
	if (!st) {
		rc = MD_ERROR;
		goto end;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		objs = md_realloc(objs, (n + 1) * MD_HASH_HEX);
		n += store_col_hash(objs[n], st, 0);
	}
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "listing realizations");
	for (i = 0; rc == 0 && i < 3; i++)
		rc = run(s, "removing a key", del[i], key, NULL);
	if (rc == 0)
		rc = store_bump(s);
	/* The objects another key's realization still names stay. */
	for (i = 0; rc == 0 && i < n; i++) {
		sqlite3_finalize(st);
		if (!(st = store_query(s, named, objs[i], NULL))) {
			rc = MD_ERROR;
			break;
		}
		if ((step = sqlite3_step(st)) == SQLITE_DONE)
			memmove(objs[kept++], objs[i], MD_HASH_HEX);
		else if (step != SQLITE_ROW)
			rc = store_db_err(s, "looking up an object");
	}
end:
	sqlite3_finalize(st);
	if ((rc = store_end(s, rc)) < 0)
		goto done;
	md_crashpoint("remove:unrecorded");
	for (i = 0; rc == 0 && i < kept; i++) {
		char *dir = store_object_dir(s, objs[i]);
		rc = store_remove_tree(s, dir);
		free(dir);
	}
done:
	free(objs);
	return rc;
}
