#define _GNU_SOURCE /* syncfs */
#include <limits.h>
#include "store.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../util/crash.h"
#include "../util/err.h"
#include "../util/fs.h"

/* How long a connection waits for another's write lock (ms). */
#define BUSY_MS 600000

static const char cachedir_tag[] =
	"Signature: 8a477f597d28d172789f06886806bc55\n"
	"# This file is a cache directory tag created by mdrun.\n"
	"# For information about cache directory tags see "
	"https://bford.info/cachedir/\n";

/*
 * The format ROOT/VERSION gives: 0 when there is none (a new store), else
 * 1 or 2; a newer one is an error.
 */
static int
read_version(const char *root, int *out)
{
	struct md_buf buf = MD_BUF_INIT;
	char *path = md_path_join(root, "VERSION");
	int rc = md_fs_read_regular(&buf, path, 64);

	*out = 0;
	if (rc == MD_ENOTFOUND) {
		rc = 0;
	} else if (rc == 0) {
		long v = strtol(buf.ptr, NULL, 10);
		if (v <= 0)
			rc = md_err_set("%s: not an mdrun store version", path);
		else if (v > STORE_VERSION)
			rc = md_err_set("%s: store format %ld is newer than "
					"this mdrun reads (%d); upgrade mdrun "
					"or use another --store",
					path, v, STORE_VERSION);
		else
			*out = (int)v;
	}
	free(path);
	md_buf_dispose(&buf);
	return rc;
}

static int
write_version(const char *root)
{
	char *path = md_path_join(root, "VERSION"), v[16];
	int n = snprintf(v, sizeof(v), "%d\n", STORE_VERSION);
	int rc = md_fs_write_atomic(path, v, (size_t)n, 0444);

	free(path);
	return rc;
}

/* Whether name, in tmp/, is an older mdrun's PID-N-T whose PID is gone. */
static bool
legacy_dead(const char *name)
{
	char *end;
	long pid = strtol(name, &end, 10);

	if (pid <= 0 || *end != '-' || !isdigit((unsigned char)end[1]))
		return false;
	return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 &&
	       errno == ESRCH;
}

/* The length of the OWNER part of name (OWNER-N, OWNER.lock), or 0. */
static size_t
owner_len(const char *name)
{
	const char *dash = strchr(name, '-');

	if (!dash || dash == name || dash[1] != 'o')
		return 0;
	return (size_t)(strcspn(dash + 1, "-.") + 1 + (size_t)(dash - name));
}

/*
 * Removes what dead owners left in tmp/. An owner is alive while it holds
 * the flock of its OWNER.lock: that, not a PID, says so, since a process
 * in another PID namespace (a second container on the same volume) has
 * PIDs this one cannot see. A folder without its OWNER.lock goes (its
 * owner closed the store, or the sweep that removed the lock was killed
 * before it was done). The lock file goes last, while locked here, so an
 * owner that was just starting sees it gone (store_tmp_dir).
 */
static void
sweep_tmp(struct store *s)
{
	DIR *d = opendir(s->tmp);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i, j;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			md_strv_push(&names, &n, md_strdup(e->d_name));
	closedir(d);
	for (i = 0; i < n; i++) {
		size_t len = owner_len(names[i]);
		char *lock;
		int fd;

		if (!len || strcmp(names[i] + len, ".lock") ||
		    (s->owner && !strncmp(names[i], s->owner, len)))
			continue;
		lock = md_path_join(s->tmp, names[i]);
		fd = open(lock, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			for (j = 0; j < n; j++) {
				if (j == i || names[j][len] != '-' ||
				    strncmp(names[j], names[i], len))
					continue;
				char *p = md_path_join(s->tmp, names[j]);
				md_fs_rmtree_quiet(p);
				free(p);
			}
			unlink(lock);
		}
		if (fd >= 0)
			close(fd);
		free(lock);
	}
	for (i = 0; i < n; i++) {
		size_t len = owner_len(names[i]);
		char *p = md_path_join(s->tmp, names[i]);
		bool gone = false;

		if (len && names[i][len] == '-') {
			struct md_buf lock = MD_BUF_INIT;
			md_buf_printf(&lock, "%s/%.*s.lock", s->tmp, (int)len,
				      names[i]);
			gone = !md_fs_exists(lock.ptr);
			md_buf_dispose(&lock);
		} else if (!len) {
			gone = legacy_dead(names[i]);
		}
		if (gone)
			md_fs_rmtree_quiet(p);
		free(p);
	}
	md_strv_free(names);
}

/*
 * The schema, PRAGMA user_version 5 (2 lacked real.outputs, 3 real.reads,
 * real.writes and blob, 4 snap and generation, added when such a store
 * is opened). Hashes are lowercase hex text, so
 * `sqlite3 store.db` shows them as mdrun prints them.
 *
 *   drv   the fields of each key, as store_drv_json's text
 *   real  each realization of a key: its meta JSON (exit record, times,
 *         sizes, provenance), stdout and stderr, whether objects/RHASH
 *         holds its artifacts, and what a render needs of the meta
 *         (exit code and signal, timed out, start and end in seconds,
 *         the cap an output was cut at) as columns, so reading a
 *         realization parses no JSON; outputs is the ordered output list
 *         (store_outputs below), empty when the run gave only stdout
 *         then stderr
 *   run   each run of a key: seq numbers them in the order this store
 *         committed them (a pulled one gets the next when it is pulled),
 *         ns is when it ran (a pulled one: its start), cut the cap an
 *         output was cut at (0: whole). Which realization each run
 *         produced, so "latest", "first" and run counts hold when equal
 *         runs share a realization.
 *   root  the keys one document's last render used, and its notes: a
 *         JSON record {"fingerprint", "version", "document", "keys",
 *         "notes"}; the fingerprint, first, is the caller's hash of all
 *         it says (store_root_keep)
 *   memo  small named values: interpreter identities
 *   blob  the contents of files runs wrote (real.writes names them by
 *         hash), each once, so a cache hit can write them back
 *   stat  the stat cache: a file's path, what stat(2) said of it when
 *         its SHA-256 was taken, and that hash
 *   snap  each document's snapshot (snap.c): what its last render read
 *         of the store, and the generation it was read at
 *   generation
 *         one row, n: incremented by each transaction that adds or
 *         removes runs or realizations (store_bump); a snapshot of
 *         another number is stale
 */
/* The tables schema 4 added. */
#define TABLES_4 \
	"CREATE TABLE IF NOT EXISTS blob (" \
	" hash TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS stat (" \
	" path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL," \
	" size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL," \
	" ctime_ns INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID;"
/* And those 5 added. */
#define TABLES_5 \
	"CREATE TABLE IF NOT EXISTS snap (" \
	" doc TEXT PRIMARY KEY, gen INTEGER NOT NULL, data BLOB NOT NULL);" \
	"CREATE TABLE IF NOT EXISTS generation (n INTEGER NOT NULL);" \
	"INSERT INTO generation (n) SELECT 1" \
	" WHERE NOT EXISTS (SELECT 1 FROM generation);"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS drv ("
	" key TEXT PRIMARY KEY, fields TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS real ("
	" key TEXT NOT NULL, rhash TEXT NOT NULL, meta TEXT NOT NULL,"
	" stdout BLOB NOT NULL, stderr BLOB NOT NULL,"
	" files INTEGER NOT NULL, exit_code INTEGER NOT NULL,"
	" exit_signal INTEGER NOT NULL, timed_out INTEGER NOT NULL,"
	" start_time REAL NOT NULL, end_time REAL NOT NULL,"
	" cut INTEGER NOT NULL, outputs BLOB NOT NULL DEFAULT x'',"
	" reads BLOB NOT NULL DEFAULT x'', writes BLOB NOT NULL DEFAULT x'',"
	" PRIMARY KEY (key, rhash));"
	"CREATE TABLE IF NOT EXISTS run ("
	" key TEXT NOT NULL, seq INTEGER NOT NULL, ns INTEGER NOT NULL,"
	" rhash TEXT NOT NULL, failed INTEGER NOT NULL,"
	" cut INTEGER NOT NULL, PRIMARY KEY (key, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS root ("
	" doc TEXT PRIMARY KEY, record TEXT NOT NULL);"
	TABLES_4
	TABLES_5
	"CREATE TABLE IF NOT EXISTS memo ("
	" name TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"PRAGMA user_version = 5;";

/* A store of schema 2 or 3 gets what 3 and 4 add: no row changes. */
static const char schema_2_to_3[] =
	"ALTER TABLE real ADD COLUMN outputs BLOB NOT NULL DEFAULT x'';";
static const char schema_3_to_4[] =
	"ALTER TABLE real ADD COLUMN reads BLOB NOT NULL DEFAULT x'';"
	"ALTER TABLE real ADD COLUMN writes BLOB NOT NULL DEFAULT x'';"
	TABLES_4
	"PRAGMA user_version = 4;";
static const char schema_4_to_5[] = TABLES_5 "PRAGMA user_version = 5;";

/* A snapshot's number, and a document's snapshot. */
#define SQL_GEN "SELECT n FROM generation"
#define SQL_SNAP "SELECT gen, data FROM snap WHERE doc = ?1"

/* The SQL of each enum store_stmt. */
static const char *const stmt_sql[STORE_STMT_N] = {
	[STMT_RUNS] = "SELECT r.seq, r.ns, r.rhash, r.failed, r.cut,"
		      " length(x.reads), length(x.writes) FROM run AS r"
		      " JOIN real AS x"
		      " ON x.key = r.key AND x.rhash = r.rhash"
		      " WHERE r.key = ?1 ORDER BY r.seq",
	[STMT_REAL] = "SELECT meta, stdout, stderr, files, outputs, reads,"
		      " writes FROM real"
		      " WHERE key = ?1 AND rhash = ?2",
	[STMT_RESULT] = "SELECT stdout, stderr, files, exit_code,"
			" exit_signal, timed_out, start_time, end_time, cut,"
			" outputs, reads, writes FROM real WHERE key = ?1"
			" AND rhash = ?2",
	[STMT_PUT_BLOB] = "INSERT OR IGNORE INTO blob (hash, data)"
			  " VALUES (?1, ?2)",
	[STMT_BLOB] = "SELECT data FROM blob WHERE hash = ?1",
	[STMT_PUT_DRV] = "INSERT OR IGNORE INTO drv (key, fields)"
			 " VALUES (?1, ?2)",
	[STMT_PUT_REAL] = "INSERT OR IGNORE INTO real (key, rhash, meta,"
			  " stdout, stderr, files, exit_code, exit_signal,"
			  " timed_out, start_time, end_time, cut, outputs,"
			  " reads, writes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			  " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	/* Prepared once too: parsing them cost more than running them. */
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_BUMP] = "UPDATE generation SET n = n + 1",
	[STMT_PUT_RUN] = "INSERT OR IGNORE INTO run (key, seq, ns, rhash,"
			 " failed, cut) VALUES (?1, CASE WHEN ?2 > 0 THEN ?2"
			 " ELSE (SELECT COALESCE(MAX(seq), 0) + 1 FROM run"
			 " WHERE key = ?1) END, ?3, ?4, ?5, ?6)",
};

int
store_db_err(struct store *s, const char *what)
{
	/*
	 * "disk I/O error" says little: the system's reason says more, and
	 * a short write (SQLite keeps no errno for it) is a full disk or a
	 * file size limit.
	 */
	int e = s->db ? sqlite3_system_errno(s->db) : 0;
	int ext = s->db ? sqlite3_extended_errcode(s->db) : 0;

	if (e && (ext & 0xff) == SQLITE_IOERR)
		return md_err_set("%s: %s: %s", s->db_path, what,
				  strerror(e));
	if (ext == SQLITE_IOERR_WRITE || ext == SQLITE_FULL)
		return md_err_set("%s: %s: the disk is full or a file size "
				  "limit was reached",
				  s->db_path, what);
	return md_err_set("%s: %s: %s", s->db_path, what,
			  s->db ? sqlite3_errmsg(s->db) : "cannot open");
}

sqlite3_stmt *
store_prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_db_err(s, "cannot read");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *
store_query(struct store *s, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = store_prepare(s, sql);

	if (st && ((a && sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC)) ||
		   (b && sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC)))) {
		store_db_err(s, "binding a statement");
		sqlite3_finalize(st);
		st = NULL;
	}
	return st;
}

sqlite3_stmt *
store_stmt(struct store *s, enum store_stmt which)
{
	sqlite3_stmt **st = &s->stmt[which];

	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
		return *st;
	}
	if (sqlite3_prepare_v3(s->db, stmt_sql[which], -1,
			       SQLITE_PREPARE_PERSISTENT, st,
			       NULL) != SQLITE_OK) {
		store_db_err(s, "cannot read");
		*st = NULL;
	}
	return *st;
}

static int
exec_sql(struct store *s, const char *sql, const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_err(s, what);
	return 0;
}

/* Runs statement which, one that returns no rows. */
static int
step_stmt(struct store *s, enum store_stmt which, const char *what)
{
	sqlite3_stmt *st = store_stmt(s, which);

	if (!st)
		return MD_ERROR;
	if (sqlite3_step(st) != SQLITE_DONE) {
		int rc = store_db_err(s, what);
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return 0;
}

int
store_begin(struct store *s, bool write)
{
	int rc;

	pthread_mutex_lock(&s->db_mu);
	rc = step_stmt(s, write ? STMT_BEGIN_WRITE : STMT_BEGIN,
		       write ? "cannot write" : "cannot read");
	if (rc < 0)
		pthread_mutex_unlock(&s->db_mu);
	return rc;
}

int
store_begin_now(struct store *s)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->db_mu);
	if (!(st = store_stmt(s, STMT_BEGIN_WRITE))) {
		pthread_mutex_unlock(&s->db_mu);
		return MD_ERROR;
	}
	sqlite3_busy_timeout(s->db, 0);
	rc = sqlite3_step(st);
	sqlite3_busy_timeout(s->db, BUSY_MS);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	rc = rc == SQLITE_BUSY ? STORE_BUSY : store_db_err(s, "cannot write");
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

int
store_end(struct store *s, int rc)
{
	for (int i = 0; i < STORE_STMT_N; i++)
		if (s->stmt[i])
			sqlite3_reset(s->stmt[i]);
	if (rc >= 0) {
		int r = step_stmt(s, STMT_COMMIT, "cannot write");
		if (r < 0) {
			rc = r;
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		}
	} else if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

bool
store_col_hash(char out[MD_HASH_HEX], sqlite3_stmt *st, int col)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT ||
	    sqlite3_column_bytes(st, col) != MD_HASH_HEX - 1 ||
	    !(t = sqlite3_column_text(st, col)))
		return false;
	memcpy(out, t, MD_HASH_HEX);
	return store_is_hash(out);
}

/*
 * Whether the database holds the five tables, as tables, and nothing
 * that runs code on a read or a write (views, triggers): a crafted file
 * is refused at once, in one line.
 */
static int
check_schema(struct store *s)
{
	sqlite3_stmt *st = store_prepare(
		s, "SELECT count(*) FILTER (WHERE type = 'table' AND name IN"
		   " ('drv', 'real', 'run', 'root', 'memo')),"
		   " count(*) FILTER (WHERE type IN ('view', 'trigger'))"
		   " FROM sqlite_schema");
	int rc = 0;

	if (!st)
		return MD_ERROR;
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = store_db_err(s, "cannot read");
	else if (sqlite3_column_int(st, 0) != 5 ||
		 sqlite3_column_int(st, 1) != 0)
		rc = md_err_set("%s: not an mdrun store database (its tables "
				"are not mdrun's); move it away or use another "
				"--store",
				s->db_path);
	sqlite3_finalize(st);
	return rc;
}

/* Whether the columns a render reads are there (a crafted file). */
static int
check_columns(struct store *s)
{
	const char *const sql[] = { stmt_sql[STMT_RESULT], SQL_GEN, SQL_SNAP };

	for (size_t i = 0; i < sizeof(sql) / sizeof(*sql); i++) {
		sqlite3_stmt *st = NULL;
		int ok = sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL);

		sqlite3_finalize(st);
		if (ok != SQLITE_OK)
			return md_err_set("%s: not an mdrun store database "
					  "(its columns are not mdrun's); "
					  "move it away or use another "
					  "--store",
					  s->db_path);
	}
	return 0;
}

static int
schema_version(struct store *s)
{
	sqlite3_stmt *st = store_prepare(s, "PRAGMA user_version");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Opens ROOT/store.db (creating it), in WAL mode, and makes its schema
 * when it has none. A file that is not a database, or one of another
 * schema, is an error.
 */
static int
open_db(struct store *s)
{
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int rc = 0, version = -1, tables = 0;

	/* SQLite's words for a fifo or a device ("Illegal seek") say less. */
	if (lstat(s->db_path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return md_err_set("%s: not a regular file; move it away or use "
				  "another --store",
				  s->db_path);
	if (sqlite3_open_v2(s->db_path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX |
				    SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK)
		return store_db_err(s, "cannot open");
	sqlite3_busy_timeout(s->db, BUSY_MS);
	/*
	 * A crafted file may not change what the schema does: a view or a
	 * trigger in it (a "table" that recurses without end) is refused.
	 */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	/*
	 * Another program's database is refused before anything is
	 * written to it, WAL mode included: a schema version not ours, or
	 * none with tables in it.
	 */
	if (!(st = store_prepare(s, "SELECT user_version, (SELECT count(*)"
				    " FROM sqlite_schema)"
				    " FROM pragma_user_version")))
		return MD_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW) {
		version = sqlite3_column_int(st, 0);
		tables = sqlite3_column_int(st, 1);
	} else {
		rc = store_db_err(s, "cannot read");
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	if (version != 0 && (version < 2 || version > 5))
		return md_err_set("%s: not an mdrun store database (schema "
				  "%d); move it away or use another --store",
				  s->db_path, version);
	if (version == 0 && tables)
		return md_err_set("%s: not an mdrun store database (it holds "
				  "another program's tables); move it away or "
				  "use another --store",
				  s->db_path);
	if ((rc = exec_sql(s, "PRAGMA journal_mode = WAL;"
			      "PRAGMA synchronous = NORMAL;",
			   "cannot open")) < 0)
		return rc;
	if (version >= 2 && (rc = check_schema(s)) < 0)
		return rc;
	if (version == 5)
		return check_columns(s);
	pthread_mutex_lock(&s->db_mu);
	rc = exec_sql(s, "BEGIN IMMEDIATE", "cannot write");
	/* Another process may have done it since the version was read. */
	if (rc == 0 && version == 2 && schema_version(s) == 2)
		rc = exec_sql(s, schema_2_to_3, "cannot write");
	if (rc == 0 && version >= 2 && version <= 3 &&
	    schema_version(s) == version)
		rc = exec_sql(s, schema_3_to_4, "cannot write");
	if (rc == 0 && version >= 2 && version <= 4 && schema_version(s) == 4)
		rc = exec_sql(s, schema_4_to_5, "cannot write");
	else if (rc == 0 && version == 0)
		rc = exec_sql(s, schema, "cannot write");
	if (rc == 0)
		rc = exec_sql(s, "COMMIT", "cannot write");
	else
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

/*
 * Brings the store to format 2. A new one says so: VERSION is written
 * whole or not at all, and as the same bytes by whoever does it. A v1 one
 * is migrated once, under the store-wide lock held exclusively, and a
 * second process finds it done. That lock is only tried, and VERSION read
 * again while another holds it: a render holds it shared for as long as
 * it runs, and a store migrated since VERSION was read needs nothing more.
 */
static int
upgrade(struct store *s, int version)
{
	char *path;
	int rc = 0, fd = -1;

	if (version == 0)
		return write_version(s->root);
	path = md_path_join(s->locks, "gc");
	while (rc == 0 && version == 1) {
		if (fd < 0 &&
		    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
			rc = md_err_sys("%s", path);
		} else if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if ((rc = read_version(s->root, &version)) == 0 &&
			    version == 1)
				rc = store_migrate_v1(s);
			break;
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = md_err_sys("%s: flock", path);
		} else if ((rc = read_version(s->root, &version)) == 0 &&
			   version == 1) {
			usleep(10000);
		}
	}
	if (fd >= 0)
		close(fd); /* releases the flock */
	free(path);
	return rc;
}

static int lock_file(const char *path, int how);

/*
 * open_db, one process at a time while the store may still be without a
 * database or one in WAL mode (VERSION below 2, or no store.db): SQLite
 * answers "database is locked" at once, without waiting, to a second
 * process switching it to WAL. The lock is held for that only, never by
 * a render.
 */
static int
open_new_db(struct store *s, int version)
{
	char *path;
	int lock, rc;

	if (version == STORE_VERSION && md_fs_exists(s->db_path))
		return open_db(s);
	path = md_path_join(s->locks, "open");
	lock = lock_file(path, LOCK_EX);
	free(path);
	if (lock < 0)
		return lock;
	rc = open_db(s);
	close(lock);
	return rc;
}

int
store_open(struct store **out, const char *root)
{
	struct store *s = md_calloc(1, sizeof(*s));
	char *tag = NULL, abs[PATH_MAX];
	int rc, version;

	*out = NULL;
	s->owner_fd = -1;
	pthread_mutex_init(&s->owner_mu, NULL);
	pthread_mutex_init(&s->db_mu, NULL);
	/*
	 * Absolute: sessions hand these paths to interpreters whose blocks
	 * may change folder.
	 */
	if ((rc = md_fs_mkdirs(root, 0755)) < 0)
		goto done;
	if (!realpath(root, abs)) {
		rc = md_err_sys("%s", root);
		goto done;
	}
	s->root = md_strdup(abs);
	root = s->root;
	s->db_path = md_path_join(root, "store.db");
	s->objects = md_path_join(root, "objects");
	s->tmp = md_path_join(root, "tmp");
	s->locks = md_path_join(root, "locks");
	/* A newer format is refused before anything is written. */
	if ((rc = read_version(root, &version)) < 0 ||
	    (rc = md_fs_mkdirs(s->objects, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->tmp, 0755)) < 0 ||
	    (rc = md_fs_mkdirs(s->locks, 0755)) < 0 ||
	    (rc = open_new_db(s, version)) < 0 ||
	    (rc = upgrade(s, version)) < 0)
		goto done;
	tag = md_path_join(root, "CACHEDIR.TAG");
	if (!md_fs_exists(tag) &&
	    (rc = md_fs_write_atomic(tag, cachedir_tag,
				     sizeof(cachedir_tag) - 1, 0444)) < 0)
		goto done;
	/* git ignores the store wherever it is (.mdrun at a repo's root). */
	free(tag);
	tag = md_path_join(root, ".gitignore");
	if (!md_fs_exists(tag) &&
	    (rc = md_fs_write_atomic(tag, "*\n", 2, 0444)) < 0)
		goto done;
	sweep_tmp(s);
done:
	free(tag);
	if (rc < 0) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void cache_free(struct store_cache *c);
static char *owner_lock(const struct store *s);

/*
 * Kept owners (store_keep_owners): a closed store's claim on its tmp/
 * folders, held while one of them is there.
 */
static bool keep_owners;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kept {
	char *lock, *tmp, *owner;
	int fd;
} *kept;
static size_t nkept;

void
store_keep_owners(bool on)
{
	keep_owners = on;
}

/* Does a folder of owner's remain in tmp? */
static bool
owner_has_folders(const char *tmp, const char *owner)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	size_t len = strlen(owner);
	bool any = false;

	if (!d)
		return false;
	while (!any && (e = readdir(d)))
		any = !strncmp(e->d_name, owner, len) && e->d_name[len] == '-';
	closedir(d);
	return any;
}

static void
keep_owner(struct store *s)
{
	size_t i = 0;

	pthread_mutex_lock(&kept_mu);
	/* Those whose folders are all gone let go now. */
	while (i < nkept) {
		if (owner_has_folders(kept[i].tmp, kept[i].owner)) {
			i++;
			continue;
		}
		unlink(kept[i].lock);
		close(kept[i].fd);
		free(kept[i].lock);
		free(kept[i].tmp);
		free(kept[i].owner);
		kept[i] = kept[--nkept];
	}
	kept = md_realloc(kept, (nkept + 1) * sizeof(*kept));
	kept[nkept].lock = owner_lock(s);
	kept[nkept].tmp = md_strdup(s->tmp);
	kept[nkept].owner = s->owner;
	kept[nkept].fd = s->owner_fd;
	nkept++;
	pthread_mutex_unlock(&kept_mu);
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	if (s->owner && keep_owners) {
		keep_owner(s);
	} else if (s->owner) {
		/* What is left in tmp/ is anyone's to sweep from now on. */
		char *lock = owner_lock(s);
		unlink(lock);
		free(lock);
		close(s->owner_fd);
		free(s->owner);
	}
	for (int i = 0; i < STORE_STMT_N; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->snap_doc);
	md_buf_dispose(&s->snap);
	free(s->root);
	free(s->db_path);
	free(s->objects);
	free(s->tmp);
	free(s->locks);
	cache_free(s->cache);
	pthread_mutex_destroy(&s->owner_mu);
	pthread_mutex_destroy(&s->db_mu);
	free(s);
}

const char *
store_root(const struct store *s)
{
	return s->root;
}

char *
store_drivers(const struct store *s)
{
	return md_path_join(s->root, "drivers");
}

/* flock(2) how on path (made if missing): its fd, or STORE_BUSY with
 * LOCK_NB when another holds it. */
static int
lock_file(const char *path, int how)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return md_err_sys("%s", path);
	while (flock(fd, how) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		if (e == EWOULDBLOCK && (how & LOCK_NB))
			return STORE_BUSY;
		errno = e;
		return md_err_sys("%s: flock", path);
	}
	return fd;
}

int
store_lock_key(struct store *s, const char *key)
{
	char *path = md_path_join(s->locks, key);
	int fd = lock_file(path, LOCK_EX);

	free(path);
	return fd;
}

int
store_trylock_key(struct store *s, const char *key)
{
	char *path = md_path_join(s->locks, key);
	int fd = lock_file(path, LOCK_EX | LOCK_NB);

	free(path);
	return fd;
}

int
store_lock_store(struct store *s, bool exclusive)
{
	char *path = md_path_join(s->locks, "gc");
	int fd = lock_file(path, exclusive ? LOCK_EX : LOCK_SH);

	free(path);
	return fd;
}

void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

bool
store_is_hash(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

bool
store_real_failed(const struct store_real *r)
{
	return md_exit_failed(&r->exit);
}

static double
num(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A whole number of bytes a file can have. */
static bool
in_range(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	       v->valuedouble <= 1e15 &&
	       v->valuedouble == (double)(long long)v->valuedouble;
}

int
store_parse_meta(struct store_real *r, const char *text, size_t len,
		 const char *what)
{
	cJSON *meta = cJSON_ParseWithLength(text, len);
	int rc = 0;

	/* An exit status and a signal an int holds (a pulled file may lie). */
	if (!cJSON_IsObject(meta) ||
	    !cJSON_IsNumber(cJSON_GetObjectItem(meta, "exit")) ||
	    !(fabs(num(meta, "exit")) <= 65535) ||
	    !(fabs(num(meta, "signal")) <= 65535)) {
		rc = md_err_set("%s: malformed realization metadata", what);
		goto done;
	}
	r->exit.code = (int)num(meta, "exit");
	r->exit.signal = (int)num(meta, "signal");
	r->exit.timed_out = cJSON_IsTrue(cJSON_GetObjectItem(meta, "timed_out"));
	r->start = num(meta, "start");
	r->end = num(meta, "end");
	/* The cap it was cut at; a lying value only makes it re-run. */
	if (num(meta, "cut") >= 1 && num(meta, "cut") <= 1e15)
		r->cut = (size_t)num(meta, "cut");
	/* The sizes reads are bounded by, when it gives them. */
	r->sized = in_range(meta, "stdout_bytes") &&
		   in_range(meta, "stderr_bytes");
	r->out_size = r->sized ? (size_t)num(meta, "stdout_bytes") : 0;
	r->err_size = r->sized ? (size_t)num(meta, "stderr_bytes") : 0;
done:
	cJSON_Delete(meta);
	return rc;
}

char *
store_files_dir(const struct store *s, const char *rhash)
{
	return md_path_join(s->objects, rhash);
}

/* A blob (or text) column appended to out, with a NUL after it. */
static bool
col_bytes(struct md_buf *out, sqlite3_stmt *st, int col)
{
	int type = sqlite3_column_type(st, col);
	const void *p;

	if (type != SQLITE_BLOB && type != SQLITE_TEXT)
		return false;
	p = type == SQLITE_BLOB ? sqlite3_column_blob(st, col)
				: (const void *)sqlite3_column_text(st, col);
	md_buf_put(out, p ? p : "", (size_t)sqlite3_column_bytes(st, col));
	return true;
}

int
store_real_parts(struct store *s, const char *key, const char *rhash,
		 struct md_buf *meta, struct md_buf *so, struct md_buf *se,
		 struct md_buf *outs, struct md_buf *reads, struct md_buf *writes,
		 bool *files)
{
	struct md_buf m = MD_BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_stmt(s, STMT_REAL))) {
		rc = MD_ERROR;
		goto done;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rhash, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		break;
	case SQLITE_DONE:
		rc = MD_ENOTFOUND;
		goto done;
	default:
		rc = store_db_err(s, "cannot read");
		goto done;
	}
	if (!col_bytes(meta ? meta : &m, st, 0) ||
	    (so && !col_bytes(so, st, 1)) || (se && !col_bytes(se, st, 2)) ||
	    (outs && !col_bytes(outs, st, 4)) ||
	    (reads && !col_bytes(reads, st, 5)) ||
	    (writes && !col_bytes(writes, st, 6)) ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER) {
		rc = md_err_set("%s: realization %.12s of %.12s: malformed "
				"row", s->db_path, rhash, key);
		goto done;
	}
	if (files)
		*files = sqlite3_column_int(st, 3) != 0;
done:
	md_buf_dispose(&m);
	return store_end(s, rc);
}

int
store_reads(struct md_buf *out, struct store *s, const char *key,
	    const char *rhash)
{
	return store_real_parts(s, key, rhash, NULL, NULL, NULL, NULL, out,
				NULL, NULL);
}

int
store_writes(struct md_buf *out, struct store *s, const char *key,
	     const char *rhash)
{
	return store_real_parts(s, key, rhash, NULL, NULL, NULL, NULL, NULL,
				out, NULL);
}

int
store_blob(struct md_buf *out, struct store *s, const char *hash)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_stmt(s, STMT_BLOB))) {
		rc = MD_ERROR;
		goto done;
	}
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		if (!col_bytes(out, st, 0))
			rc = md_err_set("%s: blob %.12s: malformed row",
					s->db_path, hash);
		break;
	case SQLITE_DONE:
		rc = MD_ENOTFOUND;
		break;
	default:
		rc = store_db_err(s, "cannot read");
	}
done:
	return store_end(s, rc);
}

/*
 * A realization's row as a render needs it: stdout, stderr and the
 * columns of its exit record, each of the type and range the store
 * writes. Inside a transaction.
 */
static int
result_row(struct store_real *r, sqlite3_stmt *st)
{
	static const int ints[] = { 2, 3, 4, 5, 8 };
	double start, end;
	long long cut;

	for (size_t i = 0; i < sizeof(ints) / sizeof(*ints); i++)
		if (sqlite3_column_type(st, ints[i]) != SQLITE_INTEGER)
			return -1;
	for (int c = 6; c <= 7; c++)
		if (sqlite3_column_type(st, c) != SQLITE_FLOAT &&
		    sqlite3_column_type(st, c) != SQLITE_INTEGER)
			return -1;
	for (int c = 3; c <= 4; c++)
		if (sqlite3_column_int64(st, c) < -65535 ||
		    sqlite3_column_int64(st, c) > 65535)
			return -1;
	start = sqlite3_column_double(st, 6);
	end = sqlite3_column_double(st, 7);
	cut = sqlite3_column_int64(st, 8);
	if (!isfinite(start) || !isfinite(end) || cut < 0 || cut > (1LL << 50))
		return -1;
	if (!col_bytes(&r->out, st, 0) || !col_bytes(&r->err, st, 1) ||
	    !col_bytes(&r->outs, st, 9) || !col_bytes(&r->reads, st, 10) ||
	    !col_bytes(&r->writes, st, 11))
		return -1;
	r->files = sqlite3_column_int64(st, 2) != 0;
	r->exit.code = (int)sqlite3_column_int64(st, 3);
	r->exit.signal = (int)sqlite3_column_int64(st, 4);
	r->exit.timed_out = sqlite3_column_int64(st, 5) != 0;
	r->start = start;
	r->end = end;
	r->cut = (size_t)cut;
	return 0;
}

static bool take_prefetched(struct store_real *r);

/* Its row, with what to do when it is damaged. */
static int
read_real(struct store_real *r)
{
	struct store *s = r->store;
	sqlite3_stmt *st;
	char what[160];
	int rc;

	if (take_prefetched(r))
		return 0;
	md_buf_clear(&r->out);
	md_buf_clear(&r->err);
	md_buf_clear(&r->outs);
	md_buf_clear(&r->reads);
	md_buf_clear(&r->writes);
	snprintf(what, sizeof(what), "%s: realization %.12s of key %.12s",
		 s->db_path, r->rhash, r->key);
	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_stmt(s, STMT_RESULT))) {
		rc = MD_ERROR;
		goto done;
	}
	sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->rhash, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		if (result_row(r, st) < 0)
			rc = md_err_set("%s: malformed row", what);
		break;
	case SQLITE_DONE:
		md_err_set("%s: not in the store", what);
		rc = MD_ENOTFOUND;
		break;
	default:
		rc = store_db_err(s, "cannot read");
	}
done:
	rc = store_end(s, rc);
	if (rc == MD_ERROR) {
		char *why = md_strdup(md_err_msg());
		rc = md_err_set("%s (mdrun store verify finds all such; "
				"render with --rebuild to replace it)", why);
		free(why);
	}
	return rc;
}

/* Names realization rhash of key in out, unread. */
static void
name_real(struct store_real *out, struct store *s, const char *key,
	  const char *rhash)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->rhash, rhash, MD_HASH_HEX);
	snprintf(out->key, sizeof(out->key), "%s", key);
	out->store = s;
	out->path = store_files_dir(s, rhash);
}

int
store_read(struct store_real *out, struct store *s, const char *key,
	   const char *rhash)
{
	int rc;

	name_real(out, s, key, rhash);
	if ((rc = read_real(out)) < 0)
		store_real_dispose(out);
	return rc;
}

bool
store_row_damaged(struct store *s, const char *key, const char *rhash)
{
	sqlite3_stmt *st = store_stmt(s, STMT_RESULT);
	struct store_real r;
	bool bad = false;

	if (!st)
		return false;
	memset(&r, 0, sizeof(r));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rhash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		bad = result_row(&r, st) < 0;
	sqlite3_reset(st);
	store_real_dispose(&r);
	return bad;
}

void
store_read_later(struct store_real *out, struct store *s, const char *key,
		 const char *rhash)
{
	name_real(out, s, key, rhash);
	out->pending = true;
}

int
store_read_pending(struct store_real *r)
{
	int rc = 0;

	if (r->pending)
		rc = read_real(r);
	r->pending = false;
	return rc;
}

/*
 * Run listings read ahead (store_prefetch), sorted by key. Each is what
 * the listing found when it was read; this process's own changes drop it.
 */
struct store_cache {
	pthread_mutex_t mu;
	/* Each entry's row is taken by the first read of it. */
	struct store_entry *v;
	size_t n;
};

static struct store_entry *cache_find(struct store_cache *c,
				      const char *key);

/* Takes r's row from the read-ahead cache: true if it was there. */
static bool
take_prefetched(struct store_real *r)
{
	struct store_cache *c = r->store->cache;
	struct store_real *p = NULL;
	struct store_entry *e;

	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	if ((e = cache_find(c, r->key)) && e->res &&
	    !strcmp(e->res->rhash, r->rhash)) {
		p = e->res;
		e->res = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (!p)
		return false;
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
	md_buf_dispose(&r->outs);
	md_buf_dispose(&r->reads);
	md_buf_dispose(&r->writes);
	r->out = p->out;
	r->err = p->err;
	r->outs = p->outs;
	r->reads = p->reads;
	r->writes = p->writes;
	r->files = p->files;
	r->exit = p->exit;
	r->start = p->start;
	r->end = p->end;
	r->cut = p->cut;
	free(p);
	return true;
}

static int
cached_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_entry *)a)->key,
		      ((const struct store_entry *)b)->key);
}

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MD_HASH_HEX);
}

static struct store_entry *
cache_find(struct store_cache *c, const char *key)
{
	struct store_entry probe;

	if (!c || strlen(key) != MD_HASH_HEX - 1)
		return NULL;
	memcpy(probe.key, key, MD_HASH_HEX);
	return bsearch(&probe, c->v, c->n, sizeof(*c->v), cached_cmp);
}

static void
cache_free(struct store_cache *c)
{
	if (!c)
		return;
	store_entries_free(c->v, c->n);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
store_forget(struct store *s, const char *key)
{
	struct store_entry *e;

	if (!s->cache)
		return;
	pthread_mutex_lock(&s->cache->mu);
	if ((e = cache_find(s->cache, key))) {
		free(e->runs);
		e->runs = NULL;
		e->n = (size_t)-1; /* not known: list it again */
	}
	pthread_mutex_unlock(&s->cache->mu);
}

static int list_runs(struct store_run **out, size_t *n, struct store *s,
		     const char *key);

int
store_runs(struct store_run **out, size_t *n, struct store *s,
	   const char *key)
{
	struct store_entry *e;

	if (s->cache) {
		pthread_mutex_lock(&s->cache->mu);
		e = cache_find(s->cache, key);
		if (e && e->n != (size_t)-1) {
			*n = e->n;
			*out = md_calloc(e->n ? e->n : 1, sizeof(**out));
			if (e->n)
				memcpy(*out, e->runs, e->n * sizeof(**out));
		}
		pthread_mutex_unlock(&s->cache->mu);
		if (e && e->n != (size_t)-1)
			return 0;
	}
	return list_runs(out, n, s, key);
}

/*
 * The runs of key, inside a transaction: each row checked, since the
 * database may have been crafted.
 */
static int
runs_of(struct store_run **out, size_t *n, struct store *s, const char *key)
{
	sqlite3_stmt *st = store_stmt(s, STMT_RUNS);
	size_t cap = 0;
	int step;

	*out = NULL;
	*n = 0;
	if (!st)
		return MD_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_run *r;
		for (int c = 0; c < 7; c++)
			if (c != 2 &&
			    sqlite3_column_type(st, c) != SQLITE_INTEGER)
				goto bad;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = md_realloc(*out, cap * sizeof(**out));
		}
		r = &(*out)[*n];
		memset(r, 0, sizeof(*r));
		if (!store_col_hash(r->rhash, st, 2) ||
		    sqlite3_column_int64(st, 0) <= 0 ||
		    sqlite3_column_int64(st, 4) < 0)
			goto bad;
		r->seq = (unsigned long long)sqlite3_column_int64(st, 0);
		r->ns = sqlite3_column_int64(st, 1);
		r->failed = sqlite3_column_int64(st, 3) != 0;
		r->cut = (size_t)sqlite3_column_int64(st, 4);
		r->reads = sqlite3_column_int64(st, 5) > 0;
		r->writes = sqlite3_column_int64(st, 6) > 0;
		(*n)++;
	}
	sqlite3_reset(st);
	if (step == SQLITE_DONE)
		return 0;
	free(*out);
	*out = NULL;
	*n = 0;
	return store_db_err(s, "cannot read");
bad:
	sqlite3_reset(st);
	free(*out);
	*out = NULL;
	*n = 0;
	return md_err_set("%s: the runs of key %.12s: malformed row",
			  s->db_path, key);
}

/*
 * The row a render will read for key: its latest run's, as that is the
 * one a warm render shows. NULL if it cannot be read now (read_real
 * reads it again and says why).
 */
static struct store_real *
prefetch_row(struct store *s, const char *key, const char *rhash)
{
	struct store_real *r;
	sqlite3_stmt *st = store_stmt(s, STMT_RESULT);

	if (!st)
		return NULL;
	r = md_calloc(1, sizeof(*r));
	memcpy(r->rhash, rhash, MD_HASH_HEX);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rhash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW || result_row(r, st) < 0) {
		sqlite3_reset(st);
		store_real_dispose(r);
		free(r);
		return NULL;
	}
	sqlite3_reset(st);
	return r;
}

/*
 * A snapshot holds rows of up to 64 KiB (a bigger one is read when it is
 * shown), and is kept only under 64 MiB in all.
 */
#define SNAP_ROW_MAX ((size_t)64 << 10)
#define SNAP_MAX ((size_t)64 << 20)

/* The store's generation, inside a transaction; -1 if it cannot be read. */
static long long
generation(struct store *s)
{
	sqlite3_stmt *st = store_prepare(s, SQL_GEN);
	long long g = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		g = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return g;
}

int
store_bump(struct store *s)
{
	return step_stmt(s, STMT_BUMP, "cannot write");
}

/*
 * doc's snapshot, inside a transaction, if it was taken at generation
 * gen and is whole: 0, else -1 (nothing in *v).
 */
static int
read_snap(struct store_entry **v, size_t *n, struct store *s,
	  const char *doc, long long gen)
{
	sqlite3_stmt *st = store_prepare(s, SQL_SNAP);
	int rc = -1;

	*v = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
	    sqlite3_column_int64(st, 0) == gen &&
	    sqlite3_column_type(st, 1) == SQLITE_BLOB)
		rc = store_snap_decode(v, n, sqlite3_column_blob(st, 1),
				       (size_t)sqlite3_column_bytes(st, 1));
	sqlite3_finalize(st);
	return rc;
}

static struct store_entry *
entry_find(struct store_entry *v, size_t n, const char *key)
{
	struct store_entry probe;

	memcpy(probe.key, key, MD_HASH_HEX);
	return n ? bsearch(&probe, v, n, sizeof(*v), cached_cmp) : NULL;
}

int
store_prefetch(struct store *s, const char *doc, char (*keys)[MD_HASH_HEX],
	       size_t n)
{
	struct store_cache *c = md_calloc(1, sizeof(*c));
	struct store_entry *snap = NULL;
	size_t nsnap = 0, used = 0, looked = 0, i, k = 0;
	long long gen = -1;
	int rc;

	pthread_mutex_init(&c->mu, NULL);
	c->v = md_calloc(n ? n : 1, sizeof(*c->v));
	/*
	 * In key order, the lookups walk the tables' B-trees from one end to
	 * the other: a page is read once, not once per key near it.
	 */
	char (*sorted)[MD_HASH_HEX] = md_calloc(n ? n : 1, sizeof(*keys));

	if (n) { /* no keys may come as NULL */
		memcpy(sorted, keys, n * sizeof(*keys));
		qsort(sorted, n, sizeof(*sorted), key_cmp);
	}
	keys = sorted;
	/* One snapshot, one lock of the connection, for every key. */
	if ((rc = store_begin(s, false)) < 0) {
		cache_free(c);
		free(sorted);
		return rc;
	}
	/* The document's snapshot, if nothing changed since it was taken. */
	if (doc && (gen = generation(s)) >= 0 &&
	    read_snap(&snap, &nsnap, s, doc, gen) < 0)
		nsnap = 0;
	for (i = 0; i < n; i++) {
		struct store_entry *e = &c->v[k], *from;
		if (!store_is_hash(keys[i]) ||
		    (k && !strcmp(c->v[k - 1].key, keys[i])))
			continue;
		if ((from = entry_find(snap, nsnap, keys[i]))) {
			*e = *from;
			from->runs = NULL;
			from->res = NULL;
			used++;
			k++;
			continue;
		}
		looked++;
		if (runs_of(&e->runs, &e->n, s, keys[i]) < 0)
			continue; /* listed again when asked */
		memcpy(e->key, keys[i], MD_HASH_HEX);
		if (e->n)
			e->res = prefetch_row(s, keys[i], e->runs[e->n - 1].rhash);
		k++;
	}
	store_end(s, 0);
	store_entries_free(snap, nsnap);
	free(sorted);
	c->n = k;
	/*
	 * What was looked up now makes the next render's snapshot, kept at
	 * the end of this one (store_root_write) if the store is unchanged.
	 */
	free(s->snap_doc);
	s->snap_doc = NULL;
	if (gen >= 0 && (looked || used != nsnap)) {
		store_snap_encode(&s->snap, c->v, c->n, SNAP_ROW_MAX);
		if (s->snap.len <= SNAP_MAX) {
			s->snap_doc = md_strdup(doc);
			s->snap_gen = gen;
		} else {
			md_buf_dispose(&s->snap);
		}
	}
	cache_free(s->cache);
	s->cache = c;
	return 0;
}

/* Whether a snapshot's entry says what the store's rows say now. */
static bool
entry_holds(struct store *s, const struct store_entry *e)
{
	struct store_run *runs = NULL;
	struct store_real *row;
	size_t n = 0;
	bool same;

	if (runs_of(&runs, &n, s, e->key) < 0)
		return false;
	same = n == e->n;
	for (size_t i = 0; same && i < n; i++) {
		const struct store_run *a = &runs[i], *b = &e->runs[i];
		same = !strcmp(a->rhash, b->rhash) && a->seq == b->seq &&
		       a->ns == b->ns && a->failed == b->failed &&
		       a->cut == b->cut && a->reads == b->reads &&
		       a->writes == b->writes;
	}
	free(runs);
	if (!same || !e->res)
		return same;
	if (!(row = prefetch_row(s, e->key, e->res->rhash)))
		return false;
	same = md_buf_eq(&row->out, &e->res->out) &&
	       md_buf_eq(&row->err, &e->res->err) &&
	       md_buf_eq(&row->outs, &e->res->outs) &&
	       md_buf_eq(&row->reads, &e->res->reads) &&
	       md_buf_eq(&row->writes, &e->res->writes) &&
	       row->files == e->res->files &&
	       row->exit.code == e->res->exit.code &&
	       row->exit.signal == e->res->exit.signal &&
	       row->exit.timed_out == e->res->exit.timed_out &&
	       row->start == e->res->start && row->end == e->res->end &&
	       row->cut == e->res->cut;
	store_real_dispose(row);
	free(row);
	return same;
}

int
store_snap_check(struct store *s,
		 void (*bad)(const char *doc, const char *why, void *ctx),
		 void *ctx)
{
	sqlite3_stmt *st = NULL;
	long long gen;
	int rc, step;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	gen = generation(s);
	if (!(st = store_prepare(s, "SELECT doc, gen, data FROM snap"))) {
		rc = MD_ERROR;
		goto done;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *doc = (const char *)sqlite3_column_text(st, 0);
		struct store_entry *v = NULL;
		size_t n = 0, i;

		/* One of another generation is never used. */
		if (sqlite3_column_int64(st, 1) != gen)
			continue;
		if (store_snap_decode(&v, &n, sqlite3_column_blob(st, 2),
				      (size_t)sqlite3_column_bytes(st, 2)) <
		    0) {
			bad(doc ? doc : "", "its snapshot is malformed", ctx);
			continue;
		}
		for (i = 0; i < n && entry_holds(s, &v[i]); i++)
			;
		if (i < n)
			bad(doc ? doc : "",
			    "its snapshot differs from the store's rows", ctx);
		store_entries_free(v, n);
	}
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "cannot read");
done:
	sqlite3_finalize(st);
	return store_end(s, rc);
}

/*
 * Keeps the snapshot store_prefetch made for doc, unless a run or a
 * realization came or went since (in this process or another).
 */
static int
save_snap(struct store *s, const char *doc)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s->snap_doc || strcmp(s->snap_doc, doc))
		return 0;
	if ((rc = store_begin(s, true)) < 0)
		goto done;
	if (generation(s) == s->snap_gen &&
	    (st = store_prepare(s, "INSERT OR REPLACE INTO snap (doc, gen,"
				   " data) VALUES (?1, ?2, ?3)"))) {
		sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s->snap_gen);
		sqlite3_bind_blob64(st, 3, s->snap.ptr, s->snap.len,
				    SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_db_err(s, "cannot write");
	}
	sqlite3_finalize(st);
	rc = store_end(s, rc);
done:
	free(s->snap_doc);
	s->snap_doc = NULL;
	md_buf_dispose(&s->snap);
	return rc;
}

static int
list_runs(struct store_run **out, size_t *n, struct store *s,
	  const char *key)
{
	int rc = store_begin(s, false);

	if (rc < 0)
		return rc;
	return store_end(s, runs_of(out, n, s, key));
}

int
store_lookup(struct store_real *out, struct store *s, const char *key,
	     enum store_match m, bool accept_failed)
{
	struct store_run *runs = NULL;
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_runs(&runs, &n, s, key)) < 0)
		return rc;
	rc = MD_ENOTFOUND;
	for (i = 0; i < n; i++) {
		struct store_run *r = &runs[m == STORE_FIRST ? i : n - 1 - i];
		if (r->failed && !accept_failed)
			continue;
		rc = store_read(out, s, key, r->rhash);
		break;
	}
	free(runs);
	return rc;
}

void
store_real_dispose(struct store_real *r)
{
	md_buf_dispose(&r->out);
	md_buf_dispose(&r->err);
	md_buf_dispose(&r->outs);
	md_buf_dispose(&r->reads);
	md_buf_dispose(&r->writes);
	free(r->path);
	r->path = NULL;
}

static char *
owner_lock(const struct store *s)
{
	struct md_buf b = MD_BUF_INIT;

	md_buf_printf(&b, "%s/%s.lock", s->tmp, s->owner);
	return md_buf_detach(&b);
}

/*
 * Makes this process an owner in tmp/: OWNER.lock created and locked
 * before any OWNER-N folder exists, so a sweep never sees a live owner's
 * folder without its lock file. Called under owner_mu.
 */
static int
become_owner(struct store *s)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned long long r;
		struct md_buf b = MD_BUF_INIT;
		struct stat st;
		char *lock;
		int fd;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return md_err_sys("getrandom");
		md_buf_printf(&b, "%ld-o%016llx", (long)getpid(), r);
		s->owner = md_buf_detach(&b);
		lock = owner_lock(s);
		fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST) {
			md_err_sys("%s", lock);
			free(lock);
			free(s->owner);
			s->owner = NULL;
			return MD_ERROR;
		}
		while (fd >= 0 && flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		/* A sweep took it for a dead owner's and removed it? */
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
			s->owner_fd = fd;
			free(lock);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		free(lock);
		free(s->owner);
		s->owner = NULL;
	}
	return md_err_set("%s: cannot make a lock file", s->tmp);
}

char *
store_tmp_dir(struct store *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->owner_mu);
	if (!s->owner)
		rc = become_owner(s);
	pthread_mutex_unlock(&s->owner_mu);
	if (rc < 0)
		return NULL;
	for (;;) {
		struct md_buf path = MD_BUF_INIT;

		md_buf_printf(&path, "%s/%s-%u", s->tmp, s->owner,
			      atomic_fetch_add(&s->serial, 1));
		if (mkdir(path.ptr, 0755) == 0)
			return md_buf_detach(&path);
		if (errno != EEXIST) {
			md_err_sys("%s: mkdir", path.ptr);
			md_buf_dispose(&path);
			return NULL;
		}
		md_buf_dispose(&path);
	}
}

char *
store_mktemp(struct store *s)
{
	return store_tmp_dir(s);
}

int
store_remove_tree(struct store *s, const char *path)
{
	char *tmp = store_tmp_dir(s), *dest = NULL;
	int rc;

	if (!tmp)
		return MD_ERROR;
	dest = md_path_join(tmp, "x");
	/* Moving a folder updates its "..": it must be writable. */
	chmod(path, 0755);
	if (rename(path, dest) < 0) {
		rc = errno == ENOENT ? 0 : md_err_sys("%s: rename", path);
		md_fs_rmtree(tmp);
	} else {
		md_crashpoint("remove:moved");
		rc = md_fs_rmtree(tmp);
	}
	free(dest);
	free(tmp);
	return rc;
}

bool
store_parse_run(struct store_run *r, const char *name)
{
	const char *p = name;
	char *end;

	memset(r, 0, sizeof(*r));
	if (*p == 's') {
		r->seq = strtoull(p + 1, &end, 10);
		if (end != p + 21 || *end != '-' || r->seq == 0)
			return false;
		p = end + 1;
	}
	r->ns = strtoll(p, &end, 10);
	if (end == p || *end != '-' || strlen(end + 1) < 67 || end[65] != '-')
		return false;
	memcpy(r->rhash, end + 1, 64);
	r->rhash[64] = '\0';
	if (!store_is_hash(r->rhash))
		return false;
	/* STATUS is "ok" or "failed", then "-cutN" when cut at N. */
	p = end + 66;
	r->failed = strncmp(p, "ok", 2) || (p[2] && p[2] != '-');
	end = strstr(p, "-cut");
	r->cut = end ? strtoull(end + 4, NULL, 10) : 0;
	return true;
}

/*
 * The text of one row's column (a root record, a memo) into out, found
 * by sql with one text parameter. MD_ENOTFOUND without a row.
 */
static int
read_one(struct md_buf *out, struct store *s, const char *sql,
	 const char *arg)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_prepare(s, sql))) {
		rc = MD_ERROR;
	} else {
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		switch (sqlite3_step(st)) {
		case SQLITE_ROW:
			if (!col_bytes(out, st, 0) ||
			    (size_t)sqlite3_column_bytes(st, 0) >
				    STORE_RECORD_MAX)
				rc = md_err_set("%s: %s: malformed row",
						s->db_path, arg);
			break;
		case SQLITE_DONE:
			rc = MD_ENOTFOUND;
			break;
		default:
			rc = store_db_err(s, "cannot read");
		}
	}
	sqlite3_finalize(st);
	return store_end(s, rc);
}

/* doc's root record, parsed; NULL (*rc set) when there is none. */
static cJSON *
read_root(struct store *s, const char *doc, int *rc)
{
	struct md_buf text = MD_BUF_INIT;
	cJSON *root = NULL;

	*rc = read_one(&text, s, "SELECT record FROM root WHERE doc = ?1",
		       doc);
	if (*rc == 0)
		root = cJSON_ParseWithLength(text.ptr, text.len);
	md_buf_dispose(&text);
	return root;
}

int
store_root_notes(struct md_buf *out, struct store *s, const char *doc)
{
	int rc;
	cJSON *root = read_root(s, doc, &rc);
	cJSON *notes = cJSON_GetObjectItem(root, "notes");
	char *t = notes ? cJSON_PrintUnformatted(notes) : NULL;

	if (rc == 0 && t)
		md_buf_puts(out, t);
	else if (rc == 0)
		rc = MD_ENOTFOUND;
	free(t);
	cJSON_Delete(root);
	return rc;
}

int
store_root_keys(char (**keys)[MD_HASH_HEX], size_t *n, struct store *s,
		const char *doc)
{
	int rc;
	cJSON *root = read_root(s, doc, &rc), *e;
	cJSON *k = cJSON_GetObjectItem(root, "keys");

	*n = 0;
	*keys = md_calloc((size_t)cJSON_GetArraySize(k) + 1, sizeof(**keys));
	cJSON_ArrayForEach(e, k)
		if (cJSON_IsString(e) && store_is_hash(e->valuestring))
			memcpy((*keys)[(*n)++], e->valuestring, MD_HASH_HEX);
	cJSON_Delete(root);
	return rc;
}

/* Sets the row of sql's table named name (first parameter) to val. */
static int
write_one(struct store *s, const char *sql, const char *name,
	  const void *val, size_t n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_begin(s, true)) < 0)
		return rc;
	if (!(st = store_prepare(s, sql))) {
		rc = MD_ERROR;
	} else {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob64(st, 2, val, n, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_db_err(s, "cannot write");
	}
	sqlite3_finalize(st);
	return store_end(s, rc);
}

/*
 * The start of a root record written with fingerprint fp, and of this
 * record format: it comes first, so that store_root_keep reads no more
 * of a record than this. Caller frees.
 */
static char *
root_start(const char *fp)
{
	cJSON *o = cJSON_CreateObject();
	char *text;
	size_t n;

	cJSON_AddStringToObject(o, "fingerprint", fp);
	cJSON_AddNumberToObject(o, "version", STORE_META_VERSION);
	text = cJSON_Print(o);
	cJSON_Delete(o);
	/* Without the closing "\n}": a record goes on after it. */
	n = strlen(text);
	if (n >= 2 && text[n - 1] == '}')
		text[n - 2] = '\0';
	return text;
}

int
store_root_keep(struct store *s, const char *doc, const char *fp)
{
	char *start = root_start(fp);
	sqlite3_stmt *st;
	int rc, same = 0;

	if ((rc = store_begin(s, false)) < 0)
		goto done;
	if (!(st = store_prepare(s, "SELECT substr(record, 1, length(?2)) = ?2"
				    " FROM root WHERE doc = ?1"))) {
		rc = MD_ERROR;
	} else {
		sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, start, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		same = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE
			     ? 0
			     : store_db_err(s, "cannot read");
	}
	sqlite3_finalize(st);
	rc = store_end(s, rc);
	if (rc == 0 && same)
		rc = save_snap(s, doc);
done:
	free(start);
	return rc < 0 ? rc : same;
}

int
store_root_write(struct store *s, const char *doc, char (*keys)[MD_HASH_HEX],
		 size_t n, const char *fp, const char *notes)
{
	struct md_buf old = MD_BUF_INIT;
	char *text;
	cJSON *root = cJSON_CreateObject(), *arr;
	size_t i;
	int rc = 0;

	if (fp)
		cJSON_AddStringToObject(root, "fingerprint", fp);
	cJSON_AddNumberToObject(root, "version", STORE_META_VERSION);
	cJSON_AddStringToObject(root, "document", doc);
	arr = cJSON_AddArrayToObject(root, "keys");
	for (i = 0; i < n; i++)
		if (keys[i][0])
			cJSON_AddItemToArray(arr, cJSON_CreateString(keys[i]));
	/* The caller's JSON as it is, neither parsed nor printed again. */
	if (notes)
		cJSON_AddItemToObject(root, "notes", cJSON_CreateRaw(notes));
	text = cJSON_Print(root);
	/* Unchanged (a warm render, say): not written again. */
	if (read_one(&old, s, "SELECT record FROM root WHERE doc = ?1",
		     doc) != 0 ||
	    strcmp(old.ptr, text))
		rc = write_one(s, "INSERT OR REPLACE INTO root (doc, record)"
				  " VALUES (?1, CAST(?2 AS TEXT))",
			       doc, text, strlen(text));
	md_buf_dispose(&old);
	free(text);
	cJSON_Delete(root);
	if (rc == 0)
		rc = save_snap(s, doc);
	return rc;
}

unsigned long long
store_key_size(struct store *s, const char *key)
{
	unsigned long long size = 0;
	char rhash[MD_HASH_HEX];
	sqlite3_stmt *st;

	if (store_begin(s, false) < 0)
		return 0;
	st = store_prepare(s, "SELECT rhash, length(meta) + length(stdout) +"
			      " length(stderr), files FROM real"
			      " WHERE key = ?1");
	if (st)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		size += (unsigned long long)sqlite3_column_int64(st, 1);
		if (sqlite3_column_int(st, 2) && store_col_hash(rhash, st, 0)) {
			char *dir = store_files_dir(s, rhash);
			size += store_du(dir);
			free(dir);
		}
	}
	sqlite3_finalize(st);
	store_end(s, 0);
	return size;
}

int
store_memo_get(struct md_buf *out, struct store *s, const char *name)
{
	return read_one(out, s, "SELECT value FROM memo WHERE name = ?1",
			name);
}

int
store_memo_put(struct store *s, const char *name, const char *val, size_t n)
{
	return write_one(s, "INSERT OR REPLACE INTO memo (name, value)"
			    " VALUES (?1, ?2)",
			 name, val, n);
}

int
store_sync(struct store *s)
{
	int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return md_err_sys("%s", s->root);
	if (syncfs(fd) < 0)
		rc = md_err_sys("%s: syncfs", s->root);
	close(fd);
	return rc;
}

int
store_stats_load(struct store *s,
		 void (*fn)(const struct store_stat *e, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc, step;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_prepare(s, "SELECT path, dev, ino, size, mtime_ns,"
				    " ctime_ns, hash FROM stat")))
		return store_end(s, MD_ERROR);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_stat e;

		/* A row that is not what a save writes is skipped. */
		if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		    !store_col_hash(e.hash, st, 6))
			continue;
		e.path = (const char *)sqlite3_column_text(st, 0);
		e.dev = sqlite3_column_int64(st, 1);
		e.ino = sqlite3_column_int64(st, 2);
		e.size = sqlite3_column_int64(st, 3);
		e.mtime_ns = sqlite3_column_int64(st, 4);
		e.ctime_ns = sqlite3_column_int64(st, 5);
		fn(&e, ctx);
	}
	if (step != SQLITE_DONE)
		rc = store_db_err(s, "cannot read");
	sqlite3_finalize(st);
	return store_end(s, rc);
}

int
store_stats_save(struct store *s, const struct store_stat *v, size_t n)
{
	sqlite3_stmt *st;
	int rc;

	if (!n)
		return 0;
	if ((rc = store_begin(s, true)) < 0)
		return rc;
	if (!(st = store_prepare(s, "INSERT OR REPLACE INTO stat (path, dev,"
				    " ino, size, mtime_ns, ctime_ns, hash)"
				    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")))
		return store_end(s, MD_ERROR);
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, v[i].path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, v[i].dev);
		sqlite3_bind_int64(st, 3, v[i].ino);
		sqlite3_bind_int64(st, 4, v[i].size);
		sqlite3_bind_int64(st, 5, v[i].mtime_ns);
		sqlite3_bind_int64(st, 6, v[i].ctime_ns);
		sqlite3_bind_text(st, 7, v[i].hash, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_db_err(s, "cannot write");
	}
	sqlite3_finalize(st);
	return store_end(s, rc);
}
