/*
 * check's GitHub annotations: workflow commands that GitHub Actions shows
 * on the lines of a pull request. Each is one line,
 *
 *   ::error file=FILE,line=N,title=mdrun check::MESSAGE
 *
 * with the file (a property: ':' and ',' escaped too) and the message
 * escaped as workflow commands want (escape.c).
 */
#include "escape.h"
#include "internal.h"

static void
annotation(struct md_buf *out, const char *file, int line, const char *msg)
{
	md_buf_puts(out, "::error file=");
	render_gh_escape(out, file ? file : "", true);
	md_buf_printf(out, ",line=%d,title=mdrun check::", line > 0 ? line : 1);
	render_gh_escape(out, msg ? msg : "", false);
	md_buf_putc(out, '\n');
}

void
render_annotations(struct md_buf *out, const struct md_check_doc *d)
{
	const struct md_view *v = d->view;

	if (!v) {
		annotation(out, d->input, 1, d->error);
		return;
	}
	for (size_t i = 0; d->blocks && i < v->doc->nblocks; i++)
		if (d->blocks[i].verdict != MD_VERDICT_OK)
			annotation(out, d->file, v->doc->blocks[i].line,
				   d->blocks[i].message);
	if (d->prose)
		annotation(out, d->out_file ? d->out_file : d->file,
			   d->prose_line, d->prose);
}
