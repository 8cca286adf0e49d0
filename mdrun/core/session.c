#define _GNU_SOURCE /* pipe2 */
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/err.h"
#include "../../util/fs.h"
#include "outputs.h"

static int
pipe_cloexec(int fds[2])
{
	/* Atomically: other threads spawn children at any moment. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return md_err_sys("pipe");
	return 0;
}

/*
 * A kernel language's session: the kernel its spec names, started with
 * MDRUN_DOC and MDRUN_OUT (a kernel takes its environment once).
 */
/*
 * The environment of a session's processes: the entries given, then
 * those that make them log the files they read (md_track_env's, when
 * tracked). NULL-terminated; free the tracking ones with free_env(v, n).
 */
static const char **
with_track(struct md_session *ss, const char *const *given, size_t n,
	   const char *cwd, const struct md_track_where *track)
{
	const char **v = md_calloc(n + 6, sizeof(*v));
	char *log;

	memcpy(v, given, n * sizeof(*v));
	if (!track || !track->root)
		return v;
	/* The library appends to the log; it creates nothing. */
	log = md_path_join(ss->dir, "track");
	if (md_fs_write_over(log, "", 0, 0644) == 0 &&
	    md_track_env((char **)v + n, log, track->root, track->skip)) {
		ss->track = log;
		ss->cwd = md_strdup(cwd);
		ss->write_max = track->write_max ? track->write_max
						 : MD_TRACK_WRITE_MAX;
	} else {
		free(log);
	}
	return v;
}

static bool snapshots;

void
md_session_snapshots(bool on)
{
	snapshots = on;
}

static void
free_env(const char **v, size_t n)
{
	for (size_t i = n; v[i]; i++)
		free((char *)v[i]);
	free(v);
}

static int
start_kernel(struct md_session *ss, const char *doc, const char *cwd,
	     const struct md_track_where *track)
{
	struct md_kernel_specs specs;
	const struct md_kernel_spec *k;
	struct md_buf e1 = MD_BUF_INIT, e2 = MD_BUF_INIT;
	const char **env = NULL;
	int rc;

	md_kernel_specs_find(&specs);
	if (!(k = md_kernel_spec_get(&specs, ss->interp->kernel))) {
		rc = md_err_set("the Jupyter kernel '%s' is not installed",
				ss->interp->kernel);
		goto done;
	}
	ss->outdir = md_path_join(ss->dir, "out");
	md_buf_printf(&e1, "MDRUN_DOC=%s", doc);
	md_buf_printf(&e2, "MDRUN_OUT=%s", ss->outdir);
	const char *given[] = { e1.ptr, e2.ptr };
	env = with_track(ss, given, 2, cwd, track);
	rc = md_kernel_start(&ss->kernel, k, ss->dir, cwd, env, 0);
done:
	if (env)
		free_env(env, 2);
	md_kernel_specs_dispose(&specs);
	md_buf_dispose(&e1);
	md_buf_dispose(&e2);
	return rc;
}

int
md_session_start(struct md_session *ss, struct md_interp *in,
		 const char *dir, const char *cwd, const char *doc,
		 const struct md_track_where *track, const char *drivers)
{
	int req[2] = { -1, -1 }, ans[2] = { -1, -1 }, cin, cout, rc;
	struct md_buf e1 = MD_BUF_INIT, e2 = MD_BUF_INIT, e3 = MD_BUF_INIT,
		      e4 = MD_BUF_INIT, e5 = MD_BUF_INIT;
	const char **argv = NULL, **env = NULL;
	char *program = NULL;
	struct md_spawn sp;
	size_t n = 0, i;

	memset(ss, 0, sizeof(*ss));
	ss->pid = -1;
	ss->snap = -1;
	ss->to = ss->from = -1;
	for (i = 0; i < 4; i++)
		ss->fd[i] = -1;
	ss->interp = in;
	ss->dir = md_strdup(dir);
	if (in->kernel) {
		if ((rc = start_kernel(ss, doc, cwd, track)) < 0)
			md_session_stop(ss);
		return rc;
	}
	md_driver_fds(in->driver, &cin, &cout);
	if ((rc = pipe_cloexec(req)) < 0 || (rc = pipe_cloexec(ans)) < 0)
		goto done;
	while (in->argv[n])
		n++;
	argv = md_calloc(n + 4, sizeof(*argv));
	for (i = 0; i < n; i++)
		argv[i] = in->argv[i];
	argv[n] = "-c";
	argv[n + 1] = md_driver_source(in->driver);
	if (in->driver == MD_DRIVER_PYTHON && drivers)
		argv[n + 1] = program = md_driver_program(argv[n + 1], drivers);
	if (in->driver != MD_DRIVER_PYTHON)
		argv[n + 2] = doc; /* $0 */
	md_buf_printf(&e1, "MDRUN_SESSION_DIR=%s", dir);
	md_buf_printf(&e2, "MDRUN_DOC=%s", doc);
	const char *given[7] = { e1.ptr, e2.ptr };
	size_t ngiven = 2;
	if (snapshots && in->driver == MD_DRIVER_PYTHON) {
		given[ngiven++] = "MDRUN_SNAPSHOTS=1";
	} else if (snapshots && track && track->root && md_track_lib()) {
		/* A shell's copies are made by mdrun-track.so: only with it. */
		md_buf_printf(&e3, "MDRUN_SNAP=%s/.snap", dir);
		md_buf_printf(&e4, "MDRUN_SNAP_HOLD=%s/.hold", dir);
		md_buf_printf(&e5, "MDRUN_SNAP_ACTIVE=%s/active", dir);
		given[ngiven++] = e3.ptr;
		given[ngiven++] = e4.ptr;
		given[ngiven++] = e5.ptr;
		given[ngiven++] = in->driver == MD_DRIVER_BASH
					  ? "MDRUN_SNAP_OWN=196,197,198,199"
					  : "MDRUN_SNAP_OWN=6,7,8,9";
	}
	env = with_track(ss, given, ngiven, cwd, track);
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.cwd = cwd;
	sp.env = env;
	sp.out = sp.err = -1;
	sp.map[0][0] = req[0];
	sp.map[0][1] = cin;
	sp.map[1][0] = ans[1];
	sp.map[1][1] = cout;
	if ((rc = md_proc_spawn(&ss->pid, &sp)) < 0) {
		ss->pid = -1;
		goto done;
	}
	ss->to = req[1];
	ss->from = ans[0];
	req[1] = ans[0] = -1;
done:
	for (i = 0; i < 2; i++) {
		if (req[i] >= 0)
			close(req[i]);
		if (ans[i] >= 0)
			close(ans[i]);
	}
	free(argv);
	free(program);
	if (env)
		free_env(env, ngiven);
	md_buf_dispose(&e1);
	md_buf_dispose(&e2);
	md_buf_dispose(&e3);
	md_buf_dispose(&e4);
	md_buf_dispose(&e5);
	if (rc < 0)
		md_session_stop(ss);
	return rc;
}

bool
md_session_alive(const struct md_session *ss)
{
	if (ss->kernel)
		return md_kernel_alive(ss->kernel);
	return ss->pid > 0;
}

void
md_session_stop(struct md_session *ss)
{
	if (ss->to >= 0)
		close(ss->to);
	if (ss->from >= 0)
		close(ss->from);
	if (ss->pid > 0) {
		/* Closing its request pipe ends the driver's loop. */
		int ws;
		if (!md_proc_reap(ss->pid, &ws, false))
			md_proc_kill(ss->pid);
	}
	ss->to = ss->from = -1;
	ss->pid = -1;
	/* A session never started (zeroed, no dir) has opened none. */
	for (int i = 0; i < 4; i++) {
		if (ss->dir && ss->fd[i] >= 0)
			close(ss->fd[i]);
		ss->fd[i] = -1;
	}
	md_kernel_stop(ss->kernel);
	ss->kernel = NULL;
	free(ss->dir);
	ss->dir = NULL;
	free(ss->outdir);
	ss->outdir = NULL;
	free(ss->track);
	ss->track = NULL;
	free(ss->cwd);
	ss->cwd = NULL;
}

/*
 * Reads one answer line before the deadline (mono seconds; 0: none).
 * Returns 1 with a line, 0 when the driver is gone (its pipe closed, or
 * it died while something it started still holds the pipe: then
 * ss->pid is -1 and *ws its wait status), -2 on timeout.
 */
static int
answer(struct md_session *ss, char *out, size_t size, double deadline,
       double spin_end, int *ws)
{
	for (;;) {
		char *nl = memchr(ss->line, '\n', ss->have);
		if (nl) {
			size_t n = (size_t)(nl - ss->line);
			if (n >= size)
				n = size - 1;
			memcpy(out, ss->line, n);
			out[n] = '\0';
			ss->have -= (size_t)(nl + 1 - ss->line);
			memmove(ss->line, nl + 1, ss->have);
			return 1;
		}
		if (ss->have == sizeof(ss->line))
			ss->have = 0; /* garbage: no driver says this much */
		/* In slices: a dead driver is noticed within 100 ms. */
		int wait = 100;
		if (deadline > 0) {
			double left = deadline - md_mono();
			if (left <= 0)
				return -2;
			if (left * 1000 < wait)
				wait = (int)(left * 1000) + 1;
		}
		struct pollfd p = { ss->from, POLLIN, 0 };
		int k = md_proc_poll(&p, 1, wait, spin_end);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0) {
			if (md_proc_reap(ss->pid, ws, false)) {
				ss->pid = -1;
				return 0;
			}
			continue;
		}
		ssize_t n = read(ss->from, ss->line + ss->have,
				 sizeof(ss->line) - ss->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		ss->have += (size_t)n;
	}
}

/* The session's files, by their index in ss->fd. */
enum { F_STDOUT, F_STDERR, F_EVENTS, F_CODE };
static const char *const file_name[] = { "stdout", "stderr", "events",
					 "code" };

/*
 * The session's file i, opened once (a block costs no open and no close
 * of it); -1 when it is not there yet (the driver makes the captures).
 */
static int
file_fd(struct md_session *ss, int i)
{
	struct md_buf p = MD_BUF_INIT;

	if (ss->fd[i] >= 0)
		return ss->fd[i];
	md_buf_printf(&p, "%s/%s", ss->dir, file_name[i]);
	ss->fd[i] = i == F_CODE ? open(p.ptr, O_WRONLY | O_CREAT | O_CLOEXEC,
				       0644)
				: open(p.ptr, O_RDONLY | O_CLOEXEC);
	md_buf_dispose(&p);
	return ss->fd[i];
}

/* The current size of the session's capture file i. */
static long long
size_of(struct md_session *ss, int i)
{
	struct stat st;
	int fd = file_fd(ss, i);

	return fd >= 0 && fstat(fd, &st) == 0 ? (long long)st.st_size : 0;
}

/*
 * Appends what capture file i holds from *at on, up to cap bytes (all
 * when cap is 0), and moves *at to its end; *cut when there was more
 * than cap.
 */
static int
read_from(struct md_buf *out, bool *cut, struct md_session *ss, int i,
	  long long *at, size_t cap)
{
	int fd = file_fd(ss, i), rc = 0;
	struct stat st;
	size_t want;

	*cut = false;
	if (fd < 0)
		return errno == ENOENT ? 0 : md_err_sys("%s/%s", ss->dir,
							file_name[i]);
	if (fstat(fd, &st) < 0)
		return md_err_sys("%s/%s", ss->dir, file_name[i]);
	want = st.st_size > *at ? (size_t)(st.st_size - *at) : 0;
	if (cap && want > cap) {
		*cut = true;
		want = cap;
	}
	md_buf_grow(out, want);
	while (want > 0) {
		ssize_t n = pread(fd, out->ptr + out->len, want,
				  (off_t)(*at + (long long)out->len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = md_err_sys("%s/%s", ss->dir, file_name[i]);
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		want -= (size_t)n;
	}
	out->ptr[out->len] = '\0';
	*at = st.st_size;
	return rc;
}

/* The next request's code file: written over in place. */
static int
write_code(struct md_session *ss, const char *data, size_t n)
{
	int fd = file_fd(ss, F_CODE);
	size_t done = 0;

	if (fd < 0)
		return md_err_sys("%s/code", ss->dir);
	while (done < n) {
		ssize_t k = pwrite(fd, data + done, n - done, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return md_err_sys("%s/code", ss->dir);
		done += (size_t)k;
	}
	if (ftruncate(fd, (off_t)n) < 0)
		return md_err_sys("%s/code", ss->dir);
	return 0;
}

/*
 * The block's output list, from the events the python driver wrote for
 * it (before anything mdrun adds to stderr); up to MD_RICH_CAP(cap)
 * bytes of them, the output then cut.
 */
static int
read_outputs(struct md_proc_result *r, struct md_session *ss,
	     long long out0, long long err0, size_t cap)
{
	struct md_buf ev = MD_BUF_INIT;
	bool cut;
	int rc;

	if ((rc = read_from(&ev, &cut, ss, F_EVENTS, &ss->ev_at,
			    MD_RICH_CAP(cap))) == 0)
		md_outputs_from_events(&r->outs, ev.ptr, ev.len, out0, err0,
				       r->out.len, r->err.len);
	r->out_cut |= cut;
	md_buf_dispose(&ev);
	return rc;
}

/* A block in the session's kernel. */
/* The session's idle hook, once a kernel has the block's request. */
static void
kernel_started(void *arg)
{
	struct md_session *ss = arg;

	ss->idle(ss->idle_arg, false);
}

static int
run_kernel(struct md_proc_result *r, const char **out_dir,
	   struct md_session *ss, const char *const *env,
	   const char *code, size_t len, double timeout, size_t cap)
{
	static const char *const none[] = { NULL };
	int rc;

	if (mkdir(ss->outdir, 0755) < 0 && errno != EEXIST)
		return md_err_sys("%s", ss->outdir);
	/*
	 * MDRUN_DEP_<name>: a request of its own when they change, which
	 * MDRUN_BLOCK would do for every block: a kernel is not told it.
	 */
	if ((rc = md_kernel_setenv(ss->kernel, env ? env : none)) < 0)
		return rc;
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
	rc = md_kernel_run_hook(r, ss->kernel, code, len, timeout, cap,
				ss->idle ? kernel_started : NULL, ss);
	*out_dir = ss->outdir;
	return rc;
}

static int
run_block(struct md_proc_result *r, const char **out_dir,
	  struct md_session *ss, const char *name, const char *const *env,
	  const char *code, size_t len, int code_line, double timeout,
	  size_t cap)
{
	struct md_buf req = MD_BUF_INIT;
	char line[128];
	long long out0, err0;
	double deadline, spin_end;
	int rc = 0, got, ws = 0;
	bool exited = false;
	const char *outdir;

	memset(r, 0, sizeof(*r));
	md_buf_put(&r->out, "", 0);
	md_buf_put(&r->err, "", 0);
	*out_dir = NULL;
	if (ss->kernel)
		return run_kernel(r, out_dir, ss, env, code, len, timeout,
				  cap);
	/* The driver reads it only once asked: no need to rename it in. */
	md_buf_printf(&req, "%s\t%d\n", name, code_line);
	for (size_t k = 0; env && env[k]; k++)
		md_buf_printf(&req, "%s\n", env[k]);
	md_buf_putc(&req, '\n');
	if (md_driver_pads(ss->interp->driver))
		for (int k = 1; k < code_line; k++)
			md_buf_putc(&req, '\n');
	md_buf_put(&req, code, len);
	if ((rc = write_code(ss, req.ptr, req.len)) < 0)
		goto done;
	md_buf_clear(&req);
	/* A commit moves MDRUN_OUT away only when a block wrote in it. */
	if (!ss->outdir)
		ss->outdir = md_path_join(ss->dir, "out");
	outdir = ss->outdir;
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		rc = md_err_sys("%s", outdir);
		goto done;
	}
	md_buf_puts(&req, "RUN\n");
	/*
	 * What something a block left running printed since it ended is
	 * nobody's output: each block reads from where the files end now.
	 */
	ss->out_at = size_of(ss, F_STDOUT);
	ss->err_at = size_of(ss, F_STDERR);
	if (ss->interp->driver == MD_DRIVER_PYTHON)
		ss->ev_at = size_of(ss, F_EVENTS);
	out0 = ss->out_at;
	err0 = ss->err_at;
	r->start = md_now();
	if (write(ss->to, req.ptr, req.len) != (ssize_t)req.len) {
		/* The interpreter ended after the last block: this one fails. */
		md_buf_printf(&r->err, "[mdrun: the %s session had ended "
				       "before this block]\n",
			      ss->interp->lang);
		r->exit.code = 1;
		r->end = md_now();
		md_proc_kill(ss->pid);
		ss->pid = -1;
		*out_dir = outdir;
		goto done;
	}
	deadline = timeout > 0 ? md_mono() + timeout : 0;
	spin_end = md_mono() + MD_SESSION_QUICK;
	if (ss->idle) {
		/*
		 * Whether the block answers within MD_SESSION_QUICK; the
		 * hook's own time is not the block's.
		 */
		struct pollfd p = { ss->from, POLLIN, 0 };
		bool quick = ss->have > 0 ||
			     md_proc_poll(&p, 1, (int)(MD_SESSION_QUICK * 1e3),
					  spin_end) > 0;
		double t = md_now();

		ss->idle(ss->idle_arg, quick);
		r->start += md_now() - t;
	}
	got = answer(ss, line, sizeof(line), deadline, spin_end, &ws);
	r->end = md_now();
	ss->snap = -1;
	ss->nosnap[0] = '\0';
	if (got == 1 && !strncmp(line, "DONE ", 5)) {
		char *end, *tail;

		r->exit.code = (int)strtol(line + 5, &end, 10);
		if ((tail = strstr(end, " SNAP ")))
			ss->snap = (pid_t)atoi(tail + 6);
		else if ((tail = strstr(end, " NOSNAP ")))
			snprintf(ss->nosnap, sizeof(ss->nosnap), "%s",
				 tail + 8);
	} else if (got == 1 && !strncmp(line, "EXIT ", 5)) {
		/*
		 * The block ended the interpreter: its status is what the
		 * program gave; that the state is gone is a note.
		 */
		r->exit.code = atoi(line + 5);
		exited = true;
		md_proc_kill(ss->pid);
		ss->pid = -1;
	} else if (got == -2) {
		r->exit.timed_out = true;
		ws = md_proc_kill(ss->pid);
		md_proc_status(r, ws);
		ss->pid = -1;
	} else {
		/*
		 * It died (a crash, a signal, os._exit), or broke the
		 * protocol (a block took over its pipe): end it for sure.
		 */
		if (ss->pid > 0)
			ws = md_proc_kill(ss->pid);
		md_proc_status(r, ws);
		exited = true;
		ss->pid = -1;
	}
	if ((rc = read_from(&r->out, &r->out_cut, ss, F_STDOUT, &ss->out_at,
			    cap)) < 0 ||
	    (rc = read_from(&r->err, &r->err_cut, ss, F_STDERR, &ss->err_at,
			    cap)) < 0)
		goto done;
	if (ss->interp->driver == MD_DRIVER_PYTHON &&
	    (rc = read_outputs(r, ss, out0, err0, cap)) < 0)
		goto done;
	if (exited)
		md_buf_printf(&r->err, MD_SESSION_ENDED "%s session]\n",
			      ss->interp->lang);
	*out_dir = outdir;
done:
	md_buf_dispose(&req);
	return rc;
}

int
md_session_run(struct md_proc_result *r, const char **out_dir,
	       struct md_session *ss, const char *name,
	       const char *const *env, const char *code, size_t len,
	       int code_line, double timeout, size_t cap)
{
	struct stat sb;
	int rc;

	/* What was read between blocks is no block's. */
	if (ss->track && stat(ss->track, &sb) == 0)
		ss->track_at = (long long)sb.st_size;
	rc = run_block(r, out_dir, ss, name, env, code, len, code_line,
		       timeout, cap);
	if (rc == 0 && ss->track)
		rc = md_track_collect(&r->io, ss->track, &ss->track_at,
				      ss->cwd, ss->write_max);
	return rc;
}

int
md_session_resume(struct md_session *ss, pid_t snap)
{
	char req[32], line[128];
	int n = snprintf(req, sizeof(req), "WAIT %d\n", (int)snap), ws = 0;

	if (ss->kernel || ss->pid <= 0 || snap <= 0 || kill(snap, 0) < 0 ||
	    write(ss->to, req, (size_t)n) != n ||
	    answer(ss, line, sizeof(line), md_mono() + 30, 0, &ws) != 1 ||
	    strncmp(line, "READY ", 6)) {
		md_session_stop(ss);
		return md_err_set("the session's snapshot is gone");
	}
	ss->snap = (pid_t)atoi(line + 6);
	return 0;
}
