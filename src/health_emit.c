/*
 * health_emit.c: the daemon's health, shipped every health.interval_s as one Embedded Metric
 * Format record (health.h builds it; docs/health.md says what each metric means and why the
 * records go to a stream of their own).
 *
 * The records travel the ordinary delivery path: the health stream is a struct stream like a
 * data stream (its own ring, one request in flight, the in-flight marker and read-back that make
 * delivery exactly-once), created at setup from health.log_group / health.log_stream. What keeps
 * it from ever costing audit delivery anything:
 *   - it has its own request slot, so a failing or slow health stream delays no other stream;
 *     its retries follow the same backoff as any stream's;
 *   - it holds at most HEALTH_MAX_PENDING records (~30 KB, inside the least share a stream
 *     gets of batch.memory_budget_bytes, stream.c): beyond that a record is dropped, counted
 *     (HealthRecordsDropped in the next record that gets through) and warned about once;
 *   - a stop or a reload never waits for it (all_idle and any_in_flight skip it, daemon.c: its
 *     in-flight marker makes a read-back after a reload or restart); --once sends none:
 *     health describes a running daemon, and a --once run's exit code must not depend on it;
 *   - it has no digest chain (digest_emit.c skips it).
 * Counts are deltas of the daemon's counters (struct haf_stats) since the last record, except
 * entries and digests shipped, which health_emit_acked counts per acknowledged batch (the
 * global events_shipped mixes audit events, digest and health records). A record lost with the
 * process (kill -9 before it was acknowledged) is not sent again: its counts are gone.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "haf/health.h"
#include "haf/log.h"
#include "haf/streamname.h"

#define HEALTH_MAX_PENDING 32 /* records held while the health stream cannot deliver */
#define HEALTH_SOURCE_ID   (UINT32_MAX - 1) /* no file: file_ack ignores it */
/* digest_emit.c's DIGEST_SOURCE_ID: the source id of digest records (no file). */
#define HEALTH_DIGEST_SOURCE_ID UINT32_MAX

struct health_emit {
    struct stream *st; /* the health stream */
    int64_t next_ms;   /* monotonic: when the next record is due */
    struct haf_stats last;
    uint64_t entries_shipped; /* since the last record */
    uint64_t digests_shipped;
    uint64_t dropped;
    bool warned_dropped;
    struct buf text;
};

/* Sets the health stream up when health.enabled (not for --once). False when its name is that of
 * a data stream already open: the setup fails and the daemon does not start (the validator
 * catches equal templates; this catches names that only collide once expanded). */
bool
health_emit_setup(struct daemon *d)
{
    const struct haf_config *cfg = d->cfg;
    struct streamname_values names = {.hostname = d->hostname, .instance_id = d->instance_id};
    const char *group;
    struct health_emit *h;
    struct buf name;

    if (!cfg->health.enabled || d->opts->once || cfg->n_sources == 0)
        return true;
    group = cfg->health.log_group ? cfg->health.log_group : cfg->sources[0].log_group;
    buf_init(&name, 1024);
    if (streamname_expand(cfg->health.log_stream, &names, &name) != HAF_OK)
        fatal("out of memory");
    for (size_t i = 0; i < d->n_streams; i++)
        if (strcmp(d->streams[i]->group, group) == 0 &&
            strcmp(d->streams[i]->name, buf_cstr(&name)) == 0) {
            log_err("health: the health stream %s/%s is an audit stream; choose another "
                    "health.log_stream",
                    group, buf_cstr(&name));
            buf_clean_up(&name);
            return false;
        }
    h = xcalloc(1, sizeof(*h));
    h->st = stream_get(d, group, buf_cstr(&name), AUDIT_FORMAT_RAW);
    h->next_ms = d->now_ms + (int64_t)cfg->health.interval_s * 1000;
    h->last = d->stats;
    buf_init(&h->text, 0);
    d->health = h;
    log_info("health: EMF records every %" PRIu32 " s to %s/%s (namespace %s)",
             cfg->health.interval_s, group, buf_cstr(&name), cfg->health.metric_namespace);
    buf_clean_up(&name);
    return true;
}

void
health_emit_free(struct daemon *d)
{
    if (d->health == NULL)
        return;
    buf_clean_up(&d->health->text);
    free(d->health);
    d->health = NULL;
}

bool
health_emit_owns(const struct daemon *d, const struct stream *st)
{
    return d->health != NULL && d->health->st == st;
}

/* The head batch of st (and its late list) is acknowledged: count audit events and digests. */
void
health_emit_acked(struct daemon *d, const struct stream *st, const struct batch *b)
{
    struct health_emit *h = d->health;

    if (h == NULL)
        return;
    if (st == h->st) {
        h->warned_dropped = false;
        return;
    }
    for (size_t i = 0; i < b->n_ev; i++) {
        if (b->ev[i].source_id == HEALTH_DIGEST_SOURCE_ID)
            h->digests_shipped++;
        else
            h->entries_shipped++;
    }
    for (size_t i = 0; i < st->n_late; i++) {
        if (st->late[i].source_id == HEALTH_DIGEST_SOURCE_ID)
            h->digests_shipped++;
        else
            h->entries_shipped++;
    }
}

/* File bytes not acknowledged: unread ones (the tail's size) and read ones still in batches. */
static uint64_t
pending_bytes(const struct daemon *d)
{
    uint64_t n = 0;

    for (size_t i = 0; i < d->n_files; i++) {
        const struct file_rt *f = d->files[i];
        uint64_t end;

        if (f == NULL || f->superseded)
            continue;
        end = f->tf != NULL ? tail_file_size(f->tf) : f->processed;
        if (end < f->processed)
            end = f->processed;
        n += end > f->acked ? end - f->acked : 0;
    }
    return n;
}

/* Seconds since the oldest audit event still unacknowledged was read. Digest records are left
 * out (they wait for the flush interval like any batch, and their lag is not the audit trail's),
 * and so are health records: a batch is an audit batch when its first event came from a file. */
static uint64_t
oldest_unacked_age_s(const struct daemon *d)
{
    int64_t oldest = d->now_ms;

    for (size_t i = 0; i < d->n_streams; i++) {
        const struct stream *st = d->streams[i];

        if (health_emit_owns(d, st))
            continue;
        for (size_t k = 0; k < st->n; k++) {
            size_t idx = (st->head + k) % st->cap;
            const struct batch *b = &st->ring[idx];

            if (batch_count(b) > 0 && b->ev[0].source_id < HEALTH_SOURCE_ID &&
                st->ring_first_ms[idx] > 0 && st->ring_first_ms[idx] < oldest)
                oldest = st->ring_first_ms[idx];
        }
    }
    return (uint64_t)(d->now_ms - oldest) / 1000;
}

static void
health_sample_take(struct daemon *d, struct health_sample *s)
{
    struct health_emit *h = d->health;
    const struct haf_stats *now = &d->stats, *was = &h->last;

    memset(s, 0, sizeof(*s));
    s->time_ms = d->wall_ms;
    s->interval_s = d->cfg->health.interval_s;
    s->host_dimension = d->hostname[0] ? d->hostname : "unknown-host";
    s->metric_namespace = d->cfg->health.metric_namespace;
    s->values[HEALTH_ENTRIES_SHIPPED] = h->entries_shipped;
    s->values[HEALTH_PENDING_BYTES] = pending_bytes(d);
    s->values[HEALTH_OLDEST_UNACKED_AGE] = oldest_unacked_age_s(d);
    s->values[HEALTH_RETRIES] = now->retries - was->retries;
    s->values[HEALTH_SEQUENCE_GAPS] = now->sequence_gaps - was->sequence_gaps;
    s->values[HEALTH_PARSE_ERRORS] = now->entries_flagged - was->entries_flagged;
    s->values[HEALTH_FILES_LOST] = now->files_lost - was->files_lost;
    s->values[HEALTH_DIGESTS_SHIPPED] = h->digests_shipped;
    s->values[HEALTH_RECORDS_DROPPED] = h->dropped;
}

/* Each loop turn: when the interval is over, one record (or, with the health stream backed up,
 * one more dropped). */
void
health_emit_tick(struct daemon *d)
{
    struct health_emit *h = d->health;
    struct health_sample s;
    struct batch_event meta = {.source_id = HEALTH_SOURCE_ID};
    enum haf_err e;

    if (h == NULL || d->now_ms < h->next_ms)
        return;
    h->next_ms = d->now_ms + (int64_t)d->cfg->health.interval_s * 1000;
    if (stream_pending_events(h->st) >= HEALTH_MAX_PENDING) {
        h->dropped++;
        if (!h->warned_dropped)
            log_warnx("health: %s/%s holds %d records it cannot deliver; dropping health "
                      "records until it can (audit delivery is not affected)",
                      h->st->group, h->st->name, HEALTH_MAX_PENDING);
        h->warned_dropped = true;
        goto taken; /* the counts of a dropped record are gone with it */
    }
    health_sample_take(d, &s);
    buf_reset(&h->text);
    e = health_record_json(&s, &h->text);
    if (e != HAF_OK || !stream_add_event(d, h->st, s.time_ms, buf_span(&h->text), &meta, 0)) {
        h->dropped++;
        log_warnx("health: a record could not be queued: %s",
                  e != HAF_OK ? haf_err_str(e) : "larger than batch.max_bytes");
        goto taken;
    }
    h->dropped = 0;
taken:
    h->last = d->stats;
    h->entries_shipped = 0;
    h->digests_shipped = 0;
}

int64_t
health_emit_deadline(const struct daemon *d)
{
    return d->health != NULL ? d->health->next_ms : DEADLINE_NEVER;
}
