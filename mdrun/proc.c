#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* How long a process group gets between SIGTERM and SIGKILL. */
#define KILL_GRACE 2.0

double
md_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cloexec_pipe(int fds[2])
{
	if (pipe(fds) < 0)
		return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
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
static int
spawn(pid_t *pid, const struct md_proc_opts *o, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	char **env = child_env(o->env);
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	if (o->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	/* Its own process group, so a kill reaches everything it starts. */
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, o->argv[0], &fa, &at, (char *const *)o->argv,
			  env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	if (rc != 0) {
		errno = rc;
		return md_err_sys("cannot run '%s'", o->argv[0]);
	}
	return 0;
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

int
md_proc_run(struct md_proc_result *r, const struct md_proc_opts *o)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int rc = MD_ERROR, wstatus = 0;
	ssize_t n;
	pid_t pid = -1;
	bool exited = false, termed = false;
	double deadline = 0, kill_at = 0;
	char chunk[65536];

	memset(r, 0, sizeof(*r));
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	if (cloexec_pipe(outp) < 0 || cloexec_pipe(errp) < 0) {
		rc = md_err_sys("pipe");
		goto done;
	}
	r->start = md_now();
	if ((rc = spawn(&pid, o, outp[1], errp[1])) < 0) {
		pid = -1;
		goto done;
	}
	rc = MD_ERROR;
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	if (o->timeout > 0)
		deadline = mono() + o->timeout;
	struct pollfd fds[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int k, wait_ms = 100;

		if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) {
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
		if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
			/*
			 * The block is done; whatever it left in the
			 * background still holds the pipes. End it.
			 */
			exited = true;
			kill(-pid, SIGKILL);
		}
		double now = mono();
		if (!termed && deadline && now > deadline) {
			r->timed_out = true;
			termed = true;
			kill(-pid, SIGTERM);
			kill_at = now + KILL_GRACE;
		} else if (termed && kill_at && now > kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
	}
	if (!exited) {
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		kill(-pid, SIGKILL);
	}
	pid = -1;
	r->end = md_now();
	if (WIFSIGNALED(wstatus))
		r->signal = WTERMSIG(wstatus);
	else
		r->exit_code = WEXITSTATUS(wstatus);
	rc = 0;
done:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
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
