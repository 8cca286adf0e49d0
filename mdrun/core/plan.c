#define _DEFAULT_SOURCE /* realpath */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static int
pair_order(const void *x, const void *y)
{
	const struct md_key_pair *p = x, *q = y;
	int c = strcmp(p->a, q->a);

	if (c || p->b == q->b)
		return c;
	if (!p->b || !q->b)
		return p->b ? 1 : -1;
	return strcmp(p->b, q->b);
}

void
md_key_pairs(struct md_buf *out, struct md_key_pair *p, size_t n)
{
	if (n > 1)
		qsort(p, n, sizeof(*p), pair_order);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !pair_order(&p[i], &p[i - 1]))
			continue;
		store_key_item(out, p[i].a, strlen(p[i].a));
		if (p[i].b) {
			md_buf_put(out, "=", 1);
			store_key_item(out, p[i].b, strlen(p[i].b));
		} else {
			md_buf_put(out, "!", 1);
		}
	}
}

/*
 * The deps field: md_key_pairs of each deps= block's name and the
 * realization the document shows, so a result is bound to the
 * MDRUN_DEP_<name> it is read through and the order of the deps= list
 * does not matter. False when one has no result yet.
 */
static bool
deps_field(struct md_buf *out, const struct md_plan *p,
	   const struct md_stage *st)
{
	struct md_key_pair *d = md_calloc(st->ndeps + 1, sizeof(*d));
	size_t i;
	bool ok = true;

	for (i = 0; i < st->ndeps; i++) {
		const struct md_stage *u = &p->stages[st->deps[i]];
		ok = ok && u->rhash[0];
		d[i] = (struct md_key_pair){ u->block->name, u->rhash };
	}
	if (ok)
		md_key_pairs(out, d, st->ndeps);
	free(d);
	return ok;
}

/*
 * The fields of st's key, in key order, in an array sized for them
 * (caller frees), or NULL when an upstream stage has no result yet. deps
 * holds the text of the deps field.
 */
static struct store_field *
stage_fields(size_t *n, struct md_buf *deps, const struct md_plan *p,
	     const struct md_stage *st)
{
	const struct md_block *b = st->block;
	const struct md_stage *prev = st->prev >= 0 ? &p->stages[st->prev]
						    : NULL;
	struct store_field *f;

	*n = 0;
	if (!deps_field(deps, p, st))
		return NULL;
	if (prev && (!prev->key[0] || !prev->rhash[0]))
		return NULL;
	f = md_calloc(11 + (st->env != NULL) + (st->inputs != NULL) +
			      (st->ndeps > 0) + 2 * (prev != NULL),
		      sizeof(*f));
	f[(*n)++] = (struct store_field){ "mdrun-key", MD_KEY_VERSION };
	f[(*n)++] = (struct store_field){ "lang", st->interp->lang };
	f[(*n)++] = (struct store_field){ "interpreter", st->identity };
	f[(*n)++] = (struct store_field){ "runner",
					  st->session ? "session" : "process" };
	/* What the python driver records: a run from before shows less. */
	if (st->interp->driver == MD_DRIVER_PYTHON)
		f[(*n)++] = (struct store_field){ "outputs", MD_PY_OUTPUTS };
	if (b->fig)
		f[(*n)++] = (struct store_field){ "fig", b->fig };
	/* warning=false: python's driver, and R in a kernel, ignore the
	 * block's warnings */
	if (b->no_warnings &&
	    (st->interp->driver == MD_DRIVER_PYTHON || st->interp->kernel))
		f[(*n)++] = (struct store_field){ "warnings", "ignore" };
	/* message=false: R's messages in a kernel are not shown */
	if (b->no_messages && st->interp->kernel)
		f[(*n)++] = (struct store_field){ "messages", "drop" };
	f[(*n)++] = (struct store_field){ "dir", p->dir };
	/* Blocks see both (MDRUN_DOC, MDRUN_BLOCK): they are in the key. */
	f[(*n)++] = (struct store_field){ "doc", p->doc };
	f[(*n)++] = (struct store_field){ "name", b->name };
	f[(*n)++] = (struct store_field){ "code", b->code };
	if (st->env)
		f[(*n)++] = (struct store_field){ "env", st->env };
	if (st->inputs)
		f[(*n)++] = (struct store_field){ "inputs", st->inputs };
	if (st->ndeps)
		f[(*n)++] = (struct store_field){ "deps", deps->ptr };
	if (prev) {
		f[(*n)++] = (struct store_field){ "prev-key", prev->key };
		f[(*n)++] = (struct store_field){ "prev-rhash", prev->rhash };
	}
	return f;
}

bool
md_stage_key(struct md_plan *p, struct md_stage *st)
{
	struct md_buf deps = MD_BUF_INIT;
	size_t n;
	struct store_field *f = stage_fields(&n, &deps, p, st);

	st->key[0] = '\0';
	if (f)
		store_key(st->key, f, n);
	free(f);
	md_buf_dispose(&deps);
	return st->key[0] != '\0';
}

char *
md_stage_drv(const struct md_plan *p, const struct md_stage *st)
{
	struct md_buf deps = MD_BUF_INIT;
	size_t n;
	struct store_field *f = stage_fields(&n, &deps, p, st);
	char *drv = f ? store_drv_json(f, n) : NULL;

	free(f);
	md_buf_dispose(&deps);
	return drv;
}

/* Calls fn on each item of a comma list, blanks around it trimmed. */
int
md_each_item(const char *list, int (*fn)(const char *item, void *ctx),
	  void *ctx)
{
	const char *p = list;
	int rc = 0;

	while (rc == 0 && *p) {
		size_t n = strcspn(p, ",");
		const char *a = p, *z = p + n;
		while (a < z && *a == ' ')
			a++;
		while (z > a && z[-1] == ' ')
			z--;
		char *item = md_strndup(a, (size_t)(z - a));
		rc = fn(item, ctx);
		free(item);
		p += n + (p[n] == ',');
	}
	return rc;
}

struct resolve {
	struct md_plan *p;
	struct md_doc *doc;
	struct md_stage *st;
	const char *cwd;
	char *real; /* cwd with links resolved, for inputs= */
	struct md_key_pair *pairs;
	size_t npairs;
	int line, col;
};

static void
add_pair(struct resolve *r, const char *a, const char *b)
{
	r->pairs = md_realloc(r->pairs, (r->npairs + 1) * sizeof(*r->pairs));
	r->pairs[r->npairs++] = (struct md_key_pair){
		md_strdup(a), b ? md_strdup(b) : NULL
	};
}

/* The field of the pairs collected (md_key_pairs); empties the list. */
static char *
pairs_field(struct resolve *r)
{
	struct md_buf f = MD_BUF_INIT;

	md_key_pairs(&f, r->pairs, r->npairs);
	for (size_t i = 0; i < r->npairs; i++) {
		free((char *)r->pairs[i].a);
		free((char *)r->pairs[i].b);
	}
	r->npairs = 0;
	return md_buf_detach(&f);
}

/*
 * Do names a and b give one MDRUN_DEP_ variable (letters and digits kept,
 * any other byte '_', as exec.c maps them)?
 */
static bool
same_variable(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = isalnum((unsigned char)*a) ? *a : '_';
		char y = isalnum((unsigned char)*b) ? *b : '_';
		if (x != y)
			return false;
	}
	return *a == *b;
}

static int
add_dep(const char *name, void *ctx)
{
	struct resolve *r = ctx;
	size_t i;

	for (i = 0; i < r->st->ndeps; i++) {
		const char *other = r->p->stages[r->st->deps[i]].block->name;
		if (strcmp(other, name) && same_variable(other, name)) {
			char *v = md_strdup(name);
			for (char *c = v; *c; c++)
				if (!isalnum((unsigned char)*c))
					*c = '_';
			md_err_set("%s:%d:%d: deps: '%s' and '%s' would both be "
				   "MDRUN_DEP_%s; rename one of the blocks",
				   r->doc->path, r->line, r->col, other, name, v);
			free(v);
			return MD_ERROR;
		}
	}
	for (i = 0; i + 1 < r->p->n; i++) {
		struct md_stage *d = &r->p->stages[i];
		if (strcmp(d->block->name, name))
			continue;
		r->st->deps = md_realloc(r->st->deps, (r->st->ndeps + 1) *
							      sizeof(int));
		r->st->deps[r->st->ndeps++] = (int)i;
		return 0;
	}
	for (i = 0; i < r->doc->nblocks; i++) {
		struct md_block *b = &r->doc->blocks[i];
		if (!b->name || strcmp(b->name, name))
			continue;
		if (b->line > r->st->block->line)
			return md_err_set("%s:%d:%d: deps: '%s' comes later "
					  "(line %d); deps name earlier blocks",
					  r->doc->path, r->line, r->col, name,
					  b->line);
		if (b != r->st->block)
			return md_err_set("%s:%d:%d: deps: block '%s' is not "
					  "run", r->doc->path, r->line, r->col,
					  name);
	}
	return md_err_set("%s:%d:%d: deps: no block named '%s' before this "
			  "one", r->doc->path, r->line, r->col, name);
}

static int
add_env(const char *name, void *ctx)
{
	struct resolve *r = ctx;
	const char *v = getenv(name);

	add_pair(r, name, v);
	return 0;
}

/* Does path have a ".." component? */
static bool
climbs(const char *path)
{
	for (const char *c = path; *c; c += strcspn(c, "/"), c += *c == '/')
		if (!strncmp(c, "..", 2) && (c[2] == '/' || !c[2]))
			return true;
	return false;
}

/*
 * The SHA-256 of the regular file at path (links followed), read up to
 * the size it had when opened, so a file that grows without end is read
 * once; a fifo, a device or a folder is refused with the message set.
 */
static int
hash_regular(char out[MD_HASH_HEX], const char *path, const char *shown)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct md_hash h;
	struct stat sb;
	char buf[65536];
	off_t left;

	if (fd < 0)
		return md_err_sys("%s", shown);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return md_err_set("'%s' is not a regular file", shown);
	}
	md_hash_init(&h);
	for (left = sb.st_size; left > 0;) {
		ssize_t k = read(fd, buf, left < (off_t)sizeof(buf)
						  ? (size_t)left
						  : sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		md_hash_update(&h, buf, (size_t)k);
		left -= k;
	}
	md_hash_final(out, &h);
	close(fd);
	return 0;
}

/*
 * One inputs= pattern: each file it matches, by its path from the
 * document's folder, and its content hash. Neither the pattern nor what
 * it expands to (".?/", a link) may leave the document's folder.
 */
static int
add_input(const char *pattern, void *ctx)
{
	struct resolve *r = ctx;
	struct md_buf full = MD_BUF_INIT;
	glob_t g;
	size_t i, pre;
	int rc = 0;

	if (pattern[0] == '/' || climbs(pattern))
		return md_err_set("%s:%d:%d: inputs: '%s' is outside the "
				  "document's folder", r->doc->path, r->line,
				  r->col, pattern);
	md_buf_printf(&full, "%s/", r->cwd);
	pre = full.len;
	md_buf_puts(&full, pattern);
	memset(&g, 0, sizeof(g));
	if (glob(full.ptr, GLOB_MARK, NULL, &g) != 0 || g.gl_pathc == 0) {
		rc = md_err_set("%s:%d:%d: inputs: '%s' matches no file",
				r->doc->path, r->line, r->col, pattern);
		goto done;
	}
	for (i = 0; i < g.gl_pathc && rc == 0; i++) {
		const char *path = g.gl_pathv[i], *rel = path + pre;
		char digest[MD_HASH_HEX], *real;
		size_t len = strlen(path), n = strlen(r->real);

		if (len && path[len - 1] == '/') {
			rc = md_err_set("%s:%d:%d: inputs: '%s' is a folder; "
					"name its files ('%s*')",
					r->doc->path, r->line, r->col, rel,
					rel);
			break;
		}
		real = realpath(path, NULL);
		if (climbs(rel) || !real || strncmp(real, r->real, n) ||
		    real[n] != '/') {
			rc = md_err_set("%s:%d:%d: inputs: '%s' %s outside the "
					"document's folder", r->doc->path,
					r->line, r->col, rel,
					climbs(rel) ? "is" : "leads");
		} else if ((rc = hash_regular(digest, path, rel)) < 0) {
			rc = md_err_prefix(rc, "%s:%d:%d: inputs", r->doc->path,
					   r->line, r->col);
		} else {
			add_pair(r, rel, digest);
		}
		free(real);
	}
done:
	globfree(&g);
	md_buf_dispose(&full);
	return rc;
}

/* Resolves deps=, reads env= and inputs= into the stage's fields. */
static int
upstream(struct md_plan *p, struct md_doc *doc, struct md_stage *st,
	 const char *cwd)
{
	struct resolve r = { p, doc, st, cwd, NULL, NULL, 0, 0, 0 };
	const struct md_block *b = st->block;
	int rc = 0;

	for (size_t i = 0; i < b->nopts && rc == 0; i++) {
		const struct md_opt *o = &b->opts[i];

		r.line = o->line;
		r.col = o->col;
		if (!strcmp(o->key, "deps")) {
			rc = md_each_item(o->val, add_dep, &r);
		} else if (!strcmp(o->key, "dependson")) {
			/* knitr's: 'a' or c('a', 'b'), checked when parsed */
			char *list = md_opt_list(o->val);
			rc = md_each_item(list ? list : "", add_dep, &r);
			free(list);
		} else if (!strcmp(o->key, "env")) {
			rc = md_each_item(o->val, add_env, &r);
			free(st->env);
			st->env = pairs_field(&r);
		} else if (!strcmp(o->key, "inputs")) {
			if (!r.real && !(r.real = realpath(cwd, NULL)))
				rc = md_err_sys("%s", cwd);
			if (rc == 0)
				rc = md_each_item(o->val, add_input, &r);
			free(st->inputs);
			st->inputs = pairs_field(&r);
		}
	}
	free(r.pairs);
	free(r.real);
	return rc;
}

static int
located(const struct md_doc *doc, const struct md_block *b, const char *fmt,
	const char *a, const char *why)
{
	struct md_buf msg = MD_BUF_INIT;
	int rc;

	md_buf_printf(&msg, fmt, a, why ? why : "");
	rc = md_err_set("%s:%d:%d: %s", doc->path, b->line, b->info_col,
			msg.ptr);
	md_buf_dispose(&msg);
	return rc;
}

/*
 * The kernel b runs in by its own kernel= or, for its language, by the
 * front matter's kernels: (an alias of the language counts), or NULL.
 */
static const char *
block_kernel(const struct md_doc *doc, const struct md_interps *t,
	     const struct md_block *b, int *installed)
{
	const char *k = md_block_opt(b, "kernel");
	const struct md_interp *in = md_interp_find(t, b->lang);

	if (k)
		return k;
	for (size_t i = 0; i < doc->nkernels; i++)
		if (!strcasecmp(doc->kernels[i].lang, b->lang) ||
		    (in && md_interp_find(t, doc->kernels[i].lang) == in))
			return doc->kernels[i].kernel;
	/*
	 * A notebook's own kernelspec (MyST, jupytext), for its language's
	 * blocks, when that kernel is installed: its blocks may use what
	 * only that kernel knows (IPython's %magics).
	 */
	if (!doc->kernelspec_name || !doc->kernelspec_lang ||
	    !md_name_valid(doc->kernelspec_name) ||
	    (strcasecmp(doc->kernelspec_lang, b->lang) &&
	     (!in || md_interp_find(t, doc->kernelspec_lang) != in)))
		return NULL;
	if (*installed < 0) {
		struct md_kernel_specs specs;
		md_kernel_specs_find(&specs);
		*installed = md_kernel_spec_get(&specs,
						doc->kernelspec_name) != NULL;
		md_kernel_specs_dispose(&specs);
	}
	return *installed ? doc->kernelspec_name : NULL;
}

struct given {
	const char *cwd;
	const struct md_opt *o; /* file=, for messages */
	const char *doc;
	struct md_buf code;
};

/* One file of file=, appended to the code, ending with a line end. */
static int
add_file(const char *item, void *ctx)
{
	struct given *g = ctx;
	char *path = item[0] == '/' ? md_strdup(item)
				    : md_path_join(g->cwd, item);
	struct md_buf text = MD_BUF_INIT;
	int rc = md_fs_read_file(&text, path, 0, true);

	if (rc < 0)
		rc = md_err_prefix(rc, "%s:%d:%d: file: '%s'", g->doc,
				   g->o->line, g->o->col, item);
	for (size_t i = 0; rc == 0 && i < text.len; i++)
		if (!(text.ptr[i] == '\r' && i + 1 < text.len &&
		      text.ptr[i + 1] == '\n'))
			md_buf_putc(&g->code, text.ptr[i]);
	if (rc == 0 && g->code.len && g->code.ptr[g->code.len - 1] != '\n')
		md_buf_putc(&g->code, '\n');
	md_buf_dispose(&text);
	free(path);
	return rc;
}

/*
 * knitr's file= and code= (Quarto's #| file:): the block's code is the
 * files' contents, one after the other, or code='s lines, instead of what
 * the document holds between the fences (as in knitr). It enters the key
 * as any code does, so an edited file runs the block again.
 */
static int
given_code(struct md_block *b, const char *doc, const char *cwd)
{
	const char *files = md_block_opt(b, "file");
	const char *code = md_block_opt(b, "code");
	struct given g = { cwd, NULL, doc, MD_BUF_INIT };
	char *list = NULL;
	int rc = 0;

	if (files) {
		for (size_t i = 0; i < b->nopts; i++)
			if (!strcmp(b->opts[i].key, "file"))
				g.o = &b->opts[i];
		list = md_opt_list(files);
		rc = md_each_item(list ? list : "", add_file, &g);
	} else if (code) {
		list = md_opt_code(code);
		md_buf_puts(&g.code, list ? list : "");
	} else {
		return 0;
	}
	free(list);
	if (rc < 0) {
		md_buf_dispose(&g.code);
		return rc;
	}
	free(b->code);
	b->code_len = g.code.len;
	md_buf_put(&g.code, "", 0); /* allocated even when empty */
	b->code = md_buf_detach(&g.code);
	b->code_given = true;
	return 0;
}

/* The stages of doc's blocks, each run by its interpreter or kernel. */
static int
stages(struct md_plan *out, struct md_doc *doc, struct md_interps *interps,
       const char *const *kernels, const char *cwd, md_identity_fn identity,
       void *ctx)
{
	size_t i, j;
	int rc;

	for (i = 0; i < doc->nblocks; i++) {
		struct md_block *b = &doc->blocks[i];
		const char *kernel = kernels[i];
		const struct md_interp *found;
		struct md_stage *st;
		const char *session;

		if (!b->exec)
			continue;
		found = kernel ? md_interp_kernel(interps, b->lang, kernel)
			       : md_interp_find(interps, b->lang);
		if (!found) {
			/* --all runs what it can and shows the rest. */
			if (b->info[0] != '{' && !b->inline_expr) {
				b->exec = false;
				continue;
			}
			return located(doc, b, "no interpreter for '%s'%s",
				       b->lang, NULL);
		}
		st = &out->stages[out->n++];
		st->block = b;
		st->interp = (struct md_interp *)found;
		st->prev = -1;
		session = md_block_opt(b, "session");
		if (session && !strcmp(session, "none"))
			session = NULL;
		else if (!session && found->session)
			session = kernel && found != md_interp_find(interps,
								    b->lang)
					  ? kernel
					  : found->lang;
		if (session && found->driver == MD_DRIVER_NONE &&
		    !found->kernel)
			return located(doc, b, "'%s' has no session driver: "
					       "use session=none%s",
				       found->lang, NULL);
		st->session = session;
		if ((rc = identity(&st->identity, st->interp, ctx)) < 0)
			return md_err_prefix(rc, "%s:%d:%d: no interpreter for "
					     "'%s'", doc->path, b->line,
					     b->info_col, b->lang);
		for (j = out->n - 1; session && j-- > 0;) {
			struct md_stage *p = &out->stages[j];
			if (!p->session || strcmp(p->session, session))
				continue;
			if (p->interp != st->interp)
				return located(doc, b, "session '%s' already "
						       "runs another language"
						       "%s",
					       session, NULL);
			st->prev = (int)j;
			break;
		}
		if (session && b->nouts > 1)
			return located(doc, b, "nouts needs session=none: a "
					       "block in session '%s' runs "
					       "once per render%s",
				       session, NULL);
		if ((rc = given_code(b, doc->path, cwd)) < 0 ||
		    (rc = upstream(out, doc, st, cwd)) < 0)
			return rc;
		md_stage_key(out, st);
	}
	return 0;
}

int
md_plan_build(struct md_plan *out, struct md_doc *doc,
	      struct md_interps *interps, const char *dir, const char *cwd,
	      md_identity_fn identity, void *ctx)
{
	const char **kernels = md_calloc(doc->nblocks + 1, sizeof(*kernels));
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->dir = md_strdup(dir);
	out->doc = md_strdup(md_path_basename(doc->path));
	out->stages = md_calloc(doc->nblocks, sizeof(*out->stages));
	/*
	 * kernel= and the front matter's kernels: each language and kernel
	 * added before stages point in. (Adding one moves the others.)
	 */
	int installed = -1; /* the kernelspec's kernel: unknown yet */

	for (i = 0; i < doc->nblocks; i++)
		if (doc->blocks[i].exec &&
		    (kernels[i] = block_kernel(doc, interps, &doc->blocks[i],
					       &installed)))
			md_interp_kernel(interps, doc->blocks[i].lang,
					 kernels[i]);
	rc = stages(out, doc, interps, kernels, cwd, identity, ctx);
	free(kernels);
	return rc;
}

void
md_plan_dispose(struct md_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->stages[i].deps);
		free(p->stages[i].env);
		free(p->stages[i].inputs);
	}
	free(p->stages);
	free(p->dir);
	free(p->doc);
	memset(p, 0, sizeof(*p));
}
