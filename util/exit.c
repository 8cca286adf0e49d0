#include "exit.h"

bool
md_exit_failed(const struct md_exit *e)
{
	return e->code != 0 || e->signal != 0 || e->timed_out ||
	       e->interrupted;
}

void
md_exit_describe(struct md_buf *out, const struct md_exit *e)
{
	if (e->interrupted)
		md_buf_puts(out, "interrupted");
	else if (e->timed_out)
		md_buf_puts(out, "timed out");
	else if (e->signal)
		md_buf_printf(out, "killed by signal %d", e->signal);
	else
		md_buf_printf(out, "exit %d", e->code);
}
