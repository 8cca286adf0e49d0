/* The command line: one function per subcommand; only these print. */
#ifndef MD_CLI_H
#define MD_CLI_H

/* Exit codes. */
enum {
	MD_EXIT_OK = 0,
	MD_EXIT_FAILED = 1, /* a block failed, or a check found differences */
	MD_EXIT_USAGE = 2   /* usage, configuration or I/O error */
};

/* argv[0] is the subcommand's name. Returns the exit code. */
int cmd_render(int argc, char **argv);

/* Prints "mdrun: MSG" and a hint to stderr; returns MD_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "mdrun: MSG" to stderr; returns MD_EXIT_USAGE. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
