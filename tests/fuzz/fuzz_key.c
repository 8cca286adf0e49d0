/*
 * The key serialization (md_key_pairs, store_key_bytes): the input is read
 * as two key tuples (tests/key_tuple.h); each serialization must read back
 * to what its tuple means, and the two must be equal exactly when the
 * tuples mean the same fields.
 */
#include "fuzz.h"
#include "../key_tuple.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_reader r = { data, size };
	struct kt_tuple t[2];
	struct md_buf b[2] = { MD_BUF_INIT, MD_BUF_INIT };
	struct md_buf m[2] = { MD_BUF_INIT, MD_BUF_INIT };

	for (int i = 0; i < 2; i++) {
		struct kt_tuple back;
		struct md_buf again = MD_BUF_INIT;

		kt_read(&t[i], &r);
		kt_serialize(&b[i], &t[i]);
		kt_canonical(&m[i], &t[i]);
		FUZZ_CHECK(kt_decode(&back, b[i].ptr, b[i].len));
		kt_canonical(&again, &back);
		FUZZ_CHECK(!strcmp(again.ptr, m[i].ptr));
		kt_dispose(&back);
		md_buf_dispose(&again);
	}
	bool same_bytes = b[0].len == b[1].len &&
			  !memcmp(b[0].ptr, b[1].ptr, b[0].len);
	FUZZ_CHECK(same_bytes == !strcmp(m[0].ptr, m[1].ptr));
	for (int i = 0; i < 2; i++) {
		kt_dispose(&t[i]);
		md_buf_dispose(&b[i]);
		md_buf_dispose(&m[i]);
	}
	return 0;
}
