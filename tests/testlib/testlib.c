/*
 * testlib.c: see testlib.h. Test-only code: failures abort, which cmocka reports as a failed test.
 */
#define _XOPEN_SOURCE 700
#include "testlib.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
testlib_read_data(const char *rel, size_t *len)
{
    const char *dir = getenv("HAF_TEST_DATA");
    char path[4096];
    FILE *f;
    char *data;
    long n;

    if (dir == NULL)
        dir = "tests/data";
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        abort();
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        abort();
    data = malloc((size_t)n + 1);
    if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n)
        abort();
    data[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return data;
}

char *
testlib_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(4096);

    if (path == NULL)
        abort();
    snprintf(path, 4096, "%s/haf-test-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(path) == NULL)
        abort();
    return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
testlib_rmtree(const char *path)
{
    if (path)
        (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
