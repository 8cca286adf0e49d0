#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/err.h"
#include "../util/fs.h"
#include "../util/hash.h"
#include "../util/lazy.h"
#include "../util/lazy_git.h"

Test(buf, put_keeps_nul_bytes_and_terminates)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_put(&b, "a\0b", 3);
	md_buf_printf(&b, "-%d-%s", 42, "x");
	cr_assert_eq(b.len, 8);
	cr_assert(memcmp(b.ptr, "a\0b-42-x", 8) == 0);
	cr_assert_eq(b.ptr[b.len], '\0');
	md_buf_dispose(&b);
}

Test(buf, grows_past_many_doublings)
{
	struct md_buf b = MD_BUF_INIT;
	size_t i;

	for (i = 0; i < 100000; i++)
		md_buf_putc(&b, (char)('a' + i % 26));
	cr_assert_eq(b.len, 100000);
	cr_assert_eq(b.ptr[99999], (char)('a' + 99999 % 26));
	md_buf_dispose(&b);
}

Test(buf, detach_hands_over_and_empties)
{
	struct md_buf b = MD_BUF_INIT;
	char *s;

	s = md_buf_detach(&b);
	cr_assert_str_eq(s, "");
	free(s);
	md_buf_puts(&b, "hello");
	s = md_buf_detach(&b);
	cr_assert_str_eq(s, "hello");
	cr_assert_str_eq(b.ptr, "", "a detached buffer is an empty string");
	cr_assert_eq(b.len, 0);
	free(s);
}

Test(buf, an_untouched_buffer_is_an_empty_string)
{
	struct md_buf b = MD_BUF_INIT;

	cr_assert_str_eq(b.ptr, "");
	md_buf_clear(&b);
	md_buf_dispose(&b);
	cr_assert_str_eq(b.ptr, "");
	md_buf_printf(&b, "%d", 42);
	cr_assert_str_eq(b.ptr, "42");
	md_buf_dispose(&b);
}

Test(err, prefix_keeps_the_message_and_the_code)
{
	md_err_set("disk full");
	cr_assert_eq(md_err_prefix(MD_ENOTFOUND, "a.md:3:1: block '%s'", "x"),
		     MD_ENOTFOUND);
	cr_assert_str_eq(md_err_msg(), "a.md:3:1: block 'x': disk full");
}

Test(hash, sha256_known_vectors)
{
	char hex[MD_HASH_HEX];

	md_hash_bytes(hex, "abc", 3);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad");
	md_hash_bytes(hex, "", 0);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855");
}

Test(hash, fields_are_unambiguous)
{
	struct md_hash h;
	char a[MD_HASH_HEX], b[MD_HASH_HEX];

	md_hash_init(&h);
	md_hash_field(&h, "x", "a", 1);
	md_hash_field(&h, "x", "bc", 2);
	md_hash_final(a, &h);
	md_hash_init(&h);
	md_hash_field(&h, "x", "ab", 2);
	md_hash_field(&h, "x", "c", 1);
	md_hash_final(b, &h);
	cr_assert_str_neq(a, b);
}

#include "tmpdir.h"

TestSuite(fs, .init = tmpdir_setup, .fini = tmpdir_teardown);

Test(fs, write_atomic_then_read_back)
{
	char *p = md_path_join(dir, "f");
	struct md_buf b = MD_BUF_INIT;
	struct stat st;

	cr_assert_eq(md_fs_write_atomic(p, "one\0two", 7, 0640), 0);
	cr_assert_eq(md_fs_write_atomic(p, "three", 5, 0640), 0);
	cr_assert_eq(md_fs_read(&b, p), 0);
	cr_assert_eq(b.len, 5);
	cr_assert_str_eq(b.ptr, "three");
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	md_buf_dispose(&b);
	free(p);
}

Test(fs, read_missing_is_not_found_and_named)
{
	char *p = md_path_join(dir, "nope");
	struct md_buf b = MD_BUF_INIT;

	cr_assert_eq(md_fs_read(&b, p), MD_ENOTFOUND);
	cr_assert(strstr(md_err_msg(), "nope") != NULL);
	free(p);
}

Test(fs, rmtree_removes_read_only_trees)
{
	char *sub = md_path_join(dir, "a/b/c");
	char *top = md_path_join(dir, "a");
	char *f = md_path_join(sub, "file");

	cr_assert_eq(md_fs_mkdirs(sub, 0755), 0);
	cr_assert_eq(md_fs_write_new(f, "x", 1, 0644), 0);
	cr_assert_eq(md_fs_make_readonly(top), 0);
	struct stat st;
	cr_assert_eq(stat(f, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0444);
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0555);
	cr_assert_eq(md_fs_rmtree(top), 0);
	cr_assert(!md_fs_exists(top));
	free(sub);
	free(top);
	free(f);
}

Test(path, relative_inside_and_outside)
{
	char *r;

	r = md_path_relative("/repo", "/repo/docs/x");
	cr_assert_str_eq(r, "docs/x");
	free(r);
	r = md_path_relative("/repo", "/repo");
	cr_assert_str_eq(r, ".");
	free(r);
	cr_assert_null(md_path_relative("/repo", "/repository/x"));
	cr_assert_null(md_path_relative("/repo", "/elsewhere"));
}

Test(path, dirname_and_basename)
{
	char *d = md_path_dirname("docs/a.md");

	cr_assert_str_eq(d, "docs");
	free(d);
	d = md_path_dirname("a.md");
	cr_assert_str_eq(d, ".");
	free(d);
	cr_assert_str_eq(md_path_basename("/usr/bin/python3"), "python3");
}

/* A library opened when first needed: found, or a reason that names it. */
Test(lazy, open_and_symbols)
{
	char why[256] = "";
	size_t (*len)(const char *) = NULL;
	void *h = md_lazy_open("libc.so.6", NULL, why, sizeof(why));

	cr_assert_not_null(h, "%s", why);
	cr_assert(md_lazy_sym(h, "strlen", &len, why, sizeof(why)));
	cr_assert_eq(len("four"), 4);
	cr_assert_not(md_lazy_sym(h, "md_no_such_function", &len, why,
				  sizeof(why)));
	cr_assert_str_eq(why, "it has no md_no_such_function");
	cr_assert_null(md_lazy_open("libmdrun-missing.so.9", NULL, why,
				   sizeof(why)));
	cr_assert(strstr(why, "libmdrun-missing.so.9"), "%s", why);
	/* Not found by its SONAME: the path the build found it at. */
	h = md_lazy_open("libmdrun-missing.so.9", "libc.so.6", why,
			 sizeof(why));
	cr_assert_not_null(h, "%s", why);
	cr_assert_str_eq(why, "");
}

/* libgit2 through the table: the library the build found, working. */
Test(lazy, libgit2_loads_and_runs)
{
	git_diff_options opts;

	memset(&opts, 0, sizeof(opts));
	cr_assert_eq(md_git2_init(), 0, "%s", md_err_msg());
	cr_assert_eq(git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION), 0);
	cr_assert_eq(opts.version, GIT_DIFF_OPTIONS_VERSION);
	git_libgit2_shutdown();
}
