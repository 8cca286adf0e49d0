#define _GNU_SOURCE /* memmem */
#include "exec.h"
#include "outputs.h"

#include <ctype.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "session.h"
#include "../../util/err.h"
#include "../../util/fs.h"
#include <sys/stat.h>

/* Linux refuses a single argument longer than this (MAX_ARG_STRLEN). */
#define ARG_MAX_ONE (128 * 1024)
/*
 * A run's rows wait for a later block when its outputs are this small;
 * they are written once this many runs, or this many bytes, wait.
 */
#define LATER_MAX (1024 * 1024)
#define LATER_RUNS 64

/* Hands a formatted line to one of o's callbacks (note, warn), if set. */
static void
tell(const struct md_exec_opts *o, void (*fn)(const char *, void *),
     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
tell(const struct md_exec_opts *o, void (*fn)(const char *, void *),
     const char *fmt, ...)
{
	struct md_buf b = MD_BUF_INIT;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	md_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	fn(b.ptr, o->ctx);
	md_buf_dispose(&b);
}

static void
note_cut(struct md_buf *b, size_t cap)
{
	md_buf_printf(b, "%s[mdrun: output cut at %zu bytes]\n",
		      b->len && b->ptr[b->len - 1] != '\n' ? "\n" : "", cap);
}

static bool
rebuilds(const struct md_stage *st, const struct md_exec_opts *o)
{
	return o->rebuild ||
	       (o->rebuild_one && !strcmp(o->rebuild_one, st->block->name));
}

/*
 * Are the files run r recorded as it left them? Its reads must have the
 * hashes they had then (md_track_check), and what it wrote too large to
 * keep must still be there (md_track_kept); the first file that is not
 * goes into changed (when not NULL).
 */
static bool
recorded_current(struct store *s, const struct store_run *r,
		 const struct md_stage *st, const struct md_exec_opts *o,
		 struct md_buf *changed)
{
	struct md_buf reads = MD_BUF_INIT, writes = MD_BUF_INIT;
	bool same;

	if ((r->reads && store_reads(&reads, s, st->key, r->rhash) < 0) ||
	    (r->writes && store_writes(&writes, s, st->key, r->rhash) < 0)) {
		md_err_clear();
		md_buf_dispose(&reads);
		md_buf_dispose(&writes);
		return false;
	}
	same = md_track_check(reads.ptr, reads.len, o->cwd, changed) &&
	       md_track_kept(writes.ptr, writes.len, o->cwd, changed);
	md_buf_dispose(&reads);
	md_buf_dispose(&writes);
	return same;
}

/*
 * Can this render show run r? Not when it failed and the block does not
 * expect it, nor when an output was cut at a smaller cap than this render
 * allows (it would show less than a run now would), nor when a file it
 * read changed since (changed says which).
 */
static bool
usable(struct store *s, const struct store_run *r, const struct md_stage *st,
       const struct md_exec_opts *o, struct md_buf *changed)
{
	if (r->failed && !st->block->error_ok)
		return false;
	if (o && r->cut && r->cut < o->cap)
		return false;
	return !(o && (r->reads || r->writes) &&
		 !recorded_current(s, r, st, o, changed));
}

/*
 * A cache hit writes back what its run wrote in the document's folder
 * (track.h), before what follows it runs.
 */
static int
restore_writes(struct store *s, const struct md_stage *st,
	       const struct store_run *runs, size_t n_runs,
	       const struct md_exec_opts *o)
{
	struct md_buf w = MD_BUF_INIT;
	size_t n = 0, bad = 0, i;
	int rc;

	/* Most runs wrote nothing: their realization is not read again. */
	for (i = 0; i < n_runs && strcmp(runs[i].rhash, st->rhash); i++)
		;
	if (i == n_runs || !runs[i].writes)
		return 0;
	if ((rc = store_writes(&w, s, st->key, st->rhash)) == 0 && w.len)
		rc = md_track_restore(s, w.ptr, w.len, o->cwd, o->track.skip,
				      &n, &bad);
	if (rc == 0 && n)
		tell(o, o->note, "restored %zu %s %s wrote", n,
		     n == 1 ? "file" : "files", st->block->name);
	if (rc == 0 && bad)
		tell(o, o->warn,
		     "%s:%d: block %s: %zu recorded %s not written back (git's "
		     "or mdrun's files, outside the folder, through a link, or "
		     "missing from the store)",
		     o->document, st->block->line, st->block->name, bad,
		     bad == 1 ? "write" : "writes");
	if (rc < 0)
		rc = md_err_prefix(rc, "%s:%d:%d: block '%s'", o->document,
				   st->block->line, st->block->col,
				   st->block->name);
	md_buf_dispose(&w);
	return rc;
}

/*
 * The run that stands for runs (n > 0): the latest, unless only a file
 * it read made it stale and an earlier run's files are all as they were
 * (a file edited back, a store pulled from several machines): then that
 * one, as a manifest of ccache's would find it.
 */
static size_t
standing(const struct store_run *runs, const bool *ok, size_t n,
	 const struct md_stage *st, const struct md_exec_opts *o)
{
	const struct store_run *last = &runs[n - 1];
	size_t i;

	if (ok[n - 1] || !o || !last->reads ||
	    (last->failed && !st->block->error_ok) ||
	    (last->cut && last->cut < o->cap))
		return n - 1;
	for (i = n - 1; i-- > 0;)
		if (ok[i])
			return i;
	return n - 1;
}

/* usable() of each run, once (it reads files); *good counts them. */
static bool *
usable_all(size_t *good, struct store *s, const struct store_run *runs,
	   size_t n, const struct md_stage *st, const struct md_exec_opts *o)
{
	bool *ok = md_calloc(n ? n : 1, sizeof(*ok));

	*good = 0;
	for (size_t i = 0; i < n; i++)
		*good += ok[i] = usable(s, &runs[i], st, o, NULL);
	return ok;
}

static double
timeout_of(const struct md_stage *st, const struct md_exec_opts *o)
{
	return st->block->timeout > 0 ? st->block->timeout : o->timeout;
}

/* Commits one run of st; its rhash goes into rhash. */
static int
commit(char rhash[MD_HASH_HEX], struct store *s, const struct md_plan *p,
       const struct md_stage *st, const struct md_exec_opts *o,
       struct md_proc_result *r, const char *artifacts,
       struct store_later **later)
{
	struct store_result sr;
	struct stat sb;
	char *drv;
	bool fresh;
	int rc;

	/*
	 * A block that replaced MDRUN_OUT with a link (or a file) kept
	 * nothing in it: what a link points at is outside the realization,
	 * never read or stored. Removed, so the next block gets a folder.
	 */
	if (artifacts && (lstat(artifacts, &sb) < 0 || !S_ISDIR(sb.st_mode))) {
		md_fs_rmtree(artifacts);
		artifacts = NULL;
	}
	/* Empty as it was made (the usual case): no files, nothing to move. */
	fresh = artifacts && md_fs_is_fresh_dir(artifacts);
	if (r->out_cut)
		note_cut(&r->out, o->cap);
	if (r->err_cut)
		note_cut(&r->err, o->cap);
	memset(&sr, 0, sizeof(sr));
	sr.out = r->out.ptr;
	sr.out_len = r->out.len;
	sr.err = r->err.ptr;
	sr.err_len = r->err.len;
	sr.outs = r->outs.ptr;
	sr.outs_len = r->outs.len;
	if (st->block->track) {
		sr.reads = r->io.reads.ptr;
		sr.reads_len = r->io.reads.len;
		sr.writes = r->io.writes.ptr;
		sr.writes_len = r->io.writes.len;
		sr.blobs = r->io.blobs;
		sr.nblobs = r->io.nblobs;
	}
	sr.exit = r->exit;
	sr.cut = r->out_cut || r->err_cut ? o->cap : 0;
	sr.start = r->start;
	sr.end = r->end;
	sr.artifacts = fresh ? NULL : artifacts;
	sr.interpreter = st->identity;
	sr.name = st->block->name;
	sr.document = o->document;
	sr.line = st->block->line;
	sr.git_commit = o->git_commit;
	sr.git_dirty = o->git_dirty;
	/* An interrupted block leaves no record: the next render runs it. */
	if (md_proc_interrupted())
		return md_err_set("%s:%d:%d: block '%s' interrupted",
				  o->document, st->block->line, st->block->col,
				  st->block->name);
	if (!(drv = md_stage_drv(p, st)))
		return md_err_set("%s: block '%s' has no key", o->document,
				  st->block->name);
	if (later)
		rc = store_commit_later(rhash, later, s, st->key, drv, &sr);
	else
		rc = store_commit(rhash, s, st->key, drv, &sr);
	/*
	 * A run equal to one in the store leaves its artifacts where they
	 * were: gone now, so the next block's MDRUN_OUT starts empty. One
	 * that wrote none leaves the folder as it was made, kept.
	 */
	if (artifacts && !fresh && md_fs_exists(artifacts))
		md_fs_rmtree(artifacts);
	/* The store names its own paths; say which block it was. */
	if (rc < 0)
		rc = md_err_prefix(rc, "%s:%d:%d: block '%s'", o->document,
				   st->block->line, st->block->col,
				   st->block->name);
	free(drv);
	return rc;
}

/*
 * The command line of a process block: argv, with {file}/{code} filled.
 * With a built-in driver, diagnostics cite the document's lines: python
 * runs md_driver_one with the code, its line and the file its output
 * events go to (events); a shell gets the code
 * after as many empty lines as precede it in the document (when that
 * still fits in an argument), and the document as $0, which its messages
 * start with. One allocation: free(argv) frees its strings too.
 */
static const char **
command(const struct md_stage *st, const char *file, const char *events,
	const char *program)
{
	const struct md_interp *in = st->interp;
	const struct md_block *b = st->block;
	size_t n = 0, i, k = 0, pad = 0, size = 0;
	const char **argv;
	char *s;

	while (in->argv[n])
		n++;
	if (b->code_line > 1 &&
	    b->code_len + (size_t)b->code_line - 1 < ARG_MAX_ONE)
		pad = (size_t)b->code_line - 1;
	if (in->driver == MD_DRIVER_PYTHON)
		size = 24; /* the line */
	else if (in->driver != MD_DRIVER_NONE)
		size = pad + b->code_len + 1;
	argv = md_calloc(1, (n + 6) * sizeof(*argv) + size);
	s = (char *)(argv + n + 6);
	for (i = 0; i < n; i++) {
		if (!strcmp(in->argv[i], "{file}"))
			argv[k++] = file;
		else if (!strcmp(in->argv[i], "{code}"))
			argv[k++] = b->code;
		else
			argv[k++] = in->argv[i];
	}
	if (in->driver == MD_DRIVER_PYTHON) {
		snprintf(s, size, "%d", b->code_line);
		argv[k++] = "-c";
		argv[k++] = program;
		argv[k++] = b->code;
		argv[k++] = s;
		argv[k++] = events;
	} else if (in->driver != MD_DRIVER_NONE) {
		memset(s, '\n', pad);
		memcpy(s + pad, b->code, b->code_len + 1);
		argv[k++] = "-c";
		argv[k++] = s;
		argv[k++] = b->path ? b->path : in->argv[0];
	}
	return argv;
}

/*
 * One scratch folder per process for process blocks: MDRUN_OUT and the
 * {file} of the block live there, reused from block to block (a commit
 * takes MDRUN_OUT away only when a block wrote in it).
 */
static _Thread_local char *scratch; /* per thread: blocks run at once */

/* What keeping a copy of a run's rows costs, roughly. */
static size_t
run_bytes(const struct md_proc_result *r)
{
	size_t bytes = r->out.len + r->err.len + r->outs.len +
		       r->io.reads.len + r->io.writes.len;

	for (size_t k = 0; k < r->io.nblobs; k++)
		bytes += r->io.blobs[k].len;
	return bytes;
}

/*
 * Whether the rows of a run wait for a later block: when what the block
 * shows is the run itself, from memory (shown_now), and its output is
 * small enough to keep a copy of meanwhile.
 */
static bool
defers(const struct md_stage *st, const struct md_proc_result *r)
{
	return run_bytes(r) <= LATER_MAX &&
	       (st->block->match == MD_MATCH_LATEST ||
		(md_exit_failed(&r->exit) && !st->block->error_ok));
}

/* Where a block is, for a message: "DOC:LINE:COL: block 'NAME'". */
static char *
block_where(const struct md_exec_opts *o, const struct md_stage *st)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "%s:%d:%d: block '%s'", o->document,
		      st->block->line, st->block->col, st->block->name);
	return md_buf_detach(&b);
}

/*
 * Rows of runs that wait to be written (store_commit_later), a session's
 * or a thread's lone block's, and why writing them failed: said once
 * the block running meanwhile has ended (waiting_error).
 */
struct waiting {
	struct store_later *later;
	size_t n, bytes;
	bool slow;  /* one of them ran longer than MD_SESSION_QUICK */
	char *what; /* the first one's block_where */
	char *err;
};

/* Counts a run whose rows went to w->later. */
static void
waiting_add(struct waiting *w, const struct md_exec_opts *o,
	    const struct md_stage *st, const struct md_proc_result *r)
{
	if (!w->what)
		w->what = block_where(o, st);
	w->n++;
	w->bytes += run_bytes(r);
	w->slow |= r->end - r->start > MD_SESSION_QUICK;
}

/*
 * Writes them; unless wait, only when no other process is writing (then
 * they wait on, and this returns false).
 */
static bool
waiting_write(struct waiting *w, struct store *s, bool wait)
{
	int rc = w->later ? store_later_write(s, &w->later, wait) : 0;

	if (rc == STORE_BUSY)
		return false;
	if (rc < 0 && !w->err) {
		const char *what = w->what ? w->what : "a block";

		if (w->n > 1)
			md_err_prefix(MD_ERROR, "%s and the %zu after it", what,
				      w->n - 1);
		else
			md_err_prefix(MD_ERROR, "%s", what);
		w->err = md_strdup(md_err_msg());
	}
	w->n = w->bytes = 0;
	w->slow = false;
	free(w->what);
	w->what = NULL;
	return true;
}

/* A failure to write them, now the error of the caller, once. */
static int
waiting_error(struct waiting *w)
{
	int rc = w->err ? md_err_set("%s", w->err) : 0;

	free(w->err);
	w->err = NULL;
	return rc;
}

/*
 * A lone block's rows wait, as a session's do, until the next lone block
 * this thread runs has started (md_proc_opts.started), and are written
 * while it runs. Meanwhile the key's lock stays held, so that no one
 * realizes the key before its rows are in; the next key's lock is only
 * tried. A thread about to wait for anything but its own block (a lock
 * held elsewhere, a deps= block, a kernel) writes them first
 * (md_exec_settle), so it never waits holding them (exec.h: Locks).
 */
static _Thread_local struct {
	struct store *s;
	struct waiting rows;
	int lock; /* the key's, held while rows wait; else -1 */
} lone = { .lock = -1 };

/* Writes the lone rows that wait, and lets their key's lock go. */
static void
lone_write(bool wait)
{
	if (!waiting_write(&lone.rows, lone.s, wait))
		return;
	store_unlock(lone.lock);
	lone.lock = -1;
}

/* The hook of a lone block's process: the rows before it, meanwhile. */
static void
lone_started(void)
{
	lone_write(false);
}

int
md_exec_settle(void)
{
	lone_write(true);
	return waiting_error(&lone.rows);
}

static bool
uses_file(const struct md_interp *in)
{
	for (size_t i = 0; in->argv[i]; i++)
		if (!strcmp(in->argv[i], "{file}"))
			return true;
	return false;
}

/* An empty folder, for a dependency that wrote no artifacts. */
static const char *
empty_dir(struct store *s)
{
	/* Not on the heap: a worker thread that ends would leak it. */
	static _Thread_local char empty[PATH_MAX];

	if (!empty[0]) {
		char *dir = store_mktemp(s);
		if (!dir)
			return "/nonexistent";
		snprintf(empty, sizeof(empty), "%s/empty", dir);
		free(dir);
		mkdir(empty, 0555);
	}
	return empty;
}

/*
 * MDRUN_DEP_<name>=<folder> for each deps= block: the read-only folder of
 * the artifacts of the realization it keyed on (an empty one without).
 * Letters and digits of the name are kept, anything else becomes '_'.
 * Then MDRUN_FIG, the block's figure options, for the python driver. A
 * NULL-terminated array; free with md_strv_free.
 */
static char **
dep_env(struct store *s, struct md_plan *p, const struct md_stage *st)
{
	char **env = md_calloc(st->ndeps + 3, sizeof(*env));
	struct md_buf fig = MD_BUF_INIT;
	size_t n = st->ndeps;

	for (size_t i = 0; i < st->ndeps; i++) {
		const struct md_stage *d = &p->stages[st->deps[i]];
		struct md_buf b = MD_BUF_INIT;
		const char *c;
		char *dir;

		md_buf_puts(&b, "MDRUN_DEP_");
		for (c = d->block->name; *c; c++)
			md_buf_putc(&b, isalnum((unsigned char)*c) ? *c : '_');
		dir = store_files_dir(s, d->rhash);
		md_buf_printf(&b, "=%s", dir);
		free(dir);
		if (!md_fs_is_dir(strchr(b.ptr, '=') + 1)) {
			b.len = (size_t)(strchr(b.ptr, '=') - b.ptr) + 1;
			md_buf_puts(&b, empty_dir(s));
		}
		env[i] = md_buf_detach(&b);
	}
	if (st->block->fig) {
		md_buf_printf(&fig, "MDRUN_FIG=%s", st->block->fig);
		env[n++] = md_buf_detach(&fig);
	}
	if (st->block->no_warnings &&
	    (st->interp->driver == MD_DRIVER_PYTHON || st->interp->kernel))
		env[n++] = md_strdup("MDRUN_WARNINGS=ignore");
	if (st->block->no_messages && st->interp->kernel)
		env[n++] = md_strdup("MDRUN_MESSAGES=drop");
	return env;
}
/* The document's path as blocks see it (MDRUN_DOC). */
static const char *
shown_doc(const struct md_exec_opts *o)
{
	return o->shown ? o->shown : o->document;
}


/*
 * A kernel language's block alone (session=none): a kernel of its own,
 * started for it and stopped after it.
 */
static int
run_kernel_alone(char rhash[MD_HASH_HEX], double *ms, struct store *s,
		 struct md_plan *p, struct md_stage *st,
		 const struct md_exec_opts *o, struct md_proc_result *keep)
{
	const struct md_block *b = st->block;
	struct md_session ss;
	struct md_proc_result r;
	const char *art = NULL;
	char *dir = store_mktemp(s);
	int rc;

	memset(&r, 0, sizeof(r));
	if (!dir)
		return MD_ERROR;
	char **env = dep_env(s, p, st);
	char *drivers = store_drivers(s);
	if ((rc = md_session_start(&ss, st->interp, dir, o->cwd,
				   shown_doc(o), &o->track, drivers)) == 0 &&
	    (rc = md_session_run(&r, &art, &ss, b->name,
				 (const char *const *)env, b->code,
				 b->code_len, b->code_line, timeout_of(st, o),
				 o->cap)) == 0) {
		*ms += (r.end - r.start) * 1e3;
		rc = commit(rhash, s, p, st, o, &r, art, NULL);
	}
	if (rc == 0 && keep) {
		*keep = r;
		memset(&r, 0, sizeof(r));
	}
	if (rc < 0)
		rc = md_err_prefix(rc, "%s:%d:%d: block '%s'", o->document,
				   b->line, b->col, b->name);
	md_session_stop(&ss);
	md_proc_result_dispose(&r);
	md_strv_free(env);
	md_fs_rmtree(dir);
	free(dir);
	free(drivers);
	return rc;
}

/*
 * One run of a process block, committed; what it gave goes into *keep,
 * when set (dispose of it). With lock (the key's, held) and keep, its rows
 * may wait (lone), and then hold the lock: *lock becomes -1.
 */
static int
run_process(char rhash[MD_HASH_HEX], double *ms, struct store *s,
	    struct md_plan *p, struct md_stage *st,
	    const struct md_exec_opts *o, struct md_proc_result *keep,
	    int *lock)
{
	char **deps = dep_env(s, p, st);
	const char **env = NULL;
	const struct md_block *b = st->block;
	struct md_buf file = MD_BUF_INIT, e1 = MD_BUF_INIT, e2 = MD_BUF_INIT,
		      e3 = MD_BUF_INIT, ev = MD_BUF_INIT, events = MD_BUF_INIT,
		      log = MD_BUF_INIT;
	char *track[5] = { NULL, NULL, NULL, NULL, NULL };
	size_t ntrack = 0;
	bool python = st->interp->driver == MD_DRIVER_PYTHON;
	char *out = NULL, *program = NULL, *drivers = NULL;
	const char **argv = NULL;
	struct md_proc_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (keep)
		memset(keep, 0, sizeof(*keep));
	if (st->interp->kernel) {
		md_strv_free(deps);
		if ((rc = md_exec_settle()) < 0)
			return rc;
		return run_kernel_alone(rhash, ms, s, p, st, o, keep);
	}
	if (!scratch && !(scratch = store_mktemp(s)))
		return MD_ERROR;
	out = md_path_join(scratch, "out");
	md_buf_printf(&file, "%s/block%s", scratch, st->interp->extension);
	md_buf_printf(&events, "%s/events", scratch);
	if (python && (rc = md_fs_write_over(events.ptr, "", 0, 0644)) < 0)
		goto done;
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		rc = md_err_sys("%s", out);
		goto done;
	}
	if (uses_file(st->interp) &&
	    (rc = md_fs_write_over(file.ptr, b->code, b->code_len, 0644)) < 0)
		goto done;
	if (b->code_len >= ARG_MAX_ONE && !uses_file(st->interp)) {
		rc = md_err_set("%s:%d:%d: block '%s' is longer than %d bytes, "
				"more than a command line carries: run it in "
				"a session",
				o->document, b->line, b->col, b->name,
				ARG_MAX_ONE);
		goto done;
	}
	if (python) {
		drivers = store_drivers(s);
		program = md_driver_program(md_driver_one(st->interp->driver),
					    drivers);
	}
	argv = command(st, file.ptr, events.ptr, program);
	md_buf_printf(&e1, "MDRUN_OUT=%s", out);
	md_buf_printf(&e2, "MDRUN_DOC=%s", shown_doc(o));
	md_buf_printf(&e3, "MDRUN_BLOCK=%s", b->name);
	/* The library appends to the log; it creates nothing. */
	md_buf_printf(&log, "%s/track", scratch);
	if (o->track.root && st->block->track &&
	    md_fs_write_over(log.ptr, "", 0, 0644) == 0)
		ntrack = md_track_env(track, log.ptr, o->track.root,
				      o->track.skip);
	env = md_calloc(st->ndeps + 9, sizeof(*env));
	env[0] = e1.ptr;
	env[1] = e2.ptr;
	env[2] = e3.ptr;
	size_t k = 0;
	for (; deps[k]; k++)
		env[3 + k] = deps[k];
	for (size_t t = 0; t < ntrack; t++)
		env[3 + k + t] = track[t];
	struct md_proc_opts po = { argv, o->cwd, env, timeout_of(st, o),
				   o->cap, lone_started };
	if ((rc = md_proc_run(&r, &po)) < 0) {
		rc = md_err_prefix(rc, "%s:%d:%d: block '%s'", o->document,
				   b->line, b->col, b->name);
		goto done;
	}
	*ms += (r.end - r.start) * 1e3;
	/*
	 * Its events count the bytes of pipes: both streams start at 0.
	 * More than MD_RICH_CAP bytes of them: none is kept, and the
	 * output is cut.
	 */
	if (python && md_fs_read_regular(&ev, events.ptr,
					 MD_RICH_CAP(o->cap)) == 0)
		md_outputs_from_events(&r.outs, ev.ptr, ev.len, 0, 0,
				       r.out.len, r.err.len);
	else if (python && md_fs_exists(events.ptr))
		r.out_cut = true;
	long long at = 0;
	if (ntrack &&
	    (rc = md_track_collect(&r.io, log.ptr, &at, o->cwd,
				   o->track.write_max ? o->track.write_max
						      : MD_TRACK_WRITE_MAX)) < 0)
		goto done;
	/*
	 * Rows that failed to go in while it ran: reported, and its run is
	 * not kept. Its own wait (when kept, from memory) for the next
	 * block, holding *lock.
	 */
	if ((rc = md_exec_settle()) < 0)
		goto done;
	if (lock && keep && defers(st, &r)) {
		rc = commit(rhash, s, p, st, o, &r, out, &lone.rows.later);
		if (rc == 0) {
			lone.s = s;
			lone.lock = *lock;
			*lock = -1;
			waiting_add(&lone.rows, o, st, &r);
		}
	} else {
		rc = commit(rhash, s, p, st, o, &r, out, NULL);
	}
	if (rc == 0 && keep) {
		*keep = r;
		memset(&r, 0, sizeof(r));
	}
done:
	md_proc_result_dispose(&r);
	free(env);
	md_strv_free(deps);
	free(argv);
	free(out);
	free(program);
	free(drivers);
	md_buf_dispose(&file);
	md_buf_dispose(&e1);
	md_buf_dispose(&e2);
	md_buf_dispose(&e3);
	md_buf_dispose(&ev);
	md_buf_dispose(&events);
	md_buf_dispose(&log);
	for (size_t t = 0; t < ntrack; t++)
		free(track[t]);
	return rc;
}

int
md_exec_status(enum md_why *out, struct md_buf *changed, struct store *s,
	       const struct md_stage *st, const struct md_exec_opts *o)
{
	const struct md_block *b = st->block;
	struct store_run *runs = NULL;
	size_t n = 0, good = 0;
	bool *ok;
	int rc;

	assert(st->key[0]);
	if ((rc = store_runs(&runs, &n, s, st->key)) < 0)
		return rc;
	ok = usable_all(&good, s, runs, n, st, o);
	if (rebuilds(st, o))
		*out = MD_WHY_REBUILD;
	else if (!b->cache)
		*out = MD_WHY_NO_CACHE;
	else if (n == 0)
		*out = MD_WHY_NEVER;
	else if (runs[n - 1].failed && !b->error_ok)
		*out = MD_WHY_FAILED;
	else if (runs[n - 1].cut && runs[n - 1].cut < o->cap)
		*out = MD_WHY_CUT;
	else if (!ok[standing(runs, ok, n, st, o)]) {
		*out = MD_WHY_INPUT;
		usable(s, &runs[n - 1], st, o, changed); /* which file */
	}
	else if (good == 0)
		*out = MD_WHY_FAILED;
	else if ((int)good < b->nouts)
		*out = MD_WHY_NOUTS;
	else
		*out = MD_WHY_CACHED;
	free(ok);
	free(runs);
	return 0;
}

void
md_exec_finish(void)
{
	if (scratch)
		md_fs_rmtree(scratch);
	free(scratch);
	scratch = NULL;
}

static int
add_real(struct md_outcome *out, struct store *s, const char *key,
	 const char *rhash, bool later)
{
	struct store_real *r;

	out->reals = md_realloc(out->reals, (out->n + 1) * sizeof(*out->reals));
	r = &out->reals[out->n];
	if (later)
		store_read_later(r, s, key, rhash);
	else if (store_read(r, s, key, rhash) < 0)
		return MD_ERROR;
	out->n++;
	return 0;
}

/*
 * What the block shows once its runs are in the store: a run that just
 * failed, else what its match picks.
 */
static int
pick(struct md_outcome *out, struct store *s, const struct md_stage *st,
     const char *last, const struct store_run *runs, size_t n,
     const struct md_exec_opts *o)
{
	const struct md_block *b = st->block;
	size_t i, j;
	int rc = 0;

	if (last && !b->error_ok) {
		if ((rc = add_real(out, s, st->key, last, false)) < 0)
			return rc;
		if (store_real_failed(&out->reals[0])) {
			out->failed = true;
			return 0;
		}
		md_outcome_dispose(out);
	}
	for (i = 0; i < n && rc == 0; i++) {
		size_t at = b->match == MD_MATCH_LATEST ? n - 1 - i : i;
		bool seen = false;

		if (!usable(s, &runs[at], st, o, NULL))
			continue;
		for (j = 0; j < out->n; j++)
			seen |= !strcmp(out->reals[j].rhash, runs[at].rhash);
		if (!seen)
			rc = add_real(out, s, st->key, runs[at].rhash,
				      o && o->later && !runs[at].failed);
		if (b->match != MD_MATCH_ALL)
			break;
	}
	/*
	 * The run just made, when no run is usable now: a file it read
	 * changed while it ran (another session wrote it).
	 */
	if (rc == 0 && out->n == 0 && last)
		rc = add_real(out, s, st->key, last, false);
	if (rc == 0 && out->n == 0)
		rc = md_err_set("%s: no realization to show", st->key);
	return rc;
}

/*
 * What a block that just ran shows: the run itself, straight from memory,
 * when it failed or when its match is "latest"; else what match picks.
 */
static int
shown_now(struct md_outcome *out, struct store *s, const struct md_stage *st,
	  struct md_proc_result *r, const char *rhash)
{
	bool bad = md_exit_failed(&r->exit);
	struct store_real *real;

	if (st->block->match != MD_MATCH_LATEST &&
	    !(bad && !st->block->error_ok)) {
		struct store_run *runs = NULL;
		size_t n = 0;
		int rc = store_runs(&runs, &n, s, st->key);

		if (rc == 0)
			rc = pick(out, s, st, rhash, runs, n, NULL);
		free(runs);
		out->ran = 1;
		return rc;
	}
	out->reals = md_calloc(1, sizeof(*out->reals));
	out->n = 1;
	real = &out->reals[0];
	memcpy(real->rhash, rhash, MD_HASH_HEX);
	real->out = r->out;
	real->err = r->err;
	real->outs = r->outs;
	if (st->block->track) {
		real->reads = r->io.reads;
		real->writes = r->io.writes;
		memset(&r->io.reads, 0, sizeof(r->io.reads));
		memset(&r->io.writes, 0, sizeof(r->io.writes));
	}
	memset(&r->out, 0, sizeof(r->out));
	memset(&r->err, 0, sizeof(r->err));
	memset(&r->outs, 0, sizeof(r->outs));
	real->exit = r->exit;
	real->start = r->start;
	real->end = r->end;
	real->path = store_files_dir(s, rhash);
	real->files = md_fs_is_dir(real->path);
	out->failed = bad && !st->block->error_ok;
	out->ran = 1;
	return 0;
}

/* Runs the block still needs: nouts, cache=false, --rebuild. */
static void
needed(int *out, struct store *s, const struct store_run *runs, size_t n,
       const struct md_stage *st, const struct md_exec_opts *o,
       char latest[MD_HASH_HEX])
{
	const struct md_block *b = st->block;
	size_t good, at = 0;
	bool *ok = usable_all(&good, s, runs, n, st, o);

	latest[0] = '\0';
	if (n) {
		at = standing(runs, ok, n, st, o);
		memcpy(latest, runs[at].rhash, MD_HASH_HEX);
	}
	*out = b->nouts - (int)good;
	/*
	 * A block whose latest run failed, or was cut short of what this
	 * render allows, runs again, whatever succeeded before: what follows
	 * it keys on that latest run.
	 */
	if ((!b->cache || rebuilds(st, o) || (n && !ok[at])) && *out < 1)
		*out = 1;
	free(ok);
}

int
md_exec_realize(struct md_outcome *out, struct store *s, struct md_plan *p,
		struct md_stage *st, const struct md_exec_opts *o)
{
	char last[MD_HASH_HEX] = "", latest[MD_HASH_HEX];
	struct store_run *runs = NULL;
	int lock, rc, need;
	size_t made = 0, n = 0;
	double ms = 0;

	memset(out, 0, sizeof(*out));
	if (!md_stage_key(p, st))
		return md_err_set("%s:%d:%d: block '%s': a deps= block it reads "
				  "has no result", o->document, st->block->line,
				  st->block->col, st->block->name);
	/* Tried while rows wait: a wait holding them could last forever. */
	lock = lone.rows.later ? store_trylock_key(s, st->key) : STORE_BUSY;
	if (lock == STORE_BUSY && (rc = md_exec_settle()) < 0)
		return rc;
	if (lock == STORE_BUSY)
		lock = store_lock_key(s, st->key);
	if (lock < 0)
		return lock;
	if ((rc = store_runs(&runs, &n, s, st->key)) < 0)
		goto done;
	needed(&need, s, runs, n, st, o, latest);
	/*
	 * One run of a block that shows its latest (the usual case): what
	 * it shows, and what its dependents key on, is that run, from
	 * memory, as a session's block (shown_now).
	 */
	if (need == 1 && st->block->nouts == 1 &&
	    st->block->match == MD_MATCH_LATEST) {
		struct md_proc_result r;

		if ((rc = run_process(last, &ms, s, p, st, o, &r, &lock)) == 0 &&
		    (rc = shown_now(out, s, st, &r, last)) == 0) {
			out->ms = ms;
			memcpy(st->rhash, last, MD_HASH_HEX);
		}
		md_proc_result_dispose(&r);
		goto done;
	}
	for (; need > 0; need--) {
		struct md_proc_result r;
		bool bad;

		if ((rc = run_process(last, &ms, s, p, st, o, &r, NULL)) < 0)
			goto done;
		made++;
		bad = md_exit_failed(&r.exit);
		md_proc_result_dispose(&r);
		/* A failure the block does not expect stops the repeats. */
		if (bad && !st->block->error_ok)
			break;
	}
	if (made) {
		free(runs);
		runs = NULL;
		if ((rc = store_runs(&runs, &n, s, st->key)) < 0)
			goto done;
	}
	if ((rc = pick(out, s, st, made ? last : NULL, runs, n, o)) == 0) {
		out->ran = made;
		out->ms = ms;
	}
	/* What its dependents key on: its latest run. */
	if (rc == 0)
		needed(&need, s, runs, n, st, o, st->rhash);
	if (rc == 0 && !made && st->rhash[0])
		rc = restore_writes(s, st, runs, n, o);
done:
	free(runs);
	store_unlock(lock);
	return rc;
}

/* The state of one session while its blocks are realized. */
struct md_chain {
	struct store *s;
	struct md_plan *p;
	size_t *members;
	size_t n;
	const struct md_exec_opts *o;
	struct md_session ss;
	char *dir;	 /* the session's folder, under the store's tmp/ */
	size_t executed; /* members run in the live interpreter so far */
	size_t next;	 /* the first member not realized yet */
	struct md_outcome *outs;
	char lockname[MD_HASH_HEX + 8]; /* session-KEY */
	int lock;			 /* fd of the session's lock, or -1 */
	/* For each member the live interpreter ran (executed of them): its
	 * key, and the stopped copy holding the state after it, or -1. */
	char (*ran)[MD_HASH_HEX];
	pid_t *snaps;
	/* Something failed on mdrun's side while it ran: what the
	 * interpreter holds is not known, and it is not parked. */
	bool unsure;
	/* The rows of the blocks that ran since the last write, written
	 * while a later one runs, or when the chain ends. */
	struct waiting rows;
};

/*
 * The session's idle hook, once a block is under way. While blocks
 * answer at once (quick), the rows of those before wait, up to
 * LATER_RUNS runs or LATER_MAX bytes, for one transaction; they go in
 * while a block runs that takes longer, or after a run that did
 * (later_slow). A block's time is not spent waiting for another process
 * to finish writing: then they wait on.
 */
static void
later_idle(void *arg, bool quick)
{
	struct md_chain *c = arg;

	if (quick && !c->rows.slow && c->rows.n < LATER_RUNS &&
	    c->rows.bytes < LATER_MAX)
		return;
	waiting_write(&c->rows, c->s, false);
}

/*
 * Writes the rows that wait: before the chain's lock goes, and before a
 * run whose outcome reads the store. Returns a failure to write them,
 * now or when the hook did.
 */
static int
later_write(struct md_chain *c)
{
	waiting_write(&c->rows, c->s, true);
	return waiting_error(&c->rows);
}


/*
 * Warm sessions (mdrun watch): at the end of a render, a session's live
 * interpreter is parked here with what it ran and its snapshots, instead
 * of ended; the next render's chain of the same session takes it back
 * (adopt): as it is, when every block it ran is still the document's,
 * in order (only blocks after them replay); else from the latest
 * snapshot whose blocks still are; else not at all. One entry per
 * session: a newer one ends the older.
 */
struct warm {
	char *id; /* lang, interpreter, session, folder, document */
	struct md_session ss;
	char *dir;
	char (*ran)[MD_HASH_HEX];
	pid_t *snaps;
	size_t nran;
};

static pthread_mutex_t warm_mu = PTHREAD_MUTEX_INITIALIZER;
static struct warm *warm;
static size_t nwarm;
static bool warm_on;
static size_t snap_cap, snap_kib;

void
md_exec_warm(bool on, size_t snapshots, size_t memory)
{
	warm_on = on;
	snap_cap = snapshots;
	snap_kib = memory / 1024;
	store_keep_owners(on);
	md_session_snapshots(on && snapshots > 0);
}

/*
 * The memory only process pid holds (its private pages, clean or dirty),
 * KiB; 0 when unknown. For a stopped copy: what ending it would free.
 */
static size_t
private_kib(pid_t pid)
{
	char path[64], line[256];
	size_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Private_Clean:", 14))
			kib += strtoull(line + 14, NULL, 10);
		else if (!strncmp(line, "Private_Dirty:", 14))
			kib += strtoull(line + 14, NULL, 10);
	fclose(f);
	return kib;
}

void
md_exec_warm_usage(size_t *snaps, size_t *kib)
{
	*snaps = *kib = 0;
	pthread_mutex_lock(&warm_mu);
	for (size_t i = 0; i < nwarm; i++)
		for (size_t k = 0; k < warm[i].nran; k++)
			if (warm[i].snaps[k] > 0) {
				(*snaps)++;
				*kib += private_kib(warm[i].snaps[k]);
			}
	pthread_mutex_unlock(&warm_mu);
}

static char *
chain_id(struct md_chain *c)
{
	const struct md_stage *st = &c->p->stages[c->members[0]];
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "%s\t%s\t%s\t%s\t%s", st->interp->lang,
		      st->identity ? st->identity : "", st->session,
		      c->o->cwd ? c->o->cwd : "", c->o->document);
	return md_buf_detach(&b);
}

static void
warm_end(struct warm *w)
{
	md_session_stop(&w->ss);
	if (w->dir)
		md_fs_rmtree(w->dir);
	free(w->dir);
	free(w->id);
	free(w->ran);
	free(w->snaps);
}

/* Kills the stopped copy at k: it holds no state anyone can use. */
static void
drop_snap(pid_t *snaps, size_t k)
{
	if (snaps[k] > 0)
		kill(snaps[k], SIGKILL);
	snaps[k] = -1;
}

static struct md_stage *
member(struct md_chain *c, size_t i)
{
	return &c->p->stages[c->members[i]];
}

/*
 * Member k ran in the live interpreter: what it ran, and the copy it
 * left. Past the cap, the oldest copies go: an edit is likeliest near
 * the end.
 */
static void
note_ran(struct md_chain *c, size_t k)
{
	size_t held = 0;

	memcpy(c->ran[k], member(c, k)->key, MD_HASH_HEX);
	c->snaps[k] = c->ss.snap;
	c->ss.snap = -1;
	if (warm_on && c->ss.nosnap[0])
		tell(c->o, c->o->note, "no snapshot after %s: %s",
		     member(c, k)->block->name, c->ss.nosnap);
	for (size_t j = 0; j <= k; j++)
		held += c->snaps[j] > 0;
	for (size_t j = 0; j <= k && held > snap_cap; j++)
		if (c->snaps[j] > 0) {
			drop_snap(c->snaps, j);
			held--;
		}
	/* And past the memory cap, the oldest go too. */
	for (size_t j = 0, kib = 0; snap_kib && j <= k; j++, kib = 0) {
		for (size_t m = j; m <= k; m++)
			if (c->snaps[m] > 0)
				kib += private_kib(c->snaps[m]);
		if (kib <= snap_kib)
			break;
		drop_snap(c->snaps, j);
	}
}

/* The chain ends: its interpreter is parked; true when it was. */
static bool
park(struct md_chain *c)
{
	struct warm w;

	if (!warm_on || c->unsure || !c->executed || !md_session_alive(&c->ss))
		return false;
	memset(&w, 0, sizeof(w));
	w.id = chain_id(c);
	w.ss = c->ss;
	w.ss.interp = NULL; /* the render's: it goes with it */
	w.ss.idle = NULL;   /* and so does the chain its hook names */
	w.ss.idle_arg = NULL;
	w.dir = c->dir;
	w.nran = c->executed;
	w.ran = md_calloc(w.nran, sizeof(*w.ran));
	w.snaps = md_calloc(w.nran, sizeof(*w.snaps));
	memcpy(w.ran, c->ran, w.nran * sizeof(*w.ran));
	memcpy(w.snaps, c->snaps, w.nran * sizeof(*w.snaps));
	memset(&c->ss, 0, sizeof(c->ss));
	c->ss.pid = -1;
	c->ss.snap = -1;
	c->ss.to = c->ss.from = -1;
	for (int k = 0; k < 4; k++)
		c->ss.fd[k] = -1;
	c->dir = NULL;
	pthread_mutex_lock(&warm_mu);
	for (size_t i = 0; i < nwarm; i++)
		if (!strcmp(warm[i].id, w.id)) {
			warm_end(&warm[i]);
			warm[i] = warm[--nwarm];
			break;
		}
	warm = md_realloc(warm, (nwarm + 1) * sizeof(*warm));
	warm[nwarm++] = w;
	pthread_mutex_unlock(&warm_mu);
	return true;
}

/*
 * Before member i runs in a chain with no live interpreter: takes back
 * this session's parked one, at the state after the longest run of
 * members it ran that are still the chain's (at most i): live, or
 * continued from a snapshot. Nothing when none fits.
 */
static void
adopt(struct md_chain *c, size_t i)
{
	char *id;
	struct warm w;
	size_t p = 0, j, k;
	bool found = false;

	if (!warm_on || !i)
		return;
	id = chain_id(c);
	pthread_mutex_lock(&warm_mu);
	for (k = 0; k < nwarm; k++)
		if (!strcmp(warm[k].id, id)) {
			w = warm[k];
			warm[k] = warm[--nwarm];
			found = true;
			break;
		}
	pthread_mutex_unlock(&warm_mu);
	free(id);
	if (!found)
		return;
	/* The interpreter it ran: the last render's went with it. */
	w.ss.interp = member(c, 0)->interp;
	/* It may have died while parked (killed, out of memory). */
	if (!w.ss.kernel && md_proc_reap(w.ss.pid, NULL, false))
		w.ss.pid = -1;
	if (!md_session_alive(&w.ss)) {
		warm_end(&w);
		return;
	}
	while (p < w.nran && p < i && !strcmp(w.ran[p], member(c, p)->key))
		p++;
	/*
	 * A block whose reads are not recorded may have read something
	 * else since: the state after it is not known to be current.
	 */
	for (k = 0; k < p; k++)
		if (!c->o->track.root || !member(c, k)->block->track) {
			p = k;
			break;
		}
	if (p == w.nran) {
		j = p; /* the live interpreter, as it is */
	} else {
		for (j = p; j > 0 && w.snaps[j - 1] <= 0; j--)
			;
		for (k = j; k < w.nran; k++)
			drop_snap(w.snaps, k);
		if (j && md_session_resume(&w.ss, w.snaps[j - 1]) == 0) {
			w.snaps[j - 1] = w.ss.snap;
			w.ss.snap = -1;
			tell(c->o, c->o->note, "the %s session goes on from its "
			     "snapshot after %s",
			     member(c, i)->session, member(c, j - 1)->block->name);
		} else {
			md_err_clear();
			j = 0;
		}
	}
	if (!j || !md_session_alive(&w.ss)) {
		warm_end(&w);
		return;
	}
	c->ss = w.ss;
	c->dir = w.dir;
	c->executed = j;
	memcpy(c->ran, w.ran, j * sizeof(*w.ran));
	memcpy(c->snaps, w.snaps, j * sizeof(*w.snaps));
	for (k = j; k < w.nran; k++)
		drop_snap(w.snaps, k);
	free(w.id);
	free(w.ran);
	free(w.snaps);
}

/* Runs member i in the live interpreter (starting one if needed). */
static int
chain_run(struct md_proc_result *r, const char **artifacts,
	  struct md_chain *c, size_t i)
{
	struct md_stage *st = member(c, i);
	int rc;

	if (!md_session_alive(&c->ss)) {
		md_session_stop(&c->ss);
		if (c->dir)
			md_fs_rmtree(c->dir);
		free(c->dir);
		if (!(c->dir = store_mktemp(c->s)))
			return MD_ERROR;
		char *drivers = store_drivers(c->s);
		rc = md_session_start(&c->ss, st->interp, c->dir, c->o->cwd,
				      shown_doc(c->o), &c->o->track, drivers);
		free(drivers);
		if (rc < 0)
			return rc;
		c->executed = 0;
		for (size_t k = 0; k < c->n; k++)
			c->snaps[k] = -1; /* they went with the old one */
	}
	char **env = dep_env(c->s, c->p, st);
	c->ss.idle = later_idle;
	c->ss.idle_arg = c;
	rc = md_session_run(r, artifacts, &c->ss, st->block->name,
			    (const char *const *)env, st->block->code,
			    st->block->code_len, st->block->code_line,
			    timeout_of(st, c->o), c->o->cap);
	md_strv_free(env);
	if (rc < 0)
		rc = md_err_prefix(rc, "%s:%d:%d: block '%s'", c->o->document,
				   st->block->line, st->block->col,
				   st->block->name);
	return rc;
}

/* Does this run say that its block ended the session's interpreter? */
static bool
ended_session(const char *err, size_t len, int signal, bool timed_out)
{
	return timed_out || signal ||
	       (err && memmem(err, len, MD_SESSION_ENDED,
			      strlen(MD_SESSION_ENDED)));
}

/* Did the run member k shows end the session's interpreter? */
static int
ended(bool *out, struct md_chain *c, size_t k)
{
	struct md_stage *st = member(c, k);
	struct store_real r;

	if (store_read(&r, c->s, st->key, st->rhash) < 0)
		return MD_ERROR;
	*out = ended_session(r.err.ptr, r.err.len, r.exit.signal, r.exit.timed_out);
	store_real_dispose(&r);
	return 0;
}

/*
 * Brings the live interpreter up to member i by replaying the members
 * before it that it has not run. The state before member i is what the
 * members before it leave in one interpreter, failed ones included, but
 * for those whose run ended the interpreter: a run from the top replays
 * the same way after such a block. A replay restores state and decides
 * nothing: what a replayed member shows, and the keys after it, stay as
 * they are. A replay that prints something else than the run the
 * document shows is one warning, noted in the member's outcome.
 */
static int
chain_replay(struct md_chain *c, size_t i)
{
	const struct md_exec_opts *o = c->o;
	size_t k, from;
	int rc = 0;

	if (md_session_alive(&c->ss) && c->executed == i)
		return 0;
	/* What follows reads the members' runs: the last one's rows too. */
	if ((rc = later_write(c)) < 0)
		return rc;
	if (!md_session_alive(&c->ss))
		adopt(c, i);
	if (md_session_alive(&c->ss) && c->executed == i)
		return 0;
	/* An interpreter already past block i cannot run it again. */
	if (md_session_alive(&c->ss) && c->executed > i)
		md_session_stop(&c->ss);
	from = md_session_alive(&c->ss) ? c->executed : 0;
	if (from < i)
		tell(o, o->note,
		     "replaying the %s session from %s to %s, to run %s",
		     member(c, i)->session, member(c, from)->block->name,
		     member(c, i - 1)->block->name, member(c, i)->block->name);
	for (k = from; k < i && rc == 0; k++) {
		struct md_stage *st = member(c, k);
		struct md_outcome *oc = &c->outs[k];
		struct md_proc_result r;
		const char *art = NULL;
		char again[MD_HASH_HEX];

		bool skip = false;

		memset(&r, 0, sizeof(r));
		if ((rc = ended(&skip, c, k)) < 0)
			break;
		if (skip) {
			c->executed = k + 1;
			continue;
		}
		if ((rc = chain_run(&r, &art, c, k)) < 0) {
			md_proc_result_dispose(&r);
			break;
		}
		c->executed = k + 1;
		note_ran(c, k);
		if (r.out_cut)
			note_cut(&r.out, o->cap);
		if (r.err_cut)
			note_cut(&r.err, o->cap);
		/*
		 * Outputs are compared, with the files the shown run
		 * recorded: a block replays only while they are as then,
		 * and one recorded without tracking recorded none.
		 */
		struct md_buf rd = MD_BUF_INIT, wr = MD_BUF_INIT;
		store_reads(&rd, c->s, st->key, st->rhash);
		store_writes(&wr, c->s, st->key, st->rhash);
		md_err_clear();
		rc = store_rhash(again, r.out.ptr, r.out.len, r.err.ptr,
				 r.err.len, r.outs.ptr, r.outs.len, rd.ptr,
				 rd.len, wr.ptr, wr.len, &r.exit, art);
		md_buf_dispose(&rd);
		md_buf_dispose(&wr);
		oc->replayed = true;
		oc->ms += (r.end - r.start) * 1e3;
		if (rc == 0 && strcmp(again, st->rhash) && !oc->replay_differs) {
			oc->replay_differs = true;
			tell(o, o->warn,
			     "%s:%d: block %s printed something else when "
			     "replayed; the state may differ",
			     o->document, st->block->line, st->block->name);
		}
		/* What a replay wrote to MDRUN_OUT is not kept. */
		if (art)
			md_fs_rmtree(art);
		md_proc_result_dispose(&r);
	}
	return rc;
}

int
md_chain_new(struct md_chain **out, struct store *s, struct md_plan *p,
	     const size_t *members, size_t n, const struct md_exec_opts *o)
{
	struct md_chain *c = md_calloc(1, sizeof(*c));

	*out = NULL;
	c->ss.pid = -1;
	c->ss.to = c->ss.from = -1;
	c->lock = -1;
	c->s = s;
	c->p = p;
	c->o = o;
	c->n = n;
	c->members = md_calloc(n, sizeof(*members));
	memcpy(c->members, members, n * sizeof(*members));
	c->outs = md_calloc(n, sizeof(*c->outs));
	c->ran = md_calloc(n, sizeof(*c->ran));
	c->snaps = md_calloc(n, sizeof(*c->snaps));
	for (size_t k = 0; k < n; k++)
		c->snaps[k] = -1;
	if (!md_stage_key(p, member(c, 0))) {
		md_err_set("%s: the first block of a session has no key",
			   o->document);
		md_chain_free(c);
		return MD_ERROR;
	}
	/*
	 * One process at a time runs a session (named by its first key,
	 * which every later key holds, so no lock per key is needed): a
	 * second one waits and then finds the blocks cached, instead of
	 * replaying blocks, and their side effects, in between.
	 */
	snprintf(c->lockname, sizeof(c->lockname), "session-%s",
		 member(c, 0)->key);
	*out = c;
	return 0;
}

int
md_chain_settle(struct md_chain *c)
{
	waiting_write(&c->rows, c->s, true);
	return c->rows.err ? md_err_set("%s", c->rows.err) : 0;
}

void
md_chain_release(struct md_chain *c)
{
	/* No one else realizes its keys before their rows are in. */
	waiting_write(&c->rows, c->s, true);
	store_unlock(c->lock);
	c->lock = -1;
}

/*
 * The chain is done in this render: its interpreter and lock go now, not
 * when the render ends, so no other session or render waits for them.
 */
static void
chain_end(struct md_chain *c)
{
	/*
	 * The rows are whole whatever failed: written, keeping the message
	 * of what did.
	 */
	if (c->rows.later || c->rows.err) {
		char *msg = md_strdup(md_err_msg());

		later_write(c);
		md_err_set("%s", msg);
		free(msg);
	}
	if (!park(c))
		md_session_stop(&c->ss);
	if (c->dir)
		md_fs_rmtree(c->dir);
	free(c->dir);
	c->dir = NULL;
	md_chain_release(c);
}

int
md_chain_upto(struct md_chain *c, size_t upto)
{
	const struct md_exec_opts *o = c->o;
	struct store *s = c->s;
	int rc = 0;

	if (c->next <= upto && c->lock < 0 &&
	    (c->lock = store_lock_key(s, c->lockname)) < 0) {
		c->lock = -1;
		return MD_ERROR;
	}
	while (c->next <= upto && rc == 0) {
		size_t i = c->next;
		struct md_stage *st = member(c, i);
		struct md_outcome *out = &c->outs[i];
		char last[MD_HASH_HEX] = "";
		struct store_run *runs = NULL;
		size_t n = 0;
		int need = 0;

		md_outcome_dispose(out);
		if (!md_stage_key(c->p, st)) {
			rc = md_err_set("%s:%d:%d: block '%s': a deps= block it "
					"reads has no result",
					o->document, st->block->line,
					st->block->col, st->block->name);
			break;
		}
		if ((rc = store_runs(&runs, &n, s, st->key)) == 0)
			needed(&need, s, runs, n, st, o, st->rhash);
		if (rc == 0 && need > 0)
			rc = chain_replay(c, i);
		if (rc == 0 && need > 0) {
			struct md_proc_result r;
			const char *art = NULL;

			memset(&r, 0, sizeof(r));
			bool wait;

			/*
			 * Rows that failed to go in stop the chain before it
			 * runs more; those waiting are written while a later
			 * block runs (then a failure is reported once it
			 * ended, and its run is not kept), and before rows
			 * that do not wait.
			 */
			if (c->rows.err)
				rc = later_write(c);
			if (rc == 0)
				rc = chain_run(&r, &art, c, i);
			wait = rc == 0 && defers(st, &r);
			if (rc == 0 && (c->rows.err || !wait))
				rc = later_write(c);
			if (rc == 0)
				rc = commit(last, s, c->p, st, o, &r, art,
					    wait ? &c->rows.later : NULL);
			if (rc == 0 && wait)
				waiting_add(&c->rows, o, st, &r);
			if (rc == 0) {
				memcpy(st->rhash, last, MD_HASH_HEX);
				c->executed = i + 1;
				note_ran(c, i);
				rc = shown_now(out, s, st, &r, last);
				out->ms = (r.end - r.start) * 1e3;
			}
			md_proc_result_dispose(&r);
		} else if (rc == 0 &&
			   (rc = pick(out, s, st, NULL, runs, n, o)) == 0) {
			rc = restore_writes(s, st, runs, n, o);
		}
		free(runs);
		c->next = i + 1;
	}
	if (rc == 0 && c->next == c->n)
		rc = later_write(c);
	if (rc < 0)
		c->unsure = true;
	if (rc < 0 || c->next == c->n)
		chain_end(c);
	return rc;
}

struct md_outcome *
md_chain_outcome(struct md_chain *c, size_t i)
{
	return &c->outs[i];
}

void
md_chain_free(struct md_chain *c)
{
	if (!c)
		return;
	chain_end(c);
	free(c->rows.what);
	for (size_t i = 0; i < c->n; i++)
		md_outcome_dispose(&c->outs[i]);
	free(c->outs);
	free(c->members);
	free(c->ran);
	free(c->snaps);
	free(c);
}

int
md_exec_session(struct md_outcome *outs, struct store *s, struct md_plan *p,
		const size_t *members, size_t n, const struct md_exec_opts *o)
{
	struct md_chain *c = NULL;
	int rc;

	memset(outs, 0, n * sizeof(*outs));
	if ((rc = md_chain_new(&c, s, p, members, n, o)) < 0)
		return rc;
	rc = md_chain_upto(c, n - 1);
	for (size_t i = 0; i < n; i++) {
		outs[i] = c->outs[i];
		memset(&c->outs[i], 0, sizeof(c->outs[i]));
	}
	md_chain_free(c);
	return rc;
}

void
md_outcome_dispose(struct md_outcome *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		store_real_dispose(&o->reals[i]);
	free(o->reals);
	o->reals = NULL;
	o->n = 0;
	o->failed = false;
	o->replayed = false;
	o->replay_differs = false;
	o->ms = 0;
}

int
md_exec_keys(struct md_plan *p, struct store *s)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < p->n && rc == 0; i++) {
		struct md_stage *st = &p->stages[i];
		struct store_run *runs = NULL;
		size_t n = 0;

		st->rhash[0] = '\0';
		if (!md_stage_key(p, st))
			continue; /* unknown upstream: unknown key */
		if ((rc = store_runs(&runs, &n, s, st->key)) == 0 && n)
			memcpy(st->rhash, runs[n - 1].rhash, MD_HASH_HEX);
		free(runs);
	}
	return rc;
}

struct loader {
	const struct md_outcome *const *v;
	size_t n, next;
	pthread_mutex_t mu;
	int rc;
	char why[512];
};

static void *
load_some(void *arg)
{
	struct loader *l = arg;

	for (;;) {
		const struct md_outcome *oc;
		size_t i;
		int rc = 0;

		pthread_mutex_lock(&l->mu);
		i = l->next < l->n ? l->next++ : l->n;
		pthread_mutex_unlock(&l->mu);
		if (i == l->n)
			return NULL;
		oc = l->v[i];
		for (size_t k = 0; oc && k < oc->n && rc == 0; k++)
			rc = store_read_pending(&oc->reals[k]);
		if (rc < 0) {
			pthread_mutex_lock(&l->mu);
			if (l->rc == 0)
				snprintf(l->why, sizeof(l->why), "%s",
					 md_err_msg());
			l->rc = rc;
			pthread_mutex_unlock(&l->mu);
		}
	}
}

int
md_outcomes_load(const struct md_outcome *const *v, size_t n, int jobs)
{
	struct loader l = { .v = v, .n = n };
	pthread_t t[8];
	int k, started = 0;

	pthread_mutex_init(&l.mu, NULL);
	for (k = 1; k < jobs && k < 8; k++)
		started += pthread_create(&t[started], NULL, load_some, &l) == 0;
	load_some(&l);
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&l.mu);
	return l.rc < 0 ? md_err_set("%s", l.why) : 0;
}
