/* mdrun push / mdrun pull: share realizations through a git remote. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../core/git.h"
#include "../core/interp.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static const char usage[] =
	"usage: mdrun push [--store DIR] [-q] [REMOTE]\n"
	"       mdrun pull [--store DIR] [-q] [REMOTE]\n"
	"\n"
	"push sends the store's realizations the remote lacks; pull takes\n"
	"those the store lacks. Each realization is one commit under\n"
	"refs/mdrun/KEY/RHASH (drv.json, meta.json, stdout, stderr, out/), so\n"
	"any git hosting can hold the cache; branches are never touched.\n"
	"\n"
	"REMOTE is the name of a remote of the git repository holding the\n"
	"current folder (for push, its push URL when set), a path to a\n"
	"repository (bare or not), or a file://, ssh:// or https:// URL.\n"
	"Without one, the \"remote\" field of mdrun.json in the current folder,\n"
	"else at the repository root (a path there is relative to the file).\n"
	"\n"
	"pull checks every ref before it writes anything: names, modes, sizes\n"
	"(at most 1 GiB per realization), links (no absolute target, no \"..\"),\n"
	"the numbers in meta.json (times from 1970 to a day from now), then\n"
	"recomputes KEY from drv.json and RHASH from the files. A ref that\n"
	"fails gets one warning and is never stored; the others are pulled,\n"
	"and pull exits 1. push does not send, with a warning, what pull\n"
	"would reject (a link in out/ that leaves the realization, a bad\n"
	"meta.json); it sends the rest and exits 1.\n"
	"Pulled results are never executed, but anyone who can push to the\n"
	"remote can supply results: pull only from remotes you trust.\n"
	"\n"
	"Credentials: ssh uses the ssh agent; https uses MDRUN_GIT_TOKEN as\n"
	"the password, with MDRUN_GIT_USERNAME (default x-access-token) as the\n"
	"user, and the http.<url>.extraheader values of the current\n"
	"repository's config (as actions/checkout leaves its token).\n"
	"\n"
	"  --store DIR  the store (default: $MDRUN_STORE, else .mdrun at the\n"
	"               repository root, else .mdrun here)\n"
	"  -q, --quiet  no summary line\n"
	"\n"
	"Exit status: 0 done, 1 some refs rejected (pull) or not sent (push),\n"
	"2 usage, configuration or store error, or the remote cannot be read\n"
	"(pull) or written (push).\n";

/* s, its control characters as '?': a remote chooses the names in it. */
static void
put_clean(const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s,
		      stderr);
}

/* One line per ref, whatever the remote put in its name or reason. */
static void
rejected(const char *ref, const char *why, void *ctx)
{
	fprintf(stderr, "mdrun: %s ", (const char *)ctx);
	put_clean(ref);
	fputs(": ", stderr);
	put_clean(why);
	fputc('\n', stderr);
}

/* ", N not sent" when push left some out, else "". */
static const char *
not_sent(const struct store_remote_stats *st)
{
	static char text[64];

	if (!st->rejected)
		return "";
	snprintf(text, sizeof(text), ", %zu not sent", st->rejected);
	return text;
}

/*
 * The remote named in mdrun.json beside cwd, else at the repository root:
 * *name as written, *base the folder its relative paths start from.
 * Neither when there is no such field.
 */
static int
config_remote(char **name, char **base, const char *cwd)
{
	struct md_interps t;
	char *wd = NULL, *config = md_path_join(cwd, "mdrun.json");
	int rc = 0;

	*name = *base = NULL;
	memset(&t, 0, sizeof(t));
	if (!md_fs_exists(config) && (rc = md_git_workdir(&wd, cwd)) == 0) {
		free(config);
		config = md_path_join(wd, "mdrun.json");
	}
	if (rc == MD_ENOTFOUND)
		rc = 0;
	if (md_fs_exists(config) &&
	    (rc = md_interps_load(&t, config)) == 0 && t.remote) {
		*name = md_strdup(t.remote);
		*base = md_path_dirname(config);
	}
	md_interps_dispose(&t);
	free(config);
	free(wd);
	return rc;
}

/* ssh's short form, user@host:path: a ':' before any '/'. */
static bool
scp_like(const char *s)
{
	const char *colon = strchr(s, ':');

	return colon && colon > s && colon < s + strcspn(s, "/");
}

/* The URL or absolute path libgit2 is to use for remote name. */
static int
resolve(char **out, const char *name, const char *base, const char *cwd,
	bool push)
{
	char abs[PATH_MAX], *p;
	int rc;

	*out = NULL;
	if ((rc = md_git_remote_url(out, cwd, name, push)) != MD_ENOTFOUND)
		return rc;
	if (strstr(name, "://")) {
		*out = md_strdup(name);
		return 0;
	}
	p = name[0] == '/' ? md_strdup(name) : md_path_join(base, name);
	if (md_fs_exists(p) && realpath(p, abs))
		*out = md_strdup(abs);
	else if (scp_like(name))
		*out = md_strdup(name);
	free(p);
	if (*out)
		return 0;
	return md_err_set("'%s' is not a remote of this repository, a "
			  "repository's path or a URL", name);
}

static bool
is_http(const char *url)
{
	return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

int
cmd_remote(int argc, char **argv)
{
	bool push = !strcmp(argv[0], "push"), quiet = false;
	const char *opt = NULL, *arg = NULL, *token, *user;
	char cwd[PATH_MAX], *name = NULL, *base = NULL, *url = NULL;
	char **headers = NULL;
	size_t nheaders = 0;
	struct store_remote r;
	struct store_remote_stats st;
	struct store *s = NULL;
	int k, rc = MD_EXIT_USAGE;

	for (int a = 1; a < argc; a++) {
		if ((k = cli_option_value(&opt, argc, argv, &a, "--store"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if (!strcmp(argv[a], "--help") ||
			   !strcmp(argv[a], "-h")) {
			fputs(usage, stdout);
			return MD_EXIT_OK;
		} else if (!strcmp(argv[a], "-q") ||
			   !strcmp(argv[a], "--quiet")) {
			quiet = true;
		} else if (argv[a][0] == '-' && argv[a][1]) {
			return cli_usage_error("unknown option '%s'", argv[a]);
		} else if (arg) {
			return cli_usage_error("one remote at a time ('%s' and "
					       "'%s')", arg, argv[a]);
		} else {
			arg = argv[a];
		}
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_error("the current folder: %s", strerror(errno));
	if (arg) {
		name = md_strdup(arg);
		base = md_strdup(cwd);
	} else if (config_remote(&name, &base, cwd) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	if (!name) {
		rc = cli_error("no remote given (mdrun %s REMOTE, or \"remote\" "
			       "in mdrun.json)", argv[0]);
		goto done;
	}
	if (resolve(&url, name, base, cwd, push) < 0 ||
	    md_nb_store_open(&s, opt, cwd) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	if (is_http(url))
		md_git_extraheaders(&headers, &nheaders, cwd, url);
	token = getenv("MDRUN_GIT_TOKEN");
	user = getenv("MDRUN_GIT_USERNAME");
	memset(&r, 0, sizeof(r));
	r.url = url;
	r.username = user && *user ? user : NULL;
	r.token = token && *token ? token : NULL;
	r.headers = headers;
	r.nheaders = nheaders;
	r.reject = rejected;
	r.ctx = push ? "not sent" : "rejected";
	if ((push ? store_push : store_pull)(&st, s, &r) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	rc = st.rejected ? MD_EXIT_FAILED : MD_EXIT_OK;
	if (quiet)
		goto done;
	if (push && st.moved)
		fprintf(stderr, "mdrun: pushed %zu %s to %s "
				"(%zu already there%s)\n",
			st.moved,
			cli_plural(st.moved, "realization", "realizations"),
			name, st.present, not_sent(&st));
	else if (push)
		fprintf(stderr, "mdrun: nothing to push to %s (%zu already "
				"there%s)\n",
			name, st.present, not_sent(&st));
	else
		fprintf(stderr, "mdrun: pulled %zu %s from %s "
				"(%zu already here, %zu rejected)\n",
			st.moved,
			cli_plural(st.moved, "realization", "realizations"),
			name, st.present, st.rejected);
done:
	md_strv_free(headers);
	store_close(s);
	free(url);
	free(name);
	free(base);
	return rc;
}
