#include "git.h"

#include <git2.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/err.h"

int
md_git_workdir(char **out, const char *dir)
{
	git_repository *repo = NULL;
	const char *wd;
	size_t n;
	int rc = MD_ENOTFOUND;

	*out = NULL;
	git_libgit2_init();
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
	git_libgit2_init();
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
