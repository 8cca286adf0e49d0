/* Progress on stderr while blocks run: see cli.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "../core/proc.h"

/*
 * What the scheduler's callbacks count and print. The live line on a
 * terminal is redrawn when a block starts or ends, and every 250 ms by a
 * ticker thread, so a long block shows its elapsed time.
 */
struct cli_progress {
	const struct cli_render_opts *a;
	const struct md_notebook *nb;
	size_t done, cached;
	struct md_buf msg;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* the render is over: the ticker stops */
	double *since; /* per stage: when it started, 0 when not running */
	double *told;  /* per stage: when "still running" was last said */
	bool ticking;
	pthread_t ticker;
};

/*
 * Off a terminal, a block running longer than HEARTBEAT_FIRST seconds is
 * named every HEARTBEAT_EVERY seconds, so that a CI log is never silent
 * for minutes.
 */
#define HEARTBEAT_FIRST 10.0
#define HEARTBEAT_EVERY 30.0

static void
live_clear(const struct cli_render_opts *a)
{
	if (a->tty)
		fputs("\r\033[K", stderr);
}

/* The live line: done/total, cached, running blocks and their times. */
static void
live(struct cli_progress *rp)
{
	struct md_buf l = MD_BUF_INIT;
	double now = md_mono();
	size_t shown = 0;

	if (!rp->a->tty)
		return;
	md_buf_printf(&l, "\r\033[K[%zu/%zu] %zu cached", rp->done,
		      rp->nb->d.plan.n, rp->cached);
	for (size_t i = 0; i < rp->nb->d.plan.n; i++) {
		if (rp->since[i] <= 0)
			continue;
		if (shown++ == 3) {
			md_buf_puts(&l, " ...");
			break;
		}
		md_buf_printf(&l, "%s %s %.1fs", shown == 1 ? ", running" : ",",
			      rp->nb->d.plan.stages[i].block->name,
			      now - rp->since[i]);
	}
	fputs(l.ptr, stderr);
	fflush(stderr);
	md_buf_dispose(&l);
}

/* The "still running" lines off a terminal. Under the lock. */
static void
heartbeat(struct cli_progress *rp)
{
	double now = md_mono();

	for (size_t i = 0; i < rp->nb->d.plan.n; i++) {
		const struct md_block *b = rp->nb->d.plan.stages[i].block;
		double ran = now - rp->since[i];

		if (rp->since[i] <= 0 || ran < HEARTBEAT_FIRST ||
		    (rp->told[i] > 0 && now - rp->told[i] < HEARTBEAT_EVERY))
			continue;
		rp->told[i] = now;
		fprintf(stderr, "mdrun: still running %s (%s:%d) after %.0f s\n",
			b->name, rp->nb->d.name, b->line, ran);
	}
}

static void *
tick(void *arg)
{
	struct cli_progress *rp = arg;

	pthread_mutex_lock(&rp->mu);
	while (rp->ticking) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rp->cv, &rp->mu, &ts);
		if (!rp->ticking)
			break;
		if (rp->a->tty)
			live(rp);
		else
			heartbeat(rp);
	}
	pthread_mutex_unlock(&rp->mu);
	return NULL;
}

static void
started(size_t i, void *ctx)
{
	struct cli_progress *rp = ctx;

	pthread_mutex_lock(&rp->mu);
	rp->since[i] = md_mono();
	rp->told[i] = 0;
	live(rp);
	pthread_mutex_unlock(&rp->mu);
}

static void
finished(size_t i, const struct md_outcome *oc, void *ctx)
{
	struct cli_progress *rp = ctx;
	const struct md_stage *st = &rp->nb->d.plan.stages[i];
	const char *name = rp->nb->d.name;

	pthread_mutex_lock(&rp->mu);
	rp->since[i] = 0;
	rp->done++;
	rp->cached += oc->ran == 0 && !oc->replayed;
	md_buf_clear(&rp->msg);
	if (oc->failed) {
		md_exit_describe(&rp->msg, &oc->reals[0].exit);
		live_clear(rp->a);
		fprintf(stderr, "%s:%d: block %s failed (%s)\n", name,
			st->block->line, st->block->name, rp->msg.ptr);
	} else if (rp->a->per_block && !rp->a->tty) {
		if (oc->ran || oc->replayed)
			fprintf(stderr, "mdrun: %s %s (%s:%d) in %.0f ms\n",
				oc->ran ? "ran" : "replayed", st->block->name,
				name, st->block->line, oc->ms);
		else
			fprintf(stderr, "mdrun: cached %s (%s:%d)\n",
				st->block->name, name, st->block->line);
	}
	live(rp);
	pthread_mutex_unlock(&rp->mu);
}

static void
progress(const char *msg, void *ctx)
{
	struct cli_progress *rp = ctx;

	live_clear(rp->a);
	fprintf(stderr, "mdrun: %s\n", msg);
}

static void
warning(const char *msg, void *ctx)
{
	struct cli_progress *rp = ctx;

	live_clear(rp->a);
	fprintf(stderr, "%s\n", msg);
}


struct cli_progress *
cli_progress_start(const struct cli_render_opts *a,
		   const struct md_notebook *nb, struct md_nb_opts *o)
{
	struct cli_progress *rp = md_calloc(1, sizeof(*rp));
	size_t n = nb->d.plan.n;

	rp->a = a;
	rp->nb = nb;
	pthread_mutex_init(&rp->mu, NULL);
	pthread_cond_init(&rp->cv, NULL);
	rp->since = md_calloc(n + 1, sizeof(*rp->since));
	rp->told = md_calloc(n + 1, sizeof(*rp->told));
	/*
	 * Set before the thread starts, which reads it: set after, a
	 * ticker scheduled first would see false and stop at once.
	 */
	rp->ticking = a->tty || a->per_block;
	if (rp->ticking && pthread_create(&rp->ticker, NULL, tick, rp) != 0)
		rp->ticking = false;
	o->started = started;
	o->finished = finished;
	o->note = a->quiet || !a->per_block ? NULL : progress;
	o->warn = a->quiet ? NULL : warning;
	o->ctx = rp;
	return rp;
}

/* A warning after the progress ended: nothing live to clear. */
static void
warning_plain(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

void
cli_progress_end(struct cli_progress *p, struct md_nb_opts *o)
{
	struct cli_progress *rp = p;

	if (!rp)
		return;
	/* What the notebook says from now on needs no p. */
	o->started = NULL;
	o->finished = NULL;
	o->note = NULL;
	if (o->warn)
		o->warn = warning_plain;
	o->ctx = NULL;
	if (rp->ticking) {
		pthread_mutex_lock(&rp->mu);
		rp->ticking = false;
		pthread_cond_signal(&rp->cv);
		pthread_mutex_unlock(&rp->mu);
		pthread_join(rp->ticker, NULL);
	}
	live_clear(rp->a);
	free(rp->since);
	free(rp->told);
	md_buf_dispose(&rp->msg);
	pthread_cond_destroy(&rp->cv);
	pthread_mutex_destroy(&rp->mu);
	free(rp);
}
