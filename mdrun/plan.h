/*
 * The plan (pylightnix's "instantiate"): every executable block becomes a
 * stage with a key before anything runs. Starts no process: interpreter
 * identities come from the caller.
 *
 * Key v1 = store_key over the fields, in this order:
 *   mdrun-key "1", lang, interpreter identity, dir (the document's folder
 *   relative to the repository root), code.
 * Nothing machine-specific enters it.
 */
#ifndef MD_PLAN_H
#define MD_PLAN_H

#include <stddef.h>

#include "doc.h"
#include "interp.h"
#include "../util/hash.h"

#define MD_KEY_VERSION "1"

struct md_stage {
	struct md_block *block; /* borrowed from the document */
	const struct md_interp *interp;
	char *identity;
	char key[MD_HASH_HEX];
	char *drv; /* JSON: what was hashed */
};

struct md_plan {
	struct md_stage *stages;
	size_t n;
};

/*
 * Returns the identity of an interpreter (caller frees), or fails with the
 * message set; MD_ENOTFOUND when it is not installed.
 */
typedef int (*md_identity_fn)(char **out, const struct md_interp *in,
			      void *ctx);

/*
 * Plans every executable block of doc. A language without an interpreter,
 * or one not installed, fails with "PATH:LINE:COL: ...". Dispose with
 * md_plan_dispose, also after a failure.
 */
int md_plan_build(struct md_plan *out, struct md_doc *doc, const char *dir,
		  md_identity_fn identity, void *ctx);
void md_plan_dispose(struct md_plan *p);

#endif
