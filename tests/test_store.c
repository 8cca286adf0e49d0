#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

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

/* ROOT/store.db, through a connection of the test's own. */
static sqlite3 *
db_open(const char *root)
{
	char path[1024];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/store.db", root);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
		     SQLITE_OK, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/*
 * Runs the statements sql (a sqlite3_mprintf format: %q quotes text) on
 * the store.db of root: how a test damages rows.
 */
static void
db_exec_at(const char *root, const char *fmt, ...)
{
	sqlite3 *db = db_open(root);
	char *sql, *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK,
		     "%s: %s", sql, err);
	sqlite3_free(sql);
	sqlite3_close(db);
}

#define db_exec(...) db_exec_at(dir, __VA_ARGS__)

/* The integer in the first column of the first row of sql, on dir's. */
static long long
db_int(const char *fmt, ...)
{
	sqlite3 *db = db_open(dir);
	sqlite3_stmt *q = NULL;
	long long v;
	char *sql;
	va_list ap;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "%s", sql);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_free(sql);
	sqlite3_close(db);
	return v;
}

/* The realizations of key the database holds: rows, not runs. */
static long long
count_realizations(void)
{
	return db_int("SELECT count(*) FROM real WHERE key = %Q", key);
}

/* The last error is one line, and says what. */
static void
assert_error_says(const char *what)
{
	const char *msg = md_err_msg();

	cr_assert(strstr(msg, what) != NULL, "'%s' does not say '%s'", msg,
		  what);
	cr_assert_null(strchr(msg, '\n'), "more than one line: %s", msg);
}

/* store_verify's reports: how many, and the last one. */
static size_t problems;
static char problem_path[1024], problem_what[1024];

static void
collect(const char *path, const char *what, void *ctx)
{
	(void)ctx;
	problems++;
	snprintf(problem_path, sizeof(problem_path), "%s", path);
	snprintf(problem_what, sizeof(problem_what), "%s", what);
}

/*
 * The key of one field, code, into out; returns its drv text (caller
 * frees), so store_verify finds the key and its fields agree.
 */
static char *
keyed(char out[MD_HASH_HEX], const char *code)
{
	struct store_field f[] = { { "code", code } };

	store_key(out, f, 1);
	return store_drv_json(f, 1);
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

Test(store, a_later_commit_is_seen_once_written_as_a_commit_would_be)
{
	char buf[32], rhash[MD_HASH_HEX], again[MD_HASH_HEX];
	struct store_result in;
	struct store_later *later = NULL;
	struct store_run *runs = NULL;
	struct store_real r;
	size_t n = 9;

	/* Its outputs are copies: what the caller held may go. */
	snprintf(buf, sizeof(buf), "later\n");
	in = result(buf, 3, 100);
	cr_assert_eq(store_commit_later(rhash, &later, st, key, "{}", &in), 0,
		     "%s", md_err_msg());
	memset(buf, 'x', sizeof(buf) - 1);
	cr_assert_not_null(later);
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 0, "a run is seen before its rows are written");
	free(runs);
	cr_assert_eq(store_later_write(st, &later, true), 0, "%s", md_err_msg());
	cr_assert_null(later);
	cr_assert_eq(store_later_write(st, &later, true), 0, "nothing left to write");
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(runs[0].rhash, rhash);
	cr_assert(runs[0].failed);
	free(runs);
	cr_assert_eq(store_read(&r, st, key, rhash), 0, "%s", md_err_msg());
	cr_assert_str_eq(r.out.ptr, "later\n");
	cr_assert_str_eq(r.err.ptr, "warn\n");
	cr_assert_eq(r.exit.code, 3);
	store_real_dispose(&r);
	/* The rhash is the one a commit gives the same run. */
	in = result("later\n", 3, 100);
	cr_assert_eq(store_commit(again, st, key, "{}", &in), 0);
	cr_assert_str_eq(again, rhash);
}

Test(store, later_commits_wait_together_and_go_in_one_write)
{
	struct store_result a = result("one\n", 0, 100), b = result("two\n", 0, 101);
	char k2[MD_HASH_HEX], k3[MD_HASH_HEX], r1[MD_HASH_HEX],
		r2[MD_HASH_HEX], r3[MD_HASH_HEX];
	struct store_later *later = NULL;
	struct store_run *runs = NULL;
	struct store_real r;
	size_t n = 0;

	snprintf(k2, sizeof(k2), "%s", key);
	k2[0] = 'f';
	snprintf(k3, sizeof(k3), "%s", key);
	k3[0] = 'e';
	cr_assert_eq(store_commit_later(r1, &later, st, key, "{}", &a), 0);
	cr_assert_eq(store_commit_later(r2, &later, st, k2, "{}", &b), 0);
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 0, "nothing is written before store_later_write");
	free(runs);
	cr_assert_eq(store_later_write(st, &later, true), 0, "%s", md_err_msg());
	cr_assert_null(later);
	cr_assert_eq(store_read(&r, st, key, r1), 0, "%s", md_err_msg());
	cr_assert_str_eq(r.out.ptr, "one\n");
	store_real_dispose(&r);
	cr_assert_eq(store_read(&r, st, k2, r2), 0, "%s", md_err_msg());
	cr_assert_str_eq(r.out.ptr, "two\n");
	store_real_dispose(&r);
	/* Dropped unwritten: the run is not in the store. */
	cr_assert_eq(store_commit_later(r3, &later, st, k3, "{}", &a), 0);
	store_later_drop(later);
	cr_assert_eq(store_runs(&runs, &n, st, k3), 0);
	cr_assert_eq(n, 0);
	free(runs);
}

Test(store, a_later_write_that_may_not_wait_leaves_the_rows_waiting)
{
	struct store_result a = result("one\n", 0, 100);
	char r1[MD_HASH_HEX];
	struct store_later *later = NULL;
	struct store_run *runs = NULL;
	sqlite3 *other = db_open(dir);
	size_t n = 0;

	cr_assert_eq(store_commit_later(r1, &later, st, key, "{}", &a), 0);
	/* Another connection writing: the rows wait on, untouched. */
	cr_assert_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		     SQLITE_OK);
	cr_assert_eq(store_later_write(st, &later, false), STORE_BUSY);
	cr_assert_not_null(later, "the rows still wait");
	cr_assert_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(other);
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 0);
	free(runs);
	cr_assert_eq(store_later_write(st, &later, false), 0, "%s",
		     md_err_msg());
	cr_assert_null(later);
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 1, "written once no one else writes");
	free(runs);
}

/*
 * A folder dir/NAME, as MDRUN_OUT after a run, holding plot.svg with svg
 * in it. Caller frees.
 */
static char *
artifacts(const char *name, const char *svg)
{
	struct md_buf path = MD_BUF_INIT, file = MD_BUF_INIT;

	md_buf_printf(&path, "%s/%s", dir, name);
	md_buf_printf(&file, "%s/plot.svg", path.ptr);
	cr_assert_eq(md_fs_mkdirs(path.ptr, 0755), 0);
	cr_assert_eq(md_fs_write_new(file.ptr, svg, strlen(svg), 0644), 0);
	md_buf_dispose(&file);
	return md_buf_detach(&path);
}

Test(store, realizations_are_read_only)
{
	struct store_result in = result("x", 0, 100);
	struct store_result bare = result("y", 0, 100);
	char rhash[MD_HASH_HEX], rbare[MD_HASH_HEX], path[1024];
	char *art = artifacts("art", "<svg/>"), *files;
	struct store_real r;
	struct stat s;

	in.artifacts = art;
	cr_assert_eq(store_commit(rhash, st, key, "{\"a\":1}", &in), 0);
	files = store_files_dir(st, rhash);
	cr_assert_eq(stat(files, &s), 0, "%s", files);
	cr_assert_eq(s.st_mode & 0777, 0555);
	snprintf(path, sizeof(path), "%s/plot.svg", files);
	cr_assert_eq(stat(path, &s), 0);
	cr_assert_eq(s.st_mode & 0777, 0444);

	/* No artifacts, no folder. */
	cr_assert_eq(store_commit(rbare, st, key, "{\"a\":1}", &bare), 0);
	cr_assert_eq(store_read(&r, st, key, rbare), 0, "%s", md_err_msg());
	cr_assert_not(r.files);
	cr_assert_not(md_fs_exists(r.path), "%s", r.path);
	store_real_dispose(&r);

	/* A key's fields are written once: another drv does not change them. */
	cr_assert_eq(store_commit(rbare, st, key, "{\"a\":2}", &bare), 0);
	cr_assert_eq(db_int("SELECT count(*) FROM drv WHERE key = %Q AND "
			    "fields = '{\"a\":1}'", key), 1);
	free(files);
	free(art);
}

Test(store, equal_runs_share_one_realization)
{
	struct store_result a = result("same", 0, 100);
	struct store_result b = result("same", 0, 200);
	char r1[MD_HASH_HEX], r2[MD_HASH_HEX];
	struct store_run *runs = NULL;
	size_t n = 0;

	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_str_eq(r1, r2);
	cr_assert_eq(count_realizations(), 1);
	/* Each commit is a run of its own, numbered in commit order. */
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(runs[0].rhash, r1);
	cr_assert_str_eq(runs[1].rhash, r1);
	cr_assert_eq(runs[0].seq, 1);
	cr_assert_eq(runs[1].seq, 2);
	free(runs);
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

/*
 * A render reads a realization's exit record from the columns of its row,
 * not from its meta: a damaged row is an error naming the realization
 * and saying what to do; a damaged meta is store verify's to find.
 */
Test(store, malformed_realizations_are_errors_naming_them)
{
	struct store_result in = result("x", 0, 100);
	char k[MD_HASH_HEX], rhash[MD_HASH_HEX], name[16];
	char *drv = keyed(k, "echo x");
	struct store_real r;
	size_t bad = 0;

	cr_assert_eq(store_commit(rhash, st, k, drv, &in), 0);
	snprintf(name, sizeof(name), "%.12s", rhash);
	db_exec("UPDATE real SET exit_code = 'zero'");
	cr_assert_eq(store_lookup(&r, st, k, STORE_LATEST, false), MD_ERROR);
	assert_error_says(name);
	assert_error_says("malformed row");
	assert_error_says("mdrun store verify");
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1, "verify finds it");
	cr_assert(strstr(problem_path, rhash), "%s", problem_path);

	db_exec("UPDATE real SET exit_code = 0, meta = '{not json'");
	cr_assert_eq(store_lookup(&r, st, k, STORE_LATEST, false), 0,
		     "%s", md_err_msg());
	store_real_dispose(&r);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1);
	cr_assert(strstr(problem_path, rhash), "%s", problem_path);
	cr_assert(strstr(problem_what, "malformed realization metadata"), "%s",
		  problem_what);
	free(drv);
}

Test(store, verify_finds_a_meta_that_disagrees_with_the_row)
{
	struct store_result in = result("hello\n", 0, 100);
	char k[MD_HASH_HEX], rhash[MD_HASH_HEX];
	char *drv = keyed(k, "echo hello");
	struct store_real r;
	size_t bad = 0;

	cr_assert_eq(store_commit(rhash, st, k, drv, &in), 0);
	/* Sizes that are not those of the outputs. */
	db_exec("UPDATE real SET meta = json_set(meta, '$.stdout_bytes', 99)");
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1);
	cr_assert(strstr(problem_what, "\"stdout_bytes\" is 99, but stdout has "
				       "6 bytes"), "%s", problem_what);

	/* An exit record the render shows that is not its meta's. */
	db_exec("UPDATE real SET meta = json_set(meta, '$.stdout_bytes', 6), "
		"exit_code = 1");
	cr_assert_eq(store_read(&r, st, k, rhash), 0, "%s", md_err_msg());
	cr_assert_eq(r.exit.code, 1, "the row's exit code is shown");
	store_real_dispose(&r);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1);
	cr_assert(strstr(problem_what, "differ from its meta"), "%s",
		  problem_what);
	free(drv);
}

Test(store, runs_of_missing_realizations_are_not_listed)
{
	struct store_result in = result("here\n", 0, 100);
	char k[MD_HASH_HEX], rhash[MD_HASH_HEX];
	char *drv = keyed(k, "echo here");
	const char *gone = "abcdef0123456789abcdef0123456789"
			   "abcdef0123456789abcdef0123456789";
	struct store_run *runs = NULL;
	struct store_real r;
	size_t n = 0, bad = 0;

	cr_assert_eq(store_commit(rhash, st, k, drv, &in), 0);
	/* Later runs, of a realization the store does not have. */
	db_exec("INSERT INTO run (key, seq, ns, rhash, failed, cut) "
		"VALUES (%Q, 2, 1, %Q, 0, 0), (%Q, 3, 1, 7, 0, 0)", k, gone, k);
	cr_assert_eq(store_runs(&runs, &n, st, k), 0, "%s", md_err_msg());
	cr_assert_eq(n, 1);
	cr_assert_str_eq(runs[0].rhash, rhash);
	free(runs);
	cr_assert_eq(store_lookup(&r, st, k, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "here\n");
	store_real_dispose(&r);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 2, "verify names the dangling runs");
	cr_assert_str_eq(problem_path, k);
	cr_assert(strstr(problem_what, "run 3 names no realization"), "%s",
		  problem_what);
	db_exec("DELETE FROM run WHERE seq = 3");
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1);
	cr_assert(strstr(problem_what, "run 2 names realization abcdef012345"),
		  "%s", problem_what);

	/* gc removes such runs, keeps the key's real one, and verify is clean. */
	struct store_gc_opts o = { .keep = &k, .nkeep = 1 };
	struct store_gc_stats stats;
	cr_assert_eq(store_gc(&stats, st, &o, NULL, NULL), 0, "%s",
		     md_err_msg());
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 0, "%s", problem_what);
	cr_assert_eq(store_runs(&runs, &n, st, k), 0);
	cr_assert_eq(n, 1);
	free(runs);
	free(drv);
}

/* Asserts that two listings of runs are the same. */
static void
assert_same_runs(const struct store_run *a, size_t na,
		 const struct store_run *b, size_t nb)
{
	cr_assert_eq(na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_assert_str_eq(a[i].rhash, b[i].rhash);
		cr_assert_eq(a[i].seq, b[i].seq);
		cr_assert_eq(a[i].ns, b[i].ns);
		cr_assert_eq(a[i].failed, b[i].failed);
		cr_assert_eq(a[i].cut, b[i].cut);
	}
}

Test(store, prefetched_runs_agree_with_a_fresh_listing)
{
	struct store_result a = result("a\n", 0, 100);
	struct store_result b = result("b\n", 1, 200);
	char rhash[MD_HASH_HEX], keys[3][MD_HASH_HEX] = {
		"0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef",
		"fedcba9876543210fedcba9876543210"
		"fedcba9876543210fedcba9876543210",
		"11111111111111111111111111111111"
		"11111111111111111111111111111111",
	};
	struct store_run *got = NULL, *want = NULL;
	size_t ngot = 0, nwant = 0;
	struct store *fresh = NULL;

	b.cut = 1000;
	cr_assert_eq(store_commit(rhash, st, keys[0], "{}", &a), 0);
	cr_assert_eq(store_commit(rhash, st, keys[0], "{}", &b), 0);
	cr_assert_eq(store_commit(rhash, st, keys[1], "{}", &b), 0);
	cr_assert_eq(store_prefetch(st, NULL, keys, 3), 0, "%s", md_err_msg());
	cr_assert_eq(store_open(&fresh, dir), 0, "%s", md_err_msg());
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(store_runs(&got, &ngot, st, keys[i]), 0);
		cr_assert_eq(store_runs(&want, &nwant, fresh, keys[i]), 0);
		assert_same_runs(got, ngot, want, nwant);
		free(got);
		free(want);
	}
	cr_assert_eq(ngot, 0, "an unknown key has no runs");

	/* Read ahead, the listing is as it was (store.h)... */
	cr_assert_eq(store_commit(rhash, fresh, keys[1], "{}", &a), 0);
	cr_assert_eq(store_runs(&got, &ngot, st, keys[1]), 0);
	cr_assert_eq(ngot, 1);
	free(got);
	/* ...until this process changes the key. */
	cr_assert_eq(store_commit(rhash, st, keys[1], "{}", &a), 0);
	cr_assert_eq(store_runs(&got, &ngot, st, keys[1]), 0);
	cr_assert_eq(store_runs(&want, &nwant, fresh, keys[1]), 0);
	cr_assert_eq(ngot, 3);
	assert_same_runs(got, ngot, want, nwant);
	cr_assert_eq(got[2].seq, 3);
	free(got);
	free(want);
	store_close(fresh);
}

/*
 * Makes table of dir's store.db as a crafted file may have it: the same
 * columns, without NOT NULL or keys.
 */
static void
loosen(const char *table)
{
	db_exec("ALTER TABLE %s RENAME TO strict;"
		"CREATE TABLE %s AS SELECT * FROM strict; DROP TABLE strict",
		table, table);
}

Test(store, rows_of_the_wrong_type_are_errors)
{
	static const char *const damage[] = {
		"files = 'yes'",      "stdout = 2.5",	    "stderr = NULL",
		"exit_code = 'zero'", "exit_signal = 1e300",
		"exit_code = 70000",  "timed_out = x'00'",
		"exit_code = -9223372036854775808",
		"start_time = 'now'", "end_time = NULL",    "cut = -1",
		"cut = 'all'",
	};
	struct store_result in = result("x\n", 0, 100);
	char rhash[MD_HASH_HEX], (*keys)[MD_HASH_HEX] = NULL;
	char keys1[1][MD_HASH_HEX], doc[1024];
	struct store_run *runs = NULL;
	struct store_real r;
	struct md_buf b = MD_BUF_INIT;
	struct store_gc_opts o = { .dry_run = true };
	struct store_gc_stats stats;
	size_t n = 0;

	snprintf(doc, sizeof(doc), "%s/doc.md", dir);
	cr_assert_eq(md_fs_write_new(doc, "x", 1, 0644), 0);
	cr_assert_eq(store_commit(rhash, st, key, "{\"fields\":{}}", &in), 0);
	cr_assert_eq(store_memo_put(st, "sh", "dash", 4), 0);
	memcpy(keys1[0], key, MD_HASH_HEX);
	cr_assert_eq(store_root_write(st, doc, keys1, 1, NULL, NULL), 0);
	loosen("run");
	loosen("real");
	loosen("drv");
	loosen("root");
	loosen("memo");

	/* A run whose rhash is no text names no realization: not listed. */
	db_exec("UPDATE run SET rhash = 7");
	cr_assert_eq(store_runs(&runs, &n, st, key), 0, "%s", md_err_msg());
	cr_assert_eq(n, 0);
	free(runs);
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, true),
		     MD_ENOTFOUND);
	db_exec("UPDATE run SET rhash = %Q, seq = 'one'", rhash);
	cr_assert_eq(store_runs(&runs, &n, st, key), MD_ERROR);
	assert_error_says("store.db");
	assert_error_says("malformed row");
	cr_assert_eq(store_lookup(&r, st, key, STORE_LATEST, true), MD_ERROR);
	db_exec("UPDATE run SET seq = 1, ns = NULL");
	cr_assert_eq(store_runs(&runs, &n, st, key), MD_ERROR);
	db_exec("UPDATE run SET ns = 1, cut = -1");
	cr_assert_eq(store_runs(&runs, &n, st, key), MD_ERROR);
	db_exec("UPDATE run SET cut = 0");
	cr_assert_eq(store_runs(&runs, &n, st, key), 0);
	free(runs);

	db_exec("CREATE TABLE good AS SELECT * FROM real");
	for (size_t i = 0; i < sizeof(damage) / sizeof(*damage); i++) {
		db_exec("UPDATE real SET %s", damage[i]);
		cr_assert_eq(store_read(&r, st, key, rhash), MD_ERROR, "%s",
			     damage[i]);
		assert_error_says("store.db");
		assert_error_says("malformed row");
		db_exec("DELETE FROM real;"
			"INSERT INTO real SELECT * FROM good");
	}
	cr_assert_eq(store_read(&r, st, key, rhash), 0, "%s", md_err_msg());
	store_real_dispose(&r);
	db_exec("UPDATE real SET meta = NULL");
	cr_assert_eq(store_meta_text(&b, st, key, rhash), MD_ERROR);
	assert_error_says("store.db");

	db_exec("UPDATE drv SET fields = 42");
	cr_assert_eq(store_drv(&b, st, key), MD_ERROR);
	assert_error_says("store.db");

	db_exec("UPDATE root SET record = NULL");
	cr_assert_eq(store_root_keys(&keys, &n, st, doc), MD_ERROR);
	assert_error_says("store.db");
	free(keys);
	cr_assert_eq(store_gc(&stats, st, &o, NULL, NULL), MD_ERROR,
		     "gc stops rather than guess what the root keeps");
	assert_error_says("store.db");

	db_exec("UPDATE memo SET value = 4");
	cr_assert_eq(store_memo_get(&b, st, "sh"), MD_ERROR);
	assert_error_says("store.db");
	md_buf_dispose(&b);
}

Test(store, newer_format_is_refused)
{
	static const char *const newer[] = { "3\n", "99\n" };
	char path[512];
	struct store *other = NULL;

	snprintf(path, sizeof(path), "%s/VERSION", dir);
	for (size_t i = 0; i < 2; i++) {
		chmod(path, 0644);
		cr_assert_eq(md_fs_write_atomic(path, newer[i],
						strlen(newer[i]), 0444), 0);
		cr_assert_lt(store_open(&other, dir), 0, "VERSION %s",
			     newer[i]);
		cr_assert_null(other);
		assert_error_says("VERSION");
		assert_error_says("newer");
	}
}

Test(store, a_new_store_is_format_2)
{
	char path[512];
	struct md_buf b = MD_BUF_INIT;

	snprintf(path, sizeof(path), "%s/VERSION", dir);
	cr_assert_eq(md_fs_read(&b, path), 0);
	cr_assert_str_eq(b.ptr, "2\n");
	cr_assert_eq(db_int("PRAGMA user_version"), 5);
	cr_assert_eq(db_int("SELECT count(*) FROM sqlite_schema WHERE type = "
			    "'table' AND name IN ('drv', 'real', 'run', "
			    "'root', 'memo', 'snap', 'generation')"), 7);
	cr_assert_eq(db_int("SELECT n FROM generation"), 1);
	snprintf(path, sizeof(path), "%s/objects", dir);
	cr_assert(md_fs_is_dir(path));
	md_buf_dispose(&b);
}

Test(store, an_output_list_is_kept_and_counts_in_the_hash)
{
	static const char list[] = "[{\"stream\":\"stderr\",\"len\":5}]";
	struct store_result in = result("hello\n", 0, 100);
	struct store_real r;
	char plain[MD_HASH_HEX], listed[MD_HASH_HEX];

	cr_assert_eq(store_commit(plain, st, key, "{}", &in), 0);
	in.outs = list;
	in.outs_len = strlen(list);
	cr_assert_eq(store_commit(listed, st, key, "{}", &in), 0);
	cr_assert_str_neq(plain, listed, "the order is part of the result");
	cr_assert_eq(store_read(&r, st, key, listed), 0, "%s", md_err_msg());
	cr_assert_str_eq(r.outs.ptr, list);
	store_real_dispose(&r);
	cr_assert_eq(store_read(&r, st, key, plain), 0, "%s", md_err_msg());
	cr_assert_eq(r.outs.len, 0);
	store_real_dispose(&r);
}

/*
 * A store of schema 2 (before the output list) is upgraded in place when
 * opened: its realizations read as before, with the same rhash.
 */
Test(store, a_schema_2_database_gains_the_output_list)
{
	struct store_result in = result("hello\n", 0, 100);
	struct store_real r;
	char rhash[MD_HASH_HEX], k[MD_HASH_HEX];
	char *drv = keyed(k, "echo hello");
	size_t bad = 0;

	cr_assert_eq(store_commit(rhash, st, k, drv, &in), 0);
	free(drv);
	store_close(st);
	st = NULL;
	db_exec_at(dir, "DROP TABLE blob;"
			"DROP TABLE snap;"
			"DROP TABLE generation;"
			"ALTER TABLE real DROP COLUMN writes;"
			"ALTER TABLE real DROP COLUMN reads;"
			"ALTER TABLE real DROP COLUMN outputs;"
			"PRAGMA user_version = 2");
	cr_assert_eq(store_open(&st, dir), 0, "%s", md_err_msg());
	cr_assert_eq(db_int("PRAGMA user_version"), 5);
	cr_assert_eq(db_int("SELECT n FROM generation"), 1);
	cr_assert_eq(store_read(&r, st, k, rhash), 0, "%s", md_err_msg());
	cr_assert_str_eq(r.out.ptr, "hello\n");
	cr_assert_eq(r.outs.len, 0);
	store_real_dispose(&r);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0, "%s",
		     md_err_msg());
	cr_assert_eq(bad, 0, "%s: %s", problem_path, problem_what);
}

static void
assert_refused(const char *root)
{
	struct store *s = NULL;
	char **keys = NULL;
	size_t n = 0;
	int rc = store_open(&s, root);

	if (rc == 0) {
		rc = store_keys(&keys, &n, s);
		store_keys_free(keys, n);
		store_close(s);
	}
	cr_assert_lt(rc, 0, "%s: the store.db there was read", root);
	assert_error_says("store.db");
}

/* root/store.db made of the n bytes at p, beside a VERSION of 2. */
static void
put_db(const char *root, const void *p, size_t n)
{
	char path[1024];

	md_fs_rmtree(root);
	cr_assert_eq(md_fs_mkdirs(root, 0755), 0);
	snprintf(path, sizeof(path), "%s/VERSION", root);
	cr_assert_eq(md_fs_write_new(path, "2\n", 2, 0444), 0);
	snprintf(path, sizeof(path), "%s/store.db", root);
	cr_assert_eq(md_fs_write_new(path, p, n, 0644), 0);
}

Test(store, a_store_db_that_is_not_ours_is_refused)
{
	struct store_result in = result("x\n", 0, 100);
	char bad[1024], path[1100], rhash[MD_HASH_HEX];
	unsigned char noise[8192];
	unsigned x = 1;
	struct md_buf db = MD_BUF_INIT;
	sqlite3 *other;

	snprintf(bad, sizeof(bad), "%s/bad", dir);
	/* Noise. */
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)((x = x * 1103515245 + 12345) >> 16);
	put_db(bad, noise, sizeof(noise));
	assert_refused(bad);

	/* A database cut short, as a full disk or a bad copy leaves it. */
	for (int i = 0; i < 40; i++) {
		in.exit.code = i;
		cr_assert_eq(store_commit(rhash, st, key, "{}", &in), 0);
	}
	store_close(st); /* the last connection: the WAL goes into store.db */
	st = NULL;
	snprintf(path, sizeof(path), "%s/store.db", dir);
	cr_assert_eq(md_fs_read(&db, path), 0);
	cr_assert_gt(db.len, 8192);
	put_db(bad, db.ptr, db.len / 2 + 100);
	assert_refused(bad);
	put_db(bad, db.ptr, 100);
	assert_refused(bad);

	/* Another program's database: refused, and left as it was. */
	put_db(bad, "", 0);
	db_exec_at(bad, "CREATE TABLE run (x); PRAGMA user_version = 7");
	assert_refused(bad);
	assert_error_says("schema 7");
	other = db_open(bad);
	cr_assert_eq(sqlite3_exec(other, "SELECT x FROM run", NULL, NULL, NULL),
		     SQLITE_OK, "its table is still there");
	sqlite3_close(other);

	/*
	 * A "table" that is a view recursing without end: refused when
	 * opened, not a read that never returns.
	 */
	put_db(bad, "", 0);
	db_exec_at(bad, "CREATE TABLE drv (key, fields);"
			"CREATE TABLE real (key, rhash);"
			"CREATE TABLE root (doc, record);"
			"CREATE TABLE memo (name, value);"
			"CREATE VIEW run AS WITH RECURSIVE c(x) AS (SELECT 1"
			" UNION ALL SELECT x + 1 FROM c) SELECT x AS key FROM c;"
			"PRAGMA user_version = 2");
	assert_refused(bad);
	assert_error_says("not an mdrun store database");

	/* A fifo where store.db should be: refused, never opened. */
	snprintf(path, sizeof(path), "%s/store.db", bad);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0644), 0);
	assert_refused(bad);
	assert_error_says("not a regular file");
	md_buf_dispose(&db);
	cr_assert_eq(store_open(&st, dir), 0, "%s", md_err_msg());
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

Test(store, verify_recomputes_keys_and_realizations)
{
	char k[MD_HASH_HEX], k2[MD_HASH_HEX], rhash[MD_HASH_HEX];
	char r2[MD_HASH_HEX], path[1024];
	char *drv = keyed(k, "echo hi"), *drv2 = keyed(k2, "draw");
	char *art = artifacts("art", "<svg/>"), *files;
	struct store_result in = result("hi\n", 0, 100);
	struct store_result drawn = result("", 0, 100);
	size_t bad = 0;

	drawn.artifacts = art;
	cr_assert_eq(store_commit(rhash, st, k, drv, &in), 0);
	cr_assert_eq(store_commit(r2, st, k2, drv2, &drawn), 0);
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 0, "%s: %s", problem_path, problem_what);

	/* A changed output. */
	db_exec("UPDATE real SET stdout = CAST('bye\n' AS BLOB) WHERE key = %Q",
		k);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 1);
	cr_assert(strstr(problem_path, rhash) != NULL, "%s", problem_path);

	/* Fields that no longer hash to their key. */
	db_exec("UPDATE drv SET fields = %Q WHERE key = %Q",
		"{\"fields\":{\"code\":\"rm -rf /\"}}", k);
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 2);

	/* A changed artifact. */
	files = store_files_dir(st, r2);
	snprintf(path, sizeof(path), "%s/plot.svg", files);
	chmod(files, 0755);
	chmod(path, 0644);
	cr_assert_eq(md_fs_write_over(path, "<svg></svg>", 11, 0444), 0);
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 3);
	cr_assert(strstr(problem_path, r2) != NULL, "%s", problem_path);

	/* A folder of objects/ no realization names. */
	snprintf(path, sizeof(path), "%s/objects/%064d", dir, 0);
	cr_assert_eq(md_fs_mkdirs(path, 0755), 0);
	problems = 0;
	cr_assert_eq(store_verify(&bad, st, collect, NULL), 0);
	cr_assert_eq(bad, 4);
	cr_assert_str_eq(problem_path, path);
	cr_assert(strstr(problem_what, "not referenced"), "%s", problem_what);
	free(files);
	free(art);
	free(drv);
	free(drv2);
}

Test(store, artifacts_become_out_and_count_in_the_hash)
{
	struct store_result a = result("x", 0, 100), b = result("x", 0, 100);
	struct store_result c = result("x", 0, 100);
	char r1[MD_HASH_HEX], r2[MD_HASH_HEX], r3[MD_HASH_HEX];
	char *art = artifacts("art", "<svg/>");
	char *same = artifacts("same", "<svg/>");
	char *files, f[1100];
	const char *other = "fedcba9876543210fedcba9876543210"
			    "fedcba9876543210fedcba9876543210";
	struct md_buf got = MD_BUF_INIT;
	struct store_real r;

	a.artifacts = art;
	cr_assert_eq(store_commit(r1, st, key, "{}", &a), 0);
	cr_assert(!md_fs_exists(art), "the artifacts were moved");
	cr_assert_eq(store_commit(r2, st, key, "{}", &b), 0);
	cr_assert_str_neq(r1, r2, "the artifacts are part of the hash");
	files = store_files_dir(st, r1);
	snprintf(f, sizeof(f), "%s/plot.svg", files);
	cr_assert_eq(md_fs_read(&got, f), 0);
	cr_assert_str_eq(got.ptr, "<svg/>");
	cr_assert_eq(store_read(&r, st, key, r1), 0, "%s", md_err_msg());
	cr_assert(r.files);
	cr_assert_str_eq(r.path, files);
	store_real_dispose(&r);

	/* Equal artifacts of another key: the same object, kept once. */
	c.artifacts = same;
	cr_assert_eq(store_commit(r3, st, other, "{}", &c), 0);
	cr_assert_str_eq(r3, r1);
	cr_assert(!md_fs_exists(same), "the copy was dropped");
	cr_assert_eq(store_read(&r, st, other, r3), 0, "%s", md_err_msg());
	cr_assert(r.files);
	store_real_dispose(&r);
	md_buf_dispose(&got);
	free(files);
	free(art);
	free(same);
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
	cr_assert_eq(store_root_write(st, doc, keys, 1, NULL, NULL), 0);

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

Test(store, a_root_record_is_kept_only_under_its_fingerprint)
{
	const char *fp = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *other = "2222222222222222222222222222222222222222222222222222222222222222";
	char keys[1][MD_HASH_HEX], doc[1024], (*got)[MD_HASH_HEX] = NULL;
	struct md_buf notes = MD_BUF_INIT;
	size_t n = 0;

	snprintf(doc, sizeof(doc), "%s/doc.md", dir);
	memcpy(keys[0], key, MD_HASH_HEX);
	/* No record yet, then one without a fingerprint: neither is kept. */
	cr_assert_eq(store_root_keep(st, doc, fp), 0);
	cr_assert_eq(store_root_write(st, doc, keys, 1, NULL, "{\"a\":1}"), 0);
	cr_assert_eq(store_root_keep(st, doc, fp), 0);
	cr_assert_eq(store_root_write(st, doc, keys, 1, fp, "{\"a\":2}"), 0);
	cr_assert_eq(store_root_keep(st, doc, fp), 1);
	cr_assert_eq(store_root_keep(st, doc, other), 0);
	/* A prefix of the fingerprint is not it. */
	cr_assert_eq(store_root_keep(st, doc, "1111"), 0);
	/* The record is whole and read as before. */
	cr_assert_eq(store_root_notes(&notes, st, doc), 0);
	cr_assert_str_eq(notes.ptr, "{\"a\":2}");
	cr_assert_eq(store_root_keys(&got, &n, st, doc), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(got[0], key);
	free(got);
	md_buf_dispose(&notes);
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
	cr_assert_eq(store_rhash(rhash, "pulled\n", 7, "", 0, NULL, 0, NULL, 0, NULL, 0,
				 &(struct md_exit){ 0 }, NULL), 0);
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

/* Copies one entry of a tree into the folder arg (md_fs_walk). */
static int
copy_entry(enum md_walk_step step, const struct md_walk *w, void *arg)
{
	struct md_buf to = MD_BUF_INIT, data = MD_BUF_INIT;
	int rc = 0;

	md_buf_printf(&to, "%s/%s", (const char *)arg, w->rel);
	if (step == MD_WALK_ENTER)
		rc = md_fs_mkdirs(to.ptr, 0755);
	else if (step == MD_WALK_FILE &&
		 (rc = md_fs_read_at(&data, w->dirfd, w->name, 0,
				     w->path)) == 0)
		rc = md_fs_write_new(to.ptr, data.ptr ? data.ptr : "",
				     data.len, 0644);
	md_buf_dispose(&to);
	md_buf_dispose(&data);
	return rc;
}

/*
 * A copy of the v1 store of tests/fixtures/store-v1 (made by the last
 * mdrun of format 1, from its doc.md) at dir/NAME. Caller frees.
 */
static char *
v1_copy(const char *name)
{
	struct md_buf to = MD_BUF_INIT;

	md_buf_printf(&to, "%s/%s", dir, name);
	cr_assert_eq(md_fs_mkdirs(to.ptr, 0755), 0);
	cr_assert_eq(md_fs_walk(TESTS_DIR "/fixtures/store-v1/store",
				copy_entry, to.ptr), 0, "%s", md_err_msg());
	return md_buf_detach(&to);
}

/* The fixture's keys, its blocks hello, art, bad and dep. */
#define V1_HELLO \
	"c97058e18eefa30322fc24122870377071f5e188af171107c3c49f506f461f4c"
#define V1_ART \
	"786c3b2f7fe65752fdd57286b3ff5948fe86044fc098b6b58c54ea9b0ac3c4ab"
#define V1_BAD \
	"155aa26c3b7acca886129aed7a8d6b836cd0773684800140424b5ee4b45ba49c"
#define V1_DEP \
	"505a72c5eb7a323ce22fc9dca4dde037369a535c9aa04281b485aabc0c1ad408"
#define V1_ART_RHASH \
	"a515672acd3027ada93a9e754eac24316cd63dd9f5f1d764c61c7e00cffe200a"

/* The one run of key in s; its output must be out. */
static void
assert_one_run(struct store *s, const char *k, const char *out)
{
	struct store_run *runs = NULL;
	struct store_real r;
	size_t n = 0;

	cr_assert_eq(store_runs(&runs, &n, s, k), 0, "%s", md_err_msg());
	cr_assert_eq(n, 1, "%.12s", k);
	cr_assert_eq(runs[0].seq, 1);
	cr_assert_eq(store_read(&r, s, k, runs[0].rhash), 0, "%s",
		     md_err_msg());
	cr_assert_str_eq(r.out.ptr, out);
	cr_assert_eq(store_real_failed(&r), runs[0].failed);
	store_real_dispose(&r);
	free(runs);
}

Test(store, a_v1_store_is_migrated_on_open)
{
	char *root = v1_copy("v1"), *files, path[1024];
	char **keys = NULL, (*rooted)[MD_HASH_HEX] = NULL;
	static const char *const v1[] = { "store", "roots", "interp" };
	struct md_buf b = MD_BUF_INIT;
	struct store *s = NULL;
	struct store_real r;
	struct stat sb;
	size_t n = 0, bad = 0;

	cr_assert_eq(store_open(&s, root), 0, "%s", md_err_msg());
	snprintf(path, sizeof(path), "%s/VERSION", root);
	cr_assert_eq(md_fs_read(&b, path), 0);
	cr_assert_str_eq(b.ptr, "2\n");
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, v1[i]);
		cr_assert_not(md_fs_exists(path), "%s is left", path);
	}
	cr_assert_eq(store_keys(&keys, &n, s), 0);
	cr_assert_eq(n, 4);
	store_keys_free(keys, n);

	assert_one_run(s, V1_HELLO, "hello from v1\n");
	assert_one_run(s, V1_ART, "wrote\n");
	assert_one_run(s, V1_BAD, "failing\n");
	assert_one_run(s, V1_DEP, "x,y\n1,2\n");
	cr_assert_eq(store_lookup(&r, s, V1_HELLO, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.err.ptr, "to stderr\n");
	cr_assert_not(r.files);
	store_real_dispose(&r);
	cr_assert_eq(store_lookup(&r, s, V1_BAD, STORE_LATEST, false),
		     MD_ENOTFOUND, "a failure is kept, never a hit");
	cr_assert_eq(store_lookup(&r, s, V1_BAD, STORE_LATEST, true), 0);
	cr_assert_eq(r.exit.code, 3);
	store_real_dispose(&r);

	/* out/ became objects/RHASH, read-only. */
	cr_assert_eq(store_read(&r, s, V1_ART, V1_ART_RHASH), 0);
	cr_assert(r.files);
	files = store_files_dir(s, V1_ART_RHASH);
	cr_assert_str_eq(r.path, files);
	store_real_dispose(&r);
	cr_assert_eq(stat(files, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0555);
	snprintf(path, sizeof(path), "%s/table.csv", files);
	md_buf_clear(&b);
	cr_assert_eq(md_fs_read(&b, path), 0);
	cr_assert_str_eq(b.ptr, "x,y\n1,2\n");
	snprintf(path, sizeof(path), "%s/sub/f.txt", files);
	md_buf_clear(&b);
	cr_assert_eq(md_fs_read(&b, path), 0);
	cr_assert_str_eq(b.ptr, "deep\n");

	/* The root of its document, and the interpreter's identity. */
	cr_assert_eq(store_root_keys(&rooted, &n, s,
				     "/tmp/mdrun-v1-fixture/doc.md"), 0);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(rooted[0], V1_HELLO);
	md_buf_clear(&b);
	cr_assert_eq(store_memo_get(&b, s, "89f99f5956f6cd649e6ea470abb338c9"
					   "66eaff29e137b571d39eb09e0a78f916"),
		     0);
	cr_assert_str_eq(b.ptr, "dash");
	cr_assert_eq(store_verify(&bad, s, collect, NULL), 0);
	cr_assert_eq(bad, 0, "%s: %s", problem_path, problem_what);
	store_close(s);
	md_buf_dispose(&b);
	free(rooted);
	free(files);
	free(root);
}

Test(store, records_of_older_stores_come_before_new_ones)
{
	struct store_result c = result("newest\n", 0, 300);
	char *root = v1_copy("v1"), from[1024], to[1024], real[1024];
	char rhash[MD_HASH_HEX], file[1100];
	struct store *s = NULL;
	struct store_real r;

	/*
	 * The art key's run, renamed as an older mdrun named records
	 * (T-RHASH-ok, no sequence number) and dated in 2255, and a run of
	 * another realization that v1 recorded after it.
	 */
	snprintf(from, sizeof(from), "%s/store/" V1_ART "/runs/s00000000000000"
		 "000001-01796595495128502131-" V1_ART_RHASH "-ok", root);
	snprintf(to, sizeof(to), "%s/store/" V1_ART "/runs/0900676800000000"
		 "0000-" V1_ART_RHASH "-ok", root);
	cr_assert_eq(rename(from, to), 0, "%s", from);
	cr_assert_eq(store_rhash(rhash, "new\n", 4, "", 0, NULL, 0, NULL, 0, NULL, 0,
				 &(struct md_exit){ 0 }, NULL), 0);
	snprintf(real, sizeof(real), "%s/store/" V1_ART "/%s", root, rhash);
	cr_assert_eq(md_fs_mkdirs(real, 0755), 0);
	snprintf(file, sizeof(file), "%s/stdout", real);
	cr_assert_eq(md_fs_write_new(file, "new\n", 4, 0444), 0);
	snprintf(file, sizeof(file), "%s/meta.json", real);
	cr_assert_eq(md_fs_write_new(file, "{\"exit\":0}", 10, 0444), 0);
	snprintf(file, sizeof(file),
		 "%s/store/" V1_ART "/runs/s%020d-%020d-%s-ok", root, 1, 1,
		 rhash);
	cr_assert_eq(md_fs_write_new(file, "", 0, 0444), 0);

	cr_assert_eq(store_open(&s, root), 0, "%s", md_err_msg());
	cr_assert_eq(store_lookup(&r, s, V1_ART, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "new\n");
	store_real_dispose(&r);
	cr_assert_eq(store_lookup(&r, s, V1_ART, STORE_FIRST, false), 0);
	cr_assert_str_eq(r.out.ptr, "wrote\n");
	store_real_dispose(&r);
	/* A run committed now comes after both. */
	cr_assert_eq(store_commit(rhash, s, V1_ART, NULL, &c), 0);
	cr_assert_eq(store_lookup(&r, s, V1_ART, STORE_LATEST, false), 0);
	cr_assert_str_eq(r.out.ptr, "newest\n");
	store_real_dispose(&r);
	cr_assert_eq(store_lookup(&r, s, V1_ART, STORE_FIRST, false), 0);
	cr_assert_str_eq(r.out.ptr, "wrote\n");
	store_real_dispose(&r);
	store_close(s);
	free(root);
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

/* Two keys read ahead: one with two runs and its latest row, one with none. */
static struct store_entry *
snap_entries(size_t *n)
{
	struct store_entry *v = md_calloc(2, sizeof(*v));
	struct store_real *r = md_calloc(1, sizeof(*r));

	memset(v[0].key, 'a', MD_HASH_HEX - 1);
	memset(v[1].key, 'b', MD_HASH_HEX - 1);
	v[0].n = 2;
	v[0].runs = md_calloc(2, sizeof(*v[0].runs));
	for (int i = 0; i < 2; i++) {
		memset(v[0].runs[i].rhash, i ? 'd' : 'c', MD_HASH_HEX - 1);
		v[0].runs[i].seq = (unsigned long long)i + 1;
		v[0].runs[i].ns = 1000 + i;
	}
	v[0].runs[0].failed = true;
	v[0].runs[1].cut = 77;
	v[0].runs[1].writes = true;
	memcpy(r->rhash, v[0].runs[1].rhash, MD_HASH_HEX);
	md_buf_puts(&r->out, "hello\n");
	md_buf_puts(&r->err, "warn\n");
	md_buf_put(&r->writes, "w\0x", 3);
	r->exit.code = 3;
	r->exit.signal = 9;
	r->exit.timed_out = true;
	r->files = true;
	r->start = 1.5;
	r->end = 2.25;
	r->cut = 77;
	v[0].res = r;
	*n = 2;
	return v;
}

Test(store, snapshot_round_trip)
{
	struct md_buf b = MD_BUF_INIT;
	struct store_entry *v, *got;
	size_t n, ngot;

	v = snap_entries(&n);
	store_snap_encode(&b, v, n, 1 << 20);
	cr_assert_eq(store_snap_decode(&got, &ngot, b.ptr, b.len), 0);
	cr_assert_eq(ngot, 2);
	cr_assert_str_eq(got[0].key, v[0].key);
	cr_assert_str_eq(got[1].key, v[1].key);
	cr_assert_eq(got[0].n, 2);
	cr_assert_eq(got[1].n, 0);
	cr_assert_null(got[1].res);
	assert_same_runs(got[0].runs, got[0].n, v[0].runs, v[0].n);
	cr_assert_not_null(got[0].res);
	cr_assert_str_eq(got[0].res->rhash, v[0].runs[1].rhash);
	cr_assert_str_eq(got[0].res->out.ptr, "hello\n");
	cr_assert_str_eq(got[0].res->err.ptr, "warn\n");
	cr_assert_eq(got[0].res->writes.len, 3);
	cr_assert_eq(memcmp(got[0].res->writes.ptr, "w\0x", 3), 0);
	cr_assert_eq(got[0].res->outs.len, 0);
	cr_assert_eq(got[0].res->exit.code, 3);
	cr_assert_eq(got[0].res->exit.signal, 9);
	cr_assert(got[0].res->exit.timed_out && got[0].res->files);
	cr_assert_eq(got[0].res->start, 1.5);
	cr_assert_eq(got[0].res->end, 2.25);
	cr_assert_eq(got[0].res->cut, 77);
	store_entries_free(got, ngot);

	/* A row over the limit is left out: read when it is shown. */
	store_snap_encode(&b, v, n, 4);
	cr_assert_eq(store_snap_decode(&got, &ngot, b.ptr, b.len), 0);
	cr_assert_eq(got[0].n, 2);
	cr_assert_null(got[0].res, "a 14-byte row kept under a 4-byte limit");
	store_entries_free(got, ngot);
	store_entries_free(v, n);
	md_buf_dispose(&b);
}

/*
 * Every prefix, and every byte changed: refused whole (-1), or, where a
 * change leaves a snapshot of the format, decoded; never a crash (the
 * sanitizer build runs this too).
 */
Test(store, snapshot_damage_is_refused)
{
	struct md_buf b = MD_BUF_INIT;
	struct store_entry *v, *got;
	size_t n, ngot, refused = 0;

	v = snap_entries(&n);
	store_snap_encode(&b, v, n, 1 << 20);
	for (size_t len = 0; len < b.len; len++) {
		cr_assert_eq(store_snap_decode(&got, &ngot, b.ptr, len), -1,
			     "a snapshot cut to %zu of %zu bytes", len, b.len);
		cr_assert_null(got);
	}
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b.ptr[i] ^= (char)(1 << bit);
			if (store_snap_decode(&got, &ngot, b.ptr, b.len) < 0)
				refused++;
			else
				store_entries_free(got, ngot);
			b.ptr[i] ^= (char)(1 << bit);
		}
	}
	/* The magic, keys, hashes, counts and flags are checked. */
	cr_assert_gt(refused, b.len * 8 / 4, "%zu of %zu changes refused",
		     refused, b.len * 8);
	store_entries_free(v, n);
	md_buf_dispose(&b);
}
