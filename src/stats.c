/*
 * stats.c: rendering the counters of stats.h for the log (SIGUSR1, exit) and for systemd.
 */
#include "haf/stats.h"

#include <inttypes.h>
#include <stdio.h>

#include "haf/cwl.h"
#include "haf/log.h"

void
stats_format(const struct haf_stats *s, char *out, size_t len)
{
    (void)snprintf(
        out, len,
        "entries=%" PRIu64 " flagged=%" PRIu64 " queued=%" PRIu64 " shipped=%" PRIu64
        " bytes=%" PRIu64 " batches=%" PRIu64 " requests=%" PRIu64 " retries=%" PRIu64
        " replays_skipped=%" PRIu64 " gaps=%" PRIu64 " missing=%" PRIu64 " reboots=%" PRIu64
        " reclocked=%" PRIu64 " dropped_out_of_range=%" PRIu64 " rejected_too_new=%" PRIu64
        " rejected_too_old=%" PRIu64 " rejected_expired=%" PRIu64 " split_parts=%" PRIu64
        " invalid_utf8=%" PRIu64 " nul_bytes=%" PRIu64 " cut_lines=%" PRIu64
        " throttled_or_5xx=%" PRIu64 " ambiguous=%" PRIu64 " access_denied=%" PRIu64
        " invalid=%" PRIu64 " connection_errors=%" PRIu64 " state_save_failures=%" PRIu64
        " readback_fallbacks=%" PRIu64 " files_lost=%" PRIu64 " implausible_seq=%" PRIu64
        " seq_reused=%" PRIu64 " replay_older=%" PRIu64 " ledger_dropped=%" PRIu64,
        s->entries_read, s->entries_flagged, s->events_queued, s->events_shipped, s->bytes_shipped,
        s->batches_sent, s->requests, s->retries, s->replays_skipped, s->sequence_gaps,
        s->sequence_missing, s->reboots, s->reclocked, s->dropped_out_of_range, s->rejected_too_new,
        s->rejected_too_old, s->rejected_expired, s->split_parts, s->invalid_utf8, s->nul_bytes,
        s->cut_lines, s->errors_by_class[CWL_RETRY], s->errors_by_class[CWL_AMBIGUOUS],
        s->errors_by_class[CWL_ACCESS_DENIED], s->errors_by_class[CWL_INVALID],
        s->errors_by_class[CWL_CONNECTION], s->state_save_failures, s->readback_fallbacks,
        s->files_lost, s->implausible_seq, s->seq_reused, s->replay_older, s->ledger_dropped);
}

void
stats_log(const struct haf_stats *s)
{
    char line[1024];

    stats_format(s, line, sizeof(line));
    log_info("counters: %s", line);
}
