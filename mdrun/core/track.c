#include "track.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/hash.h"

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
seen_put(const char *path, const struct stat *sb, const char *hash)
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
			seen_put(path, &sb, out);
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
	bool read, written;
};

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->path,
		      ((const struct item *)b)->path);
}

static struct item *
item_get(struct item **v, size_t *n, const char *path, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*v)[i].path) == len &&
		    !memcmp((*v)[i].path, path, len))
			return &(*v)[i];
	*v = md_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].path = md_strndup(path, len);
	(*v)[*n].read = (*v)[*n].written = false;
	return &(*v)[(*n)++];
}

int
md_track_collect(struct md_buf *out, const char *log, long long *at,
		 const char *dir)
{
	struct md_buf text = MD_BUF_INIT;
	struct item *v = NULL;
	size_t n = 0, i;
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
			it = item_get(&v, &n, p + 2, (size_t)(nl - p - 2));
			if (p[0] == 'R')
				it->read = true;
			else if (p[0] == 'W' || p[0] == 'D')
				it->written = true;
		}
		p = nl + 1;
	}
	md_buf_dispose(&text);
	if (n)
		qsort(v, n, sizeof(*v), by_path);
	for (i = 0; i < n; i++) {
		char hash[MD_HASH_HEX], *rel;
		int hr;

		/*
		 * A file the block wrote too is its output (a counter, a
		 * log it appends to), its hash now the block's doing; python's
		 * byte code caches follow their sources.
		 */
		if (!v[i].read || v[i].written ||
		    strstr(v[i].path, "/__pycache__/"))
			continue;
		if ((hr = file_hash(hash, v[i].path)) == MD_ENOTFOUND)
			continue; /* gone: the block removed what it read */
		if (hr < 0) {
			rc = hr;
			break;
		}
		rel = relative(dir, v[i].path);
		md_buf_printf(out, "%s %s\n", hash, rel);
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
		if (nl - p < MD_HASH_HEX + 1 || p[MD_HASH_HEX - 1] != ' ') {
			if (changed)
				md_buf_puts(changed, "(a damaged record)");
			return false;
		}
		rel = md_strndup(p + MD_HASH_HEX, (size_t)(nl - p - MD_HASH_HEX));
		path = rel[0] == '/' ? md_strdup(rel) : md_path_join(dir, rel);
		same = file_hash(hash, path) == 0 &&
		       !memcmp(hash, p, MD_HASH_HEX - 1);
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
