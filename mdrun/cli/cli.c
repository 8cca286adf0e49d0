/* What the subcommands share: arguments. */
#include "cli.h"

#include <string.h>

const char *
cli_plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int
cli_option_value(const char **out, int argc, char **argv, int *i,
		 const char *name)
{
	size_t n = strlen(name);
	const char *s = argv[*i];

	if (!strncmp(s, name, n) && s[n] == '=') {
		*out = s + n + 1;
		return 1;
	}
	if (strcmp(s, name))
		return 0;
	if (*i + 1 >= argc)
		return cli_usage_error("%s needs a value", name), -1;
	*out = argv[++*i];
	return 1;
}
