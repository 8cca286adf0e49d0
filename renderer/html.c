/*
 * The HTML report: one self-contained page, no JavaScript.
 *
 * The document is parsed once, whole, by cmark-gfm (tables, strikethrough,
 * autolinks, task lists), so fenced blocks inside lists and quotes keep
 * their containers. Two things are changed in the text it parses: output
 * regions an earlier Markdown render left (the old outputs) are cut out,
 * and YAML front matter is blanked (as mdrun/doc.c does). Each fenced code
 * block of the tree is matched to its md_block by its start line (shifted
 * by the lines cut out before it) and replaced by a CMARK_NODE_CUSTOM_BLOCK
 * whose on_enter is the HTML we build: the code (unless echo=false) and the
 * block's outputs.
 *
 * Why a custom block: cmark-gfm's HTML renderer writes a custom block's
 * on_enter as it is even without CMARK_OPT_UNSAFE, so our HTML survives
 * while cmark itself keeps the author's raw HTML out (a "raw HTML omitted"
 * comment) and drops dangerous link URLs (javascript:, ...). Nothing of
 * the author's has to be cleaned by hand; REPORT_UNSAFE_HTML simply
 * passes CMARK_OPT_UNSAFE.
 *
 * Everything a program printed goes through render_text_clean (code, file
 * names and titles through render_text_plain), then is HTML-escaped, so
 * it is text, never markup. output=asis stdout is parsed
 * as Markdown by its own cmark-gfm parser and rendered with the same
 * safety as the document. Without REPORT_UNSAFE_HTML the page also carries
 * a Content-Security-Policy that forbids scripts, in case anything slips.
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

#include "report.h"
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
	NULL
};

/* Text as HTML: the five characters that matter escaped, any context. */
static void
esc(struct md_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *e;

		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		md_buf_put(b, s + run, i - run);
		md_buf_puts(b, e);
		run = i + 1;
	}
	md_buf_put(b, s + run, n - run);
}

static void
escs(struct md_buf *b, const char *s)
{
	esc(b, s, strlen(s));
}

/* Program output (any bytes) as HTML text, as a terminal leaves it. */
static void
output(struct md_buf *b, const char *s, size_t n)
{
	struct md_buf clean = MD_BUF_INIT;

	render_text_clean(&clean, s, n);
	esc(b, clean.ptr, clean.len);
	md_buf_dispose(&clean);
}

/* Code, a name, a title (any bytes) as HTML text, every character shown. */
static void
text(struct md_buf *b, const char *s, size_t n)
{
	struct md_buf clean = MD_BUF_INIT;

	render_text_plain(&clean, s, n);
	esc(b, clean.ptr, clean.len);
	md_buf_dispose(&clean);
}

/* A MIME type fit for a data: URI, or application/octet-stream. */
static const char *
safe_mime(const char *m)
{
	const char *p;

	if (!m || !*m || !strchr(m, '/'))
		return "application/octet-stream";
	for (p = m; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+-._", *p))
			return "application/octet-stream";
	return m;
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
data_uri(struct md_buf *b, const struct report_file *f)
{
	md_buf_printf(b, "data:%s;base64,", safe_mime(f->mime));
	md_base64(b, f->data, f->len);
}

/* An artifact; its name is a file name, any bytes: cleaned as text. */
static void
file(struct md_buf *b, const struct report_file *f)
{
	bool image = f->mime && !strncmp(f->mime, "image/", 6) &&
		     !strcmp(safe_mime(f->mime), f->mime);

	if (image && f->data && f->len <= IMAGE_MAX) {
		md_buf_puts(b, "<figure class=\"artifact\"><img alt=\"");
		text(b, f->name, strlen(f->name));
		md_buf_puts(b, "\" src=\"");
		data_uri(b, f);
		md_buf_puts(b, "\"><figcaption>");
		text(b, f->name, strlen(f->name));
		md_buf_puts(b, "</figcaption></figure>\n");
	} else if (f->data && f->len <= EMBED_MAX) {
		const char *base = strrchr(f->name, '/');

		md_buf_puts(b, "<p class=\"file\"><a download=\"");
		base = base ? base + 1 : f->name;
		text(b, base, strlen(base));
		md_buf_puts(b, "\" href=\"");
		data_uri(b, f);
		md_buf_puts(b, "\">");
		text(b, f->name, strlen(f->name));
		md_buf_puts(b, "</a> (");
		size_text(b, f->len);
		md_buf_puts(b, ")</p>\n");
	} else {
		md_buf_puts(b, "<p class=\"file\">");
		text(b, f->name, strlen(f->name));
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
html_options(const struct report *r)
{
	return CMARK_OPT_DEFAULT |
	       (r->flags & REPORT_UNSAFE_HTML ? CMARK_OPT_UNSAFE : 0);
}

/* output=asis: stdout is Markdown, as safe as the document's own. */
static void
asis(struct md_buf *b, const struct report *r, const char *s, size_t n)
{
	struct md_buf clean = MD_BUF_INIT;
	cmark_parser *p = new_parser(CMARK_OPT_DEFAULT);
	cmark_node *root;
	char *html;

	render_text_clean(&clean, s, n);
	cmark_parser_feed(p, clean.ptr ? clean.ptr : "", clean.len);
	root = cmark_parser_finish(p);
	html = cmark_render_html(root, html_options(r),
				 cmark_parser_get_syntax_extensions(p));
	md_buf_puts(b, "<div class=\"asis\">\n");
	md_buf_puts(b, html);
	md_buf_puts(b, "</div>\n");
	free(html);
	cmark_node_free(root);
	cmark_parser_free(p);
	md_buf_dispose(&clean);
}

static bool
failed(const struct report_real *x)
{
	return x->timed_out || x->signal || x->exit_code;
}

static void
failure(struct md_buf *b, const struct report_block *rb,
	const struct report_real *x)
{
	md_buf_printf(b, "<p class=\"failure%s\">",
		      rb->error_ok ? " expected" : "");
	if (x->timed_out)
		md_buf_puts(b, "timed out");
	else if (x->signal)
		md_buf_printf(b, "killed by signal %d", x->signal);
	else
		md_buf_printf(b, "exit status %d", x->exit_code);
	if (rb->error_ok)
		md_buf_puts(b, " (expected: error=true)");
	md_buf_puts(b, "</p>\n");
}

static void
real(struct md_buf *b, const struct report *r, const struct report_block *rb,
     size_t k)
{
	const struct report_real *x = &rb->reals[k];
	const struct md_block *blk = rb->block;
	bool show = blk->output != MD_OUTPUT_HIDE;
	size_t i;

	md_buf_puts(b, "<div class=\"real\">\n");
	if (rb->n > 1) {
		md_buf_printf(b, "<p class=\"label\">realization %zu of %zu",
			      k + 1, rb->n);
		if (x->rhash && *x->rhash) {
			md_buf_puts(b, " <code>");
			esc(b, x->rhash, strnlen(x->rhash, 12));
			md_buf_puts(b, "</code>");
		}
		md_buf_puts(b, "</p>\n");
	}
	if (show && x->out_len && blk->output == MD_OUTPUT_ASIS) {
		asis(b, r, x->out, x->out_len);
	} else if (show && x->out_len) {
		md_buf_puts(b, "<pre class=\"stdout\">");
		output(b, x->out, x->out_len);
		md_buf_puts(b, "</pre>\n");
	}
	if (show && x->err_len) {
		md_buf_puts(b, "<pre class=\"stderr\">");
		output(b, x->err, x->err_len);
		md_buf_puts(b, "</pre>\n");
	}
	/* Shown even with output=false: a failure is never hidden. */
	if (failed(x))
		failure(b, rb, x);
	for (i = 0; show && i < x->nfiles; i++)
		file(b, &x->files[i]);
	md_buf_puts(b, "</div>\n");
}

/* The class suffix for a status: letters and '-' only. */
static void
status_class(struct md_buf *b, const char *status)
{
	for (; *status; status++)
		if ((*status >= 'a' && *status <= 'z') || *status == '-')
			md_buf_putc(b, *status);
}

static void
lang_class(struct md_buf *b, const char *lang)
{
	md_buf_puts(b, " class=\"language-");
	for (; *lang; lang++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-_.#", *lang))
			md_buf_putc(b, *lang);
	md_buf_puts(b, "\"");
}

/* A fenced block: its code, then what it showed when it ran. */
static void
block(struct md_buf *b, const struct report *r, const struct report_block *rb)
{
	const struct md_block *blk = rb->block;
	bool ran = rb->status != NULL;
	size_t i;

	md_buf_puts(b, "<div class=\"mdrun-block\"");
	if (ran && blk->name) {
		md_buf_puts(b, " id=\"block-");
		escs(b, blk->name);
		md_buf_puts(b, "\"");
	}
	md_buf_puts(b, ">\n");
	if (blk->echo || !ran) {
		md_buf_puts(b, "<pre class=\"code\"><code");
		if (blk->lang)
			lang_class(b, blk->lang);
		md_buf_puts(b, ">");
		text(b, blk->code, blk->code_len);
		md_buf_puts(b, "</code></pre>\n");
	}
	if (ran) {
		md_buf_puts(b, "<div class=\"mdrun-out status-");
		status_class(b, rb->status);
		md_buf_puts(b, "\">\n<p class=\"mdrun-meta\">");
		if (blk->name)
			escs(b, blk->name);
		md_buf_puts(b, " &middot; ");
		escs(b, rb->status);
		if (rb->cached)
			md_buf_puts(b, " &middot; cached");
		md_buf_puts(b, "</p>\n");
		if (rb->note) {
			md_buf_puts(b, "<p class=\"note\">");
			text(b, rb->note, strlen(rb->note));
			md_buf_puts(b, "</p>\n");
		}
		for (i = 0; i < rb->n; i++)
			real(b, r, rb, i);
		if (rb->n == 0 && (!strcmp(rb->status, "failed") ||
				   !strcmp(rb->status, "timeout"))) {
			md_buf_puts(b, "<p class=\"failure\">");
			escs(b, rb->status);
			md_buf_puts(b, "</p>\n");
		}
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

/* The line at a: its length without terminator in *len; returns the next. */
static size_t
next_line(const char *s, size_t n, size_t a, size_t *len)
{
	size_t e = a;

	while (e < n && s[e] != '\n' && s[e] != '\r')
		e++;
	*len = e - a;
	if (e < n && s[e] == '\r' && e + 1 < n && s[e + 1] == '\n')
		return e + 2;
	return e < n ? e + 1 : e;
}

static bool
is_line(const char *s, size_t n, const char *want)
{
	size_t m = strlen(want);

	while (n > m && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n == m && !memcmp(s, want, m);
}

/* YAML front matter blanked out, as in mdrun/doc.c: same lines, no text. */
static void
blank_front_matter(char *s, size_t n)
{
	size_t bom = n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3) ? 3 : 0;
	size_t len, at = next_line(s, n, bom, &len), i;

	if (!is_line(s + bom, len, "---"))
		return;
	while (at < n) {
		size_t a = at;

		at = next_line(s, n, a, &len);
		if (is_line(s + a, len, "---") || is_line(s + a, len, "...")) {
			for (i = bom; i < at; i++)
				if (s[i] != '\n' && s[i] != '\r')
					s[i] = ' ';
			return;
		}
	}
}

/* The heading's text, without markup. */
static void
plain(struct md_buf *b, cmark_node *n)
{
	cmark_node *c;

	for (c = cmark_node_first_child(n); c; c = cmark_node_next(c)) {
		switch (cmark_node_get_type(c)) {
		case CMARK_NODE_TEXT:
		case CMARK_NODE_CODE:
			md_buf_puts(b, cmark_node_get_literal(c));
			break;
		case CMARK_NODE_SOFTBREAK:
		case CMARK_NODE_LINEBREAK:
			md_buf_putc(b, ' ');
			break;
		default:
			plain(b, c);
		}
	}
}

/*
 * The document's tree with every fenced block replaced by our HTML.
 * title gets the first heading's text.
 */
static char *
body(const struct report *r, struct md_buf *title)
{
	const struct md_doc *doc = r->doc;
	struct md_buf feed = MD_BUF_INIT;
	size_t *line = md_calloc(doc->nblocks + 1, sizeof(*line));
	cmark_node **code = NULL, *root;
	size_t ncode = 0, i, j, pos = 0, cut = 0;
	cmark_parser *p;
	cmark_iter *it;
	cmark_event_type ev;
	char *html;

	/* The source without old output regions; lines shift by `cut`. */
	for (i = 0; i < doc->nblocks; i++) {
		const struct md_block *blk = &doc->blocks[i];

		line[i] = (size_t)blk->line - cut;
		if (!blk->has_out)
			continue;
		md_buf_put(&feed, doc->src + pos, blk->out_start - pos);
		cut += count_lines(doc->src + blk->out_start,
				   blk->out_end - blk->out_start);
		pos = blk->out_end;
	}
	md_buf_put(&feed, doc->src + pos, doc->len - pos);
	blank_front_matter(feed.ptr, feed.len);

	p = new_parser(CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8);
	cmark_parser_feed(p, feed.ptr, feed.len);
	root = cmark_parser_finish(p);

	/* Collected first: the tree is changed after the walk. */
	it = cmark_iter_new(root);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		int flen, foff;
		char fch;

		if (ev != CMARK_EVENT_ENTER)
			continue;
		if (cmark_node_get_type(n) == CMARK_NODE_HEADING &&
		    title->len == 0)
			plain(title, n);
		if (cmark_node_get_type(n) == CMARK_NODE_CODE_BLOCK &&
		    cmark_node_get_fenced(n, &flen, &foff, &fch)) {
			code = md_realloc(code, (ncode + 1) * sizeof(*code));
			code[ncode++] = n;
		}
	}
	cmark_iter_free(it);

	for (i = 0, j = 0; i < ncode; i++) {
		size_t l = (size_t)cmark_node_get_start_line(code[i]);
		struct md_buf h = MD_BUF_INIT;
		cmark_node *c;

		while (j < doc->nblocks && line[j] < l)
			j++;
		if (j == doc->nblocks || line[j] != l)
			continue; /* not one of ours: cmark renders it */
		block(&h, r, &r->blocks[j]);
		c = cmark_node_new(CMARK_NODE_CUSTOM_BLOCK);
		cmark_node_set_on_enter(c, h.ptr);
		if (cmark_node_replace(code[i], c))
			cmark_node_free(code[i]);
		else
			cmark_node_free(c);
		md_buf_dispose(&h);
		j++;
	}

	html = cmark_render_html(root, html_options(r),
				 cmark_parser_get_syntax_extensions(p));
	cmark_node_free(root);
	cmark_parser_free(p);
	free(code);
	free(line);
	md_buf_dispose(&feed);
	return html;
}

static void
summary(struct md_buf *b, const struct report *r)
{
	size_t n = 0, ok = 0, bad = 0, other = 0, cached = 0, i;

	for (i = 0; i < r->doc->nblocks; i++) {
		const struct report_block *rb = &r->blocks[i];

		if (!rb->status)
			continue;
		n++;
		if (!strcmp(rb->status, "ok"))
			ok++;
		else if (!strcmp(rb->status, "failed") ||
			 !strcmp(rb->status, "timeout"))
			bad++;
		else
			other++;
		cached += rb->cached;
	}
	md_buf_printf(b, "%zu block%s: %zu ok, %zu failed", n,
		      n == 1 ? "" : "s", ok, bad);
	if (other)
		md_buf_printf(b, ", %zu not run", other);
	md_buf_printf(b, ", %zu cached", cached);
}

void
render_html(struct md_buf *out, const struct report *r)
{
	struct md_buf title = MD_BUF_INIT;
	const char *path = r->path ? r->path : r->doc->path;
	const char *base = strrchr(path, '/');
	char *html;
	size_t i;

	html = body(r, &title);
	if (title.len == 0)
		md_buf_puts(&title, base && base[1] ? base + 1 : path);

	md_buf_puts(out, "<!DOCTYPE html>\n<html>\n<head>\n"
			 "<meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" "
			 "content=\"width=device-width, initial-scale=1\">\n");
	if (!(r->flags & REPORT_UNSAFE_HTML))
		md_buf_puts(out, "<meta http-equiv=\"Content-Security-Policy\" "
				 "content=\"script-src 'none'; "
				 "object-src 'none'; base-uri 'none'\">\n");
	md_buf_puts(out, "<meta name=\"generator\" content=\"mdrun\">\n"
			 "<title>");
	text(out, title.ptr, title.len);
	md_buf_puts(out, "</title>\n<style>\n");
	for (i = 0; css[i]; i++) {
		md_buf_puts(out, css[i]);
		md_buf_putc(out, '\n');
	}
	md_buf_puts(out, "</style>\n</head>\n<body>\n"
			 "<header class=\"mdrun-header\"><span class=\"doc\">");
	text(out, path, strlen(path));
	md_buf_puts(out, "</span><span class=\"summary\">");
	summary(out, r);
	md_buf_puts(out, "</span></header>\n<main>\n");
	md_buf_puts(out, html);
	md_buf_puts(out, "</main>\n</body>\n</html>\n");
	free(html);
	md_buf_dispose(&title);
}
