/*
 * Sharing realizations through a git remote (libgit2).
 *
 *   refs/mdrun/KEY/RHASH -> commit (no parents)
 *                             author, committer: mdrun <mdrun@localhost>
 *                             at the realization's start time, UTC
 *                             message: "mdrun KEY RHASH\n"
 *                           tree
 *                             drv.json   100644  the key's drv.json
 *                             meta.json  100644
 *                             stdout     100644
 *                             stderr     100644  (absent when empty)
 *                             out/       040000  the artifacts: files
 *                                                100644 or 100755, folders,
 *                                                links 120000
 *
 * Equal realizations make equal commits, so two machines pushing the same
 * result push nothing new. A remote is not trusted: pull checks every
 * name, mode and size before writing a byte, writes into tmp/, checks
 * every number in meta.json (meta_valid), recomputes KEY from drv.json
 * and RHASH from the files, and only then commits the way a render does.
 * A ref that fails any check is rejected alone: the others are pulled.
 *
 * A remote on this machine (a path or a file:// URL) is opened as a
 * repository and read or written in place, as git's local transport
 * would; libgit2's own refuses a work tree and fails as a whole on one
 * ref name the file system cannot hold. Any other remote is fetched from
 * or pushed to through a bare repository under tmp/, removed when done.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../util/err.h"
#include "../util/fs.h"
#include "../util/lazy_git.h"

#define REF_PREFIX "refs/mdrun/"
#define BATCH 500			/* refs per push or fetch */
#define MAX_BYTES (1ULL << 30)		/* of blobs per realization */
#define MAX_ENTRIES 100000		/* per realization */
#define MAX_DEPTH 64			/* of folders under out/ */
#define MAX_LINK 4095			/* bytes of a link's target */
#define MAX_NAME 255			/* bytes of a name in out/ */
#define MAX_TRIES 3			/* credentials asked per connection */
#define MAX_SKEW (24 * 3600)		/* seconds a time may be ahead */
#define MAX_NUMBER 1e15			/* of any number in meta.json */

/* A connection's state, handed to libgit2's callbacks. */
struct conn {
	const struct store_remote *r;
	int tries;
	size_t refused;	    /* refs the remote refused to update */
	struct md_buf why;  /* the first refusal */
};

/* libgit2's last error message. */
static const char *
git_why(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "git error";
}

/* Sets the message from libgit2's last error; returns MD_ERROR. */
static int
git_fail(const char *what)
{
	return md_err_set("%s: %s", what, git_why());
}

static int
credentials(git_credential **out, const char *url, const char *user,
	    unsigned int allowed, void *payload)
{
	struct conn *c = payload;
	const char *name = c->r->username ? c->r->username : "x-access-token";

	/* libgit2 asks again after each refusal: give up in time. */
	if (++c->tries > MAX_TRIES) {
		git_error_set_str(GIT_ERROR_NET,
				  "authentication failed (tried the ssh agent "
				  "and MDRUN_GIT_TOKEN)");
		return GIT_EAUTH;
	}
	(void)url;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out,
							 user ? user : "git");
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->r->token)
		return git_credential_userpass_plaintext_new(out, name,
							     c->r->token);
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		git_error_set_str(GIT_ERROR_NET, "the remote asks for a "
				  "password, and no token was given "
				  "(MDRUN_GIT_TOKEN)");
		return GIT_EAUTH;
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user ? user : "git");
	return GIT_PASSTHROUGH;
}

static int
push_status(const char *ref, const char *status, void *payload)
{
	struct conn *c = payload;

	if (status && c->refused++ == 0)
		md_buf_printf(&c->why, "%s: %s", ref, status);
	return 0;
}

/* The callbacks and headers of a connection, a push or a fetch. */
static void
conn_options(git_remote_callbacks *cb, git_strarray *h, struct conn *c)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = credentials;
	cb->push_update_reference = push_status;
	cb->payload = c;
	h->strings = c->r->headers;
	h->count = c->r->nheaders;
	c->tries = 0;
}

/* A list of ref names; sorted before names_has looks in it. */
struct names {
	char **v;
	size_t n, cap;
};

static void
names_add(struct names *l, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = md_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = md_strdup(name);
}

static bool
names_has(const struct names *l, const char *name)
{
	return l->n && bsearch(&name, l->v, l->n, sizeof(*l->v), md_strp_cmp);
}

static void
names_dispose(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * A bare repository under tmp/ with an anonymous remote for r->url, and
 * the names of the remote's refs under refs/mdrun/, sorted. Or, for a
 * remote on this machine, that repository itself and no remote.
 */
struct session {
	char *dir;
	git_repository *repo;
	git_remote *remote;
	struct conn conn;
	struct names refs;
};

/* The repository at url when it is on this machine, bare or not. */
static git_repository *
local_repo(const char *url)
{
	git_repository *repo = NULL;
	const char *path = url;

	if (!strncmp(url, "file://", 7))
		path = url + 7;
	else if (strstr(url, "://"))
		return NULL;
	if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
				    NULL) < 0)
		return NULL;
	return repo;
}

/* The refs under refs/mdrun/ of the local repository se->repo, into l. */
static int
local_list(struct session *se, struct names *l)
{
	git_reference_iterator *it = NULL;
	const char *name;
	int err;

	if (git_reference_iterator_glob_new(&it, se->repo, REF_PREFIX "*") < 0)
		return git_fail(se->conn.r->url);
	while ((err = git_reference_next_name(&name, it)) == 0)
		names_add(l, name);
	git_reference_iterator_free(it);
	return err == GIT_ITEROVER ? 0 : git_fail(se->conn.r->url);
}

/*
 * Connects to the remote and lists its refs under refs/mdrun/ into l;
 * with l NULL, only whether it answers.
 */
static int
remote_list(struct session *se, git_direction dir, struct names *l)
{
	git_remote_callbacks cb;
	git_strarray h;
	const git_remote_head **heads;
	size_t n, i;
	int rc = 0;

	conn_options(&cb, &h, &se->conn);
	if (git_remote_connect(se->remote, dir, &cb, NULL, &h) < 0 ||
	    git_remote_ls(&heads, &n, se->remote) < 0)
		rc = git_fail(se->conn.r->url);
	for (i = 0; rc == 0 && l && i < n; i++)
		if (!strncmp(heads[i]->name, REF_PREFIX, strlen(REF_PREFIX)))
			names_add(l, heads[i]->name);
	/* Each push or fetch connects anew, with its own options. */
	git_remote_disconnect(se->remote);
	return rc;
}

static int
session_open(struct session *se, struct store *s,
	     const struct store_remote *r, git_direction dir)
{
	int rc;

	memset(se, 0, sizeof(*se));
	se->conn.r = r;
	if ((se->repo = local_repo(r->url))) {
		rc = local_list(se, &se->refs);
	} else if (!(se->dir = store_mktemp(s))) {
		return MD_ERROR;
	} else if (git_repository_init(&se->repo, se->dir, 1) < 0) {
		return git_fail(se->dir);
	} else if (git_remote_create_anonymous(&se->remote, se->repo,
					       r->url) < 0) {
		return git_fail(r->url);
	} else {
		rc = remote_list(se, dir, &se->refs);
	}
	if (rc == 0 && se->refs.n)
		qsort(se->refs.v, se->refs.n, sizeof(*se->refs.v), md_strp_cmp);
	return rc;
}

static void
session_close(struct session *se)
{
	git_remote_free(se->remote);
	git_repository_free(se->repo);
	if (se->dir)
		md_fs_rmtree(se->dir);
	free(se->dir);
	names_dispose(&se->refs);
	md_buf_dispose(&se->conn.why);
}

/* refs/mdrun/KEY/RHASH, with two hashes; key and rhash get them. */
static bool
parse_ref(char key[MD_HASH_HEX], char rhash[MD_HASH_HEX], const char *ref)
{
	const char *k = ref + strlen(REF_PREFIX);

	if (strlen(k) != 129 || k[64] != '/')
		return false;
	memcpy(key, k, 64);
	key[64] = '\0';
	memcpy(rhash, k + 65, MD_HASH_HEX);
	return store_is_hash(key) && store_is_hash(rhash);
}

/* --- meta.json ---------------------------------------------------------- */

/*
 * Whether meta's number name, when present (or required), is in [lo, hi]
 * and whole when whole; when not, why says so, what being its range.
 */
static bool
meta_number(struct md_buf *why, const cJSON *meta, const char *name,
	    bool required, bool whole, double lo, double hi, const char *what)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, name);
	double d;

	if (!v && !required)
		return true;
	if (!v || !cJSON_IsNumber(v)) {
		md_buf_printf(why, "meta.json: \"%s\" is %s", name,
			      v ? "not a number" : "missing");
		return false;
	}
	/* NaN fails every comparison, so it is out of range too. */
	d = v->valuedouble;
	if (d >= lo && d <= hi && (!whole || d == floor(d)))
		return true;
	md_buf_printf(why, "meta.json: \"%s\" is %.15g, not %s", name, d,
		      what);
	return false;
}

/* The first number in j, depth first, beyond MAX_NUMBER or not finite. */
static const cJSON *
wild_number(const cJSON *j)
{
	const cJSON *c, *w;

	if (cJSON_IsNumber(j))
		return fabs(j->valuedouble) <= MAX_NUMBER ? NULL : j;
	cJSON_ArrayForEach(c, j)
		if ((w = wild_number(c)))
			return w;
	return NULL;
}

/*
 * Whether the numbers of a realization's meta.json are ones mdrun writes:
 * those the store casts to integers, and the times, in range; all others
 * finite and at most MAX_NUMBER. When not, why names the field and says
 * why. Times run from 1970 to MAX_SKEW past this machine's clock: clocks
 * sharing a remote differ by minutes, or hours with a wrong time zone,
 * not by years. A time beyond is rejected, not clamped: meta.json is in
 * the commit, and a changed one would be pushed on as another commit.
 */
static bool
meta_valid(struct md_buf *why, const cJSON *meta)
{
	double latest = (double)time(NULL) + MAX_SKEW;
	const char *when = "a time from 1970 to a day from now";
	const cJSON *w;

	if (!cJSON_IsObject(meta)) {
		md_buf_puts(why, "meta.json is not a JSON object");
		return false;
	}
	if (!meta_number(why, meta, "exit", true, true, -65535, 65535,
			 "a whole number from -65535 to 65535") ||
	    !meta_number(why, meta, "signal", false, true, 0, 65535,
			 "a whole number from 0 to 65535") ||
	    !meta_number(why, meta, "start", true, false, 1, latest, when) ||
	    !meta_number(why, meta, "end", true, false, 1, latest, when) ||
	    !meta_number(why, meta, "cut", false, true, 0, MAX_NUMBER,
			 "a whole number of bytes") ||
	    !meta_number(why, meta, "stdout_bytes", false, true, 0, MAX_BYTES,
			 "a whole number of bytes up to 1 GiB") ||
	    !meta_number(why, meta, "stderr_bytes", false, true, 0, MAX_BYTES,
			 "a whole number of bytes up to 1 GiB") ||
	    !meta_number(why, meta, "line", false, true, 0, INT_MAX,
			 "a line number") ||
	    !meta_number(why, meta, "version", false, true, 1,
			 STORE_META_VERSION, "a version this mdrun reads"))
		return false;
	w = cJSON_GetObjectItemCaseSensitive(meta, "timed_out");
	if (w && !cJSON_IsBool(w)) {
		md_buf_puts(why, "meta.json: \"timed_out\" is not a boolean");
		return false;
	}
	if ((w = wild_number(meta))) {
		md_buf_printf(why, "meta.json: \"%s\" holds %.15g, beyond %g",
			      w->string ? w->string : "an array",
			      w->valuedouble, MAX_NUMBER);
		return false;
	}
	return true;
}

/* A meta.json text, parsed; NULL (with why set) when it is not JSON. */
static cJSON *
meta_parse(struct md_buf *why, const struct md_buf *text)
{
	cJSON *meta = cJSON_ParseWithLength(text->ptr, text->len);

	if (!meta)
		md_buf_puts(why, "meta.json is not JSON");
	return meta;
}

/*
 * Whether t, seconds since 1970, may be cast to seconds or nanoseconds:
 * 9e9 s is in 2255, and its nanoseconds still fit a long long. Times
 * meta_valid passed always are.
 */
static bool
time_fits(double t)
{
	return t > 0 && t < 9e9;
}

/* --- push -------------------------------------------------------------- */

static bool safe_link(const char *t, size_t n, int depth);
static int tree_of(git_oid *oid, git_repository *repo, const char *dir,
		   int depth, struct md_buf *why);

/*
 * Inserts the entries of folder dir into bld: folders as trees, files as
 * blobs with their executable bit, links as blobs of their target. depth:
 * dir's below out/ (0 for out/ itself, as pull counts). 1, with why set,
 * when a link would make pull refuse it.
 */
static int
add_dir(git_treebuilder *bld, git_repository *repo, const char *dir,
	int depth, struct md_buf *why)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return md_err_sys("%s", dir);
	while (rc == 0 && (e = readdir(d))) {
		git_filemode_t mode = GIT_FILEMODE_BLOB;
		git_oid oid;
		struct stat st;
		char *p;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = md_path_join(dir, e->d_name);
		if (lstat(p, &st) < 0) {
			rc = md_err_sys("%s", p);
		} else if (S_ISDIR(st.st_mode)) {
			mode = GIT_FILEMODE_TREE;
			rc = tree_of(&oid, repo, p, depth + 1, why);
		} else if (S_ISLNK(st.st_mode)) {
			char target[MAX_LINK + 1];
			ssize_t k = readlink(p, target, sizeof(target));

			mode = GIT_FILEMODE_LINK;
			if (k < 0) {
				rc = md_err_sys("%s", p);
			} else if (!safe_link(target, (size_t)k, depth)) {
				/* What pull would refuse is not sent. */
				md_buf_printf(why, "link '%s' is absolute or "
						   "leaves the realization",
					      e->d_name);
				rc = 1;
			} else if (git_blob_create_from_buffer(&oid, repo, target,
							     (size_t)k) < 0)
				rc = git_fail(p);
		} else if (S_ISREG(st.st_mode)) {
			if (st.st_mode & 0111)
				mode = GIT_FILEMODE_BLOB_EXECUTABLE;
			if (git_blob_create_from_disk(&oid, repo, p) < 0)
				rc = git_fail(p);
		} else {
			/* Pull would reject it: not sent, the rest are. */
			md_buf_printf(why, "'%s' is not a file, folder or link",
				      e->d_name);
			rc = 1;
		}
		if (rc == 0 &&
		    git_treebuilder_insert(NULL, bld, e->d_name, &oid, mode) < 0)
			rc = git_fail(p);
		free(p);
	}
	closedir(d);
	return rc;
}

/* The tree of folder dir (add_dir, depth as there) into oid. */
static int
tree_of(git_oid *oid, git_repository *repo, const char *dir, int depth,
	struct md_buf *why)
{
	git_treebuilder *bld = NULL;
	int rc = 0;

	if (git_treebuilder_new(&bld, repo, NULL) < 0 ||
	    (rc = add_dir(bld, repo, dir, depth, why)) != 0 ||
	    git_treebuilder_write(oid, bld) < 0)
		rc = rc != 0 ? rc : git_fail(dir);
	git_treebuilder_free(bld);
	return rc;
}

/* Inserts the bytes of b into bld as the file name of ref's tree. */
static int
add_blob(git_treebuilder *bld, git_repository *repo, const char *ref,
	 const char *name, const struct md_buf *b)
{
	git_oid oid;

	if (git_blob_create_from_buffer(&oid, repo, b->ptr, b->len) < 0 ||
	    git_treebuilder_insert(NULL, bld, name, &oid,
				   GIT_FILEMODE_BLOB) < 0)
		return md_err_set("%s: %s: %s", ref, name, git_why());
	return 0;
}

/*
 * The tree "blobs" of a realization: the contents its writes keep (the
 * "HASH PATH" lines of writes), each a file named by its hash, into
 * parent; none when there are none.
 */
static int
add_blobs(git_treebuilder *parent, git_repository *repo, struct store *s,
	  const char *ref, const struct md_buf *writes)
{
	const char *p = writes->ptr, *end = writes->ptr + writes->len, *path;
	struct md_buf data = MD_BUF_INIT;
	git_treebuilder *bld = NULL;
	char hash[MD_HASH_HEX];
	size_t n = 0;
	git_oid oid;
	int rc = 0, len;

	if (git_treebuilder_new(&bld, repo, NULL) < 0)
		return md_err_set("%s: %s", ref, git_why());
	while (rc == 0 && store_next_kept(&p, end, hash, &path, &len)) {
		md_buf_clear(&data);
		if ((rc = store_blob(&data, s, hash)) == 0 &&
		    (rc = add_blob(bld, repo, ref, hash, &data)) == 0)
			n++;
	}
	if (rc == 0 && n &&
	    (git_treebuilder_write(&oid, bld) < 0 ||
	     git_treebuilder_insert(NULL, parent, "blobs", &oid,
				    GIT_FILEMODE_TREE) < 0))
		rc = md_err_set("%s: blobs: %s", ref, git_why());
	git_treebuilder_free(bld);
	md_buf_dispose(&data);
	return rc;
}

/* The drv.json text of key (table drv), appended to out. */
static int
read_drv(struct md_buf *out, struct store *s, const char *key)
{
	sqlite3_stmt *st;
	int rc, step;

	if ((rc = store_begin(s, false)) < 0)
		return rc;
	if (!(st = store_prepare(s, "SELECT fields FROM drv WHERE key = ?")))
		return store_end(s, MD_ERROR);
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK)
		rc = store_db_err(s, "drv");
	else if ((step = sqlite3_step(st)) == SQLITE_DONE)
		rc = md_err_set("%s: key %s has no drv", s->db_path, key);
	else if (step != SQLITE_ROW)
		rc = store_db_err(s, "drv");
	else if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		 (size_t)sqlite3_column_bytes(st, 0) > STORE_RECORD_MAX)
		rc = md_err_set("%s: the drv of key %s is not a drv text",
				s->db_path, key);
	else
		md_buf_put(out, (const char *)sqlite3_column_text(st, 0),
			   (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return store_end(s, rc);
}

/*
 * The commit of realization rhash of key, under its ref in repo; 1, with
 * why set, when it is not to be shared. The tree holds the very bytes a
 * realization folder of a v1 store held (its meta.json, stdout, stderr
 * when not empty, out/), so either store pushes the same commit; and its
 * ordered output list as outputs when it has one.
 */
static int
commit_real(git_repository *repo, struct store *s, const char *key,
	    const char *rhash, const char *ref, struct md_buf *why)
{
	struct md_buf drv = MD_BUF_INIT, text = MD_BUF_INIT, so = MD_BUF_INIT;
	struct md_buf se = MD_BUF_INIT, msg = MD_BUF_INIT, outs = MD_BUF_INIT;
	struct md_buf reads = MD_BUF_INIT, writes = MD_BUF_INIT;
	char *objdir = NULL;
	cJSON *meta = NULL;
	git_treebuilder *bld = NULL;
	git_signature *sig = NULL;
	git_reference *r = NULL;
	git_tree *tree = NULL;
	git_time_t when = 0;
	bool files = false;
	double start;
	git_oid oid;
	int rc;

	if ((rc = store_real_parts(s, key, rhash, &text, &so, &se, &outs,
				   &reads, &writes, &files)) < 0 ||
	    (rc = read_drv(&drv, s, key)) < 0)
		goto done;
	/* What pull would reject is not sent; nor stops the rest. */
	if (!(meta = meta_parse(why, &text)) || !meta_valid(why, meta)) {
		rc = 1;
		goto done;
	}
	start = cJSON_GetObjectItemCaseSensitive(meta, "start")->valuedouble;
	if (time_fits(start))
		when = (git_time_t)start;
	if (git_treebuilder_new(&bld, repo, NULL) < 0) {
		rc = git_fail(ref);
		goto done;
	}
	if ((rc = add_blob(bld, repo, ref, "drv.json", &drv)) < 0 ||
	    (rc = add_blob(bld, repo, ref, "meta.json", &text)) < 0 ||
	    (rc = add_blob(bld, repo, ref, "stdout", &so)) < 0 ||
	    (se.len && (rc = add_blob(bld, repo, ref, "stderr", &se)) < 0) ||
	    (outs.len && (rc = add_blob(bld, repo, ref, "outputs", &outs)) < 0) ||
	    (reads.len && (rc = add_blob(bld, repo, ref, "reads", &reads)) < 0) ||
	    (writes.len &&
	     ((rc = add_blob(bld, repo, ref, "writes", &writes)) < 0 ||
	      (rc = add_blobs(bld, repo, s, ref, &writes)) < 0)))
		goto done;
	if (files) {
		objdir = store_object_dir(s, rhash);
		if ((rc = tree_of(&oid, repo, objdir, 0, why)) != 0)
			goto done;
		if (git_treebuilder_insert(NULL, bld, "out", &oid,
					   GIT_FILEMODE_TREE) < 0) {
			rc = git_fail(objdir);
			goto done;
		}
	}
	md_buf_printf(&msg, "mdrun %s %s\n", key, rhash);
	if (git_treebuilder_write(&oid, bld) < 0 ||
	    git_tree_lookup(&tree, repo, &oid) < 0 ||
	    git_signature_new(&sig, "mdrun", "mdrun@localhost", when, 0) < 0 ||
	    git_commit_create(&oid, repo, NULL, sig, sig, NULL, msg.ptr, tree,
			      0, NULL) < 0 ||
	    git_reference_create(&r, repo, ref, &oid, 1, NULL) < 0)
		rc = git_fail(ref);
done:
	cJSON_Delete(meta);
	git_reference_free(r);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(bld);
	md_buf_dispose(&drv);
	md_buf_dispose(&text);
	md_buf_dispose(&so);
	md_buf_dispose(&se);
	md_buf_dispose(&outs);
	md_buf_dispose(&reads);
	md_buf_dispose(&writes);
	md_buf_dispose(&msg);
	free(objdir);
	return rc;
}

/* refs/mdrun/KEY/RHASH of each realization a run record names. */
static int
local_refs(struct names *out, struct store *s)
{
	char **keys = NULL;
	size_t nkeys = 0, i, j, k;
	int rc;

	if ((rc = store_keys(&keys, &nkeys, s)) < 0)
		return rc;
	for (i = 0; i < nkeys && rc == 0; i++) {
		struct store_run *runs = NULL;
		size_t n = 0;

		if ((rc = store_runs(&runs, &n, s, keys[i])) < 0)
			break;
		for (j = 0; j < n; j++) {
			struct md_buf name = MD_BUF_INIT;

			for (k = 0; k < j; k++)
				if (!strcmp(runs[k].rhash, runs[j].rhash))
					break;
			if (k < j)
				continue; /* another run of it */
			md_buf_printf(&name, REF_PREFIX "%s/%s", keys[i],
				      runs[j].rhash);
			names_add(out, name.ptr);
			md_buf_dispose(&name);
		}
		free(runs);
	}
	store_keys_free(keys, nkeys);
	return rc;
}

/* "REF:REF" for refs [from, to) of l. Free with md_strv_free(.strings). */
static git_strarray
refspecs(const struct names *l, size_t from, size_t to)
{
	git_strarray a = { md_calloc(to - from + 1, sizeof(char *)),
			   to - from };
	struct md_buf spec = MD_BUF_INIT;

	for (size_t i = from; i < to; i++) {
		md_buf_printf(&spec, "%s:%s", l->v[i], l->v[i]);
		a.strings[i - from] = md_buf_detach(&spec);
	}
	return a;
}

/* Pushes or fetches refs [from, to) of l, each to the same name. */
static int
transfer(struct session *se, const struct names *l, size_t from, size_t to,
	 bool push)
{
	git_push_options po;
	git_fetch_options fo;
	git_strarray specs = refspecs(l, from, to);
	struct conn *c = &se->conn;
	int rc = 0, err;

	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	conn_options(&po.callbacks, &po.custom_headers, c);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	conn_options(&fo.callbacks, &fo.custom_headers, c);
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	err = push ? git_remote_push(se->remote, &specs, &po)
		   : git_remote_fetch(se->remote, &specs, &fo, NULL);
	if (err < 0)
		rc = git_fail(c->r->url);
	else if (c->refused)
		rc = md_err_set("%s: refused %zu ref%s; %s", c->r->url,
				c->refused, c->refused == 1 ? "" : "s",
				c->why.ptr);
	md_strv_free(specs.strings);
	return rc;
}

int
store_push(struct store_remote_stats *out, struct store *s,
	   const struct store_remote *r)
{
	struct session se;
	struct names mine = { NULL, 0, 0 }, todo = { NULL, 0, 0 };
	struct md_buf why = MD_BUF_INIT;
	char key[MD_HASH_HEX], rhash[MD_HASH_HEX];
	int lock = store_lock_store(s, false), rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&se, 0, sizeof(se));
	if (lock < 0)
		return lock;
	if ((rc = md_git2_init()) < 0) {
		store_unlock(lock);
		return rc;
	}
	if ((rc = local_refs(&mine, s)) < 0 ||
	    (rc = session_open(&se, s, r, GIT_DIRECTION_PUSH)) < 0)
		goto done;
	for (i = 0; i < mine.n; i++) {
		if (names_has(&se.refs, mine.v[i])) {
			out->present++;
			continue;
		}
		parse_ref(key, rhash, mine.v[i]);
		md_buf_clear(&why);
		if ((rc = commit_real(se.repo, s, key, rhash, mine.v[i],
				      &why)) < 0)
			goto done;
		if (rc > 0) {
			out->rejected++;
			if (r->reject)
				r->reject(mine.v[i], why.ptr, r->ctx);
			rc = 0;
			continue;
		}
		names_add(&todo, mine.v[i]);
	}
	for (i = 0; i < todo.n && rc == 0; i += BATCH) {
		size_t end = i + BATCH < todo.n ? i + BATCH : todo.n;

		if (!se.remote || (rc = transfer(&se, &todo, i, end, true)) == 0)
			out->moved = end; /* without a remote: refs made */
	}
done:
	session_close(&se);
	names_dispose(&mine);
	names_dispose(&todo);
	md_buf_dispose(&why);
	git_libgit2_shutdown();
	store_unlock(lock);
	return rc;
}

/* --- pull -------------------------------------------------------------- */

/* Pulling one ref: where its objects are, its size so far, and why it is
 * rejected (empty while it is not). */
struct check {
	git_repository *repo;
	git_odb *odb;
	unsigned long long bytes;
	size_t entries;
	struct md_buf why;
};

/* Records why the ref is rejected; returns 1. */
static int
reject(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
reject(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->why.len) {
		va_start(ap, fmt);
		md_buf_vprintf(&c->why, fmt, ap);
		va_end(ap);
	}
	return 1;
}

/*
 * Whether a link's target, for a link depth folders below out/, stays in
 * out/: relative, its ".." components all leading and no more than depth.
 * The folders above a link are real ones (pull makes them), so leading
 * ".."s climb as written; what follows only descends, through links that
 * by the same rule stay in out/ too.
 */
static bool
safe_link(const char *t, size_t n, int depth)
{
	size_t i = 0;
	int up = 0;
	bool down = false;

	if (n == 0 || n > MAX_LINK || memchr(t, '\0', n) || t[0] == '/')
		return false;
	while (i < n) {
		size_t k = i;
		while (k < n && t[k] != '/')
			k++;
		if (k - i == 2 && t[i] == '.' && t[i + 1] == '.') {
			if (down || ++up > depth)
				return false;
		} else if (k > i && !(k - i == 1 && t[i] == '.')) {
			down = true;
		}
		i = k + 1;
	}
	return true;
}

static bool
safe_name(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") &&
	       !strchr(name, '/');
}

/* Writes blob id at path, its size counted against the limit first. */
static int
write_blob(struct check *c, const git_oid *id, const char *path,
	   git_filemode_t mode, const char *name, int depth)
{
	git_object_t type;
	git_blob *b = NULL;
	size_t size;
	const char *data;
	int rc = 0;

	if (git_odb_read_header(&size, &type, c->odb, id) < 0 ||
	    type != GIT_OBJECT_BLOB)
		return reject(c, "'%s' is not a blob", name);
	if ((c->bytes += size) > MAX_BYTES)
		return reject(c, "more than 1 GiB of files");
	if (git_blob_lookup(&b, c->repo, id) < 0)
		return reject(c, "'%s' cannot be read: %s", name, git_why());
	data = git_blob_rawcontent(b);
	size = (size_t)git_blob_rawsize(b);
	if (mode == GIT_FILEMODE_LINK) {
		struct md_buf t = MD_BUF_INIT;

		md_buf_put(&t, data, size);
		if (!safe_link(data, size, depth))
			rc = reject(c, "link '%s' is absolute or leaves the "
				       "realization", name);
		else if (symlink(t.ptr, path) < 0)
			rc = md_err_sys("%s", path);
		md_buf_dispose(&t);
	} else {
		rc = md_fs_write_new(path, data, size,
				     mode == GIT_FILEMODE_BLOB_EXECUTABLE
					     ? 0755 : 0644);
	}
	git_blob_free(b);
	return rc;
}

static int write_tree(struct check *c, const git_tree *t, const char *dir,
		      const char *rel, int depth);

/*
 * Writes entry e of a tree into folder dir, which is rel in the
 * realization (NULL at its top) and depth folders below out/: returns 0,
 * 1 when the ref is to be rejected (c->why says why), or an error.
 */
static int
write_entry(struct check *c, const git_tree_entry *e, const char *dir,
	    const char *rel, int depth)
{
	const char *name = git_tree_entry_name(e);
	git_filemode_t mode = git_tree_entry_filemode_raw(e);
	git_tree *sub = NULL;
	char *p, *r;
	int rc;

	if (++c->entries > MAX_ENTRIES)
		return reject(c, "more than %d entries", MAX_ENTRIES);
	if (!safe_name(name))
		return reject(c, "an entry named '%s' in %s", name,
			      rel ? rel : "the top");
	if (strlen(name) > MAX_NAME)
		return reject(c, "a name of %zu bytes in %s (at most %d)",
			      strlen(name), rel ? rel : "the top", MAX_NAME);
	p = md_path_join(dir, name);
	r = rel ? md_path_join(rel, name) : md_strdup(name);
	/* Deep folders of long names: more than a render would commit. */
	if (strlen(p) >= PATH_MAX ||
	    strlen(r) > STORE_OUT_PATH_MAX + sizeof("out/") - 1) {
		rc = reject(c, "a path of %zu bytes in out/, too long for "
			       "this store", strlen(r));
	} else if (md_fs_exists(p)) {
		rc = reject(c, "'%s' twice", r);
	} else if (mode == GIT_FILEMODE_TREE) {
		if (git_tree_lookup(&sub, c->repo, git_tree_entry_id(e)) < 0)
			rc = reject(c, "'%s' is not a tree: %s", r,
				    git_why());
		else if (mkdir(p, 0755) < 0)
			rc = md_err_sys("%s", p);
		else
			rc = write_tree(c, sub, p, r, depth + 1);
		git_tree_free(sub);
	} else if (mode == GIT_FILEMODE_BLOB ||
		   mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
		   mode == GIT_FILEMODE_LINK) {
		rc = write_blob(c, git_tree_entry_id(e), p, mode, r, depth);
	} else if (mode == GIT_FILEMODE_COMMIT) {
		rc = reject(c, "'%s' is a submodule", r);
	} else {
		rc = reject(c, "'%s' has mode %o", r, (unsigned)mode);
	}
	free(p);
	free(r);
	return rc;
}

/* Writes tree t into folder dir (existing), as write_entry each entry. */
static int
write_tree(struct check *c, const git_tree *t, const char *dir,
	   const char *rel, int depth)
{
	size_t i, n = git_tree_entrycount(t);
	int rc = 0;

	if (depth > MAX_DEPTH)
		return reject(c, "folders nested more than %d deep", MAX_DEPTH);
	for (i = 0; i < n && rc == 0; i++)
		rc = write_entry(c, git_tree_entry_byindex(t, i), dir, rel,
				 depth);
	return rc;
}

/*
 * Writes the realization tree t into folder real (existing) and its
 * drv.json's bytes into drv: only meta.json, stdout, stderr, outputs,
 * reads, writes (files), out/ and blobs/ (trees) besides drv.json.
 */
static int
write_real(struct check *c, struct md_buf *drv, const git_tree *t,
	   const char *real)
{
	static const char *files[] = { "meta.json", "stdout", "stderr",
				       "outputs", "reads", "writes" };
	size_t i, k, n = git_tree_entrycount(t);
	bool has_drv = false, has_meta = false;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode_raw(e);
		git_object_t type;
		git_blob *b = NULL;
		size_t size;

		for (k = 0; k < 6 && strcmp(name, files[k]); k++)
			;
		if ((k < 6 && mode == GIT_FILEMODE_BLOB) ||
		    ((!strcmp(name, "out") || !strcmp(name, "blobs")) &&
		     mode == GIT_FILEMODE_TREE)) {
			has_meta |= k == 0;
			/* out/ is folder -1 so that its entries are at 0. */
			rc = write_entry(c, e, real, NULL, -1);
		} else if (strcmp(name, "drv.json") ||
			   mode != GIT_FILEMODE_BLOB) {
			rc = reject(c, "unexpected entry '%s' (mode %o)", name,
				    (unsigned)mode);
		} else if (git_odb_read_header(&size, &type, c->odb,
					       git_tree_entry_id(e)) < 0 ||
			   type != GIT_OBJECT_BLOB || size > (1 << 24)) {
			rc = reject(c, "drv.json is not a small file");
		} else if (git_blob_lookup(&b, c->repo,
					   git_tree_entry_id(e)) < 0) {
			rc = reject(c, "drv.json cannot be read: %s",
				    git_why());
		} else {
			has_drv = true;
			md_buf_put(drv, git_blob_rawcontent(b),
				   (size_t)git_blob_rawsize(b));
		}
		git_blob_free(b);
	}
	if (rc == 0 && (!has_drv || !has_meta))
		rc = reject(c, "no %s", has_drv ? "meta.json" : "drv.json");
	return rc;
}

/*
 * The drv.json text the store writes for the fields of text, when they
 * hash to key; 1 (rejected) otherwise.
 */
static int
check_drv(struct check *c, char **out, const struct md_buf *text,
	  const char *key)
{
	cJSON *drv = cJSON_ParseWithLength(text->ptr ? text->ptr : "",
					   text->len);
	cJSON *fields = cJSON_GetObjectItem(drv, "fields"), *f;
	struct store_field *v = NULL;
	char again[MD_HASH_HEX];
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (!cJSON_IsObject(drv) || !cJSON_IsObject(fields)) {
		rc = reject(c, "drv.json is malformed");
		goto done;
	}
	cJSON_ArrayForEach(f, fields)
	{
		if (!cJSON_IsString(f)) {
			rc = reject(c, "drv.json: field '%s' is not a string",
				    f->string);
			goto done;
		}
		v = md_realloc(v, (n + 1) * sizeof(*v));
		v[n].name = f->string;
		v[n++].value = f->valuestring;
	}
	store_key(again, v, n);
	if (strcmp(again, key)) {
		rc = reject(c, "drv.json does not hash to its key");
		goto done;
	}
	*out = store_drv_json(v, n);
done:
	free(v);
	cJSON_Delete(drv);
	return rc;
}

/*
 * Whether the sizes meta.json gives stdout and stderr are theirs in
 * folder real; when not, why says so.
 */
static bool
sizes_match(struct md_buf *why, const cJSON *meta, const char *real)
{
	static const char *files[] = { "stdout", "stderr" };
	struct md_buf field = MD_BUF_INIT;
	bool ok = true;

	for (size_t i = 0; i < 2 && ok; i++) {
		const cJSON *v;
		struct stat st;
		char *p = md_path_join(real, files[i]);
		double has = lstat(p, &st) == 0 ? (double)st.st_size : 0;

		md_buf_clear(&field);
		md_buf_printf(&field, "%s_bytes", files[i]);
		v = cJSON_GetObjectItemCaseSensitive(meta, field.ptr);
		if (v && v->valuedouble != has) {
			md_buf_printf(why, "meta.json: \"%s\" is %.15g, but %s "
					   "has %.15g bytes",
				      field.ptr, v->valuedouble, files[i], has);
			ok = false;
		}
		free(p);
	}
	md_buf_dispose(&field);
	return ok;
}

/* 1 when the store has realization rhash of key, 0 when not, or an error. */
static int
real_present(struct store *s, const char *key, const char *rhash)
{
	int rc = store_real_parts(s, key, rhash, NULL, NULL, NULL, NULL, NULL,
				  NULL, NULL);

	return rc == 0 ? 1 : rc == MD_ENOTFOUND ? 0 : rc;
}

/*
 * meta.json's text (real's, into text) parses, its numbers are ones
 * mdrun writes (meta_valid) and its sizes the files' (sizes_match); its
 * own "key" and "rhash", when given, are the ref's.
 */
static int
check_meta(struct check *c, struct md_buf *text, const char *real,
	   const char *key, const char *rhash)
{
	struct md_buf why = MD_BUF_INIT;
	char *path = md_path_join(real, "meta.json");
	cJSON *meta = NULL, *k, *r;
	int rc = 0;

	if (md_fs_read_regular(text, path, STORE_RECORD_MAX) < 0) {
		rc = reject(c, "%s", md_err_msg());
		goto done;
	}
	/* The store keeps it as text: a NUL would cut it short. */
	if (memchr(text->ptr, '\0', text->len)) {
		rc = reject(c, "meta.json holds a NUL byte");
		goto done;
	}
	meta = meta_parse(&why, text);
	k = cJSON_GetObjectItem(meta, "key");
	r = cJSON_GetObjectItem(meta, "rhash");
	if (!meta || !meta_valid(&why, meta) || !sizes_match(&why, meta, real))
		rc = reject(c, "%s", why.ptr);
	else if ((k && (!cJSON_IsString(k) || strcmp(k->valuestring, key))) ||
		 (r && (!cJSON_IsString(r) || strcmp(r->valuestring, rhash))))
		rc = reject(c, "meta.json names another realization");
done:
	cJSON_Delete(meta);
	md_buf_dispose(&why);
	free(path);
	return rc;
}

/*
 * Parses meta (real's meta.json text) into m and recomputes the rhash of
 * folder real (store_rhash: stdout, stderr, outputs, m's exit record,
 * out/): 1
 * (rejected) when it is not rhash, or real has no stdout.
 */
/*
 * Each file of real/blobs is named by its own SHA-256, and each content
 * writes says it keeps ("HASH PATH" lines) is there: 0, else 1
 * (rejected).
 */
static int
check_blobs(struct check *c, const char *real, const struct md_buf *writes)
{
	char *dir = md_path_join(real, "blobs"), *path = NULL;
	const char *p = writes->ptr, *end = writes->ptr + writes->len, *name;
	struct md_buf data = MD_BUF_INIT;
	char hash[MD_HASH_HEX];
	char **names = NULL;
	size_t n = 0, i;
	int rc = md_fs_list(&names, &n, dir), len;

	for (i = 0; rc == 0 && i < n; i++) {
		free(path);
		path = md_path_join(dir, names[i]);
		md_buf_clear(&data);
		if ((rc = md_fs_read_regular(&data, path, 0)) < 0)
			break;
		md_hash_bytes(hash, data.ptr ? data.ptr : "", data.len);
		if (strcmp(hash, names[i]))
			rc = reject(c, "blobs/%s does not match its name",
				    names[i]);
	}
	while (rc == 0 && store_next_kept(&p, end, hash, &name, &len)) {
		struct stat sb;

		md_buf_clear(&data);
		md_buf_printf(&data, "%s/%s", dir, hash);
		if (!store_is_hash(hash))
			rc = reject(c, "writes: %.*s has no hash", len, name);
		else if (lstat(data.ptr, &sb) < 0 || !S_ISREG(sb.st_mode))
			rc = reject(c, "the content of %.*s it wrote is "
				       "missing", len, name);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(path);
	free(dir);
	md_buf_dispose(&data);
	return rc;
}

static int
check_rhash(struct check *c, struct store_real *m, const struct md_buf *meta,
	    const char *real, const char *rhash)
{
	struct md_buf so = MD_BUF_INIT, se = MD_BUF_INIT, outs = MD_BUF_INIT;
	struct md_buf reads = MD_BUF_INIT, writes = MD_BUF_INIT;
	char *reads_path = md_path_join(real, "reads");
	char *writes_path = md_path_join(real, "writes");
	char *so_path = md_path_join(real, "stdout");
	char *se_path = md_path_join(real, "stderr");
	char *outs_path = md_path_join(real, "outputs");
	char *out = md_path_join(real, "out");
	char again[MD_HASH_HEX];
	int rc;

	if (store_parse_meta(m, meta->ptr, meta->len, "meta.json") < 0)
		rc = reject(c, "%s", md_err_msg());
	else if ((rc = md_fs_read_regular(&so, so_path, 0)) == MD_ENOTFOUND)
		rc = reject(c, "no stdout");
	/* An empty stderr has no file. */
	else if (rc == 0 && (rc = md_fs_read_regular(&se, se_path, 0)) ==
				    MD_ENOTFOUND)
		rc = 0;
	/* Nor has a run that gave only stdout and stderr an output list. */
	if (rc == 0 && (rc = md_fs_read_regular(&outs, outs_path, 0)) ==
			       MD_ENOTFOUND)
		rc = 0;
	if (rc == 0 && (rc = md_fs_read_regular(&reads, reads_path, 0)) ==
			       MD_ENOTFOUND)
		rc = 0;
	if (rc == 0 && (rc = md_fs_read_regular(&writes, writes_path, 0)) ==
			       MD_ENOTFOUND)
		rc = 0;
	if (rc == 0 && (rc = store_rhash(again, so.ptr, so.len, se.ptr, se.len,
					 outs.ptr, outs.len, reads.ptr,
					 reads.len, writes.ptr, writes.len,
					 &m->exit, out)) == 0 &&
	    strcmp(again, rhash))
		rc = reject(c, "its content does not match its hash");
	if (rc == 0)
		rc = check_blobs(c, real, &writes);
	md_buf_dispose(&so);
	md_buf_dispose(&se);
	md_buf_dispose(&outs);
	md_buf_dispose(&reads);
	md_buf_dispose(&writes);
	free(reads_path);
	free(writes_path);
	free(so_path);
	free(se_path);
	free(outs_path);
	free(out);
	return rc;
}

/*
 * Takes ref (fetched into the session's repository) into the store.
 * Returns 0 when pulled, 1 when rejected (c->why), 2 when the store got
 * it meanwhile, or an error.
 */
static int
pull_one(struct check *c, struct store *s, const char *ref, const char *key,
	 const char *rhash)
{
	struct md_buf drvtext = MD_BUF_INIT, text = MD_BUF_INIT;
	struct store_real meta;
	git_object *obj = NULL, *commit = NULL;
	git_tree *tree = NULL;
	git_oid id;
	char *tmp = NULL, *real = NULL, *drv = NULL;
	int lock = -1, rc;

	memset(&meta, 0, sizeof(meta));
	if (git_reference_name_to_id(&id, c->repo, ref) < 0 ||
	    git_object_lookup(&obj, c->repo, &id, GIT_OBJECT_ANY) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0 ||
	    git_commit_tree(&tree, (git_commit *)commit) < 0) {
		rc = reject(c, "not a commit of a tree: %s", git_why());
		goto done;
	}
	if (!(tmp = store_tmp_dir(s))) {
		rc = MD_ERROR;
		goto done;
	}
	real = md_path_join(tmp, rhash);
	if (mkdir(real, 0755) < 0) {
		rc = md_err_sys("%s", real);
		goto done;
	}
	if ((rc = write_real(c, &drvtext, tree, real)) != 0 ||
	    (rc = check_drv(c, &drv, &drvtext, key)) != 0 ||
	    (rc = check_meta(c, &text, real, key, rhash)) != 0 ||
	    (rc = check_rhash(c, &meta, &text, real, rhash)) != 0)
		goto done;
	if ((lock = store_lock_key(s, key)) < 0) {
		rc = lock;
		goto done;
	}
	if ((rc = real_present(s, key, rhash)) != 0) {
		rc = rc > 0 ? 2 : rc;
		goto done;
	}
	rc = store_publish(s, key, drv, rhash, real, store_real_failed(&meta),
			   meta.cut,
			   time_fits(meta.start) ? (long long)(meta.start * 1e9)
						 : 0);
done:
	store_unlock(lock);
	if (tmp)
		md_fs_rmtree(tmp);
	git_tree_free(tree);
	git_object_free(commit);
	git_object_free(obj);
	store_real_dispose(&meta);
	md_buf_dispose(&drvtext);
	md_buf_dispose(&text);
	free(drv);
	free(real);
	free(tmp);
	return rc;
}

/*
 * Fetches refs [from, to) of l. libgit2 parses each tree it fetches, so
 * one malformed ref fails a fetch as a whole: while the remote still
 * answers, the range is halved until each such ref is alone, and bad[i]
 * gets why ref i cannot be fetched. An error when the remote does not
 * answer.
 */
static int
fetch(struct session *se, const struct names *l, size_t from, size_t to,
      char **bad)
{
	size_t mid = from + (to - from) / 2;
	char *why;
	int rc;

	if (transfer(se, l, from, to, false) == 0)
		return 0;
	if (to - from > 1) {
		if ((rc = fetch(se, l, from, mid, bad)) < 0)
			return rc;
		return fetch(se, l, mid, to, bad);
	}
	why = md_strdup(git_why());
	if ((rc = remote_list(se, GIT_DIRECTION_FETCH, NULL)) == 0)
		bad[from] = why;
	else
		free(why);
	return rc;
}

int
store_pull(struct store_remote_stats *out, struct store *s,
	   const struct store_remote *r)
{
	struct session se;
	struct names todo = { NULL, 0, 0 };
	struct check c;
	char key[MD_HASH_HEX], rhash[MD_HASH_HEX];
	char **bad = NULL; /* why each ref of todo could not be fetched */
	int lock = store_lock_store(s, false), rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&se, 0, sizeof(se));
	memset(&c, 0, sizeof(c));
	if (lock < 0)
		return lock;
	if ((rc = md_git2_init()) < 0) {
		store_unlock(lock);
		return rc;
	}
	if ((rc = session_open(&se, s, r, GIT_DIRECTION_FETCH)) < 0)
		goto done;
	for (i = 0; i < se.refs.n; i++) {
		const char *ref = se.refs.v[i];
		int has;

		if (strlen(ref) > 3 && !strcmp(ref + strlen(ref) - 3, "^{}"))
			continue; /* a tag's peeled twin */
		if (!parse_ref(key, rhash, ref)) {
			if (r->reject)
				r->reject(ref, "not refs/mdrun/KEY/RHASH",
					  r->ctx);
			out->rejected++;
			continue;
		}
		if ((has = real_present(s, key, rhash)) < 0) {
			rc = has;
			goto done;
		}
		if (has)
			out->present++;
		else
			names_add(&todo, ref);
	}
	bad = md_calloc(todo.n + 1, sizeof(*bad));
	/* A remote on this machine is read in place: nothing to fetch. */
	for (i = 0; se.remote && i < todo.n && rc == 0; i += BATCH)
		rc = fetch(&se, &todo, i,
			   i + BATCH < todo.n ? i + BATCH : todo.n, bad);
	if (rc < 0 || (todo.n && git_repository_odb(&c.odb, se.repo) < 0)) {
		rc = rc < 0 ? rc : git_fail(se.dir ? se.dir : r->url);
		goto done;
	}
	c.repo = se.repo;
	for (i = 0; i < todo.n; i++) {
		parse_ref(key, rhash, todo.v[i]);
		c.bytes = 0;
		c.entries = 0;
		md_buf_clear(&c.why);
		if (bad[i])
			rc = reject(&c, "cannot be fetched: %s", bad[i]);
		else if ((rc = pull_one(&c, s, todo.v[i], key, rhash)) < 0)
			goto done;
		if (rc == 1) {
			if (r->reject)
				r->reject(todo.v[i], c.why.ptr, r->ctx);
			out->rejected++;
		}
		out->moved += rc == 0;
		out->present += rc == 2;
	}
	rc = out->moved ? store_sync(s) : 0;
done:
	for (i = 0; bad && i < todo.n; i++)
		free(bad[i]);
	free(bad);
	git_odb_free(c.odb);
	md_buf_dispose(&c.why);
	session_close(&se);
	names_dispose(&todo);
	git_libgit2_shutdown();
	store_unlock(lock);
	return rc;
}
