/*
 * The interpreter config loader (md_interps_load), which reads mdrun.json
 * from a path: the input is written to a file in the scratch folder.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../mdrun/core/interp.h"
#include "../../util/err.h"
#include "../../util/fs.h"

static char *path;

static void
free_path(void)
{
	free(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const langs[] = { "sh", "python", "py", "perl",
					     "node", "r", "R", "" };
	struct md_interps t;

	if (!path) {
		path = md_path_join(fuzz_scratch(), "mdrun.json");
		atexit(free_path);
	}
	fuzz_write(path, data, size);
	if (md_interps_load(&t, path) == 0) {
		FUZZ_CHECK(t.n >= 3);
		for (size_t i = 0; i < t.n; i++) {
			const struct md_interp *in = &t.v[i];
			FUZZ_CHECK(in->lang && in->argv && in->extension);
			/* md_interp_identity looks argv[0] up in PATH. */
			FUZZ_CHECK(in->argv[0] != NULL);
			/* Sessions need a driver or a kernel. */
			FUZZ_CHECK(in->driver != MD_DRIVER_NONE || in->kernel ||
				   !in->session);
			FUZZ_CHECK(!in->kernel || in->driver == MD_DRIVER_NONE);
			FUZZ_CHECK(md_interp_find(&t, in->lang) == in);
		}
		FUZZ_CHECK(!t.remote || *t.remote);
		for (size_t i = 0; i < sizeof(langs) / sizeof(*langs); i++)
			md_interp_find(&t, langs[i]);
	} else {
		FUZZ_CHECK(*md_err_msg());
	}
	md_interps_dispose(&t);
	md_err_clear();
	return 0;
}
