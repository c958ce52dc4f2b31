/*
 * verify_internal.h: what verify.c (the checks and the run) and verify_feed.c (taking events and
 * records in, the range) share: the per-stream state. Nothing else includes it.
 */
#ifndef HAF_VERIFY_INTERNAL_H
#define HAF_VERIFY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/audit.h"
#include "haf/digest.h"
#include "haf/verify.h"

struct vevent {
    int64_t ts_ms;
    uint8_t leaf[32];
    uint64_t reboot;
    uint64_t seq;
    int32_t owner; /* index into records, -1: none */
    uint8_t has_pos;
};

struct vrecord {
    struct digest_record r;
    uint8_t hash[32]; /* of the canonical bytes */
    int64_t event_ms; /* timestamp of the CloudWatch event that carried it */
    bool valid;
    bool intact; /* its events are there and hash right */
};

struct verify_stream {
    char *name;
    struct vevent *ev;
    size_t n, cap;
    struct vrecord *rec;
    size_t nrec, reccap;
    struct audit_parser *ap;
    struct digest_hasher *hasher;
    struct verify_report rep;
    bool ran;
    int64_t since_ms, until_ms; /* the range; 0: open */
    bool frozen;                /* verify_event_window was called */
    int64_t keep_from_ms;       /* events before this are ignored unless late-listed */
    int64_t keep_until_ms;      /* events at or after this are ignored; 0: none */
    struct digest_leaf *late;   /* every kept record's late entries, sorted */
    size_t n_late;
    bool later_records;       /* records sealed at or after until_ms exist */
    struct digest_leaf *skip; /* their late entries: events they prove, not ours */
    size_t n_skip, cap_skip;
};

/* Appends a finding (counted in findings_dropped past VERIFY_MAX_FINDINGS). */
void verify_finding(struct verify_report *rep, enum verify_what what, int64_t from, int64_t to,
                    uint64_t n, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
