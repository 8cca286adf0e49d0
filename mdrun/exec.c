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

int
md_exec_realize(struct md_outcome *out, struct store *s,
		const struct md_stage *st, const struct md_exec_opts *o)
{
	const struct md_block *b = st->block;
	const char *argv[5];
	struct md_proc_opts po;
	struct md_proc_result r;
	struct store_result sr;
	int rc, k = 0;

	memset(out, 0, sizeof(*out));
	/* cache=false realizes again; error=true accepts a failure. */
	rc = b->cache ? store_lookup(&out->real, s, st->key, b->error_ok)
		      : MD_ENOTFOUND;
	if (rc == 0) {
		out->cached = true;
		return 0;
	}
	if (rc != MD_ENOTFOUND)
		return rc;
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
	sr.document = o->document;
	sr.line = b->line;
	if ((rc = store_commit(out->real.rhash, s, st->key, st->drv, &sr)) < 0)
		goto done;
	out->real.out = r.out;
	out->real.err = r.err;
	memset(&r.out, 0, sizeof(r.out));
	memset(&r.err, 0, sizeof(r.err));
	out->real.exit_code = r.exit_code;
	out->real.signal = r.signal;
	out->real.timed_out = r.timed_out;
	out->real.start = r.start;
	out->real.end = r.end;
done:
	md_proc_result_dispose(&r);
	return rc;
}

void
md_outcome_dispose(struct md_outcome *o)
{
	store_real_dispose(&o->real);
}
