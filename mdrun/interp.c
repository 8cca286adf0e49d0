#define _XOPEN_SOURCE 700 /* realpath */
#include "interp.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "../util/err.h"
#include "../util/fs.h"
#include "../util/hash.h"

static const struct md_interp table[] = {
	{ "sh", "sh", "-c", "sh" },
	{ "bash", "bash", "-c", "bash" },
	{ "python", "python3", "-c", NULL },
};

static const struct {
	const char *alias, *lang;
} aliases[] = {
	{ "python3", "python" },
	{ "py", "python" },
	{ "shell", "sh" },
};

const struct md_interp *
md_interp_find(const char *lang)
{
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(*aliases); i++)
		if (!strcmp(aliases[i].alias, lang))
			lang = aliases[i].lang;
	for (i = 0; i < sizeof(table) / sizeof(*table); i++)
		if (!strcmp(table[i].lang, lang))
			return &table[i];
	return NULL;
}

/* The absolute, resolved path of command in PATH, or NULL. */
static char *
which(const char *command)
{
	const char *path = getenv("PATH"), *p, *colon;
	char resolved[PATH_MAX];

	if (strchr(command, '/'))
		return realpath(command, resolved) ? md_strdup(resolved) : NULL;
	for (p = path ? path : "/usr/bin:/bin"; *p; p = colon + 1) {
		colon = strchr(p, ':');
		if (!colon)
			colon = p + strlen(p);
		char *dir = md_strndup(p, (size_t)(colon - p));
		char *cand = md_path_join(*dir ? dir : ".", command);
		free(dir);
		if (access(cand, X_OK) == 0 && realpath(cand, resolved)) {
			free(cand);
			return md_strdup(resolved);
		}
		free(cand);
		if (!*colon)
			break;
	}
	return NULL;
}

static char *
probe(const char *bin)
{
	const char *argv[] = { bin, "--version", NULL };
	struct md_proc_opts o = { argv, NULL, NULL, 10, 4096 };
	struct md_proc_result r;
	char *id = NULL;

	if (md_proc_run(&r, &o) == 0 && r.exit_code == 0 && !r.signal) {
		struct md_buf *b = r.out.len ? &r.out : &r.err;
		size_t n = strcspn(b->ptr, "\r\n");
		if (n)
			id = md_strndup(b->ptr, n);
	}
	md_proc_result_dispose(&r);
	return id ? id : md_strdup(md_path_basename(bin));
}

/* Per process: a render asks once per block, PATH is searched once. */
static char *known[sizeof(table) / sizeof(*table)];

int
md_interp_identity(char **out, struct store *s, const struct md_interp *in)
{
	struct md_buf memo = MD_BUF_INIT, val = MD_BUF_INIT;
	char name[MD_HASH_HEX];
	char *bin = NULL, *id = NULL;
	char **seen = &known[in - table];
	struct stat st;
	int rc = 0;

	*out = NULL;
	if (*seen) {
		*out = md_strdup(*seen);
		return 0;
	}
	bin = which(in->command);
	if (!bin || stat(bin, &st) < 0) {
		rc = MD_ENOTFOUND;
		md_err_set("'%s' is not installed (not found in PATH)",
			   in->command);
		goto done;
	}
	md_buf_printf(&memo, "%s\n%lld\n%lld.%09ld\n", bin,
		      (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		      st.st_mtim.tv_nsec);
	md_hash_bytes(name, memo.ptr, memo.len);
	if (store_memo_get(&val, s, name) == 0 && val.len > 0) {
		id = md_buf_detach(&val);
	} else {
		id = probe(bin);
		/* A memo not written costs a probe next time, no more. */
		store_memo_put(s, name, id, strlen(id));
	}
	*seen = id;
	*out = md_strdup(id);
done:
	free(bin);
	md_buf_dispose(&memo);
	md_buf_dispose(&val);
	return rc;
}
