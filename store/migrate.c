/*
 * Migrating a v1 store into format 2, once: store_open calls
 * store_migrate_v1 when ROOT/VERSION says 1, holding the store-wide lock
 * exclusively. What v1 kept, and where it goes:
 *
 *   store/KEY/drv.json            drv: KEY and the text
 *   store/KEY/RHASH/meta.json, stdout, stderr (absent when empty)
 *                                 real: KEY, RHASH, the texts as they are
 *   store/KEY/RHASH/out/          objects/RHASH, moved (real.files 1)
 *   store/KEY/runs/[sSEQ-]T-RHASH-ok|failed[-cutN]
 *                                 run: seq 1, 2, ... in name order (v1's
 *                                 commit order), ns T, failed, cut N
 *   roots/H.json                  root: its "document", the text
 *   interp/NAME                   memo: NAME and the bytes
 *
 * A kill at any instant loses nothing: VERSION says 1 until the very end,
 * so the next store_open migrates again, and every step can be taken
 * twice.
 * 1. One write transaction walks the v1 folders and inserts every row,
 *    all of them or none (each insert leaves a row that is there alone).
 *    On the way, each out/ is renamed to objects/RHASH, whole, by one
 *    rename(2) from where it is (a folder in tmp/ would be swept, the
 *    tree with it, were the migration killed before the next rename); an
 *    objects/RHASH that is there was moved by a migration that was killed.
 * 2. syncfs(2) makes the rows durable before anything of v1 goes.
 * 3. store/, roots/ and interp/ are removed, each renamed into tmp/ at
 *    once.
 * 4. VERSION says 2. Last: written before step 3, a kill between the two
 *    would leave the v1 folders behind for good; after it, the next
 *    migration finds them gone (or some of them) and ends the job.
 *
 * Every file is read without following links and only when it is a
 * regular file. What cannot be read is skipped and counted, never fatal:
 * a key without a readable drv.json (and so its realizations and runs), a
 * realization without a readable meta.json or stdout, a run of a
 * realization that was not migrated, a root record or an interpreter
 * identity that cannot be read.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "../util/crash.h"
#include "../util/err.h"
#include "../util/fs.h"

/* What a migration found, and what it skipped. */
struct migration {
	struct store *s;
	size_t keys, reals;
	size_t bad_keys, bad_reals, bad_runs, bad_records;
};

/* The noun for a count of n. */
static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * The names in the folder path (a folder, not a link to one), sorted,
 * without "." and "..": *n of them in *out, which the caller frees with
 * md_strv_free. MD_ENOTFOUND when nothing is at path.
 */
static int
list_dir(char ***out, size_t *n, const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? MD_ENOTFOUND
				       : md_err_sys("%s", path);
	if (!(d = fdopendir(fd))) {
		int rc = md_err_sys("%s", path);
		close(fd);
		return rc;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			md_strv_push(out, n, md_strdup(e->d_name));
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), md_strp_cmp);
	return 0;
}

/* A record (drv.json, meta.json, a root) into out: JSON text, no NUL. */
static int
read_record(struct md_buf *out, const char *path)
{
	int rc = md_fs_read_regular(out, path, STORE_RECORD_MAX);

	if (rc == 0 && strlen(out->ptr) != out->len)
		rc = md_err_set("%s: holds a NUL byte", path);
	return rc;
}

/*
 * A realization's stdout or stderr at path into out: no larger than
 * meta.json says, when it says (sized), and exactly that large.
 */
static int
read_output(struct md_buf *out, const char *path, bool sized, size_t size)
{
	int rc = md_fs_read_regular(out, path, sized ? size + !size : 0);

	if (rc == 0 && sized && out->len != size)
		rc = md_err_set("%s: %zu bytes, but meta.json says %zu", path,
				out->len, size);
	return rc;
}

/* Counts the keys and realizations under v1 (store/), to say them. */
static void
count(struct migration *m, const char *v1)
{
	char **keys = NULL, **reals = NULL;
	size_t nk = 0, nr = 0, i, j;

	list_dir(&keys, &nk, v1);
	for (i = 0; i < nk; i++) {
		char *kdir;

		if (!store_is_hash(keys[i]))
			continue;
		m->keys++;
		kdir = md_path_join(v1, keys[i]);
		list_dir(&reals, &nr, kdir);
		for (j = 0; j < nr; j++)
			m->reals += store_is_hash(reals[j]);
		md_strv_free(reals);
		free(kdir);
	}
	md_strv_free(keys);
}

/*
 * Moves out/ of the realization folder dir to objects/RHASH, unless that
 * is there (moved by a migration that was killed). *files: whether
 * objects/RHASH holds the tree now. 1 when out/ is there but not a
 * folder (the realization is damaged).
 */
static int
move_out(bool *files, struct store *s, const char *dir, const char *rhash)
{
	char *out = md_path_join(dir, "out");
	char *obj = store_object_dir(s, rhash);
	char **names = NULL;
	size_t n = 0;
	struct stat st;
	int rc = 0;

	if (md_fs_is_dir(obj)) {
		/* Maybe moved, then killed before it was made read-only. */
		rc = md_fs_make_readonly(obj);
	} else if (lstat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
		rc = 1;
	} else if ((rc = list_dir(&names, &n, out)) == MD_ENOTFOUND) {
		rc = 0;
	} else if (rc == 0 && n) {
		/*
		 * v1 made realizations read-only (0555): moving out/ out of
		 * it takes write permission on it.
		 */
		chmod(dir, 0755);
		rc = store_put_object(s, rhash, out);
	}
	if (rc == 0)
		*files = md_fs_is_dir(obj);
	md_strv_free(names);
	free(obj);
	free(out);
	return rc;
}

/*
 * Migrates realization rhash of key, in the folder dir: its out/ tree,
 * then its row. 1 when it is skipped as damaged.
 */
static int
migrate_real(struct migration *m, const char *key, const char *rhash,
	     const char *dir)
{
	struct md_buf meta = MD_BUF_INIT, so = MD_BUF_INIT, se = MD_BUF_INIT;
	char *mp = md_path_join(dir, "meta.json");
	char *sop = md_path_join(dir, "stdout");
	char *sep = md_path_join(dir, "stderr");
	struct store_real r;
	struct stat st;
	bool files = false;
	int rc = 1, k;

	memset(&r, 0, sizeof(r));
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    read_record(&meta, mp) < 0 ||
	    store_parse_meta(&r, meta.ptr, meta.len, mp) < 0 ||
	    read_output(&so, sop, r.sized, r.out_size) < 0)
		goto done;
	/* An empty stderr has no file. */
	k = read_output(&se, sep, r.sized, r.err_size);
	if (k < 0 && !(k == MD_ENOTFOUND && (!r.sized || !r.err_size)))
		goto done;
	if ((rc = move_out(&files, m->s, dir, rhash)) != 0)
		goto done;
	struct store_parts p = { .so = so.ptr, .se = se.ptr,
				 .so_len = so.len, .se_len = se.len };
	rc = store_put_real(m->s, key, rhash, meta.ptr, &p, files);
done:
	md_buf_dispose(&meta);
	md_buf_dispose(&so);
	md_buf_dispose(&se);
	free(mp);
	free(sop);
	free(sep);
	return rc;
}

/*
 * The runs of key, from its runs/ folder, of the realizations migrated
 * (ok, sorted): numbered 1, 2, ... in name order, v1's commit order.
 */
static int
migrate_runs(struct migration *m, const char *kdir, const char *key,
	     char **ok, size_t nok)
{
	char *rdir = md_path_join(kdir, "runs");
	char **names = NULL;
	unsigned long long seq = 0;
	size_t n = 0, i;
	int rc = 0;

	/* No runs/ (or not a folder): no runs to migrate. */
	list_dir(&names, &n, rdir);
	for (i = 0; i < n && rc == 0; i++) {
		struct store_run r;
		const char *rhash;

		if (!store_parse_run(&r, names[i]))
			continue; /* not a run record */
		rhash = r.rhash;
		if (!nok ||
		    !bsearch(&rhash, ok, nok, sizeof(*ok), md_strp_cmp)) {
			m->bad_runs++;
			continue;
		}
		r.seq = ++seq;
		rc = store_put_run(m->s, key, &r);
	}
	md_strv_free(names);
	free(rdir);
	return rc;
}

/* Migrates key, the folder kdir: its fields, realizations and runs. */
static int
migrate_key(struct migration *m, const char *kdir, const char *key)
{
	struct md_buf drv = MD_BUF_INIT;
	char *path = md_path_join(kdir, "drv.json");
	char **names = NULL, **ok = NULL;
	size_t n = 0, nok = 0, i;
	cJSON *fields = NULL;
	int rc = 0;

	if (list_dir(&names, &n, kdir) < 0 || read_record(&drv, path) < 0 ||
	    !cJSON_IsObject(fields = cJSON_Parse(drv.ptr))) {
		m->bad_keys++;
		goto done;
	}
	if ((rc = store_put_drv(m->s, key, drv.ptr)) < 0)
		goto done;
	for (i = 0; i < n && rc == 0; i++) {
		char *dir;

		if (!store_is_hash(names[i]))
			continue; /* drv.json, runs/ */
		dir = md_path_join(kdir, names[i]);
		if ((rc = migrate_real(m, key, names[i], dir)) == 0)
			md_strv_push(&ok, &nok, md_strdup(names[i]));
		else if (rc > 0)
			m->bad_reals++;
		free(dir);
		rc = rc > 0 ? 0 : rc;
	}
	if (rc == 0)
		rc = migrate_runs(m, kdir, key, ok, nok);
done:
	cJSON_Delete(fields);
	md_strv_free(names);
	md_strv_free(ok);
	md_buf_dispose(&drv);
	free(path);
	return rc;
}

/*
 * The names in dir, a folder of v1 (store/, roots/, interp/); none when
 * it is not there.
 */
static int
list_v1(char ***out, size_t *n, const char *dir)
{
	int rc = list_dir(out, n, dir);

	return rc == MD_ENOTFOUND ? 0 : rc;
}

/* Every key under v1 (store/). */
static int
migrate_keys(struct migration *m, const char *v1)
{
	char **keys = NULL;
	size_t n = 0, i;
	int rc = list_v1(&keys, &n, v1);

	for (i = 0; i < n && rc == 0; i++) {
		char *kdir;

		if (!store_is_hash(keys[i]))
			continue;
		kdir = md_path_join(v1, keys[i]);
		rc = migrate_key(m, kdir, keys[i]);
		free(kdir);
	}
	md_strv_free(keys);
	return rc;
}

/* Adds the row of sql (name, value as text or blob) unless it is there. */
static int
put_row(struct store *s, const char *sql, const char *name,
	const struct md_buf *value, bool text)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	int rc = 0;

	if (!st)
		return MD_ERROR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text64(st, 2, value->ptr, value->len,
				    SQLITE_STATIC, SQLITE_UTF8);
	else
		sqlite3_bind_blob64(st, 2, value->ptr, value->len,
				    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_db_err(s, "cannot write");
	sqlite3_finalize(st);
	return rc;
}

/* roots/H.json: each document's root record, under its "document". */
static int
migrate_roots(struct migration *m, const char *dir)
{
	struct md_buf text = MD_BUF_INIT;
	char **names = NULL;
	size_t n = 0, i, len;
	int rc = list_v1(&names, &n, dir);

	for (i = 0; i < n && rc == 0; i++) {
		cJSON *root = NULL, *doc;
		char *path;

		/* A root record, not what a killed write left. */
		len = strlen(names[i]);
		if (len <= 5 || strcmp(names[i] + len - 5, ".json"))
			continue;
		path = md_path_join(dir, names[i]);
		md_buf_clear(&text);
		if (read_record(&text, path) == 0)
			root = cJSON_Parse(text.ptr);
		doc = cJSON_GetObjectItemCaseSensitive(root, "document");
		if (cJSON_IsString(doc) && *doc->valuestring)
			rc = put_row(m->s, "INSERT OR IGNORE INTO root (doc,"
					   " record) VALUES (?1, ?2)",
				     doc->valuestring, &text, true);
		else
			m->bad_records++;
		cJSON_Delete(root);
		free(path);
	}
	md_strv_free(names);
	md_buf_dispose(&text);
	return rc;
}

/* interp/NAME: the memo of interpreter identities. */
static int
migrate_memos(struct migration *m, const char *dir)
{
	struct md_buf value = MD_BUF_INIT;
	char **names = NULL;
	size_t n = 0, i;
	int rc = list_v1(&names, &n, dir);

	for (i = 0; i < n && rc == 0; i++) {
		char *path;

		/* Not what a killed write left (md_fs_write_atomic). */
		if (names[i][0] == '.' || strstr(names[i], ".mdrun-tmp."))
			continue;
		path = md_path_join(dir, names[i]);
		md_buf_clear(&value);
		if (md_fs_read_regular(&value, path, STORE_RECORD_MAX) == 0)
			rc = put_row(m->s, "INSERT OR IGNORE INTO memo (name,"
					   " value) VALUES (?1, ?2)",
				     names[i], &value, false);
		else
			m->bad_records++;
		free(path);
	}
	md_strv_free(names);
	md_buf_dispose(&value);
	return rc;
}

/* Appends ", " (unless first) and one count of what was skipped. */
static void
skipped(struct md_buf *b, size_t n, const char *one, const char *many)
{
	if (!n)
		return;
	md_buf_puts(b, b->len ? ", " : "done, skipped ");
	md_buf_printf(b, "%zu %s", n, plural(n, one, many));
}

/* The end of the progress line: done, and what was skipped. */
static void
say_done(const struct migration *m)
{
	struct md_buf b = MD_BUF_INIT;

	skipped(&b, m->bad_keys, "key without a readable drv.json",
		"keys without a readable drv.json");
	skipped(&b, m->bad_reals, "damaged realization",
		"damaged realizations");
	skipped(&b, m->bad_runs, "run of a missing realization",
		"runs of missing realizations");
	skipped(&b, m->bad_records, "unreadable root record or identity",
		"unreadable root records or identities");
	fprintf(stderr, "%s\n", b.len ? b.ptr : "done");
	md_buf_dispose(&b);
}

int
store_migrate_v1(struct store *s)
{
	struct migration m = { .s = s };
	char *v1 = md_path_join(s->root, "store");
	char *roots = md_path_join(s->root, "roots");
	char *interp = md_path_join(s->root, "interp");
	char *version = md_path_join(s->root, "VERSION");
	int rc;

	count(&m, v1);
	fprintf(stderr,
		"mdrun: migrating the store at %s to format 2 (%zu %s, "
		"%zu %s)... ",
		s->root, m.keys, plural(m.keys, "key", "keys"), m.reals,
		plural(m.reals, "realization", "realizations"));
	fflush(stderr);
	if ((rc = store_begin(s, true)) < 0)
		goto done;
	if ((rc = migrate_keys(&m, v1)) == 0 &&
	    (rc = migrate_roots(&m, roots)) == 0 &&
	    (rc = migrate_memos(&m, interp)) == 0)
		md_crashpoint("migrate:inserted");
	if ((rc = store_end(s, rc)) < 0)
		goto done;
	md_crashpoint("migrate:committed");
	if ((rc = store_sync(s)) < 0 || (rc = store_remove_tree(s, v1)) < 0 ||
	    (rc = store_remove_tree(s, roots)) < 0 ||
	    (rc = store_remove_tree(s, interp)) < 0)
		goto done;
	md_crashpoint("migrate:removed");
	rc = md_fs_write_atomic(version, "2\n", 2, 0444);
done:
	if (rc < 0)
		fputs("failed\n", stderr);
	else
		say_done(&m);
	free(v1);
	free(roots);
	free(interp);
	free(version);
	return rc;
}
