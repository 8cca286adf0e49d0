/*
 * Input tracking: the files a block reads complete its key after the
 * fact. The processes a block runs (a session's interpreter, a process
 * block, a kernel, and all they start) load mdrun-track.so
 * (track_preload.c), which appends "R PATH", "W PATH" and "D PATH" lines
 * to a log for every file under the tracked root that they read, write
 * or remove. After a block, the lines it added become its reads: each
 * file it read and did not write or remove, still there, with its
 * SHA-256, as text the realization keeps:
 *
 *   HASH PATH\n ...       PATH relative to the document's folder
 *                         ("../lib/x.py" too), sorted, each once
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

/*
 * The reads of the log's lines from offset *at to its end, as the text
 * above (relative to dir), into out; *at moves to the end. A missing log
 * gives none.
 */
int md_track_collect(struct md_buf *out, const char *log, long long *at,
		     const char *dir);

/*
 * Whether every file of reads (relative to dir) still has its hash. When
 * not, the first that changed, vanished or cannot be read goes into
 * changed (when not NULL).
 */
bool md_track_check(const char *reads, size_t len, const char *dir,
		    struct md_buf *changed);

#endif
