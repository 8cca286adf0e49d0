/*
 * mdrun check: render each document as render would, write nothing, and
 * compare with the file on disk. For CI: exit 0 when every block passes
 * and every output is current, 1 with a diff and FILE:LINE lines when not,
 * 2 on usage or configuration errors.
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
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
	"  -j N               as for render (mdrun --help)\n"
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
	struct md_buf junit; /* the <testsuite> elements */
	size_t tests, failures, jerrors, skipped;
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

static bool
in_list(char **list, size_t n, const char *path)
{
	for (size_t i = 0; path && i < n; i++)
		if (!strcmp(list[i], path))
			return true;
	return false;
}

struct input_match {
	const char *rel; /* a changed file, relative to the document */
	bool hit;
};

static int
match_input(const char *pattern, void *ctx)
{
	struct input_match *m = ctx;

	m->hit |= fnmatch(pattern, m->rel, FNM_PATHNAME) == 0;
	return 0;
}

/*
 * Whether it changed: the document, its output, its config or a file
 * one of its blocks names in inputs=.
 */
static bool
touched(const struct item *it, const struct args *a, char **changed,
	size_t n)
{
	struct cli_doc d;
	char buf[PATH_MAX];
	bool hit = false;

	if (it->output && realpath(it->output, buf) && in_list(changed, n, buf))
		return true;
	if (cli_doc_load(&d, it->input, a->o.all ? MD_DOC_ALL : 0,
			 a->o.config) < 0)
		hit = true; /* let the check say what is wrong */
	else if (in_list(changed, n, d.path) || in_list(changed, n, d.config))
		hit = true;
	for (size_t i = 0; !hit && d.doc && i < d.doc->nblocks; i++) {
		const char *inputs = md_block_opt(&d.doc->blocks[i], "inputs");

		for (size_t k = 0; inputs && !hit && k < n; k++) {
			char *rel = md_path_relative(d.dir, changed[k]);
			struct input_match m = { rel, false };

			if (rel)
				md_each_item(inputs, match_input, &m);
			hit = m.hit;
			free(rel);
		}
	}
	cli_doc_dispose(&d);
	return hit;
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
				if (touched(&a->docs[i], a, changed, n))
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

/* ------------------------------------------------------------------ */
/* Reports: GitHub annotations and JUnit XML. */

/* GitHub's workflow command escaping; props also escapes ':' and ','. */
static void
gh_escape(struct md_buf *out, const char *s, bool prop)
{
	for (; *s; s++) {
		if (*s == '%')
			md_buf_puts(out, "%25");
		else if (*s == '\r')
			md_buf_puts(out, "%0D");
		else if (*s == '\n')
			md_buf_puts(out, "%0A");
		else if (prop && *s == ':')
			md_buf_puts(out, "%3A");
		else if (prop && *s == ',')
			md_buf_puts(out, "%2C");
		else
			md_buf_putc(out, *s);
	}
}

static void
annotate(const struct args *a, const char *file, int line, const char *msg)
{
	struct md_buf l = MD_BUF_INIT;

	if (!a->github)
		return;
	md_buf_puts(&l, "::error file=");
	gh_escape(&l, file, true);
	md_buf_printf(&l, ",line=%d,title=mdrun check::", line > 0 ? line : 1);
	gh_escape(&l, msg, false);
	fflush(stderr);
	printf("%s\n", l.ptr);
	fflush(stdout);
	md_buf_dispose(&l);
}

/*
 * Text for XML: made valid UTF-8 without control characters, escaped.
 * Program output (term) as a terminal leaves it, so a progress bar is its
 * last state (render_text_clean); anything else with every character
 * shown (render_text_plain).
 */
static void
xml_clean(struct md_buf *out, const char *s, size_t n, bool term)
{
	struct md_buf clean = MD_BUF_INIT;

	(term ? render_text_clean : render_text_plain)(&clean, s ? s : "",
							s ? n : 0);
	for (size_t i = 0; i < clean.len; i++) {
		char c = clean.ptr[i];
		if (c == '&')
			md_buf_puts(out, "&amp;");
		else if (c == '<')
			md_buf_puts(out, "&lt;");
		else if (c == '>')
			md_buf_puts(out, "&gt;");
		else if (c == '"')
			md_buf_puts(out, "&quot;");
		else
			md_buf_putc(out, c);
	}
	md_buf_dispose(&clean);
}

static void
xml_text(struct md_buf *out, const char *s, size_t n)
{
	xml_clean(out, s, n, false);
}

static void
xml_output(struct md_buf *out, const char *s, size_t n)
{
	xml_clean(out, s, n, true);
}

static void
xml_str(struct md_buf *out, const char *s)
{
	xml_text(out, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* One document. */

/* What was found about one stage. */
struct verdict {
	const char *failure; /* "failed", "stale", "non-deterministic" */
	struct md_buf message, detail;
};

/* The document's path from its repository's root, for annotations. */
static char *
repo_path(const struct cli_doc *d, const char *file)
{
	char buf[PATH_MAX], *rel;

	if (d->workdir && realpath(file, buf) &&
	    (rel = md_path_relative(d->workdir, buf)))
		return rel;
	return md_strdup(file);
}

/* Line starts of text: starts[k] is where line k + 1 begins. */
static size_t *
line_starts(const struct md_buf *text, size_t *n)
{
	size_t cap = 64, *v = md_malloc(cap * sizeof(*v));

	*n = 0;
	v[(*n)++] = 0;
	for (size_t i = 0; i < text->len; i++)
		if (text->ptr[i] == '\n' && i + 1 < text->len) {
			if (*n == cap)
				v = md_realloc(v, (cap *= 2) * sizeof(*v));
			v[(*n)++] = i + 1;
		}
	return v;
}

/*
 * The stage whose code or output holds a changed line of the rendered
 * text, or -1 (the prose around them changed). A line removed just after
 * a block's span belongs to it when it is an output region the render no
 * longer writes: its marker, or what follows a removed marker (*region).
 */
static long
owner(const struct cli_render *r, const size_t *starts, size_t nstarts,
      const struct md_diff_line *l, long *region)
{
	size_t off = l->new_line >= 1 && (size_t)l->new_line <= nstarts
			     ? starts[l->new_line - 1]
			     : r->text.len;
	bool removed = l->origin == '-';

	if (!removed)
		*region = -1;
	for (size_t i = 0; i < r->d.plan.n; i++) {
		const size_t *sp = r->spans[i];
		if (sp[1] <= sp[0] || off < sp[0] || off > sp[1])
			continue;
		if (off < sp[1])
			return *region = (long)i;
		if (removed && strstr(l->text, MD_OUT_BEGIN))
			return *region = (long)i;
		if (removed && *region == (long)i)
			return *region;
	}
	return *region = -1;
}

/* The stored realization a --repeat run is compared with, if any. */
static int
earlier_run(char out[MD_HASH_HEX], char now[MD_HASH_HEX], struct store *s,
	    const char *key, long long since)
{
	struct store_run *runs = NULL;
	size_t n = 0;
	int rc;

	out[0] = now[0] = '\0';
	if ((rc = store_runs(&runs, &n, s, key)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		memcpy(runs[i].ns < since ? out : now, runs[i].rhash,
		       MD_HASH_HEX);
	free(runs);
	return 0;
}

/* --repeat: what differs between the stored realization and this run. */
static bool
differs(struct verdict *v, struct cli_render *r, const struct md_stage *st,
	long long since)
{
	char old[MD_HASH_HEX], now[MD_HASH_HEX];
	struct store_real a, b;
	bool found = false;

	if (st->block->nouts > 1 || st->block->match != MD_MATCH_LATEST ||
	    earlier_run(old, now, r->store, st->key, since) < 0 || !old[0] ||
	    !now[0] || !strcmp(old, now))
		return false;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (store_read(&a, r->store, st->key, old) == 0 &&
	    store_read(&b, r->store, st->key, now) == 0) {
		struct md_buf path = MD_BUF_INIT;
		md_buf_printf(&path, "%s/stdout", st->block->name);
		md_git_diff(&v->detail, NULL, NULL, path.ptr, a.out.ptr,
			    a.out.len, b.out.ptr, b.out.len);
		md_buf_clear(&path);
		md_buf_printf(&path, "%s/stderr", st->block->name);
		md_git_diff(&v->detail, NULL, NULL, path.ptr, a.err.ptr,
			    a.err.len, b.err.ptr, b.err.len);
		if (!v->detail.len)
			md_buf_puts(&v->detail, "the output is the same; its "
						"files or exit status differ\n");
		md_buf_dispose(&path);
		found = true;
	}
	store_real_dispose(&a);
	store_real_dispose(&b);
	if (found) {
		v->failure = "non-deterministic";
		md_buf_printf(&v->message, "block %s is not deterministic: "
					   "this run differs from the stored "
					   "one (%.12s, now %.12s)",
			      st->block->name, old, now);
	}
	return found;
}

/* A JUnit testcase. */
static void
junit_case(struct tally *t, const char *file, const char *name, int line,
	   double secs, const char *failure, const char *message,
	   const struct md_buf *detail, const struct store_real *real,
	   const char *skipped)
{
	struct md_buf *j = &t->junit;

	t->tests++;
	md_buf_puts(j, "    <testcase name=\"");
	xml_str(j, name);
	md_buf_puts(j, "\" classname=\"");
	xml_str(j, file);
	md_buf_puts(j, "\" file=\"");
	xml_str(j, file);
	md_buf_printf(j, "\" line=\"%d\" time=\"%.3f\">\n", line, secs);
	if (skipped) {
		t->skipped++;
		md_buf_puts(j, "      <skipped message=\"");
		xml_str(j, skipped);
		md_buf_puts(j, "\"/>\n");
	} else if (failure) {
		bool error = !strcmp(failure, "error");
		t->failures += !error;
		t->jerrors += error;
		md_buf_printf(j, "      <%s type=\"%s\" message=\"",
			      error ? "error" : "failure", failure);
		xml_str(j, message);
		md_buf_puts(j, "\">");
		if (detail && detail->len)
			xml_text(j, detail->ptr, detail->len);
		else if (real)
			xml_output(j, real->err.ptr, real->err.len);
		md_buf_printf(j, "</%s>\n", error ? "error" : "failure");
	}
	if (real && real->out.len) {
		md_buf_puts(j, "      <system-out>");
		xml_output(j, real->out.ptr, real->out.len);
		md_buf_puts(j, "</system-out>\n");
	}
	if (real && real->err.len) {
		md_buf_puts(j, "      <system-err>");
		xml_output(j, real->err.ptr, real->err.len);
		md_buf_puts(j, "</system-err>\n");
	}
	md_buf_puts(j, "    </testcase>\n");
}

/* Prints s (a diff) to standard output, ordered with what stderr says. */
static void
emit(const struct md_buf *s)
{
	fflush(stderr);
	fwrite(s->ptr, 1, s->len, stdout);
	fflush(stdout);
}

/*
 * Checks one document. Returns MD_EXIT_OK, MD_EXIT_FAILED (a block
 * failed, or something is stale or non-deterministic) or MD_EXIT_USAGE.
 */
static int
check_one(struct tally *t, const struct args *a, const struct item *it,
	  const char *store)
{
	struct cli_render_opts o;
	struct cli_render r;
	struct md_buf expected = MD_BUF_INIT, patch = MD_BUF_INIT,
		      prose = MD_BUF_INIT;
	struct md_diff_line *lines = NULL;
	struct verdict *v = NULL;
	size_t nlines = 0, nstarts = 0, i, *starts = NULL, bad = 0;
	const char *shown = it->output ? it->output : it->input;
	char *ann_in = NULL, *ann_out = NULL;
	int prose_line = 0, rc = MD_EXIT_OK;
	long long since;
	long region = -1;
	struct timespec ts;

	o = a->o;
	o.input = it->input;
	o.output = it->output;
	o.in_place = !it->output;
	o.store = store;
	o.keep_going = true; /* report every failure, not the first */
	o.rebuild = a->repeat;
	o.prev_notes = a->repeat;
	o.tty = !o.quiet && isatty(2);
	o.files_dry = true;
	clock_gettime(CLOCK_REALTIME, &ts);
	since = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	t->docs++;

	if (cli_render_run(&r, &o) < 0) {
		const char *msg = md_err_msg();
		cli_error("%s", msg);
		annotate(a, it->input, 1, msg);
		md_buf_puts(&t->junit, "  <testsuite name=\"");
		xml_str(&t->junit, it->input);
		md_buf_puts(&t->junit, "\" tests=\"1\">\n");
		junit_case(t, it->input, "(document)", 1, 0, "error", msg,
			   NULL, NULL, NULL);
		md_buf_puts(&t->junit, "  </testsuite>\n");
		t->errors++;
		rc = MD_EXIT_USAGE;
		goto done;
	}
	ann_in = repo_path(&r.d, it->input);
	ann_out = it->output ? repo_path(&r.d, it->output) : md_strdup(ann_in);
	v = md_calloc(r.d.plan.n + 1, sizeof(*v));

	/* Failures (the render said each on stderr already). */
	for (i = 0; i < r.d.plan.n; i++) {
		const struct md_outcome *oc = r.shown[i];
		if (!oc || !oc->failed)
			continue;
		v[i].failure = "failed";
		md_buf_printf(&v[i].message, "block %s failed (",
			      r.d.plan.stages[i].block->name);
		cli_describe_failure(&v[i].message, &oc->reals[0]);
		md_buf_putc(&v[i].message, ')');
	}
	/* Non-determinism. */
	for (i = 0; a->repeat && i < r.d.plan.n; i++) {
		const struct md_block *b = r.d.plan.stages[i].block;

		if (v[i].failure || !r.shown[i])
			continue;
		if (differs(&v[i], &r, &r.d.plan.stages[i], since)) {
			fprintf(stderr, "%s:%d: %s\n", r.d.name, b->line,
				v[i].message.ptr);
			emit(&v[i].detail);
		} else if (r.shown[i]->replay_differs ||
			   cli_notes_replay_differs(r.prev_notes.ptr,
						    b->name)) {
			/* Seen by an earlier render's replay, or this one's. */
			v[i].failure = "non-deterministic";
			md_buf_printf(&v[i].message,
				      "block %s is not deterministic: it "
				      "printed something else when replayed",
				      b->name);
			fprintf(stderr, "%s:%d: %s\n", r.d.name, b->line,
				v[i].message.ptr);
		}
	}

	/* Staleness: the text, and the files it links. */
	if (it->output) {
		int e = md_fs_read(&expected, it->output);
		if (e < 0 && errno != ENOENT) {
			cli_error("%s", md_err_msg());
			rc = MD_EXIT_USAGE;
			goto done;
		}
		if (e < 0) {
			md_buf_printf(&prose, "%s does not exist", it->output);
			prose_line = 1;
		}
	} else {
		md_buf_put(&expected, r.d.src.ptr, r.d.src.len);
	}
	if (expected.len != r.text.len ||
	    memcmp(expected.ptr ? expected.ptr : "", r.text.ptr ? r.text.ptr : "",
		   r.text.len)) {
		if (md_git_diff(&patch, &lines, &nlines, shown, expected.ptr,
				expected.len, r.text.ptr, r.text.len) < 0) {
			cli_error("%s", md_err_msg());
			rc = MD_EXIT_USAGE;
			goto done;
		}
		starts = line_starts(&r.text, &nstarts);
		for (size_t k = 0; k < nlines; k++) {
			long s = owner(&r, starts, nstarts, &lines[k], &region);
			if (s < 0) {
				if (!prose_line) {
					prose_line = lines[k].old_line;
					md_buf_printf(&prose,
						      "%s differs from what "
						      "%s renders to",
						      shown, it->input);
				}
				continue;
			}
			if (!v[s].failure || !strcmp(v[s].failure, "stale")) {
				if (!v[s].failure) {
					v[s].failure = "stale";
					md_buf_printf(&v[s].message,
						      "block %s: output is "
						      "not current",
						      r.d.plan.stages[s]
							      .block->name);
				}
				md_buf_printf(&v[s].detail, "%c%s\n",
					      lines[k].origin, lines[k].text);
			}
		}
		emit(&patch);
	}
	for (i = 0; i < r.nmissing; i++) {
		if (!prose.len)
			md_buf_printf(&prose, "%s is missing", r.missing[i]);
		prose_line = prose_line ? prose_line : 1;
	}

	/* Say it, and count. */
	for (i = 0; i < r.d.plan.n; i++) {
		const struct md_stage *st = &r.d.plan.stages[i];
		if (!v[i].failure)
			continue;
		bad++;
		if (strcmp(v[i].failure, "failed"))
			fprintf(stderr, "%s:%d: %s\n", r.d.name,
				st->block->line, v[i].message.ptr);
		annotate(a, ann_in, st->block->line, v[i].message.ptr);
	}
	if (prose.len) {
		bad++;
		fprintf(stderr, "%s:%d: %s\n", shown, prose_line, prose.ptr);
		annotate(a, ann_out, prose_line, prose.ptr);
	}
	if (bad && (patch.len || r.nmissing) && !a->o.quiet)
		fprintf(stderr, "mdrun: to bring %s up to date: mdrun render "
				"%s%s%s\n",
			shown, it->output ? it->input : "-i ",
			it->output ? " -o " : it->input,
			it->output ? it->output : "");
	if (r.failed) {
		t->failed++;
		rc = MD_EXIT_FAILED;
	} else if (bad) {
		t->stale++;
		rc = MD_EXIT_FAILED;
	} else {
		t->ok++;
		if (!a->o.quiet)
			fprintf(stderr, "mdrun: %s: ok (%zu %s: %zu ran, "
					"%zu cached)\n",
				r.d.name, r.d.plan.n,
				cli_plural(r.d.plan.n, "block", "blocks"),
				r.ran, r.cached);
	}

	/* JUnit: a testcase per block, and one for the document's prose. */
	md_buf_puts(&t->junit, "  <testsuite name=\"");
	xml_str(&t->junit, it->input);
	md_buf_printf(&t->junit, "\" tests=\"%zu\">\n",
		      r.d.plan.n + (prose.len != 0));
	for (i = 0; i < r.d.plan.n; i++) {
		const struct md_stage *st = &r.d.plan.stages[i];
		const struct md_outcome *oc = r.shown[i];
		const struct store_real *real = oc ? &oc->reals[oc->n - 1] : NULL;

		junit_case(t, ann_in, st->block->name, st->block->line,
			   oc && oc->ran ? real->end - real->start : 0,
			   v[i].failure, v[i].message.ptr, &v[i].detail, real,
			   r.skipped[i]);
	}
	if (prose.len)
		junit_case(t, ann_out, "(document)", prose_line, 0, "stale",
			   prose.ptr, &patch, NULL, NULL);
	md_buf_puts(&t->junit, "  </testsuite>\n");
done:
	for (i = 0; v && i < r.d.plan.n; i++) {
		md_buf_dispose(&v[i].message);
		md_buf_dispose(&v[i].detail);
	}
	free(v);
	free(starts);
	free(ann_in);
	free(ann_out);
	md_diff_lines_free(lines, nlines);
	md_buf_dispose(&expected);
	md_buf_dispose(&patch);
	md_buf_dispose(&prose);
	cli_render_dispose(&r);
	return rc;
}

static int
write_junit(const char *path, const struct tally *t, double secs)
{
	struct md_buf x = MD_BUF_INIT;
	int rc;

	md_buf_printf(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<testsuites name=\"mdrun check\" tests=\"%zu\" "
			  "failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
			  "time=\"%.3f\">\n",
		      t->tests, t->failures, t->jerrors, t->skipped, secs);
	md_buf_put(&x, t->junit.ptr ? t->junit.ptr : "", t->junit.len);
	md_buf_puts(&x, "</testsuites>\n");
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
	char **names = NULL, *fresh = NULL;
	const char *store;
	double t0 = md_mono();
	int rc, worst = MD_EXIT_OK, fresh_lock = -1;

	memset(&t, 0, sizeof(t));
	if ((rc = parse_args(&a, argc, argv)) != 0) {
		free(a.docs);
		return rc < 0 ? MD_EXIT_OK : rc;
	}
	if (select_docs(&a, &names) < 0) {
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
	for (size_t i = 0; i < a.ndocs; i++) {
		rc = check_one(&t, &a, &a.docs[i], store);
		if (rc > worst)
			worst = rc;
	}
	if (a.junit && write_junit(a.junit, &t, md_mono() - t0) < 0)
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
	md_strv_free(names);
	md_buf_dispose(&t.junit);
	free(a.docs);
	return worst;
}
