/*
 * stream.c: one CloudWatch log stream as the daemon sees it: its ring of batches, the events
 * queued into it, and the delivery state of its head batch.
 *
 * Per stream, batches form a short ring: the head is the one being sent (one request in flight per
 * stream keeps the stream's events in order), the tail is the one being filled. While a stream has
 * a full batch waiting, its files are not read (stream_accepting): the file on disk is the buffer,
 * so memory stays bounded with any backlog and with a dead endpoint.
 *
 * The delivery state (enum stream_state, daemon_internal.h) changes only in stream_set_state(),
 * and each stream carries one deadline (next_ms) before which nothing is tried: the loop's timeout
 * is the minimum of stream_deadline() over the streams.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_internal.h"
#include "haf/json_write.h"
#include "haf/creds.h"
#include "haf/cwl_rules.h"
#include "haf/log.h"

const char *
stream_state_str(enum stream_state s)
{
    switch (s) {
    case STREAM_SETUP:
        return "SETUP";
    case STREAM_VERIFY:
        return "VERIFY";
    case STREAM_READY:
        return "READY";
    case STREAM_SENDING:
        return "SENDING";
    case STREAM_CREATING_GROUP:
        return "CREATING_GROUP";
    case STREAM_CREATING_STREAM:
        return "CREATING_STREAM";
    case STREAM_READING_BACK:
        return "READING_BACK";
    case STREAM_WAIT_CREDS:
        return "WAIT_CREDS";
    }
    return "UNKNOWN";
}

/* The one place a stream's delivery state changes. */
void
stream_set_state(struct stream *st, enum stream_state to)
{
    if (st->state == to)
        return;
    log_trace("stream %s/%s: STATE %s => %s", st->group, st->name, stream_state_str(st->state),
              stream_state_str(to));
    st->state = to;
}

/* The state a PutLogEvents answer of class cls leaves a SENDING stream in (cwl_rules.c): READY when
 * delivered or to be resent, VERIFY when the outcome is unknown, SETUP when the group or stream
 * must be created first. */
enum stream_state
stream_state_after_answer(enum cwl_class cls)
{
    const struct cwl_rule *rule = cwl_rule_of(cls);

    if (rule->delivered)
        return STREAM_READY;
    if (rule->read_back)
        return STREAM_VERIFY;
    if (rule->recreate)
        return STREAM_SETUP;
    return STREAM_READY;
}

/* Whether the head batch must be read back before it is sent (now, after the setup, or after the
 * credential refresh). */
bool
stream_verify_pending(const struct stream *st)
{
    return st->state == STREAM_VERIFY || st->state == STREAM_READING_BACK ||
           (st->state == STREAM_WAIT_CREDS && st->resume == STREAM_VERIFY) ||
           st->verify_after_setup;
}

/* A request of this stream is in flight (its answer will come through http_run). */
bool
stream_busy(const struct stream *st)
{
    return st->state == STREAM_SENDING || st->state == STREAM_CREATING_GROUP ||
           st->state == STREAM_CREATING_STREAM || st->state == STREAM_READING_BACK;
}

/* A request could not be signed because the credentials are being fetched: wait for the fetch
 * (stream_deadline) and then carry on from the state the stream was in. */
void
stream_wait_creds(struct stream *st)
{
    if (st->state == STREAM_WAIT_CREDS)
        return;
    st->resume = st->state == STREAM_SENDING ? STREAM_READY : st->state;
    stream_set_state(st, STREAM_WAIT_CREDS);
}

struct batch *
stream_open_batch(struct stream *st)
{
    return &st->ring[(st->head + st->n - 1) % st->cap];
}

struct batch *
stream_head(struct stream *st)
{
    return &st->ring[st->head];
}

/*
 * The memory budget (batch.memory_budget_bytes) is shared equally by the streams that need it: a
 * stream's share is the budget over the streams holding events or a request (a busy stream alone
 * gets all of it, so a backlog goes out in requests near CloudWatch's limits; under contention
 * each gets its fair part), never below STREAM_SHARE_MIN_BYTES. Digest streams (records_only:
 * a few KiB per record) are not counted and get the minimum. A stream holds at most two batches,
 * the one in flight and the one filling, so a batch is closed before its body and event records
 * would pass half the share (stream_batch_full). Buffers grow by doubling and keep their memory
 * for the next batch, so a batch emptied while it holds more than one doubling past half the
 * share, or while the stream's batches together (in use or kept in the ring) hold more than the
 * share, gives its memory back (stream_trim): a share shrinks when streams become busy, a big
 * message needs a big batch. A stream that cannot deliver holds its share and no more: the others
 * keep theirs, and its file is the buffer.
 *
 * The count is taken at the start of each loop turn (stream_budget_update). A stream stays counted
 * until it has been idle for STREAM_BUDGET_IDLE_MS, and a new stream counts from the start: at
 * start-up every stream with a backlog takes its fair part at once, not a big share that the
 * first read fills before the others are seen (the batches of a stream that cannot deliver keep
 * their size). A stream idle for longer that gets an event adds itself (stream_budget_join).
 * When a share shrinks, a stream may hold more than its new share until its current batches are
 * sent: at most the share it had, so the total stays within about twice the budget for one
 * request cycle, and within the budget after it. Cost: with many busy streams the requests get
 * smaller (28 under the 2 MiB default: ~55 events of ~330 bytes each).
 */
static bool
stream_needs_budget(const struct stream *st)
{
    return st->n > 1 || batch_count(&st->ring[st->head]) > 0 || stream_busy(st);
}

void
stream_budget_update(struct daemon *d)
{
    size_t n = 0;

    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];

        if (stream_needs_budget(st))
            st->budget_idle_since_ms = -1;
        else if (st->budget_idle_since_ms < 0)
            st->budget_idle_since_ms = d->now_ms;
        st->budget_counted =
            !st->records_only && (st->budget_idle_since_ms < 0 ||
                                  d->now_ms - st->budget_idle_since_ms < STREAM_BUDGET_IDLE_MS);
        n += st->budget_counted;
    }
    d->n_budget_streams = n;
}

/* A stream about to queue an event is counted from now on (until the next update). */
static void
stream_budget_join(struct stream *st)
{
    if (!st->budget_counted && !st->records_only) {
        st->budget_counted = true;
        st->d->n_budget_streams++;
    }
}

size_t
stream_batch_target_bytes(const struct stream *st)
{
    size_t n = st->d->n_budget_streams, share;

    if (!st->budget_counted)
        n++; /* as if counted: its share if it took events now */
    share = st->records_only ? 0 : st->d->cfg->batch.memory_budget_bytes / n;
    return (share > STREAM_SHARE_MIN_BYTES ? share : STREAM_SHARE_MIN_BYTES) / 2;
}

/* Whether the open batch b should be closed before a message of msg_len is added (never when it
 * is empty: any event fits an empty batch, which then grows as it must): when its body and event
 * records would pass half the share. */
static bool
stream_batch_full(const struct stream *st, const struct batch *b, size_t msg_len)
{
    return batch_count(b) > 0 &&
           batch_used_bytes(b) + msg_len + STREAM_EVENT_COST_BYTES > stream_batch_target_bytes(st);
}

/* After a batch was emptied: give back its allocations when they exceed one doubling past half
 * the share (a big message, or a share shrunk by new streams), or when two other batches of the
 * ring hold memory: the one in flight and the open one are all a stream needs, and a third kept
 * for reuse (the ring grows past two when a batch closes early, e.g. on the 24 h span) held one
 * share and a half. The two in use are never released: regrowing a 1 MiB body per request cost
 * 500 page faults each with fixed malloc thresholds (footprint.c). */
void
stream_trim(struct stream *st, struct batch *emptied)
{
    size_t target = stream_batch_target_bytes(st), others = 0;

    if (batch_count(emptied) != 0)
        return;
    for (size_t i = 0; i < st->cap; i++)
        if (&st->ring[i] != emptied && batch_mem_bytes(&st->ring[i]) > STREAM_BODY_SLACK_BYTES)
            others++;
    if (batch_mem_bytes(emptied) > 2 * target || others >= 2)
        batch_release(emptied);
}

void
stream_release_idle(struct stream *st)
{
    for (size_t i = 0; i < st->cap; i++)
        batch_release(&st->ring[i]);
}

/* How many bytes to read for this stream's files at once: half the room its open batch has left
 * (input bytes make at least as many batch bytes, a JSON message about 1.5 times as many), so
 * that what a full stream leaves unparsed (the file's carry, held until the stream has room)
 * stays small with many streams: reading the whole room left about half a read in each carry,
 * 29 KiB per file with 28 streams. */
size_t
stream_read_bytes(const struct stream *st)
{
    const struct batch *open = &st->ring[(st->head + st->n - 1) % st->cap];
    size_t target = stream_batch_target_bytes(st), used = batch_used_bytes(open), room;

    room = used < target ? (target - used) / 2 : 0;
    if (room < READ_MIN_BYTES)
        room = READ_MIN_BYTES;
    return room < READ_CHUNK_BYTES ? room : READ_CHUNK_BYTES;
}

/* A stream takes more entries while it fills its first batch behind the one being sent, until that
 * one is nearly full: at most two batches per stream are held (the one in flight and the next). An
 * entry that does not fit still goes into a new batch (the ring has room), so nothing stalls. */
bool
stream_accepting(const struct stream *st)
{
    const struct batch *open;

    if (st->n == 1)
        return true;
    if (st->n > 2)
        return false;
    open = &st->ring[(st->head + 1) % st->cap];
    return open->payload_bytes + ACCEPT_MARGIN_BYTES <= open->limits.max_bytes &&
           open->n_ev + 1 < open->limits.max_events &&
           !stream_batch_full(st, open, ACCEPT_ROOM_BYTES);
}

size_t
stream_pending_events(const struct stream *st)
{
    size_t n = 0;

    for (size_t i = 0; i < st->n; i++)
        n += batch_count(&st->ring[(st->head + i) % st->cap]);
    return n;
}

/* When the head batch is due (monotonic ms): DEADLINE_NEVER while a request is in flight, while
 * the credentials it waits for are being fetched (the answer wakes the loop), or when nothing is
 * queued; else not before next_ms, and a batch still open not before its flush interval has
 * passed, unless send_now (stopping, --once). Closed batches go at once. */
int64_t
stream_deadline(const struct stream *st, int64_t now_ms, bool send_now)
{
    int64_t due;

    if (stream_busy(st) || batch_count(&st->ring[st->head]) == 0)
        return DEADLINE_NEVER;
    if (st->state == STREAM_WAIT_CREDS && creds_refreshing(st->d->creds))
        return DEADLINE_NEVER;
    if (st->n > 1 || send_now)
        due = now_ms;
    else
        due = st->ring_first_ms[st->head] + (int64_t)st->d->cfg->batch.flush_interval_ms;
    return due > st->next_ms ? due : st->next_ms;
}

struct stream *
stream_get(struct daemon *d, const char *group, const char *name, enum audit_format format)
{
    struct batch_limits lim = {.max_events = d->cfg->batch.max_events,
                               .max_bytes = d->cfg->batch.max_bytes};
    struct stream *st;
    struct ckpt_stream *cs;
    struct stream **grown;

    for (size_t i = 0; i < d->n_streams; i++)
        if (strcmp(d->streams[i]->group, group) == 0 && strcmp(d->streams[i]->name, name) == 0)
            return d->streams[i];
    st = xcalloc(1, sizeof(*st));
    st->d = d;
    st->group = xstrdup(group);
    st->name = xstrdup(name);
    st->format = format;
    st->n = 1;
    st->state = STREAM_SETUP;
    st->budget_idle_since_ms = -1; /* counted for the budget until seen idle (stream.c) */
    if (lim.max_bytes < BATCH_MIN_USEFUL_BYTES)
        lim.max_bytes = BATCH_MIN_USEFUL_BYTES;
    st->lim = lim;
    st->cap = RING_BATCHES;
    st->ring = xcalloc(st->cap, sizeof(*st->ring));
    st->ring_first_ms = xcalloc(st->cap, sizeof(*st->ring_first_ms));
    for (size_t i = 0; i < st->cap; i++)
        if (batch_init(&st->ring[i], &lim, group, name) != HAF_OK)
            fatal("out of memory");
    seqtrack_init(&st->seq);
    replay_init(&st->replay);
    stream_ledger_open(d, st);
    cs = ckpt_find_stream(&d->state, group, name);
    if (cs != NULL) {
        replay_restore(&st->replay, cs->marks, cs->n_marks);
        if (cs->has_seq) {
            seqtrack_restore(&st->seq, cs->reboot_counter, cs->sequence_no);
            st->start_acked = true;
            st->start_reboot = cs->reboot_counter;
            st->start_seq = cs->sequence_no;
        }
        if (cs->inflight) {
            /* A request was in flight when the last state was written: its fate is unknown. */
            st->verify_after_setup = true;
            if (cs->inflight_events > 0) {
                st->unsure.set = true;
                st->unsure.from_ms = cs->inflight_from_ms;
                st->unsure.to_ms = cs->inflight_to_ms;
                st->unsure.events = cs->inflight_events;
            }
            log_info("stream %s/%s: a request was in flight at the last stop; the stream will "
                     "be read back before sending",
                     group, name);
        }
    }
    grown = realloc(d->streams, (d->n_streams + 1) * sizeof(*grown));
    if (grown == NULL)
        fatal("out of memory");
    d->streams = grown;
    d->streams[d->n_streams++] = st;
    return st;
}

void
stream_free(struct stream *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->cap; i++)
        batch_clean_up(&st->ring[i]);
    free(st->ring);
    free(st->ring_first_ms);
    free(st->late);
    replay_ledger_free(st->ledger);
    readback_set_free(st->rb);
    free(st->rb_token);
    free(st->group);
    free(st->name);
    free(st);
}

/* Double the ring, laid out again from its head at 0. */
static void
stream_grow(struct stream *st)
{
    size_t cap = st->cap * 2;
    struct batch *ring = xcalloc(cap, sizeof(*ring));
    int64_t *first = xcalloc(cap, sizeof(*first));

    for (size_t i = 0; i < st->cap; i++) {
        ring[i] = st->ring[(st->head + i) % st->cap];
        first[i] = st->ring_first_ms[(st->head + i) % st->cap];
    }
    for (size_t i = st->cap; i < cap; i++)
        if (batch_init(&ring[i], &st->lim, st->group, st->name) != HAF_OK)
            fatal("out of memory");
    free(st->ring);
    free(st->ring_first_ms);
    st->ring = ring;
    st->ring_first_ms = first;
    st->cap = cap;
    st->head = 0;
}

/* Close the open batch and start a new one (growing the ring when it is full). */
void
stream_rotate(struct stream *st)
{
    if (batch_count(stream_open_batch(st)) == 0)
        return;
    if (st->n == st->cap)
        stream_grow(st);
    st->n++;
    batch_reset(stream_open_batch(st));
    st->ring_first_ms[(st->head + st->n - 1) % st->cap] = 0;
}

/* The largest message one event of this stream can carry: CloudWatch's event limit, and the
 * configured batch size less the 26 bytes counted per event. */
size_t
stream_event_max(const struct stream *st)
{
    size_t by_batch = st->lim.max_bytes - 26;

    return by_batch < BATCH_MAX_MESSAGE_BYTES ? by_batch : BATCH_MAX_MESSAGE_BYTES;
}

/* ---------------------------------------------------------------- entries to events */

/* Adds one event to the stream's open batch, closing that batch first when the event does not
 * fit it (count, bytes, time span or order) or would take the stream past its share
 * (stream_batch_full); the digest stream and the data streams share this rule. held_ms is when
 * the event's data was first held, for the flush deadline of a batch it opens. False, nothing
 * added, when no batch can take the message (over the event limit, or empty): the caller decides.
 */
bool
stream_add_event(struct daemon *d, struct stream *st, int64_t ts, struct span msg,
                 const struct batch_event *meta, int64_t held_ms)
{
    struct batch *b = stream_open_batch(st);
    size_t idx;

    stream_budget_join(st);
    if (batch_count(b) == 0)
        stream_trim(st, b);
    switch (batch_check(b, ts, msg.len)) {
    case BATCH_FITS:
        /* Close a batch rather than take the stream past its share (the new one takes it). */
        if (!stream_batch_full(st, b, msg.len))
            break;
        /* fall through */
    case BATCH_FULL:
    case BATCH_TIME_SPAN:
    case BATCH_TIME_ORDER:
        stream_rotate(st);
        b = stream_open_batch(st);
        stream_trim(st, b);
        break;
    case BATCH_TOO_BIG:
    case BATCH_EMPTY_MESSAGE:
    default:
        return false;
    }
    /* The body grows to its share (and a little room for the last event's escaping) rather than
     * to the next power of two: with 28 streams that was 64 KiB per batch for a 36 KiB share. */
    buf_set_hint(&b->body, stream_batch_target_bytes(st) + STREAM_BODY_SLACK_BYTES);
    if (batch_add(b, ts, msg, meta) != HAF_OK)
        fatal("out of memory adding an event");
    idx = (st->head + st->n - 1) % st->cap;
    if (st->ring_first_ms[idx] == 0 || batch_count(b) == 1)
        st->ring_first_ms[idx] = held_ms ? held_ms : d->now_ms;
    return true;
}

static void
queue_event(struct daemon *d, struct file_rt *f, int64_t ts, struct span msg, uint64_t src_end,
            bool has_seq, uint64_t reboot, uint64_t seq, uint64_t entry_hash)
{
    struct batch_event meta = {.source_id = f->id,
                               .src_end = src_end,
                               .has_seq = has_seq,
                               .reboot_counter = reboot,
                               .sequence_no = seq,
                               .entry_hash = entry_hash};

    digest_emit_leaf(d, ts, msg, &meta.has_leaf, meta.leaf);
    /* queue_message splits by stream_event_max and never queues an empty message. */
    if (!stream_add_event(d, f->st, ts, msg, &meta, f->first_held_ms))
        fatal("internal: event of %zu bytes refused by the batcher", msg.len);
    f->pending++;
    d->stats.events_queued++;
}

/* Messages over the event size limit (stream_event_max: CloudWatch's, or the configured batch
 * size) are shipped as numbered parts, never dropped. Only the last part carries the entry's end
 * offset, so a checkpoint never passes a half-delivered entry. */
void
queue_message(struct daemon *d, struct file_rt *f, int64_t ts, struct span msg,
              const struct haf_entry *e, bool has_seq)
{
    size_t max = stream_event_max(f->st) - PART_PREFIX_MAX;
    size_t nparts = 0, off = 0, i = 0;
    /* Acknowledged, the entry's pair and text go into the stream's replay window. */
    uint64_t entry_hash = has_seq ? replay_hash(e->raw) : 0;

    if (msg.len <= stream_event_max(f->st)) {
        queue_event(d, f, ts, msg, e->src_end, has_seq, e->reboot_counter, e->sequence_no,
                    entry_hash);
        return;
    }
    while (off < msg.len) {
        size_t n = batch_split_point(span_make(msg.p + off, msg.len - off), max);
        if (n == 0)
            n = msg.len - off < max ? msg.len - off : max;
        off += n;
        nparts++;
    }
    for (off = 0; off < msg.len; i++) {
        size_t n = batch_split_point(span_make(msg.p + off, msg.len - off), max);
        bool last;

        if (n == 0)
            n = msg.len - off < max ? msg.len - off : max;
        last = off + n >= msg.len;
        buf_reset(&d->part);
        IGNORE_RESULT(buf_addf(&d->part, "[part %zu/%zu] ", i + 1, nparts));
        IGNORE_RESULT(buf_add(&d->part, msg.p + off, n));
        queue_event(d, f, ts, buf_span(&d->part), last ? e->src_end : e->src_start, last && has_seq,
                    e->reboot_counter, e->sequence_no, entry_hash);
        off += n;
    }
    d->stats.split_parts += nparts - 1;
}

static void
iso_time(int64_t ms, char *iso, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    iso[0] = '\0';
    if (gmtime_r(&secs, &tm) != NULL)
        (void)strftime(iso, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A sequence_gap or reboot_counter_change marker, queued before the entry that revealed it. */
void
queue_marker(struct daemon *d, struct file_rt *f, const struct haf_entry *e, int64_t ts,
             enum seq_verdict v, const struct seq_gap *gap)
{
    char iso[40];

    iso_time(ts, iso, sizeof(iso));
    buf_reset(&d->part);
    if (v == SEQ_GAP) {
        IGNORE_RESULT(buf_addf(
            &d->part,
            "{\"event\":\"sequence_gap\",\"time\":\"%s\",\"reboot_counter\":%" PRIu64
            ",\"expected_sequence_no\":%" PRIu64 ",\"received_sequence_no\":%" PRIu64
            ",\"missing\":%" PRIu64,
            iso, gap->reboot_counter, gap->expected, gap->received, gap->received - gap->expected));
        log_warnx("%s: sequence gap in reboot counter %" PRIu64 ": expected %" PRIu64
                  ", got %" PRIu64 " (%" PRIu64 " missing)",
                  f->path, gap->reboot_counter, gap->expected, gap->received,
                  gap->received - gap->expected);
        d->stats.sequence_gaps++;
        d->stats.sequence_missing += gap->received - gap->expected;
    } else {
        IGNORE_RESULT(buf_addf(&d->part,
                               "{\"event\":\"reboot_counter_change\",\"time\":\"%s\","
                               "\"previous_reboot_counter\":%" PRIu64 ",\"reboot_counter\":%" PRIu64
                               ",\"sequence_no\":%" PRIu64,
                               iso, gap->prev_reboot, e->reboot_counter, e->sequence_no));
        log_notice("%s: reboot counter changed from %" PRIu64 " to %" PRIu64, f->path,
                   gap->prev_reboot, e->reboot_counter);
        d->stats.reboots++;
    }
    /* Host and path come from the system and the file system: through the one JSON writer. */
    IGNORE_RESULT(buf_adds(&d->part, ",\"host\":"));
    IGNORE_RESULT(json_write_string(&d->part, span_cstr(d->hostname)));
    IGNORE_RESULT(buf_adds(&d->part, ",\"source\":"));
    IGNORE_RESULT(json_write_string(&d->part, span_cstr(f->path)));
    IGNORE_RESULT(buf_adds(&d->part, "}"));
    /* A marker completes nothing: it carries the offset where its entry starts. */
    queue_event(d, f, ts, buf_span(&d->part), e->src_start, false, 0, 0, 0);
}

/* The file of a checkpoint that still owed bytes could not be found (deleted, or moved to another
 * file system, while we were not running): say so in its stream, once. The marker carries the
 * checkpoint's offset as its end, so its acknowledgement settles the checkpoint (done). */
void
queue_file_lost(struct daemon *d, struct file_rt *f, const struct ckpt_file *cf)
{
    const struct seqtrack *t = &f->st->seq;
    char iso[40];
    struct haf_entry e = {.src_start = cf->offset, .src_end = cf->offset};

    iso_time(d->wall_ms, iso, sizeof(iso));
    buf_reset(&d->part);
    IGNORE_RESULT(buf_addf(&d->part, "{\"event\":\"file_lost\",\"time\":\"%s\",\"file\":", iso));
    IGNORE_RESULT(json_write_string(&d->part, span_cstr(cf->path)));
    IGNORE_RESULT(buf_addf(&d->part,
                           ",\"inode\":%" PRIu64 ",\"offset_acknowledged\":%" PRIu64
                           ",\"last_acknowledged\":",
                           cf->ino, cf->offset));
    if (t->has_acked)
        IGNORE_RESULT(buf_addf(&d->part,
                               "{\"reboot_counter\":%" PRIu64 ",\"sequence_no\":%" PRIu64 "}",
                               t->acked_reboot, t->acked_seq));
    else
        IGNORE_RESULT(buf_adds(&d->part, "null"));
    IGNORE_RESULT(buf_adds(&d->part, ",\"host\":\""));
    IGNORE_RESULT(buf_adds(&d->part, d->hostname));
    IGNORE_RESULT(buf_adds(&d->part, "\"}"));
    queue_event(d, f, d->wall_ms, buf_span(&d->part), e.src_end, false, 0, 0, 0);
}
