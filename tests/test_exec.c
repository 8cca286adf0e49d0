#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mdrun/exec.h"
#include "../mdrun/proc.h"
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
	struct md_proc_opts o = { argv, dir, NULL, timeout, cap };

	return md_proc_run(r, &o);
}

Test(proc, captures_stdout_stderr_and_status)
{
	struct md_proc_result r;

	cr_assert_eq(run_sh(&r, "echo out; echo err >&2; exit 7", 10, 0), 0);
	cr_assert_str_eq(r.out.ptr, "out\n");
	cr_assert_str_eq(r.err.ptr, "err\n");
	cr_assert_eq(r.exit_code, 7);
	cr_assert_eq(r.signal, 0);
	cr_assert_not(r.timed_out);
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
	struct md_proc_opts o = { argv, NULL, NULL, 10, 0 };
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
	cr_assert(r.timed_out);
	cr_assert_neq(r.signal, 0);
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
	cr_assert_eq(r.exit_code, 0);
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
fixed_identity(char **out, const struct md_interp *in, void *ctx)
{
	(void)ctx;
	*out = strdup(in->lang);
	return 0;
}

Test(exec, second_realize_is_cached_and_runs_nothing)
{
	struct md_doc *doc = NULL;
	struct md_plan plan;
	struct store *s = NULL;
	struct md_outcome a, b;
	struct md_buf count = MD_BUF_INIT;
	char *root = md_path_join(dir, "store");
	char *counter = md_path_join(dir, "count");
	const char *src = "```{sh}\necho x >> count; echo done\n```\n";
	struct md_exec_opts eo = { dir, "t.md", 10, 1 << 20 };

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(store_open(&s, root), 0);
	cr_assert_eq(md_plan_build(&plan, doc, ".", fixed_identity, NULL), 0);
	cr_assert_eq(plan.n, 1);
	cr_assert_eq(md_exec_realize(&a, s, &plan.stages[0], &eo), 0);
	cr_assert_not(a.cached);
	cr_assert_str_eq(a.real.out.ptr, "done\n");
	cr_assert_eq(md_exec_realize(&b, s, &plan.stages[0], &eo), 0);
	cr_assert(b.cached);
	cr_assert_str_eq(b.real.out.ptr, "done\n");
	cr_assert_str_eq(a.real.rhash, b.real.rhash);
	cr_assert_eq(md_fs_read(&count, counter), 0);
	cr_assert_str_eq(count.ptr, "x\n", "the block ran twice");
	md_outcome_dispose(&a);
	md_outcome_dispose(&b);
	md_plan_dispose(&plan);
	store_close(s);
	md_doc_free(doc);
	md_buf_dispose(&count);
	free(root);
	free(counter);
}

Test(exec, keys_follow_code_interpreter_and_folder)
{
	const char *src = "```{sh}\necho a\n```\n```{sh}\necho a\n```\n"
			  "```{sh}\necho b\n```\n";
	struct md_doc *doc = NULL;
	struct md_plan p1, p2;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_eq(md_plan_build(&p1, doc, ".", fixed_identity, NULL), 0);
	cr_assert_eq(md_plan_build(&p2, doc, "docs", fixed_identity, NULL), 0);
	cr_assert_str_eq(p1.stages[0].key, p1.stages[1].key);
	cr_assert_str_neq(p1.stages[0].key, p1.stages[2].key);
	cr_assert_str_neq(p1.stages[0].key, p2.stages[0].key);
	cr_assert(strstr(p1.stages[0].drv, "\"code\":\t\"echo a\\n\"") != NULL,
		  "%s", p1.stages[0].drv);
	md_plan_dispose(&p1);
	md_plan_dispose(&p2);
	md_doc_free(doc);
}

Test(exec, unknown_language_is_a_located_error)
{
	const char *src = "text\n\n```{cobol}\nx\n```\n";
	struct md_doc *doc = NULL;
	struct md_plan p;

	cr_assert_eq(md_doc_parse(&doc, "t.md", src, strlen(src), 0), 0);
	cr_assert_lt(md_plan_build(&p, doc, ".", fixed_identity, NULL), 0);
	cr_assert_str_eq(md_err_msg(), "t.md:3:4: no interpreter for 'cobol'");
	md_plan_dispose(&p);
	md_doc_free(doc);
}
