/* check's engine: see check.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "check.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "git.h"
#include "../../renderer/render.h"
#include "../../util/err.h"
#include "../../util/fs.h"

/* A path from the document's repository root, for annotations. */
static char *
repo_path(const struct md_nb_doc *d, const char *file)
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
 * The block whose code or output holds a changed line of the rendered
 * text, or -1 (the prose around them changed). A line removed just after
 * a block's span belongs to it when it is an output region the render no
 * longer writes: its marker, or what follows a removed marker (*region).
 */
static long
owner(const struct md_check *c, const size_t (*spans)[2], size_t nblocks,
      const size_t *starts, size_t nstarts, const struct md_diff_line *l,
      long *region)
{
	size_t off = l->new_line >= 1 && (size_t)l->new_line <= nstarts
			     ? starts[l->new_line - 1]
			     : c->text.len;
	bool removed = l->origin == '-';

	if (!removed)
		*region = -1;
	for (size_t i = 0; i < nblocks; i++) {
		const size_t *sp = spans[i];
		/* an inline expression's span is inside the line */
		if (!removed && c->nb.d.doc->blocks[i].inline_expr &&
		    sp[1] > sp[0] && off <= sp[0] &&
		    sp[0] <= off + strlen(l->text))
			return *region = (long)i;
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

/*
 * The added line a removed line k became, as a diff pairs them: the i-th
 * of a run of removed lines with the i-th of the added lines after the
 * run; n when there is none.
 */
static size_t
paired(const struct md_diff_line *l, size_t n, size_t k)
{
	size_t first = k, end = k;

	if (l[k].origin != '-')
		return n;
	while (first > 0 && l[first - 1].origin == '-')
		first--;
	while (end < n && l[end].origin == '-')
		end++;
	if (end + (k - first) < n && l[end].origin == '+') {
		for (size_t i = end; i <= end + (k - first); i++)
			if (l[i].origin != '+')
				return n;
		return end + (k - first);
	}
	return n;
}

/* The stored realization a repeat run is compared with, if any. */
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

/* repeat: what differs between the stored realization and this run. */
static bool
differs(struct md_buf *msg, struct md_buf *detail, struct store *s,
	const struct md_stage *st, long long since)
{
	char old[MD_HASH_HEX], now[MD_HASH_HEX];
	struct store_real a, b;
	bool found = false;

	if (st->block->nouts > 1 || st->block->match != MD_MATCH_LATEST ||
	    earlier_run(old, now, s, st->key, since) < 0 || !old[0] ||
	    !now[0] || !strcmp(old, now))
		return false;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (store_read(&a, s, st->key, old) == 0 &&
	    store_read(&b, s, st->key, now) == 0) {
		struct md_buf path = MD_BUF_INIT;
		md_buf_printf(&path, "%s/stdout", st->block->name);
		if (md_git_diff(detail, NULL, NULL, path.ptr, a.out.ptr,
				a.out.len, b.out.ptr, b.out.len) < 0)
			md_buf_printf(detail, "%s: %s\n", path.ptr,
				      md_err_msg());
		md_buf_clear(&path);
		md_buf_printf(&path, "%s/stderr", st->block->name);
		if (md_git_diff(detail, NULL, NULL, path.ptr, a.err.ptr,
				a.err.len, b.err.ptr, b.err.len) < 0)
			md_buf_printf(detail, "%s: %s\n", path.ptr,
				      md_err_msg());
		if (!detail->len)
			md_buf_puts(detail, "the output is the same; its "
					    "files or exit status differ\n");
		md_buf_dispose(&path);
		found = true;
	}
	store_real_dispose(&a);
	store_real_dispose(&b);
	if (found)
		md_buf_printf(msg, "block %s is not deterministic: this run "
				   "differs from the stored one (%.12s, now "
				   "%.12s)",
			      st->block->name, old, now);
	return found;
}

/* Failures and, with repeat, non-determinism, per block. */
static void
judge_runs(struct md_check *c, bool repeat, long long since)
{
	struct md_notebook *nb = &c->nb;
	const struct md_doc *doc = nb->d.doc;

	for (size_t i = 0; i < nb->d.plan.n; i++) {
		const struct md_stage *st = &nb->d.plan.stages[i];
		const struct md_outcome *oc = nb->shown[i];
		size_t b = st->block - doc->blocks;

		if (oc && oc->failed) {
			c->blocks[b].verdict = MD_VERDICT_FAILED;
			md_buf_printf(&c->messages[b], "block %s failed (",
				      st->block->name);
			md_exit_describe(&c->messages[b], &oc->reals[0].exit);
			md_buf_putc(&c->messages[b], ')');
			continue;
		}
		if (!repeat || !oc)
			continue;
		if (differs(&c->messages[b], &c->details[b], nb->store, st,
			    since)) {
			c->blocks[b].verdict = MD_VERDICT_NONDET;
		} else if (oc->replay_differs ||
			   md_nb_notes_replay_differs(nb->prev_notes.ptr,
						      st->block->name)) {
			/* Seen by an earlier render's replay, or this one's. */
			c->blocks[b].verdict = MD_VERDICT_NONDET;
			md_buf_printf(&c->messages[b],
				      "block %s is not deterministic: it "
				      "printed something else when replayed",
				      st->block->name);
		}
	}
}

/* Staleness: each changed line of the diff, to its block or the prose. */
static int
judge_text(struct md_check *c, const size_t (*spans)[2], const char *shown,
	   const char *input)
{
	const struct md_doc *doc = c->nb.d.doc;
	struct md_diff_line *lines = NULL;
	size_t nlines = 0, nstarts = 0, *starts = NULL;
	long region = -1;
	int rc;

	if (c->expected.len == c->text.len &&
	    !memcmp(c->expected.ptr, c->text.ptr, c->text.len))
		return 0;
	c->stale = true;
	if ((rc = md_git_diff(&c->patch, &lines, &nlines, shown,
			      c->expected.ptr, c->expected.len, c->text.ptr,
			      c->text.len)) < 0)
		return rc;
	starts = line_starts(&c->text, &nstarts);
	for (size_t k = 0; k < nlines; k++) {
		long s = owner(c, spans, doc->nblocks, starts, nstarts,
			       &lines[k], &region);
		struct md_check_block *b = s >= 0 ? &c->blocks[s] : NULL;

		size_t partner = paired(lines, nlines, k);

		if (!b && partner < nlines) {
			/* a line whose inline value changed: the value's */
			long r = region, t = owner(c, spans, doc->nblocks,
						   starts, nstarts,
						   &lines[partner], &r);
			if (t >= 0 && doc->blocks[t].inline_expr)
				continue;
		}
		if (!b) {
			if (!c->prose_line) {
				c->prose_line = lines[k].old_line;
				md_buf_printf(&c->prose, "%s differs from "
						         "what %s renders to",
					      shown, input);
			}
			continue;
		}
		if (b->verdict != MD_VERDICT_OK &&
		    b->verdict != MD_VERDICT_STALE)
			continue;
		if (b->verdict == MD_VERDICT_OK) {
			b->verdict = MD_VERDICT_STALE;
			md_buf_printf(&c->messages[s],
				      doc->blocks[s].inline_expr
					      ? "inline %s: value is not current"
					      : "block %s: output is not current",
				      doc->blocks[s].name);
		}
		md_buf_printf(&c->details[s], "%c%s\n", lines[k].origin,
			      lines[k].text);
	}
	free(starts);
	md_diff_lines_free(lines, nlines);
	return 0;
}

/* Says why the document could not be checked. */
static int
failed(struct md_check *c, int rc)
{
	c->report.view = NULL;
	snprintf(c->error, sizeof(c->error), "%s", md_err_msg());
	c->report.error = c->error;
	if (!c->file)
		c->file = md_strdup(c->report.input);
	c->report.file = c->report.out_file = c->file;
	return rc;
}

int
md_check_open(struct md_check *c, const struct md_nb_opts *o)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->report.input = o->input;
	return (rc = md_nb_open(&c->nb, o)) < 0 ? failed(c, rc) : 0;
}

int
md_check_run(struct md_check *c, const char *output, bool repeat)
{
	struct md_notebook *nb = &c->nb;
	const struct md_nb_opts *o = c->o;
	const char *shown = output ? output : o->input;
	size_t (*spans)[2] = NULL, nblocks, i;
	struct timespec ts;
	long long since;
	int rc = MD_ERROR;

	clock_gettime(CLOCK_REALTIME, &ts);
	since = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (md_nb_realize(nb) < 0 || md_nb_view(nb) < 0)
		goto done;
	nblocks = nb->d.doc->nblocks;
	c->blocks = md_calloc(nblocks + 1, sizeof(*c->blocks));
	c->messages = md_calloc(nblocks + 1, sizeof(*c->messages));
	c->details = md_calloc(nblocks + 1, sizeof(*c->details));
	spans = md_calloc(nblocks + 1, sizeof(*spans));
	nb->view.spans = spans;
	render_markdown(&c->text, &nb->view);
	nb->view.spans = NULL;
	c->file = repo_path(&nb->d, o->input);
	c->out_file = output ? repo_path(&nb->d, output) : md_strdup(c->file);

	judge_runs(c, repeat, since);
	if (output) {
		int e = md_fs_read(&c->expected, output);
		if (e < 0 && errno != ENOENT)
			goto done;
		if (e < 0) {
			md_buf_printf(&c->prose, "%s does not exist", output);
			c->prose_line = 1;
		}
	} else {
		const struct md_doc *d = nb->d.doc;

		/* the bytes as read: included text may have changed since */
		md_buf_put(&c->expected, d->read ? d->read : d->src,
			   d->read ? d->read_len : d->len);
	}
	if (judge_text(c, (const size_t(*)[2])spans, shown, o->input) < 0)
		goto done;
	for (i = 0; i < nb->nmissing; i++) {
		c->stale = true;
		if (!c->prose.len)
			md_buf_printf(&c->prose, "%s is missing",
				      nb->missing[i]);
		c->prose_line = c->prose_line ? c->prose_line : 1;
	}
	if (md_nb_record(nb) < 0)
		goto done;
	for (i = 0; i < nblocks; i++) {
		c->blocks[i].message = c->messages[i].ptr;
		c->blocks[i].detail = c->details[i].ptr;
		c->blocks[i].detail_len = c->details[i].len;
		c->bad += c->blocks[i].verdict != MD_VERDICT_OK;
	}
	c->bad += c->prose.len != 0;
	c->report.file = c->file;
	c->report.out_file = c->out_file;
	c->report.view = &nb->view;
	c->report.blocks = c->blocks;
	c->report.prose = c->prose.len ? c->prose.ptr : NULL;
	c->report.prose_line = c->prose_line;
	c->report.patch = c->patch.len ? c->patch.ptr : NULL;
	c->report.patch_len = c->patch.len;
	rc = 0;
done:
	free(spans);
	return rc < 0 ? failed(c, rc) : 0;
}

void
md_check_dispose(struct md_check *c)
{
	size_t n = c->nb.d.doc ? c->nb.d.doc->nblocks : 0;

	for (size_t i = 0; c->messages && i < n; i++) {
		md_buf_dispose(&c->messages[i]);
		md_buf_dispose(&c->details[i]);
	}
	free(c->messages);
	free(c->details);
	free(c->blocks);
	free(c->file);
	free(c->out_file);
	md_buf_dispose(&c->text);
	md_buf_dispose(&c->expected);
	md_buf_dispose(&c->patch);
	md_buf_dispose(&c->prose);
	md_nb_dispose(&c->nb);
	memset(c, 0, sizeof(*c));
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

bool
md_check_touched(const char *input, const char *output, unsigned flags,
		 const char *config, char **changed, size_t n)
{
	struct md_nb_doc d;
	char buf[PATH_MAX];
	bool hit = false;

	if (output && realpath(output, buf) && in_list(changed, n, buf))
		return true;
	if (md_nb_doc_load(&d, NULL, input, flags, config, NULL) < 0)
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
	md_nb_doc_dispose(&d);
	return hit;
}
