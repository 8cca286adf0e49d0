/*
 * The info-string grammar inside the braces of ```{...}:
 *
 *   {python}  {sh name=setup}  {.python #fit key="a \" b"}  {r fit, echo=FALSE}
 *
 * The first bare word (or, pandoc style, the first .class) is the language;
 * a bare word right after it is the label (knitr); #id is the name; then
 * key=value options separated by spaces or commas. A value is bare or
 * double-quoted with \" and \\ escapes. In a bare value a comma not
 * followed by a space continues the value (deps=a,b) unless the next word
 * is itself key=value.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "../../util/buf.h"
#include "../../util/err.h"

/* The longest block name. */
#define MD_NAME_MAX 255

/* The options that mean something in mdrun, knitr's and Quarto's too. */
static const char *const known[] = {
	"name", "label", "session", "deps", "inputs", "env", "eval",
	"echo", "output", "error", "timeout", "cache", "track", "nouts",
	"match",
	"kernel",
	/* figures: Quarto's names, then knitr's */
	"fig-width", "fig-height", "fig-dpi", "fig-format", "fig-cap",
	"fig-alt", "fig.width", "fig.height", "dpi", "dev", "fig.cap",
	"fig.alt",
	/* what is shown, and how */
	"include", "results", "message", "warning", "collapse", "comment",
	"code-fold", "code-summary", "engine", "dependson", "file", "code",
	"child", NULL,
};

/*
 * knitr's, Quarto's and Codebraid's options that mean nothing here (page
 * layout, LaTeX, caching knobs mdrun has no use for): accepted as they
 * are, listed by -v. knitr's "a.b" is Quarto's "a-b": both are matched.
 */
static const char *const ignored[] = {
	/* knitr: code and text */
	"strip.white", "class.output", "class.message", "class.warning",
	"class.error", "class.source", "attr.source", "attr.output",
	"attr.message", "attr.warning", "attr.error", "lang", "tidy",
	"tidy.opts", "prompt", "highlight", "size", "background", "indent",
	"ref.label", "opts.label", "R.options", "purl", "split", "render",
	"engine.path", "engine.opts", "time_it",
	"out.lines", "max.print", "class.chunk", "attr.chunk", "python.reticulate",
	/* knitr: its cache */
	"cache.path", "cache.vars", "cache.globals", "cache.lazy",
	"cache.comments", "cache.rebuild", "cache.extra", "autodep",
	/* figures and layout */
	"fig.path", "fig.keep", "fig.show", "dev.args", "fig.ext",
	"fig.asp", "fig.dim", "out.width", "out.height", "out.extra",
	"fig.retina", "resize.width", "resize.height", "resize.command",
	"fig.align", "fig.link", "fig.env", "fig.scap", "fig.lp", "fig.pos",
	"fig.subcap", "fig.ncol", "fig.sep", "fig.process", "fig.showtext",
	"fig.responsive", "fig.cap-location", "external", "sanitize",
	"interval", "animation.hook", "aniopts", "ffmpeg.bitrate",
	"ffmpeg.format", "layout", "layout.ncol", "layout.nrow",
	"layout.align", "layout.valign", "column", "panel",
	"output.location", "tbl.cap", "tbl.subcap", "tbl.colwidths",
	"tbl.column", "tbl.cap-location", "cap.location", "lst.label",
	"lst.cap", "classes", "code.overflow", "code.line-numbers",
	"code.copy", "code.tools", "code.block-bg", "code.block-border-left",
	"filename", "html.table-processing", "renderings", "lightbox",
	"title", "context", "freeze", "daemon", "keep-md", "keep-ipynb",
	"debug",
	/* Codebraid */
	"show", "hide", "example", "live_output", "complete", "copy",
	"outside_main", "line_numbers", "first_number", "rewrap_lines",
	"expand_tabs", "include_file", "executable", "jupyter_kernel",
	"jupyter_timeout", NULL,
};

/* Is key one of v, a '.' and a '-' counted the same? */
static bool
listed(const char *const *v, const char *key)
{
	for (; *v; v++) {
		const char *a = *v, *b = key;
		while (*a && (*a == *b || (strchr(".-", *a) && *b &&
					   strchr(".-", *b)))) {
			a++;
			b++;
		}
		if (!*a && !*b)
			return true;
	}
	return false;
}

/* The edit distance of a and b, or more than cap when it is. */
static size_t
distance(const char *a, const char *b, size_t cap)
{
	size_t n = strlen(b), row[65], i, j;

	if (n > 64 || strlen(a) > 64)
		return cap + 1;
	for (j = 0; j <= n; j++)
		row[j] = j;
	for (i = 1; a[i - 1]; i++) {
		size_t diag = row[0], best;
		row[0] = best = i;
		for (j = 1; j <= n; j++) {
			size_t up = row[j];
			size_t sub = diag + (a[i - 1] != b[j - 1]);
			row[j] = sub < up + 1 ? sub : up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
			if (row[j] < best)
				best = row[j];
		}
		if (best > cap)
			return cap + 1;
	}
	return row[n];
}

/* The option nearest to key, when one is near enough, or NULL. */
static const char *
nearest(const char *key)
{
	const char *const *lists[] = { known, ignored };
	const char *best = NULL;
	size_t cap = strlen(key) < 5 ? 1 : 2, d;

	for (size_t l = 0; l < 2; l++)
		for (const char *const *v = lists[l]; *v; v++)
			if ((d = distance(key, *v, cap)) <= cap) {
				cap = d;
				best = *v;
			}
	return best;
}

struct scan {
	const char *s;
	size_t n, i;
	const char *path;
	int line, col; /* column of s[0] */
};

static int
fail(struct scan *sc, size_t at, const char *what, const char *arg)
{
	return md_err_set("%s:%d:%d: %s%s%s%s", sc->path, sc->line,
			  sc->col + (int)at, what, arg ? " '" : "",
			  arg ? arg : "", arg ? "'" : "");
}

static bool
is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

static bool
is_word(char c)
{
	return c && !is_sep(c) && c != '=' && c != '"' && c != '{' &&
	       c != '}';
}

bool
md_name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	return true;
}

char *
md_lower(const char *s)
{
	char *l = md_strdup(s);

	for (char *p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

/* md_opt_list's items, joined by sep. */
static char *
opt_items(const char *v, const char *sep)
{
	struct md_buf b = MD_BUF_INIT;
	size_t items = 0;
	size_t n = strlen(v);

	if (n < 2 || strncmp(v, "c(", 2) || v[n - 1] != ')') {
		if (strchr(v, '(') || ((*v == '\'' || *v == '"') &&
				       (n < 2 || v[n - 1] != *v)))
			return NULL;
		if (*v == '\'' || *v == '"')
			return md_strndup(v + 1, n - 2);
		return md_strdup(v);
	}
	/* c('a', "b"): each item quoted */
	for (size_t i = 2; i < n - 1;) {
		char q = v[i];
		size_t end;
		if (q == ' ' || q == ',') {
			i++;
			continue;
		}
		if (q != '\'' && q != '"')
			break;
		for (end = i + 1; end < n - 1 && v[end] != q; end++)
			;
		if (end >= n - 1)
			break;
		md_buf_printf(&b, "%s%.*s", items++ ? sep : "",
			      (int)(end - i - 1), v + i + 1);
		i = end + 1;
		if (i == n - 1)
			return md_buf_detach(&b);
	}
	md_buf_dispose(&b);
	return NULL;
}

char *
md_opt_list(const char *v)
{
	return opt_items(v, ",");
}

char *
md_opt_code(const char *v)
{
	/* c('a', 'b'): lines; anything else (the quotes already gone, as
	 * in code='print(1)'): one line */
	char *code = strncmp(v, "c(", 2) ? md_strdup(v) : opt_items(v, "\n");
	size_t n = code ? strlen(code) : 0;

	/* code='x <- 1': a line, as knitr takes it */
	if (code && n && code[n - 1] != '\n') {
		code = md_realloc(code, n + 2);
		code[n] = '\n';
		code[n + 1] = '\0';
	}
	return code;
}

/* Does a key=value word start at i? */
static bool
word_has_eq(struct scan *sc, size_t i)
{
	while (i < sc->n && is_word(sc->s[i]))
		i++;
	return i < sc->n && sc->s[i] == '=';
}

/*
 * An R call as knitr takes it (c('a', 'b'), c(1, 3), list(x = 1)), kept
 * as written: from an identifier and '(' to the matching ')', quotes
 * respected. 0 when none starts at i.
 */
static size_t
r_call_len(const struct scan *sc, size_t i)
{
	size_t j = i;
	int depth = 0;
	char q = 0;

	while (j < sc->n && (isalnum((unsigned char)sc->s[j]) ||
			     sc->s[j] == '.' || sc->s[j] == '_'))
		j++;
	if (j == i || j >= sc->n || sc->s[j] != '(')
		return 0;
	for (; j < sc->n; j++) {
		char c = sc->s[j];
		if (q) {
			if (c == '\\')
				j++;
			else if (c == q)
				q = 0;
		} else if (c == '"' || c == '\'') {
			q = c;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			return j + 1 - i;
		}
	}
	return 0;
}

static int
read_value(struct scan *sc, struct md_buf *val)
{
	size_t call;

	if ((call = r_call_len(sc, sc->i)) > 0) {
		md_buf_put(val, sc->s + sc->i, call);
		sc->i += call;
		if (sc->i < sc->n && !is_sep(sc->s[sc->i]))
			return fail(sc, sc->i, "unexpected character in value",
				    NULL);
		return 0;
	}
	if (sc->i < sc->n && (sc->s[sc->i] == '"' || sc->s[sc->i] == '\'')) {
		size_t open = sc->i++;
		char quote = sc->s[open];

		for (;;) {
			if (sc->i >= sc->n)
				return fail(sc, open, "unterminated quoted value",
					    NULL);
			char c = sc->s[sc->i++];
			if (c == quote)
				break;
			if (c == '\\' && sc->i < sc->n &&
			    (sc->s[sc->i] == quote || sc->s[sc->i] == '\\'))
				c = sc->s[sc->i++];
			md_buf_putc(val, c);
		}
		if (sc->i < sc->n && !is_sep(sc->s[sc->i]))
			return fail(sc, sc->i, "expected a space or a comma "
					       "after the quoted value", NULL);
		return 0;
	}
	for (;;) {
		while (sc->i < sc->n && is_word(sc->s[sc->i]))
			md_buf_putc(val, sc->s[sc->i++]);
		if (sc->i + 1 < sc->n && sc->s[sc->i] == ',' &&
		    is_word(sc->s[sc->i + 1]) && !word_has_eq(sc, sc->i + 1)) {
			md_buf_putc(val, sc->s[sc->i++]);
			continue;
		}
		break;
	}
	if (sc->i < sc->n && !is_sep(sc->s[sc->i]))
		return fail(sc, sc->i, "unexpected character in value", NULL);
	return 0;
}

static void
add_opt(struct md_block *b, const char *key, const char *val, int line,
	int col)
{
	b->opts = md_realloc(b->opts, (b->nopts + 1) * sizeof(*b->opts));
	b->opts[b->nopts].key = md_strdup(key);
	b->opts[b->nopts].val = md_strdup(val);
	b->opts[b->nopts].line = line;
	b->opts[b->nopts].col = col;
	b->opts[b->nopts].ignored = false;
	b->nopts++;
}

static int
set_name(struct md_block *b, const char *path, int line, int col,
	 const char *name)
{
	if (!md_name_valid(name))
		return md_err_set("%s:%d:%d: invalid block name '%s' (letters, "
				  "digits, '_', '-' and '.')",
				  path, line, col, name);
	/* It goes into the environment (MDRUN_BLOCK), which caps a string. */
	if (strlen(name) > MD_NAME_MAX)
		return md_err_set("%s:%d:%d: block name longer than %d bytes",
				  path, line, col, MD_NAME_MAX);
	if (b->name)
		return md_err_set("%s:%d:%d: the block is named twice ('%s' "
				  "and '%s')", path, line, col, b->name, name);
	b->name = md_strdup(name);
	return 0;
}

int
md_info_option(struct md_block *b, const char *path, int line, int key_col,
	       const char *key, int val_col, const char *val)
{
	size_t k;

	const char *near;

	for (k = 0; known[k] && strcmp(known[k], key); k++)
		;
	if (!known[k] && listed(ignored, key)) {
		add_opt(b, key, val, line, val_col);
		b->opts[b->nopts - 1].ignored = true;
		return 0;
	}
	if (!known[k] && (near = nearest(key)))
		return md_err_set("%s:%d:%d: unknown option '%s' (did you "
				  "mean '%s'?)", path, line, key_col, key,
				  near);
	if (!known[k])
		return md_err_set("%s:%d:%d: unknown option '%s'", path, line,
				  key_col, key);
	if (!strcmp(key, "name") || !strcmp(key, "label"))
		return set_name(b, path, line, val_col, val);
	add_opt(b, key, val, line, val_col);
	return 0;
}

int
md_info_parse(struct md_block *b, const char *path, int line, int col,
	      const char *s, size_t n)
{
	struct scan sc = { s, n, 0, path, line, col };
	struct md_buf word = MD_BUF_INIT, val = MD_BUF_INIT;
	bool label_allowed = false;
	int rc = 0;

	while (rc == 0) {
		while (sc.i < n && is_sep(s[sc.i]))
			sc.i++;
		if (sc.i >= n)
			break;
		size_t at = sc.i;
		char lead = s[sc.i];

		md_buf_clear(&word);
		md_buf_clear(&val);
		if (lead == '.' || lead == '#')
			sc.i++;
		while (sc.i < n && is_word(s[sc.i]))
			md_buf_putc(&word, s[sc.i++]);
		if (word.len == 0) {
			rc = fail(&sc, sc.i, "unexpected character", NULL);
			break;
		}
		if (lead == '.') {
			if (!b->lang) {
				b->lang = md_strdup(word.ptr);
				label_allowed = true;
			} else if (!strcmp(word.ptr, "cb-code") ||
				   !strcmp(word.ptr, "cb-paste")) {
				/* Codebraid's: code shown, not run */
				add_opt(b, "eval", "false", line,
					col + (int)at);
			}
			continue;
		}
		if (lead == '#') {
			rc = set_name(b, path, line, col + (int)at + 1,
				      word.ptr);
			label_allowed = false;
			continue;
		}
		if (sc.i >= n || s[sc.i] != '=') {
			if (!b->lang) {
				b->lang = md_strdup(word.ptr);
				label_allowed = true;
			} else if (label_allowed) {
				rc = set_name(b, path, line, col + (int)at,
					      word.ptr);
				label_allowed = false;
			} else {
				rc = fail(&sc, at, "unexpected word", word.ptr);
			}
			continue;
		}
		label_allowed = false;
		sc.i++; /* '=' */
		if ((rc = read_value(&sc, &val)) < 0)
			break;
		rc = md_info_option(b, path, line, col + (int)at, word.ptr,
				    col + (int)(at + word.len + 1),
				    val.ptr ? val.ptr : "");
	}
	md_buf_dispose(&word);
	md_buf_dispose(&val);
	return rc;
}

static bool
parse_bool(bool *out, const char *v)
{
	/* YAML's, Python's and R's spellings (T and F are R's too) */
	static const char *const yes[] = { "true", "TRUE", "True", "yes",
					   "T", NULL };
	static const char *const no[] = { "false", "FALSE", "False", "no",
					  "F", NULL };
	size_t i;

	for (i = 0; yes[i]; i++)
		if (!strcmp(v, yes[i]))
			return *out = true, true;
	for (i = 0; no[i]; i++)
		if (!strcmp(v, no[i]))
			return *out = false, true;
	return false;
}

/* Each comma-separated item passes ok(); no empty items. */
static bool
valid_list(const char *v, bool (*ok)(const char *))
{
	char *copy = md_strdup(v), *item, *save = NULL;
	bool good = *v != '\0';

	for (item = strtok_r(copy, ",", &save); good && item;
	     item = strtok_r(NULL, ",", &save)) {
		/* deps="a, b": blanks around an item are not part of it. */
		while (*item == ' ')
			item++;
		size_t n = strlen(item);
		while (n > 0 && item[n - 1] == ' ')
			item[--n] = '\0';
		good = ok(item);
	}
	/* strtok_r skips empty items, so look for them directly. */
	if (good && (v[0] == ',' || v[strlen(v) - 1] == ',' ||
		     strstr(v, ",,")))
		good = false;
	free(copy);
	return good;
}

static bool
valid_env_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static bool
valid_path(const char *s)
{
	return *s != '\0';
}

static int
bad_value(const char *path, const struct md_opt *o, const char *expected)
{
	return md_err_set("%s:%d:%d: invalid value '%s' for '%s': expected %s",
			  path, o->line, o->col, o->val, o->key, expected);
}

/*
 * A figure option (Quarto's or knitr's name) into its part of fig
 * ("width", "height", "dpi", "format"): 1 when k is one, 0 when not, an
 * error when its value is not what it takes.
 */
static int
fig_option(char *fig[4], const char *path, const struct md_opt *o)
{
	static const char *const names[][3] = {
		{ "fig-width", "fig.width", "width" },
		{ "fig-height", "fig.height", "height" },
		{ "fig-dpi", "dpi", "dpi" },
		{ "fig-format", "dev", "format" },
	};
	static const char *const formats[][2] = {
		{ "png", "png" }, { "svg", "svg" }, { "jpeg", "jpeg" },
		{ "jpg", "jpeg" },
	};
	struct md_buf b = MD_BUF_INIT;
	size_t i, k;
	char *end;

	for (i = 0; i < 4 && strcmp(o->key, names[i][0]) &&
		    strcmp(o->key, names[i][1]);
	     i++)
		;
	if (i == 4)
		return 0;
	if (i == 3) {
		for (k = 0; k < 4 && strcmp(o->val, formats[k][0]); k++)
			;
		if (k == 4)
			return bad_value(path, o, "png, svg or jpeg");
		md_buf_printf(&b, "format=%s", formats[k][1]);
	} else {
		double v = strtod(o->val, &end);
		double max = i == 2 ? 2400 : 100;
		if (!*o->val || *end || !(v > 0) || v > max)
			return bad_value(path, o,
					 i == 2 ? "dots per inch, from 1 to 2400"
						: "inches, greater than 0, at "
						  "most 100");
		md_buf_printf(&b, "%s=%g", names[i][2], v);
	}
	free(fig[i]);
	fig[i] = md_buf_detach(&b);
	return 1;
}

/* The parts of fig that are set, in their order, or NULL when none is. */
static char *
fig_spec(char *fig[4])
{
	struct md_buf b = MD_BUF_INIT;

	for (size_t i = 0; i < 4; i++) {
		if (fig[i])
			md_buf_printf(&b, "%s%s", b.len ? " " : "", fig[i]);
		free(fig[i]);
	}
	return b.len ? md_buf_detach(&b) : NULL;
}

/*
 * knitr's vector of indexes (c(1, 3), -1, 1:3, numeric(0)): *shown says
 * whether it selects anything. false when v is no such vector.
 */
static bool
r_vector(const char *v, bool *shown)
{
	size_t n = strlen(v);
	bool any = false;

	if (!strcmp(v, "numeric(0)")) {
		*shown = false;
		return true;
	}
	if (!strncmp(v, "c(", 2) && n > 2 && v[n - 1] == ')') {
		v += 2;
		n -= 3;
	}
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)v[i]) && v[i] != '0')
			any = true;
		else if (!strchr("0123456789-:, ", v[i]))
			return false;
	}
	*shown = any;
	return true;
}

/* knitr's dependson: 'a', a, c('a', "b"): names, at least one. */
static bool
r_names(const char *v)
{
	char *list = md_opt_list(v);
	bool ok = list && valid_list(list, md_name_valid);

	free(list);
	return ok;
}

/* Checks one option and sets what it means in b (figures: in fig). */
static int
one_option(struct md_block *b, char *fig[4], const char *path,
	   const struct md_opt *o)
{
	const char *k = o->key, *v = o->val;
	bool flag = true;
	char *end;
	int rc;

	if (o->ignored || !strcmp(k, "fig-cap") || !strcmp(k, "fig.cap") ||
	    !strcmp(k, "fig-alt") || !strcmp(k, "fig.alt") ||
	    !strcmp(k, "code-summary") || !strcmp(k, "engine"))
		return 0; /* any text; engine: see md_opts_validate */
	if ((rc = fig_option(fig, path, o)) != 0)
		return rc < 0 ? rc : 0;
	if (!strcmp(k, "include") || !strcmp(k, "collapse") ||
	    !strcmp(k, "message") || !strcmp(k, "warning")) {
		/* knitr takes a vector of indexes for message and warning:
		 * some are shown, as all are here */
		if (!parse_bool(&flag, v) && !r_vector(v, &flag))
			return bad_value(path, o, "true or false");
		if (!strcmp(k, "collapse"))
			b->collapse = flag;
		else if (!strcmp(k, "message"))
			b->no_messages = !flag;
		else if (!strcmp(k, "warning"))
			b->no_warnings = !flag;
		else if (!flag)
			b->excluded = true;
		return 0;
	}
	if (!strcmp(k, "results")) {
		if (!strcmp(v, "markup") || !strcmp(v, "hold"))
			b->output = MD_OUTPUT_SHOW;
		else if (!strcmp(v, "asis"))
			b->output = MD_OUTPUT_ASIS;
		else if (!strcmp(v, "hide") ||
			 (parse_bool(&flag, v) && !flag))
			b->output = MD_OUTPUT_HIDE;
		else
			return bad_value(path, o, "markup, asis, hold or hide");
		return 0;
	}
	if (!strcmp(k, "comment")) {
		free(b->comment);
		/* knitr: NA or '' is no prefix */
		b->comment = *v && strcmp(v, "NA") ? md_strdup(v) : NULL;
		return 0;
	}
	if (!strcmp(k, "code-fold")) {
		if (!strcmp(v, "show"))
			b->fold = 2;
		else if (parse_bool(&flag, v))
			b->fold = flag;
		else
			return bad_value(path, o, "true, false or show");
		return 0;
	}
	if (!strcmp(k, "dependson"))
		return r_names(v) ? 0 : bad_value(path, o, "block names");
	if (!strcmp(k, "child")) {
		free(b->child);
		b->child = md_opt_list(v);
		if (b->child && *b->child)
			return 0;
		return bad_value(path, o, "documents: 'a.Rmd' or "
					  "c('a.Rmd', 'b.Rmd')");
	}
	if (!strcmp(k, "file") || !strcmp(k, "code")) {
		char *list = !strcmp(k, "file") ? md_opt_list(v)
						: md_opt_code(v);
		bool ok = list && *list;
		free(list);
		return ok ? 0 : bad_value(path, o, !strcmp(k, "file")
				? "files: 'a.py' or c('a.py', 'b.py')"
				: "code: 'x <- 1' or c('x <- 1', 'x')");
	}
	if (!strcmp(k, "eval") || !strcmp(k, "echo")) {
		/* knitr: a vector of lines or expressions; Quarto: fenced */
		if (r_vector(v, &flag) ||
		    (!strcmp(k, "echo") && !strcmp(v, "fenced")))
			v = flag || !strcmp(v, "fenced") ? "true" : "false";
	}
	if (!strcmp(k, "eval") || !strcmp(k, "echo") || !strcmp(k, "error") ||
	    !strcmp(k, "cache") || !strcmp(k, "track")) {
		if (!parse_bool(&flag, v))
			return bad_value(path, o, "true or false");
		if (!strcmp(k, "echo"))
			b->echo = flag;
		else if (!strcmp(k, "error"))
			b->error_ok = flag;
		else if (!strcmp(k, "cache"))
			b->cache = flag;
		else if (!strcmp(k, "track"))
			b->track = flag;
		else if (!flag)
			b->exec = false;
	} else if (!strcmp(k, "output")) {
		if (!strcmp(v, "asis"))
			b->output = MD_OUTPUT_ASIS;
		else if (parse_bool(&flag, v))
			b->output = flag ? MD_OUTPUT_SHOW
					 : MD_OUTPUT_HIDE;
		else
			return bad_value(path, o,
					 "true, false or asis");
	} else if (!strcmp(k, "timeout")) {
		double t = strtod(v, &end);
		if (!*v || *end || !(t > 0) || t > 1e7)
			return bad_value(path, o, "a number of seconds "
						  "greater than 0");
		b->timeout = t;
	} else if (!strcmp(k, "nouts")) {
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 1 || n > 1000)
			return bad_value(path, o, "a whole number from "
						  "1 to 1000");
		b->nouts = (int)n;
	} else if (!strcmp(k, "match")) {
		if (!strcmp(v, "latest"))
			b->match = MD_MATCH_LATEST;
		else if (!strcmp(v, "first"))
			b->match = MD_MATCH_FIRST;
		else if (!strcmp(v, "all"))
			b->match = MD_MATCH_ALL;
		else
			return bad_value(path, o,
					 "latest, first or all");
	} else if (!strcmp(k, "kernel")) {
		if (!md_name_valid(v))
			return bad_value(path, o, "a kernelspec name");
	} else if (!strcmp(k, "session")) {
		if (!md_name_valid(v))
			return bad_value(path, o, "a session name or "
						  "none");
	} else if (!strcmp(k, "deps")) {
		if (!valid_list(v, md_name_valid))
			return bad_value(path, o, "a comma list of "
						  "block names");
	} else if (!strcmp(k, "env")) {
		if (!valid_list(v, valid_env_name))
			return bad_value(path, o, "a comma list of "
						  "variable names");
	} else if (!strcmp(k, "inputs")) {
		if (!valid_list(v, valid_path))
			return bad_value(path, o, "a comma list of "
						  "files or globs");
	}
	return 0;
}

int
md_opts_validate(struct md_block *b, const char *path)
{
	char *fig[4] = { NULL, NULL, NULL, NULL };
	char *spec;
	int rc = 0;

	const char *engine = md_block_opt(b, "engine");

	b->echo = true;
	b->cache = true;
	b->track = true;
	b->error_ok = false;
	b->output = MD_OUTPUT_SHOW;
	b->timeout = 0;
	b->nouts = 1;
	b->match = MD_MATCH_LATEST;
	b->excluded = b->collapse = false;
	b->no_warnings = b->no_messages = false;
	b->fold = 0;
	for (size_t i = 0; i < b->nopts && rc == 0; i++)
		rc = one_option(b, fig, path, &b->opts[i]);
	spec = fig_spec(fig);
	if (rc < 0) {
		free(spec);
		return rc;
	}
	free(b->fig);
	b->fig = spec;
	/* include=false: it runs, and shows neither code nor output */
	if (b->excluded) {
		b->echo = false;
		b->output = MD_OUTPUT_HIDE;
	}
	free(b->fold_summary);
	b->fold_summary = md_block_opt(b, "code-summary")
				  ? md_strdup(md_block_opt(b, "code-summary"))
				  : NULL;
	/* knitr's engine= names the language: {r, engine='python'} */
	if (engine && b->lang) {
		free(b->lang);
		b->lang = md_lower(engine);
	}
	return 0;
}
