/*
 * A command's keeper, and the walk of /proc that ends what it left
 * (keeper.h). Everything here makes only async-signal-safe calls: it
 * runs in mdrun's signal handlers, in a fork of mdrun (a process with
 * threads) and in mdrun-keeper (keeper_main.c).
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, ppoll */
#include "keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
void
md_keeper_end_below(pid_t root)
{
	for (int round = 0; round < 200 && kill_below(root) > 0; round++) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
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
static _Noreturn void
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

void
md_keeper_become(const int *keep, size_t n)
{
	struct sigaction sa;
	int null;

	setpgid(0, 0);
	/* Not mdrun's stdin and stdout: a pipe there must end with mdrun. */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	close_all_but(keep, n);
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
}

void
md_keeper_tidy(void)
{
	pid_t pid;
	int ws;

	/* A subreaper with no child left has no descendant left. */
	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		;
	if (pid == 0) {
		md_keeper_end_below(getpid());
		while (waitpid(-1, &ws, WNOHANG) > 0)
			;
	}
}

void
md_keeper_run(const char *file, const posix_spawn_file_actions_t *fa,
	      const posix_spawnattr_t *at, char *const argv[],
	      char *const env[], const int keep[6], int status, int life)
{
	sigset_t none;
	pid_t child, pid;
	int rc, ws, child_ws = 0;
	bool ended = false;

	md_keeper_become(keep, 6);
	if ((rc = posix_spawnp(&child, file, fa, at, argv, env)) != 0)
		_exit(write(status, &rc, sizeof(rc)) < 0 ? 126 : 127);
	close_all_but(&life, 1);
	sigemptyset(&none);
	while (!ended) {
		struct pollfd p = { life, POLLIN, 0 };

		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
			if (pid == child) {
				child_ws = ws;
				ended = true;
			}
		/* SIGCHLD stays pending outside ppoll: no wake-up is lost. */
		if (!ended && ppoll(&p, 1, NULL, &none) > 0) {
			md_keeper_end_below(getpid()); /* mdrun is gone */
			_exit(1);
		}
	}
	md_keeper_tidy();
	end_as(child_ws);
}

void
md_keeper_plan(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
	       int out, int err, const int map[2][2], const char *cwd)
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
		if (map[i][0] >= 0)
			posix_spawn_file_actions_adddup2(fa, map[i][0],
							 map[i][1]);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(fa, cwd);
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
