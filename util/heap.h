/*
 * The process's heap, set up once at start for a program that touches
 * tens of megabytes in a fraction of a second.
 */
#ifndef MD_HEAP_H
#define MD_HEAP_H

/*
 * Reserves the main heap in one piece and asks for transparent huge pages
 * on it (madvise(MADV_HUGEPAGE), where the kernel offers them). Call once,
 * before any thread starts. Failures are ignored: the heap then grows as
 * it would have.
 */
void md_heap_setup(void);

#endif
