#define _GNU_SOURCE /* syncfs */
#include "store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/err.h"
#include "../util/fs.h"

struct store {
	char *root;
	char *objs;	/* ROOT/store */
	char *tmp;	/* ROOT/tmp */
	char *interp;	/* ROOT/interp */
	unsigned serial;
};

static const char cachedir_tag[] =
	"Signature: 8a477f597d28d172789f06886806bc55\n"
	"# This file is a cache directory tag created by mdrun.\n"
	"# For information about cache directory tags see "
	"https://bford.info/cachedir/\n";

static int
check_version(const char *root)
{
	struct md_buf buf = MD_BUF_INIT;
	char *path = md_path_join(root, "VERSION");
	int rc = md_fs_read(&buf, path);

	if (rc == MD_ENOTFOUND) {
		char v[16];
		int n = snprintf(v, sizeof(v), "%d\n", STORE_VERSION);
		rc = md_fs_write_atomic(path, v, (size_t)n, 0444);
	} else if (rc == 0) {
		long v = strtol(buf.ptr, NULL, 10);
		if (v <= 0)
			rc = md_err_set("%s: not an mdrun store version", path);
		else if (v > STORE_VERSION)
			rc = md_err_set("%s: store format %ld is newer than "
					"this mdrun reads (%d); upgrade mdrun "
					"or use another --store",
					path, v, STORE_VERSION);
	}
	free(path);
	md_buf_dispose(&buf);
	return rc;
}

int
store_open(struct store **out, const char *root)
{
	struct store *s = md_calloc(1, sizeof(*s));
	char *tag = NULL;
	int rc;

	*out = NULL;
	s->root = md_strdup(root);
	s->objs = md_path_join(root, "store");
	s->tmp = md_path_join(root, "tmp");
	s->interp = md_path_join(root, "interp");
	if ((rc = md_fs_mkdirs(s->objs, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->tmp, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->interp, 0755)) < 0 ||
	    (rc = check_version(root)) < 0)
		goto done;
	tag = md_path_join(root, "CACHEDIR.TAG");
	if (!md_fs_exists(tag))
		rc = md_fs_write_atomic(tag, cachedir_tag,
					sizeof(cachedir_tag) - 1, 0444);
done:
	free(tag);
	if (rc < 0) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	free(s->root);
	free(s->objs);
	free(s->tmp);
	free(s->interp);
	free(s);
}

const char *
store_root(const struct store *s)
{
	return s->root;
}

static bool
is_hash(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

bool
store_real_failed(const struct store_real *r)
{
	return r->exit_code != 0 || r->signal != 0 || r->timed_out;
}

static double
num(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Reads dir/meta.json into r (outputs not loaded). */
static int
read_meta(struct store_real *r, const char *dir)
{
	struct md_buf buf = MD_BUF_INIT;
	char *path = md_path_join(dir, "meta.json");
	cJSON *meta = NULL;
	int rc;

	if ((rc = md_fs_read(&buf, path)) < 0)
		goto done;
	meta = cJSON_ParseWithLength(buf.ptr, buf.len);
	if (!cJSON_IsObject(meta) ||
	    !cJSON_IsNumber(cJSON_GetObjectItem(meta, "exit"))) {
		rc = md_err_set("%s: malformed realization metadata", path);
		goto done;
	}
	r->exit_code = (int)num(meta, "exit");
	r->signal = (int)num(meta, "signal");
	r->timed_out = cJSON_IsTrue(cJSON_GetObjectItem(meta, "timed_out"));
	r->start = num(meta, "start");
	r->end = num(meta, "end");
done:
	cJSON_Delete(meta);
	md_buf_dispose(&buf);
	free(path);
	return rc;
}

static int
read_outputs(struct store_real *r, const char *dir)
{
	char *out = md_path_join(dir, "stdout");
	char *err = md_path_join(dir, "stderr");
	int rc;

	md_buf_clear(&r->out);
	md_buf_clear(&r->err);
	if ((rc = md_fs_read(&r->out, out)) == 0)
		rc = md_fs_read(&r->err, err);
	if (rc == MD_ENOTFOUND)
		rc = md_err_set("%s: incomplete realization", dir);
	free(out);
	free(err);
	return rc;
}

int
store_lookup(struct store_real *out, struct store *s, const char *key,
	     bool accept_failed)
{
	char *kdir = md_path_join(s->objs, key), *best_dir = NULL;
	struct store_real best;
	DIR *d = NULL;
	struct dirent *e;
	int rc = MD_ENOTFOUND;

	memset(&best, 0, sizeof(best));
	memset(out, 0, sizeof(*out));
	d = opendir(kdir);
	if (!d) {
		if (errno != ENOENT)
			rc = md_err_sys("%s", kdir);
		goto done;
	}
	while ((e = readdir(d))) {
		struct store_real r;
		char *dir;

		if (!is_hash(e->d_name))
			continue;
		memset(&r, 0, sizeof(r));
		dir = md_path_join(kdir, e->d_name);
		if (read_meta(&r, dir) < 0) {
			free(dir);
			rc = MD_ERROR;
			goto done;
		}
		if ((!accept_failed && store_real_failed(&r)) ||
		    (best_dir && r.end <= best.end)) {
			free(dir);
			continue;
		}
		free(best_dir);
		best_dir = dir;
		best = r;
		memcpy(best.rhash, e->d_name, MD_HASH_HEX);
	}
	if (!best_dir)
		goto done;
	*out = best;
	if ((rc = read_outputs(out, best_dir)) < 0)
		store_real_dispose(out);
done:
	if (d)
		closedir(d);
	free(best_dir);
	free(kdir);
	return rc;
}

void
store_real_dispose(struct store_real *r)
{
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
}

static void
realization_hash(char out[MD_HASH_HEX], const struct store_result *r)
{
	struct md_hash h;
	char num_buf[64];
	int n;

	md_hash_init(&h);
	md_hash_field(&h, "mdrun-realization", "1", 1);
	md_hash_field(&h, "stdout", r->out, r->out_len);
	md_hash_field(&h, "stderr", r->err, r->err_len);
	n = snprintf(num_buf, sizeof(num_buf), "%d %d %d", r->exit_code,
		     r->signal, r->timed_out ? 1 : 0);
	md_hash_field(&h, "status", num_buf, (size_t)n);
	md_hash_final(out, &h);
}

static void
iso_time(char out[32], double t)
{
	time_t sec = (time_t)t;
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *
meta_json(const char *key, const char *rhash, const struct store_result *r)
{
	cJSON *m = cJSON_CreateObject();
	char when[32];
	char *text;

	cJSON_AddNumberToObject(m, "version", STORE_VERSION);
	cJSON_AddStringToObject(m, "key", key);
	cJSON_AddStringToObject(m, "rhash", rhash);
	cJSON_AddNumberToObject(m, "exit", r->exit_code);
	cJSON_AddNumberToObject(m, "signal", r->signal);
	cJSON_AddBoolToObject(m, "timed_out", r->timed_out);
	cJSON_AddNumberToObject(m, "start", r->start);
	cJSON_AddNumberToObject(m, "end", r->end);
	iso_time(when, r->start);
	cJSON_AddStringToObject(m, "started", when);
	cJSON_AddNumberToObject(m, "duration_ms", (r->end - r->start) * 1e3);
	if (r->interpreter)
		cJSON_AddStringToObject(m, "interpreter", r->interpreter);
	if (r->document) {
		cJSON_AddStringToObject(m, "document", r->document);
		cJSON_AddNumberToObject(m, "line", r->line);
	}
	text = cJSON_Print(m);
	cJSON_Delete(m);
	return text;
}

/* A fresh, empty folder under tmp/, unique to this process. */
static char *
new_tmp_dir(struct store *s)
{
	for (;;) {
		struct md_buf path = MD_BUF_INIT;

		md_buf_printf(&path, "%s/%ld-%u-%ld", s->tmp, (long)getpid(),
			      s->serial++, (long)time(NULL));
		if (mkdir(path.ptr, 0755) == 0)
			return md_buf_detach(&path);
		if (errno != EEXIST) {
			md_err_sys("%s: mkdir", path.ptr);
			md_buf_dispose(&path);
			return NULL;
		}
		md_buf_dispose(&path);
	}
}

static int
write_drv(struct store *s, const char *kdir, const char *drv)
{
	char *path = md_path_join(kdir, "drv.json");
	int rc = 0;

	(void)s;
	if (!md_fs_exists(path))
		rc = md_fs_write_atomic(path, drv, strlen(drv), 0444);
	free(path);
	return rc;
}

int
store_commit(char out[MD_HASH_HEX], struct store *s, const char *key,
	     const char *drv, const struct store_result *r)
{
	char rhash[MD_HASH_HEX];
	char *kdir = md_path_join(s->objs, key), *final = NULL, *tmp = NULL;
	char *meta = NULL, *p = NULL;
	int rc;

	realization_hash(rhash, r);
	final = md_path_join(kdir, rhash);
	if (mkdir(kdir, 0755) < 0 && errno != EEXIST &&
	    (rc = md_fs_mkdirs(kdir, 0755)) < 0)
		goto done;
	if ((rc = write_drv(s, kdir, drv)) < 0)
		goto done;
	if (md_fs_is_dir(final))
		goto same; /* an equal run was committed before */
	if (!(tmp = new_tmp_dir(s))) {
		rc = MD_ERROR;
		goto done;
	}
	meta = meta_json(key, rhash, r);
	p = md_path_join(tmp, "stdout");
	if ((rc = md_fs_write_new(p, r->out, r->out_len, 0444)) < 0)
		goto done;
	free(p);
	p = md_path_join(tmp, "stderr");
	if ((rc = md_fs_write_new(p, r->err, r->err_len, 0444)) < 0)
		goto done;
	free(p);
	p = md_path_join(tmp, "meta.json");
	if ((rc = md_fs_write_new(p, meta, strlen(meta), 0444)) < 0)
		goto done;
	/*
	 * rename() publishes the whole folder at once. A concurrent equal
	 * commit may win the race: its realization is the same bytes.
	 */
	if (rename(tmp, final) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			rc = md_err_sys("%s: rename", final);
			goto done;
		}
		md_fs_rmtree(tmp);
		goto same;
	}
	if ((rc = md_fs_make_readonly(final)) < 0)
		goto done;
same:
	memcpy(out, rhash, MD_HASH_HEX);
	rc = 0;
done:
	if (rc < 0 && tmp)
		md_fs_rmtree(tmp);
	free(tmp);
	free(p);
	free(meta);
	free(final);
	free(kdir);
	return rc;
}

int
store_memo_get(struct md_buf *out, struct store *s, const char *name)
{
	char *path = md_path_join(s->interp, name);
	int rc = md_fs_read(out, path);

	free(path);
	return rc;
}

int
store_memo_put(struct store *s, const char *name, const char *val, size_t n)
{
	char *path = md_path_join(s->interp, name);
	int rc = md_fs_write_atomic(path, val, n, 0644);

	free(path);
	return rc;
}

int
store_sync(struct store *s)
{
	int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return md_err_sys("%s", s->root);
	if (syncfs(fd) < 0)
		rc = md_err_sys("%s: syncfs", s->root);
	close(fd);
	return rc;
}
