/*
 * mdrun watch: render, then render again each time a file the render
 * depended on is saved, until Ctrl-C.
 *
 * The folders holding those files are watched with inotify (editors save
 * by renaming a new file over the old, which a watch on the file itself
 * would miss). An event counts when it names a file the last render
 * depended on (the document, its config, inputs=, the files its blocks
 * read or looked for) or any document (.md, .Rmd, .qmd: an included file)
 * in those folders; not when it names an output mdrun wrote itself,
 * unchanged since. Events are gathered until none comes for DEBOUNCE_MS,
 * then every document is rendered again: what did not change comes from
 * the store.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cli.h"
#include "../core/exec.h"
#include "../core/proc.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"
#include "../../util/hash.h"

#define DEBOUNCE_MS 150
#define DEBOUNCE_MAX_MS 1000

#define WATCH_EVENTS                                                     \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |      \
	 IN_DELETE | IN_ATTRIB)

static const char usage[] =
	"usage: mdrun watch [--snapshots N] [--snapshot-memory SIZE]\n"
	"                   [render options] FILE...\n"
	"\n"
	"Renders the documents as 'mdrun render' would (-i, -o OUT, --to\n"
	"FORMAT), then watches the files each render depended on: the\n"
	"document, its mdrun.json, its inputs= files, every file its blocks\n"
	"read or looked for, and the documents beside it (included ones).\n"
	"Each time one is saved, the documents are rendered again, and one\n"
	"line per document says when and what ran; blocks whose code and\n"
	"inputs did not change come from the store. An HTML page written by\n"
	"watch reloads itself in the browser every 2 seconds. Ctrl-C stops\n"
	"it, ending every process a block started.\n"
	"\n"
	"Sessions stay alive between renders. A python, bash or sh session\n"
	"keeps a stopped copy of its interpreter after each block (a fork:\n"
	"it costs the pages that later change), so an edited block goes on\n"
	"from the state after the block above it without running the blocks\n"
	"above (shells: with tracking on).\n"
	"  --snapshots N    copies kept per session, the latest blocks'\n"
	"                   (default 8; 0: none, edits replay)\n"
	"  --snapshot-memory SIZE\n"
	"                   the memory a session's copies may hold on their\n"
	"                   own (pages no other process shares; default 1G;\n"
	"                   K, M)\n"
	"\n"
	"Render options: mdrun --help.\n";

void
cli_watch_usage(void)
{
	fputs(usage, stdout);
}

struct folder {
	int wd;
	char *path; /* real path, no trailing slash */
};

/* What mdrun wrote: an event on it counts only if it changed since. */
struct written {
	char *path;
	char hash[MD_HASH_HEX];
};

struct watch {
	int fd;
	struct folder *dirs;
	size_t ndirs;
	char **files; /* the files depended on, real paths, sorted */
	size_t nfiles;
	struct written *outs;
	size_t nouts;
	/* Each document's last deps, kept for a render that fails early
	 * (a document that does not parse, a broken mdrun.json). */
	struct cli_deps *last;
};

/* path with its folder's real path, or NULL when the folder is gone. */
static char *
canonical(const char *path)
{
	char *dir = md_path_dirname(path), real[PATH_MAX];
	const char *base = md_path_basename(path);
	char *out = NULL;

	if (realpath(dir, real)) {
		struct md_buf b = MD_BUF_INIT;

		md_buf_printf(&b, "%s/%s", strcmp(real, "/") ? real : "", base);
		out = md_buf_detach(&b);
	}
	free(dir);
	return out;
}

static int
add_folder(struct watch *w, const char *dir)
{
	int wd;

	for (size_t i = 0; i < w->ndirs; i++)
		if (!strcmp(w->dirs[i].path, dir))
			return 0;
	wd = inotify_add_watch(w->fd, dir, WATCH_EVENTS);
	if (wd < 0) {
		if (errno == ENOSPC)
			return md_err_set("%s: cannot watch more folders (raise "
					  "fs.inotify.max_user_watches)", dir);
		return 0; /* gone, or not ours to read: nothing to watch */
	}
	for (size_t i = 0; i < w->ndirs; i++)
		if (w->dirs[i].wd == wd)
			return 0; /* the same folder by another name */
	w->dirs = md_realloc(w->dirs, (w->ndirs + 1) * sizeof(*w->dirs));
	w->dirs[w->ndirs].wd = wd;
	w->dirs[w->ndirs].path = md_strdup(dir);
	w->ndirs++;
	return 0;
}

/* An output mdrun wrote, by its real path, and the hash of what it wrote. */
static void
note_output(struct watch *w, const struct cli_written *o)
{
	char *real = canonical(o->path);

	if (!real)
		return;
	w->outs = md_realloc(w->outs, (w->nouts + 1) * sizeof(*w->outs));
	w->outs[w->nouts].path = real;
	memcpy(w->outs[w->nouts].hash, o->hash, MD_HASH_HEX);
	w->nouts++;
}

static void
forget(struct watch *w)
{
	md_strv_free(w->files);
	w->files = NULL;
	w->nfiles = 0;
	for (size_t i = 0; i < w->nouts; i++)
		free(w->outs[i].path);
	free(w->outs);
	w->outs = NULL;
	w->nouts = 0;
}

/*
 * Renders every document, then watches what they depended on. Returns
 * the worst exit code of the renders, or an error (cannot watch).
 */
static int
render_all(struct watch *w, const struct cli_render_opts *docs, size_t n,
	   bool many)
{
	struct cli_totals t;
	int worst = MD_EXIT_OK;

	memset(&t, 0, sizeof(t));
	forget(w);
	for (size_t i = 0; i < n; i++) {
		struct cli_deps deps;
		int rc;

		memset(&deps, 0, sizeof(deps));
		rc = cli_render_one(&docs[i], &t, many, &deps);
		if (rc > worst)
			worst = rc;
		for (size_t k = 0; k < deps.nouts; k++) {
			note_output(w, &deps.outs[k]);
			free(deps.outs[k].path);
		}
		free(deps.outs);
		if (deps.n || !w->last[i].n) {
			/* A document that failed to parse is still watched. */
			md_strv_push(&deps.paths, &deps.n,
				     md_strdup(docs[i].input));
			md_strv_free(w->last[i].paths);
			w->last[i].paths = deps.paths;
			w->last[i].n = deps.n;
		} else {
			md_strv_free(deps.paths);
		}
		for (size_t k = 0; k < w->last[i].n; k++) {
			char *real = canonical(w->last[i].paths[k]);
			char *dir;

			if (!real)
				continue;
			dir = md_path_dirname(real);
			if (add_folder(w, dir) < 0) {
				free(dir);
				free(real);
				return cli_error("%s", md_err_msg());
			}
			free(dir);
			md_strv_push(&w->files, &w->nfiles, real);
		}
	}
	if (w->nfiles)
		qsort(w->files, w->nfiles, sizeof(*w->files), md_strp_cmp);
	fflush(stderr);
	return worst;
}

/* Does this change call for a render? */
static bool
counts(const struct watch *w, const char *path, const char *name)
{
	for (size_t i = 0; i < w->nouts; i++)
		if (!strcmp(w->outs[i].path, path)) {
			struct md_buf b = MD_BUF_INIT;
			char hash[MD_HASH_HEX];
			bool same = md_fs_read(&b, path) == 0 &&
				    (md_hash_bytes(hash, b.ptr ? b.ptr : "",
						 b.len),
				     !strcmp(hash, w->outs[i].hash));

			md_buf_dispose(&b);
			md_err_clear();
			if (same)
				return false;
			break;
		}
	if (w->nfiles && bsearch(&path, w->files, w->nfiles,
				 sizeof(*w->files), md_strp_cmp))
		return true;
	return name[0] != '.' && cli_is_document(name);
}

/*
 * Reads the events waiting on w->fd: 1 when one counts, 0 when none does,
 * -1 when none came. Blocks up to timeout ms (-1: until one comes).
 */
static int
changed(struct watch *w, int timeout)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	int any = 0;
	ssize_t len;

	if (poll(&p, 1, timeout) <= 0)
		return -1;
	if ((len = read(w->fd, buf, sizeof(buf))) <= 0)
		return -1;
	for (char *at = buf; at < buf + len;) {
		const struct inotify_event *e = (const void *)at;

		at += sizeof(*e) + e->len;
		if (e->mask & IN_IGNORED) {
			/* The folder went: it is watched again once back. */
			for (size_t i = 0; i < w->ndirs; i++)
				if (w->dirs[i].wd == e->wd) {
					free(w->dirs[i].path);
					w->dirs[i] = w->dirs[--w->ndirs];
					break;
				}
			continue;
		}
		/* A folder made (again) may hold what a render needs. */
		if (e->len && (e->mask & IN_ISDIR) &&
		    (e->mask & (IN_CREATE | IN_MOVED_TO)) && e->name[0] != '.') {
			any = 1;
			continue;
		}
		if (!e->len || (e->mask & IN_ISDIR))
			continue;
		for (size_t i = 0; i < w->ndirs; i++) {
			struct md_buf path = MD_BUF_INIT;

			if (w->dirs[i].wd != e->wd)
				continue;
			md_buf_printf(&path, "%s/%s", w->dirs[i].path, e->name);
			if (counts(w, path.ptr, e->name))
				any = 1;
			md_buf_dispose(&path);
			break;
		}
	}
	return any;
}

/* After a render: what the snapshots hold, when there are any. */
static void
say_snapshots(const struct cli_render_opts *a)
{
	size_t n, kib;

	md_exec_warm_usage(&n, &kib);
	if (n && !a->quiet)
		fprintf(stderr, "mdrun: %zu %s held, %.1f MiB\n", n,
			cli_plural(n, "snapshot", "snapshots"), kib / 1024.0);
}

int
cli_watch(const struct cli_render_opts *docs, size_t n, bool many,
	  size_t snapshots, size_t memory)
{
	struct watch w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.last = md_calloc(n + 1, sizeof(*w.last));
	md_exec_warm(true, snapshots, memory);
	if ((w.fd = inotify_init1(IN_CLOEXEC)) < 0)
		return cli_error("cannot watch files: %s", strerror(errno));
	/* The documents' folders from the start: a save during the first
	 * render is seen too. */
	for (size_t i = 0; i < n; i++) {
		char *real = canonical(docs[i].input), *dir;

		if (!real)
			continue;
		dir = md_path_dirname(real);
		rc = add_folder(&w, dir);
		free(dir);
		free(real);
		if (rc < 0) {
			rc = cli_error("%s", md_err_msg());
			goto done;
		}
	}
	if ((rc = render_all(&w, docs, n, many)) == MD_EXIT_USAGE &&
	    !w.ndirs)
		goto done;
	say_snapshots(&docs[0]);
	fprintf(stderr, "mdrun: watching %zu %s in %zu %s; Ctrl-C stops\n",
		w.nfiles, cli_plural(w.nfiles, "file", "files"), w.ndirs,
		cli_plural(w.ndirs, "folder", "folders"));
	for (;;) {
		if (changed(&w, -1) <= 0)
			continue;
		/* A save is often several events: wait for the last, but
		 * not for ever when something writes there all the time. */
		for (double t0 = md_mono();
		     changed(&w, DEBOUNCE_MS) >= 0 &&
		     md_mono() - t0 < DEBOUNCE_MAX_MS / 1000.0;)
			;
		if ((rc = render_all(&w, docs, n, many)) == MD_EXIT_USAGE &&
		    !w.ndirs)
			break;
		say_snapshots(&docs[0]);
	}
done:
	forget(&w);
	for (size_t i = 0; i < n; i++)
		md_strv_free(w.last[i].paths);
	free(w.last);
	for (size_t i = 0; i < w.ndirs; i++)
		free(w.dirs[i].path);
	free(w.dirs);
	close(w.fd);
	return rc;
}
