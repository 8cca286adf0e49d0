#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/internal.h"
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
	r.exit.code = exit_code;
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
	cr_assert_eq(r.exit.code, 0);
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
	cr_assert_eq(r.exit.code, 3);
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

Test(store, every_run_is_recorded_in_order)
{
	struct store_result a = result("same", 0, 100);
	struct store_result b = result("other", 0, 200);
	struct store_run *runs = NULL;
	size_t n = 0;
	char r1[MD_HASH_HEX], r2[MD_HASH_HEX], r3[MD_HASH_HEX];
	struct store_real first, latest;

	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_eq(store_commit(r3, st, key, "{}", &a), 0);
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(runs[0].rhash, r1);
	cr_assert_str_eq(runs[1].rhash, r2);
	cr_assert_str_eq(runs[2].rhash, r1);
	cr_assert_eq(count_realizations(), 2);
	cr_assert_eq(store_lookup(&first, st, key, STORE_FIRST, false), 0);
	cr_assert_eq(store_lookup(&latest, st, key, STORE_LATEST, false), 0);
	cr_assert_str_eq(first.out.ptr, "same");
	cr_assert_str_eq(latest.out.ptr, "same", "the latest run repeated the first");
	store_real_dispose(&first);
	store_real_dispose(&latest);
	free(runs);
}

Test(store, keys_come_from_ordered_fields)
{
	struct store_field f[] = { { "a", "1" }, { "b", "2" } };
	struct store_field g[] = { { "b", "2" }, { "a", "1" } };
	char k1[MD_HASH_HEX], k2[MD_HASH_HEX];
	char *drv = store_drv_json(f, 2);

	store_key(k1, f, 2);
	store_key(k2, g, 2);
	cr_assert_str_neq(k1, k2);
	cr_assert(strstr(drv, "\"a\":\t\"1\"") != NULL, "%s", drv);
	free(drv);
}

static size_t problems;
static char problem_path[1024];

static void
collect(const char *path, const char *what, void *ctx)
{
	(void)ctx;
	(void)what;
	problems++;
	snprintf(problem_path, sizeof(problem_path), "%s", path);
}

Test(store, verify_recomputes_keys_and_realizations)
{
	struct store_field f[] = { { "code", "echo hi" } };
	char k[MD_HASH_HEX], rhash[MD_HASH_HEX], path[1024];
	char *drv = store_drv_json(f, 1);
	struct store_result in = result("hi\n", 0, 100);
	size_t bad = 0;

	store_key(k, f, 1);
	cr_assert_eq(store_commit(rhash, st, k, drv, &in), 0);
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 0);

	/* A changed output. */
	snprintf(path, sizeof(path), "%s/store/%s/%s", dir, k, rhash);
	chmod(path, 0755);
	strcat(path, "/stdout");
	chmod(path, 0644);
	cr_assert_eq(md_fs_write_atomic(path, "bye\n", 4, 0444), 0);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1);
	cr_assert(strstr(problem_path, rhash) != NULL);

	/* A drv.json that no longer hashes to its key. */
	snprintf(path, sizeof(path), "%s/store/%s/drv.json", dir, k);
	chmod(path, 0644);
	cr_assert_eq(md_fs_write_atomic(path,
					"{\"fields\":{\"code\":\"rm -rf /\"}}",
					31, 0444), 0);
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 2);
	free(drv);
}

Test(store, artifacts_become_out_and_count_in_the_hash)
{
	struct store_result a = result("x", 0, 100), b = result("x", 0, 100);
	char art[1024], f[1100], r1[MD_HASH_HEX], r2[MD_HASH_HEX];
	struct md_buf got = MD_BUF_INIT;

	snprintf(art, sizeof(art), "%s/art", dir);
	cr_assert_eq(md_fs_mkdirs(art, 0755), 0);
	snprintf(f, sizeof(f), "%s/plot.svg", art);
	cr_assert_eq(md_fs_write_new(f, "<svg/>", 6, 0644), 0);
	a.artifacts = art;
	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert(!md_fs_exists(art), "the artifacts were moved");
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_str_neq(r1, r2, "out/ is part of the realization's hash");
	snprintf(f, sizeof(f), "%s/store/%s/%s/out/plot.svg", dir, key, r1);
	cr_assert_eq(md_fs_read(&got, f), 0);
	cr_assert_str_eq(got.ptr, "<svg/>");
	md_buf_dispose(&got);
}

Test(store, resolve_prefixes)
{
	struct store_result in = result("x", 0, 100);
	char rhash[MD_HASH_HEX], k[MD_HASH_HEX];
	const char *other = "0123aaaa89abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef";

	cr_assert_eq(store_commit(rhash, st, key, "{}", &in), 0);
	cr_assert_eq(store_commit(rhash, st, other, "{}", &in), 0);
	cr_assert_eq(store_resolve(k, st, "012345"), 0);
	cr_assert_str_eq(k, key);
	cr_assert_eq(store_resolve(k, st, "0123"), MD_ERROR);
	cr_assert(strstr(md_err_msg(), "ambiguous") != NULL);
	cr_assert_eq(store_resolve(k, st, "ffff"), MD_ENOTFOUND);
	cr_assert_eq(store_resolve(k, st, "xyz"), MD_ERROR);
}

Test(store, open_sweeps_what_dead_processes_left)
{
	char dead[1024], mine[1024];
	struct store *again = NULL;

	/* PID 2^22+1 is above Linux's pid_max: never a live process. */
	snprintf(dead, sizeof(dead), "%s/tmp/4194305-0-0", dir);
	snprintf(mine, sizeof(mine), "%s/tmp/%ld-9-0", dir, (long)getpid());
	cr_assert_eq(md_fs_mkdirs(dead, 0755), 0);
	cr_assert_eq(md_fs_mkdirs(mine, 0755), 0);
	cr_assert_eq(store_open(&again, dir), 0);
	cr_assert_not(md_fs_exists(dead));
	cr_assert(md_fs_exists(mine), "a live process's folder stays");
	store_close(again);
}

Test(store, gc_keeps_rooted_keys_and_removes_the_rest)
{
	struct store_result in = result("x", 0, 100);
	char rhash[MD_HASH_HEX], doc[1024];
	char keys[1][MD_HASH_HEX];
	const char *other = "fedcba9876543210fedcba9876543210"
			    "fedcba9876543210fedcba9876543210";
	struct store_gc_opts o;
	struct store_gc_stats stats;
	struct store_real r;

	memset(&o, 0, sizeof(o));
	cr_assert_eq(store_commit(rhash, st, key, "{}", &in), 0);
	cr_assert_eq(store_commit(rhash, st, other, "{}", &in), 0);
	snprintf(doc, sizeof(doc), "%s/doc.md", dir);
	cr_assert_eq(md_fs_write_new(doc, "x", 1, 0644), 0);
	memcpy(keys[0], key, MD_HASH_HEX);
	cr_assert_eq(store_root_write(st, doc, keys, 1, NULL), 0);

	o.dry_run = true;
	cr_assert_eq(store_gc(&stats, st, &o, NULL, NULL), 0);
	cr_assert_eq(stats.keys_removed, 1);
	cr_assert_eq(store_lookup(&r, st, other, STORE_LATEST, false), 0);
	store_real_dispose(&r);

	o.dry_run = false;
	cr_assert_eq(store_gc(&stats, st, &o, NULL, NULL), 0);
	cr_assert_eq(stats.keys_removed, 1);
	cr_assert_gt(stats.bytes, 0);
	cr_assert_eq(store_lookup(&r, st, other, STORE_LATEST, false),
		     MD_ENOTFOUND);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0);
	store_real_dispose(&r);

	/* The document goes: its root is dropped, its keys collected. */
	unlink(doc);
	cr_assert_eq(store_gc(&stats, st, &o, NULL, NULL), 0);
	cr_assert_eq(stats.roots_dropped, 1);
	cr_assert_eq(stats.keys_removed, 1);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false),
		     MD_ENOTFOUND);
}

Test(store, reads_refuse_what_is_not_a_regular_file)
{
	char fifo[1024], link[1024], file[1024], far[1024];
	struct md_buf b = MD_BUF_INIT;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/zero", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(far, sizeof(far), "%s/far", dir);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_assert_eq(symlink("/dev/zero", link), 0);
	cr_assert_eq(md_fs_write_new(file, "12345", 5, 0644), 0);
	cr_assert_eq(symlink(file, far), 0);

	/* A fifo with no writer: refused at once, not waited on. */
	cr_assert_eq(md_fs_read_regular(&b, fifo, 0), MD_ERROR);
	cr_assert(strstr(md_err_msg(), "fifo: not a regular file"),
		  "%s", md_err_msg());
	cr_assert_eq(md_fs_read_regular(&b, link, 0), MD_ERROR);
	cr_assert_eq(md_fs_read_file(&b, link, 0, true), MD_ERROR,
		     "followed, a link to a device is still refused");
	cr_assert_eq(md_fs_read_regular(&b, "/dev/zero", 0), MD_ERROR);
	cr_assert_eq(md_fs_read_regular(&b, dir, 0), MD_ERROR);
	cr_assert_eq(md_fs_read_regular(&b, far, 0), MD_ERROR,
		     "a link is refused unless followed");
	cr_assert_eq(b.len, 0);
	cr_assert_eq(md_fs_read_file(&b, far, 0, true), 0);
	cr_assert_str_eq(b.ptr, "12345");
	cr_assert_eq(md_fs_read_regular(&b, file, 4), MD_ERROR);
	cr_assert(strstr(md_err_msg(), "larger than 4 bytes"));
	cr_assert_eq(md_fs_read_regular(&b, file, 5), 0);
	cr_assert_str_eq(b.ptr, "1234512345");
	snprintf(file, sizeof(file), "%s/none", dir);
	cr_assert_eq(md_fs_read_regular(&b, file, 0), MD_ENOTFOUND);
	md_buf_dispose(&b);
}

static int
count_entries(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	size_t *n = arg;

	if (step != MD_WALK_LEAVE)
		n[step == MD_WALK_ENTER]++;
	if (step == MD_WALK_FILE)
		n[2] = w->rel_len;
	return 0;
}

/* Folders 5,000 deep, past PATH_MAX: walked, then removed, by *at() calls. */
Test(store, trees_deeper_than_path_max_are_walked_and_removed)
{
	char top[1024];
	size_t n[3] = { 0, 0, 0 };
	int fd, next;

	snprintf(top, sizeof(top), "%s/deep", dir);
	cr_assert_eq(mkdir(top, 0755), 0);
	fd = open(top, O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < 5000; i++) {
		cr_assert_eq(mkdirat(fd, "d", i % 2 ? 0555 : 0755), 0);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		cr_assert_geq(next, 0);
		close(fd);
		fd = next;
	}
	cr_assert_geq(next = openat(fd, "f", O_WRONLY | O_CREAT, 0444), 0);
	close(next);
	close(fd);
	cr_assert_eq(md_fs_walk(top, count_entries, n), 0, "%s", md_err_msg());
	cr_assert_eq(n[0], 1, "one file");
	cr_assert_eq(n[1], 5000, "5000 folders");
	cr_assert_eq(n[2], 5000 * 2 + 1, "its path: d/ 5000 times, then f");
	cr_assert_eq(md_fs_make_readonly(top), 0, "%s", md_err_msg());
	cr_assert_eq(md_fs_rmtree(top), 0, "%s", md_err_msg());
	cr_assert_not(md_fs_exists(top));
}

Test(store, a_pulled_run_from_the_future_is_not_latest_forever)
{
	struct store_result here = result("local\n", 0, 100);
	struct store_real r;
	char tmp[1024], file[1100], rhash[MD_HASH_HEX];
	struct store_run *runs = NULL;
	size_t n = 0;

	/* A realization published as a pull does, dated in 2255. */
	snprintf(tmp, sizeof(tmp), "%s/pulled", dir);
	cr_assert_eq(mkdir(tmp, 0755), 0);
	snprintf(file, sizeof(file), "%s/stdout", tmp);
	cr_assert_eq(md_fs_write_new(file, "pulled\n", 7, 0444), 0);
	snprintf(file, sizeof(file), "%s/meta.json", tmp);
	cr_assert_eq(md_fs_write_new(file, "{\"exit\":0}", 10, 0444), 0);
	cr_assert_eq(store_rhash(rhash, "pulled\n", 7, "", 0, &(struct md_exit){ 0 },
				 NULL), 0);
	cr_assert_eq(store_publish(st, key, "{}", rhash, tmp, false, 0,
				   9006768000000000000LL), 0, "%s",
		     md_err_msg());
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "pulled\n", "the pull is the latest run");
	store_real_dispose(&r);

	cr_assert_eq(store_commit(rhash, st, key, "{}", &here), 0);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "local\n",
			 "a run committed after it is the latest");
	store_real_dispose(&r);
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 2);
	cr_assert_lt(runs[0].seq, runs[1].seq);
	cr_assert_leq(runs[0].ns, runs[1].ns,
		      "the pulled run is dated no later than its pull");
	free(runs);
}

Test(store, records_of_older_stores_come_before_new_ones)
{
	struct store_result a = result("old\n", 0, 100);
	struct store_result b = result("new\n", 0, 200);
	char ra[MD_HASH_HEX], rb[MD_HASH_HEX], runs[1024];
	struct md_buf from = MD_BUF_INIT, to = MD_BUF_INIT;
	struct store_real r;
	DIR *d;
	struct dirent *e;

	cr_assert_eq(store_commit(ra, st, key, "{}", &a), 0);
	/* Its record renamed as an older mdrun named it: T-RHASH-ok. */
	snprintf(runs, sizeof(runs), "%s/store/%s/runs", dir, key);
	cr_assert_not_null(d = opendir(runs));
	while ((e = readdir(d)))
		if (e->d_name[0] == 's')
			md_buf_printf(&from, "%s/%s", runs, e->d_name);
	closedir(d);
	md_buf_printf(&to, "%s/09006768000000000000-%s-ok", runs, ra);
	cr_assert_eq(rename(from.ptr, to.ptr), 0);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "old\n");
	store_real_dispose(&r);
	cr_assert_eq(store_commit(rb, st, key, "{}", &b), 0);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "new\n");
	store_real_dispose(&r);
	cr_assert_eq(store_lookup(&r, st, key, STORE_FIRST, false), 0);
	cr_assert_str_eq(r.out.ptr, "old\n");
	store_real_dispose(&r);
	md_buf_dispose(&from);
	md_buf_dispose(&to);
}

Test(store, tmp_folders_live_while_their_owner_holds_its_lock)
{
	char live[1024], lock[1024], dead[1024], dlock[1024];
	struct store *again = NULL;
	int fd;

	/* A PID no process has here: the owner runs in another container. */
	snprintf(live, sizeof(live), "%s/tmp/4194305-oaaaa-0", dir);
	snprintf(lock, sizeof(lock), "%s/tmp/4194305-oaaaa.lock", dir);
	snprintf(dead, sizeof(dead), "%s/tmp/4194305-obbbb-3", dir);
	snprintf(dlock, sizeof(dlock), "%s/tmp/4194305-obbbb.lock", dir);
	cr_assert_eq(md_fs_mkdirs(live, 0755), 0);
	cr_assert_eq(md_fs_mkdirs(dead, 0755), 0);
	cr_assert_eq(md_fs_write_new(lock, "", 0, 0644), 0);
	cr_assert_eq(md_fs_write_new(dlock, "", 0, 0644), 0);
	cr_assert_geq(fd = open(lock, O_RDWR), 0);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	cr_assert_eq(store_open(&again, dir), 0);
	cr_assert(md_fs_exists(live), "its owner holds the lock");
	cr_assert_not(md_fs_exists(dead), "no one holds the lock");
	cr_assert_not(md_fs_exists(dlock));
	store_close(again);
	close(fd);
	cr_assert_eq(store_open(&again, dir), 0);
	cr_assert_not(md_fs_exists(live), "its owner is gone");
	cr_assert_not(md_fs_exists(lock));
	store_close(again);
}
