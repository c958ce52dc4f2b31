/*
 * verify.h: proving one stream against its digest records (the logic of
 * `hsm-audit-forwarder verify`). Pure: the caller reads events and records (CloudWatch, files) and
 * feeds them in any order; nothing here does I/O or logs.
 *
 * Memory is one 64-byte entry per event (timestamp, leaf hash, HSM position), not the messages,
 * so millions of events fit. Records are kept whole (a few KB each, one per interval).
 *
 * What is checked, in order (see digest.h for the encoding):
 *  1. every record parses, names this stream, and its signature verifies with the key: otherwise
 *     it is "forged" (counted in bad_records) and covers nothing;
 *  2. the chain: records sorted by seq, each one's prev_sha256 and chain_sha256 follow from the
 *     one before; a missing seq, a second record with the same seq, or a link that does not hold
 *     is a chain break (and the chain is re-anchored at the next record);
 *  3. coverage: each record's late events are found by (timestamp, leaf), the rest by timestamp in
 *     (after_ms, last_ms]; the events found must be exactly `count` and hash to events_sha256.
 *     Fewer events: missing (deleted, or the stream re-created with less). More: injected (when
 *     exactly one extra event makes the hash hold, that event is named). As many but another
 *     hash: altered. Events no record covers are injected, except those after the newest record,
 *     which are pending (not covered yet);
 *  4. liveness: consecutive records more than 2 x interval apart, the first not a stop record, are
 *     a heartbeat gap (the forwarder was down or blocked); so is silence since the newest record
 *     when it is not a stop record and `now_ms` is past 2 x interval;
 *  5. HSM continuity: the (reboot_counter, sequence_no) of every event that carries one (our JSON
 *     format, or CloudHSM's raw text), sorted: a jump within one reboot counter is a sequence gap,
 *     a new reboot counter is counted as a reboot.
 * A stream is proven when it has records, all of them valid and chained, every event is covered,
 * and there are no missing, altered, pending or injected events, heartbeat gaps or sequence
 * gaps. A stream without any record can only be checked for continuity.
 */
#ifndef HAF_VERIFY_H
#define HAF_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/err.h"
#include "haf/span.h"

#define VERIFY_MAX_FINDINGS 200 /* per stream; the rest are counted in findings_dropped */

struct sign_pubkey;

enum verify_what {
    VERIFY_FORGED,        /* a record that does not parse or whose signature does not verify */
    VERIFY_CHAIN_BREAK,   /* a record missing from the chain, a fork, a link that does not hold */
    VERIFY_MISSING,       /* a record's events not all there */
    VERIFY_ALTERED,       /* a record's events there but hashing differently */
    VERIFY_INJECTED,      /* events no valid record covers */
    VERIFY_PENDING,       /* events after the newest record */
    VERIFY_HEARTBEAT_GAP, /* the forwarder silent for more than 2 intervals */
    VERIFY_SEQUENCE_GAP,  /* HSM sequence numbers missing */
    VERIFY_REBOOT,        /* informational: a new HSM reboot counter */
    VERIFY_STOP,          /* informational: a clean stop */
};

const char *verify_what_str(enum verify_what w);

/* "2026-12-06T20:15:58.123Z" (UTC, milliseconds); "<n>ms" for a time before 1970. */
void verify_iso_ms(int64_t ms, char out[32]);

struct verify_finding {
    enum verify_what what;
    int64_t from_ms; /* where: timestamps (0 when not applicable) */
    int64_t to_ms;
    uint64_t n; /* how many events / records / sequence numbers */
    char text[240];
};

struct verify_report {
    char *stream;
    bool has_records;
    bool proven;
    bool continuity; /* no sequence gaps */
    uint64_t events;
    uint64_t records; /* valid, signed records */
    uint64_t covered;
    uint64_t injected;
    uint64_t pending;
    uint64_t missing;
    uint64_t altered; /* records whose events were altered */
    uint64_t bad_records;
    uint64_t chain_breaks;
    uint64_t heartbeat_gaps;
    uint64_t sequence_gaps;
    uint64_t sequence_missing;
    uint64_t reboots;
    int64_t first_ms; /* of the events; 0 when none */
    int64_t last_ms;
    struct verify_finding *findings;
    size_t n_findings;
    size_t findings_dropped;
};

void verify_report_clean_up(struct verify_report *r);

struct verify_stream;

HAF_MUST_USE struct verify_stream *verify_stream_new(const char *name);
void verify_stream_free(struct verify_stream *s);

/* One event of the data stream (timestamp and message exactly as GetLogEvents returns them). */
HAF_MUST_USE enum haf_err verify_add_event(struct verify_stream *s, int64_t ts_ms,
                                           struct span message);

/* One event of the digest stream (its message should be a record). A malformed record is not an
 * error here: it becomes a finding. HAF_ENOMEM only. */
HAF_MUST_USE enum haf_err verify_add_record(struct verify_stream *s, int64_t ts_ms,
                                            struct span message);

/*
 * A time range (epoch ms, [since_ms, until_ms), 0 leaves a side open). Call before adding
 * anything. The range selects digest records by their time_ms; the events that matter are then
 * those records cover (from just after the first one's after_ms), and after them: up to until_ms
 * when no record was sealed after the range (those events are pending), else nothing (the later
 * records prove them, late events they list included). Older events are ignored unless a kept
 * record lists them as late. Without since_ms nothing before is ignored.
 */
void verify_set_range(struct verify_stream *s, int64_t since_ms, int64_t until_ms);

/* After the records and before the events: which event timestamps to read, [*lo, *hi) (0: open
 * side). Adding events before this call is allowed when no range is set. */
void verify_event_window(struct verify_stream *s, int64_t *lo, int64_t *hi);

struct verify_opts {
    const struct sign_pubkey *key; /* NULL: no record can be valid */
    int64_t now_ms;                /* for "silent since"; 0: do not check the tail */
    bool from_start;               /* the range starts at the stream's beginning: the first
                                      record must be seq 1 */
};

/* Run every check; *out is written (release with verify_report_clean_up). The stream can be run
 * once. */
HAF_MUST_USE enum haf_err verify_stream_run(struct verify_stream *s, const struct verify_opts *opts,
                                            struct verify_report *out);

#endif
