/* Listing, resolving, verifying and removing what the store holds. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "../util/crash.h"
#include "../util/err.h"
#include "../util/fs.h"

int
store_keys(char ***out, size_t *n, struct store *s)
{
	DIR *d = opendir(s->objs);
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return md_err_sys("%s", s->objs);
	while ((e = readdir(d))) {
		if (!store_is_hash(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = md_realloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = md_strdup(e->d_name);
	}
	closedir(d);
	return 0;
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
	char **keys = NULL;
	size_t n = 0, i, len = strlen(ref), found = 0;
	int rc;

	if (len < 4 || len > 64 || strspn(ref, "0123456789abcdef") != len)
		return md_err_set("'%s' is not a key or a key prefix (4 to 64 "
				  "hex digits)", ref);
	if ((rc = store_keys(&keys, &n, s)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (strncmp(keys[i], ref, len))
			continue;
		if (found++ == 0)
			memcpy(out, keys[i], MD_HASH_HEX);
	}
	store_keys_free(keys, n);
	if (found == 0) {
		md_err_set("no key in the store starts with '%s'", ref);
		return MD_ENOTFOUND;
	}
	if (found > 1)
		return md_err_set("'%s' is ambiguous: %zu keys start with it",
				  ref, found);
	return 0;
}

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
	char *kdir = md_path_join(s->objs, key);
	char *dir = md_path_join(kdir, rhash);
	char *path = md_path_join(dir, "meta.json");
	int rc = md_fs_read_regular(out, path, STORE_RECORD_MAX);

	free(path);
	free(dir);
	free(kdir);
	return rc;
}

/* Parses kdir/drv.json; NULL with the message set when it cannot. */
static cJSON *
read_drv(const char *kdir)
{
	struct md_buf buf = MD_BUF_INIT;
	char *path = md_path_join(kdir, "drv.json");
	cJSON *drv = NULL;

	if (md_fs_read_regular(&buf, path, STORE_RECORD_MAX) == 0) {
		drv = cJSON_ParseWithLength(buf.ptr, buf.len);
		if (!cJSON_IsObject(drv) ||
		    !cJSON_IsObject(cJSON_GetObjectItem(drv, "fields"))) {
			cJSON_Delete(drv);
			drv = NULL;
			md_err_set("%s: malformed", path);
		}
	}
	md_buf_dispose(&buf);
	free(path);
	return drv;
}

int
store_drv(struct md_buf *out, struct store *s, const char *key)
{
	char *kdir = md_path_join(s->objs, key);
	cJSON *drv = read_drv(kdir), *f;

	free(kdir);
	if (!drv)
		return MD_ERROR;
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

/* Recomputes the key from drv.json's fields, in order. */
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

static char *
size_mismatch(const char *name, size_t said, size_t has)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "meta.json: \"%s_bytes\" is %zu, but %s has %zu "
			  "bytes", name, said, name, has);
	return md_buf_detach(&b);
}

void
store_verify_real(char **why, const char *dir, const char *rhash)
{
	struct store_real r;
	struct md_buf so = MD_BUF_INIT, se = MD_BUF_INIT;
	char *p = NULL, *outdir = md_path_join(dir, "out");
	char again[MD_HASH_HEX];
	int rc;

	*why = NULL;
	memset(&r, 0, sizeof(r));
	if ((rc = store_read_meta(&r, dir)) < 0)
		goto done;
	/* Read whole (regular files: finite), so content is what is judged. */
	p = md_path_join(dir, "stdout");
	if ((rc = store_read_output(&so, p, false, 0)) < 0)
		goto done;
	free(p);
	p = md_path_join(dir, "stderr");
	if ((rc = store_read_output(&se, p, false, 0)) == MD_ENOTFOUND)
		rc = 0; /* an empty stderr has no file */
	if (rc < 0)
		goto done;
	if ((rc = store_rhash(again, so.ptr ? so.ptr : "", so.len,
			      se.ptr ? se.ptr : "", se.len, &r.exit, outdir)) < 0)
		goto done;
	if (strcmp(again, rhash))
		*why = md_strdup("its content does not match its hash");
	else if (r.sized && so.len != r.out_size)
		*why = size_mismatch("stdout", r.out_size, so.len);
	else if (r.sized && se.len != r.err_size)
		*why = size_mismatch("stderr", r.err_size, se.len);
done:
	if (rc < 0)
		*why = md_strdup(md_err_msg());
	md_buf_dispose(&so);
	md_buf_dispose(&se);
	free(p);
	free(outdir);
}

int
store_verify(size_t *bad, struct store *s,
	     void (*report)(const char *path, const char *what, void *ctx),
	     void *ctx)
{
	char **keys = NULL;
	size_t n = 0, i;
	int rc;

	*bad = 0;
	if ((rc = store_keys(&keys, &n, s)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		char *kdir = md_path_join(s->objs, keys[i]);
		cJSON *drv = read_drv(kdir);
		DIR *d;
		struct dirent *e;

		if (!drv) {
			report(kdir, md_err_msg(), ctx);
			(*bad)++;
		} else if (!key_matches(drv, keys[i])) {
			report(kdir, "the key does not match drv.json", ctx);
			(*bad)++;
		}
		cJSON_Delete(drv);
		if ((d = opendir(kdir))) {
			while ((e = readdir(d))) {
				char *why = NULL, *dir;
				struct stat st;
				if (!store_is_hash(e->d_name))
					continue;
				dir = md_path_join(kdir, e->d_name);
				if (lstat(dir, &st) == 0 &&
				    !S_ISDIR(st.st_mode))
					why = md_strdup("not a folder");
				else
					store_verify_real(&why, dir, e->d_name);
				if (why) {
					report(dir, why, ctx);
					(*bad)++;
				}
				free(why);
				free(dir);
			}
			closedir(d);
		}
		free(kdir);
	}
	store_keys_free(keys, n);
	return 0;
}

int
store_rm(struct store *s, const char *key)
{
	char *kdir = md_path_join(s->objs, key);
	char *runs = md_path_join(kdir, "runs");
	int rc;

	/* Run records first: no lookup may pick what is being removed. */
	store_forget(s, key);
	if ((rc = md_fs_rmtree(runs)) == 0) {
		md_crashpoint("remove:unrecorded");
		rc = store_remove_tree(s, kdir);
	}
	free(runs);
	free(kdir);
	return rc;
}
