/*
 * secmem.h: keeping secrets out of memory we give back (issue 11, finding 6).
 *
 * A session token passes through many hands on its way to a request: the IMDS/ECS document (an
 * HTTP body, then jansson strings), the canonical request, the header lines, libcurl's header list
 * and request buffer. When any of them is freed, or moved by realloc, without being overwritten,
 * the token stays in the heap for as long as nobody reuses that block, and a core dump or a
 * reader of /proc/PID/mem finds it. So every allocator we can choose wipes: struct buf wipes its
 * old block on growth and its block on release (buf.c), and the allocators below, which jansson,
 * libcurl and OpenSSL are given at start, overwrite each block (its size kept in a header) before
 * freeing it. The process is also made non-dumpable (no core files, /proc/PID/mem for root only).
 *
 * The cost is one memset per freed byte, paid on release, which for our allocation pattern (a
 * few per request, none per audit entry) does not show in the benchmarks.
 */
#ifndef HAF_SECMEM_H
#define HAF_SECMEM_H

#include <stddef.h>

void *secmem_malloc(size_t n);
void *secmem_calloc(size_t count, size_t n);
/* Like realloc, but the old block is wiped and freed after the move (never grown in place). */
void *secmem_realloc(void *p, size_t n);
char *secmem_strdup(const char *s);
/* Wipes the block's bytes, then frees it. NULL is accepted. Only for secmem_* blocks. */
void secmem_free(void *p);

/* At start, before any other code runs: jansson and OpenSSL allocate through secmem_* from then on
 * (libcurl too: http.c initialises it with them), and the process is made non-dumpable
 * (PR_SET_DUMPABLE 0). Returns 0, or -1 with errno when prctl failed (the allocators are set
 * anyway). */
int secmem_init(void);

#endif
