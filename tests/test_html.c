#include <criterion/criterion.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/doc/doc.h"
#include "../renderer/render.h"
#include "../util/err.h"

/* A 1x1 green PNG, and its base64 (computed apart, with Python). */
static const char png[] = {
	'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n', 0, 0, 0, 0x0d,
	'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
	'\x90', 'w', 'S', '\xde', 0, 0, 0, 0x0c, 'I', 'D', 'A', 'T',
	'x', '\x9c', 'c', '\xf8', '\xcf', '\xc0', 0, 0, 3, 1, 1, 0,
	'\xc9', '\xfe', '\x92', '\xef', 0, 0, 0, 0, 'I', 'E', 'N', 'D',
	'\xae', 'B', '`', '\x82'
};
#define PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4n" \
		"GP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"

/* A realization as a test writes it; page_n makes it a view's. */
struct fake {
	const char *rhash;
	const char *out, *err;
	size_t out_len, err_len;
	int exit_code, signal;
	bool timed_out;
	const struct md_file *files;
	size_t nfiles;
};

static struct fake
out(const char *s)
{
	struct fake x;

	memset(&x, 0, sizeof(x));
	x.out = s;
	x.out_len = strlen(s);
	x.rhash = "0123456789abcdef0123";
	return x;
}

/* The view's realization of x: stdout, then stderr. outs holds 2. */
static struct md_view_real
real_of(const struct fake *x, struct md_out *outs)
{
	struct md_view_real r;

	memset(&r, 0, sizeof(r));
	memset(outs, 0, 2 * sizeof(*outs));
	outs[0].kind = outs[1].kind = MD_OUT_STREAM;
	outs[0].stream = MD_STDOUT;
	outs[0].text = x->out;
	outs[0].len = x->out_len;
	outs[1].stream = MD_STDERR;
	outs[1].text = x->err;
	outs[1].len = x->err_len;
	r.rhash = x->rhash;
	r.exit.code = x->exit_code;
	r.exit.signal = x->signal;
	r.exit.timed_out = x->timed_out;
	r.outs = outs;
	r.nouts = 2;
	r.files = x->files;
	r.nfiles = x->nfiles;
	return r;
}

/*
 * Renders src (as path) as HTML; the k-th executable block shows reals[k]
 * (n of them when n > 1, for the first block only), with status failed
 * when it failed.
 */
static char *
page_n(const char *path, const char *src, const struct fake *reals, size_t n,
       unsigned flags)
{
	struct md_doc *doc = NULL;
	struct md_view_block *blocks;
	struct md_view_real *views;
	struct md_out *outs;
	struct md_buf buf = MD_BUF_INIT;
	struct md_view v;
	size_t i, k = 0;

	cr_assert_eq(md_doc_parse(&doc, path, src, strlen(src), 0), 0, "%s",
		     md_err_msg());
	blocks = calloc(doc->nblocks + 1, sizeof(*blocks));
	views = calloc(doc->nblocks + n + 1, sizeof(*views));
	outs = calloc(2 * (doc->nblocks + n + 1), sizeof(*outs));
	for (i = 0; i < doc->nblocks; i++) {
		const struct fake *x = &reals[k];

		blocks[i].block = &doc->blocks[i];
		blocks[i].key = "";
		if (!doc->blocks[i].exec)
			continue;
		blocks[i].status = x->exit_code || x->signal ? MD_STATUS_FAILED
				   : x->timed_out ? MD_STATUS_TIMEOUT
						  : MD_STATUS_OK;
		blocks[i].reals = &views[k];
		blocks[i].nreals = n > 1 && k == 0 ? n : 1;
		for (size_t j = 0; j < blocks[i].nreals; j++, k++)
			views[k] = real_of(&reals[k], &outs[2 * k]);
	}
	memset(&v, 0, sizeof(v));
	v.doc = doc;
	v.path = path;
	v.blocks = blocks;
	v.flags = flags;
	render_html(&buf, &v);
	free(blocks);
	free(views);
	free(outs);
	md_doc_free(doc);
	return md_buf_detach(&buf);
}

static char *
page(const char *src, const struct fake *reals, unsigned flags)
{
	return page_n("t.md", src, reals, 1, flags);
}

static void
has(const char *html, const char *s)
{
	cr_assert(strstr(html, s), "missing: %s\nin:\n%s", s, html);
}

static void
lacks(const char *html, const char *s)
{
	cr_assert(!strstr(html, s), "present: %s\nin:\n%s", s, html);
}

/* a appears, and b after it. */
static void
before(const char *html, const char *a, const char *b)
{
	const char *p = strstr(html, a);

	cr_assert(p, "missing: %s\nin:\n%s", a, html);
	cr_assert(strstr(p + strlen(a), b), "no %s after %s in:\n%s", b, a,
		  html);
}

/* No "<script" in any case. */
static void
no_script(const char *html)
{
	char *low = strdup(html);

	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cr_assert(!strstr(low, "<script"), "a script in:\n%s", html);
	free(low);
}

Test(html, program_output_is_escaped_text)
{
	static const char bytes[] =
		"<script>alert(1)</script>\n</pre>\"q\" 'a'\n"
		"[x](javascript:alert(2)) \x1b[31mred\x1b[0m nul:\0:end\n";
	struct fake x = out("");
	char *html;

	x.out = bytes;
	x.out_len = sizeof(bytes) - 1;
	html = page("```{sh}\nprintf x\n```\n", &x, 0);
	has(html, "<pre class=\"stdout\">&lt;script&gt;alert(1)&lt;/script&gt;"
		  "\n&lt;/pre&gt;&quot;q&quot; &#39;a&#39;\n");
	has(html, "[x](javascript:alert(2)) <span class=\"ansi ansi-fg-1\">red</span> nul:\xe2\x90\x80:end\n</pre>");
	lacks(html, "\x1b");
	lacks(html, "href=\"javascript");
	no_script(html);
	free(html);
}

Test(html, stderr_and_failures_are_set_apart)
{
	struct fake x[2] = { out("fine\n"), out("") };
	char *html;

	x[0].err = "careful <b>\n";
	x[0].err_len = strlen(x[0].err);
	x[1].exit_code = 3;
	x[1].err = "boom\n";
	x[1].err_len = 5;
	html = page("```{sh}\necho fine\n```\n\n```{sh}\nexit 3\n```\n", x, 0);
	has(html, "<pre class=\"stdout\">fine\n</pre>");
	has(html, "<pre class=\"stderr\">careful &lt;b&gt;\n</pre>");
	before(html, "<pre class=\"stderr\">boom\n</pre>",
	       "<p class=\"failure\">exit status 3</p>");
	has(html, "class=\"mdrun-out status-failed\"");
	has(html, "class=\"mdrun-out status-ok\"");
	has(html, "pre.stderr{");
	has(html, ".failure{");
	has(html, "2 blocks: 1 ok, 1 failed");
	free(html);
}

Test(html, signals_timeouts_and_expected_errors)
{
	struct fake x[3] = { out(""), out(""), out("") };
	char *html;

	x[0].signal = 9;
	x[1].timed_out = true;
	x[2].exit_code = 1;
	html = page("```{sh}\nkill\n```\n\n```{sh}\nsleep\n```\n\n"
		    "```{sh error=true}\nfalse\n```\n", x, 0);
	has(html, "<p class=\"failure\">killed by signal 9</p>");
	has(html, "<p class=\"failure\">timed out</p>");
	free(html);
}

Test(html, images_are_embedded_as_data_uris)
{
	struct md_file f[3];
	struct fake x = out("");
	char *html;

	memset(f, 0, sizeof(f));
	f[0].name = "plot.png";
	f[0].mime = "image/png";
	f[0].data = png;
	f[0].len = sizeof(png);
	f[1].name = "dir/t<1>.csv";
	f[1].mime = "text/csv";
	f[1].data = "a,b\n1,2\n";
	f[1].len = 8;
	f[2].name = "big.bin";
	f[2].mime = "application/octet-stream";
	f[2].data = calloc(2 * 1024 * 1024, 1);
	f[2].len = 2 * 1024 * 1024;
	x.files = f;
	x.nfiles = 3;
	html = page("```{python}\nplot()\n```\n", &x, 0);
	has(html, "<img alt=\"plot.png\" src=\"data:image/png;base64,"
		  PNG_B64 "\">");
	has(html, "<a download=\"t&lt;1&gt;.csv\" "
		  "href=\"data:text/csv;base64,YSxiCjEsMgo=\">"
		  "dir/t&lt;1&gt;.csv</a> (8 bytes)");
	has(html, "big.bin (2.0 MiB, not embedded)");
	lacks(html, "data:application/octet-stream");
	free((void *)f[2].data);
	free(html);
}

Test(html, a_strange_mime_type_is_not_written_into_the_uri)
{
	struct md_file f;
	struct fake x = out("");
	char *html;

	memset(&f, 0, sizeof(f));
	f.name = "x";
	f.mime = "image/png\"><b>";
	f.data = "abc";
	f.len = 3;
	x.files = &f;
	x.nfiles = 1;
	html = page("```{sh}\nx\n```\n", &x, 0);
	has(html, "href=\"data:application/octet-stream;base64,YWJj\"");
	lacks(html, "<b>");
	free(html);
}

Test(html, title_from_the_first_heading)
{
	struct fake x = out("");
	char *html = page("Intro.\n\n## A & `B` <i>c</i>\n\n# Later\n", &x, 0);

	has(html, "<title>A &amp; B c</title>");
	free(html);
	html = page_n("some/dir/notes.md", "No heading <here>.\n", &x, 1, 0);
	has(html, "<title>notes.md</title>");
	has(html, "<span class=\"doc\">some/dir/notes.md</span>");
	free(html);
}

Test(html, authors_raw_html_is_omitted_unless_unsafe)
{
	static const char src[] = "# T\n\n<div onclick=x>hi</div>\n\n"
				  "Text <b onmouseover=y>b</b> and "
				  "[l](javascript:alert(1)).\n\n"
				  "<script>alert(3)</script>\n";
	struct fake x = out("");
	char *html = page(src, &x, 0);

	lacks(html, "onclick");
	lacks(html, "onmouseover");
	lacks(html, "javascript:");
	has(html, "<!-- raw HTML omitted -->");
	has(html, "Content-Security-Policy");
	no_script(html);
	free(html);

	html = page(src, &x, MD_VIEW_UNSAFE_HTML);
	has(html, "<div onclick=x>hi</div>");
	has(html, "<b onmouseover=y>");
	has(html, "<script>alert(3)</script>");
	lacks(html, "Content-Security-Policy");
	free(html);
}

Test(html, asis_output_is_markdown_with_raw_html_omitted_unless_unsafe)
{
	static const char src[] = "```{sh output=asis}\nprintf x\n```\n";
	struct fake x =
		out("**bold** <img src=x onerror=alert(1)>\n\n"
		    "<script>alert(2)</script>\n\n| a |\n|---|\n| 1 |\n");
	char *html = page(src, &x, 0);

	has(html, "<div class=\"asis\">\n<p><strong>bold</strong>");
	has(html, "<td>1</td>");
	lacks(html, "onerror");
	no_script(html);
	free(html);

	html = page(src, &x, MD_VIEW_UNSAFE_HTML);
	has(html, "<strong>bold</strong> <img src=x onerror=alert(1)>");
	has(html, "<script>alert(2)</script>");
	free(html);
}

Test(html, gfm_extensions)
{
	struct fake x = out("");
	char *html = page("| a | b |\n|---|---|\n| 1 | 2 |\n\n"
			  "- [x] done\n- [ ] todo\n\n~~old~~ "
			  "www.example.com\n", &x, 0);

	has(html, "<table>");
	has(html, "<td>2</td>");
	has(html, "<input type=\"checkbox\" checked=\"\" disabled=\"\" />");
	has(html, "<del>old</del>");
	has(html, "<a href=\"http://www.example.com\">");
	free(html);
}

Test(html, stylesheet_has_a_dark_mode_and_the_page_no_script)
{
	struct fake x = out("<script>x</script>");
	char *html = page("# T\n\n```{sh}\nx\n```\n", &x, 0);

	has(html, "<style>");
	has(html, "@media (prefers-color-scheme:dark)");
	has(html, "<meta charset=\"utf-8\">");
	no_script(html);
	free(html);
}

Test(html, old_output_regions_are_left_out)
{
	static const char src[] =
		"# T\n\n```{sh}\necho new\n```\n"
		"<!-- mdrun:out -->\n```output\nOLD ONE\n```\n"
		"<!-- /mdrun:out -->\n\nMiddle.\n\n"
		"```{sh}\necho two\n```\n"
		"<!-- mdrun:out -->\n```output\nOLD TWO\n```\n"
		"<!-- /mdrun:out -->\n\nEnd.\n";
	struct fake x[2] = { out("new\n"), out("two\n") };
	char *html = page(src, x, 0);

	lacks(html, "OLD");
	lacks(html, "mdrun:out");
	before(html, "echo new", "<pre class=\"stdout\">new\n");
	before(html, "<pre class=\"stdout\">new\n", "Middle.");
	before(html, "Middle.", "echo two");
	before(html, "echo two", "<pre class=\"stdout\">two\n");
	before(html, "<pre class=\"stdout\">two\n", "End.");
	free(html);
}

Test(html, blocks_in_lists_and_quotes_stay_there)
{
	static const char src[] = "- item\n\n  ```{sh}\n  echo in list\n  ```\n"
				  "  <!-- mdrun:out -->\n  ```output\n  OLD\n"
				  "  ```\n  <!-- /mdrun:out -->\n- next\n\n"
				  "> ```{sh}\n> echo quoted\n> ```\n";
	struct fake x[2] = { out("listed\n"), out("quoted\n") };
	char *html = page(src, x, 0);

	before(html, "<li>", "echo in list");
	before(html, "echo in list", "<pre class=\"stdout\">listed\n");
	before(html, "<pre class=\"stdout\">listed\n", "</li>\n<li>");
	before(html, "<blockquote>", "<pre class=\"stdout\">quoted\n");
	before(html, "<pre class=\"stdout\">quoted\n", "</blockquote>");
	lacks(html, "OLD");
	free(html);
}

Test(html, plain_code_is_shown_only_and_echo_false_hides_code)
{
	struct fake x = out("shown\n");
	char *html = page("```sh\nrm -rf /x\n```\n\n"
			  "```{python echo=false}\nprint('hidden code')\n```\n",
			  &x, 0);

	has(html, "<pre class=\"code\"><code class=\"language-sh\">rm -rf /x\n"
		  "</code></pre>\n</div>");
	lacks(html, "hidden code");
	has(html, "<pre class=\"stdout\">shown\n</pre>");
	has(html, "1 block: 1 ok, 0 failed, 0 cached");
	free(html);
}

Test(html, front_matter_is_not_shown)
{
	struct fake x = out("");
	char *html = page("---\ntitle: secret\nmdrun: {run: braces}\n---\n"
			  "# Real\n", &x, 0);

	lacks(html, "secret");
	has(html, "<title>Real</title>");
	lacks(html, "<hr");
	free(html);
}

Test(html, several_realizations_are_labelled)
{
	struct fake x[2] = { out("first\n"), out("second\n") };
	char *html = page_n("t.md", "```{sh}\ndate\n```\n", x, 2, 0);

	before(html, "realization 1 of 2 <code>0123456789ab</code>",
	       "<pre class=\"stdout\">first\n");
	before(html, "<pre class=\"stdout\">first\n",
	       "realization 2 of 2");
	before(html, "realization 2 of 2", "<pre class=\"stdout\">second\n");
	free(html);
}

Test(html, notes_and_cached_blocks)
{
	struct md_doc *doc = NULL;
	struct md_view_block b[2];
	struct fake x = out("hi\n");
	struct md_out outs[2];
	struct md_view_real r = real_of(&x, outs);
	struct md_buf buf = MD_BUF_INIT;
	struct md_view v;
	static const char src[] = "```{sh}\necho hi\n```\n\n"
				  "```{sh}\necho never\n```\n";

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	memset(b, 0, sizeof(b));
	b[0].block = &doc->blocks[0];
	b[0].status = MD_STATUS_OK;
	b[0].cached = true;
	b[0].reals = &r;
	b[0].nreals = 1;
	b[1].block = &doc->blocks[1];
	b[1].status = MD_STATUS_SKIPPED;
	b[1].skip = MD_SKIP_UPSTREAM;
	memset(&v, 0, sizeof(v));
	v.doc = doc;
	v.path = "t.md";
	v.blocks = b;
	render_html(&buf, &v);
	has(buf.ptr, "sh-1 &middot; ok &middot; cached");
	has(buf.ptr, "sh-2 &middot; skipped</p>\n"
		     "<p class=\"note\">not run: upstream failed</p>");
	has(buf.ptr, "class=\"mdrun-out status-skipped\"");
	has(buf.ptr, "2 blocks: 1 ok, 0 failed, 1 not run, 1 cached");
	md_buf_dispose(&buf);
	md_doc_free(doc);
}

Test(html, same_input_same_page)
{
	struct fake x = out("a\n");
	char *one = page("# T\n\n```{sh}\necho a\n```\n", &x, 0);
	char *two = page("# T\n\n```{sh}\necho a\n```\n", &x, 0);

	cr_assert_str_eq(one, two);
	free(one);
	free(two);
}

Test(html, crlf_document_with_old_regions)
{
	static const char src[] =
		"# T\r\n\r\n```{sh}\r\necho a\r\n```\r\n"
		"<!-- mdrun:out -->\r\n```output\r\nOLD\r\n```\r\n"
		"<!-- /mdrun:out -->\r\n\r\n```{sh}\r\necho b\r\n```\r\n";
	struct fake x[2] = { out("a\n"), out("b\n") };
	char *html = page(src, x, 0);

	lacks(html, "OLD");
	before(html, "echo a", "<pre class=\"stdout\">a\n");
	before(html, "<pre class=\"stdout\">a\n", "echo b");
	before(html, "echo b", "<pre class=\"stdout\">b\n");
	free(html);
}

Test(html, empty_document)
{
	struct fake x = out("");
	char *html = page("", &x, 0);

	has(html, "<title>t.md</title>");
	has(html, "0 blocks: 0 ok, 0 failed, 0 cached");
	before(html, "<main>", "</main>\n</body>\n</html>\n");
	free(html);
}

/* --- the document model's front matter and title ------------------- */

/* A view of src whose executable blocks all printed out. */
static char *
page_of(const char *src, const char *printed, unsigned flags)
{
	struct fake x = out(printed);

	return page(src, &x, flags);
}

Test(html, dashes_around_a_block_are_not_front_matter)
{
	/* The model says no front matter: the block and output show. */
	static const char src[] = "---\n```{sh}\necho hi\n```\n---\n";
	struct md_doc *doc = NULL;
	char *html;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(doc->front_end, 0);
	md_doc_free(doc);
	html = page_of(src, "from the block\n", 0);
	has(html, "<hr />");
	before(html, "echo hi", "<pre class=\"stdout\">from the block\n");
	has(html, "1 block: 1 ok");
	free(html);
}

Test(html, front_matter_after_a_byte_order_mark_is_not_shown)
{
	static const char src[] = "\xef\xbb\xbf---\ntitle: Front\n---\n"
				  "# Real title\n\n```{sh}\necho x\n```\n";
	char *html = page_of(src, "x\n", 0);

	lacks(html, "Front");
	lacks(html, "<hr");
	has(html, "<title>Real title</title>");
	before(html, "<h1>Real title</h1>", "<pre class=\"stdout\">x\n");
	free(html);
}

/* --- rich values and errors ---------------------------------------- */

/* The page of one block that shows outs (and files). */
static char *
page_outs(const struct md_out *outs, size_t n, const struct md_file *files,
	  size_t nfiles, unsigned flags)
{
	static const char src[] = "```{python}\nf()\n```\n";
	struct md_view_real r = { .rhash = "r", .outs = outs, .nouts = n,
				  .files = files, .nfiles = nfiles };
	struct md_doc *doc = NULL;
	struct md_view_block b = { 0 };
	struct md_view v = { 0 };
	struct md_buf buf = MD_BUF_INIT;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	b.block = &doc->blocks[0];
	b.status = MD_STATUS_OK;
	b.key = "";
	b.reals = &r;
	b.nreals = 1;
	v.doc = doc;
	v.path = "t.md";
	v.blocks = &b;
	v.flags = flags;
	render_html(&buf, &v);
	md_doc_free(doc);
	return md_buf_detach(&buf);
}

Test(html, rich_values_are_shown_as_safely_as_they_can)
{
	static const struct md_mime frame[] = {
		{ "text/html", "<table onclick=x><td>1</td></table>", 35 },
		{ "text/plain", "  a\n0 1 <tag>", 13 },
	};
	static const struct md_mime figure[] = {
		{ "image/png", png, sizeof(png) },
		{ "text/plain", "<Figure \"1\">", 12 },
	};
	static const struct md_mime md[] = {
		{ "text/markdown", "*em* <script>x</script>", 23 },
	};
	static const struct md_out outs[] = {
		{ .kind = MD_OUT_RICH, .bundle = frame, .nbundle = 2,
		  .result = true },
		{ .kind = MD_OUT_RICH, .bundle = figure, .nbundle = 2 },
		{ .kind = MD_OUT_RICH, .bundle = md, .nbundle = 1 },
		{ .kind = MD_OUT_ERROR, .text = "Traceback <x>\nE: y\n",
		  .len = 19 },
	};
	static const struct md_file files[] = {
		{ "figure.png", "image/png", png, sizeof(png), "f.png", NULL },
	};
	char *html = page_outs(outs, 4, files, 1, 0);

	/* The HTML, sanitized, before the text. */
	lacks(html, "onclick");
	has(html, "<div class=\"rich\">\n<table><td>1</td></table>\n</div>");
	lacks(html, "<pre class=\"result\">");
	has(html, "<figure class=\"rich\"><img alt=\"&lt;Figure &quot;1&quot;"
		  "&gt;\" src=\"data:image/png;base64," PNG_B64 "\"></figure>");
	/* The figure's file is the figure: not shown a second time. */
	lacks(html, "<figcaption>");
	has(html, "<div class=\"asis\">\n<p><em>em</em> ");
	has(html, "<pre class=\"stderr error\">Traceback &lt;x&gt;\nE: y\n"
		  "</pre>");
	no_script(html);
	free(html);

	html = page_outs(outs, 4, files, 1, MD_VIEW_UNSAFE_HTML);
	has(html, "<div class=\"rich\">\n<table onclick=x><td>1</td></table>"
		  "\n</div>");
	lacks(html, "<pre class=\"result\">");
	free(html);
}

Test(html, outputs_in_order_streams_merged)
{
	static const struct md_out outs[] = {
		{ .kind = MD_OUT_STREAM, .stream = MD_STDOUT, .text = "a",
		  .len = 1 },
		{ .kind = MD_OUT_STREAM, .stream = MD_STDOUT, .text = "b\n",
		  .len = 2 },
		{ .kind = MD_OUT_STREAM, .stream = MD_STDERR, .text = "e\n",
		  .len = 2 },
		{ .kind = MD_OUT_STREAM, .stream = MD_STDOUT, .text = "c\n",
		  .len = 2 },
	};
	char *html = page_outs(outs, 4, NULL, 0, 0);

	has(html, "<div class=\"real\">\n<pre class=\"stdout\">ab\n</pre>\n"
		  "<pre class=\"stderr\">e\n</pre>\n"
		  "<pre class=\"stdout\">c\n</pre>\n</div>");
	free(html);
}
