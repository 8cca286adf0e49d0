/*
 * The commit protocol: how one run becomes part of the store, so that a
 * process killed at any instant leaves either no realization or a whole
 * one, and two processes never corrupt each other.
 *
 *   store/KEY/drv.json           what the key is made of (written once)
 *   store/KEY/RHASH/meta.json    the run's status, times, provenance
 *   store/KEY/RHASH/stdout, stderr, out/    its outputs, read-only
 *   store/KEY/runs/sSEQ-T-RHASH-ok|failed[-cutN]    one record per run
 *
 * 1. The rhash is computed first (store_rhash: stdout, stderr, the exit
 *    record and the out/ tree). If store/KEY/RHASH exists, it is
 *    complete (a path there appears only by a rename), and only a run
 *    record is added.
 * 2. Otherwise the realization is written whole in a folder of this
 *    process under tmp/ (swept once its owner is gone): outputs, out/
 *    moved in (not copied), meta.json; then rename(2) publishes it at
 *    store/KEY/RHASH at once. A new key's folder is assembled in tmp/
 *    instead, drv.json, the realization and its run record, and renamed
 *    into place whole.
 * 3. The run record comes last, under the key's runs/ flock so no two
 *    processes take one SEQ. Readers see a run only through its record,
 *    and a record names only a complete realization.
 *
 * Durability is batched: store_sync makes a render's commits durable
 * with one syncfs(2).
 */
#define _GNU_SOURCE /* syncfs */
#include <limits.h>
#include "store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
	    const char *se, size_t se_len, const struct md_exit *e,
	    const char *out_dir)
{
	struct md_hash h;
	char status[64];
	int n, rc = 0;

	md_hash_init(&h);
	md_hash_field(&h, "mdrun-realization", "1", 1);
	md_hash_field(&h, "stdout", so, so_len);
	md_hash_field(&h, "stderr", se, se_len);
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
	cJSON_AddNumberToObject(m, "version", STORE_VERSION);
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

/*
 * A run record: the next SEQ of the key's runs, at ns (0 or later than
 * now: now). The runs/ folder is flock(2)ed while SEQ is chosen and the
 * record made, so two processes never take one SEQ, whatever locks their
 * callers hold.
 */
static int
write_run(const char *kdir, const char *rhash, bool failed, size_t cut,
	  long long ns)
{
	char *rdir = md_path_join(kdir, "runs");
	struct md_buf p = MD_BUF_INIT;
	struct store_run r;
	DIR *d = NULL;
	struct dirent *e;
	int rc = 0, fd = -1, lock = -1;

	memset(&r, 0, sizeof(r));
	if (ns <= 0 || ns > now_ns())
		ns = now_ns();
	if (mkdir(rdir, 0755) < 0 && errno != EEXIST) {
		rc = md_err_sys("%s: mkdir", rdir);
		goto done;
	}
	if ((lock = open(rdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				       O_CLOEXEC)) < 0) {
		rc = md_err_sys("%s", rdir);
		goto done;
	}
	while (flock(lock, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = md_err_sys("%s: flock", rdir);
			goto done;
		}
	}
	if (!(d = opendir(rdir))) {
		rc = md_err_sys("%s", rdir);
		goto done;
	}
	r.seq = 1;
	while ((e = readdir(d))) {
		struct store_run old;
		if (store_parse_run(&old, e->d_name) && old.seq >= r.seq)
			r.seq = old.seq + 1;
	}
	memcpy(r.rhash, rhash, MD_HASH_HEX);
	r.ns = ns;
	r.failed = failed;
	r.cut = cut;
	md_buf_printf(&p, "%s/", rdir);
	store_run_name(&p, &r);
	fd = open(p.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		rc = md_err_sys("%s", p.ptr);
done:
	if (d)
		closedir(d);
	if (fd >= 0)
		close(fd);
	if (lock >= 0)
		close(lock);
	md_buf_dispose(&p);
	free(rdir);
	return rc;
}

static bool
empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	while (d && empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return empty;
}

static int
write_outputs(const char *tmp, const char *meta, const struct store_result *r)
{
	char *p = md_path_join(tmp, "stdout");
	int rc = md_fs_write_new(p, r->out, r->out_len, 0444);

	free(p);
	/* Most blocks write nothing to stderr: no file then (one less). */
	p = md_path_join(tmp, "stderr");
	if (rc == 0 && r->err_len)
		rc = md_fs_write_new(p, r->err, r->err_len, 0444);
	free(p);
	/* No artifacts, no out/: an empty tree hashes the same. */
	p = md_path_join(tmp, "out");
	if (rc == 0 && r->artifacts && !empty_dir(r->artifacts) &&
	    rename(r->artifacts, p) < 0)
		rc = md_err_sys("%s: cannot move the artifacts", r->artifacts);
	free(p);
	p = md_path_join(tmp, "meta.json");
	if (rc == 0)
		rc = md_fs_write_new(p, meta, strlen(meta), 0444);
	free(p);
	return rc;
}

/*
 * A realization folder that exists is complete unless a crash came before
 * the syncfs: its meta.json says which.
 */
static bool
real_complete(const char *dir)
{
	struct store_real check;

	memset(&check, 0, sizeof(check));
	return md_fs_is_dir(dir) && store_read_meta(&check, dir) == 0;
}

/*
 * A new key is built whole in tmp/ (drv.json, the realization, its run
 * record) and published by one rename, so a key folder that exists always
 * has its drv.json and every realization in it came with a run record.
 * Returns 1, with real back where it was, when another process published
 * the key first.
 */
static int
publish_new_key(struct store *s, const char *kdir, const char *drv,
		const char *rhash, const char *real, bool failed,
		size_t cut, long long ns)
{
	char *tmp = store_tmp_dir(s), *p = NULL, *moved = NULL;
	int rc;

	if (!tmp)
		return MD_ERROR;
	p = md_path_join(tmp, "drv.json");
	moved = md_path_join(tmp, rhash);
	if ((rc = md_fs_write_new(p, drv, strlen(drv), 0444)) < 0)
		goto done;
	if (rename(real, moved) < 0) {
		rc = md_err_sys("%s: rename", real);
		goto done;
	}
	if ((rc = write_run(tmp, rhash, failed, cut, ns)) < 0)
		goto done;
	md_crashpoint("commit:built");
	if (rename(tmp, kdir) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			rc = md_err_sys("%s: rename", kdir);
		else if (rename(moved, real) < 0)
			rc = md_err_sys("%s: rename", moved);
		else
			rc = 1;
		goto done;
	}
	free(tmp);
	tmp = NULL;
	md_crashpoint("commit:renamed");
	free(moved);
	moved = md_path_join(kdir, rhash);
	rc = md_fs_make_readonly(moved);
	md_crashpoint("commit:recorded");
done:
	if (tmp)
		md_fs_rmtree(tmp);
	free(tmp);
	free(p);
	free(moved);
	return rc;
}

int
store_publish(struct store *s, const char *key, const char *drv,
	      const char *rhash, const char *real, bool failed, size_t cut,
	      long long ns)
{
	char *kdir = md_path_join(s->objs, key);
	char *final = md_path_join(kdir, rhash);
	int rc = 0;

	store_forget(s, key);
	if (!real)
		goto record;
	if (!md_fs_is_dir(kdir)) {
		rc = publish_new_key(s, kdir, drv, rhash, real, failed, cut,
				     ns);
		if (rc <= 0)
			goto done;
		rc = 0; /* published meanwhile by another process */
	}
	if (md_fs_is_dir(final)) {
		if (real_complete(final)) {
			/* An equal run was committed meanwhile. */
			md_fs_rmtree(real);
			goto record;
		}
		/* A damaged copy (a crash before syncfs): replace it. */
		if ((rc = store_remove_tree(s, final)) < 0)
			goto done;
	}
	md_crashpoint("commit:built");
	/*
	 * rename() publishes the whole folder at once (and needs it still
	 * writable, to update its ".."). A concurrent equal commit may win
	 * the race: same bytes.
	 */
	if (rename(real, final) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			rc = md_err_sys("%s: rename", final);
			goto done;
		}
		md_fs_rmtree(real);
	} else {
		md_crashpoint("commit:renamed");
		if ((rc = md_fs_make_readonly(final)) < 0)
			goto done;
	}
	md_crashpoint("commit:published");
record:
	if ((rc = write_run(kdir, rhash, failed, cut, ns)) < 0)
		goto done;
	md_crashpoint("commit:recorded");
done:
	free(final);
	free(kdir);
	return rc;
}

int
store_commit(char out[MD_HASH_HEX], struct store *s, const char *key,
	     const char *drv, const struct store_result *r)
{
	char rhash[MD_HASH_HEX];
	char *final = NULL, *tmp = NULL, *meta = NULL;
	bool failed = md_exit_failed(&r->exit);
	int rc;

	if (r->artifacts &&
	    (rc = md_fs_walk(r->artifacts, own_entry, NULL)) < 0 &&
	    rc != MD_ENOTFOUND)
		goto done;
	if ((rc = store_rhash(rhash, r->out, r->out_len, r->err, r->err_len,
			      &r->exit, r->artifacts)) < 0)
		goto done;
	final = store_real_dir(s, key, rhash);
	/* An equal run committed before: only a run record is new. */
	if (!real_complete(final)) {
		meta = meta_json(key, rhash, r);
		if (!(tmp = store_tmp_dir(s))) {
			rc = MD_ERROR;
			goto done;
		}
		if ((rc = write_outputs(tmp, meta, r)) < 0)
			goto done;
	}
	rc = store_publish(s, key, drv, rhash, tmp, failed, r->cut, 0);
done:
	if (rc == 0)
		memcpy(out, rhash, MD_HASH_HEX);
	if (tmp)
		md_fs_rmtree(tmp); /* gone once published */
	free(tmp);
	free(meta);
	free(final);
	return rc;
}

