/*
 * A realization's ordered output list (docs/store.md, "The output list"):
 * made from a driver's events after a run, and turned into the view's
 * outputs when a render shows it.
 */
#ifndef MDRUN_OUTPUTS_H
#define MDRUN_OUTPUTS_H

#include <stddef.h>

#include "../../renderer/view.h"
#include "../../util/buf.h"

/*
 * The output list of one run into list (emptied first), from the events
 * the python driver wrote for it (ev, n bytes of JSON lines: see
 * mdrun/core/python/common.py). out0 and err0 are where the block's
 * stdout and stderr began in the positions the events give; out_len and
 * err_len what was captured of each. list stays empty when the run gave
 * only stdout followed by stderr: nothing a list would add. Lines that
 * are not events are ignored.
 */
void md_outputs_from_events(struct md_buf *list, const char *ev, size_t n,
			    long long out0, long long err0, size_t out_len,
			    size_t err_len);

/*
 * How many bytes of events a run keeps when its stdout and stderr are
 * kept up to cap (0: no limit): figures are larger than text.
 */
#define MD_RICH_CAP(cap) ((cap) ? (cap) * 16 : 0)

/* The view's outputs of one realization, and what they point into. */
struct md_outputs {
	struct md_out *outs;
	size_t n;
	struct md_mime *mimes; /* every bundle's representations */
	char **owned;	       /* the bytes they hold: decoded, printed */
	size_t nowned;
	void *tree; /* the parsed list, whose strings they point into */
};

/*
 * The outputs a realization shows: its list (list, len bytes; empty:
 * stdout, then stderr) over its stdout and stderr (borrowed: the outputs
 * point into them). A list that cannot be read shows as stdout, then
 * stderr.
 */
void md_outputs_view(struct md_outputs *v, const char *list, size_t len,
		     const char *out, size_t out_len, const char *err,
		     size_t err_len);
void md_outputs_dispose(struct md_outputs *v);

#endif
