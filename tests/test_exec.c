#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mdrun/core/exec.h"
#include "../mdrun/core/outputs.h"
#include "../mdrun/core/proc.h"
#include "../util/err.h"
#include "../util/fs.h"

#include "tmpdir.h"

TestSuite(proc, .init = tmpdir_setup, .fini = tmpdir_teardown);
TestSuite(exec, .init = tmpdir_setup, .fini = tmpdir_teardown);

static int
run_sh(struct md_proc_result *r, const char *code, double timeout,
       size_t cap)
{
	const char *argv[] = { "sh", "-c", code, NULL };
	struct md_proc_opts o = { argv, dir, NULL, timeout, cap, NULL };

	return md_proc_run(r, &o);
}

Test(proc, captures_stdout_stderr_and_status)
{
	struct md_proc_result r;

	cr_assert_eq(run_sh(&r, "echo out; echo err >&2; exit 7", 10, 0), 0);
	cr_assert_str_eq(r.out.ptr, "out\n");
	cr_assert_str_eq(r.err.ptr, "err\n");
	cr_assert_eq(r.exit.code, 7);
	cr_assert_eq(r.exit.signal, 0);
	cr_assert_not(r.exit.timed_out);
	md_proc_result_dispose(&r);
}

Test(proc, runs_in_cwd_with_empty_stdin)
{
	struct md_proc_result r;

	cr_assert_eq(run_sh(&r, "pwd; cat; echo end", 10, 0), 0);
	cr_assert(strstr(r.out.ptr, "mdrun-test-") != NULL, "%s",
		  r.out.ptr);
	cr_assert(strstr(r.out.ptr, "\nend\n") != NULL, "%s", r.out.ptr);
	md_proc_result_dispose(&r);
}

Test(proc, keeps_nul_bytes)
{
	struct md_proc_result r;

	cr_assert_eq(run_sh(&r, "printf 'a\\000b'", 10, 0), 0);
	cr_assert_eq(r.out.len, 3);
	cr_assert(memcmp(r.out.ptr, "a\0b", 3) == 0);
	md_proc_result_dispose(&r);
}

Test(proc, missing_command_is_named)
{
	const char *argv[] = { "no-such-interpreter-xyz", NULL };
	struct md_proc_opts o = { argv, NULL, NULL, 10, 0, NULL };
	struct md_proc_result r;

	cr_assert_lt(md_proc_run(&r, &o), 0);
	cr_assert(strstr(md_err_msg(), "cannot run 'no-such-interpreter-xyz'"),
		  "%s", md_err_msg());
	md_proc_result_dispose(&r);
}

Test(proc, timeout_kills_the_process_group)
{
	struct md_proc_result r;
	char *flag = md_path_join(dir, "late");
	char code[512];

	/* A background child would write the flag if it survived. */
	snprintf(code, sizeof(code), "(sleep 1; touch %s) & sleep 30", flag);
	cr_assert_eq(run_sh(&r, code, 0.3, 0), 0);
	cr_assert(r.exit.timed_out);
	cr_assert_neq(r.exit.signal, 0);
	cr_assert_lt(r.end - r.start, 5);
	sleep(2);
	cr_assert_not(md_fs_exists(flag), "a process outlived the timeout");
	md_proc_result_dispose(&r);
	free(flag);
}

Test(proc, output_is_capped)
{
	struct md_proc_result r;

	cr_assert_eq(run_sh(&r, "yes | head -c 100000", 10, 1000), 0);
	cr_assert_eq(r.out.len, 1000);
	cr_assert(r.out_cut);
	cr_assert_eq(r.exit.code, 0);
	md_proc_result_dispose(&r);
}

Test(proc, background_leftovers_do_not_hang)
{
	struct md_proc_result r;

	cr_assert_eq(run_sh(&r, "sleep 30 & echo started", 60, 0), 0);
	cr_assert_str_eq(r.out.ptr, "started\n");
	cr_assert_lt(r.end - r.start, 5);
	md_proc_result_dispose(&r);
}

static int
fixed_identity(const char **out, struct md_interp *in, void *ctx)
{
	(void)ctx;
	*out = in->lang;
	return 0;
}

/* A document with one block, planned against a store in dir. */
struct fixture {
	struct md_doc *doc;
	struct md_interps interps;
	struct md_plan plan;
	struct store *s;
	struct md_exec_opts eo;
};

static void
fixture_init(struct fixture *f, const char *src)
{
	char *root = md_path_join(dir, "store");

	memset(f, 0, sizeof(*f));
	cr_assert_eq(md_doc_parse(&f->doc, "t.md", src, strlen(src), 0), 0,
		     "%s", md_err_msg());
	cr_assert_eq(store_open(&f->s, root), 0);
	cr_assert_eq(md_interps_load(&f->interps, NULL), 0);
	cr_assert_eq(md_plan_build(&f->plan, f->doc, &f->interps, ".", dir,
				   fixed_identity, NULL), 0, "%s", md_err_msg());
	f->eo.cwd = dir;
	f->eo.document = "t.md";
	f->eo.timeout = 10;
	f->eo.cap = 1 << 20;
	free(root);
}

static void
fixture_dispose(struct fixture *f)
{
	md_plan_dispose(&f->plan);
	md_interps_dispose(&f->interps);
	store_close(f->s);
	md_doc_free(f->doc);
}

/* Realizes stage 0 and returns how many runs it made. */
static size_t
realize(struct fixture *f, struct md_outcome *oc)
{
	size_t first = 0;

	if (f->plan.stages[0].session)
		cr_assert_eq(md_exec_session(oc, f->s, &f->plan, &first, 1,
					     &f->eo), 0, "%s", md_err_msg());
	else
		cr_assert_eq(md_exec_realize(oc, f->s, &f->plan,
					     &f->plan.stages[0], &f->eo),
			     0, "%s", md_err_msg());
	return oc->ran;
}

static int
count_lines(const char *name)
{
	char *p = md_path_join(dir, name);
	struct md_buf b = MD_BUF_INIT;
	int n = 0;

	if (md_fs_read(&b, p) == 0)
		for (size_t i = 0; i < b.len; i++)
			n += b.ptr[i] == '\n';
	md_buf_dispose(&b);
	free(p);
	return n;
}

Test(exec, second_realize_is_cached_and_runs_nothing)
{
	struct fixture f;
	struct md_outcome a, b;

	fixture_init(&f, "```{sh}\necho x >> count; echo done\n```\n");
	cr_assert_eq(realize(&f, &a), 1);
	cr_assert_str_eq(a.reals[0].out.ptr, "done\n");
	cr_assert_eq(realize(&f, &b), 0);
	cr_assert_str_eq(b.reals[0].out.ptr, "done\n");
	cr_assert_str_eq(a.reals[0].rhash, b.reals[0].rhash);
	cr_assert_eq(count_lines("count"), 1, "the block ran twice");
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	fixture_dispose(&f);
}

Test(exec, a_failure_is_shown_and_runs_again)
{
	struct fixture f;
	struct md_outcome a, b;

	fixture_init(&f, "```{sh}\necho x >> count; exit 4\n```\n");
	cr_assert_eq(realize(&f, &a), 1);
	cr_assert(a.failed);
	cr_assert_eq(a.reals[0].exit.code, 4);
	cr_assert_eq(realize(&f, &b), 1, "a failure is not a cache hit");
	cr_assert_eq(count_lines("count"), 2);
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	fixture_dispose(&f);
}

Test(exec, error_true_accepts_the_failure_and_caches_it)
{
	struct fixture f;
	struct md_outcome a, b;

	fixture_init(&f, "```{sh error=true}\necho x >> count; exit 4\n```\n");
	cr_assert_eq(realize(&f, &a), 1);
	cr_assert_not(a.failed);
	cr_assert_eq(realize(&f, &b), 0);
	cr_assert_eq(b.reals[0].exit.code, 4);
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	fixture_dispose(&f);
}

Test(exec, nouts_runs_until_n_runs_exist)
{
	struct fixture f;
	struct md_outcome a, b;

	/* Non-deterministic: each run prints a new number. */
	fixture_init(&f, "```{sh nouts=3, match=all, session=none}\necho x >> count; "
			 "wc -l < count\n```\n");
	cr_assert_eq(realize(&f, &a), 3);
	cr_assert_eq(a.n, 3, "match=all shows every realization");
	cr_assert_eq(realize(&f, &b), 0, "three runs exist: cached");
	cr_assert_eq(b.n, 3);
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	fixture_dispose(&f);
}

Test(exec, equal_runs_count_towards_nouts)
{
	struct fixture f;
	struct md_outcome a, b;

	fixture_init(&f, "```{sh nouts=2, match=all, session=none}\necho x >> count; "
			 "echo same\n```\n");
	cr_assert_eq(realize(&f, &a), 2);
	cr_assert_eq(a.n, 1, "equal runs share one realization");
	cr_assert_eq(realize(&f, &b), 0);
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	fixture_dispose(&f);
}

Test(exec, match_first_and_latest_and_rebuild)
{
	struct fixture f, g;
	struct md_outcome a, b, c;

	fixture_init(&f, "```{sh}\necho x >> count; wc -l < count\n```\n");
	cr_assert_eq(realize(&f, &a), 1);
	f.eo.rebuild = true;
	cr_assert_eq(realize(&f, &b), 1, "--rebuild runs a cached block");
	cr_assert_str_eq(b.reals[0].out.ptr, "2\n", "latest is shown");
	fixture_dispose(&f);
	/* Same code, so the same key: match picks among all its runs. */
	fixture_init(&g, "```{sh match=first}\necho x >> count; "
			 "wc -l < count\n```\n");
	g.eo.rebuild = true;
	cr_assert_eq(realize(&g, &c), 1);
	md_outcome_dispose(&c);
	cr_assert_eq(realize(&g, &c), 1);
	cr_assert_str_eq(c.reals[0].out.ptr, "1\n", "the first run is shown");
	cr_assert_eq(count_lines("count"), 4);
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	md_outcome_dispose(&c);
	fixture_dispose(&g);
}

Test(exec, cache_false_runs_every_time)
{
	struct fixture f;
	struct md_outcome a, b;

	fixture_init(&f, "```{sh cache=false}\necho x >> count\n```\n");
	cr_assert_eq(realize(&f, &a), 1);
	cr_assert_eq(realize(&f, &b), 1);
	cr_assert_eq(count_lines("count"), 2);
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	fixture_dispose(&f);
}

Test(exec, keys_follow_code_name_document_and_folder)
{
	const char *src = "```{sh session=none}\necho a\n```\n"
			  "```{sh session=none}\necho b\n```\n";
	const char *named = "```{sh session=none name=sh-1}\necho a\n```\n"
			    "```{sh session=none name=other}\necho b\n```\n";
	struct md_doc *doc = NULL, *same = NULL, *renamed = NULL, *moved = NULL;
	struct md_interps t;
	struct md_plan p1, p2, p3, p4, p5;

	cr_assert_eq(md_interps_load(&t, NULL), 0);
	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(md_doc_parse(&same, "t.md", named, strlen(named), 0), 0);
	cr_assert_eq(md_doc_parse(&renamed, "u.md", src, strlen(src), 0), 0);
	cr_assert_eq(md_doc_parse(&moved, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(md_plan_build(&p1, doc, &t, ".", "/", fixed_identity, NULL), 0);
	cr_assert_eq(md_plan_build(&p2, moved, &t, "docs", "/", fixed_identity,
				   NULL), 0);
	cr_assert_eq(md_plan_build(&p3, same, &t, ".", "/", fixed_identity, NULL),
		     0);
	cr_assert_eq(md_plan_build(&p4, renamed, &t, ".", "/", fixed_identity,
				   NULL), 0);
	cr_assert_eq(md_plan_build(&p5, doc, &t, ".", "/", fixed_identity, NULL), 0);
	/* Same code, name, document and folder: one key. */
	cr_assert_str_eq(p1.stages[0].key, p5.stages[0].key);
	cr_assert_str_eq(p1.stages[0].key, p3.stages[0].key);
	/* Each of them seen by the block (MDRUN_BLOCK, MDRUN_DOC) counts. */
	cr_assert_str_neq(p1.stages[0].key, p1.stages[1].key);
	cr_assert_str_neq(p1.stages[1].key, p3.stages[1].key);
	cr_assert_str_neq(p1.stages[0].key, p4.stages[0].key);
	cr_assert_str_neq(p1.stages[0].key, p2.stages[0].key);
	char *drv = md_stage_drv(&p1, &p1.stages[0]);
	cr_assert(strstr(drv, "\"code\":\t\"echo a\\n\"") != NULL, "%s", drv);
	free(drv);
	md_plan_dispose(&p1);
	md_plan_dispose(&p2);
	md_plan_dispose(&p3);
	md_plan_dispose(&p4);
	md_plan_dispose(&p5);
	md_doc_free(doc);
	md_doc_free(same);
	md_doc_free(renamed);
	md_doc_free(moved);
}

Test(exec, session_keys_chain_on_the_previous_block)
{
	const char *src = "```{sh}\necho a\n```\n```{sh}\necho a\n```\n";
	struct md_doc *doc = NULL;
	struct md_interps t;
	struct md_plan p;

	cr_assert_eq(md_interps_load(&t, NULL), 0);
	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(md_plan_build(&p, doc, &t, ".", "/", fixed_identity, NULL), 0);
	cr_assert_str_eq(p.stages[0].session, "sh");
	cr_assert_eq(p.stages[1].prev, 0);
	cr_assert_eq(p.stages[1].key[0], '\0', "unknown before the first runs");
	memset(p.stages[0].rhash, '0', 64);
	cr_assert(md_stage_key(&p, &p.stages[1]));
	cr_assert_str_neq(p.stages[0].key, p.stages[1].key,
			  "same code, but after another block");
	char *drv = md_stage_drv(&p, &p.stages[1]);
	cr_assert(strstr(drv, "prev-rhash") != NULL, "%s", drv);
	free(drv);
	md_plan_dispose(&p);
	md_doc_free(doc);
	md_interps_dispose(&t);
}

Test(exec, plan_errors_are_located)
{
	const char *cases[][2] = {
		{ "text\n\n```{cobol}\nx\n```\n",
		  "t.md:3:4: no interpreter for 'cobol'" },
		{ "```{python session=s}\n```\n```{sh session=s}\n```\n",
		  "t.md:3:4: session 's' already runs another language" },
		{ "```{sh nouts=2}\n```\n",
		  "t.md:1:4: nouts needs session=none: a block in session 'sh' "
		  "runs once per render" },
	};
	struct md_interps t;

	cr_assert_eq(md_interps_load(&t, NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct md_doc *doc = NULL;
		struct md_plan p;
		cr_assert_eq(md_doc_parse(&doc, "t.md", cases[i][0],
					  strlen(cases[i][0]), 0), 0);
		cr_assert_lt(md_plan_build(&p, doc, &t, ".", "/",
					   fixed_identity, NULL), 0);
		cr_assert_str_eq(md_err_msg(), cases[i][1]);
		md_plan_dispose(&p);
		md_doc_free(doc);
	}
	md_interps_dispose(&t);
}

/* The output list: from a driver's events, and back to the view. */
TestSuite(outputs);

Test(outputs, only_stdout_then_stderr_needs_no_list)
{
	static const char ev[] = "{\"at\":[4,0]}\n";
	struct md_buf list = MD_BUF_INIT;

	/* stdout, then a switch to stderr, then nothing more on stdout */
	md_outputs_from_events(&list, ev, strlen(ev), 0, 0, 4, 9);
	cr_assert_eq(list.len, 0, "%s", list.ptr);
	md_buf_dispose(&list);
}

Test(outputs, streams_keep_their_order_and_rich_values_their_place)
{
	/* Positions are where the block's capture began: 100 and 7. */
	static const char ev[] =
		"{\"at\":[104,7]}\n"
		"not an event\n"
		"{\"at\":[104,16],\"data\":{\"image/png\":\"iVBORw==\","
		"\"text/plain\":\"<Figure>\"},\"metadata\":{}}\n"
		"{\"at\":[104,16],\"data\":{\"text/plain\":\"42\"},"
		"\"metadata\":{},\"result\":true}\n";
	static const char out[] = "one\ntwo\n", err[] = "careful\n\n";
	struct md_buf list = MD_BUF_INIT;
	struct md_outputs v;

	md_outputs_from_events(&list, ev, strlen(ev), 100, 7, 8, 9);
	cr_assert_str_eq(list.ptr,
			 "[{\"stream\":\"stdout\",\"len\":4},"
			 "{\"stream\":\"stderr\",\"len\":9},"
			 "{\"data\":{\"image/png\":\"iVBORw==\","
			 "\"text/plain\":\"<Figure>\"},\"metadata\":{},"
			 "\"result\":false},"
			 "{\"data\":{\"text/plain\":\"42\"},\"metadata\":{},"
			 "\"result\":true}]");
	md_outputs_view(&v, list.ptr, list.len, out, 8, err, 9);
	cr_assert_eq(v.n, 5);
	cr_assert_eq(v.outs[0].kind, MD_OUT_STREAM);
	cr_assert_eq(v.outs[0].len, 4);
	cr_assert_eq(memcmp(v.outs[0].text, "one\n", 4), 0);
	cr_assert_eq(v.outs[1].stream, MD_STDERR);
	cr_assert_eq(v.outs[1].len, 9);
	cr_assert_eq(v.outs[2].kind, MD_OUT_RICH);
	cr_assert_str_eq(v.outs[2].bundle[0].type, "image/png");
	cr_assert_eq(v.outs[2].bundle[0].len, 4, "base64 decoded");
	cr_assert_eq(memcmp(v.outs[2].bundle[0].data, "\x89PNG", 4), 0);
	cr_assert_not(v.outs[2].result);
	cr_assert(v.outs[3].result);
	/* What no event covered comes last: the second line of stdout. */
	cr_assert_eq(v.outs[4].stream, MD_STDOUT);
	cr_assert_eq(memcmp(v.outs[4].text, "two\n", 4), 0);
	md_outputs_dispose(&v);
	md_buf_dispose(&list);
}

Test(outputs, a_list_that_cannot_be_read_shows_stdout_then_stderr)
{
	static const char *const lists[] = {
		"[{\"stream\":\"stdout\",\"len\":1e300}]",
		"[{\"stream\":\"stderr\",\"len\":-5},{\"data\":{\"image/png\":"
		"\"!!not base64\"}}]",
		"{\"not\":\"a list\"}", "[", "",
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		struct md_outputs v;
		md_outputs_view(&v, lists[i], strlen(lists[i]), "out", 3,
				"err", 3);
		cr_assert_eq(v.n, 2, "%s: %zu outputs", lists[i], v.n);
		cr_assert_eq(v.outs[0].stream, MD_STDOUT);
		cr_assert_eq(v.outs[0].len, 3);
		cr_assert_eq(v.outs[1].stream, MD_STDERR);
		cr_assert_eq(v.outs[1].len, 3);
		md_outputs_dispose(&v);
	}
}
