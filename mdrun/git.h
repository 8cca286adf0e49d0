/* Repository discovery (libgit2): where a document's repository starts. */
#ifndef MD_GIT_H
#define MD_GIT_H

/*
 * The work tree root of the git repository holding folder dir (absolute,
 * no trailing slash). MD_ENOTFOUND when dir is not in a work tree.
 * Caller frees *out.
 */
int md_git_workdir(char **out, const char *dir);

#endif
