/*
 * Which documents a command line names: files as given, folders searched
 * for documents, and globs the shell left alone.
 */
#define _DEFAULT_SOURCE /* DT_DIR, realpath */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "../core/git.h"
#include "../../util/err.h"
#include "../../util/fs.h"

/* The deepest folder searched: deeper is a link loop or a mistake. */
#define WALK_DEPTH 64

bool
cli_is_document(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && dot != name &&
	       (!strcasecmp(dot, ".md") || !strcasecmp(dot, ".rmd") ||
		!strcasecmp(dot, ".qmd") || !strcasecmp(dot, ".markdown"));
}

/*
 * Adds the documents under folder dir (a path as the user gave it, so
 * that messages name what they typed) to *v, sorted. Hidden folders,
 * what .gitignore leaves out and the folders renders make (FILE_files/)
 * are skipped; links to folders are not followed.
 */
static int
walk(char ***v, size_t *n, const char *dir, struct md_git_ignore *ign,
     int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t k = 0;
	int rc = 0;

	if (depth > WALK_DEPTH)
		return md_err_set("%s: folders nested over %d deep",
				  dir, WALK_DEPTH);
	if (!(d = opendir(dir))) {
		if (!depth)
			return md_err_sys("%s", dir);
		/* A folder inside that cannot be read: said, and passed. */
		fprintf(stderr, "mdrun: %s: %s; its documents are left out\n",
			dir, strerror(errno));
		return 0;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			md_strv_push(&names, &k, md_strdup(e->d_name));
	closedir(d);
	if (k)
		qsort(names, k, sizeof(*names), md_strp_cmp);
	for (size_t i = 0; i < k && rc == 0; i++) {
		char *path = md_path_join(strcmp(dir, ".") ? dir : "",
					  names[i]);
		char real[PATH_MAX + 2];
		struct stat sb;
		size_t len;

		if (!strcmp(dir, "."))
			memmove(path, path + 1, strlen(path));
		if (lstat(path, &sb) < 0 || !realpath(path, real)) {
			free(path);
			continue; /* gone since, or unreadable: not ours */
		}
		len = strlen(real);
		if (S_ISDIR(sb.st_mode)) {
			real[len] = '/', real[len + 1] = '\0';
			len = strlen(names[i]);
			if (!(len > 6 && !strcmp(names[i] + len - 6, "_files")) &&
			    !md_git_ignored(ign, real))
				rc = walk(v, n, path, ign, depth + 1);
		} else if ((S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) &&
			   cli_is_document(names[i]) &&
			   !md_git_ignored(ign, real) &&
			   stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			md_strv_push(v, n, path);
			path = NULL;
		}
		free(path);
	}
	md_strv_free(names);
	return rc;
}

static bool
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int
cli_docs_expand(char ***out, size_t *n, char *const *args, size_t nargs,
		bool *many)
{
	char **v = NULL;
	size_t k = 0;
	int rc = 0;

	*many = nargs > 1;
	for (size_t i = 0; i < nargs && rc == 0; i++) {
		const char *a = args[i];
		struct stat sb;

		if (!strcmp(a, "-") || stat(a, &sb) == 0) {
			if (strcmp(a, "-") && S_ISDIR(sb.st_mode)) {
				struct md_git_ignore *ign = md_git_ignore_open(a);
				size_t before = k;

				*many = true;
				rc = walk(&v, &k, a, ign, 0);
				md_git_ignore_close(ign);
				if (rc == 0 && k == before)
					rc = md_err_set("%s: no documents in "
							"this folder (.md, "
							".Rmd, .qmd)", a);
			} else {
				md_strv_push(&v, &k, md_strdup(a));
			}
		} else if (has_glob(a)) {
			glob_t g;
			size_t before = k;
			int r = glob(a, GLOB_MARK, NULL, &g);

			*many = true;
			if (r == GLOB_NOMATCH)
				rc = md_err_set("%s: no file matches", a);
			else if (r != 0)
				rc = md_err_set("%s: cannot search for the "
						"files that match", a);
			for (size_t j = 0; r == 0 && j < g.gl_pathc; j++) {
				const char *p = g.gl_pathv[j];
				size_t len = strlen(p);
				/* GLOB_MARK: a folder ends in '/'. Only
				 * documents: a folder's *.html stays. */
				if (len && p[len - 1] != '/' &&
				    cli_is_document(p))
					md_strv_push(&v, &k, md_strdup(p));
			}
			if (r == 0)
				globfree(&g);
			if (r == 0 && k == before)
				rc = md_err_set("%s: no document (.md, .Rmd, "
						".qmd) matches", a);
		} else {
			rc = md_err_sys("%s", a);
		}
	}
	/* A document named twice (by any path) is rendered once, where
	 * first named. */
	char **real = md_calloc(k + 1, sizeof(*real));
	for (size_t i = 0; rc == 0 && i < k; i++)
		real[i] = strcmp(v[i], "-") ? realpath(v[i], NULL) : NULL;
	for (size_t i = 0; rc == 0 && i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (!strcmp(v[i], v[j]) ||
			    (real[i] && real[j] && !strcmp(real[i], real[j]))) {
				free(v[j]);
				free(real[j]);
				memmove(&v[j], &v[j + 1], (k - j) * sizeof(*v));
				memmove(&real[j], &real[j + 1],
					(k - j) * sizeof(*real));
				k--, j--;
			}
	for (size_t i = 0; i < k; i++)
		free(real[i]);
	free(real);
	if (rc == 0 && !k)
		rc = md_err_set("no document given");
	if (rc < 0) {
		md_strv_free(v);
		v = NULL, k = 0;
	}
	*out = v;
	*n = k;
	return rc;
}
