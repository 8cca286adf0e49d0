/*
 * Document parse (md_doc_parse) and the Markdown splice (render_markdown)
 * with made-up block outputs.
 *
 * Input: a document, then any number of parts, each introduced by a 0x1e
 * byte (ASCII record separator). A part's first byte says what it is:
 *
 *   bits 0-2   the block it belongs to (modulo the number of blocks)
 *   bit 3      a note ("*not run: ...*") instead of a realization
 *   bit 4      exit status: the byte itself
 *   bit 5      killed by signal 9
 *   bit 6      timed out
 *   bit 7      labelled, as when a block shows several realizations
 *
 * The rest of a realization part is stdout, then, after a 0x1f byte (unit
 * separator), stderr, then file names, each after a 0x1f byte.
 *
 * Both flag settings are rendered. Unless a block's output is Markdown
 * (output=asis), the result of the RENDER_KEEP_CODE rendering must parse
 * to the same blocks, every region recognised, and render again with the
 * same outputs to the same bytes: render.h promises it, and `mdrun`
 * relies on it to leave a rendered document unchanged.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../mdrun/doc/doc.h"
#include "../../renderer/render.h"
#include "../../util/buf.h"
#include "../../util/err.h"

#define PART 0x1e
#define UNIT 0x1f

enum {
	P_BLOCK = 0x07,
	P_NOTE = 0x08,
	P_EXIT = 0x10,
	P_SIGNAL = 0x20,
	P_TIMEOUT = 0x40,
	P_LABEL = 0x80
};

static const char *const notes[] = {
	"*not run: mdrun stopped after a failure*",
	"*not run: it reads sh-1, which failed*",
	"*not run: python3 is not installed*",
	"*not run: --dry-run*",
	"*not run (cache=false and --frozen)*",
	"*not run: a block it reads was not run*",
	"*skipped*",
	"*not run: eval=false*",
};

static const char *const labels[] = {
	"*realization 1 of 2 (0123456789ab)*",
	"*realization 2 of 2 (ba9876543210)*",
};

/* What the parts made: per block, its realizations and their files. */
struct outputs {
	struct render_block *blocks;
	struct render_output **reals;
	struct render_file **files; /* per realization, in part order */
	char ***names;
	size_t nreals;
};

/* The next piece of s[0, n) up to byte sep: [*at, *end), *at moves on. */
static bool
next_piece(const char *s, size_t n, size_t *at, size_t *end, char sep)
{
	const char *p;

	if (*at > n)
		return false;
	p = memchr(s + *at, sep, n - *at);
	*end = p ? (size_t)(p - s) : n;
	return true;
}

static bool
is_image_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (!strcmp(dot, ".png") || !strcmp(dot, ".svg") ||
		       !strcmp(dot, ".jpg") || !strcmp(dot, ".gif"));
}

/* One realization from its part's payload (borrowed from the input). */
static void
realization(struct render_output *r, struct render_file **files,
	    char ***names, unsigned char ctl, const char *s, size_t n)
{
	static const char *const hrefs[] = {
		"doc_files/0123456789abcdef.png",
		"doc_files/fedcba9876543210",
	};
	size_t at = 0, end = 0, k = 0, nfiles = 0;

	memset(r, 0, sizeof(*r));
	next_piece(s, n, &at, &end, UNIT);
	r->out = s;
	r->out_len = end;
	at = end + 1;
	if (next_piece(s, n, &at, &end, UNIT)) {
		r->err = s + at;
		r->err_len = end - at;
		at = end + 1;
	}
	for (size_t i = at; i < n; i++)
		nfiles += s[i] == UNIT;
	nfiles += at < n;
	*files = nfiles ? md_calloc(nfiles, sizeof(**files)) : NULL;
	*names = nfiles ? md_calloc(nfiles + 1, sizeof(**names)) : NULL;
	for (; k < nfiles && next_piece(s, n, &at, &end, UNIT); k++) {
		(*names)[k] = md_strndup(s + at, end - at);
		(*files)[k].name = (*names)[k];
		(*files)[k].href = hrefs[k % 2];
		(*files)[k].image = is_image_name((*names)[k]);
		at = end + 1;
	}
	r->files = *files;
	r->nfiles = k;
	r->exit_code = ctl & P_EXIT ? ctl : 0;
	r->signal = ctl & P_SIGNAL ? 9 : 0;
	r->timed_out = (ctl & P_TIMEOUT) != 0;
	r->label = ctl & P_LABEL ? labels[ctl & 1] : NULL;
}

/* The parts after the document, s[0, n), spread over nblocks blocks. */
static void
outputs_make(struct outputs *o, size_t nblocks, const char *s, size_t n)
{
	size_t at = 0, end, i, nparts = 0, *count;

	memset(o, 0, sizeof(*o));
	o->blocks = md_calloc(nblocks + 1, sizeof(*o->blocks));
	o->reals = md_calloc(nblocks + 1, sizeof(*o->reals));
	if (nblocks == 0)
		return;
	for (i = 0; i < n; i++)
		nparts += s[i] == PART;
	o->files = md_calloc(nparts + 1, sizeof(*o->files));
	o->names = md_calloc(nparts + 1, sizeof(*o->names));
	count = md_calloc(nblocks, sizeof(*count));
	/* Two passes: how many realizations each block gets, then them. */
	for (int pass = 0; pass < 2; pass++) {
		at = 0;
		next_piece(s, n, &at, &end, PART);
		for (at = end + 1; next_piece(s, n, &at, &end, PART);
		     at = end + 1) {
			unsigned char ctl = end > at ? (unsigned char)s[at] : 0;
			size_t b = (ctl & P_BLOCK) % nblocks;
			struct render_block *rb = &o->blocks[b];

			rb->present = true;
			if (ctl & P_NOTE) {
				rb->note = notes[(ctl >> 4) % 8];
				continue;
			}
			if (pass == 0) {
				count[b]++;
				continue;
			}
			struct render_output *r = &o->reals[b][rb->n++];
			size_t skip = end > at ? 1 : 0, k = o->nreals++;
			realization(r, &o->files[k], &o->names[k], ctl,
				    s + at + skip, end - at - skip);
		}
		for (i = 0; pass == 0 && i < nblocks; i++) {
			o->reals[i] = md_calloc(count[i] + 1,
						sizeof(**o->reals));
			o->blocks[i].reals = o->reals[i];
		}
	}
	free(count);
}

static void
outputs_dispose(struct outputs *o, size_t nblocks)
{
	for (size_t i = 0; i < o->nreals; i++) {
		for (size_t k = 0; o->names[i] && o->names[i][k]; k++)
			free(o->names[i][k]);
		free(o->names[i]);
		free(o->files[i]);
	}
	for (size_t i = 0; i < nblocks; i++)
		free(o->reals[i]);
	free(o->reals);
	free(o->files);
	free(o->names);
	free(o->blocks);
}

static void
check_spans(size_t (*spans)[2], const struct md_doc *doc,
	    const struct md_buf *out)
{
	for (size_t i = 0; i < doc->nblocks; i++) {
		FUZZ_CHECK(spans[i][0] <= spans[i][1]);
		FUZZ_CHECK(spans[i][1] <= out->len);
	}
}

/* What the realizations show: the result is Markdown mdrun reads again. */
static bool
plain_outputs(const struct md_doc *doc, const struct outputs *o)
{
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct render_block *rb = &o->blocks[i];

		if (!rb->present)
			continue;
		/* asis inserts stdout as Markdown: anything can happen. */
		if (doc->blocks[i].output == MD_OUTPUT_ASIS)
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *sep = memchr(s, PART, size);
	size_t doc_len = sep ? (size_t)(sep - s) : size;
	struct md_doc *doc = NULL, *again = NULL;
	struct md_buf out = MD_BUF_INIT, kept = MD_BUF_INIT,
		      twice = MD_BUF_INIT;
	struct outputs o;
	size_t (*spans)[2] = NULL, last = 0;

	if (md_doc_parse(&doc, "fuzz.md", s, doc_len, 0) < 0) {
		FUZZ_CHECK(doc == NULL);
		goto done;
	}
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];
		FUZZ_CHECK(b->start <= b->end && b->end <= doc->len);
		FUZZ_CHECK(!b->has_out || (b->end <= b->out_start &&
					   b->out_start <= b->out_end &&
					   b->out_end <= doc->len));
		FUZZ_CHECK(i == 0 || last <= b->start);
		last = b->has_out ? b->out_end : b->end;
	}
	outputs_make(&o, doc->nblocks, s + doc_len, size - doc_len);
	spans = md_calloc(doc->nblocks + 1, sizeof(*spans));
	render_markdown(&out, doc, o.blocks, 0, spans);
	check_spans(spans, doc, &out);
	memset(spans, 0, (doc->nblocks + 1) * sizeof(*spans));
	render_markdown(&kept, doc, o.blocks, RENDER_KEEP_CODE, spans);
	check_spans(spans, doc, &kept);

	if (plain_outputs(doc, &o)) {
		/* The regions are recognised: the same blocks, no more. */
		FUZZ_CHECK(md_doc_parse(&again, "fuzz.md",
					kept.ptr ? kept.ptr : "", kept.len,
					0) == 0);
		FUZZ_CHECK(again->nblocks == doc->nblocks);
		render_markdown(&twice, again, o.blocks, RENDER_KEEP_CODE,
				NULL);
		FUZZ_CHECK(twice.len == kept.len &&
			   !memcmp(twice.ptr ? twice.ptr : "",
				   kept.ptr ? kept.ptr : "", kept.len));
	}
	outputs_dispose(&o, doc->nblocks);
done:
	free(spans);
	md_doc_free(doc);
	md_doc_free(again);
	md_buf_dispose(&out);
	md_buf_dispose(&kept);
	md_buf_dispose(&twice);
	md_err_clear();
	return 0;
}
