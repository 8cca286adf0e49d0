/* mdrun render: parse, plan, realize, splice, write. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "doc.h"
#include "exec.h"
#include "git.h"
#include "interp.h"
#include "plan.h"
#include "../renderer/render.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/fs.h"

struct args {
	const char *input;
	const char *output; /* NULL: standard output */
	bool in_place;
	bool quiet;
	bool all;
	const char *store;
};

static int
parse_args(struct args *a, int argc, char **argv)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "-o") || !strcmp(s, "--output") ||
		    !strcmp(s, "--store")) {
			if (i + 1 >= argc)
				return cli_usage_error("%s needs a value", s);
			if (!strcmp(s, "--store"))
				a->store = argv[++i];
			else
				a->output = argv[++i];
		} else if (!strncmp(s, "--output=", 9)) {
			a->output = s + 9;
		} else if (!strncmp(s, "--store=", 8)) {
			a->store = s + 8;
		} else if (!strcmp(s, "-i") || !strcmp(s, "--in-place")) {
			a->in_place = true;
		} else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
			a->quiet = true;
		} else if (!strcmp(s, "--all")) {
			a->all = true;
		} else if (s[0] == '-' && s[1] != '\0') {
			return cli_usage_error("unknown option '%s'", s);
		} else if (a->input) {
			return cli_usage_error("one document at a time ('%s' "
					       "and '%s')", a->input, s);
		} else {
			a->input = s;
		}
	}
	if (!a->input)
		return cli_usage_error("no document given");
	if (a->in_place && a->output)
		return cli_usage_error("-i and -o cannot be used together");
	if (a->in_place && !strcmp(a->input, "-"))
		return cli_usage_error("-i needs a file, not standard input");
	if (a->output && !strcmp(a->output, "-"))
		a->output = NULL;
	return 0;
}

/* The document's folder, absolute and resolved. Caller frees. */
static char *
doc_dir(const char *input)
{
	char buf[PATH_MAX];
	char *dir;

	if (!strcmp(input, "-"))
		return getcwd(buf, sizeof(buf)) ? md_strdup(buf) : NULL;
	dir = md_path_dirname(input);
	if (!realpath(dir, buf)) {
		free(dir);
		return NULL;
	}
	free(dir);
	return md_strdup(buf);
}

/*
 * --store, else $MDRUN_STORE, else .mdrun at the repository root, else
 * .mdrun beside the document. *rel is the document's folder relative to
 * the repository root ("." outside one): it enters every key.
 */
static void
locate_store(char **root, char **rel, const struct args *a, const char *dir)
{
	const char *env = getenv("MDRUN_STORE");
	char *wd = NULL;

	*rel = NULL;
	if (md_git_workdir(&wd, dir) == 0)
		*rel = md_path_relative(wd, dir);
	if (!*rel)
		*rel = md_strdup(".");
	if (a->store)
		*root = md_strdup(a->store);
	else if (env && *env)
		*root = md_strdup(env);
	else
		*root = md_path_join(wd ? wd : dir, ".mdrun");
	free(wd);
}

static int
identity(char **out, const struct md_interp *in, void *ctx)
{
	return md_interp_identity(out, ctx, in);
}

static int
write_output(const struct args *a, const struct md_buf *text)
{
	const char *path = a->in_place ? a->input : a->output;
	struct stat st;
	mode_t mode, mask;

	if (!path) {
		if (fwrite(text->ptr, 1, text->len, stdout) != text->len ||
		    fflush(stdout) != 0)
			return md_err_sys("standard output");
		return 0;
	}
	mask = umask(0);
	umask(mask);
	mode = 0666 & ~mask;
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777; /* keep the file's mode */
	return md_fs_write_atomic(path, text->ptr, text->len, mode);
}

/* Does the output overwrite the input (-i, or -o naming the same file)? */
static bool
same_file(const struct args *a)
{
	struct stat in, out;

	if (a->in_place)
		return true;
	if (!a->output || !strcmp(a->input, "-"))
		return false;
	return stat(a->input, &in) == 0 && stat(a->output, &out) == 0 &&
	       in.st_dev == out.st_dev && in.st_ino == out.st_ino;
}

static void
describe(struct md_buf *out, const struct store_real *r)
{
	if (r->timed_out)
		md_buf_puts(out, "timed out");
	else if (r->signal)
		md_buf_printf(out, "killed by signal %d", r->signal);
	else
		md_buf_printf(out, "exit status %d", r->exit_code);
}

int
cmd_render(int argc, char **argv)
{
	struct args a;
	struct md_buf src = MD_BUF_INIT, text = MD_BUF_INIT, msg = MD_BUF_INIT;
	struct md_doc *doc = NULL;
	struct md_plan plan = { NULL, 0 };
	struct store *store = NULL;
	struct md_outcome *outcomes = NULL;
	struct render_output *outs = NULL;
	char *dir = NULL, *root = NULL, *rel = NULL;
	const char *name;
	size_t i, ran = 0, failed = 0;
	int rc, exit_code = MD_EXIT_USAGE;

	if ((rc = parse_args(&a, argc, argv)) != 0)
		return rc;
	name = strcmp(a.input, "-") ? a.input : "<stdin>";
	if (!strcmp(a.input, "-"))
		rc = md_fs_read_fd(&src, 0, "standard input");
	else
		rc = md_fs_read(&src, a.input);
	if (rc < 0) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	if (md_doc_parse(&doc, name, src.ptr ? src.ptr : "", src.len,
			 a.all ? MD_DOC_ALL : 0) < 0) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	if (!(dir = doc_dir(a.input))) {
		cli_error("%s: cannot resolve its folder: %s", name,
			  strerror(errno));
		goto done;
	}
	locate_store(&root, &rel, &a, dir);
	if (store_open(&store, root) < 0) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	if (md_plan_build(&plan, doc, rel, identity, store) < 0) {
		cli_error("%s", md_err_msg());
		goto done;
	}

	outcomes = md_calloc(plan.n, sizeof(*outcomes));
	outs = md_calloc(doc->nblocks, sizeof(*outs));
	struct md_exec_opts eo = { dir, name, MD_EXEC_TIMEOUT, MD_EXEC_CAP };
	for (i = 0; i < plan.n; i++) {
		struct md_stage *st = &plan.stages[i];
		struct md_outcome *oc = &outcomes[i];
		struct render_output *ro = &outs[st->block - doc->blocks];
		const struct store_real *r = &oc->real;

		if (md_exec_realize(oc, store, st, &eo) < 0) {
			cli_error("%s", md_err_msg());
			goto done;
		}
		ro->present = true;
		ro->out = r->out.ptr;
		ro->out_len = r->out.len;
		ro->err = r->err.ptr;
		ro->err_len = r->err.len;
		ro->exit_code = r->exit_code;
		ro->signal = r->signal;
		ro->timed_out = r->timed_out;
		ran += !oc->cached;
		md_buf_clear(&msg);
		if (store_real_failed(r) && !st->block->error_ok) {
			failed++;
			describe(&msg, r);
			fprintf(stderr, "%s:%d: block '%s' failed: %s\n", name,
				st->block->line, st->block->name, msg.ptr);
		} else if (!oc->cached && !a.quiet) {
			fprintf(stderr, "mdrun: ran %s (%s:%d) in %.0f ms\n",
				st->block->name, name, st->block->line,
				(r->end - r->start) * 1e3);
		}
	}
	render_markdown(&text, doc, outs,
			same_file(&a) ? RENDER_KEEP_CODE : 0);
	if (write_output(&a, &text) < 0 || (ran && store_sync(store) < 0)) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	if (!a.quiet)
		fprintf(stderr, "mdrun: %zu blocks: %zu ran, %zu cached, "
				"%zu failed\n",
			plan.n, ran, plan.n - ran, failed);
	exit_code = failed ? MD_EXIT_FAILED : MD_EXIT_OK;
done:
	for (i = 0; outcomes && i < plan.n; i++)
		md_outcome_dispose(&outcomes[i]);
	free(outcomes);
	free(outs);
	md_plan_dispose(&plan);
	store_close(store);
	md_doc_free(doc);
	free(dir);
	free(root);
	free(rel);
	md_buf_dispose(&src);
	md_buf_dispose(&text);
	md_buf_dispose(&msg);
	return exit_code;
}
