#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../mdrun/doc/doc.h"
#include "../util/buf.h"
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

Test(doc, quarto_option_lines_are_options_not_code)
{
	struct md_doc *doc = parse("```{python}\n#| label: fit\n"
				   "#| echo: false\n#| output: \"asis\"\n"
				   "print(1)\n#| not an option any more\n```\n",
				   0);
	struct md_block *b = &doc->blocks[0];

	cr_assert_str_eq(b->name, "fit");
	cr_assert_not(b->echo);
	cr_assert_eq(b->output, MD_OUTPUT_ASIS);
	cr_assert_str_eq(b->code, "print(1)\n#| not an option any more\n");
	cr_assert_eq(b->code_line, 5);
	md_doc_free(doc);
}

Test(doc, code_line_is_the_document_line_of_the_code)
{
	struct md_doc *doc = parse("# T\r\n\r\n> ```{sh}\r\n> echo\r\n> ```\r\n"
				   "\r\n```{sh}\r\n```\r\n",
				   0);

	cr_assert_eq(doc->nblocks, 2);
	cr_assert_eq(doc->blocks[0].code_line, 4);
	cr_assert_eq(doc->blocks[1].code_line, 8);
	cr_assert_str_eq(doc->blocks[0].path, "t.md");
	md_doc_free(doc);
}

Test(doc, quarto_option_errors_are_located)
{
	parse_fails("```{sh}\n#| echo: maybe\n```\n",
		    "t.md:2:10: invalid value 'maybe' for 'echo': expected "
		    "true or false");
	parse_fails("> ```{sh}\n> #| colour: red\n> ```\n",
		    "t.md:2:6: unknown option 'colour'");
	parse_fails("```{sh}\n#| novalue\n```\n",
		    "t.md:2:4: expected '#| key: value'");
}

Test(doc, booleans_accept_the_usual_spellings)
{
	const char *yes[] = { "true", "TRUE", "True", "yes" };
	const char *no[] = { "false", "FALSE", "False", "no" };
	char src[64];

	for (int i = 0; i < 4; i++) {
		snprintf(src, sizeof(src), "```{sh echo=%s}\n```\n", yes[i]);
		struct md_doc *doc = parse(src, 0);
		cr_assert(doc->blocks[0].echo, "%s", yes[i]);
		md_doc_free(doc);
		snprintf(src, sizeof(src), "```{sh echo=%s}\n```\n", no[i]);
		doc = parse(src, 0);
		cr_assert_not(doc->blocks[0].echo, "%s", no[i]);
		md_doc_free(doc);
	}
}

Test(doc, typed_options)
{
	struct md_doc *doc = parse("```{sh timeout=2.5, nouts=3, match=all, "
				   "cache=no, error=yes, output=false, "
				   "session=s1, env=HOME,PATH, deps=\"a, b\"}"
				   "\n```\n",
				   0);
	struct md_block *b = &doc->blocks[0];

	cr_assert_float_eq(b->timeout, 2.5, 1e-9);
	cr_assert_eq(b->nouts, 3);
	cr_assert_eq(b->match, MD_MATCH_ALL);
	cr_assert_not(b->cache);
	cr_assert(b->error_ok);
	cr_assert_eq(b->output, MD_OUTPUT_HIDE);
	cr_assert_str_eq(md_block_opt(b, "env"), "HOME,PATH");
	cr_assert_str_eq(md_block_opt(b, "deps"), "a, b");
	md_doc_free(doc);
}

Test(doc, bad_values_name_the_value)
{
	parse_fails("```{sh timeout=-1}\n```\n",
		    "t.md:1:16: invalid value '-1' for 'timeout': expected a "
		    "number of seconds greater than 0");
	parse_fails("```{sh nouts=2.5}\n```\n",
		    "t.md:1:14: invalid value '2.5' for 'nouts': expected a "
		    "whole number from 1 to 1000");
	parse_fails("```{sh match=best}\n```\n",
		    "t.md:1:14: invalid value 'best' for 'match': expected "
		    "latest, first or all");
	parse_fails("```{sh output=maybe}\n```\n",
		    "t.md:1:15: invalid value 'maybe' for 'output': expected "
		    "true, false or asis");
	parse_fails("```{sh deps=\"a,,b\"}\n```\n",
		    "t.md:1:13: invalid value 'a,,b' for 'deps': expected a "
		    "comma list of block names");
	parse_fails("```{sh env=1X}\n```\n",
		    "t.md:1:12: invalid value '1X' for 'env': expected a "
		    "comma list of variable names");
	parse_fails("```{sh name=\"a b\"}\n```\n",
		    "t.md:1:13: invalid block name 'a b' (letters, digits, "
		    "'_', '-' and '.')");
}

Test(doc, front_matter_run_all)
{
	struct md_doc *flow = parse("---\ntitle: t\nmdrun: {run: all}\n---\n"
				    "```sh\nls\n```\n",
				    0);
	struct md_doc *block = parse("---\nmdrun:\n  run: all\n---\n"
				     "```sh\nls\n```\n",
				     0);
	struct md_doc *none = parse("---\ntitle: t\n---\n```sh\nls\n```\n", 0);

	cr_assert(flow->blocks[0].exec);
	cr_assert(block->blocks[0].exec);
	cr_assert_not(none->blocks[0].exec);
	md_doc_free(flow);
	md_doc_free(block);
	md_doc_free(none);
}

Test(doc, front_matter_is_not_markdown)
{
	/* A fence inside the front matter is YAML text, not a block. */
	struct md_doc *doc = parse("---\nx: |\n  ```{sh}\n  rm -rf /\n---\n"
				   "```{sh}\necho real\n```\n",
				   0);

	cr_assert_eq(doc->nblocks, 1);
	cr_assert_str_eq(doc->blocks[0].code, "echo real\n");
	cr_assert_eq(doc->blocks[0].line, 6);
	md_doc_free(doc);
}

Test(doc, front_matter_errors)
{
	parse_fails("---\nmdrun: {run: most}\n---\n",
		    "t.md:2:14: invalid value 'most' for 'run': expected all "
		    "or braces");
	parse_fails("---\nmdrun:\n  jobs: 3\n---\n",
		    "t.md:3:3: unknown mdrun option 'jobs' in the front matter");
}

Test(doc, front_matter_kernels)
{
	struct md_doc *block = parse("---\nmdrun:\n  run: all\n  kernels:\n"
				     "    julia: julia-1.9\n"
				     "    python: 'python3'\ntitle: t\n---\n",
				     0);
	struct md_doc *flow = parse("---\nmdrun: {kernels: {r: ir, julia: "
				    "julia-1.9}, run: all}\n---\n",
				    0);
	struct md_doc *mixed = parse("---\nmdrun:\n  kernels: {ruby: ruby3}\n"
				     "---\n",
				     0);

	cr_assert_eq(block->nkernels, 2);
	cr_assert_str_eq(md_doc_kernel(block, "python"), "python3");
	cr_assert_str_eq(md_doc_kernel(block, "julia"), "julia-1.9");
	cr_assert_null(md_doc_kernel(block, "title"));
	cr_assert_eq(flow->nkernels, 2);
	cr_assert_str_eq(md_doc_kernel(flow, "r"), "ir");
	cr_assert_str_eq(md_doc_kernel(flow, "julia"), "julia-1.9");
	cr_assert_str_eq(md_doc_kernel(mixed, "ruby"), "ruby3");
	md_doc_free(block);
	md_doc_free(flow);
	md_doc_free(mixed);
	parse_fails("---\nmdrun: {kernels: {r: ir}\n---\n",
		    "t.md:2:24: unbalanced braces");
	parse_fails("---\nmdrun:\n  kernels:\n    r: ir\n    r: ark\n---\n",
		    "t.md:5:5: kernels: 'r' is given twice");
	parse_fails("---\nmdrun:\n  kernels: ir\n---\n",
		    "t.md:3:12: expected a mapping");
	parse_fails("---\nmdrun: {kernels:}\n---\n",
		    "t.md:2:9: expected a value");
}

Test(doc, tilde_fences_and_tabs)
{
	struct md_doc *doc = parse("~~~~{sh}\n\techo\ttab\n~~~~\n", 0);

	cr_assert(doc->blocks[0].closed);
	cr_assert_eq(doc->blocks[0].fence_char, '~');
	cr_assert_str_eq(doc->blocks[0].code, "\techo\ttab\n");
	md_doc_free(doc);
}

Test(doc, front_matter_span_and_title_with_a_byte_order_mark)
{
	const char *src = "\xef\xbb\xbf---\ntitle: Front\n---\n\n"
			  "Intro\n\n## The *real* `title`\n\n# Second\n";
	struct md_doc *d = parse(src, 0);

	cr_assert_eq(d->front_start, 0);
	cr_assert_eq(d->front_end, strlen("\xef\xbb\xbf---\ntitle: Front\n---\n"));
	cr_assert_str_eq(d->title, "The real title");
	md_doc_free(d);
}

Test(doc, a_region_holding_a_block_is_not_front_matter)
{
	const char *src = "---\n```{sh}\necho hi\n```\n---\n\n# Title\n";
	struct md_doc *d = parse(src, 0);

	cr_assert_eq(d->front_end, 0);
	cr_assert_eq(d->nblocks, 1);
	cr_assert(d->blocks[0].exec);
	cr_assert_str_eq(d->title, "Title");
	md_doc_free(d);
}

Test(doc, no_heading_no_title)
{
	struct md_doc *d = parse("Just prose.\n\n#\n\n```{sh}\n# no\n```\n", 0);

	cr_assert_null(d->title);
	md_doc_free(d);
}

Test(doc, knitr_options_in_knitr_syntax)
{
	struct md_doc *d = parse("```{r a, fig.cap='x, y', results=\"hide\", "
				 "eval=F, dependson=c('a', \"b\"), "
				 "out.width='50%'}\n1\n```\n",
				 0);
	const struct md_block *b = &d->blocks[0];

	cr_assert_str_eq(b->name, "a");
	cr_assert_str_eq(md_block_opt(b, "fig.cap"), "x, y");
	cr_assert_eq(b->output, MD_OUTPUT_HIDE);
	cr_assert_not(b->exec, "eval=F");
	cr_assert_str_eq(md_block_opt(b, "dependson"), "c('a', \"b\")");
	for (size_t i = 0; i < b->nopts; i++)
		cr_assert_eq(b->opts[i].ignored,
			     !strcmp(b->opts[i].key, "out.width"), "%s",
			     b->opts[i].key);
	md_doc_free(d);
	d = parse("```{r setup, include=FALSE, comment='##', collapse=TRUE, "
		  "engine='Python', warning=FALSE}\n1\n```\n",
		  0);
	b = &d->blocks[0];
	cr_assert(b->exec);
	cr_assert_not(b->echo);
	cr_assert_eq(b->output, MD_OUTPUT_HIDE);
	cr_assert_str_eq(b->comment, "##");
	cr_assert(b->collapse);
	cr_assert(b->no_warnings);
	cr_assert_str_eq(b->lang, "python");
	md_doc_free(d);
}

Test(doc, option_lists_in_r_syntax)
{
	char *l;

	cr_assert_str_eq(l = md_opt_list("'a'"), "a");
	free(l);
	cr_assert_str_eq(l = md_opt_list("c('a', \"b-2\")"), "a,b-2");
	free(l);
	cr_assert_str_eq(l = md_opt_list("a,b"), "a,b");
	free(l);
	cr_assert_null(md_opt_list("c(a)"));
	cr_assert_str_eq(l = md_opt_code("c( 'x <- 1', \"x, y\")"),
			 "x <- 1\nx, y\n");
	free(l);
	cr_assert_str_eq(l = md_opt_code("print(1)"), "print(1)\n");
	free(l);
	cr_assert_null(md_opt_list("paste('a')"));
	parse_fails("```{r dependson=c(1)}\n```\n",
		    "t.md:1:17: invalid value 'c(1)' for 'dependson': expected "
		    "block names");
	parse_fails("```{r fig.capt=x}\n```\n",
		    "t.md:1:7: unknown option 'fig.capt' (did you mean "
		    "'fig.cap'?)");
	parse_fails("```{r code-fold=maybe}\n```\n",
		    "t.md:1:17: invalid value 'maybe' for 'code-fold': "
		    "expected true, false or show");
}

Test(doc, a_language_in_any_case)
{
	struct md_doc *d = parse("```{Python}\n1\n```\n\n```BASH\nls\n```\n",
				 MD_DOC_ALL);

	cr_assert_str_eq(d->blocks[0].lang, "python");
	cr_assert_str_eq(d->blocks[0].name, "python-1");
	cr_assert_str_eq(d->blocks[1].lang, "bash");
	cr_assert(d->blocks[1].exec);
	md_doc_free(d);
}

Test(doc, quarto_escape_and_myst_directives)
{
	struct md_doc *d = parse("```{{python}}\n1\n```\n\n```{note}\ntext\n```\n"
				 "\n```{raw} html\n<b>\n```\n\n```{julia}\n1\n```\n",
				 0);

	cr_assert(d->blocks[0].escaped);
	cr_assert_not(d->blocks[0].exec);
	cr_assert_str_eq(d->blocks[0].lang, "python");
	cr_assert_not(d->blocks[1].exec);
	cr_assert_not(d->blocks[2].exec);
	cr_assert(d->blocks[3].exec, "{julia} is a block to run");
	md_doc_free(d);
	/* In a MyST notebook every {name} but {code-cell} is a directive. */
	d = parse("---\njupytext:\n  formats: md:myst\n---\n"
		  "```{exercise-end}\n```\n\n```{julia}\n1\n```\n",
		  0);
	cr_assert_not(d->blocks[0].exec);
	cr_assert_not(d->blocks[1].exec);
	md_doc_free(d);
}

Test(doc, myst_code_cells)
{
	struct md_doc *d = parse("```{code-cell} ipython3\n:tags: [remove-input, "
				 "raises-exception]\nprint(1)\n```\n\n"
				 "```{code-cell} python3\n---\ntags: [skip-execution]"
				 "\n---\nx = 1\n```\n",
				 0);

	cr_assert(d->blocks[0].exec);
	cr_assert_str_eq(d->blocks[0].lang, "python");
	cr_assert_str_eq(d->blocks[0].code, "print(1)\n");
	cr_assert_eq(d->blocks[0].code_line, 3);
	cr_assert_not(d->blocks[0].echo);
	cr_assert(d->blocks[0].error_ok);
	cr_assert_not(d->blocks[1].exec);
	cr_assert_str_eq(d->blocks[1].code, "x = 1\n");
	md_doc_free(d);
	parse_fails("```{code-cell}\n1\n```\n",
		    "t.md:1:4: {code-cell} names no language");
}

Test(doc, front_matter_defaults)
{
	struct md_doc *q = parse("---\nexecute:\n  echo: false\n  enabled: true\n"
				 "---\n```{python}\n#| echo: true\n1\n```\n\n"
				 "```{python}\n2\n```\n",
				 0);
	struct md_doc *k = parse("---\nknitr:\n  opts_knit:\n    verbose: true\n"
				 "  opts_chunk:\n    comment: '#>'\n"
				 "    collapse: true\n---\n```{r}\n1\n```\n",
				 0);

	cr_assert(q->blocks[0].echo, "the block's own option wins");
	cr_assert_not(q->blocks[1].echo);
	cr_assert(q->blocks[1].exec);
	cr_assert_str_eq(k->blocks[0].comment, "#>");
	cr_assert(k->blocks[0].collapse);
	md_doc_free(q);
	md_doc_free(k);
	parse_fails("---\nexecute:\n  ecko: false\n---\n```{python}\n1\n```\n",
		    "t.md:3:3: unknown option 'ecko' (did you mean 'echo'?)");
}

Test(doc, inline_expressions)
{
	const char *src = "```{python}\nx = 1\n```\n\nSee `{python} x + 1` and "
			  "``{python} `x` `` and `r y`.\n\n> `{Python} z`<!-- "
			  "mdrun:value -->3<!-- /mdrun:value --> `{python} w`\n";
	struct md_doc *d = NULL, *k = NULL;
	const struct md_block *b;

	cr_assert_eq(md_doc_parse(&d, "t.md", src, strlen(src), 0), 0, "%s",
		     md_err_msg());
	cr_assert_eq(d->nblocks, 5, "a fenced block and four expressions");
	b = &d->blocks[1];
	cr_assert(b->inline_expr && b->exec);
	cr_assert_str_eq(b->name, "python-inline-1");
	cr_assert_str_eq(b->info, "x + 1");
	cr_assert_eq(b->line, 5);
	cr_assert_eq(b->col, 5);
	cr_assert_eq(src[b->start], '`');
	cr_assert_eq(b->end - b->start, strlen("`{python} x + 1`"));
	cr_assert_str_eq(d->blocks[2].info, "`x`", "a span of two backticks");
	cr_assert_eq(d->blocks[2].end - d->blocks[2].start,
		     strlen("``{python} `x` ``"));
	b = &d->blocks[3];
	cr_assert_str_eq(b->lang, "python");
	cr_assert(b->has_out, "the value an earlier render left");
	cr_assert(!strncmp(src + b->out_start, "<!-- mdrun:value -->3", 21));
	cr_assert_eq(src[b->out_end], ' ');
	cr_assert_str_eq(d->blocks[4].info, "w");
	cr_assert_str_eq(d->blocks[0].name, "python-1",
			 "expressions leave the blocks' names alone");
	/* `r y` is knitr's in .Rmd and .qmd only */
	cr_assert_eq(md_doc_parse(&k, "t.Rmd", src, strlen(src), 0), 0);
	cr_assert_eq(k->nblocks, 6);
	cr_assert_str_eq(k->blocks[3].lang, "r");
	cr_assert_str_eq(k->blocks[3].name, "r-inline-1");
	md_doc_free(d);
	md_doc_free(k);
}

Test(doc, front_matter_comments_and_quarto_fenced_echo)
{
	struct md_doc *d = parse("---\nexecute:\n  # hide the code\n  echo: false "
				 "# always\n\n  daemon: false\n---\n"
				 "```{python}\n1\n```\n\n```{python, echo=fenced}\n"
				 "2\n```\n",
				 0);

	cr_assert_not(d->blocks[0].echo, "a comment, a blank line, then the "
					 "value without its comment");
	cr_assert(d->blocks[1].echo, "echo: fenced shows the code");
	md_doc_free(d);
}

/* strip takes out exactly what a render in place adds, nothing else. */
Test(doc, strip_gives_the_source_back)
{
	const char *src =
		"```{sh}\necho a\n```\n"
		"<!-- mdrun:out -->\n```output\na\n```\n<!-- /mdrun:out -->\n"
		"\nValue `{python} 1 + 1`<!-- mdrun:value -->2<!-- /mdrun:value -->.\n"
		"\n{{< include part.md >}}\n<!-- mdrun:include -->\n"
		"```{sh}\necho in\n```\n<!-- mdrun:out -->\nin\n<!-- /mdrun:out -->\n"
		"<!-- /mdrun:include -->\n"
		"\n> ```{sh}\n> echo q\n> ```\n> <!-- mdrun:out -->\n> q\n"
		"> <!-- /mdrun:out -->\n"
		"\n```sh\n<!-- mdrun:out -->\n```\n";
	const char *want =
		"```{sh}\necho a\n```\n"
		"\nValue `{python} 1 + 1`.\n"
		"\n{{< include part.md >}}\n"
		"\n> ```{sh}\n> echo q\n> ```\n"
		"\n```sh\n<!-- mdrun:out -->\n```\n";
	struct md_doc *d = NULL;
	struct md_buf out = MD_BUF_INIT;

	cr_assert_eq(md_doc_parse(&d, "t.qmd", src, strlen(src),
				  MD_DOC_AS_READ), 0, "%s", md_err_msg());
	cr_assert_eq(md_doc_strip(&out, d), 4);
	cr_assert_str_eq(out.ptr, want);
	md_buf_dispose(&out);
	md_doc_free(d);
	/* the source strips to itself */
	cr_assert_eq(md_doc_parse(&d, "t.qmd", want, strlen(want),
				  MD_DOC_AS_READ), 0, "%s", md_err_msg());
	cr_assert_eq(md_doc_strip(&out, d), 0);
	cr_assert_str_eq(out.ptr, want);
	md_buf_dispose(&out);
	md_doc_free(d);
}

/* A document without a final line break strips back to itself. */
Test(doc, strip_without_final_newline)
{
	const char *src = "```{sh}\necho last\n```\n<!-- mdrun:out -->\n"
			  "```output\nlast\n```\n<!-- /mdrun:out -->";
	struct md_doc *d = NULL;
	struct md_buf out = MD_BUF_INIT;

	cr_assert_eq(md_doc_parse(&d, "t.md", src, strlen(src),
				  MD_DOC_AS_READ), 0, "%s", md_err_msg());
	cr_assert_eq(md_doc_strip(&out, d), 1);
	cr_assert_str_eq(out.ptr, "```{sh}\necho last\n```");
	md_buf_dispose(&out);
	md_doc_free(d);
}
