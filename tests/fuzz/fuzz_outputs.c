/*
 * A realization's output list: the input, split at its first NUL, is a
 * driver's events then stdout. The events become a list
 * (md_outputs_from_events), the list the view's outputs
 * (md_outputs_view), and so does the input read as a stored list. Every
 * stream output must lie within the bytes it was given, and the streams'
 * outputs must cover those bytes exactly once, in order.
 */
#include <string.h>

#include "fuzz.h"
#include "../../mdrun/core/outputs.h"

/* What v shows of one stream: its chunks, in order, are all of s. */
static void
covers(const struct md_outputs *v, enum md_stream which, const char *s,
       size_t n)
{
	size_t at = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct md_out *o = &v->outs[i];

		if (o->kind == MD_OUT_RICH)
			FUZZ_CHECK(o->nbundle > 0 && o->bundle);
		if (o->kind != MD_OUT_STREAM || o->stream != which)
			continue;
		FUZZ_CHECK(o->len > 0);
		FUZZ_CHECK(o->text == s + at && at + o->len <= n);
		at += o->len;
	}
	FUZZ_CHECK(at == n);
}

static void
view(const char *list, size_t len, const char *out, size_t out_len,
     const char *err, size_t err_len)
{
	struct md_outputs v;

	md_outputs_view(&v, list, len, out, out_len, err, err_len);
	covers(&v, MD_STDOUT, out, out_len);
	covers(&v, MD_STDERR, err, err_len);
	md_outputs_dispose(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nul = memchr(s, 0, size);
	size_t ev_len = nul ? (size_t)(nul - s) : size;
	const char *out = nul ? nul + 1 : "";
	size_t out_len = nul ? size - ev_len - 1 : 0;
	static const char err[] = "warning\n";
	struct md_buf list = MD_BUF_INIT;

	md_outputs_from_events(&list, s, ev_len, 0, 0, out_len,
			       sizeof(err) - 1);
	view(list.ptr, list.len, out, out_len, err, sizeof(err) - 1);
	view(s, ev_len, out, out_len, err, sizeof(err) - 1);
	md_buf_dispose(&list);
	return 0;
}
