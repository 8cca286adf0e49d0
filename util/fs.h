/*
 * Filesystem helpers: whole-file reads, atomic writes, trees.
 * Every function returns 0 on success or a negative MD_* code with the
 * message set (see err.h).
 */
#ifndef MD_FS_H
#define MD_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Appends the file's bytes to out. MD_ENOTFOUND when it does not exist.
 * Reads whatever path is (a fifo, /dev/stdin): for files the user names.
 */
int md_fs_read(struct md_buf *out, const char *path);
/*
 * Appends the bytes of the regular file at path to out, and never blocks
 * or reads without end: anything else (a fifo, a device, a socket, a
 * folder) is refused with "PATH: not a regular file" before it is opened
 * for reading, and at most the size fstat(2) gives when it is opened is
 * read. A file larger than max bytes is refused ("PATH: larger than MAX
 * bytes"); max 0 is no limit. follow: a link is followed (to a regular
 * file); else a link is refused as not a regular file. MD_ENOTFOUND when
 * nothing is at path (or a followed link leads nowhere).
 */
int md_fs_read_file(struct md_buf *out, const char *path, size_t max,
		    bool follow);
/* md_fs_read_file without following links: for files mdrun wrote itself. */
int md_fs_read_regular(struct md_buf *out, const char *path, size_t max);
/*
 * md_fs_read_regular of name in the folder dirfd (openat(2)), named what
 * in messages.
 */
int md_fs_read_at(struct md_buf *out, int dirfd, const char *name,
		  size_t max, const char *what);
/* Appends everything readable from fd until end of file. */
int md_fs_read_fd(struct md_buf *out, int fd, const char *what);
/*
 * Writes data to a temporary file beside path, gives it mode, and renames
 * it over path: readers see the old file or the new one, never a part.
 * The temporary file, PATH.mdrun-tmp.XXXXXX, is flock(2)ed by its writer
 * until it is renamed; one that no process holds was left by a writer
 * that died (kill -9, a power cut), and the next write of path removes it
 * (md_fs_sweep_atomic).
 */
int md_fs_write_atomic(const char *path, const void *data, size_t n,
		       mode_t mode);
/*
 * md_fs_write_atomic without its sweep of the folder (which lists it):
 * for many files of one folder, swept once first (md_fs_sweep_atomic).
 */
int md_fs_write_atomic_swept(const char *path, const void *data, size_t n,
			     mode_t mode);
/* md_fs_write_atomic of name in the folder dirfd. */
int md_fs_write_atomic_at(int dirfd, const char *name, const void *data,
			  size_t n, mode_t mode);
/*
 * Removes the temporary files md_fs_write_atomic left in dir for name (or
 * for any name, when NULL) that no live writer holds. Errors are ignored:
 * what cannot be removed now is tried again by the next write.
 */
void md_fs_sweep_atomic(const char *dir, const char *name);
/*
 * Writes an output file the user named: a regular file, or what a link
 * leads to, is replaced whole as md_fs_write_atomic does (a new one gets
 * mode, an old one keeps its own); a device, a fifo or a terminal
 * (/dev/null, /dev/stdout) is written in place, never replaced. Bytes
 * equal to the file's are not written again (its time is kept).
 */
int md_fs_write_output(const char *path, const void *data, size_t n,
		       mode_t mode);
/* Writes path in place (created, overwritten, cut to n bytes): for private
 * scratch files. */
int md_fs_write_over(const char *path, const void *data, size_t n,
		     mode_t mode);
/* Writes a new file (O_EXCL): for files inside a folder being built. */
int md_fs_write_new(const char *path, const void *data, size_t n,
		    mode_t mode);
/* mkdir -p; existing folders are fine. */
int md_fs_mkdirs(const char *path, mode_t mode);
/*
 * rm -rf, read-only folders included; a missing path is fine. Links are
 * removed, never followed. The walk goes relative to folder descriptors
 * and holds at most two at a time, so no depth is too deep (folders are
 * renamed .mdrun-rm on the way down, to be found again on the way up).
 */
int md_fs_rmtree(const char *path);
/*
 * md_fs_rmtree that sets no message and calls only async-signal-safe
 * functions: for a signal handler. Returns 0, or -1 with errno set.
 */
int md_fs_rmtree_quiet(const char *path);
/* Files lose their write bits (0444, or 0555 if executable) and folders
 * become 0555, deepest first. Links are left alone. */
int md_fs_make_readonly(const char *path);

/*
 * A walk of the tree under a folder (md_fs_walk). For each entry, fn gets
 * the step, the entry and arg; it returns 0 to go on, a negative error
 * to stop the walk (returned by md_fs_walk), or, at MD_WALK_ENTER, 1 to
 * leave that folder out.
 */
enum md_walk_step {
	MD_WALK_FILE,  /* anything but a folder (w->st says what) */
	MD_WALK_ENTER, /* a folder, before what it holds */
	MD_WALK_LEAVE  /* a folder, after what it holds; w->fd is open on it */
};
struct md_walk {
	int dirfd;	  /* the folder holding the entry */
	const char *name; /* the entry's name in it */
	const char *rel;  /* its path under the root, '/'-separated */
	size_t rel_len;
	const char *path; /* root/rel for messages, cut short when long */
	struct stat st;	  /* the entry, as lstat(2) sees it */
	int fd;		  /* at MD_WALK_LEAVE the folder itself, else -1 */
};
/*
 * Walks the tree under the folder root, depth first, each folder's names
 * in byte order. Links are never followed; the walk goes relative to
 * folder descriptors and keeps at most three open, so its depth is not
 * bounded by PATH_MAX or by the number of descriptors. A folder moved
 * away during the walk stops it with an error. MD_ENOTFOUND when root
 * does not exist; an error when it is not a folder.
 */
int md_fs_walk(const char *root,
	       int (*fn)(enum md_walk_step step, const struct md_walk *w,
			 void *arg),
	       void *arg);

/*
 * Owned folders: a folder whose creator holds an flock(2) on it for as
 * long as it uses it, so another process can tell a live one from one a
 * dead process left, whatever PID namespace either runs in.
 * md_fs_own_dir locks path, a folder the caller just made, and returns
 * the descriptor that holds the lock (close it to release), or
 * MD_ENOTFOUND when a sweep removed the folder first (make another).
 */
int md_fs_own_dir(const char *path);
/*
 * Removes each folder in dir whose name starts with prefix and that no
 * process holds (md_fs_own_dir). Errors are ignored.
 */
void md_fs_sweep_owned(const char *dir, const char *prefix);
bool md_fs_exists(const char *path);
/*
 * The regular files under root, as paths relative to it, sorted; links
 * and other special files are left out, and links are not followed. A
 * missing root lists nothing. Caller frees each and the array.
 */
int md_fs_list(char ***out, size_t *n, const char *root);
bool md_fs_is_dir(const char *path);
/*
 * Whether path is a folder (not a link to one) with no entries and the
 * mode 0755: one a process may reuse as it made it.
 */
bool md_fs_is_fresh_dir(const char *path);
/* Whether path has no entries; true when it is missing or not a folder. */
bool md_fs_is_empty(const char *path);

/* "a" + "/" + "b". Caller frees. */
char *md_path_join(const char *a, const char *b);
/*
 * The path of file name in the folder of the running program's own
 * binary, or in ../lib/mdrun/ from there (an installed mdrun's helpers),
 * into out (size bytes), when it is there and access(2) allows mode. No
 * allocation: usable before threads start.
 */
bool md_path_beside_self(char *out, size_t size, const char *name, int mode);
/* The folder part of path ("." when none). Caller frees. */
char *md_path_dirname(const char *path);
/* The last component of path. Borrowed from path. */
const char *md_path_basename(const char *path);
/*
 * The path of target relative to base, both absolute and normalized
 * (as from realpath): "." when equal, else "sub/dir". Returns NULL when
 * target is not inside base. Caller frees.
 */
char *md_path_relative(const char *base, const char *target);

#endif
