#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../util/err.h"

void
md_stage_key(struct md_stage *st, const char *dir, const char *prev_key,
	     const char *prev_rhash)
{
	struct md_block *b = st->block;
	struct store_field f[] = {
		{ "mdrun-key", MD_KEY_VERSION },
		{ "lang", st->interp->lang },
		{ "interpreter", st->identity },
		{ "runner", st->session ? "session" : "process" },
		{ "dir", dir },
		{ "code", b->code },
		{ "prev-key", prev_key },
		{ "prev-rhash", prev_rhash },
	};
	size_t n = prev_key ? 8 : 6;

	free(st->drv);
	store_key(st->key, f, n);
	st->drv = store_drv_json(f, n);
}

static int
located(const struct md_doc *doc, const struct md_block *b, const char *fmt,
	const char *a, const char *why)
{
	struct md_buf msg = MD_BUF_INIT;
	int rc;

	md_buf_printf(&msg, fmt, a, why ? why : "");
	rc = md_err_set("%s:%d:%d: %s", doc->path, b->line, b->info_col,
			msg.ptr);
	md_buf_dispose(&msg);
	return rc;
}

int
md_plan_build(struct md_plan *out, struct md_doc *doc,
	      struct md_interps *interps, const char *dir,
	      md_identity_fn identity, void *ctx)
{
	size_t i, j;
	int rc;

	memset(out, 0, sizeof(*out));
	out->dir = md_strdup(dir);
	out->stages = md_calloc(doc->nblocks, sizeof(*out->stages));
	for (i = 0; i < doc->nblocks; i++) {
		struct md_block *b = &doc->blocks[i];
		const struct md_interp *found;
		struct md_stage *st;
		const char *session;

		if (!b->exec)
			continue;
		found = md_interp_find(interps, b->lang);
		if (!found) {
			/* --all runs what it can and shows the rest. */
			if (b->info[0] != '{') {
				b->exec = false;
				continue;
			}
			return located(doc, b, "no interpreter for '%s'%s",
				       b->lang, NULL);
		}
		st = &out->stages[out->n++];
		st->block = b;
		st->interp = (struct md_interp *)found;
		st->prev = -1;
		session = md_block_opt(b, "session");
		if (session && !strcmp(session, "none"))
			session = NULL;
		else if (!session && found->session)
			session = found->lang;
		if (session && found->driver == MD_DRIVER_NONE)
			return located(doc, b, "'%s' has no session driver: "
					       "use session=none%s",
				       found->lang, NULL);
		st->session = session;
		if ((rc = identity(&st->identity, st->interp, ctx)) < 0) {
			char *why = md_strdup(md_err_msg());
			rc = located(doc, b, "no interpreter for '%s': %s",
				     b->lang, why);
			free(why);
			return rc;
		}
		for (j = out->n - 1; session && j-- > 0;) {
			struct md_stage *p = &out->stages[j];
			if (!p->session || strcmp(p->session, session))
				continue;
			if (p->interp != st->interp)
				return located(doc, b, "session '%s' already "
						       "runs another language"
						       "%s",
					       session, NULL);
			st->prev = (int)j;
			break;
		}
		if (session && b->nouts > 1)
			return located(doc, b, "nouts needs session=none: a "
					       "block in session '%s' runs "
					       "once per render%s",
				       session, NULL);
		if (st->prev < 0)
			md_stage_key(st, dir, NULL, NULL);
	}
	return 0;
}

void
md_plan_dispose(struct md_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->stages[i].drv);
	free(p->stages);
	free(p->dir);
	memset(p, 0, sizeof(*p));
}
