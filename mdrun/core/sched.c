#include "sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/err.h"

struct unit {
	size_t *members; /* stage indexes, in order */
	size_t n;
	struct md_chain *chain; /* a session; NULL for a lone block */
	struct md_sched *sc;
};

/*
 * Workers take units in order. A worker waiting for a dependency counts
 * as idle: when fewer than `jobs` workers are busy and units are left,
 * another worker starts, so a wait never stalls the rest.
 */
struct md_sched_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* a stage is done: waiters on deps look */
	pthread_cond_t idle; /* the last worker is gone */
	size_t next;	/* the next unit to take */
	int workers;	/* alive */
	int waiting;	/* of which waiting for a dependency */
	bool *done;
	bool *bad;
	size_t first_fail; /* the first failed stage; plan->n: none */
	bool stop;	   /* an error: nothing new starts */
	char *error;
	struct unit *units;
	size_t nunits;
	struct md_outcome *alone; /* outcomes of lone blocks */
};

static bool
deps_done(struct md_sched *sc, size_t i)
{
	const struct md_stage *st = &sc->plan->stages[i];

	for (size_t k = 0; k < st->ndeps; k++)
		if (!sc->state->done[st->deps[k]])
			return false;
	return true;
}

/* Why stage i must not run, or MD_SKIP_NONE. Under the lock. */
static enum md_skip
skip_reason(struct md_sched *sc, size_t i)
{
	const struct md_stage *st = &sc->plan->stages[i];

	if (sc->state->stop)
		return MD_SKIP_STOPPED;
	if (!sc->keep_going && i > sc->state->first_fail)
		return MD_SKIP_FAILED;
	for (size_t k = 0; k < st->ndeps; k++)
		if (sc->state->bad[st->deps[k]])
			return MD_SKIP_UPSTREAM;
	return MD_SKIP_NONE;
}

/* A failure on mdrun's side: nothing new starts, and it is said. Locked. */
static void
stop(struct md_sched_state *s)
{
	if (!s->error)
		s->error = md_strdup(md_err_msg());
	s->stop = true;
}

static void
skip(struct md_sched *sc, size_t i, enum md_skip why)
{
	sc->why[i] = why;
	sc->shown[i] = NULL;
}

static int
realize(struct unit *u, size_t pos, const struct md_outcome **out)
{
	struct md_sched *sc = u->sc;
	size_t i = u->members[pos];
	int rc;

	if (!u->chain && !sc->plan->stages[i].session) {
		rc = md_exec_realize(&sc->state->alone[i], sc->store, sc->plan,
				     &sc->plan->stages[i], sc->opts);
		*out = &sc->state->alone[i];
		return rc;
	}
	/* A session's lock is waited for: no lone rows wait meanwhile. */
	if ((rc = md_exec_settle()) < 0)
		return rc;
	if (!u->chain && (rc = md_chain_new(&u->chain, sc->store, sc->plan,
					    u->members, u->n, sc->opts)) < 0)
		return rc;
	if ((rc = md_chain_upto(u->chain, pos)) == 0)
		*out = md_chain_outcome(u->chain, pos);
	return rc;
}

static void *worker(void *arg);

/* Starts a worker when too few are busy and units are left. Locked. */
static void
maybe_spawn(struct md_sched *sc)
{
	struct md_sched_state *s = sc->state;
	pthread_t t;

	if (s->next >= s->nunits || s->workers - s->waiting >= sc->jobs)
		return;
	s->workers++;
	if (pthread_create(&t, NULL, worker, sc) != 0) {
		s->workers--;
		return; /* the workers there are go on */
	}
	pthread_detach(t);
}

/*
 * Reports the session members found cached so far (under the lock). Their
 * report waits for the next block that runs: running it may replay them.
 */
static void
flush(struct md_sched *sc, size_t *pending, size_t *npending)
{
	for (size_t k = 0; k < *npending; k++)
		if (sc->finished && sc->shown[pending[k]])
			sc->finished(pending[k], sc->shown[pending[k]],
				     sc->ctx);
	*npending = 0;
}

static void
run_unit(struct unit *u)
{
	struct md_sched *sc = u->sc;
	struct md_sched_state *s = sc->state;
	size_t *pending = md_calloc(u->n, sizeof(*pending)), npending = 0;

	for (size_t pos = 0; pos < u->n; pos++) {
		size_t i = u->members[pos];
		const struct md_outcome *oc = NULL;
		enum md_skip why;
		bool waited = false;
		int rc;

		pthread_mutex_lock(&s->mu);
		/*
		 * The rows of the chain's last run, and of this thread's last
		 * lone block, are written before it waits, and not under the
		 * scheduler's mutex.
		 */
		if (!deps_done(sc, i)) {
			pthread_mutex_unlock(&s->mu);
			if (u->chain)
				md_chain_settle(u->chain);
			rc = md_exec_settle();
			pthread_mutex_lock(&s->mu);
			if (rc < 0)
				stop(s);
		}
		while (!deps_done(sc, i)) {
			if (!waited) {
				/*
				 * Never wait holding a session's lock: what
				 * this waits for may wait for that lock, in
				 * this render or another (exec.h: Locks).
				 */
				if (u->chain)
					md_chain_release(u->chain);
				s->waiting++;
				waited = true;
				maybe_spawn(sc);
			}
			pthread_cond_wait(&s->cv, &s->mu);
		}
		if (waited)
			s->waiting--;
		if ((why = skip_reason(sc, i))) {
			skip(sc, i, why);
			s->bad[i] = s->done[i] = true;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		if (sc->started)
			sc->started(i, sc->ctx);
		pthread_mutex_unlock(&s->mu);

		rc = realize(u, pos, &oc);

		pthread_mutex_lock(&s->mu);
		if (rc < 0) {
			stop(s);
			skip(sc, i, MD_SKIP_STOPPED);
			s->bad[i] = true;
		} else {
			sc->shown[i] = oc;
			if (oc->failed) {
				s->bad[i] = true;
				if (i < s->first_fail)
					s->first_fail = i;
			}
			if (u->chain && !oc->ran && !oc->failed) {
				pending[npending++] = i;
			} else {
				flush(sc, pending, &npending);
				if (sc->finished)
					sc->finished(i, oc, sc->ctx);
			}
		}
		s->done[i] = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	/* Members skipped at the end leave the last run's rows waiting. */
	int rc = u->chain ? md_chain_settle(u->chain) : 0;

	pthread_mutex_lock(&s->mu);
	if (rc < 0)
		stop(s);
	flush(sc, pending, &npending);
	pthread_mutex_unlock(&s->mu);
	free(pending);
}

static void *
worker(void *arg)
{
	struct md_sched *sc = arg;
	struct md_sched_state *s = sc->state;

	for (;;) {
		struct unit *u;

		pthread_mutex_lock(&s->mu);
		if (s->next >= s->nunits) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		u = &s->units[s->next++];
		pthread_mutex_unlock(&s->mu);
		run_unit(u);
	}
	/* This thread's waiting rows, and scratch folder, for lone blocks. */
	if (md_exec_settle() < 0) {
		pthread_mutex_lock(&s->mu);
		stop(s);
		pthread_mutex_unlock(&s->mu);
	}
	md_exec_finish();
	pthread_mutex_lock(&s->mu);
	if (--s->workers == 0)
		pthread_cond_signal(&s->idle);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Sessions by their first block, lone blocks alone, in document order. */
static void
make_units(struct md_sched *sc)
{
	struct md_plan *p = sc->plan;
	struct md_sched_state *s = sc->state;

	s->units = md_calloc(p->n, sizeof(*s->units));
	for (size_t i = 0; i < p->n; i++) {
		const struct md_stage *st = &p->stages[i];
		struct unit *u;

		if (st->session && st->prev >= 0)
			continue;
		u = &s->units[s->nunits++];
		u->sc = sc;
		if (!st->session) {
			u->members = md_calloc(1, sizeof(*u->members));
			u->members[u->n++] = i;
			continue;
		}
		/* A session's blocks: follow the prev links backwards. */
		for (size_t j = p->n; j-- > i;) {
			const struct md_stage *o = &p->stages[j];
			if (o->session && !strcmp(o->session, st->session)) {
				size_t count = 0;
				for (int k = (int)j; k >= 0; k = p->stages[k].prev)
					count++;
				u->members = md_calloc(count, sizeof(*u->members));
				u->n = count;
				for (int k = (int)j; k >= 0; k = p->stages[k].prev)
					u->members[--count] = (size_t)k;
				break;
			}
		}
	}
}

int
md_sched_run(struct md_sched *sc)
{
	struct md_plan *p = sc->plan;
	struct md_sched_state *s = md_calloc(1, sizeof(*s));
	int rc = 0;

	sc->state = s;
	if (sc->jobs < 1)
		sc->jobs = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->done = md_calloc(p->n, sizeof(*s->done));
	s->bad = md_calloc(p->n, sizeof(*s->bad));
	s->alone = md_calloc(p->n, sizeof(*s->alone));
	sc->shown = md_calloc(p->n, sizeof(*sc->shown));
	sc->why = md_calloc(p->n, sizeof(*sc->why));
	s->first_fail = p->n;
	make_units(sc);
	pthread_mutex_lock(&s->mu);
	for (int k = 0; k < sc->jobs; k++)
		maybe_spawn(sc);
	if (s->workers == 0 && s->nunits > 0) {
		s->error = md_strdup("cannot start a thread");
		s->stop = true;
	}
	while (s->workers > 0)
		pthread_cond_wait(&s->idle, &s->mu);
	pthread_mutex_unlock(&s->mu);
	/* Units nobody took (a thread could not start): not run. */
	for (size_t k = s->next; k < s->nunits; k++)
		for (size_t m = 0; m < s->units[k].n; m++)
			skip(sc, s->units[k].members[m], MD_SKIP_STOPPED);
	/*
	 * What ran after the first failure on another worker is not shown:
	 * a one-job render would not have started it. Readers of a block
	 * not shown are not shown either (keep_going keeps the rest).
	 */
	for (size_t i = 0; i < p->n; i++) {
		const struct md_stage *st = &p->stages[i];

		if (sc->why[i])
			continue;
		if (!sc->keep_going && i > s->first_fail)
			skip(sc, i, MD_SKIP_FAILED);
		for (size_t k = 0; k < st->ndeps && !sc->why[i]; k++)
			if (sc->why[st->deps[k]] ||
			    (sc->shown[st->deps[k]] &&
			     sc->shown[st->deps[k]]->failed))
				skip(sc, i, MD_SKIP_UPSTREAM);
	}
	if (s->error)
		rc = md_err_set("%s", s->error);
	return rc;
}

void
md_sched_dispose(struct md_sched *sc)
{
	struct md_sched_state *s = sc->state;

	if (!s)
		return;
	for (size_t k = 0; k < s->nunits; k++) {
		md_chain_free(s->units[k].chain);
		free(s->units[k].members);
	}
	for (size_t i = 0; i < sc->plan->n; i++)
		md_outcome_dispose(&s->alone[i]);
	free(s->units);
	free(s->alone);
	free(s->done);
	free(s->bad);
	free(s->error);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->idle);
	free(s);
	free(sc->shown);
	free(sc->why);
	sc->state = NULL;
}
