/*
 * Garbage collection: keep what the roots (the keys of each document's
 * last render) reach, remove the rest. Under the store-wide exclusive
 * lock, so no render adds unrooted keys meanwhile.
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

struct keyset {
	char (*keys)[MD_HASH_HEX];
	size_t n, cap;
};

static void
keyset_add(struct keyset *k, const char *key)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->keys = md_realloc(k->keys, k->cap * sizeof(*k->keys));
	}
	memcpy(k->keys[k->n++], key, MD_HASH_HEX);
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool
keyset_has(const struct keyset *k, const char *key)
{
	return k->n && bsearch(key, k->keys, k->n, MD_HASH_HEX, cmp_key);
}

static void
say(void (*report)(const char *, void *), void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
say(void (*report)(const char *, void *), void *ctx, const char *fmt, ...)
{
	struct md_buf b = MD_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	md_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (report)
		report(b.ptr, ctx);
	md_buf_dispose(&b);
}

/*
 * Reads every root into live. A root whose document is gone (ENOENT) is
 * dropped; any other doubt (an unreadable root, a document we may not
 * see) stops gc, since guessing would remove what a document uses.
 */
static int
read_roots(struct keyset *live, struct store_gc_stats *st, struct store *s,
	   const struct store_gc_opts *o,
	   void (*report)(const char *, void *), void *ctx)
{
	DIR *d = opendir(s->roots);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return md_err_sys("%s", s->roots);
	while (rc == 0 && (e = readdir(d))) {
		struct md_buf buf = MD_BUF_INIT;
		size_t len = strlen(e->d_name);
		char *path = md_path_join(s->roots, e->d_name);
		cJSON *root = NULL, *doc, *k;
		struct stat sb;

		if (e->d_name[0] == '.')
			goto next;
		if (len < 5 || strcmp(e->d_name + len - 5, ".json")) {
			/* An atomic write a kill interrupted. */
			if (!o->dry_run)
				unlink(path);
			goto next;
		}
		if ((rc = md_fs_read_regular(&buf, path, STORE_RECORD_MAX)) < 0)
			goto next;
		root = cJSON_ParseWithLength(buf.ptr, buf.len);
		doc = cJSON_GetObjectItem(root, "document");
		if (!cJSON_IsString(doc)) {
			rc = md_err_set("%s: malformed root; remove it to let "
					"gc go on", path);
			goto next;
		}
		if (lstat(doc->valuestring, &sb) < 0 && errno == ENOENT) {
			say(report, ctx, "%s root of %s (document gone)",
			    o->dry_run ? "would drop" : "dropped",
			    doc->valuestring);
			if (!o->dry_run)
				unlink(path);
			st->roots_dropped++;
			goto next;
		}
		if (lstat(doc->valuestring, &sb) < 0) {
			rc = md_err_sys("%s (a root's document)",
					doc->valuestring);
			goto next;
		}
		cJSON_ArrayForEach(k, cJSON_GetObjectItem(root, "keys"))
			if (cJSON_IsString(k) && store_is_hash(k->valuestring))
				keyset_add(live, k->valuestring);
next:
		cJSON_Delete(root);
		md_buf_dispose(&buf);
		free(path);
	}
	closedir(d);
	return rc;
}

static void
remove_run_records(const char *kdir, const struct store_run *runs, size_t n,
		   const char *rhash)
{
	for (size_t j = 0; j < n; j++) {
		if (strcmp(runs[j].rhash, rhash))
			continue;
		struct md_buf rec = MD_BUF_INIT;
		md_buf_printf(&rec, "%s/runs/", kdir);
		store_run_name(&rec, &runs[j]);
		unlink(rec.ptr);
		md_buf_dispose(&rec);
	}
}

static bool
named(const struct store_run *runs, size_t n, const char *rhash)
{
	for (size_t j = 0; j < n; j++)
		if (!strcmp(runs[j].rhash, rhash))
			return true;
	return false;
}

static int
drop_realization(struct store_gc_stats *st, struct store *s, const char *key,
		 const char *kdir, const char *rhash, const char *why,
		 const struct store_gc_opts *o,
		 void (*report)(const char *, void *), void *ctx)
{
	char *dir = md_path_join(kdir, rhash);
	unsigned long long bytes = store_du(dir);
	int rc = o->dry_run ? 0 : store_remove_tree(s, dir);

	if (rc == 0) {
		say(report, ctx, "%s %.12s/%.12s (%s, %llu bytes)",
		    o->dry_run ? "would remove" : "removed", key, rhash, why,
		    bytes);
		st->realizations_removed++;
		st->bytes += bytes;
	}
	free(dir);
	return rc;
}

/*
 * For a kept key: removes realizations no run record names (left by a
 * kill between publishing and recording), and with keep_last, those past
 * the keep_last newest successful ones. The first run, the latest run
 * (a failure kept for inspection) and the latest successful one always
 * stay: they are what match=first, a failing render and a render show.
 */
static int
trim(struct store_gc_stats *st, struct store *s, const char *key,
     const struct store_gc_opts *o, void (*report)(const char *, void *),
     void *ctx)
{
	struct store_run *runs = NULL;
	size_t n = 0, i, j, kept = 0;
	char *kdir = md_path_join(s->objs, key);
	const char *first = NULL, *shown = NULL;
	DIR *d = NULL;
	struct dirent *e;
	int rc;

	if ((rc = store_runs(&runs, &n, s, key)) < 0)
		goto done;
	if ((d = opendir(kdir))) {
		while (rc == 0 && (e = readdir(d)))
			if (store_is_hash(e->d_name) && !named(runs, n, e->d_name))
				rc = drop_realization(st, s, key, kdir,
						      e->d_name, "unrecorded",
						      o, report, ctx);
		closedir(d);
	}
	if (rc < 0 || o->keep_last <= 0 || n == 0)
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
		if (!runs[i].failed && ++kept <= (size_t)o->keep_last)
			continue;
		if (!strcmp(runs[i].rhash, first) ||
		    !strcmp(runs[i].rhash, runs[n - 1].rhash) ||
		    (shown && !strcmp(runs[i].rhash, shown)))
			continue;
		if (!o->dry_run) {
			store_forget(s, key);
			remove_run_records(kdir, runs, n, runs[i].rhash);
		}
		rc = drop_realization(st, s, key, kdir, runs[i].rhash,
				      runs[i].failed ? "failed" : "older", o,
				      report, ctx);
	}
done:
	free(runs);
	free(kdir);
	return rc;
}

/* When key last ran (0: never); a key that cannot be read is recent. */
static double
last_run(struct store *s, const char *key)
{
	struct store_run *runs = NULL;
	size_t n = 0;
	double t = 0;

	if (store_runs(&runs, &n, s, key) < 0)
		t = (double)time(NULL);
	else if (n > 0)
		t = (double)runs[n - 1].ns / 1e9;
	free(runs);
	return t;
}

int
store_gc(struct store_gc_stats *out, struct store *s,
	 const struct store_gc_opts *o,
	 void (*report)(const char *what, void *ctx), void *ctx)
{
	struct keyset live = { NULL, 0, 0 };
	char **keys = NULL;
	size_t n = 0, i;
	int lock, rc = 0;

	memset(out, 0, sizeof(*out));
	if ((lock = store_lock_store(s, true)) < 0)
		return lock;
	if (o->keep) {
		for (i = 0; i < o->nkeep; i++)
			keyset_add(&live, o->keep[i]);
	} else if ((rc = read_roots(&live, out, s, o, report, ctx)) < 0) {
		goto done;
	}
	if (live.n)
		qsort(live.keys, live.n, MD_HASH_HEX, cmp_key);
	if ((rc = store_keys(&keys, &n, s)) < 0)
		goto done;
	for (i = 0; i < n && rc == 0; i++) {
		char *kdir;

		if (keyset_has(&live, keys[i])) {
			rc = trim(out, s, keys[i], o, report, ctx);
			continue;
		}
		if (o->older_than > 0 &&
		    last_run(s, keys[i]) > (double)time(NULL) -
						   o->older_than * 86400)
			continue;
		kdir = md_path_join(s->objs, keys[i]);
		unsigned long long bytes = store_du(kdir);
		if (!o->dry_run)
			rc = store_rm(s, keys[i]);
		if (rc == 0) {
			say(report, ctx, "%s %.12s (%llu bytes)",
			    o->dry_run ? "would remove" : "removed", keys[i],
			    bytes);
			out->keys_removed++;
			out->bytes += bytes;
		}
		free(kdir);
	}
	if (!o->dry_run) {
		md_fs_sweep_atomic(s->roots, NULL);
		md_fs_sweep_atomic(s->interp, NULL);
		md_fs_sweep_atomic(s->root, NULL);
		/* Lock files of keys that are gone: nobody waits on them. */
		DIR *d = opendir(s->locks);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char *kdir = md_path_join(s->objs, e->d_name);
			if (store_is_hash(e->d_name) && !md_fs_exists(kdir)) {
				char *p = md_path_join(s->locks, e->d_name);
				unlink(p);
				free(p);
			}
			free(kdir);
		}
		if (d)
			closedir(d);
	}
done:
	store_keys_free(keys, n);
	free(live.keys);
	store_unlock(lock);
	return rc;
}
