#include <criterion/criterion.h>
#include <string.h>

#include "../mdrun/doc.h"
#include "../util/err.h"

static struct md_doc *
parse(const char *src, unsigned flags)
{
	struct md_doc *doc = NULL;
	int rc = md_doc_parse(&doc, "t.md", src, strlen(src), flags);

	cr_assert_eq(rc, 0, "parse failed: %s", md_err_msg());
	return doc;
}

static void
parse_fails(const char *src, const char *msg)
{
	struct md_doc *doc = NULL;

	cr_assert_lt(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0,
		     "expected an error for: %s", src);
	cr_assert_null(doc);
	cr_assert_str_eq(md_err_msg(), msg);
}

Test(doc, block_spans_cover_fence_lines)
{
	const char *src = "# T\n\n```{sh}\necho hi\n```\nafter\n";
	struct md_doc *doc = parse(src, 0);
	struct md_block *b = &doc->blocks[0];

	cr_assert_eq(doc->nblocks, 1);
	cr_assert_eq(b->line, 3);
	cr_assert_eq(b->end_line, 5);
	cr_assert_eq(b->start, 5);
	cr_assert_eq(b->end, strlen("# T\n\n```{sh}\necho hi\n```\n"));
	cr_assert(b->closed);
	cr_assert(b->exec);
	cr_assert_str_eq(b->lang, "sh");
	cr_assert_str_eq(b->name, "sh-1");
	cr_assert_str_eq(b->code, "echo hi\n");
	cr_assert_str_eq(b->prefix, "");
	md_doc_free(doc);
}

Test(doc, plain_blocks_are_shown_not_run)
{
	struct md_doc *doc = parse("```sh\nls\n```\n\n    indented\n", 0);

	cr_assert_eq(doc->nblocks, 1);
	cr_assert_not(doc->blocks[0].exec);
	cr_assert_str_eq(doc->blocks[0].lang, "sh");
	md_doc_free(doc);
}

Test(doc, all_flag_makes_plain_blocks_executable)
{
	struct md_doc *doc = parse("```sh\nls\n```\n", MD_DOC_ALL);

	cr_assert(doc->blocks[0].exec);
	md_doc_free(doc);
}

Test(doc, info_string_styles)
{
	struct md_doc *doc = parse("```{sh name=setup}\n```\n"
				   "```{.python #fit}\n```\n"
				   "```{r fit2, echo=FALSE}\n```\n"
				   "```{sh label=\"q\", deps=a,b}\n```\n",
				   0);

	cr_assert_eq(doc->nblocks, 4);
	cr_assert_str_eq(doc->blocks[0].name, "setup");
	cr_assert_str_eq(doc->blocks[1].lang, "python");
	cr_assert_str_eq(doc->blocks[1].name, "fit");
	cr_assert_str_eq(doc->blocks[2].lang, "r");
	cr_assert_str_eq(doc->blocks[2].name, "fit2");
	cr_assert_str_eq(md_block_opt(&doc->blocks[2], "echo"), "FALSE");
	cr_assert_str_eq(doc->blocks[3].name, "q");
	cr_assert_str_eq(md_block_opt(&doc->blocks[3], "deps"), "a,b");
	md_doc_free(doc);
}

Test(doc, quoted_values_keep_escaped_quotes)
{
	struct md_doc *doc =
		parse("```{sh inputs=\"a \\\" b, c\" session=x}\n```\n", 0);

	cr_assert_str_eq(md_block_opt(&doc->blocks[0], "inputs"), "a \" b, c");
	cr_assert_str_eq(md_block_opt(&doc->blocks[0], "session"), "x");
	md_doc_free(doc);
}

Test(doc, eval_false_is_not_run)
{
	struct md_doc *doc = parse("```{sh eval=false}\nrm -rf /\n```\n", 0);

	cr_assert_not(doc->blocks[0].exec);
	md_doc_free(doc);
}

Test(doc, errors_name_file_line_column)
{
	parse_fails("text\n\n```{sh bogus=1}\n```\n",
		    "t.md:3:8: unknown option 'bogus'");
	parse_fails("```{sh name=\"x}\n```\n",
		    "t.md:1:13: unterminated quoted value");
	parse_fails("```{sh\n```\n",
		    "t.md:1:7: missing closing '}' in the info string");
	parse_fails("> ```{sh a b}\n",
		    "t.md:1:12: unexpected word 'b'");
	parse_fails("```{sh name=a}\n```\n```{sh name=a}\n```\n",
		    "t.md:3:1: block name 'a' is already used on line 1");
	parse_fails("```{}\n```\n",
		    "t.md:1:4: the info string names no language");
}

Test(doc, container_prefixes)
{
	struct md_doc *doc = parse("> ```{sh}\n> ls\n> ```\n\n"
				   "- item\n\n  ```{sh}\n  ls\n  ```\n\n"
				   "10. > ```{sh}\n    > ls\n    > ```\n",
				   0);

	cr_assert_eq(doc->nblocks, 3);
	cr_assert_str_eq(doc->blocks[0].prefix, "> ");
	cr_assert_str_eq(doc->blocks[0].code, "ls\n");
	cr_assert_str_eq(doc->blocks[1].prefix, "  ");
	cr_assert_str_eq(doc->blocks[2].prefix, "    > ");
	md_doc_free(doc);
}

Test(doc, output_region_is_found_and_its_blocks_skipped)
{
	const char *src = "```{sh}\nls\n```\n"
			  "<!-- mdrun:out -->\n```output\nx\n```\n"
			  "<!-- /mdrun:out -->\ntail\n";
	struct md_doc *doc = parse(src, MD_DOC_ALL);
	struct md_block *b = &doc->blocks[0];

	cr_assert_eq(doc->nblocks, 1, "the output block is not a block");
	cr_assert(b->has_out);
	cr_assert_eq(b->out_start, strlen("```{sh}\nls\n```\n"));
	cr_assert_eq(b->out_end, strlen(src) - strlen("tail\n"));
	md_doc_free(doc);
}

Test(doc, region_without_end_marker_is_left_alone)
{
	struct md_doc *doc =
		parse("```{sh}\nls\n```\n<!-- mdrun:out -->\ntext\n", 0);

	cr_assert_not(doc->blocks[0].has_out);
	md_doc_free(doc);
}

Test(doc, unclosed_fence_runs_to_end)
{
	const char *src = "x\n\n```{sh}\necho a\n```` not a close\n";
	struct md_doc *doc = parse(src, 0);

	cr_assert_not(doc->blocks[0].closed);
	cr_assert_eq(doc->blocks[0].end, strlen(src));
	md_doc_free(doc);
}

Test(doc, crlf_documents)
{
	struct md_doc *doc = parse("```{sh}\r\necho a\r\n```\r\nz\r\n", 0);

	cr_assert_str_eq(doc->eol, "\r\n");
	cr_assert_str_eq(doc->blocks[0].code, "echo a\n");
	cr_assert_eq(doc->blocks[0].end, strlen("```{sh}\r\necho a\r\n```\r\n"));
	md_doc_free(doc);
}

Test(doc, default_names_count_per_language)
{
	struct md_doc *doc = parse("```{sh}\n```\n```{python}\n```\n"
				   "```{sh}\n```\n",
				   0);

	cr_assert_str_eq(doc->blocks[0].name, "sh-1");
	cr_assert_str_eq(doc->blocks[1].name, "python-1");
	cr_assert_str_eq(doc->blocks[2].name, "sh-2");
	md_doc_free(doc);
}
