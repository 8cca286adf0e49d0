#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../core/proc.h"
#include "../../util/heap.h"

#ifndef MDRUN_VERSION
#define MDRUN_VERSION "0.0.0"
#endif

const char cli_usage[] =
	"usage: mdrun [render] [options] FILE...\n"
	"       mdrun --help | --version\n"
	"\n"
	"Evaluates a Markdown notebook: runs every executable fenced block\n"
	"(```{sh}, ```{bash}, ```{python}, ```{r}; a plain ```sh block is only\n"
	"shown)\n"
	"and prints the document with each block's output spliced in under it.\n"
	"Blocks of one language share one interpreter (a session), so state\n"
	"carries from block to block. Results are kept in a store: a block\n"
	"whose code, interpreter, folder and upstream results are unchanged\n"
	"is not run again.\n"
	"\n"
	"commands:\n"
	"  render FILE...    render the documents (the default command)\n"
	"  plan FILE...      what would run and why, running nothing\n"
	"                    (mdrun plan --help)\n"
	"  store ls | show REF | path REF | verify | rm REF | migrate\n"
	"                    inspect the store (mdrun store --help)\n"
	"  gc                remove what no document uses (mdrun gc --help)\n"
	"  check FILE...     do the documents evaluate, and are their outputs\n"
	"                    current? (for CI; mdrun check --help)\n"
	"  strip FILE...     remove the outputs rendering in place added,\n"
	"                    giving back the source (mdrun strip --help)\n"
	"  watch FILE...     render, then again on every save of the\n"
	"                    document or a file it read (mdrun watch --help)\n"
	"  push | pull [REMOTE]\n"
	"                    share the store through a git remote\n"
	"                    (mdrun push --help)\n"
	"  kernels           the Jupyter kernels installed, and the languages\n"
	"                    that run in one (```{r} in IRkernel)\n"
	"\n";

/* The rest of it: one string would be longer than C compilers must take. */
static const char usage_options[] =
	"render options:\n"
	"  -o, --output OUT  write the result to OUT (default: standard output)\n"
	"  -i, --in-place    rewrite FILE.md itself\n"
	"  --to FORMAT       markdown (the default), html (one self-contained\n"
	"                    page), json (every block's results as data) or\n"
	"                    ipynb (a Jupyter notebook); default from -o's\n"
	"                    extension (.html, .json, .ipynb)\n"
	"  --unsafe-html     let raw HTML through into an HTML report (the\n"
	"                    document's own, and output=asis output)\n"
	"  --all             also run plain blocks whose language has an\n"
	"                    interpreter (```sh, ```python)\n"
	"  --store DIR       the store folder (default: $MDRUN_STORE, else\n"
	"                    .mdrun at the git repository root, else .mdrun\n"
	"                    beside the document)\n"
	"  --config FILE     interpreters for more languages (default:\n"
	"                    mdrun.json beside the document, else at the\n"
	"                    repository root)\n"
	"  --timeout SEC     kill a block after SEC seconds (default 600)\n"
	"  --max-output SIZE keep at most SIZE bytes of each block's stdout\n"
	"                    and of its stderr (default 1M; K and M allowed)\n"
	"  -j, --jobs N      realize on up to N threads (default: the cores)\n"
	"  -k, --keep-going  after a failure, go on with every block that does\n"
	"                    not read a failed one (default: start nothing\n"
	"                    new, render what ran)\n"
	"  --rebuild[=NAME]  run every block (or block NAME) again, adding a\n"
	"                    realization even when one is in the store\n"
	"  --no-track        record no files that blocks read or write (a\n"
	"                    block that recorded some is still checked)\n"
	"  --max-write SIZE  keep the content of files blocks write up to\n"
	"                    SIZE bytes each (default 64M); a larger one is\n"
	"                    only hashed, and its block runs again if it is\n"
	"                    missing\n"
	"  -q, --quiet       print errors only\n"
	"  -v, --verbose     also name the knitr and Quarto options the\n"
	"                    document gives that mean nothing in mdrun\n"
	"  --color WHEN      auto (the default: on a terminal, unless NO_COLOR\n"
	"                    is set or TERM=dumb), always or never: the live\n"
	"                    progress line and colours\n"
	"\n"
	"FILE may be '-' for standard input; OUT may be '-' for standard\n"
	"output. The result is written to a temporary file and renamed, so a\n"
	"failure never leaves a half-written document.\n"
	"\n"
	"Several documents, folders (searched for .md, .Rmd and .qmd files,\n"
	"leaving out hidden folders and what .gitignore ignores) and quoted\n"
	"globs are rendered one after the other into one store, each with a\n"
	"summary line and one line for all: with -i each in place, with --to\n"
	"FORMAT each beside itself (doc.md gives doc.html).\n"
	"\n"
	"exit status: 0 every block ran fine; 1 a block failed (the document is\n"
	"still written, failures shown); 2 usage, configuration or I/O error\n"
	"(nothing is run or written); with several documents, the worst.\n";

void
cli_print_usage(void)
{
	fputs(cli_usage, stdout);
	fputs(usage_options, stdout);
}

static int
vreport(const char *fmt, va_list ap, bool hint)
{
	fputs("mdrun: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (hint)
		fputs("Try 'mdrun --help' for more information.\n", stderr);
	return MD_EXIT_USAGE;
}

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vreport(fmt, ap, true);
	va_end(ap);
	return rc;
}

int
cli_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vreport(fmt, ap, false);
	va_end(ap);
	return rc;
}

/*
 * The subcommands. Each gets argv from its own name on and returns the
 * exit code. A first argument that names none is a document to render.
 */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "render", cmd_render }, { "check", cmd_check },
	{ "plan", cmd_plan },	  { "store", cmd_store },
	{ "gc", cmd_gc },	  { "push", cmd_remote },
	{ "pull", cmd_remote },	  { "kernels", cmd_kernels },
	{ "strip", cmd_strip },	  { "watch", cmd_watch },
};

int
main(int argc, char **argv)
{
	/*
	 * A closed pipe downstream, or a file size limit reached, is an I/O
	 * error with its reason (EPIPE, EFBIG), not a silent death.
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * A closed fd 0, 1 or 2 would be the next file opened (a pipe, a
	 * lock, a block's keeper's line to mdrun): /dev/null holds the place.
	 */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) < 0)
			return MD_EXIT_USAGE;
	md_heap_setup();
	md_proc_grow_fds();
	/* Ctrl-C and kill end every block's process group with mdrun. */
	md_proc_handle_signals();
	if (argc < 2)
		return cli_usage_error("no document given");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		cli_print_usage();
		return MD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mdrun %s\n", MDRUN_VERSION);
		return MD_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return cmd_render(argc, argv);
}
