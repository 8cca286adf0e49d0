/*
 * Realize (pylightnix's "realize"): a stage whose key has enough
 * successful runs in the store is a cache hit; otherwise it runs, and each
 * run is committed to the store. Under the key's lock, so two processes
 * never run one key at once: the second waits and reuses the first's.
 */
#ifndef MD_EXEC_H
#define MD_EXEC_H

#include <stdbool.h>

#include "plan.h"
#include "../store/store.h"

#define MD_EXEC_CAP (1024 * 1024)
#define MD_EXEC_TIMEOUT 600

struct md_exec_opts {
	const char *cwd;      /* the document's folder */
	const char *document; /* its path, for messages and meta.json */
	double timeout;       /* seconds, unless the block sets its own */
	size_t cap;	      /* bytes kept of stdout and of stderr */
	const char *git_commit; /* provenance, or NULL */
	bool git_dirty;
	bool rebuild; /* add a realization even when cached */
};

struct md_outcome {
	/* What the block shows: one realization, or every one (match=all). */
	struct store_real *reals;
	size_t n;
	size_t ran;  /* runs made now; 0: a cache hit */
	bool failed; /* what it shows is a failure the block did not expect */
};

/*
 * Realizes one stage. Fails only when it could not be run or committed
 * (message set); a block that exits non-zero is a realization whose
 * status says so. Dispose with md_outcome_dispose.
 */
int md_exec_realize(struct md_outcome *out, struct store *s,
		    const struct md_stage *st, const struct md_exec_opts *o);
void md_outcome_dispose(struct md_outcome *o);

#endif
