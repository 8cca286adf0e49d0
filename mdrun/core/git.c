#define _DEFAULT_SOURCE /* realpath */
#include "git.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/lazy_git.h"

static pthread_once_t held = PTHREAD_ONCE_INIT;

static void
release(void)
{
	git_libgit2_shutdown();
}

static void
hold(void)
{
	if (md_git2_init() < 0)
		return;
	atexit(release);
}

void
md_git_hold(void)
{
	pthread_once(&held, hold);
}

bool
md_git_may_be_repo(const char *dir)
{
	char *p = md_strdup(dir), *slash;
	struct stat st;
	bool found = getenv("GIT_DIR") != NULL;

	/*
	 * Only whether discovery could find anything: libgit2 decides what
	 * a .git here is, and the ceilings it honours.
	 */
	while (!found) {
		size_t n = strlen(p);
		char *git = md_path_join(n ? p : "/", ".git");

		found = lstat(git, &st) == 0;
		free(git);
		if (!(slash = strrchr(p, '/')) || !*p)
			break;
		*slash = '\0';
	}
	free(p);
	return found;
}

int
md_git_workdir(char **out, const char *dir)
{
	git_repository *repo = NULL;
	const char *wd;
	size_t n;
	int rc = MD_ENOTFOUND;

	*out = NULL;
	if (!md_git_may_be_repo(dir))
		return rc;
	/* Not "not a repository": the store would go to the wrong place. */
	if (md_git2_init() < 0)
		return md_err_prefix(MD_ERROR, "%s: in a git repository", dir);
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0)
		goto done;
	wd = git_repository_workdir(repo);
	if (!wd)
		goto done; /* a bare repository has no work tree */
	n = strlen(wd);
	while (n > 1 && wd[n - 1] == '/')
		n--;
	*out = md_strndup(wd, n);
	rc = 0;
done:
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

struct md_git_ignore {
	git_repository *repo;
	char *workdir; /* with its trailing '/' */
};

struct md_git_ignore *
md_git_ignore_open(const char *dir)
{
	struct md_git_ignore *g;
	git_repository *repo = NULL;
	char *real;

	if (!md_git_may_be_repo(dir) || !(real = realpath(dir, NULL)))
		return NULL;
	if (md_git2_init() < 0) {
		free(real);
		return NULL;
	}
	if (git_repository_open_ext(&repo, real, 0, NULL) < 0 ||
	    !git_repository_workdir(repo)) {
		git_repository_free(repo);
		git_libgit2_shutdown();
		free(real);
		return NULL;
	}
	free(real);
	g = md_calloc(1, sizeof(*g));
	g->repo = repo;
	g->workdir = md_strdup(git_repository_workdir(repo));
	return g;
}

bool
md_git_ignored(struct md_git_ignore *g, const char *path)
{
	size_t n;
	int ignored = 0;

	if (!g)
		return false;
	n = strlen(g->workdir);
	/* The work tree's own root, or a path outside it: not ignored. */
	if (strncmp(path, g->workdir, n) || !path[n])
		return false;
	return git_ignore_path_is_ignored(&ignored, g->repo, path + n) == 0 &&
	       ignored;
}

void
md_git_ignore_close(struct md_git_ignore *g)
{
	if (!g)
		return;
	git_repository_free(g->repo);
	git_libgit2_shutdown();
	free(g->workdir);
	free(g);
}

int
md_git_provenance(char **commit, bool *dirty, const char *workdir,
		  const char *file)
{
	git_repository *repo = NULL;
	git_oid oid;
	unsigned int flags = 0;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = MD_ENOTFOUND;

	*commit = NULL;
	*dirty = false;
	if (md_git2_init() < 0)
		return MD_ERROR;
	if (git_repository_open(&repo, workdir) < 0 ||
	    git_reference_name_to_id(&oid, repo, "HEAD") < 0)
		goto done;
	git_oid_tostr(hex, sizeof(hex), &oid);
	*commit = md_strdup(hex);
	/* New, modified or untracked: not what the commit holds. */
	if (file && git_status_file(&flags, repo, file) == 0)
		*dirty = flags != GIT_STATUS_CURRENT &&
			 !(flags & GIT_STATUS_IGNORED);
	else if (file)
		*dirty = true;
	rc = 0;
done:
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int
md_git_remote_url(char **out, const char *dir, const char *name, bool push)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	const char *url;
	int rc = MD_ENOTFOUND, valid = 0;

	*out = NULL;
	if (md_git2_init() < 0)
		return MD_ERROR;
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0 ||
	    git_remote_name_is_valid(&valid, name) < 0 || !valid ||
	    git_remote_lookup(&remote, repo, name) < 0)
		goto done;
	url = push && git_remote_pushurl(remote) ? git_remote_pushurl(remote)
						 : git_remote_url(remote);
	if (!url) {
		rc = md_err_set("remote '%s' has no URL", name);
		goto done;
	}
	*out = md_strdup(url);
	rc = 0;
done:
	git_remote_free(remote);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int
md_git_extraheaders(char ***out, size_t *n, const char *dir, const char *url)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	static const char pre[] = "http.", post[] = ".extraheader";

	*out = md_calloc(1, sizeof(**out));
	*n = 0;
	if (md_git2_init() < 0)
		return MD_ERROR;
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0 ||
	    git_repository_config_snapshot(&cfg, repo) < 0 ||
	    git_config_iterator_glob_new(&it, cfg,
					 "^http\\.(.*\\.)?extraheader$") < 0)
		goto done;
	while (git_config_next(&e, it) == 0) {
		/* http.<url>.extraheader: <url> keeps its case and dots. */
		size_t len = strlen(e->name), fix = strlen(pre) + strlen(post);
		const char *u = e->name + strlen(pre);

		if (!e->value || !*e->value)
			continue;
		if (strcmp(e->name, "http.extraheader") &&
		    (len <= fix || strncmp(u, url, len - fix)))
			continue;
		*out = md_realloc(*out, (*n + 2) * sizeof(**out));
		(*out)[(*n)++] = md_strdup(e->value);
		(*out)[*n] = NULL;
	}
done:
	git_config_iterator_free(it);
	git_config_free(cfg);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return 0;
}

static int
git_failed(const char *what)
{
	const git_error *e = git_error_last();

	return md_err_set("%s: %s", what, e && e->message ? e->message
							 : "git error");
}

int
md_git_changed(char ***out, size_t *n, const char *dir, const char *rev)
{
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	const char *wd;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (md_git2_init() < 0)
		return MD_ERROR;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0) {
		rc = md_err_set("--changed-since: %s is not in a git "
				"repository", dir);
		goto done;
	}
	if (!(wd = git_repository_workdir(repo))) {
		rc = md_err_set("--changed-since: %s is a bare repository",
				dir);
		goto done;
	}
	if (git_revparse_single(&obj, repo, rev) < 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0) {
		rc = md_err_set("--changed-since: '%s' names no commit in %s",
				rev, wd);
		goto done;
	}
	opts.flags = GIT_DIFF_INCLUDE_UNTRACKED |
		     GIT_DIFF_RECURSE_UNTRACKED_DIRS;
	if (git_diff_tree_to_workdir_with_index(&diff, repo, tree, &opts) < 0) {
		rc = git_failed("--changed-since");
		goto done;
	}
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *dd = git_diff_get_delta(diff, i);
		struct md_buf p = MD_BUF_INIT;

		if (dd->status == GIT_DELTA_DELETED)
			continue;
		md_buf_printf(&p, "%s%s", wd, dd->new_file.path);
		md_strv_push(out, n, md_buf_detach(&p));
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), md_strp_cmp);
	rc = 0;
done:
	git_diff_free(diff);
	git_tree_free(tree);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int
md_git_diff(struct md_buf *patch, struct md_diff_line **lines, size_t *n,
	    const char *path, const char *old, size_t old_len,
	    const char *new, size_t new_len)
{
	git_patch *gp = NULL;
	git_buf text = { NULL, 0, 0 };
	git_diff_options opts;
	size_t h, l, cap = 0;
	int rc = -1;

	if (lines) {
		*lines = NULL;
		*n = 0;
	}
	if (md_git2_init() < 0)
		return MD_ERROR;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	/* A document holding a NUL is still text to its reader. */
	opts.flags = GIT_DIFF_FORCE_TEXT;
	if (git_patch_from_buffers(&gp, old, old_len, path, new, new_len,
				   path, &opts) < 0 ||
	    git_patch_to_buf(&text, gp) < 0) {
		rc = git_failed(path);
		goto done;
	}
	md_buf_put(patch, text.ptr ? text.ptr : "", text.size);
	for (h = 0; lines && h < git_patch_num_hunks(gp); h++) {
		const git_diff_hunk *hunk;
		size_t count;
		int at_old, at_new;

		git_patch_get_hunk(&hunk, &count, gp, h);
		at_old = hunk->old_start;
		at_new = hunk->new_start;
		for (l = 0; l < count; l++) {
			const git_diff_line *gl;
			struct md_diff_line *d;
			size_t len;

			git_patch_get_line_in_hunk(&gl, gp, h, l);
			if (gl->origin != '+' && gl->origin != '-') {
				if (gl->origin == ' ')
					at_old++, at_new++;
				continue;
			}
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				*lines = md_realloc(*lines,
						    cap * sizeof(**lines));
			}
			d = &(*lines)[(*n)++];
			d->origin = gl->origin;
			d->old_line = gl->origin == '-' ? gl->old_lineno : at_old;
			d->new_line = gl->origin == '+' ? gl->new_lineno : at_new;
			len = gl->content_len;
			while (len && (gl->content[len - 1] == '\n' ||
				       gl->content[len - 1] == '\r'))
				len--;
			d->text = md_strndup(gl->content, len);
			if (gl->origin == '-')
				at_old++;
			else
				at_new++;
		}
	}
	rc = 0;
done:
	git_buf_dispose(&text);
	git_patch_free(gp);
	git_libgit2_shutdown();
	return rc;
}

void
md_diff_lines_free(struct md_diff_line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
}
