/* Git, through libgit2: where a repository starts, and provenance. */
#ifndef MD_GIT_H
#define MD_GIT_H

#include <stdbool.h>

/*
 * The work tree root of the git repository holding folder dir (absolute,
 * no trailing slash). MD_ENOTFOUND when dir is not in a work tree.
 * Caller frees *out.
 */
int md_git_workdir(char **out, const char *dir);

/*
 * The commit HEAD names (hex) in the repository at workdir, and whether
 * file (relative to workdir) differs from it. MD_ENOTFOUND when there is
 * no commit yet. Caller frees *commit.
 */
int md_git_provenance(char **commit, bool *dirty, const char *workdir,
		      const char *file);

#endif
