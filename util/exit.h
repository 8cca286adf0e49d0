/*
 * How a block's run ended: one record used by processes, the store, the
 * view and every renderer, with one `failed` predicate and one text.
 */
#ifndef MD_EXIT_H
#define MD_EXIT_H

#include <stdbool.h>

#include "buf.h"

struct md_exit {
	int code;	  /* the exit status, when signal is 0 */
	int signal;	  /* the signal that ended it, or 0 */
	bool timed_out;	  /* mdrun ended it at its timeout */
	bool interrupted; /* ended by Ctrl-C or SIGTERM: never recorded */
};

/* Did the run fail: a non-zero exit, a signal, a timeout, an interrupt? */
bool md_exit_failed(const struct md_exit *e);
/*
 * Appends how it ended: "exit 3", "killed by signal 9", "timed out",
 * "interrupted"; "exit 0" when it did not fail.
 */
void md_exit_describe(struct md_buf *out, const struct md_exit *e);

#endif
