/*
 * Child processes: the one module that forks and execs. A child gets its
 * own process group, /dev/null on stdin, its stdout and stderr captured
 * through pipes read in one poll() loop, and is killed (the whole group)
 * when it outlives its timeout.
 */
#ifndef MD_PROC_H
#define MD_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"

struct md_proc_opts {
	const char *const *argv; /* argv[0] is looked up in PATH */
	const char *cwd;	 /* NULL: inherit */
	const char *const *env;	 /* extra NAME=VALUE entries, or NULL */
	double timeout;		 /* seconds; <= 0: none */
	size_t cap;		 /* bytes kept per stream; 0: no limit */
};

struct md_proc_result {
	struct md_buf out, err;
	bool out_cut, err_cut; /* more than cap bytes were written */
	int exit_code;	       /* when signal == 0 */
	int signal;
	bool timed_out;
	double start, end; /* seconds since the epoch */
};

/*
 * Runs the command to completion. Fails (message set) only when it cannot
 * be started: a command that is not found names itself. Dispose the result
 * with md_proc_result_dispose, also after a failure.
 */
int md_proc_run(struct md_proc_result *out, const struct md_proc_opts *o);
void md_proc_result_dispose(struct md_proc_result *r);

/* Seconds since the epoch, with sub-microsecond precision. */
double md_now(void);

#endif
