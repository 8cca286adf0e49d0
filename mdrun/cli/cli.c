/* What the subcommands share: documents, the store, arguments. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/exec.h"
#include <cjson/cJSON.h>
#include "../core/git.h"
#include "../core/interp.h"
#include "../../util/err.h"
#include "../../util/fs.h"

/* The store: opt, else $MDRUN_STORE, else .mdrun in workdir or dir. */
static int
open_store(struct store **out, const char *opt, const char *dir,
	   const char *workdir)
{
	const char *env = getenv("MDRUN_STORE");
	char *root;
	int rc;

	if (opt)
		root = md_strdup(opt);
	else if (env && *env)
		root = md_strdup(env);
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
	struct store **store; /* NULL: no store wanted */
	const char *store_opt;
	int rc;
	char why[1024];
};

static void *
beside(void *arg)
{
	struct beside *g = arg;
	char (*keys)[MD_HASH_HEX] = NULL;
	size_t n = 0;

	md_git_hold();
	if (md_git_workdir(&g->workdir, g->dir) < 0)
		g->workdir = NULL;
	if (!g->store)
		return NULL;
	if ((g->rc = open_store(g->store, g->store_opt, g->dir,
				g->workdir)) < 0) {
		snprintf(g->why, sizeof(g->why), "%s", md_err_msg());
		return NULL;
	}
	/*
	 * What the last render used: those keys' runs are listed now, so
	 * that keying a session's blocks one after the other (each key holds
	 * the result before it) costs no file system call.
	 */
	if (g->path && store_root_keys(&keys, &n, *g->store, g->path) == 0)
		store_prefetch(*g->store, keys, n);
	free(keys);
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
parse_watched(struct cli_doc *d, unsigned flags)
{
	struct watchdog w = { .name = d->name };
	pthread_t t;
	bool watched;
	int rc;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	watched = pthread_create(&t, NULL, watch, &w) == 0;
	rc = md_doc_parse(&d->doc, d->name, d->src.ptr, d->src.len, flags);
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
load(struct cli_doc *d, const char *input, unsigned flags,
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
cli_doc_load(struct cli_doc *d, const char *input, unsigned flags,
	     const char *config)
{
	return load(d, input, flags, config, NULL, NULL);
}

int
cli_doc_open(struct cli_doc *d, struct store **s, const char *input,
	     unsigned flags, const char *config, const char *store_opt)
{
	*s = NULL;
	return load(d, input, flags, config, s, store_opt);
}

static int
identity(const char **out, struct md_interp *in, void *ctx)
{
	return md_interp_identity(out, ctx, in);
}

int
cli_doc_plan(struct cli_doc *d, struct store *s)
{
	return md_plan_build(&d->plan, d->doc, &d->interps, d->rel, d->dir,
			     identity, s);
}

int
cli_doc_keys(struct cli_doc *d, struct store *s)
{
	int rc = cli_doc_plan(d, s);

	return rc < 0 ? rc : md_exec_keys(&d->plan, s);
}

void
cli_doc_dispose(struct cli_doc *d)
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
cli_store_open(struct store **out, const char *opt, const char *dir)
{
	char *wd = NULL;
	int rc;

	if (md_git_workdir(&wd, dir) < 0)
		wd = NULL;
	rc = open_store(out, opt, dir, wd);
	free(wd);
	return rc;
}

const char *
cli_plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int
cli_option_value(const char **out, int argc, char **argv, int *i,
		 const char *name)
{
	size_t n = strlen(name);
	const char *s = argv[*i];

	if (!strncmp(s, name, n) && s[n] == '=') {
		*out = s + n + 1;
		return 1;
	}
	if (strcmp(s, name))
		return 0;
	if (*i + 1 >= argc)
		return cli_usage_error("%s needs a value", name), -1;
	*out = argv[++*i];
	return 1;
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

char *
cli_stage_notes(const struct cli_doc *d, const struct md_outcome *const *shown)
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
cli_notes_replay_differs(const char *notes, const char *name)
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
cli_stage_change(struct md_buf *out, const struct cli_doc *d,
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
