/*
 * mdrun strip: a document back to its source, without the outputs,
 * values and included text that rendering it in place added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "../doc/doc.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static const char usage[] =
	"usage: mdrun strip [--check] [--all] [-o OUT] [-q] FILE...\n"
	"\n"
	"Removes what 'mdrun render -i' added to each document: every output\n"
	"region, every inline value and the text of included documents,\n"
	"with their markers. What is left is the source as written, byte for\n"
	"byte. Documents are rewritten in place (a document without outputs\n"
	"is not touched); folders are searched for .md, .Rmd and .qmd files,\n"
	"and quoted globs are expanded.\n"
	"\n"
	"options:\n"
	"  --check          change nothing; exit 1 when a document has\n"
	"                   outputs, naming it (for repositories that keep\n"
	"                   sources clean)\n"
	"  --all            also the outputs of plain blocks (a document\n"
	"                   rendered with --all)\n"
	"  -o, --output OUT write the one document's source to OUT instead\n"
	"                   ('-': standard output)\n"
	"  -q, --quiet      print errors only\n"
	"\n"
	"exit status: 0 done (--check: no document has outputs); 1 (--check)\n"
	"a document has outputs; 2 usage or I/O error.\n";

struct args {
	bool check, quiet, all;
	const char *output;
	char **v;
	size_t n;
};

static int
parse_args(struct args *a, int argc, char **argv)
{
	int k;

	memset(a, 0, sizeof(*a));
	a->v = md_calloc((size_t)argc + 1, sizeof(*a->v));
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			fputs(usage, stdout);
			return -1;
		}
		if ((k = cli_option_value(&a->output, argc, argv, &i, "-o")) ||
		    (k = cli_option_value(&a->output, argc, argv, &i,
					  "--output"))) {
			if (k < 0)
				return MD_EXIT_USAGE;
		} else if (!strcmp(s, "--check")) {
			a->check = true;
		} else if (!strcmp(s, "--all")) {
			a->all = true;
		} else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
			a->quiet = true;
		} else if (s[0] == '-' && s[1] != '\0') {
			return cli_usage_error("unknown option '%s'", s);
		} else {
			a->v[a->n++] = argv[i];
		}
	}
	if (!a->n)
		return cli_usage_error("strip: no document given");
	if (a->check && a->output)
		return cli_usage_error("--check writes nothing: drop -o");
	return 0;
}

/* Strips one document: MD_EXIT_OK, MD_EXIT_FAILED (--check: outputs). */
static int
strip_one(const struct args *a, const char *path)
{
	struct md_buf src = MD_BUF_INIT, out = MD_BUF_INIT;
	struct md_doc *doc = NULL;
	const char *dest = a->output ? a->output : path;
	size_t removed;
	int rc;

	if (md_fs_read(&src, strcmp(path, "-") ? path : "/dev/stdin") < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	if (md_doc_parse(&doc, path, src.ptr ? src.ptr : "", src.len,
			 MD_DOC_AS_READ | (a->all ? MD_DOC_ALL : 0)) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	removed = md_doc_strip(&out, doc);
	rc = MD_EXIT_OK;
	if (a->check) {
		if (removed) {
			fprintf(stderr, "%s: has %zu %s (mdrun strip %s "
					"removes %s)\n",
				path, removed,
				cli_plural(removed, "output", "outputs"), path,
				removed == 1 ? "it" : "them");
			rc = MD_EXIT_FAILED;
		}
		goto done;
	}
	if (!a->output && !removed && strcmp(path, "-"))
		goto done; /* nothing to take out: the file is left alone */
	if (!strcmp(dest, "-")) {
		if (fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout) !=
			    out.len ||
		    fflush(stdout) != 0)
			rc = cli_error("standard output: write failed");
	} else {
		struct stat sb;
		mode_t mode = stat(path, &sb) == 0 ? sb.st_mode & 07777 : 0644;

		if (md_fs_write_output(dest, out.ptr ? out.ptr : "", out.len,
				       mode) < 0)
			rc = cli_error("%s", md_err_msg());
	}
	if (rc == MD_EXIT_OK && !a->quiet && removed)
		fprintf(stderr, "mdrun: %s: %zu %s removed\n", path, removed,
			cli_plural(removed, "output", "outputs"));
done:
	md_doc_free(doc);
	md_buf_dispose(&src);
	md_buf_dispose(&out);
	return rc;
}

int
cmd_strip(int argc, char **argv)
{
	struct args a;
	char **docs = NULL;
	size_t n = 0;
	bool many;
	int rc, worst = MD_EXIT_OK;

	if ((rc = parse_args(&a, argc, argv)) != 0) {
		free(a.v);
		return rc < 0 ? MD_EXIT_OK : rc;
	}
	if (cli_docs_expand(&docs, &n, a.v, a.n, &many) < 0) {
		worst = cli_error("%s", md_err_msg());
		goto done;
	}
	if (many && a.output) {
		worst = cli_usage_error("-o writes one document; several "
					"are stripped in place");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = strip_one(&a, docs[i])) > worst)
			worst = rc;
done:
	md_strv_free(docs);
	free(a.v);
	return worst;
}
