/*
 * The plan (pylightnix's "instantiate"): every executable block becomes a
 * stage with an interpreter, a session and the fields of its key. Starts
 * no process: interpreter identities come from the caller.
 *
 * Key v2 = store_key over the fields, in this order:
 *   mdrun-key "2", lang, interpreter identity, runner ("process" or
 *   "session"), dir (the document's folder relative to the repository
 *   root), doc (the document's file name), name (the block's), code; then
 *   only when the block has them: env (its env= variables and their
 *   values, unset ones marked), inputs (its inputs= files by path from
 *   the document's folder, and their SHA-256), deps (its deps= blocks by
 *   name, and the realization the document shows of each), and for a
 *   session block after the first: prev-key and prev-rhash, the previous
 *   block's key and shown realization. The three lists are md_key_pairs
 *   fields: no value can spell another item, and order does not count.
 * Nothing machine-specific enters it. A key with upstream stages is known
 * only once they are realized: md_stage_key computes it then.
 */
#ifndef MD_PLAN_H
#define MD_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "../doc/doc.h"
#include "interp.h"
#include "../../util/hash.h"

#define MD_KEY_VERSION "2"
/*
 * The output events of the python driver (mdrun/core/python), a field of
 * python blocks' keys: a new value runs them again.
 */
#define MD_PY_OUTPUTS "1"

struct md_stage {
	struct md_block *block; /* borrowed from the document */
	struct md_interp *interp;
	const char *identity;
	const char *session; /* its session's name, or NULL: own process */
	int prev;	     /* the previous stage of its session, or -1 */
	int *deps;	     /* its deps= stages */
	size_t ndeps;
	char *env;    /* the env field (see above), or NULL */
	char *inputs; /* the inputs field (see above), or NULL */
	char key[MD_HASH_HEX];
	char rhash[MD_HASH_HEX]; /* its latest realization, once known */
};

struct md_plan {
	struct md_stage *stages;
	size_t n;
	char *dir; /* the document's folder, as keys hold it */
	char *doc; /* the document's file name */
};

/*
 * Returns the identity of an interpreter (borrowed from it), or fails
 * with the message set; MD_ENOTFOUND when it is not installed.
 */
typedef int (*md_identity_fn)(const char **out, struct md_interp *in,
			      void *ctx);

/*
 * Plans every executable block of doc, and keys the stages that start
 * their session or run alone. A language without an interpreter, or one
 * not installed, fails with "PATH:LINE:COL: ...". Dispose with
 * md_plan_dispose, also after a failure.
 */
int md_plan_build(struct md_plan *out, struct md_doc *doc,
		  struct md_interps *interps, const char *dir, const char *cwd,
		  md_identity_fn identity, void *ctx);
void md_plan_dispose(struct md_plan *p);

/*
 * Calls fn on each item of a comma-separated option value (deps=, env=,
 * inputs=), spaces around items trimmed; stops at the first non-zero.
 */
int md_each_item(const char *list, int (*fn)(const char *item, void *ctx),
		 void *ctx);

/* One item of a list field: a name or path, and its value. Borrowed. */
struct md_key_pair {
	const char *a;
	const char *b; /* NULL: none (an env= variable that is not set) */
};

/*
 * Appends the list field of the n pairs at p: sorted (p is reordered),
 * repeats dropped, each as store_key_item(a) then '=' store_key_item(b),
 * or '!' when b is NULL. Equal sets of pairs give equal bytes; different
 * sets never do.
 */
void md_key_pairs(struct md_buf *out, struct md_key_pair *p, size_t n);

/*
 * Sets st->key from its fields and its upstream stages' keys and rhash
 * (which must be set). Returns false, with st->key empty, when an upstream
 * stage has no realization yet.
 */
bool md_stage_key(struct md_plan *p, struct md_stage *st);

/*
 * The JSON of what st's key hashes, for the store's drv record; NULL when
 * md_stage_key would find no key. Caller frees.
 */
char *md_stage_drv(const struct md_plan *p, const struct md_stage *st);

#endif
