/*
 * A session: one long-lived interpreter running a built-in driver (see
 * drivers.c), or a Jupyter kernel (kernel.h), to which blocks are sent
 * one at a time. Its folder, in the store's tmp/, holds the code, the
 * capture files (a kernel's connection file) and each block's MDRUN_OUT.
 */
#ifndef MD_SESSION_H
#define MD_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include "interp.h"
#include "kernel.h"
#include "proc.h"
#include "track.h"

/*
 * How the stderr of a block that ended its session's interpreter ends
 * (then the language and "session]"): a replay leaves such a block out.
 */
#define MD_SESSION_ENDED "[mdrun: the block ended the "
/*
 * A block that answers within this (seconds) is quick: the rows of the
 * blocks before it may wait on (md_session.idle). Longer than a short
 * block's round trip, shorter than anything a user would notice.
 */
#define MD_SESSION_QUICK 0.002

struct md_session {
	struct md_interp *interp;
	char *dir;
	pid_t pid; /* -1 when not running */
	int to;	   /* requests go here */
	int from;  /* answers come from here */
	char line[128];
	size_t have;
	long long out_at, err_at; /* where the next block's output starts */
	long long ev_at;	  /* and its events (python) */
	char *outdir;		  /* MDRUN_OUT */
	/* The session's files, opened on first use, kept: stdout, stderr,
	 * events (read), code (written); -1 until then (a session never
	 * started has dir NULL, and these mean nothing) */
	int fd[4];
	struct md_kernel *kernel; /* a kernel language's, or NULL */
	char *track;	      /* the log of files read (track.h), or NULL */
	long long track_at;   /* where the next block's lines start */
	char *cwd;	      /* what its read paths are relative to */
	size_t write_max;     /* larger writes are not kept (track.h) */
	/* Snapshots (md_session_snapshots): the stopped copy the last block
	 * left, holding the state after it, or -1 (then nosnap says why,
	 * or is empty: none asked for) */
	pid_t snap;
	char nosnap[48];
	/* Called (when set) once each block is under way, while mdrun
	 * would only wait for it: the chain writes the rows of the blocks
	 * before. quick: the block answered within MD_SESSION_QUICK. */
	void (*idle)(void *arg, bool quick);
	void *idle_arg;
};

/*
 * From now on, python sessions this process starts keep a stopped copy
 * of their interpreter after each block (mdrun watch): see session.py.
 */
void md_session_snapshots(bool on);
/*
 * Hands the session over to snap, a stopped copy an earlier block of
 * this session left (its state after that block): the interpreter that
 * ran since ends, snap goes on, and a new stopped copy of it takes its
 * place, in ss->snap. Fails (the session stopped) when snap is gone.
 */
int md_session_resume(struct md_session *ss, pid_t snap);

/*
 * Starts the interpreter with its driver, in cwd, with MDRUN_DOC=doc (a
 * shell's $0 too, which its messages start with), or its language's
 * kernel with MDRUN_DOC and MDRUN_OUT. dir is an empty folder the session
 * owns. With track (root not NULL), its processes log the files they
 * read into dir/track, and each run's reads are in r->reads. A python
 * driver is kept compiled in the folder drivers (NULL: none,
 * md_driver_program). Stop with md_session_stop.
 */
int md_session_start(struct md_session *ss, struct md_interp *in,
		     const char *dir, const char *cwd, const char *doc,
		     const struct md_track_where *track, const char *drivers);

/*
 * Runs a block (its code, the document line of the code's first line,
 * its name, and NAME=VALUE variables env, or NULL) and fills r: outputs
 * (cut at cap),
 * status, times. *out_dir is the block's MDRUN_OUT folder, to commit as
 * its artifacts (borrowed; valid until the next run). When the block ends
 * the interpreter (exit, a crash, a timeout), the session is stopped:
 * md_session_alive says so. Fails only when the session cannot be used.
 */
int md_session_run(struct md_proc_result *r, const char **out_dir,
		   struct md_session *ss, const char *name,
		   const char *const *env, const char *code, size_t len,
		   int code_line, double timeout, size_t cap);
bool md_session_alive(const struct md_session *ss);
/* Ends the interpreter's process group and frees what it holds. */
void md_session_stop(struct md_session *ss);

#endif
