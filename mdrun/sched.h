/*
 * The scheduler: realizes every stage of a plan on up to `jobs` threads.
 * A unit of work is a session (its blocks in order, in one interpreter)
 * or a block that runs alone; deps= add edges, always to earlier blocks,
 * so the graph is acyclic. Up to `jobs` worker threads take units in
 * order; a worker waiting for a dependency lets another start, so no
 * number of jobs can deadlock. After a failure no new
 * block starts, unless keep_going: then only blocks reading a failed one
 * (deps=) are left out.
 */
#ifndef MD_SCHED_H
#define MD_SCHED_H

#include <stdbool.h>

#include "exec.h"

struct md_sched {
	/* In. */
	struct store *store;
	struct md_plan *plan;
	const struct md_exec_opts *opts;
	int jobs;
	bool keep_going;
	/* Called with the scheduler's lock held, so they may print. */
	void (*started)(size_t stage, void *ctx);
	void (*finished)(size_t stage, const struct md_outcome *oc, void *ctx);
	void *ctx;
	/* Out, one per stage: what it shows, or why it did not run. */
	const struct md_outcome **shown;
	const char **skipped;
	/* Inside. */
	struct md_sched_state *state;
};

/*
 * Runs the plan. Fails (message set) when a stage could not be realized;
 * a block that fails is no error. Dispose with md_sched_dispose, which
 * frees the outcomes.
 */
int md_sched_run(struct md_sched *sc);
void md_sched_dispose(struct md_sched *sc);

#endif
