/* Kernelspecs: where Jupyter finds its kernels, and what each says. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"

/* kernel.json's largest sane size: a few argv words and a name. */
#define SPEC_MAX (1 << 20)

/* A NULL-terminated copy of a JSON array of strings; NULL if it is not. */
static char **
strings(const cJSON *arr, bool need_one)
{
	const cJSON *x;
	char **v;
	size_t n = 0;

	if (!cJSON_IsArray(arr) || (need_one && !cJSON_GetArraySize(arr)))
		return NULL;
	cJSON_ArrayForEach(x, arr)
	{
		if (!cJSON_IsString(x) || !*x->valuestring)
			return NULL;
	}
	v = md_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*v));
	cJSON_ArrayForEach(x, arr)
	{
		v[n++] = md_strdup(x->valuestring);
	}
	return v;
}

/* The NAME=VALUE entries of kernel.json's "env" object (NULL: none). */
static char **
env_of(const cJSON *obj)
{
	const cJSON *x;
	char **v;
	size_t n = 0;

	if (!cJSON_IsObject(obj))
		return md_calloc(1, sizeof(char *));
	v = md_calloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(*v));
	cJSON_ArrayForEach(x, obj)
	{
		struct md_buf b = MD_BUF_INIT;
		if (!cJSON_IsString(x) || !x->string || !*x->string ||
		    strchr(x->string, '='))
			continue;
		md_buf_printf(&b, "%s=%s", x->string, x->valuestring);
		v[n++] = md_buf_detach(&b);
	}
	return v;
}

static void
spec_dispose(struct md_kernel_spec *k)
{
	free(k->name);
	free(k->dir);
	md_strv_free(k->argv);
	free(k->display_name);
	free(k->language);
	md_strv_free(k->env);
}

/* The kernelspec in folder dir, named name; false if it has none. */
static bool
read_spec(struct md_kernel_spec *out, const char *dir, const char *name)
{
	char *path = md_path_join(dir, "kernel.json");
	struct md_buf text = MD_BUF_INIT;
	cJSON *j = NULL;
	const cJSON *dn, *lang, *mode;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (md_fs_read_file(&text, path, SPEC_MAX, true) < 0 ||
	    !(j = cJSON_ParseWithLength(text.ptr, text.len)) ||
	    !(out->argv = strings(cJSON_GetObjectItemCaseSensitive(j, "argv"),
				  true)))
		goto done;
	dn = cJSON_GetObjectItemCaseSensitive(j, "display_name");
	lang = cJSON_GetObjectItemCaseSensitive(j, "language");
	mode = cJSON_GetObjectItemCaseSensitive(j, "interrupt_mode");
	out->name = md_strdup(name);
	out->dir = md_strdup(dir);
	out->display_name = md_strdup(cJSON_IsString(dn) ? dn->valuestring
							 : name);
	out->language = md_strdup(cJSON_IsString(lang) ? lang->valuestring
						       : "");
	out->interrupt_message = cJSON_IsString(mode) &&
				 !strcmp(mode->valuestring, "message");
	out->env = env_of(cJSON_GetObjectItemCaseSensitive(j, "env"));
	ok = true;
done:
	if (!ok) {
		spec_dispose(out);
		memset(out, 0, sizeof(*out));
	}
	cJSON_Delete(j);
	md_buf_dispose(&text);
	free(path);
	return ok;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folders in dir (links followed), sorted. */
static size_t
folders(char ***out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	*out = NULL;
	while (d && (e = readdir(d))) {
		char *path;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		path = md_path_join(dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			*out = md_realloc(*out, (n + 1) * sizeof(**out));
			(*out)[n++] = md_strdup(e->d_name);
		}
		free(path);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(*out, n, sizeof(**out), by_name);
	return n;
}

/* Adds the kernelspecs of folder root/kernels not found before. */
static void
add_from(struct md_kernel_specs *t, const char *root)
{
	char *kernels = md_path_join(root, "kernels");
	char **names;
	size_t n = folders(&names, kernels);

	for (size_t i = 0; i < n; i++) {
		char *dir = md_path_join(kernels, names[i]);
		struct md_kernel_spec k;

		if (!md_kernel_spec_get(t, names[i]) &&
		    read_spec(&k, dir, names[i])) {
			t->v = md_realloc(t->v, (t->n + 1) * sizeof(*t->v));
			t->v[t->n++] = k;
		}
		free(dir);
		free(names[i]);
	}
	free(names);
	free(kernels);
}

void
md_kernel_specs_find(struct md_kernel_specs *out)
{
	const char *jp = getenv("JUPYTER_PATH");
	const char *data = getenv("JUPYTER_DATA_DIR");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	char *user = NULL;

	memset(out, 0, sizeof(*out));
	if (jp && *jp) {
		char *copy = md_strdup(jp), *save = NULL;
		for (char *p = strtok_r(copy, ":", &save); p;
		     p = strtok_r(NULL, ":", &save))
			add_from(out, p);
		free(copy);
	}
	if (data && *data)
		user = md_strdup(data);
	else if (xdg && *xdg)
		user = md_path_join(xdg, "jupyter");
	else if (home && *home)
		user = md_path_join(home, ".local/share/jupyter");
	if (user)
		add_from(out, user);
	free(user);
	add_from(out, "/usr/local/share/jupyter");
	add_from(out, "/usr/share/jupyter");
}

void
md_kernel_specs_dispose(struct md_kernel_specs *t)
{
	for (size_t i = 0; i < t->n; i++)
		spec_dispose(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const struct md_kernel_spec *
md_kernel_spec_get(const struct md_kernel_specs *t, const char *name)
{
	for (size_t i = 0; name && i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}
