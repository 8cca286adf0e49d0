/* mdrun render: arguments in, the notebook run, the output written. */
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
cli_parse_size(size_t *out, const char *s, const char *opt)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (!*s || *end || v < 1 || v > (1ULL << 32))
		return cli_usage_error("%s needs a size in bytes (K, M "
				       "allowed), 1 to 4G", opt);
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

static int
parse_color(enum cli_color *out, const char *s)
{
	if (!strcmp(s, "auto"))
		*out = CLI_COLOR_AUTO;
	else if (!strcmp(s, "always"))
		*out = CLI_COLOR_ALWAYS;
	else if (!strcmp(s, "never"))
		*out = CLI_COLOR_NEVER;
	else
		return cli_usage_error("--color needs auto, always or never");
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
		return k < 0 || cli_parse_size(&a->cap, t, "--max-output") ? -1
									  : 1;
	if ((k = cli_option_value(&t, argc, argv, i, "--max-write")))
		return k < 0 || cli_parse_size(&a->write_max, t,
					       "--max-write") ? -1 : 1;
	if ((k = cli_option_value(&t, argc, argv, i, "-j")) ||
	    (k = cli_option_value(&t, argc, argv, i, "--jobs")))
		return k < 0 || cli_parse_jobs(&a->jobs, t) ? -1 : 1;
	if (!strncmp(s, "-j", 2) && s[2])
		return cli_parse_jobs(&a->jobs, s + 2) ? -1 : 1;
	if (!strcmp(s, "--all"))
		a->all = true;
	else if (!strcmp(s, "-q") || !strcmp(s, "--quiet"))
		a->quiet = true;
	else if (!strcmp(s, "-v") || !strcmp(s, "--verbose"))
		a->verbose = true;
	else if (!strcmp(s, "--no-track"))
		a->no_track = true;
	else if ((k = cli_option_value(&t, argc, argv, i, "--color")))
		return k < 0 || parse_color(&a->color, t) ? -1 : 1;
	else
		return 0;
	return 1;
}

bool
cli_color(const struct cli_render_opts *a, int fd)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (a->color != CLI_COLOR_AUTO)
		return a->color == CLI_COLOR_ALWAYS;
	return isatty(fd) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}

/* The documents named, as typed (borrowed from argv). */
struct inputs {
	char **v;
	size_t n;
};

static int
parse_args(struct cli_render_opts *a, struct inputs *in, int argc,
	   char **argv)
{
	const char *to = NULL;
	int i, k;

	cli_render_defaults(a);
	in->v = md_calloc((size_t)argc + 1, sizeof(*in->v));
	in->n = 0;
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
		} else {
			in->v[in->n++] = argv[i];
		}
	}
	if (!in->n)
		return cli_usage_error("no document given");
	a->input = in->v[0];
	if (a->in_place && a->output)
		return cli_usage_error("-i and -o cannot be used together");
	for (size_t j = 0; a->in_place && j < in->n; j++)
		if (!strcmp(in->v[j], "-"))
			return cli_usage_error("-i needs a file, not standard "
					       "input");
	/* Without --to, -o's extension says; Markdown by default. */
	if (to)
		a->format = render_format_named(to);
	else if (!a->output || !(a->format = render_format_for_path(a->output)))
		a->format = render_format_named("markdown");
	if (!a->format)
		return cli_usage_error("--to %s: the formats are markdown, "
				       "html, json and ipynb", to);
	if (a->in_place && a->format->render != render_markdown)
		return cli_usage_error("-i rewrites the Markdown document; "
				       "write --to %s with -o",
				       a->format->name);
	if (a->unsafe_html && a->format->render != render_html)
		return cli_usage_error("--unsafe-html is for --to html");
	if (a->output && !strcmp(a->output, "-"))
		a->output = NULL;
	a->tty = !a->quiet && cli_color(a, 2);
	a->per_block = !a->quiet;
	return 0;
}

/* doc's output beside it: its extension (if any) replaced by ext. */
static char *
beside(const char *doc, const char *ext)
{
	const char *dot = strrchr(doc, '.'), *slash = strrchr(doc, '/');
	size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - doc)
						       : strlen(doc);
	struct md_buf b = MD_BUF_INIT;

	md_buf_put(&b, doc, stem);
	md_buf_printf(&b, ".%s", ext);
	return md_buf_detach(&b);
}

/*
 * Several documents (or a folder, or a glob): each is rewritten in place
 * (-i) or written beside itself in the format asked (--to), never to one
 * output.
 */
static int
check_many(const struct cli_render_opts *a, char **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(docs[i], "-"))
			return cli_usage_error("standard input cannot be one of "
					       "several documents");
	if (a->output)
		return cli_usage_error("-o writes one document; with several, "
				       "use -i (each in place) or --to FORMAT "
				       "(each beside itself)");
	if (!a->in_place && a->format->render == render_markdown)
		return cli_usage_error("several documents: use -i to render "
				       "each in place, or --to html, json or "
				       "ipynb to write each beside itself");
	/* a.md and a.qmd would both write a.html. */
	if (!a->in_place) {
		char **outs = md_calloc(n + 1, sizeof(*outs));
		int rc = 0;

		for (size_t i = 0; i < n; i++)
			outs[i] = beside(docs[i], a->format->ext);
		qsort(outs, n, sizeof(*outs), md_strp_cmp);
		for (size_t i = 1; i < n && !rc; i++)
			if (!strcmp(outs[i - 1], outs[i]))
				rc = cli_usage_error("two documents would both "
						     "be written to %s",
						     outs[i]);
		md_strv_free(outs);
		return rc;
	}
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
cli_nb_opts(struct md_nb_opts *out, const struct cli_render_opts *a)
{
	memset(out, 0, sizeof(*out));
	out->input = a->input;
	out->doc_flags = a->all ? MD_DOC_ALL : 0;
	out->config = a->config;
	out->store = a->store;
	out->timeout = a->timeout;
	out->cap = a->cap;
	out->jobs = a->jobs;
	out->keep_going = a->keep_going;
	out->no_track = a->no_track;
	out->write_max = a->write_max;
	out->rebuild = a->rebuild;
	out->rebuild_one = a->rebuild_one;
	out->view_flags = a->unsafe_html ? MD_VIEW_UNSAFE_HTML : 0;
}

/*
 * Where a document's files go: FILE_files/ beside the output (or beside
 * the input when the output is standard output), and the prefix links
 * use. Caller frees both.
 */
void
cli_files_place(char **dir, char **href, const struct cli_render_opts *a,
		const char *dir0)
{
	const char *out = a->in_place ? a->input : a->output;
	const char *base = out ? out : strcmp(a->input, "-") ? a->input
							      : "mdrun.md";
	char *copy = md_strdup(base), *dot = strrchr(copy, '.');
	const char *slash = strrchr(copy, '/');
	struct md_buf d = MD_BUF_INIT, h = MD_BUF_INIT;

	if (dot && (!slash || dot > slash))
		*dot = '\0';
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
 * Opens, realizes and renders a's document into text. The Markdown
 * output copies artifacts to FILE_files/ and links them; the reports
 * embed them.
 */
/*
 * -v: the knitr, Quarto and Codebraid options the document gives that
 * mean nothing here, once each, in one line.
 */
static void
report_ignored(const struct md_doc *doc)
{
	struct md_buf seen = MD_BUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < doc->nblocks; i++)
		for (size_t j = 0; j < doc->blocks[i].nopts; j++) {
			const struct md_opt *o = &doc->blocks[i].opts[j];
			struct md_buf key = MD_BUF_INIT;

			if (!o->ignored)
				continue;
			md_buf_printf(&key, ", %s,", o->key);
			if (!seen.len || !strstr(seen.ptr, key.ptr)) {
				md_buf_printf(&seen, "%s%s", seen.len ? "" : ",",
					      key.ptr + 1);
				n++;
			}
			md_buf_dispose(&key);
		}
	if (n) {
		seen.ptr[seen.len - 1] = '\0';
		fprintf(stderr, "mdrun: %s: %s that mean%s nothing here, "
				"ignored:%s\n",
			doc->path, n == 1 ? "an option" : "options",
			n == 1 ? "s" : "", seen.ptr + 1);
	}
	md_buf_dispose(&seen);
}

/*
 * watch: the HTML page reloads itself every 2 s (a meta refresh, so that
 * the page's policy against scripts stays), and shows a new render.
 */
static void
add_refresh(struct md_buf *text)
{
	static const char meta[] = "<meta http-equiv=\"refresh\" content=\"2\">\n";
	const char *head = text->ptr ? strstr(text->ptr, "<head>\n") : NULL;
	struct md_buf b = MD_BUF_INIT;
	size_t at;

	if (!head)
		return;
	at = (size_t)(head - text->ptr) + strlen("<head>\n");
	md_buf_put(&b, text->ptr, at);
	md_buf_puts(&b, meta);
	md_buf_put(&b, text->ptr + at, text->len - at);
	md_buf_dispose(text);
	*text = b;
}

static int
render(struct md_notebook *nb, struct md_buf *text,
       const struct cli_render_opts *a)
{
	struct md_nb_opts o;
	struct cli_progress *p = NULL;
	char *files = NULL, *href = NULL;
	int rc = MD_ERROR;

	cli_nb_opts(&o, a);
	if (a->format->render == render_markdown && same_file(a))
		o.view_flags |= MD_VIEW_KEEP_CODE;
	if (md_nb_open(nb, &o) < 0)
		goto done;
	if (a->verbose && !a->quiet)
		report_ignored(nb->d.doc);
	if (a->format->render == render_markdown) {
		cli_files_place(&files, &href, a, nb->d.dir);
		o.files_dir = files;
		o.files_href = href;
	}
	p = cli_progress_start(a, nb, &o);
	rc = md_nb_realize(nb);
	/* The view warns (an artifact it cannot read) through p: before. */
	if (rc == 0)
		rc = md_nb_view(nb);
	cli_progress_end(p, &o);
	if (rc < 0)
		goto done;
	a->format->render(text, &nb->view);
	if (a->watch && a->format->render == render_html)
		add_refresh(text);
	rc = md_nb_record(nb);
done:
	free(files);
	free(href);
	return rc;
}

/* Adds path (relative to dir, or absolute) to deps, absolute. */
static void
add_dep(struct cli_deps *deps, const char *dir, const char *path, size_t len)
{
	struct md_buf b = MD_BUF_INIT;

	if (!len)
		return;
	if (path[0] != '/')
		md_buf_printf(&b, "%s/", dir);
	md_buf_put(&b, path, len);
	md_strv_push(&deps->paths, &deps->n, md_buf_detach(&b));
}

/*
 * Adds each path of a comma list (relative to dir) to deps; a "/FILE" of
 * an include is the project's, not the root's, and is left out.
 */
static void
add_list(struct cli_deps *deps, const char *dir, const char *list,
	 bool include)
{
	for (const char *p = list, *c; p && *p; p = c ? c + 1 : p + strlen(p)) {
		size_t n;

		c = strchr(p, ',');
		n = c ? (size_t)(c - p) : strlen(p);
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n && !(include && *p == '/'))
			add_dep(deps, dir, p, n);
	}
}

/*
 * What a render of nb depended on, for watch: the document, its config,
 * each block's inputs= files and the files its shown runs read or looked
 * for.
 */
static void
collect_deps(struct cli_deps *deps, const struct md_notebook *nb)
{
	const struct md_nb_doc *d = &nb->d;

	if (d->path)
		add_dep(deps, d->dir, d->path, strlen(d->path));
	if (d->config) {
		add_dep(deps, d->dir, d->config, strlen(d->config));
	} else {
		/* where one would be looked for, should it appear */
		add_dep(deps, d->dir, "mdrun.json", strlen("mdrun.json"));
		if (d->workdir)
			add_dep(deps, d->workdir, "mdrun.json",
				strlen("mdrun.json"));
	}
	/* Included documents: {{< include >}}'s and child='s files. */
	for (size_t i = 0; d->doc && i < d->doc->nincludes; i++)
		add_list(deps, d->dir, d->doc->includes[i].files, true);
	for (size_t i = 0; d->doc && i < d->doc->nblocks; i++) {
		const char *in = md_block_opt(&d->doc->blocks[i], "inputs");
		char *list = in ? md_opt_list(in) : NULL;

		add_list(deps, d->dir, list, false);
		free(list);
		if (d->doc->blocks[i].child)
			add_list(deps, d->dir, d->doc->blocks[i].child, false);
	}
	for (size_t i = 0; nb->view.blocks && d->doc && i < d->doc->nblocks; i++) {
		const struct md_view_block *vb = &nb->view.blocks[i];

		for (size_t r = 0; r < vb->nreals; r++) {
			const char *p = vb->reals[r].reads;
			const char *end = p ? p + vb->reals[r].reads_len : NULL;

			while (p && p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				const char *name = memchr(p, ' ', (size_t)((nl ? nl : end) - p));

				if (!nl)
					nl = end;
				if (name)
					add_dep(deps, d->dir, name + 1,
						(size_t)(nl - name - 1));
				p = nl + 1;
			}
		}
	}
}

/*
 * -i: is the document still what was read? Saved again while it rendered
 * (an editor, a watch), it is not overwritten with outputs of the older
 * text: that would lose the edit.
 */
static int
unchanged(const struct cli_render_opts *a, const struct md_notebook *nb)
{
	const struct md_doc *d = nb->d.doc;
	const char *was = d && d->read ? d->read : d ? d->src : NULL;
	size_t len = d && d->read ? d->read_len : d ? d->len : 0;
	struct md_buf now = MD_BUF_INIT;
	int rc = 0;

	if (!a->in_place || !was)
		return 0;
	if (md_fs_read(&now, a->input) < 0 || now.len != len ||
	    (len && memcmp(now.ptr, was, len)))
		rc = md_err_set("%s: changed while it was rendered; not "
				"written (render it again)", a->input);
	md_buf_dispose(&now);
	return rc;
}

/*
 * render's and watch's arguments: the options into a, the documents they
 * name into *docs (folders and globs expanded), checked for where their
 * outputs go. 0 or an exit code, said.
 */
static int
documents(struct cli_render_opts *a, struct inputs *in, char ***docs,
	  size_t *n, bool *many, int argc, char **argv)
{
	int rc;

	if ((rc = parse_args(a, in, argc, argv)) != 0)
		return rc;
	if (cli_docs_expand(docs, n, in->v, in->n, many) < 0)
		return cli_error("%s", md_err_msg());
	return *many ? check_many(a, *docs, *n) : 0;
}

int
cli_render_one(const struct cli_render_opts *a, struct cli_totals *t,
	       bool many, struct cli_deps *deps)
{
	struct md_notebook nb;
	struct md_buf text = MD_BUF_INIT;
	int rc;

	t->docs++;
	if (check_output(a) < 0) {
		t->errors++;
		return cli_error("%s", md_err_msg());
	}
	if (render(&nb, &text, a) < 0 || unchanged(a, &nb) < 0 ||
	    write_output(a, &text) < 0) {
		t->errors++;
		rc = cli_error("%s", md_err_msg());
	} else {
		const char *out = a->in_place ? a->input : a->output;

		if (deps && out) {
			struct cli_written *w;

			deps->outs = md_realloc(deps->outs, (deps->nouts + 1) *
							      sizeof(*deps->outs));
			w = &deps->outs[deps->nouts++];
			w->path = md_strdup(out);
			md_hash_bytes(w->hash, text.ptr ? text.ptr : "",
				      text.len);
		}
		rc = nb.failed ? MD_EXIT_FAILED : MD_EXIT_OK;
		if (deps)
			collect_deps(deps, &nb);
		t->blocks += nb.d.plan.n;
		t->ran += nb.ran + nb.replayed;
		t->cached += nb.cached;
		t->failed += nb.failed;
		if (!a->quiet) {
			struct md_buf sum = MD_BUF_INIT;

			md_nb_summary(&sum, &nb);
			if (a->watch) {
				char now[16];
				time_t tt = time(NULL);
				struct tm tm;

				strftime(now, sizeof(now), "%H:%M:%S",
					 localtime_r(&tt, &tm));
				fprintf(stderr, "mdrun: %s %s: %s\n", now,
					a->input, sum.ptr);
			} else if (many)
				fprintf(stderr, "mdrun: %s: %s\n", a->input,
					sum.ptr);
			else
				fprintf(stderr, "mdrun: %s\n", sum.ptr);
			md_buf_dispose(&sum);
		}
	}
	md_nb_dispose(&nb);
	md_buf_dispose(&text);
	return rc;
}

int
cmd_render(int argc, char **argv)
{
	struct cli_render_opts a;
	struct inputs in = { NULL, 0 };
	struct cli_totals t;
	char **docs = NULL;
	size_t n = 0;
	bool many = false;
	int rc, worst = MD_EXIT_OK;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_print_usage();
			return MD_EXIT_OK;
		}
	memset(&t, 0, sizeof(t));
	if ((rc = documents(&a, &in, &docs, &n, &many, argc, argv)) != 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct cli_render_opts one = a;
		char *out = NULL;

		one.input = docs[i];
		if (many && !a.in_place)
			one.output = out = beside(docs[i], a.format->ext);
		rc = cli_render_one(&one, &t, many, NULL);
		if (rc > worst)
			worst = rc;
		free(out);
	}
	if (many && !a.quiet)
		fprintf(stderr, "mdrun: %zu %s: %zu %s: %zu ran, %zu cached, "
				"%zu failed; %zu %s\n",
			t.docs, cli_plural(t.docs, "document", "documents"),
			t.blocks, cli_plural(t.blocks, "block", "blocks"),
			t.ran, t.cached, t.failed, t.errors,
			cli_plural(t.errors, "error", "errors"));
	rc = worst;
done:
	md_strv_free(docs);
	free(in.v);
	return rc;
}

int
cmd_watch(int argc, char **argv)
{
	struct cli_render_opts a, *each = NULL;
	struct inputs in = { NULL, 0 };
	char **docs = NULL, **outs = NULL;
	size_t n = 0, k = 0;
	bool many = false;
	int rc;

	size_t snapshots = CLI_WATCH_SNAPSHOTS;
	size_t memory = CLI_WATCH_SNAPSHOT_MEMORY;
	int kept = 1;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_watch_usage();
			return MD_EXIT_OK;
		}
	/* --snapshots is watch's own: taken out before render's options. */
	for (int i = 1; i < argc; i++) {
		const char *t;
		int got = cli_option_value(&t, argc, argv, &i, "--snapshots");
		char *end;
		long v;

		if (got < 0)
			return MD_EXIT_USAGE;
		if (!got && (got = cli_option_value(&t, argc, argv, &i,
						    "--snapshot-memory"))) {
			if (got < 0 || cli_parse_size(&memory, t,
						      "--snapshot-memory"))
				return MD_EXIT_USAGE;
			continue;
		}
		if (!got) {
			argv[kept++] = argv[i];
			continue;
		}
		v = strtol(t, &end, 10);
		if (!*t || *end || v < 0 || v > 64)
			return cli_usage_error("--snapshots needs a number from 0 "
					       "to 64");
		snapshots = (size_t)v;
	}
	argc = kept;
	if ((rc = documents(&a, &in, &docs, &n, &many, argc, argv)) != 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(docs[i], "-")) {
			rc = cli_usage_error("watch needs files, not standard "
					     "input");
			goto done;
		}
	a.watch = true;
	each = md_calloc(n + 1, sizeof(*each));
	for (size_t i = 0; i < n; i++) {
		each[i] = a;
		each[i].input = docs[i];
		if (many && !a.in_place) {
			md_strv_push(&outs, &k, beside(docs[i], a.format->ext));
			each[i].output = outs[k - 1];
		}
	}
	rc = cli_watch(each, n, many, snapshots, memory);
done:
	free(each);
	md_strv_free(outs);
	md_strv_free(docs);
	free(in.v);
	return rc;
}
