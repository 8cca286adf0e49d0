/*
 * A warm render of a large document is mostly first touches of fresh
 * memory: cmark-gfm's tree, the text and its copies. Each first touch of a
 * 4 KiB page is a page fault, and on virtual machines a fault costs 5-15
 * microseconds (1,000 blocks, 1 MB: about 4,500 faults, half the time).
 * glibc's own switch for this (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) is
 * read only from the environment at start, so the same is done here by
 * hand: the main heap is extended once by a large pad, which costs address
 * space, not memory, and that range is advised for huge pages, so that
 * one fault maps 2 MiB. Allocations up to the mmap threshold come from
 * that range; larger ones are mmap'd and given back at free as before.
 * Only the main thread's arena is covered; it does the parse and render.
 */
#define _DEFAULT_SOURCE /* sbrk, madvise */
#include "heap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAD ((size_t)32 << 20)	  /* the heap's first extension */
#define HUGE ((uintptr_t)2 << 20) /* a huge page on x86-64 and arm64 */

void
md_heap_setup(void)
{
	void *volatile p; /* volatile: the compiler keeps the malloc */
	uintptr_t from, to;

	/*
	 * Below the threshold, blocks come from the heap and go back to it;
	 * the heap is trimmed only past twice the pad.
	 */
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	mallopt(M_TRIM_THRESHOLD, (int)(2 * PAD));
	mallopt(M_TOP_PAD, (int)PAD);
	from = (uintptr_t)sbrk(0);
	p = malloc(256 << 10); /* more than the heap's first top: it grows */
	free(p);
	to = (uintptr_t)sbrk(0);
	if (from == (uintptr_t)-1 || to == (uintptr_t)-1)
		return;
	from = (from + HUGE - 1) & ~(HUGE - 1);
	if (to > from)
		(void)madvise((void *)from, to - from, MADV_HUGEPAGE);
}
