#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "../util/err.h"

/* Linux refuses a single argument longer than this (MAX_ARG_STRLEN). */
#define ARG_MAX_ONE (128 * 1024)

static void
note_cut(struct md_buf *b, size_t cap)
{
	md_buf_printf(b, "%s[mdrun: output cut at %zu bytes]\n",
		      b->len && b->ptr[b->len - 1] != '\n' ? "\n" : "", cap);
}

/* One run of the block, committed; its rhash into rhash. */
static int
run_once(char rhash[MD_HASH_HEX], struct store *s, const struct md_stage *st,
	 const struct md_exec_opts *o)
{
	const struct md_block *b = st->block;
	const char *argv[5];
	struct md_proc_opts po;
	struct md_proc_result r;
	struct store_result sr;
	int rc, k = 0;

	if (b->code_len >= ARG_MAX_ONE)
		return md_err_set("%s:%d:%d: block '%s' is longer than %d "
				  "bytes, more than a command line can carry",
				  o->document, b->line, b->col, b->name,
				  ARG_MAX_ONE);
	argv[k++] = st->interp->command;
	argv[k++] = st->interp->flag;
	argv[k++] = b->code;
	if (st->interp->arg0)
		argv[k++] = st->interp->arg0;
	argv[k] = NULL;
	po.argv = argv;
	po.cwd = o->cwd;
	po.env = NULL;
	po.timeout = b->timeout > 0 ? b->timeout : o->timeout;
	po.cap = o->cap;
	if ((rc = md_proc_run(&r, &po)) < 0) {
		char *why = md_strdup(md_err_msg());
		rc = md_err_set("%s:%d:%d: block '%s': %s", o->document,
				b->line, b->col, b->name, why);
		free(why);
		goto done;
	}
	if (r.out_cut)
		note_cut(&r.out, o->cap);
	if (r.err_cut)
		note_cut(&r.err, o->cap);
	memset(&sr, 0, sizeof(sr));
	sr.out = r.out.ptr;
	sr.out_len = r.out.len;
	sr.err = r.err.ptr;
	sr.err_len = r.err.len;
	sr.exit_code = r.exit_code;
	sr.signal = r.signal;
	sr.timed_out = r.timed_out;
	sr.start = r.start;
	sr.end = r.end;
	sr.interpreter = st->identity;
	sr.name = b->name;
	sr.document = o->document;
	sr.line = b->line;
	sr.git_commit = o->git_commit;
	sr.git_dirty = o->git_dirty;
	rc = store_commit(rhash, s, st->key, st->drv, &sr);
done:
	md_proc_result_dispose(&r);
	return rc;
}

static int
add_real(struct md_outcome *out, struct store *s, const char *key,
	 const char *rhash)
{
	out->reals = md_realloc(out->reals, (out->n + 1) * sizeof(*out->reals));
	if (store_read(&out->reals[out->n], s, key, rhash) < 0)
		return MD_ERROR;
	out->n++;
	return 0;
}

/* What the block shows once its runs are in the store. */
static int
pick(struct md_outcome *out, struct store *s, const struct md_stage *st,
     const char *last)
{
	const struct md_block *b = st->block;
	struct store_run *runs = NULL;
	size_t n = 0, i, j;
	int rc;

	/* A run that just failed is what the document must show. */
	if (last && !b->error_ok) {
		if ((rc = add_real(out, s, st->key, last)) < 0)
			return rc;
		if (store_real_failed(&out->reals[0]))
			return 0;
		md_outcome_dispose(out);
		memset(out, 0, sizeof(*out));
	}
	if ((rc = store_runs(&runs, &n, s, st->key)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		size_t at = b->match == MD_MATCH_LATEST ? n - 1 - i : i;
		bool seen = false;

		if (runs[at].failed && !b->error_ok)
			continue;
		for (j = 0; j < out->n; j++)
			seen |= !strcmp(out->reals[j].rhash, runs[at].rhash);
		if (!seen)
			rc = add_real(out, s, st->key, runs[at].rhash);
		if (b->match != MD_MATCH_ALL)
			break;
	}
	free(runs);
	if (rc == 0 && out->n == 0)
		rc = md_err_set("%s: no realization to show", st->key);
	return rc;
}

int
md_exec_realize(struct md_outcome *out, struct store *s,
		const struct md_stage *st, const struct md_exec_opts *o)
{
	const struct md_block *b = st->block;
	struct store_run *runs = NULL;
	size_t n = 0, i, good = 0, runs_made = 0;
	char last[MD_HASH_HEX] = "";
	int lock, rc, need;

	memset(out, 0, sizeof(*out));
	if ((lock = store_lock_key(s, st->key)) < 0)
		return lock;
	if ((rc = store_runs(&runs, &n, s, st->key)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		good += !runs[i].failed || b->error_ok;
	/* nouts=N: N runs, equal or not; cache=false and --rebuild: one more. */
	need = b->nouts - (int)good;
	if ((!b->cache || o->rebuild) && need < 1)
		need = 1;
	for (; need > 0; need--) {
		if ((rc = run_once(last, s, st, o)) < 0)
			goto done;
		runs_made++;
		struct store_real probe;
		memset(&probe, 0, sizeof(probe));
		/* A failure the block does not expect stops the repeats. */
		if (!b->error_ok && store_read(&probe, s, st->key, last) == 0 &&
		    store_real_failed(&probe)) {
			store_real_dispose(&probe);
			break;
		}
		store_real_dispose(&probe);
	}
	if ((rc = pick(out, s, st, runs_made ? last : NULL)) < 0)
		goto done;
	out->ran = runs_made;
	out->failed = !b->error_ok && out->n == 1 &&
		      store_real_failed(&out->reals[0]);
done:
	free(runs);
	store_unlock(lock);
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
}
