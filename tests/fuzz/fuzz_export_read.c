/*
 * fuzz_export_read.c: the export reader on arbitrary files. The first byte picks the input kind
 * (auto, audit, cwl-json, s3-export); the rest is the file, handed over through a memfd so the
 * real open/read/gzip path runs. Checked for every input (abort() on violation):
 *  - export_open either succeeds or fails with a reason; export_read returns every byte of a
 *    plain (non-gzip) file unchanged, in order;
 *  - export_events ends with HAF_OK or HAF_EPARSE (with a reason), never another code;
 *  - every event's message parses, and each resulting entry formats as valid JSON (jansson,
 *    integers read as reals since we print them exactly past 2^63).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "haf/audit.h"
#include "haf/export_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_export_read: %s\n", what);
        abort();
    }
}

static int
on_entry(void *ctx, const struct haf_entry *e)
{
    struct buf b;
    json_t *j;

    (void)ctx;
    buf_init(&b, 0);
    check(audit_format(e, AUDIT_FORMAT_JSON, NULL, &b) == HAF_OK, "format");
    j = json_loadb(b.p, b.len, JSON_DECODE_INT_AS_REAL, NULL);
    check(j != NULL, "invalid JSON");
    json_decref(j);
    buf_clean_up(&b);
    return 0;
}

static int
on_event(void *ctx, const struct export_event *ev)
{
    size_t *n = ctx;

    (*n)++;
    check(ev->message.len == 0 || ev->message.p != NULL, "message span");
    check(audit_parse_text(ev->message.p ? ev->message.p : "", ev->message.len, on_entry, NULL) ==
              HAF_OK,
          "parse");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum export_input kinds[4] = {EXPORT_INPUT_AUTO, EXPORT_INPUT_AUDIT,
                                               EXPORT_INPUT_CWL_JSON, EXPORT_INPUT_S3};
    int fd;
    char path[64];
    struct export_reader *r = NULL;
    const char *why = NULL;
    enum haf_err err;
    size_t n = 0;
    bool gz;

    if (size == 0)
        return 0;
    fd = memfd_create("fuzz", 0);
    check(fd >= 0, "memfd");
    check(write(fd, data + 1, size - 1) == (ssize_t)(size - 1), "write");
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    gz = size >= 3 && data[1] == 0x1f && data[2] == 0x8b;

    /* bytes */
    if (export_open(path, kinds[data[0] & 3], &r, &why) == HAF_OK) {
        char buf[4096];
        size_t off = 0;
        for (;;) {
            size_t k;
            err = export_read(r, buf, 1 + (data[0] >> 2) * 97 % sizeof(buf), &k, &why);
            if (err != HAF_OK) {
                check(gz && err == HAF_EPARSE && why != NULL, "read error");
                break;
            }
            if (k == 0) {
                check(gz || off == size - 1, "plain file not read whole");
                break;
            }
            check(gz || memcmp(buf, data + 1 + off, k) == 0, "plain bytes changed");
            off += k;
        }
        export_close(r);
    } else {
        check(why != NULL && gz, "open failed on a plain file");
    }

    /* events */
    r = NULL;
    if (export_open(path, kinds[data[0] & 3], &r, &why) == HAF_OK) {
        err = export_events(r, on_event, &n, &why);
        check(err == HAF_OK || (err == HAF_EPARSE && why != NULL), "events error");
        export_close(r);
    }
    close(fd);
    return 0;
}
