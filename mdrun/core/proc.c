#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, ppoll */
#include "proc.h"
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../util/err.h"
#include "../../util/fs.h"

extern char **environ;


/*
 * Where above() puts the fds a spawn copies from. The kernel grows a
 * process's fd table to reach it, and once mdrun has threads that waits
 * for an RCU grace period: 18 ms here, more than the rest of a one-block
 * render. md_proc_grow_fds does it before the first thread starts.
 */
#define HIGH_FD 256
/*
 * Descendants: every child is a keeper (keeper.h), in a process group of
 * its own, that spawns the command. mdrun is a child subreaper as well:
 * what a keeper killed from outside leaves behind comes to mdrun, which
 * kills every descendant when it exits or is stopped by a signal.
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

int
md_proc_poll(struct pollfd *fds, nfds_t n, int timeout_ms, double spin_end)
{
	double start = md_mono(), now = start;
	int k;

	while ((k = poll(fds, n, 0)) == 0 && now < spin_end &&
	       (timeout_ms < 0 || (now - start) * 1e3 < timeout_ms)) {
		sched_yield();
		now = md_mono();
	}
	if (k != 0 || timeout_ms == 0)
		return k;
	if (timeout_ms > 0) {
		/*
		 * Rounded up: rounded down, a wait would sleep a
		 * millisecond past its spin.
		 */
		timeout_ms -= (int)((now - start) * 1e3 + 0.999);
		if (timeout_ms <= 0)
			return 0;
	}
	return poll(fds, n, timeout_ms);
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
	md_keeper_end_below(getpid());
	signal(sig, SIG_DFL);
	raise(sig);
}

void
md_proc_grow_fds(void)
{
	int fd = fcntl(0, F_DUPFD_CLOEXEC, HIGH_FD);

	if (fd >= 0)
		close(fd);
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
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, HIGH_FD);
}

static void kept_end_idle(void);

/* At mdrun's normal exit: nothing it started outlives it. */
static void
end_all(void)
{
	siginfo_t si;

	kept_end_idle();
	/* No child at all (the usual case): nothing to walk. */
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		md_keeper_end_below(getpid());
}

/*
 * mdrun-keeper beside mdrun's own binary, or NULL. Set once; cleared when
 * a spawn of it fails.
 */
static const char *volatile keeper_path;
static char keeper_buf[PATH_MAX];

static void
find_keeper(void)
{
	if (md_path_beside_self(keeper_buf, sizeof(keeper_buf),
				"mdrun-keeper", X_OK))
		keeper_path = keeper_buf;
}

static void
setup(void)
{
	if (pipe2(life, O_CLOEXEC) < 0)
		life[0] = life[1] = -1;
	find_keeper();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit(end_all);
}


/*
 * Spawns mdrun-keeper (keeper_main.c) with args after its name and the
 * fds it is given: 0, 1, 2 from /dev/null, the others at their own
 * numbers, close-on-exec off (posix_spawn's dup2 of an fd onto itself).
 * Signals all blocked, in a process group of its own, in cwd (NULL: ours).
 */
static int
spawn_helper(pid_t *pid, const char *const *args, const int *given,
	     size_t ngiven, const char *cwd, char **env)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all;
	size_t n = 0, k;
	const char **argv;
	int rc;

	while (args[n])
		n++;
	argv = md_calloc(n + 2, sizeof(*argv));
	argv[0] = keeper_path;
	memcpy(argv + 1, args, n * sizeof(*argv));
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (k = 0; k < ngiven; k++)
		if (given[k] >= 0)
			posix_spawn_file_actions_adddup2(&fa, given[k],
							 given[k]);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, keeper_path, &fa, &at, (char *const *)argv,
			 env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(argv);
	return rc;
}

/*
 * A keeper for one command (keeper_main.c): its arguments are LIFE
 * STATUS OUT ERR MAP0 TO0 MAP1 TO1, then the command.
 */
static int
spawn_keeper(pid_t *pid, const struct md_spawn *sp, char **env, int status,
	     const int fds[4])
{
	const int given[6] = { life[0], status, fds[0], fds[1], fds[2],
			       fds[3] };
	const int num[8] = { life[0], status, fds[0], fds[1], fds[2],
			     sp->map[0][1], fds[3], sp->map[1][1] };
	char digits[8][16];
	const char **args;
	size_t n = 0, k;
	int rc;

	while (sp->argv[n])
		n++;
	args = md_calloc(n + 9, sizeof(*args));
	for (k = 0; k < 8; k++) {
		snprintf(digits[k], sizeof(digits[k]), "%d", num[k]);
		args[k] = digits[k];
	}
	memcpy(args + 8, sp->argv, n * sizeof(*args));
	rc = spawn_helper(pid, args, given, 6, sp->cwd, env);
	free(args);
	return rc;
}

/* The same in a fork of mdrun, where there is no mdrun-keeper. */
static int
fork_keeper(pid_t *pid, const struct md_spawn *sp, char **env, int status,
	    const int fds[4])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, old;
	const int map[2][2] = { { fds[2], sp->map[0][1] },
				{ fds[3], sp->map[1][1] } };

	md_keeper_plan(&fa, &at, fds[0], fds[1], map, sp->cwd);
	/*
	 * posix_spawn in the keeper: glibc spawns with CLONE_VFORK, which
	 * costs less than a second copy of mdrun's page tables, and makes
	 * no call that is unsafe after a fork. Signals stay blocked in the
	 * keeper until it has set its own handlers.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*pid = fork();
	if (*pid == 0) {
		int keep[6] = { life[0], status, fds[0], fds[1], fds[2],
				fds[3] };
		md_keeper_run(sp->argv[0], &fa, &at, (char *const *)sp->argv,
			      env, keep, status, life[0]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (*pid < 0)
		return errno;
	setpgid(*pid, *pid); /* as the keeper does: whichever runs first */
	return 0;
}

int
md_proc_spawn(pid_t *pid, const struct md_spawn *sp)
{
	char **env = child_env(sp->env);
	int rc = 0, i, status[2] = { -1, -1 };
	/* out, err, the two map fds: above every fd the command gets */
	int fds[4] = { above(sp->out), above(sp->err), above(sp->map[0][0]),
		       above(sp->map[1][0]) };
	ssize_t n;

	pthread_once(&once, setup);
	*pid = -1;
	if (pipe2(status, O_CLOEXEC) < 0) {
		rc = md_err_sys("pipe");
		goto done;
	}
	if (!keeper_path ||
	    spawn_keeper(pid, sp, env, status[1], fds) != 0) {
		/* Gone since: forks from now on. Else (no such folder, too
		 * many processes), a fork says what it is. */
		if (keeper_path && access(keeper_path, X_OK) != 0)
			keeper_path = NULL;
		if ((rc = fork_keeper(pid, sp, env, status[1], fds)) != 0) {
			errno = rc;
			rc = md_err_sys("cannot run '%s': fork", sp->argv[0]);
			goto done;
		}
	}
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
	free(env);
	for (i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < 2; i++)
		if (status[i] >= 0)
			close(status[i]);
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

/*
 * Reaps pid if it ends before until (mono seconds): naps of 1 ms, then of
 * 10 ms, so a driver that ends as its pipe closes (the usual case) is
 * reaped within a millisecond.
 */
static bool
reap_until(pid_t pid, int *wstatus, double until)
{
	for (int nap = 0; md_mono() < until; nap++) {
		if (md_proc_reap(pid, wstatus, false))
			return true;
		struct timespec ts = { 0, (nap < 50 ? 1 : 10) * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

int
md_proc_kill(pid_t pid)
{
	int wstatus = 0;

	kill(-pid, SIGTERM);
	/* A keeper its block stopped (kill -STOP $PPID) must go on. */
	kill(pid, SIGCONT);
	if (reap_until(pid, &wstatus, md_mono() + MD_KILL_GRACE))
		return wstatus;
	/* The command and all below it: then its keeper ends. */
	md_keeper_end_below(pid);
	kill(pid, SIGCONT);
	if (!reap_until(pid, &wstatus, md_mono() + MD_KILL_GRACE)) {
		/* Stopped again, or stuck: the keeper itself goes. */
		kill(pid, SIGKILL);
		md_proc_reap(pid, &wstatus, true);
	}
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

/*
 * Kept keepers (keeper.h): md_proc_run's commands run under one of them,
 * which waits in kept_idle for the next command once one ended. A worker
 * has at most one busy at a time; more than KEPT_IDLE_MAX idle ones are
 * let go.
 */
struct kept {
	pid_t pid;
	int sock; /* -1: none */
};

#define KEPT_IDLE_MAX 16
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kept kept_idle[KEPT_IDLE_MAX];
static int kept_n;

/* Lets a kept keeper go: its socket's end ends it and all below it. */
static void
kept_drop(struct kept *k)
{
	if (k->sock < 0)
		return;
	close(k->sock);
	k->sock = -1;
	md_proc_reap(k->pid, NULL, true);
}

/* An idle kept keeper, or a new one; -1 when there can be none. */
static int
kept_take(struct kept *k)
{
	char num[16];
	const char *args[] = { "serve", num, NULL };
	int sv[2], rc;

	k->sock = -1;
	pthread_mutex_lock(&kept_mu);
	if (kept_n > 0)
		*k = kept_idle[--kept_n];
	pthread_mutex_unlock(&kept_mu);
	if (k->sock >= 0)
		return 0;
	if (!keeper_path ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	snprintf(num, sizeof(num), "%d", sv[1]);
	rc = spawn_helper(&k->pid, args, &sv[1], 1, NULL, environ);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		return -1;
	}
	k->sock = sv[0];
	return 0;
}

static void
kept_give(struct kept *k)
{
	pthread_mutex_lock(&kept_mu);
	if (k->sock >= 0 && kept_n < KEPT_IDLE_MAX) {
		kept_idle[kept_n++] = *k;
		k->sock = -1;
	}
	pthread_mutex_unlock(&kept_mu);
	kept_drop(k);
}

/* Lets every idle kept keeper go (at exit, and after a fork). */
static void
kept_end_idle(void)
{
	pthread_mutex_lock(&kept_mu);
	for (int i = 0; i < kept_n; i++)
		close(kept_idle[i].sock);
	for (int i = 0; i < kept_n; i++)
		md_proc_reap(kept_idle[i].pid, NULL, true);
	kept_n = 0;
	pthread_mutex_unlock(&kept_mu);
}

static bool
kept_say(struct kept *k, int kind, int value)
{
	struct md_keeper_msg m = { kind, value };

	return send(k->sock, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m);
}

static bool
send_all(int sock, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(sock, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* The next frame from k; false at the end of its socket. */
static bool
kept_hear(struct kept *k, struct md_keeper_msg *m)
{
	size_t got = 0;

	while (got < sizeof(*m)) {
		ssize_t n = read(k->sock, (char *)m + got, sizeof(*m) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/*
 * Waits until k has something to say, continuing it each 100 ms: the
 * command may stop its keeper (kill -STOP $PPID) as soon as it runs,
 * before the keeper said that it started it.
 */
static void
kept_awake(struct kept *k)
{
	struct pollfd p = { k->sock, POLLIN, 0 };
	double spin_end = md_mono() + MD_PROC_QUICK;

	for (;;) {
		int n = md_proc_poll(&p, 1, 100, spin_end);

		if (n > 0 || (n < 0 && errno != EINTR))
			return;
		kill(k->pid, SIGCONT);
	}
}

/*
 * Starts o's command under k with out and err as its stdout and stderr;
 * *pid is the command's. 1 when k cannot (it goes: the caller spawns
 * otherwise); a command not found names itself (and k stays idle).
 */
static int
kept_start(struct kept *k, pid_t *pid, const struct md_proc_opts *o,
	   int out, int err)
{
	char **env = child_env(o->env);
	struct md_buf b = MD_BUF_INIT;
	uint32_t count[2] = { 0, 0 };
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct md_keeper_msg m = { MD_KEEP_RUN, 0 };
	struct iovec io = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	int fds[2] = { out, err }, rc = 1;

	md_buf_put(&b, count, sizeof(count));
	md_buf_put(&b, o->cwd ? o->cwd : "", o->cwd ? strlen(o->cwd) + 1 : 1);
	for (; o->argv[count[0]]; count[0]++)
		md_buf_put(&b, o->argv[count[0]],
			   strlen(o->argv[count[0]]) + 1);
	for (; env[count[1]]; count[1]++)
		md_buf_put(&b, env[count[1]], strlen(env[count[1]]) + 1);
	memcpy(b.ptr, count, sizeof(count));
	free(env);
	if (b.len > MD_KEEP_RUN_MAX)
		goto done; /* an exec would refuse it too: it says so */
	m.value = (int32_t)b.len;
	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(k->sock, &mh, MSG_NOSIGNAL) != sizeof(m) ||
	    !send_all(k->sock, b.ptr, b.len))
		goto done;
	kept_awake(k);
	if (!kept_hear(k, &m))
		goto done;
	if (m.kind == MD_KEEP_STARTED && m.value > 0) {
		*pid = m.value;
		rc = 0;
	} else if (m.kind == MD_KEEP_FAILED) {
		errno = m.value;
		rc = md_err_sys("cannot run '%s'", o->argv[0]);
		kept_give(k);
	}
done:
	if (rc == 1)
		kept_drop(k);
	md_buf_dispose(&b);
	return rc;
}

/*
 * Command pid's end as k tells it: true once it ended, with its wait
 * status. A keeper gone without a word (killed: by mdrun's signal
 * handler, or by the command) leaves its command killed, as a keeper of
 * its own would. Once that keeper is reaped, a command it had not reaped
 * is mdrun's child (mdrun is a subreaper), so its PID is not reused: it,
 * its group and what is below it are killed, whatever group it moved
 * to. What it started that already left it stays until mdrun ends.
 */
static bool
kept_ended(struct kept *k, pid_t pid, int *wstatus)
{
	struct md_keeper_msg m;
	siginfo_t si;

	if (!kept_hear(k, &m)) {
		kept_drop(k);
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
			   WEXITED | WNOHANG | WNOWAIT) == 0) {
			kill(pid, SIGKILL);
			kill(-pid, SIGKILL);
			md_keeper_end_below(pid);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		*wstatus = SIGKILL; /* as waitpid says of a SIGKILL */
		return true;
	}
	if (m.kind != MD_KEEP_ENDED)
		return false;
	*wstatus = m.value;
	return true;
}

int
md_proc_run(struct md_proc_result *r, const struct md_proc_opts *o)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int rc = MD_ERROR, wstatus = 0;
	ssize_t n;
	pid_t pid = -1;
	bool exited = false, termed = false, killed = false;
	double deadline = 0, grace = 0;
	int shut = 0; /* naps since both pipes closed, with no kept keeper */
	char chunk[65536];
	struct md_spawn sp;
	struct kept k = { -1, -1 };

	memset(r, 0, sizeof(*r));
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	if (cloexec_pipe(outp) < 0 || cloexec_pipe(errp) < 0) {
		rc = md_err_sys("pipe");
		goto done;
	}
	r->start = md_now();
	pthread_once(&once, setup);
	/* Under a kept keeper, else (none, or it failed) a keeper of its own. */
	if (kept_take(&k) < 0 ||
	    (rc = kept_start(&k, &pid, o, outp[1], errp[1])) == 1) {
		memset(&sp, 0, sizeof(sp));
		sp.argv = o->argv;
		sp.cwd = o->cwd;
		sp.env = o->env;
		sp.out = outp[1];
		sp.err = errp[1];
		sp.map[0][0] = sp.map[1][0] = -1;
		rc = md_proc_spawn(&pid, &sp);
	}
	if (rc < 0) {
		pid = -1;
		goto done;
	}
	rc = MD_ERROR;
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	if (o->timeout > 0)
		deadline = md_mono() + o->timeout;
	/* Its time spent in the hook is not the process's. */
	if (o->started) {
		double t = md_now();

		o->started();
		r->start += md_now() - t;
	}
	/* Asked, not slept on, as long as a quick block lasts. */
	double spin_end = md_mono() + MD_PROC_QUICK;
	struct pollfd fds[3] = { { outp[0], POLLIN, 0 },
				 { errp[0], POLLIN, 0 },
				 { k.sock, POLLIN, 0 } };
	double drained = 0;
	/*
	 * Waited for here, with its timeout, also once it has closed both
	 * pipes (exec >&- 2>&-; sleep): naps of 1 ms, then of 10 ms, with
	 * no kept keeper to say it ended.
	 */
	while (fds[0].fd >= 0 || fds[1].fd >= 0 || !exited) {
		int i, nap = 100;

		/*
		 * Once the child and its group are gone, whatever still holds
		 * a pipe open is not the block: read what is there, then stop.
		 */
		if (exited && !drained)
			drained = md_mono() + 0.2;
		if (drained && md_mono() > drained)
			break;
		fds[2].fd = exited ? -1 : k.sock;
		if (drained)
			nap = 20;
		else if (fds[0].fd < 0 && fds[1].fd < 0 && k.sock < 0)
			/* Its keeper usually ends within a millisecond. */
			nap = shut++ < 50 ? 1 : 10;
		if (md_proc_poll(fds, 3, nap, spin_end) < 0 &&
		    errno != EINTR) {
			rc = md_err_sys("poll");
			goto done;
		}
		for (i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			n = read(fds[i].fd, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				*(i == 0 ? &outp[0] : &errp[0]) = -1;
				continue;
			}
			if (i == 0)
				keep(&r->out, &r->out_cut, o->cap, chunk,
				     (size_t)n);
			else
				keep(&r->err, &r->err_cut, o->cap, chunk,
				     (size_t)n);
		}
		/*
		 * Its keeper ends what the block left in the background,
		 * which would otherwise hold the pipes open, before it can
		 * be reaped (or, kept, before it says the command ended).
		 */
		if (!exited && k.sock >= 0 && fds[2].revents)
			exited = kept_ended(&k, pid, &wstatus);
		else if (!exited && k.sock < 0 &&
			 md_proc_reap(pid, &wstatus, false))
			exited = true;
		if (exited || !deadline || md_mono() <= deadline)
			continue;
		r->exit.timed_out = true;
		if (k.sock < 0) {
			wstatus = md_proc_kill(pid);
			exited = true;
		} else if (!termed) {
			/* As md_proc_kill: SIGTERM, a grace, then SIGKILL
			 * (to a keeper continued, should its block have
			 * stopped it). */
			termed = kept_say(&k, MD_KEEP_SIGNAL, SIGTERM);
			kill(k.pid, SIGCONT);
			grace = md_mono() + MD_KILL_GRACE;
		} else if (!killed && md_mono() > grace) {
			killed = kept_say(&k, MD_KEEP_KILL, 0);
			kill(k.pid, SIGCONT);
			grace = md_mono() + MD_KILL_GRACE;
		} else if (killed && md_mono() > grace) {
			/* A keeper that does not answer (stopped): it goes too,
			 * and its end kills the command (kept_ended). */
			kill(k.pid, SIGKILL);
			grace = md_mono() + MD_KILL_GRACE;
		}
	}
	pid = -1;
	r->end = md_now();
	md_proc_status(r, wstatus);
	rc = 0;
done:
	if (k.sock >= 0 && pid > 0)
		kept_drop(&k); /* it ends the command and all below it */
	else if (pid > 0) {
		md_keeper_end_below(pid);
		md_proc_reap(pid, NULL, true);
	}
	kept_give(&k);
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
	md_track_io_dispose(&r->io);
}
