#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, ppoll */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../util/err.h"

extern char **environ;

/*
 * Descendants. Every child is a keeper: a fork of mdrun, in a process
 * group of its own, that spawns the command (which stays in its group)
 * and waits for it. A keeper is a child subreaper, so whatever the
 * command starts stays below it however it detaches (setsid, a double
 * fork). When the command ends, the keeper kills everything left below
 * it, then ends with the command's status; when mdrun dies, even by
 * SIGKILL, the keeper sees its end of the life pipe close and kills
 * everything below it too. (PR_SET_PDEATHSIG would fire when the worker
 * thread that spawned the child ends, not mdrun, and could not end what
 * the child started.)
 * mdrun is a subreaper as well: what a keeper killed from outside leaves
 * behind comes to mdrun, which kills every descendant when it exits or
 * is stopped by a signal.
 *
 * Descendants are found by reading /proc/PID/stat; the code that does
 * it, and the keeper, make only async-signal-safe calls: they run in a
 * signal handler and in a fork of a process with threads.
 */
static int life[2] = { -1, -1 }; /* mdrun holds [1] until it dies */
static pthread_once_t once = PTHREAD_ONCE_INIT;

double
md_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
md_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The decimal digits of n after prefix, then suffix: a /proc path. */
static void
proc_path(char *out, size_t size, const char *prefix, long n,
	  const char *suffix)
{
	char digits[24];
	size_t k = 0, at = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) > 0 && k < sizeof(digits));
	while (*prefix && at + 1 < size)
		out[at++] = *prefix++;
	while (k > 0 && at + 1 < size)
		out[at++] = digits[--k];
	while (*suffix && at + 1 < size)
		out[at++] = *suffix++;
	out[at] = '\0';
}

/* The decimal number s starts with, or 0; *end after its digits. */
static pid_t
number(const char *s, const char **end)
{
	long n = 0;

	for (; *s >= '0' && *s <= '9' && n < INT32_MAX / 10; s++)
		n = n * 10 + (*s - '0');
	*end = s;
	return (pid_t)n;
}

/* A /proc entry's name as a PID, or 0 when it is not one. */
static pid_t
pid_of(const char *name)
{
	const char *end;
	pid_t pid = number(name, &end);

	return *end ? 0 : pid;
}

/* The parent of a live process, or 0 (gone, a zombie, unreadable). */
static pid_t
parent_of(pid_t pid)
{
	char path[48], buf[512], *p;
	const char *end;
	ssize_t n;
	int fd;

	proc_path(path, sizeof(path), "/proc/", pid, "/stat");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID ...", where COMM may hold ") ". */
	for (p = buf + n; p > buf && p[-1] != ')'; p--)
		;
	if (p == buf || p[0] != ' ' || !p[1] || p[2] != ' ' ||
	    p[1] == 'Z' || p[1] == 'X')
		return 0;
	return number(p + 3, &end);
}

static bool
among(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* A /proc folder being read: its PIDs, or its fds. */
struct listing {
	int fd;
	long got, at;
	char buf[4096];
};

/*
 * The next entry of l that is a number, or 0 at the end (or on an
 * error). Reads with getdents64: opendir may allocate, and this runs in
 * a signal handler and in a fork of a process with threads.
 */
static int
next_number(struct listing *l)
{
	for (;;) {
		/* struct linux_dirent64: ino, off, reclen, type, name */
		unsigned short len;
		int n;

		if (l->at >= l->got) {
			l->got = syscall(SYS_getdents64, l->fd, l->buf,
					 sizeof(l->buf));
			l->at = 0;
			if (l->got <= 0)
				return 0;
		}
		memcpy(&len, l->buf + l->at + 16, sizeof(len));
		n = pid_of(l->buf + l->at + 19);
		l->at += len;
		if (n > 0)
			return n;
	}
}

/*
 * SIGKILLs every live descendant of root found by one walk of /proc,
 * root excepted; returns how many. Walks again while a walk finds more:
 * a child may be listed before its parent is known.
 */
static int
kill_below(pid_t root)
{
	/* Bounded: what does not fit is found by the caller's next call. */
	pid_t tree[1024], pid;
	size_t n = 1, max = sizeof(tree) / sizeof(*tree);
	bool grew = true;
	int killed = 0;

	tree[0] = root;
	while (grew && n < max) {
		struct listing l = { .fd = open("/proc", O_RDONLY |
							 O_DIRECTORY |
							 O_CLOEXEC) };

		if (l.fd < 0)
			break;
		grew = false;
		while ((pid = next_number(&l)) > 0 && n < max) {
			if (among(tree, n, pid) ||
			    !among(tree, n, parent_of(pid)))
				continue;
			tree[n++] = pid;
			kill(pid, SIGKILL);
			killed++;
			grew = true;
		}
		close(l.fd);
	}
	return killed;
}

/*
 * Kills every descendant of root until none is left alive: what was
 * killed may have forked first. Gives up after about a second (a process
 * in uninterruptible sleep dies when it wakes).
 */
static void
end_below(pid_t root)
{
	for (int round = 0; round < 200 && kill_below(root) > 0; round++) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* The signal that is ending mdrun, or 0. */
static volatile sig_atomic_t interrupted;

int
md_proc_interrupted(void)
{
	return interrupted;
}

static void
on_signal(int sig)
{
	/*
	 * Only async-signal-safe calls here. The flag is set before the
	 * processes are killed: a worker that sees its block die of that
	 * kill sees the flag too, and records nothing. mdrun, a subreaper,
	 * is alive while it kills, so nothing can leave its tree meanwhile.
	 */
	interrupted = sig;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	end_below(getpid());
	signal(sig, SIG_DFL);
	raise(sig);
}

void
md_proc_handle_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* environ plus the extra entries, which win. Caller frees the array. */
static char **
child_env(const char *const *extra)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[k])
		k++;
	env = md_calloc(n + k + 1, sizeof(*env));
	for (i = 0, j = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		bool shadowed = false;
		for (size_t e = 0; e < k; e++)
			shadowed |= !strncmp(extra[e], environ[i], len) &&
				    extra[e][len] == '=';
		if (!shadowed)
			env[j++] = environ[i];
	}
	for (i = 0; i < k; i++)
		env[j++] = (char *)extra[i];
	return env;
}

/*
 * A copy of fd numbered above every fd a child is given, so that no
 * dup2 of the spawn clobbers a source not yet copied, and none is a
 * no-op that would leave FD_CLOEXEC set.
 */
static int
above(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 256);
}

/* At mdrun's normal exit: nothing it started outlives it. */
static void
end_all(void)
{
	siginfo_t si;

	/* No child at all (the usual case): nothing to walk. */
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		end_below(getpid());
}

static void
setup(void)
{
	if (pipe2(life, O_CLOEXEC) < 0)
		life[0] = life[1] = -1;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit(end_all);
}

/*
 * Closes every fd but 0, 1, 2 and those in keep (-1 entries ignored),
 * listing them in /proc/self/fd: a fork keeps every fd of mdrun's, and
 * one it kept would keep a pipe from its end or a lock held.
 */
static void
close_all_but(const int *keep, size_t n)
{
	struct listing l = { .fd = open("/proc/self/fd", O_RDONLY |
							 O_DIRECTORY |
							 O_CLOEXEC) };
	int fd;

	if (l.fd < 0) {
		for (fd = 3; fd < 1024; fd++)
			if (!among(keep, n, fd))
				close(fd);
		return;
	}
	/* /proc lists fds by number: closing one moves none still to come. */
	while ((fd = next_number(&l)) > 0)
		if (fd > 2 && fd != l.fd && !among(keep, n, fd))
			close(fd);
	close(l.fd);
}

static void
on_child(int sig)
{
	(void)sig; /* it only wakes ppoll */
}

/* Ends the keeper as the command ended: by its exit code or signal. */
static void
end_as(int wstatus)
{
	if (WIFSIGNALED(wstatus)) {
		int sig = WTERMSIG(wstatus);
		sigset_t one;

		/* A crash is the command's, not to be dumped by its keeper. */
		prctl(PR_SET_DUMPABLE, 0);
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		kill(getpid(), sig);
		_exit(128 + sig);
	}
	_exit(WEXITSTATUS(wstatus));
}

/*
 * The keeper: runs in a fork of mdrun, with every signal blocked. Spawns
 * the command, tells mdrun through status whether that failed (an int
 * errno; nothing and the pipe closed: it runs), waits for it, kills what
 * it left, and ends as it did. Never returns.
 */
static void
keeper(const char *file, const posix_spawn_file_actions_t *fa,
       const posix_spawnattr_t *at, char *const argv[], char *const env[],
       const int keep[6], int status)
{
	struct sigaction sa;
	sigset_t none;
	pid_t child, pid;
	int rc, ws, child_ws = 0, null;
	bool ended = false;

	setpgid(0, 0);
	/* Not mdrun's stdin and stdout: a pipe there must end with mdrun. */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	close_all_but(keep, 6);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* The group's SIGTERM is for the command; the keeper waits for it. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if ((rc = posix_spawnp(&child, file, fa, at, argv, env)) != 0)
		_exit(write(status, &rc, sizeof(rc)) < 0 ? 126 : 127);
	close_all_but(&life[0], 1);
	sigemptyset(&none);
	while (!ended) {
		struct pollfd p = { life[0], POLLIN, 0 };

		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
			if (pid == child) {
				child_ws = ws;
				ended = true;
			}
		/* SIGCHLD stays pending outside ppoll: no wake-up is lost. */
		if (!ended && ppoll(&p, 1, NULL, &none) > 0) {
			end_below(getpid()); /* mdrun is gone */
			_exit(1);
		}
	}
	/* A subreaper with no child left has no descendant left. */
	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		;
	if (pid == 0) {
		end_below(getpid());
		while (waitpid(-1, &ws, WNOHANG) > 0)
			;
	}
	end_as(child_ws);
}

/*
 * How the keeper spawns the command: its fds (out, err and map are
 * above() copies), signals at their defaults and unblocked, its folder.
 */
static void
plan(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
     const struct md_spawn *sp, int out, int err, const int map[2])
{
	sigset_t none, def;

	posix_spawn_file_actions_init(fa);
	posix_spawnattr_init(at);
	posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	if (out >= 0)
		posix_spawn_file_actions_adddup2(fa, out, 1);
	else
		posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY,
						 0);
	if (err >= 0)
		posix_spawn_file_actions_adddup2(fa, err, 2);
	else
		posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY,
						 0);
	for (int i = 0; i < 2; i++)
		if (map[i] >= 0)
			posix_spawn_file_actions_adddup2(fa, map[i],
							 sp->map[i][1]);
	if (sp->cwd)
		posix_spawn_file_actions_addchdir_np(fa, sp->cwd);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGXFSZ);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &def);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK |
					     POSIX_SPAWN_SETSIGDEF);
}

int
md_proc_spawn(pid_t *pid, const struct md_spawn *sp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, old;
	char **env = child_env(sp->env);
	int rc = 0, i, status[2] = { -1, -1 };
	int out = above(sp->out), err = above(sp->err);
	int map[2] = { above(sp->map[0][0]), above(sp->map[1][0]) };
	ssize_t n;

	pthread_once(&once, setup);
	*pid = -1;
	plan(&fa, &at, sp, out, err, map);
	if (pipe2(status, O_CLOEXEC) < 0) {
		rc = md_err_sys("pipe");
		goto done;
	}
	/*
	 * fork, then posix_spawn in the keeper: glibc spawns with
	 * CLONE_VFORK, which costs less than a second copy of mdrun's page
	 * tables, and makes no call that is unsafe after a fork. Signals
	 * stay blocked in the keeper until it has set its own handlers.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*pid = fork();
	if (*pid == 0) {
		int keep[6] = { life[0], status[1], out, err, map[0], map[1] };
		keeper(sp->argv[0], &fa, &at, (char *const *)sp->argv, env,
		       keep, status[1]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (*pid < 0) {
		rc = md_err_sys("cannot run '%s': fork", sp->argv[0]);
		goto done;
	}
	setpgid(*pid, *pid); /* as the keeper does: whichever runs first */
	close(status[1]);
	status[1] = -1;
	while ((n = read(status[0], &rc, sizeof(rc))) < 0 && errno == EINTR)
		;
	if (n == sizeof(rc)) {
		md_proc_reap(*pid, NULL, true);
		*pid = -1;
		errno = rc;
		rc = md_err_sys("cannot run '%s'", sp->argv[0]);
	} else {
		rc = 0;
	}
done:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	for (i = 0; i < 2; i++) {
		if (map[i] >= 0)
			close(map[i]);
		if (status[i] >= 0)
			close(status[i]);
	}
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	return rc;
}

bool
md_proc_reap(pid_t pid, int *wstatus, bool block)
{
	pid_t r;

	while ((r = waitpid(pid, wstatus, block ? 0 : WNOHANG)) < 0 &&
	       errno == EINTR)
		;
	if (r != pid)
		return false;
	/* Its keeper ended all below it; without /proc, its group goes. */
	kill(-pid, SIGKILL);
	return true;
}

int
md_proc_kill(pid_t pid)
{
	int wstatus = 0;
	double until = md_mono() + MD_KILL_GRACE;

	kill(-pid, SIGTERM);
	while (md_mono() < until) {
		if (md_proc_reap(pid, &wstatus, false))
			return wstatus;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	/* The command and all below it: then its keeper ends. */
	end_below(pid);
	md_proc_reap(pid, &wstatus, true);
	return wstatus;
}

int
md_proc_signal(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0)
		return md_err_sys("cannot signal process group %d", (int)pid);
	return 0;
}

/*
 * Atomically close-on-exec: other threads spawn children at any moment,
 * and a pipe end one of them inherited would keep the pipe from ever
 * reaching its end.
 */
static int
cloexec_pipe(int fds[2])
{
	return pipe2(fds, O_CLOEXEC);
}

static void
keep(struct md_buf *b, bool *cut, size_t cap, const char *data, size_t n)
{
	if (cap && b->len + n > cap) {
		*cut = true;
		n = b->len < cap ? cap - b->len : 0;
	}
	md_buf_put(b, data, n);
}

void
md_proc_status(struct md_proc_result *r, int wstatus)
{
	if (WIFSIGNALED(wstatus)) {
		r->exit.signal = WTERMSIG(wstatus);
		r->exit.code = 0;
	} else {
		r->exit.signal = 0;
		r->exit.code = WEXITSTATUS(wstatus);
	}
}

int
md_proc_run(struct md_proc_result *r, const struct md_proc_opts *o)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int rc = MD_ERROR, wstatus = 0;
	ssize_t n;
	pid_t pid = -1;
	bool exited = false;
	double deadline = 0;
	char chunk[65536];
	struct md_spawn sp;

	memset(r, 0, sizeof(*r));
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	if (cloexec_pipe(outp) < 0 || cloexec_pipe(errp) < 0) {
		rc = md_err_sys("pipe");
		goto done;
	}
	memset(&sp, 0, sizeof(sp));
	sp.argv = o->argv;
	sp.cwd = o->cwd;
	sp.env = o->env;
	sp.out = outp[1];
	sp.err = errp[1];
	sp.map[0][0] = sp.map[1][0] = -1;
	r->start = md_now();
	if ((rc = md_proc_spawn(&pid, &sp)) < 0) {
		pid = -1;
		goto done;
	}
	rc = MD_ERROR;
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	if (o->timeout > 0)
		deadline = md_mono() + o->timeout;
	struct pollfd fds[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
	double drained = 0;
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int k;

		/*
		 * Once the child and its group are gone, whatever still holds
		 * a pipe open is not the block: read what is there, then stop.
		 */
		if (exited && !drained)
			drained = md_mono() + 0.2;
		if (drained && md_mono() > drained)
			break;
		if (poll(fds, 2, drained ? 20 : 100) < 0 && errno != EINTR) {
			rc = md_err_sys("poll");
			goto done;
		}
		for (k = 0; k < 2; k++) {
			if (fds[k].fd < 0 || !fds[k].revents)
				continue;
			n = read(fds[k].fd, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(fds[k].fd);
				fds[k].fd = -1;
				*(k == 0 ? &outp[0] : &errp[0]) = -1;
				continue;
			}
			if (k == 0)
				keep(&r->out, &r->out_cut, o->cap, chunk,
				     (size_t)n);
			else
				keep(&r->err, &r->err_cut, o->cap, chunk,
				     (size_t)n);
		}
		/*
		 * Its keeper ends what the block left in the background,
		 * which would otherwise hold the pipes open, before it can
		 * be reaped.
		 */
		if (!exited && md_proc_reap(pid, &wstatus, false))
			exited = true;
		if (!exited && deadline && md_mono() > deadline) {
			r->exit.timed_out = true;
			wstatus = md_proc_kill(pid);
			exited = true;
		}
	}
	if (!exited)
		md_proc_reap(pid, &wstatus, true);
	pid = -1;
	r->end = md_now();
	md_proc_status(r, wstatus);
	rc = 0;
done:
	if (pid > 0) {
		end_below(pid);
		md_proc_reap(pid, NULL, true);
	}
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return rc;
}

void
md_proc_result_dispose(struct md_proc_result *r)
{
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
	md_buf_dispose(&r->outs);
}
