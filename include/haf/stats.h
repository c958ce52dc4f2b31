/*
 * stats.h: the daemon's counters. Plain integers updated on the one thread; logged on SIGUSR1 and
 * at exit, and summarised in the systemd STATUS= line.
 */
#ifndef HAF_STATS_H
#define HAF_STATS_H

#include <stddef.h>
#include <stdint.h>

struct haf_stats {
    uint64_t entries_read;    /* entries out of the parser */
    uint64_t entries_flagged; /* with parse_error */
    uint64_t events_queued;   /* events put into batches (entries, parts, markers) */
    uint64_t events_shipped;  /* acknowledged by CloudWatch */
    uint64_t bytes_shipped;   /* message bytes acknowledged */
    uint64_t batches_sent;    /* requests that were acknowledged */
    uint64_t requests;        /* PutLogEvents attempts */
    uint64_t retries;         /* attempts after a failure */
    uint64_t replays_skipped; /* already delivered (sequence tracking or read-back) */
    uint64_t sequence_gaps;
    uint64_t sequence_missing;
    uint64_t reboots;
    uint64_t reclocked;            /* out_of_range: reclock */
    uint64_t dropped_out_of_range; /* out_of_range: drop */
    uint64_t rejected_too_new;     /* rejectedLogEventsInfo */
    uint64_t rejected_too_old;
    uint64_t rejected_expired;
    uint64_t split_parts; /* extra events from entries split at the size limit */
    uint64_t invalid_utf8;
    uint64_t nul_bytes;
    uint64_t cut_lines;
    uint64_t errors_by_class[16]; /* enum cwl_class */
    uint64_t readback_fallbacks;  /* read-backs given up: the batch resent (at-least-once) */
    uint64_t files_lost;          /* checkpointed files with unread bytes that could not be found */
    uint64_t implausible_seq;     /* acknowledged entries whose pair jumped too far to be trusted */
    uint64_t seq_reused;     /* shipped: pair acknowledged before with another text (replay.h) */
    uint64_t replay_older;   /* shipped: the replay ledger could not be read (maybe a copy) */
    uint64_t ledger_dropped; /* marks the replay ledger could not keep (copies would be shipped) */
    uint64_t state_saves;
    uint64_t state_save_failures;
    int64_t last_ack_ms;
};

/* One line, "key=value ..." (no secrets exist here). */
void stats_format(const struct haf_stats *s, char *out, size_t len);
void stats_log(const struct haf_stats *s);

#endif
