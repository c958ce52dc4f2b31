/*
 * readback.c: after an unknown outcome (a request sent without an answer, or in flight at the last
 * stop), read the stream back and find which events of the head batch arrived already, so that
 * only the others are sent: exactly once, not at least once.
 *
 * The matching is a pure function (readback_match, unit-tested in tests/unit/test_readback.c): an
 * event arrived when a read-back message has its exact text (by hash; each read-back occurrence
 * counts once, so identical messages count as many times as they arrived), or, for an audit
 * entry, when an event with its (reboot_counter, sequence_no) was read back: the message names the
 * file's path, which a rotation by rename changes between the send and a restart's read-back, and
 * an HSM never repeats a (reboot_counter, sequence_no) in one stream.
 *
 * stream_verify() does the I/O around it without blocking the loop: GetLogEvents over the
 * batch's time range, one page per request on the loop's multi handle (READING_BACK), then the
 * removal of the events found (accounted through the stream's late acknowledgements when the
 * rest of the batch is acknowledged).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "haf/log.h"

struct readback_set {
    struct daemon *d;
    struct readback_event *ev;
    size_t n;
    size_t cap;
};

/* The hash of a read-back message, and the (reboot_counter, sequence_no) of an event we formatted
 * as JSON (audit_json_position): an audit entry, not a marker ("event") nor a flagged entry
 * ("parse_error"). The message is untrusted. */
void
readback_event_of(const char *msg, size_t len, struct readback_event *out)
{
    memset(out, 0, sizeof(*out));
    out->hash = batch_message_hash(msg, len);
    out->has_pair = audit_json_position(span_make(msg, len), &out->reboot, &out->seq);
}

static int
cmp_hash(const void *a, const void *b)
{
    uint64_t x = ((const struct readback_event *)a)->hash;
    uint64_t y = ((const struct readback_event *)b)->hash;

    return x < y ? -1 : x > y;
}

static int
cmp_pair(const void *a, const void *b)
{
    const struct readback_event *x = a, *y = b;

    if (x->has_pair != y->has_pair)
        return x->has_pair ? 1 : -1;
    if (x->reboot != y->reboot)
        return x->reboot < y->reboot ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether (reboot, seq) is among the pairs (sorted by cmp_pair, with has_pair ones last). */
static bool
pair_found(const struct readback_event *pairs, size_t n, uint64_t reboot, uint64_t seq)
{
    struct readback_event key = {.has_pair = true, .reboot = reboot, .seq = seq};

    return n > 0 && bsearch(&key, pairs, n, sizeof(key), cmp_pair) != NULL;
}

size_t
readback_match(const struct batch *b, struct readback_event *read, size_t n_read, bool *keep)
{
    bool *used = NULL;
    struct readback_event *pairs = NULL;
    size_t found = 0;

    if (n_read > 0) {
        used = calloc(n_read, sizeof(*used));
        pairs = malloc(n_read * sizeof(*pairs));
        if (used == NULL || pairs == NULL) {
            free(used);
            free(pairs);
            return SIZE_MAX;
        }
        memcpy(pairs, read, n_read * sizeof(*pairs));
        qsort(pairs, n_read, sizeof(*pairs), cmp_pair);
        qsort(read, n_read, sizeof(*read), cmp_hash);
    }
    for (size_t i = 0; i < b->n_ev; i++) {
        const struct batch_event *ev = &b->ev[i];
        struct readback_event key = {.hash = ev->msg_hash};
        struct readback_event *hit =
            n_read ? bsearch(&key, read, n_read, sizeof(key), cmp_hash) : NULL;

        keep[i] = true;
        if (hit != NULL) {
            /* The first unused occurrence of this hash. */
            size_t at = (size_t)(hit - read);
            while (at > 0 && read[at - 1].hash == ev->msg_hash)
                at--;
            while (at < n_read && read[at].hash == ev->msg_hash && used[at])
                at++;
            if (at < n_read && read[at].hash == ev->msg_hash) {
                used[at] = true;
                keep[i] = false;
            }
        }
        if (keep[i] && ev->has_seq &&
            pair_found(pairs, n_read, ev->reboot_counter, ev->sequence_no))
            keep[i] = false;
        if (!keep[i])
            found++;
    }
    free(used);
    free(pairs);
    return found;
}

static int
on_readback_event(void *ctx, const struct cwl_read_event *ev)
{
    struct readback_set *rs = ctx;

    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 1024;
        struct readback_event *grown = realloc(rs->ev, cap * sizeof(*grown));
        if (grown == NULL)
            return 1;
        rs->ev = grown;
        rs->cap = cap;
    }
    readback_event_of(ev->message, ev->message_len, &rs->ev[rs->n]);
    digest_emit_leaf(rs->d, ev->timestamp_ms, span_make(ev->message, ev->message_len),
                     &rs->ev[rs->n].has_leaf, rs->ev[rs->n].leaf);
    rs->ev[rs->n].ts_ms = ev->timestamp_ms;
    rs->n++;
    return 0;
}

/* Remember the acknowledgement of the events found delivered, for when the head is done. */
static void
late_add(struct stream *st, const struct batch_event *ev)
{
    if (st->n_late == st->cap_late) {
        size_t cap = st->cap_late ? st->cap_late * 2 : 64;
        struct late_ack *la = realloc(st->late, cap * sizeof(*la));
        if (la == NULL)
            fatal("out of memory");
        st->late = la;
        st->cap_late = cap;
    }
    st->late[st->n_late++] = (struct late_ack){.source_id = ev->source_id,
                                               .src_end = ev->src_end,
                                               .has_seq = ev->has_seq,
                                               .reboot_counter = ev->reboot_counter,
                                               .sequence_no = ev->sequence_no,
                                               .has_leaf = ev->has_leaf,
                                               .ts_ms = ev->timestamp_ms,
                                               .entry_hash = ev->entry_hash};
    memcpy(st->late[st->n_late - 1].leaf, ev->leaf, sizeof(ev->leaf));
}

/* Takes the events found delivered out of the head batch. */
static void
drop_delivered(struct daemon *d, struct stream *st, const bool *keep, size_t delivered,
               const struct readback_set *rs)
{
    struct batch *b = stream_head(st);

    log_notice("%s/%s: read-back found %zu of %zu events delivered already; sending the "
               "other %zu",
               st->group, st->name, delivered, b->n_ev, b->n_ev - delivered);
    d->stats.replays_skipped += delivered;
    for (size_t i = 0; i < b->n_ev; i++)
        if (!keep[i]) {
            late_add(st, &b->ev[i]);
            digest_emit_leaf_as_stored(&st->late[st->n_late - 1], &b->ev[i], rs->ev, rs->n);
        }
    if (delivered == b->n_ev) {
        /* All of it arrived: account the removed events through the late list. */
        batch_reset(b);
        stream_head_done(d, st);
    } else if (batch_retain(b, keep) != HAF_OK) {
        fatal("out of memory");
    }
}

void
readback_set_free(struct readback_set *rs)
{
    if (rs == NULL)
        return;
    free(rs->ev);
    free(rs);
}

static void
range_add(int64_t *lo, int64_t *hi, int64_t from, int64_t to)
{
    *lo = from < *lo ? from : *lo;
    *hi = to > *hi ? to : *hi;
}

/* The events whose fate a read-back settles, and their time range [lo, hi]: the head batch's, the
 * ones a read-back found whose acknowledgement waits for the rest of their batch (late) and, while
 * the last run's request is not settled, the range and count recorded for it (entries read again
 * may carry other times: reclocked ones get the time they were read). Returns the count (an upper
 * bound); with 0, lo > hi. Used for the read-back's window and for the in-flight record. */
uint64_t
stream_outcome_range(struct stream *st, int64_t *lo, int64_t *hi)
{
    const struct batch *b = stream_head(st);
    uint64_t n = b->n_ev + st->n_late;

    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (size_t i = 0; i < b->n_ev; i++)
        range_add(lo, hi, b->ev[i].timestamp_ms, b->ev[i].timestamp_ms);
    for (size_t i = 0; i < st->n_late; i++)
        range_add(lo, hi, st->late[i].ts_ms, st->late[i].ts_ms);
    if (st->unsure.set) {
        range_add(lo, hi, st->unsure.from_ms, st->unsure.to_ms);
        n += st->unsure.events;
    }
    return n;
}

/* Whether batch b holds an entry of the last run's request in flight: one that ends at or before
 * its file's recorded sent_end. */
static bool
batch_has_unsure(struct daemon *d, const struct batch *b)
{
    for (size_t i = 0; i < b->n_ev; i++) {
        const struct file_rt *f = file_by_id(d, b->ev[i].source_id);

        if (f != NULL && b->ev[i].src_end <= f->resume_sent_end)
            return true;
    }
    return false;
}

/* Whether an entry of the last run's request can still come: unread in a file of the stream, or
 * queued in one of its batches. */
static bool
unsure_left(struct daemon *d, struct stream *st)
{
    for (size_t i = 0; i < d->n_files; i++) {
        const struct file_rt *f = d->files[i];

        if (f != NULL && f->st == st && f->processed < f->resume_sent_end)
            return true;
    }
    for (size_t i = 0; i < st->n; i++)
        if (batch_has_unsure(d, &st->ring[(st->head + i) % st->cap]))
            return true;
    return false;
}

/* The last run's request is settled (or, when read-backs cannot be had, given up: at-least-once).
 */
static void
unsure_settle(struct stream *st)
{
    if (st->unsure.set)
        log_debug("%s/%s: the request in flight at the last stop is settled (%" PRIu64
                  " events found delivered)",
                  st->group, st->name, st->unsure.found);
    memset(&st->unsure, 0, sizeof(st->unsure));
}

/* Before the head batch goes out while the last run's request is not settled: true when it must
 * be read back first (it holds an entry of that request and was not read back yet). The request
 * is settled once as many of its events were found as it held, or none of its entries is left
 * to send. An over-estimate only costs read-backs; nothing is settled early. */
bool
stream_unsure_check(struct daemon *d, struct stream *st)
{
    if (!st->unsure.set || st->unsure.head_checked)
        return false;
    if (batch_has_unsure(d, stream_head(st)))
        return true;
    if (!unsure_left(d, st))
        unsure_settle(st);
    return false;
}

/* The first read-back of a head batch while the last run's request is not settled. */
static void
unsure_account(struct stream *st, size_t delivered)
{
    if (!st->unsure.set || st->unsure.head_checked)
        return;
    st->unsure.head_checked = true;
    st->unsure.found += delivered;
    if (st->unsure.found >= st->unsure.events) {
        unsure_settle(st);
        return;
    }
    log_info("%s/%s: %" PRIu64 " events of the request in flight at the last stop (up to %" PRIu64
             ") found so far; later batches holding its entries are read back too",
             st->group, st->name, st->unsure.found, st->unsure.events);
}

/* Everything was read: drop what arrived from the head batch; the batch goes out on a later turn
 * (once send_due has saved the in-flight marker again: a crash with it in flight and no marker
 * would resend it without a read-back). */
static void
readback_finish(struct daemon *d, struct stream *st)
{
    struct batch *b = stream_head(st);
    struct readback_set *rs = st->rb;
    bool *keep;
    size_t delivered;

    st->rb = NULL;
    st->readback_failures = 0;
    stream_set_state(st, STREAM_READY);
    st->next_ms = 0;
    keep = xcalloc(b->n_ev ? b->n_ev : 1, sizeof(*keep));
    delivered = readback_match(b, rs->ev, rs->n, keep);
    if (delivered == SIZE_MAX)
        fatal("out of memory");
    unsure_account(st, delivered);
    if (delivered > 0)
        drop_delivered(d, st, keep, delivered, rs);
    else
        log_info("%s/%s: read-back: none of the %zu events had arrived; sending them", st->group,
                 st->name, b->n_ev);
    readback_set_free(rs);
    free(keep);
}

/* A page could not be read (answer of class cls, or not submitted: e != HAF_OK). */
static void
readback_failed(struct daemon *d, struct stream *st, enum haf_err e, const struct cwl_result *res)
{
    readback_set_free(st->rb);
    st->rb = NULL;
    if (e == HAF_EAGAIN) {
        stream_set_state(st, STREAM_VERIFY);
        stream_wait_creds(st);
        return;
    }
    if (e == HAF_OK && (res->cls == CWL_ACCESS_DENIED || res->cls == CWL_INVALID)) {
        if (!st->warned_no_readback)
            log_warnx("%s/%s: cannot read the stream back (%s: %s); logs:GetLogEvents is "
                      "needed for exactly-once delivery after a lost answer; falling back to "
                      "at-least-once (the batch is sent again)",
                      st->group, st->name, res->error_type, res->message);
        st->warned_no_readback = true;
        unsure_settle(st); /* it cannot be read back: at-least-once */
        stream_set_state(st, STREAM_READY);
        st->next_ms = 0;
        return;
    }
    if (++st->readback_failures >= READBACK_MAX_FAILURES) {
        /* A read-back that cannot succeed (a page the client cannot take, a stream another
         * writer filled with what we cannot parse) must not block the stream for ever. */
        log_err("%s/%s: the stream could not be read back %d times (%s%s%s); falling back "
                "to at-least-once for this batch: it is sent again and may duplicate events",
                st->group, st->name, st->readback_failures,
                e != HAF_OK ? haf_err_str(e) : cwl_class_str(res->cls), res->message[0] ? ": " : "",
                res->message);
        d->stats.readback_fallbacks++;
        st->readback_failures = 0;
        unsure_settle(st);
        stream_set_state(st, STREAM_READY);
        st->next_ms = 0;
        return;
    }
    log_warnx("%s/%s: read-back failed (%s); will try again", st->group, st->name,
              e != HAF_OK ? haf_err_str(e) : cwl_class_str(res->cls));
    stream_set_state(st, STREAM_VERIFY);
    stream_schedule_retry(d, st, backoff_ms(d, st->attempts, RETRY_CAP_MS));
}

static void readback_submit(struct daemon *d, struct stream *st, const char *token);

static int
on_readback_event_st(void *ctx, const struct cwl_read_event *ev)
{
    struct stream *st = ctx;

    if (st->rb == NULL || on_readback_event(st->rb, ev) != 0)
        fatal("out of memory");
    return 0;
}

static void
on_page_done(void *arg, const struct cwl_result *res, enum haf_err err, const char *next)
{
    struct stream *st = arg;
    struct daemon *d = st->d;

    if (d->tearing_down)
        return; /* cancelled at teardown: nothing more is asked */
    /* A page over the response cap (escaped control characters grow ~6x): the same page again
     * with a quarter of the events, down to one. */
    if (err == HAF_ETOOLONG && st->rb_limit != 1) {
        st->rb_limit = st->rb_limit == 0 ? READBACK_PAGE_EVENTS / 4 : st->rb_limit / 4;
        st->rb_limit = st->rb_limit > 0 ? st->rb_limit : 1;
        readback_submit(d, st, st->rb_token);
        return;
    }
    if (err != HAF_OK || (res->cls != CWL_OK && res->cls != CWL_NOT_FOUND)) {
        readback_failed(d, st, err == HAF_OK ? HAF_OK : HAF_EPARSE, res);
        return;
    }
    if (res->cls == CWL_OK && next != NULL) {
        free(st->rb_token);
        st->rb_token = xstrdup(next);
        readback_submit(d, st, st->rb_token);
        return;
    }
    readback_finish(d, st);
}

/* Ask for the next page (token NULL: the first). */
static void
readback_submit(struct daemon *d, struct stream *st, const char *token)
{
    struct cwl_result none = {.cls = CWL_RETRY};
    int64_t lo, hi;
    enum haf_err e;

    if (st->rb_pages++ >= READBACK_MAX_PAGES) {
        readback_failed(d, st, HAF_ETOOLONG, &none);
        return;
    }
    IGNORE_RESULT(stream_outcome_range(st, &lo, &hi));
    e = cwl_get_log_events_page_submit(d->cwl, st->group, st->name, lo, hi + 1, st->rb_limit, token,
                                       READBACK_TIMEOUT_MS, on_readback_event_st, on_page_done, st,
                                       NULL, 0);
    if (e != HAF_OK)
        readback_failed(d, st, e, &none);
}

/* Read the stream back (VERIFY -> READING_BACK, page by page on the loop's multi handle) and drop
 * what arrived from the head batch when the last page is in. The head batch is closed first, so
 * what it holds cannot change while the pages come in. */
void
stream_verify(struct daemon *d, struct stream *st)
{
    if (st->n == 1)
        stream_rotate(st);
    readback_set_free(st->rb);
    st->rb = xcalloc(1, sizeof(*st->rb));
    st->rb->d = d;
    st->rb_pages = 0;
    st->rb_limit = 0;
    free(st->rb_token);
    st->rb_token = NULL;
    stream_set_state(st, STREAM_READING_BACK);
    readback_submit(d, st, NULL);
}
