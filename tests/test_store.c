#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../store/store.h"
#include "../util/err.h"
#include "../util/fs.h"

#include "tmpdir.h"

static struct store *st;
static const char key[] = "0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef";

static void
setup(void)
{
	tmpdir_setup();
	cr_assert_eq(store_open(&st, dir), 0, "%s", md_err_msg());
}

static void
teardown(void)
{
	store_close(st);
	tmpdir_teardown();
}

TestSuite(store, .init = setup, .fini = teardown);

static struct store_result
result(const char *out, int exit_code, double end)
{
	struct store_result r;

	memset(&r, 0, sizeof(r));
	r.out = out;
	r.out_len = strlen(out);
	r.err = "warn\n";
	r.err_len = 5;
	r.exit_code = exit_code;
	r.start = end - 1;
	r.end = end;
	r.interpreter = "sh";
	return r;
}

static int
count_realizations(void)
{
	char path[512];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/store/%s", dir, key);
	d = opendir(path);
	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += strlen(e->d_name) == 64;
	/* runs/ holds one record per run, not per realization */
	closedir(d);
	return n;
}

Test(store, lookup_of_unknown_key_is_not_found)
{
	struct store_real r;

	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), MD_ENOTFOUND);
}

Test(store, commit_then_lookup)
{
	struct store_result in = result("hello\n", 0, 100);
	struct store_real r;
	char rhash[MD_HASH_HEX];

	cr_assert_eq(store_commit(rhash, st, key, "{}", &in), 0);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0, "%s", md_err_msg());
	cr_assert_str_eq(r.rhash, rhash);
	cr_assert_eq(r.out.len, 6);
	cr_assert_str_eq(r.out.ptr, "hello\n");
	cr_assert_str_eq(r.err.ptr, "warn\n");
	cr_assert_eq(r.exit_code, 0);
	store_real_dispose(&r);
}

Test(store, realizations_are_read_only)
{
	struct store_result in = result("x", 0, 100);
	char rhash[MD_HASH_HEX], path[512];
	struct stat s;

	cr_assert_eq(store_commit(rhash, st, key, "{\"a\":1}", &in), 0);
	snprintf(path, sizeof(path), "%s/store/%s/%s", dir, key, rhash);
	cr_assert_eq(stat(path, &s), 0);
	cr_assert_eq(s.st_mode & 0777, 0555);
	strcat(path, "/stdout");
	cr_assert_eq(stat(path, &s), 0);
	cr_assert_eq(s.st_mode & 0777, 0444);
	snprintf(path, sizeof(path), "%s/store/%s/drv.json", dir, key);
	cr_assert_eq(stat(path, &s), 0);
	cr_assert_eq(s.st_mode & 0777, 0444);
}

Test(store, equal_runs_share_one_realization)
{
	struct store_result a = result("same", 0, 100);
	struct store_result b = result("same", 0, 200);
	char r1[MD_HASH_HEX], r2[MD_HASH_HEX];

	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_str_eq(r1, r2);
	cr_assert_eq(count_realizations(), 1);
}

Test(store, different_runs_keep_both_and_latest_wins)
{
	struct store_result a = result("first", 0, 100);
	struct store_result b = result("second", 0, 200);
	char r1[MD_HASH_HEX], r2[MD_HASH_HEX];
	struct store_real r;

	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_str_neq(r1, r2);
	cr_assert_eq(count_realizations(), 2);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "second");
	store_real_dispose(&r);
}

Test(store, failures_are_kept_but_not_hits)
{
	struct store_result in = result("oops", 3, 100);
	char rhash[MD_HASH_HEX];
	struct store_real r;

	cr_assert_eq(store_commit(rhash, st, key, "{}", &in), 0);
	cr_assert_eq(count_realizations(), 1);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), MD_ENOTFOUND);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, true), 0);
	cr_assert_eq(r.exit_code, 3);
	cr_assert(store_real_failed(&r));
	store_real_dispose(&r);
}

Test(store, exit_status_is_part_of_the_hash)
{
	struct store_result a = result("x", 0, 100);
	struct store_result b = result("x", 1, 100);
	char r1[MD_HASH_HEX], r2[MD_HASH_HEX];

	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_str_neq(r1, r2);
}

Test(store, malformed_meta_is_an_error_naming_the_path)
{
	struct store_result in = result("x", 0, 100);
	char rhash[MD_HASH_HEX], path[512];
	struct store_real r;

	cr_assert_eq(store_commit(rhash, st, key, "{}", &in), 0);
	snprintf(path, sizeof(path), "%s/store/%s/%s", dir, key, rhash);
	chmod(path, 0755);
	strcat(path, "/meta.json");
	chmod(path, 0644);
	cr_assert_eq(md_fs_write_atomic(path, "{not json", 9, 0444), 0);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), MD_ERROR);
	cr_assert(strstr(md_err_msg(), "meta.json: malformed") != NULL,
		  "%s", md_err_msg());
}

Test(store, newer_format_is_refused)
{
	char path[512];
	struct store *other = NULL;

	snprintf(path, sizeof(path), "%s/VERSION", dir);
	cr_assert_eq(md_fs_write_atomic(path, "99\n", 3, 0644), 0);
	cr_assert_lt(store_open(&other, dir), 0);
	cr_assert_null(other);
	cr_assert(strstr(md_err_msg(), "newer") != NULL, "%s", md_err_msg());
}

Test(store, memo_roundtrip)
{
	struct md_buf b = MD_BUF_INIT;

	cr_assert_eq(store_memo_get(&b, st, "k"), MD_ENOTFOUND);
	cr_assert_eq(store_memo_put(st, "k", "Python 3.11", 11), 0);
	cr_assert_eq(store_memo_get(&b, st, "k"), 0);
	cr_assert_str_eq(b.ptr, "Python 3.11");
	md_buf_dispose(&b);
}

Test(store, layout_has_cachedir_tag)
{
	char path[512];
	struct md_buf b = MD_BUF_INIT;

	snprintf(path, sizeof(path), "%s/CACHEDIR.TAG", dir);
	cr_assert_eq(md_fs_read(&b, path), 0);
	cr_assert(!strncmp(b.ptr, "Signature: 8a477f597d28d172789f06886806bc55",
			   43));
	md_buf_dispose(&b);
}
