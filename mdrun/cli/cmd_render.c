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
#include "../core/exec.h"
#include "../core/git.h"
#include "../core/proc.h"
#include "../core/sched.h"
#include "../../renderer/render.h"
#include "../../renderer/report.h"
#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/hash.h"


int
cli_parse_timeout(double *out, const char *s)
{
	char *end;

	*out = strtod(s, &end);
	if (!*s || *end || !(*out > 0))
		return cli_usage_error("--timeout needs a number of seconds > 0");
	return 0;
}

int
cli_parse_size(size_t *out, const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (!*s || *end || v < 1 || v > (1ULL << 32))
		return cli_usage_error("--max-output needs a size in bytes (K, "
				       "M allowed), 1 to 4G");
	*out = (size_t)v;
	return 0;
}

int
cli_parse_jobs(int *out, const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (!*s || *end || n < 1 || n > 256)
		return cli_usage_error("-j needs a number of jobs from 1 to 256");
	*out = (int)n;
	return 0;
}

void
cli_render_defaults(struct cli_render_opts *a)
{
	memset(a, 0, sizeof(*a));
	a->timeout = MD_EXEC_TIMEOUT;
	a->cap = MD_EXEC_CAP;
	a->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (a->jobs < 1)
		a->jobs = 1;
}

int
cli_render_option(struct cli_render_opts *a, int argc, char **argv, int *i)
{
	const char *s = argv[*i], *t;
	int k;

	if ((k = cli_option_value(&a->store, argc, argv, i, "--store")) ||
	    (k = cli_option_value(&a->config, argc, argv, i, "--config")))
		return k;
	if ((k = cli_option_value(&t, argc, argv, i, "--timeout")))
		return k < 0 || cli_parse_timeout(&a->timeout, t) ? -1 : 1;
	if ((k = cli_option_value(&t, argc, argv, i, "--max-output")))
		return k < 0 || cli_parse_size(&a->cap, t) ? -1 : 1;
	if ((k = cli_option_value(&t, argc, argv, i, "-j")) ||
	    (k = cli_option_value(&t, argc, argv, i, "--jobs")))
		return k < 0 || cli_parse_jobs(&a->jobs, t) ? -1 : 1;
	if (!strncmp(s, "-j", 2) && s[2])
		return cli_parse_jobs(&a->jobs, s + 2) ? -1 : 1;
	if (!strcmp(s, "--all"))
		a->all = true;
	else if (!strcmp(s, "-q") || !strcmp(s, "--quiet"))
		a->quiet = true;
	else
		return 0;
	return 1;
}

static const char *const formats[] = { "markdown", "html", "json", "ipynb" };

/* The format named, or the one -o's extension says; -1 when unknown. */
static int
format_of(const char *to, const char *output)
{
	static const char *const ext[] = { ".md", ".html", ".json", ".ipynb" };
	const char *dot = output ? strrchr(output, '.') : NULL;

	for (int f = 0; f < 4; f++)
		if (to ? !strcmp(to, formats[f])
		       : dot && !strcasecmp(dot, ext[f]))
			return f;
	if (to && !strcmp(to, "md"))
		return CLI_MARKDOWN;
	if (!to && dot && !strcasecmp(dot, ".htm"))
		return CLI_HTML;
	return to ? -1 : CLI_MARKDOWN;
}

static int
parse_args(struct cli_render_opts *a, int argc, char **argv)
{
	const char *to = NULL;
	int i, k, f;

	cli_render_defaults(a);
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if ((k = cli_render_option(a, argc, argv, &i)) ||
		    (k = cli_option_value(&a->output, argc, argv, &i,
					  "--output")) ||
		    (k = cli_option_value(&a->output, argc, argv, &i, "-o"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if ((k = cli_option_value(&to, argc, argv, &i,
						 "--to"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if (!strcmp(s, "--unsafe-html")) {
			a->unsafe_html = true;
		} else if (!strncmp(s, "--rebuild=", 10)) {
			a->rebuild_one = s + 10;
		} else if (!strcmp(s, "--rebuild")) {
			a->rebuild = true;
		} else if (!strcmp(s, "-i") || !strcmp(s, "--in-place")) {
			a->in_place = true;
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
	if ((f = format_of(to, a->output)) < 0)
		return cli_usage_error("--to %s: the formats are markdown, "
				       "html, json and ipynb", to);
	a->format = (enum cli_format)f;
	if (a->in_place && a->format != CLI_MARKDOWN)
		return cli_usage_error("-i rewrites the Markdown document; "
				       "write --to %s with -o", formats[f]);
	if (a->unsafe_html && a->format != CLI_HTML)
		return cli_usage_error("--unsafe-html is for --to html");
	if (a->output && !strcmp(a->output, "-"))
		a->output = NULL;
	a->tty = !a->quiet && isatty(2);
	a->per_block = !a->quiet;
	return 0;
}

static int
write_output(const struct cli_render_opts *a, const struct md_buf *text)
{
	const char *path = a->in_place ? a->input : a->output;
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
	return md_fs_write_output(path, text->ptr, text->len, mode);
}

/*
 * Can the output be written? Said before anything runs, so that a typo in
 * -o costs no run: an existing file (or device) must be writable, else
 * its folder must exist and be writable.
 */
static int
check_output(const struct cli_render_opts *a)
{
	const char *path = a->in_place ? a->input : a->output;
	struct stat sb;
	char *dir;
	int rc = 0;

	if (!path)
		return 0;
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return md_err_set("%s: is a folder", path);
		if (access(path, W_OK) < 0)
			return md_err_sys("%s", path);
		if (!S_ISREG(sb.st_mode))
			return 0; /* a device or fifo: written in place */
	}
	dir = md_path_dirname(path);
	if (stat(dir, &sb) < 0)
		rc = md_err_set("%s: the folder %s does not exist", path, dir);
	else if (!S_ISDIR(sb.st_mode))
		rc = md_err_set("%s: %s is not a folder", path, dir);
	else if (access(dir, W_OK | X_OK) < 0)
		rc = md_err_set("%s: the folder %s is not writable", path, dir);
	free(dir);
	return rc;
}

/* Does the output overwrite the input (-i, or -o naming the same file)? */
static bool
same_file(const struct cli_render_opts *a)
{
	struct stat in, out;

	if (a->in_place)
		return true;
	if (!a->output || !strcmp(a->input, "-"))
		return false;
	return stat(a->input, &in) == 0 && stat(a->output, &out) == 0 &&
	       in.st_dev == out.st_dev && in.st_ino == out.st_ino;
}

void
cli_describe_failure(struct md_buf *out, const struct store_real *r)
{
	if (r->exit.timed_out)
		md_buf_puts(out, "timed out");
	else if (r->exit.signal)
		md_buf_printf(out, "killed by signal %d", r->exit.signal);
	else
		md_buf_printf(out, "exit %d", r->exit.code);
}
/*
 * What the scheduler's callbacks count and print. The live line on a
 * terminal is redrawn when a block starts or ends, and every 250 ms by a
 * ticker thread, so a long block shows its elapsed time.
 */
struct progress {
	const struct cli_render_opts *a;
	const struct cli_doc *d;
	size_t done, cached;
	struct md_buf msg;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* the render is over: the ticker stops */
	double *since; /* per stage: when it started, 0 when not running */
	double *told;  /* per stage: when "still running" was last said */
	bool ticking;
	pthread_t ticker;
};

/*
 * Off a terminal, a block running longer than HEARTBEAT_FIRST seconds is
 * named every HEARTBEAT_EVERY seconds, so that a CI log is never silent
 * for minutes.
 */
#define HEARTBEAT_FIRST 10.0
#define HEARTBEAT_EVERY 30.0

static void
live_clear(const struct cli_render_opts *a)
{
	if (a->tty)
		fputs("\r\033[K", stderr);
}

/* The live line: done/total, cached, running blocks and their times. */
static void
live(struct progress *rp)
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

/* The "still running" lines off a terminal. Under the lock. */
static void
heartbeat(struct progress *rp)
{
	double now = md_mono();

	for (size_t i = 0; i < rp->d->plan.n; i++) {
		const struct md_block *b = rp->d->plan.stages[i].block;
		double ran = now - rp->since[i];

		if (rp->since[i] <= 0 || ran < HEARTBEAT_FIRST ||
		    (rp->told[i] > 0 && now - rp->told[i] < HEARTBEAT_EVERY))
			continue;
		rp->told[i] = now;
		fprintf(stderr, "mdrun: still running %s (%s:%d) after %.0f s\n",
			b->name, rp->d->name, b->line, ran);
	}
}

static void *
tick(void *arg)
{
	struct progress *rp = arg;

	pthread_mutex_lock(&rp->mu);
	while (rp->ticking) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rp->cv, &rp->mu, &ts);
		if (!rp->ticking)
			break;
		if (rp->a->tty)
			live(rp);
		else
			heartbeat(rp);
	}
	pthread_mutex_unlock(&rp->mu);
	return NULL;
}

static void
started(size_t i, void *ctx)
{
	struct progress *rp = ctx;

	pthread_mutex_lock(&rp->mu);
	rp->since[i] = md_mono();
	rp->told[i] = 0;
	live(rp);
	pthread_mutex_unlock(&rp->mu);
}

static void
finished(size_t i, const struct md_outcome *oc, void *ctx)
{
	struct progress *rp = ctx;
	const struct md_stage *st = &rp->d->plan.stages[i];
	const char *name = rp->d->name;

	pthread_mutex_lock(&rp->mu);
	rp->since[i] = 0;
	rp->done++;
	rp->cached += oc->ran == 0 && !oc->replayed;
	md_buf_clear(&rp->msg);
	if (oc->failed) {
		cli_describe_failure(&rp->msg, &oc->reals[0]);
		live_clear(rp->a);
		fprintf(stderr, "%s:%d: block %s failed (%s)\n", name,
			st->block->line, st->block->name, rp->msg.ptr);
	} else if (rp->a->per_block && !rp->a->tty) {
		if (oc->ran || oc->replayed)
			fprintf(stderr, "mdrun: %s %s (%s:%d) in %.0f ms\n",
				oc->ran ? "ran" : "replayed", st->block->name,
				name, st->block->line, oc->ms);
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

static void
warning(const char *msg, void *ctx)
{
	live_clear(ctx);
	fprintf(stderr, "%s\n", msg);
}

/* The media type of an artifact, from its extension; NULL: unknown. */
static const char *
mime_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".png", "image/png" },     { ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" },   { ".gif", "image/gif" },
		{ ".svg", "image/svg+xml" }, { ".webp", "image/webp" },
		{ ".csv", "text/csv" },	     { ".txt", "text/plain" },
		{ ".json", "application/json" },
		{ ".html", "text/html" },    { ".pdf", "application/pdf" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
		if (!strcasecmp(dot, types[i][0]))
			return types[i][1];
	return NULL;
}

static bool
is_image(const char *name)
{
	const char *t = mime_type(name);

	return t && !strncmp(t, "image/", 6);
}

/*
 * Where a document's files go: FILE_files/ beside the output (or beside
 * the input when the output is standard output), and the prefix links use.
 */
static void
files_place(char **dir, char **href, const struct cli_render_opts *a, const char *dir0)
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

/* Where artifacts go, and (dry) which of them are not there. */
struct files {
	char *dir, *href;
	bool dry;
	char **missing;
	size_t nmissing;
};

/*
 * Copies the artifacts of realization dir into fp->dir (content-addressed
 * names: a file is written once, whole), or when fp->dry notes those not
 * there, and describes them for the renderer. *out and each name and
 * href are the caller's to free.
 */
static int
place_files(struct render_file **out, size_t *n, const char *real,
	    struct files *fp)
{
	char *outdir = md_path_join(real, "out");
	char **names = NULL;
	size_t count = 0, i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = md_fs_list(&names, &count, outdir)) < 0 || count == 0)
		goto done;
	if (!fp->dry && (rc = md_fs_mkdirs(fp->dir, 0755)) < 0)
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
		if ((rc = md_fs_read_regular(&data, src, 0)) == 0) {
			md_hash_bytes(digest, data.ptr ? data.ptr : "",
				      data.len);
			md_buf_printf(&dest, "%s/%.16s%s", fp->dir, digest,
				      ext);
			md_buf_printf(&link, "%s/%.16s%s", fp->href, digest,
				      ext);
			if (md_fs_exists(dest.ptr))
				;
			else if (fp->dry)
				md_strv_push(&fp->missing, &fp->nmissing,
					     md_buf_detach(&dest));
			else
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
      const char *key, struct files *fp)
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
		v[i].exit_code = r->exit.code;
		v[i].signal = r->exit.signal;
		v[i].timed_out = r->exit.timed_out;
		if (place_files(&f, &nf, dir, fp) < 0)
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

/* A block's status in a report (see renderer/report.h). */
static const char *
status_of(const struct md_outcome *oc, enum md_skip why)
{
	const struct store_real *last;

	if (why)
		return why == MD_SKIP_UPSTREAM ? "skipped" : "not-run";
	last = &oc->reals[oc->n - 1];
	if (last->exit.timed_out)
		return "timeout";
	return last->exit.signal || last->exit.code ? "failed" : "ok";
}

/* The artifacts of realization dir, with their bytes. */
static void
report_files(struct report_real *rr, const char *dir)
{
	char *outdir = md_path_join(dir, "out");
	char **names = NULL;
	size_t count = 0;
	struct report_file *f;

	if (md_fs_list(&names, &count, outdir) < 0 || count == 0)
		goto done;
	f = md_calloc(count, sizeof(*f));
	for (size_t i = 0; i < count; i++) {
		struct md_buf data = MD_BUF_INIT;
		char *path = md_path_join(outdir, names[i]);

		if (md_fs_read_regular(&data, path, 0) < 0) {
			fprintf(stderr, "mdrun: warning: %s\n", md_err_msg());
			free(path);
			continue;
		}
		md_buf_put(&data, "", 0);
		f[rr->nfiles].name = md_strdup(names[i]);
		f[rr->nfiles].mime = mime_type(names[i]);
		f[rr->nfiles].len = data.len;
		f[rr->nfiles].data = md_buf_detach(&data);
		f[rr->nfiles].path = path;
		rr->nfiles++;
	}
	rr->files = f;
done:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(outdir);
}

static void
report_reals_free(struct report_real *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		for (size_t k = 0; k < v[i].nfiles; k++) {
			free((char *)v[i].files[k].name);
			free((char *)v[i].files[k].data);
			free((char *)v[i].files[k].path);
		}
		free((struct report_file *)v[i].files);
	}
	free(v);
}

/* Renders r's document and results as an HTML, JSON or ipynb report. */
static void
report(struct cli_render *r, const struct cli_render_opts *a)
{
	const struct md_doc *doc = r->d.doc;
	struct report_block *rb = md_calloc(doc->nblocks + 1, sizeof(*rb));
	struct report_real **reals = md_calloc(r->d.plan.n + 1, sizeof(*reals));
	char **notes = md_calloc(r->d.plan.n + 1, sizeof(*notes));
	struct report rep = { doc, r->d.name, rb,
			      a->unsafe_html ? REPORT_UNSAFE_HTML : 0 };
	size_t i, k;

	for (i = 0; i < doc->nblocks; i++)
		rb[i].block = &doc->blocks[i];
	for (i = 0; i < r->d.plan.n; i++) {
		const struct md_stage *st = &r->d.plan.stages[i];
		const struct md_outcome *oc = r->shown[i];
		struct report_block *b = &rb[st->block - doc->blocks];

		b->status = status_of(oc, r->why[i]);
		b->key = r->skipped[i] ? "" : st->key;
		b->error_ok = st->block->error_ok;
		b->interpreter = st->identity;
		if (r->skipped[i]) {
			/* The Markdown note is in italics: "*not run: ...*". */
			const char *w = r->skipped[i];
			size_t len = strlen(w);
			if (len >= 2 && w[0] == '*' && w[len - 1] == '*')
				w++, len -= 2;
			b->note = notes[i] = md_strndup(w, len);
		}
		if (!oc)
			continue;
		b->cached = oc->ran == 0;
		reals[i] = md_calloc(oc->n, sizeof(**reals));
		for (k = 0; k < oc->n; k++) {
			const struct store_real *sr = &oc->reals[k];
			struct report_real *rr = &reals[i][k];

			rr->rhash = sr->rhash;
			rr->out = sr->out.ptr;
			rr->out_len = sr->out.len;
			rr->err = sr->err.ptr;
			rr->err_len = sr->err.len;
			rr->exit_code = sr->exit.code;
			rr->signal = sr->exit.signal;
			rr->timed_out = sr->exit.timed_out;
			rr->start = sr->start;
			rr->end = sr->end;
			char *dir = store_real_dir(r->store, st->key,
						   sr->rhash);
			report_files(rr, dir);
			free(dir);
		}
		b->reals = reals[i];
		b->n = oc->n;
	}
	if (a->format == CLI_HTML)
		render_html(&r->text, &rep);
	else if (a->format == CLI_JSON)
		render_json(&r->text, &rep);
	else
		render_ipynb(&r->text, &rep);
	for (i = 0; i < r->d.plan.n; i++)
		report_reals_free(reals[i], r->shown[i] ? r->shown[i]->n : 0);
	free(reals);
	for (i = 0; i < r->d.plan.n; i++)
		free(notes[i]);
	free(notes);
	free(rb);
}

void
cli_render_summary(struct md_buf *out, const struct cli_render *r)
{
	size_t n = r->d.plan.n;

	md_buf_printf(out, "%zu block%s: %zu ran, ", n, n == 1 ? "" : "s",
		      r->ran);
	if (r->replayed)
		md_buf_printf(out, "%zu replayed, ", r->replayed);
	md_buf_printf(out, "%zu cached, %zu failed", r->cached, r->failed);
	if (r->not_run)
		md_buf_printf(out, ", %zu not run", r->not_run);
}

/* What a render keeps until it is disposed. */
struct cli_render_state {
	struct md_sched sc;
	bool scheduled;
	struct render_output **view;
	char ***labels;
	struct files files;
	int lock;
};

/* Runs the scheduler with the progress reporter; 0 or -1 (message set). */
static int
realize(struct cli_render *r, const struct cli_render_opts *a,
	const struct md_exec_opts *eo)
{
	struct md_sched *sc = &r->state->sc;
	struct progress rp;
	int rc;

	memset(&rp, 0, sizeof(rp));
	rp.a = a;
	rp.d = &r->d;
	pthread_mutex_init(&rp.mu, NULL);
	pthread_cond_init(&rp.cv, NULL);
	rp.since = md_calloc(r->d.plan.n + 1, sizeof(*rp.since));
	rp.told = md_calloc(r->d.plan.n + 1, sizeof(*rp.told));
	rp.ticking = (a->tty || a->per_block) &&
		     pthread_create(&rp.ticker, NULL, tick, &rp) == 0;
	memset(sc, 0, sizeof(*sc));
	sc->store = r->store;
	sc->plan = &r->d.plan;
	sc->opts = eo;
	sc->jobs = a->jobs;
	sc->keep_going = a->keep_going;
	sc->started = started;
	sc->finished = finished;
	sc->ctx = &rp;
	r->state->scheduled = true;
	rc = md_sched_run(sc);
	if (rp.ticking) {
		pthread_mutex_lock(&rp.mu);
		rp.ticking = false;
		pthread_cond_signal(&rp.cv);
		pthread_mutex_unlock(&rp.mu);
		pthread_join(rp.ticker, NULL);
	}
	live_clear(a);
	free(rp.since);
	free(rp.told);
	md_buf_dispose(&rp.msg);
	pthread_cond_destroy(&rp.cv);
	pthread_mutex_destroy(&rp.mu);
	return rc;
}

/* Writes the root record of a render (in a thread of its own). */
struct recorder {
	struct cli_render *r;
	char (*keys)[MD_HASH_HEX];
	size_t n;
	pthread_t t;
	bool started, done;
	int rc;
	char why[1024];
};

static void *
record(void *arg)
{
	struct recorder *rec = arg;
	char *notes = cli_stage_notes(&rec->r->d, rec->r->shown);

	rec->rc = store_root_write(rec->r->store, rec->r->d.path, rec->keys,
				   rec->n, notes);
	if (rec->rc < 0)
		snprintf(rec->why, sizeof(rec->why), "%s", md_err_msg());
	free(notes);
	return NULL;
}

/* Waits for the root record, once; its error becomes this thread's. */
static int
finish_record(struct recorder *rec)
{
	if (rec->started && !rec->done)
		pthread_join(rec->t, NULL);
	if (rec->done || rec->rc == 0) {
		rec->done = true;
		return 0;
	}
	rec->done = true;
	return md_err_set("%s", rec->why);
}

int
cli_render_run(struct cli_render *r, const struct cli_render_opts *a)
{
	struct cli_render_state *x;
	struct render_block *blocks = NULL;
	char (*keys)[MD_HASH_HEX] = NULL;
	char *commit = NULL, *file = NULL;
	struct recorder rec = { .done = false };
	bool dirty = false, found = false;
	size_t i, n;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	x = r->state = md_calloc(1, sizeof(*r->state));
	x->lock = -1;
	if (cli_doc_open(&r->d, &r->store, a->input,
			 a->all ? MD_DOC_ALL : 0, a->config, a->store) < 0 ||
	    (x->lock = store_lock_store(r->store, false)) < 0 ||
	    cli_doc_plan(&r->d, r->store) < 0)
		goto done;
	n = r->d.plan.n;
	for (i = 0; a->rebuild_one && i < n; i++)
		found |= !strcmp(r->d.plan.stages[i].block->name,
				 a->rebuild_one);
	if (a->rebuild_one && !found) {
		md_err_set("--rebuild=%s: %s has no block named '%s'",
			   a->rebuild_one, r->d.name, a->rebuild_one);
		goto done;
	}
	if (a->prev_notes && r->d.path)
		store_root_notes(&r->prev_notes, r->store, r->d.path);
	if (r->d.workdir && r->d.path &&
	    (file = md_path_relative(r->d.workdir, r->d.path)))
		md_git_provenance(&commit, &dirty, r->d.workdir, file);

	files_place(&x->files.dir, &x->files.href, a, r->d.dir);
	x->files.dry = a->files_dry;
	struct md_exec_opts eo = {
		.cwd = r->d.dir,
		.document = r->d.name,
		.shown = r->d.shown,
		.timeout = a->timeout,
		.cap = a->cap,
		.git_commit = commit,
		.git_dirty = dirty,
		.rebuild = a->rebuild,
		.rebuild_one = a->rebuild_one,
		.later = true,
		.note = a->quiet || !a->per_block ? NULL : progress,
		.warn = a->quiet ? NULL : warning,
		.ctx = (void *)a,
	};
	if (realize(r, a, &eo) < 0)
		goto done;

	/*
	 * Views only now: a session that replays may still have redone an
	 * earlier block's outcome after it was first reported.
	 */
	r->shown = x->sc.shown;
	r->skipped = x->sc.skipped;
	r->why = x->sc.why;
	keys = md_calloc(n, sizeof(*keys));
	for (i = 0; i < n; i++) {
		const struct md_outcome *oc = r->shown[i];

		/* Counted from what the document shows, not as blocks ended. */
		r->not_run += oc == NULL;
		r->ran += oc && oc->ran;
		r->replayed += oc && !oc->ran && oc->replayed;
		r->cached += oc && !oc->ran && !oc->replayed;
		r->failed += oc && oc->failed;
		if (oc)
			memcpy(keys[i], r->d.plan.stages[i].key, MD_HASH_HEX);
	}
	/* Cached runs, read in parallel now that all are known. */
	if (md_outcomes_load(r->shown, r->d.plan.n, a->jobs) < 0)
		goto done;
	/* The root record is written while the outputs are shown. */
	rec = (struct recorder){ .r = r, .keys = keys, .n = n };
	rec.started = r->d.path &&
		      pthread_create(&rec.t, NULL, record, &rec) == 0;
	if (a->format != CLI_MARKDOWN) {
		report(r, a);
		goto written;
	}
	x->view = md_calloc(n, sizeof(*x->view));
	x->labels = md_calloc(n, sizeof(*x->labels));
	blocks = md_calloc(r->d.doc->nblocks, sizeof(*blocks));
	for (i = 0; i < n; i++) {
		struct md_stage *st = &r->d.plan.stages[i];
		struct render_block *rb = &blocks[st->block - r->d.doc->blocks];

		rb->present = true;
		if (r->skipped[i]) {
			rb->note = r->skipped[i];
			continue;
		}
		x->view[i] = views(r->shown[i], &x->labels[i], r->store,
				   st->key, &x->files);
		rb->reals = x->view[i];
		rb->n = r->shown[i]->n;
	}
	size_t (*spans)[2] = md_calloc(r->d.doc->nblocks + 1, sizeof(*spans));
	render_markdown(&r->text, r->d.doc, blocks,
			same_file(a) ? RENDER_KEEP_CODE : 0, spans);
	r->spans = md_calloc(n + 1, sizeof(*r->spans));
	for (i = 0; i < n; i++)
		memcpy(r->spans[i],
		       spans[r->d.plan.stages[i].block - r->d.doc->blocks],
		       sizeof(*spans));
	free(spans);
written:
	r->missing = x->files.missing;
	r->nmissing = x->files.nmissing;
	if (r->d.path && !rec.started)
		record(&rec);
	if (finish_record(&rec) < 0 || (r->ran && store_sync(r->store) < 0))
		goto done;
	rc = 0;
done:
	finish_record(&rec);
	md_exec_finish();
	free(keys);
	free(blocks);
	free(commit);
	free(file);
	return rc;
}

void
cli_render_dispose(struct cli_render *r)
{
	struct cli_render_state *x = r->state;
	size_t i;

	for (i = 0; x && x->view && i < r->d.plan.n; i++) {
		md_strv_free(x->labels[i]);
		if (x->view[i])
			free_files(x->view[i], r->shown[i]->n);
		free(x->view[i]);
	}
	if (x) {
		if (x->scheduled)
			md_sched_dispose(&x->sc);
		free(x->labels);
		free(x->view);
		md_strv_free(x->files.missing);
		free(x->files.dir);
		free(x->files.href);
		store_unlock(x->lock);
		free(x);
	}
	free(r->spans);
	store_close(r->store);
	cli_doc_dispose(&r->d);
	md_buf_dispose(&r->text);
	md_buf_dispose(&r->prev_notes);
	memset(r, 0, sizeof(*r));
}

int
cmd_render(int argc, char **argv)
{
	struct cli_render_opts a;
	struct cli_render r;
	int rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(cli_usage, stdout);
			return MD_EXIT_OK;
		}
	if ((rc = parse_args(&a, argc, argv)) != 0)
		return rc;
	if (check_output(&a) < 0)
		return cli_error("%s", md_err_msg());
	if (cli_render_run(&r, &a) < 0 || write_output(&a, &r.text) < 0) {
		cli_error("%s", md_err_msg());
		cli_render_dispose(&r);
		return MD_EXIT_USAGE;
	}
	if (!a.quiet) {
		struct md_buf sum = MD_BUF_INIT;

		cli_render_summary(&sum, &r);
		fprintf(stderr, "mdrun: %s\n", sum.ptr);
		md_buf_dispose(&sum);
	}
	rc = r.failed ? MD_EXIT_FAILED : MD_EXIT_OK;
	cli_render_dispose(&r);
	return rc;
}
