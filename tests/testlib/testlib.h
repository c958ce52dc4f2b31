/*
 * testlib.h: small helpers shared by the unit tests: reading test data files, temp directories.
 */
#ifndef HAF_TESTLIB_H
#define HAF_TESTLIB_H

#include <stddef.h>

/* Read $HAF_TEST_DATA/<rel> whole; NUL-terminated; abort()s on failure (tests only). */
char *testlib_read_data(const char *rel, size_t *len);
/* A fresh 0700 directory under $TMPDIR; the caller removes it with testlib_rmtree. */
char *testlib_mkdtemp(void);
void testlib_rmtree(const char *path);

#endif
