/*
 * Filesystem helpers: whole-file reads, atomic writes, trees.
 * Every function returns 0 on success or a negative MD_* code with the
 * message set (see err.h).
 */
#ifndef MD_FS_H
#define MD_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Appends the file's bytes to out. MD_ENOTFOUND when it does not exist. */
int md_fs_read(struct md_buf *out, const char *path);
/* Appends everything readable from fd until end of file. */
int md_fs_read_fd(struct md_buf *out, int fd, const char *what);
/*
 * Writes data to a temporary file beside path, gives it mode, and renames
 * it over path: readers see the old file or the new one, never a part.
 */
int md_fs_write_atomic(const char *path, const void *data, size_t n,
		       mode_t mode);
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
/* rm -rf, read-only folders included; a missing path is fine. */
int md_fs_rmtree(const char *path);
/* Files lose their write bits (0444, or 0555 if executable) and folders
 * become 0555, deepest first. */
int md_fs_make_readonly(const char *path);
bool md_fs_exists(const char *path);
/*
 * The regular files under root, as paths relative to it, sorted; links
 * and other special files are left out. A missing root lists nothing.
 * Caller frees each and the array.
 */
int md_fs_list(char ***out, size_t *n, const char *root);
bool md_fs_is_dir(const char *path);

/* "a" + "/" + "b". Caller frees. */
char *md_path_join(const char *a, const char *b);
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
