/*
 * The document model: a Markdown file parsed once with cmark-gfm into the
 * list of its fenced code blocks, each with its byte span in the original
 * text, its parsed info string, its code, the container prefix its lines
 * carry (`> `, list indentation) and the span of the output region mdrun
 * spliced in after it on an earlier render, if any.
 *
 * This is the only user of the cmark-gfm parser. Nothing here runs code.
 */
#ifndef MD_DOC_H
#define MD_DOC_H

#include <stdbool.h>
#include <stddef.h>

struct md_buf;

/* The marker lines that open and close an output region. */
#define MD_OUT_BEGIN "<!-- mdrun:out -->"
#define MD_OUT_END "<!-- /mdrun:out -->"
/* The markers around an inline expression's value, on its line. */
#define MD_VALUE_BEGIN "<!-- mdrun:value -->"
#define MD_VALUE_END "<!-- /mdrun:value -->"
/* The marker lines around an included document's text (include, child). */
#define MD_INCLUDE_BEGIN "<!-- mdrun:include -->"
#define MD_INCLUDE_END "<!-- /mdrun:include -->"

enum {
	MD_DOC_ALL = 1,	  /* every fenced block with a language is executable */
	MD_DOC_KNITR = 2, /* `r x` is inline R (an .Rmd or .qmd document) */
	MD_DOC_EXPANDED = 4, /* included text is current: not read again */
	/* included documents are not read: includes list the text an
	 * earlier render put after them (empty when none), blocks in it are
	 * not listed */
	MD_DOC_AS_READ = 8
};

struct md_opt {
	char *key;
	char *val;
	int line; /* where the value is written, for messages */
	int col;
	/* a knitr or Quarto option that means nothing in mdrun: kept,
	 * validated by no one, listed at -v */
	bool ignored;
};

enum md_output {
	MD_OUTPUT_SHOW, /* output=true: stdout and stderr as text */
	MD_OUTPUT_HIDE, /* output=false */
	MD_OUTPUT_ASIS	/* output=asis: stdout is Markdown */
};

enum md_match { MD_MATCH_LATEST, MD_MATCH_FIRST, MD_MATCH_ALL };

struct md_block {
	int line; /* opening fence, 1-based */
	int col;
	int end_line; /* closing fence (or last line when unclosed) */
	size_t start; /* first byte of the opening fence's line */
	size_t end;   /* byte after the closing line's terminator */
	/* false: the fence runs to the end of its container (the file, a
	 * quote or a list item) */
	bool closed;
	bool exec;    /* to be run */
	char fence_char;
	int fence_len;
	char *info; /* raw info string, as in the source */
	int info_col;
	char *lang; /* NULL when the info string names none */
	char *name; /* label, or LANG-N */
	struct md_opt *opts;
	size_t nopts;
	/*
	 * {{lang}}: Quarto's escape, a block shown with its braces (one
	 * pair less), never run.
	 */
	bool escaped;
	/* The code came from file= or code=, not from the document. */
	bool code_given;
	/* child=: the documents (a comma list) whose text follows the
	 * block, which itself never runs and is shown only in place */
	char *child;
	/*
	 * Inline code to evaluate (`r x`, `{python} x`): start to end is
	 * the code span, backticks included, on one line; its value goes
	 * after it in place (out_start to out_end: an MD_VALUE_BEGIN ...
	 * MD_VALUE_END marker), or in its place elsewhere. info holds the
	 * expression; code, what runs to print its value.
	 */
	bool inline_expr;
	/* Validated options (see md_opts_validate). */
	bool echo;		/* show the code */
	bool excluded;		/* include=false: neither code nor output */
	bool collapse;		/* code and text output in one block */
	bool no_warnings;	/* warning=false: python's warnings dropped */
	bool no_messages;	/* message=false */
	char *comment;		/* comment=: what starts each output line */
	int fold;		/* code-fold: 0 none, 1 folded, 2 open */
	char *fold_summary;	/* code-summary= */
	bool error_ok;		/* error=true: a failure is the result */
	bool cache;		/* cache=false: realize on every render */
	bool track;		/* track=false: record no files read */
	enum md_output output;
	double timeout;		/* seconds; 0: the default */
	int nouts;		/* realizations to keep */
	enum md_match match;
	/*
	 * Figures' size and format ("width=W height=H dpi=D format=F",
	 * each part only when set), or NULL: fig-width, fig.width, ...
	 */
	char *fig;
	/* The code: container prefixes and #| lines removed, LF endings. */
	char *code;
	size_t code_len;
	int code_line;	  /* the document line of the code's first line */
	const char *path; /* the document's, for messages (borrowed) */
	/* what starts every line after the first (or its equivalent: tabs
	 * expanded) */
	char *prefix;
	bool has_out; /* an output region follows */
	size_t out_start, out_end;
};

struct md_doc {
	char *path;	/* as given, for messages */
	char *src;	/* the original bytes, NUL-terminated */
	size_t len;
	const char *eol; /* "\n" or "\r\n", the document's own */
	struct md_block *blocks; /* fenced blocks outside output regions */
	size_t nblocks;
	/*
	 * YAML front matter: its bytes, from the first byte (a byte order
	 * mark included) to the end of its closing line; 0, 0 when there
	 * is none. Renderers leave it out of what they show.
	 */
	size_t front_start, front_end;
	/* The first heading's text, outside the front matter and output
	 * regions, as written (inline markup dropped); NULL when none. */
	char *title;
	/* mdrun: {kernels: {LANG: NAME, ...}}: the Jupyter kernel each
	 * language's blocks run in, unless a block says kernel= */
	struct md_doc_kernel {
		char *lang, *kernel;
	} *kernels;
	size_t nkernels;
	/*
	 * Options every executable block starts with, from the front
	 * matter: Quarto's execute:, knitr's knitr: opts_chunk:.
	 */
	struct md_opt *defaults;
	size_t ndefaults;
	/*
	 * Jupytext's (MyST, Jupyter Book) kernelspec: its name and language,
	 * or NULL: the kernel its author ran, used when it is installed.
	 */
	char *kernelspec_name, *kernelspec_lang;
	/*
	 * Included documents: Quarto's {{< include FILE >}} on a line of its
	 * own, knitr's child= blocks. Their text follows, expanded, between
	 * MD_INCLUDE_BEGIN and MD_INCLUDE_END lines (open, close: each
	 * line's span, its terminator included), and is parsed as the
	 * document's own: the included blocks run in its sessions. start to
	 * end is the shortcode's line (empty for a child= block). A render
	 * in place keeps it all; elsewhere, the shortcode and markers go.
	 */
	struct md_include {
		size_t start, end;
		size_t open_start, open_end;
		size_t close_start, close_end;
		char *files; /* as written: a comma list, from the
				document that names them */
	} *includes;
	size_t nincludes;
	/* With includes, the bytes as read (src has the included text as
	 * the files hold it now); else NULL, src is what was read. */
	char *read;
	size_t read_len;
};

/* The kernel the front matter names for lang, or NULL. */
const char *md_doc_kernel(const struct md_doc *doc, const char *lang);

/*
 * Parses src (len bytes, copied) into *out. flags: MD_DOC_*. A malformed
 * info string or duplicate name fails with "PATH:LINE:COL: what" set.
 * Caller frees with md_doc_free.
 */
int md_doc_parse(struct md_doc **out, const char *path, const char *src,
		 size_t len, unsigned flags);
/*
 * The same, taking src: a malloc'd buffer with a NUL at src[len], which
 * becomes (*out)->src, or is freed when the parse fails. A large document
 * is then in memory once.
 */
int md_doc_parse_take(struct md_doc **out, const char *path, char *src,
		      size_t len, unsigned flags);
void md_doc_free(struct md_doc *doc);

/*
 * The document's source: doc's text (parsed with MD_DOC_AS_READ, and
 * MD_DOC_ALL for a document rendered with --all) without what rendering
 * it in place added: the output regions of executable blocks, inline
 * values and included text with their markers. Appends it to out and
 * returns how many of those it removed. MD_DOC_AS_READ also lets options
 * and names a render would refuse through.
 */
size_t md_doc_strip(struct md_buf *out, const struct md_doc *doc);

/*
 * A list option as a comma list: "a,b", 'a', or R's c('a', "b") give
 * "a,b", blanks around items dropped. NULL when v is an R call but not
 * c() of strings. Caller frees.
 */
char *md_opt_list(const char *v);

/*
 * knitr's code= as the code it gives: c('x <- 1', 'x'), a line per
 * string, or any other value as one line ('x <- 1'); NULL for a c() of
 * anything but strings. Caller frees.
 */
char *md_opt_code(const char *v);

/* s in lower case (ASCII). Caller frees. */
char *md_lower(const char *s);

/* The value of option key on b, or NULL. Borrowed from b. */
const char *md_block_opt(const struct md_block *b, const char *key);

/*
 * Checks every option's name and value and sets the typed fields of b.
 * Errors name path:line:col of the offending value.
 */
int md_opts_validate(struct md_block *b, const char *path);
/*
 * Is s a name mdrun takes for a block, a session or a Jupyter kernelspec:
 * letters, digits, '_', '-' and '.', at least one?
 */
bool md_name_valid(const char *s);

/*
 * Parses an info string (the text inside the braces, n bytes at s, which
 * begins at column col of line) into b->lang, b->name and b->opts.
 * Errors name path:line:col.
 */
int md_info_parse(struct md_block *b, const char *path, int line, int col,
		  const char *s, size_t n);

/*
 * Adds option key=val to b (name and label name the block), or fails
 * naming path:line:key_col when the option is unknown.
 */
int md_info_option(struct md_block *b, const char *path, int line,
		   int key_col, const char *key, int val_col, const char *val);

#endif
