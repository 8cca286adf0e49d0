/* mdrun store ls | show REF | path REF | verify | rm REF | migrate */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../core/git.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static const char usage[] =
	"usage: mdrun store [--store DIR] ls\n"
	"       mdrun store [--store DIR] show REF\n"
	"       mdrun store [--store DIR] path REF\n"
	"       mdrun store [--store DIR] verify\n"
	"       mdrun store [--store DIR] rm REF\n"
	"       mdrun store [--store DIR] migrate\n"
	"\n"
	"REF is a key, a unique key prefix (4 hex digits or more), or\n"
	"DOC.md#NAME, the block named NAME in a document (add --all for a\n"
	"document rendered with --all).\n"
	"\n"
	"  ls      every key: its block, document, runs and size\n"
	"  show    what was hashed into the key and every realization, the\n"
	"          one a render shows, and whether the block is\n"
	"          non-deterministic (several distinct realizations)\n"
	"  path    the folder of the realization a render shows\n"
	"  verify  recompute every key and realization hash; exit 1 on any\n"
	"          mismatch\n"
	"  rm      remove the key and all its realizations\n"
	"  migrate bring a store an older mdrun wrote (format 1) to format\n"
	"          2; any command does so on its first use of the store\n";

/* Resolves REF into key; prints the error itself. */
static int
resolve(char key[MD_HASH_HEX], struct store *s, const char *ref, bool all)
{
	const char *hash = strrchr(ref, '#');
	struct md_nb_doc d;
	size_t i;
	int rc = MD_ERROR;

	if (!hash)
		return store_resolve(key, s, ref) < 0
			       ? (cli_error("%s", md_err_msg()), MD_ERROR)
			       : 0;
	char *path = md_strndup(ref, (size_t)(hash - ref));
	if (md_nb_doc_load(&d, NULL, path, all ? MD_DOC_ALL : 0,
				   NULL, NULL) < 0 || md_nb_doc_keys(&d, s) < 0) {
		cli_error("%s", md_err_msg());
		goto done;
	}
	for (i = 0; i < d.plan.n; i++) {
		if (strcmp(d.plan.stages[i].block->name, hash + 1))
			continue;
		memcpy(key, d.plan.stages[i].key, MD_HASH_HEX);
		rc = key[0] ? 0 : MD_ENOTFOUND;
	}
	struct store_run *runs = NULL;
	size_t n = 0;
	if (rc == 0 && store_runs(&runs, &n, s, key) == 0 && n == 0) {
		cli_error("%s#%s is not in the store as it is now (key "
			  "%.12s): its code, options or upstream changed "
			  "since it ran ('mdrun plan %s' says why)",
			  path, hash + 1, key, path);
		rc = MD_ENOTFOUND;
	} else if (rc == MD_ENOTFOUND)
		cli_error("%s#%s: an earlier block of its session was never "
			  "realized, so it has no key yet", path, hash + 1);
	else if (rc < 0)
		cli_error("%s has no executable block named '%s'", path,
			  hash + 1);
	free(runs);
done:
	md_nb_doc_dispose(&d);
	free(path);
	return rc;
}

/* The meta JSON of a realization, parsed; NULL when unreadable. */
static cJSON *
meta(struct store *s, const char *key, const char *rhash)
{
	struct md_buf b = MD_BUF_INIT;
	cJSON *m = NULL;

	if (store_meta_text(&b, s, key, rhash) == 0)
		m = cJSON_ParseWithLength(b.ptr, b.len);
	md_buf_dispose(&b);
	return m;
}

static const char *
str(cJSON *m, const char *name, const char *dflt)
{
	cJSON *v = cJSON_GetObjectItem(m, name);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static void
human(char *out, size_t n, unsigned long long bytes)
{
	if (bytes < 1024)
		snprintf(out, n, "%llu B", bytes);
	else if (bytes < 1024 * 1024)
		snprintf(out, n, "%.1f KiB", bytes / 1024.0);
	else
		snprintf(out, n, "%.1f MiB", bytes / 1048576.0);
}

static size_t
distinct(const struct store_run *runs, size_t n)
{
	size_t i, j, count = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(runs[j].rhash, runs[i].rhash); j++)
			;
		count += j == i;
	}
	return count;
}

/*
 * Did two runs that read the same files (or none) give different
 * results? Runs that read different files may differ.
 */
static bool
nondeterministic(struct store *s, const char *key,
		 const struct store_run *runs, size_t n)
{
	struct md_buf *reads = md_calloc(n ? n : 1, sizeof(*reads));
	bool differ = false;
	size_t i, j;

	for (i = 0; i < n; i++)
		if (runs[i].reads && store_reads(&reads[i], s, key,
						 runs[i].rhash) < 0)
			md_err_clear();
	for (i = 0; i < n && !differ; i++)
		for (j = 0; j < i && !differ; j++)
			differ = strcmp(runs[i].rhash, runs[j].rhash) &&
				 reads[i].len == reads[j].len &&
				 !memcmp(reads[i].ptr ? reads[i].ptr : "",
					 reads[j].ptr ? reads[j].ptr : "",
					 reads[i].len);
	for (i = 0; i < n; i++)
		md_buf_dispose(&reads[i]);
	free(reads);
	return differ;
}

static int
cmd_ls(struct store *s)
{
	char **keys = NULL;
	size_t n = 0, i;

	if (store_keys(&keys, &n, s) < 0)
		return cli_error("%s", md_err_msg());
	for (i = 0; i < n; i++) {
		struct store_run *runs = NULL;
		size_t nr = 0, nd;
		char size[32];
		cJSON *m = NULL;

		store_runs(&runs, &nr, s, keys[i]);
		if (nr)
			m = meta(s, keys[i], runs[nr - 1].rhash);
		human(size, sizeof(size), store_key_size(s, keys[i]));
		cJSON *line = cJSON_GetObjectItem(m, "line");
		nd = distinct(runs, nr);
		printf("%.12s  %-16s %s:%d  %zu %s, %zu %s  %s\n", keys[i],
		       str(m, "name", "-"), str(m, "document", "-"),
		       cJSON_IsNumber(line) ? line->valueint : 0, nr,
		       cli_plural(nr, "run", "runs"), nd,
		       cli_plural(nd, "realization", "realizations"), size);
		cJSON_Delete(m);
		free(runs);
	}
	store_keys_free(keys, n);
	return MD_EXIT_OK;
}

/* A path a store recorded (maybe pulled): control bytes shown as '?'. */
static void
put_path(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putchar((unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i]);
}

/*
 * The lines of a run's reads or writes (mdrun/core/track.h), as store
 * show prints them under the run: "read FILE  HASH", "looked for FILE",
 * "wrote FILE  HASH[ (not kept)]", "removed FILE".
 */
static void
print_files(const struct md_buf *b, bool written)
{
	for (const char *p = b->ptr, *end = b->ptr + b->len; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		bool big = false;

		if (!nl)
			nl = end;
		if (nl - p > 2 && p[0] == '-' && p[1] == ' ') {
			printf("      %s ", written ? "removed" : "looked for");
			put_path(p + 2, (size_t)(nl - p - 2));
			putchar('\n');
		} else {
			if (written && nl - p > 2 && p[0] == '!') {
				big = true;
				p += 2;
			}
			if (nl - p > MD_HASH_HEX) {
				printf("      %s ", written ? "wrote" : "read");
				put_path(p + MD_HASH_HEX,
					 (size_t)(nl - p - MD_HASH_HEX));
				printf("  ");
				put_path(p, 12);
				printf("%s\n", big ? " (not kept)" : "");
			}
		}
		p = nl + 1;
	}
}

/* The files a run read and wrote, as recorded, under its line. */
static void
print_reads(struct store *s, const char *key, const struct store_run *r)
{
	struct md_buf b = MD_BUF_INIT;

	if (r->reads && store_reads(&b, s, key, r->rhash) == 0)
		print_files(&b, false);
	md_buf_clear(&b);
	if (r->writes && store_writes(&b, s, key, r->rhash) == 0)
		print_files(&b, true);
	md_err_clear();
	md_buf_dispose(&b);
}

static int
cmd_show(struct store *s, const char *key)
{
	struct md_buf drv = MD_BUF_INIT;
	struct store_run *runs = NULL;
	struct store_real shown;
	size_t n = 0, i, nd;
	bool have_shown;

	if (store_drv(&drv, s, key) < 0 || store_runs(&runs, &n, s, key) < 0) {
		md_buf_dispose(&drv);
		return cli_error("%s", md_err_msg());
	}
	have_shown = store_lookup(&shown, s, key, STORE_LATEST, false) == 0;
	nd = distinct(runs, n);
	printf("key: %s\n%s", key, drv.ptr ? drv.ptr : "");
	printf("runs: %zu, realizations: %zu%s\n", n, nd,
	       nd < 2			      ? ""
	       : nondeterministic(s, key, runs, n)
		       ? " (non-deterministic: runs gave different results)"
		       : " (the files they read differ)");
	for (i = 0; i < n; i++) {
		cJSON *m = meta(s, key, runs[i].rhash);
		cJSON *dur = cJSON_GetObjectItem(m, "duration_ms");
		time_t t = (time_t)(runs[i].ns / 1000000000LL);
		char when[32];
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("  %.12s  %s  %s  %.0f ms%s\n", runs[i].rhash,
		       runs[i].failed ? "failed" : "ok    ", when,
		       cJSON_IsNumber(dur) ? dur->valuedouble : 0,
		       have_shown && i + 1 == n &&
				       !strcmp(shown.rhash, runs[i].rhash)
			       ? "  <- shown (latest)"
			       : "");
		cJSON_Delete(m);
		print_reads(s, key, &runs[i]);
	}
	if (have_shown) {
		if (n && strcmp(runs[n - 1].rhash, shown.rhash))
			printf("shown (latest successful): %.12s\n",
			       shown.rhash);
		store_real_dispose(&shown);
	}
	free(runs);
	md_buf_dispose(&drv);
	return MD_EXIT_OK;
}

static int
cmd_path(struct store *s, const char *key)
{
	struct store_real r;
	int rc = store_lookup(&r, s, key, STORE_LATEST, false);

	if (rc < 0 && (rc = store_lookup(&r, s, key, STORE_LATEST, true)) < 0)
		return rc == MD_ENOTFOUND
			       ? cli_error("%.12s: no realization", key)
			       : cli_error("%s", md_err_msg());
	if (!r.files) {
		store_real_dispose(&r);
		return cli_error("%.12s: its realization wrote no files "
				 "(mdrun store show prints its outputs)", key);
	}
	printf("%s\n", r.path);
	store_real_dispose(&r);
	return MD_EXIT_OK;
}

static void
report(const char *path, const char *what, void *ctx)
{
	(void)ctx;
	printf("%s: %s\n", path, what);
}

static int
cmd_verify(struct store *s)
{
	size_t bad = 0, n = 0;
	char **keys = NULL;

	if (store_keys(&keys, &n, s) < 0 ||
	    store_verify(&bad, s, report, NULL) < 0) {
		store_keys_free(keys, n);
		return cli_error("%s", md_err_msg());
	}
	store_keys_free(keys, n);
	printf("verified %zu %s: %zu %s\n", n, cli_plural(n, "key", "keys"),
	       bad, cli_plural(bad, "problem", "problems"));
	return bad ? MD_EXIT_FAILED : MD_EXIT_OK;
}

/*
 * The format of the store md_nb_store_open opens from cwd (opt: --store),
 * read before opening it migrates a format 1 store: 0 when it has none.
 */
static long
format_before(const char *opt, const char *cwd)
{
	const char *env = getenv("MDRUN_STORE");
	struct md_buf v = MD_BUF_INIT;
	char *wd = NULL, *root, *path;
	long format = 0;

	if (opt)
		root = md_strdup(opt);
	else if (env && *env)
		root = md_strdup(env);
	else if (md_git_workdir(&wd, cwd) == 0)
		root = md_path_join(wd, ".mdrun");
	else
		root = md_path_join(cwd, ".mdrun");
	path = md_path_join(root, "VERSION");
	if (md_fs_read_regular(&v, path, 64) == 0)
		format = strtol(v.ptr, NULL, 10);
	md_buf_dispose(&v);
	free(path);
	free(root);
	free(wd);
	return format;
}

int
cmd_store(int argc, char **argv)
{
	const char *opt = NULL, *verb = NULL, *ref = NULL;
	char key[MD_HASH_HEX], cwd[4096];
	struct store *s = NULL;
	int i, k, rc = MD_EXIT_USAGE, lock = -1;
	long format = 0;
	bool all = false;

	for (i = 1; i < argc; i++) {
		if ((k = cli_option_value(&opt, argc, argv, &i, "--store")) < 0)
			return MD_EXIT_USAGE;
		if (k)
			continue;
		if (!strcmp(argv[i], "--all")) {
			all = true;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return MD_EXIT_OK;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("unknown option '%s'", argv[i]);
		if (!verb)
			verb = argv[i];
		else if (!ref)
			ref = argv[i];
		else
			return cli_usage_error("store %s: one REF at a time",
					       verb);
	}
	if (!verb)
		return cli_error("store needs a command (ls, show, path, "
				 "verify, rm or migrate): see 'mdrun store "
				 "--help'");
	bool needs_ref = !strcmp(verb, "show") || !strcmp(verb, "path") ||
			 !strcmp(verb, "rm");
	if (needs_ref && !ref)
		return cli_usage_error("store %s needs a REF", verb);
	if (!needs_ref && ref)
		return cli_usage_error("store %s takes no REF", verb);
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_error("%s", md_err_msg());
	/* Opening the store migrates it: what it was is read first. */
	if (!strcmp(verb, "migrate"))
		format = format_before(opt, cwd);
	if (md_nb_store_open(&s, opt, cwd) < 0)
		return cli_error("%s", md_err_msg());
	/* Readers share the store with renders; gc and rm wait for them. */
	if (strcmp(verb, "rm") && (lock = store_lock_store(s, false)) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	if (needs_ref && resolve(key, s, ref, all) < 0)
		goto done;
	if (!strcmp(verb, "ls")) {
		rc = cmd_ls(s);
	} else if (!strcmp(verb, "show")) {
		rc = cmd_show(s, key);
	} else if (!strcmp(verb, "path")) {
		rc = cmd_path(s, key);
	} else if (!strcmp(verb, "verify")) {
		rc = cmd_verify(s);
	} else if (!strcmp(verb, "migrate")) {
		if (format == 1)
			printf("migrated the store at %s to format 2\n",
			       store_root(s));
		else if (format == 0)
			printf("made a new store at %s, format 2\n",
			       store_root(s));
		else
			printf("the store at %s is already format 2\n",
			       store_root(s));
		rc = MD_EXIT_OK;
	} else if (!strcmp(verb, "rm")) {
		/* Not while a render is running on this store. */
		if ((lock = store_lock_store(s, true)) < 0 ||
		    store_rm(s, key) < 0) {
			rc = cli_error("%s", md_err_msg());
		} else {
			printf("removed %s\n", key);
			rc = MD_EXIT_OK;
		}
	} else {
		rc = cli_usage_error("store: unknown command '%s'", verb);
	}
done:
	store_unlock(lock);
	store_close(s);
	return rc;
}
