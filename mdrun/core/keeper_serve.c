/*
 * The kept keeper (keeper.h): mdrun-keeper serve SOCK. One command at a
 * time, so that whatever is below the keeper when a command ends is what
 * that command left.
 */
#define _GNU_SOURCE /* ppoll, MSG_CMSG_CLOEXEC */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* n bytes into p; false at the end of the socket or on an error. */
static bool
get(int sock, void *p, size_t n)
{
	char *at = p;

	while (n > 0) {
		ssize_t k = read(sock, at, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		at += k;
		n -= (size_t)k;
	}
	return true;
}

static void
put(int sock, int kind, int value)
{
	struct md_keeper_msg m = { kind, value };

	/* mdrun gone: the next read says so. */
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		return;
}

/*
 * mdrun is gone, or done with this keeper: what is below it goes (an
 * idle keeper has nothing below it, and walks no /proc).
 */
static _Noreturn void
leave(void)
{
	md_keeper_tidy();
	_exit(0);
}

/*
 * The next frame, and with a RUN the fds that came with it (-1: none);
 * false at the end of the socket.
 */
static bool
next(int sock, struct md_keeper_msg *m, int fds[2])
{
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec io = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t k;

	fds[0] = fds[1] = -1;
	while ((k = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 &&
	       errno == EINTR)
		;
	if (k <= 0)
		return false;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			memcpy(fds, CMSG_DATA(c), (n < 2 ? n : 2) * sizeof(int));
		}
	return (size_t)k == sizeof(*m) ||
	       get(sock, (char *)m + k, sizeof(*m) - (size_t)k);
}

/*
 * A RUN's strings: count of them from *at into v (NULL-ended), or false
 * when they do not fit in the payload.
 */
static bool
strings(char **v, uint32_t count, char **at, char *end)
{
	for (uint32_t i = 0; i < count; i++) {
		char *nul = memchr(*at, '\0', (size_t)(end - *at));

		if (!nul)
			return false;
		v[i] = *at;
		*at = nul + 1;
	}
	v[count] = NULL;
	return true;
}

/*
 * Waits for the command, doing what mdrun asks meanwhile; its wait
 * status once it ended and all it left is gone.
 */
static int
wait_for(int sock, pid_t child)
{
	sigset_t none;
	pid_t pid;
	int ws, child_ws = 0;
	bool ended = false;

	sigemptyset(&none);
	while (!ended) {
		struct pollfd p = { sock, POLLIN, 0 };
		struct md_keeper_msg m;
		int fds[2];

		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
			if (pid == child) {
				child_ws = ws;
				ended = true;
			}
		/* SIGCHLD stays pending outside ppoll: no wake-up is lost. */
		if (ended || ppoll(&p, 1, NULL, &none) <= 0)
			continue;
		if (!next(sock, &m, fds))
			leave();
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (m.kind == MD_KEEP_SIGNAL)
			kill(-child, m.value);
		else if (m.kind == MD_KEEP_KILL)
			md_keeper_end_below(getpid());
	}
	md_keeper_tidy();
	return child_ws;
}

/* One RUN: its command spawned, waited for, and answered. */
static void
serve_one(int sock, uint32_t len, const int fds[2])
{
	static const int none[2][2] = { { -1, -1 }, { -1, -1 } };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	uint32_t count[2];
	char *data = NULL, *p, *end, **argv = NULL, **env = NULL, *cwd[2];
	pid_t child;
	int rc = EINVAL;
	short flags;

	if (len < sizeof(count) || len > MD_KEEP_RUN_MAX ||
	    !(data = malloc(len))) {
		free(data);
		/* What it was: unread, it would be taken for frames. */
		leave();
	}
	if (!get(sock, data, len))
		leave();
	memcpy(count, data, sizeof(count));
	p = data + sizeof(count);
	end = data + len;
	if (count[0] < 1 || count[0] > len || count[1] > len ||
	    !(argv = calloc(count[0] + 1, sizeof(*argv))) ||
	    !(env = calloc(count[1] + 1, sizeof(*env))))
		goto answer;
	if (!strings(cwd, 1, &p, end) || !strings(argv, count[0], &p, end) ||
	    !strings(env, count[1], &p, end))
		goto answer;
	md_keeper_plan(&fa, &at, fds[0], fds[1], none, *cwd[0] ? cwd[0] : NULL);
	/* The command leads a group of its own: mdrun's SIGNAL goes there. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_getflags(&at, &flags);
	posix_spawnattr_setflags(&at, flags | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&child, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
answer:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(argv);
	free(env);
	free(data);
	if (rc != 0) {
		put(sock, MD_KEEP_FAILED, rc);
		return;
	}
	put(sock, MD_KEEP_STARTED, child);
	put(sock, MD_KEEP_ENDED, wait_for(sock, child));
}

void
md_keeper_serve(int sock)
{
	md_keeper_become(&sock, 1);
	/* Its own: a command holding it would hide the keeper's end. */
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	for (;;) {
		struct md_keeper_msg m;
		int fds[2];

		if (!next(sock, &m, fds))
			leave();
		if (m.kind == MD_KEEP_RUN) {
			serve_one(sock, (uint32_t)m.value, fds);
			continue;
		}
		/* A SIGNAL or KILL for a command that ended: nothing to do. */
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
}
