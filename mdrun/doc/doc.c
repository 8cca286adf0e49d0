#define _GNU_SOURCE /* memmem */
#include "doc.h"

#include <cmark-gfm.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"

/* Start offsets of every line, 1-based; lines[nlines + 1] == len. */
struct lines {
	size_t *at;
	int n;
};

/* Splits at \n, \r\n and a lone \r, as cmark does. */
static void
lines_index(struct lines *l, const char *s, size_t len)
{
	size_t cap = 64, i;
	bool cr = memchr(s, '\r', len) != NULL;

	l->at = md_malloc(cap * sizeof(size_t));
	l->n = 0;
	l->at[1] = 0;
	l->n = 1;
	for (i = 0; i < len; i++) {
		if (!cr) { /* the common case: memchr finds \n fast */
			const char *nl = memchr(s + i, '\n', len - i);
			if (!nl)
				break;
			i = (size_t)(nl - s);
		} else if (s[i] != '\n' && s[i] != '\r') {
			continue;
		}
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			i++;
		if ((size_t)l->n + 2 >= cap) {
			cap *= 2;
			l->at = md_realloc(l->at, cap * sizeof(size_t));
		}
		l->at[++l->n] = i + 1;
	}
	/* A final terminator does not open one more line. */
	if (len > 0 && l->at[l->n] == len)
		l->n--;
	l->at[l->n + 1] = len;
}

static size_t
line_start(const struct lines *l, int line)
{
	if (line < 1)
		return 0;
	if (line > l->n)
		return l->at[l->n + 1];
	return l->at[line];
}

/* One past the line's terminator. */
static size_t
line_end(const struct lines *l, int line)
{
	return line_start(l, line + 1);
}

/* The length of the line without its terminator. */
static size_t
line_len(const char *src, const struct lines *l, int line)
{
	size_t a = line_start(l, line), b = line_end(l, line);

	while (b > a && (src[b - 1] == '\n' || src[b - 1] == '\r'))
		b--;
	return b - a;
}

static bool
line_is(const char *src, const struct lines *l, int line, const char *marker)
{
	size_t a = line_start(l, line), n = line_len(src, l, line);
	size_t m = strlen(marker);

	while (n > 0 && (src[a] == ' ' || src[a] == '\t' || src[a] == '>')) {
		a++;
		n--;
	}
	while (n > 0 && (src[a + n - 1] == ' ' || src[a + n - 1] == '\t'))
		n--;
	return n == m && !memcmp(src + a, marker, m);
}

/* The line is s, with trailing blanks allowed; skip bytes at its start. */
static bool
line_is_exactly(const char *src, const struct lines *l, int line,
		const char *s, size_t skip)
{
	size_t a = line_start(l, line) + skip, n = line_len(src, l, line);
	size_t m = strlen(s);

	if (n < skip)
		return false;
	n -= skip;
	while (n > m && (src[a + n - 1] == ' ' || src[a + n - 1] == '\t'))
		n--;
	return n == m && !memcmp(src + a, s, m);
}

static bool
is_marker_node(cmark_node *n, const char *marker)
{
	const char *lit;

	if (!n || cmark_node_get_type(n) != CMARK_NODE_HTML_BLOCK)
		return false;
	lit = cmark_node_get_literal(n);
	/* An HTML block keeps its indentation: a region under an indented
	 * fence is indented too. */
	return lit && !strncmp(lit + strspn(lit, " \t"), marker,
			       strlen(marker));
}

/*
 * A closing fence: after the container prefix, a run of at least len
 * fence characters and nothing but blanks.
 */
static bool
is_closing_fence(const char *s, size_t n, char ch, int len)
{
	size_t i = 0;
	int run = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '>'))
		i++;
	while (i < n && s[i] == ch) {
		i++;
		run++;
	}
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return run >= len && i == n;
}

/* What a container prefix keeps of a line's start: quote markers, blanks. */
static bool
is_container_char(char c)
{
	return c == '>' || c == ' ' || c == '\t';
}

/* The node after n in document order, n's children skipped. */
static cmark_node *
node_after(cmark_node *n)
{
	for (; n; n = cmark_node_parent(n))
		if (cmark_node_next(n))
			return cmark_node_next(n);
	return NULL;
}

struct parse {
	struct md_doc *doc;
	struct lines lines;
	unsigned flags;
	size_t bom; /* bytes of a UTF-8 byte order mark at the start */
	size_t cap; /* blocks allocated in doc->blocks */
	/* a MyST notebook (jupytext: or kernelspec: in the front matter):
	 * every ```{name} but {code-cell} is a directive */
	bool myst;
	/* where the next inline span is looked for: past the last one
	 * found, and its value's marker */
	size_t value_end;
	/* includes found: {{< include >}} lines, child= blocks */
	struct include_at {
		size_t start, end; /* the shortcode's line, or 0, 0 */
		size_t at;	   /* where its text goes */
		size_t open_end;   /* an earlier render's text: its end */
		size_t close_start, old_end;
		char *files; /* a comma list */
		int line, col;
	} *incs;
	size_t nincs;
};

/*
 * MD_DOC_AS_READ (strip): an option's or a name's error is no reason to
 * refuse the text; it is forgotten, and the block taken as it stands.
 */
static bool
as_read(struct parse *ps)
{
	if (!(ps->flags & MD_DOC_AS_READ))
		return false;
	md_err_clear();
	return true;
}

/*
 * The documents being included, innermost first: a cycle is an error;
 * so are more than INCLUDES_MAX inclusions in all (ten files that each
 * include the next ten times would never end).
 */
struct including {
	const char *real;
	const struct including *up;
	int depth;
	size_t *count; /* inclusions so far, shared by all */
	size_t *bytes; /* and their bytes */
};

#define INCLUDES_MAX 1000
#define INCLUDE_BYTES_MAX ((size_t)256 << 20)

/* Copies the code without CRs of CRLF pairs: keys ignore line endings. */
static void
set_code(struct md_block *b, const char *lit)
{
	struct md_buf buf = MD_BUF_INIT;
	const char *p;

	md_buf_grow(&buf, strlen(lit));
	for (p = lit; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			md_buf_putc(&buf, *p);
	b->code_len = buf.len;
	b->code = md_buf_detach(&buf);
}

/*
 * Quarto's "#| key: value" lines at the top of the code are options, not
 * code: they are taken out of what runs and what is hashed.
 */
static int
quarto_options(struct md_block *b, const char *path)
{
	size_t pos = 0, pfx = strlen(b->prefix);
	int line = b->line + 1;
	int rc = 0;

	while (rc == 0 && pos < b->code_len && !strncmp(b->code + pos, "#|", 2)) {
		size_t eol = pos + strcspn(b->code + pos, "\n");
		size_t k = pos + 2, ke, v, ve;

		while (k < eol && (b->code[k] == ' ' || b->code[k] == '\t'))
			k++;
		for (ke = k; ke < eol && b->code[ke] != ':' &&
			     b->code[ke] != ' '; ke++)
			;
		if (ke == k || ke >= eol || b->code[ke] != ':')
			return md_err_set("%s:%d:%zu: expected '#| key: value'",
					  path, line, pfx + k + 1 - pos);
		for (v = ke + 1; v < eol && (b->code[v] == ' ' ||
					     b->code[v] == '\t'); v++)
			;
		for (ve = eol; ve > v && (b->code[ve - 1] == ' ' ||
					  b->code[ve - 1] == '\t'); ve--)
			;
		/* A YAML-quoted value loses its quotes. */
		if (ve - v >= 2 && (b->code[v] == '"' || b->code[v] == '\'') &&
		    b->code[ve - 1] == b->code[v]) {
			v++;
			ve--;
		}
		char *key = md_strndup(b->code + k, ke - k);
		char *val = md_strndup(b->code + v, ve - v);
		rc = md_info_option(b, path, line, (int)(pfx + k - pos + 1), key,
				    (int)(pfx + v - pos + 1), val);
		free(key);
		free(val);
		pos = eol < b->code_len ? eol + 1 : eol;
		line++;
	}
	b->code_line = line;
	if (pos > 0) {
		memmove(b->code, b->code + pos, b->code_len - pos + 1);
		b->code_len -= pos;
	}
	return rc;
}

/*
 * The front matter's defaults (Quarto's execute:, knitr's opts_chunk:)
 * as b's first options, so that its own come after them and win.
 */
static int
apply_defaults(struct parse *ps, struct md_block *b)
{
	const struct md_doc *doc = ps->doc;

	for (size_t i = 0; i < doc->ndefaults; i++) {
		const struct md_opt *d = &doc->defaults[i];
		if (md_info_option(b, doc->path, d->line, d->col, d->key,
				   d->col, d->val) < 0)
			return MD_ERROR;
	}
	return 0;
}

enum { MYST_NONE, MYST_CODE_CELL, MYST_OTHER };

/*
 * Is info a MyST directive: "{code-cell} python3", "{note}", "{raw} html"?
 * A {name} with nothing after it is one only when name is a directive
 * Sphinx or MyST knows, so that {python} stays a block to run.
 */
static int
myst_directive(const char *info, bool myst)
{
	static const char *const known[] = {
		"admonition", "attention", "caution", "danger", "error",
		"hint", "important", "note", "seealso", "tip", "warning",
		"todo", "versionadded", "versionchanged", "deprecated",
		"figure", "image", "table", "list-table", "csv-table", "code",
		"code-block", "sourcecode", "literalinclude", "math", "raw",
		"include", "toctree", "glossary", "contents", "epigraph",
		"pull-quote", "highlights", "sidebar", "topic", "rubric",
		"margin", "dropdown", "tab-set", "tab-item", "card", "grid",
		"grid-item", "grid-item-card", "tableofcontents", "div",
		"container", "mermaid", "graphviz", "exercise", "solution",
		"proof", "only", "centered", "hlist", "eval-rst", "iframe",
		"video", "aside", "bibliography", "glue", "glue:figure",
		"glue:math", "embed", "jupyter-execute", "exercise",
		"exercise-start", "exercise-end", "solution",
		"solution-start", "solution-end", NULL,
	};
	size_t n = 1;

	if (info[0] != '{')
		return MYST_NONE;
	while (isalnum((unsigned char)info[n]) ||
	       (info[n] && strchr("-_:.", info[n])))
		n++;
	if (n == 1 || info[n] != '}')
		return MYST_NONE;
	if (n - 1 == 9 && !strncmp(info + 1, "code-cell", 9))
		return MYST_CODE_CELL;
	if (myst || info[n + 1] == ' ' || info[n + 1] == '\t' ||
	    memchr(info + 1, ':', n - 1))
		return MYST_OTHER;
	for (size_t i = 0; known[i]; i++)
		if (strlen(known[i]) == n - 1 &&
		    !strncmp(info + 1, known[i], n - 1))
			return MYST_OTHER;
	return MYST_NONE;
}

/*
 * A MyST-NB code cell's options, ":key: value" lines or a "---" YAML
 * block at the top of its code, taken out of the code. Its tags become
 * what they mean here (remove-input: echo=false, ...); other keys are
 * accepted as they are.
 */
static int
code_cell_options(struct md_block *b, const char *path)
{
	static const char *const tags[][3] = {
		{ "remove-input", "echo", "false" },
		{ "hide-input", "code-fold", "true" },
		{ "remove-output", "output", "false" },
		{ "remove-cell", "include", "false" },
		{ "raises-exception", "error", "true" },
		{ "skip-execution", "eval", "false" },
	};
	size_t pos = 0;
	int line = b->code_line, rc = 0;
	bool yaml = !strncmp(b->code, "---\n", 4), in_tags = false;

	if (yaml) {
		pos = 4;
		line++;
	}
	while (rc == 0 && pos < b->code_len) {
		size_t eol = pos + strcspn(b->code + pos, "\n"), k, ke, v;
		const char *c = b->code + pos;

		if (yaml && eol - pos == 3 && !strncmp(c, "---", 3)) {
			pos = eol + 1 < b->code_len ? eol + 1 : b->code_len;
			line++;
			break;
		}
		if (!yaml && c[0] != ':')
			break;
		/*
		 * YAML: a blank line, or one that goes on the key above (an
		 * indented line, a block list's "- item").
		 */
		if (yaml && (eol == pos || c[0] == ' ' || c[0] == '\t' ||
			     c[0] == '-' || c[0] == '#')) {
			for (size_t t = 0; in_tags && c[0] != '#' &&
					   t < sizeof(tags) / sizeof(*tags);
			     t++) {
				char *item = md_strndup(c, eol - pos);
				if (strstr(item, tags[t][0]))
					rc = md_info_option(b, path, line, 1,
							    tags[t][1], 1,
							    tags[t][2]);
				free(item);
			}
			pos = eol < b->code_len ? eol + 1 : eol;
			line++;
			continue;
		}
		k = yaml ? 0 : 1;
		for (ke = k; ke < eol - pos && c[ke] != ':'; ke++)
			;
		if (ke >= eol - pos || ke == k)
			return md_err_set("%s:%d:1: expected '%skey: value'",
					  path, line, yaml ? "" : ":");
		v = ke + 1;
		while (v < eol - pos && c[v] == ' ')
			v++;
		char *key = md_strndup(c + k, ke - k);
		char *val = md_strndup(c + v, eol - pos - v);
		in_tags = !strcmp(key, "tags");
		if (in_tags) {
			for (size_t t = 0; t < sizeof(tags) / sizeof(*tags); t++)
				if (strstr(val, tags[t][0]))
					rc = md_info_option(b, path, line, 1,
							    tags[t][1], 1,
							    tags[t][2]);
		}
		free(key);
		free(val);
		pos = eol < b->code_len ? eol + 1 : eol;
		line++;
	}
	b->code_line = line;
	if (pos > 0 && rc == 0) {
		memmove(b->code, b->code + pos, b->code_len - pos + 1);
		b->code_len -= pos;
	}
	return rc;
}

/* ```{code-cell} ipython3: a block to run, as Jupyter Book runs it. */
static int
code_cell(struct parse *ps, struct md_block *b)
{
	const char *arg = b->info + strlen("{code-cell}");
	size_t n;

	while (*arg == ' ' || *arg == '\t')
		arg++;
	n = strcspn(arg, " \t");
	if (!n)
		return md_err_set("%s:%d:%d: {code-cell} names no language",
				  ps->doc->path, b->line, b->info_col);
	/* Jupyter's kernel names: python3, ipython3 */
	if ((n == 7 && !strncmp(arg, "python3", 7)) ||
	    (n == 8 && !strncmp(arg, "ipython3", 8)) ||
	    (n == 7 && !strncmp(arg, "ipython", 7)))
		b->lang = md_strdup("python");
	else
		b->lang = md_strndup(arg, n);
	b->exec = true;
	if (apply_defaults(ps, b) < 0)
		return MD_ERROR;
	return code_cell_options(b, ps->doc->path);
}

/* Python, BASH: a language is named in any case. */
static void
lower_lang(struct md_block *b)
{
	char *lower;

	if (!b->lang)
		return;
	lower = md_lower(b->lang);
	free(b->lang);
	b->lang = lower;
}

/* A new block at the end of doc's, zeroed. */
static struct md_block *
new_block(struct parse *ps)
{
	struct md_doc *doc = ps->doc;
	struct md_block *b;

	if (doc->nblocks == ps->cap) { /* doubling: linear in blocks */
		ps->cap = ps->cap ? 2 * ps->cap : 16;
		doc->blocks = md_realloc(doc->blocks,
					 ps->cap * sizeof(*doc->blocks));
	}
	b = &doc->blocks[doc->nblocks++];
	memset(b, 0, sizeof(*b));
	return b;
}

static int
add_block(struct parse *ps, cmark_node *node)
{
	struct md_doc *doc = ps->doc;
	const char *src = doc->src;
	struct md_block *b;
	int fence_len = 0, fence_off = 0, nl = 0;
	char fence_ch = '`';
	size_t ls, col0, col, bom, i, info_end;
	const char *lit = cmark_node_get_literal(node);
	struct md_buf prefix = MD_BUF_INIT;

	cmark_node_get_fenced(node, &fence_len, &fence_off, &fence_ch);
	b = new_block(ps);
	b->line = cmark_node_get_start_line(node);
	b->col = cmark_node_get_start_column(node);
	b->fence_char = fence_ch;
	b->fence_len = fence_len;
	b->start = line_start(&ps->lines, b->line);
	b->path = doc->path;
	set_code(b, lit ? lit : "");
	b->code_line = b->line + 1;
	for (i = 0; i < b->code_len; i++)
		nl += b->code[i] == '\n';

	/*
	 * cmark does not say whether the fence was closed: it was when the
	 * line after the code is a closing fence that no other block starts
	 * on. A quote or list item that ends ends its code too, and the line
	 * after may then only look like a fence ("```" below "- ```{sh}").
	 * Unclosed, the code runs to the end of its container.
	 */
	int close = b->line + nl + 1;
	cmark_node *after = node_after(node);
	b->closed = close <= ps->lines.n &&
		    !(after && cmark_node_get_start_line(after) == close) &&
		    is_closing_fence(src + line_start(&ps->lines, close),
				     line_len(src, &ps->lines, close),
				     fence_ch, fence_len);
	b->end_line = b->closed ? close
		      : close - 1 < ps->lines.n ? close - 1
						: ps->lines.n;
	b->end = line_end(&ps->lines, b->end_line);

	/*
	 * The prefix of later lines: quote markers, and blanks for the rest
	 * (list markers included) as wide as it is. Tabs become spaces: a
	 * tab's width depends on its column, which changes when a '>' right
	 * before a list marker (">- ```") gets the blank a quote marker may
	 * take, as it must or the line would be one column short of the item.
	 * cmark-gfm counts a byte order mark in the first line's columns;
	 * later lines have none.
	 */
	ls = b->start;
	col0 = (size_t)(b->col - 1);
	bom = b->line == 1 && col0 >= ps->bom ? ps->bom : 0;
	for (i = 0, col = 0; i < col0; i++) {
		char c = src[ls + i];
		size_t w = c == '\t' ? 4 - col % 4 : 1;

		col += w;
		if (i < bom)
			continue;
		if (c != '>') {
			while (w-- > 0)
				md_buf_putc(&prefix, ' ');
			continue;
		}
		md_buf_putc(&prefix, '>');
		if (i + 1 < col0 && !is_container_char(src[ls + i + 1]))
			md_buf_putc(&prefix, ' ');
	}
	b->prefix = md_buf_detach(&prefix);

	/* The raw info string: cmark's has its escapes already undone. */
	size_t p = ls + col0, e = ls + line_len(src, &ps->lines, b->line);
	while (p < e && src[p] == fence_ch)
		p++;
	while (p < e && (src[p] == ' ' || src[p] == '\t'))
		p++;
	info_end = e;
	while (info_end > p &&
	       (src[info_end - 1] == ' ' || src[info_end - 1] == '\t'))
		info_end--;
	b->info = md_strndup(src + p, info_end - p);
	b->info_col = (int)(p - ls) + 1;

	int myst = myst_directive(b->info, ps->myst);

	if (myst == MYST_CODE_CELL) {
		if (code_cell(ps, b) < 0)
			return MD_ERROR;
	} else if (myst == MYST_OTHER) {
		/* a MyST directive ({note}, {raw} html): text, never run */
	} else if (b->info[0] == '{' && b->info[1] == '{') {
		/* Quarto's {{python}}: shown as {python}, never run */
		size_t n = strlen(b->info);
		if (n > 4 && !strcmp(b->info + n - 2, "}}")) {
			size_t w = strcspn(b->info + 2, " \t,}");
			b->lang = md_strndup(b->info + 2, w);
			b->escaped = true;
		}
	} else if (b->info[0] == '{') {
		size_t n = strlen(b->info);

		if (apply_defaults(ps, b) < 0)
			return MD_ERROR;
		if (n < 2 || b->info[n - 1] != '}')
			return md_err_set("%s:%d:%d: missing closing '}' in "
					  "the info string",
					  doc->path, b->line,
					  b->info_col + (int)n);
		if (md_info_parse(b, doc->path, b->line, b->info_col + 1,
				  b->info + 1, n - 2) < 0)
			return MD_ERROR;
		if (!b->lang)
			return md_err_set("%s:%d:%d: the info string names no "
					  "language", doc->path, b->line,
					  b->info_col);
		b->exec = true;
		if (quarto_options(b, doc->path) < 0)
			return MD_ERROR;
	} else if (b->info[0]) {
		size_t n = strcspn(b->info, " \t");
		b->lang = md_strndup(b->info, n);
		b->exec = (ps->flags & MD_DOC_ALL) != 0;
		if (b->exec && apply_defaults(ps, b) < 0)
			return MD_ERROR;
	}
	lower_lang(b);
	if (md_opts_validate(b, doc->path) < 0 && !as_read(ps))
		return MD_ERROR;
	/* child=: the documents' text is what the block stands for */
	if (b->child)
		b->exec = b->echo = false;
	return 0;
}

/*
 * What runs to print an inline expression's value as text: str() of it
 * in python (the ';' keeps the driver from showing write()'s count), R's
 * format() joined as knitr joins a vector, and any other language's
 * code as it is, its output the value.
 */
static char *
inline_code(const char *lang, const char *expr)
{
	struct md_buf c = MD_BUF_INIT;

	if (!strcmp(lang, "python"))
		md_buf_printf(&c, "__import__(\"sys\").stdout.write(str(%s));\n",
			      expr);
	else if (!strcmp(lang, "r"))
		md_buf_printf(&c, "local({ .v <- (%s); cat(paste(if "
				  "(is.atomic(.v)) vapply(.v, format, \"\") "
				  "else format(.v), collapse = \", \")) })\n",
			      expr);
	else
		md_buf_printf(&c, "%s\n", expr);
	return md_buf_detach(&c);
}

/*
 * Where the code span of literal lit on line is: the first place from
 * the last span found on (ps->value_end) where lit stands between equal
 * runs of backticks that start no earlier. cmark's columns are off on
 * lines whose indentation it dropped (a paragraph's continuation, a lazy
 * line): the span is found by its text.
 */
static bool
find_span(struct parse *ps, int line, const char *lit, size_t *start_out,
	  size_t *end_out)
{
	const char *src = ps->doc->src;
	size_t ls = line_start(&ps->lines, line);
	size_t ln = line_len(src, &ps->lines, line);
	size_t from = ps->value_end > ls ? ps->value_end : ls, n = strlen(lit);

	while (n && from < ls + ln) {
		const char *hit = memmem(src + from, ls + ln - from, lit, n);
		size_t at, start, end, ticks = 0, k;

		if (!hit)
			return false;
		at = (size_t)(hit - src);
		from = at + 1;
		end = at + n;
		start = at;
		if (start > ls + 1 && src[start - 1] == ' ' &&
		    src[start - 2] == '`')
			start--;
		while (start > ls && start > (ps->value_end > ls
						       ? ps->value_end
						       : ls) &&
		       src[start - 1] == '`') {
			start--;
			ticks++;
		}
		if (end < ls + ln && src[end] == ' ')
			end++;
		for (k = 0; k < ticks && end + k < ls + ln &&
			    src[end + k] == '`';)
			k++;
		if (!ticks || k != ticks ||
		    (end + k < ls + ln && src[end + k] == '`') ||
		    (start > ls && src[start - 1] == '`'))
			continue;
		*start_out = start;
		*end_out = end + k;
		return true;
	}
	return false;
}

/*
 * Inline code to evaluate: `{lang} expr` (Quarto), and `r expr` in a
 * knitr document (MD_DOC_KNITR). It becomes a block whose span is the
 * code span, on one line, and whose region is the value marker an
 * earlier render left after it.
 */
static int
add_inline(struct parse *ps, cmark_node *node)
{
	struct md_doc *doc = ps->doc;
	const char *src = doc->src, *lit = cmark_node_get_literal(node);
	int line = cmark_node_get_start_line(node);
	size_t ls, ln, at, start, end, ticks = 0, lang_n;
	const char *lang, *expr;
	struct md_block *b;

	if (!lit || cmark_node_get_end_line(node) != line ||
	    line > ps->lines.n)
		return 0;
	/*
	 * The span in the source, found for every code span in order, so
	 * that a later one is never matched inside an earlier one (`e` then
	 * `{sh} x`: the text after `e` is not a span).
	 */
	if (!find_span(ps, line, lit, &start, &end))
		return 0;
	ps->value_end = end;
	if (lit[0] == '{') {
		lang = lit + 1;
		lang_n = strcspn(lang, "} \t");
		if (!lang_n || lang[lang_n] != '}' || lang[lang_n + 1] != ' ')
			return 0;
		expr = lang + lang_n + 2;
	} else if ((ps->flags & MD_DOC_KNITR) && lit[0] == 'r' &&
		   lit[1] == ' ') {
		lang = "r";
		lang_n = 1;
		expr = lit + 2;
	} else {
		return 0;
	}
	while (*expr == ' ')
		expr++;
	size_t expr_n = strlen(expr);
	while (expr_n && expr[expr_n - 1] == ' ')
		expr_n--;
	if (!expr_n)
		return 0;
	ls = line_start(&ps->lines, line);
	ln = line_len(src, &ps->lines, line);
	while (src[start + ticks] == '`')
		ticks++;
	at = (size_t)((const char *)memmem(src + start, end - start, lit,
					   strlen(lit)) - src);
	b = new_block(ps);
	b->line = line;
	b->col = (int)(start - ls) + 1;
	b->start = start;
	b->end = end;
	b->end_line = line;
	b->closed = true;
	b->fence_char = '`';
	b->fence_len = (int)ticks;
	b->path = doc->path;
	b->info = md_strndup(expr, expr_n);
	b->info_col = (int)(at - ls) + 1;
	b->lang = md_strndup(lang, lang_n);
	lower_lang(b);
	b->inline_expr = true;
	b->exec = true;
	b->prefix = md_strdup("");
	b->code = inline_code(b->lang, b->info);
	b->code_len = strlen(b->code);
	b->code_line = line;
	/* execute: enabled: false (eval: false) runs no expression either */
	for (size_t i = 0; i < doc->ndefaults; i++)
		if (!strcmp(doc->defaults[i].key, "eval") &&
		    md_info_option(b, doc->path, doc->defaults[i].line,
				   doc->defaults[i].col, "eval",
				   doc->defaults[i].col,
				   doc->defaults[i].val) < 0)
			return MD_ERROR;
	/* The value an earlier render left, on the same line. */
	ps->value_end = end;
	if (!strncmp(src + end, MD_VALUE_BEGIN, strlen(MD_VALUE_BEGIN))) {
		/*
		 * Its end: the first '`' or '<' that no backslash escapes.
		 * mdrun writes a value's '`' as an entity and a backslash
		 * before its '<' and before each of its backslashes: a value
		 * ending in one ends in two, which do not escape the marker.
		 * Any other '`' or '<' is a marker someone cut in half, which
		 * ends before the next code span or marker: no value then,
		 * rather than text lost.
		 */
		size_t i = end + strlen(MD_VALUE_BEGIN);
		size_t n = strlen(MD_VALUE_END);

		while (i < ls + ln && src[i] != '`' && src[i] != '<')
			i += src[i] == '\\' ? 2 : 1;
		if (i + n <= ls + ln && !memcmp(src + i, MD_VALUE_END, n)) {
			b->has_out = true;
			b->out_start = end;
			b->out_end = i + n;
			ps->value_end = b->out_end;
		}
	}
	if (md_opts_validate(b, doc->path) < 0 && !as_read(ps))
		return MD_ERROR;
	return 0;
}

/* Skips quote markers, list markers and blanks at the start of s. */
static size_t
skip_containers(const char *s, size_t n)
{
	size_t i = 0, d;

	for (;;) {
		if (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '>')) {
			i++;
			continue;
		}
		if (i + 1 < n && strchr("-*+", s[i]) && s[i + 1] == ' ') {
			i += 2;
			continue;
		}
		for (d = i; d < n && d - i < 9 && s[d] >= '0' && s[d] <= '9';)
			d++;
		if (d > i && d + 1 < n && (s[d] == '.' || s[d] == ')') &&
		    s[d + 1] == ' ') {
			i = d + 2;
			continue;
		}
		return i;
	}
}

/*
 * cmark reads a fence line whose info string holds invalid UTF-8 as text,
 * so a ```{...} block would silently not run: each line of the paragraph
 * n that opens such a fence fails, naming the first bad byte.
 */
static int
check_fence_text(struct parse *ps, cmark_node *n)
{
	const char *src = ps->doc->src;
	int l = cmark_node_get_start_line(n), end = cmark_node_get_end_line(n);

	for (; l <= end; l++) {
		const char *s = src + line_start(&ps->lines, l);
		size_t len = line_len(src, &ps->lines, l);
		size_t i = skip_containers(s, len), run = i, k;

		while (run < len && (s[run] == '`' || s[run] == '~') &&
		       s[run] == s[i])
			run++;
		if (run - i < 3)
			continue;
		for (k = run; k < len && (s[k] == ' ' || s[k] == '\t');)
			k++;
		if (k == len || s[k] != '{')
			continue;
		for (; k < len; k += md_utf8_len((const unsigned char *)s + k,
						 len - k))
			if (!md_utf8_len((const unsigned char *)s + k, len - k))
				return md_err_set("%s:%d:%zu: invalid UTF-8 "
						  "(byte 0x%02x) in the info "
						  "string: the block is not "
						  "read as code",
						  ps->doc->path, l, k + 1,
						  (unsigned char)s[k]);
	}
	return 0;
}

/*
 * An output region is an HTML comment MD_OUT_BEGIN right after the block,
 * up to the HTML comment MD_OUT_END among the following siblings, with no
 * other MD_OUT_BEGIN between. Returns the closing node (so the walk skips
 * what lies between), or NULL.
 */
static cmark_node *
find_region(struct parse *ps, cmark_node *code, struct md_block *b)
{
	cmark_node *n = cmark_node_next(code), *first = n;

	if (!is_marker_node(first, MD_OUT_BEGIN) || !b->closed)
		return NULL;
	/* HTML blocks' end lines are unreliable in cmark: use start lines. */
	for (n = cmark_node_next(first); n; n = cmark_node_next(n)) {
		/*
		 * Another region's start: first is a stray marker (the rest
		 * of its region deleted), not the start of one that would
		 * swallow the blocks up to that region's end.
		 */
		if (is_marker_node(n, MD_OUT_BEGIN))
			return NULL;
		if (!is_marker_node(n, MD_OUT_END))
			continue;
		int l0 = cmark_node_get_start_line(first);
		int l1 = cmark_node_get_start_line(n);
		if (!line_is(ps->doc->src, &ps->lines, l1, MD_OUT_END))
			return NULL;
		b->has_out = true;
		b->out_start = line_start(&ps->lines, l0);
		b->out_end = line_end(&ps->lines, l1);
		return n;
	}
	return NULL;
}

static int
cmp_by_name(const void *a, const void *b)
{
	const struct md_block *x = *(struct md_block *const *)a;
	const struct md_block *y = *(struct md_block *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->line - y->line;
}

/* Sorted by name, two equal neighbours are a duplicate: O(n log n). */
static int
no_duplicates(struct md_doc *doc)
{
	struct md_block **v = md_calloc(doc->nblocks, sizeof(*v));
	size_t n = 0, i;
	int rc = 0;

	for (i = 0; i < doc->nblocks; i++)
		if (doc->blocks[i].exec && doc->blocks[i].name)
			v[n++] = &doc->blocks[i];
	if (n)
		qsort(v, n, sizeof(*v), cmp_by_name);
	for (i = 1; i < n && rc == 0; i++)
		if (!strcmp(v[i]->name, v[i - 1]->name))
			rc = md_err_set("%s:%d:%d: block name '%s' is already "
					"used on line %d",
					doc->path, v[i]->line, v[i]->col,
					v[i]->name, v[i - 1]->line);
	free(v);
	return rc;
}

static int
check_names(struct md_doc *doc)
{
	struct {
		const char *lang;
		int n, inl; /* blocks, inline expressions */
	} *count = md_calloc(doc->nblocks + 1, sizeof(*count));
	size_t i, j, langs = 0;
	int rc;

	if ((rc = no_duplicates(doc)) < 0)
		goto done;
	/* Unnamed blocks are LANG-N, N counting that language's blocks. */
	for (i = 0; i < doc->nblocks; i++) {
		struct md_block *b = &doc->blocks[i];

		if (!b->exec)
			continue;
		for (j = 0; j < langs && strcmp(count[j].lang, b->lang); j++)
			;
		if (j == langs)
			count[langs++].lang = b->lang;
		if (b->inline_expr)
			count[j].inl++;
		else
			count[j].n++;
		if (b->name)
			continue;
		struct md_buf name = MD_BUF_INIT;
		/* Inline ones apart: they leave the blocks' names as they were */
		if (b->inline_expr)
			md_buf_printf(&name, "%s-inline-%d", b->lang,
				      count[j].inl);
		else
			md_buf_printf(&name, "%s-%d", b->lang, count[j].n);
		b->name = md_buf_detach(&name);
	}
	/* A default name that an explicit one already took: add the index. */
	if ((rc = no_duplicates(doc)) < 0) {
		for (i = 0; i < doc->nblocks; i++) {
			struct md_block *b = &doc->blocks[i];
			if (!b->exec || !b->name)
				continue;
			for (j = 0; j < doc->nblocks; j++)
				if (j != i && doc->blocks[j].name &&
				    doc->blocks[j].exec &&
				    !strcmp(doc->blocks[j].name, b->name) &&
				    doc->blocks[j].line < b->line) {
					struct md_buf name = MD_BUF_INIT;
					md_buf_printf(&name, "%s-%zu", b->name,
						      i + 1);
					free(b->name);
					b->name = md_buf_detach(&name);
					break;
				}
		}
		md_err_clear();
		rc = no_duplicates(doc);
	}
done:
	free(count);
	return rc;
}

/* A front matter scalar, s[*a, *b): blanks and matching quotes trimmed. */
static void
fm_trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && (s[*a] == ' ' || s[*a] == '\t'))
		(*a)++;
	while (*b > *a && (s[*b - 1] == ' ' || s[*b - 1] == '\t'))
		(*b)--;
	if (*b - *a >= 2 && (s[*a] == '"' || s[*a] == '\'') &&
	    s[*b - 1] == s[*a]) {
		(*a)++;
		(*b)--;
	}
}

/*
 * "key: value", n bytes at s, at line:col: the key and the value trimmed,
 * as offsets into s.
 */
static int
fm_pair(const struct parse *ps, int line, int col, const char *s, size_t n,
	size_t k[2], size_t v[2])
{
	k[0] = 0;
	for (k[1] = 0; k[1] < n && s[k[1]] != ':'; k[1]++)
		;
	if (k[1] >= n)
		return md_err_set("%s:%d:%d: expected 'key: value'",
				  ps->doc->path, line, col);
	v[0] = k[1] + 1;
	v[1] = n;
	fm_trim(s, &k[0], &k[1]);
	/* YAML's comment after a plain value: " # ..." */
	if (v[0] < n && s[v[0] + (s[v[0]] == ' ')] != '"' &&
	    s[v[0] + (s[v[0]] == ' ')] != '\'')
		for (size_t i = v[0]; i + 1 < n; i++)
			if ((s[i] == ' ' || s[i] == '\t') && s[i + 1] == '#') {
				v[1] = i;
				break;
			}
	fm_trim(s, &v[0], &v[1]);
	return 0;
}

typedef int (*fm_item_fn)(struct parse *ps, int line, int col, const char *s,
			  size_t n);

/*
 * A flow mapping "{a: b, c: {d: e}}", n bytes at s (blanks trimmed), at
 * line:col: fn for each item, split at the commas outside nested braces.
 */
static int
fm_flow(struct parse *ps, int line, int col, const char *s, size_t n,
	fm_item_fn fn)
{
	size_t a, i;
	int depth = 0;

	if (!n || s[0] != '{')
		return md_err_set("%s:%d:%d: expected a mapping",
				  ps->doc->path, line, col);
	if (n < 2 || s[n - 1] != '}')
		return md_err_set("%s:%d:%d: missing '}'", ps->doc->path,
				  line, col + (int)n);
	for (a = i = 1; i < n; i++) {
		if (i < n - 1 && s[i] == '{')
			depth++;
		else if (i < n - 1 && s[i] == '}')
			depth--;
		if (depth < 0 || (i == n - 1 && depth > 0))
			return md_err_set("%s:%d:%d: unbalanced braces",
					  ps->doc->path, line, col + (int)i);
		if ((s[i] == ',' && !depth) || i == n - 1) {
			size_t b = i, t = a;
			while (t < b && (s[t] == ' ' || s[t] == '\t'))
				t++;
			if (t < b && fn(ps, line, col + (int)t, s + t,
					b - t) < 0)
				return MD_ERROR;
			a = i + 1;
		}
	}
	return 0;
}

/* One "LANG: KERNEL" of the front matter's kernels mapping, at line:col. */
static int
fm_kernel(struct parse *ps, int line, int col, const char *s, size_t n)
{
	struct md_doc *doc = ps->doc;
	size_t k[2], v[2];
	char *lang, *kernel;

	if (fm_pair(ps, line, col, s, n, k, v) < 0)
		return MD_ERROR;
	lang = md_strndup(s + k[0], k[1] - k[0]);
	kernel = md_strndup(s + v[0], v[1] - v[0]);
	if (!md_name_valid(lang) || !md_name_valid(kernel)) {
		bool bad_lang = !md_name_valid(lang);
		free(lang);
		free(kernel);
		return md_err_set("%s:%d:%d: kernels: expected 'language: "
				  "kernelspec name'", doc->path, line,
				  col + (int)(bad_lang ? k[0] : v[0]));
	}
	if (md_doc_kernel(doc, lang)) {
		free(lang);
		free(kernel);
		return md_err_set("%s:%d:%d: kernels: '%.*s' is given twice",
				  doc->path, line, col + (int)k[0],
				  (int)(k[1] - k[0]), s + k[0]);
	}
	doc->kernels = md_realloc(doc->kernels,
				  (doc->nkernels + 1) * sizeof(*doc->kernels));
	doc->kernels[doc->nkernels].lang = lang;
	doc->kernels[doc->nkernels++].kernel = kernel;
	return 0;
}

/*
 * One "key: value" of the front matter's mdrun mapping, at line:col.
 * FM_BLOCK when its value is a block mapping, on the lines below.
 */
#define FM_BLOCK 1
static int
fm_option(struct parse *ps, int line, int col, const char *s, size_t n)
{
	const char *path = ps->doc->path;
	size_t k[2], v[2];

	if (fm_pair(ps, line, col, s, n, k, v) < 0)
		return md_err_set("%s:%d:%d: expected 'key: value' under "
				  "mdrun:", path, line, col);
	const char *key = s + k[0], *val = s + v[0];
	size_t kn = k[1] - k[0], vn = v[1] - v[0];
	int vcol = col + (int)v[0];

	if (kn == 3 && !strncmp(key, "run", 3)) {
		if (vn == 3 && !strncmp(val, "all", 3))
			ps->flags |= MD_DOC_ALL;
		else if (!(vn == 6 && !strncmp(val, "braces", 6)))
			return md_err_set("%s:%d:%d: invalid value '%.*s' for "
					  "'run': expected all or braces",
					  path, line, vcol, (int)vn, val);
		return 0;
	}
	if (kn == 7 && !strncmp(key, "kernels", 7)) {
		if (!vn)
			return FM_BLOCK;
		return fm_flow(ps, line, vcol, val, vn, fm_kernel);
	}
	return md_err_set("%s:%d:%d: unknown mdrun option '%.*s' in the "
			  "front matter", path, line, col + (int)k[0],
			  (int)kn, key);
}

/* An item of the flow mapping after mdrun:, which has no block values. */
static int
fm_flow_option(struct parse *ps, int line, int col, const char *s, size_t n)
{
	int rc = fm_option(ps, line, col, s, n);

	if (rc == FM_BLOCK)
		return md_err_set("%s:%d:%d: expected a value",
				  ps->doc->path, line, col);
	return rc;
}

/*
 * One "key: value" of the front matter's defaults for every block
 * (Quarto's execute:, knitr's opts_chunk:), checked when a block takes it.
 */
static int
fm_default(struct parse *ps, int line, int col, const char *s, size_t n)
{
	struct md_doc *doc = ps->doc;
	size_t k[2], v[2];
	struct md_opt *o;

	if (fm_pair(ps, line, col, s, n, k, v) < 0)
		return MD_ERROR;
	doc->defaults = md_realloc(doc->defaults, (doc->ndefaults + 1) *
							  sizeof(*doc->defaults));
	o = &doc->defaults[doc->ndefaults++];
	memset(o, 0, sizeof(*o));
	o->key = md_strndup(s + k[0], k[1] - k[0]);
	/* Quarto's execute: enabled: false runs nothing */
	if (!strcmp(o->key, "enabled")) {
		free(o->key);
		o->key = md_strdup("eval");
	}
	o->val = md_strndup(s + v[0], v[1] - v[0]);
	o->line = line;
	o->col = col + (int)k[0];
	return 0;
}

/* The blanks that start s (n bytes): its indentation. */
static size_t
indent_of(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/*
 * Jupytext's "kernelspec:" block at *line: its name: and language:, kept
 * (anything else it says, and any other form, is let be). *line ends on
 * its last line.
 */
static void
kernelspec(struct parse *ps, int *line, int close)
{
	const char *src = ps->doc->src;
	const struct lines *l = &ps->lines;

	while (*line + 1 < close) {
		const char *t = src + line_start(l, *line + 1);
		size_t n = line_len(src, l, *line + 1), in = indent_of(t, n);
		size_t k[2], v[2];
		char **to = NULL;

		if (!in)
			return;
		++*line;
		if (fm_pair(ps, *line, 1, t + in, n - in, k, v) < 0) {
			md_err_clear();
			continue;
		}
		if (k[1] - k[0] == 4 && !strncmp(t + in + k[0], "name", 4))
			to = &ps->doc->kernelspec_name;
		else if (k[1] - k[0] == 8 &&
			 !strncmp(t + in + k[0], "language", 8))
			to = &ps->doc->kernelspec_lang;
		if (to && v[1] > v[0]) {
			free(*to);
			*to = md_strndup(t + in + v[0], v[1] - v[0]);
		}
	}
}

/*
 * The mapping of options that starts at *line ("execute:" or, for knitr,
 * "knitr:" holding "opts_chunk:"), flow or block: each becomes a default
 * of every block. *line ends on its last line.
 */
static int
fm_defaults(struct parse *ps, int *line, int close, bool knitr)
{
	const char *src = ps->doc->src;
	const struct lines *l = &ps->lines;
	const char *s = src + line_start(l, *line);
	size_t n = line_len(src, l, *line), at = strcspn(s, ":") + 1;
	size_t base = 0;

	if (knitr) {
		/* knitr: opts_chunk: ..., at any deeper indentation */
		while (*line + 1 < close) {
			const char *t = src + line_start(l, *line + 1);
			size_t tn = line_len(src, l, *line + 1);
			size_t in = indent_of(t, tn);

			if (!in)
				return 0;
			++*line;
			if (tn - in >= 11 && !strncmp(t + in, "opts_chunk:", 11)) {
				s = t;
				n = tn;
				at = in + 11;
				base = in;
				break;
			}
		}
		if (*line + 1 >= close && base == 0)
			return 0;
	}
	while (at < n && (s[at] == ' ' || s[at] == '\t'))
		at++;
	if (at < n)
		return fm_flow(ps, *line, (int)at + 1, s + at, n - at,
			       fm_default);
	while (*line + 1 < close) {
		const char *t = src + line_start(l, *line + 1);
		size_t tn = line_len(src, l, *line + 1);
		size_t in = indent_of(t, tn);

		/* blank lines and comments do not end the mapping */
		if (in == tn || t[in] == '#') {
			++*line;
			continue;
		}
		if (in <= base)
			break;
		++*line;
		if (fm_default(ps, *line, (int)in + 1, t + in, tn - in) < 0)
			return MD_ERROR;
	}
	/* knitr: the rest of its mapping (opts_knit:, ...) is not ours */
	while (knitr && *line + 1 < close &&
	       indent_of(src + line_start(l, *line + 1),
			 line_len(src, l, *line + 1)) > 0)
		++*line;
	return 0;
}

/*
 * YAML front matter: "---" on the first line up to a "---" or "..." line.
 * cmark-gfm does not know it, so cmark is fed a blank copy of it (every
 * byte but line ends becomes a space, keeping offsets) in *feed, before
 * the text that follows it.
 * Its "mdrun:" mapping, flow ({run: all}) or block, sets options; the
 * kernels option is itself a mapping, flow or block.
 */
static int
front_matter(struct parse *ps, char **feed)
{
	const char *src = ps->doc->src;
	const struct lines *l = &ps->lines;
	int close, line, rc;

	if (l->n < 2 || !line_is_exactly(src, l, 1, "---", ps->bom))
		return 0;
	for (close = 2; close <= l->n; close++) {
		if (line_is_exactly(src, l, close, "---", 0) ||
		    line_is_exactly(src, l, close, "...", 0))
			break;
		/*
		 * No YAML line starts with '`' (a reserved indicator); a fence
		 * does. A "---" after it is the document's, or a block's
		 * output, and the first line a thematic break.
		 */
		if (src[line_start(l, close)] == '`')
			return 0;
	}
	if (close > l->n)
		return 0;
	ps->doc->front_start = 0;
	ps->doc->front_end = line_start(l, close + 1);
	*feed = md_strndup(src, ps->doc->front_end);
	for (size_t i = 0; i < ps->doc->front_end; i++)
		if ((*feed)[i] != '\n' && (*feed)[i] != '\r')
			(*feed)[i] = ' ';
	for (line = 2; line < close; line++) {
		const char *s = src + line_start(l, line);
		size_t n = line_len(src, l, line);
		size_t r = 6;

		if (n >= 9 && !strncmp(s, "jupytext:", 9))
			ps->myst = true;
		if (n >= 11 && !strncmp(s, "kernelspec:", 11)) {
			ps->myst = true;
			kernelspec(ps, &line, close);
			continue;
		}
		if ((n >= 8 && !strncmp(s, "execute:", 8)) ||
		    (n >= 6 && !strncmp(s, "knitr:", 6))) {
			if (fm_defaults(ps, &line, close, s[0] == 'k') < 0)
				return MD_ERROR;
			continue;
		}
		if (n < 6 || strncmp(s, "mdrun:", 6))
			continue;
		while (r < n && s[r] == ' ')
			r++;
		if (r < n && s[r] == '{') {
			if (fm_flow(ps, line, (int)r + 1, s + r, n - r,
				    fm_flow_option) < 0)
				return MD_ERROR;
			continue;
		}
		if (r < n)
			return md_err_set("%s:%d:%zu: expected a mapping after "
					  "mdrun:", ps->doc->path, line, r + 1);
		while (line + 1 < close &&
		       indent_of(src + line_start(l, line + 1),
				 line_len(src, l, line + 1)) > 0) {
			const char *o = src + line_start(l, ++line);
			size_t on = line_len(src, l, line);
			size_t in = indent_of(o, on);

			rc = fm_option(ps, line, (int)in + 1, o + in, on - in);
			if (rc < 0)
				return MD_ERROR;
			/* kernels: and, indented deeper, LANG: KERNEL lines */
			while (rc == FM_BLOCK && line + 1 < close) {
				const char *e = src + line_start(l, line + 1);
				size_t en = line_len(src, l, line + 1);
				size_t ein = indent_of(e, en);

				if (ein <= in)
					break;
				line++;
				if (fm_kernel(ps, line, (int)ein + 1, e + ein,
					      en - ein) < 0)
					return MD_ERROR;
			}
		}
	}
	return 0;
}

const char *
md_doc_kernel(const struct md_doc *doc, const char *lang)
{
	for (size_t i = 0; i < doc->nkernels; i++)
		if (!strcmp(doc->kernels[i].lang, lang))
			return doc->kernels[i].kernel;
	return NULL;
}

/* A heading's text: its literal text and code, a space for a break. */
static char *
heading_text(cmark_node *h)
{
	struct md_buf t = MD_BUF_INIT;
	cmark_iter *it = cmark_iter_new(h);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		cmark_node_type type = cmark_node_get_type(n);
		const char *lit;

		if (ev != CMARK_EVENT_ENTER)
			continue;
		if (type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE) {
			if ((lit = cmark_node_get_literal(n)))
				md_buf_puts(&t, lit);
		} else if (type == CMARK_NODE_SOFTBREAK ||
			   type == CMARK_NODE_LINEBREAK) {
			md_buf_putc(&t, ' ');
		}
	}
	cmark_iter_free(it);
	return md_buf_detach(&t);
}

/*
 * Includes. A document's {{< include FILE >}} lines (Quarto) and child=
 * blocks (knitr) are found in a first parse, which skips the text an
 * earlier render put after them; that text is then built again from the
 * files, each parsed on its own first (so that its errors name it), and
 * the whole is parsed once more (MD_DOC_EXPANDED), the included blocks as
 * the document's own.
 */

static int parse(struct md_doc **out, const char *path, char *src,
		 size_t len, unsigned flags, const struct including *up);

static struct include_at *
new_include(struct parse *ps, int line, int col)
{
	struct include_at *r;

	ps->incs = md_realloc(ps->incs, (ps->nincs + 1) * sizeof(*ps->incs));
	r = &ps->incs[ps->nincs++];
	memset(r, 0, sizeof(*r));
	r->line = line;
	r->col = col;
	return r;
}

/*
 * The text an earlier render included after line l (MD_INCLUDE_BEGIN on
 * the next line, up to its MD_INCLUDE_END, nested ones counted): sets r's
 * spans and returns its last node, or NULL when there is none.
 */
static cmark_node *
find_include(struct parse *ps, cmark_node *n, int l, struct include_at *r)
{
	cmark_node *m = cmark_node_next(n);
	int depth = 0;

	r->at = r->old_end = line_start(&ps->lines, l + 1);
	if (!is_marker_node(m, MD_INCLUDE_BEGIN) ||
	    cmark_node_get_start_line(m) != l + 1)
		return NULL;
	for (; m; m = cmark_node_next(m)) {
		if (is_marker_node(m, MD_INCLUDE_BEGIN)) {
			depth++;
		} else if (is_marker_node(m, MD_INCLUDE_END) && !--depth) {
			int end = cmark_node_get_start_line(m);

			r->open_end = line_end(&ps->lines, l + 1);
			r->close_start = line_start(&ps->lines, end);
			r->old_end = line_end(&ps->lines, end);
			return m;
		}
	}
	return NULL;
}

/*
 * A paragraph of the document (not in a quote or list) that is one line
 * {{< include FILE >}}: the place of that file's text. Returns the node
 * the walk skips to (an earlier render's text), or NULL.
 */
static cmark_node *
shortcode(struct parse *ps, cmark_node *n)
{
	const char *src = ps->doc->src;
	int l = cmark_node_get_start_line(n);
	const char *s = src + line_start(&ps->lines, l);
	size_t len = line_len(src, &ps->lines, l), i = 0, e;
	struct include_at *r;

	if (cmark_node_get_end_line(n) != l ||
	    cmark_node_get_type(cmark_node_parent(n)) != CMARK_NODE_DOCUMENT)
		return NULL;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	e = len;
	while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e - i < 6 || strncmp(s + i, "{{<", 3) || strncmp(s + e - 3, ">}}", 3))
		return NULL;
	size_t k = i + 3;
	while (k < e - 3 && s[k] == ' ')
		k++;
	if (e - 3 - k < 8 || strncmp(s + k, "include ", 8))
		return NULL;
	k += 8;
	size_t ke = e - 3;
	while (k < ke && s[k] == ' ')
		k++;
	while (ke > k && s[ke - 1] == ' ')
		ke--;
	if (ke - k >= 2 && (s[k] == '"' || s[k] == '\'') && s[ke - 1] == s[k]) {
		k++;
		ke--;
	}
	r = new_include(ps, l, (int)(k + 1));
	r->files = md_strndup(s + k, ke - k);

	r->start = line_start(&ps->lines, l);
	r->end = line_end(&ps->lines, l);
	return find_include(ps, n, l, r);
}

/*
 * Where a shortcode's "/FILE" starts, as Quarto reads it: the project's
 * folder (the nearest one above the first document that holds a
 * _quarto.yml), else the first document's folder.
 */
static char *
project_dir(const struct including *me)
{
	char *dir, *p, *slash;

	while (me->up)
		me = me->up;
	dir = md_path_dirname(*me->real ? me->real : ".");
	p = md_strdup(dir);
	for (;;) {
		char *yml = md_path_join(*p ? p : "/", "_quarto.yml");
		bool found = md_fs_exists(yml);

		free(yml);
		if (found) {
			free(dir);
			if (!*p) {
				free(p);
				return md_strdup("/");
			}
			return p;
		}
		if (!(slash = strrchr(p, '/')) || !*p) {
			free(p);
			return dir;
		}
		*slash = '\0';
	}
}

/* Appends the text of file, included at r, expanded and checked. */
static int
include_file(struct md_buf *out, struct parse *ps,
	     const struct include_at *r, const char *file,
	     const struct including *me)
{
	const char *path = ps->doc->path;
	char *dir = *file == '/' && r->start < r->end ? project_dir(me)
						      : md_path_dirname(path);
	char *child = (*file == '/' && r->start == r->end) || !strcmp(dir, ".")
			      ? md_strdup(file)
			      : md_path_join(dir, *file == '/' ? file + 1 : file);
	struct md_buf text = MD_BUF_INIT;
	struct md_doc *cd = NULL;
	char real[PATH_MAX];
	const struct including *p;
	struct including next = { real, me, me->depth + 1, me->count,
				  me->bytes };
	size_t n;
	int rc;

	free(dir);
	if (!realpath(child, real)) {
		rc = md_err_set("%s:%d:%d: cannot include '%s': %s", path,
				r->line, r->col, file, strerror(errno));
		goto done;
	}
	for (p = me; p; p = p->up)
		if (!strcmp(p->real, real)) {
			rc = md_err_set("%s:%d:%d: '%s' is being included "
					"already: the includes form a cycle",
					path, r->line, r->col, file);
			goto done;
		}
	if (me->depth >= 32 || ++*me->count > INCLUDES_MAX) {
		rc = md_err_set("%s:%d:%d: %s", path, r->line, r->col,
				me->depth >= 32
					? "includes nested more than 32 deep"
					: "more than 1000 inclusions in all");
		goto done;
	}
	/*
	 * A regular file (a link to one too): never a device or a pipe that
	 * reads forever; all included text together is bounded.
	 */
	if ((rc = md_fs_read_file(&text, real, INCLUDE_BYTES_MAX, true)) < 0 ||
	    (*me->bytes += text.len) > INCLUDE_BYTES_MAX) {
		char why[512];

		snprintf(why, sizeof(why), "%s",
			 rc < 0 ? md_err_msg()
				: "more than 256 MiB of included text");
		md_buf_dispose(&text);
		rc = MD_ERROR;
		rc = md_err_set("%s:%d:%d: cannot include '%s': %s", path,
				r->line, r->col, file, why);
		goto done;
	}
	n = text.len;
	if ((rc = parse(&cd, child, md_buf_detach(&text), n,
			ps->flags & MD_DOC_ALL, &next)) < 0)
		goto done;
	/*
	 * Its front matter is its own: the text after it; so is a byte order
	 * mark, which mid-document would spoil the first line.
	 */
	n = cd->front_end;
	if (!n && cd->len >= 3 && !memcmp(cd->src, "\xef\xbb\xbf", 3))
		n = 3;
	md_buf_put(out, cd->src + n, cd->len - n);
	if (cd->len > n && cd->src[cd->len - 1] != '\n' &&
	    cd->src[cd->len - 1] != '\r')
		md_buf_puts(out, ps->doc->eol);
done:
	md_doc_free(cd);
	free(child);
	return rc;
}

/* Does b end with a blank line (or hold nothing after the marker)? */
static bool
ends_blank(const struct md_buf *b)
{
	size_t n = b->len;

	while (n > 0 && (b->ptr[n - 1] == '\n' || b->ptr[n - 1] == '\r'))
		n--;
	for (size_t i = n, lines = 0; i < b->len; i++) {
		if (b->ptr[i] == '\n' ||
		    (b->ptr[i] == '\r' && (i + 1 == b->len ||
					   b->ptr[i + 1] != '\n')))
			lines++;
		if (lines >= 2)
			return true;
	}
	return n > strlen(MD_INCLUDE_BEGIN) &&
	       !memcmp(b->ptr + n - strlen(MD_INCLUDE_BEGIN),
		       MD_INCLUDE_BEGIN, strlen(MD_INCLUDE_BEGIN));
}

/* The document's text with every include's text read again into *out. */
static int
expand(struct md_buf *out, struct parse *ps, const struct including *up)
{
	const struct md_doc *doc = ps->doc;
	char real[PATH_MAX];
	size_t count = 0, bytes = 0, pos = 0, i;
	struct including me = { real, up, up ? up->depth : 0,
				up ? up->count : &count,
				up ? up->bytes : &bytes };
	int rc = 0;

	if (!realpath(doc->path, real))
		*real = '\0';
	for (i = 0; i < ps->nincs && rc == 0; i++) {
		const struct include_at *r = &ps->incs[i];
		char *files = md_strdup(r->files), *f, *save = NULL;

		if (!*files) {
			free(files);
			rc = md_err_set("%s:%d:%d: the include names no file",
					doc->path, r->line, r->col);
			break;
		}
		md_buf_put(out, doc->src + pos, r->at - pos);
		if (r->at && doc->src[r->at - 1] != '\n')
			md_buf_puts(out, doc->eol);
		md_buf_printf(out, "%s%s", MD_INCLUDE_BEGIN, doc->eol);
		/* a shortcode names one file, commas and all */
		if (r->start < r->end)
			rc = include_file(out, ps, r, files, &me);
		for (f = r->start < r->end ? NULL
					   : strtok_r(files, ",", &save);
		     f && rc == 0; f = strtok_r(NULL, ",", &save))
			rc = include_file(out, ps, r, f, &me);
		/*
		 * A blank line first: an HTML block (<div> ... </div>) at the
		 * end of the text would take the marker in, up to one.
		 */
		if (!ends_blank(out))
			md_buf_puts(out, doc->eol);
		md_buf_printf(out, "%s%s", MD_INCLUDE_END, doc->eol);
		pos = r->old_end;
		free(files);
	}
	md_buf_put(out, doc->src + pos, doc->len - pos);
	return rc;
}

/* In the text as expanded, where each include's parts are. */
static int
record_includes(struct parse *ps)
{
	struct md_doc *doc = ps->doc;

	doc->includes = md_calloc(ps->nincs, sizeof(*doc->includes));
	doc->nincludes = ps->nincs; /* freed whole, even if cut short */
	for (size_t i = 0; i < ps->nincs; i++) {
		const struct include_at *r = &ps->incs[i];
		struct md_include *d = &doc->includes[i];

		if (r->old_end == r->at && (ps->flags & MD_DOC_EXPANDED))
			return md_err_set("%s:%d:%d: the included text does "
					  "not end where it should (a code "
					  "block left open in '%s'?)",
					  doc->path, r->line, r->col,
					  r->files);
		d->start = r->start;
		d->end = r->end;
		d->open_start = r->at;
		d->open_end = r->open_end;
		d->close_start = r->close_start;
		d->close_end = r->old_end;
		d->files = md_strdup(r->files ? r->files : "");
	}
	doc->nincludes = ps->nincs;
	return 0;
}

int
md_doc_parse(struct md_doc **out, const char *path, const char *src,
	     size_t len, unsigned flags)
{
	return parse(out, path, md_strndup(src, len), len, flags, NULL);
}

int
md_doc_parse_take(struct md_doc **out, const char *path, char *src,
		  size_t len, unsigned flags)
{
	return parse(out, path, src, len, flags, NULL);
}

static int
parse(struct md_doc **out, const char *path, char *src, size_t len,
      unsigned flags, const struct including *up)
{
	struct parse ps;
	struct md_doc *doc = md_calloc(1, sizeof(*doc));
	struct md_buf again = MD_BUF_INIT; /* the text, includes read */
	struct md_block *b;
	cmark_parser *parser = NULL;
	cmark_node *root = NULL, *skip_to = NULL;
	cmark_iter *it = NULL;
	cmark_event_type ev;
	int rc = 0;
	const char *crlf;
	char *feed = NULL;

	memset(&ps, 0, sizeof(ps));
	doc->path = md_strdup(path);
	{
		const char *dot = strrchr(path, '.');
		if (dot && (!strcasecmp(dot, ".rmd") || !strcasecmp(dot, ".qmd") ||
			    !strcasecmp(dot, ".rmarkdown")))
			flags |= MD_DOC_KNITR;
	}
	doc->src = src;
	doc->len = len;
	crlf = memchr(src, '\n', len);
	doc->eol = crlf && crlf > src && crlf[-1] == '\r' ? "\r\n" : "\n";
	ps.doc = doc;
	ps.flags = flags;
	ps.bom = len >= 3 && !memcmp(src, "\xef\xbb\xbf", 3) ? 3 : 0;
	lines_index(&ps.lines, doc->src, len);
	if ((rc = front_matter(&ps, &feed)) < 0)
		goto done;

	/*
	 * Only block structure matters here (fences and HTML blocks), and
	 * GFM's extensions do not change it: plain CommonMark, which parses
	 * faster.
	 */
	parser = cmark_parser_new(CMARK_OPT_DEFAULT);
	if (feed)
		cmark_parser_feed(parser, feed, doc->front_end);
	cmark_parser_feed(parser, src + doc->front_end,
			  len - doc->front_end);
	root = cmark_parser_finish(parser);
	it = cmark_iter_new(root);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);

		if (skip_to) {
			if (n == skip_to && ev == CMARK_EVENT_ENTER)
				skip_to = NULL;
			continue;
		}
		int flen, foff;
		char fch;
		if (ev == CMARK_EVENT_ENTER && !doc->title &&
		    cmark_node_get_type(n) == CMARK_NODE_HEADING &&
		    !*(doc->title = heading_text(n))) {
			free(doc->title);
			doc->title = NULL;
		}
		if (ev == CMARK_EVENT_ENTER &&
		    cmark_node_get_type(n) == CMARK_NODE_PARAGRAPH) {
			cmark_node *old;

			if ((rc = check_fence_text(&ps, n)) < 0)
				goto done;
			old = shortcode(&ps, n);
			if (!(flags & MD_DOC_EXPANDED))
				skip_to = old;
		}
		if (ev == CMARK_EVENT_ENTER &&
		    cmark_node_get_type(n) == CMARK_NODE_CODE &&
		    (rc = add_inline(&ps, n)) < 0)
			goto done;
		if (ev != CMARK_EVENT_ENTER ||
		    cmark_node_get_type(n) != CMARK_NODE_CODE_BLOCK ||
		    !cmark_node_get_fenced(n, &flen, &foff, &fch))
			continue;
		if ((rc = add_block(&ps, n)) < 0)
			goto done;
		b = &doc->blocks[doc->nblocks - 1];
		/*
		 * Its closing fence tells where the included text goes: a
		 * render would add the fence, and then include.
		 */
		if (b->child && !b->closed &&
		    cmark_node_get_type(cmark_node_parent(n)) ==
			    CMARK_NODE_DOCUMENT) {
			rc = md_err_set("%s:%d:%d: a child= block needs its "
					"closing fence", path, b->line, b->col);
			goto done;
		}
		if (b->child && b->closed &&
		    cmark_node_get_type(cmark_node_parent(n)) ==
			    CMARK_NODE_DOCUMENT) {
			struct include_at *r = new_include(&ps, b->line, b->col);
			cmark_node *old = find_include(&ps, n, b->end_line, r);

			r->files = md_strdup(b->child);
			if (!(flags & MD_DOC_EXPANDED))
				skip_to = old;
			continue;
		}
		skip_to = find_region(&ps, n, b);
	}
	if (((rc = check_names(doc)) < 0 && !as_read(&ps)) || !ps.nincs)
		goto done;
	if (flags & (MD_DOC_EXPANDED | MD_DOC_AS_READ))
		rc = record_includes(&ps);
	else
		rc = expand(&again, &ps, up);
done:
	if (it)
		cmark_iter_free(it);
	if (root)
		cmark_node_free(root);
	if (parser)
		cmark_parser_free(parser);
	free(ps.lines.at);
	free(feed);
	for (size_t i = 0; i < ps.nincs; i++)
		free(ps.incs[i].files);
	free(ps.incs);
	if (rc == 0 && again.len) {
		/* the whole once more, with the included text as it is now */
		size_t n = again.len;
		char *read = doc->src;

		doc->src = NULL;
		md_doc_free(doc);
		if ((rc = parse(out, path, md_buf_detach(&again), n,
				flags | MD_DOC_EXPANDED, up)) < 0) {
			free(read);
			return rc;
		}
		(*out)->read = read;
		(*out)->read_len = len;
		return 0;
	}
	if (rc < 0) {
		md_doc_free(doc);
		doc = NULL;
	}
	md_buf_dispose(&again);
	*out = doc;
	return rc;
}

const char *
md_block_opt(const struct md_block *b, const char *key)
{
	size_t i;

	for (i = b->nopts; i > 0; i--)
		if (!strcmp(b->opts[i - 1].key, key))
			return b->opts[i - 1].val;
	return NULL;
}

void
md_doc_free(struct md_doc *doc)
{
	size_t i, j;

	if (!doc)
		return;
	for (i = 0; i < doc->nblocks; i++) {
		struct md_block *b = &doc->blocks[i];
		free(b->info);
		free(b->lang);
		free(b->name);
		for (j = 0; j < b->nopts; j++) {
			free(b->opts[j].key);
			free(b->opts[j].val);
		}
		free(b->opts);
		free(b->fig);
		free(b->comment);
		free(b->fold_summary);
		free(b->child);
		free(b->code);
		free(b->prefix);
	}
	free(doc->blocks);
	for (i = 0; i < doc->nkernels; i++) {
		free(doc->kernels[i].lang);
		free(doc->kernels[i].kernel);
	}
	free(doc->kernels);
	for (i = 0; i < doc->ndefaults; i++) {
		free(doc->defaults[i].key);
		free(doc->defaults[i].val);
	}
	free(doc->defaults);
	for (i = 0; i < doc->nincludes; i++)
		free(doc->includes[i].files);
	free(doc->includes);
	free(doc->read);
	free(doc->kernelspec_name);
	free(doc->kernelspec_lang);
	free(doc->src);
	free(doc->path);
	free(doc->title);
	free(doc);
}

/* ------------------------------------------------------------------ */
/* Strip: the source, without what a render in place added. */

struct span {
	size_t start, end;
};

static int
cmp_span(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

size_t
md_doc_strip(struct md_buf *out, const struct md_doc *doc)
{
	size_t n = 0, i, at = 0, removed = 0;
	struct span *v = md_calloc(doc->nblocks + doc->nincludes + 1,
				   sizeof(*v));

	/* Only an executable block's: a region after any other is text
	 * a render keeps (see md_doc_strip in doc.h). */
	for (i = 0; i < doc->nblocks; i++)
		if (doc->blocks[i].has_out &&
		    (doc->blocks[i].exec || doc->blocks[i].inline_expr))
			v[n++] = (struct span){ doc->blocks[i].out_start,
						doc->blocks[i].out_end };
	for (i = 0; i < doc->nincludes; i++)
		if (doc->includes[i].close_end > doc->includes[i].open_start)
			v[n++] = (struct span){ doc->includes[i].open_start,
						doc->includes[i].close_end };
	qsort(v, n, sizeof(*v), cmp_span);
	/* A region inside an included text goes with it. */
	for (i = 0; i < n; i++) {
		size_t upto = v[i].start;

		if (v[i].end <= at)
			continue;
		/*
		 * A region that ends the file without a line break: the
		 * source ended there too, and the break before the region is
		 * the one the render added to end the block's last line.
		 */
		if (v[i].end == doc->len && doc->len &&
		    doc->src[doc->len - 1] != '\n') {
			size_t e = strlen(doc->eol);
			if (upto >= at + e && !memcmp(doc->src + upto - e,
						      doc->eol, e))
				upto -= e;
		}
		if (upto > at)
			md_buf_put(out, doc->src + at, upto - at);
		at = v[i].end;
		removed++;
	}
	md_buf_put(out, doc->src + at, doc->len - at);
	free(v);
	return removed;
}
