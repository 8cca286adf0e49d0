/* mdrun plan: every stage, its key, and whether and why it would run. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../core/exec.h"
#include "../../util/err.h"

/* What plan says for each enum md_why (NULL: cached, nothing to say). */
static const char *const why_words[] = {
	[MD_WHY_CACHED] = NULL,
	[MD_WHY_REBUILD] = "--rebuild",
	[MD_WHY_NO_CACHE] = "cache=false",
	[MD_WHY_NEVER] = "never realized",
	[MD_WHY_FAILED] = "failed last time",
	[MD_WHY_CUT] = "output cut at a smaller --max-output",
	[MD_WHY_NOUTS] = "fewer runs than nouts",
	[MD_WHY_INPUT] = "input changed",
	[MD_WHY_UPSTREAM] = "waits on upstream",
};

static const char usage[] =
	"usage: mdrun plan [--json] [--all] [--store DIR] [--config FILE]\n"
	"                  [--rebuild[=NAME]] [--max-output SIZE] FILE...\n"
	"\n"
	"Plans the document without running anything (pylightnix's\n"
	"instantiate): for every stage its name, line, language, session,\n"
	"key, whether the store has it, and why it would run: new code,\n"
	"upstream output changed, input file changed, input changed: FILE\n"
	"(a file its last run read is not as it was), environment changed,\n"
	"interpreter changed (old and new identity), never realized, failed\n"
	"last time, output cut at a smaller --max-output, cache=false,\n"
	"--rebuild, or waits\n"
	"on upstream (its key depends on a stage that runs first).\n"
	"--json prints {\"stages\": [...]} with full keys.\n"
	"\n"
	"Several documents, folders (searched for .md, .Rmd and .qmd) and\n"
	"globs are planned one after the other, each under its name;\n"
	"--json then prints {\"documents\": [{\"document\", \"stages\"}]}.\n";

struct plan_args {
	const char *store, *config;
	bool json, all;
	struct md_exec_opts eo;
};

/*
 * Plans one document: its table on standard output, or its stages added
 * to arr. MD_EXIT_OK, or an error said.
 */
static int
plan_one(const struct plan_args *p, const char *input, cJSON *arr)
{
	struct md_exec_opts eo = p->eo;
	struct store *s = NULL;
	struct md_buf notes = MD_BUF_INIT, change = MD_BUF_INIT;
	struct md_buf notes_why = MD_BUF_INIT;
	struct md_nb_doc d;
	bool *runs = NULL;
	int rc = MD_EXIT_USAGE;
	size_t n, j;

	memset(&d, 0, sizeof(d));
	if (md_nb_doc_load(&d, NULL, input, p->all ? MD_DOC_ALL : 0,
			   p->config, NULL) < 0 ||
	    md_nb_store_open(&s, p->store, d.dir) < 0 ||
	    md_nb_doc_keys(&d, s) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	if (d.path)
		store_root_notes(&notes, s, d.path);
	eo.cwd = d.dir;
	if (md_track_load(s) < 0)
		md_err_clear();
	runs = calloc(d.plan.n + 1, sizeof(*runs));
	if (!p->json)
		printf("%-16s %5s  %-8s %-10s %-12s %-7s %s\n", "NAME", "LINE",
		       "LANG", "SESSION", "KEY", "CACHED", "WHY");
	for (n = 0; n < d.plan.n; n++) {
		struct md_stage *st = &d.plan.stages[n];
		enum md_why w = MD_WHY_UPSTREAM;
		bool cached;
		const char *why;
		cJSON *o;

		md_buf_clear(&change);
		if (st->key[0] && md_exec_status(&w, &change, s, st, &eo) < 0) {
			rc = cli_error("%s", md_err_msg());
			goto done;
		}
		/* What keys on a block that runs waits for it. */
		for (j = 0; w == MD_WHY_CACHED && j < st->ndeps; j++)
			if (runs[st->deps[j]])
				w = MD_WHY_UPSTREAM;
		if (w == MD_WHY_CACHED && st->prev >= 0 && runs[st->prev])
			w = MD_WHY_UPSTREAM;
		runs[n] = w != MD_WHY_CACHED;
		cached = w == MD_WHY_CACHED;
		why = why_words[w];
		if (w == MD_WHY_INPUT) {
			md_buf_clear(&notes_why);
			md_buf_printf(&notes_why, "input changed: %s", change.ptr);
			why = notes_why.ptr;
		}
		/* Say what changed when the last render knew this block. */
		md_buf_clear(&change);
		if ((w == MD_WHY_NEVER || w == MD_WHY_UPSTREAM) &&
		    md_nb_stage_change(&change, &d, st, notes.ptr))
			why = change.ptr;
		if (!p->json) {
			printf("%-16s %5d  %-8s %-10s %-12.12s %-7s %s\n",
			       st->block->name, st->block->line,
			       st->interp->lang,
			       st->session ? st->session : "none",
			       st->key[0] ? st->key : "-",
			       cached ? "yes" : "no", why ? why : "");
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", st->block->name);
		cJSON_AddNumberToObject(o, "line", st->block->line);
		cJSON_AddStringToObject(o, "language", st->interp->lang);
		if (st->session)
			cJSON_AddStringToObject(o, "session", st->session);
		else
			cJSON_AddNullToObject(o, "session");
		if (st->key[0])
			cJSON_AddStringToObject(o, "key", st->key);
		else
			cJSON_AddNullToObject(o, "key");
		cJSON_AddBoolToObject(o, "cached", cached);
		if (why)
			cJSON_AddStringToObject(o, "reason", why);
		else
			cJSON_AddNullToObject(o, "reason");
		cJSON *deps = cJSON_AddArrayToObject(o, "deps");
		for (j = 0; j < st->ndeps; j++)
			cJSON_AddItemToArray(deps, cJSON_CreateString(
				d.plan.stages[st->deps[j]].block->name));
		cJSON_AddItemToArray(arr, o);
	}
	rc = MD_EXIT_OK;
done:
	md_buf_dispose(&notes);
	md_buf_dispose(&change);
	md_buf_dispose(&notes_why);
	free(runs);
	md_nb_doc_dispose(&d);
	store_close(s);
	return rc;
}

int
cmd_plan(int argc, char **argv)
{
	struct plan_args p;
	const char *cap;
	char **args, **docs = NULL;
	size_t nargs = 0, n = 0;
	bool many = false;
	cJSON *out = NULL, *list = NULL;
	int i, k, rc = MD_EXIT_USAGE;

	memset(&p, 0, sizeof(p));
	p.eo.cap = MD_EXEC_CAP;
	args = md_calloc((size_t)argc + 1, sizeof(*args));
	for (i = 1; i < argc; i++) {
		if ((k = cli_option_value(&p.store, argc, argv, &i,
					  "--store")) ||
		    (k = cli_option_value(&p.config, argc, argv, &i,
					  "--config"))) {
			if (k < 0)
				goto done;
		} else if ((k = cli_option_value(&cap, argc, argv, &i,
						 "--max-output"))) {
			if (k < 0 ||
			    cli_parse_size(&p.eo.cap, cap, "--max-output") < 0)
				goto done;
		} else if (!strcmp(argv[i], "--json")) {
			p.json = true;
		} else if (!strcmp(argv[i], "--all")) {
			p.all = true;
		} else if (!strcmp(argv[i], "--rebuild")) {
			p.eo.rebuild = true;
		} else if (!strncmp(argv[i], "--rebuild=", 10)) {
			p.eo.rebuild_one = argv[i] + 10;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			rc = MD_EXIT_OK;
			goto done;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_usage_error("unknown option '%s'", argv[i]);
			goto done;
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (!nargs) {
		cli_usage_error("plan: no document given");
		goto done;
	}
	if (cli_docs_expand(&docs, &n, args, nargs, &many) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	out = cJSON_CreateObject();
	list = many ? cJSON_AddArrayToObject(out, "documents") : NULL;
	rc = MD_EXIT_OK;
	for (size_t d = 0; d < n; d++) {
		cJSON *arr, *doc = out;
		int r;

		if (many && p.json) {
			doc = cJSON_CreateObject();
			cJSON_AddStringToObject(doc, "document", docs[d]);
			cJSON_AddItemToArray(list, doc);
		} else if (many) {
			printf("%s%s:\n", d ? "\n" : "", docs[d]);
			fflush(stdout);
		}
		arr = cJSON_AddArrayToObject(doc, "stages");
		if ((r = plan_one(&p, docs[d], arr)) > rc)
			rc = r;
	}
	/* One document that could not be planned: nothing, as before. */
	if (p.json && (many || rc == MD_EXIT_OK)) {
		char *text = cJSON_Print(out);
		printf("%s\n", text);
		free(text);
	}
done:
	cJSON_Delete(out);
	md_strv_free(docs);
	free(args);
	return rc;
}
