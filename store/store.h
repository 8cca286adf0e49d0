/*
 * The on-disk store: immutable, content-addressed realizations of keys.
 *
 *   ROOT/VERSION               format version ("1"); a newer one is refused
 *   ROOT/CACHEDIR.TAG          so backup tools skip the store
 *   ROOT/store/KEY/drv.json    what was hashed into KEY, readable
 *   ROOT/store/KEY/RHASH/      one realization: meta.json, stdout, stderr
 *   ROOT/interp/ID             memoized interpreter identities
 *   ROOT/tmp/                  realizations being built
 *
 * A realization is built in tmp/, renamed into place, then made read-only
 * (files 0444, folders 0555): if its folder exists, it is complete. RHASH
 * is the SHA-256 of its outputs and exit status, so two equal runs share
 * one realization. The store knows keys and bytes, not documents.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"
#include "../util/hash.h"

#define STORE_VERSION 1

struct store;

/* What one run produced, handed to store_commit. Borrowed. */
struct store_result {
	const char *out;
	size_t out_len;
	const char *err;
	size_t err_len;
	int exit_code; /* meaningful when signal == 0 */
	int signal;    /* the signal that ended it, or 0 */
	bool timed_out;
	double start, end; /* seconds since the epoch */
	/* Provenance for meta.json; not part of the realization's hash. */
	const char *interpreter;
	const char *document;
	int line;
};

/* A realization read back from the store. Dispose with store_real_dispose. */
struct store_real {
	char rhash[MD_HASH_HEX];
	struct md_buf out, err;
	int exit_code;
	int signal;
	bool timed_out;
	double start, end;
};

/*
 * Opens (creating when missing) the store at root. Caller frees with
 * store_close.
 */
int store_open(struct store **out, const char *root);
void store_close(struct store *s);
/* Borrowed; valid until store_close. */
const char *store_root(const struct store *s);

/*
 * Finds the latest successful realization of key (failures count when
 * accept_failed). MD_ENOTFOUND when there is none.
 */
int store_lookup(struct store_real *out, struct store *s, const char *key,
		 bool accept_failed);
void store_real_dispose(struct store_real *r);
bool store_real_failed(const struct store_real *r);

/*
 * Commits a realization of key: writes drv (JSON text describing what was
 * hashed) beside it when new, and the rhash into out.
 */
int store_commit(char out[MD_HASH_HEX], struct store *s, const char *key,
		 const char *drv, const struct store_result *r);

/* A small memo (name -> value) kept in the store. MD_ENOTFOUND if absent. */
int store_memo_get(struct md_buf *out, struct store *s, const char *name);
int store_memo_put(struct store *s, const char *name, const char *val,
		   size_t n);

/* Makes what was committed durable: one syncfs for the whole store. */
int store_sync(struct store *s);

#endif
