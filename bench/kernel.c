/*
 * The bare cost of blocks in a Jupyter kernel, as a floor for W9: starts
 * the kernel named NAME, runs N trivial blocks through mdrun's kernel
 * client (no document, no store, no render) and stops it. Timed by
 * bench_ab at N=100 and N=1, the difference over 99 is what a block
 * costs the kernel and the protocol alone; a client's overhead is what it
 * adds to that.
 *
 * usage: bench_kernel NAME N
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../mdrun/core/kernel.h"
#include "../mdrun/core/proc.h"
#include "../util/buf.h"
#include "../util/err.h"
#include "../util/fs.h"

int
main(int argc, char **argv)
{
	struct md_kernel_specs specs;
	const struct md_kernel_spec *spec;
	struct md_kernel *k = NULL;
	char dir[] = "/tmp/bench-kernel.XXXXXX";
	int n = argc == 3 ? atoi(argv[2]) : 0, rc = 1;

	if (n < 1) {
		fprintf(stderr, "usage: bench_kernel NAME N\n");
		return 2;
	}
	md_kernel_specs_find(&specs);
	if (!(spec = md_kernel_spec_get(&specs, argv[1]))) {
		fprintf(stderr, "bench_kernel: no kernel '%s'\n", argv[1]);
		goto done;
	}
	if (!mkdtemp(dir) || md_kernel_start(&k, spec, dir, ".", NULL, 0) < 0) {
		fprintf(stderr, "bench_kernel: %s\n", md_err_msg());
		goto done;
	}
	for (int i = 0; i < n; i++) {
		struct md_buf code = MD_BUF_INIT;
		struct md_proc_result r;

		md_buf_printf(&code, "x = %d\nprint(x)\n", i);
		if (md_kernel_run(&r, k, code.ptr, code.len, 0, 1 << 20) < 0 ||
		    r.exit.code != 0) {
			fprintf(stderr, "bench_kernel: block %d failed\n", i);
			md_proc_result_dispose(&r);
			md_buf_dispose(&code);
			goto done;
		}
		md_proc_result_dispose(&r);
		md_buf_dispose(&code);
	}
	rc = 0;
done:
	md_kernel_stop(k);
	md_fs_rmtree(dir);
	md_kernel_specs_dispose(&specs);
	return rc;
}
