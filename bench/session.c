/*
 * The bare cost of blocks in a session, as a floor for W2 and W3: starts
 * LANG's built-in driver (bash or python), runs N trivial blocks through
 * mdrun's session client (no document, no store, no render, no input
 * tracking) and stops it. Timed by bench_ab at N=200 and N=1, the
 * difference over 199 is what a block costs the interpreter, its driver
 * and the protocol alone; what a render adds per block is measured
 * against it.
 *
 * usage: bench_session LANG N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/core/interp.h"
#include "../mdrun/core/proc.h"
#include "../mdrun/core/session.h"
#include "../util/buf.h"
#include "../util/err.h"
#include "../util/fs.h"

int
main(int argc, char **argv)
{
	struct md_interps table = { 0 };
	const struct md_interp *in;
	struct md_session ss;
	char dir[] = "/tmp/bench-session.XXXXXX";
	int n = argc == 3 ? atoi(argv[2]) : 0, rc = 1;
	bool python, ok, started = false;

	if (n < 1) {
		fprintf(stderr, "usage: bench_session LANG N\n");
		return 2;
	}
	python = !strcmp(argv[1], "python");
	if (md_interps_load(&table, NULL) < 0 ||
	    !(in = md_interp_find(&table, argv[1])) ||
	    (in->driver != MD_DRIVER_BASH && in->driver != MD_DRIVER_PYTHON)) {
		fprintf(stderr, "bench_session: no bash or python driver for "
				"'%s'\n", argv[1]);
		goto done;
	}
	if (!mkdtemp(dir) ||
	    md_session_start(&ss, (struct md_interp *)in, dir, ".",
			     "bench.md", NULL, NULL) < 0) {
		fprintf(stderr, "bench_session: %s\n", md_err_msg());
		goto done;
	}
	started = true;
	for (int i = 0; i < n; i++) {
		struct md_buf code = MD_BUF_INIT;
		struct md_proc_result r;
		const char *out;
		char name[32];

		/* As bench/gen.py writes W2's blocks (5 lines apart) and
		 * W3's (4). */
		md_buf_printf(&code, python ? "x = %d\nprint(x)\n"
					    : "x=%d; echo $x\n", i);
		snprintf(name, sizeof(name), "%s-%d", argv[1], i + 1);
		ok = md_session_run(&r, &out, &ss, name, NULL, code.ptr,
				    code.len, (python ? 5 : 4) * i + 2, 0,
				    1 << 20) == 0 &&
		     r.exit.code == 0;
		md_proc_result_dispose(&r);
		md_buf_dispose(&code);
		if (!ok) {
			fprintf(stderr, "bench_session: block %d failed\n", i);
			goto done;
		}
	}
	rc = 0;
done:
	if (started)
		md_session_stop(&ss);
	md_fs_rmtree(dir);
	md_interps_dispose(&table);
	return rc;
}
