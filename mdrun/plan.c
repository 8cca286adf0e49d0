#include "plan.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../util/err.h"

static void
stage_key(struct md_stage *st, const char *dir)
{
	struct md_hash h;
	struct md_block *b = st->block;
	cJSON *drv = cJSON_CreateObject();

	md_hash_init(&h);
	md_hash_field(&h, "mdrun-key", MD_KEY_VERSION, 1);
	md_hash_field(&h, "lang", st->interp->lang, strlen(st->interp->lang));
	md_hash_field(&h, "interpreter", st->identity, strlen(st->identity));
	md_hash_field(&h, "dir", dir, strlen(dir));
	md_hash_field(&h, "code", b->code, b->code_len);
	md_hash_final(st->key, &h);

	cJSON_AddStringToObject(drv, "mdrun-key", MD_KEY_VERSION);
	cJSON_AddStringToObject(drv, "lang", st->interp->lang);
	cJSON_AddStringToObject(drv, "interpreter", st->identity);
	cJSON_AddStringToObject(drv, "dir", dir);
	cJSON_AddStringToObject(drv, "code", b->code);
	st->drv = cJSON_Print(drv);
	cJSON_Delete(drv);
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
