/*
 * Golden files of every format (tests/golden/, README.md there): each
 * document NAME.md there is given the outputs described below (fixed
 * rhashes, keys and times, so the same bytes on every machine), rendered
 * to Markdown, HTML, JSON and a notebook, and compared byte for byte with
 * NAME.out.md, NAME.html, NAME.json and NAME.ipynb.
 *
 * MDRUN_GOLDEN_UPDATE=1 in the environment rewrites the golden files
 * instead of comparing with them (every test then passes): do it on
 * purpose, after a change to a renderer, and read the diff before
 * committing it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/doc/doc.h"
#include "../renderer/render.h"
#include "../util/err.h"
#include "../util/fs.h"

/* 64 hex digits: c (4 of them) 16 times. */
#define RHASH(c) c c c c c c c c c c c c c c c c
#define KEY RHASH("5a1e")

/* What one executed block shows, found by its name. */
struct golden_block {
	const char *name;
	enum md_status status;
	enum md_skip skip;
	bool cached;
	const char *interpreter;
	const struct md_view_real *reals;
	size_t nreals;
};

/* A 1x1 PNG of PNG_LEN bytes (sizeof counts the literal's NUL). */
static const char png[] =
	"\x89PNG\x0d\x0a\x1a\x0a\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02"
	"\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9c" "c\xf8\xcf\xc0\0\0\x03\x01\x01\0"
	"\xc9\xfe\x92\xef\0\0\0\0IEND\xae" "B`\x82";
#define PNG_LEN (sizeof(png) - 1)
static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" "
			  "width=\"1\" height=\"1\"/>\n";

#define STREAM(s, t) { .kind = MD_OUT_STREAM, .stream = (s), .text = (t), \
		       .len = sizeof(t) - 1 }
#define OUT(t) STREAM(MD_STDOUT, t)
#define ERR(t) STREAM(MD_STDERR, t)
#define ERROR(t) { .kind = MD_OUT_ERROR, .text = (t), .len = sizeof(t) - 1 }
#define RICH(b, r) { .kind = MD_OUT_RICH, .bundle = (b), \
		     .nbundle = sizeof(b) / sizeof(*(b)), .result = (r) }
#define MIME(m, t) { (m), (t), sizeof(t) - 1 }
#define LIST(a) (a), sizeof(a) / sizeof(*(a))
#define OUTS(a) .outs = (a), .nouts = sizeof(a) / sizeof(*(a))
#define FILES(a) .files = (a), .nfiles = sizeof(a) / sizeof(*(a))

/* --- status.md ---------------------------------------------------- */

static const struct md_out ok_outs[] = { OUT("fine\n"), ERR("careful\n") };
static const struct md_out bad_outs[] = { OUT("partial\n"), ERR("boom\n") };
static const struct md_out slow_outs[] = { OUT("") , ERR("") };
static const struct md_view_real ok_real[] = { {
	.rhash = RHASH("a1b2"), .start = 1700000000.0,
	.end = 1700000000.25, OUTS(ok_outs) } };
static const struct md_view_real bad_real[] = { {
	.rhash = RHASH("b2c3"), .exit = { .code = 3 },
	.start = 1700000001.0, .end = 1700000001.5, OUTS(bad_outs) } };
static const struct md_view_real slow_real[] = { {
	.rhash = RHASH("c3d4"), .exit = { .signal = 9, .timed_out = true },
	.start = 1700000002.0, .end = 1700000003.0, OUTS(slow_outs) } };
static const struct md_view_real killed_real[] = { {
	.rhash = RHASH("d4e5"), .exit = { .signal = 9 },
	.start = 1700000003.0, .end = 1700000003.125 } };

static const struct golden_block status_blocks[] = {
	{ "ok", MD_STATUS_OK, 0, false, "sh 5.2", LIST(ok_real) },
	{ "bad", MD_STATUS_FAILED, 0, false, "sh 5.2", LIST(bad_real) },
	{ "slow", MD_STATUS_TIMEOUT, 0, false, NULL, LIST(slow_real) },
	{ "killed", MD_STATUS_FAILED, 0, true, NULL, LIST(killed_real) },
	{ "after", MD_STATUS_SKIPPED, MD_SKIP_UPSTREAM, false, NULL, NULL, 0 },
	{ "later", MD_STATUS_NOT_RUN, MD_SKIP_STOPPED, false, NULL, NULL, 0 },
};

/* --- artifacts.md ------------------------------------------------- */

static const struct md_file plot_files[] = {
	{ "plot.png", "image/png", png, PNG_LEN,
	  "artifacts_files/8e3f0a1b2c3d4e5f.png",
	  "/store/objects/8e/plot.png" },
	{ "data/t.csv", "text/csv", "a,b\n1,2\n", 8,
	  "artifacts_files/0f1e2d3c4b5a6978.csv", "/store/objects/0f/t.csv" },
};
static const struct md_out plot_outs[] = { OUT("plotted\n") };
static const struct md_view_real plot_real[] = { {
	.rhash = RHASH("e5f6"), .start = 1700000010.0, .end = 1700000011.0,
	OUTS(plot_outs), FILES(plot_files) } };
static const struct md_out table1_outs[] = { OUT("first\n") };
static const struct md_out table2_outs[] = { OUT("second\n") };
static const struct md_view_real table_reals[] = {
	{ .rhash = RHASH("f6a7"), .start = 1700000012.0,
	  .end = 1700000012.5, OUTS(table1_outs) },
	{ .rhash = RHASH("a7b8"), .start = 1700000013.0,
	  .end = 1700000013.5, OUTS(table2_outs) },
};

static const struct golden_block artifacts_blocks[] = {
	{ "plot", MD_STATUS_OK, 0, false, "Python 3.11", LIST(plot_real) },
	{ "table", MD_STATUS_OK, 0, true, "Python 3.11", LIST(table_reals) },
};

/* --- containers.md ------------------------------------------------ */

static const struct md_out quoted_outs[] = { OUT("in a quote\n\nand more\n") };
static const struct md_out listed_outs[] = { OUT("in a list\n"),
					     ERR("a warning\n") };
static const struct md_view_real quoted_real[] = { {
	.rhash = RHASH("1a2b"), .start = 1700000020.0, .end = 1700000020.0,
	OUTS(quoted_outs) } };
static const struct md_view_real listed_real[] = { {
	.rhash = RHASH("2b3c"), .start = 1700000021.0, .end = 1700000021.0,
	OUTS(listed_outs) } };

static const struct golden_block containers_blocks[] = {
	{ "quoted", MD_STATUS_OK, 0, false, NULL, LIST(quoted_real) },
	{ "listed", MD_STATUS_OK, 0, false, NULL, LIST(listed_real) },
};

/* --- options.md --------------------------------------------------- */

static const struct md_out hidden_outs[] = { OUT("the code is hidden\n") };
static const struct md_out table_outs[] = {
	OUT("| a | b |\n|---|---|\n| 1 | 2 |\n") };
static const struct md_out quiet_outs[] = { OUT("not shown\n") };
static const struct md_out stored_outs[] = { OUT("cached\n") };
static const struct md_view_real hidden_real[] = { {
	.rhash = RHASH("3c4d"), .start = 1700000030.0, .end = 1700000030.5,
	OUTS(hidden_outs) } };
static const struct md_view_real asis_real[] = { {
	.rhash = RHASH("4d5e"), .start = 1700000031.0, .end = 1700000031.5,
	OUTS(table_outs) } };
static const struct md_view_real quiet_real[] = { {
	.rhash = RHASH("5e6f"), .start = 1700000032.0, .end = 1700000032.5,
	OUTS(quiet_outs) } };
static const struct md_view_real stored_real[] = { {
	.rhash = RHASH("6f70"), .start = 1600000000.0, .end = 1600000000.5,
	OUTS(stored_outs) } };

static const struct golden_block options_blocks[] = {
	{ "hidden", MD_STATUS_OK, 0, false, NULL, LIST(hidden_real) },
	{ "table", MD_STATUS_OK, 0, false, NULL, LIST(asis_real) },
	{ "quiet", MD_STATUS_OK, 0, false, NULL, LIST(quiet_real) },
	{ "stored", MD_STATUS_OK, 0, true, NULL, LIST(stored_real) },
};


/* --- rich.md ------------------------------------------------------ */

static const struct md_mime frame_bundle[] = {
	MIME("text/html", "<table><tr><th>a</th></tr><tr><td>1</td></tr>"
			  "</table>"),
	MIME("application/json", "{\"a\": [1]}"),
	MIME("text/plain", "   a\n0  1"),
};
static const struct md_out frame_outs[] = {
	OUT("print"), OUT("ing\n"), RICH(frame_bundle, true) };
static const struct md_mime figure_bundle[] = {
	{ "image/png", png, PNG_LEN },
	MIME("text/plain", "<Figure size 640x480 with 1 Axes>"),
};
static const struct md_out figure_outs[] = { RICH(figure_bundle, false) };
static const struct md_file figure_files[] = {
	{ "figure-1.png", "image/png", png, PNG_LEN,
	  "rich_files/8e3f0a1b2c3d4e5f.png",
	  "/store/objects/8e/figure-1.png" },
};
static const struct md_mime vector_bundle[] = {
	MIME("image/svg+xml", svg),
	MIME("text/plain", "<svg>"),
};
static const struct md_out vector_outs[] = { RICH(vector_bundle, false) };
static const struct md_mime note_bundle[] = {
	MIME("text/markdown", "**hi** there\n"),
	MIME("text/plain", "<IPython.core.display.Markdown object>"),
};
static const struct md_out note_outs[] = { RICH(note_bundle, true) };
static const struct md_mime pandas_bundle[] = {
	MIME("text/html", "<div>\n<style scoped>\n  .dataframe { x: y }\n"
			  "</style>\n<table border=\"1\" class=\"dataframe\">\n"
			  "  <thead><tr style=\"text-align: right;\"><th></th>"
			  "<th>a</th></tr></thead>\n"
			  "  <tbody><tr><th>0</th><td>1</td></tr></tbody>\n"
			  "</table>\n</div>"),
	MIME("text/plain", "   a\n0  1"),
	MIME("text/markdown", "|  | a |\n|---|---|\n| 0 | 1 |"),
};
static const struct md_out pandas_outs[] = { RICH(pandas_bundle, true) };
static const struct md_mime math_bundle[] = {
	MIME("text/latex", "$\\displaystyle x^2$"),
	MIME("text/plain", "<IPython.core.display.Math object>"),
};
static const struct md_out math_outs[] = { RICH(math_bundle, true) };
static const struct md_out oops_outs[] = {
	OUT("before\n"), ERR("a warning\n"),
	ERROR("Traceback (most recent call last):\n"
	      "  File \"rich.md\", line 24, in <module>\n"
	      "ZeroDivisionError: division by zero\n"),
};
static const struct md_view_real frame_real[] = { {
	.rhash = RHASH("0a1b"), .start = 1700000040.0, .end = 1700000040.5,
	OUTS(frame_outs) } };
static const struct md_view_real figure_real[] = { {
	.rhash = RHASH("1b2c"), .start = 1700000041.0, .end = 1700000041.5,
	OUTS(figure_outs), FILES(figure_files) } };
static const struct md_view_real vector_real[] = { {
	.rhash = RHASH("2c3d"), .start = 1700000042.0, .end = 1700000042.5,
	OUTS(vector_outs) } };
static const struct md_view_real note_real[] = { {
	.rhash = RHASH("3d4e"), .start = 1700000043.0, .end = 1700000043.5,
	OUTS(note_outs) } };
static const struct md_view_real pandas_real[] = { {
	.rhash = RHASH("5f6a"), .start = 1700000045.0, .end = 1700000045.5,
	OUTS(pandas_outs) } };
static const struct md_view_real math_real[] = { {
	.rhash = RHASH("6a7b"), .start = 1700000046.0, .end = 1700000046.5,
	OUTS(math_outs) } };
static const struct md_view_real oops_real[] = { {
	.rhash = RHASH("4e5f"), .exit = { .code = 1 }, .start = 1700000044.0,
	.end = 1700000044.5, OUTS(oops_outs) } };

static const struct golden_block rich_blocks[] = {
	{ "frame", MD_STATUS_OK, 0, false, "python3", LIST(frame_real) },
	{ "figure", MD_STATUS_OK, 0, false, "python3", LIST(figure_real) },
	{ "vector", MD_STATUS_OK, 0, false, "python3", LIST(vector_real) },
	{ "note", MD_STATUS_OK, 0, false, "python3", LIST(note_real) },
	{ "pandas", MD_STATUS_OK, 0, false, "python3", LIST(pandas_real) },
	{ "math", MD_STATUS_OK, 0, false, "python3", LIST(math_real) },
	{ "oops", MD_STATUS_FAILED, 0, false, "python3", LIST(oops_real) },
};

/* --- the test ----------------------------------------------------- */

/* The view of doc with what blocks say (by name); the rest not run. */
static struct md_view_block *
view_blocks(const struct md_doc *doc, const struct golden_block *g, size_t n)
{
	struct md_view_block *v = calloc(doc->nblocks + 1, sizeof(*v));

	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];

		v[i].block = b;
		v[i].key = "";
		for (size_t k = 0; b->name && k < n; k++) {
			if (strcmp(g[k].name, b->name))
				continue;
			v[i].status = g[k].status;
			v[i].skip = g[k].skip;
			v[i].cached = g[k].cached;
			v[i].interpreter = g[k].interpreter;
			v[i].reals = g[k].reals;
			v[i].nreals = g[k].nreals;
			v[i].key = g[k].skip ? "" : KEY;
		}
	}
	return v;
}

/* Compares got with the golden file NAME + ext, or rewrites it. */
static void
compare(const char *name, const char *ext, const struct md_buf *got)
{
	struct md_buf want = MD_BUF_INIT, path = MD_BUF_INIT;
	const char *update = getenv("MDRUN_GOLDEN_UPDATE");

	md_buf_printf(&path, "%s/golden/%s%s", TESTS_DIR, name, ext);
	if (update && !strcmp(update, "1")) {
		FILE *f = fopen(path.ptr, "wb");

		cr_assert_not_null(f, "%s", path.ptr);
		cr_assert_eq(fwrite(got->ptr, 1, got->len, f), got->len);
		cr_assert_eq(fclose(f), 0);
	} else {
		cr_assert_eq(md_fs_read(&want, path.ptr), 0, "%s",
			     md_err_msg());
		cr_assert(want.len == got->len &&
				  !memcmp(want.ptr, got->ptr, got->len),
			  "%s%s differs from %s (MDRUN_GOLDEN_UPDATE=1 "
			  "rewrites it); it renders to:\n%s",
			  name, ext, path.ptr, got->ptr);
	}
	md_buf_dispose(&want);
	md_buf_dispose(&path);
}

/* Renders tests/golden/NAME.md in every format, compares each. */
static void
golden(const char *name, const struct golden_block *g, size_t n)
{
	struct md_buf src = MD_BUF_INIT, path = MD_BUF_INIT, out = MD_BUF_INIT;
	struct md_doc *doc = NULL;
	struct md_view v;
	size_t i;

	md_buf_printf(&path, "%s/golden/%s.md", TESTS_DIR, name);
	cr_assert_eq(md_fs_read(&src, path.ptr), 0, "%s", md_err_msg());
	md_buf_clear(&path);
	md_buf_printf(&path, "%s.md", name);
	cr_assert_eq(md_doc_parse(&doc, path.ptr, src.ptr, src.len, 0), 0,
		     "%s", md_err_msg());
	memset(&v, 0, sizeof(v));
	v.doc = doc;
	v.path = path.ptr;
	v.blocks = view_blocks(doc, g, n);
	for (i = 0; render_formats[i].name; i++) {
		const struct render_format *f = &render_formats[i];
		char ext[32];

		/* NAME.md is the input: its Markdown render is NAME.out.md. */
		snprintf(ext, sizeof(ext), ".%s%s",
			 strcmp(f->ext, "md") ? "" : "out.", f->ext);
		md_buf_clear(&out);
		f->render(&out, &v);
		compare(name, ext, &out);
	}
	free((void *)v.blocks);
	md_doc_free(doc);
	md_buf_dispose(&src);
	md_buf_dispose(&path);
	md_buf_dispose(&out);
}

#define GOLDEN(name, blocks)                                               \
	Test(golden, name)                                                 \
	{                                                                  \
		golden(#name, LIST(blocks));                               \
	}

Test(golden, prose)
{
	golden("prose", NULL, 0);
}

GOLDEN(status, status_blocks)
GOLDEN(artifacts, artifacts_blocks)
GOLDEN(containers, containers_blocks)
GOLDEN(options, options_blocks)
GOLDEN(rich, rich_blocks)
