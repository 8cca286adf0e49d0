#define _GNU_SOURCE /* getdents64, getrandom */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash.h"
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

static int
not_found(const char *what)
{
	md_err_set("%s: no such file", what);
	return MD_ENOTFOUND;
}

/* Reads the st->st_size bytes of fd, a regular file, at most. */
static int
read_sized(struct md_buf *out, int fd, const struct stat *st, size_t max,
	   const char *what)
{
	size_t want = (size_t)st->st_size, got = 0;

	if (max && want > max)
		return md_err_set("%s: larger than %zu bytes", what, max);
	md_buf_grow(out, want);
	while (got < want) {
		ssize_t n = read(fd, out->ptr + out->len, want - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return md_err_sys("%s: read", what);
		if (n == 0)
			break; /* it shrank meanwhile */
		got += (size_t)n;
		out->len += (size_t)n;
	}
	out->ptr[out->len] = '\0';
	return 0;
}

static int
read_at(struct md_buf *out, int dirfd, const char *name, size_t max,
	bool follow, const char *what)
{
	int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC |
		    (follow ? 0 : O_NOFOLLOW);
	struct stat st;
	int fd, rc;

	/*
	 * Looked at before it is opened: opening a device can have effects
	 * (a tape rewinds), and opening a fifo could wait for a writer. The
	 * descriptor is checked again: it may have been swapped meanwhile.
	 */
	if (fstatat(dirfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? not_found(what)
				       : md_err_sys("%s", what);
	if (!S_ISREG(st.st_mode))
		return md_err_set("%s: not a regular file", what);
	if ((fd = openat(dirfd, name, flags)) < 0) {
		if (errno == ENOENT)
			return not_found(what);
		if (errno == ELOOP)
			return md_err_set("%s: not a regular file", what);
		return md_err_sys("%s", what);
	}
	if (fstat(fd, &st) < 0)
		rc = md_err_sys("%s", what);
	else if (!S_ISREG(st.st_mode))
		rc = md_err_set("%s: not a regular file", what);
	else
		rc = read_sized(out, fd, &st, max, what);
	close(fd);
	return rc;
}

int
md_fs_read_file(struct md_buf *out, const char *path, size_t max,
		bool follow)
{
	return read_at(out, AT_FDCWD, path, max, follow, path);
}

int
md_fs_read_regular(struct md_buf *out, const char *path, size_t max)
{
	return read_at(out, AT_FDCWD, path, max, false, path);
}

int
md_fs_read_at(struct md_buf *out, int dirfd, const char *name, size_t max,
	      const char *what)
{
	return read_at(out, dirfd, name, max, false, what);
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

#define TMP_MARK ".mdrun-tmp."

/*
 * Removes the temporary file name in dirfd when no writer holds it. A
 * writer locks its file from just after creating it until it has renamed
 * it, so a lock taken here is a dead writer's, or a finished one's (then
 * the name is gone), or one that has not locked yet: that writer sees its
 * file unlinked when it gets the lock, and makes another.
 */
static void
drop_stale(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					     O_CLOEXEC);
	struct stat a, b;

	if (fd < 0)
		return;
	if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
	    fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlinkat(dirfd, name, 0);
	close(fd);
}

/* What md_fs_sweep_atomic does, in the folder dirfd. */
static void
sweep_atomic(int dirfd, const char *name)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = name ? strlen(name) : 0;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		const char *mark = strstr(e->d_name, TMP_MARK);

		if (!mark || (name && ((size_t)(mark - e->d_name) != n ||
				       strncmp(e->d_name, name, n))))
			continue;
		drop_stale(dirfd, e->d_name);
	}
	closedir(d);
}

void
md_fs_sweep_atomic(const char *dir, const char *name)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	sweep_atomic(fd, name);
	close(fd);
}

/*
 * Creates NAME.mdrun-tmp.XXXXXX in dirfd and locks it; its name goes to
 * tmp. Returns the descriptor, or an error.
 */
static int
create_locked(struct md_buf *tmp, int dirfd, const char *name,
	      const char *what)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";

	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[8];
		struct stat st;
		int fd;

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return md_err_sys("%s: getrandom", what);
		md_buf_clear(tmp);
		md_buf_printf(tmp, "%s" TMP_MARK, name);
		for (size_t i = 0; i < sizeof(r); i++)
			md_buf_putc(tmp, digits[r[i] & 31]);
		fd = openat(dirfd, tmp->ptr,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return md_err_sys("%s: cannot create a temporary "
					  "file", what);
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		/* A sweep took it for a dead writer's: make another. */
		if (fstat(fd, &st) == 0 && st.st_nlink > 0)
			return fd;
		close(fd);
	}
	return md_err_set("%s: cannot create a temporary file", what);
}

/* md_fs_write_atomic_at, with what naming name in messages. */
static int
write_atomic(int dirfd, const char *name, const char *what,
	     const void *data, size_t n, mode_t mode, bool sweep)
{
	struct md_buf tmp = MD_BUF_INIT;
	int fd, probe, rc;

	if (sweep)
		sweep_atomic(dirfd, name);
	if ((fd = create_locked(&tmp, dirfd, name, what)) < 0) {
		md_buf_dispose(&tmp);
		return fd;
	}
	if (fchmod(fd, mode) < 0) {
		rc = md_err_sys("%s: chmod", tmp.ptr);
		goto done;
	}
	if ((rc = write_all(fd, data, n, what)) < 0)
		goto done;
	/*
	 * The lock is held until the rename, but a write error some file
	 * systems report only at close must come first: closing a
	 * duplicate reports it and keeps the lock.
	 */
	if ((probe = dup(fd)) < 0 || close(probe) < 0) {
		rc = md_err_sys("%s: close", what);
		goto done;
	}
	md_crashpoint("write:renaming");
	if (renameat(dirfd, tmp.ptr, dirfd, name) < 0) {
		rc = md_err_sys("%s: rename", what);
		goto done;
	}
	md_buf_clear(&tmp);
done:
	if (rc < 0 && tmp.len)
		unlinkat(dirfd, tmp.ptr, 0);
	close(fd);
	md_buf_dispose(&tmp);
	return rc;
}

int
md_fs_write_atomic_at(int dirfd, const char *name, const void *data,
		      size_t n, mode_t mode)
{
	return write_atomic(dirfd, name, name, data, n, mode, true);
}

static int
write_atomic_path(const char *path, const void *data, size_t n, mode_t mode,
		  bool sweep)
{
	char *dir = md_path_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		rc = md_err_sys("%s", path);
	else
		rc = write_atomic(fd, md_path_basename(path), path, data, n,
				  mode, sweep);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int
md_fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode)
{
	return write_atomic_path(path, data, n, mode, true);
}

int
md_fs_write_atomic_swept(const char *path, const void *data, size_t n,
			 mode_t mode)
{
	return write_atomic_path(path, data, n, mode, false);
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
	/* A link stays a link: what it leads to is replaced. */
	if (!realpath(path, real))
		return md_err_sys("%s", path);
	if ((size_t)st.st_size == n) {
		struct md_buf now = MD_BUF_INIT;
		bool same = md_fs_read_file(&now, real, n, false) == 0 &&
			    now.len == n &&
			    (n == 0 || !memcmp(now.ptr, data, n));
		md_buf_dispose(&now);
		if (same) {
			/* Not written: what a dead writer left goes anyway. */
			char *dir = md_path_dirname(real);
			md_fs_sweep_atomic(dir, md_path_basename(real));
			free(dir);
			return 0;
		}
	}
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

/* How a folder of a walk is opened: never through a link. */
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* The name a folder being removed takes, so the way back finds it. */
#define RM_NAME ".mdrun-rm"

/* Makes the folder fd readable, writable and searchable by its owner. */
static int
own_rwx(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if ((st.st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0)
		return -1;
	return 0;
}

/*
 * One pass over the folder fd: removes what is not a folder, and renames
 * one subfolder RM_NAME (unless one is there already). Returns 1 when
 * RM_NAME is there to go into, 0 when fd is empty, -1 with errno.
 * Async-signal-safe.
 */
static int
rm_pass(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	struct stat st;
	bool sub = false;
	ssize_t n;

	if (fstatat(fd, RM_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			sub = true;
		else if (unlinkat(fd, RM_NAME, 0) < 0)
			return -1;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			const char *name = e->d_name;
			bool dir = e->d_type == DT_DIR;

			off += e->d_reclen;
			if (!strcmp(name, ".") || !strcmp(name, "..") ||
			    !strcmp(name, RM_NAME))
				continue;
			if (e->d_type == DT_UNKNOWN) {
				if (fstatat(fd, name, &st,
					    AT_SYMLINK_NOFOLLOW) < 0) {
					if (errno == ENOENT)
						continue;
					return -1;
				}
				dir = S_ISDIR(st.st_mode);
			}
			if (!dir) {
				if (unlinkat(fd, name, 0) < 0 &&
				    errno != ENOENT)
					return -1;
			} else if (!sub) {
				/* One at a time: the others wait their turn. */
				if (renameat(fd, name, fd, RM_NAME) < 0)
					return -1;
				sub = true;
			}
		}
	}
	return n < 0 ? -1 : sub;
}

/*
 * Empties the folder fd (closed here), depth first. Going down, the
 * folder to empty is renamed RM_NAME; going up, ".." leads back and
 * RM_NAME is what to remove there. So nothing is remembered per level
 * and two descriptors at most are open: no depth is too deep, and no
 * memory is allocated. Async-signal-safe.
 */
static int
empty_dir_fd(int fd)
{
	size_t depth = 0;
	int r, next, err;

	for (;;) {
		if (own_rwx(fd) < 0 || (r = rm_pass(fd)) < 0)
			goto fail;
		if (r == 1) {
			next = openat(fd, RM_NAME, DIR_FLAGS);
			if (next < 0 && errno == EACCES &&
			    fchmodat(fd, RM_NAME, 0700, 0) == 0)
				next = openat(fd, RM_NAME, DIR_FLAGS);
			if (next < 0)
				goto fail;
			close(fd);
			fd = next;
			depth++;
			continue;
		}
		if (depth == 0)
			break;
		next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (next < 0)
			goto fail;
		close(fd);
		fd = next;
		depth--;
		if (unlinkat(fd, RM_NAME, AT_REMOVEDIR) < 0)
			goto fail;
	}
	close(fd);
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
md_fs_rmtree_quiet(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	fd = open(path, DIR_FLAGS);
	if (fd < 0 && errno == EACCES && chmod(path, 0700) == 0)
		fd = open(path, DIR_FLAGS);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (empty_dir_fd(fd) < 0)
		return -1;
	return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
md_fs_rmtree(const char *path)
{
	if (md_fs_rmtree_quiet(path) < 0)
		return md_err_sys("%s: cannot remove", path);
	return 0;
}

/* One folder of a walk in progress: its names, and which is next. */
struct level {
	char **names;
	size_t n, next;
	dev_t dev;
	ino_t ino;
	size_t rel_len; /* the length of its path under the root */
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the names in the folder fd into l, sorted. */
static int
read_level(struct level *l, int fd, const char *what)
{
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	struct dirent *e;
	size_t cap = 0;
	struct stat st;

	memset(l, 0, sizeof(*l));
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return md_err_sys("%s", what);
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->names = md_realloc(l->names,
					      cap * sizeof(*l->names));
		}
		l->names[l->n++] = md_strdup(e->d_name);
	}
	closedir(d);
	if (l->n)
		qsort(l->names, l->n, sizeof(*l->names), name_cmp);
	if (fstat(fd, &st) < 0)
		return md_err_sys("%s", what);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

static void
level_dispose(struct level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

/* w->path: root/rel, or root/.../NAME when that would be long. */
static void
shown_path(struct md_buf *out, const char *root, const struct md_buf *rel,
	   const char *name)
{
	md_buf_clear(out);
	md_buf_puts(out, root);
	if (rel->len <= 100) {
		md_buf_putc(out, '/');
		md_buf_put(out, rel->ptr, rel->len);
	} else {
		md_buf_printf(out, "/.../%.60s", name);
	}
}

int
md_fs_walk(const char *root,
	   int (*fn)(enum md_walk_step step, const struct md_walk *w,
		     void *arg),
	   void *arg)
{
	struct level *lv = NULL;
	size_t depth = 0, cap = 0;
	struct md_buf rel = MD_BUF_INIT, path = MD_BUF_INIT;
	struct md_walk w;
	struct stat st;
	int fd, next = -1, rc = 0;

	fd = open(root, DIR_FLAGS);
	if (fd < 0) {
		if (errno == ENOENT)
			return not_found(root);
		if (errno == ENOTDIR || errno == ELOOP)
			return md_err_set("%s: not a folder", root);
		return md_err_sys("%s", root);
	}
	md_buf_put(&rel, "", 0);
	cap = 16;
	lv = md_calloc(cap, sizeof(*lv));
	rc = read_level(&lv[0], fd, root);
	depth = 1;
	while (depth > 0 && rc == 0) {
		struct level *l = &lv[depth - 1];

		if (l->next == l->n) {
			level_dispose(l);
			if (--depth == 0)
				break;
			/*
			 * Back up through "..", which must be the folder
			 * we came from: nothing is held open per level.
			 */
			next = openat(fd, "..", O_RDONLY | O_DIRECTORY |
							 O_CLOEXEC);
			l = &lv[depth - 1];
			if (next < 0 || fstat(next, &st) < 0) {
				rc = md_err_sys("%s", path.ptr);
				break;
			}
			if (st.st_dev != l->dev || st.st_ino != l->ino) {
				rc = md_err_set("%s: moved during the walk",
						root);
				break;
			}
			memset(&w, 0, sizeof(w));
			w.dirfd = next;
			w.name = l->names[l->next];
			rel.len = lv[depth].rel_len;
			rel.ptr[rel.len] = '\0';
			w.rel = rel.ptr;
			w.rel_len = rel.len;
			shown_path(&path, root, &rel, w.name);
			w.path = path.ptr;
			w.fd = fd;
			if (fstat(fd, &w.st) < 0)
				rc = md_err_sys("%s", path.ptr);
			else
				rc = fn(MD_WALK_LEAVE, &w, arg);
			close(fd);
			fd = next;
			next = -1;
			rel.len = l->rel_len;
			rel.ptr[rel.len] = '\0';
			l->next++;
			continue;
		}
		memset(&w, 0, sizeof(w));
		w.dirfd = fd;
		w.name = l->names[l->next];
		w.fd = -1;
		rel.len = l->rel_len;
		if (rel.len)
			md_buf_putc(&rel, '/');
		md_buf_puts(&rel, w.name);
		w.rel = rel.ptr;
		w.rel_len = rel.len;
		shown_path(&path, root, &rel, w.name);
		w.path = path.ptr;
		if (fstatat(fd, w.name, &w.st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) /* gone meanwhile: not there */
				rc = md_err_sys("%s", path.ptr);
			l->next++;
			continue;
		}
		if (!S_ISDIR(w.st.st_mode)) {
			rc = fn(MD_WALK_FILE, &w, arg);
			l->next++;
			continue;
		}
		if ((rc = fn(MD_WALK_ENTER, &w, arg)) != 0) {
			rc = rc > 0 ? 0 : rc;
			l->next++;
			continue;
		}
		next = openat(fd, w.name, DIR_FLAGS);
		if (next < 0 || fstat(next, &st) < 0) {
			rc = md_err_sys("%s", path.ptr);
			break;
		}
		if (st.st_dev != w.st.st_dev || st.st_ino != w.st.st_ino) {
			rc = md_err_set("%s: moved during the walk", root);
			break;
		}
		if (depth == cap) {
			cap *= 2;
			lv = md_realloc(lv, cap * sizeof(*lv));
		}
		if ((rc = read_level(&lv[depth], next, path.ptr)) < 0) {
			level_dispose(&lv[depth]);
			break;
		}
		lv[depth].rel_len = rel.len;
		depth++;
		close(fd);
		fd = next;
		next = -1;
	}
	while (depth > 0)
		level_dispose(&lv[--depth]);
	if (next >= 0)
		close(next);
	close(fd);
	free(lv);
	md_buf_dispose(&rel);
	md_buf_dispose(&path);
	return rc;
}

static int
readonly_fn(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	(void)arg;
	if (step == MD_WALK_LEAVE && fchmod(w->fd, 0555) < 0)
		return md_err_sys("%s: chmod", w->path);
	if (step == MD_WALK_FILE && S_ISREG(w->st.st_mode) &&
	    (w->st.st_mode & 0222) &&
	    fchmodat(w->dirfd, w->name, w->st.st_mode & 0555, 0) < 0)
		return md_err_sys("%s: chmod", w->path);
	return 0;
}

int
md_fs_make_readonly(const char *path)
{
	struct stat st;
	int rc;

	if (lstat(path, &st) < 0)
		return md_err_sys("%s", path);
	if (S_ISLNK(st.st_mode))
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		if ((st.st_mode & 0222) && chmod(path, st.st_mode & 0555) < 0)
			return md_err_sys("%s: chmod", path);
		return 0;
	}
	if ((rc = md_fs_walk(path, readonly_fn, NULL)) < 0)
		return rc;
	if (chmod(path, 0555) < 0)
		return md_err_sys("%s: chmod", path);
	return 0;
}

int
md_fs_own_dir(const char *path)
{
	int fd = open(path, DIR_FLAGS);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? not_found(path)
				       : md_err_sys("%s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			md_err_sys("%s: flock", path);
			close(fd);
			return MD_ERROR;
		}
	}
	/* A sweep that took it for a dead process's removed it first. */
	if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close(fd);
		return not_found(path);
	}
	return fd;
}

void
md_fs_sweep_owned(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	size_t n = strlen(prefix);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p;
		int fd;

		if (strncmp(e->d_name, prefix, n))
			continue;
		p = md_path_join(dir, e->d_name);
		fd = open(p, DIR_FLAGS);
		/* Removed while locked: its owner, if it was starting, sees. */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			md_fs_rmtree_quiet(p);
		if (fd >= 0)
			close(fd);
		free(p);
	}
	closedir(d);
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

bool
md_fs_is_empty(const char *path)
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

bool
md_fs_is_fresh_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       (st.st_mode & 07777) == 0755 && md_fs_is_empty(path);
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

/* Collects what md_fs_list returns. */
struct listing {
	char **v;
	size_t n, cap;
};

static int
list_fn(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	struct listing *l = arg;

	if (step != MD_WALK_FILE || !S_ISREG(w->st.st_mode))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = md_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = md_strdup(w->rel);
	return 0;
}

int
md_fs_list(char ***out, size_t *n, const char *root)
{
	struct listing l = { NULL, 0, 0 };
	int rc = md_fs_walk(root, list_fn, &l);

	if (rc == MD_ENOTFOUND)
		rc = 0;
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), md_strp_cmp);
	*out = l.v;
	*n = l.n;
	return rc;
}

bool
md_path_beside_self(char *out, size_t size, const char *name, int mode)
{
	/* Beside the binary (a build folder), else where an install puts
	 * the helpers: PREFIX/lib/mdrun/ for PREFIX/bin/mdrun. */
	static const char installed[] = "../lib/mdrun/";
	size_t len = strlen(name);
	ssize_t n;
	char *slash;

	if (size <= len + sizeof(installed))
		return false;
	n = readlink("/proc/self/exe", out, size - len - sizeof(installed));
	if (n <= 0)
		return false;
	out[n] = '\0';
	if (!(slash = strrchr(out, '/')))
		return false;
	memcpy(slash + 1, name, len + 1);
	if (access(out, mode) == 0)
		return true;
	memcpy(slash + 1, installed, sizeof(installed) - 1);
	memcpy(slash + sizeof(installed), name, len + 1);
	return access(out, mode) == 0;
}
