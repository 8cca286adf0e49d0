#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/err.h"

extern char **environ;

/* Live children, for the signal handler: one slot each, 0 when free. */
#define MAX_TRACKED 256
static volatile pid_t tracked[MAX_TRACKED];

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

static pthread_mutex_t tracking = PTHREAD_MUTEX_INITIALIZER;

static void
track(pid_t pid, bool on)
{
	pthread_mutex_lock(&tracking);
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (on && tracked[i] == 0) {
			tracked[i] = pid;
			break;
		}
		if (!on && tracked[i] == pid) {
			tracked[i] = 0;
			break;
		}
	}
	pthread_mutex_unlock(&tracking);
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
	 * groups are killed: a worker that sees its block die of that kill
	 * sees the flag too, and records nothing.
	 */
	interrupted = sig;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] > 0)
			kill(-tracked[i], SIGKILL);
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
 * posix_spawn, not fork: glibc spawns with CLONE_VFORK, which costs a
 * fraction of copying mdrun's page tables, and reports a failed exec as
 * the return value.
 */
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

int
md_proc_spawn(pid_t *pid, const struct md_spawn *sp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	char **env = child_env(sp->env);
	int rc, i;
	int out = above(sp->out), err = above(sp->err);
	int map[2] = { above(sp->map[0][0]), above(sp->map[1][0]) };

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out >= 0)
		posix_spawn_file_actions_adddup2(&fa, out, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
						 0);
	if (err >= 0)
		posix_spawn_file_actions_adddup2(&fa, err, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	for (i = 0; i < 2; i++)
		if (map[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, map[i],
							 sp->map[i][1]);
	if (sp->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGXFSZ);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, sp->argv[0], &fa, &at, (char *const *)sp->argv,
			  env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	for (i = 0; i < 2; i++)
		if (map[i] >= 0)
			close(map[i]);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	if (rc != 0) {
		errno = rc;
		return md_err_sys("cannot run '%s'", sp->argv[0]);
	}
	track(*pid, true);
	return 0;
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
	track(pid, false);
	/* Whatever the child left running in its group goes too. */
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
	kill(-pid, SIGKILL);
	md_proc_reap(pid, &wstatus, true);
	return wstatus;
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
		r->signal = WTERMSIG(wstatus);
		r->exit_code = 0;
	} else {
		r->signal = 0;
		r->exit_code = WEXITSTATUS(wstatus);
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
		 * Reaping also ends what the block left in the background,
		 * which would otherwise hold the pipes open.
		 */
		if (!exited && md_proc_reap(pid, &wstatus, false))
			exited = true;
		if (!exited && deadline && md_mono() > deadline) {
			r->timed_out = true;
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
		kill(-pid, SIGKILL);
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
}
