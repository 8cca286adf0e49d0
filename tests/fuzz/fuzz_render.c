/*
 * Document parse (md_doc_parse) and every renderer (render_formats) with
 * made-up block outputs.
 *
 * Input: a document, then any number of parts, each introduced by a 0x1e
 * byte (ASCII record separator). A part's first byte says what it is:
 *
 *   bits 0-2   the block it belongs to (modulo the number of blocks)
 *   bit 3      not run (bits 4-5 say why: an md_skip) instead of a
 *              realization
 *   bit 4      exit status: the byte itself
 *   bit 5      killed by signal 9
 *   bit 6      timed out
 *   bit 7      stdout is a rich value (text/plain, and an image/png
 *              whose bytes are the first file's) instead of a stream
 *
 * The rest of a realization part is stdout (split in two chunks, so the
 * renderers merge them), then, after a 0x1f byte (unit separator),
 * stderr, then file names, each after a 0x1f byte (a file's bytes are
 * its name).
 *
 * Every format is rendered; Markdown with both flag settings. Unless a
 * block's output is Markdown (output=asis), the result of the
 * MD_VIEW_KEEP_CODE rendering must parse to the same blocks, every
 * region recognised, and render again with the same outputs to the same
 * bytes: render.h promises it, and `mdrun` relies on it to leave a
 * rendered document unchanged; stripped (md_doc_strip), it must be the
 * source stripped. JSON and notebooks must parse as JSON.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

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
	P_RICH = 0x80
};

/* What the parts made: per block, its realizations and their outputs. */
struct outputs {
	struct md_view_block *blocks;
	struct md_view_real **reals; /* per block */
	/* Per realization, in part order: */
	struct md_out **outs;
	struct md_mime **bundles; /* a rich value's */
	struct md_file **files;
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

static const char *
mime_of(const char *name)
{
	static const char *const types[][2] = {
		{ ".png", "image/png" },     { ".svg", "image/svg+xml" },
		{ ".jpg", "image/jpeg" },    { ".gif", "image/gif" },
		{ ".csv", "text/csv" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return NULL;
}

/*
 * Realization r from its part's payload (borrowed from the input); k:
 * its index in part order, for the arrays of o it fills.
 */
static void
realization(struct outputs *o, struct md_view_real *r, size_t k,
	    unsigned char ctl, const char *s, size_t n)
{
	static const char *const hrefs[] = {
		"doc_files/0123456789abcdef.png",
		"doc_files/fedcba9876543210",
	};
	struct md_out *outs = o->outs[k] = md_calloc(3, sizeof(*outs));
	struct md_file *files = NULL;
	size_t at = 0, end = 0, i = 0, nfiles = 0, half;

	memset(r, 0, sizeof(*r));
	next_piece(s, n, &at, &end, UNIT);
	half = end / 2;
	if (ctl & P_RICH) {
		struct md_mime *b = o->bundles[k] = md_calloc(2, sizeof(*b));

		b[0] = (struct md_mime){ "image/png", NULL, 0 };
		b[1] = (struct md_mime){ "text/plain", s, end };
		outs[0] = (struct md_out){ .kind = MD_OUT_RICH, .bundle = b,
					   .nbundle = 2, .result = true };
		outs[1] = (struct md_out){ .kind = MD_OUT_STREAM,
					   .stream = MD_STDOUT };
	} else {
		outs[0] = (struct md_out){ .kind = MD_OUT_STREAM,
					   .stream = MD_STDOUT, .text = s,
					   .len = half };
		outs[1] = (struct md_out){ .kind = MD_OUT_STREAM,
					   .stream = MD_STDOUT,
					   .text = s + half,
					   .len = end - half };
	}
	outs[2] = (struct md_out){ .kind = MD_OUT_STREAM, .stream = MD_STDERR };
	at = end + 1;
	if (next_piece(s, n, &at, &end, UNIT)) {
		outs[2].text = s + at;
		outs[2].len = end - at;
		at = end + 1;
	}
	for (size_t j = at; j < n; j++)
		nfiles += s[j] == UNIT;
	nfiles += at < n;
	files = o->files[k] = nfiles ? md_calloc(nfiles, sizeof(*files)) : NULL;
	o->names[k] = nfiles ? md_calloc(nfiles + 1, sizeof(**o->names))
			     : NULL;
	for (; i < nfiles && next_piece(s, n, &at, &end, UNIT); i++) {
		char *name = o->names[k][i] = md_strndup(s + at, end - at);

		files[i].name = name;
		files[i].mime = mime_of(name);
		files[i].data = name;
		files[i].len = strlen(name);
		files[i].href = hrefs[i % 2];
		at = end + 1;
	}
	/* The rich value's image is the first file, if it is one. */
	if ((ctl & P_RICH) && i > 0 && files[0].mime &&
	    !strcmp(files[0].mime, "image/png")) {
		o->bundles[k][0].data = files[0].data;
		o->bundles[k][0].len = files[0].len;
	}
	r->rhash = "0123456789abcdef0123456789abcdef";
	r->outs = outs;
	r->nouts = 3;
	r->files = files;
	r->nfiles = i;
	r->exit.code = ctl & P_EXIT ? ctl : 0;
	r->exit.signal = ctl & P_SIGNAL ? 9 : 0;
	r->exit.timed_out = (ctl & P_TIMEOUT) != 0;
}

/* The parts after the document, s[0, n), spread over doc's blocks. */
static void
outputs_make(struct outputs *o, const struct md_doc *doc, const char *s,
	     size_t n)
{
	size_t nblocks = doc->nblocks, at = 0, end, i, nparts = 0, *count;

	memset(o, 0, sizeof(*o));
	o->blocks = md_calloc(nblocks + 1, sizeof(*o->blocks));
	o->reals = md_calloc(nblocks + 1, sizeof(*o->reals));
	for (i = 0; i < nblocks; i++) {
		o->blocks[i].block = &doc->blocks[i];
		o->blocks[i].key = "";
	}
	if (nblocks == 0)
		return;
	for (i = 0; i < n; i++)
		nparts += s[i] == PART;
	o->outs = md_calloc(nparts + 1, sizeof(*o->outs));
	o->bundles = md_calloc(nparts + 1, sizeof(*o->bundles));
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
			size_t skip = end > at ? 1 : 0;
			struct md_view_block *vb = &o->blocks[b];
			struct md_view_real *r;

			if (ctl & P_NOTE) {
				vb->skip = (enum md_skip)(1 + (ctl >> 4) % 3);
				continue;
			}
			if (pass == 0) {
				count[b]++;
				continue;
			}
			r = &o->reals[b][vb->nreals++];
			realization(o, r, o->nreals++, ctl, s + at + skip,
				    end - at - skip);
		}
		for (i = 0; pass == 0 && i < nblocks; i++) {
			o->reals[i] = md_calloc(count[i] + 1,
						sizeof(**o->reals));
			o->blocks[i].reals = o->reals[i];
		}
	}
	/* A note wins: a block not run shows no realization. */
	for (i = 0; i < nblocks; i++) {
		struct md_view_block *vb = &o->blocks[i];

		if (vb->skip) {
			vb->status = md_skip_status(vb->skip);
			vb->nreals = 0;
		} else if (vb->nreals) {
			vb->status = md_exit_failed(&vb->reals[0].exit)
					     ? MD_STATUS_FAILED
					     : MD_STATUS_OK;
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
		free(o->outs[i]);
		free(o->bundles[i]);
	}
	for (size_t i = 0; i < nblocks; i++)
		free(o->reals[i]);
	free(o->reals);
	free(o->outs);
	free(o->bundles);
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
		/* asis inserts stdout as Markdown: anything can happen. */
		if (o->blocks[i].status != MD_STATUS_NONE &&
		    doc->blocks[i].output == MD_OUTPUT_ASIS)
			return false;
	}
	return true;
}

/* Renders v in every format: JSON and notebooks must be JSON. */
static void
every_format(const struct md_view *v)
{
	struct md_buf out = MD_BUF_INIT;

	for (const struct render_format *f = render_formats; f->name; f++) {
		md_buf_clear(&out);
		f->render(&out, v);
		if (!strcmp(f->name, "json") || !strcmp(f->name, "ipynb")) {
			cJSON *root = cJSON_ParseWithLength(out.ptr, out.len);

			FUZZ_CHECK(root != NULL);
			cJSON_Delete(root);
		}
	}
	md_buf_dispose(&out);
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
	struct md_view v;
	size_t (*spans)[2] = NULL, last = 0;

	if (md_doc_parse(&doc, "fuzz.md", s, doc_len, 0) < 0) {
		FUZZ_CHECK(doc == NULL);
		goto done;
	}
	FUZZ_CHECK(doc->front_start <= doc->front_end &&
		   doc->front_end <= doc->len);
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct md_block *b = &doc->blocks[i];
		FUZZ_CHECK(b->start <= b->end && b->end <= doc->len);
		FUZZ_CHECK(!b->has_out || (b->end <= b->out_start &&
					   b->out_start <= b->out_end &&
					   b->out_end <= doc->len));
		FUZZ_CHECK(i == 0 || last <= b->start);
		FUZZ_CHECK(doc->front_end <= b->start);
		last = b->has_out ? b->out_end : b->end;
	}
	outputs_make(&o, doc, s + doc_len, size - doc_len);
	spans = md_calloc(doc->nblocks + 1, sizeof(*spans));
	memset(&v, 0, sizeof(v));
	v.doc = doc;
	v.path = "fuzz.md";
	v.blocks = o.blocks;
	v.spans = spans;
	render_markdown(&out, &v);
	check_spans(spans, doc, &out);
	memset(spans, 0, (doc->nblocks + 1) * sizeof(*spans));
	v.flags = MD_VIEW_KEEP_CODE;
	render_markdown(&kept, &v);
	check_spans(spans, doc, &kept);
	v.spans = NULL;
	v.flags = 0;
	every_format(&v);
	v.flags = MD_VIEW_UNSAFE_HTML;
	render_html(&out, &v);

	if (plain_outputs(doc, &o)) {
		/* The regions are recognised: the same blocks, no more. */
		if (md_doc_parse(&again, "fuzz.md", kept.ptr ? kept.ptr : "",
				 kept.len, 0) < 0) {
			fprintf(stderr, "%s\n--- rendered:\n%.*s\n---\n",
				md_err_msg(), (int)kept.len,
				kept.ptr ? kept.ptr : "");
			FUZZ_CHECK(!"the rendered document parses again");
		}
		FUZZ_CHECK(again->nblocks == doc->nblocks);
		for (size_t i = 0; i < doc->nblocks; i++)
			o.blocks[i].block = &again->blocks[i];
		v.doc = again;
		v.flags = MD_VIEW_KEEP_CODE;
		render_markdown(&twice, &v);
		FUZZ_CHECK(twice.len == kept.len &&
			   !memcmp(twice.ptr ? twice.ptr : "",
				   kept.ptr ? kept.ptr : "", kept.len));

		/*
		 * Stripped, the rendered document is the source stripped:
		 * when only executable blocks have outputs (as in mdrun; here
		 * any block may) and every fence is closed (a render closes
		 * one left open, which strip keeps).
		 */
		struct md_doc *x = NULL, *y = NULL;
		struct md_buf sx = MD_BUF_INIT, sy = MD_BUF_INIT;
		bool comparable = true;

		for (size_t i = 0; i < doc->nblocks; i++)
			comparable &= (doc->blocks[i].exec ||
				       doc->blocks[i].inline_expr) &&
				      (doc->blocks[i].closed ||
				       doc->blocks[i].inline_expr);
		if (comparable &&
		    md_doc_parse(&x, "fuzz.md", s, doc_len, MD_DOC_AS_READ) == 0 &&
		    md_doc_parse(&y, "fuzz.md", kept.ptr ? kept.ptr : "",
				 kept.len, MD_DOC_AS_READ) == 0) {
			md_doc_strip(&sx, x);
			md_doc_strip(&sy, y);
			if (sx.len != sy.len ||
			    memcmp(sx.ptr ? sx.ptr : "", sy.ptr ? sy.ptr : "",
				   sx.len))
				fprintf(stderr, "--- source stripped:\n%.*s\n"
						"--- rendered stripped:\n%.*s\n",
					(int)sx.len, sx.ptr ? sx.ptr : "",
					(int)sy.len, sy.ptr ? sy.ptr : "");
			FUZZ_CHECK(sx.len == sy.len &&
				   !memcmp(sx.ptr ? sx.ptr : "",
					   sy.ptr ? sy.ptr : "", sx.len));
		}
		md_doc_free(x);
		md_doc_free(y);
		md_buf_dispose(&sx);
		md_buf_dispose(&sy);
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
