/*
 * footprint.h: the process's resident memory that is not ours to allocate: the malloc policy and
 * library start-up work we never use (footprint.c).
 */
#ifndef HAF_FOOTPRINT_H
#define HAF_FOOTPRINT_H

/* At start, before the first large allocation: fixed malloc thresholds and one arena. */
void footprint_init(void);
/* Give the heap's free pages back to the kernel (after a backlog drained); a few ms at most. */
void footprint_trim(void);

#endif
