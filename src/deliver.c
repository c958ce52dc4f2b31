/*
 * deliver.c: sending a stream's head batch, what to do with each answer, retries, and the state
 * file that makes delivery exactly-once across crashes.
 *
 * Delivery (README "How delivery is guaranteed"): before a request is submitted, the state file
 * records the stream as "in flight" (one atomic save covers the acknowledgements processed so far
 * and the new in-flight markers), so after a crash the daemon knows which streams may hold events
 * it has no record of, and reads them back (readback.c) before sending again. An ambiguous failure
 * (request sent, no answer) is resolved the same way.
 *
 * What each answer means is the table in cwl_rules.c: delivered or not, how long to back off,
 * read back first, create the group and stream first. The client (cwl.c) applies the repairs that
 * concern it (fresh credentials, the server's clock) itself for every operation; this file only
 * reports them and moves the stream's state (stream_set_state).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon_internal.h"
#include "haf/cwl_rules.h"
#include "haf/log.h"

/* ---------------------------------------------------------------- state */

/* Whether the stream's replay window differs from its state record: marks are only ever appended,
 * so the count and the newest mark tell. */
static bool
replay_changed(const struct stream *st, const struct ckpt_stream *cs)
{
    const struct replay_mark *a, *b;

    if (cs->n_marks != st->replay.n)
        return true;
    if (cs->n_marks == 0)
        return false;
    a = &cs->marks[cs->n_marks - 1];
    b = replay_at(&st->replay, st->replay.n - 1);
    return a->reboot != b->reboot || a->seq != b->seq || a->hash != b->hash;
}

/* What a restart would have to read back if this process died now (stream_outcome_range: the head
 * batch, about to be sent or sent, and what is not settled yet). Sets the record's inflight_*
 * keys; none when there is nothing. */
static void
inflight_extent(struct stream *st, struct ckpt_stream *rec)
{
    int64_t lo, hi;
    uint64_t n = stream_outcome_range(st, &lo, &hi);

    if (n == 0)
        return;
    rec->inflight_from_ms = lo > 0 ? lo : 0; /* event times are epoch milliseconds, never < 0 */
    rec->inflight_to_ms = hi > rec->inflight_from_ms ? hi : rec->inflight_from_ms;
    rec->inflight_events = n;
}

/* The head batch is about to go out: each file records how far its bytes go into it (sent_end),
 * so that after a crash exactly the entries that may have arrived are read back. */
static void
inflight_mark_files(struct daemon *d, struct stream *st)
{
    const struct batch *b = stream_head(st);

    for (size_t i = 0; i < b->n_ev; i++) {
        struct file_rt *f = file_by_id(d, b->ev[i].source_id);

        if (f != NULL && b->ev[i].src_end > f->sent_end) {
            f->sent_end = b->ev[i].src_end;
            /* Once per file and batch: the batch's events of one file are in file order. */
            if (i + 1 == b->n_ev || b->ev[i + 1].source_id != f->id)
                file_checkpoint(d, f);
        }
    }
}

void
state_set_inflight(struct daemon *d, struct stream *st, bool inflight)
{
    struct ckpt_stream *cs = ckpt_find_stream(&d->state, st->group, st->name);
    struct ckpt_stream rec = {.group = st->group, .stream = st->name};
    struct replay_mark marks[REPLAY_WINDOW];

    if (inflight)
        inflight_mark_files(d, st);
    /* The marker stays while an earlier outcome is not settled: events a read-back found (their
     * acknowledgement waits for the rest of their batch) or the last run's request. */
    if (st->n_late > 0 || st->unsure.set)
        inflight = true;
    if (inflight)
        inflight_extent(st, &rec);
    if (cs != NULL && cs->inflight == inflight && cs->has_seq == st->seq.has_acked &&
        cs->reboot_counter == st->seq.acked_reboot && cs->sequence_no == st->seq.acked_seq &&
        cs->inflight_from_ms == rec.inflight_from_ms && cs->inflight_to_ms == rec.inflight_to_ms &&
        cs->inflight_events == rec.inflight_events && !replay_changed(st, cs))
        return;
    rec.has_seq = st->seq.has_acked;
    rec.reboot_counter = st->seq.acked_reboot;
    rec.sequence_no = st->seq.acked_seq;
    rec.inflight = inflight;
    for (size_t i = 0; i < st->replay.n; i++)
        marks[i] = *replay_at(&st->replay, i);
    rec.marks = marks;
    rec.n_marks = st->replay.n;
    if (ckpt_set_stream(&d->state, &rec) != HAF_OK)
        fatal("out of memory");
    d->state_dirty = true;
}

/* Forget checkpoints of files that are gone and untouched for a week (wall clock: the times are
 * in the state file, across restarts). */
void
state_prune(struct daemon *d)
{
    for (size_t i = 0; i < d->state.n_files;) {
        struct ckpt_file *cf = &d->state.files[i];
        struct stat sb;
        bool gone = stat(cf->path, &sb) != 0 || (uint64_t)sb.st_ino != cf->ino;

        if (gone && ckpt_file_stale(cf, d->wall_ms, CKPT_PRUNE_AGE_MS)) {
            ckpt_remove_file(&d->state, cf->dev, cf->ino);
            d->state_dirty = true;
            continue;
        }
        i++;
    }
}

/* True when the state on disk is current. */
bool
state_save(struct daemon *d)
{
    if (!d->state_dirty || d->opts->dry_run)
        return true;
    if (d->save_retry_at_ms > d->now_ms)
        return false;
    /* The replay ledger first: the state about to be written may no longer hold marks that only
     * the ledger keeps then (stream_ledger.c). */
    if (!stream_ledgers_sync(d) ||
        ckpt_save_with(d->cfg->state_dir, &d->state, &d->state_text) != HAF_OK) {
        d->stats.state_save_failures++;
        d->save_retry_at_ms = d->now_ms + SAVE_RETRY_MS;
        if (!d->warned_save)
            log_warn("cannot write the state file in %s; holding deliveries until it can be "
                     "written (nothing is lost: the audit files keep the entries)",
                     d->cfg->state_dir);
        d->warned_save = true;
        return false;
    }
    if (d->warned_save)
        log_notice("state file in %s written again; deliveries resume", d->cfg->state_dir);
    d->warned_save = false;
    d->state_dirty = false;
    d->dirty_since_ms = 0;
    d->stats.state_saves++;
    return true;
}

/* ---------------------------------------------------------------- acknowledgements */

/* Whether an acknowledged (reboot_counter, sequence_no) may become the stream's acknowledged pair.
 * The pair decides which entries of a file without a checkpoint are taken for replays, so one
 * corrupted or forged line (Sequence No : 0xffffffffffffffff) must not move it: a sequence
 * number further than SEQ_MAX_JUMP past the pair, or a reboot counter past 32 bits or more than
 * REBOOT_MAX_JUMP past it, is delivered but not trusted. */
static bool
seq_plausible(const struct seqtrack *t, uint64_t reboot, uint64_t seq)
{
    if (reboot > UINT32_MAX)
        return false;
    if (!t->has_acked)
        return seq <= SEQ_MAX_JUMP;
    if (reboot == t->acked_reboot)
        return seq <= t->acked_seq || seq - t->acked_seq <= SEQ_MAX_JUMP;
    return reboot < t->acked_reboot || reboot - t->acked_reboot <= REBOOT_MAX_JUMP;
}

/* Every acknowledged entry leaves its mark in the replay window, plausible pair or not: a copy
 * of it is then recognised by its content (replay.h). */
static void
stream_apply_ack_event(struct daemon *d, struct stream *st, uint32_t source_id, uint64_t src_end,
                       bool has_seq, uint64_t reboot, uint64_t seq, uint64_t entry_hash)
{
    if (has_seq)
        stream_replay_note(d, st, reboot, seq, entry_hash);
    if (has_seq && seq_plausible(&st->seq, reboot, seq)) {
        seqtrack_ack(&st->seq, reboot, seq);
    } else if (has_seq) {
        d->stats.implausible_seq++;
        log_warnx("%s/%s: entry %" PRIu64 "/%" PRIu64 " delivered, but its sequence number is "
                  "implausibly far from the last acknowledged one; it does not move the "
                  "acknowledged pair",
                  st->group, st->name, reboot, seq);
    }
    file_ack(d, source_id, src_end);
}

/* The head batch is delivered (or found delivered): account every event, move on. */
void
stream_head_done(struct daemon *d, struct stream *st)
{
    struct batch *b = stream_head(st);

    for (size_t i = 0; i < b->n_ev; i++) {
        const struct batch_event *ev = &b->ev[i];
        stream_apply_ack_event(d, st, ev->source_id, ev->src_end, ev->has_seq, ev->reboot_counter,
                               ev->sequence_no, ev->entry_hash);
        d->stats.bytes_shipped += ev->msg_bytes;
    }
    for (size_t i = 0; i < st->n_late; i++) {
        const struct late_ack *la = &st->late[i];
        stream_apply_ack_event(d, st, la->source_id, la->src_end, la->has_seq, la->reboot_counter,
                               la->sequence_no, la->entry_hash);
    }
    digest_emit_acked(d, st, b); /* before the late list and the batch are emptied */
    health_emit_acked(d, st, b);
    d->stats.events_shipped += b->n_ev;
    d->stats.batches_sent++;
    d->stats.last_ack_ms = d->now_ms;
    st->n_late = 0;
    st->attempts = 0;
    st->next_ms = 0;
    batch_reset(b);
    stream_trim(st, b);
    if (st->n > 1) {
        size_t freed = st->head, next = (st->head + st->n) % st->cap;

        st->head = (st->head + 1) % st->cap;
        st->n--;
        /* The freed batch keeps its buffers: make it the next one opened, so only the batches in
         * use at the same time ever hold big buffers, not every slot of the ring in turn. */
        if (next != freed) {
            struct batch tmp = st->ring[next];
            st->ring[next] = st->ring[freed];
            st->ring[freed] = tmp;
        }
    }
    st->unsure.head_checked = false; /* the next batch is the head now */
    state_set_inflight(d, st, false);
}

/* ---------------------------------------------------------------- retries */

void
stream_schedule_retry(struct daemon *d, struct stream *st, int64_t delay_ms)
{
    st->attempts++;
    st->next_ms = d->now_ms + delay_ms;
    d->stats.retries++;
    if (d->opts->once && st->attempts >= ONCE_MAX_ATTEMPTS) {
        log_err("stream %s/%s: giving up after %d attempts (--once); the entries stay in the "
                "files and the next run resumes",
                st->group, st->name, st->attempts);
        d->failed = true;
    }
}

/* How long to wait after an answer of class cls (cwl_rules.c), for this stream's attempt. */
int64_t
deliver_retry_delay_ms(struct daemon *d, struct stream *st, enum cwl_class cls)
{
    switch (cwl_rule_of(cls)->backoff) {
    case CWL_BACKOFF_NONE:
        return 0;
    case CWL_BACKOFF_SHORT:
        return backoff_ms(d, st->attempts, RETRY_SHORT_CAP_MS);
    case CWL_BACKOFF_LONG:
        return backoff_ms(d, st->attempts, RETRY_CAP_MS);
    case CWL_BACKOFF_SLOW:
        return d->opts->once ? ONCE_SLOW_MS : RETRY_SLOW_MS;
    case CWL_BACKOFF_READBACK:
        return READBACK_DELAY_MS;
    }
    return RETRY_CAP_MS;
}

/* Schedule the next attempt after a failure of class cls; a class an operator must fix makes
 * --once give up after three attempts. */
void
deliver_retry(struct daemon *d, struct stream *st, enum cwl_class cls)
{
    stream_schedule_retry(d, st, deliver_retry_delay_ms(d, st, cls));
    if (cwl_rule_of(cls)->loud && d->opts->once && st->attempts >= 3)
        d->failed = true;
}

/* ---------------------------------------------------------------- answers */

/* CloudWatch took the batch but may have refused some events (rejectedLogEventsInfo). */
static void
log_rejected(struct daemon *d, struct stream *st, const struct cwl_result *res, size_t n)
{
    if (res->too_new_start >= 0 && (size_t)res->too_new_start < n) {
        d->stats.rejected_too_new += n - (size_t)res->too_new_start;
        log_warnx("%s/%s: CloudWatch rejected %zu events as too new (clock?)", st->group, st->name,
                  n - (size_t)res->too_new_start);
    }
    if (res->too_old_end > 0) {
        d->stats.rejected_too_old += (uint64_t)res->too_old_end;
        log_warnx("%s/%s: CloudWatch rejected %" PRId64 " events as too old", st->group, st->name,
                  res->too_old_end);
    }
    if (res->expired_end > 0) {
        d->stats.rejected_expired += (uint64_t)res->expired_end;
        log_warnx("%s/%s: CloudWatch rejected %" PRId64 " events as older than the group's "
                  "retention",
                  st->group, st->name, res->expired_end);
    }
}

/* Says what a failed PutLogEvents answer means and what happens next. */
static void
log_put_failure(struct daemon *d, struct stream *st, const struct cwl_result *res)
{
    switch (res->cls) {
    case CWL_INVALID_SEQUENCE_TOKEN:
        log_debug("%s/%s: invalid sequence token; resending with the expected one", st->group,
                  st->name);
        break;
    case CWL_AMBIGUOUS:
        log_warnx("%s/%s: no answer to a request that was sent (%s); reading the stream back "
                  "before resending",
                  st->group, st->name, res->message[0] ? res->message : "timeout or reset");
        break;
    case CWL_REFRESH_CREDS:
        log_notice("%s/%s: credentials expired; refreshing", st->group, st->name);
        break;
    case CWL_CLOCK_SKEW:
        /* The client adopted the server's clock already (cwl_rules: fix_clock), within its
         * bound. */
        if (res->server_time_ms > 0 &&
            llabs(res->server_time_ms - d->wall_ms) > CWL_CLOCK_OFFSET_MAX_MS + 60000)
            log_err("clock skew: the endpoint's Date is %" PRId64 " ms from our clock, beyond "
                    "the %lld ms adopted; not adopted (check the clock and the endpoint)",
                    res->server_time_ms - d->wall_ms, CWL_CLOCK_OFFSET_MAX_MS);
        else if (res->server_time_ms > 0)
            log_warnx("clock skew: the endpoint's clock differs from ours by %" PRId64
                      " ms; signing with its time",
                      cwl_clock_offset_ms(d->cwl));
        break;
    case CWL_NOT_FOUND:
        log_notice("%s/%s: log group or stream not found; creating it", st->group, st->name);
        break;
    case CWL_ACCESS_DENIED:
    case CWL_INVALID:
        log_err("%s/%s: PutLogEvents refused: %s: %s (HTTP %ld, request id %s); retrying every "
                "minute, nothing is dropped",
                st->group, st->name, res->error_type[0] ? res->error_type : cwl_class_str(res->cls),
                res->message, res->status, res->request_id[0] ? res->request_id : "-");
        break;
    case CWL_CONNECTION:
        log_warnx("%s/%s: cannot reach CloudWatch Logs at %s: %s; retrying, nothing is dropped",
                  st->group, st->name, d->endpoint, res->message);
        break;
    default:
        log_notice("%s/%s: %s%s%s; retrying", st->group, st->name, cwl_class_str(res->cls),
                   res->error_type[0] ? ": " : "", res->error_type);
        break;
    }
}

/* The answer to a PutLogEvents (from http_run, after the loop read the clock). */
static void
on_put_done(void *arg, const struct cwl_result *res)
{
    struct stream *st = arg;
    struct daemon *d = st->d;
    struct batch *b = stream_head(st);
    size_t n = batch_count(b);
    const struct cwl_rule *rule = cwl_rule_of(res->cls);

    if (res->cls < 16)
        d->stats.errors_by_class[res->cls]++;
    log_debug("PutLogEvents %s/%s: %zu events: HTTP %ld %s%s%s (request id %s)", st->group,
              st->name, n, res->status, cwl_class_str(res->cls), res->error_type[0] ? " " : "",
              res->error_type, res->request_id[0] ? res->request_id : "-");
    if (rule->delivered) {
        stream_set_state(st, STREAM_READY);
        log_rejected(d, st, res, n);
        stream_head_done(d, st);
        return;
    }
    log_put_failure(d, st, res);
    if (res->cls == CWL_INVALID_SEQUENCE_TOKEN)
        IGNORE_RESULT(batch_set_sequence_token(b, res->expected_sequence_token));
    stream_set_state(st, stream_state_after_answer(res->cls));
    deliver_retry(d, st, res->cls);
}

/* ---------------------------------------------------------------- sending */

/* Group and stream exist before the first send (and again after ResourceNotFound). Each create
 * is a request on the loop's multi handle (SETUP -> CREATING_GROUP -> CREATING_STREAM -> READY or
 * VERIFY); what a failed answer means is the table in cwl_rules.c, as for PutLogEvents. */
static void setup_submit_stream(struct daemon *d, struct stream *st);

/* A create failed (answer of class cls, or nothing submitted: e != HAF_OK): back to SETUP with the
 * class's backoff. */
static void
setup_failed(struct daemon *d, struct stream *st, enum haf_err e, const struct cwl_result *res,
             const char *why)
{
    if (e == HAF_OK && res->cls == CWL_CONNECTION)
        log_err("%s/%s: cannot create the log group or stream: cannot reach CloudWatch Logs at "
                "%s: %s; will retry",
                st->group, st->name, d->endpoint, res->message);
    else
        log_err("%s/%s: cannot create the log group or stream: %s %s (HTTP %ld); will retry",
                st->group, st->name,
                e != HAF_OK          ? haf_err_str(e)
                : res->error_type[0] ? res->error_type
                                     : cwl_class_str(res->cls),
                e != HAF_OK ? why : res->message, e != HAF_OK ? 0L : res->status);
    if (e == HAF_OK && res->cls < 16)
        d->stats.errors_by_class[res->cls]++;
    stream_set_state(st, STREAM_SETUP);
    /* Nothing classified (no credentials, a name the client refused): retry as a fault. */
    deliver_retry(d, st, e == HAF_OK ? res->cls : CWL_RETRY);
    /* Nothing went out: the in-flight marker send_due saved for this send would only cost a
     * read-back at the next start (unless an earlier answer is unresolved). */
    if (!stream_verify_pending(st))
        state_set_inflight(d, st, false);
}

/* A submit that returned e: HAF_EAGAIN waits for the credentials, anything else is a failure. */
static void
setup_not_submitted(struct daemon *d, struct stream *st, enum haf_err e, const char *why)
{
    struct cwl_result none = {.cls = CWL_RETRY};

    if (e == HAF_EAGAIN) {
        stream_set_state(st, STREAM_SETUP);
        stream_wait_creds(st);
        return;
    }
    setup_failed(d, st, e, &none, why);
}

static void
on_stream_created(void *arg, const struct cwl_result *res)
{
    struct stream *st = arg;
    struct daemon *d = st->d;

    if (d->tearing_down)
        return; /* cancelled at teardown: the state was saved, nothing more is asked */
    if (res->cls != CWL_OK && res->cls != CWL_ALREADY_EXISTS) {
        setup_failed(d, st, HAF_OK, res, "");
        return;
    }
    if (res->cls == CWL_OK)
        log_info("created log stream %s/%s", st->group, st->name);
    st->next_ms = 0;
    if (st->verify_after_setup) {
        st->verify_after_setup = false;
        stream_set_state(st, STREAM_VERIFY);
        st->next_ms = d->now_ms + READBACK_DELAY_MS;
        return;
    }
    stream_set_state(st, STREAM_READY);
}

static void
on_retention_set(void *arg, const struct cwl_result *res)
{
    struct stream *st = arg;

    if (st->d->tearing_down)
        return;
    if (res->cls != CWL_OK)
        log_warnx("log group %s: setting retention to %d days failed: %s %s", st->group,
                  st->d->cfg->retention_days, res->error_type, res->message);
    setup_submit_stream(st->d, st);
}

/* After creating a group with deletion protection or a class: did the endpoint keep them? Some
 * (moto) accept and ignore members they do not know; that gets a warning, never a retry. */
static void
on_group_checked(void *arg, const struct cwl_result *res, const struct cwl_group_info *info)
{
    struct stream *st = arg;
    const struct haf_config *cfg = st->d->cfg;

    if (st->d->tearing_down)
        return;
    if (res->cls != CWL_OK || !info->found) {
        log_warnx("log group %s: cannot check its settings (DescribeLogGroups: %s%s%s)", st->group,
                  cwl_class_str(res->cls), res->error_type[0] ? " " : "", res->error_type);
        return;
    }
    if (cfg->deletion_protection && !info->deletion_protection)
        log_warnx("log group %s: the endpoint %s deletion protection (deletionProtectionEnabled "
                  "%s in DescribeLogGroups): the group can be deleted; enable it with aws logs "
                  "put-log-group-deletion-protection where CloudWatch supports it",
                  st->group, info->has_deletion_protection ? "did not enable" : "does not report",
                  info->has_deletion_protection ? "false" : "absent");
    if (cfg->log_group_class && strcmp(info->log_group_class, cfg->log_group_class) != 0)
        log_warnx("log group %s: class %s requested, the endpoint reports %s", st->group,
                  cfg->log_group_class, info->log_group_class[0] ? info->log_group_class : "none");
}

static void
group_check(struct daemon *d, struct stream *st)
{
    char why[256] = "";
    enum haf_err e;

    if (!d->cfg->deletion_protection && d->cfg->log_group_class == NULL)
        return;
    e = cwl_describe_log_group_submit(d->cwl, st->group, SETUP_TIMEOUT_MS, on_group_checked, st,
                                      why, sizeof(why));
    if (e != HAF_OK)
        log_warnx("log group %s: cannot check its settings (%s)", st->group,
                  why[0] ? why : haf_err_str(e));
}

static void on_group_created(void *arg, const struct cwl_result *res);

/*
 * CreateLogGroup with the configured settings. An endpoint that refuses the newer members
 * (logGroupClass, deletionProtectionEnabled: older regions, emulators) is told once, with a
 * warning, and groups are created without them from then on: a setting the endpoint cannot take
 * must not become a failure loop that stops delivery.
 */
static enum haf_err
group_create_submit(struct daemon *d, struct stream *st, char *why, size_t why_len)
{
    const struct haf_config *cfg = d->cfg;
    struct cwl_tag tags[50];
    struct cwl_group_opts o = {.kms_key_id = cfg->kms_key_id,
                               .log_group_class = cfg->log_group_class,
                               .deletion_protection = cfg->deletion_protection,
                               .tags = tags,
                               .n_tags = cfg->n_log_group_tags < 50 ? cfg->n_log_group_tags : 50};

    if (d->group_opts_refused) {
        o.log_group_class = NULL;
        o.deletion_protection = false;
    }
    for (size_t i = 0; i < o.n_tags; i++)
        tags[i] = (struct cwl_tag){cfg->log_group_tags[i].key, cfg->log_group_tags[i].value};
    return cwl_create_log_group_with_submit(d->cwl, st->group, &o, SETUP_TIMEOUT_MS,
                                            on_group_created, st, why, why_len);
}

static void
on_group_created(void *arg, const struct cwl_result *res)
{
    struct stream *st = arg;
    struct daemon *d = st->d;
    char why[256] = "";
    enum haf_err e;

    if (d->tearing_down)
        return; /* cancelled at teardown: the state was saved, nothing more is asked */
    if (res->cls == CWL_INVALID && !d->group_opts_refused &&
        (d->cfg->log_group_class || d->cfg->deletion_protection)) {
        log_warnx("log group %s: CloudWatch refused CreateLogGroup with %s%s%s (%s: %s); this "
                  "endpoint does not know them: creating the group without them",
                  st->group, d->cfg->log_group_class ? "logGroupClass" : "",
                  d->cfg->log_group_class && d->cfg->deletion_protection ? " and " : "",
                  d->cfg->deletion_protection ? "deletionProtectionEnabled" : "", res->error_type,
                  res->message);
        d->group_opts_refused = true;
        e = group_create_submit(d, st, why, sizeof(why));
        if (e != HAF_OK)
            setup_not_submitted(d, st, e, why);
        return;
    }
    if (res->cls != CWL_OK && res->cls != CWL_ALREADY_EXISTS) {
        setup_failed(d, st, HAF_OK, res, "");
        return;
    }
    if (res->cls == CWL_OK && !d->group_opts_refused)
        group_check(d, st);
    if (res->cls == CWL_OK && d->cfg->retention_days > 0) {
        log_info("created log group %s", st->group);
        e = cwl_put_retention_policy_submit(d->cwl, st->group, d->cfg->retention_days,
                                            SETUP_TIMEOUT_MS, on_retention_set, st, why,
                                            sizeof(why));
        if (e == HAF_OK)
            return;
        log_warnx("log group %s: setting retention to %d days failed: %s", st->group,
                  d->cfg->retention_days, why[0] ? why : haf_err_str(e));
    } else if (res->cls == CWL_OK) {
        log_info("created log group %s", st->group);
    }
    setup_submit_stream(d, st);
}

static void
setup_submit_stream(struct daemon *d, struct stream *st)
{
    char why[256] = "";
    enum haf_err e;

    stream_set_state(st, STREAM_CREATING_STREAM);
    e = cwl_create_log_stream_submit(d->cwl, st->group, st->name, SETUP_TIMEOUT_MS,
                                     on_stream_created, st, why, sizeof(why));
    if (e != HAF_OK)
        setup_not_submitted(d, st, e, why);
}

static void
stream_setup(struct daemon *d, struct stream *st)
{
    char why[256] = "";
    enum haf_err e;

    if (d->opts->dry_run) {
        struct cwl_result ok = {.cls = CWL_ALREADY_EXISTS};
        on_stream_created(st, &ok);
        return;
    }
    if (!d->cfg->create_log_group) {
        setup_submit_stream(d, st);
        return;
    }
    stream_set_state(st, STREAM_CREATING_GROUP);
    e = group_create_submit(d, st, why, sizeof(why));
    if (e != HAF_OK)
        setup_not_submitted(d, st, e, why);
}

/* Sends the head batch (after creating the group and stream, and reading the stream back, when
 * the state says so: each of those is a request of its own, and the batch goes out on a later
 * turn once it is answered). */
static void
stream_send(struct daemon *d, struct stream *st)
{
    struct batch *b;
    struct span body;
    enum haf_err e;

    if (st->state == STREAM_WAIT_CREDS)
        stream_set_state(st, st->resume);
    if (st->state == STREAM_SETUP) {
        stream_setup(d, st);
        return;
    }
    /* While the last run's request is not settled, each batch is read back before it is sent
     * (its events may be among that request's). */
    if (st->state == STREAM_VERIFY || stream_unsure_check(d, st)) {
        stream_verify(d, st);
        return;
    }
    b = stream_head(st);
    if (st->n == 1)
        stream_rotate(st); /* the open batch is being sent: keep filling a new one */
    if (!b->finished && batch_finish(b, &body) != HAF_OK)
        fatal("out of memory");
    body = buf_span(&b->body);
    d->stats.requests++;
    stream_set_state(st, STREAM_SENDING);
    if (d->opts->dry_run) {
        struct cwl_result ok = {.cls = CWL_OK,
                                .status = 200,
                                .too_new_start = -1,
                                .too_old_end = -1,
                                .expired_end = -1};
        on_put_done(st, &ok);
        return;
    }
    log_debug("sending %zu events (%zu bytes) to %s/%s", batch_count(b), body.len, st->group,
              st->name);
    e = cwl_put_log_events_submit(d->cwl, body, on_put_done, st);
    if (e == HAF_EAGAIN) {
        d->stats.requests--;
        stream_set_state(st, STREAM_READY);
        stream_wait_creds(st);
        return;
    }
    if (e != HAF_OK) {
        log_err("%s/%s: cannot send: %s", st->group, st->name, haf_err_str(e));
        stream_set_state(st, STREAM_READY);
        deliver_retry(d, st, CWL_RETRY);
        if (!stream_verify_pending(st))
            state_set_inflight(d, st, false);
    }
}

static bool
stream_due(struct daemon *d, const struct stream *st)
{
    return stream_deadline(st, d->now_ms, d->stopping || d->opts->once) <= d->now_ms;
}

/* Send every due batch. The state (acknowledgements so far, and the in-flight markers of the
 * streams about to send) is saved first; when it cannot be saved, nothing is sent.
 *
 * Acknowledgements alone are not saved at once: they go out with the in-flight markers of the next
 * send, so the state file is written once per request cycle, or after ACK_SAVE_DELAY_MS when no
 * send comes (and at every stop and reload). A crash meanwhile finds the acknowledged stream still
 * marked in flight in the file: the restart reads it back and skips what arrived, the same path as
 * a kill -9 while the request was in flight; nothing is lost or sent twice. */
void
send_due(struct daemon *d)
{
    bool any = false;

    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];
        if (stream_due(d, st)) {
            state_set_inflight(d, st, true);
            any = true;
        }
    }
    if (!any) {
        if (d->state_dirty && d->dirty_since_ms == 0)
            d->dirty_since_ms = d->now_ms;
        if (d->state_dirty && d->now_ms - d->dirty_since_ms >= ACK_SAVE_DELAY_MS)
            IGNORE_RESULT(state_save(d));
        return;
    }
    if (!state_save(d))
        return;
    for (size_t i = 0; i < d->n_streams; i++)
        if (stream_due(d, d->streams[i]))
            stream_send(d, d->streams[i]);
}
