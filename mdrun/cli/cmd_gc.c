/* mdrun gc: remove what no document's last render uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../../util/err.h"

static const char usage[] =
	"usage: mdrun gc [--store DIR] [--dry-run] [--keep-last N]\n"
	"                [--older-than DAYS] [DOC.md...]\n"
	"\n"
	"Every render records the keys its document used (the document's\n"
	"root). gc keeps what the roots reach and removes every other key\n"
	"with its realizations; a root whose document no longer exists is\n"
	"dropped first. With documents named, it keeps what those documents\n"
	"use now instead.\n"
	"\n"
	"  --dry-run          say what would be removed, remove nothing\n"
	"  --keep-last N      also keep only the N newest successful\n"
	"                     realizations of each kept key (and always the\n"
	"                     first and the one a render shows)\n"
	"  --older-than DAYS  remove only keys that last ran more than DAYS\n"
	"                     days ago\n"
	"  --all              the documents named were rendered with --all\n"
	"\n"
	"A document rendered from standard input has no root: gc removes\n"
	"its keys.\n";

static void
report(const char *what, void *ctx)
{
	(void)ctx;
	printf("%s\n", what);
}

int
cmd_gc(int argc, char **argv)
{
	struct store_gc_opts o;
	struct store_gc_stats st;
	const char *opt = NULL, *v;
	const char **docs = md_calloc((size_t)argc, sizeof(*docs));
	size_t ndocs = 0, i, j;
	char cwd[4096], *end;
	struct store *s = NULL;
	int k, rc = MD_EXIT_USAGE;
	bool all = false;

	memset(&o, 0, sizeof(o));
	for (int a = 1; a < argc; a++) {
		if ((k = cli_option_value(&opt, argc, argv, &a, "--store")))
			goto next;
		if ((k = cli_option_value(&v, argc, argv, &a, "--keep-last"))) {
			long n = k > 0 ? strtol(v, &end, 10) : 0;
			if (k > 0 && (!*v || *end || n < 1 || n > 1000000))
				k = (cli_usage_error("--keep-last needs a "
						    "whole number >= 1"), -1);
			o.keep_last = (int)n;
			goto next;
		}
		if ((k = cli_option_value(&v, argc, argv, &a,
					  "--older-than"))) {
			double d = k > 0 ? strtod(v, &end) : 0;
			if (k > 0 && (!*v || *end || !(d > 0)))
				k = (cli_usage_error("--older-than needs a "
						    "number of days > 0"), -1);
			o.older_than = d;
			goto next;
		}
		k = 0;
		if (!strcmp(argv[a], "--dry-run")) {
			o.dry_run = true;
		} else if (!strcmp(argv[a], "--all")) {
			all = true;
		} else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			fputs(usage, stdout);
			free(docs);
			return MD_EXIT_OK;
		} else if (argv[a][0] == '-') {
			k = (cli_usage_error("unknown option '%s'", argv[a]), -1);
		} else {
			docs[ndocs++] = argv[a];
		}
next:
		if (k < 0) {
			free(docs);
			return MD_EXIT_USAGE;
		}
	}
	if (!getcwd(cwd, sizeof(cwd)) || md_nb_store_open(&s, opt, cwd) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	if (ndocs) {
		/* Keep what the named documents use now. */
		o.keep = md_calloc(1, MD_HASH_HEX);
		for (i = 0; i < ndocs; i++) {
			struct md_nb_doc d;
			if (md_nb_doc_load(&d, NULL, docs[i], all ? MD_DOC_ALL : 0,
				   NULL, NULL) < 0 ||
			    md_nb_doc_keys(&d, s) < 0) {
				rc = cli_error("%s", md_err_msg());
				md_nb_doc_dispose(&d);
				goto done;
			}
			o.keep = md_realloc(o.keep, (o.nkeep + d.plan.n + 1) *
							    MD_HASH_HEX);
			for (j = 0; j < d.plan.n; j++)
				if (d.plan.stages[j].key[0])
					memcpy(o.keep[o.nkeep++],
					       d.plan.stages[j].key, MD_HASH_HEX);
			md_nb_doc_dispose(&d);
		}
	}
	if (store_gc(&st, s, &o, report, NULL) < 0) {
		rc = cli_error("%s", md_err_msg());
		goto done;
	}
	printf("%s %zu %s and %zu %s, %.1f KiB%s\n",
	       o.dry_run ? "would remove" : "removed", st.keys_removed,
	       cli_plural(st.keys_removed, "key", "keys"),
	       st.realizations_removed,
	       cli_plural(st.realizations_removed, "realization",
			  "realizations"),
	       st.bytes / 1024.0,
	       st.roots_dropped ? "; dropped roots of documents that are gone"
				: "");
	rc = MD_EXIT_OK;
done:
	free(o.keep);
	free(docs);
	store_close(s);
	return rc;
}
