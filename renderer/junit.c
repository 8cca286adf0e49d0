/*
 * check's JUnit XML report:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <testsuites name="mdrun check" tests=N failures=N errors=N skipped=N
 *               time=SECS>
 *     <testsuite name=INPUT tests=N>
 *       <testcase name=BLOCK classname=FILE file=FILE line=N time=SECS>
 *         <skipped message=NOTE/>
 *         <failure type=TYPE message=MESSAGE>DETAIL</failure>
 *         <system-out>STDOUT</system-out>
 *         <system-err>STDERR</system-err>
 *       </testcase>
 *     </testsuite>
 *   </testsuites>
 *
 * A <failure> (or, for an error, <error>) only for a block that ran; a
 * block not run is <skipped>, whatever else was found. Text is cleaned
 * and escaped by escape.c: program output as a terminal leaves it, the
 * rest with every character shown.
 */
#include <string.h>

#include "escape.h"
#include "internal.h"

/* The note of a block not run, by why; the failure type of a verdict. */
static const char *const notes[] = {
	[MD_SKIP_NONE] = "*not run*",
	[MD_SKIP_FAILED] = "*not run: an earlier block failed*",
	[MD_SKIP_UPSTREAM] = "*not run: upstream failed*",
	[MD_SKIP_STOPPED] = "*not run: mdrun stopped*",
};
static const char *const types[] = {
	[MD_VERDICT_OK] = NULL,
	[MD_VERDICT_FAILED] = "failed",
	[MD_VERDICT_STALE] = "stale",
	[MD_VERDICT_NONDET] = "non-deterministic",
	[MD_VERDICT_ERROR] = "error",
};

/* The counts the <testsuites> element carries. */
struct tally {
	size_t tests, failures, errors, skipped;
};

/* One testcase: what a block or the document's prose came to. */
struct tcase {
	const char *file, *name;
	int line;
	double secs;
	const char *skipped; /* the note of a block not run, or NULL */
	const char *type;    /* a types[] word, or NULL: passed */
	const char *message;
	const char *detail; /* the failure's text, else real's stderr */
	size_t detail_len;
	const struct md_view_real *real; /* the last one shown, or NULL */
};

static void
attr(struct md_buf *j, const char *name, const char *s)
{
	md_buf_printf(j, " %s=\"", name);
	render_xml_text(j, s, s ? strlen(s) : 0);
	md_buf_putc(j, '"');
}

/* A system-out or system-err element, when the stream printed. */
static void
stream(struct md_buf *j, const struct md_view_real *r, enum md_stream s,
       const char *tag)
{
	struct md_buf text = MD_BUF_INIT;

	render_stream(&text, r, s);
	if (text.len) {
		md_buf_printf(j, "      <%s>", tag);
		render_xml_output(j, text.ptr, text.len);
		md_buf_printf(j, "</%s>\n", tag);
	}
	md_buf_dispose(&text);
}

static void
testcase(struct md_buf *j, struct tally *t, const struct tcase *c)
{
	t->tests++;
	md_buf_puts(j, "    <testcase");
	attr(j, "name", c->name);
	attr(j, "classname", c->file);
	attr(j, "file", c->file);
	md_buf_printf(j, " line=\"%d\" time=\"%.3f\">\n", c->line, c->secs);
	if (c->skipped) {
		t->skipped++;
		md_buf_puts(j, "      <skipped");
		attr(j, "message", c->skipped);
		md_buf_puts(j, "/>\n");
	} else if (c->type) {
		const char *tag = strcmp(c->type, "error") ? "failure"
							   : "error";
		struct md_buf err = MD_BUF_INIT;

		t->failures += *tag == 'f';
		t->errors += *tag == 'e';
		md_buf_printf(j, "      <%s type=\"%s\"", tag, c->type);
		attr(j, "message", c->message);
		md_buf_puts(j, ">");
		if (c->detail && c->detail_len) {
			render_xml_text(j, c->detail, c->detail_len);
		} else if (c->real) {
			render_stream(&err, c->real, MD_STDERR);
			render_xml_output(j, err.ptr, err.len);
		}
		md_buf_printf(j, "</%s>\n", tag);
		md_buf_dispose(&err);
	}
	if (c->real) {
		stream(j, c->real, MD_STDOUT, "system-out");
		stream(j, c->real, MD_STDERR, "system-err");
	}
	md_buf_puts(j, "    </testcase>\n");
}

/* The testsuite of a document check could not render. */
static void
unrendered(struct md_buf *j, struct tally *t, const struct md_check_doc *d)
{
	struct tcase c = { .file = d->input, .name = "(document)", .line = 1,
			   .type = "error", .message = d->error };

	md_buf_puts(j, "  <testsuite");
	attr(j, "name", d->input);
	md_buf_puts(j, " tests=\"1\">\n");
	testcase(j, t, &c);
	md_buf_puts(j, "  </testsuite>\n");
}

static void
suite(struct md_buf *j, struct tally *t, const struct md_check_doc *d)
{
	const struct md_view *v = d->view;
	size_t i, n = 0;

	for (i = 0; i < v->doc->nblocks; i++)
		n += v->blocks[i].status != MD_STATUS_NONE;
	md_buf_puts(j, "  <testsuite");
	attr(j, "name", d->input);
	md_buf_printf(j, " tests=\"%zu\">\n", n + (d->prose != NULL));
	for (i = 0; i < v->doc->nblocks; i++) {
		const struct md_view_block *vb = &v->blocks[i];
		const struct md_check_block *cb = d->blocks ? &d->blocks[i]
							    : NULL;
		const struct md_view_real *last =
			vb->nreals ? &vb->reals[vb->nreals - 1] : NULL;
		struct tcase c = {
			.file = d->file,
			.name = vb->block->name,
			.line = vb->block->line,
			.secs = last && !vb->cached ? last->end - last->start
						    : 0,
			.real = last,
		};

		if (vb->status == MD_STATUS_NONE)
			continue;
		if (vb->status == MD_STATUS_SKIPPED ||
		    vb->status == MD_STATUS_NOT_RUN)
			c.skipped = notes[vb->skip];
		if (cb) {
			c.type = types[cb->verdict];
			c.message = cb->message;
			c.detail = cb->detail;
			c.detail_len = cb->detail_len;
		}
		testcase(j, t, &c);
	}
	if (d->prose) {
		struct tcase c = { .file = d->out_file ? d->out_file : d->file,
				   .name = "(document)",
				   .line = d->prose_line,
				   .type = "stale",
				   .message = d->prose,
				   .detail = d->patch,
				   .detail_len = d->patch_len };

		testcase(j, t, &c);
	}
	md_buf_puts(j, "  </testsuite>\n");
}

void
render_junit(struct md_buf *out, const struct md_check_doc *docs, size_t n,
	     double secs)
{
	struct md_buf suites = MD_BUF_INIT;
	struct tally t = { 0, 0, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		if (docs[i].view)
			suite(&suites, &t, &docs[i]);
		else
			unrendered(&suites, &t, &docs[i]);
	}
	md_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			   "<testsuites name=\"mdrun check\" tests=\"%zu\" "
			   "failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
			   "time=\"%.3f\">\n",
		      t.tests, t.failures, t.errors, t.skipped, secs);
	md_buf_put(out, suites.ptr, suites.len);
	md_buf_puts(out, "</testsuites>\n");
	md_buf_dispose(&suites);
}
