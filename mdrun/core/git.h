/*
 * Git, through libgit2: where a repository starts, provenance, what
 * changed since a revision, and unified diffs of two texts.
 */
#ifndef MD_GIT_H
#define MD_GIT_H

#include <stdbool.h>
#include <stddef.h>

#include "../../util/buf.h"

/*
 * The work tree root of the git repository holding folder dir (absolute,
 * no trailing slash). MD_ENOTFOUND when dir is not in a work tree.
 * Caller frees *out.
 */
/*
 * Keeps libgit2 initialised until the process exits. Its first
 * initialisation loads the system's certificates, which costs as much as
 * parsing a large document; each function below would otherwise pay it.
 */
void md_git_hold(void);

int md_git_workdir(char **out, const char *dir);
/*
 * Could dir be in a repository: a .git in it or a folder above, or
 * GIT_DIR set? When not, libgit2 is not started at all (its start loads
 * the system's certificates: about as much work as parsing a large
 * document).
 */
bool md_git_may_be_repo(const char *dir);

/*
 * What the .gitignore files (and .git/info/exclude) of the repository
 * holding folder dir leave out. md_git_ignore_open gives NULL when dir is
 * in no work tree; md_git_ignored then says false. path: an absolute
 * path, a folder's ending in '/'.
 */
struct md_git_ignore;
struct md_git_ignore *md_git_ignore_open(const char *dir);
bool md_git_ignored(struct md_git_ignore *g, const char *path);
void md_git_ignore_close(struct md_git_ignore *g);

/*
 * The commit HEAD names (hex) in the repository at workdir, and whether
 * file (relative to workdir) differs from it. MD_ENOTFOUND when there is
 * no commit yet. Caller frees *commit.
 */
int md_git_provenance(char **commit, bool *dirty, const char *workdir,
		      const char *file);

/*
 * The URL of the remote called name in the repository holding folder dir
 * (its push URL when push and one is set). MD_ENOTFOUND when dir is in no
 * repository or it has no such remote. Caller frees *out.
 */
int md_git_remote_url(char **out, const char *dir, const char *name,
		      bool push);

/*
 * The values of http.extraheader and of each http.<url>.extraheader whose
 * <url> starts url, in the configuration of the repository holding dir
 * (none outside one): how actions/checkout hands its token on. *out is
 * NULL-terminated; caller frees with md_strv_free.
 */
int md_git_extraheaders(char ***out, size_t *n, const char *dir,
			const char *url);

/*
 * The files that differ between revision rev (anything git rev-parse
 * takes: a commit, a branch, origin/main, HEAD~3) and the work tree of
 * the repository holding dir: changed, added, renamed or untracked, not
 * deleted. Absolute paths, sorted; caller frees with md_strv_free.
 */
int md_git_changed(char ***out, size_t *n, const char *dir, const char *rev);

/* One changed line of a diff. */
struct md_diff_line {
	char origin;  /* '+' added, '-' removed */
	int old_line; /* its line in the old text; for '+', the next one */
	int new_line; /* its line in the new text; for '-', the next one */
	char *text;   /* without its line ending */
};

/*
 * A unified diff from old to new text, both named path in its header
 * ("--- a/PATH", "+++ b/PATH"), appended to patch; lines (when not NULL)
 * gets each changed line. Empty when the texts are equal. Free lines with
 * md_diff_lines_free.
 */
int md_git_diff(struct md_buf *patch, struct md_diff_line **lines,
		size_t *n, const char *path, const char *old, size_t old_len,
		const char *new, size_t new_len);
void md_diff_lines_free(struct md_diff_line *lines, size_t n);

#endif
