/*
 * fuzz_replay_ledger.c: a replay ledger file of arbitrary bytes (our own file, but it may be
 * corrupt or truncated) never crashes the daemon. Two parts per input: the searches of
 * ledger_search.h over the bytes taken as records (sorted and linear, with a cursor), and the
 * real replay_ledger.h path: the bytes become a stream's main ledger file in a temp directory,
 * which is opened (torn tail cut, bad header set aside), searched, appended to and synced.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haf/ledger_search.h"
#include "haf/replay_ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results that may be anything for arbitrary input: only a crash is a failure. */
#define IGNORE_RESULT_FUZZ(x)                                                                      \
    do {                                                                                           \
        if ((x) != HAF_OK) {                                                                       \
        }                                                                                          \
    } while (0)

struct bytes {
    const uint8_t *p;
    uint64_t n;
};

static enum haf_err
bytes_read(void *ctx, uint64_t first, size_t n, struct replay_mark *out)
{
    const struct bytes *b = ctx;

    if (first > b->n || n > b->n - first)
        abort(); /* the search read outside the sequence */
    for (size_t i = 0; i < n; i++)
        ledger_rec_decode(b->p + (first + i) * LEDGER_REC_BYTES, &out[i]);
    return HAF_OK;
}

static char dir[64];
static char mainp[512];

/* At exit: the temp directory and what the inputs left in it (set-aside files included). */
static void
remove_dir(void)
{
    char ldir[128], path[512];
    DIR *dh;
    struct dirent *de;

    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    dh = opendir(ldir);
    if (dh != NULL) {
        while ((de = readdir(dh)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            (void)snprintf(path, sizeof(path), "%s/%s", ldir, de->d_name);
            (void)unlink(path);
        }
        closedir(dh);
    }
    (void)rmdir(ldir);
    (void)rmdir(dir);
}

/* Once: a temp state directory, and the path of the main file of stream /g s in it. */
static void
setup(void)
{
    struct replay_ledger *l;
    struct replay_mark m = {1, 1, 1}, ceil = {UINT64_MAX, UINT64_MAX, 0};
    char ldir[128];
    DIR *dh;
    struct dirent *de;

    (void)snprintf(dir, sizeof(dir), "/tmp/fuzz_ledger.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(remove_dir);
    l = replay_ledger_new(dir, "/g", "s", true);
    if (l == NULL || replay_ledger_add(l, &m, &ceil, NULL) != HAF_OK ||
        replay_ledger_sync(l, NULL) != HAF_OK)
        abort();
    replay_ledger_free(l);
    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    dh = opendir(ldir);
    if (dh == NULL)
        abort();
    while ((de = readdir(dh)) != NULL)
        if (strstr(de->d_name, ".main") != NULL && strlen(de->d_name) == 37)
            (void)snprintf(mainp, sizeof(mainp), "%s/%s", ldir, de->d_name);
    closedir(dh);
    if (mainp[0] == '\0')
        abort();
}

static void
file_part(const uint8_t *data, size_t size, const struct replay_mark *probe, size_t n_probe)
{
    struct replay_mark ceil = {UINT64_MAX, UINT64_MAX, 0};
    struct replay_ledger *l;
    enum replay_verdict v;
    int fd = open(mainp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0)
        abort();
    if (size > 0 && write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    l = replay_ledger_new(dir, "/g", "s", true);
    if (l == NULL)
        abort();
    for (size_t i = 0; i < n_probe; i++) {
        IGNORE_RESULT_FUZZ(replay_ledger_lookup(l, &probe[i], &v, NULL));
        IGNORE_RESULT_FUZZ(replay_ledger_add(l, &probe[i], &ceil, NULL));
    }
    IGNORE_RESULT_FUZZ(replay_ledger_sync(l, NULL));
    replay_ledger_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bytes b = {.p = data, .n = size / LEDGER_REC_BYTES};
    struct ledger_reader r = {.read = bytes_read, .ctx = &b, .count = b.n};
    struct ledger_cursor *c = malloc(sizeof(*c));
    struct replay_mark probe[8];
    size_t n_probe = 0;
    enum replay_verdict v;

    if (mainp[0] == '\0')
        setup();
    if (c == NULL)
        abort();
    ledger_cursor_reset(c);
    for (uint64_t i = 0; i < b.n && n_probe < 8; i += 1 + b.n / 8)
        ledger_rec_decode(data + i * LEDGER_REC_BYTES, &probe[n_probe++]);
    for (size_t i = 0; i < n_probe; i++) {
        struct replay_mark other = probe[i];
        other.hash ^= 1;
        /* On unsorted input the binary search may miss a record, but never fails; the scan
         * finds every record. */
        if (ledger_search_sorted(&r, c, &probe[i], &v) != HAF_OK)
            abort();
        if (ledger_search_linear(&r, &probe[i], &v) != HAF_OK || v != REPLAY_SAME)
            abort();
        if (ledger_search_sorted(&r, c, &other, &v) != HAF_OK)
            abort();
    }
    if (size >= LEDGER_HDR_BYTES)
        IGNORE_RESULT_FUZZ(ledger_hdr_check(data));
    file_part(data, size, probe, n_probe);
    free(c);
    return 0;
}
