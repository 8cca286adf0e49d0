/*
 * Garbage collection: keep what the roots (the keys of each document's
 * last render) reach, remove the rest. Under the store-wide exclusive
 * lock, so no render adds unrooted keys meanwhile.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
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

/* Reads every root into live; drops roots whose document is gone. */
static int
read_roots(struct keyset *live, struct store_gc_stats *st, struct store *s,
	   const struct store_gc_opts *o,
	   void (*report)(const char *, void *), void *ctx)
{
	DIR *d = opendir(s->roots);
	struct dirent *e;

	if (!d)
		return md_err_sys("%s", s->roots);
	while ((e = readdir(d))) {
		struct md_buf buf = MD_BUF_INIT;
		char *path;
		cJSON *root, *doc, *k;

		if (e->d_name[0] == '.')
			continue;
		path = md_path_join(s->roots, e->d_name);
		root = md_fs_read(&buf, path) == 0
			       ? cJSON_ParseWithLength(buf.ptr, buf.len)
			       : NULL;
		doc = cJSON_GetObjectItem(root, "document");
		if (!cJSON_IsString(doc) || !md_fs_exists(doc->valuestring)) {
			say(report, ctx, "%s root of %s (document gone)",
			    o->dry_run ? "would drop" : "dropped",
			    cJSON_IsString(doc) ? doc->valuestring : path);
			if (!o->dry_run)
				unlink(path);
			st->roots_dropped++;
		} else {
			cJSON_ArrayForEach(k, cJSON_GetObjectItem(root, "keys"))
				if (cJSON_IsString(k) &&
				    store_is_hash(k->valuestring))
					keyset_add(live, k->valuestring);
		}
		cJSON_Delete(root);
		md_buf_dispose(&buf);
		free(path);
	}
	closedir(d);
	return 0;
}

/* Removes the realizations of a live key past the keep_last newest. */
static int
trim(struct store_gc_stats *st, struct store *s, const char *key,
     const struct store_gc_opts *o, void (*report)(const char *, void *),
     void *ctx)
{
	struct store_run *runs = NULL;
	size_t n = 0, i, j, kept = 0;
	char *kdir = md_path_join(s->objs, key);
	int rc;

	if ((rc = store_runs(&runs, &n, s, key)) < 0)
		goto done;
	/* Newest first: the first keep_last distinct realizations stay. */
	for (i = n; i-- > 0;) {
		bool seen = false;
		for (j = i + 1; j < n; j++)
			seen |= !strcmp(runs[j].rhash, runs[i].rhash);
		if (seen)
			continue;
		if (++kept <= (size_t)o->keep_last)
			continue;
		char *dir = md_path_join(kdir, runs[i].rhash);
		unsigned long long bytes = store_du(dir);
		say(report, ctx, "%s %.12s/%.12s (%llu bytes)",
		    o->dry_run ? "would remove" : "removed", key,
		    runs[i].rhash, bytes);
		st->realizations_removed++;
		st->bytes += bytes;
		if (!o->dry_run) {
			/* Its run records go first, then the folder. */
			for (j = 0; j < n; j++) {
				if (strcmp(runs[j].rhash, runs[i].rhash))
					continue;
				struct md_buf rec = MD_BUF_INIT;
				md_buf_printf(&rec, "%s/runs/%020lld-%s-%s",
					      kdir, runs[j].ns, runs[j].rhash,
					      runs[j].failed ? "failed" : "ok");
				unlink(rec.ptr);
				md_buf_dispose(&rec);
			}
			rc = store_remove_tree(s, dir);
		}
		free(dir);
		if (rc < 0)
			break;
	}
done:
	free(runs);
	free(kdir);
	return rc;
}

/* When key last ran, in seconds since the epoch (0: never). */
static double
last_run(struct store *s, const char *key)
{
	struct store_run *runs = NULL;
	size_t n = 0;
	double t = 0;

	if (store_runs(&runs, &n, s, key) == 0 && n > 0)
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
	int lock, rc;

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
			if (o->keep_last > 0)
				rc = trim(out, s, keys[i], o, report, ctx);
			continue;
		}
		if (o->older_than > 0 &&
		    last_run(s, keys[i]) > (double)time(NULL) -
						   o->older_than * 86400)
			continue;
		kdir = md_path_join(s->objs, keys[i]);
		unsigned long long bytes = store_du(kdir);
		say(report, ctx, "%s %.12s (%llu bytes)",
		    o->dry_run ? "would remove" : "removed", keys[i], bytes);
		out->keys_removed++;
		out->bytes += bytes;
		if (!o->dry_run)
			rc = store_rm(s, keys[i]);
		free(kdir);
	}
done:
	store_keys_free(keys, n);
	free(live.keys);
	store_unlock(lock);
	return rc;
}
