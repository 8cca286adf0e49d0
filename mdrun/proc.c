#define _XOPEN_SOURCE 700 /* putenv */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/err.h"

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

/*
 * In the child: only async-signal-safe calls until exec, except putenv,
 * which is safe here because mdrun does not start threads.
 */
static void __attribute__((noreturn))
child(const struct md_proc_opts *o, int out, int err, int status)
{
	int null, e;
	size_t i;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0)
		goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	for (i = 0; o->env && o->env[i]; i++)
		putenv((char *)o->env[i]);
	execvp(o->argv[0], (char *const *)o->argv);
fail:
	e = errno;
	if (write(status, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
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
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2] = { -1, -1 };
	int rc = MD_ERROR, e = 0, wstatus = 0;
	pid_t pid = -1;
	bool exited = false, termed = false;
	double deadline = 0, kill_at = 0;
	char chunk[65536];

	memset(r, 0, sizeof(*r));
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	if (cloexec_pipe(outp) < 0 || cloexec_pipe(errp) < 0 ||
	    cloexec_pipe(st) < 0) {
		rc = md_err_sys("pipe");
		goto done;
	}
	r->start = md_now();
	pid = fork();
	if (pid < 0) {
		rc = md_err_sys("fork");
		goto done;
	}
	if (pid == 0)
		child(o, outp[1], errp[1], st[1]);
	setpgid(pid, pid); /* also here, so a kill right away reaches it */
	close(outp[1]);
	close(errp[1]);
	close(st[1]);
	outp[1] = errp[1] = st[1] = -1;

	/* The status pipe closes on exec, or carries exec's errno. */
	ssize_t n;
	while ((n = read(st[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		pid = -1;
		errno = e;
		rc = md_err_sys("cannot run '%s'", o->argv[0]);
		goto done;
	}

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
		if (st[i] >= 0)
			close(st[i]);
	}
	return rc;
}

void
md_proc_result_dispose(struct md_proc_result *r)
{
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
}
