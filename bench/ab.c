/*
 * Times commands side by side: each round runs every command once, in the
 * order given (A B A B ...), so that drift on a shared machine hits all of
 * them alike. Prints one line per command: its name, the median, min and
 * max wall time in milliseconds, and the largest peak RSS in KiB.
 *
 * usage: bench_ab ROUNDS [-p PREPARE] NAME COMMAND [[-p PREPARE] NAME COMMAND]...
 *
 * COMMAND is split at spaces and run directly (no shell, whose start-up
 * would be timed too), with stdout and stderr sent to /dev/null. PREPARE,
 * for the command after it, is a shell command run untimed before each
 * run. A command that exits non-zero stops the benchmark.
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8
#define MAX_ARGS 64

struct cmd {
	const char *name, *prepare;
	char *argv[MAX_ARGS];
	double *ms;
	long rss_kib;
};

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
split(char **argv, char *line)
{
	int n = 0;

	for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
		if (n == MAX_ARGS - 1)
			return -1;
		argv[n++] = tok;
	}
	argv[n] = NULL;
	return n ? 0 : -1;
}

/* One timed run; its wall time in ms, or a negative number on failure. */
static double
run(struct cmd *c)
{
	struct rusage ru;
	double t0, t1;
	int status;
	pid_t pid;

	if (c->prepare && system(c->prepare) != 0) {
		fprintf(stderr, "bench_ab: %s: preparation failed: %s\n",
			c->name, c->prepare);
		return -1;
	}
	t0 = now_ms();
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execvp(c->argv[0], c->argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	t1 = now_ms();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_ab: %s: exit status %d\n", c->name,
			WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		return -1;
	}
	if (ru.ru_maxrss > c->rss_kib)
		c->rss_kib = ru.ru_maxrss;
	return t1 - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	int rounds, n = 0, i = 2;

	if (argc < 4 || (rounds = atoi(argv[1])) < 1) {
		fputs("usage: bench_ab ROUNDS [-p PREPARE] NAME COMMAND...\n",
		      stderr);
		return 2;
	}
	memset(cmds, 0, sizeof(cmds));
	while (i < argc) {
		struct cmd *c = &cmds[n];

		if (n == MAX_CMDS)
			return fputs("bench_ab: too many commands\n", stderr), 2;
		if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			c->prepare = argv[i + 1];
			i += 2;
		}
		if (i + 1 >= argc || split(c->argv, argv[i + 1]) < 0)
			return fputs("bench_ab: NAME COMMAND expected\n", stderr), 2;
		c->name = argv[i];
		c->ms = calloc((size_t)rounds, sizeof(double));
		if (!c->ms)
			return 2;
		i += 2;
		n++;
	}
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < n; k++)
			if ((cmds[k].ms[r] = run(&cmds[k])) < 0)
				return 1;
	for (int k = 0; k < n; k++) {
		struct cmd *c = &cmds[k];

		qsort(c->ms, (size_t)rounds, sizeof(double), cmp_double);
		printf("%s %.3f %.3f %.3f %ld\n", c->name,
		       rounds % 2 ? c->ms[rounds / 2]
				  : (c->ms[rounds / 2 - 1] + c->ms[rounds / 2]) / 2,
		       c->ms[0], c->ms[rounds - 1], c->rss_kib);
		free(c->ms);
	}
	return 0;
}
