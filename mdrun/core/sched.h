/*
 * The scheduler: realizes every stage of a plan on up to `jobs` threads.
 * A unit of work is a session (its blocks in order, in one interpreter)
 * or a block that runs alone; deps= add edges, always to earlier blocks,
 * so the graph is acyclic. Up to `jobs` worker threads take units in
 * order; a worker waiting for a dependency lets another start, so no
 * number of jobs can deadlock, and releases its session's lock first,
 * so no other render or session can wait for it meanwhile (exec.h).
 *
 * Failures: the outcome is what a one-job render in document order would
 * show, whatever the number of jobs and the timing. Every block before
 * the first failing block (in document order) is realized and shown;
 * every block after it is not run: none starts once a failure is known,
 * and one that already ran on another worker is shown as not run (its
 * result stays in the store). With keep_going, only blocks reading a
 * failed or skipped one (deps=) are left out.
 */
#ifndef MD_SCHED_H
#define MD_SCHED_H

#include <stdbool.h>

#include "exec.h"
#include "../../renderer/view.h" /* enum md_skip */


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
	enum md_skip *why; /* MD_SKIP_NONE when shown */
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
