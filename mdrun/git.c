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
