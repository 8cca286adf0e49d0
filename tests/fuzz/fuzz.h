/*
 * What the libFuzzer targets share: the entry point libFuzzer calls, a
 * scratch folder for code under test that reads files, and a check that
 * stops the run on a broken invariant.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called by libFuzzer once per input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A fresh folder made on first use, under $TMPDIR, else /dev/shm (a tmpfs,
 * so the per-input writes stay in memory), else /tmp; removed at exit, or
 * after a crash by the next process that makes one. Borrowed. Aborts when
 * it cannot be made: the machine is at fault, not the input.
 */
const char *fuzz_scratch(void);

/* Writes n bytes at data to path (created or cut), or aborts. */
void fuzz_write(const char *path, const void *data, size_t n);

/* Reports what broke and aborts, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                    \
	((cond) ? (void)0                                                   \
		: fuzz_fail(__FILE__, __LINE__, #cond))
void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

#endif
