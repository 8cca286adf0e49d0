#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/doc/doc.h"
#include "../renderer/json_common.h"
#include "../renderer/render.h"
#include "../util/err.h"

/*
 * A document with one block for each case a report shows: ok (echo=false),
 * failed, a plain block, timeout, skipped, not run, bytes that are not
 * text, an image, match=all with two realizations, and a cached block
 * with an output region from an earlier render.
 */
static const char doc_src[] =
	"# Title *here*\n"
	"\n"
	"Some prose.\n"
	"\n"
	"```{sh name=good echo=false}\n"
	"echo hi\n"
	"```\n"
	"\n"
	"Between.\n"
	"\n"
	"```{sh name=bad}\n"
	"exit 3\n"
	"```\n"
	"\n"
	"```sh\n"
	"plain, not run\n"
	"```\n"
	"\n"
	"```{sh name=slow timeout=1}\n"
	"sleep 5\n"
	"```\n"
	"```{sh name=skip deps=bad}\n"
	"echo never\n"
	"```\n"
	"```{sh name=later}\n"
	"echo never\n"
	"```\n"
	"```{python name=bytes}\n"
	"binary\n"
	"```\n"
	"```{python name=plot output=false}\n"
	"png\n"
	"```\n"
	"```{sh name=many match=all}\n"
	"date\n"
	"```\n"
	"```{sh name=stored}\n"
	"echo cached\n"
	"```\n"
	"<!-- mdrun:out -->\n"
	"```output\n"
	"old output\n"
	"```\n"
	"<!-- /mdrun:out -->\n"
	"\n"
	"The end.\n";

enum { GOOD, BAD, PLAIN, SLOW, SKIP, LATER, BYTES, PLOT, MANY, STORED, N };

static const char png[] = "\x89PNG\r\n\x1a\n";
static const struct md_file png_file = {
	"plot.png", "image/png", png, sizeof(png) - 1, "doc_files/p.png",
	"/store/r/plot.png"
};

#define STREAM(s, t, n) { .kind = MD_OUT_STREAM, .stream = (s), .text = (t), \
			  .len = (n) }
static const struct md_out good_outs[] = {
	STREAM(MD_STDOUT, "h\xc3\xa9\n", 4) };
static const struct md_out bad_outs[] = {
	STREAM(MD_STDOUT, "\x1b[31mred\x1b[0m\n", 13),
	STREAM(MD_STDERR, "boom\nbang\n", 10) };
static const struct md_out bytes_outs[] = {
	STREAM(MD_STDOUT, "a\0b\xff", 4), STREAM(MD_STDERR, "\x80", 1) };
static const struct md_out many1_outs[] = {
	STREAM(MD_STDOUT, "first\n", 6) };
static const struct md_out many2_outs[] = {
	STREAM(MD_STDOUT, "second\n", 7) };
static const struct md_out stored_outs[] = {
	STREAM(MD_STDOUT, "cached\n", 7) };
#define OUTS(a) .outs = (a), .nouts = sizeof(a) / sizeof(*(a))

static struct md_view_real reals[] = {
	[GOOD] = { .rhash = "r-good", OUTS(good_outs), .start = 100.0,
		   .end = 100.25 },
	[BAD] = { .rhash = "r-bad", OUTS(bad_outs), .exit = { .code = 3 },
		  .start = 10, .end = 12 },
	[SLOW] = { .rhash = "r-slow",
		   .exit = { .signal = 9, .timed_out = true }, .start = 1,
		   .end = 2 },
	[BYTES] = { .rhash = "r-bytes", OUTS(bytes_outs) },
	[PLOT] = { .rhash = "r-plot", .files = &png_file, .nfiles = 1 },
	[MANY] = { .rhash = "r-many1", OUTS(many1_outs) },
	[MANY + 1] = { .rhash = "r-many2", OUTS(many2_outs) },
	[MANY + 2] = { .rhash = "r-stored", OUTS(stored_outs) },
};

static struct md_doc *doc;
static struct md_view_block blocks[N];
static struct md_view rep;

static void
setup(void)
{
	static const enum md_status status[N] = {
		MD_STATUS_OK, MD_STATUS_FAILED, MD_STATUS_NONE,
		MD_STATUS_TIMEOUT, MD_STATUS_SKIPPED, MD_STATUS_NOT_RUN,
		MD_STATUS_OK, MD_STATUS_OK, MD_STATUS_OK, MD_STATUS_OK
	};

	cr_assert_eq(md_doc_parse(&doc, "t.md", doc_src, strlen(doc_src), 0),
		     0, "%s", md_err_msg());
	cr_assert_eq(doc->nblocks, N);
	memset(blocks, 0, sizeof(blocks));
	for (int i = 0; i < N; i++) {
		blocks[i].block = &doc->blocks[i];
		blocks[i].status = status[i];
		blocks[i].key = status[i] ? "k" : "";
		if (i == PLAIN || i == SKIP || i == LATER)
			continue;
		blocks[i].reals = &reals[i == STORED ? MANY + 2 : i];
		blocks[i].nreals = 1;
	}
	blocks[SKIP].key = "";
	blocks[SKIP].skip = MD_SKIP_UPSTREAM;
	blocks[LATER].skip = MD_SKIP_STOPPED;
	blocks[MANY].nreals = 2;
	blocks[STORED].cached = true;
	blocks[BAD].interpreter = "sh 5.2";
	memset(&rep, 0, sizeof(rep));
	rep.doc = doc;
	rep.path = "t.md";
	rep.blocks = blocks;
}

static void
teardown(void)
{
	md_doc_free(doc);
	doc = NULL;
}

/* The report rendered by f, parsed back. */
static cJSON *
parsed(void (*f)(struct md_buf *, const struct md_view *))
{
	struct md_buf buf = MD_BUF_INIT;
	cJSON *root;

	f(&buf, &rep);
	cr_assert(buf.len > 0 && buf.ptr[buf.len - 1] == '\n');
	root = cJSON_Parse(buf.ptr);
	cr_assert_not_null(root, "not JSON:\n%s", buf.ptr);
	md_buf_dispose(&buf);
	return root;
}

static cJSON *
get(const cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_assert_not_null(v, "no field '%s'", key);
	return v;
}

static void
assert_str(const cJSON *o, const char *key, const char *want)
{
	cJSON *v = get(o, key);

	cr_assert(cJSON_IsString(v), "'%s' is not a string", key);
	cr_assert_str_eq(v->valuestring, want, "'%s'", key);
}

static void
assert_num(const cJSON *o, const char *key, double want)
{
	cJSON *v = get(o, key);

	cr_assert(cJSON_IsNumber(v), "'%s' is not a number", key);
	cr_assert_eq(v->valuedouble, want, "'%s' is %g, not %g", key,
		     v->valuedouble, want);
}

static void
assert_null(const cJSON *o, const char *key)
{
	cr_assert(cJSON_IsNull(get(o, key)), "'%s' is not null", key);
}

static void
assert_bool(const cJSON *o, const char *key, bool want)
{
	cJSON *v = get(o, key);

	cr_assert(cJSON_IsBool(v), "'%s' is not a boolean", key);
	cr_assert_eq(cJSON_IsTrue(v), want, "'%s'", key);
}

static void
assert_absent(const cJSON *o, const char *key)
{
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(o, key),
		       "'%s' should be absent", key);
}

/* The JSON entry of block name. */
static cJSON *
entry(cJSON *root, const char *name)
{
	cJSON *b;

	cJSON_ArrayForEach(b, get(root, "blocks"))
		if (!strcmp(get(b, "name")->valuestring, name))
			return b;
	cr_assert_fail("no block '%s'", name);
	return NULL;
}

TestSuite(json, .init = setup, .fini = teardown);

Test(json, version_document_and_executed_blocks_in_order)
{
	static const char *const names[] = { "good", "bad", "slow", "skip",
		"later", "bytes", "plot", "many", "stored" };
	cJSON *root = parsed(render_json), *b;
	size_t i = 0;

	assert_num(root, "version", RENDER_JSON_VERSION);
	assert_num(root, "version", 1);
	assert_str(get(root, "document"), "path", "t.md");
	/* The heading's text, its markup dropped (the document model's). */
	assert_str(get(root, "document"), "title", "Title here");
	cr_assert_eq(cJSON_GetArraySize(get(root, "blocks")), 9);
	cJSON_ArrayForEach(b, get(root, "blocks"))
		assert_str(b, "name", names[i++]);
	cJSON_Delete(root);
}

Test(json, an_ok_block)
{
	cJSON *root = parsed(render_json), *b = entry(root, "good");

	assert_str(b, "language", "sh");
	assert_num(b, "line", 5);
	cr_assert_eq(cJSON_GetArraySize(get(b, "options")), 1);
	assert_str(get(b, "options"), "echo", "false");
	assert_str(b, "code", "echo hi\n");
	assert_str(b, "key", "k");
	assert_str(b, "rhash", "r-good");
	assert_str(b, "status", "ok");
	assert_bool(b, "cached", false);
	assert_bool(b, "error_ok", false);
	assert_null(b, "interpreter");
	assert_null(b, "note");
	assert_num(b, "exit_code", 0);
	assert_null(b, "signal");
	assert_bool(b, "timed_out", false);
	assert_num(b, "duration", 0.25);
	assert_str(b, "stdout", "h\xc3\xa9\n");
	assert_absent(b, "stdout_base64");
	assert_str(b, "stderr", "");
	assert_absent(b, "stderr_base64");
	cr_assert_eq(cJSON_GetArraySize(get(b, "artifacts")), 0);
	assert_absent(b, "realizations");
	cJSON_Delete(root);
}

Test(json, a_failed_block_keeps_escapes_and_stderr)
{
	cJSON *root = parsed(render_json), *b = entry(root, "bad");

	assert_str(b, "status", "failed");
	assert_num(b, "exit_code", 3);
	assert_null(b, "signal");
	assert_num(b, "duration", 2);
	assert_str(b, "stdout", "\x1b[31mred\x1b[0m\n");
	assert_str(b, "stderr", "boom\nbang\n");
	assert_str(b, "interpreter", "sh 5.2");
	cJSON_Delete(root);
}

Test(json, a_timeout_has_a_signal_and_no_exit_code)
{
	cJSON *root = parsed(render_json), *b = entry(root, "slow");

	assert_str(b, "status", "timeout");
	assert_null(b, "exit_code");
	assert_num(b, "signal", 9);
	assert_bool(b, "timed_out", true);
	assert_str(get(b, "options"), "timeout", "1");
	cJSON_Delete(root);
}

Test(json, skipped_and_not_run_blocks_have_no_realization)
{
	cJSON *root = parsed(render_json);
	const char *names[] = { "skip", "later" };

	for (int i = 0; i < 2; i++) {
		cJSON *b = entry(root, names[i]);

		assert_str(b, "status", i ? "not-run" : "skipped");
		assert_null(b, "rhash");
		assert_null(b, "exit_code");
		assert_null(b, "signal");
		assert_null(b, "timed_out");
		assert_null(b, "duration");
		assert_null(b, "stdout");
		assert_null(b, "stderr");
		cr_assert_eq(cJSON_GetArraySize(get(b, "artifacts")), 0);
	}
	assert_null(entry(root, "skip"), "key");
	assert_str(entry(root, "later"), "key", "k");
	assert_str(entry(root, "skip"), "note", "not run: upstream failed");
	assert_str(entry(root, "later"), "note", "not run: mdrun stopped");
	assert_str(get(entry(root, "skip"), "options"), "deps", "bad");
	cJSON_Delete(root);
}

Test(json, bytes_that_are_not_text_are_also_in_base64)
{
	cJSON *root = parsed(render_json), *b = entry(root, "bytes");

	/* NUL as U+2400, the invalid byte as U+FFFD. */
	assert_str(b, "stdout", "a\xe2\x90\x80" "b\xef\xbf\xbd");
	assert_str(b, "stdout_base64", "YQBi/w==");
	assert_str(b, "stderr", "\xef\xbf\xbd");
	assert_str(b, "stderr_base64", "gA==");
	assert_str(b, "language", "python");
	cJSON_Delete(root);
}

Test(json, artifacts)
{
	cJSON *root = parsed(render_json), *b = entry(root, "plot"), *a;

	cr_assert_eq(cJSON_GetArraySize(get(b, "artifacts")), 1);
	a = cJSON_GetArrayItem(get(b, "artifacts"), 0);
	assert_str(a, "name", "plot.png");
	assert_str(a, "mime", "image/png");
	assert_num(a, "bytes", 8);
	assert_str(a, "path", "/store/r/plot.png");
	cJSON_Delete(root);
}

Test(json, match_all_lists_every_realization)
{
	cJSON *root = parsed(render_json), *b = entry(root, "many"), *rs;

	assert_str(b, "rhash", "r-many1");
	assert_str(b, "stdout", "first\n");
	rs = get(b, "realizations");
	cr_assert_eq(cJSON_GetArraySize(rs), 2);
	assert_str(cJSON_GetArrayItem(rs, 0), "rhash", "r-many1");
	assert_str(cJSON_GetArrayItem(rs, 1), "rhash", "r-many2");
	assert_str(cJSON_GetArrayItem(rs, 1), "stdout", "second\n");
	assert_num(cJSON_GetArrayItem(rs, 1), "exit_code", 0);
	cr_assert(cJSON_IsArray(get(cJSON_GetArrayItem(rs, 1), "artifacts")));
	cJSON_Delete(root);
}

Test(json, cached)
{
	cJSON *root = parsed(render_json);

	assert_bool(entry(root, "stored"), "cached", true);
	assert_str(entry(root, "stored"), "stdout", "cached\n");
	assert_bool(entry(root, "many"), "cached", false);
	cJSON_Delete(root);
}

Test(json, same_report_same_bytes)
{
	struct md_buf a = MD_BUF_INIT, b = MD_BUF_INIT;

	render_json(&a, &rep);
	render_json(&b, &rep);
	cr_assert_str_eq(a.ptr, b.ptr);
	md_buf_dispose(&a);
	md_buf_dispose(&b);
}

/* --- ipynb ----------------------------------------------------------- */

TestSuite(ipynb, .init = setup, .fini = teardown);

static cJSON *
cell(cJSON *nb, int i)
{
	cJSON *c = cJSON_GetArrayItem(get(nb, "cells"), i);

	cr_assert_not_null(c, "no cell %d", i);
	return c;
}

/* The cell's source (a list of lines), joined. */
static char *
joined(const cJSON *list)
{
	struct md_buf b = MD_BUF_INIT;
	const cJSON *l;

	cr_assert(cJSON_IsArray(list));
	cJSON_ArrayForEach(l, list) {
		cr_assert(cJSON_IsString(l));
		md_buf_puts(&b, l->valuestring);
	}
	return md_buf_detach(&b);
}

static void
assert_lines(const cJSON *o, const char *key, const char *want)
{
	char *s = joined(get(o, key));

	cr_assert_str_eq(s, want, "'%s'", key);
	free(s);
}

Test(ipynb, nbformat_kernelspec_and_title)
{
	cJSON *nb = parsed(render_ipynb), *meta = get(nb, "metadata");

	assert_num(nb, "nbformat", 4);
	assert_num(nb, "nbformat_minor", 5);
	assert_str(get(meta, "kernelspec"), "name", "bash");
	assert_str(get(meta, "kernelspec"), "display_name", "Bash");
	assert_str(get(meta, "kernelspec"), "language", "bash");
	assert_str(get(meta, "language_info"), "name", "bash");
	assert_str(meta, "title", "Title here");
	cJSON_Delete(nb);
}

Test(ipynb, cells_in_document_order_with_ids)
{
	static const char types[] = "mcmcmcccccccm";
	cJSON *nb = parsed(render_ipynb), *c;
	char id[16];
	int i = 0;

	cr_assert_eq(cJSON_GetArraySize(get(nb, "cells")), 13);
	cJSON_ArrayForEach(c, get(nb, "cells")) {
		assert_str(c, "cell_type",
			   types[i] == 'm' ? "markdown" : "code");
		snprintf(id, sizeof(id), "cell-%d", i + 1);
		assert_str(c, "id", id);
		cr_assert(cJSON_IsObject(get(c, "metadata")));
		if (types[i] == 'm') {
			assert_absent(c, "outputs");
			assert_absent(c, "execution_count");
		}
		i++;
	}
	cJSON_Delete(nb);
}

Test(ipynb, prose_without_blocks_and_old_outputs)
{
	cJSON *nb = parsed(render_ipynb);

	assert_lines(cell(nb, 0), "source", "# Title *here*\n\nSome prose.");
	cr_assert_eq(cJSON_GetArraySize(get(cell(nb, 0), "source")), 3);
	cr_assert_str_eq(cJSON_GetArrayItem(get(cell(nb, 0), "source"), 0)
				 ->valuestring, "# Title *here*\n");
	assert_lines(cell(nb, 2), "source", "Between.");
	/* A plain block stays in the prose, fenced. */
	assert_lines(cell(nb, 4), "source", "```sh\nplain, not run\n```");
	/* The earlier render's region is gone. */
	assert_lines(cell(nb, 12), "source", "The end.");
	cJSON_Delete(nb);
}

Test(ipynb, an_ok_code_cell)
{
	cJSON *nb = parsed(render_ipynb), *c = cell(nb, 1), *o;

	assert_lines(c, "source", "echo hi");
	assert_num(c, "execution_count", 1);
	assert_str(get(c, "metadata"), "name", "good");
	assert_bool(get(get(c, "metadata"), "jupyter"), "source_hidden", true);
	assert_str(get(get(c, "metadata"), "mdrun"), "status", "ok");
	cr_assert_eq(cJSON_GetArraySize(get(c, "outputs")), 1);
	o = cJSON_GetArrayItem(get(c, "outputs"), 0);
	assert_str(o, "output_type", "stream");
	assert_str(o, "name", "stdout");
	assert_lines(o, "text", "h\xc3\xa9\n");
	cJSON_Delete(nb);
}

Test(ipynb, a_failure_is_an_error_output_with_stderr_as_traceback)
{
	cJSON *nb = parsed(render_ipynb), *c = cell(nb, 3), *o, *tb;

	assert_num(c, "execution_count", 2);
	assert_absent(get(c, "metadata"), "jupyter");
	cr_assert_eq(cJSON_GetArraySize(get(c, "outputs")), 2);
	o = cJSON_GetArrayItem(get(c, "outputs"), 0);
	assert_str(o, "name", "stdout");
	assert_lines(o, "text", "\x1b[31mred\x1b[0m\n");
	o = cJSON_GetArrayItem(get(c, "outputs"), 1);
	assert_str(o, "output_type", "error");
	assert_str(o, "ename", "ExitStatus");
	assert_str(o, "evalue", "exit status 3");
	tb = get(o, "traceback");
	cr_assert_eq(cJSON_GetArraySize(tb), 3);
	cr_assert_str_eq(cJSON_GetArrayItem(tb, 0)->valuestring, "boom");
	cr_assert_str_eq(cJSON_GetArrayItem(tb, 1)->valuestring, "bang");
	cr_assert_str_eq(cJSON_GetArrayItem(tb, 2)->valuestring,
			 "ExitStatus: exit status 3");
	cJSON_Delete(nb);
}

Test(ipynb, a_timeout)
{
	cJSON *nb = parsed(render_ipynb), *c = cell(nb, 5), *o;

	assert_num(c, "execution_count", 3);
	cr_assert_eq(cJSON_GetArraySize(get(c, "outputs")), 1);
	o = cJSON_GetArrayItem(get(c, "outputs"), 0);
	assert_str(o, "ename", "Timeout");
	assert_str(o, "evalue", "timed out after 1s");
	cJSON_Delete(nb);
}

Test(ipynb, skipped_and_not_run_have_no_count_and_no_outputs)
{
	cJSON *nb = parsed(render_ipynb);

	for (int i = 6; i <= 7; i++) {
		assert_null(cell(nb, i), "execution_count");
		cr_assert_eq(cJSON_GetArraySize(get(cell(nb, i), "outputs")),
			     0);
	}
	assert_str(get(get(cell(nb, 6), "metadata"), "mdrun"), "status",
		   "skipped");
	assert_str(get(get(cell(nb, 6), "metadata"), "mdrun"), "note",
		   "not run: upstream failed");
	assert_str(get(get(cell(nb, 7), "metadata"), "mdrun"), "status",
		   "not-run");
	cJSON_Delete(nb);
}

Test(ipynb, bytes_become_valid_text)
{
	cJSON *nb = parsed(render_ipynb), *c = cell(nb, 8), *o;

	assert_num(c, "execution_count", 4);
	o = cJSON_GetArrayItem(get(c, "outputs"), 0);
	assert_lines(o, "text", "a\xe2\x90\x80" "b\xef\xbf\xbd");
	o = cJSON_GetArrayItem(get(c, "outputs"), 1);
	assert_str(o, "name", "stderr");
	assert_lines(o, "text", "\xef\xbf\xbd");
	cJSON_Delete(nb);
}

Test(ipynb, an_image_is_display_data)
{
	cJSON *nb = parsed(render_ipynb), *c = cell(nb, 9), *o;

	assert_num(c, "execution_count", 5);
	assert_bool(get(get(c, "metadata"), "jupyter"), "outputs_hidden",
		    true);
	cr_assert_eq(cJSON_GetArraySize(get(c, "outputs")), 1);
	o = cJSON_GetArrayItem(get(c, "outputs"), 0);
	assert_str(o, "output_type", "display_data");
	assert_str(get(o, "data"), "image/png", "iVBORw0KGgo=");
	assert_lines(get(o, "data"), "text/plain", "plot.png");
	cr_assert(cJSON_IsObject(get(o, "metadata")));
	cr_assert_eq(cJSON_GetArraySize(get(o, "metadata")), 0);
	cJSON_Delete(nb);
}

Test(ipynb, match_all_and_cached)
{
	cJSON *nb = parsed(render_ipynb), *c = cell(nb, 10);

	assert_num(c, "execution_count", 6);
	cr_assert_eq(cJSON_GetArraySize(get(c, "outputs")), 2);
	assert_lines(cJSON_GetArrayItem(get(c, "outputs"), 0), "text",
		     "first\n");
	assert_lines(cJSON_GetArrayItem(get(c, "outputs"), 1), "text",
		     "second\n");
	c = cell(nb, 11);
	assert_num(c, "execution_count", 7);
	assert_bool(get(get(c, "metadata"), "mdrun"), "cached", true);
	assert_lines(cJSON_GetArrayItem(get(c, "outputs"), 0), "text",
		     "cached\n");
	cJSON_Delete(nb);
}

/* --- documents of their own --------------------------------------- */

/* The report f makes of src, every executable block "ok", no output. */
static cJSON *
report_of(void (*f)(struct md_buf *, const struct md_view *), const char *src)
{
	static const struct md_view_real none = { .rhash = "r" };
	struct md_doc *d = NULL;
	struct md_view_block *rbs;
	struct md_view r = { 0 };
	struct md_buf buf = MD_BUF_INIT;
	cJSON *nb;
	size_t i;

	cr_assert_eq(md_doc_parse(&d, "d.md", src, strlen(src), 0), 0, "%s",
		     md_err_msg());
	rbs = calloc(d->nblocks + 1, sizeof(*rbs));
	for (i = 0; i < d->nblocks; i++) {
		rbs[i].block = &d->blocks[i];
		rbs[i].key = "";
		if (d->blocks[i].exec) {
			rbs[i].status = MD_STATUS_OK;
			rbs[i].key = "k";
			rbs[i].reals = &none;
			rbs[i].nreals = 1;
		}
	}
	r.doc = d;
	r.path = "d.md";
	r.blocks = rbs;
	f(&buf, &r);
	nb = cJSON_Parse(buf.ptr);
	cr_assert_not_null(nb);
	md_buf_dispose(&buf);
	free(rbs);
	md_doc_free(d);
	return nb;
}

static cJSON *
notebook(const char *src)
{
	return report_of(render_ipynb, src);
}

Test(json, an_option_written_twice_is_the_last)
{
	cJSON *root = report_of(render_json,
				"```{sh echo=true timeout=2 echo=false}\n"
				"```\n");
	cJSON *b = cJSON_GetArrayItem(get(root, "blocks"), 0);

	cr_assert_eq(cJSON_GetArraySize(get(b, "options")), 2);
	assert_str(get(b, "options"), "echo", "false");
	assert_str(get(b, "options"), "timeout", "2");
	assert_null(get(root, "document"), "title");
	cJSON_Delete(root);
}

Test(notebook, no_executable_block_is_one_markdown_cell)
{
	cJSON *nb = notebook("Just text.\n\n```sh\nls\n```\n");

	cr_assert_eq(cJSON_GetArraySize(get(nb, "cells")), 1);
	assert_lines(cell(nb, 0), "source", "Just text.\n\n```sh\nls\n```");
	assert_absent(get(nb, "metadata"), "kernelspec");
	assert_absent(get(nb, "metadata"), "title");
	cJSON_Delete(nb);
}

Test(notebook, blank_prose_makes_no_cell_and_crlf_becomes_lf)
{
	cJSON *nb = notebook("```{python}\nx = 1\n```\n\n  \n"
			     "```{python}\nprint(x)\n```\r\n\r\nend\r\nz\r\n");

	cr_assert_eq(cJSON_GetArraySize(get(nb, "cells")), 3);
	assert_str(cell(nb, 0), "cell_type", "code");
	assert_str(cell(nb, 1), "cell_type", "code");
	assert_lines(cell(nb, 2), "source", "end\nz");
	assert_str(get(get(nb, "metadata"), "kernelspec"), "name", "python3");
	assert_str(get(get(nb, "metadata"), "kernelspec"), "display_name",
		   "Python 3");
	assert_str(get(get(nb, "metadata"), "language_info"), "name",
		   "python");
	cJSON_Delete(nb);
}

Test(notebook, another_language_names_its_own_kernel)
{
	cJSON *nb = notebook("```{ruby}\nputs 1\n```\n");

	assert_str(get(get(nb, "metadata"), "kernelspec"), "name", "ruby");
	assert_str(get(get(nb, "metadata"), "language_info"), "name", "ruby");
	cJSON_Delete(nb);
}

/* --- the document model's title and front matter ------------------ */

Test(notebook, the_title_is_the_first_heading_after_front_matter_and_a_bom)
{
	static const char src[] = "\xef\xbb\xbf---\ntitle: Front\n---\n"
				  "Intro.\n\n## The *real* one\n\n"
				  "```{sh}\necho\n```\n";
	cJSON *nb = notebook(src), *root = report_of(render_json, src);

	assert_str(get(nb, "metadata"), "title", "The real one");
	assert_str(get(root, "document"), "title", "The real one");
	/* The front matter is a raw cell of its own, the mark gone. */
	assert_str(cell(nb, 0), "cell_type", "raw");
	assert_lines(cell(nb, 0), "source", "---\ntitle: Front\n---");
	assert_str(cell(nb, 1), "cell_type", "markdown");
	assert_lines(cell(nb, 1), "source", "Intro.\n\n## The *real* one");
	cJSON_Delete(nb);
	cJSON_Delete(root);
}

Test(notebook, no_heading_no_title)
{
	cJSON *nb = notebook("---\ntitle: x\n---\nbody\n");

	assert_absent(get(nb, "metadata"), "title");
	cJSON_Delete(nb);
}

/* A straightforward encoder to check the chunked one against. */
static char *
base64_ref(const unsigned char *s, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

Test(base64, short_and_chunked)
{
	static const char *const want[] = { "", "YQ==", "YWI=", "YWJj",
					    "YWJjZA==" };
	size_t n = 100000 + 1, i;
	unsigned char *big = malloc(n);
	char *got, *ref;

	for (i = 0; i < 5; i++) {
		got = render_json_base64("abcd", i);
		cr_assert_str_eq(got, want[i]);
		free(got);
	}
	for (i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	got = render_json_base64((const char *)big, n);
	ref = base64_ref(big, n);
	cr_assert_eq(strlen(got), (n + 2) / 3 * 4);
	cr_assert_str_eq(got, ref);
	free(got);
	free(ref);
	free(big);
}

Test(utf8, valid_text_is_kept_exactly)
{
	struct md_buf b = MD_BUF_INIT;

	cr_assert(render_json_utf8(&b, "\xe2\x82\xac\t\x1b[0m\r\n", 9));
	cr_assert_eq(b.len, 9);
	cr_assert_eq(memcmp(b.ptr, "\xe2\x82\xac\t\x1b[0m\r\n", 9), 0);
	md_buf_clear(&b);
	/* Overlong, surrogate, truncated. */
	cr_assert_not(render_json_utf8(&b, "\xc0\xaf\xed\xa0\x80\xe2\x82", 7));
	cr_assert_str_eq(b.ptr, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				"\xef\xbf\xbd");
	md_buf_dispose(&b);
}

/* --- ordered outputs: JSON "outputs", notebook outputs ------------- */

static const char onepx[] = "\x89PNG\r\n\x1a\n\0\1";
static const struct md_mime value_bundle[] = {
	{ "text/html", "<b>1</b>", 8 },
	{ "application/json", "{\"a\": [1, 2]}", 13 },
	{ "text/plain", "1\n2", 3 },
};
static const struct md_mime figure_bundle[] = {
	{ "image/png", onepx, sizeof(onepx) - 1 },
	{ "text/plain", "<Figure>", 8 },
};
static const struct md_mime broken_json[] = {
	{ "application/json", "{nope", 5 },
};
static const struct md_out rich_outs[] = {
	STREAM(MD_STDOUT, "a", 1),
	STREAM(MD_STDERR, "", 0),
	STREAM(MD_STDOUT, "b\n", 2),
	STREAM(MD_STDERR, "w\xff\n", 3),
	{ .kind = MD_OUT_RICH, .bundle = figure_bundle, .nbundle = 2 },
	{ .kind = MD_OUT_RICH, .bundle = value_bundle, .nbundle = 3,
	  .result = true },
	{ .kind = MD_OUT_RICH, .bundle = broken_json, .nbundle = 1 },
	{ .kind = MD_OUT_ERROR,
	  .text = "Traceback:\n  line 1\nValueError: bad x\n", .len = 38 },
};
static const struct md_file figure_file = {
	"fig.png", "image/png", onepx, sizeof(onepx) - 1, "doc_files/f.png",
	"/store/fig.png"
};

/* The report f makes of one python block that showed rich_outs. */
static cJSON *
rich_report(void (*f)(struct md_buf *, const struct md_view *),
	    struct md_exit e)
{
	static const char src[] = "```{python}\nshow()\n```\n";
	struct md_view_real r = { .rhash = "r", .exit = e, OUTS(rich_outs),
				  .files = &figure_file, .nfiles = 1 };
	struct md_view_block b = { 0 };
	struct md_view v = { 0 };
	struct md_buf buf = MD_BUF_INIT;
	struct md_doc *d = NULL;
	cJSON *root;

	cr_assert_eq(md_doc_parse(&d, "d.md", src, strlen(src), 0), 0);
	b.block = &d->blocks[0];
	b.status = md_exit_failed(&e) ? MD_STATUS_FAILED : MD_STATUS_OK;
	b.key = "k";
	b.reals = &r;
	b.nreals = 1;
	v.doc = d;
	v.path = "d.md";
	v.blocks = &b;
	f(&buf, &v);
	root = cJSON_Parse(buf.ptr);
	cr_assert_not_null(root, "not JSON:\n%s", buf.ptr);
	md_buf_dispose(&buf);
	md_doc_free(d);
	return root;
}

static cJSON *
item(const cJSON *arr, int i)
{
	cJSON *x = cJSON_GetArrayItem(arr, i);

	cr_assert_not_null(x, "no item %d", i);
	return x;
}

Test(json, outputs_in_order_with_every_representation)
{
	struct md_exit ok = { 0 };
	cJSON *root = rich_report(render_json, ok);
	cJSON *b = cJSON_GetArrayItem(get(root, "blocks"), 0);
	cJSON *outs = get(b, "outputs"), *o;

	cr_assert_eq(cJSON_GetArraySize(outs), 6);
	o = item(outs, 0);
	assert_str(o, "type", "stream");
	assert_str(o, "name", "stdout");
	assert_str(o, "text", "ab\n");
	assert_absent(o, "text_base64");
	o = item(outs, 1);
	assert_str(o, "name", "stderr");
	assert_str(o, "text", "w\xef\xbf\xbd\n");
	assert_str(o, "text_base64", "d/8K");
	o = item(outs, 2);
	assert_str(o, "type", "display_data");
	assert_str(get(o, "data"), "image/png", "iVBORw0KGgoAAQ==");
	assert_str(get(o, "data"), "text/plain", "<Figure>");
	o = item(outs, 3);
	assert_str(o, "type", "execute_result");
	assert_str(get(o, "data"), "text/html", "<b>1</b>");
	cr_assert(cJSON_IsArray(get(get(get(o, "data"), "application/json"),
				    "a")));
	assert_str(get(o, "data"), "text/plain", "1\n2");
	assert_str(get(item(outs, 4), "data"), "application/json", "{nope");
	o = item(outs, 5);
	assert_str(o, "type", "error");
	assert_str(o, "text", "Traceback:\n  line 1\nValueError: bad x\n");
	/* Today's fields hold every chunk of each stream. */
	assert_str(b, "stdout", "ab\n");
	assert_str(b, "stderr", "w\xef\xbf\xbd\n");
	cr_assert_eq(cJSON_GetArraySize(get(b, "artifacts")), 1);
	cJSON_Delete(root);
}

Test(json, a_block_without_a_realization_has_no_outputs)
{
	cJSON *root = parsed(render_json);

	cr_assert_eq(cJSON_GetArraySize(get(entry(root, "skip"), "outputs")),
		     0);
	cr_assert_eq(cJSON_GetArraySize(get(entry(root, "good"), "outputs")),
		     1);
	cJSON_Delete(root);
}

Test(notebook, rich_outputs_and_a_runners_error)
{
	struct md_exit failed = { .code = 1 };
	cJSON *nb = rich_report(render_ipynb, failed);
	cJSON *c = cell(nb, 0), *outs = get(c, "outputs"), *o, *tb;

	/*
	 * The figure's file is the figure: no display of its own. The
	 * runner's error is the failure: stderr stays a stream and no
	 * ExitStatus error follows.
	 */
	cr_assert_eq(cJSON_GetArraySize(outs), 6);
	o = item(outs, 0);
	assert_str(o, "output_type", "stream");
	assert_lines(o, "text", "ab\n");
	o = item(outs, 1);
	assert_str(o, "name", "stderr");
	assert_lines(o, "text", "w\xef\xbf\xbd\n");
	o = item(outs, 2);
	assert_str(o, "output_type", "display_data");
	assert_str(get(o, "data"), "image/png", "iVBORw0KGgoAAQ==");
	assert_lines(get(o, "data"), "text/plain", "<Figure>");
	cr_assert(cJSON_IsObject(get(o, "metadata")));
	o = item(outs, 3);
	assert_str(o, "output_type", "execute_result");
	assert_num(o, "execution_count", 1);
	assert_lines(get(o, "data"), "text/plain", "1\n2");
	cr_assert(cJSON_IsObject(get(get(o, "data"), "application/json")));
	o = item(outs, 4);
	assert_str(o, "output_type", "display_data");
	assert_lines(get(o, "data"), "application/json", "{nope");
	o = item(outs, 5);
	assert_str(o, "output_type", "error");
	assert_str(o, "ename", "ValueError");
	assert_str(o, "evalue", "bad x");
	tb = get(o, "traceback");
	cr_assert_eq(cJSON_GetArraySize(tb), 3);
	cr_assert_str_eq(item(tb, 2)->valuestring, "ValueError: bad x");
	cJSON_Delete(nb);
}

Test(notebook, a_timeout_after_a_runners_error_says_so_too)
{
	struct md_exit timeout = { .signal = 9, .timed_out = true };
	cJSON *nb = rich_report(render_ipynb, timeout);
	cJSON *outs = get(cell(nb, 0), "outputs"), *o;

	/* stderr goes into the timeout's traceback, not a stream. */
	cr_assert_eq(cJSON_GetArraySize(outs), 6);
	assert_str(item(outs, 1), "output_type", "display_data");
	assert_str(item(outs, 4), "ename", "ValueError");
	o = item(outs, 5);
	assert_str(o, "ename", "Timeout");
	assert_str(o, "evalue", "timed out");
	cr_assert_eq(cJSON_GetArraySize(get(o, "traceback")), 2);
	cr_assert_str_eq(item(get(o, "traceback"), 0)->valuestring,
			 "w\xef\xbf\xbd");
	cr_assert_str_eq(item(get(o, "traceback"), 1)->valuestring,
			 "Timeout: timed out");
	cJSON_Delete(nb);
}

/* --- check's reports: JUnit XML and GitHub annotations -------------- */

static const char check_src[] = "# T\n\n```{sh name=ok}\necho hi\n```\n\n"
				"```{sh name=bad}\nexit 3\n```\n\n"
				"```{sh name=stale}\ndate\n```\n\n"
				"```sh\nplain\n```\n\n"
				"```{sh name=never}\necho no\n```\n";

static const struct md_out ok_outs[] = {
	STREAM(MD_STDOUT, "hi <&>\n", 7), STREAM(MD_STDOUT, "\r50%\r100%\n", 10)
};
static const struct md_out fail_outs[] = {
	STREAM(MD_STDOUT, "partial\n", 8), STREAM(MD_STDERR, "boom \"x\"\n", 9)
};

struct checked {
	struct md_doc *doc;
	struct md_view view;
	struct md_view_block vb[5];
	struct md_view_real reals[3];
	struct md_check_block cb[5];
	struct md_check_doc d;
};

/* A checked document: ok ran, bad failed, stale cached and stale. */
static void
checked_init(struct checked *c)
{
	memset(c, 0, sizeof(*c));
	cr_assert_eq(md_doc_parse(&c->doc, "docs/t.md", check_src,
				  strlen(check_src), 0), 0);
	cr_assert_eq(c->doc->nblocks, 5);
	c->reals[0] = (struct md_view_real){ .rhash = "r0", .start = 10,
					     .end = 10.25, OUTS(ok_outs) };
	c->reals[1] = (struct md_view_real){ .rhash = "r1", .start = 20,
					     .end = 21.5, .exit = { .code = 3 },
					     OUTS(fail_outs) };
	c->reals[2] = (struct md_view_real){ .rhash = "r2", .start = 1,
					     .end = 9 };
	for (int i = 0; i < 5; i++) {
		c->vb[i].block = &c->doc->blocks[i];
		c->vb[i].key = "";
	}
	c->vb[0].status = MD_STATUS_OK;
	c->vb[0].reals = &c->reals[0];
	c->vb[0].nreals = 1;
	c->vb[1].status = MD_STATUS_FAILED;
	c->vb[1].reals = &c->reals[1];
	c->vb[1].nreals = 1;
	c->vb[2].status = MD_STATUS_OK;
	c->vb[2].cached = true;
	c->vb[2].reals = &c->reals[2];
	c->vb[2].nreals = 1;
	c->vb[4].status = MD_STATUS_NOT_RUN;
	c->vb[4].skip = MD_SKIP_FAILED;
	c->cb[1] = (struct md_check_block){ MD_VERDICT_FAILED,
					   "block bad failed (exit 3)", NULL,
					   0 };
	c->cb[2] = (struct md_check_block){ MD_VERDICT_STALE,
					   "block stale: output is not current",
					   "-old\n+new <x>\n", 14 };
	c->view.doc = c->doc;
	c->view.path = "docs/t.md";
	c->view.blocks = c->vb;
	c->d.input = "docs/t.md";
	c->d.file = "docs/t,1.md";
	c->d.out_file = "docs/t.out.md";
	c->d.view = &c->view;
	c->d.blocks = c->cb;
}

Test(junit, a_suite_per_document_a_case_per_executed_block)
{
	struct checked c;
	struct md_check_doc docs[2];
	struct md_buf x = MD_BUF_INIT;

	checked_init(&c);
	c.d.prose = "t.out.md differs from what docs/t.md renders to";
	c.d.prose_line = 7;
	c.d.patch = "@@ -7 +7 @@\n-a\n+b\n";
	c.d.patch_len = 18;
	docs[0] = c.d;
	memset(&docs[1], 0, sizeof(docs[1]));
	docs[1].input = "bad.md";
	docs[1].error = "bad.md:3:5: unknown option 'x' <here>";
	render_junit(&x, docs, 2, 1.5);
	cr_assert_str_eq(x.ptr,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"mdrun check\" tests=\"6\" failures=\"3\" "
		"errors=\"1\" skipped=\"1\" time=\"1.500\">\n"
		"  <testsuite name=\"docs/t.md\" tests=\"5\">\n"
		"    <testcase name=\"ok\" classname=\"docs/t,1.md\" "
		"file=\"docs/t,1.md\" line=\"3\" time=\"0.250\">\n"
		"      <system-out>hi &lt;&amp;&gt;\n100%\n</system-out>\n"
		"    </testcase>\n"
		"    <testcase name=\"bad\" classname=\"docs/t,1.md\" "
		"file=\"docs/t,1.md\" line=\"7\" time=\"1.500\">\n"
		"      <failure type=\"failed\" message=\"block bad failed "
		"(exit 3)\">boom &quot;x&quot;\n</failure>\n"
		"      <system-out>partial\n</system-out>\n"
		"      <system-err>boom &quot;x&quot;\n</system-err>\n"
		"    </testcase>\n"
		"    <testcase name=\"stale\" classname=\"docs/t,1.md\" "
		"file=\"docs/t,1.md\" line=\"11\" time=\"0.000\">\n"
		"      <failure type=\"stale\" message=\"block stale: output "
		"is not current\">-old\n+new &lt;x&gt;\n</failure>\n"
		"    </testcase>\n"
		"    <testcase name=\"never\" classname=\"docs/t,1.md\" "
		"file=\"docs/t,1.md\" line=\"19\" time=\"0.000\">\n"
		"      <skipped message=\"*not run: an earlier block "
		"failed*\"/>\n"
		"    </testcase>\n"
		"    <testcase name=\"(document)\" classname=\"docs/t.out.md\" "
		"file=\"docs/t.out.md\" line=\"7\" time=\"0.000\">\n"
		"      <failure type=\"stale\" message=\"t.out.md differs from "
		"what docs/t.md renders to\">@@ -7 +7 @@\n-a\n+b\n</failure>\n"
		"    </testcase>\n"
		"  </testsuite>\n"
		"  <testsuite name=\"bad.md\" tests=\"1\">\n"
		"    <testcase name=\"(document)\" classname=\"bad.md\" "
		"file=\"bad.md\" line=\"1\" time=\"0.000\">\n"
		"      <error type=\"error\" message=\"bad.md:3:5: unknown "
		"option 'x' &lt;here&gt;\"></error>\n"
		"    </testcase>\n"
		"  </testsuite>\n"
		"</testsuites>\n");
	md_buf_dispose(&x);
	md_doc_free(c.doc);
}

Test(junit, nothing_checked)
{
	struct md_buf x = MD_BUF_INIT;

	render_junit(&x, NULL, 0, 0);
	cr_assert_str_eq(x.ptr, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<testsuites name=\"mdrun check\" tests=\"0\" "
				"failures=\"0\" errors=\"0\" skipped=\"0\" "
				"time=\"0.000\">\n</testsuites>\n");
	md_buf_dispose(&x);
}

Test(annotations, a_line_per_finding)
{
	struct checked c;
	struct md_check_doc bad;
	struct md_buf a = MD_BUF_INIT;

	checked_init(&c);
	c.d.prose = "docs/t.out.md is missing: 100%\nsure";
	c.d.prose_line = 0;
	render_annotations(&a, &c.d);
	cr_assert_str_eq(a.ptr,
		"::error file=docs/t%2C1.md,line=7,title=mdrun check::"
		"block bad failed (exit 3)\n"
		"::error file=docs/t%2C1.md,line=11,title=mdrun check::"
		"block stale: output is not current\n"
		"::error file=docs/t.out.md,line=1,title=mdrun check::"
		"docs/t.out.md is missing: 100%25%0Asure\n");
	md_buf_clear(&a);
	memset(&bad, 0, sizeof(bad));
	bad.input = "C:/x.md";
	bad.error = "C:/x.md: no such file";
	render_annotations(&a, &bad);
	cr_assert_str_eq(a.ptr, "::error file=C%3A/x.md,line=1,"
				"title=mdrun check::C:/x.md: no such file\n");
	md_buf_dispose(&a);
	md_doc_free(c.doc);
}
