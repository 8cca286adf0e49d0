/*
 * Child processes: the one module that spawns them. A command runs under
 * a keeper, a process of mdrun's that leads the command's process group
 * and lets nothing outlive it: whatever the command starts, in its group
 * or detached from it (setsid, a double fork), ends when the command
 * ends, when it is killed (a timeout), when SIGINT, SIGTERM or SIGHUP
 * ends mdrun, and when mdrun dies, by SIGKILL too. stdin is /dev/null.
 * Linux only: descendants are found in /proc (see proc.c).
 */
#ifndef MD_PROC_H
#define MD_PROC_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../util/buf.h"
#include "../../util/exit.h"
#include "track.h"

/* How long a process group gets between SIGTERM and SIGKILL. */
#define MD_KILL_GRACE 2.0

struct md_spawn {
	const char *const *argv; /* argv[0] is looked up in PATH */
	const char *cwd;	 /* NULL: inherit */
	const char *const *env;	 /* extra NAME=VALUE entries, or NULL */
	int out, err;		 /* the child's fd 1 and 2; -1: /dev/null */
	int map[2][2];		 /* more fds: {ours, the child's}; -1 unused */
};

/*
 * Starts a command under its keeper; *out is the keeper's PID, which the
 * calls below take. A command not found names itself.
 */
int md_proc_spawn(pid_t *out, const struct md_spawn *sp);
/* Waits for a child (blocking or not); its wait status is the command's. */
bool md_proc_reap(pid_t pid, int *wstatus, bool block);
/*
 * Ends a child: SIGTERM to its process group, MD_KILL_GRACE seconds, then
 * SIGKILL to every process below its keeper, and to the keeper when it
 * has not ended MD_KILL_GRACE seconds later. A keeper its block stopped
 * is continued. Reaps the child and returns its wait status.
 */
int md_proc_kill(pid_t pid);
/*
 * Sends sig to the command's process group, as a terminal's Ctrl-C
 * would (its keeper ignores SIGINT, SIGTERM and SIGHUP): the command
 * and what it started in its group.
 */
int md_proc_signal(pid_t pid, int sig);

/*
 * Grows mdrun's fd table, once, while it has one thread: see HIGH_FD in
 * proc.c. Call first thing in main.
 */
void md_proc_grow_fds(void);

/* Runs mdrun's signal handlers: SIGINT, SIGTERM and SIGHUP kill every
 * process mdrun started and all below them, then end mdrun by the same
 * signal. */
void md_proc_handle_signals(void);
/*
 * The signal (SIGINT, SIGTERM, SIGHUP) that is ending mdrun, or 0: a
 * block that ended then was interrupted, and is not recorded.
 */
int md_proc_interrupted(void);

struct md_proc_opts {
	const char *const *argv;
	const char *cwd;
	const char *const *env;
	double timeout; /* seconds; <= 0: none */
	size_t cap;	/* bytes kept per stream; 0: no limit */
	/* Called (when set) once the process started, while md_proc_run
	 * would only wait for it; its time is not the process's. */
	void (*started)(void);
};

struct md_proc_result {
	struct md_buf out, err;
	bool out_cut, err_cut; /* more than cap bytes were written */
	/* The ordered output list (store_outputs), empty: stdout, stderr. */
	struct md_buf outs;
	/* The files it read and wrote (track.h), when tracked. */
	struct md_track_io io;
	struct md_exit exit;
	double start, end; /* seconds since the epoch */
};

/*
 * Runs the command to completion, its stdout and stderr read through
 * pipes in one poll() loop. Fails (message set) only when it cannot be
 * started. Dispose the result with md_proc_result_dispose, also after a
 * failure.
 */
int md_proc_run(struct md_proc_result *out, const struct md_proc_opts *o);
void md_proc_result_dispose(struct md_proc_result *r);
/* Fills the status fields of r from a wait status. */
void md_proc_status(struct md_proc_result *r, int wstatus);

/* Seconds since the epoch, with sub-microsecond precision. */
double md_now(void);
/* Seconds on a clock that never jumps. */
double md_mono(void);
/*
 * poll(2), but until the clock md_mono reaches spin_end it asks again,
 * yielding the processor between asks, rather than sleeping: on a
 * virtual machine a wakeup costs tens of microseconds, as much as a
 * quick block's whole round trip. timeout_ms (-1: none) counts from the
 * call, the spin included (up to 1 ms less: the spin's time is rounded
 * up; callers that keep a deadline look at their clocks).
 */
int md_proc_poll(struct pollfd *fds, nfds_t n, int timeout_ms,
		 double spin_end);
/*
 * How long (seconds) a wait for a process of its own, or for its keeper,
 * spins before it sleeps: a quick block's whole run, a shell's start
 * included. (A session's answer spins for MD_SESSION_QUICK.)
 */
#define MD_PROC_QUICK 0.003

#endif
