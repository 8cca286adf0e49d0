/*
 * Error reporting: the site that detects an error records one line with
 * md_err_set(); callers propagate the negative return code and leave the
 * message alone; only the CLI prints it.
 */
#ifndef MD_ERR_H
#define MD_ERR_H

enum {
	MD_OK = 0,
	MD_ERROR = -1,    /* generic failure, message set */
	MD_ENOTFOUND = -2 /* the thing looked up does not exist */
};

/* Records the message for the last error and returns MD_ERROR. */
int md_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errno)" appended (errno read on entry). */
int md_err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Puts "WHAT: " before this thread's message, keeping the rest, and
 * returns code (the caller's error code, unchanged): a caller adding
 * where an error happened, without losing what it was.
 */
int md_err_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* This thread's last message; "" when none. Borrowed; valid until the
 * next set. */
const char *md_err_msg(void);
void md_err_clear(void);

#endif
