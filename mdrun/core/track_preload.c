/*
 * mdrun-track.so: loaded (LD_PRELOAD) into every process a block runs,
 * and inherited by what those start, it tells mdrun which files they
 * read and wrote (track.h). It wraps the libc calls that name a file:
 * open, openat, creat, fopen, freopen (64-bit variants and the
 * fortified ones too), stat, lstat, fstatat, execve, unlink, unlinkat,
 * rename, renameat, renameat2; calls libc's own, then appends one line
 * per file to the log MDRUN_TRACK names:
 *
 *   R PATH   a regular file opened for reading, stat'ed or executed
 *   A PATH   a file looked for (opened for reading, stat'ed) and not
 *            there (ENOENT)
 *   W PATH   a file created (or cut to nothing) by an open for writing,
 *            or renamed onto
 *   U PATH   a file that was there opened for reading and writing
 *            without cutting it (updated in place: a database)
 *   P PATH   a file that was there opened to append to it (a log)
 *   D PATH   a file removed, or renamed away
 *
 * PATH is absolute (a relative one is joined to the working folder, or
 * to the folder an *at call's descriptor names), "." and ".." resolved,
 * links not followed. Only paths under MDRUN_TRACK_ROOT are written, none
 * in a .git folder (git's own files), and none under MDRUN_TRACK_SKIP (a ':' separated list of folders: the
 * store's, the block's own session files). Each line is one write(2) of
 * at most PATH_MAX + 3 bytes to a file opened O_APPEND, so lines of many
 * processes never mix. errno is what libc's call left.
 *
 * Snapshots of a shell session (mdrun watch, session.h): with
 * MDRUN_SNAP set in the shell mdrun starts, opening that path forks the
 * shell: the copy stops at once (SIGSTOP) and holds the state, and the
 * open gives a pipe to read "SNAP PID" from, or "NOSNAP WHY" (a child
 * process running, a file open for writing other than MDRUN_SNAP_OWN's
 * fds); in the copy, once continued, it gives "RESUMED". Opening
 * MDRUN_SNAP_HOLD ends the process, but for the shell mdrun started,
 * which then waits (as the session's subreaper) for the process named
 * in MDRUN_SNAP_ACTIVE to end, and ends as it did. The shell, as a
 * python session does (session.py), hands itself over to a copy that
 * way. The variables are unset by the shell at once: its children are
 * not asked.
 *
 * Not seen: statically linked programs (they make system calls without
 * libc), calls made inside libc itself (a library opening its own
 * files), directories listed, and files opened by path through a system
 * call of a program's own. Built without sanitizers: it runs inside
 * python, R and the shells.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static char log_path[PATH_MAX];
static char root[PATH_MAX];
static size_t root_len;
static char skip[4 * PATH_MAX];
static int on;

static void resolve_all(void);

/* Shell snapshots: see above. */
static char snap_path[PATH_MAX], hold_path[PATH_MAX], active_path[PATH_MAX];
static pid_t first_pid;
static pid_t snaps[256];
static int nsnaps;
static int own[8], nown;

static void
snap_init(void)
{
	const char *sp = getenv("MDRUN_SNAP"), *hp = getenv("MDRUN_SNAP_HOLD");
	const char *ap = getenv("MDRUN_SNAP_ACTIVE"), *o = getenv("MDRUN_SNAP_OWN");

	if (!sp || !hp || !ap || strlen(sp) >= PATH_MAX ||
	    strlen(hp) >= PATH_MAX || strlen(ap) >= PATH_MAX ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return;
	strcpy(snap_path, sp);
	strcpy(hold_path, hp);
	strcpy(active_path, ap);
	first_pid = getpid();
	for (char *e; o && *o && nown < 8; o = *e ? e + 1 : e)
		own[nown++] = (int)strtol(o, &e, 10);
}

/* A pipe to read text from, or -1. */
static int
answer_fd(const char *text)
{
	int p[2];
	size_t n = strlen(text);

	if (pipe(p) < 0)
		return -1;
	if (write(p[1], text, n) != (ssize_t)n) {
		close(p[0]);
		p[0] = -1;
	}
	close(p[1]);
	return p[0];
}

/* Why a copy of this shell would not hold its state, or NULL. */
static const char *
cannot_snapshot(void)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(),
		 (int)getpid());
	if ((fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC)) < 0)
		return "no /proc";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf, *end; *p; p = end) {
		long k = strtol(p, &end, 10);
		int known = 0;

		if (end == p)
			break;
		for (int i = 0; i < nsnaps; i++)
			known |= snaps[i] == (pid_t)k;
		if (!known)
			return "a child process is running";
	}
	if (!(d = opendir("/proc/self/fd")))
		return "no /proc";
	while ((e = readdir(d))) {
		int k = atoi(e->d_name), mine = k <= 2 || k == dirfd(d);
		struct stat sb;

		for (int i = 0; i < nown; i++)
			mine |= own[i] == k;
		if (mine || e->d_name[0] == '.' || fstat(k, &sb) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if ((fcntl(k, F_GETFL) & O_ACCMODE) != O_RDONLY) {
			closedir(d);
			return "a file is open for writing";
		}
	}
	closedir(d);
	return NULL;
}

/* Opening MDRUN_SNAP: a stopped copy of this process. */
static int
snapshot(void)
{
	char text[64];
	const char *why;
	pid_t pid;

	for (int i = 0; i < nsnaps;) /* copies mdrun ended: reaped */
		if (waitpid(snaps[i], NULL, WNOHANG) != 0)
			snaps[i] = snaps[--nsnaps];
		else
			i++;
	if ((why = cannot_snapshot())) {
		snprintf(text, sizeof(text), "NOSNAP %s\n", why);
		return answer_fd(text);
	}
	if (nsnaps == (int)(sizeof(snaps) / sizeof(*snaps)))
		return answer_fd("NOSNAP too many copies\n");
	if ((pid = fork()) < 0)
		return answer_fd("NOSNAP fork failed\n");
	if (pid == 0) {
		raise(SIGSTOP);
		nsnaps = 0; /* continued: the session's now */
		return answer_fd("RESUMED\n");
	}
	snaps[nsnaps++] = pid;
	snprintf(text, sizeof(text), "SNAP %d\n", (int)pid);
	return answer_fd(text);
}

/* Opening MDRUN_SNAP_HOLD: never returns. */
static _Noreturn void
hold(void)
{
	int status;
	pid_t pid;

	if (getpid() != first_pid)
		_exit(0);
	for (;;) {
		char buf[32] = "";
		int fd;
		ssize_t n;

		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			_exit(0);
		fd = (int)syscall(SYS_openat, AT_FDCWD, active_path,
				  O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (pid != (pid_t)atoi(buf))
			continue;
		if (WIFSIGNALED(status)) {
			signal(WTERMSIG(status), SIG_DFL);
			raise(WTERMSIG(status));
		}
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
}

/* Is p (which a caller may pass as NULL) the path q? */
static int
is_path(const char *p, const char *q)
{
	return first_pid && p && !strcmp(p, q);
}

/* The two paths a shell session opens to snapshot and to hand over. */
#define MAGIC(path) \
	do { \
		if (is_path(path, snap_path)) \
			return snapshot(); \
		if (is_path(path, hold_path)) \
			hold(); \
	} while (0)

__attribute__((constructor)) static void
track_init(void)
{
	const char *l = getenv("MDRUN_TRACK");
	const char *r = getenv("MDRUN_TRACK_ROOT");
	const char *s = getenv("MDRUN_TRACK_SKIP");

	resolve_all();
	snap_init();
	if (!l || !r || *l != '/' || *r != '/' || strlen(l) >= sizeof(log_path) ||
	    strlen(r) >= sizeof(root) || (s && strlen(s) >= sizeof(skip)))
		return;
	strcpy(log_path, l);
	strcpy(root, r);
	root_len = strlen(root);
	while (root_len > 1 && root[root_len - 1] == '/')
		root[--root_len] = '\0';
	if (s)
		strcpy(skip, s);
	on = 1;
}

/* Resolves "." and ".." in an absolute path, in place. */
static void
clean(char *p)
{
	char *out = p, *in = p;

	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		char *end = strchrnul(in, '/');
		size_t n = (size_t)(end - in);
		if (n == 1 && in[0] == '.') {
			/* nothing */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in = end;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

/* Under folder dir (n bytes, no trailing '/')? */
static int
under(const char *p, const char *dir, size_t n)
{
	return n && !strncmp(p, dir, n) && (p[n] == '/' || p[n] == '\0');
}

static int
wanted(const char *p)
{
	const char *s = skip;
	size_t n;

	if (root_len == 1 ? p[0] != '/' : !under(p, root, root_len))
		return 0;
	n = strlen(p);
	if (strstr(p, "/.git/") || (n >= 5 && !strcmp(p + n - 5, "/.git")))
		return 0;
	while (*s) {
		const char *e = strchrnul(s, ':');
		if (under(p, s, (size_t)(e - s)))
			return 0;
		s = *e ? e + 1 : e;
	}
	return 1;
}

/* The absolute form of path, relative to dirfd; 0 when it has none. */
static int
absolute(char out[PATH_MAX], int dirfd, const char *path)
{
	size_t n;

	if (!path || !*path)
		return 0;
	if (path[0] == '/') {
		if (strlen(path) >= PATH_MAX)
			return 0;
		strcpy(out, path);
	} else {
		if (dirfd == AT_FDCWD) {
			if (!getcwd(out, PATH_MAX))
				return 0;
		} else {
			char link[64];
			ssize_t k;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			k = readlink(link, out, PATH_MAX - 1);
			if (k <= 0 || out[0] != '/')
				return 0;
			out[k] = '\0';
		}
		n = strlen(out);
		if (n + 1 + strlen(path) >= PATH_MAX)
			return 0;
		out[n] = '/';
		strcpy(out + n + 1, path);
	}
	clean(out);
	return 1;
}

static void
emit(char what, int dirfd, const char *path)
{
	char line[PATH_MAX + 4];
	int saved = errno, fd;
	size_t n;

	/* A line break in a name would forge a line of the log. */
	if (!on || !absolute(line + 2, dirfd, path) || strchr(line + 2, '\n') ||
	    !wanted(line + 2))
		goto done;
	line[0] = what;
	line[1] = ' ';
	n = strlen(line);
	line[n++] = '\n';
	fd = (int)syscall(SYS_openat, AT_FDCWD, log_path,
			  O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0) {
		if (syscall(SYS_write, fd, line, n) < 0) {
			/* nothing to do: the block runs on */
		}
		syscall(SYS_close, fd);
	}
done:
	errno = saved;
}

/*
 * Before an open for writing that does not cut the file: is a regular
 * file there already? (Then the open updates it, U, rather than makes
 * it, W.)
 */
static int
there(int dirfd, const char *path, int flags)
{
	struct stat sb;
	int saved = errno, r;

	if (!on || (flags & O_ACCMODE) == O_RDONLY || (flags & O_TRUNC))
		return 0;
	r = (int)syscall(SYS_newfstatat, dirfd, path, &sb, 0) == 0 &&
	    S_ISREG(sb.st_mode);
	errno = saved;
	return r;
}

/*
 * What an open of fd with flags was: a read of a regular file, an
 * update of one that was there (existed), a write.
 */
static void
opened(int fd, int dirfd, const char *path, int flags, int existed)
{
	struct stat sb;
	int saved = errno;

	if (!on)
		return;
	if (fd < 0) {
		if (errno == ENOENT && (flags & O_ACCMODE) == O_RDONLY &&
		    !(flags & O_CREAT))
			emit('A', dirfd, path);
		return;
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		emit((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC) ? 'R'
		     : !existed ? 'W'
		     : (flags & O_ACCMODE) == O_RDWR ? 'U'
		     : (flags & O_APPEND) ? 'P' : 'W', dirfd, path);
	errno = saved;
}

/* The open(2) flags an fopen mode stands for. */
static int
flags_of(const char *mode)
{
	int f = strchr(mode, '+') ? O_RDWR : O_RDONLY;

	if (mode[0] == 'w')
		f = (f == O_RDWR ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
	else if (mode[0] == 'a')
		f = (f == O_RDWR ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
	return f;
}

static void
streamed(FILE *f, const char *path, const char *mode, int existed)
{
	if (on)
		opened(f ? fileno(f) : -1, AT_FDCWD, path, flags_of(mode),
		       existed);
}

int open64(const char *, int, ...);
int openat64(int, const char *, int, ...);
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
FILE *fopen64(const char *, const char *);
FILE *freopen64(const char *, const char *, FILE *);
int creat64(const char *, mode_t);
int stat64(const char *, struct stat64 *);
int lstat64(const char *, struct stat64 *);
int fstatat64(int, const char *, struct stat64 *, int);

/* Every libc function wrapped here. */
#define EACH(X) \
	X(open) X(open64) X(openat) X(openat64) X(__open_2) X(__open64_2) \
	X(__openat_2) X(__openat64_2) X(creat) X(creat64) X(fopen) \
	X(fopen64) X(freopen) X(freopen64) X(stat) X(stat64) X(lstat) \
	X(lstat64) X(fstatat) X(fstatat64) X(execve) X(unlink) X(unlinkat) \
	X(rename) X(renameat) X(renameat2)

#define DECLARE(name) static __typeof__(name) *real_##name;
EACH(DECLARE)

/* A data pointer copied into a function pointer, as POSIX has it. */
#define RESOLVE(name) \
	{ \
		void *p_ = dlsym(RTLD_NEXT, #name); \
		memcpy(&real_##name, &p_, sizeof(p_)); \
	}

/*
 * libc's own functions, looked up when the library loads: not in a
 * child forked from threads (before its execve), where dlsym could wait
 * forever on a lock another thread held.
 */
static void
resolve_all(void)
{
	EACH(RESOLVE)
}

/* Once more, should a call come before the constructor ran. */
#define REAL(name) \
	if (!real_##name) \
	RESOLVE(name)

/* The mode argument, present only with O_CREAT or O_TMPFILE. */
#define MODE(flags, mode) \
	do { \
		if ((flags) & (O_CREAT | __O_TMPFILE)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = va_arg(ap, mode_t); \
			va_end(ap); \
		} \
	} while (0)

#define OPEN(name) \
	EXPORT int name(const char *path, int flags, ...) \
	{ \
		mode_t mode = 0; \
		int fd, was; \
		MAGIC(path); \
		was = there(AT_FDCWD, path, flags); \
		MODE(flags, mode); \
		REAL(name); \
		fd = real_##name(path, flags, mode); \
		opened(fd, AT_FDCWD, path, flags, was); \
		return fd; \
	}
#define OPENAT(name) \
	EXPORT int name(int dirfd, const char *path, int flags, ...) \
	{ \
		mode_t mode = 0; \
		int fd, was; \
		MAGIC(path); \
		was = there(dirfd, path, flags); \
		MODE(flags, mode); \
		REAL(name); \
		fd = real_##name(dirfd, path, flags, mode); \
		opened(fd, dirfd, path, flags, was); \
		return fd; \
	}

OPEN(open)
OPEN(open64)
OPENAT(openat)
OPENAT(openat64)

#define FORTIFIED(name) \
	EXPORT int name(const char *path, int flags) \
	{ \
		int fd, was; \
		MAGIC(path); \
		was = there(AT_FDCWD, path, flags); \
		REAL(name); \
		fd = real_##name(path, flags); \
		opened(fd, AT_FDCWD, path, flags, was); \
		return fd; \
	}
#define FORTIFIED_AT(name) \
	EXPORT int name(int dirfd, const char *path, int flags) \
	{ \
		int fd, was; \
		MAGIC(path); \
		was = there(dirfd, path, flags); \
		REAL(name); \
		fd = real_##name(dirfd, path, flags); \
		opened(fd, dirfd, path, flags, was); \
		return fd; \
	}
FORTIFIED(__open_2)
FORTIFIED(__open64_2)
FORTIFIED_AT(__openat_2)
FORTIFIED_AT(__openat64_2)

#define CREAT(name) \
	EXPORT int name(const char *path, mode_t mode) \
	{ \
		int fd; \
		REAL(name); \
		fd = real_##name(path, mode); \
		opened(fd, AT_FDCWD, path, O_WRONLY | O_TRUNC, 0); \
		return fd; \
	}
CREAT(creat)
CREAT(creat64)

#define FOPEN(name) \
	EXPORT FILE *name(const char *path, const char *mode) \
	{ \
		FILE *f; \
		int was = there(AT_FDCWD, path, flags_of(mode ? mode : "r")); \
		REAL(name); \
		f = real_##name(path, mode); \
		streamed(f, path, mode ? mode : "r", was); \
		return f; \
	}
FOPEN(fopen)
FOPEN(fopen64)

#define FREOPEN(name) \
	EXPORT FILE *name(const char *path, const char *mode, FILE *s) \
	{ \
		FILE *f; \
		int was = path ? there(AT_FDCWD, path, \
				       flags_of(mode ? mode : "r")) : 0; \
		REAL(name); \
		f = real_##name(path, mode, s); \
		if (path) \
			streamed(f, path, mode ? mode : "r", was); \
		return f; \
	}
FREOPEN(freopen)
FREOPEN(freopen64)

/* A stat that found a regular file is a read: the block saw it. */
#define STAT(name, type) \
	EXPORT int name(const char *path, struct type *sb) \
	{ \
		int rc; \
		REAL(name); \
		rc = real_##name(path, sb); \
		if (rc == 0 && S_ISREG(sb->st_mode)) \
			emit('R', AT_FDCWD, path); \
		else if (rc < 0 && errno == ENOENT) \
			emit('A', AT_FDCWD, path); \
		return rc; \
	}
STAT(stat, stat)
STAT(stat64, stat64)
STAT(lstat, stat)
STAT(lstat64, stat64)

#define STATAT(name, type) \
	EXPORT int name(int dirfd, const char *path, struct type *sb, \
			int flags) \
	{ \
		int rc; \
		REAL(name); \
		rc = real_##name(dirfd, path, sb, flags); \
		if (rc == 0 && S_ISREG(sb->st_mode) && *path) \
			emit('R', dirfd, path); \
		else if (rc < 0 && errno == ENOENT) \
			emit('A', dirfd, path); \
		return rc; \
	}
STATAT(fstatat, stat)
STATAT(fstatat64, stat64)

EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	REAL(execve);
	emit('R', AT_FDCWD, path);
	return real_execve(path, argv, envp);
}

EXPORT int
unlink(const char *path)
{
	int rc;

	REAL(unlink);
	if ((rc = real_unlink(path)) == 0)
		emit('D', AT_FDCWD, path);
	return rc;
}

EXPORT int
unlinkat(int dirfd, const char *path, int flags)
{
	int rc;

	REAL(unlinkat);
	if ((rc = real_unlinkat(dirfd, path, flags)) == 0 &&
	    !(flags & AT_REMOVEDIR))
		emit('D', dirfd, path);
	return rc;
}

EXPORT int
rename(const char *from, const char *to)
{
	int rc;

	REAL(rename);
	if ((rc = real_rename(from, to)) == 0) {
		emit('D', AT_FDCWD, from);
		emit('W', AT_FDCWD, to);
	}
	return rc;
}

EXPORT int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	int rc;

	REAL(renameat);
	if ((rc = real_renameat(fromfd, from, tofd, to)) == 0) {
		emit('D', fromfd, from);
		emit('W', tofd, to);
	}
	return rc;
}

EXPORT int
renameat2(int fromfd, const char *from, int tofd, const char *to,
	  unsigned int flags)
{
	int rc;

	REAL(renameat2);
	if ((rc = real_renameat2(fromfd, from, tofd, to, flags)) == 0) {
		emit('D', fromfd, from);
		emit('W', tofd, to);
	}
	return rc;
}
