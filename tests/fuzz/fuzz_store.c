/*
 * The store's readers on hostile rows and on a hostile database file. The
 * first byte of the input picks one of two modes; the rest is its data.
 *
 * Rows (the first byte even). The data is split at 0x1e bytes (ASCII
 * record separator) into six parts:
 *
 *   meta  stdout  stderr  fields  record  columns
 *
 * (without a separator, every part is the whole data). They become the
 * rows of a store made once per process, whose tables have the columns
 * mdrun makes, without NOT NULL or keys, as a crafted file may have
 * them. columns is words parted by white space, each an integer, a real,
 * "null" or else text:
 *
 *   key rhash files exit_code exit_signal timed_out start_time end_time
 *   cut, then seq ns rhash failed cut for each run (at most 8; none: one
 *   run 1 1 RHASH 0 0)
 *
 * Missing words are 0 (key: KEY, rhash: RHASH). The rows: real (key,
 * rhash, meta, stdout, stderr and the columns), drv (key and
 * KEY_NO_RUNS: fields), run (key and its columns), root (DOC and
 * DOC_GONE: record). Bits 1 to 3 of the first byte put meta, fields and
 * record in as blobs, bit 4 stdout as text: not the types mdrun writes.
 *
 * Database (the first byte odd). The data is ROOT/store.db of a second
 * store (VERSION 2), written with no store.db-wal or store.db-shm beside
 * it before store_open.
 *
 * Then either store goes through what a render, `mdrun store` and gc
 * read: the runs of DOC's root read ahead (store_root_keys,
 * store_prefetch), its snapshot kept (store_root_write) and read ahead
 * again, and for every key (store_keys; KEY and KEY_NO_RUNS
 * too) its runs, each of their realizations (store_read,
 * store_read_later and store_read_pending, store_meta_text), lookups,
 * its fields (store_drv) and size; then DOC's notes, store_verify and a
 * dry run of store_gc. Each must give a result, or an error with its
 * message set; never a crash or a hang.
 *
 * The seeds (corpus/fuzz_store/). rows-*: the parts of the sh-1 block of
 * samples/tour.md as an earlier mdrun stored it (KEY and RHASH below:
 * its fields hash to KEY, its outputs and exit record to RHASH), and
 * damaged variants of its meta, fields and record. real-*: the rows of a
 * store that rendered samples/tour.md, one seed per realization, and
 * db-*: that store's database; made with
 *
 *   S=$(mktemp -d) && cp samples/tour.md "$S" &&
 *   MDRUN_STORE=$S/store mdrun render "$S/tour.md" >/dev/null &&
 *   cd tests/fuzz/corpus/fuzz_store && sqlite3 "$S/store/store.db" "
 *     UPDATE root SET doc = '/';
 *     SELECT writefile('real-' || json_extract(real.meta, '$.name'),
 *       x'00' || CAST(real.meta AS BLOB) || x'1e' || real.stdout ||
 *       x'1e' || real.stderr || x'1e' || CAST(drv.fields AS BLOB) ||
 *       x'1e' || CAST(root.record AS BLOB) || x'1e' || CAST(printf(
 *       '%s %s %d %d %d %d %!.17g %!.17g %d', real.key, real.rhash,
 *       real.files, real.exit_code, real.exit_signal, real.timed_out,
 *       real.start_time, real.end_time, real.cut) ||
 *       (SELECT group_concat(printf(' %d %d %s %d %d', seq, ns, rhash,
 *       failed, cut), '') FROM run WHERE run.key = real.key AND
 *       run.rhash = real.rhash) AS BLOB))
 *     FROM real JOIN drv USING (key), root" >/dev/null &&
 *   { printf '\1'; cat "$S/store/store.db"; } >db-tour &&
 *   sqlite3 "$S/store/store.db" "PRAGMA journal_mode = DELETE;
 *     PRAGMA page_size = 512; VACUUM; PRAGMA journal_mode = WAL" \
 *     >/dev/null &&
 *   { printf '\1'; cat "$S/store/store.db"; } >db-tour-512
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fuzz.h"
#include "../../store/store.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"

#define PART 0x1e
#define NPARTS 6
#define MAX_RUNS 8
/* The words of columns before the runs': key, rhash, and real's columns. */
#define REAL_WORDS 9
/* At most this many keys, and runs of each, are read: inputs stay fast. */
#define MAX_READ 8

/*
 * The key of the `sh-1` block of samples/tour.md and the realization it
 * got, as in the rows-* seeds: their fields hash to the key, their
 * outputs and exit record to the rhash.
 */
#define KEY \
	"6c6b6cd35f17bb87f7ed923a17b096f15cffdc2387707ade8472657a9828f2ca"
#define RHASH \
	"fd31d0bf02edd8758fa3d7bbe884ef1e4f8c8a38ad8a9d98bf58d56f90919e49"
/* A key with fields and no runs, as a kill in `mdrun store rm` leaves it. */
#define KEY_NO_RUNS \
	"3965d1ddd6e5bf3328f0105e7d9452b299c19f1b71461ba50bc171d6cca1385c"
/*
 * Two documents with the record as their root: DOC is there (gc reads
 * its root), DOC_GONE is not (gc drops its root).
 */
#define DOC "/"
#define DOC_GONE "/mdrun-fuzz/tour.md"

/* The statements that put one input's rows in, prepared once. */
enum { PUT_DRV, PUT_REAL, PUT_RUN, PUT_ROOT, PUT_N };
static const char *const put_sql[PUT_N] = {
	[PUT_DRV] = "INSERT INTO drv (key, fields) VALUES (?1, ?2)",
	[PUT_REAL] = "INSERT INTO real (key, rhash, meta, stdout, stderr,"
		     " files, exit_code, exit_signal, timed_out, start_time,"
		     " end_time, cut) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		     " ?9, ?10, ?11, ?12)",
	[PUT_RUN] = "INSERT INTO run (key, seq, ns, rhash, failed, cut)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[PUT_ROOT] = "INSERT INTO root (doc, record) VALUES (?1, ?2)",
};

/* Mode rows: its store, and a connection of our own to its database. */
static struct store *rows_store;
static sqlite3 *rows_db;
static sqlite3_stmt *put[PUT_N];
/* Mode database: its root and its store.db. */
static char *db_root, *db_path;

/* Stops the run when setting up failed: the machine is at fault. */
static void
must(int rc)
{
	if (rc < 0)
		fuzz_fail(__FILE__, __LINE__, md_err_msg());
}

/* Runs sql on the rows store's database, or aborts. */
static void
must_sql(const char *sql)
{
	if (sqlite3_exec(rows_db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(rows_db));
}

/* At exit: what setup made, closed. */
static void
close_all(void)
{
	for (int i = 0; i < PUT_N; i++)
		sqlite3_finalize(put[i]);
	sqlite3_close(rows_db);
	store_close(rows_store);
	free(db_root);
	free(db_path);
}

/* objects/RHASH under root: the artifacts of a realization with files. */
static void
make_object(const char *root)
{
	struct md_buf p = MD_BUF_INIT;

	md_buf_printf(&p, "%s/objects/" RHASH "/sub", root);
	must(md_fs_mkdirs(p.ptr, 0755));
	md_buf_puts(&p, "/f.txt");
	fuzz_write(p.ptr, "deep\n", 5);
	md_buf_dispose(&p);
}

/*
 * The two stores. The rows store is made by store_open, then each table
 * is made again as a crafted file may have it: the same columns (and
 * types), without NOT NULL or keys.
 */
static void
setup(void)
{
	static const char *const tables[] = { "drv", "real", "run", "root" };
	char *root = md_path_join(fuzz_scratch(), "rows");
	char *path;

	must(store_open(&rows_store, root));
	atexit(close_all);
	make_object(root);
	path = md_path_join(root, "store.db");
	if (sqlite3_open_v2(path, &rows_db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(rows_db));
	free(path);
	free(root);
	must_sql("PRAGMA synchronous = OFF");
	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
		char *sql = sqlite3_mprintf(
			"ALTER TABLE %s RENAME TO strict;"
			"CREATE TABLE %s AS SELECT * FROM strict;"
			"DROP TABLE strict;",
			tables[i], tables[i]);
		must_sql(sql);
		sqlite3_free(sql);
	}
	for (int i = 0; i < PUT_N; i++)
		if (sqlite3_prepare_v2(rows_db, put_sql[i], -1, &put[i],
				       NULL) != SQLITE_OK)
			fuzz_fail(__FILE__, __LINE__, sqlite3_errmsg(rows_db));

	db_root = md_path_join(fuzz_scratch(), "db");
	must(md_fs_mkdirs(db_root, 0755));
	path = md_path_join(db_root, "VERSION");
	fuzz_write(path, "2\n", 2);
	free(path);
	make_object(db_root);
	db_path = md_path_join(db_root, "store.db");
}

/* Part i of s[0, n) split at PART; the whole of it when it has none. */
static void
part(const char **p, size_t *len, const char *s, size_t n, int i)
{
	const char *end;

	*p = s;
	*len = n;
	if (!memchr(s, PART, n))
		return;
	for (; i > 0; i--) {
		end = memchr(*p, PART, *len);
		if (!end) {
			*len = 0;
			return;
		}
		*len -= (size_t)(end - *p) + 1;
		*p = end + 1;
	}
	end = memchr(*p, PART, *len);
	if (end)
		*len = (size_t)(end - *p);
}

/* The words of the columns part, in order. */
struct words {
	const char *p[REAL_WORDS + 5 * MAX_RUNS];
	size_t len[REAL_WORDS + 5 * MAX_RUNS];
	size_t n;
};

/* White space between the words of columns. */
static bool
space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Splits s[0, n) into words at white space; the first ones only. */
static void
split_words(struct words *w, const char *s, size_t n)
{
	size_t i = 0, max = sizeof(w->p) / sizeof(*w->p);

	w->n = 0;
	while (w->n < max) {
		while (i < n && space(s[i]))
			i++;
		if (i == n)
			break;
		w->p[w->n] = s + i;
		while (i < n && !space(s[i]))
			i++;
		w->len[w->n] = (size_t)(s + i - w->p[w->n]);
		w->n++;
	}
}

/*
 * Binds word k of w to parameter idx of st: an integer, a real, NULL
 * ("null") or text, as it reads; dflt (text when it is not a number)
 * when there is no word k.
 */
static void
bind_word(sqlite3_stmt *st, int idx, const struct words *w, size_t k,
	  const char *dflt)
{
	char buf[64], *end;
	const char *p = k < w->n ? w->p[k] : dflt;
	size_t len = k < w->n ? w->len[k] : strlen(dflt);
	long long i;
	double d;

	if (len == 4 && !memcmp(p, "null", 4)) {
		sqlite3_bind_null(st, idx);
		return;
	}
	if (len > 0 && len < sizeof(buf)) {
		memcpy(buf, p, len);
		buf[len] = '\0';
		i = strtoll(buf, &end, 10);
		if (!*end) {
			sqlite3_bind_int64(st, idx, i);
			return;
		}
		d = strtod(buf, &end);
		if (!*end) {
			sqlite3_bind_double(st, idx, d);
			return;
		}
	}
	sqlite3_bind_text(st, idx, p, (int)len, SQLITE_STATIC);
}

/* Binds n bytes at p to parameter idx of st, as a blob or as text. */
static void
bind_bytes(sqlite3_stmt *st, int idx, const char *p, size_t n, bool blob)
{
	if (blob)
		sqlite3_bind_blob(st, idx, p, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, idx, p, (int)n, SQLITE_STATIC);
}

/* Steps and resets st, one of put[]; a row refused is fine. */
static void
put_row(sqlite3_stmt *st)
{
	sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Mode rows: the input's parts replace every row of the rows store. */
static void
put_rows(unsigned flags, const char *s, size_t n)
{
	const char *p[NPARTS];
	size_t len[NPARTS], runs, r;
	struct words w;

	for (int i = 0; i < NPARTS; i++)
		part(&p[i], &len[i], s, n, i);
	split_words(&w, p[5], len[5]);
	must_sql("BEGIN; DELETE FROM drv; DELETE FROM real; DELETE FROM run;"
		 " DELETE FROM root;");
	for (int i = 0; i < 2; i++) {
		if (i)
			sqlite3_bind_text(put[PUT_DRV], 1, KEY_NO_RUNS, -1,
					  SQLITE_STATIC);
		else
			bind_word(put[PUT_DRV], 1, &w, 0, KEY);
		bind_bytes(put[PUT_DRV], 2, p[3], len[3], flags & 4);
		put_row(put[PUT_DRV]);
	}
	bind_word(put[PUT_REAL], 1, &w, 0, KEY);
	bind_word(put[PUT_REAL], 2, &w, 1, RHASH);
	bind_bytes(put[PUT_REAL], 3, p[0], len[0], flags & 2);
	bind_bytes(put[PUT_REAL], 4, p[1], len[1], !(flags & 16));
	bind_bytes(put[PUT_REAL], 5, p[2], len[2], true);
	for (int c = 2; c < REAL_WORDS; c++)
		bind_word(put[PUT_REAL], 4 + c, &w, (size_t)c, "0");
	put_row(put[PUT_REAL]);
	runs = w.n > REAL_WORDS ? (w.n - REAL_WORDS + 4) / 5 : 1;
	for (r = 0; r < runs; r++) {
		size_t k = REAL_WORDS + 5 * r;
		bind_word(put[PUT_RUN], 1, &w, 0, KEY);
		bind_word(put[PUT_RUN], 2, &w, k, "1");
		bind_word(put[PUT_RUN], 3, &w, k + 1, "1");
		bind_word(put[PUT_RUN], 4, &w, k + 2, RHASH);
		bind_word(put[PUT_RUN], 5, &w, k + 3, "0");
		bind_word(put[PUT_RUN], 6, &w, k + 4, "0");
		put_row(put[PUT_RUN]);
	}
	for (int i = 0; i < 2; i++) {
		sqlite3_bind_text(put[PUT_ROOT], 1, i ? DOC_GONE : DOC, -1,
				  SQLITE_STATIC);
		bind_bytes(put[PUT_ROOT], 2, p[4], len[4], flags & 8);
		put_row(put[PUT_ROOT]);
	}
	must_sql("COMMIT");
}

/*
 * rc, the result of a call: an error has its message set (MD_ENOTFOUND
 * may have none). CALL clears the message first.
 */
static int
said(int rc)
{
	FUZZ_CHECK(rc >= 0 || rc == MD_ENOTFOUND || *md_err_msg());
	return rc;
}
#define CALL(expr) (md_err_clear(), said(expr))

/* 64 lowercase hex digits and nothing else. */
static bool
is_hash(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* What a realization read holds: a NUL after each output, a sane record. */
static void
check_real(const struct store_real *r)
{
	FUZZ_CHECK(r->path && r->out.ptr && r->err.ptr);
	FUZZ_CHECK(r->out.ptr[r->out.len] == '\0');
	FUZZ_CHECK(r->err.ptr[r->err.len] == '\0');
	FUZZ_CHECK(r->exit.code >= -65535 && r->exit.code <= 65535);
	FUZZ_CHECK(r->exit.signal >= -65535 && r->exit.signal <= 65535);
	store_real_failed(r);
}

/* Reads key as a render and `mdrun store show` do. */
static void
read_key(struct store *s, const char *key)
{
	struct store_run *runs = NULL;
	struct store_real r;
	struct md_buf b = MD_BUF_INIT;
	size_t n = 0, i;

	if (CALL(store_runs(&runs, &n, s, key)) == 0) {
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(is_hash(runs[i].rhash));
			FUZZ_CHECK(runs[i].seq > 0);
			FUZZ_CHECK(!i || runs[i].seq >= runs[i - 1].seq);
		}
		for (i = 0; i < n && i < MAX_READ; i++) {
			if (CALL(store_read(&r, s, key, runs[i].rhash)) == 0) {
				check_real(&r);
				store_real_dispose(&r);
			}
			CALL(store_meta_text(&b, s, key, runs[i].rhash));
			md_buf_clear(&b);
		}
	}
	store_read_later(&r, s, key, n ? runs[n - 1].rhash : RHASH);
	if (CALL(store_read_pending(&r)) == 0)
		check_real(&r);
	store_real_dispose(&r); /* read or not, r holds its path */
	free(runs);
	if (CALL(store_lookup(&r, s, key, STORE_FIRST, true)) == 0) {
		check_real(&r);
		store_real_dispose(&r);
	}
	if (CALL(store_lookup(&r, s, key, STORE_LATEST, false)) == 0) {
		check_real(&r);
		store_real_dispose(&r);
	}
	CALL(store_drv(&b, s, key));
	md_buf_dispose(&b);
	store_key_size(s, key);
}

/* store_verify's reports, counted at ctx. */
static void
report(const char *path, const char *what, void *ctx)
{
	FUZZ_CHECK(path && what);
	(*(size_t *)ctx)++;
}

/* store_gc's reports. */
static void
say(const char *what, void *ctx)
{
	FUZZ_CHECK(what);
	(void)ctx;
}

/* Everything a render, `mdrun store` and gc read of s. */
static void
read_store(struct store *s)
{
	char (*rooted)[MD_HASH_HEX] = NULL, **keys = NULL;
	size_t nrooted = 0, nkeys = 0, bad = 0, reports = 0, i;
	struct store_gc_opts gc = { .dry_run = true, .keep_last = 1 };
	struct store_gc_stats stats;
	struct md_buf b = MD_BUF_INIT;

	/* The root's keys read ahead, as a render does; else nothing. */
	if (CALL(store_root_keys(&rooted, &nrooted, s, DOC)) == 0) {
		CALL(store_prefetch(s, DOC, rooted, nrooted));
		/* Its snapshot kept, then read back as the next render would. */
		if (CALL(store_root_write(s, DOC, rooted, nrooted, NULL, NULL)) == 0)
			CALL(store_prefetch(s, DOC, rooted, nrooted));
	} else {
		CALL(store_prefetch(s, DOC, NULL, 0));
	}
	for (i = 0; i < nrooted; i++)
		FUZZ_CHECK(is_hash(rooted[i]));
	free(rooted);
	if (CALL(store_keys(&keys, &nkeys, s)) == 0)
		for (i = 0; i < nkeys && i < MAX_READ; i++) {
			FUZZ_CHECK(is_hash(keys[i]));
			read_key(s, keys[i]);
		}
	store_keys_free(keys, nkeys);
	read_key(s, KEY);
	read_key(s, KEY_NO_RUNS);
	CALL(store_root_notes(&b, s, DOC));
	md_buf_dispose(&b);
	if (CALL(store_verify(&bad, s, report, &reports)) == 0)
		FUZZ_CHECK(bad == reports);
	CALL(store_gc(&stats, s, &gc, say, NULL));
}

/* Mode database: the data is store.db; opened afresh. */
static void
read_db(const char *s, size_t n)
{
	struct md_buf p = MD_BUF_INIT;
	struct store *store = NULL;

	for (int i = 0; i < 2; i++) {
		md_buf_clear(&p);
		md_buf_printf(&p, "%s-%s", db_path, i ? "shm" : "wal");
		unlink(p.ptr);
	}
	md_buf_dispose(&p);
	fuzz_write(db_path, s, n);
	if (CALL(store_open(&store, db_root)) == 0)
		read_store(store);
	store_close(store);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size == 0)
		return 0;
	if (!rows_store)
		setup();
	if (data[0] & 1) {
		read_db(s, size - 1);
	} else {
		put_rows(data[0], s, size - 1);
		read_store(rows_store);
	}
	md_err_clear();
	return 0;
}
