/*
 * Realize (pylightnix's "realize"): a stage whose key has enough
 * successful runs in the store is a cache hit; otherwise it runs, and each
 * run is committed to the store. Under the key's lock, so two processes
 * never run one key at once: the second waits and reuses the first's.
 *
 * A block with session=none runs as its own process. The blocks of a
 * session run in order in one interpreter; their keys chain (each holds
 * the previous block's key and latest rhash). When block k must run and
 * the interpreter does not hold the state after block k-1, a fresh one
 * first replays the blocks before it, from the last one whose run ended
 * the interpreter. A replay restores state only: it commits nothing and
 * changes neither what a block shows nor any key, so a render realizes
 * each block at most once and always ends.
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
	bool rebuild;	     /* every block: add a realization */
	const char *rebuild_one; /* or the block of this name */
	bool later; /* cached runs read by md_outcomes_load, not at once */
	/* Progress notes ("replaying ..."), or NULL. */
	void (*note)(const char *msg, void *ctx);
	/* Warnings ("FILE:LINE: block NAME printed ..."), or NULL. */
	void (*warn)(const char *msg, void *ctx);
	void *ctx;
};

struct md_outcome {
	/* What the block shows: one realization, or every one (match=all). */
	struct store_real *reals;
	size_t n;
	size_t ran;  /* runs made now; 0: a cache hit */
	bool failed; /* what it shows is a failure the block did not expect */
	/* Run again now only to rebuild its session's state (not shown). */
	bool replayed;
	bool replay_differs; /* and printed something else than shown */
	double ms;	     /* time spent running it now (runs, replay) */
};

/*
 * Realizes a block that runs as its own process. Fails only when it could
 * not be run or committed (message set); a block that exits non-zero is a
 * realization whose status says so. Dispose with md_outcome_dispose.
 */
int md_exec_realize(struct md_outcome *out, struct store *s,
		    struct md_plan *p, struct md_stage *st,
		    const struct md_exec_opts *o);

/*
 * A session being realized block by block, so that blocks of other
 * sessions can run in between (deps= across sessions). md_chain_upto
 * realizes its members up to index upto; outcomes stay in the chain until
 * md_chain_free. Holds the session's lock from new to free.
 */
struct md_chain;
int md_chain_new(struct md_chain **out, struct store *s, struct md_plan *p,
		 const size_t *members, size_t n, const struct md_exec_opts *o);
int md_chain_upto(struct md_chain *c, size_t upto);
struct md_outcome *md_chain_outcome(struct md_chain *c, size_t i);
void md_chain_free(struct md_chain *c);

/*
 * Realizes the n stages of one session (indexes into p->stages, in
 * order), keying each as it goes; outs[i] is members[i]'s outcome.
 */
int md_exec_session(struct md_outcome *outs, struct store *s,
		    struct md_plan *p, const size_t *members, size_t n,
		    const struct md_exec_opts *o);
void md_outcome_dispose(struct md_outcome *o);
/*
 * Whether a keyed stage would run now, and why (a constant string:
 * "--rebuild", "cache=false", "never realized", "failed last time",
 * "fewer runs than nouts"), without running anything.
 */
int md_exec_status(bool *cached, const char **why, struct store *s,
		   const struct md_stage *st, const struct md_exec_opts *o);

/* Removes the scratch folder process blocks used (by this thread). */
void md_exec_finish(void);

/*
 * Keys every stage whose upstream is in the store, without running
 * anything: a session block's key follows its previous block's latest
 * realization. A stage whose upstream was never realized keeps an empty
 * key.
 */
int md_exec_keys(struct md_plan *p, struct store *s);

/*
 * Reads the outputs that realizing left for later (md_exec_opts.later) of
 * the n outcomes in v (NULL entries skipped), with up to jobs threads.
 */
int md_outcomes_load(const struct md_outcome *const *v, size_t n, int jobs);

#endif
