#define _GNU_SOURCE /* syncfs */
#include <limits.h>
#include "store.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../util/crash.h"
#include "../util/err.h"
#include "../util/fs.h"

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
	int rc = md_fs_read_regular(&buf, path, 64);

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

/* Whether name, in tmp/, is an older mdrun's PID-N-T whose PID is gone. */
static bool
legacy_dead(const char *name)
{
	char *end;
	long pid = strtol(name, &end, 10);

	if (pid <= 0 || *end != '-' || !isdigit((unsigned char)end[1]))
		return false;
	return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 &&
	       errno == ESRCH;
}

/* The length of the OWNER part of name (OWNER-N, OWNER.lock), or 0. */
static size_t
owner_len(const char *name)
{
	const char *dash = strchr(name, '-');

	if (!dash || dash == name || dash[1] != 'o')
		return 0;
	return (size_t)(strcspn(dash + 1, "-.") + 1 + (size_t)(dash - name));
}

/*
 * Removes what dead owners left in tmp/. An owner is alive while it holds
 * the flock of its OWNER.lock: that, not a PID, says so, since a process
 * in another PID namespace (a second container on the same volume) has
 * PIDs this one cannot see. A folder without its OWNER.lock goes (its
 * owner closed the store, or the sweep that removed the lock was killed
 * before it was done). The lock file goes last, while locked here, so an
 * owner that was just starting sees it gone (store_tmp_dir).
 */
static void
sweep_tmp(struct store *s)
{
	DIR *d = opendir(s->tmp);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i, j;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			md_strv_push(&names, &n, md_strdup(e->d_name));
	closedir(d);
	for (i = 0; i < n; i++) {
		size_t len = owner_len(names[i]);
		char *lock;
		int fd;

		if (!len || strcmp(names[i] + len, ".lock") ||
		    (s->owner && !strncmp(names[i], s->owner, len)))
			continue;
		lock = md_path_join(s->tmp, names[i]);
		fd = open(lock, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			for (j = 0; j < n; j++) {
				if (j == i || names[j][len] != '-' ||
				    strncmp(names[j], names[i], len))
					continue;
				char *p = md_path_join(s->tmp, names[j]);
				md_fs_rmtree_quiet(p);
				free(p);
			}
			unlink(lock);
		}
		if (fd >= 0)
			close(fd);
		free(lock);
	}
	for (i = 0; i < n; i++) {
		size_t len = owner_len(names[i]);
		char *p = md_path_join(s->tmp, names[i]);
		bool gone = false;

		if (len && names[i][len] == '-') {
			struct md_buf lock = MD_BUF_INIT;
			md_buf_printf(&lock, "%s/%.*s.lock", s->tmp, (int)len,
				      names[i]);
			gone = !md_fs_exists(lock.ptr);
			md_buf_dispose(&lock);
		} else if (!len) {
			gone = legacy_dead(names[i]);
		}
		if (gone)
			md_fs_rmtree_quiet(p);
		free(p);
	}
	md_strv_free(names);
}

int
store_open(struct store **out, const char *root)
{
	struct store *s = md_calloc(1, sizeof(*s));
	char *tag = NULL, abs[PATH_MAX];
	int rc;

	*out = NULL;
	s->owner_fd = -1;
	pthread_mutex_init(&s->owner_mu, NULL);
	/*
	 * Absolute: sessions hand these paths to interpreters whose blocks
	 * may change folder.
	 */
	if ((rc = md_fs_mkdirs(root, 0755)) < 0)
		goto done;
	if (!realpath(root, abs)) {
		rc = md_err_sys("%s", root);
		goto done;
	}
	s->root = md_strdup(abs);
	root = s->root;
	s->objs = md_path_join(root, "store");
	s->tmp = md_path_join(root, "tmp");
	s->locks = md_path_join(root, "locks");
	s->roots = md_path_join(root, "roots");
	s->interp = md_path_join(root, "interp");
	if ((rc = md_fs_mkdirs(s->objs, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->tmp, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->locks, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->roots, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->interp, 0755)) < 0 ||
	    (rc = check_version(root)) < 0)
		goto done;
	tag = md_path_join(root, "CACHEDIR.TAG");
	if (!md_fs_exists(tag) &&
	    (rc = md_fs_write_atomic(tag, cachedir_tag,
				     sizeof(cachedir_tag) - 1, 0444)) < 0)
		goto done;
	sweep_tmp(s);
done:
	free(tag);
	if (rc < 0) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void cache_free(struct store_cache *c);
static char *owner_lock(const struct store *s);

void
store_close(struct store *s)
{
	if (!s)
		return;
	if (s->owner) {
		/* What is left in tmp/ is anyone's to sweep from now on. */
		char *lock = owner_lock(s);
		unlink(lock);
		free(lock);
		close(s->owner_fd);
		free(s->owner);
	}
	free(s->root);
	free(s->objs);
	free(s->tmp);
	free(s->locks);
	free(s->roots);
	free(s->interp);
	cache_free(s->cache);
	pthread_mutex_destroy(&s->owner_mu);
	free(s);
}

const char *
store_root(const struct store *s)
{
	return s->root;
}

static int
lock_file(const char *path, int how)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return md_err_sys("%s", path);
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		md_err_sys("%s: flock", path);
		close(fd);
		return MD_ERROR;
	}
	return fd;
}

int
store_lock_key(struct store *s, const char *key)
{
	char *path = md_path_join(s->locks, key);
	int fd = lock_file(path, LOCK_EX);

	free(path);
	return fd;
}

int
store_lock_store(struct store *s, bool exclusive)
{
	char *path = md_path_join(s->locks, "gc");
	int fd = lock_file(path, exclusive ? LOCK_EX : LOCK_SH);

	free(path);
	return fd;
}

void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

bool
store_is_hash(const char *s)
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
	return md_exit_failed(&r->exit);
}

static double
num(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A whole number of bytes a file can have. */
static bool
in_range(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	       v->valuedouble <= 1e15 &&
	       v->valuedouble == (double)(long long)v->valuedouble;
}

int
store_read_meta(struct store_real *r, const char *dir)
{
	struct md_buf buf = MD_BUF_INIT;
	char *path = md_path_join(dir, "meta.json");
	cJSON *meta = NULL;
	int rc;

	if ((rc = md_fs_read_regular(&buf, path, STORE_RECORD_MAX)) < 0) {
		if (rc == MD_ENOTFOUND)
			rc = md_err_set("%s: missing realization metadata",
					path);
		goto done;
	}
	meta = cJSON_ParseWithLength(buf.ptr, buf.len);
	/* An exit status and a signal an int holds (a pulled file may lie). */
	if (!cJSON_IsObject(meta) ||
	    !cJSON_IsNumber(cJSON_GetObjectItem(meta, "exit")) ||
	    !(fabs(num(meta, "exit")) <= 65535) ||
	    !(fabs(num(meta, "signal")) <= 65535)) {
		rc = md_err_set("%s: malformed realization metadata", path);
		goto done;
	}
	r->exit.code = (int)num(meta, "exit");
	r->exit.signal = (int)num(meta, "signal");
	r->exit.timed_out = cJSON_IsTrue(cJSON_GetObjectItem(meta, "timed_out"));
	r->start = num(meta, "start");
	r->end = num(meta, "end");
	/* The cap it was cut at; a lying value only makes it re-run. */
	if (num(meta, "cut") >= 1 && num(meta, "cut") <= 1e15)
		r->cut = (size_t)num(meta, "cut");
	/* The sizes reads are bounded by, when it gives them. */
	r->sized = in_range(meta, "stdout_bytes") &&
		   in_range(meta, "stderr_bytes");
	r->out_size = r->sized ? (size_t)num(meta, "stdout_bytes") : 0;
	r->err_size = r->sized ? (size_t)num(meta, "stderr_bytes") : 0;
done:
	cJSON_Delete(meta);
	md_buf_dispose(&buf);
	free(path);
	return rc;
}

char *
store_real_dir(const struct store *s, const char *key, const char *rhash)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_puts(&b, s->objs);
	md_buf_putc(&b, '/');
	md_buf_puts(&b, key);
	md_buf_putc(&b, '/');
	md_buf_puts(&b, rhash);
	return md_buf_detach(&b);
}

/*
 * A realization's stdout or stderr: no larger than meta.json says, when
 * it says (sized), and the file must be just that large.
 */
int
store_read_output(struct md_buf *out, const char *path, bool sized,
		  size_t size)
{
	size_t start = out->len;
	int rc = md_fs_read_regular(out, path, sized ? size + !size : 0);

	if (rc == 0 && sized && out->len - start != size)
		rc = md_err_set("%s: %zu bytes, but meta.json says %zu", path,
				out->len - start, size);
	return rc;
}

/* Its stdout and its stderr, which has no file when it is empty. */
static int
read_outputs(struct store_real *r)
{
	char *so = md_path_join(r->path, "stdout");
	char *se = md_path_join(r->path, "stderr");
	int rc;

	md_buf_clear(&r->out);
	md_buf_clear(&r->err);
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	if ((rc = store_read_output(&r->out, so, r->sized, r->out_size)) ==
		    0 &&
	    (rc = store_read_output(&r->err, se, r->sized, r->err_size)) ==
		    MD_ENOTFOUND &&
	    (!r->sized || r->err_size == 0))
		rc = 0;
	if (rc == MD_ENOTFOUND)
		rc = md_err_set("%s: incomplete realization", r->path);
	free(so);
	free(se);
	return rc;
}

/* Its meta.json and outputs, with what to do when they are damaged. */
static int
read_real(struct store_real *r)
{
	int rc = store_read_meta(r, r->path);

	if (rc == 0)
		rc = read_outputs(r);
	if (rc < 0) {
		char *why = md_strdup(md_err_msg());
		rc = md_err_set("%s (mdrun store verify finds all such; "
				"render with --rebuild to replace it)", why);
		free(why);
	}
	return rc;
}

int
store_read(struct store_real *out, struct store *s, const char *key,
	   const char *rhash)
{
	int rc;

	memset(out, 0, sizeof(*out));
	memcpy(out->rhash, rhash, MD_HASH_HEX);
	out->path = store_real_dir(s, key, rhash);
	if ((rc = read_real(out)) < 0)
		store_real_dispose(out);
	return rc;
}

void
store_read_later(struct store_real *out, struct store *s, const char *key,
		 const char *rhash)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->rhash, rhash, MD_HASH_HEX);
	out->path = store_real_dir(s, key, rhash);
	out->pending = true;
}

int
store_read_pending(struct store_real *r)
{
	int rc = 0;

	if (r->pending)
		rc = read_real(r);
	r->pending = false;
	return rc;
}

/*
 * Run listings read ahead (store_prefetch), sorted by key. Each is what
 * the listing found when it was read; this process's own changes drop it.
 */
struct store_cache {
	pthread_mutex_t mu;
	struct cached {
		char key[MD_HASH_HEX];
		struct store_run *runs;
		size_t n;
	} *v;
	size_t n;
};

static int
cached_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cached *)a)->key,
		      ((const struct cached *)b)->key);
}

static struct cached *
cache_find(struct store_cache *c, const char *key)
{
	struct cached probe;

	if (!c || strlen(key) != MD_HASH_HEX - 1)
		return NULL;
	memcpy(probe.key, key, MD_HASH_HEX);
	return bsearch(&probe, c->v, c->n, sizeof(*c->v), cached_cmp);
}

static void
cache_free(struct store_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].runs);
	free(c->v);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
store_forget(struct store *s, const char *key)
{
	struct cached *e;

	if (!s->cache)
		return;
	pthread_mutex_lock(&s->cache->mu);
	if ((e = cache_find(s->cache, key))) {
		free(e->runs);
		e->runs = NULL;
		e->n = (size_t)-1; /* not known: list it again */
	}
	pthread_mutex_unlock(&s->cache->mu);
}

static int list_runs(struct store_run **out, size_t *n, struct store *s,
		     const char *key);

int
store_runs(struct store_run **out, size_t *n, struct store *s,
	   const char *key)
{
	struct cached *e;

	if (s->cache) {
		pthread_mutex_lock(&s->cache->mu);
		e = cache_find(s->cache, key);
		if (e && e->n != (size_t)-1) {
			*n = e->n;
			*out = md_calloc(e->n ? e->n : 1, sizeof(**out));
			if (e->n)
				memcpy(*out, e->runs, e->n * sizeof(**out));
		}
		pthread_mutex_unlock(&s->cache->mu);
		if (e && e->n != (size_t)-1)
			return 0;
	}
	return list_runs(out, n, s, key);
}

int
store_prefetch(struct store *s, char (*keys)[MD_HASH_HEX], size_t n)
{
	struct store_cache *c = md_calloc(1, sizeof(*c));
	size_t i, k = 0;

	pthread_mutex_init(&c->mu, NULL);
	c->v = md_calloc(n ? n : 1, sizeof(*c->v));
	for (i = 0; i < n; i++) {
		struct cached *e = &c->v[k];
		if (!store_is_hash(keys[i]) ||
		    list_runs(&e->runs, &e->n, s, keys[i]) < 0)
			continue; /* listed again when asked */
		memcpy(e->key, keys[i], MD_HASH_HEX);
		k++;
	}
	c->n = k;
	qsort(c->v, c->n, sizeof(*c->v), cached_cmp);
	cache_free(s->cache);
	s->cache = c;
	return 0;
}

static int
list_runs(struct store_run **out, size_t *n, struct store *s,
	  const char *key)
{
	char *kdir = md_path_join(s->objs, key);
	char *rdir = md_path_join(kdir, "runs");
	char **names = NULL;
	size_t count = 0, cap = 0, i;
	DIR *d = opendir(rdir);
	struct dirent *e;
	struct stat st;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!d) {
		if (errno != ENOENT)
			rc = md_err_sys("%s", rdir);
		goto done;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 8;
			names = md_realloc(names, cap * sizeof(*names));
		}
		names[count++] = md_strdup(e->d_name);
	}
	closedir(d);
	/*
	 * Fixed widths: name order is commit order. Old records, named by
	 * their time, start with a digit, so they come before any sSEQ.
	 */
	if (count)
		qsort(names, count, sizeof(*names), md_strp_cmp);
	*out = md_calloc(count, sizeof(**out));
	for (i = 0; i < count; i++) {
		struct store_run *r = &(*out)[*n];
		char *real;

		if (!store_parse_run(r, names[i]))
			continue; /* not a run record */
		real = md_path_join(kdir, r->rhash);
		/* A folder, not a link to one elsewhere. */
		if (lstat(real, &st) == 0 && S_ISDIR(st.st_mode))
			(*n)++;
		free(real);
	}
done:
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(rdir);
	free(kdir);
	return rc;
}

int
store_lookup(struct store_real *out, struct store *s, const char *key,
	     enum store_match m, bool accept_failed)
{
	struct store_run *runs = NULL;
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_runs(&runs, &n, s, key)) < 0)
		return rc;
	rc = MD_ENOTFOUND;
	for (i = 0; i < n; i++) {
		struct store_run *r = &runs[m == STORE_FIRST ? i : n - 1 - i];
		if (r->failed && !accept_failed)
			continue;
		rc = store_read(out, s, key, r->rhash);
		break;
	}
	free(runs);
	return rc;
}

void
store_real_dispose(struct store_real *r)
{
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
	free(r->path);
	r->path = NULL;
}

static char *
owner_lock(const struct store *s)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "%s/%s.lock", s->tmp, s->owner);
	return md_buf_detach(&b);
}

/*
 * Makes this process an owner in tmp/: OWNER.lock created and locked
 * before any OWNER-N folder exists, so a sweep never sees a live owner's
 * folder without its lock file. Called under owner_mu.
 */
static int
become_owner(struct store *s)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned long long r;
		struct md_buf b = MD_BUF_INIT;
		struct stat st;
		char *lock;
		int fd;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return md_err_sys("getrandom");
		md_buf_printf(&b, "%ld-o%016llx", (long)getpid(), r);
		s->owner = md_buf_detach(&b);
		lock = owner_lock(s);
		fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST) {
			md_err_sys("%s", lock);
			free(lock);
			free(s->owner);
			s->owner = NULL;
			return MD_ERROR;
		}
		while (fd >= 0 && flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		/* A sweep took it for a dead owner's and removed it? */
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
			s->owner_fd = fd;
			free(lock);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		free(lock);
		free(s->owner);
		s->owner = NULL;
	}
	return md_err_set("%s: cannot make a lock file", s->tmp);
}

char *
store_tmp_dir(struct store *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->owner_mu);
	if (!s->owner)
		rc = become_owner(s);
	pthread_mutex_unlock(&s->owner_mu);
	if (rc < 0)
		return NULL;
	for (;;) {
		struct md_buf path = MD_BUF_INIT;

		md_buf_printf(&path, "%s/%s-%u", s->tmp, s->owner,
			      atomic_fetch_add(&s->serial, 1));
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

char *
store_mktemp(struct store *s)
{
	return store_tmp_dir(s);
}

int
store_remove_tree(struct store *s, const char *path)
{
	char *tmp = store_tmp_dir(s), *dest = NULL;
	int rc;

	if (!tmp)
		return MD_ERROR;
	dest = md_path_join(tmp, "x");
	/* Moving a folder updates its "..": it must be writable. */
	chmod(path, 0755);
	if (rename(path, dest) < 0) {
		rc = errno == ENOENT ? 0 : md_err_sys("%s: rename", path);
		md_fs_rmtree(tmp);
	} else {
		md_crashpoint("remove:moved");
		rc = md_fs_rmtree(tmp);
	}
	free(dest);
	free(tmp);
	return rc;
}

void
store_run_name(struct md_buf *out, const struct store_run *r)
{
	if (r->seq)
		md_buf_printf(out, "s%020llu-", r->seq);
	md_buf_printf(out, "%020lld-%s-%s", r->ns, r->rhash,
		      r->failed ? "failed" : "ok");
	if (r->cut)
		md_buf_printf(out, "-cut%zu", r->cut);
}

bool
store_parse_run(struct store_run *r, const char *name)
{
	const char *p = name;
	char *end;

	memset(r, 0, sizeof(*r));
	if (*p == 's') {
		r->seq = strtoull(p + 1, &end, 10);
		if (end != p + 21 || *end != '-' || r->seq == 0)
			return false;
		p = end + 1;
	}
	r->ns = strtoll(p, &end, 10);
	if (end == p || *end != '-' || strlen(end + 1) < 67 || end[65] != '-')
		return false;
	memcpy(r->rhash, end + 1, 64);
	r->rhash[64] = '\0';
	if (!store_is_hash(r->rhash))
		return false;
	/* STATUS is "ok" or "failed", then "-cutN" when cut at N. */
	p = end + 66;
	r->failed = strncmp(p, "ok", 2) || (p[2] && p[2] != '-');
	end = strstr(p, "-cut");
	r->cut = end ? strtoull(end + 4, NULL, 10) : 0;
	return true;
}

static char *
root_path(struct store *s, const char *doc)
{
	char name[MD_HASH_HEX], file[MD_HASH_HEX + 8];

	md_hash_bytes(name, doc, strlen(doc));
	snprintf(file, sizeof(file), "%s.json", name);
	return md_path_join(s->roots, file);
}

/* doc's root record, parsed; NULL (message set) when there is none. */
static cJSON *
read_root(struct store *s, const char *doc, int *rc)
{
	struct md_buf text = MD_BUF_INIT;
	char *path = root_path(s, doc);
	cJSON *root = NULL;

	if ((*rc = md_fs_read_regular(&text, path, STORE_RECORD_MAX)) == 0)
		root = cJSON_ParseWithLength(text.ptr, text.len);
	md_buf_dispose(&text);
	free(path);
	return root;
}

int
store_root_notes(struct md_buf *out, struct store *s, const char *doc)
{
	int rc;
	cJSON *root = read_root(s, doc, &rc);
	cJSON *notes = cJSON_GetObjectItem(root, "notes");
	char *t = notes ? cJSON_PrintUnformatted(notes) : NULL;

	if (rc == 0 && t)
		md_buf_puts(out, t);
	else if (rc == 0)
		rc = MD_ENOTFOUND;
	free(t);
	cJSON_Delete(root);
	return rc;
}

int
store_root_keys(char (**keys)[MD_HASH_HEX], size_t *n, struct store *s,
		const char *doc)
{
	int rc;
	cJSON *root = read_root(s, doc, &rc), *e;
	cJSON *k = cJSON_GetObjectItem(root, "keys");

	*n = 0;
	*keys = md_calloc((size_t)cJSON_GetArraySize(k) + 1, sizeof(**keys));
	cJSON_ArrayForEach(e, k)
		if (cJSON_IsString(e) && store_is_hash(e->valuestring))
			memcpy((*keys)[(*n)++], e->valuestring, MD_HASH_HEX);
	cJSON_Delete(root);
	return rc;
}

int
store_root_write(struct store *s, const char *doc, char (*keys)[MD_HASH_HEX],
		 size_t n, const char *notes)
{
	char *path, *text;
	cJSON *root = cJSON_CreateObject(), *arr;
	size_t i;
	int rc;

	cJSON_AddNumberToObject(root, "version", STORE_VERSION);
	cJSON_AddStringToObject(root, "document", doc);
	arr = cJSON_AddArrayToObject(root, "keys");
	for (i = 0; i < n; i++)
		if (keys[i][0])
			cJSON_AddItemToArray(arr, cJSON_CreateString(keys[i]));
	/* The caller's JSON as it is, neither parsed nor printed again. */
	if (notes)
		cJSON_AddItemToObject(root, "notes", cJSON_CreateRaw(notes));
	text = cJSON_Print(root);
	path = root_path(s, doc);
	/* Unchanged (a warm render, say): not written again. */
	rc = md_fs_write_output(path, text, strlen(text), 0644);
	free(path);
	free(text);
	cJSON_Delete(root);
	return rc;
}

int
store_memo_get(struct md_buf *out, struct store *s, const char *name)
{
	char *path = md_path_join(s->interp, name);
	int rc = md_fs_read_regular(out, path, STORE_RECORD_MAX);

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
