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
#include "../util/buf.h"
#include "../util/err.h"

static const char *const known[] = {
	"name", "label", "session", "deps", "inputs", "env", "eval",
	"echo", "output", "error", "timeout", "cache", "nouts", "match",
	NULL,
};

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

static bool
valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	return true;
}

/* Does a key=value word start at i? */
static bool
word_has_eq(struct scan *sc, size_t i)
{
	while (i < sc->n && is_word(sc->s[i]))
		i++;
	return i < sc->n && sc->s[i] == '=';
}

static int
read_value(struct scan *sc, struct md_buf *val)
{
	if (sc->i < sc->n && sc->s[sc->i] == '"') {
		size_t open = sc->i++;

		for (;;) {
			if (sc->i >= sc->n)
				return fail(sc, open, "unterminated quoted value",
					    NULL);
			char c = sc->s[sc->i++];
			if (c == '"')
				break;
			if (c == '\\' && sc->i < sc->n &&
			    (sc->s[sc->i] == '"' || sc->s[sc->i] == '\\'))
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
add_opt(struct md_block *b, const char *key, const char *val, int col)
{
	b->opts = md_realloc(b->opts, (b->nopts + 1) * sizeof(*b->opts));
	b->opts[b->nopts].key = md_strdup(key);
	b->opts[b->nopts].val = md_strdup(val);
	b->opts[b->nopts].col = col;
	b->nopts++;
}

static int
set_name(struct scan *sc, struct md_block *b, size_t at, const char *name)
{
	if (!valid_name(name))
		return fail(sc, at, "invalid block name", name);
	if (b->name)
		return fail(sc, at, "the block is named twice:", name);
	b->name = md_strdup(name);
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
			}
			continue;
		}
		if (lead == '#') {
			rc = set_name(&sc, b, at, word.ptr);
			label_allowed = false;
			continue;
		}
		if (sc.i >= n || s[sc.i] != '=') {
			if (!b->lang) {
				b->lang = md_strdup(word.ptr);
				label_allowed = true;
			} else if (label_allowed) {
				rc = set_name(&sc, b, at, word.ptr);
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
		size_t k;
		for (k = 0; known[k] && strcmp(known[k], word.ptr); k++)
			;
		if (!known[k]) {
			rc = fail(&sc, at, "unknown option", word.ptr);
			break;
		}
		if (!strcmp(word.ptr, "name") || !strcmp(word.ptr, "label"))
			rc = set_name(&sc, b, at + word.len + 1,
				      val.ptr ? val.ptr : "");
		else
			add_opt(b, word.ptr, val.ptr ? val.ptr : "",
				col + (int)at);
	}
	md_buf_dispose(&word);
	md_buf_dispose(&val);
	return rc;
}
