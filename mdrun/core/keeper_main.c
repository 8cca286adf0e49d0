/*
 * mdrun-keeper serve SOCK: a kept keeper (keeper.h), for one command
 * after another, asked for on the stream socket SOCK.
 *
 * mdrun-keeper LIFE STATUS OUT ERR MAP0 TO0 MAP1 TO1 COMMAND [ARG...]:
 * the keeper of one command (keeper.h), spawned by mdrun (proc.c) with
 * every signal blocked, in a process group of its own, in the command's
 * folder, its environment the command's. The numbers are fds it was
 * given (-1: none): mdrun's life pipe, the status pipe, the command's
 * stdout and stderr, and two more fds the command gets as TO0 and TO1.
 * Not a program to run by hand: it says so and exits 2.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

extern char **environ;

/* A number argument from -1 up; an fd one (open) unless target. */
static int
fd_arg(const char *s, int *out, int target)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < -1 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return target || v == -1 || fcntl((int)v, F_GETFD) >= 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int v[8], map[2][2], i;

	if (argc == 3 && !strcmp(argv[1], "serve") &&
	    fd_arg(argv[2], &v[0], 0) == 0 && v[0] >= 0)
		md_keeper_serve(v[0]);
	for (i = 0; argc >= 10 && i < 8; i++)
		if (fd_arg(argv[i + 1], &v[i], i == 5 || i == 7) < 0)
			break;
	if (argc < 10 || i < 8 || v[0] < 0 || v[1] < 0) {
		fputs("mdrun-keeper: mdrun runs this to keep each block's "
		      "processes; it is not run by hand\n", stderr);
		return 2;
	}
	/* What it was given is its own: none of it goes to the command. */
	for (i = 0; i < 8; i++)
		if (i != 5 && i != 7 && v[i] >= 0)
			fcntl(v[i], F_SETFD, FD_CLOEXEC);
	map[0][0] = v[4];
	map[0][1] = v[5];
	map[1][0] = v[6];
	map[1][1] = v[7];
	md_keeper_plan(&fa, &at, v[2], v[3], (const int(*)[2])map, NULL);
	int keep[6] = { v[0], v[1], v[2], v[3], v[4], v[6] };
	md_keeper_run(argv[9], &fa, &at, argv + 9, environ, keep, v[1], v[0]);
}
