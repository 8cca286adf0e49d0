#define _XOPEN_SOURCE 700 /* realpath */
#include "interp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "../doc/doc.h"
#include "proc.h"
#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/hash.h"

static const struct {
	const char *lang, *command;
	enum md_driver driver;
	const char *kernel, *package; /* its Jupyter kernel, from Debian */
} builtin[] = {
	{ "sh", "sh", MD_DRIVER_SH, NULL, NULL },
	{ "bash", "bash", MD_DRIVER_BASH, NULL, NULL },
	{ "python", "python3", MD_DRIVER_PYTHON, NULL, NULL },
	{ "r", "R", MD_DRIVER_NONE, "ir", "r-cran-irkernel" },
};

static const struct {
	const char *alias, *lang;
} aliases[] = {
	{ "python3", "python" },
	{ "py", "python" },
	{ "shell", "sh" },
	{ "R", "r" },
};

/* Splits at runs of spaces. Caller frees with md_strv_free. */
static char **
split(const char *s)
{
	char **v = md_calloc(1, sizeof(*v));
	size_t n = 0;

	while (*s) {
		size_t k;
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		k = strcspn(s, " ");
		v = md_realloc(v, (n + 2) * sizeof(*v));
		v[n++] = md_strndup(s, k);
		v[n] = NULL;
		s += k;
	}
	return v;
}

static void
interp_dispose(struct md_interp *in)
{
	free(in->lang);
	md_strv_free(in->argv);
	free(in->extension);
	free(in->kernel);
	free(in->identity);
	memset(in, 0, sizeof(*in));
}

static struct md_interp *
slot(struct md_interps *t, const char *lang)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcasecmp(t->v[i].lang, lang)) {
			interp_dispose(&t->v[i]);
			break;
		}
	if (i == t->n)
		t->v = md_realloc(t->v, ++t->n * sizeof(*t->v));
	memset(&t->v[i], 0, sizeof(t->v[i]));
	t->v[i].lang = md_strdup(lang);
	return &t->v[i];
}

/* Line and column of the first "name" in text at or after from. */
static void
where(const char *text, const char *name, const char *from, int *line,
      int *col)
{
	struct md_buf quoted = MD_BUF_INIT;
	const char *p, *at;

	md_buf_printf(&quoted, "\"%s\"", name);
	at = strstr(from ? from : text, quoted.ptr);
	if (!at)
		at = text;
	*line = 1;
	*col = 1;
	for (p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
	md_buf_dispose(&quoted);
}

static int
config_error(const char *path, const char *text, const char *name,
	     const char *from, const char *what)
{
	int line, col;

	where(text, name, from, &line, &col);
	return md_err_set("%s:%d:%d: %s", path, line, col, what);
}

static int
load_language(struct md_interps *t, const char *path, const char *text,
	      const cJSON *lang)
{
	struct md_buf msg = MD_BUF_INIT;
	const char *from = strstr(text, lang->string);
	const cJSON *f;
	struct md_interp *in;
	int rc = 0;

	if (!cJSON_IsObject(lang)) {
		md_buf_printf(&msg, "languages.%s: expected an object",
			      lang->string);
		goto fail;
	}
	cJSON_ArrayForEach(f, lang)
	{
		bool str = !strcmp(f->string, "command") ||
			   !strcmp(f->string, "extension") ||
			   !strcmp(f->string, "driver") ||
			   !strcmp(f->string, "kernel");
		if (str && !cJSON_IsString(f)) {
			md_buf_printf(&msg, "languages.%s.%s: expected a string",
				      lang->string, f->string);
			goto fail_at;
		}
		if (!str && strcmp(f->string, "session")) {
			md_buf_printf(&msg, "languages.%s.%s: unknown key "
					    "(expected command, extension, "
					    "driver, kernel or session)",
				      lang->string, f->string);
			goto fail_at;
		}
		if (!str && !cJSON_IsBool(f)) {
			md_buf_printf(&msg, "languages.%s.session: expected "
					    "true or false",
				      lang->string);
			goto fail_at;
		}
		continue;
fail_at:
		rc = config_error(path, text, f->string, from, msg.ptr);
		goto done;
	}
	const cJSON *cmd = cJSON_GetObjectItem(lang, "command");
	const cJSON *ext = cJSON_GetObjectItem(lang, "extension");
	const cJSON *drv = cJSON_GetObjectItem(lang, "driver");
	const cJSON *ses = cJSON_GetObjectItem(lang, "session");
	const cJSON *ker = cJSON_GetObjectItem(lang, "kernel");
	enum md_driver d = MD_DRIVER_NONE;

	if (ker && (cmd || drv)) {
		rc = config_error(path, text, "kernel", from,
				  "a kernel runs the blocks: no command or "
				  "driver with it");
		goto done;
	}
	if (ker && !md_name_valid(ker->valuestring)) {
		rc = config_error(path, text, "kernel", from,
				  "kernel: expected a kernelspec name "
				  "(letters, digits, '.', '_', '-')");
		goto done;
	}
	if (ker) {
		in = slot(t, lang->string);
		in->argv = split(ker->valuestring);
		in->extension = md_strdup(ext ? ext->valuestring : "");
		in->kernel = md_strdup(ker->valuestring);
		in->session = !cJSON_IsFalse(ses);
		goto done;
	}
	/* Blanks only would split into no words: nothing to run. */
	if (!cmd || !cmd->valuestring[strspn(cmd->valuestring, " ")]) {
		md_buf_printf(&msg, "language '%s' needs a \"command\"",
			      lang->string);
		goto fail;
	}
	if (drv && !strcmp(drv->valuestring, "python"))
		d = MD_DRIVER_PYTHON;
	else if (drv && !strcmp(drv->valuestring, "bash"))
		d = MD_DRIVER_BASH;
	else if (drv && !strcmp(drv->valuestring, "sh"))
		d = MD_DRIVER_SH;
	else if (drv) {
		rc = config_error(path, text, "driver", from,
				  "unknown driver (python, bash or sh)");
		goto done;
	}
	if (!drv && !strstr(cmd->valuestring, "{file}") &&
	    !strstr(cmd->valuestring, "{code}")) {
		rc = config_error(path, text, "command", from,
				  "a command without a driver needs {file} "
				  "or {code}");
		goto done;
	}
	in = slot(t, lang->string);
	in->argv = split(cmd->valuestring);
	in->extension = md_strdup(ext ? ext->valuestring : "");
	in->driver = d;
	in->session = d != MD_DRIVER_NONE && !cJSON_IsFalse(ses);
	goto done;
fail:
	rc = config_error(path, text, lang->string, NULL, msg.ptr);
done:
	md_buf_dispose(&msg);
	return rc;
}

static int
load_config(struct md_interps *t, const char *path)
{
	struct md_buf text = MD_BUF_INIT;
	cJSON *root = NULL, *langs, *lang, *remote;
	int rc;

	if ((rc = md_fs_read(&text, path)) < 0)
		goto done;
	md_buf_put(&text, "", 0);
	root = cJSON_ParseWithLength(text.ptr, text.len);
	if (!root) {
		const char *at = cJSON_GetErrorPtr(), *p;
		int line = 1, col = 1;
		for (p = text.ptr; at && p < at && *p; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		rc = md_err_set("%s:%d:%d: not valid JSON", path, line, col);
		goto done;
	}
	if (!cJSON_IsObject(root)) {
		rc = md_err_set("%s:1:1: expected an object", path);
		goto done;
	}
	cJSON_ArrayForEach(lang, root)
		if (strcmp(lang->string, "languages") &&
		    strcmp(lang->string, "remote") &&
		    strcmp(lang->string, "track")) {
			struct md_buf m = MD_BUF_INIT;
			md_buf_printf(&m, "%s: unknown key (expected languages, "
					  "remote or track)",
				      lang->string);
			rc = config_error(path, text.ptr, lang->string, NULL,
					  m.ptr);
			md_buf_dispose(&m);
			goto done;
		}
	remote = cJSON_GetObjectItem(root, "remote");
	if (remote && (!cJSON_IsString(remote) || !*remote->valuestring)) {
		rc = config_error(path, text.ptr, "remote", NULL,
				  "remote: expected a non-empty string");
		goto done;
	}
	if (remote)
		t->remote = md_strdup(remote->valuestring);
	cJSON *track = cJSON_GetObjectItem(root, "track");
	if (track && !cJSON_IsBool(track)) {
		rc = config_error(path, text.ptr, "track", NULL,
				  "track: expected true or false");
		goto done;
	}
	t->no_track = track && cJSON_IsFalse(track);
	langs = cJSON_GetObjectItem(root, "languages");
	if (langs && !cJSON_IsObject(langs)) {
		rc = config_error(path, text.ptr, "languages", NULL,
				  "languages: expected an object");
		goto done;
	}
	cJSON_ArrayForEach(lang, langs)
		if ((rc = load_language(t, path, text.ptr, lang)) < 0)
			goto done;
done:
	cJSON_Delete(root);
	md_buf_dispose(&text);
	return rc;
}

int
md_interps_load(struct md_interps *t, const char *path)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(builtin) / sizeof(*builtin); i++) {
		struct md_interp *in = slot(t, builtin[i].lang);
		in->argv = split(builtin[i].command);
		in->extension = md_strdup("");
		in->driver = builtin[i].driver;
		in->kernel = builtin[i].kernel ? md_strdup(builtin[i].kernel)
					       : NULL;
		in->session = true;
	}
	return path ? load_config(t, path) : 0;
}

void
md_interps_dispose(struct md_interps *t)
{
	for (size_t i = 0; i < t->n; i++)
		interp_dispose(&t->v[i]);
	free(t->v);
	free(t->remote);
	memset(t, 0, sizeof(*t));
}

struct md_interp *
md_interp_kernel(struct md_interps *t, const char *lang, const char *kernel)
{
	const struct md_interp *in = md_interp_find(t, lang);
	const char *canon = in ? in->lang : lang;
	struct md_interp *k;

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].kernel && !strcmp(t->v[i].kernel, kernel) &&
		    !strcmp(t->v[i].lang, canon))
			return &t->v[i];
	t->v = md_realloc(t->v, ++t->n * sizeof(*t->v));
	k = &t->v[t->n - 1];
	memset(k, 0, sizeof(*k));
	k->lang = md_strdup(canon);
	k->argv = split(kernel);
	k->extension = md_strdup("");
	k->kernel = md_strdup(kernel);
	k->session = true;
	return k;
}

const struct md_interp *
md_interp_find(const struct md_interps *t, const char *lang)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcasecmp(t->v[i].lang, lang))
			return &t->v[i];
	for (i = 0; i < sizeof(aliases) / sizeof(*aliases); i++)
		if (!strcasecmp(aliases[i].alias, lang))
			return md_interp_find(t, aliases[i].lang);
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

/* The first non-blank line of `bin --version`, else bin's file name. */
static char *
probe(const char *bin)
{
	const char *argv[] = { bin, "--version", NULL };
	struct md_proc_opts o = { argv, NULL, NULL, 10, 4096, NULL };
	struct md_proc_result r;
	char *id = NULL;

	if (md_proc_run(&r, &o) == 0 && r.exit.code == 0 && !r.exit.signal) {
		const char *s = r.out.len ? r.out.ptr : r.err.ptr;
		s += strspn(s, "\r\n \t");
		size_t n = strcspn(s, "\r\n");
		if (n)
			id = md_strndup(s, n);
	}
	md_proc_result_dispose(&r);
	return id ? id : md_strdup(md_path_basename(bin));
}

/* The Debian package of a built-in language's kernel, or NULL. */
static const char *
kernel_package(const char *kernel)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(*builtin); i++)
		if (builtin[i].kernel && !strcmp(builtin[i].kernel, kernel))
			return builtin[i].package;
	return NULL;
}

/* The command a kernel's spec starts, or NULL (message set). */
static char *
kernel_command(const char *kernel)
{
	struct md_kernel_specs specs;
	const struct md_kernel_spec *k;
	const char *pkg = kernel_package(kernel);
	char *cmd = NULL;

	md_kernel_specs_find(&specs);
	if ((k = md_kernel_spec_get(&specs, kernel)))
		cmd = md_strdup(k->argv[0]);
	else if (pkg)
		md_err_set("its Jupyter kernel '%s' is not installed (Debian: "
			   "apt-get install %s)",
			   kernel, pkg);
	else
		md_err_set("the Jupyter kernel '%s' is not installed "
			   "(`mdrun kernels` lists those that are)",
			   kernel);
	md_kernel_specs_dispose(&specs);
	return cmd;
}

int
md_interp_identity(const char **out, struct store *s, struct md_interp *in)
{
	struct md_buf memo = MD_BUF_INIT, val = MD_BUF_INIT;
	char name[MD_HASH_HEX];
	char *bin = NULL, *cmd;
	struct stat st;
	int rc = 0;

	*out = NULL;
	if (in->probed == 1) {
		*out = in->identity;
		return 0;
	}
	cmd = in->kernel ? kernel_command(in->kernel) : md_strdup(in->argv[0]);
	if (!cmd) {
		in->probed = MD_ENOTFOUND;
		return MD_ENOTFOUND;
	}
	bin = which(cmd);
	if (!bin || stat(bin, &st) < 0) {
		in->probed = MD_ENOTFOUND;
		rc = MD_ENOTFOUND;
		md_err_set("'%s' is not installed (not found in PATH)", cmd);
		goto done;
	}
	md_buf_printf(&memo, "%s\n%lld\n%lld.%09ld\n", bin,
		      (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		      st.st_mtim.tv_nsec);
	md_hash_bytes(name, memo.ptr, memo.len);
	if (store_memo_get(&val, s, name) == 0 && val.len > 0) {
		in->identity = md_buf_detach(&val);
	} else {
		in->identity = probe(bin);
		/* A memo not written costs a probe next time, no more. */
		store_memo_put(s, name, in->identity, strlen(in->identity));
	}
	if (in->kernel) {
		md_buf_clear(&val);
		md_buf_printf(&val, "kernel %s: %s", in->kernel, in->identity);
		free(in->identity);
		in->identity = md_buf_detach(&val);
	}
	in->probed = 1;
	*out = in->identity;
done:
	free(cmd);
	free(bin);
	md_buf_dispose(&memo);
	md_buf_dispose(&val);
	return rc;
}
