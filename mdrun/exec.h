/*
 * Realize (pylightnix's "realize"): a stage whose key has a successful
 * realization in the store is a cache hit; any other runs, and its result
 * is committed to the store.
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
	const char *document; /* its path, for meta.json */
	double timeout;       /* seconds */
	size_t cap;	      /* bytes kept of stdout and of stderr */
};

struct md_outcome {
	struct store_real real; /* outputs and status */
	bool cached;		/* taken from the store, nothing ran */
};

/*
 * Realizes one stage. Fails only when it could not be run or committed
 * (message set); a block that exits non-zero is a successful realization
 * whose status says so. Dispose with md_outcome_dispose.
 */
int md_exec_realize(struct md_outcome *out, struct store *s,
		    const struct md_stage *st, const struct md_exec_opts *o);
void md_outcome_dispose(struct md_outcome *o);

#endif
