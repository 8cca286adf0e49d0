/*
 * mdrun check: render each document as render would, write nothing, and
 * compare with the file on disk. For CI: exit 0 when every block passes
 * and every output is current, 1 with a diff and FILE:LINE lines when not,
 * 2 on usage or configuration errors.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../core/check.h"
#include "../core/git.h"
#include "../core/proc.h"
#include "../../renderer/render.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static const char usage[] =
	"usage: mdrun check [options] FILE.md [FILE.md.in -o FILE.md] ...\n"
	"\n"
	"Renders each document using the store, writing nothing, and compares\n"
	"the result with the file on disk: the document itself, or OUT for an\n"
	"'IN -o OUT' pair. A stale document gets a unified diff on standard\n"
	"output, from what is on disk to what mdrun renders; a failing block\n"
	"gets 'FILE:LINE: block NAME failed (exit N)' on standard error.\n"
	"\n"
	"options:\n"
	"  --fresh            ignore the store: run every block in a new,\n"
	"                     temporary store (proves the documents evaluate\n"
	"                     today, from nothing)\n"
	"  --repeat           run every block again, and report blocks whose\n"
	"                     output differs from the stored realization as\n"
	"                     non-deterministic (blocks with nouts>1 or a match=\n"
	"                     option say they are, and are not reported)\n"
	"  --junit FILE       write a JUnit XML report: a testsuite per\n"
	"                     document, a testcase per block\n"
	"  --changed-since REV\n"
	"                     check only the documents that differ between git\n"
	"                     revision REV and the work tree, or whose config\n"
	"                     or inputs= files do; with no FILE given, every\n"
	"                     changed .md file\n"
	"  --shard I/N        check only the I-th of N slices of the documents\n"
	"                     (sorted by name, dealt round robin), for CI\n"
	"                     matrices\n"
	"  --store DIR, --config FILE, --all, --timeout SEC, --max-output SIZE,\n"
	"  --no-track, --max-write SIZE, -j N, --color WHEN\n"
	"                     as for render (mdrun --help)\n"
	"  -q, --quiet        print only failures, stale blocks and diffs\n"
	"\n"
	"When GITHUB_ACTIONS=true, failures and stale blocks are also printed\n"
	"as ::error annotations, shown on the lines of the pull request.\n"
	"\n"
	"exit status: 0 every document passes and is current; 1 a block failed,\n"
	"a document is stale, or (--repeat) a block is non-deterministic;\n"
	"2 usage, configuration or I/O error.\n";

struct item {
	const char *input;
	const char *output; /* NULL: the document is its own output */
};

struct args {
	struct cli_render_opts o; /* what render would be given */
	struct item *docs;
	size_t ndocs;
	bool fresh, repeat, github;
	const char *junit, *changed_since;
	int shard, nshards; /* 1-based; 0: no sharding */
};

/* What was found, over every document. */
struct tally {
	size_t docs, ok, stale, failed, errors;
};

static int
parse_shard(struct args *a, const char *s)
{
	char *end;
	long i = strtol(s, &end, 10), n;

	if (end == s || *end != '/')
		goto bad;
	s = end + 1;
	n = strtol(s, &end, 10);
	if (end == s || *end || n < 1 || n > 10000 || i < 1 || i > n)
		goto bad;
	a->shard = (int)i;
	a->nshards = (int)n;
	return 0;
bad:
	return cli_usage_error("--shard needs I/N with 1 <= I <= N");
}

static int
parse_args(struct args *a, int argc, char **argv)
{
	const char *t;
	int i, k;

	memset(a, 0, sizeof(*a));
	cli_render_defaults(&a->o);
	a->docs = md_calloc((size_t)argc, sizeof(*a->docs));
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			fputs(usage, stdout);
			return -1;
		}
		if ((k = cli_render_option(&a->o, argc, argv, &i))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if ((k = cli_option_value(&t, argc, argv, &i, "-o")) ||
		    (k = cli_option_value(&t, argc, argv, &i, "--output"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
			if (!a->ndocs || a->docs[a->ndocs - 1].output)
				return cli_usage_error("-o %s: name the input "
						       "first (IN -o OUT)", t);
			if (!strcmp(t, "-"))
				return cli_usage_error("-o: check compares "
						       "with a file, not "
						       "standard output");
			a->docs[a->ndocs - 1].output = t;
		} else if ((k = cli_option_value(&a->junit, argc, argv, &i,
						 "--junit")) ||
			   (k = cli_option_value(&a->changed_since, argc, argv,
						 &i, "--changed-since"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if ((k = cli_option_value(&t, argc, argv, &i,
						 "--shard"))) {
			if (k < 0 || parse_shard(a, t))
				return MD_EXIT_USAGE;
		} else if (!strcmp(s, "--fresh")) {
			a->fresh = true;
		} else if (!strcmp(s, "--repeat")) {
			a->repeat = true;
		} else if (s[0] == '-' && s[1] != '\0') {
			return cli_usage_error("unknown option '%s'", s);
		} else if (!strcmp(s, "-")) {
			return cli_usage_error("check reads files, not standard "
					       "input");
		} else {
			a->docs[a->ndocs++].input = s;
		}
	}
	if (!a->ndocs && !a->changed_since)
		return cli_usage_error("no document given");
	if (a->fresh && a->o.store)
		return cli_usage_error("--fresh and --store cannot be used "
				       "together");
	if (a->fresh && a->repeat)
		return cli_usage_error("--fresh already runs every block; "
				       "--repeat compares with the store");
	t = getenv("GITHUB_ACTIONS");
	a->github = t && !strcmp(t, "true");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Which documents: --changed-since and --shard. */

static bool
is_markdown(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot && (!strcmp(dot, ".md") || !strcmp(dot, ".markdown"));
}

static int
cmp_item(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	return strcmp(a->input, b->input);
}

/* Narrows a->docs down to what --changed-since and --shard select. */
static int
select_docs(struct args *a, char ***names)
{
	char **changed = NULL, cwd[PATH_MAX];
	size_t n = 0, i, k = 0;

	*names = NULL;
	if (a->changed_since) {
		if (!getcwd(cwd, sizeof(cwd)))
			return md_err_sys("the current folder");
		if (md_git_changed(&changed, &n, cwd, a->changed_since) < 0)
			return -1;
		if (!a->ndocs) {
			/* Every changed Markdown file, named from here. */
			size_t m = 0;
			for (i = 0; i < n; i++) {
				char *rel;
				if (!is_markdown(changed[i]))
					continue;
				rel = md_path_relative(cwd, changed[i]);
				md_strv_push(names, &m,
					     rel ? rel : md_strdup(changed[i]));
			}
			a->docs = md_realloc(a->docs, (m + 1) * sizeof(*a->docs));
			for (i = 0; i < m; i++)
				a->docs[i] = (struct item){ (*names)[i], NULL };
			a->ndocs = m;
		} else {
			for (i = 0; i < a->ndocs; i++)
				if (md_check_touched(a->docs[i].input,
						     a->docs[i].output,
						     a->o.all ? MD_DOC_ALL : 0,
						     a->o.config, changed, n))
					a->docs[k++] = a->docs[i];
			a->ndocs = k;
		}
		md_strv_free(changed);
	}
	if (a->nshards) {
		qsort(a->docs, a->ndocs, sizeof(*a->docs), cmp_item);
		for (i = k = 0; i < a->ndocs; i++)
			if ((int)(i % (size_t)a->nshards) == a->shard - 1)
				a->docs[k++] = a->docs[i];
		a->ndocs = k;
	}
	return 0;
}

/* Prints s (a diff) to standard output, ordered with what stderr says. */
static void
emit(const char *s, size_t n)
{
	fflush(stderr);
	fwrite(s, 1, n, stdout);
	fflush(stdout);
}

/* A unified diff, its lines coloured as git colours them when asked. */
static void
emit_diff(const char *s, size_t n, bool color)
{
	if (!color) {
		emit(s, n);
		return;
	}
	fflush(stderr);
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
		const char *c = !strncmp(s + i, "---", 3) ||
						!strncmp(s + i, "+++", 3) ? "\033[1m"
				: s[i] == '-' ? "\033[31m"
				: s[i] == '+' ? "\033[32m"
				: s[i] == '@' ? "\033[36m" : NULL;

		if (c && len)
			printf("%s%.*s\033[m", c, (int)len, s + i);
		else
			fwrite(s + i, 1, len, stdout);
		if (nl)
			putchar('\n');
		i += len + (nl ? 1 : 0);
	}
	fflush(stdout);
}

/*
 * Folders and globs among the documents become the documents they hold
 * (an IN -o OUT pair stays as given); owned keeps the names.
 */
static int
expand_items(struct args *a, char ***owned)
{
	struct item *v = NULL;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < a->ndocs; i++) {
		char **docs = NULL;
		size_t m = 0;
		bool many;

		if (a->docs[i].output) {
			v = md_realloc(v, (n + 1) * sizeof(*v));
			v[n++] = a->docs[i];
			continue;
		}
		if (cli_docs_expand(&docs, &m, (char *const *)&a->docs[i].input,
				    1, &many) < 0) {
			free(v);
			return -1;
		}
		v = md_realloc(v, (n + m + 1) * sizeof(*v));
		for (size_t j = 0; j < m; j++) {
			md_strv_push(owned, &k, docs[j]);
			v[n++] = (struct item){ docs[j], NULL };
		}
		free(docs); /* the names are in owned now */
	}
	free(a->docs);
	a->docs = v;
	a->ndocs = n;
	return 0;
}

/*
 * Says what checking one document found, and counts it. Returns
 * MD_EXIT_OK, MD_EXIT_FAILED (a block failed, or something is stale or
 * non-deterministic) or MD_EXIT_USAGE.
 */
static int
say(struct tally *t, const struct args *a, const struct item *it,
    const struct md_check *c, bool ok)
{
	const struct md_check_doc *r = &c->report;
	const char *shown = it->output ? it->output : it->input;
	const struct md_notebook *nb = &c->nb;
	struct md_buf ann = MD_BUF_INIT;
	size_t i, nblocks = r->view ? r->view->doc->nblocks : 0;
	int rc;

	t->docs++;
	if (!ok) {
		cli_error("%s", r->error);
		t->errors++;
		rc = MD_EXIT_USAGE;
		goto annotate;
	}
	/* Failures were said as the blocks ended; the rest now. */
	for (i = 0; i < nblocks; i++)
		if (r->blocks[i].verdict == MD_VERDICT_NONDET) {
			fprintf(stderr, "%s:%d: %s\n", nb->d.name,
				r->view->doc->blocks[i].line,
				r->blocks[i].message);
			emit(r->blocks[i].detail, r->blocks[i].detail_len);
		}
	if (r->patch)
		emit_diff(r->patch, r->patch_len, cli_color(&a->o, 1));
	for (i = 0; i < nblocks; i++)
		if (r->blocks[i].verdict == MD_VERDICT_STALE)
			fprintf(stderr, "%s:%d: %s\n", nb->d.name,
				r->view->doc->blocks[i].line,
				r->blocks[i].message);
	if (r->prose)
		fprintf(stderr, "%s:%d: %s\n", shown, r->prose_line, r->prose);
	if (c->bad && c->stale && !a->o.quiet)
		fprintf(stderr, "mdrun: to bring %s up to date: mdrun render "
				"%s%s%s\n",
			shown, it->output ? it->input : "-i ",
			it->output ? " -o " : it->input,
			it->output ? it->output : "");
	if (nb->failed) {
		t->failed++;
		rc = MD_EXIT_FAILED;
	} else if (c->bad) {
		t->stale++;
		rc = MD_EXIT_FAILED;
	} else {
		t->ok++;
		rc = MD_EXIT_OK;
		if (!a->o.quiet)
			fprintf(stderr, "mdrun: %s: ok (%zu %s: %zu ran, "
					"%zu cached)\n",
				nb->d.name, nb->d.plan.n,
				cli_plural(nb->d.plan.n, "block", "blocks"),
				nb->ran, nb->cached);
	}
annotate:
	if (a->github) {
		render_annotations(&ann, r);
		emit(ann.ptr, ann.len);
	}
	md_buf_dispose(&ann);
	return rc;
}

/* Checks one document into c, printing progress and what it found. */
static int
check_one(struct md_check *c, struct tally *t, const struct args *a,
	  const struct item *it, const char *store)
{
	struct cli_render_opts o = a->o;
	struct md_nb_opts no;
	char *files = NULL, *href = NULL;
	int rc;

	o.input = it->input;
	o.output = it->output;
	o.in_place = !it->output;
	o.store = store;
	o.keep_going = true; /* report every failure, not the first */
	o.rebuild = a->repeat;
	o.tty = !o.quiet && cli_color(&o, 2);
	cli_nb_opts(&no, &o);
	no.view_flags |= it->output ? 0 : MD_VIEW_KEEP_CODE;
	no.prev_notes = a->repeat;
	no.files_dry = true;
	rc = md_check_open(c, &no);
	if (rc == 0) {
		struct cli_progress *p = cli_progress_start(&o, &c->nb, &no);

		cli_files_place(&files, &href, &o, c->nb.d.dir);
		no.files_dir = files;
		no.files_href = href;
		rc = md_check_run(c, it->output, a->repeat);
		cli_progress_end(p, &no);
	}
	rc = say(t, a, it, c, rc == 0);
	free(files);
	free(href);
	return rc;
}

static int
write_junit(const char *path, const struct md_check_doc *docs, size_t n,
	    double secs)
{
	struct md_buf x = MD_BUF_INIT;
	int rc;

	render_junit(&x, docs, n, secs);
	rc = md_fs_write_output(path, x.ptr, x.len, 0644);
	md_buf_dispose(&x);
	return rc;
}

/*
 * check --fresh's store, $TMPDIR/mdrun-check-XXXXXX: locked for as long
 * as the check runs (md_fs_own_dir), so the next check --fresh removes
 * it when this one was killed with -9; removed by the handler below when
 * a signal ends the check. Set before the handler is installed.
 */
static char fresh_path[PATH_MAX];
static const int fresh_signals[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction fresh_chained[3];

static void
fresh_on_signal(int sig)
{
	/*
	 * The handler it replaced first (md_proc's: it kills the blocks,
	 * which write in the store, and raises sig again, which waits
	 * until this returns); then the store goes. Async-signal-safe.
	 */
	for (size_t i = 0; i < 3; i++)
		if (fresh_signals[i] == sig &&
		    !(fresh_chained[i].sa_flags & SA_SIGINFO) &&
		    fresh_chained[i].sa_handler != SIG_DFL &&
		    fresh_chained[i].sa_handler != SIG_IGN)
			fresh_chained[i].sa_handler(sig);
	/* Threads may still be writing in it: another try or two. */
	for (int i = 0; i < 3 && md_fs_rmtree_quiet(fresh_path) < 0; i++)
		;
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Makes check --fresh's store: sweeps those of checks that died, makes
 * and locks a new one, and removes it if a signal ends the check.
 * Returns the lock's descriptor, and the path in *out (caller frees).
 */
static int
fresh_store(char **out)
{
	const char *tmp = getenv("TMPDIR");
	struct sigaction sa;
	int fd;

	*out = NULL;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	md_fs_sweep_owned(tmp, "mdrun-check-");
	do {
		int n = snprintf(fresh_path, sizeof(fresh_path),
				 "%s/mdrun-check-XXXXXX", tmp);
		if (n < 0 || (size_t)n >= sizeof(fresh_path))
			return md_err_set("%s: too long a TMPDIR", tmp);
		if (!mkdtemp(fresh_path))
			return md_err_sys("%s", fresh_path);
		fd = md_fs_own_dir(fresh_path);
	} while (fd == MD_ENOTFOUND);
	if (fd < 0)
		return fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fresh_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&sa.sa_mask, fresh_signals[i]);
	for (size_t i = 0; i < 3; i++)
		sigaction(fresh_signals[i], &sa, &fresh_chained[i]);
	*out = md_strdup(fresh_path);
	return fd;
}

int
cmd_check(int argc, char **argv)
{
	struct args a;
	struct tally t;
	char **names = NULL, **owned = NULL, *fresh = NULL;
	struct md_check *checks = NULL;
	struct md_check_doc *reports = NULL;
	const char *store;
	double t0 = md_mono();
	int rc, worst = MD_EXIT_OK, fresh_lock = -1;

	memset(&t, 0, sizeof(t));
	if ((rc = parse_args(&a, argc, argv)) != 0) {
		free(a.docs);
		return rc < 0 ? MD_EXIT_OK : rc;
	}
	if (expand_items(&a, &owned) < 0 || select_docs(&a, &names) < 0) {
		worst = cli_error("%s", md_err_msg());
		goto done;
	}
	store = a.o.store;
	if (a.fresh) {
		if ((fresh_lock = fresh_store(&fresh)) < 0) {
			worst = cli_error("%s", md_err_msg());
			goto done;
		}
		store = fresh;
	}
	/* JUnit needs every document's results at the end: kept then. */
	checks = md_calloc(a.ndocs + 1, sizeof(*checks));
	reports = md_calloc(a.ndocs + 1, sizeof(*reports));
	for (size_t i = 0; i < a.ndocs; i++) {
		rc = check_one(&checks[i], &t, &a, &a.docs[i], store);
		if (rc > worst)
			worst = rc;
		reports[i] = checks[i].report;
		if (!a.junit)
			md_check_dispose(&checks[i]);
	}
	if (a.junit && write_junit(a.junit, reports, a.ndocs,
				   md_mono() - t0) < 0)
		worst = cli_error("%s", md_err_msg());
	if (!a.o.quiet || worst)
		fprintf(stderr, "mdrun: checked %zu %s: %zu ok, %zu stale, "
				"%zu failed, %zu %s\n",
			t.docs, cli_plural(t.docs, "document", "documents"),
			t.ok, t.stale, t.failed, t.errors,
			cli_plural(t.errors, "error", "errors"));
done:
	if (fresh) {
		/* The handler must not remove what a next check makes. */
		for (size_t i = 0; i < 3; i++)
			sigaction(fresh_signals[i], &fresh_chained[i], NULL);
		md_fs_rmtree(fresh);
		free(fresh);
	}
	if (fresh_lock >= 0)
		close(fresh_lock);
	for (size_t i = 0; a.junit && checks && i < a.ndocs; i++)
		md_check_dispose(&checks[i]);
	free(checks);
	free(reports);
	md_strv_free(names);
	md_strv_free(owned);
	free(a.docs);
	return worst;
}
