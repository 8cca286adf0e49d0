#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../util/err.h"

static void
stage_key(struct md_stage *st, const char *dir)
{
	struct md_block *b = st->block;
	struct store_field f[] = {
		{ "mdrun-key", MD_KEY_VERSION },
		{ "lang", st->interp->lang },
		{ "interpreter", st->identity },
		{ "dir", dir },
		{ "code", b->code },
	};
	size_t n = sizeof(f) / sizeof(*f);

	store_key(st->key, f, n);
	st->drv = store_drv_json(f, n);
}

int
md_plan_build(struct md_plan *out, struct md_doc *doc, const char *dir,
	      md_identity_fn identity, void *ctx)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->stages = md_calloc(doc->nblocks, sizeof(*out->stages));
	for (i = 0; i < doc->nblocks; i++) {
		struct md_block *b = &doc->blocks[i];
		const struct md_interp *in;
		struct md_stage *st;

		if (!b->exec)
			continue;
		in = md_interp_find(b->lang);
		if (!in) {
			/* --all runs what it can and shows the rest. */
			if (b->info[0] != '{') {
				b->exec = false;
				continue;
			}
			return md_err_set("%s:%d:%d: no interpreter for '%s'",
					  doc->path, b->line, b->info_col,
					  b->lang);
		}
		st = &out->stages[out->n++];
		st->block = b;
		st->interp = in;
		if ((rc = identity(&st->identity, in, ctx)) < 0) {
			char *why = md_strdup(md_err_msg());
			rc = md_err_set("%s:%d:%d: no interpreter for '%s': %s",
					doc->path, b->line, b->info_col,
					b->lang, why);
			free(why);
			return rc;
		}
		stage_key(st, dir);
	}
	return 0;
}

void
md_plan_dispose(struct md_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->stages[i].identity);
		free(p->stages[i].drv);
	}
	free(p->stages);
	memset(p, 0, sizeof(*p));
}
