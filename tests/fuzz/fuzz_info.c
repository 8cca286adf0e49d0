/*
 * The block options: the info-string grammar (md_info_parse), one option
 * at a time (md_info_option), their validation (md_opts_validate), and
 * Quarto's "#| key: value" lines, which only md_doc_parse reads.
 *
 * Input: the first line is an info string, the text between the braces
 * of ```{...}; every further line is an option line as written at the top
 * of a block's code ("#| echo: false").
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../mdrun/doc/doc.h"
#include "../../util/buf.h"
#include "../../util/err.h"

static void
block_dispose(struct md_block *b)
{
	for (size_t i = 0; i < b->nopts; i++) {
		free(b->opts[i].key);
		free(b->opts[i].val);
	}
	free(b->opts);
	free(b->lang);
	free(b->name);
	free(b->fig);
	free(b->comment);
	free(b->fold_summary);
	free(b->child);
	memset(b, 0, sizeof(*b));
}

/* What parsing and validating left in b must hang together. */
static void
check_block(const struct md_block *b)
{
	for (size_t i = 0; i < b->nopts; i++) {
		FUZZ_CHECK(b->opts[i].key && b->opts[i].val);
		FUZZ_CHECK(strcmp(b->opts[i].key, "name") &&
			   strcmp(b->opts[i].key, "label"));
		FUZZ_CHECK(md_block_opt(b, b->opts[i].key) != NULL);
	}
	FUZZ_CHECK(b->nouts >= 1 && b->nouts <= 1000);
	FUZZ_CHECK(b->timeout >= 0 && b->timeout <= 1e7);
}

static void
info_string(const char *s, size_t n)
{
	struct md_block b;

	memset(&b, 0, sizeof(b));
	b.exec = true;
	if (md_info_parse(&b, "fuzz.md", 1, 5, s, n) == 0 &&
	    md_opts_validate(&b, "fuzz.md") == 0)
		check_block(&b);
	block_dispose(&b);
}

/* Each "key: value" line straight to md_info_option, then validated. */
static void
option_lines(const char *s, size_t n)
{
	struct md_block b;
	size_t pos = 0;
	int line = 2, rc = 0;

	memset(&b, 0, sizeof(b));
	while (rc == 0 && pos < n) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - s) : n;
		const char *colon = memchr(s + pos, ':', end - pos);
		size_t k = pos;

		if (end - pos >= 2 && !memcmp(s + pos, "#|", 2))
			k += 2;
		if (colon) {
			size_t v = (size_t)(colon - s) + 1;
			char *key = md_strndup(s + k, (size_t)(colon - s) - k);
			char *val = md_strndup(s + v, end - v);

			rc = md_info_option(&b, "fuzz.md", line, 1, key, 1,
					    val);
			free(key);
			free(val);
		}
		pos = end + 1;
		line++;
	}
	if (rc == 0 && md_opts_validate(&b, "fuzz.md") == 0)
		check_block(&b);
	block_dispose(&b);
}

/*
 * The same text as a document: "```{INFO}", the option lines, a line of
 * code and the closing fence, so md_doc_parse reads the "#|" lines.
 */
static void
as_document(const char *info, size_t info_len, const char *rest,
	    size_t rest_len)
{
	const char *fence = memchr(info, '`', info_len) ? "~~~" : "```";
	struct md_buf src = MD_BUF_INIT;
	struct md_doc *doc = NULL;

	md_buf_printf(&src, "%s{", fence);
	md_buf_put(&src, info, info_len);
	md_buf_puts(&src, "}\n");
	md_buf_put(&src, rest, rest_len);
	if (rest_len && rest[rest_len - 1] != '\n')
		md_buf_putc(&src, '\n');
	md_buf_printf(&src, "code\n%s\n", fence);
	if (md_doc_parse(&doc, "fuzz.md", src.ptr, src.len, 0) == 0) {
		FUZZ_CHECK(doc != NULL);
		for (size_t i = 0; i < doc->nblocks; i++) {
			const struct md_block *b = &doc->blocks[i];
			FUZZ_CHECK(b->code_len == strlen(b->code));
			FUZZ_CHECK(!b->exec || (b->lang && b->name));
			check_block(b);
		}
	} else {
		FUZZ_CHECK(doc == NULL && *md_err_msg());
	}
	md_doc_free(doc);
	md_buf_dispose(&src);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t info_len = nl ? (size_t)(nl - s) : size;
	const char *rest = nl ? nl + 1 : s + size;
	size_t rest_len = size - (size_t)(rest - s);

	info_string(s, info_len);
	option_lines(rest, rest_len);
	as_document(s, info_len, rest, rest_len);
	md_err_clear();
	return 0;
}
