/*
 * The HTML sanitizer (renderer/sanitize.c), and rich values as the
 * Markdown and HTML renderers show them: which representation each
 * prefers, HTML sanitized, LaTeX, figure captions, and Markdown regions
 * that render again to the same bytes.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/doc/doc.h"
#include "../renderer/render.h"
#include "../renderer/sanitize.h"
#include "../util/err.h"

/* The sanitized HTML of n bytes at s, to be freed. */
static char *
clean_n(const char *s, size_t n)
{
	struct md_buf out = MD_BUF_INIT;

	render_html_sanitize(&out, s, n);
	return md_buf_detach(&out);
}

static void
same(const char *in, const char *want)
{
	char *got = clean_n(in, strlen(in));

	cr_assert_str_eq(got, want, "from: %s", in);
	free(got);
}

static void
has(const char *s, const char *part)
{
	cr_assert(strstr(s, part), "missing: %s\nin:\n%s", part, s);
}

static void
lacks(const char *s, const char *part)
{
	cr_assert(!strstr(s, part), "present: %s\nin:\n%s", part, s);
}

/* --- the sanitizer -------------------------------------------------- */

/* A DataFrame's _repr_html_, as pandas writes it, from its first row. */
#define FRAME_ROWS                                                          \
	"      <th></th>\n"                                                 \
	"      <th>a</th>\n"                                                \
	"    </tr>\n"                                                       \
	"  </thead>\n"                                                      \
	"  <tbody>\n"                                                       \
	"    <tr>\n"                                                        \
	"      <th>0</th>\n"                                                \
	"      <td>x &lt; 1 &amp; y</td>\n"                                 \
	"    </tr>\n"                                                       \
	"  </tbody>\n"                                                      \
	"</table>\n"                                                        \
	"</div>"
#define FRAME_TABLE "<table border=\"1\" class=\"dataframe\">\n  <thead>\n"
static const char frame_html[] =
	"<div>\n"
	"<style scoped>\n"
	"    .dataframe tbody tr th:only-of-type {\n"
	"        vertical-align: middle;\n"
	"    }\n"
	"\n"
	"    .dataframe thead th {\n"
	"        text-align: right;\n"
	"    }\n"
	"</style>\n"
	FRAME_TABLE "    <tr style=\"text-align: right;\">\n" FRAME_ROWS;
/* The same, sanitized: no style, the line it stood on left empty. */
static const char frame_safe[] =
	"<div>\n\n" FRAME_TABLE "    <tr>\n" FRAME_ROWS;

Test(sanitize, a_pandas_frame_keeps_its_table_without_the_style)
{
	same(frame_html, frame_safe);
}

Test(sanitize, scripts_and_event_handlers_are_dropped)
{
	same("a<script>alert(1)</script>b", "ab");
	same("<SCRIPT type=module>x</SCRIPT >b", "b");
	same("<img src=x.png onerror=alert(1)>", "<img src=\"x.png\">");
	same("<b onclick=\"x()\" class=c ONMOUSEOVER='y'>t</b>",
	     "<b class=\"c\">t</b>");
	same("<p style=\"background:url(x)\" id=i>t</p>", "<p>t</p>");
	same("<iframe src=x><b>in</b></iframe><object><embed src=x>"
	     "<p>fallback</p></object><template><b>t</b></template>ok",
	     "ok");
	same("<noscript><b>n</b></noscript><textarea><b></textarea>"
	     "<title>t</title><math><mi>x</mi></math>ok", "ok");
	same("<form action=x><input value=v><button>go</button></form>",
	     "go");
	/* A value holding what looks like another attribute stays a value. */
	same("<div title=\"&quot; onclick=x\">t</div>",
	     "<div title=\"&quot; onclick=x\">t</div>");
}

Test(sanitize, links_only_to_http_https_or_relative)
{
	static const char *const bad[] = {
		"javascript:alert(1)",
		"JaVaScRiPt:alert(1)",
		" \tjavascript:alert(1)",
		"java\nscript:alert(1)",
		"jav&#x09;ascript:alert(1)",
		"&#106;avascript:alert(1)",
		"&#x6A&#x61vascript:alert(1)",
		"javascript&#58;alert(1)",
		"vbscript:x",
		"data:text/html;base64,PHNjcmlwdD4=",
		"file:///etc/passwd",
	};
	struct md_buf in = MD_BUF_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		md_buf_clear(&in);
		md_buf_printf(&in, "<a href=\"%s\">x</a>", bad[i]);
		same(in.ptr, "<a>x</a>");
	}
	md_buf_dispose(&in);
	same("<a href=\"https://example.org/a?b=1&amp;c=2\">x</a>",
	     "<a href=\"https://example.org/a?b=1&amp;c=2\">x</a>");
	same("<a href=' HTTP://x.org/ '>x</a>",
	     "<a href=\"HTTP://x.org/\">x</a>");
	same("<a href=\"http&#58;//x.org\">x</a>",
	     "<a href=\"http://x.org\">x</a>");
	same("<a href=../doc.md#part title=t>x</a>",
	     "<a href=\"../doc.md#part\" title=\"t\">x</a>");
	/* A reference not decoded is not a colon: the value says so. */
	same("<a href=\"javascript&colon;x\">x</a>",
	     "<a href=\"javascript&amp;colon;x\">x</a>");
	/* href belongs to a, src to img. */
	same("<div href=/x src=/y>t</div>", "<div>t</div>");
}

Test(sanitize, images_only_from_safe_sources)
{
	same("<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=a>",
	     "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"a\">");
	same("<img src=\"DATA:image/GIF;base64,R0lG\">",
	     "<img src=\"DATA:image/GIF;base64,R0lG\">");
	same("<img src=\"plots/a.png\" width=10 height=\"20\"/>",
	     "<img src=\"plots/a.png\" width=\"10\" height=\"20\">");
	same("<img src=\"https://x.org/a.jpg\">",
	     "<img src=\"https://x.org/a.jpg\">");
	same("<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">x", "x");
	same("<img src=\"data:image/png;base64,<script>\">x", "x");
	same("<img src=\"data:text/html,<script>alert(1)</script>\">x", "x");
	same("<img src=\"javascript:alert(1)\">x", "x");
	same("<img alt=none>x", "x");
}

Test(sanitize, unclosed_and_stray_tags_balance)
{
	same("<b><i>open", "<b><i>open</i></b>");
	same("<b><i>x</b>y</i>", "<b><i>x</i></b>y");
	same("</div></td>x</p>", "x");
	same("<table><tr><td>1<td>2<tr><td>3</table>after",
	     "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr>"
	     "</table>after");
	same("<ul><li>a<li>b</ul>", "<ul><li>a</li><li>b</li></ul>");
	same("<dl><dt>t<dd>d<dt>u</dl>",
	     "<dl><dt>t</dt><dd>d</dd><dt>u</dt></dl>");
	same("<p>a<p>b<div>c</div>", "<p>a</p><p>b</p><div>c</div>");
	same("<h1>a<h2>b</h2>", "<h1>a</h1><h2>b</h2>");
	same("a<br/>b<hr>c</br>", "a<br>b<hr>c");
	same("<div/>x", "<div>x</div>");
	/* Deeper than 256 elements: the text stays, the tags balance. */
	struct md_buf deep = MD_BUF_INIT;
	char *got;

	for (int i = 0; i < 300; i++)
		md_buf_puts(&deep, "<span>");
	md_buf_puts(&deep, "x");
	got = clean_n(deep.ptr, deep.len);
	has(got, ">x<");
	cr_assert_eq(strlen(got), 256 * strlen("<span></span>") + 1);
	free(got);
	md_buf_dispose(&deep);
}

Test(sanitize, nested_tricks_are_neutralised)
{
	/* "scr<script" is one (unknown) tag name, as HTML reads it. */
	same("<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)");
	same("<scr<b>ipt>alert(1)", "ipt&gt;alert(1)");
	same("<<script>script>alert(1)<</script>/script>",
	     "&lt;/script&gt;");
	same("<svg><script>alert(1)</script><a>in</a></svg>out", "out");
	same("<svg><svg></svg><b>still in</b></svg>out", "out");
	same("<style><script>alert(1)</script></style>x", "x");
	same("<!--<script>alert(1)</script>-->x<!-->y<!--->z", "xyz");
	same("<!DOCTYPE html><?xml version=\"1.0\"?><![CDATA[x]]>t", "t");
	same("<a href='x'<script>alert(1)</script>",
	     "<a href=\"x\">alert(1)</a>");
	same("<img src=\"x\" <script>alert(1)</script>",
	     "<img src=\"x\">alert(1)");
	same("<textarea></textarea ><script>alert(1)</script>", "");
	same("<script>alert(1)</scriptx></script>y", "y");
	same("<b title=\"a>b\">t</b>", "<b title=\"a&gt;b\">t</b>");
	/* A tag, comment or script the input ends in goes. */
	same("x<b class=\"c", "x");
	same("x<!-- never closed <b>", "x");
	same("x<script>alert(1)", "x");
	same("a < b", "a &lt; b");
	same("a </ b>c", "a c");
	same("x</", "x&lt;/");
}

Test(sanitize, any_bytes_and_never_past_len)
{
	static const char bytes[] = "<b>\0\xff\xc3(</b><i\0>";
	/* Exactly its bytes on the heap: a read past them is caught. */
	char *exact = malloc(5);
	char *got;

	got = clean_n(bytes, sizeof(bytes) - 1);
	cr_assert_str_eq(got, "<b>\xe2\x90\x80\xef\xbf\xbd\xef\xbf\xbd(</b>");
	free(got);
	memcpy(exact, "<b>ab", 5);
	got = clean_n(exact, 4);
	cr_assert_str_eq(got, "<b>a</b>");
	free(got);
	for (size_t n = 0; n <= 5; n++) {
		memcpy(exact, "<a h=", 5);
		free(clean_n(exact, n));
	}
	free(exact);
	got = clean_n(NULL, 0);
	cr_assert_str_eq(got, "");
	free(got);
}

Test(sanitize, text_is_escaped_references_kept)
{
	same("a & b &amp; c &eacute; &#233; &#xE9; &bogus &#; \"q\" 'r' >",
	     "a &amp; b &amp; c &eacute; &#233; &#xE9; &amp;bogus &amp;#; "
	     "&quot;q&quot; &#39;r&#39; &gt;");
	same("<td title='it&apos;s \"x\"'>t</td>",
	     "<td title=\"it&apos;s &quot;x&quot;\">t</td>");
}

Test(sanitize, what_shows_anything)
{
	static const struct {
		const char *html;
		bool shows;
	} cases[] = {
		{ "", false },
		{ " \n\t", false },
		{ "<div>\n</div><br>", false },
		{ "<script>alert(1)</script>", false },
		{ "<table><tr><td></td></tr></table>", false },
		{ "<td>0</td>", true },
		{ "&nbsp;", true },
		{ "<hr>", true },
		{ "<img src=\"a.png\">", true },
		{ "<b title=\"&gt;x\"></b>", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *s = clean_n(cases[i].html, strlen(cases[i].html));

		cr_assert_eq(render_html_shows(s, strlen(s)), cases[i].shows,
			     "%s", cases[i].html);
		free(s);
	}
}

/* --- rich values in Markdown and HTML ------------------------------- */

#define MIME(t, s) { (t), (s), sizeof(s) - 1 }
#define RICH(b) { .kind = MD_OUT_RICH, .bundle = (b), \
		  .nbundle = sizeof(b) / sizeof(*(b)) }
#define NOUTS(a) (sizeof(a) / sizeof(*(a)))

static const char png[] = "\x89PNG\r\n\x1a\n";

/*
 * src rendered by render, every executable block showing r and given
 * the options opts (n of them) besides its own.
 */
static char *
show(void (*render)(struct md_buf *, const struct md_view *), const char *src,
     const struct md_view_real *r, struct md_opt *opts, size_t n,
     unsigned flags)
{
	struct md_doc *doc = NULL;
	struct md_view_block *blocks;
	struct md_opt **saved;
	size_t *nsaved;
	struct md_view v = { 0 };
	struct md_buf out = MD_BUF_INIT;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0, "%s",
		     md_err_msg());
	blocks = calloc(doc->nblocks + 1, sizeof(*blocks));
	saved = calloc(doc->nblocks + 1, sizeof(*saved));
	nsaved = calloc(doc->nblocks + 1, sizeof(*nsaved));
	for (size_t i = 0; i < doc->nblocks; i++) {
		struct md_block *b = &doc->blocks[i];

		blocks[i].block = b;
		blocks[i].key = "";
		if (!b->exec)
			continue;
		blocks[i].status = MD_STATUS_OK;
		blocks[i].reals = r;
		blocks[i].nreals = 1;
		saved[i] = b->opts;
		nsaved[i] = b->nopts;
		if (n) {
			b->opts = opts;
			b->nopts = n;
		}
	}
	v.doc = doc;
	v.path = "t.md";
	v.blocks = blocks;
	v.flags = flags;
	render(&out, &v);
	for (size_t i = 0; i < doc->nblocks; i++) {
		if (!doc->blocks[i].exec)
			continue;
		doc->blocks[i].opts = saved[i];
		doc->blocks[i].nopts = nsaved[i];
	}
	free(blocks);
	free(saved);
	free(nsaved);
	md_doc_free(doc);
	return md_buf_detach(&out);
}

/* The Markdown of src; rendering it again gives the same bytes. */
static char *
markdown(const char *src, const struct md_view_real *r, struct md_opt *opts,
	 size_t n)
{
	char *once = show(render_markdown, src, r, opts, n, 0);
	char *twice = show(render_markdown, once, r, opts, n, 0);

	cr_assert_str_eq(twice, once, "not idempotent:\n%s\n---\n%s", once,
			 twice);
	free(twice);
	return once;
}

/* The region Markdown gives one rich value (no file, no options). */
static char *
md_region(const struct md_out *o)
{
	struct md_view_real r = { .outs = o, .nouts = 1 };

	return markdown("```{python}\nx\n```\n", &r, NULL, 0);
}

static void
md_shows(const struct md_out *o, const char *region)
{
	char *s = md_region(o);
	struct md_buf want = MD_BUF_INIT;

	md_buf_printf(&want, "```{python}\nx\n```\n<!-- mdrun:out -->\n%s"
			     "<!-- /mdrun:out -->\n", region);
	cr_assert_str_eq(s, want.ptr);
	md_buf_dispose(&want);
	free(s);
}

static const struct md_mime frame[] = {
	MIME("text/html", frame_html),
	MIME("text/plain", "   a\n0  1"),
	MIME("text/markdown", "|    | a |\n|---:|--:|\n|  0 | 1 |"),
};

Test(rich, markdown_prefers_markdown_image_latex_html_text)
{
	static const struct md_mime html_text[] = {
		MIME("text/plain", "<b>"),
		MIME("text/html", "<b onclick=x>bold</b>"),
	};
	static const struct md_mime latex_html[] = {
		MIME("text/html", "<i>x</i>"),
		MIME("text/latex", "$x^2$"),
	};
	static const struct md_mime scripts[] = {
		MIME("text/html", "<script>plot()</script>"),
		MIME("text/plain", "Figure()"),
	};
	static const struct md_out o[] = {
		RICH(frame), RICH(html_text), RICH(latex_html), RICH(scripts),
	};

	/* A DataFrame: its Markdown table, whatever the bundle's order. */
	md_shows(&o[0], "|    | a |\n|---:|--:|\n|  0 | 1 |\n");
	md_shows(&o[1], "<div>\n<b>bold</b>\n</div>\n\n");
	md_shows(&o[2], "$$\nx^2\n$$\n");
	/* HTML that shows nothing once sanitized: its text instead. */
	md_shows(&o[3], "```output\nFigure()\n```\n");
}

Test(rich, markdown_html_is_one_raw_block_and_round_trips)
{
	static const struct md_mime html[] = {
		MIME("text/html", frame_html),
		MIME("text/plain", "   a\n0  1"),
	};
	static const struct md_out outs[] = {
		RICH(html),
		{ .kind = MD_OUT_STREAM, .stream = MD_STDERR, .text = "w\n",
		  .len = 2 },
	};
	struct md_view_real r = { .outs = outs, .nouts = NOUTS(outs) };
	char *s = markdown("```{python}\ndf\n```\n", &r, NULL, 0);

	/* No blank line inside (it would end the HTML), one after. */
	cr_assert_str_eq(s, "```{python}\ndf\n```\n<!-- mdrun:out -->\n"
			    "<div>\n<div>\n" FRAME_TABLE "    <tr>\n" FRAME_ROWS
			    "\n</div>\n\n```stderr\nw\n```\n"
			    "<!-- /mdrun:out -->\n");
	free(s);
	/* In a list item and a quote, it stays there. */
	s = markdown("- item\n\n  ```{python}\n  df\n  ```\n- next\n", &r,
		     NULL, 0);
	has(s, "  </tbody>\n  </table>\n  </div>\n  </div>\n\n  ```stderr\n");
	has(s, "  <!-- /mdrun:out -->\n- next\n");
	free(s);
	s = markdown("> ```{python}\n> df\n> ```\n", &r, NULL, 0);
	has(s, "> </div>\n>\n> ```stderr\n");
	free(s);
}

Test(rich, markdown_latex_is_a_math_block)
{
	static const struct {
		const char *latex, *region;
	} cases[] = {
		{ "$\\displaystyle x^{2}$", "$$\n\\displaystyle x^{2}\n$$\n" },
		{ "$$\\frac{1}{2}$$\n", "$$\n\\frac{1}{2}\n$$\n" },
		{ "\\[ a \\]", "$$\na\n$$\n" },
		{ "\\begin{align}\na &= 1 \\\\\nb &= 2\n\\end{align}",
		  "$$\n\\begin{align}\na &= 1 \\\\\nb &= 2\n\\end{align}\n$$\n" },
		/* Two formulas in text: not one of them, kept whole. */
		{ "$a$ and $b$", "$$\n$a$ and $b$\n$$\n" },
		/* What would end a $$ block or take the region's end. */
		{ "a\n\nb", "```math\na\n\nb\n```\n" },
		{ "a\n<!-- /mdrun:out -->", "```math\na\n<!-- /mdrun:out -->\n"
					   "```\n" },
		{ "a\n```\nb", "````math\na\n```\nb\n````\n" },
		{ "a\n  $$ b", "```math\na\n  $$ b\n```\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct md_mime m[] = {
			{ "text/latex", cases[i].latex,
			  strlen(cases[i].latex) },
			MIME("text/plain", "<IPython.core.display.Math>"),
		};
		struct md_out o = { .kind = MD_OUT_RICH, .bundle = m,
				    .nbundle = 2 };

		md_shows(&o, cases[i].region);
	}
}

Test(rich, markdown_figure_caption_and_alt)
{
	static const struct md_mime fig[] = {
		{ "image/png", png, sizeof(png) - 1 },
		MIME("text/plain", "<Figure size 640x480>"),
	};
	static const struct md_out outs[] = { RICH(fig) };
	static const struct md_file files[] = {
		{ "figure-1.png", "image/png", png, sizeof(png) - 1,
		  "t_files/0123456789abcdef.png", NULL },
		{ "out/b.png", "image/png", "b", 1, "t_files/b.png", NULL },
		{ "data.csv", "text/csv", "a\n", 2, "t_files/c.csv", NULL },
	};
	static struct md_opt cap[] = { { "fig-cap", "Growth *by* year", 1, 1, false } };
	static struct md_opt both[] = { { "fig.cap", "Growth", 1, 1, false },
					{ "fig-alt", "A line [up]", 1, 1, false } };
	static struct md_opt alt[] = { { "fig.alt", "A line", 1, 1, false } };
	struct md_view_real r = { .outs = outs, .nouts = 1, .files = files,
				  .nfiles = 3 };
	const char *src = "```{python}\nplot()\n```\n";
	char *s;

	s = markdown(src, &r, NULL, 0);
	has(s, "<!-- mdrun:out -->\n"
	       "![figure-1.png](t_files/0123456789abcdef.png)\n"
	       "![out/b.png](t_files/b.png)\n[data.csv](t_files/c.csv)\n");
	free(s);
	/* The caption is the alt text and a line under every image. */
	s = markdown(src, &r, cap, 1);
	has(s, "<!-- mdrun:out -->\n"
	       "![Growth \\*by\\* year](t_files/0123456789abcdef.png)\\\n"
	       "*Growth \\*by\\* year*\n"
	       "![Growth \\*by\\* year](t_files/b.png)\\\n"
	       "*Growth \\*by\\* year*\n[data.csv](t_files/c.csv)\n");
	free(s);
	s = markdown(src, &r, both, 2);
	has(s, "<!-- mdrun:out -->\n"
	       "![A line \\[up\\]](t_files/0123456789abcdef.png)\\\n"
	       "*Growth*\n");
	free(s);
	s = markdown(src, &r, alt, 1);
	has(s, "<!-- mdrun:out -->\n"
	       "![A line](t_files/0123456789abcdef.png)\n![A line]");
	free(s);
}

/* The HTML page of one block showing outs (and files), with options. */
static char *
page(const struct md_out *outs, size_t n, const struct md_file *files,
     size_t nfiles, struct md_opt *opts, size_t nopts, unsigned flags)
{
	struct md_view_real r = { .outs = outs, .nouts = n, .files = files,
				  .nfiles = nfiles };

	return show(render_html, "```{python}\nx\n```\n", &r, opts, nopts,
		    flags);
}

Test(rich, html_shows_a_frame_table_sanitized)
{
	static const struct md_out outs[] = { RICH(frame) };
	char *html = page(outs, 1, NULL, 0, NULL, 0, 0);
	struct md_buf want = MD_BUF_INIT;

	md_buf_printf(&want, "<div class=\"rich\">\n%s\n</div>\n", frame_safe);
	has(html, want.ptr);
	lacks(html, "vertical-align");
	lacks(html, "<pre class=\"result\">");
	lacks(html, "<p>|");
	free(html);
	md_buf_dispose(&want);
	/* --unsafe-html: as it is. */
	html = page(outs, 1, NULL, 0, NULL, 0, MD_VIEW_UNSAFE_HTML);
	has(html, "<style scoped>");
	free(html);
}

Test(rich, html_prefers_images_html_markdown_svg_latex_text)
{
	static const struct md_mime img[] = {
		MIME("text/html", "<b>html</b>"),
		{ "image/png", png, sizeof(png) - 1 },
	};
	static const struct md_mime md[] = {
		MIME("image/svg+xml", "<svg onload=\"alert(1)\"/>"),
		MIME("text/markdown", "**md**"),
	};
	static const struct md_mime svg[] = {
		MIME("text/plain", "<svg>"),
		MIME("image/svg+xml", "<svg/>"),
		MIME("text/latex", "$x$"),
	};
	static const struct md_mime latex[] = {
		MIME("text/plain", "x**2"),
		MIME("text/latex", "$x^2 < 1$"),
	};
	static const struct md_mime scripts[] = {
		MIME("text/html", "<script>plot()</script>"),
		MIME("text/plain", "Figure()"),
	};
	static const struct md_out outs[] = {
		RICH(img), RICH(md), RICH(svg), RICH(latex), RICH(scripts),
	};
	char *html = page(outs, NOUTS(outs), NULL, 0, NULL, 0, 0);

	has(html, "<figure class=\"rich\"><img alt=\"\" "
		  "src=\"data:image/png;base64,iVBORw0KGgo=\"></figure>\n"
		  "<div class=\"asis\">\n<p><strong>md</strong></p>\n</div>\n"
		  "<figure class=\"rich\"><img alt=\"&lt;svg&gt;\" "
		  "src=\"data:image/svg+xml;base64,PHN2Zy8+\"></figure>\n"
		  "<pre class=\"latex\">$x^2 &lt; 1$</pre>\n"
		  "<pre class=\"result\">Figure()</pre>\n");
	lacks(html, "<b>html</b>");
	lacks(html, "<svg");
	free(html);
}

Test(rich, html_figure_caption_and_alt)
{
	static const struct md_mime fig[] = {
		{ "image/png", png, sizeof(png) - 1 },
		MIME("text/plain", "<Figure>"),
	};
	static const struct md_out outs[] = { RICH(fig) };
	static const struct md_file files[] = {
		{ "b.png", "image/png", "b", 1, "t_files/b.png", NULL },
	};
	static struct md_opt cap[] = { { "fig-cap", "Growth <b>", 1, 1, false } };
	static struct md_opt both[] = { { "fig.cap", "Growth", 1, 1, false },
					{ "fig.alt", "A \"line\"", 1, 1, false } };
	char *html = page(outs, 1, files, 1, NULL, 0, 0);

	has(html, "<figure class=\"rich\"><img alt=\"&lt;Figure&gt;\" src=\""
		  "data:image/png;base64,iVBORw0KGgo=\"></figure>\n");
	has(html, "<figure class=\"artifact\"><img alt=\"b.png\" src=\""
		  "data:image/png;base64,Yg==\"><figcaption>b.png"
		  "</figcaption></figure>\n");
	free(html);
	html = page(outs, 1, files, 1, cap, 1, 0);
	has(html, "<figure class=\"rich\"><img alt=\"Growth &lt;b&gt;\" "
		  "src=\"data:image/png;base64,iVBORw0KGgo=\"><figcaption>"
		  "Growth &lt;b&gt;</figcaption></figure>\n");
	has(html, "<figure class=\"artifact\"><img alt=\"Growth &lt;b&gt;\" "
		  "src=\"data:image/png;base64,Yg==\"><figcaption>"
		  "Growth &lt;b&gt;</figcaption></figure>\n");
	free(html);
	html = page(outs, 1, NULL, 0, both, 2, 0);
	has(html, "<img alt=\"A &quot;line&quot;\" src=\"data:image/png;"
		  "base64,iVBORw0KGgo=\"><figcaption>Growth</figcaption>");
	free(html);
}
