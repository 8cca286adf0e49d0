#define _DEFAULT_SOURCE /* realpath */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mdrun/core/kernel.h"
#include "../mdrun/core/proc.h"
#include "../util/err.h"
#include "../util/fs.h"
#include "../util/hash.h"

#include "tmpdir.h"

TestSuite(kernel, .init = tmpdir_setup, .fini = tmpdir_teardown);
TestSuite(kernel_real, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define PYTHON "/usr/bin/python3"

/* Skips the test unless the stub kernel can run (python3-zmq). */
static void
need_stub(void)
{
	const char *argv[] = { PYTHON, "-c", "import zmq", NULL };
	struct md_proc_opts o = { argv, NULL, NULL, 30, 0, NULL };
	struct md_proc_result r;
	bool ok = md_proc_run(&r, &o) == 0 && !md_exit_failed(&r.exit);

	md_proc_result_dispose(&r);
	if (!ok)
		cr_skip_test("python3-zmq is not installed");
}

static char *stub_argv[] = { PYTHON, TESTS_DIR "/kernel_stub.py",
			     "{connection_file}", NULL };
static char *stub_env[] = { "STUB_SPEC=from-spec", "STUB_BOTH=from-spec",
			    NULL };

/* The stub's kernelspec, interrupted by message or by SIGINT. */
static struct md_kernel_spec
stub_spec(bool message)
{
	struct md_kernel_spec s = { .name = "stub",
				    .dir = TESTS_DIR,
				    .argv = stub_argv,
				    .display_name = "Stub",
				    .language = "stub",
				    .interrupt_message = message,
				    .env = stub_env };
	return s;
}

/* The folder for connection files, made in the test's folder. */
static char *
run_dir(void)
{
	char *p = md_path_join(dir, "run");

	cr_assert_eq(md_fs_mkdirs(p, 0755), 0);
	return p;
}

/* A stub kernel started in the test's folder, with env. */
static struct md_kernel *
start_stub(bool message, const char *const *env)
{
	struct md_kernel_spec s = stub_spec(message);
	struct md_kernel *k = NULL;
	char *rd = run_dir();

	need_stub();
	cr_assert_eq(md_kernel_start(&k, &s, rd, dir, env, 30), 0, "%s",
		     md_err_msg());
	free(rd);
	return k;
}

/* Runs code in k: no timeout, no cap unless given. */
static void
run(struct md_proc_result *r, struct md_kernel *k, const char *code,
    double timeout, size_t cap)
{
	cr_assert_eq(md_kernel_run(r, k, code, strlen(code), timeout, cap), 0,
		     "%s", md_err_msg());
}

/* The output list of r, parsed (an empty one: NULL). */
static cJSON *
outs(const struct md_proc_result *r)
{
	return r->outs.len ? cJSON_Parse(r->outs.ptr) : NULL;
}

/* Item i of list is a stream chunk of name, len bytes. */
static void
assert_stream(const cJSON *list, int i, const char *name, int len)
{
	const cJSON *o = cJSON_GetArrayItem(list, i);

	cr_assert_str_eq(cJSON_GetObjectItem(o, "stream")->valuestring, name,
			 "item %d", i);
	cr_assert_eq(cJSON_GetObjectItem(o, "len")->valueint, len, "item %d",
		     i);
}

/* Item i of list is a rich value with type, a result or a display. */
static const cJSON *
assert_rich(const cJSON *list, int i, const char *type, bool result)
{
	const cJSON *o = cJSON_GetArrayItem(list, i);
	const cJSON *data = cJSON_GetObjectItem(o, "data");

	cr_assert(cJSON_IsObject(data), "item %d", i);
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(o, "metadata")));
	cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(o, "result")), result);
	cr_assert_not_null(cJSON_GetObjectItem(data, type), "item %d", i);
	return cJSON_GetObjectItem(data, type);
}

Test(kernel, outputs_come_in_order_with_rich_values)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;
	cJSON *list;

	cr_assert_str_eq(md_kernel_language(k), "stub 1.0");
	run(&r, k, "print a\nprint b\nerr c\npng\nprint d\nvalue 42\n", 0, 0);
	cr_assert_eq(r.exit.code, 0);
	cr_assert_not(md_exit_failed(&r.exit));
	cr_assert_str_eq(r.out.ptr, "a\nb\nd\n");
	cr_assert_str_eq(r.err.ptr, "c\n");
	cr_assert_geq(r.end, r.start);
	list = outs(&r);
	cr_assert_eq(cJSON_GetArraySize(list), 5, "%s", r.outs.ptr);
	assert_stream(list, 0, "stdout", 4); /* two chunks merged */
	assert_stream(list, 1, "stderr", 2);
	/* The PNG stays base64, as the kernel sent it. */
	cr_assert_str_eq(assert_rich(list, 2, "image/png", false)->valuestring,
			 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQ"
			 "VR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==");
	assert_stream(list, 3, "stdout", 2);
	cr_assert_str_eq(assert_rich(list, 4, "text/plain", true)->valuestring,
			 "42");
	cJSON_Delete(list);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, stdout_then_stderr_needs_no_list)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;
	cJSON *list;

	run(&r, k, "print a\nerr b\n", 0, 0);
	cr_assert_eq(r.outs.len, 0, "%s", r.outs.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "err b\nprint a\n", 0, 0);
	list = outs(&r);
	/* What the list does not cover of stdout comes after it. */
	cr_assert_eq(cJSON_GetArraySize(list), 1, "%s", r.outs.ptr);
	assert_stream(list, 0, "stderr", 2);
	cJSON_Delete(list);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, state_carries_from_block_to_block)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "count", 0, 0);
	cr_assert_str_eq(r.out.ptr, "1\n");
	md_proc_result_dispose(&r);
	run(&r, k, "count", 0, 0);
	cr_assert_str_eq(r.out.ptr, "2\n");
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, runs_in_cwd_with_spec_env_and_given_env)
{
	const char *env[] = { "STUB_BOTH=given", NULL };
	struct md_kernel *k = start_stub(false, env);
	struct md_proc_result r;
	struct md_buf want = MD_BUF_INIT;
	char *real = realpath(dir, NULL);

	run(&r, k, "cwd\nenv STUB_SPEC\nenv STUB_BOTH\n", 0, 0);
	md_buf_printf(&want, "%s\nfrom-spec\ngiven\n", real);
	cr_assert_str_eq(r.out.ptr, want.ptr);
	md_buf_dispose(&want);
	free(real);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, an_error_fails_the_block_with_its_traceback)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;
	cJSON *list;

	run(&r, k, "print before\nfail\nprint never\n", 0, 0);
	cr_assert_eq(r.exit.code, 1);
	cr_assert_str_eq(r.out.ptr, "before\n");
	cr_assert_str_eq(r.err.ptr, "Traceback: RuntimeError\n  it failed\n");
	/* stdout, then the traceback on stderr: no list needed. */
	cr_assert_eq(r.outs.len, 0, "%s", r.outs.ptr);
	md_proc_result_dispose(&r);
	/* The kernel lives on. */
	cr_assert(md_kernel_alive(k));
	run(&r, k, "err x\nprint after\n", 0, 0);
	cr_assert_eq(r.exit.code, 0);
	list = outs(&r);
	assert_stream(list, 0, "stderr", 2);
	cJSON_Delete(list);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, forged_and_foreign_messages_are_ignored)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "badsig\nother\nprint mine\n", 0, 0);
	cr_assert_str_eq(r.out.ptr, "mine\n");
	cr_assert_eq(r.exit.code, 0);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, clear_output_drops_what_was_shown)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "print a\nerr b\npng\nclear\nprint c\n", 0, 0);
	cr_assert_str_eq(r.out.ptr, "c\n");
	cr_assert_str_eq(r.err.ptr, "");
	cr_assert_eq(r.outs.len, 0, "%s", r.outs.ptr);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, huge_output_is_cut_at_the_cap)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "big 200000\nerr done\n", 0, 1000);
	cr_assert_eq(r.out.len, 1000);
	cr_assert(r.out_cut);
	cr_assert_str_eq(r.err.ptr, "done\n");
	cr_assert_not(r.err_cut);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, timeout_interrupts_by_signal_and_the_kernel_lives)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "print started\nsleep 120\nprint never\n", 1, 0);
	cr_assert(r.exit.timed_out);
	cr_assert(md_exit_failed(&r.exit));
	cr_assert_str_eq(r.out.ptr, "started\n");
	cr_assert(strstr(r.err.ptr, "KeyboardInterrupt"), "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	cr_assert(md_kernel_alive(k));
	run(&r, k, "print after\n", 0, 0);
	cr_assert_str_eq(r.out.ptr, "after\n");
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, timeout_interrupts_by_message_when_the_spec_says_so)
{
	const char *env[] = { "STUB_NOSIGINT=1", NULL };
	struct md_kernel *k = start_stub(true, env);
	struct md_proc_result r;

	run(&r, k, "sleep 120\n", 1, 0);
	cr_assert(r.exit.timed_out);
	cr_assert(strstr(r.err.ptr, "KeyboardInterrupt"), "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	cr_assert(md_kernel_alive(k));
	md_kernel_stop(k);
}

Test(kernel, a_kernel_that_ignores_the_interrupt_is_killed)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "print started\nhang\n", 1, 0);
	cr_assert(r.exit.timed_out);
	cr_assert_str_eq(r.out.ptr, "started\n");
	cr_assert(strstr(r.err.ptr, "did not stop when interrupted"), "%s",
		  r.err.ptr);
	cr_assert_not(md_kernel_alive(k));
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, a_kernel_that_dies_fails_the_block_only)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "print fine\n", 0, 0);
	cr_assert_eq(r.exit.code, 0);
	md_proc_result_dispose(&r);
	run(&r, k, "print before\ndie\n", 0, 0);
	cr_assert(md_exit_failed(&r.exit));
	cr_assert_not(r.exit.timed_out);
	cr_assert_str_eq(r.out.ptr, "before\n");
	cr_assert(strstr(r.err.ptr, "kernel 'stub' (Stub) died during the "
				    "block: exit 3"),
		  "%s", r.err.ptr);
	cr_assert_not(md_kernel_alive(k));
	md_proc_result_dispose(&r);
	/* Nothing more can be sent to it. */
	cr_assert_lt(md_kernel_run(&r, k, "print x", 7, 0, 0), 0);
	cr_assert(strstr(md_err_msg(), "is not running"), "%s", md_err_msg());
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, a_request_for_input_gets_nothing_and_fails_the_block)
{
	struct md_kernel *k = start_stub(false, NULL);
	struct md_proc_result r;

	run(&r, k, "input\n", 30, 0);
	cr_assert_not(r.exit.timed_out);
	cr_assert_eq(r.exit.code, 1);
	cr_assert_str_eq(r.out.ptr, "read []\n");
	cr_assert(strstr(r.err.ptr, "asked for input"), "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel, stop_removes_the_connection_file)
{
	struct md_kernel *k = start_stub(false, NULL);
	char *rd = md_path_join(dir, "run");
	char **files = NULL;
	size_t n = 0;
	struct stat st;
	struct md_buf p = MD_BUF_INIT;

	cr_assert_eq(md_fs_list(&files, &n, rd), 0);
	for (size_t i = 0; i < n; i++) {
		if (!strstr(files[i], ".json"))
			continue;
		md_buf_printf(&p, "%s/%s", rd, files[i]);
		cr_assert_eq(stat(p.ptr, &st), 0);
		/* It holds the key. */
		cr_assert_eq(st.st_mode & 0777, 0600);
	}
	cr_assert_gt(p.len, 0, "no connection file");
	md_kernel_stop(k);
	cr_assert(md_fs_is_empty(rd));
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	md_buf_dispose(&p);
	free(rd);
}

/*
 * The stub in mode fails to start within timeout, its message holding
 * want, and leaves no file behind.
 */
static void
assert_start_fails(const char *mode, double timeout, const char *want)
{
	const char *env[] = { mode, NULL };
	struct md_kernel_spec s = stub_spec(false);
	struct md_kernel *k = NULL;
	char *rd = run_dir();

	need_stub();
	cr_assert_lt(md_kernel_start(&k, &s, rd, dir, env, timeout), 0);
	cr_assert_null(k);
	cr_assert(strstr(md_err_msg(), want), "%s", md_err_msg());
	cr_assert(md_fs_is_empty(rd));
	free(rd);
}

Test(kernel, a_kernel_that_exits_at_start_is_named)
{
	/* With how it ended and the last lines it wrote. */
	assert_start_fails("STUB_MODE=exit", 30,
			   "kernel 'stub' (Stub) exited before it answered: "
			   "exit 2; its output ends: stub: refusing to start");
}

Test(kernel, a_kernel_that_never_answers_fails_to_start)
{
	assert_start_fails("STUB_MODE=mute", 2,
			   "kernel 'stub' (Stub) did not answer within 2 "
			   "seconds");
}

Test(kernel, a_missing_kernel_program_is_named)
{
	char *argv[] = { "no-such-kernel-program-xyz", "{connection_file}",
			 NULL };
	struct md_kernel_spec s = { .name = "nope", .argv = argv };
	struct md_kernel *k = NULL;
	char *rd = run_dir();

	cr_assert_lt(md_kernel_start(&k, &s, rd, dir, NULL, 5), 0);
	cr_assert(strstr(md_err_msg(), "kernel 'nope'"), "%s", md_err_msg());
	cr_assert(strstr(md_err_msg(), "no-such-kernel-program-xyz"), "%s",
		  md_err_msg());
	free(rd);
}

/*
 * The real kernels, when installed. The spec is read here from
 * kernel.json, as Jupyter has it.
 */
static bool
load_spec(struct md_kernel_spec *s, const char *name)
{
	struct md_buf b = MD_BUF_INIT;
	char *d = md_path_join("/usr/share/jupyter/kernels", name);
	char *p = md_path_join(d, "kernel.json");
	cJSON *j = NULL, *a;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	if (md_fs_read(&b, p) < 0 || !(j = cJSON_Parse(b.ptr))) {
		free(d);
		free(p);
		md_buf_dispose(&b);
		return false;
	}
	s->name = md_strdup(name);
	s->dir = d;
	s->display_name = md_strdup(
		cJSON_GetObjectItem(j, "display_name")->valuestring);
	s->language =
		md_strdup(cJSON_GetObjectItem(j, "language")->valuestring);
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "argv"))
	{
		md_strv_push(&s->argv, &n, md_strdup(a->valuestring));
	}
	a = cJSON_GetObjectItem(j, "interrupt_mode");
	s->interrupt_message = cJSON_IsString(a) &&
			       !strcmp(a->valuestring, "message");
	cJSON_Delete(j);
	free(p);
	md_buf_dispose(&b);
	return true;
}

static void
free_spec(struct md_kernel_spec *s)
{
	free(s->name);
	free(s->dir);
	free(s->display_name);
	free(s->language);
	md_strv_free(s->argv);
	md_strv_free(s->env);
}

/* The real kernel name, started, or the test skipped. */
static struct md_kernel *
start_real(const char *name)
{
	struct md_kernel_spec s;
	struct md_kernel *k = NULL;
	char *rd = run_dir();
	int rc;

	if (!load_spec(&s, name))
		cr_skip_test("no %s kernel", name);
	/* R takes seconds to start. */
	rc = md_kernel_start(&k, &s, rd, dir, NULL, 60);
	free_spec(&s);
	free(rd);
	cr_assert_eq(rc, 0, "%s", md_err_msg());
	return k;
}

Test(kernel_real, ipykernel_keeps_state_and_fails_on_errors)
{
	struct md_kernel *k = start_real("python3");
	struct md_proc_result r;
	cJSON *list;

	cr_assert(!strncmp(md_kernel_language(k), "python 3", 8), "%s",
		  md_kernel_language(k));
	run(&r, k, "x = 41", 60, 0);
	cr_assert_eq(r.exit.code, 0, "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "print(x + 1)\nx + 2", 60, 0);
	cr_assert_eq(r.exit.code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "42\n");
	list = outs(&r);
	cr_assert_eq(cJSON_GetArraySize(list), 2, "%s", r.outs.ptr);
	assert_stream(list, 0, "stdout", 3);
	cr_assert_str_eq(assert_rich(list, 1, "text/plain", true)->valuestring,
			 "43");
	cJSON_Delete(list);
	md_proc_result_dispose(&r);
	run(&r, k, "1 / 0", 60, 0);
	cr_assert_eq(r.exit.code, 1);
	cr_assert(strstr(r.err.ptr, "ZeroDivisionError"), "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "input('name? ')", 60, 0);
	cr_assert_eq(r.exit.code, 1);
	cr_assert(strstr(r.err.ptr, "StdinNotImplementedError"), "%s",
		  r.err.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "import time\ntime.sleep(120)", 1, 0);
	cr_assert(r.exit.timed_out);
	cr_assert(strstr(r.err.ptr, "KeyboardInterrupt"), "%s", r.err.ptr);
	cr_assert(md_kernel_alive(k));
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}

Test(kernel_real, irkernel_keeps_state_plots_and_fails_on_errors,
     .timeout = 240)
{
	struct md_kernel *k = start_real("ir");
	struct md_proc_result r;
	struct md_buf b = MD_BUF_INIT;
	const char *png;
	cJSON *list;

	cr_assert(!strncmp(md_kernel_language(k), "R ", 2), "%s",
		  md_kernel_language(k));
	run(&r, k, "x <- 41", 60, 0);
	cr_assert_eq(r.exit.code, 0, "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "x + 1", 60, 0);
	cr_assert_eq(r.exit.code, 0, "%s", r.err.ptr);
	list = outs(&r);
	/* IRkernel shows a value as a display_data. */
	cr_assert(strstr(assert_rich(list, 0, "text/plain", false)->valuestring,
			 "42"),
		  "%s", r.outs.ptr);
	cJSON_Delete(list);
	md_proc_result_dispose(&r);
	run(&r, k, "plot(1:10)", 60, 0);
	cr_assert_eq(r.exit.code, 0, "%s", r.err.ptr);
	list = outs(&r);
	png = assert_rich(list, 0, "image/png", false)->valuestring;
	/* Base64 without line breaks, a PNG. */
	cr_assert(md_base64_decode(&b, png, strlen(png)), "%.200s", png);
	cr_assert(b.len > 8 && !memcmp(b.ptr, "\x89PNG", 4));
	md_buf_dispose(&b);
	cJSON_Delete(list);
	md_proc_result_dispose(&r);
	run(&r, k, "cat('before\\n'); stop('boom')", 60, 0);
	cr_assert_eq(r.exit.code, 1);
	cr_assert_str_eq(r.out.ptr, "before\n");
	cr_assert(strstr(r.err.ptr, "boom"), "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "readline('name? ')", 60, 0);
	cr_assert_eq(r.exit.code, 1);
	cr_assert(strstr(r.err.ptr, "asked for input"), "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	run(&r, k, "Sys.sleep(120)", 2, 0);
	cr_assert(r.exit.timed_out);
	cr_assert(md_kernel_alive(k));
	md_proc_result_dispose(&r);
	run(&r, k, "x", 60, 0);
	cr_assert_eq(r.exit.code, 0, "%s", r.err.ptr);
	md_proc_result_dispose(&r);
	md_kernel_stop(k);
}
