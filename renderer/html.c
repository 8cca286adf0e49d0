/*
 * The HTML report: one self-contained page, no JavaScript.
 *
 * The document's prose is parsed by cmark-gfm (tables, strikethrough,
 * autolinks, task lists), whole, so fenced blocks inside lists and quotes
 * keep their containers. Two things are changed in the text it parses:
 * output regions an earlier Markdown render left (the old outputs) are
 * cut out, and the front matter the document model found (doc->front_start
 * to front_end) is blanked, its line ends kept. Each fenced code
 * block of the tree is matched to its md_block by its start line (shifted
 * by the lines cut out before it) and replaced by a CMARK_NODE_CUSTOM_BLOCK
 * whose on_enter is the HTML we build: the code (unless echo=false) and the
 * block's outputs.
 *
 * Why a custom block: cmark-gfm's HTML renderer writes a custom block's
 * on_enter as it is even without CMARK_OPT_UNSAFE, so our HTML survives
 * while cmark itself keeps the author's raw HTML out (a "raw HTML omitted"
 * comment) and drops dangerous link URLs (javascript:, ...). Nothing of
 * the author's has to be cleaned by hand; MD_VIEW_UNSAFE_HTML simply
 * passes CMARK_OPT_UNSAFE.
 *
 * Everything a program printed goes through render_text_clean (code, file
 * names and titles through render_text_plain), then is HTML-escaped
 * (escape.c), so it is text, never markup. output=asis stdout and a rich
 * value's text/markdown are parsed as Markdown by their own cmark-gfm
 * parser and rendered with the same safety as the document; a rich
 * value's text/html goes through the allowlist sanitizer (sanitize.c),
 * and is let through as it is only with MD_VIEW_UNSAFE_HTML; an SVG is
 * only ever an <img>, where nothing in it runs. Without that flag the
 * page also carries a Content-Security-Policy that forbids scripts, in
 * case anything slips.
 *
 * Artifacts are embedded as base64 data: URIs: images shown, other files
 * as download links (up to EMBED_MAX bytes; past that only their name and
 * size). The page holds no time or path of this machine beyond what the
 * caller hands in, so it is the same for the same store.
 */
#include <stdlib.h>
#include <string.h>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "escape.h"
#include "internal.h"
#include "sanitize.h"
#include "../util/hash.h"

/* Files larger than this are named, not embedded (images are shown). */
#define EMBED_MAX (1024 * 1024)
#define IMAGE_MAX (16 * 1024 * 1024)

/* The built-in stylesheet, light and dark. */
static const char *const css[] = {
	":root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;",
	"--border:#d1d9e0;--code-bg:#f6f8fa;--out-bg:#fbfbfd;",
	"--err-fg:#8a4600;--err-bg:#fff8c5;--fail-fg:#d1242f;",
	"--fail-bg:#ffebe9;--link:#0969da;--ok:#1a7f37}",
	"@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;",
	"--muted:#9198a1;--border:#3d444d;--code-bg:#151b23;",
	"--out-bg:#10151c;--err-fg:#e3b341;--err-bg:#2b2111;",
	"--fail-fg:#ff7b72;--fail-bg:#3c1618;--link:#4493f8;--ok:#3fb950}}",
	"*{box-sizing:border-box}",
	"body{margin:0;background:var(--bg);color:var(--fg);",
	"font:16px/1.6 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
	"main{max-width:60rem;margin:0 auto;padding:1rem 2rem 4rem}",
	".mdrun-header{max-width:60rem;margin:0 auto;padding:.75rem 2rem;",
	"color:var(--muted);font-size:.875rem;",
	"border-bottom:1px solid var(--border)}",
	".mdrun-header .doc{font-weight:600;color:var(--fg);margin-right:1em}",
	"a{color:var(--link)}",
	"h1,h2{border-bottom:1px solid var(--border);padding-bottom:.3em}",
	"code,pre{font:.875rem/1.45 ui-monospace,SFMono-Regular,Menlo,",
	"Consolas,monospace}",
	"code{background:var(--code-bg);padding:.1em .3em;border-radius:4px}",
	"pre{background:var(--code-bg);padding:.75rem 1rem;overflow:auto;",
	"border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}",
	"pre code{background:none;padding:0}",
	"table{border-collapse:collapse;display:block;overflow:auto}",
	"th,td{border:1px solid var(--border);padding:.3em .8em}",
	"blockquote{margin:0;padding:0 1em;color:var(--muted);",
	"border-left:.25em solid var(--border)}",
	"img{max-width:100%}",
	".mdrun-block{margin:1rem 0}",
	".mdrun-block>pre.code{margin-bottom:0}",
	".mdrun-out{border-left:3px solid var(--border);margin:0 0 1rem;",
	"padding:.25rem 0 .25rem .75rem;background:var(--out-bg)}",
	".mdrun-out pre{margin:.25rem 0;background:none;padding:.25rem 0}",
	".mdrun-out.status-failed,.mdrun-out.status-timeout{",
	"border-left-color:var(--fail-fg)}",
	".mdrun-out.status-ok{border-left-color:var(--ok)}",
	".mdrun-meta,.label{color:var(--muted);font-size:.8rem;margin:0}",
	"pre.stderr{color:var(--err-fg);background:var(--err-bg);",
	"padding:.25rem .5rem;border-radius:4px}",
	".failure{color:var(--fail-fg);background:var(--fail-bg);",
	"padding:.25rem .5rem;border-radius:4px;font-weight:600;",
	"margin:.25rem 0}",
	".failure.expected{font-weight:normal}",
	".note{font-style:italic;color:var(--muted);margin:.25rem 0}",
	"figure{margin:.5rem 0}figcaption,.file{font-size:.8rem;",
	"color:var(--muted)}",
	/* ANSI colours (escape.c): readable on both backgrounds */
	".ansi-fg-0{color:#555}.ansi-fg-1{color:#c91b00}",
	".ansi-fg-2{color:#00a600}.ansi-fg-3{color:#a68a0d}",
	".ansi-fg-4{color:#2f6bd8}.ansi-fg-5{color:#b625b6}",
	".ansi-fg-6{color:#00a6b2}.ansi-fg-7{color:#999}",
	".ansi-fg-8{color:#777}.ansi-fg-9{color:#e74c3c}",
	".ansi-fg-10{color:#2ecc40}.ansi-fg-11{color:#d4a017}",
	".ansi-fg-12{color:#4d8ef0}.ansi-fg-13{color:#d65cd6}",
	".ansi-fg-14{color:#1ec8d4}.ansi-fg-15{color:#bbb}",
	".ansi-bg-0{background:#555}.ansi-bg-1{background:#c91b00}",
	".ansi-bg-2{background:#00a600}.ansi-bg-3{background:#a68a0d}",
	".ansi-bg-4{background:#2f6bd8}.ansi-bg-5{background:#b625b6}",
	".ansi-bg-6{background:#00a6b2}.ansi-bg-7{background:#999}",
	".ansi-bg-8{background:#777}.ansi-bg-9{background:#e74c3c}",
	".ansi-bg-10{background:#2ecc40}.ansi-bg-11{background:#d4a017}",
	".ansi-bg-12{background:#4d8ef0}.ansi-bg-13{background:#d65cd6}",
	".ansi-bg-14{background:#1ec8d4}.ansi-bg-15{background:#bbb}",
	".ansi-bold{font-weight:bold}.ansi-italic{font-style:italic}",
	".ansi-underline{text-decoration:underline}",
	NULL
};

static void
escs(struct md_buf *b, const char *s)
{
	render_html_escape(b, s, strlen(s));
}

static void
size_text(struct md_buf *b, size_t n)
{
	if (n < 1024)
		md_buf_printf(b, "%zu bytes", n);
	else if (n < 1024 * 1024)
		md_buf_printf(b, "%.1f KiB", n / 1024.0);
	else
		md_buf_printf(b, "%.1f MiB", n / (1024.0 * 1024.0));
}

static void
data_uri(struct md_buf *b, const char *mime, const char *data, size_t n)
{
	md_buf_printf(b, "data:%s;base64,", render_html_mime(mime));
	md_base64(b, data, n);
}

/*
 * An image (data: URI) in a <figure> of class cls. Its alt text is the
 * block's fig-alt (or fig.alt), else its fig-cap (fig.cap), else alt (n
 * bytes, or NULL); its caption fig-cap, else name (or none when NULL).
 * An empty option is none.
 */
static void
figure(struct md_buf *b, const struct md_block *blk, const char *cls,
       const struct md_mime *img, const char *alt, size_t n,
       const char *name)
{
	const char *cap = md_block_opt(blk, "fig-cap");
	const char *text = md_block_opt(blk, "fig-alt");

	if (!cap || !*cap)
		cap = md_block_opt(blk, "fig.cap");
	if (!text || !*text)
		text = md_block_opt(blk, "fig.alt");
	if (!text || !*text)
		text = cap;
	if (text && *text) {
		alt = text;
		n = strlen(text);
	}
	md_buf_printf(b, "<figure class=\"%s\"><img alt=\"", cls);
	if (alt)
		render_html_text(b, alt, n);
	md_buf_puts(b, "\" src=\"");
	data_uri(b, img->type, img->data, img->len);
	md_buf_puts(b, "\">");
	if ((cap = cap && *cap ? cap : name)) {
		md_buf_puts(b, "<figcaption>");
		render_html_text(b, cap, strlen(cap));
		md_buf_puts(b, "</figcaption>");
	}
	md_buf_puts(b, "</figure>\n");
}

/* An artifact; its name is a file name, any bytes: cleaned as text. */
static void
file(struct md_buf *b, const struct md_block *blk, const struct md_file *f)
{
	bool image = f->mime && !strncmp(f->mime, "image/", 6) &&
		     !strcmp(render_html_mime(f->mime), f->mime);

	if (image && f->data && f->len <= IMAGE_MAX) {
		struct md_mime img = { f->mime, f->data, f->len };

		figure(b, blk, "artifact", &img, f->name, strlen(f->name),
		       f->name);
	} else if (f->data && f->len <= EMBED_MAX) {
		const char *base = strrchr(f->name, '/');

		md_buf_puts(b, "<p class=\"file\"><a download=\"");
		base = base ? base + 1 : f->name;
		render_html_text(b, base, strlen(base));
		md_buf_puts(b, "\" href=\"");
		data_uri(b, f->mime, f->data, f->len);
		md_buf_puts(b, "\">");
		render_html_text(b, f->name, strlen(f->name));
		md_buf_puts(b, "</a> (");
		size_text(b, f->len);
		md_buf_puts(b, ")</p>\n");
	} else {
		md_buf_puts(b, "<p class=\"file\">");
		render_html_text(b, f->name, strlen(f->name));
		if (f->data) {
			md_buf_puts(b, " (");
			size_text(b, f->len);
			md_buf_puts(b, ", not embedded)");
		}
		md_buf_puts(b, "</p>\n");
	}
}

static cmark_parser *
new_parser(int options)
{
	static const char *const exts[] = { "table", "strikethrough",
					    "autolink", "tasklist", NULL };
	cmark_parser *p;
	size_t i;

	cmark_gfm_core_extensions_ensure_registered();
	p = cmark_parser_new(options);
	for (i = 0; exts[i]; i++) {
		cmark_syntax_extension *e;

		if ((e = cmark_find_syntax_extension(exts[i])))
			cmark_parser_attach_syntax_extension(p, e);
	}
	return p;
}

static int
html_options(const struct md_view *v)
{
	return CMARK_OPT_DEFAULT |
	       (v->flags & MD_VIEW_UNSAFE_HTML ? CMARK_OPT_UNSAFE : 0);
}

/*
 * Markdown a block printed (output=asis, a rich text/markdown), as safe
 * as the document's own.
 */
static void
asis(struct md_buf *b, const struct md_view *v, const char *s, size_t n)
{
	struct md_buf clean = MD_BUF_INIT;
	cmark_parser *p = new_parser(CMARK_OPT_DEFAULT);
	cmark_node *root;
	char *html;

	render_text_clean(&clean, s, n);
	cmark_parser_feed(p, clean.ptr ? clean.ptr : "", clean.len);
	root = cmark_parser_finish(p);
	html = cmark_render_html(root, html_options(v),
				 cmark_parser_get_syntax_extensions(p));
	md_buf_puts(b, "<div class=\"asis\">\n");
	md_buf_puts(b, html);
	md_buf_puts(b, "</div>\n");
	free(html);
	cmark_node_free(root);
	cmark_parser_free(p);
	md_buf_dispose(&clean);
}

static void
failure(struct md_buf *b, const struct md_block *blk, const struct md_exit *e)
{
	md_buf_printf(b, "<p class=\"failure%s\">",
		      blk->error_ok ? " expected" : "");
	render_exit_words(b, e);
	if (blk->error_ok)
		md_buf_puts(b, " (expected: error=true)");
	md_buf_puts(b, "</p>\n");
}

/* Program output in a <pre> of class cls. */
static void
pre(struct md_buf *b, const char *cls, const char *s, size_t n)
{
	md_buf_printf(b, "<pre class=\"%s\">", cls);
	render_html_output(b, s, n);
	md_buf_puts(b, "</pre>\n");
}

/* Program output after comment= (render_comment) in a <pre>. */
static void
pre_commented(struct md_buf *b, const char *cls, struct md_buf *text,
	      const char *comment)
{
	render_comment(text, comment);
	pre(b, cls, text->ptr, text->len);
}

/*
 * A rich value's text/html in a <div>: as it is with MD_VIEW_UNSAFE_HTML,
 * else sanitized. False, with nothing written, when what is left of it
 * shows nothing (render_html_shows).
 */
static bool
rich_html(struct md_buf *b, const struct md_view *v, const struct md_mime *m)
{
	struct md_buf html = MD_BUF_INIT;
	bool shown = true;

	if (v->flags & MD_VIEW_UNSAFE_HTML) {
		md_buf_put(&html, m->data, m->len);
	} else {
		render_html_sanitize(&html, m->data, m->len);
		shown = render_html_shows(html.ptr, html.len);
	}
	if (shown) {
		md_buf_puts(b, "<div class=\"rich\">\n");
		md_buf_put(b, html.ptr, html.len);
		md_buf_puts(b, "\n</div>\n");
	}
	md_buf_dispose(&html);
	return shown;
}

/*
 * A rich value as the page prefers it, whatever the bundle's order: a
 * PNG, JPEG or GIF (embedded), HTML (rich_html), Markdown, SVG (as an
 * <img>, so nothing in it runs), LaTeX (its source, escaped), plain text.
 * Nothing when it has none of these.
 */
static void
rich(struct md_buf *b, const struct md_view *v, const struct md_block *blk,
     const struct md_out *x)
{
	static const char *const prefs[] = {
		"image/png",	 "image/jpeg", "image/gif",  "text/html",
		"text/markdown", "image/svg+xml", "text/latex", "text/plain",
		NULL
	};
	const struct md_mime *alt = render_mime_find(x, "text/plain");

	for (size_t i = 0; prefs[i]; i++) {
		const struct md_mime *m = render_mime_find(x, prefs[i]);

		if (!m || !m->data) {
			continue;
		} else if (render_mime_image(m->type)) {
			if (m->len > IMAGE_MAX)
				continue;
			figure(b, blk, "rich", m, alt ? alt->data : NULL,
			       alt ? alt->len : 0, NULL);
		} else if (!strcmp(m->type, "text/html")) {
			if (!rich_html(b, v, m))
				continue;
		} else if (!strcmp(m->type, "text/markdown")) {
			asis(b, v, m->data, m->len);
		} else if (!strcmp(m->type, "text/latex")) {
			pre(b, "latex", m->data, m->len);
		} else {
			struct md_buf t = MD_BUF_INIT;
			md_buf_put(&t, m->data, m->len);
			pre_commented(b, "result", &t, blk->comment);
			md_buf_dispose(&t);
		}
		return;
	}
}

static void
real(struct md_buf *b, const struct md_view *v, const struct md_view_block *vb,
     size_t k)
{
	const struct md_view_real *x = &vb->reals[k];
	const struct md_block *blk = vb->block;
	bool show = blk->output != MD_OUTPUT_HIDE;
	struct md_buf text = MD_BUF_INIT;
	const struct md_out *o;
	size_t i = 0;

	md_buf_puts(b, "<div class=\"real\">\n");
	if (vb->nreals > 1) {
		md_buf_printf(b, "<p class=\"label\">realization %zu of %zu",
			      k + 1, vb->nreals);
		if (x->rhash && *x->rhash) {
			md_buf_puts(b, " <code>");
			render_html_escape(b, x->rhash, strnlen(x->rhash, 12));
			md_buf_puts(b, "</code>");
		}
		md_buf_puts(b, "</p>\n");
	}
	while (show && (o = render_out_next(x, &i, &text))) {
		if (o->kind == MD_OUT_RICH)
			rich(b, v, blk, o);
		else if (o->kind == MD_OUT_ERROR)
			pre(b, "stderr error", o->text, o->len);
		else if (blk->output == MD_OUTPUT_ASIS &&
			 o->stream != MD_STDERR)
			asis(b, v, text.ptr, text.len);
		else
			/* the text first: commenting it may move it */
			pre_commented(b, o->stream == MD_STDERR ? "stderr"
								 : "stdout",
				      &text, blk->comment);
	}
	/* Shown even with output=false: a failure is never hidden. */
	if (md_exit_failed(&x->exit))
		failure(b, blk, &x->exit);
	for (i = 0; show && i < x->nfiles; i++)
		if (!render_file_is_rich(x, &x->files[i]))
			file(b, blk, &x->files[i]);
	md_buf_puts(b, "</div>\n");
	md_buf_dispose(&text);
}

/* A fenced block: its code, then what it showed when it ran. */
static void
block(struct md_buf *b, const struct md_view *v, const struct md_view_block *vb)
{
	const struct md_block *blk = vb->block;
	const char *word = render_status_word(vb->status);
	const char *note = render_note(vb);
	bool ran = vb->status != MD_STATUS_NONE;
	size_t i;

	md_buf_puts(b, "<div class=\"mdrun-block\"");
	if (ran && blk->name) {
		md_buf_puts(b, " id=\"block-");
		escs(b, blk->name);
		md_buf_puts(b, "\"");
	}
	md_buf_puts(b, ">\n");
	/* code-fold: the code in a <details>, open for code-fold=show */
	bool fold = blk->fold && (blk->echo || !ran);
	if (fold) {
		md_buf_printf(b, "<details class=\"code-fold\"%s><summary>",
			      blk->fold == 2 ? " open" : "");
		escs(b, blk->fold_summary ? blk->fold_summary : "Code");
		md_buf_puts(b, "</summary>\n");
	}
	if (blk->echo || !ran) {
		md_buf_puts(b, "<pre class=\"code\"><code");
		if (blk->lang) {
			md_buf_puts(b, " class=\"language-");
			render_html_class(b, blk->lang);
			md_buf_puts(b, "\"");
		}
		md_buf_puts(b, ">");
		render_html_text(b, blk->code, blk->code_len);
		md_buf_puts(b, "</code></pre>\n");
	}
	if (fold)
		md_buf_puts(b, "</details>\n");
	if (ran) {
		md_buf_printf(b, "<div class=\"mdrun-out status-%s\">\n"
				 "<p class=\"mdrun-meta\">", word);
		if (blk->name)
			escs(b, blk->name);
		md_buf_printf(b, " &middot; %s", word);
		if (vb->cached)
			md_buf_puts(b, " &middot; cached");
		md_buf_puts(b, "</p>\n");
		if (note)
			md_buf_printf(b, "<p class=\"note\">%s</p>\n", note);
		for (i = 0; i < vb->nreals; i++)
			real(b, v, vb, i);
		if (vb->nreals == 0 && (vb->status == MD_STATUS_FAILED ||
					vb->status == MD_STATUS_TIMEOUT))
			md_buf_printf(b, "<p class=\"failure\">%s</p>\n",
				      word);
		md_buf_puts(b, "</div>\n");
	}
	md_buf_puts(b, "</div>\n");
}

static size_t
count_lines(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == n ||
						      s[i + 1] != '\n')))
			k++;
	return k;
}

/* Appends the n bytes at s to b with every byte but line ends a blank. */
static void
blanked(struct md_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		md_buf_putc(b, s[i] == '\n' || s[i] == '\r' ? s[i] : ' ');
}

/*
 * Is n where only plain text goes: in an image (its alt text), or a
 * table cell, which takes no custom inline node?
 */
static bool
plain_only(cmark_node *n)
{
	for (cmark_node *p = cmark_node_parent(n); p; p = cmark_node_parent(p))
		if (cmark_node_get_type(p) == CMARK_NODE_IMAGE ||
		    !strcmp(cmark_node_get_type_string(p), "table_cell"))
			return true;
	return false;
}

/*
 * A code span of the tree that is the inline expression *k (the next
 * one, by line and text) is replaced by its value, as knitr and Quarto
 * show it; any other code span stays code.
 */
static void
inline_node(const struct md_view *v, cmark_node *n, const size_t *line,
	    size_t *k)
{
	const struct md_doc *doc = v->doc;
	const char *lit = cmark_node_get_literal(n);
	size_t l = (size_t)cmark_node_get_start_line(n), ll, el;
	struct md_buf h = MD_BUF_INIT, val = MD_BUF_INIT;
	const struct md_block *b;
	cmark_node *c;
	bool ok;

	while (*k < doc->nblocks &&
	       (!doc->blocks[*k].inline_expr || line[*k] < l))
		++*k;
	if (*k == doc->nblocks || line[*k] != l || !lit)
		return;
	b = &doc->blocks[*k];
	ll = strlen(lit);
	el = strlen(b->info);
	/* only an expression's own span: `{lang} x` or `r x` */
	if ((lit[0] != '{' && strncmp(lit, "r ", 2)) || ll < el ||
	    !strstr(lit, b->info))
		return;
	ok = render_inline_value(&val, &v->blocks[*k]);
	if (plain_only(n)) {
		/* an image's alt text, a table cell: the value as text */
		c = cmark_node_new(CMARK_NODE_TEXT);
		cmark_node_set_literal(c, val.ptr);
	} else {
		md_buf_printf(&h, "<span class=\"mdrun-value%s\">",
			      ok ? "" : " failed");
		render_html_escape(&h, val.ptr, val.len);
		md_buf_puts(&h, "</span>");
		c = cmark_node_new(CMARK_NODE_CUSTOM_INLINE);
		cmark_node_set_on_enter(c, h.ptr);
	}
	if (cmark_node_replace(n, c))
		cmark_node_free(n);
	else
		cmark_node_free(c);
	md_buf_dispose(&h);
	md_buf_dispose(&val);
	++*k;
}

/* The document's tree with every fenced block replaced by our HTML. */
static char *
body(const struct md_view *v)
{
	const struct md_doc *doc = v->doc;
	struct md_buf feed = MD_BUF_INIT;
	size_t *line = md_calloc(doc->nblocks + 1, sizeof(*line));
	cmark_node **code = NULL, *root;
	size_t ncode = 0, i, j, k, pos = 0, cut = 0;
	cmark_parser *p;
	cmark_iter *it;
	cmark_event_type ev;
	char *html, *src = doc->src, *copy = NULL;

	/* Included text shows as the document's own: no shortcode lines. */
	if (doc->nincludes) {
		src = copy = md_strndup(doc->src, doc->len);
		for (i = 0; i < doc->nincludes; i++) {
			const struct md_include *in = &doc->includes[i];

			for (size_t b = in->start; b < in->end; b++)
				if (src[b] != '\n' && src[b] != '\r')
					src[b] = ' ';
		}
	}
	/*
	 * The front matter blanked (it ends before any block), and the
	 * source without old output regions; lines shift by `cut`.
	 */
	if (doc->front_end > doc->front_start && doc->front_end <= doc->len) {
		md_buf_put(&feed, src, doc->front_start);
		blanked(&feed, src + doc->front_start,
			doc->front_end - doc->front_start);
		pos = doc->front_end;
	}
	for (i = 0; i < doc->nblocks; i++) {
		const struct md_block *blk = &doc->blocks[i];

		line[i] = (size_t)blk->line - cut;
		if (!blk->has_out || blk->out_start < pos)
			continue;
		md_buf_put(&feed, src + pos, blk->out_start - pos);
		cut += count_lines(src + blk->out_start,
				   blk->out_end - blk->out_start);
		pos = blk->out_end;
	}
	md_buf_put(&feed, src + pos, doc->len - pos);
	free(copy);

	p = new_parser(CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8);
	cmark_parser_feed(p, feed.ptr, feed.len);
	root = cmark_parser_finish(p);

	/* Collected first: the tree is changed after the walk. */
	it = cmark_iter_new(root);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		int flen, foff;
		char fch;

		if (ev == CMARK_EVENT_ENTER &&
		    ((cmark_node_get_type(n) == CMARK_NODE_CODE_BLOCK &&
		      cmark_node_get_fenced(n, &flen, &foff, &fch)) ||
		     cmark_node_get_type(n) == CMARK_NODE_CODE)) {
			code = md_realloc(code, (ncode + 1) * sizeof(*code));
			code[ncode++] = n;
		}
	}
	cmark_iter_free(it);

	for (i = 0, j = 0, k = 0; i < ncode; i++) {
		size_t l = (size_t)cmark_node_get_start_line(code[i]);
		struct md_buf h = MD_BUF_INIT;
		cmark_node *c;

		if (cmark_node_get_type(code[i]) == CMARK_NODE_CODE) {
			inline_node(v, code[i], line, &k);
			continue;
		}
		while (j < doc->nblocks &&
		       (line[j] < l || doc->blocks[j].inline_expr))
			j++;
		if (j == doc->nblocks || line[j] != l)
			continue; /* not one of ours: cmark renders it */
		block(&h, v, &v->blocks[j]);
		c = cmark_node_new(CMARK_NODE_CUSTOM_BLOCK);
		cmark_node_set_on_enter(c, h.ptr);
		if (cmark_node_replace(code[i], c))
			cmark_node_free(code[i]);
		else
			cmark_node_free(c);
		md_buf_dispose(&h);
		j++;
	}

	html = cmark_render_html(root, html_options(v),
				 cmark_parser_get_syntax_extensions(p));
	cmark_node_free(root);
	cmark_parser_free(p);
	free(code);
	free(line);
	md_buf_dispose(&feed);
	return html;
}

static void
summary(struct md_buf *b, const struct md_view *v)
{
	size_t n = 0, ok = 0, bad = 0, other = 0, cached = 0, i;

	for (i = 0; i < v->doc->nblocks; i++) {
		const struct md_view_block *vb = &v->blocks[i];

		switch (vb->status) {
		case MD_STATUS_NONE:
			continue;
		case MD_STATUS_OK:
			ok++;
			break;
		case MD_STATUS_FAILED:
		case MD_STATUS_TIMEOUT:
			bad++;
			break;
		case MD_STATUS_SKIPPED:
		case MD_STATUS_NOT_RUN:
			other++;
			break;
		}
		n++;
		cached += vb->cached;
	}
	md_buf_printf(b, "%zu block%s: %zu ok, %zu failed", n,
		      n == 1 ? "" : "s", ok, bad);
	if (other)
		md_buf_printf(b, ", %zu not run", other);
	md_buf_printf(b, ", %zu cached", cached);
}

void
render_html(struct md_buf *out, const struct md_view *v)
{
	const char *path = v->path ? v->path : v->doc->path;
	const char *base = strrchr(path, '/');
	const char *title = v->doc->title;
	char *html;
	size_t i;

	html = body(v);
	if (!title || !*title)
		title = base && base[1] ? base + 1 : path;

	md_buf_puts(out, "<!DOCTYPE html>\n<html>\n<head>\n"
			 "<meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" "
			 "content=\"width=device-width, initial-scale=1\">\n");
	if (!(v->flags & MD_VIEW_UNSAFE_HTML))
		md_buf_puts(out, "<meta http-equiv=\"Content-Security-Policy\" "
				 "content=\"script-src 'none'; "
				 "object-src 'none'; base-uri 'none'\">\n");
	md_buf_puts(out, "<meta name=\"generator\" content=\"mdrun\">\n"
			 "<title>");
	render_html_text(out, title, strlen(title));
	md_buf_puts(out, "</title>\n<style>\n");
	for (i = 0; css[i]; i++) {
		md_buf_puts(out, css[i]);
		md_buf_putc(out, '\n');
	}
	md_buf_puts(out, "</style>\n</head>\n<body>\n"
			 "<header class=\"mdrun-header\"><span class=\"doc\">");
	render_html_text(out, path, strlen(path));
	md_buf_puts(out, "</span><span class=\"summary\">");
	summary(out, v);
	md_buf_puts(out, "</span></header>\n<main>\n");
	md_buf_puts(out, html);
	md_buf_puts(out, "</main>\n</body>\n</html>\n");
	free(html);
}
