/*
 * The whole pipeline through the notebook API, without the binary: a
 * document is written to a temporary folder, opened, realized into a
 * store in that folder, viewed and rendered.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../mdrun/core/check.h"
#include "../mdrun/core/notebook.h"
#include "../renderer/render.h"
#include "../util/err.h"
#include "../util/fs.h"

#include "tmpdir.h"

TestSuite(notebook, .init = tmpdir_setup, .fini = tmpdir_teardown);

static char doc_path[256], store_path[256];

/* Writes src as dir/doc.md, and fills o to render it. */
static void
setup(struct md_nb_opts *o, const char *src, int jobs)
{
	snprintf(doc_path, sizeof(doc_path), "%s/doc.md", dir);
	snprintf(store_path, sizeof(store_path), "%s/store", dir);
	cr_assert_eq(md_fs_write_atomic(doc_path, src, strlen(src), 0644), 0,
		     "%s", md_err_msg());
	memset(o, 0, sizeof(*o));
	o->input = doc_path;
	o->store = store_path;
	o->timeout = MD_EXEC_TIMEOUT;
	o->cap = MD_EXEC_CAP;
	o->jobs = jobs;
}

/* open, realize, view, record: each step must succeed. */
static void
run(struct md_notebook *nb, const struct md_nb_opts *o)
{
	cr_assert_eq(md_nb_open(nb, o), 0, "%s", md_err_msg());
	cr_assert_eq(md_nb_realize(nb), 0, "%s", md_err_msg());
	cr_assert_eq(md_nb_view(nb), 0, "%s", md_err_msg());
	cr_assert_eq(md_nb_record(nb), 0, "%s", md_err_msg());
}

/* The stdout a block shows, as one string ("" when none). */
static const char *
stdout_of(const struct md_view_block *b)
{
	static char text[256];
	const struct md_view_real *r;

	text[0] = '\0';
	cr_assert_geq(b->nreals, 1);
	r = &b->reals[b->nreals - 1];
	for (size_t i = 0; i < r->nouts; i++)
		if (r->outs[i].kind == MD_OUT_STREAM &&
		    r->outs[i].stream == MD_STDOUT)
			snprintf(text, sizeof(text), "%.*s",
				 (int)r->outs[i].len, r->outs[i].text);
	return text;
}

Test(notebook, renders_a_document_and_caches_what_did_not_change)
{
	struct md_nb_opts o;
	struct md_notebook nb;
	struct md_buf md = MD_BUF_INIT;

	setup(&o, "# Sum\n\n```{sh}\nx=21\n```\n\n```{sh}\necho $((x * 2))\n"
		  "```\n", 2);
	run(&nb, &o);
	cr_assert_eq(nb.ran, 2);
	cr_assert_eq(nb.view.blocks[1].status, MD_STATUS_OK);
	cr_assert_str_eq(stdout_of(&nb.view.blocks[1]), "42\n");
	cr_assert_not(nb.view.blocks[1].cached);
	render_markdown(&md, &nb.view);
	cr_assert(strstr(md.ptr, "```output\n42\n```\n"), "%s", md.ptr);
	md_nb_dispose(&nb);

	/* Nothing changed: nothing runs, the same view. */
	run(&nb, &o);
	cr_assert_eq(nb.ran, 0);
	cr_assert_eq(nb.cached, 2);
	cr_assert(nb.view.blocks[1].cached);
	cr_assert_str_eq(stdout_of(&nb.view.blocks[1]), "42\n");
	md_nb_dispose(&nb);
	md_buf_dispose(&md);
}

/* The status words a JSON report gives block i. */
static char *
json_status(const struct md_view *v, int i)
{
	struct md_buf js = MD_BUF_INIT;
	cJSON *root, *b;
	char *s;

	render_json(&js, v);
	root = cJSON_Parse(js.ptr);
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), i);
	s = md_strdup(cJSON_GetObjectItem(b, "status")->valuestring);
	cJSON_Delete(root);
	md_buf_dispose(&js);
	return s;
}

/*
 * After a failure, a block that reads nothing is not run, whatever the
 * number of jobs: never "skipped", which says it reads a failed block.
 */
static void
not_run_after_failure(int jobs)
{
	struct md_nb_opts o;
	struct md_notebook nb;
	char *s;

	setup(&o, "```{sh}\nexit 3\n```\n\n```{sh session=none}\necho hi\n"
		  "```\n\n```{python}\nprint(1)\n```\n", jobs);
	run(&nb, &o);
	cr_assert_eq(nb.view.blocks[0].status, MD_STATUS_FAILED);
	cr_assert_eq(nb.view.blocks[0].reals[0].exit.code, 3);
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(nb.view.blocks[i].status, MD_STATUS_NOT_RUN,
			     "-j %d, block %d", jobs, i);
		cr_assert_eq(nb.view.blocks[i].skip, MD_SKIP_FAILED);
		s = json_status(&nb.view, i);
		cr_assert_str_eq(s, "not-run", "-j %d, block %d", jobs, i);
		free(s);
	}
	cr_assert_eq(nb.failed, 1);
	cr_assert_eq(nb.not_run, 2);
	md_nb_dispose(&nb);
}

Test(notebook, not_run_after_a_failure_with_one_job)
{
	not_run_after_failure(1);
}

Test(notebook, not_run_after_a_failure_with_four_jobs)
{
	not_run_after_failure(4);
}

Test(notebook, keep_going_skips_only_the_readers_of_a_failure)
{
	struct md_nb_opts o;
	struct md_notebook nb;
	char *s;

	setup(&o, "```{sh name=a session=none}\nexit 3\n```\n\n"
		  "```{sh name=b session=none deps=a}\necho b\n```\n\n"
		  "```{sh name=c session=none}\necho $((2 + 3))\n```\n", 1);
	o.keep_going = true;
	run(&nb, &o);
	cr_assert_eq(nb.view.blocks[1].status, MD_STATUS_SKIPPED);
	cr_assert_eq(nb.view.blocks[1].skip, MD_SKIP_UPSTREAM);
	s = json_status(&nb.view, 1);
	cr_assert_str_eq(s, "skipped");
	free(s);
	cr_assert_eq(nb.view.blocks[2].status, MD_STATUS_OK);
	cr_assert_str_eq(stdout_of(&nb.view.blocks[2]), "5\n");
	md_nb_dispose(&nb);
}

Test(notebook, html_shows_a_block_inside_what_looks_like_front_matter)
{
	struct md_nb_opts o;
	struct md_notebook nb;
	struct md_buf html = MD_BUF_INIT;

	setup(&o, "---\n```{sh}\necho $((6 * 7))\n```\n---\n\nText.\n", 1);
	run(&nb, &o);
	cr_assert_eq(nb.view.blocks[0].status, MD_STATUS_OK);
	render_html(&html, &nb.view);
	cr_assert(strstr(html.ptr, ">42\n<") || strstr(html.ptr, ">42<"),
		  "the block's output is missing:\n%s", html.ptr);
	md_nb_dispose(&nb);
	md_buf_dispose(&html);
}

Test(notebook, reports_title_the_first_heading_after_bom_front_matter)
{
	struct md_nb_opts o;
	struct md_notebook nb;
	struct md_buf js = MD_BUF_INIT;
	cJSON *root, *d;

	setup(&o, "\xef\xbb\xbf---\ntitle: Front\n---\n\n# Real title\n\n"
		  "```{sh}\necho ok\n```\n", 1);
	run(&nb, &o);
	render_json(&js, &nb.view);
	root = cJSON_Parse(js.ptr);
	d = cJSON_GetObjectItem(root, "document");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "title")->valuestring,
			 "Real title");
	cJSON_Delete(root);
	md_nb_dispose(&nb);
	md_buf_dispose(&js);
}

Test(notebook, check_finds_a_stale_output_and_names_its_block)
{
	struct md_nb_opts o;
	struct md_check c;
	const char *src = "```{sh name=n}\necho $((1 + 1))\n```\n"
			  "<!-- mdrun:out -->\n```output\n3\n```\n"
			  "<!-- /mdrun:out -->\n";

	setup(&o, src, 1);
	o.files_dry = true;
	o.view_flags = MD_VIEW_KEEP_CODE;
	cr_assert_eq(md_check_open(&c, &o), 0, "%s", md_err_msg());
	cr_assert_eq(md_check_run(&c, NULL, false), 0, "%s", md_err_msg());
	cr_assert(c.stale);
	cr_assert_eq(c.blocks[0].verdict, MD_VERDICT_STALE);
	cr_assert_str_eq(c.blocks[0].message, "block n: output is not current");
	cr_assert(strstr(c.blocks[0].detail, "+2\n"), "%s", c.blocks[0].detail);
	cr_assert(strstr(c.blocks[0].detail, "-3\n"), "%s", c.blocks[0].detail);
	md_check_dispose(&c);
}
