/* mdrun render: parse, plan, realize, splice, write. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "exec.h"
#include "git.h"
#include "proc.h"
#include "sched.h"
#include "../renderer/render.h"
#include "../util/err.h"
#include "../util/fs.h"
#include "../util/hash.h"

struct args {
	const char *input;
	const char *output; /* NULL: standard output */
	bool in_place;
	bool quiet;
	bool all;
	const char *store;
	const char *config;
	double timeout;
	size_t cap;
	bool keep_going;
	int jobs;
	bool tty; /* progress as one live line on a terminal */
	bool rebuild;		 /* every block */
	const char *rebuild_one; /* or the block of this name */
};

static int
parse_args(struct args *a, int argc, char **argv)
{
	int i, k;
	const char *t;

	memset(a, 0, sizeof(*a));
	a->timeout = MD_EXEC_TIMEOUT;
	a->cap = MD_EXEC_CAP;
	a->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (a->jobs < 1)
		a->jobs = 1;
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if ((k = cli_option_value(&a->output, argc, argv, &i,
					  "--output")) ||
		    (k = cli_option_value(&a->output, argc, argv, &i, "-o")) ||
		    (k = cli_option_value(&a->store, argc, argv, &i,
					  "--store")) ||
		    (k = cli_option_value(&a->config, argc, argv, &i,
					  "--config"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if ((k = cli_option_value(&t, argc, argv, &i,
						 "--timeout"))) {
			char *end;
			if (k < 0)
				return MD_EXIT_USAGE;
			a->timeout = strtod(t, &end);
			if (!*t || *end || !(a->timeout > 0))
				return cli_usage_error("--timeout needs a "
						       "number of seconds > 0");
		} else if ((k = cli_option_value(&t, argc, argv, &i,
						 "--max-output"))) {
			char *end;
			unsigned long long v;
			if (k < 0)
				return MD_EXIT_USAGE;
			v = strtoull(t, &end, 10);
			if (*end == 'K' || *end == 'k')
				v <<= 10, end++;
			else if (*end == 'M' || *end == 'm')
				v <<= 20, end++;
			if (!*t || *end || v < 1 || v > (1ULL << 32))
				return cli_usage_error("--max-output needs a "
						       "size in bytes (K, M "
						       "allowed), 1 to 4G");
			a->cap = (size_t)v;
		} else if (!strncmp(s, "--rebuild=", 10)) {
			a->rebuild_one = s + 10;
		} else if (!strcmp(s, "--rebuild")) {
			a->rebuild = true;
		} else if (!strcmp(s, "-i") || !strcmp(s, "--in-place")) {
			a->in_place = true;
		} else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
			a->quiet = true;
		} else if (!strcmp(s, "--all")) {
			a->all = true;
		} else if ((k = cli_option_value(&t, argc, argv, &i, "-j")) ||
			   (k = cli_option_value(&t, argc, argv, &i,
						 "--jobs"))) {
			char *end;
			long n;
			if (k < 0)
				return MD_EXIT_USAGE;
			n = strtol(t, &end, 10);
			if (!*t || *end || n < 1 || n > 256)
				return cli_usage_error("-j needs a number of "
						       "jobs from 1 to 256");
			a->jobs = (int)n;
		} else if (!strncmp(s, "-j", 2) && s[2]) {
			char *end;
			long n = strtol(s + 2, &end, 10);
			if (*end || n < 1 || n > 256)
				return cli_usage_error("-j needs a number of "
						       "jobs from 1 to 256");
			a->jobs = (int)n;
		} else if (!strcmp(s, "-k") || !strcmp(s, "--keep-going")) {
			a->keep_going = true;
		} else if (s[0] == '-' && s[1] != '\0') {
			return cli_usage_error("unknown option '%s'", s);
		} else if (a->input) {
			return cli_usage_error("one document at a time ('%s' "
					       "and '%s')", a->input, s);
		} else {
			a->input = s;
		}
	}
	if (!a->input)
		return cli_usage_error("no document given");
	if (a->in_place && a->output)
		return cli_usage_error("-i and -o cannot be used together");
	if (a->in_place && !strcmp(a->input, "-"))
		return cli_usage_error("-i needs a file, not standard input");
	if (a->output && !strcmp(a->output, "-"))
		a->output = NULL;
	a->tty = !a->quiet && isatty(2);
	return 0;
}

static int
write_output(const struct args *a, const struct md_buf *text)
{
	const char *path = a->in_place ? a->input : a->output;
	struct stat st;
	mode_t mode, mask;

	if (!path) {
		if (fwrite(text->ptr, 1, text->len, stdout) != text->len ||
		    fflush(stdout) != 0)
			return md_err_sys("standard output");
		return 0;
	}
	mask = umask(0);
	umask(mask);
	mode = 0666 & ~mask;
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777; /* keep the file's mode */
	return md_fs_write_atomic(path, text->ptr, text->len, mode);
}

/* Does the output overwrite the input (-i, or -o naming the same file)? */
static bool
same_file(const struct args *a)
{
	struct stat in, out;

	if (a->in_place)
		return true;
	if (!a->output || !strcmp(a->input, "-"))
		return false;
	return stat(a->input, &in) == 0 && stat(a->output, &out) == 0 &&
	       in.st_dev == out.st_dev && in.st_ino == out.st_ino;
}

static void
describe(struct md_buf *out, const struct store_real *r)
{
	if (r->timed_out)
		md_buf_puts(out, "timed out");
	else if (r->signal)
		md_buf_printf(out, "killed by signal %d", r->signal);
	else
		md_buf_printf(out, "exit status %d", r->exit_code);
}

/*
 * What the scheduler's callbacks count and print. The live line on a
 * terminal is redrawn when a block starts or ends, and every 250 ms by a
 * ticker thread, so a long block shows its elapsed time.
 */
struct report {
	const struct args *a;
	const struct cli_doc *d;
	size_t done, ran, cached, failed;
	struct md_buf msg;
	pthread_mutex_t mu;
	double *since; /* per stage: when it started, 0 when not running */
	bool ticking;
	pthread_t ticker;
};

static void describe(struct md_buf *out, const struct store_real *r);

static void
live_clear(const struct args *a)
{
	if (a->tty)
		fputs("\r\033[K", stderr);
}

/* The live line: done/total, cached, running blocks and their times. */
static void
live(struct report *rp)
{
	struct md_buf l = MD_BUF_INIT;
	double now = md_mono();
	size_t shown = 0;

	if (!rp->a->tty)
		return;
	md_buf_printf(&l, "\r\033[K[%zu/%zu] %zu cached", rp->done,
		      rp->d->plan.n, rp->cached);
	for (size_t i = 0; i < rp->d->plan.n; i++) {
		if (rp->since[i] <= 0)
			continue;
		if (shown++ == 3) {
			md_buf_puts(&l, " ...");
			break;
		}
		md_buf_printf(&l, "%s %s %.1fs", shown == 1 ? ", running" : ",",
			      rp->d->plan.stages[i].block->name,
			      now - rp->since[i]);
	}
	fputs(l.ptr, stderr);
	fflush(stderr);
	md_buf_dispose(&l);
}

static void *
tick(void *arg)
{
	struct report *rp = arg;

	for (;;) {
		struct timespec ts = { 0, 250 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&rp->mu);
		if (!rp->ticking) {
			pthread_mutex_unlock(&rp->mu);
			return NULL;
		}
		live(rp);
		pthread_mutex_unlock(&rp->mu);
	}
}

static void
started(size_t i, void *ctx)
{
	struct report *rp = ctx;

	pthread_mutex_lock(&rp->mu);
	rp->since[i] = md_mono();
	live(rp);
	pthread_mutex_unlock(&rp->mu);
}

static void
finished(size_t i, const struct md_outcome *oc, void *ctx)
{
	struct report *rp = ctx;
	const struct md_stage *st = &rp->d->plan.stages[i];
	const char *name = rp->d->name;

	pthread_mutex_lock(&rp->mu);
	rp->since[i] = 0;
	rp->done++;
	rp->ran += oc->ran > 0;
	rp->cached += oc->ran == 0;
	md_buf_clear(&rp->msg);
	if (oc->failed) {
		rp->failed++;
		describe(&rp->msg, &oc->reals[0]);
		live_clear(rp->a);
		fprintf(stderr, "%s:%d: block '%s' failed: %s\n", name,
			st->block->line, st->block->name, rp->msg.ptr);
	} else if (!rp->a->quiet && !rp->a->tty) {
		const struct store_real *r = &oc->reals[oc->n - 1];
		if (oc->ran)
			fprintf(stderr, "mdrun: ran %s (%s:%d) in %.0f ms\n",
				st->block->name, name, st->block->line,
				(r->end - r->start) * 1e3);
		else
			fprintf(stderr, "mdrun: cached %s (%s:%d)\n",
				st->block->name, name, st->block->line);
	}
	live(rp);
	pthread_mutex_unlock(&rp->mu);
}

static void
progress(const char *msg, void *ctx)
{
	live_clear(ctx);
	fprintf(stderr, "mdrun: %s\n", msg);
}

static size_t
nlabels(char **labels)
{
	size_t n = 0;

	while (labels[n])
		n++;
	return n;
}

static bool
is_image(const char *name)
{
	const char *dot = strrchr(name, '.');
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".gif",
					   ".svg", ".webp", NULL };

	for (size_t i = 0; dot && ext[i]; i++)
		if (!strcasecmp(dot, ext[i]))
			return true;
	return false;
}

/*
 * Where a document's files go: FILE_files/ beside the output (or beside
 * the input when the output is standard output), and the prefix links use.
 */
static void
files_place(char **dir, char **href, const struct args *a, const char *dir0)
{
	const char *out = a->in_place ? a->input : a->output;
	const char *base = out ? out : strcmp(a->input, "-") ? a->input
							      : "mdrun.md";
	char *copy = md_strdup(base), *dot = strrchr(copy, '.');
	const char *slash = strrchr(copy, '/');

	if (dot && (!slash || dot > slash))
		*dot = '\0';
	struct md_buf d = MD_BUF_INIT, h = MD_BUF_INIT;
	if (!out && !strcmp(a->input, "-"))
		md_buf_printf(&d, "%s_files", copy);
	else if (!out && strchr(copy, '/') == NULL)
		md_buf_printf(&d, "%s/%s_files", dir0, copy);
	else
		md_buf_printf(&d, "%s_files", copy);
	md_buf_printf(&h, "%s_files", md_path_basename(copy));
	*dir = md_buf_detach(&d);
	*href = md_buf_detach(&h);
	free(copy);
}

/*
 * Copies the artifacts of realization dir into files (content-addressed
 * names: a file is written once, whole) and describes them for the
 * renderer. *out and each name and href are the caller's to free.
 */
static int
place_files(struct render_file **out, size_t *n, const char *real,
	    const char *files, const char *href)
{
	char *outdir = md_path_join(real, "out");
	char **names = NULL;
	size_t count = 0, i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = md_fs_list(&names, &count, outdir)) < 0 || count == 0)
		goto done;
	if ((rc = md_fs_mkdirs(files, 0755)) < 0)
		goto done;
	*out = md_calloc(count, sizeof(**out));
	for (i = 0; i < count && rc == 0; i++) {
		struct md_buf data = MD_BUF_INIT, dest = MD_BUF_INIT,
			      link = MD_BUF_INIT;
		char *src = md_path_join(outdir, names[i]), digest[MD_HASH_HEX];
		const char *dot = strrchr(names[i], '.');
		const char *slash = strrchr(names[i], '/');
		char ext[16] = "";

		if (dot && (!slash || dot > slash) && strlen(dot) < sizeof(ext) &&
		    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
			    strlen(dot + 1))
			snprintf(ext, sizeof(ext), "%s", dot);
		if ((rc = md_fs_read(&data, src)) == 0) {
			md_hash_bytes(digest, data.ptr ? data.ptr : "",
				      data.len);
			md_buf_printf(&dest, "%s/%.16s%s", files, digest, ext);
			md_buf_printf(&link, "%s/%.16s%s", href, digest, ext);
			if (!md_fs_exists(dest.ptr))
				rc = md_fs_write_atomic(dest.ptr, data.ptr
								  ? data.ptr
								  : "",
							data.len, 0644);
		}
		(*out)[i].name = names[i];
		(*out)[i].href = md_buf_detach(&link);
		(*out)[i].image = is_image(names[i]);
		names[i] = NULL;
		(*n)++;
		free(src);
		md_buf_dispose(&data);
		md_buf_dispose(&dest);
	}
done:
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(outdir);
	return rc;
}

static void
free_files(struct render_output *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].nfiles; k++) {
			free((char *)v[i].files[k].name);
			free((char *)v[i].files[k].href);
		}
		free((struct render_file *)v[i].files);
	}
}

/* The render_output views of an outcome's realizations. */
static struct render_output *
views(const struct md_outcome *oc, char ***labels, struct store *s,
      const char *key, const char *files, const char *href)
{
	struct render_output *v = md_calloc(oc->n, sizeof(*v));
	size_t i;

	/* NULL-terminated; empty when there is one realization. */
	*labels = md_calloc(oc->n + 1, sizeof(**labels));
	for (i = 0; i < oc->n; i++) {
		const struct store_real *r = &oc->reals[i];
		struct render_file *f = NULL;
		size_t nf = 0;
		char *dir = store_real_dir(s, key, r->rhash);

		v[i].out = r->out.ptr;
		v[i].out_len = r->out.len;
		v[i].err = r->err.ptr;
		v[i].err_len = r->err.len;
		v[i].exit_code = r->exit_code;
		v[i].signal = r->signal;
		v[i].timed_out = r->timed_out;
		if (place_files(&f, &nf, dir, files, href) < 0)
			fprintf(stderr, "mdrun: warning: %s\n", md_err_msg());
		v[i].files = f;
		v[i].nfiles = nf;
		free(dir);
		if (oc->n > 1) {
			struct md_buf l = MD_BUF_INIT;
			md_buf_printf(&l, "*realization %zu of %zu (%.12s)*",
				      i + 1, oc->n, r->rhash);
			v[i].label = (*labels)[i] = md_buf_detach(&l);
		}
	}
	return v;
}

int
cmd_render(int argc, char **argv)
{
	struct args a;
	struct cli_doc d;
	struct md_buf text = MD_BUF_INIT, msg = MD_BUF_INIT;
	struct store *store = NULL;
	struct render_block *blocks = NULL;
	struct render_output **view = NULL;
	char ***labels = NULL;
	char (*keys)[MD_HASH_HEX] = NULL;
	char *commit = NULL, *file = NULL, *notes = NULL, *files = NULL,
	     *href = NULL;
	struct md_outcome **shown = NULL;
	bool dirty = false, found = false;
	size_t i, j, ran = 0, failed = 0, cached = 0, not_run = 0;
	const char **skip = NULL;
	bool *bad = NULL;
	struct md_sched *scheduled = NULL;
	int rc, lock = -1, exit_code = MD_EXIT_USAGE;

	if ((rc = parse_args(&a, argc, argv)) != 0)
		return rc;
	if (cli_doc_load(&d, a.input, a.all ? MD_DOC_ALL : 0, a.config) < 0 ||
	    cli_store_open(&store, a.store, d.dir) < 0 ||
	    (lock = store_lock_store(store, false)) < 0 ||
	    cli_doc_plan(&d, store) < 0) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	for (i = 0; a.rebuild_one && i < d.plan.n; i++)
		found |= !strcmp(d.plan.stages[i].block->name, a.rebuild_one);
	if (a.rebuild_one && !found) {
		cli_error("--rebuild=%s: %s has no block named '%s'",
			  a.rebuild_one, d.name, a.rebuild_one);
		goto done;
	}
	if (d.workdir && d.path && (file = md_path_relative(d.workdir, d.path)))
		md_git_provenance(&commit, &dirty, d.workdir, file);

	files_place(&files, &href, &a, d.dir);
	view = md_calloc(d.plan.n, sizeof(*view));
	labels = md_calloc(d.plan.n, sizeof(*labels));
	keys = md_calloc(d.plan.n, sizeof(*keys));
	shown = md_calloc(d.plan.n, sizeof(*shown));
	skip = md_calloc(d.plan.n, sizeof(*skip));
	bad = md_calloc(d.plan.n, sizeof(*bad));
	blocks = md_calloc(d.doc->nblocks, sizeof(*blocks));
	struct md_exec_opts eo = {
		d.dir, d.name, a.timeout, a.cap, commit, dirty,
		a.rebuild, a.rebuild_one, a.quiet ? NULL : progress, &a,
	};
	struct report rp;
	struct md_sched sc;
	memset(&rp, 0, sizeof(rp));
	rp.a = &a;
	rp.d = &d;
	pthread_mutex_init(&rp.mu, NULL);
	rp.since = md_calloc(d.plan.n + 1, sizeof(*rp.since));
	rp.ticking = a.tty &&
		     pthread_create(&rp.ticker, NULL, tick, &rp) == 0;
	memset(&sc, 0, sizeof(sc));
	sc.store = store;
	sc.plan = &d.plan;
	sc.opts = &eo;
	sc.jobs = a.jobs;
	sc.keep_going = a.keep_going;
	sc.started = started;
	sc.finished = finished;
	sc.ctx = &rp;
	scheduled = &sc;
	rc = md_sched_run(&sc);
	if (rp.ticking) {
		pthread_mutex_lock(&rp.mu);
		rp.ticking = false;
		pthread_mutex_unlock(&rp.mu);
		pthread_join(rp.ticker, NULL);
	}
	free(rp.since);
	pthread_mutex_destroy(&rp.mu);
	live_clear(&a);
	if (rc < 0) {
		md_buf_dispose(&rp.msg);
		cli_error("%s", md_err_msg());
		goto done;
	}
	ran = rp.ran;
	cached = rp.cached;
	failed = rp.failed;
	md_buf_dispose(&rp.msg);
	for (i = 0; i < d.plan.n; i++) {
		shown[i] = (struct md_outcome *)sc.shown[i];
		skip[i] = sc.skipped[i];
		if (skip[i]) {
			struct render_block *rb =
				&blocks[d.plan.stages[i].block - d.doc->blocks];
			rb->present = true;
			rb->note = skip[i];
		}
	}
	/*
	 * Views only now: a session that replays may still have redone an
	 * earlier block's outcome after it was first reported.
	 */
	for (i = 0; i < d.plan.n; i++) {
		struct md_stage *st = &d.plan.stages[i];
		struct render_block *rb = &blocks[st->block - d.doc->blocks];

		memcpy(keys[i], skip[i] ? "" : st->key,
		       skip[i] ? 1 : MD_HASH_HEX);
		if (skip[i])
			continue;
		view[i] = views(shown[i], &labels[i], store, st->key, files,
				href);
		rb->present = true;
		rb->reals = view[i];
		rb->n = shown[i]->n;
	}
	render_markdown(&text, d.doc, blocks,
			same_file(&a) ? RENDER_KEEP_CODE : 0);
	if (write_output(&a, &text) < 0 ||
	    (d.path && store_root_write(store, d.path, keys, d.plan.n,
					notes = cli_stage_notes(&d)) < 0) ||
	    (ran && store_sync(store) < 0)) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	for (i = 0; i < d.plan.n; i++)
		not_run += skip[i] != NULL;
	if (!a.quiet && not_run)
		fprintf(stderr, "mdrun: %zu blocks: %zu ran, %zu cached, "
				"%zu failed, %zu not run\n",
			d.plan.n, ran, cached, failed, not_run);
	else if (!a.quiet)
		fprintf(stderr, "mdrun: %zu blocks: %zu ran, %zu cached, "
				"%zu failed\n",
			d.plan.n, ran, cached, failed);
	exit_code = failed ? MD_EXIT_FAILED : MD_EXIT_OK;
done:
	md_exec_finish();
	for (i = 0; view && i < d.plan.n; i++) {
		for (j = 0; labels[i] && j < nlabels(labels[i]); j++)
			free(labels[i][j]);
		free(labels[i]);
		if (view[i] && shown[i])
			free_files(view[i], shown[i]->n);
		free(view[i]);
	}
	free(shown);
	free(skip);
	free(bad);
	if (scheduled)
		md_sched_dispose(scheduled);
	free(labels);
	free(view);
	free(keys);
	free(blocks);
	free(commit);
	free(file);
	free(notes);
	free(files);
	free(href);
	store_unlock(lock);
	store_close(store);
	cli_doc_dispose(&d);
	md_buf_dispose(&text);
	md_buf_dispose(&msg);
	return exit_code;
}
