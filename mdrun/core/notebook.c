/*
 * The notebook: the pipeline from a document to its view (notebook.h).
 * Three kinds of threads start here: beside() finds the repository and
 * opens the store while the document parses, watch() ends a parse that
 * hangs, and record() writes the document's root while the caller
 * renders. Each hands its error back as text, which the caller's thread
 * makes its own message (md_err_set), so no message crosses threads.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "notebook.h"
#include "outputs.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "git.h"
#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/hash.h"

/* The store's folder when it does not depend on the work tree, or NULL. */
static const char *
store_named(const char *opt)
{
	const char *env = getenv("MDRUN_STORE");

	if (opt)
		return opt;
	return env && *env ? env : NULL;
}

/* The store: opt, else $MDRUN_STORE, else .mdrun in workdir or dir. */
static int
open_store(struct store **out, const char *opt, const char *dir,
	   const char *workdir)
{
	const char *named = store_named(opt);
	char *root;
	int rc;

	if (named)
		root = md_strdup(named);
	else
		root = md_path_join(workdir ? workdir : dir, ".mdrun");
	rc = store_open(out, root);
	free(root);
	return rc;
}

/* What is done beside the parse. */
struct beside {
	const char *dir, *path;
	char *workdir;
	pthread_t git;
	bool git_started, git_joined;
	struct store **store; /* NULL: no store wanted */
	const char *store_opt;
	int rc;
	char why[1024];
	/* Why the work tree could not be looked for (libgit2 missing). */
	char git_why[512];
};

/* Finds the work tree; libgit2's first use costs as much as a parse. */
static void *
find_workdir(void *arg)
{
	struct beside *g = arg;

	int rc;

	if (md_git_may_be_repo(g->dir))
		md_git_hold();
	if ((rc = md_git_workdir(&g->workdir, g->dir)) < 0)
		g->workdir = NULL;
	if (rc < 0 && rc != MD_ENOTFOUND)
		snprintf(g->git_why, sizeof(g->git_why), "%s", md_err_msg());
	return NULL;
}

static void
join_workdir(struct beside *g)
{
	if (g->git_joined)
		return;
	g->git_joined = true;
	if (g->git_started)
		pthread_join(g->git, NULL);
	else
		find_workdir(g);
}

static void *
beside(void *arg)
{
	struct beside *g = arg;
	char (*keys)[MD_HASH_HEX] = NULL, warm[MD_HASH_HEX];
	size_t n = 0;

	/*
	 * OpenSSL loads its providers at the first hash, about a
	 * millisecond: here rather than on the parse's thread, whose first
	 * hash (an interpreter's identity) follows it at once.
	 */
	md_hash_bytes(warm, "", 0);

	/*
	 * A store named by --store or MDRUN_STORE is opened, and read ahead,
	 * while the work tree is found; one in the work tree waits for it.
	 */
	g->git_started = pthread_create(&g->git, NULL, find_workdir, g) == 0;
	if (!g->store || !store_named(g->store_opt))
		join_workdir(g);
	/* Not in the wrong place: the store would be at the repository's root. */
	if (g->git_joined && g->git_why[0]) {
		g->rc = MD_ERROR;
		snprintf(g->why, sizeof(g->why), "%s", g->git_why);
		return NULL;
	}
	if (!g->store)
		return NULL;
	if ((g->rc = open_store(g->store, g->store_opt, g->dir,
				g->workdir)) < 0) {
		snprintf(g->why, sizeof(g->why), "%s", md_err_msg());
		join_workdir(g);
		return NULL;
	}
	/*
	 * What the last render used: those keys' runs, and the rows of their
	 * latest runs, are read now, so that realizing a warm block costs no
	 * query of its own.
	 */
	if (g->path && store_root_keys(&keys, &n, *g->store, g->path) == 0)
		store_prefetch(*g->store, g->path, keys, n);
	free(keys);
	join_workdir(g);
	return NULL;
}

/*
 * Ends mdrun when parsing takes too long: cmark-gfm 0.29.0.gfm.6 is
 * super-linear on some inline markup (emphasis between many links on one
 * line), and mdrun has written nothing yet that a stop could leave half
 * done. MDRUN_PARSE_SECONDS sets the limit (default 30).
 */
struct watchdog {
	const char *name;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void *
watch(void *arg)
{
	struct watchdog *w = arg;
	const char *env = getenv("MDRUN_PARSE_SECONDS");
	long limit = env && atol(env) > 0 ? atol(env) : 30;
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += limit;
	pthread_mutex_lock(&w->mu);
	while (!w->done &&
	       pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	if (!done) {
		fprintf(stderr, "mdrun: %s: parsing its Markdown took more than "
				"%ld s (cmark-gfm is slow on some inline "
				"markup, such as emphasis between thousands of "
				"links on one line); stopped\n",
			w->name, limit);
		_exit(2);
	}
	return NULL;
}

static int
parse_watched(struct md_nb_doc *d, unsigned flags)
{
	struct watchdog w = { .name = d->name };
	pthread_t t;
	bool watched;
	size_t len = d->src.len;
	int rc;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	watched = pthread_create(&t, NULL, watch, &w) == 0;
	rc = md_doc_parse_take(&d->doc, d->name, md_buf_detach(&d->src), len,
			       flags);
	pthread_mutex_lock(&w.mu);
	w.done = true;
	pthread_cond_signal(&w.cv);
	pthread_mutex_unlock(&w.mu);
	if (watched)
		pthread_join(t, NULL);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

static int
load(struct md_nb_doc *d, const char *input, unsigned flags,
     const char *config, struct store **store, const char *store_opt)
{
	char buf[PATH_MAX];
	struct beside g;
	pthread_t t;
	bool threaded;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!strcmp(input, "-")) {
		d->name = "<stdin>";
		if (!getcwd(buf, sizeof(buf)))
			return md_err_sys("the current folder");
		d->dir = md_strdup(buf);
		rc = md_fs_read_fd(&d->src, 0, "standard input");
	} else {
		d->name = input;
		rc = md_fs_read(&d->src, input);
		if (rc == 0 && !realpath(input, buf))
			rc = md_err_sys("%s", input);
		if (rc == 0) {
			d->path = md_strdup(buf);
			d->dir = md_path_dirname(d->path);
		}
	}
	if (rc < 0)
		return rc;
	/*
	 * The repository is found, and the store opened, while the document
	 * is parsed: libgit2's first use alone costs about as much as parsing
	 * a large document.
	 */
	memset(&g, 0, sizeof(g));
	g.dir = d->dir;
	g.path = d->path;
	g.store = store;
	g.store_opt = store_opt;
	threaded = pthread_create(&t, NULL, beside, &g) == 0;
	md_buf_put(&d->src, "", 0);
	rc = parse_watched(d, flags);
	if (threaded)
		pthread_join(t, NULL);
	else
		beside(&g);
	if (rc == 0 && g.rc < 0)
		rc = md_err_set("%s", g.why);
	else if (rc == 0 && g.git_why[0])
		rc = md_err_set("%s", g.git_why);
	if (rc < 0) {
		free(g.workdir);
		return rc;
	}
	if (g.workdir) {
		d->workdir = g.workdir;
		d->rel = md_path_relative(g.workdir, d->dir);
	}
	/* However the path was typed: blocks that print it stay current. */
	if (!d->path)
		d->shown = md_strdup(d->name);
	else if (d->rel && strcmp(d->rel, "."))
		d->shown = md_path_join(d->rel, md_path_basename(d->path));
	else
		d->shown = md_strdup(md_path_basename(d->path));
	/*
	 * Outside a work tree, the folder itself: blocks run there, so two
	 * folders' equal code is not the same stage.
	 */
	if (!d->rel)
		d->rel = md_strdup(d->dir);
	if (config) {
		d->config = md_strdup(config);
	} else {
		/* Beside the document, else at the repository root. */
		d->config = md_path_join(d->dir, "mdrun.json");
		if (!md_fs_exists(d->config) && d->workdir) {
			free(d->config);
			d->config = md_path_join(d->workdir, "mdrun.json");
		}
		if (!md_fs_exists(d->config)) {
			free(d->config);
			d->config = NULL;
		}
	}
	return md_interps_load(&d->interps, d->config);
}

int
md_nb_doc_load(struct md_nb_doc *d, struct store **s, const char *input,
	       unsigned flags, const char *config, const char *store_opt)
{
	if (s)
		*s = NULL;
	return load(d, input, flags, config, s, store_opt);
}

static int
identity(const char **out, struct md_interp *in, void *ctx)
{
	return md_interp_identity(out, ctx, in);
}

int
md_nb_doc_plan(struct md_nb_doc *d, struct store *s)
{
	return md_plan_build(&d->plan, d->doc, &d->interps, d->rel, d->dir,
			     identity, s);
}

int
md_nb_doc_keys(struct md_nb_doc *d, struct store *s)
{
	int rc = md_nb_doc_plan(d, s);

	return rc < 0 ? rc : md_exec_keys(&d->plan, s);
}

void
md_nb_doc_dispose(struct md_nb_doc *d)
{
	md_plan_dispose(&d->plan);
	md_interps_dispose(&d->interps);
	free(d->config);
	md_doc_free(d->doc);
	md_buf_dispose(&d->src);
	free(d->path);
	free(d->dir);
	free(d->workdir);
	free(d->rel);
	free(d->shown);
	memset(d, 0, sizeof(*d));
}

int
md_nb_store_open(struct store **out, const char *opt, const char *dir)
{
	char *wd = NULL;
	int rc = md_git_workdir(&wd, dir);

	*out = NULL;
	if (rc < 0 && rc != MD_ENOTFOUND)
		return rc;
	rc = open_store(out, opt, dir, wd);
	free(wd);
	return rc;
}

/* SHA-256 of a text, as a short hex prefix: enough to tell changes. */
static void
short_hash(cJSON *obj, const char *name, const char *text)
{
	char h[MD_HASH_HEX] = "e3b0c44298fc1c14"; /* of "" */

	if (text && *text)
		md_hash_bytes(h, text, strlen(text));
	h[16] = '\0';
	cJSON_AddStringToObject(obj, name, h);
}

/* What feeds a stage from upstream: its deps' and prev's results. */
static char *
upstream_text(const struct md_plan *p, const struct md_stage *st)
{
	struct md_buf b = MD_BUF_INIT;

	for (size_t i = 0; i < st->ndeps; i++) {
		md_buf_puts(&b, "dep ");
		md_buf_puts(&b, p->stages[st->deps[i]].rhash);
		md_buf_putc(&b, '\n');
	}
	if (st->prev >= 0) {
		md_buf_puts(&b, "prev ");
		md_buf_puts(&b, p->stages[st->prev].key);
		md_buf_putc(&b, ' ');
		md_buf_puts(&b, p->stages[st->prev].rhash);
		md_buf_putc(&b, '\n');
	}
	return md_buf_detach(&b);
}

/* What it says is hashed by root_fingerprint: keep the two together. */
char *
md_nb_notes(const struct md_nb_doc *d, const struct md_outcome *const *shown)
{
	cJSON *notes = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(notes, "stages");
	char *text;

	for (size_t i = 0; i < d->plan.n; i++) {
		const struct md_stage *st = &d->plan.stages[i];
		cJSON *o = cJSON_CreateObject();
		char *up = upstream_text(&d->plan, st);

		cJSON_AddStringToObject(o, "name", st->block->name);
		cJSON_AddStringToObject(o, "interpreter",
					st->identity ? st->identity : "");
		short_hash(o, "code", st->block->code);
		short_hash(o, "upstream", up);
		short_hash(o, "inputs", st->inputs);
		short_hash(o, "env", st->env);
		if (shown && shown[i] && shown[i]->replay_differs)
			cJSON_AddTrueToObject(o, "replay_differs");
		cJSON_AddItemToArray(arr, o);
		free(up);
	}
	text = cJSON_PrintUnformatted(notes);
	cJSON_Delete(notes);
	return text;
}

bool
md_nb_notes_replay_differs(const char *notes, const char *name)
{
	cJSON *root = notes ? cJSON_Parse(notes) : NULL, *o;
	bool found = false;

	cJSON_ArrayForEach(o, cJSON_GetObjectItem(root, "stages"))
	{
		cJSON *n = cJSON_GetObjectItem(o, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name) &&
		    cJSON_IsTrue(cJSON_GetObjectItem(o, "replay_differs")))
			found = true;
	}
	cJSON_Delete(root);
	return found;
}

bool
md_nb_stage_change(struct md_buf *out, const struct md_nb_doc *d,
		 const struct md_stage *st, const char *notes)
{
	cJSON *root = notes ? cJSON_Parse(notes) : NULL, *o, *now;
	const char *why = NULL;
	const char *fields[][2] = {
		{ "code", "new code" },
		{ "interpreter", "interpreter changed" },
		{ "inputs", "input file changed" },
		{ "env", "environment changed" },
		{ "upstream", "upstream output changed" },
	};
	/* Without a key, what upstream gives is not known yet. */
	size_t nfields = st->key[0] ? 5 : 4, k;

	cJSON_ArrayForEach(o, cJSON_GetObjectItem(root, "stages"))
	{
		cJSON *name = cJSON_GetObjectItem(o, "name");
		if (!cJSON_IsString(name) ||
		    strcmp(name->valuestring, st->block->name))
			continue;
		/* This stage's notes now, against the last render's. */
		char *mine;
		now = cJSON_CreateObject();
		mine = upstream_text(&d->plan, st);
		short_hash(now, "code", st->block->code);
		cJSON_AddStringToObject(now, "interpreter",
					st->identity ? st->identity : "");
		short_hash(now, "upstream", mine);
		short_hash(now, "inputs", st->inputs);
		short_hash(now, "env", st->env);
		free(mine);
		for (k = 0; k < nfields && !why; k++) {
			cJSON *a = cJSON_GetObjectItem(o, fields[k][0]);
			cJSON *b = cJSON_GetObjectItem(now, fields[k][0]);
			/* Notes from before identities were kept: unknown. */
			if (k == 1 && !cJSON_IsString(a))
				continue;
			if (!cJSON_IsString(a) ||
			    strcmp(a->valuestring, b->valuestring))
				why = fields[k][1];
		}
		if (why) {
			md_buf_puts(out, why);
			if (k - 1 == 1)
				md_buf_printf(out, ": %s -> %s",
					      cJSON_GetObjectItem(o, fields[1][0])
						      ->valuestring,
					      st->identity ? st->identity : "");
		}
		cJSON_Delete(now);
		break;
	}
	cJSON_Delete(root);
	return why != NULL;
}

/* ------------------------------------------------------------------ */
/* The pipeline. */

/* Writes the root record of a render (in a thread of its own). */
struct recorder {
	struct md_notebook *nb;
	char (*keys)[MD_HASH_HEX];
	size_t n;
	pthread_t t;
	bool started, done;
	int rc;
	char why[1024];
};

/* One realization's outputs, as the view holds them. */
struct real_parts {
	struct md_outputs o;
	struct md_file *files;
	size_t nfiles;
};

struct md_nb_state {
	const struct md_nb_opts *o;
	struct md_sched sc;
	bool scheduled;
	int lock; /* the store's shared lock, or -1 */
	struct recorder rec;
	struct md_view_block *blocks;
	struct md_view_real **reals; /* per stage */
	struct real_parts **parts;   /* per stage */
};

int
md_nb_open(struct md_notebook *nb, const struct md_nb_opts *o)
{
	struct md_nb_state *x;
	bool found = false;

	memset(nb, 0, sizeof(*nb));
	x = nb->state = md_calloc(1, sizeof(*nb->state));
	x->o = o;
	x->lock = -1;
	if (md_nb_doc_load(&nb->d, &nb->store, o->input, o->doc_flags,
			   o->config, o->store) < 0 ||
	    (x->lock = store_lock_store(nb->store, false)) < 0 ||
	    md_nb_doc_plan(&nb->d, nb->store) < 0)
		return MD_ERROR;
	for (size_t i = 0; o->rebuild_one && i < nb->d.plan.n; i++)
		found |= !strcmp(nb->d.plan.stages[i].block->name,
				 o->rebuild_one);
	if (o->rebuild_one && !found)
		return md_err_set("--rebuild=%s: %s has no block named '%s'",
				  o->rebuild_one, nb->d.name, o->rebuild_one);
	if (o->prev_notes && nb->d.path)
		store_root_notes(&nb->prev_notes, nb->store, nb->d.path);
	return 0;
}

/*
 * All a render's root record says, in one hash: each stage's key (which
 * holds its name, code, interpreter, inputs and env), what its notes
 * say it read upstream (the key has the same, sorted and without
 * repeats), whether it was shown, and whether its replay differed. false
 * when a stage has no key: its notes say more. What md_nb_notes writes
 * changes: so does the "mdrun-root" tag.
 */
static bool
root_fingerprint(char out[MD_HASH_HEX], const struct md_notebook *nb)
{
	struct md_hash h;
	bool keyed = true;

	md_hash_init(&h);
	md_hash_field(&h, "mdrun-root", "1", 1);
	for (size_t i = 0; i < nb->d.plan.n && keyed; i++) {
		const struct md_stage *st = &nb->d.plan.stages[i];
		const struct md_outcome *oc = nb->shown[i];
		char *up = upstream_text(&nb->d.plan, st);

		keyed = st->key[0] != '\0';
		md_hash_field(&h, "key", st->key, strlen(st->key));
		md_hash_field(&h, "upstream", up, strlen(up));
		md_hash_field(&h, "shown",
			      !oc ? "no" : oc->replay_differs ? "differs" : "yes",
			      !oc ? 2 : oc->replay_differs ? 7 : 3);
		free(up);
	}
	md_hash_final(out, &h);
	return keyed;
}

/*
 * A warm render's record is the last one's: the fingerprint says so
 * before the notes (four hashes a block) are made.
 */
static void *
record(void *arg)
{
	struct recorder *rec = arg;
	struct md_notebook *nb = rec->nb;
	char fp[MD_HASH_HEX], *notes;
	bool keyed = root_fingerprint(fp, nb);

	if (keyed && (rec->rc = store_root_keep(nb->store, nb->d.path, fp)) != 0)
		goto done;
	notes = md_nb_notes(&nb->d, nb->shown);
	rec->rc = store_root_write(nb->store, nb->d.path, rec->keys, rec->n,
				   keyed ? fp : NULL, notes);
	free(notes);
done:
	if (rec->rc < 0)
		snprintf(rec->why, sizeof(rec->why), "%s", md_err_msg());
	if (rec->rc > 0)
		rec->rc = 0;
	return NULL;
}

/* Waits for the root record, once; its error becomes this thread's. */
static int
finish_record(struct recorder *rec)
{
	if (rec->started && !rec->done)
		pthread_join(rec->t, NULL);
	if (rec->done || rec->rc == 0) {
		rec->done = true;
		return 0;
	}
	rec->done = true;
	return md_err_set("%s", rec->why);
}

int
md_nb_realize(struct md_notebook *nb)
{
	struct md_nb_state *x = nb->state;
	const struct md_nb_opts *o = x->o;
	struct md_sched *sc = &x->sc;
	char *commit = NULL, *file = NULL;
	bool dirty = false;
	size_t i, n = nb->d.plan.n;
	int rc = MD_ERROR;

	assert(nb->d.doc && nb->store && !x->scheduled);
	if (nb->d.workdir && nb->d.path &&
	    (file = md_path_relative(nb->d.workdir, nb->d.path)))
		md_git_provenance(&commit, &dirty, nb->d.workdir, file);
	/*
	 * Files read are tracked in the work tree (else the document's
	 * folder), but for the store's, the document and its files'.
	 */
	struct md_buf skip = MD_BUF_INIT;
	md_buf_printf(&skip, "%s", store_root(nb->store));
	if (nb->d.path)
		md_buf_printf(&skip, ":%s", nb->d.path);
	if (o->files_dir) {
		char here[PATH_MAX];
		if (o->files_dir[0] != '/' && getcwd(here, sizeof(here)))
			md_buf_printf(&skip, ":%s/%s", here, o->files_dir);
		else
			md_buf_printf(&skip, ":%s", o->files_dir);
	}
	struct md_exec_opts eo = {
		.cwd = nb->d.dir,
		.track = { o->no_track || nb->d.interps.no_track ? NULL
				       : nb->d.workdir ? nb->d.workdir
						       : nb->d.dir,
			   skip.ptr, o->write_max },
		.document = nb->d.name,
		.shown = nb->d.shown,
		.timeout = o->timeout,
		.cap = o->cap,
		.git_commit = commit,
		.git_dirty = dirty,
		.rebuild = o->rebuild,
		.rebuild_one = o->rebuild_one,
		.later = true,
		.note = o->note,
		.warn = o->warn,
		.ctx = o->ctx,
	};
	memset(sc, 0, sizeof(*sc));
	sc->store = nb->store;
	sc->plan = &nb->d.plan;
	sc->opts = &eo;
	sc->jobs = o->jobs;
	sc->keep_going = o->keep_going;
	sc->started = o->started;
	sc->finished = o->finished;
	sc->ctx = o->ctx;
	x->scheduled = true;
	/* An unchanged file is hashed once, not once a render. */
	if (md_track_load(nb->store) < 0)
		md_err_clear();
	if (md_sched_run(sc) < 0)
		goto done;
	if (md_track_save(nb->store) < 0)
		md_err_clear();

	/*
	 * Counted only now, from what the document shows: a session that
	 * replays may have redone an earlier block's outcome after it was
	 * first reported.
	 */
	nb->shown = sc->shown;
	nb->why = sc->why;
	x->rec.keys = md_calloc(n + 1, sizeof(*x->rec.keys));
	for (i = 0; i < n; i++) {
		const struct md_outcome *oc = nb->shown[i];

		nb->not_run += oc == NULL;
		nb->ran += oc && oc->ran;
		nb->replayed += oc && !oc->ran && oc->replayed;
		nb->cached += oc && !oc->ran && !oc->replayed;
		nb->failed += oc && oc->failed;
		if (oc)
			memcpy(x->rec.keys[i], nb->d.plan.stages[i].key,
			       MD_HASH_HEX);
	}
	/* Cached runs, read in parallel now that all are known. */
	if (md_outcomes_load(nb->shown, n, o->jobs) < 0)
		goto done;
	/* The root record is written while the caller renders. */
	x->rec.nb = nb;
	x->rec.n = n;
	x->rec.started = nb->d.path &&
			 pthread_create(&x->rec.t, NULL, record, &x->rec) == 0;
	rc = 0;
done:
	md_exec_finish();
	md_buf_dispose(&skip);
	free(commit);
	free(file);
	return rc;
}

int
md_nb_record(struct md_notebook *nb)
{
	struct md_nb_state *x = nb->state;

	if (nb->d.path && !x->rec.started && !x->rec.done)
		record(&x->rec);
	if (finish_record(&x->rec) < 0 ||
	    (nb->ran && store_sync(nb->store) < 0))
		return MD_ERROR;
	return 0;
}

/* The media type of an artifact, from its extension; NULL: unknown. */
static const char *
mime_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".png", "image/png" },     { ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" },   { ".gif", "image/gif" },
		{ ".svg", "image/svg+xml" }, { ".webp", "image/webp" },
		{ ".csv", "text/csv" },	     { ".txt", "text/plain" },
		{ ".json", "application/json" },
		{ ".html", "text/html" },    { ".pdf", "application/pdf" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
		if (!strcasecmp(dot, types[i][0]))
			return types[i][1];
	return NULL;
}

/* A file's extension when it is short and plain ("" when not). */
static void
plain_ext(char ext[16], const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *slash = strrchr(name, '/');

	ext[0] = '\0';
	if (dot && (!slash || dot > slash) && strlen(dot) < 16 &&
	    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
		    strlen(dot + 1))
		snprintf(ext, 16, "%s", dot);
}

/*
 * Copies one artifact beside the output under a content-addressed name
 * (a file is written once, whole), or when files_dry notes it missing,
 * and sets its link.
 */
static int
place_file(struct md_notebook *nb, struct md_file *f)
{
	const struct md_nb_opts *o = nb->state->o;
	struct md_buf dest = MD_BUF_INIT, link = MD_BUF_INIT;
	char digest[MD_HASH_HEX], ext[16];
	int rc = 0;

	plain_ext(ext, f->name);
	md_hash_bytes(digest, f->data, f->len);
	md_buf_printf(&dest, "%s/%.16s%s", o->files_dir, digest, ext);
	md_buf_printf(&link, "%s/%.16s%s", o->files_href, digest, ext);
	if (md_fs_exists(dest.ptr))
		;
	else if (o->files_dry)
		md_strv_push(&nb->missing, &nb->nmissing, md_buf_detach(&dest));
	else if ((rc = md_fs_mkdirs(o->files_dir, 0755)) == 0)
		rc = md_fs_write_atomic(dest.ptr, f->data, f->len, 0644);
	f->href = md_buf_detach(&link);
	md_buf_dispose(&dest);
	return rc;
}

/* The artifacts in outdir, with their bytes (and copies). */
static int
load_files(struct md_notebook *nb, struct real_parts *p, const char *outdir)
{
	char **names = NULL;
	size_t count = 0;
	int rc;

	if ((rc = md_fs_list(&names, &count, outdir)) < 0 || count == 0)
		goto done;
	p->files = md_calloc(count, sizeof(*p->files));
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct md_file *f = &p->files[p->nfiles];
		struct md_buf data = MD_BUF_INIT;
		char *path = md_path_join(outdir, names[i]);

		if ((rc = md_fs_read_regular(&data, path, 0)) < 0) {
			free(path);
			break;
		}
		f->name = names[i];
		names[i] = NULL;
		f->mime = mime_type(f->name);
		f->len = data.len;
		f->data = md_buf_detach(&data);
		f->path = path;
		p->nfiles++;
		if (nb->state->o->files_dir)
			rc = place_file(nb, f);
	}
done:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return rc;
}

static void
parts_free(struct real_parts *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		for (size_t k = 0; k < p[i].nfiles; k++) {
			free((char *)p[i].files[k].name);
			free((char *)p[i].files[k].data);
			free((char *)p[i].files[k].href);
			free((char *)p[i].files[k].path);
		}
		free(p[i].files);
		md_outputs_dispose(&p[i].o);
	}
	free(p);
}

/* The status of what a block shows: its last realization's. */
static enum md_status
real_status(const struct md_outcome *oc)
{
	const struct md_exit *e = &oc->reals[oc->n - 1].exit;

	if (e->timed_out)
		return MD_STATUS_TIMEOUT;
	return md_exit_failed(e) ? MD_STATUS_FAILED : MD_STATUS_OK;
}

/*
 * Writes one image a block showed beside the output as NAME-N.EXT (the
 * block's name, its Nth image), unless it holds those bytes already, or
 * when files_dry notes it missing; and sets its link. Stable names: a
 * figure that changes is the same file, changed.
 */
static int
place_image(struct md_notebook *nb, struct md_file *f)
{
	const struct md_nb_opts *o = nb->state->o;
	struct md_buf dest = MD_BUF_INIT, was = MD_BUF_INIT;
	int rc = 0;

	md_buf_printf(&dest, "%s/%s", o->files_dir, f->name);
	if (md_fs_read_regular(&was, dest.ptr, f->len + 1) == 0 &&
	    was.len == f->len && !memcmp(was.ptr, f->data, f->len))
		;
	else if (o->files_dry)
		md_strv_push(&nb->missing, &nb->nmissing, md_buf_detach(&dest));
	else if ((rc = md_fs_mkdirs(o->files_dir, 0755)) == 0)
		rc = md_fs_write_atomic(dest.ptr, f->data, f->len, 0644);
	md_buf_clear(&was);
	md_buf_printf(&was, "%s/%s", o->files_href, f->name);
	f->href = md_buf_detach(&was);
	md_buf_dispose(&dest);
	return rc;
}

/*
 * The images among a realization's rich outputs, as files the Markdown
 * links (render_rich_file finds them by their bytes); *count numbers a
 * block's images across its realizations.
 */
static int
image_files(struct md_notebook *nb, struct real_parts *p, const char *name,
	    size_t *count)
{
	static const char *const ext[][2] = {
		{ "image/png", "png" },	 { "image/jpeg", "jpg" },
		{ "image/gif", "gif" },	 { "image/svg+xml", "svg" },
	};
	int rc = 0;

	for (size_t i = 0; i < p->o.n && rc == 0; i++) {
		const struct md_out *x = &p->o.outs[i];

		for (size_t k = 0; k < x->nbundle && rc == 0; k++) {
			const struct md_mime *m = &x->bundle[k];
			struct md_buf b = MD_BUF_INIT;
			struct md_file *f;
			size_t e = 0;

			while (e < 4 && strcmp(m->type, ext[e][0]))
				e++;
			if (x->kind != MD_OUT_RICH || e == 4)
				continue;
			p->files = md_realloc(p->files, (p->nfiles + 1) *
								sizeof(*p->files));
			f = &p->files[p->nfiles++];
			memset(f, 0, sizeof(*f));
			md_buf_printf(&b, "%s-%zu.%s", name, ++*count, ext[e][1]);
			f->name = md_buf_detach(&b);
			f->mime = m->type;
			f->data = md_strndup(m->data, m->len);
			f->len = m->len;
			rc = place_image(nb, f);
			break; /* one file per value */
		}
	}
	return rc;
}

/* A realization's view: its outputs in order, its files. */
static int
view_real(struct md_notebook *nb, struct md_view_real *v,
	  struct real_parts *p, const struct store_real *r, const char *name,
	  size_t *images)
{
	int rc = 0;

	v->rhash = r->rhash;
	v->exit = r->exit;
	v->reads = r->reads.ptr;
	v->reads_len = r->reads.len;
	v->writes = r->writes.ptr;
	v->writes_len = r->writes.len;
	v->start = r->start;
	v->end = r->end;
	md_outputs_view(&p->o, r->outs.ptr, r->outs.len, r->out.ptr,
			r->out.len, r->err.ptr, r->err.len);
	v->outs = p->o.outs;
	v->nouts = p->o.n;
	/* An artifact that cannot be read is said, and left out. */
	if (r->files)
		rc = load_files(nb, p, r->path);
	if (rc == 0 && nb->state->o->files_dir)
		rc = image_files(nb, p, name, images);
	if (rc < 0 && nb->state->o->warn) {
		struct md_buf w = MD_BUF_INIT;
		md_buf_printf(&w, "mdrun: warning: %s", md_err_msg());
		nb->state->o->warn(w.ptr, nb->state->o->ctx);
		md_buf_dispose(&w);
	}
	v->files = p->files;
	v->nfiles = p->nfiles;
	return 0;
}

int
md_nb_view(struct md_notebook *nb)
{
	struct md_nb_state *x = nb->state;
	const struct md_doc *doc = nb->d.doc;
	size_t n = nb->d.plan.n;

	assert(nb->shown && !x->blocks); /* after md_nb_realize, once */
	x->blocks = md_calloc(doc->nblocks + 1, sizeof(*x->blocks));
	x->reals = md_calloc(n + 1, sizeof(*x->reals));
	x->parts = md_calloc(n + 1, sizeof(*x->parts));
	for (size_t i = 0; i < doc->nblocks; i++)
		x->blocks[i].block = &doc->blocks[i];
	for (size_t i = 0; i < n; i++) {
		const struct md_stage *st = &nb->d.plan.stages[i];
		const struct md_outcome *oc = nb->shown[i];
		struct md_view_block *b = &x->blocks[st->block - doc->blocks];

		b->interpreter = st->identity;
		if (nb->why[i] || !oc) {
			b->skip = nb->why[i] ? nb->why[i] : MD_SKIP_STOPPED;
			b->status = md_skip_status(b->skip);
			b->key = "";
			continue;
		}
		b->status = real_status(oc);
		b->key = st->key;
		b->cached = oc->ran == 0;
		x->reals[i] = md_calloc(oc->n, sizeof(**x->reals));
		x->parts[i] = md_calloc(oc->n, sizeof(**x->parts));
		size_t images = 0;
		for (size_t k = 0; k < oc->n; k++)
			if (view_real(nb, &x->reals[i][k], &x->parts[i][k],
				      &oc->reals[k], st->block->name,
				      &images) < 0)
				return MD_ERROR;
		b->reals = x->reals[i];
		b->nreals = oc->n;
	}
	nb->view = (struct md_view){ .doc = doc,
				     .path = nb->d.name,
				     .blocks = x->blocks,
				     .flags = x->o->view_flags };
	return 0;
}

void
md_nb_summary(struct md_buf *out, const struct md_notebook *nb)
{
	size_t n = nb->d.plan.n;

	md_buf_printf(out, "%zu block%s: %zu ran, ", n, n == 1 ? "" : "s",
		      nb->ran);
	if (nb->replayed)
		md_buf_printf(out, "%zu replayed, ", nb->replayed);
	md_buf_printf(out, "%zu cached, %zu failed", nb->cached, nb->failed);
	if (nb->not_run)
		md_buf_printf(out, ", %zu not run", nb->not_run);
}

void
md_nb_dispose(struct md_notebook *nb)
{
	struct md_nb_state *x = nb->state;

	if (x) {
		finish_record(&x->rec);
		for (size_t i = 0; x->parts && i < nb->d.plan.n; i++) {
			parts_free(x->parts[i],
				   nb->shown[i] ? nb->shown[i]->n : 0);
			free(x->reals[i]);
		}
		free(x->parts);
		free(x->reals);
		free(x->blocks);
		free(x->rec.keys);
		if (x->scheduled)
			md_sched_dispose(&x->sc);
		store_unlock(x->lock);
		free(x);
	}
	md_strv_free(nb->missing);
	store_close(nb->store);
	md_nb_doc_dispose(&nb->d);
	md_buf_dispose(&nb->prev_notes);
	memset(nb, 0, sizeof(*nb));
}
