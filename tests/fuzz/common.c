#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"

#define SCRATCH "mdrun-fuzz-"

static char *scratch;

static void
remove_scratch(void)
{
	md_fs_rmtree(scratch);
	free(scratch);
	scratch = NULL;
}

/*
 * A crash ends the process without atexit handlers: the folders of
 * processes that are gone (SCRATCH PID-...) are removed by the next one.
 */
static void
sweep(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, SCRATCH, strlen(SCRATCH)))
			continue;
		pid = strtol(e->d_name + strlen(SCRATCH), &end, 10);
		if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		char *p = md_path_join(base, e->d_name);
		md_fs_rmtree(p);
		free(p);
	}
	if (d)
		closedir(d);
}

const char *
fuzz_scratch(void)
{
	struct md_buf b = MD_BUF_INIT;
	const char *base = getenv("TMPDIR");

	if (scratch)
		return scratch;
	if (!base || !*base)
		base = md_fs_is_dir("/dev/shm") ? "/dev/shm" : "/tmp";
	sweep(base);
	md_buf_printf(&b, "%s/" SCRATCH "%ld-XXXXXX", base, (long)getpid());
	if (!mkdtemp(b.ptr)) {
		perror(b.ptr);
		abort();
	}
	scratch = md_buf_detach(&b);
	atexit(remove_scratch);
	return scratch;
}

void
fuzz_write(const char *path, const void *data, size_t n)
{
	if (md_fs_write_over(path, n ? data : "", n, 0644) < 0) {
		fprintf(stderr, "fuzz: %s\n", md_err_msg());
		abort();
	}
}

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}
