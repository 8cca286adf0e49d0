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
 * Kills every descendant of root until none is left alive, giving up
 * after about a second.
 */
void md_keeper_end_below(pid_t root);

#endif
