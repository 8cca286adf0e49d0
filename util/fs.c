#define _GNU_SOURCE /* mkostemp */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int
md_fs_read_fd(struct md_buf *out, int fd, const char *what)
{
	struct stat st;
	size_t want = 0, start = out->len;

	/*
	 * A regular file's size: one allocation and one read, and no second
	 * read to see its end.
	 */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		want = (size_t)st.st_size + 1;
	md_buf_grow(out, want);
	while (!want || out->len - start < want - 1) {
		ssize_t n;

		if (out->cap - out->len <= 1)
			md_buf_grow(out, 65536);
		n = read(fd, out->ptr + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return md_err_sys("%s: read", what);
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->ptr[out->len] = '\0';
	}
	return 0;
}

int
md_fs_read(struct md_buf *out, const char *path)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			md_err_set("%s: no such file", path);
			return MD_ENOTFOUND;
		}
		return md_err_sys("%s", path);
	}
	md_buf_grow(out, 0);
	out->ptr[out->len] = '\0';
	rc = md_fs_read_fd(out, fd, path);
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *data, size_t n, const char *path)
{
	const char *p = data;

	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return md_err_sys("%s: write", path);
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
write_file(const char *path, const void *data, size_t n, mode_t mode,
	   int flags)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return md_err_sys("%s", path);
	rc = write_all(fd, data, n, path);
	if (close(fd) < 0 && rc == 0)
		rc = md_err_sys("%s: close", path);
	return rc;
}

int
md_fs_write_new(const char *path, const void *data, size_t n, mode_t mode)
{
	return write_file(path, data, n, mode, O_EXCL);
}

int
md_fs_write_over(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd, rc;

	/*
	 * Overwrite, then cut to size: truncating to zero first would free
	 * and reallocate the file's blocks, which costs far more.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return md_err_sys("%s", path);
	rc = write_all(fd, data, n, path);
	if (rc == 0 && ftruncate(fd, (off_t)n) < 0)
		rc = md_err_sys("%s: truncate", path);
	if (close(fd) < 0 && rc == 0)
		rc = md_err_sys("%s: close", path);
	return rc;
}

int
md_fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode)
{
	struct md_buf tmp = MD_BUF_INIT;
	int fd = -1, rc = MD_ERROR;

	md_buf_printf(&tmp, "%s.mdrun-tmp.XXXXXX", path);
	fd = mkostemp(tmp.ptr, O_CLOEXEC);
	if (fd < 0) {
		rc = md_err_sys("%s: cannot create a temporary file", path);
		goto done;
	}
	if (fchmod(fd, mode) < 0) {
		rc = md_err_sys("%s: chmod", tmp.ptr);
		goto done;
	}
	if ((rc = write_all(fd, data, n, tmp.ptr)) < 0)
		goto done;
	if (close(fd) < 0) {
		fd = -1;
		rc = md_err_sys("%s: close", tmp.ptr);
		goto done;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		rc = md_err_sys("%s: rename", path);
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.ptr)
		unlink(tmp.ptr);
	md_buf_dispose(&tmp);
	return rc;
}

int
md_fs_write_output(const char *path, const void *data, size_t n,
		   mode_t mode)
{
	char real[PATH_MAX];
	struct stat st;
	int fd, rc;

	if (stat(path, &st) < 0)
		return md_fs_write_atomic(path, data, n, mode);
	if (!S_ISREG(st.st_mode)) {
		if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
			return md_err_sys("%s", path);
		rc = write_all(fd, data, n, path);
		if (close(fd) < 0 && rc == 0)
			rc = md_err_sys("%s: close", path);
		return rc;
	}
	if ((size_t)st.st_size == n) {
		struct md_buf now = MD_BUF_INIT;
		bool same = md_fs_read(&now, path) == 0 && now.len == n &&
			    (n == 0 || !memcmp(now.ptr, data, n));
		md_buf_dispose(&now);
		if (same)
			return 0;
	}
	/* A link stays a link: what it leads to is replaced. */
	if (!realpath(path, real))
		return md_err_sys("%s", path);
	return md_fs_write_atomic(real, data, n, st.st_mode & 07777);
}

int
md_fs_mkdirs(const char *path, mode_t mode)
{
	char *p = md_strdup(path);
	char *s;
	int rc = 0;

	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = md_err_sys("%s: mkdir", p);
			break;
		}
		*s = saved;
		if (saved == '\0')
			break;
	}
	if (rc == 0 && !md_fs_is_dir(path))
		rc = md_err_set("%s: not a folder", path);
	free(p);
	return rc;
}

/* Calls fn on every entry of dir (not . or ..), with its full path. */
static int
each_entry(const char *dir, int (*fn)(const char *path, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return md_err_sys("%s: opendir", dir);
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = md_path_join(dir, e->d_name);
		rc = fn(p, arg);
		free(p);
	}
	closedir(d);
	return rc;
}

static int
rmtree_fn(const char *path, void *arg)
{
	(void)arg;
	return md_fs_rmtree(path);
}

int
md_fs_rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : md_err_sys("%s", path);
	if (S_ISDIR(st.st_mode)) {
		/* A read-only realization must become writable to empty it. */
		if ((st.st_mode & 0700) != 0700 && chmod(path, 0700) < 0)
			return md_err_sys("%s: chmod", path);
		if (each_entry(path, rmtree_fn, NULL) < 0)
			return MD_ERROR;
		if (rmdir(path) < 0 && errno != ENOENT)
			return md_err_sys("%s: rmdir", path);
		return 0;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return md_err_sys("%s: unlink", path);
	return 0;
}

static int
readonly_fn(const char *path, void *arg)
{
	(void)arg;
	return md_fs_make_readonly(path);
}

int
md_fs_make_readonly(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return md_err_sys("%s", path);
	if (S_ISLNK(st.st_mode))
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if (each_entry(path, readonly_fn, NULL) < 0)
			return MD_ERROR;
		if (chmod(path, 0555) < 0)
			return md_err_sys("%s: chmod", path);
		return 0;
	}
	if ((st.st_mode & 0222) && chmod(path, st.st_mode & 0555) < 0)
		return md_err_sys("%s: chmod", path);
	return 0;
}

bool
md_fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool
md_fs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *
md_path_join(const char *a, const char *b)
{
	struct md_buf buf = MD_BUF_INIT;
	size_t n = strlen(a);

	md_buf_puts(&buf, a);
	if (n == 0 || a[n - 1] != '/')
		md_buf_putc(&buf, '/');
	md_buf_puts(&buf, b);
	return md_buf_detach(&buf);
}

char *
md_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return md_strdup(".");
	if (slash == path)
		return md_strdup("/");
	return md_strndup(path, (size_t)(slash - path));
}

const char *
md_path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *
md_path_relative(const char *base, const char *target)
{
	size_t n = strlen(base);

	while (n > 1 && base[n - 1] == '/')
		n--;
	if (!strcmp(base, "/"))
		n = 0;
	if (strncmp(base, target, n) != 0)
		return NULL;
	if (target[n] == '\0')
		return md_strdup(".");
	if (target[n] != '/')
		return NULL;
	return md_strdup(target + n + 1);
}

static int
list_into(char ***out, size_t *n, size_t *cap, const char *dir,
	  const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : md_err_sys("%s", dir);
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;
		char *p, *r;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = md_path_join(dir, e->d_name);
		r = *rel ? md_path_join(rel, e->d_name) : md_strdup(e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = list_into(out, n, cap, p, r);
			free(r);
		} else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 8;
				*out = md_realloc(*out, *cap * sizeof(**out));
			}
			(*out)[(*n)++] = r;
		} else {
			free(r);
		}
		free(p);
	}
	closedir(d);
	return rc;
}

int
md_fs_list(char ***out, size_t *n, const char *root)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = list_into(out, n, &cap, root, "");
	if (*n)
		qsort(*out, *n, sizeof(**out), md_strp_cmp);
	return rc;
}
