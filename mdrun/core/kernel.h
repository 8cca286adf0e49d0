/*
 * Jupyter kernels: found by their kernelspecs where Jupyter looks, started
 * in a process group of their own, and spoken to in the Jupyter messaging
 * protocol (5.x) over ZeroMQ, each message signed with HMAC-SHA256. A
 * session of a kernel language runs its blocks, in order, in one kernel.
 */
#ifndef MD_KERNEL_H
#define MD_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"

/* One kernelspec: a folder holding kernel.json. */
struct md_kernel_spec {
	char *name;	    /* the folder's name: "ir", "python3" */
	char *dir;	    /* the folder */
	char **argv;	    /* as kernel.json gives it, {connection_file} in it */
	char *display_name; /* "R", "Python 3 (ipykernel)" */
	char *language;	    /* "R", "python" */
	bool interrupt_message; /* interrupt_mode "message" (else signal) */
	char **env;	    /* NAME=VALUE from kernel.json's "env" */
};

struct md_kernel_specs {
	struct md_kernel_spec *v;
	size_t n;
};

/*
 * The kernelspecs installed where Jupyter finds them, first found first:
 * each folder of $JUPYTER_PATH, the user's data folder ($JUPYTER_DATA_DIR,
 * else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter), then
 * /usr/local/share/jupyter and /usr/share/jupyter, each with kernels/
 * appended. A name found twice is the first one's. A kernel.json that
 * cannot be read is skipped. Dispose with md_kernel_specs_dispose.
 */
void md_kernel_specs_find(struct md_kernel_specs *out);
void md_kernel_specs_dispose(struct md_kernel_specs *t);
/* The kernelspec named name, or NULL. */
const struct md_kernel_spec *
md_kernel_spec_get(const struct md_kernel_specs *t, const char *name);

struct md_kernel;

/*
 * Starts the kernel of spec in cwd, env (NAME=VALUE entries, or NULL)
 * added to mdrun's environment, under a keeper (md_proc_spawn), and waits
 * up to timeout seconds (0: 60) for its kernel_info_reply. The connection
 * file lives in dir (a folder mdrun owns), and is removed with the
 * kernel.
 */
int md_kernel_start(struct md_kernel **out, const struct md_kernel_spec *spec,
		    const char *dir, const char *cwd, const char *const *env,
		    double timeout);

/*
 * Runs code as one execute_request and fills r as a session run does:
 * out and err the text of its stdout and stderr streams (each up to cap
 * bytes, then cut), outs its output list (docs/store.md: stream chunks in
 * order, display_data and execute_result as rich values), exit.code 1
 * when the kernel replied with an error (its traceback, ANSI colours
 * kept, goes to err as text), exit.timed_out when timeout seconds (0:
 * none) passed: then the kernel is interrupted, as its spec says, and
 * killed when it does not answer. A request for input is answered with an
 * error (no one can type during a render). A kernel that dies during the
 * block fails it, saying so in err; it is then not alive. Fails (message
 * set) only when nothing could be sent.
 */
int md_kernel_run(struct md_proc_result *r, struct md_kernel *k,
		  const char *code, size_t len, double timeout, size_t cap);
/*
 * md_kernel_run, calling started(arg) once the request is sent, while it
 * would only wait for the kernel; that time is not the block's.
 */
int md_kernel_run_hook(struct md_proc_result *r, struct md_kernel *k,
		       const char *code, size_t len, double timeout,
		       size_t cap, void (*started)(void *), void *arg);

/*
 * Sets the environment variables env (NAME=value strings, NULL-ended) in
 * the kernel for the blocks that follow, and unsets those the last call
 * set that env does not: as a silent request, in the kernel's language,
 * for python and R kernels, sent only when env differs from the last
 * call's; other kernels keep the environment they started with. Fails
 * (message set) only when nothing could be sent.
 */
int md_kernel_setenv(struct md_kernel *k, const char *const *env);

bool md_kernel_alive(const struct md_kernel *k);
/*
 * The kernel's language and version from its kernel_info_reply
 * ("R 4.2.2", "python 3.11.2"). Borrowed.
 */
const char *md_kernel_language(const struct md_kernel *k);
/* Asks it to shut down, then ends its process group; frees k. NULL: none. */
void md_kernel_stop(struct md_kernel *k);

#endif
