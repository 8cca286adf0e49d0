/*
 * Input tracking: the files a block reads complete its key after the
 * fact. The processes a block runs (a session's interpreter, a process
 * block, a kernel, and all they start) load mdrun-track.so
 * (track_preload.c), which appends "R PATH", "A PATH" (absent), "W PATH", "U PATH" (updated),
 * "P PATH" (appended to) and "D PATH" lines
 * to a log for every file under the tracked root that they read, write
 * or remove. After a block, the lines it added become its reads: each
 * file it read and did not write or remove, still there, with its
 * SHA-256, as text the realization keeps:
 *
 *   HASH PATH\n ...       PATH relative to the document's folder
 *                         ("../lib/x.py" too), sorted, each once
 *   - PATH\n              a file it looked for and did not find
 *
 * A realization with reads is shown only while every file still has that
 * hash (md_track_check); else the block runs again. Hashes go through a
 * stat cache: a file whose size, mtime, ctime, inode and device are as
 * when it was hashed is not read again.
 */
#ifndef MD_TRACK_H
#define MD_TRACK_H

#include <stdbool.h>
#include <stddef.h>

#include "../../util/buf.h"

/*
 * What a render tracks: files under root (the repository's work tree,
 * else the document's folder), none under the ':' separated folders of
 * skip (the store, the output's files). root NULL: nothing is tracked.
 */
struct md_track_where {
	const char *root;
	const char *skip;
	size_t write_max; /* MD_TRACK_WRITE_MAX when 0 */
};

/* mdrun-track.so beside mdrun's own binary, or NULL when missing. */
const char *md_track_lib(void);

/*
 * The environment entries (malloc'd, 4) that make a process track into
 * log: LD_PRELOAD (the library first, then what the environment had),
 * MDRUN_TRACK, MDRUN_TRACK_ROOT=root, MDRUN_TRACK_SKIP=skip. Returns how
 * many it set: 0 when the library is missing.
 */
size_t md_track_env(char *out[5], const char *log, const char *root,
		    const char *skip);

/* The default of write_max: larger writes are not kept, only hashed. */
#define MD_TRACK_WRITE_MAX (64 * 1024 * 1024)

/*
 * What one run read and wrote. writes lists the files it created,
 * changed or removed under the document's folder, sorted by path:
 *
 *   HASH PATH\n      written; its content is one of blobs
 *   ! HASH PATH\n    written, larger than write_max (or past 4
 *                    write_max kept in all): not kept
 *   - PATH\n         removed
 */
struct md_track_io {
	struct md_buf reads, writes;
	struct md_buf *blobs;
	size_t nblobs;
	size_t kept; /* bytes in blobs */
};
void md_track_io_dispose(struct md_track_io *io);

/*
 * The reads and writes of the log's lines from offset *at to its end
 * (paths relative to dir), into io; *at moves to the end. A missing log
 * gives none.
 */
int md_track_collect(struct md_track_io *io, const char *log, long long *at,
		     const char *dir, size_t write_max);

/*
 * Whether every file of reads (relative to dir) still has its hash. When
 * not, the first that changed, vanished or cannot be read goes into
 * changed (when not NULL).
 */
bool md_track_check(const char *reads, size_t len, const char *dir,
		    struct md_buf *changed);

struct store;
/*
 * The stat cache kept in the store: md_track_load reads it in (once a
 * process), md_track_save writes what this process hashed since.
 */
int md_track_load(struct store *s);
int md_track_save(struct store *s);
/*
 * Writes back what a run's writes (relative to dir) record, for a cache
 * hit: each kept file missing or different on disk from its blob in the
 * store, each removed file removed. *restored counts the files changed,
 * *refused the writes never done: a path through git's files, mdrun's
 * config or store, under skip (as md_track_where's), leading out of dir
 * or through a link, over what is not a file, or a content the store
 * lacks.
 */
int md_track_restore(struct store *s, const char *writes, size_t len,
		     const char *dir, const char *skip, size_t *restored,
		     size_t *refused);
/*
 * Whether each write too large to keep ("! HASH PATH") is on disk as the
 * run left it, so a cache hit needs nothing it cannot restore; when not,
 * the first such file goes into changed (when not NULL).
 */
bool md_track_kept(const char *writes, size_t len, const char *dir,
		   struct md_buf *changed);

#endif
