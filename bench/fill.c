/*
 * Fills a store with N synthetic realizations under N random keys, for
 * the store benchmark. usage: bench_fill STORE N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/store.h"
#include "../util/err.h"

int
main(int argc, char **argv)
{
	struct store *s = NULL;
	long i, n;
	char key[MD_HASH_HEX], rhash[MD_HASH_HEX], seed[64], out[64];

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: bench_fill STORE N\n");
		return 2;
	}
	if (store_open(&s, argv[1]) < 0) {
		fprintf(stderr, "bench_fill: %s\n", md_err_msg());
		return 2;
	}
	srand((unsigned)time(NULL));
	for (i = 0; i < n; i++) {
		struct store_result r;
		int k = snprintf(seed, sizeof(seed), "%ld-%d", i, rand());

		md_hash_bytes(key, seed, (size_t)k);
		k = snprintf(out, sizeof(out), "output %ld\n", i);
		memset(&r, 0, sizeof(r));
		r.out = out;
		r.out_len = (size_t)k;
		r.err = "";
		r.start = r.end = (double)time(NULL);
		if (store_commit(rhash, s, key, "{\"fields\":{}}", &r) < 0) {
			fprintf(stderr, "bench_fill: %s\n", md_err_msg());
			return 1;
		}
		if ((i + 1) % 10000 == 0)
			fprintf(stderr, "bench_fill: %ld/%ld\n", i + 1, n);
	}
	store_sync(s);
	store_close(s);
	return 0;
}
