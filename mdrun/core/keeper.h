/*
 * A command's keeper: the process between mdrun and each command it runs.
 * It lives in a process group of its own, spawns the command (which stays
 * in that group) and waits for it. It is a child subreaper, so whatever
 * the command starts stays below it however it detaches (setsid, a double
 * fork). When the command ends, the keeper kills everything left below
 * it, then ends with the command's status; when mdrun dies, even by
 * SIGKILL, the keeper sees its end of the life pipe close and kills
 * everything below it too. (PR_SET_PDEATHSIG would fire when the worker
 * thread that spawned the child ends, not mdrun, and could not end what
 * the child started.)
 *
 * A keeper is mdrun-keeper (keeper_main.c), a small program mdrun spawns
 * from beside its own binary; where there is none, a fork of mdrun. The
 * fork costs a copy of mdrun's page tables and, while the command runs,
 * a copy of every page either side writes.
 */
#ifndef MD_KEEPER_H
#define MD_KEEPER_H

#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * How the keeper spawns the command: fd 0 from /dev/null, 1 and 2 from
 * out and err (-1: /dev/null), each map[i][0] (>= 0) as map[i][1], in
 * cwd (NULL: the keeper's), signals at their defaults and unblocked. The
 * fds given are above every fd the command gets.
 */
void md_keeper_plan(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
		    int out, int err, const int map[2][2], const char *cwd);
/*
 * The keeper, with every signal blocked: closes every fd but keep's (-1
 * entries ignored), spawns the command, tells mdrun through status
 * whether that failed (an int errno; nothing and the pipe closed: it
 * runs), waits for it while watching life (the read end of mdrun's life
 * pipe), kills what it left, and ends as it did. Never returns.
 */
_Noreturn void md_keeper_run(const char *file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *at, char *const argv[],
			     char *const env[], const int keep[6], int status,
			     int life);
/*
 * What a keeper is before it spawns: in a process group of its own,
 * /dev/null as 0, 1 and 2, every other fd but keep's (n of them, -1
 * ignored) closed, SIGINT, SIGTERM and SIGHUP ignored, SIGCHLD caught
 * (it only wakes a ppoll), a child subreaper.
 */
void md_keeper_become(const int *keep, size_t n);
/*
 * Reaps what is left below the keeper once its command ended, killing
 * whatever still lives.
 */
void md_keeper_tidy(void);
/*
 * Kills every descendant of root until none is left alive, giving up
 * after about a second.
 */
void md_keeper_end_below(pid_t root);

/*
 * A kept keeper: mdrun-keeper serve SOCK (keeper_serve.c), the keeper of
 * one command at a time, for one command after another, so that a block
 * run as a process of its own (session=none) costs one process start,
 * not two (an exec here costs milliseconds). It keeps each command as a
 * keeper does: the command leads a process group of its own, and what
 * it leaves below the kept keeper is killed when it ends.
 *
 * On SOCK, a stream socket, in struct md_keeper_msg frames:
 *   mdrun -> keeper  RUN LEN, with the command's stdout and stderr as
 *                    SCM_RIGHTS, then LEN bytes: argc and envc (uint32),
 *                    then cwd ("": the keeper's), argv and env as
 *                    NUL-ended strings
 *                    SIGNAL SIG: to the command's group, unless it ended
 *                    KILL: SIGKILL to everything below the keeper
 *   keeper -> mdrun  STARTED PID, or FAILED ERRNO; then, once the
 *                    command and all it left are gone, ENDED WSTATUS
 * The end of SOCK (mdrun gone, or done with it): the keeper kills
 * everything below it and exits.
 */
enum md_keeper_kind {
	MD_KEEP_RUN = 1,
	MD_KEEP_SIGNAL,
	MD_KEEP_KILL,
	MD_KEEP_STARTED,
	MD_KEEP_FAILED,
	MD_KEEP_ENDED,
};

struct md_keeper_msg {
	int32_t kind, value;
};

/* The most a RUN may carry: argv and env, as execve takes them. */
#define MD_KEEP_RUN_MAX (4 << 20)

_Noreturn void md_keeper_serve(int sock);

#endif
