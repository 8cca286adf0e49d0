/* The table of output formats, found by name or by file extension. */
#include <string.h>
#include <strings.h>

#include "render.h"

const struct render_format render_formats[] = {
	{ "markdown", "md", render_markdown },
	{ "html", "html", render_html },
	{ "json", "json", render_json },
	{ "ipynb", "ipynb", render_ipynb },
	{ NULL, NULL, NULL },
};

/* Other names (for --to) and extensions a format answers to. */
static const char *const aliases[][3] = {
	/* "name" or "ext", the alias, what it stands for */
	{ "name", "md", "markdown" },
	{ "ext", "htm", "html" },
};

/* Names are compared exactly, extensions in any case. */
static bool
same(const char *a, const char *b, bool ext)
{
	return ext ? !strcasecmp(a, b) : !strcmp(a, b);
}

/* The format whose name (ext false) or extension (ext true) is s. */
static const struct render_format *
find(const char *s, bool ext)
{
	const char *kind = ext ? "ext" : "name";
	const struct render_format *f;
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(*aliases); i++)
		if (!strcmp(aliases[i][0], kind) &&
		    same(s, aliases[i][1], ext))
			s = aliases[i][2];
	for (f = render_formats; f->name; f++)
		if (same(s, ext ? f->ext : f->name, ext))
			return f;
	return NULL;
}

const struct render_format *
render_format_named(const char *name)
{
	return name ? find(name, false) : NULL;
}

const struct render_format *
render_format_for_path(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (!dot || (slash && dot < slash))
		return NULL;
	return find(dot + 1, true);
}
