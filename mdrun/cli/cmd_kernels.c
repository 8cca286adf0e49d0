/* mdrun kernels: the Jupyter kernels installed, and which languages use them. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../core/interp.h"
#include "../core/kernel.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static const char usage[] =
	"usage: mdrun kernels [--config FILE]\n"
	"\n"
	"Lists the Jupyter kernels installed where Jupyter finds them\n"
	"($JUPYTER_PATH, the user's data folder, /usr/local/share/jupyter,\n"
	"/usr/share/jupyter), then the languages that run in a kernel: r in\n"
	"IRkernel's ir (Debian: r-cran-irkernel), and those mdrun.json gives a\n"
	"\"kernel\" (--config FILE, default ./mdrun.json).\n";

int
cmd_kernels(int argc, char **argv)
{
	struct md_kernel_specs specs;
	struct md_interps langs;
	const char *config = NULL;
	size_t shown = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return MD_EXIT_OK;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config = argv[++i];
		} else {
			return cli_usage_error("kernels: unexpected '%s'",
					       argv[i]);
		}
	}
	if (!config && md_fs_exists("mdrun.json"))
		config = "mdrun.json";
	if (md_interps_load(&langs, config) < 0) {
		md_interps_dispose(&langs);
		return cli_error("%s", md_err_msg());
	}
	md_kernel_specs_find(&specs);
	printf("Jupyter kernels installed (%zu):\n", specs.n);
	for (size_t i = 0; i < specs.n; i++) {
		const struct md_kernel_spec *k = &specs.v[i];
		printf("  %-12s %-24s %-10s %s\n", k->name, k->display_name,
		       k->language, k->dir);
	}
	printf("\nlanguages that run in a kernel:\n");
	for (size_t i = 0; i < langs.n; i++) {
		const struct md_interp *in = &langs.v[i];
		if (!in->kernel)
			continue;
		printf("  %-12s %s (%s)\n", in->lang, in->kernel,
		       md_kernel_spec_get(&specs, in->kernel)
			       ? "installed"
			       : "not installed");
		shown++;
	}
	if (!shown)
		printf("  none\n");
	md_kernel_specs_dispose(&specs);
	md_interps_dispose(&langs);
	return MD_EXIT_OK;
}
