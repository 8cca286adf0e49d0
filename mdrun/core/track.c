#define _XOPEN_SOURCE 700 /* realpath */
#include "track.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/hash.h"
#include "../../store/store.h"

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static char lib_buf[PATH_MAX];
static const char *lib_path;

static void
find_lib(void)
{
	if (md_path_beside_self(lib_buf, sizeof(lib_buf), "mdrun-track.so",
				R_OK))
		lib_path = lib_buf;
}

const char *
md_track_lib(void)
{
	pthread_once(&lib_once, find_lib);
	return lib_path;
}

static char *
entry(const char *name, const char *value)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "%s=%s", name, value ? value : "");
	return md_buf_detach(&b);
}

size_t
md_track_env(char *out[5], const char *log, const char *root,
	     const char *skip)
{
	const char *lib = md_track_lib(), *had = getenv("LD_PRELOAD");
	struct md_buf pre = MD_BUF_INIT;

	if (!lib || !log || !root)
		return 0;
	/* ld.so splits LD_PRELOAD at spaces and colons. */
	if (strpbrk(lib, " :"))
		return 0;
	md_buf_printf(&pre, "LD_PRELOAD=%s", lib);
	if (had && *had)
		md_buf_printf(&pre, ":%s", had);
	out[0] = md_buf_detach(&pre);
	out[1] = entry("MDRUN_TRACK", log);
	out[2] = entry("MDRUN_TRACK_ROOT", root);
	out[3] = entry("MDRUN_TRACK_SKIP", skip);
#if defined(__SANITIZE_ADDRESS__)
	/* mdrun's own keeper, sanitized too, then starts with it preloaded. */
	{
		const char *a = getenv("ASAN_OPTIONS");
		struct md_buf b = MD_BUF_INIT;
		md_buf_printf(&b, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
			      a ? a : "", a && *a ? ":" : "");
		out[4] = md_buf_detach(&b);
		return 5;
	}
#endif
	return 4;
}

/*
 * The stat cache: path -> what stat said and the hash read then. Shared
 * by every worker of this process.
 */
struct seen {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	char hash[MD_HASH_HEX];
	bool dirty; /* not in the store's stat cache yet */
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen *seen;
static size_t nseen, cap_seen;

static size_t
slot(const char *path, size_t cap)
{
	size_t h = 5381;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = h * 33 + *p;
	return h & (cap - 1);
}

static struct seen *
seen_find(const char *path)
{
	size_t i;

	if (!cap_seen)
		return NULL;
	for (i = slot(path, cap_seen); seen[i].path; i = (i + 1) & (cap_seen - 1))
		if (!strcmp(seen[i].path, path))
			return &seen[i];
	return NULL;
}

static void
seen_put(const char *path, const struct stat *sb, const char *hash,
	 bool dirty)
{
	struct seen *e;
	size_t i;

	if (nseen * 2 >= cap_seen) {
		size_t ncap = cap_seen ? cap_seen * 2 : 64;
		struct seen *nv = md_calloc(ncap, sizeof(*nv));

		for (i = 0; i < cap_seen; i++) {
			size_t j;

			if (!seen[i].path)
				continue;
			for (j = slot(seen[i].path, ncap); nv[j].path;
			     j = (j + 1) & (ncap - 1))
				;
			nv[j] = seen[i];
		}
		free(seen);
		seen = nv;
		cap_seen = ncap;
	}
	if (!(e = seen_find(path))) {
		for (i = slot(path, cap_seen); seen[i].path;
		     i = (i + 1) & (cap_seen - 1))
			;
		e = &seen[i];
		e->path = md_strdup(path);
		nseen++;
	}
	e->dev = sb->st_dev;
	e->ino = sb->st_ino;
	e->size = sb->st_size;
	e->mtime = sb->st_mtim;
	e->ctime = sb->st_ctim;
	memcpy(e->hash, hash, MD_HASH_HEX);
	e->dirty = dirty;
}

static void
loaded(const struct store_stat *e, void *ctx)
{
	struct stat sb;

	(void)ctx;
	memset(&sb, 0, sizeof(sb));
	sb.st_dev = (dev_t)e->dev;
	sb.st_ino = (ino_t)e->ino;
	sb.st_size = (off_t)e->size;
	sb.st_mtim.tv_sec = (time_t)(e->mtime_ns / 1000000000);
	sb.st_mtim.tv_nsec = (long)(e->mtime_ns % 1000000000);
	sb.st_ctim.tv_sec = (time_t)(e->ctime_ns / 1000000000);
	sb.st_ctim.tv_nsec = (long)(e->ctime_ns % 1000000000);
	seen_put(e->path, &sb, e->hash, false);
}

static long long
ns_of(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

int
md_track_load(struct store *s)
{
	static bool done;
	int rc = 0;

	pthread_mutex_lock(&seen_lock);
	if (!done)
		rc = store_stats_load(s, loaded, NULL);
	done = true;
	pthread_mutex_unlock(&seen_lock);
	return rc;
}

int
md_track_save(struct store *s)
{
	struct store_stat *v;
	size_t n = 0, i;
	int rc;

	pthread_mutex_lock(&seen_lock);
	v = md_calloc(nseen + 1, sizeof(*v));
	for (i = 0; i < cap_seen; i++) {
		struct seen *e = &seen[i];
		if (!e->path || !e->dirty)
			continue;
		v[n].path = e->path;
		v[n].dev = (long long)e->dev;
		v[n].ino = (long long)e->ino;
		v[n].size = (long long)e->size;
		v[n].mtime_ns = ns_of(e->mtime);
		v[n].ctime_ns = ns_of(e->ctime);
		memcpy(v[n].hash, e->hash, MD_HASH_HEX);
		n++;
	}
	rc = store_stats_save(s, v, n);
	for (i = 0; rc == 0 && i < cap_seen; i++)
		seen[i].dirty = false;
	pthread_mutex_unlock(&seen_lock);
	free(v);
	return rc;
}

static bool
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/*
 * The SHA-256 of the regular file at path. MD_ENOTFOUND when it is not
 * there (or not a regular file).
 */
static int
file_hash(char out[MD_HASH_HEX], const char *path)
{
	struct stat sb, after;
	struct md_hash h;
	struct seen *e;
	char buf[65536];
	int fd, rc = 0;
	ssize_t k;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return MD_ENOTFOUND;
	pthread_mutex_lock(&seen_lock);
	e = seen_find(path);
	if (e && e->dev == sb.st_dev && e->ino == sb.st_ino &&
	    e->size == sb.st_size && same_time(e->mtime, sb.st_mtim) &&
	    same_time(e->ctime, sb.st_ctim)) {
		memcpy(out, e->hash, MD_HASH_HEX);
		pthread_mutex_unlock(&seen_lock);
		return 0;
	}
	pthread_mutex_unlock(&seen_lock);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? MD_ENOTFOUND
				       : md_err_sys("%s", path);
	md_hash_init(&h);
	while ((k = read(fd, buf, sizeof(buf))) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = md_err_sys("%s", path);
			break;
		}
		md_hash_update(&h, buf, (size_t)k);
	}
	md_hash_final(out, &h);
	/*
	 * Cached only when it did not change while read, and not within the
	 * last two seconds: a write in the same clock tick as the hash would
	 * leave the times as they were.
	 */
	if (rc == 0 && fstat(fd, &after) == 0 && after.st_size == sb.st_size &&
	    same_time(after.st_mtim, sb.st_mtim) &&
	    same_time(after.st_ctim, sb.st_ctim)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec - sb.st_mtim.tv_sec > 2 &&
		    now.tv_sec - sb.st_ctim.tv_sec > 2) {
			pthread_mutex_lock(&seen_lock);
			seen_put(path, &sb, out, true);
			pthread_mutex_unlock(&seen_lock);
		}
	}
	close(fd);
	return rc;
}

/* target relative to dir (both absolute, normalized), "../" as needed. */
static char *
relative(const char *dir, const char *target)
{
	struct md_buf b = MD_BUF_INIT;
	size_t i = 0, common = 0;

	while (dir[i] && dir[i] == target[i]) {
		if (dir[i] == '/')
			common = i;
		i++;
	}
	if (!dir[i] && (target[i] == '/' || !target[i]))
		common = i;
	else if (!strcmp(dir, "/"))
		common = 0;
	for (const char *p = dir + common; *p; p++)
		if (*p == '/' && p[1])
			md_buf_puts(&b, "../");
	md_buf_puts(&b, target[common] == '/' ? target + common + 1
					       : target + common);
	if (!b.len)
		md_buf_puts(&b, ".");
	return md_buf_detach(&b);
}

struct item {
	char *path;
	bool read, written, absent;
	bool appended; /* only appended to: neither read nor kept */
};

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->path,
		      ((const struct item *)b)->path);
}

/*
 * The files of log lines, each once: sorted by path, the flags of its
 * lines joined (what a block did to a file does not depend on order).
 */
static size_t
merge(struct item *v, size_t n)
{
	size_t i, k = 0;

	if (n)
		qsort(v, n, sizeof(*v), by_path);
	for (i = 0; i < n; i++) {
		if (k && !strcmp(v[k - 1].path, v[i].path)) {
			v[k - 1].read |= v[i].read;
			v[k - 1].written |= v[i].written;
			v[k - 1].absent |= v[i].absent;
			v[k - 1].appended |= v[i].appended;
			free(v[i].path);
		} else {
			v[k++] = v[i];
		}
	}
	return k;
}

/*
 * Does path's folder resolve inside the folder path is rel in (the
 * document's)?
 */
static bool
parent_inside(const char *path, const char *rel)
{
	char top[PATH_MAX], real_top[PATH_MAX], real[PATH_MAX];
	char *parent = md_path_dirname(path);
	size_t n = (size_t)(rel - path);
	bool in;

	snprintf(top, sizeof(top), "%.*s", (int)n, path);
	in = n < sizeof(top) && realpath(top, real_top) &&
	     realpath(parent, real) &&
	     !strncmp(real, real_top, strlen(real_top)) &&
	     (real[strlen(real_top)] == '/' || !real[strlen(real_top)]);
	free(parent);
	return in;
}

/*
 * A file the block left under dir: its hash and, up to max bytes, its
 * content (a blob); "! HASH" past max, or once the block's blobs hold
 * 4 max in all (they stay in memory until the commit). A removed one:
 * "- PATH".
 */
static int
add_write(struct md_track_io *io, const char *path, const char *rel,
	  size_t max)
{
	struct md_buf data = MD_BUF_INIT;
	char hash[MD_HASH_HEX];
	struct stat sb;
	int rc;

	/* Written through a link out of the folder: not the folder's. */
	if (!parent_inside(path, rel))
		return 0;
	if (lstat(path, &sb) < 0) {
		if (errno != ENOENT)
			return md_err_sys("%s", path);
		md_buf_printf(&io->writes, "- %s\n", rel);
		return 0;
	}
	if (!S_ISREG(sb.st_mode))
		return 0; /* a link or a folder now: not a file's content */
	if ((size_t)sb.st_size > max || io->kept + (size_t)sb.st_size > 4 * max) {
		if ((rc = file_hash(hash, path)) < 0)
			return rc == MD_ENOTFOUND ? 0 : rc;
		md_buf_printf(&io->writes, "! %s %s\n", hash, rel);
		return 0;
	}
	if ((rc = md_fs_read_file(&data, path, max, true)) < 0) {
		md_buf_dispose(&data);
		return rc == MD_ENOTFOUND ? 0 : rc;
	}
	md_hash_bytes(hash, data.ptr ? data.ptr : "", data.len);
	md_buf_printf(&io->writes, "%s %s\n", hash, rel);
	io->blobs = md_realloc(io->blobs, (io->nblobs + 1) * sizeof(*io->blobs));
	io->kept += data.len;
	io->blobs[io->nblobs++] = data;
	return 0;
}

void
md_track_io_dispose(struct md_track_io *io)
{
	md_buf_dispose(&io->reads);
	md_buf_dispose(&io->writes);
	for (size_t i = 0; i < io->nblobs; i++)
		md_buf_dispose(&io->blobs[i]);
	free(io->blobs);
	memset(io, 0, sizeof(*io));
}

int
md_track_collect(struct md_track_io *io, const char *log, long long *at,
		 const char *dir, size_t write_max)
{
	struct md_buf text = MD_BUF_INIT;
	struct item *v = NULL;
	size_t n = 0, cap = 0, i;
	struct stat sb;
	int fd, rc = 0;

	if ((fd = open(log, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : md_err_sys("%s", log);
	if (fstat(fd, &sb) < 0 || sb.st_size < *at) {
		close(fd);
		return 0;
	}
	if (sb.st_size > *at) {
		size_t want = (size_t)(sb.st_size - *at);
		md_buf_grow(&text, want);
		ssize_t k = pread(fd, text.ptr, want, (off_t)*at);
		if (k > 0)
			text.len = (size_t)k;
		text.ptr[text.len] = '\0';
	}
	close(fd);
	/* Whole lines only: a process may be writing one right now. */
	while (text.len && text.ptr[text.len - 1] != '\n')
		text.len--;
	*at += (long long)text.len;
	for (const char *p = text.ptr, *end = text.ptr + text.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct item *it;

		if (nl - p > 2 && p[1] == ' ' && p[2] == '/') {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = md_realloc(v, cap * sizeof(*v));
			}
			it = &v[n++];
			it->path = md_strndup(p + 2, (size_t)(nl - p - 2));
			/* An update (U) leaves a file the block found: it
			 * depends on it, as on one it read. */
			it->read = p[0] == 'R' || p[0] == 'U';
			it->absent = p[0] == 'A';
			it->written = p[0] == 'W' || p[0] == 'D';
			it->appended = p[0] == 'P';
		}
		p = nl + 1;
	}
	md_buf_dispose(&text);
	n = merge(v, n);
	for (i = 0; i < n; i++) {
		char hash[MD_HASH_HEX], *rel;
		int hr;

		/* python's byte code caches follow their sources. */
		if (strstr(v[i].path, "/__pycache__/"))
			continue;
		/* What it wrote in the document's folder comes back on a hit. */
		if (v[i].written) {
			size_t dn = strlen(dir);
			if (!strncmp(v[i].path, dir, dn) &&
			    v[i].path[dn] == '/' &&
			    add_write(io, v[i].path, v[i].path + dn + 1,
				      write_max) < 0)
				md_err_clear(); /* not readable: not kept */
		}
		/*
		 * A file the block wrote too is its output, its hash now the
		 * block's doing; so is one it appended to (a log, a count of
		 * its runs), which is never put back either: that would undo
		 * later lines.
		 */
		if (v[i].written || v[i].appended)
			continue;
		/* Looked for and not there: its coming makes the block run. */
		if (v[i].absent && !v[i].read) {
			struct stat gone;
			if (lstat(v[i].path, &gone) < 0 && errno == ENOENT) {
				rel = relative(dir, v[i].path);
				md_buf_printf(&io->reads, "- %s\n", rel);
				free(rel);
			}
			continue;
		}
		if (!v[i].read)
			continue;
		/*
		 * Gone (the block removed what it read), or not readable by
		 * mdrun (a file of another user's that ls stat'ed): no read.
		 */
		if ((hr = file_hash(hash, v[i].path)) < 0) {
			md_err_clear();
			continue;
		}
		rel = relative(dir, v[i].path);
		md_buf_printf(&io->reads, "%s %s\n", hash, rel);
		free(rel);
	}
	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	return rc;
}

bool
md_track_check(const char *reads, size_t len, const char *dir,
	       struct md_buf *changed)
{
	const char *p = reads, *end = reads + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char hash[MD_HASH_HEX], *rel, *path;
		bool same;

		if (!nl)
			nl = end;
		if (nl - p > 2 && p[0] == '-' && p[1] == ' ') {
			/* Looked for and not there: still not there? */
			struct stat sb;

			rel = md_strndup(p + 2, (size_t)(nl - p - 2));
			path = rel[0] == '/' ? md_strdup(rel)
					     : md_path_join(dir, rel);
			same = lstat(path, &sb) < 0 && errno == ENOENT;
		} else if (nl - p < MD_HASH_HEX + 1 ||
			   p[MD_HASH_HEX - 1] != ' ') {
			if (changed)
				md_buf_puts(changed, "(a damaged record)");
			return false;
		} else {
			rel = md_strndup(p + MD_HASH_HEX,
					 (size_t)(nl - p - MD_HASH_HEX));
			path = rel[0] == '/' ? md_strdup(rel)
					     : md_path_join(dir, rel);
			same = file_hash(hash, path) == 0 &&
			       !memcmp(hash, p, MD_HASH_HEX - 1);
		}
		if (!same && changed)
			md_buf_puts(changed, rel);
		free(rel);
		free(path);
		if (!same)
			return false;
		p = nl + 1;
	}
	return true;
}

/*
 * A recorded path that stays inside the folder it is relative to: not
 * empty, not absolute, no "", "." or ".." component.
 */
static bool
safe_rel(const char *p, size_t n)
{
	size_t i = 0;

	if (!n || p[0] == '/')
		return false;
	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if (j == i || (j - i == 1 && p[i] == '.') ||
		    (j - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		i = j + 1;
	}
	return p[n - 1] != '/';
}

/*
 * Where restored files may go: dir as the system resolves it, and the
 * last folder checked (writes are sorted: a folder's files come
 * together), swept of what interrupted writes left once.
 */
struct inside {
	char dir[PATH_MAX];
	char *last;
	bool ok;
};

/* Is path's folder, as the system resolves it, inside the folder? */
static bool
resolves_inside(struct inside *in, const char *path)
{
	char real[PATH_MAX];
	char *parent = md_path_dirname(path);
	size_t n = strlen(in->dir);

	if (in->last && !strcmp(in->last, parent)) {
		free(parent);
		return in->ok;
	}
	free(in->last);
	in->last = parent;
	in->ok = in->dir[0] && realpath(parent, real) &&
		 !strncmp(real, in->dir, n) && (real[n] == '/' || !real[n]);
	if (in->ok)
		md_fs_sweep_atomic(parent, NULL);
	return in->ok;
}

/* One line of writes: its kind ('=' kept, '!' not kept, '-' removed). */
struct wline {
	char kind;
	const char *hash; /* 64 hex digits, or NULL for '-' */
	const char *path;
	size_t len;
};

static bool
wline_parse(struct wline *w, const char *p, const char *nl)
{
	memset(w, 0, sizeof(*w));
	if (nl - p > 2 && p[0] == '-' && p[1] == ' ') {
		w->kind = '-';
		w->path = p + 2;
	} else if (nl - p > MD_HASH_HEX + 2 && p[0] == '!' && p[1] == ' ' &&
		   p[MD_HASH_HEX + 1] == ' ') {
		w->kind = '!';
		w->hash = p + 2;
		w->path = p + MD_HASH_HEX + 2;
	} else if (nl - p > MD_HASH_HEX && p[MD_HASH_HEX - 1] == ' ') {
		w->kind = '=';
		w->hash = p;
		w->path = p + MD_HASH_HEX;
	} else {
		return false;
	}
	w->len = (size_t)(nl - w->path);
	return safe_rel(w->path, w->len);
}

/* Does the file at path have hash (64 hex digits)? */
static bool
has_hash(const char *path, const char *hash)
{
	char now[MD_HASH_HEX];

	return file_hash(now, path) == 0 && !memcmp(now, hash, MD_HASH_HEX - 1);
}

bool
md_track_kept(const char *writes, size_t len, const char *dir,
	      struct md_buf *changed)
{
	for (const char *p = writes, *end = writes + len; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct wline w;
		char *path;
		bool ok = true;

		if (!nl)
			nl = end;
		if (wline_parse(&w, p, nl) && w.kind == '!') {
			char *rel = md_strndup(w.path, w.len);
			path = md_path_join(dir, rel);
			ok = has_hash(path, w.hash);
			if (!ok && changed)
				md_buf_printf(changed, "%s (written, larger "
						       "than the store keeps)",
					      rel);
			free(path);
			free(rel);
		}
		if (!ok)
			return false;
		p = nl + 1;
	}
	return true;
}

/* The first c in s, or its end. */
static const char *
until(const char *s, char c)
{
	const char *e = strchr(s, c);

	return e ? e : s + strlen(s);
}

/*
 * A recorded write that must never be written back, whatever a store
 * says: git's files, mdrun's config and store, and the render's own
 * (skip: the ':' list of absolute paths the library leaves out).
 */
static bool
forbidden(const char *rel, const char *path, const char *skip)
{
	const char *c = rel;

	for (;;) {
		const char *e = until(c, '/');
		size_t n = (size_t)(e - c);
		if ((n == 4 && !memcmp(c, ".git", 4)) ||
		    (n >= 6 && !memcmp(c, ".mdrun", 6)) ||
		    (!*e && !strcmp(c, "mdrun.json")))
			return true;
		if (!*e)
			break;
		c = e + 1;
	}
	for (const char *p = skip; p && *p;) {
		const char *e = until(p, ':');
		size_t n = (size_t)(e - p);
		if (n && !strncmp(path, p, n) &&
		    (path[n] == '/' || !path[n]))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* The deepest folder of path that exists: inside the folder? */
static bool
ancestor_inside(struct inside *in, const char *parent)
{
	char *at = md_strdup(parent);
	struct stat sb;
	bool ok;

	while (lstat(at, &sb) < 0 && strrchr(at, '/') && strrchr(at, '/') != at)
		*strrchr(at, '/') = '\0';
	ok = S_ISDIR(sb.st_mode) || S_ISLNK(sb.st_mode);
	if (ok) {
		char probe[PATH_MAX + 2];
		snprintf(probe, sizeof(probe), "%s/x", at);
		ok = resolves_inside(in, probe);
	}
	free(at);
	return ok;
}

int
md_track_restore(struct store *s, const char *writes, size_t len,
		 const char *dir, const char *skip, size_t *restored,
		 size_t *refused)
{
	struct md_buf data = MD_BUF_INIT;
	struct inside in = { "", NULL, false };
	int rc = 0;

	*restored = *refused = 0;
	if (!realpath(dir, in.dir))
		in.dir[0] = '\0';
	for (const char *p = writes, *end = writes + len; p && p < end && !rc;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *rel, *path, *parent, hash[MD_HASH_HEX];
		struct wline w;
		struct stat sb;
		bool ok;

		if (!nl)
			nl = end;
		if (!wline_parse(&w, p, nl) || w.kind == '!') {
			p = nl + 1;
			continue;
		}
		rel = md_strndup(w.path, w.len);
		path = md_path_join(dir, rel);
		parent = md_path_dirname(path);
		if (forbidden(rel, path, skip)) {
			(*refused)++;
		} else if (w.kind == '-') {
			if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
			    resolves_inside(&in, path) && unlink(path) == 0)
				(*restored)++;
		} else if (!has_hash(path, w.hash)) {
			memcpy(hash, w.hash, MD_HASH_HEX - 1);
			hash[MD_HASH_HEX - 1] = '\0';
			md_buf_clear(&data);
			/*
			 * Nothing is made outside the folder, nor written
			 * through a link or over what is not a file: such a
			 * write, or one whose content the store lacks, is
			 * refused (counted), never an error of the render.
			 */
			ok = ancestor_inside(&in, parent) &&
			     store_blob(&data, s, hash) == 0 &&
			     md_fs_mkdirs(parent, 0755) == 0 &&
			     resolves_inside(&in, path) &&
			     !(lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode));
			md_err_clear();
			if (!ok)
				(*refused)++;
			else if ((rc = md_fs_write_atomic_swept(
					  path, data.ptr, data.len, 0644)) == 0)
				(*restored)++;
		}
		free(parent);
		free(path);
		free(rel);
		p = nl + 1;
	}
	free(in.last);
	md_buf_dispose(&data);
	return rc;
}
