#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/doc/doc.h"
#include "../renderer/escape.h"
#include "../renderer/render.h"
#include "../util/err.h"

/*
 * The view of doc in which every executable block shows real (its status
 * from real's exit). Caller frees the blocks.
 */
static struct md_view_block *
shows(const struct md_doc *doc, const struct md_view_real *real, size_t n)
{
	struct md_view_block *v = calloc(doc->nblocks + 1, sizeof(*v));

	for (size_t i = 0; i < doc->nblocks; i++) {
		v[i].block = &doc->blocks[i];
		v[i].key = "";
		if (!doc->blocks[i].exec)
			continue;
		v[i].status = md_exit_failed(&real->exit) ? MD_STATUS_FAILED
							  : MD_STATUS_OK;
		v[i].reals = real;
		v[i].nreals = n;
	}
	return v;
}

/* Renders src (Markdown) with every executable block showing real. */
static char *
render_view(const char *src, const struct md_view_real *real, size_t n,
	    unsigned flags)
{
	struct md_doc *doc = NULL;
	struct md_view v = { 0 };
	struct md_buf buf = MD_BUF_INIT;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0, "%s",
		     md_err_msg());
	v.doc = doc;
	v.path = "t.md";
	v.blocks = shows(doc, real, n);
	v.flags = flags;
	render_markdown(&buf, &v);
	free((void *)v.blocks);
	md_doc_free(doc);
	return md_buf_detach(&buf);
}

/* Renders src giving every executable block the output `out`. */
static char *
render_flags(const char *src, const char *out, const char *err,
	     int exit_code, unsigned flags)
{
	struct md_out outs[] = {
		{ .kind = MD_OUT_STREAM, .stream = MD_STDOUT, .text = out,
		  .len = strlen(out) },
		{ .kind = MD_OUT_STREAM, .stream = MD_STDERR, .text = err,
		  .len = strlen(err) },
	};
	struct md_view_real r = { .outs = outs, .nouts = 2 };

	r.exit.code = exit_code;
	return render_view(src, &r, 1, flags);
}

static char *
render(const char *src, const char *out, const char *err, int exit_code)
{
	return render_flags(src, out, err, exit_code, 0);
}

/* render(render(src)) == render(src), and returns render(src). */
static char *
render_stable(const char *src, const char *out, const char *err, int code)
{
	char *once = render(src, out, err, code);
	char *twice = render(once, out, err, code);

	cr_assert_str_eq(twice, once, "not idempotent:\n%s\n---\n%s", once,
			 twice);
	free(twice);
	return once;
}

Test(render, splices_output_after_the_block)
{
	char *s = render_stable("# T\n\n```{sh}\necho hi\n```\n\nafter\n",
				"hi\n", "", 0);

	cr_assert_str_eq(s, "# T\n\n```{sh}\necho hi\n```\n"
			    "<!-- mdrun:out -->\n```output\nhi\n```\n"
			    "<!-- /mdrun:out -->\n\nafter\n");
	free(s);
}

Test(render, new_output_replaces_the_old_region)
{
	char *once = render("```{sh}\ndate\n```\nz\n", "monday\n", "", 0);
	char *again = render(once, "tuesday\n", "", 0);

	cr_assert_str_eq(again, "```{sh}\ndate\n```\n<!-- mdrun:out -->\n"
				"```output\ntuesday\n```\n"
				"<!-- /mdrun:out -->\nz\n");
	free(once);
	free(again);
}

Test(render, stderr_and_status_are_distinct)
{
	char *s = render_stable("```{sh}\nx\n```\n", "", "boom\n", 2);

	cr_assert_str_eq(s, "```{sh}\nx\n```\n<!-- mdrun:out -->\n"
			    "```stderr\nboom\n```\n*exit status 2*\n"
			    "<!-- /mdrun:out -->\n");
	free(s);
}

Test(render, empty_output_adds_nothing_and_removes_stale_output)
{
	const char *src = "```{sh}\ntrue\n```\ntext\n";
	char *s = render_stable(src, "", "", 0);
	char *with = render(src, "old\n", "", 0);
	char *cleared = render(with, "", "", 0);

	cr_assert_str_eq(s, src);
	cr_assert_str_eq(cleared, src);
	free(s);
	free(with);
	free(cleared);
}

Test(render, prose_only_document_is_unchanged)
{
	const char *src = "---\ntitle: x\n---\n# Head\r\n\n| a | b |\n|---|---|\n"
			  "| 1 | 2 |\n\n```sh\nshown only\n```\n\n    code\n"
			  "<div>html</div>\n\tno final newline";
	char *s = render(src, "never", "", 0);

	cr_assert_str_eq(s, src);
	free(s);
}

Test(render, backticks_in_output_get_a_longer_fence)
{
	char *s = render_stable("```{sh}\nx\n```\n", "a ```` b\n```\n", "", 0);

	cr_assert(strstr(s, "\n`````output\na ```` b\n```\n`````\n") != NULL,
		  "%s", s);
	free(s);
}

Test(render, quote_and_list_prefixes)
{
	char *q = render_stable("> ```{sh}\n> x\n> ```\n", "a\n\nb\n", "", 0);
	char *l = render_stable("- item\n  ```{sh}\n  x\n  ```\n- next\n",
				"a\n", "", 0);

	cr_assert_str_eq(q, "> ```{sh}\n> x\n> ```\n> <!-- mdrun:out -->\n"
			    "> ```output\n> a\n>\n> b\n> ```\n"
			    "> <!-- /mdrun:out -->\n");
	cr_assert_str_eq(l, "- item\n  ```{sh}\n  x\n  ```\n"
			    "  <!-- mdrun:out -->\n  ```output\n  a\n  ```\n"
			    "  <!-- /mdrun:out -->\n- next\n");
	free(q);
	free(l);
}

Test(render, crlf_documents_get_crlf_output)
{
	char *s = render_stable("```{sh}\r\nx\r\n```\r\n", "a\nb\n", "", 0);

	cr_assert_str_eq(s, "```{sh}\r\nx\r\n```\r\n<!-- mdrun:out -->\r\n"
			    "```output\r\na\r\nb\r\n```\r\n"
			    "<!-- /mdrun:out -->\r\n");
	free(s);
}

Test(render, no_final_newline_stays_so)
{
	char *s = render_stable("```{sh}\nx\n```", "a\n", "", 0);

	cr_assert_str_eq(s, "```{sh}\nx\n```\n<!-- mdrun:out -->\n"
			    "```output\na\n```\n<!-- /mdrun:out -->");
	free(s);
}

Test(render, unclosed_fence_is_closed_before_the_output)
{
	char *s = render_stable("text\n\n```{sh}\nx\n", "a\n", "", 0);

	cr_assert_str_eq(s, "text\n\n```{sh}\nx\n```\n<!-- mdrun:out -->\n"
			    "```output\na\n```\n<!-- /mdrun:out -->\n");
	free(s);
}

Test(render, output_without_final_newline)
{
	char *s = render_stable("```{sh}\nx\n```\n", "no newline", "", 0);

	cr_assert(strstr(s, "```output\nno newline\n```\n") != NULL, "%s", s);
	free(s);
}

Test(text, control_bytes_and_bad_utf8_are_made_visible)
{
	struct md_buf b = MD_BUF_INIT;

	render_text_clean(&b, "a\0b\x1b[31mred\x1b[0m\xff\tz\r\nw\x07", 22);
	cr_assert_str_eq(b.ptr, "a\xe2\x90\x80" "bred\xef\xbf\xbd\tz\nw"
				"\xe2\x90\x87");
	md_buf_dispose(&b);
}

Test(text, valid_utf8_passes_through)
{
	struct md_buf b = MD_BUF_INIT;
	const char *s = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";

	render_text_clean(&b, s, strlen(s));
	cr_assert_str_eq(b.ptr, s);
	md_buf_dispose(&b);
}

Test(text, overlong_and_surrogates_are_replaced)
{
	struct md_buf b = MD_BUF_INIT;

	render_text_clean(&b, "\xc0\xaf|\xed\xa0\x80", 6);
	cr_assert_str_eq(b.ptr, "\xef\xbf\xbd\xef\xbf\xbd|"
				"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	md_buf_dispose(&b);
}

Test(text, c1_controls_are_replaced)
{
	struct md_buf b = MD_BUF_INIT;

	/* U+009B (an 8-bit CSI) and U+0085; U+00A0 is text. */
	render_text_clean(&b, "a\xc2\x9b" "31mb\xc2\x85\xc2\xa0", 11);
	cr_assert_str_eq(b.ptr, "a\xef\xbf\xbd" "31mb\xef\xbf\xbd\xc2\xa0");
	md_buf_dispose(&b);
}

/* render_text_clean of s, as a string the caller frees. */
static char *
clean(const char *s)
{
	struct md_buf b = MD_BUF_INIT;

	render_text_clean(&b, s, strlen(s));
	return md_buf_detach(&b);
}

#define cr_assert_clean(in, want)                                         \
	do {                                                              \
		char *got_ = clean(in);                                   \
		cr_assert_str_eq(got_, want, "clean(\"%s\")", #in);      \
		free(got_);                                               \
	} while (0)

Test(text, a_progress_bar_ends_as_its_final_state)
{
	cr_assert_clean("\r 10%\r 50%\r100%\n", "100%\n");
	cr_assert_clean("start\n\r 10%\r 50%\r100%\ndone\n",
			"start\n100%\ndone\n");
	/* tqdm: each state padded with blanks over the longer last one. */
	cr_assert_clean("\r 9/10 [00:09<00:01]\r10/10 [00:10<00:00]   \n",
			"10/10 [00:10<00:00]\n");
}

Test(text, a_carriage_return_overwrites_without_erasing)
{
	cr_assert_clean("hello\rhi", "hillo");
	cr_assert_clean("hello\rhi\n", "hillo\n");
	/* One cell per UTF-8 character, whatever its length in bytes. */
	cr_assert_clean("\xc3\xa9t\xc3\xa9\rab", "ab\xc3\xa9");
	cr_assert_clean("ab\r\xe2\x82\xac", "\xe2\x82\xac" "b");
	cr_assert_clean("a\x01" "c\rxy", "xyc");
}

Test(text, crlf_ends_a_line_and_keeps_its_blanks)
{
	cr_assert_clean("a  \r\nb\r\n", "a  \nb\n");
	cr_assert_clean("ab\r\r\nc", "ab\nc");
	cr_assert_clean("plain  \n", "plain  \n");
}

Test(text, a_carriage_return_at_the_end_keeps_the_line)
{
	cr_assert_clean("50%\r", "50%");
	cr_assert_clean("a\n50%\r", "a\n50%");
	cr_assert_clean("\r", "");
}

Test(text, backspace_moves_back_one_character)
{
	cr_assert_clean("abc\bd", "abd");
	cr_assert_clean("abc\b", "abc");
	cr_assert_clean("abc\b\b\bxy\n", "xyc\n");
	/* Not past column 0, nor into the line before. */
	cr_assert_clean("a\n\b\bb", "a\nb");
	cr_assert_clean("x\xc3\xa9\b" "e", "xe");
	cr_assert_clean("\xf0\x9f\x98\x80\bok", "ok");
	/* The usual rubout: back, blank, back. */
	cr_assert_clean("ab\b \b", "a");
}

Test(text, erase_in_line_blanks_cells_and_keeps_the_cursor)
{
	cr_assert_clean("hello\r\x1b[Khi", "hi");
	cr_assert_clean("hello\r\x1b[0Khi", "hi");
	cr_assert_clean("hello\r\x1b[2Khi\n", "hi\n");
	/* The cursor stays: the erased cells before it are blanks. */
	cr_assert_clean("hello\x1b[2Khi", "     hi");
	cr_assert_clean("hello\b\b\x1b[1Kx", "   xo");
	cr_assert_clean("hello\x1b[2K\rhi", "hi");
	cr_assert_clean("hello\x1b[2K", "");
	/* pip and rich: erase, then the new state. */
	cr_assert_clean("\x1b[2K\r 10%\x1b[2K\r100%\n", "100%\n");
	/* Other sequences are dropped, their text stays. */
	cr_assert_clean("hello\x1b[3K\x1b[?2K\x1b[1;2K!", "hello!");
	cr_assert_clean("ab\x1b[31m\rc\x1b[0m", "cb");
}

Test(text, only_a_rewritten_line_loses_its_trailing_blanks)
{
	cr_assert_clean("keep  \nx\rtrim   \nkeep \n",
			"keep  \ntrim\nkeep \n");
	cr_assert_clean("a\t  \b", "a\t");
	cr_assert_clean("   \r", "");
}

Test(text, control_pictures_and_bad_bytes_are_cells)
{
	cr_assert_clean("\x07\xff\rab", "ab");
	cr_assert_clean("\x07\xffz\r\xc2\x85", "\xef\xbf\xbd\xef\xbf\xbdz");
	cr_assert_clean("a\xff\bb", "ab");
}

Test(text, plain_text_shows_every_character)
{
	struct md_buf b = MD_BUF_INIT;
	const char *s = "a\rb\bc\x1b[2Kd\r\ne";

	render_text_plain(&b, s, strlen(s));
	cr_assert_str_eq(b.ptr, "a\nb\xe2\x90\x88" "cd\ne");
	md_buf_dispose(&b);
}

/*
 * Two million rewrites of a 2 MB line (its last and its first cell in
 * turn) leave the line as the last rewrite left it. Done cell by cell
 * over the whole line, this would not end within the test's time limit;
 * the time itself is not measured here (make bench times renders).
 */
Test(text, many_carriage_returns_on_a_long_line)
{
	struct md_buf line = MD_BUF_INIT, bar = MD_BUF_INIT, out = MD_BUF_INIT;
	size_t n = 2 * 1024 * 1024, i;
	const char *last = NULL;

	for (i = 0; i < n; i++)
		md_buf_putc(&line, (char)('a' + i % 26));
	md_buf_put(&bar, line.ptr, n);
	for (i = 0; bar.len < 2 * n; i++)
		md_buf_puts(&bar, last = i % 2 ? "\ry" : "\b\xc3\xa9");
	render_text_clean(&out, bar.ptr, bar.len);
	/* The first cell is the last rewrite's; the last cell is an e-acute. */
	size_t head = last[0] == '\r' ? 1 : 2;
	cr_assert_eq(out.len, head + (n - 2) + 2);
	cr_assert_eq(memcmp(out.ptr, last + 1, head), 0);
	cr_assert_eq(memcmp(out.ptr + head, line.ptr + 1, n - 2), 0);
	cr_assert_eq(memcmp(out.ptr + head + n - 2, "\xc3\xa9", 2), 0);
	md_buf_dispose(&line);
	md_buf_dispose(&bar);
	md_buf_dispose(&out);
}

Test(render, a_progress_bar_region_round_trips)
{
	char *s = render_stable("```{python}\nbar()\n```\n",
				"\r 10%\r 50%\r100%\n", "\rx\b\x1b[Ky\n", 0);

	cr_assert_str_eq(s, "```{python}\nbar()\n```\n<!-- mdrun:out -->\n"
			    "```output\n100%\n```\n```stderr\ny\n```\n"
			    "<!-- /mdrun:out -->\n");
	free(s);
}

Test(render, echo_false_drops_the_code_unless_kept)
{
	const char *src = "a\n\n```{sh echo=false}\nx\n```\nb\n";
	char *dropped = render(src, "out\n", "", 0);
	char *kept = render_flags(src, "out\n", "", 0, MD_VIEW_KEEP_CODE);
	char *again = render(dropped, "out\n", "", 0);

	cr_assert_str_eq(dropped, "a\n\n<!-- mdrun:out -->\n```output\nout\n"
				  "```\n<!-- /mdrun:out -->\nb\n");
	cr_assert_str_eq(kept, "a\n\n```{sh echo=false}\nx\n```\n"
			       "<!-- mdrun:out -->\n```output\nout\n```\n"
			       "<!-- /mdrun:out -->\nb\n");
	cr_assert_str_eq(again, dropped);
	free(dropped);
	free(kept);
	free(again);
}

Test(render, an_inline_value_ending_in_a_backslash_round_trips)
{
	/* The value's "\" is written "\\": it escapes no end marker. */
	const char *src = "`{sh} e`\n";
	char *once = render_flags(src, "\\", "", 0, MD_VIEW_KEEP_CODE);
	char *twice = render_flags(once, "\\", "", 0, MD_VIEW_KEEP_CODE);

	cr_assert_str_eq(once, "`{sh} e`<!-- mdrun:value -->\\\\"
			       "<!-- /mdrun:value -->\n");
	cr_assert_str_eq(twice, once);
	free(once);
	free(twice);
}

Test(render, echo_false_in_a_list_item_keeps_the_marker)
{
	char *s = render("- ```{sh echo=false}\n  x\n  ```\n- b\n", "o\n", "",
			 0);

	cr_assert_str_eq(s, "- <!-- mdrun:out -->\n  ```output\n  o\n  ```\n"
			    "  <!-- /mdrun:out -->\n- b\n");
	free(s);
}

Test(render, output_asis_inserts_markdown)
{
	char *s = render_stable("```{sh output=asis}\nx\n```\n",
				"**bold**\n\n| a |\n|---|\n", "", 0);

	cr_assert_str_eq(s, "```{sh output=asis}\nx\n```\n<!-- mdrun:out -->\n"
			    "**bold**\n\n| a |\n|---|\n<!-- /mdrun:out -->\n");
	free(s);
}

Test(render, output_false_shows_nothing_and_clears_old_output)
{
	const char *src = "```{sh}\nx\n```\n";
	char *with = render(src, "old\n", "", 0);
	struct md_buf hidden = MD_BUF_INIT;
	char *s;

	/* The same document, now with output=false, rendered again. */
	md_buf_puts(&hidden, "```{sh output=false}");
	md_buf_puts(&hidden, with + strlen("```{sh}"));
	s = render(hidden.ptr, "new\n", "", 0);
	cr_assert_str_eq(s, "```{sh output=false}\nx\n```\n");
	free(with);
	free(s);
	md_buf_dispose(&hidden);
}

Test(render, blocks_not_run_keep_their_old_region)
{
	const char *src = "```{sh eval=false}\nx\n```\n<!-- mdrun:out -->\n"
			  "```output\nkept\n```\n<!-- /mdrun:out -->\n";
	char *s = render(src, "new\n", "", 0);

	cr_assert_str_eq(s, src);
	free(s);
}

Test(render, several_realizations_are_labelled)
{
	struct md_out one = { .kind = MD_OUT_STREAM, .stream = MD_STDOUT,
			      .text = "1\n", .len = 2 };
	struct md_out two = one;
	struct md_view_real r[2] = {
		{ .rhash = "0123456789abcdef", .outs = &one, .nouts = 1 },
		{ .rhash = "fedcba9876543210", .outs = &two, .nouts = 1 },
	};
	char *s;

	two.text = "2\n";
	s = render_view("```{sh match=all}\nx\n```\n", r, 2, 0);
	cr_assert_str_eq(s, "```{sh match=all}\nx\n```\n<!-- mdrun:out -->\n"
			    "*realization 1 of 2 (0123456789ab)*\n"
			    "```output\n1\n```\n"
			    "*realization 2 of 2 (fedcba987654)*\n"
			    "```output\n2\n```\n<!-- /mdrun:out -->\n");
	free(s);
}

/* Regressions found by fuzz_render (its seeds hold the same documents). */

Test(render, a_fence_indented_1_to_3_spaces_keeps_one_region)
{
	char *s = render_stable("  ```{sh}\n  echo hi\n  ```\n\nafter\n", "hi\n",
				"", 0);

	cr_assert(strstr(s, "mdrun:out") != NULL, "%s", s);
	cr_assert(strstr(strstr(s, "mdrun:out") + 1, "<!-- mdrun:out") == NULL,
		  "one region only:\n%s", s);
	free(s);
}

Test(render, a_byte_order_mark_is_not_counted_twice)
{
	char *s = render_stable("\xef\xbb\xbf```{sh}\necho hi\n```\n", "hi\n",
				"", 0);

	/* Not indented (4 spaces would make the region indented code). */
	cr_assert(strstr(s, "\n<!-- mdrun:out -->\n") != NULL, "%s", s);
	free(s);
}

Test(render, an_unclosed_fence_in_a_quote_ends_with_the_quote)
{
	const char *src = "> ```{sh}\n> echo a\n\nafter\n\n```{sh}\necho b\n```\n";
	struct md_doc *doc = NULL;
	char *s;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(doc->nblocks, 2, "the second block is its own");
	cr_assert_str_eq(doc->blocks[0].code, "echo a\n");
	md_doc_free(doc);
	s = render_stable(src, "x\n", "", 0);
	cr_assert(strstr(s, "\nafter\n") != NULL, "the prose stays:\n%s", s);
	free(s);
}

Test(render, a_stray_region_start_does_not_swallow_blocks)
{
	const char *src = "```{sh}\n```\n<!-- mdrun:out -->\n\n```{sh}\necho b\n"
			  "```\n<!-- mdrun:out -->\n```output\nb\n```\n"
			  "<!-- /mdrun:out -->\n";
	struct md_doc *doc = NULL;
	char *s;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(doc->nblocks, 2);
	md_doc_free(doc);
	s = render_stable(src, "b\n", "", 0);
	cr_assert(strstr(s, "echo b") != NULL, "the second block stays:\n%s", s);
	free(s);
}

Test(render, a_rule_and_an_output_rule_are_not_front_matter)
{
	char *s = render_stable("---\n\n```{sh}\necho ---\n```\n", "---\n", "",
				0);
	struct md_doc *doc = NULL;

	cr_assert_eq(md_doc_parse(&doc, "t.md", s, strlen(s), 0), 0);
	cr_assert_eq(doc->nblocks, 1, "the block is still found:\n%s", s);
	md_doc_free(doc);
	free(s);
}

/* --- the view: statuses, notes, ordered outputs ------------------- */

#define OUT(t) { .kind = MD_OUT_STREAM, .stream = MD_STDOUT, .text = (t), \
		 .len = sizeof(t) - 1 }
#define ERR(t) { .kind = MD_OUT_STREAM, .stream = MD_STDERR, .text = (t), \
		 .len = sizeof(t) - 1 }
#define NOUTS(a) sizeof(a) / sizeof(*(a))

/* The region the view gives "```{sh}\nx\n```\n", markers and all. */
static char *
region_of(const struct md_view_real *r)
{
	char *s = render_view("```{sh}\nx\n```\n", r, 1, 0);
	char *text = strdup(s + strlen("```{sh}\nx\n```\n"));

	free(s);
	return text;
}

Test(render, a_block_not_run_shows_why)
{
	static const struct {
		enum md_status status;
		enum md_skip why;
		const char *note;
	} cases[] = {
		{ MD_STATUS_NOT_RUN, MD_SKIP_FAILED,
		  "*not run: an earlier block failed*" },
		{ MD_STATUS_SKIPPED, MD_SKIP_UPSTREAM,
		  "*not run: upstream failed*" },
		{ MD_STATUS_NOT_RUN, MD_SKIP_STOPPED,
		  "*not run: mdrun stopped*" },
	};
	const char *src = "```{sh output=false}\nx\n```\n";

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct md_doc *doc = NULL;
		struct md_view_block b = { 0 };
		struct md_view v = { 0 };
		struct md_buf buf = MD_BUF_INIT, want = MD_BUF_INIT;

		cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0),
			     0);
		cr_assert_eq(md_skip_status(cases[i].why), cases[i].status);
		b.block = &doc->blocks[0];
		b.status = cases[i].status;
		b.skip = cases[i].why;
		b.key = "";
		v.doc = doc;
		v.blocks = &b;
		render_markdown(&buf, &v);
		/* Shown even with output=false. */
		md_buf_printf(&want, "%s<!-- mdrun:out -->\n%s\n"
				     "<!-- /mdrun:out -->\n", src,
			      cases[i].note);
		cr_assert_str_eq(buf.ptr, want.ptr);
		md_buf_dispose(&buf);
		md_buf_dispose(&want);
		md_doc_free(doc);
	}
	cr_assert_eq(md_skip_status(MD_SKIP_NONE), MD_STATUS_NONE);
}

Test(render, outputs_in_their_order_chunks_of_a_stream_merged)
{
	static const struct md_out outs[] = {
		OUT("a"), ERR(""), OUT("b\n"), ERR("warn\n"), ERR("ing\n"),
		OUT("c\n"),
	};
	struct md_view_real r = { .outs = outs, .nouts = NOUTS(outs) };
	char *s = region_of(&r);

	cr_assert_str_eq(s, "<!-- mdrun:out -->\n```output\nab\n```\n"
			    "```stderr\nwarn\ning\n```\n```output\nc\n```\n"
			    "<!-- /mdrun:out -->\n");
	free(s);
}

Test(render, failures_are_described_by_the_exit_record)
{
	static const struct {
		struct md_exit e;
		const char *line;
	} cases[] = {
		{ { .code = 3 }, "*exit status 3*" },
		{ { .signal = 9 }, "*killed by signal 9*" },
		{ { .signal = 9, .timed_out = true }, "*timed out*" },
		{ { .code = 1, .interrupted = true }, "*interrupted*" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct md_view_real r = { .exit = cases[i].e };
		struct md_buf want = MD_BUF_INIT;
		char *s = region_of(&r);

		md_buf_printf(&want, "<!-- mdrun:out -->\n%s\n"
				     "<!-- /mdrun:out -->\n", cases[i].line);
		cr_assert_str_eq(s, want.ptr);
		md_buf_dispose(&want);
		free(s);
	}
}

static const char png[] = "\x89PNG\r\n\x1a\n";

Test(render, rich_values_show_what_markdown_can)
{
	static const struct md_mime md[] = {
		{ "text/html", "<b>x</b>", 8 },
		{ "text/markdown", "**bold**\n", 9 },
		{ "text/plain", "bold", 4 },
	};
	static const struct md_mime shown[] = {
		{ "image/png", png, sizeof(png) - 1 },
		{ "text/plain", "<Figure>", 8 },
	};
	static const struct md_mime unlinked[] = {
		{ "image/svg+xml", "<svg/>", 6 },
		{ "text/plain", "<svg> ```", 9 },
	};
	static const struct md_mime none[] = {
		{ "application/json", "{}", 2 },
	};
	static const struct md_out outs[] = {
		{ .kind = MD_OUT_RICH, .bundle = md, .nbundle = 3 },
		{ .kind = MD_OUT_RICH, .bundle = shown, .nbundle = 2 },
		{ .kind = MD_OUT_RICH, .bundle = unlinked, .nbundle = 2,
		  .result = true },
		{ .kind = MD_OUT_RICH, .bundle = none, .nbundle = 1 },
		{ .kind = MD_OUT_ERROR, .text = "Trace\nError: x\n",
		  .len = 15 },
	};
	static const struct md_file files[] = {
		{ "plot_1.png", "image/png", png, sizeof(png) - 1,
		  "t_files/0123456789abcdef.png", NULL },
		{ "other.png", "image/png", "other", 5,
		  "t_files/fedcba9876543210.png", NULL },
	};
	struct md_view_real r = { .outs = outs, .nouts = NOUTS(outs),
				  .files = files, .nfiles = 2 };
	char *s = region_of(&r);

	/*
	 * The plot's file is shown where the plot was, once; the svg has
	 * no file, so its text; JSON alone shows nothing.
	 */
	cr_assert_str_eq(s, "<!-- mdrun:out -->\n**bold**\n"
			    "![plot\\_1.png](t_files/0123456789abcdef.png)\n"
			    "````output\n<svg> ```\n````\n"
			    "```error\nTrace\nError: x\n```\n"
			    "![other.png](t_files/fedcba9876543210.png)\n"
			    "<!-- /mdrun:out -->\n");
	free(s);
}

Test(render, a_rich_region_round_trips)
{
	static const struct md_mime plain[] = { { "text/plain", "42", 2 } };
	static const struct md_out outs[] = {
		OUT("x\n"),
		{ .kind = MD_OUT_RICH, .bundle = plain, .nbundle = 1 },
	};
	struct md_view_real r = { .outs = outs, .nouts = NOUTS(outs) };
	char *once = render_view("- ```{python}\n  f()\n  ```\n", &r, 1, 0);
	char *twice = render_view(once, &r, 1, 0);

	cr_assert_str_eq(once, "- ```{python}\n  f()\n  ```\n"
			       "  <!-- mdrun:out -->\n  ```output\n  x\n  ```\n"
			       "  ```output\n  42\n  ```\n"
			       "  <!-- /mdrun:out -->\n");
	cr_assert_str_eq(twice, once);
	free(once);
	free(twice);
}

Test(render, nothing_to_show_is_no_region)
{
	static const struct md_mime html[] = { { "text/html", "<i>", 3 } };
	static const struct md_out outs[] = {
		OUT(""), ERR(""),
		{ .kind = MD_OUT_RICH, .bundle = html, .nbundle = 1 },
	};
	struct md_view_real r = { .outs = outs, .nouts = NOUTS(outs) };
	char *s = render_view("```{sh}\nx\n```\n", &r, 1, 0);

	cr_assert_str_eq(s, "```{sh}\nx\n```\n");
	free(s);
}

Test(render, spans_cover_each_block_and_its_region)
{
	const char *src = "a\n\n```{sh}\nx\n```\n\nb\n\n```{sh}\ny\n```\n";
	static const struct md_out outs[] = { OUT("o\n") };
	struct md_view_real r = { .outs = outs, .nouts = 1 };
	size_t spans[2][2] = { { 0, 0 }, { 0, 0 } };
	struct md_doc *doc = NULL;
	struct md_view v = { 0 };
	struct md_buf buf = MD_BUF_INIT;
	const char *region = "<!-- mdrun:out -->\n```output\no\n```\n"
			     "<!-- /mdrun:out -->\n";

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	v.doc = doc;
	v.blocks = shows(doc, &r, 1);
	v.spans = spans;
	render_markdown(&buf, &v);
	cr_assert_eq(spans[0][0], 3);
	cr_assert_eq(spans[0][1], 3 + strlen("```{sh}\nx\n```\n") +
					  strlen(region));
	cr_assert_eq(memcmp(buf.ptr + spans[1][0], "```{sh}\ny", 9), 0);
	cr_assert_eq(spans[1][1], buf.len);
	free((void *)v.blocks);
	md_buf_dispose(&buf);
	md_doc_free(doc);
}

Test(format, by_name_and_by_extension)
{
	cr_assert_eq(render_format_named("markdown")->render,
		     render_markdown);
	cr_assert_eq(render_format_named("md"),
		     render_format_named("markdown"));
	cr_assert_eq(render_format_named("html")->render, render_html);
	cr_assert_eq(render_format_named("json")->render, render_json);
	cr_assert_eq(render_format_named("ipynb")->render, render_ipynb);
	cr_assert_null(render_format_named("pdf"));
	cr_assert_null(render_format_named("HTML"));
	cr_assert_null(render_format_named(NULL));

	cr_assert_str_eq(render_format_for_path("out/doc.md")->name,
			 "markdown");
	cr_assert_str_eq(render_format_for_path("doc.HTML")->name, "html");
	cr_assert_str_eq(render_format_for_path("doc.htm")->name, "html");
	cr_assert_str_eq(render_format_for_path("a.b/doc.json")->name,
			 "json");
	cr_assert_str_eq(render_format_for_path("doc.ipynb")->ext, "ipynb");
	cr_assert_null(render_format_for_path("doc.txt"));
	cr_assert_null(render_format_for_path("dir.md/doc"));
	cr_assert_null(render_format_for_path("doc"));
}

/* Program output in HTML: ANSI colours as classes, nothing else kept. */
static char *
html_output(const char *s)
{
	struct md_buf b = MD_BUF_INIT;

	render_html_output(&b, s, strlen(s));
	return md_buf_detach(&b);
}

Test(render, ansi_colours_become_classes_in_html)
{
	char *h = html_output("ok \x1b[1;31mFAIL\x1b[0m <x>\n"
			      "\x1b[38;5;2mgreen\x1b[39m \x1b[4mu\x1b[24m\n");

	cr_assert_str_eq(h, "ok <span class=\"ansi ansi-fg-1 ansi-bold\">"
			    "FAIL</span> &lt;x&gt;\n"
			    "<span class=\"ansi ansi-fg-2\">green</span> "
			    "<span class=\"ansi ansi-underline\">u</span>\n");
	free(h);
}

Test(render, colours_a_terminal_would_overwrite_are_dropped)
{
	/* A progress line rewritten with CR: cleaned, its colours gone. */
	char *h = html_output("\x1b[32m10%\r\x1b[32m100%\x1b[0m\n");

	cr_assert_str_eq(h, "100%\n");
	free(h);
	/* A sequence cut short, or one that is not SGR: no span. */
	h = html_output("a\x1b[31\x1b[2Jb\x1b[");
	cr_assert_eq(strstr(h, "<span"), NULL, "%s", h);
	free(h);
}
