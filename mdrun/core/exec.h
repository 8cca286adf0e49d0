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
 *
 * Locks, in the one order they are taken (flock(2) files under the
 * store's locks/, then short ones):
 *
 *   1. locks/gc, the store lock: shared by a render from before it plans
 *      to its end (and by store ls, show, verify, push and pull);
 *      exclusive by gc and store rm, which take no other lock.
 *   2. One per thread (but see below) of: locks/session-KEY, a session's lock
 *      (KEY: its first block's key), held while md_chain_upto realizes
 *      its blocks and released by md_chain_release, after its last
 *      block, or on an error; locks/KEY, a key's lock, held while
 *      md_exec_realize runs that block (or store_pull commits that key).
 *      The exception: a lone block's key stays locked while its rows
 *      wait, until they are written once the thread's next lone block
 *      has started, so a thread holds two keys' locks meanwhile. The
 *      second is only tried (store_trylock_key), never waited for: a
 *      thread that finds it held, or that would wait for anything else,
 *      writes the rows and lets the first go before it waits
 *      (md_exec_settle).
 *   3. Short locks: the store's own (its connection's mutex and
 *      SQLite's write lock, for one transaction) and mutexes (the scheduler's, then progress's; the
 *      store's read cache; the process list). Held for bounded work, at
 *      most printing a line; never while waiting for a lock of level 1
 *      or 2, or for a block.
 *
 * Why no wait lasts forever: a thread that holds a lock of level 2 waits
 * only for the block it runs (ended by its timeout) and for level 3, so
 * it gets on and releases it. Every other wait is made holding no lock
 * of level 2: a thread waits for one holding only level 1, and a worker
 * lets go of its session's lock before it waits for another block
 * (deps=, md_chain_release). So no two renders, and no two sessions of
 * one render, each hold what the other waits for. Level 1 shared blocks
 * only gc and rm, which wait holding nothing; once gc holds it, gc waits
 * for nothing, and renders behind it go on when it ends. (A block that
 * runs mdrun on the same store, needing a lock its render holds, waits
 * until its timeout.)
 */
#ifndef MD_EXEC_H
#define MD_EXEC_H

#include <stdbool.h>

#include "plan.h"
#include "track.h"
#include "../../store/store.h"

#define MD_EXEC_CAP (1024 * 1024)
#define MD_EXEC_TIMEOUT 600

struct md_exec_opts {
	const char *cwd;      /* the document's folder */
	const char *document; /* its path, for messages and the meta */
	const char *shown;    /* MDRUN_DOC (cli_doc's shown), or NULL */
	double timeout;       /* seconds, unless the block sets its own */
	size_t cap;	      /* bytes kept of stdout and of stderr */
	const char *git_commit; /* provenance, or NULL */
	bool git_dirty;
	bool rebuild;	     /* every block: add a realization */
	const char *rebuild_one; /* or the block of this name */
	bool later; /* cached runs read by md_outcomes_load, not at once */
	/* What blocks' processes log of the files they read (track.h). */
	struct md_track_where track;
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
 * realizes its members up to index upto, taking the session's lock when
 * it does not hold it; once the last member is realized, or on an error,
 * it stops the interpreter and releases the lock. Outcomes stay in the
 * chain until md_chain_free.
 */
struct md_chain;
int md_chain_new(struct md_chain **out, struct store *s, struct md_plan *p,
		 const size_t *members, size_t n, const struct md_exec_opts *o);
int md_chain_upto(struct md_chain *c, size_t upto);
/*
 * Releases the session's lock (the interpreter stays): call it before
 * waiting for anything. Another process may realize members meanwhile;
 * md_chain_upto finds them in the store. No-op when not held.
 */
void md_chain_release(struct md_chain *c);
/*
 * Writes the rows of the chain's runs that still wait (they are written
 * while a later block runs: exec.c, later_idle). md_chain_release does this
 * too; a caller about to wait calls it first, holding nothing, and so
 * does one done with the chain's unit (members skipped after a failure
 * never reach its end). A failure is returned, and is the chain's next
 * error too.
 */
int md_chain_settle(struct md_chain *c);
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
/* Why a stage runs (md_exec_status); MD_WHY_CACHED: it does not. */
enum md_why {
	MD_WHY_CACHED = 0,
	MD_WHY_REBUILD,	 /* --rebuild */
	MD_WHY_NO_CACHE, /* cache=false */
	MD_WHY_NEVER,	 /* no run in the store under its key */
	MD_WHY_FAILED,	 /* its last run failed, error=true aside */
	MD_WHY_CUT,	 /* its output was cut at a smaller --max-output */
	MD_WHY_NOUTS,	 /* fewer good runs than nouts */
	MD_WHY_INPUT,	 /* a file its latest run read changed (changed) */
	MD_WHY_UPSTREAM	 /* no key yet: an upstream block must run first */
};

/*
 * Whether a keyed stage would run now, and why, without running
 * anything. MD_WHY_INPUT names the file in changed.
 */
int md_exec_status(enum md_why *out, struct md_buf *changed,
		   struct store *s, const struct md_stage *st,
		   const struct md_exec_opts *o);

/*
 * Writes the rows of the last lone block this thread ran, which wait for
 * its next lone block to start (exec.c: lone), and lets its key's lock
 * go: before the thread waits for anything else, and before it ends.
 * Returns a failure to write them, now or while a block ran.
 */
int md_exec_settle(void);

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

/*
 * mdrun watch: sessions outlive the render that started them, and python
 * sessions keep up to snapshots stopped copies of their interpreter (0:
 * none), holding at most memory bytes of private pages in all (0: no
 * cap), so that the next render of the same document continues
 * where its blocks still are the document's (exec.c, "Warm sessions").
 */
void md_exec_warm(bool on, size_t snapshots, size_t memory);
/*
 * How many stopped copies the parked sessions hold, and the memory they
 * alone hold (their private pages, KiB: what ending them would free).
 */
void md_exec_warm_usage(size_t *snaps, size_t *kib);

#endif
